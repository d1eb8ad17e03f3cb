//! Vehicle plugin: each source the station hears (drone, fixed camera, vehicle camera) as an
//! arrow with its heading, its trail, its home and the camera footprint polygon (from
//! `utkik_shared::camera`), all in the source's own colour ([`super::palette::vehicle_color`]),
//! with a label on the map ("1 drone", "11 fixed camera (other operator)") so several sources
//! at one station are told apart as in QGroundControl. The selected vehicle
//! ([`SelectedVehicle`]) is drawn with a second outline and a ring.
//!
//! The labels' layout is computed by [`layout`] into [`VehicleLayout`], a plain resource, so a
//! test runs it under `MinimalPlugins`; the gizmos and the egui painter only draw.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use utkik_shared::dialect::UtkikLegalBasis;

use super::map::{MapCamera, MapView};
use super::palette::{vehicle_color, vehicle_color32};
use super::selection::{SelectedVehicle, is_heard};
use super::{GroundSet, WorldRes};
use crate::state::Vehicle;

/// Draws vehicles.
pub struct VehiclePlugin;

impl Plugin for VehiclePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<VehicleLayout>()
            .add_systems(Update, (layout, draw).chain().in_set(GroundSet::Draw))
            .add_systems(EguiPrimaryContextPass, labels);
    }
}

/// What a source is, in a few words for its map label: system id and kind, and whose camera it
/// is when not the station's own ("11 fixed camera (other operator)"). Before its pipeline
/// status the kind is unknown and the label is the id alone.
pub fn vehicle_label(v: &Vehicle) -> String {
    let (Some((_, basis)), Some(kind)) = (v.source(), v.kind_name()) else {
        return v.system_id.to_string();
    };
    let basis = match basis {
        UtkikLegalBasis::UTKIK_LEGAL_BASIS_OWN => "",
        // Used on a different legal basis (e.g. the road authority's traffic camera): said.
        UtkikLegalBasis::UTKIK_LEGAL_BASIS_OTHER_OPERATOR => " (other operator)",
    };
    format!("{} {kind}{basis}", v.system_id)
}

/// One vehicle's label on the map.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleMark {
    /// MAVLink system id.
    pub system_id: u8,
    /// Map metres of its last position.
    pub xy: Vec2,
    /// [`vehicle_label`], with "lost" added when it is no longer heard.
    pub label: String,
    /// Its colour.
    pub color: Color,
    /// The operator selected it.
    pub selected: bool,
}

/// The vehicles with a position, by system id.
#[derive(Resource, Debug, Default, Clone, PartialEq)]
pub struct VehicleLayout(pub Vec<VehicleMark>);

/// Recomputes [`VehicleLayout`] from the world, the map and the selection.
pub fn layout(
    world: Res<WorldRes>,
    view: Res<MapView>,
    selected: Option<Res<SelectedVehicle>>,
    mut out: ResMut<VehicleLayout>,
) {
    let selected = selected.map(|s| s.0).unwrap_or_default();
    let marks: Vec<VehicleMark> = world
        .0
        .vehicles
        .values()
        .filter_map(|v| {
            let p = v.position?;
            let xy = view.xy(p.lon_deg, p.lat_deg)?;
            let mut label = vehicle_label(v);
            if !is_heard(&world.0, v.system_id) {
                label.push_str(" lost");
            }
            Some(VehicleMark {
                system_id: v.system_id,
                xy,
                label,
                color: vehicle_color(v.system_id),
                selected: selected == Some(v.system_id),
            })
        })
        .collect();
    if out.0 != marks {
        out.0 = marks;
    }
}

/// `pts` moved `d` map metres towards their centroid: a second outline inside the first.
fn inset(pts: &[Vec2], d: f32) -> Vec<Vec2> {
    if pts.is_empty() {
        return Vec::new();
    }
    let c = pts.iter().copied().sum::<Vec2>() / pts.len() as f32;
    pts.iter().map(|&p| p + (c - p).normalize_or_zero() * d).collect()
}

