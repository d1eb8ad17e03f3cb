//! Applying the retention policy: what is past its period is deleted, and each deletion is an
//! [`AuditEvent::Erasure`] record (Directive 2016/680 Art. 25: erasure is logged like
//! consultation and disclosure; LAW.md section 5).
//!
//! What is erased here:
//! - payloads (evidence crops, plate images) in the [`PayloadStore`], once every record that
//!   names them is past its period. Payloads are biometric or personal data tied to an
//!   identification record, so they are kept at least the identification period, whatever the
//!   kind of the record naming them (a disclosure of an evidence crop does not shorten it);
//! - files in the directories the caller names (tlog recordings, exports), by their last
//!   modification time. They may hold match messages and evidence, so they are kept the
//!   identification period too, never less than six months.
//!
//! What is not: the audit records themselves. The chain cannot lose a record without every
//! later one failing verification; keeping records longer than the minimum is what the law
//! asks ("at least six months"), so a log file is kept whole.
//!
//! The caller runs [`apply`] at start-up and then on a timer (the ground station hourly). The
//! clock is a parameter so tests set it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::error::AuditError;
use super::event::{AuditEvent, PayloadRef};
use super::payload::PayloadStore;
use super::record::decode_record;
use super::retention::RetentionPolicy;
use super::writer::AuditWriter;

/// `user_id` of erasures made by the retention policy (not by a person).
pub const RETENTION_USER: &str = "retention";

const DAY_USEC: u64 = 86_400_000_000;

/// A directory whose files the policy ages out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgedDir {
    /// What the files are, for the erasure record ("recording", "export").
    pub what: &'static str,
    /// The directory (missing: nothing to do). Files directly in it and in its subdirectories.
    pub dir: PathBuf,
}

/// What one run erased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErasureRun {
    /// Payloads deleted.
    pub payloads: Vec<PayloadRef>,
    /// Files deleted.
    pub files: Vec<PathBuf>,
    /// Things that could not be deleted (they stay; the next run tries again), in words.
    pub problems: Vec<String>,
}

/// When each payload named in the log may go: the latest of (record time + identification
/// period) over the records naming it, with a label of the first record for the erasure text.
fn payload_deadlines(
    log: &Path,
    policy: &RetentionPolicy,
) -> Result<BTreeMap<String, (u64, PayloadRef, String)>, AuditError> {
    let bytes = std::fs::read(log).map_err(AuditError::io(log))?;
    let mut out: BTreeMap<String, (u64, PayloadRef, String)> = BTreeMap::new();
    let keep_usec = u64::from(policy.identification_days()) * DAY_USEC;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        // The writer verified the log when it opened it; a torn tail is its business.
        let Ok(rec) = decode_record(line) else { break };
        let body = rec.body;
        let label = match &body.event {
            AuditEvent::PossibleMatch { match_id, .. } => format!("evidence crop of possible match {match_id}"),
            AuditEvent::Disclosure { .. } => "payload of a disclosure".to_string(),
            _ => "payload".to_string(),
        };
        for p in body.event.payloads() {
            let until = body.time_usec.saturating_add(keep_usec);
            let e = out
                .entry(p.sha256_hex.clone())
                .or_insert_with(|| (until, p.clone(), format!("{label} (record {})", body.seq)));
            e.0 = e.0.max(until);
        }
    }
    Ok(out)
}

fn modified_usec(path: &Path) -> Option<u64> {
    let m = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(m.duration_since(UNIX_EPOCH).ok()?.as_micros() as u64)
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => files_under(&p, out),
            Ok(t) if t.is_file() => out.push(p),
            _ => {}
        }
    }
}

