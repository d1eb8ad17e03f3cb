//! The LAW.md rules at the ground station, end to end through `GroundOps` with a real audit log:
//! two different authenticated users confirm; the same user twice, an auditor or a pilot cannot;
//! export is blocked until confirmed; a refused urgent use leaves no crop at the ground and a
//! deletion receipt in the log; `verify-audit` names a tampered record; the IMY report holds no
//! sensitive operational data.

use std::path::{Path, PathBuf};
use std::process::Command;

use ed25519_dalek::SigningKey;
use utkik_ground::audit_log::AUDIT_FILE;
use utkik_ground::authorization::AuthzAction;
use utkik_ground::ops::OpsError;
use utkik_ground::state::{AlertAction, AlertError, AlertState, World};
use utkik_shared::audit::{AuditEvent, verify_file};
use utkik_shared::authz::{AuthzState, SignedAuthorization, TrustStore};
use utkik_shared::dialect::MavMessage;

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

/// An urgent-use document signed by a senior officer's (test) key, and a trust store holding it.
fn urgent_document(dir: &Path) -> (PathBuf, TrustStore) {
    let signed =
        SignedAuthorization::from_json(&std::fs::read(repo("assets/authz/person-search.authz.json")).unwrap()).unwrap();
    let mut doc = signed.document;
    let key = SigningKey::from_bytes(&[42; 32]);
    doc.decision_id = "TEST-URGENT-1".into();
    doc.issuer.kind = utkik_shared::authz::IssuerKind::SeniorOfficer;
    doc.issuer.name = "cecilia".into();
    doc.issuer.key_id = "test-senior".into();
    doc.fria_reference = "pending".into();
    doc.eu_database_registration = "pending".into();
    doc.urgent = Some(utkik_shared::authz::UrgentDecision {
        senior_officer_id: "cecilia".into(),
        justification: "imminent threat to life".into(),
    });
    let path = dir.join("urgent.authz.json");
    std::fs::write(&path, SignedAuthorization::sign(doc, &key).to_json_pretty()).unwrap();
    let trust = format!(
        r#"{{"format":"utkik-trust-store/1","keys":[{{"key_id":"test-senior","kind":"senior_officer","holder":"t","public_key_hex":"{}"}}]}}"#,
        hex::encode(key.verifying_key().to_bytes())
    );
    (path, TrustStore::from_json(trust.as_bytes()).unwrap())
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
    assert_eq!(ops.console.loaded.as_ref().unwrap().state(), AuthzState::Refused);
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
    assert_eq!(receipt.0, "ground");
    assert_eq!(receipt.2.len(), 1, "the crop's payload listed");
    assert!(receipt.1.iter().any(|d| d.count == 1));
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
    login(&mut ops, "anna");
    let mut w = world_with_match(digest.0);
    ops.authz_command(&mut w, AuthzAction::Activate, 1, NOW_USEC).unwrap();
    ops.view_evidence(&w, 1, 5, NOW_USEC).unwrap();
    ops.confirm(&mut w, 1, 5, NOW_USEC).unwrap();
    ops.search_reads(&w, "ABC123", NOW_USEC).unwrap();
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
    let r = bin()
        .args(["imy-report", "--audit"])
        .arg(&log)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("imy-statistics.json")).unwrap()).unwrap();
    assert_eq!(stats[0]["year"], 2027);
    assert_eq!(stats[0]["uses"], 1);
    assert_eq!(stats[0]["matches"], 1);
    assert_eq!(stats[0]["confirmed_matches"], 1);
    assert_eq!(stats[0]["decisions_granted"], 1);
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
    let r = bin()
        .args(["imy-report", "--audit"])
        .arg(&log)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!r.status.success());
}
