//! [`CameraPose`]: vehicle position and attitude, gimbal attitude and mount,
//! combined into the camera's position and its rotation into NED.

use glam::{DMat3, DQuat, DVec3};
use serde::{Deserialize, Serialize};

use super::{CameraMount, GimbalAttitude, VehicleAttitude, YawFrame};
use crate::geo::{GeoPoint, LocalFrame};

/// Columns: the OpenCV camera axes (x right, y down, z forward) expressed in
/// the gimbal's FRD frame (x forward, y right, z down). `FRD_FROM_CAM * v_cam`
/// is the same vector in FRD: camera x → FRD y, camera y → FRD z, camera z → FRD x.
pub const FRD_FROM_CAM: DMat3 = DMat3::from_cols(DVec3::Y, DVec3::Z, DVec3::X);

/// Everything that places the camera in the world at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct CameraPose {
    /// Vehicle (autopilot) position, as GLOBAL_POSITION_INT: WGS84, altitude AMSL.
    pub position: GeoPoint,
    /// Vehicle attitude, as ATTITUDE.
    pub vehicle: VehicleAttitude,
    /// Gimbal attitude, as GIMBAL_DEVICE_ATTITUDE_STATUS.
    pub gimbal: GimbalAttitude,
    /// Placement of the gimbal base on the body.
    pub mount: CameraMount,
}

impl CameraPose {
    /// Rotation taking the gimbal's FRD frame into NED:
    /// - [`YawFrame::North`]: the gimbal quaternion itself;
    /// - [`YawFrame::Vehicle`]: vehicle yaw about down, then the quaternion (vehicle roll
    ///   and pitch do not enter: the gimbal reports them relative to the horizon);
    /// - [`YawFrame::Body`]: vehicle attitude, then mount rotation, then the quaternion.
    pub fn rotation_frd_to_ned(&self) -> DQuat {
        let q = self.gimbal.quat();
        match self.gimbal.yaw_frame {
            YawFrame::North => q,
            YawFrame::Vehicle => DQuat::from_rotation_z(self.vehicle.yaw_rad) * q,
            YawFrame::Body => self.vehicle.rotation_body_to_ned() * self.mount.base_to_body * q,
        }
    }

    /// Rotation taking OpenCV camera-frame vectors into NED.
    pub fn rotation_cam_to_ned(&self) -> DMat3 {
        DMat3::from_quat(self.rotation_frd_to_ned()) * FRD_FROM_CAM
    }

    /// The camera centre: the vehicle position moved by the mount's lever arm.
    pub fn camera_position(&self) -> GeoPoint {
        if self.mount.offset_body_frd_m == DVec3::ZERO {
            return self.position;
        }
        let offset_ned = self.vehicle.rotation_body_to_ned() * self.mount.offset_body_frd_m;
        LocalFrame::new(self.position).from_ned(offset_ned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::FRAC_PI_2;

    #[test]
    fn nadir_camera_has_image_up_along_the_heading() {
        let pose = CameraPose {
            vehicle: VehicleAttitude {
                yaw_rad: FRAC_PI_2,
                ..Default::default()
            },
            gimbal: GimbalAttitude::nadir(),
            ..Default::default()
        };
        let r = pose.rotation_cam_to_ned();
        // Optical axis down, image right (cam x) = south when heading east, image up (cam -y) = east.
        assert!((r * DVec3::Z - DVec3::Z).length() < 1e-6);
        assert!(
            (r * DVec3::X - DVec3::new(-1.0, 0.0, 0.0)).length() < 1e-6,
            "{}",
            r * DVec3::X
        );
        assert!((r * -DVec3::Y - DVec3::Y).length() < 1e-6);
    }

    #[test]
    fn vehicle_roll_and_pitch_do_not_move_a_stabilised_gimbal() {
        let mut pose = CameraPose {
            gimbal: GimbalAttitude::from_euler(0.0, -0.7, 0.3, YawFrame::Vehicle),
            ..Default::default()
        };
        let level = pose.rotation_cam_to_ned();
        pose.vehicle.roll_rad = 0.3;
        pose.vehicle.pitch_rad = -0.2;
        let tilted = pose.rotation_cam_to_ned();
        assert!((level * DVec3::Z - tilted * DVec3::Z).length() < 1e-12);
        // A body-fixed camera does move.
        pose.gimbal.yaw_frame = YawFrame::Body;
        assert!((pose.rotation_cam_to_ned() * DVec3::Z - level * DVec3::Z).length() > 0.1);
    }

    #[test]
    fn lever_arm_rotates_with_the_body() {
        let pose = CameraPose {
            position: GeoPoint::new(59.9, 10.7, 100.0),
            vehicle: VehicleAttitude {
                yaw_rad: FRAC_PI_2,
                ..Default::default()
            },
            mount: CameraMount {
                offset_body_frd_m: DVec3::new(0.5, 0.0, 0.2),
                ..Default::default()
            },
            ..Default::default()
        };
        let ned = LocalFrame::new(pose.position).to_ned(&pose.camera_position());
        // Forward 0.5 m is east when heading east; 0.2 m below.
        assert!((ned - DVec3::new(0.0, 0.5, 0.2)).length() < 1e-6, "{ned}");
    }
}
