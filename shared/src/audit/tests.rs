//! The audit log end to end: writer, verify, checkpoints, payload deletion,
//! torn tails and a kill -9 during appends. Each tamper test checks the index,
//! the byte offset and the reason `verify` gives.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ed25519_dalek::SigningKey;

use super::*;
use crate::audit::record::LineError;
use crate::authz::{AuthzDigest, UseDataKind};

const T0: u64 = 1_795_305_600_000_000;

fn signer() -> CheckpointSigner {
    CheckpointSigner {
        key_id: "ground-log-1".into(),
        key: SigningKey::from_bytes(&[21; 32]),
    }
}

fn keys() -> CheckpointKeys {
    let mut k = CheckpointKeys::new();
    k.insert("ground-log-1", signer().key.verifying_key());
    k
}

fn event(i: u64) -> AuditEvent {
    AuditEvent::Consultation {
        user_id: "anna".into(),
        what: format!("match {i}"),
    }
}

/// A log of `n` consultation records (no checkpoints) at `dir/audit.jsonl`.
fn write_log(dir: &Path, n: u64) -> PathBuf {
    let path = dir.join("audit.jsonl");
    let (mut w, _) = AuditWriter::open(&path, None, 0).unwrap();
    for i in 0..n {
        w.append(T0 + i, event(i)).unwrap();
    }
    path
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .split_inclusive('\n')
        .map(str::to_string)
        .collect()
}

fn offset_of(lines: &[String], index: usize) -> u64 {
    lines[..index].iter().map(|l| l.len() as u64).sum()
}

fn verify_err(bytes: &[u8]) -> VerifyError {
    match verify_bytes(bytes, &VerifyOptions::default()) {
        Err(AuditError::Verify(e)) => e,
        other => panic!("expected a verify error, got {other:?}"),
    }
}

#[test]
fn appended_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 5);
    let r = verify_file(&path, &VerifyOptions::default()).unwrap();
    assert_eq!(r.records, 5);
    assert_eq!(r.len_bytes, fs::metadata(&path).unwrap().len());
    assert_eq!(r.head.unwrap().seq, 4);
    assert_eq!(r.checkpoints, 0);
    assert_eq!(r.unsigned_tail_records, 5);
    assert_eq!(lines(&path).len(), 5);
}

#[test]
fn empty_log_verifies() {
    let r = verify_bytes(b"", &VerifyOptions::default()).unwrap();
    assert_eq!(r.records, 0);
    assert_eq!(r.head, None);
}

#[test]
fn edited_record_named_at_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 6);
    let mut l = lines(&path);
    l[3] = l[3].replace("match 3", "match 9");
    let e = verify_err(l.concat().as_bytes());
    assert_eq!(e.index, 3);
    assert_eq!(e.offset_bytes, offset_of(&l, 3));
    assert!(
        matches!(e.reason, BadRecord::Line(LineError::HashMismatch { .. })),
        "{e}"
    );
}

#[test]
fn edited_record_with_rehash_breaks_the_next_link() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 6);
    let mut l = lines(&path);
    // A careful forger re-encodes record 3 with a fresh hash: record 4's link no longer fits.
    let mut d = record::decode_record(l[3].as_bytes()).unwrap();
    d.body.event = event(99);
    let (line, _) = record::encode_record(&d.body);
    l[3] = String::from_utf8(line).unwrap();
    let e = verify_err(l.concat().as_bytes());
    assert_eq!(e.index, 4);
    assert_eq!(e.offset_bytes, offset_of(&l, 4));
    assert!(matches!(e.reason, BadRecord::BrokenLink { .. }), "{e}");
}

#[test]
fn deleted_record_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 6);
    let mut l = lines(&path);
    l.remove(2);
    let e = verify_err(l.concat().as_bytes());
    assert_eq!(e.index, 2);
    assert_eq!(e.offset_bytes, offset_of(&l, 2));
    assert_eq!(e.reason, BadRecord::Sequence { expected: 2, found: 3 });
}

#[test]
fn inserted_record_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 6);
    let mut l = lines(&path);
    let copy = l[1].clone();
    l.insert(4, copy);
    let e = verify_err(l.concat().as_bytes());
    assert_eq!(e.index, 4);
    assert_eq!(e.reason, BadRecord::Sequence { expected: 4, found: 1 });
}

