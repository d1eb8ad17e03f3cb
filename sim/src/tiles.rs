//! Offline raster map tiles of a scenario: an "orthophoto" of the simulated world (ground,
//! asphalt and road markings, building roofs with their shadows) cut into Web-Mercator tiles
//! and written as an MBTiles file or an XYZ folder, the two forms the ground station reads.
//!
//! Why: police ground stations fly over an offline orthophoto (no internet in the field). The
//! demo has no real imagery of the simulated street, so the simulator draws it from the same
//! geometry and colours the camera video is rendered from; what the pilot sees on the map is
//! what the drone's camera sees from above.
//!
//! Tiles are rendered at twice their size and box-filtered down (edges are anti-aliased).

use std::path::{Path, PathBuf};

use glam::{DVec2, DVec3};
use thiserror::Error;
use utkik_shared::geo::LocalFrame;
use utkik_shared::geo::tiles::{MAX_ZOOM, TILE_PX, TileId, covering, lonlat_to_tile_f};

use crate::render::{Building, Canvas, DEFAULT_GROUND_COLOUR, GroundPolygon, Rgb, Road, default_sun_dir_enu, shade};
use crate::scenario::Scenario;
use crate::world::static_map;

/// Ground around the scenario's features that the tiles also cover, metres.
pub const MARGIN_M: f64 = 500.0;
/// Supersampling factor per axis.
const SUPERSAMPLE: u32 = 2;
/// Most tiles one call writes (a typo in the zoom range should not fill the disk).
pub const MAX_TILES: usize = 20_000;
/// Shadow colour factor (multiplies the ground under a building's shadow).
const SHADOW_K: f64 = 0.6;

/// Tiles could not be made or written.
#[derive(Debug, Error)]
pub enum TilesError {
    /// Zoom range is empty or out of range.
    #[error("tiles: zoom range {min}..={max} is not valid (0 <= min <= max <= {MAX_ZOOM})")]
    Zooms {
        /// Lowest.
        min: u8,
        /// Highest.
        max: u8,
    },
    /// Too many tiles for the range.
    #[error("tiles: zoom {zoom} alone needs more than {MAX_TILES} tiles; lower --max-zoom")]
    TooMany {
        /// The zoom.
        zoom: u8,
    },
    /// Writing a file failed.
    #[error("tiles: writing {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// The scenario's static map, ready to draw into tiles.
pub struct Orthophoto {
    frame: LocalFrame,
    roads: Vec<GroundPolygon>,
    buildings: Vec<Building>,
    sun_dir_enu: DVec3,
    /// (west, south, east, north) degrees of the features plus [`MARGIN_M`].
    pub bounds_deg: [f64; 4],
    /// Scenario name.
    pub name: String,
}

impl Orthophoto {
    /// The static map of `scenario`.
    pub fn new(scenario: &Scenario) -> Self {
        let (roads, buildings) = static_map(scenario);
        let frame = LocalFrame::new(scenario.origin.geo());
        let (mut lo, mut hi) = (DVec2::ZERO, DVec2::ZERO);
        let pts = roads
            .iter()
            .flat_map(|r: &Road| r.centreline_enu_m.iter())
            .chain(buildings.iter().flat_map(|b| b.footprint_enu_m.iter()));
        for p in pts {
            lo = lo.min(*p);
            hi = hi.max(*p);
        }
        let (lo, hi) = (lo - DVec2::splat(MARGIN_M), hi + DVec2::splat(MARGIN_M));
        let sw = frame.from_enu(lo.extend(0.0));
        let ne = frame.from_enu(hi.extend(0.0));
        let mut roads: Vec<GroundPolygon> = roads.iter().flat_map(Road::polygons).collect();
        roads.sort_by_key(|g| g.layer);
        Self {
            frame,
            roads,
            buildings,
            sun_dir_enu: default_sun_dir_enu(),
            bounds_deg: [sw.lon_deg, sw.lat_deg, ne.lon_deg, ne.lat_deg],
            name: scenario.name.clone(),
        }
    }

    /// The tiles covering the map at zooms `min..=max`.
    ///
    /// # Errors
    /// Invalid range, or a zoom needing more than [`MAX_TILES`] tiles.
    pub fn tiles(&self, min: u8, max: u8) -> Result<Vec<TileId>, TilesError> {
        if min > max || max > MAX_ZOOM {
            return Err(TilesError::Zooms { min, max });
        }
        let mut out = Vec::new();
        for z in min..=max {
            let t = covering(self.bounds_deg, z, MAX_TILES).ok_or(TilesError::TooMany { zoom: z })?;
            out.extend(t);
        }
        if out.len() > MAX_TILES {
            return Err(TilesError::TooMany { zoom: max });
        }
        Ok(out)
    }

