//! MAVLink 2 signing of the drone <-> ground link, in one place for both ends.
//!
//! LAW.md section 4 wants revocation to reach the drone "over the (signed) link", and the ground
//! must not act on a match, a plate hit or an evidence image that anyone in radio range could
//! have sent. Both ends therefore sign and verify here:
//! - [`key`]: the link-key files (`utkik-link-key/1`: a drone's own key; `utkik-link-keys/1`:
//!   the ground station's, one per drone) and their loader;
//! - [`policy`]: which frames must be signed ([`must_be_signed`]);
//! - [`time`]: signing timestamps (10 µs since 2015-01-01) and the floor below which a clock is
//!   taken as not set;
//! - [`sign`]: [`Signer`], which signs frames with timestamps that never go backwards;
//! - [`window`]: [`ReplayWindow`], the last accepted timestamp per (link id, system, component);
//! - [`verify`]: [`verify_frame`], a pure function of (frame bytes, key, window, now);
//! - [`state`]: [`LinkState`], the window and the last sent timestamp saved across restarts.
//!
//! The signature itself (first 6 bytes of SHA-256 over key, header, payload, CRC, link id and
//! timestamp) is mavlink-core's `MAVLinkV2MessageRaw::calculate_signature` (feature
//! `mav2-message-signing`), the vetted implementation. mavlink-core's `SigningData` is not used
//! for the replay rules because it reads the system clock itself and keeps its per-stream
//! timestamps where they cannot be saved: here the clock is an argument (tests inject it) and
//! the window is plain data a caller can persist, so replay protection survives a restart.

pub mod key;
pub mod policy;
pub mod sign;
pub mod state;
pub mod time;
pub mod verify;
pub mod window;

pub use key::{LINK_KEY_FORMAT, LINK_KEYS_FORMAT, LinkKey, LinkKeyError, LinkKeys};
pub use policy::must_be_signed;
pub use sign::{Signer, sign_frame};
pub use state::{LINK_STATE_FORMAT, LinkState, LinkStateError};
pub use time::{CLOCK_FLOOR_UNIX_S, SIGNING_EPOCH_UNIX_S, clock_is_set, signing_timestamp};
pub use verify::{SignatureRefused, Verified, verify_frame};
pub use window::{NEW_STREAM_TOLERANCE, ReplayWindow, StreamId, WindowRefusal};

#[cfg(test)]
mod tests;