#[test]
fn reordered_records_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 6);
    let mut l = lines(&path);
    l.swap(2, 3);
    let e = verify_err(l.concat().as_bytes());
    assert_eq!(e.index, 2);
    assert_eq!(e.reason, BadRecord::Sequence { expected: 2, found: 3 });
}

#[test]
fn renumbered_deletion_breaks_the_link() {
    // Delete record 2 and renumber the rest with fresh hashes but keep their
    // prev links: record 2 (was 3) links to the deleted record.
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 5);
    let mut l = lines(&path);
    l.remove(2);
    for (i, line) in l.iter_mut().enumerate().skip(2) {
        let mut d = record::decode_record(line.as_bytes()).unwrap();
        d.body.seq = i as u64;
        *line = String::from_utf8(record::encode_record(&d.body).0).unwrap();
    }
    let e = verify_err(l.concat().as_bytes());
    assert_eq!(e.index, 2);
    assert!(matches!(e.reason, BadRecord::BrokenLink { .. }), "{e}");
}

#[test]
fn truncation_needs_an_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 6);
    let full = verify_file(&path, &VerifyOptions::default()).unwrap();
    let anchor = full.head.unwrap();
    let l = lines(&path);
    let cut = l[..4].concat();
    // Without outside knowledge a cut log is a valid shorter log ...
    verify_bytes(cut.as_bytes(), &VerifyOptions::default()).unwrap();
    // ... with the head seen before, the cut is found.
    let opts = VerifyOptions {
        keys: None,
        anchor: Some(anchor),
    };
    let e = match verify_bytes(cut.as_bytes(), &opts) {
        Err(AuditError::Verify(e)) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(e.index, 4);
    assert!(matches!(e.reason, BadRecord::AnchorMismatch { .. }), "{e}");
    verify_file(&path, &opts).unwrap();
}

#[test]
fn checkpoints_are_written_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (mut w, _) = AuditWriter::open(&path, Some(signer()), 3).unwrap();
    for i in 0..7 {
        w.append(T0 + i, event(i)).unwrap();
    }
    // 7 records + a checkpoint after every 3: after records 2 and 5 -> indices 3 and 7.
    assert_eq!(w.records(), 9);
    let opts = VerifyOptions {
        keys: Some(&keys()),
        anchor: None,
    };
    let r = verify_file(&path, &opts).unwrap();
    assert_eq!(r.checkpoints, 2);
    assert!(r.checkpoint_signatures_checked);
    assert_eq!(r.last_checkpoint_index, Some(7));
    assert_eq!(r.unsigned_tail_records, 1);
    w.checkpoint(T0 + 100).unwrap().unwrap();
    let r = verify_file(&path, &opts).unwrap();
    assert_eq!(r.unsigned_tail_records, 0);
}

