//! The biometric gate, onboard side (LAW.md): the face-template model is
//! reachable only through here, and only while an authorization is active
//! inside its area and window.
//!
//! - [`identify`]: the [`Gate`] (lifecycle on the drone's clock, signed
//!   commands, identification, matches, deletion).
//! - [`enrol`]: the designated persons' templates from their images.
//! - [`evidence`]: the evidence crop and its image-transfer messages.
//! - the link key and MAVLink 2 signature check: `utkik_shared::link_signing` (shared with the
//!   ground station).
//! - [`template_model`]: the face-template model and its call counter.
//! - [`command_auth`]: who signed a command, with the roles the drone's trust store gives them.
//! - [`saved_state`]: what survives a restart (lifecycle, matches held, last command, which
//!   document is loaded).
//! - [`upload`]: an authorization uploaded from the ground station (urgent use started there,
//!   LAW.md 3.4): received, verified, stored; it runs when a command names it.

pub mod command_auth;
pub mod enrol;
pub mod evidence;
pub mod identify;
pub mod saved_state;
pub mod template_model;
pub mod upload;

pub use identify::{AUDIT_LOG_FILE, Gate, GateError, GateFace, GateOutput, GateSetup, PAYLOAD_DIR};
pub use utkik_shared::link_signing::{LinkKey, LinkKeyError, SignatureRefused};

#[cfg(test)]
pub(crate) mod tests;
