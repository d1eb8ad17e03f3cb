//! What each role may do at the ground station. Pilots fly (and may always press stop, the safe
//! direction); operators review alerts and run a permitted use; senior officers also revoke,
//! start urgent use and record the decision on it; auditors read logs and reports and take no
//! operational action.

use utkik_shared::authz::{Actor, Role};

/// An action that needs a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Confirm (or reject) a possible biometric match after seeing the evidence.
    ConfirmMatch,
    /// Check a plate hit against the plate image.
    CheckPlateHit,
    /// Dismiss an alert.
    DismissAlert,
    /// Export an alert's evidence (a disclosure).
    ExportEvidence,
    /// Dispatch units on an alert (a disclosure).
    Dispatch,
    /// Mark a confirmed match on the map for the team.
    MarkAlert,
    /// Load an authorization document.
    LoadAuthorization,
    /// Activate a permit.
    ActivateAuthorization,
    /// Revoke an authorization.
    RevokeAuthorization,
    /// Stop identification at once.
    StopIdentification,
    /// Start urgent use.
    StartUrgent,
    /// Record the permit application or the refusal of an urgent use.
    RecordUrgentDecision,
    /// Search stored plate reads.
    SearchStoredReads,
    /// Query a hit plate's movement history (its sightings, issue 19 item 4).
    QueryHitHistory,
    /// Review a recorded mission afterwards (replay, mission report); each is logged.
    ReviewRecording,
    /// See evidence images (crops, plate images) in a recorded mission; each look is logged.
    ViewRecordedEvidence,
}

impl Permission {
    /// Short name for messages and the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Permission::ConfirmMatch => "confirm a possible match",
            Permission::CheckPlateHit => "check a plate hit",
            Permission::DismissAlert => "dismiss an alert",
            Permission::ExportEvidence => "export evidence",
            Permission::Dispatch => "dispatch",
            Permission::MarkAlert => "mark an alert",
            Permission::LoadAuthorization => "load an authorization",
            Permission::ActivateAuthorization => "activate an authorization",
            Permission::RevokeAuthorization => "revoke an authorization",
            Permission::StopIdentification => "stop identification",
            Permission::StartUrgent => "start urgent use",
            Permission::RecordUrgentDecision => "record an urgent-use decision",
            Permission::SearchStoredReads => "search stored plate reads",
            Permission::QueryHitHistory => "query a hit plate's movement history",
            Permission::ReviewRecording => "review a recorded mission",
            Permission::ViewRecordedEvidence => "see evidence in a recorded mission",
        }
    }
}

/// Whether `role` grants `permission`.
pub fn role_allows(role: Role, permission: Permission) -> bool {
    use Permission as P;
    match role {
        Role::Pilot => matches!(permission, P::StopIdentification),
        Role::Operator => matches!(
            permission,
            P::ConfirmMatch
                | P::CheckPlateHit
                | P::DismissAlert
                | P::ExportEvidence
                | P::Dispatch
                | P::MarkAlert
                | P::LoadAuthorization
                | P::ActivateAuthorization
                | P::StopIdentification
                | P::SearchStoredReads
                | P::QueryHitHistory
        ),
        // The operation leader reviews missions, evidence included.
        Role::SeniorOfficer => true,
        // An auditor reads logs and reports (never the evidence images themselves).
        Role::Auditor => matches!(permission, P::ReviewRecording),
    }
}

/// Whether any of the actor's roles grants `permission`.
pub fn actor_allows(actor: &Actor, permission: Permission) -> bool {
    actor.roles.iter().any(|r| role_allows(*r, permission))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auditor_takes_no_operational_action() {
        for p in [
            Permission::ConfirmMatch,
            Permission::DismissAlert,
            Permission::ExportEvidence,
            Permission::ActivateAuthorization,
            Permission::StopIdentification,
            Permission::SearchStoredReads,
            Permission::QueryHitHistory,
        ] {
            assert!(!role_allows(Role::Auditor, p), "{p:?}");
        }
    }

    #[test]
    fn recordings_are_reviewed_by_senior_officers_and_auditors_evidence_by_senior_officers_only() {
        assert!(role_allows(Role::SeniorOfficer, Permission::ReviewRecording));
        assert!(role_allows(Role::SeniorOfficer, Permission::ViewRecordedEvidence));
        assert!(role_allows(Role::Auditor, Permission::ReviewRecording));
        assert!(!role_allows(Role::Auditor, Permission::ViewRecordedEvidence));
        for r in [Role::Operator, Role::Pilot] {
            assert!(!role_allows(r, Permission::ReviewRecording), "{r:?}");
            assert!(!role_allows(r, Permission::ViewRecordedEvidence), "{r:?}");
        }
    }

    #[test]
    fn pilot_may_only_stop() {
        assert!(role_allows(Role::Pilot, Permission::StopIdentification));
        assert!(!role_allows(Role::Pilot, Permission::ConfirmMatch));
        assert!(!role_allows(Role::Pilot, Permission::ActivateAuthorization));
    }

    #[test]
    fn urgent_and_revoke_are_for_senior_officers() {
        for p in [
            Permission::StartUrgent,
            Permission::RecordUrgentDecision,
            Permission::RevokeAuthorization,
        ] {
            assert!(role_allows(Role::SeniorOfficer, p));
            assert!(!role_allows(Role::Operator, p), "{p:?}");
        }
        let both = Actor::new("x", [Role::Pilot, Role::Operator]);
        assert!(actor_allows(&both, Permission::ConfirmMatch));
    }
}
