//! The operator console: the ground station's actions as typed commands, for headless use
//! (a ground station reached over SSH, like MAVProxy's console) and for scripted end-to-end runs.
//!
//! Every command goes through [`GroundOps`], the same path the egui panels use, so the LAW.md
//! rules (sign-in, roles, two different users per match, audit log) hold here exactly as in the
//! window. The console only parses and formats; it never decides anything itself.
//!
//! A password is never part of a command line: `login USER` asks for it, and the next line read
//! is taken as the password (and never echoed into the output or the log).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use thiserror::Error;
use utkik_shared::dialect::MavMessage;

use crate::authorization::AuthzAction;
use crate::ops::{GroundOps, OpsError};
use crate::state::{AlertAction, AlertKind, AlertState, World};

/// Closest map zoom, metres per screen pixel (the mouse wheel stops here too).
pub const MAP_M_PER_PX_MIN: f64 = 0.02;
/// Farthest map zoom, metres per screen pixel.
pub const MAP_M_PER_PX_MAX: f64 = 50.0;

/// A search's results as the console prints them (the search itself is already logged).
pub fn search_text(query: &str, found: &crate::ops::ReadSearch) -> String {
    let mut s = format!(
        "{} plate reads match `{query}` (search logged): {} on the map now, {}",
        found.live.len() + found.stored.len(),
        found.live.len(),
        if found.store_open {
            format!("{} stored non-hit reads", found.stored.len())
        } else {
            "no non-hit reads are kept at this station".to_string()
        }
    );
    for (k, plate) in &found.live {
        let _ = write!(
            s,
            "\n  {plate} (vehicle {} track {}, on the map)",
            k.system_id, k.track_id
        );
    }
    for r in &found.stored {
        let _ = write!(
            s,
            "\n  {} (vehicle {} track {}, {}, {}%{}; deleted {})",
            r.plate,
            r.system_id,
            r.track_id,
            utkik_shared::utc::format_utc_usec(r.time_usec),
            r.confidence,
            r.lat_lon_deg
                .map(|(la, lo)| format!(", {la:.6} {lo:.6}"))
                .unwrap_or_default(),
            utkik_shared::utc::format_utc_usec(r.expires_usec),
        );
    }
    s
}

/// What `help` prints.
pub const HELP: &str = "\
commands:
  help                          this list
  status                        vehicles, tracks, alerts, link, authorization
  alerts                        every alert with its review state
  login USER                    sign in (the next line is the password)
  logout                        sign out
  authz ACTION [SYS]            activate | stop | revoke | urgent-start | urgent-applied | urgent-refused
                                to vehicle SYS (needed when several are heard; each has its own use);
                                signed with your key; an operator's activate waits for a co-signature
  authz cosign                  a second operator co-signs the activation another operator proposed
  urgent DRAFT.toml [SYS]       senior officer: start urgent use from a draft (purpose, persons with
                                enrolment images, area, window, justification; see
                                assets/authz/urgent-draft.example.toml): signed with your key, sent
                                to the drone, URGENT_START when the drone has verified it
  evidence SYS ALERT            open an alert's image: a possible match's evidence crop or a plate
                                hit's plate image (logged; needed before a verdict or a check)
  confirm SYS ALERT             confirm an alert (a possible match needs two different users)
  dismiss SYS ALERT             dismiss an alert
  export|mark|dispatch SYS ALERT  act on a confirmed alert
  search PLATE REASON...        search plate reads for part of a plate, stating why (e.g. the case
                                number); signed in; every search is logged with its reason
  history PLATE REASON...       a hit plate's movement history: its sightings from every source in
                                time order (operator or senior officer; logged with its reason)
  screenshot FILE.png           save the window (with a window only)
  map M_PER_PX                  map scale, metres per screen pixel (0.02-50; the wheel and +/- zoom too)
  quit                          sign out and end the ground station (the recording is closed cleanly)";

