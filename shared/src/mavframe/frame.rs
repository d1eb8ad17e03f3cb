//! [`RawFrame`]: one whole MAVLink v1 or v2 frame with its exact bytes, and
//! the structural/CRC check shared by the stream decoder and the tlog reader.

use mavlink_core::error::ParserError;
use mavlink_core::{MavHeader, MavlinkVersion, Message};

use super::crc::{crc_extra, x25_crc};

/// Start byte of a MAVLink 1 frame.
pub const MAGIC_V1: u8 = 0xFE;
/// Start byte of a MAVLink 2 frame.
pub const MAGIC_V2: u8 = 0xFD;
/// Header bytes of a v1 frame including the start byte.
const HEADER_V1: usize = 6;
/// Header bytes of a v2 frame including the start byte.
const HEADER_V2: usize = 10;
/// Length of a MAVLink 2 signature (link id, 6-byte timestamp, 6-byte signature).
pub const SIGNATURE_LEN: usize = 13;
/// Largest possible v1 frame.
pub const MAX_FRAME_LEN_V1: usize = HEADER_V1 + 255 + 2;
/// Largest possible v2 frame (signed).
pub const MAX_FRAME_LEN_V2: usize = HEADER_V2 + 255 + 2 + SIGNATURE_LEN;
/// The only incompatibility flag MAVLink 2 defines: the frame is signed.
const INCOMPAT_SIGNED: u8 = 0x01;

/// Wire protocol version of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MavVersion {
    /// MAVLink 1 (start byte 0xFE, 8-bit message id).
    V1,
    /// MAVLink 2 (start byte 0xFD, 24-bit message id, optional signature).
    V2,
}

impl From<MavVersion> for MavlinkVersion {
    fn from(v: MavVersion) -> Self {
        match v {
            MavVersion::V1 => MavlinkVersion::V1,
            MavVersion::V2 => MavlinkVersion::V2,
        }
    }
}

/// Why bytes are not one valid frame of our dialect.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FrameError {
    /// Fewer bytes than the header announces.
    #[error("incomplete MAVLink frame: {have} bytes, need {need}")]
    Incomplete {
        /// Bytes given.
        have: usize,
        /// Bytes the header asks for (at least).
        need: usize,
    },
    /// The first byte is neither 0xFE nor 0xFD.
    #[error("not a MAVLink start byte: 0x{0:02X}")]
    BadMagic(u8),
    /// A MAVLink 2 incompatibility flag we do not understand (the spec says drop).
    #[error("unknown MAVLink 2 incompatibility flags 0x{0:02X}")]
    IncompatFlags(u8),
    /// Checksum mismatch for a known message id.
    #[error("bad CRC for message id {msg_id}: frame says 0x{found:04X}, computed 0x{expected:04X}")]
    BadCrc {
        /// Message id in the header.
        msg_id: u32,
        /// CRC in the frame.
        found: u16,
        /// CRC computed with the dialect's CRC_EXTRA.
        expected: u16,
    },
    /// Message id not in our dialect, so its CRC cannot be checked.
    #[error("message id {0} is not in the utkik dialect")]
    UnknownMsgId(u32),
    /// More bytes than one frame.
    #[error("{extra} bytes after the end of the frame")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
}

/// Outcome of looking at the bytes at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// Not enough bytes to decide (a prefix of a possible frame).
    NeedMore,
    /// A frame of this length with a valid CRC.
    Frame(usize),
    /// Structurally a frame of this length, but the CRC is wrong.
    BadCrc {
        len: usize,
        msg_id: u32,
        found: u16,
        expected: u16,
    },
    /// Structurally a frame of this length, id unknown to the dialect.
    Unknown { len: usize, msg_id: u32 },
    /// Wrong start byte or unknown incompatibility flags.
    NotAFrame,
}

