//! Rendering tests: hand-computed projections, truth boxes against drawn
//! pixels, determinism and extreme poses.

use std::f64::consts::{FRAC_PI_2, PI};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use glam::{DVec2, DVec3};
use sha2::{Digest, Sha256};
use utkik_shared::camera::{Camera, CameraMount, CameraPose, GimbalAttitude, Intrinsics, VehicleAttitude, YawFrame};
use utkik_shared::geo::GeoPoint;

use super::*;

const ORIGIN: GeoPoint = GeoPoint::new(59.3293, 18.0686, 20.0);

fn assets() -> Arc<Assets> {
    static A: OnceLock<Arc<Assets>> = OnceLock::new();
    A.get_or_init(|| Arc::new(Assets::load_default().unwrap())).clone()
}

/// A camera at ENU `pos` looking with gimbal pitch/yaw (north-referenced).
fn camera(scene: &Scene, w: u32, h: u32, hfov_rad: f64, pos: DVec3, pitch_rad: f64, yaw_rad: f64) -> Camera {
    Camera::new(
        Intrinsics::from_hfov(w, h, hfov_rad).unwrap(),
        CameraPose {
            position: scene.frame().from_enu(pos),
            vehicle: VehicleAttitude::default(),
            gimbal: GimbalAttitude::from_euler(0.0, pitch_rad, yaw_rad, YawFrame::North),
            mount: CameraMount::default(),
        },
    )
}

fn no_noise() -> RenderOptions {
    RenderOptions {
        noise_amplitude: 0,
        motion_blur_px: None,
        seed: 1,
    }
}

fn car(id: u32, pos: DVec2, heading_rad: f64, plate: &str) -> Vehicle {
    Vehicle {
        id,
        position_enu_m: pos,
        heading_rad,
        length_m: 4.5,
        width_m: 1.8,
        height_m: 1.5,
        colour: [170, 30, 30],
        plate: plate.to_owned(),
    }
}

fn person(id: u32, pos: DVec2, heading_rad: f64, face: usize) -> Person {
    Person {
        id,
        position_enu_m: pos,
        heading_rad,
        height_m: 1.75,
        shirt_colour: [40, 90, 160],
        trousers_colour: [50, 50, 60],
        hair_colour: [60, 40, 30],
        face: FaceRef {
            index: face,
            identity: format!("bystander-{face}"),
            gain: 1.0,
        },
    }
}

fn pixel(f: &RenderedFrame, x: u32, y: u32) -> [u8; 3] {
    let i = ((y * f.width + x) * 3) as usize;
    [f.rgb[i], f.rgb[i + 1], f.rgb[i + 2]]
}

#[test]
fn nadir_camera_sees_a_20_m_square_as_100_px_at_100_m() {
    let mut scene = Scene::new(ORIGIN, assets());
    scene.ground.push(GroundPolygon {
        outline_enu_m: vec![
            DVec2::new(-10.0, -10.0),
            DVec2::new(10.0, -10.0),
            DVec2::new(10.0, 10.0),
            DVec2::new(-10.0, 10.0),
        ],
        surface: Surface::Pavement,
        colour: Some([255, 0, 0]),
        layer: 0,
    });
    // 90 degree hfov over 1000 px: fx = 500 px; 20 m at 100 m -> 100 px.
    let cam = camera(
        &scene,
        1000,
        800,
        FRAC_PI_2,
        DVec3::new(0.0, 0.0, 100.0),
        -FRAC_PI_2,
        0.0,
    );
    let f = render(&scene, &cam, &no_noise());
    let red: Vec<(u32, u32)> = (0..f.height)
        .flat_map(|y| (0..f.width).map(move |x| (x, y)))
        .filter(|&(x, y)| pixel(&f, x, y) == [255, 0, 0])
        .collect();
    assert_eq!(red.len(), 100 * 100);
    assert!(
        red.iter()
            .all(|&(x, y)| (450..550).contains(&x) && (350..450).contains(&y))
    );
    assert!(f.truth.is_empty(), "ground polygons are not entities");
    // Everything else is bare ground (no sky at nadir).
    assert_eq!(pixel(&f, 0, 0), scene.ground_colour);
}

#[test]
fn nadir_vehicle_truth_box_matches_its_projected_roof_and_body() {
    let mut scene = Scene::new(ORIGIN, assets());
    scene.vehicles.push(car(7, DVec2::ZERO, 0.0, "ABC 123"));
    let cam = camera(
        &scene,
        1000,
        800,
        FRAC_PI_2,
        DVec3::new(0.0, 0.0, 50.0),
        -FRAC_PI_2,
        0.0,
    );
    let f = render(&scene, &cam, &no_noise());
    let v: Vec<&TruthBox> = f.truth.iter().filter(|t| t.class == TruthClass::Vehicle).collect();
    assert_eq!(v.len(), 1);
    let b = v[0].box_px;
    // The body top (0.825 m up) is the widest part seen: 4.5 x 1.8 m at 49.175 m, fx 500.
    let (len_px, wid_px) = (500.0 * 4.5 / 49.175, 500.0 * 1.8 / 49.175);
    let (bw, bh) = (f64::from(b[2] - b[0]), f64::from(b[3] - b[1]));
    assert!(
        (bh - len_px).abs() <= 1.5,
        "north-pointing car length {bh} px, expected {len_px}"
    );
    assert!((bw - wid_px).abs() <= 1.5, "width {bw} px, expected {wid_px}");
    assert_eq!(v[0].entity_id, 7);
    assert_eq!(v[0].label, "ABC123");
    assert!((v[0].lat_deg - ORIGIN.lat_deg).abs() < 1e-9);
    // Straight down, plates are edge-on: no plate truth.
    assert!(f.truth.iter().all(|t| t.class != TruthClass::Plate));
}

