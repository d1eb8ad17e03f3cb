//! UDP mode of the impairment proxy: the drone side sends to `listen`, the proxy sends on to
//! `forward` (the ground station) from a socket of its own and sends what comes back from
//! `forward` to the drone's address, learned from the drone's datagrams (the latest sender
//! wins, so a restarted onboard on a new port is followed). Thin: all decisions are in
//! [`super::pump`] and [`super::model`].

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::time::{Duration, Instant};

use super::pump::{Direction, Event, Report, SendFailure, Stop, pump};
use super::spec::ImpairConfig;

/// The proxy could not start or failed.
#[derive(Debug, thiserror::Error)]
pub enum UdpProxyError {
    /// A socket could not be bound.
    #[error("impair: cannot bind UDP {addr}: {source}")]
    Bind {
        /// Address asked for.
        addr: SocketAddr,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A socket option failed.
    #[error("impair: UDP socket set-up: {0}")]
    Setup(#[source] std::io::Error),
    /// A reader failed while running.
    #[error("impair: {0}")]
    Run(String),
}

/// A bound, not yet running UDP proxy.
#[derive(Debug)]
pub struct UdpProxy {
    drone_socket: UdpSocket,
    ground_socket: UdpSocket,
    forward: SocketAddr,
    config: ImpairConfig,
}

impl UdpProxy {
    /// Binds `listen` (where the drone sends) and a free port to talk to `forward` from.
    ///
    /// # Errors
    /// A socket that cannot be bound or configured.
    pub fn bind(listen: SocketAddr, forward: SocketAddr, config: ImpairConfig) -> Result<Self, UdpProxyError> {
        let drone_socket = UdpSocket::bind(listen).map_err(|source| UdpProxyError::Bind { addr: listen, source })?;
        let ground_local = SocketAddr::new(
            match forward.ip() {
                IpAddr::V4(ip) if ip.is_loopback() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(ip) if ip.is_loopback() => IpAddr::V6(Ipv6Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            },
            0,
        );
        let ground_socket = UdpSocket::bind(ground_local).map_err(|source| UdpProxyError::Bind {
            addr: ground_local,
            source,
        })?;
        for s in [&drone_socket, &ground_socket] {
            s.set_read_timeout(Some(Duration::from_millis(100)))
                .map_err(UdpProxyError::Setup)?;
        }
        Ok(UdpProxy {
            drone_socket,
            ground_socket,
            forward,
            config,
        })
    }

    /// Where the drone side must send.
    ///
    /// # Errors
    /// The socket's address cannot be read.
    pub fn listen_addr(&self) -> std::io::Result<SocketAddr> {
        self.drone_socket.local_addr()
    }

    /// The address the ground station sees the drone's datagrams come from.
    ///
    /// # Errors
    /// The socket's address cannot be read.
    pub fn ground_facing_addr(&self) -> std::io::Result<SocketAddr> {
        self.ground_socket.local_addr()
    }

    /// Runs until `shutdown` is set or `duration` has passed; returns the counters.
    ///
    /// # Errors
    /// A socket that fails for good while running.
    pub fn run(self, shutdown: &AtomicBool, duration: Option<Duration>) -> Result<Report, UdpProxyError> {
        let (tx, rx) = channel();
        let readers_stop = AtomicBool::new(false);
        let forward = self.forward;
        let result = std::thread::scope(|scope| {
            let drone = &self.drone_socket;
            let ground = &self.ground_socket;
            let stop = &readers_stop;
            let tx_drone = tx.clone();
            scope.spawn(move || read_loop(drone, Direction::Forward, None, &tx_drone, stop));
            let tx_ground = tx.clone();
            scope.spawn(move || read_loop(ground, Direction::Back, Some(forward), &tx_ground, stop));
            drop(tx);
            let result = pump(
                &self.config,
                &rx,
                &Stop {
                    shutdown,
                    after: duration,
                },
                true,
                |direction, bytes, drone_addr| match direction {
                    Direction::Forward => ground.send_to(bytes, forward).map(drop).map_err(SendFailure::Io),
                    Direction::Back => match drone_addr {
                        Some(addr) => drone.send_to(bytes, addr).map(drop).map_err(SendFailure::Io),
                        None => Err(SendFailure::NoPeer),
                    },
                },
            );
            readers_stop.store(true, Ordering::Relaxed);
            result
        });
        result.map_err(UdpProxyError::Run)
    }
}

/// Receives until `stop`; datagrams on the ground socket count only from `only_from`.
fn read_loop(
    socket: &UdpSocket,
    direction: Direction,
    only_from: Option<SocketAddr>,
    tx: &Sender<Event>,
    stop: &AtomicBool,
) {
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let at = Instant::now();
                let event = if only_from.is_some_and(|f| f != from) {
                    Event::Stray
                } else {
                    Event::Data {
                        direction,
                        at,
                        from: Some(from),
                        bytes: buf[..n].to_vec(),
                    }
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock
                        | ErrorKind::TimedOut
                        | ErrorKind::Interrupted
                        | ErrorKind::ConnectionRefused
                        | ErrorKind::ConnectionReset
                ) => {}
            Err(e) => {
                let _ = tx.send(Event::Failed(format!("receiving on {direction:?} socket: {e}")));
                return;
            }
        }
    }
}
