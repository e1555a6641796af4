//! xborder: offline audit evidence of cross-border egress to AI vendors, from network
//! flow and DNS logs.
//!
//! The pipeline is laid out one module per stage:
//! [`ingest`] → [`attribute`] → [`geolocate`] → [`classify`] → [`aggregate`] → [`report`],
//! orchestrated by [`pipeline`]. [`schema`] is the one normalised record format every
//! reader produces.

pub mod accounting;
pub mod aggregate;
pub mod attribute;
pub mod classify;
pub mod dedup;
pub mod diff;
pub mod enrich;
pub mod error;
pub mod fasthash;
pub mod generate;
pub mod geolocate;
pub mod ingest;
pub mod memory;
pub mod pack;
pub mod period;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod schema;
pub mod text;

pub use error::{Error, Result};
