//! How far off a georeferenced pixel may be: propagates attitude, altitude
//! and position uncertainty through the ray/ground intersection numerically,
//! so it stays right for oblique views where linear formulas fail.

use glam::{DMat3, DVec2, DVec3};
use serde::{Deserialize, Serialize};

use super::projection::Placed;
use super::{Camera, MAX_GROUND_RANGE_M, Terrain};
use crate::geo::LocalFrame;

/// 1-sigma uncertainties of the camera pose, each independent.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct PoseUncertainty {
    /// Camera orientation, radians, about each of three axes (roll, pitch, yaw
    /// errors, gimbal and vehicle combined).
    pub attitude_sigma_rad: f64,
    /// Camera height above the terrain, metres (baro/GNSS altitude and terrain
    /// altitude errors combined).
    pub altitude_sigma_m: f64,
    /// Horizontal position, metres, per axis (north and east each).
    pub position_sigma_m: f64,
}

impl Camera {
    /// 1-sigma horizontal error, metres, of [`Self::pixel_to_ground`] at `px`:
    /// the root of the summed north and east variances (DRMS).
    ///
    /// Each attitude axis (north, east, down) and the altitude are moved by
    /// ±1 sigma and the ground point recomputed; half the spread is that
    /// source's contribution. Position error adds directly. Infinite when the
    /// pixel, or a ±1-sigma perturbation of it, has no ground point (at the
    /// horizon the error is unbounded).
    pub fn ground_accuracy_m(&self, px: [f64; 2], terrain: &dyn Terrain, uncertainty: &PoseUncertainty) -> f64 {
        let Some(ray_cam) = self.intrinsics.try_pixel_to_ray_cam(px) else {
            return f64::INFINITY;
        };
        let placed = self.placed();
        if placed.ray_to_ground(ray_cam, terrain, MAX_GROUND_RANGE_M).is_none() {
            return f64::INFINITY;
        }
        let frame = placed.frame;
        let horizontal = |p: &crate::geo::GeoPoint| frame.to_ned(p).truncate();
        let mut variance = 2.0 * uncertainty.position_sigma_m.powi(2);

        let spread = |a: Option<DVec2>, b: Option<DVec2>| -> Option<f64> { Some(((a? - b?) * 0.5).length_squared()) };

        let sigma = uncertainty.attitude_sigma_rad;
        if sigma > 0.0 {
            for axis in [DVec3::X, DVec3::Y, DVec3::Z] {
                let shifted = |angle: f64| {
                    let p = Placed {
                        frame,
                        cam_to_ned: DMat3::from_axis_angle(axis, angle) * placed.cam_to_ned,
                    };
                    p.ray_to_ground(ray_cam, terrain, MAX_GROUND_RANGE_M)
                        .map(|g| horizontal(&g))
                };
                match spread(shifted(sigma), shifted(-sigma)) {
                    Some(v) => variance += v,
                    None => return f64::INFINITY,
                }
            }
        }
        let sigma = uncertainty.altitude_sigma_m;
        if sigma > 0.0 {
            let shifted = |dz: f64| {
                let origin = frame.origin();
                let p = Placed {
                    frame: LocalFrame::new(origin.with_alt(origin.alt_m_amsl + dz)),
                    cam_to_ned: placed.cam_to_ned,
                };
                p.ray_to_ground(ray_cam, terrain, MAX_GROUND_RANGE_M)
                    .map(|g| horizontal(&g))
            };
            match spread(shifted(sigma), shifted(-sigma)) {
                Some(v) => variance += v,
                None => return f64::INFINITY,
            }
        }
        variance.sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CameraPose, FlatTerrain, GimbalAttitude, Intrinsics, YawFrame};
    use super::*;
    use crate::geo::GeoPoint;
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};

    const GROUND: FlatTerrain = FlatTerrain { alt_m_amsl: 0.0 };

    fn camera(pitch_rad: f64) -> Camera {
        Camera::new(
            Intrinsics::from_hfov(1000, 800, FRAC_PI_2).unwrap(),
            CameraPose {
                position: GeoPoint::new(59.9, 10.7, 100.0),
                gimbal: GimbalAttitude::from_euler(0.0, pitch_rad, 0.0, YawFrame::North),
                ..Default::default()
            },
        )
    }

    fn only(attitude: f64, altitude: f64, position: f64) -> PoseUncertainty {
        PoseUncertainty {
            attitude_sigma_rad: attitude,
            altitude_sigma_m: altitude,
            position_sigma_m: position,
        }
    }

    #[test]
    fn nadir_centre_attitude_error_is_h_tan_sigma_per_tilt_axis() {
        let cam = camera(-FRAC_PI_2);
        let a = cam.ground_accuracy_m([500.0, 400.0], &GROUND, &only(0.01, 0.0, 0.0));
        // Tilts about north and east each move the point by 100 tan(0.01); yaw does not.
        let expected = 2f64.sqrt() * 100.0 * 0.01f64.tan();
        assert!((a - expected).abs() < 1e-3, "{a} vs {expected}");
        // Straight down, altitude error moves nothing horizontally.
        assert!(cam.ground_accuracy_m([500.0, 400.0], &GROUND, &only(0.0, 5.0, 0.0)) < 1e-3);
        // Position error per axis adds in both axes.
        let p = cam.ground_accuracy_m([500.0, 400.0], &GROUND, &only(0.0, 0.0, 2.0));
        assert!((p - 2.0 * 2f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn oblique_centre_hand_computed() {
        let cam = camera(-FRAC_PI_4);
        // Altitude: ground distance = height at 45°, so 1 m up moves the point 1 m out.
        let a = cam.ground_accuracy_m([500.0, 400.0], &GROUND, &only(0.0, 1.0, 0.0));
        assert!((a - 1.0).abs() < 1e-3, "{a}");
        // Attitude: pitch (about east) changes 100/tan(45° ∓ s); roll about north
        // swings the ray sideways by 100 tan s; yaw rotates 100 m by s.
        let s = 0.01f64;
        let pitch = 0.5 * (100.0 / (FRAC_PI_4 - s).tan() - 100.0 / (FRAC_PI_4 + s).tan());
        let roll = 100.0 * s.tan();
        let yaw = 100.0 * s.sin();
        let expected = (pitch * pitch + roll * roll + yaw * yaw).sqrt();
        let a = cam.ground_accuracy_m([500.0, 400.0], &GROUND, &only(s, 0.0, 0.0));
        assert!((a - expected).abs() < 2e-3, "{a} vs {expected}");
        // Contributions add in quadrature.
        let all = cam.ground_accuracy_m([500.0, 400.0], &GROUND, &only(s, 1.0, 0.5));
        let exp_all = (expected * expected + 1.0 + 2.0 * 0.25).sqrt();
        assert!((all - exp_all).abs() < 2e-3, "{all} vs {exp_all}");
    }

    #[test]
    fn near_the_horizon_the_error_is_unbounded() {
        let cam = camera(-FRAC_PI_4);
        let no_uncertainty = only(0.0, 0.0, 0.0);
        assert_eq!(cam.ground_accuracy_m([500.0, 400.0], &GROUND, &no_uncertainty), 0.0);
        // Top row looks 45° - atan(0.8) = 6.3° below the horizon: a 0.2 rad error reaches the sky.
        assert_eq!(
            cam.ground_accuracy_m([500.0, 0.0], &GROUND, &only(0.2, 0.0, 0.0)),
            f64::INFINITY
        );
        // Farther points are less certain than nearer ones.
        let u = only(0.005, 1.0, 0.0);
        let near = cam.ground_accuracy_m([500.0, 800.0], &GROUND, &u);
        let far = cam.ground_accuracy_m([500.0, 50.0], &GROUND, &u);
        assert!(far > 3.0 * near, "{near} {far}");
    }
}
