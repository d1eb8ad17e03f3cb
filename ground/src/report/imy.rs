//! Reports from an audit log (LAW.md section 6, issue 5 item 7):
//! - a per-use notification for IMY: which decision, urgent or not, when (UTC dates), how many
//!   designated persons, matches, confirmed matches, how it ended, what a refusal deleted. No
//!   sensitive operational data: no subject ids, user ids, plate text, positions, track ids,
//!   case references, free-text justifications or payload hashes.
//! - yearly statistics: requests, decisions (granted / refused / urgent), uses, matches,
//!   confirmed matches. Only decisions count as decisions: a document that failed
//!   verification or parsing at load (`AuthorizationRefused`) is nobody's decision, so it is
//!   counted apart as an error (`documents_not_verified`), never as a refusal or a request.
//!
//! Both as JSON and as a readable HTML page. The log must verify first: a report over a broken
//! log is refused, naming the bad record.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use utkik_shared::audit::{AuditEvent, RecordBody, UseEndReason, Verdict, VerifyOptions, verify_file};
use utkik_shared::authz::UseDataKind;

/// Errors of the report.
#[derive(Debug, thiserror::Error)]
pub enum ImyError {
    /// The log does not verify (or cannot be read).
    #[error("audit log {path}: {message}")]
    Log {
        /// The log.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Writing an output failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
}

fn read_bodies(path: &Path) -> Result<Vec<RecordBody>, ImyError> {
    super::verify::read_bodies(path).map_err(|message| ImyError::Log {
        path: path.to_path_buf(),
        message,
    })
}

/// One use of identification, as notified to IMY.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UseNotification {
    /// First 16 hex digits of the authorization digest (to correlate with the decision).
    pub authorization_ref: String,
    /// The decision id.
    pub decision_id: String,
    /// Urgent use (started without a permit).
    pub urgent: bool,
    /// Number of designated persons (not who).
    pub designated_persons: usize,
    /// UTC date the use started (YYYY-MM-DD).
    pub started_date: Option<String>,
    /// UTC date it ended.
    pub ended_date: Option<String>,
    /// How it ended.
    pub end_reason: Option<UseEndReason>,
    /// Possible matches.
    pub possible_matches: u64,
    /// Matches confirmed by two different users.
    pub confirmed_matches: u64,
    /// Matches rejected by a verifier.
    pub rejected_matches: u64,
    /// The permit application for an urgent use was recorded.
    pub application_recorded: bool,
    /// The urgent use was refused.
    pub refused: bool,
    /// Items deleted after a refusal, per kind (sum over sites).
    pub deleted: BTreeMap<String, u64>,
}

/// Statistics of one calendar year (UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct YearStats {
    /// The year.
    pub year: i32,
    /// Decisions presented: distinct authorization documents that verified at load.
    pub requests: u64,
    /// Permits granted (verified, not urgent).
    pub decisions_granted: u64,
    /// Refusals by the prosecutor or court: urgent uses whose permit was refused.
    pub decisions_refused: u64,
    /// Urgent uses started.
    pub decisions_urgent: u64,
    /// Uses of identification started.
    pub uses: u64,
    /// Possible matches.
    pub matches: u64,
    /// Matches confirmed by two different users.
    pub confirmed_matches: u64,
    /// Errors, not decisions: authorization documents (or command frames) that failed
    /// verification or parsing and were refused by the software (`AuthorizationRefused`).
    pub documents_not_verified: u64,
}

/// Everything the report says.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImyReport {
    /// Per-use notifications.
    pub uses: Vec<UseNotification>,
    /// Per-year statistics.
    pub years: Vec<YearStats>,
}

/// UTC (year, month, day) of a Unix time in µs (`shared::utc`'s civil-from-days).
pub fn utc_date(time_usec: u64) -> (i32, u32, u32) {
    let (y, m, d) = utkik_shared::utc::civil_from_days((time_usec / 86_400_000_000) as i64);
    (y as i32, m, d)
}

fn date_text(time_usec: u64) -> String {
    let (y, m, d) = utc_date(time_usec);
    format!("{y:04}-{m:02}-{d:02}")
}

fn use_entry<'a>(
    uses: &'a mut BTreeMap<String, UseNotification>,
    digest: &utkik_shared::authz::AuthzDigest,
) -> &'a mut UseNotification {
    let hex = digest.to_hex();
    uses.entry(hex.clone()).or_insert_with(|| UseNotification {
        authorization_ref: hex[..16].to_string(),
        ..Default::default()
    })
}

