//! The Utkik MAVLink dialect: `common.xml` plus our messages (ids 59900-59999),
//! generated at build time from `shared/mavlink/utkik.xml` by `mavlink-bindgen`.
//!
//! Use [`MavMessage`] for everything on the link: it contains every common
//! message as well, so standard telemetry and our metadata share one type.

#[allow(
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    clippy::all,
    unused_imports,
    deprecated,
    unexpected_cfgs
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated/dialect_module.rs"));
}

pub use generated::utkik::*;

/// First message id of the block we own (see the header of `utkik.xml`).
pub const UTKIK_MSG_ID_FIRST: u32 = 59900;
/// Last message id of the block we own.
pub const UTKIK_MSG_ID_LAST: u32 = 59999;

/// Where the build put the MAVLink XML our dialect was generated from (`utkik.xml` and the
/// `common.xml`, `standard.xml`, `minimal.xml` of the `mavlink` crate we link), so tests outside
/// this crate can generate a peer implementation (pymavlink) from exactly the same definitions.
pub const DEFINITIONS_DIR: &str = concat!(env!("OUT_DIR"), "/definitions");

/// Whether `id` is one of our own message ids.
pub fn is_utkik_message_id(id: u32) -> bool {
    (UTKIK_MSG_ID_FIRST..=UTKIK_MSG_ID_LAST).contains(&id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mavlink_core::{MavHeader, MavlinkVersion, Message};

    #[test]
    fn custom_messages_have_ids_in_our_block() {
        let msgs = [
            MavMessage::UTKIK_TRACK(UTKIK_TRACK_DATA::default()),
            MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA::default()),
            MavMessage::UTKIK_BIOMETRIC_MATCH(UTKIK_BIOMETRIC_MATCH_DATA::default()),
            MavMessage::UTKIK_AUTHZ_COMMAND(UTKIK_AUTHZ_COMMAND_DATA::default()),
            MavMessage::UTKIK_AUTHZ_STATUS(UTKIK_AUTHZ_STATUS_DATA::default()),
            MavMessage::UTKIK_ALERT_ACK(UTKIK_ALERT_ACK_DATA::default()),
            MavMessage::UTKIK_PIPELINE_STATUS(UTKIK_PIPELINE_STATUS_DATA::default()),
            MavMessage::UTKIK_UPLOAD_CHUNK(UTKIK_UPLOAD_CHUNK_DATA::default()),
            MavMessage::UTKIK_UPLOAD_ACK(UTKIK_UPLOAD_ACK_DATA::default()),
        ];
        for m in msgs {
            assert!(
                is_utkik_message_id(m.message_id()),
                "{} has id {}",
                m.message_name(),
                m.message_id()
            );
        }
    }

    #[test]
    fn extension_fields_survive_a_round_trip() {
        // Guards the `mav2-message-extensions` feature: without it the
        // generator drops `mem_rss` silently.
        let status = UTKIK_PIPELINE_STATUS_DATA {
            frames_in: 7,
            mem_rss: 123_456,
            video_state: 2,
            ..Default::default()
        };
        let msg = MavMessage::UTKIK_PIPELINE_STATUS(status);
        let mut buf = Vec::new();
        mavlink_core::write_versioned_msg(&mut buf, MavlinkVersion::V2, MavHeader::default(), &msg).unwrap();
        let mut reader = mavlink_core::MavlinkReader::new(buf.as_slice());
        let (_, back) = reader.read_message::<MavMessage>(MavlinkVersion::V2).unwrap();
        match back {
            MavMessage::UTKIK_PIPELINE_STATUS(s) => {
                assert_eq!(s.mem_rss, 123_456);
                assert_eq!(s.video_state, 2);
                assert_eq!(s.frames_in, 7);
            }
            other => panic!("got {}", other.message_name()),
        }
    }
}
