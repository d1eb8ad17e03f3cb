//! The lossy-link harness shared by `tests/lossy_delivery.rs` and `benches/lossy_link.rs`: the
//! onboard's real out link (budget, priorities, resends) sends plate hits with plate images and
//! possible matches with evidence crops through the impairment proxy (`utkik_sim::impair`, real
//! UDP sockets) to the ground's world (alerts, image reassembly, the ack rule), which
//! acknowledges each alert only once its image is complete and put in a real payload store
//! (fsync). Times are measured on the wall clock: this is a real-socket run.

#![allow(dead_code)]

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mavlink_core::MavHeader;
use utkik_ground::state::{Origin, World};
use utkik_onboard::gate::evidence::{Evidence, evidence_messages};
use utkik_onboard::out::{OutLink, OutLinkConfig, OutTransport, ResendPolicy, SystemClock};
use utkik_shared::dialect::{MavMessage, UTKIK_BIOMETRIC_MATCH_DATA, UTKIK_PLATE_READ_DATA, UtkikPlateStatus};
use utkik_shared::image_transfer::image_crc32;
use utkik_shared::mavframe::{FrameDecoder, encode_v2};
use utkik_sim::impair::udp::UdpProxy;
use utkik_sim::impair::{Cut, DirectionConfig, ImpairConfig, Report};

/// One run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Loss probability, both directions.
    pub loss: f64,
    /// Link outages.
    pub cuts: Vec<Cut>,
    /// Proxy seed.
    pub seed: u64,
    /// Alerts to send (even: plate hits, odd: possible matches).
    pub alerts: usize,
    /// Time between two alerts.
    pub interval: Duration,
    /// Image size, bytes (each alert's image differs a little in size).
    pub image_bytes: usize,
    /// Onboard byte budget, bytes/s (57,600 baud = 5,760).
    pub budget_bytes_per_s: f64,
    /// Onboard resend back-off.
    pub resend: ResendPolicy,
    /// Give up after this long.
    pub deadline: Duration,
}

impl Scenario {
    /// `alerts` alerts one per `interval_ms`, 3 KB images, 57,600 baud, resends 1-3 s (the
    /// onboard defaults).
    pub fn field(loss: f64, alerts: usize, interval_ms: u64) -> Self {
        Scenario {
            loss,
            cuts: vec![],
            seed: 7,
            alerts,
            interval: Duration::from_millis(interval_ms),
            image_bytes: 3_000,
            budget_bytes_per_s: 5_760.0,
            resend: ResendPolicy::default(),
            deadline: Duration::from_secs(120),
        }
    }
}

/// What happened.
#[derive(Debug)]
pub struct Outcome {
    /// Per alert: push onboard -> first arrival at the ground, seconds (None: never arrived).
    pub alert_latency_s: Vec<Option<f64>>,
    /// Per alert: push onboard -> image complete at the ground, seconds.
    pub evidence_s: Vec<Option<f64>>,
    /// Per alert: push onboard -> the ground's first ack, seconds.
    pub acked_s: Vec<Option<f64>>,
    /// The drone holds no unacknowledged alert at the end (it stopped resending all of them).
    pub all_acked: bool,
    /// Images that arrived but differ from the ones sent.
    pub images_wrong: usize,
    /// Every image at the ground, equal to the one sent.
    pub images_identical: bool,
    /// Acks sent before the alert's image was complete and stored (must stay 0).
    pub early_acks: u64,
    /// Wall time of the run, seconds.
    pub elapsed_s: f64,
    /// Bytes the onboard sent (whole frames).
    pub onboard_bytes: u64,
    /// Bytes the ground sent (acks).
    pub ground_bytes: u64,
    /// The proxy's counters.
    pub report: Report,
}

fn image(len: usize, seed: u32) -> Evidence {
    Evidence {
        jpeg: (0..len as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(97)) as u8)
            .collect(),
        sealed: false,
        width_px: 64,
        height_px: 48,
        quality: 70,
    }
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn alert(i: usize, img: &Evidence) -> (u32, MavMessage) {
    if i % 2 == 0 {
        let id = (1 << 16) | (i as u32 + 1);
        let m = MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
            alert_id: id,
            status: UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
            plate: "ABC123".into(),
            image_transfer_id: 0x8000 + i as u16,
            image_size: img.jpeg.len() as u32,
            image_crc32: image_crc32(&img.jpeg),
            ..Default::default()
        });
        (id, m)
    } else {
        let id = 0x4000_0000 | (1 << 16) | i as u32;
        let m = MavMessage::UTKIK_BIOMETRIC_MATCH(UTKIK_BIOMETRIC_MATCH_DATA {
            alert_id: id,
            evidence_transfer_id: 1 + i as u16,
            evidence_size: img.jpeg.len() as u32,
            evidence_crc32: image_crc32(&img.jpeg),
            ..Default::default()
        });
        (id, m)
    }
}

