//! Pipeline health for UTKIK_PIPELINE_STATUS: frame counters, processed frames per second,
//! frame-to-MAVLink latency percentiles, CPU load (from /proc/stat) and resident memory
//! (from /proc/self/status).

use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

/// Counters the inference thread updates.
#[derive(Debug, Default)]
pub struct PipelineCounters {
    /// Frames run through detection.
    pub frames_processed: AtomicU64,
    /// Frames whose pose was unknown or too old.
    pub frames_pose_stale: AtomicU64,
    /// Live confirmed tracks, all classes.
    pub tracks_active: AtomicU64,
    /// Model ids (first 4 bytes of the SHA-256, big-endian), 0 when not loaded.
    pub face_detector_model: AtomicU32,
    /// Text detector model id.
    pub plate_detector_model: AtomicU32,
    /// Text recognizer model id.
    pub plate_reader_model: AtomicU32,
    /// Face template model id.
    pub face_template_model: AtomicU32,
    /// The masked re-stream's `UtkikRestreamState` as `u8` (0: off by configuration); set by
    /// the pipeline at start and by the re-stream thread on each frame sent or failed.
    pub restream_state: AtomicU8,
}

impl PipelineCounters {
    /// Loads a counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// p50 and p95 of a set of values (nearest rank); `None` when empty.
pub fn percentiles(values: &mut [u64]) -> Option<(u64, u64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = |p: f64| values[((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
    Some((rank(0.50), rank(0.95)))
}

/// CPU load from successive /proc/stat samples.
#[derive(Debug, Default)]
pub struct CpuLoad {
    last: Option<(u64, u64)>,
}

impl CpuLoad {
    /// Load since the previous call, 0..100 (0 on the first call or without /proc).
    pub fn sample(&mut self) -> u8 {
        let Some((busy, total)) = read_proc_stat() else {
            return 0;
        };
        let load = match self.last {
            Some((b0, t0)) if total > t0 => ((busy - b0.min(busy)) as f64 / (total - t0) as f64 * 100.0).round() as u8,
            _ => 0,
        };
        self.last = Some((busy, total));
        load.min(100)
    }
}

fn read_proc_stat() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    parse_cpu_line(text.lines().next()?)
}

/// (busy, total) jiffies from the aggregate `cpu` line of /proc/stat.
pub fn parse_cpu_line(line: &str) -> Option<(u64, u64)> {
    let mut it = line.split_whitespace();
    if it.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = it.filter_map(|x| x.parse().ok()).collect();
    if v.len() < 4 {
        return None;
    }
    let total: u64 = v.iter().take(8).sum(); // user..steal; guest is inside user
    let idle = v[3] + v.get(4).copied().unwrap_or(0); // idle + iowait
    Some((total - idle, total))
}

/// Resident memory of this process, KiB.
pub fn rss_kib() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Peak resident memory of this process, KiB.
pub fn peak_rss_kib() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentiles(&mut v), Some((50, 95)));
        assert_eq!(percentiles(&mut [7]), Some((7, 7)));
        assert_eq!(percentiles(&mut []), None);
    }

    #[test]
    fn cpu_line_parses_and_proc_is_readable() {
        assert_eq!(parse_cpu_line("cpu  100 0 100 700 100 0 0 0 0 0"), Some((200, 1000)));
        assert_eq!(parse_cpu_line("intr 1 2 3"), None);
        let mut c = CpuLoad::default();
        assert_eq!(c.sample(), 0);
        assert!(c.sample() <= 100);
        assert!(rss_kib() > 0 && peak_rss_kib() >= rss_kib());
    }
}
