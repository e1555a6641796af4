//! xborder: offline audit evidence of cross-border egress to AI vendors, from network
//! flow and DNS logs.
//!
//! The pipeline is laid out one module per stage:
//! [`ingest`] → [`attribute`] → [`geolocate`] → [`classify`] → [`aggregate`] → [`report`],
//! orchestrated by [`pipeline`]. [`schema`] is the one normalised record format every
//! reader produces.

pub mod generate;
pub mod pipeline;
pub mod progress;

// The crates below, under the paths this crate has always used.
/// The decisions (crates/engine).
pub use xborder_engine::{
    aggregate, attribute, candidates, classify, coverage, dedup, enrich, geolocate, run, verdict,
};
/// The readers (crates/ingest).
pub use xborder_ingest as ingest;
/// The base layer (crates/model).
pub use xborder_model::{accounting, error, fasthash, hash, memory, period, schema, text, units};
pub use xborder_model::{Error, Result};
/// The outputs (crates/report).
pub use xborder_report as report;
pub use xborder_report::{diff, pack};
