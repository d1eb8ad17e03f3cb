//! Probe: the plate stage on consecutive anpr-road simulator frames, in process (no video, no
//! telemetry): how many frames have a plate >= 20 px in view and how many plate detections the
//! pipeline reports. `cargo run -p utkik-onboard --example anpr_probe -- [FPS] [SECONDS]`
use std::sync::{Arc, Mutex};

use utkik_onboard::config::Config;
use utkik_onboard::frame::RgbFrame;
use utkik_onboard::pipeline::{Inference, ObjectClass, tract};
use utkik_onboard::telemetry::{PoseBuffer, PoseConfig};
use utkik_sim::render::{Assets, RenderOptions, TruthClass};
use utkik_sim::scenario::{Scenario, scenarios_dir};
use utkik_sim::video::{FrameSource, VideoSettings};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let fps: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10.0);
    let secs: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(30.0);
    let scenario = Scenario::load(&scenarios_dir().join("anpr-road.toml")).unwrap();
    let assets = Arc::new(Assets::load_default().unwrap());
    let settings = VideoSettings {
        size: utkik_sim::camera::VideoSize {
            width_px: 1280,
            height_px: 720,
        },
        fps,
        render: RenderOptions::default(),
    };
    let mut config = Config::default();
    config.detect.faces = false;
    config.detect.plate_every_n_frames = 1;
    let detectors = tract::detectors_from_config(&config).unwrap();
    let poses = Arc::new(Mutex::new(PoseBuffer::new(PoseConfig {
        max_age_usec: 1,
        fixed_pitch_rad: None,
    })));
    let mut inf = Inference::new(&config, detectors, poses, Arc::default());
    let (mut with_plate, mut dets, mut msgs) = (0, 0, 0);
    for (i, f) in FrameSource::new(&scenario, assets, settings, 1_700_000_000_000_000, Some(secs))
        .unwrap()
        .enumerate()
    {
        let plates: Vec<_> = f
            .truth
            .iter()
            .filter(|b| b.class == TruthClass::Plate && b.box_px[3] - b.box_px[1] >= 20)
            .map(|b| (b.label.clone(), b.box_px))
            .collect();
        let frame = RgbFrame::new(1280, 720, f.rgb, f.capture_unix_usec).unwrap();
        let out = inf.process(&frame, i as u64);
        let found: Vec<_> = out
            .detections
            .iter()
            .filter(|d| d.class == ObjectClass::Plate)
            .map(|d| (d.detected.text.clone(), d.detected.bbox))
            .collect();
        with_plate += usize::from(!plates.is_empty());
        dets += found.len();
        msgs += out.messages.len();
        if !plates.is_empty() || !found.is_empty() {
            println!(
                "frame {i}: truth {plates:?} found {found:?} msgs {}",
                out.messages.len()
            );
        }
    }
    println!("frames with a plate >= 20 px: {with_plate}; plate detections {dets}; messages {msgs}");
}
