//! What the simulated autopilot says and how it answers commands, as plain
//! MAVLink messages (the UDP link that carries them is separate): HEARTBEAT,
//! SYS_STATUS, GLOBAL_POSITION_INT, ATTITUDE, GIMBAL_DEVICE_ATTITUDE_STATUS,
//! SYSTEM_TIME, HOME_POSITION, and COMMAND_LONG -> COMMAND_ACK.
//!
//! Time: `time_boot_ms` counts sim time since start; SYSTEM_TIME's
//! `time_unix_usec` is `epoch_unix_usec + sim time`, the same base the video
//! frames' capture times use.

use glam::DVec3;
use utkik_shared::camera::{GimbalAttitude, YawFrame};
use utkik_shared::dialect::{
    ATTITUDE_DATA, COMMAND_ACK_DATA, COMMAND_LONG_DATA, GIMBAL_DEVICE_ATTITUDE_STATUS_DATA, GLOBAL_POSITION_INT_DATA,
    GimbalDeviceFlags, HEARTBEAT_DATA, HOME_POSITION_DATA, MavAutopilot, MavCmd, MavMessage, MavModeFlag, MavResult,
    MavState, MavSysStatusSensor, MavType, SYS_STATUS_DATA, SYSTEM_TIME_DATA,
};
use utkik_shared::geo::{GeoPoint, LocalFrame};

use crate::vehicle::{GimbalTarget, Multirotor};

/// MAVLink id of HOME_POSITION (for MAV_CMD_REQUEST_MESSAGE).
pub const HOME_POSITION_ID: u32 = 242;

/// Everything the telemetry needs at one instant.
#[derive(Debug, Clone, Copy)]
pub struct TelemetryClock {
    /// Sim time since start, microseconds.
    pub sim_time_usec: u64,
    /// Unix time of sim time zero, microseconds.
    pub epoch_unix_usec: u64,
}

impl TelemetryClock {
    /// `time_boot_ms` of MAVLink messages.
    pub fn boot_ms(&self) -> u32 {
        (self.sim_time_usec / 1000) as u32
    }
    /// Unix time now, microseconds.
    pub fn unix_usec(&self) -> u64 {
        self.epoch_unix_usec + self.sim_time_usec
    }
}

/// Vehicle position as a WGS84 point (ENU position over the scenario origin).
pub fn vehicle_geo(frame: &LocalFrame, vehicle: &Multirotor) -> GeoPoint {
    frame.from_enu(vehicle.state.position_enu_m)
}

/// HEARTBEAT of an armed, active quadrotor in guided auto mode.
pub fn heartbeat() -> MavMessage {
    MavMessage::HEARTBEAT(HEARTBEAT_DATA {
        custom_mode: 0,
        mavtype: MavType::MAV_TYPE_QUADROTOR,
        autopilot: MavAutopilot::MAV_AUTOPILOT_GENERIC,
        base_mode: MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED
            | MavModeFlag::MAV_MODE_FLAG_GUIDED_ENABLED
            | MavModeFlag::MAV_MODE_FLAG_AUTO_ENABLED
            | MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
        system_status: MavState::MAV_STATE_ACTIVE,
        mavlink_version: 3,
    })
}

/// SYS_STATUS with the battery (a 6S pack: 25.2 V full, 21.0 V empty).
pub fn sys_status(vehicle: &Multirotor) -> MavMessage {
    let pct = vehicle.battery_percent();
    let sensors = MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_3D_GYRO
        | MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_3D_ACCEL
        | MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_GPS;
    MavMessage::SYS_STATUS(SYS_STATUS_DATA {
        onboard_control_sensors_present: sensors,
        onboard_control_sensors_enabled: sensors,
        onboard_control_sensors_health: sensors,
        load: 250,
        voltage_battery: (21_000.0 + 42.0 * pct) as u16,
        current_battery: 1500,
        battery_remaining: pct.round() as i8,
        ..Default::default()
    })
}

