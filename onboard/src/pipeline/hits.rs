//! The ANPR hit-list check (LAW.md section 7): what a voted plate read becomes on the link.
//!
//! A read of a plate with an unexpired hit-list entry *at the read's capture time* is an alert:
//! UTKIK_PLATE_READ with status HIT, `hit_entry_id` = the entry's 1-based line in the hit-list
//! file, and a fresh alert id, queued as an alert so it is resent until the ground's
//! UTKIK_ALERT_ACK. Every other read is a plain NO_HIT read, sent once. A track alerts once per
//! plate text: the voter re-reports a text when it wins back after another text led, and that
//! is not news to the operator; a different text that also hits is.
//!
//! Hits are logged with tracing, not in the onboard audit log: that log is for biometric data,
//! and LAW.md section 7 asks for a log of searches in *stored* reads (done where reads are
//! stored, at the ground), not of hits.

use std::collections::HashSet;

use utkik_shared::dialect::MavMessage;
use utkik_shared::hitlist::HitList;

use super::messages;
use super::plates::VotedPlate;

/// First plate-hit alert id. Biometric matches count from 0x4000_0000
/// (`gate::identify`), so the two never collide in the out queue or at the ground.
pub const FIRST_PLATE_ALERT_ID: u32 = 1;

/// What to send for one voted read.
#[derive(Debug, Clone, PartialEq)]
pub enum PlateReport {
    /// Not on the hit list (or no list): a NO_HIT read, sent once.
    Read(MavMessage),
    /// A hit: queue as an alert with this id (resent until acknowledged).
    Alert(u32, MavMessage),
    /// A hit this track already alerted with the same text: nothing new to send.
    AlreadyAlerted,
}

/// The hit list and which (track, text) pairs have alerted.
#[derive(Debug, Default)]
pub struct PlateHits {
    list: Option<HitList>,
    next_alert_id: u32,
    /// (track id, normalized text) already alerted; dropped when the track ends (ids are never
    /// reused), so this stays as small as the set of live plate tracks.
    alerted: HashSet<(u32, String)>,
}

impl PlateHits {
    /// Checks reads against `list` (None: every read is a no-hit).
    pub fn new(list: Option<HitList>) -> Self {
        Self {
            list,
            next_alert_id: FIRST_PLATE_ALERT_ID,
            alerted: HashSet::new(),
        }
    }

    /// The message for `voted`, read on plate track `track_id`.
    pub fn report(&mut self, track_id: u32, voted: &VotedPlate) -> PlateReport {
        let Some(entry) = self
            .list
            .as_ref()
            .and_then(|l| l.lookup(&voted.text, voted.time_usec).first().copied())
        else {
            return PlateReport::Read(messages::plate_message(track_id, voted));
        };
        if !self.alerted.insert((track_id, voted.text.clone())) {
            return PlateReport::AlreadyAlerted;
        }
        let alert_id = self.next_alert_id;
        self.next_alert_id += 1;
        tracing::warn!(
            plate = %entry.display,
            entry_line = entry.line,
            reason = %entry.reason,
            track = track_id,
            alert_id,
            "hit-list plate read"
        );
        let entry_id = u32::try_from(entry.line).unwrap_or(u32::MAX);
        PlateReport::Alert(
            alert_id,
            messages::plate_hit_message(track_id, voted, alert_id, entry_id),
        )
    }

    /// The track ended: forget what it alerted.
    pub fn track_lost(&mut self, track_id: u32) {
        self.alerted.retain(|(t, _)| *t != track_id);
    }
}

#[cfg(test)]
mod tests {
    use utkik_shared::dialect::{UTKIK_PLATE_READ_DATA, UtkikPlateStatus};
    use utkik_shared::plate::PlateGrammar;

    use super::*;
    use crate::out::queue::{OutQueue, Priority, ResendPolicy};

    /// 2027-01-01T00:00:00Z.
    const NOW_USEC: u64 = 1_798_761_600_000_000;

    fn hits() -> PlateHits {
        let text = "# plate\texpires\treason\n\
                    ABC 123\t2099-01-01\tDEMO stolen\n\
                    XYZ 12A\t2001-01-01\tDEMO expired long ago\n\
                    DEF 45G\t2099-01-01\tDEMO wanted\n";
        PlateHits::new(Some(
            HitList::parse(text, &PlateGrammar::for_countries(&["SE"]).unwrap()).unwrap(),
        ))
    }

