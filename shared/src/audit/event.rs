//! What an audit record says: one [`AuditEvent`] per record.
//!
//! The events carry the fields AI Act Art. 12(3) asks of a remote biometric
//! identification system, and the logging of Directive 2016/680 Art. 25:
//! - (a) the period of each use: [`AuditEvent::UseStarted`] and
//!   [`AuditEvent::UseEnded`] (which repeats the start, so one record holds the period);
//! - (b) the reference database checked: the authorization and its designated
//!   persons in [`AuditEvent::UseStarted`];
//! - (c) the input data that led to a match: frame time, track and evidence
//!   crop in [`AuditEvent::PossibleMatch`];
//! - (d) the persons who verified the results: [`AuditEvent::MatchVerification`];
//! - consultation, disclosure and erasure: [`AuditEvent::Consultation`],
//!   [`AuditEvent::StoredReadSearch`], [`AuditEvent::HitHistoryQuery`],
//!   [`AuditEvent::Disclosure`], [`AuditEvent::Erasure`],
//!   and [`AuditEvent::DeletionReceipt`] for a refused urgent use.
//!
//! Biometric payloads (templates, evidence crops) are never inside an event:
//! events hold a [`PayloadRef`] (hash and length) to the payload store, so
//! deleting a payload leaves every record, and so the hash chain, intact.

use serde::{Deserialize, Serialize};

use crate::authz::{AuthzDigest, AuthzState, UseDataKind};

/// UTKIK_PLATE_READ's message id (an [`AuditEvent::AlertStored`] of a plate hit is ANPR data).
const PLATE_READ_MSG_ID: u32 = <crate::dialect::UTKIK_PLATE_READ_DATA as mavlink_core::MessageData>::ID;

/// A payload in the payload store, by content hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadRef {
    /// SHA-256 of the payload bytes, lower-case hex (also its file name in the store).
    pub sha256_hex: String,
    /// Payload length in bytes.
    pub len_bytes: u64,
}

/// Why a use of identification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UseEndReason {
    /// The validity window ended.
    WindowEnded,
    /// Urgent use reached its 24 h deadline without an application.
    UrgentDeadline,
    /// The stop control.
    Stopped,
    /// Revoked from the ground.
    Revoked,
    /// Urgent use refused.
    Refused,
    /// The drone left the area (identification paused until it returns).
    LeftArea,
    /// The link to the ground was lost (the onboard side stops on its own).
    LinkLost,
    /// The program shut down.
    Shutdown,
}

/// Why identification is suspended while its use goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuspendReason {
    /// No valid signed frame from the ground for `gate.link_loss_stop_s` (LAW.md 2.4).
    LinkLost,
}

/// What a verifier decided about a possible match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Confirmed after seeing the evidence.
    Confirmed,
    /// Rejected: not the designated person.
    Rejected,
}

/// How many items of one kind were deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletedCount {
    /// The kind.
    pub kind: UseDataKind,
    /// How many items.
    pub count: u64,
}

/// What a file the ground station wrote from stored alert data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DerivedFileKind {
    /// The console's copy of an alert's image for a user to look at (not a disclosure).
    ViewingFile,
    /// An export of a confirmed alert's evidence (a disclosure).
    Export,
    /// A mission report (HTML, a disclosure).
    Report,
}

impl DerivedFileKind {
    /// The deletion receipt's kind for files of this kind.
    pub fn use_data_kind(self) -> UseDataKind {
        match self {
            DerivedFileKind::ViewingFile => UseDataKind::ViewingFiles,
            DerivedFileKind::Export => UseDataKind::Exports,
            DerivedFileKind::Report => UseDataKind::Reports,
        }
    }
}

/// An alert whose data a derived file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAlert {
    /// The vehicle.
    pub system_id: u8,
    /// The alert id (a possible match's match id).
    pub alert_id: u32,
    /// For a possible match: its use, as the first 16 bytes of the authorization digest (what
    /// UTKIK_BIOMETRIC_MATCH carries), lower-case hex. None for a plate hit (not of a use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_digest_prefix_hex: Option<String>,
}

