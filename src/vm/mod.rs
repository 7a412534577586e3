//! The neutral VM model between OVF and VMX (in progress).

pub mod controller;

pub use controller::{ControllerKind, UnitLimits};
