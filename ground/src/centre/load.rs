//! `utkik-ground centre-load`: the event bus under the load of many cameras, on one machine
//! (issue 19 item 5). Real parts, started for real: a Zenoh router (`utkik-ground router`) and
//! N centres (`utkik-ground centre --quiet`, client mode, so everything goes through the router)
//! as child processes of this binary, and in this process one Zenoh session per simulated
//! station, each signing and publishing the events of its sources as a station does:
//! one `tracks` event per source and period (its `--tracks-per-source` tracks moving), and plate
//! hits spread over the stations at `--hits-per-s`.
//!
//! After the run each centre prints its summary (accepted by kind, delivery latency from the
//! station's signature to the centre's verification, refusals); this program compares it with
//! what was published and prints losses, p50/p95/p99/max latency, and CPU and peak memory of
//! the router, each centre and the publishing process (from `/proc`). It exits non-zero when a
//! centre lost a plate hit or refused anything: hits are what must never be lost (they are
//! published with `CongestionControl::Block`; so are tracks, whose loss is reported too).
//!
//! Stations start publishing `--warmup-s` after the centres have subscribed, so that the
//! router knows their subscriptions; what is counted starts with the first event.

use std::io::{BufRead, BufReader};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use utkik_shared::events::{
    EventBody, EventPosition, EventSource, LegalBasis, PlateHitEvent, SourceKind, StationKey, TrackClass, TrackEvent,
    TracksEvent, TrustedStations,
};

use super::{BusConfig, BusMode, EventPublisher};
use crate::audit_log::wall_clock_usec;

/// `utkik-ground centre-load` options (defaults: the figures).
#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// Cameras publishing (drones, fixed and vehicle cameras alike).
    #[arg(long, default_value_t = 50)]
    pub sources: u32,
    /// Stations the sources are spread over (one Zenoh session and signing key each).
    #[arg(long, default_value_t = 10)]
    pub stations: u32,
    /// Live tracks per source.
    #[arg(long = "tracks-per-source", default_value_t = 50)]
    pub tracks_per_source: u32,
    /// Track updates per source and second (one signed `tracks` event each).
    #[arg(long = "rate-hz", default_value_t = 5.0)]
    pub rate_hz: f64,
    /// Plate hits per second, all stations together.
    #[arg(long = "hits-per-s", default_value_t = 10.0)]
    pub hits_per_s: f64,
    /// Centres subscribing through the router.
    #[arg(long, default_value_t = 2)]
    pub centres: u32,
    /// Seconds of publishing.
    #[arg(long = "duration-s", default_value_t = 600.0)]
    pub duration_s: f64,
    /// Seconds between the centres' subscription and the first event.
    #[arg(long = "warmup-s", default_value_t = 3.0)]
    pub warmup_s: f64,
    /// Also write the figures as JSON here.
    #[arg(long = "json-out")]
    pub json_out: Option<PathBuf>,
}

impl LoadArgs {
    fn check(&self) -> Result<()> {
        if self.sources == 0 || self.stations == 0 || self.centres == 0 {
            bail!("--sources, --stations and --centres must be at least 1");
        }
        if self.stations > self.sources {
            bail!(
                "--stations {} > --sources {}: every station has at least one source",
                self.stations,
                self.sources
            );
        }
        if self.sources / self.stations > 250 {
            bail!("at most 250 sources per station (system ids 1..=250)");
        }
        if self.tracks_per_source as usize > utkik_shared::events::MAX_TRACKS_PER_EVENT {
            bail!(
                "--tracks-per-source {}: a tracks event carries at most {}",
                self.tracks_per_source,
                utkik_shared::events::MAX_TRACKS_PER_EVENT
            );
        }
        for (name, v, max) in [
            ("--rate-hz", self.rate_hz, 100.0),
            ("--hits-per-s", self.hits_per_s, 10_000.0),
            ("--duration-s", self.duration_s, 86_400.0),
            ("--warmup-s", self.warmup_s, 600.0),
        ] {
            if !(v.is_finite() && (0.0..=max).contains(&v)) {
                bail!("{name} {v}: expected 0..={max}");
            }
        }
        if self.rate_hz == 0.0 && self.hits_per_s == 0.0 {
            bail!("--rate-hz and --hits-per-s are both 0: nothing to publish");
        }
        Ok(())
    }
}

