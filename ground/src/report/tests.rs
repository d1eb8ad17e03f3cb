//! Report tests: a synthetic mission through the real replay index and collector.

use utkik_shared::audit::{AuditEvent, PayloadRef, Verdict};
use utkik_shared::authz::AuthzDigest;
use utkik_shared::dialect::UtkikAuthzState;

use super::*;
use crate::synth;

fn replay_of(duration_s: u32) -> Replay {
    let mut data = Vec::new();
    for (t, f) in synth::mission(duration_s, 4).frames {
        data.extend_from_slice(&(1_790_000_000_000_000 + t).to_be_bytes());
        data.extend_from_slice(&f);
    }
    Replay::from_bytes(data, 5.0, |_, _| {}).unwrap()
}

#[test]
fn report_has_map_plots_alerts_and_redacts_unauthorized_biometrics() {
    let replay = replay_of(20);
    let opts = ReportOptions {
        title: "synth <test>".into(),
        overlays: crate::map::parse_geojson(&synth::geojson(), "synth").unwrap().0,
        audit: AuditStatus::NotGiven,
        tiles: None,
        evidence: EvidenceAccess::Shown,
        reader: String::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let mut last = (0, 0);
    let data = write(&replay, &opts, &out, |a, b| last = (a, b)).unwrap();
    assert_eq!(last.0, last.1);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("synth &lt;test&gt;"));
    assert!(html.contains("flight path"));
    assert!(data.flight_path[&1].len() >= 19, "{}", data.flight_path[&1].len());
    assert!(!data.track_points.is_empty());
    assert!(data.seconds.iter().any(|s| s.fps.is_some()));
    assert!(html.contains("Plate hit"), "plate alert listed");
    // The synthetic match carries an all-zero digest: never an authorization.
    assert!(html.contains("Possible match"));
    assert!(html.contains("BIOMETRIC EVIDENCE REDACTED"));
    assert!(html.contains("No audit log given"));
    assert!(!html.contains("src=\"http"), "self-contained");
    assert!(html.contains("the drone sent no plate image"), "synth hits carry none");

    // A hit with its plate image shows it, no authorization needed (not biometric data).
    let mut data = data;
    let hit = data
        .alerts
        .iter_mut()
        .find(|a| matches!(a.kind, AlertKind::PlateHit { .. }))
        .unwrap();
    let jpeg = b"\xff\xd8 plate image \xff\xd9".to_vec();
    if let AlertKind::PlateHit {
        image_transfer_id,
        image_size,
        ..
    } = &mut hit.kind
    {
        (*image_transfer_id, *image_size) = (0x8000, jpeg.len() as u32);
    }
    hit.evidence_jpeg = Some(jpeg.clone());
    let html = render(&replay, &data, &opts);
    assert!(
        html.contains(&format!(
            "alt=\"plate image\" style=\"max-width:200px\" src=\"data:image/jpeg;base64,{}\"",
            base64(&jpeg)
        )),
        "plate image inline"
    );
    assert!(
        html.contains("BIOMETRIC EVIDENCE REDACTED"),
        "the match's crop still redacted"
    );
}

const T0_USEC: u64 = 1_790_000_000_000_000;

/// Writes an audit log with the ground's own writer (as `--audit-dir` holds it): two users
/// confirm the synthetic match (alert 2), an operator checks the plate hit (alert 1/1), one
/// verdict names an alert the recording does not have, one is dated after the end.
fn audit_log(dir: &std::path::Path) -> std::path::PathBuf {
    let mut audit = crate::audit_log::GroundAudit::open(dir, None).unwrap();
    let verify = |user: &str, id| AuditEvent::MatchVerification {
        authorization_digest: AuthzDigest([0; 32]),
        match_id: id,
        verifier_id: user.into(),
        verdict: Verdict::Confirmed,
    };
    let at = |s: f64| T0_USEC + (s * 1e6) as u64;
    audit.record(at(5.0), verify("anna", 2)).unwrap();
    audit
        .record(
            at(7.0),
            AuditEvent::Consultation {
                user_id: "carl".into(),
                what: "plate hit alert 1/1 checked after checking the plate image".into(),
            },
        )
        .unwrap();
    audit.record(at(9.0), verify("bertil", 2)).unwrap();
    audit.record(at(10.0), verify("zed", 77)).unwrap();
    audit.record(at(500.0), verify("late", 2)).unwrap();
    audit.path().to_path_buf()
}

