//! Urgent use (LAW.md section 3): the 24-hour deadline and what a refusal
//! deletes.
//!
//! The deletion itself happens where the data is (the drone, the ground
//! station); this module only says *what* must go, so both ends delete the
//! same things and the audit log's deletion receipt can list them.

use serde::{Deserialize, Serialize};

use super::signed::AuthzDigest;

/// How long urgent use may run without a recorded permit application,
/// counted from its start: 24 hours, in microseconds.
pub const URGENT_DEADLINE_USEC: u64 = 24 * 3600 * 1_000_000;

/// A kind of data produced *by* a use of biometric identification. Every item
/// of these kinds is tagged with the authorization digest it was produced under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UseDataKind {
    /// Face templates (embeddings), of designated persons and of faces seen.
    Templates,
    /// Possible matches and their confirmations.
    Matches,
    /// Evidence crops (unblurred face images of matches).
    EvidenceCrops,
    /// Alert records at the ground station (and the drone's resend queue).
    AlertRecords,
    /// Copies of the use's messages in recordings: the ground's tlog records of its matches
    /// (every resend) and of their evidence transfers (handshake and data packets). Counted in
    /// records; a receipt without this kind did not touch the recordings.
    #[serde(rename = "recorded_messages")]
    RecordedMessages,
    /// Files the ground console wrote so a user could look at an alert's evidence crop (a
    /// terminal cannot show a picture): `<audit>/viewing/alert-S-A-seen-by-USER.jpg`.
    ViewingFiles,
    /// Export files of a confirmed match's evidence (`alert-S-A.jpg`, a disclosure).
    Exports,
    /// Mission reports (HTML) that list a match of the use: deleted whole, whatever else they
    /// hold, since a report is one file and can be written again from the (redacted) recording.
    Reports,
    /// Enrolment images of an urgent use started at the ground station (LAW.md 3.4): the
    /// station's copy beside the document it signed and the drone's uploaded copy. The signed
    /// document itself is kept (it is the record of the decision).
    EnrolmentImages,
}

impl UseDataKind {
    /// Every kind: all of them are deleted when an urgent use is refused.
    pub const ALL: [UseDataKind; 9] = [
        UseDataKind::Templates,
        UseDataKind::Matches,
        UseDataKind::EvidenceCrops,
        UseDataKind::AlertRecords,
        UseDataKind::RecordedMessages,
        UseDataKind::ViewingFiles,
        UseDataKind::Exports,
        UseDataKind::Reports,
        UseDataKind::EnrolmentImages,
    ];

    /// The kind in words, for receipts shown to people (the console, the IMY report); the
    /// audit log keeps the snake-case name.
    pub fn label(self) -> &'static str {
        match self {
            UseDataKind::Templates => "face templates",
            UseDataKind::Matches => "possible matches",
            UseDataKind::EvidenceCrops => "evidence crops",
            UseDataKind::AlertRecords => "alert records",
            UseDataKind::RecordedMessages => "messages in tlog recordings",
            UseDataKind::ViewingFiles => "console viewing files",
            UseDataKind::Exports => "export files",
            UseDataKind::Reports => "mission reports (deleted whole)",
            UseDataKind::EnrolmentImages => "uploaded enrolment images",
        }
    }
}

/// The order to delete everything of a refused urgent use, on the drone and
/// at the ground station. Not included: the video itself, which was recorded
/// lawfully under other rules (LAW.md section 3, last point), and the audit
/// log's metadata records, which stay (without biometric payloads) so the log
/// still shows that the use happened and was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionOrder {
    /// The use: everything tagged with this digest goes.
    pub authorization_digest: AuthzDigest,
    /// The decision id of the urgent use (for the receipt).
    pub decision_id: String,
    /// When the urgent use started (Unix epoch, UTC, µs), if it did.
    pub urgent_started_usec: Option<u64>,
    /// When the refusal was handled.
    pub refused_usec: u64,
    /// What must be deleted: [`UseDataKind::ALL`].
    pub delete: Vec<UseDataKind>,
}

impl DeletionOrder {
    /// The order for a refused urgent use.
    pub fn for_refusal(
        authorization_digest: AuthzDigest,
        decision_id: String,
        urgent_started_usec: Option<u64>,
        refused_usec: u64,
    ) -> Self {
        Self {
            authorization_digest,
            decision_id,
            urgent_started_usec,
            refused_usec,
            delete: UseDataKind::ALL.to_vec(),
        }
    }

    /// Whether data of `kind` produced under `digest` must be deleted.
    pub fn covers(&self, digest: &AuthzDigest, kind: UseDataKind) -> bool {
        *digest == self.authorization_digest && self.delete.contains(&kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_24_hours() {
        assert_eq!(URGENT_DEADLINE_USEC, 86_400_000_000);
    }

    #[test]
    fn kinds_have_stable_snake_case_names() {
        let names: Vec<String> = UseDataKind::ALL
            .iter()
            .map(|k| serde_json::to_value(k).unwrap().as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "templates",
                "matches",
                "evidence_crops",
                "alert_records",
                "recorded_messages",
                "viewing_files",
                "exports",
                "reports",
                "enrolment_images"
            ]
        );
        let labels: std::collections::BTreeSet<&str> = UseDataKind::ALL.iter().map(|k| k.label()).collect();
        assert_eq!(labels.len(), UseDataKind::ALL.len(), "a label per kind");
        let k: UseDataKind = serde_json::from_str("\"recorded_messages\"").unwrap();
        assert_eq!(k, UseDataKind::RecordedMessages);
    }

    #[test]
    fn refusal_covers_every_kind_of_that_use_only() {
        let d = AuthzDigest([1; 32]);
        let order = DeletionOrder::for_refusal(d, "U-1".into(), Some(5), 10);
        for kind in UseDataKind::ALL {
            assert!(order.covers(&d, kind), "{kind:?} must be deleted");
            assert!(
                !order.covers(&AuthzDigest([2; 32]), kind),
                "another use's {kind:?} stays"
            );
        }
    }
}
