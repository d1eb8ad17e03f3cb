//! Which users file, trust store, link key and audit key the live station starts with (issue 14
//! item 1: no silent demo).
//!
//! Without `--demo`, each must be named on the command line; when any is missing the station
//! refuses to start and names every missing one with its flag and how to make it. A file that
//! is (or carries) the public DEMO set is refused too, so the DEMO keys cannot end up in a real
//! deployment by a copied command line. Secret files (users, link key, audit key) must be mode
//! `0600` (`utkik_shared::secret_file`); the trust store holds public keys only.
//!
//! With `--demo`, the compiled-in DEMO set is written `0600` into `RECORD_DIR/DEMO-keys/`
//! (`utkik_shared::demo::stage`) and read from there like any key, and the run says DEMO in
//! its window title, its console banner and (through the DEMO audit key's id) every audit
//! checkpoint. `--demo` takes the whole DEMO set: it cannot be mixed with real files, so a DEMO
//! run never signs with a real key and a real run never trusts a DEMO one.
//!
//! The seal key (`--seal-key`, `utkik_shared::seal`) opens the evidence crops and plate images
//! drones seal to the station's public key. It is optional: a station without it starts (it may
//! serve drones without a gate or hit list, which send no images) but says at start-up that it
//! will refuse every sealed image, and then refuses each naming its alert. With `--demo` it is the
//! DEMO seal key; given by path it is a secret file (mode 0600) and may not be the DEMO key.

use std::path::{Path, PathBuf};

use utkik_shared::demo::{self, DemoSet};
use utkik_shared::secret_file::{self, SecretFileError};

/// Folder of the staged DEMO set inside the record directory.
pub const DEMO_DIR_NAME: &str = "DEMO-keys";

/// The files as given on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyArgs {
    /// `--demo`.
    pub demo: bool,
    /// `--users`.
    pub users: Option<PathBuf>,
    /// `--trust-store`.
    pub trust_store: Option<PathBuf>,
    /// `--link-key`.
    pub link_key: Option<PathBuf>,
    /// `--audit-key`.
    pub audit_key: Option<PathBuf>,
    /// `--seal-key` (optional).
    pub seal_key: Option<PathBuf>,
}

/// The files the station runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationKeys {
    /// The DEMO set, when `--demo`.
    pub demo: Option<DemoSet>,
    /// Users file.
    pub users: PathBuf,
    /// Trust store.
    pub trust_store: PathBuf,
    /// Link key.
    pub link_key: PathBuf,
    /// Audit checkpoint key.
    pub audit_key: PathBuf,
    /// The seal key that opens the drones' sealed images (`None`: every sealed image is refused).
    pub seal_key: Option<PathBuf>,
}

impl StationKeys {
    /// Whether this is a DEMO run.
    pub fn is_demo(&self) -> bool {
        self.demo.is_some()
    }
}

