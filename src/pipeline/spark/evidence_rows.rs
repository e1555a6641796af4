//! Evidence rows between a fold task and the driver: the fold reports each attributed
//! flow through [`EvidenceSink`]; a task's sink writes it as a row numbered in reading
//! order, and the driver hands the rows, sorted by that number, to the run's own
//! evidence writer, so evidence.csv and evidence.parquet are the single-machine files.

use super::rows::{Kind, RowWriter};
use super::*;
use xborder_engine::fold::EvidenceRow;
use xborder_model::codec::{Reader, Writer};
use xborder_model::schema::Micros;

/// An [`EvidenceSink`] that writes rows for the driver.
pub(super) struct RowSink<'w> {
    pub rows: &'w mut RowWriter,
    bytes: Writer,
}

impl<'w> RowSink<'w> {
    pub fn new(rows: &'w mut RowWriter) -> Self {
        RowSink {
            rows,
            bytes: Writer::default(),
        }
    }
}

impl EvidenceSink for RowSink<'_> {
    fn attributed(&mut self, row: &EvidenceRow<'_>) -> Result<()> {
        self.bytes.buf.clear();
        encode(row, &mut self.bytes);
        let (file, ord) = file_ord(row.seq);
        self.rows
            .push(Kind::Evidence, file, ord, 0, 0, &self.bytes.buf)
    }
}

fn encode(r: &EvidenceRow<'_>, w: &mut Writer) {
    w.u64(r.seq);
    for s in [
        r.finding_id,
        r.regimes,
        r.proto,
        r.hostname,
        r.attribution,
        r.vendor,
        r.product,
        r.category,
        r.source_site,
    ] {
        w.str(s);
    }
    w.u32(r.file);
    w.u64(r.line);
    w.i64(r.ts);
    w.ip(r.src_ip);
    w.opt(r.src_port, Writer::u16);
    w.ip(r.dst_ip);
    w.opt(r.dst_port, Writer::u16);
    w.opt(r.bytes_out, Writer::u64);
    w.opt(r.bytes_in, Writer::u64);
    w.u8(r.destination_country[0]);
    w.u8(r.destination_country[1]);
    w.opt(r.dns, |w, (file, line, ts)| {
        w.u32(file);
        w.u64(line);
        w.i64(ts);
    });
}

/// An evidence row decoded from its bytes; [`Decoded::row`] lends it as the sink's type.
pub(super) struct Decoded<'a> {
    seq: u64,
    text: [&'a str; 9],
    file: u32,
    line: u64,
    ts: Micros,
    src_ip: IpAddr,
    src_port: Option<u16>,
    dst_ip: IpAddr,
    dst_port: Option<u16>,
    bytes_out: Option<u64>,
    bytes_in: Option<u64>,
    country: [u8; 2],
    dns: Option<(u32, u64, Micros)>,
}

impl<'a> Decoded<'a> {
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let seq = r.u64()?;
        let mut text = [""; 9];
        for t in &mut text {
            *t = r.str()?;
        }
        let d = Decoded {
            seq,
            text,
            file: r.u32()?,
            line: r.u64()?,
            ts: r.i64()?,
            src_ip: r.ip()?,
            src_port: r.opt(Reader::u16)?,
            dst_ip: r.ip()?,
            dst_port: r.opt(Reader::u16)?,
            bytes_out: r.opt(Reader::u64)?,
            bytes_in: r.opt(Reader::u64)?,
            country: [r.u8()?, r.u8()?],
            dns: r.opt(|r| Ok((r.u32()?, r.u64()?, r.i64()?)))?,
        };
        r.finish()?;
        Ok(d)
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn row(&self) -> EvidenceRow<'a> {
        let [finding_id, regimes, proto, hostname, attribution, vendor, product, category, source_site] =
            self.text;
        EvidenceRow {
            seq: self.seq,
            finding_id,
            regimes,
            file: self.file,
            line: self.line,
            ts: self.ts,
            src_ip: self.src_ip,
            src_port: self.src_port,
            dst_ip: self.dst_ip,
            dst_port: self.dst_port,
            proto,
            bytes_out: self.bytes_out,
            bytes_in: self.bytes_in,
            hostname,
            attribution,
            vendor,
            product,
            category,
            source_site,
            destination_country: self.country,
            dns: self.dns,
            // The fold's numbers are the task's own, so the driver's rows go unnumbered.
            texts: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_evidence_row_round_trips() {
        let row = EvidenceRow {
            seq: seq_of(3, 17),
            finding_id: "F-1",
            regimes: "cn-pipl;eu-gdpr",
            file: 3,
            line: 17,
            ts: 1_783_000_000_000_001,
            src_ip: "10.1.2.3".parse().unwrap(),
            src_port: Some(50_000),
            dst_ip: "160.79.104.10".parse().unwrap(),
            dst_port: None,
            proto: "tcp",
            bytes_out: Some(10),
            bytes_in: None,
            hostname: "api.anthropic.com",
            attribution: "dns",
            vendor: "Anthropic",
            product: "claude-api",
            category: "llm-api",
            source_site: "hangzhou",
            destination_country: *b"US",
            dns: Some((0, 4, 1_783_000_000_000_000)),
            texts: None,
        };
        let mut w = Writer::default();
        encode(&row, &mut w);
        let d = Decoded::from_bytes(&w.buf).unwrap();
        assert_eq!(format!("{:?}", d.row()), format!("{row:?}"));
        assert_eq!(file_ord(d.seq()), (3, 17));
        assert!(Decoded::from_bytes(&w.buf[..w.buf.len() - 1]).is_err());
    }
}
