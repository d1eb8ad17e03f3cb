//! Events a ground station shares with other stations and operations centres (issue 19):
//! tracks, plate hits, alerts, verdicts and authorization states, each signed by the station
//! that produced it. Pure logic (encoding, signing, verification); the transport (Zenoh) lives
//! in `utkik_ground::centre`.
//!
//! **Wire form.** One event is one JSON object
//! `{"event": {..}, "signature_ed25519_hex": "<128 hex>"}` ([`SignedStationEvent`]), where the
//! event is
//! ```json
//! { "format": "utkik-station-event/1", "station_id": "stn-north-1", "seq": 1765123456000001,
//!   "time_usec": 1765123456789000,
//!   "source": { "system_id": 1, "kind": "drone", "legal_basis": "own" },
//!   "body": { "plate_hit": { "alert_id": 7, "plate": "ABC123", "hit_entry_id": 2,
//!             "position": { "lat_deg": 59.3, "lon_deg": 18.0 },
//!             "capture_time_usec": 1765123456700000, "image_sha256_hex": "<64 hex>" } } }
//! ```
//!
//! **Canonical encoding and signature.** As for the authorization and the hit list
//! (`authz::signed`, `hitlist::signed`): the event is parsed, re-encoded as compact JSON with
//! fields in declaration order, prefixed by the domain tag [`SIGNING_CONTEXT`]
//! (`utkik-station-event/1\n`), and that is what the station's Ed25519 key signs (strict
//! verification). Unknown fields are refused everywhere, so nothing unsigned rides along. The
//! domain tag keeps an event signature from being taken for any other document signed by a key
//! of the same kind. Floats are written by serde_json with `float_roundtrip`, so a parsed
//! coordinate re-encodes to the bytes that were signed; NaN and infinities are refused when
//! signing and when verifying (JSON cannot carry them).
//!
//! **Sequence numbers.** Each station numbers its events with a strictly increasing `seq`. A
//! verifier ([`EventVerifier`]) keeps the highest `seq` accepted per station and refuses any
//! event at or below it: a replayed event, or an old one re-sent by someone who recorded the
//! bus. A station starts its sequence at its UTC clock in microseconds ([`SequenceCounter`])
//! and counts up by one per event, so a restarted station continues above its last event
//! without a state file (as MAVLink 2 signing does with its timestamps).
//!
//! **Plate text only for hits (LAW.md section 7).** The only body that carries a plate's text
//! is [`PlateHitEvent`], whose `hit_entry_id` is a [`NonZeroU32`]: the hit list's 1-based entry
//! number. A read that is not a hit (`UTKIK_PLATE_STATUS_NO_HIT`, entry 0) cannot be put in
//! one ([`PlateHitEvent::from_plate_read`] refuses it, and the JSON `"hit_entry_id": 0` does not
//! parse), and no other body has a plate field. So no station can publish, and no centre
//! accept, the text of a non-hit read.
//!
//! **Who is trusted.** A centre lists the stations it accepts ([`TrustedStations`], file format
//! in [`keys`]): station id, public key, optional region. A station's secret key is a `0600`
//! file ([`keys::StationKey`]).

pub mod keys;

use std::collections::HashMap;
use std::num::NonZeroU32;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::authz::AuthzState;
use crate::dialect::{UTKIK_PLATE_READ_DATA, UtkikPlateStatus};
pub use keys::{StationKey, TrustedStation, TrustedStations};

/// The value of the event's `format` field.
pub const EVENT_FORMAT: &str = "utkik-station-event/1";

/// Prefix of the signed bytes (domain separation).
pub const SIGNING_CONTEXT: &[u8] = b"utkik-station-event/1\n";

/// Largest event accepted on the wire (64 KiB): an event is a few hundred bytes; anything near
/// this is not one of ours and is refused before parsing.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// Longest station id, user id or plate text accepted (bytes).
pub const MAX_ID_BYTES: usize = 64;

/// What kind of camera the event's data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A drone.
    Drone,
    /// A stationary camera (traffic camera, fixed site).
    Fixed,
    /// A camera in a vehicle (police car ANPR).
    Vehicle,
}

