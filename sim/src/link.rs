//! The simulated autopilot's MAVLink 2 UDP endpoint, like SITL: it binds a
//! local port (for commands) and sends to an `udpout`-style target address
//! and to every peer that has talked to it.
//!
//! COMMAND_LONGs whose command id the dialect does not know cannot be parsed
//! into [`MavMessage`], so they are answered from the raw frame: a
//! COMMAND_ACK with MAV_RESULT_UNSUPPORTED carrying the same numeric id.

use std::net::{SocketAddr, UdpSocket};

use utkik_shared::dialect::{MavCmd, MavMessage, MavResult};
use utkik_shared::mavframe::{FrameDecoder, MavVersion, RawFrame, crc_extra, x25_crc};

use mavlink_core::MavHeader;

/// MAVLink message id of COMMAND_LONG.
const COMMAND_LONG_ID: u32 = 76;
/// MAVLink message id of COMMAND_ACK.
const COMMAND_ACK_ID: u32 = 77;

/// The link could not be set up or used.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The local port is taken (or not ours to bind).
    #[error("cannot bind MAVLink UDP port {addr} (is another simulator or autopilot using it?)")]
    Bind {
        /// Address asked for.
        addr: SocketAddr,
        /// Underlying error.
        source: std::io::Error,
    },
    /// Socket error while sending or receiving.
    #[error("MAVLink UDP socket {addr}: {source}")]
    Io {
        /// Local address.
        addr: SocketAddr,
        /// Underlying error.
        source: std::io::Error,
    },
}

/// A received message: parsed, or a COMMAND_LONG with an unknown command id.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A message of the dialect.
    Message(MavHeader, Box<MavMessage>),
    /// COMMAND_LONG whose command id is not in the dialect (already answered UNSUPPORTED).
    UnknownCommand {
        /// Sender.
        header: MavHeader,
        /// Numeric command id.
        command: u16,
    },
}

/// UDP endpoint of the simulated autopilot.
#[derive(Debug)]
pub struct MavLink {
    socket: UdpSocket,
    local: SocketAddr,
    targets: Vec<SocketAddr>,
    peers: Vec<SocketAddr>,
    system_id: u32,
    component_id: u8,
    sequence: u8,
    /// Messages sent.
    pub sent: u64,
}

impl MavLink {
    /// Bind `listen` (port 0 = any free port) and send to every address of
    /// `targets` (none, one, or several: onboard and ground) and to peers.
    pub fn bind(listen: SocketAddr, targets: impl IntoIterator<Item = SocketAddr>) -> Result<Self, LinkError> {
        let socket = UdpSocket::bind(listen).map_err(|source| LinkError::Bind { addr: listen, source })?;
        let local = socket
            .local_addr()
            .map_err(|source| LinkError::Io { addr: listen, source })?;
        socket
            .set_nonblocking(true)
            .map_err(|source| LinkError::Io { addr: local, source })?;
        Ok(Self {
            socket,
            local,
            targets: targets.into_iter().collect(),
            peers: Vec::new(),
            system_id: 1,
            component_id: 1,
            sequence: 0,
            sent: 0,
        })
    }

    /// The MAVLink system id this autopilot sends as (default 1; each vehicle of a multi-vehicle
    /// run has its own, as SITL instances do).
    pub fn set_system_id(&mut self, system_id: u8) {
        self.system_id = u32::from(system_id);
    }

