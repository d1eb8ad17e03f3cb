//! `utkik-onboard --config FILE`: parses the command line and the configuration (refusing to
//! start without a link key unless `--demo`, see `keys.rs`), sets up logging and Ctrl-C, and
//! runs the pipeline until interrupted.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use utkik_onboard::config;
use utkik_onboard::shutdown::Shutdown;

/// Onboard pipeline: camera video and autopilot telemetry in, tracks and plate reads out over
/// MAVLink, masked video to the ground.
#[derive(Debug, Parser)]
#[command(name = "utkik-onboard", version)]
struct Args {
    /// Configuration file (TOML), on top of the built-in onboard/config/default.toml.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Video source (URI or GStreamer pipeline string); overrides video.source.
    #[arg(long)]
    video: Option<String>,
    /// Autopilot telemetry endpoint; overrides telemetry.endpoint.
    #[arg(long)]
    telemetry: Option<String>,
    /// Ground station address IP:PORT; overrides link.ground.
    #[arg(long)]
    ground: Option<String>,
    /// Onboard audit log directory; overrides gate.audit_dir.
    #[arg(long)]
    audit_dir: Option<String>,
    /// Any other key: --set link.budget_bytes_per_s=2000 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Print the merged configuration and exit.
    #[arg(long)]
    print_config: bool,
    /// Run the demo with the public DEMO link key and trust store (written 0600 under
    /// GATE.AUDIT_DIR/DEMO-keys; the console banner says DEMO). Without it gate.link_key must
    /// be set (and gate.trust_store with gate.authorization): there is no silent demo.
    #[arg(long)]
    demo: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("utkik-onboard: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut overrides = Vec::new();
    let quote = |v: &str| format!("{:?}", v);
    if let Some(v) = &args.video {
        overrides.push(format!("video.source={}", quote(v)));
    }
    if let Some(v) = &args.telemetry {
        overrides.push(format!("telemetry.endpoint={}", quote(v)));
    }
    if let Some(v) = &args.ground {
        overrides.push(format!("link.ground={}", quote(v)));
    }
    if let Some(v) = &args.audit_dir {
        overrides.push(format!("gate.audit_dir={}", quote(v)));
    }
    overrides.extend(args.set.iter().cloned());
    let mut config = config::load(args.config.as_deref(), &overrides).context("configuration")?;
    if args.demo {
        let set = utkik_onboard::keys::apply_demo(&mut config).context("configuration")?;
        eprintln!("utkik-onboard: {}", utkik_shared::demo::DEMO_BANNER);
        eprintln!(
            "utkik-onboard: DEMO link key and trust store written to {}",
            set.dir.display()
        );
        tracing::warn!("{}", utkik_shared::demo::DEMO_BANNER);
    }
    if args.print_config {
        print!(
            "{}",
            toml::to_string_pretty(&config).context("printing the configuration")?
        );
        return Ok(());
    }
    if !args.demo {
        utkik_onboard::keys::require_keys(&config).context("configuration")?;
    }
    let swap = utkik_onboard::volatile::swap_devices();
    if config.gate_enabled() && !swap.is_empty() {
        tracing::warn!(
            ?swap,
            "swap is on: the kernel may write the RAM filesystem's pages (gate.volatile_dir) to disk; run the \
             companion computer without swap or with encrypted swap"
        );
    }
    let shutdown = Shutdown::new();
    let sd = shutdown.clone();
    ctrlc::set_handler(move || {
        tracing::info!("interrupted: shutting down");
        sd.trigger();
    })
    .context("installing the Ctrl-C handler")?;
    tracing::info!(video = %config.video.source, telemetry = %config.telemetry.endpoint, ground = %config.link.ground, "starting");
    let summary = utkik_onboard::pipeline::run(&config, shutdown).context("pipeline")?;
    tracing::info!(?summary, "stopped");
    Ok(())
}
