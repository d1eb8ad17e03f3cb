//! What waits for link budget, in priority order: alerts (resent with back-off until
//! UTKIK_ALERT_ACK) > new tracks and plate reads > track updates (coalesced per track, latest
//! wins) > pipeline status and a fixed or vehicle camera's own pose (latest of each wins).
//! Nothing is encoded until it is about to be sent, so an update replaced while waiting costs no
//! bytes.

use std::collections::{BTreeMap, HashMap, VecDeque};

use utkik_shared::dialect::{MavMessage, UtkikTrackFlags};

/// Priority classes, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Acknowledged alerts (plate hits, biometric matches).
    Alert,
    /// First report of a track, track end, plate reads.
    NewTrack,
    /// Track updates, coalesced per track.
    Update,
    /// Pipeline status, and the camera's own pose where there is no autopilot to report it.
    Status,
}

#[derive(Debug, Clone)]
struct PendingAlert {
    alert_id: u32,
    msg: MavMessage,
    next_send_usec: u64,
    attempts: u32,
    /// Sent right after each (re)send of the alert (a biometric match's evidence transfer).
    follow: Vec<MavMessage>,
}

/// Alert resend back-off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResendPolicy {
    /// Delay before the first resend.
    pub initial_usec: u64,
    /// Longest delay.
    pub max_usec: u64,
}

impl Default for ResendPolicy {
    fn default() -> Self {
        Self {
            initial_usec: 1_000_000,
            max_usec: 3_000_000,
        }
    }
}

/// The outbound queue.
#[derive(Debug, Default)]
pub struct OutQueue {
    resend: ResendPolicy,
    alerts: Vec<PendingAlert>,
    urgent: VecDeque<MavMessage>,
    updates: HashMap<(u8, u32), MavMessage>,
    update_order: VecDeque<(u8, u32)>,
    /// Latest-wins reports by message id: UTKIK_PIPELINE_STATUS, and a fixed or vehicle
    /// camera's GLOBAL_POSITION_INT, ATTITUDE and GIMBAL_DEVICE_ATTITUDE_STATUS.
    latest: BTreeMap<u32, MavMessage>,
    /// Updates replaced by a newer one before they were sent.
    pub coalesced: u64,
}

impl OutQueue {
    /// An empty queue.
    pub fn new(resend: ResendPolicy) -> Self {
        Self {
            resend,
            ..Default::default()
        }
    }

    /// Messages waiting (alerts count while unacknowledged).
    pub fn depth(&self) -> usize {
        self.alerts.len() + self.urgent.len() + self.updates.len() + self.latest.len()
    }

    /// Unacknowledged alerts.
    pub fn pending_alerts(&self) -> usize {
        self.alerts.len()
    }

    /// Queues an alert; it is sent as soon as budget allows, then resent until [`Self::ack`].
    pub fn push_alert(&mut self, alert_id: u32, msg: MavMessage) {
        self.push_alert_with(alert_id, msg, Vec::new());
    }

    /// Queues an alert whose every (re)send is followed by `follow` (in order, ahead of track
    /// updates), until [`Self::ack`]: the evidence crop of a biometric match travels with it.
    pub fn push_alert_with(&mut self, alert_id: u32, msg: MavMessage, follow: Vec<MavMessage>) {
        self.alerts.push(PendingAlert {
            alert_id,
            msg,
            next_send_usec: 0,
            attempts: 0,
            follow,
        });
    }

    /// The ground acknowledged `alert_id`; returns whether it was pending.
    pub fn ack(&mut self, alert_id: u32) -> bool {
        let before = self.alerts.len();
        self.alerts.retain(|a| a.alert_id != alert_id);
        self.alerts.len() != before
    }

