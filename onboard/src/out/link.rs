//! The link to the ground: encodes queued messages as MAVLink 2 frames only when the byte budget
//! allows, sends them over UDP (to the ground's address; acks and commands come back on the same
//! socket) or a serial radio, handles UTKIK_ALERT_ACK, and measures frame-to-MAVLink latency.
//! [`OutLink::step`] does one round of work at the clock's "now": the out thread calls it in a
//! loop, tests call it after moving a [`super::ManualClock`].

use super::outbox::{Outbox, OutboxError, PendingAlert};
use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};

use mavlink_core::{MavHeader, MessageData};
use utkik_shared::dialect::MavMessage;

use super::budget::TokenBucket;
use super::clock::Clock;
use super::queue::{OutQueue, Priority, ResendPolicy};
use super::status::percentiles;
use utkik_shared::link_signing::{LinkKey, ReplayWindow, Signer, verify_frame};
use utkik_shared::mavframe::{FrameDecoder, encode_v2};

/// Where the ground station is.
pub enum OutTransport {
    /// UDP: a local socket and the ground's address.
    Udp {
        /// Bound socket (non-blocking is set by [`OutLink::new`]).
        socket: UdpSocket,
        /// The ground station.
        peer: SocketAddr,
    },
    /// A serial radio.
    Serial(Box<dyn serialport::SerialPort>),
}

impl std::fmt::Debug for OutTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Udp { peer, .. } => write!(f, "Udp({peer})"),
            Self::Serial(p) => write!(f, "Serial({:?})", p.name()),
        }
    }
}

/// Outbound link settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutLinkConfig {
    /// Our MAVLink system id (the drone's).
    pub system_id: u8,
    /// Our component id (onboard computer).
    pub component_id: u8,
    /// Byte budget per second.
    pub budget_bytes_per_s: f64,
    /// Largest burst, bytes.
    pub burst_bytes: f64,
    /// Alert resend back-off.
    pub resend: ResendPolicy,
}

/// Counters of the link.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OutStats {
    /// Frames sent.
    pub messages_sent: u64,
    /// Bytes sent (whole frames).
    pub bytes_sent: u64,
    /// Alerts acknowledged.
    pub acks: u64,
    /// Acks refused: not signed with the link key while one is configured (a forged ack
    /// would stop the resends of an alert the ground never got).
    pub acks_refused: u64,
    /// Send errors (the ground unreachable, radio gone).
    pub send_errors: u64,
}

/// The outbound link.
pub struct OutLink<C: Clock> {
    transport: OutTransport,
    config: OutLinkConfig,
    queue: OutQueue,
    bucket: TokenBucket,
    /// The one decoder of what the ground sends (frames kept whole for signature checks).
    decoder: FrameDecoder,
    clock: C,
    seq: u8,
    latencies: Vec<(u64, u64)>,
    stats: OutStats,
    incoming: Vec<MavMessage>,
    /// Frames kept whole (signature included) for the gate: every UTKIK_AUTHZ_COMMAND and
    /// UTKIK_UPLOAD_CHUNK, and every other signed frame (the ground's HEARTBEAT, acks): the gate counts those that
    /// verify as the link being alive (LAW.md 2.4).
    ground_frames: Vec<Vec<u8>>,
    /// With a link key, only acks signed with it (and not replayed) count.
    ack_verifier: Option<(LinkKey, ReplayWindow)>,
    /// With a link key, every frame sent is signed (at least our dialect and the image
    /// transfers must be: `utkik_shared::link_signing::must_be_signed`).
    signer: Option<Signer>,
    /// Alerts on disk until acknowledged (`outbox.rs`); none in tests that do not attach one.
    outbox: Option<Outbox>,
}

impl<C: Clock> OutLink<C> {
    /// A link over `transport`.
    pub fn new(transport: OutTransport, config: OutLinkConfig, clock: C) -> std::io::Result<Self> {
        if let OutTransport::Udp { socket, .. } = &transport {
            socket.set_nonblocking(true)?;
        }
        Ok(Self {
            transport,
            config,
            queue: OutQueue::new(config.resend),
            bucket: TokenBucket::new(config.budget_bytes_per_s, config.burst_bytes),
            decoder: FrameDecoder::new(),
            clock,
            seq: 0,
            latencies: Vec::new(),
            stats: OutStats::default(),
            incoming: Vec::new(),
            ground_frames: Vec::new(),
            ack_verifier: None,
            signer: None,
            outbox: None,
        })
    }

