//! GeoJSON overlays (the simulator's scenario export, or any FeatureCollection): lines and
//! polygon rings in (lon, lat), classified by the `kind` property (or OSM-style `highway` /
//! `building` keys) for styling. Features with unsupported geometry are skipped and counted,
//! never fatal.

use std::path::Path;

use serde_json::Value;
use thiserror::Error;

/// What an overlay feature shows (decides its colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverlayKind {
    /// A road or path.
    Road,
    /// A building outline.
    Building,
    /// A geofence.
    Geofence,
    /// An authorized area for biometric identification.
    AuthorizedArea,
    /// Water.
    Water,
    /// Green area.
    Green,
    /// Anything else.
    Other,
}

impl OverlayKind {
    fn from_properties(p: Option<&Value>) -> Self {
        let get = |k: &str| {
            p.and_then(|p| p.get(k))
                .and_then(|v| v.as_str())
                .map(|s| s.to_ascii_lowercase())
        };
        if let Some(kind) = get("kind").or_else(|| get("type")).or_else(|| get("class")) {
            return match kind.as_str() {
                "road" | "street" | "path" | "highway" => Self::Road,
                "building" | "house" => Self::Building,
                "geofence" | "fence" | "no_fly" => Self::Geofence,
                "authorized_area" | "authorization" | "area" => Self::AuthorizedArea,
                "water" | "river" | "lake" => Self::Water,
                "park" | "green" | "forest" | "grass" => Self::Green,
                _ => Self::Other,
            };
        }
        if get("highway").is_some() {
            Self::Road
        } else if get("building").is_some() {
            Self::Building
        } else {
            Self::Other
        }
    }
}

/// One drawable feature part: a polyline or a closed ring, (lon, lat) degrees.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    /// Styling class.
    pub kind: OverlayKind,
    /// Closed ring (polygon) or open line.
    pub closed: bool,
    /// Vertices, (lon, lat) degrees.
    pub points: Vec<(f64, f64)>,
    /// Feature name, when given.
    pub name: Option<String>,
}

/// GeoJSON problems that stop loading the file.
#[derive(Debug, Error)]
pub enum GeoJsonError {
    /// Reading failed.
    #[error("reading GeoJSON {path}: {source}")]
    Io {
        /// File.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// Not JSON.
    #[error("GeoJSON {path}: not valid JSON: {message}")]
    Json {
        /// File.
        path: String,
        /// Parser message (with line and column).
        message: String,
    },
    /// JSON but not a FeatureCollection/Feature/geometry.
    #[error("GeoJSON {path}: top-level type {found:?} is not FeatureCollection, Feature or a geometry")]
    NotGeoJson {
        /// File.
        path: String,
        /// The type found.
        found: String,
    },
}

/// Overlays from a file, plus the number of skipped features.
pub fn load_geojson(path: &Path) -> Result<(Vec<Overlay>, usize), GeoJsonError> {
    let text = std::fs::read_to_string(path).map_err(|source| GeoJsonError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_geojson(&text, &path.display().to_string())
}

/// Overlays from GeoJSON text (`origin` names it in errors), plus the number of skipped features.
pub fn parse_geojson(text: &str, origin: &str) -> Result<(Vec<Overlay>, usize), GeoJsonError> {
    let v: Value = serde_json::from_str(text).map_err(|e| GeoJsonError::Json {
        path: origin.to_string(),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    let mut skipped = 0;
    match v.get("type").and_then(|t| t.as_str()).unwrap_or("") {
        "FeatureCollection" => {
            for f in v
                .get("features")
                .and_then(|f| f.as_array())
                .map(|a| a.as_slice())
                .unwrap_or(&[])
            {
                if !feature(f, &mut out) {
                    skipped += 1;
                }
            }
        }
        "Feature" => {
            if !feature(&v, &mut out) {
                skipped += 1;
            }
        }
        t @ ("LineString" | "MultiLineString" | "Polygon" | "MultiPolygon") => {
            let _ = t;
            geometry(&v, OverlayKind::Other, None, &mut out);
        }
        other => {
            return Err(GeoJsonError::NotGeoJson {
                path: origin.to_string(),
                found: other.to_string(),
            });
        }
    }
    Ok((out, skipped))
}

fn feature(f: &Value, out: &mut Vec<Overlay>) -> bool {
    let props = f.get("properties");
    let kind = OverlayKind::from_properties(props);
    let name = props
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string);
    match f.get("geometry") {
        Some(g) => geometry(g, kind, name, out),
        None => false,
    }
}

fn coords(v: &Value) -> Option<Vec<(f64, f64)>> {
    v.as_array()?
        .iter()
        .map(|c| {
            let c = c.as_array()?;
            let lon = c.first()?.as_f64()?;
            let lat = c.get(1)?.as_f64()?;
            (lon.is_finite() && lat.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0).then_some((lon, lat))
        })
        .collect()
}

fn geometry(g: &Value, kind: OverlayKind, name: Option<String>, out: &mut Vec<Overlay>) -> bool {
    let c = g.get("coordinates");
    let push = |out: &mut Vec<Overlay>, pts: Vec<(f64, f64)>, closed: bool| {
        if pts.len() >= 2 {
            out.push(Overlay {
                kind,
                closed,
                points: pts,
                name: name.clone(),
            });
        }
    };
    match (g.get("type").and_then(|t| t.as_str()), c) {
        (Some("LineString"), Some(c)) => match coords(c) {
            Some(p) => push(out, p, false),
            None => return false,
        },
        (Some("MultiLineString"), Some(c)) | (Some("Polygon"), Some(c)) => {
            let closed = g.get("type").and_then(|t| t.as_str()) == Some("Polygon");
            for part in c.as_array().map(|a| a.as_slice()).unwrap_or(&[]) {
                match coords(part) {
                    Some(p) => push(out, p, closed),
                    None => return false,
                }
            }
        }
        (Some("MultiPolygon"), Some(c)) => {
            for poly in c.as_array().map(|a| a.as_slice()).unwrap_or(&[]) {
                for ring in poly.as_array().map(|a| a.as_slice()).unwrap_or(&[]) {
                    match coords(ring) {
                        Some(p) => push(out, p, true),
                        None => return false,
                    }
                }
            }
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_classified_and_bad_ones_skipped() {
        let text = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"kind":"road","name":"Main St"},
           "geometry":{"type":"LineString","coordinates":[[10.0,59.0],[10.001,59.0]]}},
          {"type":"Feature","properties":{"building":"yes"},
           "geometry":{"type":"Polygon","coordinates":[[[10,59],[10.0001,59],[10.0001,59.0001],[10,59]]]}},
          {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[10,59]}},
          {"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[10,"x"]]}}
        ]}"#;
        let (o, skipped) = parse_geojson(text, "test").unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].kind, OverlayKind::Road);
        assert_eq!(o[0].name.as_deref(), Some("Main St"));
        assert_eq!(o[1].kind, OverlayKind::Building);
        assert!(o[1].closed);
        assert_eq!(skipped, 2);
    }

    #[test]
    fn broken_json_names_the_file() {
        let e = parse_geojson("{\"type\":", "roads.geojson").unwrap_err().to_string();
        assert!(e.contains("roads.geojson") && e.contains("not valid JSON"), "{e}");
        let e = parse_geojson("{\"type\":\"Topology\"}", "t.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Topology"), "{e}");
    }
}
