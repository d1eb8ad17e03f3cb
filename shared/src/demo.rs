//! The DEMO set: the public users, trust store and keys under `assets/` that let anyone run the
//! demo and the scripted missions on one machine. Their passwords and seeds are published, so
//! nothing they sign or protect means anything outside the demo.
//!
//! Why this module: the programs must never fall back to these files silently (issue 14 item 1).
//! They are used only with an explicit `--demo`, and then everything the run produces says DEMO.
//! This module is the one place that knows the DEMO set:
//! - the files are compiled in (so `--demo` works from any directory and cannot pick up a
//!   different file by accident);
//! - [`stage`] writes them as `0600` files into a folder of the run, so they are read through
//!   the same [`crate::secret_file`] checks as real keys (git keeps no mode bits, so the
//!   committed copies are `0644` on a clone and a real loader rightly refuses them);
//! - [`is_demo_key_id`] / [`looks_like_demo`] recognise DEMO material, so a program started
//!   *without* `--demo` refuses a DEMO key or users file given by path, and a report of a run
//!   whose audit checkpoints were signed with the DEMO key says DEMO.

use std::path::{Path, PathBuf};

use crate::secret_file::{SecretFileError, write_secret};

/// Prefix of every DEMO key id (`DEMO-prosecutor-1`, `DEMO-ground-audit-1`); the audit log's
/// checkpoints carry the key id, so every checkpoint of a DEMO run says DEMO.
pub const DEMO_KEY_ID_PREFIX: &str = "DEMO";

/// One line for banners, window titles and reports.
pub const DEMO_BANNER: &str =
    "DEMO - public DEMO users and keys (passwords and seeds are published): not for operational use";

/// The DEMO users file (`assets/users/demo-users.json`; passwords in `assets/users/README.md`).
pub const USERS_JSON: &[u8] = include_bytes!("../../assets/users/demo-users.json");
/// The DEMO trust store (`assets/authz/demo-trust-store.json`): the DEMO prosecutor's key and
/// the DEMO crew's signing keys ([`user_signing_seed`]) with their roles.
pub const TRUST_STORE_JSON: &[u8] = include_bytes!("../../assets/authz/demo-trust-store.json");
/// The DEMO ground <-> drone link key (`assets/authz/DEMO-link.key.NOT-SECRET.json`).
pub const LINK_KEY_JSON: &[u8] = include_bytes!("../../assets/authz/DEMO-link.key.NOT-SECRET.json");
/// The DEMO ground audit checkpoint key (`assets/audit/DEMO-ground-audit.key.NOT-SECRET.json`).
pub const GROUND_AUDIT_KEY_JSON: &[u8] = include_bytes!("../../assets/audit/DEMO-ground-audit.key.NOT-SECRET.json");
/// The DEMO ground station's image seal key (`assets/authz/DEMO-seal.key.NOT-SECRET.json`,
/// `crate::seal`): its secret is SHA-256 of `utkik DEMO image seal key - public, not secret`, so
/// anyone can open what a DEMO drone sealed.
pub const SEAL_KEY_JSON: &[u8] = include_bytes!("../../assets/authz/DEMO-seal.key.NOT-SECRET.json");
/// The public half of [`SEAL_KEY_JSON`] (`assets/authz/DEMO-seal.public.json`), the DEMO drone's
/// `gate.ground_seal_public`.
pub const SEAL_PUBLIC_JSON: &[u8] = include_bytes!("../../assets/authz/DEMO-seal.public.json");
/// The public DEMO SRTP key of the masked re-stream (`utkik-video-key/1`, `crate::video_key`):
/// a DEMO run's video is encrypted on the wire, but anyone can open it.
pub const VIDEO_KEY_JSON: &[u8] = include_bytes!("../../assets/authz/DEMO-video.key.NOT-SECRET.json");

