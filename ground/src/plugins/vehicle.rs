//! Vehicle plugin: each vehicle as an arrow with its heading, its trail, its home and the camera
//! footprint polygon (from `utkik_shared::camera`).

use bevy::prelude::*;

use super::map::MapView;
use super::{GroundSet, WorldRes};

/// Draws vehicles.
pub struct VehiclePlugin;

impl Plugin for VehiclePlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, draw.in_set(GroundSet::Draw));
    }
}

fn draw(mut gizmos: Gizmos, world: Res<WorldRes>, view: Res<MapView>) {
    let px = view.m_per_px.max(0.01);
    for v in world.0.vehicles.values() {
        let Some(p) = v.position else { continue };
        let Some(c) = view.xy(p.lon_deg, p.lat_deg) else {
            continue;
        };
        if let Some(fp) = v.footprint() {
            let pts: Vec<Vec2> = fp.iter().filter_map(|&(lon, lat)| view.xy(lon, lat)).collect();
            gizmos.linestrip_2d(
                pts.iter().copied().chain(pts.first().copied()),
                Color::srgba(0.1, 0.6, 0.9, 0.9),
            );
        }
        let trail: Vec<Vec2> = v.trail.iter().filter_map(|q| view.xy(q.lon_deg, q.lat_deg)).collect();
        gizmos.linestrip_2d(trail, Color::srgba(0.1, 0.2, 0.7, 0.7));
        if let Some(h) = v.home {
            if let Some(hx) = view.xy(h.lon_deg, h.lat_deg) {
                gizmos.rect_2d(hx, Vec2::splat(14.0 * px), Color::srgb(0.1, 0.6, 0.1));
                gizmos.line_2d(
                    hx - Vec2::X * 7.0 * px,
                    hx + Vec2::X * 7.0 * px,
                    Color::srgb(0.1, 0.6, 0.1),
                );
            }
        }
        // Arrow: heading clockwise from north -> angle from +x counter-clockwise.
        let a = (90.0 - v.heading_deg).to_radians() as f32;
        let fwd = Vec2::new(a.cos(), a.sin());
        let side = Vec2::new(-fwd.y, fwd.x);
        let s = 16.0 * px;
        let tip = c + fwd * s;
        let l = c - fwd * s * 0.7 + side * s * 0.6;
        let r = c - fwd * s * 0.7 - side * s * 0.6;
        let col = Color::srgb(0.05, 0.1, 0.5);
        gizmos.linestrip_2d([tip, l, c - fwd * s * 0.3, r, tip], col);
        gizmos.circle_2d(c, 2.5 * px, col);
    }
}
