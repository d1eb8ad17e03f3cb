//! Every operator action at the ground station, with its rule checks and its audit record, in one
//! place that Bevy systems and tests call alike. An action counts as done only when its audit
//! record is on disk: if the append fails, the state change is undone and the error is returned.
//!
//! Audit records written here (all `utkik_shared::audit::AuditEvent`s):
//! sign-in / sign-out / refused sign-in (`Consultation`, `what` = `session: ...`), possible matches
//! (`PossibleMatch`, evidence crop in the payload store), confirmations and dismissals
//! (`MatchVerification`; plate checks as `Consultation`), export and dispatch (`Disclosure`),
//! marking (`Consultation`), authorization load and refusal (`AuthorizationLoaded`,
//! `AuthorizationRefused`), every command (`AuthzCommand`, also refused ones), use start and end
//! (`UseStarted`, `UrgentStarted`, `UseEnded`), urgent decisions (`UrgentApplicationRecorded`,
//! `UrgentRefused`, `DeletionReceipt`), stored-read searches (`StoredReadSearch`), hit-history
//! queries (`HitHistoryQuery`).
//!
//! A refused urgent use is also cut out of the link's tlog recordings through the
//! [`RecordingRedactor`] set at start-up; without one (headless tests, replay) the deletion
//! receipt says the recordings were not redacted. Its viewing files, exports and mission reports
//! are found again from their records in the audit log (`ViewingFileWritten`, a `Disclosure`'s
//! `file`) and deleted too ([`crate::derived_files`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use utkik_shared::audit::{AuditError, AuditEvent, DeletedCount, DerivedFileKind, PayloadRef, UseEndReason, Verdict};
use utkik_shared::authz::Role;
use utkik_shared::authz::command_signature::{cosign_command, sign_command, signers_text};
use utkik_shared::authz::{Actor, AuthzDigest, AuthzError, DeletionOrder, TrustStore, UseDataKind};
use utkik_shared::dialect::{MavMessage, UTKIK_AUTHZ_COMMAND_DATA};

use crate::audit_log::GroundAudit;
use crate::auth::{Permission, Session, SessionError, UserDirectory};
use crate::authorization::{AuthzAction, AuthzConsole, CommandError};
use crate::derived_files::{self, FileDeletion};
use crate::link::redact::{RecordingRedactor, RedactCounts, RedactRequest, RedactRule};
use crate::state::{AlertAction, AlertError, AlertKind, AlertState, TrackKey, World};

/// Seconds to wait for a possible match's evidence before logging the match without it.
pub const EVIDENCE_WAIT_S: f64 = 10.0;

/// A refused action.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// Sign-in, or the signed-in user may not do it.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The alert rules refuse it.
    #[error(transparent)]
    Alert(#[from] AlertError),
    /// The authorization command is refused.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The authorization document is refused.
    #[error("authorization refused: {0}")]
    Authz(#[from] AuthzError),
    /// The audit record could not be written, so the action did not happen.
    #[error("audit log: {0}")]
    Audit(#[from] AuditError),
    /// A possible match may be confirmed only by someone who has looked at its evidence crop
    /// (LAW.md section 4: each verifier confirms "after seeing the evidence"); a plate hit is
    /// checked against its plate image (LAW.md section 7).
    #[error(
        "{user_id} has not looked at the evidence of alert {system_id}/{alert_id}: open it first (`evidence` in the console, the thumbnail in the panel)"
    )]
    EvidenceNotSeen {
        /// The user.
        user_id: String,
        /// Vehicle.
        system_id: u8,
        /// Alert.
        alert_id: u32,
    },
    /// There is no image to look at (none sent, or the transfer has not arrived yet).
    #[error("alert {system_id}/{alert_id} has no evidence image (yet): it cannot be verified")]
    NoEvidence {
        /// Vehicle.
        system_id: u8,
        /// Alert.
        alert_id: u32,
    },
    /// The non-hit read store failed.
    #[error("stored plate reads: {0}")]
    StoredReads(#[from] crate::stored_reads::StoredReadsError),
    /// The hit history failed.
    #[error(transparent)]
    HitHistory(#[from] crate::hit_history::HitHistoryError),
    /// The station's hit list is refused (names the file and field).
    #[error("hit list: {0}")]
    HitList(#[from] utkik_shared::hitlist::HitListError),
    /// This station keeps no movement history of hit plates.
    #[error(
        "this station keeps no hit history: it is kept only when the station loads the signed hit list the drones fly with"
    )]
    NoHitHistory,
    /// A hit-history query names a plate (letters and digits; spaces and dashes are ignored).
    #[error("`{0}` names no plate: `history PLATE REASON...` with the plate's letters and digits")]
    HistoryPlate(String),
    /// A hit-history query states why (LAW.md section 7, as a stored-read search).
    #[error(
        "a hit-history query needs a reason (at least {MIN_SEARCH_REASON_CHARS} characters): `history PLATE REASON...`"
    )]
    HistoryReason,
    /// A search in stored reads states why (LAW.md section 7: every search is logged, and a
    /// search without a purpose is not allowed).
    #[error(
        "a search in stored plate reads needs a reason (at least {MIN_SEARCH_REASON_CHARS} characters): `search PLATE REASON...`"
    )]
    SearchReason,
    /// An operator proposed a two-operator activation; it is sent once a second operator
    /// co-signed it (LAW.md 4.5: an operator alone cannot activate).
    #[error(
        "ACTIVATE request {request_id} proposed by {proposer} and signed; a second operator must co-sign it: {proposer} signs out, another operator signs in and gives `authz cosign` (or a senior officer activates)"
    )]
    AwaitingCoSignature {
        /// The operator who proposed it.
        proposer: String,
        /// Its request id.
        request_id: u16,
    },
    /// `authz cosign` with nothing proposed (or the proposal was dropped).
    #[error("no activation is waiting for a co-signature")]
    NothingToCoSign,
    /// The proposal is older than the drone takes (`command_signature::MAX_COMMAND_AGE_S`).
    #[error(
        "the activation {0} proposed is older than {max} s and the drone would refuse it: it is dropped; {0} proposes again",
        max = utkik_shared::authz::command_signature::MAX_COMMAND_AGE_S
    )]
    ProposalExpired(String),
    /// The proposer tried to co-sign their own activation.
    #[error("{0} proposed this activation: a different operator must co-sign it")]
    CoSignOwnProposal(String),
    /// The signed-in user has no command-signing key (a users file from before per-user keys),
    /// so the drone would refuse the command.
    #[error(
        "{0} has no command-signing key in the users file, so the drone would refuse the command: an administrator gives one with `utkik-ground users passwd --new-key --users USERS_FILE {0}` and adds `utkik-ground users trust-entry --users USERS_FILE {0}` to the drone's trust store"
    )]
    NoSigningKey(String),
    /// The urgent-use draft or its images are refused (names the field or file).
    #[error(transparent)]
    Urgent(#[from] crate::urgent::UrgentError),
    /// A new authorization is not loaded while a use runs under the loaded one.
    #[error("identification is running under `{0}`: stop it (`authz stop`) before another authorization is loaded")]
    UseRunning(String),
    /// Writing an export failed.
    #[error("export to {path}: {message}")]
    Export {
        /// The file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
}

/// A message as the unsigned MAVLink 2 frame the audit log keeps (`AlertStored`,
/// `AuthzCommandSent`; read back by `crate::restore`), lower-case hex.
fn frame_hex(system_id: u8, component_id: u8, message: &MavMessage) -> String {
    let header = mavlink_core::MavHeader {
        system_id: u32::from(system_id),
        component_id,
        sequence: 0,
    };
    hex::encode(utkik_shared::mavframe::encode_v2(header, message))
}

/// Whether the command starts identification (the drone may refuse it).
pub(crate) fn starts_use(c: utkik_shared::dialect::UtkikAuthzCommand) -> bool {
    use utkik_shared::dialect::UtkikAuthzCommand as C;
    matches!(c, C::UTKIK_AUTHZ_COMMAND_ACTIVATE | C::UTKIK_AUTHZ_COMMAND_URGENT_START)
}

/// What happened to the tlog recordings when a refused use was deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingsRedaction {
    /// No redactor is attached (no live link in this process): the recordings were NOT redacted.
    NoRedactor,
    /// The link thread redacted its recordings.
    Redacted {
        /// Records dropped, per kind.
        dropped: RedactCounts,
        /// Files rewritten.
        files_rewritten: usize,
        /// Files that could not be redacted and damaged bytes kept as they were, in words.
        problems: Vec<String>,
    },
    /// The redaction did not run or did not answer: the recordings may still hold the use.
    Failed(String),
}

