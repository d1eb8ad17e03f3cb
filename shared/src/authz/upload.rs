//! Uploading an authorization to the drone over the radio (LAW.md 3.4): a senior officer starts
//! an urgent use at the ground station, so its signed document and the designated persons'
//! enrolment images must reach a drone in the air. They travel as one *bundle* in
//! UTKIK_UPLOAD_CHUNK messages over the signed link; the drone answers each with
//! UTKIK_UPLOAD_ACK.
//!
//! Why our own messages and not MAVLink FTP: FTP is stop-and-wait (one 239-byte write per round
//! trip) and writes to paths the vehicle chooses to expose; an upload here is one bundle the gate
//! verifies as a whole before anything of it is used, with go-back-N over a lossy radio. The
//! bundle is not trusted for being complete: the drone verifies the authorization inside it
//! against its own trust store (signature, issuer kind, content) and the document's SHA-256 of
//! each enrolment image, exactly as for a document loaded from a file.
//!
//! Bundle format ([`BUNDLE_MAGIC`], little-endian):
//! ```text
//! "utkik-upload/1\n"  u16 file count  { u8 name length, name, u32 size, bytes }*
//! ```
//! The first file is [`AUTHORIZATION_FILE`] (the signed authorization file's bytes); the others
//! are the enrolment images the document references by file name. Names are plain file names
//! (no directories, no leading dot), unique; nothing may follow the last file.
//!
//! Transfer: [`UploadSender`] (ground) keeps [`WINDOW_CHUNKS`] chunks in flight ahead of the
//! acknowledged prefix and goes back to it when no ack moves it for its resend timeout: at
//! least [`RESEND_AFTER_S`], and twice the round trip it measures (as TCP does, smoothed), since a
//! slow radio or a busy companion computer answers later than a fixed timer would wait, and
//! going back too early resends a window the drone was about to acknowledge;
//! [`UploadReceiver`] (drone) keeps only the contiguous prefix, so a lost chunk costs one window,
//! and checks the bundle's SHA-256 before handing it over. The final answer (stored with the
//! authorization's digest, or refused with the reason) is repeated for every later chunk of that
//! upload, so a lost final ack is healed by the sender's resend.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::signed::AuthzDigest;
use crate::dialect::{MavMessage, UTKIK_UPLOAD_ACK_DATA, UTKIK_UPLOAD_CHUNK_DATA, UtkikUploadStatus};

/// First bytes of a bundle.
pub const BUNDLE_MAGIC: &[u8] = b"utkik-upload/1\n";
/// Name of the signed authorization file inside a bundle (always the first file).
pub const AUTHORIZATION_FILE: &str = "authorization.json";
/// Largest bundle either side accepts: a document and a few enrolment images, with room.
pub const MAX_BUNDLE_BYTES: usize = 4 * 1024 * 1024;
/// Most files in a bundle (the document and up to 64 enrolment images).
pub const MAX_FILES: usize = 65;
/// Longest file name in a bundle.
pub const MAX_NAME_BYTES: usize = 64;
/// Bundle bytes per UTKIK_UPLOAD_CHUNK.
pub const CHUNK_DATA_BYTES: usize = 200;
/// Chunks the sender keeps in flight ahead of the acknowledged prefix.
pub const WINDOW_CHUNKS: usize = 8;
/// Shortest time without progress after which the sender goes back to the acknowledged prefix,
/// seconds.
pub const RESEND_AFTER_S: f64 = 0.5;
/// Longest resend timeout, seconds (a measured round trip never stretches it further).
pub const MAX_RESEND_AFTER_S: f64 = 5.0;

