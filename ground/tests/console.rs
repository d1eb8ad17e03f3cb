//! The operator console drives the same `GroundOps` as the panels: a possible match is confirmed
//! by two different users typing at the console, passwords never appear in the output, refusals
//! name the rule and change nothing, and an authorization command yields a message to send.

mod common;

use common::*;
use utkik_ground::console::{Console, ConsoleError};
use utkik_ground::ops::OpsError;
use utkik_ground::state::AlertState;
use utkik_shared::audit::{AuditEvent, Verdict, verify_file};
use utkik_shared::dialect::MavMessage;

#[test]
fn two_users_confirm_a_possible_match_at_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir.path(), demo_trust());
    let digest = ops
        .load_authorization(&repo("assets/authz/person-search.authz.json"), NOW_USEC)
        .unwrap();
    let mut w = world_with_match(digest.0);
    let exports = dir.path().join("exports");
    let mut c = Console::default();
    let say = |c: &mut Console, ops: &mut _, w: &mut _, line: &str| c.line(line, ops, w, &exports, NOW_USEC);

    // Not signed in: the rule is named, nothing changes.
    let e = say(&mut c, &mut ops, &mut w, "confirm 1 5").unwrap_err();
    assert!(matches!(e, ConsoleError::Refused(OpsError::Session(_))), "{e}");
    assert!(say(&mut c, &mut ops, &mut w, "alerts").unwrap().text.contains("0/2"));

    // Wrong password: refused, and the password is not in the reply.
    assert!(
        say(&mut c, &mut ops, &mut w, "login anna")
            .unwrap()
            .text
            .contains("password")
    );
    assert!(c.wants_password());
    let e = say(&mut c, &mut ops, &mut w, "pw-wrong").unwrap_err();
    assert!(!e.to_string().contains("pw-wrong"), "{e}");
    assert!(!c.wants_password(), "one try per `login`");

    say(&mut c, &mut ops, &mut w, "login anna").unwrap();
    let r = say(&mut c, &mut ops, &mut w, "pw-anna").unwrap();
    assert!(
        r.text.contains("signed in: anna") && !r.text.contains("pw-anna"),
        "{}",
        r.text
    );
    // A verdict needs the evidence seen first (LAW.md section 4), and the look is logged.
    let e = say(&mut c, &mut ops, &mut w, "confirm 1 5").unwrap_err();
    assert!(
        matches!(e, ConsoleError::Refused(OpsError::EvidenceNotSeen { .. })),
        "{e}"
    );
    let r = say(&mut c, &mut ops, &mut w, "evidence 1 5").unwrap();
    assert!(r.text.contains("seen-by-anna.jpg"), "{}", r.text);
    let r = say(&mut c, &mut ops, &mut w, "confirm 1 5").unwrap();
    assert!(r.text.contains("1/2"), "{}", r.text);
    // The same user twice does not count; export is blocked until two confirmed.
    assert!(say(&mut c, &mut ops, &mut w, "confirm 1 5").is_err());
    assert!(say(&mut c, &mut ops, &mut w, "export 1 5").is_err());
    assert!(!exports.exists());

    say(&mut c, &mut ops, &mut w, "login bertil").unwrap();
    say(&mut c, &mut ops, &mut w, "pw-bertil").unwrap();
    // Anna's look does not count for bertil.
    assert!(say(&mut c, &mut ops, &mut w, "confirm 1 5").is_err());
    say(&mut c, &mut ops, &mut w, "evidence 1 5").unwrap();
    let r = say(&mut c, &mut ops, &mut w, "confirm 1 5").unwrap();
    assert!(r.text.contains("CONFIRMED by anna and bertil"), "{}", r.text);
    assert_eq!(
        w.alerts.get(1, 5).unwrap().state,
        AlertState::Confirmed {
            by: ["anna".into(), "bertil".into()]
        }
    );
    let r = say(&mut c, &mut ops, &mut w, "export 1 5").unwrap();
    assert!(r.text.contains("alert-1-5.jpg"), "{}", r.text);
    assert_eq!(std::fs::read(exports.join("alert-1-5.jpg")).unwrap(), CROP);
    say(&mut c, &mut ops, &mut w, "logout").unwrap();

    // The audit log holds both confirmations, verifies, and holds no password.
    let ev = events(dir.path());
    let confirms = ev
        .iter()
        .filter(|e| {
            matches!(
                e,
                AuditEvent::MatchVerification {
                    verdict: Verdict::Confirmed,
                    ..
                }
            )
        })
        .count();
    assert_eq!(confirms, 2, "{ev:?}");
    let looks = ev
        .iter()
        .filter(|e| matches!(e, AuditEvent::Consultation { what, .. } if what.contains("viewed the evidence")))
        .count();
    assert_eq!(looks, 2, "one logged look per verifier: {ev:?}");
    verify_file(
        &dir.path().join(utkik_ground::audit_log::AUDIT_FILE),
        &Default::default(),
    )
    .unwrap();
    assert!(files_containing(dir.path(), b"pw-anna").is_empty());
    assert!(files_containing(dir.path(), b"pw-bertil").is_empty());
}

