//! The VMDK engine: descriptors, hosted sparse and streamOptimized extents, flat extents, and the
//! sources and sinks of the [`crate::disk`] pipeline for every layout.

pub mod descriptor;
pub mod geometry;
pub mod header;
