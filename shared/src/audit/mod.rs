//! The audit log (LAW.md section 5; AI Act Art. 12(3); Directive 2016/680
//! Art. 25): append-only, hash-chained JSON-lines records with signed
//! checkpoints, durable before acknowledged, biometric payloads stored apart.
//!
//! - [`record`]: the on-disk record line, its hash and the chain link.
//! - [`event`]: what records say (the Art. 12(3) fields live here).
//! - [`writer`]: appending with fsync, reopening, automatic checkpoints.
//! - [`checkpoint`]: the signed checkpoints and their keys.
//! - [`key_file`]: the secret and public key files of checkpoints, and anchors.
//! - [`erase`]: applying the retention policy (payloads, files) with an erasure record each.
//! - [`verify`]: the check that names the first bad record.
//! - [`payload`]: the payload store (templates, crops) referenced by hash.
//! - [`retention`]: how long records are kept (never under six months for
//!   identification logs).
//!
//! This is a format plus its file I/O with `std` only, like `tlog`.

pub mod checkpoint;
pub mod erase;
pub mod error;
pub mod event;
pub mod key_file;
pub mod payload;
pub mod record;
pub mod retention;
pub mod verify;
pub mod writer;

#[cfg(test)]
mod tests;

pub use checkpoint::{CheckpointKeys, CheckpointSigner};
pub use error::AuditError;
pub use event::{
    AuditEvent, DeletedCount, DerivedFile, DerivedFileKind, FileAlert, PayloadRef, SuspendReason, UseEndReason, Verdict,
};
pub use key_file::{KeyFileError, PublicKeyFile, anchor_text, parse_anchor, parse_public_key, parse_signer};
pub use payload::PayloadStore;
pub use record::{ChainHead, RecordBody, RecordHash};
pub use retention::{MIN_IDENTIFICATION_RETENTION_DAYS, RetentionError, RetentionPolicy};
pub use verify::{BadRecord, VerifyError, VerifyOptions, VerifyReport, verify_bytes, verify_file, verify_reader};
pub use writer::{AuditWriter, DEFAULT_CHECKPOINT_EVERY_RECORDS, OpenReport, RecordReceipt};
