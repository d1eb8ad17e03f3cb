//! Round trips, hand-annotated byte fixtures and garbage handling of
//! [`RawFrame`] and [`FrameDecoder`].

use mavlink_core::MavHeader;

use super::*;
use crate::dialect::{
    ATTITUDE_DATA, HEARTBEAT_DATA, MavAutopilot, MavMessage, MavModeFlag, MavState, MavType,
    UTKIK_PIPELINE_STATUS_DATA, UTKIK_PLATE_READ_DATA,
};

/// HEARTBEAT as MAVLink 1, bytes produced by pymavlink 2.4.50
/// (`MAVLink_heartbeat_message(2, 3, 0x51, 4, 4, 3)`, sysid 1, compid 1, seq 7).
const HEARTBEAT_V1: [u8; 17] = [
    0xFE, // STX: MAVLink 1
    0x09, // payload length 9
    0x07, // sequence 7
    0x01, // system id 1
    0x01, // component id 1 (autopilot)
    0x00, // message id 0 = HEARTBEAT
    // payload, fields sorted by size (uint32 first), little endian:
    0x04, 0x00, 0x00, 0x00, // custom_mode = 4
    0x02, // type = MAV_TYPE_QUADROTOR
    0x03, // autopilot = MAV_AUTOPILOT_ARDUPILOTMEGA
    0x51, // base_mode = 0x51 (CUSTOM_MODE_ENABLED | STABILIZE_ENABLED | SAFETY_ARMED... bits 0x01|0x10|0x40)
    0x04, // system_status = MAV_STATE_ACTIVE
    0x03, // mavlink_version = 3
    0x66, 0x1D, // CRC-16/MCRF4XX over bytes 1..15 + CRC_EXTRA 50, little endian (0x1D66)
];

/// The same HEARTBEAT as MAVLink 2, bytes produced by pymavlink 2.4.50.
const HEARTBEAT_V2: [u8; 21] = [
    0xFD, // STX: MAVLink 2
    0x09, // payload length 9 (no trailing zero to trim: the last byte is 3)
    0x00, // incompatibility flags: not signed
    0x00, // compatibility flags
    0x07, // sequence 7
    0x01, // system id 1
    0x01, // component id 1
    0x00, 0x00, 0x00, // message id 0, 24-bit little endian
    0x04, 0x00, 0x00, 0x00, 0x02, 0x03, 0x51, 0x04, 0x03, // payload as in v1
    0x38, 0x1C, // CRC over bytes 1..19 + CRC_EXTRA 50 (0x1C38)
];

fn expected_heartbeat() -> HEARTBEAT_DATA {
    HEARTBEAT_DATA {
        custom_mode: 4,
        mavtype: MavType::MAV_TYPE_QUADROTOR,
        autopilot: MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
        base_mode: MavModeFlag::from_bits_truncate(0x51),
        system_status: MavState::MAV_STATE_ACTIVE,
        mavlink_version: 3,
    }
}

fn hdr(seq: u8) -> MavHeader {
    MavHeader {
        system_id: 42,
        component_id: 191,
        sequence: seq,
    }
}

/// A mixed stream: v1 and v2, a common message, an extension-field message, a char array.
fn sample_frames() -> Vec<RawFrame> {
    let mut plate = UTKIK_PLATE_READ_DATA {
        time_usec: 1_700_000_000_000_000,
        track_id: 9,
        confidence: 88,
        ..Default::default()
    };
    plate.plate[..6].copy_from_slice(b"ABC123");
    vec![
        RawFrame::parse(&HEARTBEAT_V1).unwrap(),
        RawFrame::encode(
            MavVersion::V2,
            hdr(1),
            &MavMessage::ATTITUDE(ATTITUDE_DATA {
                time_boot_ms: 1234,
                roll: 0.25,
                pitch: -0.5,
                yaw: 3.0,
                ..Default::default()
            }),
        ),
        RawFrame::encode(MavVersion::V2, hdr(2), &MavMessage::UTKIK_PLATE_READ(plate)),
        RawFrame::encode(
            MavVersion::V2,
            hdr(3),
            &MavMessage::UTKIK_PIPELINE_STATUS(UTKIK_PIPELINE_STATUS_DATA {
                frames_in: 100,
                mem_rss: 65_000,
                video_state: 1,
                ..Default::default()
            }),
        ),
        RawFrame::encode(
            MavVersion::V1,
            hdr(4),
            &MavMessage::ATTITUDE(ATTITUDE_DATA {
                yaw: -1.0,
                ..Default::default()
            }),
        ),
        RawFrame::parse(&HEARTBEAT_V2).unwrap(),
    ]
}

fn concat(frames: &[RawFrame]) -> Vec<u8> {
    frames.iter().flat_map(|f| f.as_bytes().iter().copied()).collect()
}

