//! The masked re-stream is encrypted on the radio (issue 17 item 4), with the real binaries on
//! real sockets: `utkik-onboard --demo` sends its masked video as SRTP (AES-256-GCM) under the
//! DEMO video key; a plain RTP receiver on the same port decodes nothing of it, and
//! `utkik-ground --demo --video` (the DEMO key at the station too) shows and records it.

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use utkik_media::{H264RtpReceiver, RtpReceiverConfig};

mod common;
use common::sibling;

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Kill(Vec<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn the_drones_masked_video_is_srtp_only_its_key_holder_watches_it() {
    let run = tempfile::tempdir().unwrap();
    let (video_port, ground_port) = (free_udp_port(), free_udp_port());
    let mut children = Kill(Vec::new());
    // The drone: test pattern video, faces and plates detected (so the re-stream may start),
    // the masked video to video_port, DEMO keys (privacy.srtp_key = the DEMO video key).
    let log = std::fs::File::create(run.path().join("onboard.log")).unwrap();
    children.0.push(
        Command::new(sibling("utkik-onboard"))
            .arg("--demo")
            .arg("--audit-dir")
            .arg(run.path().join("audit"))
            .args(["--set", "video.source=\"test://ball\""])
            .args([
                "--set",
                &format!("telemetry.endpoint=\"udp://127.0.0.1:{}\"", free_udp_port()),
            ])
            .args(["--set", &format!("link.ground=\"127.0.0.1:{ground_port}\"")])
            .args(["--set", "link.bind=\"127.0.0.1:0\""])
            .args(["--set", &format!("privacy.destination=\"127.0.0.1:{video_port}\"")])
            .args(["--set", "detect.threads=1"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );

    // A listener without the key: the stream arrives (RTP bytes reach its depayloader) but
    // not one frame decodes.
    let plain = H264RtpReceiver::start(RtpReceiverConfig::new(format!("127.0.0.1:{video_port}"), None)).unwrap();
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let s = plain.stats();
        assert_eq!(s.frames, 0, "a plain RTP receiver decoded the drone's video: {s:?}");
        if s.bytes > 50_000 {
            break;
        }
        assert!(
            Instant::now() < until,
            "no re-stream arrived in 90 s: {s:?}; onboard log: {}",
            onboard_log(run.path())
        );
    }
    let stats = plain.stop().unwrap();
    assert_eq!(stats.frames, 0, "{stats:?}");

    // The station with the DEMO key: it decodes and shows the video (headless summary).
    let station = run.path().join("station");
    let out = Command::new(sibling("utkik-ground"))
        .args(["--headless", "--demo", "--duration-s", "15", "--link"])
        .arg(format!("udp:127.0.0.1:{ground_port}"))
        .arg("--video")
        .arg(format!("udp:127.0.0.1:{video_port}"))
        .arg("--record-dir")
        .arg(&station)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("video (masked by the drone)") && l.contains("frames/s") && l.contains('x'))
        .collect();
    assert!(
        shown.iter().any(|l| !l.contains(": 0 frames/s")),
        "the station decoded no frame: {stdout}\nonboard: {}",
        onboard_log(run.path())
    );
    let recordings: Vec<_> = std::fs::read_dir(&station)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mkv"))
        .collect();
    assert_eq!(recordings.len(), 1, "{recordings:?}");
    assert!(std::fs::metadata(&recordings[0]).unwrap().len() > 1000);
    println!("station: {}", shown.last().unwrap_or(&""));
}

fn onboard_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("onboard.log")).unwrap_or_default()
}
