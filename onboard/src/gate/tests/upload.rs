//! LAW.md 3.4 on the drone (issue 16 item 2): a senior officer starts an urgent use at the
//! ground station, signs it with her own crew key (`user:cecilia`), and the station uploads the
//! document and the designated person's enrolment image as one bundle. Everything here goes the
//! real way: the bundle is built and chunked by `utkik_shared::authz::upload::UploadSender`
//! (the sender the ground uses), every chunk is MAVLink 2 signed with the link key and handed to
//! [`Gate::handle_ground_frame`] as the out link does, and the gate's UTKIK_UPLOAD_ACKs go back to
//! the sender. Whether identification runs is read from the template model's call counter.

use utkik_shared::authz::command_signature::SigningKey;
use utkik_shared::authz::upload::{
    AUTHORIZATION_FILE, UploadBundle, UploadFile, UploadOutcome, UploadSender, bundle_sha256,
};
use utkik_shared::authz::{AuthzDigest, UseDataKind, VerifiedAuthorization, authorize};
use utkik_shared::dialect::MavResult::{MAV_RESULT_ACCEPTED, MAV_RESULT_DENIED};
use utkik_shared::dialect::{UTKIK_UPLOAD_ACK_DATA, UTKIK_UPLOAD_CHUNK_DATA, UtkikAuthzState, UtkikUploadStatus};

use super::*;
use crate::gate::upload::UPLOADS_DIR;

const S: u64 = 1_000_000;
/// The enrolment image's name in the bundle (a plain file name: the drone finds it beside the
/// stored document, not in its imagery cache).
const IMAGE: &str = "astronaut.png";

fn crew_key(user: &str) -> SigningKey {
    SigningKey::from_bytes(&utkik_shared::demo::user_signing_seed(user).expect("a DEMO crew member"))
}

/// The astronaut picture (the designated person of the demo) as the station would read it.
fn image_bytes() -> Vec<u8> {
    let cache = utkik_models::ModelCache::locate().unwrap();
    std::fs::read(cache.root().join("imagery/faces/astronaut.png")).unwrap()
}

/// An urgent search for the astronaut at Tensta torg issued by crew member `user` with her own
/// crew key (`user:<user>`), its window from an hour before [`NOW_USEC`] for three days (the
/// 24 h deadline is what ends it), the enrolment image referenced by [`IMAGE`].
fn urgent_document(user: &str, decision_id: &str) -> Vec<u8> {
    urgent_document_at(user, decision_id, NOW_USEC, IMAGE)
}

/// [`urgent_document`] issued an hour before `now_usec`, its enrolment image `reference`.
fn urgent_document_at(user: &str, decision_id: &str, now_usec: u64, reference: &str) -> Vec<u8> {
    let demo =
        SignedAuthorization::from_json(&std::fs::read(assets().join("person-search.authz.json")).unwrap()).unwrap();
    let mut doc = demo.document.clone();
    doc.decision_id = decision_id.into();
    doc.issuer.kind = IssuerKind::SeniorOfficer;
    doc.issuer.name = user.into();
    doc.issuer.key_id = format!("user:{user}");
    doc.urgent = Some(UrgentDecision {
        senior_officer_id: user.into(),
        justification: "child missing, last seen on the square ten minutes ago".into(),
    });
    doc.fria_reference = "pending".into();
    doc.eu_database_registration = "pending".into();
    doc.window.from_usec = now_usec - HOUR_USEC;
    doc.window.until_usec = now_usec + 72 * HOUR_USEC;
    doc.issued_usec = now_usec - HOUR_USEC;
    doc.designated_persons[0].enrolment_images[0].reference = reference.into();
    SignedAuthorization::sign(doc, &crew_key(user))
        .to_json_pretty()
        .into_bytes()
}

/// The bundle of `authorization` and the astronaut picture.
fn bundle(authorization: Vec<u8>) -> Vec<u8> {
    UploadBundle {
        authorization,
        files: vec![UploadFile {
            name: IMAGE.into(),
            bytes: image_bytes(),
        }],
    }
    .to_bytes()
}

/// The drone with the DEMO trust store (crew anna, bertil, cecilia, david) and no permit: the
/// `[gate]` of a drone flown for urgent use only.
fn no_permit() -> Fixture {
    let mut fx = permit();
    fx.setup.authorization = None;
    fx
}

/// What an upload came to at the ground, and the acks the drone sent.
struct Sent {
    outcome: Option<UploadOutcome>,
    acks: Vec<UTKIK_UPLOAD_ACK_DATA>,
}

