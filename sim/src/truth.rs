//! Ground truth as JSON lines: one [`TruthFrame`] per rendered camera frame
//! with every visible entity (class, pixel box, identity or plate, lat/lon)
//! as the renderer drew it ([`crate::render::TruthBox`]).
//!
//! `time_usec` is the frame's capture time in Unix microseconds: the time the
//! video stream carries for the frame (RTP NTP-64 header extension, see
//! [`crate::video::rtp`]), the base of SYSTEM_TIME.time_unix_usec in the
//! telemetry, and what the onboard copies into UTKIK_TRACK.time_usec. So the
//! evaluator matches onboard output to truth frames by that number alone.
//!
//! Example line (wrapped here):
//! ```text
//! {"frame":12,"time_usec":1763800000400000,"sim_time_usec":400000,"width_px":1280,"height_px":720,
//!  "camera":{...CameraPose...},
//!  "objects":[{"class":"face","entity_id":1,"label":"bystander-1","box_px":[600,300,612,315],
//!              "pixels":170,"lat_deg":59.388,"lon_deg":17.926}]}
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use utkik_shared::camera::CameraPose;

use crate::render::TruthBox;

/// Truth of one rendered frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthFrame {
    /// Frame number since the start of the run (0-based; frame `i` is captured at
    /// sim time `round(i * 1e6 / fps)`; frames dropped in real time leave gaps).
    pub frame: u64,
    /// Capture time, microseconds since the Unix epoch (sim epoch + sim time).
    pub time_usec: u64,
    /// Sim time since the scenario start, microseconds.
    pub sim_time_usec: u64,
    /// Image width, pixels.
    pub width_px: u32,
    /// Image height, pixels.
    pub height_px: u32,
    /// The camera pose the frame was rendered from (what telemetry reported).
    pub camera: CameraPose,
    /// Every visible face, plate, person and vehicle.
    pub objects: Vec<TruthBox>,
}

/// Reading or writing a truth file failed.
#[derive(Debug, thiserror::Error)]
pub enum TruthError {
    /// The file could not be opened, read or written.
    #[error("truth file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not a truth frame.
    #[error("truth file {}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// Parser message (names the field).
        message: String,
    },
}

/// Writes truth frames, one JSON object per line.
#[derive(Debug)]
pub struct TruthWriter {
    out: BufWriter<File>,
    path: PathBuf,
    /// Frames written.
    pub frames: u64,
}

impl TruthWriter {
    /// Create (truncate) `path`.
    pub fn create(path: &Path) -> Result<Self, TruthError> {
        let file = File::create(path).map_err(|source| TruthError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            out: BufWriter::new(file),
            path: path.to_owned(),
            frames: 0,
        })
    }

    /// Append one frame.
    pub fn write(&mut self, frame: &TruthFrame) -> Result<(), TruthError> {
        let io = |source| TruthError::Io {
            path: self.path.clone(),
            source,
        };
        serde_json::to_writer(&mut self.out, frame).map_err(|e| io(e.into()))?;
        self.out.write_all(b"\n").map_err(io)?;
        self.frames += 1;
        Ok(())
    }

    /// Flush to disk (also done on drop, where errors are lost).
    pub fn flush(&mut self) -> Result<(), TruthError> {
        self.out.flush().map_err(|source| TruthError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// Read every frame of a truth file (blank lines are skipped).
///
/// A simulator that is killed (Ctrl-C, the end of a demo) can leave its last line half written.
/// That line, and only when it is the last one and has no newline, is skipped with a warning:
/// every complete frame before it is kept. A bad line anywhere else is an error naming it.
pub fn read_truth(path: &Path) -> Result<Vec<TruthFrame>, TruthError> {
    let text = std::fs::read_to_string(path).map_err(|source| TruthError::Io {
        path: path.to_owned(),
        source,
    })?;
    let unterminated_tail = !text.is_empty() && !text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(frame) => out.push(frame),
            Err(e) if unterminated_tail && i + 1 == lines.len() => {
                tracing::warn!(
                    "truth file {}:{}: last line is incomplete (the simulator was stopped while writing it): skipped ({e})",
                    path.display(),
                    i + 1
                );
            }
            Err(e) => {
                return Err(TruthError::Parse {
                    path: path.to_owned(),
                    line: i + 1,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::TruthClass;

    fn frame(n: u64) -> TruthFrame {
        TruthFrame {
            frame: n,
            time_usec: 1_763_800_000_000_000 + n * 33_333,
            sim_time_usec: n * 33_333,
            width_px: 1280,
            height_px: 720,
            camera: CameraPose::default(),
            objects: vec![TruthBox {
                class: TruthClass::Plate,
                entity_id: 1001,
                label: "ABC123".into(),
                box_px: [10, 20, 60, 32],
                pixels: 500,
                lat_deg: 59.3,
                lon_deg: 18.1,
            }],
        }
    }

    #[test]
    fn frames_round_trip_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truth.jsonl");
        let mut w = TruthWriter::create(&path).unwrap();
        for n in 0..3 {
            w.write(&frame(n)).unwrap();
        }
        w.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.contains(r#""class":"plate""#), "{text}");
        assert_eq!(read_truth(&path).unwrap(), (0..3).map(frame).collect::<Vec<_>>());
    }

    #[test]
    fn a_bad_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let good = serde_json::to_string(&frame(0)).unwrap();
        std::fs::write(&path, format!("{good}\n\n{{\"frame\": 1}}\n")).unwrap();
        let e = read_truth(&path).unwrap_err().to_string();
        assert!(e.contains("t.jsonl:3:") && e.contains("time_usec"), "{e}");
    }

    #[test]
    fn a_half_written_last_line_is_skipped_and_everything_before_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let a = serde_json::to_string(&frame(0)).unwrap();
        let b = serde_json::to_string(&frame(1)).unwrap();
        std::fs::write(&path, format!("{a}\n{b}\n{}", &b[..b.len() / 2])).unwrap();
        assert_eq!(read_truth(&path).unwrap(), vec![frame(0), frame(1)]);
        // The same bad line with its newline was written whole: an error naming it.
        std::fs::write(&path, format!("{a}\n{}\n{b}\n", &b[..b.len() / 2])).unwrap();
        let e = read_truth(&path).unwrap_err().to_string();
        assert!(e.contains("t.jsonl:2:"), "{e}");
    }
}
