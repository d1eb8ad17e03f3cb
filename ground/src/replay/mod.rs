//! Mission replay without Bevy: open a `.tlog`, index it in one pass (time -> offset from
//! [`utkik_shared::tlog::TlogIndex`], timeline events, periodic world keyframes), then
//! reproduce the world at any time exactly: the state after a seek equals the state after
//! playing from the start, because a seek restores the nearest earlier keyframe (a clone of
//! the world) and applies the same records in the same order from there.
//!
//! Playback order is file order. Each record's playback time is the running maximum of the
//! recorded timestamps, so a clock that steps backwards in the file never reorders anything:
//! "the state at t" is always a prefix of the file.
//!
//! Operator verdicts (confirmations, dismissals, plate checks) are not in the tlog but in the
//! ground audit log ([`verdicts`]). Once attached with [`Replay::attach_verdicts`], the world at
//! t is the tlog up to t, then every verdict with time <= t applied to its alert. Keyframes hold
//! the tlog-only world; a cursor keeps the tlog-only alerts beside the shown ones and re-derives
//! the shown alerts after each step, so seeking and playing still give the same state.

pub mod app;
pub mod clock;
pub mod events;
pub mod review;
pub mod verdicts;

use std::path::{Path, PathBuf};

use utkik_shared::dialect::MavMessage;
use utkik_shared::tlog::{TlogError, TlogIndex, TlogReader};

pub use clock::PlaybackClock;
pub use events::{EventKind, ReplayEvent};
pub use verdicts::{AuditTrail, RecordedVerdict, VerdictOutcome, VerdictTally, apply_verdicts};

use crate::state::{Alerts, Origin, World};
use events::EventExtractor;

/// Tracks not updated for this long are forgotten (same as live).
pub use crate::plugins::link::TRACK_FORGET_S;

/// Default spacing of keyframes, seconds of recording.
pub const DEFAULT_KEYFRAME_EVERY_S: f64 = 10.0;

/// What can go wrong opening a recording.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file cannot be read.
    #[error("cannot read {}: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why (in the message, not a `source` that reporters would print twice).
        reason: std::io::Error,
    },
    /// The file holds no readable record at all.
    #[error("replay {}: no MAVLink records in {bytes} bytes", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
}

/// A world snapshot: the world after every record before `offset` was applied.
#[derive(Debug, Clone)]
struct Keyframe {
    /// Playback time of the last record applied.
    time_usec: u64,
    /// Byte offset of the next record to apply.
    offset: u64,
    world: World,
}

/// Counters of the indexing pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Records read.
    pub records: u64,
    /// Records whose frame is not a message of our dialect (counted, skipped).
    pub undecodable: u64,
    /// Keyframes stored.
    pub keyframes: usize,
}

/// An indexed recording, ready to play and seek.
#[derive(Debug)]
pub struct Replay {
    data: Vec<u8>,
    /// Time -> offset table, counts, gaps and damage of the file.
    pub index: TlogIndex,
    keyframes: Vec<Keyframe>,
    /// Timeline events in time order.
    pub events: Vec<ReplayEvent>,
    /// Counters of the indexing pass.
    pub stats: ReplayStats,
    start_usec: u64,
    end_usec: u64,
    /// Operator verdicts from the audit log in time order (none until attached).
    verdicts: Vec<RecordedVerdict>,
    /// Verdicts of the attached log dated before the recording starts (other missions): not used.
    pub verdicts_before_start: usize,
    /// The station's seal key: opens the evidence crops and plate images drones sealed to it
    /// (`shared::seal`); without it a sealed image in the recording is not shown.
    seal_key: Option<utkik_shared::seal::SealKeyPair>,
}

/// A position in the recording with the world at that position, advanced incrementally while
/// playing.
#[derive(Debug, Clone)]
pub struct Cursor {
    /// The world after all records up to [`Cursor::time_usec`].
    pub world: World,
    /// Byte offset of the next record to apply.
    offset: u64,
    /// Running maximum of applied record times.
    max_usec: u64,
    /// Playback time the cursor stands at.
    pub time_usec: u64,
    /// The alerts from the tlog alone (what keyframes hold), kept apart from the shown
    /// `world.alerts` when verdicts are attached, so those can be re-derived at any time.
    base_alerts: Alerts,
    /// Verdicts applied (a prefix of the replay's verdicts: those with time <= `time_usec`).
    verdicts_applied: usize,
    /// What became of the applied verdicts.
    pub verdicts: VerdictTally,
}