    /// Tile pixel (supersampled) of an ENU ground point.
    fn px(&self, tile: TileId, p: DVec2) -> [f64; 2] {
        let g = self.frame.from_enu(p.extend(0.0));
        let (x, y) = lonlat_to_tile_f(g.lon_deg, g.lat_deg, tile.z);
        let s = f64::from(TILE_PX * SUPERSAMPLE);
        [(x - f64::from(tile.x)) * s, (y - f64::from(tile.y)) * s]
    }

    /// `tile` as RGB8, [`TILE_PX`] square.
    pub fn render(&self, tile: TileId) -> Vec<u8> {
        let side = TILE_PX * SUPERSAMPLE;
        let mut c = Canvas::new(side, side);
        for px in c.rgb.chunks_exact_mut(3) {
            px.copy_from_slice(&DEFAULT_GROUND_COLOUR);
        }
        let fill = |c: &mut Canvas, pts: &[[f64; 2]], colour: Rgb| {
            c.scan_fill(pts, |c, y, x0, x1| c.span_flat(y, x0, x1, colour, 0));
        };
        for g in &self.roads {
            let pts: Vec<[f64; 2]> = g.outline_enu_m.iter().map(|p| self.px(tile, *p)).collect();
            fill(&mut c, &pts, g.colour.unwrap_or_else(|| g.surface.colour()));
        }
        // Shadows first (a roof may cover its neighbour's shadow), on whatever ground is there.
        let sun = self.sun_dir_enu;
        let away = -DVec2::new(sun.x, sun.y) / sun.z.max(0.1);
        for b in &self.buildings {
            let fp = &b.footprint_enu_m;
            // The shadow of a prism on flat ground: the footprint and its shifted copy joined;
            // drawn as the quads each wall sweeps plus the shifted footprint.
            let shift = away * b.height_m;
            let mut polys: Vec<Vec<DVec2>> = vec![fp.iter().map(|p| *p + shift).collect()];
            for i in 0..fp.len() {
                let (a, d) = (fp[i], fp[(i + 1) % fp.len()]);
                polys.push(vec![a, d, d + shift, a + shift]);
            }
            for poly in polys {
                let pts: Vec<[f64; 2]> = poly.iter().map(|p| self.px(tile, *p)).collect();
                // Marked in the id buffer first: overlapping pieces darken once.
                c.scan_fill(&pts, |c, y, x0, x1| {
                    let row = (y * c.width) as usize;
                    c.ids[row + x0 as usize..row + x1 as usize].fill(1);
                });
            }
        }
        for (px, id) in c.rgb.chunks_exact_mut(3).zip(&c.ids) {
            if *id == 1 {
                px.iter_mut()
                    .for_each(|v| *v = (f64::from(*v) * SHADOW_K).round() as u8);
            }
        }
        for b in &self.buildings {
            let pts: Vec<[f64; 2]> = b.footprint_enu_m.iter().map(|p| self.px(tile, *p)).collect();
            fill(&mut c, &pts, shade(b.roof_colour, DVec3::Z, sun));
        }
        downsample(&c.rgb, side, SUPERSAMPLE)
    }

    /// `tile` encoded as PNG.
    pub fn png(&self, tile: TileId) -> Vec<u8> {
        let rgb = self.render(tile);
        let img = image::RgbImage::from_raw(TILE_PX, TILE_PX, rgb).expect("tile buffer has its size");
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)
            .expect("PNG encoding into memory does not fail");
        out.into_inner()
    }
}

/// Box filter an RGB8 square image of side `side` by `k`.
fn downsample(rgb: &[u8], side: u32, k: u32) -> Vec<u8> {
    let out_side = side / k;
    let mut out = vec![0u8; (out_side * out_side * 3) as usize];
    let n = k * k;
    for oy in 0..out_side {
        for ox in 0..out_side {
            let mut acc = [0u32; 3];
            for dy in 0..k {
                let row = ((oy * k + dy) * side + ox * k) as usize * 3;
                for px in rgb[row..row + (k as usize) * 3].chunks_exact(3) {
                    for (a, v) in acc.iter_mut().zip(px) {
                        *a += u32::from(*v);
                    }
                }
            }
            let o = ((oy * out_side + ox) * 3) as usize;
            for (ch, a) in acc.iter().enumerate() {
                out[o + ch] = ((a + n / 2) / n) as u8;
            }
        }
    }
    out
}

/// Where tiles are written: an `.mbtiles` file, or else an XYZ folder.
pub fn is_mbtiles(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("mbtiles"))
}