/// Deletes what `policy` says is due at `now_usec` and appends one erasure record per
/// deletion to `writer` (whose log is also where payload references are read from).
///
/// # Errors
/// [`AuditError`] when the log cannot be read or an erasure record cannot be written (the
/// deletion it was about has happened; the error says so and nothing else is deleted).
pub fn apply(
    policy: &RetentionPolicy,
    writer: &mut AuditWriter,
    payloads: Option<&PayloadStore>,
    dirs: &[AgedDir],
    now_usec: u64,
) -> Result<ErasureRun, AuditError> {
    let mut run = ErasureRun::default();
    let days = policy.identification_days();
    if let Some(store) = payloads {
        let log = writer.path().to_path_buf();
        for (until, r, label) in payload_deadlines(&log, policy)?.into_values() {
            if now_usec < until || !store.contains(&r) {
                continue;
            }
            match store.delete(&r) {
                Ok(true) => {
                    writer.append(
                        now_usec,
                        AuditEvent::Erasure {
                            user_id: RETENTION_USER.into(),
                            what: format!("{label}: retention period of {days} days ended"),
                            payloads: vec![r.clone()],
                        },
                    )?;
                    run.payloads.push(r);
                }
                Ok(false) => {}
                Err(e) => run.problems.push(format!("payload {}: {e}", r.sha256_hex)),
            }
        }
    }
    let keep_usec = u64::from(days) * DAY_USEC;
    for d in dirs {
        let mut files = Vec::new();
        files_under(&d.dir, &mut files);
        files.sort();
        for f in files {
            // Never aged out as a file: the log and whatever sits beside it, the payload store
            // (its own rule above), and files of a more specific directory in `dirs` (e.g. the
            // exports inside the recordings' folder), which that entry names correctly.
            let log_dir = writer.path().parent();
            let in_payloads = payloads.is_some_and(|p| f.starts_with(p.dir()));
            let nested = dirs
                .iter()
                .any(|o| o.dir != d.dir && o.dir.starts_with(&d.dir) && f.starts_with(&o.dir));
            if f == writer.path() || f.parent() == log_dir || in_payloads || nested {
                continue;
            }
            let Some(t) = modified_usec(&f) else {
                run.problems.push(format!("{}: no modification time", f.display()));
                continue;
            };
            if now_usec < t.saturating_add(keep_usec) {
                continue;
            }
            match std::fs::remove_file(&f) {
                Ok(()) => {
                    writer.append(
                        now_usec,
                        AuditEvent::Erasure {
                            user_id: RETENTION_USER.into(),
                            what: format!(
                                "{} {} (last written {} µs since 1970): retention period of {days} days ended",
                                d.what,
                                f.display(),
                                t
                            ),
                            payloads: Vec::new(),
                        },
                    )?;
                    run.files.push(f);
                }
                Err(e) => run.problems.push(format!("{}: {e}", f.display())),
            }
        }
    }
    if !run.payloads.is_empty() || !run.files.is_empty() {
        writer.checkpoint(now_usec)?;
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::verify::{VerifyOptions, verify_file};
    use crate::authz::AuthzDigest;

    const T0: u64 = 1_800_000_000_000_000;

    fn possible_match(crop: PayloadRef) -> AuditEvent {
        AuditEvent::PossibleMatch {
            authorization_digest: AuthzDigest([1; 32]),
            match_id: 5,
            subject_id: "s".into(),
            frame_time_usec: T0,
            track_id: 3,
            distance: 0.4,
            evidence_crop: Some(crop),
        }
    }

    fn erasures(log: &Path) -> Vec<(String, Vec<PayloadRef>)> {
        let bytes = std::fs::read(log).unwrap();
        bytes
            .split_inclusive(|&b| b == b'\n')
            .filter_map(|l| match decode_record(l).unwrap().body.event {
                AuditEvent::Erasure {
                    user_id,
                    what,
                    payloads,
                } => {
                    assert_eq!(user_id, RETENTION_USER);
                    Some((what, payloads))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn payload_erased_only_after_six_months_and_logged() {
        let dir = tempfile::tempdir().unwrap();
        let store = PayloadStore::open(dir.path().join("payloads")).unwrap();
        let crop = store.put(b"crop").unwrap();
        let log = dir.path().join("audit.jsonl");
        let (mut w, _) = AuditWriter::open(&log, None, 0).unwrap();
        w.append(T0, possible_match(crop.clone())).unwrap();
        // A policy of 200 days: at 199 days nothing goes.
        let policy = RetentionPolicy::new(200, 30).unwrap();
        let run = apply(&policy, &mut w, Some(&store), &[], T0 + 199 * DAY_USEC).unwrap();
        assert!(run.payloads.is_empty());
        assert!(store.contains(&crop));
        assert!(erasures(&log).is_empty());
        // At 200 days it goes, with one erasure record naming it.
        let run = apply(&policy, &mut w, Some(&store), &[], T0 + 200 * DAY_USEC).unwrap();
        assert_eq!(run.payloads, vec![crop.clone()]);
        assert!(!store.contains(&crop));
        let e = erasures(&log);
        assert_eq!(e.len(), 1);
        assert!(e[0].0.contains("possible match 5"), "{:?}", e[0]);
        assert_eq!(e[0].1, vec![crop]);
        // A second run has nothing more to do; the log still verifies.
        let run = apply(&policy, &mut w, Some(&store), &[], T0 + 400 * DAY_USEC).unwrap();
        assert!(run.payloads.is_empty());
        assert_eq!(erasures(&log).len(), 1);
        verify_file(&log, &VerifyOptions::default()).unwrap();
    }

    #[test]
    fn the_shortest_policy_keeps_identification_data_six_months() {
        // other_days = 1 must not shorten the period of evidence named by a disclosure.
        let dir = tempfile::tempdir().unwrap();
        let store = PayloadStore::open(dir.path().join("p")).unwrap();
        let crop = store.put(b"crop").unwrap();
        let (mut w, _) = AuditWriter::open(dir.path().join("a.jsonl"), None, 0).unwrap();
        w.append(
            T0,
            AuditEvent::Disclosure {
                user_id: "anna".into(),
                recipient: "export".into(),
                what: "alert".into(),
                payloads: vec![crop.clone()],
                file: None,
            },
        )
        .unwrap();
        let policy = RetentionPolicy::new(crate::audit::MIN_IDENTIFICATION_RETENTION_DAYS, 1).unwrap();
        let run = apply(&policy, &mut w, Some(&store), &[], T0 + 183 * DAY_USEC).unwrap();
        assert!(run.payloads.is_empty(), "183 days < six months");
        let run = apply(&policy, &mut w, Some(&store), &[], T0 + 184 * DAY_USEC).unwrap();
        assert_eq!(run.payloads.len(), 1);
    }

    #[test]
    fn old_recordings_and_exports_erased_and_logged_new_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let rec = dir.path().join("recordings");
        std::fs::create_dir_all(rec.join("sub")).unwrap();
        std::fs::write(rec.join("old.tlog"), b"x").unwrap();
        std::fs::write(rec.join("sub/old2.tlog"), b"y").unwrap();
        let log = dir.path().join("a.jsonl");
        let (mut w, _) = AuditWriter::open(&log, None, 0).unwrap();
        let written = modified_usec(&rec.join("old.tlog")).unwrap();
        let policy = RetentionPolicy::default();
        let dirs = [AgedDir {
            what: "recording",
            dir: rec.clone(),
        }];
        let run = apply(&policy, &mut w, None, &dirs, written + 183 * DAY_USEC).unwrap();
        assert!(run.files.is_empty());
        let run = apply(&policy, &mut w, None, &dirs, written + 185 * DAY_USEC).unwrap();
        assert_eq!(run.files.len(), 2);
        assert!(!rec.join("old.tlog").exists() && !rec.join("sub/old2.tlog").exists());
        let e = erasures(&log);
        assert_eq!(e.len(), 2);
        assert!(e.iter().all(|(what, _)| what.starts_with("recording ")), "{e:?}");
        // The audit directory inside the recordings' folder: log, payloads and exports are not
        // "recordings" (exports are aged under their own entry).
        let audit = rec.join("audit");
        std::fs::create_dir_all(audit.join("payloads")).unwrap();
        std::fs::create_dir_all(audit.join("exports")).unwrap();
        let store = PayloadStore::open(audit.join("payloads")).unwrap();
        store.put(b"crop").unwrap();
        std::fs::write(audit.join("exports/alert-1-5.jpg"), b"e").unwrap();
        let (mut w2, _) = AuditWriter::open(audit.join("ground-audit.jsonl"), None, 0).unwrap();
        let dirs2 = [
            AgedDir {
                what: "recording",
                dir: rec.clone(),
            },
            AgedDir {
                what: "export",
                dir: audit.join("exports"),
            },
        ];
        let later = modified_usec(&audit.join("exports/alert-1-5.jpg")).unwrap() + 185 * DAY_USEC;
        let run = apply(&policy, &mut w2, Some(&store), &dirs2, later).unwrap();
        assert_eq!(run.files, vec![audit.join("exports/alert-1-5.jpg")], "only the export");
        assert!(audit.join("ground-audit.jsonl").exists());
        assert_eq!(
            std::fs::read_dir(store.dir()).unwrap().count(),
            1,
            "payload not aged as a file"
        );
        let e = erasures(&audit.join("ground-audit.jsonl"));
        assert!(e[0].0.starts_with("export "), "{e:?}");
        // A missing directory is not an error.
        let gone = [AgedDir {
            what: "export",
            dir: dir.path().join("nope"),
        }];
        assert_eq!(
            apply(&policy, &mut w, None, &gone, u64::MAX / 2).unwrap(),
            ErasureRun::default()
        );
    }
}
