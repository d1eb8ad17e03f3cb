//! Who is signed in at this station. One user at a time: the second confirmation of a possible
//! match needs the first user to sign out and a different user to sign in (or another station).
//!
//! The session also holds the sign-in [`SignInThrottle`] (rate limit and lockout, see
//! `throttle.rs`) and signs a user out after `idle_sign_out_s` without activity, so a station
//! left unattended does not stay open under someone's name (their confirmations count as
//! theirs). Time is an input (`now_usec`) everywhere, so tests drive it.
//!
//! At sign-in the user's command-signing key is opened with their password and held here
//! ([`Session::signer`]); signing out (also idle) drops it, which wipes the secret.

use utkik_shared::authz::Actor;

use super::permissions::{Permission, actor_allows};
use super::signing_key::UserSigner;
use super::throttle::{Lockout, SignInThrottle, ThrottlePolicy, ThrottleRefusal};
use super::users::{UserDirectory, UsersError};

/// Default idle time before the signed-in user is signed out, s.
pub const DEFAULT_IDLE_SIGN_OUT_S: u64 = 15 * 60;
/// Shortest idle sign-out accepted, s (shorter would sign people out while reading evidence).
pub const MIN_IDLE_SIGN_OUT_S: u64 = 30;
/// Longest idle sign-out accepted, s (a shift).
pub const MAX_IDLE_SIGN_OUT_S: u64 = 12 * 3600;

