//! The out thread: everything for the ground goes through one budgeted, prioritised link;
//! UTKIK_PIPELINE_STATUS at the configured period; authorization commands and the other signed
//! frames from the ground handed to the gate.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, Sender};
use utkik_shared::dialect::{MavMessage, UTKIK_PIPELINE_STATUS_DATA, UtkikLegalBasis, UtkikSourceKind};

use super::{OutItem, PipelineState};
use crate::out::{Clock, CpuLoad, OutLink, SystemClock, rss_kib};
use crate::shutdown::Shutdown;
use crate::telemetry::PoseBuffer;

/// What the status says about the camera itself: its kind and whose it is (`[source]`), and for
/// a camera without an autopilot (fixed site, car) the poses it georeferences with, reported to
/// the ground with each status (`crate::out::pose_report`).
#[derive(Debug, Clone)]
pub(super) struct SourceStatus {
    pub(super) kind: UtkikSourceKind,
    pub(super) legal_basis: UtkikLegalBasis,
    pub(super) own_pose: Option<Arc<Mutex<PoseBuffer>>>,
}

/// The out thread: queue, budget, status at the configured period. Returns (messages, bytes).
pub(super) fn run_out(
    mut link: OutLink<SystemClock>,
    rx: crossbeam_channel::Receiver<OutItem>,
    commands: Sender<Vec<u8>>,
    state: Arc<PipelineState>,
    status_period_usec: u64,
    source: SourceStatus,
    shutdown: &Shutdown,
) -> (u64, u64) {
    let clock = SystemClock;
    let mut cpu = CpuLoad::default();
    cpu.sample();
    let mut next_status = clock.now_usec() + status_period_usec;
    let mut last_processed = 0u64;
    let mut last_status_usec = clock.now_usec();
    let started_usec = last_status_usec;
    while !shutdown.is_triggered() {
        match rx.recv_timeout(Duration::from_millis(5)) {
            Ok(m) => {
                let mut item = Some(m);
                while let Some(m) = item.take().or_else(|| rx.try_recv().ok()) {
                    match m {
                        OutItem::Message(m) => link.push(m),
                        OutItem::Alert(id, m, follow) => {
                            // One line per alert (id and image size, never the plate text or
                            // the subject): what the field runs compare with the ground's log.
                            let (kind, image_bytes) = match &m {
                                MavMessage::UTKIK_PLATE_READ(p) => ("plate hit", p.image_size),
                                MavMessage::UTKIK_BIOMETRIC_MATCH(b) => ("possible match", b.evidence_size),
                                _ => ("other", 0),
                            };
                            tracing::info!(alert_id = id, image_bytes, "{kind} alert queued for the ground");
                            link.push_alert_with(id, m, follow)
                        }
                        OutItem::Cancel(id) => {
                            link.cancel_alert(id);
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                if shutdown.sleep(Duration::from_millis(5)) {
                    break;
                }
            }
        }
        let now = clock.now_usec();
        if now >= next_status {
            let processed = state.counters.frames_processed.load(Ordering::Relaxed);
            let dt_s = (now - last_status_usec) as f64 * 1e-6;
            let fps = (processed - last_processed) as f64 / dt_s.max(1e-3);
            last_processed = processed;
            last_status_usec = now;
            next_status = now + status_period_usec;
            let (p50, p95) = link.latency_ms().unwrap_or((0, 0));
            let c = &state.counters;
            let status = UTKIK_PIPELINE_STATUS_DATA {
                time_usec: now,
                frames_in: state.ingest.frames_in.load(Ordering::Relaxed) as u32,
                frames_processed: processed as u32,
                frames_dropped: state.frames.dropped.load(Ordering::Relaxed) as u32,
                fps: (fps * 100.0).round().min(65535.0) as u16,
                latency_p50: p50.min(65535) as u16,
                latency_p95: p95.min(65535) as u16,
                cpu_load: cpu.sample(),
                tracks_active: c.tracks_active.load(Ordering::Relaxed).min(65535) as u16,
                link_budget_used: link.budget_used_pct(),
                queue_depth: link.queue_depth().min(65535) as u16,
                face_detector_model: c.face_detector_model.load(Ordering::Relaxed),
                plate_detector_model: c.plate_detector_model.load(Ordering::Relaxed),
                plate_reader_model: c.plate_reader_model.load(Ordering::Relaxed),
                face_template_model: c.face_template_model.load(Ordering::Relaxed),
                mem_rss: rss_kib(),
                video_state: state.ingest.state() as u8,
                restream_state: crate::privacy::restream_state_from_u8(c.restream_state.load(Ordering::Relaxed)),
                source_kind: source.kind,
                legal_basis: source.legal_basis,
            };
            link.push(MavMessage::UTKIK_PIPELINE_STATUS(status));
            if let Some(poses) = &source.own_pose {
                let pose = poses.lock().unwrap_or_else(PoisonError::into_inner).pose_at(now);
                // A car before its first fix has none: nothing to report yet.
                if let Ok(p) = pose {
                    let boot_ms = (now.saturating_sub(started_usec) / 1000) as u32;
                    for m in crate::out::pose_report::pose_messages(&p, boot_ms) {
                        link.push(m);
                    }
                }
            }
        }
        link.step();
        // Authorization commands and every signed frame go to the gate whole (it checks their
        // signature; valid ones keep the link alive, LAW.md 2.4).
        for frame in link.take_ground_frames() {
            let _ = commands.send(frame);
        }
        let incoming = link.take_incoming();
        if !incoming.is_empty() {
            tracing::debug!(
                count = incoming.len(),
                "messages from the ground (authorization commands go to the gate)"
            );
        }
    }
    let s = link.stats();
    (s.messages_sent, s.bytes_sent)
}
