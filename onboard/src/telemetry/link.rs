//! The autopilot link: a thread that reads MAVLink from UDP (listen), TCP (connect) or a serial
//! port, decodes it, and keeps the [`PoseBuffer`] current. A lost TCP/serial connection is
//! retried with back-off; garbage is counted by the decoder (`utkik_shared::mavframe`, the one
//! MAVLink decoder of the project) and skipped.

use std::io::Read;
use std::net::{TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use utkik_shared::mavframe::FrameDecoder;

use super::pose::PoseBuffer;
use crate::shutdown::Shutdown;

/// Where autopilot telemetry comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelemetryEndpoint {
    /// Listen on a UDP address (the autopilot or SITL sends to it).
    Udp(String),
    /// Connect to a TCP server.
    Tcp(String),
    /// A serial device at a baud rate.
    Serial {
        /// Device path.
        path: String,
        /// Baud rate.
        baud: u32,
    },
}

/// Why an endpoint string is wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("telemetry endpoint {endpoint:?}: {what} (use udp://HOST:PORT, tcp://HOST:PORT or serial:///dev/ttyX:BAUD)")]
pub struct EndpointError {
    /// The string given.
    pub endpoint: String,
    /// What is wrong.
    pub what: String,
}

impl TelemetryEndpoint {
    /// Parses `udp://0.0.0.0:14540`, `tcp://127.0.0.1:5760`, `serial:///dev/ttyACM0:57600`.
    pub fn parse(s: &str) -> Result<Self, EndpointError> {
        let err = |what: &str| EndpointError {
            endpoint: s.into(),
            what: what.into(),
        };
        let (scheme, rest) = s.split_once("://").ok_or_else(|| err("missing scheme"))?;
        match scheme {
            "udp" | "tcp" => {
                let (_, port) = rest.rsplit_once(':').ok_or_else(|| err("missing :PORT"))?;
                port.parse::<u16>().map_err(|_| err("bad port"))?;
                Ok(if scheme == "udp" {
                    Self::Udp(rest.into())
                } else {
                    Self::Tcp(rest.into())
                })
            }
            "serial" => {
                let (path, baud) = rest.rsplit_once(':').ok_or_else(|| err("missing :BAUD"))?;
                let baud = baud.parse().map_err(|_| err("bad baud rate"))?;
                Ok(Self::Serial {
                    path: path.into(),
                    baud,
                })
            }
            _ => Err(err("unknown scheme")),
        }
    }
}

/// Telemetry counters for the status report.
#[derive(Debug, Default)]
pub struct TelemetryStatus {
    /// Messages decoded.
    pub messages: AtomicU64,
    /// Bytes skipped as garbage.
    pub garbage_bytes: AtomicU64,
    /// Frames rejected (bad CRC or unknown id).
    pub bad_frames: AtomicU64,
    /// Connection attempts that failed or connections lost.
    pub link_errors: AtomicU64,
}

/// A UDP endpoint bound before the thread starts (so a busy port is a start-up error and tests
/// can bind port 0 and read the address back).
pub fn bind_udp(address: &str) -> std::io::Result<UdpSocket> {
    let s = UdpSocket::bind(address)?;
    s.set_read_timeout(Some(Duration::from_millis(100)))?;
    Ok(s)
}

