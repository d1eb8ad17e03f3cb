//! The benchmark's frames, shared with the tests that check the face search on them
//! (`onboard/tests/face_search_on_sim_frames.rs` includes this file): consecutive simulator
//! frames of the `urban-street` scenario with the camera pose each was rendered from and the
//! simulator's truth boxes.

use utkik_onboard::frame::RgbFrame;
use utkik_onboard::telemetry::FramePose;

use std::sync::Arc;

pub const W: u32 = 1280;
pub const H: u32 = 720;

/// Frames benchmarked: this many simulator frames.
pub const N_FRAMES: usize = 30;

/// Frames benchmarked: [`N_FRAMES`] consecutive simulator frames [`FRAME_STEP_USEC`] apart.
pub struct SimFrames {
    pub frames: Vec<RgbFrame>,
    /// The camera pose each frame was rendered from.
    pub poses: Vec<FramePose>,
    /// Truth face boxes >= [`MIN_TRUTH_PX`] tall, per frame.
    pub faces: Vec<Vec<[f64; 4]>>,
    /// The person of each truth face (same order as `faces`).
    pub people: Vec<Vec<u32>>,
    /// Texts of the truth plates >= [`MIN_TRUTH_PX`] tall, per frame.
    pub plate_labels: Vec<Vec<String>>,
    pub hfov_deg: f64,
}

/// 10 frames/s: about what the pipeline processes of a 30 frames/s camera.
pub const FRAME_STEP_USEC: u64 = 100_000;
/// Truth objects counted: at least this tall (MTCNN's 24 px minimum with some slack).
pub const MIN_TRUTH_PX: u32 = 20;

/// The simulator's `urban-street` scenario at 1280x720 (people with real faces, cars with
/// Swedish plates, rendered as the simulator streams them): scanned at 2 frames/s for the
/// three seconds with the most faces and plates of [`MIN_TRUTH_PX`] and more in view, then
/// those seconds rendered at 10 frames/s, capture times from `t0_usec`.
pub fn sim_frames(t0_usec: u64, n_frames: usize) -> SimFrames {
    use utkik_sim::render::{Assets, RenderOptions, TruthClass};
    use utkik_sim::scenario::{Scenario, scenarios_dir};
    use utkik_sim::simulation::Simulation;
    use utkik_sim::video::{FrameRenderer, FrameSource, VideoSettings};
    let scenario = Scenario::load(&scenarios_dir().join("urban-street.toml")).expect("urban-street scenario");
    let assets = Arc::new(Assets::load_default().expect("plate font and face imagery (scripts/fetch-models.sh)"));
    let settings = |fps| VideoSettings {
        size: utkik_sim::camera::VideoSize {
            width_px: W,
            height_px: H,
        },
        fps,
        render: RenderOptions::default(),
    };
    let big = |b: &&utkik_sim::render::TruthBox, class| {
        b.class == class && b.box_px[3].saturating_sub(b.box_px[1]) >= MIN_TRUTH_PX
    };
    let source = FrameSource::new(&scenario, assets.clone(), settings(2.0), t0_usec, None).expect("frame source");
    let counts: Vec<(u64, usize)> = source
        .map(|f| {
            let n = f
                .truth
                .iter()
                .filter(|b| big(b, TruthClass::Face) || big(b, TruthClass::Plate))
                .count();
            (f.sim_time_usec, n)
        })
        .collect();
    let best = (0..counts.len().saturating_sub(6))
        .max_by_key(|&i| {
            (
                counts[i..i + 6].iter().map(|c| c.1).sum::<usize>(),
                std::cmp::Reverse(i),
            )
        })
        .unwrap_or(0);
    let start_usec = counts[best].0;
    let renderer = FrameRenderer::new(&scenario, assets, settings(10.0)).expect("renderer");
    let mut sim = Simulation::new(scenario.clone(), t0_usec);
    let mut out = SimFrames {
        frames: Vec::new(),
        poses: Vec::new(),
        faces: Vec::new(),
        people: Vec::new(),
        plate_labels: Vec::new(),
        hfov_deg: scenario.camera.hfov_deg,
    };
    for k in 0..n_frames as u64 {
        let t = start_usec + k * FRAME_STEP_USEC;
        sim.step_to(t);
        let pose = utkik_sim::camera::camera_pose(sim.frame(), &sim.vehicle_at(t));
        let f = renderer.render(k, t, t0_usec, pose);
        out.faces.push(
            f.truth
                .iter()
                .filter(|b| big(b, TruthClass::Face))
                .map(|b| b.box_px.map(f64::from))
                .collect(),
        );
        out.people.push(
            f.truth
                .iter()
                .filter(|b| big(b, TruthClass::Face))
                .map(|b| b.entity_id)
                .collect(),
        );
        out.plate_labels.push(
            f.truth
                .iter()
                .filter(|b| big(b, TruthClass::Plate))
                .map(|b| b.label.clone())
                .collect(),
        );
        out.poses.push(FramePose {
            pose,
            ground_alt_m_amsl: scenario.origin.alt_m_amsl,
        });
        out.frames
            .push(RgbFrame::new(W, H, f.rgb, f.capture_unix_usec).unwrap());
    }
    out
}

pub fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let area = |r: [f64; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    iw * ih / (area(a) + area(b) - iw * ih)
}

/// Truth faces matched by a found box at IoU >= 0.5 (the simulator's evaluation threshold),
/// and found boxes matching no truth face (of any size: a smaller truth face is no false
/// positive).
pub fn score_faces(truth: &[[f64; 4]], found: &[[f64; 4]]) -> (usize, usize) {
    let hit = truth
        .iter()
        .filter(|t| found.iter().any(|f| iou(**t, *f) >= 0.5))
        .count();
    let extra = found
        .iter()
        .filter(|f| truth.iter().all(|t| iou(*t, **f) < 0.3))
        .count();
    (hit, extra)
}
