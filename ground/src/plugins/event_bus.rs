//! Publishes the station's plate hits, alerts, verdicts and authorization states as signed
//! station events on the Zenoh bus (issue 19, `utkik-ground --publish-events zenoh`), windowed
//! and headless alike.
//!
//! [`EventTracker`] compares the world with what was already published, each frame after the
//! world is updated, and yields what is new:
//! - an **alert** event when an alert first appears and on every change of its review state;
//! - a **verdict** event for each user who checked, confirmed or dismissed an alert, once;
//! - a **plate hit** event once the hit is complete (its plate image arrived, was refused, or
//!   none was announced), with the SHA-256 of the opened image as its reference and the plate
//!   track's ground point when known. Only alerts of kind plate hit, which exist only for
//!   `UTKIK_PLATE_STATUS_HIT` reads, become one; [`PlateHitEvent::from_plate_read`] refuses
//!   anything else, so a non-hit read's text is never published (LAW.md section 7);
//! - an **authorization** event when a drone's reported lifecycle state changes;
//! - a **tracks** event per drone at most `--publish-tracks-hz` times a second (default 2; 0: no
//!   tracks): its live, geolocated tracks (position, class, capture time; no plate text), and
//!   one empty event when its last track went stale, so a centre clears them. A drone whose
//!   tracks did not change since the last event publishes nothing.
//!
//! Signing and publishing run on their own thread ([`StationBus::start`]), fed by a channel,
//! so a slow network never stalls the frame. The source of every event is the system id with
//! the kind (drone, fixed or vehicle camera) and legal basis (own, other operator's) that source
//! reports in its UTKIK_PIPELINE_STATUS; a source not heard from yet counts as the station's own
//! drone. A restarted station publishes its restored alerts again (new `seq`).

use std::collections::{BTreeSet, HashMap};
use std::thread::JoinHandle;

use bevy::prelude::*;
use crossbeam_channel::{Receiver, Sender};
use sha2::{Digest, Sha256};
use utkik_shared::authz::AuthzState;
use utkik_shared::dialect::{MavMessage, UtkikAuthzState};
use utkik_shared::events::{
    self, AlertEvent, AuthorizationEvent, EventBody, EventPosition, EventSource, LegalBasis, PlateHitEvent, SourceKind,
    Verdict, VerdictEvent,
};

use super::{GroundSet, WorldRes};
use crate::audit_log::wall_clock_usec;
use crate::centre::{CentreError, EventPublisher};
use crate::state::alerts::{Alert, AlertKind, AlertState};
use crate::state::{TrackClass, TrackKey, World};

/// The lifecycle state a drone reports, `None` for no authorization.
fn authz_state(s: UtkikAuthzState) -> Option<AuthzState> {
    Some(match s {
        UtkikAuthzState::UTKIK_AUTHZ_STATE_NONE => return None,
        UtkikAuthzState::UTKIK_AUTHZ_STATE_PENDING => AuthzState::Pending,
        UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE => AuthzState::Active,
        UtkikAuthzState::UTKIK_AUTHZ_STATE_EXPIRED => AuthzState::Expired,
        UtkikAuthzState::UTKIK_AUTHZ_STATE_REVOKED => AuthzState::Revoked,
        UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT => AuthzState::Urgent,
        UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT_EXPIRED => AuthzState::UrgentExpired,
        UtkikAuthzState::UTKIK_AUTHZ_STATE_REFUSED => AuthzState::Refused,
        UtkikAuthzState::UTKIK_AUTHZ_STATE_STOPPED => AuthzState::Stopped,
    })
}

fn drone(system_id: u8) -> EventSource {
    EventSource {
        system_id,
        kind: SourceKind::Drone,
        legal_basis: LegalBasis::Own,
    }
}

/// The source `system_id` as it reported itself (kind and legal basis from its pipeline
/// status); the station's own drone until it has.
fn source_of(world: &World, system_id: u8) -> EventSource {
    use utkik_shared::dialect::{UtkikLegalBasis, UtkikSourceKind};
    let Some((kind, basis)) = world.vehicles.get(&system_id).and_then(|v| v.source()) else {
        return drone(system_id);
    };
    EventSource {
        system_id,
        kind: match kind {
            UtkikSourceKind::UTKIK_SOURCE_KIND_DRONE => SourceKind::Drone,
            UtkikSourceKind::UTKIK_SOURCE_KIND_FIXED => SourceKind::Fixed,
            UtkikSourceKind::UTKIK_SOURCE_KIND_VEHICLE => SourceKind::Vehicle,
        },
        legal_basis: match basis {
            UtkikLegalBasis::UTKIK_LEGAL_BASIS_OWN => LegalBasis::Own,
            UtkikLegalBasis::UTKIK_LEGAL_BASIS_OTHER_OPERATOR => LegalBasis::OtherOperator,
        },
    }
}

