//! A refused urgent use takes with it, at the ground, the files made from its evidence (LAW.md
//! 3.3: "all data, results and outputs of that use"): the console's viewing file, the export and
//! a mission report listing its match (deleted whole), each counted in the deletion receipt by
//! kind. Another use's viewing file, export and report stay (the control), a file of the use
//! someone already deleted by hand is counted as not found, and files written before a restart
//! of the station, or by the separate `utkik-ground report` process while it was down, are found
//! again from the audit log.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mavlink_core::MavHeader;
use utkik_ground::authorization::AuthzAction;
use utkik_ground::console::Console;
use utkik_ground::link::encode_v2;
use utkik_ground::ops::GroundOps;
use utkik_ground::restore::restore;
use utkik_ground::state::{Origin, World};
use utkik_shared::audit::{AuditEvent, DeletedCount, PayloadRef, verify_file};
use utkik_shared::authz::UseDataKind;
use utkik_shared::dialect::{
    DATA_TRANSMISSION_HANDSHAKE_DATA, ENCAPSULATED_DATA_DATA, GLOBAL_POSITION_INT_DATA, MavMessage,
    UTKIK_AUTHZ_STATUS_DATA, UTKIK_BIOMETRIC_MATCH_DATA, UtkikAuthzState,
};
use utkik_shared::tlog::TlogWriter;

mod common;

use common::*;

/// Use A (the urgent use refused) is vehicle 1's, alert 5; use B (another authorization,
/// never refused) is vehicle 2's, alert 6.
const A: (u8, u32) = (1, 5);
const B: (u8, u32) = (2, 6);
const USE_B_DIGEST: [u8; 32] = [0xB2; 32];

/// A JPEG-like crop of `len` bytes with a pattern of its own.
fn crop(tag: u8, len: usize) -> Vec<u8> {
    let mut c: Vec<u8> = (0..len)
        .map(|i| tag ^ (i as u8).wrapping_mul(29) ^ (i >> 8) as u8)
        .collect();
    c[..2].copy_from_slice(b"\xff\xd8");
    c[len - 2..].copy_from_slice(b"\xff\xd9");
    c
}

/// A possible match and its evidence transfer (handshake + 253-byte packets), as the drone sends them.
fn match_with_evidence(alert_id: u32, digest: &[u8; 32], jpeg: &[u8]) -> Vec<MavMessage> {
    let mut prefix = [0u8; 16];
    prefix.copy_from_slice(&digest[..16]);
    let mut out = vec![MavMessage::UTKIK_BIOMETRIC_MATCH(UTKIK_BIOMETRIC_MATCH_DATA {
        alert_id,
        score: 0.7,
        authorization_digest: prefix,
        evidence_transfer_id: alert_id as u16,
        evidence_size: jpeg.len() as u32,
        lat: 593_940_000,
        lon: 179_010_000,
        ..Default::default()
    })];
    out.push(MavMessage::DATA_TRANSMISSION_HANDSHAKE(
        DATA_TRANSMISSION_HANDSHAKE_DATA {
            size: jpeg.len() as u32,
            packets: jpeg.len().div_ceil(253) as u16,
            payload: 253,
            ..Default::default()
        },
    ));
    for (i, chunk) in jpeg.chunks(253).enumerate() {
        let mut data = [0u8; 253];
        data[..chunk.len()].copy_from_slice(chunk);
        out.push(MavMessage::ENCAPSULATED_DATA(ENCAPSULATED_DATA_DATA {
            seqnr: i as u16,
            data,
        }));
    }
    out
}

/// What vehicle `system_id` sends during the mission: its gate's status (identification on under
/// `digest`), a position, then its possible match with the evidence.
fn vehicle_messages(system_id: u8, digest: &[u8; 32], state: UtkikAuthzState, jpeg: &[u8]) -> Vec<(u8, MavMessage)> {
    let (_, alert_id) = if system_id == A.0 { A } else { B };
    let mut out = vec![
        (
            system_id,
            MavMessage::UTKIK_AUTHZ_STATUS(UTKIK_AUTHZ_STATUS_DATA {
                authorization_digest: *digest,
                state,
                ..Default::default()
            }),
        ),
        (
            system_id,
            MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
                lat: 593_940_000,
                lon: 179_010_000,
                ..Default::default()
            }),
        ),
    ];
    out.extend(
        match_with_evidence(alert_id, digest, jpeg)
            .into_iter()
            .map(|m| (system_id, m)),
    );
    out
}

