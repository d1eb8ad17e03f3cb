//! The evidence crop of a possible match (LAW.md section 8: unblurred face
//! images exist only for authorized matches) and its transfer with the
//! standard MAVLink image messages: DATA_TRANSMISSION_HANDSHAKE (JPEG, size,
//! packets) followed by ENCAPSULATED_DATA packets of 253 bytes.
//!
//! With the ground station's public key (`gate.ground_seal_public`) every crop and plate image
//! is sealed to it ([`Evidence::seal`], `utkik_shared::seal`: HPKE, X25519 + ChaCha20-Poly1305)
//! before it is stored or queued, so the payload store, the outbox and the radio carry only
//! ciphertext that no key on the drone opens. The transfer is the same; the handshake's `size`
//! and the alert's size and CRC are those of the sealed bytes, and the alert's `image_sealed`
//! says so.

use utkik_shared::dialect::{
    DATA_TRANSMISSION_HANDSHAKE_DATA, ENCAPSULATED_DATA_DATA, MavMessage, MavlinkDataStreamType,
};

use utkik_shared::seal::{ImageAad, SealError, SealPublicKey};

use crate::frame::RgbFrame;
use crate::track::BoxPx;

/// Bytes of image data per ENCAPSULATED_DATA packet.
pub const PACKET_BYTES: usize = 253;
/// JPEG quality of evidence crops.
pub const JPEG_QUALITY: u8 = 85;
/// The crop is the face box grown by this share of its size on every side.
pub const MARGIN: f64 = 0.4;

/// A JPEG evidence crop (or plate image), in clear or sealed to the ground station's key.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The JPEG bytes; after [`Evidence::seal`], the sealed JPEG (`sealed`).
    pub jpeg: Vec<u8>,
    /// Whether `jpeg` is sealed to the ground station's key (`utkik_shared::seal`).
    pub sealed: bool,
    /// Width in pixels.
    pub width_px: u32,
    /// Height in pixels.
    pub height_px: u32,
    /// JPEG quality it was encoded with.
    pub quality: u8,
}

impl Evidence {
    /// Cuts the face box (grown by [`MARGIN`], clamped to the frame) out of `frame` as JPEG.
    /// `None` when the box lies outside the frame.
    pub fn crop(frame: &RgbFrame, bbox: &BoxPx) -> Option<Self> {
        Self::crop_with_margins(frame, bbox, [MARGIN; 4], JPEG_QUALITY)
    }

    /// Cuts `bbox` grown by `margins` (left, top, right, bottom, as shares of the box's width
    /// and height), clamped to the frame, out of `frame` as JPEG of `quality`. `None` when the
    /// box lies outside the frame.
    pub fn crop_with_margins(frame: &RgbFrame, bbox: &BoxPx, margins: [f64; 4], quality: u8) -> Option<Self> {
        let (w, h) = (bbox.x1 - bbox.x0, bbox.y1 - bbox.y0);
        let [left, top, right, bottom] = margins;
        let x0 = (bbox.x0 - left * w).floor().max(0.0) as u32;
        let y0 = (bbox.y0 - top * h).floor().max(0.0) as u32;
        let x1 = ((bbox.x1 + right * w).ceil().max(0.0) as u32).min(frame.width);
        let y1 = ((bbox.y1 + bottom * h).ceil().max(0.0) as u32).min(frame.height);
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
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality)
            .encode(&rgb, cw, ch, image::ExtendedColorType::Rgb8)
            .ok()?;
        Some(Self {
            jpeg,
            width_px: cw,
            height_px: ch,
            quality,
            sealed: false,
        })
    }

    /// Seals the image to the ground station's public key for the alert `aad` (system id, alert
    /// id, kind): from here on only the station's secret key opens it.
    ///
    /// # Errors
    /// [`SealError::UnusablePublicKey`] (never for a key that loaded: loading makes a trial
    /// sealing).
    pub fn seal(mut self, pk: &SealPublicKey, aad: &ImageAad) -> Result<Self, SealError> {
        debug_assert!(!self.sealed, "an image is sealed once");
        self.jpeg = utkik_shared::seal::seal(pk, aad, &self.jpeg)?;
        self.sealed = true;
        Ok(self)
    }

    /// `image_sealed` of the alert message: 1 sealed to the ground station's key, 0 clear.
    pub fn sealed_flag(&self) -> u8 {
        u8::from(self.sealed)
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
            jpg_quality: e.quality,
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
        assert_eq!(e.quality, JPEG_QUALITY);
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
        assert_eq!(hs.jpg_quality, JPEG_QUALITY);
    }

    #[test]
    fn margins_are_per_side_and_clamped_to_the_frame() {
        let frame = RgbFrame::new(100, 80, vec![128; 100 * 80 * 3], 1).unwrap();
        let b = BoxPx {
            x0: 40.0,
            y0: 50.0,
            x1: 60.0,
            y1: 60.0,
        };
        // 20x10 box: 1.0 width left/right, 2.0 heights up, 0.5 down.
        let e = Evidence::crop_with_margins(&frame, &b, [1.0, 2.0, 1.0, 0.5], 60).unwrap();
        assert_eq!((e.width_px, e.height_px, e.quality), (60, 35, 60));
        // Near the edge the crop is cut at the frame, not shifted.
        let edge = BoxPx {
            x0: 90.0,
            y0: 0.0,
            x1: 100.0,
            y1: 10.0,
        };
        let e = Evidence::crop_with_margins(&frame, &edge, [1.0, 1.0, 1.0, 1.0], 60).unwrap();
        assert_eq!((e.width_px, e.height_px), (20, 20));
        let outside = BoxPx {
            x0: 200.0,
            y0: 200.0,
            x1: 220.0,
            y1: 210.0,
        };
        assert!(Evidence::crop_with_margins(&frame, &outside, [0.0; 4], 60).is_none());
    }
}