/// What one station published.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Published {
    /// `tracks` events.
    pub tracks_events: u64,
    /// Tracks in them.
    pub track_updates: u64,
    /// Plate hits.
    pub plate_hits: u64,
    /// Puts that failed (never expected: each is an error line too).
    pub put_errors: u64,
    /// Periods that started late by more than a period (the station could not keep up).
    pub late_ticks: u64,
}

impl std::ops::AddAssign for Published {
    fn add_assign(&mut self, o: Self) {
        self.tracks_events += o.tracks_events;
        self.track_updates += o.track_updates;
        self.plate_hits += o.plate_hits;
        self.put_errors += o.put_errors;
        self.late_ticks += o.late_ticks;
    }
}

/// CPU and memory of one process over the measured run, from `/proc`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ProcessUse {
    /// CPU time used during the run / wall time, in % of one core.
    pub cpu_pct_of_one_core: f64,
    /// Peak resident memory (VmHWM), MiB.
    pub peak_rss_mib: f64,
    /// Resident memory at the end (VmRSS), MiB.
    pub rss_mib: f64,
}

/// One centre's result.
#[derive(Debug, Clone, Serialize)]
pub struct CentreResult {
    /// Its summary line as it printed it (`centre: summary {json}`).
    pub summary: serde_json::Value,
    /// Plate hits published but not accepted.
    pub plate_hits_lost: i64,
    /// Tracks events published but not accepted.
    pub tracks_events_lost: i64,
    /// CPU and memory.
    pub process: ProcessUse,
}

/// All figures of a run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// Date and time of the run (UTC, RFC 3339).
    pub started_utc: String,
    /// Sources, stations, tracks, rates, centres, seconds.
    pub sources: u32,
    /// Stations.
    pub stations: u32,
    /// Tracks per source.
    pub tracks_per_source: u32,
    /// Tracks events per source and second.
    pub rate_hz: f64,
    /// Plate hits per second.
    pub hits_per_s: f64,
    /// Seconds measured (publishing).
    pub duration_s: f64,
    /// What the stations published.
    pub published: Published,
    /// Each centre.
    pub centres: Vec<CentreResult>,
    /// The router.
    pub router: ProcessUse,
    /// This process: the stations' signing and publishing.
    pub stations_process: ProcessUse,
}

/// Reads `/proc/PID/stat` CPU ticks (user + system) of a process.
fn cpu_ticks(pid: &str) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .with_context(|| format!("/proc/{pid}/stat: no `)`"))?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime 15.
    let field = |n: usize| -> Result<u64> {
        f.get(n - 3)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("/proc/{pid}/stat: field {n}"))
    };
    Ok(field(14)? + field(15)?)
}

/// `VmHWM` and `VmRSS` of a process, MiB.
fn memory_mib(pid: &str) -> Result<(f64, f64)> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("/proc/{pid}/status"))?;
    let kib = |name: &str| -> Result<f64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .with_context(|| format!("/proc/{pid}/status: {name}"))
    };
    Ok((kib("VmHWM:")? / 1024.0, kib("VmRSS:")? / 1024.0))
}

/// Clock ticks per second of `/proc` CPU times.
fn clock_ticks_per_s() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A child process of this binary with its stdout read line by line on a thread.
struct Spawned {
    name: String,
    child: Child,
    lines: crossbeam_channel::Receiver<String>,
}

