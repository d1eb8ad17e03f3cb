//! Taking an authorization uploaded from the ground station (LAW.md 3.4, issue 16 item 2): a
//! senior officer starts an urgent use at the station, which sends the signed document and the
//! designated persons' enrolment images as one bundle in UTKIK_UPLOAD_CHUNK messages
//! (`utkik_shared::authz::upload`). This module is the drone's intake:
//!
//! - a chunk counts only when it is MAVLink 2 signed with the link key, not replayed (a window of
//!   its own: the command replay window must not see chunks, or a command overtaken on the air
//!   by a chunk would be refused as a replay) and addressed to this drone. Anything else is
//!   dropped and counted, never acknowledged: an unsigned sender learns nothing and moves nothing;
//! - a complete bundle (SHA-256 checked by the receiver) is verified *before* anything of it is
//!   written: the bundle's format, the document against the drone's own trust store at the
//!   drone's clock (signature, issuer kind, content; an urgent use signed with the senior
//!   officer's own crew key, `user:<id>`), and every enrolment image the document names is in
//!   the bundle with the SHA-256 the issuer signed; nothing else is in it. Only then are the
//!   files written under `gate.volatile_dir/uploads/<digest>/` (atomic, 0600; a RAM filesystem,
//!   so a powered-off drone holds none of them: `crate::volatile`), where
//!   `enrol.rs` finds the images beside the document as for a file loaded at start-up;
//! - a document refused or revoked on this drone is not stored again: its enrolment images were
//!   deleted as data of the use, and neither a re-upload nor chunks recorded off the air and
//!   replayed after a reboot (the chunk replay window is not saved) may bring them back;
//! - the answer is UTKIK_UPLOAD_ACK STORED with the document's digest or REFUSED with a reason
//!   naming what is wrong. A refused bundle writes nothing, so the running use and the loaded
//!   document are untouched.
//!
//! Storing is not loading: an uploaded document does nothing until a user-signed
//! UTKIK_AUTHZ_COMMAND names its digest (`identify.rs` switches to it when no use runs).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use utkik_shared::authz::upload::{AUTHORIZATION_FILE, MAX_BUNDLE_BYTES, Received, UploadBundle, UploadReceiver};
use utkik_shared::authz::{Authorization, AuthzDigest, TrustStore, VerifiedAuthorization, authorize};
use utkik_shared::dialect::{MavMessage, UTKIK_UPLOAD_ACK_DATA, UtkikUploadStatus};
use utkik_shared::link_signing::{LinkKey, ReplayWindow, verify_frame};
use utkik_shared::mavframe::RawFrame;

use super::enrol::CACHE_PREFIX;

/// Folder of the stored uploads inside `gate.volatile_dir`, one sub-folder per document digest.
pub const UPLOADS_DIR: &str = "uploads";

/// Counters of the intake (the out link's dropped acks have their own).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UploadStats {
    /// Chunks taken (signed, fresh, addressed to us).
    pub chunks_taken: u64,
    /// Chunks dropped: not signed with the link key, replayed, or not decodable.
    pub chunks_dropped: u64,
    /// Bundles stored.
    pub stored: u64,
    /// Bundles refused (damaged, or the document or its images did not verify).
    pub refused: u64,
}

/// What one frame did.
#[derive(Debug)]
pub enum Intake {
    /// Not a chunk for this drone, or dropped (counted): send nothing.
    Nothing,
    /// Send this ack.
    Ack(UTKIK_UPLOAD_ACK_DATA),
    /// The upload was refused by the receiver (size, damaged bundle): send the ack, log `reason`.
    Refused {
        /// The ack to send.
        ack: UTKIK_UPLOAD_ACK_DATA,
        /// Why, for the audit log.
        reason: String,
    },
    /// Complete and its SHA-256 checked: verify and store it ([`UploadIntake::store`]), then
    /// answer with [`UploadIntake::finish`].
    Complete {
        /// The ground's system id (the ack's target).
        ground_system: u8,
        /// The upload.
        upload_id: u32,
        /// The bundle.
        bytes: Vec<u8>,
    },
}

/// A bundle that was verified and written.
#[derive(Debug)]
pub struct Stored {
    /// The document, verified against the trust store.
    pub verified: VerifiedAuthorization,
    /// Its file (`uploads/<digest>/authorization.json`).
    pub path: PathBuf,
    /// Enrolment images written beside it.
    pub images: usize,
}

