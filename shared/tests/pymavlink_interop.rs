//! Interoperability with a MAVLink implementation we did not write: pymavlink.
//!
//! Each test generates our dialect (`mavlink/utkik.xml` + the `common.xml`
//! our build used) with pymavlink's own generator (`mavgen`, Python 3,
//! MAVLink 2) into its own temp dir, then talks to the Python peer
//! `tests/python/pymavlink_peer.py`:
//!
//! - every custom message (enumerated from the XML, in four variants: zero,
//!   type minimum, type maximum, seeded random) crosses UDP on 127.0.0.1 in
//!   both directions; each side decodes with its own generated code and
//!   compares every field, the header and the exact bytes, and a frame with a
//!   wrong CRC_EXTRA is rejected by both;
//! - a `.tlog` written by `utkik_shared::tlog` is read back by
//!   `pymavlink.mavutil.mavlink_connection` with the same messages, fields and
//!   timestamps.
//!
//! The values and the field lists come from the Python side (read from the XML
//! with ElementTree); the Rust side turns them into [`MavMessage`]s through
//! serde, checking first that the Rust struct has exactly the XML's fields.
//!
//! python3 with pymavlink is part of the test environment (`scripts/setup.sh`
//! installs it): without it these tests fail, saying so.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use mavlink_core::{MavHeader, MavlinkVersion, Message};
use serde_json::{Map, Value, json};
use utkik_shared::dialect::{
    ATTITUDE_DATA, DATA_TRANSMISSION_HANDSHAKE_DATA, ENCAPSULATED_DATA_DATA, GLOBAL_POSITION_INT_DATA, HEARTBEAT_DATA,
    MavAutopilot, MavMessage, MavModeFlag, MavSeverity, MavState, MavType, MavlinkDataStreamType, STATUSTEXT_DATA,
    SYSTEM_TIME_DATA, is_utkik_message_id,
};
use utkik_shared::mavframe::{FrameDecoder, FrameError, MavVersion, RawFrame, crc_extra, x25_crc};
use utkik_shared::tlog::{TlogReader, TlogWriter};

/// Our dialect, as in the repository.
const DIALECT_XML: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/mavlink/utkik.xml");
/// `common.xml` and what it includes, copied by `build.rs` from the `mavlink`
/// crate our Rust code was generated from.
const UPSTREAM_DEFINITIONS: &str = concat!(env!("OUT_DIR"), "/definitions");
const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/pymavlink_peer.py");

/// The generated pymavlink dialect in a temp dir of its own.
struct Pymavlink {
    dir: tempfile::TempDir,
    /// `utkik.xml` next to `common.xml`, `standard.xml`, `minimal.xml`.
    xml: PathBuf,
    /// The module mavgen wrote.
    module: PathBuf,
}

impl Pymavlink {
    /// Checks python3 + pymavlink, then runs mavgen on our dialect.
    fn generate() -> Self {
        let version = run(Command::new("python3").args(["-c", "import pymavlink; print(pymavlink.__version__)"]));
        assert!(
            version.status.success(),
            "python3 cannot import pymavlink: the interop tests need pymavlink 2.4.50 (scripts/setup.sh installs it)\n{}",
            String::from_utf8_lossy(&version.stderr)
        );
        let dir = tempfile::tempdir().unwrap();
        let defs = dir.path().join("definitions");
        std::fs::create_dir(&defs).unwrap();
        let mut copied = Vec::new();
        for entry in std::fs::read_dir(UPSTREAM_DEFINITIONS).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_owned();
            if path.extension().is_some_and(|e| e == "xml") && name != "utkik.xml" {
                std::fs::copy(&path, defs.join(&name)).unwrap();
                copied.push(name);
            }
        }
        assert!(
            copied.iter().any(|n| n == "common.xml"),
            "no common.xml in {UPSTREAM_DEFINITIONS}: {copied:?}"
        );
        let xml = defs.join("utkik.xml");
        std::fs::copy(DIALECT_XML, &xml).unwrap();
        let module = dir.path().join("utkik.py");
        let out = run(Command::new("python3")
            .args(["-m", "pymavlink.tools.mavgen", "--lang=Python3", "--wire-protocol=2.0"])
            .arg(format!("--output={}", module.display()))
            .arg(&xml));
        assert!(
            out.status.success() && module.is_file(),
            "pymavlink's mavgen failed on {DIALECT_XML}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir, xml, module }
    }

