//! Authorization plugin: the loaded document (verified at the ground, refusals naming the field),
//! its window and urgent-deadline countdowns, the role-checked activate / stop / revoke / urgent
//! buttons that send UTKIK_AUTHZ_COMMAND (with the document digest, signed by the link), the
//! drone's own state (UTKIK_AUTHZ_STATUS), and the authorized area drawn on the map.

use bevy::prelude::*;
use bevy_egui::egui;
use utkik_shared::authz::AuthzState;
use utkik_shared::dialect::{MavMessage, UtkikAuthzState};

use super::link::MessageSource;
use super::map::MapView;
use super::session::OpsRes;
use super::{GroundSet, WorldRes};
use crate::audit_log::wall_clock_usec;
use crate::authorization::AuthzAction;

/// Colour of the authorized area.
pub const AREA_COLOR: Color = Color::srgb(1.0, 0.45, 0.1);

/// Draws the authorized area of the loaded document.
pub struct AuthzPlugin;

impl Plugin for AuthzPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            Update,
            draw_area.in_set(GroundSet::Draw).run_if(resource_exists::<OpsRes>),
        );
    }
}

/// The areas to draw as map points (closed rings), when the projection is known: the loaded
/// document's and that of every use running on a vehicle under another document.
pub fn area_points(ops: &OpsRes, view: &MapView) -> Vec<Vec<Vec2>> {
    let console = &ops.ops.console;
    let running = console.vehicles.values().filter(|l| l.state().allows_identification());
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for l in console.document.iter().chain(running) {
        if seen.contains(&l.digest()) {
            continue;
        }
        seen.push(l.digest());
        let ring: Option<Vec<Vec2>> = l
            .authorization()
            .document()
            .area
            .vertices
            .iter()
            .map(|v| view.xy(v.lon_deg, v.lat_deg))
            .collect();
        out.extend(ring);
    }
    out
}

fn draw_area(mut gizmos: Gizmos, ops: Res<OpsRes>, view: Res<MapView>) {
    for pts in area_points(&ops, &view) {
        gizmos.linestrip_2d(pts.iter().copied().chain(pts.first().copied()), AREA_COLOR);
    }
}

fn state_name(s: UtkikAuthzState) -> &'static str {
    match s {
        UtkikAuthzState::UTKIK_AUTHZ_STATE_NONE => "none (identification off)",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_PENDING => "pending",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE => "ACTIVE",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_EXPIRED => "expired",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_REVOKED => "revoked",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT => "URGENT USE",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT_EXPIRED => "urgent use expired",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_REFUSED => "urgent use refused",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_STOPPED => "stopped",
    }
}

/// What the drone says about a suspension of identification (LAW.md 2.4), if any: the use is
/// still ACTIVE or URGENT, but no template is computed until the drone hears the ground again.
pub fn suspension_text(a: &utkik_shared::dialect::UTKIK_AUTHZ_STATUS_DATA) -> Option<String> {
    let link_lost = utkik_shared::dialect::UtkikAuthzSuspension::UTKIK_AUTHZ_SUSPENSION_LINK_LOST.bits() as u8;
    let silent = if a.link_silent == u16::MAX {
        "nothing since its start".to_string()
    } else {
        format!("{} s without a signed frame from us", a.link_silent)
    };
    (a.suspended & link_lost != 0).then(|| format!("IDENTIFICATION SUSPENDED: link lost ({silent})"))
}

/// `HH:MM:SS`, with whole days in front past 48 hours (`404 d 22:12:21`): an urgent use's 24 h
/// deadline reads as hours, a permit's window as days.
pub fn hms(seconds: u64) -> String {
    let clock = |s: u64| format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
    if seconds >= 48 * 3600 {
        format!("{} d {}", seconds / 86_400, clock(seconds % 86_400))
    } else {
        clock(seconds)
    }
}

