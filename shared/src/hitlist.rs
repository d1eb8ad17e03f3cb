//! The ANPR hit list (LAW.md section 7): vehicles of interest, each with the
//! reason it is wanted and an expiry. A read is a hit only if an entry for its
//! plate has not expired at the time of the read; an expired entry is as good
//! as absent, so a stale list can never make a hit.
//!
//! File format: UTF-8 text, one entry per line, three tab-separated fields,
//! `#` starts a comment line, blank lines are ignored:
//!
//! ```text
//! # plate<TAB>expires (UTC)<TAB>reason
//! ABC 123<TAB>2026-12-31T23:59:59Z<TAB>Stolen vehicle, report K-1234-26
//! XYZ 12A<TAB>2027-01-15<TAB>Wanted in connection with K-99-26
//! ```
//! (`<TAB>` is one tab character.)
//!
//! Plates are compared in normalized form ([`crate::plate::normalize`]) and
//! must fit the plate grammar the drone reads with (a plate it cannot read
//! can never hit, so it is a typing error). `expires` is an instant in UTC
//! ([`crate::utc::parse_utc_usec`]); a bare date means midnight at the *start*
//! of that day, so the entry no longer hits on that date (the stricter
//! reading). Errors name the line and the field.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::plate::{PlateGrammar, normalize};
use crate::utc::parse_utc_usec;

/// One vehicle of interest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitListEntry {
    /// The plate, normalized (`ABC123`).
    pub plate: String,
    /// The plate as printed (`ABC 123`).
    pub display: String,
    /// Why the vehicle is of interest (shown to the operator with the hit).
    pub reason: String,
    /// From this instant on the entry no longer hits (Unix epoch, UTC, µs).
    pub expires_usec: u64,
    /// 1-based line in the file it came from (0 when added in code).
    pub line: usize,
}

impl HitListEntry {
    /// Whether the entry still hits at `now_usec`.
    pub fn is_active(&self, now_usec: u64) -> bool {
        now_usec < self.expires_usec
    }
}

/// A hit list that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum HitListError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line is wrong.
    #[error("{}line {line}, field `{field}`: {reason}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Line {
        /// The file, when loaded from one.
        path: Option<PathBuf>,
        /// 1-based line number.
        line: usize,
        /// `plate`, `expires`, `reason` or `columns`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The hit list, indexed by normalized plate.
#[derive(Debug, Clone, Default)]
pub struct HitList {
    by_plate: HashMap<String, Vec<HitListEntry>>,
}

