//! Golden tests of the plate reader with the real PP-OCRv5 models: Swedish plates drawn with a
//! real font (DejaVu Sans Bold, the simulator's plate renderer) on cars in a rendered street and
//! pasted, tilted, onto a real photograph must be found and read exactly; the cadence follows a
//! moving plate; a missing or corrupted model is named with its checksum.

use std::f64::consts::FRAC_PI_2;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use glam::{DVec2, DVec3};
use utkik_models::{PPOCR_DET, PPOCR_KEYS, PPOCR_REC};
use utkik_shared::camera::{Camera, CameraMount, CameraPose, GimbalAttitude, Intrinsics, VehicleAttitude, YawFrame};
use utkik_shared::geo::GeoPoint;
use utkik_sim::render::{Assets, Building, RenderOptions, RenderedFrame, Road, Scene, TruthClass, Vehicle, render};

use super::*;

const ORIGIN: GeoPoint = GeoPoint::new(59.3293, 18.0686, 20.0);

fn assets() -> Arc<Assets> {
    static A: OnceLock<Arc<Assets>> = OnceLock::new();
    A.get_or_init(|| Arc::new(Assets::load_default().expect("plate font and face imagery")))
        .clone()
}

fn car(id: u32, x: f64, y: f64, plate: &str, colour: [u8; 3]) -> Vehicle {
    Vehicle {
        id,
        position_enu_m: DVec2::new(x, y),
        heading_rad: FRAC_PI_2, // driving east: rear plates face west
        length_m: 4.5,
        width_m: 1.8,
        height_m: 1.5,
        colour,
        plate: plate.into(),
    }
}

/// An east-west street with buildings either side and two cars driving east.
fn street() -> Scene {
    let mut s = Scene::new(ORIGIN, assets());
    s.roads.push(Road {
        centreline_enu_m: vec![DVec2::new(-100.0, 0.0), DVec2::new(100.0, 0.0)],
        width_m: 7.0,
        lanes: 2,
    });
    for (k, x) in [-30.0, -12.0, 6.0, 24.0, 42.0].into_iter().enumerate() {
        for (y0, y1) in [(6.0, 16.0), (-16.0, -6.0)] {
            s.buildings.push(Building {
                footprint_enu_m: vec![
                    DVec2::new(x, y0),
                    DVec2::new(x + 14.0, y0),
                    DVec2::new(x + 14.0, y1),
                    DVec2::new(x, y1),
                ],
                height_m: 9.0 + 3.0 * (k % 3) as f64,
                wall_colour: [150 - 10 * k as u8, 130, 110],
                roof_colour: [90, 60, 50],
            });
        }
    }
    s.vehicles.push(car(1, 0.0, -1.75, "KLM 456", [170, 30, 30]));
    s.vehicles.push(car(2, 5.0, 1.75, "WER 84A", [40, 60, 140]));
    s
}

/// A drone camera at ENU `pos` looking east, pitched down, 1280x720, 25 degree field of view.
fn camera(scene: &Scene, pos: DVec3, pitch_rad: f64) -> Camera {
    Camera::new(
        Intrinsics::from_hfov(1280, 720, 25f64.to_radians()).unwrap(),
        CameraPose {
            position: scene.frame().from_enu(pos),
            vehicle: VehicleAttitude::default(),
            gimbal: GimbalAttitude::from_euler(0.0, pitch_rad, FRAC_PI_2, YawFrame::North),
            mount: CameraMount::default(),
        },
    )
}

fn shot(scene: &Scene, pos: DVec3, seed: u64) -> (RgbFrame, RenderedFrame) {
    let pitch = -(pos.z - 0.5).atan2(2.5 - pos.x);
    let f = render(
        scene,
        &camera(scene, pos, pitch),
        &RenderOptions {
            noise_amplitude: 4,
            motion_blur_px: None,
            seed,
        },
    );
    (RgbFrame::new(f.width, f.height, f.rgb.clone(), seed).unwrap(), f)
}

fn plate_truth(f: &RenderedFrame) -> Vec<(String, [f32; 4])> {
    f.truth
        .iter()
        .filter(|t| t.class == TruthClass::Plate)
        .map(|t| (t.label.clone(), t.box_px.map(|v| v as f32)))
        .collect()
}