/// Why a bundle cannot be read or stored.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Larger than [`MAX_BUNDLE_BYTES`].
    #[error("bundle of {0} bytes is larger than the {max} allowed", max = MAX_BUNDLE_BYTES)]
    TooLarge(usize),
    /// Does not start with [`BUNDLE_MAGIC`].
    #[error("not an upload bundle (it does not start with `utkik-upload/1`)")]
    NotABundle,
    /// Ends inside a field.
    #[error("bundle ends at byte {at} inside {what}")]
    Truncated {
        /// Offset where the data ended.
        at: usize,
        /// Which field.
        what: String,
    },
    /// The file count is 0 or above [`MAX_FILES`].
    #[error("bundle file count {0} is not in 1..={max}", max = MAX_FILES)]
    FileCount(usize),
    /// A file name that is not a plain, unique file name.
    #[error("bundle file {index}: name {name:?}: {reason}")]
    BadName {
        /// Position of the file in the bundle.
        index: usize,
        /// The name as read (lossy UTF-8).
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The first file is not the authorization.
    #[error("bundle's first file is {0:?}, not `authorization.json`")]
    NoAuthorization(String),
    /// Bytes after the last file.
    #[error("{0} bytes after the last file of the bundle")]
    TrailingBytes(usize),
    /// Writing the bundle out.
    #[error("writing upload file {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFile {
    /// Plain file name (the document references enrolment images by it).
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A signed authorization file and its enrolment images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadBundle {
    /// The signed authorization file's bytes.
    pub authorization: Vec<u8>,
    /// The enrolment images, by the file names the document uses.
    pub files: Vec<UploadFile>,
}

/// Checks a bundle file name: 1..=64 bytes of `[A-Za-z0-9._-]`, not starting with a dot.
fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err("a name is 1 to 64 bytes");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("only letters, digits, `.`, `_` and `-` (a plain file name, no directory)");
    }
    if name.starts_with('.') {
        return Err("a name must not start with `.`");
    }
    Ok(())
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: impl Fn() -> String) -> Result<&'a [u8], UploadError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(UploadError::Truncated {
                at: self.bytes.len(),
                what: what(),
            });
        };
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
}

impl UploadBundle {
    /// The bundle's bytes.
    ///
    /// # Panics
    /// When a name is not a valid bundle file name or there are too many files: the station
    /// builds bundles from names it chose, so that is a bug, not input.
    pub fn to_bytes(&self) -> Vec<u8> {
        assert!(self.files.len() < MAX_FILES, "too many files for one bundle");
        let mut out = BUNDLE_MAGIC.to_vec();
        out.extend_from_slice(&((self.files.len() + 1) as u16).to_le_bytes());
        let all = std::iter::once((AUTHORIZATION_FILE, &self.authorization))
            .chain(self.files.iter().map(|f| (f.name.as_str(), &f.bytes)));
        for (name, bytes) in all {
            check_name(name).expect("bundle file names are chosen by the station");
            out.push(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        out
    }

    /// Reads a bundle.
    ///
    /// # Errors
    /// [`UploadError`] naming the file and field that is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, UploadError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(UploadError::TooLarge(bytes.len()));
        }
        if !bytes.starts_with(BUNDLE_MAGIC) {
            return Err(UploadError::NotABundle);
        }
        let mut r = Reader {
            bytes,
            at: BUNDLE_MAGIC.len(),
        };
        let count = u16::from_le_bytes(r.take(2, || "the file count".into())?.try_into().expect("2 bytes")) as usize;
        if count == 0 || count > MAX_FILES {
            return Err(UploadError::FileCount(count));
        }
        let mut files: Vec<UploadFile> = Vec::with_capacity(count);
        for index in 0..count {
            let name_len = r.take(1, || format!("file {index}'s name length"))?[0] as usize;
            let raw = r.take(name_len, || format!("file {index}'s name"))?;
            let name = String::from_utf8_lossy(raw).into_owned();
            check_name(&name).map_err(|reason| UploadError::BadName {
                index,
                name: name.clone(),
                reason,
            })?;
            if files.iter().any(|f| f.name == name) {
                return Err(UploadError::BadName {
                    index,
                    name,
                    reason: "appears twice",
                });
            }
            let size =
                u32::from_le_bytes(r.take(4, || format!("`{name}`'s size"))?.try_into().expect("4 bytes")) as usize;
            let data = r.take(size, || format!("`{name}`'s {size} bytes"))?.to_vec();
            files.push(UploadFile { name, bytes: data });
        }
        if r.at != bytes.len() {
            return Err(UploadError::TrailingBytes(bytes.len() - r.at));
        }
        let first = files.remove(0);
        if first.name != AUTHORIZATION_FILE {
            return Err(UploadError::NoAuthorization(first.name));
        }
        Ok(Self {
            authorization: first.bytes,
            files,
        })
    }

