//! Pipeline benchmark: prints figures, asserts nothing.
//!
//! Stages measured on 1280x720 frames:
//! - ingest: camera RTP/H.264 (x264, zero latency, capture time in the NTP-64 extension) over
//!   loopback -> depay -> decode -> RGB appsink; latency = arrival - capture time;
//! - inference: detectors (those the build has) + tracking + georeferencing per frame, via
//!   `pipeline::Inference` with a live pose buffer;
//! - privacy: masking + x264 encode + RTP send per frame;
//! - out: MAVLink encode + budget bookkeeping per track message;
//! and the Python onnxruntime yardstick (benches/python_pipeline.py) on the same frames.
//!
//! Run: `cargo bench -p utkik-onboard --bench pipeline` (or `--no-run` and run the binary).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use utkik_onboard::config::Config;
use utkik_onboard::frame::RgbFrame;
use utkik_onboard::ingest::time::unix_now_usec;
use utkik_onboard::ingest::{IngestConfig, IngestStatus, latest, run_ingest};
use utkik_onboard::out::{ManualClock, OutLink, OutLinkConfig, OutTransport, ResendPolicy, peak_rss_kib, percentiles};
use utkik_onboard::pipeline::{Inference, tract};
use utkik_onboard::privacy::{MaskConfig, Restream, RestreamConfig, mask_boxes};
use utkik_onboard::shutdown::Shutdown;
use utkik_onboard::telemetry::{PoseBuffer, PoseConfig};
use utkik_onboard::track::{BoxPx, Detection, GroundFix, Tracker, TrackerConfig};
use utkik_shared::dialect::{
    ATTITUDE_DATA, GIMBAL_DEVICE_ATTITUDE_STATUS_DATA, GLOBAL_POSITION_INT_DATA, GimbalDeviceFlags, MavMessage,
    SYSTEM_TIME_DATA,
};

const W: u32 = 1280;
const H: u32 = 720;

/// Frames benchmarked: this many simulator frames.
const N_FRAMES: usize = 30;

/// [`N_FRAMES`] frames of the simulator's `urban-street` scenario at 1280x720 (people with real
/// faces, cars with Swedish plates, rendered through the same `FrameSource` the simulator
/// streams), the ones with the most faces and plates of 20 px and more in view, in time order,
/// re-stamped 33 ms apart from `t0_usec`. Returns the frames and the detectable objects in them.
fn sim_frames(t0_usec: u64) -> (Vec<RgbFrame>, usize) {
    use utkik_sim::render::{Assets, RenderOptions, TruthClass};
    use utkik_sim::scenario::{Scenario, scenarios_dir};
    use utkik_sim::video::{FrameSource, VideoSettings};
    let scenario = Scenario::load(&scenarios_dir().join("urban-street.toml")).expect("urban-street scenario");
    let assets = Arc::new(Assets::load_default().expect("plate font and face imagery (scripts/fetch-models.sh)"));
    let settings = VideoSettings {
        size: utkik_sim::camera::VideoSize {
            width_px: W,
            height_px: H,
        },
        fps: 2.0,
        render: RenderOptions::default(),
    };
    let source = FrameSource::new(&scenario, assets, settings, t0_usec, None).expect("frame source");
    let mut scored: Vec<(usize, u64, Vec<u8>)> = source
        .map(|f| {
            let n = f
                .truth
                .iter()
                .filter(|b| matches!(b.class, TruthClass::Face | TruthClass::Plate))
                .filter(|b| b.box_px[3].saturating_sub(b.box_px[1]) >= 20)
                .count();
            (n, f.index, f.rgb)
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(N_FRAMES);
    scored.sort_by_key(|s| s.1);
    let objects = scored.iter().map(|s| s.0).sum();
    let frames = scored
        .into_iter()
        .enumerate()
        .map(|(k, (_, _, rgb))| RgbFrame::new(W, H, rgb, t0_usec + k as u64 * 33_333).unwrap())
        .collect();
    (frames, objects)
}

fn ms(v: &mut [u64]) -> String {
    match percentiles(v) {
        Some((p50, p95)) => format!("p50 {:.1} ms  p95 {:.1} ms", p50 as f64 / 1000.0, p95 as f64 / 1000.0),
        None => "no samples".into(),
    }
}

fn bench_ingest(frames: &[RgbFrame]) -> (Vec<u64>, f64) {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (tx, rx, _) = latest();
    let status = Arc::new(IngestStatus::default());
    let shutdown = Shutdown::new();
    let cfg = IngestConfig {
        source: format!("udp://127.0.0.1:{port}"),
        retry_initial: Duration::from_millis(100),
        retry_max: Duration::from_secs(1),
        stall_timeout: Duration::from_secs(30),
    };
    let (st, sd) = (status.clone(), shutdown.clone());
    let h = std::thread::spawn(move || run_ingest(&cfg, tx, st, &sd));
    let mut cam = Restream::new(RestreamConfig {
        destination: format!("127.0.0.1:{port}"),
        bitrate_kbps: 4000,
        fps: 30,
    });
    let mut lat = Vec::new();
    let start = Instant::now();
    let mut received = 0u64;
    for (i, f) in frames.iter().cycle().take(150).enumerate() {
        let mut f = f.clone();
        f.time_usec = unix_now_usec();
        cam.push(&f).unwrap();
        while let Ok(got) = rx.try_recv() {
            if i > 10 {
                lat.push(unix_now_usec().saturating_sub(got.time_usec));
            }
            received += 1;
        }
        std::thread::sleep(Duration::from_millis(33));
    }
    let fps = received as f64 / start.elapsed().as_secs_f64();
    shutdown.trigger();
    h.join().unwrap().unwrap();
    (lat, fps)
}

fn pose_buffer() -> Arc<Mutex<PoseBuffer>> {
    let mut b = PoseBuffer::new(PoseConfig {
        max_age_usec: 10_000_000_000,
        fixed_pitch_rad: None,
    });
    let now = unix_now_usec();
    b.handle(&MavMessage::SYSTEM_TIME(SYSTEM_TIME_DATA {
        time_unix_usec: now,
        time_boot_ms: 100_000,
    }));
    b.handle(&MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
        time_boot_ms: 100_000,
        lat: 593_300_000,
        lon: 180_600_000,
        alt: 60_000,
        relative_alt: 50_000,
        ..Default::default()
    }));
    b.handle(&MavMessage::ATTITUDE(ATTITUDE_DATA {
        time_boot_ms: 100_000,
        ..Default::default()
    }));
    b.handle(&MavMessage::GIMBAL_DEVICE_ATTITUDE_STATUS(
        GIMBAL_DEVICE_ATTITUDE_STATUS_DATA {
            time_boot_ms: 100_000,
            q: [0.819_152, 0.0, -0.573_576, 0.0], // pitch -70°
            flags: GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME,
            ..Default::default()
        },
    ));
    Arc::new(Mutex::new(b))
}