/// Urgent use started here (LAW.md 3.4, `crate::urgent`): for a signed-in senior officer, the
/// draft file and the button that signs and sends it; for everyone, the uploads on their way.
fn urgent_form(ui: &mut egui::Ui, world: &mut WorldRes, ops: &mut OpsRes, target: u8, now: u64) {
    for u in world.0.uploads.active() {
        let (got, total) = u.sender.progress();
        ui.label(format!(
            "sending {} to vehicle {}: {got} / {total} bytes",
            u.decision_id,
            u.sender.target_system()
        ));
    }
    let senior = ops
        .ops
        .actor()
        .is_some_and(|a| a.has_role(utkik_shared::authz::Role::SeniorOfficer));
    if !senior {
        return;
    }
    ui.collapsing("Urgent use (senior officer)", |ui| {
        ui.small("draft: purpose, persons with enrolment images, area, window, justification (assets/authz/urgent-draft.example.toml)");
        ui.text_edit_singleline(&mut ops.urgent_draft);
        if ui.button("Sign with my key and send to the drone").clicked() {
            if world.0.vehicles.get(&target).is_none_or(|v| v.authz.is_none()) {
                ops.message = Some(crate::console::ConsoleError::NotHeard(target).to_string());
                return;
            }
            let draft = std::path::PathBuf::from(ops.urgent_draft.trim());
            let cache = crate::urgent::default_cache_root();
            ops.message = Some(match ops.ops.start_urgent(&mut world.0, &draft, target, &cache, now) {
                Ok(u) => format!(
                    "urgent use {} signed; sending {} bytes to vehicle {target}: URGENT_START follows when the drone has verified it",
                    u.decision_id, u.bundle_bytes
                ),
                Err(e) => e.to_string(),
            });
        }
    });
}

/// Sends a command the station carried out to vehicle `to`, or shows why it was not.
fn send(ops: &mut OpsRes, source: &MessageSource, result: Result<MavMessage, crate::ops::OpsError>, to: u8) {
    match result {
        Ok(msg) => {
            ops.message = None;
            match source {
                MessageSource::Live(link) => link.send(to, msg),
                _ => ops.message = Some("no live link: command logged but not sent".into()),
            }
        }
        Err(e) => ops.message = Some(e.to_string()),
    }
}