/// The messages arrive at the station (as the link hands them to the world).
fn deliver(w: &mut World, msgs: &[(u8, MavMessage)]) {
    for (i, (system_id, m)) in msgs.iter().enumerate() {
        let origin = Origin {
            system_id: *system_id,
            component_id: 191,
            sequence: i as u8,
        };
        w.apply(origin, m, NOW_USEC as f64 / 1e6);
    }
}

/// The same messages as the link records them: a tlog.
fn record(path: &Path, msgs: &[(u8, MavMessage)]) {
    let mut t = TlogWriter::new(Vec::new());
    for (i, (system_id, m)) in msgs.iter().enumerate() {
        let header = MavHeader {
            system_id: u32::from(*system_id),
            component_id: 191,
            sequence: i as u8,
        };
        t.write_raw(NOW_USEC + i as u64 * 10_000, &encode_v2(header, m))
            .unwrap();
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, t.into_inner()).unwrap();
}

/// The station's folders.
struct Dirs {
    audit: PathBuf,
    exports: PathBuf,
    /// Where the console writes viewing files (beside the exports).
    viewing: PathBuf,
    recordings: PathBuf,
    reports: PathBuf,
}

impl Dirs {
    fn in_(root: &Path) -> Self {
        Dirs {
            audit: root.join("audit"),
            exports: root.join("exports"),
            viewing: root.join("viewing"),
            recordings: root.join("recordings"),
            reports: root.join("reports"),
        }
    }

    fn viewing_file(&self, (sys, id): (u8, u32), user: &str) -> PathBuf {
        self.viewing.join(format!("alert-{sys}-{id}-seen-by-{user}.jpg"))
    }

    fn export(&self, (sys, id): (u8, u32)) -> PathBuf {
        self.exports.join(format!("alert-{sys}-{id}.jpg"))
    }
}

/// A line typed at the console; its reply.
fn say(c: &mut Console, ops: &mut GroundOps, w: &mut World, d: &Dirs, line: &str, now_usec: u64) -> String {
    c.line(line, ops, w, &d.exports, now_usec)
        .unwrap_or_else(|e| panic!("`{line}`: {e}"))
        .text
}

/// The mission at a running station: cecilia starts the urgent use A; both vehicles' matches
/// arrive and are stored; anna opens both evidence crops at the console (viewing files), bertil
/// opens A's at the console too and B's in the window (no file); both confirm both; bertil
/// exports both at the console. Returns the station and use A's digest.
fn mission(d: &Dirs, crop_a: &[u8], crop_b: &[u8]) -> (GroundOps, World, [u8; 32]) {
    let (doc, trust) = urgent_document(d.audit.parent().unwrap());
    let mut ops = ops_in(&d.audit, trust);
    let digest_a = ops.load_authorization(&doc, NOW_USEC).unwrap().0;
    let mut w = World::new();
    w.alerts.set_require_store(true);
    login(&mut ops, "cecilia");
    ops.authz_command(&mut w, AuthzAction::UrgentStart, A.0, NOW_USEC)
        .unwrap();
    let mut msgs = vehicle_messages(A.0, &digest_a, UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT, crop_a);
    msgs.extend(vehicle_messages(
        B.0,
        &USE_B_DIGEST,
        UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE,
        crop_b,
    ));
    deliver(&mut w, &msgs);
    assert_eq!(ops.store_new_alerts(&mut w, NOW_USEC).unwrap(), 2);
    record(&d.recordings.join("mission.tlog"), &msgs);

    let mut c = Console::default();
    let t = NOW_USEC + 1_000_000;
    login(&mut ops, "anna");
    for alert in [A, B] {
        let r = say(
            &mut c,
            &mut ops,
            &mut w,
            d,
            &format!("evidence {} {}", alert.0, alert.1),
            t,
        );
        assert!(r.contains(&d.viewing_file(alert, "anna").display().to_string()), "{r}");
        say(
            &mut c,
            &mut ops,
            &mut w,
            d,
            &format!("confirm {} {}", alert.0, alert.1),
            t,
        );
    }
    login(&mut ops, "bertil");
    say(&mut c, &mut ops, &mut w, d, "evidence 1 5", t);
    ops.view_evidence(&w, B.0, B.1, t).unwrap();
    for alert in [A, B] {
        let r = say(
            &mut c,
            &mut ops,
            &mut w,
            d,
            &format!("confirm {} {}", alert.0, alert.1),
            t,
        );
        assert!(r.contains("CONFIRMED"), "{r}");
        let r = say(
            &mut c,
            &mut ops,
            &mut w,
            d,
            &format!("export {} {}", alert.0, alert.1),
            t,
        );
        assert!(r.contains(&d.export(alert).display().to_string()), "{r}");
    }
    assert_eq!(std::fs::read(d.viewing_file(A, "anna")).unwrap(), crop_a);
    assert_eq!(std::fs::read(d.viewing_file(A, "bertil")).unwrap(), crop_a);
    assert_eq!(std::fs::read(d.export(A)).unwrap(), crop_a);
    assert_eq!(std::fs::read(d.viewing_file(B, "anna")).unwrap(), crop_b);
    assert_eq!(std::fs::read(d.export(B)).unwrap(), crop_b);
    assert!(!d.viewing_file(B, "bertil").exists(), "seen in the window: no file");
    (ops, w, digest_a)
}

