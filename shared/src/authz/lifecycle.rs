//! The lifecycle of one loaded authorization, and the gate question "may
//! identification run now, here?". Both ends run the same machine: the drone
//! enforces it with its own clock (also while the link is down), the ground
//! station mirrors it for the operator.
//!
//! ```text
//!  permit:  Pending --activate--> Active --window ends--> Expired
//!  urgent:  Pending --start_urgent (senior officer)--> Urgent
//!             Urgent --24 h, no application--> UrgentExpired
//!             Urgent --application recorded--> Urgent (until window end) --> Expired
//!             any urgent state --refuse--> Refused (+ DeletionOrder)
//!  both:    Active/Urgent --stop--> Stopped --activate/start_urgent--> back
//!           Pending/Active/Urgent/Stopped --revoke--> Revoked
//! ```
//! Expired, UrgentExpired, Revoked and Refused are final (a refused use may
//! still be refused after it expired: the deletion is owed either way).
//!
//! Time is an input: every method takes `now_usec` (Unix epoch, UTC, µs) and
//! nothing reads a system clock. The machine keeps the latest clock value it
//! has seen and never goes back to an earlier one, so a clock that jumps
//! backwards cannot reopen an ended window or deadline (it can only make a
//! use end early, the safe direction).
//!
//! A [`LifecycleSnapshot`] is what the drone saves before it reports a command's effect, so a
//! restart (even kill -9) comes back in the same state: revoked stays revoked, an urgent use
//! keeps its start and deadline, a refusal stays refused, and the clock never goes back.

use serde::{Deserialize, Serialize};

use super::actor::{Actor, Role};
use super::document::Authorization;
use super::signed::{AuthzDigest, VerifiedAuthorization};
use super::urgent::{DeletionOrder, URGENT_DEADLINE_USEC};
use crate::dialect::UtkikAuthzState;
use crate::geo::GeoPoint;

/// Lifecycle state (the values of UTKIK_AUTHZ_STATE, except NONE which means
/// "no authorization loaded" and so has no machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthzState {
    /// Loaded and valid, not (yet) active.
    Pending,
    /// Active: identification may run inside the area and window.
    Active,
    /// The window ended.
    Expired,
    /// Revoked; cannot be activated again.
    Revoked,
    /// Urgent use running.
    Urgent,
    /// Urgent use stopped at its 24 h deadline without a recorded application.
    UrgentExpired,
    /// Urgent use refused: stopped, its data must be deleted.
    Refused,
    /// Halted by the stop control; may be activated again.
    Stopped,
}

impl AuthzState {
    /// Whether identification may run in this state (inside area and window).
    pub fn allows_identification(self) -> bool {
        matches!(self, AuthzState::Active | AuthzState::Urgent)
    }

    /// Whether no transition except a refusal can leave this state.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            AuthzState::Expired | AuthzState::Revoked | AuthzState::UrgentExpired | AuthzState::Refused
        )
    }

    /// The MAVLink enum value (UTKIK_AUTHZ_STATUS.state).
    pub fn to_mavlink(self) -> UtkikAuthzState {
        match self {
            AuthzState::Pending => UtkikAuthzState::UTKIK_AUTHZ_STATE_PENDING,
            AuthzState::Active => UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE,
            AuthzState::Expired => UtkikAuthzState::UTKIK_AUTHZ_STATE_EXPIRED,
            AuthzState::Revoked => UtkikAuthzState::UTKIK_AUTHZ_STATE_REVOKED,
            AuthzState::Urgent => UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT,
            AuthzState::UrgentExpired => UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT_EXPIRED,
            AuthzState::Refused => UtkikAuthzState::UTKIK_AUTHZ_STATE_REFUSED,
            AuthzState::Stopped => UtkikAuthzState::UTKIK_AUTHZ_STATE_STOPPED,
        }
    }
}