/// An alert's kind and review state as events carry them, and the verdicts given so far.
fn alert_view(a: &Alert) -> (events::AlertKind, events::AlertState, Vec<(String, Verdict)>) {
    let kind = match a.kind {
        AlertKind::PlateHit { .. } => events::AlertKind::PlateHit,
        AlertKind::PossibleMatch { .. } => events::AlertKind::PossibleMatch,
    };
    let (state, verdicts) = match &a.state {
        AlertState::NeedsCheck => (events::AlertState::NeedsCheck, vec![]),
        AlertState::Checked { by } => (events::AlertState::Checked, vec![(by.clone(), Verdict::Confirm)]),
        AlertState::PossibleMatch { confirmed_by } => (
            events::AlertState::PossibleMatch,
            confirmed_by.iter().map(|u| (u.clone(), Verdict::Confirm)).collect(),
        ),
        AlertState::Confirmed { by } => (
            events::AlertState::Confirmed,
            by.iter().map(|u| (u.clone(), Verdict::Confirm)).collect(),
        ),
        AlertState::Dismissed { by } => (events::AlertState::Dismissed, vec![(by.clone(), Verdict::Reject)]),
    };
    (kind, state, verdicts)
}

#[derive(Debug, Default)]
struct AlertSeen {
    state: Option<events::AlertState>,
    verdicts: BTreeSet<(String, bool)>,
    hit_published: bool,
}

/// Default of `--publish-tracks-hz`.
pub const DEFAULT_TRACKS_HZ: f64 = 2.0;

/// The event class of a station track class.
fn track_class(c: TrackClass) -> events::TrackClass {
    match c {
        TrackClass::Unknown => events::TrackClass::Unknown,
        TrackClass::Face => events::TrackClass::Face,
        TrackClass::Plate => events::TrackClass::Plate,
        TrackClass::Person => events::TrackClass::Person,
        TrackClass::Vehicle => events::TrackClass::Vehicle,
    }
}

/// Per drone: when its tracks were last published and what they were.
#[derive(Debug, Default)]
struct TracksSeen {
    at_s: Option<f64>,
    last: Vec<events::TrackEvent>,
}

/// What of the world has been published (see the module doc).
#[derive(Debug)]
pub struct EventTracker {
    alerts: HashMap<(u8, u32), AlertSeen>,
    authz: HashMap<u8, Option<AuthzState>>,
    /// Shortest time between two tracks events of one drone, seconds; `None`: no tracks.
    tracks_period_s: Option<f64>,
    tracks: HashMap<u8, TracksSeen>,
}

impl Default for EventTracker {
    fn default() -> Self {
        Self::new(DEFAULT_TRACKS_HZ)
    }
}

impl EventTracker {
    /// A tracker publishing each drone's tracks at most `tracks_hz` times a second (0 or less,
    /// or not finite: tracks are not published).
    pub fn new(tracks_hz: f64) -> Self {
        Self {
            alerts: HashMap::new(),
            authz: HashMap::new(),
            tracks_period_s: (tracks_hz.is_finite() && tracks_hz > 0.0).then(|| 1.0 / tracks_hz),
            tracks: HashMap::new(),
        }
    }

    /// Tracks events due at the world's time (see the module doc).
    fn track_changes(&mut self, world: &World, out: &mut Vec<(EventSource, EventBody)>) {
        let Some(period_s) = self.tracks_period_s else { return };
        let mut live: HashMap<u8, Vec<events::TrackEvent>> = HashMap::new();
        for t in world.tracks.iter() {
            if t.is_stale(world.now_s) {
                continue;
            }
            let Some(p) = t.position else { continue };
            let list = live.entry(t.key.system_id).or_default();
            if list.len() < events::MAX_TRACKS_PER_EVENT {
                list.push(events::TrackEvent {
                    track_id: t.key.track_id,
                    class: track_class(t.key.class),
                    position: EventPosition {
                        lat_deg: p.lat_deg,
                        lon_deg: p.lon_deg,
                    },
                    time_usec: t.time_usec,
                });
            }
        }
        let mut systems: BTreeSet<u8> = live.keys().copied().collect();
        systems.extend(
            self.tracks
                .iter()
                .filter(|(_, s)| !s.last.is_empty())
                .map(|(&id, _)| id),
        );
        for sysid in systems {
            let mut now = live.remove(&sysid).unwrap_or_default();
            now.sort_by_key(|t| (t.track_id, t.class as u8));
            let seen = self.tracks.entry(sysid).or_default();
            let due = seen
                .at_s
                .is_none_or(|at| world.now_s - at >= period_s || world.now_s < at);
            if !due || now == seen.last {
                continue;
            }
            seen.at_s = Some(world.now_s);
            seen.last = now.clone();
            out.push((
                source_of(world, sysid),
                EventBody::Tracks(events::TracksEvent { tracks: now }),
            ));
        }
    }

