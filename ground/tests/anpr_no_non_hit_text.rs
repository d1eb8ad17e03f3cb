//! Issue 17 item 1, "Done when": with default configuration, a full ANPR mission leaves no
//! non-hit plate text anywhere at the ground (tlog, store, logs, report). The real binaries on
//! real sockets: `utkik-sim` flies the `anpr-road` scenario and streams its camera,
//! `utkik-onboard` reads plates (plates only, the scenario's DEMO hit list), the headless
//! `utkik-ground` records everything; a signed-in operator searches reads at its console, and
//! `utkik-ground report` writes the mission report. Then every file the station wrote is
//! grepped for the plate of every car that is *not* on the hit list, in both forms (`JKL678`,
//! `JKL 678`). The test fails, rather than passing vacuously, unless the drone did read plates
//! that were not hits (UTKIK_PLATE_READ NO_HIT frames in the tlog, all without text).

mod common;

use std::io::Write;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{files_containing, repo};
use utkik_ground::link::read_tlog;
use utkik_shared::audit::AuditEvent;
use utkik_shared::dialect::{MavMessage, UtkikPlateStatus};
use utkik_shared::mavframe::RawFrame;

const SCENARIO: &str = "assets/scenarios/anpr-road.toml";

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// (plate as printed, on the hit list) of every car of the scenario.
fn scenario_plates() -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(repo(SCENARIO)).unwrap();
    let mut cars: Vec<(String, bool)> = Vec::new();
    let mut in_vehicle = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("[[") || (line.starts_with('[') && !line.starts_with("[[")) {
            in_vehicle = line == "[[vehicles]]";
            continue;
        }
        if !in_vehicle {
            continue;
        }
        if let Some(v) = line.strip_prefix("plate = ") {
            cars.push((v.trim_matches('"').to_string(), false));
        } else if line.replace(' ', "") == "hit_list=true" {
            cars.last_mut().expect("hit_list after plate").1 = true;
        }
    }
    cars
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

fn log_file(path: &Path) -> Stdio {
    Stdio::from(std::fs::File::create(path).unwrap())
}

