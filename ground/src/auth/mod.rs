//! Users, roles and authentication at the ground station (LAW.md section 4, issue 5 item 5).
//!
//! - [`kdf`]: PBKDF2-HMAC-SHA-256 for password hashes;
//! - [`users`]: the users file (salted password hashes, roles) and password checks;
//! - [`permissions`]: which role may do what;
//! - [`session`]: who is signed in at this station right now.
//!
//! Everything an operator does goes through a [`session::Session`], so every action has an
//! authenticated [`utkik_shared::authz::Actor`] to check and to write into the audit log.

pub mod kdf;
pub mod permissions;
pub mod session;
pub mod users;

pub use permissions::{Permission, role_allows};
pub use session::{Session, SessionError};
pub use users::{UserDirectory, UserEntry, UsersError};
