//! Georeferencing of one frame: the camera at the frame's pose, and a `locate` function per
//! class that intersects a pixel's ray with flat ground raised to the class's typical height
//! (a face is ~1.6 m up, a plate ~0.5 m) and reports the point on the ground below it with a
//! 1-sigma accuracy from the pose uncertainties.

use utkik_shared::camera::{Camera, FlatTerrain, Intrinsics, PoseUncertainty};

use crate::telemetry::FramePose;
use crate::track::GroundFix;

/// Georeferencing settings derived from the config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeorefConfig {
    /// Horizontal field of view, radians.
    pub hfov_rad: f64,
    /// Pose uncertainties.
    pub uncertainty: PoseUncertainty,
}

/// A camera placed for one frame.
#[derive(Debug, Clone)]
pub struct FrameGeoref {
    camera: Camera,
    ground_alt_m_amsl: f64,
    uncertainty: PoseUncertainty,
}

impl FrameGeoref {
    /// The camera of a `width` x `height` frame at `pose`; `None` for an impossible intrinsics.
    pub fn new(config: &GeorefConfig, width: u32, height: u32, pose: &FramePose) -> Option<Self> {
        let intrinsics = Intrinsics::from_hfov(width, height, config.hfov_rad).ok()?;
        Some(Self {
            camera: Camera::new(intrinsics, pose.pose),
            ground_alt_m_amsl: pose.ground_alt_m_amsl,
            uncertainty: config.uncertainty,
        })
    }

    /// Where `px` lands for an object `height_m` above the ground.
    pub fn locate(&self, px: [f64; 2], height_m: f64) -> Option<GroundFix> {
        let terrain = FlatTerrain {
            alt_m_amsl: self.ground_alt_m_amsl + height_m,
        };
        let mut point = self.camera.pixel_to_ground(px, &terrain)?;
        let accuracy_m = self.camera.ground_accuracy_m(px, &terrain, &self.uncertainty);
        point.alt_m_amsl = self.ground_alt_m_amsl;
        Some(GroundFix { point, accuracy_m })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::camera::{CameraMount, CameraPose, GimbalAttitude, VehicleAttitude};
    use utkik_shared::geo::{GeoPoint, distance_m};

    #[test]
    fn nadir_centre_is_below_and_the_edge_is_at_half_the_footprint() {
        let pose = FramePose {
            pose: CameraPose {
                position: GeoPoint {
                    lat_deg: 59.3,
                    lon_deg: 18.0,
                    alt_m_amsl: 60.0,
                },
                vehicle: VehicleAttitude::default(),
                gimbal: GimbalAttitude::nadir(),
                mount: CameraMount::default(),
            },
            ground_alt_m_amsl: 10.0,
        };
        let cfg = GeorefConfig {
            hfov_rad: 90f64.to_radians(),
            uncertainty: PoseUncertainty {
                attitude_sigma_rad: 0.0,
                altitude_sigma_m: 0.0,
                position_sigma_m: 1.0,
            },
        };
        let g = FrameGeoref::new(&cfg, 1280, 720, &pose).unwrap();
        let below = g.locate([640.0, 360.0], 0.0).unwrap();
        assert!(distance_m(&below.point, &pose.pose.position.with_alt(10.0)) < 0.01);
        assert!((below.accuracy_m - 2f64.sqrt()).abs() < 1e-6, "{}", below.accuracy_m);
        // 90° HFOV at 50 m: the right edge is 50 m away; for a face 1.6 m up it is 48.4 m.
        let edge = g.locate([1280.0, 360.0], 0.0).unwrap();
        assert!((distance_m(&edge.point, &below.point) - 50.0).abs() < 0.05);
        let face = g.locate([1280.0, 360.0], 1.6).unwrap();
        assert!((distance_m(&face.point, &below.point) - 48.4).abs() < 0.05);
        assert_eq!(face.point.alt_m_amsl, 10.0, "reported on the ground");
    }
}