/// Refusals of the session.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    /// Nobody is signed in.
    #[error("nobody is signed in: sign in first")]
    NotSignedIn,
    /// The signed-in user's roles do not allow the action.
    #[error("user `{user_id}` ({roles}) may not {action}")]
    NotPermitted {
        /// The user.
        user_id: String,
        /// Their roles, for the message.
        roles: String,
        /// What was attempted.
        action: &'static str,
    },
    /// Sign-in refused.
    #[error(transparent)]
    Login(#[from] UsersError),
    /// Sign-in refused by the rate limit or a lockout (the password was not checked).
    #[error(transparent)]
    Throttled(#[from] ThrottleRefusal),
}

/// The signed-in user, if any.
#[derive(Debug)]
pub struct Session {
    current: Option<Actor>,
    /// The signed-in user's opened signing key (`None`: nobody, or a user without a key).
    signer: Option<UserSigner>,
    last_activity_usec: u64,
    idle_sign_out_usec: u64,
    throttle: SignInThrottle,
    new_lockouts: Vec<Lockout>,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    /// Nobody signed in; default idle sign-out and throttle.
    pub fn new() -> Self {
        Self::with_policy(DEFAULT_IDLE_SIGN_OUT_S, ThrottlePolicy::default())
    }

    /// Nobody signed in, with this idle sign-out (s, clamped to
    /// [`MIN_IDLE_SIGN_OUT_S`]..=[`MAX_IDLE_SIGN_OUT_S`]) and throttle policy.
    pub fn with_policy(idle_sign_out_s: u64, policy: ThrottlePolicy) -> Self {
        Self {
            current: None,
            signer: None,
            last_activity_usec: 0,
            idle_sign_out_usec: idle_sign_out_s.clamp(MIN_IDLE_SIGN_OUT_S, MAX_IDLE_SIGN_OUT_S) * 1_000_000,
            throttle: SignInThrottle::new(policy),
            new_lockouts: Vec::new(),
        }
    }

    /// The idle sign-out, s.
    pub fn idle_sign_out_s(&self) -> u64 {
        self.idle_sign_out_usec / 1_000_000
    }

    /// Signs `user_id` in from `source` (`window`, `console`, ...) when the throttle allows an
    /// attempt and `password` is theirs; replaces whoever was signed in. A failure is counted
    /// (lockouts it starts: [`Session::take_new_lockouts`]).
    ///
    /// # Errors
    /// [`SessionError::Throttled`] (password not checked), [`SessionError::Login`] (unknown
    /// user and wrong password give the same message).
    pub fn login_from(
        &mut self,
        source: &str,
        users: &UserDirectory,
        user_id: &str,
        password: &str,
        now_usec: u64,
    ) -> Result<&Actor, SessionError> {
        self.throttle.check(source, user_id, now_usec)?;
        match users
            .authenticate(user_id, password)
            .and_then(|actor| users.unlock_signing_key(user_id, password).map(|k| (actor, k)))
        {
            Ok((actor, signer)) => {
                self.throttle.record_success(source, user_id);
                self.last_activity_usec = now_usec;
                self.signer = signer;
                Ok(self.current.insert(actor))
            }
            Err(e) => {
                let locks = self.throttle.record_failure(source, user_id, now_usec);
                self.new_lockouts.extend(locks);
                Err(e.into())
            }
        }
    }

    /// Lockouts started since the last call (for the audit log).
    pub fn take_new_lockouts(&mut self) -> Vec<Lockout> {
        std::mem::take(&mut self.new_lockouts)
    }

    /// Signs out (the signing key is dropped and wiped); returns who was signed in.
    pub fn logout(&mut self) -> Option<Actor> {
        self.signer = None;
        self.current.take()
    }

    /// The signed-in user's command-signing key (`None`: nobody signed in, or their users-file
    /// entry has no key).
    pub fn signer(&self) -> Option<&UserSigner> {
        self.signer.as_ref()
    }

    /// The signed-in user did something (a command, a click, a key): the idle time restarts.
    pub fn touch(&mut self, now_usec: u64) {
        if self.current.is_some() {
            self.last_activity_usec = self.last_activity_usec.max(now_usec);
        }
    }

    /// Signs the user out when idle for the configured time; who was signed out and for how
    /// long (µs) they had been idle.
    pub fn sign_out_if_idle(&mut self, now_usec: u64) -> Option<(Actor, u64)> {
        let idle_usec = now_usec.saturating_sub(self.last_activity_usec);
        if self.current.is_some() && idle_usec >= self.idle_sign_out_usec {
            self.signer = None;
            return self.current.take().map(|a| (a, idle_usec));
        }
        None
    }

    /// The signed-in user.
    pub fn actor(&self) -> Option<&Actor> {
        self.current.as_ref()
    }

    /// The signed-in user, when their roles allow `permission`.
    ///
    /// # Errors
    /// Nobody signed in, or not permitted.
    pub fn require(&self, permission: Permission) -> Result<&Actor, SessionError> {
        let actor = self.current.as_ref().ok_or(SessionError::NotSignedIn)?;
        if actor_allows(actor, permission) {
            Ok(actor)
        } else {
            Err(not_permitted(actor, permission))
        }
    }
}

/// The refusal for `actor` attempting `permission`.
pub fn not_permitted(actor: &Actor, permission: Permission) -> SessionError {
    SessionError::NotPermitted {
        user_id: actor.user_id.clone(),
        roles: actor
            .roles
            .iter()
            .map(|r| format!("{r:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        action: permission.name(),
    }
}

#[cfg(test)]
mod tests {
    use utkik_shared::authz::Role;

    use super::super::password::HashParams;
    use super::super::users::UserEntry;
    use super::*;

    const T0: u64 = 1_790_000_000_000_000;
    const S: u64 = 1_000_000;

    fn users() -> UserDirectory {
        UserDirectory::from_entries(vec![UserEntry::with_password(
            "anna",
            "Anna",
            vec![Role::Operator],
            "pw-anna-ok",
            HashParams::MINIMUM,
        )])
        .unwrap()
    }

    #[test]
    fn idle_user_is_signed_out_after_the_configured_time_and_activity_restarts_it() {
        let d = users();
        let mut s = Session::with_policy(600, ThrottlePolicy::default());
        s.login_from("console", &d, "anna", "pw-anna-ok", T0).unwrap();
        assert!(s.sign_out_if_idle(T0 + 599 * S).is_none());
        s.touch(T0 + 599 * S);
        // 10 min after the touch, not after the sign-in.
        assert!(s.sign_out_if_idle(T0 + 1198 * S).is_none());
        assert!(s.require(Permission::ConfirmMatch).is_ok());
        let (who, idle) = s.sign_out_if_idle(T0 + 1199 * S).unwrap();
        assert_eq!(who.user_id, "anna");
        assert_eq!(idle, 600 * S);
        assert_eq!(s.require(Permission::ConfirmMatch), Err(SessionError::NotSignedIn));
        // Nobody signed in: nothing to sign out; a touch does not sign anyone in.
        s.touch(T0 + 2000 * S);
        assert!(s.sign_out_if_idle(T0 + 9000 * S).is_none());
        assert!(s.actor().is_none());
    }

    /// The key is open only while its user is signed in: sign-out, idle sign-out and another
    /// user's sign-in all drop it.
    #[test]
    fn the_signing_key_is_held_only_while_its_user_is_signed_in() {
        let d = users();
        let mut s = Session::with_policy(600, ThrottlePolicy::default());
        assert!(s.signer().is_none());
        s.login_from("console", &d, "anna", "pw-anna-ok", T0).unwrap();
        assert_eq!(s.signer().unwrap().user_id(), "anna");
        s.logout();
        assert!(s.signer().is_none());
        s.login_from("console", &d, "anna", "pw-anna-ok", T0).unwrap();
        s.sign_out_if_idle(T0 + 601 * S).unwrap();
        assert!(s.signer().is_none());
        assert!(s.actor().is_none());
    }

    #[test]
    fn default_idle_sign_out_is_fifteen_minutes_and_bounded() {
        assert_eq!(Session::new().idle_sign_out_s(), 15 * 60);
        assert_eq!(
            Session::with_policy(1, ThrottlePolicy::default()).idle_sign_out_s(),
            MIN_IDLE_SIGN_OUT_S
        );
        assert_eq!(
            Session::with_policy(u64::MAX / 2_000_000, ThrottlePolicy::default()).idle_sign_out_s(),
            MAX_IDLE_SIGN_OUT_S
        );
    }

    #[test]
    fn a_locked_user_is_refused_with_the_right_password_and_the_lockout_is_reported_once() {
        let d = users();
        let mut s = Session::new();
        let mut now = T0;
        for _ in 0..5 {
            // Space the attempts out past the back-off.
            now += 60 * S;
            let e = s.login_from("console", &d, "anna", "wrong", now).unwrap_err();
            assert!(
                matches!(e, SessionError::Login(UsersError::BadCredentials { .. })),
                "{e}"
            );
        }
        let locks = s.take_new_lockouts();
        assert!(
            matches!(locks.as_slice(), [Lockout::User { user_id, .. }] if user_id == "anna"),
            "{locks:?}"
        );
        assert!(s.take_new_lockouts().is_empty());
        let e = s
            .login_from("window", &d, "anna", "pw-anna-ok", now + 60 * S)
            .unwrap_err();
        assert!(
            matches!(e, SessionError::Throttled(ThrottleRefusal::UserLocked { .. })),
            "{e}"
        );
        assert!(s.actor().is_none());
        // After the lockout, the right password works.
        s.login_from("window", &d, "anna", "pw-anna-ok", now + 16 * 60 * S)
            .unwrap();
    }
}
