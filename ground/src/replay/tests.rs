//! Replay engine tests on a synthetic mission written as a real tlog (real frames, real
//! reader), with a link loss and damaged bytes spliced in, and operator verdicts written to a
//! real audit log by shared's `AuditWriter`.

use utkik_shared::audit::{AuditEvent, AuditWriter, Verdict};
use utkik_shared::authz::AuthzDigest;
use utkik_shared::dialect::MavMessage;
use utkik_shared::tlog::TlogReader;

use super::*;
use crate::state::AlertState;
use crate::synth;

const T0_USEC: u64 = 1_790_000_000_000_000;

/// The synthetic mission as tlog bytes; frames after `gap_after_s` are shifted by `gap_s`
/// seconds (a link loss), and `garbage` bytes are written after record `damage_at`.
fn tlog_bytes(duration_s: u32, gap_after_s: f64, gap_s: f64, damage_at: Option<usize>) -> Vec<u8> {
    let mission = synth::mission(duration_s, 6);
    let mut out = Vec::new();
    for (i, (t_us, frame)) in mission.frames.iter().enumerate() {
        let mut t = T0_USEC + t_us;
        if *t_us as f64 / 1e6 >= gap_after_s {
            t += (gap_s * 1e6) as u64;
        }
        out.extend_from_slice(&t.to_be_bytes());
        out.extend_from_slice(frame);
        if Some(i) == damage_at {
            out.extend_from_slice(&[0x00, 0xFD, 0x55, 0x13, 0x37, 0xFE, 0x01, 0x02, 0x03, 0xAA, 0xBB, 0xCC]);
        }
    }
    out
}

/// A verdict on the synthetic mission's possible match (alert 2, all-zero digest).
fn match_verdict(user: &str, match_id: u32, confirm: bool) -> AuditEvent {
    AuditEvent::MatchVerification {
        authorization_digest: AuthzDigest([0; 32]),
        match_id,
        verifier_id: user.into(),
        verdict: if confirm { Verdict::Confirmed } else { Verdict::Rejected },
    }
}

/// A plate-hit verdict as ops.rs words it (spelled out here, so a change of the wording breaks
/// this test instead of silently old logs).
fn plate_verdict(user: &str, system_id: u8, alert_id: u32, confirm: bool) -> AuditEvent {
    AuditEvent::Consultation {
        user_id: user.into(),
        what: format!(
            "plate hit alert {system_id}/{alert_id} {} after checking the plate image",
            if confirm { "checked" } else { "dismissed" }
        ),
    }
}

/// Writes `(seconds after T0, event)` records with the real writer and returns the file bytes.
fn audit_bytes(records: &[(f64, AuditEvent)]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ground-audit.jsonl");
    let (mut w, _) = AuditWriter::open(&path, None, 0).unwrap();
    for (t_s, e) in records {
        let t = (T0_USEC as i64 + (t_s * 1e6) as i64) as u64;
        w.append(t, e.clone()).unwrap();
    }
    std::fs::read(&path).unwrap()
}

/// The mission's audit log: a sign-in, a verdict from another mission, one for an alert that
/// never exists, the match confirmed by anna (twice: the second refused) and then bertil, the
/// plate hit checked, a late dismissal refused as the alert is closed, and a verdict after the
/// link loss (playback time is shifted by the loss; the audit clock is not).
fn mission_audit() -> Vec<u8> {
    audit_bytes(&[
        (-3600.0, match_verdict("old", 2, true)),
        (
            0.5,
            AuditEvent::Consultation {
                user_id: "anna".into(),
                what: "session: signed in".into(),
            },
        ),
        (1.0, match_verdict("zed", 99, true)),
        (4.0, match_verdict("anna", 2, true)),
        (6.5, match_verdict("anna", 2, true)),
        (9.25, match_verdict("bertil", 2, true)),
        (12.0, plate_verdict("carl", 1, 1, true)),
        (14.0, plate_verdict("dora", 1, 1, false)),
        (80.0, match_verdict("erik", 2, false)),
    ])
}