/// The authorization panel: the loaded document, the vehicle commands go to (`target`: the
/// vehicle selected in the health panel, or the only one heard; None with several and none
/// selected) with its own use, and the buttons for it.
pub fn authz_panel(
    ui: &mut egui::Ui,
    world: &mut WorldRes,
    source: &MessageSource,
    ops: Option<&mut OpsRes>,
    target: Option<u8>,
) {
    ui.heading("Authorization");
    let now = wall_clock_usec();
    if let Some(ops) = ops {
        if let Some(f) = &ops.ops.console.failure {
            ui.colored_label(
                egui::Color32::LIGHT_RED,
                format!("REFUSED {}: field `{}`", f.path.display(), f.field),
            );
            ui.small(&f.message);
        }
        ops.ops.console.tick(now);
        match ops.ops.console.document.as_ref() {
            Some(l) => {
                let doc = l.authorization().document();
                ui.label(format!("loaded: {} ({:?})", doc.decision_id, doc.purpose));
                ui.small(format!("digest {}", &l.digest().to_hex()[..16]));
                let until = doc.window.until_usec.saturating_sub(now) / 1_000_000;
                ui.monospace(format!("window ends in {}", hms(until)));
            }
            None => {
                ui.label("no authorization loaded (--authorization FILE)");
            }
        }
        let mut clicked = None;
        let mut cosign_clicked = false;
        let mut stop_all = false;
        // Two-operator activation: a second operator co-signs what another proposed (for the
        // vehicle the proposal names).
        if let Some(p) = ops.ops.pending_cosign() {
            let label = format!(
                "CO-SIGN ACTIVATE on vehicle {} (proposed by {})",
                p.message.target_system, p.proposer.user_id
            );
            if ui.button(label).clicked() {
                cosign_clicked = true;
            }
        }
        match target {
            None if world.0.vehicles.is_empty() => {
                ui.label("no vehicle heard yet");
            }
            None => {
                ui.colored_label(
                    egui::Color32::from_rgb(230, 190, 60),
                    "several vehicles (or none heard now): select the one to command in the health panel",
                );
                if ui
                    .button(egui::RichText::new("STOP identification on every vehicle").color(egui::Color32::RED))
                    .clicked()
                {
                    stop_all = true;
                }
            }
            Some(target) => {
                ui.strong(format!("commands go to vehicle {target}"));
                let console = &ops.ops.console;
                // What a start would run under, or what runs on the vehicle now.
                let own = console.vehicle(target);
                let shown = own
                    .filter(|l| l.state().allows_identification())
                    .or(console.document.as_ref())
                    .or(own);
                match own {
                    Some(l) => ui.label(format!(
                        "vehicle {target}: {} - ground mirror {:?}",
                        l.authorization().document().decision_id,
                        l.state()
                    )),
                    None => ui.label(format!("vehicle {target}: no use started from this station")),
                };
                if let Some(l) = own
                    && let Some(deadline) = l.urgent_deadline_usec()
                {
                    let left = deadline.saturating_sub(now) / 1_000_000;
                    let applied = l.application_recorded_usec().is_some();
                    ui.colored_label(
                        egui::Color32::from_rgb(255, 120, 60),
                        if applied {
                            "urgent use: application recorded (no 24 h stop)".to_string()
                        } else {
                            format!("urgent deadline in {}", hms(left))
                        },
                    );
                }
                let running = own.is_some_and(|l| l.state() == AuthzState::Active);
                ui.horizontal_wrapped(|ui| {
                    let buttons: &[AuthzAction] = match shown {
                        Some(l) if l.authorization().document().is_urgent() => &[
                            AuthzAction::UrgentStart,
                            AuthzAction::Stop,
                            AuthzAction::UrgentApplied,
                            AuthzAction::UrgentRefused,
                            AuthzAction::Revoke,
                        ],
                        Some(_) => &[AuthzAction::Activate, AuthzAction::Stop, AuthzAction::Revoke],
                        None => &[AuthzAction::Stop],
                    };
                    for a in buttons {
                        let text = egui::RichText::new(a.name());
                        let text = if *a == AuthzAction::Stop && running {
                            text.strong().color(egui::Color32::RED)
                        } else {
                            text
                        };
                        if ui.button(text).clicked() {
                            clicked = Some(*a);
                        }
                    }
                });
                urgent_form(ui, world, ops, target, now);
            }
        }
        if cosign_clicked {
            let to = ops.ops.pending_cosign().map_or(0, |p| p.message.target_system);
            let r = ops.ops.cosign_activation(&mut world.0, now);
            send(ops, source, r, to);
        }
        if stop_all {
            let ids: Vec<u8> = world.0.vehicles.keys().copied().collect();
            for id in ids {
                let r = ops.ops.authz_command(&mut world.0, AuthzAction::Stop, id, now);
                send(ops, source, r, id);
            }
        }
        if let (Some(action), Some(target)) = (clicked, target) {
            let starts = matches!(action, AuthzAction::Activate | AuthzAction::UrgentStart);
            if starts && world.0.vehicles.get(&target).is_none_or(|v| v.authz.is_none()) {
                // The command could reach only the autopilot before the onboard gate is heard.
                ops.message = Some(crate::console::ConsoleError::NotHeard(target).to_string());
            } else {
                let r = ops.ops.authz_command(&mut world.0, action, target, now);
                send(ops, source, r, target);
            }
        }
    }
    ui.separator();
    let mut any = false;
    for v in world.0.vehicles.values() {
        let Some(a) = &v.authz else { continue };
        any = true;
        let active = matches!(
            a.state,
            UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE | UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT
        );
        let color = if active {
            egui::Color32::from_rgb(255, 120, 60)
        } else {
            ui.visuals().text_color()
        };
        ui.colored_label(
            color,
            format!("vehicle {} onboard: {}", v.system_id, state_name(a.state)),
        );
        if let Some(line) = suspension_text(a) {
            ui.colored_label(egui::Color32::from_rgb(255, 60, 60), line);
        }
        if a.remaining > 0 {
            ui.monospace(format!("remaining {}", hms(u64::from(a.remaining))));
        }
        ui.small(format!(
            "inside area: {}  templates {}  matches {}",
            if a.inside_area == 1 { "yes" } else { "no" },
            a.templates_computed,
            a.matches
        ));
    }
    if !any {
        ui.label("no authorization status from the drone: biometric identification off");
    }
    // Commands the drone has not confirmed yet are pending, never shown as done.
    let now_s = wall_clock_usec() as f64 / 1e6;
    for c in world.0.commands.pending() {
        let color = if c.alarmed {
            egui::Color32::from_rgb(255, 60, 60)
        } else {
            egui::Color32::from_rgb(230, 190, 60)
        };
        ui.colored_label(color, c.describe(now_s));
    }
}

#[cfg(test)]
mod tests {
    use super::hms;

    #[test]
    fn a_link_loss_suspension_is_shown() {
        let mut a = utkik_shared::dialect::UTKIK_AUTHZ_STATUS_DATA::default();
        assert_eq!(super::suspension_text(&a), None, "a default status is not suspended");
        a.suspended = 1;
        a.link_silent = 12;
        let t = super::suspension_text(&a).unwrap();
        assert!(t.contains("SUSPENDED") && t.contains("12 s"), "{t}");
    }

    #[test]
    fn countdowns_read_as_hours_then_days() {
        assert_eq!(hms(0), "00:00:00");
        assert_eq!(hms(24 * 3600 - 1), "23:59:59");
        assert_eq!(hms(30 * 3600 + 61), "30:01:01");
        assert_eq!(hms(404 * 86_400 + 22 * 3600 + 12 * 60 + 21), "404 d 22:12:21");
    }
}
