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

    /// Ground metres between the points of two horizontally adjacent pixels at `px`, on the
    /// plane `height_m` above the ground: the size of one pixel there across the view (slant
    /// range / focal length). `None` where the ray does not meet that plane.
    pub fn metres_per_px(&self, px: [f64; 2], height_m: f64) -> Option<f64> {
        let terrain = FlatTerrain {
            alt_m_amsl: self.ground_alt_m_amsl + height_m,
        };
        let a = self.camera.pixel_to_ground([px[0] - 0.5, px[1]], &terrain)?;
        let b = self.camera.pixel_to_ground([px[0] + 0.5, px[1]], &terrain)?;
        Some(utkik_shared::geo::distance_m(&a, &b)).filter(|d| *d > 0.0)
    }

    /// For each image row of a `width x height` frame, the smallest and largest side (px) of
    /// an object `size_m` across whose centre is `height_m` above the ground there (sampled at
    /// the left edge, centre and right edge every 8 rows, each row taking the range of the
    /// samples around it); `None` for rows where no such object can be (the sky). The face
    /// detector runs each pyramid level only on the rows that can hold its faces.
    pub fn object_px_by_row(&self, width: u32, height: u32, size_m: f64, height_m: f64) -> Vec<Option<[f32; 2]>> {
        const STEP: u32 = 8;
        if width == 0 || height == 0 {
            return Vec::new();
        }
        let xs = [0.5, f64::from(width) / 2.0, f64::from(width) - 0.5];
        let sample = |y: u32| -> Option<[f32; 2]> {
            let y = f64::from(y.min(height - 1)) + 0.5;
            let sizes: Vec<f64> = xs
                .iter()
                .filter_map(|&x| self.metres_per_px([x, y], height_m))
                .map(|m| size_m / m)
                .collect();
            let lo = sizes.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = sizes.iter().copied().fold(0.0, f64::max);
            (!sizes.is_empty()).then_some([lo as f32, hi as f32])
        };
        let samples: Vec<Option<[f32; 2]>> = (0..=height.div_ceil(STEP)).map(|k| sample(k * STEP)).collect();
        (0..height)
            .map(|y| {
                let k = (y / STEP) as usize;
                match (samples[k], samples.get(k + 1).copied().flatten()) {
                    (Some(a), Some(b)) => Some([a[0].min(b[0]), a[1].max(b[1])]),
                    (a, b) => a.or(b),
                }
            })
            .collect()
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
        // Straight down from 50 m with f = 640 px: 0.078 m per px, a 0.2 m face ~2.6 px
        // (48.4 m to a face 1.6 m up: 2.64 px); the same on every row, none missing.
        let rows = g.object_px_by_row(1280, 720, 0.2, 1.6);
        assert_eq!(rows.len(), 720);
        let [lo, hi] = rows[360].unwrap();
        assert!((lo - 2.6).abs() < 0.1 && hi >= lo && hi < 2.7, "{lo} {hi}");
        assert!(rows.iter().all(Option::is_some));
    }

    /// A camera looking at the horizon: the sky rows hold no face, faces grow towards the
    /// bottom of the frame.
    #[test]
    fn rows_above_the_horizon_hold_no_face_and_faces_grow_downwards() {
        let pose = FramePose {
            pose: CameraPose {
                position: GeoPoint {
                    lat_deg: 59.3,
                    lon_deg: 18.0,
                    alt_m_amsl: 30.0,
                },
                vehicle: VehicleAttitude::default(),
                gimbal: GimbalAttitude::from_euler(
                    0.0,
                    -10f64.to_radians(),
                    0.0,
                    utkik_shared::camera::YawFrame::Vehicle,
                ),
                mount: CameraMount::default(),
            },
            ground_alt_m_amsl: 10.0,
        };
        let cfg = GeorefConfig {
            hfov_rad: 60f64.to_radians(),
            uncertainty: PoseUncertainty {
                attitude_sigma_rad: 0.0,
                altitude_sigma_m: 0.0,
                position_sigma_m: 0.0,
            },
        };
        let g = FrameGeoref::new(&cfg, 1280, 720, &pose).unwrap();
        let rows = g.object_px_by_row(1280, 720, 0.2, 1.6);
        assert!(rows[0].is_none(), "top row is sky");
        let first = rows.iter().position(Option::is_some).unwrap();
        assert!(first > 100 && first < 360, "horizon at {first}");
        assert!(
            rows[first + 20].unwrap()[1] < rows[719].unwrap()[0],
            "faces grow downwards"
        );
    }
}
