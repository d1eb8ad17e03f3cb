//! Multi-object tracker for one object class: constant-velocity Kalman filters in image space,
//! two-stage association by score (the ByteTrack idea: confident detections first against all
//! tracks, then weak detections against the tracks still unmatched, so an occluded or blurred
//! object keeps its id instead of spawning a new one), preceded by a stage on identity keys (a
//! plate's read text: fast plates at a few frames/s never overlap between reads), stable
//! never-reused ids, birth after `min_hits` hits without a gap of `max_age` and death after
//! `max_age` without one. Each track also filters its georeferenced ground position and
//! velocity, with a 1-sigma accuracy.

use glam::DVec3;
use utkik_shared::geo::{GeoPoint, LocalFrame};

use super::geometry::BoxPx;
use super::kalman::Cv1;

/// A detection handed to the tracker.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Box in pixels.
    pub bbox: BoxPx,
    /// Detector score 0..1.
    pub score: f64,
    /// Identity hint: a plate's read text. A detection whose key equals a live track's last key
    /// is that track wherever it moved: a car crossing a zoomed view at 3-10 processed frames/s
    /// moves several box heights between reads, so its boxes never overlap.
    pub key: Option<String>,
}

/// Where a pixel lands on the ground, with a 1-sigma horizontal error in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroundFix {
    /// The point.
    pub point: GeoPoint,
    /// Horizontal accuracy (1 sigma), metres.
    pub accuracy_m: f64,
}

/// Tracker settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackerConfig {
    /// Detections at or above this score take part in the first association stage.
    pub high_score: f64,
    /// Detections below this are ignored entirely.
    pub low_score: f64,
    /// An unmatched detection at or above this score starts a track.
    pub new_track_score: f64,
    /// Minimum IoU for a first-stage match.
    pub match_iou: f64,
    /// Minimum IoU for a second-stage (low score) match.
    pub low_match_iou: f64,
    /// Consecutive hits before a track is reported.
    pub min_hits: u32,
    /// A track without a hit for this long (µs) ends.
    pub max_age_usec: u64,
    /// Acceleration noise of box centre and size, in box heights per s².
    pub image_accel_sigma: f64,
    /// Acceleration noise on the ground, m/s².
    pub ground_accel_sigma: f64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            high_score: 0.8,
            low_score: 0.3,
            new_track_score: 0.85,
            match_iou: 0.2,
            low_match_iou: 0.4,
            min_hits: 2,
            max_age_usec: 1_000_000,
            image_accel_sigma: 2.0,
            ground_accel_sigma: 1.5,
        }
    }
}

/// What a track looked like after one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackReport {
    /// Track id (per class, from 1, never reused).
    pub id: u32,
    /// Box in pixels (measured if `predicted` is false, else the Kalman prediction).
    pub bbox: BoxPx,
    /// Score of the last associated detection.
    pub score: f64,
    /// Detections associated so far.
    pub hits: u32,
    /// First report of this id.
    pub new: bool,
    /// Last report: the track ended.
    pub lost: bool,
    /// No detection this frame.
    pub predicted: bool,
    /// Filtered ground position, velocity (north, east m/s) and accuracy, if geolocated.
    pub ground: Option<GroundTrack>,
    /// Index of the detection associated this frame (into the slice given to `update`).
    pub detection: Option<usize>,
}

/// Filtered ground state of a track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroundTrack {
    /// Position.
    pub point: GeoPoint,
    /// Velocity north, m/s.
    pub vn_m_s: f64,
    /// Velocity east, m/s.
    pub ve_m_s: f64,
    /// Horizontal accuracy (1 sigma DRMS), metres.
    pub accuracy_m: f64,
}

#[derive(Debug, Clone)]
struct Track {
    id: u32,
    axes: [Cv1; 4], // cx, cy, w, h
    score: f64,
    hits: u32,
    confirmed: bool,
    key: Option<String>,
    reported: bool,
    last_hit_usec: u64,
    ground: Option<([Cv1; 2], f64)>, // north, east in the tracker's local frame; ground alt
}

