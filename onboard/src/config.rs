//! Onboard configuration: built-in defaults < the checked-in `config/default.toml` < the user's
//! file < command-line overrides. Every layer is checked against the defaults before merging, so
//! an unknown key or a value of the wrong type is reported with its dotted key and its source;
//! ranges are checked after merging, again by key. Nothing starts before the whole config passes.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::privacy::MaskMode;

/// The checked-in default configuration file.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// What carries the camera (`source.kind`): where its pose comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A drone: pose from its autopilot over MAVLink (`telemetry.endpoint`).
    Drone,
    /// A camera at a fixed site (a traffic camera): pose from `[site]`, no telemetry.
    Fixed,
    /// A camera fixed to a car: position and heading from a GNSS receiver's NMEA
    /// (`telemetry.endpoint = "nmea+..."`), camera placement from `[vehicle_camera]`.
    Vehicle,
}

impl SourceKind {
    /// The word used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Drone => "drone",
            Self::Fixed => "fixed",
            Self::Vehicle => "vehicle",
        }
    }

    /// As sent in UTKIK_PIPELINE_STATUS.source_kind.
    pub fn to_mavlink(self) -> utkik_shared::dialect::UtkikSourceKind {
        use utkik_shared::dialect::UtkikSourceKind as K;
        match self {
            Self::Drone => K::UTKIK_SOURCE_KIND_DRONE,
            Self::Fixed => K::UTKIK_SOURCE_KIND_FIXED,
            Self::Vehicle => K::UTKIK_SOURCE_KIND_VEHICLE,
        }
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whose camera the feed is (`source.legal_basis`): the legal basis for using it differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// The police's own camera.
    Own,
    /// Another operator's camera the police has access to (e.g. the road authority's).
    OtherOperator,
}

impl LegalBasis {
    /// The word used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Own => "own",
            Self::OtherOperator => "other_operator",
        }
    }

    /// As sent in UTKIK_PIPELINE_STATUS.legal_basis.
    pub fn to_mavlink(self) -> utkik_shared::dialect::UtkikLegalBasis {
        use utkik_shared::dialect::UtkikLegalBasis as L;
        match self {
            Self::Own => L::UTKIK_LEGAL_BASIS_OWN,
            Self::OtherOperator => L::UTKIK_LEGAL_BASIS_OTHER_OPERATOR,
        }
    }
}

impl std::fmt::Display for LegalBasis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[source]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// What carries the camera.
    pub kind: SourceKind,
    /// Whose camera it is.
    pub legal_basis: LegalBasis,
}

/// The words `source.kind` and `source.legal_basis` take, checked before the types see them so
/// the error names the dotted key.
const SOURCE_WORDS: [(&str, &[&str]); 2] = [
    ("kind", &["drone", "fixed", "vehicle"]),
    ("legal_basis", &["own", "other_operator"]),
];

/// `[site]`: a camera at a fixed site (`source.kind = "fixed"` only). Every key but `roll_deg`
/// is required then; they are optional here so that a missing one is reported by name
/// (`crate::telemetry::FixedSite::from_config`), not as a parse error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Camera latitude, WGS84 degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat_deg: Option<f64>,
    /// Camera longitude, WGS84 degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon_deg: Option<f64>,
    /// Ground level at the site (flat terrain around it), m AMSL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ground_alt_m_amsl: Option<f64>,
    /// Camera height above that ground, m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height_m_agl: Option<f64>,
    /// Azimuth of the optical axis, degrees clockwise from true north.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading_deg: Option<f64>,
    /// Elevation of the optical axis, degrees (-90 = straight down, 0 = horizontal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitch_deg: Option<f64>,
    /// Rotation about the optical axis, degrees (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roll_deg: Option<f64>,
}

/// `[vehicle_camera]`: the camera of a car (`source.kind = "vehicle"` only, then required).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleCameraConfig {
    /// Camera (and GNSS antenna) height above the road, m: ground = GGA altitude - this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height_m_agl: Option<f64>,
    /// Camera azimuth relative to the car's direction of travel, degrees clockwise, 0 = forward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yaw_offset_deg: Option<f64>,
}

