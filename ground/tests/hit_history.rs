//! Movement history of plate hits at the station (issue 19 item 4, LAW.md section 7), on real
//! files (SQLite store, audit log, signed hit list): each stored plate hit is one sighting with
//! its entry's expiry from the station's verified hit list, never a non-hit read; a resend or a
//! restart adds nothing; a query needs sign-in, a role and a reason and is an audit record
//! written before the path; sightings from two drones come back as one path in time order; an
//! expired entry's sightings are gone after the purge (time injected), unexpired ones survive a
//! restart.

mod common;

use common::{NOW_USEC, demo_trust, events, login, ops_in};
use sha2::Digest as _;
use utkik_ground::console::{Command, Console, ConsoleError};
use utkik_ground::hit_history::{HitHistory, STORE_FILE, Source, SourceKind};
use utkik_ground::ops::{GroundOps, OpsError};
use utkik_ground::state::{Origin, World};
use utkik_shared::audit::AuditEvent;
use utkik_shared::dialect::{
    DATA_TRANSMISSION_HANDSHAKE_DATA, ENCAPSULATED_DATA_DATA, MavMessage, UTKIK_PLATE_READ_DATA, UTKIK_TRACK_DATA,
    UtkikObjectClass, UtkikPlateStatus, UtkikTrackFlags,
};
use utkik_shared::plate::PlateGrammar;

const HOUR_USEC: u64 = 3_600_000_000;
const PLATE_IMAGE: &[u8] = b"\xff\xd8 plate image ABC 123 and the car around it \xff\xd9";

fn drone(system_id: u8) -> Origin {
    Origin {
        system_id,
        component_id: 191,
        sequence: 0,
    }
}

/// The signed DEMO list the drones fly with, written to a file: ABC 123 until tomorrow,
/// XYZ 789 for one hour (entry 2), KLM 45A until the day after.
fn write_hit_list(dir: &std::path::Path) -> std::path::PathBuf {
    let grammar = PlateGrammar::sweden();
    let fmt = utkik_shared::utc::format_utc_usec;
    let tsv = format!(
        "ABC 123\t{}\tstolen car\tanna\nXYZ 789\t{}\twanted driver\tanna\nKLM 45A\t{}\tmissing person\tanna\n",
        fmt(NOW_USEC + 24 * HOUR_USEC),
        fmt(NOW_USEC + HOUR_USEC),
        fmt(NOW_USEC + 48 * HOUR_USEC),
    );
    let entries = utkik_shared::hitlist::tsv::parse_entries(&tsv, &grammar).unwrap();
    let doc = utkik_shared::hitlist::tsv::document_from_entries(
        &entries,
        "OP-TEST-1",
        utkik_shared::hitlist::demo::DEMO_SIGNER,
        NOW_USEC - HOUR_USEC,
        NOW_USEC + 72 * HOUR_USEC,
    );
    let path = dir.join("hitlist.json");
    std::fs::write(&path, utkik_shared::hitlist::demo::sign(doc).to_json_pretty()).unwrap();
    path
}

/// A station with its audit log, the hit history and the verified hit list in `dir`.
fn station(dir: &std::path::Path, now_usec: u64) -> GroundOps {
    let mut ops = ops_in(dir, demo_trust());
    let list = write_hit_list(dir);
    ops.load_station_hit_list(&list, &PlateGrammar::sweden(), now_usec)
        .unwrap();
    let (h, _) = HitHistory::open(&dir.join(STORE_FILE), now_usec).unwrap();
    ops.set_hit_history(h);
    ops
}

/// A station's world: alerts are acknowledged only once stored (without it every alert counts
/// as stored on arrival and [`GroundOps::store_new_alerts`] has nothing to do).
fn station_world() -> World {
    let mut w = World::new();
    w.alerts.set_require_store(true);
    w
}

