//! The store of plate reads that were *not* hits (LAW.md section 7), kept only when the station
//! is configured to keep them (`--keep-non-hits-days N`, 0 by default: nothing is kept, and the
//! drone does not even send their text unless `detect.send_non_hit_text` is on).
//!
//! Why a store of its own rather than the tlogs: section 7 says reads that are not hits are
//! deleted, or kept for a limited time under a rule that allows it, and that every search in
//! stored reads is logged. The tlogs are kept for months (identification retention) and can be
//! read by anyone with the files, so the link never records a non-hit read with its text
//! (`link::recorder_keeps`). Here each read carries its own expiry; expired reads are deleted
//! when the store opens and at least once a minute after (`purge_expired`), with SQLite's
//! `secure_delete` on so the deleted text is overwritten in the file, not just unlinked from the
//! b-tree, and the rollback journal (not WAL) so no old page outlives its transaction in a log.
//! Searching is [`crate::ops::GroundOps::search_reads`]: signed in, with a reason, logged.
//!
//! SQLite (rusqlite, bundled; already in the build for MBTiles) because the store must survive a
//! restart of the station with its expiries, and be searched by plate without loading it all.

use std::path::{Path, PathBuf};

use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags, params};
use thiserror::Error;

/// File name of the store in the station's record folder.
pub const STORE_FILE: &str = "non-hit-reads.sqlite";

/// The longest retention the station accepts, days. Section 7 asks for a *limited* time; a
/// typing error must not make it a year.
pub const MAX_KEEP_DAYS: u32 = 30;

/// Expired reads are purged at least this often while reads arrive or searches run, µs.
pub const PURGE_PERIOD_USEC: u64 = 60_000_000;

const USEC_PER_DAY: u64 = 86_400_000_000;

/// A store that cannot be used.
#[derive(Debug, Error)]
pub enum StoredReadsError {
    /// `--keep-non-hits-days` out of range.
    #[error("--keep-non-hits-days {0}: at most {MAX_KEEP_DAYS} (LAW.md section 7: a limited time; 0 keeps nothing)")]
    KeepDays(u32),
    /// SQLite failed.
    #[error("{path}: {source}")]
    Sqlite {
        /// The store file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
}

/// One stored non-hit read.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRead {
    /// Capture time of the read's frame (Unix µs).
    pub time_usec: u64,
    /// The drone that read it.
    pub system_id: u8,
    /// Its plate track.
    pub track_id: u32,
    /// The plate, normalized.
    pub plate: String,
    /// Confidence of the voted text, percent.
    pub confidence: u8,
    /// Where the plate track was (WGS84 degrees), when known.
    pub lat_lon_deg: Option<(f64, f64)>,
    /// When it is deleted (Unix µs).
    pub expires_usec: u64,
}

/// The store (one SQLite file).
#[derive(Debug)]
pub struct StoredReads {
    path: PathBuf,
    /// In a mutex because the station's operations live in a Bevy resource, which must be
    /// `Sync`, and a SQLite connection is not (it is only ever used by one system at a time).
    conn: Mutex<Connection>,
    keep_days: u32,
    last_purge_usec: u64,
}

