//! [`CameraMount`]: where the camera (or its gimbal base) sits on the vehicle.

use glam::{DQuat, DVec3};
use serde::{Deserialize, Serialize};

/// Fixed placement of the gimbal base (or a fixed camera) on the vehicle body.
///
/// The offset moves the camera centre away from the autopilot's position
/// (lever arm). The rotation matters only for [`super::YawFrame::Body`]: a
/// stabilised gimbal reports its attitude relative to the horizon, which
/// already includes however its base is mounted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CameraMount {
    /// Camera centre relative to the vehicle position, body FRD, metres.
    pub offset_body_frd_m: DVec3,
    /// Rotation taking gimbal-base FRD vectors into body FRD.
    pub base_to_body: DQuat,
}

impl Default for CameraMount {
    /// Gimbal at the body origin, base aligned with the body.
    fn default() -> Self {
        Self {
            offset_body_frd_m: DVec3::ZERO,
            base_to_body: DQuat::IDENTITY,
        }
    }
}

impl CameraMount {
    /// A camera fixed to the body looking `pitch_rad` below the nose
    /// (-π/2 for straight down), at the body origin.
    pub fn fixed_pitch(pitch_rad: f64) -> Self {
        Self {
            offset_body_frd_m: DVec3::ZERO,
            base_to_body: DQuat::from_rotation_y(pitch_rad),
        }
    }
}
