//! Authorizations on their way to a drone (urgent use started at the station, LAW.md 3.4): one
//! upload per vehicle at a time, driven by the link each frame ([`Uploads::due`]) and by the
//! drone's UTKIK_UPLOAD_ACK ([`Uploads::apply_ack`]). The transfer itself (chunking, window,
//! go-back on loss) is `utkik_shared::authz::upload::UploadSender`; this is the station's
//! bookkeeping around it: who started it, what it should do when the drone has stored it, and a
//! give-up time, so a dead link ends in a clear failure rather than a progress bar that never
//! moves.
//!
//! Times are seconds of the world's clock (Unix seconds live), passed in.

use std::collections::BTreeMap;

use utkik_shared::authz::AuthzDigest;
use utkik_shared::authz::upload::{UploadOutcome, UploadSender};
use utkik_shared::dialect::{MavMessage, UTKIK_UPLOAD_ACK_DATA};

/// An upload with no word from the drone for this long is given up, seconds.
pub const GIVE_UP_AFTER_S: f64 = 60.0;

/// One upload to one vehicle.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The transfer.
    pub sender: UploadSender,
    /// The document's decision id (for messages).
    pub decision_id: String,
    /// The digest the station computed: what the drone must answer STORED with.
    pub digest: AuthzDigest,
    /// Who started it: URGENT_START follows when the drone has stored it, if they are still
    /// signed in (their signature goes on the command).
    pub started_by: String,
    /// When the drone last answered (or the upload started), seconds.
    pub last_heard_s: f64,
}

/// How an upload ended.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadEvent {
    /// The drone verified and stored the document with this digest.
    Stored {
        /// Vehicle.
        system_id: u8,
        /// The digest the drone computed.
        digest: AuthzDigest,
        /// The one the station computed (they differ only if something is badly wrong).
        expected: AuthzDigest,
        /// Who started it.
        started_by: String,
        /// The decision id.
        decision_id: String,
        /// Seconds it took.
        took_s: f64,
        /// Chunks sent, resends included.
        chunks_sent: u64,
    },
    /// The drone refused it (its reason) or the station gave up (no answer).
    Failed {
        /// Vehicle.
        system_id: u8,
        /// The decision id.
        decision_id: String,
        /// The digest the station computed.
        expected: AuthzDigest,
        /// Why, in words.
        reason: String,
    },
}

/// The uploads in progress and their outcomes not yet taken.
#[derive(Debug, Default, Clone)]
pub struct Uploads {
    active: BTreeMap<u8, Upload>,
    events: Vec<UploadEvent>,
}

impl PartialEq for Uploads {
    fn eq(&self, other: &Self) -> bool {
        // The world compares in tests; an upload is compared by what identifies it.
        let key = |u: &Uploads| {
            u.active
                .iter()
                .map(|(s, a)| (*s, a.sender.upload_id(), a.sender.progress()))
                .collect::<Vec<_>>()
        };
        key(self) == key(other) && self.events == other.events
    }
}

impl Uploads {
    /// Starts an upload; one already running to that vehicle is replaced (and reported failed).
    pub fn start(&mut self, upload: Upload) {
        let sys = upload.sender.target_system();
        if let Some(old) = self.active.insert(sys, upload) {
            self.events.push(UploadEvent::Failed {
                system_id: sys,
                decision_id: old.decision_id,
                expected: old.digest,
                reason: "replaced by a newer upload".into(),
            });
        }
    }

    /// The upload in progress to `system_id`.
    pub fn get(&self, system_id: u8) -> Option<&Upload> {
        self.active.get(&system_id)
    }

    /// Every upload in progress.
    pub fn active(&self) -> impl Iterator<Item = &Upload> {
        self.active.values()
    }

    /// Takes a drone's UTKIK_UPLOAD_ACK.
    pub fn apply_ack(&mut self, system_id: u8, ack: &UTKIK_UPLOAD_ACK_DATA, time_s: f64) {
        let Some(u) = self.active.get_mut(&system_id) else {
            return;
        };
        if !u.sender.on_ack(system_id, ack, time_s) {
            return;
        }
        u.last_heard_s = time_s;
        let Some(outcome) = u.sender.outcome().cloned() else {
            return;
        };
        let u = self.active.remove(&system_id).expect("present");
        self.events.push(match outcome {
            UploadOutcome::Stored(digest) => UploadEvent::Stored {
                system_id,
                digest,
                expected: u.digest,
                started_by: u.started_by,
                decision_id: u.decision_id,
                took_s: u.sender.age_s(time_s),
                chunks_sent: u.sender.chunks_sent(),
            },
            UploadOutcome::Refused(reason) => UploadEvent::Failed {
                system_id,
                decision_id: u.decision_id,
                expected: u.digest,
                reason: format!("refused by the drone: {reason}"),
            },
        });
    }

