//! A station's event-signing key and a centre's list of trusted stations.
//!
//! ```text
//! secret (mode 0600, stays at the station: utkik-ground --station-key):
//!   {"format":"utkik-station-key/1","station_id":"stn-north-1","seed_hex":"<32 bytes hex>","note":"..."}
//! trusted stations (at the centre: utkik-ground centre --trusted-stations):
//!   {"format":"utkik-trusted-stations/1",
//!    "stations":[{"station_id":"stn-north-1","public_key_ed25519_hex":"<32 bytes hex>","region":"north"}]}
//! ```
//! `region` is optional; when given, the centre accepts the station's events only under that
//! region's key expressions. A station id appears once; its id and region are key-expression
//! segments (ASCII letters, digits, `-`, `_`, `.`).
//!
//! The secret file is read through [`crate::secret_file::read_secret`] (refused when group or
//! others may read or write it), like every other key file.

use std::path::Path;

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::check_station_id;
use crate::secret_file::{SecretFileError, read_secret, write_secret};

/// `format` of a station key file.
pub const STATION_KEY_FORMAT: &str = "utkik-station-key/1";
/// `format` of a trusted-stations file.
pub const TRUSTED_STATIONS_FORMAT: &str = "utkik-trusted-stations/1";

/// A key file or trusted list that cannot be used: which file part, and why.
#[derive(Debug, thiserror::Error)]
pub enum StationKeyError {
    /// The file's content is wrong.
    #[error("{field}: {reason}")]
    Invalid {
        /// Field path (`stations[1].public_key_ed25519_hex`), `.` for the whole file.
        field: String,
        /// Why.
        reason: String,
    },
    /// The secret file could not be read or written (including too-open modes).
    #[error(transparent)]
    Secret(#[from] SecretFileError),
    /// The trusted list could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl StationKeyError {
    fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The field named by an [`StationKeyError::Invalid`].
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StationKeyError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let v = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let field = e.path().to_string();
        StationKeyError::invalid(field, crate::authz::error::strip_position(&e.into_inner().to_string()))
    })?;
    de.end()
        .map_err(|e| StationKeyError::invalid(".", format!("trailing bytes: {e}")))?;
    Ok(v)
}

fn hex32(field: &str, text: &str) -> Result<[u8; 32], StationKeyError> {
    let bytes = hex::decode(text.trim()).map_err(|e| StationKeyError::invalid(field, format!("not hex: {e}")))?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| StationKeyError::invalid(field, format!("32 bytes of hex expected, got {}", bytes.len())))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StationKeyFile {
    format: String,
    station_id: String,
    seed_hex: String,
    #[serde(default)]
    note: String,
}

/// A station's event-signing key.
#[derive(Clone)]
pub struct StationKey {
    /// The station id its events carry.
    pub station_id: String,
    /// The secret key.
    pub key: SigningKey,
}

impl std::fmt::Debug for StationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StationKey")
            .field("station_id", &self.station_id)
            .field("public_key", &hex::encode(self.key.verifying_key().as_bytes()))
            .finish_non_exhaustive()
    }
}

