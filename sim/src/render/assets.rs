//! [`Assets`]: the font for number plates (DejaVu Sans Bold from Debian's
//! `fonts-dejavu-core`, read from the system, never committed), the face
//! imagery ([`FaceSet`], read from the imagery cache, never committed) and a
//! cache of rendered plate textures.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ab_glyph::{Font, FontArc, PxScale, ScaleFont, point};

use super::faces::FaceSet;
use super::texture::Texture;

/// Where Debian's `fonts-dejavu-core` puts the plate font.
pub const PLATE_FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";

/// Plate texture size, texels (520 x 110 mm at 1.6 texels/mm).
pub const PLATE_TEXELS: (u32, u32) = (832, 176);

/// Problems loading assets.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The font file is not a font.
    #[error("{path} is not a usable font: {message}")]
    Font {
        /// The file.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// An image could not be decoded.
    #[error("cannot decode image {path}: {message}")]
    Image {
        /// The file.
        path: PathBuf,
        /// Decoder message.
        message: String,
    },
    /// A face crop lies outside its image.
    #[error("face crop {crop:?} lies outside {path} ({width}x{height})")]
    Crop {
        /// The image.
        path: PathBuf,
        /// The crop, x, y, w, h.
        crop: [u32; 4],
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
    },
}

/// Font, faces and plate textures shared by every frame of a simulation.
pub struct Assets {
    font: FontArc,
    /// Face textures (may be empty: faces are then drawn skin-coloured).
    pub faces: FaceSet,
    plates: Mutex<HashMap<String, Arc<Texture>>>,
}

impl std::fmt::Debug for Assets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assets")
            .field("faces", &self.faces.len())
            .finish_non_exhaustive()
    }
}

impl Assets {
    /// The plate font from `font_path` and the given faces.
    pub fn new(font_path: &Path, faces: FaceSet) -> Result<Self, AssetError> {
        let data = std::fs::read(font_path).map_err(|source| AssetError::Read {
            path: font_path.to_owned(),
            source,
        })?;
        let font = FontArc::try_from_vec(data).map_err(|e| AssetError::Font {
            path: font_path.to_owned(),
            message: e.to_string(),
        })?;
        Ok(Self {
            font,
            faces,
            plates: Mutex::new(HashMap::new()),
        })
    }

    /// The system plate font and the faces from the imagery cache
    /// (`$UTKIK_CACHE/imagery/faces` or `~/.cache/utkik/imagery/faces`).
    pub fn load_default() -> Result<Self, AssetError> {
        Self::new(
            Path::new(PLATE_FONT_PATH),
            FaceSet::load(&super::faces::default_face_dir())?,
        )
    }

    /// The texture of a plate reading `text` (rendered once, then cached).
    pub fn plate_texture(&self, text: &str) -> Arc<Texture> {
        let mut cache = self.plates.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(text.to_owned())
            .or_insert_with(|| Arc::new(render_plate(&self.font, text)))
            .clone()
    }

    /// Draw `text` in black-ish `colour` into an RGB8 image at `(x, y)` (top
    /// left of the line), `size_px` high; used for plot labels.
    pub fn draw_text(
        &self,
        rgb: &mut [u8],
        width: u32,
        height: u32,
        x: f32,
        y: f32,
        size_px: f32,
        colour: [u8; 3],
        text: &str,
    ) {
        let scaled = self.font.as_scaled(PxScale::from(size_px));
        let mut pen_x = x;
        let baseline = y + scaled.ascent();
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            let glyph = id.with_scale_and_position(PxScale::from(size_px), point(pen_x, baseline));
            pen_x += scaled.h_advance(id);
            if let Some(outlined) = self.font.outline_glyph(glyph) {
                let b = outlined.px_bounds();
                outlined.draw(|gx, gy, cov| {
                    let (px, py) = (b.min.x as i64 + i64::from(gx), b.min.y as i64 + i64::from(gy));
                    if px >= 0 && py >= 0 && (px as u32) < width && (py as u32) < height {
                        let i = ((py as u32 * width + px as u32) * 3) as usize;
                        for k in 0..3 {
                            let old = f32::from(rgb[i + k]);
                            rgb[i + k] = (old + (f32::from(colour[k]) - old) * cov.min(1.0)) as u8;
                        }
                    }
                });
            }
        }
    }
}