impl Track {
    fn bbox(&self) -> BoxPx {
        BoxPx::from_center(
            self.axes[0].x,
            self.axes[1].x,
            self.axes[2].x.max(1.0),
            self.axes[3].x.max(1.0),
        )
    }
}

/// Tracker of one class.
#[derive(Debug)]
pub struct Tracker {
    config: TrackerConfig,
    tracks: Vec<Track>,
    next_id: u32,
    last_time_usec: Option<u64>,
    frame: Option<LocalFrame>,
}

impl Tracker {
    /// An empty tracker.
    pub fn new(config: TrackerConfig) -> Self {
        Self {
            config,
            tracks: Vec::new(),
            next_id: 1,
            last_time_usec: None,
            frame: None,
        }
    }

    /// Live tracks, confirmed or not.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// Whether there are no live tracks.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Confirmed live tracks.
    pub fn confirmed(&self) -> usize {
        self.tracks.iter().filter(|t| t.confirmed).count()
    }

    /// Boxes of every live track (tentative too), for masking.
    pub fn boxes(&self) -> Vec<BoxPx> {
        self.tracks.iter().map(Track::bbox).collect()
    }

    /// Boxes of every live track moved on to `time_usec` at their filtered velocity, without
    /// changing any track: where to mask an object on a frame its detector skips (plates are
    /// read on every n-th frame only).
    pub fn boxes_at(&self, time_usec: u64) -> Vec<BoxPx> {
        let dt = self
            .last_time_usec
            .map_or(0.0, |t| time_usec.saturating_sub(t) as f64 * 1e-6);
        self.tracks
            .iter()
            .map(|t| {
                let [cx, cy, w, h] = t.axes.map(|a| a.x + a.v * dt);
                BoxPx::from_center(cx, cy, w.max(1.0), h.max(1.0))
            })
            .collect()
    }

