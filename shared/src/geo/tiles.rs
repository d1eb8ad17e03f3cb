//! Web-Mercator ("slippy map") tile math, as OpenStreetMap, XYZ folders and MBTiles use it:
//! which tile holds a position, a tile's bounds, the zoom matching a map scale, the tiles
//! covering a box. Pure: the ground station reads tiles with it and the simulator writes them.

use std::f64::consts::PI;

/// Tile edge, pixels (every common tile source uses 256).
pub const TILE_PX: u32 = 256;
/// Highest zoom level accepted.
pub const MAX_ZOOM: u8 = 22;
/// Web-Mercator latitude limit, degrees.
pub const MAX_LAT_DEG: f64 = 85.051_128_779_806_6;
/// WGS84 equatorial radius used by Web Mercator, metres.
const EARTH_RADIUS_M: f64 = 6_378_137.0;

/// One tile: zoom, column (x, from the antimeridian eastwards) and row (y, from the north).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Zoom level.
    pub z: u8,
    /// Column.
    pub x: u32,
    /// Row, XYZ convention (0 at the top).
    pub y: u32,
}

impl std::fmt::Display for TileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

/// Fractional tile coordinates of (lon, lat) at zoom `z` (OSM wiki "Slippy map tilenames").
pub fn lonlat_to_tile_f(lon_deg: f64, lat_deg: f64, z: u8) -> (f64, f64) {
    let n = f64::from(1u32 << z);
    let lat = lat_deg.clamp(-MAX_LAT_DEG, MAX_LAT_DEG).to_radians();
    let x = (lon_deg + 180.0) / 360.0 * n;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0 * n;
    (x, y)
}

/// (lon, lat) of the north-west corner of tile column `x`, row `y` at zoom `z` (fractional
/// coordinates allowed).
pub fn tile_to_lonlat(x: f64, y: f64, z: u8) -> (f64, f64) {
    let n = f64::from(1u32 << z);
    let lon = x / n * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * y / n)).sinh().atan().to_degrees();
    (lon, lat)
}

impl TileId {
    /// The tile holding (lon, lat) at zoom `z`.
    pub fn containing(lon_deg: f64, lat_deg: f64, z: u8) -> Self {
        let (x, y) = lonlat_to_tile_f(lon_deg, lat_deg, z);
        let max = (1u64 << z) as f64 - 1.0;
        Self {
            z,
            x: x.floor().clamp(0.0, max) as u32,
            y: y.floor().clamp(0.0, max) as u32,
        }
    }

    /// (west lon, south lat, east lon, north lat), degrees.
    pub fn bounds_deg(&self) -> [f64; 4] {
        let (w, n) = tile_to_lonlat(f64::from(self.x), f64::from(self.y), self.z);
        let (e, s) = tile_to_lonlat(f64::from(self.x) + 1.0, f64::from(self.y) + 1.0, self.z);
        [w, s, e, n]
    }

    /// The MBTiles (TMS) row of this tile: rows count from the south.
    pub fn tms_row(&self) -> u32 {
        (1u32 << self.z) - 1 - self.y
    }

    /// The tile at zoom `z` (lower) that contains this one.
    pub fn ancestor(&self, z: u8) -> Self {
        let d = self.z.saturating_sub(z);
        Self {
            z: self.z - d,
            x: self.x >> d,
            y: self.y >> d,
        }
    }
}

/// Ground metres per tile pixel at zoom `z` and latitude `lat_deg`.
pub fn m_per_px(z: u8, lat_deg: f64) -> f64 {
    2.0 * PI * EARTH_RADIUS_M * lat_deg.to_radians().cos() / (f64::from(TILE_PX) * f64::from(1u32 << z))
}

/// The zoom whose tile pixels are closest to (not coarser than half) the screen's metres per
/// pixel, clamped to `min..=max`: the sharpest tiles that are not wastefully fine.
pub fn zoom_for(screen_m_per_px: f64, lat_deg: f64, min: u8, max: u8) -> u8 {
    let z0 = m_per_px(0, lat_deg);
    let z = (z0 / screen_m_per_px.max(1e-6)).log2().round();
    (z.clamp(0.0, f64::from(MAX_ZOOM)) as u8).clamp(min, max.max(min))
}

