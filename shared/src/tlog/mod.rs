//! The `.tlog` telemetry log format, as QGroundControl and MAVProxy write it:
//! a plain sequence of records, each an 8-byte big-endian timestamp
//! (microseconds since the Unix epoch, UTC) followed by one raw MAVLink v1 or
//! v2 frame. There is no file header and no record length: a record ends where
//! its frame ends, so damage is found by checking each frame and recovered by
//! searching for the next record that checks out.
//!
//! [`TlogWriter`] / [`TlogFileWriter`] write, [`TlogReader`] streams records
//! back (reporting damage with its byte offset and carrying on after it),
//! [`TlogIndex`] maps time to byte offset in one pass for replay seeking.

mod index;
mod reader;
mod scan;
mod writer;

use std::path::PathBuf;

use crate::mavframe::{FrameError, RawFrame};

pub use index::{IndexOptions, TlogDamage, TlogGap, TlogIndex};
pub use reader::TlogReader;
pub use writer::{DEFAULT_FLUSH_INTERVAL_USEC, TlogFileWriter, TlogRotation, TlogWriter};

/// Bytes of the timestamp in front of every frame.
pub const TIMESTAMP_LEN: usize = 8;

/// One record of a tlog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogRecord {
    /// When the frame was received/sent, microseconds since the Unix epoch (UTC).
    pub time_usec: u64,
    /// Byte offset of the record (its timestamp) in the file.
    pub offset: u64,
    /// The frame, exact bytes.
    pub frame: RawFrame,
}

impl TlogRecord {
    /// Length of the record on disk (timestamp + frame).
    pub fn len_bytes(&self) -> usize {
        TIMESTAMP_LEN + self.frame.as_bytes().len()
    }
}

/// What went wrong reading or writing a tlog.
#[derive(Debug, thiserror::Error)]
pub enum TlogError {
    /// The underlying reader or writer failed.
    #[error("tlog I/O error at byte offset {offset}: {source}")]
    Io {
        /// Byte offset in the log where it happened.
        offset: u64,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Opening, creating or reading a file failed.
    #[error("tlog file {}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Bytes that are not valid records were skipped; reading carries on
    /// with the next good record after them.
    #[error("corrupt tlog: {skipped_bytes} bytes skipped at byte offset {offset}")]
    Corrupt {
        /// Byte offset of the first bad byte.
        offset: u64,
        /// How many bytes were skipped.
        skipped_bytes: u64,
    },
    /// The log ends in the middle of a record (e.g. the recorder was killed).
    #[error("truncated tlog: last record at byte offset {offset} is incomplete ({have_bytes} bytes)")]
    Truncated {
        /// Byte offset of the incomplete record.
        offset: u64,
        /// Bytes of it that are present.
        have_bytes: u64,
    },
    /// Bytes handed to the writer are not one MAVLink frame.
    #[error("not a MAVLink frame, not written: {0}")]
    NotAFrame(#[source] FrameError),
}

#[cfg(test)]
mod tests;
