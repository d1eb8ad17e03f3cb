//! The onboard pipeline: ingest thread -> inference thread (detect -> track -> georeference) ->
//! out thread (budgeted MAVLink), with the telemetry thread feeding the pose buffer and an
//! optional re-stream thread sending the masked video. [`run`] validates everything and binds
//! every socket before any thread starts, then runs until the shutdown signal.

pub mod detector;
pub mod georef;
pub mod hits;
mod inference;
pub mod messages;
mod out_thread;
pub mod plates;
mod run;
mod setup;
pub mod tract;

use std::sync::Arc;

use utkik_shared::dialect::MavMessage;

pub use detector::{Detected, FrameContext, ModelIds, ObjectClass, ObjectDetector};
pub use inference::{FrameDetection, FrameOutput, Inference, StageTimes};
pub use run::{run, run_with_detectors, run_with_gate};
pub use setup::{gate_from_config, hit_list_from_config, hit_list_from_config_at, link_key_from_config};

use crate::ingest::{IngestStatus, LatestCounters};
use crate::out::PipelineCounters;
use crate::telemetry::TelemetryStatus;

/// Why the pipeline could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The video source cannot work.
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    /// A socket or port could not be opened.
    #[error("{what} {address}: {message}")]
    Io {
        /// Which endpoint.
        what: &'static str,
        /// Its address or device.
        address: String,
        /// OS message.
        message: String,
    },
    /// A detector could not be loaded.
    #[error(transparent)]
    Detector(#[from] tract::DetectorError),
    /// The ANPR hit list could not be loaded (the error names the file, line and field).
    #[error("hit list (detect.plate_hit_list): {0}")]
    HitList(#[from] utkik_shared::hitlist::HitListError),
    /// The biometric gate could not be set up (authorization, trust store, link key, audit log).
    #[error(transparent)]
    Gate(#[from] crate::gate::GateError),
    /// The alert-id boot epoch (`link.boot_epoch_file`) could not be read or saved.
    #[error("link.boot_epoch_file: {0}")]
    BootEpoch(#[from] crate::out::boot_epoch::BootEpochError),
}

/// What the inference thread hands the out thread.
#[derive(Debug)]
enum OutItem {
    /// Send once (priorities by kind).
    Message(MavMessage),
    /// Resend until UTKIK_ALERT_ACK, each time followed by the evidence messages.
    Alert(u32, MavMessage, Vec<MavMessage>),
    /// Stop resending (its data was deleted).
    Cancel(u32),
}

/// Everything shared between the threads, for status and for tests.
#[derive(Debug, Default)]
pub struct PipelineState {
    /// Ingest health.
    pub ingest: Arc<IngestStatus>,
    /// Newest-frame-wins counters.
    pub frames: Arc<LatestCounters>,
    /// Telemetry counters.
    pub telemetry: Arc<TelemetryStatus>,
    /// Inference counters.
    pub counters: Arc<PipelineCounters>,
}

/// What a run did, returned when it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Frames from the camera.
    pub frames_in: u64,
    /// Frames through detection.
    pub frames_processed: u64,
    /// Frames replaced before inference took them.
    pub frames_dropped: u64,
    /// MAVLink frames sent to the ground.
    pub messages_sent: u64,
    /// Bytes sent to the ground.
    pub bytes_sent: u64,
}
