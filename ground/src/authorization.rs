//! The ground side of the authorization (LAW.md sections 2-4): load and verify a signed document
//! against the trust store (refusals name the field), mirror its lifecycle, and turn the
//! operator's activate / revoke / stop / urgent buttons into UTKIK_AUTHZ_COMMAND messages carrying
//! the document digest, each checked against the signed-in user's role first. The drone enforces
//! the same machine with its own clock; this copy is what the operator sees and what the ground
//! audit log records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use utkik_shared::authz::{
    Actor, AuthzDigest, AuthzError, AuthzState, DeletionOrder, Lifecycle, TransitionError, TrustStore, authorize_file,
};
use utkik_shared::dialect::{UTKIK_AUTHZ_COMMAND_DATA, UtkikAuthzCommand};

use crate::auth::Permission;
use crate::auth::permissions::actor_allows;
use crate::auth::session::{SessionError, not_permitted};

/// An operator action on the authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthzAction {
    /// Activate a permit.
    Activate,
    /// Revoke (final).
    Revoke,
    /// Stop identification at once (may be resumed).
    Stop,
    /// Start urgent use (senior officer).
    UrgentStart,
    /// Record that the permit application for the urgent use was submitted.
    UrgentApplied,
    /// Record that the permit was refused: stop and delete everything of the use.
    UrgentRefused,
}

impl AuthzAction {
    /// The role permission it needs.
    pub fn permission(self) -> Permission {
        match self {
            AuthzAction::Activate => Permission::ActivateAuthorization,
            AuthzAction::Revoke => Permission::RevokeAuthorization,
            AuthzAction::Stop => Permission::StopIdentification,
            AuthzAction::UrgentStart => Permission::StartUrgent,
            AuthzAction::UrgentApplied | AuthzAction::UrgentRefused => Permission::RecordUrgentDecision,
        }
    }

    /// The MAVLink command.
    pub fn mavlink(self) -> UtkikAuthzCommand {
        match self {
            AuthzAction::Activate => UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE,
            AuthzAction::Revoke => UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_REVOKE,
            AuthzAction::Stop => UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP,
            AuthzAction::UrgentStart => UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
            AuthzAction::UrgentApplied => UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_APPLIED,
            AuthzAction::UrgentRefused => UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_REFUSED,
        }
    }

    /// Name as in UTKIK_AUTHZ_COMMAND (for the audit log).
    pub fn name(self) -> &'static str {
        match self {
            AuthzAction::Activate => "ACTIVATE",
            AuthzAction::Revoke => "REVOKE",
            AuthzAction::Stop => "STOP",
            AuthzAction::UrgentStart => "URGENT_START",
            AuthzAction::UrgentApplied => "URGENT_APPLIED",
            AuthzAction::UrgentRefused => "URGENT_REFUSED",
        }
    }
}

/// A command that is refused; nothing is sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommandError {
    /// No verified authorization is loaded.
    #[error("no verified authorization is loaded")]
    NoAuthorization,
    /// The user's role does not allow it.
    #[error(transparent)]
    Role(#[from] SessionError),
    /// The lifecycle does not allow it (names the field where it is about the document).
    #[error(transparent)]
    Transition(#[from] TransitionError),
}

/// A document that failed to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFailure {
    /// The file.
    pub path: PathBuf,
    /// The field the refusal names.
    pub field: String,
    /// The whole message.
    pub message: String,
}

/// What a command did.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandOutcome {
    /// The message for the drone.
    pub message: UTKIK_AUTHZ_COMMAND_DATA,
    /// The mirrored state after it.
    pub state: AuthzState,
    /// For a refused urgent use: what must be deleted.
    pub deletion: Option<DeletionOrder>,
}

/// The station's authorizations: the document it loaded last and, for each vehicle, the mirrored
/// lifecycle of the authorization that vehicle flies under (issue 19: a station commands several
/// drones, and identification runs on each only under its own activation, LAW.md 2-4).
///
/// A vehicle takes the loaded document when it is first commanded, and again when a use is
/// started on it (ACTIVATE, URGENT_START) after another document was loaded and its own use is
/// not running. A running use keeps its document until it is stopped, so STOP, REVOKE and the
/// urgent decisions always name what runs on that vehicle.
#[derive(Debug, Default)]
pub struct AuthzConsole {
    /// The verified document loaded last, in the state it was loaded in: what the next use on a
    /// vehicle starts under.
    pub document: Option<Lifecycle>,
    /// Each commanded vehicle's mirrored lifecycle, by system id.
    pub vehicles: BTreeMap<u8, Lifecycle>,
    /// Where the document came from.
    pub path: Option<PathBuf>,
    /// The last load refusal (shown in the panel).
    pub failure: Option<LoadFailure>,
    next_request_id: u16,
}