/// Runs `bytes` through the ground's [`UploadSender`] to the gate, every chunk signed with
/// `key` (the link key, or a forger's), from `at_usec` on (20 ms per round, at most 60 s: the
/// astronaut picture makes a bundle of about 2000 chunks).
fn upload_with(gate: &mut Gate, key: &LinkKey, upload_id: u32, bytes: Vec<u8>, at_usec: u64) -> Sent {
    let mut tx = UploadSender::new(upload_id, 1, 191, bytes, 0.0);
    let mut acks = Vec::new();
    let mut now_s = 0.0;
    while tx.outcome().is_none() && now_s < 60.0 {
        for chunk in tx.due(now_s) {
            let frame = sign_frame(key, GROUND, &chunk);
            let out = gate.handle_ground_frame(&frame, at_usec + (now_s * 1e6) as u64);
            for m in out.messages {
                if let MavMessage::UTKIK_UPLOAD_ACK(a) = m {
                    assert!(tx.on_ack(1, &a, now_s), "the ack answers this upload: {a:?}");
                    acks.push(a);
                }
            }
        }
        now_s += 0.02;
    }
    Sent {
        outcome: tx.outcome().cloned(),
        acks,
    }
}

fn upload(gate: &mut Gate, upload_id: u32, bytes: Vec<u8>, at_usec: u64) -> Sent {
    upload_with(gate, &link_key(), upload_id, bytes, at_usec)
}

fn stored(sent: &Sent) -> AuthzDigest {
    match &sent.outcome {
        Some(UploadOutcome::Stored(d)) => *d,
        other => panic!("not stored: {other:?} (last ack {:?})", sent.acks.last()),
    }
}

fn refused(sent: &Sent) -> String {
    match &sent.outcome {
        Some(UploadOutcome::Refused(why)) => why.clone(),
        other => panic!("not refused: {other:?} (last ack {:?})", sent.acks.last()),
    }
}

/// A command about `digest` given at `time_usec`, signed by DEMO user `user`, link-signed and
/// handled at `time_usec`.
fn command_about(
    gate: &mut Gate,
    command: UtkikAuthzCommand,
    digest: AuthzDigest,
    request_id: u16,
    time_usec: u64,
    user: &str,
) -> GateOutput {
    let cmd = user_signed(
        UTKIK_AUTHZ_COMMAND_DATA {
            time_usec,
            target_system: 1,
            target_component: 191,
            request_id,
            command,
            authorization_digest: *digest.as_bytes(),
            ..UTKIK_AUTHZ_COMMAND_DATA::DEFAULT
        },
        user,
    );
    gate.handle_command_frame(&sign_frame(&link_key(), GROUND, &cmd), time_usec)
}

/// Template model calls a face of the designated person inside the area causes at `t`, on a new
/// track each time (a track that matched is not looked at again), and the alerts sent.
fn look(gate: &mut Gate, t: u64, track: u32) -> (u64, usize) {
    let (frame, faces) = faces_in_scene(0, Some(inside()));
    let faces: Vec<GateFace> = faces
        .iter()
        .map(|f| GateFace {
            track_id: Some(track),
            ..f.clone()
        })
        .collect();
    let calls = gate.template_model_calls();
    let out = gate.process(t, &frame, &faces);
    (gate.template_model_calls() - calls, out.alerts.len())
}

/// The files under `dir`, recursively (missing: none).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn refused_uploads(gate: &Gate) -> Vec<(String, String)> {
    audit_events(gate)
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::AuthorizationRefused { field, reason } if field.starts_with("upload") => Some((field, reason)),
            _ => None,
        })
        .collect()
}

fn verified(bytes: &[u8]) -> VerifiedAuthorization {
    let trust = TrustStore::load(&assets().join("demo-trust-store.json")).unwrap();
    authorize(bytes, &trust, NOW_USEC).unwrap()
}

