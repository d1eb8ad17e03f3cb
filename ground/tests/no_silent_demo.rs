//! No silent demo (issue 14 item 1), with the real `utkik-ground` binary: without `--demo` and
//! without files it refuses to start and names every missing flag; a key file others can read
//! is refused with its mode; with `--demo` it runs, says DEMO on the console, and its audit log
//! is a DEMO log (a DEMO record, checkpoints with the DEMO key id) whose IMY report says DEMO.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn ground(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_utkik-ground"))
        .args(["--headless", "--link", "udp:127.0.0.1:0", "--record-dir"])
        .arg(dir.join("rec"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn without_demo_and_files_the_station_refuses_naming_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = ground(&["--duration-s", "1"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for flag in ["--users", "--trust-store", "--link-key", "--audit-key", "--demo"] {
        assert!(err.contains(flag), "{flag} not named: {err}");
    }
    assert!(
        !dir.path().join("rec").join("DEMO-keys").exists(),
        "nothing DEMO without --demo"
    );
    assert!(!dir.path().join("rec").join("audit").exists(), "nothing started");
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_refused_with_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str, mode: u32| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p.display().to_string()
    };
    let users = write("users.json", r#"{"format":"utkik-users/2","users":[]}"#, 0o600);
    let trust = write("trust.json", r#"{"format":"utkik-trust-store/1","keys":[]}"#, 0o644);
    let link = write(
        "link.json",
        r#"{"format":"utkik-link-key/1","link_id":1,"secret_key_hex":"0101010101010101010101010101010101010101010101010101010101010101"}"#,
        0o600,
    );
    let audit = write(
        "audit.json",
        r#"{"format":"utkik-audit-key/1","key_id":"k-1","seed_hex":"0202020202020202020202020202020202020202020202020202020202020202"}"#,
        0o644,
    );
    let out = ground(
        &[
            "--users",
            &users,
            "--trust-store",
            &trust,
            "--link-key",
            &link,
            "--audit-key",
            &audit,
            "--duration-s",
            "1",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--audit-key") && err.contains("audit.json") && err.contains("0644") && err.contains("chmod 600"),
        "{err}"
    );
}

#[test]
fn with_demo_the_station_runs_and_everything_says_demo() {
    let dir = tempfile::tempdir().unwrap();
    let out = ground(&["--demo", "--duration-s", "1.5"], dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("DEMO - public DEMO users and keys"), "banner: {stdout}");
    let log_path = dir.path().join("rec/audit/ground-audit.jsonl");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("station started with --demo"), "{log}");
    assert!(
        log.contains("DEMO-ground-audit-1"),
        "the checkpoint carries the DEMO key id: {log}"
    );
    assert!(utkik_shared::demo::audit_log_is_demo(&log));
    // The IMY report of a DEMO log says DEMO in every file name and in the HTML.
    let imy = dir.path().join("imy");
    // Written for the DEMO auditor (a disclosure, logged in the station's audit log).
    let mut child = Command::new(env!("CARGO_BIN_EXE_utkik-ground"))
        .args(["imy-report", "--audit"])
        .arg(&log_path)
        .arg("-o")
        .arg(&imy)
        .arg("--users")
        .arg(dir.path().join("rec/DEMO-keys").join(utkik_shared::demo::USERS_FILE))
        .arg("--audit-dir")
        .arg(dir.path().join("rec/audit"))
        .args(["--user", "eva"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "demo-eva").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut names: Vec<String> = std::fs::read_dir(&imy)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        !names.is_empty() && names.iter().all(|n| n.starts_with("DEMO-")),
        "{names:?}"
    );
    let html = std::fs::read_to_string(imy.join("DEMO-imy-report.html")).unwrap();
    assert!(html.contains("DEMO - public DEMO users and keys"));
}
