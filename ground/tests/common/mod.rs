//! Set-up shared by the ground integration tests: users with known passwords, a `GroundOps`
//! with a real audit log, the demo trust store, a world holding one possible match with its
//! evidence crop, and readers for what ended up on disk.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};

use utkik_ground::audit_log::{AUDIT_FILE, GroundAudit};
use utkik_ground::auth::HashParams;
use utkik_ground::auth::UserDirectory;
use utkik_ground::auth::users::UserEntry;
use utkik_ground::ops::GroundOps;
use utkik_ground::state::{Origin, World};
use utkik_shared::audit::AuditEvent;
use utkik_shared::authz::{Role, TrustStore};
use utkik_shared::dialect::{
    DATA_TRANSMISSION_HANDSHAKE_DATA, ENCAPSULATED_DATA_DATA, MavMessage, UTKIK_BIOMETRIC_MATCH_DATA,
};

/// 2027-01-01, inside the demo document's window.
pub const NOW_USEC: u64 = 1_798_761_600_000_000;
pub const CROP: &[u8] = b"\xff\xd8 evidence crop of the designated person \xff\xd9";

/// Another binary of the workspace (`utkik-sim`, `utkik-onboard`): it sits beside this crate's
/// (`cargo nextest run --workspace` builds them all).
pub fn sibling(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_utkik-ground")).with_file_name(name);
    assert!(
        p.exists(),
        "{} missing: build the workspace (cargo nextest run --workspace)",
        p.display()
    );
    p
}

pub fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
}

/// The DEMO crew and auditor with test passwords `pw-USER`; the crew's signing keys are the
/// published DEMO seeds, so the commands they sign verify against the DEMO trust store as on the
/// drone.
pub fn users() -> UserDirectory {
    let u = |id: &str, role| match utkik_shared::demo::user_signing_seed(id) {
        Some(seed) => {
            UserEntry::with_password_and_seed(id, id, vec![role], &format!("pw-{id}"), &seed, HashParams::MINIMUM)
        }
        None => UserEntry::with_password(id, id, vec![role], &format!("pw-{id}"), HashParams::MINIMUM),
    };
    UserDirectory::from_entries(vec![
        u("anna", Role::Operator),
        u("bertil", Role::Operator),
        u("cecilia", Role::SeniorOfficer),
        u("david", Role::Pilot),
        u("eva", Role::Auditor),
    ])
    .unwrap()
}

pub fn ops_in(dir: &Path, trust: TrustStore) -> GroundOps {
    let audit = GroundAudit::open(dir, None).unwrap();
    GroundOps::new(users(), trust, audit)
}

/// An urgent-use document signed by a senior officer's (test) key, and a trust store holding it.
pub fn urgent_document(dir: &Path) -> (PathBuf, TrustStore) {
    let signed = utkik_shared::authz::SignedAuthorization::from_json(
        &std::fs::read(repo("assets/authz/person-search.authz.json")).unwrap(),
    )
    .unwrap();
    let mut doc = signed.document;
    let key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
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
    std::fs::write(
        &path,
        utkik_shared::authz::SignedAuthorization::sign(doc, &key).to_json_pretty(),
    )
    .unwrap();
    let trust = format!(
        r#"{{"format":"utkik-trust-store/1","keys":[{{"key_id":"test-senior","kind":"senior_officer","holder":"t","public_key_hex":"{}"}}]}}"#,
        hex::encode(key.verifying_key().to_bytes())
    );
    (path, TrustStore::from_json(trust.as_bytes()).unwrap())
}

pub fn demo_trust() -> TrustStore {
    TrustStore::from_json(&std::fs::read(repo("assets/authz/demo-trust-store.json")).unwrap()).unwrap()
}

pub fn login(ops: &mut GroundOps, user: &str) {
    ops.logout(NOW_USEC).unwrap();
    ops.login(user, &format!("pw-{user}"), NOW_USEC).unwrap();
}

/// A possible match with its evidence crop, under the authorization whose digest is `digest`.
pub fn world_with_match(digest: [u8; 32]) -> World {
    let mut w = World::new();
    let origin = Origin {
        system_id: 1,
        component_id: 191,
        sequence: 0,
    };
    let mut prefix = [0u8; 16];
    prefix.copy_from_slice(&digest[..16]);
    let mut subject = [0u8; 16];
    subject.copy_from_slice(b"designated-astro");
    let m = UTKIK_BIOMETRIC_MATCH_DATA {
        alert_id: 5,
        score: 0.7,
        authorization_digest: prefix,
        evidence_transfer_id: 1,
        evidence_size: CROP.len() as u32,
        lat: 593_940_000,
        lon: 179_010_000,
        subject_id: subject.into(),
        ..Default::default()
    };
    w.apply(origin, &MavMessage::UTKIK_BIOMETRIC_MATCH(m), 1.0);
    w.apply(
        origin,
        &MavMessage::DATA_TRANSMISSION_HANDSHAKE(DATA_TRANSMISSION_HANDSHAKE_DATA {
            size: CROP.len() as u32,
            packets: 1,
            ..Default::default()
        }),
        1.0,
    );
    let mut data = [0u8; 253];
    data[..CROP.len()].copy_from_slice(CROP);
    w.apply(
        origin,
        &MavMessage::ENCAPSULATED_DATA(ENCAPSULATED_DATA_DATA { seqnr: 0, data }),
        1.0,
    );
    assert_eq!(w.alerts.get(1, 5).unwrap().evidence_jpeg.as_deref(), Some(CROP));
    w
}

pub fn events(dir: &Path) -> Vec<AuditEvent> {
    std::fs::read_to_string(dir.join(AUDIT_FILE))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            serde_json::from_value(v["body"]["event"].clone()).unwrap()
        })
        .collect()
}

pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_containing(&p, needle));
        } else if std::fs::read(&p).unwrap().windows(needle.len()).any(|w| w == needle) {
            out.push(p);
        }
    }
    out
}
