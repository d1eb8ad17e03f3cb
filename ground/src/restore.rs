//! A restarted ground station picks the mission up where it was (issue 14 item 4): kill -9 at any
//! point, start again, and a confirmed match is still confirmed, a half-confirmed one still
//! needs its second user (and not the first one again), whoever had looked at an evidence image
//! still has, and a STOP that the drone had not confirmed is still pending, resent and alarmed.
//!
//! Everything comes from the station's own audit log and payload store, which the station writes
//! (and fsyncs) before it acts or acknowledges:
//! - [`AuditEvent::AlertStored`]: each alert as the drone sent it, with its image in the payload
//!   store; written before the alert is acknowledged, so an alert the drone stopped resending is
//!   never only in memory. The message goes through the same [`crate::state::Alerts`] code as
//!   on arrival.
//! - [`AuditEvent::PossibleMatch`]: the match is already in the log (not logged twice).
//! - `MatchVerification` and plate-check `Consultation`s: the verdicts, applied in log order
//!   with [`crate::state::Alerts::apply_recorded_verdict`] (the same rules as live).
//! - `Consultation` "viewed ... S/A": who has seen which evidence image.
//! - [`AuditEvent::DeletionReceipt`]: a refused use's matches stay deleted.
//! - [`AuditEvent::AuthzCommandSent`] / [`AuditEvent::AuthzCommandSettled`]: the newest command
//!   per vehicle, pending unless settled (resent at once, with its original first-send time, so
//!   an old unconfirmed STOP alarms at once); request ids continue after the highest used.
//! - accepted `AuthzCommand`s about the loaded authorization: each vehicle's mirrored lifecycle
//!   of it (an urgent use keeps its start and deadline; a revoked one stays revoked). The record
//!   names its vehicle; in logs written before stations commanded several, the
//!   `AuthzCommandSent` record that follows it does.
//! - [`AuditEvent::AuthorizationLoaded`]: an urgent document this station built and loaded
//!   (`crate::urgent`, no file on the command line) is loaded again from its copy.
//!
//! Only the verified prefix of the log is used (as replay does): after damage nothing is
//! trusted, and the summary says so. Problems with single records (an image erased by
//! retention, a user no longer in the users file) are listed, never fatal: the station must
//! start.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use utkik_shared::audit::record::decode_record;
use utkik_shared::audit::{AuditEvent, PayloadRef};
use utkik_shared::authz::{Actor, AuthzDigest};
use utkik_shared::dialect::{MavMessage, MavResult, UTKIK_AUTHZ_STATUS_DATA};
use utkik_shared::mavframe::RawFrame;

use crate::ops::GroundOps;
use crate::replay::verdicts::{AuditTrail, VerdictTarget};
use crate::state::{AlertKind, World};

/// What a restart took back from the audit log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestoreSummary {
    /// Records read (the verified prefix).
    pub records: u64,
    /// Alerts rebuilt (possible matches and plate hits), after deletions.
    pub alerts: usize,
    /// Of those, alerts whose image is no longer in the payload store.
    pub alerts_without_image: usize,
    /// Verdicts applied (confirmations, dismissals, plate checks).
    pub verdicts: usize,
    /// (alert, user) pairs that had seen the evidence.
    pub evidence_seen: usize,
    /// Commands still pending (resent from now on).
    pub pending_commands: usize,
    /// Lifecycle steps of the loaded authorization replayed.
    pub lifecycle_steps: usize,
    /// Refused uses whose matches stay deleted.
    pub deleted_uses: usize,
    /// Records that could not be taken back, in words.
    pub problems: Vec<String>,
    /// Where the log stops being trustworthy, when it does.
    pub damage: Option<String>,
    /// The urgent document this station built that was loaded again (`crate::urgent`).
    pub reloaded: Option<PathBuf>,
}

