//! The gate (LAW.md sections 1-4, onboard side): one loaded authorization,
//! its lifecycle on the drone's own clock, the signed commands that drive it,
//! and the only code path to the face-template model.
//!
//! - The template model is loaded at the first activation and run only for a
//!   face for which [`Lifecycle::may_identify`] holds at that instant (state
//!   active or urgent, window and 24 h deadline, face ground point inside the
//!   area). Without a gate, or with the authorization pending, stopped,
//!   expired, revoked or refused, it is never even loaded.
//! - Templates are matched only against the designated persons enrolled from
//!   this authorization's images; a template that does not match is dropped
//!   before the next face (it is never stored, logged or sent).
//! - A match becomes an alert (UTKIK_BIOMETRIC_MATCH, resent until
//!   UTKIK_ALERT_ACK) plus its evidence crop, stored in the payload store and
//!   referenced from the audit log. With the ground station's public key
//!   ([`Gate::seal_images_to`], `gate.ground_seal_public`) the crop is sealed to it first
//!   (`utkik_shared::seal`): the payload store, the outbox and the radio hold only the sealed
//!   bytes, which no key on the drone opens.
//! - Revoke, stop and urgent refusal delete every template, match and evidence
//!   crop of the use at once and write a deletion receipt.
//! - Link-loss stop (LAW.md 2.4): every frame from the ground comes here
//!   ([`Gate::handle_ground_frame`]); one that passes the link-signature check keeps the link
//!   alive ([`LinkWatch`]). With nothing valid for `gate.link_loss_stop_s` no template is
//!   computed, UTKIK_AUTHZ_STATUS says LINK_LOST and the audit log records the suspension;
//!   the next valid frame, inside the window, resumes identification (logged too).
//! - Restarts (issue 14 item 4): the lifecycle, the matches held and the last command are
//!   saved ([`super::saved_state`]) before a command's effect is reported and before a match
//!   is sent; [`Gate::open`] takes them up again. A running use comes back *running but
//!   suspended as for a lost link*: it resumes only once a valid signed frame from the ground
//!   has arrived (the same rule as after a link loss, so a restart never resumes
//!   identification while nobody oversees it), and the restart is logged
//!   ([`AuditEvent::GateRestored`]).
//! - Documents (issue 16 item 2, LAW.md 3.4): the gate holds at most one document at a time: the
//!   configured `gate.authorization`, or one uploaded from the ground station and stored
//!   ([`super::upload`]). A user-signed command naming a stored document switches the gate to it
//!   when no use is running (a running use is never replaced: the command is refused naming
//!   it), then proceeds as for the configured one. Any document verified against the drone's
//!   trust store may be uploaded, a permit as well as an urgent use: the same checks apply
//!   whichever way it came. With no document at all (a drone flown without a permit) the status
//!   says NONE and every command but STOP is refused ("no authorization loaded") until a
//!   command names a stored upload.
//! - Retention (LAW.md 5.6): evidence crops past their period are erased at start-up and then
//!   every [`RETENTION_EVERY_USEC`] from [`Gate::tick`], each with an erasure record.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use utkik_shared::audit::{
    AuditEvent, AuditWriter, DeletedCount, PayloadRef, PayloadStore, SuspendReason, UseEndReason,
};
use utkik_shared::authz::{
    AuthzDigest, AuthzState, Lifecycle, LinkTransition, LinkWatch, TrustStore, UseDataKind, VerifiedAuthorization,
    authorize_file,
};
use utkik_shared::dialect::{
    MavMessage, MavResult, UTKIK_AUTHZ_COMMAND_DATA, UTKIK_AUTHZ_STATUS_DATA, UTKIK_BIOMETRIC_MATCH_DATA,
    UTKIK_UPLOAD_CHUNK_DATA, UtkikAuthzCommand, UtkikAuthzState,
};
use utkik_shared::face::align::align_face;
use utkik_shared::geo::GeoPoint;
use utkik_shared::mavframe::RawFrame;

use super::enrol::{EnrolError, Enrolled, enrol_designated};
use super::evidence::{Evidence, evidence_messages};
use super::saved_state::{
    DocumentSource, GATE_STATE_FILE, GateStateError, LoadedDocument, SavedGate, SavedMatch, SavedUse,
};
use super::template_model::{TemplateModel, TemplateModelError};
use super::upload::{Intake, UploadIntake, UploadStats};
use crate::frame::RgbFrame;
use crate::track::BoxPx;
use utkik_shared::link_signing::{LinkKey, LinkKeyError, LinkState, LinkStateError, ReplayWindow, verify_frame};

