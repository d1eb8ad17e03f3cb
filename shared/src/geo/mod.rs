//! Geodesy for georeferencing: WGS84 positions, the exact conversion to and
//! from a local tangent plane (NED/ENU) around a reference point, and distances
//! on the ellipsoid.
//!
//! Why a local frame: camera rays, lever arms and simulator motion are easy in
//! metres; MAVLink and the map speak latitude/longitude. [`LocalFrame`] goes
//! exactly through ECEF, so there is no flat-earth error to reason about.
//!
//! Altitudes are AMSL, as MAVLink's `GLOBAL_POSITION_INT.alt` is. The ECEF
//! conversion treats them as heights above the ellipsoid: the geoid separation
//! is constant to well under a metre over the few kilometres one camera sees,
//! so relative geometry is unaffected as long as every altitude in a
//! computation is AMSL.

mod distance;
mod local_frame;
mod point;
pub mod tiles;
pub mod wgs84;

pub use distance::{bearing_deg, distance_m, haversine_distance_m};
pub use local_frame::LocalFrame;
pub use point::{GeoError, GeoPoint};
