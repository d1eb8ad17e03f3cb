//! Software rasterizer: polygons in camera coordinates are clipped at a near
//! plane, projected with the `shared` camera intrinsics and scan-filled (even
//! odd rule) into an RGB8 image and an entity-id buffer (for ground truth).
//! Flat colour or a texture mapped exactly by ray-plane intersection.

use glam::DVec3;
use utkik_shared::camera::Intrinsics;

use super::texture::MipLevel;

/// Near clipping distance along the optical axis, metres.
pub const NEAR_M: f64 = 0.05;

/// How a polygon is coloured.
pub enum Shade<'a> {
    /// One colour.
    Flat([u8; 3]),
    /// A texture on the plane through `origin` spanned by `axis_u`, `axis_v`
    /// (camera frame, metres; texture (0,0) at `origin`, (1,1) at
    /// `origin + axis_u + axis_v`), times `gain`.
    Textured {
        /// Mip level to sample.
        level: &'a MipLevel,
        /// Texture origin, camera frame.
        origin: DVec3,
        /// Full texture width vector, camera frame.
        axis_u: DVec3,
        /// Full texture height vector, camera frame.
        axis_v: DVec3,
        /// Brightness gain.
        gain: f32,
        /// A region of the texture (u0, v0, u1, v1) whose pixels get another
        /// entity id: the face inside a head texture, so ground truth boxes
        /// the face and not the hair around it.
        inner: Option<([f64; 4], u32)>,
    },
}

/// Output image plus entity-id buffer.
pub struct Canvas {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// RGB8, row-major.
    pub rgb: Vec<u8>,
    /// Entity id per pixel (0 = no entity).
    pub ids: Vec<u32>,
}

impl Canvas {
    /// A black canvas.
    pub fn new(width: u32, height: u32) -> Self {
        let n = width as usize * height as usize;
        Self {
            width,
            height,
            rgb: vec![0; n * 3],
            ids: vec![0; n],
        }
    }

    /// Fill pixels `x0..x1` of row `y` with a flat colour and id.
    #[inline]
    pub fn span_flat(&mut self, y: u32, x0: u32, x1: u32, c: [u8; 3], id: u32) {
        let row = (y * self.width) as usize;
        for px in self.rgb[(row + x0 as usize) * 3..(row + x1 as usize) * 3].chunks_exact_mut(3) {
            px.copy_from_slice(&c);
        }
        self.ids[row + x0 as usize..row + x1 as usize].fill(id);
    }

    /// Clip `pts` (camera frame) at the near plane, project and fill.
    pub fn fill_polygon(&mut self, intr: &Intrinsics, pts: &[DVec3], shade: &Shade<'_>, id: u32) {
        let clipped = clip_near(pts);
        if clipped.len() < 3 {
            return;
        }
        let mut px: Vec<[f64; 2]> = Vec::with_capacity(clipped.len());
        for p in &clipped {
            match intr.ray_cam_to_pixel(*p) {
                Some(q) if q[0].is_finite() && q[1].is_finite() => px.push(q),
                _ => return,
            }
        }
        self.scan_fill(&px, |canvas, y, x0, x1| match shade {
            Shade::Flat(c) => canvas.span_flat(y, x0, x1, *c, id),
            Shade::Textured {
                level,
                origin,
                axis_u,
                axis_v,
                gain,
                inner,
            } => {
                let n = axis_u.cross(*axis_v);
                let n_dot_o = n.dot(*origin);
                let (uu, vv) = (axis_u.length_squared(), axis_v.length_squared());
                let ry = (f64::from(y) + 0.5 - intr.cy_px) / intr.fy_px;
                let row = (y * canvas.width) as usize;
                for x in x0..x1 {
                    let d = DVec3::new((f64::from(x) + 0.5 - intr.cx_px) / intr.fx_px, ry, 1.0);
                    let den = n.dot(d);
                    if den.abs() < 1e-12 {
                        continue;
                    }
                    let hit = d * (n_dot_o / den) - *origin;
                    let (u, v) = (hit.dot(*axis_u) / uu, hit.dot(*axis_v) / vv);
                    let t = level.sample(u, v);
                    let i = (row + x as usize) * 3;
                    for k in 0..3 {
                        canvas.rgb[i + k] = (f32::from(t[k]) * gain).min(255.0) as u8;
                    }
                    canvas.ids[row + x as usize] = match inner {
                        Some(([u0, v0, u1, v1], inner_id)) if (*u0..*u1).contains(&u) && (*v0..*v1).contains(&v) => {
                            *inner_id
                        }
                        _ => id,
                    };
                }
            }
        });
    }

