//! Why an authorization was refused. Every variant names the field of the
//! signed file it is about (LAW.md section 2: "refused with a reason that
//! names the field"), so the ground station can show the operator exactly what
//! is wrong and the onboard log can record it.

use std::path::PathBuf;

use super::document::IssuerKind;

/// An authorization (or a trust store) that is refused. Nothing is activated.
#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not JSON of the expected shape: unknown or missing field, wrong type,
    /// unknown enum value (e.g. a purpose that is not one of the four lawful ones).
    #[error("field `{field}`: {message} (line {line}, column {column})")]
    Parse {
        /// Path of the field in the file (`document.window.until_usec`), `.` for the whole file.
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
    /// The document names a signing key the trust store does not hold.
    #[error("field `document.issuer.key_id`: key `{key_id}` is not in the trust store")]
    UntrustedKey {
        /// The key id from the document.
        key_id: String,
    },
    /// The trust store holds the key, but for another kind of issuer (a
    /// prosecutor's key cannot sign as a court, a senior officer's key can only
    /// start urgent use).
    #[error(
        "field `document.issuer.kind`: key `{key_id}` is trusted for {key_kind:?}, the document claims {claimed:?}"
    )]
    WrongIssuerKind {
        /// The key id from the document.
        key_id: String,
        /// What the trust store trusts the key for.
        key_kind: IssuerKind,
        /// What the document says the issuer is.
        claimed: IssuerKind,
    },
    /// The signature does not verify against the named key over the canonical
    /// encoding of the document: forged, altered after signing, or signed with
    /// another key.
    #[error("field `signature_ed25519_hex`: {reason} (key `{key_id}`)")]
    BadSignature {
        /// The key the signature was checked against.
        key_id: String,
        /// Why it does not verify.
        reason: String,
    },
    /// The validity window has ended.
    #[error("field `document.window.until_usec`: the window ended at {until_usec} us, now is {now_usec} us")]
    Expired {
        /// End of the window (Unix epoch, UTC, microseconds).
        until_usec: u64,
        /// The clock value the check used.
        now_usec: u64,
    },
}

impl AuthzError {
    /// The field of the file the error is about (the whole file is `.`).
    pub fn field(&self) -> &str {
        match self {
            AuthzError::Io { .. } => ".",
            AuthzError::Parse { field, .. } | AuthzError::Invalid { field, .. } => field,
            AuthzError::UntrustedKey { .. } => "document.issuer.key_id",
            AuthzError::WrongIssuerKind { .. } => "document.issuer.kind",
            AuthzError::BadSignature { .. } => "signature_ed25519_hex",
            AuthzError::Expired { .. } => "document.window.until_usec",
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        AuthzError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Maps a serde error with its path to [`AuthzError::Parse`].
    pub(crate) fn from_path_error(e: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = e.path().to_string();
        let inner = e.into_inner();
        AuthzError::Parse {
            field: path,
            message: strip_position(&inner.to_string()),
            line: inner.line(),
            column: inner.column(),
        }
    }
}

/// serde_json appends " at line L column C" to its messages; we report those separately.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
