//! Typed errors for the library. The CLI adds context and maps them to exit codes.

use std::path::PathBuf;

/// Everything that can stop a run. Rejected records are not errors: they are counted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cause is part of the message and deliberately not a `source()`: a chain
    /// printer (`{:#}`) would otherwise print it twice.
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: unknown input format ({detail}). Supported formats: {supported}")]
    UnknownFormat {
        path: PathBuf,
        detail: String,
        supported: String,
    },
    #[error("{path}:{line}: field `{field}`: {reason} (rejected under --strict)")]
    StrictReject {
        path: PathBuf,
        line: u64,
        field: String,
        reason: String,
    },
    #[error("{path}: {message}")]
    Config { path: String, message: String },
    #[error("invalid option: {0}")]
    Usage(String),
    #[error("GeoIP database {path}: {message}")]
    GeoIp { path: String, message: String },
    #[error("aggregation failed: {0}")]
    Aggregate(String),
    #[error("report {path}: {message}")]
    Report { path: PathBuf, message: String },
    /// The run's resident memory passed `--memory-limit`.
    #[error(
        "memory limit {} exceeded ({} resident) while {stage}. Held: {holders}. Raise --memory-limit, or split the run by period (--from/--to, for example one month at a time)",
        crate::units::human(*limit),
        crate::units::human(*used)
    )]
    MemoryLimit {
        limit: u64,
        used: u64,
        stage: String,
        holders: String,
    },
    /// Live DNS (`resolve`, `analyze --reverse-dns`) could not be set up or run.
    #[error("DNS: {0}")]
    Dns(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause: source,
        }
    }

    pub fn config(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The documented process exit code for this error (see docs/usage.md).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Config { .. } | Error::GeoIp { .. } => 2,
            Error::UnknownFormat { .. } | Error::StrictReject { .. } => 3,
            Error::Io { .. } | Error::Aggregate(_) | Error::Report { .. } | Error::Dns(_) => 1,
            Error::MemoryLimit { .. } => 5,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