    /// Queues a message by kind: UTKIK_TRACK with NEW or LOST and plate reads go ahead of
    /// updates; other UTKIK_TRACK are coalesced per (class, id); status and pose reports replace
    /// the waiting one of their kind.
    pub fn push(&mut self, msg: MavMessage) {
        match &msg {
            MavMessage::UTKIK_TRACK(t) => {
                let key = (t.object_class as u8, t.track_id);
                if t.flags
                    .intersects(UtkikTrackFlags::UTKIK_TRACK_FLAGS_NEW | UtkikTrackFlags::UTKIK_TRACK_FLAGS_LOST)
                {
                    // The last update of this track is superseded by this message.
                    if self.updates.remove(&key).is_some() {
                        self.update_order.retain(|k| *k != key);
                        self.coalesced += 1;
                    }
                    self.urgent.push_back(msg);
                } else if let Some(slot) = self.updates.get_mut(&key) {
                    *slot = msg;
                    self.coalesced += 1;
                } else {
                    self.updates.insert(key, msg);
                    self.update_order.push_back(key);
                }
            }
            MavMessage::UTKIK_PIPELINE_STATUS(_)
            | MavMessage::GLOBAL_POSITION_INT(_)
            | MavMessage::ATTITUDE(_)
            | MavMessage::GIMBAL_DEVICE_ATTITUDE_STATUS(_) => {
                self.latest.insert(mavlink_core::Message::message_id(&msg), msg);
            }
            _ => self.urgent.push_back(msg),
        }
    }

    /// The next message to send at `now_usec` and its priority, without removing it.
    pub fn peek(&self, now_usec: u64) -> Option<(Priority, &MavMessage)> {
        if let Some(a) = self
            .alerts
            .iter()
            .filter(|a| a.next_send_usec <= now_usec)
            .min_by_key(|a| a.next_send_usec)
        {
            return Some((Priority::Alert, &a.msg));
        }
        if let Some(m) = self.urgent.front() {
            return Some((Priority::NewTrack, m));
        }
        if let Some(k) = self.update_order.front() {
            return Some((Priority::Update, &self.updates[k]));
        }
        self.latest.values().next().map(|m| (Priority::Status, m))
    }