/// Builds the report from record bodies.
pub fn build(bodies: &[RecordBody]) -> ImyReport {
    let mut uses: BTreeMap<String, UseNotification> = BTreeMap::new();
    let mut years: BTreeMap<i32, YearStats> = BTreeMap::new();
    let mut matches: BTreeMap<(String, u32), (i32, BTreeSet<String>)> = BTreeMap::new();
    let mut loaded: BTreeSet<String> = BTreeSet::new();
    let mut confirmed_by_year: BTreeMap<i32, u64> = BTreeMap::new();
    for b in bodies {
        let year = utc_date(b.time_usec).0;
        let y = years.entry(year).or_insert_with(|| YearStats {
            year,
            ..Default::default()
        });
        match &b.event {
            AuditEvent::AuthorizationLoaded {
                authorization_digest,
                decision_id,
                ..
            } => {
                // Reloading the same document is not a new request.
                if loaded.insert(authorization_digest.to_hex()) {
                    y.requests += 1;
                }
                use_entry(&mut uses, authorization_digest).decision_id = decision_id.clone();
            }
            // A file that does not verify or parse is not a decision of a prosecutor or court.
            AuditEvent::AuthorizationRefused { .. } => y.documents_not_verified += 1,
            AuditEvent::UseStarted {
                authorization_digest,
                decision_id,
                designated_subject_ids,
                urgent,
                ..
            } => {
                y.uses += 1;
                if !urgent
                    && !uses
                        .get(&authorization_digest.to_hex())
                        .is_some_and(|u| u.started_date.is_some())
                {
                    y.decisions_granted += 1;
                }
                let u = use_entry(&mut uses, authorization_digest);
                u.decision_id = decision_id.clone();
                u.urgent = *urgent;
                u.designated_persons = designated_subject_ids.len();
                u.started_date.get_or_insert_with(|| date_text(b.time_usec));
            }
            AuditEvent::UrgentStarted {
                authorization_digest, ..
            } => {
                y.decisions_urgent += 1;
                use_entry(&mut uses, authorization_digest).urgent = true;
            }
            AuditEvent::UseEnded {
                authorization_digest,
                ended_usec,
                reason,
                ..
            } => {
                let u = use_entry(&mut uses, authorization_digest);
                u.ended_date = Some(date_text(*ended_usec));
                u.end_reason = Some(*reason);
            }
            AuditEvent::UrgentApplicationRecorded {
                authorization_digest, ..
            } => {
                use_entry(&mut uses, authorization_digest).application_recorded = true;
            }
            AuditEvent::UrgentRefused {
                authorization_digest, ..
            } => {
                y.decisions_refused += 1;
                use_entry(&mut uses, authorization_digest).refused = true;
            }
            AuditEvent::DeletionReceipt {
                authorization_digest,
                deleted,
                ..
            } => {
                let u = use_entry(&mut uses, authorization_digest);
                for d in deleted {
                    let name = serde_json::to_value(d.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    *u.deleted.entry(name).or_default() += d.count;
                }
            }
            AuditEvent::PossibleMatch {
                authorization_digest,
                match_id,
                ..
            } => {
                let key = (authorization_digest.to_hex(), *match_id);
                if !matches.contains_key(&key) {
                    y.matches += 1;
                    use_entry(&mut uses, authorization_digest).possible_matches += 1;
                    matches.insert(key, (year, BTreeSet::new()));
                }
            }
            AuditEvent::MatchVerification {
                authorization_digest,
                match_id,
                verifier_id,
                verdict,
            } => {
                let key = (authorization_digest.to_hex(), *match_id);
                match verdict {
                    Verdict::Confirmed => {
                        let (match_year, who) = matches.entry(key).or_insert_with(|| (year, BTreeSet::new()));
                        let before = who.len();
                        who.insert(verifier_id.clone());
                        if before == 1 && who.len() == 2 {
                            *confirmed_by_year.entry(*match_year).or_default() += 1;
                            use_entry(&mut uses, authorization_digest).confirmed_matches += 1;
                        }
                    }
                    Verdict::Rejected => use_entry(&mut uses, authorization_digest).rejected_matches += 1,
                }
            }
            _ => {}
        }
    }
    for (year, n) in confirmed_by_year {
        years
            .entry(year)
            .or_insert_with(|| YearStats {
                year,
                ..Default::default()
            })
            .confirmed_matches += n;
    }
    ImyReport {
        uses: uses.into_values().collect(),
        years: years.into_values().collect(),
    }
}

/// A receipt kind's snake-case name (as the JSON statistics keep it) in words for the HTML;
/// the name itself when this program does not know it.
fn kind_words(name: &str) -> String {
    serde_json::from_value::<UseDataKind>(serde_json::Value::String(name.to_string()))
        .map_or_else(|_| name.to_string(), |k| k.label().to_string())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The readable page.
pub fn html(r: &ImyReport, source: &str) -> String {
    let mut h = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Utkik: notification to IMY</title>\
         <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}\
         td,th{border:1px solid #999;padding:4px 8px;text-align:left}th{background:#eee}</style></head><body>",
    );
    let _ = write!(
        h,
        "<h1>Real-time remote biometric identification: notification to IMY</h1>\
         <p>From audit log <code>{}</code> (verified). Contains no subject identities, user identities, \
         positions, plate text or case details.</p><h2>Uses</h2><table><tr><th>authorization</th><th>decision</th>\
         <th>urgent</th><th>designated persons</th><th>started</th><th>ended</th><th>end reason</th>\
         <th>possible matches</th><th>confirmed</th><th>rejected</th><th>application</th><th>refused</th>\
         <th>deleted</th></tr>",
        esc(source)
    );
    for u in &r.uses {
        let deleted = u
            .deleted
            .iter()
            .map(|(k, n)| format!("{}: {n}", kind_words(k)))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&u.authorization_ref),
            esc(&u.decision_id),
            if u.urgent { "yes" } else { "no" },
            u.designated_persons,
            u.started_date.as_deref().unwrap_or("-"),
            u.ended_date.as_deref().unwrap_or("-"),
            u.end_reason.map_or("-".to_string(), |r| format!("{r:?}")),
            u.possible_matches,
            u.confirmed_matches,
            u.rejected_matches,
            if u.application_recorded { "recorded" } else { "-" },
            if u.refused { "yes" } else { "no" },
            esc(&deleted)
        );
    }
    h.push_str(
        "</table><h2>Yearly statistics</h2><table><tr><th>year</th><th>requests</th><th>granted</th>\
         <th>refused</th><th>urgent</th><th>uses</th><th>matches</th><th>confirmed matches</th>\
         <th>errors: documents not verified</th></tr>",
    );
    for y in &r.years {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            y.year,
            y.requests,
            y.decisions_granted,
            y.decisions_refused,
            y.decisions_urgent,
            y.uses,
            y.matches,
            y.confirmed_matches,
            y.documents_not_verified
        );
    }
    h.push_str("</table></body></html>\n");
    h
}

