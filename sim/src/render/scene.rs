//! [`Scene`]: what the simulated camera can see, in a local ENU frame (metres,
//! x east, y north, z up) anchored at a WGS84 origin on flat ground.

use std::sync::Arc;

use glam::DVec2;
use serde::{Deserialize, Serialize};
use utkik_shared::geo::{GeoPoint, LocalFrame};

use super::assets::Assets;

/// An RGB colour.
pub type Rgb = [u8; 3];

/// What a ground polygon is made of (sets its colour unless overridden).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    /// Lawn, verge, park.
    Grass,
    /// Sidewalk, square, parking.
    Pavement,
    /// Asphalt.
    Road,
    /// White paint on a road.
    Marking,
    /// Water.
    Water,
}

impl Surface {
    /// Default colour of the surface.
    pub fn colour(self) -> Rgb {
        match self {
            Surface::Grass => [78, 112, 58],
            Surface::Pavement => [150, 146, 138],
            Surface::Road => [66, 67, 70],
            Surface::Marking => [228, 228, 222],
            Surface::Water => [48, 78, 110],
        }
    }
}

/// A flat polygon on the ground. Drawn in order of `layer` (low first), then
/// of its position in [`Scene::ground`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundPolygon {
    /// Outline, ENU metres (x east, y north); not closed (first != last).
    pub outline_enu_m: Vec<DVec2>,
    /// Material.
    pub surface: Surface,
    /// Colour override.
    pub colour: Option<Rgb>,
    /// Draw order among ground polygons.
    pub layer: i32,
}

/// A road: an asphalt band along a centreline with edge lines and dashed lane
/// lines, expanded into [`GroundPolygon`]s by [`Road::polygons`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Road {
    /// Centreline, ENU metres.
    pub centreline_enu_m: Vec<DVec2>,
    /// Total width, metres.
    pub width_m: f64,
    /// Number of lanes (>= 1); dashed lines are drawn between them.
    pub lanes: u32,
}

/// A building: a prism over its footprint. Drones mostly see the roof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Building {
    /// Footprint, ENU metres, counter-clockwise seen from above.
    pub footprint_enu_m: Vec<DVec2>,
    /// Roof height above the ground, metres.
    pub height_m: f64,
    /// Wall colour.
    pub wall_colour: Rgb,
    /// Roof colour.
    pub roof_colour: Rgb,
}

/// A car-like vehicle: a body box, a cabin box on top and a number plate on the
/// rear and the front (520 x 110 mm, Swedish layout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vehicle {
    /// Entity id reported in ground truth.
    pub id: u32,
    /// Centre of the footprint on the ground, ENU metres.
    pub position_enu_m: DVec2,
    /// Heading, radians clockwise from north (the direction the front points).
    pub heading_rad: f64,
    /// Length, metres.
    pub length_m: f64,
    /// Width, metres.
    pub width_m: f64,
    /// Height, metres.
    pub height_m: f64,
    /// Paint colour.
    pub colour: Rgb,
    /// Plate text as printed, e.g. "ABC 123" (truth uses it without spaces).
    pub plate: String,
}

/// Which face a person has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceRef {
    /// Index into the loaded [`super::FaceSet`] (modulo its length).
    pub index: usize,
    /// Identity reported in ground truth (e.g. "bystander-3" or a designated subject id).
    pub identity: String,
    /// Lighting gain applied to the face texture (1.0 = as photographed).
    pub gain: f32,
}

/// A pedestrian: legs, torso, head, and the face as a textured vertical
/// billboard on the front of the head, facing the heading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// Entity id reported in ground truth.
    pub id: u32,
    /// Feet position, ENU metres.
    pub position_enu_m: DVec2,
    /// Heading, radians clockwise from north (the direction the face looks).
    pub heading_rad: f64,
    /// Height, metres.
    pub height_m: f64,
    /// Shirt colour.
    pub shirt_colour: Rgb,
    /// Trousers colour.
    pub trousers_colour: Rgb,
    /// Hair colour (top and back of the head).
    pub hair_colour: Rgb,
    /// Face.
    pub face: FaceRef,
}

