//! The authorization document: what a prosecutor or court decided (or, in
//! urgent use, what a senior officer started), field by field as LAW.md
//! section 2 lists them. It is JSON (serde) inside a signed envelope
//! ([`super::signed::SignedAuthorization`]).
//!
//! Unknown fields are refused (`deny_unknown_fields`): the signature covers
//! the canonical re-encoding of the fields we know, so an extra field would be
//! unsigned text riding along.

use serde::{Deserialize, Serialize};

use super::actor::Role;
use super::area::Area;
use super::window::ValidityWindow;

/// The value of [`Authorization::format`] this code understands.
pub const AUTHORIZATION_FORMAT: &str = "utkik-authorization/1";

/// Who issued the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuerKind {
    /// A prosecutor's permit.
    Prosecutor,
    /// A court's permit.
    Court,
    /// Urgent use started by a senior police officer without a permit
    /// (LAW.md section 3). Only valid with [`Authorization::urgent`].
    SeniorOfficer,
}

/// The issuer of the document and the key that signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issuer {
    /// Prosecutor, court or (urgent use) senior officer.
    pub kind: IssuerKind,
    /// Name of the authority or person (e.g. "Åklagarmyndigheten, City åklagarkammare").
    pub name: String,
    /// Id of the signing key in the trust store.
    pub key_id: String,
}

/// The lawful purposes of real-time remote biometric identification, exactly
/// one per authorization (AI Act Art. 5(1)(h) i-iii, as LAW.md section 2 lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LawfulPurpose {
    /// Find victims: kidnapping, human trafficking, sexual exploitation, missing persons.
    FindVictims,
    /// Prevent a specific, substantial and imminent threat to life or safety.
    PreventImminentThreat,
    /// Investigate or prosecute a serious crime.
    InvestigateSeriousCrime,
    /// Enforce a criminal sanction for such a crime.
    EnforceCriminalSanction,
}

/// One image a designated person is enrolled from. The ground station and the
/// drone compute the template from the image at activation; the digest makes
/// sure both use the image the issuer signed for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentImage {
    /// Where the image is: a path relative to the authorization file, or
    /// `utkik-cache:<path>` for the imagery cache (`~/.cache/utkik`).
    pub reference: String,
    /// SHA-256 of the image file, lower-case hex.
    pub sha256_hex: String,
    /// The face in the image as `[x, y, width, height]` pixels, when the image
    /// holds more than the face.
    pub face_box_px: Option<[u32; 4]>,
}

/// A person the authorization allows matching against. Nobody else is ever
/// matched (LAW.md section 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignatedPerson {
    /// Pseudonymous subject id used in matches and logs (no names on the link).
    pub subject_id: String,
    /// Images to enrol from, at least one.
    pub enrolment_images: Vec<EnrolmentImage>,
}

/// Urgent use (LAW.md section 3): started by a senior officer, with a written
/// justification, before a permit exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrgentDecision {
    /// User id of the senior officer; must be the issuer.
    pub senior_officer_id: String,
    /// Why it cannot wait for a permit.
    pub justification: String,
}

/// The authorization document (what is signed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// Format tag, [`AUTHORIZATION_FORMAT`].
    pub format: String,
    /// The decision's id (diarienummer of the decision).
    pub decision_id: String,
    /// Who issued it and which key signed it.
    pub issuer: Issuer,
    /// The case the decision belongs to.
    pub case_reference: String,
    /// The lawful purpose.
    pub purpose: LawfulPurpose,
    /// The purpose in words (what is searched for and why).
    pub purpose_details: String,
    /// The only persons that may be matched.
    pub designated_persons: Vec<DesignatedPerson>,
    /// Where identification may run (WGS84 polygon).
    pub area: Area,
    /// When identification may run.
    pub window: ValidityWindow,
    /// User ids allowed to activate and operate under it (empty: by role only).
    pub authorized_users: Vec<String>,
    /// Roles allowed to activate and operate under it (empty: by user id only).
    pub authorized_roles: Vec<Role>,
    /// The proportionality assessment, free text.
    pub proportionality: String,
    /// Reference of the fundamental-rights impact assessment (AI Act Art. 27);
    /// `pending` only in urgent use.
    pub fria_reference: String,
    /// EU database registration reference (AI Act Art. 49); `pending` only in urgent use.
    pub eu_database_registration: String,
    /// Present for urgent use, absent for a permit.
    pub urgent: Option<UrgentDecision>,
    /// When the decision was made (Unix epoch, UTC, microseconds).
    pub issued_usec: u64,
}

