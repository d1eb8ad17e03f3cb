//! Alerts and their states under LAW.md section 4: a plate hit needs an operator to check the
//! plate image; a biometric match is only ever a *possible match* until two different users have
//! each confirmed it (or one dismissed it).
//!
//! Delivery that loses nothing (issue 14 item 3): the drone resends an alert, and its image after
//! each send, until UTKIK_ALERT_ACK. So the ground acknowledges an alert only when it has the
//! alert *and* its whole image (the size and CRC-32 the alert announced) and, where a durable
//! store is configured ([`Alerts::set_require_store`]: the station's audit log and payload store),
//! only after [`Alerts::mark_stored`] says both are fsynced. Images arrive as
//! DATA_TRANSMISSION_HANDSHAKE + ENCAPSULATED_DATA; `shared::image_transfer::Reassembler` keeps
//! the chunks of every resend until the image is whole. A completed image is attached to the
//! alert announcing its size and CRC (an older drone that sends no CRC: the oldest alert waiting
//! for that size); one that arrives before its alert waits for it.
//!
//! Sealed images (issue 17 items 3-4): an alert whose `image_sealed` is 1 announces an image
//! sealed to this station's public key (`utkik_shared::seal`); size and CRC are the sealed
//! bytes'. Once whole it is opened with the station's key ([`Alerts::set_seal_key`],
//! `utkik-ground --seal-key`) and the aad of *this* alert (system id, alert id, kind), before
//! anything shows or stores it: from then on `evidence_jpeg` is the JPEG, as for a clear image.
//! An image that does not open (no station key, another station's key, another alert's image, or
//! altered bytes with a matching CRC) is refused: never shown or stored, an error log and
//! [`Alert::image_refused`] name the alert and why. The alert is still acknowledged (its image
//! has arrived whole: resending the same sealed bytes cannot make them open, and the drone
//! would resend for ever); the operator sees the refusal instead of an image.

use std::collections::BTreeMap;

use thiserror::Error;
use utkik_shared::dialect::{
    DATA_TRANSMISSION_HANDSHAKE_DATA, ENCAPSULATED_DATA_DATA, MavMessage, UTKIK_ALERT_ACK_DATA,
    UTKIK_BIOMETRIC_MATCH_DATA, UTKIK_PLATE_READ_DATA, UtkikAlertKind, UtkikPlateStatus,
};
use utkik_shared::geo::GeoPoint;
use utkik_shared::image_transfer::{CompletedImage, Reassembler};
use utkik_shared::seal::{ImageAad, ImageKind, SealKeyPair};

use super::tracks::plate_text;
use crate::auth::Permission;
use crate::auth::permissions::actor_allows;
use utkik_shared::authz::Actor;

/// Payload bytes per ENCAPSULATED_DATA packet.
#[cfg(test)]
const ENCAPSULATED_CHUNK: usize = utkik_shared::image_transfer::CHUNK_BYTES;

/// Completed images kept per vehicle while their alert has not arrived.
const MAX_UNATTACHED_IMAGES: usize = 8;

/// What an alert is about.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertKind {
    /// A plate on the hit list.
    PlateHit {
        /// Plate text as read onboard.
        plate: String,
        /// Plate track id.
        track_id: u32,
        /// Hit-list entry id.
        hit_entry_id: u32,
        /// Read confidence, percent.
        confidence: u8,
        /// Plate image transfer id (0: no image announced).
        image_transfer_id: u16,
        /// Expected plate image size, bytes.
        image_size: u32,
    },
    /// A POSSIBLE match of a face against a designated subject (never an identification).
    PossibleMatch {
        /// Designated-subject id within the authorization.
        subject_id: String,
        /// Face track id.
        track_id: u32,
        /// Template distance (dlib Euclidean, unitless, 0 = identical; the gate's threshold is
        /// at most `utkik_shared::face::template::MATCH_DISTANCE` = 0.5), derived from the
        /// message's `score` (= 1 - distance) with `face::template::distance_from_score`.
        distance: f32,
        /// First 16 bytes of the authorization digest.
        authorization_digest: [u8; 16],
        /// Evidence transfer id (0: none).
        evidence_transfer_id: u16,
        /// Expected evidence size, bytes.
        evidence_size: u32,
        /// Ground point of the face, when known.
        position: Option<GeoPoint>,
    },
}

/// Where an alert is in its review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertState {
    /// Plate hit not yet checked by an operator against the plate image.
    NeedsCheck,
    /// Plate hit checked by this operator.
    Checked {
        /// Operator id.
        by: String,
    },
    /// Possible match, confirmed by these users so far (at most one).
    PossibleMatch {
        /// Users who confirmed.
        confirmed_by: Vec<String>,
    },
    /// Confirmed by two different users.
    Confirmed {
        /// The two users, in order.
        by: [String; 2],
    },
    /// Dismissed by a user (plate misread, not the person).
    Dismissed {
        /// User id.
        by: String,
    },
}

/// One alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Vehicle system id.
    pub system_id: u8,
    /// Alert id (per vehicle).
    pub alert_id: u32,
    /// What it is.
    pub kind: AlertKind,
    /// Review state.
    pub state: AlertState,
    /// Source time it first arrived, seconds.
    pub received_s: f64,
    /// Capture time onboard, µs since Unix epoch.
    pub time_usec: u64,
    /// Times the drone sent it (resends until our ack arrives).
    pub receptions: u32,
    /// Evidence JPEG bytes (a possible match's face crop, a plate hit's plate image), when the
    /// transfer completed.
    pub evidence_jpeg: Option<Vec<u8>>,
    /// CRC-32 of the image the drone announced (0: not given, an older drone).
    pub image_crc32: u32,
    /// Component that sent the alert (the ack goes back to it).
    pub component_id: u8,
    /// The alert and its image are durably stored at the ground (or no store is configured).
    pub stored: bool,
    /// The image arrived whole but was sealed and did not open: why (never shown or stored).
    pub image_refused: Option<String>,
    /// The alert's message as first received (UTKIK_PLATE_READ or UTKIK_BIOMETRIC_MATCH): what
    /// the station stores in its audit log and rebuilds the alert from after a restart
    /// (`crate::restore`), exactly as the drone sent it.
    pub message: MavMessage,
}