/// `utkik-ground report` (its own process, while the station is down) writes a report of
/// `recording` for cecilia, who may see evidence; it lands in the station's audit log.
fn report(d: &Dirs, recording: &Path, out: &Path) {
    let users_file = d.audit.parent().unwrap().join("users.json");
    users().save(&users_file).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_utkik-ground"))
        .arg("report")
        .arg(recording)
        .arg("-o")
        .arg(out)
        .arg("--users")
        .arg(&users_file)
        .arg("--audit-dir")
        .arg(&d.audit)
        .args(["--user", "cecilia"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "pw-cecilia").unwrap();
    let r = child.wait_with_output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(out.exists());
}

/// The deletion receipt the refusal wrote: (deleted, not found, problems).
fn receipt(d: &Dirs) -> (Vec<DeletedCount>, Vec<DeletedCount>, Vec<String>) {
    let receipts: Vec<_> = events(&d.audit)
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::DeletionReceipt {
                deleted,
                not_found,
                problems,
                ..
            } => Some((deleted, not_found, problems)),
            _ => None,
        })
        .collect();
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    receipts.into_iter().next().unwrap()
}

fn count(counts: &[DeletedCount], kind: UseDataKind) -> Option<u64> {
    counts.iter().find(|c| c.kind == kind).map(|c| c.count)
}

#[test]
fn a_refused_use_takes_its_viewing_files_and_export_and_leaves_another_uses() {
    let dir = tempfile::tempdir().unwrap();
    let d = Dirs::in_(dir.path());
    let (crop_a, crop_b) = (crop(0xA1, 700), crop(0x3C, 400));
    let (mut ops, mut w, _) = mission(&d, &crop_a, &crop_b);
    // Someone deleted bertil's copy by hand: recorded, but not there any more.
    std::fs::remove_file(d.viewing_file(A, "bertil")).unwrap();

    login(&mut ops, "cecilia");
    let mut c = Console::default();
    let t = NOW_USEC + 2_000_000;
    // The urgent use runs on vehicle 1 (A's); with vehicles 1 and 2 heard the command names it.
    let r = say(&mut c, &mut ops, &mut w, &d, "authz urgent-refused 1", t);
    // The console shows the receipt in words.
    for words in [
        "1 console viewing files",
        "1 export files",
        "0 mission reports (deleted whole)",
        "recorded but already gone: 1 console viewing files",
    ] {
        assert!(r.contains(words), "`{words}` in: {r}");
    }

    // A's files are gone; B's stay, as they were.
    assert!(!d.viewing_file(A, "anna").exists());
    assert!(!d.export(A).exists());
    assert_eq!(std::fs::read(d.viewing_file(B, "anna")).unwrap(), crop_b);
    assert_eq!(std::fs::read(d.export(B)).unwrap(), crop_b);
    assert!(
        files_containing(dir.path(), &crop_a).is_empty(),
        "a file still holds A's crop: {:?}",
        files_containing(dir.path(), &crop_a)
    );
    assert!(w.alerts.get(A.0, A.1).is_none());
    assert!(w.alerts.get(B.0, B.1).is_some());

    let (deleted, not_found, problems) = receipt(&d);
    assert_eq!(count(&deleted, UseDataKind::ViewingFiles), Some(1), "{deleted:?}");
    assert_eq!(count(&deleted, UseDataKind::Exports), Some(1), "{deleted:?}");
    assert_eq!(
        count(&deleted, UseDataKind::Reports),
        Some(0),
        "the receipt says it looked: {deleted:?}"
    );
    assert_eq!(
        not_found,
        vec![DeletedCount {
            kind: UseDataKind::ViewingFiles,
            count: 1
        }]
    );
    assert!(problems.is_empty(), "{problems:?}");
    verify_file(&d.audit.join(utkik_ground::audit_log::AUDIT_FILE), &Default::default()).unwrap();
}

