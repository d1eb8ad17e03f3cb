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

/// Face textures, one per crop.
#[derive(Debug, Clone, Default)]
pub struct FaceSet {
    /// Textures of size [`FACE_TEXELS`].
    pub textures: Vec<Texture>,
    /// Where each came from ("file#index").
    pub names: Vec<String>,
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

    /// The texture for `index` (modulo the set size), if any are loaded.
    pub fn get(&self, index: usize) -> Option<&Texture> {
        if self.textures.is_empty() {
            None
        } else {
            self.textures.get(index % self.textures.len())
        }
    }
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
    }

    #[test]
    fn missing_directory_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = FaceSet::load(dir.path()).unwrap_err();
        assert!(e.to_string().contains("astronaut.png"), "{e}");
    }
}
