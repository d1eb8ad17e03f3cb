//! The impairment proxy on real sockets and real pseudo-terminals: what arrives is exactly what
//! the seeded model says (losses, duplicates, reorders, both directions), timed cuts silence the
//! link, the binary prints its counters on SIGTERM, and the serial mode paces bytes at the baud
//! rate.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use utkik_sim::impair::pty::PtyProxy;
use utkik_sim::impair::udp::UdpProxy;
use utkik_sim::impair::{DirectionConfig, ImpairConfig, Impairment, Verdict};

fn direction(spec: &str) -> DirectionConfig {
    let mut d = DirectionConfig::clean();
    d.apply_spec(spec).unwrap();
    d
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// What the model predicts for the first `n` datagrams of a direction: (index, verdict).
fn predict(config: &DirectionConfig, seed: u64, stream: u64, n: usize) -> Vec<Verdict> {
    let mut m = Impairment::new(config.clone(), vec![], seed, stream);
    (0..n).map(|_| m.decide(Duration::ZERO, 8)).collect()
}

#[test]
fn udp_proxy_delivers_exactly_what_the_seed_predicts_both_ways() {
    let forward_cfg = direction("loss=0.3,dup=0.05,reorder=0.05,reorder-delay=200ms");
    let back_cfg = direction("loss=0.2,dup=0.1");
    let config = ImpairConfig {
        seed: 7,
        forward: forward_cfg.clone(),
        back: back_cfg.clone(),
        cuts: vec![],
    };
    let ground = UdpSocket::bind(loopback()).unwrap();
    ground.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let proxy = UdpProxy::bind(loopback(), ground.local_addr().unwrap(), config).unwrap();
    let listen = proxy.listen_addr().unwrap();
    let shutdown = AtomicBool::new(false);
    let n = 400usize;

    let (report, forward_arrivals, replies_sent, drone_got) = std::thread::scope(|s| {
        let proxy_thread = s.spawn(|| proxy.run(&shutdown, None).unwrap());
        // The ground answers every datagram it gets with a reply numbered in sending order.
        let ground_thread = s.spawn(|| {
            let mut arrivals = vec![];
            let mut replies = 0u32;
            let mut buf = [0u8; 64];
            let quiet_until = |t: Instant| t.elapsed() > Duration::from_millis(1500);
            let mut last = Instant::now();
            while !quiet_until(last) {
                if let Ok((len, from)) = ground.recv_from(&mut buf) {
                    last = Instant::now();
                    arrivals.push(u32::from_le_bytes(buf[..4].try_into().unwrap()));
                    assert_eq!(len, 8);
                    let mut reply = [0u8; 8];
                    reply[..4].copy_from_slice(&replies.to_le_bytes());
                    ground.send_to(&reply, from).unwrap();
                    replies += 1;
                }
            }
            (arrivals, replies)
        });
        let drone = UdpSocket::bind(loopback()).unwrap();
        drone.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut drone_got = vec![];
        let mut buf = [0u8; 64];
        for i in 0..n as u32 {
            let mut datagram = [0u8; 8];
            datagram[..4].copy_from_slice(&i.to_le_bytes());
            drone.send_to(&datagram, listen).unwrap();
            std::thread::sleep(Duration::from_millis(1));
            drone.set_nonblocking(true).unwrap();
            while let Ok((_, from)) = drone.recv_from(&mut buf) {
                assert_eq!(from, listen, "replies come from the proxy's listening address");
                drone_got.push(u32::from_le_bytes(buf[..4].try_into().unwrap()));
            }
            drone.set_nonblocking(false).unwrap();
        }
        let (arrivals, replies) = ground_thread.join().unwrap();
        while let Ok((_, _)) = drone.recv_from(&mut buf) {
            drone_got.push(u32::from_le_bytes(buf[..4].try_into().unwrap()));
        }
        shutdown.store(true, Ordering::Relaxed);
        (proxy_thread.join().unwrap(), arrivals, replies, drone_got)
    });

    // Forward: the set delivered, the duplicates and the reordered ones are the model's.
    let predicted = predict(&forward_cfg, 7, 0, n);
    let mut counts: HashMap<u32, usize> = HashMap::new();
    for a in &forward_arrivals {
        *counts.entry(*a).or_default() += 1;
    }
    for (i, v) in predicted.iter().enumerate() {
        let got = counts.get(&(i as u32)).copied().unwrap_or(0);
        match v {
            Verdict::Drop(_) => assert_eq!(got, 0, "datagram {i} should have been lost"),
            Verdict::Deliver { duplicate_at, .. } => {
                assert_eq!(got, 1 + usize::from(duplicate_at.is_some()), "datagram {i}: copies")
            }
        }
    }
    // A reordered datagram is overtaken by a later one; the others keep their order.
    let position: HashMap<u32, usize> = forward_arrivals
        .iter()
        .enumerate()
        .rev()
        .map(|(p, a)| (*a, p))
        .collect();
    let mut in_order = vec![];
    for (i, v) in predicted.iter().enumerate() {
        if let Verdict::Deliver { reordered, .. } = v {
            let i = i as u32;
            if *reordered {
                if (i as usize) < n - 50 {
                    assert!(
                        forward_arrivals[..position[&i]].iter().any(|a| *a > i),
                        "datagram {i} was held back but nothing overtook it"
                    );
                }
            } else {
                in_order.push(position[&i]);
            }
        }
    }
    assert!(
        in_order.windows(2).all(|w| w[0] < w[1]),
        "datagrams not held back stay in order"
    );
    let lost = predicted.iter().filter(|v| matches!(v, Verdict::Drop(_))).count();
    assert!((90..150).contains(&lost), "30 % of 400 lost, got {lost}");
    assert_eq!(report.forward.model.received, n as u64);
    assert_eq!(report.forward.model.lost(), lost as u64);
    assert_eq!(report.forward.sent, forward_arrivals.len() as u64);

    // Back: the i-th reply's fate is the i-th decision of the back stream.
    let predicted_back = predict(&back_cfg, 7, 1, replies_sent as usize);
    let mut expected_back = vec![];
    for (i, v) in predicted_back.iter().enumerate() {
        if let Verdict::Deliver { duplicate_at, .. } = v {
            expected_back.push(i as u32);
            if duplicate_at.is_some() {
                expected_back.push(i as u32);
            }
        }
    }
    let mut got_back = drone_got.clone();
    got_back.sort_unstable();
    assert_eq!(got_back, expected_back, "replies delivered to the drone");
    assert_eq!(report.back.model.received, u64::from(replies_sent));
    assert_eq!(report.back_without_drone, 0);
    assert_eq!(report.drone_addr_changes, 0);
}

#[test]
fn udp_cut_silences_the_link_for_its_length() {
    let config = ImpairConfig {
        seed: 1,
        forward: DirectionConfig::clean(),
        back: DirectionConfig::clean(),
        cuts: vec!["500ms+500ms".parse().unwrap()],
    };
    let ground = UdpSocket::bind(loopback()).unwrap();
    ground.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let t0 = Instant::now();
    let proxy = UdpProxy::bind(loopback(), ground.local_addr().unwrap(), config).unwrap();
    let listen = proxy.listen_addr().unwrap();
    let shutdown = AtomicBool::new(false);
    let (sent_at, got) = std::thread::scope(|s| {
        let proxy_thread = s.spawn(|| proxy.run(&shutdown, None).unwrap());
        let receiver = s.spawn(|| {
            let mut got = HashSet::new();
            let mut buf = [0u8; 16];
            // Through the silent cut and until everything sent has had time to arrive.
            while t0.elapsed() < Duration::from_millis(1800) {
                if let Ok((_, _)) = ground.recv_from(&mut buf) {
                    got.insert(u32::from_le_bytes(buf[..4].try_into().unwrap()));
                }
            }
            got
        });
        let drone = UdpSocket::bind(loopback()).unwrap();
        let mut sent_at = vec![];
        let mut i = 0u32;
        while t0.elapsed() < Duration::from_millis(1500) {
            sent_at.push(t0.elapsed());
            drone.send_to(&i.to_le_bytes(), listen).unwrap();
            i += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
        let got = receiver.join().unwrap();
        shutdown.store(true, Ordering::Relaxed);
        let report = proxy_thread.join().unwrap();
        assert!(report.forward.model.lost_cut > 0);
        (sent_at, got)
    });
    // Margins for scheduling on both ends of the cut: the proxy's clock starts when it is bound
    // (after `t0`, so its cut begins a little later than 500 ms of `t0`), and it stamps arrival a
    // little after the send. A datagram sent exactly at 500 ms of `t0` got through once in CI.
    for (i, t) in sent_at.iter().enumerate() {
        let ms = t.as_millis();
        let arrived = got.contains(&(i as u32));
        if ms < 350 || ms > 1150 {
            assert!(arrived, "datagram {i} sent at {ms} ms, outside the cut, was lost");
        } else if (550..850).contains(&ms) {
            assert!(
                !arrived,
                "datagram {i} sent at {ms} ms, inside the cut 500-1000 ms, got through"
            );
        }
    }
}

#[test]
fn binary_prints_counters_on_sigterm() {
    let ground = UdpSocket::bind(loopback()).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_utkik-sim"))
        .args(["impair", "--listen", "127.0.0.1:0", "--forward"])
        .arg(ground.local_addr().unwrap().to_string())
        .args(["--seed", "3", "--fwd", "loss=0.5"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    // "impair: drone side sends to 127.0.0.1:PORT, forwarding to ..."
    let listen: SocketAddr = first
        .split("sends to ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or_else(|| panic!("first line: {first}"))
        .parse()
        .unwrap();
    let drone = UdpSocket::bind(loopback()).unwrap();
    for i in 0..200u32 {
        drone.send_to(&i.to_le_bytes(), listen).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "impair exits cleanly on SIGTERM");
    let predicted_lost = predict(&direction("loss=0.5"), 3, 0, 200)
        .iter()
        .filter(|v| matches!(v, Verdict::Drop(_)))
        .count();
    let expect = format!("drone->ground: 200 in (800 B), {} out", 200 - predicted_lost);
    assert!(
        rest.contains(&expect),
        "counters after SIGTERM:\n{rest}\nexpected: {expect}"
    );
    assert!(rest.contains("ground->drone: 0 in"), "{rest}");
}

fn open_serial(path: &str) -> serialport::TTYPort {
    serialport::new(path, 57_600)
        .timeout(Duration::from_millis(200))
        .open_native()
        .unwrap_or_else(|e| panic!("opening {path}: {e}"))
}

#[test]
fn serial_pty_paces_bytes_at_the_baud_rate_and_loses_whole_chunks() {
    let run = |spec: &str, bytes: &[u8]| -> (Vec<u8>, Duration) {
        let config = ImpairConfig {
            seed: 5,
            forward: direction(spec),
            back: DirectionConfig::clean(),
            cuts: vec![],
        };
        let dir = tempfile::tempdir().unwrap();
        let drone_link = dir.path().join("drone");
        let proxy = PtyProxy::open(config, Some(&drone_link), None, 57_600, 64).unwrap();
        assert!(drone_link.exists(), "the symlink points to the drone end");
        let mut drone = open_serial(drone_link.to_str().unwrap());
        let mut ground = open_serial(&proxy.ground_path());
        let shutdown = AtomicBool::new(false);
        std::thread::scope(|s| {
            let proxy_thread = s.spawn(|| proxy.run(&shutdown, None).unwrap());
            let started = Instant::now();
            for chunk in bytes.chunks(32) {
                drone.write_all(chunk).unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
            let mut got = vec![];
            let mut buf = [0u8; 512];
            let mut last = Instant::now();
            let mut finished = started.elapsed();
            while last.elapsed() < Duration::from_millis(600) && got.len() < bytes.len() {
                if let Ok(n) = ground.read(&mut buf)
                    && n > 0
                {
                    got.extend_from_slice(&buf[..n]);
                    last = Instant::now();
                    finished = started.elapsed();
                }
            }
            shutdown.store(true, Ordering::Relaxed);
            let report = proxy_thread.join().unwrap();
            assert_eq!(report.forward.model.received_bytes, bytes.len() as u64);
            (got, finished)
        })
    };
    let bytes: Vec<u8> = (0..2880u32).map(|i| (i * 7 % 251) as u8).collect();
    let (got, took) = run("", &bytes);
    assert_eq!(got, bytes, "a clean serial link delivers every byte in order");
    // 2880 bytes at 5760 B/s take 0.5 s; faster would mean no pacing.
    assert!(took >= Duration::from_millis(480), "2880 bytes took only {took:?}");

    let (got, _) = run("loss=0.5", &bytes);
    assert!(
        got.len() < bytes.len() * 3 / 4 && !got.is_empty(),
        "{} of {} bytes",
        got.len(),
        bytes.len()
    );
    // What arrives is the sent stream with pieces cut out, never altered.
    let mut it = bytes.iter();
    assert!(
        got.iter().all(|b| it.any(|x| x == b)),
        "received bytes are a subsequence of the sent ones"
    );
}