/// The DEMO crew who sign commands (LAW.md 4.5): user id and role, as in the DEMO users file and
/// the DEMO trust store. The auditor `eva` has no key (auditors give no commands).
pub const DEMO_CREW: [(&str, crate::authz::Role); 4] = [
    ("anna", crate::authz::Role::Operator),
    ("bertil", crate::authz::Role::Operator),
    ("cecilia", crate::authz::Role::SeniorOfficer),
    ("david", crate::authz::Role::Pilot),
];

/// The fixed, published (NOT SECRET) ed25519 seed of a DEMO crew member's command-signing key:
/// SHA-256 of `utkik DEMO user signing key - public, not secret: USER`. The DEMO users file holds
/// it encrypted under the user's DEMO password (as any users file does), the DEMO trust store
/// holds its public key; `None` for anyone not in [`DEMO_CREW`].
pub fn user_signing_seed(user_id: &str) -> Option<[u8; 32]> {
    use sha2::Digest as _;
    DEMO_CREW.iter().any(|(u, _)| *u == user_id).then(|| {
        sha2::Sha256::digest(format!("utkik DEMO user signing key - public, not secret: {user_id}").as_bytes()).into()
    })
}

/// File names inside a staged DEMO folder.
pub const USERS_FILE: &str = "DEMO-users.json";
/// See [`USERS_FILE`].
pub const TRUST_STORE_FILE: &str = "DEMO-trust-store.json";
/// See [`USERS_FILE`].
pub const LINK_KEY_FILE: &str = "DEMO-link.key.NOT-SECRET.json";
/// See [`USERS_FILE`].
pub const GROUND_AUDIT_KEY_FILE: &str = "DEMO-ground-audit.key.NOT-SECRET.json";
/// See [`USERS_FILE`].
pub const SEAL_KEY_FILE: &str = "DEMO-seal.key.NOT-SECRET.json";
/// See [`USERS_FILE`].
pub const SEAL_PUBLIC_FILE: &str = "DEMO-seal.public.json";
/// File name of the staged DEMO video key.
pub const VIDEO_KEY_FILE: &str = "DEMO-video.key.NOT-SECRET.json";

/// The DEMO set written out for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSet {
    /// The folder holding the files (mode `0700`).
    pub dir: PathBuf,
    /// Users file.
    pub users: PathBuf,
    /// Trust store.
    pub trust_store: PathBuf,
    /// Link key.
    pub link_key: PathBuf,
    /// Ground audit checkpoint key.
    pub ground_audit_key: PathBuf,
    /// The ground station's image seal key (secret).
    pub seal_key: PathBuf,
    /// Its public half (the drone's `gate.ground_seal_public`).
    pub seal_public: PathBuf,
    /// The re-stream's SRTP key (the drone's `privacy.srtp_key`, the station's `--video-key`).
    pub video_key: PathBuf,
}

/// Writes the DEMO set into `dir` (created `0700` if missing), each file `0600`, replacing
/// earlier copies.
///
/// # Errors
/// [`SecretFileError::Write`] naming the file or folder.
pub fn stage(dir: &Path) -> Result<DemoSet, SecretFileError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| SecretFileError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let put = |name: &str, bytes: &[u8]| -> Result<PathBuf, SecretFileError> {
        let p = dir.join(name);
        write_secret(&p, bytes)?;
        Ok(p)
    };
    Ok(DemoSet {
        dir: dir.to_path_buf(),
        users: put(USERS_FILE, USERS_JSON)?,
        trust_store: put(TRUST_STORE_FILE, TRUST_STORE_JSON)?,
        link_key: put(LINK_KEY_FILE, LINK_KEY_JSON)?,
        ground_audit_key: put(GROUND_AUDIT_KEY_FILE, GROUND_AUDIT_KEY_JSON)?,
        seal_key: put(SEAL_KEY_FILE, SEAL_KEY_JSON)?,
        seal_public: put(SEAL_PUBLIC_FILE, SEAL_PUBLIC_JSON)?,
        video_key: put(VIDEO_KEY_FILE, VIDEO_KEY_JSON)?,
    })
}