/// Why a complete bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{part}: {reason}")]
pub struct Refusal {
    /// Which part: `bundle`, `authorization.json`, `enrolment images`, `storage`.
    pub part: &'static str,
    /// What is wrong, naming the field or file; the ack carries its first 64 bytes.
    pub reason: String,
}

fn refusal(part: &'static str, reason: impl ToString) -> Refusal {
    Refusal {
        part,
        reason: reason.to_string(),
    }
}

/// The drone's upload intake.
pub struct UploadIntake {
    dir: PathBuf,
    receiver: UploadReceiver,
    replay: ReplayWindow,
    stats: UploadStats,
    /// The upload whose receiver refusal was logged last (its later chunks repeat the answer).
    refusal_logged: Option<u32>,
}

impl UploadIntake {
    /// Intake storing under `volatile_dir/uploads/`.
    pub fn new(volatile_dir: &Path) -> Self {
        Self {
            dir: volatile_dir.join(UPLOADS_DIR),
            receiver: UploadReceiver::new(MAX_BUNDLE_BYTES),
            replay: ReplayWindow::new(),
            stats: UploadStats::default(),
            refusal_logged: None,
        }
    }

    /// The counters.
    pub fn stats(&self) -> UploadStats {
        self.stats
    }

    /// The folder of all stored uploads (`gate.volatile_dir/uploads`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder of the stored document `digest`.
    pub fn dir_of(&self, digest: &AuthzDigest) -> PathBuf {
        self.dir.join(digest.to_hex())
    }

    /// The stored document `digest`'s file, if it was stored.
    pub fn stored_path(&self, digest: &AuthzDigest) -> Option<PathBuf> {
        let p = self.dir_of(digest).join(AUTHORIZATION_FILE);
        p.is_file().then_some(p)
    }

    /// Takes one UTKIK_UPLOAD_CHUNK frame from the ground (whole, signature included).
    pub fn take(&mut self, frame: &[u8], key: &LinkKey, system_id: u8, component_id: u8, now_usec: u64) -> Intake {
        let parsed = RawFrame::parse(frame)
            .ok()
            .and_then(|f| Some((f.sysid(), f.decode::<MavMessage>().ok()?)));
        let Some((ground_system, MavMessage::UTKIK_UPLOAD_CHUNK(chunk))) = parsed else {
            self.drop_chunk("not a well-formed UTKIK_UPLOAD_CHUNK");
            return Intake::Nothing;
        };
        if chunk.target_system != system_id || (chunk.target_component != 0 && chunk.target_component != component_id) {
            return Intake::Nothing;
        }
        if let Err(why) = verify_frame(frame, key, &mut self.replay, now_usec) {
            self.drop_chunk(&format!("link signature: {why}"));
            return Intake::Nothing;
        }
        self.stats.chunks_taken += 1;
        match self.receiver.chunk(ground_system, &chunk) {
            Received::Complete { upload_id, bytes } => Intake::Complete {
                ground_system,
                upload_id,
                bytes,
            },
            Received::Ack(ack) if ack.status == UtkikUploadStatus::UTKIK_UPLOAD_STATUS_REFUSED => {
                if self.refusal_logged == Some(ack.upload_id) {
                    return Intake::Ack(ack);
                }
                self.refusal_logged = Some(ack.upload_id);
                self.stats.refused += 1;
                let reason = ack.reason.to_str().unwrap_or("(reason not UTF-8)").to_string();
                Intake::Refused {
                    reason: format!(
                        "upload {} ({} bytes, bundle_sha256 {}): {reason}",
                        chunk.upload_id,
                        chunk.total_size,
                        hex(&chunk.bundle_sha256)
                    ),
                    ack,
                }
            }
            Received::Ack(ack) => Intake::Ack(ack),
        }
    }

    fn drop_chunk(&mut self, why: &str) {
        self.stats.chunks_dropped += 1;
        // A flood of forged chunks must not flood the log either: the first and every 100th.
        if self.stats.chunks_dropped % 100 == 1 {
            tracing::warn!(
                dropped = self.stats.chunks_dropped,
                "upload chunk dropped, not acknowledged: {why}"
            );
        } else {
            tracing::debug!("upload chunk dropped: {why}");
        }
    }

