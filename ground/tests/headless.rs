//! Headless integration tests: a synthetic mission as real MAVLink bytes goes through the real
//! UDP link thread (or the decoder) into the Bevy app under `MinimalPlugins`; entities in the
//! world, alerts and their LAW.md states, acks back to the drone and the tlog are checked.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use utkik_ground::link::{self, FrameDecoder, LinkConfig, LinkSource, read_tlog};
use utkik_ground::plugins::link::MessageSource;
use utkik_ground::plugins::{GroundCorePlugins, WorldRes};
use utkik_ground::state::{AlertKind, AlertState, TrackClass};
use utkik_ground::synth;
use utkik_shared::authz::{Actor, Role};
use utkik_shared::dialect::MavMessage;

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

/// The mission's frames re-encoded as the onboard sends them: UTKIK_* and image transfers
/// signed with the link key, autopilot telemetry as it is.
fn signed(mut mission: synth::SynthMission) -> synth::SynthMission {
    let mut signer = link::Signer::new(link_key());
    for (_, bytes) in &mut mission.frames {
        let frame = utkik_shared::mavframe::RawFrame::parse(bytes).unwrap();
        if utkik_shared::link_signing::must_be_signed(frame.msg_id()) {
            let msg: MavMessage = frame.decode().unwrap();
            *bytes = signer.sign(frame.header(), &msg, now_usec());
        }
    }
    mission
}

fn app_with(source: MessageSource) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(source)
        .add_plugins(GroundCorePlugins);
    app
}

