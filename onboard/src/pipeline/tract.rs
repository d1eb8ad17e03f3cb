//! The detectors the configuration asks for, built from the tract models in `crate::detect`:
//! the MTCNN face detector (every frame, landmarks kept for the gate's face alignment) and the
//! PP-OCRv5 plate reader (on its own cadence, `None` on the frames it skips), each wrapped as
//! an [`ObjectDetector`].

use utkik_models::{MTCNN_PNET, ModelCache, ModelError, PPOCR_DET, PPOCR_REC};
use utkik_shared::plate::PlateGrammar;

use super::{Detected, FrameContext, ModelIds, ObjectClass, ObjectDetector};
use crate::config::Config;
use crate::detect::faces::{FaceConfig, FaceDetector, FaceError, FaceSearch};
use crate::detect::plates::{PlateConfig, PlateDetection, PlateDetector, PlateError};
use crate::detect::runtime::{OrtSettings, Runtime};
use crate::frame::RgbFrame;
use crate::track::BoxPx;

/// Why the detectors could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DetectorError {
    /// No model cache (neither `$UTKIK_CACHE` nor `$HOME`).
    #[error(transparent)]
    Cache(#[from] ModelError),
    /// The face detector's models are missing, corrupted or refused by tract.
    #[error("face detector (detect.faces): {0}")]
    Face(#[from] FaceError),
    /// The plate reader's models are missing, corrupted or refused by tract.
    #[error("plate reader (detect.plates): {0}")]
    Plate(#[from] PlateError),
    /// A `[detect]` setting the detectors cannot use.
    #[error("config key {key}: {message}")]
    Config {
        /// The key, e.g. `detect.plate_countries`.
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// Builds the enabled detectors from the models in the default cache (`$UTKIK_CACHE` or
/// `~/.cache/utkik`). With faces and plates both off it needs no cache and returns none.
pub fn detectors_from_config(config: &Config) -> Result<Vec<Box<dyn ObjectDetector>>, DetectorError> {
    if !config.detect.faces && !config.detect.plates {
        return Ok(Vec::new());
    }
    detectors_with_cache(config, &ModelCache::locate()?)
}

/// Builds the enabled detectors from the models in `cache`: faces first, then plates.
pub fn detectors_with_cache(
    config: &Config,
    cache: &ModelCache,
) -> Result<Vec<Box<dyn ObjectDetector>>, DetectorError> {
    let mut detectors: Vec<Box<dyn ObjectDetector>> = Vec::new();
    if config.detect.faces {
        detectors.push(Box::new(
            FaceObjectDetector::new(cache, face_config(config))?.with_search(face_search_config(config)),
        ));
    }
    if config.detect.plates {
        detectors.push(Box::new(PlateObjectDetector::new(cache, plate_config(config)?)?));
    }
    Ok(detectors)
}

/// The face detector settings of `config` (package defaults for thresholds and pyramid step).
/// With `detect.runtime = "onnxruntime"` the `detect.threads` are the detector's worker threads
/// as on tract, each with its own session of one intra-op thread: ONNX Runtime's own 2-thread
/// pool collapsed on the shared 2-core machine (README, Speed: 6.9 against 22.1 frames/s).
pub fn face_config(config: &Config) -> FaceConfig {
    let threads = config.detect.threads as usize;
    let runtime = match config.detect.runtime.as_str() {
        "onnxruntime" => Runtime::OnnxRuntime(OrtSettings {
            library: (!config.detect.onnxruntime_lib.is_empty())
                .then(|| std::path::PathBuf::from(&config.detect.onnxruntime_lib)),
            intra_threads: 1,
            sessions: threads,
        }),
        _ => Runtime::Tract,
    };
    FaceConfig {
        min_face_px: config.detect.min_face_px as f32,
        threads,
        runtime,
        ..FaceConfig::default()
    }
}

/// Where the face detector looks on each frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceSearchConfig {
    /// Pyramid levels only on the rows that can hold their faces (needs the pose).
    pub rows: bool,
    /// The frame is searched in this many vertical strips, one per frame, with windows around
    /// the live tracks on every frame (1: the whole frame on every frame).
    pub full_every_n_frames: u32,
    /// Face size assumed for the rows, metres (brow to chin, about the MTCNN box).
    pub face_size_m: f64,
    /// Height of a face's centre above the ground, metres.
    pub face_height_m: f64,
    /// Tolerance factor on the expected face size (rows) and on a track's size (windows).
    pub margin: f32,
}

/// The face search settings of `config`.
pub fn face_search_config(config: &Config) -> FaceSearchConfig {
    FaceSearchConfig {
        rows: config.detect.face_rows,
        full_every_n_frames: config.detect.face_full_every_n_frames.max(1),
        face_size_m: 0.2,
        face_height_m: config.camera.face_height_m,
        margin: 1.6,
    }
}

/// The plate reader settings of `config` (built-in defaults for the rest, see `PlateConfig`).
pub fn plate_config(config: &Config) -> Result<PlateConfig, DetectorError> {
    let countries: Vec<&str> = config.detect.plate_countries.iter().map(String::as_str).collect();
    let grammar = PlateGrammar::for_countries(&countries).map_err(|e| DetectorError::Config {
        key: "detect.plate_countries",
        message: e.to_string(),
    })?;
    // On ONNX Runtime one intra-op thread: with detect.threads > 1 the plates already run on
    // their own thread beside the faces.
    let runtime = match face_config(config).runtime {
        Runtime::OnnxRuntime(s) => Runtime::OnnxRuntime(OrtSettings { intra_threads: 1, ..s }),
        Runtime::Tract => Runtime::Tract,
    };
    Ok(PlateConfig {
        runtime,
        every_n_frames: config.detect.plate_every_n_frames,
        scan_scale: config.detect.plate_scan_scale as f32,
        grammar,
        ..PlateConfig::default()
    })
}

fn box_px([x0, y0, x1, y1]: [f32; 4]) -> BoxPx {
    BoxPx {
        x0: f64::from(x0),
        y0: f64::from(y0),
        x1: f64::from(x1),
        y1: f64::from(y1),
    }
}

/// MTCNN on every frame: the whole pyramid (or its row bands) on every
/// `full_every_n_frames`-th frame, windows around the live face tracks in between.
pub struct FaceObjectDetector {
    inner: FaceDetector,
    search: Option<FaceSearchConfig>,
    next: FaceSearch,
}

impl FaceObjectDetector {
    /// Loads and verifies the three MTCNN nets; searches the full frame on every frame.
    pub fn new(cache: &ModelCache, config: FaceConfig) -> Result<Self, FaceError> {
        Ok(Self {
            inner: FaceDetector::new(cache, config)?,
            search: None,
            next: FaceSearch::Full,
        })
    }

    /// Narrows the search as `search` says (rows from the pose, windows between full passes).
    pub fn with_search(mut self, search: FaceSearchConfig) -> Self {
        self.search = Some(search);
        self
    }

    /// The detector (timings, settings).
    pub fn inner(&self) -> &FaceDetector {
        &self.inner
    }
}

/// Where to look for faces on the frame of `context` under `config`.
pub fn face_search_for(config: &FaceSearchConfig, context: &FrameContext<'_>) -> FaceSearch {
    let rows = match context.georef {
        Some(g) if config.rows => {
            Some(g.object_px_by_row(context.width, context.height, config.face_size_m, config.face_height_m))
        }
        _ => None,
    };
    if config.full_every_n_frames > 1 {
        // One strip of the frame per frame, and the live tracks on every frame.
        return FaceSearch::Sweep {
            face_px: rows,
            part: (context.index % u64::from(config.full_every_n_frames)) as u32,
            parts: config.full_every_n_frames,
            boxes: context
                .tracks
                .iter()
                .map(|b| [b.x0 as f32, b.y0 as f32, b.x1 as f32, b.y1 as f32])
                .collect(),
            margin: config.margin,
        };
    }
    match rows {
        Some(face_px) => FaceSearch::Rows {
            face_px,
            margin: config.margin,
        },
        None => FaceSearch::Full,
    }
}

impl ObjectDetector for FaceObjectDetector {
    fn class(&self) -> ObjectClass {
        ObjectClass::Face
    }

    fn prepare(&mut self, context: &FrameContext<'_>) {
        if let Some(config) = &self.search {
            self.next = face_search_for(config, context);
        }
    }

    fn last_stage_times(&self) -> Vec<(&'static str, u64)> {
        let t = self.inner.last_times();
        vec![
            ("pnet", t.pnet_usec),
            ("resize cpu", t.resize_cpu_usec),
            ("pnet cpu", t.pnet_cpu_usec),
            ("rnet", t.rnet_usec),
            ("onet", t.onet_usec),
            ("plans", t.plan_usec),
            ("pnet kpx", t.pnet_px / 1000),
            ("pnet runs", u64::from(t.pnet_jobs)),
            ("rnet in", u64::from(t.candidates[0])),
            ("onet in", u64::from(t.candidates[1])),
        ]
    }

    fn detect(&mut self, frame: &RgbFrame, _frame_index: u64) -> Result<Option<Vec<Detected>>, String> {
        let search = std::mem::take(&mut self.next);
        let faces = self.inner.detect_in(frame, &search).map_err(|e| e.to_string())?;
        Ok(Some(
            faces
                .into_iter()
                .map(|f| Detected {
                    bbox: box_px(f.bbox_px),
                    score: f64::from(f.score),
                    text: None,
                    landmarks_px: Some(f.landmarks.map(|p| p.map(f64::from))),
                })
                .collect(),
        ))
    }

    fn model_ids(&self) -> ModelIds {
        ModelIds {
            // The cascade's first net stands for it (as `utkik_models` lists MTCNN).
            face_detector: MTCNN_PNET.id_u32(),
            ..ModelIds::default()
        }
    }
}

/// The plate reader on its cadence (see `crate::detect::plates`).
pub struct PlateObjectDetector {
    inner: PlateDetector,
}

impl PlateObjectDetector {
    /// Loads and verifies the text detection and recognition models and the dictionary.
    pub fn new(cache: &ModelCache, config: PlateConfig) -> Result<Self, PlateError> {
        Ok(Self {
            inner: PlateDetector::new(cache, config)?,
        })
    }

    /// The reader, for its timings.
    pub fn reader(&self) -> &PlateDetector {
        &self.inner
    }
}

/// A plate as the tracker sees it. The score combines the text detector's and the read's
/// confidence (noisy-OR): a line that reads as a plate of the grammar is far surer to be a plate
/// than its text score alone says, so it may start a track; a followed plate whose read failed
/// this time keeps the text score and, being weaker, only extends a track (second stage).
pub fn plate_detected(d: &PlateDetection) -> Detected {
    let det = f64::from(d.score).clamp(0.0, 1.0);
    let (score, text) = match &d.read {
        Some(r) => {
            let read = f64::from(r.confidence).clamp(0.0, 1.0);
            (
                1.0 - (1.0 - det) * (1.0 - read),
                Some((r.plate.normalized.clone(), read)),
            )
        }
        None => (det, None),
    };
    Detected {
        bbox: box_px(d.bbox_px),
        score,
        text,
        landmarks_px: None,
    }
}

impl ObjectDetector for PlateObjectDetector {
    fn class(&self) -> ObjectClass {
        ObjectClass::Plate
    }

    fn detect(&mut self, frame: &RgbFrame, frame_index: u64) -> Result<Option<Vec<Detected>>, String> {
        let found = self.inner.detect(frame, frame_index).map_err(|e| e.to_string())?;
        Ok(found.map(|v| v.iter().map(plate_detected).collect()))
    }

    fn model_ids(&self) -> ModelIds {
        ModelIds {
            plate_detector: PPOCR_DET.id_u32(),
            plate_reader: PPOCR_REC.id_u32(),
            ..ModelIds::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use glam::DVec3;
    use utkik_shared::plate::normalize;
    use utkik_sim::render::TruthClass;

    use super::*;
    use crate::testing::{CLOSE_UP_PLATE, close_up, coverage, truth_of};

    fn corners(b: &BoxPx) -> [f64; 4] {
        [b.x0, b.y0, b.x1, b.y1]
    }

    /// `detect.runtime = "onnxruntime"`: `detect.threads` become the face detector's workers, each
    /// with a one-thread session; plates one thread; `onnxruntime_lib` is the library when set.
    #[test]
    fn onnxruntime_settings_follow_the_detect_keys() {
        let mut config = Config::default();
        assert_eq!(face_config(&config).runtime, Runtime::Tract);
        config.detect.runtime = "onnxruntime".into();
        config.detect.threads = 2;
        let faces = face_config(&config);
        assert_eq!(faces.threads, 2);
        let expected = OrtSettings {
            library: None,
            intra_threads: 1,
            sessions: 2,
        };
        assert_eq!(faces.runtime, Runtime::OnnxRuntime(expected.clone()));
        config.detect.onnxruntime_lib = "/opt/ort/libonnxruntime.so.1.23.2".into();
        let Runtime::OnnxRuntime(s) = plate_config(&config).unwrap().runtime else {
            panic!("plates on tract");
        };
        assert_eq!(
            s.library.as_deref(),
            Some(std::path::Path::new("/opt/ort/libonnxruntime.so.1.23.2"))
        );
        assert_eq!(s.intra_threads, 1);
    }

    /// The configured detectors, built from the real models, find the face (with landmarks in
    /// the right places) and read the plate of a rendered close-up exactly; the plate reader
    /// keeps its cadence.
    #[test]
    fn real_detectors_find_the_face_and_read_the_plate_of_a_rendered_close_up() {
        let (frame, rendered) = close_up(DVec3::new(0.3, -9.0, 3.0), 1, 0);
        let faces = truth_of(&rendered, TruthClass::Face);
        let plates = truth_of(&rendered, TruthClass::Plate);
        assert_eq!((faces.len(), plates.len()), (1, 1), "{:?}", rendered.truth);
        let (face_w, plate_w) = (faces[0].1[2] - faces[0].1[0], plates[0].1[2] - plates[0].1[0]);
        assert!(
            face_w >= 40.0 && plate_w >= 80.0,
            "face {face_w} px, plate {plate_w} px"
        );

        let config = Config::default();
        let cache = ModelCache::locate().unwrap();
        let mut detectors = detectors_with_cache(&config, &cache).unwrap();
        assert_eq!(
            detectors.iter().map(|d| d.class()).collect::<Vec<_>>(),
            [ObjectClass::Face, ObjectClass::Plate]
        );
        let t = std::time::Instant::now();
        let faces_found = detectors[0].detect(&frame, 0).unwrap().expect("faces: every frame");
        eprintln!("faces: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
        // The plate reader scans one strip of the frame per plate frame (0, 3, 6, ...): the
        // plate is found within one round of strips and then followed.
        let mut plates_found = Vec::new();
        for i in (0..9).step_by(3) {
            let t = std::time::Instant::now();
            plates_found = detectors[1].detect(&frame, i).unwrap().expect("a plate frame");
            eprintln!(
                "plates frame {i}: {:.1} ms, {plates_found:?}",
                t.elapsed().as_secs_f64() * 1e3
            );
            if !plates_found.is_empty() {
                break;
            }
        }
        let found = [faces_found, plates_found];

        // The face: one detection on the drawn face, landmarks inside it, eyes above the mouth.
        let face = &faces[0].1;
        // The truth box is the face brow to chin (the reference MTCNN box on the source
        // photograph, drawn into the head), so our MTCNN's box must lie on it: IoU over 0.6.
        let iou = |a: [f64; 4], b: [f64; 4]| {
            let inter = coverage(a, b) * (b[2] - b[0]) * (b[3] - b[1]);
            inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
        };
        let hits: Vec<&Detected> = found[0].iter().filter(|d| iou(corners(&d.bbox), *face) > 0.6).collect();
        assert_eq!(hits.len(), 1, "{:?} vs truth {face:?}", found[0]);
        let f = hits[0];
        assert!(f.score > 0.9 && f.text.is_none(), "{f:?}");
        let lm = f.landmarks_px.expect("faces keep their landmarks");
        for p in lm {
            assert!(
                p[0] > face[0] && p[0] < face[2] && p[1] > face[1] && p[1] < face[3],
                "{lm:?} {face:?}"
            );
        }
        let (left_eye, right_eye, mouth_y) = (lm[0], lm[1], (lm[3][1] + lm[4][1]) / 2.0);
        assert!(
            left_eye[0] < right_eye[0] && left_eye[1].max(right_eye[1]) < mouth_y,
            "{lm:?}"
        );
        assert_eq!(
            found[0]
                .iter()
                .filter(|d| coverage(corners(&d.bbox), *face) == 0.0)
                .count(),
            0,
            "no face elsewhere: {:?}",
            found[0]
        );

        // The plate: read exactly, its box on the drawn plate, sure enough to start a track.
        assert_eq!(found[1].len(), 1, "{:?}", found[1]);
        let p = &found[1][0];
        let (text, conf) = p.text.clone().expect("read as a plate");
        assert_eq!(text, normalize(CLOSE_UP_PLATE));
        assert_eq!(plates[0].0, text, "the renderer's truth label");
        assert!(conf > 0.5 && p.score >= config.track.new_track_score, "{p:?}");
        assert!(
            coverage(corners(&p.bbox), plates[0].1) > 0.4,
            "{p:?} vs {:?}",
            plates[0]
        );
        assert!(p.landmarks_px.is_none());

        // Cadence: the plate reader looks at frames 0, 3, 6...; the face detector at every one.
        assert!(detectors[1].detect(&frame, 1).unwrap().is_none());
        assert!(detectors[1].detect(&frame, 2).unwrap().is_none());
        assert!(detectors[0].detect(&frame, 1).unwrap().is_some());
        let ids = detectors.iter().map(|d| d.model_ids()).collect::<Vec<_>>();
        assert_eq!(ids[0].face_detector, MTCNN_PNET.id_u32());
        assert_eq!(
            (ids[1].plate_detector, ids[1].plate_reader),
            (PPOCR_DET.id_u32(), PPOCR_REC.id_u32())
        );
    }

    #[test]
    fn config_switches_and_settings_reach_the_detectors() {
        let cache = ModelCache::locate().unwrap();
        let mut config = Config::default();
        config.detect.faces = false;
        config.detect.plates = false;
        assert!(detectors_from_config(&config).unwrap().is_empty());
        config.detect.plates = true;
        config.detect.plate_every_n_frames = 2;
        let mut only_plates = detectors_with_cache(&config, &cache).unwrap();
        assert_eq!(only_plates.len(), 1);
        assert_eq!(only_plates[0].class(), ObjectClass::Plate);
        let blank = RgbFrame::filled(640, 360, [90, 90, 90], 0);
        let looked: Vec<bool> = (0..5)
            .map(|i| only_plates[0].detect(&blank, i).unwrap().is_some())
            .collect();
        assert_eq!(looked, [true, false, true, false, true]);

        config.detect.plate_scan_scale = 0.25;
        config.detect.plate_countries = vec!["se".into()];
        let pc = plate_config(&config).unwrap();
        assert_eq!((pc.every_n_frames, pc.scan_scale), (2, 0.25));
        assert_eq!(pc.grammar, PlateGrammar::sweden());
        config.detect.plate_countries = vec!["XX".into()];
        let e = detectors_with_cache(&config, &cache).err().unwrap();
        assert!(e.to_string().contains("detect.plate_countries"), "{e}");

        config.detect.plates = false;
        config.detect.faces = true;
        config.detect.min_face_px = 60;
        assert_eq!(face_config(&config).min_face_px, 60.0);
        let faces_only = detectors_with_cache(&config, &cache).unwrap();
        assert_eq!(faces_only.len(), 1);
        assert_eq!(faces_only[0].class(), ObjectClass::Face);
    }

    #[test]
    fn a_missing_model_names_the_detector_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let empty = ModelCache::at(dir.path());
        let mut config = Config::default();
        let e = detectors_with_cache(&config, &empty).err().unwrap().to_string();
        assert!(e.contains("face detector") && e.contains("pnet.onnx"), "{e}");
        config.detect.faces = false;
        let e = detectors_with_cache(&config, &empty).err().unwrap().to_string();
        assert!(e.contains("plate reader") && e.contains("ppocr"), "{e}");
    }

    #[test]
    fn a_read_plate_is_surer_than_its_text_score_alone() {
        use crate::detect::plates::text_det::TextBox;
        let text_box = TextBox {
            center_px: [100.0, 50.0],
            width_px: 80.0,
            height_px: 20.0,
            angle_rad: 0.0,
            score: 0.7,
        };
        let mut d = PlateDetection {
            text_box,
            bbox_px: text_box.aabb(),
            score: 0.7,
            read: None,
            raw_text: "ABC".into(),
        };
        let unread = plate_detected(&d);
        assert!((unread.score - 0.7).abs() < 1e-6 && unread.text.is_none());
        assert_eq!(corners(&unread.bbox), [60.0, 40.0, 140.0, 60.0]);
        let read = PlateGrammar::sweden()
            .best_read(
                &"ABC 123"
                    .chars()
                    .map(|c| match c {
                        ' ' => utkik_shared::plate::ReadChar::Gap,
                        c => utkik_shared::plate::ReadChar::Char(vec![(c, 0.8)]),
                    })
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        d.read = Some(read);
        let r = plate_detected(&d);
        assert!((r.score - (1.0 - 0.3 * 0.2)).abs() < 1e-6, "{r:?}");
        let (text, conf) = r.text.unwrap();
        assert_eq!(text, "ABC123");
        assert!((conf - 0.8).abs() < 1e-6);
    }
}
