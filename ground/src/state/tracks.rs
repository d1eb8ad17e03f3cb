//! Tracks reported by the onboard pipeline (UTKIK_TRACK), keyed by vehicle, class and track id,
//! with a trail, plate text from UTKIK_PLATE_READ, staleness and expiry.

use std::collections::{HashMap, VecDeque};

use utkik_shared::dialect::{
    UTKIK_PLATE_READ_DATA, UTKIK_TRACK_DATA, UtkikObjectClass, UtkikPlateStatus, UtkikTrackFlags,
};
use utkik_shared::geo::GeoPoint;

/// Trail length kept per track (positions).
pub const TRACK_TRAIL_LEN: usize = 64;
/// A track not updated for this long is drawn faded, seconds.
pub const TRACK_STALE_S: f64 = 3.0;

/// Track classes the map distinguishes (icon, filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

impl TrackClass {
    /// All classes, for filters.
    pub const ALL: [TrackClass; 5] = [Self::Unknown, Self::Face, Self::Plate, Self::Person, Self::Vehicle];

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Face => "face",
            Self::Plate => "plate",
            Self::Person => "person",
            Self::Vehicle => "vehicle",
        }
    }
}

impl From<UtkikObjectClass> for TrackClass {
    fn from(c: UtkikObjectClass) -> Self {
        match c {
            UtkikObjectClass::UTKIK_OBJECT_CLASS_UNKNOWN => Self::Unknown,
            UtkikObjectClass::UTKIK_OBJECT_CLASS_FACE => Self::Face,
            UtkikObjectClass::UTKIK_OBJECT_CLASS_PLATE => Self::Plate,
            UtkikObjectClass::UTKIK_OBJECT_CLASS_PERSON => Self::Person,
            UtkikObjectClass::UTKIK_OBJECT_CLASS_VEHICLE => Self::Vehicle,
        }
    }
}

/// Identity of a track across the whole world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackKey {
    /// Vehicle system id.
    pub system_id: u8,
    /// Class.
    pub class: TrackClass,
    /// Onboard track id (unique per class and onboard run).
    pub track_id: u32,
}

/// One track.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Identity.
    pub key: TrackKey,
    /// Last geolocated position (None when never geolocated).
    pub position: Option<GeoPoint>,
    /// Ground velocity north/east, m/s.
    pub velocity_ne_m_s: (f64, f64),
    /// Horizontal error (1 sigma), metres; None when unknown.
    pub h_acc_m: Option<f64>,
    /// Last confidence, percent.
    pub confidence: u8,
    /// Frames with a detection so far.
    pub hits: u16,
    /// Past positions, oldest first.
    pub trail: VecDeque<GeoPoint>,
    /// Plate text (plate tracks with a read). Empty for a read that is not a hit: the drone
    /// sends no text for it and the station keeps none (LAW.md section 7), so all the operator
    /// learns is that the plate was read and is not on the hit list.
    pub plate: Option<String>,
    /// Confidence of the plate text, percent.
    pub plate_confidence: u8,
    /// Source time of the first and last update, seconds.
    pub first_seen_s: f64,
    /// Source time of the last update, seconds.
    pub last_seen_s: f64,
    /// The onboard tracker ended the track.
    pub lost: bool,
    /// Capture time of the last update (onboard clock, µs since Unix epoch).
    pub time_usec: u64,
}

impl Track {
    /// Stale: not updated for [`TRACK_STALE_S`] or ended.
    pub fn is_stale(&self, now_s: f64) -> bool {
        self.lost || now_s - self.last_seen_s > TRACK_STALE_S
    }

    /// Drawing opacity 0.15..1: full while fresh, fading over the next 10 s.
    pub fn opacity(&self, now_s: f64) -> f32 {
        let age = (now_s - self.last_seen_s - TRACK_STALE_S).max(0.0);
        let base = if self.lost { 0.5 } else { 1.0 };
        (base * (1.0 - age / 10.0)).clamp(0.15, 1.0) as f32
    }
}

