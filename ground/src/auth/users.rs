//! The users file: who may sign in at the ground station, with which roles, and an argon2id
//! hash of each password (never the password). It is a secret file (the hashes can be
//! attacked offline), so it is read through [`utkik_shared::secret_file`] (refused when group
//! or others may read it) and written `0600`.
//!
//! ```json
//! { "format": "utkik-users/3",
//!   "users": [ { "user_id": "anna", "display_name": "Anna", "roles": ["operator"],
//!                "password_hash": "$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>",
//!                "signing_key": { "public_key_hex": "...", "kdf": "argon2id", ... } } ] }
//! ```
//! `user_id` is at most 16 bytes of ASCII because it travels in MAVLink `operator_id` (char[16]).
//! Create and change entries with `utkik-ground users add|passwd|list|trust-entry --users FILE`.
//!
//! # Signing keys (`utkik-users/3`, LAW.md 4.5)
//! Each crew member (pilot, operator, senior officer) has a command-signing key, its seed
//! encrypted under their password (`signing_key.rs`), opened at sign-in only. `users add` makes
//! one, `users passwd` re-encrypts it under the new password (the current password is asked
//! first; `--new-key` makes a new key instead, when the old password is lost), and
//! `users trust-entry` prints the user's entry for the drone's trust store. An entry without a
//! key (a `utkik-users/2` file, written before these keys) still signs in, so its user can
//! review and confirm matches; but every command to the drone is refused at the station with
//! a message naming the user and the commands that fix it (`users passwd --new-key`, then
//! `users trust-entry` into the drone's trust store). The station names such users at start.
//! We chose this over creating a key at the next sign-in: a key the drone's trust store does
//! not list would be refused by the drone anyway, so its public half must go to the drone
//! through an administrator in any case.
//!
//! # Old files (`utkik-users/1`, PBKDF2-HMAC-SHA-256)
//! A password cannot be re-hashed without the password, and keeping a hand-written PBKDF2 just
//! to upgrade hashes at sign-in would keep the code this change removes. So an old file still
//! loads (nothing already configured is lost: ids, names, roles), but each PBKDF2 entry is
//! marked "needs a new password": the station names those users at start, and their sign-in
//! is refused with a message naming the user and the command that sets a new password
//! (`utkik-ground users passwd --users FILE USER`). Rewriting the file (any `users` command)
//! drops the PBKDF2 fields.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use utkik_shared::authz::{Actor, Role};

use super::password::{self, HashParams};
use super::signing_key::{EncryptedSigningKey, UserSigner, new_seed};

/// Whether these roles give commands to the drone (and so need a signing key).
pub fn is_crew(roles: &[Role]) -> bool {
    roles
        .iter()
        .any(|r| matches!(r, Role::Pilot | Role::Operator | Role::SeniorOfficer))
}

/// The `format` value of a users file written by this program.
pub const USERS_FORMAT: &str = "utkik-users/3";
/// The format before per-user signing keys (argon2id hashes, no `signing_key`); read.
pub const USERS_FORMAT_V2: &str = "utkik-users/2";
/// The first format (PBKDF2 hashes); read, never written.
pub const LEGACY_USERS_FORMAT: &str = "utkik-users/1";
/// The KDF name of [`LEGACY_USERS_FORMAT`] entries.
pub const LEGACY_KDF: &str = "pbkdf2-hmac-sha256";

/// One user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserEntry {
    /// Sign-in name (ASCII, 1 to 16 bytes).
    pub user_id: String,
    /// Name shown in the UI.
    pub display_name: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// argon2id PHC string; `None`: the user needs a new password before signing in (an old
    /// PBKDF2 entry).
    pub password_hash: Option<String>,
    /// The command-signing key, encrypted under the password (crew members; `None` for an
    /// auditor, or an entry from before signing keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<EncryptedSigningKey>,
}

impl UserEntry {
    /// An entry for `password` hashed with `params` (the program uses [`HashParams::DEFAULT`]),
    /// with a new random signing key encrypted under it for a crew member.
    ///
    /// # Panics
    /// When the OS has no randomness for the salt (not a state the station can run in).
    pub fn with_password(
        user_id: &str,
        display_name: &str,
        roles: Vec<Role>,
        password: &str,
        params: HashParams,
    ) -> Self {
        let signing_key = is_crew(&roles).then(|| {
            let seed = new_seed().expect("random seed from the OS");
            EncryptedSigningKey::seal(user_id, &seed, password, params).expect("random salt from the OS")
        });
        Self {
            user_id: user_id.into(),
            display_name: display_name.into(),
            roles,
            password_hash: Some(password::hash_password(password, params).expect("random salt from the OS")),
            signing_key,
        }
    }