/// Share of `truth` covered by `found`.
fn coverage(found: [f32; 4], truth: [f32; 4]) -> f32 {
    let iw = (found[2].min(truth[2]) - found[0].max(truth[0])).max(0.0);
    let ih = (found[3].min(truth[3]) - found[1].max(truth[1])).max(0.0);
    iw * ih / ((truth[2] - truth[0]) * (truth[3] - truth[1]))
}

fn detector(config: PlateConfig) -> PlateDetector {
    PlateDetector::new(&ModelCache::locate().unwrap(), config).unwrap()
}

#[test]
fn reads_both_plates_of_a_rendered_street_exactly() {
    let scene = street();
    let (frame, rendered) = shot(&scene, DVec3::new(-14.0, 0.0, 6.0), 1);
    let truth = plate_truth(&rendered);
    assert_eq!(truth.len(), 2, "both rear plates in view: {truth:?}");
    for (label, b) in &truth {
        assert!(b[2] - b[0] >= 60.0, "{label} only {} px wide", b[2] - b[0]);
    }
    let mut det = detector(PlateConfig::default());
    let found = det.read_still(&frame).unwrap();
    let t = det.last_timings();
    eprintln!(
        "still 1280x720: {} det runs ({} refines) {:.1} ms, {} reads {:.1} ms; found {:?}",
        t.det_runs,
        t.refines,
        t.det_usec as f64 / 1e3,
        t.rec_runs,
        t.rec_usec as f64 / 1e3,
        found
            .iter()
            .map(|d| (&d.raw_text, d.score, d.read.as_ref().map(|r| r.confidence)))
            .collect::<Vec<_>>()
    );
    let mut texts: Vec<&str> = found
        .iter()
        .map(|d| d.read.as_ref().unwrap().plate.normalized.as_str())
        .collect();
    texts.sort_unstable();
    assert_eq!(texts, ["KLM456", "WER84A"], "exact reads, nothing else");
    for (label, b) in &truth {
        let d = found
            .iter()
            .find(|d| &d.read.as_ref().unwrap().plate.normalized == label)
            .unwrap();
        assert!(
            coverage(d.bbox_px, *b) > 0.8,
            "{label}: found {:?}, truth {b:?}",
            d.bbox_px
        );
        assert_eq!(d.read.as_ref().unwrap().plate.format.country, "SE");
    }
    assert_eq!(
        t.det_runs as usize,
        det.scan_strips(1280, 720).len() + t.refines as usize,
        "every strip once, and one finer look per line that did not read as a plate"
    );
    assert!(t.refines <= 2, "{t:?}");
}

#[test]
fn cadence_skips_frames_finds_the_plate_then_follows_it() {
    let scene = street();
    let mut det = detector(PlateConfig::default());
    assert_eq!(det.scan_strips(1280, 720).len(), 3);
    let mut first_seen = None;
    for i in 0..16u64 {
        // The drone slides sideways 8 cm a frame: the plates move ~10 px a frame.
        let (frame, rendered) = shot(&scene, DVec3::new(-14.0, -0.08 * i as f64, 6.0), i);
        let out = det.detect(&frame, i).unwrap();
        if i % 3 != 0 {
            assert!(out.is_none(), "frame {i} is not a plate frame");
            continue;
        }
        let found = out.expect("plate frame");
        let t = det.last_timings();
        eprintln!(
            "frame {i}: det {} runs {:.1} ms, rec {} runs {:.1} ms, followed {}, read {:?}",
            t.det_runs,
            t.det_usec as f64 / 1e3,
            t.rec_runs,
            t.rec_usec as f64 / 1e3,
            det.followed(),
            found.iter().map(|d| &d.raw_text).collect::<Vec<_>>()
        );
        let truth = plate_truth(&rendered);
        for d in &found {
            // Every box reported is on a plate, and a read is that plate's text.
            let (label, b) = truth
                .iter()
                .max_by(|a, b| coverage(d.bbox_px, a.1).total_cmp(&coverage(d.bbox_px, b.1)))
                .unwrap();
            assert!(coverage(d.bbox_px, *b) > 0.8, "frame {i}: {:?} vs {truth:?}", d.bbox_px);
            if let Some(r) = &d.read {
                assert_eq!(&r.plate.normalized, label, "frame {i}");
            }
        }
        if first_seen.is_none() && found.len() == 2 {
            first_seen = Some(i);
        } else if let Some(s) = first_seen {
            assert!(i > s);
            assert_eq!(found.len(), 2, "frame {i}: both plates followed after frame {s}");
            assert_eq!(det.followed(), 2);
            assert_eq!(
                t.det_runs,
                3 + t.refines,
                "frame {i}: two follow windows and one strip (and finer looks at lines of the strip)"
            );
        }
    }
    let s = first_seen.expect("both plates found within the first full scan");
    assert!(
        s <= 6,
        "the three strips are scanned on plate frames 0, 3 and 6: found at {s}"
    );
}

