//! Inline SVG drawings for the mission report: the map snapshot in a local east/north metre
//! frame, the event timeline, and per-second series plots.

use std::fmt::Write as _;

use super::MissionData;
use crate::map::geojson::{Overlay, OverlayKind};
use crate::map::tiles::{TileSource, covering, zoom_for};
use crate::replay::{EventKind, ReplayEvent};
use crate::state::TrackClass;

const M_PER_DEG_LAT: f64 = 111_320.0;

/// Local metric frame around a reference point (equirectangular; fine over a few km).
struct Frame {
    lat0: f64,
    lon0: f64,
    cos0: f64,
}

impl Frame {
    fn en(&self, lat: f64, lon: f64) -> (f64, f64) {
        (
            (lon - self.lon0) * M_PER_DEG_LAT * self.cos0,
            (lat - self.lat0) * M_PER_DEG_LAT,
        )
    }
}

fn class_colour(c: TrackClass) -> &'static str {
    match c {
        TrackClass::Vehicle => "#1f77b4",
        TrackClass::Plate => "#ff7f0e",
        TrackClass::Person => "#2ca02c",
        TrackClass::Face => "#e377c2",
        _ => "#7f7f7f",
    }
}

fn overlay_style(k: OverlayKind) -> (&'static str, &'static str, f64) {
    match k {
        OverlayKind::Road => ("none", "#bbbbbb", 6.0),
        OverlayKind::Building => ("#d9d0c9", "#b8aca2", 1.0),
        OverlayKind::Geofence => ("none", "#d62728", 2.0),
        OverlayKind::AuthorizedArea => ("rgba(60,160,255,0.12)", "#3ca0ff", 2.0),
        OverlayKind::Water => ("#a8cce8", "#7fb0d8", 1.0),
        OverlayKind::Green => ("#cfe8c0", "#b5d8a0", 1.0),
        _ => ("none", "#999999", 1.0),
    }
}

/// Most raster tiles embedded in one map (a few hundred KiB of orthophoto, not megabytes).
const MAX_REPORT_TILES: usize = 48;

