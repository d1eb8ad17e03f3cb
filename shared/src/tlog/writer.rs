//! Writing tlogs: [`TlogWriter`] over any `Write`, and [`TlogFileWriter`]
//! which a ground station uses to record a session into rotating files.
//!
//! Flush policy of [`TlogFileWriter`]: records go through a 64 KiB
//! `BufWriter`; the buffer is flushed to the OS when the record time has
//! advanced [`DEFAULT_FLUSH_INTERVAL_USEC`] (1 s, configurable) since the last
//! flush, when the clock goes backwards, on rotation, on [`TlogFileWriter::flush`],
//! [`TlogFileWriter::close`] and on drop. So a crash of the process loses at
//! most about one second of records; a completed file is also `fsync`ed when
//! rotated or closed, so closed files survive a power loss.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use mavlink_core::{MavHeader, Message};

use super::{TIMESTAMP_LEN, TlogError};
use crate::mavframe::{FrameError, MavVersion, RawFrame};

/// Default flush interval of [`TlogFileWriter`], in record-time microseconds.
pub const DEFAULT_FLUSH_INTERVAL_USEC: u64 = 1_000_000;

/// Writes tlog records to any `Write`. It does not buffer: give it a
/// `BufWriter` for files (or use [`TlogFileWriter`]).
#[derive(Debug)]
pub struct TlogWriter<W: Write> {
    inner: W,
    bytes_written: u64,
    records: u64,
}

impl<W: Write> TlogWriter<W> {
    /// A writer appending records to `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            bytes_written: 0,
            records: 0,
        }
    }

    /// Appends one record: `time_usec` (µs since the Unix epoch) and the frame's exact bytes.
    ///
    /// # Errors
    /// [`TlogError::Io`] with the offset the record would have had.
    pub fn write_frame(&mut self, time_usec: u64, frame: &RawFrame) -> Result<(), TlogError> {
        self.write_unchecked(time_usec, frame.as_bytes())
    }

    /// Appends a record for raw frame bytes received from elsewhere. The bytes
    /// must be exactly one frame with a valid CRC, or one frame of an id our
    /// dialect does not know (recorded as received).
    ///
    /// # Errors
    /// [`TlogError::NotAFrame`] (nothing written) or [`TlogError::Io`].
    pub fn write_raw(&mut self, time_usec: u64, bytes: &[u8]) -> Result<(), TlogError> {
        match RawFrame::check_prefix(bytes) {
            Ok(len) if len == bytes.len() => {}
            Ok(len) => {
                return Err(TlogError::NotAFrame(FrameError::TrailingBytes {
                    extra: bytes.len() - len,
                }));
            }
            Err(FrameError::UnknownMsgId(_)) if unknown_frame_len(bytes) == Some(bytes.len()) => {}
            Err(e) => return Err(TlogError::NotAFrame(e)),
        }
        self.write_unchecked(time_usec, bytes)
    }

    /// Serializes `msg` and appends it.
    ///
    /// # Errors
    /// [`TlogError::Io`].
    ///
    /// # Panics
    /// As [`RawFrame::encode`] (V1 with an id above 255).
    pub fn write_message<M: Message>(
        &mut self,
        time_usec: u64,
        version: MavVersion,
        header: MavHeader,
        msg: &M,
    ) -> Result<(), TlogError> {
        self.write_frame(time_usec, &RawFrame::encode(version, header, msg))
    }

    fn write_unchecked(&mut self, time_usec: u64, frame: &[u8]) -> Result<(), TlogError> {
        let offset = self.bytes_written;
        let io = |source| TlogError::Io { offset, source };
        self.inner.write_all(&time_usec.to_be_bytes()).map_err(io)?;
        self.inner.write_all(frame).map_err(io)?;
        self.bytes_written += (TIMESTAMP_LEN + frame.len()) as u64;
        self.records += 1;
        Ok(())
    }

    /// Flushes the inner writer.
    ///
    /// # Errors
    /// [`TlogError::Io`].
    pub fn flush(&mut self) -> Result<(), TlogError> {
        let offset = self.bytes_written;
        self.inner.flush().map_err(|source| TlogError::Io { offset, source })
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer (not flushed).
    pub fn into_inner(self) -> W {
        self.inner
    }
}

/// Length of a frame whose id is unknown, from its header alone.
fn unknown_frame_len(bytes: &[u8]) -> Option<usize> {
    use crate::mavframe::{MAGIC_V1, MAGIC_V2, SIGNATURE_LEN};
    match bytes {
        [MAGIC_V2, len, flags, ..] if flags & !1 == 0 => {
            Some(10 + *len as usize + 2 + if flags & 1 != 0 { SIGNATURE_LEN } else { 0 })
        }
        [MAGIC_V1, len, ..] => Some(6 + *len as usize + 2),
        _ => None,
    }
}

/// When [`TlogFileWriter`] starts a new file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TlogRotation {
    /// Start a new file before one would grow past this many bytes.
    pub max_bytes: Option<u64>,
    /// Start a new file when a record is this much later than the file's first record.
    pub max_duration_usec: Option<u64>,
}

