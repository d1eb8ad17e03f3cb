//! `utkik-sim evaluate`: scores onboard output against the simulator's
//! ground truth.
//!
//! - **Frames**: each detection frame is paired with the truth frame of the
//!   nearest capture time within a tolerance (the sim stamps frames with the
//!   exact capture time, so this is an equality up to NTP rounding). Only
//!   truth frames the onboard processed are scored: it drops frames by
//!   design (newest frame wins), and a dropped frame is not a miss.
//! - **Precision / recall per class**: per frame, detections are matched to
//!   truth boxes of their class by IoU ([`matching::greedy_match`]). Truth
//!   boxes lower than `min_box_px` are "don't care": a detection on one is
//!   neither a true nor a false positive, and missing one is not a miss.
//! - **Plate reads**: per detection that carries text (JSON lines), and per
//!   voted read (UTKIK_PLATE_READ), whose plate track is assigned to the
//!   truth plate it matched most often. Compared without spaces, upper case.
//! - **Identity switches**: for each truth entity, the number of times the
//!   track id matched to it changes from one scored frame to the next where
//!   it is matched (the CLEAR-MOT IDSW count, without the gap rule).
//! - **Geolocation error**: horizontal geodesic distance between a matched
//!   detection's lat/lon and its truth entity's ground point; median (mean of
//!   the middle two for an even count) and p95 (nearest rank).
//! - **Recall by box height**: truth boxes binned by pixel height (all of
//!   them, "don't care" included), to see from what size the detectors work.

mod detections;
mod matching;
mod plots;

pub use detections::{
    BoxSpec, Detection, DetectionFrame, DetectionLog, DetectionsError, PlateRead, read_detections, read_jsonl,
    read_tlog,
};
pub use matching::{greedy_match, iou};
pub use plots::{PlotError, write_plots};

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};
use utkik_shared::geo::{GeoPoint, distance_m};

use crate::render::{TruthClass, normalize_plate};
use crate::truth::{TruthError, TruthFrame, read_truth};

/// Edges of the box-height bins of [`ClassReport::recall_by_height`], pixels.
pub const HEIGHT_BINS_PX: [u32; 9] = [0, 8, 16, 24, 32, 48, 64, 96, 128];

/// How to score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalOptions {
    /// Classes to score.
    pub classes: Vec<TruthClass>,
    /// Minimum IoU of a match.
    pub iou_threshold: f64,
    /// Truth boxes lower than this many pixels are "don't care".
    pub min_box_px: u32,
    /// Largest capture-time difference between a detection frame and its truth frame, µs.
    pub time_tolerance_usec: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            classes: vec![TruthClass::Face, TruthClass::Plate],
            iou_threshold: 0.5,
            min_box_px: 0,
            time_tolerance_usec: 1000,
        }
    }
}

/// Distribution of geolocation errors.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GeoErrors {
    /// Matched detections with a position.
    pub count: usize,
    /// Median error, metres.
    pub median_m: Option<f64>,
    /// 95th percentile (nearest rank), metres.
    pub p95_m: Option<f64>,
    /// Largest error, metres.
    pub max_m: Option<f64>,
    /// Every error, metres, ascending (for plots).
    pub errors_m: Vec<f64>,
}

impl GeoErrors {
    fn from_errors(mut errors_m: Vec<f64>) -> Self {
        errors_m.sort_by(f64::total_cmp);
        let n = errors_m.len();
        let median_m = match n {
            0 => None,
            _ if n % 2 == 1 => Some(errors_m[n / 2]),
            _ => Some((errors_m[n / 2 - 1] + errors_m[n / 2]) / 2.0),
        };
        let p95_m = (n > 0).then(|| errors_m[((0.95 * n as f64).ceil() as usize).clamp(1, n) - 1]);
        Self {
            count: n,
            median_m,
            p95_m,
            max_m: errors_m.last().copied(),
            errors_m,
        }
    }
}

/// Recall of truth boxes within a height range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeBin {
    /// Lowest height in the bin, pixels (inclusive).
    pub min_height_px: u32,
    /// Upper bound, pixels (exclusive; `None` = no bound).
    pub max_height_px: Option<u32>,
    /// Truth boxes in the bin.
    pub truth: u64,
    /// Of those, matched by a detection.
    pub detected: u64,
    /// `detected / truth`.
    pub recall: Option<f64>,
}