/// The map: raster tiles if given, overlays (clipped to the area flown), tracks, flight path,
/// start/end marks, scale bar. Also returns the tiles that could not be embedded (with why).
pub fn map(
    data: &MissionData,
    overlays: &[Overlay],
    tiles: Option<&TileSource>,
    w: f64,
    h: f64,
) -> (String, Vec<String>) {
    let mut pts: Vec<(f64, f64)> = data.flight_path.values().flatten().copied().collect();
    pts.extend(data.track_points.values().flat_map(|(_, p)| p.iter().copied()));
    if pts.is_empty() {
        return (
            format!(
                "<svg width=\"{w}\" height=\"60\"><text x=\"10\" y=\"35\">No positions in the recording.</text></svg>"
            ),
            Vec::new(),
        );
    }
    let lat0 = pts.iter().map(|p| p.0).sum::<f64>() / pts.len() as f64;
    let lon0 = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
    let f = Frame {
        lat0,
        lon0,
        cos0: lat0.to_radians().cos(),
    };
    let en: Vec<(f64, f64)> = pts.iter().map(|&(la, lo)| f.en(la, lo)).collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in &en {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let margin = 0.08 * (x1 - x0).max(y1 - y0).max(50.0);
    let (x0, x1, y0, y1) = (x0 - margin, x1 + margin, y0 - margin, y1 + margin);
    let scale = ((w - 20.0) / (x1 - x0)).min((h - 20.0) / (y1 - y0));
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let px = |e: f64, n: f64| (w / 2.0 + (e - cx) * scale, h / 2.0 - (n - cy) * scale);
    let poly = |ll: &mut dyn Iterator<Item = (f64, f64)>| -> String {
        let mut s = String::new();
        for (la, lo) in ll {
            let (e, n) = f.en(la, lo);
            let (x, y) = px(e, n);
            let _ = write!(s, "{x:.1},{y:.1} ");
        }
        s
    };
    let mut s =
        format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">");
    let _ = write!(s, "<rect width=\"{w}\" height=\"{h}\" fill=\"#f4f1ea\"/>");
    let mut skipped = Vec::new();
    let mut embedded = 0usize;
    if let Some(src) = tiles {
        // The view's corners back to degrees (the inverse of `Frame::en`).
        let ll = |e: f64, n: f64| (f.lon0 + e / (M_PER_DEG_LAT * f.cos0), f.lat0 + n / M_PER_DEG_LAT);
        let (hw, hh) = (w / 2.0 / scale, h / 2.0 / scale);
        let (west, south) = ll(cx - hw, cy - hh);
        let (east, north) = ll(cx + hw, cy + hh);
        let (zmin, zmax) = src.zooms();
        // Twice the screen resolution: the report is for reading and printing.
        let mut z = zoom_for(0.5 / scale, lat0, zmin, zmax);
        let ids = loop {
            if let Some(ids) = covering([west, south, east, north], z, MAX_REPORT_TILES) {
                break ids;
            }
            if z <= zmin {
                break Vec::new();
            }
            z -= 1;
        };
        for id in ids {
            let bytes = match src.read(id) {
                Ok(Some(b)) => b,
                Ok(None) => continue,
                Err(e) => {
                    skipped.push(e.to_string());
                    continue;
                }
            };
            let mime = if bytes.starts_with(b"\x89PNG") {
                "image/png"
            } else if bytes.starts_with(b"\xff\xd8") {
                "image/jpeg"
            } else {
                skipped.push(format!("map tile {id}: neither PNG nor JPEG"));
                continue;
            };
            let [tw, ts, te, tn] = id.bounds_deg();
            let (x0, y0) = {
                let (e, n) = f.en(tn, tw);
                px(e, n)
            };
            let (x1, y1) = {
                let (e, n) = f.en(ts, te);
                px(e, n)
            };
            // Half a pixel of overlap so anti-aliased edges leave no seams between tiles.
            let _ = write!(
                s,
                "<image href=\"data:{mime};base64,{}\" x=\"{x0:.2}\" y=\"{y0:.2}\" width=\"{:.2}\" height=\"{:.2}\" preserveAspectRatio=\"none\"><title>tile {id}</title></image>",
                super::base64(&bytes),
                x1 - x0 + 0.5,
                y1 - y0 + 0.5
            );
            embedded += 1;
        }
    }
    for o in overlays {
        let (fill, stroke, sw) = overlay_style(o.kind);
        // Over an orthophoto the features are outlines, so the picture shows through.
        let (fill, sw) = if embedded > 0 {
            ("none", sw.min(1.0))
        } else {
            (fill, sw)
        };
        let p = poly(&mut o.points.iter().map(|&(lo, la)| (la, lo)));
        let tag = if o.closed { "polygon" } else { "polyline" };
        let fill = if o.closed { fill } else { "none" };
        let _ = write!(
            s,
            "<{tag} points=\"{p}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{sw}\" stroke-linejoin=\"round\"/>"
        );
    }
    for ((_, id), (class, p)) in &data.track_points {
        let c = class_colour(*class);
        let step = (p.len() / 400).max(1);
        let line = poly(&mut p.iter().step_by(step).copied());
        let _ = write!(
            s,
            "<polyline points=\"{line}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\" opacity=\"0.7\"><title>track {id} ({})</title></polyline>",
            class.name()
        );
        if let Some(&(la, lo)) = p.last() {
            let (x, y) = {
                let (e, n) = f.en(la, lo);
                px(e, n)
            };
            let _ = write!(s, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{c}\"/>");
        }
    }
    for (sys, path) in &data.flight_path {
        let line = poly(&mut path.iter().copied());
        let _ = write!(
            s,
            "<polyline points=\"{line}\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2.5\"><title>vehicle {sys} flight path</title></polyline>"
        );
        let ends: Vec<(f64, f64)> = [path.first(), path.last()]
            .into_iter()
            .flatten()
            .map(|&(la, lo)| {
                let (e, n) = f.en(la, lo);
                px(e, n)
            })
            .collect();
        // A hovering mission starts and ends on the same spot: one mark and one label, not two
        // labels printed over each other.
        let together = ends.len() == 2 && (ends[0].0 - ends[1].0).hypot(ends[0].1 - ends[1].1) < 14.0;
        for (i, &(x, y)) in ends.iter().enumerate() {
            let (label, col) = match (i, together) {
                (0, true) => continue,
                (0, false) => ("start", "#2ca02c"),
                (_, true) => ("start and end", "#000"),
                (_, false) => ("end", "#000"),
            };
            // Labels near the right edge go left of the mark so they are not cut off.
            let (tx, anchor) = if x > w * 0.7 {
                (x - 8.0, "end")
            } else {
                (x + 8.0, "start")
            };
            let _ = write!(
                s,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"6\" fill=\"{col}\" stroke=\"#fff\" stroke-width=\"2\"/><text x=\"{tx:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"{anchor}\">{label} (vehicle {sys})</text>",
                y - 8.0
            );
        }
    }
    // Scale bar: a round length near a fifth of the width.
    let target = (w / 5.0) / scale;
    let mag = 10f64.powf(target.log10().floor());
    let len_m = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|k| k * mag)
        .filter(|&l| l <= target)
        .last()
        .unwrap_or(mag);
    let bar = len_m * scale;
    let _ = write!(
        s,
        "<rect x=\"16\" y=\"{:.0}\" width=\"{bar:.1}\" height=\"6\" fill=\"#000\"/><text x=\"16\" y=\"{:.0}\" font-size=\"12\">{len_m} m</text>",
        h - 24.0,
        h - 30.0
    );
    let _ = write!(
        s,
        "<text x=\"{:.0}\" y=\"24\" font-size=\"14\" font-weight=\"bold\">N &#8593;</text>",
        w - 40.0
    );
    let mut lx = 16.0;
    for (name, c) in [
        ("flight path", "#d62728"),
        ("vehicle", "#1f77b4"),
        ("person", "#2ca02c"),
        ("plate", "#ff7f0e"),
        ("face", "#e377c2"),
    ] {
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"10\" width=\"12\" height=\"12\" fill=\"{c}\"/><text x=\"{}\" y=\"21\" font-size=\"12\">{name}</text>",
            lx + 16.0
        );
        lx += 110.0;
    }
    s.push_str("</svg>");
    (s, skipped)
}