/// All tracks.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tracks {
    by_key: HashMap<TrackKey, Track>,
    /// Plate text by (system id, plate track id) that arrived before the track itself.
    early_plates: HashMap<(u8, u32), (String, u8)>,
}

impl Tracks {
    /// Applies one UTKIK_TRACK from vehicle `system_id` at source time `time_s`.
    pub fn apply(&mut self, system_id: u8, t: &UTKIK_TRACK_DATA, time_s: f64) {
        let key = TrackKey {
            system_id,
            class: t.object_class.into(),
            track_id: t.track_id,
        };
        let track = self.by_key.entry(key).or_insert_with(|| Track {
            key,
            position: None,
            velocity_ne_m_s: (0.0, 0.0),
            h_acc_m: None,
            confidence: 0,
            hits: 0,
            trail: VecDeque::new(),
            plate: None,
            plate_confidence: 0,
            first_seen_s: time_s,
            last_seen_s: time_s,
            lost: false,
            time_usec: 0,
        });
        if key.class == TrackClass::Plate && track.plate.is_none() {
            if let Some((text, conf)) = self.early_plates.remove(&(system_id, t.track_id)) {
                track.plate = Some(text);
                track.plate_confidence = conf;
            }
        }
        track.last_seen_s = time_s;
        track.confidence = t.confidence;
        track.hits = t.hits;
        track.time_usec = t.time_usec;
        track.lost = t.flags.contains(UtkikTrackFlags::UTKIK_TRACK_FLAGS_LOST);
        if t.flags.contains(UtkikTrackFlags::UTKIK_TRACK_FLAGS_GEO_VALID) {
            let p = GeoPoint::from_deg_e7(t.lat, t.lon, t.alt);
            track.position = Some(p);
            track.velocity_ne_m_s = (t.vn as f64 / 100.0, t.ve as f64 / 100.0);
            track.h_acc_m = (t.h_acc != u16::MAX).then(|| t.h_acc as f64 / 100.0);
            if track.trail.len() == TRACK_TRAIL_LEN {
                track.trail.pop_front();
            }
            track.trail.push_back(p);
        }
    }

    /// Attaches plate text to its plate track (or keeps it until the track arrives). The text of
    /// a read that is not a hit is dropped unless `keep_non_hit_text` (the station keeps non-hit
    /// reads for a limited time); returns whether text was dropped.
    pub fn apply_plate(&mut self, system_id: u8, p: &UTKIK_PLATE_READ_DATA, keep_non_hit_text: bool) -> bool {
        let mut text = plate_text(&p.plate[..]);
        let dropped = !keep_non_hit_text && p.status != UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT && !text.is_empty();
        if dropped {
            text.clear();
        }
        let key = TrackKey {
            system_id,
            class: TrackClass::Plate,
            track_id: p.track_id,
        };
        match self.by_key.get_mut(&key) {
            // A read without text (a non-hit) does not hide the text of an earlier hit.
            Some(t) if text.is_empty() && t.plate.as_ref().is_some_and(|s| !s.is_empty()) => {}
            Some(t) => {
                t.plate = Some(text);
                t.plate_confidence = p.confidence;
            }
            None => {
                self.early_plates.insert((system_id, p.track_id), (text, p.confidence));
            }
        }
        dropped
    }

    /// Removes tracks not updated for `forget_s` seconds.
    pub fn expire(&mut self, now_s: f64, forget_s: f64) {
        self.by_key.retain(|_, t| now_s - t.last_seen_s <= forget_s);
    }

    /// A track by key.
    pub fn get(&self, key: &TrackKey) -> Option<&Track> {
        self.by_key.get(key)
    }

    /// All tracks, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Track> {
        self.by_key.values()
    }

    /// Number of tracks kept (live and stale).
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// No tracks.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Tracks not ended by the onboard tracker.
    pub fn live_count(&self) -> usize {
        self.by_key.values().filter(|t| !t.lost).count()
    }
}

/// Plate text from a NUL-padded char array (invalid UTF-8 replaced, never dropped).
pub fn plate_text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}
