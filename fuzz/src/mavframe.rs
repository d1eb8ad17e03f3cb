//! Target `mavframe_decoder`: [`FrameDecoder`] on a byte stream cut into arbitrary reads.
//!
//! Why structure-aware: random bytes almost never carry a valid X.25 CRC, so a byte-level fuzzer
//! would mostly exercise the garbage path. The input is a list of pieces -- raw noise, or a frame
//! (v1, v2, v2 with a 13-byte signature) built from arbitrary header and payload with its CRC
//! computed, optionally corrupted by one XOR -- and a list of read sizes.
//!
//! Properties checked:
//! - every delivered frame re-parses with [`RawFrame::parse`] to itself, and its bytes are the
//!   stream's bytes at the offset the decoder consumed them from;
//! - `frames` counts the delivered frames, and after `finish` delivered bytes + garbage bytes =
//!   bytes pushed;
//! - how the stream is split into reads changes nothing (frames and counters equal those of one
//!   single read);
//! - every planted, uncorrupted frame is delivered unless a delivered frame overlaps it (a
//!   corrupt or noisy neighbour never hides it).

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use utkik_shared::dialect::MavMessage;
use utkik_shared::mavframe::{DecoderStats, FrameDecoder, MAGIC_V1, MAGIC_V2, RawFrame, crc_extra, x25_crc};

/// Every message id our dialect knows, ascending.
pub fn known_ids() -> &'static [u32] {
    static IDS: OnceLock<Vec<u32>> = OnceLock::new();
    IDS.get_or_init(|| {
        use mavlink_core::Message;
        (0..1u32 << 16)
            .filter(|&id| MavMessage::default_message_from_id(id).is_some())
            .collect()
    })
}

/// A frame to plant in the stream.
#[derive(Debug, Arbitrary)]
pub struct FrameSpec {
    /// 0: v1, 1: v2, 2: v2 signed.
    pub kind: u8,
    /// Index into [`known_ids`] (v1 frames use the ids that fit 8 bits); a large value picks an
    /// id the dialect does not know.
    pub id_index: u16,
    /// Header fields.
    pub seq: u8,
    /// Header fields.
    pub sysid: u8,
    /// Header fields.
    pub compid: u8,
    /// v2 compatibility flags (ignored by the spec's receivers).
    pub compat: u8,
    /// Payload bytes (at most 255 used).
    pub payload: Vec<u8>,
    /// Signature bytes (signed frames).
    pub signature: [u8; 13],
    /// Corrupt one byte: (position modulo the frame length, XOR mask; 0 = no change).
    pub corrupt: Option<(u16, u8)>,
}

impl FrameSpec {
    /// The frame's bytes, and whether they are a valid frame of our dialect.
    pub fn build(&self) -> (Vec<u8>, bool) {
        let ids = known_ids();
        let v1 = self.kind % 3 == 0;
        let signed = self.kind % 3 == 2;
        let candidates: Vec<u32> = if v1 {
            ids.iter().copied().filter(|&id| id <= 255).collect()
        } else {
            ids.to_vec()
        };
        let idx = self.id_index as usize;
        let msg_id = if idx < candidates.len() {
            candidates[idx]
        } else if v1 {
            (idx % 256) as u32
        } else {
            idx as u32 | ((self.compat as u32) << 16)
        };
        let payload = &self.payload[..self.payload.len().min(255)];
        let mut f = Vec::with_capacity(payload.len() + 30);
        if v1 {
            f.extend_from_slice(&[
                MAGIC_V1,
                payload.len() as u8,
                self.seq,
                self.sysid,
                self.compid,
                msg_id as u8,
            ]);
        } else {
            let id = msg_id.to_le_bytes();
            f.extend_from_slice(&[
                MAGIC_V2,
                payload.len() as u8,
                u8::from(signed),
                self.compat,
                self.seq,
                self.sysid,
                self.compid,
                id[0],
                id[1],
                id[2],
            ]);
        }
        f.extend_from_slice(payload);
        let extra = crc_extra(msg_id);
        let crc = x25_crc(x25_crc(0xFFFF, &f[1..]), &[extra.unwrap_or(0)]);
        f.extend_from_slice(&crc.to_le_bytes());
        if signed {
            f.extend_from_slice(&self.signature);
        }
        let mut valid = extra.is_some();
        if let Some((pos, mask)) = self.corrupt
            && mask != 0
        {
            let at = pos as usize % f.len();
            f[at] ^= mask;
            // A flip in the signature does not touch the CRC: still a frame for the decoder.
            valid = valid && signed && at >= f.len() - 13;
        }
        (f, valid)
    }
}

/// One piece of the stream.
#[derive(Debug, Arbitrary)]
pub enum Piece {
    /// Bytes as they come (line noise, half frames).
    Noise(Vec<u8>),
    /// A built frame.
    Frame(FrameSpec),
}