    /// Even-odd scanline fill of a pixel-space polygon, sampling at pixel
    /// centres; `span(canvas, y, x0, x1)` fills `x0..x1` of row `y`.
    pub fn scan_fill(&mut self, px: &[[f64; 2]], mut span: impl FnMut(&mut Canvas, u32, u32, u32)) {
        let (w, h) = (f64::from(self.width), f64::from(self.height));
        let ymin = px.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min);
        let ymax = px.iter().map(|p| p[1]).fold(f64::NEG_INFINITY, f64::max);
        let y_start = (ymin - 0.5).ceil().clamp(0.0, h) as u32;
        let y_end = (ymax - 0.5).ceil().clamp(0.0, h) as u32;
        let mut xs: Vec<f64> = Vec::with_capacity(8);
        for y in y_start..y_end {
            let yc = f64::from(y) + 0.5;
            xs.clear();
            for i in 0..px.len() {
                let (a, b) = (px[i], px[(i + 1) % px.len()]);
                if (a[1] <= yc && yc < b[1]) || (b[1] <= yc && yc < a[1]) {
                    xs.push(a[0] + (yc - a[1]) * (b[0] - a[0]) / (b[1] - a[1]));
                }
            }
            xs.sort_by(f64::total_cmp);
            for pair in xs.chunks_exact(2) {
                let x0 = (pair[0] - 0.5).ceil().clamp(0.0, w) as u32;
                let x1 = (pair[1] - 0.5).ceil().clamp(0.0, w) as u32;
                if x1 > x0 {
                    span(self, y, x0, x1);
                }
            }
        }
    }
}

/// Sutherland-Hodgman against z >= [`NEAR_M`].
fn clip_near(pts: &[DVec3]) -> Vec<DVec3> {
    let mut out = Vec::with_capacity(pts.len() + 2);
    for i in 0..pts.len() {
        let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
        let (ain, bin) = (a.z >= NEAR_M, b.z >= NEAR_M);
        if ain {
            out.push(a);
        }
        if ain != bin {
            let t = (NEAR_M - a.z) / (b.z - a.z);
            out.push(a + (b - a) * t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_fills_exactly_its_pixel_centres() {
        let mut c = Canvas::new(10, 10);
        c.scan_fill(&[[2.0, 3.0], [6.0, 3.0], [6.0, 8.0], [2.0, 8.0]], |c, y, x0, x1| {
            c.span_flat(y, x0, x1, [255, 0, 0], 7)
        });
        let filled: Vec<(u32, u32)> = (0..100u32)
            .filter(|i| c.ids[*i as usize] == 7)
            .map(|i| (i % 10, i / 10))
            .collect();
        assert_eq!(filled.len(), 4 * 5);
        assert!(filled.iter().all(|&(x, y)| (2..6).contains(&x) && (3..8).contains(&y)));
    }

    #[test]
    fn huge_and_offscreen_polygons_do_not_panic() {
        let mut c = Canvas::new(8, 8);
        c.scan_fill(&[[-1e12, -1e12], [1e12, -1e12], [1e12, 1e12]], |c, y, x0, x1| {
            c.span_flat(y, x0, x1, [1, 2, 3], 1)
        });
        c.scan_fill(&[[f64::NAN, 0.0], [3.0, 3.0], [0.0, 5.0]], |c, y, x0, x1| {
            c.span_flat(y, x0, x1, [1, 2, 3], 1)
        });
        assert!(c.ids.contains(&1));
    }

    #[test]
    fn clipping_keeps_the_part_in_front() {
        let q = clip_near(&[
            DVec3::new(0.0, 0.0, -1.0),
            DVec3::new(1.0, 0.0, 1.0),
            DVec3::new(0.0, 1.0, 1.0),
        ]);
        assert!(q.iter().all(|p| p.z >= NEAR_M - 1e-12));
        assert_eq!(q.len(), 4);
    }
}