#[test]
fn report_shows_alert_states_and_verdicts_from_the_audit_log() {
    let replay = replay_of(20);
    let dir = tempfile::tempdir().unwrap();
    let log = audit_log(&dir.path().join("audit"));
    let opts = ReportOptions {
        title: "t".into(),
        overlays: Vec::new(),
        tiles: None,
        audit: AuditStatus::check(Some(&log)),
        evidence: EvidenceAccess::Shown,
        reader: String::new(),
    };
    assert_eq!(opts.audit.banner(), None, "a clean log needs no banner");
    let out = dir.path().join("r.html");
    let data = write(&replay, &opts, &out, |_, _| {}).unwrap();
    let html = std::fs::read_to_string(&out).unwrap();
    let m = data.alerts.iter().find(|a| a.alert_id == 2).unwrap();
    assert_eq!(
        m.state,
        AlertState::Confirmed {
            by: ["anna".into(), "bertil".into()]
        }
    );
    // Same as replay at the last instant.
    let mut attached = replay_of(20);
    attached.attach_verdicts(opts.audit.trail().unwrap());
    let end = attached.range_usec().1;
    assert_eq!(attached.world_at(end).alerts.get(1, 2).unwrap().state, m.state);
    assert!(html.contains("confirmed by anna and bertil"), "alert table state");
    assert!(html.contains("checked by carl"));
    assert!(!html.contains("possible match (unconfirmed)"));
    // Events table: the verdicts with their time; the timeline plot has their lane.
    assert!(
        html.contains("<tr><td>00:00:09</td><td>1</td><td>possible match 2 confirmed by bertil</td></tr>"),
        "events table"
    );
    assert!(
        html.contains("<title>plate hit 1/1 checked by carl</title>"),
        "timeline marker"
    );
    assert!(html.contains("operator verdicts"));
    // Not applied: the unknown alert and the one after the end are said, not hidden.
    assert_eq!(data.verdicts.len(), 4);
    assert_eq!(data.verdicts_after_end, 1);
    assert!(html.contains("NOT APPLIED: no such alert in the recording"));
    assert!(html.contains("1 operator verdict(s) from the audit log not applied"));
    assert!(html.contains("1 verdict(s) dated after the end of the recording"));
}

#[test]
fn damaged_or_missing_audit_log_is_in_the_report() {
    let replay = replay_of(20);
    let dir = tempfile::tempdir().unwrap();
    let log = audit_log(&dir.path().join("audit"));
    // Tear the last two records (as a crash or a copy cut short would).
    let bytes = std::fs::read(&log).unwrap();
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let keep: usize = lines[..3].iter().map(|l| l.len()).sum();
    std::fs::write(&log, &bytes[..keep + 10]).unwrap();
    let audit = AuditStatus::check(Some(&log));
    let banner = audit.banner().expect("damage must be reported");
    assert!(banner.contains("damaged at record 3"), "{banner}");
    let opts = ReportOptions {
        title: "t".into(),
        overlays: Vec::new(),
        tiles: None,
        audit,
        evidence: EvidenceAccess::Shown,
        reader: String::new(),
    };
    let out = dir.path().join("r.html");
    let data = write(&replay, &opts, &out, |_, _| {}).unwrap();
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("damaged at record 3"));
    // The three good records are used.
    assert!(html.contains("confirmed by anna and bertil"));
    assert_eq!(data.verdicts.len(), 3);
    let missing = AuditStatus::check(Some(&dir.path().join("nope.jsonl")));
    assert!(missing.banner().unwrap().contains("nope.jsonl"));
}

#[test]
fn biometric_evidence_needs_the_matching_active_authorization() {
    let d = |b: u8| {
        let mut x = [0u8; 32];
        x[0] = b;
        x
    };
    let ch = |t, state, digest| collect::AuthzChange {
        time_usec: t,
        system_id: 1,
        state,
        digest,
    };
    let hist = vec![
        ch(10, UtkikAuthzState::UTKIK_AUTHZ_STATE_PENDING, d(7)),
        ch(20, UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE, d(7)),
        ch(40, UtkikAuthzState::UTKIK_AUTHZ_STATE_EXPIRED, d(7)),
    ];
    let mut dig = [0u8; 16];
    dig[0] = 7;
    assert!(biometric_use_authorized(&hist, 1, &dig, 25));
    assert!(!biometric_use_authorized(&hist, 1, &dig, 15), "pending is not active");
    assert!(!biometric_use_authorized(&hist, 1, &dig, 45), "expired");
    assert!(!biometric_use_authorized(&hist, 2, &dig, 25), "other vehicle");
    let mut other = dig;
    other[0] = 8;
    assert!(!biometric_use_authorized(&hist, 1, &other, 25), "other authorization");
    let mut revoked = hist.clone();
    revoked.push(ch(30, UtkikAuthzState::UTKIK_AUTHZ_STATE_REVOKED, d(7)));
    assert!(!biometric_use_authorized(&revoked, 1, &dig, 25), "withdrawn later");
}

#[test]
fn base64_matches_known_vectors() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
}

/// Users with known passwords (`pw-<id>`), one per role.
fn review_users() -> crate::auth::UserDirectory {
    use crate::auth::HashParams;
    use crate::auth::users::UserEntry;
    use utkik_shared::authz::Role;
    let u = |id: &str, role| UserEntry::with_password(id, id, vec![role], &format!("pw-{id}"), HashParams::MINIMUM);
    crate::auth::UserDirectory::from_entries(vec![
        u("anna", Role::Operator),
        u("cecilia", Role::SeniorOfficer),
        u("eva", Role::Auditor),
    ])
    .unwrap()
}