/// A parsed console command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The command list.
    Help,
    /// One-screen summary.
    Status,
    /// All alerts.
    Alerts,
    /// Sign in as this user; the password follows on the next line.
    Login(String),
    /// Sign out.
    Logout,
    /// An authorization command to a vehicle (None: the only one heard).
    Authz(AuthzAction, Option<u8>),
    /// Co-sign the activation another operator proposed (two-operator activation).
    CoSign,
    /// Start urgent use from the draft file on a vehicle (senior officer; None: the only one heard).
    Urgent(PathBuf, Option<u8>),
    /// Open an alert's image (evidence crop or plate image; written to a viewing file; logged).
    Evidence(u8, u32),
    /// Confirm alert (system id, alert id).
    Confirm(u8, u32),
    /// Dismiss alert.
    Dismiss(u8, u32),
    /// Export, mark or dispatch a confirmed alert.
    Act(AlertAction, u8, u32),
    /// Plate-read search: (part of a plate, the reason).
    Search(String, String),
    /// A hit plate's movement history: (the plate, the reason).
    History(String, String),
    /// Save a PNG of the window.
    Screenshot(PathBuf),
    /// Set the map scale, millimetres per screen pixel (an integer so commands compare exactly).
    MapScale(u32),
    /// Sign out and end the program.
    Quit,
}

/// A line the console cannot take; says what is wrong with it.
#[derive(Debug, Error)]
pub enum ConsoleError {
    /// Unknown first word.
    #[error("unknown command `{0}` (type `help`)")]
    Unknown(String),
    /// Wrong arguments for a known command.
    #[error("usage: {0}")]
    Usage(&'static str),
    /// An argument that does not parse.
    #[error("`{value}` is not a valid {what}")]
    BadArgument {
        /// What was expected.
        what: &'static str,
        /// What was given.
        value: String,
    },
    /// The drone's onboard gate has not been heard yet, so a start command is not sent.
    #[error(
        "vehicle {0}: no authorization status from its onboard computer yet, so the command could reach only the autopilot; try again when `status` shows it"
    )]
    NotHeard(u8),
    /// Several vehicles are heard and the command did not name one.
    #[error("several vehicles are heard ({0}): name the one the command is for (e.g. `authz stop 2`)")]
    WhichVehicle(String),
    /// The operation was refused (the rule is named).
    #[error("{0}")]
    Refused(#[from] OpsError),
}

fn system_id(word: &str) -> Result<u8, ConsoleError> {
    word.parse()
        .ok()
        .filter(|s| *s != 0)
        .ok_or_else(|| ConsoleError::BadArgument {
            what: "system id (1-255)",
            value: word.to_string(),
        })
}

/// The vehicle a command is for: the one named, else the only one heard, else vehicle 1 when
/// none is heard yet (a STOP is sent all the same; a start waits for the gate to be heard).
pub fn command_target(named: Option<u8>, world: &World) -> Result<u8, ConsoleError> {
    if let Some(s) = named {
        return Ok(s);
    }
    let heard: Vec<u8> = world.vehicles.keys().copied().collect();
    match heard.as_slice() {
        [] => Ok(1),
        [only] => Ok(*only),
        several => Err(ConsoleError::WhichVehicle(
            several.iter().map(u8::to_string).collect::<Vec<_>>().join(", "),
        )),
    }
}

fn alert_ref(args: &[&str], usage: &'static str) -> Result<(u8, u32), ConsoleError> {
    let [sys, id] = args else {
        return Err(ConsoleError::Usage(usage));
    };
    let sys = sys.parse().map_err(|_| ConsoleError::BadArgument {
        what: "system id (1-255)",
        value: (*sys).to_string(),
    })?;
    let id = id.parse().map_err(|_| ConsoleError::BadArgument {
        what: "alert id",
        value: (*id).to_string(),
    })?;
    Ok((sys, id))
}

