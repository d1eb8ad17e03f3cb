//! Code the benchmark shares with tests.

pub mod sim_frames;
