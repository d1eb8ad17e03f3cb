//! Vehicle and gimbal attitudes with MAVLink semantics: ATTITUDE for the
//! vehicle, GIMBAL_DEVICE_ATTITUDE_STATUS (quaternion + yaw-frame flags) for
//! the gimbal.

use glam::DQuat;
use serde::{Deserialize, Serialize};

use super::CameraError;
use crate::dialect::{ATTITUDE_DATA, GIMBAL_DEVICE_ATTITUDE_STATUS_DATA, GimbalDeviceFlags};

/// Euler ZYX rotation (yaw, then pitch, then roll) taking FRD vectors into NED,
/// the convention of MAVLink ATTITUDE and of the gimbal quaternion.
pub(crate) fn euler_zyx(roll_rad: f64, pitch_rad: f64, yaw_rad: f64) -> DQuat {
    DQuat::from_rotation_z(yaw_rad) * DQuat::from_rotation_y(pitch_rad) * DQuat::from_rotation_x(roll_rad)
}

/// Vehicle attitude as in MAVLink ATTITUDE: body FRD relative to NED, Euler ZYX.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct VehicleAttitude {
    /// Roll, radians, right wing down positive.
    pub roll_rad: f64,
    /// Pitch, radians, nose up positive.
    pub pitch_rad: f64,
    /// Yaw (heading), radians clockwise from north.
    pub yaw_rad: f64,
}

impl VehicleAttitude {
    /// Rotation taking body FRD vectors into NED.
    pub fn rotation_body_to_ned(&self) -> DQuat {
        euler_zyx(self.roll_rad, self.pitch_rad, self.yaw_rad)
    }
}

impl From<&ATTITUDE_DATA> for VehicleAttitude {
    fn from(m: &ATTITUDE_DATA) -> Self {
        Self {
            roll_rad: f64::from(m.roll),
            pitch_rad: f64::from(m.pitch),
            yaw_rad: f64::from(m.yaw),
        }
    }
}

/// What the gimbal quaternion's yaw is relative to. Roll and pitch are
/// relative to the horizon in both MAVLink cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum YawFrame {
    /// Yaw relative to the vehicle heading (MAVLink "vehicle frame": the earth
    /// frame rotated by the vehicle yaw). GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME,
    /// or neither yaw-frame flag and no YAW_LOCK.
    #[default]
    Vehicle,
    /// Yaw relative to north (earth frame). GIMBAL_DEVICE_FLAGS_YAW_IN_EARTH_FRAME,
    /// or neither yaw-frame flag and YAW_LOCK set.
    North,
    /// Not a MAVLink case: the whole quaternion is relative to the gimbal base,
    /// which rotates with the vehicle body (a fixed, unstabilised camera; the
    /// [`super::CameraMount`] rotation applies). Use the identity quaternion for
    /// a camera looking along the base's x axis.
    Body,
}

/// Gimbal attitude as in GIMBAL_DEVICE_ATTITUDE_STATUS: a Hamilton quaternion
/// (w, x, y, z) rotating the gimbal's FRD frame (x along the optical axis,
/// y right, z down) into the frame named by `yaw_frame`. Pitch -90° is nadir.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GimbalAttitude {
    /// Quaternion w, x, y, z, as on the wire.
    pub q_wxyz: [f32; 4],
    /// What the yaw is relative to.
    pub yaw_frame: YawFrame,
}

impl Default for GimbalAttitude {
    /// Looking straight ahead, level, yaw relative to the vehicle.
    fn default() -> Self {
        Self {
            q_wxyz: [1.0, 0.0, 0.0, 0.0],
            yaw_frame: YawFrame::Vehicle,
        }
    }
}

impl GimbalAttitude {
    /// From GIMBAL_DEVICE_ATTITUDE_STATUS `q` and `flags`. The yaw frame follows
    /// the flags: YAW_IN_VEHICLE_FRAME → vehicle, YAW_IN_EARTH_FRAME → north,
    /// neither → north if YAW_LOCK else vehicle (the pre-2022 semantics). Rejects
    /// both yaw-frame flags at once and non-finite or non-unit quaternions.
    pub fn from_mavlink(q_wxyz: [f32; 4], flags: GimbalDeviceFlags) -> Result<Self, CameraError> {
        let in_vehicle = flags.contains(GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME);
        let in_earth = flags.contains(GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_YAW_IN_EARTH_FRAME);
        let yaw_frame = match (in_vehicle, in_earth) {
            (true, true) => return Err(CameraError::ConflictingGimbalYawFlags { flags: flags.bits() }),
            (true, false) => YawFrame::Vehicle,
            (false, true) => YawFrame::North,
            (false, false) if flags.contains(GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_YAW_LOCK) => YawFrame::North,
            (false, false) => YawFrame::Vehicle,
        };
        let norm = q_wxyz.iter().map(|c| f64::from(*c).powi(2)).sum::<f64>().sqrt();
        if !(q_wxyz.iter().all(|c| c.is_finite()) && (norm - 1.0).abs() < 0.01) {
            return Err(CameraError::InvalidGimbalQuaternion { q_wxyz });
        }
        Ok(Self { q_wxyz, yaw_frame })
    }

    /// From Euler angles (radians, ZYX as MAVLink): pitch -π/2 is nadir.
    pub fn from_euler(roll_rad: f64, pitch_rad: f64, yaw_rad: f64, yaw_frame: YawFrame) -> Self {
        let q = euler_zyx(roll_rad, pitch_rad, yaw_rad);
        Self {
            q_wxyz: [q.w as f32, q.x as f32, q.y as f32, q.z as f32],
            yaw_frame,
        }
    }

