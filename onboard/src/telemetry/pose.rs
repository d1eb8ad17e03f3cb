//! The vehicle's pose history from autopilot telemetry, and the camera pose at any frame's
//! capture time by interpolation: positions linearly, vehicle and gimbal attitude by slerp.
//!
//! Autopilot messages carry `time_boot_ms`; SYSTEM_TIME maps boot time to Unix time, so samples
//! are only kept once that mapping is known (before it, every frame is POSE_STALE). A frame
//! whose time is further than `max_age` from the nearest sample of any series (position,
//! attitude, gimbal) has no pose: it is flagged and not geolocated.
//!
//! Two sources without an autopilot use the same buffer, so georeferencing stays one code path:
//! a GNSS receiver in a car ([`PoseBuffer::push_fix`], already in Unix time, heading from the
//! course over ground) and a camera at a fixed site ([`PoseBuffer::set_fixed_pose`], one pose
//! for every frame time).

use std::collections::VecDeque;

use glam::{DQuat, DVec3, EulerRot};
use utkik_shared::camera::{CameraMount, CameraPose, GimbalAttitude, VehicleAttitude, YawFrame};
use utkik_shared::dialect::MavMessage;
use utkik_shared::geo::GeoPoint;

/// How far back the history goes (must cover the video latency with room to spare).
const KEEP_USEC: u64 = 10_000_000;

/// Pose-buffer settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoseConfig {
    /// Largest distance in time between a frame and the nearest sample of each series.
    pub max_age_usec: u64,
    /// A camera fixed to the body at this pitch (radians, -π/2 = nadir): no gimbal telemetry
    /// needed. `None`: a gimbal reports GIMBAL_DEVICE_ATTITUDE_STATUS.
    pub fixed_pitch_rad: Option<f64>,
}

/// A position sample.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Position {
    lat_deg: f64,
    lon_deg: f64,
    alt_m_amsl: f64,
    /// Altitude of home (alt - relative_alt): the ground level used for flat terrain.
    home_alt_m_amsl: f64,
}

/// Why a frame has no pose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoseStale {
    /// No SYSTEM_TIME yet: boot time cannot be mapped to Unix time (or, from a GNSS receiver,
    /// no fix yet).
    #[error("no SYSTEM_TIME from the autopilot yet (or no fix from the GNSS receiver)")]
    NoTimeSync,
    /// A series has no sample near the frame time.
    #[error("no {series} sample within {max_age_ms} ms of the frame (nearest {nearest_ms:?} ms away)")]
    TooOld {
        /// position, attitude or gimbal.
        series: &'static str,
        /// The configured limit.
        max_age_ms: u64,
        /// Distance to the nearest sample, if any.
        nearest_ms: Option<u64>,
    },
}

/// A position fix from a source without an autopilot (a GNSS receiver's NMEA), already in Unix
/// time, with the ground level under the vehicle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoseFix {
    /// Time of the fix, Unix µs (UTC).
    pub time_usec: u64,
    /// Latitude, degrees.
    pub lat_deg: f64,
    /// Longitude, degrees.
    pub lon_deg: f64,
    /// Camera altitude, m AMSL.
    pub alt_m_amsl: f64,
    /// Ground level under the vehicle, m AMSL.
    pub ground_alt_m_amsl: f64,
    /// Vehicle heading, radians clockwise from north; `None` when not known at this fix (a car
    /// standing still: its course over ground is noise), and the last heading is held.
    pub heading_rad: Option<f64>,
}

/// The camera pose at a frame time, with the ground level under the vehicle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FramePose {
    /// Vehicle position and attitude, gimbal attitude and mount.
    pub pose: CameraPose,
    /// Ground altitude AMSL (home altitude: flat terrain around the launch point).
    pub ground_alt_m_amsl: f64,
}