#[test]
fn an_uploaded_urgent_use_started_by_the_senior_officer_identifies_with_the_uploaded_image() {
    let fx = no_permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    assert_eq!(gate.state(), None, "no authorization loaded (UTKIK_AUTHZ_STATE_NONE)");
    let MavMessage::UTKIK_AUTHZ_STATUS(s) = gate.status_message(NOW_USEC, None) else {
        panic!()
    };
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_NONE);
    assert_eq!(s.authorization_digest, [0; 32]);
    // Nothing to start before the upload.
    let doc = urgent_document("cecilia", "URGENT-UPLOAD-1");
    let digest = verified(&doc).digest();
    let out = command_about(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        digest,
        1,
        NOW_USEC,
        "cecilia",
    );
    assert_eq!(last_result(&out), (1, MAV_RESULT_DENIED));
    assert!(
        audit_events(&gate).iter().any(|e| matches!(e,
            AuditEvent::AuthzCommand { accepted: false, reason, .. } if reason.contains("upload it first"))),
        "the refusal says why"
    );
    assert_eq!(look(&mut gate, NOW_USEC + 1, 1), (0, 0), "nothing runs");
    assert!(!gate.template_model_loaded());

    // The upload: stored under uploads/<digest>/, verified, and it runs nothing by itself.
    let bytes = bundle(doc.clone());
    let total = bytes.len() as u32;
    let sent = upload(&mut gate, 7, bytes, NOW_USEC + 2 * S);
    assert_eq!(stored(&sent), digest);
    let last = sent.acks.last().unwrap();
    assert_eq!(last.status, UtkikUploadStatus::UTKIK_UPLOAD_STATUS_STORED);
    assert_eq!(
        (last.upload_id, last.received_bytes, last.target_system),
        (7, total, 255)
    );
    assert!(
        sent.acks[..sent.acks.len() - 1]
            .iter()
            .all(|a| a.status == UtkikUploadStatus::UTKIK_UPLOAD_STATUS_RECEIVING),
        "progress until the final answer"
    );
    let dir = fx.setup.volatile_dir.join(UPLOADS_DIR).join(digest.to_hex());
    assert_eq!(std::fs::read(dir.join(AUTHORIZATION_FILE)).unwrap(), doc);
    assert_eq!(std::fs::read(dir.join(IMAGE)).unwrap(), image_bytes());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(dir.join(IMAGE)).unwrap().permissions().mode() & 0o777,
        0o600,
        "an enrolment image is biometric data"
    );
    let stats = gate.upload_stats();
    assert_eq!((stats.stored, stats.refused, stats.chunks_dropped), (1, 0, 0));
    assert_eq!(stats.chunks_taken, total.div_ceil(200) as u64);
    assert_eq!(gate.state(), None, "storing is not loading");
    assert!(audit_events(&gate).iter().any(|e| matches!(e,
        AuditEvent::AuthorizationLoaded { authorization_digest, issuer_key_id, .. }
            if *authorization_digest == digest && issuer_key_id == "user:cecilia")));

    // An operator may not start it; the senior officer does.
    let out = command_about(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        digest,
        2,
        NOW_USEC + 3 * S,
        "anna",
    );
    assert_eq!(last_result(&out), (2, MAV_RESULT_DENIED));
    assert_eq!(gate.state(), None, "a refused command loads nothing");
    let out = command_about(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        digest,
        3,
        NOW_USEC + 4 * S,
        "cecilia",
    );
    assert_eq!(last_result(&out), (3, MAV_RESULT_ACCEPTED));
    assert_eq!(gate.state(), Some(AuthzState::Urgent));
    assert_eq!(gate.digest(), digest);
    assert_eq!(
        gate.loaded_document(),
        Some((digest, crate::gate::saved_state::DocumentSource::Upload))
    );
    assert_eq!(gate.enrolled_persons(), 1);
    assert_eq!(gate.template_model_calls(), 1, "enrolment from the uploaded image");
    assert_eq!(look(&mut gate, NOW_USEC + 5 * S, 2), (1, 1), "identifies, and matches");
    let events = audit_events(&gate);
    assert!(events.iter().any(|e| matches!(e,
        AuditEvent::UrgentStarted { authorization_digest, senior_officer_id, deadline_usec, .. }
            if *authorization_digest == digest && senior_officer_id == "cecilia"
                && *deadline_usec == NOW_USEC + 4 * S + 24 * HOUR_USEC)));
    verify_file(gate.audit_path(), &VerifyOptions::default()).expect("the chain stays whole");
}

/// A drone flying with a permit (loaded, not running) takes the uploaded urgent use in its
/// place; while a use runs, no command can swap the document under it.
#[test]
fn a_drone_with_a_permit_switches_to_the_upload_only_when_no_use_runs() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let permit_digest = gate.digest();
    assert_eq!(gate.state(), Some(AuthzState::Pending));
    let doc = urgent_document("cecilia", "URGENT-UPLOAD-2");
    let digest = stored(&upload(&mut gate, 9, bundle(doc), NOW_USEC));
    assert_eq!(gate.digest(), permit_digest, "storing is not loading");

    // The permit runs: a command naming the upload is refused naming the running use.
    let out = command_about(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        permit_digest,
        1,
        NOW_USEC + S,
        "cecilia",
    );
    assert_eq!(last_result(&out), (1, MAV_RESULT_ACCEPTED));
    let out = command_about(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        digest,
        2,
        NOW_USEC + 2 * S,
        "cecilia",
    );
    assert_eq!(last_result(&out), (2, MAV_RESULT_DENIED));
    assert_eq!(gate.digest(), permit_digest);
    assert_eq!(gate.state(), Some(AuthzState::Active), "the running use is untouched");
    assert!(audit_events(&gate).iter().any(|e| matches!(e,
        AuditEvent::AuthzCommand { accepted: false, reason, .. }
            if reason.contains("DEMO-AM-2026-0001") && reason.contains("STOP it"))));

    // Stopped: the upload is taken.
    let out = command_about(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP,
        permit_digest,
        3,
        NOW_USEC + 3 * S,
        "cecilia",
    );
    assert_eq!(last_result(&out), (3, MAV_RESULT_ACCEPTED));
    let calls = gate.template_model_calls();
    let out = command_about(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        digest,
        4,
        NOW_USEC + 4 * S,
        "cecilia",
    );
    assert_eq!(last_result(&out), (4, MAV_RESULT_ACCEPTED));
    assert_eq!(gate.digest(), digest);
    assert_eq!(gate.state(), Some(AuthzState::Urgent));
    assert_eq!(
        gate.template_model_calls(),
        calls + 1,
        "enrolment from the uploaded image"
    );
    assert_eq!(look(&mut gate, NOW_USEC + 5 * S, 5), (1, 1));
    let MavMessage::UTKIK_AUTHZ_STATUS(s) = gate.status_message(NOW_USEC + 5 * S, None) else {
        panic!()
    };
    assert_eq!(s.authorization_digest, *digest.as_bytes());
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT);
}