#[test]
fn authz_commands_need_the_role_and_produce_a_signed_command_to_send() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir.path(), demo_trust());
    ops.load_authorization(&repo("assets/authz/person-search.authz.json"), NOW_USEC)
        .unwrap();
    let mut w = utkik_ground::state::World::new();
    // The onboard gate has been heard (its authorization status).
    let origin = utkik_ground::state::Origin {
        system_id: 1,
        component_id: 191,
        sequence: 0,
    };
    w.apply(
        origin,
        &MavMessage::UTKIK_AUTHZ_STATUS(utkik_shared::dialect::UTKIK_AUTHZ_STATUS_DATA::default()),
        1.0,
    );
    let mut c = Console::default();
    let ex = dir.path().join("exports");
    // A pilot may not activate identification.
    c.line("login david", &mut ops, &mut w, &ex, NOW_USEC).unwrap();
    c.line("pw-david", &mut ops, &mut w, &ex, NOW_USEC).unwrap();
    let e = c.line("authz activate", &mut ops, &mut w, &ex, NOW_USEC).unwrap_err();
    assert!(matches!(e, ConsoleError::Refused(_)), "{e}");
    c.line("login cecilia", &mut ops, &mut w, &ex, NOW_USEC).unwrap();
    c.line("pw-cecilia", &mut ops, &mut w, &ex, NOW_USEC).unwrap();
    // Not before the drone's onboard gate is heard: it could reach only the autopilot.
    let mut unheard = utkik_ground::state::World::new();
    let e = c
        .line("authz activate", &mut ops, &mut unheard, &ex, NOW_USEC)
        .unwrap_err();
    assert!(matches!(e, ConsoleError::NotHeard(1)), "{e}");
    let r = c.line("authz activate", &mut ops, &mut w, &ex, NOW_USEC).unwrap();
    let (target, msg) = r.send.expect("a command to send");
    assert_eq!(target, 1);
    assert!(matches!(msg, MavMessage::UTKIK_AUTHZ_COMMAND(_)), "{msg:?}");
    assert!(
        c.line("status", &mut ops, &mut w, &ex, NOW_USEC)
            .unwrap()
            .text
            .contains("Active")
    );
}

/// Two-operator activation at the console (LAW.md 4.5): anna's `authz activate` sends nothing
/// and says a second operator must co-sign; she cannot co-sign herself; bertil's `authz cosign`
/// sends the command signed by both.
#[test]
fn two_operators_activate_at_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir.path(), demo_trust());
    ops.load_authorization(&repo("assets/authz/person-search.authz.json"), NOW_USEC)
        .unwrap();
    let mut w = utkik_ground::state::World::new();
    let origin = utkik_ground::state::Origin {
        system_id: 1,
        component_id: 191,
        sequence: 0,
    };
    w.apply(
        origin,
        &MavMessage::UTKIK_AUTHZ_STATUS(utkik_shared::dialect::UTKIK_AUTHZ_STATUS_DATA::default()),
        1.0,
    );
    let mut c = Console::default();
    let ex = dir.path().join("exports");
    for line in ["login anna", "pw-anna"] {
        c.line(line, &mut ops, &mut w, &ex, NOW_USEC).unwrap();
    }
    let e = c.line("authz activate", &mut ops, &mut w, &ex, NOW_USEC).unwrap_err();
    assert!(e.to_string().contains("authz cosign"), "{e}");
    let e = c.line("authz cosign", &mut ops, &mut w, &ex, NOW_USEC).unwrap_err();
    assert!(e.to_string().contains("different operator"), "{e}");
    let status = c.line("status", &mut ops, &mut w, &ex, NOW_USEC).unwrap().text;
    assert!(status.contains("proposed by anna"), "{status}");
    for line in ["login bertil", "pw-bertil"] {
        c.line(line, &mut ops, &mut w, &ex, NOW_USEC + 1).unwrap();
    }
    let r = c.line("authz cosign", &mut ops, &mut w, &ex, NOW_USEC + 2).unwrap();
    let Some((1, MavMessage::UTKIK_AUTHZ_COMMAND(cmd))) = r.send else {
        panic!("{:?}", r.text)
    };
    let trust = demo_trust();
    let signers = utkik_shared::authz::command_signature::verify_command(&trust, &cmd).unwrap();
    assert_eq!(
        signers.iter().map(|u| u.user_id.as_str()).collect::<Vec<_>>(),
        ["anna", "bertil"]
    );
}

#[test]
fn bad_lines_say_what_is_wrong() {
    use utkik_ground::console::Command;
    for (line, want) in [
        ("fly home", "unknown command `fly`"),
        ("confirm 1", "usage: confirm SYS ALERT"),
        ("confirm 300 5", "not a valid system id"),
        ("dismiss 1 x", "not a valid alert id"),
        ("authz launch", "`launch` is not a valid authorization action"),
        ("login", "usage: login USER"),
        ("search", "usage: search PLATE REASON..."),
        ("search ABC123", "usage: search PLATE REASON..."),
        ("screenshot shot.jpg", "usage: screenshot FILE.png"),
        ("map", "usage: map M_PER_PX"),
        ("map close", "usage: map M_PER_PX"),
        ("map 0.001", "a number from 0.02 to 50"),
        ("map 51", "a number from 0.02 to 50"),
    ] {
        let e = Command::parse(line).unwrap_err().to_string();
        assert!(e.contains(want), "{line}: {e}");
    }
    assert_eq!(Command::parse("  # comment").unwrap(), None);
    assert_eq!(Command::parse("").unwrap(), None);
    assert_eq!(Command::parse("CONFIRM 1 7").unwrap(), Some(Command::Confirm(1, 7)));
    assert_eq!(Command::parse("quit").unwrap(), Some(Command::Quit));
    assert_eq!(Command::parse("map 0.25").unwrap(), Some(Command::MapScale(250)));
}