/// `operator_id` field: the user id, NUL padded (user ids are at most 16 bytes).
pub fn operator_id_bytes(user_id: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (d, s) in out.iter_mut().zip(user_id.bytes()) {
        *d = s;
    }
    out
}

impl AuthzConsole {
    /// Nothing loaded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads and verifies `path` against `trust` at `now_usec`. On a refusal no document stays
    /// loaded and [`AuthzConsole::failure`] names the field; the vehicles' uses are untouched
    /// either way (a running one is stopped on its vehicle, never by loading another file).
    ///
    /// # Errors
    /// The refusal.
    pub fn load(&mut self, path: &Path, trust: &TrustStore, now_usec: u64) -> Result<AuthzDigest, AuthzError> {
        self.document = None;
        self.path = Some(path.to_path_buf());
        match authorize_file(path, trust, now_usec) {
            Ok(v) => {
                self.failure = None;
                let l = Lifecycle::new(v, now_usec);
                let d = l.digest();
                self.document = Some(l);
                Ok(d)
            }
            Err(e) => {
                self.failure = Some(LoadFailure {
                    path: path.to_path_buf(),
                    field: e.field().to_string(),
                    message: e.to_string(),
                });
                Err(e)
            }
        }
    }

    /// After a restart (`crate::restore`): request ids continue after the highest one this
    /// station used, so the drone never takes a new command for a resend of an old one.
    pub fn continue_request_ids_after(&mut self, last_request_id: u16) {
        self.next_request_id = last_request_id;
    }

    /// The loaded document's digest.
    pub fn digest(&self) -> Option<AuthzDigest> {
        self.document.as_ref().map(Lifecycle::digest)
    }

    /// The mirrored lifecycle of `system_id`'s authorization, once it was commanded.
    pub fn vehicle(&self, system_id: u8) -> Option<&Lifecycle> {
        self.vehicles.get(&system_id)
    }

    /// `system_id`'s mirrored state, once it was commanded.
    pub fn state_of(&self, system_id: u8) -> Option<AuthzState> {
        self.vehicle(system_id).map(Lifecycle::state)
    }

    /// Whether identification runs on `system_id` (as mirrored here).
    pub fn running_on(&self, system_id: u8) -> bool {
        self.state_of(system_id).is_some_and(AuthzState::allows_identification)
    }

    /// Moves every vehicle's mirror on to `now_usec` (windows and urgent deadlines end).
    pub fn tick(&mut self, now_usec: u64) {
        for l in self.vehicles.values_mut() {
            l.tick(now_usec);
        }
    }

    /// Whether `action` on `system_id` goes by the loaded document rather than the vehicle's
    /// own mirror: a vehicle never commanded, or a use started on a vehicle whose own use is not
    /// running after another document was loaded.
    fn takes_document(&self, system_id: u8, action: AuthzAction) -> bool {
        match self.vehicles.get(&system_id) {
            None => true,
            Some(own) => {
                matches!(action, AuthzAction::Activate | AuthzAction::UrgentStart)
                    && !own.state().allows_identification()
                    && self.document.as_ref().is_some_and(|d| d.digest() != own.digest())
            }
        }
    }

    /// The lifecycle `action` on `system_id` acts on (a copy; [`Self::commit`] keeps it).
    pub(crate) fn lifecycle_for(&self, system_id: u8, action: AuthzAction) -> Option<Lifecycle> {
        if self.takes_document(system_id, action) {
            self.document.clone()
        } else {
            self.vehicles.get(&system_id).cloned()
        }
    }

    /// Keeps `lifecycle` as `system_id`'s mirror.
    pub(crate) fn commit(&mut self, system_id: u8, lifecycle: Lifecycle) {
        self.vehicles.insert(system_id, lifecycle);
    }

    /// The digest `action` on `system_id` would carry (None: nothing loaded for it).
    pub fn digest_for(&self, system_id: u8, action: AuthzAction) -> Option<AuthzDigest> {
        if self.takes_document(system_id, action) {
            self.digest()
        } else {
            self.vehicles.get(&system_id).map(Lifecycle::digest)
        }
    }

    /// The full digest whose first 16 bytes are `prefix` (as in UTKIK_BIOMETRIC_MATCH), when it is
    /// the loaded document's or a vehicle's; otherwise the prefix padded with zeros.
    pub fn resolve_digest(&self, prefix: &[u8; 16]) -> AuthzDigest {
        let known = self
            .document
            .iter()
            .chain(self.vehicles.values())
            .map(Lifecycle::digest)
            .find(|d| d.0[..16] == prefix[..]);
        known.unwrap_or_else(|| {
            let mut b = [0u8; 32];
            b[..16].copy_from_slice(prefix);
            AuthzDigest(b)
        })
    }