    /// Advances to a frame at `time_usec` with its detections; `locate` gives the ground fix of a
    /// pixel (`None`: pose stale or above the horizon). Returns the reports of confirmed tracks.
    pub fn update(
        &mut self,
        time_usec: u64,
        detections: &[Detection],
        locate: &dyn Fn([f64; 2]) -> Option<GroundFix>,
    ) -> Vec<TrackReport> {
        let c = self.config;
        let dt = self
            .last_time_usec
            .map_or(0.0, |t| time_usec.saturating_sub(t) as f64 * 1e-6);
        self.last_time_usec = Some(time_usec);
        for t in &mut self.tracks {
            let h = t.axes[3].x.max(1.0);
            for a in &mut t.axes {
                a.predict(dt, c.image_accel_sigma * h);
            }
            if let Some((g, _)) = &mut t.ground {
                for a in g.iter_mut() {
                    a.predict(dt, c.ground_accel_sigma);
                }
            }
        }

        let high: Vec<usize> = (0..detections.len())
            .filter(|&i| detections[i].score >= c.high_score)
            .collect();
        let low: Vec<usize> = (0..detections.len())
            .filter(|&i| (c.low_score..c.high_score).contains(&detections[i].score))
            .collect();
        // Stage 0: identity keys (plate text) match regardless of overlap.
        let mut m0 = Vec::new();
        let mut keyed_dets = std::collections::HashSet::new();
        for (d, det) in detections.iter().enumerate() {
            let Some(k) = &det.key else { continue };
            if det.score < c.low_score {
                continue;
            }
            if let Some(t) = (0..self.tracks.len())
                .filter(|t| !m0.iter().any(|(mt, _)| mt == t))
                .find(|&t| self.tracks[t].key.as_ref() == Some(k))
            {
                m0.push((t, d));
                keyed_dets.insert(d);
            }
        }
        let all_tracks: Vec<usize> = (0..self.tracks.len())
            .filter(|t| !m0.iter().any(|(mt, _)| mt == t))
            .collect();
        let high: Vec<usize> = high.into_iter().filter(|d| !keyed_dets.contains(d)).collect();
        let low: Vec<usize> = low.into_iter().filter(|d| !keyed_dets.contains(d)).collect();
        let (m1, unmatched_tracks, unmatched_high) = self.associate(&all_tracks, &high, detections, c.match_iou);
        // Second stage: only tracks that already exist for real get weak detections.
        let confirmed_left: Vec<usize> = unmatched_tracks
            .iter()
            .copied()
            .filter(|&t| self.tracks[t].confirmed)
            .collect();
        let (m2, _, _) = self.associate(&confirmed_left, &low, detections, c.low_match_iou);

        let mut matched_det: Vec<Option<usize>> = vec![None; self.tracks.len()];
        for (t, d) in m0.into_iter().chain(m1).chain(m2) {
            matched_det[t] = Some(d);
        }
        for (ti, d) in matched_det.iter().enumerate() {
            let t = &mut self.tracks[ti];
            match d {
                Some(d) => {
                    let det = &detections[*d];
                    let [cx, cy] = det.bbox.center();
                    let h = det.bbox.height().max(1.0);
                    let r = (h / 20.0).powi(2);
                    for (a, z) in t.axes.iter_mut().zip([cx, cy, det.bbox.width(), det.bbox.height()]) {
                        a.update(z, r);
                    }
                    t.score = det.score;
                    t.hits += 1;
                    t.last_hit_usec = time_usec;
                    if det.key.is_some() {
                        t.key.clone_from(&det.key);
                    }
                    // Confirmed after `min_hits` hits with no gap longer than `max_age_usec`
                    // (a longer gap ends the track): detectors miss small objects every other
                    // frame, so consecutive hits would keep a real plate unconfirmed forever.
                    if t.hits >= c.min_hits {
                        t.confirmed = true;
                    }
                }
                None => {}
            }
        }
        // Births.
        for &d in &unmatched_high {
            if detections[d].score < c.new_track_score {
                continue;
            }
            let b = detections[d].bbox;
            let [cx, cy] = b.center();
            let h = b.height().max(1.0);
            let vel_var = (h * 2.0).powi(2);
            let pos_var = (h / 10.0).powi(2);
            let axes = [cx, cy, b.width(), b.height()].map(|z| Cv1::new(z, pos_var, vel_var));
            let confirmed = c.min_hits <= 1;
            self.tracks.push(Track {
                id: self.next_id,
                axes,
                score: detections[d].score,
                hits: 1,
                confirmed,
                key: detections[d].key.clone(),
                reported: false,
                last_hit_usec: time_usec,
                ground: None,
            });
            self.next_id += 1;
            matched_det.push(Some(d));
        }

        // Ground filter: measure the box centre of tracks with a detection this frame.
        for (ti, d) in matched_det.iter().enumerate() {
            let Some(d) = d else { continue };
            let Some(fix) = locate(detections[*d].bbox.center()) else {
                continue;
            };
            if !fix.accuracy_m.is_finite() {
                continue;
            }
            let frame = *self.frame.get_or_insert_with(|| LocalFrame::new(fix.point));
            let ned = frame.to_ned(&fix.point);
            let r = fix.accuracy_m.powi(2) / 2.0; // DRMS^2 split over two axes
            let t = &mut self.tracks[ti];
            match &mut t.ground {
                Some((g, alt)) => {
                    g[0].update(ned.x, r);
                    g[1].update(ned.y, r);
                    *alt = fix.point.alt_m_amsl;
                }
                None => {
                    t.ground = Some(([Cv1::new(ned.x, r, 4.0), Cv1::new(ned.y, r, 4.0)], fix.point.alt_m_amsl));
                }
            }
        }

        // Reports and deaths.
        let mut reports = Vec::new();
        let frame = self.frame;
        let mut keep = Vec::with_capacity(self.tracks.len());
        for (ti, mut t) in std::mem::take(&mut self.tracks).into_iter().enumerate() {
            let det = matched_det[ti];
            let dead = time_usec.saturating_sub(t.last_hit_usec) > c.max_age_usec;
            // A tentative track must hit every frame until it is born, unless it carries an
            // identity key (a read plate): that one waits up to `max_age` for its next read.
            let tentative_miss = !t.confirmed && det.is_none() && t.key.is_none();
            if tentative_miss || (!t.confirmed && dead) {
                continue;
            }
            if t.confirmed {
                let ground = match (&t.ground, frame) {
                    (Some((g, alt)), Some(f)) => {
                        let mut p = f.from_ned(DVec3::new(g[0].x, g[1].x, 0.0));
                        p.alt_m_amsl = *alt;
                        Some(GroundTrack {
                            point: p,
                            vn_m_s: g[0].v,
                            ve_m_s: g[1].v,
                            accuracy_m: (g[0].pos_var() + g[1].pos_var()).sqrt(),
                        })
                    }
                    _ => None,
                };
                reports.push(TrackReport {
                    id: t.id,
                    bbox: t.bbox(),
                    score: t.score,
                    hits: t.hits,
                    new: !t.reported,
                    lost: dead,
                    predicted: det.is_none(),
                    ground,
                    detection: det,
                });
                t.reported = true;
            }
            if !dead {
                keep.push(t);
            }
        }
        self.tracks = keep;
        reports
    }