/// GLOBAL_POSITION_INT (lat/lon 1e-7 deg, altitudes mm, velocity cm/s NED, heading cdeg).
pub fn global_position(clock: &TelemetryClock, frame: &LocalFrame, vehicle: &Multirotor) -> MavMessage {
    let p = vehicle_geo(frame, vehicle);
    let v = vehicle.state.velocity_enu_m_s;
    let hdg_cdeg = (vehicle.state.yaw_rad.to_degrees().rem_euclid(360.0) * 100.0).round() as u16 % 36000;
    MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
        time_boot_ms: clock.boot_ms(),
        lat: p.lat_e7(),
        lon: p.lon_e7(),
        alt: p.alt_mm(),
        relative_alt: (vehicle.state.position_enu_m.z * 1000.0).round() as i32,
        vx: (v.y * 100.0).round() as i16,
        vy: (v.x * 100.0).round() as i16,
        vz: (-v.z * 100.0).round() as i16,
        hdg: hdg_cdeg,
    })
}

/// ATTITUDE (roll, pitch, yaw in radians, yaw in -pi..pi as autopilots send it).
pub fn attitude(clock: &TelemetryClock, vehicle: &Multirotor) -> MavMessage {
    let s = &vehicle.state;
    let yaw = (s.yaw_rad + std::f64::consts::PI).rem_euclid(std::f64::consts::TAU) - std::f64::consts::PI;
    MavMessage::ATTITUDE(ATTITUDE_DATA {
        time_boot_ms: clock.boot_ms(),
        roll: s.roll_rad as f32,
        pitch: s.pitch_rad as f32,
        yaw: yaw as f32,
        rollspeed: 0.0,
        pitchspeed: 0.0,
        yawspeed: s.yaw_rate_rad_s as f32,
    })
}

/// The gimbal attitude (roll 0, horizon-stabilised pitch, yaw relative to the vehicle).
pub fn gimbal_attitude(vehicle: &Multirotor) -> GimbalAttitude {
    let g = vehicle.state.gimbal;
    GimbalAttitude::from_euler(0.0, g.pitch_rad, g.yaw_rad, YawFrame::Vehicle)
}

/// GIMBAL_DEVICE_ATTITUDE_STATUS with yaw in the vehicle frame.
pub fn gimbal_status(clock: &TelemetryClock, vehicle: &Multirotor) -> MavMessage {
    let att = gimbal_attitude(vehicle);
    MavMessage::GIMBAL_DEVICE_ATTITUDE_STATUS(GIMBAL_DEVICE_ATTITUDE_STATUS_DATA {
        time_boot_ms: clock.boot_ms(),
        q: att.q_wxyz,
        flags: GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_ROLL_LOCK
            | GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_PITCH_LOCK
            | GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME,
        angular_velocity_x: f32::NAN,
        angular_velocity_y: f32::NAN,
        angular_velocity_z: f32::NAN,
        delta_yaw: f32::NAN,
        delta_yaw_velocity: f32::NAN,
        gimbal_device_id: 1,
        ..Default::default()
    })
}

/// SYSTEM_TIME: the Unix time base shared with the video frames.
pub fn system_time(clock: &TelemetryClock) -> MavMessage {
    MavMessage::SYSTEM_TIME(SYSTEM_TIME_DATA {
        time_unix_usec: clock.unix_usec(),
        time_boot_ms: clock.boot_ms(),
    })
}

/// HOME_POSITION at the scenario origin.
pub fn home_position(clock: &TelemetryClock, frame: &LocalFrame) -> MavMessage {
    let o = frame.origin();
    MavMessage::HOME_POSITION(HOME_POSITION_DATA {
        latitude: o.lat_e7(),
        longitude: o.lon_e7(),
        altitude: o.alt_mm(),
        q: [1.0, 0.0, 0.0, 0.0],
        approach_x: f32::NAN,
        approach_y: f32::NAN,
        approach_z: f32::NAN,
        time_usec: clock.unix_usec(),
        ..Default::default()
    })
}

/// Result of a COMMAND_LONG: the ACK and any message asked for.
#[derive(Debug, Clone)]
pub struct CommandOutcome {
    /// The COMMAND_ACK to send back.
    pub ack: MavMessage,
    /// A message requested with MAV_CMD_REQUEST_MESSAGE, sent after the ACK.
    pub reply: Option<MavMessage>,
}

