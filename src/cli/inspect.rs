//! `xborder inspect`: the detected format of a file and its first normalised records.
//!
//! Usage: xborder inspect FILE [-n N]

/// Print one line with every control character escaped: records come from untrusted
/// logs, and an ESC or BEL byte must not act on the terminal.
macro_rules! say {
    ($($arg:tt)*) => {
        println!("{}", xborder::text::escape_control(&format!($($arg)*)))
    };
}

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use xborder::ingest::{self, Detection, Item};
use xborder::period::rfc3339;
use xborder::schema::{AnswerValue, Record};

const EXAMPLES: &str = "\
Examples:
  xborder inspect data/sample/dns.2026-Q3.log
  xborder inspect export-0001.bin -n 20

Prints the detected format, then the first N records as the pipeline sees them after
normalisation, and any rejected lines with file, line, field and reason.";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct InspectArgs {
    /// Read the file as this format instead of detecting it.
    #[arg(long, value_name = "ID")]
    pub format: Option<String>,
    /// UTC offset for logs that write local time without a zone (as for analyze).
    #[arg(long, value_name = "OFFSET")]
    pub log_timezone: Option<String>,
    /// Year for syslog timestamps that carry none.
    #[arg(long, value_name = "YEAR")]
    pub assume_year: Option<i32>,
    /// A mapping file for CSV or JSON exports no built-in reader knows (repeatable;
    /// docs/formats.md, Generic readers).
    #[arg(long, value_name = "FILE")]
    pub mapping: Vec<PathBuf>,
    /// AWS VPC flow log field names in order, for header-less custom-format lines.
    #[arg(long, value_name = "FIELDS")]
    pub vpc_fields: Option<String>,
    /// The file to look at (plain or gzip).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// How many records to show.
    #[arg(short = 'n', long, default_value_t = 10)]
    pub records: usize,
}

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let head = ingest::input::read_head(&args.file, 65_536)?;
    let forced = match &args.format {
        Some(id) => Some(ingest::Format::by_id(id).ok_or_else(|| {
            xborder::Error::Usage(format!(
                "unknown format `{id}`; `xborder formats` lists them"
            ))
        })?),
        None => None,
    };
    let log_timezone = match &args.log_timezone {
        Some(s) => Some(super::analyze::parse_offset(s).map_err(xborder::Error::Usage)?),
        None => None,
    };
    let mut mappings = Vec::new();
    for m in &args.mapping {
        mappings.push(ingest::mapping::load(m)?);
    }
    let options = ingest::ReaderOptions {
        log_timezone,
        assume_year: args.assume_year,
        mappings,
        vpc_fields: args
            .vpc_fields
            .as_deref()
            .and_then(super::analyze::split_vpc_fields),
    };
    let format = match ingest::detect_with(&args.file, &head, forced, &options)? {
        Detection::Supported(f) => f,
        Detection::ZeekOtherLog(path) => {
            say!(
                "{}: a Zeek {path} log, which xborder recognises and skips",
                args.file.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        Detection::Empty => {
            say!("{}: empty", args.file.display());
            return Ok(ExitCode::SUCCESS);
        }
        // Only produced for files found inside directories; inspect takes one named file.
        Detection::Unrecognised(why) => {
            return Err(xborder::Error::Usage(format!("{}: {why}", args.file.display())).into())
        }
        Detection::NotRegular => {
            return Err(xborder::Error::Usage(format!(
                "{}: not a regular file",
                args.file.display()
            ))
            .into())
        }
    };
    let mut opened = ingest::open_input(&args.file)?;
    say!(
        "{}: {} ({} records, compression {})",
        args.file.display(),
        format.id(),
        format.kinds_label(),
        opened.compression.as_str()
    );
    let mut shown = 0usize;
    let limit = args.records;
    let ctx = ingest::ReadContext {
        path: &args.file,
        file_index: 0,
        options: &options,
    };
    let result = ingest::read_records(format, &mut opened.reader, &ctx, &mut |item| {
        if shown >= limit {
            return Err(xborder::Error::Usage("enough records".into()));
        }
        shown += 1;
        match item {
            Item::Record(Record::Flow(f)) => say!(
                "line {:>6}  flow  {}  {}:{} -> {}:{}  {}  out {}  in {}  uid {}  bytes {}",
                f.provenance.line,
                rfc3339(f.ts),
                f.src_ip,
                f.src_port
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "-".into()),
                f.dst_ip,
                f.dst_port
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "-".into()),
                f.proto.as_str(),
                f.bytes_out
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "-".into()),
                f.bytes_in
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "-".into()),
                f.uid.as_deref().unwrap_or("-"),
                f.direction.as_str()
            ),
            Item::Record(Record::Hostname(h)) => say!(
                "line {:>6}  host  {}  {} -> {}  {} {}  uid {}",
                h.provenance.line,
                rfc3339(h.ts),
                h.src_ip,
                h.dst_ip,
                match h.source {
                    xborder::schema::HostnameSource::Sni => "sni",
                    xborder::schema::HostnameSource::HttpHost => "http_host",
                },
                h.name,
                h.uid
            ),
            Item::Record(Record::Proxy(p)) => {
                let opt = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |b| b.to_string());
                say!(
                    "line {:>6}  proxy {}  {} -> {}:{}  {}  out {}  in {}  user {}  server {}  proxy {}",
                    p.provenance.line,
                    rfc3339(p.ts),
                    p.client_ip,
                    p.host,
                    p.port.map_or_else(|| "-".to_string(), |v| v.to_string()),
                    p.action.as_str(),
                    opt(p.bytes_out),
                    opt(p.bytes_in),
                    p.user.as_deref().unwrap_or("-"),
                    p.server_ip.map_or_else(|| "-".to_string(), |v| v.to_string()),
                    p.proxy.as_deref().unwrap_or("-"),
                )
            }
            Item::Filtered { line, reason } => {
                say!("line {line:>6}  filtered ({reason})")
            }
            Item::Note(note) => {
                shown -= 1;
                say!("note: {note}")
            }
            Item::Record(Record::Dns(d)) => {
                let answers: Vec<String> = d
                    .answers
                    .iter()
                    .map(|a| {
                        let v = match &a.value {
                            AnswerValue::Address(ip) => ip.to_string(),
                            AnswerValue::Other(s) => s.clone(),
                        };
                        match a.ttl {
                            Some(t) => format!("{v}/{t}s"),
                            None => v,
                        }
                    })
                    .collect();
                say!(
                    "line {:>6}  dns   {}  {}  {}  -> {}",
                    d.provenance.line,
                    rfc3339(d.response_ts),
                    d.client_ip,
                    d.query,
                    if answers.is_empty() {
                        "(no answers)".to_string()
                    } else {
                        answers.join(", ")
                    }
                )
            }
            Item::Reject(r) => say!(
                "line {:>6}  REJECTED  field {}: {} ({})",
                r.line,
                r.field,
                r.reason.as_str(),
                r.detail
            ),
        }
        Ok(())
    });
    match result {
        Ok(()) | Err(xborder::Error::Usage(_)) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).with_context(|| format!("reading {}", args.file.display())),
    }
}
