//! Onboard configuration: built-in defaults < the checked-in `config/default.toml` < the user's
//! file < command-line overrides. Every layer is checked against the defaults before merging, so
//! an unknown key or a value of the wrong type is reported with its dotted key and its source;
//! ranges are checked after merging, again by key. Nothing starts before the whole config passes.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::privacy::MaskMode;

/// The checked-in default configuration file.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// `[video]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoConfig {
    /// URI or pipeline string.
    pub source: String,
    /// First retry delay, ms.
    pub retry_initial_ms: u64,
    /// Longest retry delay, ms.
    pub retry_max_ms: u64,
    /// No frame for this long is a loss, ms.
    pub stall_timeout_ms: u64,
}

/// `[telemetry]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Autopilot endpoint.
    pub endpoint: String,
    /// Largest frame-to-pose-sample distance, ms.
    pub pose_max_age_ms: u64,
}

/// `[camera]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Horizontal field of view, degrees.
    pub hfov_deg: f64,
    /// "gimbal" or "fixed".
    pub mount: String,
    /// Pitch of a fixed camera, degrees.
    pub fixed_pitch_deg: f64,
    /// Attitude uncertainty, degrees (1 sigma).
    pub attitude_sigma_deg: f64,
    /// Altitude uncertainty, m.
    pub altitude_sigma_m: f64,
    /// Position uncertainty, m.
    pub position_sigma_m: f64,
    /// Height of a face above ground, m.
    pub face_height_m: f64,
    /// Height of a plate above ground, m.
    pub plate_height_m: f64,
}

/// `[detect]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectConfig {
    /// Run the face detector.
    pub faces: bool,
    /// Run the plate reader.
    pub plates: bool,
    /// Smallest face, px.
    pub min_face_px: u32,
    /// Worker threads of the face detector (pyramid levels, R-Net/O-Net batches); with
    /// `threads` > 1 faces and plates also run side by side on each frame.
    pub threads: u32,
    /// Run each face-pyramid level only on the image rows where faces of its size can be
    /// (camera pose and intrinsics, a 0.2 m face); the whole frame while the pose is stale.
    pub face_rows: bool,
    /// The face pyramid covers the frame in this many vertical strips, one strip per frame,
    /// plus windows around the live face tracks on every frame (1: the whole frame every frame).
    pub face_full_every_n_frames: u32,
    /// Plate reading cadence: the plate stage runs on every n-th frame.
    pub plate_every_n_frames: u32,
    /// Scale of the plate discovery scan (0.5 = half resolution).
    pub plate_scan_scale: f64,
    /// Countries whose plate formats are read (ISO 3166-1 alpha-2, see `utkik_shared::plate`).
    pub plate_countries: Vec<String>,
    /// ANPR hit list file: a signed list (`utkik_shared::hitlist::signed`, LAW.md section 7)
    /// verified against `gate.trust_store` at start-up; a voted read of a plate on it is a hit
    /// alert; "" = no hit list (every read is a no-hit).
    pub plate_hit_list: String,
    /// Send the text of plate reads that are not hits (LAW.md section 7). Off by default: a
    /// non-hit read goes out without its text (the ground learns only that the plate track was
    /// read and is not on the list). Turn on only for a station that keeps non-hit reads for a
    /// limited time (`utkik-ground --keep-non-hits-days N`), under a decision that allows it.
    #[serde(default)]
    pub send_non_hit_text: bool,
    /// Runtime of the detectors' nets (faces and plates): "tract" (pure Rust) or "onnxruntime"
    /// (ONNX Runtime opened at start-up, see `onnxruntime_lib`; a missing or too old library
    /// stops start-up, no fallback to tract). `threads` are the face detector's worker threads
    /// on both.
    pub runtime: String,
    /// `libonnxruntime.so` for `runtime = "onnxruntime"`; "" = `$ORT_DYLIB_PATH`, else the
    /// `capi/libonnxruntime.so*` of the onnxruntime wheel `python3` imports.
    pub onnxruntime_lib: String,
}