    /// Writes every file into `dir` (created; each file atomic, mode 0600: enrolment images are
    /// biometric data) and returns the authorization file's path, so the document's references
    /// resolve beside it as for a document loaded from disk.
    ///
    /// # Errors
    /// [`UploadError::Write`] naming the file.
    pub fn write_to_dir(&self, dir: &Path) -> Result<PathBuf, UploadError> {
        std::fs::create_dir_all(dir).map_err(|e| UploadError::Write {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        for f in &self.files {
            let path = dir.join(&f.name);
            crate::atomic_file::write_atomic(&path, &f.bytes, 0o600).map_err(|e| UploadError::Write {
                path: path.clone(),
                message: e.to_string(),
            })?;
        }
        let path = dir.join(AUTHORIZATION_FILE);
        crate::atomic_file::write_atomic(&path, &self.authorization, 0o600).map_err(|e| UploadError::Write {
            path: path.clone(),
            message: e.to_string(),
        })?;
        Ok(path)
    }
}

/// SHA-256 of a bundle.
pub fn bundle_sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `reason` cut to the 64 bytes of the ack's field on a character boundary.
fn reason_field(reason: &str) -> mavlink_core::types::CharArray<64> {
    let mut end = reason.len().min(64);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].into()
}

/// What a chunk did at the drone.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// Send this ack (progress, or the repeated final answer of a finished upload).
    Ack(UTKIK_UPLOAD_ACK_DATA),
    /// The bundle is complete and its SHA-256 matches: verify and store it, then send
    /// [`UploadReceiver::finish`]'s ack.
    Complete {
        /// The upload.
        upload_id: u32,
        /// The bundle.
        bytes: Vec<u8>,
    },
}

#[derive(Debug)]
struct Partial {
    upload_id: u32,
    total_size: u32,
    sha256: [u8; 32],
    bytes: Vec<u8>,
    /// The final answer, once given (bytes dropped then).
    answer: Option<UTKIK_UPLOAD_ACK_DATA>,
}

/// The drone's side: one upload at a time, contiguous prefix only.
#[derive(Debug)]
pub struct UploadReceiver {
    max_bytes: usize,
    current: Option<Partial>,
}

