//! Telemetry timing benchmark: runs `utkik-sim run` in real time for 10 s of
//! the urban scenario and measures, at a UDP receiver, the period of
//! GLOBAL_POSITION_INT (nominal 50 ms). Prints the jitter (|period - 50 ms|)
//! p50/p99/max; the target is p99 < 5 ms.

use std::net::UdpSocket;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use utkik_shared::mavframe::FrameDecoder;
use utkik_sim::link::MavLink;
use utkik_sim::run::{RunConfig, TELEMETRY_TICK_USEC, run_with};
use utkik_sim::scenario::{Scenario, scenarios_dir};

fn main() {
    let seconds = 10.0;
    let path = scenarios_dir().join("urban-street.toml");
    let scenario = Scenario::load(&path).unwrap();
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let target = rx.local_addr().unwrap();
    let link = MavLink::bind("127.0.0.1:0".parse().unwrap(), Some(target)).unwrap();
    let config = RunConfig {
        scenario: path,
        telemetry_listen: link.local_addr(),
        telemetry_out: vec![target],
        duration_s: Some(seconds),
        realtime: true,
        video_out: None,
        truth: None,
        video: Default::default(),
        system_id: 1,
        source: None,
        nmea_listen: None,
        nmea_rate_hz: utkik_sim::nmea_out::DEFAULT_NMEA_RATE_HZ,
    };
    let sim = std::thread::spawn(move || run_with(scenario, link, &config, &AtomicBool::new(false)).unwrap());
    let mut arrivals = Vec::new();
    let mut buf = [0u8; 2048];
    let mut dec = FrameDecoder::new();
    while let Ok((n, _)) = rx.recv_from(&mut buf) {
        let now = Instant::now();
        for f in dec.push_collect(&buf[..n]) {
            if f.msg_id() == 33 {
                arrivals.push(now);
            }
        }
    }
    let summary = sim.join().unwrap();
    let nominal_ms = TELEMETRY_TICK_USEC as f64 / 1000.0;
    let mut jitter: Vec<f64> = arrivals
        .windows(2)
        .map(|w| ((w[1] - w[0]).as_secs_f64() * 1000.0 - nominal_ms).abs())
        .collect();
    jitter.sort_by(f64::total_cmp);
    let q = |p: f64| jitter[((jitter.len() - 1) as f64 * p).round() as usize];
    println!(
        "telemetry: {} GLOBAL_POSITION_INT in {:.1} s sim ({} messages total), nominal period {nominal_ms} ms",
        arrivals.len(),
        summary.sim_time_usec as f64 * 1e-6,
        summary.messages_sent
    );
    println!(
        "telemetry period jitter: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (target p99 < 5 ms)",
        q(0.5),
        q(0.99),
        jitter.last().copied().unwrap_or(0.0)
    );
}