impl Command {
    /// Parses one line (words separated by spaces; case-insensitive command names). An empty
    /// line or a `#` comment is `Ok(None)`.
    ///
    /// # Errors
    /// Unknown command, wrong arguments.
    pub fn parse(line: &str) -> Result<Option<Command>, ConsoleError> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let (head, args) = (words[0].to_ascii_lowercase(), &words[1..]);
        let cmd = match head.as_str() {
            "help" | "?" => Command::Help,
            "status" => Command::Status,
            "alerts" => Command::Alerts,
            "logout" => Command::Logout,
            "quit" | "exit" => Command::Quit,
            "login" => match args {
                [user] => Command::Login((*user).to_string()),
                _ => return Err(ConsoleError::Usage("login USER (the password goes on the next line)")),
            },
            "authz" => {
                let usage =
                    "authz activate|stop|revoke|urgent-start|urgent-applied|urgent-refused [SYS] | authz cosign";
                let (action, target) = match args {
                    [action] => (action, None),
                    [action, sys] => (action, Some(system_id(sys)?)),
                    _ => return Err(ConsoleError::Usage(usage)),
                };
                if action.eq_ignore_ascii_case("cosign") || action.eq_ignore_ascii_case("co-sign") {
                    if target.is_some() {
                        // The proposal names its vehicle already.
                        return Err(ConsoleError::Usage(usage));
                    }
                    return Ok(Some(Command::CoSign));
                }
                let action = match action.to_ascii_lowercase().replace('_', "-").as_str() {
                    "activate" => AuthzAction::Activate,
                    "stop" => AuthzAction::Stop,
                    "revoke" => AuthzAction::Revoke,
                    "urgent-start" => AuthzAction::UrgentStart,
                    "urgent-applied" => AuthzAction::UrgentApplied,
                    "urgent-refused" => AuthzAction::UrgentRefused,
                    _ => {
                        return Err(ConsoleError::BadArgument {
                            what: "authorization action (activate, stop, revoke, urgent-start, urgent-applied, urgent-refused, cosign)",
                            value: (*action).to_string(),
                        });
                    }
                };
                Command::Authz(action, target)
            }
            "evidence" => {
                let (s, a) = alert_ref(args, "evidence SYS ALERT")?;
                Command::Evidence(s, a)
            }
            "confirm" => {
                let (s, a) = alert_ref(args, "confirm SYS ALERT")?;
                Command::Confirm(s, a)
            }
            "dismiss" => {
                let (s, a) = alert_ref(args, "dismiss SYS ALERT")?;
                Command::Dismiss(s, a)
            }
            "export" | "mark" | "dispatch" => {
                let action = match head.as_str() {
                    "export" => AlertAction::Export,
                    "mark" => AlertAction::Mark,
                    _ => AlertAction::Dispatch,
                };
                let (s, a) = alert_ref(args, "export|mark|dispatch SYS ALERT")?;
                Command::Act(action, s, a)
            }
            "search" => match args {
                [plate, reason @ ..] if !reason.is_empty() => Command::Search(plate.to_string(), reason.join(" ")),
                _ => return Err(ConsoleError::Usage("search PLATE REASON...")),
            },
            "history" => match args {
                [plate, reason @ ..] if !reason.is_empty() => Command::History(plate.to_string(), reason.join(" ")),
                _ => return Err(ConsoleError::Usage("history PLATE REASON...")),
            },
            "urgent" => match args {
                [path] => Command::Urgent(PathBuf::from(path), None),
                [path, sys] => Command::Urgent(PathBuf::from(path), Some(system_id(sys)?)),
                _ => return Err(ConsoleError::Usage("urgent DRAFT.toml [SYS]")),
            },
            "screenshot" => match args {
                [path] if path.to_ascii_lowercase().ends_with(".png") => Command::Screenshot(PathBuf::from(path)),
                _ => return Err(ConsoleError::Usage("screenshot FILE.png")),
            },
            "map" => match args {
                [m] => match m.parse::<f64>() {
                    Ok(v) if (MAP_M_PER_PX_MIN..=MAP_M_PER_PX_MAX).contains(&v) => {
                        Command::MapScale((v * 1000.0).round() as u32)
                    }
                    _ => return Err(ConsoleError::Usage("map M_PER_PX (a number from 0.02 to 50)")),
                },
                _ => return Err(ConsoleError::Usage("map M_PER_PX (a number from 0.02 to 50)")),
            },
            _ => return Err(ConsoleError::Unknown(words[0].to_string())),
        };
        Ok(Some(cmd))
    }
}

/// What a command produced: text for the operator, and a message for the drone if any.
#[derive(Debug, Default)]
pub struct Reply {
    /// Lines for the operator.
    pub text: String,
    /// A (signed by the link) message to send: target system id and message.
    pub send: Option<(u8, MavMessage)>,
    /// A PNG of the window to save here (the plugin does it; headless has no window).
    pub screenshot: Option<PathBuf>,
    /// New map scale, metres per screen pixel (the plugin sets the map camera).
    pub map_m_per_px: Option<f32>,
    /// End the program (after this reply).
    pub quit: bool,
    /// A hit plate's movement history just queried (the map draws it as a path).
    pub hit_path: Option<crate::hit_history::HitPath>,
}

