//! The `utkik-onboard` binary end to end with detection off: a config file in a temp dir, an
//! RTP/H.264 camera stream carrying capture times (the wire format the simulator and real
//! cameras send), autopilot telemetry over UDP, a ground listener receiving
//! UTKIK_PIPELINE_STATUS, then Ctrl-C (SIGINT) and a clean exit. With detection off no video
//! may leave the drone (LAW.md 8.1: nothing would mask faces or plates): the re-stream's
//! destination gets no packet and the binary logs why.

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::Duration;

use mavlink_core::MavHeader;
use utkik_onboard::frame::RgbFrame;
use utkik_onboard::privacy::{Restream, RestreamConfig};
use utkik_shared::dialect::{
    ATTITUDE_DATA, GIMBAL_DEVICE_ATTITUDE_STATUS_DATA, GLOBAL_POSITION_INT_DATA, GimbalDeviceFlags, MavMessage,
    SYSTEM_TIME_DATA,
};
use utkik_shared::mavframe::{FrameDecoder, encode_v2};

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn binary_streams_reports_status_and_stops_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let ground = UdpSocket::bind("127.0.0.1:0").unwrap();
    ground.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let masked = UdpSocket::bind("127.0.0.1:0").unwrap();
    masked.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let (video_port, telemetry_port) = (free_udp_port(), free_udp_port());
    let config = dir.path().join("onboard.toml");
    std::fs::write(
        &config,
        format!(
            "[video]\nsource = \"udp://127.0.0.1:{video_port}\"\n\
             [telemetry]\nendpoint = \"udp://127.0.0.1:{telemetry_port}\"\n\
             [detect]\nfaces = false\nplates = false\n\
             [link]\nbind = \"127.0.0.1:0\"\nground = \"{}\"\nstatus_period_ms = 200\n\
             [privacy]\ndestination = \"{}\"\n",
            ground.local_addr().unwrap(),
            masked.local_addr().unwrap()
        ),
    )
    .unwrap();
    // The DEMO keys, staged under the test's own audit dir (no silent demo: without --demo and
    // without gate.link_key the binary refuses to start, see the test below).
    let child = Command::new(env!("CARGO_BIN_EXE_utkik-onboard"))
        .arg("--config")
        .arg(&config)
        .arg("--demo")
        .arg("--audit-dir")
        .arg(dir.path().join("audit"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Camera and autopilot: run until the listener has what it needs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let sender = std::thread::spawn(move || {
        let mut camera = Restream::new(RestreamConfig {
            destination: format!("127.0.0.1:{video_port}"),
            bitrate_kbps: 1000,
            fps: 20,
            srtp_key: None,
        });
        let autopilot = UdpSocket::bind("127.0.0.1:0").unwrap();
        let boot_unix_usec = utkik_onboard::ingest::time::unix_now_usec() - 60_000_000;
        let h = MavHeader {
            system_id: 1,
            component_id: 1,
            sequence: 0,
        };
        let mut i = 0u64;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            let now = utkik_onboard::ingest::time::unix_now_usec();
            let boot_ms = ((now - boot_unix_usec) / 1000) as u32;
            let msgs = [
                MavMessage::SYSTEM_TIME(SYSTEM_TIME_DATA {
                    time_unix_usec: now,
                    time_boot_ms: boot_ms,
                }),
                MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
                    time_boot_ms: boot_ms,
                    lat: 593_300_000,
                    lon: 180_600_000,
                    alt: 60_000,
                    relative_alt: 50_000,
                    ..Default::default()
                }),
                MavMessage::ATTITUDE(ATTITUDE_DATA {
                    time_boot_ms: boot_ms,
                    ..Default::default()
                }),
                MavMessage::GIMBAL_DEVICE_ATTITUDE_STATUS(GIMBAL_DEVICE_ATTITUDE_STATUS_DATA {
                    time_boot_ms: boot_ms,
                    q: [
                        std::f32::consts::FRAC_1_SQRT_2,
                        0.0,
                        -std::f32::consts::FRAC_1_SQRT_2,
                        0.0,
                    ],
                    flags: GimbalDeviceFlags::GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME,
                    ..Default::default()
                }),
            ];
            for m in &msgs {
                let _ = autopilot.send_to(&encode_v2(h, m), ("127.0.0.1", telemetry_port));
            }
            let shade = (i * 7 % 200) as u8;
            let _ = camera.push(&RgbFrame::filled(320, 240, [shade, 100, 200 - shade], now));
            i += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
    });

    let mut decoder = FrameDecoder::new();
    let mut buf = [0u8; 4096];
    let status = loop {
        let (n, _) = ground
            .recv_from(&mut buf)
            .expect("UTKIK_PIPELINE_STATUS from the binary");
        let hit = decoder
            .push_messages(&buf[..n])
            .into_iter()
            .find_map(|d| match d.message {
                MavMessage::UTKIK_PIPELINE_STATUS(s) if s.frames_processed >= 10 => Some(s),
                _ => None,
            });
        if let Some(s) = hit {
            break s;
        }
    };
    assert_eq!(status.video_state, 1, "streaming");
    assert!(status.frames_in >= status.frames_processed);
    assert!(status.fps > 0, "{status:?}");
    // Ten frames went through the pipeline: a running re-stream would have sent them.
    masked.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let got = masked.recv_from(&mut buf);
    assert!(got.is_err(), "unmasked video left the drone: {got:?}");

    // Ctrl-C: the binary stops its threads and exits 0.
    let ok = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sender.join().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {log}", out.status);
    assert!(log.contains("stopped"), "{log}");
    assert!(
        log.contains("re-stream NOT started") && log.contains("detect.faces = true and detect.plates = true"),
        "the refusal names the keys: {log}"
    );
    assert!(
        log.contains("DEMO - public DEMO users and keys"),
        "the DEMO banner: {log}"
    );
}

/// No silent demo (issue 14 item 1): without --demo and without gate.link_key the binary does
/// not start and names the key and --demo; a link key others may read is refused with its mode.
#[test]
fn binary_without_a_link_key_refuses_to_start_unless_demo() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_utkik-onboard"))
        .args(["--set", "video.source=test://", "--audit-dir"])
        .arg(dir.path().join("audit"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("gate.link_key") && err.contains("--demo"), "{err}");
    assert!(
        !dir.path().join("audit").join("DEMO-keys").exists(),
        "nothing DEMO without --demo"
    );

    let key = dir.path().join("link.json");
    std::fs::write(
        &key,
        r#"{"format":"utkik-link-key/1","link_id":1,"secret_key_hex":"0101010101010101010101010101010101010101010101010101010101010101"}"#,
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_utkik-onboard"))
            .args(["--set", "video.source=test://", "--set"])
            .arg(format!("gate.link_key={:?}", key.display().to_string()))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("link.json") && err.contains("0644") && err.contains("chmod 600"),
            "{err}"
        );
        // Owner-only but on a disk: a powered-off drone would still hold it (issue 17 item 3).
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        if utkik_onboard::volatile::require_ram(&key).is_err() {
            let out = Command::new(env!("CARGO_BIN_EXE_utkik-onboard"))
                .args(["--set", "video.source=test://", "--set"])
                .arg(format!("gate.link_key={:?}", key.display().to_string()))
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("gate.link_key") && err.contains("link.json") && err.contains("RAM filesystem"),
                "{err}"
            );
        }
    }
}

#[test]
fn binary_config_errors_name_the_key_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[link]\nbudget_bytes_per_s = \"lots\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_utkik-onboard"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("link.budget_bytes_per_s") && err.contains("bad.toml"),
        "{err}"
    );
}
