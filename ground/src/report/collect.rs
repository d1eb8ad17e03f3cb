//! One pass over an indexed recording gathering what the mission report shows: the flight
//! path, geolocated track points, per-second link and pipeline figures, the authorization
//! history and the final alerts with the operator verdicts of the audit log applied (the state
//! at the end of the mission, the same as replay shows at the last instant).

use std::collections::BTreeMap;

use utkik_shared::dialect::{MavMessage, UtkikAuthzState, UtkikTrackFlags};
use utkik_shared::tlog::TlogReader;

use crate::replay::{RecordedVerdict, Replay, ReplayEvent, VerdictOutcome, apply_verdicts};
use crate::state::{Alert, Origin, TrackClass};

/// One second of the mission.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecondSample {
    /// Seconds since the start of the recording.
    pub t_s: f64,
    /// Messages received in this second.
    pub messages: u32,
    /// Packets missing (sequence gaps) in this second.
    pub lost: u32,
    /// Onboard pipeline frames per second (last status in this second).
    pub fps: Option<f64>,
    /// Pipeline latency p95, ms.
    pub latency_p95_ms: Option<f64>,
    /// Frames dropped in this second (difference of the counter).
    pub dropped: Option<u32>,
    /// CPU load, percent.
    pub cpu_pct: Option<u8>,
}

/// An authorization state report that changed something.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthzChange {
    /// Playback time, µs since the Unix epoch.
    pub time_usec: u64,
    /// Vehicle.
    pub system_id: u8,
    /// New state.
    pub state: UtkikAuthzState,
    /// Digest of the authorization it refers to.
    pub digest: [u8; 32],
}

/// What the report draws.
#[derive(Debug, Clone, Default)]
pub struct MissionData {
    /// Start of the recording, µs since the Unix epoch.
    pub start_usec: u64,
    /// End of the recording.
    pub end_usec: u64,
    /// Vehicle positions (lat, lon) by system id, one per second at most.
    pub flight_path: BTreeMap<u8, Vec<(f64, f64)>>,
    /// Geolocated track points (lat, lon) by (system id, track id), with the class.
    pub track_points: BTreeMap<(u8, u32), (TrackClass, Vec<(f64, f64)>)>,
    /// Per-second samples.
    pub seconds: Vec<SecondSample>,
    /// Authorization history.
    pub authz: Vec<AuthzChange>,
    /// Alerts at the end of the recording, verdicts up to the end applied.
    pub alerts: Vec<Alert>,
    /// Verdicts dated within the recording, in time order, with what became of each.
    pub verdicts: Vec<(RecordedVerdict, VerdictOutcome)>,
    /// Verdicts dated after the end of the recording: not applied.
    pub verdicts_after_end: usize,
    /// Verdicts dated before the start (another mission): not applied.
    pub verdicts_before_start: usize,
    /// Timeline events, verdict markers included.
    pub events: Vec<ReplayEvent>,
    /// World at the end (for the summary line).
    pub final_summary: String,
}

