//! Password hashes for the users file: argon2id (RFC 9106) from the RustCrypto `argon2` crate,
//! stored as PHC strings (`$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>`), so the parameters
//! travel with each hash and a file written with stronger parameters later still verifies.
//!
//! # Parameters, and why
//! - **argon2id**: the variant RFC 9106 recommends (section 4) and OWASP's first choice; it
//!   resists GPU cracking (memory-hard) and side channels (data-independent first pass).
//! - **m = 64 MiB, t = 3, p = 1**: RFC 9106's second recommended option ("if much less memory
//!   is available", 64 MiB, 3 passes) with one lane, since the station hashes one sign-in at a
//!   time. On the 2-core development machine one hash takes a few hundred ms in a debug build
//!   and well under that in release: noticeable to nobody signing in, and it costs an attacker
//!   with a stolen users file 64 MiB and three passes per guess.
//! - **16-byte random salt** (from the OS), **32-byte output**.
//! - Files are refused below OWASP's floor for argon2id (m = 19 MiB, t = 2): a hash weaker than
//!   that was not written by this program and is not worth keeping. Tests hash at that floor
//!   ([`HashParams::MINIMUM`]) to stay fast; the program always writes [`HashParams::DEFAULT`].
//!
//! PBKDF2 hashes from the first users-file format are not verified any more (the hand-written
//! PBKDF2 is gone); see `users.rs` for how such entries are handled.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Argon2 cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory, KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl HashParams {
    /// What the program writes (see the module doc).
    pub const DEFAULT: Self = Self {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };
    /// The weakest parameters a users file may hold (OWASP's argon2id floor).
    pub const MINIMUM: Self = Self {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };

    fn argon2(self) -> Result<Argon2<'static>, PasswordError> {
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(OUTPUT_BYTES))
            .map_err(|e| PasswordError::Malformed(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Salt length, bytes.
pub const SALT_BYTES: usize = 16;
/// Hash length, bytes.
pub const OUTPUT_BYTES: usize = 32;

/// A stored hash that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Not a PHC string this program accepts.
    #[error("{0}")]
    Malformed(String),
    /// Parameters below [`HashParams::MINIMUM`].
    #[error("parameters m={m_cost_kib} KiB, t={t_cost} are weaker than the minimum m={} KiB, t={}", HashParams::MINIMUM.m_cost_kib, HashParams::MINIMUM.t_cost)]
    TooWeak {
        /// Memory, KiB.
        m_cost_kib: u32,
        /// Passes.
        t_cost: u32,
    },
    /// The OS gave no random bytes for a salt.
    #[error("no random salt from the operating system: {0}")]
    Random(String),
}

/// Hashes `password` with a fresh random salt; the PHC string.
///
/// # Errors
/// [`PasswordError::Random`] when the OS has no randomness; parameters the crate refuses.
pub fn hash_password(password: &str, params: HashParams) -> Result<String, PasswordError> {
    let mut salt = [0u8; SALT_BYTES];
    getrandom::getrandom(&mut salt).map_err(|e| PasswordError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Malformed(e.to_string()))?;
    let hash = params
        .argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| PasswordError::Malformed(e.to_string()))?;
    Ok(hash.to_string())
}

/// Checks that `phc` is an argon2id (v=19) hash with a salt of at least [`SALT_BYTES`] bytes, a
/// [`OUTPUT_BYTES`]-byte output and parameters at least [`HashParams::MINIMUM`]; its parameters.
///
/// # Errors
/// [`PasswordError::Malformed`] or [`PasswordError::TooWeak`].
pub fn check_hash(phc: &str) -> Result<HashParams, PasswordError> {
    let malformed = |m: String| PasswordError::Malformed(m);
    let parsed = PasswordHash::new(phc).map_err(|e| malformed(format!("not a PHC hash string: {e}")))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(malformed(format!("algorithm `{}`: only argon2id", parsed.algorithm)));
    }
    if parsed.version != Some(0x13) {
        return Err(malformed("argon2 version must be v=19".into()));
    }
    let params = Params::try_from(&parsed).map_err(|e| malformed(format!("parameters: {e}")))?;
    let mut salt = [0u8; 64];
    let salt_len = parsed
        .salt
        .ok_or_else(|| malformed("no salt".into()))?
        .decode_b64(&mut salt)
        .map_err(|e| malformed(format!("salt: {e}")))?
        .len();
    if salt_len < SALT_BYTES {
        return Err(malformed(format!("salt of {salt_len} bytes, at least {SALT_BYTES}")));
    }
    match parsed.hash {
        Some(h) if h.len() == OUTPUT_BYTES => {}
        _ => return Err(malformed(format!("the hash must be {OUTPUT_BYTES} bytes"))),
    }
    let p = HashParams {
        m_cost_kib: params.m_cost(),
        t_cost: params.t_cost(),
        p_cost: params.p_cost(),
    };
    if p.m_cost_kib < HashParams::MINIMUM.m_cost_kib || p.t_cost < HashParams::MINIMUM.t_cost {
        return Err(PasswordError::TooWeak {
            m_cost_kib: p.m_cost_kib,
            t_cost: p.t_cost,
        });
    }
    Ok(p)
}