/// `[track]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackConfig {
    /// First-stage score.
    pub high_score: f64,
    /// Lowest score considered.
    pub low_score: f64,
    /// Score to start a track.
    pub new_track_score: f64,
    /// First-stage IoU.
    pub match_iou: f64,
    /// Second-stage IoU.
    pub low_match_iou: f64,
    /// Hits before a track is reported.
    pub min_hits: u32,
    /// Track lifetime without a hit, ms.
    pub max_age_ms: u64,
}

/// `[link]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// "udp" or "serial".
    pub transport: String,
    /// Local UDP address.
    pub bind: String,
    /// Ground UDP address.
    pub ground: String,
    /// Serial device.
    pub serial_device: String,
    /// Serial baud rate.
    pub baud: u32,
    /// Byte budget per second.
    pub budget_bytes_per_s: f64,
    /// Burst, bytes.
    pub burst_bytes: f64,
    /// Our system id.
    pub system_id: u8,
    /// Our component id.
    pub component_id: u8,
    /// First alert resend delay, ms.
    pub alert_resend_initial_ms: u64,
    /// Longest alert resend delay, ms.
    pub alert_resend_max_ms: u64,
    /// Pipeline status period, ms.
    pub status_period_ms: u64,
    /// State file of the alert-id boot epoch (incremented at each start, `out::boot_epoch`),
    /// relative to the working directory.
    pub boot_epoch_file: String,
}

/// `[privacy]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Re-stream masked video.
    pub restream: bool,
    /// Ground video address HOST:PORT.
    pub destination: String,
    /// Masking mode.
    pub mode: MaskMode,
    /// Cells across a box when pixelating.
    pub blocks: u32,
    /// Box growth share.
    pub margin: f64,
    /// Encoder bit rate.
    pub bitrate_kbps: u32,
    /// Frame rate announced to the encoder.
    pub fps: u32,
    /// SRTP key file of the re-stream (`utkik-video-key/1`, `utkik_shared::video_key`, mode
    /// 0600, on a RAM filesystem like the link key): the video is encrypted and authenticated on
    /// the radio (AES-256-GCM). Empty: plain RTP, warned at start-up. `--demo` sets the DEMO key.
    #[serde(default)]
    pub srtp_key: String,
}

