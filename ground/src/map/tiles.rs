//! Raster map tiles for the offline map: the two
//! places tiles are kept offline, an XYZ folder (`{z}/{x}/{y}.png|jpg|jpeg`, as tile
//! downloaders and `gdal2tiles --xyz` write it) and an MBTiles file (SQLite, `tiles` table with
//! TMS rows, as QGIS, TileMill or `gdal_translate -of MBTILES` write it). No Bevy here: the
//! tiles plugin draws what this module loads, and tests run without a window.
//!
//! A tile that cannot be read or decoded is an error for that tile only (the caller skips it and
//! says so once); a folder or file that is not a tile source at all is an error at open time.

use std::path::{Path, PathBuf};

use thiserror::Error;
pub use utkik_shared::geo::tiles::{
    MAX_LAT_DEG, MAX_ZOOM, TILE_PX, TileId, covering, lonlat_to_tile_f, m_per_px, tile_to_lonlat, zoom_for,
};

/// A tile source could not be opened, or one tile could not be read.
#[derive(Debug, Error)]
pub enum TileError {
    /// The path does not exist.
    #[error("map tiles {path}: no such file or folder")]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// A folder without any `{z}/{x}/{y}.png|jpg` tile.
    #[error("map tiles {path}: not an XYZ tile folder (no {{z}}/{{x}}/{{y}}.png or .jpg found)")]
    NotXyz {
        /// The folder.
        path: PathBuf,
    },
    /// A file that is not an MBTiles database.
    #[error("map tiles {path}: not an MBTiles file: {message}")]
    NotMbtiles {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        message: String,
    },
    /// One tile could not be read.
    #[error("map tile {tile} in {path}: {message}")]
    Tile {
        /// The source.
        path: PathBuf,
        /// The tile.
        tile: TileId,
        /// What went wrong.
        message: String,
    },
}

/// A decoded tile: RGBA8, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct TileImage {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// RGBA8 pixels.
    pub rgba: Vec<u8>,
}

/// Where tiles come from.
pub enum TileSource {
    /// `{z}/{x}/{y}.{png,jpg,jpeg}` under a folder.
    Xyz {
        /// The folder.
        root: PathBuf,
        /// Lowest and highest zoom present.
        zooms: (u8, u8),
    },
    /// An MBTiles file.
    Mbtiles {
        /// The file.
        path: PathBuf,
        /// Open read-only.
        conn: rusqlite::Connection,
        /// Lowest and highest zoom present.
        zooms: (u8, u8),
        /// The `name` from the metadata table, if any.
        name: Option<String>,
    },
}

impl std::fmt::Debug for TileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TileSource({})", self.describe())
    }
}

impl TileSource {
    /// Opens a folder as XYZ tiles or a file as MBTiles.
    ///
    /// # Errors
    /// Missing path, a folder without tiles, a file that is not MBTiles.
    pub fn open(path: &Path) -> Result<Self, TileError> {
        if path.is_dir() {
            Self::open_xyz(path)
        } else if path.is_file() {
            Self::open_mbtiles(path)
        } else {
            Err(TileError::Missing { path: path.into() })
        }
    }

