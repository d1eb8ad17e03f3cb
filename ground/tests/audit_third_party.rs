//! Audit logs checked as a third party would (LAW.md 5.4), through the real binary:
//! `audit-public-key` hands out the public half of a checkpoint key, `verify-audit
//! --public-key` needs nothing secret and `--anchor` catches a log cut back to an earlier
//! checkpoint (which verifies on its own), `reconcile` reads a mission's two logs together.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ed25519_dalek::SigningKey;
use utkik_shared::audit::{AuditEvent, AuditWriter, CheckpointSigner, DeletedCount, PayloadRef};
use utkik_shared::authz::{AuthzDigest, UseDataKind};

const T0: u64 = 1_798_761_600_000_000;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_utkik-ground"))
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    bin().args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A secret checkpoint key file (mode 0600, as a secret must be).
fn secret_key_file(dir: &Path, name: &str, seed: u8) -> PathBuf {
    let p = dir.join(name);
    let json = format!(
        r#"{{"format":"utkik-audit-key/1","key_id":"drone-7-audit","seed_hex":"{}","note":"test"}}"#,
        hex::encode([seed; 32])
    );
    std::fs::write(&p, json).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    p
}

fn signer(seed: u8) -> CheckpointSigner {
    CheckpointSigner {
        key_id: "drone-7-audit".into(),
        key: SigningKey::from_bytes(&[seed; 32]),
    }
}

fn consult(i: u64) -> AuditEvent {
    AuditEvent::Consultation {
        user_id: "anna".into(),
        what: format!("look {i}"),
    }
}

/// Byte length of the log up to and including record `seq`.
fn len_through(log: &Path, seq: usize) -> usize {
    let bytes = std::fs::read(log).unwrap();
    bytes
        .split_inclusive(|&b| b == b'\n')
        .take(seq + 1)
        .map(<[u8]>::len)
        .sum()
}

