//! Sealed plate images over the real UDP link (issue 17 items 3-4): a plate hit whose image is
//! sealed to the station's public key arrives as signed MAVLink bytes, exactly as the drone
//! sends it (UTKIK_PLATE_READ with `image_sealed` = 1, then DATA_TRANSMISSION_HANDSHAKE +
//! ENCAPSULATED_DATA of the sealed bytes), goes through the link thread into the Bevy app, and
//! the alert holds the opened JPEG; a sealed image altered on the way (CRC recomputed, so only
//! the seal can tell) is refused, named, and still acknowledged so the drone stops resending it.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use utkik_ground::link::{self, FrameDecoder, LinkConfig, LinkSource};
use utkik_ground::plugins::link::MessageSource;
use utkik_ground::plugins::{GroundCorePlugins, WorldRes};
use utkik_shared::dialect::{
    DATA_TRANSMISSION_HANDSHAKE_DATA, ENCAPSULATED_DATA_DATA, MavMessage, MavlinkDataStreamType, UTKIK_PLATE_READ_DATA,
    UtkikPlateStatus,
};
use utkik_shared::seal::{ImageAad, ImageKind, SealKeyPair};

fn link_key() -> link::LinkKey {
    link::LinkKey {
        link_id: 1,
        secret_key: [0x5a; 32],
    }
}

fn now_usec() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// A real JPEG (a small gradient), as the drone's plate image is.
fn jpeg() -> Vec<u8> {
    let (w, h) = (64u32, 32u32);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 5 % 256) as u8).collect();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode(&rgb, w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

/// The hit and its image transfer, signed as the onboard out link signs them.
fn hit_frames(signer: &mut link::Signer, alert_id: u32, transfer_id: u16, sealed: &[u8]) -> Vec<Vec<u8>> {
    let header = mavlink_core::MavHeader {
        system_id: 1,
        component_id: 191,
        sequence: 0,
    };
    let hit = MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
        time_usec: now_usec(),
        track_id: 500 + alert_id % 100,
        alert_id,
        hit_entry_id: 3,
        plate: "ABC123".into(),
        confidence: 90,
        status: UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
        reads: 4,
        image_transfer_id: transfer_id,
        image_size: sealed.len() as u32,
        image_crc32: utkik_shared::image_transfer::image_crc32(sealed),
        image_sealed: 1,
    });
    let packets = sealed.len().div_ceil(253);
    let mut msgs = vec![
        hit,
        MavMessage::DATA_TRANSMISSION_HANDSHAKE(DATA_TRANSMISSION_HANDSHAKE_DATA {
            mavtype: MavlinkDataStreamType::MAVLINK_DATA_STREAM_IMG_JPEG,
            size: sealed.len() as u32,
            packets: packets as u16,
            payload: 253,
            ..Default::default()
        }),
    ];
    for (i, chunk) in sealed.chunks(253).enumerate() {
        let mut data = [0u8; 253];
        data[..chunk.len()].copy_from_slice(chunk);
        msgs.push(MavMessage::ENCAPSULATED_DATA(ENCAPSULATED_DATA_DATA {
            seqnr: i as u16,
            data,
        }));
    }
    msgs.iter().map(|m| signer.sign(header, m, now_usec())).collect()
}

#[test]
fn a_sealed_plate_hit_over_udp_shows_the_jpeg_and_a_tampered_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let handle = link::start(LinkConfig {
        source: LinkSource::UdpListen("127.0.0.1:0".parse().unwrap()),
        record_dir: Some(dir.path().to_path_buf()),
        rotate_bytes: 1024 * 1024,
        signing: Some(link::LinkKeys::one_for_all(link_key())),
        state_file: None,
    })
    .unwrap();
    let addr = handle.local_addr.unwrap();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(MessageSource::Live(handle))
        .add_plugins(GroundCorePlugins);
    let station = SealKeyPair::generate();
    let public = station.public().clone();
    app.world_mut()
        .resource_mut::<WorldRes>()
        .0
        .alerts
        .set_seal_key(Some(station));

    let image = jpeg();
    let (good_id, bad_id) = (0x8000_0001u32, 0x8000_0002u32);
    let aad = |alert_id| ImageAad {
        system_id: 1,
        alert_id,
        kind: ImageKind::PlateImage,
    };
    let good = utkik_shared::seal::seal(&public, &aad(good_id), &image).unwrap();
    let mut tampered = utkik_shared::seal::seal(&public, &aad(bad_id), &image).unwrap();
    tampered[100] ^= 0x20;
    assert!(
        !good.windows(3).any(|w| w == [0xff, 0xd8, 0xff]),
        "no JPEG on the radio"
    );

    let drone = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut signer = link::Signer::new(link_key());
    let mut frames = hit_frames(&mut signer, good_id, 0x8001, &good);
    frames.extend(hit_frames(&mut signer, bad_id, 0x8002, &tampered));
    for f in &frames {
        drone.send_to(f, addr).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        app.update();
        let w = &app.world().resource::<WorldRes>().0;
        let done = |id| w.alerts.get(1, id).is_some_and(|a| a.complete());
        if (done(good_id) && done(bad_id)) || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let w = &app.world().resource::<WorldRes>().0;
    let shown = w.alerts.get(1, good_id).expect("the sealed hit arrived");
    assert!(shown.image_sealed());
    assert_eq!(
        shown.evidence_jpeg.as_deref(),
        Some(&image[..]),
        "the alert shows the opened JPEG"
    );
    assert!(shown.image_refused.is_none());
    let refused = w.alerts.get(1, bad_id).expect("the tampered hit arrived");
    assert!(refused.evidence_jpeg.is_none(), "a tampered image is never shown");
    let why = refused.image_refused.clone().unwrap();
    assert!(why.contains("does not open"), "{why}");
    assert_eq!(w.alerts.images.refused, 1);
    eprintln!(
        "sealed plate image: {} bytes sealed, JPEG {} bytes; tampered: {why}",
        good.len(),
        image.len()
    );

    // Both are acknowledged (the tampered one would never open by resending).
    drone.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut dec = FrameDecoder::new();
    let mut acked = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 2048];
    while acked.len() < 2 && Instant::now() < deadline {
        app.update();
        let Ok(n) = drone.recv(&mut buf) else { continue };
        for d in dec.push_messages(&buf[..n]) {
            if let MavMessage::UTKIK_ALERT_ACK(a) = d.message {
                acked.insert(a.alert_id);
            }
        }
    }
    assert_eq!(acked, [good_id, bad_id].into_iter().collect());
}
