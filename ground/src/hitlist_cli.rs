//! `utkik-ground hitlist sign|verify`: the ANPR hit list as a signed document (LAW.md section 7,
//! `utkik_shared::hitlist::signed`).
//!
//! `sign` turns typed entries (`plate<TAB>expires<TAB>reason[<TAB>added_by]`,
//! `utkik_shared::hitlist::tsv`) into a list signed with the senior officer's *own* crew key:
//! the key is opened with her password exactly as at sign-in (`auth::signing_key`; the password
//! is checked against the users file first), and she must hold the senior-officer role there.
//! The drone checks the same again against its trust store. `added_by` names a user of the
//! users file (an operator may propose entries); without it the signer is named.
//!
//! `verify` checks a list as the drone does (trust store, signer role, signature, validity,
//! plate grammar) and prints who signed it, its entries and its validity, or the reason it is
//! refused.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use utkik_shared::authz::{Role, TrustStore};
use utkik_shared::hitlist::tsv::{document_from_entries, load_entries};
use utkik_shared::hitlist::{HitList, HitListError, SignedHitList, load_hit_list};
use utkik_shared::plate::PlateGrammar;
use utkik_shared::utc::format_utc_usec;

use crate::auth::{UserDirectory, UsersError};

/// Default validity of a signed list, hours.
pub const DEFAULT_VALID_HOURS: u64 = 24;

/// `utkik-ground hitlist ...`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum HitlistCmd {
    /// Sign typed entries (TSV) as a hit list with a senior officer's own key; the password is
    /// read from stdin (prompted on a terminal) or from --password-file.
    Sign {
        /// The users file (the senior officer's password and encrypted signing key).
        #[arg(long)]
        users: PathBuf,
        /// The signing senior officer's user id.
        #[arg(long)]
        user: String,
        /// Typed entries: `plate<TAB>expires<TAB>reason[<TAB>added_by]` a line.
        #[arg(long = "in")]
        input: PathBuf,
        /// Output: the signed list (JSON, `utkik-hit-list/1`).
        #[arg(long)]
        out: PathBuf,
        /// Hours from now the list stays valid (the drone refuses it, and makes no hits, after).
        #[arg(long, default_value_t = DEFAULT_VALID_HOURS)]
        valid_hours: u64,
        /// The list's id (default: USER-ISSUED_AT).
        #[arg(long)]
        list_id: Option<String>,
        /// Read the password from the first line of this file instead of stdin.
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Countries whose plate formats the drone reads (as `detect.plate_countries`).
        #[arg(long = "plate-country", default_value = "SE")]
        plate_countries: Vec<String>,
    },
    /// Verify a signed hit list as the drone does and print it, or why it is refused (exit 1).
    Verify {
        /// The trust store the drone verifies with.
        #[arg(long)]
        trust_store: PathBuf,
        /// Countries whose plate formats the drone reads (as `detect.plate_countries`).
        #[arg(long = "plate-country", default_value = "SE")]
        plate_countries: Vec<String>,
        /// The signed list.
        list: PathBuf,
    },
}