    /// Local address (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    fn header(&mut self) -> MavHeader {
        let h = MavHeader {
            system_id: self.system_id,
            component_id: self.component_id,
            sequence: self.sequence,
        };
        self.sequence = self.sequence.wrapping_add(1);
        h
    }

    fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        let mut sent_to: Vec<SocketAddr> = Vec::with_capacity(self.peers.len() + 1);
        for addr in self.targets.iter().chain(self.peers.iter()) {
            if sent_to.contains(addr) {
                continue;
            }
            sent_to.push(*addr);
            match self.socket.send_to(bytes, addr) {
                Ok(_) => {}
                // Nobody listening yet (ICMP port unreachable) is normal for a UDP autopilot.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(source) => {
                    return Err(LinkError::Io {
                        addr: self.local,
                        source,
                    });
                }
            }
        }
        self.sent += 1;
        Ok(())
    }

    /// Send one message as a MAVLink 2 frame.
    pub fn send(&mut self, msg: &MavMessage) -> Result<(), LinkError> {
        let header = self.header();
        let frame = RawFrame::encode(MavVersion::V2, header, msg);
        self.send_bytes(frame.as_bytes())
    }

    /// Everything received since the last call (non-blocking). Senders become peers.
    pub fn poll(&mut self) -> Result<Vec<Incoming>, LinkError> {
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        loop {
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    if !self.peers.contains(&from) {
                        self.peers.push(from);
                    }
                    let mut dec = FrameDecoder::new();
                    for frame in dec.push_collect(&buf[..n]) {
                        let header = frame.header();
                        match frame.decode::<MavMessage>() {
                            Ok(msg) => out.push(Incoming::Message(header, Box::new(msg))),
                            Err(_) if frame.msg_id() == COMMAND_LONG_ID => {
                                let p = frame.payload();
                                // COMMAND_LONG wire order: 7 f32 params, then command (u16).
                                let command = u16::from_le_bytes([
                                    p.get(28).copied().unwrap_or(0),
                                    p.get(29).copied().unwrap_or(0),
                                ]);
                                self.send_unsupported_raw(command, (header.system_id as u8, header.component_id))?;
                                out.push(Incoming::UnknownCommand { header, command });
                            }
                            Err(_) => {}
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(source) => {
                    return Err(LinkError::Io {
                        addr: self.local,
                        source,
                    });
                }
            }
        }
        Ok(out)
    }

    /// COMMAND_ACK(UNSUPPORTED) for a command id the dialect lacks: encode an
    /// ACK for a known command, patch the id into the payload, redo the CRC.
    fn send_unsupported_raw(&mut self, command: u16, requester: (u8, u8)) -> Result<(), LinkError> {
        let ack = crate::telemetry::command_ack(
            MavCmd::MAV_CMD_NAV_WAYPOINT,
            MavResult::MAV_RESULT_UNSUPPORTED,
            requester,
        );
        let header = self.header();
        let mut bytes = RawFrame::encode(MavVersion::V2, header, &ack).into_bytes();
        // MAVLink 2: 10-byte header, payload, CRC (no signature here).
        let len = bytes[1] as usize;
        bytes[10..12].copy_from_slice(&command.to_le_bytes());
        let mut crc = x25_crc(0xFFFF, &bytes[1..10 + len]);
        crc = x25_crc(crc, &[crc_extra(COMMAND_ACK_ID).unwrap_or(143)]);
        bytes[10 + len..12 + len].copy_from_slice(&crc.to_le_bytes());
        self.send_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utkik_shared::dialect::{COMMAND_LONG_DATA, HEARTBEAT_DATA};

    #[test]
    fn busy_port_is_a_clear_error() {
        let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = MavLink::bind(addr, None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&addr.to_string()) && msg.contains("cannot bind"), "{msg}");
    }

    #[test]
    fn sends_to_target_and_answers_unknown_command_ids() {
        let gcs = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut link = MavLink::bind("127.0.0.1:0".parse().unwrap(), Some(gcs.local_addr().unwrap())).unwrap();
        link.send(&MavMessage::HEARTBEAT(HEARTBEAT_DATA::default())).unwrap();
        let mut buf = [0u8; 512];
        let (n, _) = gcs.recv_from(&mut buf).unwrap();
        let frame = RawFrame::parse(&buf[..n]).unwrap();
        assert!(matches!(
            frame.decode::<MavMessage>().unwrap(),
            MavMessage::HEARTBEAT(_)
        ));

        // A COMMAND_LONG with command id 60999 (in no dialect).
        let cmd = MavMessage::COMMAND_LONG(COMMAND_LONG_DATA {
            command: MavCmd::MAV_CMD_NAV_WAYPOINT,
            target_system: 1,
            target_component: 1,
            ..Default::default()
        });
        let h = MavHeader {
            system_id: 255,
            component_id: 190,
            sequence: 0,
        };
        let mut bytes = RawFrame::encode(MavVersion::V2, h, &cmd).into_bytes();
        let len = bytes[1] as usize;
        bytes[10 + 28..10 + 30].copy_from_slice(&60999u16.to_le_bytes());
        let mut crc = x25_crc(0xFFFF, &bytes[1..10 + len]);
        crc = x25_crc(crc, &[crc_extra(COMMAND_LONG_ID).unwrap()]);
        bytes[10 + len..12 + len].copy_from_slice(&crc.to_le_bytes());
        gcs.send_to(&bytes, link.local_addr()).unwrap();
        let incoming = loop {
            let v = link.poll().unwrap();
            if !v.is_empty() {
                break v;
            }
            std::thread::yield_now();
        };
        assert!(
            matches!(incoming[0], Incoming::UnknownCommand { command: 60999, .. }),
            "{incoming:?}"
        );
        let (n, _) = gcs.recv_from(&mut buf).unwrap();
        let ack = RawFrame::parse(&buf[..n]).unwrap();
        assert_eq!(ack.msg_id(), COMMAND_ACK_ID);
        assert_eq!(u16::from_le_bytes([ack.payload()[0], ack.payload()[1]]), 60999);
        assert_eq!(ack.payload()[2], MavResult::MAV_RESULT_UNSUPPORTED as u8);
    }
}
