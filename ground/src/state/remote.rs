//! What an operations centre knows of other stations' sources, from their signed events
//! (issue 19 item 3; fed by `plugins::event_intake`): per source (station, kind, system id) its
//! region and legal basis, its live tracks (the last `tracks` event), its authorization state,
//! its alerts' review states, its plate hits and verdicts counted, and when it was last heard.
//!
//! Plain data, like [`super::World`]: the intake applies verified events, the views draw it, a
//! test drives it without Bevy. The centre commands nothing here: events are reports, and the
//! centre cannot activate identification on a drone it does not command (a command goes over
//! the drone's own signed MAVLink link from its own station only).

use std::collections::BTreeMap;

use utkik_shared::authz::AuthzState;
use utkik_shared::events::{AlertState, EventBody, LegalBasis, SourceKind, StationEvent, TrackEvent};

/// A source is known for this long after its last event; then it is dropped from the view.
pub const FORGET_SOURCE_USEC: u64 = 10 * 60 * 1_000_000;

/// Tracks older than this (capture time against the newest event of their source) are no
/// longer shown: a station that stopped sending tracks events leaves none frozen on the map.
pub const REMOTE_TRACK_STALE_USEC: u64 = 5_000_000;

/// A source of another station.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RemoteKey {
    /// The station that signed its events.
    pub station_id: String,
    /// Drone, fixed or vehicle camera.
    pub kind: SourceKind,
    /// Its system id at that station.
    pub system_id: u8,
}

impl std::fmt::Display for RemoteKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}-{}", self.station_id, self.kind.name(), self.system_id)
    }
}

/// What is known of one source.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSource {
    /// The region its station publishes under.
    pub region: String,
    /// Own camera or another operator's (shown: another operator's feed has other rules).
    pub legal_basis: LegalBasis,
    /// Its live tracks from the last `tracks` event.
    pub tracks: Vec<TrackEvent>,
    /// The authorization state its station reported (`None`: never reported; `Some(None)`:
    /// no authorization loaded).
    pub authz: Option<Option<AuthzState>>,
    /// Review state of each alert, by alert id.
    pub alerts: BTreeMap<u32, AlertState>,
    /// Plate hits received.
    pub plate_hits: u64,
    /// Verdicts received.
    pub verdicts: u64,
    /// Station time of its newest event (UTC µs).
    pub last_event_usec: u64,
}

/// Every remote source, by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemoteSources {
    sources: BTreeMap<RemoteKey, RemoteSource>,
}

impl RemoteSources {
    /// Applies one verified event (the caller verified its signature and sequence).
    pub fn apply(&mut self, region: &str, event: &StationEvent) {
        let key = RemoteKey {
            station_id: event.station_id.clone(),
            kind: event.source.kind,
            system_id: event.source.system_id,
        };
        let s = self.sources.entry(key).or_insert_with(|| RemoteSource {
            region: region.to_string(),
            legal_basis: event.source.legal_basis,
            tracks: Vec::new(),
            authz: None,
            alerts: BTreeMap::new(),
            plate_hits: 0,
            verdicts: 0,
            last_event_usec: 0,
        });
        s.region = region.to_string();
        s.legal_basis = event.source.legal_basis;
        s.last_event_usec = s.last_event_usec.max(event.time_usec);
        match &event.body {
            EventBody::Tracks(t) => s.tracks = t.tracks.clone(),
            EventBody::PlateHit(_) => s.plate_hits += 1,
            EventBody::Alert(a) => {
                s.alerts.insert(a.alert_id, a.state);
            }
            EventBody::Verdict(_) => s.verdicts += 1,
            EventBody::Authorization(a) => s.authz = Some(a.state),
        }
    }

    /// Drops sources not heard from for [`FORGET_SOURCE_USEC`] before `now_usec`.
    pub fn expire(&mut self, now_usec: u64) {
        self.sources
            .retain(|_, s| now_usec.saturating_sub(s.last_event_usec) < FORGET_SOURCE_USEC);
    }