impl SourceKind {
    /// The name used in JSON and key expressions.
    pub fn name(self) -> &'static str {
        match self {
            Self::Drone => "drone",
            Self::Fixed => "fixed",
            Self::Vehicle => "vehicle",
        }
    }

    /// The kind called `name` (as [`Self::name`] gives it).
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Drone, Self::Fixed, Self::Vehicle]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// Whose camera it is: the legal basis of the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// The police's own camera.
    Own,
    /// Another operator's camera the police has access to (e.g. the road authority).
    OtherOperator,
}

/// The camera an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSource {
    /// The MAVLink system id of the drone or camera, at its station.
    pub system_id: u8,
    /// Drone, fixed or vehicle camera.
    pub kind: SourceKind,
    /// Own camera or another operator's.
    pub legal_basis: LegalBasis,
}

impl EventSource {
    /// The source's segment of a key expression: `drone-1`, `fixed-12`.
    pub fn key_segment(&self) -> String {
        format!("{}-{}", self.kind.name(), self.system_id)
    }
}

/// A WGS84 position, degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventPosition {
    /// Latitude, degrees (-90..=90).
    pub lat_deg: f64,
    /// Longitude, degrees (-180..=180).
    pub lon_deg: f64,
}

impl EventPosition {
    fn check(&self, field: &str) -> Result<(), String> {
        if !(self.lat_deg.is_finite() && (-90.0..=90.0).contains(&self.lat_deg)) {
            return Err(format!(
                "{field}.lat_deg: {} is not a latitude (-90..=90)",
                self.lat_deg
            ));
        }
        if !(self.lon_deg.is_finite() && (-180.0..=180.0).contains(&self.lon_deg)) {
            return Err(format!(
                "{field}.lon_deg: {} is not a longitude (-180..=180)",
                self.lon_deg
            ));
        }
        Ok(())
    }
}

/// Object classes of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackClass {
    /// Not classified.
    Unknown,
    /// A face.
    Face,
    /// A number plate.
    Plate,
    /// A person.
    Person,
    /// A road vehicle.
    Vehicle,
}

/// Most tracks in one [`TracksEvent`]: a source shows tens of live tracks; 256 of about 110
/// bytes each stay far below [`MAX_EVENT_BYTES`].
pub const MAX_TRACKS_PER_EVENT: usize = 256;

/// A source's live, geolocated tracks at one moment: one event per source and publishing period
/// rather than one per track, so a centre verifies one signature per source and period however
/// many tracks it shows (issue 19 item 5: 50 sources x 50 tracks at 5 Hz are 250 events/s, not
/// 12,500). Tracks are positions only: no identity, no plate text (a plate track's text is in
/// a [`PlateHitEvent`] when, and only when, it is a hit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracksEvent {
    /// The tracks, at most [`MAX_TRACKS_PER_EVENT`]; empty when the source has none left
    /// (so a centre clears what it showed).
    pub tracks: Vec<TrackEvent>,
}

/// A track's latest position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackEvent {
    /// Track id (per source).
    pub track_id: u32,
    /// What it is.
    pub class: TrackClass,
    /// Ground point.
    pub position: EventPosition,
    /// Capture time, µs since the Unix epoch (UTC).
    pub time_usec: u64,
}

/// A plate on the hit list, seen by a source. Exists only for hits: see the module doc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlateHitEvent {
    /// The alert id the source gave the hit.
    pub alert_id: u32,
    /// Plate text, normalized (upper case, no spaces).
    pub plate: String,
    /// The hit list's 1-based entry number: never 0, which is how a non-hit read is marked.
    pub hit_entry_id: NonZeroU32,
    /// Where the plate was, when the station knows its track's ground point.
    pub position: Option<EventPosition>,
    /// Capture time of the best read, µs since the Unix epoch (UTC).
    pub capture_time_usec: u64,
    /// SHA-256 of the plate image as the station holds it (opened), lower-case hex: a
    /// reference, the image itself stays at the station. `None` while it has not arrived.
    pub image_sha256_hex: Option<String>,
}

/// Why a plate read cannot become a [`PlateHitEvent`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAHit {
    /// The read's status is not HIT.
    #[error("the plate read is not a hit (status {0}): its text is never shared")]
    Status(u8),
    /// A HIT read without an entry number or alert id.
    #[error("the plate read says HIT but has hit_entry_id 0 or alert_id 0")]
    NoEntry,
    /// The text is empty or not printable ASCII.
    #[error("the plate text of a hit is empty or not printable ASCII")]
    BadText,
}

