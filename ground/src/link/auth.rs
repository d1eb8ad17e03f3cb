//! What the ground station believes of a frame (issue 14 item 2). Frames in our dialect and
//! image transfers ([`must_be_signed`]) are acted on only when MAVLink 2 signed with the key of
//! their system id and newer than anything accepted on their stream; anything else of that kind
//! is refused and counted by reason, so a forged UTKIK_BIOMETRIC_MATCH or evidence image from
//! anyone in radio range never reaches the operator. Standard autopilot telemetry may be
//! unsigned: it is shown, marked unsigned, but a UDP route is learned only from a verified frame
//! (spoofed peers cannot displace the drone in [`super::routes`]).
//!
//! The replay window and the last timestamp we signed with are saved ([`LinkState`], written
//! atomically) soon after they change and when the link stops, so a restart of the ground
//! station does not reopen the door to frames recorded before it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mavlink_core::MavHeader;
use utkik_shared::dialect::MavMessage;
use utkik_shared::link_signing::{
    LinkKeys, LinkState, LinkStateError, SignatureRefused, must_be_signed, sign_frame, signing_timestamp, verify_frame,
};
use utkik_shared::mavframe::{RawFrame, encode_v2};

/// File name of the ground's signing state in its state folder.
pub const SIGNING_STATE_FILE: &str = "link-signing-state.json";

/// Longest time a changed replay window stays unsaved. A crash loses at most this much: frames
/// accepted in it could be replayed once after a restart (alerts are deduplicated by id).
pub const STATE_SAVE_INTERVAL: Duration = Duration::from_millis(250);

/// Frames refused, by reason (shown in the health panel).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RefusedCounts {
    /// Not signed (or MAVLink 1) where a signature is required.
    pub unsigned: u64,
    /// Signed, but not with the key of its system id (forged, altered, another drone's key).
    pub bad_signature: u64,
    /// Signed with the right key, but replayed or older than the window allows (or our clock
    /// is not set).
    pub replayed: u64,
    /// From a system id we hold no key for.
    pub unknown_system: u64,
}

impl RefusedCounts {
    /// All refused frames.
    pub fn total(&self) -> u64 {
        self.unsigned + self.bad_signature + self.replayed + self.unknown_system
    }
}

/// Why a frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No key for the system id.
    #[error("no link key for system {0}")]
    UnknownSystem(u8),
    /// The signature check failed.
    #[error("{0}")]
    Signature(#[from] SignatureRefused),
}

/// Whether a frame the ground acts on was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authenticity {
    /// Signed with its system's key, not replayed.
    Verified,
    /// Standard telemetry without a (checked) signature: shown, marked unsigned.
    Unsigned,
}

/// The ground's signing keys and state.
#[derive(Debug)]
pub struct FrameAuth {
    keys: Option<LinkKeys>,
    state: LinkState,
    state_file: Option<PathBuf>,
    unsaved_since: Option<Instant>,
    /// Frames refused so far.
    pub refused: RefusedCounts,
}

impl FrameAuth {
    /// Keys and a saved state (`state_file`; missing: first start). Without keys nothing can
    /// be verified and every frame is taken as unsigned (tests and tools that never sign).
    ///
    /// # Errors
    /// A state file that exists but cannot be read: refusing to start beats forgetting it.
    pub fn new(keys: Option<LinkKeys>, state_file: Option<PathBuf>) -> Result<Self, LinkStateError> {
        let state = match &state_file {
            Some(p) => LinkState::load(p)?,
            None => LinkState::default(),
        };
        Ok(Self {
            keys,
            state,
            state_file,
            unsaved_since: None,
            refused: RefusedCounts::default(),
        })
    }

    /// Whether frames are checked at all.
    pub fn has_keys(&self) -> bool {
        self.keys.is_some()
    }

