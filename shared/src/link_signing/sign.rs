//! Signing outgoing frames. The timestamp of every frame a [`Signer`] signs is above the one
//! before it, whatever the clock does (a receiver refuses a timestamp that does not grow), and
//! a signer can resume from a saved timestamp after a restart.

use mavlink_core::{MAVLinkV2MessageRaw, MavHeader, Message};

use super::key::LinkKey;
use super::time::signing_timestamp;

/// Encodes `msg` as one MAVLink 2 frame signed with `key` at signing time `timestamp` (10 µs
/// units since 2015; [`super::signing_timestamp`]). The signature is mavlink-core's.
///
/// # Panics
/// If `header.system_id` is above 255 (does not fit a frame of our link).
pub fn sign_frame<M: Message>(key: &LinkKey, header: MavHeader, msg: &M, timestamp: u64) -> Vec<u8> {
    assert!(
        header.system_id <= 255,
        "system id {} does not fit a frame",
        header.system_id
    );
    let mut raw = MAVLinkV2MessageRaw::new();
    raw.serialize_message_for_signing(header, msg);
    *raw.signature_link_id_mut() = key.link_id;
    raw.signature_timestamp_bytes_mut()
        .copy_from_slice(&timestamp.to_le_bytes()[..mavlink_core::consts::v2::SIGNATURE_TIMESTAMP_SIZE]);
    let mut signature = [0u8; mavlink_core::consts::v2::SIGNATURE_VALUE_SIZE];
    raw.calculate_signature(&key.secret_key, &mut signature);
    raw.signature_value_mut().copy_from_slice(&signature);
    raw.raw_bytes().to_vec()
}

/// Signs outgoing frames with one key; timestamps strictly increase.
#[derive(Debug, Clone)]
pub struct Signer {
    key: LinkKey,
    last_timestamp: u64,
}

impl Signer {
    /// A signer starting from the clock.
    pub fn new(key: LinkKey) -> Self {
        Self { key, last_timestamp: 0 }
    }

    /// A signer whose next timestamp is above `last_timestamp` (saved before a restart), so a
    /// receiver that remembers our stream accepts us even if our clock is behind.
    pub fn resume(key: LinkKey, last_timestamp: u64) -> Self {
        Self { key, last_timestamp }
    }

    /// The key.
    pub fn key(&self) -> &LinkKey {
        &self.key
    }

    /// The timestamp of the last frame signed (0 before the first).
    pub fn last_timestamp(&self) -> u64 {
        self.last_timestamp
    }

    /// Signs `msg` at `now_unix_usec` (or just after the last frame, if the clock is behind).
    pub fn sign<M: Message>(&mut self, header: MavHeader, msg: &M, now_unix_usec: u64) -> Vec<u8> {
        let timestamp = signing_timestamp(now_unix_usec).max(self.last_timestamp + 1);
        self.last_timestamp = timestamp;
        sign_frame(&self.key, header, msg, timestamp)
    }
}
