//! UI plugin: the egui layout around the map (left: vehicles, health, authorization; right:
//! alerts, tracks with class filters and the selected track's details; top: banner, alert cue,
//! cursor coordinates; bottom: scale bar) plus labels for tracks with plate text on the map.
//! Each track's line starts with the colour swatch of the source that saw it, as on the map.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use super::WorldRes;
use super::alerts::{AlertCue, alerts_panel};
use super::authz::authz_panel;
use super::health::health_panel;
use super::link::{LinkStatus, MessageSource};
use super::map::{MapCamera, MapView};
use super::palette::{color32, swatch, vehicle_color32};
use super::recording::Recording;
use super::selection::SelectedVehicle;
use super::session::{OpsRes, session_panel};
use super::tracks::{TrackView, class_color, seen_by};
use crate::state::TrackClass;

/// Panels.
pub struct UiPlugin;

impl Plugin for UiPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(EguiPrimaryContextPass, panels);
    }
}

#[allow(clippy::too_many_arguments)]
fn panels(
    mut contexts: EguiContexts,
    mut world: ResMut<WorldRes>,
    mut ops: Option<ResMut<OpsRes>>,
    mut cue: ResMut<AlertCue>,
    mut tv: ResMut<TrackView>,
    mut selected: ResMut<SelectedVehicle>,
    view: Res<MapView>,
    link: Res<LinkStatus>,
    rec: Res<Recording>,
    source: Res<MessageSource>,
    state: Res<State<super::AppState>>,
    cam: Query<(&Camera, &GlobalTransform), With<MapCamera>>,
    intake: Option<Res<super::event_intake::EventIntake>>,
    remote: Option<Res<super::event_intake::RemoteRes>>,
) -> Result {
    let ctx = contexts.ctx_mut()?.clone();
    let mut root = egui::Ui::new(
        ctx.clone(),
        "ground-root".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    egui::Panel::top("top").show(&mut root, |ui| {
        ui.horizontal(|ui| {
            ui.strong("UTKIK ground");
            ui.label(format!("{:?}", state.get()));
            if cue.flash_frames > 0 && (cue.flash_frames / 15).is_multiple_of(2) {
                ui.colored_label(
                    egui::Color32::RED,
                    egui::RichText::new("  NEW ALERT  ").strong().size(18.0),
                );
            }
            if let Some(b) = &view.banner {
                ui.colored_label(egui::Color32::from_rgb(200, 110, 0), b);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if let Some((lon, lat)) = view.cursor_lonlat {
                    ui.monospace(format!("{lat:.6}, {lon:.6}"));
                }
                ui.small(world.0.counts_line());
            });
        });
    });
    egui::Panel::left("left").default_size(300.0).show(&mut root, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            if let Some(ops) = ops.as_deref_mut() {
                session_panel(ui, ops);
                ui.separator();
            }
            if let (Some(intake), Some(remote)) = (intake.as_deref(), remote.as_deref()) {
                super::event_intake::centre_panel(ui, intake, remote);
                ui.separator();
            }
            health_panel(ui, &world, &link, &rec, &mut selected);
            ui.separator();
            let target = selected.command_target(&world.0);
            authz_panel(ui, &mut world, &source, ops.as_deref_mut(), target);
            if let Some(ops) = ops.as_deref_mut() {
                ui.separator();
                search_panel(ui, &world, ops);
            }
        });
    });
    egui::Panel::right("right").default_size(330.0).show(&mut root, |ui| {
        alerts_panel(ui, &mut world, ops.as_deref_mut(), &mut cue);
        ui.separator();
        ui.heading(format!("Tracks ({} live)", world.0.tracks.live_count()));
        ui.horizontal_wrapped(|ui| {
            for c in TrackClass::ALL {
                let mut shown = !tv.hidden.contains(&c);
                let text = egui::RichText::new(c.name()).color(color32(class_color(c)));
                if ui.checkbox(&mut shown, text).changed() {
                    if shown {
                        tv.hidden.remove(&c);
                    } else {
                        tv.hidden.insert(c);
                    }
                }
            }
        });
        let now = world.0.now_s;
        let mut list: Vec<_> = world
            .0
            .tracks
            .iter()
            .filter(|t| !tv.hidden.contains(&t.key.class))
            .collect();
        list.sort_by(|a, b| b.last_seen_s.total_cmp(&a.last_seen_s));
        egui::ScrollArea::vertical()
            .id_salt("tracks")
            .max_height(220.0)
            .show(ui, |ui| {
                for t in list.iter().take(200) {
                    let mut label = format!("{} #{}", t.key.class.name(), t.key.track_id);
                    match t.plate.as_deref() {
                        Some("") => label.push_str(" [read: no hit]"),
                        Some(p) => label.push_str(&format!(" [{p}]")),
                        None => {}
                    }
                    if t.is_stale(now) {
                        label.push_str(" (stale)");
                    }
                    let sel = tv.selected == Some(t.key);
                    ui.horizontal(|ui| {
                        swatch(ui, vehicle_color32(t.key.system_id));
                        if ui.selectable_label(sel, label).clicked() {
                            tv.selected = if sel { None } else { Some(t.key) };
                        }
                    });
                }
            });
        if let Some(t) = tv.selected.and_then(|k| world.0.tracks.get(&k)) {
            ui.separator();
            ui.strong(format!("{} track {}", t.key.class.name(), t.key.track_id));
            ui.horizontal(|ui| {
                swatch(ui, vehicle_color32(t.key.system_id));
                ui.label(seen_by(&world.0, &t.key));
            });
            match t.plate.as_deref() {
                Some("") => {
                    ui.label("plate read: not on the hit list (its text is not kept, LAW.md 7)");
                }
                Some(p) => {
                    ui.label(format!("plate {p} ({}%)", t.plate_confidence));
                }
                None => {}
            }
            ui.label(format!("confidence {}%  hits {}", t.confidence, t.hits));
            if let Some(p) = t.position {
                ui.monospace(format!("{:.6}, {:.6}", p.lat_deg, p.lon_deg));
            }
            if let Some(h) = t.h_acc_m {
                ui.label(format!("± {h:.1} m"));
            }
            ui.label(format!(
                "seen {:.0} s, last {:.1} s ago, {} trail points",
                t.last_seen_s - t.first_seen_s,
                now - t.last_seen_s,
                t.trail.len()
            ));
        }
    });
    egui::Panel::bottom("bottom").show(&mut root, |ui| {
        ui.horizontal(|ui| {
            // Scale bar: a round length close to 120 px.
            let target_m = view.m_per_px * 120.0;
            let mag = 10f32.powf(target_m.max(0.01).log10().floor());
            let len_m = [1.0, 2.0, 5.0, 10.0]
                .iter()
                .map(|f| f * mag)
                .rfind(|l| *l <= target_m)
                .unwrap_or(mag);
            let len_px = len_m / view.m_per_px.max(1e-6);
            let (rect, _) = ui.allocate_exact_size(egui::vec2(len_px + 4.0, 14.0), egui::Sense::hover());
            let y = rect.center().y;
            let stroke = egui::Stroke::new(2.0, ui.visuals().text_color());
            ui.painter().line_segment(
                [
                    egui::pos2(rect.left() + 2.0, y),
                    egui::pos2(rect.left() + 2.0 + len_px, y),
                ],
                stroke,
            );
            ui.label(if len_m >= 1000.0 {
                format!("{} km", len_m / 1000.0)
            } else {
                format!("{len_m} m")
            });
            ui.separator();
            ui.small("drag: pan  wheel or +/-: zoom  Q/E: rotate  R: north up  F: follow (selected vehicle)");
        });
    });
    // Plate labels on the map.
    if let Ok((camera, gt)) = cam.single() {
        let painter = ctx.layer_painter(egui::LayerId::background());
        for t in world.0.tracks.iter() {
            let (Some(text), Some(p)) = (t.plate.as_ref().filter(|s| !s.is_empty()), t.position) else {
                continue;
            };
            if tv.hidden.contains(&t.key.class) {
                continue;
            }
            let Some(xy) = view.xy(p.lon_deg, p.lat_deg) else {
                continue;
            };
            if let Ok(s) = camera.world_to_viewport(gt, xy.extend(0.0)) {
                painter.text(
                    egui::pos2(s.x + 8.0, s.y - 8.0),
                    egui::Align2::LEFT_BOTTOM,
                    text,
                    egui::FontId::monospace(12.0),
                    egui::Color32::from_rgb(160, 70, 0),
                );
            }
        }
    }
    Ok(())
}

/// Search in plate reads (signed in, with a reason; every search is logged, LAW.md section 7).
fn search_panel(ui: &mut egui::Ui, world: &WorldRes, ops: &mut OpsRes) {
    ui.heading("Search plate reads");
    ui.horizontal(|ui| {
        ui.label("plate");
        ui.text_edit_singleline(&mut ops.search);
    });
    ui.horizontal(|ui| {
        ui.label("reason");
        ui.text_edit_singleline(&mut ops.search_reason);
    });
    if ui.button("Search (logged)").clicked() {
        let (q, reason) = (ops.search.clone(), ops.search_reason.clone());
        match ops
            .ops
            .search_reads(&world.0, &q, &reason, crate::audit_log::wall_clock_usec())
        {
            Ok(found) => {
                ops.search_results = crate::console::search_text(&q, &found)
                    .lines()
                    .map(String::from)
                    .collect();
                ops.message = None;
            }
            Err(e) => ops.message = Some(e.to_string()),
        }
    }
    for r in &ops.search_results {
        ui.small(r);
    }
}
