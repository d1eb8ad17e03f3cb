//! How long audit records are kept. Identification logs are kept at least six
//! months (LAW.md section 5, AI Act Art. 26(6)); a configuration asking for
//! less is refused when it is loaded, not discovered when data is already gone.
//!
//! Six months is counted as [`MIN_IDENTIFICATION_RETENTION_DAYS`] = 184 days,
//! the longest six calendar months can be (July to December), so no calendar
//! reading of "six months" is ever shorter. Other records (ANPR searches,
//! consultations, disclosures) have no legal minimum here and must be kept at
//! least one day.

use serde::{Deserialize, Serialize};

use super::event::AuditEvent;

/// Shortest retention of identification logs, days (six months, longest reading).
pub const MIN_IDENTIFICATION_RETENTION_DAYS: u32 = 184;
/// Shortest retention of other audit records, days.
pub const MIN_OTHER_RETENTION_DAYS: u32 = 1;

const DAY_USEC: u64 = 86_400_000_000;

/// A retention setting that is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {days} days is less than the minimum of {min_days} days ({why})")]
pub struct RetentionError {
    /// The config field.
    pub field: &'static str,
    /// The value given.
    pub days: u32,
    /// The minimum.
    pub min_days: u32,
    /// Where the minimum comes from.
    pub why: &'static str,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    identification_days: u32,
    other_days: u32,
}

/// Validated retention periods. Deserializing validates too (so a config
/// file with too short a period fails to load).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRetention", into = "RawRetention")]
pub struct RetentionPolicy {
    identification_days: u32,
    other_days: u32,
}

impl TryFrom<RawRetention> for RetentionPolicy {
    type Error = RetentionError;
    fn try_from(r: RawRetention) -> Result<Self, RetentionError> {
        RetentionPolicy::new(r.identification_days, r.other_days)
    }
}

impl From<RetentionPolicy> for RawRetention {
    fn from(p: RetentionPolicy) -> Self {
        RawRetention {
            identification_days: p.identification_days,
            other_days: p.other_days,
        }
    }
}

impl Default for RetentionPolicy {
    /// The legal minimum for identification logs, the same for the rest.
    fn default() -> Self {
        Self {
            identification_days: MIN_IDENTIFICATION_RETENTION_DAYS,
            other_days: MIN_IDENTIFICATION_RETENTION_DAYS,
        }
    }
}

impl RetentionPolicy {
    /// A policy keeping identification records `identification_days` and the
    /// rest `other_days`.
    ///
    /// # Errors
    /// [`RetentionError`] naming `identification_days` when under
    /// [`MIN_IDENTIFICATION_RETENTION_DAYS`], or `other_days` when under
    /// [`MIN_OTHER_RETENTION_DAYS`].
    pub fn new(identification_days: u32, other_days: u32) -> Result<Self, RetentionError> {
        if identification_days < MIN_IDENTIFICATION_RETENTION_DAYS {
            return Err(RetentionError {
                field: "identification_days",
                days: identification_days,
                min_days: MIN_IDENTIFICATION_RETENTION_DAYS,
                why: "identification logs are kept at least six months",
            });
        }
        if other_days < MIN_OTHER_RETENTION_DAYS {
            return Err(RetentionError {
                field: "other_days",
                days: other_days,
                min_days: MIN_OTHER_RETENTION_DAYS,
                why: "a log kept for no time is no log",
            });
        }
        Ok(Self {
            identification_days,
            other_days,
        })
    }

    /// Days identification records are kept.
    pub fn identification_days(&self) -> u32 {
        self.identification_days
    }

    /// Days other records are kept.
    pub fn other_days(&self) -> u32 {
        self.other_days
    }

    /// Days a record with this event is kept.
    pub fn days_for(&self, event: &AuditEvent) -> u32 {
        if event.is_identification() {
            self.identification_days
        } else {
            self.other_days
        }
    }

    /// The first instant (Unix epoch, UTC, µs) a record written at
    /// `time_usec` may be deleted.
    pub fn deletable_from_usec(&self, time_usec: u64, event: &AuditEvent) -> u64 {
        time_usec.saturating_add(u64::from(self.days_for(event)) * DAY_USEC)
    }

    /// Whether the record may be deleted at `now_usec`.
    pub fn may_delete(&self, time_usec: u64, event: &AuditEvent, now_usec: u64) -> bool {
        now_usec >= self.deletable_from_usec(time_usec, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::AuthzDigest;

    fn use_ended() -> AuditEvent {
        AuditEvent::UseEnded {
            authorization_digest: AuthzDigest([0; 32]),
            started_usec: 0,
            ended_usec: 1,
            reason: super::super::event::UseEndReason::WindowEnded,
        }
    }

    #[test]
    fn under_six_months_refused() {
        let e = RetentionPolicy::new(183, 30).unwrap_err();
        assert_eq!(e.field, "identification_days");
        assert!(e.to_string().contains("identification_days"), "{e}");
        RetentionPolicy::new(184, 30).unwrap();
        assert_eq!(RetentionPolicy::new(365, 0).unwrap_err().field, "other_days");
    }

    #[test]
    fn config_file_with_short_retention_fails_to_load() {
        let e = serde_json::from_str::<RetentionPolicy>(r#"{"identification_days":90,"other_days":30}"#).unwrap_err();
        assert!(e.to_string().contains("identification_days"), "{e}");
        let p: RetentionPolicy = serde_json::from_str(r#"{"identification_days":200,"other_days":30}"#).unwrap();
        assert_eq!(p.identification_days(), 200);
    }

    #[test]
    fn six_months_is_never_shorter_than_any_calendar_half_year() {
        // 1 July to 1 January is the longest six-month span: 184 days.
        let longest_days = 31 + 31 + 30 + 31 + 30 + 31;
        assert_eq!(MIN_IDENTIFICATION_RETENTION_DAYS, longest_days);
    }

    #[test]
    fn identification_records_kept_the_longer_period() {
        let p = RetentionPolicy::new(200, 10).unwrap();
        let t = 1_000;
        let ended = use_ended();
        assert!(!p.may_delete(t, &ended, t + 199 * DAY_USEC));
        assert!(p.may_delete(t, &ended, t + 200 * DAY_USEC));
        let search = AuditEvent::StoredReadSearch {
            user_id: "a".into(),
            query: "q".into(),
            results: 1,
            reason: "case K-1-26".into(),
        };
        assert!(p.may_delete(t, &search, t + 10 * DAY_USEC));
        assert!(!p.may_delete(t, &search, t + 10 * DAY_USEC - 1));
    }
}