impl UploadReceiver {
    /// A receiver taking bundles up to `max_bytes` (at most [`MAX_BUNDLE_BYTES`]).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes: max_bytes.min(MAX_BUNDLE_BYTES),
            current: None,
        }
    }

    /// Takes one chunk (the caller has checked its link signature and that it is addressed to
    /// this drone). `ground_system` is the sender's system id (the ack's target).
    pub fn chunk(&mut self, ground_system: u8, c: &UTKIK_UPLOAD_CHUNK_DATA) -> Received {
        let ack = |upload_id, received: u32, status, reason: &str| UTKIK_UPLOAD_ACK_DATA {
            target_system: ground_system,
            upload_id,
            received_bytes: received,
            status,
            authorization_digest: [0; 32],
            reason: reason_field(reason),
        };
        let refuse = |why: String| {
            Received::Ack(ack(
                c.upload_id,
                0,
                UtkikUploadStatus::UTKIK_UPLOAD_STATUS_REFUSED,
                &why,
            ))
        };
        if c.upload_id == 0 {
            return refuse("upload_id 0 is not an upload".into());
        }
        if c.total_size as usize > self.max_bytes {
            return refuse(format!("total_size {} > max {} bytes", c.total_size, self.max_bytes));
        }
        let len = c.length as usize;
        if len == 0 || len > CHUNK_DATA_BYTES || c.offset as u64 + len as u64 > c.total_size as u64 {
            return refuse(format!(
                "chunk offset {} length {} outside total_size {}",
                c.offset, c.length, c.total_size
            ));
        }
        let same = self.current.as_ref().is_some_and(|p| p.upload_id == c.upload_id);
        if !same {
            // A new upload replaces an unfinished or finished one.
            self.current = Some(Partial {
                upload_id: c.upload_id,
                total_size: c.total_size,
                sha256: c.bundle_sha256,
                bytes: Vec::new(),
                answer: None,
            });
        }
        let p = self.current.as_mut().expect("set above");
        if let Some(answer) = &p.answer {
            return Received::Ack(answer.clone());
        }
        if p.total_size != c.total_size || p.sha256 != c.bundle_sha256 {
            let why = "total_size or bundle_sha256 changed mid-upload".to_string();
            let a = ack(c.upload_id, 0, UtkikUploadStatus::UTKIK_UPLOAD_STATUS_REFUSED, &why);
            p.answer = Some(a.clone());
            p.bytes = Vec::new();
            return Received::Ack(a);
        }
        if c.offset as usize == p.bytes.len() {
            p.bytes.extend_from_slice(&c.data[..len]);
        }
        if p.bytes.len() == p.total_size as usize {
            let bytes = std::mem::take(&mut p.bytes);
            if bundle_sha256(&bytes) != p.sha256 {
                let a = ack(
                    c.upload_id,
                    0,
                    UtkikUploadStatus::UTKIK_UPLOAD_STATUS_REFUSED,
                    "bundle_sha256 does not match the bytes received",
                );
                p.answer = Some(a.clone());
                return Received::Ack(a);
            }
            // Until `finish`, a repeated chunk is answered with the full count.
            p.answer = Some(ack(
                c.upload_id,
                p.total_size,
                UtkikUploadStatus::UTKIK_UPLOAD_STATUS_RECEIVING,
                "",
            ));
            return Received::Complete {
                upload_id: c.upload_id,
                bytes,
            };
        }
        Received::Ack(ack(
            c.upload_id,
            p.bytes.len() as u32,
            UtkikUploadStatus::UTKIK_UPLOAD_STATUS_RECEIVING,
            "",
        ))
    }

    /// The final answer for a [`Received::Complete`] upload: stored with the authorization's
    /// digest, or refused with the reason. Repeated for every later chunk of the upload.
    pub fn finish(
        &mut self,
        ground_system: u8,
        upload_id: u32,
        outcome: &Result<AuthzDigest, String>,
    ) -> UTKIK_UPLOAD_ACK_DATA {
        let total = self
            .current
            .as_ref()
            .filter(|p| p.upload_id == upload_id)
            .map_or(0, |p| p.total_size);
        let a = match outcome {
            Ok(d) => UTKIK_UPLOAD_ACK_DATA {
                target_system: ground_system,
                upload_id,
                received_bytes: total,
                status: UtkikUploadStatus::UTKIK_UPLOAD_STATUS_STORED,
                authorization_digest: d.0,
                reason: reason_field(""),
            },
            Err(why) => UTKIK_UPLOAD_ACK_DATA {
                target_system: ground_system,
                upload_id,
                received_bytes: total,
                status: UtkikUploadStatus::UTKIK_UPLOAD_STATUS_REFUSED,
                authorization_digest: [0; 32],
                reason: reason_field(why),
            },
        };
        if let Some(p) = self.current.as_mut().filter(|p| p.upload_id == upload_id) {
            p.answer = Some(a.clone());
        }
        a
    }
}

/// How an upload ended at the drone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadOutcome {
    /// Stored and verified; the digest of the authorization in it.
    Stored(AuthzDigest),
    /// Refused, with the drone's reason.
    Refused(String),
}

/// The ground's side of one upload.
#[derive(Debug, Clone)]
pub struct UploadSender {
    upload_id: u32,
    target_system: u8,
    target_component: u8,
    bytes: Vec<u8>,
    sha256: [u8; 32],
    /// Contiguous bytes the drone holds.
    acked: usize,
    /// Next offset to send.
    next: usize,
    /// When the acknowledged prefix last moved, or the sender last went back.
    progress_s: f64,
    started_s: f64,
    chunks_sent: u64,
    outcome: Option<UploadOutcome>,
    /// When each chunk in flight (by offset) was first sent, and whether it was sent again:
    /// only a chunk sent once gives a round-trip sample (Karn: the ack of a resent chunk may
    /// answer either send).
    sent_at_s: std::collections::BTreeMap<usize, (f64, bool)>,
    /// Smoothed round trip, seconds (None until the first sample).
    srtt_s: Option<f64>,
    /// The resend timeout, seconds: from the round trip, doubled at each go-back without
    /// progress (so a drone slower than any sample so far is still waited for).
    rto_s: f64,
}

