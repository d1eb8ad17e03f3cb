//! Urgent use started at the ground station (LAW.md 3.1-3.4): a senior officer, signed in, fills
//! in what the law asks for (lawful purpose, the designated persons from enrolment images at the
//! station, area, time window and a written justification), and the station turns it into an
//! urgent authorization document signed with *her own* crew key (opened by her sign-in, never
//! stored in clear: `auth::signing_key`), plus the bundle of document and images the drone is
//! sent over the signed link (`utkik_shared::authz::upload`).
//!
//! The form is a TOML *draft* file the officer (or the form in the authorization panel) writes;
//! a file because a terminal console cannot take an image or a polygon any other way, and because
//! the draft itself is then evidence of what was entered. Everything the document states comes
//! from the draft, the signed-in user and the clock; nothing is defaulted that the law wants
//! stated (purpose, details, persons, area, window, justification, proportionality).
//!
//! The document is issued by the officer (`issuer.kind = senior_officer`, `issuer.key_id =
//! user:<id>`): the drone and the station verify it against the crew keys in their trust stores,
//! so nobody but a senior officer in the trust store can start one, and nobody can start one in
//! her name without her password. The FRIA and EU-database references are `pending` (allowed only
//! in urgent use); the 24 h application deadline runs from the start on both ends.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use utkik_shared::audit::AuditEvent;
use utkik_shared::authz::document::{
    AUTHORIZATION_FORMAT, DesignatedPerson, EnrolmentImage, Issuer, IssuerKind, LawfulPurpose, UrgentDecision,
};
use utkik_shared::authz::signed::USER_KEY_PREFIX;
use utkik_shared::authz::upload::UploadSender;
use utkik_shared::authz::upload::{MAX_BUNDLE_BYTES, UploadBundle, UploadFile};
use utkik_shared::authz::validate::PENDING;
use utkik_shared::authz::{Area, Authorization, AuthzDigest, Role, SignedAuthorization, ValidityWindow};
use utkik_shared::dialect::MavMessage;

use crate::auth::Permission;
use crate::authorization::AuthzAction;
use crate::ops::{GroundOps, OpsError};
use crate::state::{Upload, UploadEvent, World};

/// The longest window an urgent use may state, hours. The law's urgent procedure is for hours, not
/// days: the application must be made within 24 h of the start, and a use whose permit is granted
/// continues under the permit's own document.
pub const MAX_URGENT_WINDOW_H: f64 = 24.0;
/// Vertices of the polygon that approximates a circular area.
pub const CIRCLE_VERTICES: usize = 24;
/// The largest circle radius, metres (the area must be as small as the purpose allows).
pub const MAX_RADIUS_M: f64 = 5_000.0;
/// Prefix of an image reference in the imagery cache (`$UTKIK_CACHE` or `~/.cache/utkik`).
pub const CACHE_PREFIX: &str = "utkik-cache:";
/// Margin kept around the face box on each side when an enrolment image is cropped, as a share
/// of the box's size: the drone finds the face again with its detector, which needs context.
pub const FACE_MARGIN: f64 = 0.5;
/// The longest side of an enrolment image as sent, pixels (larger ones are scaled down).
pub const MAX_IMAGE_SIDE_PX: u32 = 800;
/// JPEG quality of the enrolment images as sent.
pub const JPEG_QUALITY: u8 = 95;

/// The draft the senior officer fills in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrgentDraft {
    /// The case (diarienummer) the use belongs to.
    pub case_reference: String,
    /// The lawful purpose (`find_victims`, `prevent_imminent_threat`, `investigate_serious_crime`,
    /// `enforce_criminal_sanction`).
    pub purpose: LawfulPurpose,
    /// The purpose in words: what is searched for and why.
    pub purpose_details: String,
    /// Why it cannot wait for a permit (LAW.md 3.1).
    pub justification: String,
    /// Why identification is proportionate here (area, time, persons).
    pub proportionality: String,
    /// How long the use may run from now, hours (at most [`MAX_URGENT_WINDOW_H`]).
    pub window_h: f64,
    /// Where.
    pub area: DraftArea,
    /// The designated persons (nobody else is ever matched).
    pub person: Vec<DraftPerson>,
}