    /// Verifies a complete bundle (format, document against `trust` at `now_usec`, enrolment
    /// images) and only then writes it. Nothing is written when it is refused. `ended` says why
    /// a document must not be stored again (it was refused or revoked on this drone: its
    /// enrolment images were deleted as data of the use, and a re-upload, or chunks recorded off
    /// the air and replayed after a reboot, must not bring them back).
    ///
    /// # Errors
    /// [`Refusal`] naming what is wrong.
    pub fn store(
        &mut self,
        bytes: &[u8],
        trust: &TrustStore,
        now_usec: u64,
        ended: &dyn Fn(&AuthzDigest) -> Option<String>,
    ) -> Result<Stored, Refusal> {
        let r = self.verify_and_write(bytes, trust, now_usec, ended);
        match &r {
            Ok(_) => self.stats.stored += 1,
            Err(_) => self.stats.refused += 1,
        }
        r
    }

    fn verify_and_write(
        &self,
        bytes: &[u8],
        trust: &TrustStore,
        now_usec: u64,
        ended: &dyn Fn(&AuthzDigest) -> Option<String>,
    ) -> Result<Stored, Refusal> {
        let bundle = UploadBundle::from_bytes(bytes).map_err(|e| refusal("bundle", e))?;
        let verified = authorize(&bundle.authorization, trust, now_usec).map_err(|e| refusal(AUTHORIZATION_FILE, e))?;
        check_images(verified.document(), &bundle).map_err(|e| refusal("enrolment images", e))?;
        if let Some(why) = ended(&verified.digest()) {
            return Err(refusal(AUTHORIZATION_FILE, why));
        }
        let dir = self.dir_of(&verified.digest());
        let path = bundle
            .write_to_dir(&dir)
            .map_err(|e| refusal("storage", format!("not stored: {e}")))?;
        Ok(Stored {
            images: bundle.files.len(),
            verified,
            path,
        })
    }

    /// The final ack of a completed upload.
    pub fn finish(
        &mut self,
        ground_system: u8,
        upload_id: u32,
        outcome: &Result<AuthzDigest, String>,
    ) -> UTKIK_UPLOAD_ACK_DATA {
        self.receiver.finish(ground_system, upload_id, outcome)
    }

    /// Deletes the enrolment images stored with the uploaded document `doc` (a refused or
    /// revoked use: they are data of the use); the document itself stays, it is the record of
    /// the decision and the saved state names it. Returns how many files were deleted.
    pub fn delete_images(&self, digest: &AuthzDigest, doc: &Authorization) -> u64 {
        let dir = self.dir_of(digest);
        let mut n = 0;
        for image in doc.designated_persons.iter().flat_map(|p| &p.enrolment_images) {
            if image.reference.starts_with(CACHE_PREFIX) || !plain_name(&image.reference) {
                continue;
            }
            let path = dir.join(&image.reference);
            match std::fs::remove_file(&path) {
                Ok(()) => n += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::error!("deleting uploaded enrolment image {}: {e}", path.display()),
            }
        }
        // The deletion is durable before the receipt says so.
        if n > 0
            && let Err(e) = std::fs::File::open(&dir).and_then(|d| d.sync_all())
        {
            tracing::error!("{}: {e}", dir.display());
        }
        n
    }
}

fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\'])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every enrolment image the document names is in the bundle with the signed SHA-256 (or in the
/// drone's imagery cache, `utkik-cache:`), and the bundle holds nothing else.
fn check_images(doc: &Authorization, bundle: &UploadBundle) -> Result<(), String> {
    let mut used = vec![false; bundle.files.len()];
    for person in &doc.designated_persons {
        for image in &person.enrolment_images {
            if image.reference.starts_with(CACHE_PREFIX) {
                continue;
            }
            let subject = &person.subject_id;
            let Some(i) = bundle.files.iter().position(|f| f.name == image.reference) else {
                return Err(format!(
                    "subject `{subject}`: enrolment image `{}` is not in the bundle",
                    image.reference
                ));
            };
            let got = hex(&Sha256::digest(&bundle.files[i].bytes));
            if !got.eq_ignore_ascii_case(&image.sha256_hex) {
                return Err(format!(
                    "subject `{subject}`: enrolment image `{}`: sha256 {got} is not the signed {}",
                    image.reference, image.sha256_hex
                ));
            }
            used[i] = true;
        }
    }
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(format!(
            "bundle file `{}` is not an enrolment image the document names",
            bundle.files[i].name
        ));
    }
    Ok(())
}
