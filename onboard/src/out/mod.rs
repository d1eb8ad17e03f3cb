//! MAVLink out: byte budget, priorities, coalescing, acknowledged alerts, status, transport.

pub mod boot_epoch;
pub mod budget;
pub mod clock;
pub mod link;
pub mod outbox;
pub mod pose_report;
pub mod queue;
pub mod status;

pub use budget::TokenBucket;
pub use clock::{Clock, ManualClock, SystemClock};
pub use link::{OutLink, OutLinkConfig, OutStats, OutTransport};
pub use outbox::{Outbox, OutboxError};
pub use queue::{OutQueue, Priority, ResendPolicy};
pub use status::{CpuLoad, PipelineCounters, peak_rss_kib, percentiles, rss_kib};
