//! Images over the MAVLink link (a possible match's evidence crop, a plate hit's plate image):
//! what both ends must agree on. The drone sends each image as DATA_TRANSMISSION_HANDSHAKE
//! (size, packets) + ENCAPSULATED_DATA chunks of [`CHUNK_BYTES`] after every (re)send of its
//! alert, and announces the image's size and [`image_crc32`] in the alert itself; the ground keeps
//! the chunks of every resend until it has all of them ([`Reassembler`]), checks size and CRC,
//! and only then (once stored) acknowledges the alert, which stops the resends. On a radio losing
//! 30 % of its packets an image of ten chunks arrives whole in one pass only 3 % of the time,
//! but after four passes of collecting the chunks still missing 91 % of the time.
//!
//! ENCAPSULATED_DATA carries no transfer id, so a chunk belongs to the transfer of the last
//! handshake. When a handshake is lost, the next transfer's chunks would land in the previous one:
//! transfers are sent one at a time with ascending sequence numbers, so a sequence number that
//! does not go up after the last accepted one means "a new transfer whose handshake was lost", and
//! chunks are ignored until the next handshake. What slips through (a lost handshake *and* every
//! earlier chunk of that pass lost) is caught by the CRC, and the image is collected again.

/// Payload bytes per ENCAPSULATED_DATA packet.
pub const CHUNK_BYTES: usize = 253;

/// Partial transfers kept per vehicle (the images of alerts pending at the same time).
pub const MAX_PARTIAL_TRANSFERS: usize = 8;

/// CRC-32 (IEEE 802.3, the one of zlib, PNG and Ethernet) of an image, as announced in
/// UTKIK_PLATE_READ.image_crc32 and UTKIK_BIOMETRIC_MATCH.evidence_crc32.
pub fn image_crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// Number of ENCAPSULATED_DATA packets for an image of `size` bytes.
pub fn packets_for(size: usize) -> u16 {
    u16::try_from(size.div_ceil(CHUNK_BYTES)).unwrap_or(u16::MAX)
}

/// An image whose every chunk arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedImage {
    /// The image bytes (the handshake's size).
    pub bytes: Vec<u8>,
    /// Their [`image_crc32`].
    pub crc32: u32,
}

/// Counters of one vehicle's reassembly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Handshakes seen.
    pub handshakes: u64,
    /// Chunks kept.
    pub chunks: u64,
    /// Chunks ignored (no handshake, out of range, sequence went back).
    pub chunks_ignored: u64,
    /// Images completed.
    pub completed: u64,
}

#[derive(Debug, Clone, PartialEq)]
struct Partial {
    size: u32,
    packets: u16,
    chunks: Vec<Option<[u8; CHUNK_BYTES]>>,
    touched: u64,
}

/// Collects one vehicle's image transfers across resends.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reassembler {
    partial: Vec<Partial>,
    /// Index into `partial` of the transfer the last handshake started, while chunks may follow.
    current: Option<usize>,
    last_seqnr: Option<u16>,
    clock: u64,
    /// Counters.
    pub stats: ReassemblyStats,
}

impl Reassembler {
    /// A reassembler with nothing collected.
    pub fn new() -> Self {
        Self::default()
    }

    /// Transfers collected partly.
    pub fn partial_transfers(&self) -> usize {
        self.partial.len()
    }

    /// A handshake: chunks that follow belong to an image of `size` bytes in `packets` chunks.
    /// A resend of the same image continues its earlier chunks.
    pub fn handshake(&mut self, size: u32, packets: u16) {
        self.stats.handshakes += 1;
        self.clock += 1;
        self.last_seqnr = None;
        if packets == 0 || packets as usize != (size as usize).div_ceil(CHUNK_BYTES) {
            self.current = None;
            return;
        }
        let index = match self.partial.iter().position(|p| p.size == size && p.packets == packets) {
            Some(i) => i,
            None => {
                if self.partial.len() >= MAX_PARTIAL_TRANSFERS
                    && let Some(oldest) = (0..self.partial.len()).min_by_key(|i| self.partial[*i].touched)
                {
                    self.partial.swap_remove(oldest);
                }
                self.partial.push(Partial {
                    size,
                    packets,
                    chunks: vec![None; packets as usize],
                    touched: self.clock,
                });
                self.partial.len() - 1
            }
        };
        self.partial[index].touched = self.clock;
        self.current = Some(index);
    }

    /// A chunk; returns the image when it was the last one missing.
    pub fn chunk(&mut self, seqnr: u16, data: &[u8; CHUNK_BYTES]) -> Option<CompletedImage> {
        let Some(index) = self.current else {
            self.stats.chunks_ignored += 1;
            return None;
        };
        let went_back = self.last_seqnr.is_some_and(|last| seqnr <= last);
        if went_back || seqnr >= self.partial[index].packets {
            // Another transfer whose handshake was lost: nothing more until the next handshake.
            self.current = None;
            self.stats.chunks_ignored += 1;
            return None;
        }
        self.last_seqnr = Some(seqnr);
        self.stats.chunks += 1;
        let p = &mut self.partial[index];
        p.chunks[seqnr as usize] = Some(*data);
        if p.chunks.iter().any(Option::is_none) {
            return None;
        }
        let p = self.partial.swap_remove(index);
        self.current = None;
        let mut bytes = Vec::with_capacity(p.packets as usize * CHUNK_BYTES);
        for chunk in p.chunks.iter().flatten() {
            bytes.extend_from_slice(chunk);
        }
        bytes.truncate(p.size as usize);
        self.stats.completed += 1;
        let crc32 = image_crc32(&bytes);
        Some(CompletedImage { bytes, crc32 })
    }

