//! Content rules of an authorization document, checked after its signature
//! (LAW.md section 2): everything the law requires is present, the issuer kind
//! fits the kind of use, the area and window make sense and the window has not
//! ended. Each refusal names the field.
//!
//! A window that has not started yet is *not* refused here: the authorization
//! is loaded as pending and activation waits for the window (see
//! [`super::lifecycle`]).

use super::document::{AUTHORIZATION_FORMAT, Authorization, IssuerKind};
use super::error::AuthzError;

/// The word allowed instead of the FRIA and EU-database references in urgent use.
pub const PENDING: &str = "pending";

fn require_text(field: &str, value: &str) -> Result<(), AuthzError> {
    if value.trim().is_empty() {
        return Err(AuthzError::invalid(field, "must not be empty"));
    }
    Ok(())
}

/// Checks the content of `doc` at clock value `now_usec` (Unix epoch, UTC, µs).
///
/// # Errors
/// The first rule broken, naming its field: [`AuthzError::Invalid`] or
/// [`AuthzError::Expired`].
pub fn validate(doc: &Authorization, now_usec: u64) -> Result<(), AuthzError> {
    if doc.format != AUTHORIZATION_FORMAT {
        return Err(AuthzError::invalid(
            "document.format",
            format!("`{}` is not `{AUTHORIZATION_FORMAT}`", doc.format),
        ));
    }
    require_text("document.decision_id", &doc.decision_id)?;
    require_text("document.issuer.name", &doc.issuer.name)?;
    require_text("document.issuer.key_id", &doc.issuer.key_id)?;
    require_text("document.case_reference", &doc.case_reference)?;
    require_text("document.purpose_details", &doc.purpose_details)?;
    require_text("document.proportionality", &doc.proportionality)?;
    require_text("document.fria_reference", &doc.fria_reference)?;
    require_text("document.eu_database_registration", &doc.eu_database_registration)?;

    match (&doc.urgent, doc.issuer.kind) {
        (None, IssuerKind::SeniorOfficer) => {
            return Err(AuthzError::invalid(
                "document.issuer.kind",
                "a senior officer can only start urgent use; a permit is issued by a prosecutor or a court",
            ));
        }
        (Some(_), IssuerKind::Prosecutor | IssuerKind::Court) => {
            return Err(AuthzError::invalid(
                "document.urgent",
                "urgent use is started by a senior officer; a prosecutor's or court's decision is a permit",
            ));
        }
        (Some(u), IssuerKind::SeniorOfficer) => {
            require_text("document.urgent.senior_officer_id", &u.senior_officer_id)?;
            require_text("document.urgent.justification", &u.justification)?;
            if u.senior_officer_id != doc.issuer.name {
                return Err(AuthzError::invalid(
                    "document.urgent.senior_officer_id",
                    format!(
                        "`{}` is not the issuer `{}`: the senior officer who starts urgent use signs it",
                        u.senior_officer_id, doc.issuer.name
                    ),
                ));
            }
        }
        (None, IssuerKind::Prosecutor | IssuerKind::Court) => {}
    }
    if !doc.is_urgent() {
        for (field, value) in [
            ("document.fria_reference", &doc.fria_reference),
            ("document.eu_database_registration", &doc.eu_database_registration),
        ] {
            if value.trim().eq_ignore_ascii_case(PENDING) {
                return Err(AuthzError::invalid(field, "`pending` is accepted only in urgent use"));
            }
        }
    }

    if doc.designated_persons.is_empty() {
        return Err(AuthzError::invalid(
            "document.designated_persons",
            "at least one designated person is required: matching is only against them",
        ));
    }
    for (i, p) in doc.designated_persons.iter().enumerate() {
        let field = format!("document.designated_persons[{i}]");
        require_text(&format!("{field}.subject_id"), &p.subject_id)?;
        if doc.designated_persons[..i].iter().any(|q| q.subject_id == p.subject_id) {
            return Err(AuthzError::invalid(
                format!("{field}.subject_id"),
                format!("`{}` appears twice", p.subject_id),
            ));
        }
        if p.enrolment_images.is_empty() {
            return Err(AuthzError::invalid(
                format!("{field}.enrolment_images"),
                "at least one enrolment image is required",
            ));
        }
        for (j, img) in p.enrolment_images.iter().enumerate() {
            let f = format!("{field}.enrolment_images[{j}]");
            require_text(&format!("{f}.reference"), &img.reference)?;
            let hex_ok = img.sha256_hex.len() == 64
                && img
                    .sha256_hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex_ok {
                return Err(AuthzError::invalid(
                    format!("{f}.sha256_hex"),
                    "must be 64 lower-case hex digits (SHA-256 of the image file)",
                ));
            }
            if let Some([_, _, w, h]) = img.face_box_px
                && (w == 0 || h == 0)
            {
                return Err(AuthzError::invalid(
                    format!("{f}.face_box_px"),
                    "width and height must be positive",
                ));
            }
        }
    }

    doc.area.validate("document.area")?;
    doc.window.validate("document.window")?;
    if doc.window.has_ended(now_usec) {
        return Err(AuthzError::Expired {
            until_usec: doc.window.until_usec,
            now_usec,
        });
    }
    if doc.authorized_users.is_empty() && doc.authorized_roles.is_empty() {
        return Err(AuthzError::invalid(
            "document.authorized_users",
            "names no user and no role (document.authorized_roles): nobody could operate under it",
        ));
    }
    for (i, u) in doc.authorized_users.iter().enumerate() {
        require_text(&format!("document.authorized_users[{i}]"), u)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::document::sample::{self, FROM_USEC, UNTIL_USEC};
    use super::super::document::{Issuer, UrgentDecision};
    use super::*;

    fn field_of(doc: &Authorization, now_usec: u64) -> String {
        validate(doc, now_usec).unwrap_err().field().to_string()
    }

    #[test]
    fn samples_are_valid() {
        validate(&sample::permit(), FROM_USEC).unwrap();
        validate(&sample::urgent(), FROM_USEC).unwrap();
        // Not started yet is fine: it loads as pending.
        validate(&sample::permit(), FROM_USEC - 1).unwrap();
    }

    #[test]
    fn expired_window_refused() {
        let a = sample::permit();
        validate(&a, UNTIL_USEC - 1).unwrap();
        let e = validate(&a, UNTIL_USEC).unwrap_err();
        assert!(matches!(e, AuthzError::Expired { .. }), "{e}");
        assert_eq!(e.field(), "document.window.until_usec");
    }

    #[test]
    fn each_required_text_is_named() {
        type Setter = fn(&mut Authorization);
        let cases: [(&str, Setter); 8] = [
            ("document.decision_id", |a| a.decision_id = " ".into()),
            ("document.issuer.name", |a| a.issuer.name = String::new()),
            ("document.issuer.key_id", |a| a.issuer.key_id = String::new()),
            ("document.case_reference", |a| a.case_reference = String::new()),
            ("document.purpose_details", |a| a.purpose_details = String::new()),
            ("document.proportionality", |a| a.proportionality = String::new()),
            ("document.fria_reference", |a| a.fria_reference = String::new()),
            ("document.eu_database_registration", |a| {
                a.eu_database_registration = String::new()
            }),
        ];
        for (field, set) in cases {
            let mut a = sample::permit();
            set(&mut a);
            assert_eq!(field_of(&a, FROM_USEC), field);
        }
    }

    #[test]
    fn wrong_format_refused() {
        let mut a = sample::permit();
        a.format = "utkik-authorization/0".into();
        assert_eq!(field_of(&a, FROM_USEC), "document.format");
    }

    #[test]
    fn pending_references_only_in_urgent_use() {
        let mut a = sample::permit();
        a.fria_reference = "Pending".into();
        assert_eq!(field_of(&a, FROM_USEC), "document.fria_reference");
        let mut a = sample::permit();
        a.eu_database_registration = "pending".into();
        assert_eq!(field_of(&a, FROM_USEC), "document.eu_database_registration");
        // The urgent sample has both pending and is valid (samples_are_valid).
    }

    #[test]
    fn senior_officer_cannot_issue_a_permit() {
        let mut a = sample::permit();
        a.issuer.kind = IssuerKind::SeniorOfficer;
        assert_eq!(field_of(&a, FROM_USEC), "document.issuer.kind");
    }

    #[test]
    fn urgent_needs_senior_officer_issuer() {
        let mut a = sample::urgent();
        a.issuer = Issuer {
            kind: IssuerKind::Prosecutor,
            name: "p".into(),
            key_id: "k".into(),
        };
        assert_eq!(field_of(&a, FROM_USEC), "document.urgent");
    }

    #[test]
    fn urgent_needs_justification() {
        let mut a = sample::urgent();
        a.urgent = Some(UrgentDecision {
            senior_officer_id: "kalle".into(),
            justification: "  ".into(),
        });
        assert_eq!(field_of(&a, FROM_USEC), "document.urgent.justification");
    }

    #[test]
    fn urgent_officer_must_be_the_issuer() {
        let mut a = sample::urgent();
        a.urgent.as_mut().unwrap().senior_officer_id = "someone-else".into();
        assert_eq!(field_of(&a, FROM_USEC), "document.urgent.senior_officer_id");
    }

    #[test]
    fn designated_persons_required() {
        let mut a = sample::permit();
        a.designated_persons.clear();
        assert_eq!(field_of(&a, FROM_USEC), "document.designated_persons");
    }

    #[test]
    fn duplicate_subject_refused() {
        let mut a = sample::permit();
        a.designated_persons.push(a.designated_persons[0].clone());
        assert_eq!(field_of(&a, FROM_USEC), "document.designated_persons[1].subject_id");
    }

    #[test]
    fn enrolment_image_rules() {
        let mut a = sample::permit();
        a.designated_persons[0].enrolment_images.clear();
        assert_eq!(
            field_of(&a, FROM_USEC),
            "document.designated_persons[0].enrolment_images"
        );
        let mut a = sample::permit();
        a.designated_persons[0].enrolment_images[0].sha256_hex = "AB".repeat(32);
        assert_eq!(
            field_of(&a, FROM_USEC),
            "document.designated_persons[0].enrolment_images[0].sha256_hex"
        );
        let mut a = sample::permit();
        a.designated_persons[0].enrolment_images[0].face_box_px = Some([1, 2, 0, 5]);
        assert_eq!(
            field_of(&a, FROM_USEC),
            "document.designated_persons[0].enrolment_images[0].face_box_px"
        );
    }

    #[test]
    fn empty_window_and_bad_area_named() {
        let mut a = sample::permit();
        a.window.until_usec = a.window.from_usec;
        assert_eq!(field_of(&a, FROM_USEC - 10), "document.window.until_usec");
        let mut a = sample::permit();
        a.area.vertices.truncate(2);
        assert_eq!(field_of(&a, FROM_USEC), "document.area.vertices");
    }

    #[test]
    fn somebody_must_be_authorized() {
        let mut a = sample::permit();
        a.authorized_users.clear();
        a.authorized_roles.clear();
        assert_eq!(field_of(&a, FROM_USEC), "document.authorized_users");
        let mut a = sample::permit();
        a.authorized_users = vec![String::new()];
        assert_eq!(field_of(&a, FROM_USEC), "document.authorized_users[0]");
    }
}