    /// The events the world has that were not yet published, in the order to publish them.
    pub fn changes(&mut self, world: &World) -> Vec<(EventSource, EventBody)> {
        let mut out = Vec::new();
        self.track_changes(world, &mut out);
        for a in world.alerts.iter() {
            let seen = self.alerts.entry((a.system_id, a.alert_id)).or_default();
            let source = source_of(world, a.system_id);
            if !seen.hit_published
                && a.complete()
                && let MavMessage::UTKIK_PLATE_READ(read) = &a.message
            {
                let position = world
                    .tracks
                    .get(&TrackKey {
                        system_id: a.system_id,
                        class: TrackClass::Plate,
                        track_id: read.track_id,
                    })
                    .and_then(|t| t.position)
                    .map(|p| EventPosition {
                        lat_deg: p.lat_deg,
                        lon_deg: p.lon_deg,
                    });
                let image = a.evidence_jpeg.as_ref().map(|j| hex::encode(Sha256::digest(j)));
                match PlateHitEvent::from_plate_read(read, position, image) {
                    Ok(hit) => out.push((source, EventBody::PlateHit(hit))),
                    Err(e) => warn!(
                        "event bus: alert {} of system {} not published as a plate hit: {e}",
                        a.alert_id, a.system_id
                    ),
                }
                seen.hit_published = true;
            }
            let (kind, state, verdicts) = alert_view(a);
            if seen.state != Some(state) {
                seen.state = Some(state);
                out.push((
                    source,
                    EventBody::Alert(AlertEvent {
                        alert_id: a.alert_id,
                        kind,
                        state,
                    }),
                ));
            }
            for (user_id, verdict) in verdicts {
                if seen.verdicts.insert((user_id.clone(), verdict == Verdict::Confirm)) {
                    out.push((
                        source,
                        EventBody::Verdict(VerdictEvent {
                            alert_id: a.alert_id,
                            user_id,
                            verdict,
                        }),
                    ));
                }
            }
        }
        for (&sysid, v) in &world.vehicles {
            let Some(status) = &v.authz else { continue };
            let state = authz_state(status.state);
            if self.authz.get(&sysid) != Some(&state) {
                self.authz.insert(sysid, state);
                out.push((
                    source_of(world, sysid),
                    EventBody::Authorization(AuthorizationEvent { state }),
                ));
            }
        }
        out
    }
}

/// The station's side of the bus: the tracker and the publishing thread.
#[derive(Resource)]
pub struct StationBus {
    tracker: EventTracker,
    tx: Option<Sender<(EventSource, EventBody)>>,
    thread: Option<JoinHandle<()>>,
}