impl RecordingsRedaction {
    /// The deletion receipt's `site`: "ground" when the recordings were redacted without a
    /// problem, otherwise "ground" followed by what was not done, so the receipt never claims
    /// more than happened.
    pub fn receipt_site(&self) -> String {
        match self {
            RecordingsRedaction::Redacted { problems, .. } if problems.is_empty() => "ground".into(),
            RecordingsRedaction::Redacted { problems, .. } => {
                format!("ground (tlog recordings partly redacted: {})", problems.join("; "))
            }
            RecordingsRedaction::NoRedactor => {
                "ground (tlog recordings not redacted: no link recorder attached)".into()
            }
            RecordingsRedaction::Failed(why) => format!("ground (tlog recordings not redacted: {why})"),
        }
    }
}

/// What deleting a refused urgent use removed at the ground.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundDeletion {
    /// Counts per kind (with [`UseDataKind::RecordedMessages`] only when the recordings were
    /// redacted; viewing files, exports and reports always, also 0).
    pub deleted: Vec<DeletedCount>,
    /// Payloads removed from the payload store.
    pub payloads: Vec<PayloadRef>,
    /// What happened to the tlog recordings.
    pub recordings: RecordingsRedaction,
    /// The viewing files, exports and reports of the use: deleted, already gone, not deletable.
    pub files: FileDeletion,
}

impl GroundDeletion {
    /// The receipt's `site`: "ground", followed by what was not done (recordings not redacted,
    /// derived files not deleted), so the receipt never claims more than happened.
    pub fn receipt_site(&self) -> String {
        let site = self.recordings.receipt_site();
        match self.files.problems.len() {
            0 => site,
            n => format!(
                "{site} ({n} problem{} deleting viewing files, exports or reports: see problems)",
                if n == 1 { "" } else { "s" }
            ),
        }
    }

