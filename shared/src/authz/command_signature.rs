//! Who gave a command, proven to the drone (LAW.md 4.5). The MAVLink 2 link signature only says
//! that a frame came from a holder of the link key, i.e. from the ground station software; it
//! says nothing about the person at the keyboard. So each UTKIK_AUTHZ_COMMAND also carries the
//! ed25519 signature of the user who gave it (a key of their own, unlocked by their sign-in at
//! the station), and for a two-operator activation the co-signature of a second operator. The
//! drone looks both users up in its trust store ([`super::trust_store`]) and grants them the
//! roles the trust store names, never roles the ground claims.
//!
//! Both ends call this module: the ground to sign ([`sign_command`], [`cosign_command`]), the
//! drone to verify ([`verify_command`]) and to decide whether the signers' roles suffice
//! ([`check_roles`]). It is pure: no clock, no I/O.
//!
//! # What is signed
//! The first user signs [`COMMAND_TAG`] followed by the fields in a fixed order and width:
//! `target_system` (1 byte), `request_id` (u16 LE), `command` (1 byte), `authorization_digest`
//! (32), `time_usec` (u64 LE), `operator_id` (16, NUL padded). The domain tag keeps the
//! signature from meaning anything in another protocol that might reuse the key. The first
//! signer does not name the co-signer (at the station the second operator signs in after the
//! first signed out), so a co-signer signs [`COSIGN_TAG`], the same fields, the second
//! operator's id (16) and the first signature (64): the co-signature endorses exactly that
//! proposal and can be attached to no other.
//!
//! # Who may do what (checked on the drone)
//! - ACTIVATE of a permit: a senior officer, or two different operators (different user ids
//!   and different keys; the trust store refuses one key for two users). Each signer must also
//!   be allowed by the document (`authorized_users` or `authorized_roles`); the lifecycle checks
//!   the first, [`check_roles`] the second. Both ways are supported because both are cheap: a
//!   senior officer alone is the common case in the field, two operators the case when no
//!   senior officer is at the station.
//! - URGENT_START: a senior officer (no role is ever added by the drone).
//! - REVOKE, URGENT_APPLIED, URGENT_REFUSED: a senior officer (as at the ground).
//! - STOP: any crew member (pilot, operator, senior officer) with a valid signature is recorded
//!   as the one who stopped; but a STOP that is only link-signed still stops (the law prefers
//!   stopping; only starting identification needs a user's signature). The drone records the
//!   reason the user signature did not count.

/// The key type users sign with (re-exported so callers need no ed25519 dependency of their own).
pub use ed25519_dalek::SigningKey;
use ed25519_dalek::{Signature, Signer as _};

use super::actor::{Actor, Role};
use super::document::Authorization;
use super::trust_store::{TrustStore, TrustedUser};
use crate::dialect::{UTKIK_AUTHZ_COMMAND_DATA, UtkikAuthzCommand};

/// Oldest user-signed command the drone takes, s before its clock (a senior officer's genuine
/// old command wrapped in a new link frame is refused past this; the ground drops a two-operator
/// proposal older than this instead of sending what the drone would refuse).
pub const MAX_COMMAND_AGE_S: u64 = 600;
/// Farthest a command's time may be ahead of the drone's clock, s (clock differences).
pub const MAX_COMMAND_AHEAD_S: u64 = 60;

/// Domain-separation tag of the first (or only) user signature.
pub const COMMAND_TAG: &[u8] = b"utkik-authz-command/1\0";
/// Domain-separation tag of a second operator's co-signature.
pub const COSIGN_TAG: &[u8] = b"utkik-authz-cosign/1\0";

/// `operator_id`-style field: the user id, NUL padded (user ids are at most 16 bytes).
pub fn user_id_bytes(user_id: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (d, s) in out.iter_mut().zip(user_id.bytes()) {
        *d = s;
    }
    out
}

/// The user id in a NUL-padded field (bytes after the first NUL are ignored).
pub fn user_id_text(bytes: &[u8]) -> String {
    bytes.iter().take_while(|&&b| b != 0).map(|&b| b as char).collect()
}

