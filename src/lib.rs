//! xborder: offline audit evidence of cross-border egress to AI vendors, from network
//! flow and DNS logs.
//!
//! The pipeline is laid out one module per stage:
//! [`ingest`] → [`attribute`] → [`geolocate`] → [`classify`] → [`aggregate`] → [`report`],
//! orchestrated by [`pipeline`]. [`schema`] is the one normalised record format every
//! reader produces.

pub mod aggregate;
pub mod attribute;
pub mod candidates;
pub mod classify;
pub mod coverage;
pub mod dedup;
pub mod diff;
pub mod enrich;
pub mod generate;
pub mod geolocate;
pub mod pack;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod verdict;

// The base layer, under the paths the rest of this crate has always used.
/// The readers (crates/ingest).
pub use xborder_ingest as ingest;
pub use xborder_model::{accounting, error, fasthash, hash, memory, period, schema, text, units};
pub use xborder_model::{Error, Result};

/// A polars failure as the typed error (the base layer does not depend on polars).
pub(crate) fn polars_error(e: polars::error::PolarsError) -> Error {
    Error::Aggregate(e.to_string())
}
