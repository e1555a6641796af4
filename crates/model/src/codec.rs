//! A compact binary form of the records, for handing them between the stages of a
//! distributed run (a Spark job moves them between machines as opaque byte strings).
//!
//! The form is private to one xborder version: writer and reader are the same binary, so
//! there is no schema evolution to support, only exactness (every field round-trips,
//! `f64` bit for bit) and safety (a truncated or corrupt buffer is an error, never a
//! panic or a huge allocation).

use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::schema::{
    AnswerValue, ByteDirection, DnsAnswer, DnsRecord, FlowRecord, HostnameRecord, HostnameSource,
    Proto, Provenance, ShortText, Uid,
};

/// Appends values to a byte buffer.
#[derive(Debug, Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
    }

    pub fn ip(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(v4) => {
                self.u8(4);
                self.buf.extend_from_slice(&v4.octets());
            }
            IpAddr::V6(v6) => {
                self.u8(6);
                self.buf.extend_from_slice(&v6.octets());
            }
        }
    }

    /// A presence byte, then the value when present.
    pub fn opt<T>(&mut self, v: Option<T>, put: impl FnOnce(&mut Self, T)) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                put(self, v);
            }
        }
    }

    pub fn provenance(&mut self, p: Provenance) {
        self.u32(p.file);
        self.u64(p.line);
    }
}

/// Reads values back, checking every length against what is left.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

fn corrupt(what: &str) -> Error {
    Error::Aggregate(format!(
        "a record passed between stages is corrupt or truncated ({what})"
    ))
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(corrupt(what));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    /// The next `n` bytes, as they are.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        self.take(n, "bytes")
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1, "byte")?[0])
    }

    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array("u16")?))
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array("u32")?))
    }

    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array("u64")?))
    }

    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array("i64")?))
    }

    pub fn str(&mut self) -> Result<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n, "text")?).map_err(|_| corrupt("text is not UTF-8"))
    }

    pub fn ip(&mut self) -> Result<IpAddr> {
        match self.u8()? {
            4 => Ok(IpAddr::from(self.array::<4>("IPv4 address")?)),
            6 => Ok(IpAddr::from(self.array::<16>("IPv6 address")?)),
            _ => Err(corrupt("address family")),
        }
    }

    pub fn opt<T>(&mut self, get: impl FnOnce(&mut Self) -> Result<T>) -> Result<Option<T>> {
        match self.u8()? {
            0 => Ok(None),
            1 => get(self).map(Some),
            _ => Err(corrupt("presence flag")),
        }
    }

    pub fn provenance(&mut self) -> Result<Provenance> {
        Ok(Provenance {
            file: self.u32()?,
            line: self.u64()?,
        })
    }

    /// Whether every byte was read: a record followed by more bytes is corrupt too.
    pub fn finish(self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(corrupt("trailing bytes"))
        }
    }
}

/// A flow record as bytes.
pub fn encode_flow(f: &FlowRecord, w: &mut Writer) {
    w.i64(f.ts);
    w.opt(f.uid.as_deref(), |w, s| w.str(s));
    w.ip(f.src_ip);
    w.opt(f.src_port, Writer::u16);
    w.ip(f.dst_ip);
    w.opt(f.dst_port, Writer::u16);
    match &f.proto {
        Proto::Tcp => w.u8(0),
        Proto::Udp => w.u8(1),
        Proto::Icmp => w.u8(2),
        Proto::Other(s) => {
            w.u8(3);
            w.str(s);
        }
    }
    w.opt(f.bytes_out, Writer::u64);
    w.opt(f.bytes_in, Writer::u64);
    w.opt(f.duration, |w, d| w.u64(d.to_bits()));
    w.opt(f.local_orig, |w, b| w.u8(u8::from(b)));
    w.u8(match f.direction {
        ByteDirection::Biflow => 0,
        ByteDirection::Uniflow => 1,
        ByteDirection::Combined => 2,
    });
    w.provenance(f.provenance);
}