fn fields_bytes(tag: &[u8], cmd: &UTKIK_AUTHZ_COMMAND_DATA) -> Vec<u8> {
    let mut out = Vec::with_capacity(tag.len() + 1 + 2 + 1 + 32 + 8 + 16 + 16 + 64);
    out.extend_from_slice(tag);
    out.push(cmd.target_system);
    out.extend_from_slice(&cmd.request_id.to_le_bytes());
    out.push(cmd.command as u8);
    out.extend_from_slice(&cmd.authorization_digest);
    out.extend_from_slice(&cmd.time_usec.to_le_bytes());
    out.extend_from_slice(&user_id_bytes(&user_id_text(&cmd.operator_id[..])));
    out
}

/// The bytes the first user signs (see the module doc).
pub fn signed_bytes(cmd: &UTKIK_AUTHZ_COMMAND_DATA) -> Vec<u8> {
    fields_bytes(COMMAND_TAG, cmd)
}

/// The bytes a second operator signs: the same fields, their own id and the first signature.
pub fn cosigned_bytes(cmd: &UTKIK_AUTHZ_COMMAND_DATA) -> Vec<u8> {
    let mut out = fields_bytes(COSIGN_TAG, cmd);
    out.extend_from_slice(&user_id_bytes(&user_id_text(&cmd.second_operator_id[..])));
    out.extend_from_slice(&cmd.user_signature);
    out
}

/// Signs the command as the user named in its `operator_id` (fills `user_signature`; clears any
/// co-signature, which would no longer fit).
pub fn sign_command(cmd: &mut UTKIK_AUTHZ_COMMAND_DATA, key: &SigningKey) {
    cmd.second_operator_id = [0u8; 16].into();
    cmd.second_signature = [0u8; 64];
    cmd.user_signature = key.sign(&signed_bytes(cmd)).to_bytes();
}

/// Adds a second operator's co-signature to a command the first user already signed.
pub fn cosign_command(cmd: &mut UTKIK_AUTHZ_COMMAND_DATA, second_user_id: &str, key: &SigningKey) {
    cmd.second_operator_id = user_id_bytes(second_user_id).into();
    cmd.second_signature = key.sign(&cosigned_bytes(cmd)).to_bytes();
}

/// Why a command's user signatures do not count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandSignatureError {
    /// `user_signature` is all zeros (a ground station that does not sign, or an attacker with
    /// the link key alone).
    #[error("field `user_signature`: the command carries no user signature")]
    NoUserSignature,
    /// The user is not in the drone's trust store.
    #[error("field `operator_id`: user `{user_id}` has no key in the drone's trust store")]
    UnknownUser {
        /// The id the command names.
        user_id: String,
    },
    /// The signature does not verify with the user's key (forged, another user's, or altered).
    #[error("field `user_signature`: not a valid signature of user `{user_id}` over this command")]
    BadSignature {
        /// The user.
        user_id: String,
    },
    /// The co-signer is not in the trust store.
    #[error("field `second_operator_id`: user `{user_id}` has no key in the drone's trust store")]
    UnknownSecondUser {
        /// The id the command names.
        user_id: String,
    },
    /// The co-signature does not verify.
    #[error("field `second_signature`: not a valid signature of user `{user_id}` over this command")]
    BadSecondSignature {
        /// The co-signer.
        user_id: String,
    },
    /// Both signatures name the same person.
    #[error("field `second_operator_id`: `{user_id}` cannot co-sign their own command")]
    SameUserTwice {
        /// The user.
        user_id: String,
    },
    /// A second operator is named but there is no co-signature (or the other way round).
    #[error("field `second_signature`: a second operator and a co-signature come together")]
    IncompleteCoSignature,
}

