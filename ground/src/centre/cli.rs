//! Command-line side of the event bus: the station's `--publish-events` options, `utkik-ground
//! centre` (a headless centre that prints the events it accepts) and `utkik-ground station-key
//! new` (a station's signing key and its entry for a centre's trusted list).

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use utkik_shared::events::{StationEvent, StationKey, TrustedStations};

use super::{BusConfig, BusMode, Centre, DEFAULT_REGION, Outcome};
use crate::plugins::event_bus::{StationBus, open_station_bus};

/// How events leave the station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventTransport {
    /// A Zenoh bus (peer, client or router; see `docs/centre.md`).
    Zenoh,
}

/// How to join the Zenoh bus.
#[derive(Args, Debug, Clone, Default)]
pub struct ZenohArgs {
    /// Zenoh mode: peer (default; no router needed on one machine or LAN), client or router.
    #[arg(long = "zenoh-mode", id = "zenoh_mode", value_enum, default_value_t = BusMode::Peer)]
    pub mode: BusMode,
    /// Endpoint to connect to, e.g. tcp/10.0.0.5:7447 or tls/centre.example:7447 (repeatable).
    #[arg(long = "zenoh-connect", id = "zenoh_connect")]
    pub connect: Vec<String>,
    /// Endpoint to listen on, e.g. tcp/0.0.0.0:7447 (repeatable).
    #[arg(long = "zenoh-listen", id = "zenoh_listen")]
    pub listen: Vec<String>,
    /// Zenoh JSON5 config file (TLS certificates, access control; docs/centre.md); the options
    /// above are applied on top of it.
    #[arg(long = "zenoh-config", id = "zenoh_config")]
    pub config: Option<PathBuf>,
    /// Turn multicast scouting off: only the configured endpoints are used.
    #[arg(long = "zenoh-no-multicast", id = "zenoh_no_multicast")]
    pub no_multicast: bool,
}

impl ZenohArgs {
    /// The bus configuration.
    pub fn bus(&self) -> BusConfig {
        BusConfig {
            mode: self.mode,
            connect: self.connect.clone(),
            listen: self.listen.clone(),
            config_file: self.config.clone(),
            multicast_scouting: self.no_multicast.then_some(false),
        }
    }
}

/// The live station's event publishing.
#[derive(Args, Debug, Clone, Default)]
pub struct PublishArgs {
    /// Publish this station's plate hits, alerts, verdicts and authorization states, signed
    /// with --station-key, on this bus. Default: not published.
    #[arg(long = "publish-events", value_enum)]
    pub publish_events: Option<EventTransport>,
    /// The station's event-signing key (`utkik-station-key/1`, mode 0600; `station-key new`).
    #[arg(long = "station-key")]
    pub station_key: Option<PathBuf>,
    /// The station id: must be the one in --station-key.
    #[arg(long = "station-id")]
    pub station_id: Option<String>,
    /// Publish each drone's live tracks at most this many times a second (one signed `tracks`
    /// event per drone and period); 0: tracks are not published.
    #[arg(long = "publish-tracks-hz", default_value_t = crate::plugins::event_bus::DEFAULT_TRACKS_HZ)]
    pub tracks_hz: f64,
    /// Region segment of the event keys (utkik/REGION/STATION/SOURCE/KIND).
    #[arg(long = "region", id = "event_region", default_value = DEFAULT_REGION)]
    pub region: String,
    /// Centre mode: subscribe to other stations' signed events and show their sources, tracks,
    /// alerts and authorization states (panel "Operations centre"); their plate hits go into
    /// the hit history with --hit-list. With `--link none` the station has no drone of its own.
    #[arg(long = "subscribe-events", value_enum)]
    pub subscribe_events: Option<EventTransport>,
    /// The stations whose events are accepted (`utkik-trusted-stations/1`), for --subscribe-events.
    #[arg(long = "trusted-stations", id = "live_trusted_stations")]
    pub trusted_stations: Option<PathBuf>,
    /// What --subscribe-events subscribes to: utkik/** (everything) or utkik/REGION/**.
    #[arg(long = "subscribe-key-expr", default_value = "utkik/**")]
    pub subscribe_key_expr: String,
    /// How to join the bus.
    #[command(flatten)]
    pub zenoh: ZenohArgs,
}

