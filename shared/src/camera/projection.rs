//! [`Camera`]: intrinsics plus pose, projecting pixels to the ground and
//! ground points to pixels.

use glam::{DMat3, DVec3};
use serde::{Deserialize, Serialize};

use super::{CameraPose, Intrinsics, Terrain};
use crate::geo::{GeoPoint, LocalFrame};

/// Slant range beyond which [`Camera::pixel_to_ground`] gives up, metres.
/// From 500 m the horizon is ~80 km away, so this only cuts rays that graze it.
pub const MAX_GROUND_RANGE_M: f64 = 100_000.0;

/// A camera at one instant: how it images ([`Intrinsics`]) and where it is
/// ([`CameraPose`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    /// Pinhole model and distortion.
    pub intrinsics: Intrinsics,
    /// Position and attitude.
    pub pose: CameraPose,
}

/// The camera placed in its own local frame, computed once per query.
pub(crate) struct Placed {
    /// NED frame at the camera centre.
    pub frame: LocalFrame,
    /// Camera frame to that NED.
    pub cam_to_ned: DMat3,
}

impl Placed {
    /// Ground point of a camera-frame ray, within `max_range_m`.
    pub fn ray_to_ground(&self, ray_cam: DVec3, terrain: &dyn Terrain, max_range_m: f64) -> Option<GeoPoint> {
        terrain.intersect_ray(&self.frame, self.cam_to_ned * ray_cam, max_range_m)
    }
}

impl Camera {
    /// A camera from its parts.
    pub fn new(intrinsics: Intrinsics, pose: CameraPose) -> Self {
        Self { intrinsics, pose }
    }

    pub(crate) fn placed(&self) -> Placed {
        Placed {
            frame: LocalFrame::new(self.pose.camera_position()),
            cam_to_ned: self.rotation_cam_to_ned(),
        }
    }

    /// Rotation taking camera-frame vectors (x right, y down, z forward) into
    /// NED at the camera.
    pub fn rotation_cam_to_ned(&self) -> DMat3 {
        self.pose.rotation_cam_to_ned()
    }

    /// Unit ray through pixel `px` in NED at the camera (see
    /// [`Intrinsics::pixel_to_ray_cam`] for pixels beyond the distortion's range).
    pub fn pixel_to_ray_ned(&self, px: [f64; 2]) -> DVec3 {
        self.rotation_cam_to_ned() * self.intrinsics.pixel_to_ray_cam(px)
    }

    /// Where the ray through pixel `px` meets `terrain` (altitude = the
    /// terrain's), within [`MAX_GROUND_RANGE_M`]. `None` for rays at or above
    /// the horizon, a camera below the ground, or pixels the distortion model
    /// cannot invert: never a wrong point.
    pub fn pixel_to_ground(&self, px: [f64; 2], terrain: &dyn Terrain) -> Option<GeoPoint> {
        let ray = self.intrinsics.try_pixel_to_ray_cam(px)?;
        self.placed().ray_to_ground(ray, terrain, MAX_GROUND_RANGE_M)
    }

    /// Pixel where `p` appears, or `None` when it is behind the camera (or
    /// beyond the distortion model's range). The pixel may lie outside the
    /// image; occlusion by terrain is not checked.
    pub fn ground_to_pixel(&self, p: &GeoPoint) -> Option<[f64; 2]> {
        let placed = self.placed();
        let ray_ned = placed.frame.to_ned(p);
        self.intrinsics
            .ray_cam_to_pixel(placed.cam_to_ned.transpose() * ray_ned)
    }

