//! PP-OCRv5 mobile text detection (DBNet) with tract, as PaddleOCR runs it: the image in BGR
//! order, `(x / 255 - mean) / std` with ImageNet mean and std applied to B, G, R in that order
//! (PaddleOCR reads images with OpenCV, so its `mean[0]` meets the blue channel), NCHW, sides
//! multiples of 32; the output is a text probability map of the input's size. Post-processing as
//! PaddleOCR's `DBPostProcess` (threshold 0.3, box score >= 0.6 in "fast" mode, unclip ratio
//! 1.5, minimum side 3), with two simplifications: 8-connected components instead of contours,
//! and each component's box is its principal-axis rectangle (a rotated rectangle like OpenCV's
//! `minAreaRect` for the bar-shaped blobs text gives), unclipped by growing each side by
//! `area * ratio / perimeter` as pyclipper's offset does for a rectangle.
//!
//! The detector never sees a whole frame: it runs on a [`Region`] (an axis-aligned window at a
//! scale) of a fixed input shape, one optimized tract plan per shape, cached (on ONNX Runtime,
//! `detect.runtime`, one session serves every shape).

use std::collections::HashMap;

use utkik_models::{ModelCache, PPOCR_DET};

use super::PlateError;
use crate::detect::resample::{Affine, warp};
use crate::detect::runtime::{Model, Plan, Runtime};
use crate::frame::RgbFrame;

/// A text line: a rotated rectangle in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextBox {
    /// Centre, `[x, y]` pixels.
    pub center_px: [f32; 2],
    /// Length along the reading direction, pixels.
    pub width_px: f32,
    /// Height across it, pixels.
    pub height_px: f32,
    /// Reading direction, radians from the image x axis towards y (down), in (-pi/2, pi/2].
    pub angle_rad: f32,
    /// Mean text probability inside the box before unclipping, 0..1.
    pub score: f32,
}

impl TextBox {
    /// Unit vectors along the text and across it (down the letters).
    pub fn axes(&self) -> ([f32; 2], [f32; 2]) {
        let (s, c) = self.angle_rad.sin_cos();
        ([c, s], [-s, c])
    }

    /// Corners: top-left, top-right, bottom-right, bottom-left in reading order.
    pub fn corners(&self) -> [[f32; 2]; 4] {
        let (a, n) = self.axes();
        let (hw, hh) = (self.width_px / 2.0, self.height_px / 2.0);
        let p = |sa: f32, sn: f32| {
            [
                self.center_px[0] + sa * hw * a[0] + sn * hh * n[0],
                self.center_px[1] + sa * hw * a[1] + sn * hh * n[1],
            ]
        };
        [p(-1.0, -1.0), p(1.0, -1.0), p(1.0, 1.0), p(-1.0, 1.0)]
    }

    /// Axis-aligned bounds `[x0, y0, x1, y1]`.
    pub fn aabb(&self) -> [f32; 4] {
        let c = self.corners();
        let xs = c.map(|p| p[0]);
        let ys = c.map(|p| p[1]);
        let min = |v: [f32; 4]| v.into_iter().fold(f32::INFINITY, f32::min);
        let max = |v: [f32; 4]| v.into_iter().fold(f32::NEG_INFINITY, f32::max);
        [min(xs), min(ys), max(xs), max(ys)]
    }

    /// This box seen through `region` (map pixels) in frame pixels.
    fn to_frame(self, region: &Region) -> Self {
        Self {
            center_px: [
                region.origin_px[0] + self.center_px[0] / region.scale,
                region.origin_px[1] + self.center_px[1] / region.scale,
            ],
            width_px: self.width_px / region.scale,
            height_px: self.height_px / region.scale,
            ..self
        }
    }
}

/// Intersection over union of two `[x0, y0, x1, y1]` boxes.
pub fn iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area = |r: [f32; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    let union = area(a) + area(b) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// DB post-processing settings (PaddleOCR's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbParams {
    /// Probability above which a map pixel is text.
    pub threshold: f32,
    /// Lowest mean probability of a kept box.
    pub box_threshold: f32,
    /// Unclip ratio: how far the shrunk text kernel is grown back.
    pub unclip_ratio: f32,
    /// Boxes with a side under this (map pixels) are dropped.
    pub min_side_px: f32,
}

impl Default for DbParams {
    fn default() -> Self {
        Self {
            threshold: 0.3,
            box_threshold: 0.6,
            unclip_ratio: 1.5,
            min_side_px: 3.0,
        }
    }
}

