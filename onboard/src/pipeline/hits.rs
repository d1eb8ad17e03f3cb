//! The ANPR hit-list check (LAW.md section 7): what a voted plate read becomes on the link.
//!
//! A read of a plate with an unexpired hit-list entry *at the read's capture time* is an alert:
//! UTKIK_PLATE_READ with status HIT, `hit_entry_id` = the entry's 1-based place in the signed
//! list's `entries`, and a fresh alert id, queued as an alert so it is resent until the ground's
//! UTKIK_ALERT_ACK. Every other read is a plain NO_HIT read, sent once and, by default, *without
//! its text* (LAW.md section 7: a read that is not a hit is not kept, so it must not reach the
//! ground station's map, recordings or logs; the plate track itself still goes out, so it is
//! masked and followed). Only `detect.send_non_hit_text = true`, for a station configured to keep
//! non-hit reads for a limited time (`utkik-ground --keep-non-hits-days`), sends the text of
//! non-hits. A track alerts once per
//! plate text: the voter re-reports a text when it wins back after another text led, and that
//! is not news to the operator; a different text that also hits is.
//!
//! A hit carries a JPEG of the plate and the car around it (`image_transfer_id`, `image_size`),
//! sent after each send of the alert with the standard image transfer messages, so the operator
//! can check the read against the picture before acting on it (LAW.md section 7). The crop is
//! cut from the frame of the read that made the hit and kept only in the out queue until the
//! alert is acknowledged; no-hit reads never produce an image.
//!
//! Hits are logged with tracing, not in the onboard audit log: that log is for biometric data,
//! and LAW.md section 7 asks for a log of searches in *stored* reads (done where reads are
//! stored, at the ground), not of hits.

use std::collections::HashSet;

use utkik_shared::dialect::MavMessage;
use utkik_shared::hitlist::HitList;

use super::messages;
use super::plates::VotedPlate;
use crate::frame::RgbFrame;
use crate::gate::evidence::{Evidence, evidence_messages};
use crate::track::BoxPx;

/// First plate-hit alert id of a run in boot epoch 0 (tests); a run numbers from
/// `out::boot_epoch::first_plate_alert_id(epoch)`. Biometric matches have bit 30 set
/// (`gate::identify`), so the two never collide in the out queue or at the ground.
pub const FIRST_PLATE_ALERT_ID: u32 = 1;

/// First plate-image transfer id. Evidence crops count from 1 (`gate::identify`); the ground
/// pairs a transfer with the oldest alert announcing its size, so the ids need not be apart,
/// but separate ranges keep a recording readable.
pub const FIRST_PLATE_IMAGE_ID: u16 = 0x8000;

/// Around the plate box, as shares of its width and height (left, top, right, bottom): the
/// plate and the car's rear or front around it, enough to check the read against make and
/// colour without sending the whole frame over a radio of a few KB/s.
pub const PLATE_IMAGE_MARGINS: [f64; 4] = [0.6, 2.5, 0.6, 0.8];

/// JPEG quality of plate images (the plate text stays legible at 70; a 2 KB crop instead of 4).
pub const PLATE_IMAGE_QUALITY: u8 = 70;

/// The plate image of a hit: the plate's box in `frame`, grown by [`PLATE_IMAGE_MARGINS`].
pub fn plate_image(frame: &RgbFrame, bbox: &BoxPx) -> Option<Evidence> {
    Evidence::crop_with_margins(frame, bbox, PLATE_IMAGE_MARGINS, PLATE_IMAGE_QUALITY)
}

/// What to send for one voted read.
#[derive(Debug, Clone, PartialEq)]
pub enum PlateReport {
    /// Not on the hit list (or no list): a NO_HIT read, sent once.
    Read(MavMessage),
    /// A hit: queue as an alert with this id (resent until acknowledged), each send followed
    /// by the plate image transfer (empty when no image could be cut).
    Alert(u32, MavMessage, Vec<MavMessage>),
    /// A hit this track already alerted with the same text: nothing new to send.
    AlreadyAlerted,
}