    /// The drone's link key, both ways: from now on every frame in our dialect and every image
    /// transfer is MAVLink 2 signed with `key` (the ground acts on nothing else), and an alert
    /// ack counts only when signed with it (a forged ack would silence an alert the ground never
    /// got); others are counted and dropped.
    pub fn require_signed_acks(&mut self, key: &LinkKey) {
        self.ack_verifier = Some((key.clone(), ReplayWindow::new()));
        self.signer = Some(Signer::new(key.clone()));
    }

    fn apply_ack(&mut self, a: &utkik_shared::dialect::UTKIK_ALERT_ACK_DATA) {
        if (a.target_system == self.config.system_id || a.target_system == 0) && self.queue.ack(a.alert_id) {
            self.stats.acks += 1;
            self.forget(a.alert_id);
        }
    }

    /// Keeps every alert on disk until acknowledged (`outbox.rs`), and queues the alerts a
    /// previous run left unacknowledged (a kill -9, a reboot); returns how many, and the files
    /// that did not read back (named, kept on disk).
    ///
    /// # Errors
    /// The outbox folder cannot be listed.
    pub fn attach_outbox(&mut self, outbox: Outbox) -> Result<(usize, Vec<OutboxError>), OutboxError> {
        let (pending, bad) = outbox.pending()?;
        let n = pending.len();
        for a in pending {
            self.queue.push_alert_with(a.alert_id, a.message, a.follow);
        }
        self.outbox = Some(outbox);
        Ok((n, bad))
    }

    fn forget(&mut self, alert_id: u32) {
        if let Some(o) = &self.outbox
            && let Err(e) = o.remove(alert_id)
        {
            tracing::error!("{e}");
        }
    }

    /// Queues a message (see [`OutQueue::push`] for the priorities).
    pub fn push(&mut self, msg: MavMessage) {
        self.queue.push(msg);
    }

    /// Queues an alert, resent until acknowledged.
    pub fn push_alert(&mut self, alert_id: u32, msg: MavMessage) {
        self.push_alert_with(alert_id, msg, Vec::new());
    }

    /// Counters.
    pub fn stats(&self) -> OutStats {
        self.stats
    }

    /// Messages waiting.
    pub fn queue_depth(&self) -> usize {
        self.queue.depth()
    }

    /// Queues an alert whose every (re)send is followed by `follow` (an evidence transfer).
    pub fn push_alert_with(&mut self, alert_id: u32, msg: MavMessage, follow: Vec<MavMessage>) {
        if let Some(o) = &self.outbox {
            let pending = PendingAlert {
                alert_id,
                message: msg,
                follow,
            };
            // On disk first; a write that fails is logged and the alert still goes out.
            if let Err(e) = o.put(self.config.system_id, self.config.component_id, &pending) {
                tracing::error!("{e}: alert {alert_id} is only in memory");
            }
            self.queue.push_alert_with(alert_id, pending.message, pending.follow);
            return;
        }
        self.queue.push_alert_with(alert_id, msg, follow);
    }

    /// Unacknowledged alerts.
    pub fn pending_alerts(&self) -> usize {
        self.queue.pending_alerts()
    }

    /// Messages from the ground other than acks (authorization commands), taken out.
    pub fn take_incoming(&mut self) -> Vec<MavMessage> {
        std::mem::take(&mut self.incoming)
    }

