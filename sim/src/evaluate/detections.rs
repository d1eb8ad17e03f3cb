//! Onboard output as the evaluator reads it: a `.tlog` of our dialect
//! (UTKIK_TRACK, UTKIK_PLATE_READ) or a JSON-lines file.
//!
//! JSON lines: one object per line, either a processed frame
//! ```text
//! {"time_usec": 1763800000400000, "detections": [
//!    {"class": "plate", "box_px": [l, t, r, b], "track_id": 3, "score": 0.91,
//!     "text": "ABC123", "lat_deg": 59.38, "lon_deg": 17.92}]}
//! ```
//! (`box_norm: [x, y, w, h]` in 0..1 of the image instead of `box_px`; all
//! fields but `class` and one box optional), or a voted plate read
//! `{"plate_read": {"time_usec": .., "track_id": 3, "text": "ABC123"}}`.
//! A frame line with no detections says the frame was processed and nothing
//! was found, which a tlog cannot say.
//!
//! From a tlog, every UTKIK_TRACK that is neither PREDICTED nor LOST is a
//! detection of the frame captured at its `time_usec` (lat/lon only with
//! GEO_VALID). The onboard coalesces updates per track under its link
//! budget, so a tlog holds a subset of each frame's detections and no record
//! of frames where nothing was found: scores from a tlog are those of what
//! reached the ground, and recall is lower than the detector's own.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use utkik_shared::dialect::{MavMessage, UtkikObjectClass, UtkikTrackFlags};
use utkik_shared::tlog::{TlogError, TlogReader};

use crate::render::TruthClass;

/// A detection's box: pixels, or normalized to the image as on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BoxSpec {
    /// Left, top, right, bottom, pixels.
    Px([f64; 4]),
    /// Left, top, width, height as fractions of the image width/height.
    Norm([f64; 4]),
}

impl BoxSpec {
    /// Left, top, right, bottom in pixels of a `width` x `height` image.
    pub fn to_px(&self, width: u32, height: u32) -> [f64; 4] {
        match *self {
            BoxSpec::Px(b) => b,
            BoxSpec::Norm([x, y, w, h]) => {
                let (fw, fh) = (f64::from(width), f64::from(height));
                [x * fw, y * fh, (x + w) * fw, (y + h) * fh]
            }
        }
    }
}

/// One detection (or track update) in a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// What was found.
    pub class: TruthClass,
    /// Where in the image.
    pub bbox: BoxSpec,
    /// Track id (unique per class), for identity switches and plate reads.
    pub track_id: Option<u32>,
    /// Confidence 0..1.
    pub score: Option<f64>,
    /// Text read from a plate in this frame.
    pub text: Option<String>,
    /// Geolocated ground point, degrees (WGS84).
    pub lat_lon_deg: Option<(f64, f64)>,
}

/// The detections of one processed frame.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionFrame {
    /// Capture time of the frame, Unix µs (the truth's `time_usec`).
    pub time_usec: u64,
    /// What was found.
    pub detections: Vec<Detection>,
}

/// A plate text voted over a plate track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlateRead {
    /// Capture time of the best read's frame, Unix µs.
    pub time_usec: u64,
    /// The plate track.
    pub track_id: u32,
    /// The text (compared without spaces, upper case).
    pub text: String,
}

/// Everything read from an onboard output file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DetectionLog {
    /// Frames in time order.
    pub frames: Vec<DetectionFrame>,
    /// Voted plate reads.
    pub plate_reads: Vec<PlateRead>,
    /// "tlog" or "jsonl".
    pub format: String,
    /// Records skipped (damaged tlog stretches, unknown classes).
    pub skipped: u64,
}