/// The hit list and which (track, text) pairs have alerted.
#[derive(Debug, Default)]
pub struct PlateHits {
    list: Option<HitList>,
    next_alert_id: u32,
    next_image_id: u16,
    /// (track id, normalized text) already alerted; dropped when the track ends (ids are never
    /// reused), so this stays as small as the set of live plate tracks.
    alerted: HashSet<(u32, String)>,
    /// Send the text of non-hit reads (`detect.send_non_hit_text`; off by default).
    send_non_hit_text: bool,
    /// The ground station's public key plate images are sealed to, and this drone's system id
    /// (bound into each sealing with the alert id): `gate.ground_seal_public`.
    seal_to: Option<(utkik_shared::seal::SealPublicKey, u8)>,
}

impl PlateHits {
    /// Checks reads against `list` (None: every read is a no-hit).
    pub fn new(list: Option<HitList>) -> Self {
        Self {
            list,
            next_alert_id: FIRST_PLATE_ALERT_ID,
            next_image_id: FIRST_PLATE_IMAGE_ID,
            alerted: HashSet::new(),
            send_non_hit_text: false,
            seal_to: None,
        }
    }

    /// Seals every plate image to the ground station's public key before it is queued or
    /// stored (`gate.ground_seal_public`); `system_id` is this drone's.
    pub fn with_seal(mut self, seal_to: Option<utkik_shared::seal::SealPublicKey>, system_id: u8) -> Self {
        self.seal_to = seal_to.map(|pk| (pk, system_id));
        self
    }

    /// The image sealed when a key is set; `None` (the hit goes without an image, never with a
    /// clear one) if sealing fails.
    fn sealed(&self, image: Evidence, alert_id: u32) -> Option<Evidence> {
        let Some((pk, system_id)) = &self.seal_to else {
            return Some(image);
        };
        let aad = utkik_shared::seal::ImageAad {
            system_id: *system_id,
            alert_id,
            kind: utkik_shared::seal::ImageKind::PlateImage,
        };
        image
            .seal(pk, &aad)
            .map_err(|e| tracing::error!("plate hit {alert_id}: the plate image is not sent: {e}"))
            .ok()
    }

    /// Sends the text of non-hit reads too (`detect.send_non_hit_text`, for a station that keeps
    /// them under a retention period); off by default.
    pub fn with_non_hit_text(mut self, send: bool) -> Self {
        self.send_non_hit_text = send;
        self
    }

    /// Replaces the hit list, keeping the alert numbering and the non-hit text setting.
    pub fn set_list(&mut self, list: Option<HitList>) {
        self.list = list;
    }

    /// Numbers this run's hits in boot epoch `epoch` (`out::boot_epoch`), so they never repeat
    /// an id of an earlier run that the ground still holds.
    pub fn with_boot_epoch(mut self, epoch: u32) -> Self {
        self.next_alert_id = crate::out::boot_epoch::first_plate_alert_id(epoch);
        self
    }

