//! Who is signed in at this station. One user at a time: the second confirmation of a possible
//! match needs the first user to sign out and a different user to sign in (or another station).

use utkik_shared::authz::Actor;

use super::permissions::{Permission, actor_allows};
use super::users::{UserDirectory, UsersError};

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
}

/// The signed-in user, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    current: Option<Actor>,
}

impl Session {
    /// Nobody signed in.
    pub fn new() -> Self {
        Self::default()
    }

    /// Signs `user_id` in when `password` is theirs; replaces whoever was signed in.
    ///
    /// # Errors
    /// [`SessionError::Login`] (unknown user and wrong password give the same message).
    pub fn login(&mut self, users: &UserDirectory, user_id: &str, password: &str) -> Result<&Actor, SessionError> {
        let actor = users.authenticate(user_id, password)?;
        Ok(self.current.insert(actor))
    }

    /// Signs out; returns who was signed in.
    pub fn logout(&mut self) -> Option<Actor> {
        self.current.take()
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
