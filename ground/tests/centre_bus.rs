//! Station events over a real Zenoh router on loopback TCP (issue 19 item 3): two stations with
//! their own keys publish, a centre subscribed through the router receives both stations'
//! events; an event signed with a key the centre does not trust under a trusted station's id
//! (forged), one from a station not in the list, and a replayed one are refused and counted.
//! The last test runs the real `utkik-ground centre` binary against the same kind of router.

use std::io::{BufRead, BufReader};
use std::num::NonZeroU32;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use utkik_ground::centre::{BusConfig, BusMode, Centre, EventPublisher, Outcome};
use utkik_shared::events::{
    AuthorizationEvent, EventBody, EventSource, LegalBasis, PlateHitEvent, SourceKind, StationKey, TrustedStations,
};
use zenoh::Wait;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Zenoh router in this process, listening on a free loopback port.
fn router() -> (zenoh::Session, String) {
    let port = free_port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let bus = BusConfig {
        mode: BusMode::Router,
        listen: vec![endpoint.clone()],
        multicast_scouting: Some(false),
        ..Default::default()
    };
    (bus.open().unwrap(), endpoint)
}

fn via(endpoint: &str) -> BusConfig {
    BusConfig {
        mode: BusMode::Peer,
        connect: vec![endpoint.into()],
        multicast_scouting: Some(false),
        ..Default::default()
    }
}

fn now_usec() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

fn source(system_id: u8, kind: SourceKind) -> EventSource {
    EventSource {
        system_id,
        kind,
        legal_basis: LegalBasis::Own,
    }
}

fn hit(alert_id: u32, plate: &str) -> EventBody {
    EventBody::PlateHit(PlateHitEvent {
        alert_id,
        plate: plate.into(),
        hit_entry_id: NonZeroU32::new(1).unwrap(),
        position: None,
        capture_time_usec: now_usec(),
        image_sha256_hex: Some("0f".repeat(32)),
    })
}

fn authz() -> EventBody {
    EventBody::Authorization(AuthorizationEvent { state: None })
}

/// Publishes authorization events from `station` until the centre accepted one from it (the
/// subscription has reached the router): Zenoh keeps no history, so events put before that
/// would never reach the centre.
fn until_connected(station: &mut EventPublisher, centre: &mut Centre, src: EventSource) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        station.publish(now_usec(), src, authz()).unwrap();
        while let Some(o) = centre.recv_timeout(Duration::from_millis(200)).unwrap() {
            if let Outcome::Accepted(ev) = o
                && ev.event.station_id == station.station_id()
            {
                return;
            }
        }
    }
    panic!("no event of {} reached the centre in 20 s", station.station_id());
}

/// Receives until `n` outcomes arrived or 10 s passed.
fn collect(centre: &mut Centre, n: usize) -> Vec<Outcome> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while out.len() < n && Instant::now() < deadline {
        if let Some(o) = centre.recv_timeout(Duration::from_millis(200)).unwrap() {
            out.push(o);
        }
    }
    out
}