/// Name of the onboard audit log inside the audit directory.
pub const AUDIT_LOG_FILE: &str = "onboard-audit.log";
/// Reads the audit checkpoint key (`gate.audit_key`): a secret file, so refused when group
/// or others may read or write it.
///
/// # Errors
/// [`GateError::AuditKey`] naming the file and what is wrong.
pub fn load_audit_signer(path: &Path) -> Result<utkik_shared::audit::CheckpointSigner, GateError> {
    let err = |reason: String| GateError::AuditKey {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = utkik_shared::secret_file::read_secret(path).map_err(|e| err(e.to_string()))?;
    utkik_shared::audit::parse_signer(&bytes).map_err(|e| err(e.to_string()))
}

/// Records between the onboard log's automatic signed checkpoints (with `gate.audit_key`).
pub const CHECKPOINT_EVERY_RECORDS: u64 = 20;
/// Name of the saved replay window of signed commands inside the audit directory: a command
/// recorded off the air before a reboot is still refused after it.
pub const LINK_STATE_FILE: &str = "link-signing-state.json";
/// Name of the payload store (evidence crops) inside the audit directory.
pub const PAYLOAD_DIR: &str = "payloads";
/// How often the retention policy runs after start-up (LAW.md 5.6): hourly, as at the ground.
pub const RETENTION_EVERY_USEC: u64 = 3_600_000_000;

/// Where the gate's inputs are and how it matches.
#[derive(Debug, Clone)]
pub struct GateSetup {
    /// The signed authorization document (`None`: a drone without a permit; it takes an urgent
    /// use uploaded from the ground station).
    pub authorization: Option<PathBuf>,
    /// The trust store of issuer keys.
    pub trust_store: PathBuf,
    /// The ground -> drone link key.
    pub link_key: PathBuf,
    /// Onboard audit log and payload store directory.
    pub audit_dir: PathBuf,
    /// Folder on a RAM filesystem for uploads (documents and enrolment images received in
    /// flight), gone with the power (`gate.volatile_dir`, `crate::volatile`).
    pub volatile_dir: PathBuf,
    /// Template distance (dlib Euclidean) below which a face is a possible match.
    pub match_distance: f32,
    /// Model and imagery cache.
    pub cache: utkik_models::ModelCache,
    /// MAVLink system id of this drone (commands for others are ignored).
    pub system_id: u8,
    /// MAVLink component id of the pipeline.
    pub component_id: u8,
    /// Seconds without a valid signed frame from the ground after which identification stops
    /// (`gate.link_loss_stop_s`, checked against `shared::authz::LINK_LOSS_STOP_S_RANGE`).
    pub link_loss_stop_s: u64,
}

/// Why the gate could not be set up. Start-up stops with it.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// Trust store or authorization refused (the message names the field).
    #[error("gate.authorization {path}: {source}")]
    Authorization {
        /// The file.
        path: PathBuf,
        /// Why.
        source: utkik_shared::authz::AuthzError,
    },
    /// The link key file.
    #[error(transparent)]
    LinkKey(#[from] LinkKeyError),
    /// The saved replay window of signed commands (`gate.audit_dir`).
    #[error("gate.audit_dir: {0}")]
    LinkState(#[from] LinkStateError),
    /// The audit log or payload store.
    #[error("gate.audit_dir: {0}")]
    Audit(#[from] utkik_shared::audit::AuditError),
    /// The audit checkpoint key file (`gate.audit_key`).
    #[error("gate.audit_key {path}: {reason}")]
    AuditKey {
        /// The file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// A match threshold looser than the verified one (or not a positive number).
    #[error(
        "gate.match_distance: {0} is not in (0, {max}] (the verified threshold, shared::face::template::MATCH_DISTANCE)",
        max = utkik_shared::face::template::MATCH_DISTANCE
    )]
    MatchDistance(f32),
    /// The saved gate state (a damaged file stops start-up: a revocation is never forgotten).
    #[error("gate.audit_dir: {0}")]
    State(#[from] GateStateError),
    /// The saved state does not fit the loaded authorization.
    #[error("gate.audit_dir: gate state file {path}: authorization {digest}: {reason}")]
    Restore {
        /// The state file.
        path: PathBuf,
        /// The authorization's digest (hex).
        digest: String,
        /// What does not fit.
        reason: String,
    },
    /// `gate.link_loss_stop_s` outside its bound.
    #[error(
        "gate.link_loss_stop_s: {0} is not in {lo}..={hi} seconds",
        lo = utkik_shared::authz::LINK_LOSS_STOP_S_RANGE.start(),
        hi = utkik_shared::authz::LINK_LOSS_STOP_S_RANGE.end()
    )]
    LinkLossStop(u64),
}

/// One face of a frame as the gate sees it.
#[derive(Debug, Clone)]
pub struct GateFace {
    /// The face track (`None`: not confirmed yet).
    pub track_id: Option<u32>,
    /// Its box in pixels.
    pub bbox: BoxPx,
    /// The five MTCNN landmarks in pixels.
    pub landmarks_px: [[f64; 2]; 5],
    /// The face's ground point (`None`: unknown, so never identified).
    pub ground: Option<GeoPoint>,
}

/// What the gate wants sent.
#[derive(Debug, Default)]
pub struct GateOutput {
    /// Alerts to resend until acknowledged: (alert id, message).
    pub alerts: Vec<(u32, MavMessage)>,
    /// Messages to send once (status).
    pub messages: Vec<MavMessage>,
    /// The evidence transfer of an alert (DATA_TRANSMISSION_HANDSHAKE + ENCAPSULATED_DATA),
    /// sent after each (re)send of that alert until it is acknowledged.
    pub evidence: Vec<(u32, Vec<MavMessage>)>,
    /// Alerts whose resending must stop because their data was deleted.
    pub cancelled_alerts: Vec<u32>,
}

/// A match of the current use, kept until the use's data is deleted.
#[derive(Debug, Clone)]
struct MatchRecord {
    alert_id: u32,
    evidence: Option<PayloadRef>,
}

/// The onboard gate of one authorization.
pub struct Gate {
    /// The loaded document's machine (`None`: no authorization loaded).
    lifecycle: Option<Lifecycle>,
    /// Where the loaded document came from (its enrolment images are beside it).
    source: DocumentSource,
    authorization_dir: PathBuf,
    /// The configured document (`gate.authorization`), verified at start-up.
    configured: Option<(AuthzDigest, PathBuf)>,
    /// The trust store: uploaded documents are verified against it.
    trust: TrustStore,
    /// Uploads from the ground station.
    uploads: UploadIntake,
    /// When the retention policy runs next.
    next_retention_usec: u64,
    cache: utkik_models::ModelCache,
    link_key: LinkKey,
    /// Last accepted signing timestamp per stream: a replayed command is refused. Saved in
    /// `link_state_file` before a command takes effect, so a reboot does not forget it.
    replay_window: ReplayWindow,
    link_state_file: PathBuf,
    model: Option<TemplateModel>,
    enrolled: Vec<Enrolled>,
    match_distance: f32,
    audit: AuditWriter,
    payloads: PayloadStore,
    matches: Vec<MatchRecord>,
    matched_tracks: HashSet<u32>,
    matches_sent: u64,
    next_alert_id: u32,
    next_transfer_id: u16,
    use_started_usec: Option<u64>,
    inside_area: bool,
    last_request_id: u16,
    /// The command of `last_request_id` (a resend of it is answered, not applied again).
    last_command: Option<UtkikAuthzCommand>,
    last_result: MavResult,
    /// The crew keys of the trust store: who may give which command (LAW.md 4.5).
    command_auth: super::command_auth::CommandAuth,
    system_id: u8,
    component_id: u8,
    /// When the ground was last heard (valid signed frames): identification only while alive.
    link: LinkWatch,
    /// Start of the open suspension record, if one was logged and not yet closed.
    suspended_usec: Option<u64>,
    /// The saved state of every authorization this audit directory has seen.
    saved: SavedGate,
    state_file: PathBuf,
    /// The ground station's public key every evidence crop is sealed to before it is stored or
    /// sent (`None`: crops in clear, only with `--demo` or in tests; see `crate::keys`).
    seal_to: Option<utkik_shared::seal::SealPublicKey>,
}

/// The UTKIK_AUTHZ_COMMAND values, for reading a saved last command back.
const COMMANDS: [UtkikAuthzCommand; 6] = [
    UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
    UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_REVOKE,
    UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP,
    UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
    UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_APPLIED,
    UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_REFUSED,
];
const RESULTS: [MavResult; 3] = [
    MavResult::MAV_RESULT_ACCEPTED,
    MavResult::MAV_RESULT_DENIED,
    MavResult::MAV_RESULT_FAILED,
];

/// Unix µs of a MAVLink 2 signing timestamp (10 µs units since 2015-01-01).
fn unix_usec_of_signing(timestamp: u64) -> u64 {
    timestamp
        .saturating_mul(10)
        .saturating_add(utkik_shared::link_signing::SIGNING_EPOCH_UNIX_S * 1_000_000)
}

fn str16(bytes: &[u8]) -> String {
    bytes.iter().take_while(|&&b| b != 0).map(|&b| b as char).collect()
}

fn state_of(state: AuthzState) -> UtkikAuthzState {
    state.to_mavlink()
}

impl Gate {
    /// Loads the trust store, verifies the configured authorization (if any) against it at
    /// `now_usec` (it starts pending), reads the link key and opens the audit log. With a saved
    /// state naming an uploaded document (a restart during its use), that document is loaded
    /// again instead.
    ///
    /// # Errors
    /// [`GateError`] naming the file and field.
    pub fn open(setup: &GateSetup, now_usec: u64) -> Result<Self, GateError> {
        let trust = TrustStore::load(&setup.trust_store).map_err(|source| GateError::Authorization {
            path: setup.trust_store.clone(),
            source,
        })?;
        let configured = match &setup.authorization {
            Some(path) => Some((
                authorize_file(path, &trust, now_usec).map_err(|source| GateError::Authorization {
                    path: path.clone(),
                    source,
                })?,
                path.clone(),
            )),
            None => None,
        };
        if !(setup.match_distance > 0.0 && setup.match_distance <= utkik_shared::face::template::MATCH_DISTANCE) {
            return Err(GateError::MatchDistance(setup.match_distance));
        }
        if !utkik_shared::authz::LINK_LOSS_STOP_S_RANGE.contains(&setup.link_loss_stop_s) {
            return Err(GateError::LinkLossStop(setup.link_loss_stop_s));
        }
        let key = LinkKey::load(&setup.link_key)?;
        std::fs::create_dir_all(&setup.audit_dir).map_err(|source| utkik_shared::audit::AuditError::Io {
            path: setup.audit_dir.clone(),
            source,
        })?;
        let (mut audit, _) = AuditWriter::open(setup.audit_dir.join(AUDIT_LOG_FILE), None, 0)?;
        let payloads = PayloadStore::open(setup.audit_dir.join(PAYLOAD_DIR))?;
        // Evidence crops past six months go at start-up (and hourly after, `tick`), each with an
        // erasure record (LAW.md 5.6); the drone keeps identification data no longer than the
        // minimum needs.
        apply_retention(
            &mut audit,
            &payloads,
            &setup.volatile_dir.join(super::upload::UPLOADS_DIR),
            now_usec,
        )?;
        if let Some((verified, _)) = &configured {
            audit.append(
                now_usec,
                AuditEvent::AuthorizationLoaded {
                    authorization_digest: verified.digest(),
                    decision_id: verified.document().decision_id.clone(),
                    issuer_key_id: verified.signer().key_id.clone(),
                },
            )?;
        }
        let state_file = setup.audit_dir.join(GATE_STATE_FILE);
        let saved = SavedGate::load(&state_file)?;
        let mut gate = Self {
            lifecycle: None,
            source: DocumentSource::Configured,
            authorization_dir: PathBuf::new(),
            configured: configured.as_ref().map(|(v, p)| (v.digest(), p.clone())),
            trust: trust.clone(),
            uploads: UploadIntake::new(&setup.volatile_dir),
            next_retention_usec: now_usec.saturating_add(RETENTION_EVERY_USEC),
            cache: setup.cache.clone(),
            link_key: key,
            replay_window: LinkState::load(&setup.audit_dir.join(LINK_STATE_FILE))?.window,
            link_state_file: setup.audit_dir.join(LINK_STATE_FILE),
            model: None,
            enrolled: Vec::new(),
            match_distance: setup.match_distance,
            audit,
            payloads,
            matches: Vec::new(),
            matched_tracks: HashSet::new(),
            matches_sent: 0,
            next_alert_id: crate::out::boot_epoch::first_match_alert_id(0),
            next_transfer_id: 1,
            use_started_usec: None,
            inside_area: false,
            last_request_id: 0,
            last_command: None,
            last_result: MavResult::MAV_RESULT_ACCEPTED,
            command_auth: super::command_auth::CommandAuth::new(trust),
            system_id: setup.system_id,
            component_id: setup.component_id,
            link: LinkWatch::new(setup.link_loss_stop_s.saturating_mul(1_000_000), now_usec),
            suspended_usec: None,
            saved,
            state_file,
            seal_to: None,
        };
        let document = match gate.saved_upload(now_usec) {
            Some(upload) => Some(upload),
            None => configured.map(|(v, p)| (v, p, DocumentSource::Configured)),
        };
        if let Some((verified, path, source)) = document {
            let digest = verified.digest();
            gate.load(Lifecycle::new(verified, now_usec), &path, source);
            if let Some(entry) = gate.saved.authorizations.get(&digest.to_hex()).cloned() {
                gate.restore(entry, now_usec)?;
            }
        }
        Ok(gate)
    }

    /// The uploaded document the saved state says was loaded (a restart during its use), if it
    /// still verifies; else `None` (logged) and the configured document is loaded.
    fn saved_upload(&mut self, now_usec: u64) -> Option<(VerifiedAuthorization, PathBuf, DocumentSource)> {
        let loaded = self.saved.loaded.clone()?;
        if loaded.source != DocumentSource::Upload {
            return None;
        }
        let digest = AuthzDigest(hex32(&loaded.digest)?);
        let checked = match self.uploads.stored_path(&digest) {
            None => Err(format!(
                "{} is missing",
                self.uploads
                    .dir_of(&digest)
                    .join(utkik_shared::authz::upload::AUTHORIZATION_FILE)
                    .display()
            )),
            Some(path) => match authorize_file(&path, &self.trust, now_usec) {
                Ok(v) if v.digest() == digest => Ok((v, path)),
                Ok(v) => Err(format!("{} now holds {}", path.display(), v.digest().to_hex())),
                Err(e) => Err(format!("{}: {e}", path.display())),
            },
        };
        match checked {
            Ok((verified, path)) => {
                self.log(
                    now_usec,
                    AuditEvent::AuthorizationLoaded {
                        authorization_digest: digest,
                        decision_id: verified.document().decision_id.clone(),
                        issuer_key_id: verified.signer().key_id.clone(),
                    },
                );
                Some((verified, path, DocumentSource::Upload))
            }
            Err(reason) => {
                tracing::error!("the uploaded authorization loaded before the restart is not loaded again: {reason}");
                self.log(
                    now_usec,
                    AuditEvent::AuthorizationRefused {
                        field: "gate state: loaded".into(),
                        reason: format!(
                            "uploaded authorization {} loaded before the restart is not loaded again: {reason}",
                            loaded.digest
                        ),
                    },
                );
                None
            }
        }
    }

    /// Makes `lifecycle`'s document (from `path`) the gate's document, with no use running and
    /// no match held: the caller takes up its saved state, if any.
    fn load(&mut self, lifecycle: Lifecycle, path: &Path, source: DocumentSource) {
        self.lifecycle = Some(lifecycle);
        self.source = source;
        self.authorization_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.matches.clear();
        self.matched_tracks.clear();
        self.matches_sent = 0;
        self.enrolled.clear();
        self.use_started_usec = None;
        self.suspended_usec = None;
        self.inside_area = false;
    }

    /// Takes up the state saved before a restart (see the module doc).
    fn restore(&mut self, entry: SavedUse, now_usec: u64) -> Result<(), GateError> {
        let digest = self.digest();
        let Some(loaded) = self.lifecycle.take() else {
            return Ok(());
        };
        let lifecycle = Lifecycle::restore(loaded.authorization().clone(), entry.lifecycle, now_usec).map_err(|e| {
            GateError::Restore {
                path: self.state_file.clone(),
                digest: digest.to_hex(),
                reason: e.to_string(),
            }
        })?;
        let state = lifecycle.state();
        let urgent_deadline_usec = lifecycle.urgent_deadline_usec();
        self.lifecycle = Some(lifecycle);
        self.matches = entry
            .matches
            .iter()
            .map(|m| MatchRecord {
                alert_id: m.alert_id,
                evidence: m.evidence.clone(),
            })
            .collect();
        self.matches_sent = entry.matches_sent;
        self.last_request_id = entry.last_request_id;
        self.last_command = entry
            .last_command
            .and_then(|v| COMMANDS.into_iter().find(|c| *c as u32 == v));
        self.last_result = RESULTS
            .into_iter()
            .find(|r| *r as u32 == entry.last_result)
            .unwrap_or(MavResult::MAV_RESULT_DENIED);
        self.log(
            now_usec,
            AuditEvent::GateRestored {
                authorization_digest: digest,
                state,
                urgent_deadline_usec,
                use_started_usec: entry.use_started_usec,
                matches_held: self.matches.len() as u64,
                saved_usec: entry.saved_usec,
            },
        );
        tracing::warn!(
            ?state,
            matches_held = self.matches.len(),
            "biometric gate restored from {}",
            self.state_file.display()
        );
        match entry.use_started_usec {
            // The use went on until the restart: it goes on, suspended until the ground is heard.
            Some(started) if state.allows_identification() => {
                self.use_started_usec = Some(started);
                self.log(
                    now_usec,
                    AuditEvent::IdentificationSuspended {
                        authorization_digest: digest,
                        reason: SuspendReason::LinkLost,
                        last_heard_usec: 0,
                        site: "onboard".into(),
                    },
                );
                self.suspended_usec = Some(now_usec);
                if let Err(e) = self.enrol() {
                    tracing::error!("re-enrolment after the restart failed: {e}; identification stopped");
                    self.stop_lifecycle(now_usec);
                    self.log(
                        now_usec,
                        AuditEvent::AuthorizationRefused {
                            field: "enrolment".into(),
                            reason: format!("re-enrolment after a restart: {e}"),
                        },
                    );
                    let mut out = GateOutput::default();
                    self.end_use(now_usec, UseEndReason::Shutdown, &mut out);
                }
            }
            // The window or the deadline ended while the drone was down.
            Some(started) => {
                self.log(
                    now_usec,
                    AuditEvent::UseEnded {
                        authorization_digest: digest,
                        started_usec: started,
                        ended_usec: now_usec,
                        reason: if state == AuthzState::UrgentExpired {
                            UseEndReason::UrgentDeadline
                        } else {
                            UseEndReason::WindowEnded
                        },
                    },
                );
            }
            // Allowed but nothing running (not written by this version): stopped, so that it
            // can be activated again rather than look active while identifying nothing.
            None if state.allows_identification() => {
                self.stop_lifecycle(now_usec);
            }
            None => {}
        }
        self.persist(now_usec).map_err(GateError::from)
    }

    /// Saves this authorization's state and which document is loaded (atomic, fsynced): call
    /// before reporting an effect.
    fn persist(&mut self, now_usec: u64) -> Result<(), GateStateError> {
        let Some(lifecycle) = &self.lifecycle else {
            self.saved.loaded = None;
            return self.saved.save(&self.state_file);
        };
        let entry = SavedUse {
            lifecycle: lifecycle.snapshot(),
            use_started_usec: self.use_started_usec,
            matches: self
                .matches
                .iter()
                .map(|m| SavedMatch {
                    alert_id: m.alert_id,
                    evidence: m.evidence.clone(),
                })
                .collect(),
            matches_sent: self.matches_sent,
            last_request_id: self.last_request_id,
            last_command: self.last_command.map(|c| c as u32),
            last_result: self.last_result as u32,
            saved_usec: now_usec,
        };
        let digest = self.digest().to_hex();
        self.saved.authorizations.insert(digest.clone(), entry);
        self.saved.loaded = Some(LoadedDocument {
            digest,
            source: self.source,
        });
        self.saved.save(&self.state_file)
    }

    /// Stops the loaded document's machine (none loaded: nothing runs anyway).
    fn stop_lifecycle(&mut self, now_usec: u64) {
        if let Some(l) = &mut self.lifecycle {
            l.stop(now_usec);
        }
    }

    /// Whether the loaded document's state allows identification (none loaded: no).
    fn allows_identification(&self) -> bool {
        self.state().is_some_and(AuthzState::allows_identification)
    }

    /// Numbers this run's possible matches in boot epoch `epoch` (`out::boot_epoch`), so they
    /// never repeat an id of an earlier run that the ground still holds.
    pub fn set_boot_epoch(&mut self, epoch: u32) {
        self.next_alert_id = crate::out::boot_epoch::first_match_alert_id(epoch);
    }

    /// The loaded authorization's lifecycle state as of the last call (`None`: no authorization
    /// loaded, UTKIK_AUTHZ_STATE_NONE).
    pub fn state(&self) -> Option<AuthzState> {
        self.lifecycle.as_ref().map(Lifecycle::state)
    }

    /// The loaded authorization's digest; zeros with none loaded (as UTKIK_AUTHZ_STATUS says it).
    pub fn digest(&self) -> AuthzDigest {
        self.lifecycle.as_ref().map_or(AuthzDigest([0; 32]), Lifecycle::digest)
    }

    /// The loaded document's digest and where it came from (`None`: none loaded).
    pub fn loaded_document(&self) -> Option<(AuthzDigest, DocumentSource)> {
        self.lifecycle.as_ref().map(|l| (l.digest(), self.source))
    }

    /// The upload intake's counters.
    pub fn upload_stats(&self) -> UploadStats {
        self.uploads.stats()
    }

    /// Templates the template model computed (enrolment included); 0 while it
    /// was never loaded. The LAW.md section 1 tests read this.
    pub fn template_model_calls(&self) -> u64 {
        self.model.as_ref().map_or(0, TemplateModel::calls)
    }

    /// Whether the template model is loaded at all.
    pub fn template_model_loaded(&self) -> bool {
        self.model.is_some()
    }

    /// Designated persons currently enrolled (0 outside a use).
    pub fn enrolled_persons(&self) -> usize {
        self.enrolled.len()
    }

    /// Matches of the current use still held on the drone.
    pub fn matches_held(&self) -> usize {
        self.matches.len()
    }

    /// The payload store (evidence crops).
    pub fn payloads(&self) -> &PayloadStore {
        &self.payloads
    }

    /// The audit log file.
    pub fn audit_path(&self) -> &Path {
        self.audit.path()
    }

    fn log(&mut self, now_usec: u64, event: AuditEvent) {
        if let Err(e) = self.audit.append(now_usec, event) {
            tracing::error!("onboard audit log: {e}");
        }
    }

    /// Handles one raw MAVLink frame from the ground that carries a
    /// UTKIK_AUTHZ_COMMAND: refused (and logged) unless MAVLink 2 signed with
    /// the link key, addressed to this drone and about the loaded document.
    pub fn handle_command_frame(&mut self, frame: &[u8], now_usec: u64) -> GateOutput {
        let parsed = RawFrame::parse(frame).ok().and_then(|f| f.decode::<MavMessage>().ok());
        let Some(MavMessage::UTKIK_AUTHZ_COMMAND(cmd)) = parsed else {
            tracing::warn!("authorization command frame refused: not a UTKIK_AUTHZ_COMMAND");
            self.log(
                now_usec,
                AuditEvent::AuthorizationRefused {
                    field: "UTKIK_AUTHZ_COMMAND".into(),
                    reason: "frame is not a well-formed UTKIK_AUTHZ_COMMAND".into(),
                },
            );
            return GateOutput::default();
        };
        if cmd.target_system != self.system_id
            || (cmd.target_component != 0 && cmd.target_component != self.component_id)
        {
            return GateOutput::default();
        }
        match verify_frame(frame, &self.link_key, &mut self.replay_window, now_usec) {
            // A valid command is the ground heard (LAW.md 2.4), also for callers that hand
            // commands over directly.
            Ok(v) => self.link.heard(unix_usec_of_signing(v.timestamp), now_usec),
            Err(why) => {
                tracing::warn!(request_id = cmd.request_id, "authorization command refused: {why}");
                // Answered (the status in `out`), but a frame not signed with the link key never
                // becomes "the command handled last": a forged frame carrying the ground's next
                // request id would make the genuine command look like a resend, answered DENIED
                // and never applied (a REVOKE blocked by anyone in radio range).
                // Nor does the answer echo its request id: the status names the last
                // authenticated command, so a forged frame cannot make the station settle its own
                // pending command (same id) as refused by the drone.
                let kept = (self.last_request_id, self.last_command, self.last_result);
                let mut out = self.refuse(&cmd, now_usec, format!("link signature: {why}"));
                (self.last_request_id, self.last_command, self.last_result) = kept;
                if let Err(e) = self.persist(now_usec) {
                    tracing::error!("{e}");
                }
                out.messages.retain(|m| !matches!(m, MavMessage::UTKIK_AUTHZ_STATUS(_)));
                out.messages.push(self.status_message(now_usec, None));
                return out;
            }
        }
        // The timestamp is on disk before the command acts: after a crash or reboot the same
        // frame, recorded off the air, is a replay.
        let saved = LinkState {
            sent_timestamp: 0,
            window: self.replay_window.clone(),
        }
        .save(&self.link_state_file);
        if let Err(e) = saved {
            tracing::error!(request_id = cmd.request_id, "authorization command refused: {e}");
            return self.refuse(&cmd, now_usec, format!("replay window not saved: {e}"));
        }
        let about = AuthzDigest(cmd.authorization_digest);
        let is_stop = cmd.command == UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP;
        // A STOP naming any document this drone holds stops whatever runs (the law prefers
        // stopping); zeros name none in particular.
        let is_stop_of_any = is_stop && (about == AuthzDigest([0; 32]) || self.document_path(&about).is_some());
        let loaded = self.lifecycle.as_ref().map(Lifecycle::digest);
        if loaded != Some(about)
            && !is_stop_of_any
            && let Err(why) = self.switch_for(&cmd, about, now_usec)
        {
            tracing::warn!(request_id = cmd.request_id, "authorization command refused: {why}");
            return self.refuse(&cmd, now_usec, why);
        }
        // The ground resends a command until our status echoes its request id. A resend of the
        // request handled last (its status was lost) is answered with the stored result and not
        // applied twice (a second ACTIVATE would be refused as already active and the ground
        // would show a refusal). STOP is applied every time: harmless twice, and a restarted
        // ground may reuse a request id.
        if cmd.request_id == self.last_request_id
            && self.last_command == Some(cmd.command)
            && cmd.command != UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP
        {
            return GateOutput {
                messages: vec![self.status_message(now_usec, None)],
                ..GateOutput::default()
            };
        }
        self.apply(&cmd, now_usec)
    }

    /// The file of a document this drone holds: the configured one or a stored upload.
    fn document_path(&self, digest: &AuthzDigest) -> Option<(PathBuf, DocumentSource)> {
        match &self.configured {
            Some((d, path)) if d == digest => Some((path.clone(), DocumentSource::Configured)),
            _ => self.uploads.stored_path(digest).map(|p| (p, DocumentSource::Upload)),
        }
    }

    /// Makes the document `about` names the loaded one, for `cmd`: only a document this drone
    /// holds, only when no use is running, only when it still verifies and only when the
    /// command's signers may give it for that document (a refused command changes nothing).
    /// Its saved state (an earlier use, a refusal) is taken up.
    fn switch_for(&mut self, cmd: &UTKIK_AUTHZ_COMMAND_DATA, about: AuthzDigest, now_usec: u64) -> Result<(), String> {
        let Some((path, source)) = self.document_path(&about) else {
            return Err(match &self.lifecycle {
                Some(l) => format!(
                    "field `authorization_digest`: {} is not the loaded authorization {} (nor one stored on this drone)",
                    about.to_hex(),
                    l.digest().to_hex()
                ),
                None => format!(
                    "field `authorization_digest`: no authorization loaded, and {} is not one stored on this drone (upload it first)",
                    about.to_hex()
                ),
            });
        };
        if let (Some(started), Some(l)) = (self.use_started_usec, &self.lifecycle) {
            return Err(format!(
                "field `authorization_digest`: {} is stored on this drone, but the use of {} (decision `{}`) has been running since {started} us: STOP it before another document is loaded",
                about.to_hex(),
                l.digest().to_hex(),
                l.authorization().document().decision_id
            ));
        }
        let verified = authorize_file(&path, &self.trust, now_usec).map_err(|e| format!("{}: {e}", path.display()))?;
        if verified.digest() != about {
            return Err(format!(
                "{}: holds {}, not {}",
                path.display(),
                verified.digest().to_hex(),
                about.to_hex()
            ));
        }
        self.command_auth.check(cmd, Some(verified.document()), now_usec)?;
        let entry = self.saved.authorizations.get(&about.to_hex()).cloned();
        let lifecycle = match &entry {
            Some(e) => Lifecycle::restore(verified.clone(), e.lifecycle, now_usec)
                .map_err(|e| format!("{}: authorization {}: {e}", self.state_file.display(), about.to_hex()))?,
            None => Lifecycle::new(verified.clone(), now_usec),
        };
        let from = self.lifecycle.as_ref().map(|l| l.digest().to_hex());
        self.load(lifecycle, &path, source);
        if let Some(e) = entry {
            self.matches = e
                .matches
                .iter()
                .map(|m| MatchRecord {
                    alert_id: m.alert_id,
                    evidence: m.evidence.clone(),
                })
                .collect();
            self.matches_sent = e.matches_sent;
        }
        tracing::info!(
            from = from.as_deref().unwrap_or("none"),
            to = %about.to_hex(),
            ?source,
            "authorization loaded for a command naming it"
        );
        self.log(
            now_usec,
            AuditEvent::AuthorizationLoaded {
                authorization_digest: about,
                decision_id: verified.document().decision_id.clone(),
                issuer_key_id: verified.signer().key_id.clone(),
            },
        );
        Ok(())
    }

    fn refuse(&mut self, cmd: &UTKIK_AUTHZ_COMMAND_DATA, now_usec: u64, reason: String) -> GateOutput {
        self.log(
            now_usec,
            AuditEvent::AuthzCommand {
                command: format!("{:?}", cmd.command),
                operator_id: str16(&cmd.operator_id[..]),
                authorization_digest: Some(AuthzDigest(cmd.authorization_digest)),
                accepted: false,
                reason,
                system_id: None,
            },
        );
        self.last_request_id = cmd.request_id;
        self.last_command = Some(cmd.command);
        self.last_result = MavResult::MAV_RESULT_DENIED;
        let mut out = GateOutput::default();
        self.persist_before_reporting(now_usec, &mut out);
        out.messages.push(self.status_message(now_usec, None));
        out
    }

    fn apply(&mut self, cmd: &UTKIK_AUTHZ_COMMAND_DATA, now_usec: u64) -> GateOutput {
        use UtkikAuthzCommand as C;
        // Who signed it, with the roles the drone's own trust store gives them (LAW.md 4.5): the
        // ground's word is not enough, and the drone adds no role itself.
        let checked = self.command_auth.check(
            cmd,
            self.lifecycle.as_ref().map(|l| l.authorization().document()),
            now_usec,
        );
        let (signers, operator) = match checked {
            Ok(signers) => {
                let text = super::command_auth::signers_text(&signers);
                (signers, text)
            }
            // A STOP stops whoever sent it over the signed link (the law prefers stopping); the
            // record says why the user signature did not count.
            Err(why) if cmd.command == C::UTKIK_AUTHZ_COMMAND_STOP => {
                tracing::warn!(
                    request_id = cmd.request_id,
                    "STOP without a valid user signature ({why}): stopping"
                );
                (
                    Vec::new(),
                    format!("{} (user signature not valid: {why})", str16(&cmd.operator_id[..])),
                )
            }
            Err(why) => {
                tracing::warn!(request_id = cmd.request_id, "authorization command refused: {why}");
                return self.refuse(cmd, now_usec, why);
            }
        };
        let first = signers.first().map(utkik_shared::authz::command_signature::actor_of);
        let mut out = GateOutput::default();
        let result: Result<(), String> = match (cmd.command, first) {
            (C::UTKIK_AUTHZ_COMMAND_ACTIVATE, Some(actor)) => self
                .with_lifecycle(|l| l.activate(&actor, now_usec))
                .and_then(|_| self.start_use(&operator, now_usec)),
            (C::UTKIK_AUTHZ_COMMAND_URGENT_START, Some(actor)) => self
                .with_lifecycle(|l| l.start_urgent(&actor, now_usec))
                .and_then(|_| self.start_use(&operator, now_usec)),
            (C::UTKIK_AUTHZ_COMMAND_ACTIVATE | C::UTKIK_AUTHZ_COMMAND_URGENT_START, None) => {
                Err("no signer (not reached: only a STOP goes on without one)".into())
            }
            (C::UTKIK_AUTHZ_COMMAND_URGENT_APPLIED, _) => {
                self.with_lifecycle(|l| l.record_application(now_usec)).map(|_| {
                    let d = self.digest();
                    self.log(
                        now_usec,
                        AuditEvent::UrgentApplicationRecorded {
                            authorization_digest: d,
                            recorded_by: operator.clone(),
                        },
                    );
                })
            }
            (C::UTKIK_AUTHZ_COMMAND_STOP, _) => {
                self.stop_lifecycle(now_usec);
                self.end_use(now_usec, UseEndReason::Stopped, &mut out);
                Ok(())
            }
            (C::UTKIK_AUTHZ_COMMAND_REVOKE, _) => self
                .with_lifecycle(|l| l.revoke(now_usec))
                .map(|_| self.end_use(now_usec, UseEndReason::Revoked, &mut out)),
            (C::UTKIK_AUTHZ_COMMAND_URGENT_REFUSED, _) => match self.with_lifecycle(|l| l.refuse(now_usec)) {
                Ok(_order) => {
                    let d = self.digest();
                    self.log(
                        now_usec,
                        AuditEvent::UrgentRefused {
                            authorization_digest: d,
                            recorded_by: operator.clone(),
                        },
                    );
                    self.end_use(now_usec, UseEndReason::Refused, &mut out);
                    Ok(())
                }
                Err(e) => Err(e),
            },
        };
        let accepted = result.is_ok();
        if accepted {
            self.command_auth.accepted(cmd);
        }
        let reason = result.err().unwrap_or_default();
        if !accepted {
            tracing::warn!(
                request_id = cmd.request_id,
                "authorization command not carried out: {reason}"
            );
        }
        let d = self.digest();
        self.log(
            now_usec,
            AuditEvent::AuthzCommand {
                command: format!("{:?}", cmd.command),
                operator_id: operator,
                authorization_digest: Some(d),
                accepted,
                reason,
                system_id: None,
            },
        );
        self.last_request_id = cmd.request_id;
        self.last_command = Some(cmd.command);
        self.last_result = if accepted {
            MavResult::MAV_RESULT_ACCEPTED
        } else {
            MavResult::MAV_RESULT_DENIED
        };
        self.persist_before_reporting(now_usec, &mut out);
        out.messages.push(self.status_message(now_usec, None));
        out
    }

    /// Runs a transition of the loaded document's machine; none loaded: refused.
    fn with_lifecycle<T>(
        &mut self,
        f: impl FnOnce(&mut Lifecycle) -> Result<T, utkik_shared::authz::TransitionError>,
    ) -> Result<T, String> {
        match &mut self.lifecycle {
            Some(l) => f(l).map_err(|e| e.to_string()),
            None => Err("no authorization loaded".into()),
        }
    }

    /// Saves the state before a command's effect is reported. If it cannot be saved, a use the
    /// command started is stopped again (after a restart it would come back without it) and
    /// the command is reported FAILED; a stop, revocation or refusal stays in force.
    fn persist_before_reporting(&mut self, now_usec: u64, out: &mut GateOutput) {
        if let Err(e) = self.persist(now_usec) {
            tracing::error!(request_id = self.last_request_id, "{e}");
            if self.allows_identification() {
                self.stop_lifecycle(now_usec);
                self.end_use(now_usec, UseEndReason::Shutdown, out);
            }
            self.last_result = MavResult::MAV_RESULT_FAILED;
            self.log(
                now_usec,
                AuditEvent::AuthorizationRefused {
                    field: "gate state".into(),
                    reason: format!("not saved, the command's effect is not reported: {e}"),
                },
            );
        }
    }

    /// Loads the template model (first time) and enrols the loaded document's designated
    /// persons from the images beside it (an upload's: those stored with it).
    fn enrol(&mut self) -> Result<(), EnrolError> {
        let Some(lifecycle) = &self.lifecycle else {
            self.enrolled.clear();
            return Ok(());
        };
        if self.model.is_none() {
            let path = self
                .cache
                .verified_path(&utkik_models::FACE_TEMPLATE)
                .map_err(|e| EnrolError::Model(TemplateModelError::Run(e.into())))?;
            self.model = Some(TemplateModel::load(&path)?);
        }
        let model = self.model.as_ref().expect("loaded above");
        self.enrolled = enrol_designated(
            lifecycle.authorization().document(),
            &self.authorization_dir,
            &self.cache,
            model,
        )?;
        Ok(())
    }

    fn start_use(&mut self, operator: &str, now_usec: u64) -> Result<(), String> {
        match self.enrol() {
            Ok(()) => {
                let Some(lifecycle) = &self.lifecycle else {
                    return Err("no authorization loaded".into());
                };
                let doc = lifecycle.authorization().document().clone();
                let deadline_usec = lifecycle.urgent_deadline_usec().unwrap_or(now_usec);
                self.use_started_usec = Some(now_usec);
                let d = self.digest();
                if let Some(u) = &doc.urgent {
                    self.log(
                        now_usec,
                        AuditEvent::UrgentStarted {
                            authorization_digest: d,
                            senior_officer_id: operator.into(),
                            justification: u.justification.clone(),
                            deadline_usec,
                        },
                    );
                }
                self.log(
                    now_usec,
                    AuditEvent::UseStarted {
                        authorization_digest: d,
                        decision_id: doc.decision_id.clone(),
                        designated_subject_ids: doc.designated_subject_ids().iter().map(|s| s.to_string()).collect(),
                        urgent: doc.is_urgent(),
                        started_by: operator.into(),
                    },
                );
                Ok(())
            }
            Err(e) => {
                self.stop_lifecycle(now_usec);
                self.enrolled.clear();
                Err(format!("enrolment: {e}"))
            }
        }
    }

    /// Ends the running use: the enrolled templates go. Stop, revoke and
    /// refusal also delete every match and evidence crop of the use and write
    /// the deletion receipt; revoke and refusal of an uploaded document also its enrolment
    /// images (the document cannot run again, and they are data of the use).
    fn end_use(&mut self, now_usec: u64, reason: UseEndReason, out: &mut GateOutput) {
        let templates = self.enrolled.iter().map(|e| e.templates.len() as u64).sum::<u64>();
        self.enrolled.clear();
        // The use's end closes an open suspension (UseEnded says when).
        self.suspended_usec = None;
        let d = self.digest();
        if let Some(started_usec) = self.use_started_usec.take() {
            self.log(
                now_usec,
                AuditEvent::UseEnded {
                    authorization_digest: d,
                    started_usec,
                    ended_usec: now_usec,
                    reason,
                },
            );
        }
        if !matches!(
            reason,
            UseEndReason::Stopped | UseEndReason::Revoked | UseEndReason::Refused
        ) {
            return;
        }
        let matches = std::mem::take(&mut self.matches);
        self.matched_tracks.clear();
        let mut payloads = Vec::new();
        // A crop already gone (erased by the retention timer, or by hand) is counted as not
        // found, one that cannot be deleted is named: the receipt says what was deleted.
        let mut crops_not_found = 0u64;
        let mut problems = Vec::new();
        for m in &matches {
            out.cancelled_alerts.push(m.alert_id);
            if let Some(p) = &m.evidence {
                match self.payloads.delete(p) {
                    Ok(true) => payloads.push(p.clone()),
                    // Crops are stored by content: two matches on the same picture share one
                    // file, deleted with the first.
                    Ok(false) if payloads.iter().any(|q: &PayloadRef| q.sha256_hex == p.sha256_hex) => {
                        payloads.push(p.clone())
                    }
                    Ok(false) => crops_not_found += 1,
                    Err(e) => {
                        tracing::error!("deleting evidence {}: {e}", p.sha256_hex);
                        problems.push(format!("evidence crop {}: {e}", p.sha256_hex));
                    }
                }
            }
        }
        let Some(doc) = self.lifecycle.as_ref().map(|l| l.authorization().document().clone()) else {
            return;
        };
        let doc_id = doc.decision_id.clone();
        let n = matches.len() as u64;
        let mut uploaded_images = None;
        if self.source == DocumentSource::Upload && matches!(reason, UseEndReason::Revoked | UseEndReason::Refused) {
            let images = self.uploads.delete_images(&d, &doc);
            uploaded_images = Some(images);
            if images > 0 {
                self.log(
                    now_usec,
                    AuditEvent::Erasure {
                        user_id: if reason == UseEndReason::Refused {
                            "urgent refusal".into()
                        } else {
                            "revocation".into()
                        },
                        what: format!(
                            "{images} uploaded enrolment images of `{doc_id}` ({}): the use was {}",
                            self.uploads.dir_of(&d).display(),
                            if reason == UseEndReason::Refused {
                                "refused"
                            } else {
                                "revoked"
                            }
                        ),
                        payloads: Vec::new(),
                    },
                );
            }
        }
        self.log(
            now_usec,
            AuditEvent::DeletionReceipt {
                authorization_digest: d,
                decision_id: doc_id,
                site: "onboard".into(),
                deleted: vec![
                    DeletedCount {
                        kind: UseDataKind::Templates,
                        count: templates,
                    },
                    DeletedCount {
                        kind: UseDataKind::Matches,
                        count: n,
                    },
                    DeletedCount {
                        kind: UseDataKind::EvidenceCrops,
                        count: payloads.len() as u64,
                    },
                    DeletedCount {
                        kind: UseDataKind::AlertRecords,
                        count: n,
                    },
                ]
                .into_iter()
                .chain(uploaded_images.map(|count| DeletedCount {
                    kind: UseDataKind::EnrolmentImages,
                    count,
                }))
                .collect(),
                payloads,
                // Derived files exist only at the ground.
                not_found: if crops_not_found > 0 {
                    vec![DeletedCount {
                        kind: UseDataKind::EvidenceCrops,
                        count: crops_not_found,
                    }]
                } else {
                    Vec::new()
                },
                problems,
            },
        );
        // The receipt is what a third party checks first: vouched for by the key at once, not
        // only after the next run of records or a clean shutdown.
        if let Err(e) = self.audit.checkpoint(now_usec) {
            tracing::error!("onboard audit log: checkpoint after the deletion receipt: {e}");
        }
    }

    /// Applies the clock: a window end or urgent deadline ends the use (its
    /// enrolled templates go). Call at least once a second.
    pub fn tick(&mut self, now_usec: u64) -> GateOutput {
        let mut out = GateOutput::default();
        if now_usec >= self.next_retention_usec {
            self.next_retention_usec = now_usec.saturating_add(RETENTION_EVERY_USEC);
            let uploads = self.uploads.dir().to_path_buf();
            if let Err(e) = apply_retention(&mut self.audit, &self.payloads, &uploads, now_usec) {
                tracing::error!("retention: {e}");
            }
        }
        let state = self.lifecycle.as_mut().map(|l| l.tick(now_usec));
        if self.use_started_usec.is_some() && !state.is_some_and(AuthzState::allows_identification) {
            let reason = if state == Some(AuthzState::UrgentExpired) {
                UseEndReason::UrgentDeadline
            } else {
                UseEndReason::WindowEnded
            };
            self.end_use(now_usec, reason, &mut out);
            if let Err(e) = self.persist(now_usec) {
                tracing::error!("{e}");
            }
        }
        self.link_update(now_usec, &mut out);
        out
    }

    /// Every frame from the ground (the out link hands them over whole, signature included).
    /// One that passes the link-signature check keeps the link alive from the time it was
    /// signed (`shared::authz::link_watch`: no replay window is needed for that, an old frame
    /// vouches only for its old time); a UTKIK_AUTHZ_COMMAND then goes to
    /// [`Gate::handle_command_frame`], which checks it again with the command replay window.
    pub fn handle_ground_frame(&mut self, frame: &[u8], now_usec: u64) -> GateOutput {
        let mut scratch = ReplayWindow::new();
        match verify_frame(frame, &self.link_key, &mut scratch, now_usec) {
            Ok(v) => self.link.heard(unix_usec_of_signing(v.timestamp), now_usec),
            Err(why) => tracing::debug!("frame from the ground does not keep the link alive: {why}"),
        }
        let mut out = GateOutput::default();
        // The link's return is logged before the command it carries takes effect.
        self.link_update(now_usec, &mut out);
        let msg_id = RawFrame::parse(frame).map(|f| f.msg_id()).ok();
        if msg_id == Some(<UTKIK_UPLOAD_CHUNK_DATA as mavlink_core::MessageData>::ID) {
            out.messages.extend(self.handle_upload_frame(frame, now_usec));
        }
        if msg_id == Some(<UTKIK_AUTHZ_COMMAND_DATA as mavlink_core::MessageData>::ID) {
            let o = self.handle_command_frame(frame, now_usec);
            out.alerts.extend(o.alerts);
            out.messages.extend(o.messages);
            out.evidence.extend(o.evidence);
            out.cancelled_alerts.extend(o.cancelled_alerts);
        }
        out
    }

    /// One UTKIK_UPLOAD_CHUNK frame (see [`super::upload`]): the acks to send. A complete
    /// bundle is verified and stored, and logged either way; it runs nothing by itself.
    fn handle_upload_frame(&mut self, frame: &[u8], now_usec: u64) -> Vec<MavMessage> {
        let intake = self
            .uploads
            .take(frame, &self.link_key, self.system_id, self.component_id, now_usec);
        match intake {
            Intake::Nothing => Vec::new(),
            Intake::Ack(a) => vec![MavMessage::UTKIK_UPLOAD_ACK(a)],
            Intake::Refused { ack, reason } => {
                tracing::warn!("upload refused: {reason}");
                self.log(
                    now_usec,
                    AuditEvent::AuthorizationRefused {
                        field: "upload".into(),
                        reason,
                    },
                );
                vec![MavMessage::UTKIK_UPLOAD_ACK(ack)]
            }
            Intake::Complete {
                ground_system,
                upload_id,
                bytes,
            } => {
                let sha: String = <sha2::Sha256 as sha2::Digest>::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let what = format!("upload {upload_id} ({} bytes, bundle_sha256 {sha})", bytes.len());
                // Refused or revoked here before: final, and its data is gone for good.
                let saved = &self.saved;
                let ended = |d: &AuthzDigest| {
                    let state = saved.authorizations.get(&d.to_hex())?.lifecycle.state;
                    let word = match state {
                        AuthzState::Refused => "refused",
                        AuthzState::Revoked => "revoked",
                        _ => return None,
                    };
                    Some(format!(
                        "this authorization was {word} on this drone: not stored again (its use's data was deleted)"
                    ))
                };
                let outcome = match self.uploads.store(&bytes, &self.trust, now_usec, &ended) {
                    Ok(stored) => {
                        let v = &stored.verified;
                        tracing::info!(
                            digest = %v.digest().to_hex(),
                            decision_id = %v.document().decision_id,
                            issuer = %v.signer().key_id,
                            images = stored.images,
                            "{what} stored as {}: it runs only when a signed command names it",
                            stored.path.display()
                        );
                        self.log(
                            now_usec,
                            AuditEvent::AuthorizationLoaded {
                                authorization_digest: v.digest(),
                                decision_id: v.document().decision_id.clone(),
                                issuer_key_id: v.signer().key_id.clone(),
                            },
                        );
                        Ok(v.digest())
                    }
                    Err(refusal) => {
                        tracing::warn!("{what} refused: {refusal}");
                        self.log(
                            now_usec,
                            AuditEvent::AuthorizationRefused {
                                field: format!("upload: {}", refusal.part),
                                reason: format!("{what}: {}", refusal.reason),
                            },
                        );
                        Err(refusal.reason)
                    }
                };
                vec![MavMessage::UTKIK_UPLOAD_ACK(self.uploads.finish(
                    ground_system,
                    upload_id,
                    &outcome,
                ))]
            }
        }
    }

    /// Whether identification is suspended now (the state allows it, the link does not).
    pub fn link_lost(&self, now_usec: u64) -> bool {
        !self.link.alive(now_usec)
    }

    /// Logs the link's transitions while a use runs (LAW.md 2.4) and sends the status at once.
    fn link_update(&mut self, now_usec: u64, out: &mut GateOutput) {
        let running = self.allows_identification() && self.use_started_usec.is_some();
        let d = self.digest();
        match self.link.update(now_usec) {
            Some(LinkTransition::Lost { last_heard_usec }) => {
                tracing::warn!(
                    running,
                    "no valid signed frame from the ground for {} s: identification stops",
                    self.link.stop_after_usec() / 1_000_000
                );
                if running && self.suspended_usec.is_none() {
                    self.log(
                        now_usec,
                        AuditEvent::IdentificationSuspended {
                            authorization_digest: d,
                            reason: SuspendReason::LinkLost,
                            last_heard_usec,
                            site: "onboard".into(),
                        },
                    );
                    self.suspended_usec = Some(now_usec);
                    out.messages.push(self.status_message(now_usec, None));
                }
            }
            Some(LinkTransition::Restored { .. }) => tracing::info!("the ground is heard again"),
            None => {}
        }
        if self.link.alive(now_usec)
            && let Some(since) = self.suspended_usec.take()
            && running
        {
            self.log(
                now_usec,
                AuditEvent::IdentificationResumed {
                    authorization_digest: d,
                    reason: SuspendReason::LinkLost,
                    suspended_usec: since,
                    site: "onboard".into(),
                },
            );
            out.messages.push(self.status_message(now_usec, None));
        }
    }

    /// Runs identification on the faces of one frame. For each face the gate
    /// asks the lifecycle first; only then is a template computed.
    pub fn process(&mut self, now_usec: u64, frame: &RgbFrame, faces: &[GateFace]) -> GateOutput {
        let mut out = self.tick(now_usec);
        let mut any_inside = false;
        // LAW.md 2.4: with the ground not heard for the stop time, no template is computed.
        let link_alive = self.link.alive(now_usec);
        for face in faces {
            if self
                .lifecycle
                .as_mut()
                .is_none_or(|l| l.may_identify(now_usec, face.ground.as_ref()).is_err())
            {
                continue;
            }
            any_inside = true;
            if !link_alive {
                continue;
            }
            if self.enrolled.is_empty() {
                continue;
            }
            if face.track_id.is_some_and(|t| self.matched_tracks.contains(&t)) {
                continue; // already reported; its alert is being resent
            }
            let Some(model) = &self.model else { continue };
            let lm = face.landmarks_px.map(|p| [p[0] as f32, p[1] as f32]);
            let Ok((chip, _)) = align_face(&frame.data, frame.width as usize, frame.height as usize, &lm) else {
                continue;
            };
            let template = match model.compute(&chip) {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!("face template: {e}");
                    continue;
                }
            };
            let best = self
                .enrolled
                .iter()
                .flat_map(|e| {
                    let template = &template;
                    e.templates
                        .iter()
                        .map(move |t| (e.subject_id.as_str(), t.distance(template)))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1));
            // `template` is dropped at the end of this iteration whatever the result.
            if let Some((subject, distance)) = best.filter(|b| b.1 < self.match_distance) {
                let subject = subject.to_string();
                let score = utkik_shared::face::template::score_from_distance(distance);
                self.report_match(now_usec, frame, face, &subject, distance, score, &mut out);
            }
        }
        if !faces.is_empty() {
            self.inside_area = any_inside;
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn report_match(
        &mut self,
        now_usec: u64,
        frame: &RgbFrame,
        face: &GateFace,
        subject: &str,
        distance: f32,
        score: f32,
        out: &mut GateOutput,
    ) {
        let alert_id = self.next_alert_id;
        self.next_alert_id = crate::out::boot_epoch::next_alert_id(self.next_alert_id);
        let transfer_id = self.next_transfer_id;
        self.next_transfer_id = self.next_transfer_id.wrapping_add(1).max(1);
        let evidence = Evidence::crop(frame, &face.bbox).and_then(|e| self.seal_evidence(e, alert_id));
        let stored = evidence.as_ref().and_then(|e| match self.payloads.put(&e.jpeg) {
            Ok(r) => Some(r),
            Err(err) => {
                tracing::error!("storing evidence: {err}");
                None
            }
        });
        let d = self.digest();
        let track_id = face.track_id.unwrap_or(0);
        self.log(
            now_usec,
            AuditEvent::PossibleMatch {
                authorization_digest: d,
                match_id: alert_id,
                subject_id: subject.into(),
                frame_time_usec: frame.time_usec,
                track_id,
                distance,
                evidence_crop: stored.clone(),
            },
        );
        let mut digest16 = [0u8; 16];
        digest16.copy_from_slice(&d.as_bytes()[..16]);
        let (lat, lon) = face.ground.map_or((0, 0), |g| {
            ((g.lat_deg * 1e7).round() as i32, (g.lon_deg * 1e7).round() as i32)
        });
        let msg = MavMessage::UTKIK_BIOMETRIC_MATCH(UTKIK_BIOMETRIC_MATCH_DATA {
            time_usec: frame.time_usec,
            alert_id,
            track_id,
            authorization_digest: digest16,
            subject_id: subject.into(),
            score,
            evidence_transfer_id: if evidence.is_some() { transfer_id } else { 0 },
            evidence_size: evidence.as_ref().map_or(0, |e| e.jpeg.len() as u32),
            lat,
            lon,
            // The ground acknowledges only once a crop with this CRC is complete and stored.
            evidence_crc32: evidence
                .as_ref()
                .map_or(0, |e| utkik_shared::image_transfer::image_crc32(&e.jpeg)),
            image_sealed: evidence.as_ref().map_or(0, Evidence::sealed_flag),
        });
        out.alerts.push((alert_id, msg));
        if let Some(e) = &evidence {
            out.evidence.push((alert_id, evidence_messages(e)));
        }
        if let Some(t) = face.track_id {
            self.matched_tracks.insert(t);
        }
        self.matches.push(MatchRecord {
            alert_id,
            evidence: stored,
        });
        self.matches_sent += 1;
        // On disk before the alert goes out: after a restart a deletion still finds it.
        if let Err(e) = self.persist(now_usec) {
            tracing::error!("match {alert_id}: {e}");
        }
    }

    /// The crop sealed to the ground station's key when one is set (the clear crop never
    /// reaches the disk or the radio then); `None` if sealing fails, so the match goes out
    /// without a crop rather than with a clear one.
    fn seal_evidence(&self, evidence: Evidence, alert_id: u32) -> Option<Evidence> {
        let Some(pk) = &self.seal_to else {
            return Some(evidence);
        };
        let aad = utkik_shared::seal::ImageAad {
            system_id: self.system_id,
            alert_id,
            kind: utkik_shared::seal::ImageKind::FaceEvidence,
        };
        match evidence.seal(pk, &aad) {
            Ok(sealed) => Some(sealed),
            Err(e) => {
                tracing::error!("match {alert_id}: the evidence crop is not sent: {e}");
                None
            }
        }
    }

    /// Seals every evidence crop from now on to the ground station's public key
    /// (`gate.ground_seal_public`).
    pub fn seal_images_to(&mut self, pk: utkik_shared::seal::SealPublicKey) {
        self.seal_to = Some(pk);
    }

    /// UTKIK_AUTHZ_STATUS as enforced now (sent at 1 Hz and on every change).
    pub fn status_message(&mut self, now_usec: u64, _position: Option<&GeoPoint>) -> MavMessage {
        let remaining_usec = self.lifecycle.as_mut().map_or(0, |l| l.remaining_usec(now_usec));
        MavMessage::UTKIK_AUTHZ_STATUS(UTKIK_AUTHZ_STATUS_DATA {
            time_usec: now_usec,
            authorization_digest: *self.digest().as_bytes(),
            state: self.state().map_or(UtkikAuthzState::UTKIK_AUTHZ_STATE_NONE, state_of),
            inside_area: u8::from(self.inside_area),
            remaining: (remaining_usec / 1_000_000).min(u32::MAX as u64) as u32,
            templates_computed: self.template_model_calls().min(u32::MAX as u64) as u32,
            matches: self.matches_sent.min(u16::MAX as u64) as u16,
            last_request_id: self.last_request_id,
            last_result: self.last_result,
            suspended: if self.allows_identification() && !self.link.alive(now_usec) {
                utkik_shared::dialect::UtkikAuthzSuspension::UTKIK_AUTHZ_SUSPENSION_LINK_LOST.bits() as u8
            } else {
                0
            },
            link_silent: self
                .link
                .silent_usec(now_usec)
                .map_or(u16::MAX, |u| (u / 1_000_000).min(u64::from(u16::MAX - 1)) as u16),
            link_losses: self.link.losses().min(u32::from(u16::MAX)) as u16,
        })
    }

    /// Writes the end of a running use on shutdown, then a signed checkpoint (with a key) so
    /// the whole log is vouched for.
    pub fn shutdown(&mut self, now_usec: u64) {
        let mut out = GateOutput::default();
        if self.use_started_usec.is_some() {
            self.end_use(now_usec, UseEndReason::Shutdown, &mut out);
        }
        // A shutdown ends the use (logged above): the next start comes back stopped, to be
        // activated again by the ground. Only a crash leaves a use running across a restart.
        self.stop_lifecycle(now_usec);
        if let Err(e) = self.persist(now_usec) {
            tracing::error!("{e}");
        }
        if let Err(e) = self.audit.checkpoint(now_usec) {
            tracing::error!("onboard audit log: {e}");
        }
    }

    /// Signs the audit log's checkpoints with `signer` from now on (`gate.audit_key`): one
    /// now over everything so far, one after every [`CHECKPOINT_EVERY_RECORDS`] records and one
    /// at shutdown, so a third party can verify the drone's log with its public key alone
    /// (LAW.md 5.3, 5.4).
    ///
    /// # Errors
    /// The checkpoint cannot be written.
    pub fn sign_checkpoints(
        &mut self,
        signer: utkik_shared::audit::CheckpointSigner,
        now_usec: u64,
    ) -> Result<(), utkik_shared::audit::AuditError> {
        self.audit.set_signer(Some(signer), CHECKPOINT_EVERY_RECORDS);
        self.audit.checkpoint(now_usec).map(|_| ())
    }
}

/// Applies the retention policy to the payload store (LAW.md 5.6): each deletion an erasure
/// record. At start-up and every [`RETENTION_EVERY_USEC`].
fn apply_retention(
    audit: &mut AuditWriter,
    payloads: &PayloadStore,
    uploads_dir: &Path,
    now_usec: u64,
) -> Result<(), utkik_shared::audit::AuditError> {
    // Uploaded documents and their enrolment images (biometric data) age out like the crops.
    let dirs = [utkik_shared::audit::erase::AgedDir {
        what: "uploaded authorization file",
        dir: uploads_dir.to_path_buf(),
    }];
    let erased = utkik_shared::audit::erase::apply(
        &utkik_shared::audit::RetentionPolicy::default(),
        audit,
        Some(payloads),
        &dirs,
        now_usec,
    )?;
    if !erased.payloads.is_empty() {
        tracing::info!("retention: {} evidence crops erased (logged)", erased.payloads.len());
    }
    for p in &erased.problems {
        tracing::warn!("retention: {p} (tried again at the next run)");
    }
    Ok(())
}

/// A SHA-256 digest from its hex (the saved state's keys were checked on reading).
fn hex32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
