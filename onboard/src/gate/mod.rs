//! The biometric gate, onboard side (LAW.md): the face-template model is
//! reachable only through here, and only while an authorization is active
//! inside its area and window.

pub mod template_model;
