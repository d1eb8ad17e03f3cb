//! (Re)signs an authorization file with an issuer key file, in place, and can
//! write the matching trust store. Issuer tooling for the demo and tests: the
//! DEMO key's seed is public, so anything it signs proves nothing outside the demo.
//!
//! ```text
//! cargo run -p utkik-shared --example sign_authorization -- \
//!     assets/authz/person-search.authz.json assets/authz/DEMO-prosecutor.key.NOT-SECRET.json \
//!     [--trust-store assets/authz/demo-trust-store.json]
//! ```
//! Edit the `document` of the file (e.g. move the window), then run this to
//! sign it again. The file may also hold a bare document (no envelope).

use std::path::PathBuf;
use std::process::ExitCode;

use utkik_shared::authz::{
    Authorization, IssuerSigningKey, SignedAuthorization, TrustStore, authorize, validate::validate,
};

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: sign_authorization <authz.json> <key.json> [--trust-store <out.json>]";
    let authz_path = PathBuf::from(args.next().ok_or(usage)?);
    let key_path = PathBuf::from(args.next().ok_or(usage)?);
    let trust_out = match (args.next().as_deref(), args.next()) {
        (None, _) => None,
        (Some("--trust-store"), Some(p)) => Some(PathBuf::from(p)),
        _ => return Err(usage.into()),
    };

    let key = IssuerSigningKey::load(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
    let text = std::fs::read(&authz_path).map_err(|e| format!("{}: {e}", authz_path.display()))?;
    let document: Authorization = match SignedAuthorization::from_json(&text) {
        Ok(signed) => signed.document,
        Err(envelope_err) => serde_json::from_slice(&text).map_err(|_| {
            format!(
                "{}: neither a signed file nor a bare document: {envelope_err}",
                authz_path.display()
            )
        })?,
    };
    if document.issuer.key_id != key.key_id || document.issuer.kind != key.kind {
        return Err(format!(
            "document.issuer is {:?} `{}` but the key is {:?} `{}`",
            document.issuer.kind, document.issuer.key_id, key.kind, key.key_id
        ));
    }
    // Content rules at the moment of issue (receivers check the window against their clocks).
    validate(&document, document.issued_usec).map_err(|e| format!("{}: {e}", authz_path.display()))?;

    let signed = SignedAuthorization::sign(document, &key.key);
    let mut trust = TrustStore::new();
    trust.insert(key.trusted_key()).map_err(|e| e.to_string())?;
    let json = signed.to_json_pretty();
    let verified = authorize(json.as_bytes(), &trust, signed.document.issued_usec).map_err(|e| e.to_string())?;
    std::fs::write(&authz_path, json).map_err(|e| format!("{}: {e}", authz_path.display()))?;
    println!(
        "signed {} with {}: digest {}",
        authz_path.display(),
        key.key_id,
        verified.digest()
    );
    if let Some(out) = trust_out {
        std::fs::write(&out, trust.to_json_pretty()).map_err(|e| format!("{}: {e}", out.display()))?;
        println!("wrote trust store {}", out.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sign_authorization: {e}");
            ExitCode::from(2)
        }
    }
}
