//! The ground station's world model as plain Rust: everything the operator sees (vehicles by
//! system id, tracks, alerts and their LAW.md states, link statistics) built from decoded MAVLink
//! messages. The live link and the replay file both feed [`World::apply`]; Bevy only draws it, so
//! all of this is tested without Bevy.

pub mod alerts;
pub mod commands;
pub mod link_stats;
pub mod remote;
pub mod tracks;
pub mod uploads;
pub mod vehicle;

use std::collections::BTreeMap;

use utkik_shared::dialect::MavMessage;

pub use alerts::{Alert, AlertAction, AlertError, AlertKind, AlertState, Alerts, DeletedUse};
pub use commands::{CommandEvent, CommandState, Commands, SentCommand};
pub use link_stats::LinkStats;
pub use tracks::{Track, TrackClass, TrackKey, Tracks};
pub use uploads::{Upload, UploadEvent, Uploads};
pub use vehicle::Vehicle;

/// Origin of a decoded message: the MAVLink header fields the world needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// MAVLink system id (one per vehicle).
    pub system_id: u8,
    /// MAVLink component id (autopilot 1, onboard pipeline 191...).
    pub component_id: u8,
    /// Packet sequence number (for loss statistics).
    pub sequence: u8,
}

/// What the world wants sent back to a vehicle after a message (acknowledgements).
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Destination system id.
    pub system_id: u8,
    /// The message to send.
    pub message: MavMessage,
}

/// The whole world state.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct World {
    /// Vehicles by MAVLink system id.
    pub vehicles: BTreeMap<u8, Vehicle>,
    /// Tracks of all vehicles.
    pub tracks: Tracks,
    /// Alerts of all vehicles.
    pub alerts: Alerts,
    /// Authorization commands sent, pending until the drone confirms them.
    pub commands: Commands,
    /// Authorizations on their way to a drone (urgent use started at the station).
    pub uploads: Uploads,
    /// Link statistics per (system id, component id).
    pub links: BTreeMap<(u8, u8), LinkStats>,
    /// Messages decoded correctly but not used by the world (counted, otherwise ignored).
    pub ignored_messages: u64,
    /// Messages applied.
    pub applied_messages: u64,
    /// Time of the newest message seen, in source seconds.
    pub now_s: f64,
    /// Show the text of non-hit plate reads (the station keeps them, `--keep-non-hits-days`);
    /// false: dropped on arrival (LAW.md section 7).
    pub keep_non_hit_text: bool,
    /// Non-hit reads whose text arrived and was dropped (a drone sending text this station does
    /// not keep).
    pub non_hit_text_dropped: u64,
}