    /// Raw frames from the ground for the gate (signature included), taken out: every
    /// UTKIK_AUTHZ_COMMAND and UTKIK_UPLOAD_CHUNK, and every other signed frame.
    pub fn take_ground_frames(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.ground_frames)
    }

    /// Stops resending an alert whose data was deleted (refused urgent use); returns whether
    /// it was pending.
    pub fn cancel_alert(&mut self, alert_id: u32) -> bool {
        self.forget(alert_id);
        self.queue.ack(alert_id)
    }

    /// Share of the budget used over the last second, percent.
    pub fn budget_used_pct(&mut self) -> u8 {
        let now = self.clock.now_usec();
        (self.bucket.used_last_second(now) * 100.0).round().min(255.0) as u8
    }

    /// Frame-to-MAVLink latency p50 and p95 over the last second, ms.
    pub fn latency_ms(&mut self) -> Option<(u64, u64)> {
        let now = self.clock.now_usec();
        self.latencies.retain(|&(t, _)| t + 1_000_000 > now);
        let mut v: Vec<u64> = self.latencies.iter().map(|&(_, l)| l / 1000).collect();
        percentiles(&mut v)
    }

    fn receive(&mut self) {
        let mut buf = [0u8; 2048];
        loop {
            let n = match &mut self.transport {
                OutTransport::Udp { socket, .. } => match socket.recv_from(&mut buf) {
                    Ok((n, _)) => n,
                    Err(_) => break,
                },
                OutTransport::Serial(port) => match port.bytes_to_read() {
                    Ok(avail) if avail > 0 => port.read(&mut buf).unwrap_or(0),
                    _ => 0,
                },
            };
            if n == 0 {
                break;
            }
            let now = self.clock.now_usec();
            self.decoder.push(&buf[..n]);
            while let Some(frame) = self.decoder.next_frame() {
                // The gate checks commands and upload chunks itself, whole (even one whose payload
                // does not parse, or that is unsigned, is counted or audit-logged there), and every
                // signed frame for the link-loss stop. Commands get the largest share, so a flood
                // of other frames (chunks included) cannot crowd out a STOP.
                let is_command = frame.msg_id() == utkik_shared::dialect::UTKIK_AUTHZ_COMMAND_DATA::ID;
                let is_chunk = frame.msg_id() == utkik_shared::dialect::UTKIK_UPLOAD_CHUNK_DATA::ID;
                let room = if is_command {
                    64
                } else if is_chunk {
                    48
                } else {
                    32
                };
                if (is_command || is_chunk || frame.is_signed()) && self.ground_frames.len() < room {
                    self.ground_frames.push(frame.as_bytes().to_vec());
                }
                let Ok(msg) = frame.decode::<MavMessage>() else {
                    continue;
                };
                match msg {
                    MavMessage::UTKIK_ALERT_ACK(a) => {
                        if let Some((key, window)) = &mut self.ack_verifier
                            && let Err(why) = verify_frame(frame.as_bytes(), key, window, now)
                        {
                            self.stats.acks_refused += 1;
                            tracing::warn!(%why, "alert ack refused: the alert stays pending and is resent");
                            continue;
                        }
                        self.apply_ack(&a);
                    }
                    other => {
                        if self.incoming.len() < 256 {
                            self.incoming.push(other);
                        }
                    }
                }
            }
        }
    }

    /// Handles incoming acks, then sends as much as the budget allows now; returns frames sent.
    pub fn step(&mut self) -> usize {
        self.receive();
        let now = self.clock.now_usec();
        let mut sent = 0;
        while let Some((priority, msg)) = self.queue.peek(now) {
            let header = MavHeader {
                system_id: u32::from(self.config.system_id),
                component_id: self.config.component_id,
                sequence: self.seq,
            };
            // Everything this program sends is signed when it has the key: what must be (our
            // dialect, image transfers) and the pose a camera without an autopilot reports
            // (`pose_report`), which the station would otherwise show as unsigned telemetry.
            let bytes = match &mut self.signer {
                Some(signer) => signer.sign(header, msg, now),
                None => encode_v2(header, msg),
            };
            if !self.bucket.try_take(bytes.len(), now) {
                break;
            }
            let frame_time = match msg {
                MavMessage::UTKIK_TRACK(t) => Some(t.time_usec),
                MavMessage::UTKIK_PLATE_READ(p) if priority != Priority::Alert => Some(p.time_usec),
                _ => None,
            };
            let ok = match &mut self.transport {
                OutTransport::Udp { socket, peer } => socket.send_to(&bytes, *peer).is_ok(),
                OutTransport::Serial(port) => port.write_all(&bytes).is_ok(),
            };
            // A failed send still spends the budget and leaves the queue: the radio, not the
            // queue, is the bottleneck, and stale updates must not pile up behind a dead link.
            // Alerts stay pending until acknowledged whatever happens here.
            self.queue.sent(now);
            self.seq = self.seq.wrapping_add(1);
            if ok {
                self.stats.messages_sent += 1;
                self.stats.bytes_sent += bytes.len() as u64;
                if let Some(t) = frame_time {
                    self.latencies.push((now, now.saturating_sub(t)));
                }
                sent += 1;
            } else {
                self.stats.send_errors += 1;
            }
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::out::clock::ManualClock;
    use std::time::Duration;
    use utkik_shared::dialect::{
        UTKIK_ALERT_ACK_DATA, UTKIK_PIPELINE_STATUS_DATA, UTKIK_PLATE_READ_DATA, UTKIK_TRACK_DATA, UtkikAlertKind,
        UtkikObjectClass, UtkikPlateStatus, UtkikTrackFlags,
    };

    const T0: u64 = 1_763_800_000_000_000;

    fn setup(budget: f64) -> (OutLink<ManualClock>, UdpSocket, ManualClock) {
        let ground = UdpSocket::bind("127.0.0.1:0").unwrap();
        ground.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let clock = ManualClock::new(T0);
        let cfg = OutLinkConfig {
            system_id: 1,
            component_id: 191,
            budget_bytes_per_s: budget,
            burst_bytes: 200.0,
            resend: ResendPolicy {
                initial_usec: 1_000_000,
                max_usec: 4_000_000,
            },
        };
        let link = OutLink::new(
            OutTransport::Udp {
                socket,
                peer: ground.local_addr().unwrap(),
            },
            cfg,
            clock.clone(),
        )
        .unwrap();
        (link, ground, clock)
    }

    fn recv_all(ground: &UdpSocket) -> Vec<MavMessage> {
        ground.set_nonblocking(true).unwrap();
        let mut d = FrameDecoder::new();
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        // Loopback delivery is immediate but not synchronous with send: wait briefly for the first.
        ground.set_nonblocking(false).unwrap();
        ground.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        while let Ok((n, _)) = ground.recv_from(&mut buf) {
            out.extend(d.push_messages(&buf[..n]).into_iter().map(|m| m.message));
            ground.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
        }
        out
    }

    fn update(id: u32, t: u64) -> MavMessage {
        MavMessage::UTKIK_TRACK(UTKIK_TRACK_DATA {
            time_usec: t,
            track_id: id,
            object_class: UtkikObjectClass::UTKIK_OBJECT_CLASS_FACE,
            flags: UtkikTrackFlags::UTKIK_TRACK_FLAGS_GEO_VALID,
            ..Default::default()
        })
    }

    #[test]
    fn budget_limits_bytes_per_second_and_coalesces_updates() {
        let (mut link, ground, clock) = setup(1_000.0);
        // 10 s at 20 updates/s for 10 tracks = 2000 updates, far over 1000 B/s.
        for step in 0..200u64 {
            for id in 0..10 {
                link.push(update(id, clock.now_usec()));
            }
            if step % 10 == 0 {
                link.push(MavMessage::UTKIK_PIPELINE_STATUS(UTKIK_PIPELINE_STATUS_DATA::default()));
            }
            link.step();
            clock.advance_usec(50_000);
        }
        let s = link.stats();
        assert!(s.bytes_sent as f64 <= 1_000.0 * 10.0 + 200.0, "{s:?}");
        assert!(s.bytes_sent as f64 >= 1_000.0 * 9.0, "the budget is used: {s:?}");
        assert!(
            link.queue_depth() <= 11,
            "coalesced: at most one update per track + status waits"
        );
        let got = recv_all(&ground);
        assert_eq!(got.len() as u64, s.messages_sent);
        // Updates starve status under overload: that is the priority order.
        assert!(got.iter().all(|m| matches!(m, MavMessage::UTKIK_TRACK(_))));
        let (p50, p95) = link.latency_ms().unwrap();
        assert!(p50 <= p95 && p95 <= 1_000, "{p50} {p95}");
    }

    #[test]
    fn alert_is_resent_until_ack_arrives_on_the_same_socket() {
        let (mut link, ground, clock) = setup(5_760.0);
        let hit = MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
            alert_id: 77,
            status: UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
            ..Default::default()
        });
        link.push_alert(77, hit);
        let mut received = 0;
        for _ in 0..4 {
            link.step();
            received += recv_all(&ground).len();
            clock.advance_usec(1_000_000);
        }
        // Sent at 0 s, resent at 1 s and 3 s (back-off 1, 2 s); the 4th step at 3 s.
        assert_eq!(received, 3);
        let ack = MavMessage::UTKIK_ALERT_ACK(UTKIK_ALERT_ACK_DATA {
            target_system: 1,
            target_component: 191,
            alert_id: 77,
            kind: UtkikAlertKind::UTKIK_ALERT_KIND_PLATE_HIT,
        });
        let onboard_addr = match &link.transport {
            OutTransport::Udp { socket, .. } => socket.local_addr().unwrap(),
            OutTransport::Serial(_) => unreachable!(),
        };
        let frame = encode_v2(
            MavHeader {
                system_id: 255,
                component_id: 190,
                sequence: 0,
            },
            &ack,
        );
        ground.send_to(b"junk", onboard_addr).unwrap();
        ground.send_to(&frame, onboard_addr).unwrap();
        // Wait (without a clock) until the ack has been read.
        for _ in 0..200 {
            link.step();
            if link.stats().acks == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(link.stats().acks, 1);
        assert_eq!(link.pending_alerts(), 0);
        clock.advance_usec(10_000_000);
        link.step();
        assert!(recv_all(&ground).is_empty(), "no resend after the ack");
    }

    /// Issue 14 item 4: an alert queued by a drone that is then killed (the link dropped with no
    /// shutdown) is sent again by the restarted drone's link over the same outbox, with its image
    /// transfer, until the ground acknowledges it; then its file is gone. A cancelled alert (its
    /// use's data deleted) leaves the outbox too.
    #[test]
    fn a_restarted_drone_resends_what_the_ground_had_not_acknowledged() {
        use utkik_shared::dialect::{DATA_TRANSMISSION_HANDSHAKE_DATA, UtkikPlateStatus};
        let dir = tempfile::tempdir().unwrap();
        let hit = |id: u32| {
            MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
                alert_id: id,
                status: UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
                ..Default::default()
            })
        };
        let handshake = MavMessage::DATA_TRANSMISSION_HANDSHAKE(DATA_TRANSMISSION_HANDSHAKE_DATA {
            size: 10,
            packets: 1,
            ..Default::default()
        });
        {
            let (mut link, _ground, _clock) = setup(1e6);
            assert_eq!(link.attach_outbox(Outbox::open(dir.path()).unwrap()).unwrap().0, 0);
            link.push_alert_with(41, hit(41), vec![handshake.clone()]);
            link.push_alert(42, hit(42));
            link.cancel_alert(42);
            // kill -9: dropped here, nothing acknowledged.
        }
        let (mut link, ground, _clock) = setup(1e6);
        let (resent, bad) = link.attach_outbox(Outbox::open(dir.path()).unwrap()).unwrap();
        assert_eq!((resent, bad.len()), (1, 0), "alert 41 only: 42 was cancelled");
        link.step();
        std::thread::sleep(Duration::from_millis(50));
        let got = recv_all(&ground);
        assert!(got.contains(&hit(41)), "{got:?}");
        assert!(got.contains(&handshake), "the image transfer follows: {got:?}");
        let ack = MavMessage::UTKIK_ALERT_ACK(UTKIK_ALERT_ACK_DATA {
            target_system: 1,
            target_component: 191,
            alert_id: 41,
            kind: UtkikAlertKind::UTKIK_ALERT_KIND_PLATE_HIT,
        });
        let onboard_addr = match &link.transport {
            OutTransport::Udp { socket, .. } => socket.local_addr().unwrap(),
            OutTransport::Serial(_) => unreachable!(),
        };
        let header = MavHeader {
            system_id: 255,
            component_id: 190,
            sequence: 0,
        };
        ground.send_to(&encode_v2(header, &ack), onboard_addr).unwrap();
        for _ in 0..200 {
            link.step();
            if link.stats().acks == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(link.pending_alerts(), 0);
        assert_eq!(
            Outbox::open(dir.path()).unwrap().pending().unwrap().0,
            vec![],
            "acknowledged: gone from disk"
        );
    }

    /// With a link key, only an ack signed with it stops the resends: an unsigned one and one
    /// signed with another key are refused and counted, the alert stays pending.
    #[test]
    fn with_a_link_key_only_signed_acks_count() {
        use crate::gate::LinkKey;
        use crate::gate::tests::sign_frame;
        let key = LinkKey::from_json(utkik_shared::demo::LINK_KEY_JSON, std::path::Path::new("DEMO")).unwrap();
        let mut other = key.clone();
        other.secret_key[0] ^= 0xFF;
        let (mut link, ground, _clock) = setup(5_760.0);
        link.require_signed_acks(&key);
        link.push_alert(
            5,
            MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
                alert_id: 5,
                status: UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
                ..Default::default()
            }),
        );
        link.step();
        let onboard_addr = match &link.transport {
            OutTransport::Udp { socket, .. } => socket.local_addr().unwrap(),
            OutTransport::Serial(_) => unreachable!(),
        };
        let ack = MavMessage::UTKIK_ALERT_ACK(UTKIK_ALERT_ACK_DATA {
            target_system: 1,
            target_component: 191,
            alert_id: 5,
            kind: UtkikAlertKind::UTKIK_ALERT_KIND_PLATE_HIT,
        });
        let header = |sequence| MavHeader {
            system_id: 255,
            component_id: 190,
            sequence,
        };
        let wait = |link: &mut OutLink<ManualClock>, done: &dyn Fn(OutStats) -> bool| {
            for _ in 0..200 {
                link.step();
                if done(link.stats()) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        ground.send_to(&encode_v2(header(0), &ack), onboard_addr).unwrap();
        wait(&mut link, &|s| s.acks_refused == 1);
        ground
            .send_to(&sign_frame(&other, header(1), &ack), onboard_addr)
            .unwrap();
        wait(&mut link, &|s| s.acks_refused == 2);
        assert_eq!((link.stats().acks, link.stats().acks_refused), (0, 2));
        assert_eq!(link.pending_alerts(), 1, "still resent");
        ground
            .send_to(&sign_frame(&key, header(2), &ack), onboard_addr)
            .unwrap();
        wait(&mut link, &|s| s.acks == 1);
        assert_eq!(link.stats().acks, 1);
        assert_eq!(link.pending_alerts(), 0);
    }

    /// With the drone's key, every frame in our dialect and every image transfer leaves signed
    /// with it (the ground acts on nothing else), timestamps growing frame by frame.
    #[test]
    fn with_a_link_key_everything_in_our_dialect_and_image_transfers_is_signed() {
        use utkik_shared::dialect::{DATA_TRANSMISSION_HANDSHAKE_DATA, ENCAPSULATED_DATA_DATA};
        let key = LinkKey::from_json(utkik_shared::demo::LINK_KEY_JSON, std::path::Path::new("DEMO")).unwrap();
        let (mut link, ground, clock) = setup(5_760.0);
        link.require_signed_acks(&key);
        link.push(update(1, clock.now_usec()));
        link.push(MavMessage::UTKIK_PIPELINE_STATUS(UTKIK_PIPELINE_STATUS_DATA::default()));
        link.push_alert_with(
            3,
            MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
                alert_id: 3,
                status: UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
                ..Default::default()
            }),
            vec![
                MavMessage::DATA_TRANSMISSION_HANDSHAKE(DATA_TRANSMISSION_HANDSHAKE_DATA::default()),
                MavMessage::ENCAPSULATED_DATA(ENCAPSULATED_DATA_DATA::default()),
            ],
        );
        for _ in 0..5 {
            link.step();
            clock.advance_usec(100_000);
        }
        ground.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut d = FrameDecoder::new();
        let mut frames = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok((n, _)) = ground.recv_from(&mut buf) {
            frames.extend(d.push_collect(&buf[..n]));
            ground.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
        }
        let ids: Vec<u32> = frames.iter().map(|f| f.msg_id()).collect();
        for id in [
            UTKIK_TRACK_DATA::ID,
            UTKIK_PIPELINE_STATUS_DATA::ID,
            UTKIK_PLATE_READ_DATA::ID,
            DATA_TRANSMISSION_HANDSHAKE_DATA::ID,
            ENCAPSULATED_DATA_DATA::ID,
        ] {
            assert!(ids.contains(&id), "{id} sent: {ids:?}");
        }
        let mut window = ReplayWindow::new();
        for f in &frames {
            verify_frame(f.as_bytes(), &key, &mut window, clock.now_usec())
                .unwrap_or_else(|e| panic!("message {} not signed with the key: {e}", f.msg_id()));
        }
    }
}
