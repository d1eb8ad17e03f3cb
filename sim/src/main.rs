//! `utkik-sim`: command line of the simulator (thin: parses, sets up logging, calls the library).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Drone simulator: vehicle, SITL-like MAVLink telemetry, world, camera video, ground truth, evaluation.
#[derive(Debug, Parser)]
#[command(name = "utkik-sim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario.
    Run {
        /// Scenario file (assets/scenarios/*.toml).
        #[arg(long)]
        scenario: PathBuf,
        /// Send telemetry to this address (like SITL's udpout), e.g. 127.0.0.1:14540;
        /// repeat for several receivers (onboard and ground).
        #[arg(long)]
        telemetry_out: Vec<SocketAddr>,
        /// Local MAVLink UDP address for commands (port 0 = any free port).
        #[arg(long, default_value = "127.0.0.1:14555")]
        telemetry_listen: SocketAddr,
        /// Sim seconds to run (default: the scenario's duration_s).
        #[arg(long)]
        duration_s: Option<f64>,
        /// Run as fast as possible instead of in real time.
        #[arg(long, conflicts_with = "realtime")]
        fast: bool,
        /// Run in real time (the default).
        #[arg(long)]
        realtime: bool,
        /// Stream the camera as RTP/H.264 to udp://HOST:PORT (e.g. udp://127.0.0.1:5600).
        #[arg(long, value_parser = parse_video_out)]
        video_out: Option<SocketAddr>,
        /// Camera frames per second (default: the scenario's camera.fps).
        #[arg(long)]
        video_fps: Option<f64>,
        /// Camera frame size WIDTHxHEIGHT (default: the scenario's camera, e.g. 1280x720).
        #[arg(long)]
        video_size: Option<utkik_sim::camera::VideoSize>,
        /// H.264 bit rate, kbit/s.
        #[arg(long, default_value_t = utkik_sim::run::DEFAULT_VIDEO_BITRATE_KBPS)]
        video_bitrate_kbps: u32,
        /// Write per-frame ground truth (JSON lines) to this file; renders frames even without --video-out.
        #[arg(long)]
        truth: Option<PathBuf>,
        /// MAVLink system id of the simulated autopilot: give each vehicle of a multi-vehicle
        /// run its own (1..=250), as SITL instances have.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=250))]
        system_id: u8,
        /// Run this camera of a multi-source scenario (its `[[sources]]` name): its route,
        /// gimbal, camera and system id (then --system-id is not used).
        #[arg(long, conflicts_with = "system_id")]
        source: Option<String>,
        /// A car source (`kind = "vehicle"`): serve its GNSS receiver's NMEA (RMC + GGA) over
        /// TCP on this address, e.g. 127.0.0.1:10110, to every client (the onboard's
        /// `telemetry.endpoint = "nmea+tcp://HOST:PORT"`). A car sends no MAVLink.
        #[arg(long, requires = "source")]
        nmea_listen: Option<SocketAddr>,
        /// NMEA epochs (one RMC and one GGA) per second of sim time.
        #[arg(long, default_value_t = utkik_sim::nmea_out::DEFAULT_NMEA_RATE_HZ)]
        nmea_rate_hz: f64,
    },
    /// Score onboard output against ground truth: precision/recall per class,
    /// plate-read accuracy, identity switches, geolocation error.
    Evaluate {
        /// Ground truth written by `run --truth`.
        #[arg(long)]
        truth: PathBuf,
        /// Onboard output: a .tlog (UTKIK_TRACK / UTKIK_PLATE_READ) or a JSON-lines file.
        #[arg(long)]
        detections: PathBuf,
        /// Report file (JSON).
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
        /// Directory for PNG plots (created if missing).
        #[arg(long)]
        plots: Option<PathBuf>,
        /// Classes to score (comma-separated: face, plate, person, vehicle).
        #[arg(long, value_delimiter = ',', default_value = "face,plate")]
        classes: Vec<String>,
        /// Minimum intersection over union for a detection to match a truth box.
        #[arg(long, default_value_t = 0.5)]
        iou: f64,
        /// Truth boxes lower than this (pixels) are "don't care": neither a miss nor a false positive.
        #[arg(long, default_value_t = 0)]
        min_box_px: u32,
        /// Largest difference between a detection's frame time and a truth frame's, milliseconds.
        #[arg(long, default_value_t = 1.0)]
        time_tolerance_ms: f64,
    },
    /// Print the scenario's camera as onboard configuration overrides, one KEY=VALUE a line
    /// (pass each to `utkik-onboard --set`), e.g. `camera.hfov_deg=6.0`.
    Camera {
        /// Scenario file.
        #[arg(long)]
        scenario: PathBuf,
        /// A source of a multi-source scenario: also its system id, kind, legal basis and,
        /// for a fixed camera, its site; for a car, its camera mounting and NMEA endpoint.
        #[arg(long)]
        source: Option<String>,
        /// A car source: the address its `run --nmea-listen` serves, for the printed
        /// `telemetry.endpoint`.
        #[arg(long, default_value = utkik_sim::nmea_out::DEFAULT_NMEA_LISTEN)]
        nmea_listen: SocketAddr,
    },
    /// Write the scenario's DEMO ANPR hit list (cars with `hit_list = true`), signed with the
    /// DEMO senior officer's public key, for an onboard run with `--demo`
    /// (`--set detect.plate_hit_list=FILE.json`).
    Hitlist {
        /// Scenario file.
        #[arg(long)]
        scenario: PathBuf,
        /// Output file (JSON, `utkik-hit-list/1`).
        #[arg(long)]
        out: PathBuf,
        /// Hours from now the list stays valid (the drone refuses it after that).
        #[arg(long, default_value_t = utkik_sim::onboard_config::DEMO_LIST_VALID_HOURS)]
        valid_hours: u64,
        /// List every car of the scenario, not only those with `hit_list = true` (the ANPR
        /// field test wants many alerts).
        #[arg(long)]
        every_vehicle: bool,
    },
    /// Export the scenario's map features (roads, buildings, area) as GeoJSON.
    Geojson {
        /// Scenario file.
        #[arg(long)]
        scenario: PathBuf,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Render the scenario's map (an orthophoto of the simulated ground, roads, roofs and
    /// shadows) as offline raster tiles for the ground station's `--tiles`.
    Tiles {
        /// Scenario file.
        #[arg(long)]
        scenario: PathBuf,
        /// Output: FILE.mbtiles (MBTiles) or a folder (XYZ {z}/{x}/{y}.png).
        #[arg(long)]
        out: PathBuf,
        /// Lowest zoom level.
        #[arg(long, default_value_t = 14)]
        min_zoom: u8,
        /// Highest zoom level (19 is about 0.15 m per pixel at 59 degrees north).
        #[arg(long, default_value_t = 19)]
        max_zoom: u8,
    },
    /// Impairment proxy between drone and ground (UDP or two emulated serial ports): seeded loss,
    /// burst loss, duplication, reordering, delay and timed cuts, each direction on its own; prints
    /// its counters at the end and on SIGINT/SIGTERM. Example:
    /// `utkik-sim impair --listen 127.0.0.1:14551 --forward 127.0.0.1:14550 --loss 0.3 --cut 20s+5s --seed 7`
    Impair(Box<ImpairArgs>),
}