impl Reply {
    fn text(t: impl Into<String>) -> Self {
        Self {
            text: t.into(),
            ..Self::default()
        }
    }
}

/// Console state: only the pending sign-in (waiting for its password line).
#[derive(Debug, Default)]
pub struct Console {
    pending_login: Option<String>,
}

fn state_text(s: &AlertState) -> String {
    match s {
        AlertState::NeedsCheck => "needs check".into(),
        AlertState::Checked { by } => format!("checked by {by}"),
        AlertState::PossibleMatch { confirmed_by } if confirmed_by.is_empty() => {
            "POSSIBLE MATCH, 0/2 confirmations".into()
        }
        AlertState::PossibleMatch { confirmed_by } => {
            format!("POSSIBLE MATCH, 1/2 confirmations ({})", confirmed_by.join(", "))
        }
        AlertState::Confirmed { by } => format!("CONFIRMED by {} and {}", by[0], by[1]),
        AlertState::Dismissed { by } => format!("dismissed by {by}"),
    }
}

/// The alert list, one line each (`SYS/ALERT label: state`).
pub fn alerts_text(world: &World) -> String {
    if world.alerts.is_empty() {
        return "no alerts".into();
    }
    let mut s = String::new();
    for a in world.alerts.iter() {
        let ev = match (&a.evidence_jpeg, &a.kind) {
            (Some(j), AlertKind::PlateHit { .. }) => format!(", plate image {} B", j.len()),
            (Some(j), _) => format!(", evidence {} B", j.len()),
            (None, AlertKind::PlateHit { image_size, .. }) if *image_size > 0 => {
                format!(", plate image pending ({image_size} B)")
            }
            (None, _) => String::new(),
        };
        let _ = writeln!(
            s,
            "{}/{} {}: {}{ev}",
            a.system_id,
            a.alert_id,
            a.label(),
            state_text(&a.state)
        );
    }
    s.pop();
    s
}

impl Console {
    /// True while the next line is a password.
    pub fn wants_password(&self) -> bool {
        self.pending_login.is_some()
    }

    /// Takes one input line: a password if one is pending, else a command.
    ///
    /// # Errors
    /// The parse error or the refusal (naming the rule); nothing happened then.
    pub fn line(
        &mut self,
        line: &str,
        ops: &mut GroundOps,
        world: &mut World,
        export_dir: &Path,
        now_usec: u64,
    ) -> Result<Reply, ConsoleError> {
        // Idle sign-out first (auth/session.rs): a line typed after the idle time is taken
        // signed out, and the line itself is activity.
        ops.sign_out_if_idle(now_usec)?;
        ops.touch(now_usec);
        if let Some(user) = self.pending_login.take() {
            let a = ops.login_from("console", &user, line.trim_end_matches(['\r', '\n']), now_usec)?;
            let roles: Vec<String> = a.roles.iter().map(|r| format!("{r:?}")).collect();
            return Ok(Reply::text(format!("signed in: {} ({})", a.user_id, roles.join(", "))));
        }
        let Some(cmd) = Command::parse(line)? else {
            return Ok(Reply::default());
        };
        self.run(cmd, ops, world, export_dir, now_usec)
    }

