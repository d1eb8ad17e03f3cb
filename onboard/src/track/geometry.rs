//! Boxes in pixels and their overlap, the association metric of the tracker.

/// Axis-aligned box in pixels: left, top, right, bottom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxPx {
    /// Left edge.
    pub x0: f64,
    /// Top edge.
    pub y0: f64,
    /// Right edge.
    pub x1: f64,
    /// Bottom edge.
    pub y1: f64,
}

impl BoxPx {
    /// From left, top, width, height.
    pub fn from_xywh(x: f64, y: f64, w: f64, h: f64) -> Self {
        Self {
            x0: x,
            y0: y,
            x1: x + w,
            y1: y + h,
        }
    }

    /// From centre and size.
    pub fn from_center(cx: f64, cy: f64, w: f64, h: f64) -> Self {
        Self {
            x0: cx - w / 2.0,
            y0: cy - h / 2.0,
            x1: cx + w / 2.0,
            y1: cy + h / 2.0,
        }
    }

    /// Width.
    pub fn width(&self) -> f64 {
        (self.x1 - self.x0).max(0.0)
    }

    /// Height.
    pub fn height(&self) -> f64 {
        (self.y1 - self.y0).max(0.0)
    }

    /// Centre.
    pub fn center(&self) -> [f64; 2] {
        [(self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0]
    }

    /// Area.
    pub fn area(&self) -> f64 {
        self.width() * self.height()
    }

    /// Intersection over union, 0..1.
    pub fn iou(&self, o: &BoxPx) -> f64 {
        let w = (self.x1.min(o.x1) - self.x0.max(o.x0)).max(0.0);
        let h = (self.y1.min(o.y1) - self.y0.max(o.y0)).max(0.0);
        let inter = w * h;
        let union = self.area() + o.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_cases() {
        let a = BoxPx::from_xywh(0.0, 0.0, 10.0, 10.0);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&BoxPx::from_xywh(20.0, 0.0, 10.0, 10.0)), 0.0);
        let half = BoxPx::from_xywh(5.0, 0.0, 10.0, 10.0);
        assert!((a.iou(&half) - 50.0 / 150.0).abs() < 1e-12);
        assert_eq!(BoxPx::from_center(5.0, 5.0, 10.0, 10.0), a);
    }
}
