//! Start-up checks and resources, all before any thread starts: the biometric gate, the ANPR
//! hit list, the link key, and the bound sockets and opened ports (a busy port or a bad file
//! stops start-up naming it, not a thread later).

use std::net::UdpSocket;
use std::time::Duration;

use super::PipelineError;
use crate::config::Config;
use crate::out::{Clock, OutTransport, SystemClock};
use crate::telemetry::{TelemetryEndpoint, bind_udp};

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
    pub(super) telemetry: TelemetryEndpoint,
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
    let telemetry =
        TelemetryEndpoint::parse(&config.telemetry.endpoint).map_err(|e| crate::config::ConfigError::Invalid {
            key: "telemetry.endpoint".into(),
            message: e.to_string(),
        })?;
    let telemetry_udp = match &telemetry {
        TelemetryEndpoint::Udp(a) => Some(bind_udp(a).map_err(io_err("telemetry UDP port", a))?),
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

/// The hit list `detect.plate_hit_list` names (None for ""), in the plate grammar of
/// `detect.plate_countries`. A bad file stops start-up naming the file, line and field.
pub fn hit_list_from_config(config: &Config) -> Result<Option<utkik_shared::hitlist::HitList>, PipelineError> {
    let path = config.detect.plate_hit_list.trim();
    if path.is_empty() {
        return Ok(None);
    }
    let countries: Vec<&str> = config.detect.plate_countries.iter().map(String::as_str).collect();
    let grammar = utkik_shared::plate::PlateGrammar::for_countries(&countries).map_err(|e| {
        crate::config::ConfigError::Invalid {
            key: "detect.plate_countries".into(),
            message: e.to_string(),
        }
    })?;
    let list = utkik_shared::hitlist::HitList::load(std::path::Path::new(path), &grammar)?;
    tracing::info!(file = path, entries = list.len(), "ANPR hit list loaded");
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

    /// A bad hit-list file stops start-up naming the line.
    #[test]
    fn a_bad_hit_list_is_a_start_up_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hits.tsv");
        std::fs::write(&path, "ABC 123\t2099-01-01\tok\nnot a plate\t2099-01-01\tbad\n").unwrap();
        let mut config = Config::default();
        config.detect.plate_hit_list = path.display().to_string();
        let e = hit_list_from_config(&config).unwrap_err().to_string();
        assert!(
            e.contains("hits.tsv") && e.contains("line 2") && e.contains("`plate`"),
            "{e}"
        );
        config.detect.plate_hit_list = String::new();
        assert!(hit_list_from_config(&config).unwrap().is_none());
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
