//! [`FrameDecoder`]: cuts whole MAVLink frames out of arbitrary byte chunks
//! (UDP datagrams, TCP reads, a serial port), skipping and counting garbage.
//! It is the one MAVLink decoder of the project: the ground link, the onboard
//! telemetry and out links, replay, the simulator and the benches all cut
//! frames here, so resynchronisation and signing rules exist once.
//!
//! Resynchronisation never jumps over a candidate: when bytes at a start byte
//! fail the check (bad CRC, unknown id, bad flags) only that one start byte is
//! dropped and the search resumes at the next byte, so a good frame that
//! begins inside a corrupt one, or inside line noise, is still found.

use mavlink_core::MavHeader;

use super::frame::{MAGIC_V1, MAGIC_V2, RawFrame, Scan, scan};
use crate::dialect::MavMessage;

/// What a [`FrameDecoder`] has seen so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DecoderStats {
    /// Whole frames delivered (CRC valid).
    pub frames: u64,
    /// Frames parsed into a message by [`FrameDecoder::next_message`].
    pub messages: u64,
    /// Bytes consumed that were not part of a delivered frame (noise, and the
    /// bytes of corrupt or unknown frames).
    pub garbage_bytes: u64,
    /// Candidate frames of a known message id whose CRC did not match.
    pub bad_crc: u64,
    /// Candidate frames whose message id our dialect does not know (their CRC
    /// cannot be checked, so their bytes are treated as garbage).
    pub unknown_msg_id: u64,
    /// Frames with a valid CRC whose payload does not parse (a bad enum
    /// value): skipped by [`FrameDecoder::next_message`].
    pub undecodable: u64,
}

impl DecoderStats {
    /// Candidate frames that were refused: bad CRC, unknown id or undecodable payload.
    pub fn bad_frames(&self) -> u64 {
        self.bad_crc + self.unknown_msg_id + self.undecodable
    }
}

/// A frame and the message of our dialect it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The frame exactly as received (for recording and signature checks).
    pub frame: RawFrame,
    /// Its message.
    pub message: MavMessage,
}

impl Decoded {
    /// Header fields of the frame.
    pub fn header(&self) -> MavHeader {
        self.frame.header()
    }
}

/// Incremental MAVLink v1 + v2 frame decoder for our dialect.
///
/// ```
/// use utkik_shared::mavframe::FrameDecoder;
/// let mut dec = FrameDecoder::new();
/// dec.push(&[0x00, 0x13, 0x37]); // noise
/// assert!(dec.next_frame().is_none());
/// assert_eq!(dec.stats().garbage_bytes, 3);
/// ```
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    /// Bytes before this index are consumed.
    start: usize,
    stats: DecoderStats,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self {
            buf: Vec::with_capacity(4096),
            start: 0,
            stats: DecoderStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// Bytes held back because they may be the start of a frame not yet complete.
    pub fn pending_bytes(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Appends a chunk of the stream. Frames are taken out with
    /// [`FrameDecoder::next_frame`] or by iterating the decoder.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Appends `bytes` and returns every frame they complete.
    pub fn push_collect(&mut self, bytes: &[u8]) -> Vec<RawFrame> {
        self.push(bytes);
        self.by_ref().collect()
    }

    /// The next frame whose payload parses into a message of our dialect; frames
    /// that do not parse are counted in [`DecoderStats::undecodable`] and skipped.
    pub fn next_message(&mut self) -> Option<Decoded> {
        while let Some(frame) = self.next_frame() {
            match frame.decode::<MavMessage>() {
                Ok(message) => {
                    self.stats.messages += 1;
                    return Some(Decoded { frame, message });
                }
                Err(_) => self.stats.undecodable += 1,
            }
        }
        None
    }

    /// Appends `bytes` and returns every message they complete.
    pub fn push_messages(&mut self, bytes: &[u8]) -> Vec<Decoded> {
        self.push(bytes);
        std::iter::from_fn(|| self.next_message()).collect()
    }

    /// Declares the end of the stream and returns the frames still in the pending bytes. A
    /// candidate that can no longer complete is dropped one start byte at a time, as in the middle
    /// of the stream, so a good frame that starts inside it is still delivered; the rest is
    /// garbage. (Found by the fuzz target `mavframe_decoder`: discarding the pending bytes whole
    /// lost such a frame.)
    pub fn finish(&mut self) -> Vec<RawFrame> {
        let mut frames = Vec::new();
        loop {
            if let Some(f) = self.next_frame() {
                frames.push(f);
            } else if self.pending_bytes() > 0 {
                // Pending only because its announced length runs past the end: never a frame.
                self.stats.garbage_bytes += 1;
                self.start += 1;
            } else {
                break;
            }
        }
        self.buf.clear();
        self.start = 0;
        frames
    }

    /// The next whole frame in the buffered bytes, or `None` until more bytes are pushed.
    pub fn next_frame(&mut self) -> Option<RawFrame> {
        loop {
            let rest = &self.buf[self.start..];
            match rest.iter().position(|&b| b == MAGIC_V2 || b == MAGIC_V1) {
                Some(skip) => {
                    self.stats.garbage_bytes += skip as u64;
                    self.start += skip;
                }
                None => {
                    self.stats.garbage_bytes += rest.len() as u64;
                    self.start = self.buf.len();
                    return None;
                }
            }
            match scan(&self.buf[self.start..]) {
                Scan::NeedMore => return None,
                Scan::Frame(len) => {
                    let frame = RawFrame::from_checked(self.buf[self.start..self.start + len].to_vec());
                    self.start += len;
                    self.stats.frames += 1;
                    return Some(frame);
                }
                Scan::BadCrc { .. } => self.stats.bad_crc += 1,
                Scan::Unknown { .. } => self.stats.unknown_msg_id += 1,
                Scan::NotAFrame => {}
            }
            // Drop only the start byte: a good frame may begin inside this one.
            self.stats.garbage_bytes += 1;
            self.start += 1;
        }
    }
}

impl Iterator for FrameDecoder {
    type Item = RawFrame;

    fn next(&mut self) -> Option<RawFrame> {
        self.next_frame()
    }
}