    /// Checks a received frame at `now_usec` (Unix µs). On refusal the reason is counted.
    ///
    /// # Errors
    /// [`Refusal`]: the frame must not be acted on, recorded as genuine or learned as a route.
    pub fn check(&mut self, frame: &RawFrame, now_usec: u64) -> Result<Authenticity, Refusal> {
        let Some(keys) = &self.keys else {
            return Ok(Authenticity::Unsigned);
        };
        let required = must_be_signed(frame.msg_id());
        if !required && !frame.is_signed() {
            return Ok(Authenticity::Unsigned);
        }
        let result = match keys.for_system(frame.sysid()) {
            None => Err(Refusal::UnknownSystem(frame.sysid())),
            Some(key) => verify_frame(frame.as_bytes(), key, &mut self.state.window, now_usec)
                .map(|_| Authenticity::Verified)
                .map_err(Refusal::from),
        };
        match result {
            Ok(a) => {
                if self.state.window.take_changed() {
                    self.unsaved_since.get_or_insert_with(Instant::now);
                }
                Ok(a)
            }
            // A signed standard frame from a system without a key: shown as unsigned (its
            // signature means nothing to us), never a route.
            Err(Refusal::UnknownSystem(_)) if !required => Ok(Authenticity::Unsigned),
            Err(r) => {
                let c = &mut self.refused;
                match r {
                    Refusal::UnknownSystem(_) => c.unknown_system += 1,
                    Refusal::Signature(SignatureRefused::Unsigned | SignatureRefused::MavlinkV1) => c.unsigned += 1,
                    Refusal::Signature(SignatureRefused::BadSignature | SignatureRefused::Malformed) => {
                        c.bad_signature += 1
                    }
                    Refusal::Signature(
                        SignatureRefused::Replayed { .. }
                        | SignatureRefused::Stale { .. }
                        | SignatureRefused::ClockNotSet { .. },
                    ) => c.replayed += 1,
                }
                Err(r)
            }
        }
    }

    /// Encodes `msg` for system `target`: signed with its key (timestamps above every one we
    /// signed before, across restarts), unsigned when we hold none.
    pub fn encode(&mut self, target: u8, header: MavHeader, msg: &MavMessage, now_usec: u64) -> Vec<u8> {
        match self.keys.as_ref().and_then(|k| k.for_system(target)) {
            Some(key) => {
                let timestamp = signing_timestamp(now_usec).max(self.state.sent_timestamp + 1);
                self.state.sent_timestamp = timestamp;
                self.unsaved_since.get_or_insert_with(Instant::now);
                sign_frame(key, header, msg, timestamp)
            }
            None => encode_v2(header, msg),
        }
    }

