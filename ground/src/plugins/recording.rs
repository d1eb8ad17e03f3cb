//! Recording plugin: exposes the tlog files the link thread writes (every received packet,
//! rotated by size) to the UI and logs each new file.

use std::path::PathBuf;

use bevy::prelude::*;

use super::GroundSet;
use super::link::MessageSource;

/// Tlog files written so far by the live link.
#[derive(Resource, Default, Debug, Clone)]
pub struct Recording {
    /// Files, oldest first.
    pub files: Vec<PathBuf>,
}

/// Keeps [`Recording`] current.
pub struct RecordingPlugin;

impl Plugin for RecordingPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Recording>()
            .add_systems(Update, refresh.in_set(GroundSet::World));
    }
}

fn refresh(source: Res<MessageSource>, mut rec: ResMut<Recording>) {
    if let MessageSource::Live(h) = &*source {
        let files = h.tlog_files.lock().expect("tlog list lock");
        if files.len() != rec.files.len() {
            if let Some(f) = files.last() {
                info!("recording to {}", f.display());
            }
            rec.files = files.clone();
        }
    }
}