/// Options of `utkik-sim impair`. The impairment flags apply to both directions; `--fwd` and
/// `--back` (KEY=VALUE,... with the same keys) change one direction on top of them.
#[derive(Debug, clap::Args)]
struct ImpairArgs {
    /// UDP: the address the drone side sends to (e.g. the onboard's `--ground`).
    #[arg(long, required_unless_present = "serial_pty")]
    listen: Option<SocketAddr>,
    /// UDP: the ground station's address; its replies go back to the drone's last address.
    #[arg(long, required_unless_present = "serial_pty")]
    forward: Option<SocketAddr>,
    /// Serial mode: create two pseudo-terminal pairs (drone end, ground end) instead of UDP.
    #[arg(long, conflicts_with_all = ["listen", "forward"])]
    serial_pty: bool,
    /// Serial mode: make this symlink to the drone end's device.
    #[arg(long, requires = "serial_pty")]
    pty_drone: Option<PathBuf>,
    /// Serial mode: make this symlink to the ground end's device.
    #[arg(long, requires = "serial_pty")]
    pty_ground: Option<PathBuf>,
    /// Serial mode: pace bytes at this baud rate (8N1: baud / 10 bytes per second).
    #[arg(long, default_value_t = 57_600)]
    baud: u32,
    /// Serial mode: largest chunk (air packet) lost or delivered as one.
    #[arg(long, default_value_t = utkik_sim::impair::pty::DEFAULT_CHUNK_BYTES)]
    chunk_bytes: usize,
    /// Seed of the random streams (the same seed loses the same datagrams).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Independent loss probability per datagram.
    #[arg(long)]
    loss: Option<String>,
    /// Gilbert-Elliott burst loss P_ENTER_BAD:P_LEAVE_BAD[:LOSS_IN_BAD[:LOSS_IN_GOOD]] per datagram.
    #[arg(long)]
    burst: Option<String>,
    /// Duplication probability.
    #[arg(long)]
    dup: Option<String>,
    /// Probability that a datagram is held back by --reorder-delay (later ones overtake it).
    #[arg(long)]
    reorder: Option<String>,
    /// Hold-back of a reordered datagram (default 50ms).
    #[arg(long)]
    reorder_delay: Option<String>,
    /// Fixed one-way delay (e.g. 40ms).
    #[arg(long)]
    delay: Option<String>,
    /// Extra delay uniform in [0, jitter] (keeps order).
    #[arg(long)]
    jitter: Option<String>,
    /// Link rate in bytes per second (5760 = 57,600 baud); datagrams queue behind each other.
    #[arg(long)]
    rate: Option<String>,
    /// With --rate: queue limit in bytes (default 16384).
    #[arg(long)]
    queue: Option<String>,
    /// Drone-to-ground impairments on top of the flags, e.g. `loss=0.5,delay=20ms`.
    #[arg(long)]
    fwd: Option<String>,
    /// Ground-to-drone impairments on top of the flags.
    #[arg(long)]
    back: Option<String>,
    /// A link outage START+LENGTH after the proxy started, both directions (repeatable): `--cut 20s+5s`.
    #[arg(long)]
    cut: Vec<utkik_sim::impair::Cut>,
    /// Stop after this many seconds (default: on SIGINT/SIGTERM).
    #[arg(long)]
    duration_s: Option<f64>,
}