impl Alert {
    /// Size of the image the alert announced, if any.
    pub fn announced_image_size(&self) -> Option<u32> {
        match &self.kind {
            AlertKind::PossibleMatch {
                evidence_transfer_id,
                evidence_size,
                ..
            } => (*evidence_transfer_id != 0 && *evidence_size > 0).then_some(*evidence_size),
            AlertKind::PlateHit {
                image_transfer_id,
                image_size,
                ..
            } => (*image_transfer_id != 0 && *image_size > 0).then_some(*image_size),
        }
    }

    /// The alert has everything it announced: no image, or its image (opened, or refused as
    /// one that does not open).
    pub fn complete(&self) -> bool {
        self.announced_image_size().is_none() || self.evidence_jpeg.is_some() || self.image_refused.is_some()
    }

    /// Whether the alert's image is sealed to the station's key (`image_sealed` = 1).
    pub fn image_sealed(&self) -> bool {
        match &self.message {
            MavMessage::UTKIK_PLATE_READ(p) => p.image_sealed == 1,
            MavMessage::UTKIK_BIOMETRIC_MATCH(m) => m.image_sealed == 1,
            _ => false,
        }
    }

    /// The aad the drone sealed this alert's image with.
    fn image_aad(&self) -> ImageAad {
        ImageAad {
            system_id: self.system_id,
            alert_id: self.alert_id,
            kind: match self.kind {
                AlertKind::PlateHit { .. } => ImageKind::PlateImage,
                AlertKind::PossibleMatch { .. } => ImageKind::FaceEvidence,
            },
        }
    }

    /// Takes the completed image: opened with the station's key when sealed, refused (logged,
    /// [`Alert::image_refused`]) when it does not open. Returns whether it was refused.
    fn attach(&mut self, bytes: Vec<u8>, key: Option<&SealKeyPair>) -> bool {
        if !self.image_sealed() {
            self.evidence_jpeg = Some(bytes);
            return false;
        }
        let aad = self.image_aad();
        let opened = match key {
            Some(k) => utkik_shared::seal::open(k, &aad, &bytes).map_err(|e| e.to_string()),
            None => Err("it is sealed to a ground station's key and this station has no --seal-key".into()),
        };
        match opened {
            Ok(jpeg) => {
                self.evidence_jpeg = Some(jpeg);
                false
            }
            Err(why) => {
                tracing::error!("{aad}: refused, not shown or stored: {why}");
                self.image_refused = Some(why);
                true
            }
        }
    }

    /// Whether `image` is this alert's: the announced size and, when announced, the CRC.
    fn takes(&self, image: &CompletedImage) -> bool {
        self.evidence_jpeg.is_none()
            && self.image_refused.is_none()
            && self.announced_image_size() == Some(image.bytes.len() as u32)
            && (self.image_crc32 == 0 || self.image_crc32 == image.crc32)
    }

    /// Waiting for an operator (unchecked hit, unconfirmed possible match).
    pub fn needs_attention(&self) -> bool {
        matches!(self.state, AlertState::NeedsCheck | AlertState::PossibleMatch { .. })
    }

    /// Short label for lists.
    pub fn label(&self) -> String {
        match &self.kind {
            AlertKind::PlateHit { plate, .. } => format!("Plate hit {plate}"),
            AlertKind::PossibleMatch {
                subject_id, distance, ..
            } => {
                format!("Possible match: subject {subject_id} (template distance {distance:.2})")
            }
        }
    }
}

/// A review action that the rules forbid.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AlertError {
    /// No such alert.
    #[error("no alert {alert_id} from vehicle {system_id}")]
    Unknown {
        /// Vehicle.
        system_id: u8,
        /// Alert id.
        alert_id: u32,
    },
    /// The same user tried to confirm twice.
    #[error("user {user} already confirmed alert {alert_id}: a second, different user must confirm")]
    SameUser {
        /// Alert id.
        alert_id: u32,
        /// User id.
        user: String,
    },
    /// The alert is already closed (confirmed, checked or dismissed).
    #[error("alert {alert_id} is already {state}")]
    Closed {
        /// Alert id.
        alert_id: u32,
        /// State name.
        state: &'static str,
    },
    /// The action does not apply to this kind of alert.
    #[error("alert {alert_id}: {action} does not apply to a {kind}")]
    WrongKind {
        /// Alert id.
        alert_id: u32,
        /// Action.
        action: &'static str,
        /// Kind name.
        kind: &'static str,
    },
    /// An empty user id.
    #[error("a user id is required")]
    NoUser,
    /// The user's roles do not allow the action (an auditor or a pilot confirming, ...).
    #[error("user {user} may not {action} (roles: {roles})")]
    NotPermitted {
        /// User id.
        user: String,
        /// What was attempted.
        action: &'static str,
        /// The user's roles.
        roles: String,
    },
    /// An action on an alert that is not yet confirmed (LAW.md section 4: no export, marking or
    /// dispatch before two different users confirmed a possible match; no action on a plate hit
    /// before an operator checked the image).
    #[error("alert {alert_id}: cannot {action} while it is {state}")]
    NotConfirmed {
        /// Alert id.
        alert_id: u32,
        /// What was attempted.
        action: &'static str,
        /// Its state.
        state: String,
    },
}

/// An action on a reviewed alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertAction {
    /// Export the evidence (a disclosure).
    Export,
    /// Mark it on the map for the team.
    Mark,
    /// Dispatch units (a disclosure).
    Dispatch,
}

impl AlertAction {
    /// The permission it needs.
    pub fn permission(self) -> Permission {
        match self {
            AlertAction::Export => Permission::ExportEvidence,
            AlertAction::Mark => Permission::MarkAlert,
            AlertAction::Dispatch => Permission::Dispatch,
        }
    }

    /// Name for messages and the audit log.
    pub fn name(self) -> &'static str {
        match self {
            AlertAction::Export => "export",
            AlertAction::Mark => "mark",
            AlertAction::Dispatch => "dispatch",
        }
    }
}

