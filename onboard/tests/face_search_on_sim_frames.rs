//! The restricted face searches of issue 18 lose no face the full pyramid finds, on the
//! benchmark's own frames (consecutive 1280x720 `urban-street` simulator frames, each with the
//! camera pose it was rendered from, scored against the simulator's truth boxes):
//! - row bands (`detect.face_rows`: each pyramid level only on the rows where a 0.2 m face can
//!   have its size, from the pose) find every truth face the full pyramid finds, frame by frame;
//! - row bands with the sweep (`detect.face_full_every_n_frames = 3`: one vertical strip a frame
//!   plus windows around live tracks) find them too once the first sweep has covered the frame.
//!
//! The real detectors (tract, the MTCNN models of the model cache) through
//! `pipeline::Inference`, the path the onboard binary runs.

use std::sync::{Arc, Mutex};

use utkik_onboard::config::Config;
use utkik_onboard::pipeline::{Inference, ObjectClass, tract};
use utkik_onboard::telemetry::{PoseBuffer, PoseConfig};

#[allow(dead_code, reason = "shared with the benchmark, which uses every field and constant")]
#[path = "../benches/support/sim_frames.rs"]
mod sim_frames;
use sim_frames::{FRAME_STEP_USEC, SimFrames, iou, sim_frames};

/// Frames checked: enough for four sweeps of 3 strips.
const FRAMES: usize = 12;

/// For each frame, the indices of the truth faces found at IoU >= 0.5.
fn truth_faces_found(sim: &SimFrames, rows: bool, full_every: u32) -> Vec<Vec<usize>> {
    let mut config = Config::default();
    config.camera.hfov_deg = sim.hfov_deg;
    config.detect.faces = true;
    config.detect.plates = false;
    config.detect.threads = 1;
    config.detect.face_rows = rows;
    config.detect.face_full_every_n_frames = full_every;
    let detectors = tract::detectors_from_config(&config).expect("face detector (scripts/fetch-models.sh)");
    let poses = Arc::new(Mutex::new(PoseBuffer::new(PoseConfig {
        max_age_usec: 1_000_000,
        fixed_pitch_rad: None,
    })));
    let mut inference = Inference::new(&config, detectors, poses, Arc::default());
    sim.frames
        .iter()
        .zip(&sim.poses)
        .enumerate()
        .map(|(k, (frame, pose))| {
            let mut frame = frame.clone();
            frame.time_usec = sim.frames[0].time_usec + k as u64 * FRAME_STEP_USEC;
            let out = inference.process_at(&frame, k as u64, Some(pose));
            let found: Vec<[f64; 4]> = out
                .detections
                .iter()
                .filter(|d| d.class == ObjectClass::Face)
                .map(|d| {
                    [
                        d.detected.bbox.x0,
                        d.detected.bbox.y0,
                        d.detected.bbox.x1,
                        d.detected.bbox.y1,
                    ]
                })
                .collect();
            sim.faces[k]
                .iter()
                .enumerate()
                .filter(|(_, t)| found.iter().any(|f| iou(**t, *f) >= 0.5))
                .map(|(i, _)| i)
                .collect()
        })
        .collect()
}

#[test]
fn row_bands_and_the_sweep_find_every_face_the_full_pyramid_finds() {
    let sim = sim_frames(1_700_000_000_000_000, FRAMES);
    let truth: usize = sim.faces.iter().map(Vec::len).sum();
    assert!(
        truth >= FRAMES,
        "the frames hold {truth} truth faces: too few to check anything"
    );
    let full = truth_faces_found(&sim, false, 1);
    let found_full: usize = full.iter().map(Vec::len).sum();
    assert!(
        found_full * 10 >= truth * 8,
        "the full pyramid found {found_full} of {truth} truth faces: the frames or the detector changed"
    );
    let rows = truth_faces_found(&sim, true, 1);
    for (k, (f, r)) in full.iter().zip(&rows).enumerate() {
        let lost: Vec<_> = f.iter().filter(|i| !r.contains(i)).collect();
        assert!(
            lost.is_empty(),
            "frame {k}: row bands lost truth faces {lost:?} the full pyramid found"
        );
    }
    let sweep = truth_faces_found(&sim, true, 3);
    for (k, (f, s)) in full.iter().zip(&sweep).enumerate().skip(3) {
        let lost: Vec<_> = f.iter().filter(|i| !s.contains(i)).collect();
        assert!(
            lost.is_empty(),
            "frame {k}: the sweep lost truth faces {lost:?} the full pyramid found"
        );
    }
    let found = |v: &[Vec<usize>]| v.iter().map(Vec::len).sum::<usize>();
    println!(
        "truth faces {truth}: full pyramid {found_full}, row bands {}, row bands + sweep of 3 {}",
        found(&rows),
        found(&sweep)
    );
}
