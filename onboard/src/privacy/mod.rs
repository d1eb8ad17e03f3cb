//! Privacy: faces and plates masked in the video re-streamed to the ground.

pub mod mask;
pub mod restream;
#[cfg(test)]
mod truth_tests;

pub use mask::{MaskConfig, MaskMode, mask_boxes};
pub use restream::{Restream, RestreamConfig, RestreamError, refusal, restream_state, restream_state_from_u8};