#[test]
fn after_a_restart_the_refusal_finds_files_from_before_it_and_the_report_written_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let d = Dirs::in_(dir.path());
    let (crop_a, crop_b) = (crop(0xA1, 700), crop(0x3C, 400));
    let (ops, w, digest_a) = mission(&d, &crop_a, &crop_b);
    // kill -9: no sign-out, no final record.
    drop((ops, w));

    // While the station is down, cecilia writes two reports: one of the whole mission (both
    // uses' matches, both crops embedded) and one of a recording of vehicle 2 alone.
    std::fs::create_dir_all(&d.reports).unwrap();
    let mission_report = d.reports.join("mission.html");
    report(&d, &d.recordings.join("mission.tlog"), &mission_report);
    let b_recording = d.recordings.join("vehicle-2.tlog");
    record(
        &b_recording,
        &vehicle_messages(B.0, &USE_B_DIGEST, UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE, &crop_b),
    );
    let b_report = d.reports.join("vehicle-2.html");
    report(&d, &b_recording, &b_report);
    let embedded: Vec<Vec<PayloadRef>> = events(&d.audit)
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::Disclosure {
                payloads,
                file: Some(f),
                ..
            } if f.path.ends_with(".html") => Some(payloads),
            _ => None,
        })
        .collect();
    assert_eq!(
        embedded,
        vec![
            vec![PayloadRef::of(&crop_a), PayloadRef::of(&crop_b)],
            vec![PayloadRef::of(&crop_b)]
        ],
        "the mission report embeds both crops, the other only B's"
    );
    std::fs::remove_file(d.viewing_file(A, "bertil")).unwrap();

    // The station starts again, takes its state back from the log, and the use is refused.
    let (_, trust) = urgent_document(dir.path());
    let mut ops = ops_in(&d.audit, trust);
    let t = NOW_USEC + 60_000_000;
    assert_eq!(
        ops.load_authorization(&dir.path().join("urgent.authz.json"), t)
            .unwrap()
            .0,
        digest_a
    );
    let mut w = World::new();
    let summary = restore(&mut ops, &mut w).unwrap();
    assert!(summary.problems.is_empty(), "{}", summary.line());
    assert_eq!(summary.alerts, 2, "{}", summary.line());
    login(&mut ops, "cecilia");
    let mut c = Console::default();
    let r = say(&mut c, &mut ops, &mut w, &d, "authz urgent-refused 1", t);
    for words in [
        "1 console viewing files",
        "1 export files",
        "1 mission reports (deleted whole)",
        "recorded but already gone: 1 console viewing files",
    ] {
        assert!(r.contains(words), "`{words}` in: {r}");
    }

    for gone in [d.viewing_file(A, "anna"), d.export(A), mission_report.clone()] {
        assert!(!gone.exists(), "{} must be deleted", gone.display());
    }
    assert_eq!(std::fs::read(d.viewing_file(B, "anna")).unwrap(), crop_b);
    assert_eq!(std::fs::read(d.export(B)).unwrap(), crop_b);
    assert!(b_report.exists(), "a report without the use stays");
    let files = &ops.last_deletion().unwrap().files;
    assert_eq!(
        files.deleted.values().flatten().cloned().collect::<Vec<_>>().len(),
        3,
        "{files:?}"
    );

    let (deleted, not_found, problems) = receipt(&d);
    for kind in [UseDataKind::ViewingFiles, UseDataKind::Exports, UseDataKind::Reports] {
        assert_eq!(count(&deleted, kind), Some(1), "{kind:?}: {deleted:?}");
    }
    assert_eq!(count(&not_found, UseDataKind::ViewingFiles), Some(1), "{not_found:?}");
    assert!(problems.is_empty(), "{problems:?}");
    verify_file(&d.audit.join(utkik_ground::audit_log::AUDIT_FILE), &Default::default()).unwrap();
}
