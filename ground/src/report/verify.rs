//! `utkik-ground verify-audit`: checking an audit log as a third party would (IMY, a court):
//! with the writers' *public* checkpoint keys only (`--public-key`, the
//! `utkik-audit-public-key/1` files of `utkik_shared::audit::key_file`), never the secret seed,
//! and with an anchor noted down earlier (`--anchor SEQ:SHA256HEX`) to catch a log cut back to
//! an earlier checkpoint, which still verifies on its own.
//!
//! The text names the first bad record (index and byte offset), or says OK with the counts,
//! how much of the log is vouched for by a signature, and the anchor to note down now.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::Path;

use utkik_shared::audit::record::decode_record;
use utkik_shared::audit::{AuditEvent, ChainHead, CheckpointKeys, RecordBody, VerifyOptions, anchor_text, verify_file};

/// Reads every record body of a log (after it verified).
///
/// # Errors
/// The file cannot be read or a line is not a record, in words.
pub fn read_bodies(path: &Path) -> Result<Vec<RecordBody>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        let rec = decode_record(&line).map_err(|e| format!("{}: record {}: {e}", path.display(), out.len()))?;
        out.push(rec.body);
    }
    Ok(out)
}

/// The `kind` tag of an event (as in the file).
pub fn kind_name(e: &AuditEvent) -> String {
    serde_json::to_value(e)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The `verify-audit` text: `Ok` "OK ..." with counts, or `Err` naming the first bad record
/// (or why the log cannot be vouched for).
///
/// With `keys` (public keys), checkpoint signatures are checked and a log with no checkpoint
/// at all is refused: nothing in it is signed, so a third party cannot tell it from a forgery.
/// With `anchor`, the log must hold that record unchanged.
pub fn verify_audit_text(
    path: &Path,
    keys: Option<&CheckpointKeys>,
    anchor: Option<ChainHead>,
) -> Result<String, String> {
    let options = VerifyOptions { keys, anchor };
    let report = verify_file(path, &options).map_err(|e| format!("{}: {e}", path.display()))?;
    if keys.is_some() && report.checkpoints == 0 {
        return Err(format!(
            "{}: {} records but no signed checkpoint: nothing in this log is vouched for by a key",
            path.display(),
            report.records
        ));
    }
    let bodies = read_bodies(path)?;
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for b in &bodies {
        *kinds.entry(kind_name(&b.event)).or_default() += 1;
    }
    let mut s = format!(
        "OK {}: {} records, {} bytes, {} checkpoints (signatures {}), {} records after the last checkpoint{}",
        path.display(),
        report.records,
        report.len_bytes,
        report.checkpoints,
        if report.checkpoint_signatures_checked {
            "checked with the public key(s)"
        } else {
            "NOT checked: pass --public-key"
        },
        report.unsigned_tail_records,
        if report.unsigned_tail_records > 0 && report.checkpoint_signatures_checked {
            " (not vouched for by a signature)"
        } else {
            ""
        }
    );
    if let Some(a) = anchor {
        let _ = write!(s, "\n  anchor {} found unchanged", anchor_text(&a));
    }
    if let Some(c) = report.last_checkpoint {
        let _ = write!(
            s,
            "\n  anchor of the last checkpoint (note it down elsewhere; verify later with --anchor): {}",
            anchor_text(&c)
        );
    }
    for (k, n) in kinds {
        let _ = write!(s, "\n  {k}: {n}");
    }
    Ok(s)
}
