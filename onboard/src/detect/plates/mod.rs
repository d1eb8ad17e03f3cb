//! Number plates: PP-OCRv5 mobile text detection ([`text_det`]) and recognition
//! ([`text_rec`], decoded by [`ctc`] over the plate alphabet only), every line read checked
//! against the plate grammar ([`utkik_shared::plate`]), at a cadence that fits the frame budget.
//!
//! Text detection over a whole 1280x736 frame costs about 470 ms, so it never runs on one.
//! On every `every_n_frames`-th frame the detector
//! 1. **follows** each plate it already knows: a small window around where the plate should be
//!    now (last box moved by its velocity), `follow_shape` pixels (256x128 by default, ~15 ms),
//!    then a read of the box found there;
//! 2. **scans** one horizontal strip of the frame at `scan_scale` (half resolution by default:
//!    a 1280x720 frame becomes three overlapping 640x160 strips), so the whole frame is searched
//!    for new plates every three plate frames at a third of the cost of one full-frame pass,
//!    and reads the best `max_new_reads` new text lines of plate shape it finds there.
//!
//! A new text line becomes a followed plate only when its read matches the grammar; a followed
//! plate is dropped after `max_misses` plate frames without its box. On other frames
//! [`PlateDetector::detect`] returns `None` (not looked), and the pipeline's tracks carry the
//! plates and vote their reads. Reads always use the full-resolution frame.

pub mod ctc;
pub mod text_det;
pub mod text_rec;

use std::path::PathBuf;
use std::time::Instant;

use utkik_models::ModelCache;
use utkik_shared::plate::{PlateGrammar, PlateRead};

use text_det::{DbParams, Region, TextBox, TextDetector, iou};
use text_rec::TextRecognizer;

use crate::detect::runtime::Runtime;
use crate::frame::RgbFrame;

/// Why the plate reader could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum PlateError {
    /// Model missing or corrupted (the message names file, expected checksum and fetch command).
    #[error(transparent)]
    Model(#[from] utkik_models::ModelError),
    /// The runtime could not be loaded, or refused a model or an input.
    #[error(transparent)]
    Runtime(#[from] crate::detect::runtime::RuntimeError),
    /// An input or output of an unexpected shape.
    #[error("model {model}: {message}")]
    Shape {
        /// Model name.
        model: &'static str,
        /// What was wrong.
        message: String,
    },
    /// The recognizer's dictionary does not fit the plate alphabet.
    #[error("dictionary {path}: {message}")]
    Dictionary {
        /// The dictionary file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// A setting out of range.
    #[error("plate reader setting {field}: {message}")]
    Config {
        /// The [`PlateConfig`] field.
        field: &'static str,
        /// What was wrong.
        message: String,
    },
}

/// Plate reader settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateConfig {
    /// Run on frames whose index is a multiple of this.
    pub every_n_frames: u32,
    /// Scale of the discovery scan (input pixels per frame pixel).
    pub scan_scale: f32,
    /// Height of one scan strip, input pixels (multiple of 32).
    pub scan_strip_height: usize,
    /// Least overlap of neighbouring strips, input pixels: a text line up to this high is whole
    /// in one strip.
    pub scan_overlap: usize,
    /// Input shape of the follow-up window, `(width, height)`, multiples of 32.
    pub follow_shape: (usize, usize),
    /// Most plates followed at once.
    pub max_plates: usize,
    /// Most new text lines read per scan.
    pub max_new_reads: usize,
    /// Text lines lower than this (frame pixels) are not read.
    pub min_text_height_px: f32,
    /// Width / height range of a plate's text line.
    pub aspect_range: (f32, f32),
    /// Reads whose weakest character is less probable than this are not plates.
    pub min_char_confidence: f32,
    /// Plate frames a followed plate may go unseen before it is dropped.
    pub max_misses: u32,
    /// What is a plate.
    pub grammar: PlateGrammar,
    /// Text detection post-processing.
    pub db: DbParams,
    /// The runtime both nets run on (`detect.runtime`).
    pub runtime: Runtime,
}

impl Default for PlateConfig {
    fn default() -> Self {
        Self {
            every_n_frames: 3,
            scan_scale: 0.5,
            scan_strip_height: 160,
            scan_overlap: 48,
            follow_shape: (256, 128),
            max_plates: 4,
            max_new_reads: 3,
            min_text_height_px: 8.0,
            aspect_range: (1.5, 12.0),
            min_char_confidence: 0.3,
            max_misses: 2,
            grammar: PlateGrammar::sweden(),
            db: DbParams::default(),
            runtime: Runtime::Tract,
        }
    }
}

impl PlateConfig {
    fn check(&self) -> Result<(), PlateError> {
        let bad = |field: &'static str, message: String| Err(PlateError::Config { field, message });
        let m32 = |v: usize| v > 0 && v.is_multiple_of(32);
        if self.every_n_frames == 0 {
            return bad("every_n_frames", "must be at least 1".into());
        }
        if !(self.scan_scale > 0.0 && self.scan_scale <= 2.0) {
            return bad("scan_scale", format!("must be in (0, 2], got {}", self.scan_scale));
        }
        if !m32(self.scan_strip_height) || self.scan_overlap >= self.scan_strip_height {
            return bad(
                "scan_strip_height",
                format!(
                    "must be a multiple of 32 above scan_overlap ({}), got {}",
                    self.scan_overlap, self.scan_strip_height
                ),
            );
        }
        if !m32(self.follow_shape.0) || !m32(self.follow_shape.1) {
            return bad(
                "follow_shape",
                format!("must be multiples of 32, got {:?}", self.follow_shape),
            );
        }
        Ok(())
    }
}

/// One plate seen in a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateDetection {
    /// The text line, rotated rectangle in frame pixels.
    pub text_box: TextBox,
    /// Its axis-aligned bounds `[x0, y0, x1, y1]`.
    pub bbox_px: [f32; 4],
    /// Text detection score, 0..1.
    pub score: f32,
    /// The grammar's read of it, when the line read as a plate this time.
    pub read: Option<PlateRead>,
    /// What the recognizer read (alphabet only), for logs.
    pub raw_text: String,
}

