//! A camera at a fixed site (a traffic camera on a mast, `source.kind = "fixed"`): its pose
//! comes from `[site]` in the config, not from telemetry. The pose buffer answers it for every
//! frame time, so no frame of a fixed camera is ever POSE_STALE and no autopilot is needed.
//!
//! The camera is placed by its own position and angles: the optical axis points `heading_deg`
//! from true north and `pitch_deg` below the horizon, rotated `roll_deg` about itself, at
//! `height_m_agl` above flat ground at `ground_alt_m_amsl` (the same flat-terrain model as the
//! drone's, with the site's ground in place of the drone's home altitude).

use utkik_shared::camera::{CameraMount, CameraPose, GimbalAttitude, VehicleAttitude, YawFrame};
use utkik_shared::geo::GeoPoint;

use super::pose::{FramePose, PoseBuffer, PoseConfig};
use crate::config::{ConfigError, SiteConfig};

/// A validated fixed site.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedSite {
    /// Camera latitude, degrees.
    pub lat_deg: f64,
    /// Camera longitude, degrees.
    pub lon_deg: f64,
    /// Ground level around the site, m AMSL.
    pub ground_alt_m_amsl: f64,
    /// Camera height above that ground, m.
    pub height_m_agl: f64,
    /// Azimuth of the optical axis, degrees clockwise from true north.
    pub heading_deg: f64,
    /// Elevation of the optical axis, degrees (-90 = straight down, 0 = horizontal).
    pub pitch_deg: f64,
    /// Rotation about the optical axis, degrees.
    pub roll_deg: f64,
}

impl FixedSite {
    /// The site of `[site]`, every key present (but `roll_deg`, default 0) and in range.
    ///
    /// # Errors
    /// `[site]` missing, or a key missing or out of range: [`ConfigError::Invalid`] naming the
    /// dotted key and the value.
    pub fn from_config(site: Option<&SiteConfig>) -> Result<Self, ConfigError> {
        let Some(s) = site else {
            return Err(ConfigError::Invalid {
                key: "site".into(),
                message: "is missing: source.kind = \"fixed\" needs the camera's place and angles \
                          ([site] lat_deg, lon_deg, ground_alt_m_amsl, height_m_agl, heading_deg, pitch_deg)"
                    .into(),
            });
        };
        let get = |key: &str,
                   value: Option<f64>,
                   range: std::ops::RangeInclusive<f64>,
                   what: &str|
         -> Result<f64, ConfigError> {
            let v = value.ok_or_else(|| ConfigError::Invalid {
                key: format!("site.{key}"),
                message: format!("is missing: source.kind = \"fixed\" needs it ({what})"),
            })?;
            if !range.contains(&v) {
                return Err(ConfigError::Invalid {
                    key: format!("site.{key}"),
                    message: format!("must be in {}..={} ({what}), got {v}", range.start(), range.end()),
                });
            }
            Ok(v)
        };
        let site = Self {
            lat_deg: get("lat_deg", s.lat_deg, -90.0..=90.0, "WGS84 latitude, degrees")?,
            lon_deg: get("lon_deg", s.lon_deg, -180.0..=180.0, "WGS84 longitude, degrees")?,
            ground_alt_m_amsl: get(
                "ground_alt_m_amsl",
                s.ground_alt_m_amsl,
                -500.0..=9_000.0,
                "ground level at the site, m above mean sea level",
            )?,
            height_m_agl: get(
                "height_m_agl",
                s.height_m_agl,
                0.0..=500.0,
                "camera above the ground, m",
            )?,
            heading_deg: get(
                "heading_deg",
                s.heading_deg,
                0.0..=360.0,
                "camera azimuth, degrees clockwise from true north",
            )?,
            pitch_deg: get(
                "pitch_deg",
                s.pitch_deg,
                -90.0..=0.0,
                "below the horizon, -90 = straight down",
            )?,
            roll_deg: get(
                "roll_deg",
                s.roll_deg.or(Some(0.0)),
                -45.0..=45.0,
                "about the optical axis, degrees",
            )?,
        };
        if site.height_m_agl <= 0.0 {
            return Err(ConfigError::Invalid {
                key: "site.height_m_agl".into(),
                message: format!(
                    "must be above 0 m (a camera on the ground sees no ground plane), got {}",
                    site.height_m_agl
                ),
            });
        }
        Ok(site)
    }

    /// The camera pose of the site, with its ground level.
    pub fn frame_pose(&self) -> FramePose {
        FramePose {
            pose: CameraPose {
                position: GeoPoint {
                    lat_deg: self.lat_deg,
                    lon_deg: self.lon_deg,
                    alt_m_amsl: self.ground_alt_m_amsl + self.height_m_agl,
                },
                // No vehicle: the camera's angles are relative to north and the horizon.
                vehicle: VehicleAttitude::default(),
                gimbal: GimbalAttitude::from_euler(
                    self.roll_deg.to_radians(),
                    self.pitch_deg.to_radians(),
                    self.heading_deg.to_radians(),
                    YawFrame::North,
                ),
                mount: CameraMount::default(),
            },
            ground_alt_m_amsl: self.ground_alt_m_amsl,
        }
    }

