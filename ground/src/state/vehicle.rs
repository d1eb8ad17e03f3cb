//! One vehicle (one MAVLink system id): position, attitude, speed, battery, home, trail, camera
//! pose (for the footprint), onboard pipeline health and authorization state.

use std::collections::VecDeque;

use utkik_shared::camera::{Camera, CameraPose, FlatTerrain, GimbalAttitude, Intrinsics, VehicleAttitude};
use utkik_shared::dialect::{
    MavMessage, UTKIK_AUTHZ_STATUS_DATA, UTKIK_PIPELINE_STATUS_DATA, UtkikLegalBasis, UtkikRestreamState,
    UtkikSourceKind,
};
use utkik_shared::geo::GeoPoint;

/// Trail length kept per vehicle (positions).
pub const VEHICLE_TRAIL_LEN: usize = 2_000;

/// Horizontal field of view assumed for the footprint until the camera reports its own, radians.
pub const DEFAULT_HFOV_RAD: f64 = 1.2;

/// State of one vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct Vehicle {
    /// MAVLink system id.
    pub system_id: u8,
    /// Last position (GLOBAL_POSITION_INT).
    pub position: Option<GeoPoint>,
    /// Height above home, metres.
    pub alt_m_rel: f64,
    /// Heading, degrees clockwise from north.
    pub heading_deg: f64,
    /// Ground speed, m/s.
    pub groundspeed_m_s: f64,
    /// Battery remaining, percent (None when unknown).
    pub battery_pct: Option<u8>,
    /// Battery voltage, volts.
    pub battery_v: Option<f64>,
    /// Home position.
    pub home: Option<GeoPoint>,
    /// Past positions, oldest first.
    pub trail: VecDeque<GeoPoint>,
    /// Vehicle attitude (ATTITUDE).
    pub attitude: Option<VehicleAttitude>,
    /// Gimbal attitude (GIMBAL_DEVICE_ATTITUDE_STATUS).
    pub gimbal: Option<GimbalAttitude>,
    /// Last onboard pipeline status; its `source_kind` and `legal_basis` say what carries the
    /// camera and whose it is ([`Vehicle::source`]).
    pub pipeline: Option<UTKIK_PIPELINE_STATUS_DATA>,
    /// Last authorization status.
    pub authz: Option<UTKIK_AUTHZ_STATUS_DATA>,
    /// Source time of the last heartbeat, seconds.
    pub last_heartbeat_s: Option<f64>,
    /// Armed flag from the heartbeat.
    pub armed: bool,
}

impl Vehicle {
    /// A vehicle seen for the first time.
    pub fn new(system_id: u8) -> Self {
        Self {
            system_id,
            position: None,
            alt_m_rel: 0.0,
            heading_deg: 0.0,
            groundspeed_m_s: 0.0,
            battery_pct: None,
            battery_v: None,
            home: None,
            trail: VecDeque::new(),
            attitude: None,
            gimbal: None,
            pipeline: None,
            authz: None,
            last_heartbeat_s: None,
            armed: false,
        }
    }

    /// Applies a vehicle message; false when the message is not one this type uses.
    pub fn apply(&mut self, _component_id: u8, msg: &MavMessage, time_s: f64) -> bool {
        match msg {
            MavMessage::HEARTBEAT(h) => {
                self.last_heartbeat_s = Some(time_s);
                self.armed = h
                    .base_mode
                    .contains(utkik_shared::dialect::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED);
            }
            MavMessage::GLOBAL_POSITION_INT(p) => {
                let pos = GeoPoint::from(p);
                self.alt_m_rel = p.relative_alt as f64 / 1000.0;
                if p.hdg != u16::MAX {
                    self.heading_deg = p.hdg as f64 / 100.0;
                }
                self.groundspeed_m_s = ((p.vx as f64).hypot(p.vy as f64)) / 100.0;
                let moved = self.trail.back().is_none_or(|last| {
                    (last.lat_deg - pos.lat_deg).abs() > 2e-6 || (last.lon_deg - pos.lon_deg).abs() > 2e-6
                });
                if moved {
                    if self.trail.len() == VEHICLE_TRAIL_LEN {
                        self.trail.pop_front();
                    }
                    self.trail.push_back(pos);
                }
                self.position = Some(pos);
            }
            MavMessage::ATTITUDE(a) => {
                self.attitude = Some(VehicleAttitude::from(a));
            }
            MavMessage::GIMBAL_DEVICE_ATTITUDE_STATUS(g) => {
                self.gimbal = GimbalAttitude::try_from(g).ok();
            }
            MavMessage::SYS_STATUS(s) => {
                if s.battery_remaining >= 0 {
                    self.battery_pct = Some(s.battery_remaining as u8);
                }
                if s.voltage_battery != u16::MAX {
                    self.battery_v = Some(s.voltage_battery as f64 / 1000.0);
                }
            }
            MavMessage::BATTERY_STATUS(b) => {
                if b.battery_remaining >= 0 {
                    self.battery_pct = Some(b.battery_remaining as u8);
                }
            }
            MavMessage::HOME_POSITION(h) => {
                self.home = Some(GeoPoint::from_deg_e7(h.latitude, h.longitude, h.altitude));
            }
            MavMessage::VFR_HUD(v) => {
                self.groundspeed_m_s = v.groundspeed as f64;
            }
            MavMessage::UTKIK_PIPELINE_STATUS(p) => self.pipeline = Some(p.clone()),
            MavMessage::UTKIK_AUTHZ_STATUS(a) => self.authz = Some(a.clone()),
            _ => return false,
        }
        true
    }