    /// Forgets everything collected (the authorization of the images was withdrawn).
    pub fn clear(&mut self) -> usize {
        let n = self.partial.len();
        self.partial.clear();
        self.current = None;
        self.last_seqnr = None;
        n
    }
}

/// The handshake and chunks of `image` (sender side and tests): (size, packets) and the chunks.
pub fn split_image(image: &[u8]) -> (u32, u16, Vec<[u8; CHUNK_BYTES]>) {
    let chunks = image
        .chunks(CHUNK_BYTES)
        .map(|c| {
            let mut data = [0u8; CHUNK_BYTES];
            data[..c.len()].copy_from_slice(c);
            data
        })
        .collect::<Vec<_>>();
    (image.len() as u32, chunks.len() as u16, chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn crc_is_the_ieee_crc32() {
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(image_crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn complete_in_one_pass() {
        let img = image(1000, 1);
        let (size, packets, chunks) = split_image(&img);
        assert_eq!(packets, packets_for(img.len()));
        let mut r = Reassembler::new();
        r.handshake(size, packets);
        let mut done = None;
        for (i, c) in chunks.iter().enumerate() {
            done = r.chunk(i as u16, c);
        }
        let done = done.unwrap();
        assert_eq!(done.bytes, img);
        assert_eq!(done.crc32, image_crc32(&img));
        assert_eq!(r.partial_transfers(), 0);
    }

    #[test]
    fn chunks_of_several_lossy_passes_add_up() {
        let img = image(2500, 2);
        let (size, packets, chunks) = split_image(&img);
        let mut r = Reassembler::new();
        // Pass 1 has the even chunks, pass 2 (handshake lost) nothing, pass 3 the odd ones.
        r.handshake(size, packets);
        for (i, c) in chunks.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
            assert!(r.chunk(i as u16, c).is_none());
        }
        let mut done = None;
        r.handshake(size, packets);
        for (i, c) in chunks.iter().enumerate().filter(|(i, _)| i % 2 == 1) {
            done = r.chunk(i as u16, c);
        }
        assert_eq!(done.unwrap().bytes, img);
    }

    #[test]
    fn interleaved_images_of_two_alerts_both_complete() {
        let a = image(700, 3);
        let b = image(900, 4);
        let (sa, pa, ca) = split_image(&a);
        let (sb, pb, cb) = split_image(&b);
        let mut r = Reassembler::new();
        let mut got = vec![];
        // Each pass loses the first chunk of one image; over two passes both complete.
        for pass in 0..2 {
            r.handshake(sa, pa);
            for (i, c) in ca.iter().enumerate() {
                if !(pass == 0 && i == 0) {
                    got.extend(r.chunk(i as u16, c));
                }
            }
            r.handshake(sb, pb);
            for (i, c) in cb.iter().enumerate() {
                if !(pass == 1 && i == 0) {
                    got.extend(r.chunk(i as u16, c));
                }
            }
        }
        let bytes: Vec<Vec<u8>> = got.into_iter().map(|g| g.bytes).collect();
        assert_eq!(bytes, vec![b.clone(), a.clone()]);
    }

    #[test]
    fn a_lost_handshake_does_not_mix_two_images() {
        let a = image(600, 5);
        let b = image(600, 6);
        let (sa, pa, ca) = split_image(&a);
        let (_, _, cb) = split_image(&b);
        let mut r = Reassembler::new();
        r.handshake(sa, pa);
        assert!(r.chunk(0, &ca[0]).is_none());
        // B's handshake is lost: its chunk 0 does not go up from A's 0, so B is ignored...
        for (i, c) in cb.iter().enumerate() {
            assert!(r.chunk(i as u16, c).is_none(), "chunk {i} of B taken into A");
        }
        assert_eq!(r.stats.chunks_ignored, 3);
        // ...and A completes on its next pass with A's bytes only.
        r.handshake(sa, pa);
        let mut done = None;
        for (i, c) in ca.iter().enumerate().skip(1) {
            done = r.chunk(i as u16, c);
        }
        assert_eq!(done.unwrap().bytes, a);
    }

    #[test]
    fn bad_handshakes_and_stray_chunks_are_ignored() {
        let mut r = Reassembler::new();
        assert!(r.chunk(0, &[0; CHUNK_BYTES]).is_none());
        r.handshake(1000, 2); // 1000 bytes need 4 chunks
        assert!(r.chunk(0, &[0; CHUNK_BYTES]).is_none());
        r.handshake(100, 1);
        assert!(r.chunk(5, &[0; CHUNK_BYTES]).is_none(), "out of range");
        assert_eq!(r.stats.chunks_ignored, 3);
        for i in 0..20u32 {
            r.handshake(1000 + i, 4);
        }
        assert_eq!(r.partial_transfers(), MAX_PARTIAL_TRANSFERS);
        assert_eq!(r.clear(), MAX_PARTIAL_TRANSFERS);
    }
}