/// The onboard output could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DetectionsError {
    /// Open or read failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A JSON line is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The tlog reader failed (I/O; damage is skipped, not an error).
    #[error("{}: {source}", path.display())]
    Tlog {
        /// The file.
        path: PathBuf,
        /// Why.
        source: TlogError,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonDetection {
    class: TruthClass,
    box_px: Option<[f64; 4]>,
    box_norm: Option<[f64; 4]>,
    track_id: Option<u32>,
    score: Option<f64>,
    text: Option<String>,
    lat_deg: Option<f64>,
    lon_deg: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonFrame {
    time_usec: u64,
    detections: Vec<JsonDetection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonPlateRead {
    plate_read: PlateRead,
}

/// Read a detections file: a tlog if its name ends in `.tlog`, else JSON lines.
pub fn read_detections(path: &Path) -> Result<DetectionLog, DetectionsError> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tlog")) {
        read_tlog(path)
    } else {
        read_jsonl(path)
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> DetectionsError + '_ {
    move |source| DetectionsError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Read the JSON-lines format of the module docs.
pub fn read_jsonl(path: &Path) -> Result<DetectionLog, DetectionsError> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut log = DetectionLog {
        format: "jsonl".into(),
        ..Default::default()
    };
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io_err(path))?;
        if line.trim().is_empty() {
            continue;
        }
        let perr = |message: String| DetectionsError::Parse {
            path: path.to_owned(),
            line: i + 1,
            message,
        };
        if line.contains("\"plate_read\"") {
            let r: JsonPlateRead = serde_json::from_str(&line).map_err(|e| perr(e.to_string()))?;
            log.plate_reads.push(r.plate_read);
            continue;
        }
        let f: JsonFrame = serde_json::from_str(&line).map_err(|e| perr(e.to_string()))?;
        let mut detections = Vec::with_capacity(f.detections.len());
        for (k, d) in f.detections.into_iter().enumerate() {
            let bbox = match (d.box_px, d.box_norm) {
                (Some(b), None) => BoxSpec::Px(b),
                (None, Some(b)) => BoxSpec::Norm(b),
                _ => {
                    return Err(perr(format!(
                        "detections[{k}]: needs exactly one of box_px and box_norm"
                    )));
                }
            };
            let lat_lon_deg = match (d.lat_deg, d.lon_deg) {
                (Some(a), Some(o)) => Some((a, o)),
                (None, None) => None,
                _ => return Err(perr(format!("detections[{k}]: lat_deg and lon_deg go together"))),
            };
            detections.push(Detection {
                class: d.class,
                bbox,
                track_id: d.track_id,
                score: d.score,
                text: d.text,
                lat_lon_deg,
            });
        }
        log.frames.push(DetectionFrame {
            time_usec: f.time_usec,
            detections,
        });
    }
    log.frames.sort_by_key(|f| f.time_usec);
    Ok(log)
}

fn class_of(c: UtkikObjectClass) -> Option<TruthClass> {
    match c {
        UtkikObjectClass::UTKIK_OBJECT_CLASS_FACE => Some(TruthClass::Face),
        UtkikObjectClass::UTKIK_OBJECT_CLASS_PLATE => Some(TruthClass::Plate),
        UtkikObjectClass::UTKIK_OBJECT_CLASS_PERSON => Some(TruthClass::Person),
        UtkikObjectClass::UTKIK_OBJECT_CLASS_VEHICLE => Some(TruthClass::Vehicle),
        _ => None,
    }
}

/// Read UTKIK_TRACK and UTKIK_PLATE_READ from a tlog (see the module docs).
pub fn read_tlog(path: &Path) -> Result<DetectionLog, DetectionsError> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut frames: BTreeMap<u64, Vec<Detection>> = BTreeMap::new();
    let mut log = DetectionLog {
        format: "tlog".into(),
        ..Default::default()
    };
    for rec in TlogReader::new(BufReader::new(file)) {
        let rec = match rec {
            Ok(r) => r,
            Err(TlogError::Corrupt { .. } | TlogError::Truncated { .. }) => {
                log.skipped += 1;
                continue;
            }
            Err(source) => {
                return Err(DetectionsError::Tlog {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        match rec.frame.decode::<MavMessage>() {
            Ok(MavMessage::UTKIK_TRACK(t)) => {
                let skip = UtkikTrackFlags::UTKIK_TRACK_FLAGS_PREDICTED | UtkikTrackFlags::UTKIK_TRACK_FLAGS_LOST;
                if t.flags.intersects(skip) {
                    continue;
                }
                let Some(class) = class_of(t.object_class) else {
                    log.skipped += 1;
                    continue;
                };
                let n = |v: u16| f64::from(v) / 65535.0;
                let geo = t.flags.contains(UtkikTrackFlags::UTKIK_TRACK_FLAGS_GEO_VALID);
                let det = Detection {
                    class,
                    bbox: BoxSpec::Norm([n(t.box_x), n(t.box_y), n(t.box_w), n(t.box_h)]),
                    track_id: Some(t.track_id),
                    score: Some(f64::from(t.confidence) / 100.0),
                    text: None,
                    lat_lon_deg: geo.then(|| (f64::from(t.lat) * 1e-7, f64::from(t.lon) * 1e-7)),
                };
                let frame = frames.entry(t.time_usec).or_default();
                // A track reported twice for one frame (a resend) counts once.
                frame.retain(|d| !(d.class == class && d.track_id == det.track_id));
                frame.push(det);
            }
            Ok(MavMessage::UTKIK_PLATE_READ(p)) => {
                let bytes: &[u8] = &p.plate[..];
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                log.plate_reads.push(PlateRead {
                    time_usec: p.time_usec,
                    track_id: p.track_id,
                    text: String::from_utf8_lossy(&bytes[..end]).into_owned(),
                });
            }
            _ => {}
        }
    }
    log.frames = frames
        .into_iter()
        .map(|(time_usec, detections)| DetectionFrame { time_usec, detections })
        .collect();
    Ok(log)
}
