//! The authorized area: a WGS84 polygon, and the geofence test
//! "is this point inside it" that gates identification (LAW.md section 2:
//! identification stops by itself when the drone leaves the area).
//!
//! The test treats longitude/latitude as plane coordinates. For the areas a
//! permit covers (a few kilometres, far from the poles and the antimeridian)
//! the difference from a geodesic edge is centimetres; validation refuses
//! polygons spanning more than [`MAX_SPAN_DEG`] so that stays true. A point
//! exactly on the boundary counts as *outside* (the stricter reading).

use geo::{Area as _, Contains, LineString, Point, Polygon, Validation};
use serde::{Deserialize, Serialize};

use super::error::AuthzError;
use crate::geo::GeoPoint;

/// Largest latitude or longitude extent of an area, degrees. An area larger
/// than about 100 km is not a targeted permit, and the plane approximation
/// needs small areas.
pub const MAX_SPAN_DEG: f64 = 1.0;

/// Smallest accepted polygon area in square degrees (about 1 m x 1 m): below
/// it the vertices are (nearly) on a line, which is a typing error, not an area.
pub const MIN_AREA_DEG2: f64 = 1e-10;

/// One polygon vertex (WGS84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaVertex {
    /// Latitude, degrees north.
    pub lat_deg: f64,
    /// Longitude, degrees east.
    pub lon_deg: f64,
}

/// The authorized area: a simple polygon without holes, vertices in order
/// (either direction), not closed (the last vertex connects to the first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    /// The vertices, at least three.
    pub vertices: Vec<AreaVertex>,
}

impl Area {
    /// An area from `(lat_deg, lon_deg)` pairs.
    pub fn from_lat_lon_deg(points: &[(f64, f64)]) -> Self {
        Self {
            vertices: points
                .iter()
                .map(|&(lat_deg, lon_deg)| AreaVertex { lat_deg, lon_deg })
                .collect(),
        }
    }

    fn polygon(&self) -> Polygon<f64> {
        let ring: Vec<(f64, f64)> = self.vertices.iter().map(|v| (v.lon_deg, v.lat_deg)).collect();
        Polygon::new(LineString::from(ring), vec![])
    }

