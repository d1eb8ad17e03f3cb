//! Start-up checks and resources, all before any thread starts: the biometric gate, the ANPR
//! hit list, the link key, and the bound sockets and opened ports (a busy port or a bad file
//! stops start-up naming it, not a thread later).

use std::net::UdpSocket;
use std::time::Duration;

use super::PipelineError;
use crate::config::Config;
use crate::out::{Clock, OutTransport, SystemClock};
use crate::telemetry::{TelemetryEndpoint, bind_udp};

/// The re-stream's SRTP key (`privacy.srtp_key`), loaded; `None` when none is set (plain RTP,
/// warned: a listener on the radio sees the masked video).
///
/// # Errors
/// The file cannot be read, is too open or is not a video key (named `privacy.srtp_key`).
pub fn srtp_key(config: &Config) -> Result<Option<utkik_media::SrtpKey>, crate::config::ConfigError> {
    let path = config.privacy.srtp_key.trim();
    if path.is_empty() {
        tracing::warn!(
            "privacy.srtp_key not set: the masked re-stream goes out as plain RTP (anyone on the radio can watch it)"
        );
        return Ok(None);
    }
    let invalid = |message: String| crate::config::ConfigError::Invalid {
        key: "privacy.srtp_key".into(),
        message,
    };
    let key =
        utkik_shared::video_key::VideoKey::load(std::path::Path::new(path)).map_err(|e| invalid(e.to_string()))?;
    utkik_media::SrtpKey::from_bytes(key.as_bytes())
        .map(Some)
        .map_err(|e| invalid(e.to_string()))
}

/// `gate.volatile_dir`, required with the gate (`crate::keys::require_keys` also checks that it
/// is on a RAM filesystem; `--demo` sets one).
fn volatile_dir(config: &Config) -> Result<std::path::PathBuf, crate::config::ConfigError> {
    let dir = config.gate.volatile_dir.trim();
    if dir.is_empty() {
        return Err(crate::config::ConfigError::Invalid {
            key: "gate.volatile_dir".into(),
            message: "is not set: the gate keeps uploaded documents and enrolment images there, on a RAM filesystem"
                .into(),
        });
    }
    Ok(dir.into())
}

/// The gate of `config`, or `None` when biometric identification is not configured.
pub fn gate_from_config(config: &Config) -> Result<Option<crate::gate::Gate>, PipelineError> {
    if !config.gate_enabled() {
        return Ok(None);
    }
    let g = &config.gate;
    let cache = utkik_models::ModelCache::locate().map_err(|e| crate::config::ConfigError::Invalid {
        key: "gate".into(),
        message: format!("model cache: {e}"),
    })?;
    let setup = crate::gate::GateSetup {
        authorization: Some(g.authorization.trim())
            .filter(|a| !a.is_empty())
            .map(std::path::PathBuf::from),
        trust_store: g.trust_store.clone().into(),
        link_key: g.link_key.clone().into(),
        audit_dir: g.audit_dir.clone().into(),
        volatile_dir: volatile_dir(config)?,
        match_distance: g.match_distance as f32,
        cache,
        system_id: config.link.system_id,
        component_id: config.link.component_id,
        link_loss_stop_s: g.link_loss_stop_s,
    };
    let mut gate = crate::gate::Gate::open(&setup, SystemClock.now_usec())?;
    // Signed checkpoints (LAW.md 5.3, 5.4): a third party verifies the drone's log with the
    // public half of this key.
    let audit_key = g.audit_key.trim();
    if audit_key.is_empty() {
        tracing::warn!("gate.audit_key not set: the onboard audit log gets no signed checkpoints");
    } else {
        let signer = crate::gate::identify::load_audit_signer(std::path::Path::new(audit_key))?;
        gate.sign_checkpoints(signer, SystemClock.now_usec())
            .map_err(crate::gate::GateError::from)?;
    }
    match gate.loaded_document() {
        Some((digest, source)) => tracing::info!(
            authorization = %g.authorization,
            digest = %digest.to_hex(),
            ?source,
            state = ?gate.state(),
            "biometric gate loaded: nothing runs until a signed command from the ground"
        ),
        None => tracing::info!(
            "biometric gate without an authorization (gate.enabled): it takes one uploaded from the ground station"
        ),
    }
    Ok(Some(gate))
}
/// Bound sockets and opened ports, acquired before any thread starts.
pub(super) struct Endpoints {
    /// The autopilot link; `None` for a source without one (`source.kind` fixed or vehicle).
    pub(super) telemetry: Option<TelemetryEndpoint>,
    pub(super) telemetry_udp: Option<UdpSocket>,
    pub(super) out: OutTransport,
}

fn io_err<'a>(what: &'static str, address: &'a str) -> impl Fn(std::io::Error) -> PipelineError + 'a {
    move |e| PipelineError::Io {
        what,
        address: address.to_string(),
        message: e.to_string(),
    }
}