/// The reference with verdicts: the tlog up to t, then every verdict of the trail dated from
/// the start of the recording up to t applied, then aged at t.
fn straight_play_with(data: &[u8], trail: &AuditTrail, start: u64, t: u64) -> World {
    let mut w = straight_play(data, t);
    let due: Vec<RecordedVerdict> = trail
        .verdicts
        .iter()
        .filter(|v| v.time_usec >= start && v.time_usec <= t)
        .cloned()
        .collect();
    apply_verdicts(&mut w.alerts, &due);
    w
}

/// The reference: every record from the start with playback time <= t, then aged at t.
fn straight_play(data: &[u8], t: u64) -> World {
    let mut w = World::new();
    let mut max = 0u64;
    for rec in TlogReader::new(data).flatten() {
        let pt = rec.time_usec.max(max);
        if pt > t {
            break;
        }
        max = pt;
        if let Ok(msg) = rec.frame.decode::<MavMessage>() {
            w.apply(origin(&rec.frame), &msg, rec.time_usec as f64 / 1e6);
        }
    }
    w.tick(t as f64 / 1e6, TRACK_FORGET_S);
    w
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
}

#[test]
fn seek_equals_straight_play_at_random_times() {
    let data = tlog_bytes(40, 25.0, 70.0, Some(1500));
    let replay = Replay::from_bytes(data.clone(), 3.0, |_, _| {}).expect("index");
    assert!(replay.stats.keyframes > 10, "{:?}", replay.stats);
    let (start, end) = replay.range_usec();
    let mut rng = Lcg(7);
    let mut nonempty = 0;
    for i in 0..60 {
        // Some exactly on record times and keyframe boundaries, most anywhere (also past the end).
        let t = match i {
            0 => start,
            1 => end,
            2 => start - 1,
            3 => end + 5_000_000,
            _ => start + rng.next() % (end - start + 10_000_000),
        };
        let seek = replay.world_at(t);
        let reference = straight_play(&data, t);
        assert_eq!(seek, reference, "world differs at t = {t} (start {start})");
        if !seek.tracks.is_empty() {
            nonempty += 1;
        }
    }
    assert!(nonempty > 20, "the test must compare populated worlds, got {nonempty}");
}

#[test]
fn seek_equals_straight_play_with_verdicts_at_random_times() {
    let data = tlog_bytes(40, 25.0, 70.0, Some(1500));
    let trail = AuditTrail::from_bytes(&mission_audit());
    assert_eq!(trail.damage, None);
    assert_eq!(trail.records, 9);
    assert_eq!(trail.verdicts.len(), 8);
    let mut replay = Replay::from_bytes(data.clone(), 3.0, |_, _| {}).expect("index");
    replay.attach_verdicts(&trail);
    assert_eq!(replay.verdicts_before_start, 1);
    let (start, end) = replay.range_usec();
    let v_times: Vec<u64> = replay.verdicts().iter().map(|v| v.time_usec).collect();
    let mut rng = Lcg(11);
    let mut states = std::collections::BTreeSet::new();
    for i in 0..80 {
        // Exactly on and just before every verdict time, the ends, and random times.
        let t = match i {
            0 => start,
            1 => end,
            2 => start - 1,
            3 => end + 5_000_000,
            i if i < 4 + 2 * v_times.len() => {
                let k = (i - 4) / 2;
                v_times[k] - ((i - 4) % 2) as u64
            }
            _ => start + rng.next() % (end - start + 10_000_000),
        };
        let seek = replay.world_at(t);
        let reference = straight_play_with(&data, &trail, start, t);
        assert_eq!(
            seek, reference,
            "world (alert states included) differs at t = {t} (start {start})"
        );
        for a in seek.alerts.iter() {
            states.insert(format!("{}:{:?}", a.alert_id, a.state));
        }
    }
    // The comparison covered alerts in several review states, not just fresh ones.
    for want in [
        "2:PossibleMatch { confirmed_by: [] }",
        "2:PossibleMatch { confirmed_by: [\"anna\"] }",
        "2:Confirmed { by: [\"anna\", \"bertil\"] }",
        "1:NeedsCheck",
        "1:Checked { by: \"carl\" }",
    ] {
        assert!(states.contains(want), "never saw {want} in {states:?}");
    }
    // At the end: confirmed by anna and bertil, the plate checked by carl; the unknown alert,
    // anna's second confirmation, dora's and erik's late verdicts counted, not applied.
    let c = replay.seek(end);
    assert_eq!(
        c.world.alerts.get(1, 2).unwrap().state,
        AlertState::Confirmed {
            by: ["anna".into(), "bertil".into()]
        }
    );
    assert_eq!(
        c.world.alerts.get(1, 1).unwrap().state,
        AlertState::Checked { by: "carl".into() }
    );
    assert_eq!(
        c.verdicts,
        VerdictTally {
            applied: 3,
            unknown_alert: 1,
            ambiguous: 0,
            refused: 3
        }
    );
}

