//! Who may look at a mission after it, and the record of every look (LAW.md section 5;
//! Directive 2016/680 Art. 25: consultation and disclosure are logged like collection).
//!
//! Replay and the mission report show stored data of people: tracks, plate reads, plate images
//! and, for authorized uses, biometric evidence crops. So both sign in first, like the live
//! station, and write into the station's audit log:
//! - a sign-in (or refused sign-in) and the recording opened: `Consultation`;
//! - each evidence image looked at in replay, once per user, recording and alert:
//!   `Consultation` (`what` names the recording and the alert);
//! - each report written: `Disclosure` (who, which recording, to which file, and the payload
//!   hashes of every evidence image embedded in it), with the report's `file`: its absolute path
//!   and every alert it lists with the alert's use, so a refused use's reports are deleted
//!   (`crate::derived_files`).
//!
//! Roles: a senior officer (the operation leader) may review recordings and see their evidence;
//! an auditor may review them and write reports, but evidence is left out for them (what an
//! audit needs is who did what and when, which the report keeps). Operators and pilots review
//! live, not afterwards. An action counts only once its record is on disk: a report whose
//! disclosure record cannot be written is deleted again.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use utkik_shared::audit::{AuditError, AuditEvent, DerivedFileKind, FileAlert, PayloadRef};
use utkik_shared::authz::Actor;

use crate::audit_log::GroundAudit;
use crate::auth::permissions::actor_allows;
use crate::auth::{Permission, Session, SessionError, UserDirectory};
use crate::derived_files::derived_file;

/// A refused review action.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// Not signed in, wrong credentials, or a role that may not.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The record could not be written, so the action did not happen.
    #[error("audit log: {0}")]
    Audit(#[from] AuditError),
}

/// Whether the signed-in user sees evidence, and if not why (for the placeholder text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvidenceAccess {
    /// Shown (and logged).
    Shown,
    /// Left out.
    LeftOut(String),
}

/// A reviewer's session over the station's audit log.
#[derive(Debug)]
pub struct ReviewSession {
    users: UserDirectory,
    session: Session,
    audit: GroundAudit,
    /// (user, recording, vehicle, alert) already logged as seen.
    seen: BTreeSet<(String, PathBuf, u8, u32)>,
    /// (user, recording) already logged as opened.
    opened: BTreeSet<(String, PathBuf)>,
}

fn consultation(user_id: &str, what: String) -> AuditEvent {
    AuditEvent::Consultation {
        user_id: user_id.to_string(),
        what,
    }
}

impl ReviewSession {
    /// Nobody signed in yet.
    pub fn new(users: UserDirectory, audit: GroundAudit) -> Self {
        Self {
            users,
            session: Session::new(),
            audit,
            seen: BTreeSet::new(),
            opened: BTreeSet::new(),
        }
    }

    /// The audit log the reviews are written to.
    pub fn audit(&self) -> &GroundAudit {
        &self.audit
    }

    /// The signed-in reviewer.
    pub fn actor(&self) -> Option<&Actor> {
        self.session.actor()
    }

    /// Signs a reviewer in: the password must be theirs and a role must allow reviewing
    /// recordings. Logged either way.
    ///
    /// # Errors
    /// Bad credentials, a role that may not review, the audit log.
    pub fn login(&mut self, user_id: &str, password: &str, now_usec: u64) -> Result<Actor, ReviewError> {
        let actor = match self
            .session
            .login_from("review", &self.users, user_id, password, now_usec)
        {
            Ok(a) => a.clone(),
            Err(e) => {
                let reason = match &e {
                    SessionError::Throttled(t) => t.to_string(),
                    _ => "unknown user or wrong password".to_string(),
                };
                self.audit.record(
                    now_usec,
                    consultation(user_id, format!("review: sign-in refused: {reason}")),
                )?;
                for lock in self.session.take_new_lockouts() {
                    let what = match lock {
                        crate::auth::Lockout::User { user_id, until_usec } => format!(
                            "review: user `{user_id}` locked out for {} s after repeated failed sign-ins",
                            until_usec.saturating_sub(now_usec) / 1_000_000
                        ),
                        crate::auth::Lockout::Source {
                            source_name,
                            until_usec,
                        } => format!(
                            "review: sign-in from the {source_name} locked out for {} s after repeated failed sign-ins",
                            until_usec.saturating_sub(now_usec) / 1_000_000
                        ),
                    };
                    self.audit.record(now_usec, consultation(user_id, what))?;
                }
                return Err(e.into());
            }
        };
        if let Err(e) = self.session.require(Permission::ReviewRecording) {
            self.session.logout();
            self.audit.record(
                now_usec,
                consultation(
                    &actor.user_id,
                    "review: sign-in refused (role may not review recordings)".into(),
                ),
            )?;
            return Err(e.into());
        }
        if let Err(e) = self
            .audit
            .record(now_usec, consultation(&actor.user_id, "review: signed in".into()))
        {
            self.session.logout();
            return Err(e.into());
        }
        Ok(actor)
    }

    /// Signs out (logged, with a signed checkpoint when the log has a key).
    ///
    /// # Errors
    /// The audit log.
    pub fn logout(&mut self, now_usec: u64) -> Result<(), ReviewError> {
        if let Some(a) = self.session.logout() {
            self.audit
                .record(now_usec, consultation(&a.user_id, "review: signed out".into()))?;
            self.audit.checkpoint(now_usec)?;
        }
        Ok(())
    }

