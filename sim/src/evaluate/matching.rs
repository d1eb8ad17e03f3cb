//! Matching detections to truth boxes in one frame: intersection over union,
//! then greedy assignment from the best overlap down (the PASCAL VOC / COCO
//! rule without scores: each truth box and each detection is used once).

/// Intersection over union of two boxes (left, top, right, bottom); 0 when
/// either is empty.
pub fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area = |r: [f64; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// Pairs `(detection, truth)` with IoU >= `threshold`, each index used at
/// most once, taken in order of decreasing IoU (ties: lower indices first,
/// so the result does not depend on sort stability).
pub fn greedy_match(detections: &[[f64; 4]], truths: &[[f64; 4]], threshold: f64) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (d, db) in detections.iter().enumerate() {
        for (t, tb) in truths.iter().enumerate() {
            let v = iou(*db, *tb);
            if v >= threshold && v > 0.0 {
                pairs.push((v, d, t));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut used_d = vec![false; detections.len()];
    let mut used_t = vec![false; truths.len()];
    let mut out = Vec::new();
    for (_, d, t) in pairs {
        if !used_d[d] && !used_t[t] {
            used_d[d] = true;
            used_t[t] = true;
            out.push((d, t));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_by_hand() {
        let a = [0.0, 0.0, 10.0, 10.0];
        assert_eq!(iou(a, a), 1.0);
        // Shifted by 5 px: overlap 5 x 10 = 50, union 150.
        assert!((iou(a, [5.0, 0.0, 15.0, 10.0]) - 50.0 / 150.0).abs() < 1e-12);
        assert_eq!(iou(a, [10.0, 0.0, 20.0, 10.0]), 0.0, "touching edges");
        assert_eq!(iou(a, [3.0, 3.0, 3.0, 8.0]), 0.0, "empty box");
    }

    #[test]
    fn greedy_takes_the_best_overlap_first() {
        let truths = [[0.0, 0.0, 10.0, 10.0], [8.0, 0.0, 18.0, 10.0]];
        // Detection 0 is truth 1 exactly (IoU 1) and touches truth 0 (IoU 0.11);
        // detection 1 overlaps truth 0 (IoU 90/110) and truth 1 (IoU 30/170).
        let dets = [[8.0, 0.0, 18.0, 10.0], [1.0, 0.0, 11.0, 10.0]];
        assert_eq!(greedy_match(&dets, &truths, 0.5), vec![(0, 1), (1, 0)]);
        // Below the threshold nothing matches.
        assert!(greedy_match(&[[9.0, 0.0, 19.0, 10.0]], &truths[..1], 0.5).is_empty());
    }
}
