//! Alerts plugin: turns new alerts into a visible cue (flashing banner, bell in the terminal); the
//! panel itself is drawn by the UI plugin with [`alerts_panel`]. Review actions go through
//! [`crate::ops::GroundOps`] as the signed-in user (role checks, two-person rule, audit log).

use std::collections::HashMap;

use bevy::prelude::*;
use bevy_egui::egui;

use super::session::OpsRes;
use super::{GroundSet, WorldRes};
use crate::audit_log::wall_clock_usec;
use crate::state::{AlertAction, AlertKind, AlertState};

/// Cue state: alerts that arrived recently.
#[derive(Resource, Default, Clone)]
pub struct AlertCue {
    /// Count of alerts since start.
    pub total: u64,
    /// Frames left to flash.
    pub flash_frames: u32,
    /// Last review error (for the panel).
    pub last_error: Option<String>,
    /// Evidence thumbnails the signed-in user opened: (vehicle, alert, user) -> texture.
    pub evidence: HashMap<(u8, u32, String), egui::TextureHandle>,
    /// Alerts already cued (replay rebuilds its world as it plays, so an alert comes "new"
    /// again; it rings once).
    pub cued: std::collections::HashSet<(u8, u32)>,
}

/// Decodes an evidence JPEG into an egui image.
fn decode_jpeg(jpeg: &[u8]) -> Result<egui::ColorImage, String> {
    let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .map_err(|e| format!("evidence crop does not decode as JPEG: {e}"))?
        .to_rgba8();
    let size = [img.width() as usize, img.height() as usize];
    Ok(egui::ColorImage::from_rgba_unmultiplied(size, img.as_raw()))
}

/// Cue bookkeeping.
pub struct AlertsPlugin;

impl Plugin for AlertsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<AlertCue>()
            .add_systems(Update, cue.in_set(GroundSet::World));
    }
}

fn cue(mut world: ResMut<WorldRes>, mut cue: ResMut<AlertCue>) {
    let mut new = world.0.alerts.take_new();
    new.retain(|k| cue.cued.insert(*k));
    if !new.is_empty() {
        cue.total += new.len() as u64;
        cue.flash_frames = 180;
        for (sys, id) in new {
            if let Some(a) = world.0.alerts.get(sys, id) {
                // Audible cue: the terminal bell.
                warn!("\x07ALERT vehicle {sys} #{id}: {}", a.label());
            }
        }
    } else {
        cue.flash_frames = cue.flash_frames.saturating_sub(1);
    }
}

