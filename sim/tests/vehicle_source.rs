//! A police car of a multi-source scenario on real sockets: the real `utkik-sim` binary runs
//! `centre-road`'s `car-1` with `--nmea-listen`, two TCP clients read its GNSS receiver's
//! sentences, `utkik_shared::nmea` parses them, and the fixes must be the simulated car's pose
//! (the library's `Simulation` of the same source, the sim's truth) at the sentences' times:
//! position within centimetres, on the eastbound lane of the road, advancing at the route speed,
//! course over ground along the road. Also: what a car refuses (MAVLink out; NMEA on a drone)
//! and what `utkik-sim camera --source car-1` prints for the onboard.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use utkik_shared::geo::{GeoPoint, LocalFrame};
use utkik_shared::nmea::{Fix, FixTracker, LineSplitter, Sentence, parse_sentence};
use utkik_sim::scenario::{Route, Scenario, scenarios_dir};
use utkik_sim::simulation::Simulation;

/// NMEA epoch period at the default 5 Hz, microseconds.
const PERIOD_USEC: u64 = 200_000;

fn centre() -> PathBuf {
    scenarios_dir().join("centre-road.toml")
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// Kills the simulator when the test ends, however it ends.
struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sim(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_utkik-sim"));
    c.args(args);
    c
}

fn connect(addr: SocketAddr) -> TcpStream {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        match TcpStream::connect(addr) {
            Ok(s) => return s,
            Err(_) if Instant::now() < until => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("no NMEA server on {addr}: {e}"),
        }
    }
}

/// Reads `stream` for `time`; every complete sentence, parsed (a bad one fails the test).
fn read_sentences(mut stream: TcpStream, time: Duration) -> Vec<Sentence> {
    stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut splitter = LineSplitter::new();
    let mut out = vec![];
    let until = Instant::now() + time;
    let mut buf = [0u8; 4096];
    while Instant::now() < until {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => splitter.push(&buf[..n], |line| {
                out.push(parse_sentence(line).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(line))));
            }),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(
        splitter.stats().garbage_bytes,
        0,
        "the server sends whole sentences only"
    );
    out
}

/// The merged fix of each epoch (RMC then GGA): the last fix per time.
fn fixes(sentences: &[Sentence]) -> Vec<Fix> {
    let mut tracker = FixTracker::new();
    let mut out: Vec<Fix> = vec![];
    for s in sentences {
        if let Some(f) = tracker.push(s) {
            match out.last_mut() {
                Some(last) if last.time_usec == f.time_usec => *last = f,
                _ => out.push(f),
            }
        }
    }
    out
}

