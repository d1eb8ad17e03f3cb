//! Alert ids that never repeat across onboard restarts. The ground keeps every alert by
//! (system id, alert id) and takes an alert id it already holds for a resend (its ack was lost):
//! a drone that restarted and counted from 1 again would have its first new alert acknowledged as
//! an old one and lost. So each start increments a boot epoch kept in a small state file
//! (replaced atomically: after `kill -9` or a power cut it holds the old or the new number, never
//! a torn one), and the epoch is part of every alert id.
//!
//! Alert id layout (u32): bit 30 = biometric match (plate hits have it clear, as before), bits
//! 16-29 = boot epoch modulo 16384, bits 0-15 = counter within the run. 16,384 starts before an
//! id can come back, 65,535 alerts of each kind per run.

use std::path::{Path, PathBuf};

/// Bit that marks a biometric match's alert id.
pub const MATCH_ALERT_BIT: u32 = 0x4000_0000;
/// Epochs fit in 14 bits.
pub const EPOCH_MODULUS: u32 = 1 << 14;

/// The boot epoch could not be read or saved: start-up stops (ids that might collide would
/// lose alerts).
#[derive(Debug, thiserror::Error)]
pub enum BootEpochError {
    /// The file exists but does not hold a number.
    #[error(
        "boot epoch file {path}: '{text}' is not a number (delete it only if no ground station holds this drone's alerts)"
    )]
    Parse {
        /// The state file.
        path: PathBuf,
        /// Its content.
        text: String,
    },
    /// Reading failed.
    #[error("boot epoch file {path}: {source}")]
    Read {
        /// The state file.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// Saving failed.
    #[error("boot epoch: {0}")]
    Write(#[from] utkik_shared::atomic_file::AtomicWriteError),
}

/// Reads the last epoch from `path` (none: 0), saves the next one durably and returns it.
/// The directory is created if missing.
///
/// # Errors
/// [`BootEpochError`] naming the file.
pub fn next_boot_epoch(path: &Path) -> Result<u32, BootEpochError> {
    let last = match std::fs::read_to_string(path) {
        Ok(text) => text.trim().parse::<u32>().map_err(|_| BootEpochError::Parse {
            path: path.to_path_buf(),
            text: text.trim().chars().take(40).collect(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(source) => {
            return Err(BootEpochError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let next = last.wrapping_add(1);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| BootEpochError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    utkik_shared::atomic_file::write_atomic(path, format!("{next}\n").as_bytes(), 0o644)?;
    Ok(next)
}

/// The first plate-hit alert id of a run in `epoch` (counter 1: an alert id of 0 means "no
/// alert" in UTKIK_PLATE_READ).
pub fn first_plate_alert_id(epoch: u32) -> u32 {
    ((epoch % EPOCH_MODULUS) << 16) | 1
}

/// The first biometric-match alert id of a run in `epoch`.
pub fn first_match_alert_id(epoch: u32) -> u32 {
    MATCH_ALERT_BIT | ((epoch % EPOCH_MODULUS) << 16)
}

/// The id after `id`: the counter wraps within its 16 bits (skipping 0), the epoch and kind stay.
pub fn next_alert_id(id: u32) -> u32 {
    let counter = (id & 0xFFFF).wrapping_add(1) & 0xFFFF;
    (id & !0xFFFF) | counter.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_start_gets_the_next_epoch_and_it_survives_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("boot-epoch");
        assert_eq!(next_boot_epoch(&path).unwrap(), 1);
        assert_eq!(next_boot_epoch(&path).unwrap(), 2);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "2\n");
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn a_damaged_file_stops_start_up_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("boot-epoch");
        std::fs::write(&path, "seven").unwrap();
        let e = next_boot_epoch(&path).unwrap_err().to_string();
        assert!(e.contains("boot-epoch") && e.contains("seven"), "{e}");
    }

    #[test]
    fn ids_of_two_runs_never_collide_and_kinds_stay_apart() {
        let run = |epoch: u32, first: u32| -> Vec<u32> {
            let mut id = first;
            let mut v = vec![];
            for _ in 0..1000 {
                v.push(id);
                id = next_alert_id(id);
            }
            let _ = epoch;
            v
        };
        let a = run(1, first_plate_alert_id(1));
        let b = run(2, first_plate_alert_id(2));
        let m = run(1, first_match_alert_id(1));
        assert!(a.iter().all(|id| !b.contains(id) && !m.contains(id)));
        assert!(a.iter().all(|id| *id != 0 && id & MATCH_ALERT_BIT == 0));
        assert!(m.iter().all(|id| id & MATCH_ALERT_BIT != 0));
        // The counter wraps inside its 16 bits.
        assert_eq!(next_alert_id((3 << 16) | 0xFFFF), (3 << 16) | 1);
    }
}
