//! Retention at the live station (LAW.md section 5): the [`RetentionPolicy`] applied to the
//! audit payloads (evidence crops, plate images), the tlog recordings and the exports at
//! start-up and then every [`RETENTION_EVERY_S`] seconds; each deletion is an erasure record in
//! the audit log (`GroundAudit::apply_retention`). Identification data is never kept less than
//! six months: the policy refuses a shorter period when it is built from the command line.

use bevy::prelude::*;
use utkik_shared::audit::RetentionPolicy;
use utkik_shared::audit::erase::AgedDir;

use super::session::OpsRes;
use crate::audit_log::wall_clock_usec;

/// Seconds between retention runs after the one at start-up.
pub const RETENTION_EVERY_S: f32 = 3600.0;

/// The policy and the directories it ages out.
#[derive(Resource, Debug, Clone)]
pub struct RetentionRes {
    /// Periods (validated: never under six months for identification data).
    pub policy: RetentionPolicy,
    /// Recordings and exports.
    pub dirs: Vec<AgedDir>,
    /// Elapsed app time of the last run (None: not run yet in this app).
    pub last_run_s: Option<f32>,
}

/// Runs the policy on a timer while an [`OpsRes`] (the station's audit log) and a
/// [`RetentionRes`] exist.
pub struct RetentionPlugin;

impl Plugin for RetentionPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            Update,
            run_retention
                .run_if(resource_exists::<OpsRes>)
                .run_if(resource_exists::<RetentionRes>),
        );
    }
}

fn run_retention(time: Res<Time>, mut ops: ResMut<OpsRes>, mut r: ResMut<RetentionRes>) {
    let t = time.elapsed_secs();
    if r.last_run_s.is_some_and(|last| t - last < RETENTION_EVERY_S) {
        return;
    }
    r.last_run_s = Some(t);
    let (policy, dirs) = (r.policy, r.dirs.clone());
    match ops.ops.audit.apply_retention(&policy, &dirs, wall_clock_usec()) {
        Ok(run) => {
            if !run.payloads.is_empty() || !run.files.is_empty() {
                info!(
                    "retention: erased {} payloads and {} files (each logged)",
                    run.payloads.len(),
                    run.files.len()
                );
            }
            for p in run.problems {
                warn!("retention: {p}");
            }
        }
        Err(e) => {
            error!("retention: {e}");
            ops.message = Some(format!("AUDIT LOG FAILING (retention): {e}"));
        }
    }
}