/// A file written at the ground from stored alert data (LAW.md 3.3: a refused use's are found
/// again from these records, also after a restart, and deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedFile {
    /// What it is.
    pub kind: DerivedFileKind,
    /// Where, as an absolute path (the station may be started from another directory).
    pub path: String,
    /// The alerts whose data it holds.
    pub alerts: Vec<FileAlert>,
}

impl DerivedFile {
    /// Whether it holds data of the use whose digest starts with `digest_prefix`.
    pub fn holds_use(&self, digest_prefix: &[u8; 16]) -> bool {
        let want = hex::encode(digest_prefix);
        self.alerts
            .iter()
            .any(|a| a.use_digest_prefix_hex.as_deref() == Some(want.as_str()))
    }
}

/// The content of one audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuditEvent {
    /// An authorization file was verified and loaded.
    AuthorizationLoaded {
        /// Its digest.
        authorization_digest: AuthzDigest,
        /// Decision id.
        decision_id: String,
        /// The trust-store key that signed it.
        issuer_key_id: String,
    },
    /// An authorization file (or a command about one) was refused.
    AuthorizationRefused {
        /// The field the refusal names.
        field: String,
        /// The reason.
        reason: String,
    },
    /// An authorization command (activate, revoke, stop, urgent ...) was handled.
    AuthzCommand {
        /// The command name (as in UTKIK_AUTHZ_COMMAND).
        command: String,
        /// The user who issued it.
        operator_id: String,
        /// The authorization it was about, if any.
        authorization_digest: Option<AuthzDigest>,
        /// Whether it was carried out.
        accepted: bool,
        /// Why not (empty when accepted).
        reason: String,
        /// The vehicle a station's command was for (a station commands several, each with an
        /// authorization of its own); absent in a drone's own log and in logs written before
        /// stations named it (their `AuthzCommandSent` record names it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system_id: Option<u8>,
    },
    /// Identification started under an authorization (Art. 12(3)(a) start, (b) reference database).
    UseStarted {
        /// The authorization (the reference database is its designated persons).
        authorization_digest: AuthzDigest,
        /// Its decision id.
        decision_id: String,
        /// The designated subject ids matched against, and nothing else.
        designated_subject_ids: Vec<String>,
        /// Urgent use.
        urgent: bool,
        /// The user who activated it.
        started_by: String,
    },
    /// Identification ended (Art. 12(3)(a): the whole period in one record).
    UseEnded {
        /// The authorization.
        authorization_digest: AuthzDigest,
        /// When the use started (Unix epoch, UTC, µs).
        started_usec: u64,
        /// When it ended.
        ended_usec: u64,
        /// Why.
        reason: UseEndReason,
    },
    /// Identification stopped by itself although the use goes on (LAW.md 2.4: the link to the
    /// ground was lost); no face template is computed until [`AuditEvent::IdentificationResumed`].
    IdentificationSuspended {
        /// The authorization of the use.
        authorization_digest: AuthzDigest,
        /// Why.
        reason: SuspendReason,
        /// Signing time of the last valid frame from the ground (Unix µs; 0: none since start).
        last_heard_usec: u64,
        /// Who saw it: "onboard", or "ground" for the ground's record of the drone's report.
        site: String,
    },
    /// Identification runs again after a suspension (a valid signed frame from the ground,
    /// inside the window; the area is checked per face as always).
    IdentificationResumed {
        /// The authorization of the use.
        authorization_digest: AuthzDigest,
        /// What had suspended it.
        reason: SuspendReason,
        /// When it was suspended (Unix µs).
        suspended_usec: u64,
        /// "onboard" or "ground" (as for the suspension).
        site: String,
    },
    /// The onboard gate started again and took up its saved state (a restart, also after a
    /// crash): what it came back with.
    GateRestored {
        /// The authorization.
        authorization_digest: AuthzDigest,
        /// The lifecycle state restored (after applying the time passed while down).
        state: AuthzState,
        /// The urgent use's deadline, kept from its first start (Unix µs).
        urgent_deadline_usec: Option<u64>,
        /// When the running use started, if one was running (it goes on, suspended until the
        /// ground is heard).
        use_started_usec: Option<u64>,
        /// Matches of the use still held (their evidence crops in the payload store).
        matches_held: u64,
        /// When the state was last saved before the restart (Unix µs).
        saved_usec: u64,
    },
    /// Urgent use started by a senior officer (LAW.md section 3).
    UrgentStarted {
        /// The urgent-use document.
        authorization_digest: AuthzDigest,
        /// The senior officer.
        senior_officer_id: String,
        /// The written justification.
        justification: String,
        /// Start + 24 h (Unix epoch, UTC, µs).
        deadline_usec: u64,
    },
    /// The permit application for an urgent use was recorded as submitted.
    UrgentApplicationRecorded {
        /// The urgent-use document.
        authorization_digest: AuthzDigest,
        /// Who recorded it.
        recorded_by: String,
    },
    /// The permit for an urgent use was refused.
    UrgentRefused {
        /// The urgent-use document.
        authorization_digest: AuthzDigest,
        /// Who recorded the refusal.
        recorded_by: String,
    },
    /// Everything of a refused urgent use was deleted: what and how much, the
    /// payload hashes that are gone, and where. No biometric data.
    DeletionReceipt {
        /// The use.
        authorization_digest: AuthzDigest,
        /// Its decision id.
        decision_id: String,
        /// Where the deletion ran ("onboard", "ground").
        site: String,
        /// Counts per kind.
        deleted: Vec<DeletedCount>,
        /// The payloads deleted from the payload store.
        payloads: Vec<PayloadRef>,
        /// Derived files recorded for the use that were already gone (deleted by hand, moved),
        /// per kind. Absent in receipts written before derived files were deleted.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        not_found: Vec<DeletedCount>,
        /// What could not be deleted, in words (the file named); the rest was deleted.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        problems: Vec<String>,
    },
    /// A possible match (Art. 12(3)(c): the input that led to it).
    PossibleMatch {
        /// The authorization it was made under.
        authorization_digest: AuthzDigest,
        /// Match id (as in UTKIK_BIOMETRIC_MATCH).
        match_id: u32,
        /// The designated subject it may be.
        subject_id: String,
        /// Capture time of the frame (Unix epoch, UTC, µs).
        frame_time_usec: u64,
        /// The face track.
        track_id: u32,
        /// Template distance to the subject's closest enrolled template: dlib
        /// Euclidean, unitless, 0 = identical, a possible match is below the
        /// gate's threshold (at most `face::template::MATCH_DISTANCE` = 0.5).
        /// Not the similarity `score` of UTKIK_BIOMETRIC_MATCH (= 1 - distance).
        distance: f32,
        /// The evidence crop in the payload store.
        evidence_crop: Option<PayloadRef>,
    },
    /// A user verified a possible match (Art. 12(3)(d), Art. 14(5)).
    MatchVerification {
        /// The authorization.
        authorization_digest: AuthzDigest,
        /// The match.
        match_id: u32,
        /// The verifying user.
        verifier_id: String,
        /// Their decision.
        verdict: Verdict,
    },
    /// Someone looked at stored identification data.
    Consultation {
        /// Who.
        user_id: String,
        /// What (match id, recording, report).
        what: String,
    },
    /// A search in stored ANPR reads (LAW.md section 7).
    StoredReadSearch {
        /// Who searched.
        user_id: String,
        /// The query as typed.
        query: String,
        /// Number of reads returned.
        results: u64,
        /// Why the user searched, as they stated it (empty in logs written before searches
        /// needed a reason).
        #[serde(default)]
        reason: String,
    },
    /// A query of a hit plate's movement history at the station (issue 19 item 4, LAW.md
    /// section 7: every consultation of stored ANPR data is logged), written before the path is
    /// shown.
    HitHistoryQuery {
        /// Who asked.
        user_id: String,
        /// The plate, normalized.
        plate: String,
        /// Why, as the user stated it.
        reason: String,
        /// Number of sightings returned.
        results: u64,
    },
    /// Data left the system (export, dispatch).
    Disclosure {
        /// Who disclosed it.
        user_id: String,
        /// To whom.
        recipient: String,
        /// What.
        what: String,
        /// Payloads included.
        payloads: Vec<PayloadRef>,
        /// The file written, when the disclosure is one (export, report): found again and
        /// deleted when a use it holds is refused. Absent in older records and for dispatch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<DerivedFile>,
    },
    /// The console wrote an alert's image to a viewing file for the signed-in user (a terminal
    /// cannot show a picture). The look itself is the `Consultation` "viewed ..."; this record
    /// says where the copy is, so a refused use's copies are deleted too.
    ViewingFileWritten {
        /// For whom.
        user_id: String,
        /// The file.
        file: DerivedFile,
    },
    /// Data was erased (retention, request).
    Erasure {
        /// Who or what (`retention`) erased it.
        user_id: String,
        /// What.
        what: String,
        /// Payloads deleted.
        payloads: Vec<PayloadRef>,
    },
    /// A torn last record (a crash during its write, never acknowledged) was
    /// cut off when the log was reopened.
    TornTailDiscarded {
        /// Where it started.
        offset_bytes: u64,
        /// How many bytes were cut.
        len_bytes: u64,
    },
    /// The ground station stored an alert (a possible match, a plate hit) and its image, and
    /// may now acknowledge it to the drone (issue 14 item 3: never before). After a restart the
    /// station rebuilds its alerts from these records (`ground::restore`), so an alert the
    /// drone no longer resends (it was acknowledged) is not lost. The alert is kept as the
    /// drone sent it: an unsigned MAVLink 2 frame of its UTKIK_BIOMETRIC_MATCH or
    /// UTKIK_PLATE_READ (never a non-hit read), CRC-checked when read back.
    AlertStored {
        /// The vehicle.
        system_id: u8,
        /// The alert id (per vehicle, boot epoch in its high bits).
        alert_id: u32,
        /// The alert message, a MAVLink 2 frame, lower-case hex.
        frame_hex: String,
        /// When it first arrived at the ground (Unix epoch, UTC, µs).
        received_usec: u64,
        /// Its image (evidence crop, plate image) in the payload store.
        image: Option<PayloadRef>,
    },
    /// The ground station sent an authorization command (pending until the drone confirms it;
    /// resent meanwhile, also after a restart of the station: `ground::restore`). The frame
    /// holds the command as sent (with its users' signatures), unsigned by the link (the link
    /// signs each send anew).
    AuthzCommandSent {
        /// The vehicle.
        system_id: u8,
        /// The request id the drone echoes.
        request_id: u16,
        /// The command name (STOP, ACTIVATE, ...).
        command: String,
        /// The UTKIK_AUTHZ_COMMAND, a MAVLink 2 frame, lower-case hex.
        frame_hex: String,
    },
    /// The drone's UTKIK_AUTHZ_STATUS echoed a pending command's request id: it carried the
    /// command out (or refused it), or a newer command superseded it before it was confirmed.
    AuthzCommandSettled {
        /// The vehicle.
        system_id: u8,
        /// The request id.
        request_id: u16,
        /// The command name.
        command: String,
        /// `accepted`, `refused` (MAV_RESULT name given) or `superseded`.
        outcome: String,
    },
    /// A signed checkpoint over the record before it (see `checkpoint.rs`).
    Checkpoint {
        /// The signing key.
        key_id: String,
        /// Sequence number of the record signed for (the previous one).
        covers_seq: u64,
        /// Its hash, lower-case hex.
        covers_sha256_hex: String,
        /// ed25519 signature, hex.
        signature_ed25519_hex: String,
    },
}