impl StoredReads {
    /// Opens (creating) the store at `path`, keeping new reads `keep_days` days (at most
    /// [`MAX_KEEP_DAYS`]; 0: no new reads are kept, and the store is opened only so that reads
    /// kept by an earlier run still expire and can be searched until then), and deletes what
    /// expired by `now_usec`. Returns the store and the number of reads deleted.
    ///
    /// # Errors
    /// `keep_days` out of range; the file cannot be opened or is not a store.
    pub fn open(path: &Path, keep_days: u32, now_usec: u64) -> Result<(Self, usize), StoredReadsError> {
        if keep_days > MAX_KEEP_DAYS {
            return Err(StoredReadsError::KeepDays(keep_days));
        }
        let sql = |source| StoredReadsError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        conn.pragma_update(None, "secure_delete", "ON").map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(sql)?;
        // journal_mode answers with the mode now in force: DELETE, never WAL.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .map_err(sql)?;
        if !mode.eq_ignore_ascii_case("delete") {
            tracing::warn!(store = %path.display(), mode, "SQLite refused journal_mode DELETE");
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS non_hit_reads (
                 id INTEGER PRIMARY KEY,
                 time_usec INTEGER NOT NULL,
                 system_id INTEGER NOT NULL,
                 track_id INTEGER NOT NULL,
                 plate TEXT NOT NULL,
                 confidence INTEGER NOT NULL,
                 lat_deg REAL,
                 lon_deg REAL,
                 expires_usec INTEGER NOT NULL
             );
             CREATE INDEX IF NOT EXISTS non_hit_reads_expiry ON non_hit_reads (expires_usec);
             CREATE INDEX IF NOT EXISTS non_hit_reads_plate ON non_hit_reads (plate);",
        )
        .map_err(sql)?;
        let mut store = Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            keep_days,
            last_purge_usec: 0,
        };
        let purged = store.purge_expired(now_usec)?;
        Ok((store, purged))
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Days a read is kept.
    pub fn keep_days(&self) -> u32 {
        self.keep_days
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held leaves the connection as SQLite left it: usable.
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn sql(&self, source: rusqlite::Error) -> StoredReadsError {
        StoredReadsError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Stores a non-hit read received at `now_usec`; it expires `keep_days` after its capture
    /// time (or after `now_usec`, whichever is earlier: a drone clock ahead of the station's must
    /// not stretch the retention). Purges what expired first, at most once a minute. With
    /// `keep_days` 0 nothing is stored and `Ok(false)` is returned.
    ///
    /// # Errors
    /// SQLite failed.
    #[allow(clippy::too_many_arguments)] // one read's columns, as the message carries them
    pub fn insert(
        &mut self,
        system_id: u8,
        track_id: u32,
        time_usec: u64,
        plate: &str,
        confidence: u8,
        lat_lon_deg: Option<(f64, f64)>,
        now_usec: u64,
    ) -> Result<bool, StoredReadsError> {
        self.purge_if_due(now_usec)?;
        if self.keep_days == 0 {
            return Ok(false);
        }
        let expires_usec = time_usec
            .min(now_usec)
            .saturating_add(u64::from(self.keep_days) * USEC_PER_DAY);
        self.conn()
            .execute(
                "INSERT INTO non_hit_reads (time_usec, system_id, track_id, plate, confidence, lat_deg, lon_deg, expires_usec)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    time_usec as i64,
                    system_id,
                    track_id,
                    plate,
                    confidence,
                    lat_lon_deg.map(|p| p.0),
                    lat_lon_deg.map(|p| p.1),
                    expires_usec as i64
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(true)
    }

    /// Deletes every read expired at `now_usec`; returns how many.
    ///
    /// # Errors
    /// SQLite failed.
    pub fn purge_expired(&mut self, now_usec: u64) -> Result<usize, StoredReadsError> {
        self.last_purge_usec = now_usec;
        let n = self
            .conn()
            .execute(
                "DELETE FROM non_hit_reads WHERE expires_usec <= ?1",
                params![now_usec as i64],
            )
            .map_err(|e| self.sql(e))?;
        if n > 0 {
            tracing::info!(reads = n, store = %self.path.display(), "expired non-hit plate reads deleted");
        }
        Ok(n)
    }

    /// [`Self::purge_expired`] when the last purge is [`PURGE_PERIOD_USEC`] old (or the clock
    /// went back); returns how many were deleted.
    ///
    /// # Errors
    /// SQLite failed.
    pub fn purge_if_due(&mut self, now_usec: u64) -> Result<usize, StoredReadsError> {
        if now_usec < self.last_purge_usec || now_usec - self.last_purge_usec >= PURGE_PERIOD_USEC {
            self.purge_expired(now_usec)
        } else {
            Ok(0)
        }
    }

    /// Reads whose plate contains `query` (normalized: upper case, no spaces; at least 2
    /// characters, so a search names a plate rather than dumping the store), newest first, at most
    /// `limit`. Expired reads are purged first, so they are never returned.
    ///
    /// # Errors
    /// SQLite failed.
    pub fn search(&mut self, query: &str, limit: usize, now_usec: u64) -> Result<Vec<StoredRead>, StoredReadsError> {
        self.purge_expired(now_usec)?;
        let q = normalize_query(query);
        if q.chars().count() < 2 {
            return Ok(Vec::new());
        }
        let like = format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT time_usec, system_id, track_id, plate, confidence, lat_deg, lon_deg, expires_usec
                 FROM non_hit_reads WHERE plate LIKE ?1 ESCAPE '\\' ORDER BY time_usec DESC LIMIT ?2",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![like, limit as i64], |r| {
                let lat: Option<f64> = r.get(5)?;
                let lon: Option<f64> = r.get(6)?;
                Ok(StoredRead {
                    time_usec: r.get::<_, i64>(0)? as u64,
                    system_id: r.get(1)?,
                    track_id: r.get(2)?,
                    plate: r.get(3)?,
                    confidence: r.get(4)?,
                    lat_lon_deg: lat.zip(lon),
                    expires_usec: r.get::<_, i64>(7)? as u64,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| StoredReadsError::Sqlite {
                path: self.path.clone(),
                source: e,
            })?;
        Ok(rows)
    }

    /// Number of reads held.
    ///
    /// # Errors
    /// SQLite failed.
    pub fn count(&self) -> Result<u64, StoredReadsError> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM non_hit_reads", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.sql(e))
    }
}

/// A plate query as stored plates are written: upper case, letters and digits only.
pub fn normalize_query(query: &str) -> String {
    query
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_798_761_600_000_000;

    fn store(dir: &tempfile::TempDir, days: u32, now: u64) -> StoredReads {
        StoredReads::open(&dir.path().join(STORE_FILE), days, now).unwrap().0
    }

    #[test]
    fn reads_are_found_by_part_of_the_plate_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(&dir, 1, T0);
        s.insert(1, 3, T0, "ABC123", 91, Some((59.3, 18.0)), T0).unwrap();
        s.insert(1, 4, T0 + 5, "XYZ12A", 80, None, T0 + 5).unwrap();
        s.insert(2, 9, T0 + 9, "ABC999", 70, None, T0 + 9).unwrap();
        let r = s.search("abc 1", 10, T0 + 10).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(
            r[0],
            StoredRead {
                time_usec: T0,
                system_id: 1,
                track_id: 3,
                plate: "ABC123".into(),
                confidence: 91,
                lat_lon_deg: Some((59.3, 18.0)),
                expires_usec: T0 + USEC_PER_DAY,
            }
        );
        let r = s.search("ABC", 10, T0 + 10).unwrap();
        assert_eq!(
            r.iter().map(|r| r.plate.as_str()).collect::<Vec<_>>(),
            ["ABC999", "ABC123"]
        );
        // Too short to name a plate, or only wildcards: nothing.
        assert!(s.search("A", 10, T0 + 10).unwrap().is_empty());
        assert!(s.search("%_", 10, T0 + 10).unwrap().is_empty());
        assert_eq!(s.count().unwrap(), 3);
    }

    #[test]
    fn expired_reads_are_deleted_and_never_returned_also_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STORE_FILE);
        {
            let mut s = store(&dir, 1, T0);
            s.insert(1, 3, T0, "ABC123", 91, None, T0).unwrap();
            s.insert(1, 4, T0 + USEC_PER_DAY / 2, "ABD123", 91, None, T0 + USEC_PER_DAY / 2)
                .unwrap();
            // A drone clock a day ahead does not stretch the retention.
            s.insert(1, 5, T0 + 2 * USEC_PER_DAY, "ABE123", 91, None, T0).unwrap();
            assert_eq!(s.search("AB", 10, T0 + USEC_PER_DAY - 1).unwrap().len(), 3);
            let r = s.search("AB", 10, T0 + USEC_PER_DAY).unwrap();
            assert_eq!(r.iter().map(|r| r.plate.as_str()).collect::<Vec<_>>(), ["ABD123"]);
            assert_eq!(s.count().unwrap(), 1);
        }
        // Reopened after the last one expired: purged at open.
        let (s, purged) = StoredReads::open(&path, 1, T0 + 2 * USEC_PER_DAY).unwrap();
        assert_eq!((purged, s.count().unwrap()), (1, 0));
        // The deleted text is not left in the file (secure_delete).
        drop(s);
        let bytes = std::fs::read(&path).unwrap();
        for plate in ["ABC123", "ABD123", "ABE123"] {
            assert!(
                !bytes.windows(plate.len()).any(|w| w == plate.as_bytes()),
                "{plate} still in the file"
            );
        }
    }

