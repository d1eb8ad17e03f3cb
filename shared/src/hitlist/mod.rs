//! The ANPR hit list (LAW.md section 7): vehicles of interest, each with the
//! reason it is wanted, who added it and until when. A read is a hit only if an
//! entry for its plate has not expired at the time of the read *and* the list
//! itself is still valid then; an expired entry, or any entry of an expired
//! list, is as good as absent, so a stale list can never make a hit.
//!
//! The list the drone acts on is a signed document ([`signed`]): a senior
//! officer of the crew signs it with her own key, the drone verifies it against
//! its trust store and refuses an unsigned, badly signed or expired list at
//! start-up. The only way to get a [`HitList`] is that verification, so
//! holding one is proof that it was signed by a trusted senior officer.
//!
//! - [`signed`]: the document, its canonical encoding, signing and verification.
//! - [`tsv`]: the text a person types the entries in (`plate<TAB>expires<TAB>reason`), the
//!   *input* to signing (`utkik-ground hitlist sign`); the drone never reads it.
//! - [`demo`]: the DEMO list of the simulator's scenarios, signed with the public DEMO key.
//!
//! Plates are compared in normalized form ([`crate::plate::normalize`]) and
//! must fit the plate grammar the drone reads with (a plate it cannot read
//! can never hit, so it is a typing error). Times are instants in UTC
//! ([`crate::utc::parse_utc_usec`]); a bare date means midnight at the *start*
//! of that day, so an entry no longer hits on its expiry date (the stricter
//! reading).

pub mod demo;
pub mod signed;
pub mod tsv;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::plate::normalize;

pub use signed::{
    CLOCK_SKEW_USEC, HIT_LIST_FORMAT, HitListDocument, HitListDocumentEntry, SignedHitList, load_hit_list,
    verify_hit_list,
};

/// One vehicle of interest of a verified list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitListEntry {
    /// 1-based place of the entry in the signed document's `entries` (what a HIT carries in
    /// `hit_entry_id`, so the ground can name the entry the operator acts on).
    pub entry_id: u32,
    /// The plate, normalized (`ABC123`).
    pub plate: String,
    /// The plate as printed (`ABC 123`).
    pub display: String,
    /// Why the vehicle is of interest (shown to the operator with the hit).
    pub reason: String,
    /// The crew member who added the entry (a user of the trust store).
    pub added_by: String,
    /// When it was added (Unix epoch, UTC, µs).
    pub added_at_usec: u64,
    /// From this instant on the entry no longer hits (Unix epoch, UTC, µs).
    pub expires_usec: u64,
}

impl HitListEntry {
    /// Whether the entry still hits at `now_usec` (its own expiry only; the list's validity is
    /// checked by [`HitList::lookup`]).
    pub fn is_active(&self, now_usec: u64) -> bool {
        now_usec < self.expires_usec
    }
}

/// A hit list that cannot be loaded, signed or verified. Every variant names the file, line or
/// field it is about.
#[derive(Debug, thiserror::Error)]
pub enum HitListError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line of a typed entries file ([`tsv`]) is wrong.
    #[error("{}line {line}, field `{field}`: {reason}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Line {
        /// The file, when loaded from one.
        path: Option<PathBuf>,
        /// 1-based line number.
        line: usize,
        /// `plate`, `expires`, `reason`, `added_by` or `columns`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Not a signed list of the expected shape: unknown or missing field, wrong type, not JSON.
    #[error("field `{field}`: {message} (line {line}, column {column})")]
    Parse {
        /// Path of the field in the file (`document.entries[2].plate`), `.` for the whole file.
        field: String,
        /// What serde said.
        message: String,
        /// 1-based line of the error in the file.
        line: usize,
        /// 1-based column of the error in the file.
        column: usize,
    },
    /// A field is present but its content is not acceptable.
    #[error("field `{field}`: {reason}")]
    Invalid {
        /// Path of the field.
        field: String,
        /// Why it is refused.
        reason: String,
    },
    /// The signer is not a crew member of the trust store.
    #[error("field `document.signer`: `{user_id}` is not a user of the trust store")]
    UnknownSigner {
        /// The signer the document names.
        user_id: String,
    },
    /// The signer is in the trust store but not a senior officer.
    #[error(
        "field `document.signer`: `{user_id}` is not a senior officer in the trust store: only a senior officer signs a hit list"
    )]
    NotSeniorOfficer {
        /// The signer the document names.
        user_id: String,
    },
    /// The signature does not verify with the signer's key over the canonical document.
    #[error("field `signature_ed25519_hex`: {reason} (signer `{user_id}`)")]
    BadSignature {
        /// The signer whose key was used.
        user_id: String,
        /// Why it does not verify.
        reason: String,
    },
    /// The list's validity has ended.
    #[error("field `document.valid_until`: the list expired at {valid_until}, the clock says {now}")]
    Expired {
        /// `valid_until` as written.
        valid_until: String,
        /// The clock value used, as UTC.
        now: String,
    },
    /// The list claims to be issued later than now (beyond the allowed clock skew).
    #[error(
        "field `document.issued_at`: the list is issued at {issued_at}, after the clock's {now} (more than 5 min ahead: a wrong clock or a wrong date)"
    )]
    NotYetValid {
        /// `issued_at` as written.
        issued_at: String,
        /// The clock value used, as UTC.
        now: String,
    },
    /// Any of the above, for a file.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: Box<HitListError>,
    },
}