#[test]
fn a_default_anpr_mission_leaves_no_non_hit_plate_text_at_the_ground() {
    let cars = scenario_plates();
    let non_hits: Vec<&str> = cars.iter().filter(|(_, hit)| !hit).map(|(p, _)| p.as_str()).collect();
    assert!(non_hits.len() >= 4 && cars.iter().any(|c| c.1), "{cars:?}");
    let run = tempfile::tempdir().unwrap();
    let station = run.path().join("station");
    let drone = run.path().join("drone");
    std::fs::create_dir_all(&station).unwrap();
    std::fs::create_dir_all(&drone).unwrap();
    let (sim, onboard, ground) = (
        common::sibling("utkik-sim"),
        common::sibling("utkik-onboard"),
        common::sibling("utkik-ground"),
    );
    let (telemetry_port, ground_port, video_port) = (free_udp_port(), free_udp_port(), free_udp_port());

    let hitlist = drone.join("hitlist.json");
    let out = Command::new(&sim)
        .args(["hitlist", "--scenario"])
        .arg(repo(SCENARIO))
        .arg("--out")
        .arg(&hitlist)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let camera = Command::new(&sim)
        .args(["camera", "--scenario"])
        .arg(repo(SCENARIO))
        .output()
        .unwrap();
    assert!(camera.status.success(), "{}", String::from_utf8_lossy(&camera.stderr));

    let mut children = Kill(Vec::new());
    // The station: headless, DEMO users and keys, default settings (no --keep-non-hits-days).
    let mut station_proc = Command::new(&ground)
        .args(["--headless", "--demo", "--duration-s", "200", "--link"])
        .arg(format!("udp:127.0.0.1:{ground_port}"))
        .arg("--record-dir")
        .arg(&station)
        .stdin(Stdio::piped())
        .stdout(log_file(&station.join("ground.log")))
        .stderr(log_file(&station.join("ground.err.log")))
        .spawn()
        .unwrap();
    let mut console = station_proc.stdin.take().unwrap();
    children.0.push(station_proc);
    std::thread::sleep(Duration::from_secs(1));

    // The drone: plates only (no face detector, so no re-stream), default send_non_hit_text.
    let mut args: Vec<String> = vec![
        "--demo".into(),
        "--audit-dir".into(),
        drone.join("audit").display().to_string(),
    ];
    let mut set = |kv: String| {
        args.push("--set".into());
        args.push(kv);
    };
    for kv in String::from_utf8(camera.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        set(kv.to_string());
    }
    set(format!("video.source=\"udp://127.0.0.1:{video_port}\""));
    set(format!("telemetry.endpoint=\"udp://127.0.0.1:{telemetry_port}\""));
    set("link.bind=\"127.0.0.1:0\"".into());
    set(format!("link.ground=\"127.0.0.1:{ground_port}\""));
    set(format!(
        "link.boot_epoch_file=\"{}\"",
        drone.join("boot-epoch").display()
    ));
    set(format!("detect.plate_hit_list=\"{}\"", hitlist.display()));
    set("detect.faces=false".into());
    set("privacy.restream=false".into());
    set("detect.plate_every_n_frames=1".into());
    children.0.push(
        Command::new(&onboard)
            .args(&args)
            .current_dir(&drone)
            .stdout(log_file(&drone.join("onboard.log")))
            .stderr(log_file(&drone.join("onboard.err.log")))
            .spawn()
            .unwrap(),
    );

    // The whole scenario (90 s), in real time.
    let sim_status = Command::new(&sim)
        .args(["run", "--scenario"])
        .arg(repo(SCENARIO))
        .args(["--realtime", "--video-size", "1280x720", "--telemetry-out"])
        .arg(format!("127.0.0.1:{telemetry_port}"))
        .arg("--telemetry-out")
        .arg(format!("127.0.0.1:{ground_port}"))
        .arg("--video-out")
        .arg(format!("udp://127.0.0.1:{video_port}"))
        .stdout(log_file(&run.path().join("sim.log")))
        .stderr(log_file(&run.path().join("sim.err.log")))
        .status()
        .unwrap();
    assert!(sim_status.success(), "the simulator failed: see its log");
    // Resends of the last hits, then an operator searches reads (signed in, with a reason).
    std::thread::sleep(Duration::from_secs(8));
    let search_plate = non_hits[0].replace(' ', "");
    writeln!(
        console,
        "login anna\ndemo-anna\nsearch {search_plate} case DEMO-17 checking a witness statement\nsearch ABC 2\nstatus\nquit"
    )
    .unwrap();
    drop(console);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && children.0[0].try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(children);

    // The mission report, written as the operation leader would (a logged disclosure).
    let tlogs: Vec<PathBuf> = std::fs::read_dir(&station)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tlog"))
        .collect();
    assert!(!tlogs.is_empty(), "no tlog in {}", station.display());
    let keys = station.join("DEMO-keys");
    let mut report = Command::new(&ground)
        .arg("report")
        .arg(&tlogs[0])
        .arg("-o")
        .arg(station.join("report.html"))
        .arg("--audit")
        .arg(station.join("audit/ground-audit.jsonl"))
        .arg("--users")
        .arg(keys.join("DEMO-users.json"))
        .arg("--audit-dir")
        .arg(station.join("audit"))
        .arg("--audit-key")
        .arg(keys.join("DEMO-ground-audit.key.NOT-SECRET.json"))
        .args(["--user", "cecilia"])
        .stdin(Stdio::piped())
        .stdout(log_file(&station.join("report.log")))
        .stderr(log_file(&station.join("report.err.log")))
        .spawn()
        .unwrap();
    writeln!(report.stdin.take().unwrap(), "demo-cecilia").unwrap();
    assert!(report.wait().unwrap().success(), "report failed: see report.err.log");

    // The drone did read plates that were not hits, and sent every one of them without text.
    let (mut bare, mut with_text, mut hits) = (0, 0, 0);
    for t in &tlogs {
        for (_, bytes) in read_tlog(t).unwrap() {
            let Ok(frame) = RawFrame::parse(&bytes) else { continue };
            if let Ok(MavMessage::UTKIK_PLATE_READ(p)) = frame.decode::<MavMessage>() {
                match p.status {
                    UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT => hits += 1,
                    _ if p.plate.iter().all(|&b| b == 0) => bare += 1,
                    _ => with_text += 1,
                }
            }
        }
    }
    let ground_log = std::fs::read_to_string(station.join("ground.log")).unwrap_or_default();
    assert!(
        bare > 0,
        "no non-hit read reached the station (hits {hits}): the test proves nothing; onboard log: {}",
        std::fs::read_to_string(drone.join("onboard.err.log")).unwrap_or_default()
    );
    assert_eq!(with_text, 0, "non-hit reads with text in the tlog");

    // Nothing the station wrote holds the text of a car that is not on the list.
    for plate in &non_hits {
        for needle in [plate.replace(' ', ""), plate.to_string()] {
            let found = files_containing(&station, needle.as_bytes());
            // The search the operator typed is in the audit log by law (who searched for what,
            // why) and echoed in the console transcript: that is the query, not a read. It must
            // have found nothing.
            let found: Vec<_> = found
                .into_iter()
                .filter(|f| !(needle == search_plate && is_search_record(f)))
                .collect();
            assert!(found.is_empty(), "`{needle}` (not on the hit list) found in {found:?}");
        }
    }
    assert!(!station.join(utkik_ground::stored_reads::STORE_FILE).exists());
    // The searches: the one without a reason refused, the other logged with its reason.
    assert!(ground_log.contains("needs a reason"), "{ground_log}");
    assert!(
        ground_log.contains("no non-hit reads are kept at this station"),
        "{ground_log}"
    );
    let searches: Vec<AuditEvent> = common::events(&station.join("audit"))
        .into_iter()
        .filter(|e| matches!(e, AuditEvent::StoredReadSearch { .. }))
        .collect();
    assert_eq!(
        searches,
        [AuditEvent::StoredReadSearch {
            user_id: "anna".into(),
            query: search_plate.clone(),
            results: 0,
            reason: "case DEMO-17 checking a witness statement".into(),
        }]
    );
    println!(
        "ANPR mission: {hits} hit sends, {bare} non-hit reads without text, {} cars not on the list: none of their plates in any file at the station",
        non_hits.len()
    );
}

/// The audit log and the console transcript: where a typed query legitimately appears.
fn is_search_record(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name == "ground-audit.jsonl" || name == "ground.log"
}
