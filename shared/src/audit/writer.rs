//! Appending to an audit log file.
//!
//! Durability: [`AuditWriter::append`] writes the whole record line with one
//! `write_all` on a file opened for appending and then `fdatasync`s
//! (`sync_data`) before it returns. A record counts as written only when
//! `append` returned `Ok`; a crash before that can leave at most one torn last
//! line, which was never acknowledged. A new file's directory entry is
//! fsynced too.
//!
//! Opening an existing log verifies its chain first (record layout, hashes,
//! sequence, links; not checkpoint signatures, which need the auditor's keys)
//! and refuses to append to a log that does not verify. The one exception is
//! a torn last line: it is cut off and a [`AuditEvent::TornTailDiscarded`]
//! record says so, so the cut is itself in the log.
//!
//! Checkpoints: with a [`CheckpointSigner`], a signed checkpoint follows every
//! `checkpoint_every_records` records, and [`AuditWriter::checkpoint`] adds one on
//! demand (e.g. on shutdown, so the whole log is vouched for).
//!
//! One writer per file: the caller makes sure no two processes append to the
//! same log.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::checkpoint::CheckpointSigner;
use super::error::AuditError;
use super::event::AuditEvent;
use super::record::{ChainHead, GENESIS_PREV, LineError, RecordBody, RecordHash, encode_record};
use super::verify::{BadRecord, VerifyOptions, verify_file};

/// Default number of records between automatic checkpoints.
pub const DEFAULT_CHECKPOINT_EVERY_RECORDS: u64 = 100;

/// Where a record went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordReceipt {
    /// Its sequence number.
    pub seq: u64,
    /// Byte offset of its line.
    pub offset_bytes: u64,
    /// Its hash.
    pub sha256: RecordHash,
}

/// What opening found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenReport {
    /// Records already in the log.
    pub existing_records: u64,
    /// Bytes of a torn last line that were cut off (0 when none).
    pub torn_tail_bytes: u64,
}

/// Appends records to one log file.
#[derive(Debug)]
pub struct AuditWriter {
    path: PathBuf,
    file: File,
    len_bytes: u64,
    next_seq: u64,
    prev: RecordHash,
    signer: Option<CheckpointSigner>,
    checkpoint_every_records: u64,
    since_checkpoint: u64,
}

fn sync_parent(path: &Path) -> Result<(), AuditError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(AuditError::io(parent))
}