/// `[gate]`: biometric identification (LAW.md). Off unless `authorization` names a file or
/// `enabled` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// Run the gate without a permit (`authorization` empty): it holds no document, says
    /// UTKIK_AUTHZ_STATE_NONE and takes an urgent use (or a permit) uploaded from the ground
    /// station (LAW.md 3.4), which runs only when a signed command names it. Needs
    /// `trust_store`, `link_key` and `audit_dir` as with a permit.
    pub enabled: bool,
    /// The signed authorization document; empty (and `enabled` false): no biometric
    /// identification at all (no gate; the face-template model is never loaded).
    pub authorization: String,
    /// Trust store of issuer keys the authorization is verified against.
    pub trust_store: String,
    /// Ground -> drone MAVLink 2 signing key file (commands must be signed with it).
    pub link_key: String,
    /// Directory of the onboard audit log and its payload store (evidence crops).
    pub audit_dir: String,
    /// Secret key file (`utkik-audit-key/1`, mode 0600) the audit log's checkpoints are signed
    /// with, so a third party can verify the log with its public key; empty: no checkpoints
    /// (the log is still hash-chained, but only a key vouches for it).
    pub audit_key: String,
    /// Template distance (dlib Euclidean) below which a face is a possible match.
    pub match_distance: f64,
    /// Seconds without a valid signed frame from the ground (commands, alert acks, its 1 Hz
    /// HEARTBEAT) after which identification stops by itself (LAW.md 2.4), until the ground is
    /// heard again. In `shared::authz::LINK_LOSS_STOP_S_RANGE` (2..=60).
    pub link_loss_stop_s: u64,
    /// The ground station's public seal key (`utkik-seal-public/1`, `utkik_shared::seal`): every
    /// evidence crop and plate image is sealed to it before it is stored or sent, so the drone's
    /// disk and the radio hold only what the station's secret key opens. Required when the gate
    /// runs or a hit list is set (`crate::keys::require_keys`); `--demo` sets the DEMO one.
    #[serde(default)]
    pub ground_seal_public: String,
    /// Folder on a RAM filesystem (tmpfs/ramfs) for what must not survive power-off: the
    /// authorization documents and enrolment images uploaded in flight (`uploads/`). Without
    /// `--demo` it is required with the gate or a hit list, and it, `gate.link_key`,
    /// `gate.authorization` and `detect.plate_hit_list` must be on a RAM filesystem
    /// (`crate::keys::require_keys`, `crate::volatile`); `--demo` puts it under
    /// `audit_dir/DEMO-volatile` if it is not set.
    #[serde(default)]
    pub volatile_dir: String,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Video ingest.
    pub video: VideoConfig,
    /// Autopilot telemetry.
    pub telemetry: TelemetryConfig,
    /// Camera model and georeferencing.
    pub camera: CameraConfig,
    /// Detectors.
    pub detect: DetectConfig,
    /// Tracking.
    pub track: TrackConfig,
    /// Link to the ground.
    pub link: LinkConfig,
    /// Masked re-stream.
    pub privacy: PrivacyConfig,
    /// Biometric identification under an authorization (off by default).
    pub gate: GateConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            video: VideoConfig {
                source: "udp://0.0.0.0:5600".into(),
                retry_initial_ms: 250,
                retry_max_ms: 5000,
                stall_timeout_ms: 3000,
            },
            telemetry: TelemetryConfig {
                // Loopback: the position it reports decides whether a face is inside the
                // authorized area, so no one on the network may feed it (a radio: serial).
                endpoint: "udp://127.0.0.1:14540".into(),
                pose_max_age_ms: 250,
            },
            camera: CameraConfig {
                hfov_deg: 90.0,
                mount: "gimbal".into(),
                fixed_pitch_deg: -90.0,
                attitude_sigma_deg: 1.0,
                altitude_sigma_m: 1.0,
                position_sigma_m: 1.0,
                face_height_m: 1.6,
                plate_height_m: 0.5,
            },
            detect: DetectConfig {
                faces: true,
                plates: true,
                min_face_px: 24,
                threads: 2,
                face_rows: true,
                face_full_every_n_frames: 1,
                plate_every_n_frames: 3,
                plate_scan_scale: 0.5,
                plate_countries: vec!["SE".into()],
                plate_hit_list: String::new(),
                send_non_hit_text: false,
                runtime: "tract".into(),
                onnxruntime_lib: String::new(),
            },
            track: TrackConfig {
                high_score: 0.8,
                low_score: 0.3,
                new_track_score: 0.85,
                match_iou: 0.2,
                low_match_iou: 0.4,
                min_hits: 2,
                max_age_ms: 1000,
            },
            link: LinkConfig {
                transport: "udp".into(),
                bind: "0.0.0.0:14551".into(),
                ground: "127.0.0.1:14550".into(),
                serial_device: "/dev/ttyUSB0".into(),
                baud: 57_600,
                budget_bytes_per_s: 4000.0,
                burst_bytes: 1200.0,
                system_id: 1,
                component_id: 191,
                alert_resend_initial_ms: 1000,
                alert_resend_max_ms: 3000,
                status_period_ms: 1000,
                boot_epoch_file: "utkik-state/boot-epoch".into(),
            },
            privacy: PrivacyConfig {
                restream: true,
                destination: "127.0.0.1:5700".into(),
                mode: MaskMode::Pixelate,
                blocks: 4,
                margin: 0.2,
                bitrate_kbps: 1500,
                fps: 15,
                srtp_key: String::new(),
            },
            gate: GateConfig {
                enabled: false,
                authorization: String::new(),
                trust_store: String::new(),
                link_key: String::new(),
                audit_dir: "utkik-audit".into(),
                audit_key: String::new(),
                match_distance: f64::from(utkik_shared::face::template::MATCH_DISTANCE),
                link_loss_stop_s: utkik_shared::authz::DEFAULT_LINK_LOSS_STOP_S,
                ground_seal_public: String::new(),
                volatile_dir: String::new(),
            },
        }
    }
}

