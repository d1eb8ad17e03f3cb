//! Verifying an audit log: reads it record by record and stops at the first
//! bad one, naming it by index (0-based record number), byte offset of its
//! line and why (LAW.md section 5: "a verify command finds any edit,
//! deletion, insertion or reordering and names the first bad record").
//!
//! Checked per record: layout and stored hash ([`super::record`]), `seq` is
//! the index, `prev_sha256` is the previous record's hash; for checkpoints,
//! that they cover the previous record and (with keys) that the signature
//! verifies. With an [`VerifyOptions::anchor`] the log must also contain that
//! head, which catches a log cut back or rewritten after its last checkpoint.
//! Payloads are not needed: deleting them does not affect verification.

use std::io::BufRead;
use std::path::Path;

use super::checkpoint::{CheckpointKeys, verify_checkpoint};
use super::error::AuditError;
use super::event::AuditEvent;
use super::record::{ChainHead, GENESIS_PREV, LineError, RecordHash, decode_record};

/// What to verify beyond the chain.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions<'a> {
    /// Checkpoint keys. `None`: checkpoint signatures are not checked (only
    /// that each covers its previous record); the report says so.
    pub keys: Option<&'a CheckpointKeys>,
    /// A head seen before (record `seq` had hash `sha256`): the log must hold it.
    pub anchor: Option<ChainHead>,
}

/// A log that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Number of records.
    pub records: u64,
    /// Length of the log in bytes.
    pub len_bytes: u64,
    /// The last record (None for an empty log).
    pub head: Option<ChainHead>,
    /// Number of checkpoints.
    pub checkpoints: u64,
    /// Whether their signatures were checked (keys were given).
    pub checkpoint_signatures_checked: bool,
    /// Index of the last checkpoint record.
    pub last_checkpoint_index: Option<u64>,
    /// The last checkpoint record itself (its seq and hash): the anchor to note down
    /// elsewhere, so a later verification can prove the log was not cut back before it.
    pub last_checkpoint: Option<ChainHead>,
    /// Records after the last checkpoint (not yet vouched for by a signature).
    pub unsigned_tail_records: u64,
}

/// Why a record is bad.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRecord {
    /// The line itself is malformed, edited or torn.
    #[error("{0}")]
    Line(#[from] LineError),
    /// `seq` is not the record's position: a record before it was deleted or
    /// inserted, or records were reordered.
    #[error("seq is {found}, expected {expected}: a record was deleted, inserted or moved")]
    Sequence {
        /// The position.
        expected: u64,
        /// What the record says.
        found: u64,
    },
    /// `prev_sha256` is not the previous record's hash.
    #[error("prev_sha256 {found} is not the previous record's hash {expected}: the chain is broken here")]
    BrokenLink {
        /// The previous record's hash.
        expected: String,
        /// What the record says.
        found: String,
    },
    /// A checkpoint that does not cover the record before it, or whose signature fails.
    #[error("bad checkpoint: {0}")]
    Checkpoint(String),
    /// The anchor head is not in the log.
    #[error("anchor record {seq} with hash {expected} is {found}: the log was cut back or rewritten")]
    AnchorMismatch {
        /// The anchor's seq.
        seq: u64,
        /// The anchor's hash.
        expected: String,
        /// What the log holds there.
        found: String,
    },
}

/// The first bad record of a log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {index} (byte offset {offset_bytes}): {reason}")]
pub struct VerifyError {
    /// 0-based index of the record (= the seq it should have).
    pub index: u64,
    /// Byte offset of its line in the file.
    pub offset_bytes: u64,
    /// Why it is bad.
    pub reason: BadRecord,
}

