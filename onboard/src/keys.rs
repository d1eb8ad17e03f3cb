//! Which link key and trust store the onboard program starts with (issue 14 item 1: no silent
//! demo).
//!
//! Without `--demo`: `gate.link_key` must be set (the ground's commands and alert acks are
//! authenticated with it; without it a forged ack would silence an alert), and so must
//! `gate.trust_store` when the gate runs (`gate.authorization` or `gate.enabled`). The link key is a secret file and must be
//! mode `0600` (`utkik_shared::secret_file`); a DEMO key or a DEMO trust store is refused, so
//! the public DEMO keys cannot reach a real drone by a copied command line.
//!
//! With `--demo`: the compiled-in DEMO link key and trust store are written `0600` into
//! `GATE.AUDIT_DIR/DEMO-keys/` (`utkik_shared::demo::stage`) and set as `gate.link_key` and
//! `gate.trust_store`; `--demo` cannot be mixed with either key set by hand. The program then
//! says DEMO in its console banner.
//!
//! The checks run after the configuration is loaded and before anything starts; the link key
//! file is also parsed later by the gate's own loader (`gate/link_key.rs`).
//!
//! The ground station's public seal key (`gate.ground_seal_public`, issue 17 items 3-4): with the
//! gate (`gate.authorization` or `gate.enabled`) or a hit list (`detect.plate_hit_list`) the drone
//! makes evidence crops or plate images, and it refuses to start without the key they are sealed
//! to, rather than keep and send them in clear: there is no silent clear-text mode. A drone with
//! neither makes no such image and needs no key. `--demo` sets the DEMO public key (the DEMO
//! station's secret is published, so a DEMO run's images are sealed but not confidential); a DEMO
//! key without `--demo` is refused like the other DEMO keys.
//!
//! Nothing readable on a powered-off drone (issue 17 item 3, `crate::volatile`): without `--demo`
//! the link key must be on a RAM filesystem, and with the gate or a hit list so must
//! `gate.volatile_dir` (where uploads are written), `gate.authorization` and
//! `detect.plate_hit_list`: the crew fills them in at pre-flight, the power takes them away.
//! The re-stream's SRTP key (`privacy.srtp_key`), when set, is checked the same way (RAM
//! filesystem, no DEMO key). These checks run last, so a missing or DEMO key is named first. `--demo` puts the volatile
//! folder under `audit_dir/DEMO-volatile` when none is set and says so if it is on disk.

use std::path::Path;

use utkik_shared::demo::{self, DemoSet};

use crate::config::{Config, ConfigError};

/// Folder of the staged DEMO set inside `gate.audit_dir`.
pub const DEMO_DIR_NAME: &str = "DEMO-keys";

fn invalid(key: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message,
    }
}

