//! Bevy side of the ground station: one plugin per feature, a [`GroundSet`] order (ingest ->
//! world -> draw -> ui) and the [`AppState`] (Live or Replay). The world itself is the plain
//! [`crate::state::World`] in the [`WorldRes`] resource; plugins only feed it or draw it, so a
//! replay source feeds the same plugins as the live link.

pub mod alerts;
pub mod authz;
pub mod console;
pub mod event_bus;
pub mod event_intake;
pub mod health;
pub mod hit_path;
pub mod link;
pub mod link_loss;
pub mod map;
pub mod palette;
pub mod recording;
pub mod retention;
pub mod selection;
pub mod session;
pub mod tiles;
pub mod tracks;
pub mod ui;
pub mod vehicle;
pub mod video;

use bevy::prelude::*;

use crate::state::World;

/// Order of the ground station's systems within `Update`.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroundSet {
    /// Messages from the source into the world.
    Ingest,
    /// World bookkeeping (expiry, cues).
    World,
    /// Map drawing (gizmos, camera).
    Draw,
}

/// Where messages come from.
#[derive(States, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AppState {
    /// A live link.
    #[default]
    Live,
    /// A recorded file.
    Replay,
}

/// The world state shared by all plugins.
#[derive(Resource, Default)]
pub struct WorldRes(pub World);

/// Everything except drawing and panels: runs under `MinimalPlugins` for tests and headless.
pub struct GroundCorePlugins;

impl Plugin for GroundCorePlugins {
    fn build(&self, app: &mut App) {
        app.init_resource::<WorldRes>()
            .configure_sets(Update, (GroundSet::Ingest, GroundSet::World, GroundSet::Draw).chain())
            .add_plugins((
                link::LinkPlugin,
                alerts::AlertsPlugin,
                recording::RecordingPlugin,
                session::SessionPlugin,
                retention::RetentionPlugin,
                link_loss::LinkLossPlugin,
                video::VideoPlugin,
                event_bus::EventBusPlugin,
                event_intake::EventIntakePlugin,
                selection::SelectionPlugin,
            ));
        if !app.world().contains_resource::<State<AppState>>() {
            app.insert_resource(State::new(AppState::Live));
        }
    }
}

/// Map, vehicle, tracks and panels on top of [`GroundCorePlugins`] (needs a window, `EguiPlugin`).
pub struct GroundViewPlugins;

impl Plugin for GroundViewPlugins {
    fn build(&self, app: &mut App) {
        app.add_plugins((
            map::MapPlugin,
            tiles::TilesPlugin,
            vehicle::VehiclePlugin,
            tracks::TracksPlugin,
            ui::UiPlugin,
            health::HealthPlugin,
            authz::AuthzPlugin,
            video::VideoWindowPlugin,
            hit_path::HitPathPlugin,
            event_intake::RemoteTracksPlugin,
        ));
    }
}