/// Scores of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    /// Scored truth boxes (not "don't care").
    pub truth: u64,
    /// Detections in scored frames.
    pub detections: u64,
    /// Detections matched to a scored truth box.
    pub true_positives: u64,
    /// Detections matched to nothing.
    pub false_positives: u64,
    /// Scored truth boxes not matched.
    pub false_negatives: u64,
    /// Detections on "don't care" truth boxes.
    pub ignored_detections: u64,
    /// TP / (TP + FP).
    pub precision: Option<f64>,
    /// TP / (TP + FN).
    pub recall: Option<f64>,
    /// Changes of the track id matched to a truth entity.
    pub identity_switches: u64,
    /// Truth entities matched by at least one tracked detection.
    pub tracked_entities: u64,
    /// Geolocation errors of matched detections.
    pub geolocation: GeoErrors,
    /// Recall by truth box height.
    pub recall_by_height: Vec<SizeBin>,
}

/// Plate-read accuracy.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReadScore {
    /// Reads compared with a truth plate.
    pub reads: u64,
    /// Of those, equal to the truth.
    pub correct: u64,
    /// `correct / reads`.
    pub accuracy: Option<f64>,
    /// Reads whose plate track never matched a truth plate (not scored).
    pub unmatched: u64,
    /// Reads the drone sent without their text (non-hits, `detect.send_non_hit_text = false`,
    /// LAW.md section 7): not scored, since the text is what is scored. With a hit list holding
    /// every plate of the scenario (`utkik-sim hitlist --all`) each correct read is a hit, so
    /// these are exactly the misreads.
    #[serde(default)]
    pub withheld: u64,
}

/// Plate reading.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PlateReport {
    /// Per matched plate detection with text (per frame).
    pub per_detection: ReadScore,
    /// Per voted read (UTKIK_PLATE_READ / `plate_read` lines).
    pub per_track: ReadScore,
}

/// The evaluation report (`report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Options used.
    pub options: EvalOptions,
    /// Format of the detections file ("tlog" or "jsonl").
    pub detections_format: String,
    /// Frames in the truth file.
    pub truth_frames: usize,
    /// Distinct frames in the detections file.
    pub detection_frames: usize,
    /// Truth frames scored (a detection frame at their time).
    pub scored_frames: usize,
    /// Detection frames with no truth frame within the tolerance.
    pub unmatched_detection_frames: usize,
    /// Per class (by name).
    pub classes: BTreeMap<String, ClassReport>,
    /// Plate-read accuracy.
    pub plates: PlateReport,
    /// Geolocation errors over all scored classes.
    pub geolocation: GeoErrors,
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn fmt_opt(v: Option<f64>, scale: f64, unit: &str) -> String {
    v.map_or("-".into(), |x| format!("{:.1}{unit}", x * scale))
}

impl Report {
    /// A few lines for the terminal.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "scored {} of {} truth frames ({} detection frames, {} without truth)\n",
            self.scored_frames, self.truth_frames, self.detection_frames, self.unmatched_detection_frames
        );
        for (name, c) in &self.classes {
            s += &format!(
                "{name:8} precision {} recall {} (TP {} FP {} FN {}) id switches {} geo median {} p95 {}\n",
                fmt_opt(c.precision, 100.0, "%"),
                fmt_opt(c.recall, 100.0, "%"),
                c.true_positives,
                c.false_positives,
                c.false_negatives,
                c.identity_switches,
                fmt_opt(c.geolocation.median_m, 1.0, " m"),
                fmt_opt(c.geolocation.p95_m, 1.0, " m"),
            );
        }
        s += &format!(
            "plates   read accuracy per detection {} ({} reads), per track {} ({} reads, {} non-hit reads without text not scored)",
            fmt_opt(self.plates.per_detection.accuracy, 100.0, "%"),
            self.plates.per_detection.reads,
            fmt_opt(self.plates.per_track.accuracy, 100.0, "%"),
            self.plates.per_track.reads,
            self.plates.per_track.withheld,
        );
        s
    }
}