    /// The receipt in words, for the console: every kind with its count, what was already gone,
    /// what could not be deleted.
    pub fn text(&self) -> String {
        let counts = |c: &[DeletedCount]| {
            c.iter()
                .map(|d| format!("{} {}", d.count, d.kind.label()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut s = format!("deleted at the ground: {}", counts(&self.deleted));
        let not_found = self.files.not_found_counts();
        if !not_found.is_empty() {
            s.push_str(&format!("; recorded but already gone: {}", counts(&not_found)));
        }
        match &self.recordings {
            RecordingsRedaction::Redacted { problems, .. } if problems.is_empty() => {}
            r => s.push_str(&format!("; {}", r.receipt_site().trim_start_matches("ground "))),
        }
        for p in &self.files.problems {
            s.push_str(&format!("; NOT DELETED: {p}"));
        }
        s
    }
}

/// An activation proposed and signed by one operator, waiting for a second (LAW.md 4.5).
#[derive(Debug, Clone)]
pub struct Proposal {
    /// Who proposed it.
    pub proposer: Actor,
    /// The command as signed by the proposer (request id and time fixed by that signature).
    pub message: UTKIK_AUTHZ_COMMAND_DATA,
}

/// The ground station's users, session, authorization and audit log.
#[derive(Debug)]
pub struct GroundOps {
    /// Who may sign in.
    pub users: UserDirectory,
    /// Who is signed in.
    pub session: Session,
    /// The loaded authorization and each vehicle's use of one.
    pub console: AuthzConsole,
    /// Issuer keys for verifying authorizations.
    pub trust: TrustStore,
    /// The audit log.
    pub audit: GroundAudit,
    /// Possible matches already logged, with their evidence crop in the payload store.
    logged_matches: BTreeMap<(u8, u32), Option<PayloadRef>>,
    /// When the use running on each vehicle started (µs), for `UseEnded`.
    use_started_usec: BTreeMap<u8, u64>,
    /// (vehicle, alert, user) who have looked at a possible match's evidence crop.
    evidence_seen: BTreeSet<(u8, u32, String)>,
    /// Cuts a refused use out of the tlog recordings (the live link's; none without a link).
    redactor: Option<Box<dyn RecordingRedactor>>,
    /// A two-operator activation signed by its proposer, waiting for a second operator.
    pending_cosign: Option<Proposal>,
    /// The last deletion of a refused use (for the panels and tests).
    last_deletion: Option<GroundDeletion>,
    /// After a restart: possible matches already in the log whose alert was not stored yet
    /// (the `PossibleMatch` record has no vehicle), by match id; taken when the drone resends.
    restored_match_ids: BTreeMap<u32, Option<PayloadRef>>,
    /// Non-hit plate reads kept for a limited time (`--keep-non-hits-days`; None: none kept).
    stored_reads: Option<crate::stored_reads::StoredReads>,
    /// Sightings of hit-list plates, kept until their entry expires (None: not kept).
    hit_history: Option<crate::hit_history::HitHistory>,
    /// The signed hit list the drones fly with, verified at the station: names each hit's
    /// entry and its expiry (a UTKIK_PLATE_READ carries only the entry id).
    station_hit_list: Option<utkik_shared::hitlist::HitList>,
}

/// The shortest reason a stored-read search accepts (a case number is about this long).
pub const MIN_SEARCH_REASON_CHARS: usize = 8;

/// At most this many stored reads are returned by one search.
pub const MAX_SEARCH_RESULTS: usize = 200;

/// What a stored-read search found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadSearch {
    /// Plates of the tracks on the map now (hits, and non-hit reads when they are kept).
    pub live: Vec<(TrackKey, String)>,
    /// Non-hit reads in the store (empty when the station keeps none).
    pub stored: Vec<crate::stored_reads::StoredRead>,
    /// Whether this station keeps non-hit reads at all.
    pub store_open: bool,
}

fn consultation(user_id: &str, what: impl Into<String>) -> AuditEvent {
    AuditEvent::Consultation {
        user_id: user_id.to_string(),
        what: what.into(),
    }
}

impl GroundOps {
    /// Ground operations over an open audit log.
    pub fn new(users: UserDirectory, trust: TrustStore, audit: GroundAudit) -> Self {
        Self {
            users,
            session: Session::new(),
            console: AuthzConsole::new(),
            trust,
            audit,
            logged_matches: BTreeMap::new(),
            use_started_usec: BTreeMap::new(),
            evidence_seen: BTreeSet::new(),
            redactor: None,
            pending_cosign: None,
            last_deletion: None,
            restored_match_ids: BTreeMap::new(),
            stored_reads: None,
            hit_history: None,
            station_hit_list: None,
        }
    }

    /// Keeps the sightings of hit-list plates in `store` (issue 19 item 4). A sighting is kept
    /// only when the station's hit list ([`Self::set_station_hit_list`]) names its entry.
    pub fn set_hit_history(&mut self, store: crate::hit_history::HitHistory) {
        self.hit_history = Some(store);
    }

    /// The hit-history store, if the station keeps one.
    pub fn hit_history_store(&self) -> Option<&crate::hit_history::HitHistory> {
        self.hit_history.as_ref()
    }

    /// The signed hit list the drones fly with, verified (by the caller or
    /// [`Self::load_station_hit_list`]): each stored hit's entry and expiry are looked up in it.
    pub fn set_station_hit_list(&mut self, list: utkik_shared::hitlist::HitList) {
        self.station_hit_list = Some(list);
    }

    /// The station's verified hit list, if loaded.
    pub fn station_hit_list(&self) -> Option<&utkik_shared::hitlist::HitList> {
        self.station_hit_list.as_ref()
    }

    /// Loads and verifies the signed hit list at `path` as the drone does (against this
    /// station's trust store, plates read by `grammar`, at `now_usec`) and keeps it for
    /// [`Self::set_station_hit_list`].
    ///
    /// # Errors
    /// The file, its signature or content (the error names the file and the field).
    pub fn load_station_hit_list(
        &mut self,
        path: &Path,
        grammar: &utkik_shared::plate::PlateGrammar,
        now_usec: u64,
    ) -> Result<&utkik_shared::hitlist::HitList, OpsError> {
        let list = utkik_shared::hitlist::load_hit_list(path, &self.trust, grammar, now_usec)?;
        tracing::info!(
            list = list.list_id(),
            signer = list.signer(),
            entries = list.len(),
            "hit list {} verified at the station (hit history)",
            path.display()
        );
        Ok(self.station_hit_list.insert(list))
    }

    /// Deletes sightings whose hit-list entry expired, if a minute has passed since the last
    /// purge (the station calls it on a timer, so sightings go even when no hit arrives).
    ///
    /// # Errors
    /// The store.
    pub fn purge_hit_history(&mut self, now_usec: u64) -> Result<usize, OpsError> {
        match self.hit_history.as_mut() {
            Some(h) => Ok(h.purge_if_due(now_usec)?),
            None => Ok(0),
        }
    }

    /// Records the sighting of a plate hit being stored (from [`Self::store_new_alerts`], before
    /// its `AlertStored` record, so a crash between the two is healed by the drone's resend and
    /// the store's idempotence). Returns whether a row was added. Nothing is kept without a
    /// store, without the station's hit list, for an entry the list does not name for this
    /// plate or an entry already expired (each logged as a warning: the station cannot tell how
    /// long it may keep it).
    #[allow(clippy::too_many_arguments)] // one hit's fields, as the alert carries them
    fn record_sighting(
        &mut self,
        world: &World,
        system_id: u8,
        alert_id: u32,
        time_usec: u64,
        plate: &str,
        track_id: u32,
        hit_entry_id: u32,
        image: Option<&PayloadRef>,
        now_usec: u64,
    ) -> Result<bool, OpsError> {
        let key = TrackKey {
            system_id,
            class: crate::state::TrackClass::Plate,
            track_id,
        };
        let lat_lon_deg = world
            .tracks
            .get(&key)
            .and_then(|t| t.position)
            .map(|g| (g.lat_deg, g.lon_deg));
        self.keep_sighting(
            crate::hit_history::Source::drone(system_id),
            alert_id,
            hit_entry_id,
            plate,
            time_usec,
            lat_lon_deg,
            image.map(|p| p.sha256_hex.clone()),
            now_usec,
        )
    }

    /// Keeps one plate hit of `source` in the hit history, with the expiry of its entry in this
    /// station's hit list. `Ok(false)` (logged) without a store or list, for an entry the list
    /// does not name for that plate (the source flies with another list), for an expired entry,
    /// or for a sighting already held.
    #[allow(clippy::too_many_arguments)]
    fn keep_sighting(
        &mut self,
        source: crate::hit_history::Source,
        alert_id: u32,
        hit_entry_id: u32,
        plate: &str,
        time_usec: u64,
        lat_lon_deg: Option<(f64, f64)>,
        image_sha256_hex: Option<String>,
        now_usec: u64,
    ) -> Result<bool, OpsError> {
        let Some(store) = self.hit_history.as_mut() else {
            return Ok(false);
        };
        let Some(list) = self.station_hit_list.as_ref() else {
            tracing::warn!(
                %source,
                alert_id,
                "plate hit not kept in the hit history: the station has no hit list loaded (--hit-list), so it cannot tell when the entry expires"
            );
            return Ok(false);
        };
        let Some(entry) = crate::hit_history::entry_for_hit(list, hit_entry_id, plate) else {
            tracing::warn!(
                %source,
                alert_id,
                hit_entry_id,
                list = list.list_id(),
                "plate hit not kept in the hit history: the station's hit list has no entry {hit_entry_id} for this plate (the source flies with another list)"
            );
            return Ok(false);
        };
        if entry.expires_usec <= now_usec {
            tracing::warn!(
                %source,
                alert_id,
                hit_entry_id,
                "plate hit not kept in the hit history: its entry has expired"
            );
            return Ok(false);
        }
        let sighting = crate::hit_history::Sighting {
            plate: utkik_shared::plate::normalize(plate),
            entry,
            time_usec,
            lat_lon_deg,
            source,
            alert_id,
            image_sha256_hex,
        };
        Ok(store.record(&sighting, now_usec)?)
    }

    /// Records a plate hit another station published (a centre, `--subscribe-events`): kept in
    /// the hit history under that station's id, with the expiry of its entry in *this*
    /// station's hit list (`--hit-list`), exactly as for its own drones. Returns whether a
    /// sighting was added; `Ok(false)` without a store or list, for an entry the list does not
    /// name for that plate, or an expired entry (each logged), or a sighting already held.
    ///
    /// The event was verified by the caller (signature of a trusted station, sequence). The
    /// plate image stays at its station: only its SHA-256 is kept as the reference.
    ///
    /// # Errors
    /// The store.
    pub fn record_remote_sighting(
        &mut self,
        station_id: &str,
        source: &utkik_shared::events::EventSource,
        hit: &utkik_shared::events::PlateHitEvent,
        now_usec: u64,
    ) -> Result<bool, OpsError> {
        self.keep_sighting(
            crate::hit_history::Source {
                station_id: station_id.to_string(),
                kind: source.kind,
                system_id: source.system_id,
            },
            hit.alert_id,
            hit.hit_entry_id.get(),
            &hit.plate,
            hit.capture_time_usec,
            hit.position.map(|p| (p.lat_deg, p.lon_deg)),
            hit.image_sha256_hex.clone(),
            now_usec,
        )
    }

    /// Keeps non-hit plate reads in `store` (the station runs with `--keep-non-hits-days`).
    pub fn set_stored_reads(&mut self, store: crate::stored_reads::StoredReads) {
        self.stored_reads = Some(store);
    }

    /// Whether this station keeps new non-hit plate reads (`--keep-non-hits-days` > 0).
    pub fn keeps_non_hit_reads(&self) -> bool {
        self.stored_reads.as_ref().is_some_and(|s| s.keep_days() > 0)
    }

    /// Keeps a non-hit read that arrived with its text (`p`, from drone `system_id`) in the
    /// store, with the plate track's position from `world`. Without a store nothing is kept and
    /// `Ok(false)` is returned.
    ///
    /// # Errors
    /// The store.
    pub fn store_non_hit_read(
        &mut self,
        world: &World,
        system_id: u8,
        p: &utkik_shared::dialect::UTKIK_PLATE_READ_DATA,
        now_usec: u64,
    ) -> Result<bool, OpsError> {
        let Some(store) = self.stored_reads.as_mut() else {
            return Ok(false);
        };
        let plate = crate::state::tracks::plate_text(&p.plate[..]);
        if plate.is_empty() || p.status != utkik_shared::dialect::UtkikPlateStatus::UTKIK_PLATE_STATUS_NO_HIT {
            return Ok(false);
        }
        let key = TrackKey {
            system_id,
            class: crate::state::TrackClass::Plate,
            track_id: p.track_id,
        };
        let pos = world
            .tracks
            .get(&key)
            .and_then(|t| t.position)
            .map(|g| (g.lat_deg, g.lon_deg));
        Ok(store.insert(system_id, p.track_id, p.time_usec, &plate, p.confidence, pos, now_usec)?)
    }

    /// Deletes expired non-hit reads if a minute has passed since the last purge (the station
    /// calls it on a timer, so reads expire even when none arrive).
    ///
    /// # Errors
    /// The store.
    pub fn purge_stored_reads(&mut self, now_usec: u64) -> Result<usize, OpsError> {
        match self.stored_reads.as_mut() {
            Some(s) => Ok(s.purge_if_due(now_usec)?),
            None => Ok(0),
        }
    }

    /// After a restart (`crate::restore`): this match is in the log, with this crop.
    pub(crate) fn restore_logged_match(&mut self, system_id: u8, alert_id: u32, crop: Option<PayloadRef>) {
        self.logged_matches.insert((system_id, alert_id), crop);
    }

    /// After a restart: a match id in the log whose alert was not stored before the station died.
    pub(crate) fn restore_logged_match_id(&mut self, match_id: u32, crop: Option<PayloadRef>) {
        self.restored_match_ids.insert(match_id, crop);
    }

    /// After a restart: `user_id` had looked at this alert's image.
    pub(crate) fn restore_evidence_seen(&mut self, system_id: u8, alert_id: u32, user_id: String) {
        self.evidence_seen.insert((system_id, alert_id, user_id));
    }

    /// After a restart: when the use running on `system_id` started (None: none running).
    pub(crate) fn restore_use_started(&mut self, system_id: u8, started_usec: Option<u64>) {
        match started_usec {
            Some(t) => self.use_started_usec.insert(system_id, t),
            None => self.use_started_usec.remove(&system_id),
        };
    }

    /// The drone settled a command (confirmed, refused): logged, so a restarted station does not
    /// resend it as pending.
    ///
    /// # Errors
    /// The audit log.
    pub fn record_command_settled(&mut self, c: &crate::state::SentCommand, now_usec: u64) -> Result<(), OpsError> {
        let outcome = match &c.state {
            crate::state::CommandState::Confirmed(r) if *r == utkik_shared::dialect::MavResult::MAV_RESULT_ACCEPTED => {
                "accepted".to_string()
            }
            crate::state::CommandState::Confirmed(r) => format!("refused ({r:?})"),
            crate::state::CommandState::Superseded => "superseded".to_string(),
            crate::state::CommandState::Pending => return Ok(()),
        };
        let refused = outcome.starts_with("refused");
        self.audit.record(
            now_usec,
            AuditEvent::AuthzCommandSettled {
                system_id: c.system_id,
                request_id: c.message.request_id,
                command: c.name().to_string(),
                outcome,
            },
        )?;
        if refused && starts_use(c.message.command) {
            self.mirror_refused_start(c.system_id, &c.message.authorization_digest, now_usec)?;
        }
        Ok(())
    }

    /// The drone refused to start identification (ACTIVATE, URGENT_START) that the station's
    /// mirror had already started: the mirror stops again (so the crew can act on the drone's
    /// answer, e.g. activate once more), and the use the station logged as started is logged as
    /// ended. `crate::restore` replays the same step.
    fn mirror_refused_start(&mut self, system_id: u8, digest: &[u8; 32], now_usec: u64) -> Result<(), OpsError> {
        let Some(l) = self.console.vehicles.get_mut(&system_id) else {
            return Ok(());
        };
        if l.digest().0 != *digest || !l.state().allows_identification() {
            return Ok(());
        }
        l.stop(now_usec);
        let d = l.digest();
        if let Some(started_usec) = self.use_started_usec.remove(&system_id) {
            self.audit.record(
                now_usec,
                AuditEvent::UseEnded {
                    authorization_digest: d,
                    started_usec,
                    ended_usec: now_usec,
                    reason: UseEndReason::Stopped,
                },
            )?;
        }
        Ok(())
    }

    /// Attaches what redacts the tlog recordings when an urgent use is refused (the live link's
    /// [`crate::link::LinkRedactor`]).
    pub fn set_redactor(&mut self, redactor: Box<dyn RecordingRedactor>) {
        self.redactor = Some(redactor);
    }

    /// What the last refused use's deletion removed at the ground.
    pub fn last_deletion(&self) -> Option<&GroundDeletion> {
        self.last_deletion.as_ref()
    }

    /// The signed-in user.
    pub fn actor(&self) -> Option<&Actor> {
        self.session.actor()
    }

    fn signed_in(&self) -> Result<Actor, OpsError> {
        Ok(self.session.actor().cloned().ok_or(SessionError::NotSignedIn)?)
    }

    /// Signs a user in at this station's own sign-in (source `station`); see
    /// [`GroundOps::login_from`].
    ///
    /// # Errors
    /// As [`GroundOps::login_from`].
    pub fn login(&mut self, user_id: &str, password: &str, now_usec: u64) -> Result<Actor, OpsError> {
        self.login_from("station", user_id, password, now_usec)
    }

    /// Signs a user in from `source` (`window`, `console`): logged; a refused sign-in is
    /// logged with its reason (never the password), and so is every lockout it starts
    /// (rate limit and lockout: `auth/throttle.rs`).
    ///
    /// # Errors
    /// Bad credentials, throttled or locked, an old-format users entry, or the audit log.
    pub fn login_from(
        &mut self,
        source: &str,
        user_id: &str,
        password: &str,
        now_usec: u64,
    ) -> Result<Actor, OpsError> {
        match self
            .session
            .login_from(source, &self.users, user_id, password, now_usec)
        {
            Ok(a) => {
                let a = a.clone();
                if let Err(e) = self
                    .audit
                    .record(now_usec, consultation(&a.user_id, "session: signed in"))
                {
                    self.session.logout();
                    return Err(e.into());
                }
                Ok(a)
            }
            Err(e) => {
                let reason = match &e {
                    SessionError::Throttled(t) => t.to_string(),
                    SessionError::Login(crate::auth::UsersError::NeedsNewPassword { .. }) => {
                        "no argon2id password hash for this user (old users-file entry)".to_string()
                    }
                    _ => "unknown user or wrong password".to_string(),
                };
                self.audit.record(
                    now_usec,
                    consultation(user_id, format!("session: sign-in refused from the {source}: {reason}")),
                )?;
                for lock in self.session.take_new_lockouts() {
                    let what = match lock {
                        crate::auth::Lockout::User { user_id, until_usec } => format!(
                            "session: user `{user_id}` locked out for {} s after repeated failed sign-ins",
                            until_usec.saturating_sub(now_usec) / 1_000_000
                        ),
                        crate::auth::Lockout::Source {
                            source_name,
                            until_usec,
                        } => format!(
                            "session: sign-in from the {source_name} locked out for {} s after repeated failed sign-ins",
                            until_usec.saturating_sub(now_usec) / 1_000_000
                        ),
                    };
                    self.audit.record(now_usec, consultation(user_id, what))?;
                }
                Err(e.into())
            }
        }
    }

    /// The signed-in user did something: the idle sign-out starts over.
    pub fn touch(&mut self, now_usec: u64) {
        self.session.touch(now_usec);
    }

    /// Signs the user out when idle for the configured time (logged, with a checkpoint); who
    /// was signed out.
    ///
    /// # Errors
    /// The audit log.
    pub fn sign_out_if_idle(&mut self, now_usec: u64) -> Result<Option<Actor>, OpsError> {
        let Some((actor, idle_usec)) = self.session.sign_out_if_idle(now_usec) else {
            return Ok(None);
        };
        self.audit.record(
            now_usec,
            consultation(
                &actor.user_id,
                format!("session: signed out after {} s without activity", idle_usec / 1_000_000),
            ),
        )?;
        self.audit.checkpoint(now_usec)?;
        Ok(Some(actor))
    }

    /// Signs out (logged, followed by a signed checkpoint when a key is configured).
    ///
    /// # Errors
    /// The audit log.
    pub fn logout(&mut self, now_usec: u64) -> Result<(), OpsError> {
        if let Some(a) = self.session.logout() {
            self.audit
                .record(now_usec, consultation(&a.user_id, "session: signed out"))?;
            self.audit.checkpoint(now_usec)?;
        }
        Ok(())
    }

    /// Logs possible matches not logged yet: once their evidence arrived (stored in the payload
    /// store) or after [`EVIDENCE_WAIT_S`]. Returns how many were logged.
    ///
    /// # Errors
    /// The audit log.
    pub fn log_new_matches(&mut self, world: &World, now_usec: u64) -> Result<usize, OpsError> {
        let mut n = 0;
        for a in world.alerts.iter() {
            let AlertKind::PossibleMatch {
                subject_id,
                track_id,
                distance,
                authorization_digest,
                evidence_size,
                ..
            } = &a.kind
            else {
                continue;
            };
            let key = (a.system_id, a.alert_id);
            if self.logged_matches.contains_key(&key) {
                continue;
            }
            if let Some(crop) = self.restored_match_ids.remove(&a.alert_id) {
                // Logged before a restart; the drone resent it.
                self.logged_matches.insert(key, crop);
                continue;
            }
            let waited = world.now_s - a.received_s >= EVIDENCE_WAIT_S;
            if a.evidence_jpeg.is_none() && *evidence_size > 0 && !waited {
                continue;
            }
            let crop = match &a.evidence_jpeg {
                Some(j) => Some(self.audit.put_payload(j)?),
                None => None,
            };
            self.audit.record(
                now_usec,
                AuditEvent::PossibleMatch {
                    authorization_digest: self.console.resolve_digest(authorization_digest),
                    match_id: a.alert_id,
                    subject_id: subject_id.clone(),
                    frame_time_usec: a.time_usec,
                    track_id: *track_id,
                    distance: *distance,
                    evidence_crop: crop.clone(),
                },
            )?;
            self.logged_matches.insert(key, crop);
            n += 1;
        }
        Ok(n)
    }

    /// Makes every complete alert durable, then lets it be acknowledged (issue 14 item 3: the
    /// drone resends an alert and its image until the ack, so an ack must never come before
    /// both are on disk). A possible match: its `PossibleMatch` record (written by
    /// [`Self::log_new_matches`]) and its evidence crop in the payload store; a crop completing
    /// after the record (logged without it after [`EVIDENCE_WAIT_S`]) is put then. A plate hit:
    /// its plate image in the payload store. Both the audit log and the payload store fsync
    /// before they return. Returns how many alerts became acknowledgeable.
    ///
    /// # Errors
    /// The audit log or the payload store (the alert then stays unacknowledged and is resent).
    pub fn store_new_alerts(&mut self, world: &mut World, now_usec: u64) -> Result<usize, OpsError> {
        self.log_new_matches(world, now_usec)?;
        let mut n = 0;
        for (system_id, alert_id) in world.alerts.awaiting_store() {
            let Some(a) = world.alerts.get(system_id, alert_id) else {
                continue;
            };
            let image = match &a.kind {
                AlertKind::PossibleMatch { .. } => {
                    let Some(logged_crop) = self.logged_matches.get(&(system_id, alert_id)) else {
                        continue;
                    };
                    if logged_crop.is_none()
                        && let Some(jpeg) = &a.evidence_jpeg
                    {
                        let crop = self.audit.put_payload(jpeg)?;
                        self.logged_matches.insert((system_id, alert_id), Some(crop.clone()));
                        Some(crop)
                    } else {
                        logged_crop.clone()
                    }
                }
                AlertKind::PlateHit { .. } => match &a.evidence_jpeg {
                    Some(jpeg) => Some(self.audit.put_payload(jpeg)?),
                    None => None,
                },
            };
            // A plate hit's sighting goes into the hit history first: if the station dies before
            // the `AlertStored` record, the drone resends and the store ignores the repeat.
            if let AlertKind::PlateHit {
                plate,
                track_id,
                hit_entry_id,
                ..
            } = &a.kind
            {
                self.record_sighting(
                    world,
                    system_id,
                    alert_id,
                    a.time_usec,
                    plate,
                    *track_id,
                    *hit_entry_id,
                    image.as_ref(),
                    now_usec,
                )?;
            }
            // The alert itself, as the drone sent it, so a restarted station still has it after
            // the drone stopped resending (issue 14 item 4; `crate::restore`).
            self.audit.record(
                now_usec,
                AuditEvent::AlertStored {
                    system_id,
                    alert_id,
                    frame_hex: frame_hex(system_id, a.component_id, &a.message),
                    received_usec: (a.received_s * 1e6) as u64,
                    image,
                },
            )?;
            world.alerts.mark_stored(system_id, alert_id);
            n += 1;
        }
        Ok(n)
    }

    /// The signed-in user opens an alert's image: a possible match's evidence crop (verifiers,
    /// LAW.md section 4) or a plate hit's plate image (operators, LAW.md section 7). Logged as
    /// a consultation (LAW.md section 5) once per user and alert; from then on this user may
    /// give a verdict on it. Returns the JPEG.
    ///
    /// # Errors
    /// Not signed in, no permission for this kind of alert, no image (yet), audit log.
    pub fn view_evidence(
        &mut self,
        world: &World,
        system_id: u8,
        alert_id: u32,
        now_usec: u64,
    ) -> Result<Vec<u8>, OpsError> {
        let alert = world
            .alerts
            .get(system_id, alert_id)
            .ok_or(AlertError::Unknown { system_id, alert_id })?;
        let (permission, what) = match alert.kind {
            AlertKind::PossibleMatch { .. } => (Permission::ConfirmMatch, "the evidence crop of possible match"),
            AlertKind::PlateHit { .. } => (Permission::CheckPlateHit, "the plate image of plate hit"),
        };
        let actor = self.session.require(permission)?.clone();
        let Some(jpeg) = alert.evidence_jpeg.clone() else {
            return Err(OpsError::NoEvidence { system_id, alert_id });
        };
        // The match is in the log before anyone looks at it.
        self.log_new_matches(world, now_usec)?;
        let key = (system_id, alert_id, actor.user_id.clone());
        if !self.evidence_seen.contains(&key) {
            self.audit.record(
                now_usec,
                consultation(&actor.user_id, format!("viewed {what} {system_id}/{alert_id}")),
            )?;
            self.evidence_seen.insert(key);
        }
        Ok(jpeg)
    }

    /// The signed-in user opens an alert's image at the console, which cannot show a picture:
    /// as [`GroundOps::view_evidence`], then the image is written to
    /// `dir/alert-S-A-seen-by-USER.jpg` (not an export: those need two confirmations and are
    /// disclosures) and the file is recorded (`ViewingFileWritten`, with the alert's use), so a
    /// refused use's viewing files are deleted with it. Returns the file and the image.
    ///
    /// # Errors
    /// As [`GroundOps::view_evidence`]; writing the file; the audit log (the file is then
    /// removed again).
    pub fn open_viewing_file(
        &mut self,
        world: &World,
        system_id: u8,
        alert_id: u32,
        dir: &Path,
        now_usec: u64,
    ) -> Result<(PathBuf, Vec<u8>), OpsError> {
        let jpeg = self.view_evidence(world, system_id, alert_id, now_usec)?;
        let user = self.signed_in()?.user_id;
        let alert = world
            .alerts
            .get(system_id, alert_id)
            .ok_or(AlertError::Unknown { system_id, alert_id })?;
        let path = dir.join(format!("alert-{system_id}-{alert_id}-seen-by-{user}.jpg"));
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&path, &jpeg))
            .map_err(|e| OpsError::Export {
                path: path.clone(),
                message: e.to_string(),
            })?;
        let file = derived_files::derived_file(
            DerivedFileKind::ViewingFile,
            &path,
            vec![derived_files::file_alert(alert)],
        );
        if let Err(e) = self
            .audit
            .record(now_usec, AuditEvent::ViewingFileWritten { user_id: user, file })
        {
            let _ = std::fs::remove_file(&path);
            return Err(e.into());
        }
        Ok((path, jpeg))
    }

