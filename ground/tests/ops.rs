//! The LAW.md rules at the ground station, end to end through `GroundOps` with a real audit log:
//! two different authenticated users confirm; the same user twice, an auditor or a pilot cannot;
//! export is blocked until confirmed; a refused urgent use leaves no crop at the ground (audit
//! payload store, and with a running link its tlog recordings too) and a deletion receipt in the
//! log that says what it did and did not delete; `verify-audit` names a tampered record; the IMY
//! report holds no sensitive operational data.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, UNIX_EPOCH};

use mavlink_core::MavHeader;
use utkik_ground::audit_log::AUDIT_FILE;
use utkik_ground::authorization::AuthzAction;
use utkik_ground::link::{self, LinkConfig, LinkEvent, LinkHandle, LinkSource, RedactRule};
use utkik_ground::ops::{OpsError, RecordingsRedaction};
use utkik_ground::state::{AlertAction, AlertError, AlertState, World};
use utkik_shared::audit::{AuditEvent, DeletedCount, verify_file};
use utkik_shared::authz::{AuthzState, UseDataKind};
use utkik_shared::dialect::{
    DATA_TRANSMISSION_HANDSHAKE_DATA, ENCAPSULATED_DATA_DATA, GLOBAL_POSITION_INT_DATA, MavMessage,
    UTKIK_BIOMETRIC_MATCH_DATA, UTKIK_PLATE_READ_DATA,
};
use utkik_shared::tlog::{TlogReader, TlogWriter};

mod common;

use common::*;

