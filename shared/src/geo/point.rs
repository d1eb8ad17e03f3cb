//! [`GeoPoint`]: a WGS84 position with AMSL altitude, the currency between the
//! drone, the ground station and the map, with the degE7 / mm helpers MAVLink
//! messages need.

use serde::{Deserialize, Serialize};

/// Why a [`GeoPoint`] was rejected by [`GeoPoint::try_new`] / [`GeoPoint::validate`].
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum GeoError {
    /// Latitude outside [-90, 90] degrees or not finite.
    #[error("latitude {lat_deg} deg is outside [-90, 90] or not finite")]
    InvalidLatitude {
        /// The rejected value.
        lat_deg: f64,
    },
    /// Longitude outside [-180, 180] degrees or not finite.
    #[error("longitude {lon_deg} deg is outside [-180, 180] or not finite")]
    InvalidLongitude {
        /// The rejected value.
        lon_deg: f64,
    },
    /// Altitude not finite.
    #[error("altitude {alt_m_amsl} m AMSL is not finite")]
    InvalidAltitude {
        /// The rejected value.
        alt_m_amsl: f64,
    },
}

/// A WGS84 position: latitude and longitude in degrees, altitude in metres
/// above mean sea level.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct GeoPoint {
    /// Latitude, degrees north, WGS84.
    pub lat_deg: f64,
    /// Longitude, degrees east, WGS84.
    pub lon_deg: f64,
    /// Altitude, metres above mean sea level.
    pub alt_m_amsl: f64,
}

impl GeoPoint {
    /// A point from degrees and metres, unchecked (see [`GeoPoint::try_new`]).
    pub const fn new(lat_deg: f64, lon_deg: f64, alt_m_amsl: f64) -> Self {
        Self {
            lat_deg,
            lon_deg,
            alt_m_amsl,
        }
    }

    /// A point from degrees and metres, rejecting out-of-range or non-finite values.
    pub fn try_new(lat_deg: f64, lon_deg: f64, alt_m_amsl: f64) -> Result<Self, GeoError> {
        let p = Self::new(lat_deg, lon_deg, alt_m_amsl);
        p.validate()?;
        Ok(p)
    }

    /// Checks the ranges: latitude in [-90, 90], longitude in [-180, 180], all finite.
    pub fn validate(&self) -> Result<(), GeoError> {
        if !(self.lat_deg.is_finite() && (-90.0..=90.0).contains(&self.lat_deg)) {
            return Err(GeoError::InvalidLatitude { lat_deg: self.lat_deg });
        }
        if !(self.lon_deg.is_finite() && (-180.0..=180.0).contains(&self.lon_deg)) {
            return Err(GeoError::InvalidLongitude { lon_deg: self.lon_deg });
        }
        if !self.alt_m_amsl.is_finite() {
            return Err(GeoError::InvalidAltitude {
                alt_m_amsl: self.alt_m_amsl,
            });
        }
        Ok(())
    }

    /// From MAVLink integers: latitude and longitude in degE7, altitude in mm AMSL
    /// (as `GLOBAL_POSITION_INT.lat/lon/alt`).
    pub fn from_deg_e7(lat_e7: i32, lon_e7: i32, alt_mm: i32) -> Self {
        Self::new(
            f64::from(lat_e7) * 1e-7,
            f64::from(lon_e7) * 1e-7,
            f64::from(alt_mm) * 1e-3,
        )
    }

    /// Latitude in degE7 (rounded to nearest), for MAVLink.
    pub fn lat_e7(&self) -> i32 {
        to_i32_saturating(self.lat_deg * 1e7)
    }

    /// Longitude in degE7 (rounded to nearest), for MAVLink.
    pub fn lon_e7(&self) -> i32 {
        to_i32_saturating(self.lon_deg * 1e7)
    }

    /// Altitude in millimetres AMSL (rounded to nearest), for MAVLink.
    pub fn alt_mm(&self) -> i32 {
        to_i32_saturating(self.alt_m_amsl * 1e3)
    }

