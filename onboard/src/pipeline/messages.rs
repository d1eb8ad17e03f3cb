//! Track reports and plate votes as our MAVLink messages.

use utkik_shared::dialect::{
    MavMessage, UTKIK_PLATE_READ_DATA, UTKIK_TRACK_DATA, UtkikObjectClass, UtkikPlateStatus, UtkikTrackFlags,
};

use super::detector::ObjectClass;
use super::plates::VotedPlate;
use crate::track::TrackReport;

fn norm(v: f64, full: u32) -> u16 {
    (v / f64::from(full.max(1)) * 65535.0).round().clamp(0.0, 65535.0) as u16
}

/// UTKIK_TRACK for one report of a frame `width` x `height` captured at `time_usec`.
/// `pose_stale`: the frame had no pose, so the report is not geolocated.
pub fn track_message(
    class: ObjectClass,
    r: &TrackReport,
    time_usec: u64,
    width: u32,
    height: u32,
    pose_stale: bool,
) -> MavMessage {
    let mut flags = UtkikTrackFlags::empty();
    if r.new {
        flags |= UtkikTrackFlags::UTKIK_TRACK_FLAGS_NEW;
    }
    if r.lost {
        flags |= UtkikTrackFlags::UTKIK_TRACK_FLAGS_LOST;
    }
    if r.predicted {
        flags |= UtkikTrackFlags::UTKIK_TRACK_FLAGS_PREDICTED;
    }
    let mut msg = UTKIK_TRACK_DATA {
        time_usec,
        track_id: r.id,
        object_class: match class {
            ObjectClass::Face => UtkikObjectClass::UTKIK_OBJECT_CLASS_FACE,
            ObjectClass::Plate => UtkikObjectClass::UTKIK_OBJECT_CLASS_PLATE,
        },
        box_x: norm(r.bbox.x0.max(0.0), width),
        box_y: norm(r.bbox.y0.max(0.0), height),
        box_w: norm(r.bbox.width(), width),
        box_h: norm(r.bbox.height(), height),
        confidence: (r.score * 100.0).round().clamp(0.0, 100.0) as u8,
        hits: r.hits.min(u32::from(u16::MAX)) as u16,
        h_acc: u16::MAX,
        ..Default::default()
    };
    if pose_stale {
        flags |= UtkikTrackFlags::UTKIK_TRACK_FLAGS_POSE_STALE;
    } else if let Some(g) = &r.ground {
        flags |= UtkikTrackFlags::UTKIK_TRACK_FLAGS_GEO_VALID;
        msg.lat = g.point.lat_e7();
        msg.lon = g.point.lon_e7();
        msg.alt = g.point.alt_mm();
        msg.h_acc = (g.accuracy_m * 100.0).round().clamp(0.0, 65535.0) as u16;
        msg.vn = (g.vn_m_s * 100.0).round().clamp(-32767.0, 32767.0) as i16;
        msg.ve = (g.ve_m_s * 100.0).round().clamp(-32767.0, 32767.0) as i16;
    }
    msg.flags = flags;
    MavMessage::UTKIK_TRACK(msg)
}

/// UTKIK_PLATE_READ of a hit: status HIT, the hit-list entry (its line in the file) and the alert
/// id the ground acknowledges.
pub fn plate_hit_message(track_id: u32, p: &VotedPlate, alert_id: u32, hit_entry_id: u32) -> MavMessage {
    let MavMessage::UTKIK_PLATE_READ(mut m) = plate_message(track_id, p) else {
        unreachable!("plate_message builds a UTKIK_PLATE_READ")
    };
    m.alert_id = alert_id;
    m.hit_entry_id = hit_entry_id;
    m.status = UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT;
    MavMessage::UTKIK_PLATE_READ(m)
}

/// UTKIK_PLATE_READ of a read that is not on the hit list. Without `with_text` (the default,
/// `detect.send_non_hit_text = false`, LAW.md section 7) the plate field is empty: the ground
/// learns that the plate track was read and is not on the list, never what it says.
pub fn plate_no_hit_message(track_id: u32, p: &VotedPlate, with_text: bool) -> MavMessage {
    let MavMessage::UTKIK_PLATE_READ(mut m) = plate_message(track_id, p) else {
        unreachable!("plate_message builds a UTKIK_PLATE_READ")
    };
    if !with_text {
        m.plate = [0u8; 10].into();
    }
    MavMessage::UTKIK_PLATE_READ(m)
}

/// UTKIK_PLATE_READ with the voted text and status NO_HIT (the base of both kinds of read).
fn plate_message(track_id: u32, p: &VotedPlate) -> MavMessage {
    let mut plate = [0u8; 10];
    for (d, s) in plate.iter_mut().zip(p.text.bytes()) {
        *d = s;
    }
    MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
        time_usec: p.time_usec,
        track_id,
        alert_id: 0,
        hit_entry_id: 0,
        plate: plate.into(),
        confidence: (p.confidence * 100.0).round().clamp(0.0, 100.0) as u8,
        status: UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT,
        reads: p.reads.min(255) as u8,
        image_transfer_id: 0,
        image_size: 0,
        image_crc32: 0,
        image_sealed: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::{BoxPx, GroundTrack};
    use utkik_shared::geo::GeoPoint;

    #[test]
    fn fields_and_flags() {
        let r = TrackReport {
            id: 4,
            bbox: BoxPx::from_xywh(640.0, 360.0, 64.0, 72.0),
            score: 0.934,
            hits: 3,
            new: true,
            lost: false,
            predicted: false,
            ground: Some(GroundTrack {
                point: GeoPoint {
                    lat_deg: 59.1,
                    lon_deg: 18.2,
                    alt_m_amsl: 12.5,
                },
                vn_m_s: 1.234,
                ve_m_s: -0.5,
                accuracy_m: 2.5,
            }),
            detection: Some(0),
        };
        let MavMessage::UTKIK_TRACK(m) = track_message(ObjectClass::Face, &r, 99, 1280, 720, false) else {
            panic!()
        };
        assert_eq!((m.box_x, m.box_y, m.box_w, m.box_h), (32768, 32768, 3277, 6554));
        assert_eq!((m.confidence, m.hits, m.h_acc, m.vn, m.ve), (93, 3, 250, 123, -50));
        assert_eq!((m.lat, m.lon, m.alt), (591_000_000, 182_000_000, 12_500));
        assert_eq!(
            m.flags,
            UtkikTrackFlags::UTKIK_TRACK_FLAGS_NEW | UtkikTrackFlags::UTKIK_TRACK_FLAGS_GEO_VALID
        );
        let MavMessage::UTKIK_TRACK(m) = track_message(ObjectClass::Face, &r, 99, 1280, 720, true) else {
            panic!()
        };
        assert_eq!((m.lat, m.h_acc), (0, u16::MAX));
        assert!(m.flags.contains(UtkikTrackFlags::UTKIK_TRACK_FLAGS_POSE_STALE));
        assert!(!m.flags.contains(UtkikTrackFlags::UTKIK_TRACK_FLAGS_GEO_VALID));
    }
}
