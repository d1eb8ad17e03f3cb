//! [`TlogReader`]: streams records out of any `Read`, with bounded memory,
//! reporting damage by byte offset and carrying on after it.

use std::io::{ErrorKind, Read};

use super::scan::{Scanner, Step};
use super::{TlogError, TlogRecord};
use crate::mavframe::RawFrame;

/// Bytes read from the source at a time.
const CHUNK: usize = 64 * 1024;

/// Streaming tlog reader: an iterator over `Result<TlogRecord, TlogError>`.
///
/// Every good record is returned in file order. A damaged stretch yields one
/// [`TlogError::Corrupt`] (offset and length of the skipped bytes) between the
/// records around it; a log that ends mid-record yields
/// [`TlogError::Truncated`] last. An I/O error ends the iteration.
pub struct TlogReader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    /// Absolute offset of `buf[0]`.
    base: u64,
    eof: bool,
    failed: bool,
    scanner: Scanner,
}

impl<R: Read> TlogReader<R> {
    /// Reads a tlog from the start of `inner`.
    pub fn new(inner: R) -> Self {
        Self::with_base_offset(inner, 0)
    }

    /// Reads from `inner`, which is positioned at byte `offset` of the log
    /// (e.g. after a seek found with [`super::TlogIndex`]); reported offsets
    /// are offsets in the whole log.
    pub fn with_base_offset(inner: R, offset: u64) -> Self {
        Self {
            inner,
            buf: Vec::with_capacity(CHUNK),
            pos: 0,
            base: offset,
            eof: false,
            failed: false,
            scanner: Scanner::default(),
        }
    }

    /// Byte offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn fill(&mut self) -> Result<(), TlogError> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        loop {
            match self.inner.read(&mut self.buf[old..]) {
                Ok(n) => {
                    self.buf.truncate(old + n);
                    if n == 0 {
                        self.eof = true;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(source) => {
                    self.buf.truncate(old);
                    return Err(TlogError::Io {
                        offset: self.base + old as u64,
                        source,
                    });
                }
            }
        }
    }
}

impl<R: Read> Iterator for TlogReader<R> {
    type Item = Result<TlogRecord, TlogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            match self.scanner.step(&self.buf, &mut self.pos, self.base, self.eof) {
                Step::Record { at, len, time_usec } => {
                    let frame = RawFrame::from_checked(self.buf[at + super::TIMESTAMP_LEN..at + len].to_vec());
                    return Some(Ok(TlogRecord {
                        time_usec,
                        offset: self.base + at as u64,
                        frame,
                    }));
                }
                Step::Corrupt { offset, skipped_bytes } => {
                    return Some(Err(TlogError::Corrupt { offset, skipped_bytes }));
                }
                Step::Truncated { offset, have_bytes } => {
                    return Some(Err(TlogError::Truncated { offset, have_bytes }));
                }
                Step::End => return None,
                Step::NeedMore => {
                    if let Err(e) = self.fill() {
                        self.failed = true;
                        return Some(Err(e));
                    }
                }
            }
        }
    }
}
