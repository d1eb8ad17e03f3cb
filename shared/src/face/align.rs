//! Face alignment: a similarity transform (rotation, uniform scale,
//! translation) that maps the detector's five landmarks (eye centres, nose
//! tip, mouth corners, as MTCNN gives them) onto fixed positions in a
//! 150x150 chip, the input of the dlib ResNet face-template model.
//!
//! Why a similarity and not an affine/perspective warp: it keeps the face's
//! proportions, which the template model was trained on (dlib's
//! `extract_image_chip` does the same), and five points over-determine it, so
//! a least-squares fit (Umeyama) averages landmark noise out.
//!
//! The target positions approximate dlib's mean face shape with its default
//! chip padding of 0.25 (`get_face_chip_details(det, 150, 0.25)`): in the
//! mean shape's unit box the eyes sit near y = 0.22, the nose tip at 0.50 and
//! the mouth corners at 0.76; with padding p a unit coordinate u maps to
//! `(p + u) / (1 + 2p) * 150`. Enrollment and probe use the same function,
//! so a small constant offset from dlib's exact chip costs little; the
//! verification figures in `models/README.md` are measured with it.

/// Side of the aligned chip in pixels (the template model's input).
pub const CHIP_SIZE_PX: usize = 150;

/// Target landmark positions in the 150x150 chip, in MTCNN's order:
/// left eye, right eye (image left/right), nose tip, left and right mouth corner.
pub const CHIP_LANDMARKS_PX: [[f64; 2]; 5] = [[51.0, 47.0], [99.0, 47.0], [75.0, 75.0], [59.0, 101.0], [91.0, 101.0]];

/// A 2-D similarity transform `p' = s R p + t`, stored as
/// `[a, -b, tx; b, a, ty]` with `a = s cos(theta)`, `b = s sin(theta)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Similarity2 {
    /// s cos(theta)
    pub a: f64,
    /// s sin(theta)
    pub b: f64,
    /// Translation x (pixels).
    pub tx: f64,
    /// Translation y (pixels).
    pub ty: f64,
}

impl Similarity2 {
    /// Applies the transform to a point.
    pub fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        [
            self.a * p[0] - self.b * p[1] + self.tx,
            self.b * p[0] + self.a * p[1] + self.ty,
        ]
    }

    /// The inverse transform, `None` when the scale is zero.
    pub fn inverse(&self) -> Option<Self> {
        let d = self.a * self.a + self.b * self.b;
        if d <= f64::EPSILON {
            return None;
        }
        let (a, b) = (self.a / d, -self.b / d);
        Some(Self {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        })
    }

    /// Scale factor `s`.
    pub fn scale(&self) -> f64 {
        self.a.hypot(self.b)
    }

    /// Least-squares similarity mapping `src[i]` to `dst[i]` (Umeyama 1991,
    /// 2-D closed form). `None` when the source points are all equal.
    pub fn fit(src: &[[f64; 2]], dst: &[[f64; 2]]) -> Option<Self> {
        assert_eq!(src.len(), dst.len(), "fit needs pairs of points");
        let n = src.len() as f64;
        if src.is_empty() {
            return None;
        }
        let mean = |pts: &[[f64; 2]]| {
            let (sx, sy) = pts.iter().fold((0.0, 0.0), |(x, y), p| (x + p[0], y + p[1]));
            [sx / n, sy / n]
        };
        let (ms, md) = (mean(src), mean(dst));
        let (mut sxx, mut sxy, mut var) = (0.0, 0.0, 0.0);
        for (s, d) in src.iter().zip(dst) {
            let (px, py) = (s[0] - ms[0], s[1] - ms[1]);
            let (qx, qy) = (d[0] - md[0], d[1] - md[1]);
            sxx += px * qx + py * qy;
            sxy += px * qy - py * qx;
            var += px * px + py * py;
        }
        if var <= f64::EPSILON {
            return None;
        }
        let (a, b) = (sxx / var, sxy / var);
        Some(Self {
            a,
            b,
            tx: md[0] - (a * ms[0] - b * ms[1]),
            ty: md[1] - (b * ms[0] + a * ms[1]),
        })
    }
}

/// Errors of face alignment.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AlignError {
    /// The image buffer does not hold `width * height * 3` bytes.
    #[error("RGB image buffer holds {got} bytes, expected {expected} for {width}x{height}")]
    BufferSize {
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        got: usize,
        /// Image width (px).
        width: usize,
        /// Image height (px).
        height: usize,
    },
    /// The landmarks are degenerate (all in one point) or not finite.
    #[error("face landmarks are degenerate or not finite: {0:?}")]
    DegenerateLandmarks([[f32; 2]; 5]),
}