impl RestoreSummary {
    /// One line for the console and the log.
    pub fn line(&self) -> String {
        let mut s = format!(
            "restored from the audit log ({} records): {} alerts ({} without image), {} verdicts, {} evidence views, {} pending commands, {} authorization steps, {} refused uses kept deleted",
            self.records,
            self.alerts,
            self.alerts_without_image,
            self.verdicts,
            self.evidence_seen,
            self.pending_commands,
            self.lifecycle_steps,
            self.deleted_uses
        );
        if let Some(p) = &self.reloaded {
            s.push_str(&format!(
                "; the urgent authorization started here loaded again from {}",
                p.display()
            ));
        }
        if let Some(d) = &self.damage {
            s.push_str(&format!("; LOG DAMAGED, nothing after it used: {d}"));
        }
        if !self.problems.is_empty() {
            s.push_str(&format!(
                "; {} problems: {}",
                self.problems.len(),
                self.problems.join("; ")
            ));
        }
        s
    }
}

/// Reading the log failed: the station cannot know what it had (it should not start as if
/// nothing had happened).
#[derive(Debug, thiserror::Error)]
#[error("reading the audit log {path} to restore the station: {source}")]
pub struct RestoreError {
    /// The log.
    pub path: PathBuf,
    /// The OS error.
    pub source: std::io::Error,
}

fn frame_message(frame_hex: &str) -> Result<(RawFrame, MavMessage), String> {
    let bytes = hex::decode(frame_hex).map_err(|e| format!("frame is not hex: {e}"))?;
    let frame = RawFrame::parse(&bytes).map_err(|e| format!("frame: {e}"))?;
    let msg = frame.decode::<MavMessage>().map_err(|e| format!("message: {e:?}"))?;
    Ok((frame, msg))
}

/// `viewed <what> S/A` (ops::view_evidence) -> (S, A).
fn parse_viewed(what: &str) -> Option<(u8, u32)> {
    let rest = what.strip_prefix("viewed ")?;
    let (_, ids) = rest.rsplit_once(' ')?;
    let (s, a) = ids.split_once('/')?;
    Some((s.parse().ok()?, a.parse().ok()?))
}

fn digest_prefix(d: &AuthzDigest) -> [u8; 16] {
    let mut p = [0u8; 16];
    p.copy_from_slice(&d.0[..16]);
    p
}