/// A transition that is not allowed. Nothing changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The action does not apply in the current state.
    #[error("cannot {action} in state {state:?}")]
    NotInState {
        /// What was attempted.
        action: &'static str,
        /// The state it was attempted in.
        state: AuthzState,
    },
    /// A permit was asked to do an urgent-use action or the other way round.
    #[error("cannot {action}: {reason}")]
    WrongKind {
        /// What was attempted.
        action: &'static str,
        /// Why it does not fit this authorization.
        reason: &'static str,
    },
    /// The user is neither named in `document.authorized_users` nor holds a
    /// role in `document.authorized_roles`.
    #[error("field `document.authorized_users`: user `{user_id}` is not authorized by this decision")]
    UserNotAuthorized {
        /// The user.
        user_id: String,
    },
    /// Urgent use is started only by a senior officer.
    #[error("field `document.urgent`: user `{user_id}` does not hold the senior-officer role")]
    NotSeniorOfficer {
        /// The user.
        user_id: String,
    },
    /// The window has not started.
    #[error("field `document.window.from_usec`: the window starts at {from_usec} us, now is {now_usec} us")]
    WindowNotStarted {
        /// Start of the window.
        from_usec: u64,
        /// The clock value used.
        now_usec: u64,
    },
}

/// Why the gate says no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GateDenied {
    /// The authorization is not active.
    #[error("authorization not active (state {0:?})")]
    NotActive(AuthzState),
    /// No position, so the area cannot be checked.
    #[error("position unknown: cannot check the area")]
    PositionUnknown,
    /// Outside the authorized area.
    #[error("outside the authorized area")]
    OutsideArea,
}

/// Everything of a [`Lifecycle`] but the document: what survives a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSnapshot {
    /// The state.
    pub state: AuthzState,
    /// The latest clock value seen (Unix µs): a restart never goes back before it.
    pub clock_usec: u64,
    /// When urgent use first started (the 24 h deadline runs from here).
    pub urgent_started_usec: Option<u64>,
    /// When the permit application was recorded.
    pub application_recorded_usec: Option<u64>,
}

/// A snapshot that does not fit the document it is restored with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("saved state {state:?} does not fit this authorization: {reason}")]
pub struct RestoreError {
    /// The saved state.
    pub state: AuthzState,
    /// What does not fit.
    pub reason: &'static str,
}

/// The state machine of one verified authorization.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    auth: VerifiedAuthorization,
    state: AuthzState,
    clock_usec: u64,
    urgent_started_usec: Option<u64>,
    application_recorded_usec: Option<u64>,
}

impl Lifecycle {
    /// A freshly loaded authorization: [`AuthzState::Pending`].
    pub fn new(auth: VerifiedAuthorization, now_usec: u64) -> Self {
        let mut l = Self {
            auth,
            state: AuthzState::Pending,
            clock_usec: now_usec,
            urgent_started_usec: None,
            application_recorded_usec: None,
        };
        l.tick(now_usec);
        l
    }

    /// The machine as saved in `snapshot`, for the same document, at `now_usec` (time is
    /// applied at once: a window or deadline that ended while the drone was down has ended).
    ///
    /// # Errors
    /// A snapshot that cannot belong to this document (an urgent state for a permit, an
    /// urgent use without its start time, an active permit for an urgent document).
    pub fn restore(
        auth: VerifiedAuthorization,
        snapshot: LifecycleSnapshot,
        now_usec: u64,
    ) -> Result<Self, RestoreError> {
        let urgent = auth.document().is_urgent();
        let err = |reason| {
            Err(RestoreError {
                state: snapshot.state,
                reason,
            })
        };
        match snapshot.state {
            AuthzState::Active if urgent => return err("an urgent-use document is never ACTIVE"),
            AuthzState::Urgent | AuthzState::UrgentExpired | AuthzState::Refused if !urgent => {
                return err("a permit has no urgent states");
            }
            AuthzState::Urgent | AuthzState::UrgentExpired if snapshot.urgent_started_usec.is_none() => {
                return err("urgent use without its start time");
            }
            _ => {}
        }
        if !urgent && (snapshot.urgent_started_usec.is_some() || snapshot.application_recorded_usec.is_some()) {
            return err("a permit has no urgent start or application");
        }
        let mut l = Self {
            auth,
            state: snapshot.state,
            clock_usec: snapshot.clock_usec,
            urgent_started_usec: snapshot.urgent_started_usec,
            application_recorded_usec: snapshot.application_recorded_usec,
        };
        l.tick(now_usec);
        Ok(l)
    }