fn origin(frame: &utkik_shared::mavframe::RawFrame) -> Origin {
    Origin {
        system_id: frame.sysid(),
        component_id: frame.compid(),
        sequence: frame.seq(),
    }
}

impl Replay {
    /// Reads and indexes a file; `progress(done_bytes, total_bytes)` is called during the pass.
    ///
    /// # Errors
    /// [`ReplayError::Read`] when the file cannot be read, [`ReplayError::Empty`] when it holds
    /// no record.
    pub fn open(path: &Path, progress: impl FnMut(u64, u64)) -> Result<Self, ReplayError> {
        Self::open_with_seal_key(path, None, progress)
    }

    /// [`Self::open`] with the station's seal key, so sealed images in the recording open.
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn open_with_seal_key(
        path: &Path,
        seal_key: Option<utkik_shared::seal::SealKeyPair>,
        progress: impl FnMut(u64, u64),
    ) -> Result<Self, ReplayError> {
        let data = std::fs::read(path).map_err(|reason| ReplayError::Read {
            path: path.to_path_buf(),
            reason,
        })?;
        Self::from_bytes_with_seal_key(data, DEFAULT_KEYFRAME_EVERY_S, seal_key, progress).map_err(|e| match e {
            ReplayError::Empty { bytes, .. } => ReplayError::Empty {
                path: path.to_path_buf(),
                bytes,
            },
            e => e,
        })
    }

    /// Indexes a recording held in memory with a keyframe every `keyframe_every_s` seconds.
    ///
    /// # Errors
    /// [`ReplayError::Empty`] when it holds no record.
    pub fn from_bytes(
        data: Vec<u8>,
        keyframe_every_s: f64,
        progress: impl FnMut(u64, u64),
    ) -> Result<Self, ReplayError> {
        Self::from_bytes_with_seal_key(data, keyframe_every_s, None, progress)
    }