/// The alerts list with review buttons.
pub fn alerts_panel(ui: &mut egui::Ui, world: &mut WorldRes, ops: Option<&mut OpsRes>, cue: &mut AlertCue) {
    ui.heading(format!("Alerts ({} open)", world.0.alerts.needing_attention()));
    match ops.as_ref().and_then(|o| o.ops.actor()) {
        Some(a) => ui.small(format!("acting as {}", a.user_id)),
        None => ui.small("sign in to review alerts"),
    };
    if let Some(e) = &cue.last_error {
        ui.colored_label(egui::Color32::LIGHT_RED, e);
    }
    let mut action: Option<(u8, u32, Review)> = None;
    let user = ops.as_ref().and_then(|o| o.ops.actor()).map(|a| a.user_id.clone());
    // Thumbnails belong to the user who opened them (and logged it).
    cue.evidence.retain(|k, _| Some(&k.2) == user.as_ref());
    egui::ScrollArea::vertical().max_height(360.0).show(ui, |ui| {
        for a in world.0.alerts.iter().rev() {
            let (color, state) = match &a.state {
                AlertState::NeedsCheck => (
                    egui::Color32::from_rgb(255, 170, 0),
                    "HIT - check plate image".to_string(),
                ),
                AlertState::Checked { by } => (egui::Color32::GRAY, format!("checked by {by}")),
                AlertState::PossibleMatch { confirmed_by } => (
                    egui::Color32::from_rgb(255, 90, 90),
                    format!("POSSIBLE MATCH - {}/2 confirmations", confirmed_by.len()),
                ),
                AlertState::Confirmed { by } => (
                    egui::Color32::from_rgb(120, 200, 255),
                    format!("confirmed by {} and {}", by[0], by[1]),
                ),
                AlertState::Dismissed { by } => (egui::Color32::DARK_GRAY, format!("dismissed by {by}")),
            };
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.colored_label(color, egui::RichText::new(a.label()).strong());
                ui.small(format!("vehicle {} alert #{} - {state}", a.system_id, a.alert_id));
                match &a.kind {
                    AlertKind::PlateHit {
                        track_id,
                        hit_entry_id,
                        confidence,
                        image_size,
                        ..
                    } => {
                        let img = match &a.evidence_jpeg {
                            Some(j) => format!("plate image {} bytes received", j.len()),
                            None if *image_size > 0 => format!("plate image pending ({image_size} bytes)"),
                            None => "no plate image".into(),
                        };
                        ui.small(format!(
                            "track {track_id}, list entry {hit_entry_id}, read {confidence}%; {img}"
                        ));
                    }
                    AlertKind::PossibleMatch {
                        track_id,
                        evidence_size,
                        ..
                    } => {
                        let ev = match &a.evidence_jpeg {
                            Some(j) => format!("evidence {} bytes received", j.len()),
                            None if *evidence_size > 0 => format!("evidence pending ({evidence_size} bytes)"),
                            None => "no evidence".into(),
                        };
                        ui.small(format!("face track {track_id}; {ev}"));
                    }
                }
                let is_match = matches!(a.kind, AlertKind::PossibleMatch { .. });
                // A possible match always needs its evidence seen; a plate hit its plate image
                // when the drone announced one (LAW.md sections 4 and 7).
                let image_needed = match &a.kind {
                    AlertKind::PossibleMatch { .. } => true,
                    AlertKind::PlateHit {
                        image_transfer_id,
                        image_size,
                        ..
                    } => *image_transfer_id != 0 && *image_size > 0,
                };
                let thumb = user
                    .as_ref()
                    .and_then(|u| cue.evidence.get(&(a.system_id, a.alert_id, u.clone())));
                let open_label = if is_match {
                    "Open evidence (logged)"
                } else {
                    "Open plate image (logged)"
                };
                if let Some(tex) = thumb {
                    let [w, h] = tex.size();
                    let scale = 120.0 / h.max(1) as f32;
                    ui.image((tex.id(), egui::vec2(w as f32 * scale, h as f32 * scale)));
                } else if a.evidence_jpeg.is_some() && user.is_some() && ui.button(open_label).clicked() {
                    action = Some((a.system_id, a.alert_id, Review::OpenEvidence));
                }
                if a.needs_attention() {
                    ui.horizontal(|ui| {
                        let confirm = if is_match { "Confirm" } else { "Checked" };
                        // A verdict comes after seeing the evidence / the plate image.
                        let seen = !image_needed || thumb.is_some();
                        let hint = if is_match {
                            "open the evidence first"
                        } else {
                            "open the plate image first"
                        };
                        if ui
                            .add_enabled(seen, egui::Button::new(confirm))
                            .on_disabled_hover_text(hint)
                            .clicked()
                        {
                            action = Some((a.system_id, a.alert_id, Review::Confirm));
                        }
                        if ui
                            .add_enabled(seen, egui::Button::new("Dismiss"))
                            .on_disabled_hover_text(hint)
                            .clicked()
                        {
                            action = Some((a.system_id, a.alert_id, Review::Dismiss));
                        }
                    });
                }
                if matches!(a.state, AlertState::Confirmed { .. } | AlertState::Checked { .. }) {
                    ui.horizontal(|ui| {
                        for act in [AlertAction::Export, AlertAction::Mark, AlertAction::Dispatch] {
                            if ui.button(act.name()).clicked() {
                                action = Some((a.system_id, a.alert_id, Review::Act(act)));
                            }
                        }
                    });
                }
            });
        }
    });
    let ctx = ui.ctx().clone();
    if let Some((sys, id, review)) = action {
        let Some(ops) = ops else {
            cue.last_error = Some("no users file loaded: review actions are disabled".into());
            return;
        };
        let now = wall_clock_usec();
        let r = match review {
            Review::Confirm => ops.ops.confirm(&mut world.0, sys, id, now).map(|_| None),
            Review::Dismiss => ops.ops.dismiss(&mut world.0, sys, id, now).map(|_| None),
            Review::OpenEvidence => match ops.ops.view_evidence(&world.0, sys, id, now) {
                Ok(jpeg) => match decode_jpeg(&jpeg) {
                    Ok(img) => {
                        let user = ops.ops.actor().map(|a| a.user_id.clone()).unwrap_or_default();
                        let tex = ctx.load_texture(format!("evidence-{sys}-{id}-{user}"), img, Default::default());
                        cue.evidence.insert((sys, id, user), tex);
                        Ok(None)
                    }
                    Err(e) => {
                        cue.last_error = Some(e);
                        return;
                    }
                },
                Err(e) => Err(e),
            },
            Review::Act(act) => {
                let dir = ops.export_dir.clone();
                ops.ops.act(&world.0, sys, id, act, &dir, now)
            }
        };
        match r {
            Ok(Some(path)) => {
                cue.last_error = None;
                info!("exported {}", path.display());
            }
            Ok(None) => cue.last_error = None,
            Err(e) => cue.last_error = Some(e.to_string()),
        }
    }
}

#[derive(Clone, Copy)]
enum Review {
    OpenEvidence,
    Confirm,
    Dismiss,
    Act(AlertAction),
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::dialect::UTKIK_BIOMETRIC_MATCH_DATA;

    fn world_with_match(alert_id: u32) -> WorldRes {
        let mut w = WorldRes::default();
        let m = UTKIK_BIOMETRIC_MATCH_DATA {
            alert_id,
            score: 0.61,
            ..Default::default()
        };
        assert!(w.0.alerts.apply_match(1, 191, &m, 0.0).is_some());
        w
    }

    /// Replay rebuilds its world while it plays, so the same alert comes "new" again and again:
    /// it is cued (bell, flash, count) once; a different alert is cued again.
    #[test]
    fn an_alert_is_cued_once_even_when_the_world_is_rebuilt() {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .configure_sets(Update, (GroundSet::Ingest, GroundSet::World, GroundSet::Draw).chain())
            .add_plugins(AlertsPlugin)
            .insert_resource(world_with_match(7));
        app.update();
        assert_eq!(app.world().resource::<AlertCue>().total, 1);
        for _ in 0..5 {
            app.insert_resource(world_with_match(7));
            app.update();
        }
        let cue = app.world().resource::<AlertCue>();
        assert_eq!(cue.total, 1, "the same alert rings once");
        assert!(cue.flash_frames < 180, "and the flash runs down");
        app.insert_resource(world_with_match(8));
        app.update();
        assert_eq!(app.world().resource::<AlertCue>().total, 2);
    }
}
