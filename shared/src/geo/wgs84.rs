//! The WGS84 ellipsoid and the exact geodetic <-> ECEF conversions that
//! [`super::LocalFrame`] and the camera ray intersection are built on.

use glam::{DMat3, DVec3};

use super::GeoPoint;

/// Semi-major axis (equatorial radius), metres.
pub const A_M: f64 = 6_378_137.0;
/// Flattening.
pub const F: f64 = 1.0 / 298.257_223_563;
/// Semi-minor axis (polar radius), metres.
pub const B_M: f64 = A_M * (1.0 - F);
/// First eccentricity squared.
pub const E2: f64 = F * (2.0 - F);

/// Earth-centred, earth-fixed coordinates (metres) of a geodetic point; the
/// altitude is taken as height above the ellipsoid.
pub fn geodetic_to_ecef(p: &GeoPoint) -> DVec3 {
    let (slat, clat) = p.lat_deg.to_radians().sin_cos();
    let (slon, clon) = p.lon_deg.to_radians().sin_cos();
    let n = A_M / (1.0 - E2 * slat * slat).sqrt();
    let h = p.alt_m_amsl;
    DVec3::new(
        (n + h) * clat * clon,
        (n + h) * clat * slon,
        (n * (1.0 - E2) + h) * slat,
    )
}

/// Geodetic coordinates of an ECEF point (inverse of [`geodetic_to_ecef`]).
///
/// Bowring's initial latitude, then the fixed point
/// `tan(lat) = (z + e² N sin(lat)) / p` until it stops moving (each step gains
/// a factor ~e² ≈ 1/150, so 3-4 steps reach 1e-15 rad near the surface). The
/// height uses `p cos(lat) + z sin(lat) - a sqrt(1 - e² sin²(lat))`, which has
/// no singularity at the poles. Valid from the deep sea to orbit; not near the
/// earth's centre.
pub fn ecef_to_geodetic(ecef: DVec3) -> GeoPoint {
    let (x, y, z) = (ecef.x, ecef.y, ecef.z);
    let p = x.hypot(y);
    let lon = if p == 0.0 { 0.0 } else { y.atan2(x) };
    let ep2 = E2 / (1.0 - E2);
    let theta = (z * A_M).atan2(p * B_M);
    let (st, ct) = theta.sin_cos();
    let mut lat = (z + ep2 * B_M * st * st * st).atan2(p - E2 * A_M * ct * ct * ct);
    for _ in 0..10 {
        let s = lat.sin();
        let n = A_M / (1.0 - E2 * s * s).sqrt();
        let next = (z + E2 * n * s).atan2(p);
        let done = (next - lat).abs() < 1e-15;
        lat = next;
        if done {
            break;
        }
    }
    let (s, c) = lat.sin_cos();
    let h = p * c + z * s - A_M * (1.0 - E2 * s * s).sqrt();
    GeoPoint::new(lat.to_degrees(), lon.to_degrees(), h)
}

/// Rotation taking ECEF vectors to NED vectors at the given latitude and
/// longitude (rows: north, east, down unit vectors in ECEF).
pub fn ecef_to_ned_rotation(lat_deg: f64, lon_deg: f64) -> DMat3 {
    let (slat, clat) = lat_deg.to_radians().sin_cos();
    let (slon, clon) = lon_deg.to_radians().sin_cos();
    let north = DVec3::new(-slat * clon, -slat * slon, clat);
    let east = DVec3::new(-slon, clon, 0.0);
    let down = DVec3::new(-clat * clon, -clat * slon, -slat);
    DMat3::from_cols(north, east, down).transpose()
}

/// Outward ellipsoid normal ("up") in ECEF at the given latitude and longitude.
/// It is the gradient of ellipsoidal height, which the ray intersection uses.
pub fn up_ecef(lat_deg: f64, lon_deg: f64) -> DVec3 {
    let (slat, clat) = lat_deg.to_radians().sin_cos();
    let (slon, clon) = lon_deg.to_radians().sin_cos();
    DVec3::new(clat * clon, clat * slon, slat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn equator_and_pole_are_on_the_axes() {
        let e = geodetic_to_ecef(&GeoPoint::new(0.0, 0.0, 0.0));
        assert!((e - DVec3::new(A_M, 0.0, 0.0)).length() < 1e-9);
        let e = geodetic_to_ecef(&GeoPoint::new(0.0, 90.0, 100.0));
        assert!((e - DVec3::new(0.0, A_M + 100.0, 0.0)).length() < 1e-9);
        let n = geodetic_to_ecef(&GeoPoint::new(90.0, 0.0, 0.0));
        assert!((n - DVec3::new(0.0, 0.0, B_M)).length() < 1e-9);
        // Published WGS84 polar radius.
        assert!((B_M - 6_356_752.314_245).abs() < 1e-6);
        let g = ecef_to_geodetic(DVec3::new(0.0, 0.0, -B_M - 50.0));
        assert!(
            (g.lat_deg + 90.0).abs() < 1e-12 && (g.alt_m_amsl - 50.0).abs() < 1e-9,
            "{g:?}"
        );
    }

    #[test]
    fn lat_45_matches_the_closed_form() {
        // N = a / sqrt(1 - e²/2); x = z / (1 - e²) at h = 0, both = N / sqrt(2) scaled.
        let n = A_M / (1.0 - E2 / 2.0).sqrt();
        let e = geodetic_to_ecef(&GeoPoint::new(45.0, 0.0, 0.0));
        assert!((e.x - n / 2f64.sqrt()).abs() < 1e-8);
        assert!((e.z - n * (1.0 - E2) / 2f64.sqrt()).abs() < 1e-8);
    }

    #[test]
    fn ned_rotation_at_origin_of_lat_lon() {
        let r = ecef_to_ned_rotation(0.0, 0.0);
        // At (0, 0): north = +z, east = +y, down = -x.
        assert!((r * DVec3::Z - DVec3::X).length() < 1e-15);
        assert!((r * DVec3::Y - DVec3::Y).length() < 1e-15);
        assert!((r * -DVec3::X - DVec3::Z).length() < 1e-15);
    }

    proptest! {
        #[test]
        fn geodetic_ecef_round_trip(lat in -90.0f64..=90.0, lon in -180.0f64..180.0, alt in -1000.0f64..50_000.0) {
            let p = GeoPoint::new(lat, lon, alt);
            let q = ecef_to_geodetic(geodetic_to_ecef(&p));
            prop_assert!((q.lat_deg - lat).abs() < 1e-11, "{p:?} {q:?}");
            if lat.abs() < 89.999 {
                prop_assert!((q.lon_deg - lon).abs() < 1e-11, "{p:?} {q:?}");
            }
            prop_assert!((q.alt_m_amsl - alt).abs() < 1e-6, "{p:?} {q:?}");
        }
    }
}