fn plate_track(track_id: u32, lat_e7: i32, lon_e7: i32) -> MavMessage {
    MavMessage::UTKIK_TRACK(UTKIK_TRACK_DATA {
        time_usec: NOW_USEC,
        track_id,
        object_class: UtkikObjectClass::UTKIK_OBJECT_CLASS_PLATE,
        flags: UtkikTrackFlags::UTKIK_TRACK_FLAGS_GEO_VALID,
        lat: lat_e7,
        lon: lon_e7,
        confidence: 90,
        ..Default::default()
    })
}

/// A plate hit from `system_id`'s plate track `track_id` (alert `alert_id`, entry
/// `hit_entry_id`, captured at `time_usec`), with its plate image.
fn hit(w: &mut World, system_id: u8, alert_id: u32, track_id: u32, plate: &str, hit_entry_id: u32, time_usec: u64) {
    let read = UTKIK_PLATE_READ_DATA {
        time_usec,
        alert_id,
        track_id,
        hit_entry_id,
        plate: plate.into(),
        confidence: 93,
        status: UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
        reads: 4,
        image_transfer_id: 0x8000 | alert_id as u16,
        image_size: PLATE_IMAGE.len() as u32,
        ..Default::default()
    };
    w.apply(drone(system_id), &MavMessage::UTKIK_PLATE_READ(read), 2.0);
    w.apply(
        drone(system_id),
        &MavMessage::DATA_TRANSMISSION_HANDSHAKE(DATA_TRANSMISSION_HANDSHAKE_DATA {
            size: PLATE_IMAGE.len() as u32,
            packets: 1,
            ..Default::default()
        }),
        2.0,
    );
    let mut data = [0u8; 253];
    data[..PLATE_IMAGE.len()].copy_from_slice(PLATE_IMAGE);
    w.apply(
        drone(system_id),
        &MavMessage::ENCAPSULATED_DATA(ENCAPSULATED_DATA_DATA { seqnr: 0, data }),
        2.0,
    );
}

fn queries(dir: &std::path::Path) -> Vec<AuditEvent> {
    events(dir)
        .into_iter()
        .filter(|e| matches!(e, AuditEvent::HitHistoryQuery { .. }))
        .collect()
}

#[test]
fn each_stored_plate_hit_is_one_sighting_never_a_non_hit_read_and_not_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut ops = station(dir.path(), NOW_USEC);
        let mut w = station_world();
        // A station keeping non-hit text (the most a station ever holds of a non-hit read).
        w.keep_non_hit_text = true;
        w.apply(drone(1), &plate_track(41, 593_300_000, 180_600_000), 1.0);
        w.apply(drone(1), &plate_track(42, 593_310_000, 180_610_000), 1.0);
        hit(&mut w, 1, 1, 41, "ABC123", 1, NOW_USEC - 5_000_000);
        let non_hit = UTKIK_PLATE_READ_DATA {
            time_usec: NOW_USEC,
            track_id: 42,
            plate: "DEF456".into(),
            confidence: 90,
            status: UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT,
            reads: 3,
            ..Default::default()
        };
        w.apply(drone(1), &MavMessage::UTKIK_PLATE_READ(non_hit.clone()), 2.1);
        assert_eq!(ops.store_new_alerts(&mut w, NOW_USEC).unwrap(), 1, "the hit only");
        let h = ops.hit_history_store().unwrap();
        assert_eq!(h.count().unwrap(), 1);
        assert!(h.contains(&Source::drone(1), 1).unwrap());
        // The drone resends the hit (its ack was lost): no second row.
        hit(&mut w, 1, 1, 41, "ABC123", 1, NOW_USEC - 5_000_000);
        ops.store_new_alerts(&mut w, NOW_USEC + 1).unwrap();
        assert_eq!(ops.hit_history_store().unwrap().count().unwrap(), 1);
    }
    // Restarted station: a new world, the drone resends the same alert once more.
    let mut ops = station(dir.path(), NOW_USEC + 2);
    assert_eq!(
        ops.hit_history_store().unwrap().count().unwrap(),
        1,
        "kept across the restart"
    );
    let mut w = station_world();
    w.apply(drone(1), &plate_track(41, 593_300_000, 180_600_000), 1.0);
    hit(&mut w, 1, 1, 41, "ABC123", 1, NOW_USEC - 5_000_000);
    assert_eq!(ops.store_new_alerts(&mut w, NOW_USEC + 3).unwrap(), 1);
    assert_eq!(ops.hit_history_store().unwrap().count().unwrap(), 1, "not duplicated");

    login(&mut ops, "anna");
    let path = ops
        .hit_history("ABC 123", "case K-1234-26 stolen car", NOW_USEC + 4)
        .unwrap();
    assert_eq!(path.sightings.len(), 1);
    let s = &path.sightings[0];
    assert_eq!(s.plate, "ABC123");
    assert_eq!((s.entry.list_id.as_str(), s.entry.entry_id), ("OP-TEST-1", 1));
    assert_eq!(s.entry.expires_usec, NOW_USEC + 24 * HOUR_USEC);
    assert_eq!(s.time_usec, NOW_USEC - 5_000_000, "capture time, not arrival");
    assert_eq!(s.lat_lon_deg, Some((59.33, 18.06)));
    assert_eq!(s.source, Source::drone(1));
    assert_eq!(
        s.image_sha256_hex.as_deref(),
        Some(hex::encode(sha2::Sha256::digest(PLATE_IMAGE)).as_str()),
        "the plate image's key in the payload store"
    );
    // The non-hit plate is nowhere in the store file.
    drop(ops);
    let bytes = std::fs::read(dir.path().join(STORE_FILE)).unwrap();
    assert!(
        !bytes.windows(6).any(|w| w == b"DEF456"),
        "non-hit text in the hit history"
    );
}