impl PlateHitEvent {
    /// The hit from a drone's `UTKIK_PLATE_READ`; a read that is not a hit is refused.
    ///
    /// # Errors
    /// [`NotAHit`].
    pub fn from_plate_read(
        p: &UTKIK_PLATE_READ_DATA,
        position: Option<EventPosition>,
        image_sha256_hex: Option<String>,
    ) -> Result<Self, NotAHit> {
        if p.status != UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT {
            return Err(NotAHit::Status(p.status as u8));
        }
        let hit_entry_id = NonZeroU32::new(p.hit_entry_id).ok_or(NotAHit::NoEntry)?;
        if p.alert_id == 0 {
            return Err(NotAHit::NoEntry);
        }
        let end = p.plate.iter().position(|&b| b == 0).unwrap_or(p.plate.len());
        let text = &p.plate[..end];
        if text.is_empty() || !text.iter().all(|b| b.is_ascii_graphic()) {
            return Err(NotAHit::BadText);
        }
        Ok(Self {
            alert_id: p.alert_id,
            plate: String::from_utf8_lossy(text).into_owned(),
            hit_entry_id,
            position,
            capture_time_usec: p.time_usec,
            image_sha256_hex,
        })
    }
}

/// What an alert is about (no subject or plate here: the hit's text is in its own event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A plate on the hit list.
    PlateHit,
    /// A possible face match (never an identification until two users confirm it).
    PossibleMatch,
}

/// Where an alert is in its review at the station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// A plate hit not yet checked by an operator.
    NeedsCheck,
    /// A plate hit checked by an operator.
    Checked,
    /// A possible match waiting for (a second) confirmation.
    PossibleMatch,
    /// Confirmed by two different users.
    Confirmed,
    /// Dismissed.
    Dismissed,
}

/// An alert's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertEvent {
    /// Alert id (per source).
    pub alert_id: u32,
    /// What it is about.
    pub kind: AlertKind,
    /// Its review state.
    pub state: AlertState,
}

/// A user's decision on an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Confirmed (a possible match needs two different users).
    Confirm,
    /// Rejected (misread plate, not the person).
    Reject,
}

/// A verdict given at the station (audit-logged there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictEvent {
    /// Alert id (per source).
    pub alert_id: u32,
    /// The user who gave it.
    pub user_id: String,
    /// Confirm or reject.
    pub verdict: Verdict,
}

/// The authorization state the station sees for a drone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationEvent {
    /// The lifecycle state; `None`: the drone has no authorization loaded.
    pub state: Option<AuthzState>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EventBody {
    /// A source's live tracks.
    Tracks(TracksEvent),
    /// A plate hit (hits only).
    PlateHit(PlateHitEvent),
    /// An alert's state.
    Alert(AlertEvent),
    /// A verdict on an alert.
    Verdict(VerdictEvent),
    /// An authorization state.
    Authorization(AuthorizationEvent),
}

impl EventBody {
    /// The body's name in JSON and in key expressions.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Tracks(_) => "tracks",
            Self::PlateHit(_) => "plate_hit",
            Self::Alert(_) => "alert",
            Self::Verdict(_) => "verdict",
            Self::Authorization(_) => "authorization",
        }
    }
}

/// The signed content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationEvent {
    /// Always [`EVENT_FORMAT`].
    pub format: String,
    /// The station that produced and signed it.
    pub station_id: String,
    /// Strictly increasing per station (see the module doc).
    pub seq: u64,
    /// When the station produced it, µs since the Unix epoch (UTC).
    pub time_usec: u64,
    /// The camera the data came from.
    pub source: EventSource,
    /// What happened.
    pub body: EventBody,
}

fn check_id(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("{field}: must not be empty"));
    }
    if value.len() > MAX_ID_BYTES {
        return Err(format!("{field}: longer than {MAX_ID_BYTES} bytes"));
    }
    Ok(())
}

/// A station id fit for a key expression segment: ASCII letters, digits, `-`, `_`, `.`.
pub fn check_station_id(id: &str) -> Result<(), String> {
    check_id("station_id", id)?;
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(format!(
            "station_id `{id}`: only ASCII letters, digits, `-`, `_` and `.` (it is a key-expression segment)"
        ));
    }
    Ok(())
}