    /// Carries out `action` for `actor` on the mirrored lifecycle and returns the message to send.
    /// STOP works with nothing loaded (digest zeros: stop any).
    ///
    /// # Errors
    /// Role, state or document refusals; nothing changes and nothing is to be sent.
    pub fn command(
        &mut self,
        actor: &Actor,
        action: AuthzAction,
        target_system: u8,
        now_usec: u64,
    ) -> Result<CommandOutcome, CommandError> {
        self.run(actor, action, target_system, now_usec, None)
    }

    /// The message `action` by `actor` would send, with its own request id, without changing the
    /// mirrored lifecycle: a two-operator activation proposed by the first operator, carried out
    /// with [`Self::command_prepared`] once a second operator co-signed it (LAW.md 4.5).
    ///
    /// # Errors
    /// As [`Self::command`] (checked on a copy of the lifecycle).
    pub fn prepare(
        &mut self,
        actor: &Actor,
        action: AuthzAction,
        target_system: u8,
        now_usec: u64,
    ) -> Result<UTKIK_AUTHZ_COMMAND_DATA, CommandError> {
        let (out, _) = self.transition(actor, action, target_system, now_usec, None)?;
        Ok(out.message)
    }

    /// Carries out a command prepared with [`Self::prepare`] (its request id and time, as signed)
    /// for `actor` (who proposed it) on the mirrored lifecycle at `now_usec`.
    ///
    /// # Errors
    /// As [`Self::command`].
    pub fn command_prepared(
        &mut self,
        actor: &Actor,
        action: AuthzAction,
        message: UTKIK_AUTHZ_COMMAND_DATA,
        now_usec: u64,
    ) -> Result<CommandOutcome, CommandError> {
        self.run(actor, action, message.target_system, now_usec, Some(message))
    }

    fn run(
        &mut self,
        actor: &Actor,
        action: AuthzAction,
        target_system: u8,
        now_usec: u64,
        prepared: Option<UTKIK_AUTHZ_COMMAND_DATA>,
    ) -> Result<CommandOutcome, CommandError> {
        let (out, lifecycle) = self.transition(actor, action, target_system, now_usec, prepared)?;
        if let Some(l) = lifecycle {
            self.commit(target_system, l);
        }
        Ok(out)
    }

