//! The validity window of an authorization: identification is lawful from
//! `from_usec` up to (not including) `until_usec`. Times are microseconds since
//! the Unix epoch (UTC), like MAVLink `time_usec`, so the onboard side compares
//! them with its own clock without conversions.

use serde::{Deserialize, Serialize};

use super::error::AuthzError;

/// A half-open time interval `[from_usec, until_usec)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidityWindow {
    /// Start (Unix epoch, UTC, microseconds), inclusive.
    pub from_usec: u64,
    /// End (Unix epoch, UTC, microseconds), exclusive: at this instant the window has ended.
    pub until_usec: u64,
}

impl ValidityWindow {
    /// Whether `now_usec` lies inside the window.
    pub fn contains(&self, now_usec: u64) -> bool {
        self.from_usec <= now_usec && now_usec < self.until_usec
    }

    /// Whether the window has ended at `now_usec`.
    pub fn has_ended(&self, now_usec: u64) -> bool {
        now_usec >= self.until_usec
    }

    /// Microseconds left until the end (0 once ended).
    pub fn remaining_usec(&self, now_usec: u64) -> u64 {
        self.until_usec.saturating_sub(now_usec)
    }

    /// Checks the window is not empty. `field` is its path in the file.
    ///
    /// # Errors
    /// [`AuthzError::Invalid`] naming `field.until_usec` when it does not come after `from_usec`.
    pub fn validate(&self, field: &str) -> Result<(), AuthzError> {
        if self.until_usec <= self.from_usec {
            return Err(AuthzError::invalid(
                format!("{field}.until_usec"),
                format!(
                    "the window must end after it starts (from {} us, until {} us)",
                    self.from_usec, self.until_usec
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: ValidityWindow = ValidityWindow {
        from_usec: 1_000,
        until_usec: 2_000,
    };

    #[test]
    fn half_open() {
        assert!(!W.contains(999));
        assert!(W.contains(1_000));
        assert!(W.contains(1_999));
        assert!(!W.contains(2_000), "the end instant is outside");
        assert!(W.has_ended(2_000));
        assert!(!W.has_ended(1_999));
    }

    #[test]
    fn remaining() {
        assert_eq!(W.remaining_usec(1_500), 500);
        assert_eq!(W.remaining_usec(5_000), 0);
    }

    #[test]
    fn empty_window_refused_naming_until() {
        let w = ValidityWindow {
            from_usec: 5,
            until_usec: 5,
        };
        assert_eq!(
            w.validate("document.window").unwrap_err().field(),
            "document.window.until_usec"
        );
        W.validate("document.window").unwrap();
    }
}
