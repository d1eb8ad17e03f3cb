//! Enrolment of an authorization's designated persons at activation: each
//! enrolment image is found (next to the authorization file or in the imagery
//! cache), checked against the SHA-256 the issuer signed, its face found by
//! MTCNN inside the signed face box, aligned, and turned into a template by the
//! gate's template model. Nobody else is ever enrolled (LAW.md section 1).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use utkik_shared::authz::{Authorization, EnrolmentImage};
use utkik_shared::face::align::align_face;
use utkik_shared::face::template::FaceTemplate;

use super::template_model::{TemplateModel, TemplateModelError};
use crate::detect::faces::{FaceConfig, FaceDetector};
use crate::frame::RgbFrame;

/// Prefix of an enrolment image reference in the imagery cache.
pub const CACHE_PREFIX: &str = "utkik-cache:";

/// Why a designated person could not be enrolled. Activation fails with it.
#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    /// The image file cannot be read or decoded.
    #[error("subject `{subject_id}`: enrolment image {path}: {message}")]
    Image {
        /// The designated subject.
        subject_id: String,
        /// The resolved file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file is not the image the issuer signed for.
    #[error("subject `{subject_id}`: enrolment image {path}: sha256 {got} is not the signed {expected}")]
    Digest {
        /// The designated subject.
        subject_id: String,
        /// The resolved file.
        path: PathBuf,
        /// Signed digest.
        expected: String,
        /// Digest of the file.
        got: String,
    },
    /// MTCNN found no face (inside the face box, when given).
    #[error("subject `{subject_id}`: no face found in enrolment image {path}")]
    NoFace {
        /// The designated subject.
        subject_id: String,
        /// The resolved file.
        path: PathBuf,
    },
    /// The face detector could not run.
    #[error("enrolment face detector: {0}")]
    Detector(String),
    /// The template model failed.
    #[error(transparent)]
    Model(#[from] TemplateModelError),
}

/// One enrolled designated person: subject id and one template per image.
#[derive(Clone)]
pub struct Enrolled {
    /// The designated subject id of the authorization.
    pub subject_id: String,
    /// Its templates.
    pub templates: Vec<FaceTemplate>,
}

/// Where an enrolment image reference points: `utkik-cache:<path>` in the
/// imagery cache, else relative to the authorization file's directory.
pub fn resolve_reference(reference: &str, authorization_dir: &Path, cache_root: &Path) -> PathBuf {
    match reference.strip_prefix(CACHE_PREFIX) {
        Some(rel) => cache_root.join(rel),
        None => authorization_dir.join(reference),
    }
}

fn load_checked(subject_id: &str, image: &EnrolmentImage, path: &Path) -> Result<RgbFrame, EnrolError> {
    let img_err = |message: String| EnrolError::Image {
        subject_id: subject_id.into(),
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| img_err(e.to_string()))?;
    let got: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    if !got.eq_ignore_ascii_case(&image.sha256_hex) {
        return Err(EnrolError::Digest {
            subject_id: subject_id.into(),
            path: path.to_path_buf(),
            expected: image.sha256_hex.clone(),
            got,
        });
    }
    let rgb = image::load_from_memory(&bytes)
        .map_err(|e| img_err(e.to_string()))?
        .to_rgb8();
    let (w, h) = rgb.dimensions();
    RgbFrame::new(w, h, rgb.into_raw(), 0).map_err(|e| img_err(e.to_string()))
}

/// The aligned chip of the largest face of `frame` whose centre lies inside
/// `face_box_px` (`[x, y, w, h]`; anywhere when `None`).
fn enrolment_chip(
    detector: &mut FaceDetector,
    frame: &RgbFrame,
    face_box_px: Option<[u32; 4]>,
) -> Result<Option<Vec<u8>>, EnrolError> {
    let faces = detector
        .detect(frame)
        .map_err(|e| EnrolError::Detector(e.to_string()))?;
    let inside = |b: &[f32; 4]| {
        let (cx, cy) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
        face_box_px
            .is_none_or(|[x, y, w, h]| cx >= x as f32 && cx <= (x + w) as f32 && cy >= y as f32 && cy <= (y + h) as f32)
    };
    let area = |b: &[f32; 4]| (b[2] - b[0]) * (b[3] - b[1]);
    let Some(best) = faces
        .iter()
        .filter(|f| inside(&f.bbox_px))
        .max_by(|a, b| area(&a.bbox_px).total_cmp(&area(&b.bbox_px)))
    else {
        return Ok(None);
    };
    Ok(align_face(
        &frame.data,
        frame.width as usize,
        frame.height as usize,
        &best.landmarks,
    )
    .ok()
    .map(|(chip, _)| chip))
}

/// Enrols every designated person of `doc` with `model`; `cache` holds the
/// MTCNN models and the imagery. Fails on the first image that cannot be used
/// (activation must not run with a partial reference database).
pub fn enrol_designated(
    doc: &Authorization,
    authorization_dir: &Path,
    cache: &utkik_models::ModelCache,
    model: &TemplateModel,
) -> Result<Vec<Enrolled>, EnrolError> {
    let mut detector = FaceDetector::new(
        cache,
        FaceConfig {
            min_face_px: 40.0,
            ..FaceConfig::default()
        },
    )
    .map_err(|e| EnrolError::Detector(e.to_string()))?;
    let mut out = Vec::new();
    for person in &doc.designated_persons {
        let mut templates = Vec::new();
        for image in &person.enrolment_images {
            let path = resolve_reference(&image.reference, authorization_dir, cache.root());
            let frame = load_checked(&person.subject_id, image, &path)?;
            let chip = enrolment_chip(&mut detector, &frame, image.face_box_px)?.ok_or_else(|| EnrolError::NoFace {
                subject_id: person.subject_id.clone(),
                path: path.clone(),
            })?;
            templates.push(model.compute(&chip)?);
        }
        out.push(Enrolled {
            subject_id: person.subject_id.clone(),
            templates,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_to_cache_or_next_to_the_file() {
        let (dir, cache) = (Path::new("/a/authz"), Path::new("/c"));
        assert_eq!(
            resolve_reference("utkik-cache:imagery/faces/x.png", dir, cache),
            Path::new("/c/imagery/faces/x.png")
        );
        assert_eq!(resolve_reference("x.png", dir, cache), Path::new("/a/authz/x.png"));
    }

    #[test]
    fn an_image_other_than_the_signed_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.png");
        std::fs::write(&path, b"not the signed image").unwrap();
        let image = EnrolmentImage {
            reference: "x.png".into(),
            sha256_hex: "00".repeat(32),
            face_box_px: None,
        };
        let e = load_checked("s-1", &image, &path).unwrap_err();
        assert!(matches!(e, EnrolError::Digest { .. }), "{e}");
        assert!(e.to_string().contains("s-1") && e.to_string().contains("x.png"), "{e}");
    }
}