    /// `python3 pymavlink_peer.py <subcommand> XML [MODULE] ...`.
    fn peer(&self, subcommand: &str) -> Command {
        let mut cmd = Command::new("python3");
        cmd.arg(PEER).arg(subcommand).arg(&self.xml);
        if subcommand != "cases" {
            cmd.arg(&self.module);
        }
        cmd
    }
}

/// Runs a command to the end, with a message that says which one failed to start.
fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {:?} ({e}): the interop tests need python3 with pymavlink (scripts/setup.sh)",
            cmd.get_program()
        )
    })
}

/// Parses the one JSON object a peer run printed, or fails with its output.
fn json_output(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "peer failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("peer printed no JSON ({e}): {stdout}"))
}

/// Kills the peer if the test fails while it is still running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// mavlink-bindgen renames the XML field `type` (a Rust keyword).
fn rust_field_name(xml_name: &str) -> &str {
    if xml_name == "type" { "mavtype" } else { xml_name }
}

/// Message ids of the `<message>` elements of `utkik.xml` itself, read from
/// the text (a third reading, independent of both generators).
fn ids_in_xml_text() -> BTreeSet<u32> {
    let text = std::fs::read_to_string(DIALECT_XML).unwrap();
    text.split("<message ")
        .skip(1)
        .map(|tag| {
            let rest = &tag[tag.find("id=\"").expect("message without id") + 4..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

/// Builds the Rust message for plain field values (numbers, strings, lists,
/// enums as their numeric values) of message `name`, after checking that the
/// Rust struct has exactly the fields the XML lists.
///
/// The default message's serde form says how each field is represented:
/// `{"type": ENTRY}` for an enum, a string for a char array or a bitflags set
/// (written as hex, which bitflags parses), numbers and arrays as they are.
fn rust_message(schema: &Value, name: &str, fields: &Value) -> MavMessage {
    let xml = &schema["messages"][name];
    let id = xml["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} not in the XML schema")) as u32;
    let default = MavMessage::default_message_from_id(id)
        .unwrap_or_else(|| panic!("our Rust dialect has no message id {id} ({name})"));
    assert_eq!(default.message_name(), name, "id {id}");
    let shape = serde_json::to_value(&default).unwrap();
    let shape = shape.as_object().unwrap();
    let xml_fields = xml["fields"].as_array().unwrap();
    let rust_names: BTreeSet<&str> = shape.keys().map(String::as_str).filter(|k| *k != "type").collect();
    let xml_names: BTreeSet<&str> = xml_fields
        .iter()
        .map(|f| rust_field_name(f["name"].as_str().unwrap()))
        .collect();
    assert_eq!(rust_names, xml_names, "{name}: fields of the Rust struct vs the XML");

    let mut obj = Map::new();
    obj.insert("type".into(), json!(name));
    for f in xml_fields {
        let xml_name = f["name"].as_str().unwrap();
        let value = fields
            .get(xml_name)
            .unwrap_or_else(|| panic!("{name}.{xml_name}: no value in {fields}"));
        let rust_name = rust_field_name(xml_name);
        let converted = match &shape[rust_name] {
            Value::Object(o) if o.contains_key("type") => {
                let enum_name = f["enum"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}.{xml_name}: enum without enum="));
                let entries = schema["enums"][enum_name]["entries"].as_object().unwrap();
                let entry = entries
                    .iter()
                    .find(|(_, v)| *v == value)
                    .unwrap_or_else(|| panic!("{name}.{xml_name}: {value} is no entry of {enum_name}"));
                json!({ "type": entry.0 })
            }
            Value::String(_) if f["type"] == "char" => value.clone(),
            Value::String(_) => json!(format!("{:#x}", value.as_u64().unwrap())),
            Value::Number(_) | Value::Array(_) => value.clone(),
            other => panic!("{name}.{rust_name}: unexpected serde form {other}"),
        };
        obj.insert(rust_name.into(), converted);
    }
    serde_json::from_value(Value::Object(obj.clone()))
        .unwrap_or_else(|e| panic!("{name}: {e} building it from {}", Value::Object(obj)))
}

/// Rust message equality, plus the serde form so that -0.0 and 0.0 differ.
fn assert_same_message(got: &MavMessage, want: &MavMessage, what: &str) {
    assert_eq!(
        serde_json::to_value(got).unwrap(),
        serde_json::to_value(want).unwrap(),
        "{what}"
    );
    assert_eq!(got, want, "{what}");
}

fn header_of(case: &Value) -> MavHeader {
    MavHeader {
        system_id: case["sysid"].as_u64().unwrap() as u32,
        component_id: case["compid"].as_u64().unwrap() as u8,
        sequence: case["seq"].as_u64().unwrap() as u8,
    }
}

fn what(k: usize, case: &Value) -> String {
    format!("case {k}: {} ({})", case["name"], case["variant"])
}

/// The custom messages the peer enumerated from the XML, checked against the
/// raw XML text and our Rust dialect's ids in the block.
fn check_custom_ids(cases: &[Value]) -> BTreeSet<u32> {
    let from_cases: BTreeSet<u32> = cases.iter().map(|c| c["id"].as_u64().unwrap() as u32).collect();
    let xml = ids_in_xml_text();
    let rust: BTreeSet<u32> = MavMessage::all_ids()
        .iter()
        .copied()
        .filter(|id| is_utkik_message_id(*id))
        .collect();
    assert!(!xml.is_empty(), "no <message> in {DIALECT_XML}");
    assert_eq!(from_cases, xml, "custom messages exercised vs ids in utkik.xml");
    assert_eq!(rust, xml, "Rust dialect ids in 59900-59999 vs ids in utkik.xml");
    xml
}

/// The frame with its checksum recomputed over a different CRC_EXTRA, as a
/// peer with an incompatible definition of the message would send it.
fn with_wrong_crc_extra(frame: &RawFrame) -> Vec<u8> {
    let mut bytes = frame.as_bytes().to_vec();
    let n = bytes.len();
    let extra = crc_extra(frame.msg_id()).unwrap() ^ 0x5A;
    let crc = x25_crc(x25_crc(0xFFFF, &bytes[1..n - 2]), &[extra]);
    bytes[n - 2..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

#[test]
fn every_custom_message_crosses_udp_both_ways_with_pymavlink() {
    let py = Pymavlink::generate();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let rust_port = sock.local_addr().unwrap().port();
    let mut child = KillOnDrop(
        py.peer("exchange")
            .arg(rust_port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3 ({e}): the interop tests need python3 with pymavlink")),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let first = match lines.next() {
        Some(Ok(line)) => line,
        _ => {
            let mut err = String::new();
            child.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("the pymavlink peer printed nothing: {err}");
        }
    };
    let hello: Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first}"));
    let schema = &hello["schema"];
    let to_rust = hello["to_rust"].as_array().unwrap();
    let to_rust_frames = hello["to_rust_frames"].as_array().unwrap();
    let from_rust = hello["from_rust"].as_array().unwrap();
    let peer_addr = format!("127.0.0.1:{}", hello["port"]);

    // The same custom messages in the XML, in pymavlink's module, in Rust.
    let ids = check_custom_ids(to_rust);
    let module_ids: BTreeSet<u32> = serde_json::from_value(hello["module_ids"].clone()).unwrap();
    assert_eq!(module_ids, ids, "pymavlink's generated module vs utkik.xml");
    // CRC_EXTRA: pymavlink's vs the generated Rust's vs our frame checker's.
    for (name, c) in hello["crc"].as_object().unwrap() {
        let id = c["id"].as_u64().unwrap() as u32;
        let py_extra = c["crc_extra"].as_u64().unwrap() as u8;
        assert_eq!(MavMessage::extra_crc(id), py_extra, "CRC_EXTRA of {name}");
        assert_eq!(crc_extra(id), Some(py_extra), "mavframe CRC_EXTRA of {name}");
    }

    // pymavlink -> Rust.
    let mut decoder = FrameDecoder::new();
    let mut buf = [0u8; 2048];
    for (k, case) in to_rust.iter().enumerate() {
        let what = what(k, case);
        let n = sock
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("{what}: nothing from pymavlink ({e})"));
        let data = &buf[..n];
        assert_eq!(
            hex::encode(data),
            to_rust_frames[k],
            "{what}: datagram differs from what the peer sent"
        );
        decoder.push(data);
        let frame = RawFrame::parse(data).unwrap_or_else(|e| panic!("{what}: our frame check rejects it: {e}"));
        assert_eq!(frame.version(), MavVersion::V2, "{what}");
        let (header, msg) = mavlink_core::MavlinkReader::new(data)
            .read_message::<MavMessage>(MavlinkVersion::V2)
            .unwrap_or_else(|e| panic!("{what}: mavlink cannot read it: {e:?}"));
        let want = rust_message(schema, case["name"].as_str().unwrap(), &case["fields"]);
        assert_same_message(&msg, &want, &what);
        assert_same_message(&frame.decode::<MavMessage>().unwrap(), &want, &what);
        assert_eq!(header, header_of(case), "{what}: header");
        // Our encoder gives the very bytes pymavlink sent (truncation, CRC).
        assert_eq!(
            hex::encode(RawFrame::encode(MavVersion::V2, header, &msg).as_bytes()),
            hex::encode(data),
            "{what}: our encoding of the same message"
        );
    }
    let n = sock.recv(&mut buf).expect("the frame with the wrong CRC_EXTRA");
    let bad = &buf[..n];
    assert_eq!(hex::encode(bad), hello["bad_to_rust"]);
    assert!(
        matches!(RawFrame::parse(bad), Err(FrameError::BadCrc { .. })),
        "{:?}",
        RawFrame::parse(bad)
    );
    assert!(
        mavlink_core::MavlinkReader::new(bad)
            .read_message::<MavMessage>(MavlinkVersion::V2)
            .is_err(),
        "mavlink accepted a frame with a wrong CRC_EXTRA"
    );
    decoder.push(bad);
    let got: Vec<RawFrame> = std::iter::from_fn(|| decoder.next_frame()).collect();
    assert_eq!(got.len(), to_rust.len());
    let stats = decoder.stats();
    assert_eq!((stats.frames, stats.bad_crc), (to_rust.len() as u64, 1), "{stats:?}");

    // Rust -> pymavlink, then one frame it must reject.
    let mut sent = Vec::new();
    for case in from_rust {
        let msg = rust_message(schema, case["name"].as_str().unwrap(), &case["fields"]);
        let frame = RawFrame::encode(MavVersion::V2, header_of(case), &msg);
        sock.send_to(frame.as_bytes(), &peer_addr).unwrap();
        sent.push(frame);
    }
    sock.send_to(&with_wrong_crc_extra(&sent[0]), &peer_addr).unwrap();

    let last = lines.next().expect("the peer's verdict").unwrap();
    let verdict: Value = serde_json::from_str(&last).unwrap_or_else(|e| panic!("{e}: {last}"));
    let status = child.0.wait().unwrap();
    assert!(status.success(), "peer exit {status}: {verdict}");
    let received = verdict["received"]
        .as_array()
        .unwrap_or_else(|| panic!("peer: {verdict}"));
    assert_eq!(received.len(), from_rust.len() + 1, "{verdict}");
    for (k, (case, got)) in from_rust.iter().zip(received).enumerate() {
        let what = what(k, case);
        assert_eq!(got["types"], json!([case["name"]]), "{what}: pymavlink decoded {got}");
        assert_eq!(got["problems"], json!([]), "{what}: pymavlink's comparison");
    }
    let rejected = &received[from_rust.len()];
    assert_eq!(
        rejected["types"],
        json!(["BAD_DATA"]),
        "pymavlink accepted a wrong CRC_EXTRA: {rejected}"
    );
    assert!(rejected["reason"].as_str().unwrap_or("").contains("CRC"), "{rejected}");
}

/// Telemetry a ground station records: common messages, one of them as a
/// MAVLink 1 frame, with values of both signs and full arrays and strings.
fn common_messages() -> Vec<(MavVersion, MavMessage)> {
    let mut data = [0u8; 253];
    for (i, b) in data.iter_mut().enumerate() {
        *b = (i * 37 % 256) as u8;
    }
    vec![
        (
            MavVersion::V2,
            MavMessage::HEARTBEAT(HEARTBEAT_DATA {
                custom_mode: 0xDEAD_BEEF,
                mavtype: MavType::MAV_TYPE_QUADROTOR,
                autopilot: MavAutopilot::MAV_AUTOPILOT_PX4,
                base_mode: MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED | MavModeFlag::MAV_MODE_FLAG_GUIDED_ENABLED,
                system_status: MavState::MAV_STATE_ACTIVE,
                mavlink_version: 3,
            }),
        ),
        (
            MavVersion::V2,
            MavMessage::SYSTEM_TIME(SYSTEM_TIME_DATA {
                time_unix_usec: 1_763_800_000_123_457,
                time_boot_ms: 4_000_000_001,
            }),
        ),
        (
            MavVersion::V2,
            MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
                time_boot_ms: 123_456,
                lat: -339_284_750,
                lon: -1_512_073_330,
                alt: -12_345,
                relative_alt: 98_765,
                vx: -1_234,
                vy: 32_767,
                vz: -32_768,
                hdg: 35_999,
            }),
        ),
        (
            MavVersion::V1,
            MavMessage::ATTITUDE(ATTITUDE_DATA {
                time_boot_ms: 123_457,
                roll: -0.123_456_79,
                pitch: 1.5e-7,
                yaw: -std::f32::consts::PI,
                rollspeed: f32::MAX,
                pitchspeed: -f32::MIN_POSITIVE,
                yawspeed: 0.0,
            }),
        ),
        (
            MavVersion::V2,
            MavMessage::STATUSTEXT(STATUSTEXT_DATA {
                severity: MavSeverity::MAV_SEVERITY_WARNING,
                text: "Exactly fifty characters of status text, no NUL..".into(),
                id: 65_535,
                chunk_seq: 7,
            }),
        ),
        (
            MavVersion::V2,
            MavMessage::DATA_TRANSMISSION_HANDSHAKE(DATA_TRANSMISSION_HANDSHAKE_DATA {
                size: 253,
                width: 64,
                height: 48,
                packets: 1,
                mavtype: MavlinkDataStreamType::MAVLINK_DATA_STREAM_IMG_JPEG,
                payload: 253,
                jpg_quality: 85,
            }),
        ),
        (
            MavVersion::V2,
            MavMessage::ENCAPSULATED_DATA(ENCAPSULATED_DATA_DATA { seqnr: 0, data }),
        ),
    ]
}

#[test]
fn pymavlink_reads_our_tlog_with_the_same_messages_fields_and_timestamps() {
    let py = Pymavlink::generate();
    let cases = json_output(&run(&mut py.peer("cases")));
    let schema = &cases["schema"];
    let custom = cases["cases"].as_array().unwrap();
    check_custom_ids(custom);

    // Common and custom messages interleaved, at known odd microseconds.
    let mut common = common_messages()
        .into_iter()
        .enumerate()
        .map(|(i, (version, msg))| (version, header(i), msg));
    let mut ours = custom.iter().map(|case| {
        let msg = rust_message(schema, case["name"].as_str().unwrap(), &case["fields"]);
        (MavVersion::V2, header_of(case), msg)
    });
    let mut written: Vec<(u64, MavVersion, MavHeader, MavMessage)> = Vec::new();
    let mut t = 1_763_800_000_000_001u64;
    loop {
        let next = if written.len().is_multiple_of(3) {
            common.next().or_else(|| ours.next())
        } else {
            ours.next().or_else(|| common.next())
        };
        let Some((version, header, msg)) = next else { break };
        written.push((t, version, header, msg));
        // Irregular steps, sub-millisecond parts included.
        t += 12_345 + (written.len() as u64 * 7_919) % 100_003;
    }
    assert_eq!(written.len(), common_messages().len() + custom.len());

    let path = py.dir.path().join("flight.tlog");
    let mut w = TlogWriter::new(BufWriter::new(File::create(&path).unwrap()));
    for (t, version, header, msg) in &written {
        w.write_message(*t, *version, *header, msg).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    // Our own reader sees a clean log (the file is what we think it is).
    let records: Vec<_> = TlogReader::new(File::open(&path).unwrap())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(records.len(), written.len());

    let out = json_output(&run(py.peer("read-tlog").arg(&path)));
    let messages = out["messages"].as_array().unwrap_or_else(|| panic!("peer: {out}"));
    let types: Vec<&str> = messages.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(messages.len(), written.len(), "pymavlink read {types:?}");
    for (k, ((t, version, header, msg), got)) in written.iter().zip(messages).enumerate() {
        let name = msg.message_name();
        let what = format!("record {k}: {name}");
        assert_eq!(got["type"], name, "{what}: pymavlink read {got}");
        assert_eq!(got["id"], msg.message_id(), "{what}");
        assert_eq!(got["v2"], *version == MavVersion::V2, "{what}");
        assert_eq!(
            got["header"],
            json!([header.system_id, header.component_id, header.sequence]),
            "{what}"
        );
        // pymavlink keeps seconds as a float: exact to well under 1 us today.
        let ts = got["timestamp"].as_f64().unwrap();
        assert_eq!((ts * 1e6).round() as u64, *t, "{what}: msg._timestamp {ts}");
        let back = rust_message(&out["schema"], name, &got["fields"]);
        assert_same_message(&back, msg, &what);
    }
}

/// Header of the `i`-th common record: the autopilot, sequence counting up.
fn header(i: usize) -> MavHeader {
    MavHeader {
        system_id: 1,
        component_id: 1,
        sequence: (i * 13 % 256) as u8,
    }
}