#[test]
fn a_log_verifies_with_the_public_key_alone_and_a_truncated_one_fails_with_an_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("onboard-audit.log");
    // A checkpoint after every 10 records: at seq 10, 21, 32.
    let (mut w, _) = AuditWriter::open(&log, Some(signer(7)), 10).unwrap();
    for i in 0..30 {
        w.append(T0 + i, consult(i)).unwrap();
    }
    drop(w);
    let secret = secret_key_file(dir.path(), "audit.key.json", 7);
    let public = dir.path().join("audit.pub.json");
    let o = run(&[
        "audit-public-key".as_ref(),
        "--key".as_ref(),
        secret.as_os_str(),
        "-o".as_ref(),
        public.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let pub_text = std::fs::read_to_string(&public).unwrap();
    assert!(
        !pub_text.contains(&hex::encode([7u8; 32])),
        "no seed in the public file"
    );

    // Public key alone: OK, signatures checked, and the anchor to note down.
    let o = run(&[
        "verify-audit".as_ref(),
        log.as_os_str(),
        "--public-key".as_ref(),
        public.as_os_str(),
    ]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("signatures checked with the public key"), "{out}");
    let anchor = out
        .lines()
        .find_map(|l| l.split("verify later with --anchor): ").nth(1))
        .expect("anchor printed")
        .trim()
        .to_string();
    assert!(anchor.starts_with("32:"), "the last checkpoint is record 32: {anchor}");

    // The secret file is not a public key (nobody hands out a seed and has it work).
    let o = run(&[
        "verify-audit".as_ref(),
        log.as_os_str(),
        "--public-key".as_ref(),
        secret.as_os_str(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("SECRET"), "{}", text(&o));

    // Cut back to the checkpoint at record 21: still a valid log on its own...
    let cut = dir.path().join("cut.log");
    let bytes = std::fs::read(&log).unwrap();
    std::fs::write(&cut, &bytes[..len_through(&log, 21)]).unwrap();
    let o = run(&[
        "verify-audit".as_ref(),
        cut.as_os_str(),
        "--public-key".as_ref(),
        public.as_os_str(),
    ]);
    assert!(
        o.status.success(),
        "a cut-back log verifies without an anchor: {}",
        text(&o)
    );
    // ...but not with the anchor noted down earlier.
    let o = run(&[
        "verify-audit".as_ref(),
        cut.as_os_str(),
        "--public-key".as_ref(),
        public.as_os_str(),
        "--anchor".as_ref(),
        anchor.as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("anchor record 32"), "{}", text(&o));
    // The whole log holds its anchor.
    let o = run(&[
        "verify-audit".as_ref(),
        log.as_os_str(),
        "--public-key".as_ref(),
        public.as_os_str(),
        "--anchor".as_ref(),
        anchor.as_ref(),
    ]);
    assert!(o.status.success(), "{}", text(&o));

    // A log rewritten by someone with another key under the same key id fails at its first
    // checkpoint.
    let forged = dir.path().join("forged.log");
    let (mut w, _) = AuditWriter::open(&forged, Some(signer(8)), 10).unwrap();
    for i in 0..12 {
        w.append(T0 + i, consult(i)).unwrap();
    }
    drop(w);
    let o = run(&[
        "verify-audit".as_ref(),
        forged.as_os_str(),
        "--public-key".as_ref(),
        public.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("record 10"), "{}", text(&o));

    // With a public key, a log with no checkpoint at all vouches for nothing.
    let bare = dir.path().join("bare.log");
    let (mut w, _) = AuditWriter::open(&bare, None, 0).unwrap();
    w.append(T0, consult(0)).unwrap();
    drop(w);
    let o = run(&[
        "verify-audit".as_ref(),
        bare.as_os_str(),
        "--public-key".as_ref(),
        public.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("no signed checkpoint"), "{}", text(&o));
}

const USE: AuthzDigest = AuthzDigest([0x5a; 32]);

fn crop(id: u32) -> PayloadRef {
    PayloadRef::of(&[0xff, 0xd8, id as u8, 0xff, 0xd9])
}

/// One side's log of an urgent use with matches 5 and 6, refused; its receipt deletes the
/// evidence of `deleted` matches.
fn write_side(path: &Path, site: &str, deleted: &[u32]) {
    let (mut w, _) = AuditWriter::open(path, Some(signer(7)), 5).unwrap();
    w.append(
        T0,
        AuditEvent::UseStarted {
            authorization_digest: USE,
            decision_id: "U-1".into(),
            designated_subject_ids: vec!["s1".into()],
            urgent: true,
            started_by: "cecilia".into(),
        },
    )
    .unwrap();
    for id in [5, 6] {
        w.append(
            T0 + u64::from(id),
            AuditEvent::PossibleMatch {
                authorization_digest: USE,
                match_id: id,
                subject_id: "s1".into(),
                frame_time_usec: T0,
                track_id: 3,
                distance: 0.41,
                evidence_crop: Some(crop(id)),
            },
        )
        .unwrap();
    }
    w.append(
        T0 + 10,
        AuditEvent::UrgentRefused {
            authorization_digest: USE,
            recorded_by: "cecilia".into(),
        },
    )
    .unwrap();
    w.append(
        T0 + 11,
        AuditEvent::DeletionReceipt {
            authorization_digest: USE,
            decision_id: "U-1".into(),
            site: site.into(),
            deleted: vec![DeletedCount {
                kind: UseDataKind::Matches,
                count: 2,
            }],
            payloads: deleted.iter().map(|&id| crop(id)).collect(),
            not_found: Vec::new(),
            problems: Vec::new(),
        },
    )
    .unwrap();
    w.checkpoint(T0 + 12).unwrap();
}

#[test]
fn reconcile_finds_a_match_deleted_on_one_side_only() {
    let dir = tempfile::tempdir().unwrap();
    let public = dir.path().join("pub.json");
    let secret = secret_key_file(dir.path(), "k.json", 7);
    assert!(
        run(&[
            "audit-public-key".as_ref(),
            "--key".as_ref(),
            secret.as_os_str(),
            "-o".as_ref(),
            public.as_os_str()
        ])
        .status
        .success()
    );
    let onboard = dir.path().join("onboard-audit.log");
    let ground = dir.path().join("ground-audit.jsonl");
    write_side(&onboard, "onboard", &[5, 6]);
    write_side(&ground, "ground", &[5, 6]);
    let reconcile = |on: &Path, gr: &Path| {
        run(&[
            "reconcile".as_ref(),
            "--onboard".as_ref(),
            on.as_os_str(),
            "--ground".as_ref(),
            gr.as_os_str(),
            "--public-key".as_ref(),
            public.as_os_str(),
        ])
    };
    let o = reconcile(&onboard, &ground);
    assert!(o.status.success(), "the same story agrees: {}", text(&o));
    assert!(text(&o).contains("AGREE"), "{}", text(&o));

    // The ground kept match 5's evidence: found, named, exit 1.
    let ground_kept = dir.path().join("ground-kept.jsonl");
    write_side(&ground_kept, "ground", &[6]);
    let o = reconcile(&onboard, &ground_kept);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("possible match 5 of refused use")
            && out.contains("deleted in the onboard log but not in the ground log"),
        "{out}"
    );
    assert!(!out.contains("possible match 6 of refused use"), "{out}");

    // A log that does not verify is an error (exit 2), not a disagreement.
    let mut bytes = std::fs::read(&ground).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::write(&ground, bytes).unwrap();
    let o = reconcile(&onboard, &ground);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("does not verify"), "{}", text(&o));
}