impl AuditEvent {
    /// Whether the record belongs to the biometric identification logs, which
    /// are kept at least six months ([`super::retention`]). Everything tied to
    /// an authorization is; so are checkpoints, which vouch for those records.
    pub fn is_identification(&self) -> bool {
        !matches!(
            self,
            AuditEvent::StoredReadSearch { .. }
                | AuditEvent::HitHistoryQuery { .. }
                | AuditEvent::Consultation { .. }
                | AuditEvent::Disclosure { .. }
                | AuditEvent::ViewingFileWritten { .. }
        ) && !self.is_plate_hit_alert()
    }

    /// An [`AuditEvent::AlertStored`] of a plate hit (ANPR, not identification: LAW.md section 7).
    fn is_plate_hit_alert(&self) -> bool {
        match self {
            AuditEvent::AlertStored { frame_hex, .. } => hex::decode(frame_hex)
                .ok()
                .and_then(|b| crate::mavframe::RawFrame::parse(&b).ok())
                .is_some_and(|f| f.msg_id() == PLATE_READ_MSG_ID),
            _ => false,
        }
    }

    /// The derived file the event records writing, if any (LAW.md 3.3).
    pub fn derived_file(&self) -> Option<&DerivedFile> {
        match self {
            AuditEvent::Disclosure { file, .. } => file.as_ref(),
            AuditEvent::ViewingFileWritten { file, .. } => Some(file),
            _ => None,
        }
    }

