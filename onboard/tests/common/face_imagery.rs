//! Real face imagery for the face-template conversion test and the
//! verification bench: the photographs `scripts/fetch-models.sh` puts under
//! `<cache>/imagery/faces` (face-api's demo photos and scikit-image's
//! public-domain astronaut portrait), faces found by our MTCNN
//! (`detect::faces`) and cut out with `shared::face::align`, i.e. exactly
//! the chips the drone would feed the template model.
//!
//! Shared by `tests/face_template_reference.rs` and
//! `benches/face_verification.rs` (included with `#[path]`), so both see
//! the same faces.

#![allow(dead_code)] // each includer uses a different part

use std::path::{Path, PathBuf};

use utkik_models::{FACE_TEMPLATE, ModelCache};
use utkik_onboard::detect::faces::{FaceConfig, FaceDetection, FaceDetector};
use utkik_onboard::frame::RgbFrame;
use utkik_onboard::gate::template_model::TemplateModel;
use utkik_shared::face::align::align_face;

/// The photographs, as fetched (sha256-checked) by `scripts/fetch-models.sh`.
pub const IMAGE_FILES: [&str; 7] = [
    "astronaut.png",
    "sample1.jpg",
    "sample2.jpg",
    "sample3.jpg",
    "sample4.jpg",
    "sample5.jpg",
    "sample6.jpg",
];

/// Smallest face searched for in the photographs. Their faces are 100 px
/// and more; a 40 px floor keeps the pyramid short (fast) and keeps MTCNN's
/// rare tiny false positives (in hair, on clothes) out of the identity set.
pub const MIN_FACE_PX: f32 = 40.0;

/// The model cache (`$UTKIK_CACHE` or `~/.cache/utkik`).
pub fn cache() -> ModelCache {
    ModelCache::locate().expect("no model cache: set UTKIK_CACHE or HOME, then run scripts/fetch-models.sh")
}

/// `<cache>/imagery/faces`.
pub fn faces_dir(cache: &ModelCache) -> PathBuf {
    cache.root().join("imagery").join("faces")
}

/// Loads a photograph as an RGB frame.
///
/// # Panics
/// When the file is missing or unreadable (the message names it and the fix).
pub fn load_frame(path: &Path) -> RgbFrame {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/fetch-models.sh)", path.display()))
        .to_rgb8();
    let (w, h) = img.dimensions();
    RgbFrame::new(w, h, img.into_raw(), 0).expect("decoded image has w*h*3 bytes")
}

/// Our MTCNN with default thresholds and [`MIN_FACE_PX`].
///
/// # Panics
/// When the MTCNN models are missing or corrupted.
pub fn detector(cache: &ModelCache) -> FaceDetector {
    FaceDetector::new(
        cache,
        FaceConfig {
            min_face_px: MIN_FACE_PX,
            ..FaceConfig::default()
        },
    )
    .unwrap_or_else(|e| panic!("MTCNN: {e}"))
}

/// The face-template model (sha256-checked), the onboard code path.
///
/// # Panics
/// When the model is missing or corrupted (the message names the fetch command).
pub fn template_model(cache: &ModelCache) -> TemplateModel {
    let path = cache
        .verified_path(&FACE_TEMPLATE)
        .unwrap_or_else(|e| panic!("face-template model: {e}"));
    TemplateModel::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// The aligned 150x150 RGB chip of a detection.
///
/// # Panics
/// When the landmarks are degenerate (MTCNN never gives such).
pub fn chip(frame: &RgbFrame, det: &FaceDetection) -> Vec<u8> {
    align_face(&frame.data, frame.width as usize, frame.height as usize, &det.landmarks)
        .unwrap_or_else(|e| panic!("align: {e}"))
        .0
}

/// Faces in `frame`, left to right, with their aligned chips.
///
/// # Panics
/// When the detector fails.
pub fn detect_aligned(det: &mut FaceDetector, frame: &RgbFrame) -> Vec<(FaceDetection, Vec<u8>)> {
    let mut faces = det.detect(frame).unwrap_or_else(|e| panic!("MTCNN: {e}"));
    faces.sort_by(|a, b| a.bbox_px[0].total_cmp(&b.bbox_px[0]));
    faces
        .into_iter()
        .map(|d| {
            let c = chip(frame, &d);
            (d, c)
        })
        .collect()
}

/// One face found in one photograph.
pub struct PhotoFace {
    /// The photograph's file name.
    pub image: &'static str,
    /// Index among that photograph's faces, left to right.
    pub index: usize,
    /// The detection (box, score, landmarks) in the photograph's pixels.
    pub detection: FaceDetection,
    /// The aligned 150x150 RGB chip.
    pub chip: Vec<u8>,
}

impl PhotoFace {
    /// `file#index`, for messages.
    pub fn label(&self) -> String {
        format!("{}#{}", self.image, self.index)
    }
}

/// Every face MTCNN finds in every photograph.
///
/// # Panics
/// When a photograph or model is missing.
pub fn all_photo_faces(cache: &ModelCache, det: &mut FaceDetector) -> Vec<PhotoFace> {
    let dir = faces_dir(cache);
    let mut out = Vec::new();
    for image in IMAGE_FILES {
        let frame = load_frame(&dir.join(image));
        for (index, (detection, chip)) in detect_aligned(det, &frame).into_iter().enumerate() {
            out.push(PhotoFace {
                image,
                index,
                detection,
                chip,
            });
        }
    }
    out
}
