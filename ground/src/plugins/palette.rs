//! One palette for the map and the panels: a colour per source, so a vehicle's arrow, trail,
//! footprint, label, its tracks' marks and its line in the health panel all say "this is drone 2"
//! the same way (QGroundControl's multi-vehicle view).
//!
//! A station's own sources are coloured by MAVLink system id, never by order of arrival: drone 2
//! keeps its colour when drone 1 drops out or a replay starts at a later minute. A centre's remote
//! sources ([`source_color`]) are coloured by their place in the sorted list of sources.

use bevy::prelude::*;
use bevy_egui::egui;

/// Hand-picked colours that read on the light map background and on egui's panels, as distinct
/// from each other as twelve can be (hue, then lightness; the closest pair, blue and cyan, is 76
/// apart in sRGB). Index 0 is system id 1.
const VEHICLE_PALETTE: [(u8, u8, u8); 12] = [
    (31, 119, 180),  // blue
    (214, 39, 40),   // red
    (44, 160, 44),   // green
    (148, 103, 189), // purple
    (255, 127, 14),  // orange
    (23, 190, 207),  // cyan
    (227, 119, 194), // pink
    (140, 86, 75),   // brown
    (100, 40, 160),  // violet
    (50, 50, 50),    // charcoal
    (188, 189, 34),  // olive: 11, a typical first fixed camera, far from 1 and 2
    (0, 0, 128),     // navy
];

/// The colour of a station's own source (drone, fixed camera, vehicle camera) by its MAVLink
/// system id. Ids 1..=12 get distinct palette colours; each further round of twelve repeats the
/// hues darker, then lighter, so neighbours in a larger fleet still differ.
pub fn vehicle_color(system_id: u8) -> Color {
    let [r, g, b] = vehicle_rgb(system_id);
    Color::srgb_u8(r, g, b)
}

/// [`vehicle_color`] for egui panels.
pub fn vehicle_color32(system_id: u8) -> egui::Color32 {
    let [r, g, b] = vehicle_rgb(system_id);
    egui::Color32::from_rgb(r, g, b)
}

fn vehicle_rgb(system_id: u8) -> [u8; 3] {
    let n = VEHICLE_PALETTE.len();
    // System id 0 is MAVLink's broadcast address, never a source: it shares id 1's slot.
    let i = usize::from(system_id.max(1)) - 1;
    let (r, g, b) = VEHICLE_PALETTE[i % n];
    let round = i / n;
    let shade = |c: u8| -> u8 {
        let c = f32::from(c);
        let v = match round {
            0 => c,
            // Odd rounds darker, even rounds lighter, each a bit further than the last.
            k if k % 2 == 1 => c * (1.0 - 0.15 * (k.div_ceil(2) as f32)).max(0.25),
            k => c + (255.0 - c) * (0.15 * (k / 2) as f32).min(0.75),
        };
        v.round().clamp(0.0, 255.0) as u8
    };
    [shade(r), shade(g), shade(b)]
}

/// A colour per remote source at a centre, stable while the set of sources is (palette by key
/// order).
pub fn source_color(index: usize) -> Color {
    const PALETTE: [(f32, f32, f32); 8] = [
        (0.90, 0.30, 0.10),
        (0.10, 0.55, 0.90),
        (0.20, 0.70, 0.25),
        (0.75, 0.25, 0.75),
        (0.95, 0.75, 0.10),
        (0.10, 0.70, 0.70),
        (0.55, 0.35, 0.15),
        (0.45, 0.45, 0.95),
    ];
    let (r, g, b) = PALETTE[index % PALETTE.len()];
    Color::srgb(r, g, b)
}

/// A Bevy colour for egui (alpha dropped: panels draw opaque).
pub fn color32(c: Color) -> egui::Color32 {
    let [r, g, b, _] = c.to_srgba().to_u8_array();
    egui::Color32::from_rgb(r, g, b)
}

/// A small filled square in `color` on the current line of a panel, the key between a line of
/// text and what the map draws in that colour.
pub fn swatch(ui: &mut egui::Ui, color: egui::Color32) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
    ui.painter().rect_filled(rect, 2.0, color);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Euclidean distance in sRGB, 0..=441.
    fn distance(a: [u8; 3], b: [u8; 3]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(&x, y)| (f32::from(x) - f32::from(y)).powi(2))
            .sum::<f32>()
            .sqrt()
    }

    #[test]
    fn the_first_twelve_ids_are_far_apart() {
        // 70 of 441: blue against cyan (76) is the closest pair, still told apart at a glance.
        for a in 1..=12u8 {
            for b in (a + 1)..=12 {
                let d = distance(vehicle_rgb(a), vehicle_rgb(b));
                assert!(d > 70.0, "ids {a} and {b} are too alike: {d:.0}");
            }
        }
    }

    #[test]
    fn colour_depends_on_the_id_alone_and_later_rounds_differ_from_the_first() {
        // The examples of the brief: 1, 2 and 11 over one link.
        let before: Vec<_> = [1u8, 2, 11].iter().map(|&id| vehicle_color(id)).collect();
        let after: Vec<_> = [11u8, 2].iter().map(|&id| vehicle_color(id)).collect();
        assert_eq!((before[1], before[2]), (after[1], after[0]));
        assert_ne!(before[0], before[2]);
        // Ids twelve apart share a hue but not a colour, in every round up to 255.
        for id in 1..=243u8 {
            assert_ne!(vehicle_rgb(id), vehicle_rgb(id + 12), "ids {id} and {}", id + 12);
        }
        // The egui colour is the same colour.
        for id in [1u8, 7, 13, 200] {
            assert_eq!(color32(vehicle_color(id)), vehicle_color32(id), "id {id}");
        }
    }
}
