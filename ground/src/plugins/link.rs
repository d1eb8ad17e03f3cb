//! Link plugin: drains the message source (live link or any channel of [`LinkEvent`]s, which is
//! how replay plugs in) into the world every frame, and sends the world's acknowledgements back.

use bevy::prelude::*;
use crossbeam_channel::Receiver;

use super::{GroundSet, WorldRes};
use crate::link::{LinkCounters, LinkEvent, LinkHandle};

/// Tracks not updated for this long are removed from the world, seconds.
pub const TRACK_FORGET_S: f64 = 60.0;

/// The message source.
#[derive(Resource)]
pub enum MessageSource {
    /// A live link (UDP/TCP/serial thread).
    Live(LinkHandle),
    /// Any channel of events (replay, tests).
    Channel(Receiver<LinkEvent>),
    /// Nothing connected.
    None,
}

/// Link status for the UI.
#[derive(Resource, Default, Debug, Clone)]
pub struct LinkStatus {
    /// Last status line of the link thread.
    pub text: String,
    /// Counters from the link thread (live only).
    pub counters: LinkCounters,
    /// Messages drained in the last frame.
    pub last_frame_messages: usize,
    /// Acknowledgements sent to vehicles.
    pub acks_sent: u64,
}

/// Drains the source into [`WorldRes`].
pub struct LinkPlugin;

impl Plugin for LinkPlugin {
    fn build(&self, app: &mut App) {
        if !app.world().contains_resource::<MessageSource>() {
            app.insert_resource(MessageSource::None);
        }
        app.init_resource::<LinkStatus>()
            .add_systems(Update, ingest.in_set(GroundSet::Ingest))
            .add_systems(Update, expire.in_set(GroundSet::World));
    }
}

fn ingest(source: Res<MessageSource>, mut world: ResMut<WorldRes>, mut status: ResMut<LinkStatus>) {
    let (rx, handle) = match &*source {
        MessageSource::Live(h) => (&h.events, Some(h)),
        MessageSource::Channel(rx) => (rx, None),
        MessageSource::None => return,
    };
    let mut n = 0;
    for ev in rx.try_iter() {
        match ev {
            LinkEvent::Message {
                origin,
                message,
                time_s,
                signed,
            } => {
                n += 1;
                if !signed {
                    world
                        .0
                        .links
                        .entry((origin.system_id, origin.component_id))
                        .or_default()
                        .unsigned += 1;
                }
                for out in world.0.apply(origin, &message, time_s) {
                    if let Some(h) = handle {
                        h.send(out.system_id, out.message);
                        status.acks_sent += 1;
                    }
                }
            }
            LinkEvent::Status(text) => status.text = text,
        }
    }
    status.last_frame_messages = n;
    if let Some(h) = handle {
        status.counters = h.counters();
    }
}

fn expire(mut world: ResMut<WorldRes>) {
    let now = world.0.now_s;
    world.0.tick(now, TRACK_FORGET_S);
}