    /// Checks the polygon. `field` is the path of the area in the file, used in errors.
    ///
    /// # Errors
    /// [`AuthzError::Invalid`] naming `field.vertices[i]` for a bad vertex, or
    /// `field.vertices` for too few vertices, a self-intersecting or
    /// zero-area polygon, or one larger than [`MAX_SPAN_DEG`].
    pub fn validate(&self, field: &str) -> Result<(), AuthzError> {
        let vfield = format!("{field}.vertices");
        if self.vertices.len() < 3 {
            return Err(AuthzError::invalid(
                vfield,
                format!("an area needs at least 3 vertices, got {}", self.vertices.len()),
            ));
        }
        for (i, v) in self.vertices.iter().enumerate() {
            if !(v.lat_deg.is_finite() && (-90.0..=90.0).contains(&v.lat_deg)) {
                return Err(AuthzError::invalid(
                    format!("{vfield}[{i}].lat_deg"),
                    format!("{} is not a latitude", v.lat_deg),
                ));
            }
            if !(v.lon_deg.is_finite() && (-180.0..=180.0).contains(&v.lon_deg)) {
                return Err(AuthzError::invalid(
                    format!("{vfield}[{i}].lon_deg"),
                    format!("{} is not a longitude", v.lon_deg),
                ));
            }
        }
        let (mut lat_min, mut lat_max, mut lon_min, mut lon_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for v in &self.vertices {
            lat_min = lat_min.min(v.lat_deg);
            lat_max = lat_max.max(v.lat_deg);
            lon_min = lon_min.min(v.lon_deg);
            lon_max = lon_max.max(v.lon_deg);
        }
        if lat_max - lat_min > MAX_SPAN_DEG || lon_max - lon_min > MAX_SPAN_DEG {
            return Err(AuthzError::invalid(
                vfield,
                format!(
                    "the area spans {:.3} deg of latitude and {:.3} deg of longitude; at most {MAX_SPAN_DEG} deg is accepted",
                    lat_max - lat_min,
                    lon_max - lon_min
                ),
            ));
        }
        let polygon = self.polygon();
        if let Err(e) = polygon.check_validation() {
            return Err(AuthzError::invalid(vfield, format!("not a simple polygon: {e}")));
        }
        if polygon.unsigned_area() < MIN_AREA_DEG2 {
            return Err(AuthzError::invalid(vfield, "the polygon has (almost) no area"));
        }
        Ok(())
    }

    /// Whether the point (its latitude and longitude; altitude is ignored) is
    /// strictly inside the area. Boundary points are outside.
    pub fn contains(&self, point: &GeoPoint) -> bool {
        self.contains_lat_lon_deg(point.lat_deg, point.lon_deg)
    }

    /// [`Area::contains`] for a bare latitude/longitude in degrees.
    pub fn contains_lat_lon_deg(&self, lat_deg: f64, lon_deg: f64) -> bool {
        if !(lat_deg.is_finite() && lon_deg.is_finite()) || self.vertices.len() < 3 {
            return false;
        }
        self.polygon().contains(&Point::new(lon_deg, lat_deg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> Area {
        // About 330 m x 340 m around Tensta torg.
        Area::from_lat_lon_deg(&[(59.393, 17.898), (59.393, 17.904), (59.396, 17.904), (59.396, 17.898)])
    }

    #[test]
    fn inside_and_outside() {
        let a = square();
        a.validate("document.area").unwrap();
        assert!(a.contains(&GeoPoint::new(59.3945, 17.901, 25.0)));
        assert!(!a.contains(&GeoPoint::new(59.3975, 17.901, 25.0)), "north of the area");
        assert!(!a.contains(&GeoPoint::new(59.3945, 17.905, 25.0)), "east of the area");
    }

    #[test]
    fn boundary_is_outside() {
        let a = square();
        assert!(!a.contains_lat_lon_deg(59.393, 17.901), "on the south edge");
        assert!(!a.contains_lat_lon_deg(59.393, 17.898), "on a vertex");
    }

    #[test]
    fn concave_polygon_notch_is_outside() {
        // A U shape: the notch in the middle of the top is outside.
        let u = Area::from_lat_lon_deg(&[
            (0.0, 0.0),
            (0.0, 0.003),
            (0.003, 0.003),
            (0.003, 0.002),
            (0.001, 0.002),
            (0.001, 0.001),
            (0.003, 0.001),
            (0.003, 0.0),
        ]);
        u.validate("a").unwrap();
        assert!(!u.contains_lat_lon_deg(0.002, 0.0015), "in the notch");
        assert!(u.contains_lat_lon_deg(0.002, 0.0005), "in the left arm");
    }

    #[test]
    fn nan_point_is_outside() {
        assert!(!square().contains_lat_lon_deg(f64::NAN, 17.9));
    }

    #[test]
    fn too_few_vertices_named() {
        let a = Area::from_lat_lon_deg(&[(59.0, 17.0), (59.001, 17.0)]);
        let e = a.validate("document.area").unwrap_err();
        assert_eq!(e.field(), "document.area.vertices");
    }

    #[test]
    fn bad_vertex_named_with_index() {
        let a = Area::from_lat_lon_deg(&[(59.0, 17.0), (59.001, 17.0), (91.0, 17.001)]);
        let e = a.validate("document.area").unwrap_err();
        assert_eq!(e.field(), "document.area.vertices[2].lat_deg");
    }

    #[test]
    fn self_intersecting_refused() {
        // A bow tie.
        let a = Area::from_lat_lon_deg(&[(0.0, 0.0), (0.001, 0.001), (0.0, 0.001), (0.001, 0.0)]);
        let e = a.validate("document.area").unwrap_err();
        assert_eq!(e.field(), "document.area.vertices");
        assert!(e.to_string().contains("simple"), "{e}");
    }

    #[test]
    fn degenerate_polygon_refused() {
        let a = Area::from_lat_lon_deg(&[(0.0, 0.0), (0.001, 0.0), (0.002, 0.0)]);
        assert!(a.validate("document.area").is_err());
    }

    #[test]
    fn huge_area_refused() {
        // All of southern Sweden is not a targeted permit.
        let a = Area::from_lat_lon_deg(&[(55.0, 11.0), (55.0, 19.0), (60.0, 19.0), (60.0, 11.0)]);
        let e = a.validate("document.area").unwrap_err();
        assert!(e.to_string().contains("spans"), "{e}");
    }
}
