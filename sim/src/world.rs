//! [`World`]: the renderer's [`Scene`] for a scenario at any sim time.
//!
//! Roads and buildings are built once; people and cars are placed per frame
//! from [`crate::actors`], which are pure functions of time, so a frame (and
//! its ground truth) can be reproduced on its own from the scenario and the
//! frame's sim time.
//!
//! Entity ids in the ground truth: pedestrian `i` of the scenario is
//! `PEDESTRIAN_ID_BASE + i`, car `i` is `CAR_ID_BASE + i`, so one number
//! names one scenario entity whatever its class in the truth (a person and
//! its face share the pedestrian's id; a car, its plates and its body share
//! the car's id).

use std::sync::Arc;

use glam::DVec2;

use crate::actors::{car_at, pedestrian_at};
use crate::render::{Assets, Building, FACE_CROPS, FaceRef, Person, Road, Scene, Vehicle};
use crate::scenario::{FaceSpec, Scenario};

/// Ground-truth id of the scenario's first pedestrian.
pub const PEDESTRIAN_ID_BASE: u32 = 1;
/// Ground-truth id of the scenario's first car.
pub const CAR_ID_BASE: u32 = 1001;

/// Car body size, metres (length, width, height): a mid-size saloon.
const CAR_SIZE_M: (f64, f64, f64) = (4.5, 1.8, 1.5);

/// The scenario's static scene plus its moving actors.
#[derive(Debug, Clone)]
pub struct World {
    base: Scene,
    scenario: Scenario,
    face_index: Vec<usize>,
}

/// Index into [`FACE_CROPS`] of the crop a scenario face names; a face the
/// crop table does not list falls back to the pedestrian's index so that
/// different people still look different.
fn face_index(face: &FaceSpec, pedestrian: usize) -> usize {
    FACE_CROPS
        .iter()
        .position(|(file, crop)| *file == face.image && *crop == face.crop)
        .unwrap_or(pedestrian)
}

/// A small deterministic variation of a colour per entity (so a street of
/// identical specs does not look cloned).
fn tint(base: [u8; 3], k: usize, spread: i32) -> [u8; 3] {
    let d = ((k as i32 * 37) % (2 * spread + 1)) - spread;
    base.map(|c| (i32::from(c) + d).clamp(0, 255) as u8)
}

/// The scenario's static map as the renderer draws it: roads and buildings (the camera video
/// and the simulator's map tiles are made from the same geometry and colours).
pub fn static_map(scenario: &Scenario) -> (Vec<Road>, Vec<Building>) {
    let roads = scenario
        .roads
        .iter()
        .map(|r| Road {
            centreline_enu_m: r.points.iter().map(|p| DVec2::new(p[0], p[1])).collect(),
            width_m: r.width_m,
            lanes: r.lanes,
        })
        .collect();
    let buildings = scenario
        .buildings
        .iter()
        .enumerate()
        .map(|(i, b)| Building {
            footprint_enu_m: b.footprint.iter().map(|p| DVec2::new(p[0], p[1])).collect(),
            height_m: b.height_m,
            wall_colour: tint([160, 150, 136], i, 20),
            roof_colour: tint([112, 74, 62], i * 3, 24),
        })
        .collect();
    (roads, buildings)
}

impl World {
    /// The static part of `scenario` (roads, buildings) with `assets` for plates and faces.
    pub fn new(scenario: &Scenario, assets: Arc<Assets>) -> Self {
        let mut base = Scene::new(scenario.origin.geo(), assets);
        (base.roads, base.buildings) = static_map(scenario);
        let face_index = scenario
            .pedestrians
            .iter()
            .enumerate()
            .map(|(i, p)| face_index(&p.face, i))
            .collect();
        Self {
            base,
            scenario: scenario.clone(),
            face_index,
        }
    }

    /// The scene at `sim_time_usec` after the scenario start.
    pub fn scene_at(&self, sim_time_usec: u64) -> Scene {
        let t_s = sim_time_usec as f64 * 1e-6;
        let mut scene = self.base.clone();
        scene.people = self
            .scenario
            .pedestrians
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let pose = pedestrian_at(p, t_s);
                Person {
                    id: PEDESTRIAN_ID_BASE + i as u32,
                    position_enu_m: pose.position_enu_m,
                    heading_rad: pose.heading_rad,
                    height_m: p.height_m,
                    shirt_colour: p.shirt_rgb,
                    trousers_colour: tint([52, 54, 66], i, 14),
                    hair_colour: tint([58, 40, 28], i * 5, 18),
                    face: FaceRef {
                        index: self.face_index[i],
                        identity: p.face.identity.clone(),
                        // Lighting varies a little per person: few real faces, so vary them.
                        gain: 0.9 + 0.05 * (i % 5) as f32,
                    },
                }
            })
            .collect();
        scene.vehicles = self
            .scenario
            .vehicles
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let road = self.scenario.road(&c.road)?;
                let pose = car_at(c, road, t_s);
                Some(Vehicle {
                    id: CAR_ID_BASE + i as u32,
                    position_enu_m: pose.position_enu_m,
                    heading_rad: pose.heading_rad,
                    length_m: CAR_SIZE_M.0,
                    width_m: CAR_SIZE_M.1,
                    height_m: CAR_SIZE_M.2,
                    colour: c.colour_rgb,
                    plate: c.plate.clone(),
                })
            })
            .collect();
        scene
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::FaceSet;
    use crate::scenario::scenarios_dir;

    fn world(name: &str) -> World {
        let s = Scenario::load(&scenarios_dir().join(name)).unwrap();
        let assets = Assets::new(std::path::Path::new(crate::render::PLATE_FONT_PATH), FaceSet::default()).unwrap();
        World::new(&s, Arc::new(assets))
    }

    #[test]
    fn actors_move_with_time_and_keep_their_ids_and_labels() {
        let w = world("urban-street.toml");
        let a = w.scene_at(0);
        let b = w.scene_at(2_000_000);
        let s = w.scenario();
        assert_eq!(a.people.len(), s.pedestrians.len());
        assert_eq!(a.vehicles.len(), s.vehicles.len());
        assert_eq!(a.roads.len(), s.roads.len());
        assert_eq!(a.buildings.len(), s.buildings.len());
        for (i, (p, q)) in a.people.iter().zip(&b.people).enumerate() {
            assert_eq!(p.id, PEDESTRIAN_ID_BASE + i as u32);
            assert_eq!(p.face.identity, s.pedestrians[i].face.identity);
            let moved = (q.position_enu_m - p.position_enu_m).length();
            assert!(
                (moved - 2.0 * s.pedestrians[i].speed_m_s).abs() < 1e-6 || s.pedestrians[i].path.len() > 2,
                "pedestrian {i} moved {moved} m"
            );
        }
        for (i, (c, d)) in a.vehicles.iter().zip(&b.vehicles).enumerate() {
            assert_eq!(c.id, CAR_ID_BASE + i as u32);
            assert_eq!(c.plate, s.vehicles[i].plate);
            let moved = (d.position_enu_m - c.position_enu_m).length();
            assert!(
                (moved - 2.0 * s.vehicles[i].speed_m_s).abs() < 1e-6,
                "car {i} moved {moved} m"
            );
        }
    }

    #[test]
    fn scenario_faces_map_to_their_crops() {
        let w = world("person-search.toml");
        let scene = w.scene_at(0);
        // astronaut.png is the first crop, sample1.jpg's three faces follow.
        let idx: Vec<usize> = scene.people.iter().map(|p| p.face.index).collect();
        assert_eq!(idx, vec![0, 1, 2, 3]);
    }
}
