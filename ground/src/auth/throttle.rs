//! Sign-in rate limiting and lockout. A users file with argon2id hashes makes offline guessing
//! slow; this makes *online* guessing at the station slow too, per user name and per source
//! (the window's sign-in box, the operator console, later a remote station), so an attacker can
//! neither hammer one account nor spray passwords over many names.
//!
//! Rules (defaults in [`ThrottlePolicy::default`]), all on an injected clock (`now_usec`):
//! - **Per user:** after `user_max_failures` consecutive failed sign-ins for one user name
//!   (known or not, so a lockout does not reveal which names exist), that name is locked for
//!   `lockout_s`; during it even the right password is refused without being checked. A
//!   successful sign-in clears the count.
//! - **Per source:** after `source_max_failures` failures from one source within
//!   `source_window_s` (whatever the names), the source is locked for `lockout_s`.
//! - **Rate limit:** after `free_failures` consecutive failures from a source, its next attempt
//!   must wait `backoff_base_ms` doubled for each further failure, at most `backoff_max_ms`.
//!
//! The caller ([`crate::ops::GroundOps::login_from`]) logs every refusal and every lockout in
//! the audit log. State is in memory: restarting the station (which needs the machine) clears
//! it. The number of names and sources tracked is bounded ([`MAX_TRACKED`]), the oldest
//! forgotten first, so typing random names cannot grow memory.

use std::collections::HashMap;

/// Most user names (and, separately, sources) remembered.
pub const MAX_TRACKED: usize = 1024;

/// The limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Consecutive failures for one user name before it is locked.
    pub user_max_failures: u32,
    /// Failures from one source within `source_window_s` before it is locked.
    pub source_max_failures: u32,
    /// The source window, s.
    pub source_window_s: u64,
    /// How long a lockout lasts, s.
    pub lockout_s: u64,
    /// Consecutive failures from a source before attempts are spaced out.
    pub free_failures: u32,
    /// First wait after `free_failures`, ms.
    pub backoff_base_ms: u64,
    /// Longest wait, ms.
    pub backoff_max_ms: u64,
}

impl Default for ThrottlePolicy {
    /// 5 failures lock a name and 10 in 15 min lock a source, both for 15 min; after 3
    /// failures in a row a source waits 1 s, 2 s, 4 s ... up to 30 s between attempts. A
    /// person who mistypes twice notices nothing; a guessing program gets ~5 tries per name per
    /// 15 min.
    fn default() -> Self {
        Self {
            user_max_failures: 5,
            source_max_failures: 10,
            source_window_s: 15 * 60,
            lockout_s: 15 * 60,
            free_failures: 3,
            backoff_base_ms: 1000,
            backoff_max_ms: 30_000,
        }
    }
}

/// Why an attempt is refused before the password is checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThrottleRefusal {
    /// The user name is locked.
    #[error("sign-in refused for `{user_id}`: locked for {remaining_s} s more after repeated failed sign-ins")]
    UserLocked {
        /// The name.
        user_id: String,
        /// Seconds left (rounded up).
        remaining_s: u64,
    },
    /// The source is locked.
    #[error("sign-in from the {source_name} refused: locked for {remaining_s} s more after repeated failed sign-ins")]
    SourceLocked {
        /// The source.
        source_name: String,
        /// Seconds left (rounded up).
        remaining_s: u64,
    },
    /// Too soon after the last failure.
    #[error("sign-in from the {source_name} refused: too many failed sign-ins, wait {wait_ms} ms before the next try")]
    TooSoon {
        /// The source.
        source_name: String,
        /// Milliseconds to wait.
        wait_ms: u64,
    },
}

/// A lockout that a failure just started (for the audit log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lockout {
    /// A user name is locked until `until_usec`.
    User {
        /// The name.
        user_id: String,
        /// End, µs.
        until_usec: u64,
    },
    /// A source is locked until `until_usec`.
    Source {
        /// The source.
        source_name: String,
        /// End, µs.
        until_usec: u64,
    },
}

#[derive(Debug, Clone, Default)]
struct UserState {
    consecutive: u32,
    locked_until_usec: u64,
    last_usec: u64,
}

#[derive(Debug, Clone, Default)]
struct SourceState {
    /// Failure times inside the window.
    failures_usec: Vec<u64>,
    consecutive: u32,
    last_failure_usec: u64,
    locked_until_usec: u64,
}

/// Failed sign-ins per user name and per source.
#[derive(Debug, Clone, Default)]
pub struct SignInThrottle {
    policy: ThrottlePolicy,
    users: HashMap<String, UserState>,
    sources: HashMap<String, SourceState>,
}

