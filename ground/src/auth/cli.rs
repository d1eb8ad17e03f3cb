//! `utkik-ground users add|passwd|list|trust-entry --users FILE`: creates and maintains the users
//! file, so a station can be set up without the DEMO users and an old (PBKDF2) entry can be
//! given a new password. Passwords are read from stdin (asked twice on a terminal), never from
//! the command line, where other accounts could read them in the process list. The file is
//! written `0600` and replaced atomically; a new file is created when none exists.
//!
//! Crew members get a command-signing key (`signing_key.rs`): `add` makes one, `passwd`
//! re-encrypts it under the new password (the current password is read first, one line before
//! the new one) or makes a new one with `--new-key`, and `trust-entry` prints the user's entry
//! for the drone's trust store (`users` of `utkik-trust-store/2`: the public key and roles).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use utkik_shared::authz::Role;

use super::password::HashParams;
use super::users::{UserDirectory, UserEntry, UsersError};

/// Shortest password accepted (NIST SP 800-63B's minimum for a memorised secret).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// `utkik-ground users ...`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum UsersCmd {
    /// Add a user (creates the file when it does not exist); the password is read from stdin.
    Add {
        /// The users file.
        #[arg(long)]
        users: PathBuf,
        /// Sign-in name (1 to 16 printable ASCII characters).
        user: String,
        /// Role (repeatable): operator, senior_officer, pilot, auditor.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Name shown in the UI (default: the sign-in name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Set a new password for a user (also for an old PBKDF2 entry); read from stdin. A user
    /// with a signing key gives the current password first (its key is re-encrypted).
    Passwd {
        /// The users file.
        #[arg(long)]
        users: PathBuf,
        /// Sign-in name.
        user: String,
        /// Make a new signing key instead of re-encrypting the old one (the current password is
        /// lost, or the entry predates signing keys). Its public key must then go into the
        /// drone's trust store (`users trust-entry`).
        #[arg(long)]
        new_key: bool,
    },
    /// Print a user's entry for the drone's trust store (JSON: user id, roles, public key).
    TrustEntry {
        /// The users file.
        #[arg(long)]
        users: PathBuf,
        /// Sign-in name.
        user: String,
    },
    /// List users, roles and whether each can sign in.
    List {
        /// The users file.
        #[arg(long)]
        users: PathBuf,
    },
}

fn parse_role(text: &str) -> Result<Role, UsersError> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).map_err(|_| {
        UsersError::Edit(format!(
            "role `{text}` is not one of operator, senior_officer, pilot, auditor"
        ))
    })
}

