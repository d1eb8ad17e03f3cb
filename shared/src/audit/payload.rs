//! The payload store: biometric payloads (evidence crops, templates) kept
//! apart from the audit records, one file per payload named by its SHA-256.
//! Records refer to payloads by [`PayloadRef`]; deleting a payload (a refused
//! urgent use, retention) removes the file and leaves every record, and so the
//! hash chain, as it was (LAW.md sections 3 and 5).
//!
//! Writes are durable before they return: the payload goes to a temporary
//! file, is fsynced, renamed to its final name, and the directory is fsynced.
//! Deletion removes the file and fsyncs the directory. (Removing a file does
//! not overwrite its blocks on the disk; full-disk encryption is what makes
//! deleted data unrecoverable.)
//!
//! Content addressing deduplicates: two identical payloads are one file. Data
//! of different uses is never byte-identical in practice (crops differ by
//! frame), but a caller that deletes by reference deletes the bytes for every
//! record that names them.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::AuditError;
use super::event::PayloadRef;

/// A directory of payloads.
#[derive(Debug, Clone)]
pub struct PayloadStore {
    dir: PathBuf,
}

fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(AuditError::io(dir))
}

fn check_ref(r: &PayloadRef) -> Result<(), AuditError> {
    let ok = r.sha256_hex.len() == 64 && r.sha256_hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok {
        Ok(())
    } else {
        Err(AuditError::BadPayloadRef(r.sha256_hex.clone()))
    }
}

impl PayloadRef {
    /// The reference of `bytes` (what [`PayloadStore::put`] returns for them): lets a record
    /// name a payload, e.g. evidence put in a report, whether or not it is in a store here.
    pub fn of(bytes: &[u8]) -> Self {
        PayloadRef {
            sha256_hex: hex::encode(Sha256::digest(bytes)),
            len_bytes: bytes.len() as u64,
        }
    }
}

impl PayloadStore {
    /// Opens (creating if needed) the store in `dir`.
    ///
    /// # Errors
    /// [`AuditError::Io`] naming the directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, AuditError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(AuditError::io(&dir))?;
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the payload's file is (or was).
    ///
    /// # Errors
    /// [`AuditError::BadPayloadRef`] when the reference is not a hash (so it
    /// can never name a path outside the store).
    pub fn path_of(&self, r: &PayloadRef) -> Result<PathBuf, AuditError> {
        check_ref(r)?;
        Ok(self.dir.join(&r.sha256_hex))
    }

    /// Stores `bytes` durably and returns the reference to put in a record.
    ///
    /// # Errors
    /// [`AuditError::Io`].
    pub fn put(&self, bytes: &[u8]) -> Result<PayloadRef, AuditError> {
        let r = PayloadRef::of(bytes);
        let path = self.path_of(&r)?;
        if path.exists() {
            return Ok(r);
        }
        let tmp = self.dir.join(format!(".{}.tmp", r.sha256_hex));
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(AuditError::io(&tmp))?;
        f.write_all(bytes).map_err(AuditError::io(&tmp))?;
        f.sync_all().map_err(AuditError::io(&tmp))?;
        drop(f);
        fs::rename(&tmp, &path).map_err(AuditError::io(&path))?;
        sync_dir(&self.dir)?;
        Ok(r)
    }

    /// Reads a payload and checks its hash.
    ///
    /// # Errors
    /// [`AuditError::PayloadMissing`] (e.g. deleted), [`AuditError::PayloadCorrupt`], [`AuditError::Io`].
    pub fn get(&self, r: &PayloadRef) -> Result<Vec<u8>, AuditError> {
        let path = self.path_of(r)?;
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AuditError::PayloadMissing {
                    sha256_hex: r.sha256_hex.clone(),
                });
            }
            Err(source) => return Err(AuditError::Io { path, source }),
        };
        let computed = hex::encode(Sha256::digest(&bytes));
        if computed != r.sha256_hex {
            return Err(AuditError::PayloadCorrupt {
                sha256_hex: r.sha256_hex.clone(),
                computed,
            });
        }
        Ok(bytes)
    }

    /// Whether the payload's file exists.
    pub fn contains(&self, r: &PayloadRef) -> bool {
        self.path_of(r).is_ok_and(|p| p.exists())
    }

    /// Deletes a payload durably. Returns whether it was there.
    ///
    /// # Errors
    /// [`AuditError::Io`], [`AuditError::BadPayloadRef`].
    pub fn delete(&self, r: &PayloadRef) -> Result<bool, AuditError> {
        let path = self.path_of(r)?;
        match fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&self.dir)?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(AuditError::Io { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = PayloadStore::open(dir.path().join("payloads")).unwrap();
        let r = store.put(b"crop bytes").unwrap();
        assert_eq!(r.len_bytes, 10);
        assert_eq!(store.get(&r).unwrap(), b"crop bytes");
        assert!(store.contains(&r));
        assert!(store.delete(&r).unwrap());
        assert!(!store.contains(&r));
        assert!(!store.path_of(&r).unwrap().exists(), "the file is gone");
        assert!(matches!(store.get(&r), Err(AuditError::PayloadMissing { .. })));
        assert!(!store.delete(&r).unwrap(), "second delete finds nothing");
        // No temporary files left behind.
        assert_eq!(fs::read_dir(store.dir()).unwrap().count(), 0);
    }

    #[test]
    fn corrupt_payload_detected() {
        let dir = tempfile::tempdir().unwrap();
        let store = PayloadStore::open(dir.path()).unwrap();
        let r = store.put(b"template").unwrap();
        fs::write(store.path_of(&r).unwrap(), b"templatf").unwrap();
        assert!(matches!(store.get(&r), Err(AuditError::PayloadCorrupt { .. })));
    }

    #[test]
    fn reference_cannot_escape_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let store = PayloadStore::open(dir.path()).unwrap();
        let evil = PayloadRef {
            sha256_hex: "../../etc/passwd".into(),
            len_bytes: 0,
        };
        assert!(matches!(store.delete(&evil), Err(AuditError::BadPayloadRef(_))));
        assert!(!store.contains(&evil));
    }
}
