//! Who gave a command, checked on the drone (LAW.md 4.5). The gate already knows the frame came
//! from the ground station (link signature, replay window) and is about the loaded document;
//! this module decides whether the *people* who signed it may give it: their keys and roles
//! come from the drone's own trust store (`gate.trust_store`), never from the ground
//! (`utkik_shared::authz::command_signature` has the signed bytes and the role rules).
//!
//! It also bounds how old a user-signed command may be. The link's replay window refuses a frame
//! seen before, but someone holding the link key (a compromised station) could wrap a senior
//! officer's old signed ACTIVATE in a new frame after a STOP. So a command's `time_usec` must be
//! within [`MAX_COMMAND_AGE_S`] of the drone's clock (and at most [`MAX_COMMAND_AHEAD_S`] ahead of
//! it), and a starting or deciding command must be newer than the last one accepted since the
//! onboard started. The age bound leaves room for a two-operator activation: the second operator
//! signs in and co-signs after the first signed out.

use utkik_shared::authz::command_signature::{check_roles, verify_command};
use utkik_shared::authz::{Authorization, TrustStore, TrustedUser};
use utkik_shared::dialect::{UTKIK_AUTHZ_COMMAND_DATA, UtkikAuthzCommand};

pub use utkik_shared::authz::command_signature::{MAX_COMMAND_AGE_S, MAX_COMMAND_AHEAD_S};

/// The users who signed a command (first the one named in `operator_id`), with the trust store's
/// roles.
pub type Signers = Vec<TrustedUser>;

/// What the drone holds to check commands: the trust store's crew keys and the newest accepted
/// time of a command that needs a user's signature.
#[derive(Debug, Clone)]
pub struct CommandAuth {
    trust: TrustStore,
    newest_accepted_usec: u64,
}

impl CommandAuth {
    /// Checks against `trust` (the trust store the gate loaded).
    pub fn new(trust: TrustStore) -> Self {
        Self {
            trust,
            newest_accepted_usec: 0,
        }
    }

    /// Whether the command's user signatures verify, are fresh and the signers' roles allow it
    /// for `doc` at `now_usec`; the signers. Nothing is remembered until [`Self::accepted`].
    ///
    /// # Errors
    /// The reason, for the audit record (names the field or the role rule).
    /// `doc` is `None` when the drone has no authorization loaded: then only a STOP gets this far,
    /// and a STOP needs no document (it always stops).
    pub fn check(
        &self,
        cmd: &UTKIK_AUTHZ_COMMAND_DATA,
        doc: Option<&Authorization>,
        now_usec: u64,
    ) -> Result<Signers, String> {
        if self.trust.users().next().is_none() {
            return Err(
                "gate.trust_store lists no crew keys (`users`, format utkik-trust-store/2): no user signature can be checked"
                    .into(),
            );
        }
        let signers = verify_command(&self.trust, cmd).map_err(|e| e.to_string())?;
        let oldest = now_usec.saturating_sub(MAX_COMMAND_AGE_S * 1_000_000);
        let newest = now_usec.saturating_add(MAX_COMMAND_AHEAD_S * 1_000_000);
        if cmd.time_usec < oldest || cmd.time_usec > newest {
            return Err(format!(
                "field `time_usec`: {} us is not within {MAX_COMMAND_AGE_S} s before to {MAX_COMMAND_AHEAD_S} s after the drone's clock {now_usec} us (an old signed command sent again?)",
                cmd.time_usec
            ));
        }
        if cmd.command != UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP && cmd.time_usec <= self.newest_accepted_usec {
            return Err(format!(
                "field `time_usec`: {} us is not after the last accepted command's {} us (an old signed command sent again?)",
                cmd.time_usec, self.newest_accepted_usec
            ));
        }
        match doc {
            Some(doc) => check_roles(cmd.command, &signers, doc).map_err(|e| e.to_string())?,
            None if cmd.command == UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP => {}
            None => return Err("no authorization loaded".into()),
        }
        Ok(signers.into_iter().cloned().collect())
    }

    /// The command was carried out: older ones are refused from now on.
    pub fn accepted(&mut self, cmd: &UTKIK_AUTHZ_COMMAND_DATA) {
        if cmd.command != UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP {
            self.newest_accepted_usec = self.newest_accepted_usec.max(cmd.time_usec);
        }
    }
}

/// The signers as the audit log names them (`anna` or `anna + bertil`, as the ground writes it).
pub fn signers_text(signers: &[TrustedUser]) -> String {
    utkik_shared::authz::command_signature::signers_text(signers.iter().map(|u| u.user_id.as_str()))
}