impl Spawned {
    fn start(name: &str, args: &[String]) -> Result<Self> {
        let exe = std::env::current_exe().context("finding this binary to start its children")?;
        let mut child = Command::new(&exe)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env("RUST_LOG", "warn")
            .spawn()
            .with_context(|| format!("starting the {name}: {} {}", exe.display(), args.join(" ")))?;
        let out = child.stdout.take().context("child stdout")?;
        let (tx, rx) = crossbeam_channel::unbounded();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(std::io::Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            name: name.into(),
            child,
            lines: rx,
        })
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Waits for a line starting with `prefix`; returns it.
    fn wait_for(&mut self, prefix: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .with_context(|| format!("the {} printed no `{prefix}` line within {timeout:?}", self.name))?;
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return Ok(line),
                Ok(_) => {}
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    bail!("the {} ended ({status:?}) without printing `{prefix}`", self.name);
                }
            }
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Tracks of one source at time `t_s`: `n` objects on circles around the source's spot.
fn tracks_at(source_index: u32, n: u32, t_s: f64, time_usec: u64) -> Vec<TrackEvent> {
    let base_lat = 55.0 + f64::from(source_index % 100) * 0.1;
    let base_lon = 12.0 + f64::from(source_index / 100) * 0.1;
    (0..n)
        .map(|i| {
            let phase = t_s * 0.2 + f64::from(i);
            let r_deg = 0.0005 * (1.0 + f64::from(i % 7));
            TrackEvent {
                track_id: i + 1,
                class: if i % 3 == 0 {
                    TrackClass::Plate
                } else {
                    TrackClass::Person
                },
                position: EventPosition {
                    lat_deg: base_lat + r_deg * phase.sin(),
                    lon_deg: base_lon + r_deg * phase.cos(),
                },
                time_usec,
            }
        })
        .collect()
}

/// One station: its sources' tracks every period, its share of the hits, until `stop`.
struct StationPlan {
    key: StationKey,
    first_source: u32,
    sources: u32,
    tracks_per_source: u32,
    period: Option<Duration>,
    hits_per_s: f64,
}

fn run_station(plan: StationPlan, bus: BusConfig, start: Instant, duration: Duration) -> Result<Published> {
    let mut publisher =
        EventPublisher::open(&bus, plan.key, "load", wall_clock_usec()).context("opening a station's session")?;
    let mut done = Published::default();
    let source = |i: u32| EventSource {
        system_id: u8::try_from(i + 1).unwrap_or(u8::MAX),
        kind: match i % 5 {
            0 | 1 => SourceKind::Drone,
            2 | 3 => SourceKind::Fixed,
            _ => SourceKind::Vehicle,
        },
        legal_basis: if i % 5 == 3 {
            LegalBasis::OtherOperator
        } else {
            LegalBasis::Own
        },
    };
    // Wait for the common start.
    if let Some(d) = start.checked_duration_since(Instant::now()) {
        std::thread::sleep(d);
    }
    let end = start + duration;
    let mut next_tick = start;
    let mut alert_id = 0u32;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let t_s = now.duration_since(start).as_secs_f64();
        if let Some(period) = plan.period
            && now >= next_tick
        {
            if now.duration_since(next_tick) > period {
                done.late_ticks += 1;
            }
            let time_usec = wall_clock_usec();
            for i in 0..plan.sources {
                let body = EventBody::Tracks(TracksEvent {
                    tracks: tracks_at(plan.first_source + i, plan.tracks_per_source, t_s, time_usec),
                });
                match publisher.publish(wall_clock_usec(), source(i), body) {
                    Ok(_) => {
                        done.tracks_events += 1;
                        done.track_updates += u64::from(plan.tracks_per_source);
                    }
                    Err(e) => {
                        done.put_errors += 1;
                        tracing::error!("centre-load: a tracks event was not published: {e}");
                    }
                }
            }
            next_tick += period;
        }
        // Hits due by now at this station's rate.
        let due = (t_s * plan.hits_per_s).floor() as u64;
        while done.plate_hits < due {
            alert_id += 1;
            let i = alert_id % plan.sources;
            let hit = EventBody::PlateHit(PlateHitEvent {
                alert_id,
                plate: format!("LDT{:03}", alert_id % 1000),
                hit_entry_id: NonZeroU32::new(1 + alert_id % 20).expect("not zero"),
                position: tracks_at(plan.first_source + i, 1, t_s, 0).first().map(|t| t.position),
                capture_time_usec: wall_clock_usec(),
                image_sha256_hex: Some(format!("{:064x}", u64::from(alert_id))),
            });
            match publisher.publish(wall_clock_usec(), source(i), hit) {
                Ok(_) => done.plate_hits += 1,
                Err(e) => {
                    done.put_errors += 1;
                    tracing::error!("centre-load: a plate hit was not published: {e}");
                    break;
                }
            }
        }
        // Sleep until the next thing is due (a tick, or the next hit), at most 50 ms.
        let next_hit = if plan.hits_per_s > 0.0 {
            start + Duration::from_secs_f64((done.plate_hits + 1) as f64 / plan.hits_per_s)
        } else {
            end
        };
        let wake = plan.period.map_or(next_hit, |_| next_tick.min(next_hit)).min(end);
        if let Some(d) = wake.checked_duration_since(Instant::now()) {
            std::thread::sleep(d.min(Duration::from_millis(50)));
        }
    }
    publisher.close().context("closing a station's session")?;
    Ok(done)
}

