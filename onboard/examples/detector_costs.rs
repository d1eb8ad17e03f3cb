//! Per-stage cost of the detectors on a simulator-rendered 1280x720 close-up (a face and a
//! Swedish plate): MTCNN faces, one plate scan strip, one follow window, one plate read, and
//! the plate reader's cadence frames (scan only, then follow + scan). Median of several warm
//! runs (the first run of each input shape builds its optimized tract plan and is not counted).
//! Single thread, as tract runs by default.
//!
//! `cargo run -p utkik-onboard --example detector_costs [--release]`

use std::f64::consts::PI;
use std::sync::Arc;
use std::time::Instant;

use glam::{DVec2, DVec3};
use utkik_models::ModelCache;
use utkik_onboard::detect::faces::{FaceConfig, FaceDetector};
use utkik_onboard::detect::plates::text_det::{DbParams, Region, TextDetector};
use utkik_onboard::detect::plates::text_rec::TextRecognizer;
use utkik_onboard::detect::plates::{PlateConfig, PlateDetector};
use utkik_onboard::frame::RgbFrame;
use utkik_shared::camera::{Camera, CameraMount, CameraPose, GimbalAttitude, Intrinsics, VehicleAttitude, YawFrame};
use utkik_shared::geo::GeoPoint;
use utkik_sim::render::{Assets, FaceRef, Person, RenderOptions, Scene, Vehicle, render};

fn frame_at(scene: &Scene, x_m: f64, index: u64) -> RgbFrame {
    let pos = DVec3::new(x_m, -9.0, 3.0);
    let pitch_rad = -((pos.z - 1.05) / (0.1 - pos.y)).atan();
    let camera = Camera::new(
        Intrinsics::from_hfov(1280, 720, 20f64.to_radians()).unwrap(),
        CameraPose {
            position: scene.frame().from_enu(pos),
            vehicle: VehicleAttitude::default(),
            gimbal: GimbalAttitude::from_euler(0.0, pitch_rad, 0.0, YawFrame::North),
            mount: CameraMount::default(),
        },
    );
    let f = render(
        scene,
        &camera,
        &RenderOptions {
            noise_amplitude: 4,
            motion_blur_px: None,
            seed: index,
        },
    );
    RgbFrame::new(f.width, f.height, f.rgb, index * 33_333).unwrap()
}

fn median_ms(mut f: impl FnMut(), runs: usize) -> f64 {
    f(); // plan building
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    let mut scene = Scene::new(
        GeoPoint::new(59.3293, 18.0686, 20.0),
        Arc::new(Assets::load_default().expect("plate font and face imagery")),
    );
    scene.people.push(Person {
        id: 7,
        position_enu_m: DVec2::new(-0.7, 0.0),
        heading_rad: PI,
        height_m: 1.75,
        shirt_colour: [40, 90, 160],
        trousers_colour: [50, 50, 60],
        hair_colour: [60, 40, 30],
        face: FaceRef {
            index: 0,
            identity: "bystander-0".into(),
            gain: 1.0,
        },
    });
    scene.vehicles.push(Vehicle {
        id: 3,
        position_enu_m: DVec2::new(1.0, 2.5),
        heading_rad: 0.0,
        length_m: 4.5,
        width_m: 1.8,
        height_m: 1.5,
        colour: [170, 30, 30],
        plate: "KLM 45A".into(),
    });
    let cache = ModelCache::locate().expect("model cache");
    let frame = frame_at(&scene, 0.3, 0);
    let profile = if cfg!(debug_assertions) {
        "debug (dev profile: our code opt-level 1, dependencies opt-level 2)"
    } else {
        "release"
    };
    println!("detector costs, 1280x720, 1 thread, {profile}; median of warm runs");

    let mut faces = FaceDetector::new(&cache, FaceConfig::default()).unwrap();
    let mut n_faces = 0;
    let ms = median_ms(|| n_faces = faces.detect(&frame).unwrap().len(), 5);
    println!("  faces MTCNN (min face 20 px)          {ms:7.1} ms  ({n_faces} found)");
    let mut faces40 = FaceDetector::new(
        &cache,
        FaceConfig {
            min_face_px: 40.0,
            ..FaceConfig::default()
        },
    )
    .unwrap();
    let ms = median_ms(|| n_faces = faces40.detect(&frame).unwrap().len(), 5);
    println!("  faces MTCNN (min face 40 px)          {ms:7.1} ms  ({n_faces} found)");

    let mut det = TextDetector::new(&cache, DbParams::default()).unwrap();
    for (label, region) in [
        (
            "text det, scan strip 640x160 (0.5x)",
            Region {
                origin_px: [0.0, 400.0],
                scale: 0.5,
                width: 640,
                height: 160,
            },
        ),
        (
            "text det, follow window 256x128",
            Region {
                origin_px: [780.0, 500.0],
                scale: 1.0,
                width: 256,
                height: 128,
            },
        ),
        (
            "text det, whole frame 1280x736",
            Region {
                origin_px: [0.0, 0.0],
                scale: 1.0,
                width: 1280,
                height: 736,
            },
        ),
    ] {
        let mut boxes = Vec::new();
        let ms = median_ms(|| boxes = det.detect(&frame, &region).unwrap(), 5);
        println!("  {label:<37} {ms:7.1} ms  ({} lines)", boxes.len());
    }

    let alphabet = utkik_shared::plate::PlateGrammar::sweden().alphabet();
    let mut rec = TextRecognizer::new(&cache, &alphabet).unwrap();
    let line = det
        .detect(
            &frame,
            &Region {
                origin_px: [780.0, 500.0],
                scale: 1.0,
                width: 256,
                height: 128,
            },
        )
        .unwrap()
        .into_iter()
        .next()
        .expect("the plate line in the follow window");
    let (w, _) = TextRecognizer::input_width(&line);
    let mut text = String::new();
    let ms = median_ms(|| text = rec.read(&frame, &line).unwrap().text, 10);
    println!("  text rec, one line 48x{w:<3}            {ms:7.1} ms  (read {text:?})");

    // The cadence, frame by frame: plate frames only (every 3rd), the car in view throughout.
    let mut plates = PlateDetector::new(&cache, PlateConfig::default()).unwrap();
    println!("  plate reader cadence (every 3rd frame; the camera slides 5 cm a frame):");
    for i in (0..30u64).step_by(3) {
        let f = frame_at(&scene, 0.3 + 0.05 * i as f64, i);
        let t = Instant::now();
        let found = plates.detect(&f, i).unwrap().unwrap();
        let total = t.elapsed().as_secs_f64() * 1e3;
        let tm = plates.last_timings();
        println!(
            "    frame {i:2}: {total:6.1} ms = det {} runs {:6.1} ms + rec {} runs {:5.1} ms; followed {}, read {:?}",
            tm.det_runs,
            tm.det_usec as f64 / 1e3,
            tm.rec_runs,
            tm.rec_usec as f64 / 1e3,
            plates.followed(),
            found
                .iter()
                .map(|d| d.read.as_ref().map_or("-".to_string(), |r| r.plate.display.clone()))
                .collect::<Vec<_>>()
        );
    }
}