    /// Payloads the event refers to.
    pub fn payloads(&self) -> Vec<&PayloadRef> {
        match self {
            AuditEvent::PossibleMatch { evidence_crop, .. } => evidence_crop.iter().collect(),
            AuditEvent::AlertStored { image, .. } => image.iter().collect(),
            AuditEvent::DeletionReceipt { payloads, .. }
            | AuditEvent::Disclosure { payloads, .. }
            | AuditEvent::Erasure { payloads, .. } => payloads.iter().collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_snake_case_json() {
        let e = AuditEvent::MatchVerification {
            authorization_digest: AuthzDigest([0xab; 32]),
            match_id: 7,
            verifier_id: "anna".into(),
            verdict: Verdict::Confirmed,
        };
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.starts_with(r#"{"kind":"match_verification","#), "{json}");
        assert_eq!(serde_json::from_str::<AuditEvent>(&json).unwrap(), e);
    }

    #[test]
    fn unknown_fields_refused() {
        let json = r#"{"kind":"consultation","user_id":"a","what":"b","extra":1}"#;
        assert!(serde_json::from_str::<AuditEvent>(json).is_err());
    }

    fn alert_stored(msg: &crate::dialect::MavMessage, image: Option<PayloadRef>) -> AuditEvent {
        let header = mavlink_core::MavHeader {
            system_id: 1,
            component_id: 191,
            sequence: 0,
        };
        AuditEvent::AlertStored {
            system_id: 1,
            alert_id: 7,
            frame_hex: hex::encode(crate::mavframe::encode_v2(header, msg)),
            received_usec: 1,
            image,
        }
    }

    #[test]
    fn stored_plate_hit_is_anpr_data_and_a_stored_match_is_identification() {
        use crate::dialect::{MavMessage, UTKIK_BIOMETRIC_MATCH_DATA, UTKIK_PLATE_READ_DATA};
        let image = PayloadRef {
            sha256_hex: "ab".repeat(32),
            len_bytes: 3,
        };
        let plate = alert_stored(
            &MavMessage::UTKIK_PLATE_READ(UTKIK_PLATE_READ_DATA::default()),
            Some(image.clone()),
        );
        assert!(!plate.is_identification());
        assert_eq!(
            plate.payloads(),
            vec![&image],
            "the plate image is the record's payload"
        );
        let m = alert_stored(
            &MavMessage::UTKIK_BIOMETRIC_MATCH(UTKIK_BIOMETRIC_MATCH_DATA::default()),
            None,
        );
        assert!(m.is_identification());
        assert!(m.payloads().is_empty());
        // A damaged frame is not taken for a plate hit: kept as identification (the longer period).
        let damaged = AuditEvent::AlertStored {
            system_id: 1,
            alert_id: 7,
            frame_hex: "zz".into(),
            received_usec: 1,
            image: None,
        };
        assert!(damaged.is_identification());
        let json = serde_json::to_string(&plate).unwrap();
        assert!(json.starts_with(r#"{"kind":"alert_stored","#), "{json}");
        assert_eq!(serde_json::from_str::<AuditEvent>(&json).unwrap(), plate);
    }

    #[test]
    fn records_from_before_derived_files_read_and_encode_unchanged() {
        // A receipt and a disclosure as written before the derived-file fields existed: they
        // still parse, and encode to the same bytes (the body must stay canonical for its hash).
        for old in [
            r#"{"kind":"deletion_receipt","authorization_digest":"0101010101010101010101010101010101010101010101010101010101010101","decision_id":"U-1","site":"ground","deleted":[{"kind":"matches","count":1}],"payloads":[]}"#,
            r#"{"kind":"disclosure","user_id":"bertil","recipient":"export file /x/alert-1-5.jpg","what":"alert 1/5","payloads":[]}"#,
        ] {
            let e: AuditEvent = serde_json::from_str(old).unwrap();
            assert_eq!(serde_json::to_string(&e).unwrap(), old);
            assert!(e.derived_file().is_none());
        }
    }

    #[test]
    fn derived_files_round_trip_and_name_their_uses() {
        let use_a = [0xA1; 16];
        let file = DerivedFile {
            kind: DerivedFileKind::Report,
            path: "/m/report.html".into(),
            alerts: vec![
                FileAlert {
                    system_id: 1,
                    alert_id: 5,
                    use_digest_prefix_hex: Some(hex::encode(use_a)),
                },
                FileAlert {
                    system_id: 1,
                    alert_id: 7,
                    use_digest_prefix_hex: None,
                },
            ],
        };
        assert!(file.holds_use(&use_a));
        assert!(!file.holds_use(&[0xB2; 16]), "another use's file");
        let plate_only = DerivedFile {
            alerts: vec![file.alerts[1].clone()],
            ..file.clone()
        };
        assert!(
            !plate_only.holds_use(&[0; 16]),
            "a plate hit is of no use, not even an all-zero one"
        );
        for e in [
            AuditEvent::Disclosure {
                user_id: "cecilia".into(),
                recipient: "report file /m/report.html".into(),
                what: "mission report".into(),
                payloads: Vec::new(),
                file: Some(file.clone()),
            },
            AuditEvent::ViewingFileWritten {
                user_id: "anna".into(),
                file: DerivedFile {
                    kind: DerivedFileKind::ViewingFile,
                    ..file.clone()
                },
            },
            AuditEvent::DeletionReceipt {
                authorization_digest: AuthzDigest([1; 32]),
                decision_id: "U-1".into(),
                site: "ground".into(),
                deleted: vec![DeletedCount {
                    kind: UseDataKind::Reports,
                    count: 1,
                }],
                payloads: Vec::new(),
                not_found: vec![DeletedCount {
                    kind: UseDataKind::Exports,
                    count: 1,
                }],
                problems: vec!["viewing file /v/x.jpg: Is a directory".into()],
            },
        ] {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<AuditEvent>(&json).unwrap(), e, "{json}");
        }
        let json = r#"{"kind":"viewing_file_written","user_id":"anna","file":{"kind":"viewing_file","path":"/v","alerts":[],"x":1}}"#;
        assert!(
            serde_json::from_str::<AuditEvent>(json).is_err(),
            "unknown fields refused inside too"
        );
    }

    #[test]
    fn identification_classification() {
        let search = AuditEvent::StoredReadSearch {
            user_id: "a".into(),
            query: "ABC*".into(),
            results: 0,
            reason: "case K-1-26".into(),
        };
        assert!(!search.is_identification());
        let history = AuditEvent::HitHistoryQuery {
            user_id: "a".into(),
            plate: "ABC123".into(),
            reason: "case K-1-26".into(),
            results: 2,
        };
        assert!(!history.is_identification(), "ANPR, kept as the other ANPR records");
        let json = serde_json::to_string(&history).unwrap();
        assert!(json.contains(r#""kind":"hit_history_query""#), "{json}");
        assert_eq!(serde_json::from_str::<AuditEvent>(&json).unwrap(), history);
        let ended = AuditEvent::UseEnded {
            authorization_digest: AuthzDigest([0; 32]),
            started_usec: 1,
            ended_usec: 2,
            reason: UseEndReason::WindowEnded,
        };
        assert!(ended.is_identification());
    }
}