    /// A pose buffer that answers this site's pose for every frame time.
    pub fn pose_buffer(&self, config: PoseConfig) -> PoseBuffer {
        let mut b = PoseBuffer::new(config);
        b.set_fixed_pose(self.frame_pose());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::georef::{FrameGeoref, GeorefConfig};
    use crate::telemetry::PoseStale;
    use utkik_shared::camera::PoseUncertainty;
    use utkik_shared::geo::{LocalFrame, distance_m};

    fn site_config() -> SiteConfig {
        SiteConfig {
            lat_deg: Some(59.3293),
            lon_deg: Some(18.0686),
            ground_alt_m_amsl: Some(25.0),
            height_m_agl: Some(10.0),
            heading_deg: Some(90.0),
            pitch_deg: Some(-45.0),
            roll_deg: None,
        }
    }

    fn georef(pose: &FramePose) -> FrameGeoref {
        let config = GeorefConfig {
            hfov_rad: 60f64.to_radians(),
            uncertainty: PoseUncertainty::default(),
        };
        FrameGeoref::new(&config, 1280, 720, pose).expect("valid intrinsics")
    }

    #[test]
    fn a_plate_below_the_camera_lands_where_the_site_points() {
        let site = FixedSite::from_config(Some(&site_config())).unwrap();
        assert_eq!(site.roll_deg, 0.0, "roll defaults to 0");
        let buffer = site.pose_buffer(PoseConfig {
            max_age_usec: 250_000,
            fixed_pitch_rad: None,
        });
        // Any frame time, even one far from every other: the site does not move.
        for t in [0, 1_763_800_000_000_000, u64::MAX] {
            let pose = buffer.pose_at(t).expect("a fixed site is never stale");
            assert_eq!(pose, site.frame_pose());
        }
        assert!(buffer.time_synced());
        // The image centre, 45° below the horizon facing east from 10 m up: a plate 0.5 m up
        // is 9.5 m east of the mast; its ground point is reported at ground level.
        let pose = buffer.pose_at(1_000).unwrap();
        let fix = georef(&pose)
            .locate([640.0, 360.0], 0.5)
            .expect("the centre ray hits the ground");
        let mast = GeoPoint {
            lat_deg: 59.3293,
            lon_deg: 18.0686,
            alt_m_amsl: 25.0,
        };
        let ned = LocalFrame::new(mast).to_ned(&fix.point);
        assert!(ned.x.abs() < 0.01, "north {}", ned.x);
        assert!((ned.y - 9.5).abs() < 0.01, "east {}", ned.y);
        assert!((fix.point.alt_m_amsl - 25.0).abs() < 1e-9);
        // Facing north instead, 30° below the horizon: 9.5 / tan 30° north of the mast.
        let north = FixedSite {
            heading_deg: 0.0,
            pitch_deg: -30.0,
            ..site
        };
        let fix = georef(&north.frame_pose()).locate([640.0, 360.0], 0.5).unwrap();
        let expected = LocalFrame::new(mast).from_ned(glam::DVec3::new(9.5 / 30f64.to_radians().tan(), 0.0, 0.0));
        assert!(distance_m(&fix.point, &expected) < 0.02, "{:?}", fix.point);
        // Straight down: the point under the camera.
        let nadir = FixedSite {
            pitch_deg: -90.0,
            ..site
        };
        let fix = georef(&nadir.frame_pose()).locate([640.0, 360.0], 0.5).unwrap();
        assert!(distance_m(&fix.point, &mast) < 0.01);
    }

    #[test]
    fn a_buffer_without_a_site_or_telemetry_is_still_stale() {
        let buffer = PoseBuffer::new(PoseConfig {
            max_age_usec: 250_000,
            fixed_pitch_rad: None,
        });
        assert_eq!(buffer.pose_at(1_000), Err(PoseStale::NoTimeSync));
    }

    #[test]
    fn missing_or_out_of_range_keys_are_named() {
        let e = FixedSite::from_config(None).unwrap_err();
        assert!(e.to_string().contains("`site`"), "{e}");
        let cases: [(fn(&mut SiteConfig), &str); 6] = [
            (|s| s.lat_deg = None, "site.lat_deg"),
            (|s| s.lat_deg = Some(91.0), "site.lat_deg"),
            (|s| s.lon_deg = Some(f64::NAN), "site.lon_deg"),
            (|s| s.height_m_agl = Some(0.0), "site.height_m_agl"),
            (|s| s.pitch_deg = Some(10.0), "site.pitch_deg"),
            (|s| s.heading_deg = None, "site.heading_deg"),
        ];
        for (edit, key) in cases {
            let mut s = site_config();
            edit(&mut s);
            let e = FixedSite::from_config(Some(&s)).unwrap_err().to_string();
            assert!(e.contains(&format!("`{key}`")), "{key}: {e}");
        }
    }
}