    /// The sources in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&RemoteKey, &RemoteSource)> {
        self.sources.iter()
    }

    /// One source.
    pub fn get(&self, key: &RemoteKey) -> Option<&RemoteSource> {
        self.sources.get(key)
    }

    /// Number of sources.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// No source known.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Live tracks of all sources (capture time within [`REMOTE_TRACK_STALE_USEC`] of `now_usec`).
    pub fn live_tracks(&self, now_usec: u64) -> impl Iterator<Item = (&RemoteKey, &TrackEvent)> {
        self.sources.iter().flat_map(move |(k, s)| {
            s.tracks
                .iter()
                .filter(move |t| now_usec.saturating_sub(t.time_usec) <= REMOTE_TRACK_STALE_USEC)
                .map(move |t| (k, t))
        })
    }

    /// One line per source: what a headless centre prints and the panel lists.
    pub fn summary_lines(&self, now_usec: u64) -> Vec<String> {
        self.sources
            .iter()
            .map(|(k, s)| {
                let authz = match &s.authz {
                    None => "authorization unknown".to_string(),
                    Some(None) => "no authorization".to_string(),
                    Some(Some(state)) => format!("authorization {state:?}"),
                };
                let open = s
                    .alerts
                    .values()
                    .filter(|a| matches!(a, AlertState::NeedsCheck | AlertState::PossibleMatch))
                    .count();
                let basis = match s.legal_basis {
                    LegalBasis::Own => "own camera",
                    LegalBasis::OtherOperator => "OTHER OPERATOR's camera",
                };
                let tracks = s
                    .tracks
                    .iter()
                    .filter(|t| now_usec.saturating_sub(t.time_usec) <= REMOTE_TRACK_STALE_USEC)
                    .count();
                format!(
                    "{k} [{}] ({basis}): {tracks} tracks, {} plate hits, {open} open alerts, {authz}, heard {:.0} s ago",
                    s.region,
                    s.plate_hits,
                    now_usec.saturating_sub(s.last_event_usec) as f64 / 1e6
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use utkik_shared::events::{
        AlertEvent, AlertKind, AuthorizationEvent, EventPosition, EventSource, PlateHitEvent, TrackClass, TracksEvent,
    };

    use super::*;

    const T0: u64 = 1_798_761_600_000_000;

    fn ev(station: &str, kind: SourceKind, system_id: u8, time_usec: u64, body: EventBody) -> StationEvent {
        StationEvent::new(
            station,
            time_usec,
            time_usec,
            EventSource {
                system_id,
                kind,
                legal_basis: if kind == SourceKind::Fixed {
                    LegalBasis::OtherOperator
                } else {
                    LegalBasis::Own
                },
            },
            body,
        )
    }

    fn tracks(n: u32, time_usec: u64) -> EventBody {
        EventBody::Tracks(TracksEvent {
            tracks: (0..n)
                .map(|i| TrackEvent {
                    track_id: i,
                    class: TrackClass::Vehicle,
                    position: EventPosition {
                        lat_deg: 59.3,
                        lon_deg: 18.0,
                    },
                    time_usec,
                })
                .collect(),
        })
    }

    #[test]
    fn sources_of_different_stations_with_the_same_system_id_stay_apart() {
        let mut r = RemoteSources::default();
        r.apply("north", &ev("stn-n", SourceKind::Drone, 1, T0, tracks(3, T0)));
        r.apply("south", &ev("stn-s", SourceKind::Drone, 1, T0, tracks(2, T0)));
        r.apply("south", &ev("stn-s", SourceKind::Fixed, 1, T0, tracks(1, T0)));
        assert_eq!(r.len(), 3);
        assert_eq!(r.live_tracks(T0).count(), 6);
        // A newer tracks event replaces the source's tracks; an empty one clears them.
        r.apply("north", &ev("stn-n", SourceKind::Drone, 1, T0 + 1, tracks(0, T0 + 1)));
        assert_eq!(r.live_tracks(T0 + 1).count(), 3);
        let lines = r.summary_lines(T0 + 1);
        assert!(
            lines[0].starts_with("stn-n drone-1 [north] (own camera): 0 tracks"),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("stn-s fixed-1 [south] (OTHER OPERATOR's camera): 1 tracks")),
            "{lines:?}"
        );
    }

    #[test]
    fn hits_alerts_and_authorization_are_kept_and_old_tracks_and_sources_fade() {
        let mut r = RemoteSources::default();
        let key = RemoteKey {
            station_id: "stn-n".into(),
            kind: SourceKind::Drone,
            system_id: 2,
        };
        r.apply("north", &ev("stn-n", SourceKind::Drone, 2, T0, tracks(4, T0)));
        r.apply(
            "north",
            &ev(
                "stn-n",
                SourceKind::Drone,
                2,
                T0 + 1,
                EventBody::PlateHit(PlateHitEvent {
                    alert_id: 9,
                    plate: "ABC123".into(),
                    hit_entry_id: NonZeroU32::new(1).unwrap(),
                    position: None,
                    capture_time_usec: T0,
                    image_sha256_hex: None,
                }),
            ),
        );
        r.apply(
            "north",
            &ev(
                "stn-n",
                SourceKind::Drone,
                2,
                T0 + 2,
                EventBody::Alert(AlertEvent {
                    alert_id: 9,
                    kind: AlertKind::PlateHit,
                    state: AlertState::NeedsCheck,
                }),
            ),
        );
        r.apply(
            "north",
            &ev(
                "stn-n",
                SourceKind::Drone,
                2,
                T0 + 3,
                EventBody::Authorization(AuthorizationEvent {
                    state: Some(AuthzState::Active),
                }),
            ),
        );
        let s = r.get(&key).unwrap();
        assert_eq!(
            (s.plate_hits, s.alerts.len(), s.authz),
            (1, 1, Some(Some(AuthzState::Active)))
        );
        assert!(r.summary_lines(T0 + 3)[0].contains("1 plate hits, 1 open alerts, authorization Active"));
        assert_eq!(r.live_tracks(T0 + REMOTE_TRACK_STALE_USEC).count(), 4);
        assert_eq!(
            r.live_tracks(T0 + REMOTE_TRACK_STALE_USEC + 1).count(),
            0,
            "stale tracks"
        );
        r.expire(T0 + 3 + FORGET_SOURCE_USEC - 1);
        assert_eq!(r.len(), 1);
        r.expire(T0 + 3 + FORGET_SOURCE_USEC);
        assert!(r.is_empty(), "forgotten");
    }
}