#[test]
fn rewritten_chain_fails_at_the_checkpoint() {
    // A forger rewrites record 1 and re-chains everything after it (no key):
    // the chain is consistent again, but the checkpoint signature is not.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (mut w, _) = AuditWriter::open(&path, Some(signer()), 3).unwrap();
    for i in 0..5 {
        w.append(T0 + i, event(i)).unwrap();
    }
    let l = lines(&path);
    let mut out = Vec::new();
    let mut prev = record::GENESIS_PREV;
    for (i, line) in l.iter().enumerate() {
        let mut d = record::decode_record(line.as_bytes()).unwrap();
        if i == 1 {
            d.body.event = event(77);
        }
        d.body.prev_sha256 = hex::encode(prev);
        if let AuditEvent::Checkpoint { covers_sha256_hex, .. } = &mut d.body.event {
            *covers_sha256_hex = hex::encode(prev);
        }
        let (bytes, h) = record::encode_record(&d.body);
        prev = h;
        out.extend(bytes);
    }
    // The chain alone (no keys) accepts the forgery: that is what checkpoints are for.
    verify_bytes(&out, &VerifyOptions::default()).unwrap();
    let e = match verify_bytes(
        &out,
        &VerifyOptions {
            keys: Some(&keys()),
            anchor: None,
        },
    ) {
        Err(AuditError::Verify(e)) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(e.index, 3, "the first checkpoint");
    assert!(matches!(e.reason, BadRecord::Checkpoint(_)), "{e}");
}

#[test]
fn checkpoint_with_unknown_key_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (mut w, _) = AuditWriter::open(&path, Some(signer()), 0).unwrap();
    w.append(T0, event(0)).unwrap();
    w.checkpoint(T0).unwrap();
    let e = verify_file(
        &path,
        &VerifyOptions {
            keys: Some(&CheckpointKeys::new()),
            anchor: None,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("record 1"), "{e}");
    assert!(e.to_string().contains("not known"), "{e}");
}

#[test]
fn payload_deletion_keeps_the_chain_valid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let store = PayloadStore::open(dir.path().join("payloads")).unwrap();
    let (mut w, _) = AuditWriter::open(&path, Some(signer()), 2).unwrap();
    let digest = AuthzDigest([5; 32]);
    let crop = store.put(b"\x89PNG evidence crop of subject-1").unwrap();
    w.append(
        T0,
        AuditEvent::UseStarted {
            authorization_digest: digest,
            decision_id: "U-1".into(),
            designated_subject_ids: vec!["subject-1".into()],
            urgent: true,
            started_by: "kalle".into(),
        },
    )
    .unwrap();
    w.append(
        T0 + 1,
        AuditEvent::PossibleMatch {
            authorization_digest: digest,
            match_id: 1,
            subject_id: "subject-1".into(),
            frame_time_usec: T0 + 1,
            track_id: 12,
            distance: 0.41,
            evidence_crop: Some(crop.clone()),
        },
    )
    .unwrap();
    let before = fs::read(&path).unwrap();

    // Refusal: delete the payloads, then write the receipt.
    assert!(store.delete(&crop).unwrap());
    w.append(
        T0 + 2,
        AuditEvent::DeletionReceipt {
            authorization_digest: digest,
            decision_id: "U-1".into(),
            site: "ground".into(),
            deleted: vec![DeletedCount {
                kind: UseDataKind::EvidenceCrops,
                count: 1,
            }],
            payloads: vec![crop.clone()],
            not_found: Vec::new(),
            problems: Vec::new(),
        },
    )
    .unwrap();
    w.checkpoint(T0 + 3).unwrap();

    let after = fs::read(&path).unwrap();
    assert!(after.starts_with(&before), "records are never rewritten");
    let r = verify_file(
        &path,
        &VerifyOptions {
            keys: Some(&keys()),
            anchor: None,
        },
    )
    .unwrap();
    assert_eq!(r.unsigned_tail_records, 0);
    assert!(!store.contains(&crop));
    assert!(matches!(store.get(&crop), Err(AuditError::PayloadMissing { .. })));
    // The payload bytes are nowhere in the log.
    assert!(!String::from_utf8_lossy(&after).contains("evidence crop of"));
}

#[test]
fn torn_tail_is_cut_on_reopen_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 3);
    let good_len = fs::metadata(&path).unwrap().len();
    // A crash in the middle of writing record 3.
    let (line, _) = record::encode_record(&RecordBody {
        seq: 3,
        time_usec: T0 + 3,
        prev_sha256: hex::encode([0u8; 32]),
        event: event(3),
    });
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(&line[..line.len() / 2]);
    fs::write(&path, &bytes).unwrap();

    let e = verify_err(&bytes);
    assert_eq!((e.index, e.offset_bytes), (3, good_len));
    assert_eq!(e.reason, BadRecord::Line(LineError::Torn));

    let (mut w, report) = AuditWriter::open(&path, None, 0).unwrap();
    assert_eq!(report.existing_records, 3);
    assert_eq!(report.torn_tail_bytes, (line.len() / 2) as u64);
    w.append(T0 + 10, event(10)).unwrap();
    drop(w);
    let l = lines(&path);
    assert_eq!(l.len(), 5);
    assert!(l[3].contains("torn_tail_discarded"), "{}", l[3]);
    verify_file(&path, &VerifyOptions::default()).unwrap();
}