/// Writes `tiles` (PNG bytes) of `map` as an MBTiles 1.3 file: metadata (name, format, bounds,
/// centre, zooms, attribution) and TMS rows. The file is built beside `path` and renamed into
/// place, so a reader never sees half a map and a failed run leaves the old file.
///
/// # Errors
/// SQLite or file system errors, naming the file.
pub fn write_mbtiles(path: &Path, map: &Orthophoto, tiles: &[(TileId, Vec<u8>)]) -> Result<(), TilesError> {
    let err = |message: String| TilesError::Write {
        path: path.into(),
        message,
    };
    let tmp = path.with_extension("mbtiles.partial");
    let _ = std::fs::remove_file(&tmp);
    let mut conn = rusqlite::Connection::open(&tmp).map_err(|e| err(e.to_string()))?;
    let (min, max) = tiles
        .iter()
        .fold((u8::MAX, 0), |(lo, hi), (t, _)| (lo.min(t.z), hi.max(t.z)));
    let [w, s, e, n] = map.bounds_deg;
    let tx = conn.transaction().map_err(|e| err(e.to_string()))?;
    tx.execute_batch(
        "CREATE TABLE metadata (name TEXT, value TEXT);
         CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
         CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);",
    )
    .map_err(|e| err(e.to_string()))?;
    let meta = [
        ("name", map.name.clone()),
        ("format", "png".into()),
        ("type", "baselayer".into()),
        ("version", "1.0".into()),
        (
            "description",
            format!("Orthophoto of the simulated scenario {}", map.name),
        ),
        ("attribution", "Utkik simulator (synthetic imagery)".into()),
        ("bounds", format!("{w:.7},{s:.7},{e:.7},{n:.7}")),
        ("center", format!("{:.7},{:.7},{max}", (w + e) / 2.0, (s + n) / 2.0)),
        ("minzoom", min.to_string()),
        ("maxzoom", max.to_string()),
    ];
    for (k, v) in meta {
        tx.execute("INSERT INTO metadata VALUES (?1, ?2)", rusqlite::params![k, v])
            .map_err(|e| err(e.to_string()))?;
    }
    {
        let mut stmt = tx
            .prepare("INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)")
            .map_err(|e| err(e.to_string()))?;
        for (t, png) in tiles {
            stmt.execute(rusqlite::params![t.z, t.x, t.tms_row(), png])
                .map_err(|e| err(format!("tile {t}: {e}")))?;
        }
    }
    tx.commit().map_err(|e| err(e.to_string()))?;
    drop(conn);
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
}

