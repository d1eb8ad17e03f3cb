//! Rendering speed: frames/s at 1280x720 on one core for an oblique view of
//! a street (road, 8 buildings, 10 cars with plates, 20 people with faces).
//! Then the in-process frame source on each scenario (scene building and the
//! vehicle included). `cargo bench -p utkik-sim --bench render`.

use std::sync::Arc;
use std::time::Instant;

use glam::{DVec2, DVec3};
use utkik_shared::camera::{Camera, CameraMount, CameraPose, GimbalAttitude, Intrinsics, VehicleAttitude, YawFrame};
use utkik_shared::geo::GeoPoint;
use utkik_sim::camera::VideoSize;
use utkik_sim::render::{
    Assets, Building, FaceRef, GroundPolygon, Person, RenderOptions, Road, Scene, Surface, Vehicle, render,
};
use utkik_sim::scenario::{Scenario, scenarios_dir};
use utkik_sim::video::{FrameSource, VideoSettings};

fn scene() -> Scene {
    let mut s = Scene::new(
        GeoPoint::new(59.3293, 18.0686, 20.0),
        Arc::new(Assets::load_default().unwrap()),
    );
    s.roads.push(Road {
        centreline_enu_m: vec![DVec2::new(-300.0, 0.0), DVec2::new(300.0, 0.0)],
        width_m: 7.0,
        lanes: 2,
    });
    s.ground.push(GroundPolygon {
        outline_enu_m: vec![
            DVec2::new(-300.0, 3.5),
            DVec2::new(300.0, 3.5),
            DVec2::new(300.0, 7.0),
            DVec2::new(-300.0, 7.0),
        ],
        surface: Surface::Pavement,
        colour: None,
        layer: 0,
    });
    for k in 0..8 {
        let x = -60.0 + 16.0 * f64::from(k);
        s.buildings.push(Building {
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
    for k in 0..10u32 {
        s.vehicles.push(Vehicle {
            id: k,
            position_enu_m: DVec2::new(-40.0 + 9.0 * f64::from(k), if k % 2 == 0 { -1.75 } else { 1.75 }),
            heading_rad: if k % 2 == 0 { 1.5708 } else { -1.5708 },
            length_m: 4.5,
            width_m: 1.8,
            height_m: 1.5,
            colour: [170, 30, 30],
            plate: format!("ABC {:03}", 100 + k),
        });
    }
    for k in 0..20u32 {
        s.people.push(Person {
            id: 100 + k,
            position_enu_m: DVec2::new(-30.0 + 3.0 * f64::from(k), 5.0),
            heading_rad: f64::from(k) * 0.9,
            height_m: 1.75,
            shirt_colour: [40, 90, 160],
            trousers_colour: [50, 50, 60],
            hair_colour: [60, 40, 30],
            face: FaceRef {
                index: k as usize,
                identity: format!("bystander-{k}"),
                gain: 1.0,
            },
        });
    }
    s
}

fn main() {
    let s = scene();
    let frames: u32 = 300;
    for (name, pitch, alt, blur) in [
        ("oblique 40 m, noise", -0.8, 40.0, None),
        ("nadir 50 m, noise", -1.5708, 50.0, None),
        (
            "oblique 40 m, noise + 4 px motion blur",
            -0.8,
            40.0,
            Some([4.0f32, 0.0]),
        ),
    ] {
        let t0 = Instant::now();
        let mut truth = 0;
        for i in 0..frames {
            let cam = Camera::new(
                Intrinsics::from_hfov(1280, 720, 1.1).unwrap(),
                CameraPose {
                    position: s.frame().from_enu(DVec3::new(-20.0 + 0.1 * f64::from(i), -40.0, alt)),
                    vehicle: VehicleAttitude::default(),
                    gimbal: GimbalAttitude::from_euler(0.0, pitch, 0.0, YawFrame::North),
                    mount: CameraMount::default(),
                },
            );
            let opts = RenderOptions {
                noise_amplitude: 4,
                motion_blur_px: blur,
                seed: u64::from(i),
            };
            truth += std::hint::black_box(render(&s, &cam, &opts)).truth.len();
        }
        let dt = t0.elapsed().as_secs_f64();
        println!(
            "render 1280x720 {name}: {:.1} frames/s ({:.2} ms/frame, {:.1} truth boxes/frame), one core",
            f64::from(frames) / dt,
            1e3 * dt / f64::from(frames),
            truth as f64 / f64::from(frames)
        );
    }
    // The in-process frame source on each checked-in scenario: scene from the
    // scenario at each frame's time, vehicle pose, render (what `run` does per frame).
    for name in ["urban-street", "anpr-road", "person-search"] {
        let scenario = Scenario::load(&scenarios_dir().join(format!("{name}.toml"))).unwrap();
        let settings = VideoSettings {
            size: VideoSize {
                width_px: 1280,
                height_px: 720,
            },
            fps: 30.0,
            render: RenderOptions::default(),
        };
        let source = FrameSource::new(&scenario, s.assets.clone(), settings, 0, Some(10.0)).unwrap();
        let t0 = Instant::now();
        let mut n = 0u32;
        let mut truth = 0;
        for f in source {
            truth += std::hint::black_box(f).truth.len();
            n += 1;
        }
        let dt = t0.elapsed().as_secs_f64();
        println!(
            "frame source 1280x720 {name}: {:.1} frames/s ({:.2} ms/frame, {:.1} truth boxes/frame), one core",
            f64::from(n) / dt,
            1e3 * dt / f64::from(n),
            truth as f64 / f64::from(n)
        );
    }
}