pub(super) fn open_endpoints(config: &Config) -> Result<Endpoints, PipelineError> {
    // Only a drone has an autopilot link; a car's GNSS receiver is opened (and retried) by its
    // own thread, a fixed site has no telemetry at all.
    let telemetry = if config.source.kind == crate::config::SourceKind::Drone {
        Some(
            TelemetryEndpoint::parse(&config.telemetry.endpoint).map_err(|e| crate::config::ConfigError::Invalid {
                key: "telemetry.endpoint".into(),
                message: e.to_string(),
            })?,
        )
    } else {
        None
    };
    let telemetry_udp = match &telemetry {
        Some(TelemetryEndpoint::Udp(a)) => Some(bind_udp(a).map_err(io_err("telemetry UDP port", a))?),
        _ => None,
    };
    let out = match config.link.transport.as_str() {
        "serial" => {
            let dev = &config.link.serial_device;
            let port = serialport::new(dev, config.link.baud)
                .timeout(Duration::from_millis(10))
                .open()
                .map_err(|e| PipelineError::Io {
                    what: "link serial port",
                    address: dev.clone(),
                    message: e.to_string(),
                })?;
            OutTransport::Serial(port)
        }
        _ => {
            let socket = UdpSocket::bind(&config.link.bind).map_err(io_err("link UDP port", &config.link.bind))?;
            let peer = config
                .link
                .ground
                .parse()
                .map_err(|_| crate::config::ConfigError::Invalid {
                    key: "link.ground".into(),
                    message: "must be IP:PORT".into(),
                })?;
            OutTransport::Udp { socket, peer }
        }
    };
    Ok(Endpoints {
        telemetry,
        telemetry_udp,
        out,
    })
}

/// The signed hit list `detect.plate_hit_list` names (None for ""), verified against
/// `gate.trust_store` (its signer must be a senior officer there, LAW.md section 7) at the
/// system clock, with the plate grammar of `detect.plate_countries`. An unsigned (tab-separated),
/// badly signed or expired list, or a hit list without a trust store, stops start-up with an
/// error naming the file (or the two settings) and the reason.
pub fn hit_list_from_config(config: &Config) -> Result<Option<utkik_shared::hitlist::HitList>, PipelineError> {
    hit_list_from_config_at(config, SystemClock.now_usec())
}

/// [`hit_list_from_config`] at clock value `now_usec` (Unix epoch, UTC, µs).
pub fn hit_list_from_config_at(
    config: &Config,
    now_usec: u64,
) -> Result<Option<utkik_shared::hitlist::HitList>, PipelineError> {
    let path = config.detect.plate_hit_list.trim();
    if path.is_empty() {
        return Ok(None);
    }
    let trust_path = config.gate.trust_store.trim();
    if trust_path.is_empty() {
        return Err(crate::config::ConfigError::Invalid {
            key: "detect.plate_hit_list".into(),
            message: format!(
                "{path} is set but gate.trust_store is not: the hit list is a signed document verified against the \
                 trust store's senior officers; set gate.trust_store (or pass --demo for the DEMO keys)"
            ),
        }
        .into());
    }
    let trust = utkik_shared::authz::TrustStore::load(std::path::Path::new(trust_path)).map_err(|e| {
        crate::config::ConfigError::Invalid {
            key: "gate.trust_store".into(),
            message: format!("needed to verify the hit list {path}: {e}"),
        }
    })?;
    let countries: Vec<&str> = config.detect.plate_countries.iter().map(String::as_str).collect();
    let grammar = utkik_shared::plate::PlateGrammar::for_countries(&countries).map_err(|e| {
        crate::config::ConfigError::Invalid {
            key: "detect.plate_countries".into(),
            message: e.to_string(),
        }
    })?;
    let list = utkik_shared::hitlist::load_hit_list(std::path::Path::new(path), &trust, &grammar, now_usec)?;
    tracing::info!(
        file = path,
        list_id = list.list_id(),
        signer = list.signer(),
        entries = list.len(),
        valid_until = %utkik_shared::utc::format_utc_usec(list.valid_until_usec()),
        digest = list.digest_hex(),
        "signed ANPR hit list verified and loaded"
    );
    Ok(Some(list))
}

/// The ground -> drone link key (`gate.link_key`), when configured: authorization commands and
/// alert acks count only when signed with it.
///
/// # Errors
/// The file cannot be read or is not a link key (the error names `gate.link_key` and the file).
pub fn link_key_from_config(config: &Config) -> Result<Option<crate::gate::LinkKey>, PipelineError> {
    let path = config.gate.link_key.trim();
    if path.is_empty() {
        return Ok(None);
    }
    crate::gate::LinkKey::load(std::path::Path::new(path))
        .map(Some)
        .map_err(|e| {
            crate::config::ConfigError::Invalid {
                key: "gate.link_key".into(),
                message: e.to_string(),
            }
            .into()
        })
}
#[cfg(test)]
mod tests {
    use super::*;