/// Text boxes in a `w x h` probability map (map pixels), best score first.
///
/// # Panics
/// When `prob` is not `w * h` long.
pub fn boxes_from_map(prob: &[f32], w: usize, h: usize, params: &DbParams) -> Vec<TextBox> {
    assert_eq!(prob.len(), w * h, "map is not {w} x {h}");
    let mut label = vec![0u32; w * h];
    let mut boxes = Vec::new();
    let mut stack = Vec::new();
    let mut pixels: Vec<(usize, usize)> = Vec::new();
    let mut next = 0u32;
    for start in 0..w * h {
        if label[start] != 0 || prob[start] <= params.threshold {
            continue;
        }
        next += 1;
        label[start] = next;
        stack.push(start);
        pixels.clear();
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            pixels.push((x, y));
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if label[j] == 0 && prob[j] > params.threshold {
                        label[j] = next;
                        stack.push(j);
                    }
                }
            }
        }
        if let Some(b) = component_box(&pixels, prob, w, h, params) {
            boxes.push(b);
        }
    }
    boxes.sort_by(|a, b| b.score.total_cmp(&a.score));
    boxes
}

/// The unclipped rotated rectangle of one component, if it passes the size and score checks.
fn component_box(pixels: &[(usize, usize)], prob: &[f32], w: usize, h: usize, params: &DbParams) -> Option<TextBox> {
    let n = pixels.len() as f32;
    if pixels.len() < 2 {
        return None;
    }
    let (mut mx, mut my) = (0f32, 0f32);
    for &(x, y) in pixels {
        mx += x as f32 + 0.5;
        my += y as f32 + 0.5;
    }
    mx /= n;
    my /= n;
    let (mut sxx, mut syy, mut sxy) = (0f32, 0f32, 0f32);
    for &(x, y) in pixels {
        let (dx, dy) = (x as f32 + 0.5 - mx, y as f32 + 0.5 - my);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    let mut angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    if angle <= -std::f32::consts::FRAC_PI_2 {
        angle += std::f32::consts::PI;
    }
    let (s, c) = angle.sin_cos();
    let (mut amin, mut amax, mut bmin, mut bmax) = (f32::INFINITY, f32::NEG_INFINITY, f32::INFINITY, f32::NEG_INFINITY);
    for &(x, y) in pixels {
        let (dx, dy) = (x as f32 + 0.5 - mx, y as f32 + 0.5 - my);
        let a = dx * c + dy * s;
        let b = -dx * s + dy * c;
        amin = amin.min(a);
        amax = amax.max(a);
        bmin = bmin.min(b);
        bmax = bmax.max(b);
    }
    // Pixel centres span max - min; the blob's edge lies beyond the outermost centres by half
    // the spacing of the centres' distances to that edge: 1/2 px on each side when the edge runs
    // along a pixel row or column, shrinking towards 0 when it crosses many rows (a tilted edge
    // of length L at angle phi to the grid passes centres at every offset within L sin(phi)).
    let (span_a, span_b) = (amax - amin, bmax - bmin);
    let phi = {
        let r = angle.rem_euclid(std::f32::consts::FRAC_PI_2);
        r.min(std::f32::consts::FRAC_PI_2 - r)
    };
    let bw = span_a + 1.0 / (1.0 + span_b * phi.sin());
    let bh = span_b + 1.0 / (1.0 + span_a * phi.sin());
    if bw.min(bh) < params.min_side_px {
        return None;
    }
    let (ca, cb) = ((amin + amax) / 2.0, (bmin + bmax) / 2.0);
    let center = [mx + ca * c - cb * s, my + ca * s + cb * c];
    let kernel = TextBox {
        center_px: center,
        width_px: bw,
        height_px: bh,
        angle_rad: angle,
        score: 0.0,
    };
    // Mean probability inside the kernel rectangle ("fast" box score).
    let [x0, y0, x1, y1] = kernel.aabb();
    let (x0, y0) = (x0.floor().max(0.0) as usize, y0.floor().max(0.0) as usize);
    let (x1, y1) = ((x1.ceil() as usize).min(w), (y1.ceil() as usize).min(h));
    // f64: a long line's f32 sum drifts visibly from its mean.
    let (mut sum, mut count) = (0f64, 0usize);
    for y in y0..y1 {
        for x in x0..x1 {
            let (dx, dy) = (x as f32 + 0.5 - center[0], y as f32 + 0.5 - center[1]);
            let a = dx * c + dy * s;
            let b = -dx * s + dy * c;
            if a.abs() <= bw / 2.0 && b.abs() <= bh / 2.0 {
                sum += f64::from(prob[y * w + x]);
                count += 1;
            }
        }
    }
    let score = if count > 0 { (sum / count as f64) as f32 } else { 0.0 };
    if score < params.box_threshold {
        return None;
    }
    let d = bw * bh * params.unclip_ratio / (2.0 * (bw + bh));
    let (uw, uh) = (bw + 2.0 * d, bh + 2.0 * d);
    if uw.min(uh) < params.min_side_px + 2.0 {
        return None;
    }
    // Text reads along the long side.
    let (width_px, height_px, angle_rad) = if uw >= uh {
        (uw, uh, angle)
    } else {
        let a = if angle > 0.0 {
            angle - std::f32::consts::FRAC_PI_2
        } else {
            angle + std::f32::consts::FRAC_PI_2
        };
        (uh, uw, a)
    };
    Some(TextBox {
        center_px: center,
        width_px,
        height_px,
        angle_rad,
        score,
    })
}

/// An axis-aligned window of the frame fed to the detector at a fixed input shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    /// Frame point of the input's top-left corner.
    pub origin_px: [f32; 2],
    /// Input pixels per frame pixel.
    pub scale: f32,
    /// Input width, a multiple of 32.
    pub width: usize,
    /// Input height, a multiple of 32.
    pub height: usize,
}