/// Why a `hitlist` command failed.
#[derive(Debug, thiserror::Error)]
pub enum HitlistCliError {
    /// The users file, the sign-in or the signing key.
    #[error(transparent)]
    Users(#[from] UsersError),
    /// The entries, or the list refused.
    #[error(transparent)]
    HitList(#[from] HitListError),
    /// Anything else, with what it is about.
    #[error("{0}")]
    Other(String),
}

fn grammar(countries: &[String]) -> Result<PlateGrammar, HitlistCliError> {
    let c: Vec<&str> = countries.iter().map(String::as_str).collect();
    PlateGrammar::for_countries(&c).map_err(|e| HitlistCliError::Other(format!("--plate-country: {e}")))
}

fn read_password(
    password_file: Option<&Path>,
    input: &mut dyn BufRead,
    terminal: bool,
    user: &str,
) -> Result<String, HitlistCliError> {
    let mut line = String::new();
    match password_file {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| HitlistCliError::Other(format!("--password-file {}: {e}", p.display())))?;
            line = text.lines().next().unwrap_or_default().to_string();
        }
        None => {
            if terminal {
                eprint!("password of {user} (opens the signing key; shown as typed): ");
                let _ = std::io::stderr().flush();
            }
            input
                .read_line(&mut line)
                .map_err(|e| HitlistCliError::Other(format!("reading the password from stdin: {e}")))?;
        }
    }
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Prints a verified list: who, validity, entries.
pub fn describe(list: &HitList) -> String {
    let mut s = format!(
        "hit list `{}`: signed by {} (senior officer), issued {}, valid until {}, {} entries, digest {}\n",
        list.list_id(),
        list.signer(),
        format_utc_usec(list.issued_at_usec()),
        format_utc_usec(list.valid_until_usec()),
        list.len(),
        list.digest_hex()
    );
    for e in list.entries() {
        s.push_str(&format!(
            "  #{} {}  expires {}  added by {} at {}  reason: {}\n",
            e.entry_id,
            e.display,
            format_utc_usec(e.expires_usec),
            e.added_by,
            format_utc_usec(e.added_at_usec),
            e.reason
        ));
    }
    s
}

/// Runs a `hitlist` command at clock value `now_usec`, the password (for `sign`) from `input`
/// unless a file is named; the text to print.
///
/// # Errors
/// [`HitlistCliError`] naming the file, the user, the line or the field.
pub fn run_with(
    cmd: &HitlistCmd,
    input: &mut dyn BufRead,
    terminal: bool,
    now_usec: u64,
) -> Result<String, HitlistCliError> {
    match cmd {
        HitlistCmd::Sign {
            users,
            user,
            input: entries_path,
            out,
            valid_hours,
            list_id,
            password_file,
            plate_countries,
        } => {
            let grammar = grammar(plate_countries)?;
            let dir = UserDirectory::load(users)?;
            let entries = load_entries(entries_path, &grammar)?;
            for e in &entries {
                if let Some(by) = &e.added_by
                    && dir.get(by).is_none()
                {
                    return Err(HitListError::Line {
                        path: Some(entries_path.clone()),
                        line: e.line,
                        field: "added_by",
                        reason: format!("`{by}` is not a user of {}", users.display()),
                    }
                    .into());
                }
            }
            let password = read_password(password_file.as_deref(), input, terminal, user)?;
            let actor = dir.authenticate(user, &password)?;
            if !actor.has_role(Role::SeniorOfficer) {
                return Err(HitlistCliError::Other(format!(
                    "`{user}` is not a senior officer: only a senior officer signs a hit list (LAW.md section 7)"
                )));
            }
            let signer = dir.unlock_signing_key(user, &password)?.ok_or_else(|| {
                HitlistCliError::Other(format!(
                    "`{user}` has no signing key in {} (`utkik-ground users passwd --new-key`)",
                    users.display()
                ))
            })?;
            if *valid_hours == 0 {
                return Err(HitlistCliError::Other("--valid-hours must be at least 1".into()));
            }
            let valid_until_usec = valid_hours
                .checked_mul(3_600_000_000)
                .and_then(|d| now_usec.checked_add(d))
                .ok_or_else(|| HitlistCliError::Other(format!("--valid-hours {valid_hours} is too large")))?;
            let id = list_id
                .clone()
                .unwrap_or_else(|| format!("{user}-{}", format_utc_usec(now_usec)));
            let doc = document_from_entries(&entries, &id, user, now_usec, valid_until_usec);
            let signed = SignedHitList::sign(doc, signer.key());
            utkik_shared::atomic_file::write_atomic(out, signed.to_json_pretty().as_bytes(), 0o644)
                .map_err(|e| HitlistCliError::Other(format!("writing {}: {e}", out.display())))?;
            Ok(format!(
                "{} entries signed by {user} -> {} (list `{id}`, valid until {}); the drone's trust store must list {user} as senior officer",
                entries.len(),
                out.display(),
                format_utc_usec(valid_until_usec)
            ))
        }
        HitlistCmd::Verify {
            trust_store,
            plate_countries,
            list,
        } => {
            let grammar = grammar(plate_countries)?;
            let trust = TrustStore::load(trust_store)
                .map_err(|e| HitlistCliError::Other(format!("trust store {}: {e}", trust_store.display())))?;
            let verified = load_hit_list(list, &trust, &grammar, now_usec)?;
            Ok(describe(&verified))
        }
    }
}

/// Runs a `hitlist` command with the password from the process's stdin at the system clock.
///
/// # Errors
/// As [`run_with`].
pub fn run(cmd: &HitlistCmd) -> Result<String, HitlistCliError> {
    let terminal = std::io::stdin().is_terminal();
    run_with(
        cmd,
        &mut std::io::stdin().lock(),
        terminal,
        crate::audit_log::wall_clock_usec(),
    )
}