#[test]
fn a_hit_the_station_list_does_not_name_for_that_plate_is_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = station(dir.path(), NOW_USEC);
    let mut w = station_world();
    w.apply(drone(1), &plate_track(41, 593_300_000, 180_600_000), 1.0);
    // Entry 1 is ABC 123: a drone with another list says it is QQQ111.
    hit(&mut w, 1, 1, 41, "QQQ111", 1, NOW_USEC);
    // Entry 9 does not exist.
    hit(&mut w, 1, 2, 41, "ABC123", 9, NOW_USEC);
    assert_eq!(
        ops.store_new_alerts(&mut w, NOW_USEC).unwrap(),
        2,
        "both alerts stored and acknowledged"
    );
    assert_eq!(ops.hit_history_store().unwrap().count().unwrap(), 0);
    // Without a hit list at the station, nothing either.
    let dir2 = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir2.path(), demo_trust());
    ops.set_hit_history(HitHistory::open(&dir2.path().join(STORE_FILE), NOW_USEC).unwrap().0);
    let mut w = station_world();
    hit(&mut w, 1, 1, 41, "ABC123", 1, NOW_USEC);
    assert_eq!(ops.store_new_alerts(&mut w, NOW_USEC).unwrap(), 1);
    assert_eq!(ops.hit_history_store().unwrap().count().unwrap(), 0);
    // A list signed by someone the station's trust store does not hold as senior officer is
    // refused, naming the file.
    let dir3 = tempfile::tempdir().unwrap();
    let mut ops = ops_in(dir3.path(), utkik_shared::authz::TrustStore::default());
    let e = ops
        .load_station_hit_list(&write_hit_list(dir3.path()), &PlateGrammar::sweden(), NOW_USEC)
        .unwrap_err()
        .to_string();
    assert!(e.contains("hitlist.json"), "{e}");
}

