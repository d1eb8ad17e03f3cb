//! Tracks plugin: each geolocated track drawn with a class shape and colour, its trail, fading
//! when stale; class filters and the selected track (clicked in the panel) highlighted.

use std::collections::BTreeSet;

use bevy::prelude::*;

use super::map::MapView;
use super::{GroundSet, WorldRes};
use crate::state::{TrackClass, TrackKey};

/// Which classes are shown, and the selected track.
#[derive(Resource, Debug, Clone)]
pub struct TrackView {
    /// Hidden classes.
    pub hidden: BTreeSet<TrackClass>,
    /// Selected track.
    pub selected: Option<TrackKey>,
}

impl Default for TrackView {
    fn default() -> Self {
        Self {
            hidden: BTreeSet::new(),
            selected: None,
        }
    }
}

/// Colour of a class.
pub fn class_color(c: TrackClass) -> Color {
    match c {
        TrackClass::Face => Color::srgb(0.85, 0.2, 0.6),
        TrackClass::Plate => Color::srgb(0.95, 0.55, 0.0),
        TrackClass::Person => Color::srgb(0.2, 0.6, 0.2),
        TrackClass::Vehicle => Color::srgb(0.1, 0.45, 0.85),
        TrackClass::Unknown => Color::srgb(0.4, 0.4, 0.4),
    }
}

/// Draws tracks.
pub struct TracksPlugin;

impl Plugin for TracksPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<TrackView>()
            .add_systems(Update, draw.in_set(GroundSet::Draw));
    }
}

fn draw(mut gizmos: Gizmos, world: Res<WorldRes>, view: Res<MapView>, tv: Res<TrackView>) {
    let px = view.m_per_px.max(0.01);
    let now = world.0.now_s;
    for t in world.0.tracks.iter() {
        if tv.hidden.contains(&t.key.class) {
            continue;
        }
        let Some(p) = t.position else { continue };
        let Some(c) = view.xy(p.lon_deg, p.lat_deg) else {
            continue;
        };
        let color = class_color(t.key.class).with_alpha(t.opacity(now));
        if t.trail.len() > 1 {
            let trail: Vec<Vec2> = t.trail.iter().filter_map(|q| view.xy(q.lon_deg, q.lat_deg)).collect();
            gizmos.linestrip_2d(trail, color.with_alpha(t.opacity(now) * 0.5));
        }
        let s = 6.0 * px;
        match t.key.class {
            TrackClass::Plate | TrackClass::Vehicle => gizmos.rect_2d(c, Vec2::new(2.0 * s, 1.2 * s), color),
            TrackClass::Face => {
                gizmos.circle_2d(c, s, color);
                gizmos.circle_2d(c, s * 0.4, color);
            }
            TrackClass::Person => {
                gizmos.linestrip_2d(
                    [
                        c + Vec2::Y * s,
                        c + Vec2::new(s, -s),
                        c + Vec2::new(-s, -s),
                        c + Vec2::Y * s,
                    ],
                    color,
                );
            }
            TrackClass::Unknown => {
                gizmos.circle_2d(c, s, color);
            }
        }
        if tv.selected == Some(t.key) {
            gizmos.circle_2d(c, 2.2 * s, Color::srgb(1.0, 0.0, 0.0));
        }
    }
}
