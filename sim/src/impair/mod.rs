//! Fault injection for the drone-ground link: a proxy that sits between two MAVLink endpoints
//! (UDP, or two emulated serial ports) and loses, burst-loses, duplicates, reorders, delays and
//! cuts traffic, each direction on its own seeded random stream, so that a lossy-radio run can be
//! repeated exactly. `utkik-sim impair` is the command; the model is pure and tested with a
//! hand-driven clock, the socket loops are thin.

pub mod model;
pub mod pty;
pub mod pump;
pub mod queue;
pub mod rng;
pub mod spec;
pub mod udp;

pub use model::{Counters, DropReason, Impairment, Verdict};
pub use pump::Report;
pub use spec::{Cut, DirectionConfig, GilbertElliott, ImpairConfig, SpecError};