#[test]
fn a_query_needs_sign_in_a_role_and_a_reason_and_is_logged_before_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = station(dir.path(), NOW_USEC);
    let mut w = station_world();
    w.apply(drone(1), &plate_track(41, 593_300_000, 180_600_000), 1.0);
    hit(&mut w, 1, 1, 41, "ABC123", 1, NOW_USEC);
    ops.store_new_alerts(&mut w, NOW_USEC).unwrap();

    // Not signed in: refused, nothing returned, nothing logged as a query.
    let e = ops.hit_history("ABC123", "case K-1234-26", NOW_USEC).unwrap_err();
    assert!(matches!(e, OpsError::Session(_)), "{e}");
    // A pilot and an auditor may not.
    for user in ["david", "eva"] {
        login(&mut ops, user);
        let e = ops.hit_history("ABC123", "case K-1234-26", NOW_USEC).unwrap_err();
        assert!(matches!(e, OpsError::Session(_)), "{user}: {e}");
    }
    // An operator without a reason.
    login(&mut ops, "anna");
    for reason in ["", "   ", "because"] {
        let e = ops.hit_history("ABC123", reason, NOW_USEC).unwrap_err();
        assert!(matches!(e, OpsError::HistoryReason), "{reason:?}: {e}");
    }
    // A query naming no plate.
    let e = ops.hit_history(" - ", "case K-1234-26", NOW_USEC).unwrap_err();
    assert!(matches!(e, OpsError::HistoryPlate(_)), "{e}");
    assert!(queries(dir.path()).is_empty(), "refused queries are no consultation");

    let path = ops
        .hit_history("abc-123", "case K-1234-26 stolen car", NOW_USEC)
        .unwrap();
    assert_eq!(path.sightings.len(), 1);
    assert_eq!(
        queries(dir.path()),
        [AuditEvent::HitHistoryQuery {
            user_id: "anna".into(),
            plate: "ABC123".into(),
            reason: "case K-1234-26 stolen car".into(),
            results: 1,
        }]
    );
    // A senior officer may too; a query finding nothing is logged as well.
    login(&mut ops, "cecilia");
    assert!(
        ops.hit_history("XYZ789", "case K-99-26 driver", NOW_USEC)
            .unwrap()
            .sightings
            .is_empty()
    );
    assert_eq!(queries(dir.path()).len(), 2);

    // At the console: the same rules, and the path printed.
    let mut c = Console::default();
    let exports = dir.path().join("exports");
    assert_eq!(
        Command::parse("history ABC123 case K-1234-26").unwrap(),
        Some(Command::History("ABC123".into(), "case K-1234-26".into()))
    );
    assert!(matches!(
        Command::parse("history ABC123"),
        Err(ConsoleError::Usage("history PLATE REASON..."))
    ));
    ops.logout(NOW_USEC).unwrap();
    let e = c
        .line("history ABC123 case K-1234-26", &mut ops, &mut w, &exports, NOW_USEC)
        .unwrap_err();
    assert!(matches!(e, ConsoleError::Refused(OpsError::Session(_))), "{e}");
    login(&mut ops, "bertil");
    let r = c
        .line(
            "history ABC123 case K-1234-26 follow-up",
            &mut ops,
            &mut w,
            &exports,
            NOW_USEC,
        )
        .unwrap();
    assert!(
        r.text.contains("1 sightings") && r.text.contains("59.330000 18.060000") && r.text.contains("drone 1"),
        "{}",
        r.text
    );
    assert_eq!(r.hit_path.map(|p| p.sightings.len()), Some(1));
    assert_eq!(queries(dir.path()).len(), 3);
}