/// Whether `password` matches the stored hash (constant-time comparison inside the crate). A
/// malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    if check_hash(phc).is_err() {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

/// The same work as checking a password against a real entry, for unknown user names, so the
/// time a refusal takes does not tell which names exist.
pub fn burn_equal_time(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        hash_password("utkik: no such user", HashParams::DEFAULT).unwrap_or_else(|_| String::from("$argon2id$"))
    });
    let _ = verify_password(password, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash_password("correct horse", HashParams::MINIMUM).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsE", &h));
        assert!(!verify_password("", &h));
        // Two hashes of one password differ (random salt) and both verify.
        let h2 = hash_password("correct horse", HashParams::MINIMUM).unwrap();
        assert_ne!(h, h2);
        assert!(verify_password("correct horse", &h2));
        assert_eq!(check_hash(&h).unwrap(), HashParams::MINIMUM);
    }

    #[test]
    fn the_program_writes_the_documented_parameters() {
        let h = hash_password("pw", HashParams::DEFAULT).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"), "{h}");
        assert_eq!(check_hash(&h).unwrap(), HashParams::DEFAULT);
    }

    /// Cross-check with the reference implementation (Debian's `argon2` CLI from
    /// phc-winner-argon2: `echo -n password | argon2 somesaltsomesalt -id -t 2 -k 19456 -p 1 -l 32`):
    /// the crate as configured here gives the same bytes, and verifies the reference's PHC string.
    #[test]
    fn matches_the_reference_implementation() {
        let argon = HashParams::MINIMUM.argon2().unwrap();
        let mut out = [0u8; OUTPUT_BYTES];
        argon
            .hash_password_into(b"password", b"somesaltsomesalt", &mut out)
            .unwrap();
        assert_eq!(
            hex::encode(out),
            "2b5dc4054886ec957ef59c73b661c54dd6fb274590b278f657c6d96aac8fa6d1"
        );
        let reference =
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$K13EBUiG7JV+9ZxztmHFTdb7J0WQsnj2V8bZaqyPptE";
        assert!(verify_password("password", reference));
        assert!(!verify_password("passwore", reference));
    }

    #[test]
    fn weak_or_foreign_hashes_are_refused() {
        let weak = {
            let a = HashParams {
                m_cost_kib: 8,
                t_cost: 1,
                p_cost: 1,
            }
            .argon2()
            .unwrap();
            let salt = SaltString::encode_b64(&[1; 16]).unwrap();
            a.hash_password(b"pw", &salt).unwrap().to_string()
        };
        assert!(
            matches!(check_hash(&weak), Err(PasswordError::TooWeak { .. })),
            "{weak}"
        );
        assert!(!verify_password("pw", &weak), "a too-weak hash never signs anyone in");
        let argon2i = weak.replacen("argon2id", "argon2i", 1);
        assert!(matches!(check_hash(&argon2i), Err(PasswordError::Malformed(_))));
        assert!(check_hash("pbkdf2-hmac-sha256").is_err());
        let short_salt = {
            let salt = SaltString::encode_b64(&[1; 8]).unwrap();
            HashParams::MINIMUM
                .argon2()
                .unwrap()
                .hash_password(b"pw", &salt)
                .unwrap()
                .to_string()
        };
        assert!(check_hash(&short_salt).unwrap_err().to_string().contains("salt"));
    }
}