fn draw(mut gizmos: Gizmos, world: Res<WorldRes>, view: Res<MapView>, selected: Option<Res<SelectedVehicle>>) {
    let px = view.m_per_px.max(0.01);
    let selected = selected.map(|s| s.0).unwrap_or_default();
    for v in world.0.vehicles.values() {
        let Some(p) = v.position else { continue };
        let Some(c) = view.xy(p.lon_deg, p.lat_deg) else {
            continue;
        };
        let col = vehicle_color(v.system_id);
        let emphasised = selected == Some(v.system_id);
        if let Some(fp) = v.footprint() {
            let pts: Vec<Vec2> = fp.iter().filter_map(|&(lon, lat)| view.xy(lon, lat)).collect();
            gizmos.linestrip_2d(pts.iter().copied().chain(pts.first().copied()), col.with_alpha(0.9));
            if emphasised {
                let inner = inset(&pts, 2.0 * px);
                gizmos.linestrip_2d(inner.iter().copied().chain(inner.first().copied()), col);
            }
        }
        let trail: Vec<Vec2> = v.trail.iter().filter_map(|q| view.xy(q.lon_deg, q.lat_deg)).collect();
        gizmos.linestrip_2d(trail, col.with_alpha(if emphasised { 0.9 } else { 0.6 }));
        if let Some(h) = v.home
            && let Some(hx) = view.xy(h.lon_deg, h.lat_deg)
        {
            // Home stays green (the universal "home" mark), outlined in the vehicle's colour.
            gizmos.rect_2d(hx, Vec2::splat(14.0 * px), Color::srgb(0.1, 0.6, 0.1));
            gizmos.rect_2d(hx, Vec2::splat(17.0 * px), col);
            gizmos.line_2d(
                hx - Vec2::X * 7.0 * px,
                hx + Vec2::X * 7.0 * px,
                Color::srgb(0.1, 0.6, 0.1),
            );
        }
        // Arrow: heading clockwise from north -> angle from +x counter-clockwise.
        let a = (90.0 - v.heading_deg).to_radians() as f32;
        let fwd = Vec2::new(a.cos(), a.sin());
        let side = Vec2::new(-fwd.y, fwd.x);
        let arrow = |s: f32| {
            let tip = c + fwd * s;
            let l = c - fwd * s * 0.7 + side * s * 0.6;
            let r = c - fwd * s * 0.7 - side * s * 0.6;
            [tip, l, c - fwd * s * 0.3, r, tip]
        };
        gizmos.linestrip_2d(arrow(16.0 * px), col);
        gizmos.circle_2d(c, 2.5 * px, col);
        if emphasised {
            gizmos.linestrip_2d(arrow(14.5 * px), col);
            gizmos.linestrip_2d(arrow(20.0 * px), col);
            gizmos.circle_2d(c, 26.0 * px, col);
        }
    }
}

