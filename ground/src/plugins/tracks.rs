//! Tracks plugin: each geolocated track drawn with a class shape and colour, its trail, fading
//! when stale; class filters and the selected track (clicked in the panel) highlighted. With
//! several sources at one station each track also carries a small diamond in the colour of the
//! source that saw it ([`super::palette::vehicle_color`]): the class stays readable from the
//! shape and its colour, the source from the mark.

use std::collections::BTreeSet;

use bevy::prelude::*;

use super::map::MapView;
use super::palette::vehicle_color;
use super::vehicle::vehicle_label;
use super::{GroundSet, WorldRes};
use crate::state::{TrackClass, TrackKey, World};

/// Which classes are shown, and the selected track.
#[derive(Resource, Debug, Clone, Default)]
pub struct TrackView {
    /// Hidden classes.
    pub hidden: BTreeSet<TrackClass>,
    /// Selected track.
    pub selected: Option<TrackKey>,
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

/// Which source saw the track, for its details: "seen by 11 fixed camera (other operator)".
pub fn seen_by(world: &World, key: &TrackKey) -> String {
    match world.vehicles.get(&key.system_id) {
        Some(v) => format!("seen by {}", vehicle_label(v)),
        None => format!("seen by system {}", key.system_id),
    }
}

/// Where the source mark of a track drawn at `c` with size `s` goes: above left of the class
/// shape, clear of it.
pub fn source_mark_centre(c: Vec2, s: f32) -> Vec2 {
    c + Vec2::new(-1.6 * s, 1.4 * s)
}

/// A diamond of half-diagonal `r` around `m`, closed (no class is drawn as a diamond, so the
/// source mark is never read as one).
pub fn diamond(m: Vec2, r: f32) -> [Vec2; 5] {
    [
        m + Vec2::Y * r,
        m + Vec2::X * r,
        m - Vec2::Y * r,
        m - Vec2::X * r,
        m + Vec2::Y * r,
    ]
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
        let source = vehicle_color(t.key.system_id).with_alpha(t.opacity(now));
        // Two nested diamonds: bold enough to read the colour at a glance.
        let m = source_mark_centre(c, s);
        gizmos.linestrip_2d(diamond(m, 0.6 * s), source);
        gizmos.linestrip_2d(diamond(m, 0.3 * s), source);
        if tv.selected == Some(t.key) {
            gizmos.circle_2d(c, 2.2 * s, Color::srgb(1.0, 0.0, 0.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use utkik_shared::dialect::{
        MavMessage, UTKIK_PIPELINE_STATUS_DATA, UTKIK_TRACK_DATA, UtkikLegalBasis, UtkikObjectClass, UtkikSourceKind,
    };

    use super::*;
    use crate::state::Origin;

    #[test]
    fn a_track_names_the_source_that_saw_it() {
        let mut world = World::new();
        let origin = |system_id| Origin {
            system_id,
            component_id: 191,
            sequence: 0,
        };
        let track = MavMessage::UTKIK_TRACK(UTKIK_TRACK_DATA {
            track_id: 5,
            object_class: UtkikObjectClass::UTKIK_OBJECT_CLASS_PLATE,
            ..Default::default()
        });
        world.apply(origin(11), &track, 1.0);
        world.apply(origin(2), &track, 1.0);
        let key = |system_id| TrackKey {
            system_id,
            class: TrackClass::Plate,
            track_id: 5,
        };
        // Before any pipeline status the kind is unknown: the id alone.
        assert_eq!(seen_by(&world, &key(11)), "seen by 11");
        world.apply(
            origin(11),
            &MavMessage::UTKIK_PIPELINE_STATUS(UTKIK_PIPELINE_STATUS_DATA {
                source_kind: UtkikSourceKind::UTKIK_SOURCE_KIND_FIXED,
                legal_basis: UtkikLegalBasis::UTKIK_LEGAL_BASIS_OTHER_OPERATOR,
                ..Default::default()
            }),
            2.0,
        );
        world.apply(origin(2), &MavMessage::UTKIK_PIPELINE_STATUS(Default::default()), 2.0);
        assert_eq!(seen_by(&world, &key(11)), "seen by 11 fixed camera (other operator)");
        assert_eq!(seen_by(&world, &key(2)), "seen by 2 drone");
        assert_eq!(seen_by(&world, &key(7)), "seen by system 7");
    }

    #[test]
    fn the_source_mark_stays_clear_of_every_class_shape() {
        let (c, s) = (Vec2::new(10.0, -4.0), 6.0);
        let m = source_mark_centre(c, s);
        let d = diamond(m, 0.6 * s);
        assert_eq!(d[0], d[4], "closed");
        // The largest class shape reaches 1.0 s from the centre (rect half-width, circle, triangle).
        for p in d {
            assert!((p - c).abs().max_element() > 1.0 * s, "{p} overlaps the shape at {c}");
        }
    }
}
