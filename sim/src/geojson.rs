//! GeoJSON export of a scenario's map features for the ground station's
//! basemap: roads (LineString, width), buildings (Polygon, height), the
//! scenario area (Polygon around everything) and the origin (Point).
//! Coordinates are WGS84 `[lon, lat]` as RFC 7946 requires.

use serde_json::{Value, json};
use utkik_shared::geo::LocalFrame;

use crate::scenario::{EnPoint, Scenario};

/// Margin added around the features for the `area` polygon, metres.
const AREA_MARGIN_M: f64 = 30.0;

fn lon_lat(frame: &LocalFrame, p: EnPoint) -> Value {
    let g = frame.from_enu(glam::DVec3::new(p[0], p[1], 0.0));
    // 1e-7 degrees (about a centimetre) is what MAVLink carries; more digits are noise.
    let r = |x: f64| (x * 1e7).round() / 1e7;
    json!([r(g.lon_deg), r(g.lat_deg)])
}

fn ring(frame: &LocalFrame, pts: &[EnPoint]) -> Value {
    let mut v: Vec<Value> = pts.iter().map(|p| lon_lat(frame, *p)).collect();
    if let Some(first) = v.first().cloned() {
        v.push(first);
    }
    Value::Array(v)
}

/// The scenario's map features as a GeoJSON FeatureCollection.
pub fn scenario_geojson(s: &Scenario) -> Value {
    let frame = LocalFrame::new(s.origin.geo());
    let mut features = Vec::new();
    let mut all: Vec<EnPoint> = vec![[0.0, 0.0]];
    for r in &s.roads {
        all.extend(&r.points);
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": r.points.iter().map(|p| lon_lat(&frame, *p)).collect::<Vec<_>>()},
            "properties": {"kind": "road", "name": r.name, "width_m": r.width_m, "lanes": r.lanes},
        }));
    }
    for (i, b) in s.buildings.iter().enumerate() {
        all.extend(&b.footprint);
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring(&frame, &b.footprint)]},
            "properties": {"kind": "building", "index": i, "height_m": b.height_m},
        }));
    }
    let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in &all {
        for k in 0..2 {
            min[k] = min[k].min(p[k]);
            max[k] = max[k].max(p[k]);
        }
    }
    let (x0, y0, x1, y1) = (
        min[0] - AREA_MARGIN_M,
        min[1] - AREA_MARGIN_M,
        max[0] + AREA_MARGIN_M,
        max[1] + AREA_MARGIN_M,
    );
    features.push(json!({
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring(&frame, &[[x0, y0], [x1, y0], [x1, y1], [x0, y1]])]},
        "properties": {"kind": "area", "name": s.name, "description": s.description},
    }));
    features.push(json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": lon_lat(&frame, [0.0, 0.0])},
        "properties": {"kind": "origin", "alt_m_amsl": s.origin.alt_m_amsl},
    }));
    json!({"type": "FeatureCollection", "name": s.name, "features": features})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::scenarios_dir;

    #[test]
    fn features_are_where_the_scenario_puts_them() {
        let s = Scenario::load(&scenarios_dir().join("urban-street.toml")).unwrap();
        let g = scenario_geojson(&s);
        let f = g["features"].as_array().unwrap();
        assert_eq!(f.len(), s.roads.len() + s.buildings.len() + 2);
        let origin = f.iter().find(|x| x["properties"]["kind"] == "origin").unwrap();
        assert_eq!(
            origin["geometry"]["coordinates"],
            json!([s.origin.lon_deg, s.origin.lat_deg])
        );
        // Rinkebystråket runs 240 m east-west through the origin.
        let road = &f[0]["geometry"]["coordinates"];
        let (w, e) = (road[0].clone(), road[1].clone());
        assert!((w[1].as_f64().unwrap() - s.origin.lat_deg).abs() < 1e-6);
        let dlon = e[0].as_f64().unwrap() - w[0].as_f64().unwrap();
        let metres = dlon.to_radians() * 6_378_137.0 * s.origin.lat_deg.to_radians().cos();
        assert!((metres - 240.0).abs() < 1.0, "{metres}");
        // Polygons are closed rings.
        let b = &f[s.roads.len()]["geometry"]["coordinates"][0];
        let n = b.as_array().unwrap().len();
        assert_eq!(n, s.buildings[0].footprint.len() + 1);
        assert_eq!(b[0], b[n - 1]);
    }
}