/// Looks at `buf[0..]`: is a whole, valid frame there?
#[inline]
pub(crate) fn scan(buf: &[u8]) -> Scan {
    let Some(&magic) = buf.first() else {
        return Scan::NeedMore;
    };
    let (header, len, msg_id) = match magic {
        MAGIC_V2 => {
            if buf.len() < HEADER_V2 {
                return Scan::NeedMore;
            }
            let incompat = buf[2];
            if incompat & !INCOMPAT_SIGNED != 0 {
                return Scan::NotAFrame;
            }
            let sig = if incompat & INCOMPAT_SIGNED != 0 {
                SIGNATURE_LEN
            } else {
                0
            };
            let msg_id = u32::from_le_bytes([buf[7], buf[8], buf[9], 0]);
            (HEADER_V2, HEADER_V2 + buf[1] as usize + 2 + sig, msg_id)
        }
        MAGIC_V1 => {
            if buf.len() < HEADER_V1 {
                return Scan::NeedMore;
            }
            (HEADER_V1, HEADER_V1 + buf[1] as usize + 2, buf[5] as u32)
        }
        _ => return Scan::NotAFrame,
    };
    if buf.len() < len {
        return Scan::NeedMore;
    }
    let Some(extra) = crc_extra(msg_id) else {
        return Scan::Unknown { len, msg_id };
    };
    let crc_at = header + buf[1] as usize;
    let expected = x25_crc(x25_crc(0xFFFF, &buf[1..crc_at]), &[extra]);
    let found = u16::from_le_bytes([buf[crc_at], buf[crc_at + 1]]);
    if found == expected {
        Scan::Frame(len)
    } else {
        Scan::BadCrc {
            len,
            msg_id,
            found,
            expected,
        }
    }
}

/// One whole MAVLink frame: the exact bytes as received, CRC checked against
/// our dialect. Header fields are read from the bytes on demand.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawFrame {
    bytes: Vec<u8>,
}