impl World {
    /// An empty world.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one decoded message received at `time_s` (seconds of the source clock: wall clock
    /// when live, recorded time in replay). Returns what must be sent back (alert acks).
    pub fn apply(&mut self, origin: Origin, msg: &MavMessage, time_s: f64) -> Vec<Outgoing> {
        self.now_s = self.now_s.max(time_s);
        self.links
            .entry((origin.system_id, origin.component_id))
            .or_default()
            .record(origin.sequence, time_s);
        let mut out = Vec::new();
        let sysid = origin.system_id;
        if let MavMessage::UTKIK_AUTHZ_STATUS(s) = msg {
            self.commands.apply_status(sysid, s, time_s);
        }
        let used = match msg {
            MavMessage::HEARTBEAT(_)
            | MavMessage::GLOBAL_POSITION_INT(_)
            | MavMessage::ATTITUDE(_)
            | MavMessage::SYS_STATUS(_)
            | MavMessage::BATTERY_STATUS(_)
            | MavMessage::HOME_POSITION(_)
            | MavMessage::VFR_HUD(_)
            | MavMessage::GIMBAL_DEVICE_ATTITUDE_STATUS(_)
            | MavMessage::UTKIK_PIPELINE_STATUS(_)
            | MavMessage::UTKIK_AUTHZ_STATUS(_) => {
                let v = self.vehicles.entry(sysid).or_insert_with(|| Vehicle::new(sysid));
                v.apply(origin.component_id, msg, time_s)
            }
            MavMessage::UTKIK_TRACK(t) => {
                self.vehicles.entry(sysid).or_insert_with(|| Vehicle::new(sysid));
                self.tracks.apply(sysid, t, time_s);
                true
            }
            MavMessage::UTKIK_PLATE_READ(p) => {
                if self.tracks.apply_plate(sysid, p, self.keep_non_hit_text) {
                    if self.non_hit_text_dropped == 0 {
                        tracing::warn!(
                            system = sysid,
                            "the drone sends the text of plate reads that are not hits \
                             (detect.send_non_hit_text), but this station keeps none \
                             (--keep-non-hits-days 0): the text is dropped, not shown, not recorded"
                        );
                    }
                    self.non_hit_text_dropped += 1;
                }
                if let Some(ack) = self.alerts.apply_plate(sysid, origin.component_id, p, time_s) {
                    out.push(Outgoing {
                        system_id: sysid,
                        message: ack,
                    });
                }
                true
            }
            MavMessage::UTKIK_BIOMETRIC_MATCH(m) => {
                if let Some(ack) = self.alerts.apply_match(sysid, origin.component_id, m, time_s) {
                    out.push(Outgoing {
                        system_id: sysid,
                        message: ack,
                    });
                }
                true
            }
            MavMessage::UTKIK_UPLOAD_ACK(a) => {
                self.uploads.apply_ack(sysid, a, time_s);
                true
            }
            MavMessage::DATA_TRANSMISSION_HANDSHAKE(h) => {
                self.alerts.apply_handshake(sysid, h);
                true
            }
            MavMessage::ENCAPSULATED_DATA(d) => {
                self.alerts.apply_data(sysid, d);
                true
            }
            _ => false,
        };
        if used {
            self.applied_messages += 1;
        } else {
            self.ignored_messages += 1;
        }
        out
    }

    /// Ages tracks: marks stale ones and removes those gone for longer than `forget_s`.
    pub fn tick(&mut self, now_s: f64, forget_s: f64) {
        self.now_s = self.now_s.max(now_s);
        self.tracks.expire(self.now_s, forget_s);
    }

    /// A one-line summary for the headless mode and logs.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for v in self.vehicles.values() {
            s.push_str(&v.summary());
            s.push_str("; ");
        }
        s.push_str(&self.counts());
        s
    }

    /// The summary without the vehicles (the window's top bar: each vehicle has its own lines
    /// in the health panel, and several would not fit on one line).
    pub fn counts_line(&self) -> String {
        match self.vehicles.len() {
            0 | 1 => self.counts(),
            n => format!("{n} vehicles; {}", self.counts()),
        }
    }

    fn counts(&self) -> String {
        let (pending, total) = (self.alerts.needing_attention(), self.alerts.len());
        // Integer sum: an f64 sum of nothing is -0.0 and printed "lost -0".
        let loss: u64 = self.links.values().map(|l| l.lost).sum();
        format!(
            "tracks {} live; alerts {total} ({pending} need attention); msgs {} used, {} ignored; lost {loss}",
            self.tracks.live_count(),
            self.applied_messages,
            self.ignored_messages
        )
    }
}

#[cfg(test)]
impl World {
    /// A HEARTBEAT from `system_id`'s autopilot at `time_s` (tests: a vehicle heard then).
    pub(crate) fn hear(&mut self, system_id: u8, time_s: f64) {
        let origin = Origin {
            system_id,
            component_id: 1,
            sequence: 0,
        };
        let heartbeat = MavMessage::HEARTBEAT(utkik_shared::dialect::HEARTBEAT_DATA::default());
        self.apply(origin, &heartbeat, time_s);
    }
}