/// Why the station does not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Files not configured (each line: what, the flag, how to get one).
    #[error(
        "not starting: {} not configured (no file is used unless named; there is no silent demo):\n{}\n\
         To run the demo with the public DEMO users and keys instead, pass --demo (everything it \
         writes then says DEMO).",
        if missing.len() == 1 { "this is" } else { "these are" },
        missing.iter().map(|m| format!("  - {m}")).collect::<Vec<_>>().join("\n")
    )]
    Missing {
        /// One line per missing file.
        missing: Vec<String>,
    },
    /// `--demo` with a real file.
    #[error("--demo uses the whole public DEMO set; it cannot be combined with {flag} (drop one of them)")]
    DemoMixed {
        /// The flag given.
        flag: &'static str,
    },
    /// A DEMO file without `--demo`.
    #[error(
        "{path} ({flag}) is part of the public DEMO set (its key or passwords are published): refused \
         without --demo; give your own file, or pass --demo to run the demo"
    )]
    DemoWithoutFlag {
        /// The file.
        path: PathBuf,
        /// Its flag.
        flag: &'static str,
    },
    /// A secret file that cannot be used (mode, missing, unreadable).
    #[error("{flag}: {source}")]
    Secret {
        /// Its flag.
        flag: &'static str,
        /// Why.
        source: SecretFileError,
    },
    /// The trust store cannot be read.
    #[error("--trust-store {path}: {message}")]
    TrustStore {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

const USERS_HOW: &str =
    "users file: --users FILE (create it with `utkik-ground users add --users FILE USER --role operator`)";
const TRUST_HOW: &str = "trust store of issuer keys: --trust-store FILE (the public keys of the prosecutors and courts whose permits are accepted)";
const LINK_HOW: &str =
    "link signing key: --link-key FILE (format utkik-link-key/1, the same key as the drone's gate.link_key; mode 0600)";
const AUDIT_HOW: &str = "audit checkpoint key: --audit-key FILE (format utkik-audit-key/1, an ed25519 seed; mode 0600)";

/// Decides the station's files (see the module doc); with `--demo`, stages the DEMO set into
/// `record_dir/DEMO-keys`.
///
/// # Errors
/// [`StartupError`] naming every missing file, a DEMO file without `--demo`, `--demo` mixed
/// with a real file, or a secret file others may read.
pub fn resolve(args: &KeyArgs, record_dir: &Path) -> Result<StationKeys, StartupError> {
    let given = [
        ("--users", &args.users, USERS_HOW, true),
        ("--trust-store", &args.trust_store, TRUST_HOW, false),
        ("--link-key", &args.link_key, LINK_HOW, true),
        ("--audit-key", &args.audit_key, AUDIT_HOW, true),
    ];
    if args.demo {
        if let Some((flag, ..)) = given.iter().find(|(_, p, ..)| p.is_some()) {
            return Err(StartupError::DemoMixed { flag });
        }
        if args.seal_key.is_some() {
            return Err(StartupError::DemoMixed { flag: "--seal-key" });
        }
        let set = demo::stage(&record_dir.join(DEMO_DIR_NAME))
            .map_err(|source| StartupError::Secret { flag: "--demo", source })?;
        return Ok(StationKeys {
            users: set.users.clone(),
            trust_store: set.trust_store.clone(),
            link_key: set.link_key.clone(),
            audit_key: set.ground_audit_key.clone(),
            seal_key: Some(set.seal_key.clone()),
            demo: Some(set),
        });
    }
    let missing: Vec<String> = given
        .iter()
        .filter(|(_, p, ..)| p.is_none())
        .map(|(_, _, how, _)| (*how).to_string())
        .collect();
    if !missing.is_empty() {
        return Err(StartupError::Missing { missing });
    }
    for (flag, path, _, secret) in given {
        let path = path.as_ref().expect("checked above");
        let bytes = if secret {
            secret_file::read_secret(path).map_err(|source| StartupError::Secret { flag, source })?
        } else {
            std::fs::read(path).map_err(|e| StartupError::TrustStore {
                path: path.clone(),
                message: e.to_string(),
            })?
        };
        if demo::looks_like_demo(&bytes) {
            return Err(StartupError::DemoWithoutFlag {
                path: path.clone(),
                flag,
            });
        }
    }
    if let Some(path) = &args.seal_key {
        let flag = "--seal-key";
        let bytes = secret_file::read_secret(path).map_err(|source| StartupError::Secret { flag, source })?;
        if demo::looks_like_demo(&bytes) {
            return Err(StartupError::DemoWithoutFlag {
                path: path.clone(),
                flag,
            });
        }
    }
    let take = |p: &Option<PathBuf>| p.clone().expect("checked above");
    Ok(StationKeys {
        demo: None,
        users: take(&args.users),
        trust_store: take(&args.trust_store),
        link_key: take(&args.link_key),
        audit_key: take(&args.audit_key),
        seal_key: args.seal_key.clone(),
    })
}

/// The window title.
pub fn window_title(demo: bool) -> String {
    if demo {
        format!("Utkik ground station - {}", demo::DEMO_BANNER)
    } else {
        "Utkik ground station".into()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    /// Real-looking files (not the DEMO set; the contents are not parsed here).
    fn real(dir: &Path) -> KeyArgs {
        KeyArgs {
            demo: false,
            users: Some(write(
                dir,
                "users.json",
                r#"{"format":"utkik-users/2","users":[]}"#,
                0o600,
            )),
            trust_store: Some(write(
                dir,
                "trust.json",
                r#"{"format":"utkik-trust-store/1","keys":[]}"#,
                0o644,
            )),
            link_key: Some(write(
                dir,
                "link.json",
                r#"{"format":"utkik-link-key/1","link_id":1,"secret_key_hex":"0101010101010101010101010101010101010101010101010101010101010101"}"#,
                0o600,
            )),
            audit_key: Some(write(
                dir,
                "audit.json",
                r#"{"format":"utkik-audit-key/1","key_id":"polisen-1","seed_hex":"0202020202020202020202020202020202020202020202020202020202020202"}"#,
                0o600,
            )),
            seal_key: None,
        }
    }

    /// `--seal-key`: optional; a real one is taken (0600 only), the DEMO one only with --demo,
    /// which brings its own and cannot be mixed with one given by path.
    #[test]
    fn the_seal_key_is_optional_private_and_demo_only_with_demo() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(resolve(&real(dir.path()), dir.path()).unwrap().seal_key, None);
        let keys = utkik_shared::seal::SealKeyPair::generate();
        let (sk, pk) = (dir.path().join("seal.key.json"), dir.path().join("seal.public.json"));
        keys.write_files(&sk, &pk, "test").unwrap();
        let args = KeyArgs {
            seal_key: Some(sk.clone()),
            ..real(dir.path())
        };
        assert_eq!(resolve(&args, dir.path()).unwrap().seal_key, Some(sk.clone()));
        std::fs::set_permissions(&sk, std::fs::Permissions::from_mode(0o640)).unwrap();
        let msg = resolve(&args, dir.path()).unwrap_err().to_string();
        assert!(msg.contains("--seal-key") && msg.contains("chmod 600"), "{msg}");
        let demo_copy = write(
            dir.path(),
            "copied.json",
            std::str::from_utf8(demo::SEAL_KEY_JSON).unwrap(),
            0o600,
        );
        let args = KeyArgs {
            seal_key: Some(demo_copy),
            ..real(dir.path())
        };
        let msg = resolve(&args, dir.path()).unwrap_err().to_string();
        assert!(msg.contains("--seal-key") && msg.contains("DEMO"), "{msg}");
        let demo_run = resolve(
            &KeyArgs {
                demo: true,
                ..Default::default()
            },
            dir.path(),
        )
        .unwrap();
        let staged = demo_run.seal_key.unwrap();
        assert_eq!(std::fs::read(&staged).unwrap(), demo::SEAL_KEY_JSON);
        let mixed = KeyArgs {
            demo: true,
            seal_key: Some(sk),
            ..Default::default()
        };
        assert!(
            resolve(&mixed, dir.path())
                .unwrap_err()
                .to_string()
                .contains("--seal-key")
        );
    }

    #[test]
    fn nothing_configured_is_refused_naming_every_missing_file_and_its_flag() {
        let dir = tempfile::tempdir().unwrap();
        let e = resolve(&KeyArgs::default(), dir.path()).unwrap_err();
        let msg = e.to_string();
        for flag in [
            "--users",
            "--trust-store",
            "--link-key",
            "--audit-key",
            "--demo",
            "users add",
        ] {
            assert!(msg.contains(flag), "{flag} not in: {msg}");
        }
        // Nothing was staged: no DEMO file appears without --demo.
        assert!(!dir.path().join(DEMO_DIR_NAME).exists());
        // One missing: only that one is named.
        let mut args = real(dir.path());
        args.audit_key = None;
        let msg = resolve(&args, dir.path()).unwrap_err().to_string();
        assert!(msg.contains("--audit-key") && !msg.contains("--users FILE"), "{msg}");
    }

    #[test]
    fn real_files_are_taken() {
        let dir = tempfile::tempdir().unwrap();
        let args = real(dir.path());
        let k = resolve(&args, dir.path()).unwrap();
        assert!(!k.is_demo());
        assert_eq!(Some(k.link_key), args.link_key);
        assert_eq!(window_title(false), "Utkik ground station");
    }

    #[test]
    fn a_secret_file_others_can_read_is_refused_naming_flag_file_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        for flag in ["--users", "--link-key", "--audit-key"] {
            let args = real(dir.path());
            let path = match flag {
                "--users" => args.users.clone(),
                "--link-key" => args.link_key.clone(),
                _ => args.audit_key.clone(),
            }
            .unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let msg = resolve(&args, dir.path()).unwrap_err().to_string();
            assert!(
                msg.contains(flag)
                    && msg.contains(&path.display().to_string())
                    && msg.contains("0644")
                    && msg.contains("chmod 600"),
                "{msg}"
            );
        }
    }

    #[test]
    fn demo_files_are_refused_without_demo_even_when_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        for (flag, bytes) in [
            ("--users", demo::USERS_JSON),
            ("--trust-store", demo::TRUST_STORE_JSON),
            ("--link-key", demo::LINK_KEY_JSON),
            ("--audit-key", demo::GROUND_AUDIT_KEY_JSON),
        ] {
            let mut args = real(dir.path());
            let p = dir.path().join(format!("copy{}.json", flag.trim_start_matches('-')));
            secret_file::write_secret(&p, bytes).unwrap();
            match flag {
                "--users" => args.users = Some(p),
                "--trust-store" => args.trust_store = Some(p),
                "--link-key" => args.link_key = Some(p),
                _ => args.audit_key = Some(p),
            }
            let e = resolve(&args, dir.path()).unwrap_err();
            assert!(
                matches!(e, StartupError::DemoWithoutFlag { flag: f, .. } if f == flag),
                "{e}"
            );
            assert!(e.to_string().contains("--demo"));
        }
    }

    #[test]
    fn demo_stages_the_whole_demo_set_owner_only_and_refuses_mixing() {
        let dir = tempfile::tempdir().unwrap();
        let k = resolve(
            &KeyArgs {
                demo: true,
                ..KeyArgs::default()
            },
            dir.path(),
        )
        .unwrap();
        assert!(k.is_demo());
        assert!(k.users.starts_with(dir.path().join(DEMO_DIR_NAME)));
        for p in [&k.users, &k.link_key, &k.audit_key] {
            secret_file::check_secret_file(p).unwrap();
        }
        assert!(window_title(true).contains("DEMO"));
        let mixed = KeyArgs {
            demo: true,
            ..real(dir.path())
        };
        assert!(matches!(
            resolve(&mixed, dir.path()),
            Err(StartupError::DemoMixed { .. })
        ));
    }
}
