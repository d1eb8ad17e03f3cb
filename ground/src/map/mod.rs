//! Map data without Bevy: a local projection around an origin (metres east/north), vector
//! overlays from GeoJSON (roads, buildings, geofences, authorized areas) and raster tiles from an
//! XYZ folder or an MBTiles file, so they are loaded and tested without a window.

pub mod geojson;
pub mod tiles;

pub use geojson::{Overlay, OverlayKind, load_geojson, parse_geojson};

/// Mean Earth radius used by the drawing projection, metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Equirectangular projection around an origin: metres east (x) and north (y). Within a few
/// kilometres of the origin the error is well below a pixel at street zoom, and it costs two
/// multiplications per point (the map redraws thousands of trail points each frame).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapProjection {
    /// Origin latitude, degrees.
    pub lat0_deg: f64,
    /// Origin longitude, degrees.
    pub lon0_deg: f64,
    m_per_deg_lat: f64,
    m_per_deg_lon: f64,
}

impl MapProjection {
    /// A projection centred on (lat, lon).
    pub fn new(lat0_deg: f64, lon0_deg: f64) -> Self {
        let m_per_deg_lat = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        Self {
            lat0_deg,
            lon0_deg,
            m_per_deg_lat,
            m_per_deg_lon: m_per_deg_lat * lat0_deg.to_radians().cos(),
        }
    }

    /// (lon, lat) degrees -> (east, north) metres.
    pub fn to_xy(&self, lon_deg: f64, lat_deg: f64) -> [f32; 2] {
        [
            ((lon_deg - self.lon0_deg) * self.m_per_deg_lon) as f32,
            ((lat_deg - self.lat0_deg) * self.m_per_deg_lat) as f32,
        ]
    }

    /// (east, north) metres -> (lon, lat) degrees.
    pub fn to_lonlat(&self, x_m: f32, y_m: f32) -> (f64, f64) {
        (
            self.lon0_deg + x_m as f64 / self.m_per_deg_lon,
            self.lat0_deg + y_m as f64 / self.m_per_deg_lat,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::geo::{GeoPoint, distance_m};

    #[test]
    fn projection_matches_geodesic_distance_near_origin() {
        let p = MapProjection::new(59.91, 10.75);
        let a = GeoPoint::new(59.91, 10.75, 0.0);
        let b = GeoPoint::new(59.915, 10.76, 0.0);
        let [x, y] = p.to_xy(b.lon_deg, b.lat_deg);
        let d = (x as f64).hypot(y as f64);
        let truth = distance_m(&a, &b);
        assert!((d - truth).abs() / truth < 0.005, "{d} vs {truth}");
        let (lon, lat) = p.to_lonlat(x, y);
        assert!((lon - b.lon_deg).abs() < 1e-6 && (lat - b.lat_deg).abs() < 1e-6);
    }
}
