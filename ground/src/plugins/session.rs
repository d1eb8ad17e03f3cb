//! Session plugin: holds [`OpsRes`] (users, signed-in user, authorization console, audit log),
//! logs possible matches as they arrive, and draws the sign-in box. Without an [`OpsRes`] (tests
//! of the plain world, replay) the ground station has no operator actions at all.

use std::path::PathBuf;

use bevy::prelude::*;
use bevy_egui::egui;

use super::{GroundSet, WorldRes};
use crate::audit_log::wall_clock_usec;
use crate::ops::GroundOps;

/// The operations resource and the UI's input fields.
#[derive(Resource)]
pub struct OpsRes {
    /// Users, session, authorization, audit.
    pub ops: GroundOps,
    /// Where exports go.
    pub export_dir: PathBuf,
    /// Sign-in field: user.
    pub login_user: String,
    /// Sign-in field: password (cleared after each attempt).
    pub login_password: String,
    /// Stored-read search field.
    pub search: String,
    /// Stored-read search field: why (a case number; logged with the search).
    pub search_reason: String,
    /// Last search results.
    pub search_results: Vec<String>,
    /// Last message for the operator (errors name the rule).
    pub message: Option<String>,
    /// Urgent use field: the draft file (`crate::urgent`).
    pub urgent_draft: String,
}

impl OpsRes {
    /// Around `ops`.
    pub fn new(ops: GroundOps, export_dir: PathBuf) -> Self {
        Self {
            ops,
            export_dir,
            login_user: String::new(),
            login_password: String::new(),
            search: String::new(),
            search_reason: String::new(),
            search_results: Vec::new(),
            message: None,
            urgent_draft: String::new(),
        }
    }
}

/// Logs matches into the audit log as they arrive.
pub struct SessionPlugin;

impl Plugin for SessionPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            Startup,
            (require_store, restore_station.run_if(in_state(super::AppState::Live)))
                .chain()
                .run_if(resource_exists::<OpsRes>),
        )
        .add_systems(
            Update,
            (log_matches, idle_sign_out)
                .in_set(GroundSet::World)
                .run_if(resource_exists::<OpsRes>),
        );
    }
}

/// With an audit log, alerts are acknowledged only once stored in it (`ops::store_new_alerts`).
fn require_store(mut world: ResMut<WorldRes>) {
    world.0.alerts.set_require_store(true);
}

/// A live station takes back what it had before a restart (alerts, verdicts, evidence views,
/// pending commands, the authorization's lifecycle) from its audit log: `crate::restore`.
fn restore_station(mut world: ResMut<WorldRes>, mut ops: ResMut<OpsRes>) {
    match crate::restore::restore(&mut ops.ops, &mut world.0) {
        Ok(summary) => {
            let line = summary.line();
            if summary.damage.is_some() || !summary.problems.is_empty() {
                warn!("{line}");
            } else {
                info!("{line}");
            }
            if summary.alerts > 0 || summary.pending_commands > 0 || summary.lifecycle_steps > 0 {
                println!("utkik-ground: {line}");
            }
        }
        Err(e) => {
            error!("{e}");
            ops.message = Some(format!("NOT RESTORED: {e}"));
        }
    }
}

fn log_matches(mut world: ResMut<WorldRes>, mut ops: ResMut<OpsRes>) {
    if let Err(e) = ops.ops.store_new_alerts(&mut world.0, wall_clock_usec()) {
        error!("audit log: {e}");
        ops.message = Some(format!("AUDIT LOG FAILING: {e}"));
    }
}

/// Any key or mouse button in the window is activity; after the idle time without any, the
/// signed-in user is signed out (logged; auth/session.rs). Headless, the console's lines are
/// the activity (console.rs).
fn idle_sign_out(
    mut ops: ResMut<OpsRes>,
    keys: Option<Res<ButtonInput<KeyCode>>>,
    buttons: Option<Res<ButtonInput<MouseButton>>>,
) {
    let now = wall_clock_usec();
    let active = keys.is_some_and(|k| k.get_just_pressed().next().is_some())
        || buttons.is_some_and(|b| b.get_just_pressed().next().is_some());
    if active {
        ops.ops.touch(now);
    }
    match ops.ops.sign_out_if_idle(now) {
        Ok(Some(who)) => {
            let msg = format!(
                "{} signed out after {} min without activity",
                who.user_id,
                ops.ops.session.idle_sign_out_s() / 60
            );
            info!("{msg}");
            ops.message = Some(msg);
        }
        Ok(None) => {}
        Err(e) => {
            error!("audit log: {e}");
            ops.message = Some(format!("AUDIT LOG FAILING: {e}"));
        }
    }
}

/// Sign-in / sign-out box.
pub fn session_panel(ui: &mut egui::Ui, ops: &mut OpsRes) {
    ui.heading("User");
    match ops.ops.actor().cloned() {
        Some(a) => {
            ui.label(format!(
                "signed in: {} ({})",
                a.user_id,
                a.roles.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join(", ")
            ));
            if ui.button("Sign out").clicked()
                && let Err(e) = ops.ops.logout(wall_clock_usec())
            {
                ops.message = Some(e.to_string());
            }
        }
        None => {
            ui.horizontal(|ui| {
                ui.label("user");
                ui.text_edit_singleline(&mut ops.login_user);
            });
            let mut submit = false;
            ui.horizontal(|ui| {
                ui.label("password");
                let r = ui.add(egui::TextEdit::singleline(&mut ops.login_password).password(true));
                submit = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            });
            if ui.button("Sign in").clicked() || submit {
                let (u, p) = (ops.login_user.clone(), std::mem::take(&mut ops.login_password));
                ops.message = ops
                    .ops
                    .login_from("window", &u, &p, wall_clock_usec())
                    .err()
                    .map(|e| e.to_string());
            }
        }
    }
    if let Some(m) = &ops.message {
        ui.colored_label(egui::Color32::LIGHT_RED, m);
    }
}