    /// Whether the signed-in user has looked at this alert's evidence.
    pub fn has_seen_evidence(&self, system_id: u8, alert_id: u32) -> bool {
        self.actor()
            .is_some_and(|a| self.evidence_seen.contains(&(system_id, alert_id, a.user_id.clone())))
    }

    fn review(
        &mut self,
        world: &mut World,
        system_id: u8,
        alert_id: u32,
        confirm: bool,
        now_usec: u64,
    ) -> Result<AlertState, OpsError> {
        let actor = self.signed_in()?;
        // The match itself is in the log before anyone's verdict on it.
        self.log_new_matches(world, now_usec)?;
        let before = world.alerts.clone();
        let state = if confirm {
            world.alerts.confirm(system_id, alert_id, &actor)?.clone()
        } else {
            world.alerts.dismiss(system_id, alert_id, &actor)?.clone()
        };
        let alert = world.alerts.get(system_id, alert_id).expect("just reviewed");
        // After the role and state rules (so they are named first): a verdict on a possible
        // match needs the verifier to have seen its evidence, and the check of a plate hit that
        // announced a plate image needs the operator to have seen the image (a hit whose plate
        // could not be cut out onboard is checked on its text and says so in the log).
        let image_announced = match &alert.kind {
            AlertKind::PossibleMatch { .. } => true,
            AlertKind::PlateHit {
                image_transfer_id,
                image_size,
                ..
            } => *image_transfer_id != 0 && *image_size > 0,
        };
        if image_announced
            && !self
                .evidence_seen
                .contains(&(system_id, alert_id, actor.user_id.clone()))
        {
            world.alerts = before;
            return Err(OpsError::EvidenceNotSeen {
                user_id: actor.user_id.clone(),
                system_id,
                alert_id,
            });
        }
        let event = match &alert.kind {
            AlertKind::PossibleMatch {
                authorization_digest, ..
            } => AuditEvent::MatchVerification {
                authorization_digest: self.console.resolve_digest(authorization_digest),
                match_id: alert_id,
                verifier_id: actor.user_id.clone(),
                verdict: if confirm { Verdict::Confirmed } else { Verdict::Rejected },
            },
            AlertKind::PlateHit { .. } => consultation(
                &actor.user_id,
                crate::replay::verdicts::plate_check_text(system_id, alert_id, confirm, image_announced),
            ),
        };
        if let Err(e) = self.audit.record(now_usec, event) {
            world.alerts = before;
            return Err(e.into());
        }
        Ok(state)
    }

