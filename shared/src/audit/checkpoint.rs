//! Signed checkpoints. The hash chain alone shows that records fit together,
//! but whoever can write the file could rewrite the whole chain from some
//! record on. A checkpoint is a record whose event signs (ed25519) the
//! sequence number and hash of the record before it; rewriting anything
//! before a checkpoint then needs the log's signing key. Rewriting *after*
//! the last checkpoint, or cutting the log back to a checkpoint, needs an
//! outside reference: [`super::verify::VerifyOptions::anchor`] takes a head the
//! auditor saw before (e.g. the last checkpoint the ground station received).
//!
//! Signed bytes: [`CHECKPOINT_CONTEXT`] ‖ seq (u64 big-endian) ‖ hash (32 bytes).

use std::collections::BTreeMap;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::event::AuditEvent;
use super::record::ChainHead;

/// Prefix of the signed bytes (domain separation from authorization signatures).
pub const CHECKPOINT_CONTEXT: &[u8] = b"utkik-audit-checkpoint/1\n";

/// The bytes a checkpoint over `head` signs.
pub fn checkpoint_message(head: &ChainHead) -> Vec<u8> {
    let mut m = CHECKPOINT_CONTEXT.to_vec();
    m.extend_from_slice(&head.seq.to_be_bytes());
    m.extend_from_slice(&head.sha256);
    m
}

/// The key a log writer signs checkpoints with.
#[derive(Debug, Clone)]
pub struct CheckpointSigner {
    /// Id recorded in each checkpoint, looked up in [`CheckpointKeys`] by verifiers.
    pub key_id: String,
    /// The secret key.
    pub key: SigningKey,
}

impl CheckpointSigner {
    /// The checkpoint event over `head`.
    pub fn checkpoint_event(&self, head: &ChainHead) -> AuditEvent {
        let sig = self.key.sign(&checkpoint_message(head));
        AuditEvent::Checkpoint {
            key_id: self.key_id.clone(),
            covers_seq: head.seq,
            covers_sha256_hex: hex::encode(head.sha256),
            signature_ed25519_hex: hex::encode(sig.to_bytes()),
        }
    }
}

/// Public keys of log writers, by key id, for verification.
#[derive(Debug, Clone, Default)]
pub struct CheckpointKeys {
    keys: BTreeMap<String, VerifyingKey>,
}

impl CheckpointKeys {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key (replacing one with the same id).
    pub fn insert(&mut self, key_id: impl Into<String>, key: VerifyingKey) {
        self.keys.insert(key_id.into(), key);
    }

    /// The key with this id.
    pub fn get(&self, key_id: &str) -> Option<&VerifyingKey> {
        self.keys.get(key_id)
    }
}

/// Checks a checkpoint's signature over `head`.
///
/// # Errors
/// A message saying why it does not verify.
pub(crate) fn verify_checkpoint(
    keys: &CheckpointKeys,
    key_id: &str,
    head: &ChainHead,
    signature_hex: &str,
) -> Result<(), String> {
    let key = keys
        .get(key_id)
        .ok_or_else(|| format!("checkpoint key `{key_id}` is not known"))?;
    let bytes = hex::decode(signature_hex).map_err(|e| format!("signature is not hex: {e}"))?;
    let arr: [u8; 64] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| format!("a signature is 64 bytes, got {}", bytes.len()))?;
    key.verify_strict(&checkpoint_message(head), &Signature::from_bytes(&arr))
        .map_err(|_| format!("checkpoint signature does not verify with key `{key_id}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let signer = CheckpointSigner {
            key_id: "log-1".into(),
            key: SigningKey::from_bytes(&[3; 32]),
        };
        let mut keys = CheckpointKeys::new();
        keys.insert("log-1", signer.key.verifying_key());
        let head = ChainHead {
            seq: 41,
            sha256: [9; 32],
        };
        let AuditEvent::Checkpoint {
            key_id,
            signature_ed25519_hex,
            ..
        } = signer.checkpoint_event(&head)
        else {
            panic!("not a checkpoint")
        };
        verify_checkpoint(&keys, &key_id, &head, &signature_ed25519_hex).unwrap();
        let other = ChainHead { seq: 42, ..head };
        assert!(verify_checkpoint(&keys, &key_id, &other, &signature_ed25519_hex).is_err());
        assert!(verify_checkpoint(&CheckpointKeys::new(), &key_id, &head, &signature_ed25519_hex).is_err());
    }
}
