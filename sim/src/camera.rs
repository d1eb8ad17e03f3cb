//! The drone camera as the `shared` camera model sees it: intrinsics from the
//! scenario's field of view and the video size, pose from exactly the values
//! the telemetry reports (GLOBAL_POSITION_INT, ATTITUDE,
//! GIMBAL_DEVICE_ATTITUDE_STATUS). Rendering from the same pose the onboard
//! receives means a geolocation error measured by `evaluate` is the
//! pipeline's, not a disagreement between simulator and telemetry.

use utkik_shared::camera::{Camera, CameraError, CameraMount, CameraPose, Intrinsics, VehicleAttitude};

use utkik_shared::geo::LocalFrame;

use crate::scenario::CameraSpec;
use crate::simulation::Simulation;
use crate::telemetry::{gimbal_attitude, vehicle_geo};
use crate::vehicle::Multirotor;

/// Image size, pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoSize {
    /// Width, pixels.
    pub width_px: u32,
    /// Height, pixels.
    pub height_px: u32,
}

impl VideoSize {
    /// The size a scenario's camera spec asks for.
    pub fn of(spec: &CameraSpec) -> Self {
        Self {
            width_px: spec.width_px,
            height_px: spec.height_px,
        }
    }

    /// Bytes of one RGB8 frame.
    pub fn rgb_len(&self) -> usize {
        self.width_px as usize * self.height_px as usize * 3
    }
}

impl std::str::FromStr for VideoSize {
    type Err = String;

    /// `WIDTHxHEIGHT`, e.g. `1280x720`; both even (I420 needs it) and at least 16.
    fn from_str(s: &str) -> Result<Self, String> {
        let (w, h) = s
            .split_once(['x', 'X'])
            .ok_or_else(|| format!("{s:?} is not WIDTHxHEIGHT (e.g. 1280x720)"))?;
        let parse = |v: &str| v.trim().parse::<u32>().map_err(|e| format!("{s:?}: {e}"));
        let size = Self {
            width_px: parse(w)?,
            height_px: parse(h)?,
        };
        if size.width_px < 16
            || size.height_px < 16
            || !size.width_px.is_multiple_of(2)
            || !size.height_px.is_multiple_of(2)
        {
            return Err(format!("{s:?}: width and height must be even and at least 16"));
        }
        Ok(size)
    }
}

impl std::fmt::Display for VideoSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width_px, self.height_px)
    }
}

/// Intrinsics for `size` with the scenario's horizontal field of view.
pub fn intrinsics(spec: &CameraSpec, size: VideoSize) -> Result<Intrinsics, CameraError> {
    Intrinsics::from_hfov(size.width_px, size.height_px, spec.hfov_deg.to_radians())
}

/// The camera pose of `vehicle`, as telemetry reports it.
pub fn camera_pose(frame: &LocalFrame, v: &Multirotor) -> CameraPose {
    CameraPose {
        position: vehicle_geo(frame, v),
        vehicle: VehicleAttitude {
            roll_rad: v.state.roll_rad,
            pitch_rad: v.state.pitch_rad,
            yaw_rad: v.state.yaw_rad,
        },
        gimbal: gimbal_attitude(v),
        mount: CameraMount::default(),
    }
}

/// The camera at sim time `time_usec` (see [`Simulation::vehicle_at`]).
pub fn camera_at(sim: &Simulation, time_usec: u64, intrinsics: Intrinsics) -> Camera {
    Camera::new(intrinsics, camera_pose(sim.frame(), &sim.vehicle_at(time_usec)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Scenario, scenarios_dir};
    use utkik_shared::camera::FlatTerrain;

    #[test]
    fn video_size_parses_and_rejects_odd_sizes() {
        assert_eq!(
            "1280x720".parse::<VideoSize>().unwrap(),
            VideoSize {
                width_px: 1280,
                height_px: 720
            }
        );
        assert_eq!("640X360".parse::<VideoSize>().unwrap().to_string(), "640x360");
        for bad in ["1280", "1281x720", "8x8", "ax720", "1280x"] {
            assert!(bad.parse::<VideoSize>().is_err(), "{bad}");
        }
    }

    #[test]
    fn point_of_interest_gimbal_puts_the_point_at_the_image_centre() {
        // anpr-road: hover beside the road, gimbal on a point of the road ahead.
        let s = Scenario::load(&scenarios_dir().join("anpr-road.toml")).unwrap();
        let crate::scenario::GimbalSpec::PointOfInterest { at } = s.gimbal else {
            panic!("{:?}", s.gimbal)
        };
        let mut sim = Simulation::new(s.clone(), 0);
        sim.step_to(10_000_000);
        let cam = camera_at(
            &sim,
            10_000_000,
            intrinsics(&s.camera, VideoSize::of(&s.camera)).unwrap(),
        );
        let centre = [f64::from(s.camera.width_px) / 2.0, f64::from(s.camera.height_px) / 2.0];
        let ground = cam
            .pixel_to_ground(
                centre,
                &FlatTerrain {
                    alt_m_amsl: s.origin.alt_m_amsl,
                },
            )
            .unwrap();
        let enu = sim.frame().to_enu(&ground);
        // The gimbal slews and the vehicle drifts in gusts: within a metre.
        assert!((enu.x - at[0]).hypot(enu.y - at[1]) < 1.0, "image centre at {enu:?}");
    }
}