impl UploadSender {
    /// An upload of `bundle` (from [`UploadBundle::to_bytes`]) to one drone.
    ///
    /// # Panics
    /// When `upload_id` is 0 or the bundle is empty or larger than [`MAX_BUNDLE_BYTES`].
    pub fn new(upload_id: u32, target_system: u8, target_component: u8, bundle: Vec<u8>, now_s: f64) -> Self {
        assert!(upload_id != 0, "upload id 0 is reserved");
        assert!(!bundle.is_empty() && bundle.len() <= MAX_BUNDLE_BYTES, "bundle size");
        Self {
            upload_id,
            target_system,
            target_component,
            sha256: bundle_sha256(&bundle),
            bytes: bundle,
            acked: 0,
            next: 0,
            progress_s: now_s,
            started_s: now_s,
            chunks_sent: 0,
            outcome: None,
            sent_at_s: std::collections::BTreeMap::new(),
            srtt_s: None,
            rto_s: RESEND_AFTER_S,
        }
    }

    /// The current resend timeout, seconds: twice the smoothed round trip, doubled at each
    /// go-back without progress, within [`RESEND_AFTER_S`]..=[`MAX_RESEND_AFTER_S`].
    pub fn resend_after_s(&self) -> f64 {
        self.rto_s
    }

    /// The upload id.
    pub fn upload_id(&self) -> u32 {
        self.upload_id
    }

    /// The drone it goes to.
    pub fn target_system(&self) -> u8 {
        self.target_system
    }

    /// (bytes acknowledged, total bytes).
    pub fn progress(&self) -> (usize, usize) {
        (self.acked, self.bytes.len())
    }

    /// Chunks sent so far, resends included.
    pub fn chunks_sent(&self) -> u64 {
        self.chunks_sent
    }

    /// Seconds since the upload started.
    pub fn age_s(&self, now_s: f64) -> f64 {
        now_s - self.started_s
    }

    /// How it ended, once the drone said.
    pub fn outcome(&self) -> Option<&UploadOutcome> {
        self.outcome.as_ref()
    }

    fn chunk_at(&self, offset: usize) -> MavMessage {
        let end = (offset + CHUNK_DATA_BYTES).min(self.bytes.len());
        let mut data = [0u8; CHUNK_DATA_BYTES];
        data[..end - offset].copy_from_slice(&self.bytes[offset..end]);
        MavMessage::UTKIK_UPLOAD_CHUNK(UTKIK_UPLOAD_CHUNK_DATA {
            target_system: self.target_system,
            target_component: self.target_component,
            upload_id: self.upload_id,
            total_size: self.bytes.len() as u32,
            offset: offset as u32,
            bundle_sha256: self.sha256,
            length: (end - offset) as u8,
            data,
        })
    }

    /// The chunks to send now: the window ahead of the acknowledged prefix; after
    /// [`RESEND_AFTER_S`] without progress, from the prefix again (when everything is
    /// acknowledged but the final answer is missing, the last chunk, which the drone answers
    /// with it).
    pub fn due(&mut self, now_s: f64) -> Vec<MavMessage> {
        if self.outcome.is_some() {
            return Vec::new();
        }
        let total = self.bytes.len();
        if now_s - self.progress_s >= self.rto_s {
            self.progress_s = now_s;
            self.rto_s = (2.0 * self.rto_s).min(MAX_RESEND_AFTER_S);
            self.next = if self.acked >= total {
                (total - 1) / CHUNK_DATA_BYTES * CHUNK_DATA_BYTES
            } else {
                self.acked
            };
        }
        let limit = (self.acked + WINDOW_CHUNKS * CHUNK_DATA_BYTES).min(total);
        let mut out = Vec::new();
        while self.next < limit {
            out.push(self.chunk_at(self.next));
            self.sent_at_s
                .entry(self.next)
                .and_modify(|(_, resent)| *resent = true)
                .or_insert((now_s, false));
            self.next += CHUNK_DATA_BYTES;
        }
        self.chunks_sent += out.len() as u64;
        out
    }