fn parse_video_out(text: &str) -> Result<SocketAddr, String> {
    utkik_sim::video::parse_destination(text).map_err(|e| e.to_string())
}

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let cli = Cli::parse();
    if let Err(e) = real_main(cli) {
        eprintln!("utkik-sim: {e:#}");
        std::process::exit(1);
    }
}

fn real_main(cli: Cli) -> anyhow::Result<()> {
    let command = match cli.command {
        // Before any handler or thread: impair takes SIGINT and SIGTERM itself.
        Command::Impair(args) => return impair_main(*args),
        other => other,
    };
    let shutdown = Arc::new(AtomicBool::new(false));
    let flag = shutdown.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)).context("installing the Ctrl-C handler")?;
    match command {
        Command::Run {
            scenario,
            telemetry_out,
            telemetry_listen,
            duration_s,
            fast,
            realtime: _,
            video_out,
            video_fps,
            video_size,
            video_bitrate_kbps,
            truth,
            system_id,
            source,
            nmea_listen,
            nmea_rate_hz,
        } => {
            let config = utkik_sim::run::RunConfig {
                scenario,
                telemetry_listen,
                telemetry_out,
                duration_s,
                realtime: !fast,
                video_out,
                truth,
                video: utkik_sim::run::VideoOptions {
                    size: video_size,
                    fps: video_fps,
                    bitrate_kbps: video_bitrate_kbps,
                    ..Default::default()
                },
                system_id,
                source,
                nmea_listen,
                nmea_rate_hz,
            };
            let summary = utkik_sim::run::run(&config, &shutdown).context("simulation failed")?;
            eprintln!(
                "utkik-sim: {:.1} s simulated, {} messages sent, {} NMEA epochs sent, {} commands answered, {} frames rendered ({} dropped){}",
                summary.sim_time_usec as f64 * 1e-6,
                summary.messages_sent,
                summary.nmea_epochs,
                summary.commands,
                summary.frames_rendered,
                summary.frames_dropped,
                if summary.interrupted { " (interrupted)" } else { "" }
            );
        }
        Command::Evaluate {
            truth,
            detections,
            out,
            plots,
            classes,
            iou,
            min_box_px,
            time_tolerance_ms,
        } => {
            let classes = classes
                .iter()
                .map(|c| c.parse())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e: String| anyhow::anyhow!(e))?;
            let options = utkik_sim::evaluate::EvalOptions {
                classes,
                iou_threshold: iou,
                min_box_px,
                time_tolerance_usec: (time_tolerance_ms * 1000.0).round() as u64,
            };
            let report = utkik_sim::evaluate::evaluate_files(&truth, &detections, &options)
                .with_context(|| format!("evaluating {} against {}", detections.display(), truth.display()))?;
            let text = serde_json::to_string_pretty(&report)?;
            std::fs::write(&out, text + "\n").with_context(|| format!("writing {}", out.display()))?;
            if let Some(dir) = plots {
                let written = utkik_sim::evaluate::write_plots(&report, &dir)
                    .with_context(|| format!("writing plots to {}", dir.display()))?;
                for p in written {
                    eprintln!("utkik-sim: plot {}", p.display());
                }
            }
            eprintln!("{}", report.summary());
        }
        Command::Camera {
            scenario,
            source,
            nmea_listen,
        } => {
            let s = utkik_sim::scenario::Scenario::load(&scenario)?;
            let overrides = match source {
                Some(name) => utkik_sim::onboard_config::onboard_source_overrides(&s, &name, nmea_listen)
                    .map_err(|e| anyhow::anyhow!("--source: {e}"))?,
                None => utkik_sim::onboard_config::onboard_camera_overrides(&s),
            };
            print!("{}", utkik_sim::onboard_config::format_overrides(&overrides));
        }
        Command::Hitlist {
            scenario,
            out,
            valid_hours,
            every_vehicle,
        } => {
            let s = utkik_sim::scenario::Scenario::load(&scenario)?;
            let now_usec = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("the system clock is before 1970")?
                .as_micros() as u64;
            let until_usec =
                utkik_sim::onboard_config::valid_until_usec(now_usec, valid_hours).map_err(|e| anyhow::anyhow!(e))?;
            let entries =
                utkik_sim::onboard_config::write_scenario_hit_list(&s, &out, now_usec, until_usec, every_vehicle)
                    .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "{entries} entries -> {} (DEMO list signed by cecilia, valid {valid_hours} h)",
                out.display()
            );
        }
        Command::Geojson { scenario, out } => {
            let s = utkik_sim::scenario::Scenario::load(&scenario)?;
            let text = serde_json::to_string_pretty(&utkik_sim::geojson::scenario_geojson(&s))?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?
                }
                None => println!("{text}"),
            }
        }
        Command::Tiles {
            scenario,
            out,
            min_zoom,
            max_zoom,
        } => {
            use utkik_sim::tiles::{Orthophoto, is_mbtiles, write_mbtiles, write_xyz};
            let s = utkik_sim::scenario::Scenario::load(&scenario)?;
            let map = Orthophoto::new(&s);
            let ids = map.tiles(min_zoom, max_zoom)?;
            let started = std::time::Instant::now();
            let tiles: Vec<_> = ids.into_iter().map(|t| (t, map.png(t))).collect();
            let bytes: usize = tiles.iter().map(|(_, p)| p.len()).sum();
            if is_mbtiles(&out) {
                write_mbtiles(&out, &map, &tiles)?;
            } else {
                write_xyz(&out, &tiles)?;
            }
            println!(
                "{} tiles, zoom {min_zoom}-{max_zoom}, {:.1} MiB, {:.1} s -> {}",
                tiles.len(),
                bytes as f64 / 1_048_576.0,
                started.elapsed().as_secs_f64(),
                out.display()
            );
        }
        Command::Impair(_) => unreachable!("handled above"),
    }
    Ok(())
}

