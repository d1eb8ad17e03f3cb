//! The vehicle the operator selected (a click on its line in the health panel), as in
//! QGroundControl's vehicle selector: commands and "F: follow" go to it. With several sources at
//! one station a command is never sent to whichever vehicle happens to be first: it needs an
//! explicit choice ([`SelectedVehicle::command_target`]).
//!
//! "Heard" is measured on the source clock (the newest message in the world), so a replay
//! decides exactly as the live station did.

use bevy::prelude::*;
use utkik_shared::geo::GeoPoint;

use crate::state::World;

/// A vehicle silent for longer than this, seconds, is lost: no longer a command target. The
/// drone's own default for stopping identification without the ground
/// ([`utkik_shared::authz::DEFAULT_LINK_LOSS_STOP_S`]): by then both ends treat the link as cut.
pub const VEHICLE_LOST_AFTER_S: f64 = utkik_shared::authz::DEFAULT_LINK_LOSS_STOP_S as f64;

/// The selected vehicle's MAVLink system id (None: no choice made).
#[derive(Resource, Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectedVehicle(pub Option<u8>);

impl SelectedVehicle {
    /// The vehicle a command goes to: the selected one if it is heard, else the only vehicle
    /// when exactly one is heard, else None (several vehicles need an explicit choice; a
    /// selected vehicle that was lost is not replaced by a guess among several).
    pub fn command_target(&self, world: &World) -> Option<u8> {
        if let Some(id) = self.0.filter(|&id| is_heard(world, id)) {
            return Some(id);
        }
        match heard_vehicles(world).as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }

    /// A click on a vehicle's line: selects it, or clears the selection when it was selected.
    pub fn toggle(&mut self, system_id: u8) {
        self.0 = if self.0 == Some(system_id) {
            None
        } else {
            Some(system_id)
        };
    }

    /// Where "F: follow" keeps the map: the selected vehicle's last position, else the first
    /// vehicle with one (a single-vehicle station needs no choice to follow its drone).
    pub fn follow_position(&self, world: &World) -> Option<GeoPoint> {
        self.0
            .and_then(|id| world.vehicles.get(&id))
            .and_then(|v| v.position)
            .or_else(|| world.vehicles.values().find_map(|v| v.position))
    }
}

/// Seconds since any component of `system_id` was last heard, on the source clock; None for a
/// system never heard.
pub fn silence_s(world: &World, system_id: u8) -> Option<f64> {
    world
        .links
        .range((system_id, 0)..=(system_id, u8::MAX))
        .map(|(_, s)| s.silence_s(world.now_s))
        .min_by(f64::total_cmp)
}

/// A vehicle is heard while some component of it (autopilot, onboard pipeline) sent a message
/// within [`VEHICLE_LOST_AFTER_S`].
pub fn is_heard(world: &World, system_id: u8) -> bool {
    world.vehicles.contains_key(&system_id) && silence_s(world, system_id).is_some_and(|s| s <= VEHICLE_LOST_AFTER_S)
}

/// The system ids of the vehicles heard, ascending.
pub fn heard_vehicles(world: &World) -> Vec<u8> {
    world
        .vehicles
        .keys()
        .copied()
        .filter(|&id| is_heard(world, id))
        .collect()
}

/// Holds the [`SelectedVehicle`] (headless too: the console and the authorization panel ask it
/// for the command target).
pub struct SelectionPlugin;

impl Plugin for SelectionPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<SelectedVehicle>();
    }
}

#[cfg(test)]
mod tests {
    use utkik_shared::dialect::{GLOBAL_POSITION_INT_DATA, HEARTBEAT_DATA, MavMessage};

    use super::*;
    use crate::state::Origin;

    fn hear(world: &mut World, system_id: u8, time_s: f64) {
        world.hear(system_id, time_s);
    }

    #[test]
    fn no_vehicle_heard_no_target() {
        let world = World::new();
        assert_eq!(SelectedVehicle(None).command_target(&world), None);
        // A selection of a vehicle never heard is no target either.
        assert_eq!(SelectedVehicle(Some(3)).command_target(&world), None);
    }

    #[test]
    fn the_only_vehicle_heard_is_the_target_without_a_choice() {
        let mut world = World::new();
        hear(&mut world, 11, 100.0);
        assert_eq!(SelectedVehicle(None).command_target(&world), Some(11));
        // A stale selection of another id does not hide the only vehicle.
        assert_eq!(SelectedVehicle(Some(2)).command_target(&world), Some(11));
    }