    /// What to save so that [`Lifecycle::restore`] brings this machine back.
    pub fn snapshot(&self) -> LifecycleSnapshot {
        LifecycleSnapshot {
            state: self.state,
            clock_usec: self.clock_usec,
            urgent_started_usec: self.urgent_started_usec,
            application_recorded_usec: self.application_recorded_usec,
        }
    }

    /// The authorization.
    pub fn authorization(&self) -> &VerifiedAuthorization {
        &self.auth
    }

    fn doc(&self) -> &Authorization {
        self.auth.document()
    }

    /// Its digest.
    pub fn digest(&self) -> AuthzDigest {
        self.auth.digest()
    }

    /// The state as of the last call (call [`Lifecycle::tick`] to advance time).
    pub fn state(&self) -> AuthzState {
        self.state
    }

    /// When urgent use started, if it did.
    pub fn urgent_started_usec(&self) -> Option<u64> {
        self.urgent_started_usec
    }

    /// When the permit application was recorded, if it was.
    pub fn application_recorded_usec(&self) -> Option<u64> {
        self.application_recorded_usec
    }

    /// The instant urgent use stops unless an application is recorded: start + 24 h.
    pub fn urgent_deadline_usec(&self) -> Option<u64> {
        self.urgent_started_usec.map(|t| t.saturating_add(URGENT_DEADLINE_USEC))
    }

    fn advance_clock(&mut self, now_usec: u64) -> u64 {
        self.clock_usec = self.clock_usec.max(now_usec);
        self.clock_usec
    }

    fn deadline_passed(&self, now_usec: u64) -> bool {
        self.application_recorded_usec.is_none() && self.urgent_deadline_usec().is_some_and(|d| now_usec >= d)
    }

    /// Applies the passage of time: the window's end, the urgent deadline.
    /// Returns the state after it.
    pub fn tick(&mut self, now_usec: u64) -> AuthzState {
        let now = self.advance_clock(now_usec);
        if self.state.is_final() {
            return self.state;
        }
        if self.deadline_passed(now) {
            self.state = AuthzState::UrgentExpired;
        } else if self.doc().window.has_ended(now) {
            self.state = AuthzState::Expired;
        }
        self.state
    }

    fn check_user(&self, actor: &Actor) -> Result<(), TransitionError> {
        let d = self.doc();
        let named = d.authorized_users.contains(&actor.user_id);
        let by_role = actor.roles.iter().any(|r| d.authorized_roles.contains(r));
        if named || by_role {
            Ok(())
        } else {
            Err(TransitionError::UserNotAuthorized {
                user_id: actor.user_id.clone(),
            })
        }
    }

    fn check_window_started(&self, now: u64) -> Result<(), TransitionError> {
        let w = self.doc().window;
        if now < w.from_usec {
            return Err(TransitionError::WindowNotStarted {
                from_usec: w.from_usec,
                now_usec: now,
            });
        }
        Ok(())
    }

