//! The VMDK engine: descriptors, hosted sparse and streamOptimized extents, flat extents, and the
//! sources and sinks of the [`crate::disk`] pipeline for every layout.

pub mod codec;
pub mod header;
pub mod layout;
pub mod open;
pub mod raw;
pub mod stream;
pub mod stream_writer;
