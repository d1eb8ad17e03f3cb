//! The durable outbox: every alert (plate hit, possible match) with the image transfer that
//! follows it is on disk before it is queued for the radio, and leaves the disk only when the
//! ground acknowledges it (or its data is deleted: a stopped or refused use cancels it). A drone
//! killed with kill -9 or rebooted mid-mission therefore resends, after its restart, every alert
//! the ground had not acknowledged yet (issue 14 items 4-5: 0 alerts lost across a restart); its
//! id carries the old boot epoch, so the ground never takes it for another alert.
//!
//! One file per alert, `alert-<id>.bin`, replaced atomically (`shared::atomic_file`, fsync), mode
//! 0600 (it holds a plate hit's text and image, or a match's evidence crop, like the payload
//! store beside it). Content: `utkik-outbox/1\n`, then each message (the alert first) as a u32
//! little-endian length and an unsigned MAVLink 2 frame, CRC-checked when read back. A file that
//! does not read back is named in the error and left where it is (never silently dropped).

use std::path::{Path, PathBuf};

use mavlink_core::MavHeader;
use utkik_shared::dialect::MavMessage;
use utkik_shared::mavframe::{RawFrame, encode_v2};

const MAGIC: &[u8] = b"utkik-outbox/1\n";

/// An outbox file that cannot be written or read back.
#[derive(Debug, thiserror::Error)]
#[error("alert outbox {path}: {reason}")]
pub struct OutboxError {
    /// The file or folder.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// One alert waiting for its ack.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingAlert {
    /// The alert id.
    pub alert_id: u32,
    /// The alert message.
    pub message: MavMessage,
    /// What follows each (re)send (the image transfer).
    pub follow: Vec<MavMessage>,
}

/// The outbox folder.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

fn file_name(alert_id: u32) -> String {
    format!("alert-{alert_id}.bin")
}

impl Outbox {
    /// The outbox in `dir` (created, 0700).
    ///
    /// # Errors
    /// The folder cannot be made.
    pub fn open(dir: &Path) -> Result<Self, OutboxError> {
        std::fs::create_dir_all(dir).map_err(|e| OutboxError {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        Ok(Self { dir: dir.to_path_buf() })
    }

    /// Stores an alert before it is queued.
    ///
    /// # Errors
    /// The write (the alert is then still queued in memory by the caller, and the error logged).
    pub fn put(&self, system_id: u8, component_id: u8, alert: &PendingAlert) -> Result<(), OutboxError> {
        let header = MavHeader {
            system_id: u32::from(system_id),
            component_id,
            sequence: 0,
        };
        let mut bytes = MAGIC.to_vec();
        for m in std::iter::once(&alert.message).chain(&alert.follow) {
            let frame = encode_v2(header, m);
            bytes.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&frame);
        }
        let path = self.dir.join(file_name(alert.alert_id));
        utkik_shared::atomic_file::write_atomic(&path, &bytes, 0o600).map_err(|e| OutboxError {
            path,
            reason: e.to_string(),
        })
    }

    /// The ground acknowledged the alert (or its data was deleted): its file goes.
    ///
    /// # Errors
    /// The file exists and cannot be removed.
    pub fn remove(&self, alert_id: u32) -> Result<(), OutboxError> {
        let path = self.dir.join(file_name(alert_id));
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(OutboxError {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// Every alert still waiting (oldest id first), and the files that do not read back.
    ///
    /// # Errors
    /// The folder cannot be listed.
    pub fn pending(&self) -> Result<(Vec<PendingAlert>, Vec<OutboxError>), OutboxError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| OutboxError {
            path: self.dir.clone(),
            reason: e.to_string(),
        })?;
        let mut alerts = Vec::new();
        let mut bad = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("alert-"))
                .and_then(|n| n.strip_suffix(".bin"))
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| parse(id, &b))
            {
                Ok(a) => alerts.push(a),
                Err(reason) => bad.push(OutboxError { path, reason }),
            }
        }
        alerts.sort_by_key(|a| a.alert_id);
        Ok((alerts, bad))
    }
}

