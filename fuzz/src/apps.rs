//! Targets whose parser lives in the ground station, the onboard program or the simulator: the
//! users file, the onboard configuration, scenario files, GeoJSON overlays, MBTiles tile reads
//! and the operator console. Each is fed through the same function the path loader calls.

use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use utkik_ground::auth::UserDirectory;
use utkik_ground::console::Command;
use utkik_ground::map::parse_geojson;
use utkik_ground::map::tiles::{MAX_ZOOM, TileId, TileSource};
use utkik_onboard::config::load_text;
use utkik_sim::scenario::Scenario;

use crate::text;

/// Target `users_file`: [`UserDirectory::from_json`]. An accepted file's users have ids of 1 to
/// 16 printable ASCII bytes (they travel in MAVLink `operator_id`, char[16]), no id twice, at
/// least one role each. (Passwords are not tried: each costs at least 10 000 PBKDF2 rounds.)
pub fn users_file(data: &[u8]) {
    let Ok(dir) = UserDirectory::from_json(data) else {
        return;
    };
    let users = dir.users();
    for (i, u) in users.iter().enumerate() {
        assert!((1..=16).contains(&u.user_id.len()), "user id length");
        assert!(
            u.user_id.bytes().all(|b| b.is_ascii_graphic()),
            "user id printable ASCII"
        );
        assert!(!u.roles.is_empty(), "at least one role");
        assert!(!users[..i].iter().any(|o| o.user_id == u.user_id), "unique ids");
    }
}

/// Target `onboard_config`: [`load_text`] (default layer, a user file, `KEY=VALUE` overrides). The
/// input is the user file's text, then after a NUL byte one override per line. An accepted
/// configuration validates, and written back as TOML it loads to itself.
pub fn onboard_config(data: &[u8]) {
    let Some(t) = text(data) else {
        return;
    };
    let (file, overrides) = t.split_once('\0').unwrap_or((t, ""));
    let overrides: Vec<String> = overrides.lines().map(str::to_string).collect();
    let Ok(config) = load_text(Some(("fuzz.toml", file)), &overrides) else {
        return;
    };
    config.validate().expect("a loaded configuration validates");
    let Ok(written) = toml::to_string(&config) else {
        panic!("a loaded configuration does not serialize");
    };
    let again = load_text(Some(("written.toml", &written)), &[]).expect("a written configuration loads");
    assert_eq!(again, config, "configuration round trip through TOML");
}

/// Target `scenario_toml`: [`Scenario::parse`] (TOML, then the scenario's own checks).
pub fn scenario_toml(data: &[u8]) {
    if let Some(t) = text(data) {
        let _ = Scenario::parse(t, Path::new("fuzz.toml"));
    }
}

/// Target `geojson`: [`parse_geojson`]. Overlays hold finite coordinates, a closed ring at
/// least 3 points and a line at least 2 (what the map draws).
pub fn geojson(data: &[u8]) {
    let Some(t) = text(data) else {
        return;
    };
    let Ok((overlays, _skipped)) = parse_geojson(t, "fuzz.geojson") else {
        return;
    };
    for o in &overlays {
        assert!(
            o.points.iter().all(|(x, y)| x.is_finite() && y.is_finite()),
            "non-finite coordinate in {o:?}"
        );
        assert!(
            o.points.len() >= if o.closed { 3 } else { 2 },
            "degenerate overlay {o:?}"
        );
    }
}

#[derive(Debug, Arbitrary)]
enum SqlValue {
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Null,
}

impl rusqlite::ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match self {
            SqlValue::Int(i) => ToSqlOutput::Owned(Value::Integer(*i)),
            SqlValue::Real(f) => ToSqlOutput::Owned(Value::Real(*f)),
            SqlValue::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            SqlValue::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            SqlValue::Null => ToSqlOutput::Owned(Value::Null),
        })
    }
}

#[derive(Debug, Arbitrary)]
struct TileRow {
    zoom: SqlValue,
    column: SqlValue,
    row: SqlValue,
    data: SqlValue,
}

#[derive(Debug, Arbitrary)]
struct MbtilesInput {
    /// Whether the `tiles` table exists.
    with_tiles: bool,
    tiles: Vec<TileRow>,
    metadata: Vec<(SqlValue, SqlValue)>,
    /// Tiles to read: (z, x, y) reduced to valid tile ids, as the map's view produces them.
    reads: Vec<(u8, u32, u32)>,
    /// Or bytes that are not a database at all.
    not_sqlite: Option<Vec<u8>>,
}

