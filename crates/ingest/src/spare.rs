//! The heap buffers of records a parser thread made, kept for the records it makes next.
//!
//! Why: a DNS record owns its query name, its list of answers and each CNAME target.
//! With the answers and TTLs cells split into vectors, that was about four allocations a
//! record, the parsers' last per-record allocations in the benchmark's formats (the
//! cells are now split on the stack, `zeek_fields::CellList`). Batches already come home
//! to the parser thread that filled them (the parallel module's `Home`), which used to
//! free their records there. It now gives the records' buffers to this thread's store
//! first, and the DNS mapping takes its strings and lists from the store: once the first
//! batches are back, a parser allocates nothing per DNS record. A thread whose batches
//! never come home (a reader called directly) finds the store empty and allocates as
//! before.

use std::cell::RefCell;

use xborder_model::schema::{AnswerValue, DnsAnswer, Record};

use crate::Item;

/// Buffers kept per kind: about what one parser thread's records hold while they are on
/// their way (pieces queued, batches queued and being read: sixteen batches of 2,048
/// records; a piece of a DNS log is about three batches). More are freed.
const MAX_KEPT: usize = 1 << 15;
/// Strings with more room than this are freed rather than kept: a long name must not pin
/// its buffer for every short one after it.
const MAX_STRING_BYTES: usize = 256;
/// Answer lists with room for more answers than this are freed rather than kept. With
/// [`MAX_KEPT`] and [`MAX_STRING_BYTES`], a parser thread keeps at most about 20 MiB,
/// whatever its input (a few MiB on real DNS logs: most records have one or two answers).
const MAX_ANSWERS: usize = 8;

#[derive(Default)]
struct Store {
    strings: Vec<String>,
    answer_lists: Vec<Vec<DnsAnswer>>,
}

impl Store {
    fn keep_string(&mut self, mut s: String) {
        if s.capacity() > 0 && s.capacity() <= MAX_STRING_BYTES && self.strings.len() < MAX_KEPT {
            s.clear();
            self.strings.push(s);
        }
    }

    fn keep_answers(&mut self, mut answers: Vec<DnsAnswer>) {
        for a in answers.drain(..) {
            if let AnswerValue::Other(s) = a.value {
                self.keep_string(s);
            }
        }
        if answers.capacity() > 0
            && answers.capacity() <= MAX_ANSWERS
            && self.answer_lists.len() < MAX_KEPT
        {
            self.answer_lists.push(answers);
        }
    }
}

thread_local! {
    static STORE: RefCell<Store> = RefCell::new(Store::default());
}

/// Empty `items`, keeping their records' buffers for this thread's next records.
pub(crate) fn reclaim(items: &mut Vec<Item>) {
    STORE.with(|store| {
        let mut store = store.borrow_mut();
        // Taken in place: moving every item out to look at it cost a 208-byte copy per
        // flow record.
        for item in items.iter_mut() {
            if let Item::Record(Record::Dns(d)) = item {
                store.keep_string(std::mem::take(&mut d.query));
                store.keep_answers(std::mem::take(&mut d.answers));
            }
        }
    });
    items.clear();
}

/// Room a new string is made with: most DNS names fit, so a kept string seldom has to
/// grow for the next name it holds.
const NEW_STRING_BYTES: usize = 64;

/// An empty string with room for `bytes`: one kept from an earlier record when there is
/// one.
pub(crate) fn string(bytes: usize) -> String {
    match STORE.with(|store| store.borrow_mut().strings.pop()) {
        Some(mut s) => {
            s.reserve(bytes);
            s
        }
        None => String::with_capacity(bytes.max(NEW_STRING_BYTES)),
    }
}