/// Time spent in the last call, for the benchmark and the logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlateTimings {
    /// Text detection runs.
    pub det_runs: u32,
    /// Time in text detection (resampling, network, boxes), microseconds.
    pub det_usec: u64,
    /// Recognizer runs.
    pub rec_runs: u32,
    /// Time in recognition (crop, network, decode, grammar), microseconds.
    pub rec_usec: u64,
    /// Scan lines that did not read as a plate and were looked at again in a finer window
    /// (each one text detection run more, counted in `det_runs`).
    pub refines: u32,
}

/// A plate being followed.
#[derive(Debug, Clone)]
struct Followed {
    text_box: TextBox,
    velocity_px_per_frame: [f32; 2],
    last_index: u64,
    misses: u32,
}

impl Followed {
    fn predicted(&self, index: u64) -> TextBox {
        let dt = index.saturating_sub(self.last_index) as f32;
        let mut b = self.text_box;
        b.center_px[0] += self.velocity_px_per_frame[0] * dt;
        b.center_px[1] += self.velocity_px_per_frame[1] * dt;
        b
    }
}

/// The plate reader: text detection, recognition, grammar and the follow/scan cadence.
pub struct PlateDetector {
    config: PlateConfig,
    det: TextDetector,
    rec: TextRecognizer,
    followed: Vec<Followed>,
    next_strip: usize,
    timings: PlateTimings,
}

