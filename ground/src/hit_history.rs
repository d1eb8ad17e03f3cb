//! Movement history of plate hits (issue 19 item 4, LAW.md section 7): every sighting of a
//! hit-list plate from any source, kept until its hit-list entry expires; every query signed
//! in, with a reason, and an audit record.
//!
//! One row per sighting: the plate, the hit-list entry it hit (list id, entry id and the entry's
//! expiry, from the signed hit list the station loaded: the drone's UTKIK_PLATE_READ carries only
//! `hit_entry_id`), the capture time (UTC), where the plate was (the geolocated plate track), the
//! source (system id and kind: drone, fixed camera, police vehicle) with its alert id, and the
//! plate image's SHA-256 in the audit payload store. A read that is not a hit never gets here:
//! rows are made only from stored plate-hit alerts whose entry the loaded list names for that
//! very plate ([`crate::ops::GroundOps::store_new_alerts`]).
//!
//! Why a store of its own: LAW.md section 7 ties keeping ANPR data to the hit-list entry that
//! justifies it, and deleting it when that entry expires. Each row carries its entry's expiry;
//! expired rows are deleted when the store opens and at least once a minute after
//! ([`HitHistory::purge_if_due`], the station calls it on a timer), with SQLite's
//! `secure_delete` so the text is overwritten in the file, and the rollback journal (not WAL)
//! so no old page outlives its transaction in a log. The same choices as
//! [`crate::stored_reads`], the model this follows.
//!
//! Recording is idempotent on (station, source kind, system id, alert id): the drone resends an
//! alert until it is acknowledged and a restarted station sees it again; neither adds a row. The
//! station is empty for this station's own drones and the signed station id for sightings an
//! operations centre takes from other stations' events (`plugins::event_intake`), whose system
//! ids overlap.
//!
//! Schema 2 added the station (version 1 files are migrated when opened: their rows are this
//! station's own).
//!
//! The file says what it is: SQLite's `application_id` is [`APPLICATION_ID`] and
//! `user_version` is [`SCHEMA_VERSION`]; a database of something else, or of a later schema, is
//! refused with an error naming the file rather than written into.
//!
//! Querying is [`crate::ops::GroundOps::hit_history`]: signed in, with a reason, an audit
//! record (`hit_history_query`) written before the path is returned.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use thiserror::Error;

/// File name of the store in the station's record folder.
pub const STORE_FILE: &str = "hit-history.sqlite";

/// SQLite `application_id` of a hit-history store ("UTKH").
pub const APPLICATION_ID: i32 = 0x5554_4B48;

/// Schema version this code reads and writes (SQLite `user_version`).
pub const SCHEMA_VERSION: i32 = 2;

/// Expired sightings are purged at least this often while the station runs, µs.
pub const PURGE_PERIOD_USEC: u64 = 60_000_000;

/// At most this many sightings are returned for one plate (the oldest are dropped first).
pub const MAX_PATH_POINTS: usize = 10_000;

/// A store that cannot be used.
#[derive(Debug, Error)]
pub enum HitHistoryError {
    /// SQLite failed (not a database, disk, locked).
    #[error("hit history {path}: {source}")]
    Sqlite {
        /// The store file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A SQLite database, but not a hit-history store.
    #[error("hit history {path}: a SQLite database of something else ({what}), not a hit-history store; not touched")]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        what: String,
    },
    /// A hit-history store of a schema this program does not know.
    #[error("hit history {path}: schema version {found}, this program reads version {SCHEMA_VERSION}")]
    Version {
        /// The file.
        path: PathBuf,
        /// Its `user_version`.
        found: i32,
    },
    /// A sighting that must not be stored.
    #[error("sighting refused: {0}")]
    Refused(String),
}

/// What kind of camera saw the plate: the one kind of the whole system (events carry it too),
/// stored by its name (`drone`, `fixed`, `vehicle`).
pub use utkik_shared::events::SourceKind;

/// The camera a sighting came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Source {
    /// The station it reports to: empty for this station's own sources, else the id of the
    /// station whose signed event brought the sighting.
    pub station_id: String,
    /// Its kind.
    pub kind: SourceKind,
    /// Its MAVLink system id.
    pub system_id: u8,
}