/// Apply a COMMAND_LONG to the vehicle and build the answer. Supported:
/// MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW (param1 pitch deg, param2 yaw deg relative to the nose),
/// MAV_CMD_DO_SET_ROI_LOCATION (param5/6 lat/lon deg, param7 alt m AMSL),
/// MAV_CMD_DO_SET_ROI_NONE (back to straight ahead, 45° down), MAV_CMD_REQUEST_MESSAGE for
/// HOME_POSITION. Everything else: MAV_RESULT_UNSUPPORTED.
pub fn handle_command(
    cmd: &COMMAND_LONG_DATA,
    clock: &TelemetryClock,
    frame: &LocalFrame,
    vehicle: &mut Multirotor,
    requester: (u8, u8),
) -> CommandOutcome {
    let mut reply = None;
    let result = match cmd.command {
        MavCmd::MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW => {
            let (p, y) = (cmd.param1, cmd.param2);
            if p.is_finite() && y.is_finite() {
                vehicle.set_gimbal_target(GimbalTarget::Angles {
                    pitch_rad: f64::from(p).to_radians(),
                    yaw_rad: f64::from(y).to_radians(),
                });
                MavResult::MAV_RESULT_ACCEPTED
            } else {
                MavResult::MAV_RESULT_DENIED
            }
        }
        MavCmd::MAV_CMD_DO_SET_ROI_LOCATION => {
            let (lat, lon, alt) = (f64::from(cmd.param5), f64::from(cmd.param6), f64::from(cmd.param7));
            match GeoPoint::try_new(lat, lon, alt) {
                Ok(p) => {
                    let enu = frame.to_enu(&p);
                    vehicle.set_gimbal_target(GimbalTarget::PointOfInterest {
                        enu_m: DVec3::new(enu.x, enu.y, enu.z),
                    });
                    MavResult::MAV_RESULT_ACCEPTED
                }
                Err(_) => MavResult::MAV_RESULT_DENIED,
            }
        }
        MavCmd::MAV_CMD_DO_SET_ROI_NONE => {
            vehicle.set_gimbal_target(GimbalTarget::Angles {
                pitch_rad: -std::f64::consts::FRAC_PI_4,
                yaw_rad: 0.0,
            });
            MavResult::MAV_RESULT_ACCEPTED
        }
        MavCmd::MAV_CMD_REQUEST_MESSAGE if cmd.param1 as u32 == HOME_POSITION_ID => {
            reply = Some(home_position(clock, frame));
            MavResult::MAV_RESULT_ACCEPTED
        }
        _ => MavResult::MAV_RESULT_UNSUPPORTED,
    };
    CommandOutcome {
        ack: command_ack(cmd.command, result, requester),
        reply,
    }
}

