//! PNG plots of a [`Report`]: precision/recall per class (with plate-read
//! accuracy), the geolocation-error CDF, and recall by box height. Drawn with
//! the `image` crate and the plate font (already in the build) rather than a
//! plotting library: three simple charts do not justify one.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};

use super::Report;
use crate::render::{AssetError, Assets, FaceSet, PLATE_FONT_PATH};

/// Plots could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The label font.
    #[error(transparent)]
    Font(#[from] AssetError),
    /// Creating the directory or writing a file.
    #[error("{}: {message}", path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

const W: u32 = 900;
const H: u32 = 520;
/// Plot area: left, top, right, bottom.
const AREA: [i32; 4] = [80, 50, 880, 440];
const WHITE: [u8; 3] = [255, 255, 255];
const INK: [u8; 3] = [30, 30, 30];
const GRID: [u8; 3] = [222, 222, 222];
const PALETTE: [[u8; 3]; 6] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
];

struct Chart<'a> {
    img: RgbImage,
    font: &'a Assets,
}

impl<'a> Chart<'a> {
    fn new(font: &'a Assets, title: &str) -> Self {
        let mut c = Self {
            img: RgbImage::from_pixel(W, H, Rgb(WHITE)),
            font,
        };
        c.text(AREA[0] as f32, 12.0, 20.0, INK, title);
        c
    }

    fn rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, colour: [u8; 3]) {
        for y in y0.max(0)..y1.min(H as i32) {
            for x in x0.max(0)..x1.min(W as i32) {
                self.img.put_pixel(x as u32, y as u32, Rgb(colour));
            }
        }
    }

    /// A line `thick` pixels wide (square pen).
    fn line(&mut self, a: (f64, f64), b: (f64, f64), colour: [u8; 3], thick: i32) {
        let n = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as usize).max(1);
        for k in 0..=n {
            let t = k as f64 / n as f64;
            let (x, y) = ((a.0 + (b.0 - a.0) * t) as i32, (a.1 + (b.1 - a.1) * t) as i32);
            self.rect(
                x - thick / 2,
                y - thick / 2,
                x - thick / 2 + thick,
                y - thick / 2 + thick,
                colour,
            );
        }
    }

    fn text(&mut self, x: f32, y: f32, size_px: f32, colour: [u8; 3], s: &str) {
        self.font.draw_text(self.img.as_mut(), W, H, x, y, size_px, colour, s);
    }

    /// Horizontal grid lines and labels for a 0..=1 y axis shown as percent.
    fn y_axis_fraction(&mut self, label: &str) {
        for k in 0..=5 {
            let v = f64::from(k) / 5.0;
            let y = self.y_of(v, 1.0);
            self.line((f64::from(AREA[0]), y), (f64::from(AREA[2]), y), GRID, 1);
            self.text(
                (AREA[0] - 48) as f32,
                y as f32 - 8.0,
                14.0,
                INK,
                &format!("{:>3}%", (v * 100.0) as u32),
            );
        }
        self.text(8.0, (AREA[1] - 26) as f32, 14.0, INK, label);
        self.axes();
    }

    fn axes(&mut self) {
        let [l, t, r, b] = AREA.map(f64::from);
        self.line((l, t), (l, b), INK, 2);
        self.line((l, b), (r, b), INK, 2);
    }

    fn y_of(&self, v: f64, max: f64) -> f64 {
        let [_, t, _, b] = AREA.map(f64::from);
        b - (v / max).clamp(0.0, 1.0) * (b - t)
    }

    fn save(&self, path: &Path) -> Result<(), PlotError> {
        self.img.save(path).map_err(|e| PlotError::Write {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }
}

fn precision_recall<'a>(report: &Report, font: &'a Assets) -> Chart<'a> {
    let mut c = Chart::new(font, "Precision and recall per class, plate-read accuracy");
    c.y_axis_fraction("score");
    type Bars = Vec<(Option<f64>, [u8; 3])>;
    let mut groups: Vec<(String, Bars)> = report
        .classes
        .iter()
        .map(|(name, r)| (name.clone(), vec![(r.precision, PALETTE[0]), (r.recall, PALETTE[1])]))
        .collect();
    groups.push((
        "plate reads".into(),
        vec![
            (report.plates.per_detection.accuracy, PALETTE[2]),
            (report.plates.per_track.accuracy, PALETTE[4]),
        ],
    ));
    let slot = f64::from(AREA[2] - AREA[0]) / groups.len() as f64;
    for (g, (name, bars)) in groups.iter().enumerate() {
        let x0 = f64::from(AREA[0]) + slot * g as f64 + slot * 0.15;
        let bw = slot * 0.7 / bars.len() as f64;
        for (k, (v, colour)) in bars.iter().enumerate() {
            let x = x0 + bw * k as f64;
            let text = match v {
                Some(v) => {
                    let y = c.y_of(*v, 1.0);
                    c.rect(x as i32, y as i32, (x + bw - 4.0) as i32, AREA[3], *colour);
                    format!("{:.0}%", v * 100.0)
                }
                None => "n/a".into(),
            };
            let y = v.map_or(f64::from(AREA[3]), |v| c.y_of(v, 1.0));
            c.text(x as f32 + 2.0, y as f32 - 18.0, 13.0, INK, &text);
        }
        c.text(x0 as f32, (AREA[3] + 10) as f32, 15.0, INK, name);
    }
    let legend = [
        ("precision", PALETTE[0]),
        ("recall", PALETTE[1]),
        ("read accuracy per detection", PALETTE[2]),
        ("per voted track read", PALETTE[4]),
    ];
    let mut x = AREA[0];
    for (name, colour) in legend {
        c.rect(x, AREA[3] + 44, x + 14, AREA[3] + 58, colour);
        c.text((x + 18) as f32, (AREA[3] + 42) as f32, 14.0, INK, name);
        x += 30 + 9 * name.len() as i32;
    }
    c
}