    /// The same point with another altitude.
    pub fn with_alt(self, alt_m_amsl: f64) -> Self {
        Self { alt_m_amsl, ..self }
    }

    /// The horizontal position as a `geo` point: x = longitude, y = latitude (degrees).
    pub fn to_point(&self) -> ::geo::Point<f64> {
        ::geo::Point::new(self.lon_deg, self.lat_deg)
    }
}

impl From<GeoPoint> for ::geo::Point<f64> {
    fn from(p: GeoPoint) -> Self {
        p.to_point()
    }
}

impl From<&crate::dialect::GLOBAL_POSITION_INT_DATA> for GeoPoint {
    /// Position from GLOBAL_POSITION_INT (degE7, mm AMSL).
    fn from(m: &crate::dialect::GLOBAL_POSITION_INT_DATA) -> Self {
        Self::from_deg_e7(m.lat, m.lon, m.alt)
    }
}

/// Rounds to the nearest integer; out-of-range values saturate (only reachable
/// with invalid points, e.g. altitudes beyond ±2147 km).
fn to_i32_saturating(x: f64) -> i32 {
    // `as` saturates and maps NaN to 0, which is what we want for a wire field.
    x.round() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deg_e7_round_trip_is_exact() {
        let p = GeoPoint::from_deg_e7(597_234_567, 107_123_456, 123_456);
        assert!((p.lat_deg - 59.7234567).abs() < 1e-12);
        assert!((p.lon_deg - 10.7123456).abs() < 1e-12);
        assert!((p.alt_m_amsl - 123.456).abs() < 1e-12);
        assert_eq!(
            (p.lat_e7(), p.lon_e7(), p.alt_mm()),
            (597_234_567, 107_123_456, 123_456)
        );
        let q = GeoPoint::from_deg_e7(-900_000_000, -1_800_000_000, -430_000);
        assert_eq!(
            (q.lat_e7(), q.lon_e7(), q.alt_mm()),
            (-900_000_000, -1_800_000_000, -430_000)
        );
    }

    #[test]
    fn from_global_position_int() {
        let m = crate::dialect::GLOBAL_POSITION_INT_DATA {
            lat: 599_139_000,
            lon: 107_522_000,
            alt: 110_500,
            relative_alt: 100_000,
            ..Default::default()
        };
        let p = GeoPoint::from(&m);
        assert_eq!(
            (p.lat_e7(), p.lon_e7(), p.alt_mm()),
            (599_139_000, 107_522_000, 110_500)
        );
    }

    #[test]
    fn rounding_goes_to_nearest() {
        let p = GeoPoint::new(1.000_000_06, -1.000_000_06, 0.0006);
        assert_eq!((p.lat_e7(), p.lon_e7(), p.alt_mm()), (10_000_001, -10_000_001, 1));
    }

    #[test]
    fn invalid_points_name_the_field() {
        assert_eq!(
            GeoPoint::try_new(90.5, 0.0, 0.0),
            Err(GeoError::InvalidLatitude { lat_deg: 90.5 })
        );
        assert_eq!(
            GeoPoint::try_new(0.0, -181.0, 0.0),
            Err(GeoError::InvalidLongitude { lon_deg: -181.0 })
        );
        assert!(matches!(
            GeoPoint::try_new(0.0, 0.0, f64::NAN),
            Err(GeoError::InvalidAltitude { .. })
        ));
        assert!(matches!(
            GeoPoint::try_new(f64::NAN, 0.0, 0.0),
            Err(GeoError::InvalidLatitude { .. })
        ));
        let msg = GeoError::InvalidLatitude { lat_deg: 91.0 }.to_string();
        assert!(msg.contains("latitude") && msg.contains("91"), "{msg}");
        assert!(GeoPoint::try_new(-90.0, 180.0, -430.0).is_ok());
    }

    #[test]
    fn geo_point_is_lon_lat() {
        let p = GeoPoint::new(59.9, 10.7, 5.0).to_point();
        assert_eq!((p.x(), p.y()), (10.7, 59.9));
    }
}
