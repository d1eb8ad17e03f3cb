//! [`Texture`]: an RGB(A) image with a box-filtered mip chain, sampled
//! bilinearly at the level matching the on-screen size (so a 40 px face or a
//! 60 px plate is a filtered image, not an aliased one).

/// One mip level: RGBA8 (alpha = coverage, used for plate glyph edges only
/// through the RGB already blended; alpha 0 texels are skipped when drawing).
#[derive(Debug, Clone)]
pub struct MipLevel {
    /// Width, texels.
    pub width: u32,
    /// Height, texels.
    pub height: u32,
    /// RGBA8, row-major.
    pub rgba: Vec<u8>,
}

/// A texture with its mip chain (level 0 is full size).
#[derive(Debug, Clone)]
pub struct Texture {
    /// Levels, each half the size of the previous (at least 1x1).
    pub levels: Vec<MipLevel>,
}

impl Texture {
    /// A texture from RGBA8 texels.
    pub fn from_rgba(width: u32, height: u32, rgba: Vec<u8>) -> Self {
        assert_eq!(rgba.len(), (width * height * 4) as usize, "texture size");
        let mut levels = vec![MipLevel { width, height, rgba }];
        while let Some(last) = levels.last() {
            if last.width <= 2 || last.height <= 2 {
                break;
            }
            let (w, h) = (last.width / 2, last.height / 2);
            let mut out = vec![0u8; (w * h * 4) as usize];
            for y in 0..h {
                for x in 0..w {
                    for c in 0..4 {
                        let at = |xx: u32, yy: u32| u32::from(last.rgba[((yy * last.width + xx) * 4 + c) as usize]);
                        let s =
                            at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) + at(2 * x + 1, 2 * y + 1);
                        out[((y * w + x) * 4 + c) as usize] = ((s + 2) / 4) as u8;
                    }
                }
            }
            levels.push(MipLevel {
                width: w,
                height: h,
                rgba: out,
            });
        }
        Self { levels }
    }

    /// Full-size width, texels.
    pub fn width(&self) -> u32 {
        self.levels[0].width
    }

    /// The level to sample when the texture's width spans `screen_width_px` pixels.
    pub fn level_for(&self, screen_width_px: f64) -> &MipLevel {
        let mut best = &self.levels[0];
        for l in &self.levels {
            if f64::from(l.width) >= screen_width_px * 0.9 {
                best = l;
            } else {
                break;
            }
        }
        best
    }
}

impl MipLevel {
    /// Bilinear sample at normalized `(u, v)` in 0..1 (clamped at the edges).
    #[inline]
    pub fn sample(&self, u: f64, v: f64) -> [u8; 4] {
        let x = (u * f64::from(self.width) - 0.5).clamp(0.0, f64::from(self.width - 1));
        let y = (v * f64::from(self.height) - 0.5).clamp(0.0, f64::from(self.height - 1));
        let (x0, y0) = (x as u32, y as u32);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (fx, fy) = ((x - f64::from(x0)) as f32, (y - f64::from(y0)) as f32);
        let px = |xx: u32, yy: u32| {
            let i = ((yy * self.width + xx) * 4) as usize;
            &self.rgba[i..i + 4]
        };
        let (a, b, c, d) = (px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1));
        let mut out = [0u8; 4];
        for k in 0..4 {
            let top = f32::from(a[k]) * (1.0 - fx) + f32::from(b[k]) * fx;
            let bot = f32::from(c[k]) * (1.0 - fx) + f32::from(d[k]) * fx;
            out[k] = (top * (1.0 - fy) + bot * fy + 0.5) as u8;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mip_chain_averages_and_sampling_hits_texel_centres() {
        // 4x4: left half black, right half white.
        let mut rgba = Vec::new();
        for _y in 0..4 {
            for x in 0..4 {
                let v = if x < 2 { 0 } else { 255 };
                rgba.extend_from_slice(&[v, v, v, 255]);
            }
        }
        let t = Texture::from_rgba(4, 4, rgba);
        assert_eq!(t.levels.len(), 2);
        assert_eq!(t.levels[1].width, 2);
        assert_eq!(t.levels[1].rgba[0], 0);
        assert_eq!(t.levels[1].rgba[4], 255);
        assert_eq!(t.levels[0].sample(0.125, 0.5)[0], 0);
        assert_eq!(t.levels[0].sample(0.875, 0.5)[0], 255);
        // Halfway between texel 1 and texel 2: grey.
        assert!((i32::from(t.levels[0].sample(0.5, 0.5)[0]) - 128).abs() <= 1);
        assert_eq!(t.level_for(4.0).width, 4);
        assert_eq!(t.level_for(1.5).width, 2);
    }
}
