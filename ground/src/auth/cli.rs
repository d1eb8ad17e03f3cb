//! `utkik-ground users add|passwd|list --users FILE`: creates and maintains the users file, so a
//! station can be set up without the DEMO users and an old (PBKDF2) entry can be given a new
//! password. Passwords are read from stdin (asked twice on a terminal), never from the command
//! line, where other accounts could read them in the process list. The file is written `0600`
//! and replaced atomically; a new file is created when none exists.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use utkik_shared::authz::Role;

use super::password::{self, HashParams};
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
    /// Set a new password for a user (also for an old PBKDF2 entry); read from stdin.
    Passwd {
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
            };
            dir.clone().add(probe.clone())?;
            let pw = read_new_password(input, terminal, user)?;
            let hash = password::hash_password(&pw, params).map_err(|e| UsersError::Edit(e.to_string()))?;
            dir.add(UserEntry {
                password_hash: Some(hash),
                ..probe
            })?;
            dir.save(users)?;
            Ok(format!("{}: added `{user}`", users.display()))
        }
        UsersCmd::Passwd { users, user } => {
            let mut dir = UserDirectory::load(users)?;
            if !dir.users().iter().any(|u| &u.user_id == user) {
                return Err(UsersError::Edit(format!("no user `{user}` in {}", users.display())));
            }
            let pw = read_new_password(input, terminal, user)?;
            let hash = password::hash_password(&pw, params).map_err(|e| UsersError::Edit(e.to_string()))?;
            dir.set_password_hash(user, hash)?;
            dir.save(users)?;
            Ok(format!("{}: new password for `{user}`", users.display()))
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
                let state = if u.password_hash.is_some() {
                    "argon2id"
                } else {
                    "NEEDS A NEW PASSWORD (users passwd)"
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
        };
        assert!(run_with(&nobody, &mut &b"new-secret-1\n"[..], false, HashParams::MINIMUM).is_err());
    }
}