#[test]
fn udp_mission_builds_world_acks_alerts_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let handle = link::start(LinkConfig {
        source: LinkSource::UdpListen("127.0.0.1:0".parse().unwrap()),
        record_dir: Some(dir.path().to_path_buf()),
        rotate_bytes: 16 * 1024,
        signing: Some(link::LinkKeys::one_for_all(link_key())),
        state_file: None,
    })
    .unwrap();
    let addr = handle.local_addr.unwrap();
    let mut app = app_with(MessageSource::Live(handle));
    let drone = UdpSocket::bind("127.0.0.1:0").unwrap();
    // The drone signs what must be signed (our dialect, image transfers), as onboard does.
    let mission = signed(synth::mission(8, 12));
    let mut sent = 0usize;
    // Several frames per datagram, as a real link batches them; plus a garbage datagram.
    for chunk in mission.frames.chunks(4) {
        let dgram: Vec<u8> = chunk.iter().flat_map(|(_, f)| f.iter().copied()).collect();
        drone.send_to(&dgram, addr).unwrap();
        sent += chunk.len();
        if sent % 200 == 0 {
            app.update();
        }
    }
    drone.send_to(b"not mavlink at all", addr).unwrap();
    // A drone wrongly set to send the text of a non-hit read (detect.send_non_hit_text): shown
    // without its text and never recorded (LAW.md section 7).
    let mut signer = link::Signer::new(link_key());
    let header = mavlink_core::MavHeader {
        system_id: 1,
        component_id: 191,
        sequence: 0,
    };
    let leak = MavMessage::UTKIK_PLATE_READ(utkik_shared::dialect::UTKIK_PLATE_READ_DATA {
        track_id: 103,
        plate: "QRS98T".into(),
        status: utkik_shared::dialect::UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT,
        reads: 3,
        ..Default::default()
    });
    // Later than every frame of the mission (a signer bumps its timestamp per frame).
    drone
        .send_to(&signer.sign(header, &leak, now_usec() + 1_000_000), addr)
        .unwrap();
    sent += 1;
    // Drain until everything arrived (bounded: the test fails rather than hangs).
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.world().resource::<WorldRes>().0.applied_messages + app.world().resource::<WorldRes>().0.ignored_messages
        < sent as u64
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
        app.update();
    }
    let w = &app.world().resource::<WorldRes>().0;
    assert_eq!(
        w.applied_messages + w.ignored_messages,
        sent as u64,
        "all frames decoded"
    );
    assert!(w.ignored_messages > 0, "SYSTEM_TIME is counted as ignored");
    let v = &w.vehicles[&1];
    assert!(v.position.is_some() && v.home.is_some() && v.battery_pct.is_some());
    assert!(v.pipeline.is_some() && v.authz.is_some());
    assert!(
        v.footprint().is_some_and(|f| f.len() > 8),
        "camera footprint from the shared model"
    );
    assert_eq!(w.tracks.iter().filter(|t| t.key.class == TrackClass::Face).count(), 1);
    assert!(w.tracks.len() >= 12 + 3);
    let plate = w.tracks.iter().find(|t| t.key.track_id == 100).unwrap();
    assert_eq!(plate.plate.as_deref(), Some("AB12000"));
    let not_hit = w.tracks.iter().find(|t| t.key.track_id == 103).unwrap();
    assert_eq!(not_hit.plate.as_deref(), Some(""), "read, not a hit, no text");
    assert_eq!(w.non_hit_text_dropped, 1);
    // Plate hit sent twice -> one alert, two receptions; possible match with evidence.
    let hit = w.alerts.get(1, 1).unwrap();
    assert!(matches!(&hit.kind, AlertKind::PlateHit { plate, .. } if plate == "AB12000"));
    assert_eq!(hit.receptions, 2);
    assert_eq!(hit.state, AlertState::NeedsCheck);
    let m = w.alerts.get(1, 2).unwrap();
    assert_eq!(m.state, AlertState::PossibleMatch { confirmed_by: vec![] });
    assert_eq!(m.evidence_jpeg.as_ref().map(|e| e.len()), Some(600));
    // Link statistics: no loss on loopback.
    assert_eq!(w.links[&(1, 191)].lost, 0);
    // Acks reach the drone.
    drone.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut dec = FrameDecoder::new();
    let key = link_key();
    // mavlink-core's own verifier, independent of ours.
    let verifier = mavlink_core::SigningData::from_config(mavlink_core::SigningConfig::new(
        key.secret_key,
        key.link_id,
        false,
        false,
    ));
    let mut acks = Vec::new();
    let mut buf = [0u8; 2048];
    while acks.len() < 3 {
        let Ok((n, _)) = drone.recv_from(&mut buf) else { break };
        for d in dec.push_messages(&buf[..n]) {
            // Everything the ground sends is MAVLink 2 signed with the link key.
            let raw_bytes = d.frame.as_bytes();
            let mut bytes = [0u8; mavlink_core::consts::MAX_FRAME_SIZE];
            bytes[..raw_bytes.len()].copy_from_slice(raw_bytes);
            let raw = mavlink_core::MAVLinkV2MessageRaw::from_bytes_unparsed(bytes);
            assert!(verifier.verify_signature(&raw), "ack not signed with the link key");
            if let MavMessage::UTKIK_ALERT_ACK(a) = d.message {
                acks.push(a.alert_id)
            }
        }
    }
    acks.sort();
    assert_eq!(acks, vec![1, 1, 2], "one ack per reception");
    // Two-user confirmation through the world resource.
    let mut wr = app.world_mut().resource_mut::<WorldRes>();
    let (alice, bob) = (
        Actor::new("alice", [Role::Operator]),
        Actor::new("bob", [Role::Operator]),
    );
    wr.0.alerts.confirm(1, 2, &alice).unwrap();
    assert!(wr.0.alerts.confirm(1, 2, &alice).is_err());
    assert_eq!(
        wr.0.alerts.confirm(1, 2, &bob).unwrap(),
        &AlertState::Confirmed {
            by: ["alice".into(), "bob".into()]
        }
    );
    // Every packet recorded, rotated into several files.
    let MessageSource::Live(mut h) = app.world_mut().remove_resource::<MessageSource>().unwrap() else {
        panic!()
    };
    let c = h.counters();
    assert!(c.decode.garbage_bytes >= 18, "{c:?}");
    h.stop();
    let files = h.tlog_files.lock().unwrap().clone();
    let sent_bytes: usize = mission.frames.iter().map(|(_, f)| 8 + f.len()).sum();
    assert!(files.len() >= 2, "rotation of {sent_bytes} bytes at 16 KiB: {files:?}");
    let recorded: usize = files.iter().map(|f| read_tlog(f).unwrap().len()).sum();
    assert_eq!(recorded, sent - 1, "every packet but the non-hit read with text");
    assert_eq!(c.non_hit_text_not_recorded, 1);
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert!(
            !bytes.windows(6).any(|w| w == b"QRS98T"),
            "non-hit text in {}",
            f.display()
        );
    }
}

#[test]
fn replayed_records_give_the_same_world_as_live() {
    let mission = synth::mission(5, 6);
    let (events, stats) = link::events_from_records(&mission.frames);
    assert_eq!(stats.bad_frames(), 0);
    let (tx, rx) = crossbeam_channel::unbounded();
    for e in events {
        tx.send(e).unwrap();
    }
    let mut app = app_with(MessageSource::Channel(rx));
    app.update();
    let w = &app.world().resource::<WorldRes>().0;
    assert_eq!(w.applied_messages + w.ignored_messages, mission.frames.len() as u64);
    assert_eq!(w.alerts.len(), 2);
    assert!(w.vehicles[&1].trail.len() > 10);
}

#[test]
fn port_in_use_is_a_clear_error() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = link::start(LinkConfig {
        source: LinkSource::UdpListen(addr),
        record_dir: None,
        rotate_bytes: 1 << 20,
        signing: None,
        state_file: None,
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(&addr.to_string()) && err.contains("cannot listen"),
        "{err}"
    );
    let err = "tcp:nonsense".parse::<LinkSource>().unwrap_err().to_string();
    assert!(err.contains("tcp:nonsense"), "{err}");
}