/// Time series of position, attitude and gimbal attitude in Unix microseconds.
#[derive(Debug)]
pub struct PoseBuffer {
    config: PoseConfig,
    boot_offset_usec: Option<i64>,
    last_boot_ms: u32,
    positions: VecDeque<(u64, Position)>,
    attitudes: VecDeque<(u64, DQuat)>,
    gimbals: VecDeque<(u64, DQuat, YawFrame)>,
    /// A fixed site: this pose at every frame time.
    fixed_pose: Option<FramePose>,
    /// Samples come from [`Self::push_fix`], in Unix time: no SYSTEM_TIME needed.
    unix_fixes: bool,
    /// Heading of the last fix that had one, held while the vehicle stands still.
    last_heading_rad: Option<f64>,
    /// Azimuth of a body-fixed camera relative to the vehicle's forward axis, radians.
    camera_yaw_offset_rad: f64,
}

impl PoseBuffer {
    /// An empty buffer.
    pub fn new(config: PoseConfig) -> Self {
        Self {
            config,
            boot_offset_usec: None,
            last_boot_ms: 0,
            positions: VecDeque::new(),
            attitudes: VecDeque::new(),
            gimbals: VecDeque::new(),
            fixed_pose: None,
            unix_fixes: false,
            last_heading_rad: None,
            camera_yaw_offset_rad: 0.0,
        }
    }

    /// A camera fixed to the body (`fixed_pitch_rad` set) looking `yaw_rad` to the right of the
    /// vehicle's forward axis (a camera in a car looking sideways).
    pub fn with_camera_yaw_offset(mut self, yaw_rad: f64) -> Self {
        self.camera_yaw_offset_rad = yaw_rad;
        self
    }

    /// A camera at a fixed site: `pose` is the answer for every frame time, never stale.
    pub fn set_fixed_pose(&mut self, pose: FramePose) {
        self.fixed_pose = Some(pose);
    }

    /// Takes in one fix of a source without an autopilot. A fix at the time of the newest one
    /// replaces it (the second NMEA sentence of an epoch adds altitude or course); an older one
    /// is dropped. Without a heading the last one is held; before any heading there is no
    /// attitude, so frames are stale (which way the camera looks is not known).
    pub fn push_fix(&mut self, fix: &PoseFix) {
        self.unix_fixes = true;
        let t = fix.time_usec;
        let p = Position {
            lat_deg: fix.lat_deg,
            lon_deg: fix.lon_deg,
            alt_m_amsl: fix.alt_m_amsl,
            home_alt_m_amsl: fix.ground_alt_m_amsl,
        };
        Self::push_or_replace(&mut self.positions, t, p);
        if let Some(h) = fix.heading_rad {
            self.last_heading_rad = Some(h);
        }
        if let Some(yaw_rad) = self.last_heading_rad {
            let a = VehicleAttitude {
                roll_rad: 0.0,
                pitch_rad: 0.0,
                yaw_rad,
            };
            Self::push_or_replace(&mut self.attitudes, t, a.rotation_body_to_ned());
        }
    }

    fn push_or_replace<T>(q: &mut VecDeque<(u64, T)>, t: u64, v: T) {
        match q.back_mut() {
            Some(b) if b.0 == t => b.1 = v,
            _ => Self::push(q, t, v),
        }
    }

    /// Whether frame times can be placed in the pose history: boot time mapped to Unix time,
    /// fixes in Unix time, or a fixed site.
    pub fn time_synced(&self) -> bool {
        self.boot_offset_usec.is_some() || self.unix_fixes || self.fixed_pose.is_some()
    }

    /// Unix time of the newest position sample.
    pub fn newest_position_usec(&self) -> Option<u64> {
        self.positions.back().map(|p| p.0)
    }

    fn unix_usec(&mut self, time_boot_ms: u32) -> Option<u64> {
        if time_boot_ms + 5_000 < self.last_boot_ms {
            // The autopilot rebooted: old history and time mapping are meaningless now.
            tracing::warn!(
                time_boot_ms,
                last = self.last_boot_ms,
                "autopilot boot time went backwards: pose history reset"
            );
            self.boot_offset_usec = None;
            self.positions.clear();
            self.attitudes.clear();
            self.gimbals.clear();
            self.last_boot_ms = 0;
        }
        self.last_boot_ms = self.last_boot_ms.max(time_boot_ms);
        let t = self.boot_offset_usec? + i64::from(time_boot_ms) * 1000;
        u64::try_from(t).ok()
    }

