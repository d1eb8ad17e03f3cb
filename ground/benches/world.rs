//! Benchmark (prints figures): world update for 1,000 live tracks per frame headless (plain world
//! and the Bevy app under MinimalPlugins), and ingest throughput (decode + apply) in MAVLink
//! messages per second against the 20,000 msg/s target.

use std::time::Instant;

use bevy::prelude::*;
use mavlink_core::MavHeader;
use utkik_ground::link::{self, FrameDecoder, LinkEvent, encode_v2};
use utkik_ground::plugins::link::MessageSource;
use utkik_ground::plugins::{GroundCorePlugins, WorldRes};
use utkik_ground::state::{Origin, World};
use utkik_ground::synth;
use utkik_shared::dialect::*;

fn track_msg(id: u32, frame: u32) -> MavMessage {
    let a = id as f64 * 0.01 + frame as f64 * 0.001;
    MavMessage::UTKIK_TRACK(UTKIK_TRACK_DATA {
        time_usec: frame as u64 * 100_000,
        track_id: id,
        object_class: if id % 2 == 0 {
            UtkikObjectClass::UTKIK_OBJECT_CLASS_VEHICLE
        } else {
            UtkikObjectClass::UTKIK_OBJECT_CLASS_PERSON
        },
        flags: UtkikTrackFlags::UTKIK_TRACK_FLAGS_GEO_VALID,
        lat: (599_000_000.0 + 10_000.0 * a.sin()) as i32,
        lon: (107_000_000.0 + 10_000.0 * a.cos()) as i32,
        confidence: 80,
        ..Default::default()
    })
}

fn main() {
    const TRACKS: u32 = 1_000;
    const FRAMES: u32 = 300;
    // 1. Plain world: 1,000 track updates + tick per frame.
    let mut w = World::new();
    let mut seq = 0u8;
    let mut per_frame = Vec::new();
    for f in 0..FRAMES {
        let msgs: Vec<MavMessage> = (0..TRACKS).map(|i| track_msg(i, f)).collect();
        let t = Instant::now();
        for m in &msgs {
            seq = seq.wrapping_add(1);
            w.apply(
                Origin {
                    system_id: 1,
                    component_id: 191,
                    sequence: seq,
                },
                m,
                f as f64 * 0.1,
            );
        }
        w.tick(f as f64 * 0.1, 60.0);
        per_frame.push(t.elapsed().as_secs_f64() * 1e3);
    }
    per_frame.sort_by(f64::total_cmp);
    println!(
        "world update, {TRACKS} tracks/frame: median {:.3} ms, p95 {:.3} ms, max {:.3} ms (target < 2 ms)",
        per_frame[per_frame.len() / 2],
        per_frame[per_frame.len() * 95 / 100],
        per_frame[per_frame.len() - 1]
    );

    // 2. Bevy app (MinimalPlugins + core plugins): 1,000 track updates through the channel per update().
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(MessageSource::Channel(rx))
        .add_plugins(GroundCorePlugins);
    let mut per_update = Vec::new();
    for f in 0..FRAMES {
        for i in 0..TRACKS {
            seq = seq.wrapping_add(1);
            tx.send(LinkEvent::Message {
                origin: Origin {
                    system_id: 1,
                    component_id: 191,
                    sequence: seq,
                },
                message: track_msg(i, f),
                time_s: f as f64 * 0.1,
                signed: true,
            })
            .unwrap();
        }
        let t = Instant::now();
        app.update();
        per_update.push(t.elapsed().as_secs_f64() * 1e3);
    }
    per_update.sort_by(f64::total_cmp);
    assert_eq!(app.world().resource::<WorldRes>().0.tracks.len(), TRACKS as usize);
    println!(
        "bevy app update (MinimalPlugins), {TRACKS} tracks/frame: median {:.3} ms, p95 {:.3} ms",
        per_update[per_update.len() / 2],
        per_update[per_update.len() * 95 / 100]
    );

    // 3. Ingest: bytes -> decoder -> world, mixed mission traffic.
    let mission = synth::mission(120, 40);
    let bytes: Vec<u8> = mission.frames.iter().flat_map(|(_, f)| f.iter().copied()).collect();
    let n = mission.frames.len();
    let t = Instant::now();
    let mut dec = FrameDecoder::new();
    let mut w = World::new();
    for chunk in bytes.chunks(1400) {
        for d in dec.push_messages(chunk) {
            let o = Origin {
                system_id: d.frame.sysid(),
                component_id: d.frame.compid(),
                sequence: d.frame.seq(),
            };
            w.apply(o, &d.message, 0.0);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(dec.stats().messages as usize, n);
    println!(
        "ingest decode+apply: {n} msgs ({} bytes) in {:.1} ms = {:.0} msgs/s (target 20,000/s: {:.0}x headroom)",
        bytes.len(),
        secs * 1e3,
        n as f64 / secs,
        n as f64 / secs / 20_000.0
    );
    // 4. Through the real UDP link thread at full speed.
    let handle = link::start(link::LinkConfig {
        source: link::LinkSource::UdpListen("127.0.0.1:0".parse().unwrap()),
        record_dir: Some(std::env::temp_dir().join(format!("utkik-ground-bench-{}", std::process::id()))),
        rotate_bytes: 64 << 20,
        signing: None,
        state_file: None,
    })
    .unwrap();
    let addr = handle.local_addr.unwrap();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let frames: Vec<Vec<u8>> = (0..20_000u32)
        .map(|i| {
            encode_v2(
                MavHeader {
                    system_id: 1,
                    component_id: 191,
                    sequence: i as u8,
                },
                &track_msg(i % 1000, i),
            )
        })
        .collect();
    let t = Instant::now();
    let mut got = 0;
    for batch in frames.chunks(10) {
        let d: Vec<u8> = batch.iter().flatten().copied().collect();
        sock.send_to(&d, addr).unwrap();
        got += handle.events.try_iter().count();
    }
    while got < 20_000 && t.elapsed().as_secs() < 10 {
        got += handle.events.try_iter().count();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "UDP link thread (decode + tlog + channel): {got}/20000 msgs in {:.1} ms = {:.0} msgs/s",
        secs * 1e3,
        got as f64 / secs
    );
}