    /// The message for `voted`, read on plate track `track_id`; `image` cuts the plate image,
    /// called only for a new hit.
    pub fn report(
        &mut self,
        track_id: u32,
        voted: &VotedPlate,
        image: impl FnOnce() -> Option<Evidence>,
    ) -> PlateReport {
        if let Some(l) = self.list.as_mut()
            && l.expired_news(voted.time_usec)
        {
            tracing::warn!(
                list_id = l.list_id(),
                valid_until = %utkik_shared::utc::format_utc_usec(l.valid_until_usec()),
                "the signed hit list's validity has ended: no more hits until a new list is loaded"
            );
        }
        let Some(entry) = self
            .list
            .as_ref()
            .and_then(|l| l.lookup(&voted.text, voted.time_usec).first().copied())
        else {
            return PlateReport::Read(messages::plate_no_hit_message(track_id, voted, self.send_non_hit_text));
        };
        if !self.alerted.insert((track_id, voted.text.clone())) {
            return PlateReport::AlreadyAlerted;
        }
        let alert_id = self.next_alert_id;
        self.next_alert_id = crate::out::boot_epoch::next_alert_id(alert_id);
        tracing::warn!(
            plate = %entry.display,
            entry_id = entry.entry_id,
            reason = %entry.reason,
            track = track_id,
            alert_id,
            "hit-list plate read"
        );
        let entry_id = entry.entry_id;
        let MavMessage::UTKIK_PLATE_READ(mut m) = messages::plate_hit_message(track_id, voted, alert_id, entry_id)
        else {
            unreachable!("plate_hit_message builds a UTKIK_PLATE_READ")
        };
        let follow = match image().and_then(|img| self.sealed(img, alert_id)) {
            Some(img) => {
                m.image_transfer_id = self.next_image_id;
                m.image_size = img.jpeg.len() as u32;
                // The ground acknowledges the hit only once an image with this CRC is stored.
                m.image_crc32 = utkik_shared::image_transfer::image_crc32(&img.jpeg);
                m.image_sealed = img.sealed_flag();
                self.next_image_id = self.next_image_id.wrapping_add(1).max(FIRST_PLATE_IMAGE_ID);
                evidence_messages(&img)
            }
            None => Vec::new(),
        };
        PlateReport::Alert(alert_id, MavMessage::UTKIK_PLATE_READ(m), follow)
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
        PlateHits::new(Some(signed_list(text, LIST_UNTIL_USEC)))
    }

    /// The list's `valid_until`: 2100-01-01T00:00:00Z.
    const LIST_UNTIL_USEC: u64 = 4_102_444_800_000_000;

    /// A verified list of typed entries, signed by the DEMO senior officer at [`NOW_USEC`].
    fn signed_list(text: &str, valid_until_usec: u64) -> HitList {
        let grammar = PlateGrammar::for_countries(&["SE"]).unwrap();
        utkik_shared::hitlist::demo::verified_from_tsv(text, &grammar, NOW_USEC, valid_until_usec).unwrap()
    }

    fn no_image() -> Option<Evidence> {
        None
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
        assert_eq!(
            m.plate,
            [0u8; 10].into(),
            "a non-hit read leaves the drone without its text"
        );
        assert!(m.reads > 0 && m.confidence > 0, "it still says the track was read");
    }

    #[test]
    fn a_hit_is_an_alert_with_the_entry_id_and_a_fresh_id() {
        let mut h = hits();
        let PlateReport::Alert(id, m, _) = h.report(7, &voted("ABC123"), no_image) else {
            panic!()
        };
        let r = read(&m);
        assert_eq!(r.status, UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT);
        assert_eq!((id, r.alert_id, r.hit_entry_id, r.track_id), (1, 1, 1, 7));
        assert_eq!(&r.plate[..6], b"ABC123");
        let PlateReport::Alert(id2, m2, _) = h.report(8, &voted("DEF45G"), no_image) else {
            panic!()
        };
        assert_eq!((id2, read(&m2).hit_entry_id), (2, 3), "another hit, another id");
    }

    /// A list whose `valid_until` passes in flight makes no more hits from then on (by the read's
    /// capture time), even for entries that run longer.
    #[test]
    fn a_list_past_its_validity_makes_no_hits() {
        let until = NOW_USEC + 3_600_000_000;
        let mut h = PlateHits::new(Some(signed_list("ABC 123\t2099-01-01\tDEMO stolen\n", until)));
        let mut late = voted("ABC123");
        late.time_usec = until - 1;
        assert!(matches!(h.report(1, &late, no_image), PlateReport::Alert(..)));
        late.time_usec = until;
        assert_no_hit(&h.report(2, &late, no_image));
        late.time_usec = until + 1;
        assert_no_hit(&h.report(3, &late, no_image));
    }