    /// [`Self::with_password`] with a given seed (the DEMO users' published seeds).
    ///
    /// # Panics
    /// When the OS has no randomness for the salts.
    pub fn with_password_and_seed(
        user_id: &str,
        display_name: &str,
        roles: Vec<Role>,
        password: &str,
        seed: &[u8; 32],
        params: HashParams,
    ) -> Self {
        Self {
            signing_key: Some(EncryptedSigningKey::seal(user_id, seed, password, params).expect("random salt")),
            ..Self::with_password(user_id, display_name, roles, password, params)
        }
    }
}

/// An entry as it may appear in a file of either format.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    user_id: String,
    display_name: String,
    roles: Vec<Role>,
    #[serde(default)]
    password_hash: Option<String>,
    #[serde(default)]
    signing_key: Option<EncryptedSigningKey>,
    // utkik-users/1 fields: recognised so the entry is kept, never verified.
    #[serde(default)]
    kdf: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    iterations: Option<u32>,
    #[serde(default)]
    #[allow(dead_code)]
    salt_hex: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    hash_hex: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFileIn {
    format: String,
    #[serde(default)]
    note: String,
    users: Vec<RawEntry>,
}

#[derive(Serialize)]
struct UsersFileOut<'a> {
    format: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    note: &'a str,
    users: &'a [UserEntry],
}

/// Why a users file or a sign-in is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsersError {
    /// The file could not be read or written (the message names the file; for a file others
    /// may read it says `chmod 600`).
    #[error("{path}: users file: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file is malformed; names the field.
    #[error("users file: field `{field}`: {reason}")]
    Invalid {
        /// Field path (`users[2].password_hash`).
        field: String,
        /// Why.
        reason: String,
    },
    /// Unknown user or wrong password (one message for both, so names cannot be probed).
    #[error("sign-in refused for `{user_id}`: unknown user or wrong password")]
    BadCredentials {
        /// The name typed.
        user_id: String,
    },
    /// The user's entry holds an old-format hash (or none): a new password must be set.
    #[error(
        "sign-in refused for `{user_id}`: the users file holds no argon2id password hash for this user \
         (an old PBKDF2 entry); an administrator sets a new one with \
         `utkik-ground users passwd --users USERS_FILE {user_id}`"
    )]
    NeedsNewPassword {
        /// The user.
        user_id: String,
    },
    /// A `users` command named a user that is not (or already) in the file.
    #[error("users file: {0}")]
    Edit(String),
    /// The user's signing key does not open with the password that signed them in (the entry
    /// was altered or moved), or is malformed.
    #[error("sign-in refused for `{user_id}`: command-signing key: {reason}")]
    SigningKey {
        /// The user.
        user_id: String,
        /// Why.
        reason: String,
    },
}

/// The users who may sign in.
#[derive(Debug, Clone, Default)]
pub struct UserDirectory {
    users: Vec<UserEntry>,
    note: String,
}

fn invalid(field: String, reason: impl Into<String>) -> UsersError {
    UsersError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn check_user_id(field: String, user_id: &str) -> Result<(), UsersError> {
    if user_id.is_empty() || user_id.len() > 16 || !user_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(field, "1 to 16 printable ASCII characters"));
    }
    Ok(())
}