#[test]
fn two_different_authenticated_users_confirm_and_only_then_export() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir.path(), demo_trust());
    let digest = ops
        .load_authorization(&repo("assets/authz/person-search.authz.json"), NOW_USEC)
        .unwrap();
    let mut w = world_with_match(digest.0);
    let exports = dir.path().join("exports");
    // Nobody signed in: nothing.
    assert!(matches!(ops.confirm(&mut w, 1, 5, NOW_USEC), Err(OpsError::Session(_))));
    // Wrong password: refused and logged.
    assert!(ops.login("anna", "pw-bertil", NOW_USEC).is_err());
    // Auditor and pilot cannot confirm.
    for who in ["eva", "david"] {
        login(&mut ops, who);
        assert!(
            matches!(
                ops.confirm(&mut w, 1, 5, NOW_USEC),
                Err(OpsError::Alert(AlertError::NotPermitted { .. }))
            ),
            "{who}"
        );
    }
    login(&mut ops, "anna");
    ops.view_evidence(&w, 1, 5, NOW_USEC).unwrap();
    ops.confirm(&mut w, 1, 5, NOW_USEC).unwrap();
    assert!(ops.confirm(&mut w, 1, 5, NOW_USEC).is_err(), "anna twice");
    assert!(matches!(
        w.alerts.get(1, 5).unwrap().state,
        AlertState::PossibleMatch { .. }
    ));
    for action in [AlertAction::Export, AlertAction::Mark, AlertAction::Dispatch] {
        assert!(
            matches!(
                ops.act(&w, 1, 5, action, &exports, NOW_USEC),
                Err(OpsError::Alert(AlertError::NotConfirmed { .. }))
            ),
            "{action:?} blocked after one confirmation"
        );
    }
    assert!(!exports.exists(), "nothing exported");
    login(&mut ops, "bertil");
    // Bertil has not looked at the evidence yet: no verdict.
    assert!(matches!(
        ops.confirm(&mut w, 1, 5, NOW_USEC),
        Err(OpsError::EvidenceNotSeen { .. })
    ));
    ops.view_evidence(&w, 1, 5, NOW_USEC).unwrap();
    assert_eq!(
        ops.confirm(&mut w, 1, 5, NOW_USEC).unwrap(),
        AlertState::Confirmed {
            by: ["anna".into(), "bertil".into()]
        }
    );
    let file = ops
        .act(&w, 1, 5, AlertAction::Export, &exports, NOW_USEC)
        .unwrap()
        .unwrap();
    assert_eq!(std::fs::read(file).unwrap(), CROP);
    // The log verifies and names both verifiers, the match with its crop, the export.
    verify_file(&dir.path().join(AUDIT_FILE), &Default::default()).unwrap();
    let ev = events(dir.path());
    let verifiers: Vec<&str> = ev
        .iter()
        .filter_map(|e| match e {
            AuditEvent::MatchVerification {
                verifier_id,
                authorization_digest,
                ..
            } if *authorization_digest == digest => Some(verifier_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(verifiers, ["anna", "bertil"]);
    let crop = ev
        .iter()
        .find_map(|e| match e {
            AuditEvent::PossibleMatch { evidence_crop, .. } => evidence_crop.clone(),
            _ => None,
        })
        .expect("match logged with its crop");
    assert_eq!(ops.audit.payloads().get(&crop).unwrap(), CROP);
    assert!(
        ev.iter()
            .any(|e| matches!(e, AuditEvent::Disclosure { user_id, .. } if user_id == "bertil"))
    );
    assert!(ev.iter().any(
        |e| matches!(e, AuditEvent::Consultation { user_id, what } if user_id == "anna" && what.contains("refused"))
    ));
    assert!(ev.iter().any(|e| matches!(e, AuditEvent::AuthorizationLoaded { .. })));
}

#[test]
fn refused_urgent_use_deletes_everything_at_the_ground_and_leaves_a_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let audit_dir = dir.path().join("audit");
    let (path, trust) = urgent_document(dir.path());
    let mut ops = ops_in(&audit_dir, trust);
    let digest = ops.load_authorization(&path, NOW_USEC).unwrap();
    login(&mut ops, "anna");
    let mut w = World::new();
    assert!(
        ops.authz_command(&mut w, AuthzAction::UrgentStart, 1, NOW_USEC)
            .is_err(),
        "an operator cannot start urgent use"
    );
    login(&mut ops, "cecilia");
    let msg = ops
        .authz_command(&mut w, AuthzAction::UrgentStart, 1, NOW_USEC)
        .unwrap();
    let MavMessage::UTKIK_AUTHZ_COMMAND(c) = msg else {
        panic!()
    };
    assert_eq!(c.authorization_digest, digest.0);
    let mut w = world_with_match(digest.0);
    ops.log_new_matches(&w, NOW_USEC).unwrap();
    login(&mut ops, "anna");
    ops.view_evidence(&w, 1, 5, NOW_USEC).unwrap();
    ops.confirm(&mut w, 1, 5, NOW_USEC).unwrap();
    assert_eq!(
        files_containing(&audit_dir, CROP).len(),
        1,
        "the crop is in the payload store"
    );
    login(&mut ops, "cecilia");
    ops.authz_command(&mut w, AuthzAction::UrgentRefused, 1, NOW_USEC + 1)
        .unwrap();
    assert_eq!(ops.console.state_of(1).unwrap(), AuthzState::Refused);
    assert!(w.alerts.get(1, 5).is_none(), "alert deleted");
    assert!(
        files_containing(&audit_dir, CROP).is_empty(),
        "no file at the ground holds the crop"
    );
    verify_file(&audit_dir.join(AUDIT_FILE), &Default::default()).unwrap();
    let receipt = events(&audit_dir)
        .into_iter()
        .find_map(|e| match e {
            AuditEvent::DeletionReceipt {
                site,
                deleted,
                payloads,
                ..
            } => Some((site, deleted, payloads)),
            _ => None,
        })
        .expect("deletion receipt");
    // No link in this test: the receipt must not claim the recordings were redacted.
    assert!(
        receipt.0.starts_with("ground") && receipt.0.contains("not redacted"),
        "{}",
        receipt.0
    );
    assert!(!receipt.1.iter().any(|d| d.kind == UseDataKind::RecordedMessages));
    assert_eq!(ops.last_deletion().unwrap().recordings, RecordingsRedaction::NoRedactor);
    assert_eq!(receipt.2.len(), 1, "the crop's payload listed");
    assert!(receipt.1.iter().any(|d| d.count == 1));
}

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
fn match_with_evidence(alert_id: u32, digest_prefix: [u8; 16], jpeg: &[u8]) -> Vec<MavMessage> {
    let mut out = vec![MavMessage::UTKIK_BIOMETRIC_MATCH(UTKIK_BIOMETRIC_MATCH_DATA {
        alert_id,
        score: 0.7,
        authorization_digest: digest_prefix,
        evidence_transfer_id: alert_id as u16,
        evidence_size: jpeg.len() as u32,
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

fn telemetry(i: i32) -> MavMessage {
    MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
        lat: 593_940_000 + i,
        lon: 179_010_000,
        ..Default::default()
    })
}

fn frame(seq: u8, m: &MavMessage) -> Vec<u8> {
    let header = MavHeader {
        system_id: 1,
        component_id: 191,
        sequence: seq,
    };
    link::encode_v2(header, m)
}

/// Pieces of a crop as they lie in a tlog (one per packet, trailing zeros of the last one
/// trimmed by MAVLink 2): none of them may be left anywhere.
fn crop_pieces(jpeg: &[u8]) -> Vec<&[u8]> {
    jpeg.chunks(253).collect()
}

/// Sends `msgs` to the link over UDP and applies what the link decodes to `w`, until the
/// telemetry `marker` has come through (everything before it has then been recorded).
fn send_and_ingest(udp: &UdpSocket, handle: &LinkHandle, w: &mut World, msgs: &[MavMessage], marker: i32) {
    for (i, m) in msgs.iter().chain([&telemetry(marker)]).enumerate() {
        udp.send_to(&frame(i as u8, m), handle.local_addr.unwrap()).unwrap();
        // A datagram per frame; pace them so the socket buffer never overflows.
        std::thread::sleep(Duration::from_micros(200));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(ev) = handle.events.recv_timeout(left) else {
            panic!("the marker {marker} never came through the link");
        };
        if let LinkEvent::Message {
            origin,
            message,
            time_s,
            ..
        } = ev
        {
            w.apply(origin, &message, time_s);
            if matches!(&message, MavMessage::GLOBAL_POSITION_INT(g) if g.lat == 593_940_000 + marker) {
                return;
            }
        }
    }
}

fn tlogs_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tlog"))
        .collect();
    out.sort();
    out
}

/// Every record of every tlog in `dir`, through the shared reader, which must find no damage.
fn recorded(dir: &Path) -> Vec<MavMessage> {
    let mut out = Vec::new();
    for p in tlogs_in(dir) {
        for r in TlogReader::new(std::fs::File::open(&p).unwrap()) {
            let r = r.unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            out.push(r.frame.decode::<MavMessage>().unwrap());
        }
    }
    out
}

#[test]
fn refused_urgent_use_is_cut_out_of_the_live_links_tlog_recordings() {
    let dir = tempfile::tempdir().unwrap();
    let record_dir = dir.path().join("recordings");
    // As the station runs by default: the audit log inside the record folder.
    let audit_dir = record_dir.join("audit");
    let (path, trust) = urgent_document(dir.path());
    let mut ops = ops_in(&audit_dir, trust);
    let digest = ops.load_authorization(&path, NOW_USEC).unwrap();
    let use_a = RedactRule::for_digest(&digest.0).digest_prefix;
    let use_b = [0xB2; 16];
    let (crop_a, crop_b) = (crop(0xA1, 700), crop(0x3C, 400));

    // A recording of an earlier run of the station during the use (written after it started).
    std::fs::create_dir_all(&record_dir).unwrap();
    let earlier = record_dir.join("utkik-earlier-001.tlog");
    let mut w0 = TlogWriter::new(Vec::new());
    for (i, m) in match_with_evidence(3, use_a, &crop_a)
        .iter()
        .chain([&telemetry(-1)])
        .enumerate()
    {
        w0.write_raw(NOW_USEC + i as u64, &frame(i as u8, m)).unwrap();
    }
    std::fs::write(&earlier, w0.into_inner()).unwrap();
    let f = std::fs::File::options().write(true).open(&earlier).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::from_micros(NOW_USEC + 1_000_000))
        .unwrap();
    drop(f);

    // The live link, rotating every KiB so the use's records land in several files.
    let mut handle = link::start(LinkConfig {
        source: LinkSource::UdpListen("127.0.0.1:0".parse().unwrap()),
        record_dir: Some(record_dir.clone()),
        rotate_bytes: 1024,
        signing: None,
        state_file: None,
    })
    .unwrap();
    ops.set_redactor(Box::new(handle.redactor()));
    login(&mut ops, "cecilia");
    let mut w = World::new();
    ops.authz_command(&mut w, AuthzAction::UrgentStart, 1, NOW_USEC)
        .unwrap();

    // Plates and telemetry, a match of use A with its crop, one of use B with its crop, and A's
    // resend (the ack was lost) with the crop again.
    let mut msgs = vec![
        MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
            track_id: 4,
            ..Default::default()
        }),
        telemetry(1),
    ];
    msgs.extend(match_with_evidence(5, use_a, &crop_a));
    msgs.push(telemetry(2));
    msgs.extend(match_with_evidence(6, use_b, &crop_b));
    msgs.extend(match_with_evidence(5, use_a, &crop_a));
    send_and_ingest(&udp_socket(), &handle, &mut w, &msgs, 100);
    assert_eq!(w.alerts.get(1, 5).unwrap().evidence_jpeg.as_deref(), Some(&crop_a[..]));
    ops.log_new_matches(&w, NOW_USEC).unwrap();
    assert!(handle.tlog_files.lock().unwrap().len() >= 2, "rotated");

    ops.authz_command(&mut w, AuthzAction::UrgentRefused, 1, NOW_USEC + 1)
        .unwrap();

    for piece in crop_pieces(&crop_a) {
        assert!(
            files_containing(&record_dir, piece).is_empty(),
            "a piece of A's crop is left: {:?}",
            files_containing(&record_dir, piece)
        );
    }
    // B's crop is still recorded (and the audit payload store holds its crop too).
    for piece in crop_pieces(&crop_b) {
        assert!(
            files_containing(&record_dir, piece)
                .iter()
                .any(|p| p.extension().is_some_and(|e| e == "tlog")),
            "B's crop must stay in the recording"
        );
    }
    // 2 live matches + 2 transfers of 1 + 3 packets, and the earlier run's match + transfer.
    let deletion = ops.last_deletion().unwrap().clone();
    let RecordingsRedaction::Redacted { dropped, problems, .. } = &deletion.recordings else {
        panic!("{:?}", deletion.recordings)
    };
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!((dropped.matches, dropped.handshakes, dropped.data_packets), (3, 3, 9));
    let receipt = events(&audit_dir)
        .into_iter()
        .find_map(|e| match e {
            AuditEvent::DeletionReceipt { site, deleted, .. } => Some((site, deleted)),
            _ => None,
        })
        .expect("deletion receipt");
    assert_eq!(receipt.0, "ground");
    assert!(
        receipt.1.contains(&DeletedCount {
            kind: UseDataKind::RecordedMessages,
            count: 15
        }),
        "{:?}",
        receipt.1
    );
    verify_file(&audit_dir.join(AUDIT_FILE), &Default::default()).unwrap();

    // A late resend of A still in flight after the refusal is kept out of the recording too;
    // the link goes on recording everything else.
    let late = match_with_evidence(5, use_a, &crop_a);
    send_and_ingest(&udp_socket(), &handle, &mut w, &late, 101);
    handle.stop();
    for piece in crop_pieces(&crop_a) {
        assert!(files_containing(&record_dir, piece).is_empty(), "late packet recorded");
    }
    // Everything else is there and every file still reads without damage.
    let kept = recorded(&record_dir);
    let count = |f: &dyn Fn(&MavMessage) -> bool| kept.iter().filter(|m| f(m)).count();
    assert_eq!(count(&|m| matches!(m, MavMessage::UTKIK_PLATE_READ(_))), 1);
    assert_eq!(count(&|m| matches!(m, MavMessage::GLOBAL_POSITION_INT(_))), 5);
    assert_eq!(
        count(&|m| matches!(m, MavMessage::UTKIK_BIOMETRIC_MATCH(b) if b.authorization_digest == use_b)),
        1
    );
    assert_eq!(count(&|m| matches!(m, MavMessage::UTKIK_BIOMETRIC_MATCH(_))), 1);
    assert_eq!(count(&|m| matches!(m, MavMessage::DATA_TRANSMISSION_HANDSHAKE(_))), 1);
    assert_eq!(count(&|m| matches!(m, MavMessage::ENCAPSULATED_DATA(_))), 2);
}