impl StationBus {
    /// Starts the publishing thread with an opened publisher; each drone's tracks are published
    /// at most `tracks_hz` times a second (0: not at all).
    pub fn start(publisher: EventPublisher, tracks_hz: f64) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("event-bus".into())
            .spawn(move || publish_loop(publisher, rx))
            .expect("spawning the event-bus thread");
        Self {
            tracker: EventTracker::new(tracks_hz),
            tx: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for StationBus {
    fn drop(&mut self) {
        // Closing the channel ends the thread after it published what was queued.
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn publish_loop(mut publisher: EventPublisher, rx: Receiver<(EventSource, EventBody)>) {
    let mut failed = 0u64;
    for (source, body) in rx {
        let kind = body.kind_name();
        match publisher.publish(wall_clock_usec(), source, body) {
            Ok((signed, key)) => debug!("event bus: published {key} seq {}", signed.event.seq),
            Err(e) => {
                failed += 1;
                error!(
                    "event bus: a {kind} event of system {} was not published: {e}",
                    source.system_id
                );
            }
        }
    }
    info!(
        "event bus: station {} published {} events ({failed} failed)",
        publisher.station_id(),
        publisher.published()
    );
    if let Err(e) = publisher.close() {
        warn!("event bus: {e}");
    }
}

fn publish_changes(world: Res<WorldRes>, bus: Option<ResMut<StationBus>>) {
    let Some(mut bus) = bus else { return };
    let changes = bus.tracker.changes(&world.0);
    let Some(tx) = &bus.tx else { return };
    let stopped = changes.into_iter().any(|c| tx.send(c).is_err());
    if stopped {
        error!("event bus: the publishing thread has stopped; events are no longer published");
        bus.tx = None;
    }
}

/// Publishes station events when a [`StationBus`] resource is present (`--publish-events`).
pub struct EventBusPlugin;

impl Plugin for EventBusPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, publish_changes.after(GroundSet::World));
    }
}

/// Opens the publisher: a convenience for the binary and tests.
///
/// # Errors
/// As [`EventPublisher::open`].
pub fn open_station_bus(
    bus: &crate::centre::BusConfig,
    key: events::StationKey,
    region: &str,
    tracks_hz: f64,
) -> Result<StationBus, CentreError> {
    Ok(StationBus::start(
        EventPublisher::open(bus, key, region, wall_clock_usec())?,
        tracks_hz,
    ))
}

#[cfg(test)]
mod tests {
    use utkik_shared::dialect::{UTKIK_PLATE_READ_DATA, UtkikPlateStatus};

    use super::*;
    use crate::state::Origin;

    fn plate_read(alert_id: u32, status: UtkikPlateStatus, hit_entry_id: u32) -> MavMessage {
        let mut p = UTKIK_PLATE_READ_DATA {
            time_usec: 1_765_000_000_000_000,
            track_id: 5,
            alert_id,
            hit_entry_id,
            status,
            confidence: 90,
            ..Default::default()
        };
        p.plate[..6].copy_from_slice(b"ABC123");
        MavMessage::UTKIK_PLATE_READ(p)
    }

    fn apply(world: &mut World, msg: &MavMessage) {
        world.apply(
            Origin {
                system_id: 1,
                component_id: 191,
                sequence: 0,
            },
            msg,
            1.0,
        );
    }

    #[test]
    fn a_hit_is_published_once_with_its_alert_and_a_non_hit_never() {
        let mut world = World::new();
        let mut t = EventTracker::default();
        apply(
            &mut world,
            &plate_read(0, UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT, 0),
        );
        assert!(t.changes(&world).is_empty(), "a non-hit read publishes nothing");
        apply(&mut world, &plate_read(3, UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT, 2));
        let first = t.changes(&world);
        let kinds: Vec<&str> = first.iter().map(|(_, b)| b.kind_name()).collect();
        assert_eq!(kinds, ["plate_hit", "alert"]);
        let EventBody::PlateHit(h) = &first[0].1 else {
            unreachable!()
        };
        assert_eq!((h.plate.as_str(), h.hit_entry_id.get(), h.alert_id), ("ABC123", 2, 3));
        assert_eq!(first[0].0, drone(1));
        // The drone resends the hit until acknowledged: nothing new is published.
        apply(&mut world, &plate_read(3, UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT, 2));
        assert!(t.changes(&world).is_empty());
    }

    #[test]
    fn a_check_publishes_the_new_state_and_the_verdict_once() {
        use utkik_shared::authz::{Actor, Role};
        let mut world = World::new();
        let mut t = EventTracker::default();
        apply(&mut world, &plate_read(3, UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT, 2));
        t.changes(&world);
        world
            .alerts
            .confirm(1, 3, &Actor::new("anna", [Role::Operator]))
            .unwrap();
        let c = t.changes(&world);
        assert_eq!(
            c.into_iter().map(|(_, b)| b).collect::<Vec<_>>(),
            vec![
                EventBody::Alert(AlertEvent {
                    alert_id: 3,
                    kind: events::AlertKind::PlateHit,
                    state: events::AlertState::Checked,
                }),
                EventBody::Verdict(VerdictEvent {
                    alert_id: 3,
                    user_id: "anna".into(),
                    verdict: Verdict::Confirm,
                }),
            ]
        );
        assert!(t.changes(&world).is_empty());
    }

    fn track(track_id: u32, lat_deg: f64) -> MavMessage {
        MavMessage::UTKIK_TRACK(utkik_shared::dialect::UTKIK_TRACK_DATA {
            time_usec: 1_765_000_000_000_000,
            track_id,
            object_class: utkik_shared::dialect::UtkikObjectClass::UTKIK_OBJECT_CLASS_FACE,
            flags: utkik_shared::dialect::UtkikTrackFlags::UTKIK_TRACK_FLAGS_GEO_VALID,
            lat: (lat_deg * 1e7).round() as i32,
            lon: 180_000_000,
            ..Default::default()
        })
    }

