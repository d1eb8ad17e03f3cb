//! Health plugin: panel content for the onboard pipeline status (fps, latency, dropped frames,
//! what carries the camera and whose it is),
//! link statistics (loss from sequence gaps, silence, garbage bytes, drops, unsigned links,
//! frames refused by the signature check) and vehicle state.
//!
//! Each vehicle's line starts with its colour swatch (the colour of its arrow, footprint, label
//! and track marks on the map); a click on it selects that vehicle ([`SelectedVehicle`]) for
//! commands and "F: follow", as QGroundControl's vehicle selector does. The panel says where a
//! command would go now, so with several sources the operator sees that a choice is needed.

use bevy::prelude::*;
use bevy_egui::egui;

use super::WorldRes;
use super::link::LinkStatus;
use super::palette::{swatch, vehicle_color32};
use super::recording::Recording;
use super::selection::{SelectedVehicle, heard_vehicles, is_heard, silence_s};
use super::vehicle::vehicle_label;
use crate::state::World;

/// Marker plugin (the panel is drawn by the UI plugin through [`health_panel`]).
pub struct HealthPlugin;

impl Plugin for HealthPlugin {
    fn build(&self, _app: &mut App) {}
}

/// Where a command would go now, in words, and whether that needs the operator's choice.
pub fn target_text(selected: &SelectedVehicle, world: &World) -> (String, bool) {
    let label = |id: u8| {
        world
            .vehicles
            .get(&id)
            .map(vehicle_label)
            .unwrap_or_else(|| id.to_string())
    };
    match (selected.command_target(world), selected.0) {
        (Some(t), Some(s)) if t == s => (format!("commands go to {} (selected)", label(t)), false),
        (Some(t), Some(s)) => (
            format!("commands go to {}, the only one heard ({} is lost)", label(t), label(s)),
            false,
        ),
        (Some(t), None) => (format!("commands go to {}, the only one heard", label(t)), false),
        (None, Some(s)) if heard_vehicles(world).is_empty() => {
            (format!("{} is lost; no vehicle heard", label(s)), true)
        }
        (None, Some(s)) => (
            format!("{} is lost: click the vehicle commands should go to", label(s)),
            true,
        ),
        (None, None) if heard_vehicles(world).is_empty() => ("no vehicle heard: no command can be sent".into(), true),
        (None, None) => ("several vehicles: click the one commands should go to".into(), true),
    }
}