fn remaining_s(until_usec: u64, now_usec: u64) -> u64 {
    until_usec.saturating_sub(now_usec).div_ceil(1_000_000)
}

impl SignInThrottle {
    /// With `policy`.
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    /// The policy.
    pub fn policy(&self) -> ThrottlePolicy {
        self.policy
    }

    /// Whether an attempt may be made now (checked before the password).
    ///
    /// # Errors
    /// [`ThrottleRefusal`] saying what is locked and for how long.
    pub fn check(&self, source: &str, user_id: &str, now_usec: u64) -> Result<(), ThrottleRefusal> {
        if let Some(s) = self.sources.get(source) {
            if s.locked_until_usec > now_usec {
                return Err(ThrottleRefusal::SourceLocked {
                    source_name: source.into(),
                    remaining_s: remaining_s(s.locked_until_usec, now_usec),
                });
            }
            if let Some(wait_ms) = self.backoff_ms(s.consecutive) {
                let next_usec = s.last_failure_usec.saturating_add(wait_ms * 1000);
                if next_usec > now_usec {
                    return Err(ThrottleRefusal::TooSoon {
                        source_name: source.into(),
                        wait_ms: (next_usec - now_usec).div_ceil(1000),
                    });
                }
            }
        }
        if let Some(u) = self.users.get(user_id)
            && u.locked_until_usec > now_usec
        {
            return Err(ThrottleRefusal::UserLocked {
                user_id: user_id.into(),
                remaining_s: remaining_s(u.locked_until_usec, now_usec),
            });
        }
        Ok(())
    }

    /// The wait after `consecutive` failures in a row from a source: none for the first
    /// `free_failures`, then `backoff_base_ms` doubling per failure, capped.
    fn backoff_ms(&self, consecutive: u32) -> Option<u64> {
        if consecutive == 0 || consecutive < self.policy.free_failures {
            return None;
        }
        let over = consecutive - self.policy.free_failures;
        let factor = 1u64.checked_shl(over.min(40)).unwrap_or(u64::MAX);
        Some(
            self.policy
                .backoff_base_ms
                .saturating_mul(factor)
                .min(self.policy.backoff_max_ms),
        )
    }

    /// Records a failed attempt; the lockouts it started.
    pub fn record_failure(&mut self, source: &str, user_id: &str, now_usec: u64) -> Vec<Lockout> {
        let p = self.policy;
        let lock_until = now_usec.saturating_add(p.lockout_s * 1_000_000);
        let mut started = Vec::new();
        bound(&mut self.users, user_id, |u| u.last_usec);
        let u = self.users.entry(user_id.to_string()).or_default();
        u.consecutive += 1;
        u.last_usec = now_usec;
        if u.consecutive >= p.user_max_failures && u.locked_until_usec <= now_usec {
            u.locked_until_usec = lock_until;
            u.consecutive = 0;
            started.push(Lockout::User {
                user_id: user_id.into(),
                until_usec: lock_until,
            });
        }
        bound(&mut self.sources, source, |s| s.last_failure_usec);
        let s = self.sources.entry(source.to_string()).or_default();
        let window_start = now_usec.saturating_sub(p.source_window_s * 1_000_000);
        s.failures_usec.retain(|t| *t > window_start);
        s.failures_usec.push(now_usec);
        s.consecutive += 1;
        s.last_failure_usec = now_usec;
        if s.failures_usec.len() as u32 >= p.source_max_failures && s.locked_until_usec <= now_usec {
            s.locked_until_usec = lock_until;
            s.failures_usec.clear();
            started.push(Lockout::Source {
                source_name: source.into(),
                until_usec: lock_until,
            });
        }
        started
    }

    /// Records a successful sign-in: the user's and the source's consecutive counts restart
    /// (the source's failures inside the window still count towards its lockout).
    pub fn record_success(&mut self, source: &str, user_id: &str) {
        self.users.remove(user_id);
        if let Some(s) = self.sources.get_mut(source) {
            s.consecutive = 0;
        }
    }
}