/// Verifies a log read from `reader`.
///
/// # Errors
/// [`AuditError::Verify`] naming the first bad record, or [`AuditError::Io`]
/// (with `path` `-`) when reading fails.
pub fn verify_reader<R: BufRead>(mut reader: R, options: &VerifyOptions<'_>) -> Result<VerifyReport, AuditError> {
    let mut index: u64 = 0;
    let mut offset: u64 = 0;
    let mut prev: RecordHash = GENESIS_PREV;
    let mut checkpoints = 0;
    let mut last_checkpoint_index = None;
    let mut last_checkpoint = None;
    let mut anchor_ok = options.anchor.is_none();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(|source| AuditError::Io {
            path: "-".into(),
            source,
        })?;
        if n == 0 {
            break;
        }
        let bad = |reason: BadRecord| {
            AuditError::Verify(VerifyError {
                index,
                offset_bytes: offset,
                reason,
            })
        };
        let rec = decode_record(&line).map_err(|e| bad(e.into()))?;
        if rec.body.seq != index {
            return Err(bad(BadRecord::Sequence {
                expected: index,
                found: rec.body.seq,
            }));
        }
        if rec.body.prev_sha256 != hex::encode(prev) {
            return Err(bad(BadRecord::BrokenLink {
                expected: hex::encode(prev),
                found: rec.body.prev_sha256.clone(),
            }));
        }
        if let AuditEvent::Checkpoint {
            key_id,
            covers_seq,
            covers_sha256_hex,
            signature_ed25519_hex,
        } = &rec.body.event
        {
            if index == 0 {
                return Err(bad(BadRecord::Checkpoint(
                    "the first record cannot be a checkpoint".into(),
                )));
            }
            let covered = ChainHead {
                seq: index - 1,
                sha256: prev,
            };
            if *covers_seq != covered.seq || *covers_sha256_hex != hex::encode(covered.sha256) {
                return Err(bad(BadRecord::Checkpoint(format!(
                    "covers record {covers_seq} {covers_sha256_hex}, but the previous record is {} {}",
                    covered.seq,
                    hex::encode(covered.sha256)
                ))));
            }
            if let Some(keys) = options.keys {
                verify_checkpoint(keys, key_id, &covered, signature_ed25519_hex)
                    .map_err(|e| bad(BadRecord::Checkpoint(e)))?;
            }
            checkpoints += 1;
            last_checkpoint_index = Some(index);
            last_checkpoint = Some(ChainHead {
                seq: index,
                sha256: rec.sha256,
            });
        }
        if let Some(a) = options.anchor
            && a.seq == index
        {
            if a.sha256 != rec.sha256 {
                return Err(bad(BadRecord::AnchorMismatch {
                    seq: a.seq,
                    expected: hex::encode(a.sha256),
                    found: hex::encode(rec.sha256),
                }));
            }
            anchor_ok = true;
        }
        prev = rec.sha256;
        offset += n as u64;
        index += 1;
    }
    if !anchor_ok && let Some(a) = options.anchor {
        return Err(AuditError::Verify(VerifyError {
            index,
            offset_bytes: offset,
            reason: BadRecord::AnchorMismatch {
                seq: a.seq,
                expected: hex::encode(a.sha256),
                found: format!("missing (the log ends after {index} records)"),
            },
        }));
    }
    Ok(VerifyReport {
        records: index,
        len_bytes: offset,
        head: index.checked_sub(1).map(|seq| ChainHead { seq, sha256: prev }),
        checkpoints,
        checkpoint_signatures_checked: options.keys.is_some(),
        last_checkpoint_index,
        last_checkpoint,
        unsigned_tail_records: match last_checkpoint_index {
            Some(i) => index - 1 - i,
            None => index,
        },
    })
}

/// Verifies a log held in memory.
///
/// # Errors
/// As [`verify_reader`].
pub fn verify_bytes(bytes: &[u8], options: &VerifyOptions<'_>) -> Result<VerifyReport, AuditError> {
    verify_reader(bytes, options)
}

/// Verifies a log file.
///
/// # Errors
/// [`AuditError::Io`] naming the file, or [`AuditError::Verify`].
pub fn verify_file(path: &Path, options: &VerifyOptions<'_>) -> Result<VerifyReport, AuditError> {
    let file = std::fs::File::open(path).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    verify_reader(std::io::BufReader::new(file), options).map_err(|e| match e {
        AuditError::Io { source, .. } => AuditError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    })
}
