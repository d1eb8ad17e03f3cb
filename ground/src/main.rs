//! `utkik-ground`: the ground station binary. Parses arguments, loads users, trust store, audit log
//! and authorization (all validated before the link opens), sets up the Bevy app (windowed, or
//! headless with a printed summary when there is no display) and runs it; `screenshot` renders
//! the real window and saves a PNG; `synth` writes a synthetic mission tlog + GeoJSON;
//! `verify-audit` checks an audit log; `imy-report` writes the IMY notifications and statistics.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use bevy::app::ScheduleRunnerPlugin;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use bevy_egui::EguiPlugin;
use clap::{Parser, Subcommand};
use utkik_ground::audit_log::{GroundAudit, load_checkpoint_signer, wall_clock_usec};
use utkik_ground::auth::UserDirectory;
use utkik_ground::link::{self, LinkConfig, LinkKeys, LinkRedactor, LinkSource, TlogRecorder, read_tlog};
use utkik_ground::map::load_geojson;
use utkik_ground::map::tiles::TileSource;
use utkik_ground::ops::GroundOps;
use utkik_ground::plugins::console::ConsolePlugin;
use utkik_ground::plugins::event_bus::StationBus;
use utkik_ground::plugins::event_intake::{EventIntake, RemoteRes};
use utkik_ground::plugins::link::MessageSource;
use utkik_ground::plugins::map::MapView;
use utkik_ground::plugins::retention::RetentionRes;
use utkik_ground::plugins::session::OpsRes;
use utkik_ground::plugins::tiles::TileLayer;
use utkik_ground::plugins::video::{VideoRes, start_station_video};
use utkik_ground::plugins::{AppState, GroundCorePlugins, GroundViewPlugins, WorldRes};
use utkik_ground::replay::Replay;
use utkik_ground::replay::app::{AuditStatus, ReplayPlugin};
use utkik_ground::replay::review::ReviewRes;
use utkik_ground::report::imy;
use utkik_ground::report::{self, EvidenceAccess, ReportOptions, ReviewSession};
use utkik_shared::audit::RetentionPolicy;
use utkik_shared::audit::erase::AgedDir;
use utkik_shared::audit::key_file::{keys_from_public_files, public_key_json};
use utkik_shared::audit::parse_anchor;

#[derive(Parser)]
#[command(name = "utkik-ground", about = "Utkik ground station")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    live: LiveArgs,
}

#[derive(clap::Args, Clone)]
struct LiveArgs {
    /// Link: udp:HOST:PORT (listen), tcp:HOST:PORT (connect), serial:PATH:BAUD, or `none` (no
    /// drone: an operations centre with --subscribe-events).
    #[arg(long, default_value = "udp:0.0.0.0:14550")]
    link: String,
    /// Vector basemap / overlays (GeoJSON; e.g. `utkik-sim geojson` output).
    #[arg(long)]
    geojson: Vec<PathBuf>,
    /// Offline raster tiles: an XYZ folder (`{z}/{x}/{y}.png`) or an MBTiles file (e.g.
    /// `utkik-sim tiles` output). Missing or unreadable: vector basemap and a banner.
    #[arg(long)]
    tiles: Option<PathBuf>,
    /// Folder for tlog recordings.
    #[arg(long, default_value = "recordings")]
    record_dir: PathBuf,
    /// Start a new tlog past this many MiB.
    #[arg(long, default_value_t = 256)]
    rotate_mib: u64,
    /// Run without a window even when a display exists.
    #[arg(long)]
    headless: bool,
    /// Also take operator commands on stdin with a window (always on when headless; `help`).
    #[arg(long)]
    console: bool,
    /// Quit after this many seconds (demo and smoke runs); default: until closed.
    #[arg(long)]
    duration_s: Option<f32>,
    #[command(flatten)]
    auth: StationAuthArgs,
    /// The users file in use (resolved from `auth`).
    #[arg(skip)]
    users: PathBuf,
    /// Signed authorization document to load and verify at start.
    #[arg(long)]
    authorization: Option<PathBuf>,
    /// The trust store in use (resolved from `auth`).
    #[arg(skip)]
    trust_store: PathBuf,
    /// The link key in use (resolved from `auth`).
    #[arg(skip)]
    link_key: PathBuf,
    /// Audit log directory (default: RECORD_DIR/audit).
    #[arg(long)]
    audit_dir: Option<PathBuf>,
    /// The audit checkpoint key in use (resolved from `auth`).
    #[arg(skip)]
    audit_key: PathBuf,
    /// The seal key in use (resolved from `auth`; `None`: sealed images are refused).
    #[arg(skip)]
    seal_key: Option<PathBuf>,
    /// Days identification data (evidence payloads, recordings, exports) is kept before it is
    /// erased (logged); at least 184 (six months, LAW.md section 5).
    #[arg(long, default_value_t = utkik_shared::audit::MIN_IDENTIFICATION_RETENTION_DAYS)]
    retention_days: u32,
    /// Keep plate reads that are not hits this many days (1 to 30) in RECORD_DIR/non-hit-reads.sqlite,
    /// searchable only signed in, with a reason, logged (LAW.md section 7). 0 (default): none are
    /// kept; their text is dropped on arrival (the drone sends none unless
    /// `detect.send_non_hit_text`). Never in the tlogs either way.
    #[arg(long, default_value_t = 0)]
    keep_non_hits_days: u32,
    /// The signed ANPR hit list the drones fly with (`utkik-hit-list/1`, verified against this
    /// station's trust store, Swedish plates): each stored plate hit is kept as a sighting in
    /// RECORD_DIR/hit-history.sqlite until its entry expires, searchable signed in with a reason
    /// (console `history PLATE REASON...`, issue 19 item 4). Without it no sighting is kept.
    #[arg(long)]
    hit_list: Option<PathBuf>,
    /// The drone's re-stream, faces and plates masked on the drone: udp:IP:PORT to listen on
    /// (the onboard's privacy.destination, e.g. udp:127.0.0.1:5700). Shown in a window and
    /// recorded; default: no video.
    #[arg(long)]
    video: Option<utkik_ground::plugins::video::VideoSource>,
    /// Record the --video stream as received (no re-encode) to RECORD_DIR/video-<UTC>.mkv, aged
    /// out with the tlogs (--retention-days); `--record-video false` only shows it.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    record_video: bool,
    /// SRTP key of the --video stream (`utkik-video-key/1`, mode 0600; the drone's
    /// privacy.srtp_key, made by `utkik-ground video-key new`). Without it the stream is taken as
    /// plain RTP; --demo uses the DEMO key.
    #[arg(long)]
    video_key: Option<PathBuf>,
    /// Signed station events to operations centres (`--publish-events zenoh --station-key FILE
    /// --station-id ID`; docs/centre.md).
    #[command(flatten)]
    events: utkik_ground::centre::cli::PublishArgs,
}

