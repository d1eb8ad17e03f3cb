//! Target `audit_verify`: the audit-log verifier ([`verify_bytes`]) on a valid hash-chained log
//! with signed checkpoints, then edited.
//!
//! The log is built as the writer builds it ([`encode_record`], [`CheckpointSigner`]), from
//! arbitrary events; then byte edits (XOR, insert, delete) and line edits (drop, duplicate,
//! swap) are applied. Properties:
//! - the unedited log verifies, with and without an anchor at its head;
//! - an edited log is never accepted as a log that holds the original head (anchor): when the
//!   verifier accepts it, the original log is a prefix of it (records were only appended, which
//!   needs the chain hashes and a checkpoint key the fuzzer does not have);
//! - without an anchor, an accepted edited log is the original cut at a record boundary, or
//!   starts with the original; the report's record count is right;
//! - raw bytes never panic.

use arbitrary::{Arbitrary, Unstructured};
use ed25519_dalek::SigningKey;
use utkik_shared::audit::checkpoint::{CheckpointKeys, CheckpointSigner};
use utkik_shared::audit::event::AuditEvent;
use utkik_shared::audit::record::{ChainHead, GENESIS_PREV, RecordBody, encode_record};
use utkik_shared::audit::verify::{VerifyOptions, verify_bytes};

use crate::authz::{Edit, apply_edits};

#[derive(Debug, Arbitrary)]
enum Ev {
    Refused {
        field: String,
        reason: String,
    },
    Command {
        command: String,
        operator: String,
        accepted: bool,
        reason: String,
    },
    Checkpoint,
}

#[derive(Debug, Arbitrary)]
enum LineEdit {
    Drop(u8),
    Duplicate(u8),
    Swap(u8, u8),
}

enum Input {
    Raw(Vec<u8>),
    Edited {
        events: Vec<(u32, Ev)>,
        lines: Vec<LineEdit>,
        bytes: Vec<Edit>,
    },
}

#[derive(Debug, Arbitrary)]
struct EditedInput {
    events: Vec<(u32, Ev)>,
    lines: Vec<LineEdit>,
    bytes: Vec<Edit>,
}

fn signer() -> CheckpointSigner {
    CheckpointSigner {
        key_id: "fuzz-ground".into(),
        key: SigningKey::from_bytes(&[0x42; 32]),
    }
}

/// The log's lines (each with its newline) and its head.
fn build(events: &[(u32, Ev)]) -> (Vec<Vec<u8>>, Option<ChainHead>) {
    let signer = signer();
    let mut lines = Vec::new();
    let mut prev = GENESIS_PREV;
    let mut head: Option<ChainHead> = None;
    let mut time = 1_700_000_000_000_000u64;
    for (dt, ev) in events {
        time += u64::from(*dt);
        let event = match ev {
            Ev::Refused { field, reason } => AuditEvent::AuthorizationRefused {
                field: field.clone(),
                reason: reason.clone(),
            },
            Ev::Command {
                command,
                operator,
                accepted,
                reason,
            } => AuditEvent::AuthzCommand {
                command: command.clone(),
                operator_id: operator.clone(),
                authorization_digest: None,
                accepted: *accepted,
                reason: reason.clone(),
                system_id: None,
            },
            Ev::Checkpoint => match &head {
                Some(h) => signer.checkpoint_event(h),
                None => continue,
            },
        };
        let seq = lines.len() as u64;
        let (line, hash) = encode_record(&RecordBody {
            seq,
            time_usec: time,
            prev_sha256: hex::encode(prev),
            event,
        });
        lines.push(line);
        prev = hash;
        head = Some(ChainHead { seq, sha256: hash });
    }
    (lines, head)
}

/// The target. First byte odd: the rest is a log file as is (seeds from real logs); even: the
/// rest builds a log and edits it ([`EditedInput`]).
pub fn verify(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let input = if mode & 1 == 1 {
        Input::Raw(rest.to_vec())
    } else {
        let Ok(e) = EditedInput::arbitrary_take_rest(Unstructured::new(rest)) else {
            return;
        };
        Input::Edited {
            events: e.events,
            lines: e.lines,
            bytes: e.bytes,
        }
    };
    let mut keys = CheckpointKeys::new();
    keys.insert("fuzz-ground", signer().key.verifying_key());
    let plain = VerifyOptions {
        keys: Some(&keys),
        anchor: None,
    };
    let (events, line_edits, byte_edits) = match input {
        Input::Raw(bytes) => {
            let _ = verify_bytes(&bytes, &plain);
            let _ = verify_bytes(&bytes, &VerifyOptions::default());
            return;
        }
        Input::Edited { events, lines, bytes } => (events, lines, bytes),
    };
    let (lines, head) = build(&events);
    let original: Vec<u8> = lines.concat();
    let anchored = VerifyOptions {
        keys: Some(&keys),
        anchor: head,
    };
    let report = verify_bytes(&original, &anchored).expect("the unedited log verifies");
    assert_eq!(report.records, lines.len() as u64);
    assert_eq!(report.head, head);

    let mut edited_lines = lines.clone();
    for e in &line_edits {
        let n = edited_lines.len();
        if n == 0 {
            break;
        }
        match *e {
            LineEdit::Drop(i) => {
                edited_lines.remove(i as usize % n);
            }
            LineEdit::Duplicate(i) => {
                let l = edited_lines[i as usize % n].clone();
                edited_lines.insert(i as usize % n, l);
            }
            LineEdit::Swap(a, b) => edited_lines.swap(a as usize % n, b as usize % n),
        }
    }
    let edited = apply_edits(&edited_lines.concat(), &byte_edits);

    if let Ok(r) = verify_bytes(&edited, &anchored) {
        assert!(
            edited.starts_with(&original),
            "an edited log was accepted as holding the original head ({r:?})"
        );
    }
    if let Ok(r) = verify_bytes(&edited, &plain) {
        let is_cut = original.starts_with(&edited)
            && (edited.is_empty() || (edited.ends_with(b"\n") && r.records as usize <= lines.len()));
        if is_cut {
            assert_eq!(
                lines[..r.records as usize].concat(),
                edited,
                "the report counts the records of the cut log"
            );
        } else {
            assert!(edited.starts_with(&original), "an edited log was accepted ({r:?})");
        }
    }
}
