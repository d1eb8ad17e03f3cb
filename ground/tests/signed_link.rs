//! The signed field link over real UDP sockets and the real link thread (issue 14 item 2): a
//! forged UTKIK_BIOMETRIC_MATCH (unsigned, or signed with another drone's key) is refused and
//! counted; spoofed peers do not move routes; a frame accepted before a restart of the ground
//! station is refused after it; and the onboard's own out link, signing with its key, gets its
//! alert through and its signed ack back.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use mavlink_core::MavHeader;
use utkik_ground::link::{self, LinkConfig, LinkEvent, LinkHandle, LinkKey, LinkKeys, LinkSource, RefusedCounts};
use utkik_ground::state::World;
use utkik_shared::dialect::{
    HEARTBEAT_DATA, MavMessage, UTKIK_ALERT_ACK_DATA, UTKIK_BIOMETRIC_MATCH_DATA, UTKIK_PIPELINE_STATUS_DATA,
    UtkikAlertKind,
};
use utkik_shared::link_signing::{ReplayWindow, Signer, verify_frame};
use utkik_shared::mavframe::{FrameDecoder, encode_v2};

fn key(b: u8) -> LinkKey {
    LinkKey {
        link_id: b,
        secret_key: [b; 32],
    }
}

/// Drone 1 and drone 2, each with its own key.
fn keys() -> LinkKeys {
    LinkKeys::per_system([(1, key(1)), (2, key(2))])
}

fn now_usec() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

fn start(state_file: Option<std::path::PathBuf>) -> LinkHandle {
    link::start(LinkConfig {
        source: LinkSource::UdpListen("127.0.0.1:0".parse().unwrap()),
        record_dir: None,
        rotate_bytes: 1 << 20,
        signing: Some(keys()),
        state_file,
    })
    .unwrap()
}

fn hdr(sys: u8, seq: u8) -> MavHeader {
    MavHeader {
        system_id: sys.into(),
        component_id: 191,
        sequence: seq,
    }
}

fn a_match(alert_id: u32) -> MavMessage {
    MavMessage::UTKIK_BIOMETRIC_MATCH(UTKIK_BIOMETRIC_MATCH_DATA {
        alert_id,
        time_usec: now_usec(),
        ..Default::default()
    })
}

fn heartbeat() -> MavMessage {
    MavMessage::HEARTBEAT(HEARTBEAT_DATA::default())
}

/// Messages the link delivered until `done` holds or 10 s pass, with their signed flag.
fn collect(h: &LinkHandle, done: impl Fn(&[(MavMessage, bool)], RefusedCounts) -> bool) -> Vec<(MavMessage, bool)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while !done(&got, h.counters().refused) {
        assert!(Instant::now() < deadline, "timed out: {got:?} {:?}", h.counters());
        if let Ok(LinkEvent::Message { message, signed, .. }) = h.events.recv_timeout(Duration::from_millis(20)) {
            got.push((message, signed));
        }
    }
    got
}

#[test]
fn forged_matches_are_refused_counted_and_never_delivered() {
    let h = start(None);
    let ground = h.local_addr.unwrap();
    let spoofer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let drone = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Unsigned, and signed with drone 2's key while claiming to be drone 1.
    spoofer.send_to(&encode_v2(hdr(1, 0), &a_match(66)), ground).unwrap();
    let mut drone2 = Signer::new(key(2));
    spoofer
        .send_to(&drone2.sign(hdr(1, 1), &a_match(67), now_usec()), ground)
        .unwrap();
    // A system nobody gave us a key for.
    let mut stranger = Signer::new(key(9));
    spoofer
        .send_to(&stranger.sign(hdr(9, 0), &a_match(68), now_usec()), ground)
        .unwrap();
    // Unsigned autopilot telemetry is delivered, marked unsigned.
    spoofer.send_to(&encode_v2(hdr(1, 2), &heartbeat()), ground).unwrap();
    let mut drone1 = Signer::new(key(1));
    drone
        .send_to(&drone1.sign(hdr(1, 0), &a_match(5), now_usec()), ground)
        .unwrap();
    let got = collect(&h, |got, r| r.total() >= 3 && got.len() >= 2);
    let matches: Vec<_> = got
        .iter()
        .filter_map(|(m, signed)| match m {
            MavMessage::UTKIK_BIOMETRIC_MATCH(d) => Some((d.alert_id, *signed)),
            _ => None,
        })
        .collect();
    assert_eq!(matches, vec![(5, true)], "only the genuine match");
    assert!(
        got.contains(&(heartbeat(), false)),
        "unsigned telemetry shown as unsigned"
    );
    assert_eq!(
        h.counters().refused,
        RefusedCounts {
            unsigned: 1,
            bad_signature: 1,
            replayed: 0,
            unknown_system: 1
        }
    );
}