fn audit_events(path: &std::path::Path) -> Vec<AuditEvent> {
    crate::report::verify::read_bodies(path)
        .unwrap()
        .into_iter()
        .map(|b| b.event)
        .collect()
}

/// The synthetic mission with its plate hit carrying a plate image (evidence to show or not).
fn opts_plain() -> ReportOptions {
    ReportOptions {
        title: "t".into(),
        overlays: Vec::new(),
        tiles: None,
        audit: AuditStatus::NotGiven,
        // Overwritten by write_reviewed from the reviewer's role.
        evidence: EvidenceAccess::Shown,
        reader: String::new(),
    }
}

#[test]
fn a_report_needs_a_signed_in_reviewer_and_writes_a_disclosure_record() {
    let dir = tempfile::tempdir().unwrap();
    let audit = crate::audit_log::GroundAudit::open(&dir.path().join("audit"), None).unwrap();
    let log = audit.path().to_path_buf();
    let mut review = ReviewSession::new(review_users(), audit);
    let replay = replay_of(20);
    let rec = std::path::Path::new("mission.tlog");
    let out = dir.path().join("r.html");

    // Nobody signed in: no report, no file.
    let e = write_reviewed(&mut review, rec, &replay, opts_plain(), &out, |_, _| {}, T0_USEC).unwrap_err();
    assert!(e.to_string().contains("sign in"), "{e}");
    assert!(!out.exists());
    // An operator may not review recordings afterwards: refused and logged.
    assert!(review.login("anna", "pw-anna", T0_USEC).is_err());
    assert!(write_reviewed(&mut review, rec, &replay, opts_plain(), &out, |_, _| {}, T0_USEC).is_err());
    assert!(!out.exists());

    review.login("cecilia", "pw-cecilia", T0_USEC).unwrap();
    let data = write_reviewed(&mut review, rec, &replay, opts_plain(), &out, |_, _| {}, T0_USEC + 1).unwrap();
    assert!(out.exists());
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("Written for cecilia"), "the reader is named");
    let events = audit_events(&log);
    let disclosures: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AuditEvent::Disclosure {
                user_id,
                recipient,
                what,
                ..
            } => Some((user_id.clone(), recipient.clone(), what.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(disclosures.len(), 1, "{events:?}");
    let (user, recipient, what) = &disclosures[0];
    assert_eq!(user, "cecilia");
    assert!(recipient.contains(&out.display().to_string()), "{recipient}");
    assert!(what.contains("mission.tlog"), "{what}");
    assert!(what.contains(&format!("{} alerts", data.alerts.len())), "{what}");
    assert!(
        events.iter().any(
            |e| matches!(e, AuditEvent::Consultation { user_id, what } if user_id == "anna" && what.contains("refused"))
        ),
        "the refused sign-in is logged too"
    );
}

#[test]
fn evidence_is_left_out_of_a_report_for_a_reader_who_may_not_see_it() {
    let replay = replay_of(20);
    let (verdicts, _) = report_verdicts(&replay, &AuditStatus::NotGiven);
    let mut data = collect(&replay, &verdicts, |_, _| {});
    let jpeg = b"\xff\xd8 plate image \xff\xd9".to_vec();
    let hit = data
        .alerts
        .iter_mut()
        .find(|a| matches!(a.kind, AlertKind::PlateHit { .. }))
        .unwrap();
    hit.evidence_jpeg = Some(jpeg.clone());
    let shown = opts_plain();
    assert!(render(&replay, &data, &shown).contains(&base64(&jpeg)));
    assert_eq!(embedded_payloads(&data, &shown), vec![PayloadRef::of(&jpeg)]);
    let left_out = ReportOptions {
        evidence: EvidenceAccess::LeftOut("user eva (Auditor) may not see evidence images".into()),
        ..opts_plain()
    };
    let html = render(&replay, &data, &left_out);
    assert!(!html.contains(&base64(&jpeg)), "no image for the auditor");
    assert!(html.contains("plate image left out: user eva"), "says why");
    assert!(embedded_payloads(&data, &left_out).is_empty());

    // Through the reviewed path: the auditor's report embeds nothing and its record says so.
    let dir = tempfile::tempdir().unwrap();
    let audit = crate::audit_log::GroundAudit::open(&dir.path().join("audit"), None).unwrap();
    let log = audit.path().to_path_buf();
    let mut review = ReviewSession::new(review_users(), audit);
    review.login("eva", "pw-eva", T0_USEC).unwrap();
    let out = dir.path().join("r.html");
    write_reviewed(
        &mut review,
        std::path::Path::new("m.tlog"),
        &replay,
        opts_plain(),
        &out,
        |_, _| {},
        T0_USEC,
    )
    .unwrap();
    let d = audit_events(&log)
        .into_iter()
        .find_map(|e| match e {
            AuditEvent::Disclosure { what, payloads, .. } => Some((what, payloads)),
            _ => None,
        })
        .unwrap();
    assert!(d.1.is_empty(), "no payload disclosed");
    assert!(d.0.contains("evidence left out"), "{}", d.0);
}
