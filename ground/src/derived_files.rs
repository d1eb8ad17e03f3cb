//! Files the station writes from stored alert data, and their deletion when the urgent use they
//! hold is refused (LAW.md 3.3: "all data, results and outputs of that use" go, at the ground as
//! on the drone).
//!
//! Three kinds leave the payload store and the alert list: the console's viewing files (a
//! terminal cannot show a picture, so the evidence crop is copied to a file for the user), export
//! files (a confirmed match's evidence) and mission reports (HTML that lists the matches and may
//! embed their crops). Each is recorded in the station's audit log when written, with its
//! absolute path and the alerts it holds ([`DerivedFile`]: a `ViewingFileWritten` record, or the
//! `file` of a `Disclosure`). The audit log is the only source used to find them again: it is
//! on disk before the action counts, it survives a restart, and a report written by another
//! process (`utkik-ground report`) lands in the same log.
//!
//! A report is one file: one holding a match of the refused use is deleted whole (it can be
//! written again from the recording, which the refusal redacted). When a path was written
//! several times, its newest record says what the file holds now, so a report overwritten by
//! one without the use is left alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use utkik_shared::audit::record::decode_record;
use utkik_shared::audit::{DeletedCount, DerivedFile, DerivedFileKind, FileAlert};

use crate::state::{Alert, AlertKind};

/// The receipt's kinds for derived files, in receipt order.
pub const KINDS: [DerivedFileKind; 3] = [
    DerivedFileKind::ViewingFile,
    DerivedFileKind::Export,
    DerivedFileKind::Report,
];

/// What an alert contributes to a derived file's record: which use, for a possible match.
pub fn file_alert(a: &Alert) -> FileAlert {
    FileAlert {
        system_id: a.system_id,
        alert_id: a.alert_id,
        use_digest_prefix_hex: match &a.kind {
            AlertKind::PossibleMatch {
                authorization_digest, ..
            } => Some(hex::encode(authorization_digest)),
            AlertKind::PlateHit { .. } => None,
        },
    }
}

/// `path` made absolute against the current directory (the record must find the file from any
/// later working directory); as given if that fails.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The record of a file just written.
pub fn derived_file(kind: DerivedFileKind, path: &Path, alerts: Vec<FileAlert>) -> DerivedFile {
    DerivedFile {
        kind,
        path: absolute(path).to_string_lossy().into_owned(),
        alerts,
    }
}

/// Every derived file recorded in the log at `log`, the newest record per path, in path order.
/// Reading stops at the first line that is not a record (the writer verified the log when it
/// opened it; a damaged line is named in the second value).
///
/// # Errors
/// The log cannot be read.
pub fn recorded(log: &Path) -> std::io::Result<(Vec<DerivedFile>, Option<String>)> {
    let bytes = std::fs::read(log)?;
    let mut newest: BTreeMap<String, DerivedFile> = BTreeMap::new();
    let mut damage = None;
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let rec = match decode_record(line) {
            Ok(r) => r,
            Err(e) => {
                damage = Some(format!(
                    "the audit log {} cannot be read past line {}: {e}; files recorded after it were not looked for",
                    log.display(),
                    i + 1
                ));
                break;
            }
        };
        if let Some(f) = rec.body.event.derived_file() {
            newest.insert(f.path.clone(), f.clone());
        }
    }
    Ok((newest.into_values().collect(), damage))
}

/// What deleting a use's derived files did, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileDeletion {
    /// Files deleted.
    pub deleted: BTreeMap<DerivedFileKind, Vec<PathBuf>>,
    /// Files recorded but already gone.
    pub not_found: BTreeMap<DerivedFileKind, Vec<PathBuf>>,
    /// Files that could not be deleted, or a log that could not be read, in words.
    pub problems: Vec<String>,
}

impl FileDeletion {
    fn count(map: &BTreeMap<DerivedFileKind, Vec<PathBuf>>, kind: DerivedFileKind) -> u64 {
        map.get(&kind).map_or(0, |v| v.len() as u64)
    }

    /// The receipt's counts: every kind, also when 0 (the receipt says it looked).
    pub fn deleted_counts(&self) -> Vec<DeletedCount> {
        KINDS
            .iter()
            .map(|&k| DeletedCount {
                kind: k.use_data_kind(),
                count: Self::count(&self.deleted, k),
            })
            .collect()
    }

    /// The receipt's not-found counts: only kinds with some.
    pub fn not_found_counts(&self) -> Vec<DeletedCount> {
        KINDS
            .iter()
            .filter(|&&k| Self::count(&self.not_found, k) > 0)
            .map(|&k| DeletedCount {
                kind: k.use_data_kind(),
                count: Self::count(&self.not_found, k),
            })
            .collect()
    }
}

fn kind_text(kind: DerivedFileKind) -> &'static str {
    match kind {
        DerivedFileKind::ViewingFile => "viewing file",
        DerivedFileKind::Export => "export file",
        DerivedFileKind::Report => "mission report",
    }
}

