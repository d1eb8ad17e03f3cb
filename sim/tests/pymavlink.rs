//! A standard ground-station library (pymavlink) as the simulator's peer:
//! it must see the vehicle, decode its position (equal to the simulated one,
//! recomputed here from the deterministic model at the message's time), get
//! MAV_RESULT_UNSUPPORTED for an unknown command and ACCEPTED for a gimbal command.

use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;

use utkik_shared::dialect::MavResult;
use utkik_shared::geo::GeoPoint;
use utkik_sim::link::MavLink;
use utkik_sim::run::{RunConfig, run_with};
use utkik_sim::scenario::{Scenario, scenarios_dir};
use utkik_sim::simulation::Simulation;

#[test]
fn pymavlink_sees_the_vehicle_and_its_position() {
    let path = scenarios_dir().join("urban-street.toml");
    let scenario = Scenario::load(&path).unwrap();
    // A free port for pymavlink's udpin: bind, note, release.
    let gcs_port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let target = format!("127.0.0.1:{gcs_port}").parse().unwrap();
    let link = MavLink::bind("127.0.0.1:0".parse().unwrap(), Some(target)).unwrap();
    let config = RunConfig {
        scenario: path,
        telemetry_listen: link.local_addr(),
        telemetry_out: vec![target],
        duration_s: Some(30.0),
        realtime: true,
        video_out: None,
        truth: None,
        video: Default::default(),
        system_id: 1,
        source: None,
        nmea_listen: None,
        nmea_rate_hz: utkik_sim::nmea_out::DEFAULT_NMEA_RATE_HZ,
    };
    let shutdown = std::sync::Arc::new(AtomicBool::new(false));
    let sd = shutdown.clone();
    let sc = scenario.clone();
    let sim = std::thread::spawn(move || run_with(sc, link, &config, &sd).unwrap());

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/pymavlink_peer.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(gcs_port.to_string())
        .output()
        .unwrap();
    shutdown.store(true, std::sync::atomic::Ordering::Relaxed);
    let summary = sim.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "peer failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();

    assert_eq!(v["heartbeat"]["type"], 2, "MAV_TYPE_QUADROTOR: {v}");
    assert_eq!(v["heartbeat"]["sysid"], 1);

    // Recompute the vehicle at the message's time_boot_ms: the model is deterministic.
    let gp = &v["global_position_int"];
    let t_ms = gp["time_boot_ms"].as_u64().unwrap();
    let mut replay = Simulation::new(scenario, 0);
    replay.step_to(t_ms * 1000);
    let expected = replay.frame().from_enu(replay.vehicle().state.position_enu_m);
    let got = GeoPoint::from_deg_e7(
        gp["lat"].as_i64().unwrap() as i32,
        gp["lon"].as_i64().unwrap() as i32,
        gp["alt"].as_i64().unwrap() as i32,
    );
    assert_eq!(got.lat_e7(), expected.lat_e7(), "{v}");
    assert_eq!(got.lon_e7(), expected.lon_e7(), "{v}");
    assert_eq!(got.alt_mm(), expected.alt_mm(), "{v}");
    assert_eq!(
        gp["relative_alt"].as_i64().unwrap(),
        (replay.vehicle().state.position_enu_m.z * 1000.0).round() as i64
    );

    let st = &v["system_time"];
    assert!(st["time_unix_usec"].as_u64().unwrap() > 1_600_000_000_000_000, "{v}");

    assert_eq!(v["acks"]["31999"], MavResult::MAV_RESULT_UNSUPPORTED as u64, "{v}");
    assert_eq!(v["acks"]["1000"], MavResult::MAV_RESULT_ACCEPTED as u64, "{v}");
    assert!(summary.commands >= 2 && summary.interrupted, "{summary:?}");
}