/// Only chunks signed with the link key count: an unsigned or forged chunk is dropped and
/// counted, never acknowledged, and a whole upload signed with another key stores nothing.
#[test]
fn chunks_without_the_link_signature_are_not_taken_and_not_acked() {
    let fx = no_permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let bytes = bundle(urgent_document("cecilia", "URGENT-UPLOAD-3"));
    let mut tx = UploadSender::new(5, 1, 191, bytes.clone(), 0.0);
    let chunks = tx.due(0.0);
    let first = chunks[0].clone();
    // Unsigned.
    let out = gate.handle_ground_frame(&utkik_shared::mavframe::encode_v2(GROUND, &first), NOW_USEC);
    assert!(out.messages.is_empty(), "no ack: {:?}", out.messages);
    // Signed with another key.
    let forger = LinkKey::from_json(
        br#"{"format":"utkik-link-key/1","link_id":1,"secret_key_hex":"0909090909090909090909090909090909090909090909090909090909090909"}"#,
        Path::new("forger"),
    )
    .unwrap();
    let out = gate.handle_ground_frame(&sign_frame(&forger, GROUND, &first), NOW_USEC);
    assert!(out.messages.is_empty(), "no ack: {:?}", out.messages);
    let stats = gate.upload_stats();
    assert_eq!((stats.chunks_taken, stats.chunks_dropped), (0, 2));
    // A whole upload by the forger: nothing acknowledged, nothing stored.
    let sent = upload_with(&mut gate, &forger, 6, bytes.clone(), NOW_USEC + S);
    assert!(sent.acks.is_empty() && sent.outcome.is_none());
    assert!(files_under(&fx.setup.volatile_dir.join(UPLOADS_DIR)).is_empty());
    let stats = gate.upload_stats();
    assert_eq!((stats.chunks_taken, stats.stored), (0, 0));
    assert!(stats.chunks_dropped > 2);
    // A forged chunk in the middle of a genuine upload changes nothing of it.
    let MavMessage::UTKIK_UPLOAD_CHUNK(c) = chunks[1].clone() else {
        panic!()
    };
    let bad = MavMessage::UTKIK_UPLOAD_CHUNK(UTKIK_UPLOAD_CHUNK_DATA { data: [0xAA; 200], ..c });
    let good = gate.handle_ground_frame(&sign_frame(&link_key(), GROUND, &first), NOW_USEC + 2 * S);
    assert_eq!(good.messages.len(), 1, "the genuine chunk is acked");
    let out = gate.handle_ground_frame(&sign_frame(&forger, GROUND, &bad), NOW_USEC + 2 * S);
    assert!(out.messages.is_empty());
    // Control: the same bundle over the real link is stored (the forged chunk was not taken).
    let sent = upload(&mut gate, 5, bytes, NOW_USEC + 3 * S);
    assert_eq!(sent.outcome.map(|o| matches!(o, UploadOutcome::Stored(_))), Some(true));
}

/// The document inside a bundle must verify against the drone's own trust store: one signed by
/// an operator's crew key is refused, and the loaded, running permit keeps working. Control:
/// the same bundle signed by the senior officer is stored.
#[test]
fn a_bundle_signed_by_an_operator_is_refused_and_the_running_use_keeps_working() {
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let permit_digest = gate.digest();
    let out = command_about(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
        permit_digest,
        1,
        NOW_USEC,
        "cecilia",
    );
    assert_eq!(last_result(&out), (1, MAV_RESULT_ACCEPTED));
    assert_eq!(look(&mut gate, NOW_USEC + S, 1), (1, 1));

    let by_anna = urgent_document("anna", "URGENT-UPLOAD-4");
    let why = refused(&upload(&mut gate, 11, bundle(by_anna), NOW_USEC + 2 * S));
    assert!(why.contains("anna"), "the ack names what is wrong: {why}");
    let logged = refused_uploads(&gate);
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0].0, format!("upload: {AUTHORIZATION_FILE}"));
    assert!(
        logged[0].1.contains("crew member `anna` is not a senior officer"),
        "{logged:?}"
    );
    assert!(
        files_under(&fx.setup.volatile_dir.join(UPLOADS_DIR)).is_empty(),
        "nothing written"
    );
    assert_eq!(gate.upload_stats().refused, 1);
    // The permit is untouched and still identifies.
    assert_eq!((gate.digest(), gate.state()), (permit_digest, Some(AuthzState::Active)));
    assert_eq!(look(&mut gate, NOW_USEC + 3 * S, 2), (1, 1));
    // Control: the same bundle signed by the senior officer.
    let by_cecilia = urgent_document("cecilia", "URGENT-UPLOAD-4");
    let digest = stored(&upload(&mut gate, 12, bundle(by_cecilia), NOW_USEC + 4 * S));
    assert!(
        fx.setup
            .volatile_dir
            .join(UPLOADS_DIR)
            .join(digest.to_hex())
            .join(IMAGE)
            .is_file()
    );
    assert_eq!(
        gate.digest(),
        permit_digest,
        "stored, not loaded: the permit still runs"
    );
    assert_eq!(look(&mut gate, NOW_USEC + 5 * S, 3), (1, 1));
}