    #[test]
    fn several_vehicles_need_an_explicit_choice() {
        let mut world = World::new();
        for id in [1, 2, 11] {
            hear(&mut world, id, 100.0);
        }
        assert_eq!(heard_vehicles(&world), vec![1, 2, 11]);
        assert_eq!(SelectedVehicle(None).command_target(&world), None);
        assert_eq!(SelectedVehicle(Some(2)).command_target(&world), Some(2));
        assert_eq!(SelectedVehicle(Some(11)).command_target(&world), Some(11));
    }

    #[test]
    fn a_selected_vehicle_that_was_lost_is_no_target() {
        let mut world = World::new();
        for id in [1, 2, 11] {
            hear(&mut world, id, 100.0);
        }
        let selected = SelectedVehicle(Some(2));
        // 1 and 11 go on talking; 2 falls silent. Just inside the limit it is still heard.
        hear(&mut world, 1, 100.0 + VEHICLE_LOST_AFTER_S);
        hear(&mut world, 11, 100.0 + VEHICLE_LOST_AFTER_S);
        assert_eq!(selected.command_target(&world), Some(2));
        hear(&mut world, 1, 101.0 + VEHICLE_LOST_AFTER_S);
        hear(&mut world, 11, 101.0 + VEHICLE_LOST_AFTER_S);
        assert!(!is_heard(&world, 2));
        // Two others are heard: no guess between them.
        assert_eq!(selected.command_target(&world), None);
        // Then 11 is lost too: the only vehicle heard is the target.
        hear(&mut world, 1, 102.0 + 2.0 * VEHICLE_LOST_AFTER_S);
        assert_eq!(heard_vehicles(&world), vec![1]);
        assert_eq!(selected.command_target(&world), Some(1));
        // 2 is back: the selection holds again.
        hear(&mut world, 2, 103.0 + 2.0 * VEHICLE_LOST_AFTER_S);
        assert_eq!(selected.command_target(&world), Some(2));
    }

    #[test]
    fn any_component_keeps_a_vehicle_heard() {
        let mut world = World::new();
        hear(&mut world, 1, 100.0);
        hear(&mut world, 2, 100.0);
        // Only the onboard pipeline (component 191) of drone 1 is heard later.
        world.apply(
            Origin {
                system_id: 1,
                component_id: 191,
                sequence: 0,
            },
            &MavMessage::HEARTBEAT(HEARTBEAT_DATA::default()),
            100.0 + 2.0 * VEHICLE_LOST_AFTER_S,
        );
        assert_eq!(silence_s(&world, 1), Some(0.0));
        assert_eq!(silence_s(&world, 2), Some(2.0 * VEHICLE_LOST_AFTER_S));
        assert_eq!(silence_s(&world, 3), None);
        assert_eq!(heard_vehicles(&world), vec![1]);
    }

    #[test]
    fn toggle_selects_and_clears() {
        let mut s = SelectedVehicle::default();
        s.toggle(2);
        assert_eq!(s, SelectedVehicle(Some(2)));
        s.toggle(11);
        assert_eq!(s, SelectedVehicle(Some(11)));
        s.toggle(11);
        assert_eq!(s, SelectedVehicle(None));
    }

    #[test]
    fn follow_keeps_the_selected_vehicle_else_the_first_positioned_one() {
        let mut world = World::new();
        let at = |lat_deg: f64| {
            MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
                lat: (lat_deg * 1e7) as i32,
                lon: 179_000_000,
                ..Default::default()
            })
        };
        hear(&mut world, 1, 1.0); // heard, no position yet
        let origin = |system_id| Origin {
            system_id,
            component_id: 1,
            sequence: 1,
        };
        world.apply(origin(2), &at(59.2), 1.0);
        world.apply(origin(3), &at(59.3), 1.0);
        let lat = |s: SelectedVehicle| s.follow_position(&world).map(|p| (p.lat_deg * 10.0).round() / 10.0);
        assert_eq!(lat(SelectedVehicle(None)), Some(59.2));
        assert_eq!(lat(SelectedVehicle(Some(3))), Some(59.3));
        // Selected but without a position: the map still follows someone.
        assert_eq!(lat(SelectedVehicle(Some(1))), Some(59.2));
    }
}
