//! Targets for the small key and list files of `utkik-shared` an operator or an installer hands
//! to the programs: `trust_store` ([`TrustStore::from_json`]), `issuer_key`
//! ([`IssuerSigningKey::from_json`]) and `link_key` ([`LinkKey::from_json`]); the hit list's
//! targets are in [`crate::hitlist`].
//!
//! Properties beyond "no panic": a trust store that parses writes itself back
//! ([`TrustStore::to_json_pretty`]) to a file that parses to the same keys; an issuer key's
//! public half verifies what its secret half signs.

use ed25519_dalek::{Signer, Verifier};
use mavlink_core::{MavlinkVersion, Message, MessageData};
use utkik_shared::authz::{IssuerSigningKey, TrustStore, command_signature};
use utkik_shared::dialect::{MavMessage, UTKIK_AUTHZ_COMMAND_DATA};
use utkik_shared::link_signing::LinkKey;

/// Target `trust_store`. Also the user-signature check of UTKIK_AUTHZ_COMMAND
/// (`command_signature::verify_command`): the input read as the command's payload is never
/// accepted against the DEMO trust store (its crew keys' seeds are public, but nothing here signs,
/// so an acceptance would be a forgery getting through).
pub fn trust_store(data: &[u8]) {
    if let Ok(MavMessage::UTKIK_AUTHZ_COMMAND(cmd)) =
        MavMessage::parse(MavlinkVersion::V2, UTKIK_AUTHZ_COMMAND_DATA::ID, data)
    {
        static DEMO: std::sync::OnceLock<TrustStore> = std::sync::OnceLock::new();
        let demo = DEMO.get_or_init(|| TrustStore::from_json(utkik_shared::demo::TRUST_STORE_JSON).expect("DEMO"));
        assert!(
            command_signature::verify_command(demo, &cmd).is_err(),
            "an unsigned fuzz input passed the user-signature check: {cmd:?}"
        );
    }
    let Ok(store) = TrustStore::from_json(data) else {
        return;
    };
    let again = TrustStore::from_json(store.to_json_pretty().as_bytes()).expect("a written trust store parses");
    assert_eq!(again.len(), store.len(), "same number of keys");
    assert_eq!(again.users().count(), store.users().count(), "same number of crew keys");
    assert_eq!(
        store.to_json_pretty(),
        again.to_json_pretty(),
        "same keys after writing and reading"
    );
}

/// Target `issuer_key`.
pub fn issuer_key(data: &[u8]) {
    let Ok(k) = IssuerSigningKey::from_json(data) else {
        return;
    };
    assert!(!k.key_id.trim().is_empty(), "an accepted key has a key id");
    let msg = b"utkik fuzz";
    let sig = k.key.sign(msg);
    assert!(
        k.trusted_key().key.verify(msg, &sig).is_ok(),
        "the public half verifies the secret half"
    );
}

/// Target `link_key`: [`LinkKey::from_json`], the one link-key loader of the ground and the drone.
/// An accepted key is never all zeros, and is the key the file's hex spells.
pub fn link_key(data: &[u8]) {
    let Ok(k) = LinkKey::from_json(data, std::path::Path::new("fuzz.key.json")) else {
        return;
    };
    assert_ne!(k.secret_key, [0; 32], "all-zero key accepted");
    let v: serde_json::Value = serde_json::from_slice(data).expect("an accepted key file is JSON");
    let hex_text = v["secret_key_hex"].as_str().expect("secret_key_hex is a string");
    assert_eq!(
        hex::decode(hex_text).ok().as_deref(),
        Some(&k.secret_key[..]),
        "key bytes"
    );
    assert_eq!(v["link_id"].as_u64(), Some(u64::from(k.link_id)), "link id");
}