fn main() {
    let t0 = unix_now_usec();
    let (frames, objects) = sim_frames(t0);
    println!(
        "utkik-onboard pipeline benchmark, {W}x{H}, {} CPU threads available; {} urban-street simulator frames with {objects} faces and plates >= 20 px in view",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        frames.len()
    );

    // Ingest.
    let (mut lat, fps) = bench_ingest(&frames);
    println!(
        "ingest  RTP/H.264 -> RGB (camera 30 fps, loopback): capture-to-appsink {}  delivered {fps:.1} frames/s",
        ms(&mut lat)
    );

    // Inference with the detectors this build has.
    for (label, faces, plates) in [("faces only", true, false), ("faces+plates", true, true)] {
        let mut config = Config::default();
        config.detect.faces = faces;
        config.detect.plates = plates;
        match tract::detectors_from_config(&config) {
            Ok(detectors) => {
                let counters = Arc::default();
                let mut inf = Inference::new(&config, detectors, pose_buffer(), counters);
                let mut stage = [Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new()];
                let (mut faces_found, mut plates_read) = (0usize, 0usize);
                let start = Instant::now();
                let n = 60u64;
                for i in 0..n {
                    let f = &frames[(i % frames.len() as u64) as usize];
                    let out = inf.process(f, i);
                    if i < frames.len() as u64 {
                        for d in &out.detections {
                            match d.class {
                                utkik_onboard::pipeline::ObjectClass::Face => faces_found += 1,
                                utkik_onboard::pipeline::ObjectClass::Plate => plates_read += 1,
                            }
                        }
                    }
                    stage[0].push(out.times.pose_usec);
                    stage[1].push(out.times.faces_usec);
                    stage[2].push(out.times.plates_usec);
                    stage[3].push(out.times.track_usec);
                    stage[4].push(out.times.total_usec());
                }
                let fps = n as f64 / start.elapsed().as_secs_f64();
                println!(
                    "inference {label}: {fps:.1} frames/s; first pass over the {} frames: {faces_found} face and {plates_read} plate detections",
                    frames.len()
                );
                for (name, v) in ["pose", "faces", "plates", "track+georef", "total"]
                    .iter()
                    .zip(stage.iter_mut())
                {
                    println!("  {name:<13} {}", ms(v));
                }
            }
            Err(e) => println!("inference {label}: not measured: {e}"),
        }
    }

    // Tracking + georeferencing alone: 20 detections a frame moving 3 px/frame.
    let poses = pose_buffer();
    let pose = poses.lock().unwrap().pose_at(unix_now_usec()).unwrap();
    let g = utkik_onboard::pipeline::georef::FrameGeoref::new(
        &utkik_onboard::pipeline::georef::GeorefConfig {
            hfov_rad: 90f64.to_radians(),
            uncertainty: utkik_shared::camera::PoseUncertainty {
                attitude_sigma_rad: 0.017,
                altitude_sigma_m: 1.0,
                position_sigma_m: 1.0,
            },
        },
        W,
        H,
        &pose,
    )
    .unwrap();
    let mut tracker = Tracker::new(TrackerConfig::default());
    let mut v = Vec::new();
    for i in 0..500u64 {
        let dets: Vec<Detection> = (0..20)
            .map(|k| Detection {
                bbox: BoxPx::from_xywh(
                    50.0 + 60.0 * k as f64 + 3.0 * i as f64 % 40.0,
                    300.0 + (k % 3) as f64 * 80.0,
                    40.0,
                    48.0,
                ),
                score: 0.95,
                key: None,
            })
            .collect();
        let locate = |px: [f64; 2]| -> Option<GroundFix> { g.locate(px, 1.6) };
        let s = Instant::now();
        let _ = tracker.update(i * 66_666, &dets, &locate);
        v.push(s.elapsed().as_micros() as u64);
    }
    println!("track+georef 20 objects/frame: {} (µs resolution)", ms(&mut v));

    // Privacy: mask 10 boxes and encode+send 1280x720.
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut rs = Restream::new(RestreamConfig {
        destination: sink.local_addr().unwrap().to_string(),
        bitrate_kbps: 1500,
        fps: 15,
    });
    let boxes: Vec<BoxPx> = (0..10)
        .map(|k| BoxPx::from_xywh(100.0 * k as f64, 200.0, 60.0, 70.0))
        .collect();
    let (mut mask_t, mut push_t) = (Vec::new(), Vec::new());
    for (i, f) in frames.iter().cycle().take(90).enumerate() {
        let mut f = f.clone();
        f.time_usec = t0 + i as u64 * 66_666;
        let s = Instant::now();
        mask_boxes(&mut f, &boxes, &MaskConfig::default());
        mask_t.push(s.elapsed().as_micros() as u64);
        let s = Instant::now();
        rs.push(&f).unwrap();
        push_t.push(s.elapsed().as_micros() as u64);
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "privacy mask 10 boxes: {}   re-stream push (copy into appsrc; x264 runs on its own thread): {}",
        ms(&mut mask_t),
        ms(&mut push_t)
    );

    // Out: encode + budget per message.
    let ground = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let clock = ManualClock::new(t0);
    let mut link = OutLink::new(
        OutTransport::Udp {
            socket: std::net::UdpSocket::bind("127.0.0.1:0").unwrap(),
            peer: ground.local_addr().unwrap(),
        },
        OutLinkConfig {
            system_id: 1,
            component_id: 191,
            budget_bytes_per_s: 1e9,
            burst_bytes: 1e9,
            resend: ResendPolicy::default(),
        },
        clock.clone(),
    )
    .unwrap();
    let s = Instant::now();
    for k in 0..10_000u32 {
        link.push(MavMessage::UTKIK_TRACK(utkik_shared::dialect::UTKIK_TRACK_DATA {
            track_id: k,
            time_usec: t0,
            ..Default::default()
        }));
        link.step();
    }
    println!(
        "out: {:.1} µs per UTKIK_TRACK (queue + encode + budget + UDP send)",
        s.elapsed().as_micros() as f64 / 10_000.0
    );
    println!("peak RSS {} MiB", peak_rss_kib() / 1024);

    // Python yardstick on the same frames.
    let dir = tempfile::tempdir().unwrap();
    let mut raw = Vec::new();
    for f in &frames {
        raw.extend_from_slice(&f.data);
    }
    std::fs::write(dir.path().join("frames.rgb"), raw).unwrap();
    std::fs::write(
        dir.path().join("index.json"),
        format!("{{\"width\": {W}, \"height\": {H}}}"),
    )
    .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/python_pipeline.py");
    match std::process::Command::new("python3")
        .arg(script)
        .arg(dir.path())
        .args(["--threads", "1"])
        .output()
    {
        Ok(o) if o.status.success() => println!(
            "python onnxruntime faces only (1 thread): {}",
            String::from_utf8_lossy(&o.stdout).trim()
        ),
        Ok(o) => println!("python pipeline failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => println!("python pipeline not run: {e}"),
    }
    let _ = Ordering::Relaxed;
}
