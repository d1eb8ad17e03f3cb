//! Who does something: a user id and the roles the ground station
//! authenticated them for. The authorization policy needs it to decide who may
//! activate an authorization (the users and roles it names) and who may start
//! urgent use (senior officers only, LAW.md section 3).

use serde::{Deserialize, Serialize};

/// A user role at the ground station (issue 5, item 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Flies the drone.
    Pilot,
    /// Watches the video and alerts, confirms possible matches.
    Operator,
    /// May start urgent use without a permit.
    SeniorOfficer,
    /// Reads logs and reports; takes no operational action.
    Auditor,
}

/// An authenticated user. Authentication itself happens at the ground
/// station; the policy only trusts what it is handed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's id (also what goes into MAVLink `operator_id`, max 16 bytes there).
    pub user_id: String,
    /// Roles the user holds.
    pub roles: Vec<Role>,
}

impl Actor {
    /// A user with these roles.
    pub fn new(user_id: impl Into<String>, roles: impl IntoIterator<Item = Role>) -> Self {
        Self {
            user_id: user_id.into(),
            roles: roles.into_iter().collect(),
        }
    }

    /// Whether the user holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_snake_case_in_json() {
        assert_eq!(
            serde_json::to_string(&Role::SeniorOfficer).unwrap(),
            "\"senior_officer\""
        );
        let r: Role = serde_json::from_str("\"auditor\"").unwrap();
        assert_eq!(r, Role::Auditor);
    }

    #[test]
    fn has_role_checks_membership() {
        let a = Actor::new("anna", [Role::Operator]);
        assert!(a.has_role(Role::Operator));
        assert!(!a.has_role(Role::SeniorOfficer));
    }
}