#[test]
fn two_stations_reach_a_centre_through_a_router_and_forged_and_replayed_events_are_refused() {
    let (router, endpoint) = router();
    let north = StationKey::from_seed("stn-north", [1; 32]).unwrap();
    let south = StationKey::from_seed("stn-south", [2; 32]).unwrap();
    let trusted = TrustedStations::new(vec![
        north.trusted_entry(Some("north")),
        south.trusted_entry(Some("south")),
    ])
    .unwrap();
    let mut centre = Centre::open(&via(&endpoint), trusted, "utkik/**").unwrap();
    let mut a = EventPublisher::open(&via(&endpoint), north.clone(), "north", now_usec()).unwrap();
    let mut b = EventPublisher::open(&via(&endpoint), south, "south", now_usec()).unwrap();
    let drone = source(1, SourceKind::Drone);
    let fixed = source(7, SourceKind::Fixed);
    until_connected(&mut a, &mut centre, drone);
    until_connected(&mut b, &mut centre, fixed);

    // Both stations' hits arrive, with the keys they were published under.
    let (hit_a, key_a) = a.publish(now_usec(), drone, hit(1, "ABC123")).unwrap();
    b.publish(now_usec(), fixed, hit(2, "XYZ987")).unwrap();
    let got = collect(&mut centre, 2);
    let mut accepted: Vec<(String, String)> = got
        .iter()
        .map(|o| match o {
            Outcome::Accepted(ev) => (ev.key.clone(), ev.event.station_id.clone()),
            Outcome::Refused { reason, .. } => panic!("refused: {reason}"),
        })
        .collect();
    accepted.sort();
    assert_eq!(
        accepted,
        vec![
            ("utkik/north/stn-north/drone-1/plate_hit".into(), "stn-north".into()),
            ("utkik/south/stn-south/fixed-7/plate_hit".into(), "stn-south".into()),
        ]
    );
    assert_eq!(key_a, "utkik/north/stn-north/drone-1/plate_hit");

    // A forger with its own key claims to be stn-north, under stn-north's key expression.
    let forged_key = StationKey::from_seed("stn-north", [9; 32]).unwrap();
    let mut forger = EventPublisher::open(&via(&endpoint), forged_key, "north", now_usec() + 60_000_000).unwrap();
    // A station not in the trusted list.
    let stranger = StationKey::from_seed("stn-stranger", [3; 32]).unwrap();
    let mut stranger = EventPublisher::open(&via(&endpoint), stranger, "north", now_usec()).unwrap();
    // The forger's and stranger's sessions must be known to the router before they publish;
    // publish until each refusal has been seen (at most 20 s).
    let mut refused = std::collections::BTreeMap::<&'static str, usize>::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(refused.contains_key("bad_signature") && refused.contains_key("unknown_station"))
        && Instant::now() < deadline
    {
        forger.publish(now_usec(), drone, hit(66, "FAKE01")).unwrap();
        stranger.publish(now_usec(), drone, hit(67, "FAKE02")).unwrap();
        while let Some(o) = centre.recv_timeout(Duration::from_millis(200)).unwrap() {
            match o {
                Outcome::Refused { reason, .. } => *refused.entry(reason.kind()).or_default() += 1,
                Outcome::Accepted(ev) => panic!("accepted a forged or unknown event: {ev:?}"),
            }
        }
    }
    assert!(refused.contains_key("bad_signature"), "{refused:?}");
    assert!(refused.contains_key("unknown_station"), "{refused:?}");

    // The genuine hit, recorded off the bus and put again: refused as a replay.
    a.put(&hit_a).unwrap();
    // And a genuine new event after it is still accepted.
    a.publish(now_usec(), drone, hit(3, "ABC123")).unwrap();
    let got = collect(&mut centre, 2);
    let kinds: Vec<String> = got
        .iter()
        .map(|o| match o {
            Outcome::Accepted(ev) => format!("accepted seq {}", ev.event.seq > hit_a.event.seq),
            Outcome::Refused { reason, .. } => reason.kind().to_string(),
        })
        .collect();
    assert_eq!(kinds, ["replayed", "accepted seq true"], "{got:?}");

    let stats = centre.stats().clone();
    assert_eq!(stats.refused.get("replayed"), Some(&1));
    assert_eq!(
        stats.refused_total() as usize,
        refused.values().sum::<usize>() + 1,
        "every refusal is counted"
    );
    // Refused events are never among those kept.
    assert!(centre.events().iter().all(|e| {
        match &e.event.body {
            EventBody::PlateHit(h) => !h.plate.starts_with("FAKE"),
            _ => true,
        }
    }));
    for p in [a, b, forger, stranger] {
        p.close().unwrap();
    }
    centre.close().unwrap();
    router.close().wait().unwrap();
}