    fn push<T>(q: &mut VecDeque<(u64, T)>, t: u64, v: T) {
        // Out-of-order samples (UDP reordering) are rare: keep the series sorted by dropping them.
        if q.back().is_some_and(|b| b.0 >= t) {
            return;
        }
        q.push_back((t, v));
        while q.front().is_some_and(|f| f.0 + KEEP_USEC < t) {
            q.pop_front();
        }
    }

    /// Takes in one autopilot message; others are ignored.
    pub fn handle(&mut self, msg: &MavMessage) {
        match msg {
            MavMessage::SYSTEM_TIME(m) if m.time_unix_usec > 0 => {
                if m.time_boot_ms + 5_000 < self.last_boot_ms {
                    self.unix_usec(m.time_boot_ms);
                }
                self.last_boot_ms = self.last_boot_ms.max(m.time_boot_ms);
                self.boot_offset_usec = Some(m.time_unix_usec as i64 - i64::from(m.time_boot_ms) * 1000);
            }
            MavMessage::GLOBAL_POSITION_INT(m) => {
                if let Some(t) = self.unix_usec(m.time_boot_ms) {
                    let alt_m_amsl = f64::from(m.alt) / 1000.0;
                    let p = Position {
                        lat_deg: f64::from(m.lat) * 1e-7,
                        lon_deg: f64::from(m.lon) * 1e-7,
                        alt_m_amsl,
                        home_alt_m_amsl: alt_m_amsl - f64::from(m.relative_alt) / 1000.0,
                    };
                    Self::push(&mut self.positions, t, p);
                }
            }
            MavMessage::ATTITUDE(m) => {
                if let Some(t) = self.unix_usec(m.time_boot_ms) {
                    let a = VehicleAttitude {
                        roll_rad: f64::from(m.roll),
                        pitch_rad: f64::from(m.pitch),
                        yaw_rad: f64::from(m.yaw),
                    };
                    Self::push(&mut self.attitudes, t, a.rotation_body_to_ned());
                }
            }
            MavMessage::GIMBAL_DEVICE_ATTITUDE_STATUS(m) => {
                let Ok(g) = GimbalAttitude::from_mavlink(m.q, m.flags) else {
                    tracing::debug!(q = ?m.q, "gimbal attitude rejected");
                    return;
                };
                if let Some(t) = self.unix_usec(m.time_boot_ms) {
                    let (q, f) = (g.quat(), g.yaw_frame);
                    if self.gimbals.back().is_some_and(|b| b.0 >= t) {
                        return;
                    }
                    self.gimbals.push_back((t, q, f));
                    while self.gimbals.front().is_some_and(|s| s.0 + KEEP_USEC < t) {
                        self.gimbals.pop_front();
                    }
                }
            }
            _ => {}
        }
    }

    /// The pose at `time_usec` (Unix µs), or why there is none.
    pub fn pose_at(&self, time_usec: u64) -> Result<FramePose, PoseStale> {
        if let Some(p) = self.fixed_pose {
            return Ok(p);
        }
        if !self.time_synced() {
            return Err(PoseStale::NoTimeSync);
        }
        let max = self.config.max_age_usec;
        let (p0, p1, s) = bracket(&self.positions, time_usec, max, "position")?;
        let position = Position {
            lat_deg: lerp(p0.lat_deg, p1.lat_deg, s),
            lon_deg: lerp(p0.lon_deg, p1.lon_deg, s),
            alt_m_amsl: lerp(p0.alt_m_amsl, p1.alt_m_amsl, s),
            home_alt_m_amsl: lerp(p0.home_alt_m_amsl, p1.home_alt_m_amsl, s),
        };
        let (a0, a1, s) = bracket(&self.attitudes, time_usec, max, "attitude")?;
        let (yaw, pitch, roll) = a0.slerp(a1, s).to_euler(EulerRot::ZYX);
        let vehicle = VehicleAttitude {
            roll_rad: roll,
            pitch_rad: pitch,
            yaw_rad: yaw,
        };
        let (gimbal, mount) = match self.config.fixed_pitch_rad {
            Some(pitch) => (
                GimbalAttitude {
                    q_wxyz: [1.0, 0.0, 0.0, 0.0],
                    yaw_frame: YawFrame::Body,
                },
                CameraMount {
                    offset_body_frd_m: DVec3::ZERO,
                    // Tilt about the body's y axis first, then turn about its z (down) axis.
                    base_to_body: DQuat::from_rotation_z(self.camera_yaw_offset_rad)
                        * CameraMount::fixed_pitch(pitch).base_to_body,
                },
            ),
            None => {
                let series: VecDeque<(u64, (DQuat, YawFrame))> =
                    self.gimbals.iter().map(|&(t, q, f)| (t, (q, f))).collect();
                let ((q0, f0), (q1, _), s) = bracket(&series, time_usec, max, "gimbal")?;
                let q = q0.slerp(q1, s);
                (
                    GimbalAttitude {
                        q_wxyz: [q.w as f32, q.x as f32, q.y as f32, q.z as f32],
                        yaw_frame: f0,
                    },
                    CameraMount::default(),
                )
            }
        };
        let pose = CameraPose {
            position: GeoPoint {
                lat_deg: position.lat_deg,
                lon_deg: position.lon_deg,
                alt_m_amsl: position.alt_m_amsl,
            },
            vehicle,
            gimbal,
            mount,
        };
        Ok(FramePose {
            pose,
            ground_alt_m_amsl: position.home_alt_m_amsl,
        })
    }
}

