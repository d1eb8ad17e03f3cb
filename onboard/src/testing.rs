//! Test imagery from the simulator's renderer (a dev-dependency only): a close-up street scene
//! with a person whose face is real photographic imagery and a car with a Swedish plate drawn in
//! DejaVu Sans Bold, seen from a low drone camera, with the renderer's ground truth.

use std::f64::consts::PI;
use std::sync::{Arc, OnceLock};

use glam::{DVec2, DVec3};
use utkik_shared::camera::{Camera, CameraMount, CameraPose, GimbalAttitude, Intrinsics, VehicleAttitude, YawFrame};
use utkik_shared::geo::GeoPoint;
use utkik_sim::render::{
    Assets, FaceRef, Person, RenderOptions, RenderedFrame, Road, Scene, TruthClass, Vehicle, render,
};

use crate::frame::RgbFrame;

/// Where the test scenes are (Stockholm).
pub const ORIGIN: GeoPoint = GeoPoint::new(59.3293, 18.0686, 20.0);

/// The plate of the close-up scene's car.
pub const CLOSE_UP_PLATE: &str = "KLM 45A";

/// The renderer's assets, loaded once per test binary.
pub fn assets() -> Arc<Assets> {
    static A: OnceLock<Arc<Assets>> = OnceLock::new();
    A.get_or_init(|| Arc::new(Assets::load_default().expect("plate font and face imagery (scripts/setup.sh)")))
        .clone()
}

/// A person facing south (towards the camera) at `x_m` east and a car driving north, its rear
/// plate [`CLOSE_UP_PLATE`] facing the camera, on a north-south street.
pub fn close_up_scene() -> Scene {
    let mut s = Scene::new(ORIGIN, assets());
    s.roads.push(Road {
        centreline_enu_m: vec![DVec2::new(1.0, -30.0), DVec2::new(1.0, 30.0)],
        width_m: 6.0,
        lanes: 2,
    });
    s.people.push(Person {
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
    s.vehicles.push(Vehicle {
        id: 3,
        position_enu_m: DVec2::new(1.0, 2.5),
        heading_rad: 0.0,
        length_m: 4.5,
        width_m: 1.8,
        height_m: 1.5,
        colour: [170, 30, 30],
        plate: CLOSE_UP_PLATE.into(),
    });
    s
}

/// A 1280x720 camera, 20 degree field of view, at ENU `pos`, looking north pitched down to see
/// both the face (1.6 m up at y = 0) and the plate (0.5 m up at y = 0.25).
pub fn close_up_camera(scene: &Scene, pos: DVec3) -> Camera {
    let pitch_rad = -((pos.z - 1.05) / (0.1 - pos.y)).atan();
    Camera::new(
        Intrinsics::from_hfov(1280, 720, 20f64.to_radians()).expect("valid intrinsics"),
        CameraPose {
            position: scene.frame().from_enu(pos),
            vehicle: VehicleAttitude::default(),
            gimbal: GimbalAttitude::from_euler(0.0, pitch_rad, 0.0, YawFrame::North),
            mount: CameraMount::default(),
        },
    )
}

/// The close-up scene from ENU `pos` with sensor noise of seed `seed`, as an onboard frame
/// (captured at `time_usec`) and the renderer's output with its truth.
pub fn close_up(pos: DVec3, seed: u64, time_usec: u64) -> (RgbFrame, RenderedFrame) {
    let scene = close_up_scene();
    let f = render(
        &scene,
        &close_up_camera(&scene, pos),
        &RenderOptions {
            noise_amplitude: 4,
            motion_blur_px: None,
            seed,
        },
    );
    let frame = RgbFrame::new(f.width, f.height, f.rgb.clone(), time_usec).expect("renderer frame size");
    (frame, f)
}

/// The truth boxes of one class: label and `[x0, y0, x1, y1]` (right/bottom exclusive).
pub fn truth_of(f: &RenderedFrame, class: TruthClass) -> Vec<(String, [f64; 4])> {
    f.truth
        .iter()
        .filter(|t| t.class == class)
        .map(|t| (t.label.clone(), t.box_px.map(f64::from)))
        .collect()
}

/// Share of `truth` covered by `found`, both `[x0, y0, x1, y1]`.
pub fn coverage(found: [f64; 4], truth: [f64; 4]) -> f64 {
    let iw = (found[2].min(truth[2]) - found[0].max(truth[0])).max(0.0);
    let ih = (found[3].min(truth[3]) - found[1].max(truth[1])).max(0.0);
    iw * ih / ((truth[2] - truth[0]) * (truth[3] - truth[1]))
}