#[test]
fn playing_with_verdicts_in_steps_matches_seek() {
    let data = tlog_bytes(20, 100.0, 0.0, None);
    let mut replay = Replay::from_bytes(data, 2.0, |_, _| {}).expect("index");
    replay.attach_verdicts(&AuditTrail::from_bytes(&mission_audit()));
    let (start, end) = replay.range_usec();
    let mut cursor = replay.seek(start);
    let mut t = start;
    let mut confirmed_seen = false;
    while t < end {
        t += 250_000;
        replay.advance(&mut cursor, t);
        let s = replay.seek(t);
        assert_eq!(cursor.world, s.world, "at {t}");
        assert_eq!(cursor.verdicts, s.verdicts, "at {t}");
        confirmed_seen |= matches!(
            cursor.world.alerts.get(1, 2).map(|a| &a.state),
            Some(AlertState::Confirmed { .. })
        );
    }
    assert!(confirmed_seen);
    // Backwards past the confirmations: the match is unconfirmed again.
    replay.advance(&mut cursor, start + 3_500_000);
    assert_eq!(
        cursor.world.alerts.get(1, 2).unwrap().state,
        AlertState::PossibleMatch { confirmed_by: vec![] }
    );
    assert_eq!(cursor.world, replay.seek(start + 3_500_000).world);
}

#[test]
fn verdict_events_are_on_the_timeline() {
    let data = tlog_bytes(20, 100.0, 0.0, None);
    let mut replay = Replay::from_bytes(data, 5.0, |_, _| {}).expect("index");
    let before = replay.events.len();
    let trail = AuditTrail::from_bytes(&mission_audit());
    replay.attach_verdicts(&trail);
    // Attaching twice does not duplicate markers.
    replay.attach_verdicts(&trail);
    let verdicts: Vec<&ReplayEvent> = replay
        .events
        .iter()
        .filter(|e| e.kind.category() == "verdict")
        .collect();
    assert_eq!(verdicts.len(), 7, "the one from before the start is left out");
    assert_eq!(replay.events.len(), before + 7);
    assert!(replay.events.windows(2).all(|w| w[0].time_usec <= w[1].time_usec));
    let bertil = verdicts
        .iter()
        .find(|e| e.kind.label() == "possible match 2 confirmed by bertil")
        .expect("bertil's confirmation");
    assert_eq!(bertil.time_usec, T0_USEC + 9_250_000);
    assert_eq!(bertil.system_id, 1, "resolved from the match event");
    assert!(
        verdicts
            .iter()
            .any(|e| e.kind.label() == "plate hit 1/1 checked by carl" && e.system_id == 1)
    );
    // next_event walks onto a verdict.
    assert_eq!(
        replay.next_event(T0_USEC + 9_000_000).map(|e| e.time_usec),
        Some(T0_USEC + 9_250_000)
    );
}