    /// Ground covered by the camera as (lon, lat) degrees, from the last position, attitude and
    /// gimbal, over flat ground at the home altitude (or 0 m AMSL without a home).
    pub fn footprint(&self) -> Option<Vec<(f64, f64)>> {
        let position = self.position?;
        let gimbal = self.gimbal?;
        let camera = Camera {
            intrinsics: Intrinsics::from_hfov(1920, 1080, DEFAULT_HFOV_RAD).ok()?,
            pose: CameraPose {
                position,
                vehicle: self.attitude.unwrap_or_default(),
                gimbal,
                mount: Default::default(),
            },
        };
        let ground = self
            .home
            .map(|h| h.alt_m_amsl)
            .unwrap_or(position.alt_m_amsl - self.alt_m_rel);
        let poly = camera.footprint(&FlatTerrain { alt_m_amsl: ground })?;
        Some(poly.exterior().coords().map(|c| (c.x, c.y)).collect())
    }

    /// One line: id, position, altitude, speed, battery, and the masked video re-stream once
    /// the drone reported its pipeline.
    pub fn summary(&self) -> String {
        let pos = self
            .position
            .map(|p| format!("{:.6},{:.6}", p.lat_deg, p.lon_deg))
            .unwrap_or_else(|| "no position".into());
        let batt = self.battery_pct.map(|b| format!("{b}%")).unwrap_or_else(|| "?".into());
        let video = self
            .restream_text()
            .map(|t| format!(", masked video {t}"))
            .unwrap_or_default();
        // A drone of our own is what every line was before sources had kinds: said only otherwise.
        let source = match self.source() {
            Some((UtkikSourceKind::UTKIK_SOURCE_KIND_DRONE, UtkikLegalBasis::UTKIK_LEGAL_BASIS_OWN)) | None => {
                String::new()
            }
            Some(_) => format!(", source {}", self.source_text().unwrap_or_default()),
        };
        format!(
            "vehicle {} at {pos} alt {:.1} m hdg {:.0} spd {:.1} m/s batt {batt}{source}{video}",
            self.system_id, self.alt_m_rel, self.heading_deg, self.groundspeed_m_s
        )
    }

    /// What carries the camera and whose it is (UTKIK_PIPELINE_STATUS.source_kind and
    /// legal_basis); `None` before a pipeline status. A pipeline older than the fields sends 0:
    /// a drone of our own.
    pub fn source(&self) -> Option<(UtkikSourceKind, UtkikLegalBasis)> {
        let p = self.pipeline.as_ref()?;
        Some((p.source_kind, p.legal_basis))
    }