/// Walks the recording once, then applies `verdicts` (time order, dated at or after the start:
/// see [`Replay::mission_verdicts`]) up to the end; `progress(done_bytes, total_bytes)` is called
/// as it goes.
pub fn collect(replay: &Replay, verdicts: &[RecordedVerdict], mut progress: impl FnMut(u64, u64)) -> MissionData {
    let (start, end) = replay.range_usec();
    let data = replay.bytes();
    let total = data.len() as u64;
    let n_s = ((end - start) / 1_000_000 + 1) as usize;
    let mut out = MissionData {
        start_usec: start,
        end_usec: end,
        seconds: (0..n_s)
            .map(|i| SecondSample {
                t_s: i as f64,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let mut world = replay.new_world();
    let mut max = 0u64;
    let mut last_lost = 0u64;
    let mut last_dropped: BTreeMap<u8, u32> = BTreeMap::new();
    let mut last_path_s: BTreeMap<u8, u64> = BTreeMap::new();
    let mut last_authz: BTreeMap<u8, (UtkikAuthzState, [u8; 32])> = BTreeMap::new();
    let mut last_progress = 0;
    for rec in TlogReader::new(data).flatten() {
        let t = rec.time_usec.max(max);
        max = t;
        let sec = ((t - start) / 1_000_000) as usize;
        let s = &mut out.seconds[sec.min(n_s - 1)];
        s.messages += 1;
        let Ok(msg) = rec.frame.decode::<MavMessage>() else {
            continue;
        };
        let origin = Origin {
            system_id: rec.frame.sysid(),
            component_id: rec.frame.compid(),
            sequence: rec.frame.seq(),
        };
        world.apply(origin, &msg, rec.time_usec as f64 / 1e6);
        let lost: u64 = world.links.values().map(|l| l.lost).sum();
        s.lost += (lost - last_lost) as u32;
        last_lost = lost;
        let sys = origin.system_id;
        match &msg {
            MavMessage::GLOBAL_POSITION_INT(p) if last_path_s.get(&sys) != Some(&(sec as u64)) => {
                last_path_s.insert(sys, sec as u64);
                out.flight_path
                    .entry(sys)
                    .or_default()
                    .push((p.lat as f64 / 1e7, p.lon as f64 / 1e7));
            }
            MavMessage::UTKIK_TRACK(tr) if tr.flags.contains(UtkikTrackFlags::UTKIK_TRACK_FLAGS_GEO_VALID) => {
                let e = out
                    .track_points
                    .entry((sys, tr.track_id))
                    .or_insert_with(|| (TrackClass::from(tr.object_class), Vec::new()));
                e.1.push((tr.lat as f64 / 1e7, tr.lon as f64 / 1e7));
            }
            MavMessage::UTKIK_PIPELINE_STATUS(p) => {
                s.fps = Some(p.fps as f64 / 100.0);
                s.latency_p95_ms = Some(p.latency_p95 as f64);
                s.cpu_pct = Some(p.cpu_load);
                let prev = last_dropped.insert(sys, p.frames_dropped);
                s.dropped = Some(prev.map_or(0, |d| p.frames_dropped.saturating_sub(d)));
            }
            MavMessage::UTKIK_AUTHZ_STATUS(a) => {
                let now = (a.state, a.authorization_digest);
                if last_authz.insert(sys, now) != Some(now) {
                    out.authz.push(AuthzChange {
                        time_usec: t,
                        system_id: sys,
                        state: a.state,
                        digest: a.authorization_digest,
                    });
                }
            }
            _ => {}
        }
        if rec.offset - last_progress >= 1 << 20 {
            last_progress = rec.offset;
            progress(rec.offset, total);
        }
    }
    progress(total, total);
    let due = verdicts.partition_point(|v| v.time_usec <= end);
    let outcomes = apply_verdicts(&mut world.alerts, &verdicts[..due]);
    out.verdicts = verdicts[..due].iter().cloned().zip(outcomes).collect();
    out.verdicts_after_end = verdicts.len() - due;
    out.events = replay.events_with(verdicts);
    out.alerts = world.alerts.iter().cloned().collect();
    out.final_summary = world.summary();
    out
}

/// Whether biometric evidence of a possible match may be shown (LAW.md §1, §3, §8): the vehicle
/// reported an ACTIVE (or URGENT) authorization with the match's digest at the match's time, and
/// no later report of that authorization says it was revoked or its urgent use lapsed. Unknown
/// or all-zero digests never authorize.
pub fn biometric_use_authorized(authz: &[AuthzChange], system_id: u8, digest16: &[u8; 16], at_usec: u64) -> bool {
    if digest16.iter().all(|&b| b == 0) {
        return false;
    }
    let same = |c: &&AuthzChange| c.system_id == system_id && c.digest[..16] == digest16[..];
    let active_then = authz
        .iter()
        .filter(|c| c.system_id == system_id && c.time_usec <= at_usec)
        .next_back()
        .is_some_and(|c| {
            same(&c)
                && matches!(
                    c.state,
                    UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE | UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT
                )
        });
    let withdrawn_later = authz.iter().filter(same).any(|c| {
        c.time_usec > at_usec
            && matches!(
                c.state,
                UtkikAuthzState::UTKIK_AUTHZ_STATE_REVOKED | UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT_EXPIRED
            )
    });
    active_then && !withdrawn_later
}

/// The authorization history of a recording alone (what [`biometric_use_authorized`] needs),
/// without the rest of [`collect`]: for replay, which shows evidence one alert at a time.
pub fn authz_history(replay: &Replay) -> Vec<AuthzChange> {
    let mut out = Vec::new();
    let mut last: BTreeMap<u8, (UtkikAuthzState, [u8; 32])> = BTreeMap::new();
    let mut max = 0u64;
    for rec in TlogReader::new(replay.bytes()).flatten() {
        max = max.max(rec.time_usec);
        let Ok(MavMessage::UTKIK_AUTHZ_STATUS(a)) = rec.frame.decode::<MavMessage>() else {
            continue;
        };
        let sys = rec.frame.sysid();
        let now = (a.state, a.authorization_digest);
        if last.insert(sys, now) != Some(now) {
            out.push(AuthzChange {
                time_usec: max,
                system_id: sys,
                state: a.state,
                digest: a.authorization_digest,
            });
        }
    }
    out
}
