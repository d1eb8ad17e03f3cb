//! The users file: who may sign in at the ground station, with which roles, and the salted
//! PBKDF2-HMAC-SHA-256 hash of each password (never the password).
//!
//! ```json
//! { "format": "utkik-users/1",
//!   "users": [ { "user_id": "anna", "display_name": "Anna", "roles": ["operator"],
//!                "kdf": "pbkdf2-hmac-sha256", "iterations": 100000,
//!                "salt_hex": "<16+ bytes hex>", "hash_hex": "<32 bytes hex>" } ] }
//! ```
//! `user_id` is at most 16 bytes of ASCII because it travels in MAVLink `operator_id` (char[16]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use utkik_shared::authz::{Actor, Role};

use super::kdf::{constant_time_eq, pbkdf2_hmac_sha256};

/// The `format` value of a users file.
pub const USERS_FORMAT: &str = "utkik-users/1";
/// The only KDF accepted.
pub const KDF_NAME: &str = "pbkdf2-hmac-sha256";
/// Fewest PBKDF2 iterations accepted in a users file.
pub const MIN_ITERATIONS: u32 = 10_000;
/// Shortest salt accepted, bytes.
pub const MIN_SALT_BYTES: usize = 16;

/// One user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    /// Sign-in name (ASCII, 1 to 16 bytes).
    pub user_id: String,
    /// Name shown in the UI.
    pub display_name: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Must be [`KDF_NAME`].
    pub kdf: String,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// Salt, hex.
    pub salt_hex: String,
    /// Derived key (32 bytes), hex.
    pub hash_hex: String,
}