impl Source {
    /// This station's own drone with this system id.
    pub fn drone(system_id: u8) -> Self {
        Self {
            station_id: String::new(),
            kind: SourceKind::Drone,
            system_id,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.station_id.is_empty() {
            write!(f, "{} ", self.station_id)?;
        }
        write!(f, "{} {}", self.kind.name(), self.system_id)
    }
}

/// The hit-list entry a sighting hit: it is kept until `expires_usec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRef {
    /// The signed list's `list_id`.
    pub list_id: String,
    /// The entry's 1-based place in that list (`hit_entry_id` of the read).
    pub entry_id: u32,
    /// From this instant on the entry no longer hits, and its sightings are deleted (Unix µs).
    pub expires_usec: u64,
}

/// One sighting of a hit-list plate.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting {
    /// The plate, normalized (`ABC123`).
    pub plate: String,
    /// The entry it hit.
    pub entry: EntryRef,
    /// Capture time of the read's frame (Unix epoch, UTC, µs).
    pub time_usec: u64,
    /// Where the plate was (WGS84 degrees), when the source geolocated it.
    pub lat_lon_deg: Option<(f64, f64)>,
    /// The camera.
    pub source: Source,
    /// The alert the source sent for it (unique per source).
    pub alert_id: u32,
    /// SHA-256 of the plate image in the audit payload store, lower-case hex (None: no image).
    pub image_sha256_hex: Option<String>,
}

/// A hit plate's movement history as a query returns it: its sightings from every source,
/// oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HitPath {
    /// The plate, normalized.
    pub plate: String,
    /// Its sightings in time order.
    pub sightings: Vec<Sighting>,
}

impl HitPath {
    /// The path as the console prints it: one line per sighting (UTC time, position, source,
    /// alert), then when its entry's sightings are deleted.
    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let sources: std::collections::BTreeSet<&Source> = self.sightings.iter().map(|s| &s.source).collect();
        let mut s = format!(
            "hit history of {}: {} sightings from {} sources (query logged)",
            self.plate,
            self.sightings.len(),
            sources.len()
        );
        for x in &self.sightings {
            let _ = write!(
                s,
                "\n  {}  {}  {}  alert {}  (entry {} of `{}`, deleted {})",
                utkik_shared::utc::format_utc_usec(x.time_usec),
                x.lat_lon_deg
                    .map(|(la, lo)| format!("{la:.6} {lo:.6}"))
                    .unwrap_or_else(|| "position unknown".into()),
                x.source,
                x.alert_id,
                x.entry.entry_id,
                x.entry.list_id,
                utkik_shared::utc::format_utc_usec(x.entry.expires_usec),
            );
        }
        s
    }

    /// Whether the sightings are in time order (what the map draws as a line).
    pub fn is_time_ordered(&self) -> bool {
        self.sightings.windows(2).all(|w| w[0].time_usec <= w[1].time_usec)
    }
}

/// The store (one SQLite file).
#[derive(Debug)]
pub struct HitHistory {
    path: PathBuf,
    /// In a mutex because the station's operations live in a Bevy resource, which must be
    /// `Sync`, and a SQLite connection is not (only one system uses it at a time).
    conn: Mutex<Connection>,
    last_purge_usec: u64,
}

const CREATE: &str = "CREATE TABLE sightings (
        id INTEGER PRIMARY KEY,
        plate TEXT NOT NULL,
        list_id TEXT NOT NULL,
        entry_id INTEGER NOT NULL,
        expires_usec INTEGER NOT NULL,
        time_usec INTEGER NOT NULL,
        lat_deg REAL,
        lon_deg REAL,
        source_kind TEXT NOT NULL CHECK (source_kind IN ('drone', 'fixed', 'vehicle')),
        system_id INTEGER NOT NULL,
        alert_id INTEGER NOT NULL,
        image_sha256_hex TEXT,
        station_id TEXT NOT NULL DEFAULT '',
        UNIQUE (station_id, source_kind, system_id, alert_id)
    );
    CREATE INDEX sightings_expiry ON sightings (expires_usec);
    CREATE INDEX sightings_plate_time ON sightings (plate, time_usec);";

/// Schema 1 -> 2: the station column, in the unique key (a table rebuild: SQLite cannot change
/// a constraint in place). The old table is dropped with `secure_delete` on, so its pages are
/// overwritten.
const MIGRATE_1_TO_2: &str = "ALTER TABLE sightings RENAME TO sightings_v1;
    DROP INDEX IF EXISTS sightings_expiry;
    DROP INDEX IF EXISTS sightings_plate_time;";

