//! Replay behind a sign-in (LAW.md section 5; see `report::access`): nothing of the recording
//! is shown until a reviewer (senior officer or auditor) has signed in, which is logged with the
//! recording opened; an evidence image is shown only to a reviewer who may see evidence, only
//! for an authorized use (as the report decides), and only once the look is in the audit log.
//!
//! [`evidence_to_show`] is the rule, kept apart from the egui panel so tests call it; the
//! panel ([`review_panel`]) is the sign-in box and the evidence list of the alerts at the
//! playback position.

use std::collections::HashMap;
use std::path::PathBuf;

use bevy::prelude::*;
use bevy_egui::egui;

use crate::audit_log::wall_clock_usec;
use crate::report::access::{EvidenceAccess, ReviewError, ReviewSession};
use crate::report::collect::{AuthzChange, biometric_use_authorized};
use crate::state::{Alert, AlertKind};

/// Why an alert's evidence is not shown.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceRefused {
    /// Sign-in, role or audit log.
    #[error(transparent)]
    Review(#[from] ReviewError),
    /// The alert has no image (none sent or the transfer incomplete).
    #[error("alert {0}/{1} has no evidence image in the recording")]
    NoImage(u8, u32),
    /// A possible match outside an authorized use: redacted for everyone.
    #[error(
        "alert {0}/{1}: no active authorization with this digest was reported at the time of the match: biometric evidence redacted (LAW.md sections 1, 8)"
    )]
    NotAuthorized(u8, u32),
}

/// The evidence image of `alert` for the signed-in reviewer of `review`, after logging the look.
///
/// # Errors
/// [`EvidenceRefused`]: nobody signed in, a role that may not see evidence, no image, an
/// unauthorized biometric use, or the audit record could not be written.
pub fn evidence_to_show(
    review: &mut ReviewSession,
    recording: &std::path::Path,
    alert: &Alert,
    authz: &[AuthzChange],
    now_usec: u64,
) -> Result<Vec<u8>, EvidenceRefused> {
    // The role first, so an unauthorized user learns nothing about the alert.
    review.reviewer()?;
    if let EvidenceAccess::LeftOut(_) = review.evidence_access() {
        // Names the role that may not (a NotPermitted from the session).
        review.view_evidence(recording, alert.system_id, alert.alert_id, "", now_usec)?;
    }
    let Some(jpeg) = alert.evidence_jpeg.clone() else {
        return Err(EvidenceRefused::NoImage(alert.system_id, alert.alert_id));
    };
    let what = match &alert.kind {
        AlertKind::PlateHit { .. } => "plate image of plate hit",
        AlertKind::PossibleMatch {
            authorization_digest, ..
        } => {
            let at = (alert.received_s * 1e6) as u64;
            if !biometric_use_authorized(authz, alert.system_id, authorization_digest, at) {
                return Err(EvidenceRefused::NotAuthorized(alert.system_id, alert.alert_id));
            }
            "evidence crop of possible match"
        }
    };
    review.view_evidence(recording, alert.system_id, alert.alert_id, what, now_usec)?;
    Ok(jpeg)
}

/// The reviewer's session of this replay, and the panel's fields.
#[derive(Resource)]
pub struct ReviewRes {
    /// Sign-in and the audit log.
    pub session: ReviewSession,
    /// The recording reviewed.
    pub recording: PathBuf,
    /// Sign-in field: user.
    pub login_user: String,
    /// Sign-in field: password (cleared after each attempt).
    pub login_password: String,
    /// Last message (errors name the rule).
    pub message: Option<String>,
    /// Images opened by the signed-in reviewer: (vehicle, alert) -> texture (dropped at sign-out).
    pub shown: HashMap<(u8, u32), egui::TextureHandle>,
    /// The recording's authorization history (computed when first needed).
    pub authz: Option<Vec<AuthzChange>>,
}

impl ReviewRes {
    /// Around a session (a reviewer may already be signed in from the command line).
    pub fn new(session: ReviewSession, recording: PathBuf) -> Self {
        Self {
            session,
            recording,
            login_user: String::new(),
            login_password: String::new(),
            message: None,
            shown: HashMap::new(),
            authz: None,
        }
    }