/// Tables that are absent by default and so missing from the defaults' key check: their keys
/// and types, for checking a layer that sets them.
fn optional_tables() -> toml::Table {
    let mut t = toml::Table::new();
    let site = SiteConfig {
        lat_deg: Some(0.0),
        lon_deg: Some(0.0),
        ground_alt_m_amsl: Some(0.0),
        height_m_agl: Some(0.0),
        heading_deg: Some(0.0),
        pitch_deg: Some(0.0),
        roll_deg: Some(0.0),
    };
    let vehicle = VehicleCameraConfig {
        height_m_agl: Some(0.0),
        yaw_offset_deg: Some(0.0),
    };
    t.insert(
        "site".into(),
        toml::Value::Table(toml::Table::try_from(site).expect("a table serializes")),
    );
    t.insert(
        "vehicle_camera".into(),
        toml::Value::Table(toml::Table::try_from(vehicle).expect("a table serializes")),
    );
    t
}

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
    /// Autopilot MAVLink endpoint (`source.kind = "drone"`) or GNSS receiver NMEA endpoint
    /// (`"vehicle"`, `nmea+...`); unused for a fixed site.
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
    /// What carries the camera and whose it is.
    pub source: SourceConfig,
    /// A fixed site's place and angles (`source.kind = "fixed"` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteConfig>,
    /// A car camera's height and direction (`source.kind = "vehicle"` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vehicle_camera: Option<VehicleCameraConfig>,
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
            source: SourceConfig {
                kind: SourceKind::Drone,
                legal_basis: LegalBasis::Own,
            },
            site: None,
            vehicle_camera: None,
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

