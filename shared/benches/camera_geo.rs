//! Speed of the georeferencing hot paths (per detection on the drone, per
//! object per frame in the simulator, per frame for the map footprint).
//! Prints nanoseconds per call; no assertions (speed is not a test).
//!
//! `cargo bench -p utkik-shared --bench camera_geo`

use std::hint::black_box;
use std::time::Instant;

use glam::DVec3;
use utkik_shared::camera::{
    Camera, CameraPose, FlatTerrain, GimbalAttitude, Intrinsics, PoseUncertainty, RadialDistortion, VehicleAttitude,
    YawFrame,
};
use utkik_shared::geo::{GeoPoint, LocalFrame, distance_m};

fn time<R>(name: &str, iterations: u32, mut f: impl FnMut(u32) -> R) {
    for i in 0..iterations / 10 {
        black_box(f(i));
    }
    let start = Instant::now();
    for i in 0..iterations {
        black_box(f(i));
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(iterations);
    println!("{name:<40} {ns:>10.0} ns/call");
}

fn main() {
    let home = GeoPoint::new(59.9139, 10.7522, 110.0);
    let frame = LocalFrame::new(home);
    let intrinsics = Intrinsics::from_hfov(1920, 1080, 70f64.to_radians())
        .unwrap()
        .with_distortion(RadialDistortion { k1: -0.1, k2: 0.01 })
        .unwrap();
    let camera = Camera::new(
        intrinsics,
        CameraPose {
            position: home,
            vehicle: VehicleAttitude {
                roll_rad: 0.05,
                pitch_rad: -0.03,
                yaw_rad: 1.0,
            },
            gimbal: GimbalAttitude::from_euler(0.0, -0.8, 0.2, YawFrame::Vehicle),
            ..Default::default()
        },
    );
    let ground = FlatTerrain { alt_m_amsl: 10.0 };
    let px = |i: u32| [f64::from(i % 1920), 300.0 + f64::from(i % 780)];
    let target = camera.pixel_to_ground([960.0, 540.0], &ground).unwrap();
    let uncertainty = PoseUncertainty {
        attitude_sigma_rad: 0.005,
        altitude_sigma_m: 2.0,
        position_sigma_m: 1.5,
    };

    time("LocalFrame::new", 1_000_000, |i| {
        LocalFrame::new(home.with_alt(f64::from(i)))
    });
    time("LocalFrame::to_ned", 1_000_000, |i| {
        frame.to_ned(&target.with_alt(f64::from(i % 100)))
    });
    time("LocalFrame::from_ned", 1_000_000, |i| {
        frame.from_ned(DVec3::new(f64::from(i % 1000), 50.0, 100.0))
    });
    time("geo::distance_m (geodesic)", 200_000, |i| {
        distance_m(&home, &target.with_alt(f64::from(i)))
    });
    time("Intrinsics::pixel_to_ray_cam (distorted)", 1_000_000, |i| {
        intrinsics.pixel_to_ray_cam(px(i))
    });
    time("Camera::pixel_to_ground (flat)", 200_000, |i| {
        camera.pixel_to_ground(px(i), &ground)
    });
    time("Camera::ground_to_pixel", 200_000, |i| {
        camera.ground_to_pixel(&target.with_alt(f64::from(i % 10)))
    });
    time("Camera::footprint", 5_000, |_| camera.footprint(&ground));
    time("Camera::ground_accuracy_m", 20_000, |i| {
        camera.ground_accuracy_m(px(i), &ground, &uncertainty)
    });
}