impl Region {
    /// The frame area it covers, `[x0, y0, x1, y1]`.
    pub fn frame_rect(&self) -> [f32; 4] {
        [
            self.origin_px[0],
            self.origin_px[1],
            self.origin_px[0] + self.width as f32 / self.scale,
            self.origin_px[1] + self.height as f32 / self.scale,
        ]
    }
}

const MEAN_BGR: [f32; 3] = [0.485, 0.456, 0.406];
const STD_BGR: [f32; 3] = [0.229, 0.224, 0.225];

/// RGB HWC bytes -> `[1, 3, h, w]` BGR, normalized as PaddleOCR's detector expects.
fn input_data(rgb: &[u8], w: usize, h: usize) -> Vec<f32> {
    let plane = w * h;
    let mut v = vec![0f32; 3 * plane];
    for i in 0..plane {
        for (k, src) in [2usize, 1, 0].into_iter().enumerate() {
            v[k * plane + i] = (f32::from(rgb[i * 3 + src]) / 255.0 - MEAN_BGR[k]) / STD_BGR[k];
        }
    }
    v
}

/// The DBNet text detector.
pub struct TextDetector {
    model: Model,
    plans: HashMap<(usize, usize), Plan>,
    params: DbParams,
}

impl TextDetector {
    /// Loads and verifies `ppocrv5_det.onnx` from `cache` (on tract).
    pub fn new(cache: &ModelCache, params: DbParams) -> Result<Self, PlateError> {
        Self::on_runtime(cache, params, &Runtime::Tract)
    }

    /// Loads and verifies `ppocrv5_det.onnx` from `cache` on `runtime`.
    pub fn on_runtime(cache: &ModelCache, params: DbParams, runtime: &Runtime) -> Result<Self, PlateError> {
        let bytes = cache.load_verified(&PPOCR_DET)?;
        let model = Model::load(runtime, PPOCR_DET.name, &bytes)?;
        Ok(Self {
            model,
            plans: HashMap::new(),
            params,
        })
    }

    /// Builds (once) the optimized plan of a `width x height` input.
    pub fn prepare(&mut self, width: usize, height: usize) -> Result<Plan, PlateError> {
        if !width.is_multiple_of(32) || !height.is_multiple_of(32) || width == 0 || height == 0 {
            return Err(PlateError::Shape {
                model: PPOCR_DET.name,
                message: format!("input {width}x{height} must be non-empty multiples of 32"),
            });
        }
        if let Some(p) = self.plans.get(&(width, height)) {
            return Ok(p.clone());
        }
        let plan = self.model.plan(&[1, 3, height, width])?;
        self.plans.insert((width, height), plan.clone());
        Ok(plan)
    }

    /// The text probability map of `region` of `frame` (`region.width x region.height`).
    pub fn probability_map(&mut self, frame: &RgbFrame, region: &Region) -> Result<Vec<f32>, PlateError> {
        let plan = self.prepare(region.width, region.height)?;
        let map = Affine::axis_aligned(region.origin_px[0], region.origin_px[1], region.scale);
        let rgb = warp(frame, &map, region.width, region.height);
        let input = input_data(&rgb, region.width, region.height);
        let (shape, map) = plan.run(&[1, 3, region.height, region.width], input, |out| {
            (out[0].shape.to_vec(), out[0].data.to_vec())
        })?;
        if map.len() != region.width * region.height {
            return Err(PlateError::Shape {
                model: PPOCR_DET.name,
                message: format!("output {shape:?} for input {}x{}", region.width, region.height),
            });
        }
        Ok(map)
    }