#[test]
fn heartbeat_v1_fixture_fields() {
    let f = RawFrame::parse(&HEARTBEAT_V1).unwrap();
    assert_eq!(f.version(), MavVersion::V1);
    assert_eq!((f.seq(), f.sysid(), f.compid(), f.msg_id()), (7, 1, 1, 0));
    assert_eq!(f.payload(), &HEARTBEAT_V1[6..15]);
    assert_eq!(f.checksum(), 0x1D66);
    assert!(!f.is_signed());
    assert_eq!(
        f.decode::<MavMessage>().unwrap(),
        MavMessage::HEARTBEAT(expected_heartbeat())
    );
    // Our encoder produces the same bytes as pymavlink.
    let ours = RawFrame::encode(
        MavVersion::V1,
        MavHeader {
            system_id: 1,
            component_id: 1,
            sequence: 7,
        },
        &MavMessage::HEARTBEAT(expected_heartbeat()),
    );
    assert_eq!(ours.as_bytes(), &HEARTBEAT_V1);
}

#[test]
fn heartbeat_v2_fixture_fields() {
    let f = RawFrame::parse(&HEARTBEAT_V2).unwrap();
    assert_eq!(f.version(), MavVersion::V2);
    assert_eq!((f.seq(), f.sysid(), f.compid(), f.msg_id()), (7, 1, 1, 0));
    assert_eq!(f.checksum(), 0x1C38);
    assert_eq!(
        f.decode::<MavMessage>().unwrap(),
        MavMessage::HEARTBEAT(expected_heartbeat())
    );
    let ours = RawFrame::encode(
        MavVersion::V2,
        MavHeader {
            system_id: 1,
            component_id: 1,
            sequence: 7,
        },
        &MavMessage::HEARTBEAT(expected_heartbeat()),
    );
    assert_eq!(ours.as_bytes(), &HEARTBEAT_V2);
}

#[test]
fn parse_names_what_is_wrong() {
    let mut bad = HEARTBEAT_V2;
    bad[12] ^= 0xFF;
    assert!(matches!(
        RawFrame::parse(&bad),
        Err(FrameError::BadCrc { msg_id: 0, .. })
    ));
    assert_eq!(
        RawFrame::parse(&HEARTBEAT_V2[..15]),
        Err(FrameError::Incomplete { have: 15, need: 21 })
    );
    assert_eq!(RawFrame::parse(&[0x55, 1, 2]), Err(FrameError::BadMagic(0x55)));
    let mut flags = HEARTBEAT_V2;
    flags[2] = 0x02;
    assert_eq!(RawFrame::parse(&flags), Err(FrameError::IncompatFlags(0x02)));
    let mut long = HEARTBEAT_V1.to_vec();
    long.push(0);
    assert_eq!(RawFrame::parse(&long), Err(FrameError::TrailingBytes { extra: 1 }));
    let mut unknown = HEARTBEAT_V2;
    unknown[7..10].copy_from_slice(&[0x5F, 0xEA, 0x00]); // 59999: in our block, not defined
    assert_eq!(RawFrame::parse(&unknown), Err(FrameError::UnknownMsgId(59999)));
}

#[test]
fn encode_decode_round_trip_every_sample() {
    for f in sample_frames() {
        let msg: MavMessage = f.decode().unwrap();
        let again = RawFrame::encode(f.version(), f.header(), &msg);
        assert_eq!(again, f);
        assert_eq!(RawFrame::parse(f.as_bytes()).unwrap(), f);
    }
}

#[test]
fn whole_stream_at_once_and_byte_at_a_time_agree() {
    let frames = sample_frames();
    let bytes = concat(&frames);
    let mut dec = FrameDecoder::new();
    assert_eq!(dec.push_collect(&bytes), frames);
    assert_eq!(dec.stats().frames, frames.len() as u64);
    assert_eq!(dec.stats().garbage_bytes, 0);

    let mut dec = FrameDecoder::new();
    let mut got = Vec::new();
    for b in &bytes {
        got.extend(dec.push_collect(std::slice::from_ref(b)));
    }
    assert_eq!(got, frames);
    assert_eq!(dec.pending_bytes(), 0);
    assert_eq!(
        dec.stats(),
        DecoderStats {
            frames: frames.len() as u64,
            ..Default::default()
        }
    );
}

#[test]
fn every_split_point_gives_the_same_frames() {
    let frames = sample_frames();
    let bytes = concat(&frames);
    for cut in 0..bytes.len() {
        let mut dec = FrameDecoder::new();
        let mut got = dec.push_collect(&bytes[..cut]);
        got.extend(dec.push_collect(&bytes[cut..]));
        assert_eq!(got, frames, "split at {cut}");
    }
}