    /// Signs the reviewer out when idle past the session's idle time (logged, like the live
    /// station's); returns who was signed out. The panel calls this every frame.
    ///
    /// # Errors
    /// The audit log.
    pub fn sign_out_if_idle(&mut self, now_usec: u64) -> Result<Option<Actor>, ReviewError> {
        let Some((a, idle_usec)) = self.session.sign_out_if_idle(now_usec) else {
            return Ok(None);
        };
        self.audit.record(
            now_usec,
            consultation(
                &a.user_id,
                format!("review: signed out after {} s without activity", idle_usec / 1_000_000),
            ),
        )?;
        self.audit.checkpoint(now_usec)?;
        Ok(Some(a))
    }

    /// The signed-in reviewer, when they may review recordings.
    ///
    /// # Errors
    /// Nobody signed in, or a role that may not.
    pub fn reviewer(&self) -> Result<&Actor, ReviewError> {
        Ok(self.session.require(Permission::ReviewRecording)?)
    }

    /// Whether the signed-in reviewer may see evidence images, and if not, why.
    pub fn evidence_access(&self) -> EvidenceAccess {
        match self.session.actor() {
            None => EvidenceAccess::LeftOut("nobody is signed in".into()),
            Some(a) if actor_allows(a, Permission::ViewRecordedEvidence) => EvidenceAccess::Shown,
            Some(a) => EvidenceAccess::LeftOut(format!(
                "user {} ({}) may not see evidence images",
                a.user_id,
                a.roles.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// The reviewer opens a recording (logged once per user and recording).
    ///
    /// # Errors
    /// Not signed in or not permitted, the audit log.
    pub fn open_recording(&mut self, recording: &Path, now_usec: u64) -> Result<(), ReviewError> {
        let user = self.reviewer()?.user_id.clone();
        self.session.touch(now_usec);
        let key = (user.clone(), recording.to_path_buf());
        if !self.opened.contains(&key) {
            self.audit.record(
                now_usec,
                consultation(&user, format!("review: opened recording {}", recording.display())),
            )?;
            self.opened.insert(key);
        }
        Ok(())
    }

    /// The reviewer asks to see an alert's evidence image (`what`: "evidence crop of possible
    /// match" / "plate image of plate hit"). Returns `Ok` once the look is logged (once per
    /// user, recording and alert): only then may the caller show the image.
    ///
    /// # Errors
    /// Not signed in, a role that may not see evidence, the audit log.
    pub fn view_evidence(
        &mut self,
        recording: &Path,
        system_id: u8,
        alert_id: u32,
        what: &str,
        now_usec: u64,
    ) -> Result<(), ReviewError> {
        let actor = self.session.require(Permission::ViewRecordedEvidence)?.clone();
        self.session.touch(now_usec);
        let key = (actor.user_id.clone(), recording.to_path_buf(), system_id, alert_id);
        if !self.seen.contains(&key) {
            self.audit.record(
                now_usec,
                consultation(
                    &actor.user_id,
                    format!(
                        "review of {}: viewed the {what} {system_id}/{alert_id}",
                        recording.display()
                    ),
                ),
            )?;
            self.seen.insert(key);
        }
        Ok(())
    }

    /// Records a report written to `file` from `recording` as a disclosure, naming the
    /// evidence it embeds and the alerts it lists (`alerts`: with their uses, so the report is
    /// found again and deleted when one of those uses is refused, LAW.md 3.3).
    ///
    /// # Errors
    /// Not signed in or not permitted, the audit log.
    pub fn record_report(
        &mut self,
        recording: &Path,
        file: &Path,
        what: &str,
        embedded: Vec<PayloadRef>,
        alerts: Vec<FileAlert>,
        now_usec: u64,
    ) -> Result<(), ReviewError> {
        let user = self.reviewer()?.user_id.clone();
        self.audit.record(
            now_usec,
            AuditEvent::Disclosure {
                user_id: user,
                recipient: format!("report file {}", file.display()),
                what: format!("{what} of recording {}", recording.display()),
                payloads: embedded,
                file: Some(derived_file(DerivedFileKind::Report, file, alerts)),
            },
        )?;
        self.audit.checkpoint(now_usec)?;
        Ok(())
    }

    /// Records the IMY notifications and statistics written to `out_dir` from the audit log
    /// `log` as a disclosure (to IMY, the supervisory authority; no evidence in them).
    ///
    /// # Errors
    /// Not signed in or not permitted, the audit log.
    pub fn record_imy_report(&mut self, log: &Path, out_dir: &Path, now_usec: u64) -> Result<(), ReviewError> {
        let user = self.reviewer()?.user_id.clone();
        self.audit.record(
            now_usec,
            AuditEvent::Disclosure {
                user_id: user,
                recipient: format!("IMY report files in {}", out_dir.display()),
                what: format!("IMY notifications and statistics of audit log {}", log.display()),
                payloads: Vec::new(),
                // Statistics only: no alert, nothing a refusal deletes.
                file: None,
            },
        )?;
        self.audit.checkpoint(now_usec)?;
        Ok(())
    }
}
