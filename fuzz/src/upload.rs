//! Target `upload_bundle`: what the drone does with an upload from the radio
//! (`utkik_shared::authz::upload`, LAW.md 3.4): the chunk receiver and the bundle parser.
//!
//! Three modes, chosen by the first byte:
//! - 0, raw bundle bytes: [`UploadBundle::from_bytes`] never panics, and what it accepts is
//!   canonical (encoding it again gives the same bytes), so two different byte strings never
//!   pass for one bundle;
//! - 1, arbitrary chunks into an [`UploadReceiver`]: no panic, and a completed upload's bytes are
//!   exactly `total_size` long and hash to the `bundle_sha256` the chunks declared;
//! - 2, a real [`UploadSender`] and receiver over a channel that drops, duplicates and
//!   reorders as the input says: whatever completes is the very bundle that was sent, and the
//!   sender never takes an answer for it that the receiver did not give.

use arbitrary::{Arbitrary, Unstructured};
use utkik_shared::authz::AuthzDigest;
use utkik_shared::authz::upload::{
    Received, UploadBundle, UploadFile, UploadOutcome, UploadReceiver, UploadSender, bundle_sha256,
};
use utkik_shared::dialect::{MavMessage, UTKIK_UPLOAD_CHUNK_DATA};

/// A small receiver limit, so the fuzzer reaches completion with short inputs.
const MAX_BYTES: usize = 4096;

#[derive(Debug, Arbitrary)]
struct Chunk {
    upload_id: u8,
    total_size: u16,
    offset: u16,
    length: u8,
    sha_seed: u8,
    data: Vec<u8>,
}

/// What the channel does to one message.
#[derive(Debug, Arbitrary)]
enum Fate {
    Deliver,
    Drop,
    Duplicate,
    /// Hold it back and deliver it after the next one.
    Delay,
}

/// The target body.
pub fn bundle(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => raw(rest),
        1 => chunks(rest),
        _ => transfer(rest),
    }
}

fn raw(bytes: &[u8]) {
    if let Ok(b) = UploadBundle::from_bytes(bytes) {
        assert_eq!(b.to_bytes(), bytes, "an accepted bundle is canonical");
    }
}

fn chunks(bytes: &[u8]) {
    let mut u = Unstructured::new(bytes);
    let mut rx = UploadReceiver::new(MAX_BYTES);
    // An exhausted `Unstructured` keeps giving default values: stop when the input is used up.
    while !u.is_empty() {
        let Ok(c) = Chunk::arbitrary(&mut u) else { break };
        let mut d = [0u8; 200];
        let n = c.data.len().min(200);
        d[..n].copy_from_slice(&c.data[..n]);
        let mut sha = [c.sha_seed; 32];
        // A seed of 0 declares the hash of this chunk's own bytes, so a one-chunk upload can
        // complete (and one of several is refused for a hash that does not match).
        if c.sha_seed == 0 {
            sha = bundle_sha256(&d[..(c.length as usize).min(200)]);
        }
        let chunk = UTKIK_UPLOAD_CHUNK_DATA {
            target_system: 1,
            target_component: 0,
            upload_id: u32::from(c.upload_id),
            total_size: u32::from(c.total_size),
            offset: u32::from(c.offset),
            bundle_sha256: sha,
            length: c.length,
            data: d,
        };
        if let Received::Complete { bytes, .. } = rx.chunk(255, &chunk) {
            assert_eq!(bytes.len(), chunk.total_size as usize);
            assert_eq!(bundle_sha256(&bytes), chunk.bundle_sha256);
            let ok: Result<AuthzDigest, String> = Err("fuzz".into());
            let _ = rx.finish(255, chunk.upload_id, &ok);
        }
    }
}

fn transfer(bytes: &[u8]) {
    let mut u = Unstructured::new(bytes);
    let Ok(size) = u.int_in_range(1u16..=3000) else {
        return;
    };
    let file: Vec<u8> = (0..size).map(|i| (i as u8).wrapping_mul(31)).collect();
    let sent = UploadBundle {
        authorization: b"{}".to_vec(),
        files: vec![UploadFile {
            name: "person-1-image-1.jpg".into(),
            bytes: file,
        }],
    }
    .to_bytes();
    let digest = AuthzDigest(bundle_sha256(&sent));
    let mut tx = UploadSender::new(7, 1, 0, sent.clone(), 0.0);
    let mut rx = UploadReceiver::new(MAX_BYTES.max(sent.len()));
    let mut held: Option<UTKIK_UPLOAD_CHUNK_DATA> = None;
    let mut answered = false;
    let mut t = 0.0;
    for _ in 0..400 {
        let mut to_rx = Vec::new();
        for m in tx.due(t) {
            let MavMessage::UTKIK_UPLOAD_CHUNK(c) = m else {
                panic!("the sender sends chunks only")
            };
            match Fate::arbitrary(&mut u).unwrap_or(Fate::Deliver) {
                Fate::Deliver => to_rx.push(c),
                Fate::Drop => {}
                Fate::Duplicate => {
                    to_rx.push(c.clone());
                    to_rx.push(c);
                }
                Fate::Delay => {
                    if let Some(h) = held.replace(c) {
                        to_rx.push(h);
                    }
                }
            }
        }
        if let Some(h) = held.take()
            && !to_rx.is_empty()
        {
            to_rx.push(h);
        }
        for c in to_rx {
            let ack = match rx.chunk(255, &c) {
                Received::Ack(a) => a,
                Received::Complete { bytes, .. } => {
                    assert_eq!(bytes, sent, "only the bundle that was sent completes");
                    answered = true;
                    rx.finish(255, 7, &Ok(digest))
                }
            };
            let lost = matches!(Fate::arbitrary(&mut u).unwrap_or(Fate::Deliver), Fate::Drop);
            if !lost {
                tx.on_ack(1, &ack, t);
            }
        }
        if let Some(o) = tx.outcome() {
            assert!(answered, "an outcome the receiver never gave: {o:?}");
            assert_eq!(o, &UploadOutcome::Stored(digest));
            return;
        }
        t += 0.25;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_transfer_completes_and_garbage_does_not_panic() {
        // Mode 2 with no fate bytes: every message delivered.
        bundle(&[2, 0x10, 0x00]);
        bundle(&[0]);
        bundle(&[0, b'u', b't']);
        bundle(&[1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    }
}