impl AuditWriter {
    /// Opens (or creates) the log at `path`. `signer`: the key checkpoints
    /// are signed with (`None`: no checkpoints). `checkpoint_every_records`: 0
    /// for manual checkpoints only.
    ///
    /// # Errors
    /// [`AuditError::Io`], or [`AuditError::Verify`] when the existing log is
    /// broken anywhere but a torn last line.
    pub fn open(
        path: impl Into<PathBuf>,
        signer: Option<CheckpointSigner>,
        checkpoint_every_records: u64,
    ) -> Result<(Self, OpenReport), AuditError> {
        let path = path.into();
        let existed = path.exists();
        // One writer per log, across processes (an exclusive advisory lock, released when the
        // file is closed, also by kill -9): two writers would each append after the head they
        // know and fork the chain. Taken before the log is read, so the head cannot move after.
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(AuditError::io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(AuditError::InUse { path }),
            Err(std::fs::TryLockError::Error(e)) => return Err(AuditError::io(&path)(e)),
        }
        let mut report = OpenReport::default();
        let (mut len_bytes, mut next_seq, mut prev) = (0, 0, GENESIS_PREV);
        if existed {
            match verify_file(&path, &VerifyOptions::default()) {
                Ok(v) => {
                    len_bytes = v.len_bytes;
                    next_seq = v.records;
                    if let Some(h) = v.head {
                        prev = h.sha256;
                    }
                }
                Err(AuditError::Verify(e)) if e.reason == BadRecord::Line(LineError::Torn) => {
                    // Everything before the torn line verified (verify stops at the first bad record).
                    let total = std::fs::metadata(&path).map_err(AuditError::io(&path))?.len();
                    let f = OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .map_err(AuditError::io(&path))?;
                    f.set_len(e.offset_bytes).map_err(AuditError::io(&path))?;
                    f.sync_all().map_err(AuditError::io(&path))?;
                    report.torn_tail_bytes = total - e.offset_bytes;
                    let v = verify_file(&path, &VerifyOptions::default())?;
                    len_bytes = v.len_bytes;
                    next_seq = v.records;
                    if let Some(h) = v.head {
                        prev = h.sha256;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if !existed {
            file.sync_all().map_err(AuditError::io(&path))?;
            sync_parent(&path)?;
        }
        report.existing_records = next_seq;
        let mut w = Self {
            path,
            file,
            len_bytes,
            next_seq,
            prev,
            signer,
            checkpoint_every_records,
            since_checkpoint: 0,
        };
        if report.torn_tail_bytes > 0 {
            // The record's time is not known (the torn line is gone); 0 marks it as "unknown".
            w.append_one(
                0,
                AuditEvent::TornTailDiscarded {
                    offset_bytes: len_bytes,
                    len_bytes: report.torn_tail_bytes,
                },
            )?;
        }
        Ok((w, report))
    }

    /// Starts (or stops, with `None`) signing checkpoints from now on, one after every
    /// `every_records` records (0: only on demand). For a writer whose key is loaded after
    /// the log was opened; the next [`AuditWriter::checkpoint`] vouches for everything before it.
    pub fn set_signer(&mut self, signer: Option<CheckpointSigner>, every_records: u64) {
        self.signer = signer;
        self.checkpoint_every_records = every_records;
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last record written (None for an empty log).
    pub fn head(&self) -> Option<ChainHead> {
        self.next_seq
            .checked_sub(1)
            .map(|seq| ChainHead { seq, sha256: self.prev })
    }

    /// Number of records in the log.
    pub fn records(&self) -> u64 {
        self.next_seq
    }

    fn append_one(&mut self, time_usec: u64, event: AuditEvent) -> Result<RecordReceipt, AuditError> {
        let body = RecordBody {
            seq: self.next_seq,
            time_usec,
            prev_sha256: hex::encode(self.prev),
            event,
        };
        let (line, hash) = encode_record(&body);
        let offset = self.len_bytes;
        let written = self.file.write_all(&line).and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            // Cut a partial line off so the next append does not build on it;
            // if even that fails, reopening cuts the torn tail.
            let _ = self.file.set_len(offset);
            return Err(AuditError::Io {
                path: self.path.clone(),
                source,
            });
        }
        self.len_bytes += line.len() as u64;
        self.next_seq += 1;
        self.prev = hash;
        self.since_checkpoint += 1;
        Ok(RecordReceipt {
            seq: body.seq,
            offset_bytes: offset,
            sha256: hash,
        })
    }

    /// Appends one record and syncs it to disk; when this returns `Ok` the
    /// record is durable. May append a checkpoint after it (see the module docs).
    ///
    /// # Errors
    /// [`AuditError::Io`]: the record is not acknowledged.
    pub fn append(&mut self, time_usec: u64, event: AuditEvent) -> Result<RecordReceipt, AuditError> {
        let receipt = self.append_one(time_usec, event)?;
        if self.checkpoint_every_records > 0 && self.since_checkpoint >= self.checkpoint_every_records {
            self.checkpoint(time_usec)?;
        }
        Ok(receipt)
    }

    /// Appends a signed checkpoint over the current head. Returns `None`
    /// without a signer or on an empty log.
    ///
    /// # Errors
    /// [`AuditError::Io`].
    pub fn checkpoint(&mut self, time_usec: u64) -> Result<Option<RecordReceipt>, AuditError> {
        let (Some(signer), Some(head)) = (&self.signer, self.head()) else {
            return Ok(None);
        };
        let event = signer.checkpoint_event(&head);
        let r = self.append_one(time_usec, event)?;
        self.since_checkpoint = 0;
        Ok(Some(r))
    }
}