/// Reads telemetry until `shutdown`. `udp` must be given for [`TelemetryEndpoint::Udp`]
/// (bound with [`bind_udp`]).
pub fn run_telemetry(
    endpoint: &TelemetryEndpoint,
    udp: Option<UdpSocket>,
    poses: Arc<Mutex<PoseBuffer>>,
    status: Arc<TelemetryStatus>,
    shutdown: &Shutdown,
) {
    let mut decoder = FrameDecoder::new();
    let feed = |bytes: &[u8], decoder: &mut FrameDecoder| {
        let msgs = decoder.push_messages(bytes);
        if !msgs.is_empty() {
            let mut p = poses.lock().unwrap_or_else(|e| e.into_inner());
            for d in &msgs {
                p.handle(&d.message);
            }
        }
        let s = decoder.stats();
        status.messages.store(s.messages, Ordering::Relaxed);
        status.garbage_bytes.store(s.garbage_bytes, Ordering::Relaxed);
        status.bad_frames.store(s.bad_frames(), Ordering::Relaxed);
    };
    let mut buf = vec![0u8; 65_536];
    match endpoint {
        TelemetryEndpoint::Udp(_) => {
            let Some(socket) = udp else {
                tracing::error!("UDP telemetry endpoint without a bound socket");
                return;
            };
            while !shutdown.is_triggered() {
                match socket.recv_from(&mut buf) {
                    Ok((n, _)) => {
                        // Each datagram holds whole frames: a partial frame left by garbage must
                        // not swallow the next datagram's start.
                        feed(&buf[..n], &mut decoder);
                    }
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                    Err(e) => {
                        status.link_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!("telemetry UDP receive: {e}");
                        shutdown.sleep(Duration::from_millis(100));
                    }
                }
            }
        }
        TelemetryEndpoint::Tcp(_) | TelemetryEndpoint::Serial { .. } => {
            let mut backoff = Duration::from_millis(250);
            while !shutdown.is_triggered() {
                let stream: std::io::Result<Box<dyn Read + Send>> = match endpoint {
                    TelemetryEndpoint::Tcp(a) => TcpStream::connect(a).and_then(|s| {
                        s.set_read_timeout(Some(Duration::from_millis(100)))?;
                        Ok(Box::new(s) as Box<dyn Read + Send>)
                    }),
                    TelemetryEndpoint::Serial { path, baud } => serialport::new(path, *baud)
                        .timeout(Duration::from_millis(100))
                        .open()
                        .map(|p| Box::new(p) as Box<dyn Read + Send>)
                        .map_err(std::io::Error::other),
                    TelemetryEndpoint::Udp(_) => unreachable!("handled above"),
                };
                let mut stream = match stream {
                    Ok(s) => s,
                    Err(e) => {
                        status.link_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(?endpoint, retry_ms = backoff.as_millis() as u64, "telemetry link: {e}");
                        shutdown.sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                };
                backoff = Duration::from_millis(250);
                while !shutdown.is_triggered() {
                    match stream.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => feed(&buf[..n], &mut decoder),
                        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                        }
                        Err(e) => {
                            tracing::warn!("telemetry link lost: {e}");
                            break;
                        }
                    }
                }
                status.link_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::pose::PoseConfig;
    use mavlink_core::MavHeader;
    use utkik_shared::dialect::{MavMessage, SYSTEM_TIME_DATA};
    use utkik_shared::mavframe::encode_v2;

    #[test]
    fn endpoints_parse_and_errors_name_the_string() {
        assert_eq!(
            TelemetryEndpoint::parse("udp://0.0.0.0:14540").unwrap(),
            TelemetryEndpoint::Udp("0.0.0.0:14540".into())
        );
        assert_eq!(
            TelemetryEndpoint::parse("serial:///dev/ttyUSB0:57600").unwrap(),
            TelemetryEndpoint::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 57_600
            }
        );
        let e = TelemetryEndpoint::parse("udp://host:x").unwrap_err();
        assert!(e.to_string().contains("udp://host:x") && e.to_string().contains("bad port"));
    }

    #[test]
    fn udp_telemetry_with_garbage_reaches_the_pose_buffer() {
        let socket = bind_udp("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let poses = Arc::new(Mutex::new(PoseBuffer::new(PoseConfig {
            max_age_usec: 1,
            fixed_pitch_rad: None,
        })));
        let status = Arc::new(TelemetryStatus::default());
        let shutdown = Shutdown::new();
        let (p, s, sd) = (poses.clone(), status.clone(), shutdown.clone());
        let h = std::thread::spawn(move || {
            run_telemetry(&TelemetryEndpoint::Udp(addr.to_string()), Some(socket), p, s, &sd)
        });
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(b"\x00\x01not mavlink at all", addr).unwrap();
        let frame = encode_v2(
            MavHeader {
                system_id: 1,
                component_id: 1,
                sequence: 0,
            },
            &MavMessage::SYSTEM_TIME(SYSTEM_TIME_DATA {
                time_unix_usec: 5_000_000,
                time_boot_ms: 1_000,
            }),
        );
        tx.send_to(&frame, addr).unwrap();
        while status.messages.load(Ordering::Relaxed) < 1 {
            std::thread::yield_now();
        }
        assert!(poses.lock().unwrap().time_synced());
        assert_eq!(status.garbage_bytes.load(Ordering::Relaxed), 20);
        shutdown.trigger();
        h.join().unwrap();
    }

    #[test]
    fn tcp_telemetry_survives_a_dropped_connection() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let poses = Arc::new(Mutex::new(PoseBuffer::new(PoseConfig {
            max_age_usec: 1,
            fixed_pitch_rad: None,
        })));
        let status = Arc::new(TelemetryStatus::default());
        let shutdown = Shutdown::new();
        let (p, s, sd) = (poses.clone(), status.clone(), shutdown.clone());
        let h = std::thread::spawn(move || run_telemetry(&TelemetryEndpoint::Tcp(addr.to_string()), None, p, s, &sd));
        let frame = |boot_ms: u32| {
            encode_v2(
                MavHeader {
                    system_id: 1,
                    component_id: 1,
                    sequence: 0,
                },
                &MavMessage::SYSTEM_TIME(SYSTEM_TIME_DATA {
                    time_unix_usec: 5_000_000,
                    time_boot_ms: boot_ms,
                }),
            )
        };
        // First connection: half a frame, then the connection drops.
        let (mut c, _) = listener.accept().unwrap();
        let f = frame(1_000);
        c.write_all(&f[..5]).unwrap();
        drop(c);
        // The link reconnects; a whole frame now arrives.
        let (mut c, _) = listener.accept().unwrap();
        c.write_all(&f).unwrap();
        while status.messages.load(Ordering::Relaxed) < 1 {
            std::thread::yield_now();
        }
        assert!(status.link_errors.load(Ordering::Relaxed) >= 1);
        assert!(poses.lock().unwrap().time_synced());
        shutdown.trigger();
        h.join().unwrap();
    }

    #[test]
    fn serial_telemetry_over_a_pseudo_terminal() {
        use serialport::SerialPort;
        use std::io::Write;
        let (mut master, slave) = serialport::TTYPort::pair().expect("a pty pair");
        let path = slave.name().expect("the slave has a path");
        let poses = Arc::new(Mutex::new(PoseBuffer::new(PoseConfig {
            max_age_usec: 1,
            fixed_pitch_rad: None,
        })));
        let status = Arc::new(TelemetryStatus::default());
        let shutdown = Shutdown::new();
        let (p, s, sd) = (poses.clone(), status.clone(), shutdown.clone());
        let ep = TelemetryEndpoint::Serial { path, baud: 57_600 };
        let h = std::thread::spawn(move || run_telemetry(&ep, None, p, s, &sd));
        let f = encode_v2(
            MavHeader {
                system_id: 1,
                component_id: 1,
                sequence: 0,
            },
            &MavMessage::SYSTEM_TIME(SYSTEM_TIME_DATA {
                time_unix_usec: 5_000_000,
                time_boot_ms: 1_000,
            }),
        );
        // Line noise first, then the frame, written until the reader has opened the port and seen it.
        while status.messages.load(Ordering::Relaxed) < 1 {
            master.write_all(b"\x55\xAA").unwrap();
            master.write_all(&f).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(poses.lock().unwrap().time_synced());
        assert!(status.garbage_bytes.load(Ordering::Relaxed) >= 2);
        shutdown.trigger();
        h.join().unwrap();
        drop(slave);
    }
}