/// The whole input.
#[derive(Debug, Arbitrary)]
pub struct StreamInput {
    /// The stream, piece by piece.
    pub pieces: Vec<Piece>,
    /// Read sizes, used in turn (0 is an empty read); empty: one read of everything.
    pub reads: Vec<u16>,
}

/// Runs [`FrameDecoder`] over `stream` pushed in reads of the given sizes (empty: one read), then
/// `finish` (whose frames are included); the delivered frames with the stream offset each starts
/// at, the counters, and the offset of the tail that was still pending when `finish` was called.
pub fn decode_with_offsets(stream: &[u8], reads: &[u16]) -> (Vec<(usize, RawFrame)>, DecoderStats, usize) {
    let mut dec = FrameDecoder::new();
    let mut out = Vec::new();
    let mut pushed = 0usize;
    let take = |dec: &mut FrameDecoder, pushed: usize, out: &mut Vec<(usize, RawFrame)>| {
        while let Some(f) = dec.next_frame() {
            let end = pushed - dec.pending_bytes();
            out.push((end - f.as_bytes().len(), f));
        }
    };
    if reads.is_empty() {
        dec.push(stream);
        pushed = stream.len();
        take(&mut dec, pushed, &mut out);
    } else {
        let mut i = 0;
        while pushed < stream.len() {
            let n = (reads[i % reads.len()] as usize).min(stream.len() - pushed);
            dec.push(&stream[pushed..pushed + n]);
            pushed += n;
            take(&mut dec, pushed, &mut out);
            i += 1;
            if i > stream.len() + reads.len() {
                // Only empty reads left in the list: push the rest at once.
                dec.push(&stream[pushed..]);
                pushed = stream.len();
                take(&mut dec, pushed, &mut out);
            }
        }
    }
    let tail_start = stream.len() - dec.pending_bytes();
    let mut cursor = tail_start;
    for f in dec.finish() {
        // The frames `finish` recovers from the tail, in order: each is the first occurrence of
        // its bytes after the previous one (the decoder scans byte by byte).
        let b = f.as_bytes();
        let at = cursor
            + stream[cursor..]
                .windows(b.len())
                .position(|w| w == b)
                .expect("a frame from finish is in the pending tail");
        cursor = at + b.len();
        out.push((at, f));
    }
    assert_eq!(dec.pending_bytes(), 0, "finish leaves nothing pending");
    (out, dec.stats(), tail_start)
}

/// The target. First byte even: a structured stream ([`StreamInput`]) from the rest; odd: the rest
/// is the stream itself, in one read (seeds from real recordings).
pub fn decoder(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 1 {
        check_stream(rest, &[], &[]);
        return;
    }
    let Ok(input) = StreamInput::arbitrary_take_rest(Unstructured::new(rest)) else {
        return;
    };
    let mut stream = Vec::new();
    let mut planted = Vec::new();
    for p in &input.pieces {
        match p {
            Piece::Noise(b) => stream.extend_from_slice(b),
            Piece::Frame(spec) => {
                let (bytes, valid) = spec.build();
                if valid {
                    planted.push((stream.len(), bytes.len()));
                }
                stream.extend_from_slice(&bytes);
            }
        }
    }
    check_stream(&stream, &input.reads, &planted);
}

/// The properties for one stream (also used by the differential test's corpus).
///
/// # Panics
/// When a property does not hold.
pub fn check_stream(stream: &[u8], reads: &[u16], planted: &[(usize, usize)]) {
    let (frames, stats, _) = decode_with_offsets(stream, reads);
    let mut delivered_bytes = 0u64;
    let mut last_end = 0usize;
    for (at, f) in &frames {
        let b = f.as_bytes();
        assert_eq!(
            RawFrame::parse(b).as_ref(),
            Ok(f),
            "a delivered frame re-parses to itself"
        );
        assert!(*at >= last_end, "frames come in stream order without overlap");
        assert_eq!(
            &stream[*at..*at + b.len()],
            b,
            "a frame is the stream's bytes where it was consumed"
        );
        last_end = at + b.len();
        delivered_bytes += b.len() as u64;
    }
    assert_eq!(stats.frames, frames.len() as u64, "frames counter");
    assert_eq!(
        delivered_bytes + stats.garbage_bytes,
        stream.len() as u64,
        "delivered + garbage bytes = bytes pushed ({stats:?})"
    );
    for &(at, len) in planted {
        let found = frames
            .iter()
            .any(|(f_at, f)| *f_at < at + len && at < f_at + f.as_bytes().len());
        assert!(
            found,
            "planted frame at {at} ({len} bytes) is lost (delivered: {:?})",
            frames.iter().map(|(a, f)| (*a, f.as_bytes().len())).collect::<Vec<_>>()
        );
    }
    if !reads.is_empty() {
        let (whole, whole_stats, _) = decode_with_offsets(stream, &[]);
        assert_eq!(frames, whole, "the split into reads changes the frames");
        assert_eq!(stats, whole_stats, "the split into reads changes the counters");
    }
}