#[test]
fn oblique_camera_reads_a_plate_and_the_truth_box_contains_it() {
    let mut scene = Scene::new(ORIGIN, assets());
    scene.vehicles.push(car(3, DVec2::new(0.0, 0.0), 0.0, "KLM 456"));
    // 12 m behind (south of) the car, 4 m up, looking north and down at it.
    let pitch = -(4.0f64 - 0.48).atan2(12.0 - 2.25);
    let cam = camera(&scene, 1280, 720, 0.5, DVec3::new(0.0, -12.0, 4.0), pitch, 0.0);
    let f = render(&scene, &cam, &no_noise());
    let plates: Vec<&TruthBox> = f.truth.iter().filter(|t| t.class == TruthClass::Plate).collect();
    assert_eq!(plates.len(), 1, "only the rear plate faces the camera: {:?}", f.truth);
    let b = plates[0].box_px;
    assert_eq!(plates[0].label, "KLM456");
    assert!(b[2] - b[0] > 80, "plate {} px wide", b[2] - b[0]);
    // Inside the box: the blue band, white field and dark characters.
    let inside: Vec<[u8; 3]> = (b[1]..b[3])
        .flat_map(|y| (b[0]..b[2]).map(move |x| (x, y)))
        .map(|(x, y)| pixel(&f, x, y))
        .collect();
    assert!(inside.iter().any(|p| p[2] > 120 && p[0] < 40), "no blue band");
    assert!(
        inside.iter().filter(|p| p.iter().all(|&c| c > 220)).count() > 200,
        "no white field"
    );
    assert!(
        inside.iter().filter(|p| p.iter().all(|&c| c < 60)).count() > 50,
        "no characters"
    );
    // Just outside the box left and right: the car, not the plate.
    let mid = (b[1] + b[3]) / 2;
    assert!(
        pixel(&f, b[0] - 2, mid)[0] > pixel(&f, b[0] - 2, mid)[2],
        "left of the plate is red paint"
    );
    // The plate sits inside the vehicle's box.
    let v = f.truth.iter().find(|t| t.class == TruthClass::Vehicle).unwrap().box_px;
    assert!(v[0] <= b[0] && v[1] <= b[1] && v[2] >= b[2] && v[3] >= b[3]);
    save_png(&f, "plate");
}

#[test]
fn face_is_drawn_only_from_the_front_and_inside_the_person() {
    let mut scene = Scene::new(ORIGIN, assets());
    // Facing south, towards a camera 8 m south at 3 m.
    scene.people.push(person(11, DVec2::ZERO, PI, 0));
    let pitch = -(3.0f64 - 1.63).atan2(8.0);
    let cam = camera(&scene, 1280, 720, 0.35, DVec3::new(0.0, -8.0, 3.0), pitch, 0.0);
    let f = render(&scene, &cam, &no_noise());
    let face = f
        .truth
        .iter()
        .find(|t| t.class == TruthClass::Face)
        .expect("face visible");
    let body = f.truth.iter().find(|t| t.class == TruthClass::Person).unwrap();
    assert_eq!(face.label, "bystander-0");
    let (fb, pb) = (face.box_px, body.box_px);
    assert!(pb[0] <= fb[0] && pb[1] <= fb[1] && pb[2] >= fb[2] && pb[3] >= fb[3]);
    assert!(fb[3] - fb[1] > 40, "face {} px high", fb[3] - fb[1]);
    // Face near the top of the person.
    assert!(fb[1] - pb[1] < (pb[3] - pb[1]) / 6);
    save_png(&f, "face");
    // Turned away: no face.
    scene.people[0].heading_rad = 0.0;
    let f = render(&scene, &cam, &no_noise());
    assert!(f.truth.iter().all(|t| t.class != TruthClass::Face));
    assert!(f.truth.iter().any(|t| t.class == TruthClass::Person));
}

#[test]
fn occluded_entity_has_no_truth() {
    let mut scene = Scene::new(ORIGIN, assets());
    scene.people.push(person(1, DVec2::ZERO, PI, 0));
    // A 10 m building between the camera (south) and the person.
    scene.buildings.push(Building {
        footprint_enu_m: vec![
            DVec2::new(-5.0, -8.0),
            DVec2::new(5.0, -8.0),
            DVec2::new(5.0, -4.0),
            DVec2::new(-5.0, -4.0),
        ],
        height_m: 10.0,
        wall_colour: [120, 110, 100],
        roof_colour: [90, 60, 50],
    });
    let cam = camera(&scene, 640, 360, 0.6, DVec3::new(0.0, -20.0, 2.0), 0.0, 0.0);
    let f = render(&scene, &cam, &no_noise());
    assert!(f.truth.is_empty(), "{:?}", f.truth);
}