impl PublishArgs {
    /// Opens the bus when `--publish-events` is given; refuses a missing key or id, or an id
    /// that is not the key's.
    ///
    /// # Errors
    /// Naming the option that is missing or wrong, or the bus error.
    pub fn station_bus(&self) -> Result<Option<StationBus>> {
        let Some(EventTransport::Zenoh) = self.publish_events else {
            if self.station_key.is_some() || self.station_id.is_some() {
                bail!("--station-key and --station-id are used only with --publish-events zenoh");
            }
            return Ok(None);
        };
        let path = self
            .station_key
            .as_ref()
            .context("--publish-events needs --station-key FILE (make one with `utkik-ground station-key new`)")?;
        let id = self
            .station_id
            .as_ref()
            .context("--publish-events needs --station-id ID (the id in --station-key)")?;
        let key = StationKey::load(path).context("--station-key")?;
        if &key.station_id != id {
            bail!(
                "--station-id `{id}` is not the station id `{}` in {}",
                key.station_id,
                path.display()
            );
        }
        if !(self.tracks_hz.is_finite() && (0.0..=50.0).contains(&self.tracks_hz)) {
            bail!(
                "--publish-tracks-hz {}: expected 0 (off) to 50 events per drone and second",
                self.tracks_hz
            );
        }
        let bus = open_station_bus(&self.zenoh.bus(), key, &self.region, self.tracks_hz)
            .context("--publish-events zenoh: joining the bus")?;
        tracing::info!(
            "publishing signed events as station {id} under utkik/{}/{id}/**",
            self.region
        );
        Ok(Some(bus))
    }
}

impl PublishArgs {
    /// Subscribes when `--subscribe-events` is given; refuses a missing or empty trusted list.
    ///
    /// # Errors
    /// Naming the option that is missing or wrong, or the bus error.
    pub fn event_intake(&self) -> Result<Option<crate::plugins::event_intake::EventIntake>> {
        let Some(EventTransport::Zenoh) = self.subscribe_events else {
            if self.trusted_stations.is_some() {
                bail!("--trusted-stations is used only with --subscribe-events zenoh");
            }
            return Ok(None);
        };
        let path = self
            .trusted_stations
            .as_ref()
            .context("--subscribe-events needs --trusted-stations FILE (the stations whose events are accepted)")?;
        let trusted = TrustedStations::load(path).context("--trusted-stations")?;
        if trusted.is_empty() {
            bail!("{}: lists no station; every event would be refused", path.display());
        }
        if self.publish_events.is_some() && !self.zenoh.listen.is_empty() {
            bail!(
                "--publish-events and --subscribe-events together open two sessions: use --zenoh-connect to a router, not --zenoh-listen"
            );
        }
        let intake = crate::plugins::event_intake::EventIntake::start(
            &self.zenoh.bus(),
            trusted.clone(),
            &self.subscribe_key_expr,
        )
        .context("--subscribe-events zenoh: joining the bus")?;
        tracing::info!(
            "centre mode: subscribed to {} trusting {} stations",
            self.subscribe_key_expr,
            trusted.len()
        );
        Ok(Some(intake))
    }
}

/// `utkik-ground centre`.
#[derive(Args, Debug, Clone)]
pub struct CentreArgs {
    /// The stations whose events are accepted (`utkik-trusted-stations/1`).
    #[arg(long = "trusted-stations")]
    pub trusted_stations: PathBuf,
    /// What to subscribe to: utkik/** (everything) or utkik/REGION/**.
    #[arg(long = "key-expr", default_value = "utkik/**")]
    pub key_expr: String,
    /// Quit after this many seconds; default: until killed.
    #[arg(long = "duration-s", id = "centre_duration_s")]
    pub duration_s: Option<f64>,
    /// Do not print each accepted event; only the summary at the end (load tests).
    #[arg(long)]
    pub quiet: bool,
    /// How to join the bus.
    #[command(flatten)]
    pub zenoh: ZenohArgs,
}

/// `utkik-ground router`: a Zenoh router and nothing else (what `zenohd` is, without its
/// plugins), for the sites where stations and centres meet.
#[derive(Args, Debug, Clone)]
pub struct RouterArgs {
    /// Quit after this many seconds; default: until killed.
    #[arg(long = "duration-s", id = "router_duration_s")]
    pub duration_s: Option<f64>,
    /// How to join the bus (the mode is always router; give --zenoh-listen).
    #[command(flatten)]
    pub zenoh: ZenohArgs,
}