/// Sign-in of a reviewer (replay, report): who, and where their consultations and
/// disclosures are logged.
#[derive(clap::Args, Clone)]
struct ReviewArgs {
    /// Users who may sign in (senior officers and auditors review recordings).
    #[arg(long = "users", id = "review_users", required = true)]
    users: PathBuf,
    /// The station's audit directory: consultations and disclosures are logged there.
    #[arg(long = "audit-dir", id = "review_audit_dir", required = true)]
    audit_dir: PathBuf,
    /// Checkpoint key of that audit log (without: records but no signed checkpoints).
    #[arg(long = "audit-key", id = "review_audit_key")]
    audit_key: Option<PathBuf>,
    /// Sign in as this user; the password is read from the first line of stdin. `report`
    /// needs it; `replay` without it shows a sign-in box.
    #[arg(long = "user")]
    user: Option<String>,
    /// The station's image seal key (`utkik-seal-key/1`, the live station's --seal-key): opens the
    /// evidence crops and plate images the drones sealed to it. Without it they are left out.
    #[arg(long = "seal-key", id = "review_seal_key")]
    seal_key: Option<PathBuf>,
}

impl ReviewArgs {
    /// The seal key, when given.
    fn seal_key(&self) -> Result<Option<utkik_shared::seal::SealKeyPair>> {
        self.seal_key
            .as_deref()
            .map(|p| utkik_shared::seal::SealKeyPair::load(p).context("--seal-key"))
            .transpose()
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Create and maintain the users file: `users add|passwd|list --users FILE ...` (passwords
    /// from stdin, argon2id, file mode 0600).
    #[command(subcommand)]
    Users(utkik_ground::auth::cli::UsersCmd),
    /// The station's image seal key: `seal-key new --out DIR` writes DIR/seal.key.json (secret,
    /// 0600: the station's --seal-key) and DIR/seal.public.json (the drones'
    /// gate.ground_seal_public).
    #[command(subcommand)]
    SealKey(SealKeyCmd),
    /// The masked re-stream's SRTP key: `video-key new --out FILE` writes a new key (mode 0600),
    /// the station's --video-key and the drone's privacy.srtp_key (copied to its RAM filesystem
    /// at pre-flight).
    #[command(subcommand)]
    VideoKey(VideoKeyCmd),
    /// The signed ANPR hit list: `hitlist sign` (a senior officer signs typed entries with her
    /// own key) and `hitlist verify` (check a list as the drone does).
    #[command(subcommand)]
    Hitlist(utkik_ground::hitlist_cli::HitlistCmd),
    /// An operations centre (headless): subscribes to the stations' signed events on the Zenoh
    /// bus, verifies each against --trusted-stations and prints the accepted ones as JSON lines;
    /// refused ones are counted and logged with the reason (docs/centre.md).
    Centre(utkik_ground::centre::cli::CentreArgs),
    /// A Zenoh router (what `zenohd` is, without plugins): stations and centres of several
    /// sites connect to it with --zenoh-connect (docs/centre.md).
    Router(utkik_ground::centre::cli::RouterArgs),
    /// Load test of the event bus on this machine: a router, N centres (child processes) and
    /// simulated stations publishing tracks and plate hits; prints delivery, losses, CPU and
    /// memory (README, "Operations centre").
    CentreLoad(utkik_ground::centre::load::LoadArgs),
    /// A station's event-signing key: `station-key new --station-id ID --out FILE` (mode 0600)
    /// prints the centre's trusted-stations entry for it.
    #[command(subcommand)]
    StationKey(utkik_ground::centre::cli::StationKeyCmd),
    /// Render the real window and save a PNG after N seconds.
    Screenshot {
        /// Output PNG.
        #[arg(long)]
        out: PathBuf,
        /// Feed this tlog instead of a live link.
        #[arg(long)]
        tlog: Option<PathBuf>,
        /// Seconds to run before the screenshot.
        #[arg(long, default_value_t = 2.0)]
        after_s: f32,
        #[command(flatten)]
        live: LiveArgs,
    },
    /// Replay a recorded mission: the live views driven by a timeline (play, pause, speed,
    /// scrub, jump between events).
    Replay {
        /// The recording (.tlog).
        file: PathBuf,
        /// The mission's audit log (confirmations, dismissals, authorization changes).
        #[arg(long)]
        audit: Option<PathBuf>,
        /// Vector basemap / overlays (GeoJSON).
        #[arg(long)]
        geojson: Vec<PathBuf>,
        /// Offline raster tiles (XYZ folder or MBTiles file).
        #[arg(long)]
        tiles: Option<PathBuf>,
        /// Initial playback speed (0.25 to 16).
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Start paused.
        #[arg(long)]
        paused: bool,
        /// Save a PNG of the window after N seconds, then quit (needs a display; Xvfb works).
        #[arg(long)]
        screenshot: Option<PathBuf>,
        /// Seconds before the screenshot.
        #[arg(long, default_value_t = 4.0)]
        after_s: f32,
        #[command(flatten)]
        review: ReviewArgs,
    },
    /// Write the mission report (HTML: map, alerts with evidence per LAW.md, timeline and
    /// link/pipeline plots) for a recording; headless.
    Report {
        /// The recording (.tlog).
        file: PathBuf,
        /// Output HTML.
        #[arg(long, short)]
        out: PathBuf,
        /// The mission's audit log.
        #[arg(long)]
        audit: Option<PathBuf>,
        /// Vector basemap / overlays (GeoJSON) for the map snapshot.
        #[arg(long)]
        geojson: Vec<PathBuf>,
        /// Raster tiles under the map snapshot (XYZ folder or MBTiles; embedded in the HTML).
        #[arg(long)]
        tiles: Option<PathBuf>,
        #[command(flatten)]
        review: ReviewArgs,
    },
    /// Verify an audit log as a third party: with the writer's public checkpoint key(s) only
    /// (never the secret) and an anchor noted down earlier. Prints OK with counts and the anchor
    /// to note down now, or names the first bad record (exit 1).
    VerifyAudit {
        /// The log (ground-audit.jsonl or an onboard log).
        file: PathBuf,
        /// Public checkpoint key file(s) (`utkik-audit-public-key/1`; `audit-public-key` makes
        /// one). With a key, checkpoint signatures are checked and a log without any is refused.
        #[arg(long = "public-key")]
        public_key: Vec<PathBuf>,
        /// A record noted down earlier, `SEQ:SHA256HEX` (verify-audit prints the last
        /// checkpoint's): the log must still hold it unchanged (catches a log cut back).
        #[arg(long)]
        anchor: Option<String>,
    },
    /// Write the public key file of a checkpoint key (what an auditor verifies with).
    AuditPublicKey {
        /// The secret checkpoint key file (`utkik-audit-key/1`).
        #[arg(long)]
        key: PathBuf,
        /// Output: the public key file.
        #[arg(long, short)]
        out: PathBuf,
        /// Note written into the file (who holds the key).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Read a mission's onboard and ground audit logs together and list every use, match or
    /// deletion one side has and the other lacks (exit 1 when they disagree).
    Reconcile {
        /// The drone's log (onboard-audit.log).
        #[arg(long)]
        onboard: PathBuf,
        /// The ground station's log (ground-audit.jsonl).
        #[arg(long)]
        ground: PathBuf,
        /// Public checkpoint key file(s) to verify both logs with first.
        #[arg(long = "public-key")]
        public_key: Vec<PathBuf>,
    },
    /// Per-use notifications for IMY and yearly statistics (JSON + HTML) from an audit log.
    /// A disclosure: written for a signed-in reviewer (`--user`, password on stdin) and logged
    /// in the station's audit log (`--audit-dir`) with who wrote it where.
    ImyReport {
        /// The audit log.
        #[arg(long)]
        audit: PathBuf,
        /// Output folder.
        #[arg(long, short)]
        out: PathBuf,
        #[command(flatten)]
        review: ReviewArgs,
    },
    /// Write a synthetic mission (tlog + GeoJSON) for demos and smoke tests.
    Synth {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Mission length, seconds.
        #[arg(long, default_value_t = 60)]
        duration_s: u32,
    },
}

fn has_display() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
}

/// The map: GeoJSON overlays and, when given and readable, raster tiles under them. Whatever
/// cannot be loaded is named in the banner and the rest is still shown.
fn map_view(paths: &[PathBuf], tiles: Option<&Path>) -> (MapView, Option<TileLayer>) {
    let mut view = MapView::default();
    let mut problems = Vec::new();
    for p in paths {
        match load_geojson(p) {
            Ok((o, skipped)) => {
                if skipped > 0 {
                    warn!("{}: skipped {skipped} features with unsupported geometry", p.display());
                }
                view.overlays.extend(o);
            }
            Err(e) => {
                warn!("{e}");
                problems.push(e.to_string());
            }
        }
    }
    let layer = tiles.and_then(|t| match TileSource::open(t) {
        Ok(src) => {
            info!("map: {}", src.describe());
            Some(src)
        }
        Err(e) => {
            warn!("{e}");
            problems.push(format!("{e}; showing the vector basemap"));
            None
        }
    });
    view.banner = match (&layer, view.overlays.is_empty(), problems.is_empty()) {
        (_, _, false) => Some(format!("Map: {}", problems.join("; "))),
        (Some(src), _, true) => Some(format!("Offline raster tiles: {}", src.describe())),
        (None, true, true) => Some(
            "No map tiles or GeoJSON: grid only (pass --tiles or --geojson, e.g. from `utkik-sim tiles|geojson`)"
                .into(),
        ),
        (None, false, true) => Some("Offline vector basemap (no raster tiles)".into()),
    };
    (view, layer.map(TileLayer::new))
}

/// `seal-key` subcommands.
#[derive(Subcommand)]
enum SealKeyCmd {
    /// Make a new key pair: DIR/seal.key.json (secret, mode 0600; refused if it exists) and
    /// DIR/seal.public.json.
    New {
        /// Folder to write both files into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `video-key` subcommands.
#[derive(Subcommand)]
enum VideoKeyCmd {
    /// Make a new key: FILE (mode 0600; refused if it exists).
    New {
        /// The key file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `video-key new`: 44 bytes from the operating system's random source as `utkik-video-key/1`.
fn video_key_new(out: &std::path::Path) -> Result<()> {
    if out.exists() {
        anyhow::bail!(
            "video-key new: {} exists; a new key would leave drones with the old one unwatchable (move it away first)",
            out.display()
        );
    }
    let mut bytes = [0u8; utkik_shared::video_key::VIDEO_KEY_LEN];
    getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("video-key new: no random source: {e}"))?;
    let key = utkik_shared::video_key::VideoKey::from_bytes(bytes);
    utkik_shared::secret_file::write_secret(out, key.to_json("utkik-ground video-key new").as_bytes())
        .with_context(|| format!("video-key new: writing {}", out.display()))?;
    println!(
        "video key (station --video-key, drone privacy.srtp_key; mode 0600): {}",
        out.display()
    );
    Ok(())
}

/// `seal-key new`: a new station seal key pair; prints the two paths and the public key.
fn seal_key_new(out: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("seal-key new: creating {}", out.display()))?;
    let (secret, public) = (out.join("seal.key.json"), out.join("seal.public.json"));
    if secret.exists() {
        anyhow::bail!(
            "seal-key new: {} exists; a new key would make the images sealed to the old one unreadable (move it away first)",
            secret.display()
        );
    }
    let keys = utkik_shared::seal::SealKeyPair::generate();
    keys.write_files(&secret, &public, "utkik-ground seal-key new")?;
    println!("secret (station --seal-key, mode 0600): {}", secret.display());
    println!("public (drone gate.ground_seal_public): {}", public.display());
    println!("public key: {}", keys.public().to_hex());
    Ok(())
}

/// The station's seal key (`--seal-key`, or DEMO's with --demo); without one, says at start-up
/// that every sealed image will be refused.
fn station_seal_key(args: &LiveArgs) -> Result<Option<utkik_shared::seal::SealKeyPair>> {
    let Some(path) = &args.seal_key else {
        let msg = "no --seal-key: images sealed by drones (gate.ground_seal_public) will be refused, not shown";
        warn!("{msg}");
        eprintln!("utkik-ground: {msg}");
        return Ok(None);
    };
    let keys = utkik_shared::seal::SealKeyPair::load(path).context("--seal-key")?;
    info!(
        "seal key {}: opens images sealed to {}",
        path.display(),
        keys.public().to_hex()
    );
    Ok(Some(keys))
}

/// Gives the station's alerts the seal key that opens sealed images.
fn install_seal_key(app: &mut App, keys: Option<utkik_shared::seal::SealKeyPair>) {
    app.world_mut().resource_mut::<WorldRes>().0.alerts.set_seal_key(keys);
}

/// Users, keys and sign-in rules of the live station (issue 14 items 1 and 6).
#[derive(clap::Args, Clone, Default)]
struct StationAuthArgs {
    /// Run the demo with the public DEMO users and keys (compiled in, written 0600 under
    /// RECORD_DIR/DEMO-keys); the window title, the console banner and every audit checkpoint
    /// say DEMO. Without it --users, --trust-store, --link-key and --audit-key are required.
    #[arg(long)]
    demo: bool,
    /// Users who may sign in (argon2id password hashes, roles; mode 0600). Create with
    /// `utkik-ground users add`.
    #[arg(long = "users")]
    users: Option<PathBuf>,
    /// Trust store of issuer keys for authorizations.
    #[arg(long = "trust-store")]
    trust_store: Option<PathBuf>,
    /// The drones' MAVLink 2 link keys (mode 0600): a keys file, one key per system id
    /// (`utkik-link-keys/1`), or one key for every drone (`utkik-link-key/1`).
    #[arg(long = "link-key")]
    link_key: Option<PathBuf>,
    /// Key for the audit log's signed checkpoints (mode 0600).
    #[arg(long = "audit-key")]
    audit_key: Option<PathBuf>,
    /// The station's image seal key (`utkik-seal-key/1`, mode 0600; make one with `seal-key
    /// new`): opens the evidence crops and plate images drones seal to its public half. Without
    /// it sealed images are refused (said at start-up); --demo uses the DEMO one.
    #[arg(long = "seal-key")]
    seal_key: Option<PathBuf>,
    /// Sign the user out after this many seconds without activity (30 to 43200).
    #[arg(long, default_value_t = utkik_ground::auth::session::DEFAULT_IDLE_SIGN_OUT_S)]
    idle_sign_out_s: u64,
}

/// Decides the users file and keys (refusing to start without them unless --demo, naming what
/// is missing) and fills them into `args`; prints the DEMO banner for a DEMO run.
fn resolve_station_keys(args: &mut LiveArgs) -> Result<()> {
    use utkik_ground::auth::startup::{KeyArgs, resolve};
    let a = &args.auth;
    let keys = resolve(
        &KeyArgs {
            demo: a.demo,
            users: a.users.clone(),
            trust_store: a.trust_store.clone(),
            link_key: a.link_key.clone(),
            audit_key: a.audit_key.clone(),
            seal_key: a.seal_key.clone(),
        },
        &args.record_dir,
    )?;
    if let Some(set) = &keys.demo {
        println!("utkik-ground: {}", utkik_shared::demo::DEMO_BANNER);
        println!("utkik-ground: DEMO users and keys written to {}", set.dir.display());
        warn!("{}", utkik_shared::demo::DEMO_BANNER);
    }
    args.users = keys.users;
    args.trust_store = keys.trust_store;
    args.link_key = keys.link_key;
    args.audit_key = keys.audit_key;
    args.seal_key = keys.seal_key;
    Ok(())
}

fn ground_ops(args: &LiveArgs) -> Result<OpsRes> {
    let users = UserDirectory::load(&args.users).context("loading the users file (--users)")?;
    let trust_bytes = std::fs::read(&args.trust_store)
        .with_context(|| format!("reading the trust store {}", args.trust_store.display()))?;
    let trust = utkik_shared::authz::TrustStore::from_json(&trust_bytes)
        .with_context(|| format!("trust store {}", args.trust_store.display()))?;
    let audit_dir = args.audit_dir.clone().unwrap_or_else(|| args.record_dir.join("audit"));
    let signer = load_checkpoint_signer(&args.audit_key)?;
    let audit = GroundAudit::open(&audit_dir, Some(signer))
        .with_context(|| format!("opening the audit log in {}", audit_dir.display()))?;
    info!("audit log {}", audit.path().display());
    for u in users.needing_new_password() {
        let msg = format!(
            "user `{}` cannot sign in: old PBKDF2 entry in {}; set a new password with `utkik-ground users passwd --users {} {}`",
            u.user_id,
            args.users.display(),
            args.users.display(),
            u.user_id
        );
        warn!("{msg}");
        eprintln!("utkik-ground: {msg}");
    }
    // Command-signing keys (LAW.md 4.5): a crew member without one cannot give commands, and one
    // whose key the trust store does not list will be refused by a drone with the same file.
    for u in users.missing_signing_key() {
        let msg = format!(
            "user `{}` has no command-signing key in {} (a users file from before per-user keys): their commands are refused; `utkik-ground users passwd --new-key --users {} {}`, then add `utkik-ground users trust-entry` to the drone's trust store",
            u.user_id,
            args.users.display(),
            args.users.display(),
            u.user_id
        );
        warn!("{msg}");
        eprintln!("utkik-ground: {msg}");
    }
    for u in users.users() {
        let Some(k) = &u.signing_key else { continue };
        let listed = trust
            .user(&u.user_id)
            .is_some_and(|t| hex::encode(t.key.as_bytes()) == k.public_key_hex);
        if !listed {
            warn!(
                "user `{}`: the trust store does not list this user's signing key; a drone with the same trust store refuses their commands (`utkik-ground users trust-entry --users {} {}`)",
                u.user_id,
                args.users.display(),
                u.user_id
            );
        }
    }
    let mut ops = GroundOps::new(users, trust, audit);
    ops.session = utkik_ground::auth::Session::with_policy(
        args.auth.idle_sign_out_s,
        utkik_ground::auth::ThrottlePolicy::default(),
    );
    if args.auth.demo {
        // The log itself says it is a DEMO log (its checkpoints carry the DEMO key's id too).
        let now = wall_clock_usec();
        ops.audit
            .record(
                now,
                utkik_shared::audit::AuditEvent::Consultation {
                    user_id: "DEMO".into(),
                    what: format!("station started with --demo: {}", utkik_shared::demo::DEMO_BANNER),
                },
            )
            .context("writing the DEMO record to the audit log")?;
        ops.audit.checkpoint(now).context("audit checkpoint")?;
    }
    if let Some(p) = &args.authorization {
        match ops.load_authorization(p, wall_clock_usec()) {
            Ok(d) => info!("authorization {} verified, digest {}", p.display(), d.to_hex()),
            // Shown in the panel (naming the field); the station still runs without identification.
            Err(e) => warn!("authorization {} refused: {e}", p.display()),
        }
    }
    // Non-hit plate reads: kept only with --keep-non-hits-days; a store left by an earlier run
    // is opened anyway so that its reads still expire on time and stay searchable until then.
    let store_path = args.record_dir.join(utkik_ground::stored_reads::STORE_FILE);
    if args.keep_non_hits_days > 0 || store_path.exists() {
        std::fs::create_dir_all(&args.record_dir).with_context(|| format!("creating {}", args.record_dir.display()))?;
        let (store, purged) =
            utkik_ground::stored_reads::StoredReads::open(&store_path, args.keep_non_hits_days, wall_clock_usec())?;
        info!(
            "non-hit plate reads: {} (kept {} days; {purged} expired reads deleted at start-up)",
            store_path.display(),
            args.keep_non_hits_days
        );
        ops.set_stored_reads(store);
    } else {
        info!("non-hit plate reads are not kept (--keep-non-hits-days 0): their text is dropped on arrival");
    }
    // Hit-plate sightings: kept with --hit-list (each hit's entry and expiry come from it); a
    // store left by an earlier run is opened anyway so that its sightings still expire on time.
    let history_path = args.record_dir.join(utkik_ground::hit_history::STORE_FILE);
    if let Some(list) = &args.hit_list {
        let grammar = utkik_shared::plate::PlateGrammar::for_countries(&["SE"]).context("--hit-list")?;
        ops.load_station_hit_list(list, &grammar, wall_clock_usec())
            .with_context(|| format!("--hit-list {}", list.display()))?;
    }
    if args.hit_list.is_some() || history_path.exists() {
        std::fs::create_dir_all(&args.record_dir).with_context(|| format!("creating {}", args.record_dir.display()))?;
        let (store, purged) = utkik_ground::hit_history::HitHistory::open(&history_path, wall_clock_usec())
            .with_context(|| format!("hit history {}", history_path.display()))?;
        info!(
            "hit-plate sightings: {} ({purged} expired sightings deleted at start-up)",
            history_path.display()
        );
        ops.set_hit_history(store);
    }
    // A DEMO run's exports (disclosures of evidence) go to a folder that says DEMO.
    let exports = if args.auth.demo { "DEMO-exports" } else { "exports" };
    Ok(OpsRes::new(ops, audit_dir.join(exports)))
}

/// The retention policy of the live station (refused under six months) over its recordings,
/// exports and the console's viewing files, applied once now; the [`RetentionPlugin`] repeats it on a timer.
fn retention(args: &LiveArgs, ops: &mut OpsRes) -> Result<RetentionRes> {
    let policy = RetentionPolicy::new(args.retention_days, args.retention_days).context("--retention-days")?;
    let dirs = vec![
        AgedDir {
            what: "recording",
            dir: args.record_dir.clone(),
        },
        AgedDir {
            what: "export",
            dir: ops.export_dir.clone(),
        },
        // The console's copies of evidence images for a user to look at (console.rs).
        AgedDir {
            what: "viewing file",
            dir: ops.export_dir.parent().unwrap_or(&ops.export_dir).join("viewing"),
        },
        // The station's copies of urgent documents it built, with their enrolment images.
        AgedDir {
            what: "urgent-use copy",
            dir: ops
                .export_dir
                .parent()
                .unwrap_or(&ops.export_dir)
                .join(utkik_ground::urgent::URGENT_DIR),
        },
    ];
    let run = ops
        .ops
        .audit
        .apply_retention(&policy, &dirs, wall_clock_usec())
        .context("applying the retention policy at start-up")?;
    info!(
        "retention ({} days): erased {} payloads and {} files at start-up",
        args.retention_days,
        run.payloads.len(),
        run.files.len()
    );
    for p in run.problems {
        warn!("retention: {p}");
    }
    Ok(RetentionRes {
        policy,
        dirs,
        last_run_s: Some(0.0),
    })
}

/// The message source, and for a live link the handle that redacts its recordings (attached to
/// the operator actions, so a refused urgent use is cut out of the tlogs too).
fn source(args: &LiveArgs, tlog: Option<&PathBuf>) -> Result<(MessageSource, AppState, Option<LinkRedactor>)> {
    if let Some(path) = tlog {
        let records = read_tlog(path).with_context(|| format!("reading tlog {}", path.display()))?;
        let (events, stats) = link::events_from_records(&records);
        info!(
            "{}: {} messages, {} bad frames",
            path.display(),
            events.len(),
            stats.bad_frames()
        );
        let (tx, rx) = crossbeam_channel::unbounded();
        for e in events {
            tx.send(e).ok();
        }
        return Ok((MessageSource::Channel(rx), AppState::Replay, None));
    }
    if args.link == "none" {
        info!("no drone link (--link none): a centre showing other stations' events");
        return Ok((MessageSource::None, AppState::Live, None));
    }
    let src: LinkSource = args.link.parse()?;
    let handle = link::start(LinkConfig {
        source: src.clone(),
        record_dir: Some(args.record_dir.clone()),
        rotate_bytes: args.rotate_mib * 1024 * 1024,
        // One key per drone (a keys file), or one for all (a single key file).
        signing: Some(LinkKeys::load(&args.link_key).context("the drones' link keys (--link-key)")?),
        // The replay window and our last signing timestamp survive a restart of the station.
        state_file: Some(args.record_dir.join(link::SIGNING_STATE_FILE)),
    })?;
    info!("link {src:?} up; recording to {}", args.record_dir.display());
    let redactor = handle.redactor();
    Ok((MessageSource::Live(handle), AppState::Live, Some(redactor)))
}

fn windowed_app(args: &LiveArgs, src: MessageSource, state: AppState) -> App {
    let mut app = App::new();
    app.add_plugins(DefaultPlugins.set(WindowPlugin {
        primary_window: Some(Window {
            title: utkik_ground::auth::startup::window_title(args.auth.demo),
            resolution: (1600, 900).into(),
            ..default()
        }),
        ..default()
    }))
    .add_plugins(EguiPlugin::default())
    .insert_resource(src)
    .insert_resource(State::new(state))
    .add_plugins((GroundCorePlugins, GroundViewPlugins));
    let (view, tiles) = map_view(&args.geojson, args.tiles.as_deref());
    app.insert_resource(view);
    if let Some(t) = tiles {
        app.insert_resource(t);
    }
    app
}

/// Quit after [`LiveArgs::duration_s`].
#[derive(Resource)]
struct QuitAfter(f32);

fn quit_after(limit: Option<Res<QuitAfter>>, time: Res<Time>, mut exit: MessageWriter<AppExit>) {
    if limit.is_some_and(|l| time.elapsed_secs() >= l.0) {
        exit.write(AppExit::Success);
    }
}

/// The masked video of `--video` (none without it), recorded unless `--record-video false`.
fn station_video(args: &LiveArgs) -> Result<Option<VideoRes>> {
    let mut source = args.video.clone();
    if let Some(s) = &mut source {
        let key = match (&args.video_key, args.auth.demo) {
            (Some(p), false) => {
                let bytes = utkik_shared::secret_file::read_secret(p)
                    .with_context(|| format!("--video-key {}", p.display()))?;
                anyhow::ensure!(
                    !utkik_shared::demo::looks_like_demo(&bytes),
                    "--video-key {}: the public DEMO video key is refused without --demo",
                    p.display()
                );
                Some(utkik_shared::video_key::VideoKey::from_json(&bytes, p)?)
            }
            (Some(_), true) => anyhow::bail!("--demo uses the public DEMO video key; drop --video-key or --demo"),
            (None, true) => Some(utkik_shared::video_key::VideoKey::from_json(
                utkik_shared::demo::VIDEO_KEY_JSON,
                std::path::Path::new(utkik_shared::demo::VIDEO_KEY_FILE),
            )?),
            (None, false) => {
                warn!(
                    "--video without --video-key: the re-stream is taken as plain RTP (anyone on the radio can watch it)"
                );
                None
            }
        };
        s.srtp_key = key
            .map(|k| utkik_media::SrtpKey::from_bytes(k.as_bytes()))
            .transpose()
            .context("--video-key")?;
    }
    let video = start_station_video(source.as_ref(), args.record_video, &args.record_dir, wall_clock_usec())
        .context("--video")?;
    if let Some(v) = &video {
        info!(
            "video: masked re-stream on udp {}; recording {}",
            v.address,
            v.recording
                .as_ref()
                .map_or_else(|| "off".into(), |p| p.display().to_string())
        );
    }
    Ok(video)
}

#[allow(clippy::too_many_arguments)] // the headless app's resources, each built and checked by run()
fn run_headless(
    src: MessageSource,
    state: AppState,
    duration_s: Option<f32>,
    ops: OpsRes,
    kept: RetentionRes,
    video: Option<VideoRes>,
    seal: Option<utkik_shared::seal::SealKeyPair>,
    bus: Option<StationBus>,
    intake: Option<EventIntake>,
) {
    if has_display() {
        println!("utkik-ground: headless (--headless): printing a summary; operator console on stdin");
    } else {
        println!(
            "utkik-ground: no display found (DISPLAY/WAYLAND_DISPLAY unset): running headless, printing a summary; operator console on stdin"
        );
    }
    let mut app = App::new();
    app.add_plugins(MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::from_millis(50))))
        .insert_resource(src)
        .insert_resource(State::new(state))
        .insert_resource(ops)
        .insert_resource(kept)
        .add_plugins((GroundCorePlugins, ConsolePlugin))
        .add_systems(Update, (print_summary, quit_after));
    install_seal_key(&mut app, seal);
    if let Some(b) = bus {
        app.insert_resource(b);
    }
    if let Some(i) = intake {
        app.insert_resource(i);
    }
    if let Some(v) = video {
        app.insert_resource(v);
    }
    if let Some(d) = duration_s {
        app.insert_resource(QuitAfter(d));
    }
    app.run();
}

fn print_summary(
    world: Res<WorldRes>,
    video: Option<ResMut<VideoRes>>,
    intake: Option<Res<EventIntake>>,
    remote: Res<RemoteRes>,
    time: Res<Time>,
    mut last: Local<f32>,
) {
    if time.elapsed_secs() - *last >= 2.0 {
        *last = time.elapsed_secs();
        println!("{}", world.0.summary());
        if let Some(i) = intake {
            let c = &i.counts;
            println!(
                "  centre: {} sources; events accepted {}, refused {}; plate hits kept {}, not kept {}",
                remote.0.len(),
                c.centre.accepted,
                c.centre.refused_total(),
                c.sightings_kept,
                c.sightings_not_kept
            );
            for line in remote.0.summary_lines(wall_clock_usec()) {
                println!("    {line}");
            }
        }
        if let Some(mut v) = video {
            println!(
                "  video (masked by the drone): {}",
                v.view.state_text(wall_clock_usec())
            );
        }
        for a in world.0.alerts.iter().filter(|a| a.needs_attention()) {
            println!(
                "  ALERT v{} #{}: {} ({:?})",
                a.system_id,
                a.alert_id,
                a.label(),
                a.state
            );
        }
    }
}

#[derive(Resource)]
struct ShotPlan {
    out: PathBuf,
    after_s: f32,
    taken_at: Option<f32>,
}

fn screenshot_system(
    mut commands: Commands,
    time: Res<Time>,
    mut plan: ResMut<ShotPlan>,
    mut exit: MessageWriter<AppExit>,
) {
    let t = time.elapsed_secs();
    match plan.taken_at {
        None if t >= plan.after_s => {
            commands
                .spawn(Screenshot::primary_window())
                .observe(save_to_disk(plan.out.clone()));
            plan.taken_at = Some(t);
        }
        Some(t0) => {
            let done = std::fs::metadata(&plan.out).is_ok_and(|m| m.len() > 0);
            if (done && t - t0 > 1.0) || t - t0 > 30.0 {
                exit.write(if done { AppExit::Success } else { AppExit::error() });
            }
        }
        None => {}
    }
}

/// A one-line progress bar on stderr for long indexing and export.
fn progress_bar(label: &'static str) -> impl FnMut(u64, u64) {
    let mut last_pct = u64::MAX;
    move |done, total| {
        let pct = (done * 100).checked_div(total).unwrap_or(100).min(100);
        if pct != last_pct {
            last_pct = pct;
            let filled = (pct / 5) as usize;
            eprint!("\r{label} [{}{}] {pct:3}%", "#".repeat(filled), ".".repeat(20 - filled));
            if pct == 100 {
                eprintln!();
            }
        }
    }
}

fn overlays(paths: &[PathBuf]) -> Result<Vec<utkik_ground::map::geojson::Overlay>> {
    let mut out = Vec::new();
    for p in paths {
        let (o, skipped) = load_geojson(p)?;
        if skipped > 0 {
            eprintln!("{}: skipped {skipped} features with unsupported geometry", p.display());
        }
        out.extend(o);
    }
    Ok(out)
}

/// Public checkpoint key files -> keys (None when none given).
fn load_public_keys(paths: &[PathBuf]) -> Result<Option<utkik_shared::audit::CheckpointKeys>> {
    if paths.is_empty() {
        return Ok(None);
    }
    let files = paths
        .iter()
        .map(|p| std::fs::read(p).with_context(|| format!("reading the public key {}", p.display())))
        .collect::<Result<Vec<_>>>()?;
    let keys = keys_from_public_files(files.iter().map(Vec::as_slice))
        .map_err(|(i, e)| anyhow::anyhow!("public key {}: {e}", paths[i].display()))?;
    Ok(Some(keys))
}

/// The reviewer's session over the station's audit log (replay, report).
fn review_session(args: &ReviewArgs) -> Result<ReviewSession> {
    let users = UserDirectory::load(&args.users).context("loading the users file (--users)")?;
    let signer = args.audit_key.as_deref().map(load_checkpoint_signer).transpose()?;
    if signer.is_none() {
        eprintln!("utkik-ground: no --audit-key: consultations are logged without signed checkpoints");
    }
    let audit = GroundAudit::open(&args.audit_dir, signer)
        .with_context(|| format!("opening the audit log in {}", args.audit_dir.display()))?;
    Ok(ReviewSession::new(users, audit))
}

/// A password from the first line of stdin (scripts pipe it; never an argument, which other
/// users could read in the process list).
fn read_password(user: &str) -> Result<String> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        eprint!("password for {user} (echoed): ");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let pw = line.trim_end_matches(['\n', '\r']).to_string();
    anyhow::ensure!(!pw.is_empty(), "no password on stdin for {user}");
    Ok(pw)
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("utkik-ground: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run() -> Result<()> {
    let mut cli = Cli::parse();
    match &mut cli.command {
        None => resolve_station_keys(&mut cli.live)?,
        Some(Cmd::Screenshot { live, .. }) => resolve_station_keys(live)?,
        _ => {}
    }
    match cli.command {
        Some(Cmd::Report {
            file,
            out,
            audit,
            geojson,
            tiles,
            review,
        }) => {
            let user = review
                .user
                .clone()
                .context("report: --user is required (a report is a disclosure, logged with who wrote it)")?;
            let mut session = review_session(&review)?;
            let password = read_password(&user)?;
            session
                .login(&user, &password, wall_clock_usec())
                .with_context(|| format!("report: signing in as {user}"))?;
            // A report of a DEMO run (its audit log signed with the DEMO key) says DEMO.
            let demo_log = audit.as_deref().is_some_and(utkik_shared::demo::audit_log_file_is_demo);
            let audit = AuditStatus::check(audit.as_deref());
            if let Some(b) = audit.banner() {
                eprintln!("utkik-ground report: {b}");
            }
            let replay = Replay::open_with_seal_key(&file, review.seal_key()?, progress_bar("indexing"))?;
            let opts = ReportOptions {
                title: format!(
                    "{}{}",
                    if demo_log { "DEMO - " } else { "" },
                    file.file_name()
                        .map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned())
                ),
                overlays: overlays(&geojson)?,
                tiles,
                audit,
                // Set from the reviewer's role by write_reviewed.
                evidence: EvidenceAccess::LeftOut(String::new()),
                reader: String::new(),
            };
            let data = report::write_reviewed(
                &mut session,
                &file,
                &replay,
                opts,
                &out,
                progress_bar("report"),
                wall_clock_usec(),
            )
            .with_context(|| format!("writing the report {}", out.display()))?;
            if let EvidenceAccess::LeftOut(why) = session.evidence_access() {
                eprintln!("utkik-ground report: evidence images left out: {why}");
            }
            session.logout(wall_clock_usec())?;
            println!(
                "report {}: {} records, {} events, {} alerts",
                out.display(),
                replay.stats.records,
                replay.events.len(),
                data.alerts.len()
            );
            Ok(())
        }
        Some(Cmd::Replay {
            file,
            audit,
            geojson,
            tiles,
            speed,
            paused,
            screenshot,
            after_s,
            review,
        }) => {
            anyhow::ensure!(file.is_file(), "replay: no such file {}", file.display());
            let mut session = review_session(&review)?;
            if let Some(user) = &review.user {
                let password = read_password(user)?;
                let now = wall_clock_usec();
                session
                    .login(user, &password, now)
                    .and_then(|_| session.open_recording(&file, now))
                    .with_context(|| format!("replay: signing in as {user}"))?;
            }
            anyhow::ensure!(
                (0.25..=16.0).contains(&speed),
                "replay: --speed must be 0.25 to 16, got {speed}"
            );
            if !has_display() {
                anyhow::bail!("replay needs a display (for a headless summary use `utkik-ground report`)");
            }
            let args = LiveArgs {
                link: String::new(),
                geojson,
                tiles,
                record_dir: PathBuf::new(),
                rotate_mib: 0,
                headless: false,
                console: false,
                duration_s: None,
                auth: StationAuthArgs::default(),
                users: PathBuf::new(),
                authorization: None,
                trust_store: PathBuf::new(),
                link_key: PathBuf::new(),
                audit_dir: None,
                audit_key: PathBuf::new(),
                seal_key: None,
                retention_days: utkik_shared::audit::MIN_IDENTIFICATION_RETENTION_DAYS,
                keep_non_hits_days: 0,
                hit_list: None,
                video: None,
                record_video: false,
                video_key: None,
                events: Default::default(),
            };
            let mut app = windowed_app(&args, MessageSource::None, AppState::Replay);
            app.insert_resource(ReviewRes::new(session, file.clone()));
            app.add_plugins(ReplayPlugin {
                path: file,
                audit,
                autoplay: !paused,
                speed,
                seal_key: review.seal_key()?,
            });
            if let Some(out) = &screenshot {
                let _ = std::fs::remove_file(out);
                app.insert_resource(ShotPlan {
                    out: out.clone(),
                    after_s,
                    taken_at: None,
                })
                .add_systems(Update, screenshot_system);
            }
            let code = app.run();
            anyhow::ensure!(code.is_success(), "replay ended with an error");
            Ok(())
        }
        Some(Cmd::SealKey(SealKeyCmd::New { out })) => seal_key_new(&out),
        Some(Cmd::VideoKey(VideoKeyCmd::New { out })) => video_key_new(&out),
        Some(Cmd::Users(cmd)) => {
            println!("{}", utkik_ground::auth::cli::run(&cmd)?);
            Ok(())
        }
        Some(Cmd::Centre(args)) => utkik_ground::centre::cli::run_centre(&args),
        Some(Cmd::Router(args)) => utkik_ground::centre::cli::run_router(&args),
        Some(Cmd::CentreLoad(args)) => utkik_ground::centre::load::run(&args),
        Some(Cmd::StationKey(cmd)) => utkik_ground::centre::cli::station_key(&cmd),
        Some(Cmd::Hitlist(cmd)) => {
            println!("{}", utkik_ground::hitlist_cli::run(&cmd)?.trim_end());
            Ok(())
        }
        Some(Cmd::Synth { out, duration_s }) => {
            std::fs::create_dir_all(&out)?;
            let m = utkik_ground::synth::mission(duration_s, 30);
            let mut rec = TlogRecorder::new(&out, "synth", u64::MAX)?;
            let t0: u64 = 1_790_000_000_000_000;
            for (t, f) in &m.frames {
                rec.write(t0 + t, f)?;
            }
            rec.flush()?;
            let gj = out.join("synth.geojson");
            std::fs::write(&gj, utkik_ground::synth::geojson())?;
            println!(
                "{} frames -> {}; map {}",
                m.frames.len(),
                rec.files[0].display(),
                gj.display()
            );
            Ok(())
        }
        Some(Cmd::Screenshot {
            out,
            tlog,
            after_s,
            live,
        }) => {
            if !has_display() {
                anyhow::bail!("screenshot needs a display: run under xvfb-run (see scripts/screenshot-smoke.sh)");
            }
            let mut ops = ground_ops(&live)?;
            let seal = station_seal_key(&live)?;
            let kept = retention(&live, &mut ops)?;
            let (src, state, redactor) = source(&live, tlog.as_ref())?;
            if let Some(r) = redactor {
                ops.ops.set_redactor(Box::new(r));
            }
            let _ = std::fs::remove_file(&out);
            let video = station_video(&live)?;
            // A live station or centre photographs as it runs: its event bus too.
            let bus = live.events.station_bus()?;
            let intake = live.events.event_intake()?;
            let mut app = windowed_app(&live, src, state);
            app.insert_resource(ops).insert_resource(kept);
            install_seal_key(&mut app, seal);
            if let Some(v) = video {
                app.insert_resource(v);
            }
            if let Some(b) = bus {
                app.insert_resource(b);
            }
            if let Some(i) = intake {
                app.insert_resource(i);
            }
            if live.console {
                app.add_plugins(ConsolePlugin);
            }
            app.insert_resource(ShotPlan {
                out: out.clone(),
                after_s,
                taken_at: None,
            })
            .add_systems(Update, screenshot_system);
            let code = app.run();
            anyhow::ensure!(code.is_success(), "screenshot not saved to {}", out.display());
            anyhow::ensure!(
                std::fs::metadata(&out).is_ok_and(|m| m.len() > 0),
                "screenshot not saved to {}: the station ended (console `quit`, --duration-s) before --after-s",
                out.display()
            );
            println!("saved {}", out.display());
            Ok(())
        }
        Some(Cmd::VerifyAudit {
            file,
            public_key,
            anchor,
        }) => {
            let keys = load_public_keys(&public_key)?;
            let anchor = anchor.as_deref().map(parse_anchor).transpose().context("--anchor")?;
            match report::verify::verify_audit_text(&file, keys.as_ref(), anchor) {
                Ok(text) => {
                    println!("{text}");
                    Ok(())
                }
                Err(text) => {
                    eprintln!("utkik-ground verify-audit: {text}");
                    std::process::exit(1);
                }
            }
        }
        Some(Cmd::AuditPublicKey { key, out, note }) => {
            let signer = load_checkpoint_signer(&key)?;
            std::fs::write(&out, public_key_json(&signer, &note))
                .with_context(|| format!("writing {}", out.display()))?;
            println!("public key `{}` -> {}", signer.key_id, out.display());
            Ok(())
        }
        Some(Cmd::Reconcile {
            onboard,
            ground,
            public_key,
        }) => {
            let keys = load_public_keys(&public_key)?;
            let read = |p: &Path| -> Result<Vec<utkik_shared::audit::RecordBody>> {
                let options = utkik_shared::audit::VerifyOptions {
                    keys: keys.as_ref(),
                    anchor: None,
                };
                utkik_shared::audit::verify_file(p, &options)
                    .with_context(|| format!("{} does not verify", p.display()))?;
                report::verify::read_bodies(p).map_err(anyhow::Error::msg)
            };
            let (on, gr) = (read(&onboard)?, read(&ground)?);
            let found = report::reconcile::reconcile(&on, &gr);
            println!(
                "onboard {} ({} records), ground {} ({} records){}",
                onboard.display(),
                on.len(),
                ground.display(),
                gr.len(),
                if keys.is_some() {
                    ", checkpoints checked"
                } else {
                    ", checkpoint signatures NOT checked"
                }
            );
            if found.is_empty() {
                println!("AGREE: every use, match and deletion is in both logs");
                return Ok(());
            }
            for d in &found {
                println!("DISAGREE: {d}");
            }
            eprintln!("utkik-ground reconcile: {} disagreement(s)", found.len());
            std::process::exit(1);
        }
        Some(Cmd::ImyReport { audit, out, review }) => {
            let user = review
                .user
                .clone()
                .context("imy-report: --user is required (the report is a disclosure, logged with who wrote it)")?;
            let mut session = review_session(&review)?;
            let password = read_password(&user)?;
            session
                .login(&user, &password, wall_clock_usec())
                .with_context(|| format!("imy-report: signing in as {user}"))?;
            session
                .reviewer()
                .with_context(|| format!("imy-report: {user} may not write it"))?;
            let written = imy::write_reports(&audit, &out)?;
            session
                .record_imy_report(&audit, &out, wall_clock_usec())
                .context("imy-report: logging the disclosure")?;
            session.logout(wall_clock_usec()).context("imy-report: signing out")?;
            for p in written {
                println!("{}", p.display());
            }
            Ok(())
        }
        None => {
            let mut ops = ground_ops(&cli.live)?;
            let seal = station_seal_key(&cli.live)?;
            let kept = retention(&cli.live, &mut ops)?;
            let (src, state, redactor) = source(&cli.live, None)?;
            if let Some(r) = redactor {
                ops.ops.set_redactor(Box::new(r));
            }
            let video = station_video(&cli.live)?;
            let bus = cli.live.events.station_bus()?;
            let intake = cli.live.events.event_intake()?;
            if cli.live.headless || !has_display() {
                run_headless(src, state, cli.live.duration_s, ops, kept, video, seal, bus, intake);
            } else {
                let mut app = windowed_app(&cli.live, src, state);
                app.insert_resource(ops).insert_resource(kept);
                install_seal_key(&mut app, seal);
                if let Some(b) = bus {
                    app.insert_resource(b);
                }
                if let Some(i) = intake {
                    app.insert_resource(i);
                }
                if let Some(v) = video {
                    app.insert_resource(v);
                }
                if cli.live.console {
                    app.add_plugins(ConsolePlugin);
                }
                app.add_systems(Update, quit_after);
                if let Some(d) = cli.live.duration_s {
                    app.insert_resource(QuitAfter(d));
                }
                app.run();
            }
            Ok(())
        }
    }
}