    fn run(
        &mut self,
        cmd: Command,
        ops: &mut GroundOps,
        world: &mut World,
        export_dir: &Path,
        now_usec: u64,
    ) -> Result<Reply, ConsoleError> {
        Ok(match cmd {
            Command::Help => Reply::text(HELP),
            Command::Status => {
                let mut s = world.summary();
                ops.console.tick(now_usec);
                match ops.console.document.as_ref() {
                    Some(l) => {
                        let _ = write!(
                            s,
                            "\nauthorization {} ({:?}) loaded",
                            l.authorization().document().decision_id,
                            l.authorization().document().purpose,
                        );
                    }
                    None => s.push_str("\nno authorization loaded"),
                }
                for (sys, l) in &ops.console.vehicles {
                    let _ = write!(
                        s,
                        "\nvehicle {sys}: authorization {}, ground mirror {:?}",
                        l.authorization().document().decision_id,
                        l.state()
                    );
                }
                if let Some(p) = ops.pending_cosign() {
                    let _ = write!(
                        s,
                        "\nACTIVATE request {} proposed by {}: waiting for a second operator (`authz cosign`)",
                        p.message.request_id, p.proposer.user_id
                    );
                }
                for v in world.vehicles.values() {
                    if let Some(a) = &v.authz {
                        let _ = write!(
                            s,
                            "\nvehicle {} onboard authorization: {:?}, templates {}, matches {}",
                            v.system_id, a.state, a.templates_computed, a.matches
                        );
                        // LAW.md 2.4: the use goes on but the drone identifies nobody.
                        if let Some(line) = crate::plugins::authz::suspension_text(a) {
                            let _ = write!(s, ", {line}");
                        }
                    }
                }
                for u in world.uploads.active() {
                    let (got, total) = u.sender.progress();
                    let _ = write!(
                        s,
                        "\nupload of {} to vehicle {}: {got} of {total} bytes acknowledged, {} chunks sent",
                        u.decision_id,
                        u.sender.target_system(),
                        u.sender.chunks_sent()
                    );
                }
                // The newest command per vehicle: pending (with its sends) or how it ended.
                for c in world.commands.all().rev().take(world.vehicles.len().max(1)) {
                    let _ = write!(s, "\ncommand {}", c.describe(now_usec as f64 / 1e6));
                }
                Reply::text(s)
            }
            Command::Alerts => Reply::text(alerts_text(world)),
            Command::Login(user) => {
                // One user at a time: a new sign-in ends the previous session (logged).
                ops.logout(now_usec)?;
                self.pending_login = Some(user.clone());
                Reply::text(format!("password for {user}:"))
            }
            Command::Logout => {
                let who = ops.actor().map(|a| a.user_id.clone());
                ops.logout(now_usec)?;
                Reply::text(match who {
                    Some(u) => format!("signed out: {u}"),
                    None => "nobody was signed in".into(),
                })
            }
            Command::Authz(action, named) => {
                let target = command_target(named, world)?;
                // Starting identification needs the onboard gate heard (its UTKIK_AUTHZ_STATUS):
                // before that the command may reach only the autopilot. Stopping is always sent.
                let starts = matches!(action, AuthzAction::Activate | AuthzAction::UrgentStart);
                if starts && world.vehicles.get(&target).is_none_or(|v| v.authz.is_none()) {
                    return Err(ConsoleError::NotHeard(target));
                }
                let msg = ops.authz_command(world, action, target, now_usec)?;
                let mut text = format!(
                    "{} sent to vehicle {target} (signed); PENDING until the drone confirms it (resent meanwhile)",
                    action.name()
                );
                // A refusal deleted the use at the ground already: its receipt, in words.
                if action == AuthzAction::UrgentRefused
                    && let Some(d) = ops.last_deletion()
                {
                    let _ = write!(text, "\n{}", d.text());
                }
                Reply {
                    text,
                    send: Some((target, msg)),
                    ..Reply::default()
                }
            }
            Command::Urgent(draft, named) => {
                let target = command_target(named, world)?;
                // The drone must be able to take it: its gate is heard (a drone without a permit
                // says NONE), and nothing else is on its way to it.
                if world.vehicles.get(&target).is_none_or(|v| v.authz.is_none()) {
                    return Err(ConsoleError::NotHeard(target));
                }
                let cache = crate::urgent::default_cache_root();
                let u = ops.start_urgent(world, &draft, target, &cache, now_usec)?;
                Reply::text(format!(
                    "urgent use {} signed by you (digest {}), stored at {}; sending it to vehicle {target} ({} bytes, {} enrolment images): URGENT_START follows when the drone has verified it (`status` shows the upload)",
                    u.decision_id,
                    &hex::encode(u.digest.0)[..16],
                    u.path.display(),
                    u.bundle_bytes,
                    u.images
                ))
            }
            Command::CoSign => {
                let msg = ops.cosign_activation(world, now_usec)?;
                let target = match &msg {
                    MavMessage::UTKIK_AUTHZ_COMMAND(c) => c.target_system,
                    _ => 1,
                };
                Reply {
                    text: format!(
                        "ACTIVATE co-signed and sent to vehicle {target} (signed by both operators); PENDING until the drone confirms it (resent meanwhile)"
                    ),
                    send: Some((target, msg)),
                    ..Reply::default()
                }
            }
            Command::Evidence(sys, id) => {
                // A terminal cannot show a picture: the crop goes to a viewing file beside the
                // exports (recorded, so a refused use's copies are deleted with it).
                let dir = export_dir.parent().unwrap_or(export_dir).join("viewing");
                let (path, jpeg) = ops.open_viewing_file(world, sys, id, &dir, now_usec)?;
                let what = match world.alerts.get(sys, id).map(|a| &a.kind) {
                    Some(AlertKind::PlateHit { .. }) => "plate image",
                    _ => "evidence crop",
                };
                Reply::text(format!("{sys}/{id}: {what} ({} B) -> {}", jpeg.len(), path.display()))
            }
            Command::Confirm(sys, id) => {
                let s = ops.confirm(world, sys, id, now_usec)?;
                Reply::text(format!("{sys}/{id}: {}", state_text(&s)))
            }
            Command::Dismiss(sys, id) => {
                let s = ops.dismiss(world, sys, id, now_usec)?;
                Reply::text(format!("{sys}/{id}: {}", state_text(&s)))
            }
            Command::Act(action, sys, id) => match ops.act(world, sys, id, action, export_dir, now_usec)? {
                Some(p) => Reply::text(format!("{sys}/{id}: {} -> {}", action.name(), p.display())),
                None => Reply::text(format!("{sys}/{id}: {} done (logged)", action.name())),
            },
            Command::Screenshot(path) => Reply {
                screenshot: Some(path),
                ..Reply::default()
            },
            Command::MapScale(mm) => Reply {
                text: format!("map scale {:.3} m per pixel", f64::from(mm) / 1000.0),
                map_m_per_px: Some(mm as f32 / 1000.0),
                ..Reply::default()
            },
            Command::Quit => {
                ops.logout(now_usec)?;
                Reply {
                    text: "ending the ground station".into(),
                    quit: true,
                    ..Reply::default()
                }
            }
            Command::Search(q, reason) => {
                let found = ops.search_reads(world, &q, &reason, now_usec)?;
                Reply::text(search_text(&q, &found))
            }
            Command::History(plate, reason) => {
                let path = ops.hit_history(&plate, &reason, now_usec)?;
                Reply {
                    text: path.text(),
                    hit_path: Some(path),
                    ..Reply::default()
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard(ids: &[u8]) -> World {
        let mut w = World::new();
        for &system_id in ids {
            w.hear(system_id, 1.0);
        }
        w
    }

    #[test]
    fn authorization_commands_name_their_vehicle() {
        assert_eq!(
            Command::parse("authz stop").unwrap(),
            Some(Command::Authz(AuthzAction::Stop, None))
        );
        assert_eq!(
            Command::parse("AUTHZ activate 2").unwrap(),
            Some(Command::Authz(AuthzAction::Activate, Some(2)))
        );
        assert_eq!(
            Command::parse("urgent d.toml 3").unwrap(),
            Some(Command::Urgent(PathBuf::from("d.toml"), Some(3)))
        );
        // 0 is MAVLink's broadcast: a command for every vehicle is never what was meant.
        for bad in ["authz stop 0", "authz stop 256", "authz stop two", "urgent d.toml 0"] {
            let e = Command::parse(bad).unwrap_err();
            assert!(e.to_string().contains("system id"), "{bad}: {e}");
        }
        assert!(matches!(Command::parse("authz stop 1 2"), Err(ConsoleError::Usage(_))));
        assert!(matches!(Command::parse("authz cosign 2"), Err(ConsoleError::Usage(_))));
        assert_eq!(Command::parse("authz cosign").unwrap(), Some(Command::CoSign));
    }

    #[test]
    fn with_several_vehicles_a_command_must_name_one() {
        assert_eq!(command_target(None, &heard(&[])).unwrap(), 1, "none heard: vehicle 1");
        assert_eq!(command_target(None, &heard(&[7])).unwrap(), 7, "the only one heard");
        let several = heard(&[1, 2, 11]);
        assert_eq!(several.vehicles.len(), 3);
        let e = command_target(None, &several).unwrap_err();
        assert!(matches!(e, ConsoleError::WhichVehicle(_)), "{e}");
        assert!(e.to_string().contains("1, 2, 11"), "{e}");
        assert_eq!(command_target(Some(2), &several).unwrap(), 2);
    }
}