impl RawFrame {
    /// Parses exactly one frame from `bytes` (no bytes before or after it).
    ///
    /// # Errors
    /// [`FrameError`] naming what is wrong: start byte, length, flags, CRC,
    /// unknown message id (its CRC cannot be checked), trailing bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, FrameError> {
        let len = Self::check_prefix(bytes)?;
        if len != bytes.len() {
            return Err(FrameError::TrailingBytes {
                extra: bytes.len() - len,
            });
        }
        Ok(Self { bytes: bytes.to_vec() })
    }

    /// Checks that `bytes` starts with one valid frame and returns its length.
    ///
    /// # Errors
    /// As [`RawFrame::parse`], except that trailing bytes are allowed.
    pub fn check_prefix(bytes: &[u8]) -> Result<usize, FrameError> {
        match scan(bytes) {
            Scan::Frame(len) => Ok(len),
            Scan::NeedMore => Err(FrameError::Incomplete {
                have: bytes.len(),
                need: needed_len(bytes),
            }),
            Scan::NotAFrame => match bytes[0] {
                MAGIC_V2 => Err(FrameError::IncompatFlags(bytes[2])),
                b => Err(FrameError::BadMagic(b)),
            },
            Scan::BadCrc {
                msg_id,
                found,
                expected,
                ..
            } => Err(FrameError::BadCrc {
                msg_id,
                found,
                expected,
            }),
            Scan::Unknown { msg_id, .. } => Err(FrameError::UnknownMsgId(msg_id)),
        }
    }

    /// Wraps bytes already known to be one structurally whole frame (the
    /// decoder and the tlog reader checked them). Not public: callers go
    /// through [`RawFrame::parse`].
    pub(crate) fn from_checked(bytes: Vec<u8>) -> Self {
        debug_assert!(matches!(bytes.first(), Some(&MAGIC_V1) | Some(&MAGIC_V2)));
        Self { bytes }
    }

    /// Serializes `msg` into a frame of the given version.
    ///
    /// # Panics
    /// If `version` is V1 and the message id is above 255 (not expressible in
    /// MAVLink 1), or `header.system_id` > 255.
    pub fn encode<M: Message>(version: MavVersion, header: MavHeader, msg: &M) -> Self {
        assert!(
            header.system_id <= 255,
            "system id {} does not fit a frame",
            header.system_id
        );
        assert!(
            version == MavVersion::V2 || msg.message_id() <= 255,
            "message id {} needs MAVLink 2",
            msg.message_id()
        );
        let mut bytes = Vec::with_capacity(64);
        mavlink_core::write_versioned_msg(&mut bytes, version.into(), header, msg)
            .expect("writing into a Vec cannot fail");
        Self { bytes }
    }

    /// The exact bytes of the frame, start byte to CRC (and signature).
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, consuming the frame.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Protocol version (from the start byte).
    #[inline]
    pub fn version(&self) -> MavVersion {
        if self.bytes[0] == MAGIC_V2 {
            MavVersion::V2
        } else {
            MavVersion::V1
        }
    }

    fn header_len(&self) -> usize {
        match self.version() {
            MavVersion::V1 => HEADER_V1,
            MavVersion::V2 => HEADER_V2,
        }
    }

    /// Packet sequence number.
    #[inline]
    pub fn seq(&self) -> u8 {
        match self.version() {
            MavVersion::V1 => self.bytes[2],
            MavVersion::V2 => self.bytes[4],
        }
    }

    /// Sender system id.
    #[inline]
    pub fn sysid(&self) -> u8 {
        match self.version() {
            MavVersion::V1 => self.bytes[3],
            MavVersion::V2 => self.bytes[5],
        }
    }

    /// Sender component id.
    #[inline]
    pub fn compid(&self) -> u8 {
        match self.version() {
            MavVersion::V1 => self.bytes[4],
            MavVersion::V2 => self.bytes[6],
        }
    }

    /// Message id (8 bits in v1, 24 bits in v2).
    #[inline]
    pub fn msg_id(&self) -> u32 {
        match self.version() {
            MavVersion::V1 => self.bytes[5] as u32,
            MavVersion::V2 => u32::from_le_bytes([self.bytes[7], self.bytes[8], self.bytes[9], 0]),
        }
    }

    /// Payload bytes as sent (MAVLink 2 trims trailing zeros).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let h = self.header_len();
        &self.bytes[h..h + self.bytes[1] as usize]
    }

    /// The checksum in the frame.
    pub fn checksum(&self) -> u16 {
        let at = self.header_len() + self.bytes[1] as usize;
        u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]])
    }

    /// Whether the frame carries a MAVLink 2 signature (incompatibility flag 0x01).
    #[inline]
    pub fn is_signed(&self) -> bool {
        self.version() == MavVersion::V2 && self.bytes[2] & INCOMPAT_SIGNED != 0
    }

    /// The 13 signature bytes (link id, 48-bit timestamp, 48-bit signature), if signed.
    pub fn signature(&self) -> Option<&[u8]> {
        self.is_signed()
            .then(|| &self.bytes[self.bytes.len() - SIGNATURE_LEN..])
    }

    /// The header as mavlink-core wants it.
    pub fn header(&self) -> MavHeader {
        MavHeader {
            system_id: self.sysid() as u32,
            component_id: self.compid(),
            sequence: self.seq(),
        }
    }

    /// Parses the payload into a message of dialect `M` (normally
    /// [`crate::dialect::MavMessage`]).
    ///
    /// # Errors
    /// [`ParserError`] for an unknown id or a bad enum value in the payload.
    pub fn decode<M: Message>(&self) -> Result<M, ParserError> {
        M::parse(self.version().into(), self.msg_id(), self.payload())
    }
}

/// How many bytes a frame starting at `buf[0]` needs at least (for error messages).
fn needed_len(buf: &[u8]) -> usize {
    match (buf.first(), buf.get(1), buf.get(2)) {
        (Some(&MAGIC_V2), Some(&len), Some(&flags)) => {
            HEADER_V2 + len as usize + 2 + if flags & INCOMPAT_SIGNED != 0 { SIGNATURE_LEN } else { 0 }
        }
        (Some(&MAGIC_V2), _, _) => HEADER_V2,
        (Some(&MAGIC_V1), Some(&len), _) => HEADER_V1 + len as usize + 2,
        _ => HEADER_V1,
    }
}
