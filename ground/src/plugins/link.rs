//! Link plugin: drains the message source (live link or any channel of [`LinkEvent`]s, which is
//! how replay plugs in) into the world every frame, and sends the world's acknowledgements back.

use bevy::prelude::*;
use crossbeam_channel::Receiver;

use super::{GroundSet, WorldRes};
use crate::link::{LinkCounters, LinkEvent, LinkHandle};
use utkik_shared::dialect::MavMessage;

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

fn ingest(
    source: Res<MessageSource>,
    mut world: ResMut<WorldRes>,
    mut status: ResMut<LinkStatus>,
    mut ops: Option<ResMut<super::session::OpsRes>>,
) {
    let (rx, handle) = match &*source {
        MessageSource::Live(h) => (&h.events, Some(h)),
        MessageSource::Channel(rx) => (rx, None),
        MessageSource::None => return,
    };
    if handle.is_some() && !world.0.alerts.queues_acks() {
        world.0.alerts.set_queue_acks(true);
    }
    // Non-hit plate text is shown only at a live station that keeps such reads (LAW.md 7).
    world.0.keep_non_hit_text = handle.is_some() && ops.as_ref().is_some_and(|o| o.ops.keeps_non_hit_reads());
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
                // A non-hit read with its text goes to the store when the station keeps them
                // (LAW.md section 7; live only: a replay never adds to the store).
                if let (MavMessage::UTKIK_PLATE_READ(p), Some(ops), Some(_)) = (&message, ops.as_mut(), handle)
                    && let Err(e) =
                        ops.ops
                            .store_non_hit_read(&world.0, origin.system_id, p, crate::audit_log::wall_clock_usec())
                {
                    error!("{e}");
                }
            }
            LinkEvent::Status(text) => status.text = text,
        }
    }
    status.last_frame_messages = n;
    if let (Some(ops), Some(_)) = (ops.as_mut(), handle)
        && let Err(e) = ops.ops.purge_stored_reads(crate::audit_log::wall_clock_usec())
    {
        error!("{e}");
    }
    // Sightings of expired hit-list entries go too, at most once a minute (`crate::hit_history`).
    if let (Some(ops), Some(_)) = (ops.as_mut(), handle)
        && let Err(e) = ops.ops.purge_hit_history(crate::audit_log::wall_clock_usec())
    {
        error!("{e}");
    }
    if let Some(h) = handle {
        // Alerts that became complete and stored since their last resend are acknowledged now.
        for (system_id, ack) in world.0.alerts.take_acks() {
            h.send(system_id, ack);
            status.acks_sent += 1;
        }
        // Authorization commands the drone has not confirmed are resent (signed anew by the
        // link); an unconfirmed STOP raises the alarm (logged by `state::commands`, shown in the
        // authorization panel, printed for the headless station's transcript).
        let now_s = crate::audit_log::wall_clock_usec() as f64 / 1e6;
        for (system_id, command) in world.0.commands.due(now_s) {
            h.send(system_id, command);
        }
        // Authorizations on their way to a drone (urgent use started here): their chunks, and
        // when the drone has answered, the outcome (logged; URGENT_START follows a stored one).
        for (system_id, chunk) in world.0.uploads.due(now_s) {
            h.send(system_id, chunk);
        }
        for event in world.0.uploads.take_events() {
            let Some(ops) = ops.as_mut() else { continue };
            match crate::urgent::after_upload(&mut ops.ops, &mut world.0, event, (now_s * 1e6) as u64) {
                Ok((text, send)) => {
                    println!("{text}");
                    ops.message = Some(text);
                    if let Some((system_id, command)) = send {
                        h.send(system_id, command);
                    }
                }
                Err(e) => error!("audit log: {e}"),
            }
        }
        for event in world.0.commands.take_events() {
            match event {
                crate::state::CommandEvent::Settled(c) => {
                    println!("{}", c.describe(now_s));
                    // Logged, so a restarted station does not take it for pending.
                    if let Some(ops) = ops.as_mut()
                        && let Err(e) = ops.ops.record_command_settled(&c, (now_s * 1e6) as u64)
                    {
                        error!("audit log: {e}");
                    }
                }
                crate::state::CommandEvent::StopAlarm(c) => println!("ALARM: {}", c.describe(now_s)),
            }
        }
        status.counters = h.counters();
    }
}

fn expire(mut world: ResMut<WorldRes>) {
    let now = world.0.now_s;
    world.0.tick(now, TRACK_FORGET_S);
}
