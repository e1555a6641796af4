//! Helpers shared by the sensor and SIEM readers (Suricata EVE, ECS, OCSF, Splunk CIM):
//! a bounded holding area for records that wait for their other half, and DNS answers
//! built from an RDATA string and an optional RR type.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

use super::values::{self, FieldError};
use super::ReaderOptions;
use xborder_model::schema::{normalise_hostname, parse_ip, AnswerValue, DnsAnswer, Micros};

/// How many records a reader holds while waiting for their other half (a NetFlow
/// direction, a DNS answer). Suricata writes both halves within milliseconds, so the
/// limit is only reached by hostile or truncated input; the oldest is then let go as is.
pub(crate) const PENDING_LIMIT: usize = 65_536;

/// A map that remembers insertion order and holds at most `limit` entries: inserting
/// past the limit hands back the oldest entry, and `drain` returns what is left in the
/// order it arrived, so a rerun emits the same records in the same order.
pub(crate) struct Pending<K, V> {
    map: HashMap<K, (u64, V)>,
    order: VecDeque<(K, u64)>,
    seq: u64,
    limit: usize,
}

impl<K: Eq + Hash + Clone, V> Pending<K, V> {
    pub(crate) fn new(limit: usize) -> Self {
        Pending {
            map: HashMap::new(),
            order: VecDeque::new(),
            seq: 0,
            limit: limit.max(1),
        }
    }

    /// Hold `value` under `key`. Returns what had to make room: the previous value under
    /// the same key, or the oldest entry when the map was full.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<(K, V)> {
        let replaced = self.take(&key).map(|old| (key.clone(), old));
        self.seq += 1;
        self.order.push_back((key.clone(), self.seq));
        self.map.insert(key, (self.seq, value));
        if replaced.is_some() {
            return replaced;
        }
        if self.map.len() > self.limit {
            return self.pop_oldest();
        }
        // Keys taken out leave stale entries in `order`; drop them before they pile up.
        if self.order.len() > 2 * self.limit {
            let map = &self.map;
            self.order
                .retain(|(k, s)| map.get(k).is_some_and(|(cur, _)| cur == s));
        }
        None
    }

    pub(crate) fn take(&mut self, key: &K) -> Option<V> {
        self.map.remove(key).map(|(_, v)| v)
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|(_, v)| v)
    }

    fn pop_oldest(&mut self) -> Option<(K, V)> {
        while let Some((k, s)) = self.order.pop_front() {
            if self.map.get(&k).is_some_and(|(cur, _)| *cur == s) {
                let (_, v) = self.map.remove(&k)?;
                return Some((k, v));
            }
        }
        None
    }

    /// Everything still held, oldest first.
    pub(crate) fn drain(&mut self) -> Vec<V> {
        let mut out = Vec::with_capacity(self.map.len());
        while let Some((_, v)) = self.pop_oldest() {
            out.push(v);
        }
        self.order.clear();
        out
    }
}

/// One DNS answer from its RDATA and, when the log gives it, its RR type. An A or AAAA
/// RDATA that is an address becomes an address answer; anything else (CNAME target, PTR,
/// TXT…) is kept as text. Without a type, the RDATA is classified by whether it parses as
/// an address. `None` for an empty RDATA.
pub(crate) fn typed_answer(
    rdata: &str,
    rrtype: Option<&str>,
    ttl: Option<u32>,
) -> Option<DnsAnswer> {
    let rdata = rdata.trim();
    if rdata.is_empty() || rdata == "-" {
        return None;
    }
    let is_address_type = match rrtype.map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(
            t.eq_ignore_ascii_case("A") || t.eq_ignore_ascii_case("AAAA") || t == "1" || t == "28",
        ),
    };
    let value = match (is_address_type, parse_ip(rdata)) {
        (Some(true) | None, Some(ip)) => AnswerValue::Address(ip),
        _ => AnswerValue::Other(normalise_hostname(rdata)),
    };
    Some(DnsAnswer { value, ttl })
}

/// A timestamp as SIEM exports write it: with a zone or as epoch time (see
/// [`values::parse_timestamp_any`]), or, failing that, a date-time without a zone read at
/// `--log-timezone` (UTC without it). The flag says a zone was assumed, for the file's note.
pub(crate) fn timestamp_or_local(
    s: &str,
    options: &ReaderOptions,
) -> Result<(Micros, bool), FieldError> {
    match values::parse_timestamp_any(s) {
        Ok(t) => Ok((t, false)),
        Err(e) => match values::parse_naive(s) {
            Some(naive) => values::local_to_micros(naive, options.log_timezone).map(|t| (t, true)),
            None => Err(e),
        },
    }
}

/// The note a file gets when some of its times carried no zone.
pub(crate) fn zone_note(options: &ReaderOptions) -> String {
    match options.log_timezone {
        Some(o) => format!("times without a zone were read at {o} (--log-timezone)"),
        None => "times without a zone were read as UTC (no --log-timezone given)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_is_bounded_and_drains_in_arrival_order() {
        let mut p: Pending<u32, &str> = Pending::new(2);
        assert!(p.insert(1, "a").is_none());
        assert!(p.insert(2, "b").is_none());
        assert_eq!(p.insert(3, "c"), Some((1, "a")));
        assert_eq!(p.take(&2), Some("b"));
        assert_eq!(p.insert(3, "c2"), Some((3, "c")));
        assert!(p.insert(4, "d").is_none());
        assert_eq!(p.drain(), vec!["c2", "d"]);
        assert!(p.drain().is_empty());
    }

    #[test]
    fn stale_order_entries_do_not_grow_without_bound() {
        let mut p: Pending<u32, u32> = Pending::new(4);
        for i in 0..10_000 {
            p.insert(i, i);
            p.take(&i);
        }
        assert!(p.order.len() <= 9, "{}", p.order.len());
    }

    #[test]
    fn zone_less_times_use_the_given_offset() {
        let mut o = ReaderOptions::default();
        let (utc, assumed) = timestamp_or_local("2015/06/17T00:00:00.083", &o).unwrap();
        assert!(assumed);
        assert_eq!(utc, 1_434_499_200_083_000);
        o.log_timezone = chrono::FixedOffset::east_opt(3600);
        let (east, _) = timestamp_or_local("2015/06/17T00:00:00.083", &o).unwrap();
        assert_eq!(utc - east, 3_600_000_000);
        assert_eq!(
            timestamp_or_local("1434499200083", &o).unwrap(),
            (1_434_499_200_083_000, false)
        );
        assert!(timestamp_or_local("yesterday", &o).is_err());
    }

    #[test]
    fn answers_by_type_or_by_parsing() {
        let a = typed_answer("104.18.32.7", Some("A"), Some(60)).unwrap();
        assert_eq!(
            a.value,
            AnswerValue::Address("104.18.32.7".parse().unwrap())
        );
        let c = typed_answer("Api.OpenAI.com.", Some("CNAME"), None).unwrap();
        assert_eq!(c.value, AnswerValue::Other("api.openai.com".into()));
        let u = typed_answer("2607:6bc0::10", None, None).unwrap();
        assert!(matches!(u.value, AnswerValue::Address(_)));
        // An address-looking TXT stays text.
        let t = typed_answer("1.2.3.4", Some("TXT"), None).unwrap();
        assert!(matches!(t.value, AnswerValue::Other(_)));
        assert!(typed_answer(" ", Some("A"), None).is_none());
    }
}
