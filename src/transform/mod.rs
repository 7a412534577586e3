//! Package-to-package transforms, each one pass from package to package:
//!
//! * [`edit`](mod@edit): change product fields, annotation, EULA, properties, hardware,
//!   networks and files of a package; disks copied byte for byte.
//! * [`retarget`](mod@retarget): make a package acceptable to a given hypervisor (hardware
//!   family, devices, manifest algorithm, disk encoding), listing every change.
//! * [`diff`](mod@diff): what differs between two packages: descriptor facts and disk data.

pub mod diff;
pub mod edit;
mod ovf09;
mod package;
pub mod retarget;
mod xml;
