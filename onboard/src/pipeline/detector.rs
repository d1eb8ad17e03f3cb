//! What the pipeline needs from a detector: boxes with scores for one object class, and for
//! plates the text read in each box. The tract detectors in `crate::detect` implement it; the
//! pipeline holds a list of them so faces-only and faces+plates runs share one code path.

use super::georef::FrameGeoref;
use crate::frame::RgbFrame;
use crate::track::BoxPx;

/// What the pipeline knows about a frame before its detectors run.
#[derive(Debug, Clone, Copy)]
pub struct FrameContext<'a> {
    /// Frame number (cadences).
    pub index: u64,
    /// Frame size, px.
    pub width: u32,
    /// Frame size, px.
    pub height: u32,
    /// The camera at the frame's pose (`None`: pose stale).
    pub georef: Option<&'a FrameGeoref>,
    /// Where this class's live tracks are expected in this frame.
    pub tracks: &'a [BoxPx],
}

/// Object classes the pipeline tracks (values as UTKIK_OBJECT_CLASS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectClass {
    /// A face.
    Face,
    /// A number plate.
    Plate,
}

/// One detection.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    /// Box in pixels.
    pub bbox: BoxPx,
    /// Score 0..1.
    pub score: f64,
    /// For plates: the text read (normalized, no spaces) and its confidence 0..1.
    pub text: Option<(String, f64)>,
    /// For faces: the five landmarks `[x, y]` in pixels (left eye, right eye, nose, left and
    /// right mouth corner, as MTCNN gives them), which the gate uses to align the face.
    pub landmarks_px: Option<[[f64; 2]; 5]>,
}

/// A detector of one class.
pub trait ObjectDetector: Send {
    /// The class it finds.
    fn class(&self) -> ObjectClass;
    /// Runs on `frame`. `frame_index` lets expensive detectors run on every n-th frame only
    /// (then they return `None` for skipped frames, which the tracker treats as "not looked",
    /// not as "nothing there").
    fn detect(&mut self, frame: &RgbFrame, frame_index: u64) -> Result<Option<Vec<Detected>>, String>;
    /// Told before each `detect` where the camera is and where this class's tracks are (the
    /// face detector narrows its search with it); by default ignored.
    fn prepare(&mut self, _context: &FrameContext<'_>) {}
    /// Named internal stage times (us) of the last `detect`, for the benchmark.
    fn last_stage_times(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
    /// First 4 bytes of the SHA-256 of its main model, big-endian (UTKIK_PIPELINE_STATUS).
    fn model_ids(&self) -> ModelIds {
        ModelIds::default()
    }
}

/// Model ids reported in UTKIK_PIPELINE_STATUS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelIds {
    /// Face detector.
    pub face_detector: u32,
    /// Text detector.
    pub plate_detector: u32,
    /// Text recognizer.
    pub plate_reader: u32,
}