/// An empty answer list, one kept from an earlier record when there is one.
pub(crate) fn answer_list() -> Vec<DnsAnswer> {
    STORE
        .with(|store| store.borrow_mut().answer_lists.pop())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use xborder_model::schema::{DnsRecord, Provenance};

    fn dns(query: &str, answers: Vec<DnsAnswer>) -> Item {
        Item::Record(Record::Dns(DnsRecord {
            ts: 0,
            response_ts: 0,
            uid: None,
            trans_id: None,
            client_ip: [10, 0, 0, 1].into(),
            query: query.to_string(),
            qtype: None,
            rcode: None,
            answers,
            provenance: Provenance { file: 0, line: 1 },
        }))
    }

    /// The query strings and answer lists of records parsed after a batch was reclaimed
    /// are that batch's own buffers: the DNS mapping allocates nothing for them.
    #[test]
    fn dns_records_parsed_after_a_reclaim_reuse_its_buffers() {
        const LOG: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n\
#unset_field\t-\n#path\tdns\n\
#fields\tts\tuid\tid.orig_h\tquery\tanswers\tTTLs\n\
1782864000.0\tC1\t10.0.0.5\tAPI.Example.com.\tedge.example.net,192.0.2.7\t60,60\n\
1782864001.0\tC2\t10.0.0.6\tchat.example.org\t198.51.100.9\t30\n\
1782864002.0\tC3\t10.0.0.7\tnx.example.org\t-\t-\n";
        fn buffers(items: &[Item]) -> (Vec<*const u8>, Vec<*const DnsAnswer>) {
            let mut strings = Vec::new();
            let mut lists = Vec::new();
            for item in items {
                let Item::Record(Record::Dns(d)) = item else {
                    panic!("not a DNS record: {item:?}")
                };
                strings.push(d.query.as_ptr());
                lists.push(d.answers.as_ptr());
                for a in &d.answers {
                    if let AnswerValue::Other(s) = &a.value {
                        strings.push(s.as_ptr());
                    }
                }
            }
            (strings, lists)
        }
        std::thread::spawn(|| {
            let options = crate::ReaderOptions::default();
            let mut first = crate::read_text(crate::zeek_tsv::read, LOG, &options);
            assert_eq!(first.len(), 3);
            let (strings, lists) = buffers(&first);
            reclaim(&mut first);
            let again = crate::read_text(crate::zeek_tsv::read, LOG, &options);
            let (reused_strings, reused_lists) = buffers(&again);
            // Every string and every list with room (the unanswered query's is empty).
            assert_eq!(reused_strings.len(), 4);
            assert!(reused_strings.iter().all(|p| strings.contains(p)));
            let with_answers = &reused_lists[..2];
            assert!(with_answers.iter().all(|p| lists.contains(p)));
            let Item::Record(Record::Dns(d)) = &again[0] else {
                unreachable!()
            };
            assert_eq!(d.query, "api.example.com");
            assert_eq!(
                d.answers[0].value,
                AnswerValue::Other("edge.example.net".into())
            );
        })
        .join()
        .unwrap();
    }

    /// Reclaimed buffers come back empty, with their room; oversized ones are freed.
    #[test]
    fn buffers_come_back_empty_and_oversized_ones_are_freed() {
        let cname = DnsAnswer {
            value: AnswerValue::Other("edge.example.net".into()),
            ttl: Some(60),
        };
        let mut items = vec![
            dns("api.example.com", vec![cname]),
            dns(&"x".repeat(MAX_STRING_BYTES + 1), Vec::new()),
        ];
        let Item::Record(Record::Dns(d)) = &items[0] else {
            unreachable!()
        };
        let AnswerValue::Other(target) = &d.answers[0].value else {
            unreachable!()
        };
        let kept = [d.query.as_ptr() as usize, target.as_ptr() as usize];
        let list = d.answers.as_ptr() as usize;
        std::thread::spawn(move || {
            reclaim(&mut items);
            assert!(items.is_empty());
            let answers = answer_list();
            assert!(answers.is_empty());
            assert_eq!(answers.as_ptr() as usize, list);
            // The second record's empty list had no room to keep.
            assert_eq!(answer_list().capacity(), 0);
            // The query and the CNAME target come back emptied, last kept first; the
            // over-long name was freed, so the third string is a new one.
            let strings: Vec<String> = (0..3).map(|_| string(8)).collect();
            assert!(strings.iter().all(String::is_empty));
            let at: Vec<usize> = strings.iter().map(|s| s.as_ptr() as usize).collect();
            assert_eq!(at[..2], [kept[1], kept[0]]);
            assert!(!kept.contains(&at[2]));
            assert_eq!(strings[2].capacity(), NEW_STRING_BYTES);
        })
        .join()
        .unwrap();
    }
}
