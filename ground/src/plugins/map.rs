//! Map plugin: a 2D camera over a local metric frame (x east, y north, metres), GeoJSON overlays
//! drawn with gizmos, a grid when there is no basemap, pan (drag), zoom (wheel, +/-), rotate (Q/E),
//! and the cursor position in WGS84 for the UI.

use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll};
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::EguiContexts;

use super::selection::SelectedVehicle;
use super::{GroundSet, WorldRes};
use crate::map::{MapProjection, Overlay, OverlayKind};

/// What the map shows and how it is projected.
#[derive(Resource, Default)]
pub struct MapView {
    /// Projection (set from the overlays' centre or the first vehicle position).
    pub projection: Option<MapProjection>,
    /// Vector overlays, (lon, lat).
    pub overlays: Vec<Overlay>,
    /// Overlays projected to map metres (refreshed when the projection is set).
    pub projected: Vec<(OverlayKind, bool, Vec<Vec2>)>,
    /// Banner for the operator (missing basemap, broken files).
    pub banner: Option<String>,
    /// Cursor position (lon, lat) when over the map.
    pub cursor_lonlat: Option<(f64, f64)>,
    /// Metres per screen pixel at the current zoom.
    pub m_per_px: f32,
    /// Follow the selected vehicle ([`SelectedVehicle::follow_position`]: else the first).
    pub follow: bool,
}

impl MapView {
    /// Map metres for (lon, lat), if the projection is known.
    pub fn xy(&self, lon_deg: f64, lat_deg: f64) -> Option<Vec2> {
        self.projection.map(|p| Vec2::from(p.to_xy(lon_deg, lat_deg)))
    }

    /// Sets the projection centre and projects the overlays.
    pub fn set_origin(&mut self, lat_deg: f64, lon_deg: f64) {
        let p = MapProjection::new(lat_deg, lon_deg);
        self.projection = Some(p);
        self.projected = self
            .overlays
            .iter()
            .map(|o| {
                (
                    o.kind,
                    o.closed,
                    o.points
                        .iter()
                        .map(|&(lon, lat)| Vec2::from(p.to_xy(lon, lat)))
                        .collect(),
                )
            })
            .collect();
    }
}

/// The map camera marker.
#[derive(Component)]
pub struct MapCamera;

/// Closest zoom, metres per screen pixel.
const MIN_SCALE: f32 = crate::console::MAP_M_PER_PX_MIN as f32;
/// Farthest zoom, metres per screen pixel.
const MAX_SCALE: f32 = crate::console::MAP_M_PER_PX_MAX as f32;

/// Camera, controls and overlays.
pub struct MapPlugin;

impl Plugin for MapPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<MapView>()
            .insert_resource(ClearColor(Color::srgb(0.93, 0.92, 0.89)))
            .add_systems(Startup, setup)
            .add_systems(
                Update,
                (origin_from_vehicle, controls, draw_overlays)
                    .chain()
                    .in_set(GroundSet::Draw),
            );
    }
}

fn setup(mut commands: Commands, mut view: ResMut<MapView>) {
    commands.spawn((
        Camera2d,
        MapCamera,
        Projection::Orthographic(OrthographicProjection {
            scale: 1.0,
            ..OrthographicProjection::default_2d()
        }),
    ));
    view.m_per_px = 1.0;
    view.follow = view.overlays.is_empty();
    if view.projection.is_none() && !view.overlays.is_empty() {
        let n = view.overlays.iter().map(|o| o.points.len()).sum::<usize>().max(1) as f64;
        let (sx, sy) = view
            .overlays
            .iter()
            .flat_map(|o| o.points.iter())
            .fold((0.0, 0.0), |(sx, sy), &(lon, lat)| (sx + lon, sy + lat));
        view.set_origin(sy / n, sx / n);
    }
}

