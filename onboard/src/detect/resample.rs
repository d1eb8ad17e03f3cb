//! Affine resampling of an RGB frame into a network input: a region of the frame (axis-aligned
//! or rotated, shrunk or enlarged) sampled bilinearly, with k x k supersampling when shrinking so
//! small text does not alias. The plate detector uses it for its downscaled scan strips, its
//! follow-up windows and the rotated text crops it hands the recognizer.

use crate::frame::RgbFrame;

/// Where each output pixel comes from: the centre of output pixel `(u, v)` samples the frame
/// at `origin + (u + 0.5) * du + (v + 0.5) * dv` (frame pixel units, pixel centres at `.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    /// Frame point of output corner (0, 0).
    pub origin: [f32; 2],
    /// Frame step for one output pixel to the right.
    pub du: [f32; 2],
    /// Frame step for one output pixel down.
    pub dv: [f32; 2],
}

impl Affine {
    /// Axis-aligned, output corner at frame point `(x0, y0)`, `scale` output pixels per frame
    /// pixel (0.5 halves the resolution).
    pub fn axis_aligned(x0: f32, y0: f32, scale: f32) -> Self {
        Self {
            origin: [x0, y0],
            du: [1.0 / scale, 0.0],
            dv: [0.0, 1.0 / scale],
        }
    }

    /// The frame point of output point `(u, v)` (output pixel units, not centres).
    pub fn map(&self, u: f32, v: f32) -> [f32; 2] {
        [
            self.origin[0] + u * self.du[0] + v * self.dv[0],
            self.origin[1] + u * self.du[1] + v * self.dv[1],
        ]
    }
}

/// Samples `out_w x out_h` RGB pixels from `frame` through `map`. Points off the frame are
/// black.
pub fn warp(frame: &RgbFrame, map: &Affine, out_w: usize, out_h: usize) -> Vec<u8> {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let src = &frame.data;
    let len = |v: [f32; 2]| (v[0] * v[0] + v[1] * v[1]).sqrt();
    // Samples per output pixel along each axis: about one per frame pixel covered.
    let nu = (len(map.du).ceil() as usize).clamp(1, 4);
    let nv = (len(map.dv).ceil() as usize).clamp(1, 4);
    let inv = 1.0 / (nu * nv) as f32;
    let mut out = vec![0u8; out_w * out_h * 3];
    for v in 0..out_h {
        for u in 0..out_w {
            let mut acc = [0f32; 3];
            for j in 0..nv {
                let fv = v as f32 + (j as f32 + 0.5) / nv as f32;
                for i in 0..nu {
                    let fu = u as f32 + (i as f32 + 0.5) / nu as f32;
                    let [sx, sy] = map.map(fu, fv);
                    if sx < 0.0 || sy < 0.0 || sx > w as f32 || sy > h as f32 {
                        continue;
                    }
                    // Bilinear between the four nearest pixel centres, clamped at the border.
                    let fx = (sx - 0.5).max(0.0);
                    let fy = (sy - 0.5).max(0.0);
                    let x0 = (fx as usize).min(w - 1);
                    let y0 = (fy as usize).min(h - 1);
                    let x1 = (x0 + 1).min(w - 1);
                    let y1 = (y0 + 1).min(h - 1);
                    let ax = fx - x0 as f32;
                    let ay = fy - y0 as f32;
                    let p = |x: usize, y: usize, c: usize| f32::from(src[(y * w + x) * 3 + c]);
                    for (c, a) in acc.iter_mut().enumerate() {
                        let top = p(x0, y0, c) * (1.0 - ax) + p(x1, y0, c) * ax;
                        let bottom = p(x0, y1, c) * (1.0 - ax) + p(x1, y1, c) * ax;
                        *a += top * (1.0 - ay) + bottom * ay;
                    }
                }
            }
            let o = (v * out_w + u) * 3;
            for c in 0..3 {
                out[o + c] = (acc[c] * inv).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbFrame {
        let data = (0..h)
            .flat_map(|y| (0..w).flat_map(move |x| [(x * 10) as u8, (y * 10) as u8, 7]))
            .collect();
        RgbFrame::new(w, h, data, 0).unwrap()
    }

    #[test]
    fn identity_copies_and_outside_is_black() {
        let f = gradient(8, 6);
        assert_eq!(warp(&f, &Affine::axis_aligned(0.0, 0.0, 1.0), 8, 6), f.data);
        // Shifted 2 px left: the first two columns come from off the frame.
        let out = warp(&f, &Affine::axis_aligned(-2.0, 0.0, 1.0), 4, 1);
        assert_eq!(out, vec![0, 0, 0, 0, 0, 0, 0, 0, 7, 10, 0, 7]);
    }

    #[test]
    fn halving_averages_two_by_two_blocks() {
        let f = gradient(8, 6);
        let out = warp(&f, &Affine::axis_aligned(0.0, 0.0, 0.5), 4, 3);
        // Output (1, 1) covers frame x 2..4, y 2..4: mean x*10 = 25, mean y*10 = 25.
        assert_eq!(&out[(4 + 1) * 3..(4 + 1) * 3 + 3], &[25, 25, 7]);
    }

    #[test]
    fn quarter_turn_reads_columns_as_rows() {
        let f = gradient(8, 6);
        // Output u runs down the frame (du = +y), v runs right (dv = +x).
        let map = Affine {
            origin: [0.0, 0.0],
            du: [0.0, 1.0],
            dv: [1.0, 0.0],
        };
        let out = warp(&f, &map, 6, 8);
        // Output (u=3, v=5) is frame (x=5, y=3).
        assert_eq!(&out[(5 * 6 + 3) * 3..(5 * 6 + 3) * 3 + 3], &f.pixel(5, 3));
    }
}