/// A Swedish plate: white, thin black border, blue EU band on the left with a
/// ring of 12 yellow stars and a white "S", black characters.
pub fn render_plate(font: &FontArc, text: &str) -> Texture {
    let (w, h) = PLATE_TEXELS;
    let mut rgba = vec![255u8; (w * h * 4) as usize];
    let mm = f64::from(w) / 520.0;
    let put = |rgba: &mut [u8], x: u32, y: u32, c: [u8; 3], cov: f32| {
        if x < w && y < h {
            let i = ((y * w + x) * 4) as usize;
            for k in 0..3 {
                let old = f32::from(rgba[i + k]);
                rgba[i + k] = (old + (f32::from(c[k]) - old) * cov.clamp(0.0, 1.0)).round() as u8;
            }
        }
    };
    // Border 1.5 mm.
    let border = (1.5 * mm).round() as u32;
    for y in 0..h {
        for x in 0..w {
            if x < border || y < border || x >= w - border || y >= h - border {
                put(&mut rgba, x, y, [20, 20, 20], 1.0);
            }
        }
    }
    // EU band, 40 mm wide.
    let band_w = (40.0 * mm) as u32;
    for y in border..h - border {
        for x in border..band_w {
            put(&mut rgba, x, y, [0, 51, 153], 1.0);
        }
    }
    let (scx, scy, sr) = (f64::from(band_w + border) / 2.0, 32.0 * mm, 12.0 * mm);
    for k in 0..12 {
        let a = f64::from(k) * std::f64::consts::TAU / 12.0;
        let (cx, cy) = (scx + sr * a.cos(), scy + sr * a.sin());
        let r = 2.2 * mm;
        for y in (cy - r - 1.0) as u32..=(cy + r + 1.0) as u32 {
            for x in (cx - r - 1.0) as u32..=(cx + r + 1.0) as u32 {
                let d = ((f64::from(x) + 0.5 - cx).powi(2) + (f64::from(y) + 0.5 - cy).powi(2)).sqrt();
                put(&mut rgba, x, y, [255, 204, 0], (r + 0.5 - d) as f32);
            }
        }
    }
    draw_line(font, &mut rgba, w, h, "S", scx, 84.0 * mm, 26.0 * mm, [255, 255, 255]);
    // Characters: cap height 75 mm, centred in the white area.
    let white_centre = (f64::from(band_w) + f64::from(w - border)) / 2.0;
    let cap_mm = 75.0;
    let avail = f64::from(w - border - band_w) - 8.0 * mm;
    let mut size = cap_mm * mm / cap_height_ratio(font);
    let width = line_width(font, text, size);
    if width > avail {
        size *= avail / width;
    }
    let baseline = f64::from(h) / 2.0 + size * cap_height_ratio(font) / 2.0;
    draw_line(font, &mut rgba, w, h, text, white_centre, baseline, size, [16, 16, 16]);
    Texture::from_rgba(w, h, rgba)
}

fn cap_height_ratio(font: &FontArc) -> f64 {
    let scaled = font.as_scaled(PxScale::from(1000.0));
    let id = scaled.glyph_id('H');
    let g = id.with_scale_and_position(PxScale::from(1000.0), point(0.0, 0.0));
    font.outline_glyph(g)
        .map_or(0.73, |o| f64::from(-o.px_bounds().min.y) / 1000.0)
}

fn line_width(font: &FontArc, text: &str, size: f64) -> f64 {
    let scaled = font.as_scaled(PxScale::from(size as f32));
    text.chars()
        .map(|c| f64::from(scaled.h_advance(scaled.glyph_id(c))))
        .sum()
}

/// Draw one line of text horizontally centred on `cx` with its baseline at `baseline`.
#[allow(clippy::too_many_arguments)]
fn draw_line(
    font: &FontArc,
    rgba: &mut [u8],
    w: u32,
    h: u32,
    text: &str,
    cx: f64,
    baseline: f64,
    size: f64,
    c: [u8; 3],
) {
    let scale = PxScale::from(size as f32);
    let scaled = font.as_scaled(scale);
    let mut pen = cx - line_width(font, text, size) / 2.0;
    for ch in text.chars() {
        let id = scaled.glyph_id(ch);
        let g = id.with_scale_and_position(scale, point(pen as f32, baseline as f32));
        pen += f64::from(scaled.h_advance(id));
        if let Some(o) = font.outline_glyph(g) {
            let b = o.px_bounds();
            o.draw(|gx, gy, cov| {
                let (x, y) = (b.min.x as i64 + i64::from(gx), b.min.y as i64 + i64::from(gy));
                if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                    let i = ((y as u32 * w + x as u32) * 4) as usize;
                    for k in 0..3 {
                        let old = f32::from(rgba[i + k]);
                        rgba[i + k] = (old + (f32::from(c[k]) - old) * cov.clamp(0.0, 1.0)).round() as u8;
                    }
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plate_has_blue_band_white_field_and_dark_characters() {
        let a = Assets::new(Path::new(PLATE_FONT_PATH), FaceSet::default()).unwrap();
        let t = a.plate_texture("ABC 123");
        let l = &t.levels[0];
        let px = |x: u32, y: u32| {
            let i = ((y * l.width + x) * 4) as usize;
            [l.rgba[i], l.rgba[i + 1], l.rgba[i + 2]]
        };
        assert_eq!(px(30, 150), [0, 51, 153], "EU band");
        assert_eq!(px(120, 10), [255, 255, 255], "white field above the characters");
        // The characters darken a good share of the middle row of the white field.
        let dark = (70..820).filter(|&x| px(x, 88)[0] < 100).count();
        assert!(dark > 100, "only {dark} dark texels across the characters");
        // Cached: the same Arc.
        assert!(Arc::ptr_eq(&t, &a.plate_texture("ABC 123")));
        assert!(!Arc::ptr_eq(&t, &a.plate_texture("XYZ 789")));
    }

    #[test]
    fn missing_font_is_named() {
        let e = Assets::new(Path::new("/nonexistent/font.ttf"), FaceSet::default()).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/font.ttf"), "{e}");
    }
}
