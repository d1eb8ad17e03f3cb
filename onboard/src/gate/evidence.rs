//! The evidence crop of a possible match (LAW.md section 8: unblurred face
//! images exist only for authorized matches) and its transfer with the
//! standard MAVLink image messages: DATA_TRANSMISSION_HANDSHAKE (JPEG, size,
//! packets) followed by ENCAPSULATED_DATA packets of 253 bytes.

use utkik_shared::dialect::{
    DATA_TRANSMISSION_HANDSHAKE_DATA, ENCAPSULATED_DATA_DATA, MavMessage, MavlinkDataStreamType,
};

use crate::frame::RgbFrame;
use crate::track::BoxPx;

/// Bytes of image data per ENCAPSULATED_DATA packet.
pub const PACKET_BYTES: usize = 253;
/// JPEG quality of evidence crops.
pub const JPEG_QUALITY: u8 = 85;
/// The crop is the face box grown by this share of its size on every side.
pub const MARGIN: f64 = 0.4;

/// A JPEG evidence crop.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The JPEG bytes.
    pub jpeg: Vec<u8>,
    /// Width in pixels.
    pub width_px: u32,
    /// Height in pixels.
    pub height_px: u32,
}

impl Evidence {
    /// Cuts the face box (grown by [`MARGIN`], clamped to the frame) out of `frame` as JPEG.
    /// `None` when the box lies outside the frame.
    pub fn crop(frame: &RgbFrame, bbox: &BoxPx) -> Option<Self> {
        let (w, h) = (bbox.x1 - bbox.x0, bbox.y1 - bbox.y0);
        let x0 = (bbox.x0 - MARGIN * w).floor().max(0.0) as u32;
        let y0 = (bbox.y0 - MARGIN * h).floor().max(0.0) as u32;
        let x1 = ((bbox.x1 + MARGIN * w).ceil() as u32).min(frame.width);
        let y1 = ((bbox.y1 + MARGIN * h).ceil() as u32).min(frame.height);
        if x1 <= x0 || y1 <= y0 {
            return None;
        }
        let (cw, ch) = (x1 - x0, y1 - y0);
        let mut rgb = Vec::with_capacity((cw * ch * 3) as usize);
        for y in y0..y1 {
            let row = (y * frame.width) as usize * 3;
            rgb.extend_from_slice(&frame.data[row + x0 as usize * 3..row + x1 as usize * 3]);
        }
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY)
            .encode(&rgb, cw, ch, image::ExtendedColorType::Rgb8)
            .ok()?;
        Some(Self {
            jpeg,
            width_px: cw,
            height_px: ch,
        })
    }
}

/// The handshake and the data packets of one evidence transfer.
pub fn evidence_messages(e: &Evidence) -> Vec<MavMessage> {
    let packets = e.jpeg.len().div_ceil(PACKET_BYTES);
    let mut out = vec![MavMessage::DATA_TRANSMISSION_HANDSHAKE(
        DATA_TRANSMISSION_HANDSHAKE_DATA {
            mavtype: MavlinkDataStreamType::MAVLINK_DATA_STREAM_IMG_JPEG,
            size: e.jpeg.len() as u32,
            width: e.width_px.min(u16::MAX as u32) as u16,
            height: e.height_px.min(u16::MAX as u32) as u16,
            packets: packets as u16,
            payload: PACKET_BYTES as u8,
            jpg_quality: JPEG_QUALITY,
        },
    )];
    for (i, chunk) in e.jpeg.chunks(PACKET_BYTES).enumerate() {
        let mut data = [0u8; PACKET_BYTES];
        data[..chunk.len()].copy_from_slice(chunk);
        out.push(MavMessage::ENCAPSULATED_DATA(ENCAPSULATED_DATA_DATA {
            seqnr: i as u16,
            data,
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_is_a_jpeg_sent_in_253_byte_packets() {
        let (w, h) = (64u32, 48u32);
        let data: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let frame = RgbFrame::new(w, h, data, 1).unwrap();
        let e = Evidence::crop(
            &frame,
            &BoxPx {
                x0: 10.0,
                y0: 10.0,
                x1: 30.0,
                y1: 30.0,
            },
        )
        .unwrap();
        assert_eq!(&e.jpeg[..2], &[0xFF, 0xD8], "JPEG SOI");
        assert_eq!((e.width_px, e.height_px), (36, 36), "20 px box + 40 % on each side");
        let msgs = evidence_messages(&e);
        let MavMessage::DATA_TRANSMISSION_HANDSHAKE(hs) = &msgs[0] else {
            panic!("handshake first")
        };
        assert_eq!(hs.size as usize, e.jpeg.len());
        assert_eq!(hs.packets as usize, msgs.len() - 1);
        let mut joined = Vec::new();
        for m in &msgs[1..] {
            let MavMessage::ENCAPSULATED_DATA(d) = m else { panic!() };
            joined.extend_from_slice(&d.data);
        }
        assert_eq!(&joined[..e.jpeg.len()], &e.jpeg[..]);
    }
}