fn check_permission(actor: &Actor, permission: Permission) -> Result<(), AlertError> {
    if actor.user_id.trim().is_empty() {
        return Err(AlertError::NoUser);
    }
    if actor_allows(actor, permission) {
        Ok(())
    } else {
        Err(AlertError::NotPermitted {
            user: actor.user_id.clone(),
            action: permission.name(),
            roles: actor
                .roles
                .iter()
                .map(|r| format!("{r:?}"))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

/// The state after `user` confirms an alert in `state`: the two-different-users rule and the
/// closed states, shared by live review and by replaying verdicts from the audit log.
fn confirmed_state(alert_id: u32, state: &AlertState, user: &str) -> Result<AlertState, AlertError> {
    Ok(match state {
        AlertState::NeedsCheck => AlertState::Checked { by: user.to_string() },
        AlertState::PossibleMatch { confirmed_by } => {
            if confirmed_by.iter().any(|u| u == user) {
                return Err(AlertError::SameUser {
                    alert_id,
                    user: user.to_string(),
                });
            }
            match confirmed_by.first() {
                Some(first) => AlertState::Confirmed {
                    by: [first.clone(), user.to_string()],
                },
                None => AlertState::PossibleMatch {
                    confirmed_by: vec![user.to_string()],
                },
            }
        }
        AlertState::Checked { .. } => {
            return Err(AlertError::Closed {
                alert_id,
                state: "checked",
            });
        }
        AlertState::Confirmed { .. } => {
            return Err(AlertError::Closed {
                alert_id,
                state: "confirmed",
            });
        }
        AlertState::Dismissed { .. } => {
            return Err(AlertError::Closed {
                alert_id,
                state: "dismissed",
            });
        }
    })
}

/// What [`Alerts::delete_use`] removed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DeletedUse {
    /// The alerts (possible matches) removed, with their evidence.
    pub alerts: Vec<Alert>,
    /// Evidence transfers in progress that were dropped.
    pub transfers: u64,
}

/// Counters of image delivery.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImageCounters {
    /// Images completed whose CRC matched no alert announcing their size (chunks of two images
    /// mixed; collected again from the next resend).
    pub crc_mismatches: u64,
    /// Completed images dropped because no alert took them in time.
    pub unattached_dropped: u64,
    /// Sealed images that did not open (wrong station key, another alert's, altered).
    pub refused: u64,
}

/// The station's seal key (compared by its public half, so [`Alerts`] stays comparable).
#[derive(Debug, Clone)]
struct StationSealKey(std::sync::Arc<SealKeyPair>);

impl PartialEq for StationSealKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.public() == other.0.public()
    }
}

/// All alerts, by (system id, alert id).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Alerts {
    by_id: BTreeMap<(u8, u32), Alert>,
    transfers: BTreeMap<u8, Reassembler>,
    /// Completed images whose alert has not arrived yet, per vehicle.
    unattached: Vec<(u8, CompletedImage)>,
    /// Alerts whose state changed since the last [`Alerts::take_new`] (for cues).
    new_alerts: Vec<(u8, u32)>,
    /// Acks that became due outside [`Alerts::apply_plate`]/[`Alerts::apply_match`] (an image
    /// completed, a store finished), for [`Alerts::take_acks`]; only when `queue_acks`.
    ready_acks: Vec<(u8, MavMessage)>,
    queue_acks: bool,
    require_store: bool,
    /// Opens sealed images (`--seal-key`).
    seal_key: Option<StationSealKey>,
    /// Image delivery counters.
    pub images: ImageCounters,
}

/// What identifies a newly arrived alert.
struct NewAlert {
    system_id: u8,
    component_id: u8,
    alert_id: u32,
    image_crc32: u32,
    time_s: f64,
    time_usec: u64,
    message: MavMessage,
}

fn ack(system_id: u8, component_id: u8, alert_id: u32, kind: UtkikAlertKind) -> MavMessage {
    MavMessage::UTKIK_ALERT_ACK(UTKIK_ALERT_ACK_DATA {
        alert_id,
        target_system: system_id,
        target_component: component_id,
        kind,
    })
}

impl Alerts {
    /// A plate read: a hit becomes (or refreshes) an alert; returns the ack to send.
    pub fn apply_plate(
        &mut self,
        system_id: u8,
        component_id: u8,
        p: &UTKIK_PLATE_READ_DATA,
        time_s: f64,
    ) -> Option<MavMessage> {
        if p.status != UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT || p.alert_id == 0 {
            return None;
        }
        let kind = AlertKind::PlateHit {
            plate: plate_text(&p.plate[..]),
            track_id: p.track_id,
            hit_entry_id: p.hit_entry_id,
            confidence: p.confidence,
            image_transfer_id: p.image_transfer_id,
            image_size: p.image_size,
        };
        let new = NewAlert {
            system_id,
            component_id,
            alert_id: p.alert_id,
            image_crc32: p.image_crc32,
            time_s,
            time_usec: p.time_usec,
            message: MavMessage::UTKIK_PLATE_READ(p.clone()),
        };
        self.upsert(new, kind, AlertState::NeedsCheck);
        self.ack_if_ready(system_id, p.alert_id)
    }

    /// A possible match; returns the ack to send.
    pub fn apply_match(
        &mut self,
        system_id: u8,
        component_id: u8,
        m: &UTKIK_BIOMETRIC_MATCH_DATA,
        time_s: f64,
    ) -> Option<MavMessage> {
        let kind = AlertKind::PossibleMatch {
            subject_id: plate_text(&m.subject_id[..]),
            track_id: m.track_id,
            distance: utkik_shared::face::template::distance_from_score(m.score),
            authorization_digest: m.authorization_digest,
            evidence_transfer_id: m.evidence_transfer_id,
            evidence_size: m.evidence_size,
            position: (m.lat != 0 || m.lon != 0).then(|| GeoPoint::from_deg_e7(m.lat, m.lon, 0)),
        };
        let state = AlertState::PossibleMatch {
            confirmed_by: Vec::new(),
        };
        let new = NewAlert {
            system_id,
            component_id,
            alert_id: m.alert_id,
            image_crc32: m.evidence_crc32,
            time_s,
            time_usec: m.time_usec,
            message: MavMessage::UTKIK_BIOMETRIC_MATCH(m.clone()),
        };
        self.upsert(new, kind, state);
        self.ack_if_ready(system_id, m.alert_id)
    }