    #[test]
    fn unlisted_and_expired_plates_are_plain_reads() {
        let mut h = hits();
        assert_no_hit(&h.report(1, &voted("KLM45A"), no_image));
        assert_no_hit(&h.report(2, &voted("XYZ12A"), no_image));
        // The entry hits until its expiry instant, not at it.
        let mut at_expiry = voted("ABC123");
        at_expiry.time_usec = utkik_shared::utc::parse_utc_usec("2099-01-01").unwrap();
        assert_no_hit(&h.report(3, &at_expiry, no_image));
        at_expiry.time_usec -= 1;
        assert!(matches!(h.report(3, &at_expiry, no_image), PlateReport::Alert(..)));
        assert_no_hit(&PlateHits::new(None).report(4, &voted("ABC123"), no_image));
    }

    #[test]
    fn non_hit_text_goes_out_only_when_configured() {
        let mut h = hits().with_non_hit_text(true);
        let PlateReport::Read(m) = h.report(1, &voted("KLM45A"), no_image) else {
            panic!()
        };
        assert_eq!(read(&m).status, UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT);
        assert_eq!(&read(&m).plate[..6], b"KLM45A");
        // Replacing the list keeps the setting.
        h.set_list(None);
        let PlateReport::Read(m) = h.report(2, &voted("ABC123"), no_image) else {
            panic!()
        };
        assert_eq!(&read(&m).plate[..6], b"ABC123");
        let mut h = hits();
        h.set_list(None);
        assert_no_hit(&h.report(2, &voted("ABC123"), no_image));
    }