#[test]
fn damaged_audit_log_keeps_records_before_the_damage() {
    let good = mission_audit();
    // Cut the last record in half (a crash mid-write): everything before it is used.
    let torn = &good[..good.len() - 20];
    let trail = AuditTrail::from_bytes(torn);
    assert_eq!(trail.records, 8);
    assert_eq!(trail.verdicts.len(), 7);
    let d = trail.damage.as_ref().expect("damage reported");
    assert_eq!(d.index, 8);
    assert!(d.reason.contains("torn"), "{d:?}");
    assert!(trail.damage_text().unwrap().contains("record 8"));
    // Edit a record in the middle: records from it on are not trusted.
    let text = String::from_utf8(good.clone()).unwrap();
    let edited = text.replacen("\"bertil\"", "\"mallory\"", 1);
    let trail = AuditTrail::from_bytes(edited.as_bytes());
    assert_eq!(trail.damage.as_ref().map(|d| d.index), Some(5));
    assert_eq!(trail.records, 5);
    assert!(
        trail
            .verdicts
            .iter()
            .all(|v| v.user_id != "mallory" && v.user_id != "bertil")
    );
    // Not an audit log at all.
    let trail = AuditTrail::from_bytes(b"hello\n");
    assert_eq!((trail.records, trail.damage.map(|d| d.index)), (0, Some(0)));
}

#[test]
fn plate_check_text_is_parsed_or_counted() {
    let bytes = audit_bytes(&[
        (1.0, plate_verdict("carl", 3, 17, false)),
        (
            2.0,
            AuditEvent::Consultation {
                user_id: "carl".into(),
                what: "plate hit alert 3/x checked after checking the plate image".into(),
            },
        ),
        (
            2.5,
            AuditEvent::Consultation {
                user_id: "dora".into(),
                what: super::verdicts::plate_check_text(3, 18, true, false),
            },
        ),
        (
            3.0,
            AuditEvent::Consultation {
                user_id: "carl".into(),
                what: "viewed the evidence crop of possible match 1/2".into(),
            },
        ),
    ]);
    let trail = AuditTrail::from_bytes(&bytes);
    assert_eq!(trail.unparsed_plate_checks, 1);
    assert_eq!(trail.verdicts.len(), 2);
    assert_eq!(trail.verdicts[0].label(), "plate hit 3/17 dismissed by carl");
    assert!(!trail.verdicts[0].confirm);
    // A hit checked on its text (the drone sent no image) parses too.
    assert_eq!(trail.verdicts[1].label(), "plate hit 3/18 checked by dora");
    assert!(trail.verdicts[1].confirm);
}

#[test]
fn verdict_for_an_unknown_or_ambiguous_alert_is_an_outcome_not_a_panic() {
    use utkik_shared::dialect::UTKIK_BIOMETRIC_MATCH_DATA;
    let mut alerts = crate::state::Alerts::default();
    let m = UTKIK_BIOMETRIC_MATCH_DATA {
        alert_id: 5,
        ..Default::default()
    };
    alerts.apply_match(1, 191, &m, 0.0);
    alerts.apply_match(2, 191, &m, 0.0);
    let trail = AuditTrail::from_bytes(&audit_bytes(&[
        (1.0, match_verdict("anna", 5, true)),
        (2.0, match_verdict("anna", 6, true)),
        (3.0, plate_verdict("anna", 1, 5, true)),
    ]));
    let out = apply_verdicts(&mut alerts, &trail.verdicts);
    assert_eq!(
        out,
        vec![
            VerdictOutcome::Ambiguous { candidates: 2 },
            VerdictOutcome::UnknownAlert,
            // Alert 1/5 exists but is a possible match, not a plate hit.
            VerdictOutcome::UnknownAlert,
        ]
    );
    assert!(VerdictTally::of(&out).warning().unwrap().contains("3 operator verdict"));
}