    /// What carries the camera, in words ("drone", "fixed camera", "vehicle camera"); `None`
    /// before a pipeline status.
    pub fn kind_name(&self) -> Option<&'static str> {
        let (kind, _) = self.source()?;
        Some(match kind {
            UtkikSourceKind::UTKIK_SOURCE_KIND_DRONE => "drone",
            UtkikSourceKind::UTKIK_SOURCE_KIND_FIXED => "fixed camera",
            UtkikSourceKind::UTKIK_SOURCE_KIND_VEHICLE => "vehicle camera",
        })
    }

    /// [`Vehicle::source`] in words, e.g. "fixed camera, other operator's (e.g. road authority)".
    pub fn source_text(&self) -> Option<String> {
        let (_, basis) = self.source()?;
        let kind = self.kind_name()?;
        let basis = match basis {
            UtkikLegalBasis::UTKIK_LEGAL_BASIS_OWN => "own",
            UtkikLegalBasis::UTKIK_LEGAL_BASIS_OTHER_OPERATOR => "other operator's (e.g. road authority)",
        };
        Some(format!("{kind}, {basis}"))
    }

    /// Whether the drone re-streams its video with faces and plates masked, and why not
    /// (UTKIK_PIPELINE_STATUS.restream_state), in words; `None` before a pipeline status. A
    /// drone older than the field sends 0, which reads as off.
    pub fn restream_text(&self) -> Option<&'static str> {
        Some(match self.pipeline.as_ref()?.restream_state {
            UtkikRestreamState::UTKIK_RESTREAM_STATE_OFF_CONFIG => "off (privacy.restream = false)",
            UtkikRestreamState::UTKIK_RESTREAM_STATE_STREAMING => "streaming",
            UtkikRestreamState::UTKIK_RESTREAM_STATE_REFUSED_NO_FACE_DETECTOR => {
                "refused: no face detector runs on the drone (LAW.md 8.1)"
            }
            UtkikRestreamState::UTKIK_RESTREAM_STATE_REFUSED_NO_PLATE_DETECTOR => {
                "refused: no plate detector runs on the drone (LAW.md 8.1)"
            }
            UtkikRestreamState::UTKIK_RESTREAM_STATE_ERROR => "failing on the drone (see its log)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_video_restream_state_is_in_the_summary_once_the_pipeline_reported() {
        let mut v = Vehicle::new(1);
        assert_eq!(v.restream_text(), None);
        assert!(!v.summary().contains("masked video"), "{}", v.summary());
        let status = |state| {
            MavMessage::UTKIK_PIPELINE_STATUS(UTKIK_PIPELINE_STATUS_DATA {
                restream_state: state,
                ..Default::default()
            })
        };
        assert!(v.apply(191, &status(UtkikRestreamState::UTKIK_RESTREAM_STATE_STREAMING), 1.0));
        assert!(v.summary().ends_with(", masked video streaming"), "{}", v.summary());
        v.apply(
            191,
            &status(UtkikRestreamState::UTKIK_RESTREAM_STATE_REFUSED_NO_FACE_DETECTOR),
            2.0,
        );
        assert!(v.summary().contains("refused: no face detector"), "{}", v.summary());
        v.apply(
            191,
            &status(UtkikRestreamState::UTKIK_RESTREAM_STATE_REFUSED_NO_PLATE_DETECTOR),
            3.0,
        );
        assert!(v.summary().contains("refused: no plate detector"), "{}", v.summary());
        v.apply(191, &status(UtkikRestreamState::UTKIK_RESTREAM_STATE_OFF_CONFIG), 4.0);
        assert!(
            v.summary().contains("off (privacy.restream = false)"),
            "{}",
            v.summary()
        );
    }

    #[test]
    fn source_kind_and_legal_basis_are_kept_and_said() {
        let mut v = Vehicle::new(7);
        assert_eq!((v.source(), v.source_text()), (None, None));
        // An older pipeline sends zeros: a drone of our own, and the summary is as before.
        v.apply(191, &MavMessage::UTKIK_PIPELINE_STATUS(Default::default()), 1.0);
        assert_eq!(v.source_text().as_deref(), Some("drone, own"));
        assert!(!v.summary().contains("source"), "{}", v.summary());
        v.apply(
            191,
            &MavMessage::UTKIK_PIPELINE_STATUS(UTKIK_PIPELINE_STATUS_DATA {
                source_kind: UtkikSourceKind::UTKIK_SOURCE_KIND_FIXED,
                legal_basis: UtkikLegalBasis::UTKIK_LEGAL_BASIS_OTHER_OPERATOR,
                restream_state: UtkikRestreamState::UTKIK_RESTREAM_STATE_STREAMING,
                ..Default::default()
            }),
            2.0,
        );
        assert_eq!(
            v.source(),
            Some((
                UtkikSourceKind::UTKIK_SOURCE_KIND_FIXED,
                UtkikLegalBasis::UTKIK_LEGAL_BASIS_OTHER_OPERATOR
            ))
        );
        assert!(
            v.summary()
                .ends_with(", source fixed camera, other operator's (e.g. road authority), masked video streaming"),
            "{}",
            v.summary()
        );
    }
}