/// Whether a key id names a DEMO key.
pub fn is_demo_key_id(key_id: &str) -> bool {
    key_id.starts_with(DEMO_KEY_ID_PREFIX)
}

/// Whether a file's bytes are (or carry) DEMO material: byte-equal to one of the compiled-in
/// DEMO files, a DEMO key id (`"key_id": "DEMO...`), or a DEMO users file's note. A program
/// started without `--demo` refuses such a file even when it is given by path.
pub fn looks_like_demo(bytes: &[u8]) -> bool {
    if [
        USERS_JSON,
        TRUST_STORE_JSON,
        LINK_KEY_JSON,
        GROUND_AUDIT_KEY_JSON,
        SEAL_KEY_JSON,
        SEAL_PUBLIC_JSON,
        VIDEO_KEY_JSON,
    ]
    .contains(&bytes)
    {
        return true;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return false;
    };
    let demo_str = |v: Option<&serde_json::Value>| v.and_then(|s| s.as_str()).is_some_and(|s| s.starts_with("DEMO"));
    let demo_object = |o: &serde_json::Value| demo_str(o.get("key_id")) || demo_str(o.get("note"));
    if demo_object(&value) {
        return true;
    }
    // A trust store's keys.
    value
        .get("keys")
        .and_then(|k| k.as_array())
        .is_some_and(|keys| keys.iter().any(demo_object))
        // The link key's secret: a copy with other whitespace or note is still the DEMO key.
        || value
            .get("secret_key_hex")
            .and_then(|s| s.as_str())
            .is_some_and(|s| {
                let demo: serde_json::Value = serde_json::from_slice(LINK_KEY_JSON).unwrap_or_default();
                demo.get("secret_key_hex").and_then(|d| d.as_str()) == Some(s)
            })
        || value.get("seed_hex").and_then(|s| s.as_str()).is_some_and(|s| {
            let demo: serde_json::Value = serde_json::from_slice(GROUND_AUDIT_KEY_JSON).unwrap_or_default();
            demo.get("seed_hex").and_then(|d| d.as_str()) == Some(s)
        })
        // The seal key (secret or public half): what is sealed to it, anyone can open.
        || ["secret_key_hex", "public_key_hex"].iter().any(|field| {
            value.get(*field).and_then(|s| s.as_str()).is_some_and(|s| {
                let demo: serde_json::Value = serde_json::from_slice(SEAL_KEY_JSON).unwrap_or_default();
                demo.get(*field).and_then(|d| d.as_str()) == Some(s)
            })
        })
}

/// Whether an audit log (JSON lines) is a DEMO log: a record naming a DEMO key id (the
/// checkpoints of a DEMO run are signed with the DEMO key and carry its id) or written by the
/// `DEMO` user (the record a DEMO station writes at start). Reports of such a log say DEMO.
pub fn audit_log_is_demo(text: &str) -> bool {
    fn demo_value(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(map) => map.iter().any(|(k, v)| {
                (k == "key_id" && v.as_str().is_some_and(is_demo_key_id))
                    || (k == "user_id" && v.as_str() == Some(DEMO_KEY_ID_PREFIX))
                    || demo_value(v)
            }),
            serde_json::Value::Array(items) => items.iter().any(demo_value),
            _ => false,
        }
    }
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .any(|v| demo_value(&v))
}

