//! The GNSS receiver of a simulated police car (`utkik-sim run --source CAR --nmea-listen
//! HOST:PORT`): a TCP server that sends the car's pose as NMEA 0183 RMC and GGA sentences, as
//! a receiver behind a serial-to-TCP bridge does, to every connected client.
//!
//! A car has no autopilot, so this replaces the MAVLink telemetry of a drone: the onboard reads
//! it with `telemetry.endpoint = "nmea+tcp://HOST:PORT"`. The position is the antenna's, which
//! the simulation puts at the camera (the route's height above the road); the time is the sim
//! clock's UTC (its epoch plus sim time), the same time base as the video's timestamps, so the
//! onboard pairs frames with fixes exactly as with a drone's telemetry.
//!
//! Sockets only: the sentences come from `utkik_shared::nmea::{write_rmc, write_gga}`. The
//! loop calls [`NmeaServer::broadcast`] at each NMEA epoch; new clients are accepted then, and
//! a client whose socket fails or stays full for [`WRITE_TIMEOUT`] is dropped (a stalled
//! reader must not stall the simulation).

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use utkik_shared::geo::LocalFrame;
use utkik_shared::nmea::{FixReport, write_gga, write_rmc};

use crate::vehicle::Multirotor;

/// Default rate of NMEA epochs (an RMC and a GGA each), Hz: a common car receiver's rate.
pub const DEFAULT_NMEA_RATE_HZ: f64 = 5.0;

/// Default address of the NMEA server: 10110 is the port registered for NMEA 0183 over TCP.
pub const DEFAULT_NMEA_LISTEN: &str = "127.0.0.1:10110";

/// Talker id of the sentences: GPS (`GP`), what the onboard's parser reads from any talker.
pub const TALKER: &str = "GP";

/// Fix quality reported: 1, a standalone GPS fix (a police car has no RTK base).
pub const FIX_QUALITY: u8 = 1;

/// Satellites reported in GGA.
pub const SATELLITES: u8 = 10;

/// HDOP reported in GGA: good open-sky geometry.
pub const HDOP: f64 = 0.8;

/// Longest a write to one client may block before the client is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_millis(200);

/// Below this speed the course over ground is taken from the car's heading (a standing car's
/// velocity direction is undefined), m/s.
const COURSE_FROM_HEADING_BELOW_M_S: f64 = 0.05;

/// The NMEA server could not be started or run.
#[derive(Debug, thiserror::Error)]
pub enum NmeaServerError {
    /// Binding or configuring the listening socket.
    #[error("NMEA server on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Underlying error.
        source: std::io::Error,
    },
    /// Accepting a client failed (not a plain "nobody is waiting").
    #[error("NMEA server on {addr}: accept: {source}")]
    Accept {
        /// The listening address.
        addr: SocketAddr,
        /// Underlying error.
        source: std::io::Error,
    },
}

/// The TCP server and its clients.
#[derive(Debug)]
pub struct NmeaServer {
    listener: TcpListener,
    addr: SocketAddr,
    clients: Vec<(SocketAddr, TcpStream)>,
    /// Epochs sent (to however many clients were connected).
    pub epochs_sent: u64,
}

impl NmeaServer {
    /// Listens on `addr` (port 0: any free port, see [`Self::local_addr`]).
    ///
    /// # Errors
    /// The address cannot be bound.
    pub fn bind(addr: SocketAddr) -> Result<Self, NmeaServerError> {
        let bind_err = |source| NmeaServerError::Bind { addr, source };
        let listener = TcpListener::bind(addr).map_err(bind_err)?;
        listener.set_nonblocking(true).map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        Ok(Self {
            listener,
            addr,
            clients: Vec::new(),
            epochs_sent: 0,
        })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Clients connected now.
    pub fn clients(&self) -> usize {
        self.clients.len()
    }

    /// Takes the clients that connected since the last call.
    fn accept_pending(&mut self) -> Result<(), NmeaServerError> {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    // The accepted socket must block (with a timeout): a non-blocking write
                    // could send half a sentence.
                    let setup = stream
                        .set_nonblocking(false)
                        .and_then(|()| stream.set_write_timeout(Some(WRITE_TIMEOUT)))
                        .and_then(|()| stream.set_nodelay(true));
                    match setup {
                        Ok(()) => {
                            tracing::info!(%peer, "NMEA client connected");
                            self.clients.push((peer, stream));
                        }
                        Err(e) => tracing::warn!(%peer, error = %e, "NMEA client refused: socket setup failed"),
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if matches!(e.kind(), ErrorKind::ConnectionAborted | ErrorKind::Interrupted) => {}
                Err(source) => {
                    return Err(NmeaServerError::Accept {
                        addr: self.addr,
                        source,
                    });
                }
            }
        }
    }