    fn upsert(&mut self, new: NewAlert, kind: AlertKind, state: AlertState) {
        let key = (new.system_id, new.alert_id);
        match self.by_id.get_mut(&key) {
            // A resend (our ack was lost, or we have not acknowledged yet): same alert, review
            // state kept.
            Some(a) => a.receptions += 1,
            None => {
                let mut alert = Alert {
                    system_id: new.system_id,
                    alert_id: new.alert_id,
                    kind,
                    state,
                    received_s: new.time_s,
                    time_usec: new.time_usec,
                    receptions: 1,
                    evidence_jpeg: None,
                    image_refused: None,
                    image_crc32: new.image_crc32,
                    component_id: new.component_id,
                    stored: !self.require_store,
                    message: new.message,
                };
                // Its image may have completed before the alert itself got through.
                if let Some(i) = self
                    .unattached
                    .iter()
                    .position(|(sys, img)| *sys == new.system_id && alert.takes(img))
                {
                    let bytes = self.unattached.remove(i).1.bytes;
                    if alert.attach(bytes, self.seal_key.as_ref().map(|k| &*k.0)) {
                        self.images.refused += 1;
                    }
                }
                self.by_id.insert(key, alert);
                self.new_alerts.push(key);
            }
        }
    }

    /// The ack for an alert that has everything and is stored (when a store is required).
    fn ack_if_ready(&self, system_id: u8, alert_id: u32) -> Option<MavMessage> {
        let a = self.by_id.get(&(system_id, alert_id))?;
        if !a.complete() || !a.stored {
            return None;
        }
        let kind = match a.kind {
            AlertKind::PlateHit { .. } => UtkikAlertKind::UTKIK_ALERT_KIND_PLATE_HIT,
            AlertKind::PossibleMatch { .. } => UtkikAlertKind::UTKIK_ALERT_KIND_BIOMETRIC_MATCH,
        };
        Some(ack(system_id, a.component_id, alert_id, kind))
    }

    fn queue_ack_if_ready(&mut self, system_id: u8, alert_id: u32) {
        if self.queue_acks
            && let Some(ack) = self.ack_if_ready(system_id, alert_id)
        {
            self.ready_acks.push((system_id, ack));
        }
    }

    /// Acks that became due between messages (an image completed, a store finished): the live
    /// link sends them at once instead of waiting for the drone's next resend.
    pub fn take_acks(&mut self) -> Vec<(u8, MavMessage)> {
        std::mem::take(&mut self.ready_acks)
    }

    /// Queue acks for [`Self::take_acks`] (live link only; replay never answers).
    pub fn set_queue_acks(&mut self, on: bool) {
        self.queue_acks = on;
    }

    /// Whether acks are queued for [`Self::take_acks`].
    pub fn queues_acks(&self) -> bool {
        self.queue_acks
    }

    /// Acknowledge an alert only after [`Self::mark_stored`] (a durable store is configured).
    /// Applies to alerts that arrive from now on.
    pub fn set_require_store(&mut self, on: bool) {
        self.require_store = on;
    }

    /// The station's seal key (`--seal-key`): sealed images are opened with it before anything
    /// shows or stores them; without it every sealed image is refused.
    pub fn set_seal_key(&mut self, key: Option<SealKeyPair>) {
        self.seal_key = key.map(|k| StationSealKey(std::sync::Arc::new(k)));
    }

    /// Whether acks wait for [`Self::mark_stored`].
    pub fn requires_store(&self) -> bool {
        self.require_store
    }

    /// Complete alerts not yet durably stored (for the store).
    pub fn awaiting_store(&self) -> Vec<(u8, u32)> {
        self.by_id
            .values()
            .filter(|a| a.complete() && !a.stored)
            .map(|a| (a.system_id, a.alert_id))
            .collect()
    }

    /// The alert and its image are durably stored: it may be acknowledged (queued for
    /// [`Self::take_acks`]). Returns whether the alert exists.
    pub fn mark_stored(&mut self, system_id: u8, alert_id: u32) -> bool {
        let Some(a) = self.by_id.get_mut(&(system_id, alert_id)) else {
            return false;
        };
        a.stored = true;
        self.queue_ack_if_ready(system_id, alert_id);
        true
    }

    /// Start of an image transfer (or of its resend).
    pub fn apply_handshake(&mut self, system_id: u8, h: &DATA_TRANSMISSION_HANDSHAKE_DATA) {
        self.transfers
            .entry(system_id)
            .or_default()
            .handshake(h.size, h.packets);
    }

    /// A chunk of the current image transfer; when the image is whole, attaches it to the alert
    /// of this vehicle announcing its size and CRC (without a CRC: the oldest waiting for that
    /// size), or keeps it until that alert arrives.
    pub fn apply_data(&mut self, system_id: u8, d: &ENCAPSULATED_DATA_DATA) {
        let Some(image) = self
            .transfers
            .get_mut(&system_id)
            .and_then(|r| r.chunk(d.seqnr, &d.data))
        else {
            return;
        };
        let waiting = self
            .by_id
            .values_mut()
            .find(|a| a.system_id == system_id && a.takes(&image));
        if let Some(a) = waiting {
            if a.attach(image.bytes, self.seal_key.as_ref().map(|k| &*k.0)) {
                self.images.refused += 1;
            }
            let key = (a.system_id, a.alert_id);
            self.queue_ack_if_ready(key.0, key.1);
            return;
        }
        let size = image.bytes.len() as u32;
        let claimed = self.by_id.values().any(|a| {
            a.system_id == system_id
                && a.evidence_jpeg.is_none()
                && a.image_refused.is_none()
                && a.announced_image_size() == Some(size)
        });
        if claimed {
            // An alert waits for this size with another CRC: chunks of two images were mixed.
            // The drone resends; the image is collected again.
            self.images.crc_mismatches += 1;
            tracing::warn!(
                system_id,
                size,
                crc32 = image.crc32,
                "image with a CRC no alert announced: dropped, collected again from the next resend"
            );
            return;
        }
        let mine = self.unattached.iter().filter(|(s, _)| *s == system_id).count();
        if mine >= MAX_UNATTACHED_IMAGES
            && let Some(i) = self.unattached.iter().position(|(s, _)| *s == system_id)
        {
            self.unattached.remove(i);
            self.images.unattached_dropped += 1;
        }
        if !self.unattached.iter().any(|(s, img)| *s == system_id && *img == image) {
            self.unattached.push((system_id, image));
        }
    }