/// Verifies `audit`, builds the report and writes `imy-notifications.json`, `imy-statistics.json`
/// and `imy-report.html` into `out_dir`; returns the files.
///
/// # Errors
/// The log does not verify, or writing fails.
pub fn write_reports(audit: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, ImyError> {
    verify_file(audit, &VerifyOptions::default()).map_err(|e| ImyError::Log {
        path: audit.to_path_buf(),
        message: format!("does not verify, no report: {e}"),
    })?;
    let r = build(&read_bodies(audit)?);
    // A DEMO run's log (signed with the DEMO key): every file says DEMO, in its name and the
    // HTML in its first line, so a DEMO report is never taken for a real notification.
    let demo = utkik_shared::demo::audit_log_file_is_demo(audit);
    let write = |name: &str, text: String| -> Result<PathBuf, ImyError> {
        let p = out_dir.join(if demo { format!("DEMO-{name}") } else { name.to_string() });
        std::fs::create_dir_all(out_dir)
            .and_then(|()| std::fs::write(&p, text))
            .map_err(|source| ImyError::Write {
                path: p.clone(),
                source,
            })?;
        Ok(p)
    };
    let json = |v: &dyn erased::Json| v.json();
    Ok(vec![
        write("imy-notifications.json", json(&r.uses))?,
        write("imy-statistics.json", json(&r.years))?,
        write("imy-report.html", {
            let page = html(&r, &audit.display().to_string());
            if demo {
                page.replacen(
                    "<body>",
                    &format!(
                        "<body><p style=\"background:#fff3cd;padding:8px\"><b>{}</b></p>",
                        utkik_shared::demo::DEMO_BANNER
                    ),
                    1,
                )
            } else {
                page
            }
        })?,
    ])
}

mod erased {
    /// Pretty JSON of a serializable value (a trait object so one closure serves both files).
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string_pretty(self).expect("report values serialize") + "\n"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::authz::AuthzDigest;

    /// 2027-03-01 (UTC), µs.
    const T: u64 = 1_803_945_600_000_000;

    fn body(seq: u64, event: AuditEvent) -> RecordBody {
        RecordBody {
            seq,
            time_usec: T + seq * 1_000_000,
            prev_sha256: String::new(),
            event,
        }
    }

    #[test]
    fn a_document_that_fails_verification_is_an_error_not_a_refusal() {
        let granted = AuthzDigest([1; 32]);
        let urgent = AuthzDigest([2; 32]);
        let bodies = vec![
            // A corrupt / badly signed file: the software refused it, nobody decided anything.
            body(
                0,
                AuditEvent::AuthorizationRefused {
                    field: "signature".into(),
                    reason: "signature does not verify".into(),
                },
            ),
            body(
                1,
                AuditEvent::AuthorizationRefused {
                    field: "document".into(),
                    reason: "not JSON".into(),
                },
            ),
            body(
                2,
                AuditEvent::AuthorizationLoaded {
                    authorization_digest: granted,
                    decision_id: "D-1".into(),
                    issuer_key_id: "k".into(),
                },
            ),
            body(
                3,
                AuditEvent::UseStarted {
                    authorization_digest: granted,
                    decision_id: "D-1".into(),
                    designated_subject_ids: vec!["s".into()],
                    urgent: false,
                    started_by: "anna".into(),
                },
            ),
            body(
                4,
                AuditEvent::AuthorizationLoaded {
                    authorization_digest: urgent,
                    decision_id: "U-1".into(),
                    issuer_key_id: "k".into(),
                },
            ),
            body(
                5,
                AuditEvent::UrgentStarted {
                    authorization_digest: urgent,
                    senior_officer_id: "cecilia".into(),
                    justification: "j".into(),
                    deadline_usec: T + 86_400_000_000,
                },
            ),
            // The court's refusal of the urgent use: the one refused decision.
            body(
                6,
                AuditEvent::UrgentRefused {
                    authorization_digest: urgent,
                    recorded_by: "cecilia".into(),
                },
            ),
        ];
        let r = build(&bodies);
        assert_eq!(r.years.len(), 1);
        let y = &r.years[0];
        assert_eq!(y.year, 2027);
        assert_eq!(y.documents_not_verified, 2, "errors counted apart");
        assert_eq!(y.decisions_refused, 1, "only the refusal of the urgent use");
        assert_eq!(y.requests, 2, "only documents that verified");
        assert_eq!(y.decisions_granted, 1);
        assert_eq!(y.decisions_urgent, 1);
        let page = html(&r, "log");
        assert!(page.contains("errors: documents not verified"), "{page}");
    }

    #[test]
    fn what_a_refusal_deleted_is_shown_in_words() {
        use utkik_shared::audit::DeletedCount;
        let count = |kind, count| DeletedCount { kind, count };
        let receipt = AuditEvent::DeletionReceipt {
            authorization_digest: AuthzDigest([2; 32]),
            decision_id: "U-1".into(),
            site: "ground".into(),
            deleted: vec![
                count(UseDataKind::Matches, 1),
                count(UseDataKind::ViewingFiles, 2),
                count(UseDataKind::Exports, 1),
                count(UseDataKind::Reports, 1),
            ],
            payloads: Vec::new(),
            not_found: Vec::new(),
            problems: Vec::new(),
        };
        let r = build(&[body(0, receipt)]);
        assert_eq!(
            r.uses[0].deleted["viewing_files"], 2,
            "the statistics keep the log's names"
        );
        let page = html(&r, "log");
        for words in [
            "possible matches: 1",
            "console viewing files: 2",
            "export files: 1",
            "mission reports (deleted whole): 1",
        ] {
            assert!(page.contains(words), "{words}: {page}");
        }
        assert!(!page.contains("viewing_files"), "no snake-case names in the page");
    }
}