#[test]
fn tcp_link_reconnects() {
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let handle = link::start(LinkConfig {
        source: LinkSource::TcpClient(addr),
        record_dir: None,
        rotate_bytes: 1 << 20,
        signing: None,
        state_file: None,
    })
    .unwrap();
    let mission = synth::mission(1, 1);
    let mut app = app_with(MessageSource::Live(handle));
    for round in 0..2u64 {
        let (mut s, _) = server.accept().unwrap();
        use std::io::Write;
        for (_, f) in &mission.frames {
            s.write_all(f).unwrap();
        }
        drop(s); // The drone side drops; the link must reconnect for round 2.
        let want = (round + 1) * mission.frames.len() as u64;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            app.update();
            let w = &app.world().resource::<WorldRes>().0;
            if w.applied_messages + w.ignored_messages >= want || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let w = &app.world().resource::<WorldRes>().0;
        assert_eq!(w.applied_messages + w.ignored_messages, want, "round {round}");
    }
}

/// The autopilot and the companion computer share system id 1 but are different UDP peers (as
/// with the simulator and `utkik-onboard` on one machine). A command for the drone must reach
/// the companion computer even when the autopilot spoke last: it goes to every peer of system 1,
/// and not to a peer of another system.
#[test]
fn commands_reach_every_udp_peer_of_the_target_system() {
    let handle = link::start(LinkConfig {
        source: LinkSource::UdpListen("127.0.0.1:0".parse().unwrap()),
        record_dir: None,
        rotate_bytes: 1 << 20,
        signing: Some(link::LinkKeys::one_for_all(link_key())),
        state_file: None,
    })
    .unwrap();
    let addr = handle.local_addr.unwrap();
    // Routes are learned from signed frames only: here both peers of system 1 sign (an
    // autopilot can; spoofed unsigned peers are tests/signed_link.rs).
    let mut signer = link::Signer::new(link_key());
    let mut heartbeat = |sys: u8, comp: u8| {
        signer.sign(
            mavlink_core::MavHeader {
                system_id: sys.into(),
                component_id: comp,
                sequence: 0,
            },
            &MavMessage::HEARTBEAT(Default::default()),
            now_usec(),
        )
    };
    let companion = UdpSocket::bind("127.0.0.1:0").unwrap();
    let autopilot = UdpSocket::bind("127.0.0.1:0").unwrap();
    let other = UdpSocket::bind("127.0.0.1:0").unwrap();
    for s in [&companion, &autopilot, &other] {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    }
    companion.send_to(&heartbeat(1, 191), addr).unwrap();
    other.send_to(&heartbeat(2, 1), addr).unwrap();
    autopilot.send_to(&heartbeat(1, 1), addr).unwrap();
    // Wait until the link thread has seen all three.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = 0;
    while seen < 3 && Instant::now() < deadline {
        if let Ok(link::LinkEvent::Message { .. }) = handle.events.recv_timeout(Duration::from_millis(100)) {
            seen += 1;
        }
    }
    assert_eq!(seen, 3);
    let ack = MavMessage::UTKIK_ALERT_ACK(utkik_shared::dialect::UTKIK_ALERT_ACK_DATA {
        target_system: 1,
        alert_id: 77,
        ..Default::default()
    });
    handle.send(1, ack.clone());
    let mut buf = [0u8; 512];
    // Besides the command, every peer of every drone gets the station's 1 Hz GCS HEARTBEAT.
    let is_gcs_heartbeat = |m: &MavMessage| matches!(m, MavMessage::HEARTBEAT(h) if h.mavtype == utkik_shared::dialect::MavType::MAV_TYPE_GCS);
    for (name, s) in [("companion", &companion), ("autopilot", &autopilot)] {
        let got = loop {
            let (n, _) = s
                .recv_from(&mut buf)
                .unwrap_or_else(|e| panic!("{name} got nothing: {e}"));
            let mut d = FrameDecoder::new();
            let got: Vec<_> = d
                .push_messages(&buf[..n])
                .into_iter()
                .map(|f| (f.frame.sysid(), f.message))
                .collect();
            if !got.iter().all(|(_, m)| is_gcs_heartbeat(m)) {
                break got;
            }
        };
        assert_eq!(got, vec![(link::GCS_SYSTEM_ID, ack.clone())], "{name}");
    }
    other.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    while let Ok((n, _)) = other.recv_from(&mut buf) {
        for f in FrameDecoder::new().push_messages(&buf[..n]) {
            assert!(
                is_gcs_heartbeat(&f.message),
                "system 2 got a message for system 1: {:?}",
                f.message
            );
        }
    }
}
