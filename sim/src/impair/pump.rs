//! The proxy's one scheduling loop, shared by the UDP and the pseudo-terminal modes: reader
//! threads hand in what arrived (with the time it arrived), the direction's [`Impairment`]
//! decides, the [`DelayQueue`] holds it until its time, and the mode's `send` puts it on the
//! other side. Counters end up in a [`Report`], printed at the end and on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::model::{Counters, Impairment, Verdict};
use super::queue::DelayQueue;
use super::spec::ImpairConfig;

/// Which way a datagram travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the listening (drone) side to the forward (ground) side.
    Forward,
    /// From the forward (ground) side back to the drone.
    Back,
}

/// Something a reader thread saw.
#[derive(Debug)]
pub enum Event {
    /// Bytes arrived.
    Data {
        /// Which way they go.
        direction: Direction,
        /// When they arrived.
        at: Instant,
        /// Sender (UDP only).
        from: Option<SocketAddr>,
        /// The datagram or chunk.
        bytes: Vec<u8>,
    },
    /// A datagram from an address that is neither side (ignored, counted).
    Stray,
    /// A reader failed for good.
    Failed(String),
}

/// Counters of one direction, model and I/O.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectionReport {
    /// What the impairment model decided.
    pub model: Counters,
    /// Datagrams sent on (duplicates included).
    pub sent: u64,
    /// Their bytes.
    pub sent_bytes: u64,
    /// Sends that failed (peer gone, pty full).
    pub send_errors: u64,
}

/// Everything the proxy did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Drone to ground.
    pub forward: DirectionReport,
    /// Ground to drone.
    pub back: DirectionReport,
    /// The drone's address as last learned (UDP).
    pub drone_addr: Option<SocketAddr>,
    /// How often the drone's address changed after the first datagram (a restarted onboard).
    pub drone_addr_changes: u64,
    /// Ground datagrams that arrived before any drone datagram (nowhere to send them).
    pub back_without_drone: u64,
    /// Datagrams from neither the drone side nor the forward address (ignored).
    pub stray: u64,
    /// Datagrams still waiting for their delivery time when the proxy stopped.
    pub pending_at_exit: u64,
    /// Seconds the proxy ran.
    pub elapsed_s: f64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, d) in [("drone->ground", &self.forward), ("ground->drone", &self.back)] {
            let m = &d.model;
            writeln!(
                f,
                "impair: {name}: {} in ({} B), {} out ({} B); lost {} (random {}, burst {}, cut {}, queue {}); \
                 {} duplicated, {} reordered, {} send errors",
                m.received,
                m.received_bytes,
                d.sent,
                d.sent_bytes,
                m.lost(),
                m.lost_random,
                m.lost_burst,
                m.lost_cut,
                m.lost_queue,
                m.duplicated,
                m.reordered,
                d.send_errors
            )?;
        }
        write!(
            f,
            "impair: {:.1} s; drone address {} ({} changes); {} ground datagrams before the drone spoke; {} stray; \
             {} pending at exit",
            self.elapsed_s,
            self.drone_addr
                .map_or_else(|| "never seen".to_string(), |a| a.to_string()),
            self.drone_addr_changes,
            self.back_without_drone,
            self.stray,
            self.pending_at_exit
        )
    }
}

/// Why a send did not happen.
#[derive(Debug)]
pub enum SendFailure {
    /// No drone address known yet (UDP, back direction).
    NoPeer,
    /// The socket or pty refused.
    Io(std::io::Error),
}

/// How the loop stops.
pub struct Stop<'a> {
    /// Set by the signal handler or the caller.
    pub shutdown: &'a AtomicBool,
    /// Stop after this long (None: only on shutdown).
    pub after: Option<Duration>,
}

/// Runs the loop until `stop`; `needs_peer` says that back-direction data has nowhere to go
/// before the drone side was heard (UDP). `send` gets the direction, the bytes and the drone's
/// address.
///
/// # Errors
/// A reader thread's failure, as its message.
pub fn pump(
    config: &ImpairConfig,
    events: &Receiver<Event>,
    stop: &Stop<'_>,
    needs_peer: bool,
    mut send: impl FnMut(Direction, &[u8], Option<SocketAddr>) -> Result<(), SendFailure>,
) -> Result<Report, String> {
    let start = Instant::now();
    let mut forward = Impairment::new(config.forward.clone(), config.cuts.clone(), config.seed, 0);
    let mut back = Impairment::new(config.back.clone(), config.cuts.clone(), config.seed, 1);
    let mut queue: DelayQueue<(Direction, Vec<u8>)> = DelayQueue::default();
    let mut report = Report::default();
    let tick = Duration::from_millis(50);
    loop {
        let now = start.elapsed();
        if stop.shutdown.load(Ordering::Relaxed) || stop.after.is_some_and(|d| now >= d) {
            break;
        }
        while let Some((direction, bytes)) = queue.pop_due(now) {
            let io = match direction {
                Direction::Forward => &mut report.forward,
                Direction::Back => &mut report.back,
            };
            match send(direction, &bytes, report.drone_addr) {
                Ok(()) => {
                    io.sent += 1;
                    io.sent_bytes += bytes.len() as u64;
                }
                Err(SendFailure::NoPeer) => report.back_without_drone += 1,
                Err(SendFailure::Io(e)) => {
                    io.send_errors += 1;
                    tracing::debug!("impair: send {direction:?} failed: {e}");
                }
            }
        }
        let wait = queue.next_due().map_or(tick, |due| due.saturating_sub(now)).min(tick);
        let event = match events.recv_timeout(wait) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        match event {
            Event::Failed(message) => return Err(message),
            Event::Stray => report.stray += 1,
            Event::Data {
                direction,
                at,
                from,
                bytes,
            } => {
                let t = at.saturating_duration_since(start);
                let model = match direction {
                    Direction::Forward => {
                        if let Some(from) = from {
                            match report.drone_addr {
                                None => {
                                    tracing::info!("impair: drone side is {from}");
                                    report.drone_addr = Some(from);
                                }
                                Some(known) if known != from => {
                                    tracing::info!("impair: drone side moved from {known} to {from}");
                                    report.drone_addr = Some(from);
                                    report.drone_addr_changes += 1;
                                }
                                Some(_) => {}
                            }
                        }
                        &mut forward
                    }
                    Direction::Back => {
                        if needs_peer && report.drone_addr.is_none() {
                            report.back_without_drone += 1;
                            continue;
                        }
                        &mut back
                    }
                };
                if let Verdict::Deliver { at, duplicate_at, .. } = model.decide(t, bytes.len()) {
                    if let Some(dup_at) = duplicate_at {
                        queue.push(at, (direction, bytes.clone()));
                        queue.push(dup_at, (direction, bytes));
                    } else {
                        queue.push(at, (direction, bytes));
                    }
                }
            }
        }
    }
    report.forward.model = forward.counters();
    report.back.model = back.counters();
    report.pending_at_exit = queue.len() as u64;
    report.elapsed_s = start.elapsed().as_secs_f64();
    Ok(report)
}