#[test]
fn the_cars_nmea_is_its_simulated_pose_for_every_client() {
    let addr = free_port();
    let _sim = Sim(sim(&["run", "--scenario"])
        .arg(centre())
        .args([
            "--source",
            "car-1",
            "--nmea-listen",
            &addr.to_string(),
            "--duration-s",
            "12",
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap());
    let a = connect(addr);
    let b = connect(addr);
    let (sa, sb) = std::thread::scope(|s| {
        let ta = s.spawn(|| read_sentences(a, Duration::from_secs(4)));
        let tb = s.spawn(|| read_sentences(b, Duration::from_secs(4)));
        (ta.join().unwrap(), tb.join().unwrap())
    });
    let (fa, fb) = (fixes(&sa), fixes(&sb));
    // 5 Hz for ~4 s (the first epoch after the connection may be missed).
    assert!(fa.len() >= 15, "{} fixes: {sa:?}", fa.len());
    for pair in fa.windows(2) {
        assert_eq!(
            pair[1].time_usec - pair[0].time_usec,
            PERIOD_USEC,
            "epochs every 200 ms"
        );
    }
    // Both clients get the same epochs (b connected a moment later: compare the common ones).
    let common: Vec<&Fix> = fa.iter().filter(|f| fb.iter().any(|g| g == *f)).collect();
    assert!(
        common.len() + 2 >= fa.len().min(fb.len()),
        "{} common of {}",
        common.len(),
        fa.len()
    );
    assert!(sa.iter().all(|s| matches!(s, Sentence::Rmc(_) | Sentence::Gga(_))));
    if let Some(Sentence::Gga(g)) = sa.iter().find(|s| matches!(s, Sentence::Gga(_))) {
        assert_eq!((g.quality, g.satellites, g.hdop), (1, Some(10), Some(0.8)));
    }

    // The truth: the same source simulated by the library. The epochs are sim times k * 200 ms
    // after the run's (unknown) epoch; the first fix's position tells which k it is.
    let scenario = Scenario::load(&centre()).unwrap();
    let (car, _) = scenario.for_source("car-1").unwrap();
    let frame = LocalFrame::new(car.origin.geo());
    let Route::Waypoints { speed_m_s, points, .. } = car.route.clone() else {
        panic!()
    };
    let height_m = points[0].alt_m_agl;
    let enu = |f: &Fix| {
        frame.to_enu(&GeoPoint {
            lat_deg: f.lat_deg,
            lon_deg: f.lon_deg,
            alt_m_amsl: f.alt_m_amsl.unwrap(),
        })
    };
    let mut truth = Simulation::new(car, 0);
    let mut track = vec![];
    for k in 0..150u64 {
        truth.step_to(k * PERIOD_USEC);
        track.push(truth.vehicle().state.clone());
    }
    let first = enu(&fa[0]);
    let k0 = (0..track.len())
        .min_by(|&i, &j| {
            let d = |k: usize| (track[k].position_enu_m - first).length();
            d(i).total_cmp(&d(j))
        })
        .unwrap();
    for (i, f) in fa.iter().enumerate() {
        let t = &track[k0 + i];
        let p = enu(f);
        let err_m = (p - t.position_enu_m).length();
        assert!(
            err_m < 0.1,
            "fix {i}: {p} is {err_m} m from the truth {}",
            t.position_enu_m
        );
        // At road level: the antenna at the camera's height above the road, in the eastbound lane.
        assert!((p.z - height_m).abs() < 0.02, "{p}");
        assert!((p.y + 2.0).abs() < 0.1, "eastbound lane at north_m = -2: {p}");
        let truth_speed = t.velocity_enu_m_s.truncate().length();
        assert!((f.speed_m_s.unwrap() - truth_speed).abs() < 0.01, "fix {i}");
        if truth_speed > 1.0 {
            // Along the road (east), the direction it advances in.
            let c = f.course_deg.unwrap();
            assert!((c - 90.0).abs() < 1.0, "fix {i}: course {c}");
        }
    }
    // It advances along the road at the route speed once up to speed.
    let last = enu(fa.last().unwrap());
    let dt_s = (fa.last().unwrap().time_usec - fa[0].time_usec) as f64 * 1e-6;
    assert!(
        last.x > first.x + 0.5 * speed_m_s * dt_s,
        "{first} -> {last} in {dt_s} s"
    );
    let (f1, f2) = (&fa[fa.len() - 2], &fa[fa.len() - 1]);
    if track[k0 + fa.len() - 1].velocity_enu_m_s.length() > speed_m_s - 0.1 {
        let step_m = (enu(f2) - enu(f1)).length();
        assert!((step_m - speed_m_s * 0.2).abs() < 0.05, "{step_m} m per epoch");
    }
}

fn refused(args: &[&str]) -> String {
    let out = sim(&["run", "--scenario"])
        .arg(centre())
        .args(args)
        .args(["--duration-s", "1", "--fast"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} ran");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_car_sends_no_mavlink_and_a_drone_no_nmea() {
    let e = refused(&["--source", "car-1", "--telemetry-out", "127.0.0.1:14540"]);
    assert!(
        e.contains("--telemetry-out") && e.contains("car-1") && e.contains("no autopilot"),
        "{e}"
    );
    let e = refused(&["--source", "drone-1", "--nmea-listen", "127.0.0.1:0"]);
    assert!(e.contains("--nmea-listen") && e.contains("vehicle"), "{e}");
    let e = refused(&[
        "--source",
        "car-1",
        "--nmea-listen",
        "127.0.0.1:0",
        "--nmea-rate-hz",
        "0",
    ]);
    assert!(e.contains("--nmea-rate-hz"), "{e}");
}

/// The value at dotted `key` in `table`.
fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let (first, rest) = key.split_once('.').unwrap_or((key, ""));
    let v = table.get(first)?;
    if rest.is_empty() {
        Some(v)
    } else {
        lookup(v.as_table()?, rest)
    }
}

#[test]
fn camera_prints_the_onboard_vehicle_settings_with_the_onboard_keys() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../onboard/config/default.toml");
    let defaults: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let out = sim(&["camera", "--scenario"])
        .arg(centre())
        .args(["--source", "car-1", "--nmea-listen", "127.0.0.1:41999"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut seen = vec![];
    for line in text.lines() {
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not KEY=VALUE: {line:?}"));
        let parsed = format!("v = {value}")
            .parse::<toml::Table>()
            .map(|t| t["v"].clone())
            .unwrap_or_else(|_| toml::Value::String(value.to_owned()));
        // [vehicle_camera] is an optional table of the onboard (absent from its defaults): both
        // of its keys are floats (onboard/src/config.rs VehicleCameraConfig).
        let expected = match key {
            "vehicle_camera.height_m_agl" | "vehicle_camera.yaw_offset_deg" => "float",
            _ => lookup(&defaults, key)
                .unwrap_or_else(|| panic!("onboard has no key {key}"))
                .type_str(),
        };
        assert_eq!(parsed.type_str(), expected, "{line}");
        seen.push((key.to_owned(), parsed));
    }
    let get = |k: &str| seen.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(get("source.kind").as_str(), Some("vehicle"));
    assert_eq!(get("camera.mount").as_str(), Some("fixed"));
    assert_eq!(get("camera.fixed_pitch_deg").as_float(), Some(-3.0));
    assert_eq!(get("vehicle_camera.height_m_agl").as_float(), Some(1.6));
    assert_eq!(get("telemetry.endpoint").as_str(), Some("nmea+tcp://127.0.0.1:41999"));
    assert_eq!(get("link.system_id").as_integer(), Some(21));
}
