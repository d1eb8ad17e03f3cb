//! The audit record on disk: one JSON line per record,
//!
//! ```text
//! {"sha256":"<64 hex>","body":{"seq":0,"time_usec":..,"prev_sha256":"<64 hex>","event":{..}}}\n
//! ```
//!
//! Why JSON lines: an auditor can read and grep the log with ordinary tools,
//! and a record torn by a crash is a last line without its newline. Why this
//! exact layout: `sha256` is the SHA-256 of the `body` bytes *exactly as they
//! stand in the file* (the layout lets a reader cut them out without
//! re-encoding), and `body.prev_sha256` is the previous record's `sha256`
//! (zeros for the first). So:
//! - editing a record without fixing its `sha256` fails at that record;
//! - editing it and fixing its `sha256` breaks the next record's `prev_sha256`;
//! - deleting, inserting or reordering records breaks `seq` (0, 1, 2 ...) or the link.
//!
//! The body must also be the canonical encoding of its parsed value (what the
//! writer produces), so there is exactly one way to write a given record.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::event::AuditEvent;

const PREFIX: &[u8] = b"{\"sha256\":\"";
const MIDDLE: &[u8] = b"\",\"body\":";
const SUFFIX: &[u8] = b"}\n";
/// Hex digits of a SHA-256.
const HASH_HEX_LEN: usize = 64;

/// A SHA-256 hash of a record body.
pub type RecordHash = [u8; 32];

/// The `prev_sha256` of the first record.
pub const GENESIS_PREV: RecordHash = [0; 32];

/// The hashed part of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    /// Position in the log: 0, 1, 2, ... without gaps.
    pub seq: u64,
    /// When the event happened (Unix epoch, UTC, µs).
    pub time_usec: u64,
    /// `sha256` of the previous record, hex; zeros for the first.
    pub prev_sha256: String,
    /// What happened.
    pub event: AuditEvent,
}

/// The last record of a chain: what the next record links to, and what a
/// checkpoint signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHead {
    /// Its sequence number.
    pub seq: u64,
    /// Its hash.
    pub sha256: RecordHash,
}

/// Encodes one record line (with its newline) and returns it with its hash.
pub fn encode_record(body: &RecordBody) -> (Vec<u8>, RecordHash) {
    let body_bytes = serde_json::to_vec(body).expect("a record body always serializes");
    let hash: RecordHash = Sha256::digest(&body_bytes).into();
    let mut line = Vec::with_capacity(PREFIX.len() + HASH_HEX_LEN + MIDDLE.len() + body_bytes.len() + SUFFIX.len());
    line.extend_from_slice(PREFIX);
    line.extend_from_slice(hex::encode(hash).as_bytes());
    line.extend_from_slice(MIDDLE);
    line.extend_from_slice(&body_bytes);
    line.extend_from_slice(SUFFIX);
    (line, hash)
}

/// Why a line is not a well-formed record (before any chain check).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// No newline at the end: the last record was torn by a crash.
    #[error("torn record: no newline at the end (a crash during the write)")]
    Torn,
    /// The line does not have the record layout.
    #[error("not a record line: {0}")]
    Layout(&'static str),
    /// The stored hash does not match the body bytes.
    #[error("stored sha256 {stored} does not match the body (computes to {computed}): the record was edited")]
    HashMismatch {
        /// The hash written in the line.
        stored: String,
        /// The hash of the body as it is.
        computed: String,
    },
    /// The body is not a record body.
    #[error("body is not a record: {0}")]
    Body(String),
    /// The body parses but is not in canonical form.
    #[error("body is not in canonical form (re-encoded by something other than the writer)")]
    NotCanonical,
}

/// A parsed record line.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedRecord {
    /// The body.
    pub body: RecordBody,
    /// Its hash (checked against the stored one).
    pub sha256: RecordHash,
}