/// Checks the user signatures of `cmd` against the crew keys in `trust`; the users who signed,
/// first the one named in `operator_id`, with the roles the trust store gives them.
///
/// # Errors
/// [`CommandSignatureError`] naming the field.
pub fn verify_command<'a>(
    trust: &'a TrustStore,
    cmd: &UTKIK_AUTHZ_COMMAND_DATA,
) -> Result<Vec<&'a TrustedUser>, CommandSignatureError> {
    if cmd.user_signature.iter().all(|&b| b == 0) {
        return Err(CommandSignatureError::NoUserSignature);
    }
    let first_id = user_id_text(&cmd.operator_id[..]);
    let first = trust
        .user(&first_id)
        .ok_or_else(|| CommandSignatureError::UnknownUser {
            user_id: first_id.clone(),
        })?;
    let sig = Signature::from_bytes(&cmd.user_signature);
    first
        .key
        .verify_strict(&signed_bytes(cmd), &sig)
        .map_err(|_| CommandSignatureError::BadSignature {
            user_id: first_id.clone(),
        })?;
    let second_id = user_id_text(&cmd.second_operator_id[..]);
    let has_second_sig = cmd.second_signature.iter().any(|&b| b != 0);
    match (second_id.is_empty(), has_second_sig) {
        (true, false) => return Ok(vec![first]),
        (true, true) | (false, false) => return Err(CommandSignatureError::IncompleteCoSignature),
        (false, true) => {}
    }
    if second_id == first_id {
        return Err(CommandSignatureError::SameUserTwice { user_id: second_id });
    }
    let second = trust
        .user(&second_id)
        .ok_or_else(|| CommandSignatureError::UnknownSecondUser {
            user_id: second_id.clone(),
        })?;
    let sig2 = Signature::from_bytes(&cmd.second_signature);
    second
        .key
        .verify_strict(&cosigned_bytes(cmd), &sig2)
        .map_err(|_| CommandSignatureError::BadSecondSignature { user_id: second_id })?;
    Ok(vec![first, second])
}

/// Why the signers' roles do not suffice for a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleRefusal {
    /// ACTIVATE without a senior officer or a second operator.
    #[error(
        "role: activating a permit needs a senior officer or two different operators; {signers} signed (roles from the drone's trust store)"
    )]
    ActivationNeedsSeniorOrTwoOperators {
        /// Who signed, with roles.
        signers: String,
    },
    /// A command that only a senior officer gives.
    #[error("role: {command} needs a senior officer; {signers} signed (roles from the drone's trust store)")]
    NeedsSeniorOfficer {
        /// The command.
        command: &'static str,
        /// Who signed, with roles.
        signers: String,
    },
    /// A signer the document does not authorize.
    #[error("field `document.authorized_users`: user `{user_id}` is not authorized by this decision")]
    NotAuthorizedByDocument {
        /// The user.
        user_id: String,
    },
    /// STOP by someone who is not crew (an auditor): recorded; the STOP is carried out anyway.
    #[error("role: user `{user_id}` holds no crew role (pilot, operator, senior officer)")]
    NotCrew {
        /// The user.
        user_id: String,
    },
}