    #[test]
    fn a_track_alerts_once_per_text() {
        let mut h = hits();
        assert!(matches!(
            h.report(7, &voted("ABC123"), no_image),
            PlateReport::Alert(1, ..)
        ));
        // The voter re-reports ABC123 after a misread led for a while: not a new alert.
        assert_no_hit(&h.report(7, &voted("A8C123"), no_image));
        assert_eq!(h.report(7, &voted("ABC123"), no_image), PlateReport::AlreadyAlerted);
        // A different text that hits is news.
        assert!(matches!(
            h.report(7, &voted("DEF45G"), no_image),
            PlateReport::Alert(2, ..)
        ));
        // Another track with the same plate is another sighting.
        assert!(matches!(
            h.report(9, &voted("ABC123"), no_image),
            PlateReport::Alert(3, ..)
        ));
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
        let PlateReport::Read(plain) = h.report(1, &voted("KLM45A"), no_image) else {
            panic!()
        };
        q.push(plain);
        let PlateReport::Alert(id, alert, _) = h.report(2, &voted("ABC123"), no_image) else {
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

    fn frame() -> RgbFrame {
        let (w, h) = (320u32, 180u32);
        let data: Vec<u8> = (0..w * h * 3).map(|i| (i * 13 % 251) as u8).collect();
        RgbFrame::new(w, h, data, NOW_USEC).unwrap()
    }

    fn plate_box() -> BoxPx {
        BoxPx {
            x0: 140.0,
            y0: 120.0,
            x1: 180.0,
            y1: 130.0,
        }
    }

    /// A hit announces its plate image (id, size) and carries its transfer; a no-hit read never
    /// cuts one; every hit gets the next transfer id.
    #[test]
    fn a_hit_carries_the_plate_image_and_a_no_hit_never_cuts_one() {
        let mut h = hits();
        let f = frame();
        let cuts = std::cell::Cell::new(0);
        let image = || {
            cuts.set(cuts.get() + 1);
            plate_image(&f, &plate_box())
        };
        assert_no_hit(&h.report(1, &voted("KLM45A"), image));
        assert_eq!(cuts.get(), 0, "no image for a no-hit read");

        let PlateReport::Alert(_, m, follow) = h.report(2, &voted("ABC123"), || plate_image(&f, &plate_box())) else {
            panic!()
        };
        let r = read(&m);
        assert_eq!(r.image_transfer_id, FIRST_PLATE_IMAGE_ID);
        let MavMessage::DATA_TRANSMISSION_HANDSHAKE(hs) = &follow[0] else {
            panic!("handshake first: {follow:?}")
        };
        assert_eq!(hs.size, r.image_size);
        assert!(r.image_size > 200, "a real JPEG: {}", r.image_size);
        assert_eq!((hs.width, hs.height, hs.jpg_quality), (88, 43, PLATE_IMAGE_QUALITY));
        assert_eq!(hs.packets as usize, follow.len() - 1);
        assert!(
            follow[1..]
                .iter()
                .all(|m| matches!(m, MavMessage::ENCAPSULATED_DATA(_)))
        );

        let PlateReport::Alert(_, m2, _) = h.report(3, &voted("DEF45G"), || plate_image(&f, &plate_box())) else {
            panic!()
        };
        assert_eq!(read(&m2).image_transfer_id, FIRST_PLATE_IMAGE_ID + 1);
        // A hit whose plate cannot be cut (box off the frame) still alerts, without an image.
        let PlateReport::Alert(_, m3, follow3) = h.report(4, &voted("ABC123"), no_image) else {
            panic!()
        };
        assert_eq!((read(&m3).image_transfer_id, read(&m3).image_size), (0, 0));
        assert!(follow3.is_empty());
    }

    /// In the out queue the image follows each send of its hit, whole and right behind it, also
    /// when a biometric match with its evidence crop is queued at the same time: the ground pairs
    /// transfers with alerts in order, so transfers must never interleave.
    #[test]
    fn the_plate_image_follows_each_send_of_its_hit_without_interleaving() {
        let mut h = hits();
        let f = frame();
        let PlateReport::Alert(id, alert, follow) = h.report(2, &voted("ABC123"), || plate_image(&f, &plate_box()))
        else {
            panic!()
        };
        let mut q = OutQueue::new(ResendPolicy {
            initial_usec: 1_000_000,
            max_usec: 4_000_000,
        });
        q.push_alert_with(id, alert, follow);
        let face = crate::gate::evidence::Evidence::crop(&f, &plate_box()).unwrap();
        let face_follow = evidence_messages(&face);
        let face_alert = MavMessage::UTKIK_BIOMETRIC_MATCH(utkik_shared::dialect::UTKIK_BIOMETRIC_MATCH_DATA {
            alert_id: 0x4000_0000,
            evidence_transfer_id: 1,
            evidence_size: face.jpeg.len() as u32,
            ..Default::default()
        });
        q.push_alert_with(0x4000_0000, face_alert, face_follow);
        let mut sent = Vec::new();
        for t in (0..2_500_000u64).step_by(100_000) {
            while let Some((_, m)) = q.peek(t) {
                sent.push(m.clone());
                q.sent(t);
            }
        }
        // Transfers go whole, one at a time, in the order their alerts were sent (the ground
        // pairs each with the oldest alert waiting for its size).
        let mut announced = std::collections::VecDeque::new();
        let mut hits_sent = 0;
        let mut i = 0;
        while i < sent.len() {
            match &sent[i] {
                MavMessage::UTKIK_PLATE_READ(r) => {
                    hits_sent += 1;
                    announced.push_back(r.image_size);
                    i += 1;
                }
                MavMessage::UTKIK_BIOMETRIC_MATCH(m) => {
                    announced.push_back(m.evidence_size);
                    i += 1;
                }
                MavMessage::DATA_TRANSMISSION_HANDSHAKE(hs) => {
                    assert_eq!(Some(hs.size), announced.pop_front(), "transfer {i} out of order");
                    let n = hs.packets as usize;
                    assert!(
                        sent[i + 1..i + 1 + n]
                            .iter()
                            .all(|m| matches!(m, MavMessage::ENCAPSULATED_DATA(_))),
                        "the packets of one transfer together"
                    );
                    i += 1 + n;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(announced.is_empty(), "every announced image was sent");
        assert_eq!(
            hits_sent, 2,
            "sent, then resent once within 2.5 s, each time with its image"
        );
    }
}