#[test]
fn sightings_from_two_drones_come_back_as_one_path_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut ops = station(dir.path(), NOW_USEC);
    let mut w = station_world();
    w.apply(drone(1), &plate_track(41, 593_300_000, 180_600_000), 1.0);
    w.apply(drone(2), &plate_track(7, 593_400_000, 180_700_000), 1.0);
    // Arrival order is not time order: drone 2's later sighting is stored first.
    hit(&mut w, 2, 1, 7, "ABC123", 1, NOW_USEC - 60_000_000);
    ops.store_new_alerts(&mut w, NOW_USEC).unwrap();
    hit(&mut w, 1, 1, 41, "ABC123", 1, NOW_USEC - 600_000_000);
    hit(&mut w, 1, 2, 41, "ABC123", 1, NOW_USEC - 30_000_000);
    ops.store_new_alerts(&mut w, NOW_USEC).unwrap();
    login(&mut ops, "anna");
    let path = ops.hit_history("ABC123", "case K-1234-26 route", NOW_USEC).unwrap();
    assert!(path.is_time_ordered());
    assert_eq!(
        path.sightings
            .iter()
            .map(|s| (s.time_usec, s.source.system_id, s.alert_id))
            .collect::<Vec<_>>(),
        [
            (NOW_USEC - 600_000_000, 1, 1),
            (NOW_USEC - 60_000_000, 2, 1),
            (NOW_USEC - 30_000_000, 1, 2),
        ]
    );
    let (lat, lon) = path.sightings[1].lat_lon_deg.unwrap();
    assert!(
        (lat - 59.34).abs() < 1e-9 && (lon - 18.07).abs() < 1e-9,
        "drone 2's track: {lat} {lon}"
    );
    assert!(path.sightings.iter().all(|s| s.source.kind == SourceKind::Drone));
}

#[test]
fn an_expired_entrys_sightings_are_gone_after_the_purge_and_unexpired_ones_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut ops = station(dir.path(), NOW_USEC);
        let mut w = station_world();
        w.apply(drone(1), &plate_track(41, 593_300_000, 180_600_000), 1.0);
        hit(&mut w, 1, 1, 41, "XYZ789", 2, NOW_USEC); // entry 2: one hour
        hit(&mut w, 1, 2, 41, "ABC123", 1, NOW_USEC); // entry 1: a day
        ops.store_new_alerts(&mut w, NOW_USEC).unwrap();
        assert_eq!(ops.hit_history_store().unwrap().count().unwrap(), 2);
        // The timer purges at most once a minute; the hour is up.
        assert_eq!(
            ops.purge_hit_history(NOW_USEC + 30_000_000).unwrap(),
            0,
            "nothing expired yet"
        );
        assert_eq!(ops.purge_hit_history(NOW_USEC + HOUR_USEC).unwrap(), 1);
        login(&mut ops, "anna");
        assert!(
            ops.hit_history("XYZ789", "case K-99-26 driver", NOW_USEC + HOUR_USEC)
                .unwrap()
                .sightings
                .is_empty()
        );
    }
    // Reopened two hours later (the list is still valid): the day-long entry's sighting is there.
    let (h, purged) = HitHistory::open(&dir.path().join(STORE_FILE), NOW_USEC + 2 * HOUR_USEC).unwrap();
    assert_eq!((purged, h.count().unwrap()), (0, 1));
    drop(h);
    let mut ops = station(dir.path(), NOW_USEC + 2 * HOUR_USEC);
    login(&mut ops, "anna");
    let path = ops
        .hit_history("ABC123", "case K-1234-26 route", NOW_USEC + 2 * HOUR_USEC)
        .unwrap();
    assert_eq!(path.sightings.len(), 1);
    // A day later the entry has expired: purged at open, the text overwritten in the file.
    drop(ops);
    let (h, purged) = HitHistory::open(&dir.path().join(STORE_FILE), NOW_USEC + 24 * HOUR_USEC).unwrap();
    assert_eq!((purged, h.count().unwrap()), (1, 0));
    drop(h);
    let bytes = std::fs::read(dir.path().join(STORE_FILE)).unwrap();
    for plate in [&b"ABC123"[..], b"XYZ789"] {
        assert!(!bytes.windows(6).any(|w| w == plate), "expired plate still in the file");
    }
}