/// Writes `tiles` as `{dir}/{z}/{x}/{y}.png`.
///
/// # Errors
/// File system errors, naming the file.
pub fn write_xyz(dir: &Path, tiles: &[(TileId, Vec<u8>)]) -> Result<(), TilesError> {
    for (t, png) in tiles {
        let d = dir.join(t.z.to_string()).join(t.x.to_string());
        let file = d.join(format!("{}.png", t.y));
        std::fs::create_dir_all(&d)
            .and_then(|()| std::fs::write(&file, png))
            .map_err(|e| TilesError::Write {
                path: file,
                message: e.to_string(),
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::scenarios_dir;

    fn urban() -> Scenario {
        Scenario::load(&scenarios_dir().join("urban-street.toml")).unwrap()
    }

    /// The pixel of an ENU point in the tile holding it, at output resolution.
    fn pixel_of(map: &Orthophoto, p: DVec2, z: u8) -> (TileId, u32, u32) {
        let g = map.frame.from_enu(p.extend(0.0));
        let t = TileId::containing(g.lon_deg, g.lat_deg, z);
        let (x, y) = lonlat_to_tile_f(g.lon_deg, g.lat_deg, z);
        let f = f64::from(TILE_PX);
        (t, ((x - f64::from(t.x)) * f) as u32, ((y - f64::from(t.y)) * f) as u32)
    }

    fn rgb_at(rgb: &[u8], x: u32, y: u32) -> [u8; 3] {
        let i = ((y * TILE_PX + x) * 3) as usize;
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    }

    /// A road's centre is asphalt, a building's middle is its roof, open ground is ground:
    /// the tiles put the scenario's features where the geometry says, at the right colours.
    #[test]
    fn features_land_on_their_pixels() {
        let s = urban();
        let map = Orthophoto::new(&s);
        let road = &s.roads[0];
        let mid = (DVec2::from(road.points[0]) + DVec2::from(road.points[1])) / 2.0;
        // Off the lane markings: a quarter of the width from the centreline.
        let d = (DVec2::from(road.points[1]) - DVec2::from(road.points[0])).normalize();
        let on_asphalt = mid + DVec2::new(-d.y, d.x) * road.width_m * 0.2;
        let (t, x, y) = pixel_of(&map, on_asphalt, 19);
        assert_eq!(rgb_at(&map.render(t), x, y), crate::render::Surface::Road.colour());

        let b = &s.buildings[0];
        let c = b.footprint.iter().map(|p| DVec2::from(*p)).sum::<DVec2>() / b.footprint.len() as f64;
        let (t, x, y) = pixel_of(&map, c, 19);
        let (_, buildings) = static_map(&s);
        let roof = shade(buildings[0].roof_colour, DVec3::Z, default_sun_dir_enu());
        assert_eq!(rgb_at(&map.render(t), x, y), roof);

        // 200 m south-west of everything: bare ground.
        let (t, x, y) = pixel_of(&map, DVec2::new(-180.0, -230.0), 17);
        assert_eq!(rgb_at(&map.render(t), x, y), DEFAULT_GROUND_COLOUR);
    }

    /// North of a building (the sun is in the south-east) lies its shadow: darker ground.
    #[test]
    fn buildings_cast_shadows_away_from_the_sun() {
        let s = urban();
        let map = Orthophoto::new(&s);
        let b = &s.buildings[0];
        let north = b.footprint.iter().map(|p| p[1]).fold(f64::MIN, f64::max);
        let cx = b.footprint.iter().map(|p| p[0]).sum::<f64>() / b.footprint.len() as f64;
        // Just beyond the north wall, slightly west (the shadow points north-west).
        let (t, x, y) = pixel_of(&map, DVec2::new(cx - 0.5, north + 0.8), 20);
        let px = rgb_at(&map.render(t), x, y);
        let expected = DEFAULT_GROUND_COLOUR.map(|v| (f64::from(v) * SHADOW_K).round() as u8);
        assert_eq!(px, expected, "shadowed ground, darkened once");
    }

    /// An MBTiles file written here opens as SQLite with the schema and metadata readers
    /// expect, rows flipped to TMS; an XYZ folder has one PNG per tile.
    #[test]
    fn mbtiles_and_xyz_hold_every_tile() {
        let s = urban();
        let map = Orthophoto::new(&s);
        let tiles: Vec<(TileId, Vec<u8>)> = map
            .tiles(15, 17)
            .unwrap()
            .into_iter()
            .map(|t| (t, map.png(t)))
            .collect();
        assert!((4..200).contains(&tiles.len()), "{}", tiles.len());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("urban.mbtiles");
        write_mbtiles(&path, &map, &tiles).unwrap();
        assert!(!path.with_extension("mbtiles.partial").exists());
        let conn = rusqlite::Connection::open(&path).unwrap();
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM tiles", [], |r| r.get(0)).unwrap();
        assert_eq!(n as usize, tiles.len());
        let meta = |k: &str| -> String {
            conn.query_row("SELECT value FROM metadata WHERE name = ?1", [k], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(meta("format"), "png");
        assert_eq!((meta("minzoom"), meta("maxzoom")), ("15".into(), "17".into()));
        assert_eq!(meta("name"), s.name);
        let (t, png) = &tiles[tiles.len() / 2];
        let got: Vec<u8> = conn
            .query_row(
                "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                rusqlite::params![t.z, t.x, t.tms_row()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(&got, png);
        let img = image::load_from_memory(&got).unwrap();
        assert_eq!((img.width(), img.height()), (TILE_PX, TILE_PX));

        let xyz = dir.path().join("xyz");
        write_xyz(&xyz, &tiles).unwrap();
        let f = xyz
            .join(t.z.to_string())
            .join(t.x.to_string())
            .join(format!("{}.png", t.y));
        assert_eq!(&std::fs::read(f).unwrap(), png);
    }

    #[test]
    fn bad_zoom_ranges_are_refused_with_the_reason() {
        let map = Orthophoto::new(&urban());
        let e = map.tiles(18, 15).unwrap_err().to_string();
        assert!(e.contains("18..=15"), "{e}");
        let e = map.tiles(10, 23).unwrap_err().to_string();
        assert!(e.contains("not valid"), "{e}");
        let e = map.tiles(22, 22).unwrap_err().to_string();
        assert!(e.contains("zoom 22") && e.contains("--max-zoom"), "{e}");
        // Writing into a path that cannot be created names it.
        let e = write_xyz(Path::new("/proc/no/such"), &[(TileId { z: 1, x: 0, y: 0 }, vec![1])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("/proc/no/such"), "{e}");
    }
}