impl UserEntry {
    /// An entry for `password` hashed with `salt`.
    pub fn with_password(
        user_id: &str,
        display_name: &str,
        roles: Vec<Role>,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Self {
        let mut hash = [0u8; 32];
        pbkdf2_hmac_sha256(password.as_bytes(), salt, iterations, &mut hash);
        Self {
            user_id: user_id.into(),
            display_name: display_name.into(),
            roles,
            kdf: KDF_NAME.into(),
            iterations,
            salt_hex: hex::encode(salt),
            hash_hex: hex::encode(hash),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    format: String,
    #[serde(default)]
    note: String,
    users: Vec<UserEntry>,
}

/// Why a users file or a sign-in is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsersError {
    /// The file could not be read.
    #[error("{path}: cannot read the users file: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// The file is malformed; names the field.
    #[error("users file: field `{field}`: {reason}")]
    Invalid {
        /// Field path (`users[2].salt_hex`).
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
}

/// The users who may sign in.
#[derive(Debug, Clone, Default)]
pub struct UserDirectory {
    users: Vec<UserEntry>,
}

fn invalid(field: String, reason: impl Into<String>) -> UsersError {
    UsersError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl UserDirectory {
    /// Parses and checks a users file.
    ///
    /// # Errors
    /// [`UsersError::Invalid`] naming the field.
    pub fn from_json(bytes: &[u8]) -> Result<Self, UsersError> {
        let file: UsersFile = serde_json::from_slice(bytes).map_err(|e| invalid(".".into(), e.to_string()))?;
        if file.format != USERS_FORMAT {
            return Err(invalid(
                "format".into(),
                format!("`{}` is not `{USERS_FORMAT}`", file.format),
            ));
        }
        Self::from_entries(file.users)
    }

    /// Checks entries (as in a file).
    ///
    /// # Errors
    /// [`UsersError::Invalid`] naming the field.
    pub fn from_entries(users: Vec<UserEntry>) -> Result<Self, UsersError> {
        for (i, u) in users.iter().enumerate() {
            let f = |name: &str| format!("users[{i}].{name}");
            if u.user_id.is_empty() || u.user_id.len() > 16 || !u.user_id.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(invalid(f("user_id"), "1 to 16 printable ASCII characters"));
            }
            if users[..i].iter().any(|o| o.user_id == u.user_id) {
                return Err(invalid(f("user_id"), format!("`{}` appears twice", u.user_id)));
            }
            if u.roles.is_empty() {
                return Err(invalid(f("roles"), "at least one role"));
            }
            if u.kdf != KDF_NAME {
                return Err(invalid(f("kdf"), format!("only `{KDF_NAME}` is supported")));
            }
            if u.iterations < MIN_ITERATIONS {
                return Err(invalid(f("iterations"), format!("at least {MIN_ITERATIONS}")));
            }
            match hex::decode(&u.salt_hex) {
                Ok(s) if s.len() >= MIN_SALT_BYTES => {}
                Ok(_) => return Err(invalid(f("salt_hex"), format!("at least {MIN_SALT_BYTES} bytes"))),
                Err(e) => return Err(invalid(f("salt_hex"), e.to_string())),
            }
            match hex::decode(&u.hash_hex) {
                Ok(h) if h.len() == 32 => {}
                Ok(_) => return Err(invalid(f("hash_hex"), "32 bytes")),
                Err(e) => return Err(invalid(f("hash_hex"), e.to_string())),
            }
        }
        Ok(Self { users })
    }

    /// Reads a users file.
    ///
    /// # Errors
    /// [`UsersError::Io`] or [`UsersError::Invalid`].
    pub fn load(path: &Path) -> Result<Self, UsersError> {
        let bytes = std::fs::read(path).map_err(|e| UsersError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Self::from_json(&bytes)
    }

    /// The entries.
    pub fn users(&self) -> &[UserEntry] {
        &self.users
    }

    /// Checks a password; the authenticated user with their roles.
    ///
    /// # Errors
    /// [`UsersError::BadCredentials`] for an unknown user or a wrong password.
    pub fn authenticate(&self, user_id: &str, password: &str) -> Result<Actor, UsersError> {
        let refused = || UsersError::BadCredentials {
            user_id: user_id.to_string(),
        };
        let Some(u) = self.users.iter().find(|u| u.user_id == user_id) else {
            // Same work as for a known user, so timing does not tell which names exist.
            let mut sink = [0u8; 32];
            pbkdf2_hmac_sha256(password.as_bytes(), b"utkik-no-such-user", MIN_ITERATIONS, &mut sink);
            return Err(refused());
        };
        let salt = hex::decode(&u.salt_hex).map_err(|_| refused())?;
        let expected = hex::decode(&u.hash_hex).map_err(|_| refused())?;
        let mut got = [0u8; 32];
        pbkdf2_hmac_sha256(password.as_bytes(), &salt, u.iterations, &mut got);
        if constant_time_eq(&got, &expected) {
            Ok(Actor::new(u.user_id.clone(), u.roles.iter().copied()))
        } else {
            Err(refused())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> UserDirectory {
        UserDirectory::from_entries(vec![UserEntry::with_password(
            "anna",
            "Anna",
            vec![Role::Operator],
            "correct horse",
            &[7; 16],
            MIN_ITERATIONS,
        )])
        .unwrap()
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
        let mut e = UserEntry::with_password("anna", "A", vec![Role::Auditor], "pw", &[1; 16], MIN_ITERATIONS);
        e.iterations = 1000;
        let err = UserDirectory::from_entries(vec![e.clone()]).unwrap_err();
        assert!(
            matches!(&err, UsersError::Invalid { field, .. } if field == "users[0].iterations"),
            "{err}"
        );
        e.iterations = MIN_ITERATIONS;
        e.salt_hex = "0102".into();
        let err = UserDirectory::from_entries(vec![e.clone()]).unwrap_err();
        assert!(
            matches!(&err, UsersError::Invalid { field, .. } if field == "users[0].salt_hex"),
            "{err}"
        );
        let ok = UserEntry::with_password("anna", "A", vec![Role::Auditor], "pw", &[1; 16], MIN_ITERATIONS);
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
    }

    /// The demo users file (hashes made with Python's `hashlib.pbkdf2_hmac`, an independent
    /// implementation) signs in each demo user with the password in assets/users/README.md.
    #[test]
    fn demo_users_file_matches_the_readme_passwords() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/users/demo-users.json");
        let d = UserDirectory::load(&path).unwrap();
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
        }
    }
}
