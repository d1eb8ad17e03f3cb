//! `utkik-sim`: command line of the simulator (thin: parses, sets up logging, calls the library).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Drone simulator: vehicle, SITL-like MAVLink telemetry, world.
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
        /// Send telemetry to this address (like SITL's udpout), e.g. 127.0.0.1:14540.
        #[arg(long)]
        telemetry_out: Option<SocketAddr>,
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
    let shutdown = Arc::new(AtomicBool::new(false));
    let flag = shutdown.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)).context("installing the Ctrl-C handler")?;
    match cli.command {
        Command::Run {
            scenario,
            telemetry_out,
            telemetry_listen,
            duration_s,
            fast,
            realtime: _,
        } => {
            let config = utkik_sim::run::RunConfig {
                scenario,
                telemetry_listen,
                telemetry_out,
                duration_s,
                realtime: !fast,
            };
            let summary = utkik_sim::run::run(&config, &shutdown).context("simulation failed")?;
            eprintln!(
                "utkik-sim: {:.1} s simulated, {} messages sent, {} commands answered{}",
                summary.sim_time_usec as f64 * 1e-6,
                summary.messages_sent,
                summary.commands,
                if summary.interrupted { " (interrupted)" } else { "" }
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
    }
    Ok(())
}