/// Keeps `map` under [`MAX_TRACKED`] entries before `key` is added, dropping the oldest.
fn bound<V>(map: &mut HashMap<String, V>, key: &str, last_usec: impl Fn(&V) -> u64) {
    if map.len() >= MAX_TRACKED
        && !map.contains_key(key)
        && let Some(oldest) = map.iter().min_by_key(|(_, v)| last_usec(v)).map(|(k, _)| k.clone())
    {
        map.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_790_000_000_000_000;
    const S: u64 = 1_000_000;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy::default()
    }

    /// Fails `n` times for `user` from `src`, each attempt allowed, spaced by `gap_s`; returns
    /// the time after the last one.
    fn fail(t: &mut SignInThrottle, src: &str, user: &str, n: u32, mut now: u64, gap_s: u64) -> (u64, Vec<Lockout>) {
        let mut all = Vec::new();
        for _ in 0..n {
            t.check(src, user, now).unwrap();
            all.extend(t.record_failure(src, user, now));
            now += gap_s * S;
        }
        (now, all)
    }

    #[test]
    fn a_user_is_locked_after_five_failures_even_for_the_right_password() {
        let mut t = SignInThrottle::new(policy());
        let (now, locks) = fail(&mut t, "console", "anna", 5, T0, 60);
        assert_eq!(
            locks,
            vec![Lockout::User {
                user_id: "anna".into(),
                until_usec: T0 + 4 * 60 * S + 15 * 60 * S
            }]
        );
        // Locked: refused before any password is checked, from any source.
        let e = t.check("window", "anna", now).unwrap_err();
        assert!(matches!(e, ThrottleRefusal::UserLocked { .. }), "{e}");
        assert!(e.to_string().contains("anna"));
        // Other users are not affected.
        t.check("window", "bertil", now).unwrap();
        // After the lockout the name may try again.
        t.check("window", "anna", T0 + 4 * 60 * S + 15 * 60 * S).unwrap();
    }

    #[test]
    fn four_failures_then_success_do_not_lock() {
        let mut t = SignInThrottle::new(policy());
        let (now, locks) = fail(&mut t, "console", "anna", 4, T0, 60);
        assert!(locks.is_empty());
        t.record_success("console", "anna");
        let (_, locks) = fail(&mut t, "console", "anna", 4, now, 60);
        assert!(locks.is_empty(), "the count restarted at the success");
    }

    #[test]
    fn spraying_many_names_locks_the_source() {
        let mut t = SignInThrottle::new(policy());
        let mut now = T0;
        let mut locks = Vec::new();
        for i in 0..10 {
            let user = format!("user{i}");
            // Respect the back-off so only the window rule is tested.
            while t.check("console", &user, now).is_err() {
                now += S;
            }
            locks.extend(t.record_failure("console", &user, now));
        }
        assert!(
            matches!(locks.as_slice(), [Lockout::Source { source_name, .. }] if source_name == "console"),
            "{locks:?}"
        );
        let e = t.check("console", "anybody", now + S).unwrap_err();
        assert!(matches!(e, ThrottleRefusal::SourceLocked { .. }), "{e}");
        // Another source is not locked.
        t.check("window", "anybody", now + S).unwrap();
    }

    #[test]
    fn failures_outside_the_window_do_not_lock_the_source() {
        let mut t = SignInThrottle::new(policy());
        let mut now = T0;
        for i in 0..30 {
            // One failure every 2 minutes: at most 8 in any 15-minute window.
            let user = format!("u{i}");
            t.check("console", &user, now).unwrap();
            assert!(t.record_failure("console", &user, now).is_empty());
            t.record_success("console", "someone");
            now += 120 * S;
        }
    }

    #[test]
    fn after_three_failures_attempts_are_spaced_out_doubling() {
        let mut t = SignInThrottle::new(policy());
        // Three quick mistakes are free.
        for user in ["a", "b", "c"] {
            t.check("console", user, T0).unwrap();
            t.record_failure("console", user, T0);
        }
        // Now 1 s, then 2 s, then 4 s.
        let mut now = T0;
        for wait_s in [1, 2, 4, 8, 16, 30, 30] {
            let e = t.check("console", "d", now).unwrap_err();
            assert_eq!(
                e,
                ThrottleRefusal::TooSoon {
                    source_name: "console".into(),
                    wait_ms: wait_s * 1000
                }
            );
            now += wait_s * S;
            t.check("console", "d", now).unwrap();
            t.record_failure("console", "d", now);
            // Keep the per-user and per-source lockouts out of this test.
            t.users.clear();
            t.sources.get_mut("console").unwrap().failures_usec.clear();
        }
        t.record_success("console", "d");
        t.check("console", "d", now).unwrap();
    }

    #[test]
    fn memory_is_bounded() {
        let mut t = SignInThrottle::new(ThrottlePolicy {
            free_failures: u32::MAX,
            source_max_failures: u32::MAX,
            ..policy()
        });
        for i in 0..(MAX_TRACKED as u64 + 50) {
            t.record_failure(&format!("s{i}"), &format!("u{i}"), T0 + i);
        }
        assert!(t.users.len() <= MAX_TRACKED && t.sources.len() <= MAX_TRACKED);
        assert!(!t.users.contains_key("u0"), "the oldest is forgotten first");
    }
}
