//! Video ingest: a GStreamer pipeline (from a URI or a pipeline string) ending in an appsink,
//! frames handed to inference through a "newest frame wins" channel, stream loss retried with
//! back-off and reported in [`IngestStatus`].

pub mod latest;
pub mod runner;
pub mod source;
pub mod time;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

pub use latest::{LatestCounters, LatestSender, latest};
pub use runner::{IngestConfig, IngestError, run_ingest};
pub use source::launch_description;

/// State of the video input, as sent in UTKIK_PIPELINE_STATUS.video_state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum VideoState {
    /// Not started or stopped.
    NoVideo = 0,
    /// Frames are arriving.
    Streaming = 1,
    /// The stream was lost; retrying.
    Reconnecting = 2,
}

/// Health of the ingest thread, shared with the status reporter.
#[derive(Debug, Default)]
pub struct IngestStatus {
    /// Frames taken from the appsink.
    pub frames_in: AtomicU64,
    /// Frames that carried a capture time (NTP-64 header extension); the rest use arrival time.
    pub frames_with_capture_time: AtomicU64,
    /// Times the pipeline was restarted after a loss.
    pub restarts: AtomicU64,
    state: AtomicU8,
    last_error: Mutex<Option<String>>,
}

impl IngestStatus {
    /// Current state.
    pub fn state(&self) -> VideoState {
        match self.state.load(Ordering::Relaxed) {
            1 => VideoState::Streaming,
            2 => VideoState::Reconnecting,
            _ => VideoState::NoVideo,
        }
    }

    /// Sets the state.
    pub fn set_state(&self, s: VideoState) {
        self.state.store(s as u8, Ordering::Relaxed);
    }

    /// The last stream error, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records a stream error.
    pub fn set_error(&self, message: String) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
    }
}