/// A damaged bundle is refused naming what is wrong, whole (its SHA-256 matches what was sent,
/// so only the drone's own reading finds it) and nothing of it is written.
#[test]
fn a_truncated_or_garbled_bundle_is_refused_naming_why() {
    let fx = no_permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let doc = urgent_document("cecilia", "URGENT-UPLOAD-5");
    let good = bundle(doc.clone());
    let image_len = image_bytes().len();

    let cut = good[..good.len() - 100].to_vec();
    let why = refused(&upload(&mut gate, 21, cut, NOW_USEC));
    assert!(why.starts_with("bundle ends at byte"), "{why}");
    let mut garbled = good.clone();
    garbled[0] = b'X';
    let why = refused(&upload(&mut gate, 22, garbled, NOW_USEC + S));
    assert!(why.contains("not an upload bundle"), "{why}");
    // A well-formed bundle whose document is not JSON.
    let not_json = bundle(b"{ this is not json".to_vec());
    let why = refused(&upload(&mut gate, 23, not_json, NOW_USEC + 2 * S));
    assert!(!why.is_empty());
    // The right document with another image than the one signed.
    let swapped = UploadBundle {
        authorization: doc.clone(),
        files: vec![UploadFile {
            name: IMAGE.into(),
            bytes: vec![0x89; 64],
        }],
    }
    .to_bytes();
    let why = refused(&upload(&mut gate, 24, swapped, NOW_USEC + 3 * S));
    assert!(why.contains("astronaut.png"), "{why}");
    // A file the document does not name.
    let extra = UploadBundle {
        authorization: doc,
        files: vec![
            UploadFile {
                name: IMAGE.into(),
                bytes: image_bytes(),
            },
            UploadFile {
                name: "someone-else.png".into(),
                bytes: vec![1; 10],
            },
        ],
    }
    .to_bytes();
    let why = refused(&upload(&mut gate, 25, extra, NOW_USEC + 4 * S));
    assert!(why.contains("someone-else.png"), "{why}");

    let logged = refused_uploads(&gate);
    let fields: Vec<&str> = logged.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "upload: bundle",
            "upload: bundle",
            &format!("upload: {AUTHORIZATION_FILE}"),
            "upload: enrolment images",
            "upload: enrolment images",
        ]
    );
    // The audit log has the whole reason, naming the field the bundle ended in.
    assert!(
        logged[0].1.contains(&format!("`{IMAGE}`'s {image_len} bytes")),
        "{logged:?}"
    );
    assert!(logged[3].1.contains("is not the signed"), "{logged:?}");
    assert!(
        files_under(&fx.setup.volatile_dir.join(UPLOADS_DIR)).is_empty(),
        "nothing written"
    );
    assert_eq!(gate.upload_stats().refused, 5);
    assert_eq!(gate.state(), None);
    // Bytes that do not match the SHA-256 the sender declared: refused once all have arrived,
    // and never handed on. (A small bundle: the document alone, its image from the cache.)
    let small = UploadBundle {
        authorization: urgent_document_at(
            "cecilia",
            "URGENT-UPLOAD-5B",
            NOW_USEC,
            "utkik-cache:imagery/faces/astronaut.png",
        ),
        files: Vec::new(),
    }
    .to_bytes();
    let mut tx = UploadSender::new(26, 1, 191, small, 0.0);
    let mut now_s = 0.0;
    while tx.outcome().is_none() {
        assert!(now_s < 10.0, "no final answer: {:?}", tx.progress());
        for m in tx.due(now_s) {
            let MavMessage::UTKIK_UPLOAD_CHUNK(mut c) = m else {
                panic!()
            };
            c.bundle_sha256 = bundle_sha256(b"another bundle");
            let out = gate.handle_ground_frame(
                &sign_frame(&link_key(), GROUND, &MavMessage::UTKIK_UPLOAD_CHUNK(c)),
                NOW_USEC + 5 * S + (now_s * 1e6) as u64,
            );
            for m in out.messages {
                if let MavMessage::UTKIK_UPLOAD_ACK(a) = m {
                    tx.on_ack(1, &a, now_s);
                }
            }
        }
        now_s += 0.02;
    }
    let Some(UploadOutcome::Refused(why)) = tx.outcome() else {
        panic!("{:?}", tx.outcome())
    };
    assert!(why.contains("bundle_sha256 does not match"), "{why}");
    let logged = refused_uploads(&gate);
    assert_eq!(logged.len(), 6);
    assert_eq!(logged[5].0, "upload");
    assert!(logged[5].1.contains("upload 26"), "{logged:?}");
    assert!(files_under(&fx.setup.volatile_dir.join(UPLOADS_DIR)).is_empty());
    // Control: the good bundle is stored.
    assert!(matches!(
        upload(&mut gate, 27, good, NOW_USEC + 6 * S).outcome,
        Some(UploadOutcome::Stored(_))
    ));
}