/// COMMAND_ACK for `command` addressed to the requester (system, component).
pub fn command_ack(command: MavCmd, result: MavResult, requester: (u8, u8)) -> MavMessage {
    MavMessage::COMMAND_ACK(COMMAND_ACK_DATA {
        command,
        result,
        progress: 0,
        result_param2: 0,
        target_system: requester.0,
        target_component: requester.1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Scenario, scenarios_dir};

    fn setup() -> (Scenario, LocalFrame, Multirotor, TelemetryClock) {
        let s = Scenario::load(&scenarios_dir().join("urban-street.toml")).unwrap();
        let frame = LocalFrame::new(s.origin.geo());
        let m = Multirotor::new(&s);
        let clock = TelemetryClock {
            sim_time_usec: 12_345_678,
            epoch_unix_usec: 1_700_000_000_000_000,
        };
        (s, frame, m, clock)
    }

    fn cmd(command: MavCmd, params: [f32; 7]) -> COMMAND_LONG_DATA {
        COMMAND_LONG_DATA {
            param1: params[0],
            param2: params[1],
            param3: params[2],
            param4: params[3],
            param5: params[4],
            param6: params[5],
            param7: params[6],
            command,
            target_system: 1,
            target_component: 1,
            confirmation: 0,
        }
    }

    #[test]
    fn position_matches_state() {
        let (s, frame, m, clock) = setup();
        let MavMessage::GLOBAL_POSITION_INT(g) = global_position(&clock, &frame, &m) else {
            panic!()
        };
        let back = frame.to_enu(&GeoPoint::from_deg_e7(g.lat, g.lon, g.alt));
        assert!(
            (back - m.state.position_enu_m).length() < 0.02,
            "{back} vs {}",
            m.state.position_enu_m
        );
        assert_eq!(g.time_boot_ms, 12_345);
        // The vehicle starts at the route's first waypoint.
        let crate::scenario::Route::Waypoints { points, .. } = &s.route else {
            panic!("{:?}", s.route)
        };
        let alt_m = points[0].alt_m_agl;
        assert_eq!(g.relative_alt, (alt_m * 1000.0).round() as i32);
        assert_eq!(g.alt, ((s.origin.alt_m_amsl + alt_m) * 1000.0).round() as i32);
        let MavMessage::SYSTEM_TIME(t) = system_time(&clock) else {
            panic!()
        };
        assert_eq!(t.time_unix_usec, 1_700_000_012_345_678);
    }

    #[test]
    fn gimbal_quaternion_decodes_to_state() {
        let (_, _, m, clock) = setup();
        let MavMessage::GIMBAL_DEVICE_ATTITUDE_STATUS(g) = gimbal_status(&clock, &m) else {
            panic!()
        };
        let att = GimbalAttitude::try_from(&g).unwrap();
        let (_, pitch, yaw) = att.to_euler();
        assert!((pitch - m.state.gimbal.pitch_rad).abs() < 1e-5);
        assert!((yaw - m.state.gimbal.yaw_rad).abs() < 1e-5);
        assert_eq!(att.yaw_frame, YawFrame::Vehicle);
    }

    #[test]
    fn commands_are_applied_or_unsupported() {
        let (_, frame, mut m, clock) = setup();
        let out = handle_command(
            &cmd(
                MavCmd::MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
                [-70.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            ),
            &clock,
            &frame,
            &mut m,
            (255, 190),
        );
        let MavMessage::COMMAND_ACK(a) = out.ack else { panic!() };
        assert_eq!(a.result, MavResult::MAV_RESULT_ACCEPTED);
        assert_eq!((a.target_system, a.target_component), (255, 190));
        assert_eq!(
            m.state.gimbal.target,
            GimbalTarget::Angles {
                pitch_rad: f64::from(-70.0f32).to_radians(),
                yaw_rad: f64::from(10.0f32).to_radians()
            }
        );

        let poi = frame.from_enu(DVec3::new(10.0, 20.0, 0.0));
        let out = handle_command(
            &cmd(
                MavCmd::MAV_CMD_DO_SET_ROI_LOCATION,
                [
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    poi.lat_deg as f32,
                    poi.lon_deg as f32,
                    poi.alt_m_amsl as f32,
                ],
            ),
            &clock,
            &frame,
            &mut m,
            (255, 190),
        );
        let MavMessage::COMMAND_ACK(a) = out.ack else { panic!() };
        assert_eq!(a.result, MavResult::MAV_RESULT_ACCEPTED);
        let GimbalTarget::PointOfInterest { enu_m } = m.state.gimbal.target else {
            panic!()
        };
        // f32 lat/lon on the wire: about a metre of resolution at 59 degrees north.
        assert!((enu_m - DVec3::new(10.0, 20.0, 0.0)).length() < 2.0, "{enu_m}");

        let bad = handle_command(
            &cmd(
                MavCmd::MAV_CMD_DO_SET_ROI_LOCATION,
                [0.0, 0.0, 0.0, 0.0, 123.0, 0.0, 0.0],
            ),
            &clock,
            &frame,
            &mut m,
            (255, 190),
        );
        let MavMessage::COMMAND_ACK(a) = bad.ack else { panic!() };
        assert_eq!(a.result, MavResult::MAV_RESULT_DENIED);

        let home = handle_command(
            &cmd(
                MavCmd::MAV_CMD_REQUEST_MESSAGE,
                [HOME_POSITION_ID as f32, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            ),
            &clock,
            &frame,
            &mut m,
            (255, 190),
        );
        let Some(MavMessage::HOME_POSITION(h)) = home.reply else {
            panic!()
        };
        assert_eq!(h.latitude, frame.origin().lat_e7());

        let unknown = handle_command(
            &cmd(MavCmd::MAV_CMD_NAV_TAKEOFF, [0.0; 7]),
            &clock,
            &frame,
            &mut m,
            (255, 190),
        );
        let MavMessage::COMMAND_ACK(a) = unknown.ack else {
            panic!()
        };
        assert_eq!(a.result, MavResult::MAV_RESULT_UNSUPPORTED);
        assert_eq!(a.command, MavCmd::MAV_CMD_NAV_TAKEOFF);
    }
}