/// Rebuilds `world` (alerts, commands) and `ops` (evidence seen, logged matches, request ids,
/// the loaded authorization's lifecycle) from the station's audit log and payload store. Call
/// once at start-up, after the authorization is loaded and before the link delivers anything.
///
/// # Errors
/// The log cannot be read.
pub fn restore(ops: &mut GroundOps, world: &mut World) -> Result<RestoreSummary, RestoreError> {
    // A live station with an audit log acknowledges only what it stored.
    world.alerts.set_require_store(true);
    let path = ops.audit.path().to_path_buf();
    let bytes = std::fs::read(&path).map_err(|source| RestoreError {
        path: path.clone(),
        source,
    })?;
    let trail = AuditTrail::from_bytes(&bytes);
    let good_len = trail
        .damage
        .as_ref()
        .map_or(bytes.len(), |d| (d.offset_bytes as usize).min(bytes.len()));
    let mut summary = RestoreSummary {
        records: trail.records,
        damage: trail.damage_text(),
        ..Default::default()
    };

    reload_station_urgent(ops, &bytes[..good_len], &mut summary);
    let loaded = ops.console.digest();
    let mut stored: BTreeMap<(u8, u32), (MavMessage, u8, u64, Option<PayloadRef>)> = BTreeMap::new();
    let mut logged_match_ids: BTreeMap<u32, Option<PayloadRef>> = BTreeMap::new();
    let mut seen: Vec<(u8, u32, String)> = Vec::new();
    let mut deleted: Vec<[u8; 16]> = Vec::new();
    let mut max_request_id: Option<u16> = None;
    let mut lifecycle: Vec<Step> = Vec::new();
    // An accepted command of an older log, waiting for its `AuthzCommandSent` to name the vehicle.
    let mut unnamed: Option<usize> = None;
    for line in bytes[..good_len].split_inclusive(|&b| b == b'\n') {
        let Ok(rec) = decode_record(line) else { break };
        let t_usec = rec.body.time_usec;
        match rec.body.event {
            AuditEvent::AlertStored {
                system_id,
                alert_id,
                frame_hex,
                received_usec,
                image,
            } => match frame_message(&frame_hex) {
                Ok((frame, msg)) => {
                    stored.insert((system_id, alert_id), (msg, frame.compid(), received_usec, image));
                }
                Err(e) => summary
                    .problems
                    .push(format!("alert {system_id}/{alert_id} (record {}): {e}", rec.body.seq)),
            },
            AuditEvent::PossibleMatch {
                match_id,
                evidence_crop,
                ..
            } => {
                logged_match_ids.insert(match_id, evidence_crop);
            }
            AuditEvent::Consultation { user_id, what } => {
                if let Some((s, a)) = parse_viewed(&what) {
                    seen.push((s, a, user_id));
                }
            }
            AuditEvent::DeletionReceipt {
                authorization_digest,
                site,
                ..
            } if site.starts_with("ground") => {
                let prefix = digest_prefix(&authorization_digest);
                stored.retain(|_, (msg, ..)| {
                    !matches!(msg, MavMessage::UTKIK_BIOMETRIC_MATCH(m) if m.authorization_digest == prefix)
                });
                deleted.push(prefix);
            }
            AuditEvent::AuthzCommandSent {
                system_id,
                request_id,
                frame_hex,
                command,
            } => {
                if let Some(i) = unnamed.take()
                    && lifecycle[i].command == command
                {
                    lifecycle[i].system_id = Some(system_id);
                }
                max_request_id = Some(max_request_id.map_or(request_id, |m| m.max(request_id)));
                match frame_message(&frame_hex) {
                    Ok((_, MavMessage::UTKIK_AUTHZ_COMMAND(c))) => {
                        world.commands.sent(system_id, &c, t_usec as f64 / 1e6);
                    }
                    Ok(_) => summary.problems.push(format!(
                        "command {system_id}/{request_id} (record {}): not a UTKIK_AUTHZ_COMMAND",
                        rec.body.seq
                    )),
                    Err(e) => summary.problems.push(format!(
                        "command {system_id}/{request_id} (record {}): {e}",
                        rec.body.seq
                    )),
                }
            }
            AuditEvent::AuthzCommandSettled {
                system_id,
                request_id,
                outcome,
                command,
            } => {
                // The drone refused to start identification: the mirror stopped again then.
                if outcome.starts_with("refused")
                    && (command == "ACTIVATE" || command == "URGENT_START")
                    && lifecycle.iter().any(|s| s.system_id == Some(system_id))
                {
                    lifecycle.push(Step {
                        t_usec,
                        command: "STOP".to_string(),
                        operator_id: String::new(),
                        system_id: Some(system_id),
                    });
                }
                let status = UTKIK_AUTHZ_STATUS_DATA {
                    last_request_id: request_id,
                    last_result: if outcome == "accepted" {
                        MavResult::MAV_RESULT_ACCEPTED
                    } else {
                        MavResult::MAV_RESULT_DENIED
                    },
                    ..Default::default()
                };
                world.commands.apply_status(system_id, &status, t_usec as f64 / 1e6);
            }
            AuditEvent::AuthzCommand {
                command,
                operator_id,
                authorization_digest: Some(d),
                accepted: true,
                system_id,
                ..
            } if Some(d) == loaded => {
                if system_id.is_none() {
                    unnamed = Some(lifecycle.len());
                }
                lifecycle.push(Step {
                    t_usec,
                    command,
                    operator_id,
                    system_id,
                });
            }
            _ => {}
        }
    }
    // Confirmations printed live were printed then; not again.
    world.commands.take_events();
    summary.pending_commands = world.commands.pending().count();
    if let Some(m) = max_request_id {
        ops.console.continue_request_ids_after(m);
    }
    summary.deleted_uses = deleted.len();

    // The alerts, through the same code as on arrival; then their images and "stored".
    for ((system_id, alert_id), (msg, component_id, received_usec, image)) in stored {
        let received_s = received_usec as f64 / 1e6;
        match &msg {
            MavMessage::UTKIK_BIOMETRIC_MATCH(m) => {
                world.alerts.apply_match(system_id, component_id, m, received_s);
            }
            MavMessage::UTKIK_PLATE_READ(p) => {
                world.alerts.apply_plate(system_id, component_id, p, received_s);
            }
            _ => {
                summary
                    .problems
                    .push(format!("alert {system_id}/{alert_id}: not an alert message"));
                continue;
            }
        }
        let jpeg = match &image {
            Some(r) => match ops.audit.payloads().get(r) {
                Ok(b) => Some(b),
                Err(e) => {
                    summary
                        .problems
                        .push(format!("alert {system_id}/{alert_id}: image {}: {e}", r.sha256_hex));
                    None
                }
            },
            None => None,
        };
        let announced = world
            .alerts
            .get(system_id, alert_id)
            .and_then(|a| a.announced_image_size())
            .is_some();
        if announced && jpeg.is_none() {
            summary.alerts_without_image += 1;
        }
        world.alerts.restore_stored(system_id, alert_id, jpeg);
        if let Some(a) = world.alerts.get(system_id, alert_id)
            && matches!(a.kind, AlertKind::PossibleMatch { .. })
        {
            // Logged before it was stored: never logged twice.
            ops.restore_logged_match(
                system_id,
                alert_id,
                logged_match_ids.remove(&alert_id).flatten().or(image),
            );
        }
        summary.alerts += 1;
    }
    // Matches logged but not yet stored when the station died: the drone resends them (never
    // acknowledged); they are not logged a second time when they come.
    for (match_id, crop) in logged_match_ids {
        ops.restore_logged_match_id(match_id, crop);
    }
    world.alerts.take_new();

    // Verdicts in log order, with the live rules.
    for v in &trail.verdicts {
        let key = match v.target {
            VerdictTarget::PlateHit { system_id, alert_id } => Some((system_id, alert_id)),
            VerdictTarget::Match {
                match_id,
                digest_prefix,
            } => world
                .alerts
                .iter()
                .find(|a| {
                    a.alert_id == match_id
                        && matches!(&a.kind, AlertKind::PossibleMatch { authorization_digest, .. }
                            if *authorization_digest == digest_prefix)
                })
                .map(|a| (a.system_id, a.alert_id)),
        };
        let Some((system_id, alert_id)) = key else {
            // A match of a refused (deleted) use, or a verdict on an alert never stored.
            continue;
        };
        match world
            .alerts
            .apply_recorded_verdict(system_id, alert_id, &v.user_id, v.confirm)
        {
            Ok(_) => summary.verdicts += 1,
            Err(e) => summary.problems.push(format!(
                "verdict of {} on {system_id}/{alert_id} (record {}): {e}",
                v.user_id, v.seq
            )),
        }
    }

    let mut seen_set = BTreeSet::new();
    for (s, a, user) in seen {
        if world.alerts.get(s, a).is_some() && seen_set.insert((s, a, user.clone())) {
            ops.restore_evidence_seen(s, a, user);
        }
    }
    summary.evidence_seen = seen_set.len();

    // Each vehicle's mirrored lifecycle of the loaded authorization, step by step at the
    // recorded times.
    for step in lifecycle {
        let Step {
            t_usec,
            command,
            operator_id,
            system_id,
        } = step;
        let result = match system_id {
            Some(s) => replay_step(ops, s, &command, &operator_id, t_usec),
            // Sending a document changes no state; anything else needs its vehicle.
            None if command == crate::urgent::UPLOAD_COMMAND => Ok(()),
            None => Err("the log names no vehicle for it".to_string()),
        };
        match result {
            Ok(()) => summary.lifecycle_steps += 1,
            Err(e) => summary
                .problems
                .push(format!("authorization step {command} by {operator_id}: {e}")),
        }
    }
    Ok(summary)
}