    /// Images being collected, per vehicle (for the health panel).
    pub fn partial_transfers(&self) -> usize {
        self.transfers.values().map(Reassembler::partial_transfers).sum()
    }

    fn get_mut(&mut self, system_id: u8, alert_id: u32) -> Result<&mut Alert, AlertError> {
        self.by_id
            .get_mut(&(system_id, alert_id))
            .ok_or(AlertError::Unknown { system_id, alert_id })
    }

    /// `actor` confirms: a plate hit becomes Checked (needs [`Permission::CheckPlateHit`]); a
    /// possible match needs [`Permission::ConfirmMatch`] and two different users.
    pub fn confirm(&mut self, system_id: u8, alert_id: u32, actor: &Actor) -> Result<&AlertState, AlertError> {
        let user = actor.user_id.as_str();
        if user.trim().is_empty() {
            return Err(AlertError::NoUser);
        }
        let a = self.get_mut(system_id, alert_id)?;
        let permission = match a.kind {
            AlertKind::PlateHit { .. } => Permission::CheckPlateHit,
            AlertKind::PossibleMatch { .. } => Permission::ConfirmMatch,
        };
        check_permission(actor, permission)?;
        a.state = confirmed_state(alert_id, &a.state, user)?;
        Ok(&a.state)
    }

    /// `actor` dismisses an open alert.
    pub fn dismiss(&mut self, system_id: u8, alert_id: u32, actor: &Actor) -> Result<&AlertState, AlertError> {
        check_permission(actor, Permission::DismissAlert)?;
        let a = self.get_mut(system_id, alert_id)?;
        if !a.needs_attention() {
            return Err(AlertError::Closed {
                alert_id,
                state: "closed",
            });
        }
        a.state = AlertState::Dismissed {
            by: actor.user_id.clone(),
        };
        Ok(&a.state)
    }

    /// Applies a verdict read back from the audit log (mission replay): `user` confirmed
    /// (`confirm`) or dismissed the alert. No role check: the log is the authority on who was
    /// allowed, and the roles of that day are not known here. The state rules still hold (two
    /// different users for a possible match, nothing on a closed alert), so a log that claims
    /// otherwise is refused here and the caller reports it instead of showing it.
    ///
    /// # Errors
    /// [`AlertError::Unknown`], [`AlertError::NoUser`], [`AlertError::SameUser`],
    /// [`AlertError::Closed`].
    pub fn apply_recorded_verdict(
        &mut self,
        system_id: u8,
        alert_id: u32,
        user: &str,
        confirm: bool,
    ) -> Result<&AlertState, AlertError> {
        if user.trim().is_empty() {
            return Err(AlertError::NoUser);
        }
        let a = self.get_mut(system_id, alert_id)?;
        a.state = if confirm {
            confirmed_state(alert_id, &a.state, user)?
        } else if a.needs_attention() {
            AlertState::Dismissed { by: user.to_string() }
        } else {
            return Err(AlertError::Closed {
                alert_id,
                state: "closed",
            });
        };
        Ok(&a.state)
    }

    /// Whether `actor` may take `action` on the alert now: their roles allow it, and a possible
    /// match is confirmed by two different users (a plate hit checked). Callers (export, mark,
    /// dispatch) must call this and act only on `Ok`.
    pub fn authorize_action(
        &self,
        system_id: u8,
        alert_id: u32,
        actor: &Actor,
        action: AlertAction,
    ) -> Result<&Alert, AlertError> {
        check_permission(actor, action.permission())?;
        let a = self
            .by_id
            .get(&(system_id, alert_id))
            .ok_or(AlertError::Unknown { system_id, alert_id })?;
        let ready = matches!(
            (&a.kind, &a.state),
            (AlertKind::PossibleMatch { .. }, AlertState::Confirmed { .. })
                | (AlertKind::PlateHit { .. }, AlertState::Checked { .. })
        );
        if ready {
            Ok(a)
        } else {
            Err(AlertError::NotConfirmed {
                alert_id,
                action: action.name(),
                state: match &a.state {
                    AlertState::PossibleMatch { confirmed_by } => {
                        format!("a possible match with {}/2 confirmations", confirmed_by.len())
                    }
                    other => format!("{other:?}"),
                },
            })
        }
    }

    /// Deletes every possible match (with its evidence) made under the authorization whose digest
    /// starts with `digest_prefix` (a refused urgent use, LAW.md section 3), and every evidence
    /// transfer in progress (it may belong to that use). Plate hits stay: they are not part of the
    /// use.
    pub fn delete_use(&mut self, digest_prefix: &[u8; 16]) -> DeletedUse {
        let keys: Vec<(u8, u32)> = self
            .by_id
            .iter()
            .filter(|(_, a)| {
                matches!(&a.kind, AlertKind::PossibleMatch { authorization_digest, .. }
                    if authorization_digest == digest_prefix)
            })
            .map(|(k, _)| *k)
            .collect();
        let mut out = DeletedUse {
            transfers: self.transfers.values_mut().map(|r| r.clear() as u64).sum::<u64>()
                + self.unattached.len() as u64,
            ..Default::default()
        };
        self.unattached.clear();
        for k in keys {
            if let Some(a) = self.by_id.remove(&k) {
                out.alerts.push(a);
            }
        }
        self.new_alerts.retain(|k| self.by_id.contains_key(k));
        out
    }

    /// After a restart (`crate::restore`): the alert was stored (and acknowledged) before, with
    /// this image (None: none announced, or no longer in the payload store). A resend from the
    /// drone is acknowledged at once, as for any stored alert.
    pub fn restore_stored(&mut self, system_id: u8, alert_id: u32, image: Option<Vec<u8>>) {
        if let Some(a) = self.by_id.get_mut(&(system_id, alert_id)) {
            if a.evidence_jpeg.is_none() {
                a.evidence_jpeg = image;
            }
            a.stored = true;
        }
    }

    /// An alert.
    pub fn get(&self, system_id: u8, alert_id: u32) -> Option<&Alert> {
        self.by_id.get(&(system_id, alert_id))
    }