impl PlateDetector {
    /// Loads and verifies the detection and recognition models and the dictionary.
    pub fn new(cache: &ModelCache, config: PlateConfig) -> Result<Self, PlateError> {
        config.check()?;
        let det = TextDetector::on_runtime(cache, config.db, &config.runtime)?;
        let rec = TextRecognizer::on_runtime(cache, &config.grammar.alphabet(), &config.runtime)?;
        Ok(Self {
            config,
            det,
            rec,
            followed: Vec::new(),
            next_strip: 0,
            timings: PlateTimings::default(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &PlateConfig {
        &self.config
    }

    /// Time spent in the last [`detect`](Self::detect) or [`read_still`](Self::read_still).
    pub fn last_timings(&self) -> PlateTimings {
        self.timings
    }

    /// Plates followed right now.
    pub fn followed(&self) -> usize {
        self.followed.len()
    }

    /// The discovery strips of a `width x height` frame, top to bottom.
    pub fn scan_strips(&self, width: u32, height: u32) -> Vec<Region> {
        let s = self.config.scan_scale;
        let sw = (width as f32 * s).ceil() as usize;
        let sh = (height as f32 * s).ceil() as usize;
        let input_w = sw.div_ceil(32) * 32;
        let strip_h = self.config.scan_strip_height;
        if sh <= strip_h {
            return vec![Region {
                origin_px: [0.0, 0.0],
                scale: s,
                width: input_w,
                height: sh.div_ceil(32) * 32,
            }];
        }
        let ov = self.config.scan_overlap;
        let n = (sh - ov).div_ceil(strip_h - ov);
        (0..n)
            .map(|k| {
                let y = (k * (sh - strip_h)) as f32 / (n - 1) as f32;
                Region {
                    origin_px: [0.0, (y / s).floor()],
                    scale: s,
                    width: input_w,
                    height: strip_h,
                }
            })
            .collect()
    }

    /// Runs the cadence on frame `index`: `None` on frames it skips, else every plate found.
    pub fn detect(&mut self, frame: &RgbFrame, index: u64) -> Result<Option<Vec<PlateDetection>>, PlateError> {
        if !index.is_multiple_of(u64::from(self.config.every_n_frames)) {
            return Ok(None);
        }
        self.timings = PlateTimings::default();
        let mut found: Vec<PlateDetection> = Vec::new();
        let mut kept: Vec<Followed> = Vec::new();

        // 1. Follow the known plates.
        for mut f in std::mem::take(&mut self.followed) {
            let predicted = f.predicted(index);
            match self.look_near(frame, &predicted)? {
                Some(b) => {
                    if found.iter().any(|d| iou(d.bbox_px, b.aabb()) > 0.5) {
                        continue; // two followers converged on one plate: keep the first
                    }
                    let dt = index.saturating_sub(f.last_index).max(1) as f32;
                    let v = [
                        (b.center_px[0] - f.text_box.center_px[0]) / dt,
                        (b.center_px[1] - f.text_box.center_px[1]) / dt,
                    ];
                    f.velocity_px_per_frame = [
                        0.5 * (f.velocity_px_per_frame[0] + v[0]),
                        0.5 * (f.velocity_px_per_frame[1] + v[1]),
                    ];
                    f.text_box = b;
                    f.last_index = index;
                    f.misses = 0;
                    found.push(self.read(frame, b)?);
                    kept.push(f);
                }
                None => {
                    f.misses += 1;
                    if f.misses <= self.config.max_misses {
                        kept.push(f);
                    }
                }
            }
        }

        // 2. Scan one strip for new plates.
        let strips = self.scan_strips(frame.width, frame.height);
        let region = strips[self.next_strip % strips.len()];
        self.next_strip = (self.next_strip + 1) % strips.len();
        let known: Vec<[f32; 4]> = found
            .iter()
            .map(|d| d.bbox_px)
            .chain(kept.iter().map(|f| f.predicted(index).aabb()))
            .collect();
        let candidates: Vec<TextBox> = self
            .detect_text(frame, &region)?
            .into_iter()
            .filter(|b| self.plausible(b) && !cut_by(&region, b, frame))
            .filter(|b| known.iter().all(|k| iou(*k, b.aabb()) < 0.2))
            .take(self.config.max_new_reads)
            .collect();
        for b in candidates {
            let d = self.read_refined(frame, b)?;
            if d.read.is_some() {
                if kept.len() < self.config.max_plates {
                    kept.push(Followed {
                        text_box: d.text_box,
                        velocity_px_per_frame: [0.0, 0.0],
                        last_index: index,
                        misses: 0,
                    });
                }
                found.push(d);
            }
        }
        self.followed = kept;
        Ok(Some(found))
    }

    /// Every plate in a single image: all strips scanned, every plate-shaped line read, no
    /// following (stills, tests, evaluation). Does not touch the followed plates.
    pub fn read_still(&mut self, frame: &RgbFrame) -> Result<Vec<PlateDetection>, PlateError> {
        self.timings = PlateTimings::default();
        let mut lines: Vec<TextBox> = Vec::new();
        for region in self.scan_strips(frame.width, frame.height) {
            for b in self.detect_text(frame, &region)? {
                if self.plausible(&b)
                    && !cut_by(&region, &b, frame)
                    && lines.iter().all(|l| iou(l.aabb(), b.aabb()) < 0.3)
                {
                    lines.push(b);
                }
            }
        }
        let mut out: Vec<PlateDetection> = Vec::new();
        for b in lines {
            let d = self.read_refined(frame, b)?;
            if d.read.is_some() && out.iter().all(|o| iou(o.bbox_px, d.bbox_px) < 0.3) {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// The plate-shaped text line nearest to where `expected` is, found by text detection in the
    /// follow window around it (at about full resolution or finer), if any.
    fn look_near(&mut self, frame: &RgbFrame, expected: &TextBox) -> Result<Option<TextBox>, PlateError> {
        let region = self.follow_region(expected, frame);
        let boxes = self.detect_text(frame, &region)?;
        let [px, py] = expected.center_px;
        Ok(boxes
            .into_iter()
            .filter(|b| self.plausible(b))
            .filter(|b| (0.5..=2.0).contains(&(b.height_px / expected.height_px)))
            .map(|b| {
                let d = ((b.center_px[0] - px).powi(2) + (b.center_px[1] - py).powi(2)).sqrt();
                (b, d)
            })
            .filter(|(_, d)| *d < expected.width_px.max(expected.height_px * 4.0) * 0.75)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(b, _)| b))
    }

    /// Reads a line found by the coarse scan; when that is no plate, looks again in the follow
    /// window around it and reads the box found there. At half resolution the detector's box of
    /// a small plate is coarse and often takes in the EU band, whose country letter then reads as
    /// part of the first group (`8ABC 12A`); the finer box excludes it.
    fn read_refined(&mut self, frame: &RgbFrame, b: TextBox) -> Result<PlateDetection, PlateError> {
        let first = self.read(frame, b)?;
        if first.read.is_some() {
            return Ok(first);
        }
        self.timings.refines += 1;
        match self.look_near(frame, &b)? {
            Some(fine) if iou(fine.aabb(), b.aabb()) < 0.98 => {
                let second = self.read(frame, fine)?;
                Ok(if second.read.is_some() { second } else { first })
            }
            _ => Ok(first),
        }
    }

    /// Text lines the shape of a plate's.
    fn plausible(&self, b: &TextBox) -> bool {
        let aspect = b.width_px / b.height_px.max(1e-3);
        b.height_px >= self.config.min_text_height_px
            && aspect >= self.config.aspect_range.0
            && aspect <= self.config.aspect_range.1
    }

    /// The follow-up window around a predicted box, at the fixed follow shape.
    fn follow_region(&self, b: &TextBox, frame: &RgbFrame) -> Region {
        let (fw, fh) = self.config.follow_shape;
        let [x0, y0, x1, y1] = b.aabb();
        let (bw, bh) = (x1 - x0, y1 - y0);
        // Wide enough for the plate, some motion and a line of context; at most 4x enlarged.
        let ww = (1.6 * bw).max(4.0 * bh).max(fw as f32 / 4.0);
        let scale = fw as f32 / ww;
        let (ww, wh) = (fw as f32 / scale, fh as f32 / scale);
        let cx = b.center_px[0];
        let cy = b.center_px[1];
        // Keep the window on the frame where it can be.
        let ox = (cx - ww / 2.0).min(frame.width as f32 - ww).max(0.0);
        let oy = (cy - wh / 2.0).min(frame.height as f32 - wh).max(0.0);
        Region {
            origin_px: [ox.floor(), oy.floor()],
            scale,
            width: fw,
            height: fh,
        }
    }

    fn detect_text(&mut self, frame: &RgbFrame, region: &Region) -> Result<Vec<TextBox>, PlateError> {
        let t = Instant::now();
        let boxes = self.det.detect(frame, region);
        self.timings.det_runs += 1;
        self.timings.det_usec += t.elapsed().as_micros() as u64;
        boxes
    }

    fn read(&mut self, frame: &RgbFrame, b: TextBox) -> Result<PlateDetection, PlateError> {
        let t = Instant::now();
        let decoded = self.rec.read(frame, &b)?;
        let read = self
            .config
            .grammar
            .best_read(&decoded.chars)
            .filter(|r| r.confidence >= self.config.min_char_confidence);
        self.timings.rec_runs += 1;
        self.timings.rec_usec += t.elapsed().as_micros() as u64;
        tracing::trace!(text = decoded.text, plate = ?read.as_ref().map(|r| &r.plate.display), "plate line read");
        Ok(PlateDetection {
            text_box: b,
            bbox_px: b.aabb(),
            score: b.score,
            read,
            raw_text: decoded.text,
        })
    }
}

/// True when `b` runs past an edge of `region` that is not a frame edge: the line is cut there
/// and a neighbouring strip holds it whole.
fn cut_by(region: &Region, b: &TextBox, frame: &RgbFrame) -> bool {
    let [rx0, ry0, rx1, ry1] = region.frame_rect();
    let [x0, y0, x1, y1] = b.aabb();
    (y0 < ry0 && ry0 > 0.0)
        || (y1 > ry1 && ry1 < frame.height as f32)
        || (x0 < rx0 && rx0 > 0.0)
        || (x1 > rx1 && rx1 < frame.width as f32)
}

#[cfg(test)]
mod tests;