/// Merges `layer` into `base`, checking every key and type against `base`, or, for a key
/// `base` does not hold yet (the optional tables, `[site]` and `[vehicle_camera]`), against
/// `schema`, the same place in [`optional_tables`].
fn merge(
    base: &mut toml::Table,
    layer: &toml::Table,
    schema: Option<&toml::Table>,
    prefix: &str,
    source_name: &str,
) -> Result<(), ConfigError> {
    for (k, v) in layer {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let schema_here = schema.and_then(|s| s.get(k));
        if !base.contains_key(k) {
            let Some(template) = schema_here else {
                return Err(ConfigError::UnknownKey {
                    source_name: source_name.into(),
                    key,
                });
            };
            // Start from an empty value of the template's kind: only the keys given are set.
            let empty = match template {
                toml::Value::Table(_) => toml::Value::Table(toml::Table::new()),
                other => other.clone(),
            };
            base.insert(k.clone(), empty);
        }
        let slot = base.get_mut(k).expect("present or just inserted");
        match (slot, v) {
            (toml::Value::Table(b), toml::Value::Table(l)) => {
                merge(b, l, schema_here.and_then(toml::Value::as_table), &key, source_name)?
            }
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
    let optional = optional_tables();
    merge(&mut table, &default_layer, Some(&optional), "", "default.toml")?;
    if let Some((name, text)) = user {
        let layer: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
            source_name: name.to_string(),
            message: e.to_string(),
        })?;
        merge(&mut table, &layer, Some(&optional), "", name)?;
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
        merge(&mut table, &layer, Some(&optional), "", &format!("override {o:?}"))?;
    }
    for (key, words) in SOURCE_WORDS {
        if let Some(v) = table
            .get("source")
            .and_then(|s| s.get(key))
            .and_then(toml::Value::as_str)
            && !words.contains(&v)
        {
            return Err(ConfigError::Invalid {
                key: format!("source.{key}"),
                message: format!("must be one of {words:?}, got {v:?}"),
            });
        }
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
        // The endpoint is MAVLink for a drone, NMEA for a car, unused at a fixed site
        // (validate_source).
        if self.source.kind == SourceKind::Drone
            && !crate::telemetry::NmeaEndpoint::is_nmea(&self.telemetry.endpoint)
            && let Err(e) = crate::telemetry::TelemetryEndpoint::parse(&self.telemetry.endpoint)
        {
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
        self.validate_source()
    }

    /// The source kind and what it needs: a drone's MAVLink endpoint, a fixed site's `[site]`,
    /// a car's NMEA endpoint, body-fixed camera and `[vehicle_camera]`; tables of another kind
    /// are refused rather than ignored, since a camera georeferenced from the wrong place is
    /// worse than one that does not start.
    fn validate_source(&self) -> Result<(), ConfigError> {
        use crate::telemetry::{FixedSite, NmeaEndpoint, VehicleCamera};
        let bad = |key: &str, message: String| {
            Err(ConfigError::Invalid {
                key: key.into(),
                message,
            })
        };
        let kind = self.source.kind;
        let endpoint = &self.telemetry.endpoint;
        if kind != SourceKind::Fixed && self.site.is_some() {
            return bad(
                "site",
                format!(
                    "is set but source.kind = \"{kind}\": [site] places a camera at a fixed site (source.kind = \"fixed\")"
                ),
            );
        }
        if kind != SourceKind::Vehicle && self.vehicle_camera.is_some() {
            return bad(
                "vehicle_camera",
                format!(
                    "is set but source.kind = \"{kind}\": [vehicle_camera] is for a camera in a car (source.kind = \"vehicle\")"
                ),
            );
        }
        match kind {
            SourceKind::Drone => {
                if NmeaEndpoint::is_nmea(endpoint) {
                    return bad(
                        "telemetry.endpoint",
                        format!(
                            "{endpoint:?} is a GNSS receiver, for source.kind = \"vehicle\"; a drone's pose comes from its autopilot over MAVLink"
                        ),
                    );
                }
            }
            SourceKind::Fixed => {
                FixedSite::from_config(self.site.as_ref())?;
                if NmeaEndpoint::is_nmea(endpoint) {
                    return bad(
                        "telemetry.endpoint",
                        format!(
                            "{endpoint:?} is a GNSS receiver, for source.kind = \"vehicle\"; a fixed site's pose is [site]"
                        ),
                    );
                }
            }
            SourceKind::Vehicle => {
                if !NmeaEndpoint::is_nmea(endpoint) {
                    return bad(
                        "telemetry.endpoint",
                        format!(
                            "source.kind = \"vehicle\" reads a GNSS receiver: nmea+tcp://HOST:PORT, nmea+gpsd://HOST:PORT or nmea+serial:///dev/ttyX:BAUD, got {endpoint:?}"
                        ),
                    );
                }
                if let Err(e) = NmeaEndpoint::parse(endpoint) {
                    return bad("telemetry.endpoint", e.to_string());
                }
                if self.camera.mount != "fixed" {
                    return bad(
                        "camera.mount",
                        format!(
                            "must be \"fixed\" with source.kind = \"vehicle\" (a camera fixed to the car, pitch camera.fixed_pitch_deg), got {:?}",
                            self.camera.mount
                        ),
                    );
                }
                if !(-90.0..=0.0).contains(&self.camera.fixed_pitch_deg) {
                    return bad(
                        "camera.fixed_pitch_deg",
                        format!(
                            "must be in -90..=0 (below the horizon) for a car's camera, got {}",
                            self.camera.fixed_pitch_deg
                        ),
                    );
                }
                VehicleCamera::from_config(self.vehicle_camera.as_ref())?;
            }
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
        assert_eq!(
            built_in.len(),
            9,
            "the optional [site] and [vehicle_camera] are not set"
        );
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

    #[test]
    fn source_is_a_drone_of_our_own_by_default_and_bad_words_are_named() {
        let c = load(None, &[]).unwrap();
        assert_eq!(
            (c.source.kind, c.source.legal_basis),
            (SourceKind::Drone, LegalBasis::Own)
        );
        assert_eq!((c.site.clone(), c.vehicle_camera.clone()), (None, None));
        let e = load(None, &["source.kind=\"boat\"".into()]).unwrap_err().to_string();
        assert!(e.contains("`source.kind`") && e.contains("\"boat\""), "{e}");
        let e = load(None, &["source.legal_basis=borrowed".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`source.legal_basis`") && e.contains("\"borrowed\""), "{e}");
        let c = load(None, &["source.legal_basis=other_operator".into()]).unwrap();
        assert_eq!(c.source.legal_basis, LegalBasis::OtherOperator);
        // A drone does not read NMEA.
        let e = load(None, &["telemetry.endpoint=\"nmea+tcp://127.0.0.1:10110\"".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`telemetry.endpoint`") && e.contains("vehicle"), "{e}");
    }

    #[test]
    fn a_fixed_site_needs_its_place_in_range_and_other_kinds_refuse_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            &dir,
            "[source]\nkind = \"fixed\"\nlegal_basis = \"other_operator\"\n\
             [site]\nlat_deg = 59.3293\nlon_deg = 18.0686\nground_alt_m_amsl = 25\nheight_m_agl = 8\n\
             heading_deg = 135\npitch_deg = -30\n",
        );
        let c = load(Some(&p), &[]).unwrap();
        assert_eq!(c.source.kind, SourceKind::Fixed);
        let site = c.site.clone().unwrap();
        assert_eq!(site.ground_alt_m_amsl, Some(25.0), "integer accepted for a float key");
        assert_eq!(site.roll_deg, None, "optional, 0 by default");
        assert!(crate::telemetry::FixedSite::from_config(Some(&site)).is_ok());
        // The default telemetry endpoint is not used and not in the way.
        assert_eq!(c.telemetry.endpoint, Config::default().telemetry.endpoint);
        // Out of range, named with the value.
        let e = load(Some(&p), &["site.heading_deg=400".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`site.heading_deg`") && e.contains("400"), "{e}");
        let e = load(Some(&p), &["site.pitch_deg=15".into()]).unwrap_err().to_string();
        assert!(e.contains("`site.pitch_deg`"), "{e}");
        // Missing: the table, then one key.
        let e = load(None, &["source.kind=fixed".into()]).unwrap_err().to_string();
        assert!(e.contains("`site`") && e.contains("is missing"), "{e}");
        let e = load(
            None,
            &[
                "source.kind=fixed".into(),
                "site.lat_deg=59.3".into(),
                "site.lon_deg=18.0".into(),
                "site.ground_alt_m_amsl=20".into(),
                "site.height_m_agl=6".into(),
                "site.heading_deg=10".into(),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`site.pitch_deg`") && e.contains("is missing"), "{e}");
        // Unknown keys and wrong types in the optional table are named like any other.
        let e = load(Some(&p), &["site.altitude=3".into()]).unwrap_err();
        assert!(
            matches!(&e, ConfigError::UnknownKey { key, .. } if key == "site.altitude"),
            "{e}"
        );
        let e = load(Some(&p), &["site.lat_deg=\"north\"".into()]).unwrap_err();
        assert!(
            matches!(&e, ConfigError::WrongType { key, .. } if key == "site.lat_deg"),
            "{e}"
        );
        // A site with another kind is refused, not ignored.
        let e = load(Some(&p), &["source.kind=drone".into()]).unwrap_err().to_string();
        assert!(e.contains("`site`") && e.contains("\"drone\""), "{e}");
        // Neither NMEA nor [vehicle_camera] at a fixed site.
        let e = load(Some(&p), &["telemetry.endpoint=\"nmea+tcp://127.0.0.1:1\"".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`telemetry.endpoint`"), "{e}");
        let e = load(Some(&p), &["vehicle_camera.height_m_agl=1.5".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`vehicle_camera`"), "{e}");
    }

    #[test]
    fn a_vehicle_needs_nmea_a_fixed_camera_and_its_height() {
        let good: Vec<String> = [
            "source.kind=vehicle",
            "telemetry.endpoint=\"nmea+serial:///dev/ttyUSB0:4800\"",
            "camera.mount=fixed",
            "camera.fixed_pitch_deg=-20",
            "vehicle_camera.height_m_agl=1.6",
            "vehicle_camera.yaw_offset_deg=-90",
        ]
        .map(String::from)
        .to_vec();
        let c = load(None, &good).unwrap();
        assert_eq!(c.source.kind, SourceKind::Vehicle);
        let vc = c.vehicle_camera.clone().unwrap();
        assert_eq!((vc.height_m_agl, vc.yaw_offset_deg), (Some(1.6), Some(-90.0)));
        let with = |edit: &[&str]| {
            let mut o = good.clone();
            o.extend(edit.iter().map(|s| s.to_string()));
            load(None, &o).map(|_| ()).unwrap_err().to_string()
        };
        let e = with(&["telemetry.endpoint=\"udp://127.0.0.1:14540\""]);
        assert!(e.contains("`telemetry.endpoint`") && e.contains("nmea+tcp://"), "{e}");
        let e = with(&["telemetry.endpoint=\"nmea+serial:///dev/ttyUSB0\""]);
        assert!(e.contains("`telemetry.endpoint`") && e.contains("missing :BAUD"), "{e}");
        let e = with(&["camera.mount=gimbal"]);
        assert!(e.contains("`camera.mount`"), "{e}");
        let e = with(&["camera.fixed_pitch_deg=30"]);
        assert!(e.contains("`camera.fixed_pitch_deg`") && e.contains("30"), "{e}");
        let e = with(&["vehicle_camera.yaw_offset_deg=200"]);
        assert!(
            e.contains("`vehicle_camera.yaw_offset_deg`") && e.contains("200"),
            "{e}"
        );
        let e = with(&["vehicle_camera.height_m_agl=0"]);
        assert!(e.contains("`vehicle_camera.height_m_agl`"), "{e}");
        let e = load(None, &good[..4]).unwrap_err().to_string();
        assert!(e.contains("`vehicle_camera`") && e.contains("is missing"), "{e}");
        let e = load(None, &good[..5]).unwrap_err().to_string();
        assert!(e.contains("`vehicle_camera.yaw_offset_deg`"), "{e}");
    }
}
