//! Hit-path plugin: the last queried hit plate's movement history (`history PLATE REASON...`,
//! [`crate::ops::GroundOps::hit_history`], logged before it is shown) drawn on the map as a
//! time-ordered polyline from its oldest to its newest sighting, each sighting a ring with its
//! UTC time and source as a label (issue 19 item 4).
//!
//! The layout (map points in time order, with their labels) is computed by [`layout`] into
//! [`HitPathLayout`], a plain resource, so a test can run it under `MinimalPlugins`; the gizmos
//! and the egui labels only draw that layout.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use super::GroundSet;
use super::map::{MapCamera, MapView};
use crate::hit_history::HitPath;

/// The path to show: the last one queried (set by the console; None: nothing drawn).
#[derive(Resource, Debug, Default, Clone)]
pub struct HitPathView(pub Option<HitPath>);

/// One drawn point of the path.
#[derive(Debug, Clone, PartialEq)]
pub struct PathPoint {
    /// Map metres.
    pub xy: Vec2,
    /// Capture time (Unix µs), the order of the line.
    pub time_usec: u64,
    /// The label: UTC time of day and source.
    pub label: String,
}

/// The path as map points, oldest first (sightings without a position are left out: they are
/// still in the console's list).
#[derive(Resource, Debug, Default, Clone, PartialEq)]
pub struct HitPathLayout {
    /// The plate shown (empty: none).
    pub plate: String,
    /// The points in time order.
    pub points: Vec<PathPoint>,
}

/// The layout of `path` in `view`: its positioned sightings sorted by capture time (the store
/// returns them so; sorted here too so the line never depends on the caller).
pub fn path_points(view: &MapView, path: &HitPath) -> Vec<PathPoint> {
    let mut sightings: Vec<_> = path.sightings.iter().collect();
    sightings.sort_by(|a, b| (a.time_usec, &a.source, a.alert_id).cmp(&(b.time_usec, &b.source, b.alert_id)));
    sightings
        .into_iter()
        .filter_map(|s| {
            let (lat, lon) = s.lat_lon_deg?;
            let xy = view.xy(lon, lat)?;
            let utc = utkik_shared::utc::format_utc_usec(s.time_usec);
            // "YYYY-MM-DDTHH:MM:SS..." -> the time of day; the full date is in the console list.
            let time = utc.get(11..19).unwrap_or(&utc).to_string();
            Some(PathPoint {
                xy,
                time_usec: s.time_usec,
                label: format!("{time} {}", s.source),
            })
        })
        .collect()
}

/// Recomputes [`HitPathLayout`] when the path or the map changed.
pub fn layout(view: Res<MapView>, path: Res<HitPathView>, mut out: ResMut<HitPathLayout>) {
    if !view.is_changed() && !path.is_changed() {
        return;
    }
    let new = match &path.0 {
        Some(p) => HitPathLayout {
            plate: p.plate.clone(),
            points: path_points(&view, p),
        },
        None => HitPathLayout::default(),
    };
    if *out != new {
        *out = new;
    }
}

const PATH_COLOR: Color = Color::srgb(0.85, 0.1, 0.1);

fn draw(mut gizmos: Gizmos, view: Res<MapView>, l: Res<HitPathLayout>) {
    let px = view.m_per_px.max(0.01);
    for w in l.points.windows(2) {
        gizmos.arrow_2d(w[0].xy, w[1].xy, PATH_COLOR).with_tip_length(10.0 * px);
    }
    for p in &l.points {
        gizmos.circle_2d(p.xy, 7.0 * px, PATH_COLOR);
    }
}

fn labels(
    mut contexts: EguiContexts,
    l: Res<HitPathLayout>,
    cam: Query<(&Camera, &GlobalTransform), With<MapCamera>>,
) -> Result {
    if l.points.is_empty() {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?.clone();
    let Ok((camera, gt)) = cam.single() else {
        return Ok(());
    };
    let painter = ctx.layer_painter(egui::LayerId::background());
    for (i, p) in l.points.iter().enumerate() {
        if let Ok(s) = camera.world_to_viewport(gt, p.xy.extend(0.0)) {
            let text = if i == 0 {
                format!("{} {}", l.plate, p.label)
            } else {
                p.label.clone()
            };
            painter.text(
                egui::pos2(s.x + 9.0, s.y + 9.0),
                egui::Align2::LEFT_TOP,
                text,
                egui::FontId::monospace(12.0),
                egui::Color32::from_rgb(200, 20, 20),
            );
        }
    }
    Ok(())
}

/// Draws the last queried hit path (needs a window: gizmos and egui).
pub struct HitPathPlugin;

impl Plugin for HitPathPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<HitPathView>()
            .init_resource::<HitPathLayout>()
            .add_systems(Update, (layout, draw).chain().in_set(GroundSet::Draw))
            .add_systems(EguiPrimaryContextPass, labels);
    }
}