#[test]
fn garbage_is_counted_and_skipped() {
    let frames = sample_frames();
    let noise: Vec<u8> = vec![0x00, 0x11, 0xFD, 0x22, 0xFE, 0x05, 0x33, 0x44, 0x55];
    let mut stream = noise.clone();
    for f in &frames {
        stream.extend_from_slice(f.as_bytes());
        stream.extend_from_slice(&[0xAA, 0xBB]);
    }
    let mut dec = FrameDecoder::new();
    let mut got = Vec::new();
    for chunk in stream.chunks(7) {
        got.extend(dec.push_collect(chunk));
    }
    assert_eq!(got, frames);
    let s = dec.stats();
    assert_eq!(s.frames, frames.len() as u64);
    assert_eq!(s.garbage_bytes, (noise.len() + 2 * frames.len()) as u64);
}

#[test]
fn bad_crc_frame_is_counted_and_the_next_good_one_kept() {
    let frames = sample_frames();
    let mut bad = frames[1].as_bytes().to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    let mut stream = bad.clone();
    stream.extend_from_slice(frames[2].as_bytes());
    let mut dec = FrameDecoder::new();
    let got = dec.push_collect(&stream);
    assert_eq!(got, vec![frames[2].clone()]);
    assert_eq!(dec.stats().bad_crc, 1);
    assert_eq!(dec.stats().garbage_bytes, bad.len() as u64);
}

#[test]
fn good_frame_starting_inside_a_false_start_is_found() {
    // A start byte announcing a 200-byte payload swallows the next frame if
    // the decoder trusted it; it must drop just that byte and resync.
    let frames = sample_frames();
    let mut stream = vec![0xFD, 200, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00];
    for f in &frames {
        stream.extend_from_slice(f.as_bytes());
    }
    let mut dec = FrameDecoder::new();
    let mut got = Vec::new();
    for b in &stream {
        got.extend(dec.push_collect(std::slice::from_ref(b)));
    }
    assert_eq!(got, frames);
    assert_eq!(dec.stats().bad_crc, 1);
    assert_eq!(dec.stats().garbage_bytes, 10);
}

#[test]
fn unknown_message_id_is_counted() {
    let mut unknown = HEARTBEAT_V2;
    unknown[7..10].copy_from_slice(&[0x5F, 0xEA, 0x00]);
    let mut stream = unknown.to_vec();
    stream.extend_from_slice(&HEARTBEAT_V1);
    let mut dec = FrameDecoder::new();
    let got = dec.push_collect(&stream);
    assert_eq!(got, vec![RawFrame::parse(&HEARTBEAT_V1).unwrap()]);
    assert_eq!(dec.stats().unknown_msg_id, 1);
    assert_eq!(dec.stats().garbage_bytes, HEARTBEAT_V2.len() as u64);
}

#[test]
fn signed_frame_keeps_its_signature() {
    // Sign with mavlink-core's own signer, then decode with ours.
    use mavlink_core::{MavlinkVersion, SigningConfig, SigningData};
    let config = SigningConfig::new([7u8; 32], 3, true, false);
    let signing = SigningData::from_config(config);
    let mut bytes = Vec::new();
    mavlink_core::write_versioned_msg_signed(
        &mut bytes,
        MavlinkVersion::V2,
        hdr(9),
        &MavMessage::HEARTBEAT(expected_heartbeat()),
        Some(&signing),
    )
    .unwrap();
    let mut dec = FrameDecoder::new();
    let mut got = Vec::new();
    for b in &bytes {
        got.extend(dec.push_collect(std::slice::from_ref(b)));
    }
    assert_eq!(got.len(), 1);
    let f = &got[0];
    assert!(f.is_signed());
    assert_eq!(f.as_bytes(), bytes.as_slice());
    assert_eq!(f.signature().unwrap().len(), SIGNATURE_LEN);
    assert_eq!(f.signature().unwrap()[0], 3); // link id
    assert_eq!(
        f.decode::<MavMessage>().unwrap(),
        MavMessage::HEARTBEAT(expected_heartbeat())
    );
}

#[test]
fn finish_counts_a_dangling_partial_frame() {
    let mut dec = FrameDecoder::new();
    assert!(dec.push_collect(&HEARTBEAT_V2[..12]).is_empty());
    assert_eq!(dec.pending_bytes(), 12);
    assert!(dec.finish().is_empty());
    assert_eq!(dec.stats().garbage_bytes, 12);
    assert_eq!(dec.pending_bytes(), 0);
}

// The checks below come from the ground's and the onboard's former local decoders
// (ground/src/link/decode.rs, onboard/src/telemetry/decoder.rs): messages with their header
// and exact bytes, resynchronisation inside garbage and corrupt copies, the counters.