impl HitList {
    /// An empty list (nothing hits).
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a hit-list file's text; `grammar` is the plate grammar reads are made with.
    ///
    /// # Errors
    /// [`HitListError::Line`] naming the first bad line and field.
    pub fn parse(text: &str, grammar: &PlateGrammar) -> Result<Self, HitListError> {
        let mut list = HitList::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |field: &'static str, reason: String| HitListError::Line {
                path: None,
                line,
                field,
                reason,
            };
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = raw.split('\t').collect();
            if fields.len() != 3 {
                return Err(err(
                    "columns",
                    format!(
                        "expected 3 tab-separated fields (plate, expires, reason), found {}",
                        fields.len()
                    ),
                ));
            }
            let plate_text = fields[0].trim();
            let Some(plate) = grammar.parse(plate_text) else {
                return Err(err(
                    "plate",
                    format!("`{plate_text}` is not a plate the grammar reads, so it could never hit"),
                ));
            };
            let expires_usec = parse_utc_usec(fields[1]).map_err(|r| err("expires", r))?;
            let reason = fields[2].trim();
            if reason.is_empty() {
                return Err(err("reason", "every entry needs a reason".into()));
            }
            list.insert(HitListEntry {
                plate: plate.normalized,
                display: plate.display,
                reason: reason.to_string(),
                expires_usec,
                line,
            });
        }
        Ok(list)
    }

    /// Reads and parses a hit-list file.
    ///
    /// # Errors
    /// [`HitListError::Io`], or [`HitListError::Line`] naming the file, line and field.
    pub fn load(path: &Path, grammar: &PlateGrammar) -> Result<Self, HitListError> {
        let text = std::fs::read_to_string(path).map_err(|source| HitListError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, grammar).map_err(|e| match e {
            HitListError::Line {
                line, field, reason, ..
            } => HitListError::Line {
                path: Some(path.to_path_buf()),
                line,
                field,
                reason,
            },
            other => other,
        })
    }

    /// Adds an entry (its plate is normalized here).
    pub fn insert(&mut self, mut entry: HitListEntry) {
        entry.plate = normalize(&entry.plate);
        self.by_plate.entry(entry.plate.clone()).or_default().push(entry);
    }

    /// The entries that hit for `plate` (any spelling; normalized here) at
    /// `now_usec`. Empty: no hit. Expired entries are never returned.
    pub fn lookup(&self, plate: &str, now_usec: u64) -> Vec<&HitListEntry> {
        self.by_plate
            .get(&normalize(plate))
            .map(|v| v.iter().filter(|e| e.is_active(now_usec)).collect())
            .unwrap_or_default()
    }

    /// Whether `plate` is a hit at `now_usec`.
    pub fn is_hit(&self, plate: &str, now_usec: u64) -> bool {
        !self.lookup(plate, now_usec).is_empty()
    }

    /// Drops expired entries; returns how many.
    pub fn remove_expired(&mut self, now_usec: u64) -> usize {
        let mut removed = 0;
        self.by_plate.retain(|_, v| {
            let before = v.len();
            v.retain(|e| e.is_active(now_usec));
            removed += before - v.len();
            !v.is_empty()
        });
        removed
    }

    /// Number of entries, expired or not.
    pub fn len(&self) -> usize {
        self.by_plate.values().map(Vec::len).sum()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.by_plate.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-31T23:59:59Z.
    const EXPIRY_USEC: u64 = 1_798_761_599_000_000;

    fn list() -> HitList {
        let text = "# plate\texpires\treason\n\
                    ABC 123\t2026-12-31T23:59:59Z\tStolen vehicle, report K-1234-26\n\
                    \n\
                    xyz-12a\t2027-01-15\tWanted in connection with K-99-26\n\
                    ABC123\t2026-06-01\tOlder report, expired\n";
        HitList::parse(text, &PlateGrammar::sweden()).unwrap()
    }

    #[test]
    fn hits_in_any_spelling() {
        let l = list();
        assert_eq!(l.len(), 3);
        assert!(l.is_hit("ABC 123", EXPIRY_USEC - 1));
        assert!(l.is_hit("abc-123", EXPIRY_USEC - 1));
        assert!(l.is_hit("XYZ 12A", EXPIRY_USEC - 1));
        assert!(!l.is_hit("ABC 124", EXPIRY_USEC - 1));
        let hits = l.lookup("ABC123", EXPIRY_USEC - 1);
        assert_eq!(hits.len(), 1, "the expired duplicate does not hit");
        assert_eq!(hits[0].reason, "Stolen vehicle, report K-1234-26");
        assert_eq!(hits[0].display, "ABC 123");
        assert_eq!(hits[0].line, 2);
    }

    #[test]
    fn entry_past_expiry_no_longer_hits() {
        let l = list();
        assert!(l.is_hit("ABC 123", EXPIRY_USEC - 1));
        assert!(!l.is_hit("ABC 123", EXPIRY_USEC), "expired at the instant");
        assert!(!l.is_hit("ABC 123", EXPIRY_USEC + 86_400_000_000));
    }

    #[test]
    fn bare_date_expires_at_the_start_of_that_day() {
        let l = list();
        let day_start = parse_utc_usec("2027-01-15").unwrap();
        assert!(l.is_hit("XYZ12A", day_start - 1));
        assert!(!l.is_hit("XYZ12A", day_start));
    }

    #[test]
    fn remove_expired_drops_only_expired() {
        let mut l = list();
        assert_eq!(l.remove_expired(EXPIRY_USEC), 2);
        assert_eq!(l.len(), 1);
        assert!(l.is_hit("XYZ 12A", EXPIRY_USEC));
    }

    fn line_error(text: &str) -> (usize, &'static str) {
        match HitList::parse(text, &PlateGrammar::sweden()).unwrap_err() {
            HitListError::Line { line, field, .. } => (line, field),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn errors_name_line_and_field() {
        assert_eq!(
            line_error("ABC 123\t2026-12-31\tok\nABC 1234\t2026-12-31\tbad plate\n"),
            (2, "plate")
        );
        assert_eq!(line_error("# c\nABC 123\t2026-12-32\tbad date\n"), (2, "expires"));
        assert_eq!(line_error("ABC 123\t2026-12-31T10:00:00\tno zone\n"), (1, "expires"));
        assert_eq!(line_error("ABC 123\t2026-12-31\t  \n"), (1, "reason"));
        assert_eq!(line_error("ABC 123 2026-12-31 spaces not tabs\n"), (1, "columns"));
        // Letters Sweden never uses (Q) are not a plate.
        assert_eq!(line_error("QBC 123\t2026-12-31\tx\n"), (1, "plate"));
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hits.tsv");
        std::fs::write(&path, "ABC 123\tsoon\tx\n").unwrap();
        let e = HitList::load(&path, &PlateGrammar::sweden()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("hits.tsv") && msg.contains("line 1") && msg.contains("`expires`"),
            "{msg}"
        );
        assert!(HitList::load(&dir.path().join("none.tsv"), &PlateGrammar::sweden()).is_err());
    }

    #[test]
    fn empty_list_hits_nothing() {
        let l = HitList::parse("# nothing\n\n", &PlateGrammar::sweden()).unwrap();
        assert!(l.is_empty());
        assert!(!l.is_hit("ABC 123", 0));
    }
}