fn lane(kind: &EventKind) -> (usize, &'static str, &'static str) {
    match kind {
        EventKind::PlateHit { .. } => (0, "plate hits", "#e0a800"),
        EventKind::PossibleMatch { .. } => (1, "possible matches", "#c020b0"),
        EventKind::OperatorVerdict { .. } => (2, "operator verdicts", "#28a050"),
        EventKind::AuthzChange { .. } => (3, "authorization", "#3c78d8"),
        EventKind::LinkLoss { .. } => (4, "link losses", "#888888"),
        EventKind::DataDamage { .. } => (5, "damaged data", "#d62728"),
    }
}

/// Event timeline: one lane per category, link losses as bars over their duration.
pub fn timeline(events: &[ReplayEvent], start: u64, end: u64, w: f64) -> String {
    let lanes = [
        "plate hits",
        "possible matches",
        "operator verdicts",
        "authorization",
        "link losses",
        "damaged data",
    ];
    let (left, lh) = (130.0, 22.0);
    let h = lh * lanes.len() as f64 + 30.0;
    let span = (end - start).max(1) as f64;
    let x = |t: u64| left + (w - left - 10.0) * (t.saturating_sub(start) as f64 / span);
    let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\">");
    for (i, name) in lanes.iter().enumerate() {
        let y = i as f64 * lh + 4.0;
        let _ = write!(
            s,
            "<rect x=\"{left}\" y=\"{y}\" width=\"{:.0}\" height=\"{:.0}\" fill=\"{}\"/><text x=\"6\" y=\"{:.0}\" font-size=\"12\">{name}</text>",
            w - left - 10.0,
            lh - 4.0,
            if i % 2 == 0 { "#eee" } else { "#f6f6f6" },
            y + 13.0
        );
    }
    for e in events {
        let (i, _, c) = lane(&e.kind);
        let y = i as f64 * lh + 4.0;
        let x0 = x(e.time_usec);
        let wd = match e.kind {
            EventKind::LinkLoss { duration_s } => (x(e.time_usec + (duration_s * 1e6) as u64) - x0).max(2.0),
            _ => 2.0,
        };
        let _ = write!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{y}\" width=\"{wd:.1}\" height=\"{:.0}\" fill=\"{c}\"><title>{}</title></rect>",
            lh - 4.0,
            super::esc(&e.kind.label())
        );
    }
    axis(&mut s, left, w - 10.0, h - 22.0, (end - start) as f64 / 1e6);
    s.push_str("</svg>");
    s
}

fn axis(s: &mut String, x0: f64, x1: f64, y: f64, dur_s: f64) {
    let _ = write!(
        s,
        "<line x1=\"{x0}\" y1=\"{y}\" x2=\"{x1}\" y2=\"{y}\" stroke=\"#444\"/>"
    );
    let step = [1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0]
        .into_iter()
        .find(|st| dur_s / st <= 12.0)
        .unwrap_or(7200.0);
    let mut t = 0.0;
    while t <= dur_s {
        let x = x0 + (x1 - x0) * (t / dur_s.max(1e-9));
        let ts = t as u64;
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{y}\" x2=\"{x:.1}\" y2=\"{:.0}\" stroke=\"#444\"/><text x=\"{x:.1}\" y=\"{:.0}\" font-size=\"11\" text-anchor=\"middle\">{:02}:{:02}:{:02}</text>",
            y + 4.0,
            y + 16.0,
            ts / 3600,
            ts / 60 % 60,
            ts % 60
        );
        t += step;
    }
}

