//! Errors of the audit log: I/O (naming the file), a log that does not
//! verify (naming the record), a payload that is missing or corrupt.

use std::path::PathBuf;

use super::verify::VerifyError;

/// An audit-log operation that failed. An append that returns an error was
/// not acknowledged: the caller must treat the record as not written.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Reading, writing or syncing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory (`-` for a stream).
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The log does not verify.
    #[error("audit log does not verify: {0}")]
    Verify(#[from] VerifyError),
    /// A payload is not in the store (deleted or never written).
    #[error("payload {sha256_hex} is not in the store")]
    PayloadMissing {
        /// Its hash.
        sha256_hex: String,
    },
    /// A payload's bytes do not match its hash.
    #[error("payload {sha256_hex} is corrupt (its bytes hash to {computed})")]
    PayloadCorrupt {
        /// Its hash.
        sha256_hex: String,
        /// What the bytes hash to.
        computed: String,
    },
    /// A payload reference that is not a SHA-256 hex string (never used as a path).
    #[error("`{0}` is not a payload reference (64 lower-case hex digits)")]
    BadPayloadRef(String),
    /// Another writer (another process, or another writer in this one) has the log open: a
    /// second one would fork the hash chain, each appending after the head it knows.
    #[error(
        "{path} is open for writing elsewhere (a running station or drone?): an audit log has one writer at a time; use that one, or wait until it has ended"
    )]
    InUse {
        /// The log.
        path: PathBuf,
    },
}

impl AuditError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> AuditError {
        let path = path.into();
        move |source| AuditError::Io { path, source }
    }
}