/// A configuration problem, always naming the key (and the file or flag it came from).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("config file {path}: {message}")]
    Read {
        /// File path.
        path: String,
        /// OS message.
        message: String,
    },
    /// A file is not TOML.
    #[error("config {source_name}: not valid TOML: {message}")]
    Syntax {
        /// File or flag.
        source_name: String,
        /// Parser message.
        message: String,
    },
    /// A key that does not exist.
    #[error("config {source_name}: unknown key `{key}`")]
    UnknownKey {
        /// File or flag.
        source_name: String,
        /// Dotted key.
        key: String,
    },
    /// A value of the wrong type.
    #[error("config {source_name}: key `{key}` must be {expected}, got {got}")]
    WrongType {
        /// File or flag.
        source_name: String,
        /// Dotted key.
        key: String,
        /// Expected TOML type.
        expected: &'static str,
        /// The type given.
        got: &'static str,
    },
    /// A value out of range or otherwise invalid.
    #[error("config: key `{key}` {message}")]
    Invalid {
        /// Dotted key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A command-line override is not `key=value`.
    #[error("config override {given:?}: expected KEY=VALUE (e.g. video.source=test://)")]
    BadOverride {
        /// The flag value.
        given: String,
    },
}

fn type_name(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a datetime",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// Merges `layer` into `base`, checking every key and type against `base`.
fn merge(base: &mut toml::Table, layer: &toml::Table, prefix: &str, source_name: &str) -> Result<(), ConfigError> {
    for (k, v) in layer {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let Some(slot) = base.get_mut(k) else {
            return Err(ConfigError::UnknownKey {
                source_name: source_name.into(),
                key,
            });
        };
        match (slot, v) {
            (toml::Value::Table(b), toml::Value::Table(l)) => merge(b, l, &key, source_name)?,
            (slot @ toml::Value::Float(_), toml::Value::Integer(i)) => *slot = toml::Value::Float(*i as f64),
            (slot, v) if std::mem::discriminant(slot) == std::mem::discriminant(v) => *slot = v.clone(),
            (slot, v) => {
                return Err(ConfigError::WrongType {
                    source_name: source_name.into(),
                    key,
                    expected: type_name(slot),
                    got: type_name(v),
                });
            }
        }
    }
    Ok(())
}

/// Builds the configuration from the layers: the default file, an optional user file and
/// `KEY=VALUE` overrides (VALUE is TOML; a bare word is taken as a string).
pub fn load(user_file: Option<&Path>, overrides: &[String]) -> Result<Config, ConfigError> {
    let user = match user_file {
        Some(path) => {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
                path: name.clone(),
                message: e.to_string(),
            })?;
            Some((name, text))
        }
        None => None,
    };
    load_text(user.as_ref().map(|(n, t)| (n.as_str(), t.as_str())), overrides)
}

/// [`load`] with the user file's text already read: `user` is (name for messages, text). The
/// file loader calls this, and so does the fuzz target `onboard_config`.
pub fn load_text(user: Option<(&str, &str)>, overrides: &[String]) -> Result<Config, ConfigError> {
    let mut table = toml::Table::try_from(Config::default()).expect("defaults serialize");
    let default_layer: toml::Table = DEFAULT_TOML.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
        source_name: "default.toml".into(),
        message: e.to_string(),
    })?;
    merge(&mut table, &default_layer, "", "default.toml")?;
    if let Some((name, text)) = user {
        let layer: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
            source_name: name.to_string(),
            message: e.to_string(),
        })?;
        merge(&mut table, &layer, "", name)?;
    }
    for o in overrides {
        let (key, value) = o
            .split_once('=')
            .ok_or_else(|| ConfigError::BadOverride { given: o.clone() })?;
        let key = key.trim();
        let value = value.trim();
        let parsed: toml::Value = format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.to_string()));
        let mut layer = toml::Table::new();
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().unwrap_or_default();
        let mut node = &mut layer;
        for p in parts {
            node = node
                .entry(p.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .expect("just inserted a table");
        }
        node.insert(last.to_string(), parsed);
        merge(&mut table, &layer, "", &format!("override {o:?}"))?;
    }
    // Through text, so a value the types reject (an unknown enum word) is shown with its line.
    let text = toml::to_string(&table).expect("a table serializes");
    let config: Config = toml::from_str(&text).map_err(|e: toml::de::Error| ConfigError::Invalid {
        key: "(merged config)".into(),
        message: e.to_string(),
    })?;
    config.validate()?;
    Ok(config)
}