    /// The command and the target's lifecycle after it, changing nothing here but the request id.
    fn transition(
        &mut self,
        actor: &Actor,
        action: AuthzAction,
        target_system: u8,
        now_usec: u64,
        prepared: Option<UTKIK_AUTHZ_COMMAND_DATA>,
    ) -> Result<(CommandOutcome, Option<Lifecycle>), CommandError> {
        if !actor_allows(actor, action.permission()) {
            return Err(not_permitted(actor, action.permission()).into());
        }
        let mut deletion = None;
        let mut lifecycle = self.lifecycle_for(target_system, action);
        let (state, digest) = match (&mut lifecycle, action) {
            (None, AuthzAction::Stop) => (AuthzState::Stopped, [0u8; 32]),
            (None, _) => return Err(CommandError::NoAuthorization),
            (Some(l), _) => {
                let state = match action {
                    AuthzAction::Activate => l.activate(actor, now_usec)?,
                    AuthzAction::Revoke => l.revoke(now_usec)?,
                    AuthzAction::Stop => l.stop(now_usec),
                    AuthzAction::UrgentStart => l.start_urgent(actor, now_usec)?,
                    AuthzAction::UrgentApplied => l.record_application(now_usec)?,
                    AuthzAction::UrgentRefused => {
                        deletion = Some(l.refuse(now_usec)?);
                        l.state()
                    }
                };
                (state, l.digest().0)
            }
        };
        if let Some(message) = prepared {
            let out = CommandOutcome {
                message,
                state,
                deletion,
            };
            return Ok((out, lifecycle));
        }
        self.next_request_id = self.next_request_id.wrapping_add(1);
        let out = CommandOutcome {
            message: UTKIK_AUTHZ_COMMAND_DATA {
                time_usec: now_usec,
                target_system,
                target_component: 0,
                request_id: self.next_request_id,
                command: action.mavlink(),
                authorization_digest: digest,
                operator_id: operator_id_bytes(&actor.user_id).into(),
                ..UTKIK_AUTHZ_COMMAND_DATA::DEFAULT
            },
            state,
            deletion,
        };
        Ok((out, lifecycle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::authz::Role;

    fn repo(p: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
    }

    fn trust() -> TrustStore {
        TrustStore::from_json(&std::fs::read(repo("assets/authz/demo-trust-store.json")).unwrap()).unwrap()
    }

    /// 2027-01-01, inside the demo document's window.
    const NOW_USEC: u64 = 1_798_761_600_000_000;

    fn loaded() -> AuthzConsole {
        let mut c = AuthzConsole::new();
        c.load(&repo("assets/authz/person-search.authz.json"), &trust(), NOW_USEC)
            .unwrap();
        c
    }

    #[test]
    fn demo_document_loads_and_activates_with_its_digest() {
        let mut c = loaded();
        let digest = c.digest().unwrap();
        let anna = Actor::new("anna", [Role::Operator]);
        let out = c.command(&anna, AuthzAction::Activate, 1, NOW_USEC).unwrap();
        assert_eq!(out.state, AuthzState::Active);
        assert_eq!(out.message.authorization_digest, digest.0);
        assert_eq!(out.message.command, UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE);
        assert_eq!(&out.message.operator_id[..4], b"anna");
        let stop = c.command(&anna, AuthzAction::Stop, 1, NOW_USEC + 1).unwrap();
        assert_eq!(stop.state, AuthzState::Stopped);
        assert_ne!(stop.message.request_id, out.message.request_id);
    }

    #[test]
    fn tampered_document_is_refused_naming_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(repo("assets/authz/person-search.authz.json")).unwrap();
        let tampered = text.replacen("\"lat_deg\": 59.393", "\"lat_deg\": 59.390", 1);
        assert_ne!(text, tampered);
        let p = dir.path().join("t.json");
        std::fs::write(&p, tampered).unwrap();
        let mut c = AuthzConsole::new();
        let err = c.load(&p, &trust(), NOW_USEC).unwrap_err();
        assert_eq!(err.field(), "signature_ed25519_hex", "{err}");
        assert!(c.document.is_none(), "nothing stays loaded");
        assert_eq!(c.failure.as_ref().unwrap().field, "signature_ed25519_hex");
        // A malformed field is named by its path.
        let bad = text.replacen("\"find_victims\"", "\"general_surveillance\"", 1);
        std::fs::write(&p, bad).unwrap();
        let err = c.load(&p, &trust(), NOW_USEC).unwrap_err();
        assert_eq!(err.field(), "document.purpose", "{err}");
        // Untrusted issuer: an empty trust store.
        let err = c
            .load(
                &repo("assets/authz/person-search.authz.json"),
                &TrustStore::new(),
                NOW_USEC,
            )
            .unwrap_err();
        assert_eq!(err.field(), "document.issuer.key_id", "{err}");
    }

    #[test]
    fn roles_are_checked_before_anything_is_sent() {
        let mut c = loaded();
        for (who, action) in [
            (Actor::new("eva", [Role::Auditor]), AuthzAction::Activate),
            (Actor::new("eva", [Role::Auditor]), AuthzAction::Stop),
            (Actor::new("david", [Role::Pilot]), AuthzAction::Activate),
            (Actor::new("anna", [Role::Operator]), AuthzAction::Revoke),
            (Actor::new("anna", [Role::Operator]), AuthzAction::UrgentStart),
        ] {
            assert!(
                matches!(c.command(&who, action, 1, NOW_USEC), Err(CommandError::Role(_))),
                "{who:?} {action:?}"
            );
        }
        assert_eq!(c.state_of(1), None, "no vehicle commanded");
        assert_eq!(c.document.as_ref().unwrap().state(), AuthzState::Pending);
        let pilot = Actor::new("david", [Role::Pilot]);
        c.command(
            &Actor::new("anna", [Role::Operator]),
            AuthzAction::Activate,
            1,
            NOW_USEC,
        )
        .unwrap();
        assert_eq!(
            c.command(&pilot, AuthzAction::Stop, 1, NOW_USEC).unwrap().state,
            AuthzState::Stopped,
            "the pilot may always stop"
        );
        let senior = Actor::new("cecilia", [Role::SeniorOfficer]);
        c.command(&senior, AuthzAction::Revoke, 1, NOW_USEC).unwrap();
        assert!(matches!(
            c.command(&senior, AuthzAction::Activate, 1, NOW_USEC),
            Err(CommandError::Transition(_))
        ));
    }

    /// The demo document with another decision id, signed with the DEMO prosecutor key: a second
    /// authorization for another drone.
    fn second_document(dir: &Path) -> PathBuf {
        use utkik_shared::authz::SignedAuthorization;
        use utkik_shared::authz::signing_key::IssuerSigningKey;
        let text = std::fs::read(repo("assets/authz/person-search.authz.json")).unwrap();
        let mut doc = SignedAuthorization::from_json(&text).unwrap().document;
        doc.decision_id = format!("{}-B", doc.decision_id);
        let key = IssuerSigningKey::load(&repo("assets/authz/DEMO-prosecutor.key.NOT-SECRET.json")).unwrap();
        let p = dir.join("second.authz.json");
        std::fs::write(&p, SignedAuthorization::sign(doc, &key.key).to_json_pretty()).unwrap();
        p
    }

    #[test]
    fn each_vehicle_has_its_own_use() {
        let mut c = loaded();
        let anna = Actor::new("anna", [Role::Operator]);
        c.command(&anna, AuthzAction::Activate, 1, NOW_USEC).unwrap();
        assert_eq!(c.state_of(1), Some(AuthzState::Active));
        assert_eq!(c.state_of(2), None, "drone 2 was never commanded");
        let two = c.command(&anna, AuthzAction::Activate, 2, NOW_USEC + 1).unwrap();
        assert_eq!(two.message.target_system, 2);
        assert_eq!(
            two.state,
            AuthzState::Active,
            "drone 2's activation does not wait for drone 1's"
        );
        let stop = c.command(&anna, AuthzAction::Stop, 1, NOW_USEC + 2).unwrap();
        assert_eq!(stop.message.target_system, 1);
        assert_eq!(c.state_of(1), Some(AuthzState::Stopped));
        assert_eq!(
            c.state_of(2),
            Some(AuthzState::Active),
            "stopping drone 1 leaves drone 2 running"
        );
        assert!(c.running_on(2) && !c.running_on(1));
        // A refused command changes nothing on its vehicle.
        let senior = Actor::new("cecilia", [Role::SeniorOfficer]);
        assert!(c.command(&senior, AuthzAction::UrgentStart, 1, NOW_USEC + 3).is_err());
        assert_eq!(c.state_of(1), Some(AuthzState::Stopped));
    }

    #[test]
    fn a_running_use_keeps_its_document_when_another_is_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = loaded();
        let first = c.digest().unwrap();
        let anna = Actor::new("anna", [Role::Operator]);
        c.command(&anna, AuthzAction::Activate, 1, NOW_USEC).unwrap();
        let second = c.load(&second_document(dir.path()), &trust(), NOW_USEC + 1).unwrap();
        assert_ne!(first, second);
        assert_eq!(c.digest(), Some(second));
        // Drone 2 starts under the new document; drone 1 still runs under the first.
        let two = c.command(&anna, AuthzAction::Activate, 2, NOW_USEC + 2).unwrap();
        assert_eq!(two.message.authorization_digest, second.0);
        assert_eq!(c.digest_for(1, AuthzAction::Stop), Some(first));
        let stop = c.command(&anna, AuthzAction::Stop, 1, NOW_USEC + 3).unwrap();
        assert_eq!(
            stop.message.authorization_digest, first.0,
            "STOP names what runs on drone 1"
        );
        // Once stopped, drone 1's next use starts under the document loaded now.
        assert_eq!(c.digest_for(1, AuthzAction::Activate), Some(second));
        let again = c.command(&anna, AuthzAction::Activate, 1, NOW_USEC + 4).unwrap();
        assert_eq!(again.message.authorization_digest, second.0);
        // A match under the first document still resolves to its full digest.
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&first.0[..16]);
        let mut c2 = loaded();
        c2.command(&anna, AuthzAction::Activate, 3, NOW_USEC).unwrap();
        c2.load(&second_document(dir.path()), &trust(), NOW_USEC + 1).unwrap();
        assert_eq!(
            c2.resolve_digest(&prefix),
            first,
            "vehicle 3 still runs the first document"
        );
    }

    #[test]
    fn a_prepared_command_changes_no_vehicle() {
        let mut c = loaded();
        let anna = Actor::new("anna", [Role::Operator]);
        let m = c.prepare(&anna, AuthzAction::Activate, 2, NOW_USEC).unwrap();
        assert_eq!(m.target_system, 2);
        assert_eq!(c.state_of(2), None, "a proposal is not carried out");
        // Carried out for its proposer once co-signed (GroundOps::cosign_activation).
        let out = c
            .command_prepared(&anna, AuthzAction::Activate, m.clone(), NOW_USEC + 1)
            .unwrap();
        assert_eq!(out.message, m);
        assert_eq!(c.state_of(2), Some(AuthzState::Active));
        assert_eq!(c.state_of(1), None);
    }
}
