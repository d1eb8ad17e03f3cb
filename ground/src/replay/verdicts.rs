//! Operator verdicts read back from the ground audit log, for mission replay and the report.
//!
//! The tlog holds what the vehicles sent; who confirmed or dismissed an alert is only in the
//! ground audit log (`ground-audit.jsonl`, written by [`crate::ops`]). This module reads that log
//! with shared's record decoder and chain check, keeps every record before the first bad one
//! (a damaged or truncated log still shows what it can, and the damage is reported, never
//! hidden), and turns the verdicts in it into a time-ordered list:
//! - `MatchVerification` (possible matches: `match_id` is the vehicle's alert id, found by id
//!   and authorization digest prefix, since the record does not name the vehicle);
//! - plate-hit checks and dismissals, which ops.rs writes as a `Consultation` with the text
//!   `plate hit alert S/A checked|dismissed after checking the plate image` (or `on its text:
//!   ...` when no image came), built by [`plate_check_text`] for both sides. Parsing prose is
//!   brittle: a consultation that starts like a plate check
//!   but does not parse is counted in [`AuditTrail::unparsed_plate_checks`] and reported.
//!
//! [`apply_verdicts`] applies a prefix of the list to a set of alerts with
//! [`Alerts::apply_recorded_verdict`]; the world at time t is the tlog up to t, then every
//! verdict with time <= t applied this way (see [`super::Replay::seek`]).

use std::path::{Path, PathBuf};

use utkik_shared::audit::record::decode_record;
use utkik_shared::audit::{AuditError, AuditEvent, Verdict, VerifyOptions, verify_bytes};

use crate::state::{AlertKind, Alerts};

/// Start of the consultation text ops.rs writes for a plate-hit verdict.
const PLATE_CHECK_PREFIX: &str = "plate hit alert ";
/// End of that text when the operator looked at the plate image.
const PLATE_CHECK_SUFFIX: &str = " after checking the plate image";
/// End of that text when the drone sent no plate image (checked on the text alone).
const PLATE_CHECK_ON_TEXT_SUFFIX: &str = " on its text: the drone sent no plate image";

/// The consultation text of a plate-hit verdict, written by ops.rs and parsed back here (one
/// place for both, so they cannot drift apart).
pub fn plate_check_text(system_id: u8, alert_id: u32, checked: bool, with_image: bool) -> String {
    format!(
        "{PLATE_CHECK_PREFIX}{system_id}/{alert_id} {}{}",
        if checked { "checked" } else { "dismissed" },
        if with_image {
            PLATE_CHECK_SUFFIX
        } else {
            PLATE_CHECK_ON_TEXT_SUFFIX
        }
    )
}

/// Which alert a verdict is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerdictTarget {
    /// A possible match: the alert id, and the first 16 bytes of the authorization digest the
    /// audit record names (the vehicle is not recorded).
    Match {
        /// `match_id` (the vehicle's alert id).
        match_id: u32,
        /// Digest prefix, as in UTKIK_BIOMETRIC_MATCH.
        digest_prefix: [u8; 16],
    },
    /// A plate hit of a named vehicle.
    PlateHit {
        /// Vehicle.
        system_id: u8,
        /// Alert id.
        alert_id: u32,
    },
}

/// One operator verdict from the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedVerdict {
    /// When the ground recorded it, µs since the Unix epoch (the same wall clock the link's
    /// tlog timestamps use).
    pub time_usec: u64,
    /// Sequence number of its audit record (for citing it).
    pub seq: u64,
    /// The user.
    pub user_id: String,
    /// The alert.
    pub target: VerdictTarget,
    /// Confirmed (plate: checked) rather than dismissed (match: rejected).
    pub confirm: bool,
}

impl RecordedVerdict {
    /// Short text for timelines and tables.
    pub fn label(&self) -> String {
        verdict_label(&self.target, &self.user_id, self.confirm)
    }
}

/// "possible match 7 confirmed by anna", "plate hit 1/3 dismissed by bertil".
pub fn verdict_label(target: &VerdictTarget, user_id: &str, confirm: bool) -> String {
    match target {
        VerdictTarget::Match { match_id, .. } => format!(
            "possible match {match_id} {} by {user_id}",
            if confirm { "confirmed" } else { "rejected" }
        ),
        VerdictTarget::PlateHit { system_id, alert_id } => format!(
            "plate hit {system_id}/{alert_id} {} by {user_id}",
            if confirm { "checked" } else { "dismissed" }
        ),
    }
}

/// Where the audit log stops being usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDamage {
    /// 0-based index of the first bad record.
    pub index: u64,
    /// Byte offset of its line.
    pub offset_bytes: u64,
    /// Why (from shared's verifier: torn line, edited record, broken chain ...).
    pub reason: String,
}