/// An urgent use started at this station (LAW.md 3.4, `crate::urgent`) has no file named on the
/// command line: when the newest authorization the log says was loaded is one this station built
/// (its copy under `<audit>/urgent/<digest>/`) and another (or none) is loaded now, that one is
/// loaded again (verified again, logged), so its lifecycle, start and 24 h deadline are restored
/// below like a permit's. A station started with `--authorization` logged that load first, so
/// the newest record names it and nothing is switched.
fn reload_station_urgent(ops: &mut GroundOps, log: &[u8], summary: &mut RestoreSummary) {
    let mut newest = None;
    for line in log.split_inclusive(|&b| b == b'\n') {
        let Ok(rec) = decode_record(line) else { break };
        if let AuditEvent::AuthorizationLoaded {
            authorization_digest, ..
        } = rec.body.event
        {
            newest = Some(authorization_digest);
        }
    }
    let Some(d) = newest else { return };
    if ops.console.digest() == Some(d) {
        return;
    }
    let dir = ops.audit.path().parent().unwrap_or(Path::new(".")).to_path_buf();
    let file = dir
        .join(crate::urgent::URGENT_DIR)
        .join(hex::encode(d.0))
        .join(utkik_shared::authz::upload::AUTHORIZATION_FILE);
    if !file.exists() {
        return;
    }
    match ops.load_authorization(&file, crate::audit_log::wall_clock_usec()) {
        Ok(_) => summary.reloaded = Some(file),
        Err(e) => summary.problems.push(format!(
            "the urgent document {} loaded before the restart: {e}",
            file.display()
        )),
    }
}