fn describe(signers: &[&TrustedUser]) -> String {
    signers
        .iter()
        .map(|u| {
            let roles: Vec<String> = u.roles.iter().map(|r| format!("{r:?}")).collect();
            format!("`{}` ({})", u.user_id, roles.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The short name of a command (as the audit log writes it).
pub fn command_name(command: UtkikAuthzCommand) -> &'static str {
    use UtkikAuthzCommand as C;
    match command {
        C::UTKIK_AUTHZ_COMMAND_ACTIVATE => "ACTIVATE",
        C::UTKIK_AUTHZ_COMMAND_REVOKE => "REVOKE",
        C::UTKIK_AUTHZ_COMMAND_STOP => "STOP",
        C::UTKIK_AUTHZ_COMMAND_URGENT_START => "URGENT_START",
        C::UTKIK_AUTHZ_COMMAND_URGENT_REFUSED => "URGENT_REFUSED",
        C::UTKIK_AUTHZ_COMMAND_URGENT_APPLIED => "URGENT_APPLIED",
    }
}

/// Whether the document lets this user act on it (named, or one of its roles listed).
pub fn authorized_by_document(doc: &Authorization, user: &TrustedUser) -> bool {
    doc.authorized_users.contains(&user.user_id) || user.roles.iter().any(|r| doc.authorized_roles.contains(r))
}

/// Whether the verified signers may give `command` about `doc` (see the module doc).
///
/// # Errors
/// [`RoleRefusal`] naming who signed with which roles.
pub fn check_roles(
    command: UtkikAuthzCommand,
    signers: &[&TrustedUser],
    doc: &Authorization,
) -> Result<(), RoleRefusal> {
    use UtkikAuthzCommand as C;
    let has = |u: &&TrustedUser, r: Role| u.roles.contains(&r);
    let senior = signers.iter().any(|u| has(u, Role::SeniorOfficer));
    match command {
        C::UTKIK_AUTHZ_COMMAND_STOP => match signers
            .iter()
            .find(|u| !(has(u, Role::Pilot) || has(u, Role::Operator) || has(u, Role::SeniorOfficer)))
        {
            Some(u) => Err(RoleRefusal::NotCrew {
                user_id: u.user_id.clone(),
            }),
            None => Ok(()),
        },
        C::UTKIK_AUTHZ_COMMAND_ACTIVATE => {
            let operators = signers
                .iter()
                .filter(|u| has(u, Role::Operator) || has(u, Role::SeniorOfficer))
                .count();
            // `verify_command` returns at most two signers, with different ids and (trust store)
            // different keys.
            if !(senior || operators >= 2) {
                return Err(RoleRefusal::ActivationNeedsSeniorOrTwoOperators {
                    signers: describe(signers),
                });
            }
            match signers.iter().find(|u| !authorized_by_document(doc, u)) {
                Some(u) => Err(RoleRefusal::NotAuthorizedByDocument {
                    user_id: u.user_id.clone(),
                }),
                None => Ok(()),
            }
        }
        C::UTKIK_AUTHZ_COMMAND_URGENT_START
        | C::UTKIK_AUTHZ_COMMAND_REVOKE
        | C::UTKIK_AUTHZ_COMMAND_URGENT_APPLIED
        | C::UTKIK_AUTHZ_COMMAND_URGENT_REFUSED => {
            // The first signer gives the command; a co-signature adds nothing here.
            if signers.first().is_some_and(|u| has(u, Role::SeniorOfficer)) {
                Ok(())
            } else {
                Err(RoleRefusal::NeedsSeniorOfficer {
                    command: command_name(command),
                    signers: describe(signers),
                })
            }
        }
    }
}

/// The signers as the audit logs name them (`anna`, or `anna + bertil` for a co-signed command);
/// both ends write this text, so the drone's and the ground's records of one use agree.
pub fn signers_text<'a>(user_ids: impl IntoIterator<Item = &'a str>) -> String {
    user_ids.into_iter().collect::<Vec<_>>().join(" + ")
}

/// The signer as the lifecycle sees it: the trust store's roles, not the ground's.
pub fn actor_of(user: &TrustedUser) -> Actor {
    Actor::new(user.user_id.clone(), user.roles.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::trust_store::TrustedUser;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn store() -> TrustStore {
        let mut s = TrustStore::new();
        for (id, roles, seed) in [
            ("anna", vec![Role::Operator], 1),
            ("bertil", vec![Role::Operator], 2),
            ("cecilia", vec![Role::SeniorOfficer], 3),
            ("david", vec![Role::Pilot], 4),
            ("eva", vec![Role::Auditor], 5),
        ] {
            s.insert_user(TrustedUser {
                user_id: id.into(),
                roles,
                holder: id.into(),
                key: key(seed).verifying_key(),
            })
            .unwrap();
        }
        s
    }

    fn cmd(command: UtkikAuthzCommand, operator: &str) -> UTKIK_AUTHZ_COMMAND_DATA {
        UTKIK_AUTHZ_COMMAND_DATA {
            time_usec: 1_790_000_000_000_000,
            target_system: 1,
            target_component: 0,
            request_id: 7,
            command,
            authorization_digest: [9; 32],
            operator_id: user_id_bytes(operator).into(),
            ..UTKIK_AUTHZ_COMMAND_DATA::DEFAULT
        }
    }

    fn doc() -> Authorization {
        let mut d = crate::authz::document::sample::permit();
        d.authorized_users = vec![];
        d.authorized_roles = vec![Role::Operator, Role::SeniorOfficer];
        d
    }

    const ACTIVATE: UtkikAuthzCommand = UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_ACTIVATE;

    fn ids(v: &[&TrustedUser]) -> Vec<String> {
        v.iter().map(|u| u.user_id.clone()).collect()
    }

    #[test]
    fn signed_bytes_have_the_documented_layout() {
        let c = cmd(ACTIVATE, "anna");
        let b = signed_bytes(&c);
        assert!(b.starts_with(COMMAND_TAG));
        let rest = &b[COMMAND_TAG.len()..];
        assert_eq!(rest.len(), 1 + 2 + 1 + 32 + 8 + 16);
        assert_eq!(rest[0], 1);
        assert_eq!(&rest[1..3], &7u16.to_le_bytes());
        assert_eq!(rest[3], ACTIVATE as u8);
        assert_eq!(&rest[4..36], &[9; 32]);
        assert_eq!(&rest[36..44], &1_790_000_000_000_000u64.to_le_bytes());
        assert_eq!(&rest[44..48], b"anna");
        assert!(rest[48..].iter().all(|&b| b == 0));
        // Every field counts: changing any one changes the bytes.
        for change in [
            |c: &mut UTKIK_AUTHZ_COMMAND_DATA| c.target_system = 2,
            |c: &mut UTKIK_AUTHZ_COMMAND_DATA| c.request_id = 8,
            |c: &mut UTKIK_AUTHZ_COMMAND_DATA| c.command = UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP,
            |c: &mut UTKIK_AUTHZ_COMMAND_DATA| c.authorization_digest[31] ^= 1,
            |c: &mut UTKIK_AUTHZ_COMMAND_DATA| c.time_usec += 1,
            |c: &mut UTKIK_AUTHZ_COMMAND_DATA| c.operator_id = user_id_bytes("annb").into(),
        ] {
            let mut other = c.clone();
            change(&mut other);
            assert_ne!(signed_bytes(&other), b);
        }
        // The co-sign bytes have another tag, so one signature never stands for the other.
        let mut co = c.clone();
        sign_command(&mut co, &key(1));
        co.second_operator_id = user_id_bytes("bertil").into();
        assert!(cosigned_bytes(&co).starts_with(COSIGN_TAG));
        assert_ne!(COMMAND_TAG, COSIGN_TAG);
    }

    #[test]
    fn a_signed_command_verifies_and_names_the_trust_store_roles() {
        let s = store();
        let mut c = cmd(ACTIVATE, "cecilia");
        sign_command(&mut c, &key(3));
        let signers = verify_command(&s, &c).unwrap();
        assert_eq!(ids(&signers), ["cecilia"]);
        assert_eq!(check_roles(ACTIVATE, &signers, &doc()), Ok(()));
    }

    #[test]
    fn missing_unknown_forged_or_altered_signatures_are_refused() {
        let s = store();
        let c = cmd(ACTIVATE, "cecilia");
        assert_eq!(verify_command(&s, &c), Err(CommandSignatureError::NoUserSignature));
        // Signed with anna's key but naming cecilia: a forged senior officer.
        let mut forged = c.clone();
        sign_command(&mut forged, &key(1));
        assert!(matches!(
            verify_command(&s, &forged),
            Err(CommandSignatureError::BadSignature { user_id }) if user_id == "cecilia"
        ));
        // A key the trust store does not know, for a user it does not know.
        let mut unknown = cmd(ACTIVATE, "mallory");
        sign_command(&mut unknown, &key(99));
        assert!(matches!(
            verify_command(&s, &unknown),
            Err(CommandSignatureError::UnknownUser { .. })
        ));
        // Altered after signing (another request, another document).
        let mut good = c.clone();
        sign_command(&mut good, &key(3));
        let mut altered = good.clone();
        altered.authorization_digest[0] ^= 1;
        assert!(matches!(
            verify_command(&s, &altered),
            Err(CommandSignatureError::BadSignature { .. })
        ));
        // Random bytes as a signature.
        let mut junk = c;
        junk.user_signature = [0x42; 64];
        assert!(verify_command(&s, &junk).is_err());
    }

    #[test]
    fn an_operator_alone_cannot_activate_two_operators_can_one_twice_cannot() {
        let s = store();
        let mut alone = cmd(ACTIVATE, "anna");
        sign_command(&mut alone, &key(1));
        let signers = verify_command(&s, &alone).unwrap();
        assert!(matches!(
            check_roles(ACTIVATE, &signers, &doc()),
            Err(RoleRefusal::ActivationNeedsSeniorOrTwoOperators { .. })
        ));
        let mut two = alone.clone();
        cosign_command(&mut two, "bertil", &key(2));
        let signers = verify_command(&s, &two).unwrap();
        assert_eq!(ids(&signers), ["anna", "bertil"]);
        assert_eq!(check_roles(ACTIVATE, &signers, &doc()), Ok(()));
        // Anna co-signing her own command.
        let mut twice = alone.clone();
        cosign_command(&mut twice, "anna", &key(1));
        assert_eq!(
            verify_command(&s, &twice),
            Err(CommandSignatureError::SameUserTwice { user_id: "anna".into() })
        );
        // Anna's key signing as bertil.
        let mut forged = alone.clone();
        cosign_command(&mut forged, "bertil", &key(1));
        assert!(matches!(
            verify_command(&s, &forged),
            Err(CommandSignatureError::BadSecondSignature { .. })
        ));
        // A co-signature moved to another proposal (another request id) does not verify.
        let mut other = cmd(ACTIVATE, "anna");
        other.request_id = 8;
        sign_command(&mut other, &key(1));
        other.second_operator_id = two.second_operator_id;
        other.second_signature = two.second_signature;
        assert!(matches!(
            verify_command(&s, &other),
            Err(CommandSignatureError::BadSecondSignature { .. })
        ));
        // A pilot co-signing does not make two operators.
        let mut pilot = alone.clone();
        cosign_command(&mut pilot, "david", &key(4));
        let signers = verify_command(&s, &pilot).unwrap();
        assert!(check_roles(ACTIVATE, &signers, &doc()).is_err());
        // A second operator named without a signature.
        let mut half = alone;
        half.second_operator_id = user_id_bytes("bertil").into();
        assert_eq!(
            verify_command(&s, &half),
            Err(CommandSignatureError::IncompleteCoSignature)
        );
    }

    #[test]
    fn urgent_start_revoke_and_decisions_need_a_senior_officer() {
        let s = store();
        for command in [
            UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_START,
            UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_REVOKE,
            UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_APPLIED,
            UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_URGENT_REFUSED,
        ] {
            let mut by_anna = cmd(command, "anna");
            sign_command(&mut by_anna, &key(1));
            // Even co-signed by a second operator.
            cosign_command(&mut by_anna, "bertil", &key(2));
            let signers = verify_command(&s, &by_anna).unwrap();
            assert!(
                matches!(
                    check_roles(command, &signers, &doc()),
                    Err(RoleRefusal::NeedsSeniorOfficer { .. })
                ),
                "{command:?}"
            );
            let mut by_cecilia = cmd(command, "cecilia");
            sign_command(&mut by_cecilia, &key(3));
            let signers = verify_command(&s, &by_cecilia).unwrap();
            assert_eq!(check_roles(command, &signers, &doc()), Ok(()), "{command:?}");
        }
    }

    #[test]
    fn the_document_must_authorize_each_signer() {
        let s = store();
        let mut d = doc();
        d.authorized_roles = vec![Role::SeniorOfficer];
        let mut two = cmd(ACTIVATE, "anna");
        sign_command(&mut two, &key(1));
        cosign_command(&mut two, "bertil", &key(2));
        let signers = verify_command(&s, &two).unwrap();
        assert!(matches!(
            check_roles(ACTIVATE, &signers, &d),
            Err(RoleRefusal::NotAuthorizedByDocument { user_id }) if user_id == "anna"
        ));
    }

    #[test]
    fn stop_is_for_crew_but_an_auditor_is_named() {
        let s = store();
        let stop = UtkikAuthzCommand::UTKIK_AUTHZ_COMMAND_STOP;
        let mut by_pilot = cmd(stop, "david");
        sign_command(&mut by_pilot, &key(4));
        assert_eq!(
            check_roles(stop, &verify_command(&s, &by_pilot).unwrap(), &doc()),
            Ok(())
        );
        let mut by_auditor = cmd(stop, "eva");
        sign_command(&mut by_auditor, &key(5));
        assert!(matches!(
            check_roles(stop, &verify_command(&s, &by_auditor).unwrap(), &doc()),
            Err(RoleRefusal::NotCrew { .. })
        ));
    }
}