/// What the replay takes from an audit log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditTrail {
    /// Good records read (all of them, verdict or not).
    pub records: u64,
    /// The verdicts, in time order (file order for equal times).
    pub verdicts: Vec<RecordedVerdict>,
    /// The first bad record; nothing from it on is used.
    pub damage: Option<AuditDamage>,
    /// Consultations that look like plate checks but whose text does not parse.
    pub unparsed_plate_checks: u64,
}

/// Reading an audit log failed outright (a damaged log is not an error: see [`AuditTrail::damage`]).
#[derive(Debug, thiserror::Error)]
#[error("cannot read audit log {}: {reason}", path.display())]
pub struct AuditReadError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub reason: std::io::Error,
}

impl AuditTrail {
    /// Reads an audit log file.
    ///
    /// # Errors
    /// [`AuditReadError`] when the file cannot be read.
    pub fn read(path: &Path) -> Result<Self, AuditReadError> {
        let bytes = std::fs::read(path).map_err(|reason| AuditReadError {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(Self::from_bytes(&bytes))
    }

    /// Parses a log held in memory: shared's verifier finds the first bad record (edit, torn
    /// tail, broken chain, reordering); every record before it is decoded and used.
    /// Checkpoint signatures are not checked here (no keys): `utkik-ground audit verify` does.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let (good, damage) = match verify_bytes(bytes, &VerifyOptions::default()) {
            Ok(_) => (bytes, None),
            Err(AuditError::Verify(e)) => (
                &bytes[..(e.offset_bytes as usize).min(bytes.len())],
                Some(AuditDamage {
                    index: e.index,
                    offset_bytes: e.offset_bytes,
                    reason: e.reason.to_string(),
                }),
            ),
            // Reading from memory cannot fail; treat anything else as damage at the start.
            Err(e) => (
                &bytes[..0],
                Some(AuditDamage {
                    index: 0,
                    offset_bytes: 0,
                    reason: e.to_string(),
                }),
            ),
        };
        let mut trail = AuditTrail {
            damage,
            ..Default::default()
        };
        for line in good.split_inclusive(|&b| b == b'\n') {
            // Verified above; a decode failure here would be a verifier bug, so stop rather
            // than guess.
            let Ok(rec) = decode_record(line) else { break };
            trail.records += 1;
            let body = rec.body;
            let (user_id, target, confirm) = match body.event {
                AuditEvent::MatchVerification {
                    authorization_digest,
                    match_id,
                    verifier_id,
                    verdict,
                } => {
                    let mut digest_prefix = [0u8; 16];
                    digest_prefix.copy_from_slice(&authorization_digest.0[..16]);
                    (
                        verifier_id,
                        VerdictTarget::Match {
                            match_id,
                            digest_prefix,
                        },
                        verdict == Verdict::Confirmed,
                    )
                }
                AuditEvent::Consultation { user_id, what } if what.starts_with(PLATE_CHECK_PREFIX) => {
                    match parse_plate_check(&what) {
                        Some((system_id, alert_id, confirm)) => {
                            (user_id, VerdictTarget::PlateHit { system_id, alert_id }, confirm)
                        }
                        None => {
                            trail.unparsed_plate_checks += 1;
                            continue;
                        }
                    }
                }
                _ => continue,
            };
            trail.verdicts.push(RecordedVerdict {
                time_usec: body.time_usec,
                seq: body.seq,
                user_id,
                target,
                confirm,
            });
        }
        // Stable: equal times keep file order.
        trail.verdicts.sort_by_key(|v| v.time_usec);
        trail
    }

    /// A one-line description of the damage, when there is some.
    pub fn damage_text(&self) -> Option<String> {
        self.damage.as_ref().map(|d| {
            format!(
                "damaged at record {} (byte {}): {}; the {} records before it are used, nothing after it",
                d.index, d.offset_bytes, d.reason, self.records
            )
        })
    }
}

/// [`plate_check_text`] -> (S, A, checked).
fn parse_plate_check(what: &str) -> Option<(u8, u32, bool)> {
    let rest = what.strip_prefix(PLATE_CHECK_PREFIX)?;
    let rest = rest
        .strip_suffix(PLATE_CHECK_SUFFIX)
        .or_else(|| rest.strip_suffix(PLATE_CHECK_ON_TEXT_SUFFIX))?;
    let (ids, verb) = rest.split_once(' ')?;
    let (s, a) = ids.split_once('/')?;
    let confirm = match verb {
        "checked" => true,
        "dismissed" => false,
        _ => return None,
    };
    Some((s.parse().ok()?, a.parse().ok()?, confirm))
}