    /// The chunks to send now, per vehicle; uploads the drone has not answered for
    /// [`GIVE_UP_AFTER_S`] are given up (an event says so).
    pub fn due(&mut self, now_s: f64) -> Vec<(u8, MavMessage)> {
        let dead: Vec<u8> = self
            .active
            .iter()
            .filter(|(_, u)| now_s - u.last_heard_s > GIVE_UP_AFTER_S)
            .map(|(s, _)| *s)
            .collect();
        for sys in dead {
            let u = self.active.remove(&sys).expect("present");
            let (got, total) = u.sender.progress();
            self.events.push(UploadEvent::Failed {
                system_id: sys,
                decision_id: u.decision_id,
                expected: u.digest,
                reason: format!(
                    "no answer from the drone for {GIVE_UP_AFTER_S:.0} s ({got} of {total} bytes acknowledged); check the link and start again"
                ),
            });
        }
        let mut out = Vec::new();
        for (sys, u) in &mut self.active {
            out.extend(u.sender.due(now_s).into_iter().map(|m| (*sys, m)));
        }
        out
    }

    /// Outcomes since the last call.
    pub fn take_events(&mut self) -> Vec<UploadEvent> {
        std::mem::take(&mut self.events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::authz::upload::{Received, UploadReceiver};

    fn upload(sys: u8, now_s: f64) -> Upload {
        Upload {
            sender: UploadSender::new(9, sys, 191, (0..1000u32).map(|i| i as u8).collect(), now_s),
            decision_id: "URGENT-cecilia-1".into(),
            digest: AuthzDigest([3; 32]),
            started_by: "cecilia".into(),
            last_heard_s: now_s,
        }
    }

    #[test]
    fn an_upload_ends_stored_when_the_drone_says_so_and_only_for_that_drone() {
        let mut u = Uploads::default();
        u.start(upload(1, 0.0));
        let mut rx = UploadReceiver::new(4096);
        let mut complete = None;
        for (sys, m) in u.due(0.0) {
            assert_eq!(sys, 1);
            let MavMessage::UTKIK_UPLOAD_CHUNK(c) = m else { panic!() };
            match rx.chunk(255, &c) {
                Received::Ack(a) => u.apply_ack(1, &a, 0.1),
                Received::Complete { upload_id, bytes } => complete = Some((upload_id, bytes)),
            }
        }
        let (id, bytes) = complete.expect("1000 bytes fit the first window");
        assert_eq!(bytes.len(), 1000);
        let ack = rx.finish(255, id, &Ok(AuthzDigest([3; 32])));
        // Another drone's ack changes nothing.
        u.apply_ack(2, &ack, 0.2);
        assert!(u.take_events().is_empty());
        u.apply_ack(1, &ack, 0.2);
        let ev = u.take_events();
        assert!(
            matches!(&ev[..], [UploadEvent::Stored { system_id: 1, digest, expected, .. }] if digest == expected),
            "{ev:?}"
        );
        assert!(u.get(1).is_none());
    }

    #[test]
    fn a_silent_drone_is_given_up_with_the_progress_named() {
        let mut u = Uploads::default();
        u.start(upload(1, 100.0));
        assert!(!u.due(100.0).is_empty());
        assert!(u.take_events().is_empty());
        assert!(!u.due(100.0 + GIVE_UP_AFTER_S - 1.0).is_empty(), "still resending");
        assert!(u.due(100.0 + GIVE_UP_AFTER_S + 1.0).is_empty());
        let ev = u.take_events();
        assert!(
            matches!(&ev[..], [UploadEvent::Failed { reason, .. }] if reason.contains("0 of 1000 bytes")),
            "{ev:?}"
        );
    }

    #[test]
    fn a_refusal_carries_the_drones_reason() {
        let mut u = Uploads::default();
        u.start(upload(1, 0.0));
        let mut rx = UploadReceiver::new(4096);
        let mut done = None;
        for (_, m) in u.due(0.0) {
            let MavMessage::UTKIK_UPLOAD_CHUNK(c) = m else { panic!() };
            if let Received::Complete { upload_id, .. } = rx.chunk(255, &c) {
                done = Some(upload_id);
            }
        }
        let ack = rx.finish(
            255,
            done.unwrap(),
            &Err("issuer key user:anna is not a senior officer".into()),
        );
        u.apply_ack(1, &ack, 1.0);
        let ev = u.take_events();
        assert!(
            matches!(&ev[..], [UploadEvent::Failed { reason, .. }] if reason.contains("user:anna")),
            "{ev:?}"
        );
    }
}