fn parse(alert_id: u32, bytes: &[u8]) -> Result<PendingAlert, String> {
    let mut rest = bytes
        .strip_prefix(MAGIC)
        .ok_or("not an outbox file (no `utkik-outbox/1` header)")?;
    let mut messages = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_first_chunk::<4>().ok_or("truncated length")?;
        let len = u32::from_le_bytes(*len) as usize;
        if tail.len() < len {
            return Err(format!("message {} truncated", messages.len()));
        }
        let frame = RawFrame::parse(&tail[..len]).map_err(|e| format!("message {}: {e}", messages.len()))?;
        let msg = frame
            .decode::<MavMessage>()
            .map_err(|e| format!("message {}: {e:?}", messages.len()))?;
        messages.push(msg);
        rest = &tail[len..];
    }
    let mut it = messages.into_iter();
    let message = it.next().ok_or("no alert message")?;
    if !matches!(
        message,
        MavMessage::UTKIK_PLATE_READ(_) | MavMessage::UTKIK_BIOMETRIC_MATCH(_)
    ) {
        return Err("the first message is not an alert".into());
    }
    Ok(PendingAlert {
        alert_id,
        message,
        follow: it.collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::dialect::{
        DATA_TRANSMISSION_HANDSHAKE_DATA, ENCAPSULATED_DATA_DATA, UTKIK_PLATE_READ_DATA, UtkikPlateStatus,
    };

    fn hit(id: u32) -> PendingAlert {
        let mut data = [0u8; 253];
        data[..4].copy_from_slice(&id.to_le_bytes());
        PendingAlert {
            alert_id: id,
            message: MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA {
                alert_id: id,
                status: UtkikPlateStatus::UTKIK_PLATE_STATUS_HIT,
                plate: "ABC123".into(),
                image_transfer_id: 0x8000,
                image_size: 253,
                ..Default::default()
            }),
            follow: vec![
                MavMessage::DATA_TRANSMISSION_HANDSHAKE(DATA_TRANSMISSION_HANDSHAKE_DATA {
                    size: 253,
                    packets: 1,
                    ..Default::default()
                }),
                MavMessage::ENCAPSULATED_DATA(ENCAPSULATED_DATA_DATA { seqnr: 0, data }),
            ],
        }
    }

    #[test]
    fn alerts_survive_until_acknowledged_and_come_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("outbox")).unwrap();
        for id in [7, 3, 5] {
            outbox.put(1, 191, &hit(id)).unwrap();
        }
        outbox.remove(5).unwrap();
        outbox.remove(99).unwrap();
        // A "restart": a new Outbox over the same folder.
        let again = Outbox::open(&dir.path().join("outbox")).unwrap();
        let (alerts, bad) = again.pending().unwrap();
        assert!(bad.is_empty());
        assert_eq!(alerts, vec![hit(3), hit(7)], "what was not acknowledged, byte for byte");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("outbox/alert-3.bin"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_damaged_file_is_named_and_kept_never_dropped_silently() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        outbox.put(1, 191, &hit(1)).unwrap();
        outbox.put(1, 191, &hit(2)).unwrap();
        let p = dir.path().join("alert-2.bin");
        let mut b = std::fs::read(&p).unwrap();
        let n = b.len();
        b[n - 3] ^= 0xff; // inside the image chunk's frame: its CRC fails
        std::fs::write(&p, &b).unwrap();
        std::fs::write(dir.path().join("alert-3.bin"), b"something else").unwrap();
        let (alerts, bad) = outbox.pending().unwrap();
        assert_eq!(alerts, vec![hit(1)]);
        assert_eq!(bad.len(), 2);
        assert!(
            bad.iter()
                .any(|e| e.path.ends_with("alert-2.bin") && e.reason.contains("message 2"))
        );
        assert!(bad.iter().any(|e| e.reason.contains("not an outbox file")));
        assert!(p.exists(), "kept for a person to look at");
    }
}