/// Killed (no shutdown) during the uploaded urgent use, the drone comes back with THAT document,
/// its original start and 24 h deadline, waiting for the ground; the deadline then ends it.
#[test]
fn a_drone_killed_during_an_uploaded_urgent_use_comes_back_with_that_document() {
    use crate::gate::saved_state::DocumentSource;
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let doc = urgent_document("cecilia", "URGENT-UPLOAD-6");
    let digest = stored(&upload(&mut gate, 31, bundle(doc), NOW_USEC));
    let started = NOW_USEC + S;
    let out = command_about(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        digest,
        1,
        started,
        "cecilia",
    );
    assert_eq!(last_result(&out), (1, MAV_RESULT_ACCEPTED));
    assert_eq!(look(&mut gate, started + S, 1), (1, 1));
    drop(gate); // kill -9

    let mut gate = Gate::open(&fx.setup, NOW_USEC + HOUR_USEC).unwrap();
    assert_eq!(
        gate.loaded_document(),
        Some((digest, DocumentSource::Upload)),
        "not the permit"
    );
    assert_eq!(gate.state(), Some(AuthzState::Urgent));
    assert_eq!(gate.matches_held(), 1);
    assert_eq!(gate.enrolled_persons(), 1, "re-enrolled from the uploaded image");
    let restored = audit_events(&gate).into_iter().rev().find_map(|e| match e {
        AuditEvent::GateRestored {
            authorization_digest,
            state,
            urgent_deadline_usec,
            use_started_usec,
            ..
        } => Some((authorization_digest, state, urgent_deadline_usec, use_started_usec)),
        _ => None,
    });
    assert_eq!(
        restored,
        Some((
            digest,
            AuthzState::Urgent,
            Some(started + 24 * HOUR_USEC),
            Some(started)
        ))
    );
    // Waits for the ground, then identifies again.
    assert_eq!(look(&mut gate, NOW_USEC + HOUR_USEC + S, 2), (0, 0));
    hear_ground(&mut gate, NOW_USEC + HOUR_USEC + 2 * S);
    assert_eq!(look(&mut gate, NOW_USEC + HOUR_USEC + 2 * S, 3).0, 1);
    // The 24 h deadline counts from the first start, not from the restart.
    let end = started + 24 * HOUR_USEC;
    gate.tick(end - S);
    assert_eq!(gate.state(), Some(AuthzState::Urgent));
    gate.tick(end);
    assert_eq!(gate.state(), Some(AuthzState::UrgentExpired));
    drop(gate);
    // And a restart after the deadline keeps it expired, with the uploaded document.
    let gate = Gate::open(&fx.setup, end + HOUR_USEC).unwrap();
    assert_eq!(gate.loaded_document(), Some((digest, DocumentSource::Upload)));
    assert_eq!(gate.state(), Some(AuthzState::UrgentExpired));
}