/// Cuts the aligned 150x150 RGB chip out of an RGB8 image (row-major,
/// `width * height * 3` bytes) given the five landmarks in image pixels.
/// Bilinear sampling; pixels outside the image are black (as dlib pads).
/// Returns the chip and the image-to-chip transform.
pub fn align_face(
    rgb: &[u8],
    width: usize,
    height: usize,
    landmarks_px: &[[f32; 2]; 5],
) -> Result<(Vec<u8>, Similarity2), AlignError> {
    if rgb.len() != width * height * 3 {
        return Err(AlignError::BufferSize {
            expected: width * height * 3,
            got: rgb.len(),
            width,
            height,
        });
    }
    if landmarks_px.iter().flatten().any(|v| !v.is_finite()) {
        return Err(AlignError::DegenerateLandmarks(*landmarks_px));
    }
    let src: Vec<[f64; 2]> = landmarks_px.iter().map(|p| [p[0] as f64, p[1] as f64]).collect();
    let to_chip = Similarity2::fit(&src, &CHIP_LANDMARKS_PX).ok_or(AlignError::DegenerateLandmarks(*landmarks_px))?;
    let to_image = to_chip
        .inverse()
        .ok_or(AlignError::DegenerateLandmarks(*landmarks_px))?;
    let mut chip = vec![0u8; CHIP_SIZE_PX * CHIP_SIZE_PX * 3];
    for y in 0..CHIP_SIZE_PX {
        for x in 0..CHIP_SIZE_PX {
            // Pixel centres: sample at the centre of each chip pixel.
            let [sx, sy] = to_image.apply([x as f64 + 0.5, y as f64 + 0.5]);
            let px = sample_bilinear(rgb, width, height, sx - 0.5, sy - 0.5);
            chip[(y * CHIP_SIZE_PX + x) * 3..][..3].copy_from_slice(&px);
        }
    }
    Ok((chip, to_chip))
}

fn sample_bilinear(rgb: &[u8], width: usize, height: usize, x: f64, y: f64) -> [u8; 3] {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let fetch = |xi: f64, yi: f64| -> [f64; 3] {
        if xi < 0.0 || yi < 0.0 || xi >= width as f64 || yi >= height as f64 {
            return [0.0; 3];
        }
        let i = (yi as usize * width + xi as usize) * 3;
        [rgb[i] as f64, rgb[i + 1] as f64, rgb[i + 2] as f64]
    };
    let (p00, p10, p01, p11) = (
        fetch(x0, y0),
        fetch(x0 + 1.0, y0),
        fetch(x0, y0 + 1.0),
        fetch(x0 + 1.0, y0 + 1.0),
    );
    let mut out = [0u8; 3];
    for c in 0..3 {
        let top = p00[c] * (1.0 - fx) + p10[c] * fx;
        let bottom = p01[c] * (1.0 - fx) + p11[c] * fx;
        out[c] = (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_a_known_similarity() {
        let truth = Similarity2 {
            a: 1.5 * 0.3f64.cos(),
            b: 1.5 * 0.3f64.sin(),
            tx: 12.0,
            ty: -4.0,
        };
        let src = [[0.0, 0.0], [10.0, 0.0], [5.0, 8.0], [2.0, 12.0], [9.0, 11.0]];
        let dst: Vec<_> = src.iter().map(|p| truth.apply(*p)).collect();
        let fit = Similarity2::fit(&src, &dst).unwrap();
        for (got, want) in [fit.a, fit.b, fit.tx, fit.ty]
            .iter()
            .zip([truth.a, truth.b, truth.tx, truth.ty])
        {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
        let back = fit.inverse().unwrap().apply(fit.apply([3.0, 4.0]));
        assert!((back[0] - 3.0).abs() < 1e-9 && (back[1] - 4.0).abs() < 1e-9);
    }

    #[test]
    fn landmarks_land_on_the_chip_template() {
        // A face twice the chip's scale, rotated 20 degrees, somewhere in a 400x300 image.
        let t = Similarity2 {
            a: 2.0 * 0.35f64.cos(),
            b: 2.0 * 0.35f64.sin(),
            tx: 80.0,
            ty: 20.0,
        };
        let lm: Vec<[f32; 2]> = CHIP_LANDMARKS_PX
            .iter()
            .map(|p| t.apply(*p))
            .map(|p| [p[0] as f32, p[1] as f32])
            .collect();
        let lm: [[f32; 2]; 5] = lm.try_into().unwrap();
        let (w, h) = (400, 300);
        // Image: bright dot at the nose tip, dark elsewhere.
        let mut img = vec![0u8; w * h * 3];
        let nose = [lm[2][0] as usize, lm[2][1] as usize];
        for dy in 0..3 {
            for dx in 0..3 {
                let i = ((nose[1] + dy - 1) * w + nose[0] + dx - 1) * 3;
                img[i..i + 3].copy_from_slice(&[255, 255, 255]);
            }
        }
        let (chip, to_chip) = align_face(&img, w, h, &lm).unwrap();
        assert!((to_chip.scale() - 0.5).abs() < 1e-6);
        for (p, want) in lm.iter().zip(CHIP_LANDMARKS_PX) {
            let got = to_chip.apply([p[0] as f64, p[1] as f64]);
            assert!((got[0] - want[0]).abs() < 1e-3 && (got[1] - want[1]).abs() < 1e-3);
        }
        // The bright dot appears around the chip's nose position.
        let at = |x: usize, y: usize| chip[(y * CHIP_SIZE_PX + x) * 3];
        assert!(at(75, 75) > 60 || at(74, 74) > 60 || at(75, 74) > 60 || at(74, 75) > 60);
        assert_eq!(at(10, 10), 0);
    }

    #[test]
    fn bad_input_is_named() {
        let lm = [[1.0f32, 1.0]; 5];
        assert_eq!(
            align_face(&[0u8; 10], 2, 2, &lm).unwrap_err(),
            AlignError::BufferSize {
                expected: 12,
                got: 10,
                width: 2,
                height: 2
            }
        );
        assert!(matches!(
            align_face(&[0u8; 12], 2, 2, &lm),
            Err(AlignError::DegenerateLandmarks(_))
        ));
        let mut nan = [[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 1.0]];
        nan[3][1] = f32::NAN;
        assert!(matches!(
            align_face(&[0u8; 12], 2, 2, &nan),
            Err(AlignError::DegenerateLandmarks(_))
        ));
    }
}
