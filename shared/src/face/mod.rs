//! Face geometry shared by the drone (templates under an authorization) and
//! the ground (enrolling designated persons from their images): both must
//! align faces identically or their templates do not compare.

pub mod align;
pub mod template;