    fn open_xyz(root: &Path) -> Result<Self, TileError> {
        let zooms: Vec<u8> = std::fs::read_dir(root)
            .map_err(|_| TileError::NotXyz { path: root.into() })?
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().to_str()?.parse::<u8>().ok())
            .filter(|&z| z <= MAX_ZOOM)
            .collect();
        let (Some(&min), Some(&max)) = (zooms.iter().min(), zooms.iter().max()) else {
            return Err(TileError::NotXyz { path: root.into() });
        };
        Ok(Self::Xyz {
            root: root.into(),
            zooms: (min, max),
        })
    }

    fn open_mbtiles(path: &Path) -> Result<Self, TileError> {
        let not = |e: rusqlite::Error| TileError::NotMbtiles {
            path: path.into(),
            message: e.to_string(),
        };
        let conn = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(not)?;
        let zooms: (Option<u8>, Option<u8>) = conn
            .query_row("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(not)?;
        let (Some(min), Some(max)) = zooms else {
            return Err(TileError::NotMbtiles {
                path: path.into(),
                message: "the tiles table is empty".into(),
            });
        };
        let name = conn
            .query_row("SELECT value FROM metadata WHERE name = 'name'", [], |r| r.get(0))
            .ok();
        Ok(Self::Mbtiles {
            path: path.into(),
            conn,
            zooms: (min.min(MAX_ZOOM), max.min(MAX_ZOOM)),
            name,
        })
    }

    /// Lowest and highest zoom level the source holds.
    pub fn zooms(&self) -> (u8, u8) {
        match self {
            Self::Xyz { zooms, .. } | Self::Mbtiles { zooms, .. } => *zooms,
        }
    }

    /// The source's path.
    pub fn path(&self) -> &Path {
        match self {
            Self::Xyz { root, .. } => root,
            Self::Mbtiles { path, .. } => path,
        }
    }

    /// One line for the operator (banner, logs).
    pub fn describe(&self) -> String {
        let (min, max) = self.zooms();
        match self {
            Self::Xyz { root, .. } => format!("XYZ tiles {} (zoom {min}-{max})", root.display()),
            Self::Mbtiles { path, name, .. } => format!(
                "MBTiles {}{} (zoom {min}-{max})",
                path.display(),
                name.as_ref().map(|n| format!(" \"{n}\"")).unwrap_or_default()
            ),
        }
    }

    /// The encoded bytes of `tile`; `Ok(None)` when the source does not have it.
    ///
    /// # Errors
    /// The tile exists but cannot be read.
    pub fn read(&self, tile: TileId) -> Result<Option<Vec<u8>>, TileError> {
        let err = |message: String| TileError::Tile {
            path: self.path().into(),
            tile,
            message,
        };
        match self {
            Self::Xyz { root, .. } => {
                let dir = root.join(tile.z.to_string()).join(tile.x.to_string());
                for ext in ["png", "jpg", "jpeg"] {
                    let p = dir.join(format!("{}.{ext}", tile.y));
                    match std::fs::read(&p) {
                        Ok(b) => return Ok(Some(b)),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(err(format!("{}: {e}", p.display()))),
                    }
                }
                Ok(None)
            }
            Self::Mbtiles { conn, .. } => {
                let r = conn.query_row(
                    "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                    rusqlite::params![tile.z, tile.x, tile.tms_row()],
                    |r| r.get::<_, Vec<u8>>(0),
                );
                match r {
                    Ok(b) => Ok(Some(b)),
                    Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
                    Err(e) => Err(err(e.to_string())),
                }
            }
        }
    }

    /// `tile` read and decoded to RGBA; `Ok(None)` when the source does not have it.
    ///
    /// # Errors
    /// Unreadable, or the bytes are not a PNG/JPEG image.
    pub fn load(&self, tile: TileId) -> Result<Option<TileImage>, TileError> {
        let Some(bytes) = self.read(tile)? else {
            return Ok(None);
        };
        let img = image::load_from_memory(&bytes).map_err(|e| TileError::Tile {
            path: self.path().into(),
            tile,
            message: format!("does not decode as PNG or JPEG ({} bytes): {e}", bytes.len()),
        })?;
        let rgba = img.to_rgba8();
        Ok(Some(TileImage {
            width: rgba.width(),
            height: rgba.height(),
            rgba: rgba.into_raw(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(rgb: [u8; 3]) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(TILE_PX, TILE_PX, image::Rgb(rgb));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn xyz_folder_loads_good_tiles_and_a_corrupt_one_is_an_error_for_that_tile_only() {
        let dir = tempfile::tempdir().unwrap();
        let good = TileId {
            z: 15,
            x: 18000,
            y: 9600,
        };
        let bad = TileId {
            z: 15,
            x: 18001,
            y: 9600,
        };
        let d = dir.path().join("15").join("18000");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("9600.png"), png([10, 200, 30])).unwrap();
        let d = dir.path().join("15").join("18001");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("9600.png"), b"\x89PNG but broken").unwrap();

        let src = TileSource::open(dir.path()).unwrap();
        assert_eq!(src.zooms(), (15, 15));
        let img = src.load(good).unwrap().unwrap();
        assert_eq!((img.width, img.height), (256, 256));
        assert_eq!(&img.rgba[..4], &[10, 200, 30, 255]);
        let e = src.load(bad).unwrap_err().to_string();
        assert!(e.contains("15/18001/9600") && e.contains("does not decode"), "{e}");
        assert_eq!(
            src.load(TileId { z: 15, x: 1, y: 1 }).unwrap(),
            None,
            "absent is not an error"
        );
        assert!(src.describe().contains("XYZ tiles"));
    }

    #[test]
    fn mbtiles_rows_are_tms_flipped_and_metadata_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.mbtiles");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE metadata (name TEXT, value TEXT);
             CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
             INSERT INTO metadata VALUES ('name', 'test map'), ('format', 'png');",
        )
        .unwrap();
        let t = TileId { z: 3, x: 2, y: 1 };
        conn.execute(
            "INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![3, 2, 6, png([1, 2, 3])],
        )
        .unwrap();
        drop(conn);
        let src = TileSource::open(&path).unwrap();
        assert_eq!(src.zooms(), (3, 3));
        assert!(src.describe().contains("\"test map\""), "{}", src.describe());
        assert_eq!(&src.load(t).unwrap().unwrap().rgba[..4], &[1, 2, 3, 255]);
        // Row 1 in TMS is y = 6 in XYZ: not there.
        assert_eq!(src.load(TileId { z: 3, x: 2, y: 6 }).unwrap(), None);
    }

    #[test]
    fn missing_and_wrong_sources_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let e = TileSource::open(&dir.path().join("nope")).unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("no such file"), "{e}");
        let e = TileSource::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not an XYZ tile folder"), "{e}");
        let text = dir.path().join("map.mbtiles");
        std::fs::write(&text, "just some text, not SQLite").unwrap();
        let e = TileSource::open(&text).unwrap_err().to_string();
        assert!(e.contains("map.mbtiles") && e.contains("not an MBTiles file"), "{e}");
    }
}