fn geolocation_cdf<'a>(report: &Report, font: &'a Assets) -> Chart<'a> {
    let mut c = Chart::new(font, "Geolocation error (cumulative share of matched detections)");
    c.y_axis_fraction("share");
    let all = &report.geolocation.errors_m;
    // Scale to the 99th percentile so one wild outlier does not flatten the curve.
    let x_max = all
        .get(((all.len() as f64 * 0.99).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(1.0)
        .max(0.5)
        * 1.1;
    let [l, _, r, b] = AREA.map(f64::from);
    for k in 0..=5 {
        let v = x_max * f64::from(k) / 5.0;
        let x = l + (r - l) * f64::from(k) / 5.0;
        c.line((x, b), (x, b + 6.0), INK, 2);
        c.text(x as f32 - 14.0, (b + 10.0) as f32, 14.0, INK, &format!("{v:.1}"));
    }
    c.text((r - 90.0) as f32, (b + 30.0) as f32, 14.0, INK, "metres");
    let mut legend_y = f64::from(AREA[1]) + 10.0;
    for (k, (name, cr)) in report.classes.iter().enumerate() {
        let e = &cr.geolocation.errors_m;
        let colour = PALETTE[k % PALETTE.len()];
        if e.is_empty() {
            continue;
        }
        let mut prev = (l, b);
        for (i, v) in e.iter().enumerate() {
            let x = l + (r - l) * (v / x_max).min(1.0);
            let y = c.y_of((i + 1) as f64 / e.len() as f64, 1.0);
            c.line(prev, (x, prev.1), colour, 2);
            c.line((x, prev.1), (x, y), colour, 2);
            prev = (x, y);
        }
        c.line(prev, (r, prev.1), colour, 2);
        let g = &cr.geolocation;
        let label = format!(
            "{name}: n {} median {:.2} m p95 {:.2} m",
            g.count,
            g.median_m.unwrap_or(f64::NAN),
            g.p95_m.unwrap_or(f64::NAN)
        );
        c.rect(
            l as i32 + 420,
            legend_y as i32 + 4,
            l as i32 + 434,
            legend_y as i32 + 18,
            colour,
        );
        c.text(l as f32 + 440.0, legend_y as f32, 14.0, INK, &label);
        legend_y += 22.0;
    }
    if all.is_empty() {
        c.text(
            l as f32 + 20.0,
            f64::from(AREA[1]) as f32 + 20.0,
            16.0,
            INK,
            "no geolocated matches",
        );
    }
    c
}

fn recall_by_height<'a>(report: &Report, font: &'a Assets) -> Chart<'a> {
    let mut c = Chart::new(font, "Recall by truth box height (pixels)");
    c.y_axis_fraction("recall");
    let bins = super::HEIGHT_BINS_PX.len();
    let slot = f64::from(AREA[2] - AREA[0]) / bins as f64;
    for k in 0..bins {
        let lo = super::HEIGHT_BINS_PX[k];
        let label = match super::HEIGHT_BINS_PX.get(k + 1) {
            Some(hi) => format!("{lo}-{hi}"),
            None => format!("{lo}+"),
        };
        c.text(
            (f64::from(AREA[0]) + slot * k as f64 + 8.0) as f32,
            (AREA[3] + 10) as f32,
            14.0,
            INK,
            &label,
        );
    }
    let n = report.classes.len().max(1);
    for (ci, (name, cr)) in report.classes.iter().enumerate() {
        let colour = PALETTE[ci % PALETTE.len()];
        let bw = slot * 0.8 / n as f64;
        for (k, bin) in cr.recall_by_height.iter().enumerate() {
            let x = f64::from(AREA[0]) + slot * k as f64 + slot * 0.1 + bw * ci as f64;
            if let Some(v) = bin.recall {
                let y = c.y_of(v, 1.0);
                c.rect(x as i32, y as i32, (x + bw - 2.0) as i32, AREA[3], colour);
                c.text(x as f32, y as f32 - 16.0, 11.0, INK, &format!("{}", bin.truth));
            }
        }
        c.rect(
            AREA[0] + 120 * ci as i32,
            AREA[3] + 44,
            AREA[0] + 120 * ci as i32 + 14,
            AREA[3] + 58,
            colour,
        );
        c.text(
            (AREA[0] + 120 * ci as i32 + 18) as f32,
            (AREA[3] + 42) as f32,
            14.0,
            INK,
            name,
        );
    }
    c.text(
        (AREA[0] + 120 * n as i32 + 20) as f32,
        (AREA[3] + 42) as f32,
        13.0,
        INK,
        "(numbers: truth boxes in the bin)",
    );
    c
}

/// Write `precision_recall.png`, `geolocation_error.png` and
/// `recall_by_height.png` into `dir` (created if missing); returns the paths.
pub fn write_plots(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    std::fs::create_dir_all(dir).map_err(|e| PlotError::Write {
        path: dir.to_owned(),
        message: e.to_string(),
    })?;
    let font = Assets::new(Path::new(PLATE_FONT_PATH), FaceSet::default())?;
    let charts = [
        ("precision_recall.png", precision_recall(report, &font)),
        ("geolocation_error.png", geolocation_cdf(report, &font)),
        ("recall_by_height.png", recall_by_height(report, &font)),
    ];
    let mut out = Vec::new();
    for (name, chart) in charts {
        let path = dir.join(name);
        chart.save(&path)?;
        out.push(path);
    }
    Ok(out)
}
