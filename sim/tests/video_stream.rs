//! The camera stream as a receiver sees it: `run` streams a scenario to a
//! loopback port (with telemetry and the truth file, as in the demo) and a
//! plain GStreamer pipeline (udpsrc ! rtpjitterbuffer ! rtph264depay !
//! avdec_h264 ! appsink) decodes it. Each decoded frame must be 1280x720,
//! carry its capture time in the RTP NTP-64 header extension, and look like
//! the frame the simulator rendered for that time (re-rendered here from the
//! truth file's pose: PSNR check).

use std::collections::HashMap;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use utkik_sim::link::MavLink;
use utkik_sim::render::{Assets, TruthClass};
use utkik_sim::run::{RunConfig, VideoOptions, run_with, video_settings};
use utkik_sim::scenario::{Scenario, scenarios_dir};
use utkik_sim::truth::read_truth;
use utkik_sim::video::rtp::NTP64_EXT_ID;
use utkik_sim::video::{FrameRenderer, RTP_H264_CAPS, ntp64_unix_usec_from_rtp};

/// PSNR of two RGB8 images, dB.
fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let se: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum();
    let mse = se / a.len() as f64;
    10.0 * (255.0 * 255.0 / mse.max(1e-12)).log10()
}

struct Decoded {
    capture_unix_usec: Option<u64>,
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

#[test]
fn streamed_frames_decode_to_the_rendered_frames_with_their_capture_times() {
    gst::init().unwrap();
    let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let receiver = gst::parse::launch(&format!(
        "udpsrc address=127.0.0.1 port={port} buffer-size=16000000 caps=\"{RTP_H264_CAPS}\" \
         ! rtpjitterbuffer latency=200 ! rtph264depay name=depay ! avdec_h264 ! videoconvert \
         ! video/x-raw,format=RGB ! appsink name=sink sync=false max-buffers=1000 drop=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    // Capture times by PTS, parsed from every RTP packet (the extension rides on a frame's first packet).
    let times: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    let t = times.clone();
    receiver
        .by_name("depay")
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buf) = info.buffer()
                && let (Some(pts), Ok(map)) = (buf.pts(), buf.map_readable())
                && let Some(us) = ntp64_unix_usec_from_rtp(&map, NTP64_EXT_ID)
            {
                t.lock().unwrap().insert(pts.nseconds(), us);
            }
            gst::PadProbeReturn::Ok
        });
    let sink = receiver
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    receiver.set_state(gst::State::Playing).unwrap();

    let path = scenarios_dir().join("anpr-road.toml");
    let scenario = Scenario::load(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let truth_path = dir.path().join("truth.jsonl");
    let link = MavLink::bind("127.0.0.1:0".parse().unwrap(), None).unwrap();
    let config = RunConfig {
        scenario: path,
        telemetry_listen: link.local_addr(),
        telemetry_out: vec![],
        duration_s: Some(3.0),
        realtime: true,
        video_out: Some(format!("127.0.0.1:{port}").parse().unwrap()),
        truth: Some(truth_path.clone()),
        video: VideoOptions::default(),
        system_id: 1,
        source: None,
        nmea_listen: None,
        nmea_rate_hz: utkik_sim::nmea_out::DEFAULT_NMEA_RATE_HZ,
    };
    let shutdown = Arc::new(AtomicBool::new(false));
    let (sc, cfg, sd) = (scenario.clone(), config.clone(), shutdown.clone());
    let sim = std::thread::spawn(move || run_with(sc, link, &cfg, &sd));

    let mut decoded = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match sink.try_pull_sample(gst::ClockTime::from_mseconds(200)) {
            Some(sample) => {
                let caps = sample.caps().unwrap().structure(0).unwrap().to_owned();
                let (w, h) = (caps.get::<i32>("width").unwrap(), caps.get::<i32>("height").unwrap());
                let buf = sample.buffer().unwrap();
                let map = buf.map_readable().unwrap();
                let pts = buf.pts().map(|p| p.nseconds());
                decoded.push(Decoded {
                    capture_unix_usec: pts.and_then(|p| times.lock().unwrap().get(&p).copied()),
                    width: w as u32,
                    height: h as u32,
                    rgb: map.to_vec(),
                });
            }
            None if sim.is_finished() => break,
            None => {}
        }
    }
    shutdown.store(true, Ordering::Relaxed);
    let summary = sim.join().unwrap().unwrap();
    receiver.set_state(gst::State::Null).unwrap();
    assert!(summary.frames_rendered >= 30, "{summary:?}");

    let truth = read_truth(&truth_path).unwrap();
    assert_eq!(truth.len() as u64, summary.frames_rendered);
    assert!(
        truth
            .iter()
            .any(|f| f.objects.iter().any(|o| o.class == TruthClass::Plate)),
        "the ANPR camera sees plates"
    );
    let renderer = FrameRenderer::new(
        &scenario,
        Arc::new(Assets::load_default().unwrap()),
        video_settings(&scenario, &config.video),
    )
    .unwrap();
    let by_time: HashMap<u64, &utkik_sim::truth::TruthFrame> = truth.iter().map(|f| (f.time_usec, f)).collect();
    let mut compared = Vec::new();
    for d in &decoded {
        assert_eq!((d.width, d.height), (1280, 720));
        assert_eq!(d.rgb.len(), 1280 * 720 * 3);
        let Some(t) = d.capture_unix_usec else { continue };
        let f = by_time
            .get(&t)
            .unwrap_or_else(|| panic!("capture time {t} is not a rendered frame's"));
        let epoch = f.time_usec - f.sim_time_usec;
        let rendered = renderer.render(f.frame, f.sim_time_usec, epoch, f.camera);
        assert_eq!(rendered.truth, f.objects, "re-rendering reproduces the frame");
        let own = psnr(&d.rgb, &rendered.rgb);
        compared.push((f.frame, own));
        // Half a second later the cars have moved and the noise differs: a worse match.
        if let Some(g) = truth.iter().find(|g| g.frame == f.frame + 15) {
            let later = renderer.render(g.frame, g.sim_time_usec, epoch, g.camera);
            let other = psnr(&d.rgb, &later.rgb);
            assert!(
                own > other,
                "frame {}: {own:.2} dB, frame {}: {other:.2} dB",
                f.frame,
                g.frame
            );
        }
    }
    assert!(
        compared.len() >= 20,
        "{} decoded, {} with capture times; {summary:?}",
        decoded.len(),
        compared.len()
    );
    let worst = compared.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
    let mean = compared.iter().map(|c| c.1).sum::<f64>() / compared.len() as f64;
    eprintln!(
        "{} frames rendered ({} dropped), {} decoded, {} compared: PSNR mean {mean:.1} dB, worst {worst:.1} dB",
        summary.frames_rendered,
        summary.frames_dropped,
        decoded.len(),
        compared.len()
    );
    assert!(worst > 30.0, "{compared:?}");
}