fn free_tcp_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

fn make_keys(dir: &Path, stations: u32) -> Result<(Vec<StationKey>, PathBuf)> {
    let mut keys = Vec::new();
    for s in 0..stations {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| anyhow::anyhow!("no randomness for a station key: {e}"))?;
        keys.push(StationKey::from_seed(&format!("load-stn-{s}"), seed)?);
    }
    let trusted = TrustedStations::new(keys.iter().map(|k| k.trusted_entry(Some("load"))).collect())?;
    let path = dir.join("trusted-stations.json");
    std::fs::write(&path, trusted.to_json()).with_context(|| path.display().to_string())?;
    Ok((keys, path))
}

/// Runs the load test and prints its figures.
///
/// # Errors
/// Bad options, a child that does not start, a centre that lost a hit or refused an event.
pub fn run(args: &LoadArgs) -> Result<()> {
    args.check()?;
    let dir = std::env::temp_dir().join(format!("utkik-centre-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    let result = run_in(args, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let report = result?;
    print_report(&report);
    if let Some(p) = &args.json_out {
        std::fs::write(p, serde_json::to_string_pretty(&report)?).with_context(|| p.display().to_string())?;
    }
    let mut failed = Vec::new();
    if report.published.put_errors > 0 {
        failed.push(format!("{} puts failed", report.published.put_errors));
    }
    for (i, c) in report.centres.iter().enumerate() {
        if c.plate_hits_lost != 0 {
            failed.push(format!("centre {} lost {} plate hits", i + 1, c.plate_hits_lost));
        }
        let refused = c.summary["refused"].as_object().map_or(0, |m| m.len());
        if refused > 0 {
            failed.push(format!("centre {} refused events: {}", i + 1, c.summary["refused"]));
        }
    }
    if !failed.is_empty() {
        bail!("centre-load: {}", failed.join("; "));
    }
    Ok(())
}

fn run_in(args: &LoadArgs, dir: &Path) -> Result<LoadReport> {
    let started_utc = utkik_shared::utc::format_utc_usec(wall_clock_usec());
    let (keys, trusted_path) = make_keys(dir, args.stations)?;
    let endpoint = format!("tcp/127.0.0.1:{}", free_tcp_port()?);
    let total_s = args.warmup_s + args.duration_s;
    let mut router = Spawned::start(
        "router",
        &[
            "router".into(),
            "--zenoh-listen".into(),
            endpoint.clone(),
            "--zenoh-no-multicast".into(),
            "--duration-s".into(),
            format!("{}", total_s + 60.0),
        ],
    )?;
    router.wait_for("router: listening", Duration::from_secs(30))?;
    let mut centres = Vec::new();
    for c in 0..args.centres {
        let mut centre = Spawned::start(
            &format!("centre {}", c + 1),
            &[
                "centre".into(),
                "--trusted-stations".into(),
                trusted_path.display().to_string(),
                "--zenoh-mode".into(),
                "client".into(),
                "--zenoh-connect".into(),
                endpoint.clone(),
                "--zenoh-no-multicast".into(),
                "--quiet".into(),
                "--duration-s".into(),
                // The stations' warm-up and run, then 6 s to drain and be measured.
                format!("{}", total_s + 8.0),
            ],
        )?;
        centre.wait_for("centre: subscribed", Duration::from_secs(30))?;
        centres.push(centre);
    }
    let bus = BusConfig {
        mode: BusMode::Client,
        connect: vec![endpoint.clone()],
        listen: vec![],
        config_file: None,
        multicast_scouting: Some(false),
    };
    println!(
        "centre-load: router {endpoint}, {} centres subscribed; {} stations x {} sources publishing for {} s after {} s warm-up",
        args.centres, args.stations, args.sources, args.duration_s, args.warmup_s
    );
    let start = Instant::now() + Duration::from_secs_f64(args.warmup_s);
    let duration = Duration::from_secs_f64(args.duration_s);
    let period = (args.rate_hz > 0.0).then(|| Duration::from_secs_f64(1.0 / args.rate_hz));
    let per_station = args.sources / args.stations;
    let extra = args.sources % args.stations;
    let mut threads = Vec::new();
    let mut first_source = 0;
    for (s, key) in keys.into_iter().enumerate() {
        let sources = per_station + u32::from((s as u32) < extra);
        let plan = StationPlan {
            key,
            first_source,
            sources,
            tracks_per_source: args.tracks_per_source,
            period,
            hits_per_s: args.hits_per_s / f64::from(args.stations),
        };
        first_source += sources;
        let bus = bus.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("station-{s}"))
                .spawn(move || run_station(plan, bus, start, duration))?,
        );
    }
    // CPU at the start of the measured run.
    if let Some(d) = start.checked_duration_since(Instant::now()) {
        std::thread::sleep(d);
    }
    let pids: Vec<String> = std::iter::once(router.pid())
        .chain(centres.iter().map(Spawned::pid))
        .chain(std::iter::once(std::process::id().to_string()))
        .collect();
    let t0 = Instant::now();
    let ticks0: Vec<u64> = pids.iter().map(|p| cpu_ticks(p)).collect::<Result<_>>()?;
    let mut published = Published::default();
    for t in threads {
        published += t.join().map_err(|_| anyhow::anyhow!("a station thread panicked"))??;
    }
    // Drain, then measure while everyone is still running.
    std::thread::sleep(Duration::from_secs(2));
    let wall_s = t0.elapsed().as_secs_f64();
    let tck = clock_ticks_per_s();
    let mut usage = Vec::new();
    for (p, t0) in pids.iter().zip(&ticks0) {
        let (peak, rss) = memory_mib(p)?;
        usage.push(ProcessUse {
            cpu_pct_of_one_core: (cpu_ticks(p)? - t0) as f64 / tck / wall_s * 100.0,
            peak_rss_mib: peak,
            rss_mib: rss,
        });
    }
    let mut results = Vec::new();
    for (i, c) in centres.iter_mut().enumerate() {
        let line = c.wait_for("centre: summary ", Duration::from_secs(60))?;
        let summary: serde_json::Value = serde_json::from_str(line.trim_start_matches("centre: summary "))
            .with_context(|| format!("centre {}: summary line `{line}`", i + 1))?;
        let got = |kind: &str| summary["by_kind"][kind]["events"].as_u64().unwrap_or(0) as i64;
        results.push(CentreResult {
            plate_hits_lost: published.plate_hits as i64 - got("plate_hit"),
            tracks_events_lost: published.tracks_events as i64 - got("tracks"),
            summary,
            process: usage[i + 1],
        });
    }
    for c in &mut centres {
        let _ = c.child.wait();
    }
    drop(router);
    Ok(LoadReport {
        started_utc,
        sources: args.sources,
        stations: args.stations,
        tracks_per_source: args.tracks_per_source,
        rate_hz: args.rate_hz,
        hits_per_s: args.hits_per_s,
        duration_s: args.duration_s,
        published,
        centres: results,
        router: usage[0],
        stations_process: usage[usage.len() - 1],
    })
}

