//! Authorization plugin: the onboard authorization state (UTKIK_AUTHZ_STATUS) with its countdown,
//! the authorized area drawn on the map (GeoJSON overlays of kind authorized_area), and the stop
//! control, which sends UTKIK_AUTHZ_COMMAND STOP to the drone at once.

use bevy::prelude::*;
use bevy_egui::egui;
use utkik_shared::dialect::{MavMessage, UTKIK_AUTHZ_COMMAND_DATA, UtkikAuthzCommand, UtkikAuthzState};

use super::WorldRes;
use super::link::MessageSource;

/// Marker plugin (panel drawn by the UI plugin through [`authz_panel`]).
pub struct AuthzPlugin;

impl Plugin for AuthzPlugin {
    fn build(&self, _app: &mut App) {}
}

fn state_name(s: UtkikAuthzState) -> &'static str {
    match s {
        UtkikAuthzState::UTKIK_AUTHZ_STATE_NONE => "none (identification off)",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_PENDING => "pending",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE => "ACTIVE",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_EXPIRED => "expired",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_REVOKED => "revoked",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT => "URGENT USE",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT_EXPIRED => "urgent use expired",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_REFUSED => "urgent use refused",
        UtkikAuthzState::UTKIK_AUTHZ_STATE_STOPPED => "stopped",
    }
}

/// Authorization status per vehicle and the stop control.
pub fn authz_panel(ui: &mut egui::Ui, world: &WorldRes, source: &MessageSource, operator: &str) {
    ui.heading("Authorization");
    let mut any = false;
    for v in world.0.vehicles.values() {
        let Some(a) = &v.authz else { continue };
        any = true;
        let active = matches!(
            a.state,
            UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE | UtkikAuthzState::UTKIK_AUTHZ_STATE_URGENT
        );
        let color = if active {
            egui::Color32::from_rgb(255, 120, 60)
        } else {
            ui.visuals().text_color()
        };
        ui.colored_label(color, format!("vehicle {}: {}", v.system_id, state_name(a.state)));
        if a.remaining > 0 {
            let r = a.remaining;
            ui.monospace(format!("remaining {:02}:{:02}:{:02}", r / 3600, (r / 60) % 60, r % 60));
        }
        ui.small(format!(
            "inside area: {}  templates {}  matches {}",
            if a.inside_area == 1 { "yes" } else { "no" },
            a.templates_computed,
            a.matches
        ));
        if active {
            if let MessageSource::Live(link) = source {
                if ui
                    .button(
                        egui::RichText::new("STOP identification")
                            .strong()
                            .color(egui::Color32::RED),
                    )
                    .clicked()
                {
                    let mut operator_id = [0u8; 16];
                    for (d, s) in operator_id.iter_mut().zip(operator.bytes()) {
                        *d = s;
                    }
                    link.send(
                        v.system_id,
                        MavMessage::UTKIK_AUTHZ_COMMAND(UTKIK_AUTHZ_COMMAND_DATA {
                            time_usec: std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map(|d| d.as_micros() as u64)
                                .unwrap_or(0),
                            target_system: v.system_id,
                            target_component: 0,
                            request_id: 1,
                            command: UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP,
                            authorization_digest: [0; 32],
                            operator_id: operator_id.into(),
                        }),
                    );
                }
            }
        }
    }
    if !any {
        ui.label("no authorization status from the drone: biometric identification off");
    }
}