/// A flow record from [`encode_flow`]'s bytes.
pub fn decode_flow(bytes: &[u8]) -> Result<FlowRecord> {
    let mut r = Reader::new(bytes);
    let flow = FlowRecord {
        ts: r.i64()?,
        uid: r.opt(|r| r.str().map(crate::schema::Uid::from))?,
        src_ip: r.ip()?,
        src_port: r.opt(Reader::u16)?,
        dst_ip: r.ip()?,
        dst_port: r.opt(Reader::u16)?,
        proto: match r.u8()? {
            0 => Proto::Tcp,
            1 => Proto::Udp,
            2 => Proto::Icmp,
            3 => Proto::Other(r.str()?.to_string()),
            _ => return Err(corrupt("protocol")),
        },
        bytes_out: r.opt(Reader::u64)?,
        bytes_in: r.opt(Reader::u64)?,
        duration: r.opt(|r| r.u64().map(f64::from_bits))?,
        local_orig: r.opt(|r| r.u8().map(|b| b != 0))?,
        direction: match r.u8()? {
            0 => ByteDirection::Biflow,
            1 => ByteDirection::Uniflow,
            2 => ByteDirection::Combined,
            _ => return Err(corrupt("byte direction")),
        },
        provenance: r.provenance()?,
    };
    r.finish()?;
    Ok(flow)
}

/// A DNS record as bytes.
pub fn encode_dns(d: &DnsRecord, w: &mut Writer) {
    w.i64(d.ts);
    w.i64(d.response_ts);
    w.opt(d.uid.as_deref(), |w, s| w.str(s));
    w.opt(d.trans_id, Writer::u32);
    w.ip(d.client_ip);
    w.str(&d.query);
    w.opt(d.qtype.as_deref(), |w, s| w.str(s));
    w.opt(d.rcode.as_deref(), |w, s| w.str(s));
    w.u32(d.answers.len() as u32);
    for a in &d.answers {
        match &a.value {
            AnswerValue::Address(ip) => {
                w.u8(0);
                w.ip(*ip);
            }
            AnswerValue::Other(s) => {
                w.u8(1);
                w.str(s);
            }
        }
        w.opt(a.ttl, Writer::u32);
    }
    w.provenance(d.provenance);
}

/// A DNS record from [`encode_dns`]'s bytes.
pub fn decode_dns(bytes: &[u8]) -> Result<DnsRecord> {
    let mut r = Reader::new(bytes);
    let ts = r.i64()?;
    let response_ts = r.i64()?;
    let uid = r.opt(|r| r.str().map(Uid::from))?;
    let trans_id = r.opt(Reader::u32)?;
    let client_ip = r.ip()?;
    let query = r.str()?.to_string();
    let qtype = r.opt(|r| r.str().map(ShortText::from))?;
    let rcode = r.opt(|r| r.str().map(ShortText::from))?;
    let n = r.u32()? as usize;
    // Each answer takes at least two bytes: a corrupt count cannot allocate much.
    let mut answers = Vec::with_capacity(n.min(r.buf.len() / 2));
    for _ in 0..n {
        let value = match r.u8()? {
            0 => AnswerValue::Address(r.ip()?),
            1 => AnswerValue::Other(r.str()?.to_string()),
            _ => return Err(corrupt("answer kind")),
        };
        answers.push(DnsAnswer {
            value,
            ttl: r.opt(Reader::u32)?,
        });
    }
    let dns = DnsRecord {
        ts,
        response_ts,
        uid,
        trans_id,
        client_ip,
        query,
        qtype,
        rcode,
        answers,
        provenance: r.provenance()?,
    };
    r.finish()?;
    Ok(dns)
}

/// A connection hostname record as bytes.
pub fn encode_hostname(h: &HostnameRecord, w: &mut Writer) {
    w.i64(h.ts);
    w.str(&h.uid);
    w.ip(h.src_ip);
    w.ip(h.dst_ip);
    w.opt(h.dst_port, Writer::u16);
    w.str(&h.name);
    w.u8(match h.source {
        HostnameSource::Sni => 0,
        HostnameSource::HttpHost => 1,
    });
    w.provenance(h.provenance);
}