/// Refuses to start without the keys a field run needs, with a DEMO key, or with a link key
/// others can read (see the module doc).
///
/// # Errors
/// [`ConfigError::Invalid`] naming the key (and the file, its mode, `chmod 600`, `--demo`).
pub fn require_keys(config: &Config) -> Result<(), ConfigError> {
    let link_key = config.gate.link_key.trim();
    if link_key.is_empty() {
        return Err(invalid(
            "gate.link_key",
            "is not set: the drone needs the ground <-> drone link key (format utkik-link-key/1, mode 0600, the \
             same key as the ground station's --link-key) to authenticate commands and alert acks; set it in \
             the config file or with --set gate.link_key=FILE, or pass --demo to run the demo with the public \
             DEMO keys"
                .into(),
        ));
    }
    let bytes = utkik_shared::secret_file::read_secret(Path::new(link_key))
        .map_err(|e| invalid("gate.link_key", e.to_string()))?;
    if demo::looks_like_demo(&bytes) {
        return Err(invalid(
            "gate.link_key",
            format!("{link_key} is the public DEMO link key: refused without --demo"),
        ));
    }
    if config.gate_enabled() && config.gate.trust_store.trim().is_empty() {
        return Err(invalid(
            "gate.trust_store",
            "is not set: the gate (gate.authorization, or gate.enabled without a permit) needs the trust store of \
             issuer and crew keys documents and commands are verified against"
                .into(),
        ));
    }
    if ground_seal_public(config)?.is_some() {
        let path = config.gate.ground_seal_public.trim();
        let bytes = std::fs::read(path).map_err(|e| invalid("gate.ground_seal_public", format!("{path}: {e}")))?;
        if demo::looks_like_demo(&bytes) {
            return Err(invalid(
                "gate.ground_seal_public",
                format!("{path} is the public DEMO seal key (its secret is published): refused without --demo"),
            ));
        }
    }
    let srtp_key = config.privacy.srtp_key.trim();
    if !srtp_key.is_empty()
        && demo::looks_like_demo(
            &std::fs::read(srtp_key).map_err(|e| invalid("privacy.srtp_key", format!("{srtp_key}: {e}")))?,
        )
    {
        return Err(invalid(
            "privacy.srtp_key",
            format!("{srtp_key} is the public DEMO video key: refused without --demo"),
        ));
    }
    let trust_store = config.gate.trust_store.trim();
    if !trust_store.is_empty() {
        let bytes =
            std::fs::read(trust_store).map_err(|e| invalid("gate.trust_store", format!("{trust_store}: {e}")))?;
        if demo::looks_like_demo(&bytes) {
            return Err(invalid(
                "gate.trust_store",
                format!("{trust_store} trusts the public DEMO issuer key: refused without --demo"),
            ));
        }
    }
    require_volatile(config)
}

/// The RAM-filesystem checks of [`require_keys`] (see the module doc).
fn require_volatile(config: &Config) -> Result<(), ConfigError> {
    let ram =
        |key: &str, path: &str| crate::volatile::require_ram(Path::new(path)).map_err(|e| invalid(key, e.to_string()));
    ram("gate.link_key", config.gate.link_key.trim())?;
    let srtp_key = config.privacy.srtp_key.trim();
    if !srtp_key.is_empty() {
        ram("privacy.srtp_key", srtp_key)?;
    }
    if !makes_images(config) {
        return Ok(());
    }
    let volatile = config.gate.volatile_dir.trim();
    if volatile.is_empty() {
        return Err(invalid(
            "gate.volatile_dir",
            "is not set: with the gate (gate.authorization or gate.enabled) or a hit list (detect.plate_hit_list) the \
             drone keeps documents and enrolment images uploaded in flight there, on a RAM filesystem, so that a \
             powered-off drone holds none of them; e.g. `mount -t tmpfs -o size=64m,mode=0700 tmpfs /run/utkik` and \
             set gate.volatile_dir=\"/run/utkik/volatile\", or pass --demo"
                .into(),
        ));
    }
    ram("gate.volatile_dir", volatile)?;
    for (key, path) in [
        ("gate.authorization", config.gate.authorization.trim()),
        ("detect.plate_hit_list", config.detect.plate_hit_list.trim()),
    ] {
        if !path.is_empty() {
            ram(key, path)?;
        }
    }
    Ok(())
}

/// Whether this configuration makes images that must be sealed (evidence crops, plate images).
fn makes_images(config: &Config) -> bool {
    config.gate_enabled() || !config.detect.plate_hit_list.trim().is_empty()
}