    /// Takes the drone's ack (other uploads' acks are ignored: `false`).
    pub fn on_ack(&mut self, from_system: u8, ack: &UTKIK_UPLOAD_ACK_DATA, now_s: f64) -> bool {
        if from_system != self.target_system || ack.upload_id != self.upload_id || self.outcome.is_some() {
            return false;
        }
        match ack.status {
            UtkikUploadStatus::UTKIK_UPLOAD_STATUS_STORED => {
                self.acked = self.bytes.len();
                self.outcome = Some(UploadOutcome::Stored(AuthzDigest(ack.authorization_digest)));
            }
            UtkikUploadStatus::UTKIK_UPLOAD_STATUS_REFUSED => {
                let why = ack.reason.to_str().unwrap_or("(reason not UTF-8)").to_string();
                self.outcome = Some(UploadOutcome::Refused(why));
            }
            UtkikUploadStatus::UTKIK_UPLOAD_STATUS_RECEIVING => {
                let got = (ack.received_bytes as usize).min(self.bytes.len());
                if got > self.acked {
                    // The chunk that completed the prefix gives the round-trip sample.
                    let last = (got - 1) / CHUNK_DATA_BYTES * CHUNK_DATA_BYTES;
                    if let Some(&(sent, false)) = self.sent_at_s.get(&last) {
                        let sample = (now_s - sent).max(0.0);
                        let srtt = self.srtt_s.map_or(sample, |r| 0.875 * r + 0.125 * sample);
                        self.srtt_s = Some(srtt);
                        self.rto_s = (2.0 * srtt).clamp(RESEND_AFTER_S, MAX_RESEND_AFTER_S);
                    }
                    self.sent_at_s = self.sent_at_s.split_off(&got);
                    self.acked = got;
                    self.progress_s = now_s;
                    self.next = self.next.max(got);
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> UploadBundle {
        UploadBundle {
            authorization: br#"{"document": {}, "signature_ed25519_hex": ""}"#.to_vec(),
            files: vec![
                UploadFile {
                    name: "subject-1.jpg".into(),
                    bytes: (0..3000u32).map(|i| (i * 7) as u8).collect(),
                },
                UploadFile {
                    name: "subject-2.png".into(),
                    bytes: vec![9; 450],
                },
            ],
        }
    }

    #[test]
    fn a_bundle_round_trips_and_is_written_beside_its_document() {
        let b = bundle();
        let bytes = b.to_bytes();
        assert_eq!(UploadBundle::from_bytes(&bytes).unwrap(), b);
        let dir = tempfile::tempdir().unwrap();
        let path = b.write_to_dir(&dir.path().join("up")).unwrap();
        assert_eq!(path, dir.path().join("up").join(AUTHORIZATION_FILE));
        assert_eq!(std::fs::read(&path).unwrap(), b.authorization);
        assert_eq!(
            std::fs::read(dir.path().join("up/subject-2.png")).unwrap(),
            vec![9; 450]
        );
    }

    #[test]
    fn damaged_bundles_are_refused_naming_what_is_wrong() {
        let good = bundle().to_bytes();
        let text = |b: &[u8]| UploadBundle::from_bytes(b).unwrap_err().to_string();
        assert!(text(b"hello").contains("not an upload bundle"));
        assert!(
            text(&good[..good.len() - 1]).contains("`subject-2.png`'s 450 bytes"),
            "{}",
            text(&good[..good.len() - 1])
        );
        let mut extra = good.clone();
        extra.push(0);
        assert!(text(&extra).contains("1 bytes after the last file"));
        // A path instead of a file name.
        let mut evil = good.clone();
        let at = evil.windows(13).position(|w| w == b"subject-1.jpg").unwrap();
        evil[at..at + 13].copy_from_slice(b"../../etc/pwd");
        assert!(text(&evil).contains("no directory"), "{}", text(&evil));
        let mut dot = good.clone();
        dot[at] = b'.';
        assert!(text(&dot).contains("must not start with `.`"));
        // Twice the same name.
        let mut twice = bundle();
        twice.files[1].name = "subject-1.jpg".into();
        assert!(text(&twice.to_bytes()).contains("appears twice"));
        // No authorization first.
        let mut first = good.clone();
        let at = first
            .windows(18)
            .position(|w| w == AUTHORIZATION_FILE.as_bytes())
            .unwrap();
        first[at] = b'b';
        assert!(text(&first).contains("not `authorization.json`"));
        let mut zero = good.clone();
        zero[BUNDLE_MAGIC.len()] = 0;
        zero[BUNDLE_MAGIC.len() + 1] = 0;
        assert!(text(&zero).contains("file count 0"));
    }

    /// Runs an upload through a link that drops the frames `drop(n)` says (n counts frames in
    /// both directions) and returns the drone's complete bundle and the chunks sent.
    fn run(bundle: &[u8], mut drop: impl FnMut(u64) -> bool) -> (Vec<u8>, u64, f64) {
        let mut tx = UploadSender::new(7, 1, 191, bundle.to_vec(), 0.0);
        let mut rx = UploadReceiver::new(MAX_BUNDLE_BYTES);
        let mut got = None;
        let mut n = 0u64;
        let mut now = 0.0;
        while tx.outcome().is_none() {
            assert!(now < 600.0, "upload did not finish: {:?}", tx.progress());
            for m in tx.due(now) {
                n += 1;
                let MavMessage::UTKIK_UPLOAD_CHUNK(c) = m else {
                    unreachable!()
                };
                if drop(n) {
                    continue;
                }
                let ack = match rx.chunk(255, &c) {
                    Received::Ack(a) => a,
                    Received::Complete { upload_id, bytes } => {
                        got = Some(bytes);
                        rx.finish(255, upload_id, &Ok(AuthzDigest([5; 32])))
                    }
                };
                n += 1;
                if !drop(n) {
                    tx.on_ack(1, &ack, now);
                }
            }
            now += 0.02;
        }
        assert_eq!(tx.outcome(), Some(&UploadOutcome::Stored(AuthzDigest([5; 32]))));
        (got.expect("complete"), tx.chunks_sent(), now)
    }

    #[test]
    fn an_upload_arrives_whole_over_a_clean_and_a_lossy_link() {
        let bytes = bundle().to_bytes();
        let (got, sent, _) = run(&bytes, |_| false);
        assert_eq!(got, bytes);
        assert_eq!(sent as usize, bytes.len().div_ceil(CHUNK_DATA_BYTES));
        // 30 % loss both ways, including the final ack (seeded, deterministic).
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let (got, sent, secs) = run(&bytes, |_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % 10 < 3
        });
        assert_eq!(got, bytes);
        assert!(
            sent as usize > bytes.len().div_ceil(CHUNK_DATA_BYTES),
            "losses need resends"
        );
        assert!(secs < 60.0, "{secs} s");
    }

    #[test]
    fn a_slow_drone_is_waited_for_instead_of_flooded_with_resends() {
        // The drone answers each chunk 0.8 s after it was sent (a busy companion computer): a
        // fixed 0.5 s timer would go back and resend every window.
        let bytes: Vec<u8> = (0..40_000u32).map(|i| (i * 13) as u8).collect();
        let mut tx = UploadSender::new(7, 1, 191, bytes.clone(), 0.0);
        let mut rx = UploadReceiver::new(MAX_BUNDLE_BYTES);
        let mut in_flight: std::collections::VecDeque<(f64, UTKIK_UPLOAD_CHUNK_DATA)> = Default::default();
        let mut now = 0.0;
        while tx.outcome().is_none() {
            assert!(now < 600.0, "did not finish: {:?}", tx.progress());
            for m in tx.due(now) {
                let MavMessage::UTKIK_UPLOAD_CHUNK(c) = m else {
                    unreachable!()
                };
                in_flight.push_back((now + 0.8, c));
            }
            while in_flight.front().is_some_and(|(t, _)| *t <= now) {
                let (_, c) = in_flight.pop_front().unwrap();
                let ack = match rx.chunk(255, &c) {
                    Received::Ack(a) => a,
                    Received::Complete { upload_id, .. } => rx.finish(255, upload_id, &Ok(AuthzDigest([5; 32]))),
                };
                tx.on_ack(1, &ack, now);
            }
            now += 0.02;
        }
        let needed = bytes.len().div_ceil(CHUNK_DATA_BYTES) as u64;
        assert!(
            tx.chunks_sent() < needed + needed / 5,
            "{} chunks sent for {needed} (resend timeout {:.2} s)",
            tx.chunks_sent(),
            tx.resend_after_s()
        );
        assert!((1.5..=2.0).contains(&tx.resend_after_s()), "{}", tx.resend_after_s());
    }

    #[test]
    fn the_final_answer_is_repeated_and_a_changed_upload_is_refused() {
        let bytes = bundle().to_bytes();
        let mut tx = UploadSender::new(3, 1, 191, bytes.clone(), 0.0);
        let mut rx = UploadReceiver::new(MAX_BUNDLE_BYTES);
        // Every chunk once, in order (each batch acknowledged up to its end).
        let mut chunks = Vec::new();
        loop {
            let batch: Vec<_> = tx
                .due(0.0)
                .into_iter()
                .map(|m| match m {
                    MavMessage::UTKIK_UPLOAD_CHUNK(c) => c,
                    _ => unreachable!(),
                })
                .collect();
            let Some(last) = batch.last() else { break };
            let ack = UTKIK_UPLOAD_ACK_DATA {
                upload_id: 3,
                received_bytes: last.offset + last.length as u32,
                status: UtkikUploadStatus::UTKIK_UPLOAD_STATUS_RECEIVING,
                ..Default::default()
            };
            assert!(tx.on_ack(1, &ack, 0.0));
            chunks.extend(batch);
        }
        assert_eq!(chunks.len(), bytes.len().div_ceil(CHUNK_DATA_BYTES));
        let mut complete = 0;
        for c in &chunks {
            if let Received::Complete { .. } = rx.chunk(255, c) {
                complete += 1;
            }
        }
        assert_eq!(complete, 1);
        let refused = rx.finish(255, 3, &Err("signed by an operator's key".into()));
        assert_eq!(refused.status, UtkikUploadStatus::UTKIK_UPLOAD_STATUS_REFUSED);
        // The last chunk again (its final ack was lost): the same answer, not a second Complete.
        assert_eq!(rx.chunk(255, chunks.last().unwrap()), Received::Ack(refused.clone()));
        assert_eq!(refused.reason.to_str().unwrap(), "signed by an operator's key");

        // A chunk whose sha differs from the upload's first is refused.
        let mut rx = UploadReceiver::new(MAX_BUNDLE_BYTES);
        rx.chunk(255, &chunks[0]);
        let mut other = chunks[1].clone();
        other.bundle_sha256 = [1; 32];
        let Received::Ack(a) = rx.chunk(255, &other) else {
            panic!()
        };
        assert_eq!(a.status, UtkikUploadStatus::UTKIK_UPLOAD_STATUS_REFUSED);
        assert!(a.reason.to_str().unwrap().contains("changed mid-upload"));
    }

    #[test]
    fn wrong_sizes_and_a_damaged_bundle_are_refused_and_nothing_is_handed_over() {
        let mut rx = UploadReceiver::new(1000);
        let big = UTKIK_UPLOAD_CHUNK_DATA {
            upload_id: 1,
            total_size: 1001,
            length: 10,
            ..Default::default()
        };
        let Received::Ack(a) = rx.chunk(255, &big) else {
            panic!()
        };
        assert!(a.reason.to_str().unwrap().contains("total_size 1001 > max 1000"));
        let outside = UTKIK_UPLOAD_CHUNK_DATA {
            upload_id: 1,
            total_size: 100,
            offset: 95,
            length: 10,
            ..Default::default()
        };
        let Received::Ack(a) = rx.chunk(255, &outside) else {
            panic!()
        };
        assert_eq!(a.status, UtkikUploadStatus::UTKIK_UPLOAD_STATUS_REFUSED);
        // All bytes arrive but are not the bytes hashed.
        let mut tx = UploadSender::new(2, 1, 191, vec![1; 150], 0.0);
        let MavMessage::UTKIK_UPLOAD_CHUNK(mut c) = tx.due(0.0).remove(0) else {
            panic!()
        };
        c.data[3] ^= 1;
        let Received::Ack(a) = rx.chunk(255, &c) else {
            panic!("a damaged bundle is not complete")
        };
        assert!(a.reason.to_str().unwrap().contains("does not match"));
    }

    #[test]
    fn a_long_reason_is_cut_on_a_character_boundary() {
        let r = reason_field(&"å".repeat(40));
        assert_eq!(r.to_str().unwrap(), "å".repeat(32));
    }
}