/// Runs a router until `--duration-s` or killed.
///
/// # Errors
/// No listen endpoint, or the bus.
pub fn run_router(args: &RouterArgs) -> Result<()> {
    if args.zenoh.listen.is_empty() && args.zenoh.config.is_none() {
        bail!("router: give --zenoh-listen tcp/ADDR:PORT (or tls/...), or --zenoh-config with listen endpoints");
    }
    let mut bus = args.zenoh.bus();
    bus.mode = BusMode::Router;
    let session = bus.open().context("router")?;
    println!(
        "router: listening on {} (zenoh id {})",
        args.zenoh.listen.join(", "),
        session.zid()
    );
    std::io::stdout().flush().ok();
    match args.duration_s {
        Some(s) => std::thread::sleep(Duration::from_secs_f64(s.max(0.0))),
        None => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
    }
    use zenoh::Wait;
    session
        .close()
        .wait()
        .map_err(|e| anyhow::anyhow!("router: closing: {e}"))?;
    println!("router: stopped");
    Ok(())
}

/// One accepted event as the centre prints it (a JSON line).
#[derive(Serialize)]
struct Printed<'a> {
    key: &'a str,
    region: &'a str,
    event: &'a StationEvent,
}

/// Runs a headless centre: prints `accepted {json}` for each accepted event on stdout, a line
/// for each refused sample on stderr, and the counts at the end.
///
/// # Errors
/// The trusted list or the bus.
pub fn run_centre(args: &CentreArgs) -> Result<()> {
    let trusted = TrustedStations::load(&args.trusted_stations).context("--trusted-stations")?;
    if trusted.is_empty() {
        bail!(
            "{}: lists no station; every event would be refused",
            args.trusted_stations.display()
        );
    }
    let mut centre = Centre::open(&args.zenoh.bus(), trusted.clone(), &args.key_expr).context("centre")?;
    println!(
        "centre: subscribed to {} trusting {} stations ({})",
        args.key_expr,
        trusted.len(),
        trusted
            .stations()
            .iter()
            .map(|s| s.station_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    std::io::stdout().flush().ok();
    let deadline = args
        .duration_s
        .map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    loop {
        let wait = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) => left.min(Duration::from_millis(500)),
                None => break,
            },
            None => Duration::from_millis(500),
        };
        match centre.recv_timeout(wait)? {
            Some(Outcome::Accepted(_)) if args.quiet => {}
            Some(Outcome::Accepted(ev)) => {
                let line = serde_json::to_string(&Printed {
                    key: &ev.key,
                    region: &ev.region,
                    event: &ev.event,
                })
                .expect("an event serializes");
                println!("accepted {line}");
                std::io::stdout().flush().ok();
            }
            Some(Outcome::Refused { key, reason }) => {
                eprintln!("centre: refused a sample under {key}: {reason}");
            }
            None => {}
        }
    }
    println!("centre: {}", centre.stats());
    println!(
        "centre: summary {}",
        serde_json::to_string(&centre.stats().summary()).expect("a summary serializes")
    );
    std::io::stdout().flush().ok();
    centre.close()?;
    Ok(())
}

/// `utkik-ground station-key` subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum StationKeyCmd {
    /// Make a station's event-signing key (mode 0600; refused if the file exists) and print its
    /// entry for a centre's trusted-stations list.
    New {
        /// The station id (ASCII letters, digits, `-`, `_`, `.`).
        #[arg(long = "station-id")]
        station_id: String,
        /// The key file to write.
        #[arg(long)]
        out: PathBuf,
        /// Region to pin in the printed trusted-list entry.
        #[arg(long)]
        region: Option<String>,
    },
}

/// Runs a `station-key` subcommand.
///
/// # Errors
/// An existing file, a bad id, no randomness, a write error.
pub fn station_key(cmd: &StationKeyCmd) -> Result<()> {
    match cmd {
        StationKeyCmd::New {
            station_id,
            out,
            region,
        } => {
            if out.exists() {
                bail!(
                    "{} exists; a new key would make centres refuse this station until their trusted list is updated (move it away first)",
                    out.display()
                );
            }
            let mut seed = zeroize::Zeroizing::new([0u8; 32]);
            getrandom::getrandom(&mut seed[..]).map_err(|e| anyhow::anyhow!("no randomness for the key: {e}"))?;
            let key = StationKey::from_seed(station_id, *seed).context("--station-id")?;
            key.write(out, "utkik-ground station-key new")?;
            let list = TrustedStations::new(vec![key.trusted_entry(region.as_deref())]).context("--region")?;
            eprintln!("secret (station --station-key, mode 0600): {}", out.display());
            eprintln!("trusted-stations file for a centre (merge `stations` into an existing one):");
            print!("{}", list.to_json());
            Ok(())
        }
    }
}