/// Decodes one line (including its trailing newline).
///
/// # Errors
/// [`LineError`] saying what is wrong.
pub fn decode_record(line: &[u8]) -> Result<DecodedRecord, LineError> {
    let Some(line) = line.strip_suffix(b"\n") else {
        return Err(LineError::Torn);
    };
    let rest = line
        .strip_prefix(PREFIX)
        .ok_or(LineError::Layout("does not start with {\"sha256\":\""))?;
    if rest.len() < HASH_HEX_LEN {
        return Err(LineError::Layout("too short"));
    }
    let (stored_hex, rest) = rest.split_at(HASH_HEX_LEN);
    let stored_hex = std::str::from_utf8(stored_hex).map_err(|_| LineError::Layout("sha256 is not text"))?;
    let rest = rest
        .strip_prefix(MIDDLE)
        .ok_or(LineError::Layout("no \",\"body\": after the hash"))?;
    let body_bytes = rest
        .strip_suffix(b"}")
        .ok_or(LineError::Layout("does not end with }"))?;
    let computed: RecordHash = Sha256::digest(body_bytes).into();
    if stored_hex != hex::encode(computed) {
        return Err(LineError::HashMismatch {
            stored: stored_hex.to_string(),
            computed: hex::encode(computed),
        });
    }
    let body: RecordBody = serde_json::from_slice(body_bytes).map_err(|e| LineError::Body(e.to_string()))?;
    if serde_json::to_vec(&body).map_err(|e| LineError::Body(e.to_string()))? != body_bytes {
        return Err(LineError::NotCanonical);
    }
    Ok(DecodedRecord { body, sha256: computed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> RecordBody {
        RecordBody {
            seq: 3,
            time_usec: 1_700_000_000_000_000,
            prev_sha256: hex::encode([7u8; 32]),
            event: AuditEvent::Consultation {
                user_id: "anna".into(),
                what: "match 4".into(),
            },
        }
    }

    #[test]
    fn round_trip() {
        let (line, hash) = encode_record(&body());
        assert_eq!(line.last(), Some(&b'\n'));
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
        let d = decode_record(&line).unwrap();
        assert_eq!(d.body, body());
        assert_eq!(d.sha256, hash);
        // The line is plain JSON too.
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["body"]["seq"], 3);
    }

    #[test]
    fn hand_annotated_fixture() {
        // The exact bytes of a record; pins the format for other readers.
        let b = RecordBody {
            seq: 0,
            time_usec: 1,
            prev_sha256: hex::encode(GENESIS_PREV),
            event: AuditEvent::Consultation {
                user_id: "u".into(),
                what: "w".into(),
            },
        };
        let (line, hash) = encode_record(&b);
        let body = format!(
            r#"{{"seq":0,"time_usec":1,"prev_sha256":"{}","event":{{"kind":"consultation","user_id":"u","what":"w"}}}}"#,
            "0".repeat(64)
        );
        let expect_hash: RecordHash = Sha256::digest(body.as_bytes()).into();
        assert_eq!(hash, expect_hash);
        let expect = format!(r#"{{"sha256":"{}","body":{body}}}"#, hex::encode(expect_hash)) + "\n";
        assert_eq!(String::from_utf8(line).unwrap(), expect);
    }

    #[test]
    fn edited_body_detected() {
        let (line, _) = encode_record(&body());
        let edited = String::from_utf8(line).unwrap().replace("match 4", "match 5");
        assert!(matches!(
            decode_record(edited.as_bytes()),
            Err(LineError::HashMismatch { .. })
        ));
    }

    #[test]
    fn torn_line_detected() {
        let (line, _) = encode_record(&body());
        assert_eq!(decode_record(&line[..line.len() - 1]), Err(LineError::Torn));
        assert_eq!(decode_record(&line[..10]), Err(LineError::Torn));
    }

    #[test]
    fn non_canonical_body_detected() {
        // Same values, extra space: hash matches (it is computed over the bytes) but the form is not the writer's.
        let body_bytes = serde_json::to_vec(&body()).unwrap();
        let spaced = String::from_utf8(body_bytes).unwrap().replacen(",", ", ", 1);
        let hash = hex::encode(Sha256::digest(spaced.as_bytes()));
        let line = format!(r#"{{"sha256":"{hash}","body":{spaced}}}"#) + "\n";
        assert_eq!(decode_record(line.as_bytes()), Err(LineError::NotCanonical));
    }

    #[test]
    fn garbage_is_layout_error() {
        assert!(matches!(decode_record(b"hello\n"), Err(LineError::Layout(_))));
        assert!(matches!(decode_record(b"\n"), Err(LineError::Layout(_))));
    }
}