    /// [`Self::from_bytes`] with the station's seal key.
    ///
    /// # Errors
    /// As [`Self::from_bytes`].
    pub fn from_bytes_with_seal_key(
        data: Vec<u8>,
        keyframe_every_s: f64,
        seal_key: Option<utkik_shared::seal::SealKeyPair>,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<Self, ReplayError> {
        let new_world = || {
            let mut w = World::new();
            w.alerts.set_seal_key(seal_key.clone());
            w
        };
        let total = data.len() as u64;
        let index = TlogIndex::build(&data);
        let (Some(first), Some(_)) = (index.first_usec, index.last_usec) else {
            return Err(ReplayError::Empty {
                path: PathBuf::new(),
                bytes: total,
            });
        };
        let every_usec = (keyframe_every_s.max(0.001) * 1e6) as u64;
        let mut events = Vec::new();
        let mut extractor = EventExtractor::default();
        let mut stats = ReplayStats::default();
        let mut world = new_world();
        let mut keyframes = vec![Keyframe {
            time_usec: 0,
            offset: 0,
            world: new_world(),
        }];
        let mut next_kf = first.saturating_add(every_usec);
        let mut max_usec = 0u64;
        let mut last_progress = 0u64;
        let mut damage_at = Vec::new();
        for item in TlogReader::new(&data[..]) {
            let rec = match item {
                Ok(rec) => rec,
                Err(TlogError::Corrupt { offset, skipped_bytes }) => {
                    damage_at.push((offset, skipped_bytes));
                    continue;
                }
                Err(TlogError::Truncated { offset, have_bytes }) => {
                    damage_at.push((offset, have_bytes));
                    continue;
                }
                Err(_) => break,
            };
            let t = rec.time_usec.max(max_usec);
            // Keyframe before applying the first record at or past the keyframe time.
            if t >= next_kf {
                keyframes.push(Keyframe {
                    time_usec: max_usec,
                    offset: rec.offset,
                    world: world.clone(),
                });
                while next_kf <= t {
                    next_kf += every_usec;
                }
            }
            for (offset, bytes) in damage_at.drain(..) {
                events.push(ReplayEvent {
                    time_usec: t,
                    system_id: 0,
                    kind: EventKind::DataDamage { offset, bytes },
                });
            }
            max_usec = t;
            stats.records += 1;
            match rec.frame.decode::<MavMessage>() {
                Ok(msg) => {
                    let o = origin(&rec.frame);
                    if let Some(ev) = extractor.message(o.system_id, &msg, t) {
                        events.push(ev);
                    }
                    world.apply(o, &msg, rec.time_usec as f64 / 1e6);
                }
                Err(_) => stats.undecodable += 1,
            }
            if rec.offset - last_progress >= 1 << 20 {
                last_progress = rec.offset;
                progress(rec.offset, total);
            }
        }
        // Damage at the very end (truncated last record).
        for (offset, bytes) in damage_at.drain(..) {
            events.push(ReplayEvent {
                time_usec: max_usec,
                system_id: 0,
                kind: EventKind::DataDamage { offset, bytes },
            });
        }
        for g in &index.gaps {
            if g.after_usec > g.before_usec {
                events.push(ReplayEvent {
                    time_usec: g.before_usec,
                    system_id: 0,
                    kind: EventKind::LinkLoss {
                        duration_s: (g.after_usec - g.before_usec) as f64 / 1e6,
                    },
                });
            }
        }
        events.sort_by_key(|e| e.time_usec);
        progress(total, total);
        stats.keyframes = keyframes.len();
        Ok(Self {
            data,
            index,
            keyframes,
            events,
            stats,
            start_usec: first,
            end_usec: max_usec,
            verdicts: Vec::new(),
            verdicts_before_start: 0,
            seal_key,
        })
    }

    /// Attaches the operator verdicts of the mission's audit log: they become timeline events
    /// and are applied to the alerts of every cursor made from now on (cursors made before are
    /// stale: seek again). Verdicts dated before the recording starts belong to another mission
    /// and are left out (counted in [`Replay::verdicts_before_start`]).
    pub fn attach_verdicts(&mut self, trail: &AuditTrail) {
        let (used, before) = self.mission_verdicts(trail);
        self.events = self.events_with(&used);
        self.verdicts_before_start = before;
        self.verdicts = used;
    }

    /// The verdicts of `trail` that can belong to this recording (dated at or after its start;
    /// an audit log spans many missions and alert ids restart), and how many are dated before.
    pub fn mission_verdicts(&self, trail: &AuditTrail) -> (Vec<RecordedVerdict>, usize) {
        let (before, used): (Vec<_>, Vec<_>) = trail
            .verdicts
            .iter()
            .cloned()
            .partition(|v| v.time_usec < self.start_usec);
        (used, before.len())
    }

    /// The recording's events with markers for `verdicts` instead of any attached ones, in time
    /// order.
    pub fn events_with(&self, verdicts: &[RecordedVerdict]) -> Vec<ReplayEvent> {
        let mut events: Vec<ReplayEvent> = self
            .events
            .iter()
            .filter(|e| !matches!(e.kind, EventKind::OperatorVerdict { .. }))
            .cloned()
            .collect();
        for v in verdicts {
            events.push(ReplayEvent {
                time_usec: v.time_usec,
                system_id: self.verdict_system_id(v),
                kind: EventKind::OperatorVerdict {
                    target: v.target.clone(),
                    user_id: v.user_id.clone(),
                    confirm: v.confirm,
                },
            });
        }
        events.sort_by_key(|e| e.time_usec);
        events
    }

    /// The vehicle a verdict is about, for the timeline: named for plate hits; for a possible
    /// match the one vehicle that reported a match with that id (0 when none or several).
    fn verdict_system_id(&self, v: &RecordedVerdict) -> u8 {
        match v.target {
            verdicts::VerdictTarget::PlateHit { system_id, .. } => system_id,
            verdicts::VerdictTarget::Match { match_id, .. } => {
                let mut ids = self.events.iter().filter_map(|e| match e.kind {
                    EventKind::PossibleMatch { alert_id, .. } if alert_id == match_id => Some(e.system_id),
                    _ => None,
                });
                match (ids.next(), ids.next()) {
                    (Some(s), None) => s,
                    _ => 0,
                }
            }
        }
    }

    /// The attached verdicts, in time order.
    pub fn verdicts(&self) -> &[RecordedVerdict] {
        &self.verdicts
    }

    /// First and last playback time, µs since the Unix epoch.
    pub fn range_usec(&self) -> (u64, u64) {
        (self.start_usec, self.end_usec)
    }

    /// A clock over the whole recording, paused at the start.
    pub fn clock(&self) -> PlaybackClock {
        PlaybackClock::new(self.start_usec, self.end_usec)
    }

    /// An empty world that opens sealed images with the station's key (when given).
    pub fn new_world(&self) -> World {
        let mut w = World::new();
        w.alerts.set_seal_key(self.seal_key.clone());
        w
    }

    /// A cursor at the very beginning (empty world, nothing applied).
    pub fn cursor_at_start(&self) -> Cursor {
        Cursor {
            world: self.new_world(),
            offset: 0,
            max_usec: 0,
            time_usec: 0,
            base_alerts: Alerts::default(),
            verdicts_applied: 0,
            verdicts: VerdictTally::default(),
        }
    }

    /// The cursor at `time_usec`: the nearest keyframe at or before it, then the records up to
    /// it. Its world equals playing every record with playback time <= `time_usec` from the
    /// start.
    pub fn seek(&self, time_usec: u64) -> Cursor {
        let n = self.keyframes.partition_point(|k| k.time_usec <= time_usec);
        let kf = &self.keyframes[n.saturating_sub(1)];
        let world = kf.world.clone();
        let mut cursor = Cursor {
            base_alerts: if self.verdicts.is_empty() {
                Alerts::default()
            } else {
                world.alerts.clone()
            },
            world,
            offset: kf.offset,
            max_usec: kf.time_usec,
            time_usec: kf.time_usec,
            // The keyframe's alerts carry no verdicts: `advance` derives them as soon as one is
            // due (with none due they are already right).
            verdicts_applied: 0,
            verdicts: VerdictTally::default(),
        };
        self.advance(&mut cursor, time_usec);
        cursor
    }

    /// Moves `cursor` to `time_usec`: forwards by applying records (and the verdicts that came
    /// due), backwards by seeking. Returns the number of records applied.
    pub fn advance(&self, cursor: &mut Cursor, time_usec: u64) -> usize {
        if time_usec < cursor.time_usec {
            *cursor = self.seek(time_usec);
            return 0;
        }
        let derived = !self.verdicts.is_empty();
        if derived {
            // Records apply to the tlog-only alerts; the shown ones are re-derived below.
            std::mem::swap(&mut cursor.world.alerts, &mut cursor.base_alerts);
        }
        let mut applied = 0;
        let start = (cursor.offset as usize).min(self.data.len());
        let mut next_offset = self.data.len() as u64;
        for item in TlogReader::with_base_offset(&self.data[start..], cursor.offset) {
            let Ok(rec) = item else { continue };
            let t = rec.time_usec.max(cursor.max_usec);
            if t > time_usec {
                next_offset = rec.offset;
                break;
            }
            cursor.max_usec = t;
            if let Ok(msg) = rec.frame.decode::<MavMessage>() {
                cursor.world.apply(origin(&rec.frame), &msg, rec.time_usec as f64 / 1e6);
            }
            applied += 1;
        }
        cursor.offset = next_offset;
        cursor.time_usec = time_usec;
        if derived {
            std::mem::swap(&mut cursor.world.alerts, &mut cursor.base_alerts);
            let due = self.verdicts.partition_point(|v| v.time_usec <= time_usec);
            if applied > 0 || due != cursor.verdicts_applied {
                self.derive_alerts(cursor);
            }
        }
        applied
    }

    /// Shown alerts = the tlog-only alerts with every verdict up to the cursor's time applied.
    /// Recomputed from scratch (verdicts are few; alerts are few) so the result depends only on
    /// the time, never on the path the cursor took.
    fn derive_alerts(&self, cursor: &mut Cursor) {
        if self.verdicts.is_empty() {
            return;
        }
        let due = self.verdicts.partition_point(|v| v.time_usec <= cursor.time_usec);
        cursor.world.alerts.clone_from(&cursor.base_alerts);
        let outcomes = apply_verdicts(&mut cursor.world.alerts, &self.verdicts[..due]);
        cursor.verdicts = VerdictTally::of(&outcomes);
        cursor.verdicts_applied = due;
    }

    /// The world shown at `time_usec`: the cursor's world with stale tracks aged as live does.
    pub fn world_at(&self, time_usec: u64) -> World {
        let mut w = self.seek(time_usec).world;
        w.tick(time_usec as f64 / 1e6, TRACK_FORGET_S);
        w
    }

    /// The first event strictly after `time_usec`.
    pub fn next_event(&self, time_usec: u64) -> Option<&ReplayEvent> {
        let i = self.events.partition_point(|e| e.time_usec <= time_usec);
        self.events.get(i)
    }

    /// The last event strictly before `time_usec`.
    pub fn previous_event(&self, time_usec: u64) -> Option<&ReplayEvent> {
        let i = self.events.partition_point(|e| e.time_usec < time_usec);
        i.checked_sub(1).map(|i| &self.events[i])
    }

    /// The raw recording.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }
}

#[cfg(test)]
mod tests;
