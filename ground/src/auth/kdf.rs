//! Password hashing for the ground station's users file: PBKDF2 (RFC 8018) with HMAC-SHA-256
//! (RFC 2104), written out here on top of `sha2` because no KDF crate is in the workspace. Tested
//! against the RFC 4231 HMAC vectors, the RFC 7914 PBKDF2-HMAC-SHA256 vectors and (through the
//! demo users file) Python's `hashlib.pbkdf2_hmac`.

use sha2::{Digest, Sha256};

const BLOCK_BYTES: usize = 64;

/// HMAC-SHA-256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut k = [0u8; BLOCK_BYTES];
    if key.len() > BLOCK_BYTES {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut ipad = [0x36u8; BLOCK_BYTES];
    let mut opad = [0x5cu8; BLOCK_BYTES];
    for i in 0..BLOCK_BYTES {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    let inner = Sha256::new().chain_update(ipad).chain_update(data).finalize();
    Sha256::new().chain_update(opad).chain_update(inner).finalize().into()
}

/// PBKDF2-HMAC-SHA-256: `out.len()` bytes derived from `password` and `salt` with `iterations`
/// rounds (at least 1; 0 is treated as 1).
pub fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    for (block_index, chunk) in out.chunks_mut(32).enumerate() {
        let mut salted = Vec::with_capacity(salt.len() + 4);
        salted.extend_from_slice(salt);
        salted.extend_from_slice(&(block_index as u32 + 1).to_be_bytes());
        let mut u = hmac_sha256(password, &salted);
        let mut t = u;
        for _ in 1..iterations.max(1) {
            u = hmac_sha256(password, &u);
            for (a, b) in t.iter_mut().zip(u) {
                *a ^= b;
            }
        }
        chunk.copy_from_slice(&t[..chunk.len()]);
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pbkdf2_hex(p: &[u8], s: &[u8], c: u32, len: usize) -> String {
        let mut out = vec![0u8; len];
        pbkdf2_hmac_sha256(p, s, c, &mut out);
        hex::encode(out)
    }

    #[test]
    fn hmac_rfc4231_vectors() {
        // Test case 2.
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn pbkdf2_rfc7914_vectors() {
        assert_eq!(
            pbkdf2_hex(b"passwd", b"salt", 1, 64),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
        assert_eq!(
            pbkdf2_hex(b"Password", b"NaCl", 80000, 64),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
             a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"
        );
    }

    #[test]
    fn pbkdf2_depends_on_every_input() {
        let base = pbkdf2_hex(b"pw", b"salt", 3, 32);
        assert_ne!(base, pbkdf2_hex(b"pX", b"salt", 3, 32));
        assert_ne!(base, pbkdf2_hex(b"pw", b"salX", 3, 32));
        assert_ne!(base, pbkdf2_hex(b"pw", b"salt", 4, 32));
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
