//! Which frames must be signed: everything in our dialect (UTKIK_*) and the image transfers
//! (DATA_TRANSMISSION_HANDSHAKE, ENCAPSULATED_DATA: evidence crops and plate images). These are
//! what lawful decisions rest on: a match, a hit, its evidence, a command, an acknowledgement.
//! Standard autopilot telemetry may arrive unsigned (most autopilots do not sign); the ground
//! shows it marked unsigned instead of acting on it.

use mavlink_core::MessageData;

use crate::dialect::{DATA_TRANSMISSION_HANDSHAKE_DATA, ENCAPSULATED_DATA_DATA, is_utkik_message_id};

/// Whether a frame with message id `msg_id` is acted on only when signed with its sender's key.
pub fn must_be_signed(msg_id: u32) -> bool {
    is_utkik_message_id(msg_id)
        || msg_id == DATA_TRANSMISSION_HANDSHAKE_DATA::ID
        || msg_id == ENCAPSULATED_DATA_DATA::ID
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_dialect_and_image_transfers_must_be_signed_autopilot_telemetry_need_not() {
        for id in [59900, 59902, 59903, 59905, 59999, 130, 131] {
            assert!(must_be_signed(id), "{id}");
        }
        for id in [0, 1, 24, 30, 33, 2, 76, 77, 285] {
            assert!(!must_be_signed(id), "{id}");
        }
    }
}
