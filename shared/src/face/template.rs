//! Face templates (128-D dlib ResNet embeddings) and how they compare.
//!
//! Pure arithmetic, shared by the drone (matching under an authorization)
//! and the ground (enrollment). A template never leaves this type without a
//! lawful reason (LAW.md section 1): it is not `Serialize`, so it cannot end
//! up in a log or a message by accident; the authorization's enrollment
//! format converts explicitly.

/// Length of a face template.
pub const TEMPLATE_LEN: usize = 128;

/// Euclidean distance below which dlib calls two templates the same person.
pub const DLIB_SAME_PERSON_DISTANCE: f32 = 0.6;

/// Euclidean distance below which the gate reports a possible match, and the
/// loosest threshold the onboard configuration accepts (`gate.match_distance`
/// above it is refused at start-up: a looser threshold was never verified).
///
/// Scale: dlib's Euclidean distance between two 128-D templates, unitless,
/// 0 = identical templates; the templates are unit vectors, so 0..2.
///
/// Stricter than dlib's 0.6 because of what we measured on our own path
/// (MTCNN, `align`, the converted model; `onboard/benches/face_verification.rs`,
/// figures in `models/README.md`): at 0.6, 2 of 32 pairs of certainly
/// different people (two faces in one photograph) and 95 of 898 changed
/// probes against another person's enrollment were accepted; at 0.5 none of
/// the 32 and 1 of the 898 were, while all 318 probes of the same face under
/// crop, scale (down to 0.3), blur, lighting and rotation (up to 20 degrees)
/// stayed below it (largest 0.463). A false match costs more than a miss
/// (police use, LAW.md section 4), and every match still goes to two human
/// verifiers. Few identities (23 faces in 7 photographs) back this: re-measure
/// when better imagery is available.
pub const MATCH_DISTANCE: f32 = 0.5;

/// The `score` UTKIK_BIOMETRIC_MATCH carries for a template distance:
/// `1 - distance` (higher is more alike; a match the gate sends always has a
/// score above `1 - MATCH_DISTANCE`). The message stays a similarity so a
/// ground station that only sorts by it needs no metric; records say the
/// distance ([`distance_from_score`]).
pub fn score_from_distance(distance: f32) -> f32 {
    1.0 - distance
}

/// The template distance (scale as [`MATCH_DISTANCE`]) a UTKIK_BIOMETRIC_MATCH
/// `score` stands for: the inverse of [`score_from_distance`].
pub fn distance_from_score(score: f32) -> f32 {
    1.0 - score
}

/// A 128-D face template.
#[derive(Clone, PartialEq)]
pub struct FaceTemplate(pub [f32; TEMPLATE_LEN]);

impl std::fmt::Debug for FaceTemplate {
    // Never print the biometric values themselves.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FaceTemplate(..)")
    }
}

impl FaceTemplate {
    /// Builds a template from a slice of exactly 128 values.
    pub fn from_slice(values: &[f32]) -> Option<Self> {
        Some(Self(values.try_into().ok()?))
    }

    /// Euclidean distance (dlib's metric; < 0.6 = same person).
    pub fn distance(&self, other: &Self) -> f32 {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt()
    }

    /// Cosine similarity in -1..1 (for analysis; UTKIK_BIOMETRIC_MATCH.score
    /// is [`score_from_distance`], not this).
    pub fn cosine(&self, other: &Self) -> f32 {
        let dot: f32 = self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum();
        let na: f32 = self.0.iter().map(|a| a * a).sum::<f32>().sqrt();
        let nb: f32 = other.0.iter().map(|b| b * b).sum::<f32>().sqrt();
        if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) }
    }
}

impl Drop for FaceTemplate {
    // Templates of non-matching people must be dropped at once (LAW.md 1);
    // zero the memory so the values do not linger in freed heap pages.
    fn drop(&mut self) {
        self.0.fill(0.0);
        // Keeps the optimiser from removing the dead stores.
        std::hint::black_box(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_cosine() {
        let mut a = [0.0f32; TEMPLATE_LEN];
        let mut b = [0.0f32; TEMPLATE_LEN];
        a[0] = 1.0;
        b[1] = 1.0;
        let (a, b) = (FaceTemplate(a), FaceTemplate(b));
        assert!((a.distance(&b) - 2f32.sqrt()).abs() < 1e-6);
        assert_eq!(a.cosine(&b), 0.0);
        assert!((a.cosine(&a) - 1.0).abs() < 1e-6);
        assert_eq!(format!("{a:?}"), "FaceTemplate(..)");
        assert!(FaceTemplate::from_slice(&[0.0; 127]).is_none());
    }

    #[test]
    fn score_and_distance_are_inverse() {
        for d in [0.0f32, 0.143, 0.463, MATCH_DISTANCE, 1.2] {
            assert!((distance_from_score(score_from_distance(d)) - d).abs() < 1e-6);
        }
        // A sent match (distance below the threshold) has a score above 1 - threshold.
        assert!(score_from_distance(0.42) > 1.0 - MATCH_DISTANCE);
    }
}