    /// As [`Self::ground_to_pixel`], but also `None` outside the image.
    pub fn ground_to_pixel_in_image(&self, p: &GeoPoint) -> Option<[f64; 2]> {
        self.ground_to_pixel(p).filter(|px| self.intrinsics.contains(*px))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CameraMount, FlatTerrain, GimbalAttitude, RadialDistortion, VehicleAttitude, YawFrame};
    use super::*;
    use proptest::prelude::*;
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};

    const HOME: GeoPoint = GeoPoint::new(59.9139, 10.7522, 110.0);
    const GROUND: FlatTerrain = FlatTerrain { alt_m_amsl: 10.0 };

    fn camera(gimbal: GimbalAttitude, vehicle: VehicleAttitude) -> Camera {
        Camera::new(
            Intrinsics::from_hfov(1000, 800, FRAC_PI_2).unwrap(),
            CameraPose {
                position: HOME,
                vehicle,
                gimbal,
                mount: CameraMount::default(),
            },
        )
    }

    fn ned(p: &GeoPoint) -> DVec3 {
        LocalFrame::new(HOME).to_ned(p)
    }

    #[test]
    fn nadir_90_degree_hfov_at_100_m_sees_200_m_across() {
        let cam = camera(GimbalAttitude::nadir(), VehicleAttitude::default());
        let left = cam.pixel_to_ground([0.0, 400.0], &GROUND).unwrap();
        let right = cam.pixel_to_ground([1000.0, 400.0], &GROUND).unwrap();
        let (l, r) = (ned(&left), ned(&right));
        // West edge at -100 m east, east edge at +100 m (curvature: < 1 mm).
        assert!((l - DVec3::new(0.0, -100.0, 100.0)).length() < 2e-3, "{l}");
        assert!((r - DVec3::new(0.0, 100.0, 100.0)).length() < 2e-3, "{r}");
        assert!((crate::geo::distance_m(&left, &right) - 200.0).abs() < 0.01);
        // Image top is north (heading 0): 400 px up at f = 500 px is 80 m.
        let top = ned(&cam.pixel_to_ground([500.0, 0.0], &GROUND).unwrap());
        assert!((top - DVec3::new(80.0, 0.0, 100.0)).length() < 2e-3, "{top}");
    }

    #[test]
    fn oblique_pitch_minus_45_hand_computed() {
        let cam = camera(
            GimbalAttitude::from_euler(0.0, -FRAC_PI_4, 0.0, YawFrame::Vehicle),
            Default::default(),
        );
        let centre = ned(&cam.pixel_to_ground([500.0, 400.0], &GROUND).unwrap());
        assert!((centre - DVec3::new(100.0, 0.0, 100.0)).length() < 2e-3, "{centre}");
        // 30° above the centre is 15° below the horizon: 100 / tan 15° = 373.2 m north.
        let v = 400.0 - 500.0 * 30f64.to_radians().tan();
        let far = ned(&cam.pixel_to_ground([500.0, v], &GROUND).unwrap());
        let expected = 100.0 / 15f64.to_radians().tan();
        assert!(
            (far.x - expected).abs() < 0.05 && far.y.abs() < 1e-6,
            "{far} vs {expected}"
        );
        // Image bottom edge: 400 px below centre = atan(0.8) more down.
        let near = ned(&cam.pixel_to_ground([500.0, 800.0], &GROUND).unwrap());
        let expected = 100.0 / (FRAC_PI_4 + 0.8f64.atan()).tan();
        assert!((near.x - expected).abs() < 2e-3, "{near} vs {expected}");
    }

    #[test]
    fn rolled_gimbal_hand_computed() {
        // Pitch -45°, roll 30°: pixel on the centre row, 20° right of centre.
        // Derivation in FRD: ray (1, tan a, 0) -> roll -> (1, t cos30, t sin30) -> pitch -45
        // -> north (1 - t/2) c, east t cos30, down (1 + t/2) c with c = cos 45°.
        let cam = camera(
            GimbalAttitude::from_euler(30f64.to_radians(), -FRAC_PI_4, 0.0, YawFrame::Vehicle),
            Default::default(),
        );
        let t = 20f64.to_radians().tan();
        let p = ned(&cam.pixel_to_ground([500.0 + 500.0 * t, 400.0], &GROUND).unwrap());
        let c = FRAC_PI_4.cos();
        let (n, e, d) = ((1.0 - t / 2.0) * c, t * 30f64.to_radians().cos(), (1.0 + t / 2.0) * c);
        let expected = DVec3::new(100.0 * n / d, 100.0 * e / d, 100.0);
        assert!((p - expected).length() < 5e-3, "{p} vs {expected}");
        // Roll about the optical axis leaves the centre where it was.
        let centre = ned(&cam.pixel_to_ground([500.0, 400.0], &GROUND).unwrap());
        assert!((centre - DVec3::new(100.0, 0.0, 100.0)).length() < 2e-3);
    }

    #[test]
    fn rolled_vehicle_with_a_fixed_down_camera() {
        let mut cam = camera(
            GimbalAttitude {
                yaw_frame: YawFrame::Body,
                ..Default::default()
            },
            VehicleAttitude {
                roll_rad: 10f64.to_radians(),
                ..Default::default()
            },
        );
        cam.pose.mount = CameraMount::fixed_pitch(-FRAC_PI_2);
        let p = ned(&cam.pixel_to_ground([500.0, 400.0], &GROUND).unwrap());
        // Right wing down tilts the camera to the west by 10°.
        let expected = DVec3::new(0.0, -100.0 * 10f64.to_radians().tan(), 100.0);
        assert!((p - expected).length() < 2e-3, "{p} vs {expected}");
        // The same vehicle roll with a stabilised gimbal changes nothing.
        let stab = camera(GimbalAttitude::nadir(), cam.pose.vehicle);
        let q = ned(&stab.pixel_to_ground([500.0, 400.0], &GROUND).unwrap());
        assert!((q - DVec3::new(0.0, 0.0, 100.0)).length() < 2e-3);
    }

    #[test]
    fn yaw_in_vehicle_frame_adds_the_heading_north_frame_does_not() {
        let vehicle = VehicleAttitude {
            yaw_rad: 60f64.to_radians(),
            ..Default::default()
        };
        let g = |frame| GimbalAttitude::from_euler(0.0, -FRAC_PI_4, 30f64.to_radians(), frame);
        let in_vehicle = ned(&camera(g(YawFrame::Vehicle), vehicle)
            .pixel_to_ground([500.0, 400.0], &GROUND)
            .unwrap());
        let in_north = ned(&camera(g(YawFrame::North), vehicle)
            .pixel_to_ground([500.0, 400.0], &GROUND)
            .unwrap());
        // Vehicle frame: 60 + 30 = 90° (east); north frame: 30°.
        assert!(
            (in_vehicle - DVec3::new(0.0, 100.0, 100.0)).length() < 2e-3,
            "{in_vehicle}"
        );
        let (s, c) = 30f64.to_radians().sin_cos();
        assert!(
            (in_north - DVec3::new(100.0 * c, 100.0 * s, 100.0)).length() < 2e-3,
            "{in_north}"
        );
    }

    #[test]
    fn rays_above_the_horizon_give_no_point_never_a_wrong_one() {
        // Pitched up 10°: the upper part of the image is sky.
        let cam = camera(
            GimbalAttitude::from_euler(0.0, 10f64.to_radians(), 0.7, YawFrame::North),
            Default::default(),
        );
        let (mut sky, mut ground) = (0, 0);
        for i in 0..=20 {
            for j in 0..=16 {
                let px = [i as f64 * 50.0, j as f64 * 50.0];
                let down = cam.pixel_to_ray_ned(px).z;
                match cam.pixel_to_ground(px, &GROUND) {
                    None => {
                        assert!(down < 0.01, "{px:?} looks down ({down}) but found no ground");
                        sky += 1;
                    }
                    Some(p) => {
                        assert!(down > 0.0, "{px:?} looks up but hit {p:?}");
                        let back = cam.ground_to_pixel(&p).unwrap();
                        assert!((back[0] - px[0]).hypot(back[1] - px[1]) < 0.01);
                        ground += 1;
                    }
                }
            }
        }
        assert!(sky > 50 && ground > 50, "{sky} {ground}");
        // Entirely skywards: nothing.
        let up = camera(
            GimbalAttitude::from_euler(0.0, 1.2, 0.0, YawFrame::North),
            Default::default(),
        );
        assert_eq!(up.pixel_to_ground([500.0, 400.0], &GROUND), None);
    }

    #[test]
    fn garbage_pose_gives_no_point_rather_than_a_wrong_one() {
        let mut cam = camera(GimbalAttitude::nadir(), Default::default());
        cam.pose.gimbal.q_wxyz = [0.0; 4];
        assert_eq!(cam.pixel_to_ground([500.0, 400.0], &GROUND), None);
        assert_eq!(cam.ground_to_pixel(&HOME.with_alt(10.0)), None);
        let mut cam = camera(GimbalAttitude::nadir(), Default::default());
        cam.pose.position.alt_m_amsl = f64::NAN;
        assert_eq!(cam.pixel_to_ground([500.0, 400.0], &GROUND), None);
        assert_eq!(cam.ground_to_pixel(&HOME.with_alt(10.0)), None);
        assert_eq!(cam.footprint(&GROUND), None);
        assert!(
            !cam.ground_accuracy_m([500.0, 400.0], &GROUND, &Default::default())
                .is_finite()
        );
    }

    #[test]
    fn ground_behind_the_camera_has_no_pixel() {
        let cam = camera(
            GimbalAttitude::from_euler(0.0, -FRAC_PI_4, 0.0, YawFrame::North),
            Default::default(),
        );
        let behind = LocalFrame::new(HOME).from_ned(DVec3::new(-200.0, 0.0, 100.0));
        assert_eq!(cam.ground_to_pixel(&behind), None);
        // Ahead but far off to the side: a pixel, just not in the image.
        let side = LocalFrame::new(HOME).from_ned(DVec3::new(100.0, 400.0, 100.0));
        let px = cam.ground_to_pixel(&side).unwrap();
        assert!(px[0] > 1000.0);
        assert_eq!(cam.ground_to_pixel_in_image(&side), None);
        let ahead = LocalFrame::new(HOME).from_ned(DVec3::new(100.0, 0.0, 100.0));
        let px = cam.ground_to_pixel_in_image(&ahead).unwrap();
        assert!((px[0] - 500.0).abs() < 0.01 && (px[1] - 400.0).abs() < 0.01, "{px:?}");
    }

    proptest! {
        #[test]
        fn pixel_ground_pixel_round_trip_within_a_hundredth_of_a_pixel(
            u in 0.0f64..=1920.0, v in 0.0f64..=1080.0,
            roll in -0.3f64..0.3, pitch in -1.57f64..-0.35, yaw in -PI..PI,
            vroll in -0.4f64..0.4, vpitch in -0.4f64..0.4, vyaw in -PI..PI,
            frame in 0usize..3, k1 in -0.2f64..0.1, k2 in -0.02f64..0.02,
            alt in 20.0f64..500.0, offset in prop::array::uniform3(-0.5f64..0.5),
        ) {
            let intrinsics = Intrinsics::from_hfov(1920, 1080, 70f64.to_radians()).unwrap()
                .with_distortion(RadialDistortion { k1, k2 }).unwrap();
            let yaw_frame = [YawFrame::Vehicle, YawFrame::North, YawFrame::Body][frame];
            let cam = Camera::new(intrinsics, CameraPose {
                position: HOME.with_alt(10.0 + alt),
                vehicle: VehicleAttitude { roll_rad: vroll, pitch_rad: vpitch, yaw_rad: vyaw },
                gimbal: GimbalAttitude::from_euler(roll, pitch, yaw, yaw_frame),
                mount: CameraMount { offset_body_frd_m: DVec3::from_array(offset), ..Default::default() },
            });
            let ray = cam.pixel_to_ray_ned([u, v]);
            match cam.pixel_to_ground([u, v], &GROUND) {
                Some(p) => {
                    prop_assert!(ray.z > 0.0);
                    prop_assert!((p.alt_m_amsl - 10.0).abs() < 1e-9);
                    let back = cam.ground_to_pixel(&p).unwrap();
                    let err = (back[0] - u).hypot(back[1] - v);
                    prop_assert!(err < 0.01, "{:?} -> {:?} -> {:?} ({} px)", [u, v], p, back, err);
                }
                // Only rays that point at (or within the earth's curvature of) the horizon miss.
                None => prop_assert!(ray.z < 0.015, "{:?} down {} found no ground", [u, v], ray.z),
            }
        }
    }
}