/// The tiles at zoom `z` covering the (lon, lat) box `[west, south, east, north]`, or `None`
/// when there would be more than `cap` (zoomed far out: the caller picks a lower zoom).
pub fn covering(bounds_deg: [f64; 4], z: u8, cap: usize) -> Option<Vec<TileId>> {
    let [w, s, e, n] = bounds_deg;
    let a = TileId::containing(w, n, z);
    let b = TileId::containing(e, s, z);
    let count = (u64::from(b.x - a.x) + 1) * (u64::from(b.y.saturating_sub(a.y)) + 1);
    if count > cap as u64 {
        return None;
    }
    let mut out = Vec::with_capacity(count as usize);
    for y in a.y..=b.y {
        for x in a.x..=b.x {
            out.push(TileId { z, x, y });
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_math_matches_hand_computed_cases() {
        // Zoom 0 is one tile; zoom 1 splits at the equator and Greenwich.
        assert_eq!(TileId::containing(10.0, 50.0, 0), TileId { z: 0, x: 0, y: 0 });
        assert_eq!(TileId::containing(-0.1, 0.1, 1), TileId { z: 1, x: 0, y: 0 });
        assert_eq!(TileId::containing(0.1, -0.1, 1), TileId { z: 1, x: 1, y: 1 });
        // Stockholm (18.0686 E, 59.3293 N) at zoom 10: x = (18.0686 + 180) / 360 * 1024 =
        // 563.395; y = (1 - ln(tan + sec) / pi) / 2 * 1024 = 301.147 -> tile 563/301.
        let t = TileId::containing(18.0686, 59.3293, 10);
        assert_eq!((t.x, t.y), (563, 301));
        let (xf, yf) = lonlat_to_tile_f(18.0686, 59.3293, 10);
        assert!(
            (xf - 563.395).abs() < 0.001 && (yf - 301.147).abs() < 0.001,
            "{xf} {yf}"
        );
        // Bounds contain the point and round-trip through the corner formula.
        let [w, s, e, n] = t.bounds_deg();
        assert!(w < 18.0686 && 18.0686 < e && s < 59.3293 && 59.3293 < n);
        assert!((e - w - 360.0 / 1024.0).abs() < 1e-9);
        let (lon, lat) = tile_to_lonlat(xf, yf, 10);
        assert!((lon - 18.0686).abs() < 1e-9 && (lat - 59.3293).abs() < 1e-9);
        // TMS rows count from the south.
        assert_eq!(TileId { z: 3, x: 2, y: 1 }.tms_row(), 6);
        assert_eq!(
            TileId {
                z: 12,
                x: 2253,
                y: 1204
            }
            .ancestor(10),
            TileId { z: 10, x: 563, y: 301 }
        );
    }

    #[test]
    fn zoom_follows_the_screen_scale_and_the_source() {
        // 156 543 m/px at zoom 0 on the equator; 0.5 m/px on screen at 59 deg N -> zoom 17
        // (0.61 m/px).
        assert!((m_per_px(0, 0.0) - 156_543.03).abs() < 0.1);
        assert_eq!(zoom_for(0.5, 59.33, 0, 22), 17);
        assert!((m_per_px(17, 59.33) - 0.610).abs() < 0.01);
        assert_eq!(zoom_for(0.5, 59.33, 0, 16), 16, "clamped to the source's max");
        assert_eq!(zoom_for(5_000.0, 59.33, 12, 19), 12, "and to its min");
        // A view 400 m x 300 m at zoom 17 needs a handful of tiles; a continent would not fit.
        let v = covering([18.06, 59.328, 18.067, 59.331], 17, 64).unwrap();
        assert!((4..=16).contains(&v.len()), "{}", v.len());
        assert!(covering([0.0, 40.0, 20.0, 60.0], 17, 64).is_none());
    }
}
