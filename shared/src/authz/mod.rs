//! The authorization policy (LAW.md sections 2 and 3): biometric
//! identification runs only under a signed decision of a prosecutor or court
//! (or an urgent use started by a senior officer), only for its designated
//! persons, inside its area and window.
//!
//! - [`document`]: the fields of the decision (serde, JSON).
//! - [`signed`]: the signed file, canonical encoding, signature, digest, and
//!   [`authorize`], the entry point from file bytes to a [`VerifiedAuthorization`].
//! - [`trust_store`]: the issuer keys, each tied to an issuer kind.
//! - [`validate`]: the content rules, each refusal naming the field.
//! - [`area`] and [`window`]: the geofence and the time window.
//! - [`lifecycle`]: the state machine and the gate, driven by a clock value
//!   passed in (nothing here reads a system clock).
//! - [`link_watch`]: the link-loss stop (identification only while the ground is heard).
//! - [`urgent`]: the 24 h deadline and what a refusal deletes.
//! - [`signing_key`]: an issuer's key file (the repository holds DEMO keys only).
//! - [`actor`]: users and roles.
//! - [`command_signature`]: the user signatures on commands and the roles the drone requires.
//! - [`upload`]: an authorization and its enrolment images sent to the drone over the radio.

pub mod actor;
pub mod area;
pub mod command_signature;
pub mod document;
pub mod error;
pub mod lifecycle;
pub mod link_watch;
pub mod signed;
pub mod signing_key;
pub mod trust_store;
pub mod upload;
pub mod urgent;
pub mod validate;
pub mod window;

pub use actor::{Actor, Role};
pub use area::{Area, AreaVertex};
pub use document::{
    AUTHORIZATION_FORMAT, Authorization, DesignatedPerson, EnrolmentImage, Issuer, IssuerKind, LawfulPurpose,
    UrgentDecision,
};
pub use error::AuthzError;
pub use lifecycle::{AuthzState, GateDenied, Lifecycle, LifecycleSnapshot, RestoreError, TransitionError};
pub use link_watch::{DEFAULT_LINK_LOSS_STOP_S, LINK_LOSS_STOP_S_RANGE, LinkTransition, LinkWatch};
pub use signed::{AuthzDigest, SignedAuthorization, VerifiedAuthorization, authorize, authorize_file, canonical_bytes};
pub use signing_key::IssuerSigningKey;
pub use trust_store::{TrustStore, TrustStoreEntry, TrustStoreUserEntry, TrustedKey, TrustedUser};
pub use urgent::{DeletionOrder, URGENT_DEADLINE_USEC, UseDataKind};
pub use window::ValidityWindow;