fn impair_main(args: ImpairArgs) -> anyhow::Result<()> {
    use nix::sys::signal::{SigSet, Signal};
    use utkik_sim::impair::{DirectionConfig, ImpairConfig};

    let mut both = DirectionConfig::clean();
    for (key, value) in [
        ("loss", &args.loss),
        ("burst", &args.burst),
        ("dup", &args.dup),
        ("reorder", &args.reorder),
        ("reorder-delay", &args.reorder_delay),
        ("delay", &args.delay),
        ("jitter", &args.jitter),
        ("rate", &args.rate),
        ("queue", &args.queue),
    ] {
        if let Some(value) = value {
            both.set(key, value).with_context(|| format!("--{key}"))?;
        }
    }
    let mut forward = both.clone();
    let mut back = both;
    if let Some(spec) = &args.fwd {
        forward.apply_spec(spec).context("--fwd")?;
    }
    if let Some(spec) = &args.back {
        back.apply_spec(spec).context("--back")?;
    }
    let config = ImpairConfig {
        seed: args.seed,
        forward,
        back,
        cuts: args.cut.clone(),
    };
    let duration = args.duration_s.map(std::time::Duration::from_secs_f64);

    // SIGINT and SIGTERM are blocked here, before any thread exists (threads inherit the mask),
    // and taken by one waiting thread: the loop then stops and the counters are printed.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.thread_block().context("blocking SIGINT/SIGTERM")?;
    let shutdown = Arc::new(AtomicBool::new(false));
    let flag = shutdown.clone();
    std::thread::spawn(move || {
        if let Ok(signal) = signals.wait() {
            eprintln!("utkik-sim impair: {signal}, stopping");
            flag.store(true, Ordering::Relaxed);
        }
    });

    let report = if args.serial_pty {
        let proxy = utkik_sim::impair::pty::PtyProxy::open(
            config,
            args.pty_drone.as_deref(),
            args.pty_ground.as_deref(),
            args.baud,
            args.chunk_bytes,
        )?;
        println!(
            "impair: drone end {}",
            args.pty_drone.as_ref().map_or_else(
                || proxy.drone_path(),
                |l| format!("{} -> {}", l.display(), proxy.drone_path())
            )
        );
        println!(
            "impair: ground end {}",
            args.pty_ground.as_ref().map_or_else(
                || proxy.ground_path(),
                |l| format!("{} -> {}", l.display(), proxy.ground_path())
            )
        );
        proxy.run(&shutdown, duration)?
    } else {
        let (Some(listen), Some(forward)) = (args.listen, args.forward) else {
            anyhow::bail!("--listen and --forward are needed (or --serial-pty)");
        };
        let proxy = utkik_sim::impair::udp::UdpProxy::bind(listen, forward, config)?;
        println!(
            "impair: drone side sends to {}, forwarding to {forward} from {} (seed {})",
            proxy.listen_addr()?,
            proxy.ground_facing_addr()?,
            args.seed
        );
        proxy.run(&shutdown, duration)?
    };
    println!("{report}");
    Ok(())
}