/// The area: a polygon, or a circle around a point.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftArea {
    /// Polygon vertices as `[lat_deg, lon_deg]` (WGS84), at least three.
    #[serde(default)]
    pub vertices: Vec<[f64; 2]>,
    /// Circle centre `[lat_deg, lon_deg]`.
    pub centre: Option<[f64; 2]>,
    /// Circle radius, metres.
    pub radius_m: Option<f64>,
}

/// One designated person.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftPerson {
    /// Pseudonymous subject id (no names on the link).
    pub subject_id: String,
    /// Enrolment images.
    pub image: Vec<DraftImage>,
}

/// One enrolment image at the station.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftImage {
    /// A path relative to the draft file, or `utkik-cache:<path>`.
    pub path: String,
    /// The face in the image `[x, y, width, height]` pixels, when it holds more than the face.
    pub face_box_px: Option<[u32; 4]>,
}

/// Why no document was built; names the field or file.
#[derive(Debug, thiserror::Error)]
pub enum UrgentError {
    /// The draft cannot be read.
    #[error("urgent draft {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The draft is not valid TOML of the expected shape.
    #[error("urgent draft {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (line, column, field).
        message: String,
    },
    /// A field is missing or wrong.
    #[error("urgent draft field `{field}`: {reason}")]
    Field {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
    /// The station's copy of the document could not be written.
    #[error("storing the urgent document in {path}: {message}")]
    Store {
        /// The folder.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// An enrolment image cannot be read.
    #[error("urgent draft field `{field}`: image {path}: {source}")]
    Image {
        /// The field.
        field: String,
        /// The resolved path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn field(field: impl Into<String>, reason: impl Into<String>) -> UrgentError {
    UrgentError::Field {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A built urgent use: the signed document and the bundle for the drone.
#[derive(Debug, Clone)]
pub struct BuiltUrgent {
    /// The document as signed.
    pub signed: SignedAuthorization,
    /// Document plus images, ready for [`UploadBundle::to_bytes`].
    pub bundle: UploadBundle,
}

impl UrgentDraft {
    /// Reads a draft file.
    ///
    /// # Errors
    /// The file cannot be read or is not a draft (the message names line and field).
    pub fn load(path: &Path) -> Result<Self, UrgentError> {
        let text = std::fs::read_to_string(path).map_err(|source| UrgentError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|message| UrgentError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses a draft's text.
    ///
    /// # Errors
    /// The parser's message.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }

    /// The area as the document states it.
    fn area(&self) -> Result<Area, UrgentError> {
        let a = &self.area;
        let points: Vec<(f64, f64)> = match (a.vertices.is_empty(), a.centre, a.radius_m) {
            (false, None, None) => a.vertices.iter().map(|v| (v[0], v[1])).collect(),
            (true, Some(c), Some(r)) => {
                if !(r.is_finite() && r > 0.0 && r <= MAX_RADIUS_M) {
                    return Err(field("area.radius_m", format!("{r} is not in (0, {MAX_RADIUS_M}] m")));
                }
                circle(c[0], c[1], r)
            }
            _ => {
                return Err(field(
                    "area",
                    "give either `vertices` (a polygon) or `centre` and `radius_m` (a circle)",
                ));
            }
        };
        let area = Area::from_lat_lon_deg(&points);
        area.validate("area").map_err(|e| field(e.field(), e.to_string()))?;
        Ok(area)
    }

    /// Builds and signs the urgent document for `officer_id` (who must be the signed-in senior
    /// officer whose key `key` is), reading the images relative to `draft_dir` or from
    /// `cache_root`. The document is checked the way the drone checks it (content rules) before it
    /// is signed, so a draft the drone would refuse is refused here with the same field.
    ///
    /// # Errors
    /// A field missing or wrong, an image that cannot be read, a bundle too large for the link.
    pub fn build(
        &self,
        officer_id: &str,
        key: &ed25519_dalek::SigningKey,
        draft_dir: &Path,
        cache_root: &Path,
        now_usec: u64,
    ) -> Result<BuiltUrgent, UrgentError> {
        for (name, value) in [
            ("case_reference", &self.case_reference),
            ("purpose_details", &self.purpose_details),
            ("justification", &self.justification),
            ("proportionality", &self.proportionality),
        ] {
            if value.trim().is_empty() {
                return Err(field(name, "must be stated (LAW.md 3.1)"));
            }
        }
        if !(self.window_h.is_finite() && self.window_h > 0.0 && self.window_h <= MAX_URGENT_WINDOW_H) {
            return Err(field(
                "window_h",
                format!("{} is not in (0, {MAX_URGENT_WINDOW_H}] hours", self.window_h),
            ));
        }
        if self.person.is_empty() {
            return Err(field("person", "at least one designated person"));
        }
        let area = self.area()?;
        let mut files: Vec<UploadFile> = Vec::new();
        let mut persons = Vec::new();
        for (i, p) in self.person.iter().enumerate() {
            if p.image.is_empty() {
                return Err(field(format!("person[{i}].image"), "at least one enrolment image"));
            }
            let mut images = Vec::new();
            for (j, img) in p.image.iter().enumerate() {
                let f = format!("person[{i}].image[{j}].path");
                let path = resolve(&img.path, draft_dir, cache_root);
                let original = std::fs::read(&path).map_err(|source| UrgentError::Image {
                    field: f.clone(),
                    path: path.clone(),
                    source,
                })?;
                let (bytes, face_box_px) = prepare_image(&original, img.face_box_px)
                    .map_err(|reason| field(&f, format!("{}: {reason}", path.display())))?;
                // Bundle names are chosen here (the drone accepts plain names only).
                let name = format!("person-{}-image-{}.jpg", i + 1, j + 1);
                images.push(EnrolmentImage {
                    reference: name.clone(),
                    sha256_hex: hex::encode(Sha256::digest(&bytes)),
                    face_box_px,
                });
                files.push(UploadFile { name, bytes });
            }
            persons.push(DesignatedPerson {
                subject_id: p.subject_id.clone(),
                enrolment_images: images,
            });
        }
        let until_usec = now_usec.saturating_add((self.window_h * 3600.0 * 1e6) as u64);
        let document = Authorization {
            format: AUTHORIZATION_FORMAT.to_string(),
            decision_id: format!("URGENT-{officer_id}-{}", now_usec / 1_000_000),
            issuer: Issuer {
                kind: IssuerKind::SeniorOfficer,
                name: officer_id.to_string(),
                key_id: format!("{USER_KEY_PREFIX}{officer_id}"),
            },
            case_reference: self.case_reference.clone(),
            purpose: self.purpose,
            purpose_details: self.purpose_details.clone(),
            designated_persons: persons,
            area,
            window: ValidityWindow {
                from_usec: now_usec,
                until_usec,
            },
            authorized_users: Vec::new(),
            authorized_roles: vec![Role::Operator, Role::SeniorOfficer],
            proportionality: self.proportionality.clone(),
            fria_reference: PENDING.to_string(),
            eu_database_registration: PENDING.to_string(),
            urgent: Some(UrgentDecision {
                senior_officer_id: officer_id.to_string(),
                justification: self.justification.clone(),
            }),
            issued_usec: now_usec,
        };
        utkik_shared::authz::validate::validate(&document, now_usec)
            .map_err(|e| field(e.field().trim_start_matches("document."), e.to_string()))?;
        let signed = SignedAuthorization::sign(document, key);
        let bundle = UploadBundle {
            authorization: signed.to_json_pretty().into_bytes(),
            files,
        };
        let size = bundle.to_bytes().len();
        if size > MAX_BUNDLE_BYTES {
            return Err(field(
                "person",
                format!(
                    "the images make {size} bytes, more than the {MAX_BUNDLE_BYTES} the drone takes: crop them to the face"
                ),
            ));
        }
        Ok(BuiltUrgent { signed, bundle })
    }
}

/// The audit log's command name for sending a document to a drone.
pub const UPLOAD_COMMAND: &str = "UPLOAD";
/// Folder of the urgent documents the station built, inside the audit directory (one sub-folder
/// per document digest, as on the drone): the station's copy of what it signed and sent.
pub const URGENT_DIR: &str = "urgent";

/// What [`GroundOps::start_urgent`] did.
#[derive(Debug, Clone)]
pub struct UrgentStarted {
    /// The document's decision id.
    pub decision_id: String,
    /// Its digest.
    pub digest: AuthzDigest,
    /// The station's copy of the signed document (and the images beside it).
    pub path: PathBuf,
    /// The bundle's size, bytes.
    pub bundle_bytes: usize,
    /// Enrolment images in it.
    pub images: usize,
    /// The vehicle it goes to.
    pub target_system: u8,
}

impl GroundOps {
    /// Urgent use started at the station by the signed-in senior officer (LAW.md 3.4): builds
    /// the document from the draft at `draft_path`, signs it with her own key, stores the
    /// station's copy under the audit directory, loads it as the station's authorization (so the
    /// mirror, the panels and the audit log follow it), logs the upload and starts it to
    /// `target_system` in `world.uploads`. URGENT_START follows when the drone has verified and
    /// stored it ([`after_upload`]).
    ///
    /// # Errors
    /// Not signed in or not a senior officer, no signing key, a use running on the vehicle, the draft or its
    /// images refused (naming the field), the document refused by the station's own trust store,
    /// the audit log. Nothing is sent then; refusals after sign-in are logged.
    pub fn start_urgent(
        &mut self,
        world: &mut World,
        draft_path: &Path,
        target_system: u8,
        cache_root: &Path,
        now_usec: u64,
    ) -> Result<UrgentStarted, OpsError> {
        let actor = self.session.require(Permission::StartUrgent)?.clone();
        let refuse = |ops: &mut Self, e: OpsError| -> OpsError {
            let r = ops.audit.record(
                now_usec,
                AuditEvent::AuthzCommand {
                    command: UPLOAD_COMMAND.into(),
                    operator_id: actor.user_id.clone(),
                    authorization_digest: None,
                    accepted: false,
                    reason: e.to_string(),
                    system_id: Some(target_system),
                },
            );
            match r {
                Ok(_) => e,
                Err(a) => a.into(),
            }
        };
        if let Some(l) = self.console.vehicle(target_system)
            && l.state().allows_identification()
        {
            let e = OpsError::UseRunning(l.authorization().document().decision_id.clone());
            return Err(refuse(self, e));
        }
        let Some(signer) = self.session.signer() else {
            return Err(refuse(self, OpsError::NoSigningKey(actor.user_id.clone())));
        };
        let draft_dir = draft_path.parent().unwrap_or(Path::new("."));
        let built = match UrgentDraft::load(draft_path)
            .and_then(|d| d.build(&actor.user_id, signer.key(), draft_dir, cache_root, now_usec))
        {
            Ok(b) => b,
            Err(e) => return Err(refuse(self, e.into())),
        };
        let digest = match built.signed.digest() {
            Ok(d) => d,
            Err(e) => return Err(refuse(self, e.into())),
        };
        let audit_dir = self.audit.path().parent().unwrap_or(Path::new(".")).to_path_buf();
        let dir = audit_dir.join(URGENT_DIR).join(hex::encode(digest.0));
        let path = match built.bundle.write_to_dir(&dir) {
            Ok(p) => p,
            Err(e) => {
                let e = UrgentError::Store {
                    path: dir.clone(),
                    message: e.to_string(),
                };
                return Err(refuse(self, e.into()));
            }
        };
        // Verified against the station's own trust store, as the drone will (logged either way).
        let loaded = self.load_authorization(&path, now_usec)?;
        debug_assert_eq!(loaded, digest);
        let bytes = built.bundle.to_bytes();
        let started = UrgentStarted {
            decision_id: built.signed.document.decision_id.clone(),
            digest,
            path,
            bundle_bytes: bytes.len(),
            images: built.bundle.files.len(),
            target_system,
        };
        self.audit.record(
            now_usec,
            AuditEvent::AuthzCommand {
                command: UPLOAD_COMMAND.into(),
                operator_id: actor.user_id.clone(),
                authorization_digest: Some(digest),
                accepted: true,
                reason: String::new(),
                system_id: Some(target_system),
            },
        )?;
        let now_s = now_usec as f64 / 1e6;
        // The id names the document, so sending the same document again continues or repeats
        // the drone's answer instead of starting over.
        let upload_id = u32::from_le_bytes([digest.0[0], digest.0[1], digest.0[2], digest.0[3]]).max(1);
        world.uploads.start(Upload {
            sender: UploadSender::new(upload_id, target_system, 0, bytes, now_s),
            decision_id: started.decision_id.clone(),
            digest,
            started_by: actor.user_id,
            last_heard_s: now_s,
        });
        Ok(started)
    }
}

/// What the station does when an upload ended: logs it, and when the drone stored the document
/// the officer who started it signed, and she is still the one signed in, gives URGENT_START
/// (signed by her) and returns it to send. The text is for the console and the panel.
///
/// # Errors
/// The audit log.
pub fn after_upload(
    ops: &mut GroundOps,
    world: &mut World,
    event: UploadEvent,
    now_usec: u64,
) -> Result<(String, Option<(u8, MavMessage)>), OpsError> {
    match event {
        UploadEvent::Stored {
            system_id,
            digest,
            expected,
            started_by,
            decision_id,
            took_s,
            chunks_sent,
        } => {
            let outcome = if digest == expected {
                "stored".to_string()
            } else {
                format!(
                    "stored with another digest {} (expected {})",
                    hex::encode(digest.0),
                    hex::encode(expected.0)
                )
            };
            ops.audit.record(
                now_usec,
                AuditEvent::AuthzCommandSettled {
                    system_id,
                    request_id: 0,
                    command: UPLOAD_COMMAND.into(),
                    outcome: outcome.clone(),
                },
            )?;
            let mut text = format!(
                "urgent use {decision_id}: vehicle {system_id} verified and {outcome} the document ({took_s:.1} s, {chunks_sent} chunks)"
            );
            if digest != expected {
                text.push_str("; URGENT_START not given");
                return Ok((text, None));
            }
            let same_user = ops.actor().is_some_and(|a| a.user_id == started_by);
            if !same_user || ops.console.digest() != Some(expected) {
                text.push_str(&format!(
                    "; {started_by} signs in and gives `authz urgent-start` to start it"
                ));
                return Ok((text, None));
            }
            match ops.authz_command(world, AuthzAction::UrgentStart, system_id, now_usec) {
                Ok(msg) => {
                    text.push_str(&format!(
                        "\nURGENT_START sent to vehicle {system_id} (signed by {started_by}); PENDING until the drone confirms it (resent meanwhile); the permit application is due within 24 h"
                    ));
                    Ok((text, Some((system_id, msg))))
                }
                Err(e @ OpsError::Audit(_)) => Err(e),
                Err(e) => {
                    text.push_str(&format!("; URGENT_START refused: {e}"));
                    Ok((text, None))
                }
            }
        }
        UploadEvent::Failed {
            system_id,
            decision_id,
            reason,
            ..
        } => {
            ops.audit.record(
                now_usec,
                AuditEvent::AuthzCommandSettled {
                    system_id,
                    request_id: 0,
                    command: UPLOAD_COMMAND.into(),
                    outcome: format!("failed: {reason}"),
                },
            )?;
            Ok((
                format!("urgent use {decision_id}: NOT on vehicle {system_id}: {reason}"),
                None,
            ))
        }
    }
}

/// Deletes the enrolment images of the station's copy of an urgent document it built (a refused
/// use, LAW.md 3.3); the signed document stays as the record of the decision. Returns how many
/// were deleted and what could not be (in words). No copy (a permit, or a use started elsewhere):
/// nothing to do.
pub fn delete_enrolment_copies(audit_dir: &Path, digest: &AuthzDigest) -> (u64, Vec<String>) {
    let dir = audit_dir.join(URGENT_DIR).join(hex::encode(digest.0));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return (0, Vec::new());
    };
    let (mut n, mut problems) = (0, Vec::new());
    for e in entries.flatten() {
        let path = e.path();
        if path.file_name().and_then(|n| n.to_str()) == Some(utkik_shared::authz::upload::AUTHORIZATION_FILE) {
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => n += 1,
            Err(err) => problems.push(format!("enrolment image {}: {err}", path.display())),
        }
    }
    (n, problems)
}

/// An enrolment image as it is sent: cropped to the face box with [`FACE_MARGIN`] around it
/// (the box moved into the crop), scaled down to [`MAX_IMAGE_SIDE_PX`], JPEG. Why: the radio is
/// slow (a 57.6 kbit/s telemetry radio moves about 5 kB/s; a 800 kB photo took minutes in the
/// search run) and the drone needs the face, not the scene around it. The document signs these
/// bytes, and the station keeps them beside its copy, so both ends enrol from the same image.
///
/// # Errors
/// The image does not decode, or the box lies outside it.
pub fn prepare_image(bytes: &[u8], face_box_px: Option<[u32; 4]>) -> Result<(Vec<u8>, Option<[u32; 4]>), String> {
    let img = image::load_from_memory(bytes).map_err(|e| format!("not an image this station reads: {e}"))?;
    let (w, h) = (img.width(), img.height());
    let (img, face) = match face_box_px {
        Some([x, y, bw, bh]) => {
            if bw == 0 || bh == 0 || x.saturating_add(bw) > w || y.saturating_add(bh) > h {
                return Err(format!(
                    "face_box_px [{x}, {y}, {bw}, {bh}] is not inside the {w}x{h} image"
                ));
            }
            let mx = (f64::from(bw) * FACE_MARGIN).round() as u32;
            let my = (f64::from(bh) * FACE_MARGIN).round() as u32;
            let (x0, y0) = (x.saturating_sub(mx), y.saturating_sub(my));
            let (x1, y1) = ((x + bw + mx).min(w), (y + bh + my).min(h));
            (img.crop_imm(x0, y0, x1 - x0, y1 - y0), Some([x - x0, y - y0, bw, bh]))
        }
        None => (img, None),
    };
    let side = img.width().max(img.height());
    let (img, face) = if side > MAX_IMAGE_SIDE_PX {
        let k = f64::from(MAX_IMAGE_SIDE_PX) / f64::from(side);
        let scaled = img.resize(
            MAX_IMAGE_SIDE_PX,
            MAX_IMAGE_SIDE_PX,
            image::imageops::FilterType::Triangle,
        );
        let s = |v: u32| ((f64::from(v) * k).round() as u32).max(1);
        (scaled, face.map(|[x, y, bw, bh]| [s(x), s(y), s(bw), s(bh)]))
    } else {
        (img, face)
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&img.to_rgb8())
        .map_err(|e| format!("encoding it as JPEG: {e}"))?;
    Ok((out, face))
}

/// An image reference resolved: `utkik-cache:` against the cache, else relative to the draft.
pub fn resolve(reference: &str, draft_dir: &Path, cache_root: &Path) -> PathBuf {
    match reference.strip_prefix(CACHE_PREFIX) {
        Some(rest) => cache_root.join(rest),
        None => draft_dir.join(reference),
    }
}

/// The imagery cache: `$UTKIK_CACHE` if set and not empty, else `$HOME/.cache/utkik` (as the
/// set-up fills it).
pub fn default_cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("UTKIK_CACHE").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/utkik"))
        .unwrap_or_else(|| PathBuf::from(".cache/utkik"))
}

/// A circle of `radius_m` around `(lat_deg, lon_deg)` as a polygon (local flat-earth metres to
/// degrees; exact enough below [`MAX_RADIUS_M`]).
fn circle(lat_deg: f64, lon_deg: f64, radius_m: f64) -> Vec<(f64, f64)> {
    const M_PER_DEG_LAT: f64 = 111_320.0;
    let m_per_deg_lon = M_PER_DEG_LAT * lat_deg.to_radians().cos().max(1e-6);
    (0..CIRCLE_VERTICES)
        .map(|k| {
            let a = std::f64::consts::TAU * k as f64 / CIRCLE_VERTICES as f64;
            (
                lat_deg + radius_m * a.cos() / M_PER_DEG_LAT,
                lon_deg + radius_m * a.sin() / m_per_deg_lon,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::authz::TrustStore;

    const NOW_USEC: u64 = 1_800_000_000_000_000;

    /// A real PNG, `w` x `h`, with some structure.
    fn png(path: &Path, w: u32, h: u32) {
        image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        })
        .save(path)
        .unwrap();
    }

    fn draft(dir: &Path) -> UrgentDraft {
        png(&dir.join("face.png"), 400, 300);
        UrgentDraft::parse(
            r#"
case_reference = "K-4711-26"
purpose = "prevent_imminent_threat"
purpose_details = "Armed suspect seen near the square"
justification = "Shots fired ten minutes ago; a permit cannot be had in time"
proportionality = "One person, 300 m around the square, four hours"
window_h = 4
[area]
centre = [59.3945, 17.901]
radius_m = 300
[[person]]
subject_id = "suspect-1"
[[person.image]]
path = "face.png"
face_box_px = [1, 2, 30, 40]
"#,
        )
        .unwrap()
    }

    fn trust_with(user: &str, role: &str, key: &ed25519_dalek::SigningKey) -> TrustStore {
        TrustStore::from_json(
            format!(
                r#"{{"format":"utkik-trust-store/2","keys":[],"users":[{{"user_id":"{user}","roles":["{role}"],"holder":"t","public_key_hex":"{}"}}]}}"#,
                hex::encode(key.verifying_key().to_bytes())
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn builds_a_document_the_drone_verifies_with_the_officers_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let built = draft(dir.path())
            .build("cecilia", &key, dir.path(), dir.path(), NOW_USEC)
            .unwrap();
        let doc = &built.signed.document;
        assert_eq!(doc.issuer.key_id, "user:cecilia");
        assert_eq!(doc.urgent.as_ref().unwrap().senior_officer_id, "cecilia");
        assert_eq!(doc.window.until_usec - doc.window.from_usec, 4 * 3600 * 1_000_000);
        assert_eq!(doc.area.vertices.len(), CIRCLE_VERTICES);
        assert!(doc.area.contains_lat_lon_deg(59.3945, 17.901) && !doc.area.contains_lat_lon_deg(59.3945, 17.91));
        let img = &doc.designated_persons[0].enrolment_images[0];
        assert_eq!(img.reference, "person-1-image-1.jpg");
        // Cropped to the 30x40 face with half its size around it: the box moved into the crop.
        assert_eq!(
            img.face_box_px,
            Some([1, 2, 30, 40]),
            "at the corner the margin is cut off"
        );
        assert_eq!(built.bundle.files[0].name, img.reference);
        assert_eq!(
            img.sha256_hex,
            hex::encode(Sha256::digest(&built.bundle.files[0].bytes))
        );
        // What the drone does with the bundle: parse, verify against its trust store.
        let back = UploadBundle::from_bytes(&built.bundle.to_bytes()).unwrap();
        let signed = back.authorization.as_slice();
        let ok = utkik_shared::authz::authorize(signed, &trust_with("cecilia", "senior_officer", &key), NOW_USEC);
        assert!(ok.is_ok(), "{ok:?}");
        // Control: the same key registered as an operator's is not enough.
        let as_operator = utkik_shared::authz::authorize(signed, &trust_with("cecilia", "operator", &key), NOW_USEC);
        assert!(as_operator.is_err());
        // Another officer's key in the store under that name: the signature fails.
        let other = ed25519_dalek::SigningKey::from_bytes(&[8; 32]);
        assert!(
            utkik_shared::authz::authorize(signed, &trust_with("cecilia", "senior_officer", &other), NOW_USEC).is_err()
        );
    }

    #[test]
    fn refuses_drafts_that_leave_out_what_the_law_asks_for_naming_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let build = |d: &UrgentDraft| {
            d.build("cecilia", &key, dir.path(), dir.path(), NOW_USEC)
                .unwrap_err()
                .to_string()
        };
        let base = draft(dir.path());
        let mut d = base.clone();
        d.justification = "  ".into();
        assert!(build(&d).contains("`justification`"), "{}", build(&d));
        let mut d = base.clone();
        d.window_h = 30.0;
        assert!(build(&d).contains("`window_h`"));
        let mut d = base.clone();
        d.person.clear();
        assert!(build(&d).contains("`person`"));
        let mut d = base.clone();
        d.area.radius_m = Some(50_000.0);
        assert!(build(&d).contains("`area.radius_m`"));
        let mut d = base.clone();
        d.area.vertices = vec![[59.0, 17.0], [59.1, 17.0], [59.0, 17.1]];
        assert!(build(&d).contains("`area`"), "both a polygon and a circle");
        let mut d = base.clone();
        d.person[0].image[0].path = "missing.png".into();
        let e = build(&d);
        assert!(
            e.contains("person[0].image[0].path") && e.contains("missing.png"),
            "{e}"
        );
        let mut d = base;
        d.person[0].subject_id = String::new();
        assert!(build(&d).contains("designated_persons[0]"), "{}", build(&d));
    }

    #[test]
    fn a_bad_draft_file_names_line_and_field() {
        let e = UrgentDraft::parse("case_reference = \"K\"\npurpose = \"catch_everyone\"\n").unwrap_err();
        assert!(e.contains("purpose") && e.contains("line 2"), "{e}");
        let e = UrgentDraft::parse("also_match_everyone = true\n").unwrap_err();
        assert!(e.contains("also_match_everyone"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = UrgentDraft::load(&dir.path().join("none.toml")).unwrap_err();
        assert!(e.to_string().contains("none.toml"), "{e}");
    }

    #[test]
    fn images_are_cropped_to_the_face_and_scaled_down_for_the_radio() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.png");
        png(&p, 2000, 1500);
        let bytes = std::fs::read(&p).unwrap();
        let (jpeg, face) = prepare_image(&bytes, Some([1000, 600, 200, 240])).unwrap();
        let out = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((out.width(), out.height()), (400, 480));
        assert_eq!(face, Some([100, 120, 200, 240]));
        assert!(jpeg.len() < bytes.len() / 10, "{} of {}", jpeg.len(), bytes.len());
        let (whole, none) = prepare_image(&bytes, None).unwrap();
        let out = image::load_from_memory(&whole).unwrap();
        assert_eq!((out.width(), out.height()), (800, 600));
        assert_eq!(none, None);
        let e = prepare_image(&bytes, Some([1900, 0, 200, 10])).unwrap_err();
        assert!(e.contains("not inside the 2000x1500"), "{e}");
        assert!(
            prepare_image(b"not an image", None)
                .unwrap_err()
                .contains("not an image")
        );
    }

    #[test]
    fn cache_references_resolve_against_the_cache() {
        assert_eq!(
            resolve("utkik-cache:imagery/faces/a.png", Path::new("/d"), Path::new("/c")),
            PathBuf::from("/c/imagery/faces/a.png")
        );
        assert_eq!(
            resolve("a.png", Path::new("/d"), Path::new("/c")),
            PathBuf::from("/d/a.png")
        );
    }
}
