//! A camera without an autopilot reports its own pose to the ground (issue 19 item 2).
//!
//! A drone's position, attitude and gimbal reach the station from its autopilot (over the
//! telemetry radio or through the companion computer). A traffic camera on a mast (`[site]`) or a
//! camera in a police car (pose from the GNSS receiver's NMEA) has no autopilot, so without this
//! the station would list it with no position: no place on the map, no label, no footprint. The
//! onboard program knows the pose it georeferences with, and sends it in the messages a station
//! already reads from autopilots: GLOBAL_POSITION_INT (position, height above the ground level
//! it uses, and as heading the direction the camera looks: a mast has no heading of its own),
//! ATTITUDE (the vehicle's, or the mast's: level), and
//! GIMBAL_DEVICE_ATTITUDE_STATUS with the camera's whole orientation in the earth frame (flag
//! YAW_IN_EARTH_FRAME: the quaternion is the camera's rotation into NED, mount included), so the
//! station's footprint is the one the onboard projects detections with.

use utkik_shared::dialect::{
    ATTITUDE_DATA, GIMBAL_DEVICE_ATTITUDE_STATUS_DATA, GLOBAL_POSITION_INT_DATA, GimbalDeviceFlags, MavMessage,
};

use crate::telemetry::FramePose;

/// GLOBAL_POSITION_INT, ATTITUDE and GIMBAL_DEVICE_ATTITUDE_STATUS for `pose`, stamped
/// `time_boot_ms` (ms since the program started: the station does not time-align them).
pub fn pose_messages(pose: &FramePose, time_boot_ms: u32) -> [MavMessage; 3] {
    let p = &pose.pose;
    let position = p.camera_position();
    let height_m = position.alt_m_amsl - pose.ground_alt_m_amsl;
    let yaw = (p.vehicle.yaw_rad + std::f64::consts::PI).rem_euclid(std::f64::consts::TAU) - std::f64::consts::PI;
    let q = p.rotation_frd_to_ned().normalize();
    // Where the camera looks, in NED (x north, y east); straight down has no direction: the
    // vehicle's heading then.
    let forward = q * glam::DVec3::X;
    let heading_rad = if forward.x.hypot(forward.y) > 1e-3 {
        forward.y.atan2(forward.x)
    } else {
        p.vehicle.yaw_rad
    };
    let heading_deg = heading_rad.to_degrees().rem_euclid(360.0);
    [
        MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
            time_boot_ms,
            lat: position.lat_e7(),
            lon: position.lon_e7(),
            alt: position.alt_mm(),
            relative_alt: (height_m * 1000.0).round() as i32,
            vx: 0,
            vy: 0,
            vz: 0,
            hdg: ((heading_deg * 100.0).round() as u16) % 36000,
        }),
        MavMessage::ATTITUDE(ATTITUDE_DATA {
            time_boot_ms,
            roll: p.vehicle.roll_rad as f32,
            pitch: p.vehicle.pitch_rad as f32,
            yaw: yaw as f32,
            rollspeed: 0.0,
            pitchspeed: 0.0,
            yawspeed: 0.0,
        }),
        MavMessage::GIMBAL_DEVICE_ATTITUDE_STATUS(GIMBAL_DEVICE_ATTITUDE_STATUS_DATA {
            time_boot_ms,
            q: [q.w as f32, q.x as f32, q.y as f32, q.z as f32],
            flags: GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_ROLL_LOCK
                | GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_PITCH_LOCK
                | GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_YAW_LOCK
                | GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_YAW_IN_EARTH_FRAME,
            angular_velocity_x: f32::NAN,
            angular_velocity_y: f32::NAN,
            angular_velocity_z: f32::NAN,
            delta_yaw: f32::NAN,
            delta_yaw_velocity: f32::NAN,
            gimbal_device_id: 1,
            ..Default::default()
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::{DQuat, DVec3};
    use utkik_shared::camera::{
        Camera, CameraMount, CameraPose, FlatTerrain, GimbalAttitude, Intrinsics, VehicleAttitude, YawFrame,
    };
    use utkik_shared::geo::GeoPoint;

    /// A road-authority camera on a 9 m mast looking east-north-east, 20° down, as `[site]` makes
    /// it (level mast, fixed mount, body-frame gimbal).
    fn mast() -> FramePose {
        FramePose {
            pose: CameraPose {
                position: GeoPoint {
                    lat_deg: 59.3978,
                    lon_deg: 17.8870,
                    alt_m_amsl: 39.0,
                },
                vehicle: VehicleAttitude {
                    roll_rad: 0.0,
                    pitch_rad: 0.0,
                    yaw_rad: 70f64.to_radians(),
                },
                gimbal: GimbalAttitude {
                    q_wxyz: [1.0, 0.0, 0.0, 0.0],
                    yaw_frame: YawFrame::Body,
                },
                mount: CameraMount {
                    offset_body_frd_m: DVec3::ZERO,
                    base_to_body: CameraMount::fixed_pitch((-20f64).to_radians()).base_to_body,
                },
            },
            ground_alt_m_amsl: 30.0,
        }
    }

    /// The pose as a station rebuilds it from the three messages (ground/src/state/vehicle.rs).
    fn as_the_station_reads_it(msgs: &[MavMessage; 3]) -> (CameraPose, f64) {
        let [
            MavMessage::GLOBAL_POSITION_INT(g),
            MavMessage::ATTITUDE(a),
            MavMessage::GIMBAL_DEVICE_ATTITUDE_STATUS(s),
        ] = msgs
        else {
            panic!("{msgs:?}")
        };
        let position = GeoPoint {
            lat_deg: f64::from(g.lat) * 1e-7,
            lon_deg: f64::from(g.lon) * 1e-7,
            alt_m_amsl: f64::from(g.alt) / 1000.0,
        };
        let pose = CameraPose {
            position,
            vehicle: VehicleAttitude {
                roll_rad: f64::from(a.roll),
                pitch_rad: f64::from(a.pitch),
                yaw_rad: f64::from(a.yaw),
            },
            gimbal: GimbalAttitude::from_mavlink(s.q, s.flags).unwrap(),
            mount: CameraMount::default(),
        };
        (pose, position.alt_m_amsl - f64::from(g.relative_alt) / 1000.0)
    }

    #[test]
    fn the_station_gets_the_camera_orientation_the_onboard_projects_with() {
        let fp = mast();
        let msgs = pose_messages(&fp, 1234);
        let (pose, ground_m) = as_the_station_reads_it(&msgs);
        assert!((ground_m - 30.0).abs() < 0.01, "{ground_m}");
        let angle = pose.rotation_frd_to_ned().angle_between(fp.pose.rotation_frd_to_ned());
        assert!(angle < 1e-4, "orientation differs by {angle} rad");
        let MavMessage::GLOBAL_POSITION_INT(g) = &msgs[0] else {
            panic!()
        };
        assert_eq!(g.hdg, 7000);
        assert_eq!(g.relative_alt, 9000, "9 m above the ground level used");
        // The footprint drawn at the station is the onboard's.
        let k = Intrinsics::from_hfov(1920, 1080, 14f64.to_radians()).unwrap();
        let flat = FlatTerrain { alt_m_amsl: 30.0 };
        let onboard = Camera {
            intrinsics: k,
            pose: fp.pose,
        }
        .footprint(&flat)
        .unwrap();
        let station = Camera { intrinsics: k, pose }.footprint(&flat).unwrap();
        for (a, b) in onboard.exterior().coords().zip(station.exterior().coords()) {
            let d_m = ((a.x - b.x) * 111_320.0 * 59.4f64.to_radians().cos()).hypot((a.y - b.y) * 111_320.0);
            assert!(d_m < 0.5, "footprint corner {d_m} m apart");
        }
    }

    #[test]
    fn a_site_reports_where_its_camera_looks_as_its_heading() {
        let site = FramePose {
            pose: CameraPose {
                vehicle: VehicleAttitude::default(),
                gimbal: GimbalAttitude::from_euler(0.0, (-15f64).to_radians(), 265f64.to_radians(), YawFrame::North),
                mount: CameraMount::default(),
                ..mast().pose
            },
            ground_alt_m_amsl: 30.0,
        };
        let msgs = pose_messages(&site, 0);
        let MavMessage::GLOBAL_POSITION_INT(g) = &msgs[0] else {
            panic!()
        };
        assert_eq!(g.hdg, 26500);
        let (pose, _) = as_the_station_reads_it(&msgs);
        let angle = pose
            .rotation_frd_to_ned()
            .angle_between(site.pose.rotation_frd_to_ned());
        assert!(angle < 1e-4, "{angle}");
    }

    #[test]
    fn a_car_driving_west_reports_its_heading_and_tilt() {
        let mut fp = mast();
        fp.pose.vehicle = VehicleAttitude {
            roll_rad: 0.02,
            pitch_rad: -0.01,
            yaw_rad: 270f64.to_radians(),
        };
        fp.pose.mount.base_to_body =
            DQuat::from_rotation_z(0.0) * CameraMount::fixed_pitch((-3f64).to_radians()).base_to_body;
        let msgs = pose_messages(&fp, 0);
        let MavMessage::GLOBAL_POSITION_INT(g) = &msgs[0] else {
            panic!()
        };
        // Where its camera looks: west, within the little the car's roll turns a tilted camera.
        assert!(g.hdg.abs_diff(27000) <= 10, "{}", g.hdg);
        let MavMessage::ATTITUDE(a) = &msgs[1] else { panic!() };
        assert!(
            (f64::from(a.yaw) - (-90f64).to_radians()).abs() < 1e-6,
            "yaw in -pi..pi: {}",
            a.yaw
        );
        let (pose, _) = as_the_station_reads_it(&msgs);
        let angle = pose.rotation_frd_to_ned().angle_between(fp.pose.rotation_frd_to_ned());
        assert!(angle < 1e-4, "{angle}");
    }
}