/// Deletes every derived file the log at `log` records as holding data of the use whose digest
/// starts with `digest_prefix`. Never fails: a file already gone is counted as not found, one
/// that cannot be deleted (or a log that cannot be read) is a problem in words, and everything
/// else is still deleted. Only the entry at the path is removed (a symbolic link, not what it
/// points to); a directory at the path is left and named.
pub fn delete_of_use(log: &Path, digest_prefix: &[u8; 16]) -> FileDeletion {
    let mut out = FileDeletion::default();
    let files = match recorded(log) {
        Ok((files, damage)) => {
            out.problems.extend(damage);
            files
        }
        Err(e) => {
            out.problems.push(format!(
                "the audit log {} could not be read to find the use's viewing files, exports and reports: {e}",
                log.display()
            ));
            return out;
        }
    };
    for f in files.into_iter().filter(|f| f.holds_use(digest_prefix)) {
        let path = PathBuf::from(&f.path);
        match std::fs::remove_file(&path) {
            Ok(()) => out.deleted.entry(f.kind).or_default().push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => out.not_found.entry(f.kind).or_default().push(path),
            Err(e) => out
                .problems
                .push(format!("{} {} not deleted: {e}", kind_text(f.kind), path.display())),
        }
    }
    for p in &out.problems {
        tracing::error!("refused use's derived files: {p}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::audit::{AuditEvent, AuditWriter};
    use utkik_shared::authz::UseDataKind;

    const USE_A: [u8; 16] = [0xA1; 16];

    fn file(kind: DerivedFileKind, path: &Path, prefix: Option<[u8; 16]>) -> DerivedFile {
        derived_file(
            kind,
            path,
            vec![FileAlert {
                system_id: 1,
                alert_id: 5,
                use_digest_prefix_hex: prefix.map(hex::encode),
            }],
        )
    }

    fn viewing(user: &str, f: DerivedFile) -> AuditEvent {
        AuditEvent::ViewingFileWritten {
            user_id: user.into(),
            file: f,
        }
    }

    fn disclosure(f: DerivedFile) -> AuditEvent {
        AuditEvent::Disclosure {
            user_id: "cecilia".into(),
            recipient: format!("report file {}", f.path),
            what: "mission report".into(),
            payloads: Vec::new(),
            file: Some(f),
        }
    }

    #[test]
    fn deletes_the_uses_files_counts_gone_ones_and_names_what_it_cannot_delete() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (mut w, _) = AuditWriter::open(d.join("log.jsonl"), None, 0).unwrap();
        let put = |name: &str| {
            let p = d.join(name);
            std::fs::write(&p, b"x").unwrap();
            p
        };
        let seen = put("seen.jpg");
        let gone = put("gone.jpg");
        let other_use = put("other.jpg");
        let plate = put("plate.jpg");
        let overwritten = put("r-old.html");
        let kept_report = put("r-kept.html");
        let undeletable = d.join("undeletable.jpg");
        std::fs::create_dir(&undeletable).unwrap();
        std::fs::write(undeletable.join("inside"), b"x").unwrap();
        for e in [
            viewing("anna", file(DerivedFileKind::ViewingFile, &seen, Some(USE_A))),
            viewing("anna", file(DerivedFileKind::ViewingFile, &seen, Some(USE_A))),
            viewing("bertil", file(DerivedFileKind::ViewingFile, &gone, Some(USE_A))),
            viewing("anna", file(DerivedFileKind::ViewingFile, &other_use, Some([0xB2; 16]))),
            viewing("anna", file(DerivedFileKind::ViewingFile, &plate, None)),
            disclosure(file(DerivedFileKind::Report, &overwritten, Some(USE_A))),
            // Written again later from a recording without the use: not the use's any more.
            disclosure(file(DerivedFileKind::Report, &overwritten, None)),
            disclosure(file(DerivedFileKind::Report, &kept_report, Some(USE_A))),
            disclosure(file(DerivedFileKind::Export, &undeletable, Some(USE_A))),
        ] {
            w.append(1, e).unwrap();
        }
        std::fs::remove_file(&gone).unwrap(); // by hand
        let r = delete_of_use(w.path(), &USE_A);
        assert_eq!(
            r.deleted[&DerivedFileKind::ViewingFile],
            vec![seen.clone()],
            "once, not per record"
        );
        assert_eq!(r.deleted[&DerivedFileKind::Report], vec![kept_report.clone()]);
        assert_eq!(r.not_found[&DerivedFileKind::ViewingFile], vec![gone]);
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert!(
            r.problems[0].contains("export file") && r.problems[0].contains("undeletable.jpg"),
            "{}",
            r.problems[0]
        );
        for p in [&seen, &kept_report] {
            assert!(!p.exists(), "{}", p.display());
        }
        for p in [&other_use, &plate, &overwritten, &undeletable] {
            assert!(p.exists(), "{} must stay", p.display());
        }
        let counts: Vec<(UseDataKind, u64)> = r.deleted_counts().iter().map(|c| (c.kind, c.count)).collect();
        assert_eq!(
            counts,
            [
                (UseDataKind::ViewingFiles, 1),
                (UseDataKind::Exports, 0),
                (UseDataKind::Reports, 1)
            ]
        );
        assert_eq!(
            r.not_found_counts(),
            vec![DeletedCount {
                kind: UseDataKind::ViewingFiles,
                count: 1
            }]
        );
        // Run again: everything of the use is gone now.
        let again = delete_of_use(w.path(), &USE_A);
        assert!(again.deleted.is_empty());
        // Now recorded but gone: the two viewing files and the report; the export still fails.
        assert_eq!(again.not_found.values().map(Vec::len).sum::<usize>(), 3);
        assert_eq!(again.problems.len(), 1, "{:?}", again.problems);
    }

    #[test]
    fn an_unreadable_log_is_a_problem_not_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let r = delete_of_use(&dir.path().join("missing.jsonl"), &USE_A);
        assert!(r.deleted.is_empty());
        assert_eq!(r.problems.len(), 1);
        assert!(r.problems[0].contains("missing.jsonl"), "{}", r.problems[0]);
    }

    #[test]
    fn relative_paths_are_recorded_absolute() {
        let f = derived_file(DerivedFileKind::Export, Path::new("exports/alert-1-5.jpg"), Vec::new());
        assert!(Path::new(&f.path).is_absolute(), "{}", f.path);
        assert!(f.path.ends_with("exports/alert-1-5.jpg"));
    }
}
