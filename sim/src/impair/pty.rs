//! Serial mode of the impairment proxy: two pseudo-terminal pairs stand in for the two ends of a
//! telemetry radio link. The onboard opens one slave (`--pty-drone`, a symlink to it), the ground
//! station the other (`--pty-ground`); bytes are read from each master in chunks of at most
//! `chunk_bytes` (an air packet: 252 bytes is a SiK radio's largest), impaired by the same model
//! as UDP datagrams, and written to the other master paced at the radio's rate (57,600 baud 8N1
//! = 5,760 bytes/s unless `rate` says otherwise). A lost chunk is a lost air packet: the MAVLink
//! decoders on both ends must resynchronise, which is what this mode is for.

use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};

use super::pump::{Direction, Event, Report, SendFailure, Stop, pump};
use super::spec::ImpairConfig;

/// SiK radio firmware's largest air packet.
pub const DEFAULT_CHUNK_BYTES: usize = 252;

/// The serial proxy could not start or failed.
#[derive(Debug, thiserror::Error)]
pub enum PtyProxyError {
    /// openpt/grantpt/unlockpt or the slave's termios failed.
    #[error("impair: cannot create a pseudo-terminal pair: {0}")]
    Open(#[from] serialport::Error),
    /// The symlink to a slave could not be made.
    #[error("impair: cannot link {link} to {target}: {source}")]
    Link {
        /// The symlink asked for.
        link: PathBuf,
        /// The pty slave.
        target: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A reader failed while running.
    #[error("impair: {0}")]
    Run(String),
}

/// One end of the emulated radio: the master we read and write, the slave the program opens
/// (held open by us too, so a program that closes and reopens it finds the link still there).
struct End {
    master: TTYPort,
    slave: TTYPort,
    link: Option<PathBuf>,
}

impl End {
    fn open(link: Option<&Path>) -> Result<End, PtyProxyError> {
        let (mut master, slave) = TTYPort::pair()?;
        master.set_timeout(Duration::from_millis(100))?;
        let mut end = End {
            master,
            slave,
            link: None,
        };
        let target = end.path();
        end.link = match link {
            Some(link) => {
                if std::fs::symlink_metadata(link).is_ok_and(|m| m.file_type().is_symlink()) {
                    // A link left by an earlier run.
                    let _ = std::fs::remove_file(link);
                }
                std::os::unix::fs::symlink(&target, link).map_err(|source| PtyProxyError::Link {
                    link: link.to_path_buf(),
                    target: target.clone(),
                    source,
                })?;
                Some(link.to_path_buf())
            }
            None => None,
        };
        Ok(end)
    }

    fn path(&self) -> String {
        self.slave.name().unwrap_or_default()
    }
}

impl Drop for End {
    fn drop(&mut self) {
        if let Some(link) = &self.link {
            let _ = std::fs::remove_file(link);
        }
    }
}

/// A pair of emulated serial ports with the impaired link between them.
pub struct PtyProxy {
    drone: End,
    ground: End,
    config: ImpairConfig,
    chunk_bytes: usize,
}

impl PtyProxy {
    /// Creates both pty pairs (and the symlinks, if given). Directions without a `rate` get
    /// `baud / 10` bytes per second (8N1).
    ///
    /// # Errors
    /// No pty available, or a symlink that cannot be made.
    pub fn open(
        mut config: ImpairConfig,
        drone_link: Option<&Path>,
        ground_link: Option<&Path>,
        baud: u32,
        chunk_bytes: usize,
    ) -> Result<Self, PtyProxyError> {
        for d in [&mut config.forward, &mut config.back] {
            if d.rate_bytes_per_s.is_none() {
                d.rate_bytes_per_s = Some(f64::from(baud) / 10.0);
            }
        }
        Ok(PtyProxy {
            drone: End::open(drone_link)?,
            ground: End::open(ground_link)?,
            config,
            chunk_bytes: chunk_bytes.max(1),
        })
    }

    /// The serial device the drone side opens.
    pub fn drone_path(&self) -> String {
        self.drone.path()
    }

    /// The serial device the ground side opens.
    pub fn ground_path(&self) -> String {
        self.ground.path()
    }

    /// Runs until `shutdown` is set or `duration` has passed; returns the counters.
    ///
    /// # Errors
    /// A pty that fails for good while running.
    pub fn run(self, shutdown: &AtomicBool, duration: Option<Duration>) -> Result<Report, PtyProxyError> {
        let mut drone_reader = self.drone.master.try_clone_native()?;
        let mut ground_reader = self.ground.master.try_clone_native()?;
        let mut drone_writer = self.drone.master.try_clone_native()?;
        let mut ground_writer = self.ground.master.try_clone_native()?;
        let (tx, rx) = channel();
        let readers_stop = AtomicBool::new(false);
        let chunk = self.chunk_bytes;
        let result = std::thread::scope(|scope| {
            let stop = &readers_stop;
            let tx_drone = tx.clone();
            scope.spawn(move || read_loop(&mut drone_reader, Direction::Forward, chunk, &tx_drone, stop));
            let tx_ground = tx.clone();
            scope.spawn(move || read_loop(&mut ground_reader, Direction::Back, chunk, &tx_ground, stop));
            drop(tx);
            let result = pump(
                &self.config,
                &rx,
                &Stop {
                    shutdown,
                    after: duration,
                },
                false,
                |direction, bytes, _| {
                    let writer = match direction {
                        Direction::Forward => &mut ground_writer,
                        Direction::Back => &mut drone_writer,
                    };
                    writer.write_all(bytes).map_err(SendFailure::Io)
                },
            );
            readers_stop.store(true, Ordering::Relaxed);
            result
        });
        result.map_err(PtyProxyError::Run)
    }
}

fn read_loop(master: &mut TTYPort, direction: Direction, chunk: usize, tx: &Sender<Event>, stop: &AtomicBool) {
    let mut buf = vec![0u8; chunk];
    while !stop.load(Ordering::Relaxed) {
        match master.read(&mut buf) {
            Ok(0) => std::thread::sleep(Duration::from_millis(10)),
            Ok(n) => {
                let event = Event::Data {
                    direction,
                    at: Instant::now(),
                    from: None,
                    bytes: buf[..n].to_vec(),
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                let _ = tx.send(Event::Failed(format!("reading the {direction:?} pty: {e}")));
                return;
            }
        }
    }
}