impl StationKey {
    /// A key from a 32-byte seed.
    ///
    /// # Errors
    /// [`StationKeyError::Invalid`] for a station id unfit for a key expression.
    pub fn from_seed(station_id: &str, seed: [u8; 32]) -> Result<Self, StationKeyError> {
        check_station_id(station_id).map_err(|r| StationKeyError::invalid("station_id", r))?;
        Ok(Self {
            station_id: station_id.into(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Parses a key file.
    ///
    /// # Errors
    /// [`StationKeyError::Invalid`] naming the field.
    pub fn from_json(bytes: &[u8]) -> Result<Self, StationKeyError> {
        let f: StationKeyFile = parse_json(bytes)?;
        if f.format != STATION_KEY_FORMAT {
            return Err(StationKeyError::invalid(
                "format",
                format!("`{}` is not `{STATION_KEY_FORMAT}`", f.format),
            ));
        }
        let seed = hex32("seed_hex", &f.seed_hex)?;
        Self::from_seed(&f.station_id, seed)
    }

    /// Reads a key file (mode 0600 or stricter).
    ///
    /// # Errors
    /// [`StationKeyError::Secret`] (including a too-open mode), or as [`StationKey::from_json`].
    pub fn load(path: &Path) -> Result<Self, StationKeyError> {
        let bytes = read_secret(path)?;
        Self::from_json(&bytes).map_err(|e| match e {
            StationKeyError::Invalid { field, reason } => {
                StationKeyError::invalid(format!("{}: {field}", path.display()), reason)
            }
            other => other,
        })
    }

    /// The key file's JSON.
    pub fn to_json(&self, note: &str) -> String {
        let f = StationKeyFile {
            format: STATION_KEY_FORMAT.into(),
            station_id: self.station_id.clone(),
            seed_hex: hex::encode(self.key.to_bytes()),
            note: note.into(),
        };
        let mut s = serde_json::to_string_pretty(&f).expect("a key file always serializes");
        s.push('\n');
        s
    }

    /// Writes the key file with mode 0600.
    ///
    /// # Errors
    /// [`StationKeyError::Secret`].
    pub fn write(&self, path: &Path, note: &str) -> Result<(), StationKeyError> {
        write_secret(path, self.to_json(note).as_bytes())?;
        Ok(())
    }

    /// This station's entry for a centre's trusted list.
    pub fn trusted_entry(&self, region: Option<&str>) -> TrustedStation {
        TrustedStation {
            station_id: self.station_id.clone(),
            public_key: self.key.verifying_key(),
            region: region.map(str::to_string),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustedStationsFile {
    format: String,
    stations: Vec<TrustedStationEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustedStationEntry {
    station_id: String,
    public_key_ed25519_hex: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
}

/// One station a centre trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedStation {
    /// Its id.
    pub station_id: String,
    /// The key its events are signed with.
    pub public_key: VerifyingKey,
    /// The region it publishes under, if the centre pins one.
    pub region: Option<String>,
}

/// A centre's trusted stations, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedStations {
    stations: Vec<TrustedStation>,
}

impl TrustedStations {
    /// A list from entries.
    ///
    /// # Errors
    /// [`StationKeyError::Invalid`] for a duplicate station id or a bad id or region.
    pub fn new(stations: Vec<TrustedStation>) -> Result<Self, StationKeyError> {
        for (i, s) in stations.iter().enumerate() {
            check_station_id(&s.station_id)
                .map_err(|r| StationKeyError::invalid(format!("stations[{i}].station_id"), r))?;
            if let Some(r) = &s.region {
                check_station_id(r).map_err(|reason| {
                    StationKeyError::invalid(format!("stations[{i}].region"), reason.replace("station_id", "region"))
                })?;
            }
            if stations[..i].iter().any(|o| o.station_id == s.station_id) {
                return Err(StationKeyError::invalid(
                    format!("stations[{i}].station_id"),
                    format!("`{}` is listed twice", s.station_id),
                ));
            }
        }
        Ok(Self { stations })
    }

    /// Parses a trusted-stations file.
    ///
    /// # Errors
    /// [`StationKeyError::Invalid`] naming the field: format, a key that is not 32 bytes of
    /// hex or not a curve point, a duplicate or unfit station id, an unfit region.
    pub fn from_json(bytes: &[u8]) -> Result<Self, StationKeyError> {
        let f: TrustedStationsFile = parse_json(bytes)?;
        if f.format != TRUSTED_STATIONS_FORMAT {
            return Err(StationKeyError::invalid(
                "format",
                format!("`{}` is not `{TRUSTED_STATIONS_FORMAT}`", f.format),
            ));
        }
        let mut stations = Vec::with_capacity(f.stations.len());
        for (i, e) in f.stations.into_iter().enumerate() {
            let field = format!("stations[{i}].public_key_ed25519_hex");
            let bytes = hex32(&field, &e.public_key_ed25519_hex)?;
            let public_key = VerifyingKey::from_bytes(&bytes)
                .map_err(|_| StationKeyError::invalid(&field, "not an Ed25519 public key"))?;
            if public_key.is_weak() {
                return Err(StationKeyError::invalid(&field, "a weak (small-order) key is refused"));
            }
            stations.push(TrustedStation {
                station_id: e.station_id,
                public_key,
                region: e.region,
            });
        }
        Self::new(stations)
    }

    /// Reads a trusted-stations file (public keys: no mode check).
    ///
    /// # Errors
    /// [`StationKeyError::Io`], or as [`TrustedStations::from_json`] with the path in the field.
    pub fn load(path: &Path) -> Result<Self, StationKeyError> {
        let bytes = std::fs::read(path).map_err(|source| StationKeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&bytes).map_err(|e| match e {
            StationKeyError::Invalid { field, reason } => {
                StationKeyError::invalid(format!("{}: {field}", path.display()), reason)
            }
            other => other,
        })
    }

    /// The file's JSON.
    pub fn to_json(&self) -> String {
        let f = TrustedStationsFile {
            format: TRUSTED_STATIONS_FORMAT.into(),
            stations: self
                .stations
                .iter()
                .map(|s| TrustedStationEntry {
                    station_id: s.station_id.clone(),
                    public_key_ed25519_hex: hex::encode(s.public_key.as_bytes()),
                    region: s.region.clone(),
                })
                .collect(),
        };
        let mut s = serde_json::to_string_pretty(&f).expect("a trusted list always serializes");
        s.push('\n');
        s
    }

    /// The station with this id.
    pub fn get(&self, station_id: &str) -> Option<&TrustedStation> {
        self.stations.iter().find(|s| s.station_id == station_id)
    }

    /// All stations, in file order.
    pub fn stations(&self) -> &[TrustedStation] {
        &self.stations
    }

    /// Number of stations.
    pub fn len(&self) -> usize {
        self.stations.len()
    }

    /// No station at all.
    pub fn is_empty(&self) -> bool {
        self.stations.is_empty()
    }
}