#[test]
fn reopen_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 2);
    let (mut w, report) = AuditWriter::open(&path, None, 0).unwrap();
    assert_eq!(report.existing_records, 2);
    let receipt = w.append(T0 + 5, event(5)).unwrap();
    assert_eq!(receipt.seq, 2);
    assert_eq!(receipt.offset_bytes, offset_of(&lines(&path), 2));
    assert_eq!(verify_file(&path, &VerifyOptions::default()).unwrap().records, 3);
}

#[test]
fn writer_refuses_a_broken_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 4);
    let mut l = lines(&path);
    l[1] = l[1].replace("match 1", "match 8");
    fs::write(&path, l.concat()).unwrap();
    let e = AuditWriter::open(&path, None, 0).unwrap_err();
    match e {
        AuditError::Verify(v) => assert_eq!(v.index, 1),
        other => panic!("{other:?}"),
    }
    // Nothing was appended to it.
    assert_eq!(fs::read_to_string(&path).unwrap(), l.concat());
}

#[test]
fn one_writer_at_a_time_and_the_log_is_free_again_when_it_closes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (mut first, _) = AuditWriter::open(&path, None, 0).unwrap();
    first.append(T0, event(0)).unwrap();
    let e = AuditWriter::open(&path, None, 0).err().expect("second writer");
    assert!(matches!(e, AuditError::InUse { .. }), "{e}");
    // The refused open changed nothing: the first writer goes on, the log verifies.
    first.append(T0 + 1, event(1)).unwrap();
    drop(first);
    let (mut again, report) = AuditWriter::open(&path, None, 0).unwrap();
    assert_eq!(report.existing_records, 2);
    again.append(T0 + 2, event(2)).unwrap();
    assert_eq!(verify_file(&path, &VerifyOptions::default()).unwrap().records, 3);
}

#[test]
fn new_log_in_missing_directory_is_an_io_error_naming_it() {
    let e = AuditWriter::open("/nonexistent-dir/audit.jsonl", None, 0).unwrap_err();
    assert!(e.to_string().contains("/nonexistent-dir/audit.jsonl"), "{e}");
}

/// Env var telling [`crash_child`] where to write; unset, it does nothing.
const CRASH_CHILD_ENV: &str = "UTKIK_AUDIT_CRASH_CHILD_LOG";

/// Helper process for [`kill_9_during_appends_loses_no_acknowledged_record`]:
/// appends as fast as it can and prints `ack <seq>` after each append returned.
#[test]
#[ignore = "helper process, started by kill_9_during_appends_loses_no_acknowledged_record"]
fn crash_child() {
    let Some(path) = std::env::var_os(CRASH_CHILD_ENV) else {
        return;
    };
    let (mut w, _) = AuditWriter::open(PathBuf::from(path), Some(signer()), 10).unwrap();
    for i in 0.. {
        let r = w.append(T0 + i, event(i)).unwrap();
        println!("ack {}", r.seq);
    }
}

#[test]
fn kill_9_during_appends_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "audit::tests::crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut max_ack = None;
    let mut line = String::new();
    while max_ack.is_none_or(|m| m < 60) {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child ended early");
        if let Some(seq) = line.trim().strip_prefix("ack ") {
            max_ack = Some(seq.parse::<u64>().unwrap());
        }
    }
    // While the other process writes, nobody else may (two writers would fork the chain).
    let e = AuditWriter::open(&path, None, 0)
        .err()
        .expect("a second writer is refused");
    assert!(matches!(e, AuditError::InUse { .. }), "{e}");
    assert!(e.to_string().contains("audit.jsonl"), "{e}");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Acks already in the pipe count too.
    for l in out.lines() {
        if let Some(seq) = l.unwrap().trim().strip_prefix("ack ") {
            max_ack = Some(seq.parse().unwrap());
        }
    }
    let max_ack = max_ack.unwrap();

    // Reopening cuts at most a torn, unacknowledged tail; every acked record is there and verifies.
    let (w, report) = AuditWriter::open(&path, None, 0).unwrap();
    assert!(
        report.existing_records > max_ack,
        "acknowledged up to seq {max_ack}, log holds {} records",
        report.existing_records
    );
    drop(w);
    let r = verify_file(
        &path,
        &VerifyOptions {
            keys: Some(&keys()),
            anchor: None,
        },
    )
    .unwrap();
    assert!(r.records > max_ack);
    assert!(r.checkpoints >= 5);
}