impl Authorization {
    /// Whether this is urgent use (no permit yet).
    pub fn is_urgent(&self) -> bool {
        self.urgent.is_some()
    }

    /// The designated subject ids, in document order.
    pub fn designated_subject_ids(&self) -> Vec<&str> {
        self.designated_persons.iter().map(|p| p.subject_id.as_str()).collect()
    }
}

#[cfg(test)]
pub(crate) mod sample {
    //! A valid permit for tests: Tensta torg, 1 hour from t = 1 000 s.
    use super::*;

    pub const FROM_USEC: u64 = 1_000_000_000;
    pub const UNTIL_USEC: u64 = FROM_USEC + 3_600_000_000;

    pub fn permit() -> Authorization {
        Authorization {
            format: AUTHORIZATION_FORMAT.into(),
            decision_id: "AM-2026-0001".into(),
            issuer: Issuer {
                kind: IssuerKind::Prosecutor,
                name: "Test prosecutor".into(),
                key_id: "test-prosecutor".into(),
            },
            case_reference: "K-123-26".into(),
            purpose: LawfulPurpose::FindVictims,
            purpose_details: "Missing person".into(),
            designated_persons: vec![DesignatedPerson {
                subject_id: "subject-1".into(),
                enrolment_images: vec![EnrolmentImage {
                    reference: "subject-1.png".into(),
                    sha256_hex: "ab".repeat(32),
                    face_box_px: None,
                }],
            }],
            area: Area::from_lat_lon_deg(&[(59.393, 17.898), (59.393, 17.904), (59.396, 17.904), (59.396, 17.898)]),
            window: ValidityWindow {
                from_usec: FROM_USEC,
                until_usec: UNTIL_USEC,
            },
            authorized_users: vec!["anna".into()],
            authorized_roles: vec![Role::Operator],
            proportionality: "Only the square, one hour".into(),
            fria_reference: "FRIA-2026-7".into(),
            eu_database_registration: "EU-DB-42".into(),
            urgent: None,
            issued_usec: FROM_USEC - 60_000_000,
        }
    }

    pub fn urgent() -> Authorization {
        let mut a = permit();
        a.issuer = Issuer {
            kind: IssuerKind::SeniorOfficer,
            name: "kalle".into(),
            key_id: "test-senior".into(),
        };
        a.urgent = Some(UrgentDecision {
            senior_officer_id: "kalle".into(),
            justification: "Child missing, seen 10 minutes ago on the square".into(),
        });
        a.fria_reference = "pending".into();
        a.eu_database_registration = "pending".into();
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_is_exact() {
        let a = sample::permit();
        let json = serde_json::to_string(&a).unwrap();
        let back: Authorization = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn unknown_field_refused() {
        let mut v = serde_json::to_value(sample::permit()).unwrap();
        v["also_match_everyone"] = serde_json::Value::Bool(true);
        assert!(serde_json::from_value::<Authorization>(v).is_err());
    }

    #[test]
    fn unlawful_purpose_refused() {
        let mut v = serde_json::to_value(sample::permit()).unwrap();
        v["purpose"] = serde_json::Value::String("general_surveillance".into());
        assert!(serde_json::from_value::<Authorization>(v).is_err());
    }

    #[test]
    fn urgent_absent_is_permit() {
        let mut v = serde_json::to_value(sample::permit()).unwrap();
        v.as_object_mut().unwrap().remove("urgent");
        let a: Authorization = serde_json::from_value(v).unwrap();
        assert!(!a.is_urgent());
        assert!(sample::urgent().is_urgent());
    }
}