#[test]
fn the_map_draws_the_queried_path_in_time_order_with_time_labels() {
    use bevy::prelude::*;
    use utkik_ground::hit_history::{EntryRef, HitPath, Sighting};
    use utkik_ground::plugins::hit_path::{HitPathLayout, HitPathView, layout};
    use utkik_ground::plugins::map::MapView;

    let s = |system_id: u8, alert_id: u32, t: u64, pos: Option<(f64, f64)>| Sighting {
        plate: "ABC123".into(),
        entry: EntryRef {
            list_id: "OP-TEST-1".into(),
            entry_id: 1,
            expires_usec: NOW_USEC + HOUR_USEC,
        },
        time_usec: t,
        lat_lon_deg: pos,
        source: Source::drone(system_id),
        alert_id,
        image_sha256_hex: None,
    };
    // Given out of order (as a caller might), one without a position.
    let path = HitPath {
        plate: "ABC123".into(),
        sightings: vec![
            s(2, 1, NOW_USEC + 120_000_000, Some((59.34, 18.07))),
            s(1, 1, NOW_USEC, Some((59.33, 18.06))),
            s(1, 2, NOW_USEC + 60_000_000, None),
            s(1, 3, NOW_USEC + 180_000_000, Some((59.35, 18.08))),
        ],
    };
    let mut view = MapView::default();
    view.set_origin(59.33, 18.06);
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(view)
        .insert_resource(HitPathView(Some(path)))
        .init_resource::<HitPathLayout>()
        .add_systems(Update, layout);
    app.update();
    let l = app.world().resource::<HitPathLayout>().clone();
    assert_eq!(l.plate, "ABC123");
    assert_eq!(
        l.points.iter().map(|p| p.time_usec).collect::<Vec<_>>(),
        [NOW_USEC, NOW_USEC + 120_000_000, NOW_USEC + 180_000_000]
    );
    assert_eq!(
        l.points.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(),
        ["00:00:00 drone 1", "00:02:00 drone 2", "00:03:00 drone 1"]
    );
    assert!(l.points[0].xy.length() < 0.01, "the first sighting is the map origin");
    // North-east, about 1.1 km north per 0.01 degree.
    assert!((1100.0..1130.0).contains(&l.points[1].xy.y), "{:?}", l.points[1].xy);
    assert!(l.points[2].xy.y > l.points[1].xy.y && l.points[2].xy.x > l.points[1].xy.x);
    // No path queried: nothing drawn.
    app.insert_resource(HitPathView(None));
    app.update();
    assert!(app.world().resource::<HitPathLayout>().points.is_empty());
}

/// The real station binary: `--hit-list` with the drones' signed list opens the store in the
/// record dir; a list that is not signed stops start-up naming `--hit-list`.
#[test]
fn the_station_binary_keeps_sightings_only_with_a_verified_hit_list() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("hitlist.json");
    let out = std::process::Command::new(common::sibling("utkik-sim"))
        .args(["hitlist", "--scenario"])
        .arg(common::repo("assets/scenarios/anpr-road.toml"))
        .arg("--out")
        .arg(&list)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let station = |record: &std::path::Path, list: &std::path::Path| {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_utkik-ground"))
            .args(["--headless", "--demo", "--duration-s", "2", "--link"])
            .arg(format!("udp:127.0.0.1:{port}"))
            .arg("--record-dir")
            .arg(record)
            .arg("--hit-list")
            .arg(list)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let record = dir.path().join("station");
    let (ok, text) = station(&record, &list);
    assert!(ok, "{text}");
    assert!(record.join(STORE_FILE).is_file(), "{text}");
    let unsigned = dir.path().join("hits.tsv");
    std::fs::write(&unsigned, "ABC 123\t2030-01-01T00:00:00Z\tstolen car\tanna\n").unwrap();
    let other = dir.path().join("other");
    let (ok, text) = station(&other, &unsigned);
    assert!(!ok, "an unsigned hit list was taken: {text}");
    assert!(text.contains("--hit-list") && text.contains("hits.tsv"), "{text}");
    assert!(!other.join(STORE_FILE).exists(), "nothing kept on a refused list");
}
