//! The ground's record of the drone's link-loss stops (LAW.md 2.4: both ends log both
//! transitions). The drone stops identification when it has not heard the ground for
//! `gate.link_loss_stop_s` and says so in UTKIK_AUTHZ_STATUS (`suspended`, `link_losses`);
//! this logs each suspension and each resumption the drone reports into the station's audit
//! log, with site `ground (reported by drone N)`.
//!
//! A cut often silences both directions, so the station may never see a status with the
//! suspension bit: the drone's `link_losses` counter still tells it afterwards, and the record
//! pair is written then (saying so). [`LinkLossLog`] is plain Rust, tested without Bevy; the
//! plugin calls it every frame with the world and the audit log.

use std::collections::BTreeMap;

use bevy::prelude::*;
use utkik_shared::audit::{AuditEvent, SuspendReason};
use utkik_shared::authz::AuthzDigest;
use utkik_shared::dialect::{UTKIK_AUTHZ_STATUS_DATA, UtkikAuthzSuspension};

use super::session::OpsRes;
use super::{GroundSet, WorldRes};
use crate::audit_log::{GroundAudit, wall_clock_usec};
use crate::state::World;

/// What was last seen of one drone's suspension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    suspended: bool,
    losses: u16,
    since_usec: u64,
}

/// Watches the drones' UTKIK_AUTHZ_STATUS and logs their link-loss transitions.
#[derive(Resource, Debug, Default)]
pub struct LinkLossLog {
    seen: BTreeMap<u8, Seen>,
}

fn suspended(s: &UTKIK_AUTHZ_STATUS_DATA) -> bool {
    s.suspended & UtkikAuthzSuspension::UTKIK_AUTHZ_SUSPENSION_LINK_LOST.bits() as u8 != 0
}

impl LinkLossLog {
    /// Logs what changed since the last call; returns one line per record written (for the
    /// console and the operator message).
    ///
    /// # Errors
    /// The audit log could not be written.
    pub fn observe(
        &mut self,
        world: &World,
        audit: &mut GroundAudit,
        now_usec: u64,
    ) -> Result<Vec<String>, utkik_shared::audit::AuditError> {
        let mut lines = Vec::new();
        for (&sysid, v) in &world.vehicles {
            let Some(s) = &v.authz else { continue };
            let site = format!("ground (reported by drone {sysid})");
            let digest = AuthzDigest(s.authorization_digest);
            let last_heard_usec = if s.link_silent == u16::MAX {
                0
            } else {
                s.time_usec.saturating_sub(u64::from(s.link_silent) * 1_000_000)
            };
            let now = Seen {
                suspended: suspended(s),
                losses: s.link_losses,
                since_usec: s.time_usec,
            };
            let before = self.seen.get(&sysid).copied();
            // First status of this drone, or the drone restarted (its counter went back): the
            // baseline; a suspension already in force is logged now.
            let fresh = before.is_none_or(|b| now.losses < b.losses);
            let b = before.filter(|_| !fresh).unwrap_or(Seen {
                suspended: false,
                losses: now.losses.saturating_sub(u16::from(now.suspended)),
                since_usec: now.since_usec,
            });
            let mut suspend = |audit: &mut GroundAudit, note: &str| {
                lines.push(format!("drone {sysid}: identification suspended, link lost{note}"));
                audit.record(
                    now_usec,
                    AuditEvent::IdentificationSuspended {
                        authorization_digest: digest,
                        reason: SuspendReason::LinkLost,
                        last_heard_usec,
                        site: site.clone(),
                    },
                )
            };
            match (b.suspended, now.suspended) {
                (false, true) => {
                    suspend(audit, "")?;
                }
                (true, false) => {
                    lines.push(format!("drone {sysid}: identification resumed, link back"));
                    audit.record(
                        now_usec,
                        AuditEvent::IdentificationResumed {
                            authorization_digest: digest,
                            reason: SuspendReason::LinkLost,
                            suspended_usec: b.since_usec,
                            site: site.clone(),
                        },
                    )?;
                }
                (false, false) if now.losses > b.losses => {
                    // The whole cut went by unheard: the counter says it happened.
                    suspend(audit, " (reported after the link came back)")?;
                    lines.push(format!("drone {sysid}: identification resumed, link back"));
                    audit.record(
                        now_usec,
                        AuditEvent::IdentificationResumed {
                            authorization_digest: digest,
                            reason: SuspendReason::LinkLost,
                            suspended_usec: 0,
                            site: site.clone(),
                        },
                    )?;
                }
                _ => {}
            }
            let since_usec = if now.suspended && !b.suspended {
                now.since_usec
            } else {
                b.since_usec
            };
            self.seen.insert(sysid, Seen { since_usec, ..now });
        }
        Ok(lines)
    }
}