    /// All alerts, oldest id first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Alert> {
        self.by_id.values()
    }

    /// Number of alerts.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// No alerts.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Alerts waiting for an operator.
    pub fn needing_attention(&self) -> usize {
        self.by_id.values().filter(|a| a.needs_attention()).count()
    }

    /// Alerts that arrived since the last call (for the visible/audible cue).
    pub fn take_new(&mut self) -> Vec<(u8, u32)> {
        std::mem::take(&mut self.new_alerts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::authz::Role;

    fn world_with_match() -> Alerts {
        let mut a = Alerts::default();
        let m = UTKIK_BIOMETRIC_MATCH_DATA {
            alert_id: 7,
            score: 0.61,
            ..Default::default()
        };
        assert!(a.apply_match(1, 191, &m, 0.0).is_some());
        a
    }

    fn op(name: &str) -> Actor {
        Actor::new(name, [Role::Operator])
    }

    #[test]
    fn possible_match_needs_two_different_users() {
        let mut a = world_with_match();
        assert_eq!(
            a.confirm(1, 7, &op("alice")).unwrap(),
            &AlertState::PossibleMatch {
                confirmed_by: vec!["alice".into()]
            }
        );
        assert_eq!(
            a.confirm(1, 7, &op("alice")),
            Err(AlertError::SameUser {
                alert_id: 7,
                user: "alice".into()
            })
        );
        assert_eq!(
            a.confirm(1, 7, &op("bob")).unwrap(),
            &AlertState::Confirmed {
                by: ["alice".into(), "bob".into()]
            }
        );
        assert!(matches!(a.dismiss(1, 7, &op("carol")), Err(AlertError::Closed { .. })));
    }

    #[test]
    fn resend_keeps_review_state() {
        let mut a = world_with_match();
        a.confirm(1, 7, &op("alice")).unwrap();
        let m = UTKIK_BIOMETRIC_MATCH_DATA {
            alert_id: 7,
            ..Default::default()
        };
        a.apply_match(1, 191, &m, 1.0);
        let alert = a.get(1, 7).unwrap();
        assert_eq!(alert.receptions, 2);
        assert_eq!(
            alert.state,
            AlertState::PossibleMatch {
                confirmed_by: vec!["alice".into()]
            }
        );
        assert_eq!(a.take_new(), vec![(1, 7)]);
    }

    #[test]
    fn unknown_alert_and_empty_user_are_errors() {
        let mut a = world_with_match();
        assert_eq!(
            a.confirm(1, 8, &op("x")),
            Err(AlertError::Unknown {
                system_id: 1,
                alert_id: 8
            })
        );
        assert_eq!(a.confirm(1, 7, &op(" ")), Err(AlertError::NoUser));
    }

    #[test]
    fn evidence_is_reassembled_and_attached() {
        let mut a = Alerts::default();
        let jpeg: Vec<u8> = (0..600u32).map(|i| (i % 251) as u8).collect();
        let m = UTKIK_BIOMETRIC_MATCH_DATA {
            alert_id: 3,
            evidence_transfer_id: 1,
            evidence_size: jpeg.len() as u32,
            ..Default::default()
        };
        assert!(
            a.apply_match(1, 191, &m, 0.0).is_none(),
            "no ack before the evidence is complete"
        );
        let packets = jpeg.len().div_ceil(ENCAPSULATED_CHUNK) as u16;
        // Two lossy passes (the drone resends until acknowledged): the last chunk only, then the
        // others; chunks go up within a pass (a sequence going back means a lost handshake).
        for pass in [vec![packets - 1], (0..packets - 1).collect::<Vec<u16>>()] {
            a.apply_handshake(
                1,
                &DATA_TRANSMISSION_HANDSHAKE_DATA {
                    size: jpeg.len() as u32,
                    packets,
                    ..Default::default()
                },
            );
            for seq in pass {
                let start = seq as usize * ENCAPSULATED_CHUNK;
                let mut data = [0u8; 253];
                let part = &jpeg[start..(start + ENCAPSULATED_CHUNK).min(jpeg.len())];
                data[..part.len()].copy_from_slice(part);
                a.apply_data(1, &ENCAPSULATED_DATA_DATA { seqnr: seq, data });
            }
        }
        assert_eq!(a.get(1, 3).unwrap().evidence_jpeg.as_deref(), Some(&jpeg[..]));
        assert!(
            matches!(a.apply_match(1, 191, &m, 1.0), Some(MavMessage::UTKIK_ALERT_ACK(k)) if k.alert_id == 3),
            "the next resend is acknowledged"
        );
    }

    fn crc_match(alert_id: u32, jpeg: &[u8]) -> UTKIK_BIOMETRIC_MATCH_DATA {
        UTKIK_BIOMETRIC_MATCH_DATA {
            alert_id,
            evidence_transfer_id: 1,
            evidence_size: jpeg.len() as u32,
            evidence_crc32: utkik_shared::image_transfer::image_crc32(jpeg),
            ..Default::default()
        }
    }

    /// Acks wait for the whole image with the announced CRC and, with a store, for the store;
    /// an image of the right size with another CRC is not taken; an image that completes before
    /// its alert is kept for it.
    #[test]
    fn ack_only_after_the_image_with_its_crc_is_complete_and_stored() {
        let jpeg: Vec<u8> = (0..700u32).map(|i| (i * 3 % 256) as u8).collect();
        let mut other = jpeg.clone();
        other[10] ^= 1;
        let mut a = Alerts::default();
        a.set_queue_acks(true);
        a.set_require_store(true);
        let m = crc_match(0x4001_0000, &jpeg);
        assert!(a.apply_match(1, 191, &m, 0.0).is_none());
        send_transfer(&mut a, &other);
        assert_eq!(a.get(1, m.alert_id).unwrap().evidence_jpeg, None, "wrong CRC not taken");
        assert_eq!(a.images.crc_mismatches, 1);
        assert!(a.take_acks().is_empty());
        send_transfer(&mut a, &jpeg);
        assert_eq!(a.get(1, m.alert_id).unwrap().evidence_jpeg.as_deref(), Some(&jpeg[..]));
        assert!(a.take_acks().is_empty(), "complete but not stored: no ack");
        assert!(a.apply_match(1, 191, &m, 1.0).is_none());
        assert_eq!(a.awaiting_store(), vec![(1, m.alert_id)]);
        assert!(a.mark_stored(1, m.alert_id));
        let acks = a.take_acks();
        assert!(
            matches!(&acks[..], [(1, MavMessage::UTKIK_ALERT_ACK(k))] if k.alert_id == m.alert_id && k.target_component == 191),
            "{acks:?}"
        );
        assert!(
            a.apply_match(1, 191, &m, 2.0).is_some(),
            "a later resend is acknowledged again"
        );

        // The image first, then its alert.
        let mut b = Alerts::default();
        send_transfer(&mut b, &jpeg);
        let ack = b.apply_match(1, 191, &m, 0.0);
        assert_eq!(b.get(1, m.alert_id).unwrap().evidence_jpeg.as_deref(), Some(&jpeg[..]));
        assert!(ack.is_some(), "no store configured: acknowledged once complete");
    }

    fn send_transfer(a: &mut Alerts, jpeg: &[u8]) {
        let packets = jpeg.len().div_ceil(ENCAPSULATED_CHUNK) as u16;
        a.apply_handshake(
            1,
            &DATA_TRANSMISSION_HANDSHAKE_DATA {
                size: jpeg.len() as u32,
                packets,
                ..Default::default()
            },
        );
        for (seq, part) in jpeg.chunks(ENCAPSULATED_CHUNK).enumerate() {
            let mut data = [0u8; 253];
            data[..part.len()].copy_from_slice(part);
            a.apply_data(
                1,
                &ENCAPSULATED_DATA_DATA {
                    seqnr: seq as u16,
                    data,
                },
            );
        }
    }

    /// A plate hit and a possible match both announce an image; the transfers (one at a time,
    /// in the order the drone sent the alerts) each land on their own alert, also when the
    /// match's crop comes first; a plain read's transfer-less message gets nothing.
    #[test]
    fn plate_images_and_evidence_crops_land_on_their_own_alerts() {
        let mut a = Alerts::default();
        let plate_jpeg: Vec<u8> = (0..700u32).map(|i| (i % 13) as u8).collect();
        let face_jpeg: Vec<u8> = (0..400u32).map(|i| (i % 7) as u8).collect();
        let hit = UTKIK_PLATE_READ_DATA {
            alert_id: 1,
            status: UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
            image_transfer_id: 0x8000,
            image_size: plate_jpeg.len() as u32,
            ..Default::default()
        };
        let m = UTKIK_BIOMETRIC_MATCH_DATA {
            alert_id: 0x4000_0000,
            evidence_transfer_id: 1,
            evidence_size: face_jpeg.len() as u32,
            ..Default::default()
        };
        a.apply_plate(1, 191, &hit, 0.0);
        a.apply_match(1, 191, &m, 0.1);
        assert_eq!(a.get(1, 1).unwrap().evidence_jpeg, None);
        send_transfer(&mut a, &face_jpeg);
        send_transfer(&mut a, &plate_jpeg);
        assert_eq!(a.get(1, 1).unwrap().evidence_jpeg.as_deref(), Some(&plate_jpeg[..]));
        assert_eq!(
            a.get(1, 0x4000_0000).unwrap().evidence_jpeg.as_deref(),
            Some(&face_jpeg[..])
        );
        // A hit that announced no image never takes one.
        let bare = UTKIK_PLATE_READ_DATA {
            alert_id: 2,
            status: UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
            ..Default::default()
        };
        a.apply_plate(1, 191, &bare, 0.2);
        send_transfer(&mut a, &plate_jpeg);
        assert_eq!(a.get(1, 2).unwrap().evidence_jpeg, None);
    }

    #[test]
    fn one_user_confirming_twice_stays_possible_match_and_blocks_every_action() {
        let mut a = world_with_match();
        let alice = op("alice");
        a.confirm(1, 7, &alice).unwrap();
        assert!(a.confirm(1, 7, &alice).is_err());
        assert!(matches!(a.get(1, 7).unwrap().state, AlertState::PossibleMatch { .. }));
        for action in [AlertAction::Export, AlertAction::Mark, AlertAction::Dispatch] {
            assert!(
                matches!(
                    a.authorize_action(1, 7, &alice, action),
                    Err(AlertError::NotConfirmed { .. })
                ),
                "{action:?} must be blocked after one confirmation"
            );
        }
        a.confirm(1, 7, &op("bob")).unwrap();
        for action in [AlertAction::Export, AlertAction::Mark, AlertAction::Dispatch] {
            assert!(a.authorize_action(1, 7, &alice, action).is_ok(), "{action:?}");
        }
    }

    #[test]
    fn auditor_and_pilot_cannot_confirm_or_act() {
        let mut a = world_with_match();
        for role in [Role::Auditor, Role::Pilot] {
            let who = Actor::new("x", [role]);
            assert!(
                matches!(a.confirm(1, 7, &who), Err(AlertError::NotPermitted { .. })),
                "{role:?}"
            );
            assert!(matches!(a.dismiss(1, 7, &who), Err(AlertError::NotPermitted { .. })));
        }
        assert_eq!(
            a.get(1, 7).unwrap().state,
            AlertState::PossibleMatch { confirmed_by: vec![] }
        );
        a.confirm(1, 7, &op("alice")).unwrap();
        a.confirm(1, 7, &Actor::new("sven", [Role::SeniorOfficer])).unwrap();
        let auditor = Actor::new("eva", [Role::Auditor]);
        assert!(matches!(
            a.authorize_action(1, 7, &auditor, AlertAction::Export),
            Err(AlertError::NotPermitted { .. })
        ));
    }

    #[test]
    fn replay_verdicts_skip_roles_but_keep_the_two_user_rule() {
        let mut a = world_with_match();
        assert_eq!(
            a.apply_recorded_verdict(1, 7, "anna", true).unwrap(),
            &AlertState::PossibleMatch {
                confirmed_by: vec!["anna".into()]
            }
        );
        assert!(matches!(
            a.apply_recorded_verdict(1, 7, "anna", true),
            Err(AlertError::SameUser { .. })
        ));
        assert_eq!(
            a.apply_recorded_verdict(1, 7, "bertil", true).unwrap(),
            &AlertState::Confirmed {
                by: ["anna".into(), "bertil".into()]
            }
        );
        assert!(matches!(
            a.apply_recorded_verdict(1, 7, "carl", false),
            Err(AlertError::Closed { .. })
        ));
        assert!(matches!(
            a.apply_recorded_verdict(1, 9, "anna", true),
            Err(AlertError::Unknown { .. })
        ));
        let mut b = world_with_match();
        assert_eq!(
            b.apply_recorded_verdict(1, 7, "anna", false).unwrap(),
            &AlertState::Dismissed { by: "anna".into() }
        );
    }

    #[test]
    fn delete_use_removes_only_that_uses_matches() {
        let mut a = Alerts::default();
        let m1 = UTKIK_BIOMETRIC_MATCH_DATA {
            alert_id: 1,
            authorization_digest: [1; 16],
            ..Default::default()
        };
        let m2 = UTKIK_BIOMETRIC_MATCH_DATA {
            alert_id: 2,
            authorization_digest: [2; 16],
            ..Default::default()
        };
        a.apply_match(1, 191, &m1, 0.0);
        a.apply_match(1, 191, &m2, 0.0);
        let gone = a.delete_use(&[1; 16]);
        assert_eq!(gone.alerts.len(), 1);
        assert!(a.get(1, 1).is_none());
        assert!(a.get(1, 2).is_some());
    }

    /// Sends `bytes` as one whole image transfer from system 1.
    fn send_image(a: &mut Alerts, bytes: &[u8]) {
        let packets = bytes.len().div_ceil(ENCAPSULATED_CHUNK) as u16;
        a.apply_handshake(
            1,
            &DATA_TRANSMISSION_HANDSHAKE_DATA {
                size: bytes.len() as u32,
                packets,
                ..Default::default()
            },
        );
        for (seq, part) in bytes.chunks(ENCAPSULATED_CHUNK).enumerate() {
            let mut data = [0u8; 253];
            data[..part.len()].copy_from_slice(part);
            a.apply_data(
                1,
                &ENCAPSULATED_DATA_DATA {
                    seqnr: seq as u16,
                    data,
                },
            );
        }
    }

    fn sealed_hit(alert_id: u32, sealed: &[u8]) -> UTKIK_PLATE_READ_DATA {
        UTKIK_PLATE_READ_DATA {
            alert_id,
            status: UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
            image_transfer_id: 0x8001,
            image_size: sealed.len() as u32,
            image_crc32: utkik_shared::image_transfer::image_crc32(sealed),
            image_sealed: 1,
            ..Default::default()
        }
    }

    /// A sealed plate image opens with the station's key and the alert's own aad; the alert then
    /// holds the JPEG, as for a clear image, and is acknowledged.
    #[test]
    fn a_sealed_image_is_opened_with_the_station_key() {
        let keys = SealKeyPair::generate();
        let jpeg: Vec<u8> = [0xff, 0xd8, 0xff]
            .iter()
            .copied()
            .chain((0..700u32).map(|i| (i % 251) as u8))
            .collect();
        let aad = ImageAad {
            system_id: 1,
            alert_id: 0x8000_0001,
            kind: ImageKind::PlateImage,
        };
        let sealed = utkik_shared::seal::seal(keys.public(), &aad, &jpeg).unwrap();
        let mut a = Alerts::default();
        a.set_seal_key(Some(keys));
        a.set_queue_acks(true);
        assert!(a.apply_plate(1, 191, &sealed_hit(aad.alert_id, &sealed), 0.0).is_none());
        send_image(&mut a, &sealed);
        let alert = a.get(1, aad.alert_id).unwrap();
        assert_eq!(alert.evidence_jpeg.as_deref(), Some(&jpeg[..]));
        assert!(alert.image_refused.is_none() && alert.image_sealed());
        assert_eq!(a.take_acks().len(), 1);
        // The image before its alert (kept unattached) opens the same way.
        let keys = SealKeyPair::generate();
        let sealed = utkik_shared::seal::seal(keys.public(), &aad, &jpeg).unwrap();
        let mut a = Alerts::default();
        a.set_seal_key(Some(keys));
        send_image(&mut a, &sealed);
        a.apply_plate(1, 191, &sealed_hit(aad.alert_id, &sealed), 0.0);
        assert_eq!(
            a.get(1, aad.alert_id).unwrap().evidence_jpeg.as_deref(),
            Some(&jpeg[..])
        );
    }

    /// Another station's key, another alert's sealed image (replayed with its own CRC), altered
    /// bytes with a recomputed CRC, and no station key at all: refused, never attached, named,
    /// counted, and acknowledged (so the drone stops resending what can never open).
    #[test]
    fn a_sealed_image_that_does_not_open_is_refused_and_acknowledged() {
        let ours = SealKeyPair::generate();
        let jpeg = vec![0xffu8, 0xd8, 0xff, 1, 2, 3, 4, 5];
        let aad = |alert_id| ImageAad {
            system_id: 1,
            alert_id,
            kind: ImageKind::PlateImage,
        };
        let to_them = utkik_shared::seal::seal(SealKeyPair::generate().public(), &aad(11), &jpeg).unwrap();
        let for_other_alert = utkik_shared::seal::seal(ours.public(), &aad(99), &jpeg).unwrap();
        let mut altered = utkik_shared::seal::seal(ours.public(), &aad(13), &jpeg).unwrap();
        *altered.last_mut().unwrap() ^= 1;
        for (alert_id, sealed, key) in [
            (11, to_them, Some(ours.clone())),
            (12, for_other_alert, Some(ours.clone())),
            (13, altered, Some(ours.clone())),
            (
                14,
                utkik_shared::seal::seal(ours.public(), &aad(14), &jpeg).unwrap(),
                None,
            ),
        ] {
            let mut a = Alerts::default();
            a.set_seal_key(key);
            a.set_queue_acks(true);
            a.apply_plate(1, 191, &sealed_hit(alert_id, &sealed), 0.0);
            send_image(&mut a, &sealed);
            let alert = a.get(1, alert_id).unwrap();
            assert!(alert.evidence_jpeg.is_none(), "alert {alert_id}: nothing attached");
            let why = alert.image_refused.as_deref().unwrap_or_default();
            assert!(
                why.contains("does not open") || why.contains("no --seal-key"),
                "alert {alert_id}: {why}"
            );
            assert_eq!(a.images.refused, 1);
            assert!(alert.complete());
            assert_eq!(a.take_acks().len(), 1, "alert {alert_id}: acknowledged once");
        }
    }
}