fn lerp(a: f64, b: f64, s: f64) -> f64 {
    a + (b - a) * s
}

/// The samples around `t` and the interpolation weight; outside the series the nearest sample
/// is held (weight 0), if it is within `max_usec`.
fn bracket<T: Copy>(
    q: &VecDeque<(u64, T)>,
    t: u64,
    max_usec: u64,
    series: &'static str,
) -> Result<(T, T, f64), PoseStale> {
    let too_old = |nearest: Option<u64>| PoseStale::TooOld {
        series,
        max_age_ms: max_usec / 1000,
        nearest_ms: nearest.map(|d| d / 1000),
    };
    let (Some(first), Some(last)) = (q.front(), q.back()) else {
        return Err(too_old(None));
    };
    if t <= first.0 {
        let d = first.0 - t;
        return if d <= max_usec {
            Ok((first.1, first.1, 0.0))
        } else {
            Err(too_old(Some(d)))
        };
    }
    if t >= last.0 {
        let d = t - last.0;
        return if d <= max_usec {
            Ok((last.1, last.1, 0.0))
        } else {
            Err(too_old(Some(d)))
        };
    }
    let i = q.partition_point(|s| s.0 <= t); // first sample after t; 1 <= i < len
    let (a, b) = (q[i - 1], q[i]);
    let d = (t - a.0).min(b.0 - t);
    if d > max_usec {
        return Err(too_old(Some(d)));
    }
    let s = (t - a.0) as f64 / (b.0 - a.0) as f64;
    Ok((a.1, b.1, s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::dialect::{
        ATTITUDE_DATA, GIMBAL_DEVICE_ATTITUDE_STATUS_DATA, GLOBAL_POSITION_INT_DATA, GimbalDeviceFlags,
        SYSTEM_TIME_DATA,
    };

    const UNIX0: u64 = 1_763_800_000_000_000;

    fn cfg() -> PoseConfig {
        PoseConfig {
            max_age_usec: 200_000,
            fixed_pitch_rad: None,
        }
    }

    fn feed(b: &mut PoseBuffer, boot_ms: u32, lat_e7: i32, yaw_rad: f32, gimbal_pitch_rad: f64) {
        b.handle(&MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
            time_boot_ms: boot_ms,
            lat: lat_e7,
            lon: 180_000_000,
            alt: 150_000,
            relative_alt: 50_000,
            ..Default::default()
        }));
        b.handle(&MavMessage::ATTITUDE(ATTITUDE_DATA {
            time_boot_ms: boot_ms,
            yaw: yaw_rad,
            ..Default::default()
        }));
        let g = GimbalAttitude::from_euler(0.0, gimbal_pitch_rad, 0.0, YawFrame::Vehicle);
        b.handle(&MavMessage::GIMBAL_DEVICE_ATTITUDE_STATUS(
            GIMBAL_DEVICE_ATTITUDE_STATUS_DATA {
                time_boot_ms: boot_ms,
                q: g.q_wxyz,
                flags: GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME,
                ..Default::default()
            },
        ));
    }

    fn synced() -> PoseBuffer {
        let mut b = PoseBuffer::new(cfg());
        b.handle(&MavMessage::SYSTEM_TIME(SYSTEM_TIME_DATA {
            time_unix_usec: UNIX0 + 1_000_000,
            time_boot_ms: 1_000,
        }));
        b
    }

    #[test]
    fn no_system_time_means_stale() {
        let mut b = PoseBuffer::new(cfg());
        feed(&mut b, 1_000, 0, 0.0, -1.0);
        assert_eq!(b.pose_at(UNIX0 + 1_000_000), Err(PoseStale::NoTimeSync));
    }

    #[test]
    fn interpolates_position_and_slerps_attitudes_at_frame_time() {
        let mut b = synced();
        feed(&mut b, 1_000, 590_000_000, 0.0, -1.0);
        feed(&mut b, 1_100, 590_001_000, 0.4, -1.4);
        // A quarter of the way from the first to the second sample.
        let p = b.pose_at(UNIX0 + 1_025_000).unwrap();
        assert!(
            (p.pose.position.lat_deg - 59.000_025).abs() < 1e-9,
            "{}",
            p.pose.position.lat_deg
        );
        assert!(
            (p.pose.vehicle.yaw_rad - 0.1).abs() < 1e-6,
            "{}",
            p.pose.vehicle.yaw_rad
        );
        let (_, pitch, _) = p.pose.gimbal.to_euler();
        assert!((pitch - -1.1).abs() < 1e-5, "{pitch}");
        assert!((p.ground_alt_m_amsl - 100.0).abs() < 1e-9);
        assert!((p.pose.position.alt_m_amsl - 150.0).abs() < 1e-9);
    }

    #[test]
    fn too_old_is_stale_and_names_the_series() {
        let mut b = synced();
        feed(&mut b, 1_000, 0, 0.0, -1.0);
        assert!(b.pose_at(UNIX0 + 1_150_000).is_ok(), "within max age: latest held");
        let e = b.pose_at(UNIX0 + 1_300_000).unwrap_err();
        assert_eq!(
            e,
            PoseStale::TooOld {
                series: "position",
                max_age_ms: 200,
                nearest_ms: Some(300)
            }
        );
        // Position fresh but no gimbal sample near.
        b.handle(&MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
            time_boot_ms: 1_300,
            ..Default::default()
        }));
        b.handle(&MavMessage::ATTITUDE(ATTITUDE_DATA {
            time_boot_ms: 1_300,
            ..Default::default()
        }));
        let e = b.pose_at(UNIX0 + 1_300_000).unwrap_err();
        assert!(matches!(e, PoseStale::TooOld { series: "gimbal", .. }), "{e}");
        // A gap between samples larger than max age is stale in the middle too.
        feed(&mut b, 2_000, 0, 0.0, -1.0);
        assert!(b.pose_at(UNIX0 + 1_650_000).is_err());
    }

    #[test]
    fn fixed_camera_needs_no_gimbal_and_reboot_resets() {
        let mut b = PoseBuffer::new(PoseConfig {
            max_age_usec: 200_000,
            fixed_pitch_rad: Some(-1.0),
        });
        b.handle(&MavMessage::SYSTEM_TIME(SYSTEM_TIME_DATA {
            time_unix_usec: UNIX0 + 60_000_000,
            time_boot_ms: 60_000,
        }));
        b.handle(&MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
            time_boot_ms: 60_000,
            ..Default::default()
        }));
        b.handle(&MavMessage::ATTITUDE(ATTITUDE_DATA {
            time_boot_ms: 60_000,
            ..Default::default()
        }));
        let p = b.pose_at(UNIX0 + 60_000_000).unwrap();
        assert_eq!(p.pose.gimbal.yaw_frame, YawFrame::Body);
        // Boot time jumps back by a minute: the mapping must be re-learnt.
        b.handle(&MavMessage::ATTITUDE(ATTITUDE_DATA {
            time_boot_ms: 100,
            ..Default::default()
        }));
        assert_eq!(b.pose_at(UNIX0 + 60_000_000), Err(PoseStale::NoTimeSync));
    }
}