/// What became of one verdict when applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerdictOutcome {
    /// Applied to this alert.
    Applied {
        /// Vehicle.
        system_id: u8,
        /// Alert.
        alert_id: u32,
    },
    /// No alert with that id (and digest) is in the recording at that time.
    UnknownAlert,
    /// More than one vehicle has a possible match with that id and digest: not applied.
    Ambiguous {
        /// How many candidates.
        candidates: usize,
    },
    /// The alert rules refuse it (same user twice, already closed): not applied.
    Refused {
        /// The rule, in words.
        reason: String,
    },
}

impl VerdictOutcome {
    /// Words for tables.
    pub fn text(&self) -> String {
        match self {
            VerdictOutcome::Applied { .. } => "applied".into(),
            VerdictOutcome::UnknownAlert => "NOT APPLIED: no such alert in the recording".into(),
            VerdictOutcome::Ambiguous { candidates } => {
                format!("NOT APPLIED: {candidates} vehicles have a possible match with this id and authorization")
            }
            VerdictOutcome::Refused { reason } => format!("NOT APPLIED: {reason}"),
        }
    }
}

/// Counts of [`VerdictOutcome`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerdictTally {
    /// Applied.
    pub applied: usize,
    /// For an alert not in the recording.
    pub unknown_alert: usize,
    /// Matching more than one alert.
    pub ambiguous: usize,
    /// Refused by the alert rules.
    pub refused: usize,
}

impl VerdictTally {
    /// Counts outcomes.
    pub fn of(outcomes: &[VerdictOutcome]) -> Self {
        let mut t = Self::default();
        for o in outcomes {
            match o {
                VerdictOutcome::Applied { .. } => t.applied += 1,
                VerdictOutcome::UnknownAlert => t.unknown_alert += 1,
                VerdictOutcome::Ambiguous { .. } => t.ambiguous += 1,
                VerdictOutcome::Refused { .. } => t.refused += 1,
            }
        }
        t
    }

    /// Verdicts that were not applied.
    pub fn not_applied(&self) -> usize {
        self.unknown_alert + self.ambiguous + self.refused
    }

    /// A warning line when some verdicts were not applied.
    pub fn warning(&self) -> Option<String> {
        (self.not_applied() > 0).then(|| {
            format!(
                "{} operator verdict(s) from the audit log not applied: {} for alerts not in the recording, {} ambiguous, {} refused by the two-user/closed-alert rules",
                self.not_applied(),
                self.unknown_alert,
                self.ambiguous,
                self.refused
            )
        })
    }
}

/// The (vehicle, alert) a verdict is about in `alerts`, or why not.
fn resolve(alerts: &Alerts, target: &VerdictTarget) -> Result<(u8, u32), VerdictOutcome> {
    match target {
        VerdictTarget::PlateHit { system_id, alert_id } => match alerts.get(*system_id, *alert_id) {
            Some(a) if matches!(a.kind, AlertKind::PlateHit { .. }) => Ok((*system_id, *alert_id)),
            _ => Err(VerdictOutcome::UnknownAlert),
        },
        VerdictTarget::Match {
            match_id,
            digest_prefix,
        } => {
            let found: Vec<(u8, u32)> = alerts
                .iter()
                .filter(|a| {
                    a.alert_id == *match_id
                        && matches!(&a.kind, AlertKind::PossibleMatch { authorization_digest, .. }
                            if authorization_digest == digest_prefix)
                })
                .map(|a| (a.system_id, a.alert_id))
                .collect();
            match found[..] {
                [one] => Ok(one),
                [] => Err(VerdictOutcome::UnknownAlert),
                _ => Err(VerdictOutcome::Ambiguous {
                    candidates: found.len(),
                }),
            }
        }
    }
}

/// Applies `verdicts` in order to `alerts` (no role checks, the two-user rule kept); returns
/// what became of each. Never panics on an unknown alert: it is an outcome.
pub fn apply_verdicts(alerts: &mut Alerts, verdicts: &[RecordedVerdict]) -> Vec<VerdictOutcome> {
    verdicts
        .iter()
        .map(|v| match resolve(alerts, &v.target) {
            Ok((system_id, alert_id)) => {
                match alerts.apply_recorded_verdict(system_id, alert_id, &v.user_id, v.confirm) {
                    Ok(_) => VerdictOutcome::Applied { system_id, alert_id },
                    Err(e) => VerdictOutcome::Refused { reason: e.to_string() },
                }
            }
            Err(o) => o,
        })
        .collect()
}