    /// Looking straight down, yaw 0 relative to the vehicle (image top = vehicle forward).
    pub fn nadir() -> Self {
        Self::from_euler(0.0, -std::f64::consts::FRAC_PI_2, 0.0, YawFrame::Vehicle)
    }

    /// The quaternion as f64, normalized.
    pub fn quat(&self) -> DQuat {
        let [w, x, y, z] = self.q_wxyz.map(f64::from);
        DQuat::from_xyzw(x, y, z, w).normalize()
    }

    /// Euler angles (roll, pitch, yaw), radians, ZYX.
    pub fn to_euler(&self) -> (f64, f64, f64) {
        let (yaw, pitch, roll) = self.quat().to_euler(glam::EulerRot::ZYX);
        (roll, pitch, yaw)
    }
}

impl TryFrom<&GIMBAL_DEVICE_ATTITUDE_STATUS_DATA> for GimbalAttitude {
    type Error = CameraError;

    /// [`GimbalAttitude::from_mavlink`] on the message's `q` and `flags`.
    fn try_from(m: &GIMBAL_DEVICE_ATTITUDE_STATUS_DATA) -> Result<Self, CameraError> {
        Self::from_mavlink(m.q, m.flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec3;
    use std::f32::consts::FRAC_1_SQRT_2;
    use std::f64::consts::FRAC_PI_2;

    #[test]
    fn flags_choose_the_yaw_frame() {
        let q = [1.0, 0.0, 0.0, 0.0];
        let f = |bits| GimbalDeviceFlags::from_bits_truncate(bits);
        assert_eq!(
            GimbalAttitude::from_mavlink(q, f(32)).unwrap().yaw_frame,
            YawFrame::Vehicle
        );
        assert_eq!(
            GimbalAttitude::from_mavlink(q, f(64)).unwrap().yaw_frame,
            YawFrame::North
        );
        // Old semantics: YAW_LOCK (16) alone means north, nothing means vehicle.
        assert_eq!(
            GimbalAttitude::from_mavlink(q, f(16 | 4 | 8)).unwrap().yaw_frame,
            YawFrame::North
        );
        assert_eq!(
            GimbalAttitude::from_mavlink(q, f(4 | 8)).unwrap().yaw_frame,
            YawFrame::Vehicle
        );
        // The new flags override YAW_LOCK.
        assert_eq!(
            GimbalAttitude::from_mavlink(q, f(16 | 32)).unwrap().yaw_frame,
            YawFrame::Vehicle
        );
        assert_eq!(
            GimbalAttitude::from_mavlink(q, f(32 | 64)),
            Err(CameraError::ConflictingGimbalYawFlags { flags: 96 })
        );
    }

    #[test]
    fn from_mavlink_messages() {
        let status = GIMBAL_DEVICE_ATTITUDE_STATUS_DATA {
            q: [FRAC_1_SQRT_2, 0.0, -FRAC_1_SQRT_2, 0.0],
            flags: GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_YAW_IN_EARTH_FRAME,
            ..Default::default()
        };
        let g = GimbalAttitude::try_from(&status).unwrap();
        assert_eq!(g.yaw_frame, YawFrame::North);
        assert!((g.to_euler().1 + FRAC_PI_2).abs() < 1e-6);
        let bad = GIMBAL_DEVICE_ATTITUDE_STATUS_DATA {
            q: [f32::NAN; 4],
            ..status
        };
        assert!(GimbalAttitude::try_from(&bad).is_err());
        let att = ATTITUDE_DATA {
            roll: 0.1,
            pitch: -0.2,
            yaw: 3.0,
            ..Default::default()
        };
        let v = VehicleAttitude::from(&att);
        assert_eq!(
            (v.roll_rad, v.pitch_rad, v.yaw_rad),
            (0.1f32 as f64, -0.2f32 as f64, 3.0)
        );
    }

    #[test]
    fn invalid_quaternions_are_rejected() {
        let flags = GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME;
        for q in [[f32::NAN, 0.0, 0.0, 0.0], [0.0; 4], [2.0, 0.0, 0.0, 0.0]] {
            let err = GimbalAttitude::from_mavlink(q, flags).unwrap_err();
            assert!(matches!(err, CameraError::InvalidGimbalQuaternion { .. }), "{q:?}");
        }
        assert!(GimbalAttitude::from_mavlink([FRAC_1_SQRT_2, 0.0, -FRAC_1_SQRT_2, 0.0], flags).is_ok());
    }

    #[test]
    fn euler_pitch_minus_90_points_forward_axis_down() {
        let g = GimbalAttitude::nadir();
        let fwd = g.quat() * DVec3::X;
        assert!((fwd - DVec3::Z).length() < 1e-6, "{fwd}");
        let (r, p, y) = GimbalAttitude::from_euler(0.1, -0.5, 1.2, YawFrame::North).to_euler();
        assert!((r - 0.1).abs() < 1e-6 && (p + 0.5).abs() < 1e-6 && (y - 1.2).abs() < 1e-6);
        // Yaw 90° turns forward to east.
        let q = GimbalAttitude::from_euler(0.0, 0.0, FRAC_PI_2, YawFrame::North).quat();
        assert!((q * DVec3::X - DVec3::Y).length() < 1e-6);
    }

    #[test]
    fn vehicle_roll_tilts_down_axis_to_the_left() {
        // Right wing down: the body's down axis swings to the west (negative east).
        let a = VehicleAttitude {
            roll_rad: 0.2,
            pitch_rad: 0.0,
            yaw_rad: 0.0,
        };
        let d = a.rotation_body_to_ned() * DVec3::Z;
        assert!(
            (d - DVec3::new(0.0, -0.2f64.sin(), 0.2f64.cos())).length() < 1e-12,
            "{d}"
        );
    }
}