/// A multi-series per-second plot; each series scaled to its own maximum (labelled), with link
/// losses shaded when events are given.
pub fn series_plot(
    series: &[(&str, &str, Vec<Option<f64>>)],
    events: &[ReplayEvent],
    start: u64,
    w: f64,
    h: f64,
) -> String {
    let (left, top, bottom) = (10.0, 24.0, 24.0);
    let n = series.iter().map(|s| s.2.len()).max().unwrap_or(0).max(2);
    let x = |i: f64| left + (w - left - 10.0) * (i / (n - 1) as f64);
    let ph = h - top - bottom;
    let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\">");
    for e in events {
        if let EventKind::LinkLoss { duration_s } = e.kind {
            let t0 = e.time_usec.saturating_sub(start) as f64 / 1e6;
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{ph}\" fill=\"rgba(214,39,40,0.15)\"><title>link lost {duration_s:.1} s</title></rect>",
                x(t0),
                (x(t0 + duration_s) - x(t0)).max(2.0)
            );
        }
    }
    let mut lx = left;
    for (name, colour, vals) in series {
        let max = vals.iter().flatten().copied().fold(0.0f64, f64::max);
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"6\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{}\" y=\"15\" font-size=\"12\">{name} (max {max:.1})</text>",
            lx + 14.0
        );
        lx += 220.0;
        if max <= 0.0 {
            // Flat zero line (or no data): still drawn, so "nothing" is visible.
        }
        let scale = if max > 0.0 { ph / max } else { 0.0 };
        let mut d = String::new();
        let mut pen = false;
        for (i, v) in vals.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1} ",
                        if pen { "L" } else { "M" },
                        x(i as f64),
                        top + ph - v * scale
                    );
                    pen = true;
                }
                None => pen = false,
            }
        }
        let _ = write!(
            s,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.2\"/>"
        );
    }
    axis(&mut s, left, w - 10.0, h - bottom, (n - 1) as f64);
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_path(path: Vec<(f64, f64)>) -> MissionData {
        let mut data = MissionData::default();
        data.flight_path.insert(1, path);
        data
    }

    #[test]
    fn a_hover_gets_one_start_and_end_label_a_flight_two() {
        let (hover, _) = map(
            &with_path(vec![(59.39, 17.90), (59.39, 17.900001)]),
            &[],
            None,
            800.0,
            500.0,
        );
        assert_eq!(hover.matches("start and end (vehicle 1)").count(), 1, "{hover}");
        assert!(!hover.contains(">start (vehicle"), "{hover}");

        let (flight, _) = map(
            &with_path(vec![(59.39, 17.90), (59.391, 17.902)]),
            &[],
            None,
            800.0,
            500.0,
        );
        assert_eq!(flight.matches(">start (vehicle 1)").count(), 1, "{flight}");
        assert_eq!(flight.matches(">end (vehicle 1)").count(), 1, "{flight}");
        assert!(!flight.contains("start and end"), "{flight}");
    }

    /// With tiles, the map embeds the ones under the flown area (PNG as data URLs, on their
    /// projected bounds, under the flight path); a corrupt tile is left out and named.
    #[test]
    fn tiles_under_the_flown_area_are_embedded_and_bad_ones_named() {
        use crate::map::tiles::TileId;
        let dir = tempfile::tempdir().unwrap();
        let (lat, lon) = (59.3905, 17.901);
        let mut png = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_pixel(256, 256, image::Rgb([90, 100, 80]))
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        let png = png.into_inner();
        let centre = TileId::containing(lon, lat, 17);
        // The path's north end lies in the tile north of the centre one.
        let bad = TileId {
            y: centre.y - 1,
            ..centre
        };
        for dx in -3i32..=3 {
            for dy in -3i32..=3 {
                let (x, y) = ((centre.x as i32 + dx) as u32, (centre.y as i32 + dy) as u32);
                let d = dir.path().join("17").join(x.to_string());
                std::fs::create_dir_all(&d).unwrap();
                let bytes = if (TileId { z: 17, x, y }) == bad {
                    b"GIF89a not a tile".to_vec()
                } else {
                    png.clone()
                };
                std::fs::write(d.join(format!("{y}.png")), bytes).unwrap();
            }
        }
        let src = TileSource::open(dir.path()).unwrap();
        let data = with_path(vec![(59.39, 17.90), (59.391, 17.902)]);
        let (svg, skipped) = map(&data, &[], Some(&src), 800.0, 500.0);
        let embedded = svg.matches("<image href=\"data:image/png;base64,").count();
        assert!(embedded >= 2, "{embedded}");
        assert!(
            svg.contains(&format!("<title>tile {centre}</title>")),
            "the tile under the path"
        );
        assert!(!svg.contains(&format!("<title>tile {bad}</title>")));
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(skipped[0].contains(&bad.to_string()) && skipped[0].contains("neither PNG nor JPEG"));
        // Under the path: the tiles come before the flight path in drawing order.
        assert!(svg.find("<image").unwrap() < svg.find("flight path</title>").unwrap());
        // The centre tile's image spans its bounds at the map's scale (~156 m of a tile at
        // zoom 17 here, drawn a few hundred pixels wide).
        let (no_tiles, _) = map(&data, &[], None, 800.0, 500.0);
        assert!(!no_tiles.contains("<image"));
    }
}