/// Colour of bare ground (the scene's default).
pub const DEFAULT_GROUND_COLOUR: Rgb = [96, 104, 80];

/// Unit vector towards the sun, ENU (the scene's default: south-east, 55 degrees up).
pub fn default_sun_dir_enu() -> glam::DVec3 {
    glam::DVec3::new(0.35, -0.45, 0.82).normalize()
}

/// Everything the camera can see.
#[derive(Debug, Clone)]
pub struct Scene {
    /// Origin of the local ENU frame; its altitude is the ground's (AMSL).
    pub origin: GeoPoint,
    /// Colour of bare ground.
    pub ground_colour: Rgb,
    /// Colour above the horizon.
    pub sky_colour: Rgb,
    /// Unit vector towards the sun, ENU (shades walls and boxes).
    pub sun_dir_enu: glam::DVec3,
    /// Ground polygons.
    pub ground: Vec<GroundPolygon>,
    /// Roads (drawn after ground polygons of layer <= 0, before those above).
    pub roads: Vec<Road>,
    /// Buildings.
    pub buildings: Vec<Building>,
    /// Vehicles.
    pub vehicles: Vec<Vehicle>,
    /// People.
    pub people: Vec<Person>,
    /// Font and face imagery.
    pub assets: Arc<Assets>,
}

impl Scene {
    /// An empty scene at `origin` with default colours and sun.
    pub fn new(origin: GeoPoint, assets: Arc<Assets>) -> Self {
        Self {
            origin,
            ground_colour: DEFAULT_GROUND_COLOUR,
            sky_colour: [176, 196, 220],
            sun_dir_enu: default_sun_dir_enu(),
            ground: Vec::new(),
            roads: Vec::new(),
            buildings: Vec::new(),
            vehicles: Vec::new(),
            people: Vec::new(),
            assets,
        }
    }

    /// The scene's local frame.
    pub fn frame(&self) -> LocalFrame {
        LocalFrame::new(self.origin)
    }

    /// WGS84 position of a ground point given in ENU metres.
    pub fn geo_of(&self, enu_m: DVec2) -> GeoPoint {
        self.frame().from_enu(glam::DVec3::new(enu_m.x, enu_m.y, 0.0))
    }
}

impl Road {
    /// Asphalt band, edge lines (0.15 m, 0.3 m in from the edge) and dashed
    /// lane lines (3 m paint, 9 m gap) as ground polygons of layer 0 and 1.
    pub fn polygons(&self) -> Vec<GroundPolygon> {
        let mut out = Vec::new();
        let pts = &self.centreline_enu_m;
        let half = self.width_m / 2.0;
        for seg in pts.windows(2) {
            let (a, b) = (seg[0], seg[1]);
            let len = (b - a).length();
            if len < 1e-6 {
                continue;
            }
            let dir = (b - a) / len;
            let n = DVec2::new(-dir.y, dir.x);
            // Overlap segments by half a width so joints have no gaps.
            let (a_ext, b_ext) = (a - dir * half.min(len), b + dir * half.min(len));
            out.push(band(a_ext, b_ext, n, -half, half, Surface::Road, 0));
            for off in [-half + 0.3, half - 0.3] {
                out.push(band(a, b, n, off - 0.075, off + 0.075, Surface::Marking, 1));
            }
            let lanes = self.lanes.max(1);
            for k in 1..lanes {
                let off = -half + self.width_m * f64::from(k) / f64::from(lanes);
                let mut s = 0.0;
                while s < len {
                    let e = (s + 3.0).min(len);
                    out.push(band(
                        a + dir * s,
                        a + dir * e,
                        n,
                        off - 0.06,
                        off + 0.06,
                        Surface::Marking,
                        1,
                    ));
                    s += 12.0;
                }
            }
        }
        out
    }
}

fn band(a: DVec2, b: DVec2, n: DVec2, lo: f64, hi: f64, surface: Surface, layer: i32) -> GroundPolygon {
    GroundPolygon {
        outline_enu_m: vec![a + n * lo, b + n * lo, b + n * hi, a + n * hi],
        surface,
        colour: None,
        layer,
    }
}