    /// Sends one epoch (RMC then GGA) to every client, after accepting new ones; a client
    /// that fails is dropped (logged).
    ///
    /// # Errors
    /// Accepting failed with something other than "nobody waiting".
    pub fn broadcast(&mut self, fix: &FixReport) -> Result<(), NmeaServerError> {
        self.accept_pending()?;
        let bytes = format!("{}{}", write_rmc(TALKER, fix), write_gga(TALKER, fix));
        self.clients
            .retain_mut(|(peer, stream)| match stream.write_all(bytes.as_bytes()) {
                Ok(()) => true,
                Err(e) => {
                    tracing::info!(%peer, error = %e, "NMEA client dropped");
                    false
                }
            });
        self.epochs_sent += 1;
        Ok(())
    }
}

/// What the car's receiver reports at Unix time `unix_time_usec` for the vehicle state `v`:
/// the antenna (the camera's position) as WGS84 in `frame`, speed and course over ground from
/// the horizontal velocity (the heading when standing), a standalone GPS fix.
pub fn fix_report(frame: &LocalFrame, v: &Multirotor, unix_time_usec: u64) -> FixReport {
    let p = frame.from_enu(v.state.position_enu_m);
    let vel = v.state.velocity_enu_m_s;
    let speed_m_s = vel.truncate().length();
    let course_deg = if speed_m_s < COURSE_FROM_HEADING_BELOW_M_S {
        v.state.yaw_rad.to_degrees()
    } else {
        vel.x.atan2(vel.y).to_degrees()
    }
    .rem_euclid(360.0);
    FixReport {
        time_usec: unix_time_usec,
        lat_deg: p.lat_deg,
        lon_deg: p.lon_deg,
        alt_m_amsl: p.alt_m_amsl,
        speed_m_s,
        course_deg,
        quality: FIX_QUALITY,
        satellites: SATELLITES,
        hdop: HDOP,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Scenario, scenarios_dir};
    use crate::simulation::Simulation;
    use std::io::{BufRead, BufReader};
    use utkik_shared::nmea::{FixTracker, parse_sentence};

    fn car() -> Simulation {
        let s = Scenario::load(&scenarios_dir().join("centre-road.toml")).unwrap();
        let (s, _) = s.for_source("car-1").unwrap();
        Simulation::new(s, 1_800_000_000_000_000)
    }

    #[test]
    fn the_report_is_the_cars_antenna_course_and_speed() {
        let mut sim = car();
        sim.step_to(10_000_000);
        let v = sim.vehicle();
        let r = fix_report(sim.frame(), v, sim.epoch_unix_usec() + sim.time_usec());
        let back = sim.frame().to_enu(&utkik_shared::geo::GeoPoint {
            lat_deg: r.lat_deg,
            lon_deg: r.lon_deg,
            alt_m_amsl: r.alt_m_amsl,
        });
        assert!(
            (back - v.state.position_enu_m).length() < 1e-6,
            "{back} vs {}",
            v.state.position_enu_m
        );
        // Eastbound at the route speed, 1.6 m above the origin's ground.
        assert!((r.course_deg - 90.0).abs() < 1.0, "{}", r.course_deg);
        assert!((r.speed_m_s - 6.0).abs() < 0.1, "{}", r.speed_m_s);
        assert!((r.alt_m_amsl - (18.0 + 1.6)).abs() < 0.05, "{}", r.alt_m_amsl);
        assert_eq!(r.time_usec, 1_800_000_010_000_000);
    }

    #[test]
    fn every_client_gets_every_epoch_and_a_gone_client_is_dropped() {
        let mut server = NmeaServer::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let a = TcpStream::connect(server.local_addr()).unwrap();
        let b = TcpStream::connect(server.local_addr()).unwrap();
        let sim = car();
        let fix = fix_report(sim.frame(), sim.vehicle(), sim.epoch_unix_usec());
        // The kernel may finish the handshake after connect() returns: accept until both are in.
        for _ in 0..100 {
            server.accept_pending().unwrap();
            if server.clients() == 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(server.clients(), 2);
        server.broadcast(&fix).unwrap();
        for stream in [&a, &b] {
            let mut reader = BufReader::new(stream);
            let mut tracker = FixTracker::new();
            let mut last = None;
            for _ in 0..2 {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                last = tracker.push(&parse_sentence(line.as_bytes()).unwrap());
            }
            let got = last.expect("RMC + GGA give a fix");
            assert!((got.lat_deg - fix.lat_deg).abs() < 1e-6 && (got.lon_deg - fix.lon_deg).abs() < 1e-6);
        }
        drop(a);
        drop(b);
        // Writes to a closed peer fail within a few epochs (the first may still be buffered).
        for _ in 0..50 {
            server.broadcast(&fix).unwrap();
            if server.clients() == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(server.clients(), 0);
        assert!(server.epochs_sent >= 2);
    }
}