/// Reads a new password from `input`: one line, or (on a terminal) two that must agree.
///
/// # Errors
/// [`UsersError::Edit`]: no input, too short, the two differ.
pub fn read_new_password(input: &mut dyn BufRead, terminal: bool, user: &str) -> Result<String, UsersError> {
    let mut read = |prompt: &str| -> Result<String, UsersError> {
        if terminal {
            eprint!("{prompt}");
            let _ = std::io::stderr().flush();
        }
        let mut line = String::new();
        input
            .read_line(&mut line)
            .map_err(|e| UsersError::Edit(format!("reading the password from stdin: {e}")))?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    };
    let pw = read(&format!("new password for {user} (shown as typed): "))?;
    if pw.chars().count() < MIN_PASSWORD_CHARS {
        return Err(UsersError::Edit(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if terminal && read("again: ")? != pw {
        return Err(UsersError::Edit("the two passwords differ; nothing changed".into()));
    }
    Ok(pw)
}

/// Reads the current password (one line; prompted on a terminal), to open the signing key.
///
/// # Errors
/// [`UsersError::Edit`] when nothing can be read.
pub fn read_current_password(input: &mut dyn BufRead, terminal: bool, user: &str) -> Result<String, UsersError> {
    if terminal {
        eprint!("current password of {user} (to re-encrypt the signing key): ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| UsersError::Edit(format!("reading the current password from stdin: {e}")))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn load_or_new(path: &Path) -> Result<UserDirectory, UsersError> {
    if path.exists() {
        UserDirectory::load(path)
    } else {
        Ok(UserDirectory::default())
    }
}

/// Runs a `users` command with the password from `input`; the line to print.
///
/// # Errors
/// [`UsersError`] naming the file, the user or the field.
pub fn run_with(
    cmd: &UsersCmd,
    input: &mut dyn BufRead,
    terminal: bool,
    params: HashParams,
) -> Result<String, UsersError> {
    match cmd {
        UsersCmd::Add {
            users,
            user,
            roles,
            name,
        } => {
            let mut dir = load_or_new(users)?;
            let roles = roles.iter().map(|r| parse_role(r)).collect::<Result<Vec<_>, _>>()?;
            // Checks the name and roles before asking for a password.
            let probe = UserEntry {
                user_id: user.clone(),
                display_name: name.clone().unwrap_or_else(|| user.clone()),
                roles,
                password_hash: None,
                signing_key: None,
            };
            dir.clone().add(probe.clone())?;
            let pw = read_new_password(input, terminal, user)?;
            // The hash and, for a crew member, a new signing key encrypted under the password.
            let entry = UserEntry::with_password(user, &probe.display_name, probe.roles.clone(), &pw, params);
            let has_key = entry.signing_key.is_some();
            dir.add(entry)?;
            dir.save(users)?;
            Ok(if has_key {
                format!(
                    "{}: added `{user}` with a command-signing key; put its public key into the drone's trust store: utkik-ground users trust-entry --users {} {user}",
                    users.display(),
                    users.display()
                )
            } else {
                format!("{}: added `{user}`", users.display())
            })
        }
        UsersCmd::Passwd { users, user, new_key } => {
            let mut dir = UserDirectory::load(users)?;
            let Some(entry) = dir.get(user) else {
                return Err(UsersError::Edit(format!("no user `{user}` in {}", users.display())));
            };
            let had_key = entry.signing_key.is_some();
            let old = if had_key && !new_key {
                Some(read_current_password(input, terminal, user)?)
            } else {
                None
            };
            let pw = read_new_password(input, terminal, user)?;
            dir.set_password(user, old.as_deref(), &pw, *new_key, params)?;
            let now_has_key = dir.get(user).is_some_and(|u| u.signing_key.is_some());
            dir.save(users)?;
            Ok(if now_has_key && (!had_key || *new_key) {
                format!(
                    "{}: new password and a NEW command-signing key for `{user}`; put its public key into the drone's trust store: utkik-ground users trust-entry --users {} {user}",
                    users.display(),
                    users.display()
                )
            } else {
                format!("{}: new password for `{user}`", users.display())
            })
        }
        UsersCmd::TrustEntry { users, user } => {
            let dir = UserDirectory::load(users)?;
            let u = dir
                .get(user)
                .ok_or_else(|| UsersError::Edit(format!("no user `{user}` in {}", users.display())))?;
            let k = u.signing_key.as_ref().ok_or_else(|| {
                UsersError::Edit(format!(
                    "`{user}` has no command-signing key: utkik-ground users passwd --new-key --users {} {user}",
                    users.display()
                ))
            })?;
            let entry = utkik_shared::authz::TrustStoreUserEntry {
                user_id: u.user_id.clone(),
                roles: u.roles.clone(),
                holder: u.display_name.clone(),
                public_key_hex: k.public_key_hex.clone(),
            };
            Ok(serde_json::to_string_pretty(&entry).unwrap_or_default())
        }
        UsersCmd::List { users } => {
            let dir = UserDirectory::load(users)?;
            let mut out = String::new();
            for u in dir.users() {
                let roles: Vec<String> = u
                    .roles
                    .iter()
                    .map(|r| {
                        serde_json::to_value(r)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default()
                    })
                    .collect();
                let state = match (&u.password_hash, &u.signing_key) {
                    (None, _) => "NEEDS A NEW PASSWORD (users passwd)",
                    (Some(_), Some(_)) => "argon2id, signing key",
                    (Some(_), None) if super::users::is_crew(&u.roles) => {
                        "argon2id, NO SIGNING KEY: commands refused (users passwd --new-key)"
                    }
                    (Some(_), None) => "argon2id",
                };
                out.push_str(&format!(
                    "{}\t{}\t{}\t{state}\n",
                    u.user_id,
                    roles.join(","),
                    u.display_name
                ));
            }
            Ok(out.trim_end().to_string())
        }
    }
}

/// Runs a `users` command with the password from the process's stdin.
///
/// # Errors
/// As [`run_with`].
pub fn run(cmd: &UsersCmd) -> Result<String, UsersError> {
    let terminal = std::io::stdin().is_terminal();
    run_with(cmd, &mut std::io::stdin().lock(), terminal, HashParams::DEFAULT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(path: &Path, user: &str, roles: &[&str], pw: &str) -> Result<String, UsersError> {
        let cmd = UsersCmd::Add {
            users: path.to_path_buf(),
            user: user.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            name: None,
        };
        run_with(&cmd, &mut pw.as_bytes(), false, HashParams::MINIMUM)
    }

    #[test]
    fn add_creates_an_owner_only_file_that_signs_in() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("users.json");
        add(&p, "anna", &["operator"], "anna-secret-1\n").unwrap();
        add(&p, "cecilia", &["senior_officer", "operator"], "cecilia-secret\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let d = UserDirectory::load(&p).unwrap();
        assert!(d.authenticate("anna", "anna-secret-1").is_ok());
        let c = d.authenticate("cecilia", "cecilia-secret").unwrap();
        assert!(c.has_role(Role::SeniorOfficer) && c.has_role(Role::Operator));
        // The file holds no password.
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("anna-secret-1") && text.contains("$argon2id$"), "{text}");
        // Existing user, bad role, short password: refused, file unchanged.
        assert!(add(&p, "anna", &["pilot"], "whatever-1\n").is_err());
        let e = add(&p, "bo", &["admiral"], "whatever-1\n").unwrap_err();
        assert!(e.to_string().contains("admiral"), "{e}");
        let e = add(&p, "bo", &["pilot"], "short\n").unwrap_err();
        assert!(e.to_string().contains("at least 8"), "{e}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
    }

    #[test]
    fn passwd_sets_a_new_password_and_list_shows_who_needs_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("users.json");
        // An old PBKDF2 file, owner-only.
        utkik_shared::secret_file::write_secret(
            &p,
            br#"{ "format": "utkik-users/1", "users": [
            { "user_id": "anna", "display_name": "Anna", "roles": ["operator"],
              "kdf": "pbkdf2-hmac-sha256", "iterations": 100000,
              "salt_hex": "eccc6ba77fe5749873001e3b70b9c577", "hash_hex": "314a93d264291cfe8f0fdb276f6a35148e0240b671c1151ef741551064f4c850" } ] }"#,
        )
        .unwrap();
        let list = UsersCmd::List { users: p.clone() };
        let out = run_with(&list, &mut &b""[..], false, HashParams::MINIMUM).unwrap();
        assert!(
            out.contains("anna\toperator") && out.contains("NEEDS A NEW PASSWORD"),
            "{out}"
        );
        let passwd = UsersCmd::Passwd {
            users: p.clone(),
            user: "anna".into(),
            new_key: false,
        };
        // On a terminal the two entries must agree.
        assert!(
            run_with(
                &passwd,
                &mut &b"new-secret-1\nnew-secret-2\n"[..],
                true,
                HashParams::MINIMUM
            )
            .is_err()
        );
        run_with(
            &passwd,
            &mut &b"new-secret-1\nnew-secret-1\n"[..],
            true,
            HashParams::MINIMUM,
        )
        .unwrap();
        assert!(
            UserDirectory::load(&p)
                .unwrap()
                .authenticate("anna", "new-secret-1")
                .is_ok()
        );
        let out = run_with(&list, &mut &b""[..], false, HashParams::MINIMUM).unwrap();
        assert!(out.contains("argon2id") && !out.contains("NEEDS"), "{out}");
        let nobody = UsersCmd::Passwd {
            users: p,
            user: "nobody".into(),
            new_key: false,
        };
        assert!(run_with(&nobody, &mut &b"new-secret-1\n"[..], false, HashParams::MINIMUM).is_err());
    }

    /// A crew member's signing key: made by `add`, printed for the trust store, re-encrypted by
    /// `passwd` (same key, opens with the new password only), replaced with `--new-key`; the
    /// file never holds the seed in clear.
    #[test]
    fn add_makes_a_signing_key_passwd_re_encrypts_it_and_trust_entry_prints_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("users.json");
        let out = add(&p, "cecilia", &["senior_officer"], "cecilia-secret\n").unwrap();
        assert!(out.contains("users trust-entry"), "{out}");
        add(&p, "eva", &["auditor"], "eva-secret-1\n").unwrap();
        let d = UserDirectory::load(&p).unwrap();
        assert!(
            d.get("eva").unwrap().signing_key.is_none(),
            "an auditor gives no commands"
        );
        let signer = d.unlock_signing_key("cecilia", "cecilia-secret").unwrap().unwrap();
        let seed_hex = hex::encode(signer.key().to_bytes());
        assert!(!std::fs::read_to_string(&p).unwrap().contains(&seed_hex));
        assert!(d.unlock_signing_key("cecilia", "cecilia-secreT").is_err());
        // The trust-store entry parses as one and carries the public key and role.
        let entry = run_with(
            &UsersCmd::TrustEntry {
                users: p.clone(),
                user: "cecilia".into(),
            },
            &mut &b""[..],
            false,
            HashParams::MINIMUM,
        )
        .unwrap();
        let store = format!(r#"{{"format":"utkik-trust-store/2","keys":[],"users":[{entry}]}}"#);
        let store = utkik_shared::authz::TrustStore::from_json(store.as_bytes()).unwrap();
        let trusted = store.user("cecilia").unwrap();
        assert_eq!(trusted.key, signer.key().verifying_key());
        assert_eq!(trusted.roles, vec![Role::SeniorOfficer]);
        // passwd: current password first, then the new one; the same key, under the new password.
        let passwd = |new_key: bool, input: &[u8]| {
            run_with(
                &UsersCmd::Passwd {
                    users: p.clone(),
                    user: "cecilia".into(),
                    new_key,
                },
                &mut &input[..],
                false,
                HashParams::MINIMUM,
            )
        };
        assert!(
            passwd(false, b"wrong-current\nnew-secret-1\n").is_err(),
            "a wrong current password changes nothing"
        );
        passwd(false, b"cecilia-secret\nnew-secret-1\n").unwrap();
        let d = UserDirectory::load(&p).unwrap();
        assert!(d.authenticate("cecilia", "new-secret-1").is_ok());
        let again = d.unlock_signing_key("cecilia", "new-secret-1").unwrap().unwrap();
        assert_eq!(again.key().to_bytes(), signer.key().to_bytes(), "same key");
        assert!(
            d.unlock_signing_key("cecilia", "cecilia-secret").is_err(),
            "the old password opens nothing"
        );
        // --new-key: another key (the old password is not needed).
        let out = passwd(true, b"newer-secret-2\n").unwrap();
        assert!(out.contains("NEW command-signing key"), "{out}");
        let d = UserDirectory::load(&p).unwrap();
        let fresh = d.unlock_signing_key("cecilia", "newer-secret-2").unwrap().unwrap();
        assert_ne!(fresh.key().to_bytes(), signer.key().to_bytes());
    }
}