    /// Activates a permit (from Pending or Stopped) on behalf of `actor`.
    ///
    /// # Errors
    /// Urgent-use documents ([`TransitionError::WrongKind`]: use
    /// [`Lifecycle::start_urgent`]), wrong state, user not authorized, window
    /// not started. The window having ended shows as state Expired.
    pub fn activate(&mut self, actor: &Actor, now_usec: u64) -> Result<AuthzState, TransitionError> {
        const ACTION: &str = "activate";
        let now = now_usec.max(self.clock_usec);
        self.tick(now);
        if self.doc().is_urgent() {
            return Err(TransitionError::WrongKind {
                action: ACTION,
                reason: "this is urgent use; it is started with start_urgent by a senior officer",
            });
        }
        if !matches!(self.state, AuthzState::Pending | AuthzState::Stopped) {
            return Err(TransitionError::NotInState {
                action: ACTION,
                state: self.state,
            });
        }
        self.check_user(actor)?;
        self.check_window_started(now)?;
        self.state = AuthzState::Active;
        Ok(self.state)
    }

    /// Starts (or, after a stop, resumes) urgent use on behalf of `actor`, who
    /// must hold the senior-officer role. The 24 h deadline runs from the
    /// first start and is not reset by a resume.
    ///
    /// # Errors
    /// Permits ([`TransitionError::WrongKind`]), not a senior officer, user
    /// not authorized by the document, wrong state, window not started.
    pub fn start_urgent(&mut self, actor: &Actor, now_usec: u64) -> Result<AuthzState, TransitionError> {
        const ACTION: &str = "start urgent use";
        let now = now_usec.max(self.clock_usec);
        self.tick(now);
        if !self.doc().is_urgent() {
            return Err(TransitionError::WrongKind {
                action: ACTION,
                reason: "this is a permit, not urgent use; activate it",
            });
        }
        if !actor.has_role(Role::SeniorOfficer) {
            return Err(TransitionError::NotSeniorOfficer {
                user_id: actor.user_id.clone(),
            });
        }
        if !matches!(self.state, AuthzState::Pending | AuthzState::Stopped) {
            return Err(TransitionError::NotInState {
                action: ACTION,
                state: self.state,
            });
        }
        self.check_user(actor)?;
        self.check_window_started(now)?;
        self.urgent_started_usec.get_or_insert(now);
        self.state = AuthzState::Urgent;
        Ok(self.state)
    }

    /// Records that the permit application for this urgent use was
    /// submitted: the 24 h automatic stop no longer applies (the window and a
    /// refusal still do). Must happen before the deadline.
    ///
    /// # Errors
    /// Permits, urgent use that has not started, or a state past the deadline.
    pub fn record_application(&mut self, now_usec: u64) -> Result<AuthzState, TransitionError> {
        const ACTION: &str = "record a permit application";
        self.tick(now_usec);
        if !self.doc().is_urgent() {
            return Err(TransitionError::WrongKind {
                action: ACTION,
                reason: "this is a permit, not urgent use",
            });
        }
        if self.urgent_started_usec.is_none() || !matches!(self.state, AuthzState::Urgent | AuthzState::Stopped) {
            return Err(TransitionError::NotInState {
                action: ACTION,
                state: self.state,
            });
        }
        self.application_recorded_usec.get_or_insert(self.clock_usec);
        Ok(self.state)
    }

    /// The permit for this urgent use was refused: use stops at once and
    /// everything it produced must be deleted. Allowed from every state of an
    /// urgent use except Refused itself (an expired or revoked urgent use
    /// still owes the deletion).
    ///
    /// # Errors
    /// Permits, or already refused.
    pub fn refuse(&mut self, now_usec: u64) -> Result<DeletionOrder, TransitionError> {
        const ACTION: &str = "refuse";
        let now = self.advance_clock(now_usec);
        if !self.doc().is_urgent() {
            return Err(TransitionError::WrongKind {
                action: ACTION,
                reason: "only urgent use is refused; a permit is revoked",
            });
        }
        if self.state == AuthzState::Refused {
            return Err(TransitionError::NotInState {
                action: ACTION,
                state: self.state,
            });
        }
        self.state = AuthzState::Refused;
        Ok(DeletionOrder::for_refusal(
            self.digest(),
            self.doc().decision_id.clone(),
            self.urgent_started_usec,
            now,
        ))
    }