    /// The signed-in user confirms an alert (two different users for a possible match).
    ///
    /// # Errors
    /// Not signed in, role, same user twice, closed alert, audit log.
    pub fn confirm(
        &mut self,
        world: &mut World,
        system_id: u8,
        alert_id: u32,
        now_usec: u64,
    ) -> Result<AlertState, OpsError> {
        self.review(world, system_id, alert_id, true, now_usec)
    }

    /// The signed-in user dismisses an alert.
    ///
    /// # Errors
    /// As [`GroundOps::confirm`].
    pub fn dismiss(
        &mut self,
        world: &mut World,
        system_id: u8,
        alert_id: u32,
        now_usec: u64,
    ) -> Result<AlertState, OpsError> {
        self.review(world, system_id, alert_id, false, now_usec)
    }

    /// Export, mark or dispatch: only for a confirmed match (checked hit). Export writes the
    /// evidence to `export_dir` and returns the file.
    ///
    /// # Errors
    /// Not signed in, role, not confirmed, I/O, audit log.
    pub fn act(
        &mut self,
        world: &World,
        system_id: u8,
        alert_id: u32,
        action: AlertAction,
        export_dir: &Path,
        now_usec: u64,
    ) -> Result<Option<PathBuf>, OpsError> {
        let actor = self.signed_in()?;
        let alert = world.alerts.authorize_action(system_id, alert_id, &actor, action)?;
        let payloads: Vec<PayloadRef> = self
            .logged_matches
            .get(&(system_id, alert_id))
            .cloned()
            .flatten()
            .into_iter()
            .collect();
        let what = format!("alert {system_id}/{alert_id} ({})", alert.label());
        let (event, file) = match action {
            AlertAction::Export => {
                let path = export_dir.join(format!("alert-{system_id}-{alert_id}.jpg"));
                let bytes = alert.evidence_jpeg.clone().unwrap_or_default();
                std::fs::create_dir_all(export_dir)
                    .and_then(|()| std::fs::write(&path, bytes))
                    .map_err(|e| OpsError::Export {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                // Recorded with its alert's use, so a refused use's exports are found again.
                let file =
                    derived_files::derived_file(DerivedFileKind::Export, &path, vec![derived_files::file_alert(alert)]);
                (
                    AuditEvent::Disclosure {
                        user_id: actor.user_id.clone(),
                        recipient: format!("export file {}", path.display()),
                        what,
                        payloads,
                        file: Some(file),
                    },
                    Some(path),
                )
            }
            AlertAction::Dispatch => (
                AuditEvent::Disclosure {
                    user_id: actor.user_id.clone(),
                    recipient: "dispatch".into(),
                    what,
                    payloads,
                    file: None,
                },
                None,
            ),
            AlertAction::Mark => (consultation(&actor.user_id, format!("{what} marked on the map")), None),
        };
        if let Err(e) = self.audit.record(now_usec, event) {
            if let Some(p) = &file {
                let _ = std::fs::remove_file(p);
            }
            return Err(e.into());
        }
        Ok(file)
    }

    /// Loads and verifies an authorization document (logged either way; no user needed: loading
    /// activates nothing).
    ///
    /// # Errors
    /// The refusal naming the field, or the audit log.
    pub fn load_authorization(&mut self, path: &Path, now_usec: u64) -> Result<AuthzDigest, OpsError> {
        match self.console.load(path, &self.trust, now_usec) {
            Ok(d) => {
                let l = self.console.document.as_ref().expect("just loaded");
                let auth = l.authorization();
                self.audit.record(
                    now_usec,
                    AuditEvent::AuthorizationLoaded {
                        authorization_digest: d,
                        decision_id: auth.document().decision_id.clone(),
                        issuer_key_id: auth.signer().key_id.clone(),
                    },
                )?;
                Ok(d)
            }
            Err(e) => {
                self.audit.record(
                    now_usec,
                    AuditEvent::AuthorizationRefused {
                        field: e.field().to_string(),
                        reason: e.to_string(),
                    },
                )?;
                Err(e.into())
            }
        }
    }

    /// An authorization command by the signed-in user: checked, mirrored, logged, and returned as
    /// the message to send (signed by the link). A refused urgent use also deletes everything of
    /// that use at the ground and logs the deletion receipt.
    ///
    /// # Errors
    /// Not signed in, role, lifecycle, audit log. Refused commands are logged as not accepted.
    ///
    /// Every command carries the signed-in user's signature (their key, opened at sign-in), which
    /// the drone checks against its trust store (LAW.md 4.5). An ACTIVATE by an operator who is
    /// not a senior officer is not sent: it is proposed (signed, logged) and waits for a second
    /// operator's [`GroundOps::cosign_activation`]; this returns
    /// [`OpsError::AwaitingCoSignature`]. A STOP is sent even by a user without a key.
    pub fn authz_command(
        &mut self,
        world: &mut World,
        action: AuthzAction,
        target_system: u8,
        now_usec: u64,
    ) -> Result<MavMessage, OpsError> {
        let actor = self.signed_in()?;
        if action == AuthzAction::Activate
            && !actor.has_role(Role::SeniorOfficer)
            && crate::auth::permissions::actor_allows(&actor, Permission::ActivateAuthorization)
        {
            return Err(self.propose_activation(&actor, target_system, now_usec));
        }
        self.issue(world, action, target_system, now_usec, &actor, None)
    }

    /// The activation proposed by an operator, if one waits for a co-signature.
    pub fn pending_cosign(&self) -> Option<&Proposal> {
        self.pending_cosign.as_ref()
    }

    /// The signed-in operator co-signs the waiting activation: it is carried out on the mirror,
    /// logged with both operators, and returned to send (LAW.md 4.5).
    ///
    /// # Errors
    /// Nothing proposed, the proposer co-signing, role, no signing key, lifecycle, audit log.
    pub fn cosign_activation(&mut self, world: &mut World, now_usec: u64) -> Result<MavMessage, OpsError> {
        let actor = self.session.require(Permission::ActivateAuthorization)?.clone();
        let proposal = self.pending_cosign.clone().ok_or(OpsError::NothingToCoSign)?;
        if proposal.proposer.user_id == actor.user_id {
            return Err(OpsError::CoSignOwnProposal(actor.user_id));
        }
        let max_age_usec = utkik_shared::authz::command_signature::MAX_COMMAND_AGE_S * 1_000_000;
        if now_usec.saturating_sub(proposal.message.time_usec) > max_age_usec {
            // The drone would refuse it as too old: drop it, the first operator proposes again.
            self.pending_cosign = None;
            return Err(OpsError::ProposalExpired(proposal.proposer.user_id));
        }
        let target = proposal.message.target_system;
        let out = self.issue(world, AuthzAction::Activate, target, now_usec, &actor, Some(proposal));
        if out.is_ok() {
            self.pending_cosign = None;
        }
        out
    }

    /// Signs and records the first half of a two-operator activation; the refusal to return.
    fn propose_activation(&mut self, actor: &Actor, target_system: u8, now_usec: u64) -> OpsError {
        let digest = self.console.digest_for(target_system, AuthzAction::Activate);
        let refused = |ops: &mut Self, e: OpsError| -> OpsError {
            let record = ops.audit.record(
                now_usec,
                AuditEvent::AuthzCommand {
                    command: AuthzAction::Activate.name().into(),
                    operator_id: actor.user_id.clone(),
                    authorization_digest: digest,
                    accepted: false,
                    reason: e.to_string(),
                    system_id: Some(target_system),
                },
            );
            match record {
                Ok(_) => e,
                Err(a) => a.into(),
            }
        };
        let Some(signer) = self.session.signer() else {
            return refused(self, OpsError::NoSigningKey(actor.user_id.clone()));
        };
        let mut message = match self
            .console
            .prepare(actor, AuthzAction::Activate, target_system, now_usec)
        {
            Ok(m) => m,
            Err(e) => return refused(self, e.into()),
        };
        sign_command(&mut message, signer.key());
        let request_id = message.request_id;
        self.pending_cosign = Some(Proposal {
            proposer: actor.clone(),
            message,
        });
        refused(
            self,
            OpsError::AwaitingCoSignature {
                proposer: actor.user_id.clone(),
                request_id,
            },
        )
    }

    /// Carries out a command by `actor` (or co-signs `cosign`), signs it and logs it.
    fn issue(
        &mut self,
        world: &mut World,
        action: AuthzAction,
        target_system: u8,
        now_usec: u64,
        actor: &Actor,
        cosign: Option<Proposal>,
    ) -> Result<MavMessage, OpsError> {
        let actor = actor.clone();
        let digest = self.console.digest_for(target_system, action);
        let was_running = self.console.running_on(target_system);
        // Who the records name: both operators of a co-signed activation, as the drone does.
        let who = match &cosign {
            Some(p) => signers_text([p.proposer.user_id.as_str(), actor.user_id.as_str()]),
            None => actor.user_id.clone(),
        };
        let has_key = self.session.signer().is_some();
        let result = if !has_key && action != AuthzAction::Stop {
            Err(OpsError::NoSigningKey(actor.user_id.clone()))
        } else {
            match &cosign {
                Some(p) => self
                    .console
                    .command_prepared(&p.proposer, action, p.message.clone(), now_usec),
                None => self.console.command(&actor, action, target_system, now_usec),
            }
            .map_err(OpsError::from)
        };
        let mut outcome = match result {
            Ok(o) => o,
            Err(e) => {
                self.audit.record(
                    now_usec,
                    AuditEvent::AuthzCommand {
                        command: action.name().into(),
                        operator_id: who.clone(),
                        authorization_digest: digest,
                        accepted: false,
                        reason: e.to_string(),
                        system_id: Some(target_system),
                    },
                )?;
                return Err(e);
            }
        };
        if let Some(signer) = self.session.signer() {
            if cosign.is_some() {
                cosign_command(&mut outcome.message, &actor.user_id, signer.key());
            } else {
                sign_command(&mut outcome.message, signer.key());
            }
        }
        self.audit.record(
            now_usec,
            AuditEvent::AuthzCommand {
                command: action.name().into(),
                operator_id: who.clone(),
                authorization_digest: digest,
                accepted: true,
                reason: String::new(),
                system_id: Some(target_system),
            },
        )?;
        if let (Some(d), Some(l)) = (digest, self.console.vehicle(target_system)) {
            let doc = l.authorization().document();
            if outcome.state.allows_identification() && !was_running {
                self.use_started_usec.insert(target_system, now_usec);
                if action == AuthzAction::UrgentStart {
                    self.audit.record(
                        now_usec,
                        AuditEvent::UrgentStarted {
                            authorization_digest: d,
                            senior_officer_id: actor.user_id.clone(),
                            justification: doc.urgent.as_ref().map(|u| u.justification.clone()).unwrap_or_default(),
                            deadline_usec: l.urgent_deadline_usec().unwrap_or(0),
                        },
                    )?;
                }
                self.audit.record(
                    now_usec,
                    AuditEvent::UseStarted {
                        authorization_digest: d,
                        decision_id: doc.decision_id.clone(),
                        designated_subject_ids: doc.designated_subject_ids().iter().map(|s| s.to_string()).collect(),
                        urgent: doc.is_urgent(),
                        started_by: who.clone(),
                    },
                )?;
            }
            if was_running && !outcome.state.allows_identification() {
                let reason = match action {
                    AuthzAction::Revoke => UseEndReason::Revoked,
                    AuthzAction::UrgentRefused => UseEndReason::Refused,
                    _ => UseEndReason::Stopped,
                };
                self.audit.record(
                    now_usec,
                    AuditEvent::UseEnded {
                        authorization_digest: d,
                        started_usec: self.use_started_usec.remove(&target_system).unwrap_or(now_usec),
                        ended_usec: now_usec,
                        reason,
                    },
                )?;
            }
            if action == AuthzAction::UrgentApplied {
                self.audit.record(
                    now_usec,
                    AuditEvent::UrgentApplicationRecorded {
                        authorization_digest: d,
                        recorded_by: actor.user_id.clone(),
                    },
                )?;
            }
        }
        if let Some(order) = &outcome.deletion {
            self.audit.record(
                now_usec,
                AuditEvent::UrgentRefused {
                    authorization_digest: order.authorization_digest,
                    recorded_by: actor.user_id.clone(),
                },
            )?;
            let deleted = self.delete_use(world, order)?;
            self.last_deletion = Some(deleted.clone());
            self.audit.record(
                now_usec,
                AuditEvent::DeletionReceipt {
                    authorization_digest: order.authorization_digest,
                    decision_id: order.decision_id.clone(),
                    site: deleted.receipt_site(),
                    not_found: deleted.files.not_found_counts(),
                    problems: deleted.files.problems,
                    deleted: deleted.deleted,
                    payloads: deleted.payloads,
                },
            )?;
            self.audit.checkpoint(now_usec)?;
        }
        // Pending until the drone's UTKIK_AUTHZ_STATUS echoes the request id; resent meanwhile,
        // also by a restarted station (`crate::restore`), so the command as sent is logged.
        let message = MavMessage::UTKIK_AUTHZ_COMMAND(outcome.message.clone());
        self.audit.record(
            now_usec,
            AuditEvent::AuthzCommandSent {
                system_id: target_system,
                request_id: outcome.message.request_id,
                command: action.name().into(),
                frame_hex: frame_hex(255, 190, &message),
            },
        )?;
        world
            .commands
            .sent(target_system, &outcome.message, now_usec as f64 / 1e6);
        Ok(MavMessage::UTKIK_AUTHZ_COMMAND(outcome.message))
    }

    /// Deletes every match, evidence crop (in memory and in the payload store) and alert of the
    /// use at the ground, has the link cut the use out of its tlog recordings, and deletes the
    /// viewing files, exports and reports the audit log records as holding the use (a report
    /// whole). Templates never reach the ground, so their count is 0 here. Files that cannot be
    /// deleted do not stop the refusal: they are named in the receipt.
    fn delete_use(&mut self, world: &mut World, order: &DeletionOrder) -> Result<GroundDeletion, OpsError> {
        let rule = RedactRule::for_digest(&order.authorization_digest.0);
        let digest_prefix = rule.digest_prefix;
        let gone = world.alerts.delete_use(&digest_prefix);
        let mut payloads = Vec::new();
        let mut crops = gone.transfers;
        for a in &gone.alerts {
            if a.evidence_jpeg.is_some() {
                crops += 1;
            }
            if let Some(Some(p)) = self.logged_matches.remove(&(a.system_id, a.alert_id)) {
                self.audit.delete_payload(&p)?;
                payloads.push(p);
            }
        }
        let n = gone.alerts.len() as u64;
        let recordings = self.redact_recordings(RedactRequest {
            rule,
            since_usec: order.urgent_started_usec,
        });
        let mut deleted = vec![
            DeletedCount {
                kind: UseDataKind::Templates,
                count: 0,
            },
            DeletedCount {
                kind: UseDataKind::Matches,
                count: n,
            },
            DeletedCount {
                kind: UseDataKind::EvidenceCrops,
                count: crops,
            },
            DeletedCount {
                kind: UseDataKind::AlertRecords,
                count: n,
            },
        ];
        if let RecordingsRedaction::Redacted { dropped, .. } = &recordings {
            deleted.push(DeletedCount {
                kind: UseDataKind::RecordedMessages,
                count: dropped.total(),
            });
        }
        let mut files = derived_files::delete_of_use(self.audit.path(), &digest_prefix);
        deleted.extend(files.deleted_counts());
        // An urgent use started here: the station's copy of its enrolment images.
        let audit_dir = self.audit.path().parent().unwrap_or(Path::new(".")).to_path_buf();
        let (images, problems) = crate::urgent::delete_enrolment_copies(&audit_dir, &order.authorization_digest);
        deleted.push(DeletedCount {
            kind: UseDataKind::EnrolmentImages,
            count: images,
        });
        files.problems.extend(problems);
        Ok(GroundDeletion {
            deleted,
            payloads,
            recordings,
            files,
        })
    }

    /// Asks the redactor (if any) to cut the use out of the recordings. Never fails the refusal:
    /// the use must stop and the rest be deleted whatever happens here; the outcome goes into the
    /// receipt.
    fn redact_recordings(&self, request: RedactRequest) -> RecordingsRedaction {
        let Some(redactor) = &self.redactor else {
            return RecordingsRedaction::NoRedactor;
        };
        match redactor.redact(request) {
            Ok(report) => {
                let mut problems: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
                let kept = report.damaged_bytes_kept();
                if kept > 0 {
                    problems.push(format!(
                        "{kept} damaged bytes that no reader can parse were kept as they were"
                    ));
                }
                for p in &problems {
                    tracing::warn!("tlog redaction: {p}");
                }
                RecordingsRedaction::Redacted {
                    dropped: report.dropped,
                    files_rewritten: report.files_rewritten(),
                    problems,
                }
            }
            Err(e) => {
                tracing::error!("tlog redaction: {e}");
                RecordingsRedaction::Failed(e.to_string())
            }
        }
    }

    /// Searches plate reads for `query` (part of a plate; upper case, spaces and dashes
    /// ignored): the plates of the tracks on the map now and, when the station keeps them, the
    /// stored non-hit reads. LAW.md section 7: only a signed-in user whose role allows it, only
    /// with a stated `reason`, and every search is an audit record (who, the query, the reason,
    /// how many reads it returned) written *before* the results are shown: if the record cannot
    /// be written, nothing is returned.
    ///
    /// # Errors
    /// Not signed in, role, no reason, the store, the audit log.
    pub fn search_reads(
        &mut self,
        world: &World,
        query: &str,
        reason: &str,
        now_usec: u64,
    ) -> Result<ReadSearch, OpsError> {
        let actor = self.session.require(Permission::SearchStoredReads)?.clone();
        let reason = reason.trim();
        if reason.chars().count() < MIN_SEARCH_REASON_CHARS {
            return Err(OpsError::SearchReason);
        }
        let q = crate::stored_reads::normalize_query(query);
        let live: Vec<(TrackKey, String)> = world
            .tracks
            .iter()
            .filter_map(|t| t.plate.as_ref().filter(|p| !p.is_empty()).map(|p| (t.key, p.clone())))
            .filter(|(_, p)| q.chars().count() >= 2 && crate::stored_reads::normalize_query(p).contains(&q))
            .collect();
        let store_open = self.stored_reads.is_some();
        let stored = match self.stored_reads.as_mut() {
            Some(s) => s.search(&q, MAX_SEARCH_RESULTS, now_usec)?,
            None => Vec::new(),
        };
        self.audit.record(
            now_usec,
            AuditEvent::StoredReadSearch {
                user_id: actor.user_id,
                query: query.to_string(),
                results: (live.len() + stored.len()) as u64,
                reason: reason.to_string(),
            },
        )?;
        Ok(ReadSearch {
            live,
            stored,
            store_open,
        })
    }

    /// The movement history of a hit plate (`plate`, any spelling): its sightings from every
    /// source in time order. LAW.md section 7 as for stored reads: only a signed-in user whose
    /// role allows it (operator, senior officer), only with a stated `reason`, and every query is
    /// an audit record (`HitHistoryQuery`: who, the plate, the reason, how many sightings)
    /// written *before* the path is returned: if the record cannot be written, nothing is.
    ///
    /// # Errors
    /// Not signed in, role, no reason, no plate, no hit history at this station, the store, the
    /// audit log.
    pub fn hit_history(
        &mut self,
        plate: &str,
        reason: &str,
        now_usec: u64,
    ) -> Result<crate::hit_history::HitPath, OpsError> {
        let actor = self.session.require(Permission::QueryHitHistory)?.clone();
        let reason = reason.trim();
        if reason.chars().count() < MIN_SEARCH_REASON_CHARS {
            return Err(OpsError::HistoryReason);
        }
        let store = self.hit_history.as_mut().ok_or(OpsError::NoHitHistory)?;
        let typed = plate;
        let plate = utkik_shared::plate::normalize(typed);
        if plate.is_empty() {
            return Err(OpsError::HistoryPlate(typed.to_string()));
        }
        let sightings = store.sightings_of(&plate, now_usec)?;
        self.audit.record(
            now_usec,
            AuditEvent::HitHistoryQuery {
                user_id: actor.user_id,
                plate: plate.clone(),
                reason: reason.to_string(),
                results: sightings.len() as u64,
            },
        )?;
        Ok(crate::hit_history::HitPath { plate, sightings })
    }
}
