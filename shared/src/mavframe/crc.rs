//! The MAVLink checksum (CRC-16/MCRF4XX, "X.25") and the per-message
//! CRC_EXTRA seed of our dialect, looked up through a table built once.

use std::sync::OnceLock;

use mavlink_core::Message;

use crate::dialect::MavMessage;

/// CRC-16/MCRF4XX over `data`, continuing from `crc` (start with `0xFFFF`).
#[inline]
pub fn x25_crc(mut crc: u16, data: &[u8]) -> u16 {
    for &b in data {
        let mut tmp = b ^ (crc as u8);
        tmp ^= tmp << 4;
        crc = (crc >> 8) ^ ((tmp as u16) << 8) ^ ((tmp as u16) << 3) ^ ((tmp as u16) >> 4);
    }
    crc
}

/// Ids below this are looked up in a flat table; every id of common.xml and
/// of our block is below it.
const TABLE_IDS: usize = 1 << 16;

/// `0` = unknown id, otherwise `0x100 | crc_extra`.
fn table() -> &'static [u16] {
    static TABLE: OnceLock<Box<[u16]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..TABLE_IDS as u32)
            .map(|id| match MavMessage::default_message_from_id(id) {
                Some(_) => 0x100 | MavMessage::extra_crc(id) as u16,
                None => 0,
            })
            .collect()
    })
}

/// CRC_EXTRA of message `msg_id` in our dialect (common.xml + utkik.xml), or
/// `None` when the dialect does not know the id (its CRC cannot be checked).
#[inline]
pub fn crc_extra(msg_id: u32) -> Option<u8> {
    if (msg_id as usize) < TABLE_IDS {
        let v = table()[msg_id as usize];
        (v != 0).then_some(v as u8)
    } else {
        MavMessage::default_message_from_id(msg_id).map(|_| MavMessage::extra_crc(msg_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_of_mcrf4xx() {
        // The catalogue check value of CRC-16/MCRF4XX for "123456789".
        assert_eq!(x25_crc(0xFFFF, b"123456789"), 0x6F91);
    }

    #[test]
    fn known_and_unknown_ids() {
        assert_eq!(crc_extra(0), Some(50)); // HEARTBEAT
        assert_eq!(
            crc_extra(59900),
            Some(<crate::dialect::UTKIK_TRACK_DATA as mavlink_core::MessageData>::EXTRA_CRC)
        );
        assert_eq!(crc_extra(59999), None);
        assert_eq!(crc_extra(0xFF_FFFF), None);
    }
}
