//! Timeline events of a recording: what an operation leader jumps between when reviewing a
//! mission (plate hits, possible matches, operator verdicts from the audit log, authorization
//! changes, link losses, damaged data).

use utkik_shared::dialect::{MavMessage, UtkikAuthzState, UtkikPlateStatus};

use super::verdicts::{VerdictTarget, verdict_label};
use crate::state::tracks::plate_text;

/// What happened at a point of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// A plate on the hit list was read (UTKIK_PLATE_READ with status HIT).
    PlateHit {
        /// Alert id on the vehicle.
        alert_id: u32,
        /// Plate text.
        plate: String,
    },
    /// A possible biometric match (UTKIK_BIOMETRIC_MATCH).
    PossibleMatch {
        /// Alert id on the vehicle.
        alert_id: u32,
        /// Template distance (dlib Euclidean, 0 = identical; see `state::AlertKind::PossibleMatch`).
        distance: f32,
    },
    /// An operator confirmed, rejected, checked or dismissed an alert (from the audit log, not
    /// the tlog: see [`super::Replay::attach_verdicts`]).
    OperatorVerdict {
        /// The alert.
        target: VerdictTarget,
        /// The user.
        user_id: String,
        /// Confirmed/checked rather than rejected/dismissed.
        confirm: bool,
    },
    /// The authorization state reported by the vehicle changed (UTKIK_AUTHZ_STATUS).
    AuthzChange {
        /// Previous state (None for the first report).
        from: Option<UtkikAuthzState>,
        /// New state.
        to: UtkikAuthzState,
    },
    /// Nothing was recorded for a while (time gap in the tlog): the link was lost.
    LinkLoss {
        /// Length of the silence, seconds.
        duration_s: f64,
    },
    /// A damaged stretch of the file was skipped (or the file ends mid-record).
    DataDamage {
        /// Byte offset of the first bad byte.
        offset: u64,
        /// Bytes skipped.
        bytes: u64,
    },
}

/// One event on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayEvent {
    /// When, microseconds since the Unix epoch (playback clock).
    pub time_usec: u64,
    /// Vehicle (0 for file-level events such as damage).
    pub system_id: u8,
    /// What.
    pub kind: EventKind,
}

impl EventKind {
    /// Short label for markers and lists.
    pub fn label(&self) -> String {
        match self {
            EventKind::PlateHit { plate, alert_id } => format!("plate hit {plate} (alert {alert_id})"),
            EventKind::PossibleMatch { alert_id, distance } => {
                format!("possible match, template distance {distance:.2} (alert {alert_id})")
            }
            EventKind::OperatorVerdict {
                target,
                user_id,
                confirm,
            } => verdict_label(target, user_id, *confirm),
            EventKind::AuthzChange { from, to } => match from {
                Some(f) => format!("authorization {f:?} -> {to:?}"),
                None => format!("authorization {to:?}"),
            },
            EventKind::LinkLoss { duration_s } => format!("link lost {duration_s:.1} s"),
            EventKind::DataDamage { offset, bytes } => format!("damaged data: {bytes} B at byte {offset}"),
        }
    }

    /// Category name (for colours and filters).
    pub fn category(&self) -> &'static str {
        match self {
            EventKind::PlateHit { .. } => "plate",
            EventKind::PossibleMatch { .. } => "match",
            EventKind::OperatorVerdict { .. } => "verdict",
            EventKind::AuthzChange { .. } => "authz",
            EventKind::LinkLoss { .. } => "link",
            EventKind::DataDamage { .. } => "damage",
        }
    }
}

/// Extracts message-driven events while the recording is walked once.
#[derive(Debug, Default)]
pub(crate) struct EventExtractor {
    authz: std::collections::BTreeMap<u8, UtkikAuthzState>,
    seen_alerts: std::collections::BTreeSet<(u8, u32)>,
}

impl EventExtractor {
    /// Looks at one message; returns the event it makes, if any.
    pub(crate) fn message(&mut self, system_id: u8, msg: &MavMessage, time_usec: u64) -> Option<ReplayEvent> {
        let kind = match msg {
            MavMessage::UTKIK_PLATE_READ(p) if p.status == UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT => {
                // Hits are resent until acknowledged: one event per alert.
                if !self.seen_alerts.insert((system_id, p.alert_id)) {
                    return None;
                }
                EventKind::PlateHit {
                    alert_id: p.alert_id,
                    plate: plate_text(&p.plate[..]),
                }
            }
            MavMessage::UTKIK_BIOMETRIC_MATCH(m) => {
                if !self.seen_alerts.insert((system_id, m.alert_id)) {
                    return None;
                }
                EventKind::PossibleMatch {
                    alert_id: m.alert_id,
                    distance: utkik_shared::face::template::distance_from_score(m.score),
                }
            }
            MavMessage::UTKIK_AUTHZ_STATUS(a) => {
                let prev = self.authz.insert(system_id, a.state);
                if prev == Some(a.state) {
                    return None;
                }
                EventKind::AuthzChange {
                    from: prev,
                    to: a.state,
                }
            }
            _ => return None,
        };
        Some(ReplayEvent {
            time_usec,
            system_id,
            kind,
        })
    }
}
