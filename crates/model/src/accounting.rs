//! Per-file accounting. Every record read ends in exactly one bucket:
//! `read = accepted + rejected + duplicate + outside_period + filtered`, checked before
//! outputs are written, so nothing is ever dropped silently.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::reject::{Reject, RejectReason};

/// Most rejects listed per file in rejects.csv; all are counted regardless.
pub const REJECTS_LISTED_PER_FILE: usize = 1000;

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct RecordCounts {
    pub read: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub duplicate: u64,
    pub outside_period: u64,
    /// Read and deliberately not used (an AWS NODATA row, a Suricata alert event…).
    pub filtered: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
    pub filtered_by_reason: BTreeMap<String, u64>,
}

impl RecordCounts {
    pub fn balanced(&self) -> bool {
        self.read
            == self.accepted + self.rejected + self.duplicate + self.outside_period + self.filtered
            && self.rejected == self.rejected_by_reason.values().sum::<u64>()
            && self.filtered == self.filtered_by_reason.values().sum::<u64>()
    }

    pub fn add(&mut self, other: &RecordCounts) {
        self.read += other.read;
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.duplicate += other.duplicate;
        self.outside_period += other.outside_period;
        self.filtered += other.filtered;
        for (k, v) in &other.rejected_by_reason {
            *self.rejected_by_reason.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.filtered_by_reason {
            *self.filtered_by_reason.entry(k.clone()).or_default() += v;
        }
    }
}

/// What happened to accepted flows, by direction.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FlowBreakdown {
    /// Originator in a configured site, destination a public address.
    pub egress: u64,
    /// Originator local (special-purpose address or sensor says local) but in no site.
    pub egress_unknown_site: u64,
    /// Destination is a special-purpose (internal) address.
    pub internal: u64,
    /// Opened from outside: originator public and in no site.
    pub inbound: u64,
    /// Accepted flows whose byte counts were unset (counted as 0 bytes).
    pub bytes_unset: u64,
    /// Egress flows attributed to an AI vendor.
    pub ai_vendor: u64,
    /// `ai_vendor` by attribution method (sni, http_host, dns, ip_range, snapshot, ptr).
    pub ai_by_method: BTreeMap<String, u64>,
    /// Flows where a stronger method overruled a weaker one that said something else,
    /// keyed `stronger_vs_weaker` (`sni_vs_dns`: the TLS server name named another
    /// vendor, or no vendor, where the DNS answer named one).
    pub attribution_disagreements: BTreeMap<String, u64>,
    /// Records of one-direction exports (NetFlow, VPC flow logs) that were the return
    /// direction of a connection opened from inside: their bytes count as received, and
    /// they are not counted as flows of their own.
    pub return_direction: u64,
    /// Flows whose byte count covers both directions (Cisco ASA teardown): counted in
    /// bytes_out, with nothing in bytes_in.
    pub bytes_combined: u64,
    /// Accepted flows whose connection id (Zeek uid, flow_id) an earlier record of a
    /// different connection already used: not duplicates, so both count; listed in
    /// conflicts.csv. Forged or corrupt exports show up here.
    pub uid_conflicts: u64,
}

impl FlowBreakdown {
    pub fn add(&mut self, o: &FlowBreakdown) {
        self.egress += o.egress;
        self.egress_unknown_site += o.egress_unknown_site;
        self.internal += o.internal;
        self.inbound += o.inbound;
        self.bytes_unset += o.bytes_unset;
        self.uid_conflicts += o.uid_conflicts;
        self.ai_vendor += o.ai_vendor;
        for (k, v) in &o.ai_by_method {
            *self.ai_by_method.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.attribution_disagreements {
            *self.attribution_disagreements.entry(k.clone()).or_default() += v;
        }
        self.return_direction += o.return_direction;
        self.bytes_combined += o.bytes_combined;
    }

    /// Count one AI-vendor flow under its attribution method.
    pub fn count_method(&mut self, method: crate::schema::Method) {
        if let Some(n) = self.ai_by_method.get_mut(method.as_str()) {
            *n += 1;
        } else {
            self.ai_by_method.insert(method.as_str().to_string(), 1);
        }
    }
}

/// What happened to the requests of proxy, gateway and URL-filter logs, and to the flows
/// of the proxies themselves.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ProxyBreakdown {
    /// Accepted proxy records.
    pub requests: u64,
    pub allowed: u64,
    pub blocked: u64,
    /// Neither (cache hits, authentication challenges, requests that never went upstream).
    pub other: u64,
    /// Requests whose log names a user.
    pub with_user: u64,
    /// Requests from clients outside every site and not internal: not egress of ours.
    pub client_outside: u64,
    /// Blocked requests to AI vendors (blocked_attempts.csv).
    pub blocked_ai_vendor: u64,
    /// Allowed egress whose log names no server address: its destination country is
    /// unknown (ZZ).
    pub without_server_address: u64,
    /// URL-filter requests that gave their host to a flow of the same session.
    pub joined_to_flows: u64,
    /// Further requests over a connection already counted (same session).
    pub same_session: u64,
    /// Flows from or to a proxy in hours its log covers: legs of requests counted from
    /// the proxy log, not egress of their own.
    pub flows_carried_by_proxy_logs: u64,
    /// Flows from a proxy in hours no proxy log covers: still counted as the proxy's egress.
    pub proxy_egress_without_proxy_logs: u64,
    /// Proxy addresses: declared in sites.toml, then learned from the logs.
    pub proxies: Vec<String>,
}

/// One input file as run.json reports it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct FileReport {
    pub path: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub compression: String,
    /// Detected format id, or `empty`, `skipped:zeek-<path>`, `skipped:unrecognised` or
    /// `skipped:not-a-regular-file`.
    pub format: String,
    /// The record kinds the format holds (`flow`, `dns`, `hostname`, or several joined by `+`).
    pub kind: Option<String>,
    pub counts: RecordCounts,
    /// Facts that change how this file's figures read (assumed time zone, byte semantics).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flows: Option<FlowBreakdown>,
    pub rejects_listed: u64,
    /// Where a copy of the file sits in the evidence pack (`--include-inputs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_member: Option<String>,
}

impl FileReport {
    /// A file listed but not read (`format` says why: `empty`, `skipped:…`), with no
    /// hash yet.
    pub fn skipped(path: &std::path::Path, format: &str) -> Self {
        FileReport {
            path: path.display().to_string(),
            sha256: String::new(),
            size_bytes: 0,
            compression: String::new(),
            format: format.to_string(),
            kind: None,
            counts: RecordCounts::default(),
            notes: Vec::new(),
            flows: None,
            rejects_listed: 0,
            pack_member: None,
        }
    }
}

/// A reject as listed in rejects.csv.
#[derive(Debug, Clone)]
pub struct RejectRow {
    pub file: String,
    pub reject: Reject,
}

impl RecordCounts {
    pub fn filter(&mut self, reason: &str) {
        self.read += 1;
        self.filtered += 1;
        if let Some(n) = self.filtered_by_reason.get_mut(reason) {
            *n += 1;
        } else {
            self.filtered_by_reason.insert(reason.to_string(), 1);
        }
    }

    pub fn reject(&mut self, reason: RejectReason) {
        self.read += 1;
        self.rejected += 1;
        *self
            .rejected_by_reason
            .entry(reason.as_str().to_string())
            .or_default() += 1;
    }
}