impl StationEvent {
    /// A new event of `station_id` with this `seq`.
    pub fn new(station_id: &str, seq: u64, time_usec: u64, source: EventSource, body: EventBody) -> Self {
        Self {
            format: EVENT_FORMAT.into(),
            station_id: station_id.into(),
            seq,
            time_usec,
            source,
            body,
        }
    }

    /// Checks the content: format, ids, finite coordinates, a hit's text and image hash.
    ///
    /// # Errors
    /// What is wrong, naming the field.
    pub fn check(&self) -> Result<(), String> {
        if self.format != EVENT_FORMAT {
            return Err(format!("format: `{}` is not `{EVENT_FORMAT}`", self.format));
        }
        check_station_id(&self.station_id)?;
        match &self.body {
            EventBody::Tracks(t) => {
                if t.tracks.len() > MAX_TRACKS_PER_EVENT {
                    return Err(format!(
                        "body.tracks.tracks: {} tracks, at most {MAX_TRACKS_PER_EVENT}",
                        t.tracks.len()
                    ));
                }
                t.tracks
                    .iter()
                    .enumerate()
                    .try_for_each(|(i, t)| t.position.check(&format!("body.tracks.tracks[{i}].position")))
            }
            EventBody::PlateHit(h) => {
                check_id("body.plate_hit.plate", &h.plate)?;
                if !h.plate.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err("body.plate_hit.plate: only printable ASCII without spaces".into());
                }
                if let Some(p) = &h.position {
                    p.check("body.plate_hit.position")?;
                }
                if let Some(hash) = &h.image_sha256_hex
                    && !(hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
                {
                    return Err("body.plate_hit.image_sha256_hex: 64 lower-case hex digits expected".into());
                }
                Ok(())
            }
            EventBody::Verdict(v) => check_id("body.verdict.user_id", &v.user_id),
            EventBody::Alert(_) | EventBody::Authorization(_) => Ok(()),
        }
    }
}

/// The canonical bytes that are signed: [`SIGNING_CONTEXT`] + compact JSON of `event`.
pub fn canonical_bytes(event: &StationEvent) -> Vec<u8> {
    let mut out = SIGNING_CONTEXT.to_vec();
    serde_json::to_writer(&mut out, event).expect("an event always serializes");
    out
}

/// An event with the station's signature: what travels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedStationEvent {
    /// The event.
    pub event: StationEvent,
    /// Ed25519 signature over [`canonical_bytes`] of `event`, 64 bytes as hex.
    pub signature_ed25519_hex: String,
}

/// Why an event could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("station event not signed: {0}")]
pub struct SignError(pub String);

impl SignedStationEvent {
    /// Signs `event` with the station's key, after [`StationEvent::check`].
    ///
    /// # Errors
    /// [`SignError`] naming what is wrong with the content.
    pub fn sign(event: StationEvent, key: &SigningKey) -> Result<Self, SignError> {
        event.check().map_err(SignError)?;
        let sig = key.sign(&canonical_bytes(&event));
        Ok(Self {
            event,
            signature_ed25519_hex: hex::encode(sig.to_bytes()),
        })
    }

    /// The wire bytes (compact JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an event always serializes")
    }

    /// Parses wire bytes. Nothing is checked beyond the shape.
    ///
    /// # Errors
    /// [`Refusal::Malformed`] naming the field path.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Refusal> {
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(Refusal::Malformed(format!(
                "{} bytes, more than the {MAX_EVENT_BYTES} an event may have",
                bytes.len()
            )));
        }
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let signed: Self = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
            let path = e.path().to_string();
            Refusal::Malformed(format!(
                "{path}: {}",
                crate::authz::error::strip_position(&e.into_inner().to_string())
            ))
        })?;
        de.end()
            .map_err(|e| Refusal::Malformed(format!("trailing bytes after the event: {e}")))?;
        Ok(signed)
    }

    /// Checks the signature with `key` (strict Ed25519) and the content.
    ///
    /// # Errors
    /// [`Refusal::BadSignature`] or [`Refusal::Malformed`].
    pub fn verify_signature(&self, key: &VerifyingKey) -> Result<(), Refusal> {
        let station = self.event.station_id.clone();
        let bad = |reason: String| Refusal::BadSignature {
            station: station.clone(),
            reason,
        };
        let bytes = hex::decode(self.signature_ed25519_hex.as_bytes()).map_err(|e| bad(format!("not hex: {e}")))?;
        let arr: [u8; 64] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| bad(format!("an Ed25519 signature is 64 bytes, got {}", bytes.len())))?;
        key.verify_strict(&canonical_bytes(&self.event), &Signature::from_bytes(&arr))
            .map_err(|_| bad("does not verify with the station's key in the trusted list".into()))?;
        self.event.check().map_err(Refusal::Malformed)
    }
}

