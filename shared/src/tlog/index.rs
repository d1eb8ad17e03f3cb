//! [`TlogIndex`]: one pass over a whole tlog in memory giving time -> byte
//! offset checkpoints, message counts by id, first/last time, time gaps and
//! damaged stretches, so replay can seek and show what a log contains.
//!
//! The pass walks the bytes in place (no per-record allocation) with the same
//! state machine as [`super::TlogReader`], so both agree on what is a record.

use std::collections::BTreeMap;
use std::path::Path;

use super::reader::TlogReader;
use super::scan::{Scanner, Step};
use super::{TIMESTAMP_LEN, TlogError, TlogRecord};

/// Tuning of [`TlogIndex::build_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexOptions {
    /// A time step between consecutive records larger than this is a gap.
    pub gap_usec: u64,
    /// A seek checkpoint every this many records.
    pub checkpoint_every: u32,
}

impl Default for IndexOptions {
    fn default() -> Self {
        Self {
            gap_usec: 2_000_000,
            checkpoint_every: 64,
        }
    }
}

/// A silence in the recording (or a jump of the clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlogGap {
    /// Time of the record before the gap.
    pub before_usec: u64,
    /// Time of the record after the gap.
    pub after_usec: u64,
    /// Byte offset of the record after the gap.
    pub offset: u64,
}

/// A damaged stretch that was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlogDamage {
    /// Byte offset of the first bad byte.
    pub offset: u64,
    /// Bytes skipped.
    pub skipped_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Checkpoint {
    /// Largest record time before this record (0 for the first).
    max_before_usec: u64,
    offset: u64,
}

/// Summary and seek table of one tlog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlogIndex {
    checkpoints: Vec<Checkpoint>,
    /// Records per message id.
    pub counts_by_msg_id: BTreeMap<u32, u64>,
    /// Good records.
    pub records: u64,
    /// Time of the first record.
    pub first_usec: Option<u64>,
    /// Time of the last record.
    pub last_usec: Option<u64>,
    /// Steps between consecutive records larger than [`IndexOptions::gap_usec`],
    /// and steps backwards in time.
    pub gaps: Vec<TlogGap>,
    /// Damaged stretches skipped.
    pub damage: Vec<TlogDamage>,
    /// Offset and length of an incomplete final record, if any.
    pub truncated: Option<(u64, u64)>,
    /// Size of the log in bytes.
    pub total_bytes: u64,
}

impl TlogIndex {
    /// Indexes a whole log held in memory, with default options.
    pub fn build(data: &[u8]) -> Self {
        Self::build_with(data, IndexOptions::default())
    }

    /// Indexes a whole log held in memory.
    pub fn build_with(data: &[u8], opts: IndexOptions) -> Self {
        let every = opts.checkpoint_every.max(1) as u64;
        let mut index = TlogIndex {
            total_bytes: data.len() as u64,
            ..Default::default()
        };
        // Dense counts for the usual ids, merged into the map at the end.
        let mut dense = vec![0u64; 1 << 16];
        let mut scanner = Scanner::default();
        let mut pos = 0;
        let mut max_usec = 0u64;
        loop {
            match scanner.step(data, &mut pos, 0, true) {
                Step::Record { at, len, time_usec } => {
                    let frame = &data[at + TIMESTAMP_LEN..at + len];
                    let msg_id = if frame[0] == crate::mavframe::MAGIC_V2 {
                        u32::from_le_bytes([frame[7], frame[8], frame[9], 0])
                    } else {
                        frame[5] as u32
                    };
                    match dense.get_mut(msg_id as usize) {
                        Some(c) => *c += 1,
                        None => *index.counts_by_msg_id.entry(msg_id).or_default() += 1,
                    }
                    if index.records.is_multiple_of(every) {
                        index.checkpoints.push(Checkpoint {
                            max_before_usec: max_usec,
                            offset: at as u64,
                        });
                    }
                    if let Some(last) = index.last_usec
                        && (time_usec < last || time_usec - last > opts.gap_usec)
                    {
                        index.gaps.push(TlogGap {
                            before_usec: last,
                            after_usec: time_usec,
                            offset: at as u64,
                        });
                    }
                    index.first_usec.get_or_insert(time_usec);
                    index.last_usec = Some(time_usec);
                    max_usec = max_usec.max(time_usec);
                    index.records += 1;
                }
                Step::Corrupt { offset, skipped_bytes } => index.damage.push(TlogDamage { offset, skipped_bytes }),
                Step::Truncated { offset, have_bytes } => index.truncated = Some((offset, have_bytes)),
                Step::End | Step::NeedMore => break,
            }
        }
        for (id, &n) in dense.iter().enumerate() {
            if n > 0 {
                index.counts_by_msg_id.insert(id as u32, n);
            }
        }
        index
    }

    /// Reads the file into memory and indexes it; returns the bytes too, for seeking.
    ///
    /// # Errors
    /// [`TlogError::File`] if it cannot be read.
    pub fn from_file(path: &Path) -> Result<(Self, Vec<u8>), TlogError> {
        let data = std::fs::read(path).map_err(|source| TlogError::File {
            path: path.to_path_buf(),
            source,
        })?;
        Ok((Self::build(&data), data))
    }

    /// Byte offset to start reading at to find the records at or after
    /// `time_usec`: the last checkpoint before which every record is earlier
    /// than `time_usec`. Reading from there, skip records earlier than it.
    pub fn offset_for_time(&self, time_usec: u64) -> u64 {
        let n = self.checkpoints.partition_point(|c| c.max_before_usec < time_usec);
        match n {
            0 => self.checkpoints.first().map_or(0, |c| c.offset),
            n => self.checkpoints[n - 1].offset,
        }
    }

    /// Records of `data` (the log this index was built from) from the first
    /// one at or after `time_usec` on, in file order, damage reported as by
    /// [`TlogReader`]. Records before that first one are skipped even when a
    /// damage report comes between them (found by the fuzz target
    /// `tlog_reader`: skipping stopped at the first damage report, so records
    /// older than `time_usec` came back).
    pub fn seek<'a>(&self, data: &'a [u8], time_usec: u64) -> impl Iterator<Item = Result<TlogRecord, TlogError>> + 'a {
        let offset = self.offset_for_time(time_usec).min(data.len() as u64);
        let mut reached = false;
        TlogReader::with_base_offset(&data[offset as usize..], offset).filter(move |r| {
            reached = reached || matches!(r, Ok(rec) if rec.time_usec >= time_usec);
            reached || r.is_err()
        })
    }

    /// Number of records of message `msg_id`.
    pub fn count(&self, msg_id: u32) -> u64 {
        self.counts_by_msg_id.get(&msg_id).copied().unwrap_or(0)
    }
}