    /// Greedy matching by IoU (highest first) above `min_iou`; returns matches (track, detection),
    /// unmatched tracks and unmatched detections.
    fn associate(
        &self,
        tracks: &[usize],
        dets: &[usize],
        detections: &[Detection],
        min_iou: f64,
    ) -> (Vec<(usize, usize)>, Vec<usize>, Vec<usize>) {
        let mut pairs = Vec::new();
        for &t in tracks {
            let tb = self.tracks[t].bbox();
            for &d in dets {
                let iou = tb.iou(&detections[d].bbox);
                if iou >= min_iou {
                    pairs.push((iou, t, d));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut used_t = std::collections::HashSet::new();
        let mut used_d = std::collections::HashSet::new();
        let mut matches = Vec::new();
        for (_, t, d) in pairs {
            if used_t.contains(&t) || used_d.contains(&d) {
                continue;
            }
            used_t.insert(t);
            used_d.insert(d);
            matches.push((t, d));
        }
        let ut = tracks.iter().copied().filter(|t| !used_t.contains(t)).collect();
        let ud = dets.iter().copied().filter(|d| !used_d.contains(d)).collect();
        (matches, ut, ud)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DT: u64 = 100_000; // 10 frames/s

    fn det(cx: f64, cy: f64, score: f64) -> Detection {
        Detection {
            bbox: BoxPx::from_center(cx, cy, 40.0, 40.0),
            score,
            key: None,
        }
    }

    #[test]
    fn a_fast_plate_read_twice_is_one_confirmed_track_by_its_text() {
        let mut t = Tracker::new(TrackerConfig::default());
        let plate = |cx: f64, text: &str| Detection {
            bbox: BoxPx::from_center(cx, 300.0, 90.0, 28.0),
            score: 0.9,
            key: Some(text.into()),
        };
        // 300 px between reads (a car crossing a zoomed view at 3 frames/s): no overlap.
        assert!(t.update(0, &[plate(200.0, "ABC123")], &no_geo).is_empty());
        // A frame where the reader missed it does not reset the count.
        assert!(t.update(333_333, &[], &no_geo).is_empty());
        let r = t.update(666_666, &[plate(500.0, "ABC123"), plate(900.0, "XYZ12A")], &no_geo);
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].id, 1, "the same track, confirmed by its second read");
        // Another text is another track; without a key the same jump is a new track.
        let r = t.update(1_000_000, &[plate(800.0, "ABC123"), plate(1200.0, "XYZ12A")], &no_geo);
        assert_eq!(r.iter().map(|r| r.id).collect::<Vec<_>>(), vec![1, 2]);
        let mut u = Tracker::new(TrackerConfig::default());
        let unkeyed = |cx: f64| Detection {
            key: None,
            ..plate(cx, "")
        };
        u.update(0, &[unkeyed(200.0)], &no_geo);
        u.update(333_333, &[unkeyed(500.0)], &no_geo);
        let r = u.update(666_666, &[unkeyed(500.0)], &no_geo);
        assert!(r.iter().all(|r| r.id == 2), "{r:?}");
    }

    fn no_geo(_: [f64; 2]) -> Option<GroundFix> {
        None
    }

    fn ids(r: &[TrackReport]) -> Vec<u32> {
        let mut v: Vec<u32> = r.iter().filter(|t| !t.lost).map(|t| t.id).collect();
        v.sort();
        v
    }

    #[test]
    fn birth_needs_min_hits_and_ids_are_stable() {
        let mut tr = Tracker::new(TrackerConfig::default());
        assert!(
            tr.update(0, &[det(100.0, 100.0, 0.95)], &no_geo).is_empty(),
            "tentative"
        );
        let r = tr.update(DT, &[det(104.0, 100.0, 0.95)], &no_geo);
        assert_eq!(r.len(), 1);
        assert!(r[0].new && r[0].id == 1);
        for i in 2..30 {
            let r = tr.update(i * DT, &[det(100.0 + 4.0 * i as f64, 100.0, 0.95)], &no_geo);
            assert_eq!(ids(&r), vec![1]);
            assert!(!r[0].new);
        }
    }

    #[test]
    fn boxes_at_moves_tracks_on_without_touching_them() {
        let mut tr = Tracker::new(TrackerConfig::default());
        // 8 px per 0.1 s to the right: 80 px/s.
        for i in 0..12u64 {
            tr.update(i * DT, &[det(100.0 + 8.0 * i as f64, 100.0, 0.95)], &no_geo);
        }
        assert_eq!(tr.len(), 1);
        let now = tr.boxes()[0].center();
        assert!((now[0] - 188.0).abs() < 2.0, "{now:?}");
        // Two frames later (a plate reader's skipped frames) the box is ~16 px further on.
        let later = tr.boxes_at(13 * DT)[0].center();
        assert!((later[0] - now[0] - 16.0).abs() < 3.0, "{now:?} -> {later:?}");
        assert!((later[1] - 100.0).abs() < 1.0);
        assert_eq!(tr.boxes()[0].center(), now, "the track itself did not move");
        assert_eq!(tr.boxes_at(11 * DT), tr.boxes(), "no time passed, no motion");
    }

    #[test]
    fn crossing_tracks_keep_their_ids() {
        let mut tr = Tracker::new(TrackerConfig::default());
        let mut seen = Vec::new();
        // Two faces crossing horizontally at 150 px/s, passing each other at frame 20.
        for i in 0..40u64 {
            let x = 100.0 + 15.0 * i as f64;
            let a = det(x, 200.0, 0.95);
            let b = det(700.0 - 15.0 * i as f64, 215.0, 0.9);
            let r = tr.update(i * DT, &[a, b], &no_geo);
            if i >= 1 {
                let mut by_x: Vec<(u32, f64)> = r.iter().map(|t| (t.id, t.bbox.center()[1])).collect();
                by_x.sort_by(|p, q| p.1.total_cmp(&q.1));
                seen.push(by_x.iter().map(|p| p.0).collect::<Vec<_>>());
            }
        }
        // The upper one (y=200) is always id 1, the lower one (y=215, boxes overlapping by 60 % of their height) id 2: no swap at the crossing.
        assert!(seen.iter().all(|s| s == &vec![1, 2]), "{seen:?}");
        assert_eq!(tr.next_id, 3, "no extra tracks");
    }

    #[test]
    fn occlusion_with_low_score_detections_keeps_the_id_and_long_gap_ends_it() {
        let c = TrackerConfig::default();
        let mut tr = Tracker::new(c);
        for i in 0..10u64 {
            tr.update(i * DT, &[det(100.0 + 5.0 * i as f64, 100.0, 0.95)], &no_geo);
        }
        // Partly occluded: weak detections (0.5) are associated in the second stage.
        for i in 10..15u64 {
            let r = tr.update(i * DT, &[det(100.0 + 5.0 * i as f64, 100.0, 0.5)], &no_geo);
            assert_eq!(ids(&r), vec![1], "frame {i}");
            assert!(!r[0].predicted);
        }
        // Fully hidden for 0.5 s: predicted, same id; then seen again where it should be.
        for i in 15..20u64 {
            let r = tr.update(i * DT, &[], &no_geo);
            assert!(r[0].predicted && r[0].id == 1);
        }
        let r = tr.update(20 * DT, &[det(200.0, 100.0, 0.95)], &no_geo);
        assert_eq!(ids(&r), vec![1]);
        // A weak detection alone never starts a track.
        let mut fresh = Tracker::new(c);
        for i in 0..5u64 {
            assert!(fresh.update(i * DT, &[det(50.0, 50.0, 0.6)], &no_geo).is_empty());
        }
        // Gone for longer than max age: reported lost once, then forgotten.
        let mut lost = 0;
        for i in 21..40u64 {
            lost += tr.update(i * DT, &[], &no_geo).iter().filter(|t| t.lost).count();
        }
        assert_eq!(lost, 1);
        assert!(tr.is_empty());
        // A new object later gets a new id, never 1 again.
        tr.update(40 * DT, &[det(300.0, 300.0, 0.95)], &no_geo);
        let r = tr.update(41 * DT, &[det(300.0, 300.0, 0.95)], &no_geo);
        assert_eq!(ids(&r), vec![2]);
    }

    #[test]
    fn ground_position_and_velocity_are_filtered() {
        let origin = GeoPoint {
            lat_deg: 59.0,
            lon_deg: 18.0,
            alt_m_amsl: 10.0,
        };
        let frame = LocalFrame::new(origin);
        let mut tr = Tracker::new(TrackerConfig::default());
        let mut last = None;
        // Walking north at 1.5 m/s; 0.1 m per pixel; the fixes carry 0.5 m noise (alternating).
        for i in 0..50u64 {
            let t_s = i as f64 * 0.1;
            let locate = move |px: [f64; 2]| {
                let noise = if i % 2 == 0 { 0.5 } else { -0.5 };
                let n = (1000.0 - px[1]) * 0.1 + noise;
                Some(GroundFix {
                    point: frame.from_ned(DVec3::new(n, px[0] * 0.1, 0.0)),
                    accuracy_m: 1.0,
                })
            };
            let y = 1000.0 - 15.0 * t_s; // 1.5 m/s = 15 px/s northwards (up the image)
            last = tr.update(i * DT, &[det(500.0, y, 0.95)], &locate).pop();
        }
        let g = last.unwrap().ground.unwrap();
        assert!((g.vn_m_s - 1.5).abs() < 0.3, "vn {}", g.vn_m_s);
        assert!(g.ve_m_s.abs() < 0.3, "ve {}", g.ve_m_s);
        let truth = frame.from_ned(DVec3::new(1.5 * 4.9, 50.0, 0.0));
        let err = utkik_shared::geo::distance_m(&g.point, &truth);
        assert!(err < 0.6, "error {err} m");
        assert!(g.accuracy_m < 1.0 && g.accuracy_m > 0.0);
    }
}