struct Current {
    writer: TlogWriter<BufWriter<File>>,
    path: PathBuf,
    first_usec: u64,
    last_flush_usec: u64,
}

/// Records into `dir/{prefix}-{YYYYMMDD}-{HHMMSS}[-N].tlog` files (UTC time of
/// the file's first record), rotating by size and/or duration. See the module
/// docs for the flush policy. Never overwrites an existing file.
pub struct TlogFileWriter {
    dir: PathBuf,
    prefix: String,
    rotation: TlogRotation,
    flush_interval_usec: u64,
    current: Option<Current>,
    closed: Vec<PathBuf>,
}

impl TlogFileWriter {
    /// A writer into `dir` (created if missing). No file is created before the first record.
    ///
    /// # Errors
    /// [`TlogError::File`] if `dir` cannot be created.
    pub fn create(dir: impl Into<PathBuf>, prefix: &str, rotation: TlogRotation) -> Result<Self, TlogError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| TlogError::File {
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            dir,
            prefix: prefix.to_string(),
            rotation,
            flush_interval_usec: DEFAULT_FLUSH_INTERVAL_USEC,
            current: None,
            closed: Vec::new(),
        })
    }

    /// Changes how much record time may pass between flushes (0: flush every record).
    pub fn with_flush_interval_usec(mut self, usec: u64) -> Self {
        self.flush_interval_usec = usec;
        self
    }

    /// Appends one record, rotating first if the rotation policy says so.
    ///
    /// # Errors
    /// [`TlogError::File`] creating a file, [`TlogError::Io`] writing.
    pub fn write_frame(&mut self, time_usec: u64, frame: &RawFrame) -> Result<(), TlogError> {
        let len = (TIMESTAMP_LEN + frame.as_bytes().len()) as u64;
        if let Some(cur) = &self.current {
            let written = cur.writer.bytes_written();
            let too_big = self
                .rotation
                .max_bytes
                .is_some_and(|max| written > 0 && written + len > max);
            let too_long = self
                .rotation
                .max_duration_usec
                .is_some_and(|max| time_usec.saturating_sub(cur.first_usec) >= max);
            if too_big || too_long {
                self.finish_current()?;
            }
        }
        if self.current.is_none() {
            self.current = Some(self.open(time_usec)?);
        }
        let cur = self.current.as_mut().expect("opened above");
        cur.writer.write_frame(time_usec, frame)?;
        if time_usec < cur.last_flush_usec || time_usec - cur.last_flush_usec >= self.flush_interval_usec {
            cur.writer.flush()?;
            cur.last_flush_usec = time_usec;
        }
        Ok(())
    }

    fn open(&self, first_usec: u64) -> Result<Current, TlogError> {
        let stamp = utc_stamp(first_usec);
        for n in 0u32.. {
            let name = if n == 0 {
                format!("{}-{stamp}.tlog", self.prefix)
            } else {
                format!("{}-{stamp}-{n}.tlog", self.prefix)
            };
            let path = self.dir.join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(Current {
                        writer: TlogWriter::new(BufWriter::with_capacity(64 * 1024, file)),
                        path,
                        first_usec,
                        last_flush_usec: first_usec,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(TlogError::File { path, source }),
            }
        }
        unreachable!("u32 file counter exhausted")
    }

    fn finish_current(&mut self) -> Result<(), TlogError> {
        if let Some(cur) = self.current.take() {
            let path = cur.path;
            let file = cur.writer.into_inner().into_inner().map_err(|e| TlogError::File {
                path: path.clone(),
                source: e.into_error(),
            })?;
            file.sync_all().map_err(|source| TlogError::File {
                path: path.clone(),
                source,
            })?;
            self.closed.push(path);
        }
        Ok(())
    }

    /// Hands buffered records to the OS now.
    ///
    /// # Errors
    /// [`TlogError::Io`].
    pub fn flush(&mut self) -> Result<(), TlogError> {
        match &mut self.current {
            Some(cur) => cur.writer.flush(),
            None => Ok(()),
        }
    }

    /// The file being written, if any record was written since the last rotation.
    pub fn current_path(&self) -> Option<&Path> {
        self.current.as_ref().map(|c| c.path.as_path())
    }

    /// Flushes, syncs and closes; returns every file written, oldest first.
    ///
    /// # Errors
    /// [`TlogError::File`] if the last file cannot be flushed or synced.
    pub fn close(mut self) -> Result<Vec<PathBuf>, TlogError> {
        self.finish_current()?;
        Ok(std::mem::take(&mut self.closed))
    }
}

impl Drop for TlogFileWriter {
    fn drop(&mut self) {
        // Best effort: `close` is the path that reports errors.
        if let Some(cur) = &mut self.current {
            let _ = cur.writer.flush();
        }
    }
}

/// `YYYYMMDD-HHMMSS` (UTC) of a Unix time in microseconds.
fn utc_stamp(time_usec: u64) -> String {
    let secs = time_usec / 1_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamp_of_known_times() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        // 2024-02-29T12:34:56Z = 1709210096 s.
        assert_eq!(utc_stamp(1_709_210_096_000_000), "20240229-123456");
    }
}