fn print_report(r: &LoadReport) {
    let p = &r.published;
    println!(
        "centre-load {}: {} sources ({} stations) x {} tracks at {} Hz + {} hits/s, {} centres, {} s",
        r.started_utc,
        r.sources,
        r.stations,
        r.tracks_per_source,
        r.rate_hz,
        r.hits_per_s,
        r.centres.len(),
        r.duration_s
    );
    println!(
        "published: {} tracks events ({} track updates, {:.0}/s), {} plate hits, {} put errors, {} late periods",
        p.tracks_events,
        p.track_updates,
        p.track_updates as f64 / r.duration_s.max(1e-9),
        p.plate_hits,
        p.put_errors,
        p.late_ticks
    );
    println!(
        "| process | CPU (% of one core) | peak RSS MiB | events accepted | hits lost | tracks events lost | hit latency p50 / p95 / max ms | tracks latency p50 / p95 / max ms |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let lat = |s: &serde_json::Value, kind: &str| {
        let l = &s["by_kind"][kind]["latency"];
        format!(
            "{:.1} / {:.1} / {:.1}",
            l["p50_ms"].as_f64().unwrap_or(0.0),
            l["p95_ms"].as_f64().unwrap_or(0.0),
            l["max_ms"].as_f64().unwrap_or(0.0)
        )
    };
    for (i, c) in r.centres.iter().enumerate() {
        println!(
            "| centre {} | {:.1} | {:.1} | {} | {} | {} | {} | {} |",
            i + 1,
            c.process.cpu_pct_of_one_core,
            c.process.peak_rss_mib,
            c.summary["accepted"],
            c.plate_hits_lost,
            c.tracks_events_lost,
            lat(&c.summary, "plate_hit"),
            lat(&c.summary, "tracks")
        );
    }
    println!(
        "| router | {:.1} | {:.1} | | | | | |",
        r.router.cpu_pct_of_one_core, r.router.peak_rss_mib
    );
    println!(
        "| stations (this process: signing + publishing) | {:.1} | {:.1} | | | | | |",
        r.stations_process.cpu_pct_of_one_core, r.stations_process.peak_rss_mib
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> LoadArgs {
        LoadArgs {
            sources: 50,
            stations: 10,
            tracks_per_source: 50,
            rate_hz: 5.0,
            hits_per_s: 10.0,
            centres: 2,
            duration_s: 600.0,
            warmup_s: 3.0,
            json_out: None,
        }
    }

    #[test]
    fn options_are_checked_naming_the_option() {
        assert!(args().check().is_ok());
        let e = LoadArgs { stations: 51, ..args() }.check().unwrap_err();
        assert!(e.to_string().contains("--stations 51"), "{e}");
        let e = LoadArgs {
            tracks_per_source: 1000,
            ..args()
        }
        .check()
        .unwrap_err();
        assert!(e.to_string().contains("--tracks-per-source 1000"), "{e}");
        let e = LoadArgs {
            rate_hz: f64::NAN,
            ..args()
        }
        .check()
        .unwrap_err();
        assert!(e.to_string().contains("--rate-hz"), "{e}");
        let e = LoadArgs {
            rate_hz: 0.0,
            hits_per_s: 0.0,
            ..args()
        }
        .check()
        .unwrap_err();
        assert!(e.to_string().contains("nothing to publish"), "{e}");
    }

    #[test]
    fn proc_figures_of_this_process_are_read() {
        let pid = std::process::id().to_string();
        let t = cpu_ticks(&pid).unwrap();
        // Burn a little CPU: the tick count does not go down.
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0);
        assert!(cpu_ticks(&pid).unwrap() >= t);
        let (peak, rss) = memory_mib(&pid).unwrap();
        assert!(peak >= rss && rss > 1.0, "peak {peak} rss {rss}");
        assert!(cpu_ticks("0").is_err(), "no such process names the file");
    }

    #[test]
    fn tracks_move_and_stay_valid_positions() {
        let a = tracks_at(7, 50, 0.0, 1);
        let b = tracks_at(7, 50, 1.0, 2);
        assert_eq!(a.len(), 50);
        assert_ne!(a[0].position, b[0].position);
        let ids: std::collections::BTreeSet<u32> = a.iter().map(|t| t.track_id).collect();
        assert_eq!(ids.len(), 50, "unique track ids");
        let ev = utkik_shared::events::StationEvent::new(
            "s",
            1,
            1,
            EventSource {
                system_id: 1,
                kind: SourceKind::Fixed,
                legal_basis: LegalBasis::OtherOperator,
            },
            EventBody::Tracks(TracksEvent { tracks: a }),
        );
        assert!(ev.check().is_ok(), "{:?}", ev.check());
    }
}