fn udp_socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_utkik-ground"))
}

#[test]
fn verify_audit_names_the_tampered_record_and_imy_report_has_no_operational_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir.path(), demo_trust());
    let digest = ops
        .load_authorization(&repo("assets/authz/person-search.authz.json"), NOW_USEC)
        .unwrap();
    // Two operators activate (LAW.md 4.5): anna proposes and signs, bertil co-signs.
    login(&mut ops, "anna");
    let mut w = world_with_match(digest.0);
    let proposed = ops.authz_command(&mut w, AuthzAction::Activate, 1, NOW_USEC);
    assert!(
        matches!(proposed, Err(OpsError::AwaitingCoSignature { ref proposer, .. }) if proposer == "anna"),
        "{proposed:?}"
    );
    assert!(matches!(
        ops.cosign_activation(&mut w, NOW_USEC),
        Err(OpsError::CoSignOwnProposal(_))
    ));
    login(&mut ops, "bertil");
    ops.cosign_activation(&mut w, NOW_USEC).unwrap();
    login(&mut ops, "anna");
    ops.view_evidence(&w, 1, 5, NOW_USEC).unwrap();
    ops.confirm(&mut w, 1, 5, NOW_USEC).unwrap();
    ops.search_reads(&w, "ABC123", "case K-1234-26", NOW_USEC).unwrap();
    login(&mut ops, "bertil");
    ops.view_evidence(&w, 1, 5, NOW_USEC).unwrap();
    ops.confirm(&mut w, 1, 5, NOW_USEC).unwrap();
    ops.authz_command(&mut w, AuthzAction::Stop, 1, NOW_USEC + 60_000_000)
        .unwrap();
    let log = dir.path().join(AUDIT_FILE);
    drop(ops);

    let ok = bin().arg("verify-audit").arg(&log).output().unwrap();
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{text} {}", String::from_utf8_lossy(&ok.stderr));
    assert!(
        text.starts_with("OK ") && text.contains("match_verification: 2"),
        "{text}"
    );

    let out = dir.path().join("imy");
    let users_file = dir.path().join("users.json");
    users().save(&users_file).unwrap();
    // The IMY report is a disclosure: nobody signed in, or a pilot, may not write it.
    let imy = |user: Option<&str>, password: &str| {
        let mut c = bin();
        c.args(["imy-report", "--audit"])
            .arg(&log)
            .arg("-o")
            .arg(&out)
            .arg("--users")
            .arg(&users_file)
            .arg("--audit-dir")
            .arg(dir.path());
        if let Some(u) = user {
            c.args(["--user", u]);
        }
        let mut child = c
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let r = imy(None, "");
    assert!(!r.status.success() && String::from_utf8_lossy(&r.stderr).contains("--user"));
    let r = imy(Some("david"), "pw-david");
    assert!(!r.status.success(), "a pilot may not write the IMY report");
    assert!(!out.exists(), "nothing written for a refused user");
    let r = imy(Some("eva"), "pw-eva");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(
        events(dir.path()).iter().any(|e| matches!(e,
            AuditEvent::Disclosure { user_id, recipient, .. } if user_id == "eva" && recipient.contains("IMY report"))),
        "the IMY report is logged as a disclosure by eva"
    );
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("imy-statistics.json")).unwrap()).unwrap();
    // The mission's year (the report's own disclosure record carries the real clock's time,
    // which may be another year than the test's 2027).
    let year = stats
        .as_array()
        .unwrap()
        .iter()
        .find(|y| y["year"] == 2027)
        .expect("the mission's year");
    assert_eq!(year["uses"], 1);
    assert_eq!(year["matches"], 1);
    assert_eq!(year["confirmed_matches"], 1);
    assert_eq!(year["decisions_granted"], 1);
    let notes: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("imy-notifications.json")).unwrap()).unwrap();
    assert_eq!(notes[0]["decision_id"], "DEMO-AM-2026-0001");
    assert_eq!(notes[0]["confirmed_matches"], 1);
    assert_eq!(notes[0]["end_reason"], "stopped");
    for f in ["imy-notifications.json", "imy-statistics.json", "imy-report.html"] {
        let t = std::fs::read_to_string(out.join(f)).unwrap();
        for secret in [
            "ABC123",
            "designated-astronaut",
            "anna",
            "bertil",
            "59.39",
            "17.90",
            "593940",
            "DEMO-K-0001",
        ] {
            assert!(!t.contains(secret), "{f} contains `{secret}`");
        }
    }

    // Edit one record's content: verify-audit fails naming it.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let idx = lines
        .iter()
        .position(|l| l.contains("\"verifier_id\":\"bertil\""))
        .unwrap();
    let offset: usize = lines[..idx].iter().map(|l| l.len() + 1).sum();
    let tampered = text.replacen("\"verifier_id\":\"bertil\"", "\"verifier_id\":\"anna!\"", 1);
    std::fs::write(&log, tampered).unwrap();
    let bad = bin().arg("verify-audit").arg(&log).output().unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("record {idx} (byte offset {offset})")),
        "names the record: {err}"
    );
    // And no report over a broken log.
    let r = imy(Some("eva"), "pw-eva");
    assert!(!r.status.success());
}