/// A connection hostname record from [`encode_hostname`]'s bytes.
pub fn decode_hostname(bytes: &[u8]) -> Result<HostnameRecord> {
    let mut r = Reader::new(bytes);
    let h = HostnameRecord {
        ts: r.i64()?,
        uid: r.str()?.to_string(),
        src_ip: r.ip()?,
        dst_ip: r.ip()?,
        dst_port: r.opt(Reader::u16)?,
        name: r.str()?.to_string(),
        source: match r.u8()? {
            0 => HostnameSource::Sni,
            1 => HostnameSource::HttpHost,
            _ => return Err(corrupt("hostname source")),
        },
        provenance: r.provenance()?,
    };
    r.finish()?;
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> FlowRecord {
        FlowRecord {
            ts: -1_234_567,
            uid: Some("CAbc123".into()),
            src_ip: "10.1.2.3".parse().unwrap(),
            src_port: Some(51_000),
            dst_ip: "2001:db8::1".parse().unwrap(),
            dst_port: None,
            proto: Proto::Other("sctp".into()),
            bytes_out: Some(u64::MAX),
            bytes_in: None,
            duration: Some(0.1 + 0.2),
            local_orig: Some(false),
            direction: ByteDirection::Uniflow,
            provenance: Provenance { file: 7, line: 99 },
        }
    }

    fn dns() -> DnsRecord {
        DnsRecord {
            ts: 1,
            response_ts: 2,
            uid: None,
            trans_id: Some(65_535),
            client_ip: "10.0.0.1".parse().unwrap(),
            query: "api.anthropic.com".into(),
            qtype: Some("A".into()),
            rcode: None,
            answers: vec![
                DnsAnswer {
                    value: AnswerValue::Address("160.79.104.10".parse().unwrap()),
                    ttl: Some(60),
                },
                DnsAnswer {
                    value: AnswerValue::Other("edge.example.".into()),
                    ttl: None,
                },
            ],
            provenance: Provenance { file: 0, line: 3 },
        }
    }

    #[test]
    fn every_record_kind_round_trips_exactly() {
        let mut w = Writer::default();
        encode_flow(&flow(), &mut w);
        assert_eq!(decode_flow(&w.buf).unwrap(), flow());
        let mut w = Writer::default();
        encode_dns(&dns(), &mut w);
        assert_eq!(decode_dns(&w.buf).unwrap(), dns());
        let h = HostnameRecord {
            ts: 5,
            uid: "C1".into(),
            src_ip: "10.0.0.1".parse().unwrap(),
            dst_ip: "1.2.3.4".parse().unwrap(),
            dst_port: Some(443),
            name: "claude.ai".into(),
            source: HostnameSource::HttpHost,
            provenance: Provenance { file: 1, line: 1 },
        };
        let mut w = Writer::default();
        encode_hostname(&h, &mut w);
        assert_eq!(decode_hostname(&w.buf).unwrap(), h);
    }

    /// Every truncation, and a trailing byte, is an error and never a panic.
    #[test]
    fn truncated_or_padded_bytes_are_errors() {
        let mut w = Writer::default();
        encode_dns(&dns(), &mut w);
        for n in 0..w.buf.len() {
            assert!(decode_dns(&w.buf[..n]).is_err(), "prefix of {n} bytes");
        }
        let mut padded = w.buf.clone();
        padded.push(0);
        assert!(decode_dns(&padded).is_err());
        // A huge answer count in a short buffer fails without allocating it.
        let mut huge = Writer::default();
        huge.i64(0);
        huge.i64(0);
        huge.u8(0);
        huge.u8(0);
        huge.ip("10.0.0.1".parse().unwrap());
        huge.str("x");
        huge.u8(0);
        huge.u8(0);
        huge.u32(u32::MAX);
        assert!(decode_dns(&huge.buf).is_err());
    }
}