/// Pastes `plate` (the simulator's Swedish plate, DejaVu Sans Bold) `width_px` wide, centred at
/// `(cx, cy)` and turned by `angle_deg`, into `frame`.
fn paste_plate(frame: &mut RgbFrame, text: &str, cx: f32, cy: f32, width_px: f32, angle_deg: f32) {
    let tex = assets().plate_texture(text);
    let level = tex.level_for(f64::from(width_px));
    let height_px = width_px * tex.levels[0].height as f32 / tex.levels[0].width as f32;
    let (s, c) = angle_deg.to_radians().sin_cos();
    let r = width_px.hypot(height_px) / 2.0 + 1.0;
    for y in (cy - r) as u32..(cy + r) as u32 {
        for x in (cx - r) as u32..(cx + r) as u32 {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let u = (dx * c + dy * s) / width_px + 0.5;
            let v = (-dx * s + dy * c) / height_px + 0.5;
            if (0.0..1.0).contains(&u) && (0.0..1.0).contains(&v) {
                let p = level.sample(f64::from(u), f64::from(v));
                let i = (y * frame.width + x) as usize * 3;
                frame.data[i..i + 3].copy_from_slice(&p[..3]);
            }
        }
    }
}

#[test]
fn reads_tilted_plates_pasted_on_a_photograph() {
    let cache = ModelCache::locate().unwrap();
    let photo = image::open(cache.root().join("imagery/faces/astronaut.png"))
        .expect("imagery from scripts/fetch-models.sh")
        .resize_exact(1280, 720, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut frame = RgbFrame::new(1280, 720, photo.into_raw(), 0).unwrap();
    paste_plate(&mut frame, "ABC 12A", 900.0, 520.0, 120.0, 6.0);
    paste_plate(&mut frame, "MLB 990", 300.0, 200.0, 90.0, -4.0);
    let mut det = detector(PlateConfig::default());
    let found = det.read_still(&frame).unwrap();
    let mut texts: Vec<(&str, [f32; 2])> = found
        .iter()
        .map(|d| (d.read.as_ref().unwrap().plate.display.as_str(), d.text_box.center_px))
        .collect();
    texts.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(
        texts.iter().map(|t| t.0).collect::<Vec<_>>(),
        ["ABC 12A", "MLB 990"],
        "{found:?}"
    );
    let abc = found.iter().find(|d| d.raw_text.contains("12A")).unwrap();
    assert!(
        (abc.text_box.angle_rad.to_degrees() - 6.0).abs() < 3.0,
        "{:?}",
        abc.text_box
    );
    // The line lies inside the white field, right of the EU band: centre within 20 px.
    assert!(
        (texts[0].1[0] - 905.0).abs() < 20.0 && (texts[0].1[1] - 520.0).abs() < 20.0,
        "{texts:?}"
    );
}

/// The plate reader on ONNX Runtime reads the same plates as on tract, boxes within 2 px: the
/// rendered street and the tilted plates on a photograph.
#[test]
fn onnxruntime_reads_the_same_plates_as_tract() {
    let Some(runtime) = crate::detect::runtime::onnxruntime_or_skip(1) else {
        return;
    };
    let cache = ModelCache::locate().unwrap();
    let photo = image::open(cache.root().join("imagery/faces/astronaut.png"))
        .expect("imagery from scripts/fetch-models.sh")
        .resize_exact(1280, 720, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut pasted = RgbFrame::new(1280, 720, photo.into_raw(), 0).unwrap();
    paste_plate(&mut pasted, "ABC 12A", 900.0, 520.0, 120.0, 6.0);
    paste_plate(&mut pasted, "MLB 990", 300.0, 200.0, 90.0, -4.0);
    let (street_frame, _) = shot(&street(), DVec3::new(-14.0, 0.0, 6.0), 1);
    let mut tract = detector(PlateConfig::default());
    let mut ort = detector(PlateConfig {
        runtime,
        ..PlateConfig::default()
    });
    for (name, frame) in [("street", &street_frame), ("photograph", &pasted)] {
        let reads = |det: &mut PlateDetector| {
            let mut r: Vec<(String, [f32; 4])> = det
                .read_still(frame)
                .unwrap()
                .into_iter()
                .map(|d| (d.read.map(|r| r.plate.normalized).unwrap_or_default(), d.bbox_px))
                .collect();
            r.sort_by(|a, b| a.0.cmp(&b.0));
            r
        };
        let (a, b) = (reads(&mut tract), reads(&mut ort));
        assert_eq!(a.len(), 2, "{name}: tract {a:?}");
        assert_eq!(
            a.iter().map(|r| &r.0).collect::<Vec<_>>(),
            b.iter().map(|r| &r.0).collect::<Vec<_>>(),
            "{name}: tract {a:?}, onnxruntime {b:?}"
        );
        for (x, y) in a.iter().zip(&b) {
            for k in 0..4 {
                assert!((x.1[k] - y.1[k]).abs() < 2.0, "{name}: tract {x:?}, onnxruntime {y:?}");
            }
        }
    }
}

#[test]
fn a_blank_frame_has_no_plates_and_text_that_is_no_plate_is_dropped() {
    let mut det = detector(PlateConfig::default());
    let blank = RgbFrame::filled(1280, 720, [128, 128, 128], 0);
    assert_eq!(det.detect(&blank, 0).unwrap(), Some(Vec::new()));
    assert_eq!(det.followed(), 0);
    // Black text on white that is not a plate grammar's text ("Ö" and "I" are never on plates).
    let mut frame = RgbFrame::filled(1280, 720, [200, 200, 190], 0);
    paste_plate(&mut frame, "ÖIA 123", 640.0, 360.0, 200.0, 0.0);
    let found = det.read_still(&frame).unwrap();
    assert!(found.is_empty(), "{found:?}");
    assert!(det.last_timings().rec_runs >= 1, "the line was read, and rejected");
}

#[test]
fn settings_out_of_range_are_named() {
    let cache = ModelCache::locate().unwrap();
    for (config, field) in [
        (
            PlateConfig {
                every_n_frames: 0,
                ..PlateConfig::default()
            },
            "every_n_frames",
        ),
        (
            PlateConfig {
                follow_shape: (250, 128),
                ..PlateConfig::default()
            },
            "follow_shape",
        ),
        (
            PlateConfig {
                scan_scale: 0.0,
                ..PlateConfig::default()
            },
            "scan_scale",
        ),
    ] {
        let e = PlateDetector::new(&cache, config).err().unwrap();
        assert!(matches!(&e, PlateError::Config { field: f, .. } if *f == field), "{e}");
    }
}

/// A cache in a temp dir holding links to the real PP-OCRv5 files.
fn linked_cache(dir: &Path) -> ModelCache {
    let real = ModelCache::locate().unwrap();
    let cache = ModelCache::at(dir);
    for m in [PPOCR_DET, PPOCR_REC, PPOCR_KEYS] {
        let to = cache.path(&m);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(real.path(&m), &to).unwrap();
    }
    cache
}

#[test]
fn missing_or_corrupted_model_names_the_file_and_its_checksum() {
    for (model, corrupt) in [
        (PPOCR_DET, false),
        (PPOCR_REC, false),
        (PPOCR_KEYS, false),
        (PPOCR_DET, true),
        (PPOCR_REC, true),
        (PPOCR_KEYS, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cache = linked_cache(dir.path());
        let path = cache.path(&model);
        std::fs::remove_file(&path).unwrap();
        if corrupt {
            std::fs::write(&path, b"not the model").unwrap();
        }
        let e = PlateDetector::new(&cache, PlateConfig::default()).err().unwrap();
        let msg = e.to_string();
        let file = Path::new(model.file).file_name().unwrap().to_str().unwrap();
        assert!(matches!(e, PlateError::Model(_)), "{msg}");
        assert!(msg.contains(file) && msg.contains(model.sha256), "{msg}");
        assert_eq!(msg.contains("corrupted"), corrupt, "{msg}");
        assert!(msg.contains(utkik_models::FETCH_COMMAND), "{msg}");
    }
}