fn busy_scene() -> Scene {
    let mut scene = Scene::new(ORIGIN, assets());
    scene.roads.push(Road {
        centreline_enu_m: vec![DVec2::new(-200.0, 0.0), DVec2::new(200.0, 0.0)],
        width_m: 7.0,
        lanes: 2,
    });
    scene.ground.push(GroundPolygon {
        outline_enu_m: vec![
            DVec2::new(-200.0, 3.5),
            DVec2::new(200.0, 3.5),
            DVec2::new(200.0, 7.0),
            DVec2::new(-200.0, 7.0),
        ],
        surface: Surface::Pavement,
        colour: None,
        layer: 0,
    });
    for k in 0..8 {
        let x = -60.0 + 16.0 * f64::from(k);
        scene.buildings.push(Building {
            footprint_enu_m: vec![
                DVec2::new(x, 10.0),
                DVec2::new(x + 12.0, 10.0),
                DVec2::new(x + 12.0, 22.0),
                DVec2::new(x, 22.0),
            ],
            height_m: 8.0 + 3.0 * f64::from(k % 3),
            wall_colour: [150, 140, 125],
            roof_colour: [110, 70, 60],
        });
    }
    for k in 0..10 {
        let heading = if k % 2 == 0 { FRAC_PI_2 } else { -FRAC_PI_2 };
        let y = if k % 2 == 0 { -1.75 } else { 1.75 };
        scene.vehicles.push(car(
            k,
            DVec2::new(-40.0 + 9.0 * f64::from(k), y),
            heading,
            &format!("ABC {:03}", 100 + k),
        ));
    }
    for k in 0..20 {
        let h = f64::from(k) * 0.9;
        scene.people.push(person(
            100 + k,
            DVec2::new(-30.0 + 3.0 * f64::from(k), 5.0),
            h,
            k as usize,
        ));
    }
    scene
}

fn digest(f: &RenderedFrame) -> String {
    hex::encode(Sha256::digest(&f.rgb))
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_does_not() {
    let scene = busy_scene();
    let cam = camera(&scene, 1280, 720, 1.1, DVec3::new(0.0, -40.0, 40.0), -0.8, 0.0);
    let opts = RenderOptions {
        noise_amplitude: 6,
        motion_blur_px: Some([3.0, 1.0]),
        seed: 42,
    };
    let a = render(&scene, &cam, &opts);
    let b = render(&scene, &cam, &opts);
    assert_eq!(digest(&a), digest(&b));
    assert_eq!(a.truth, b.truth);
    assert!(!a.truth.is_empty());
    let c = render(&scene, &cam, &RenderOptions { seed: 43, ..opts });
    assert_ne!(digest(&a), digest(&c));
    save_png(&a, "busy");
}

#[test]
fn extreme_poses_do_not_panic() {
    let scene = busy_scene();
    let poses = [
        (DVec3::new(0.0, -40.0, 40.0), 0.0),           // horizon
        (DVec3::new(0.0, -40.0, 40.0), 1.2),           // sky
        (DVec3::new(0.0, -40.0, -5.0), -0.5),          // below ground
        (DVec3::new(0.0, 0.0, 1.0), -FRAC_PI_2),       // among the cars
        (DVec3::new(-35.0, 4.9, 1.7), 0.0),            // inside a crowd
        (DVec3::new(0.0, 0.0, 1e5), -FRAC_PI_2),       // very high
        (DVec3::new(f64::NAN, 0.0, 30.0), -FRAC_PI_2), // garbage
    ];
    for (pos, pitch) in poses {
        for yaw in [0.0, 1.0, PI] {
            let cam = camera(&scene, 320, 180, 1.2, pos, pitch, yaw);
            let f = render(&scene, &cam, &RenderOptions::default());
            assert_eq!(f.rgb.len(), 320 * 180 * 3);
            for t in &f.truth {
                assert!(t.box_px[2] <= 320 && t.box_px[3] <= 180 && t.box_px[0] < t.box_px[2]);
            }
        }
    }
    // Horizon: sky on top, ground below.
    let cam = camera(&scene, 320, 180, 1.2, DVec3::new(0.0, -400.0, 40.0), 0.0, PI);
    let f = render(&scene, &cam, &no_noise());
    assert_eq!(pixel(&f, 5, 2), scene.sky_colour);
    assert_eq!(pixel(&f, 5, 177), scene.ground_colour);
}

/// Save a frame under the temp dir for a look (not an assertion).
fn save_png(f: &RenderedFrame, name: &str) {
    let path = std::env::temp_dir().join(format!("utkik-render-{name}.png"));
    let _ = image::save_buffer(
        Path::new(&path),
        &f.rgb,
        f.width,
        f.height,
        image::ExtendedColorType::Rgb8,
    );
}