/// HEARTBEAT_V2 with its `type` byte set to a value MAV_TYPE does not have, CRC fixed up:
/// a whole, CRC-valid frame whose payload does not parse.
fn undecodable_heartbeat() -> Vec<u8> {
    let mut f = HEARTBEAT_V2.to_vec();
    f[14] = 250; // type
    let crc = x25_crc(x25_crc(0xFFFF, &f[1..19]), &[crc_extra(0).unwrap()]);
    f[19..21].copy_from_slice(&crc.to_le_bytes());
    f
}

#[test]
fn messages_keep_header_and_exact_bytes_through_garbage_in_small_chunks() {
    let frames = sample_frames();
    let mut stream = vec![1u8, 2, 3, MAGIC_V2, 0];
    for f in &frames {
        stream.extend_from_slice(f.as_bytes());
    }
    let mut dec = FrameDecoder::new();
    let mut got = Vec::new();
    for chunk in stream.chunks(7) {
        got.extend(dec.push_messages(chunk));
    }
    assert_eq!(got.len(), frames.len());
    for (d, f) in got.iter().zip(&frames) {
        assert_eq!(&d.frame, f);
        assert_eq!(d.header(), f.header());
        assert_eq!(d.message, f.decode::<MavMessage>().unwrap());
    }
    let s = dec.stats();
    assert_eq!((s.frames, s.messages), (frames.len() as u64, frames.len() as u64));
    assert_eq!(s.garbage_bytes, 5);
    assert_eq!(s.bad_frames(), 0);
}

#[test]
fn a_corrupted_copy_loses_only_its_own_frame() {
    let frames = sample_frames();
    let good = concat(&frames);
    let mut stream = b"hello\xFD\x05garbage".to_vec();
    stream.extend(&good);
    let mut corrupted = good.clone();
    corrupted[HEARTBEAT_V1.len() + 12] ^= 0xFF; // a payload byte of the second frame: CRC fails
    stream.extend(&corrupted);
    let mut dec = FrameDecoder::new();
    let got: Vec<MavMessage> = dec.push_messages(&stream).into_iter().map(|d| d.message).collect();
    let want: Vec<MavMessage> = frames
        .iter()
        .chain(frames.iter().enumerate().filter(|(i, _)| *i != 1).map(|(_, f)| f))
        .map(|f| f.decode().unwrap())
        .collect();
    assert_eq!(got, want);
    let s = dec.stats();
    assert!(s.bad_crc >= 1 && s.bad_frames() >= 1, "{s:?}");
    assert!(
        s.garbage_bytes >= (5 + 2 + 7 + frames[1].as_bytes().len()) as u64,
        "{s:?}"
    );
}

#[test]
fn a_frame_whose_payload_does_not_parse_is_counted_not_delivered_as_a_message() {
    let bad = undecodable_heartbeat();
    assert!(RawFrame::parse(&bad).is_ok(), "CRC-valid frame");
    let mut stream = bad.clone();
    stream.extend_from_slice(&HEARTBEAT_V2);
    let mut dec = FrameDecoder::new();
    let got = dec.push_messages(&stream);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message, MavMessage::HEARTBEAT(expected_heartbeat()));
    let s = dec.stats();
    assert_eq!((s.frames, s.messages, s.undecodable), (2, 1, 1));
    assert_eq!(s.bad_frames(), 1);
    assert_eq!(s.garbage_bytes, 0, "a whole frame, not line noise");
    // next_frame still hands it out whole (a caller that records raw frames keeps it).
    let mut dec = FrameDecoder::new();
    assert_eq!(dec.push_collect(&bad).len(), 1);
}

#[test]
fn encode_v2_is_the_unsigned_v2_encoding() {
    let h = MavHeader {
        system_id: 1,
        component_id: 1,
        sequence: 7,
    };
    assert_eq!(
        encode_v2(h, &MavMessage::HEARTBEAT(expected_heartbeat())),
        HEARTBEAT_V2.to_vec()
    );
}

#[test]
fn finish_delivers_a_frame_behind_an_incomplete_candidate() {
    // Found by fuzzing (fuzz target `mavframe_decoder`): a stray start byte announcing 200 bytes
    // of payload, then a whole frame, then the end of the stream. `finish` used to drop the
    // pending bytes whole and the frame with them.
    let mut stream = vec![MAGIC_V2, 200, 0];
    stream.extend_from_slice(&HEARTBEAT_V2);
    let mut dec = FrameDecoder::new();
    assert!(
        dec.push_collect(&stream).is_empty(),
        "the candidate could still complete"
    );
    let tail = dec.finish();
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].as_bytes(), &HEARTBEAT_V2[..]);
    let s = dec.stats();
    assert_eq!((s.frames, s.garbage_bytes), (1, 3), "{s:?}");
    assert_eq!(dec.pending_bytes(), 0);
}
