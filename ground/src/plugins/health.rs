//! Health plugin: panel content for the onboard pipeline status (fps, latency, dropped frames,
//! what carries the camera and whose it is),
//! link statistics (loss from sequence gaps, silence, garbage bytes, drops, unsigned links,
//! frames refused by the signature check) and vehicle state.

use bevy::prelude::*;
use bevy_egui::egui;

use super::WorldRes;
use super::link::LinkStatus;
use super::recording::Recording;

/// Marker plugin (the panel is drawn by the UI plugin through [`health_panel`]).
pub struct HealthPlugin;

impl Plugin for HealthPlugin {
    fn build(&self, _app: &mut App) {}
}

/// Vehicles, pipeline, link and recording.
pub fn health_panel(ui: &mut egui::Ui, world: &WorldRes, link: &LinkStatus, rec: &Recording) {
    let w = &world.0;
    ui.heading("Vehicles");
    if w.vehicles.is_empty() {
        ui.label("no vehicle yet");
    }
    for v in w.vehicles.values() {
        ui.strong(format!(
            "Vehicle {}{}",
            v.system_id,
            if v.armed { " (armed)" } else { "" }
        ));
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