    /// Text boxes in `region` of `frame`, in frame pixels, best score first.
    pub fn detect(&mut self, frame: &RgbFrame, region: &Region) -> Result<Vec<TextBox>, PlateError> {
        let prob = self.probability_map(frame, region)?;
        Ok(boxes_from_map(&prob, region.width, region.height, &self.params)
            .into_iter()
            .map(|b| b.to_frame(region))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_with(w: usize, h: usize, rects: &[([usize; 4], f32)]) -> Vec<f32> {
        let mut m = vec![0.05f32; w * h];
        for &([x0, y0, x1, y1], p) in rects {
            for y in y0..y1 {
                for x in x0..x1 {
                    m[y * w + x] = p;
                }
            }
        }
        m
    }

    #[test]
    fn a_bar_becomes_one_unclipped_box() {
        // A 40 x 8 kernel at (10, 20): unclip distance = 320 * 1.5 / 96 = 5.
        let m = map_with(64, 48, &[([10, 20, 50, 28], 0.9)]);
        let b = boxes_from_map(&m, 64, 48, &DbParams::default());
        assert_eq!(b.len(), 1, "{b:?}");
        let b = b[0];
        assert!(
            (b.center_px[0] - 30.0).abs() < 1e-3 && (b.center_px[1] - 24.0).abs() < 1e-3,
            "{b:?}"
        );
        assert!(
            (b.width_px - 50.0).abs() < 1e-3 && (b.height_px - 18.0).abs() < 1e-3,
            "{b:?}"
        );
        assert!(b.angle_rad.abs() < 1e-6);
        assert!((b.score - 0.9).abs() < 1e-6);
        let [x0, y0, x1, y1] = b.aabb();
        assert!(
            (x0 - 5.0).abs() < 1e-3 && (y0 - 15.0).abs() < 1e-3 && (x1 - 55.0).abs() < 1e-3 && (y1 - 33.0).abs() < 1e-3
        );
    }

    #[test]
    fn weak_small_and_separate_blobs() {
        let m = map_with(
            64,
            48,
            &[
                ([2, 2, 20, 8], 0.5),   // above threshold, but mean score under 0.6: dropped
                ([30, 2, 32, 40], 0.9), // 2 px wide: dropped
                ([40, 30, 60, 36], 0.8),
                ([5, 30, 25, 36], 0.95),
            ],
        );
        let b = boxes_from_map(&m, 64, 48, &DbParams::default());
        assert_eq!(b.len(), 2, "{b:?}");
        assert!(b[0].score > b[1].score, "best first");
        assert!((b[0].center_px[0] - 15.0).abs() < 1e-3);
    }

    #[test]
    fn a_tilted_bar_keeps_its_angle_and_length() {
        // A 1-px-thick line drawn thick: 45 x 6 at 20 degrees.
        let (w, h) = (96, 64);
        let mut m = vec![0f32; w * h];
        let ang = 20f32.to_radians();
        let (s, c) = ang.sin_cos();
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f32 + 0.5 - 48.0, y as f32 + 0.5 - 32.0);
                if (dx * c + dy * s).abs() < 22.5 && (-dx * s + dy * c).abs() < 3.0 {
                    m[y * w + x] = 0.9;
                }
            }
        }
        let b = boxes_from_map(&m, w, h, &DbParams::default());
        assert_eq!(b.len(), 1);
        assert!((b[0].angle_rad - ang).abs() < 0.03, "{:?}", b[0]);
        let d = 45.0 * 6.0 * 1.5 / (2.0 * 51.0);
        assert!((b[0].width_px - (45.0 + 2.0 * d)).abs() < 2.0, "{:?}", b[0]);
        assert!((b[0].height_px - (6.0 + 2.0 * d)).abs() < 2.0, "{:?}", b[0]);
        // The kernel rectangle hugs the bar: hardly any background inside it.
        assert!(b[0].score > 0.85, "{:?}", b[0]);
    }

    #[test]
    fn region_maps_boxes_back_to_the_frame() {
        let r = Region {
            origin_px: [100.0, 50.0],
            scale: 0.5,
            width: 64,
            height: 32,
        };
        assert_eq!(r.frame_rect(), [100.0, 50.0, 228.0, 114.0]);
        let b = TextBox {
            center_px: [10.0, 8.0],
            width_px: 20.0,
            height_px: 6.0,
            angle_rad: 0.0,
            score: 0.9,
        }
        .to_frame(&r);
        assert_eq!((b.center_px, b.width_px, b.height_px), ([120.0, 66.0], 40.0, 12.0));
        assert!((iou([0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 3.0, 2.0]) - 1.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn shapes_must_be_multiples_of_32() {
        let cache = ModelCache::locate().unwrap();
        let mut det = TextDetector::new(&cache, DbParams::default()).unwrap();
        let e = det.prepare(100, 64).err().unwrap();
        assert!(e.to_string().contains("100x64"), "{e}");
    }
}