impl UserDirectory {
    /// Parses and checks a users file (either format).
    ///
    /// # Errors
    /// [`UsersError::Invalid`] naming the field.
    pub fn from_json(bytes: &[u8]) -> Result<Self, UsersError> {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let file: UsersFileIn = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            invalid(path, e.into_inner().to_string())
        })?;
        if ![USERS_FORMAT, USERS_FORMAT_V2, LEGACY_USERS_FORMAT].contains(&file.format.as_str()) {
            return Err(invalid(
                "format".into(),
                format!(
                    "`{}` is not `{USERS_FORMAT}` (or the older `{USERS_FORMAT_V2}`, `{LEGACY_USERS_FORMAT}`)",
                    file.format
                ),
            ));
        }
        let mut users = Vec::with_capacity(file.users.len());
        for (i, raw) in file.users.into_iter().enumerate() {
            let f = |name: &str| format!("users[{i}].{name}");
            if raw.signing_key.is_some() && file.format != USERS_FORMAT {
                return Err(invalid(
                    f("signing_key"),
                    format!(
                        "signing keys need format `{USERS_FORMAT}`, the file says `{}`",
                        file.format
                    ),
                ));
            }
            let password_hash = match (raw.password_hash, raw.kdf) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        f("kdf"),
                        "an entry has either `password_hash` or the old PBKDF2 fields",
                    ));
                }
                (Some(h), None) => Some(h),
                (None, Some(kdf)) if kdf == LEGACY_KDF => None,
                (None, Some(kdf)) => return Err(invalid(f("kdf"), format!("`{kdf}` is not `{LEGACY_KDF}`"))),
                (None, None) => None,
            };
            users.push(UserEntry {
                user_id: raw.user_id,
                display_name: raw.display_name,
                roles: raw.roles,
                password_hash,
                signing_key: raw.signing_key,
            });
        }
        let mut d = Self::from_entries(users)?;
        d.note = file.note;
        Ok(d)
    }

    /// Checks entries (as in a file).
    ///
    /// # Errors
    /// [`UsersError::Invalid`] naming the field.
    pub fn from_entries(users: Vec<UserEntry>) -> Result<Self, UsersError> {
        for (i, u) in users.iter().enumerate() {
            let f = |name: &str| format!("users[{i}].{name}");
            check_user_id(f("user_id"), &u.user_id)?;
            if users[..i].iter().any(|o| o.user_id == u.user_id) {
                return Err(invalid(f("user_id"), format!("`{}` appears twice", u.user_id)));
            }
            if u.roles.is_empty() {
                return Err(invalid(f("roles"), "at least one role"));
            }
            if let Some(h) = &u.password_hash {
                password::check_hash(h).map_err(|e| invalid(f("password_hash"), e.to_string()))?;
            }
            if let Some(k) = &u.signing_key {
                k.check().map_err(|e| invalid(f("signing_key"), e.to_string()))?;
                if let Some(o) = users[..i].iter().find(|o| {
                    o.signing_key
                        .as_ref()
                        .is_some_and(|ok| ok.public_key_hex == k.public_key_hex)
                }) {
                    return Err(invalid(
                        f("signing_key.public_key_hex"),
                        format!("the same key as `{}`: each person has a key of their own", o.user_id),
                    ));
                }
            }
        }
        Ok(Self {
            users,
            note: String::new(),
        })
    }

    /// Reads a users file; refused when group or others may read or write it.
    ///
    /// # Errors
    /// [`UsersError::Io`] (including a file that is not `0600`) or [`UsersError::Invalid`].
    pub fn load(path: &Path) -> Result<Self, UsersError> {
        let bytes = utkik_shared::secret_file::read_secret(path).map_err(|e| UsersError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Self::from_json(&bytes).map_err(|e| match e {
            UsersError::Invalid { field, reason } => UsersError::Invalid {
                field: format!("{}: {field}", path.display()),
                reason,
            },
            other => other,
        })
    }

    /// Writes the file (format [`USERS_FORMAT`], mode `0600`, atomically).
    ///
    /// # Errors
    /// [`UsersError::Io`].
    pub fn save(&self, path: &Path) -> Result<(), UsersError> {
        let out = UsersFileOut {
            format: USERS_FORMAT,
            note: &self.note,
            users: &self.users,
        };
        let mut text = serde_json::to_string_pretty(&out).map_err(|e| UsersError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        text.push('\n');
        utkik_shared::secret_file::write_secret(path, text.as_bytes()).map_err(|e| UsersError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The entries.
    pub fn users(&self) -> &[UserEntry] {
        &self.users
    }

    /// The file's free-text note.
    pub fn note(&self) -> &str {
        &self.note
    }

    /// Users who cannot sign in until a new password is set (old PBKDF2 entries).
    pub fn needing_new_password(&self) -> impl Iterator<Item = &UserEntry> {
        self.users.iter().filter(|u| u.password_hash.is_none())
    }

    /// Crew members (pilot, operator, senior officer) without a signing key: they may sign in,
    /// but the station refuses their commands to the drone until they have one.
    pub fn missing_signing_key(&self) -> impl Iterator<Item = &UserEntry> {
        self.users
            .iter()
            .filter(|u| is_crew(&u.roles) && u.signing_key.is_none())
    }

    /// The entry of `user_id`.
    pub fn get(&self, user_id: &str) -> Option<&UserEntry> {
        self.users.iter().find(|u| u.user_id == user_id)
    }

    /// Opens `user_id`'s signing key with the `password` they just signed in with (`None`: the
    /// entry has none).
    ///
    /// # Errors
    /// [`UsersError::SigningKey`] when it does not open (altered or moved entry).
    pub fn unlock_signing_key(&self, user_id: &str, password: &str) -> Result<Option<UserSigner>, UsersError> {
        let Some(k) = self.get(user_id).and_then(|u| u.signing_key.as_ref()) else {
            return Ok(None);
        };
        k.open(user_id, password).map(Some).map_err(|e| UsersError::SigningKey {
            user_id: user_id.to_string(),
            reason: e.to_string(),
        })
    }

    /// Sets a new password: the hash, and the signing key re-encrypted under it (opened with
    /// `old_password`), or a new key when `new_key` (the old password lost; the drone's trust
    /// store then needs the new public key). A crew member without a key gets a new one.
    ///
    /// # Errors
    /// [`UsersError::Edit`] for an unknown user or a missing old password,
    /// [`UsersError::SigningKey`] when the old password does not open the key.
    pub fn set_password(
        &mut self,
        user_id: &str,
        old_password: Option<&str>,
        new_password: &str,
        new_key: bool,
        params: HashParams,
    ) -> Result<(), UsersError> {
        let u = self
            .get(user_id)
            .ok_or_else(|| UsersError::Edit(format!("no user `{user_id}` (add one with `users add`)")))?;
        let edit = |e: super::signing_key::SigningKeyError| UsersError::Edit(e.to_string());
        let signing_key = match (&u.signing_key, new_key) {
            (Some(k), false) => {
                let old = old_password.ok_or_else(|| {
                    UsersError::Edit(format!(
                        "`{user_id}` has a signing key: give the current password to re-encrypt it, or --new-key"
                    ))
                })?;
                let signer = k.open(user_id, old).map_err(|e| UsersError::SigningKey {
                    user_id: user_id.to_string(),
                    reason: e.to_string(),
                })?;
                Some(EncryptedSigningKey::seal(user_id, &signer.key().to_bytes(), new_password, params).map_err(edit)?)
            }
            _ if is_crew(&u.roles) => {
                let seed = new_seed().map_err(edit)?;
                Some(EncryptedSigningKey::seal(user_id, &seed, new_password, params).map_err(edit)?)
            }
            _ => None,
        };
        let phc = password::hash_password(new_password, params).map_err(|e| UsersError::Edit(e.to_string()))?;
        let u = self
            .users
            .iter_mut()
            .find(|u| u.user_id == user_id)
            .expect("found above");
        u.password_hash = Some(phc);
        u.signing_key = signing_key;
        Ok(())
    }

    /// Adds a user.
    ///
    /// # Errors
    /// [`UsersError::Edit`] when the id exists; [`UsersError::Invalid`] for a bad id or no role.
    pub fn add(&mut self, entry: UserEntry) -> Result<(), UsersError> {
        if self.users.iter().any(|u| u.user_id == entry.user_id) {
            return Err(UsersError::Edit(format!(
                "user `{}` exists already (change the password with `users passwd`)",
                entry.user_id
            )));
        }
        let mut users = self.users.clone();
        users.push(entry);
        self.users = Self::from_entries(users)?.users;
        Ok(())
    }

    /// Replaces a user's password hash.
    ///
    /// # Errors
    /// [`UsersError::Edit`] for an unknown user; [`UsersError::Invalid`] for a bad hash.
    pub fn set_password_hash(&mut self, user_id: &str, phc: String) -> Result<(), UsersError> {
        password::check_hash(&phc).map_err(|e| invalid("password_hash".into(), e.to_string()))?;
        let u = self
            .users
            .iter_mut()
            .find(|u| u.user_id == user_id)
            .ok_or_else(|| UsersError::Edit(format!("no user `{user_id}` (add one with `users add`)")))?;
        u.password_hash = Some(phc);
        Ok(())
    }

    /// Checks a password; the authenticated user with their roles.
    ///
    /// # Errors
    /// [`UsersError::BadCredentials`] for an unknown user or a wrong password;
    /// [`UsersError::NeedsNewPassword`] for an old-format entry.
    pub fn authenticate(&self, user_id: &str, password: &str) -> Result<Actor, UsersError> {
        let refused = || UsersError::BadCredentials {
            user_id: user_id.to_string(),
        };
        let Some(u) = self.users.iter().find(|u| u.user_id == user_id) else {
            // Same work as for a known user, so timing does not tell which names exist.
            password::burn_equal_time(password);
            return Err(refused());
        };
        let Some(hash) = &u.password_hash else {
            return Err(UsersError::NeedsNewPassword {
                user_id: user_id.to_string(),
            });
        };
        if password::verify_password(password, hash) {
            Ok(Actor::new(u.user_id.clone(), u.roles.iter().copied()))
        } else {
            Err(refused())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, role: Role, pw: &str) -> UserEntry {
        UserEntry::with_password(id, id, vec![role], pw, HashParams::MINIMUM)
    }

    fn dir() -> UserDirectory {
        UserDirectory::from_entries(vec![entry("anna", Role::Operator, "correct horse")]).unwrap()
    }

    #[test]
    fn right_password_signs_in_with_roles() {
        let a = dir().authenticate("anna", "correct horse").unwrap();
        assert_eq!(a.user_id, "anna");
        assert_eq!(a.roles, vec![Role::Operator]);
    }

    #[test]
    fn wrong_password_and_unknown_user_are_refused_alike() {
        let d = dir();
        assert_eq!(
            d.authenticate("anna", "correct horsE"),
            Err(UsersError::BadCredentials { user_id: "anna".into() })
        );
        assert_eq!(
            d.authenticate("nobody", "correct horse"),
            Err(UsersError::BadCredentials {
                user_id: "nobody".into()
            })
        );
    }

    #[test]
    fn file_problems_name_the_field() {
        let mut e = entry("anna", Role::Auditor, "pw-anna-1");
        e.password_hash = Some("$argon2id$v=19$m=8,t=1,p=1$AQEBAQEBAQEBAQEBAQEBAQ$AAAA".into());
        let err = UserDirectory::from_entries(vec![e.clone()]).unwrap_err();
        assert!(
            matches!(&err, UsersError::Invalid { field, .. } if field == "users[0].password_hash"),
            "{err}"
        );
        let ok = entry("anna", Role::Auditor, "pw-anna-1");
        let err = UserDirectory::from_entries(vec![ok.clone(), ok]).unwrap_err();
        assert!(
            matches!(&err, UsersError::Invalid { field, .. } if field == "users[1].user_id"),
            "{err}"
        );
        let err = UserDirectory::from_json(br#"{"format":"x","users":[]}"#).unwrap_err();
        assert!(
            matches!(&err, UsersError::Invalid { field, .. } if field == "format"),
            "{err}"
        );
        let err = UserDirectory::from_json(
            br#"{"format":"utkik-users/2","users":[{"user_id":"a","display_name":"A","roles":["pilot"],"pasword_hash":"x"}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("users[0]"), "{err}");
        assert!(err.to_string().contains("pasword_hash"), "{err}");
    }

    /// An old (PBKDF2) file loads without losing an entry; those users cannot sign in, and the
    /// refusal names the user and the command, even with the password that was right.
    #[test]
    fn old_pbkdf2_entries_are_kept_but_need_a_new_password() {
        let old = br#"{ "format": "utkik-users/1", "note": "ours", "users": [
            { "user_id": "anna", "display_name": "Anna", "roles": ["operator"],
              "kdf": "pbkdf2-hmac-sha256", "iterations": 100000,
              "salt_hex": "eccc6ba77fe5749873001e3b70b9c577",
              "hash_hex": "314a93d264291cfe8f0fdb276f6a35148e0240b671c1151ef741551064f4c850" } ] }"#;
        let mut d = UserDirectory::from_json(old).unwrap();
        assert_eq!(d.users().len(), 1);
        assert_eq!(d.users()[0].roles, vec![Role::Operator]);
        assert_eq!(d.needing_new_password().count(), 1);
        let e = d.authenticate("anna", "demo-anna").unwrap_err();
        assert_eq!(e, UsersError::NeedsNewPassword { user_id: "anna".into() });
        let msg = e.to_string();
        assert!(
            msg.contains("`anna`") && msg.contains("utkik-ground users passwd"),
            "{msg}"
        );
        // Setting a new password (what `users passwd` does) lets her in, and the file written
        // is the new format without PBKDF2 fields.
        d.set_password_hash(
            "anna",
            password::hash_password("new-pass-1", HashParams::MINIMUM).unwrap(),
        )
        .unwrap();
        assert!(d.authenticate("anna", "new-pass-1").is_ok());
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("users.json");
        d.save(&p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.contains(USERS_FORMAT) && !text.contains("hash_hex") && text.contains("ours"),
            "{text}"
        );
        assert!(
            UserDirectory::load(&p)
                .unwrap()
                .authenticate("anna", "new-pass-1")
                .is_ok()
        );
        // Another KDF name is not taken for an old entry.
        let other = String::from_utf8_lossy(old).replace("pbkdf2-hmac-sha256", "md5");
        let err = UserDirectory::from_json(other.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, UsersError::Invalid { field, .. } if field == "users[0].kdf"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_users_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("users.json");
        dir().save(&p).unwrap();
        assert!(UserDirectory::load(&p).is_ok());
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = UserDirectory::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("users.json") && e.contains("0644") && e.contains("chmod 600"),
            "{e}"
        );
    }

    #[test]
    fn add_and_change_password() {
        let mut d = dir();
        assert!(matches!(
            d.add(entry("anna", Role::Pilot, "x-password")),
            Err(UsersError::Edit(_))
        ));
        d.add(entry("bertil", Role::Operator, "pw-bertil-1")).unwrap();
        assert!(d.authenticate("bertil", "pw-bertil-1").is_ok());
        assert!(matches!(
            d.set_password_hash("nobody", password::hash_password("p", HashParams::MINIMUM).unwrap()),
            Err(UsersError::Edit(_))
        ));
        assert!(d.set_password_hash("bertil", "not a hash".into()).is_err());
    }

    /// Writes the DEMO users file's signing keys: each DEMO crew member's published seed
    /// (`utkik_shared::demo::user_signing_seed`) encrypted under their DEMO password, the hashes
    /// kept. Run by hand after a change: `cargo test -p utkik-ground --lib write_demo_users_file
    /// -- --ignored`.
    #[test]
    #[ignore = "writes assets/users/demo-users.json"]
    fn write_demo_users_file() {
        let mut d = UserDirectory::from_json(utkik_shared::demo::USERS_JSON).unwrap();
        for u in &mut d.users {
            u.signing_key = utkik_shared::demo::user_signing_seed(&u.user_id).map(|seed| {
                EncryptedSigningKey::seal(&u.user_id, &seed, &format!("demo-{}", u.user_id), HashParams::DEFAULT)
                    .unwrap()
            });
        }
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/users/demo-users.json");
        d.save(&path).unwrap();
    }

    /// The DEMO users file (argon2id hashes written by `utkik-ground users add`) signs in each
    /// DEMO user with the password in assets/users/README.md, and nobody with another; each DEMO
    /// crew member's signing key opens with that password and is the published DEMO seed whose
    /// public key the DEMO trust store lists.
    #[test]
    fn demo_users_file_matches_the_readme_passwords() {
        let d = UserDirectory::from_json(utkik_shared::demo::USERS_JSON).unwrap();
        assert!(d.note().starts_with("DEMO"));
        for (user, role) in [
            ("anna", Role::Operator),
            ("bertil", Role::Operator),
            ("cecilia", Role::SeniorOfficer),
            ("david", Role::Pilot),
            ("eva", Role::Auditor),
        ] {
            let a = d.authenticate(user, &format!("demo-{user}")).unwrap();
            assert!(a.has_role(role), "{user}");
            assert!(d.authenticate(user, "demo").is_err());
            let key = d.unlock_signing_key(user, &format!("demo-{user}")).unwrap();
            assert_eq!(
                key.map(|k| k.key().to_bytes()),
                utkik_shared::demo::user_signing_seed(user),
                "{user}"
            );
        }
    }
}