/// The urgent use is refused (URGENT_REFUSED): its uploaded enrolment images go with every
/// match and crop, and the deletion is logged. The document itself stays as the record of the
/// decision, the use cannot start again, and uploading it again stores nothing.
#[test]
fn a_refused_uploaded_use_deletes_its_enrolment_images() {
    let fx = no_permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let doc = urgent_document("cecilia", "URGENT-UPLOAD-7");
    let digest = stored(&upload(&mut gate, 41, bundle(doc.clone()), NOW_USEC));
    let dir = fx.setup.volatile_dir.join(UPLOADS_DIR).join(digest.to_hex());
    command_about(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        digest,
        1,
        NOW_USEC + S,
        "cecilia",
    );
    assert_eq!(look(&mut gate, NOW_USEC + 2 * S, 1), (1, 1));
    let out = command_about(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_REFUSED,
        digest,
        2,
        NOW_USEC + 3 * S,
        "cecilia",
    );
    assert_eq!(last_result(&out), (2, MAV_RESULT_ACCEPTED));
    assert_eq!(gate.state(), Some(AuthzState::Refused));
    assert_eq!(out.cancelled_alerts.len(), 1);
    assert_eq!(
        files_under(&dir),
        vec![dir.join(AUTHORIZATION_FILE)],
        "the image is gone"
    );
    assert!(files_under(gate.payloads().dir()).is_empty(), "the crop is gone");
    let events = audit_events(&gate);
    let erasure = events
        .iter()
        .find_map(|e| match e {
            AuditEvent::Erasure { user_id, what, .. } if user_id == "urgent refusal" => Some(what.clone()),
            _ => None,
        })
        .expect("the images' deletion is logged");
    assert!(
        erasure.starts_with("1 uploaded enrolment images of `URGENT-UPLOAD-7`"),
        "{erasure}"
    );
    let receipt = events
        .iter()
        .find_map(|e| match e {
            AuditEvent::DeletionReceipt {
                authorization_digest,
                deleted,
                payloads,
                ..
            } if *authorization_digest == digest => Some((deleted.clone(), payloads.len())),
            _ => None,
        })
        .expect("deletion receipt");
    let count = |k| receipt.0.iter().find(|d| d.kind == k).map(|d| d.count);
    assert_eq!(count(UseDataKind::Matches), Some(1));
    assert_eq!(count(UseDataKind::Templates), Some(1));
    assert_eq!(
        count(UseDataKind::EnrolmentImages),
        Some(1),
        "the uploaded image, on the receipt"
    );
    assert_eq!(receipt.1, 1, "the crop's hash is listed");
    // Refused is final, also across a restart.
    let out = command_about(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        digest,
        3,
        NOW_USEC + 4 * S,
        "cecilia",
    );
    assert_eq!(last_result(&out), (3, MAV_RESULT_DENIED));
    // Uploading it again does not bring the deleted image back.
    let why = refused(&upload(&mut gate, 42, bundle(doc.clone()), NOW_USEC + 5 * S));
    assert!(why.starts_with("this authorization was refused on this drone"), "{why}");
    assert_eq!(files_under(&dir), vec![dir.join(AUTHORIZATION_FILE)]);
    drop(gate);
    let mut gate = Gate::open(&fx.setup, NOW_USEC + 10 * S).unwrap();
    assert_eq!(gate.state(), Some(AuthzState::Refused));
    // Nor after a restart (the chunks' replay window starts empty then).
    let why = refused(&upload(&mut gate, 43, bundle(doc), NOW_USEC + 11 * S));
    assert!(why.starts_with("this authorization was refused on this drone"), "{why}");
    assert_eq!(files_under(&dir), vec![dir.join(AUTHORIZATION_FILE)]);
    verify_file(gate.audit_path(), &VerifyOptions::default()).expect("the chain stays whole");
}