    fn tracks_of(c: &[(EventSource, EventBody)]) -> Vec<Vec<u32>> {
        c.iter()
            .filter_map(|(_, b)| match b {
                EventBody::Tracks(t) => Some(t.tracks.iter().map(|t| t.track_id).collect()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn tracks_are_published_per_drone_at_the_set_rate_and_cleared_when_gone() {
        let mut world = World::new();
        let mut t = EventTracker::new(2.0);
        let at = |world: &mut World, s: f64, msgs: &[MavMessage]| {
            world.now_s = s;
            for m in msgs {
                world.apply(
                    Origin {
                        system_id: 1,
                        component_id: 191,
                        sequence: 0,
                    },
                    m,
                    s,
                );
            }
        };
        at(&mut world, 10.0, &[track(1, 59.30), track(2, 59.31)]);
        assert_eq!(tracks_of(&t.changes(&world)), vec![vec![1, 2]]);
        // A moved track within the period waits; after it, it is published.
        at(&mut world, 10.2, &[track(1, 59.3001)]);
        assert!(tracks_of(&t.changes(&world)).is_empty(), "0.2 s < 0.5 s period");
        at(&mut world, 10.6, &[]);
        let c = t.changes(&world);
        assert_eq!(tracks_of(&c), vec![vec![1, 2]]);
        let EventBody::Tracks(ev) = &c[0].1 else { unreachable!() };
        assert!((ev.tracks[0].position.lat_deg - 59.3001).abs() < 1e-6, "{ev:?}");
        assert_eq!(ev.tracks[0].class, events::TrackClass::Face);
        // Nothing changed: nothing published.
        at(&mut world, 11.2, &[]);
        assert!(tracks_of(&t.changes(&world)).is_empty());
        // All tracks stale: one empty event, then silence.
        at(&mut world, 10.6 + crate::state::tracks::TRACK_STALE_S + 1.0, &[]);
        assert_eq!(tracks_of(&t.changes(&world)), vec![Vec::<u32>::new()]);
        at(&mut world, 30.0, &[]);
        assert!(tracks_of(&t.changes(&world)).is_empty());
        // 0 Hz: never.
        let mut off = EventTracker::new(0.0);
        at(&mut world, 40.0, &[track(3, 59.3)]);
        assert!(tracks_of(&off.changes(&world)).is_empty());
    }

    #[test]
    fn a_fixed_camera_of_another_operator_is_published_as_such() {
        use utkik_shared::dialect::{UTKIK_PIPELINE_STATUS_DATA, UtkikLegalBasis, UtkikSourceKind};
        let mut world = World::new();
        let mut t = EventTracker::default();
        apply(
            &mut world,
            &MavMessage::UTKIK_PIPELINE_STATUS(UTKIK_PIPELINE_STATUS_DATA {
                source_kind: UtkikSourceKind::UTKIK_SOURCE_KIND_FIXED,
                legal_basis: UtkikLegalBasis::UTKIK_LEGAL_BASIS_OTHER_OPERATOR,
                ..Default::default()
            }),
        );
        apply(&mut world, &plate_read(3, UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT, 2));
        let c = t.changes(&world);
        assert!(!c.is_empty());
        for (source, _) in &c {
            assert_eq!(
                *source,
                EventSource {
                    system_id: 1,
                    kind: SourceKind::Fixed,
                    legal_basis: LegalBasis::OtherOperator,
                }
            );
        }
    }

    #[test]
    fn authorization_changes_are_published_on_change_only() {
        let mut world = World::new();
        let mut t = EventTracker::default();
        let status = |state| {
            MavMessage::UTKIK_AUTHZ_STATUS(utkik_shared::dialect::UTKIK_AUTHZ_STATUS_DATA {
                state,
                ..Default::default()
            })
        };
        apply(&mut world, &status(UtkikAuthzState::UTKIK_AUTHZ_STATE_PENDING));
        let c = t.changes(&world);
        assert_eq!(
            c,
            vec![(
                drone(1),
                EventBody::Authorization(AuthorizationEvent {
                    state: Some(AuthzState::Pending)
                })
            )]
        );
        apply(&mut world, &status(UtkikAuthzState::UTKIK_AUTHZ_STATE_PENDING));
        assert!(t.changes(&world).is_empty());
        apply(&mut world, &status(UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE));
        assert_eq!(t.changes(&world).len(), 1);
    }
}