#[test]
fn playing_forward_in_steps_and_jumping_back_matches_seek() {
    let data = tlog_bytes(20, 100.0, 0.0, None);
    let replay = Replay::from_bytes(data, 2.0, |_, _| {}).expect("index");
    let (start, end) = replay.range_usec();
    let mut cursor = replay.cursor_at_start();
    let mut t = start;
    while t < end {
        t += 333_333;
        replay.advance(&mut cursor, t);
        assert_eq!(cursor.world, replay.seek(t).world, "at {t}");
    }
    // Backwards.
    replay.advance(&mut cursor, start + 5_000_000);
    assert_eq!(cursor.world, replay.seek(start + 5_000_000).world);
    assert!(cursor.world.applied_messages > 0);
}

#[test]
fn events_mark_hits_matches_authz_link_loss_and_damage() {
    let data = tlog_bytes(40, 25.0, 70.0, Some(1500));
    let mut calls = 0;
    let replay = Replay::from_bytes(data, 5.0, |done, total| {
        assert!(done <= total);
        calls += 1;
    })
    .expect("index");
    assert!(calls >= 1);
    let cats: Vec<&str> = replay.events.iter().map(|e| e.kind.category()).collect();
    for want in ["plate", "match", "authz", "link", "damage"] {
        assert!(cats.contains(&want), "no {want} event in {cats:?}");
    }
    let loss = replay
        .events
        .iter()
        .find_map(|e| match e.kind {
            EventKind::LinkLoss { duration_s } => Some(duration_s),
            _ => None,
        })
        .unwrap();
    assert!((loss - 70.1).abs() < 0.2, "{loss}");
    let damage = replay.events.iter().find(|e| e.kind.category() == "damage").unwrap();
    assert!(
        matches!(damage.kind, EventKind::DataDamage { bytes: 12, .. }),
        "{damage:?}"
    );
    // Damage loses nothing around it: every good record is indexed.
    assert_eq!(replay.stats.records, synth::mission(40, 6).frames.len() as u64);
    // Events are in order; next/previous walk them.
    assert!(replay.events.windows(2).all(|w| w[0].time_usec <= w[1].time_usec));
    let first = &replay.events[0];
    assert_eq!(replay.next_event(replay.range_usec().0 - 1), Some(first));
    let second = replay.next_event(first.time_usec).unwrap();
    assert!(second.time_usec > first.time_usec);
    assert_eq!(
        replay.previous_event(second.time_usec).map(|e| e.time_usec),
        Some(first.time_usec)
    );
    assert_eq!(replay.previous_event(first.time_usec), None);
}

#[test]
fn truncated_file_replays_everything_before_the_cut() {
    let data = tlog_bytes(10, 100.0, 0.0, None);
    let full = Replay::from_bytes(data.clone(), 5.0, |_, _| {}).unwrap();
    let cut = data.len() - 7;
    let replay = Replay::from_bytes(data[..cut].to_vec(), 5.0, |_, _| {}).unwrap();
    assert_eq!(replay.stats.records, full.stats.records - 1);
    assert!(replay.index.truncated.is_some());
    assert!(replay.events.iter().any(|e| e.kind.category() == "damage"));
    // Every decodable record before the cut reaches the world (used or counted as ignored).
    let end = replay.range_usec().1;
    let world = replay.world_at(end);
    assert_eq!(
        world.applied_messages + world.ignored_messages,
        full.stats.records - 1 - full.stats.undecodable
    );
}

#[test]
fn empty_and_missing_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.tlog");
    let e = Replay::open(&missing, |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("nope.tlog"), "{e}");
    let junk = dir.path().join("junk.tlog");
    std::fs::write(&junk, b"this is not a tlog at all").unwrap();
    let e = Replay::open(&junk, |_, _| {}).unwrap_err();
    assert!(matches!(e, ReplayError::Empty { .. }), "{e}");
    assert!(e.to_string().contains("junk.tlog"), "{e}");
}
