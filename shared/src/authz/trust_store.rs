//! The trust store: the issuer keys an authorization may be signed with, each
//! tied to the kind of issuer it speaks for (prosecutor, court, or senior
//! officer for urgent use), and the keys of the ground station's crew, each
//! tied to the user's roles. A key that is not in the store is refused
//! (LAW.md section 2); so is a key used for another kind of issuer. The drone
//! checks the role of the user who signed a command against this file, not
//! against anything the ground station says (LAW.md 4.5,
//! [`super::command_signature`]).
//!
//! File format (JSON), configured on the drone and at the ground station:
//! ```json
//! { "format": "utkik-trust-store/2",
//!   "keys": [ { "key_id": "prosecutor-city-1", "kind": "prosecutor",
//!               "holder": "City åklagarkammare", "public_key_hex": "<64 hex>" } ],
//!   "users": [ { "user_id": "anna", "roles": ["operator"], "holder": "Anna A.",
//!                "public_key_hex": "<64 hex>" } ] }
//! ```
//! `utkik-ground users trust-entry --users FILE USER` prints a user's entry. A file of the
//! first format (`utkik-trust-store/1`, issuer keys only, no `users`) still loads: it trusts
//! no user, so the drone refuses every command that needs a user's signature and says why
//! (a STOP still stops). A user id is at most 16 bytes (MAVLink `operator_id`); a public key
//! appears once in the whole file, so one person cannot count as two operators.

use std::collections::BTreeMap;
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use super::actor::Role;
use super::document::IssuerKind;
use super::error::AuthzError;

/// The value of the trust store's `format` field (what this program writes).
pub const TRUST_STORE_FORMAT: &str = "utkik-trust-store/2";
/// The first format: issuer keys only (read, never written).
pub const TRUST_STORE_FORMAT_V1: &str = "utkik-trust-store/1";

/// One key as it appears in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustStoreEntry {
    /// Id that documents name in `issuer.key_id`.
    pub key_id: String,
    /// The kind of issuer the key may sign for.
    pub kind: IssuerKind,
    /// Who holds the key (for people reading the file).
    pub holder: String,
    /// The ed25519 public key, 32 bytes as hex.
    pub public_key_hex: String,
}

/// One crew member's key as it appears in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustStoreUserEntry {
    /// The ground station sign-in name (what commands carry in `operator_id`).
    pub user_id: String,
    /// The roles the drone grants this user.
    pub roles: Vec<Role>,
    /// Who the user is (for people reading the file).
    pub holder: String,
    /// The user's ed25519 public key, 32 bytes as hex.
    pub public_key_hex: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustStoreFile {
    format: String,
    keys: Vec<TrustStoreEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    users: Option<Vec<TrustStoreUserEntry>>,
}

/// A crew member the store trusts to sign commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedUser {
    /// Sign-in name.
    pub user_id: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Who it is.
    pub holder: String,
    /// The public key.
    pub key: VerifyingKey,
}

/// A key the store trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// Its id.
    pub key_id: String,
    /// Kind of issuer it signs for.
    pub kind: IssuerKind,
    /// Who holds it.
    pub holder: String,
    /// The public key.
    pub key: VerifyingKey,
}

/// Issuer keys by id, crew keys by user id.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    keys: BTreeMap<String, TrustedKey>,
    users: BTreeMap<String, TrustedUser>,
}

/// Checks a user entry's id (1 to 16 printable ASCII bytes: it travels in `operator_id`).
fn check_user_id(field: &str, user_id: &str) -> Result<(), AuthzError> {
    if user_id.is_empty() || user_id.len() > 16 || !user_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthzError::invalid(
            field.to_string(),
            "1 to 16 printable ASCII characters (it travels in MAVLink operator_id)",
        ));
    }
    Ok(())
}

impl TrustStore {
    /// An empty store (trusts nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key.
    ///
    /// # Errors
    /// [`AuthzError::Invalid`] on `keys` when the id is empty or already present,
    /// or the key is a weak (small-order) point that would verify forged signatures.
    pub fn insert(&mut self, key: TrustedKey) -> Result<(), AuthzError> {
        if key.key_id.trim().is_empty() {
            return Err(AuthzError::invalid("keys.key_id", "must not be empty"));
        }
        if key.key.is_weak() {
            return Err(AuthzError::invalid(
                format!("keys[{}].public_key_hex", key.key_id),
                "weak (small-order) key",
            ));
        }
        if self.keys.contains_key(&key.key_id) {
            return Err(AuthzError::invalid(
                "keys.key_id",
                format!("`{}` appears twice", key.key_id),
            ));
        }
        self.keys.insert(key.key_id.clone(), key);
        Ok(())
    }