/// Reading the inputs failed.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// The truth file.
    #[error(transparent)]
    Truth(#[from] TruthError),
    /// The detections file.
    #[error(transparent)]
    Detections(#[from] DetectionsError),
}

/// Read both files and [`evaluate`].
pub fn evaluate_files(truth: &Path, detections: &Path, options: &EvalOptions) -> Result<Report, EvaluateError> {
    let truth = read_truth(truth)?;
    let log = read_detections(detections)?;
    Ok(evaluate(&truth, &log, options))
}

#[derive(Default)]
struct ClassAcc {
    truth: u64,
    detections: u64,
    tp: u64,
    fp: u64,
    fn_: u64,
    ignored: u64,
    geo_errors_m: Vec<f64>,
    /// Truth entity -> track ids matched to it, in frame order.
    id_sequence: HashMap<u32, Vec<u32>>,
    bins: Vec<(u64, u64)>,
}

fn bin_of(height_px: u32) -> usize {
    HEIGHT_BINS_PX.iter().rposition(|&lo| height_px >= lo).unwrap_or(0)
}

/// Score `log` against `truth` (see the module docs for the rules).
pub fn evaluate(truth: &[TruthFrame], log: &DetectionLog, options: &EvalOptions) -> Report {
    let mut order: Vec<usize> = (0..truth.len()).collect();
    order.sort_by_key(|&i| truth[i].time_usec);
    // Pair detection frames with truth frames by capture time.
    let mut per_truth: BTreeMap<usize, Vec<&Detection>> = BTreeMap::new();
    let mut unmatched_frames = 0;
    for f in &log.frames {
        let pos = order.partition_point(|&i| truth[i].time_usec < f.time_usec);
        let best = [pos.checked_sub(1), Some(pos)]
            .into_iter()
            .flatten()
            .filter_map(|p| order.get(p).copied())
            .min_by_key(|&i| truth[i].time_usec.abs_diff(f.time_usec));
        match best {
            Some(i) if truth[i].time_usec.abs_diff(f.time_usec) <= options.time_tolerance_usec => {
                per_truth.entry(i).or_default().extend(f.detections.iter());
            }
            _ => unmatched_frames += 1,
        }
    }
    let mut acc: BTreeMap<TruthClass, ClassAcc> = options
        .classes
        .iter()
        .map(|&c| {
            (
                c,
                ClassAcc {
                    bins: vec![(0, 0); HEIGHT_BINS_PX.len()],
                    ..Default::default()
                },
            )
        })
        .collect();
    let mut plate_det = ReadScore::default();
    // (plate track id) -> truth plate entity -> times matched.
    let mut plate_tracks: HashMap<u32, HashMap<u32, u64>> = HashMap::new();
    let mut plate_labels: HashMap<u32, String> = HashMap::new();
    // Scored frames in time order (per_truth is keyed by index, not time).
    let mut scored: Vec<usize> = per_truth.keys().copied().collect();
    scored.sort_by_key(|&i| truth[i].time_usec);
    for &ti in &scored {
        let tf = &truth[ti];
        let dets = &per_truth[&ti];
        for (&class, a) in acc.iter_mut() {
            let boxes: Vec<&crate::render::TruthBox> = tf.objects.iter().filter(|o| o.class == class).collect();
            let (cared, ignored): (Vec<_>, Vec<_>) = boxes
                .iter()
                .copied()
                .partition(|o| o.box_px[3] - o.box_px[1] >= options.min_box_px);
            let ds: Vec<&Detection> = dets.iter().copied().filter(|d| d.class == class).collect();
            let det_px: Vec<[f64; 4]> = ds.iter().map(|d| d.bbox.to_px(tf.width_px, tf.height_px)).collect();
            let tb = |o: &&crate::render::TruthBox| o.box_px.map(f64::from);
            let cared_px: Vec<[f64; 4]> = cared.iter().map(tb).collect();
            let ignored_px: Vec<[f64; 4]> = ignored.iter().map(tb).collect();
            let matches = greedy_match(&det_px, &cared_px, options.iou_threshold);
            let mut det_used = vec![false; ds.len()];
            let mut cared_hit = vec![false; cared.len()];
            for &(d, t) in &matches {
                det_used[d] = true;
                cared_hit[t] = true;
                let (det, tr) = (ds[d], cared[t]);
                if let Some((lat, lon)) = det.lat_lon_deg {
                    a.geo_errors_m.push(distance_m(
                        &GeoPoint::new(lat, lon, 0.0),
                        &GeoPoint::new(tr.lat_deg, tr.lon_deg, 0.0),
                    ));
                }
                if let Some(id) = det.track_id {
                    a.id_sequence.entry(tr.entity_id).or_default().push(id);
                }
                if class == TruthClass::Plate {
                    plate_labels.insert(tr.entity_id, normalize_plate(&tr.label));
                    if let Some(id) = det.track_id {
                        *plate_tracks.entry(id).or_default().entry(tr.entity_id).or_default() += 1;
                    }
                    if let Some(text) = &det.text {
                        plate_det.reads += 1;
                        plate_det.correct += u64::from(normalize_plate(text) == normalize_plate(&tr.label));
                    }
                }
            }
            // Detections left over that sit on a "don't care" box are not false positives.
            let rest: Vec<usize> = (0..ds.len()).filter(|&d| !det_used[d]).collect();
            let rest_px: Vec<[f64; 4]> = rest.iter().map(|&d| det_px[d]).collect();
            let on_ignored = greedy_match(&rest_px, &ignored_px, options.iou_threshold);
            let mut ignored_hit = vec![false; ignored.len()];
            for &(_, t) in &on_ignored {
                ignored_hit[t] = true;
            }
            let tp = matches.len() as u64;
            a.truth += cared.len() as u64;
            a.detections += ds.len() as u64;
            a.tp += tp;
            a.ignored += on_ignored.len() as u64;
            a.fp += ds.len() as u64 - tp - on_ignored.len() as u64;
            a.fn_ += cared.len() as u64 - tp;
            for (o, hit) in cared.iter().zip(&cared_hit).chain(ignored.iter().zip(&ignored_hit)) {
                let bin = &mut a.bins[bin_of(o.box_px[3] - o.box_px[1])];
                bin.0 += 1;
                bin.1 += u64::from(*hit);
            }
        }
    }
    // Voted reads: each plate track stands for the truth plate it matched most.
    let mut plate_track = ReadScore::default();
    let mut reads: Vec<&PlateRead> = log.plate_reads.iter().collect();
    reads.sort_by(|a, b| (a.track_id, a.time_usec, &a.text).cmp(&(b.track_id, b.time_usec, &b.text)));
    reads.dedup_by(|a, b| (a.track_id, a.time_usec, &a.text) == (b.track_id, b.time_usec, &b.text));
    for r in reads {
        if r.text.is_empty() {
            plate_track.withheld += 1;
            continue;
        }
        let entity = plate_tracks
            .get(&r.track_id)
            .and_then(|m| m.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(e, _)| *e));
        match entity.and_then(|e| plate_labels.get(&e)) {
            Some(label) => {
                plate_track.reads += 1;
                plate_track.correct += u64::from(normalize_plate(&r.text) == *label);
            }
            None => plate_track.unmatched += 1,
        }
    }
    plate_det.accuracy = ratio(plate_det.correct, plate_det.reads);
    plate_track.accuracy = ratio(plate_track.correct, plate_track.reads);
    let mut all_geo = Vec::new();
    let classes = acc
        .into_iter()
        .map(|(class, a)| {
            all_geo.extend(a.geo_errors_m.iter().copied());
            let identity_switches = a
                .id_sequence
                .values()
                .map(|ids| ids.windows(2).filter(|w| w[0] != w[1]).count() as u64)
                .sum();
            let recall_by_height = a
                .bins
                .iter()
                .enumerate()
                .map(|(k, &(n, hit))| SizeBin {
                    min_height_px: HEIGHT_BINS_PX[k],
                    max_height_px: HEIGHT_BINS_PX.get(k + 1).copied(),
                    truth: n,
                    detected: hit,
                    recall: ratio(hit, n),
                })
                .collect();
            let report = ClassReport {
                truth: a.truth,
                detections: a.detections,
                true_positives: a.tp,
                false_positives: a.fp,
                false_negatives: a.fn_,
                ignored_detections: a.ignored,
                precision: ratio(a.tp, a.tp + a.fp),
                recall: ratio(a.tp, a.tp + a.fn_),
                identity_switches,
                tracked_entities: a.id_sequence.len() as u64,
                geolocation: GeoErrors::from_errors(a.geo_errors_m),
                recall_by_height,
            };
            (class.name().to_owned(), report)
        })
        .collect();
    Report {
        options: options.clone(),
        detections_format: log.format.clone(),
        truth_frames: truth.len(),
        detection_frames: log.frames.len(),
        scored_frames: scored.len(),
        unmatched_detection_frames: unmatched_frames,
        classes,
        plates: PlateReport {
            per_detection: plate_det,
            per_track: plate_track,
        },
        geolocation: GeoErrors::from_errors(all_geo),
    }
}

#[cfg(test)]
mod tests;
