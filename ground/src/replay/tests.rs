//! Replay engine tests on a synthetic mission written as a real tlog (real frames, real
//! reader), with a link loss and damaged bytes spliced in.

use utkik_shared::dialect::MavMessage;
use utkik_shared::tlog::TlogReader;

use super::*;
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