    /// Marks what [`Self::peek`] returned as sent.
    pub fn sent(&mut self, now_usec: u64) {
        let due = self
            .alerts
            .iter_mut()
            .filter(|a| a.next_send_usec <= now_usec)
            .min_by_key(|a| a.next_send_usec);
        if let Some(a) = due {
            let delay = (self.resend.initial_usec << a.attempts.min(16)).min(self.resend.max_usec);
            a.attempts += 1;
            a.next_send_usec = now_usec + delay;
            self.urgent.extend(a.follow.iter().cloned());
            return;
        }
        if self.urgent.pop_front().is_some() {
            return;
        }
        if let Some(k) = self.update_order.pop_front() {
            self.updates.remove(&k);
            return;
        }
        self.latest.pop_first();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::dialect::{
        UTKIK_PIPELINE_STATUS_DATA, UTKIK_PLATE_READ_DATA, UTKIK_TRACK_DATA, UtkikObjectClass,
    };

    fn track(id: u32, flags: UtkikTrackFlags, t: u64) -> MavMessage {
        MavMessage::UTKIK_TRACK(UTKIK_TRACK_DATA {
            track_id: id,
            time_usec: t,
            flags,
            object_class: UtkikObjectClass::UTKIK_OBJECT_CLASS_FACE,
            ..Default::default()
        })
    }

    fn drain(q: &mut OutQueue, now: u64) -> Vec<(Priority, MavMessage)> {
        let mut v = Vec::new();
        while let Some((p, m)) = q.peek(now) {
            v.push((p, m.clone()));
            q.sent(now);
        }
        v
    }

    #[test]
    fn priorities_and_coalescing() {
        let mut q = OutQueue::new(ResendPolicy::default());
        q.push(MavMessage::UTKIK_PIPELINE_STATUS(UTKIK_PIPELINE_STATUS_DATA {
            frames_in: 1,
            ..Default::default()
        }));
        q.push(MavMessage::UTKIK_PIPELINE_STATUS(UTKIK_PIPELINE_STATUS_DATA {
            frames_in: 2,
            ..Default::default()
        }));
        for t in 0..5 {
            q.push(track(7, UtkikTrackFlags::empty(), t));
        }
        q.push(track(8, UtkikTrackFlags::UTKIK_TRACK_FLAGS_NEW, 9));
        q.push(MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
            alert_id: 5,
            ..Default::default()
        }));
        q.push_alert(
            5,
            MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
                alert_id: 5,
                ..Default::default()
            }),
        );
        assert_eq!(q.depth(), 5);
        assert_eq!(q.coalesced, 4);
        let out = drain(&mut q, 0);
        let prios: Vec<Priority> = out.iter().map(|o| o.0).collect();
        assert_eq!(
            prios,
            vec![
                Priority::Alert,
                Priority::NewTrack,
                Priority::NewTrack,
                Priority::Update,
                Priority::Status
            ]
        );
        assert!(
            matches!(&out[3].1, MavMessage::UTKIK_TRACK(t) if t.time_usec == 4),
            "latest update wins"
        );
        assert!(matches!(&out[4].1, MavMessage::UTKIK_PIPELINE_STATUS(s) if s.frames_in == 2));
    }

    #[test]
    fn lost_supersedes_a_waiting_update() {
        let mut q = OutQueue::new(ResendPolicy::default());
        q.push(track(3, UtkikTrackFlags::empty(), 1));
        q.push(track(3, UtkikTrackFlags::UTKIK_TRACK_FLAGS_LOST, 2));
        let out = drain(&mut q, 0);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, Priority::NewTrack);
    }

    #[test]
    fn alerts_resend_with_backoff_until_acked() {
        let mut q = OutQueue::new(ResendPolicy {
            initial_usec: 1_000_000,
            max_usec: 4_000_000,
        });
        q.push_alert(
            9,
            MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
                alert_id: 9,
                ..Default::default()
            }),
        );
        let mut sends = Vec::new();
        for t in (0..20_000_000u64).step_by(100_000) {
            if let Some((Priority::Alert, _)) = q.peek(t) {
                sends.push(t / 100_000);
                q.sent(t);
            }
        }
        // 0 s, +1, +2, +4, then every 4 s.
        assert_eq!(sends, vec![0, 10, 30, 70, 110, 150, 190]);
        assert!(q.ack(9));
        assert!(!q.ack(9));
        assert!(q.peek(100_000_000).is_none());
    }

    #[test]
    fn an_alerts_evidence_follows_every_resend_until_acked() {
        use utkik_shared::dialect::{ENCAPSULATED_DATA_DATA, UTKIK_BIOMETRIC_MATCH_DATA};
        let mut q = OutQueue::new(ResendPolicy::default());
        let packet = |seqnr| MavMessage::ENCAPSULATED_DATA(ENCAPSULATED_DATA_DATA { seqnr, data: [0; 253] });
        let alert = MavMessage::UTKIK_BIOMETRIC_MATCH(UTKIK_BIOMETRIC_MATCH_DATA {
            alert_id: 5,
            ..UTKIK_BIOMETRIC_MATCH_DATA::DEFAULT
        });
        q.push_alert_with(5, alert, vec![packet(0), packet(1)]);
        fn drain(q: &mut OutQueue, now: u64) -> Vec<(Priority, u32)> {
            let mut out = Vec::new();
            while let Some((p, m)) = q.peek(now) {
                out.push((p, mavlink_core::Message::message_id(m)));
                q.sent(now);
            }
            out
        }
        let first = drain(&mut q, 0);
        assert_eq!(first.len(), 3, "alert then its two packets: {first:?}");
        assert_eq!(first[0].0, Priority::Alert);
        assert_eq!(drain(&mut q, 1_000_000).len(), 3, "resent with its evidence");
        assert!(q.ack(5));
        assert!(drain(&mut q, 10_000_000).is_empty(), "acknowledged: nothing more");
    }
}