#[test]
fn spoofed_peers_do_not_move_routes() {
    let h = start(None);
    let ground = h.local_addr.unwrap();
    let drone = UdpSocket::bind("127.0.0.1:0").unwrap();
    drone.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut drone1 = Signer::new(key(1));
    drone
        .send_to(&drone1.sign(hdr(1, 0), &heartbeat(), now_usec()), ground)
        .unwrap();
    collect(&h, |got, _| !got.is_empty());
    // A handful of spoofers claiming system 1, speaking after the drone.
    let spoofers: Vec<UdpSocket> = (0..5).map(|_| UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
    let mut wrong = Signer::new(key(2));
    let status = MavMessage::UTKIK_PIPELINE_STATUS(UTKIK_PIPELINE_STATUS_DATA::default());
    for (i, s) in spoofers.iter().enumerate() {
        s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        s.send_to(&encode_v2(hdr(1, i as u8), &heartbeat()), ground).unwrap();
        s.send_to(&encode_v2(hdr(1, i as u8), &status), ground).unwrap();
        s.send_to(&wrong.sign(hdr(1, i as u8), &status, now_usec()), ground)
            .unwrap();
    }
    collect(&h, |got, r| r.total() >= 10 && got.len() >= 5);
    let ack = MavMessage::UTKIK_ALERT_ACK(UTKIK_ALERT_ACK_DATA {
        target_system: 1,
        target_component: 191,
        alert_id: 5,
        kind: UtkikAlertKind::UTKIK_ALERT_KIND_BIOMETRIC_MATCH,
    });
    h.send(1, ack.clone());
    let mut buf = [0u8; 512];
    // The station's 1 Hz GCS HEARTBEAT comes too (to the drone only, signed with its key).
    let frame = loop {
        let (n, _) = drone.recv_from(&mut buf).expect("the drone still gets its messages");
        let f = FrameDecoder::new().push_collect(&buf[..n]).into_iter().next().unwrap();
        if !matches!(f.decode::<MavMessage>(), Ok(MavMessage::HEARTBEAT(_))) {
            break f;
        }
    };
    assert_eq!(frame.decode::<MavMessage>().unwrap(), ack);
    let mut w = ReplayWindow::new();
    verify_frame(frame.as_bytes(), &key(1), &mut w, now_usec()).expect("signed with drone 1's key");
    for s in &spoofers {
        assert!(s.recv_from(&mut buf).is_err(), "a spoofer got a message for system 1");
    }
}

#[test]
fn a_frame_accepted_before_a_restart_is_refused_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(link::SIGNING_STATE_FILE);
    let drone = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut drone1 = Signer::new(key(1));
    let recorded = drone1.sign(hdr(1, 0), &a_match(7), now_usec());
    let mut h = start(Some(state.clone()));
    drone.send_to(&recorded, h.local_addr.unwrap()).unwrap();
    collect(&h, |got, _| !got.is_empty());
    h.stop();
    assert!(state.is_file(), "the window was saved when the link stopped");
    // The same bytes, replayed off the air after the restart, are refused; a new frame is not.
    let h = start(Some(state));
    let ground = h.local_addr.unwrap();
    drone.send_to(&recorded, ground).unwrap();
    collect(&h, |_, r| r.replayed == 1);
    drone
        .send_to(&drone1.sign(hdr(1, 1), &a_match(8), now_usec()), ground)
        .unwrap();
    let got = collect(&h, |got, _| !got.is_empty());
    assert!(matches!(&got[0], (MavMessage::UTKIK_BIOMETRIC_MATCH(m), true) if m.alert_id == 8));
    assert_eq!(h.counters().refused.total(), 1);
}

/// The onboard's real out link (signing with drone 1's key, counting only signed acks) and the
/// ground's real link thread and world, over loopback UDP.
#[test]
fn the_onboard_out_link_and_the_ground_link_speak_signed_both_ways() {
    use utkik_onboard::out::{OutLink, OutLinkConfig, OutTransport, ResendPolicy, SystemClock};
    let h = start(None);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut out = OutLink::new(
        OutTransport::Udp {
            socket,
            peer: h.local_addr.unwrap(),
        },
        OutLinkConfig {
            system_id: 1,
            component_id: 191,
            budget_bytes_per_s: 5_760.0,
            burst_bytes: 1_000.0,
            resend: ResendPolicy {
                initial_usec: 200_000,
                max_usec: 1_000_000,
            },
        },
        SystemClock,
    )
    .unwrap();
    out.require_signed_acks(&key(1));
    out.push_alert(41, a_match(41));
    let mut world = World::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut signed_match = false;
    while out.stats().acks == 0 {
        assert!(
            Instant::now() < deadline,
            "no signed ack: {:?} {:?}",
            out.stats(),
            h.counters()
        );
        out.step();
        while let Ok(ev) = h.events.recv_timeout(Duration::from_millis(10)) {
            if let LinkEvent::Message {
                origin,
                message,
                time_s,
                signed,
            } = ev
            {
                signed_match |= signed && matches!(message, MavMessage::UTKIK_BIOMETRIC_MATCH(_));
                for o in world.apply(origin, &message, time_s) {
                    h.send(o.system_id, o.message);
                }
            }
        }
    }
    assert!(signed_match, "the match arrived verified");
    assert!(world.alerts.get(1, 41).is_some());
    assert_eq!(out.pending_alerts(), 0);
    assert_eq!((out.stats().acks, out.stats().acks_refused), (1, 0));
    assert_eq!(h.counters().refused.total(), 0);
    let _: SocketAddr = h.local_addr.unwrap();
}
