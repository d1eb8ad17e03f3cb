//! Replay speed benchmark (prints figures): one hour of recorded traffic (~1 million MAVLink 2
//! messages: the synthetic mission's 10 Hz telemetry, 1 Hz status, 40 tracked objects at 5 Hz,
//! plus ATTITUDE at 40 Hz) written to a temp tlog; index it (target < 2 s), seek to random
//! times (target < 50 ms), and parse the same file with pymavlink in the same run.

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use mavlink_core::MavHeader;
use utkik_ground::link::encode_v2;
use utkik_ground::replay::Replay;
use utkik_ground::synth;
use utkik_shared::dialect::*;
use utkik_shared::tlog::TlogIndex;

const T0_USEC: u64 = 1_790_000_000_000_000;
const HOUR_S: u32 = 3600;

const PYMAVLINK: &str = r#"
import sys, time, os
os.environ.setdefault("MAVLINK20", "1")
from pymavlink import mavutil
t = time.perf_counter()
m = mavutil.mavlink_connection(sys.argv[1], dialect="common")
n = bad = 0
while True:
    msg = m.recv_msg()
    if msg is None:
        break
    if msg.get_type() == "BAD_DATA":
        bad += 1
    else:
        n += 1
print(n, bad, time.perf_counter() - t)
"#;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hour.tlog");
    let t = Instant::now();
    let mut frames = synth::mission(HOUR_S, 40).frames;
    let mut seq = 0u8;
    for i in 0..HOUR_S as u64 * 40 {
        let t_us = i * 25_000 + 12_500;
        seq = seq.wrapping_add(1);
        let hdr = MavHeader {
            system_id: 1,
            component_id: 1,
            sequence: seq,
        };
        let att = MavMessage::ATTITUDE(ATTITUDE_DATA {
            time_boot_ms: (t_us / 1000) as u32,
            roll: (i as f32 * 0.01).sin() * 0.05,
            pitch: (i as f32 * 0.013).cos() * 0.05,
            yaw: (i as f32 * 0.0005) % 6.28,
            ..Default::default()
        });
        frames.push((t_us, encode_v2(hdr, &att)));
    }
    frames.sort_by_key(|f| f.0);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    for (t_us, frame) in &frames {
        file.write_all(&(T0_USEC + t_us).to_be_bytes()).unwrap();
        file.write_all(frame).unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let bytes = std::fs::metadata(&path).unwrap().len();
    println!(
        "generated {} messages, {:.1} MB, {} s of recording in {:.2} s",
        frames.len(),
        bytes as f64 / 1e6,
        HOUR_S,
        t.elapsed().as_secs_f64()
    );
    drop(frames);

    let data = std::fs::read(&path).unwrap();
    let t = Instant::now();
    let index = TlogIndex::build(&data);
    let scan_s = t.elapsed().as_secs_f64();
    println!(
        "TlogIndex::build (time->offset, counts, gaps): {:.3} s for {} records",
        scan_s, index.records
    );
    drop(data);

    let t = Instant::now();
    let replay = Replay::open(&path, |_, _| {}).expect("open");
    let index_s = t.elapsed().as_secs_f64();
    println!(
        "Replay::open (read + index + decode + world keyframes every 10 s + events): {:.3} s, {} records, {} keyframes, {} events  [target < 2 s: {}]",
        index_s,
        replay.stats.records,
        replay.stats.keyframes,
        replay.events.len(),
        if index_s < 2.0 { "PASS" } else { "FAIL" }
    );

    let (start, end) = replay.range_usec();
    let mut rng = 0x2545F4914F6CDD1Du64;
    let mut times = Vec::new();
    for _ in 0..200 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let at = start + rng % (end - start);
        let t = Instant::now();
        let w = replay.world_at(at);
        times.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(w);
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "seek (world at random t, 200 seeks): mean {:.2} ms, p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms  [target < 50 ms: {}]",
        mean,
        times[100],
        times[190],
        times[199],
        if times[199] < 50.0 { "PASS" } else { "FAIL" }
    );

    let out = Command::new("python3").arg("-c").arg(PYMAVLINK).arg(&path).output();
    match out {
        Ok(o) if o.status.success() => {
            let s = String::from_utf8_lossy(&o.stdout);
            let v: Vec<&str> = s.split_whitespace().collect();
            let py_s: f64 = v.get(2).and_then(|x| x.parse().ok()).unwrap_or(f64::NAN);
            println!(
                "pymavlink 2 (common dialect; utkik messages come back as BAD_DATA): {} messages + {} bad in {:.2} s",
                v.first().unwrap_or(&"?"),
                v.get(1).unwrap_or(&"?"),
                py_s
            );
            println!(
                "ratio pymavlink parse / Replay::open: {:.1}x;  pymavlink / TlogIndex::build: {:.1}x",
                py_s / index_s,
                py_s / scan_s
            );
        }
        Ok(o) => println!("pymavlink run failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => println!("python3 not runnable: {e}"),
    }
}