impl HitListError {
    /// The field of the signed file the error is about (`.` for the whole file, the field name
    /// for a line of a typed entries file).
    pub fn field(&self) -> &str {
        match self {
            HitListError::Io { .. } => ".",
            HitListError::Line { field, .. } => field,
            HitListError::Parse { field, .. } | HitListError::Invalid { field, .. } => field,
            HitListError::UnknownSigner { .. } | HitListError::NotSeniorOfficer { .. } => "document.signer",
            HitListError::BadSignature { .. } => "signature_ed25519_hex",
            HitListError::Expired { .. } => "document.valid_until",
            HitListError::NotYetValid { .. } => "document.issued_at",
            HitListError::File { source, .. } => source.field(),
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        HitListError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A verified hit list, indexed by normalized plate. Made only by [`SignedHitList::verify`].
#[derive(Debug, Clone)]
pub struct HitList {
    list_id: String,
    signer: String,
    issued_at_usec: u64,
    valid_until_usec: u64,
    digest_hex: String,
    entries: Vec<HitListEntry>,
    /// Indices into `entries` by normalized plate.
    by_plate: HashMap<String, Vec<usize>>,
    /// Whether [`HitList::expired_news`] has reported the end of the list's validity.
    expiry_reported: bool,
}

impl HitList {
    pub(crate) fn from_verified(
        list_id: String,
        signer: String,
        issued_at_usec: u64,
        valid_until_usec: u64,
        digest_hex: String,
        entries: Vec<HitListEntry>,
    ) -> Self {
        let mut by_plate: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_plate.entry(normalize(&e.plate)).or_default().push(i);
        }
        Self {
            list_id,
            signer,
            issued_at_usec,
            valid_until_usec,
            digest_hex,
            entries,
            by_plate,
            expiry_reported: false,
        }
    }

    /// The entries that hit for `plate` (any spelling; normalized here) at `now_usec`, in
    /// document order. Empty: no hit. Expired entries are never returned, and nothing is once
    /// the list's `valid_until` has passed.
    pub fn lookup(&self, plate: &str, now_usec: u64) -> Vec<&HitListEntry> {
        if !self.is_valid_at(now_usec) {
            return Vec::new();
        }
        self.by_plate
            .get(&normalize(plate))
            .map(|v| {
                v.iter()
                    .map(|&i| &self.entries[i])
                    .filter(|e| e.is_active(now_usec))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether `plate` is a hit at `now_usec`.
    pub fn is_hit(&self, plate: &str, now_usec: u64) -> bool {
        !self.lookup(plate, now_usec).is_empty()
    }

    /// Whether the list still makes hits at `now_usec` (before its `valid_until`).
    pub fn is_valid_at(&self, now_usec: u64) -> bool {
        now_usec < self.valid_until_usec
    }

    /// `true` exactly once: the first call with `now_usec` at or past the list's `valid_until`
    /// (so a caller logs the end of the list once, not for every read after it).
    pub fn expired_news(&mut self, now_usec: u64) -> bool {
        if self.expiry_reported || self.is_valid_at(now_usec) {
            return false;
        }
        self.expiry_reported = true;
        true
    }

    /// The document's `list_id`.
    pub fn list_id(&self) -> &str {
        &self.list_id
    }

    /// The senior officer who signed it (user id of the trust store).
    pub fn signer(&self) -> &str {
        &self.signer
    }

    /// `issued_at` (Unix epoch, UTC, µs).
    pub fn issued_at_usec(&self) -> u64 {
        self.issued_at_usec
    }

    /// `valid_until` (Unix epoch, UTC, µs): from then on the list makes no hits.
    pub fn valid_until_usec(&self) -> u64 {
        self.valid_until_usec
    }

    /// SHA-256 over the canonical document and the signature, hex: names this signed list in
    /// logs.
    pub fn digest_hex(&self) -> &str {
        &self.digest_hex
    }

    /// The entries in document order (entry `i` has `entry_id` `i + 1`).
    pub fn entries(&self) -> &[HitListEntry] {
        &self.entries
    }

    /// Number of entries, expired or not.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
