//! Users, roles and authentication at the ground station (LAW.md section 4, issue 5 item 5,
//! issue 14 item 6).
//!
//! - [`password`]: argon2id password hashes (parameters and why, in its doc);
//! - [`users`]: the users file (a secret file: roles, password hashes, encrypted signing keys)
//!   and password checks;
//! - [`signing_key`]: each crew member's command-signing key, encrypted under their password;
//! - [`throttle`]: rate limiting and lockout of failed sign-ins, per user and per source;
//! - [`permissions`]: which role may do what;
//! - [`session`]: who is signed in at this station right now, and idle sign-out;
//! - [`startup`]: which users file and keys the station starts with (no silent DEMO);
//! - [`cli`]: `utkik-ground users add|passwd|list`.
//!
//! Everything an operator does goes through a [`session::Session`], so every action has an
//! authenticated [`utkik_shared::authz::Actor`] to check and to write into the audit log.

pub mod cli;
pub mod password;
pub mod permissions;
pub mod session;
pub mod signing_key;
pub mod startup;
pub mod throttle;
pub mod users;

pub use password::HashParams;
pub use permissions::{Permission, role_allows};
pub use session::{Session, SessionError};
pub use throttle::{Lockout, ThrottlePolicy, ThrottleRefusal};
pub use users::{UserDirectory, UserEntry, UsersError};