    fn voted(text: &str) -> VotedPlate {
        VotedPlate {
            text: text.into(),
            confidence: 0.9,
            reads: 3,
            time_usec: NOW_USEC,
        }
    }

    fn read(m: &MavMessage) -> &UTKIK_PLATE_READ_DATA {
        match m {
            MavMessage::UTKIK_PLATE_READ(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn assert_no_hit(r: &PlateReport) {
        let PlateReport::Read(m) = r else { panic!("{r:?}") };
        let m = read(m);
        assert_eq!(m.status, UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT);
        assert_eq!((m.alert_id, m.hit_entry_id), (0, 0));
    }

    #[test]
    fn a_hit_is_an_alert_with_the_entry_line_and_a_fresh_id() {
        let mut h = hits();
        let PlateReport::Alert(id, m) = h.report(7, &voted("ABC123")) else {
            panic!()
        };
        let r = read(&m);
        assert_eq!(r.status, UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT);
        assert_eq!((id, r.alert_id, r.hit_entry_id, r.track_id), (1, 1, 2, 7));
        assert_eq!(&r.plate[..6], b"ABC123");
        let PlateReport::Alert(id2, m2) = h.report(8, &voted("DEF45G")) else {
            panic!()
        };
        assert_eq!((id2, read(&m2).hit_entry_id), (2, 4), "another hit, another id");
    }

    #[test]
    fn unlisted_and_expired_plates_are_plain_reads() {
        let mut h = hits();
        assert_no_hit(&h.report(1, &voted("KLM45A")));
        assert_no_hit(&h.report(2, &voted("XYZ12A")));
        // The entry hits until its expiry instant, not at it.
        let mut at_expiry = voted("ABC123");
        at_expiry.time_usec = utkik_shared::utc::parse_utc_usec("2099-01-01").unwrap();
        assert_no_hit(&h.report(3, &at_expiry));
        at_expiry.time_usec -= 1;
        assert!(matches!(h.report(3, &at_expiry), PlateReport::Alert(..)));
        assert_no_hit(&PlateHits::new(None).report(4, &voted("ABC123")));
    }

    #[test]
    fn a_track_alerts_once_per_text() {
        let mut h = hits();
        assert!(matches!(h.report(7, &voted("ABC123")), PlateReport::Alert(1, _)));
        // The voter re-reports ABC123 after a misread led for a while: not a new alert.
        assert_no_hit(&h.report(7, &voted("A8C123")));
        assert_eq!(h.report(7, &voted("ABC123")), PlateReport::AlreadyAlerted);
        // A different text that hits is news.
        assert!(matches!(h.report(7, &voted("DEF45G")), PlateReport::Alert(2, _)));
        // Another track with the same plate is another sighting.
        assert!(matches!(h.report(9, &voted("ABC123")), PlateReport::Alert(3, _)));
        h.track_lost(7);
        assert!(h.alerted.iter().all(|(t, _)| *t != 7), "forgotten with its track");
    }

    /// The hit goes through the out queue like a biometric match: alert priority ahead of
    /// everything else, resent until UTKIK_ALERT_ACK with its id; a no-hit read is sent once.
    #[test]
    fn a_hit_is_resent_until_acked_and_a_no_hit_is_sent_once() {
        let mut h = hits();
        let mut q = OutQueue::new(ResendPolicy {
            initial_usec: 1_000_000,
            max_usec: 4_000_000,
        });
        let PlateReport::Read(plain) = h.report(1, &voted("KLM45A")) else {
            panic!()
        };
        q.push(plain);
        let PlateReport::Alert(id, alert) = h.report(2, &voted("ABC123")) else {
            panic!()
        };
        q.push_alert(id, alert);
        let mut sent = Vec::new();
        for t in (0..10_000_000u64).step_by(100_000) {
            while let Some((p, m)) = q.peek(t) {
                let r = read(m);
                sent.push((t / 100_000, p, r.status, r.alert_id));
                q.sent(t);
            }
        }
        let (hit, no_hit) = (
            UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
            UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT,
        );
        assert_eq!(
            sent,
            vec![
                (0, Priority::Alert, hit, id),
                (0, Priority::NewTrack, no_hit, 0),
                (10, Priority::Alert, hit, id),
                (30, Priority::Alert, hit, id),
                (70, Priority::Alert, hit, id),
            ]
        );
        assert!(q.ack(id), "the ground's UTKIK_ALERT_ACK with the hit's alert id");
        assert!(q.peek(100_000_000).is_none(), "acknowledged: no more resends");
    }
}