impl Config {
    /// Range and consistency checks, each naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: String| {
            Err(ConfigError::Invalid {
                key: key.into(),
                message,
            })
        };
        if self.video.source.trim().is_empty() {
            return bad("video.source", "is empty".into());
        }
        if let Err(e) = crate::ingest::launch_description(&self.video.source) {
            return bad("video.source", e.to_string());
        }
        if self.video.retry_initial_ms == 0 || self.video.retry_max_ms < self.video.retry_initial_ms {
            return bad("video.retry_max_ms", "must be >= video.retry_initial_ms > 0".into());
        }
        if let Err(e) = crate::telemetry::TelemetryEndpoint::parse(&self.telemetry.endpoint) {
            return bad("telemetry.endpoint", e.to_string());
        }
        if !(1.0..179.0).contains(&self.camera.hfov_deg) {
            return bad(
                "camera.hfov_deg",
                format!("must be in 1..179, got {}", self.camera.hfov_deg),
            );
        }
        if !matches!(self.camera.mount.as_str(), "gimbal" | "fixed") {
            return bad(
                "camera.mount",
                format!("must be \"gimbal\" or \"fixed\", got {:?}", self.camera.mount),
            );
        }
        for (k, v) in [
            ("track.high_score", self.track.high_score),
            ("track.low_score", self.track.low_score),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(k, format!("must be in 0..1, got {v}"));
            }
        }
        if self.track.low_score > self.track.high_score {
            return bad("track.low_score", "must not exceed track.high_score".into());
        }
        if !(1..=16).contains(&self.detect.threads) {
            return bad(
                "detect.threads",
                format!("must be 1 to 16, got {}", self.detect.threads),
            );
        }
        if !matches!(self.detect.runtime.as_str(), "tract" | "onnxruntime") {
            return bad(
                "detect.runtime",
                format!("must be \"tract\" or \"onnxruntime\", got {:?}", self.detect.runtime),
            );
        }
        if self.detect.face_full_every_n_frames == 0 {
            return bad("detect.face_full_every_n_frames", "must be at least 1".into());
        }
        if self.detect.plate_every_n_frames == 0 {
            return bad("detect.plate_every_n_frames", "must be at least 1".into());
        }
        if !(self.detect.plate_scan_scale > 0.0 && self.detect.plate_scan_scale <= 2.0) {
            return bad(
                "detect.plate_scan_scale",
                format!("must be in (0, 2], got {}", self.detect.plate_scan_scale),
            );
        }
        let countries: Vec<&str> = self.detect.plate_countries.iter().map(String::as_str).collect();
        if let Err(e) = utkik_shared::plate::PlateGrammar::for_countries(&countries) {
            return bad("detect.plate_countries", e.to_string());
        }
        if self.detect.min_face_px < 12 {
            return bad(
                "detect.min_face_px",
                format!(
                    "must be at least 12 (MTCNN's smallest window), got {}",
                    self.detect.min_face_px
                ),
            );
        }
        if !matches!(self.link.transport.as_str(), "udp" | "serial") {
            return bad(
                "link.transport",
                format!("must be \"udp\" or \"serial\", got {:?}", self.link.transport),
            );
        }
        for (k, v) in [("link.bind", &self.link.bind), ("link.ground", &self.link.ground)] {
            if v.parse::<std::net::SocketAddr>().is_err() {
                return bad(k, format!("must be IP:PORT, got {v:?}"));
            }
        }
        if self.link.budget_bytes_per_s < 100.0 || self.link.burst_bytes < 300.0 {
            return bad(
                "link.budget_bytes_per_s",
                "must be >= 100 B/s with link.burst_bytes >= 300 (one frame)".into(),
            );
        }
        if self.privacy.restream
            && self
                .privacy
                .destination
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
                .is_none()
        {
            return bad(
                "privacy.destination",
                format!("must be HOST:PORT, got {:?}", self.privacy.destination),
            );
        }
        // gate.trust_store and gate.link_key are checked after --demo had its say (keys.rs:
        // require_keys without it, apply_demo with it), so a DEMO run can name an authorization.
        if self.gate_enabled() && self.gate.audit_dir.trim().is_empty() {
            return bad(
                "gate.audit_dir",
                "must be set when gate.authorization is, or gate.enabled (the audit log and the gate's state live there)"
                    .into(),
            );
        }
        // Stricter than the verified threshold is allowed (fewer matches); looser was never
        // measured and would let impostors through (shared::face::template::MATCH_DISTANCE).
        let verified = f64::from(utkik_shared::face::template::MATCH_DISTANCE);
        if !(self.gate.match_distance > 0.0 && self.gate.match_distance <= verified) {
            return bad(
                "gate.match_distance",
                format!(
                    "must be in (0, {verified}] (the verified threshold, shared::face::template::MATCH_DISTANCE; \
                     figures in models/README.md), got {}",
                    self.gate.match_distance
                ),
            );
        }
        let range = utkik_shared::authz::LINK_LOSS_STOP_S_RANGE;
        if !range.contains(&self.gate.link_loss_stop_s) {
            return bad(
                "gate.link_loss_stop_s",
                format!(
                    "must be in {}..={} seconds (identification stops that long after the ground was \
                     last heard; it sends a signed HEARTBEAT every second), got {}",
                    range.start(),
                    range.end(),
                    self.gate.link_loss_stop_s
                ),
            );
        }
        Ok(())
    }

    /// Whether the biometric gate runs at all: with a permit, or enabled without one (it then
    /// takes uploads from the ground station).
    pub fn gate_enabled(&self) -> bool {
        self.gate.enabled || !self.gate.authorization.trim().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
        let p = dir.path().join("user.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn default_file_parses_and_equals_the_built_in_defaults() {
        // Every key of the built-in defaults is in the file, with the same value: the file is
        // the documentation, so it must not drift.
        let file: toml::Table = DEFAULT_TOML.parse().unwrap();
        let built_in = toml::Table::try_from(Config::default()).unwrap();
        assert_eq!(
            toml::Value::Table(file).try_into::<Config>().unwrap(),
            Config::default()
        );
        assert_eq!(built_in.len(), 8);
        assert_eq!(load(None, &[]).unwrap(), Config::default());
    }

    #[test]
    fn gate_is_off_by_default_and_needs_its_files_when_on() {
        let c = Config::default();
        assert!(!c.gate_enabled(), "no biometric identification unless configured");
        let e = load(
            None,
            &["gate.authorization=\"a.json\"".into(), "gate.audit_dir=\"\"".into()],
        )
        .unwrap_err();
        assert!(e.to_string().contains("gate.audit_dir"), "{e}");
        // Without --demo the keys are required after loading (keys.rs), naming the missing one.
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("link.key");
        utkik_shared::atomic_file::write_atomic(&key, b"not the DEMO key", 0o600).unwrap();
        let c = load(
            None,
            &[
                "gate.authorization=\"a.json\"".into(),
                format!("gate.link_key={:?}", key.display().to_string()),
            ],
        )
        .unwrap();
        let e = crate::keys::require_keys(&c).unwrap_err();
        assert!(e.to_string().contains("gate.trust_store"), "{e}");
        let e = load(None, &["gate.match_distance=0".into()]).unwrap_err();
        assert!(e.to_string().contains("gate.match_distance"), "{e}");
        let c = load(
            None,
            &[
                "gate.authorization=\"a.json\"".into(),
                "gate.trust_store=\"t.json\"".into(),
                "gate.link_key=\"k.json\"".into(),
            ],
        )
        .unwrap();
        assert!(c.gate_enabled());
        // Without a permit: on when enabled, and then it needs its folder and (keys.rs) its keys.
        let e = load(None, &["gate.enabled=true".into(), "gate.audit_dir=\"\"".into()]).unwrap_err();
        assert!(
            e.to_string().contains("gate.audit_dir") && e.to_string().contains("gate.enabled"),
            "{e}"
        );
        let c = load(
            None,
            &[
                "gate.enabled=true".into(),
                format!("gate.link_key={:?}", key.display().to_string()),
            ],
        )
        .unwrap();
        assert!(c.gate_enabled());
        let e = crate::keys::require_keys(&c).unwrap_err();
        assert!(e.to_string().contains("gate.trust_store"), "{e}");
    }

    #[test]
    fn detect_runtime_is_tract_or_onnxruntime() {
        assert_eq!(
            load(None, &[]).unwrap().detect.runtime,
            "tract",
            "the pure-Rust default"
        );
        let c = load(None, &["detect.runtime=\"onnxruntime\"".into()]).unwrap();
        assert_eq!(
            (c.detect.runtime.as_str(), c.detect.onnxruntime_lib.as_str()),
            ("onnxruntime", "")
        );
        let text = load(None, &["detect.runtime=\"onnx\"".into()]).unwrap_err().to_string();
        assert!(text.contains("detect.runtime") && text.contains("\"onnx\""), "{text}");
    }

    #[test]
    fn link_loss_stop_outside_its_bound_is_refused_naming_the_field() {
        for bad in ["0", "1", "61", "3600"] {
            let e = load(None, &[format!("gate.link_loss_stop_s={bad}")]).unwrap_err();
            let text = e.to_string();
            assert!(
                text.contains("gate.link_loss_stop_s") && text.contains("2..=60"),
                "{text}"
            );
        }
        assert_eq!(load(None, &[]).unwrap().gate.link_loss_stop_s, 10);
        for good in [2, 60] {
            let c = load(None, &[format!("gate.link_loss_stop_s={good}")]).unwrap();
            assert_eq!(c.gate.link_loss_stop_s, good);
        }
    }

    #[test]
    fn match_distance_looser_than_the_verified_threshold_is_refused() {
        // 0.9 would accept faces of different people (models/README.md: 2.8 % of impostor
        // probes already at 0.55): start-up must stop, naming the key and the threshold.
        for loose in ["0.9", "0.6", "0.5001"] {
            let e = load(None, &[format!("gate.match_distance={loose}")]).unwrap_err();
            let text = e.to_string();
            assert!(text.contains("gate.match_distance"), "{text}");
            assert!(text.contains("MATCH_DISTANCE"), "{text}");
        }
        let shipped = f64::from(utkik_shared::face::template::MATCH_DISTANCE);
        assert_eq!(load(None, &[]).unwrap().gate.match_distance, shipped);
        let stricter = load(None, &["gate.match_distance=0.45".into()]).unwrap();
        assert_eq!(stricter.gate.match_distance, 0.45);
    }

    #[test]
    fn precedence_default_then_user_file_then_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            &dir,
            "[video]\nsource = \"test://ball\"\n[link]\nbudget_bytes_per_s = 2000\n",
        );
        let c = load(
            Some(&p),
            &["link.budget_bytes_per_s=3000".into(), "camera.hfov_deg=70".into()],
        )
        .unwrap();
        assert_eq!(c.video.source, "test://ball");
        assert_eq!(c.link.budget_bytes_per_s, 3000.0);
        assert_eq!(c.camera.hfov_deg, 70.0, "integer accepted for a float key");
        assert_eq!(c.video.retry_max_ms, 5000, "untouched keys keep the default");
        let c = load(None, &["video.source=udp://:6000".into()]).unwrap();
        assert_eq!(c.video.source, "udp://:6000", "bare word taken as a string");
    }

    #[test]
    fn errors_name_the_key_and_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "[video]\nsourc = \"x\"\n");
        let e = load(Some(&p), &[]).unwrap_err();
        assert!(
            matches!(&e, ConfigError::UnknownKey { key, .. } if key == "video.sourc"),
            "{e}"
        );
        assert!(e.to_string().contains("user.toml"));
        let p = write(&dir, "[link]\nbaud = \"fast\"\n");
        let e = load(Some(&p), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "config {}: key `link.baud` must be an integer, got a string",
                p.display()
            )
        );
        let e = load(None, &["camera.hfov_deg=500".into()]).unwrap_err();
        assert!(e.to_string().contains("camera.hfov_deg"), "{e}");
        let e = load(None, &["link.ground=nowhere".into()]).unwrap_err();
        assert!(e.to_string().contains("link.ground"), "{e}");
        let e = load(None, &["privacy.mode=\"blurry\"".into()]).unwrap_err();
        assert!(e.to_string().contains("mode = \"blurry\""), "{e}");
        assert!(matches!(
            load(None, &["novalue".into()]),
            Err(ConfigError::BadOverride { .. })
        ));
        let p = write(&dir, "[video\n");
        assert!(matches!(load(Some(&p), &[]), Err(ConfigError::Syntax { .. })));
        let missing = dir.path().join("missing.toml");
        assert!(
            load(Some(&missing), &[])
                .unwrap_err()
                .to_string()
                .contains("missing.toml")
        );
    }
}
