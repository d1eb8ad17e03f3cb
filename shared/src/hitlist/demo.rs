//! DEMO hit lists: signed with the DEMO senior officer `cecilia`'s published key
//! ([`crate::demo::user_signing_seed`]), so they verify only against the DEMO trust store
//! (`--demo` runs). `utkik-sim hitlist` writes a scenario's list with [`sign`]; tests build a
//! verified list from typed entries with [`verified_from_tsv`] through the same signing and
//! verification as a real list.

use ed25519_dalek::SigningKey;

use super::signed::SignedHitList;
use super::tsv::{document_from_entries, parse_entries};
use super::{HitList, HitListDocument, HitListError};
use crate::authz::TrustStore;
use crate::plate::PlateGrammar;

/// The DEMO senior officer who signs DEMO hit lists.
pub const DEMO_SIGNER: &str = "cecilia";

/// [`DEMO_SIGNER`]'s DEMO crew key (seed published: not secret).
pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&crate::demo::user_signing_seed(DEMO_SIGNER).expect("cecilia is in the DEMO crew"))
}

/// Signs `document` with [`signing_key`].
pub fn sign(document: HitListDocument) -> SignedHitList {
    SignedHitList::sign(document, &signing_key())
}

/// The DEMO trust store ([`crate::demo::TRUST_STORE_JSON`]).
pub fn trust_store() -> TrustStore {
    TrustStore::from_json(crate::demo::TRUST_STORE_JSON).expect("the compiled-in DEMO trust store parses")
}

/// A verified DEMO list from typed entries ([`super::tsv`]): list id `DEMO-test`, signed by
/// [`DEMO_SIGNER`] at `issued_at_usec`, valid until `valid_until_usec`, verified against the
/// DEMO trust store at `issued_at_usec`.
///
/// # Errors
/// A bad line of `text`, or a list the verification refuses (such as an empty validity).
pub fn verified_from_tsv(
    text: &str,
    grammar: &PlateGrammar,
    issued_at_usec: u64,
    valid_until_usec: u64,
) -> Result<HitList, HitListError> {
    let entries = parse_entries(text, grammar)?;
    let doc = document_from_entries(&entries, "DEMO-test", DEMO_SIGNER, issued_at_usec, valid_until_usec);
    sign(doc).verify(&trust_store(), grammar, issued_at_usec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_list_verifies_against_the_demo_trust_store_only() {
        let (t0, t1) = (1_798_761_600_000_000, 1_798_848_000_000_000);
        let l = verified_from_tsv(
            "ABC 123\t2099-01-01\tDEMO stolen\tanna\n",
            &PlateGrammar::sweden(),
            t0,
            t1,
        )
        .unwrap();
        assert_eq!((l.signer(), l.len()), ("cecilia", 1));
        assert!(l.is_hit("ABC123", t0));
        // A store without the DEMO crew refuses it.
        let signed = sign(document_from_entries(&[], "DEMO-x", DEMO_SIGNER, t0, t1));
        let e = signed
            .verify(&TrustStore::new(), &PlateGrammar::sweden(), t0)
            .unwrap_err();
        assert!(matches!(e, HitListError::UnknownSigner { .. }), "{e}");
    }
}
