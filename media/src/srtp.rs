//! SRTP for the masked re-stream (issue 17 item 4): the drone's video to the ground is
//! encrypted and authenticated on the radio, so a listener sees neither the masked picture nor
//! can inject frames.
//!
//! GStreamer's `srtpenc` / `srtpdec` (libsrtp 2, `gstreamer1.0-plugins-bad`) with AES-256-GCM
//! (RFC 7714: authenticated encryption, no separate HMAC; a 44-byte master key = 32-byte key +
//! 12-byte salt) for RTP and RTCP. The key is set at start-up on both ends from the same key
//! file (`utkik_shared::video_key`, made by `utkik-ground video-key new`, given to the drone at
//! pre-flight like the link key): a static pre-shared key, no in-band exchange (the radio is
//! one hop between two ends the crew set up together). SRTP's per-packet index keeps a static
//! key safe for 2^48 packets per SSRC; each sender start picks a new random SSRC.
//!
//! The key never appears in a launch description (those are logged): it is set on the
//! elements as properties and caps after parsing. The RTP header, including the capture-time
//! extension, stays in clear (authenticated, not encrypted), as SRTP defines: times and
//! sequence numbers are metadata, the picture is not.

use gstreamer as gst;
use gstreamer::prelude::*;

/// Bytes of a master key + salt for AES-256-GCM.
pub const SRTP_KEY_LEN: usize = 44;

/// The cipher of RTP and RTCP (GStreamer's enum nick).
pub const SRTP_CIPHER: &str = "aes-256-gcm";

/// An SRTP master key + salt. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKey([u8; SRTP_KEY_LEN]);

impl std::fmt::Debug for SrtpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SrtpKey(..)")
    }
}

/// A key of the wrong length.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("SRTP master key + salt must be {SRTP_KEY_LEN} bytes (AES-256-GCM), got {0}")]
pub struct SrtpKeyLength(pub usize);

impl SrtpKey {
    /// The key from its 44 bytes.
    ///
    /// # Errors
    /// [`SrtpKeyLength`] for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SrtpKeyLength> {
        bytes.try_into().map(Self).map_err(|_| SrtpKeyLength(bytes.len()))
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; SRTP_KEY_LEN] {
        &self.0
    }

    fn buffer(&self) -> gst::Buffer {
        gst::Buffer::from_slice(self.0)
    }

    /// Sets the key and cipher on an `srtpenc` element.
    pub(crate) fn configure_encoder(&self, srtpenc: &gst::Element) {
        srtpenc.set_property("key", self.buffer());
        for p in ["rtp-cipher", "rtcp-cipher"] {
            srtpenc.set_property_from_str(p, SRTP_CIPHER);
        }
        // GCM authenticates itself: libsrtp refuses a separate HMAC with it.
        for p in ["rtp-auth", "rtcp-auth"] {
            srtpenc.set_property_from_str(p, "null");
        }
    }

    /// `application/x-srtp` caps for `srtpdec`: the RTP caps `rtp_caps` (fields kept) with this
    /// key and cipher, for every SSRC.
    pub(crate) fn decoder_caps(&self, rtp_caps: &str) -> Result<gst::Caps, String> {
        let rtp: gst::Caps = rtp_caps.parse().map_err(|e| format!("caps {rtp_caps:?}: {e}"))?;
        let s = rtp.structure(0).ok_or("empty RTP caps")?;
        let mut b = gst::Structure::builder("application/x-srtp");
        for (name, value) in s.iter() {
            b = b.field(name.as_str(), value.clone());
        }
        let st = b
            .field("srtp-key", self.buffer())
            .field("srtp-cipher", SRTP_CIPHER)
            .field("srtp-auth", "null")
            .field("srtcp-cipher", SRTP_CIPHER)
            .field("srtcp-auth", "null")
            .build();
        Ok(gst::Caps::builder_full().structure(st).build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_44_bytes_make_a_key_and_debug_hides_it() {
        assert_eq!(SrtpKey::from_bytes(&[1; 43]).unwrap_err(), SrtpKeyLength(43));
        assert!(SrtpKey::from_bytes(&[1; 45]).is_err());
        let k = SrtpKey::from_bytes(&[7; 44]).unwrap();
        assert_eq!(k.as_bytes(), &[7; 44]);
        assert_eq!(format!("{k:?}"), "SrtpKey(..)");
    }

    #[test]
    fn decoder_caps_keep_the_rtp_fields_and_carry_the_key() {
        gst::init().unwrap();
        let k = SrtpKey::from_bytes(&[9; 44]).unwrap();
        let caps = k.decoder_caps(crate::RTP_H264_CAPS).unwrap();
        let s = caps.structure(0).unwrap();
        assert_eq!(s.name(), "application/x-srtp");
        assert_eq!(s.get::<&str>("encoding-name").unwrap(), "H264");
        assert_eq!(s.get::<i32>("payload").unwrap(), 96);
        assert_eq!(s.get::<&str>("srtp-cipher").unwrap(), SRTP_CIPHER);
        let key = s.get::<gst::Buffer>("srtp-key").unwrap();
        assert_eq!(key.map_readable().unwrap().as_slice(), &[9; 44]);
    }
}