/// Why a verifier refused an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not an event: bad JSON, missing or unknown fields, bad values.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// The station is not in the trusted list.
    #[error("station `{0}` is not in the trusted stations list")]
    UnknownStation(String),
    /// The signature does not verify with the trusted key of the station it names.
    #[error("station `{station}`: bad signature ({reason})")]
    BadSignature {
        /// The station the event claims.
        station: String,
        /// Why.
        reason: String,
    },
    /// `seq` is not above the highest accepted from this station.
    #[error(
        "station `{station}`: seq {seq} is not above {highest}, the highest already accepted (replayed or old event)"
    )]
    Replayed {
        /// The station.
        station: String,
        /// The event's seq.
        seq: u64,
        /// The highest accepted so far.
        highest: u64,
    },
}

impl Refusal {
    /// A short name for counters: `malformed`, `unknown_station`, `bad_signature`, `replayed`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::UnknownStation(_) => "unknown_station",
            Self::BadSignature { .. } => "bad_signature",
            Self::Replayed { .. } => "replayed",
        }
    }
}

/// An accepted event and the trusted station that signed it.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedEvent {
    /// The event.
    pub event: StationEvent,
    /// The station's region in the trusted list, if any.
    pub region: Option<String>,
}

/// Verifies events against a trusted-stations list and keeps the highest `seq` per station.
#[derive(Debug, Clone)]
pub struct EventVerifier {
    trusted: TrustedStations,
    highest_seq: HashMap<String, u64>,
}

impl EventVerifier {
    /// A verifier that has accepted nothing yet.
    pub fn new(trusted: TrustedStations) -> Self {
        Self {
            trusted,
            highest_seq: HashMap::new(),
        }
    }

    /// The list it verifies against.
    pub fn trusted(&self) -> &TrustedStations {
        &self.trusted
    }

    /// The highest `seq` accepted from `station`.
    pub fn highest_seq(&self, station: &str) -> Option<u64> {
        self.highest_seq.get(station).copied()
    }

    /// Parses and verifies wire bytes; on success the event's `seq` becomes its station's
    /// highest. A refused event changes nothing.
    ///
    /// # Errors
    /// [`Refusal`]: malformed, unknown station, bad signature, replayed/old sequence.
    pub fn verify(&mut self, bytes: &[u8]) -> Result<VerifiedEvent, Refusal> {
        let signed = SignedStationEvent::from_bytes(bytes)?;
        self.verify_signed(signed)
    }

    /// As [`EventVerifier::verify`], for an event already parsed.
    ///
    /// # Errors
    /// As [`EventVerifier::verify`].
    pub fn verify_signed(&mut self, signed: SignedStationEvent) -> Result<VerifiedEvent, Refusal> {
        let station_id = &signed.event.station_id;
        let trusted = self
            .trusted
            .get(station_id)
            .ok_or_else(|| Refusal::UnknownStation(station_id.clone()))?;
        signed.verify_signature(&trusted.public_key)?;
        let seq = signed.event.seq;
        if let Some(&highest) = self.highest_seq.get(station_id)
            && seq <= highest
        {
            return Err(Refusal::Replayed {
                station: station_id.clone(),
                seq,
                highest,
            });
        }
        let region = trusted.region.clone();
        self.highest_seq.insert(station_id.clone(), seq);
        Ok(VerifiedEvent {
            event: signed.event,
            region,
        })
    }
}

/// A station's sequence: starts at its clock in µs (UTC) and counts up by one per event, never
/// below a value it already gave (see the module doc).
#[derive(Debug, Clone)]
pub struct SequenceCounter {
    last: u64,
}

impl SequenceCounter {
    /// Starts just below `now_usec`.
    pub fn starting_at(now_usec: u64) -> Self {
        Self {
            last: now_usec.saturating_sub(1),
        }
    }

    /// The next `seq`: one above the last, or the clock if it is ahead.
    pub fn next(&mut self, now_usec: u64) -> u64 {
        self.last = (self.last + 1).max(now_usec);
        self.last
    }
}

#[cfg(test)]
mod tests;