    /// 2027-01-01T00:00:00Z.
    const NOW_USEC: u64 = 1_798_761_600_000_000;
    const HOUR_USEC: u64 = 3_600_000_000;

    /// A config whose trust store is the DEMO one and whose hit list is `list` (written to
    /// `dir/hits.json`).
    fn config_with_list(dir: &std::path::Path, list: &[u8]) -> Config {
        let trust = dir.join("trust.json");
        std::fs::write(&trust, utkik_shared::demo::TRUST_STORE_JSON).unwrap();
        let path = dir.join("hits.json");
        std::fs::write(&path, list).unwrap();
        let mut config = Config::default();
        config.gate.trust_store = trust.display().to_string();
        config.detect.plate_hit_list = path.display().to_string();
        config
    }

    /// The DEMO senior officer's list, issued at NOW, valid 24 h.
    fn demo_list(signer: &str) -> Vec<u8> {
        use utkik_shared::hitlist::{demo, tsv};
        let grammar = utkik_shared::plate::PlateGrammar::sweden();
        let entries = tsv::parse_entries("ABC 123\t2099-01-01\tDEMO stolen\tanna\n", &grammar).unwrap();
        let doc = tsv::document_from_entries(&entries, "DEMO-setup", signer, NOW_USEC, NOW_USEC + 24 * HOUR_USEC);
        demo::sign(doc).to_json_pretty().into_bytes()
    }

    /// A signed list loads; an unsigned (TSV), expired or badly signed one, or one without a
    /// trust store, stops start-up naming the file (or the settings) and the reason.
    #[test]
    fn only_a_signed_valid_hit_list_starts() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_with_list(dir.path(), &demo_list("cecilia"));
        let list = hit_list_from_config_at(&config, NOW_USEC).unwrap().unwrap();
        assert_eq!(
            (list.list_id(), list.signer(), list.len()),
            ("DEMO-setup", "cecilia", 1)
        );
        assert!(list.is_hit("ABC123", NOW_USEC));

        let e = hit_list_from_config_at(&config, NOW_USEC + 24 * HOUR_USEC)
            .unwrap_err()
            .to_string();
        assert!(e.contains("hits.json") && e.contains("expired"), "{e}");

        let tsv = config_with_list(dir.path(), b"ABC 123\t2099-01-01\tok\n");
        let e = hit_list_from_config_at(&tsv, NOW_USEC).unwrap_err().to_string();
        assert!(e.contains("hits.json") && e.contains("unsigned"), "{e}");

        // Signed with cecilia's key but naming bertil (an operator): not a senior officer.
        let wrong = config_with_list(dir.path(), &demo_list("bertil"));
        let e = hit_list_from_config_at(&wrong, NOW_USEC).unwrap_err().to_string();
        assert!(e.contains("hits.json") && e.contains("not a senior officer"), "{e}");

        let mut altered: serde_json::Value = serde_json::from_slice(&demo_list("cecilia")).unwrap();
        altered["document"]["entries"][0]["plate"] = "ABC 124".into();
        let bad = config_with_list(dir.path(), altered.to_string().as_bytes());
        let e = hit_list_from_config_at(&bad, NOW_USEC).unwrap_err().to_string();
        assert!(e.contains("hits.json") && e.contains("signature_ed25519_hex"), "{e}");

        let mut no_trust = config_with_list(dir.path(), &demo_list("cecilia"));
        no_trust.gate.trust_store = String::new();
        let e = hit_list_from_config_at(&no_trust, NOW_USEC).unwrap_err().to_string();
        assert!(
            e.contains("detect.plate_hit_list") && e.contains("gate.trust_store"),
            "{e}"
        );

        let mut none = config;
        none.detect.plate_hit_list = String::new();
        assert!(hit_list_from_config_at(&none, NOW_USEC).unwrap().is_none());
    }

    /// A link key that cannot be loaded stops start-up naming the setting and the file; a
    /// good one is loaded; none configured is none.
    #[test]
    fn a_bad_link_key_is_a_start_up_error_naming_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        std::fs::write(&path, "{\"not\": \"a key\"}").unwrap();
        let mut config = Config::default();
        config.gate.link_key = path.display().to_string();
        let e = link_key_from_config(&config).unwrap_err().to_string();
        assert!(e.contains("gate.link_key") && e.contains("k.json"), "{e}");
        // Key files are secrets: read only when their owner alone may (mode 0600).
        let good = dir.path().join("link.key.json");
        utkik_shared::secret_file::write_secret(&good, utkik_shared::demo::LINK_KEY_JSON).unwrap();
        config.gate.link_key = good.display().to_string();
        assert!(link_key_from_config(&config).unwrap().is_some());
        config.gate.link_key = String::new();
        assert!(link_key_from_config(&config).unwrap().is_none());
    }
}