const COPY_1_TO_2: &str = "INSERT INTO sightings (plate, list_id, entry_id, expires_usec, time_usec, lat_deg, lon_deg,
        source_kind, system_id, alert_id, image_sha256_hex, station_id)
    SELECT plate, list_id, entry_id, expires_usec, time_usec, lat_deg, lon_deg, source_kind, system_id, alert_id,
        image_sha256_hex, '' FROM sightings_v1;
    DROP TABLE sightings_v1;";

impl HitHistory {
    /// Opens (creating) the store at `path` and deletes what expired by `now_usec`. Returns the
    /// store and the number of sightings deleted.
    ///
    /// # Errors
    /// The file cannot be opened, is not a SQLite database, is another program's database or a
    /// later schema.
    pub fn open(path: &Path, now_usec: u64) -> Result<(Self, usize), HitHistoryError> {
        let sql = |source| HitHistoryError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        // The first read of the header: a file that is not SQLite fails here.
        let app_id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(sql)?;
        let version: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sql)?;
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(sql)?;
        match app_id {
            0 if tables.is_empty() && version == 0 => {}
            0 => {
                return Err(HitHistoryError::Foreign {
                    path: path.to_path_buf(),
                    what: format!("no application id; tables {}", tables.join(", ")),
                });
            }
            APPLICATION_ID if version == SCHEMA_VERSION || version == 1 => {}
            APPLICATION_ID => {
                return Err(HitHistoryError::Version {
                    path: path.to_path_buf(),
                    found: version,
                });
            }
            other => {
                return Err(HitHistoryError::Foreign {
                    path: path.to_path_buf(),
                    what: format!("application id {other:#010x}"),
                });
            }
        }
        conn.pragma_update(None, "secure_delete", "ON").map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(sql)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .map_err(sql)?;
        if !mode.eq_ignore_ascii_case("delete") {
            tracing::warn!(store = %path.display(), mode, "SQLite refused journal_mode DELETE");
        }
        if app_id == 0 {
            conn.execute_batch(&format!(
                "BEGIN; {CREATE} PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))
            .map_err(sql)?;
        } else if version == 1 {
            conn.execute_batch(&format!(
                "BEGIN; {MIGRATE_1_TO_2} {CREATE} {COPY_1_TO_2} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))
            .map_err(sql)?;
            tracing::info!(store = %path.display(), "hit history migrated from schema 1 to {SCHEMA_VERSION}");
        }
        let mut store = Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            last_purge_usec: 0,
        };
        let purged = store.purge_expired(now_usec)?;
        Ok((store, purged))
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held leaves the connection as SQLite left it: usable.
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn sql(&self, source: rusqlite::Error) -> HitHistoryError {
        HitHistoryError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Records `s` at `now_usec`: `Ok(true)` when added, `Ok(false)` when this source's alert is
    /// already there (a resend, a restart). Purges what expired first, at most once a minute.
    ///
    /// # Errors
    /// A sighting whose entry has expired by `now_usec` (it must not be kept at all), an empty
    /// plate or entry id 0 (not a hit); SQLite failed.
    pub fn record(&mut self, s: &Sighting, now_usec: u64) -> Result<bool, HitHistoryError> {
        self.purge_if_due(now_usec)?;
        if s.plate.is_empty() || s.entry.entry_id == 0 {
            return Err(HitHistoryError::Refused(format!(
                "{} alert {}: no plate or no hit-list entry, so not a hit",
                s.source, s.alert_id
            )));
        }
        if s.entry.expires_usec <= now_usec {
            return Err(HitHistoryError::Refused(format!(
                "{} alert {}: entry {} of list `{}` expired at {}",
                s.source,
                s.alert_id,
                s.entry.entry_id,
                s.entry.list_id,
                utkik_shared::utc::format_utc_usec(s.entry.expires_usec)
            )));
        }
        let n = self
            .conn()
            .execute(
                "INSERT OR IGNORE INTO sightings (plate, list_id, entry_id, expires_usec, time_usec, lat_deg, lon_deg,
                     source_kind, system_id, alert_id, image_sha256_hex, station_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    s.plate,
                    s.entry.list_id,
                    s.entry.entry_id,
                    s.entry.expires_usec as i64,
                    s.time_usec as i64,
                    s.lat_lon_deg.map(|p| p.0),
                    s.lat_lon_deg.map(|p| p.1),
                    s.source.kind.name(),
                    s.source.system_id,
                    s.alert_id,
                    s.image_sha256_hex,
                    s.source.station_id,
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(n == 1)
    }

    /// Whether this source's alert is recorded.
    ///
    /// # Errors
    /// SQLite failed.
    pub fn contains(&self, source: &Source, alert_id: u32) -> Result<bool, HitHistoryError> {
        self.conn()
            .query_row(
                "SELECT 1 FROM sightings WHERE station_id = ?1 AND source_kind = ?2 AND system_id = ?3 AND alert_id = ?4",
                params![source.station_id, source.kind.name(), source.system_id, alert_id],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(|e| self.sql(e))
    }

    /// Deletes every sighting whose entry expired at `now_usec`; returns how many.
    ///
    /// # Errors
    /// SQLite failed.
    pub fn purge_expired(&mut self, now_usec: u64) -> Result<usize, HitHistoryError> {
        self.last_purge_usec = now_usec;
        let n = self
            .conn()
            .execute(
                "DELETE FROM sightings WHERE expires_usec <= ?1",
                params![now_usec as i64],
            )
            .map_err(|e| self.sql(e))?;
        if n > 0 {
            tracing::info!(sightings = n, store = %self.path.display(), "sightings of expired hit-list entries deleted");
        }
        Ok(n)
    }

    /// [`Self::purge_expired`] when the last purge is [`PURGE_PERIOD_USEC`] old (or the clock
    /// went back); returns how many were deleted.
    ///
    /// # Errors
    /// SQLite failed.
    pub fn purge_if_due(&mut self, now_usec: u64) -> Result<usize, HitHistoryError> {
        if now_usec < self.last_purge_usec || now_usec - self.last_purge_usec >= PURGE_PERIOD_USEC {
            self.purge_expired(now_usec)
        } else {
            Ok(0)
        }
    }

    /// The sightings of `plate` (any spelling; normalized here, matched exactly) from every
    /// source, oldest first (ties by source and alert id), at most [`MAX_PATH_POINTS`] (the most
    /// recent). Expired sightings are purged first, so they are never returned.
    ///
    /// # Errors
    /// SQLite failed.
    pub fn sightings_of(&mut self, plate: &str, now_usec: u64) -> Result<Vec<Sighting>, HitHistoryError> {
        self.purge_expired(now_usec)?;
        let plate = utkik_shared::plate::normalize(plate);
        if plate.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.conn();
        let rows = conn
            .prepare(
                "SELECT * FROM (
                     SELECT plate, list_id, entry_id, expires_usec, time_usec, lat_deg, lon_deg, source_kind,
                            system_id, alert_id, image_sha256_hex, station_id
                     FROM sightings WHERE plate = ?1
                     ORDER BY time_usec DESC, station_id DESC, source_kind DESC, system_id DESC, alert_id DESC
                     LIMIT ?2)
                 ORDER BY time_usec, station_id, source_kind, system_id, alert_id",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![plate, MAX_PATH_POINTS as i64], row_sighting)?
                    .collect::<Result<Vec<_>, _>>()
            });
        drop(conn);
        rows.map_err(|e| self.sql(e))
    }

    /// Number of sightings held.
    ///
    /// # Errors
    /// SQLite failed.
    pub fn count(&self) -> Result<u64, HitHistoryError> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM sightings", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.sql(e))
    }
}

fn row_sighting(r: &rusqlite::Row<'_>) -> rusqlite::Result<Sighting> {
    let lat: Option<f64> = r.get(5)?;
    let lon: Option<f64> = r.get(6)?;
    let kind: String = r.get(7)?;
    let kind = SourceKind::from_name(&kind).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            7,
            rusqlite::types::Type::Text,
            format!("unknown source kind `{kind}`").into(),
        )
    })?;
    Ok(Sighting {
        plate: r.get(0)?,
        entry: EntryRef {
            list_id: r.get(1)?,
            entry_id: r.get(2)?,
            expires_usec: r.get::<_, i64>(3)? as u64,
        },
        time_usec: r.get::<_, i64>(4)? as u64,
        lat_lon_deg: lat.zip(lon),
        source: Source {
            station_id: r.get(11)?,
            kind,
            system_id: r.get(8)?,
        },
        alert_id: r.get(9)?,
        image_sha256_hex: r.get(10)?,
    })
}