/// Target `mbtiles`: an MBTiles file with arbitrary rows (any SQLite type in any column, tile
/// data that is PNG, JPEG or anything) opened with [`TileSource::open`], tiles read and decoded.
/// Properties: no panic; the zoom range is ordered and within [`MAX_ZOOM`]; a tile stored with
/// integer coordinates and a blob is read back as those bytes.
pub fn mbtiles(data: &[u8]) {
    let Ok(input) = MbtilesInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fuzz.mbtiles");
    if let Some(b) = &input.not_sqlite {
        std::fs::write(&path, b).expect("write");
    } else {
        let conn = rusqlite::Connection::open(&path).expect("create");
        conn.execute_batch("CREATE TABLE metadata (name, value);")
            .expect("metadata");
        if input.with_tiles {
            conn.execute_batch("CREATE TABLE tiles (zoom_level, tile_column, tile_row, tile_data);")
                .expect("tiles");
        }
        for (n, v) in &input.metadata {
            conn.execute("INSERT INTO metadata VALUES (?1, ?2)", (n, v))
                .expect("insert");
        }
        if input.with_tiles {
            for t in &input.tiles {
                conn.execute(
                    "INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)",
                    (&t.zoom, &t.column, &t.row, &t.data),
                )
                .expect("insert");
            }
        }
    }
    let Ok(source) = TileSource::open(&path) else {
        return;
    };
    let (min, max) = source.zooms();
    assert!(min <= max && max <= MAX_ZOOM, "zoom range {min}..{max}");
    let _ = source.describe();
    let stored = input.tiles.iter().filter_map(|t| match (&t.zoom, &t.column, &t.row) {
        (SqlValue::Int(z), SqlValue::Int(x), SqlValue::Int(r)) if (0..=i64::from(MAX_ZOOM)).contains(z) => {
            let z = *z as u8;
            let n = 1i64 << z;
            ((0..n).contains(x) && (0..n).contains(r)).then(|| TileId {
                z,
                x: *x as u32,
                y: (n - 1 - r) as u32,
            })
        }
        _ => None,
    });
    let reads = input.reads.iter().map(|&(z, x, y)| {
        let z = z % (MAX_ZOOM + 1);
        let n = 1u32 << z;
        TileId { z, x: x % n, y: y % n }
    });
    for tile in stored.chain(reads).take(16) {
        let _ = source.read(tile);
        let _ = source.load(tile);
    }
    // The first stored tile with a blob: read back exactly (later duplicates may shadow others).
    if let Some(t) = input.tiles.iter().find(|t| matches!(t.data, SqlValue::Blob(_)))
        && let (SqlValue::Int(z), SqlValue::Int(x), SqlValue::Int(r), SqlValue::Blob(b)) =
            (&t.zoom, &t.column, &t.row, &t.data)
        && (0..=i64::from(MAX_ZOOM)).contains(z)
        && input.tiles.iter().filter(|o| o.zoom_row_col_eq(t)).count() == 1
    {
        let z = *z as u8;
        let n = 1i64 << z;
        if (0..n).contains(x) && (0..n).contains(r) {
            let id = TileId {
                z,
                x: *x as u32,
                y: (n - 1 - r) as u32,
            };
            assert_eq!(
                source.read(id).expect("stored tile reads").as_deref(),
                Some(&b[..]),
                "tile {id}"
            );
        }
    }
}

impl TileRow {
    /// Same SQLite key as `o` (so a lookup may return either).
    fn zoom_row_col_eq(&self, o: &TileRow) -> bool {
        let k = |v: &SqlValue| match v {
            SqlValue::Int(i) => Some(*i as f64),
            SqlValue::Real(f) => Some(*f),
            _ => None,
        };
        k(&self.zoom) == k(&o.zoom) && k(&self.column) == k(&o.column) && k(&self.row) == k(&o.row)
    }
}

/// Target `console_command`: [`Command::parse`] on one line (what the operator types). Parsing
/// the same line twice gives the same command, and a comment or blank line is no command.
pub fn console_command(data: &[u8]) {
    let Some(line) = text(data) else {
        return;
    };
    let first = Command::parse(line);
    let second = Command::parse(line);
    assert_eq!(format!("{first:?}"), format!("{second:?}"), "parsing is deterministic");
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        assert!(matches!(first, Ok(None)), "blank or comment line is no command");
    }
}