    #[test]
    fn inserting_purges_at_most_once_a_minute() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(&dir, 1, T0);
        s.insert(1, 3, T0, "ABC123", 91, None, T0).unwrap();
        let later = T0 + USEC_PER_DAY;
        assert_eq!(s.purge_if_due(later).unwrap(), 1);
        assert_eq!(s.purge_if_due(later + 1).unwrap(), 0, "purged a moment ago");
    }

    #[test]
    fn retention_must_be_limited() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STORE_FILE);
        let e = StoredReads::open(&path, MAX_KEEP_DAYS + 1, T0).unwrap_err().to_string();
        assert!(e.contains("--keep-non-hits-days"), "{e}");
        // 0 days: an earlier run's reads still expire and can be searched; no new ones are kept.
        {
            let mut s = store(&dir, 2, T0);
            assert!(s.insert(1, 3, T0, "ABC123", 91, None, T0).unwrap());
        }
        let mut s = store(&dir, 0, T0 + 1);
        assert!(!s.insert(1, 4, T0, "XYZ12A", 91, None, T0 + 1).unwrap());
        assert_eq!(s.search("ABC", 10, T0 + 2).unwrap().len(), 1);
        assert_eq!(s.search("ABC", 10, T0 + 2 * USEC_PER_DAY).unwrap().len(), 0);
        drop(s);
        std::fs::write(&path, b"not a database at all, just text that is long enough").unwrap();
        let e = StoredReads::open(&path, 1, T0).unwrap_err().to_string();
        assert!(e.contains(STORE_FILE), "{e}");
    }
}