/// [`audit_log_is_demo`] of a file; `false` when it cannot be read.
pub fn audit_log_file_is_demo(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| audit_log_is_demo(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_in_files_are_the_demo_set() {
        for f in [
            USERS_JSON,
            TRUST_STORE_JSON,
            LINK_KEY_JSON,
            GROUND_AUDIT_KEY_JSON,
            SEAL_KEY_JSON,
            SEAL_PUBLIC_JSON,
        ] {
            assert!(looks_like_demo(f));
        }
    }

    /// The DEMO trust store trusts exactly the DEMO crew, with the public halves of the published
    /// seeds and the roles of the DEMO users.
    #[test]
    fn demo_trust_store_lists_the_demo_crew_keys() {
        let store = crate::authz::TrustStore::from_json(TRUST_STORE_JSON).unwrap();
        assert_eq!(store.users().count(), DEMO_CREW.len());
        for (user, role) in DEMO_CREW {
            let seed = user_signing_seed(user).unwrap();
            let key = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
            let entry = store.user(user).unwrap();
            assert_eq!(entry.key, key, "{user}");
            assert_eq!(entry.roles, vec![role], "{user}");
        }
        assert!(user_signing_seed("eva").is_none());
        assert!(user_signing_seed("mallory").is_none());
    }

    #[test]
    fn staged_files_pass_the_secret_file_check() {
        let dir = tempfile::tempdir().unwrap();
        let set = stage(&dir.path().join("demo-keys")).unwrap();
        for p in [
            &set.users,
            &set.trust_store,
            &set.link_key,
            &set.ground_audit_key,
            &set.seal_key,
            &set.seal_public,
            &set.video_key,
        ] {
            crate::secret_file::check_secret_file(p).unwrap();
        }
        assert_eq!(std::fs::read(&set.link_key).unwrap(), LINK_KEY_JSON);
        // Staging again (a second run in the same folder) replaces the copies.
        assert_eq!(stage(&set.dir).unwrap(), set);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&set.dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
    }

    #[test]
    fn demo_audit_logs_are_recognised() {
        let demo_checkpoint = r#"{"seq":3,"body":{"event":{"type":"checkpoint","key_id":"DEMO-ground-audit-1"}}}"#;
        let real_checkpoint = r#"{"seq":3,"body":{"event":{"type":"checkpoint","key_id":"polisen-1"}}}"#;
        let demo_start = r#"{"seq":0,"body":{"event":{"type":"consultation","user_id":"DEMO","what":"x"}}}"#;
        assert!(audit_log_is_demo(&format!("{real_checkpoint}\n{demo_checkpoint}\n")));
        assert!(audit_log_is_demo(demo_start));
        assert!(!audit_log_is_demo(real_checkpoint));
        assert!(!audit_log_is_demo(r#"{"body":{"event":{"user_id":"DEMOS"}}}"#));
        assert!(!audit_log_is_demo("not json\n"));
    }

    #[test]
    fn demo_material_is_recognised_in_other_files_and_real_keys_are_not() {
        assert!(is_demo_key_id("DEMO-ground-audit-1"));
        assert!(!is_demo_key_id("polisen-ground-audit-2026"));
        // The DEMO link key re-formatted, with another note.
        let demo: serde_json::Value = serde_json::from_slice(LINK_KEY_JSON).unwrap();
        let copy = format!(
            r#"{{"format":"utkik-link-key/1","link_id":1,"secret_key_hex":{},"note":"ours"}}"#,
            demo["secret_key_hex"]
        );
        assert!(looks_like_demo(copy.as_bytes()));
        let real = br#"{"format":"utkik-link-key/1","link_id":1,"secret_key_hex":"0101010101010101010101010101010101010101010101010101010101010101","note":"ours"}"#;
        assert!(!looks_like_demo(real));
        let real_store = br#"{"format":"utkik-trust-store/1","keys":[{"key_id":"aklagare-7","kind":"prosecutor","holder":"x","public_key_hex":"00"}]}"#;
        assert!(!looks_like_demo(real_store));
        let demo_store = br#"{"format":"utkik-trust-store/1","keys":[{"key_id":"DEMO-prosecutor-1","kind":"prosecutor","holder":"x","public_key_hex":"00"}]}"#;
        assert!(looks_like_demo(demo_store));
        assert!(looks_like_demo(
            br#"{"format":"utkik-users/2","note":"DEMO users","users":[]}"#
        ));
        assert!(!looks_like_demo(b"not json"));
    }
}
