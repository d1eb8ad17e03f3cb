//! The ground station's audit log: an [`AuditWriter`] (hash chain, fsync, signed checkpoints)
//! plus the [`PayloadStore`] for evidence crops, in one directory (`--audit-dir`):
//!
//! ```text
//! <audit-dir>/ground-audit.jsonl   records (utkik_shared::audit format)
//! <audit-dir>/payloads/<sha256>    evidence crops, referenced from the records
//! ```
//! The checkpoint key file (`--audit-key`) is JSON:
//! `{"format":"utkik-audit-key/1","key_id":"...","seed_hex":"<32 bytes hex>"}`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use serde::Deserialize;
use utkik_shared::audit::erase::{self, AgedDir, ErasureRun};
use utkik_shared::audit::{
    AuditError, AuditEvent, AuditWriter, CheckpointKeys, CheckpointSigner, PayloadRef, PayloadStore, RecordReceipt,
    RetentionPolicy,
};

/// File name of the log inside the audit directory.
pub const AUDIT_FILE: &str = "ground-audit.jsonl";
/// Records between automatic checkpoints.
pub const CHECKPOINT_EVERY_RECORDS: u64 = 20;
/// `format` of a checkpoint key file.
pub const AUDIT_KEY_FORMAT: &str = "utkik-audit-key/1";

/// Wall clock, µs since the Unix epoch (UTC).
pub fn wall_clock_usec() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditKeyFile {
    format: String,
    key_id: String,
    seed_hex: String,
    #[serde(default)]
    #[allow(dead_code)]
    note: String,
}

/// A checkpoint key file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: audit key file: {reason}")]
pub struct AuditKeyError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

/// Reads a checkpoint signing key file (a secret file: mode `0600`, `utkik_shared::secret_file`).
///
/// # Errors
/// [`AuditKeyError`] naming the file and the field.
pub fn load_checkpoint_signer(path: &Path) -> Result<CheckpointSigner, AuditKeyError> {
    let err = |reason: String| AuditKeyError {
        path: path.to_path_buf(),
        reason,
    };
    // A secret (the ed25519 seed): refused when group or others may read it.
    let bytes = utkik_shared::secret_file::read_secret(path).map_err(|e| err(e.to_string()))?;
    let f: AuditKeyFile = serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))?;
    if f.format != AUDIT_KEY_FORMAT {
        return Err(err(format!(
            "field `format`: `{}` is not `{AUDIT_KEY_FORMAT}`",
            f.format
        )));
    }
    let seed: [u8; 32] = hex::decode(&f.seed_hex)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| err("field `seed_hex`: 32 bytes of hex expected".into()))?;
    Ok(CheckpointSigner {
        key_id: f.key_id,
        key: SigningKey::from_bytes(&seed),
    })
}

/// The public half of a checkpoint key file, for verification.
///
/// # Errors
/// [`AuditKeyError`].
pub fn load_checkpoint_keys(path: &Path) -> Result<CheckpointKeys, AuditKeyError> {
    let s = load_checkpoint_signer(path)?;
    let mut keys = CheckpointKeys::new();
    keys.insert(s.key_id.clone(), s.key.verifying_key());
    Ok(keys)
}

/// The ground station's audit log and payload store.
#[derive(Debug)]
pub struct GroundAudit {
    writer: AuditWriter,
    payloads: PayloadStore,
}

impl GroundAudit {
    /// Opens (creating) the log and payload store in `dir`. An existing log must verify.
    ///
    /// # Errors
    /// [`AuditError`] (I/O, or the existing log does not verify).
    pub fn open(dir: &Path, signer: Option<CheckpointSigner>) -> Result<Self, AuditError> {
        std::fs::create_dir_all(dir).map_err(|source| AuditError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let (writer, _) = AuditWriter::open(dir.join(AUDIT_FILE), signer, CHECKPOINT_EVERY_RECORDS)?;
        let payloads = PayloadStore::open(dir.join("payloads"))?;
        Ok(Self { writer, payloads })
    }

    /// Appends a record; when this returns `Ok` it is on disk.
    ///
    /// # Errors
    /// [`AuditError::Io`]: the action it records must not count as done.
    pub fn record(&mut self, now_usec: u64, event: AuditEvent) -> Result<RecordReceipt, AuditError> {
        self.writer.append(now_usec, event)
    }

    /// A signed checkpoint over everything so far (no-op without a key).
    ///
    /// # Errors
    /// [`AuditError::Io`].
    pub fn checkpoint(&mut self, now_usec: u64) -> Result<(), AuditError> {
        self.writer.checkpoint(now_usec).map(|_| ())
    }

    /// Stores a biometric payload apart from the records.
    ///
    /// # Errors
    /// [`AuditError::Io`].
    pub fn put_payload(&self, bytes: &[u8]) -> Result<PayloadRef, AuditError> {
        self.payloads.put(bytes)
    }

    /// Deletes a payload; whether it was there.
    ///
    /// # Errors
    /// [`AuditError::Io`].
    pub fn delete_payload(&self, r: &PayloadRef) -> Result<bool, AuditError> {
        self.payloads.delete(r)
    }

    /// The payload store.
    pub fn payloads(&self) -> &PayloadStore {
        &self.payloads
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        self.writer.path()
    }

    /// Applies the retention policy to the payload store and to `dirs` (recordings, exports):
    /// what is past its period is deleted and each deletion is an erasure record in this log
    /// (`utkik_shared::audit::erase`).
    ///
    /// # Errors
    /// [`AuditError`]: the log cannot be read or an erasure record not written.
    pub fn apply_retention(
        &mut self,
        policy: &RetentionPolicy,
        dirs: &[AgedDir],
        now_usec: u64,
    ) -> Result<ErasureRun, AuditError> {
        erase::apply(policy, &mut self.writer, Some(&self.payloads), dirs, now_usec)
    }

    /// Records in the log.
    pub fn records(&self) -> u64 {
        self.writer.records()
    }
}
