//! `utkik-ground hitlist sign|verify` end to end: a senior officer signs typed entries with her own
//! key (opened with her password, as at sign-in), `verify` accepts the list against the trust
//! store, and the drone's own loader (`utkik_onboard::pipeline::hit_list_from_config_at`) takes it.
//! An operator cannot sign, a wrong password opens nothing, and an altered list is refused by both.

mod common;

use std::path::{Path, PathBuf};

use common::NOW_USEC;
use utkik_ground::hitlist_cli::{HitlistCliError, HitlistCmd, run_with};

const HOUR_USEC: u64 = 3_600_000_000;

const ENTRIES: &str = "# plate\texpires\treason\tadded_by\n\
                       ABC 123\t2027-06-01\tStolen vehicle, report K-1234-26\tanna\n\
                       XYZ 12A\t2027-03-01T12:00:00Z\tWanted in connection with K-99-26\n";

fn sign_cmd(dir: &Path, user: &str, out: &Path) -> HitlistCmd {
    HitlistCmd::Sign {
        users: dir.join("users.json"),
        user: user.into(),
        input: dir.join("entries.tsv"),
        out: out.to_path_buf(),
        valid_hours: 12,
        list_id: Some("K-1234-26/1".into()),
        password_file: None,
        plate_countries: vec!["SE".into()],
    }
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    common::users().save(&dir.path().join("users.json")).unwrap();
    std::fs::write(dir.path().join("entries.tsv"), ENTRIES).unwrap();
    let trust = dir.path().join("trust.json");
    std::fs::write(&trust, utkik_shared::demo::TRUST_STORE_JSON).unwrap();
    (dir, trust)
}

fn verify(trust: &Path, list: &Path, now_usec: u64) -> Result<String, HitlistCliError> {
    let cmd = HitlistCmd::Verify {
        trust_store: trust.to_path_buf(),
        plate_countries: vec!["SE".into()],
        list: list.to_path_buf(),
    };
    run_with(&cmd, &mut &b""[..], false, now_usec)
}

fn onboard_load(trust: &Path, list: &Path, now_usec: u64) -> Result<utkik_shared::hitlist::HitList, String> {
    let mut config = utkik_onboard::config::Config::default();
    config.gate.trust_store = trust.display().to_string();
    config.detect.plate_hit_list = list.display().to_string();
    utkik_onboard::pipeline::hit_list_from_config_at(&config, now_usec)
        .map(|l| l.expect("a list is configured"))
        .map_err(|e| e.to_string())
}

#[test]
fn hitlist_signed_by_a_senior_officer_verifies_and_the_drone_loads_it() {
    let (dir, trust) = setup();
    let out = dir.path().join("list.json");
    let said = run_with(
        &sign_cmd(dir.path(), "cecilia", &out),
        &mut &b"pw-cecilia\n"[..],
        false,
        NOW_USEC,
    )
    .unwrap();
    assert!(said.contains("2 entries signed by cecilia"), "{said}");

    let shown = verify(&trust, &out, NOW_USEC + HOUR_USEC).unwrap();
    assert!(shown.contains("`K-1234-26/1`: signed by cecilia"), "{shown}");
    assert!(
        shown.contains("#1 ABC 123") && shown.contains("added by anna"),
        "{shown}"
    );
    assert!(
        shown.contains("#2 XYZ 12A") && shown.contains("added by cecilia"),
        "{shown}"
    );
    assert!(shown.contains("valid until 2027-01-01T12:00:00Z"), "{shown}");

    let list = onboard_load(&trust, &out, NOW_USEC + HOUR_USEC).unwrap();
    assert_eq!(
        (list.list_id(), list.signer(), list.len()),
        ("K-1234-26/1", "cecilia", 2)
    );
    assert_eq!(list.lookup("ABC123", NOW_USEC + HOUR_USEC)[0].entry_id, 1);
    assert!(list.is_hit("XYZ 12A", NOW_USEC + HOUR_USEC));

    // After 12 h both refuse it, naming the reason.
    let late = NOW_USEC + 12 * HOUR_USEC;
    let e = verify(&trust, &out, late).unwrap_err().to_string();
    assert!(e.contains("list.json") && e.contains("expired"), "{e}");
    let e = onboard_load(&trust, &out, late).unwrap_err();
    assert!(e.contains("list.json") && e.contains("expired"), "{e}");

    // Altered after signing: refused by both.
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    v["document"]["entries"][1]["expires"] = "2099-01-01".into();
    std::fs::write(&out, v.to_string()).unwrap();
    let e = verify(&trust, &out, NOW_USEC).unwrap_err().to_string();
    assert!(e.contains("signature_ed25519_hex"), "{e}");
    assert!(onboard_load(&trust, &out, NOW_USEC).is_err());
}

#[test]
fn hitlist_sign_refuses_an_operator_a_wrong_password_and_an_unknown_proposer() {
    let (dir, _) = setup();
    let out = dir.path().join("list.json");
    let e = run_with(
        &sign_cmd(dir.path(), "anna", &out),
        &mut &b"pw-anna\n"[..],
        false,
        NOW_USEC,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("not a senior officer"), "{e}");
    let e = run_with(
        &sign_cmd(dir.path(), "cecilia", &out),
        &mut &b"pw-anna\n"[..],
        false,
        NOW_USEC,
    );
    assert!(e.is_err(), "a wrong password opens nothing");
    std::fs::write(dir.path().join("entries.tsv"), "ABC 123\t2027-06-01\tStolen\tmallory\n").unwrap();
    let e = run_with(
        &sign_cmd(dir.path(), "cecilia", &out),
        &mut &b"pw-cecilia\n"[..],
        false,
        NOW_USEC,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("line 1") && e.contains("mallory"), "{e}");
    assert!(!out.exists(), "nothing written when refused");
    // The password may come from a file.
    std::fs::write(dir.path().join("entries.tsv"), ENTRIES).unwrap();
    std::fs::write(dir.path().join("pw"), "pw-cecilia\n").unwrap();
    let mut cmd = sign_cmd(dir.path(), "cecilia", &out);
    if let HitlistCmd::Sign { password_file, .. } = &mut cmd {
        *password_file = Some(dir.path().join("pw"));
    }
    run_with(&cmd, &mut &b""[..], false, NOW_USEC).unwrap();
    assert!(out.exists());
}
