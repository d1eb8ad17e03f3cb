//! Writes the seed corpora (`fuzz/corpus/TARGET/seed-*`) from real files and real encodings of
//! the repository: the DEMO key, trust-store, users and authorization files, the scenarios, the
//! onboard default configuration, GeoJSON the simulator exports, a hit list it writes, frames of
//! every message of the dialect, a tlog and an audit log written by our writers.
//!
//! Not part of the normal test run (it writes into the source tree); run it by hand before fuzzing
//! a new target: `cargo test -p utkik-fuzz --test seeds -- --ignored`. The fuzzer's minimised
//! corpora, committed next to the seeds, are what the replay test runs.

use std::path::{Path, PathBuf};

use mavlink_core::{MavHeader, Message};
use utkik_fuzz::mavframe::known_ids;
use utkik_shared::dialect::MavMessage;
use utkik_shared::mavframe::{MavVersion, RawFrame};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo")
        .to_path_buf()
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("corpus dir");
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
}

fn asset(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Frames of the default message of every id, v2 (and v1 where the id fits), in groups.
fn frames() -> Vec<Vec<u8>> {
    let mut groups = Vec::new();
    for (g, ids) in known_ids().chunks(24).enumerate() {
        let mut s = Vec::new();
        for (i, &id) in ids.iter().enumerate() {
            let msg = MavMessage::default_message_from_id(id).expect("known id");
            let header = MavHeader {
                system_id: 1 + (g as u32 % 200),
                component_id: 1,
                sequence: i as u8,
            };
            s.extend(RawFrame::encode(MavVersion::V2, header, &msg).into_bytes());
            if id <= 255 {
                s.extend(RawFrame::encode(MavVersion::V1, header, &msg).into_bytes());
            }
        }
        groups.push(s);
    }
    groups
}

#[test]
#[ignore = "writes the seed corpora into the source tree; run by hand"]
fn write_seed_corpora() {
    // Frame decoder: mode byte 1 = raw stream.
    for (i, g) in frames().iter().enumerate() {
        let mut d = vec![1];
        d.extend(g);
        write("mavframe_decoder", &format!("frames-{i:03}"), &d);
    }
    // Dialect: (id index LE, v1 flag, payload) for every id.
    for (i, &id) in known_ids().iter().enumerate() {
        let msg = MavMessage::default_message_from_id(id).expect("known id");
        let mut buf = [0u8; 255];
        let n = msg.ser(mavlink_core::MavlinkVersion::V2, &mut buf);
        let mut d = (i as u16).to_le_bytes().to_vec();
        d.push(0);
        d.extend(&buf[..n.max(1)]);
        write("dialect_decode", &format!("{id:05}"), &d);
    }
    // tlog: mode byte 1 = a log as the writer writes it.
    let mut log = Vec::new();
    {
        let mut w = utkik_shared::tlog::TlogWriter::new(&mut log);
        for (i, g) in frames().iter().take(4).enumerate() {
            let mut dec = utkik_shared::mavframe::FrameDecoder::new();
            for (j, f) in dec.push_collect(g).iter().enumerate() {
                w.write_frame(1_700_000_000_000_000 + (i * 1000 + j) as u64 * 20_000, f)
                    .expect("write");
            }
        }
    }
    let mut d = vec![1];
    d.extend(&log);
    write("tlog_reader", "writer", &d);
    // Authorization: raw DEMO file (mode 0), and edit modes.
    let mut d = vec![0, 0, 0, 1, 0];
    d.extend(asset("assets/authz/person-search.authz.json"));
    write("authz_document", "demo-raw", &d);
    write("authz_document", "demo-edited", &[1, 0, 0, 1, 0, 0, 7, 0, 32]);
    write("authz_document", "demo-resigned", &[2, 0, 0, 1, 0, 0, 7, 0, 32]);
    write("trust_store", "demo", &asset("assets/authz/demo-trust-store.json"));
    write(
        "issuer_key",
        "demo-prosecutor",
        &asset("assets/authz/DEMO-prosecutor.key.NOT-SECRET.json"),
    );
    write(
        "issuer_key",
        "demo-audit",
        &asset("assets/audit/DEMO-ground-audit.key.NOT-SECRET.json"),
    );
    write("link_key", "demo", &asset("assets/authz/DEMO-link.key.NOT-SECRET.json"));
    write(
        "hit_list_tsv",
        "doc-example",
        b"# plate\texpires (UTC)\treason[\tadded_by]\nABC 123\t2026-12-31T23:59:59Z\tStolen vehicle, report K-1234-26\nXYZ 12A\t2027-01-15\tWanted in connection with K-99-26\tanna\n",
    );
    hit_list_seeds();
    station_event_seeds();
    // Audit: a real log from the writer (mode 1), and a build-and-edit input (mode 0).
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().join("audit.jsonl");
    write_audit_log(&path);
    let mut d = vec![1];
    d.extend(std::fs::read(&path).expect("audit log"));
    write("audit_verify", "writer", &d);
    write(
        "audit_verify",
        "edited",
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    );
    write("plate_grammar", "abc123", b"\x07ABC 123\x00\x00");
    // Upload bundle: the DEMO authorization with an image, as the station sends it (mode 0), a
    // one-chunk upload (mode 1) and a transfer with a few drops (mode 2).
    let bundle = utkik_shared::authz::upload::UploadBundle {
        authorization: asset("assets/authz/person-search.authz.json"),
        files: vec![utkik_shared::authz::upload::UploadFile {
            name: "person-1-image-1.png".into(),
            bytes: b"\x89PNG\r\n\x1a\n not a real image".to_vec(),
        }],
    };
    let mut raw = vec![0u8];
    raw.extend(bundle.to_bytes());
    write("upload_bundle", "demo-bundle", &raw);
    write(
        "upload_bundle",
        "one-chunk",
        &[1, 5, 20, 0, 0, 0, 20, 0, 1, 2, 3, 4, 5, 6, 7, 8],
    );
    write(
        "upload_bundle",
        "lossy",
        &[2, 0x40, 0x06, 0, 1, 0, 0, 2, 0, 3, 0, 1, 1, 0, 0],
    );
    write(
        "link_signature",
        "steps",
        &[0, 1, 2, 3, 1, 0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    );
    app_seeds();
}

fn write_audit_log(path: &Path) {
    use utkik_shared::audit::{AuditEvent, AuditWriter, CheckpointSigner};
    let signer = CheckpointSigner {
        key_id: "seed".into(),
        key: ed25519_dalek::SigningKey::from_bytes(&[3; 32]),
    };
    let (mut w, _) = AuditWriter::open(path, Some(signer), 3).expect("open audit log");
    for i in 0..8u64 {
        w.append(
            1_700_000_000_000_000 + i,
            AuditEvent::AuthorizationRefused {
                field: format!("document.window.until_usec[{i}]"),
                reason: "seed".into(),
            },
        )
        .expect("append");
    }
}

/// The signed hit list's seeds: the DEMO list raw (mode 0, clock 1 day after issue), edited
/// (mode 1) and re-signed after an edit (mode 2).
fn hit_list_seeds() {
    let mut d = vec![0, 0x80, 0x51, 0x01, 0x00];
    d.extend(utkik_fuzz::hitlist::demo_list_json());
    write("hit_list", "demo-raw", &d);
    write("hit_list", "demo-edited", &[1, 0x80, 0x51, 0x01, 0x00, 0, 7, 0, 32]);
    write("hit_list", "demo-resigned", &[2, 0x80, 0x51, 0x01, 0x00, 0, 7, 0, 32]);
}

/// The station-event seeds: a genuine signed event raw (mode 0), followed by a replay of itself
/// after a NUL, edited (mode 1) and edited then re-signed (mode 2).
fn station_event_seeds() {
    let mut d = vec![0];
    d.extend(utkik_fuzz::events::seed_event());
    write("station_event", "genuine", &d);
    d.push(0);
    d.extend(utkik_fuzz::events::seed_event());
    write("station_event", "replayed", &d);
    write("station_event", "edited", &[1, 0, 7, 0, 32]);
    write("station_event", "resigned", &[2, 0, 7, 0, 32]);
}

/// Only the station-event seeds (`cargo test -p utkik-fuzz --test seeds -- --ignored station_event`).
#[test]
#[ignore = "writes the seed corpora into the source tree; run by hand"]
fn write_station_event_seed_corpora() {
    station_event_seeds();
}

/// Only the hit-list seeds (`cargo test -p utkik-fuzz --test seeds -- --ignored hit_list`).
#[test]
#[ignore = "writes the seed corpora into the source tree; run by hand"]
fn write_hit_list_seed_corpora() {
    hit_list_seeds();
}

#[cfg(feature = "apps")]
fn app_seeds() {
    write("users_file", "demo", &asset("assets/users/demo-users.json"));
    write("onboard_config", "default", &asset("onboard/config/default.toml"));
    let mut d = b"[gate]\n\0".to_vec();
    d.extend(b"detect.threshold=0.4\ntrack.max_age_frames=30\n");
    write("onboard_config", "overrides", &d);
    for name in ["urban-street", "person-search", "anpr-road"] {
        let rel = format!("assets/scenarios/{name}.toml");
        let text = asset(&rel);
        write("scenario_toml", name, &text);
        let s = utkik_sim::scenario::Scenario::parse(std::str::from_utf8(&text).expect("utf-8"), Path::new(&rel))
            .expect("scenario parses");
        let gj = serde_json::to_vec(&utkik_sim::geojson::scenario_geojson(&s)).expect("geojson");
        write("geojson", name, &gj);
        // The list `utkik-sim hitlist` writes, issued at the fuzz clock's start, valid a day.
        let issued = utkik_shared::utc::parse_utc_usec(utkik_fuzz::hitlist::DEMO_ISSUED_AT).expect("parses");
        let mut d = vec![0, 0, 1, 0, 0];
        d.extend(
            utkik_sim::onboard_config::scenario_hit_list(&s, issued, issued + 86_400_000_000, false)
                .to_json_pretty()
                .as_bytes(),
        );
        write("hit_list", name, &d);
    }
    for (i, line) in [
        "help",
        "status",
        "login anna",
        "authz urgent-start",
        "confirm 1 42",
        "export 1 7",
        "search ABC 123",
        "screenshot out.png",
        "map 0.5",
        "# comment",
    ]
    .iter()
    .enumerate()
    {
        write("console_command", &format!("{i:02}"), line.as_bytes());
    }
    write(
        "mbtiles",
        "rows",
        &[1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0],
    );
}

#[cfg(not(feature = "apps"))]
fn app_seeds() {}