    /// Adds a crew member's key.
    ///
    /// # Errors
    /// [`AuthzError::Invalid`] on `users` when the id is malformed or present, no role is given,
    /// the key is weak, or the key is already in the store (one person, one key).
    pub fn insert_user(&mut self, user: TrustedUser) -> Result<(), AuthzError> {
        let field = format!("users[{}]", user.user_id);
        check_user_id(&format!("{field}.user_id"), &user.user_id)?;
        if self.users.contains_key(&user.user_id) {
            return Err(AuthzError::invalid(
                format!("{field}.user_id"),
                format!("`{}` appears twice", user.user_id),
            ));
        }
        if user.roles.is_empty() {
            return Err(AuthzError::invalid(format!("{field}.roles"), "at least one role"));
        }
        if user.key.is_weak() {
            return Err(AuthzError::invalid(
                format!("{field}.public_key_hex"),
                "weak (small-order) key",
            ));
        }
        if let Some(holder) = self.key_holder(&user.key) {
            return Err(AuthzError::invalid(
                format!("{field}.public_key_hex"),
                format!("the same key as {holder}: each person has a key of their own"),
            ));
        }
        self.users.insert(user.user_id.clone(), user);
        Ok(())
    }

    /// Who already holds `key` in this store (for the duplicate-key refusal).
    fn key_holder(&self, key: &VerifyingKey) -> Option<String> {
        self.keys
            .values()
            .find(|k| &k.key == key)
            .map(|k| format!("issuer key `{}`", k.key_id))
            .or_else(|| {
                self.users
                    .values()
                    .find(|u| &u.key == key)
                    .map(|u| format!("user `{}`", u.user_id))
            })
    }

    /// Parses a trust store file.
    ///
    /// # Errors
    /// [`AuthzError::Parse`] or [`AuthzError::Invalid`] naming the field
    /// (`keys[1].public_key_hex`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, AuthzError> {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let file: TrustStoreFile = serde_path_to_error::deserialize(&mut *de).map_err(AuthzError::from_path_error)?;
        if file.format != TRUST_STORE_FORMAT && file.format != TRUST_STORE_FORMAT_V1 {
            return Err(AuthzError::invalid(
                "format",
                format!(
                    "`{}` is not `{TRUST_STORE_FORMAT}` (or the older `{TRUST_STORE_FORMAT_V1}`)",
                    file.format
                ),
            ));
        }
        if file.format == TRUST_STORE_FORMAT_V1 && file.users.is_some() {
            return Err(AuthzError::invalid(
                "users",
                format!("user keys need format `{TRUST_STORE_FORMAT}`, the file says `{TRUST_STORE_FORMAT_V1}`"),
            ));
        }
        let mut store = TrustStore::new();
        for (i, e) in file.keys.into_iter().enumerate() {
            let field = format!("keys[{i}]");
            if e.key_id.trim().is_empty() {
                return Err(AuthzError::invalid(format!("{field}.key_id"), "must not be empty"));
            }
            if store.keys.contains_key(&e.key_id) {
                return Err(AuthzError::invalid(
                    format!("{field}.key_id"),
                    format!("`{}` appears twice", e.key_id),
                ));
            }
            let key = parse_public_key(&e.public_key_hex)
                .map_err(|r| AuthzError::invalid(format!("{field}.public_key_hex"), r))?;
            if key.is_weak() {
                return Err(AuthzError::invalid(
                    format!("{field}.public_key_hex"),
                    "weak (small-order) key",
                ));
            }
            store.keys.insert(
                e.key_id.clone(),
                TrustedKey {
                    key_id: e.key_id,
                    kind: e.kind,
                    holder: e.holder,
                    key,
                },
            );
        }
        for (i, u) in file.users.unwrap_or_default().into_iter().enumerate() {
            let field = format!("users[{i}]");
            check_user_id(&format!("{field}.user_id"), &u.user_id)?;
            if store.users.contains_key(&u.user_id) {
                return Err(AuthzError::invalid(
                    format!("{field}.user_id"),
                    format!("`{}` appears twice", u.user_id),
                ));
            }
            if u.roles.is_empty() {
                return Err(AuthzError::invalid(format!("{field}.roles"), "at least one role"));
            }
            let key = parse_public_key(&u.public_key_hex)
                .map_err(|r| AuthzError::invalid(format!("{field}.public_key_hex"), r))?;
            if key.is_weak() {
                return Err(AuthzError::invalid(
                    format!("{field}.public_key_hex"),
                    "weak (small-order) key",
                ));
            }
            if let Some(holder) = store.key_holder(&key) {
                return Err(AuthzError::invalid(
                    format!("{field}.public_key_hex"),
                    format!("the same key as {holder}: each person has a key of their own"),
                ));
            }
            store.users.insert(
                u.user_id.clone(),
                TrustedUser {
                    user_id: u.user_id,
                    roles: u.roles,
                    holder: u.holder,
                    key,
                },
            );
        }
        Ok(store)
    }

    /// Reads and parses a trust store file.
    ///
    /// # Errors
    /// [`AuthzError::Io`], or as [`TrustStore::from_json`].
    pub fn load(path: &Path) -> Result<Self, AuthzError> {
        let bytes = std::fs::read(path).map_err(|source| AuthzError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&bytes)
    }

    /// The store as a file (round-trips through [`TrustStore::from_json`]).
    pub fn to_json_pretty(&self) -> String {
        let file = TrustStoreFile {
            format: TRUST_STORE_FORMAT.into(),
            keys: self
                .keys
                .values()
                .map(|k| TrustStoreEntry {
                    key_id: k.key_id.clone(),
                    kind: k.kind,
                    holder: k.holder.clone(),
                    public_key_hex: hex::encode(k.key.as_bytes()),
                })
                .collect(),
            users: Some(self.users.values().map(TrustedUser::entry).collect()),
        };
        let mut s = serde_json::to_string_pretty(&file).expect("a trust store always serializes");
        s.push('\n');
        s
    }

    /// The key with this id, if trusted.
    pub fn get(&self, key_id: &str) -> Option<&TrustedKey> {
        self.keys.get(key_id)
    }

    /// The crew member with this user id, if trusted.
    pub fn user(&self, user_id: &str) -> Option<&TrustedUser> {
        self.users.get(user_id)
    }

    /// The crew members, by user id.
    pub fn users(&self) -> impl Iterator<Item = &TrustedUser> {
        self.users.values()
    }

    /// Number of issuer keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the store trusts no key at all (issuer or user).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.users.is_empty()
    }
}