    /// Revokes: identification stops and the authorization cannot be
    /// activated again.
    ///
    /// # Errors
    /// Already in a final state.
    pub fn revoke(&mut self, now_usec: u64) -> Result<AuthzState, TransitionError> {
        self.tick(now_usec);
        if self.state.is_final() {
            return Err(TransitionError::NotInState {
                action: "revoke",
                state: self.state,
            });
        }
        self.state = AuthzState::Revoked;
        Ok(self.state)
    }

    /// The stop control: halts identification at once. Always succeeds; a
    /// stopped authorization can be activated again (unlike a revoked one).
    pub fn stop(&mut self, now_usec: u64) -> AuthzState {
        self.tick(now_usec);
        if self.state.allows_identification() {
            self.state = AuthzState::Stopped;
        }
        self.state
    }

    /// The gate: may identification run at `now_usec` with the camera's
    /// ground point at `position`? Applies time first, so an ended window or
    /// deadline says no even if nobody called [`Lifecycle::tick`].
    ///
    /// # Errors
    /// Why not.
    pub fn may_identify(&mut self, now_usec: u64, position: Option<&GeoPoint>) -> Result<(), GateDenied> {
        let state = self.tick(now_usec);
        if !state.allows_identification() {
            return Err(GateDenied::NotActive(state));
        }
        let Some(p) = position else {
            return Err(GateDenied::PositionUnknown);
        };
        if !self.doc().area.contains(p) {
            return Err(GateDenied::OutsideArea);
        }
        Ok(())
    }

    /// Microseconds until identification stops by itself (window end or, for
    /// urgent use without an application, the deadline, whichever is first);
    /// 0 when not running.
    pub fn remaining_usec(&mut self, now_usec: u64) -> u64 {
        if !self.tick(now_usec).allows_identification() {
            return 0;
        }
        let now = self.clock_usec;
        let mut end = self.doc().window.until_usec;
        if self.application_recorded_usec.is_none()
            && let Some(d) = self.urgent_deadline_usec()
        {
            end = end.min(d);
        }
        end.saturating_sub(now)
    }
}

#[cfg(test)]
mod tests {
    use super::super::document::sample::{self, FROM_USEC, UNTIL_USEC};
    use super::super::signed::testkeys;
    use super::super::signed::{SignedAuthorization, VerifiedAuthorization};
    use super::super::urgent::UseDataKind;
    use super::*;

    const HOUR_USEC: u64 = 3_600_000_000;

    fn inside() -> GeoPoint {
        GeoPoint::new(59.3945, 17.901, 25.0)
    }

    fn outside() -> GeoPoint {
        GeoPoint::new(59.40, 17.901, 25.0)
    }

    fn operator() -> Actor {
        Actor::new("anna", [Role::Operator])
    }

    fn senior() -> Actor {
        Actor::new("kalle", [Role::SeniorOfficer])
    }

    fn permit(now: u64) -> Lifecycle {
        let s = SignedAuthorization::sign(sample::permit(), &testkeys::prosecutor());
        Lifecycle::new(VerifiedAuthorization::verify(s, &testkeys::trust(), now).unwrap(), now)
    }

    fn urgent_doc(window_hours: u64) -> Lifecycle {
        let mut doc = sample::urgent();
        doc.window.until_usec = FROM_USEC + window_hours * HOUR_USEC;
        doc.authorized_roles = vec![Role::SeniorOfficer, Role::Operator];
        let s = SignedAuthorization::sign(doc, &testkeys::senior());
        Lifecycle::new(
            VerifiedAuthorization::verify(s, &testkeys::trust(), FROM_USEC).unwrap(),
            FROM_USEC,
        )
    }

