//! The VMDK engine: descriptors, hosted sparse and streamOptimized extents, flat extents, and the
//! sources and sinks of the [`crate::disk`] pipeline for every layout.

pub mod chain;
pub mod descriptor;
pub mod extent;
pub mod flat;
pub mod geometry;
pub mod header;
pub mod hosted;
pub mod kind;
pub mod layout;
pub mod raw;
pub mod sparse;
pub mod sparse_writer;
pub mod stream;
pub mod stream_writer;