/// A plate hit as the drone sends it: the read with its plate image announced, then the image.
fn plate_hit_with_image(w: &mut World, alert_id: u32, image: Option<&[u8]>) {
    let origin = utkik_ground::state::Origin {
        system_id: 1,
        component_id: 191,
        sequence: 0,
    };
    let hit = UTKIK_PLATE_READ_DATA {
        alert_id,
        track_id: 40 + alert_id,
        hit_entry_id: 2,
        plate: "ABC123".into(),
        confidence: 93,
        status: utkik_shared::dialect::UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
        image_transfer_id: if image.is_some() { 0x8000 } else { 0 },
        image_size: image.map_or(0, |i| i.len() as u32),
        ..Default::default()
    };
    w.apply(origin, &MavMessage::UTKIK_PLATE_READ(hit), 2.0);
    if let Some(jpeg) = image {
        for m in &match_with_evidence(0, [0; 16], jpeg)[1..] {
            w.apply(origin, m, 2.0);
        }
    }
}

/// LAW.md section 7: a hit shows the plate image and needs an operator check. The check is
/// refused until the operator opened the image (logged as a consultation); a pilot or an auditor
/// may not open or check it; a hit the drone could not cut an image for is checked on its text,
/// and the log says so; the replay parser reads both wordings back.
#[test]
fn a_plate_hit_is_checked_only_after_its_plate_image_was_opened() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir.path(), demo_trust());
    let mut w = World::new();
    let image = crop(0x42, 700);
    plate_hit_with_image(&mut w, 1, Some(&image));
    assert_eq!(w.alerts.get(1, 1).unwrap().evidence_jpeg.as_deref(), Some(&image[..]));

    for who in ["david", "eva"] {
        login(&mut ops, who);
        assert!(
            matches!(
                ops.view_evidence(&w, 1, 1, NOW_USEC),
                Err(OpsError::Session(utkik_ground::auth::SessionError::NotPermitted { .. }))
            ),
            "{who} may not open a plate image"
        );
    }
    login(&mut ops, "anna");
    assert!(matches!(
        ops.confirm(&mut w, 1, 1, NOW_USEC),
        Err(OpsError::EvidenceNotSeen { .. })
    ));
    assert_eq!(w.alerts.get(1, 1).unwrap().state, AlertState::NeedsCheck, "unchanged");
    assert_eq!(ops.view_evidence(&w, 1, 1, NOW_USEC).unwrap(), image);
    assert_eq!(
        ops.confirm(&mut w, 1, 1, NOW_USEC).unwrap(),
        AlertState::Checked { by: "anna".into() }
    );

    // No image announced: checked on the text, and the log says so.
    plate_hit_with_image(&mut w, 2, None);
    assert!(matches!(
        ops.view_evidence(&w, 1, 2, NOW_USEC),
        Err(OpsError::NoEvidence { .. })
    ));
    ops.confirm(&mut w, 1, 2, NOW_USEC).unwrap();

    verify_file(&dir.path().join(AUDIT_FILE), &Default::default()).unwrap();
    let texts: Vec<String> = events(dir.path())
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::Consultation { user_id, what } if user_id == "anna" => Some(what),
            _ => None,
        })
        .collect();
    assert!(
        texts.contains(&"viewed the plate image of plate hit 1/1".to_string()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"plate hit alert 1/1 checked after checking the plate image".to_string()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"plate hit alert 1/2 checked on its text: the drone sent no plate image".to_string()),
        "{texts:?}"
    );
    let trail = utkik_ground::replay::verdicts::AuditTrail::read(&dir.path().join(AUDIT_FILE)).unwrap();
    assert_eq!(trail.unparsed_plate_checks, 0);
    assert_eq!(trail.verdicts.iter().filter(|v| v.confirm).count(), 2);
}