    #[test]
    fn pending_until_activated() {
        let mut l = permit(FROM_USEC);
        assert_eq!(l.state(), AuthzState::Pending);
        assert_eq!(
            l.may_identify(FROM_USEC, Some(&inside())),
            Err(GateDenied::NotActive(AuthzState::Pending))
        );
        l.activate(&operator(), FROM_USEC).unwrap();
        assert_eq!(l.may_identify(FROM_USEC + 1, Some(&inside())), Ok(()));
    }

    #[test]
    fn window_end_stops_identification_without_a_tick() {
        let mut l = permit(FROM_USEC);
        l.activate(&operator(), FROM_USEC).unwrap();
        assert!(l.may_identify(UNTIL_USEC - 1, Some(&inside())).is_ok());
        assert_eq!(
            l.may_identify(UNTIL_USEC, Some(&inside())),
            Err(GateDenied::NotActive(AuthzState::Expired))
        );
        assert_eq!(l.state(), AuthzState::Expired);
    }

    #[test]
    fn clock_going_back_does_not_reopen() {
        let mut l = permit(FROM_USEC);
        l.activate(&operator(), FROM_USEC).unwrap();
        assert!(l.may_identify(UNTIL_USEC + 5, Some(&inside())).is_err());
        assert!(
            l.may_identify(FROM_USEC + 10, Some(&inside())).is_err(),
            "earlier clock value after the end"
        );
        assert!(l.activate(&operator(), FROM_USEC + 10).is_err());
    }

    #[test]
    fn before_window_cannot_activate() {
        let mut l = permit(FROM_USEC - 10);
        let e = l.activate(&operator(), FROM_USEC - 10).unwrap_err();
        assert!(matches!(e, TransitionError::WindowNotStarted { .. }), "{e}");
        assert!(e.to_string().contains("document.window.from_usec"));
        assert_eq!(l.state(), AuthzState::Pending);
    }

    #[test]
    fn leaving_the_area_stops_identification() {
        let mut l = permit(FROM_USEC);
        l.activate(&operator(), FROM_USEC).unwrap();
        assert_eq!(
            l.may_identify(FROM_USEC + 1, Some(&outside())),
            Err(GateDenied::OutsideArea)
        );
        assert_eq!(l.may_identify(FROM_USEC + 2, None), Err(GateDenied::PositionUnknown));
        assert_eq!(l.may_identify(FROM_USEC + 3, Some(&inside())), Ok(()));
    }

    #[test]
    fn only_authorized_users_activate() {
        let mut l = permit(FROM_USEC);
        let pilot = Actor::new("pelle", [Role::Pilot]);
        let e = l.activate(&pilot, FROM_USEC).unwrap_err();
        assert_eq!(
            e,
            TransitionError::UserNotAuthorized {
                user_id: "pelle".into()
            }
        );
        // Named user without a listed role is fine.
        l.activate(&Actor::new("anna", []), FROM_USEC).unwrap();
    }