impl TrustedUser {
    /// The entry as the file holds it (what `utkik-ground users trust-entry` prints).
    pub fn entry(&self) -> TrustStoreUserEntry {
        TrustStoreUserEntry {
            user_id: self.user_id.clone(),
            roles: self.roles.clone(),
            holder: self.holder.clone(),
            public_key_hex: hex::encode(self.key.as_bytes()),
        }
    }
}

/// Parses 32 bytes of hex as an ed25519 public key.
pub(crate) fn parse_public_key(hex_text: &str) -> Result<VerifyingKey, String> {
    let bytes = hex::decode(hex_text.trim()).map_err(|e| format!("not hex: {e}"))?;
    let arr: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| format!("an ed25519 public key is 32 bytes, got {}", bytes.len()))?;
    VerifyingKey::from_bytes(&arr).map_err(|_| "not a valid ed25519 public key (not a curve point)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn key(seed: u8) -> VerifyingKey {
        SigningKey::from_bytes(&[seed; 32]).verifying_key()
    }

    fn store_json(entries: &str) -> String {
        format!(r#"{{"format":"utkik-trust-store/1","keys":[{entries}]}}"#)
    }

    #[test]
    fn round_trip() {
        let mut s = TrustStore::new();
        s.insert(TrustedKey {
            key_id: "p1".into(),
            kind: IssuerKind::Prosecutor,
            holder: "Prosecutor".into(),
            key: key(1),
        })
        .unwrap();
        let back = TrustStore::from_json(s.to_json_pretty().as_bytes()).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back.get("p1").unwrap().key, key(1));
        assert!(back.get("p2").is_none());
    }

    #[test]
    fn bad_key_named_with_index() {
        let good = hex::encode(key(1).as_bytes());
        let json = store_json(&format!(
            r#"{{"key_id":"a","kind":"court","holder":"x","public_key_hex":"{good}"}},
               {{"key_id":"b","kind":"court","holder":"x","public_key_hex":"abcd"}}"#
        ));
        let e = TrustStore::from_json(json.as_bytes()).unwrap_err();
        assert_eq!(e.field(), "keys[1].public_key_hex");
    }

    #[test]
    fn duplicate_id_refused() {
        let good = hex::encode(key(1).as_bytes());
        let entry = format!(r#"{{"key_id":"a","kind":"court","holder":"x","public_key_hex":"{good}"}}"#);
        let e = TrustStore::from_json(store_json(&format!("{entry},{entry}")).as_bytes()).unwrap_err();
        assert_eq!(e.field(), "keys[1].key_id");
    }

    #[test]
    fn unknown_kind_named() {
        let good = hex::encode(key(1).as_bytes());
        let json = store_json(&format!(
            r#"{{"key_id":"a","kind":"police_chief","holder":"x","public_key_hex":"{good}"}}"#
        ));
        let e = TrustStore::from_json(json.as_bytes()).unwrap_err();
        assert_eq!(e.field(), "keys[0].kind");
    }

    #[test]
    fn weak_key_refused() {
        // The identity point (0, 1) encodes as 01 00 .. 00: small order, verifies forgeries.
        let mut weak = [0u8; 32];
        weak[0] = 1;
        let json = store_json(&format!(
            r#"{{"key_id":"a","kind":"court","holder":"x","public_key_hex":"{}"}}"#,
            hex::encode(weak)
        ));
        let e = TrustStore::from_json(json.as_bytes()).unwrap_err();
        assert_eq!(e.field(), "keys[0].public_key_hex");
        assert!(e.to_string().contains("weak"), "{e}");
    }

    fn user_json(id: &str, roles: &str, seed: u8) -> String {
        format!(
            r#"{{"user_id":"{id}","roles":{roles},"holder":"x","public_key_hex":"{}"}}"#,
            hex::encode(key(seed).as_bytes())
        )
    }

    #[test]
    fn users_round_trip_with_their_roles() {
        let json = format!(
            r#"{{"format":"utkik-trust-store/2","keys":[],"users":[{},{}]}}"#,
            user_json("anna", r#"["operator"]"#, 2),
            user_json("cecilia", r#"["senior_officer","operator"]"#, 3)
        );
        let s = TrustStore::from_json(json.as_bytes()).unwrap();
        assert_eq!(s.user("anna").unwrap().roles, vec![Role::Operator]);
        assert_eq!(s.user("cecilia").unwrap().key, key(3));
        assert!(s.user("bertil").is_none());
        let back = TrustStore::from_json(s.to_json_pretty().as_bytes()).unwrap();
        assert_eq!(back.users().count(), 2);
        assert!(s.to_json_pretty().contains(TRUST_STORE_FORMAT));
    }

    #[test]
    fn old_format_loads_and_trusts_no_user_but_may_not_carry_users() {
        let good = hex::encode(key(1).as_bytes());
        let v1 = format!(
            r#"{{"format":"utkik-trust-store/1","keys":[{{"key_id":"a","kind":"court","holder":"x","public_key_hex":"{good}"}}]}}"#
        );
        let s = TrustStore::from_json(v1.as_bytes()).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s.users().count(), 0);
        let v1_users = format!(
            r#"{{"format":"utkik-trust-store/1","keys":[],"users":[{}]}}"#,
            user_json("anna", r#"["operator"]"#, 2)
        );
        assert_eq!(TrustStore::from_json(v1_users.as_bytes()).unwrap_err().field(), "users");
    }

    #[test]
    fn bad_user_entries_are_named() {
        let store = |users: String| format!(r#"{{"format":"utkik-trust-store/2","keys":[],"users":[{users}]}}"#);
        let cases = [
            (
                user_json("a-name-longer-than-16", r#"["operator"]"#, 2),
                "users[0].user_id",
            ),
            (user_json("anna", "[]", 2), "users[0].roles"),
            (user_json("anna", r#"["admiral"]"#, 2), "users[0].roles[0]"),
            (
                format!(
                    "{},{}",
                    user_json("anna", r#"["operator"]"#, 2),
                    user_json("anna", r#"["pilot"]"#, 3)
                ),
                "users[1].user_id",
            ),
            // One key for two people: they would count as two operators.
            (
                format!(
                    "{},{}",
                    user_json("anna", r#"["operator"]"#, 2),
                    user_json("bertil", r#"["operator"]"#, 2)
                ),
                "users[1].public_key_hex",
            ),
        ];
        for (users, field) in cases {
            let e = TrustStore::from_json(store(users.clone()).as_bytes()).unwrap_err();
            assert_eq!(e.field(), field, "{users}: {e}");
        }
    }

    #[test]
    fn wrong_format_refused() {
        let e = TrustStore::from_json(br#"{"format":"x","keys":[]}"#).unwrap_err();
        assert_eq!(e.field(), "format");
    }

    #[test]
    fn missing_file_named() {
        let e = TrustStore::load(Path::new("/nonexistent/trust.json")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/trust.json"), "{e}");
    }
}