    /// Whether the recording may be shown at all (a reviewer is signed in).
    pub fn may_show_recording(&self) -> bool {
        self.session.reviewer().is_ok()
    }
}

fn decode_jpeg(jpeg: &[u8]) -> Result<egui::ColorImage, String> {
    let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .map_err(|e| format!("evidence image does not decode as JPEG: {e}"))?
        .to_rgba8();
    let size = [img.width() as usize, img.height() as usize];
    Ok(egui::ColorImage::from_rgba_unmultiplied(size, img.as_raw()))
}

/// The sign-in box, and for a signed-in reviewer the evidence of the alerts at the playback
/// position (`alerts`), each opened on request and logged.
pub fn review_panel(ui: &mut egui::Ui, review: &mut ReviewRes, alerts: &[Alert], replay: Option<&super::Replay>) {
    let now = wall_clock_usec();
    match review.session.sign_out_if_idle(now) {
        Ok(Some(a)) => {
            review.shown.clear();
            review.message = Some(format!("{} signed out after inactivity", a.user_id));
        }
        Ok(None) => {}
        Err(e) => review.message = Some(e.to_string()),
    }
    match review.session.actor().cloned() {
        None => {
            ui.label("Sign in to review this recording (senior officer or auditor; logged).");
            ui.horizontal(|ui| {
                ui.label("user");
                ui.text_edit_singleline(&mut review.login_user);
                ui.label("password");
                ui.add(egui::TextEdit::singleline(&mut review.login_password).password(true));
                if ui.button("Sign in").clicked() {
                    let (u, p) = (review.login_user.clone(), std::mem::take(&mut review.login_password));
                    let rec = review.recording.clone();
                    review.message = match review
                        .session
                        .login(&u, &p, now)
                        .and_then(|_| review.session.open_recording(&rec, now))
                    {
                        Ok(()) => None,
                        Err(e) => Some(e.to_string()),
                    };
                }
            });
        }
        Some(a) => {
            ui.horizontal(|ui| {
                ui.label(format!(
                    "reviewing as {} ({}); every evidence view is logged",
                    a.user_id,
                    a.roles.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join(", ")
                ));
                if ui.button("Sign out").clicked() {
                    review.shown.clear();
                    if let Err(e) = review.session.logout(now) {
                        review.message = Some(e.to_string());
                    }
                }
            });
            if let EvidenceAccess::LeftOut(why) = review.session.evidence_access() {
                ui.small(format!("evidence images not shown: {why}"));
            } else {
                let with_image: Vec<&Alert> = alerts.iter().filter(|a| a.evidence_jpeg.is_some()).collect();
                ui.horizontal_wrapped(|ui| {
                    for a in with_image {
                        let key = (a.system_id, a.alert_id);
                        if let Some(tex) = review.shown.get(&key) {
                            let [w, h] = tex.size();
                            let scale = 90.0 / h.max(1) as f32;
                            ui.image((tex.id(), egui::vec2(w as f32 * scale, h as f32 * scale)));
                        } else if ui
                            .button(format!(
                                "{} {}/{}: open evidence (logged)",
                                a.label(),
                                a.system_id,
                                a.alert_id
                            ))
                            .clicked()
                        {
                            if review.authz.is_none() {
                                review.authz =
                                    Some(replay.map(crate::report::collect::authz_history).unwrap_or_default());
                            }
                            let authz = review.authz.clone().unwrap_or_default();
                            let rec = review.recording.clone();
                            match evidence_to_show(&mut review.session, &rec, a, &authz, now)
                                .map_err(|e| e.to_string())
                                .and_then(|j| decode_jpeg(&j))
                            {
                                Ok(img) => {
                                    let tex = ui.ctx().load_texture(
                                        format!("review-{}-{}", a.system_id, a.alert_id),
                                        img,
                                        Default::default(),
                                    );
                                    review.shown.insert(key, tex);
                                    review.message = None;
                                }
                                Err(e) => review.message = Some(e),
                            }
                        }
                    }
                });
            }
        }
    }
    if let Some(m) = &review.message {
        ui.colored_label(egui::Color32::LIGHT_RED, m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit_log::GroundAudit;
    use crate::auth::HashParams;
    use crate::auth::UserDirectory;
    use crate::auth::users::UserEntry;
    use crate::report::collect::AuthzChange;
    use utkik_shared::audit::AuditEvent;
    use utkik_shared::authz::Role;
    use utkik_shared::dialect::{UTKIK_BIOMETRIC_MATCH_DATA, UtkikAuthzState};

    const T: u64 = 1_800_000_000_000_000;

    fn users() -> UserDirectory {
        let u = |id: &str, role| UserEntry::with_password(id, id, vec![role], &format!("pw-{id}"), HashParams::MINIMUM);
        UserDirectory::from_entries(vec![u("cecilia", Role::SeniorOfficer), u("eva", Role::Auditor)]).unwrap()
    }

    /// A possible match of use 7.. with its evidence crop, received at T, and a history in
    /// which that use was active then.
    fn match_alert() -> (Alert, Vec<AuthzChange>) {
        let mut alerts = crate::state::Alerts::default();
        let mut digest = [0u8; 16];
        digest[0] = 7;
        let m = UTKIK_BIOMETRIC_MATCH_DATA {
            alert_id: 5,
            authorization_digest: digest,
            score: 0.7,
            ..Default::default()
        };
        alerts.apply_match(1, 191, &m, T as f64 / 1e6);
        let mut a = alerts.get(1, 5).unwrap().clone();
        a.evidence_jpeg = Some(b"\xff\xd8 crop \xff\xd9".to_vec());
        let mut full = [0u8; 32];
        full[0] = 7;
        let hist = vec![AuthzChange {
            time_usec: T - 1_000_000,
            system_id: 1,
            state: UtkikAuthzState::UTKIK_AUTHZ_STATE_ACTIVE,
            digest: full,
        }];
        (a, hist)
    }

    fn consultations(path: &std::path::Path) -> Vec<(String, String)> {
        crate::report::verify::read_bodies(path)
            .unwrap()
            .into_iter()
            .filter_map(|b| match b.event {
                AuditEvent::Consultation { user_id, what } => Some((user_id, what)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_replay_session_without_sign_in_cannot_show_evidence() {
        let dir = tempfile::tempdir().unwrap();
        let audit = GroundAudit::open(dir.path(), None).unwrap();
        let log = audit.path().to_path_buf();
        let mut review = ReviewSession::new(users(), audit);
        let res_view = |r: &ReviewSession| r.reviewer().is_ok();
        let (alert, hist) = match_alert();
        let rec = std::path::Path::new("m.tlog");

        // Nobody signed in: no image, no recording shown, nothing logged as seen.
        assert!(!res_view(&review));
        let e = evidence_to_show(&mut review, rec, &alert, &hist, T).unwrap_err();
        assert!(e.to_string().contains("sign in"), "{e}");
        assert!(consultations(&log).is_empty());

        // An auditor reviews the recording but does not see evidence.
        review.login("eva", "pw-eva", T).unwrap();
        let e = evidence_to_show(&mut review, rec, &alert, &hist, T).unwrap_err();
        assert!(e.to_string().contains("may not"), "{e}");
        assert!(!consultations(&log).iter().any(|(_, w)| w.contains("viewed")));
        review.logout(T).unwrap();

        // The operation leader sees it, and the look is logged once.
        review.login("cecilia", "pw-cecilia", T).unwrap();
        let jpeg = evidence_to_show(&mut review, rec, &alert, &hist, T).unwrap();
        assert_eq!(Some(jpeg), alert.evidence_jpeg);
        evidence_to_show(&mut review, rec, &alert, &hist, T + 1).unwrap();
        let viewed: Vec<_> = consultations(&log)
            .into_iter()
            .filter(|(_, w)| w.contains("viewed the evidence crop of possible match 1/5"))
            .collect();
        assert_eq!(viewed.len(), 1, "logged once per user, recording and alert");
        assert_eq!(viewed[0].0, "cecilia");
        assert!(viewed[0].1.contains("m.tlog"), "{:?}", viewed[0]);

        // Outside an authorized use the crop stays redacted, for everyone.
        let e = evidence_to_show(&mut review, rec, &alert, &[], T).unwrap_err();
        assert!(matches!(e, EvidenceRefused::NotAuthorized(1, 5)), "{e}");
    }
}