    #[test]
    fn stop_then_reactivate_but_revoke_is_final() {
        let mut l = permit(FROM_USEC);
        l.activate(&operator(), FROM_USEC).unwrap();
        assert_eq!(l.stop(FROM_USEC + 1), AuthzState::Stopped);
        assert!(l.may_identify(FROM_USEC + 2, Some(&inside())).is_err());
        l.activate(&operator(), FROM_USEC + 3).unwrap();
        l.revoke(FROM_USEC + 4).unwrap();
        assert!(l.may_identify(FROM_USEC + 5, Some(&inside())).is_err());
        let e = l.activate(&operator(), FROM_USEC + 6).unwrap_err();
        assert!(
            matches!(
                e,
                TransitionError::NotInState {
                    state: AuthzState::Revoked,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn permit_cannot_be_started_as_urgent_nor_refused() {
        let mut l = permit(FROM_USEC);
        assert!(matches!(
            l.start_urgent(&senior(), FROM_USEC),
            Err(TransitionError::WrongKind { .. })
        ));
        assert!(matches!(l.refuse(FROM_USEC), Err(TransitionError::WrongKind { .. })));
        assert!(matches!(
            l.record_application(FROM_USEC),
            Err(TransitionError::WrongKind { .. })
        ));
    }

    #[test]
    fn urgent_needs_senior_officer() {
        let mut l = urgent_doc(48);
        let e = l.start_urgent(&operator(), FROM_USEC).unwrap_err();
        assert!(matches!(e, TransitionError::NotSeniorOfficer { .. }), "{e}");
        assert_eq!(l.state(), AuthzState::Pending);
        assert!(matches!(
            l.activate(&senior(), FROM_USEC),
            Err(TransitionError::WrongKind { .. })
        ));
        l.start_urgent(&senior(), FROM_USEC).unwrap();
        assert_eq!(l.state(), AuthzState::Urgent);
        assert!(l.may_identify(FROM_USEC + 1, Some(&inside())).is_ok());
    }

    #[test]
    fn urgent_stops_at_24_hours_without_application() {
        let mut l = urgent_doc(48);
        let start = FROM_USEC + 1_000;
        l.start_urgent(&senior(), start).unwrap();
        let deadline = start + URGENT_DEADLINE_USEC;
        assert_eq!(l.urgent_deadline_usec(), Some(deadline));
        assert!(l.may_identify(deadline - 1, Some(&inside())).is_ok());
        assert_eq!(l.remaining_usec(deadline - 1), 1);
        assert_eq!(
            l.may_identify(deadline, Some(&inside())),
            Err(GateDenied::NotActive(AuthzState::UrgentExpired))
        );
        // A late application does not bring it back.
        assert!(l.record_application(deadline + 1).is_err());
        assert!(l.start_urgent(&senior(), deadline + 2).is_err());
        assert_eq!(l.state(), AuthzState::UrgentExpired);
    }

    #[test]
    fn stop_and_resume_does_not_reset_the_deadline() {
        let mut l = urgent_doc(48);
        l.start_urgent(&senior(), FROM_USEC).unwrap();
        l.stop(FROM_USEC + 20 * HOUR_USEC);
        l.start_urgent(&senior(), FROM_USEC + 23 * HOUR_USEC).unwrap();
        assert_eq!(l.urgent_started_usec(), Some(FROM_USEC));
        assert!(l.may_identify(FROM_USEC + 24 * HOUR_USEC, Some(&inside())).is_err());
    }

    #[test]
    fn application_lifts_the_deadline_until_the_window_ends() {
        let mut l = urgent_doc(48);
        l.start_urgent(&senior(), FROM_USEC).unwrap();
        l.record_application(FROM_USEC + 2 * HOUR_USEC).unwrap();
        assert!(l.may_identify(FROM_USEC + 30 * HOUR_USEC, Some(&inside())).is_ok());
        assert_eq!(
            l.may_identify(FROM_USEC + 48 * HOUR_USEC, Some(&inside())),
            Err(GateDenied::NotActive(AuthzState::Expired))
        );
    }

    #[test]
    fn refusal_stops_at_once_and_orders_deletion() {
        let mut l = urgent_doc(48);
        l.start_urgent(&senior(), FROM_USEC).unwrap();
        l.record_application(FROM_USEC + 1).unwrap();
        let order = l.refuse(FROM_USEC + 5 * HOUR_USEC).unwrap();
        assert_eq!(l.state(), AuthzState::Refused);
        assert!(l.may_identify(FROM_USEC + 5 * HOUR_USEC, Some(&inside())).is_err());
        assert_eq!(order.authorization_digest, l.digest());
        assert_eq!(order.urgent_started_usec, Some(FROM_USEC));
        assert_eq!(order.refused_usec, FROM_USEC + 5 * HOUR_USEC);
        for kind in UseDataKind::ALL {
            assert!(order.covers(&l.digest(), kind));
        }
        assert!(l.start_urgent(&senior(), FROM_USEC + 6 * HOUR_USEC).is_err());
        assert!(l.refuse(FROM_USEC + 6 * HOUR_USEC).is_err(), "refused once");
    }

    #[test]
    fn expired_urgent_use_can_still_be_refused() {
        let mut l = urgent_doc(48);
        l.start_urgent(&senior(), FROM_USEC).unwrap();
        assert_eq!(l.tick(FROM_USEC + 25 * HOUR_USEC), AuthzState::UrgentExpired);
        l.refuse(FROM_USEC + 26 * HOUR_USEC).unwrap();
        assert_eq!(l.state(), AuthzState::Refused);
    }

    #[test]
    fn a_restored_machine_keeps_revocation_the_urgent_deadline_and_its_clock() {
        let mut l = permit(FROM_USEC);
        l.activate(&operator(), FROM_USEC).unwrap();
        l.revoke(FROM_USEC + 5).unwrap();
        let snap = l.snapshot();
        let json = serde_json::to_string(&snap).unwrap();
        assert!(json.contains(r#""state":"revoked""#), "{json}");
        let again = serde_json::from_str::<LifecycleSnapshot>(&json).unwrap();
        let mut r = Lifecycle::restore(l.authorization().clone(), again, FROM_USEC + 10).unwrap();
        assert_eq!(r.state(), AuthzState::Revoked);
        assert!(
            r.activate(&operator(), FROM_USEC + 11).is_err(),
            "revoked stays revoked"
        );

        let mut u = urgent_doc(48);
        u.start_urgent(&senior(), FROM_USEC).unwrap();
        let snap = u.snapshot();
        // The drone comes back 20 h later: the deadline is still start + 24 h.
        let mut r = Lifecycle::restore(u.authorization().clone(), snap, FROM_USEC + 20 * HOUR_USEC).unwrap();
        assert_eq!(r.state(), AuthzState::Urgent);
        assert_eq!(r.urgent_deadline_usec(), Some(FROM_USEC + URGENT_DEADLINE_USEC));
        assert!(r.may_identify(FROM_USEC + 24 * HOUR_USEC, Some(&inside())).is_err());
        // Down past the deadline: expired on restore.
        let r = Lifecycle::restore(u.authorization().clone(), snap, FROM_USEC + 25 * HOUR_USEC).unwrap();
        assert_eq!(r.state(), AuthzState::UrgentExpired);
        // A clock that went back across the restart does not reopen anything.
        let mut p = permit(FROM_USEC);
        p.activate(&operator(), FROM_USEC).unwrap();
        assert_eq!(p.tick(UNTIL_USEC + 1), AuthzState::Expired);
        let r = Lifecycle::restore(p.authorization().clone(), p.snapshot(), FROM_USEC + 1).unwrap();
        assert_eq!(r.state(), AuthzState::Expired);
    }

    #[test]
    fn a_snapshot_that_does_not_fit_the_document_is_refused() {
        let p = permit(FROM_USEC);
        let mut snap = p.snapshot();
        snap.state = AuthzState::Urgent;
        snap.urgent_started_usec = Some(FROM_USEC);
        let e = Lifecycle::restore(p.authorization().clone(), snap, FROM_USEC).unwrap_err();
        assert!(e.to_string().contains("permit"), "{e}");
        let u = urgent_doc(48);
        let mut snap = u.snapshot();
        snap.state = AuthzState::Urgent;
        assert!(Lifecycle::restore(u.authorization().clone(), snap, FROM_USEC).is_err());
    }

    #[test]
    fn states_map_to_mavlink() {
        assert_eq!(
            AuthzState::Active.to_mavlink(),
            UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE
        );
        assert_eq!(
            AuthzState::Refused.to_mavlink(),
            UtkikAuthzState::UTKIK_AUTHZ_STATE_REFUSED
        );
        assert_eq!(
            AuthzState::UrgentExpired.to_mavlink(),
            UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT_EXPIRED
        );
    }
}
