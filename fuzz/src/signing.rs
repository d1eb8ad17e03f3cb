//! Target `link_signature`: [`verify_frame`] (the one signature check of the ground and the drone)
//! on a sequence of frames against one replay window.
//!
//! Each step is raw bytes, or a frame of our dialect signed with the link key or with another key,
//! optionally altered by one XOR. Properties:
//! - no panic;
//! - an accepted frame carries the signature of the key: the first 6 bytes of
//!   SHA-256(key || frame up to the signature value), computed here with `sha2`, independently
//!   of mavlink-core -- so a frame not signed with the key is never accepted;
//! - an accepted frame's timestamp is above the last one accepted on its stream (no replay);
//! - a frame signed with the key and not altered is never refused as malformed, unsigned or badly
//!   signed (only the replay rules may refuse it).

use arbitrary::{Arbitrary, Unstructured};
use mavlink_core::{MavHeader, Message};
use sha2::{Digest, Sha256};
use utkik_shared::dialect::MavMessage;
use utkik_shared::link_signing::{
    CLOCK_FLOOR_UNIX_S, LinkKey, ReplayWindow, SignatureRefused, StreamId, sign_frame, signing_timestamp, verify_frame,
};

use crate::mavframe::known_ids;

/// The key of the link under test (the DEMO link key's bytes do not matter here).
const KEY: [u8; 32] = [0x5A; 32];

#[derive(Debug, Arbitrary)]
enum Step {
    Raw(Vec<u8>),
    Signed {
        /// Sign with [`KEY`] (`None`) or with this other key.
        other_key: Option<[u8; 32]>,
        link_id: u8,
        id_index: u16,
        payload: Vec<u8>,
        seq: u8,
        sysid: u8,
        compid: u8,
        /// Signing timestamp relative to the local clock (10 µs units).
        ts_delta: i32,
        corrupt: Option<(u16, u8)>,
    },
}

#[derive(Debug, Arbitrary)]
struct Input {
    /// Local clock: seconds after the clock floor.
    clock_s: u32,
    /// Clock advance per step, µs.
    tick_usec: u16,
    steps: Vec<Step>,
}

/// The MAVLink 2 signature of `frame` under `key`, computed from the spec.
fn spec_signature(key: &[u8; 32], frame: &[u8]) -> [u8; 6] {
    let mut h = Sha256::new();
    h.update(key);
    h.update(&frame[..frame.len() - 6]);
    h.finalize()[..6].try_into().expect("6 bytes")
}

/// The target.
pub fn link_signature(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let key = LinkKey {
        link_id: 1,
        secret_key: KEY,
    };
    let mut window = ReplayWindow::new();
    let mut now_usec = (CLOCK_FLOOR_UNIX_S + u64::from(input.clock_s)) * 1_000_000;
    for step in &input.steps {
        now_usec += u64::from(input.tick_usec);
        let (frame, pristine) = match step {
            Step::Raw(b) => (b.clone(), false),
            Step::Signed {
                other_key,
                link_id,
                id_index,
                payload,
                seq,
                sysid,
                compid,
                ts_delta,
                corrupt,
            } => {
                let ids = known_ids();
                let id = ids[*id_index as usize % ids.len()];
                let msg = MavMessage::parse(mavlink_core::MavlinkVersion::V2, id, payload)
                    .unwrap_or_else(|_| MavMessage::default_message_from_id(id).expect("known id"));
                let signer = LinkKey {
                    link_id: *link_id,
                    secret_key: other_key.unwrap_or(KEY),
                };
                let ts = signing_timestamp(now_usec).saturating_add_signed(i64::from(*ts_delta)) & 0xFFFF_FFFF_FFFF;
                let header = MavHeader {
                    system_id: u32::from(*sysid),
                    component_id: *compid,
                    sequence: *seq,
                };
                let mut f = sign_frame(&signer, header, &msg, ts);
                let mut altered = false;
                if let Some((pos, mask)) = corrupt
                    && *mask != 0
                {
                    let at = *pos as usize % f.len();
                    f[at] ^= mask;
                    altered = true;
                }
                (f, other_key.is_none_or(|k| k == KEY) && !altered)
            }
        };
        let before = window.clone();
        match verify_frame(&frame, &key, &mut window, now_usec) {
            Ok(v) => {
                assert!(frame.len() >= 12 + 13, "accepted a frame too short to be signed");
                assert_eq!(
                    spec_signature(&KEY, &frame),
                    frame[frame.len() - 6..],
                    "accepted a frame not signed with the key"
                );
                let stream = StreamId {
                    link_id: frame[frame.len() - 13],
                    system_id: frame[5],
                    component_id: frame[6],
                };
                assert_eq!(v.stream, stream, "stream of the accepted frame");
                if let Some(last) = before.last(stream) {
                    assert!(
                        v.timestamp > last,
                        "replayed timestamp {} <= {last} accepted",
                        v.timestamp
                    );
                }
                assert_eq!(
                    window.last(stream),
                    Some(v.timestamp),
                    "window records the accepted timestamp"
                );
            }
            Err(e) => {
                assert_eq!(window, before, "a refused frame leaves the window unchanged");
                if pristine {
                    assert!(
                        !matches!(
                            e,
                            SignatureRefused::Malformed | SignatureRefused::Unsigned | SignatureRefused::BadSignature
                        ),
                        "a frame signed with the key refused: {e}"
                    );
                }
            }
        }
    }
}
