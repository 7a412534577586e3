//! The one disk pipeline.
//!
//! Every conversion is `source → sink`, never a special case per pair:
//!
//! * a [`DiskSource`] (raw image, flat/sparse VMDK, snapshot chain, streamOptimized from a file
//!   or a non-seekable stream) hands out the *allocated* grains of a virtual disk in ascending
//!   offset order; everything it does not hand out reads as zeros;
//! * a [`DiskSink`] (thin, thick lazy-zeroed, thick eager-zeroed, monolithicSparse,
//!   twoGbMaxExtent*, streamOptimized, raw) consumes them;
//! * [`copy`] connects the two: the source is read on the calling thread, grains are decoded
//!   (inflated), checked for all-zero content and encoded by the sink (e.g. deflated) on worker
//!   threads, and handed to the sink's writer strictly in offset order. At most
//!   [`CopyOptions::max_in_flight`] grains exist at once, so memory is bounded whatever the disk
//!   size, and the cost grows with the allocated data, not the capacity.
//!
//! A grain is [`GRAIN_BYTES`] (64 KiB = 128 sectors, what every VMDK writer uses) at an offset
//! that is a multiple of it; only the last grain of a disk whose capacity is not a multiple of
//! the grain may be shorter.

use crate::error::Result;
use crate::progress::Progress;

/// Bytes in one pipeline grain: 128 sectors, the grain size of every streamOptimized writer.
pub const GRAIN_BYTES: u64 = 64 * 1024;

/// How the bytes of a [`Grain`] are held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrainData {
    /// Plain bytes; `len()` equals the grain's length.
    Raw(Vec<u8>),
    /// A zlib stream (RFC 1950) that must inflate to exactly the grain's length (a
    /// streamOptimized grain, decoded on a worker thread). Inflating past the length is an error
    /// (compression bomb), as is inflating to less.
    Zlib(Vec<u8>),
}

/// One allocated grain of a virtual disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grain {
    /// Offset in the virtual disk, in bytes; a multiple of [`GRAIN_BYTES`].
    pub offset: u64,
    /// Length in bytes: [`GRAIN_BYTES`], or less for the last grain of the disk.
    pub len: u32,
    /// The content.
    pub data: GrainData,
}

/// A readable virtual disk: hands out its allocated grains in ascending offset order.
pub trait DiskSource: Send {
    /// Virtual size of the disk in bytes.
    fn capacity_bytes(&self) -> u64;

    /// The next allocated grain, or `None` at the end. Offsets strictly ascend; grains not handed
    /// out read as zeros. A source may hand out grains that happen to be all zeros (raw data).
    ///
    /// # Errors
    /// Corrupt or truncated input, I/O errors; each names the file and offset.
    fn next_grain(&mut self) -> Result<Option<Grain>>;

    /// Bytes of allocated data still expected, if known (for progress bars); `None` if unknown.
    fn allocated_bytes_hint(&self) -> Option<u64> {
        None
    }
}

/// A decoded grain ready for a sink: plain bytes, known not to be all zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataGrain {
    /// Offset in the virtual disk, in bytes (multiple of [`GRAIN_BYTES`]).
    pub offset: u64,
    /// The plain bytes (length [`GRAIN_BYTES`], or less for the last grain).
    pub bytes: Vec<u8>,
}

/// The sink's encoded form of a grain, produced on a worker thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Offset in the virtual disk, in bytes.
    pub offset: u64,
    /// Plain length of the grain in bytes.
    pub len: u32,
    /// What the sink writes: the plain bytes for flat/sparse sinks, a grain marker plus zlib
    /// data for streamOptimized.
    pub bytes: Vec<u8>,
}

/// A writable virtual disk layout.
pub trait DiskSink: Send {
    /// Encodes one non-zero grain. Runs on worker threads, concurrently, so it takes `&self`
    /// (compression level and similar settings only).
    ///
    /// # Errors
    /// Encoding failures.
    fn encode(&self, grain: DataGrain) -> Result<Encoded>;

    /// Writes one encoded grain. Called on one thread, in strictly ascending offset order; ranges
    /// between written grains are zero (the sink leaves holes, preallocates or writes zeros as
    /// its layout promises).
    ///
    /// # Errors
    /// I/O errors.
    fn write(&mut self, grain: Encoded) -> Result<()>;

    /// Completes the disk (tables, footer, zero fill, descriptor) and makes it durable. An
    /// unfinished sink must leave nothing under its final name.
    ///
    /// # Errors
    /// I/O errors.
    fn finish(self: Box<Self>) -> Result<SinkReport>;
}

/// What a finished sink wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkReport {
    /// Files written (descriptor first, then extents), with their sizes in bytes.
    pub files: Vec<(std::path::PathBuf, u64)>,
    /// Bytes of non-zero data written (plain, before compression).
    pub data_bytes: u64,
    /// Bytes actually stored (after compression, with metadata).
    pub stored_bytes: u64,
}

/// Settings of [`copy`].
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Worker threads for decoding/encoding; 0 = all cores.
    pub threads: usize,
    /// Most grains alive at once (read, being encoded, or waiting for their turn to be written).
    pub max_in_flight: usize,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            threads: 0,
            max_in_flight: 256,
        }
    }
}

/// What [`copy`] moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Capacity of the disk in bytes.
    pub capacity_bytes: u64,
    /// Grains handed out by the source.
    pub grains_read: u64,
    /// Grains that turned out to be all zeros and were not passed to the sink.
    pub zero_grains: u64,
    /// Bytes of non-zero data passed to the sink.
    pub data_bytes: u64,
}

/// Copies every allocated, non-zero grain of `source` into `sink`, in parallel, in order.
///
/// The caller still calls [`DiskSink::finish`] (so it can decide what to do on failure).
///
/// # Errors
/// The first error of the source, a decoder or the sink; remaining work is abandoned.
pub fn copy(
    source: &mut dyn DiskSource,
    sink: &mut dyn DiskSink,
    options: &CopyOptions,
    progress: &dyn Progress,
) -> Result<CopyStats> {
    let _ = (source, sink, options, progress);
    Err(crate::Error::unsupported(
        "disk pipeline not implemented yet",
    ))
}