/// The entry of the station's verified hit list that a plate hit names: the entry at
/// `hit_entry_id` (1-based) if its plate is the read's `plate` (normalized). None when the
/// list has no such entry or it is for another plate (the drone flew with another list than
/// the station loaded): the station then cannot tell how long the sighting may be kept, so it
/// keeps none.
pub fn entry_for_hit(list: &utkik_shared::hitlist::HitList, hit_entry_id: u32, plate: &str) -> Option<EntryRef> {
    let index = usize::try_from(hit_entry_id.checked_sub(1)?).ok()?;
    let e = list.entries().get(index)?;
    (utkik_shared::plate::normalize(&e.plate) == utkik_shared::plate::normalize(plate)).then(|| EntryRef {
        list_id: list.list_id().to_string(),
        entry_id: e.entry_id,
        expires_usec: e.expires_usec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_798_761_600_000_000;
    const HOUR: u64 = 3_600_000_000;

    fn sighting(plate: &str, source: Source, alert_id: u32, time_usec: u64, expires_usec: u64) -> Sighting {
        Sighting {
            plate: plate.into(),
            entry: EntryRef {
                list_id: "L1".into(),
                entry_id: 1,
                expires_usec,
            },
            time_usec,
            lat_lon_deg: Some((59.3, 18.0)),
            source,
            alert_id,
            image_sha256_hex: Some("ab".repeat(32)),
        }
    }

    #[test]
    fn resends_do_not_duplicate_and_the_path_is_in_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let (mut h, _) = HitHistory::open(&dir.path().join(STORE_FILE), T0).unwrap();
        let s = sighting("ABC123", Source::drone(1), 7, T0 + 2, T0 + HOUR);
        assert!(h.record(&s, T0).unwrap());
        assert!(!h.record(&s, T0 + 1).unwrap(), "a resend");
        let fixed = Source {
            station_id: String::new(),
            kind: SourceKind::Fixed,
            system_id: 1,
        };
        // Same system id and alert id from another kind of source: another sighting.
        assert!(
            h.record(&sighting("ABC123", fixed.clone(), 7, T0 + 1, T0 + HOUR), T0)
                .unwrap()
        );
        assert!(
            h.record(&sighting("XYZ789", fixed.clone(), 8, T0, T0 + HOUR), T0)
                .unwrap()
        );
        let p = h.sightings_of("abc 123", T0).unwrap();
        assert_eq!(
            p.iter().map(|s| (s.time_usec, s.source.clone())).collect::<Vec<_>>(),
            [(T0 + 1, fixed), (T0 + 2, Source::drone(1))]
        );
        assert_eq!(p[1], s);
        assert!(h.contains(&Source::drone(1), 7).unwrap());
        assert!(!h.contains(&Source::drone(2), 7).unwrap());
        assert!(h.sightings_of("", T0).unwrap().is_empty());
    }

    #[test]
    fn expired_or_non_hit_sightings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (mut h, _) = HitHistory::open(&dir.path().join(STORE_FILE), T0).unwrap();
        let e = h
            .record(&sighting("ABC123", Source::drone(1), 1, T0, T0), T0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("expired"), "{e}");
        let mut s = sighting("ABC123", Source::drone(1), 2, T0, T0 + HOUR);
        s.entry.entry_id = 0;
        assert!(matches!(h.record(&s, T0), Err(HitHistoryError::Refused(_))));
        assert_eq!(h.count().unwrap(), 0);
    }

    #[test]
    fn purge_runs_at_most_once_a_minute_and_overwrites_the_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STORE_FILE);
        let (mut h, _) = HitHistory::open(&path, T0).unwrap();
        h.record(&sighting("ABC123", Source::drone(1), 1, T0, T0 + HOUR), T0)
            .unwrap();
        assert_eq!(h.purge_if_due(T0 + 1).unwrap(), 0, "purged a moment ago at open");
        assert_eq!(h.purge_if_due(T0 + HOUR).unwrap(), 1);
        drop(h);
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(6).any(|w| w == b"ABC123"), "plate still in the file");
    }

    #[test]
    fn a_foreign_or_later_file_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STORE_FILE);
        std::fs::write(
            &path,
            b"not a database at all, just text that is long enough to have a header",
        )
        .unwrap();
        let e = HitHistory::open(&path, T0).unwrap_err().to_string();
        assert!(e.contains(STORE_FILE), "{e}");
        std::fs::remove_file(&path).unwrap();
        // The stored-reads store is a SQLite file too, but not this one.
        let other = dir.path().join(crate::stored_reads::STORE_FILE);
        drop(crate::stored_reads::StoredReads::open(&other, 1, T0).unwrap());
        let e = HitHistory::open(&other, T0).unwrap_err();
        assert!(matches!(e, HitHistoryError::Foreign { .. }), "{e}");
        assert!(e.to_string().contains("non_hit_reads"), "{e}");
        // A later schema.
        drop(HitHistory::open(&path, T0).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 3)
            .unwrap();
        let e = HitHistory::open(&path, T0).unwrap_err();
        assert!(matches!(e, HitHistoryError::Version { found: 3, .. }), "{e}");
    }

    /// A schema-1 store (before stations were recorded) is migrated: its rows become this
    /// station's own, nothing is lost, and a centre can then record the same system id and
    /// alert id from another station.
    #[test]
    fn a_schema_1_store_is_migrated_and_keeps_its_sightings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STORE_FILE);
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(&format!(
                "CREATE TABLE sightings (
                    id INTEGER PRIMARY KEY, plate TEXT NOT NULL, list_id TEXT NOT NULL,
                    entry_id INTEGER NOT NULL, expires_usec INTEGER NOT NULL, time_usec INTEGER NOT NULL,
                    lat_deg REAL, lon_deg REAL,
                    source_kind TEXT NOT NULL CHECK (source_kind IN ('drone', 'fixed', 'vehicle')),
                    system_id INTEGER NOT NULL, alert_id INTEGER NOT NULL, image_sha256_hex TEXT,
                    UNIQUE (source_kind, system_id, alert_id));
                 CREATE INDEX sightings_expiry ON sightings (expires_usec);
                 CREATE INDEX sightings_plate_time ON sightings (plate, time_usec);
                 INSERT INTO sightings (plate, list_id, entry_id, expires_usec, time_usec, lat_deg, lon_deg,
                     source_kind, system_id, alert_id, image_sha256_hex)
                 VALUES ('ABC123', 'L1', 1, {}, {}, 59.3, 18.0, 'drone', 1, 7, NULL);
                 PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 1;",
                T0 + HOUR,
                T0
            ))
            .unwrap();
        }
        let (mut h, purged) = HitHistory::open(&path, T0).unwrap();
        assert_eq!(purged, 0);
        assert!(h.contains(&Source::drone(1), 7).unwrap());
        let remote = Source {
            station_id: "stn-north".into(),
            ..Source::drone(1)
        };
        assert!(
            h.record(&sighting("ABC123", remote.clone(), 7, T0 + 5, T0 + HOUR), T0)
                .unwrap()
        );
        let path_of = h.sightings_of("ABC123", T0).unwrap();
        assert_eq!(path_of.len(), 2);
        assert_eq!(path_of[1].source, remote);
        assert_eq!(path_of[1].source.to_string(), "stn-north drone 1");
        drop(h);
        let c = Connection::open(&path).unwrap();
        let v: i32 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let old: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sightings_v1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old, 0, "the old table is gone");
    }

    #[test]
    fn the_entry_is_the_one_named_for_that_plate() {
        let grammar = utkik_shared::plate::PlateGrammar::sweden();
        let list = utkik_shared::hitlist::demo::verified_from_tsv(
            "ABC 123\t2027-01-02\tstolen\tanna\nXYZ 789\t2027-01-03\twanted\tanna\n",
            &grammar,
            T0,
            T0 + 48 * HOUR,
        )
        .unwrap();
        let e = entry_for_hit(&list, 2, "XYZ789").unwrap();
        assert_eq!((e.entry_id, e.list_id.as_str()), (2, "DEMO-test"));
        assert_eq!(e.expires_usec, utkik_shared::utc::parse_utc_usec("2027-01-03").unwrap());
        assert_eq!(entry_for_hit(&list, 1, "XYZ789"), None, "entry 1 is another plate");
        assert_eq!(entry_for_hit(&list, 0, "ABC123"), None);
        assert_eq!(entry_for_hit(&list, 3, "ABC123"), None);
    }
}