/// Runs `s`; returns when every alert was acknowledged or at the deadline.
pub fn run(s: &Scenario) -> Outcome {
    let mut lossy = DirectionConfig::clean();
    lossy.loss = s.loss;
    let config = ImpairConfig {
        seed: s.seed,
        forward: lossy.clone(),
        back: lossy,
        cuts: s.cuts.clone(),
    };
    let ground = UdpSocket::bind("127.0.0.1:0").unwrap();
    ground.set_nonblocking(true).unwrap();
    let proxy = UdpProxy::bind("127.0.0.1:0".parse().unwrap(), ground.local_addr().unwrap(), config).unwrap();
    let listen = proxy.listen_addr().unwrap();
    let shutdown = AtomicBool::new(false);
    let store_dir = tempfile::tempdir().unwrap();
    let store = utkik_shared::audit::PayloadStore::open(store_dir.path().join("payloads")).unwrap();
    let mut out = OutLink::new(
        OutTransport::Udp {
            socket: UdpSocket::bind("127.0.0.1:0").unwrap(),
            peer: listen,
        },
        OutLinkConfig {
            system_id: 1,
            component_id: 191,
            budget_bytes_per_s: s.budget_bytes_per_s,
            burst_bytes: 1_200.0,
            resend: s.resend,
        },
        SystemClock,
    )
    .unwrap();
    let images: Vec<Evidence> = (0..s.alerts).map(|i| image(s.image_bytes + 37 * i, i as u32)).collect();
    let ids: Vec<u32> = (0..s.alerts).map(|i| alert(i, &images[i]).0).collect();
    let n = s.alerts;
    let mut pushed_at = vec![None; n];
    let mut alert_latency_s = vec![None; n];
    let mut evidence_s = vec![None; n];
    let mut acked_s = vec![None; n];
    let mut world = World::new();
    world.alerts.set_queue_acks(true);
    world.alerts.set_require_store(true);
    let mut decoder = FrameDecoder::new();
    let mut seq = 0u8;
    let mut early_acks = 0;
    let mut ground_bytes = 0u64;
    let started = Instant::now();
    let report = std::thread::scope(|scope| {
        let proxy_thread = scope.spawn(|| proxy.run(&shutdown, None).unwrap());
        let mut buf = [0u8; 2048];
        let mut next = 0;
        loop {
            let t = started.elapsed();
            if next < n && t >= s.interval * next as u32 {
                let (id, msg) = alert(next, &images[next]);
                out.push_alert_with(id, msg, evidence_messages(&images[next]));
                pushed_at[next] = Some(t);
                next += 1;
            }
            out.step();
            if next == n && out.pending_alerts() == 0 {
                break;
            }
            if t > s.deadline {
                break;
            }
            let mut replies = vec![];
            while let Ok((len, from)) = ground.recv_from(&mut buf) {
                for d in decoder.push_messages(&buf[..len]) {
                    let origin = Origin {
                        system_id: d.frame.sysid(),
                        component_id: d.frame.compid(),
                        sequence: d.frame.seq(),
                    };
                    for o in world.apply(origin, &d.message, now_s()) {
                        replies.push((from, o.message));
                    }
                }
                // The durable store: the image into the payload store (fsync), then the ack may go.
                for (sys, id) in world.alerts.awaiting_store() {
                    if let Some(jpeg) = &world.alerts.get(sys, id).unwrap().evidence_jpeg {
                        store.put(jpeg).unwrap();
                    }
                    world.alerts.mark_stored(sys, id);
                }
                for (_, ack) in world.alerts.take_acks() {
                    replies.push((from, ack));
                }
            }
            let t = started.elapsed();
            for (i, id) in ids.iter().enumerate() {
                let Some(p) = pushed_at[i] else { continue };
                if let Some(a) = world.alerts.get(1, *id) {
                    alert_latency_s[i].get_or_insert((t - p).as_secs_f64());
                    if a.evidence_jpeg.is_some() {
                        evidence_s[i].get_or_insert((t - p).as_secs_f64());
                    }
                }
            }
            for (to, ack) in replies {
                if let MavMessage::UTKIK_ALERT_ACK(a) = &ack {
                    if world
                        .alerts
                        .get(1, a.alert_id)
                        .is_none_or(|al| !(al.complete() && al.stored))
                    {
                        early_acks += 1;
                    }
                    if let Some(i) = ids.iter().position(|id| *id == a.alert_id)
                        && let Some(p) = pushed_at[i]
                    {
                        acked_s[i].get_or_insert((t - p).as_secs_f64());
                    }
                }
                let header = MavHeader {
                    system_id: 255,
                    component_id: 190,
                    sequence: seq,
                };
                seq = seq.wrapping_add(1);
                let frame = encode_v2(header, &ack);
                ground_bytes += frame.len() as u64;
                ground.send_to(&frame, to).unwrap();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        shutdown.store(true, Ordering::Relaxed);
        proxy_thread.join().unwrap()
    });
    // Images that arrived but differ from what the drone sent (never acceptable, at any loss).
    let images_wrong = ids
        .iter()
        .zip(&images)
        .filter(|(id, img)| {
            world
                .alerts
                .get(1, **id)
                .and_then(|a| a.evidence_jpeg.as_deref())
                .is_some_and(|j| j != &img.jpeg[..])
        })
        .count();
    let images_identical = ids.iter().zip(&images).all(|(id, img)| {
        world
            .alerts
            .get(1, *id)
            .is_some_and(|a| a.evidence_jpeg.as_deref() == Some(&img.jpeg[..]))
    });
    Outcome {
        all_acked: out.pending_alerts() == 0 && pushed_at.iter().all(Option::is_some),
        alert_latency_s,
        evidence_s,
        acked_s,
        images_identical,
        images_wrong,
        early_acks,
        elapsed_s: started.elapsed().as_secs_f64(),
        onboard_bytes: out.stats().bytes_sent,
        ground_bytes,
        report,
    }
}

/// Nearest-rank percentile of the values present.
pub fn percentile(values: &[Option<f64>], p: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().flatten().copied().collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    Some(v[rank - 1])
}
