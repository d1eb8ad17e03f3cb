//! Votes the plate texts read on one plate track, weighted by read confidence, so a single
//! misread does not become the track's plate. A read is reported (UTKIK_PLATE_READ) when a
//! text first wins with enough support, and again only if a different text takes over.

use std::collections::HashMap;

/// Votes of one track.
#[derive(Debug, Default, Clone)]
pub struct PlateVotes {
    scores: HashMap<String, (f64, u32, u64)>, // weight, reads, time of the best read
    reported: Option<String>,
}

/// A voted text ready to report.
#[derive(Debug, Clone, PartialEq)]
pub struct VotedPlate {
    /// Text, normalized.
    pub text: String,
    /// Share of the total weight behind it, 0..1.
    pub confidence: f64,
    /// Reads behind it.
    pub reads: u32,
    /// Capture time of a frame with this read.
    pub time_usec: u64,
}

impl PlateVotes {
    /// Adds a read; returns the voted plate when it should be (re)reported: at least
    /// `min_reads` reads and more than half of the weight.
    pub fn add(&mut self, text: &str, confidence: f64, time_usec: u64, min_reads: u32) -> Option<VotedPlate> {
        let e = self.scores.entry(text.to_string()).or_insert((0.0, 0, time_usec));
        e.0 += confidence.clamp(0.0, 1.0);
        e.1 += 1;
        e.2 = time_usec;
        let total: f64 = self.scores.values().map(|v| v.0).sum();
        let (best, &(w, reads, t)) = self.scores.iter().max_by(|a, b| a.1.0.total_cmp(&b.1.0))?;
        let share = if total > 0.0 { w / total } else { 0.0 };
        if reads >= min_reads && share > 0.5 && self.reported.as_deref() != Some(best.as_str()) {
            self.reported = Some(best.clone());
            return Some(VotedPlate {
                text: best.clone(),
                confidence: share,
                reads,
                time_usec: t,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_misread_does_not_win_and_reports_happen_once() {
        let mut v = PlateVotes::default();
        assert_eq!(v.add("ABC123", 0.9, 1, 2), None, "one read is not enough");
        assert_eq!(v.add("A8C123", 0.6, 2, 2), None, "the misread has less weight");
        let r = v.add("ABC123", 0.9, 3, 2).unwrap();
        assert_eq!((r.text.as_str(), r.reads, r.time_usec), ("ABC123", 2, 3));
        assert!((r.confidence - 1.8 / 2.4).abs() < 1e-9);
        assert_eq!(v.add("ABC123", 0.9, 4, 2), None, "already reported");
    }
}