fn labels(
    mut contexts: EguiContexts,
    l: Res<VehicleLayout>,
    cam: Query<(&Camera, &GlobalTransform), With<MapCamera>>,
) -> Result {
    if l.0.is_empty() {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?.clone();
    let Ok((camera, gt)) = cam.single() else {
        return Ok(());
    };
    let painter = ctx.layer_painter(egui::LayerId::background());
    for m in &l.0 {
        let Ok(s) = camera.world_to_viewport(gt, m.xy.extend(0.0)) else {
            continue;
        };
        let color = vehicle_color32(m.system_id);
        let font = if m.selected {
            egui::FontId::proportional(14.0)
        } else {
            egui::FontId::proportional(12.0)
        };
        // Below right of the arrow: dark text on a light plate framed in the vehicle's colour,
        // readable for every palette colour over any basemap; the selected one framed thicker.
        let text = egui::Color32::from_gray(25);
        let galley = painter.layout_no_wrap(m.label.clone(), font, text);
        let pos = egui::pos2(s.x + 14.0, s.y + 10.0);
        let rect = egui::Rect::from_min_size(pos, galley.size()).expand2(egui::vec2(4.0, 2.0));
        painter.rect_filled(rect, 3.0, egui::Color32::from_white_alpha(220));
        let width = if m.selected { 3.5 } else { 1.5 };
        painter.rect_stroke(rect, 3.0, egui::Stroke::new(width, color), egui::StrokeKind::Outside);
        painter.galley(pos, galley, text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use utkik_shared::dialect::{GLOBAL_POSITION_INT_DATA, MavMessage, UTKIK_PIPELINE_STATUS_DATA, UtkikSourceKind};

    use super::*;
    use crate::state::{Origin, World};

    fn status(kind: UtkikSourceKind, basis: UtkikLegalBasis) -> MavMessage {
        MavMessage::UTKIK_PIPELINE_STATUS(UTKIK_PIPELINE_STATUS_DATA {
            source_kind: kind,
            legal_basis: basis,
            ..Default::default()
        })
    }

    #[test]
    fn label_says_id_kind_and_whose_camera() {
        use UtkikLegalBasis::*;
        use UtkikSourceKind::*;
        let label = |id, msg: Option<MavMessage>| {
            let mut v = Vehicle::new(id);
            if let Some(m) = msg {
                v.apply(191, &m, 1.0);
            }
            vehicle_label(&v)
        };
        assert_eq!(label(4, None), "4");
        let cases = [
            (1, UTKIK_SOURCE_KIND_DRONE, UTKIK_LEGAL_BASIS_OWN, "1 drone"),
            (
                2,
                UTKIK_SOURCE_KIND_DRONE,
                UTKIK_LEGAL_BASIS_OTHER_OPERATOR,
                "2 drone (other operator)",
            ),
            (
                11,
                UTKIK_SOURCE_KIND_FIXED,
                UTKIK_LEGAL_BASIS_OTHER_OPERATOR,
                "11 fixed camera (other operator)",
            ),
            (12, UTKIK_SOURCE_KIND_FIXED, UTKIK_LEGAL_BASIS_OWN, "12 fixed camera"),
            (
                21,
                UTKIK_SOURCE_KIND_VEHICLE,
                UTKIK_LEGAL_BASIS_OWN,
                "21 vehicle camera",
            ),
            (
                22,
                UTKIK_SOURCE_KIND_VEHICLE,
                UTKIK_LEGAL_BASIS_OTHER_OPERATOR,
                "22 vehicle camera (other operator)",
            ),
        ];
        for (id, kind, basis, want) in cases {
            assert_eq!(label(id, Some(status(kind, basis))), want);
        }
    }

    fn position(world: &mut World, system_id: u8, lat_deg: f64, time_s: f64) {
        let origin = Origin {
            system_id,
            component_id: 1,
            sequence: 0,
        };
        let msg = MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
            lat: (lat_deg * 1e7) as i32,
            lon: 179_020_000,
            ..Default::default()
        });
        world.apply(origin, &msg, time_s);
    }

    fn app(world: World, selected: Option<u8>) -> App {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .configure_sets(Update, (GroundSet::Ingest, GroundSet::World, GroundSet::Draw).chain())
            .init_resource::<VehicleLayout>()
            .add_systems(Update, layout.in_set(GroundSet::Draw))
            .insert_resource(WorldRes(world))
            .insert_resource(SelectedVehicle(selected));
        let mut view = MapView::default();
        view.set_origin(59.394, 17.902);
        app.insert_resource(view);
        app
    }

    /// Three sources on the map, 2 selected; then 1 drops out of the world (a restarted
    /// station's replay from a later minute): 2 and 11 keep their colours and labels.
    #[test]
    fn headless_layout_colours_by_id_labels_and_marks_the_selected_vehicle() {
        let mut world = World::new();
        for (id, lat) in [(1, 59.394), (2, 59.395), (11, 59.396)] {
            position(&mut world, id, lat, 100.0);
        }
        world.apply(
            Origin {
                system_id: 11,
                component_id: 191,
                sequence: 0,
            },
            &status(
                UtkikSourceKind::UTKIK_SOURCE_KIND_FIXED,
                UtkikLegalBasis::UTKIK_LEGAL_BASIS_OTHER_OPERATOR,
            ),
            100.0,
        );
        let mut a = app(world.clone(), Some(2));
        a.update();
        let marks = a.world().resource::<VehicleLayout>().0.clone();
        let ids: Vec<u8> = marks.iter().map(|m| m.system_id).collect();
        assert_eq!(ids, vec![1, 2, 11]);
        assert_eq!(
            marks.iter().map(|m| m.label.as_str()).collect::<Vec<_>>(),
            vec!["1", "2", "11 fixed camera (other operator)"]
        );
        assert_eq!(
            marks.iter().map(|m| m.selected).collect::<Vec<_>>(),
            vec![false, true, false]
        );
        assert_ne!(marks[0].color, marks[1].color);
        assert_ne!(marks[1].color, marks[2].color);
        // Map positions follow the latitude (north is +y).
        assert!(marks[0].xy.y < marks[1].xy.y && marks[1].xy.y < marks[2].xy.y);

        world.vehicles.remove(&1);
        let mut b = app(world, Some(2));
        b.update();
        let after = b.world().resource::<VehicleLayout>().0.clone();
        assert_eq!(after.len(), 2);
        assert_eq!((after[0].system_id, after[0].color), (2, marks[1].color));
        assert_eq!((after[1].system_id, after[1].color), (11, marks[2].color));
    }

    #[test]
    fn a_silent_vehicle_is_labelled_lost() {
        let mut world = World::new();
        position(&mut world, 1, 59.394, 100.0);
        position(&mut world, 2, 59.395, 100.0);
        let mut a = app(world, None);
        a.update();
        assert!(
            a.world()
                .resource::<VehicleLayout>()
                .0
                .iter()
                .all(|m| !m.label.ends_with("lost"))
        );
        position(
            &mut a.world_mut().resource_mut::<WorldRes>().0,
            1,
            59.394,
            101.0 + super::super::selection::VEHICLE_LOST_AFTER_S,
        );
        a.update();
        let labels: Vec<String> = a
            .world()
            .resource::<VehicleLayout>()
            .0
            .iter()
            .map(|m| m.label.clone())
            .collect();
        assert_eq!(labels, vec!["1".to_string(), "2 lost".to_string()]);
    }
}