/// Vehicles (each selectable), pipeline, link and recording.
pub fn health_panel(
    ui: &mut egui::Ui,
    world: &WorldRes,
    link: &LinkStatus,
    rec: &Recording,
    selected: &mut SelectedVehicle,
) {
    let w = &world.0;
    ui.heading("Vehicles");
    if w.vehicles.is_empty() {
        ui.label("no vehicle yet");
    } else {
        let (text, needs_choice) = target_text(selected, w);
        if needs_choice {
            ui.colored_label(egui::Color32::from_rgb(230, 150, 40), text);
        } else {
            ui.label(text);
        }
    }
    for v in w.vehicles.values() {
        ui.horizontal(|ui| {
            swatch(ui, vehicle_color32(v.system_id));
            let mut title = vehicle_label(v);
            if v.armed {
                title.push_str(" (armed)");
            }
            let is_selected = selected.0 == Some(v.system_id);
            // The swatch carries the colour; the text stays in the panel's colour (dark palette
            // colours would not read on a dark panel).
            let text = egui::RichText::new(title).strong();
            if ui
                .selectable_label(is_selected, text)
                .on_hover_text("select: commands and F (follow) go to this vehicle; click again to clear")
                .clicked()
            {
                selected.toggle(v.system_id);
            }
            if !is_heard(w, v.system_id) {
                let silent = silence_s(w, v.system_id).unwrap_or(f64::INFINITY);
                ui.colored_label(egui::Color32::LIGHT_RED, format!("lost, silent {silent:.0} s"));
            }
        });
        if let Some(p) = v.position {
            ui.monospace(format!("{:.6}, {:.6}", p.lat_deg, p.lon_deg));
        }
        ui.monospace(format!(
            "alt {:.1} m  hdg {:.0}°  spd {:.1} m/s",
            v.alt_m_rel, v.heading_deg, v.groundspeed_m_s
        ));
        let batt = match (v.battery_pct, v.battery_v) {
            (Some(p), Some(volt)) => format!("battery {p}% {volt:.1} V"),
            (Some(p), None) => format!("battery {p}%"),
            (None, Some(volt)) => format!("battery {volt:.1} V"),
            _ => "battery ?".into(),
        };
        let low = v.battery_pct.is_some_and(|p| p < 25);
        ui.colored_label(
            if low {
                egui::Color32::LIGHT_RED
            } else {
                ui.visuals().text_color()
            },
            batt,
        );
        match &v.pipeline {
            Some(s) => {
                if let Some(t) = v.source_text() {
                    // Another operator's camera is used on a different legal basis: it stands out.
                    let other =
                        s.legal_basis == utkik_shared::dialect::UtkikLegalBasis::UTKIK_LEGAL_BASIS_OTHER_OPERATOR;
                    ui.colored_label(
                        if other {
                            egui::Color32::from_rgb(120, 170, 255)
                        } else {
                            ui.visuals().text_color()
                        },
                        format!("source: {t}"),
                    );
                }
                ui.monospace(format!(
                    "pipeline {:.1} fps  lat p50 {} / p95 {} ms",
                    s.fps as f64 / 100.0,
                    s.latency_p50,
                    s.latency_p95
                ));
                ui.monospace(format!(
                    "frames {} in / {} done / {} dropped",
                    s.frames_in, s.frames_processed, s.frames_dropped
                ));
                ui.monospace(format!(
                    "cpu {}%  tracks {}  budget {}%  queue {}",
                    s.cpu_load, s.tracks_active, s.link_budget_used, s.queue_depth
                ));
                if let Some(t) = v.restream_text() {
                    let ok =
                        s.restream_state == utkik_shared::dialect::UtkikRestreamState::UTKIK_RESTREAM_STATE_STREAMING;
                    ui.colored_label(
                        if ok {
                            ui.visuals().text_color()
                        } else {
                            egui::Color32::from_rgb(230, 150, 40)
                        },
                        format!("masked video: {t}"),
                    );
                }
            }
            None => {
                ui.label("no pipeline status");
            }
        }
        ui.separator();
    }
    ui.heading("Link");
    for ((sys, comp), s) in &w.links {
        let silent = s.silence_s(w.now_s);
        ui.horizontal(|ui| {
            swatch(ui, vehicle_color32(*sys));
            let color = if silent > 3.0 || s.quality() < 0.9 {
                egui::Color32::LIGHT_RED
            } else {
                egui::Color32::LIGHT_GREEN
            };
            ui.colored_label(
                color,
                format!(
                    "{sys}/{comp}: {} rx, {} lost ({:.1}%), silent {:.1} s{}",
                    s.received,
                    s.lost,
                    (1.0 - s.quality()) * 100.0,
                    silent,
                    if s.unsigned > 0 {
                        format!("  UNSIGNED {}", s.unsigned)
                    } else {
                        String::new()
                    }
                ),
            );
        });
    }
    let c = &link.counters;
    ui.monospace(format!(
        "{} B in, garbage {} B, bad {} , dropped {}",
        c.bytes_in,
        c.decode.garbage_bytes,
        c.decode.bad_frames(),
        c.dropped
    ));
    let r = &c.refused;
    ui.colored_label(
        if r.total() > 0 {
            egui::Color32::LIGHT_RED
        } else {
            ui.visuals().text_color()
        },
        format!(
            "refused frames {}: unsigned {}, bad signature {}, replayed {}, unknown system {}",
            r.total(),
            r.unsigned,
            r.bad_signature,
            r.replayed,
            r.unknown_system
        ),
    );
    ui.monospace(format!(
        "ignored msgs {}, acks sent {}",
        w.ignored_messages, link.acks_sent
    ));
    if !link.text.is_empty() {
        ui.label(&link.text);
    }
    if let Some(f) = rec.files.last() {
        ui.small(format!("recording {} ({} files)", f.display(), rec.files.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::selection::VEHICLE_LOST_AFTER_S;

    fn hear(world: &mut World, system_id: u8, time_s: f64) {
        world.hear(system_id, time_s);
    }

    #[test]
    fn the_panel_says_where_a_command_goes_and_when_a_choice_is_needed() {
        let mut world = World::new();
        let none = SelectedVehicle(None);
        assert!(target_text(&none, &world).1);
        hear(&mut world, 1, 10.0);
        assert_eq!(
            target_text(&none, &world),
            ("commands go to 1, the only one heard".to_string(), false)
        );
        hear(&mut world, 2, 10.0);
        assert_eq!(
            target_text(&none, &world),
            (
                "several vehicles: click the one commands should go to".to_string(),
                true
            )
        );
        let two = SelectedVehicle(Some(2));
        assert_eq!(
            target_text(&two, &world),
            ("commands go to 2 (selected)".to_string(), false)
        );
        // 2 falls silent while 1 is heard: 1 is the only one heard and gets the commands.
        hear(&mut world, 1, 11.0 + VEHICLE_LOST_AFTER_S);
        assert_eq!(
            target_text(&two, &world),
            ("commands go to 1, the only one heard (2 is lost)".to_string(), false)
        );
        hear(&mut world, 3, 11.0 + VEHICLE_LOST_AFTER_S);
        assert_eq!(
            target_text(&two, &world),
            ("2 is lost: click the vehicle commands should go to".to_string(), true)
        );
    }
}
