//! Hit-list entries as a person types them: the *input* to signing
//! (`utkik-ground hitlist sign --in entries.tsv`). The drone never reads this
//! text; it takes only the signed document ([`super::signed`]).
//!
//! UTF-8 text, one entry per line, three or four tab-separated fields, `#`
//! starts a comment line, blank lines are ignored:
//!
//! ```text
//! # plate<TAB>expires (UTC)<TAB>reason[<TAB>added_by]
//! ABC 123<TAB>2026-12-31T23:59:59Z<TAB>Stolen vehicle, report K-1234-26
//! XYZ 12A<TAB>2027-01-15<TAB>Wanted in connection with K-99-26<TAB>anna
//! ```
//! (`<TAB>` is one tab character.) `added_by` is the crew member who proposed
//! the entry (an operator may); without it, the signing senior officer is
//! named. Errors name the line and the field.

use std::path::Path;

use super::HitListError;
use super::signed::{HIT_LIST_FORMAT, HitListDocument, HitListDocumentEntry};
use crate::plate::PlateGrammar;
use crate::utc::{format_utc_usec, parse_utc_usec};

/// One typed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedEntry {
    /// 1-based line in the text.
    pub line: usize,
    /// The plate as printed (`ABC 123`, the grammar's display form).
    pub plate: String,
    /// From this instant on the entry no longer hits (Unix epoch, UTC, µs).
    pub expires_usec: u64,
    /// Why the vehicle is of interest.
    pub reason: String,
    /// Who proposed it (the fourth column), if given.
    pub added_by: Option<String>,
}

/// Parses typed entries; `grammar` is the plate grammar the drone reads with.
///
/// # Errors
/// [`HitListError::Line`] naming the first bad line and field.
pub fn parse_entries(text: &str, grammar: &PlateGrammar) -> Result<Vec<TypedEntry>, HitListError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |field: &'static str, reason: String| HitListError::Line {
            path: None,
            line,
            field,
            reason,
        };
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = raw.split('\t').collect();
        if !(3..=4).contains(&fields.len()) {
            return Err(err(
                "columns",
                format!(
                    "expected 3 or 4 tab-separated fields (plate, expires, reason[, added_by]), found {}",
                    fields.len()
                ),
            ));
        }
        let plate_text = fields[0].trim();
        let Some(plate) = grammar.parse(plate_text) else {
            return Err(err(
                "plate",
                format!("`{plate_text}` is not a plate the grammar reads, so it could never hit"),
            ));
        };
        let expires_usec = parse_utc_usec(fields[1]).map_err(|r| err("expires", r))?;
        let reason = fields[2].trim();
        if reason.is_empty() {
            return Err(err("reason", "every entry needs a reason".into()));
        }
        let added_by = match fields.get(3).map(|s| s.trim()) {
            Some("") => return Err(err("added_by", "empty: leave the column out to name the signer".into())),
            other => other.map(str::to_string),
        };
        out.push(TypedEntry {
            line,
            plate: plate.display,
            expires_usec,
            reason: reason.to_string(),
            added_by,
        });
    }
    Ok(out)
}

/// Reads and parses a typed entries file.
///
/// # Errors
/// [`HitListError::Io`], or [`HitListError::Line`] naming the file, line and field.
pub fn load_entries(path: &Path, grammar: &PlateGrammar) -> Result<Vec<TypedEntry>, HitListError> {
    let text = std::fs::read_to_string(path).map_err(|source| HitListError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_entries(&text, grammar).map_err(|e| match e {
        HitListError::Line {
            line, field, reason, ..
        } => HitListError::Line {
            path: Some(path.to_path_buf()),
            line,
            field,
            reason,
        },
        other => other,
    })
}

/// The document to sign from typed entries: issued at `issued_at_usec` by `signer`, valid until
/// `valid_until_usec`; an entry without `added_by` names the signer, and every entry's
/// `added_at` is the issue time (when the list that carries it was decided).
pub fn document_from_entries(
    entries: &[TypedEntry],
    list_id: &str,
    signer: &str,
    issued_at_usec: u64,
    valid_until_usec: u64,
) -> HitListDocument {
    let issued_at = format_utc_usec(issued_at_usec);
    HitListDocument {
        format: HIT_LIST_FORMAT.into(),
        list_id: list_id.into(),
        issued_at: issued_at.clone(),
        valid_until: format_utc_usec(valid_until_usec),
        signer: signer.into(),
        entries: entries
            .iter()
            .map(|e| HitListDocumentEntry {
                plate: e.plate.clone(),
                reason: e.reason.clone(),
                added_by: e.added_by.clone().unwrap_or_else(|| signer.to_string()),
                added_at: issued_at.clone(),
                expires: format_utc_usec(e.expires_usec),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_error(text: &str) -> (usize, &'static str) {
        match parse_entries(text, &PlateGrammar::sweden()).unwrap_err() {
            HitListError::Line { line, field, .. } => (line, field),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn parses_three_and_four_columns_in_display_form() {
        let text = "# plate\texpires\treason\n\
                    abc-123\t2026-12-31T23:59:59Z\tStolen vehicle, report K-1234-26\n\
                    \n\
                    XYZ12A\t2027-01-15\tWanted in connection with K-99-26\tanna\n";
        let e = parse_entries(text, &PlateGrammar::sweden()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].line, e[0].plate.as_str(), e[0].added_by.as_deref()),
            (2, "ABC 123", None)
        );
        assert_eq!(
            (e[1].line, e[1].plate.as_str(), e[1].added_by.as_deref()),
            (4, "XYZ 12A", Some("anna"))
        );
        assert_eq!(e[1].expires_usec, parse_utc_usec("2027-01-15").unwrap());
        let doc = document_from_entries(&e, "L-1", "cecilia", 0, 86_400_000_000);
        assert_eq!(doc.entries[0].added_by, "cecilia");
        assert_eq!(doc.entries[1].added_by, "anna");
        assert_eq!(doc.entries[1].expires, "2027-01-15T00:00:00Z");
        assert_eq!(doc.valid_until, "1970-01-02T00:00:00Z");
    }

    #[test]
    fn errors_name_line_and_field() {
        assert_eq!(
            line_error("ABC 123\t2026-12-31\tok\nABC 1234\t2026-12-31\tbad plate\n"),
            (2, "plate")
        );
        assert_eq!(line_error("# c\nABC 123\t2026-12-32\tbad date\n"), (2, "expires"));
        assert_eq!(line_error("ABC 123\t2026-12-31T10:00:00\tno zone\n"), (1, "expires"));
        assert_eq!(line_error("ABC 123\t2026-12-31\t  \n"), (1, "reason"));
        assert_eq!(line_error("ABC 123\t2026-12-31\tok\t \n"), (1, "added_by"));
        assert_eq!(line_error("ABC 123 2026-12-31 spaces not tabs\n"), (1, "columns"));
        assert_eq!(line_error("ABC 123\t2026-12-31\ta\tb\tc\n"), (1, "columns"));
        // Letters Sweden never uses (Q) are not a plate.
        assert_eq!(line_error("QBC 123\t2026-12-31\tx\n"), (1, "plate"));
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hits.tsv");
        std::fs::write(&path, "ABC 123\tsoon\tx\n").unwrap();
        let msg = load_entries(&path, &PlateGrammar::sweden()).unwrap_err().to_string();
        assert!(
            msg.contains("hits.tsv") && msg.contains("line 1") && msg.contains("`expires`"),
            "{msg}"
        );
        assert!(load_entries(&dir.path().join("none.tsv"), &PlateGrammar::sweden()).is_err());
    }
}