#[test]
fn the_centre_binary_prints_accepted_events_and_counts_a_forged_one() {
    let (router, endpoint) = router();
    let dir = tempfile::tempdir().unwrap();
    let station = StationKey::from_seed("stn-1", [4; 32]).unwrap();
    let list = dir.path().join("trusted-stations.json");
    std::fs::write(
        &list,
        TrustedStations::new(vec![station.trusted_entry(None)])
            .unwrap()
            .to_json(),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_utkik-ground"))
        .args(["centre", "--trusted-stations"])
        .arg(&list)
        .args([
            "--zenoh-connect",
            &endpoint,
            "--zenoh-no-multicast",
            "--duration-s",
            "15",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines_of = |r: Box<dyn std::io::Read + Send>| {
        let (tx, rx) = crossbeam_channel::unbounded();
        std::thread::spawn(move || {
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        rx
    };
    let out_rx = lines_of(Box::new(child.stdout.take().unwrap()));
    let err_rx = lines_of(Box::new(child.stderr.take().unwrap()));
    let (mut lines, mut errors) = (Vec::<String>::new(), Vec::<String>::new());
    let mut publisher = EventPublisher::open(&via(&endpoint), station, "local", now_usec()).unwrap();
    let drone = source(1, SourceKind::Drone);
    // Until the centre prints an accepted event, its subscription has not reached the router.
    let deadline = Instant::now() + Duration::from_secs(12);
    while !lines.iter().any(|l| l.starts_with("accepted ")) {
        assert!(
            Instant::now() < deadline,
            "the centre printed no event: {lines:?} {errors:?}"
        );
        publisher.publish(now_usec(), drone, authz()).unwrap();
        while let Ok(l) = out_rx.recv_timeout(Duration::from_millis(300)) {
            lines.push(l);
        }
    }
    publisher.publish(now_usec(), drone, hit(5, "ABC123")).unwrap();
    // A forger with its own key under stn-1's id: published until the centre logs a refusal.
    let forged = StationKey::from_seed("stn-1", [8; 32]).unwrap();
    let mut forger = EventPublisher::open(&via(&endpoint), forged, "local", now_usec() + 60_000_000).unwrap();
    while !errors.iter().any(|l| l.contains("refused")) {
        assert!(Instant::now() < deadline, "no refusal logged: {errors:?}");
        forger.publish(now_usec(), drone, hit(6, "FAKE01")).unwrap();
        while let Ok(l) = err_rx.recv_timeout(Duration::from_millis(300)) {
            errors.push(l);
        }
    }
    // The centre runs out its --duration-s and prints its counts.
    let status = child.wait().unwrap();
    lines.extend(out_rx.iter());
    errors.extend(err_rx.iter());
    assert!(status.success(), "{status}: {errors:?}");
    let hit_line = lines
        .iter()
        .find(|l| l.contains("\"plate_hit\""))
        .unwrap_or_else(|| panic!("no plate hit printed: {lines:?}"));
    let json: serde_json::Value = serde_json::from_str(hit_line.strip_prefix("accepted ").unwrap()).unwrap();
    assert_eq!(json["key"], "utkik/local/stn-1/drone-1/plate_hit");
    assert_eq!(json["event"]["body"]["plate_hit"]["plate"], "ABC123");
    assert!(
        !lines.iter().any(|l| l.contains("FAKE01")),
        "a forged event was printed: {lines:?}"
    );
    let summary = lines.iter().find(|l| l.starts_with("centre: accepted")).unwrap();
    let forged_sent = errors
        .iter()
        .filter(|l| l.starts_with("centre: refused") && l.contains("bad signature"))
        .count();
    assert!(forged_sent >= 1, "{errors:?}");
    assert!(
        summary.contains(&format!("refused {forged_sent} (bad_signature: {forged_sent})")),
        "{summary} / {errors:?}"
    );
    publisher.close().unwrap();
    forger.close().unwrap();
    router.close().wait().unwrap();
}

/// The load test at a small scale with the real binary (issue 19 item 5): `utkik-ground
/// centre-load` starts a real router (`utkik-ground router`) and two centres (`utkik-ground
/// centre --quiet`, client mode) as processes; stations publish tracks events and plate hits
/// through the router; both centres must account for every hit and every tracks event, refuse
/// nothing, and report latency percentiles; the CPU and memory figures come from /proc.
#[test]
fn the_load_test_runs_a_router_and_two_centres_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let out = Command::new(env!("CARGO_BIN_EXE_utkik-ground"))
        .args([
            "centre-load",
            "--sources",
            "6",
            "--stations",
            "2",
            "--tracks-per-source",
            "10",
            "--rate-hz",
            "5",
            "--hits-per-s",
            "4",
            "--centres",
            "2",
            "--duration-s",
            "4",
            "--warmup-s",
            "2",
            "--json-out",
        ])
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stdout}\n{stderr}", out.status);
    assert!(
        stdout.contains("| centre 2 |") && stdout.contains("| router |"),
        "{stdout}"
    );
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let published = &r["published"];
    let hits = published["plate_hits"].as_u64().unwrap();
    let tracks_events = published["tracks_events"].as_u64().unwrap();
    // 4 s at 4 hits/s; 6 sources x 5 Hz x 4 s = 120 tracks events (a period may fall either side).
    assert!((14..=16).contains(&hits), "{published}");
    assert!((114..=126).contains(&tracks_events), "{published}");
    assert_eq!(published["track_updates"].as_u64().unwrap(), tracks_events * 10);
    let centres = r["centres"].as_array().unwrap();
    assert_eq!(centres.len(), 2);
    for c in centres {
        assert_eq!(c["plate_hits_lost"], 0, "{c}");
        assert_eq!(c["tracks_events_lost"], 0, "{c}");
        let s = &c["summary"];
        assert_eq!(s["by_kind"]["plate_hit"]["events"].as_u64().unwrap(), hits, "{s}");
        assert_eq!(
            s["by_kind"]["tracks"]["items"].as_u64().unwrap(),
            tracks_events * 10,
            "{s}"
        );
        let lat = &s["by_kind"]["tracks"]["latency"];
        let (p50, p95) = (lat["p50_ms"].as_f64().unwrap(), lat["p95_ms"].as_f64().unwrap());
        assert!(p50 > 0.0 && p50 <= p95, "{lat}");
        assert!(c["process"]["peak_rss_mib"].as_f64().unwrap() > 1.0, "{c}");
    }
    assert!(r["router"]["cpu_pct_of_one_core"].as_f64().unwrap() >= 0.0);
}

/// The router refuses to start without anything to listen on, naming the option.
#[test]
fn a_router_without_a_listen_endpoint_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_utkik-ground"))
        .args(["router", "--duration-s", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--zenoh-listen"), "{stderr}");
}