/// Logs the drones' link-loss transitions into the audit log as their statuses arrive.
pub struct LinkLossPlugin;

impl Plugin for LinkLossPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<LinkLossLog>().add_systems(
            Update,
            log_link_loss
                .in_set(GroundSet::World)
                .run_if(resource_exists::<OpsRes>)
                .run_if(in_state(super::AppState::Live)),
        );
    }
}

fn log_link_loss(world: Res<WorldRes>, mut ops: ResMut<OpsRes>, mut log: ResMut<LinkLossLog>) {
    let now = wall_clock_usec();
    match log.observe(&world.0, &mut ops.ops.audit, now) {
        Ok(lines) => {
            for l in lines {
                warn!("{l}");
                println!("utkik-ground: {l}");
            }
        }
        Err(e) => {
            error!("audit log: {e}");
            ops.message = Some(format!("AUDIT LOG FAILING: {e}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Origin;
    use utkik_shared::dialect::{MavMessage, UtkikAuthzState};

    const DRONE: Origin = Origin {
        system_id: 1,
        component_id: 191,
        sequence: 0,
    };

    fn status(suspended: u8, losses: u16, t_s: u64) -> MavMessage {
        MavMessage::UTKIK_AUTHZ_STATUS(UTKIK_AUTHZ_STATUS_DATA {
            time_usec: 1_780_272_000_000_000 + t_s * 1_000_000,
            authorization_digest: [7; 32],
            state: UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE,
            suspended,
            link_silent: if suspended == 0 { 0 } else { 11 },
            link_losses: losses,
            ..Default::default()
        })
    }

    fn kinds(audit: &GroundAudit) -> Vec<String> {
        let bytes = std::fs::read(audit.path()).unwrap();
        bytes
            .split_inclusive(|&b| b == b'\n')
            .filter_map(|l| utkik_shared::audit::record::decode_record(l).ok())
            .filter_map(|r| match r.body.event {
                AuditEvent::IdentificationSuspended { site, .. } => Some(format!("suspended {site}")),
                AuditEvent::IdentificationResumed { site, .. } => Some(format!("resumed {site}")),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn both_transitions_the_drone_reports_are_logged_also_a_cut_heard_only_afterwards() {
        let dir = tempfile::tempdir().unwrap();
        let mut audit = GroundAudit::open(dir.path(), None).unwrap();
        let mut world = World::new();
        let mut log = LinkLossLog::default();
        let mut step = |world: &mut World, audit: &mut GroundAudit, msg: MavMessage, t: f64| {
            world.apply(DRONE, &msg, t);
            log.observe(world, audit, 1).unwrap().len()
        };
        assert_eq!(step(&mut world, &mut audit, status(0, 0, 0), 0.0), 0);
        assert_eq!(step(&mut world, &mut audit, status(1, 1, 12), 12.0), 1, "suspended");
        assert_eq!(step(&mut world, &mut audit, status(1, 1, 13), 13.0), 0, "once");
        assert_eq!(step(&mut world, &mut audit, status(0, 1, 20), 20.0), 1, "resumed");
        // A cut that silenced both directions: the counter moved while we heard nothing.
        assert_eq!(step(&mut world, &mut audit, status(0, 2, 60), 60.0), 2);
        assert_eq!(
            kinds(&audit),
            [
                "suspended ground (reported by drone 1)",
                "resumed ground (reported by drone 1)",
                "suspended ground (reported by drone 1)",
                "resumed ground (reported by drone 1)"
            ]
        );
        // The drone restarted (counter back to 0) while suspended: logged, not taken for a
        // resumption.
        assert_eq!(step(&mut world, &mut audit, status(1, 0, 70), 70.0), 1);
        assert_eq!(kinds(&audit).len(), 5);
    }
}