/// LAW.md 4.5 at the ground: every command carries the signed-in user's signature, which the
/// drone's own check (`verify_command` + `check_roles` against its trust store, here the DEMO
/// one) accepts; an operator's activation is sent only with a second operator's co-signature;
/// a user without a signing key (a users file from before the keys) is refused any command but
/// STOP, which is sent without a user signature (the drone stops on the link signature alone).
#[test]
fn commands_carry_the_users_signature_the_drone_checks() {
    use utkik_shared::authz::command_signature::{check_roles, verify_command};
    use utkik_shared::dialect::UtkikAuthzCommand;
    let dir = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir.path(), demo_trust());
    ops.load_authorization(&repo("assets/authz/person-search.authz.json"), NOW_USEC)
        .unwrap();
    let doc = ops
        .console
        .document
        .as_ref()
        .unwrap()
        .authorization()
        .document()
        .clone();
    let trust = demo_trust();
    let mut w = World::new();
    let command = |m: MavMessage| match m {
        MavMessage::UTKIK_AUTHZ_COMMAND(c) => c,
        other => panic!("{other:?}"),
    };
    let signers = |c: &utkik_shared::dialect::UTKIK_AUTHZ_COMMAND_DATA| -> Vec<String> {
        let s = verify_command(&trust, c).expect("the drone's check");
        check_roles(c.command, &s, &doc).expect("the drone's role rule");
        s.iter().map(|u| u.user_id.clone()).collect()
    };
    // The senior officer alone.
    login(&mut ops, "cecilia");
    let c = command(ops.authz_command(&mut w, AuthzAction::Activate, 1, NOW_USEC).unwrap());
    assert_eq!(signers(&c), ["cecilia"]);
    let c = command(ops.authz_command(&mut w, AuthzAction::Stop, 1, NOW_USEC + 1).unwrap());
    assert_eq!(c.command, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP);
    assert_eq!(signers(&c), ["cecilia"]);
    // Two operators: nothing is sent until bertil co-signs anna's proposal.
    login(&mut ops, "anna");
    assert!(matches!(
        ops.authz_command(&mut w, AuthzAction::Activate, 1, NOW_USEC + 2),
        Err(OpsError::AwaitingCoSignature { .. })
    ));
    assert_eq!(
        ops.console.state_of(1).unwrap(),
        utkik_shared::authz::AuthzState::Stopped,
        "a proposal changes nothing"
    );
    login(&mut ops, "david");
    assert!(
        ops.cosign_activation(&mut w, NOW_USEC + 3).is_err(),
        "a pilot does not co-sign"
    );
    login(&mut ops, "bertil");
    let c = command(ops.cosign_activation(&mut w, NOW_USEC + 4).unwrap());
    // (A proposal left waiting longer than the drone takes is dropped, below.)
    assert_eq!(signers(&c), ["anna", "bertil"]);
    assert_eq!(c.time_usec, NOW_USEC + 2, "the time anna signed");
    assert!(ops.pending_cosign().is_none());
    login(&mut ops, "cecilia");
    ops.authz_command(&mut w, AuthzAction::Stop, 1, NOW_USEC + 5).unwrap();
    login(&mut ops, "anna");
    assert!(
        ops.authz_command(&mut w, AuthzAction::Activate, 1, NOW_USEC + 6)
            .is_err()
    );
    login(&mut ops, "bertil");
    let late = NOW_USEC + 6 + 601 * 1_000_000;
    assert!(matches!(
        ops.cosign_activation(&mut w, late),
        Err(OpsError::ProposalExpired(who)) if who == "anna"
    ));
    assert!(ops.pending_cosign().is_none());
    // A user whose entry has no key (an old users file): no command but STOP.
    let old_users = format!(
        r#"{{"format":"utkik-users/2","users":[{{"user_id":"cecilia","display_name":"C","roles":["senior_officer"],"password_hash":"{}"}}]}}"#,
        utkik_ground::auth::password::hash_password("pw-cecilia", utkik_ground::auth::HashParams::MINIMUM).unwrap()
    );
    let old = utkik_ground::auth::UserDirectory::from_json(old_users.as_bytes()).unwrap();
    assert_eq!(old.missing_signing_key().count(), 1);
    ops.users = old;
    login(&mut ops, "cecilia");
    let e = ops
        .authz_command(&mut w, AuthzAction::Revoke, 1, NOW_USEC + 700_000_000)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no command-signing key") && e.contains("users passwd --new-key"),
        "{e}"
    );
    let c = command(ops.authz_command(&mut w, AuthzAction::Stop, 1, NOW_USEC + 6).unwrap());
    assert!(
        c.user_signature.iter().all(|&b| b == 0),
        "sent without a user signature"
    );
}