    /// Saves the state if it changed more than [`STATE_SAVE_INTERVAL`] ago (or `force`).
    ///
    /// # Errors
    /// The state file could not be written (it stays due: the next call tries again).
    pub fn save_if_due(&mut self, force: bool) -> Result<(), LinkStateError> {
        let (Some(path), Some(since)) = (&self.state_file, self.unsaved_since) else {
            return Ok(());
        };
        if force || since.elapsed() >= STATE_SAVE_INTERVAL {
            self.state.save(path)?;
            self.unsaved_since = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::dialect::{HEARTBEAT_DATA, UTKIK_BIOMETRIC_MATCH_DATA};
    use utkik_shared::link_signing::LinkKey;

    const NOW_USEC: u64 = 1_780_272_000_000_000;

    fn key(b: u8) -> LinkKey {
        LinkKey {
            link_id: 1,
            secret_key: [b; 32],
        }
    }

    fn keys() -> LinkKeys {
        LinkKeys::per_system([(1, key(1)), (2, key(2))])
    }

    fn from(sys: u8, seq: u8) -> MavHeader {
        MavHeader {
            system_id: sys.into(),
            component_id: 191,
            sequence: seq,
        }
    }

    fn forged_match() -> MavMessage {
        MavMessage::UTKIK_BIOMETRIC_MATCH(UTKIK_BIOMETRIC_MATCH_DATA {
            alert_id: 9,
            ..Default::default()
        })
    }

    fn frame(bytes: Vec<u8>) -> RawFrame {
        RawFrame::parse(&bytes).unwrap()
    }

    #[test]
    fn a_forged_match_is_refused_and_counted_by_reason() {
        let mut auth = FrameAuth::new(Some(keys()), None).unwrap();
        let t = signing_timestamp(NOW_USEC);
        // Unsigned.
        let unsigned = frame(encode_v2(from(1, 0), &forged_match()));
        assert_eq!(
            auth.check(&unsigned, NOW_USEC),
            Err(Refusal::Signature(SignatureRefused::Unsigned))
        );
        // Signed with another drone's key (drone 2 forging drone 1).
        let other = frame(sign_frame(&key(2), from(1, 1), &forged_match(), t));
        assert_eq!(
            auth.check(&other, NOW_USEC),
            Err(Refusal::Signature(SignatureRefused::BadSignature))
        );
        // From a system we hold no key for.
        let stranger = frame(sign_frame(&key(7), from(7, 0), &forged_match(), t));
        assert_eq!(auth.check(&stranger, NOW_USEC), Err(Refusal::UnknownSystem(7)));
        // The genuine one passes once; its replay does not.
        let genuine = frame(sign_frame(&key(1), from(1, 2), &forged_match(), t));
        assert_eq!(auth.check(&genuine, NOW_USEC), Ok(Authenticity::Verified));
        assert!(matches!(
            auth.check(&genuine, NOW_USEC),
            Err(Refusal::Signature(SignatureRefused::Replayed { .. }))
        ));
        assert_eq!(
            auth.refused,
            RefusedCounts {
                unsigned: 1,
                bad_signature: 1,
                replayed: 1,
                unknown_system: 1
            }
        );
        assert_eq!(auth.refused.total(), 4);
    }

    #[test]
    fn unsigned_autopilot_telemetry_is_shown_as_unsigned_but_a_bad_signature_is_refused() {
        let mut auth = FrameAuth::new(Some(keys()), None).unwrap();
        let hb = MavMessage::HEARTBEAT(HEARTBEAT_DATA::default());
        let plain = frame(encode_v2(from(1, 0), &hb));
        assert_eq!(auth.check(&plain, NOW_USEC), Ok(Authenticity::Unsigned));
        let signed = frame(sign_frame(&key(1), from(1, 1), &hb, signing_timestamp(NOW_USEC)));
        assert_eq!(auth.check(&signed, NOW_USEC), Ok(Authenticity::Verified));
        let forged = frame(sign_frame(&key(9), from(1, 2), &hb, signing_timestamp(NOW_USEC) + 1));
        assert!(
            auth.check(&forged, NOW_USEC).is_err(),
            "a signature that lies is refused"
        );
        assert_eq!(auth.refused.bad_signature, 1);
        // No keys configured: nothing is verified, nothing refused.
        let mut none = FrameAuth::new(None, None).unwrap();
        let m = frame(encode_v2(from(1, 0), &forged_match()));
        assert_eq!(none.check(&m, NOW_USEC), Ok(Authenticity::Unsigned));
    }

    #[test]
    fn the_window_survives_a_restart_of_the_ground_station() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SIGNING_STATE_FILE);
        let genuine = frame(sign_frame(
            &key(1),
            from(1, 0),
            &forged_match(),
            signing_timestamp(NOW_USEC),
        ));
        {
            let mut auth = FrameAuth::new(Some(keys()), Some(path.clone())).unwrap();
            assert_eq!(auth.check(&genuine, NOW_USEC), Ok(Authenticity::Verified));
            auth.save_if_due(true).unwrap();
        }
        let later = NOW_USEC + 5_000_000;
        // Control: a station that forgot its window would take the recording again.
        let mut forgetful = FrameAuth::new(Some(keys()), None).unwrap();
        assert_eq!(forgetful.check(&genuine, later), Ok(Authenticity::Verified));
        let mut restarted = FrameAuth::new(Some(keys()), Some(path)).unwrap();
        assert!(matches!(
            restarted.check(&genuine, later),
            Err(Refusal::Signature(SignatureRefused::Replayed { .. }))
        ));
        assert_eq!(restarted.refused.replayed, 1);
    }

    #[test]
    fn commands_are_signed_with_the_target_drones_key_and_never_go_back_in_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SIGNING_STATE_FILE);
        let hb = MavMessage::HEARTBEAT(HEARTBEAT_DATA::default());
        let gcs = MavHeader {
            system_id: 255,
            component_id: 190,
            sequence: 0,
        };
        let mut auth = FrameAuth::new(Some(keys()), Some(path.clone())).unwrap();
        let to1 = auth.encode(1, gcs, &hb, NOW_USEC);
        let to2 = auth.encode(2, gcs, &hb, NOW_USEC);
        let mut w = utkik_shared::link_signing::ReplayWindow::new();
        assert!(verify_frame(&to1, &key(1), &mut w, NOW_USEC).is_ok());
        assert!(verify_frame(&to2, &key(1), &mut w, NOW_USEC).is_err(), "drone 2's key");
        assert!(verify_frame(&to2, &key(2), &mut w, NOW_USEC).is_ok());
        assert_eq!(auth.encode(3, gcs, &hb, NOW_USEC)[2] & 1, 0, "no key: unsigned");
        auth.save_if_due(true).unwrap();
        // Restarted with the clock an hour behind: still newer than what drone 1 last saw.
        let mut again = FrameAuth::new(Some(keys()), Some(path)).unwrap();
        let next = again.encode(1, gcs, &hb, NOW_USEC - 3_600_000_000);
        assert!(verify_frame(&next, &key(1), &mut w, NOW_USEC).is_ok());
    }
}
