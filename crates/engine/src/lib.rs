//! xborder's decisions, between the readers and the report.
//!
//! - [`dedup`]: which records are the same connection seen twice;
//! - [`attribute`]: which hostname and vendor a flow went to (the attribution cascade);
//! - [`geolocate`]: which country an address is in;
//! - [`classify`]: the catalogs (vendors, regimes, countries, sites, policy) and which
//!   rules a transfer falls under;
//! - [`fold`]: each accepted flow attributed, classified and folded into partial groups;
//! - [`aggregate`]: the output tables from the folded rows;
//! - [`coverage`], [`candidates`] and [`verdict`]: what the evidence can and cannot show;
//! - [`enrich`]: optional live DNS (reverse look-ups, `resolve`).
//!
//! It names xborder-model and, for the options of a run, xborder-ingest's format and
//! reader options; it never parses a log line or writes an output.

pub mod aggregate;
pub mod attribute;
pub mod candidates;
pub mod classify;
pub mod coverage;
pub mod dedup;
pub mod enrich;
pub mod fold;
pub mod geolocate;
pub mod run;
pub mod verdict;

/// A polars failure as the typed error (the base layer does not depend on polars).
pub(crate) fn polars_error(e: polars::error::PolarsError) -> xborder_model::Error {
    xborder_model::Error::Aggregate(e.to_string())
}