/// The wiring over real sockets: chunks from the ground's UDP socket reach the gate through the
/// out link, its acks come back, and the stored document starts with a signed URGENT_START.
/// (The enrolment image is the drone's imagery cache copy here, `utkik-cache:`, so the bundle
/// is the document alone and the upload takes a few round trips.)
#[test]
fn pipeline_takes_an_upload_over_the_link_and_starts_it() {
    use std::net::UdpSocket;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use utkik_shared::dialect::{MavResult, UTKIK_AUTHZ_STATUS_DATA};
    use utkik_shared::mavframe::FrameDecoder;

    use crate::config::Config;
    use crate::ingest::time::unix_now_usec;
    use crate::shutdown::Shutdown;

    let fx = no_permit();
    let now = unix_now_usec();
    let gate = Gate::open(&fx.setup, now).unwrap();
    let doc = urgent_document_at(
        "cecilia",
        "URGENT-UPLOAD-SOCKETS",
        now,
        "utkik-cache:imagery/faces/astronaut.png",
    );
    let trust = TrustStore::load(&assets().join("demo-trust-store.json")).unwrap();
    let digest = authorize(&doc, &trust, now).unwrap().digest();
    let ground = UdpSocket::bind("127.0.0.1:0").unwrap();
    ground.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let drone_port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut config = Config::default();
    config.video.source = "test://ball".into();
    config.telemetry.endpoint = "udp://127.0.0.1:0".into();
    config.link.bind = drone_port.to_string();
    config.link.ground = ground.local_addr().unwrap().to_string();
    config.privacy.restream = false;
    config.detect.faces = false;
    config.detect.plates = false;
    let shutdown = Shutdown::new();
    let sd = shutdown.clone();
    let handle =
        std::thread::spawn(move || crate::pipeline::run_with_gate(&config, Vec::new(), Some(gate), sd, Arc::default()));

    /// The messages of one datagram to the ground (none within 20 ms: none).
    fn receive(ground: &UdpSocket, decoder: &mut FrameDecoder) -> Vec<MavMessage> {
        let mut buf = [0u8; 2048];
        match ground.recv_from(&mut buf) {
            Ok((n, _)) => decoder
                .push_messages(&buf[..n])
                .into_iter()
                .map(|d| d.message)
                .collect(),
            Err(_) => Vec::new(),
        }
    }
    fn wait_status(
        ground: &UdpSocket,
        decoder: &mut FrameDecoder,
        want: &dyn Fn(&UTKIK_AUTHZ_STATUS_DATA) -> bool,
    ) -> UTKIK_AUTHZ_STATUS_DATA {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            for m in receive(ground, decoder) {
                if let MavMessage::UTKIK_AUTHZ_STATUS(s) = m
                    && want(&s)
                {
                    return s;
                }
            }
        }
        panic!("no such UTKIK_AUTHZ_STATUS within 20 s");
    }
    let mut decoder = FrameDecoder::new();
    let s = wait_status(&ground, &mut decoder, &|_| true);
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_NONE);

    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let bytes = UploadBundle {
        authorization: doc,
        files: Vec::new(),
    }
    .to_bytes();
    let mut tx = UploadSender::new(77, 1, 191, bytes, 0.0);
    let t0 = Instant::now();
    while tx.outcome().is_none() {
        let now_s = t0.elapsed().as_secs_f64();
        assert!(now_s < 20.0, "upload not finished in 20 s: {:?}", tx.progress());
        for chunk in tx.due(now_s) {
            sender
                .send_to(&sign_frame(&link_key(), GROUND, &chunk), drone_port)
                .unwrap();
        }
        for m in receive(&ground, &mut decoder) {
            if let MavMessage::UTKIK_UPLOAD_ACK(a) = m {
                tx.on_ack(1, &a, t0.elapsed().as_secs_f64());
            }
        }
    }
    assert_eq!(tx.outcome(), Some(&UploadOutcome::Stored(digest)));
    eprintln!(
        "upload of {} bytes over UDP: {:.2} s, {} chunks sent",
        tx.progress().1,
        t0.elapsed().as_secs_f64(),
        tx.chunks_sent()
    );

    let cmd = user_signed(
        UTKIK_AUTHZ_COMMAND_DATA {
            time_usec: unix_now_usec(),
            target_system: 1,
            target_component: 191,
            request_id: 12,
            command: UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
            authorization_digest: *digest.as_bytes(),
            ..UTKIK_AUTHZ_COMMAND_DATA::DEFAULT
        },
        "cecilia",
    );
    sender
        .send_to(&sign_frame(&link_key(), GROUND, &cmd), drone_port)
        .unwrap();
    let s = wait_status(&ground, &mut decoder, &|s| s.last_request_id == 12);
    assert_eq!(s.last_result, MavResult::MAV_RESULT_ACCEPTED);
    assert_eq!(s.state, UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT);
    assert_eq!(s.authorization_digest, *digest.as_bytes());
    assert_eq!(s.templates_computed, 1, "enrolment of the one designated person");
    shutdown.trigger();
    handle.join().unwrap().unwrap();
}

/// The uploaded document is verified again at start-up: one altered on disk since is not loaded
/// (the record says why) and the drone comes back with its configured permit, pending.
#[test]
fn an_uploaded_document_altered_on_disk_is_not_loaded_again() {
    use crate::gate::saved_state::DocumentSource;
    let fx = permit();
    let mut gate = Gate::open(&fx.setup, NOW_USEC).unwrap();
    let permit_digest = gate.digest();
    let doc = urgent_document("cecilia", "URGENT-UPLOAD-8");
    let digest = stored(&upload(&mut gate, 51, bundle(doc), NOW_USEC));
    let out = command_about(
        &mut gate,
        UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
        digest,
        1,
        NOW_USEC + S,
        "cecilia",
    );
    assert_eq!(last_result(&out), (1, MAV_RESULT_ACCEPTED));
    drop(gate); // kill -9
    let file = fx
        .setup
        .volatile_dir
        .join(UPLOADS_DIR)
        .join(digest.to_hex())
        .join(AUTHORIZATION_FILE);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("URGENT-UPLOAD-8", "URGENT-UPLOAD-9")).unwrap();

    let mut gate = Gate::open(&fx.setup, NOW_USEC + 10 * S).unwrap();
    assert_eq!(
        gate.loaded_document(),
        Some((permit_digest, DocumentSource::Configured))
    );
    assert_eq!(gate.state(), Some(AuthzState::Pending));
    assert!(audit_events(&gate).iter().any(|e| matches!(e,
        AuditEvent::AuthorizationRefused { field, reason }
            if field == "gate state: loaded" && reason.contains(&digest.to_hex()) && reason.contains("signature"))));
    assert_eq!(look(&mut gate, NOW_USEC + 11 * S, 1), (0, 0), "nothing runs");
}
