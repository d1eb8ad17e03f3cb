//! Masking of faces and plates in a frame before it leaves the drone (EDPB Guidelines 3/2019:
//! third persons in video are masked). Coarse pixelation (at most `blocks` cells across the
//! box, so a face is a handful of flat squares) or a flat fill, over the box grown by a margin
//! so a detector box that is a little tight still hides the whole face or plate.

use crate::frame::RgbFrame;
use crate::track::BoxPx;

/// How boxes are masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskMode {
    /// Average colour per cell.
    Pixelate,
    /// One flat grey.
    Fill,
}

/// Masking settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaskConfig {
    /// Pixelate or fill.
    pub mode: MaskMode,
    /// Cells across the longer side of a box when pixelating.
    pub blocks: u32,
    /// Growth of each box on every side, as a share of its size.
    pub margin: f64,
}

impl Default for MaskConfig {
    fn default() -> Self {
        Self {
            mode: MaskMode::Pixelate,
            blocks: 4,
            margin: 0.2,
        }
    }
}

/// Masks every box in `frame` in place; returns how many boxes touched the frame.
pub fn mask_boxes(frame: &mut RgbFrame, boxes: &[BoxPx], config: &MaskConfig) -> usize {
    let (w, h) = (frame.width as i64, frame.height as i64);
    let mut masked = 0;
    for b in boxes {
        let (mx, my) = (b.width() * config.margin, b.height() * config.margin);
        let x0 = ((b.x0 - mx).floor() as i64).clamp(0, w);
        let y0 = ((b.y0 - my).floor() as i64).clamp(0, h);
        let x1 = ((b.x1 + mx).ceil() as i64).clamp(0, w);
        let y1 = ((b.y1 + my).ceil() as i64).clamp(0, h);
        if x1 <= x0 || y1 <= y0 {
            continue;
        }
        masked += 1;
        let (x0, y0, x1, y1) = (x0 as usize, y0 as usize, x1 as usize, y1 as usize);
        match config.mode {
            MaskMode::Fill => fill(frame, x0, y0, x1, y1, [128, 128, 128]),
            MaskMode::Pixelate => {
                let side = (x1 - x0).max(y1 - y0);
                let cell = side.div_ceil(config.blocks.max(1) as usize).max(2);
                let mut cy = y0;
                while cy < y1 {
                    let ey = (cy + cell).min(y1);
                    let mut cx = x0;
                    while cx < x1 {
                        let ex = (cx + cell).min(x1);
                        let avg = average(frame, cx, cy, ex, ey);
                        fill(frame, cx, cy, ex, ey, avg);
                        cx = ex;
                    }
                    cy = ey;
                }
            }
        }
    }
    masked
}

fn average(f: &RgbFrame, x0: usize, y0: usize, x1: usize, y1: usize) -> [u8; 3] {
    let stride = f.stride();
    let mut sum = [0u64; 3];
    for y in y0..y1 {
        let row = &f.data[y * stride + x0 * 3..y * stride + x1 * 3];
        for px in row.chunks_exact(3) {
            for c in 0..3 {
                sum[c] += u64::from(px[c]);
            }
        }
    }
    let n = ((x1 - x0) * (y1 - y0)).max(1) as u64;
    sum.map(|s| (s / n) as u8)
}

fn fill(f: &mut RgbFrame, x0: usize, y0: usize, x1: usize, y1: usize, rgb: [u8; 3]) {
    let stride = f.stride();
    for y in y0..y1 {
        for px in f.data[y * stride + x0 * 3..y * stride + x1 * 3].chunks_exact_mut(3) {
            px.copy_from_slice(&rgb);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(w: u32, h: u32) -> RgbFrame {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let data = (0..w * h * 3)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 56) as u8
            })
            .collect();
        RgbFrame::new(w, h, data, 0).unwrap()
    }

    fn distinct_colours(f: &RgbFrame, x0: u32, y0: u32, x1: u32, y1: u32) -> usize {
        let mut set = std::collections::HashSet::new();
        for y in y0..y1 {
            for x in x0..x1 {
                set.insert(f.pixel(x, y));
            }
        }
        set.len()
    }

    #[test]
    fn pixelation_leaves_a_few_flat_cells_and_the_rest_untouched() {
        let orig = noisy(200, 100);
        let mut f = orig.clone();
        let b = BoxPx::from_xywh(50.0, 20.0, 40.0, 40.0);
        assert_eq!(mask_boxes(&mut f, &[b], &MaskConfig::default()), 1);
        // The box (grown by 20 %: 42..98 x 12..68) holds at most 4x4 cells.
        assert!(distinct_colours(&f, 42, 12, 98, 68) <= 16);
        assert!(distinct_colours(&orig, 42, 12, 98, 68) > 1000);
        // Outside the grown box nothing changed.
        assert_eq!(f.pixel(10, 10), orig.pixel(10, 10));
        assert_eq!(f.pixel(99, 69), orig.pixel(99, 69));
    }

    #[test]
    fn fill_and_boxes_partly_or_wholly_outside() {
        let mut f = noisy(64, 64);
        let cfg = MaskConfig {
            mode: MaskMode::Fill,
            ..Default::default()
        };
        let boxes = [
            BoxPx::from_xywh(-10.0, -10.0, 20.0, 20.0),
            BoxPx::from_xywh(500.0, 500.0, 5.0, 5.0),
        ];
        assert_eq!(mask_boxes(&mut f, &boxes, &cfg), 1);
        assert_eq!(f.pixel(0, 0), [128, 128, 128]);
        assert_eq!(f.pixel(13, 13), [128, 128, 128]);
    }
}