/// The ground station's public seal key (`gate.ground_seal_public`), loaded and checked; `None`
/// when none is set and none is needed (no gate, no hit list).
///
/// # Errors
/// [`ConfigError::Invalid`] naming `gate.ground_seal_public`: not set though the gate or a hit
/// list is, unreadable or not a `utkik-seal-public/1` file (the station's secret file is refused
/// and said so). A DEMO key is refused by [`require_keys`] (runs without `--demo`).
pub fn ground_seal_public(config: &Config) -> Result<Option<utkik_shared::seal::SealPublicKey>, ConfigError> {
    const KEY: &str = "gate.ground_seal_public";
    let path = config.gate.ground_seal_public.trim();
    if path.is_empty() {
        if makes_images(config) {
            return Err(invalid(
                KEY,
                "is not set: with the gate (gate.authorization or gate.enabled) or a hit list (detect.plate_hit_list) \
                 the drone makes evidence crops or plate images, and seals each to the ground station's public key \
                 before storing or sending it (there is no clear-text mode); make a key pair with `utkik-ground \
                 seal-key new --out DIR`, give the drone DIR/seal.public.json and the station --seal-key \
                 DIR/seal.key.json, or pass --demo"
                    .into(),
            ));
        }
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(|e| invalid(KEY, format!("{path}: {e}")))?;
    let key = utkik_shared::seal::SealPublicKey::from_json(&bytes, Path::new(path))
        .map_err(|e| invalid(KEY, e.to_string()))?;
    Ok(Some(key))
}

/// For `--demo`: stages the DEMO set under `gate.audit_dir` and points `gate.link_key` and
/// `gate.trust_store` at it.
///
/// # Errors
/// Either key already set (mixing is refused), or the files cannot be written.
pub fn apply_demo(config: &mut Config) -> Result<DemoSet, ConfigError> {
    for (key, value) in [
        ("gate.link_key", &config.gate.link_key),
        ("gate.trust_store", &config.gate.trust_store),
        ("gate.ground_seal_public", &config.gate.ground_seal_public),
        ("privacy.srtp_key", &config.privacy.srtp_key),
    ] {
        if !value.trim().is_empty() {
            return Err(invalid(
                key,
                format!("--demo uses the public DEMO keys; it cannot be combined with {key} = {value:?} (drop one)"),
            ));
        }
    }
    let dir = Path::new(&config.gate.audit_dir).join(DEMO_DIR_NAME);
    let set = demo::stage(&dir).map_err(|e| invalid("gate.audit_dir", format!("--demo: {e}")))?;
    config.gate.link_key = set.link_key.display().to_string();
    config.gate.trust_store = set.trust_store.display().to_string();
    config.gate.ground_seal_public = set.seal_public.display().to_string();
    config.privacy.srtp_key = set.video_key.display().to_string();
    if config.gate.volatile_dir.trim().is_empty() {
        config.gate.volatile_dir = Path::new(&config.gate.audit_dir)
            .join(DEMO_VOLATILE_DIR_NAME)
            .display()
            .to_string();
    }
    if makes_images(config)
        && let Err(e) = crate::volatile::require_ram(Path::new(&config.gate.volatile_dir))
    {
        eprintln!("utkik-onboard: DEMO: gate.volatile_dir {e}; uploads there survive power-off");
    }
    Ok(set)
}

/// Folder of `--demo`'s volatile folder inside `gate.audit_dir` (when none is set).
pub const DEMO_VOLATILE_DIR_NAME: &str = "DEMO-volatile";

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::config::load;

    const REAL_KEY: &str = r#"{"format":"utkik-link-key/1","link_id":1,"secret_key_hex":"0101010101010101010101010101010101010101010101010101010101010101"}"#;

    /// A folder on a RAM filesystem, where the secrets of a field run must be.
    fn ram_tempdir() -> tempfile::TempDir {
        tempfile::tempdir_in("/dev/shm").expect("/dev/shm (a tmpfs) for the RAM-filesystem checks")
    }

    /// Issue 17 item 3: without --demo the link key, the volatile folder, the authorization and
    /// the hit list must be on a RAM filesystem; each refusal names the key and the filesystem.
    #[test]
    fn secrets_and_uploads_must_be_on_a_ram_filesystem() {
        let ram = ram_tempdir();
        let disk = tempfile::tempdir().unwrap();
        if crate::volatile::require_ram(disk.path()).is_ok() {
            eprintln!("/tmp is a RAM filesystem on this machine: the refusals are not checked");
            return;
        }
        let key_in = |d: &Path| {
            let k = d.join("link.json");
            utkik_shared::secret_file::write_secret(&k, REAL_KEY.as_bytes()).unwrap();
            format!("gate.link_key={:?}", k.display().to_string())
        };
        let e = require_keys(&load(None, &[key_in(disk.path())]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("gate.link_key") && e.contains("RAM filesystem") && e.contains("power-off"),
            "{e}"
        );
        require_keys(&load(None, &[key_in(ram.path())]).unwrap()).unwrap();
        let t = ram.path().join("trust.json");
        std::fs::write(&t, r#"{"format":"utkik-trust-store/1","keys":[]}"#).unwrap();
        let station = utkik_shared::seal::SealKeyPair::generate();
        let (sk, pk) = (disk.path().join("seal.key.json"), disk.path().join("seal.public.json"));
        station.write_files(&sk, &pk, "test").unwrap();
        let base = vec![
            key_in(ram.path()),
            format!("gate.trust_store={:?}", t.display().to_string()),
            format!("gate.ground_seal_public={:?}", pk.display().to_string()),
            "gate.enabled=true".into(),
        ];
        let with = |extra: &[String]| {
            let mut sets = base.clone();
            sets.extend_from_slice(extra);
            require_keys(&load(None, &sets).unwrap())
        };
        let e = with(&[]).unwrap_err().to_string();
        assert!(
            e.contains("gate.volatile_dir") && e.contains("tmpfs") && e.contains("--demo"),
            "{e}"
        );
        let v = |d: &Path| format!("gate.volatile_dir={:?}", d.join("volatile").display().to_string());
        let e = with(&[v(disk.path())]).unwrap_err().to_string();
        assert!(e.contains("gate.volatile_dir") && e.contains("RAM filesystem"), "{e}");
        with(&[v(ram.path())]).unwrap();
        for (key, file) in [("gate.authorization", "a.json"), ("detect.plate_hit_list", "hits.json")] {
            let on = |d: &Path| format!("{key}={:?}", d.join(file).display().to_string());
            let e = with(&[v(ram.path()), on(disk.path())]).unwrap_err().to_string();
            assert!(
                e.contains(key) && e.contains(file) && e.contains("RAM filesystem"),
                "{e}"
            );
            with(&[v(ram.path()), on(ram.path())]).unwrap();
        }
    }

    #[test]
    fn no_link_key_is_refused_naming_the_key_and_demo() {
        let e = require_keys(&load(None, &[]).unwrap()).unwrap_err().to_string();
        assert!(e.contains("gate.link_key") && e.contains("--demo"), "{e}");
    }

    #[test]
    fn a_link_key_others_can_read_is_refused_with_its_mode_and_the_fix() {
        let dir = ram_tempdir();
        let p = dir.path().join("link.json");
        std::fs::write(&p, REAL_KEY).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let c = load(None, &[format!("gate.link_key={:?}", p.display().to_string())]).unwrap();
        let e = require_keys(&c).unwrap_err().to_string();
        assert!(
            e.contains("gate.link_key") && e.contains("link.json") && e.contains("0644") && e.contains("chmod 600"),
            "{e}"
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        require_keys(&c).unwrap();
    }

    #[test]
    fn demo_keys_are_refused_without_demo() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("copied.json");
        utkik_shared::secret_file::write_secret(&p, demo::LINK_KEY_JSON).unwrap();
        let c = load(None, &[format!("gate.link_key={:?}", p.display().to_string())]).unwrap();
        let e = require_keys(&c).unwrap_err().to_string();
        assert!(e.contains("DEMO") && e.contains("--demo"), "{e}");
        // A real link key with the DEMO trust store.
        let k = dir.path().join("real.json");
        utkik_shared::secret_file::write_secret(&k, REAL_KEY.as_bytes()).unwrap();
        let t = dir.path().join("trust.json");
        std::fs::write(&t, demo::TRUST_STORE_JSON).unwrap();
        let c = load(
            None,
            &[
                format!("gate.link_key={:?}", k.display().to_string()),
                format!("gate.trust_store={:?}", t.display().to_string()),
            ],
        )
        .unwrap();
        let e = require_keys(&c).unwrap_err().to_string();
        assert!(e.contains("gate.trust_store") && e.contains("DEMO"), "{e}");
    }

    /// Issue 17 items 3-4: the gate or a hit list needs the ground's public seal key (no
    /// clear-text mode); the DEMO key only with --demo; the station's secret file is refused.
    #[test]
    fn images_need_the_ground_seal_key_and_never_the_demo_one_without_demo() {
        let dir = ram_tempdir();
        let k = dir.path().join("real.json");
        utkik_shared::secret_file::write_secret(&k, REAL_KEY.as_bytes()).unwrap();
        let t = dir.path().join("trust.json");
        std::fs::write(&t, r#"{"format":"utkik-trust-store/1","keys":[]}"#).unwrap();
        let base = vec![
            format!("gate.link_key={:?}", k.display().to_string()),
            format!("gate.trust_store={:?}", t.display().to_string()),
            format!(
                "gate.volatile_dir={:?}",
                dir.path().join("volatile").display().to_string()
            ),
        ];
        let with = |extra: &[String]| {
            let mut sets = base.clone();
            sets.extend_from_slice(extra);
            load(None, &sets).unwrap()
        };
        // Neither gate nor hit list: no image is made, no key needed.
        require_keys(&with(&[])).unwrap();
        assert!(ground_seal_public(&with(&[])).unwrap().is_none());
        for makes_images in ["gate.enabled=true", "detect.plate_hit_list=\"hits.json\""] {
            let e = require_keys(&with(&[makes_images.into()])).unwrap_err().to_string();
            assert!(
                e.contains("gate.ground_seal_public") && e.contains("seal-key new") && e.contains("--demo"),
                "{makes_images}: {e}"
            );
        }
        let station = utkik_shared::seal::SealKeyPair::generate();
        let (sk, pk) = (dir.path().join("seal.key.json"), dir.path().join("seal.public.json"));
        station.write_files(&sk, &pk, "test").unwrap();
        let seal = |p: &Path| format!("gate.ground_seal_public={:?}", p.display().to_string());
        let c = with(&["gate.enabled=true".into(), seal(&pk)]);
        require_keys(&c).unwrap();
        assert_eq!(ground_seal_public(&c).unwrap().as_ref(), Some(station.public()));
        let e = require_keys(&with(&["gate.enabled=true".into(), seal(&sk)]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("gate.ground_seal_public") && e.contains("secret key file"),
            "{e}"
        );
        let demo_pk = dir.path().join("copied.public.json");
        std::fs::write(&demo_pk, demo::SEAL_PUBLIC_JSON).unwrap();
        let e = require_keys(&with(&["gate.enabled=true".into(), seal(&demo_pk)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("gate.ground_seal_public") && e.contains("DEMO"), "{e}");
        // --demo sets the staged DEMO public key, and refuses one set by hand.
        let audit = dir.path().join("audit").display().to_string();
        let mut c = load(None, &[format!("gate.audit_dir={audit:?}"), "gate.enabled=true".into()]).unwrap();
        let set = apply_demo(&mut c).unwrap();
        assert_eq!(c.gate.ground_seal_public, set.seal_public.display().to_string());
        assert!(ground_seal_public(&c).unwrap().is_some());
        let mut mixed = load(None, &[seal(&pk)]).unwrap();
        assert!(
            apply_demo(&mut mixed)
                .unwrap_err()
                .to_string()
                .contains("gate.ground_seal_public")
        );
    }

    #[test]
    fn demo_stages_owner_only_keys_and_refuses_mixing() {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit").display().to_string();
        let mut c = load(None, &[format!("gate.audit_dir={audit:?}")]).unwrap();
        let set = apply_demo(&mut c).unwrap();
        assert_eq!(c.gate.link_key, set.link_key.display().to_string());
        assert_eq!(
            Path::new(&c.gate.volatile_dir),
            dir.path().join("audit").join(DEMO_VOLATILE_DIR_NAME)
        );
        utkik_shared::secret_file::check_secret_file(&set.link_key).unwrap();
        assert!(set.dir.starts_with(dir.path().join("audit")));
        // The staged DEMO key would be refused by a run without --demo.
        assert!(require_keys(&c).is_err());
        let mut mixed = load(None, &["gate.link_key=\"k.json\"".into()]).unwrap();
        let e = apply_demo(&mut mixed).unwrap_err().to_string();
        assert!(e.contains("gate.link_key") && e.contains("--demo"), "{e}");
    }
}