fn origin_from_vehicle(
    world: Res<WorldRes>,
    selected: Option<Res<SelectedVehicle>>,
    mut view: ResMut<MapView>,
    mut cam: Query<&mut Transform, With<MapCamera>>,
) {
    if view.projection.is_none()
        && let Some(p) = world.0.vehicles.values().find_map(|v| v.position)
    {
        view.set_origin(p.lat_deg, p.lon_deg);
    }
    if view.follow {
        let followed = selected
            .as_deref()
            .copied()
            .unwrap_or_default()
            .follow_position(&world.0);
        if let (Some(p), Ok(mut t)) = (followed, cam.single_mut())
            && let Some(xy) = view.xy(p.lon_deg, p.lat_deg)
        {
            t.translation.x = xy.x;
            t.translation.y = xy.y;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn controls(
    mut contexts: EguiContexts,
    buttons: Res<ButtonInput<MouseButton>>,
    keys: Res<ButtonInput<KeyCode>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut cam: Query<(&Camera, &GlobalTransform, &mut Transform, &mut Projection), With<MapCamera>>,
    mut view: ResMut<MapView>,
    time: Res<Time>,
) {
    let Ok((camera, gt, mut t, mut proj)) = cam.single_mut() else {
        return;
    };
    let egui_busy = contexts
        .ctx_mut()
        .map(|c| c.egui_wants_pointer_input())
        .unwrap_or(false);
    let Projection::Orthographic(ortho) = &mut *proj else {
        return;
    };
    if !egui_busy {
        if scroll.delta.y != 0.0 {
            ortho.scale = (ortho.scale * (1.0 - 0.1 * scroll.delta.y.clamp(-5.0, 5.0))).clamp(MIN_SCALE, MAX_SCALE);
        }
        // Keyboard zoom as in QGroundControl and web maps: + in, - out, a step of 1.25x.
        let zoom_in = keys.just_pressed(KeyCode::Equal) || keys.just_pressed(KeyCode::NumpadAdd);
        let zoom_out = keys.just_pressed(KeyCode::Minus) || keys.just_pressed(KeyCode::NumpadSubtract);
        if zoom_in != zoom_out {
            let k = if zoom_in { 0.8 } else { 1.25 };
            ortho.scale = (ortho.scale * k).clamp(MIN_SCALE, MAX_SCALE);
        }
        if buttons.pressed(MouseButton::Left) && motion.delta != Vec2::ZERO {
            let d = t.rotation * Vec3::new(-motion.delta.x, motion.delta.y, 0.0) * ortho.scale;
            t.translation += d;
            view.follow = false;
        }
    }
    let rot = (keys.pressed(KeyCode::KeyE) as i32 - keys.pressed(KeyCode::KeyQ) as i32) as f32;
    if rot != 0.0 {
        t.rotate_z(rot * time.delta_secs());
    }
    if keys.just_pressed(KeyCode::KeyF) {
        view.follow = !view.follow;
    }
    if keys.just_pressed(KeyCode::KeyR) {
        t.rotation = Quat::IDENTITY;
    }
    view.m_per_px = ortho.scale;
    view.cursor_lonlat = None;
    if let (Ok(w), Some(p)) = (window.single(), view.projection) {
        if let Some(c) = w.cursor_position() {
            if let Ok(xy) = camera.viewport_to_world_2d(gt, c) {
                view.cursor_lonlat = Some(p.to_lonlat(xy.x, xy.y));
            }
        }
    }
}

/// Colour of an overlay kind.
pub fn overlay_color(kind: OverlayKind) -> Color {
    match kind {
        OverlayKind::Road => Color::srgb(0.55, 0.55, 0.58),
        OverlayKind::Building => Color::srgb(0.62, 0.45, 0.35),
        OverlayKind::Geofence => Color::srgb(0.85, 0.1, 0.1),
        OverlayKind::AuthorizedArea => Color::srgb(0.1, 0.45, 0.9),
        OverlayKind::Water => Color::srgb(0.3, 0.55, 0.85),
        OverlayKind::Green => Color::srgb(0.35, 0.65, 0.35),
        OverlayKind::Other => Color::srgb(0.4, 0.4, 0.4),
    }
}

fn draw_overlays(mut gizmos: Gizmos, view: Res<MapView>, cam: Query<&Transform, With<MapCamera>>) {
    if view.projected.is_empty() {
        // No basemap: a 100 m grid around the camera so motion and scale stay readable.
        if let Ok(t) = cam.single() {
            let step = if view.m_per_px > 4.0 { 1000.0 } else { 100.0 };
            let span = step * 20.0;
            let cx = (t.translation.x / step).round() * step;
            let cy = (t.translation.y / step).round() * step;
            let c = Color::srgba(0.5, 0.5, 0.5, 0.35);
            for i in -20..=20 {
                let o = i as f32 * step;
                gizmos.line_2d(Vec2::new(cx + o, cy - span), Vec2::new(cx + o, cy + span), c);
                gizmos.line_2d(Vec2::new(cx - span, cy + o), Vec2::new(cx + span, cy + o), c);
            }
        }
        return;
    }
    for (kind, closed, pts) in &view.projected {
        let color = overlay_color(*kind);
        if *closed {
            gizmos.linestrip_2d(pts.iter().copied().chain(pts.first().copied()), color);
        } else {
            gizmos.linestrip_2d(pts.iter().copied(), color);
        }
    }
}
