//! xborder's base layer: the types every stage shares and nothing else.
//!
//! Records as readers produce them ([`schema`]) and their binary form between the stages
//! of a distributed run ([`codec`]), why a record was rejected ([`reject`]),
//! the per-file and per-run counts ([`accounting`]), time and the audit period
//! ([`period`], [`values`]), hashing ([`hash`]), safe file reads ([`fsio`]), memory
//! accounting ([`memory`]), text for people ([`text`], [`units`]) and the typed
//! [`error::Error`]. This crate names no other xborder crate, and keeps heavy
//! dependencies (polars, PDF, DNS) out, so every crate above builds on it cheaply.

pub mod accounting;
pub mod codec;
pub mod error;
pub mod fasthash;
pub mod fsio;
pub mod hash;
pub mod memory;
pub mod period;
pub mod reject;
pub mod rng;
pub mod schema;
pub mod text;
pub mod units;
pub mod values;

pub use error::{Error, Result};