/// One accepted authorization command of the log, about the loaded document.
struct Step {
    t_usec: u64,
    command: String,
    operator_id: String,
    /// The vehicle it was for (None: an older record, until its `AuthzCommandSent` names it).
    system_id: Option<u8>,
}

/// One accepted command applied to `system_id`'s mirrored lifecycle at its recorded time, by the
/// user who gave it (with their roles in today's users file).
fn replay_step(
    ops: &mut GroundOps,
    system_id: u8,
    command: &str,
    operator_id: &str,
    t_usec: u64,
) -> Result<(), String> {
    if command == "STOP" && operator_id.is_empty() {
        // The mirror's own stop after the drone refused a start (no user gave it).
        if let Some(l) = ops.console.vehicles.get_mut(&system_id) {
            let was_running = l.state().allows_identification();
            l.stop(t_usec);
            if was_running {
                ops.restore_use_started(system_id, None);
            }
        }
        return Ok(());
    }
    let roles = ops
        .users
        .users()
        .iter()
        .find(|u| u.user_id == operator_id)
        .map(|u| u.roles.clone())
        .ok_or_else(|| format!("user `{operator_id}` is not in the users file"))?;
    let actor = Actor::new(operator_id.to_string(), roles);
    let action = match command {
        "ACTIVATE" => Some(crate::authorization::AuthzAction::Activate),
        "URGENT_START" => Some(crate::authorization::AuthzAction::UrgentStart),
        _ => None,
    };
    let mut l = ops
        .console
        .lifecycle_for(system_id, action.unwrap_or(crate::authorization::AuthzAction::Stop))
        .ok_or("no authorization loaded")?;
    let was_running = l.state().allows_identification();
    let r = match command {
        "ACTIVATE" => l.activate(&actor, t_usec).map(|_| ()),
        "URGENT_START" => l.start_urgent(&actor, t_usec).map(|_| ()),
        "URGENT_APPLIED" => l.record_application(t_usec).map(|_| ()),
        "URGENT_REFUSED" => l.refuse(t_usec).map(|_| ()),
        "REVOKE" => l.revoke(t_usec).map(|_| ()),
        "STOP" => {
            l.stop(t_usec);
            Ok(())
        }
        // Sending the document to a drone (urgent use started here) changes no state.
        crate::urgent::UPLOAD_COMMAND => Ok(()),
        other => return Err(format!("unknown command `{other}`")),
    };
    r.map_err(|e| e.to_string())?;
    let running = l.state().allows_identification();
    if command != crate::urgent::UPLOAD_COMMAND {
        ops.console.commit(system_id, l);
    }
    if running != was_running {
        ops.restore_use_started(system_id, running.then_some(t_usec));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewed_records_parse() {
        assert_eq!(
            parse_viewed("viewed the evidence crop of possible match 1/1074003968"),
            Some((1, 1_074_003_968))
        );
        assert_eq!(parse_viewed("viewed the plate image of plate hit 3/17"), Some((3, 17)));
        assert_eq!(parse_viewed("session: signed in"), None);
        assert_eq!(parse_viewed("viewed something"), None);
        assert_eq!(parse_viewed("viewed x 300/1"), None, "system id is a u8");
    }
}
