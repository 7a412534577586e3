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
//!   (inflated), checked for all-zero content and encoded (e.g. deflated) on worker threads by
//!   one [`GrainEncoder`] per worker from [`DiskSink::encoder`], and passed to
//!   [`DiskSink::write`] strictly in offset order. At most
//!   [`CopyOptions::max_in_flight`] grains exist at once, so memory is bounded whatever the disk
//!   size, and the cost grows with the allocated data, not the capacity.
//!
//! A grain is [`GRAIN_BYTES`] (64 KiB = 128 sectors, what every VMDK writer uses) at an offset
//! that is a multiple of it; only the last grain of a disk whose capacity is not a multiple of
//! the grain may be shorter.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::vm::AdapterType;

pub use crate::limits::GRAIN_BYTES;

/// How the bytes of a [`Grain`] are held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrainData {
    /// Plain bytes; `len()` equals the grain's length.
    Raw(Vec<u8>),
    /// A zlib stream (RFC 1950; raw deflate is accepted too) from a streamOptimized grain,
    /// inflated on a worker thread. It must inflate to at least the grain's length and at most
    /// [`GRAIN_BYTES`] (the extra bytes of a padded last grain are dropped): inflating past that
    /// is an error (compression bomb), as is inflating to less.
    Zlib {
        /// The compressed bytes.
        data: Vec<u8>,
        /// Where the grain marker starts in the source file or stream (for error messages).
        file_offset: u64,
    },
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

    /// Adds this source's location (file path or archive entry) to an error about its data that
    /// was raised outside the source, e.g. a grain that failed to inflate on a worker thread.
    fn annotate(&self, error: Error) -> Error {
        error
    }

    /// The files this source reads (descriptors, extents, parents), for the checks that an
    /// output does not replace its own input and that no input changed while it was read.
    /// Empty for sources that are not files (streams, archive members).
    fn files(&self) -> Vec<std::path::PathBuf> {
        Vec::new()
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
    /// data padded to a sector for streamOptimized.
    pub bytes: Vec<u8>,
}

/// Turns plain grains into what a sink writes. One instance per worker thread (so it may keep
/// per-thread state such as a compressor), created by [`DiskSink::encoder`].
pub trait GrainEncoder: Send {
    /// Encodes one non-zero grain.
    ///
    /// # Errors
    /// Encoding failures.
    fn encode(&mut self, grain: DataGrain) -> Result<Encoded>;
}

/// The encoder of sinks that store plain bytes (flat, sparse, raw): passes the bytes through.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainEncoder;

impl GrainEncoder for PlainEncoder {
    fn encode(&mut self, grain: DataGrain) -> Result<Encoded> {
        let len = u32::try_from(grain.bytes.len())
            .map_err(|_| Error::usage("grain longer than 4 GiB"))?;
        Ok(Encoded {
            offset: grain.offset,
            len,
            bytes: grain.bytes,
        })
    }
}

/// The encoder of sinks whose grains land at fixed places in one file (raw images, flat
/// extents): it writes each grain with a positional write (`pwrite`) right on the worker
/// thread, so writes run in parallel and need no ordering, and hands the sink an [`Encoded`]
/// with empty `bytes` (the sink's `write` then only keeps count).
#[derive(Debug, Clone)]
pub(crate) struct PwriteEncoder {
    file: Arc<std::fs::File>,
    /// File offset of disk offset 0.
    base: u64,
    /// Disk bytes this file holds from `base` on (grains beyond are refused).
    span: u64,
    path: std::path::PathBuf,
}

impl PwriteEncoder {
    /// Writes disk offset `o` at file offset `base + o`, for `o + len <= span`; `path` names the
    /// file in errors.
    pub fn new(file: Arc<std::fs::File>, base: u64, span: u64, path: &std::path::Path) -> Self {
        PwriteEncoder {
            file,
            base,
            span,
            path: path.to_path_buf(),
        }
    }
}

impl GrainEncoder for PwriteEncoder {
    fn encode(&mut self, grain: DataGrain) -> Result<Encoded> {
        let len = grain.bytes.len() as u64;
        let at = grain
            .offset
            .checked_add(len)
            .filter(|&end| end <= self.span)
            .and_then(|_| self.base.checked_add(grain.offset))
            .ok_or_else(|| {
                Error::usage(format!(
                    "grain at disk offset {:#x} lies outside the {} bytes of this file",
                    grain.offset, self.span
                ))
                .with_path(&self.path)
            })?;
        crate::pio::write_all_at(&self.file, &self.path, at, &grain.bytes)?;
        Ok(Encoded {
            offset: grain.offset,
            len: len as u32,
            bytes: Vec::new(),
        })
    }
}

/// A writable virtual disk layout.
///
/// [`copy`] asks for one [`GrainEncoder`] per worker thread before it starts, encodes grains
/// concurrently with them, and calls [`DiskSink::write`] on one thread in offset order.
pub trait DiskSink: Send {
    /// A new encoder for one worker thread (plain sinks return [`PlainEncoder`]).
    ///
    /// # Errors
    /// When the encoder cannot be set up (bad compression level).
    fn encoder(&self) -> Result<Box<dyn GrainEncoder>>;

    /// Writes one encoded grain. Called on one thread, in strictly ascending offset order; ranges
    /// between written grains are zero (the sink leaves holes, preallocates or writes zeros as
    /// its layout promises).
    ///
    /// # Errors
    /// I/O errors.
    fn write(&mut self, grain: Encoded) -> Result<()>;

    /// Completes the disk (tables, footer, zero fill, descriptor), makes it durable and moves it
    /// under its final name. A sink dropped without `finish` leaves nothing under its final name.
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

/// Settings shared by every sink constructor (`vmdk::layout::create_sink`,
/// `vmdk::hosted::create_hosted_sink`, the streamOptimized writer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkOptions {
    /// Replace existing outputs.
    pub force: bool,
    /// `ddb.adapterType` (the geometry follows it).
    pub adapter_type: AdapterType,
    /// `ddb.virtualHWVersion` (the VM's hardware version; "4" when unknown, as qemu writes).
    pub hw_version: u32,
    /// Deflate level for compressed layouts: 0 (stored) to 12; 1–9 behave like zlib's, 6 is
    /// the default (zlib's default), 10–12 are libdeflate's slower, tighter levels.
    pub compression_level: u32,
    /// Bytes that identify the disk (e.g. VM uuid + disk index, or a digest of the source).
    /// Identifiers written into descriptors (CID, `ddb.uuid`, `ddb.longContentID`) are derived
    /// from it with [`SinkOptions::derive_id`], never from randomness, so output is reproducible.
    pub identity: Vec<u8>,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            force: false,
            adapter_type: AdapterType::LsiLogic,
            hw_version: 4,
            compression_level: 6,
            identity: Vec::new(),
        }
    }
}

impl SinkOptions {
    /// 16 deterministic bytes for identifier `purpose` (e.g. `"ddb.uuid"`) of a disk of
    /// `capacity_bytes`: SHA-256 over the purpose, the capacity, the adapter, the hardware version
    /// and [`SinkOptions::identity`].
    pub fn derive_id(&self, purpose: &str, capacity_bytes: u64) -> [u8; 16] {
        let mut h = Sha256::new();
        h.update(b"ovftool-rs disk id\0");
        h.update(purpose.as_bytes());
        h.update([0]);
        h.update(capacity_bytes.to_le_bytes());
        h.update(self.adapter_type.as_str().as_bytes());
        h.update([0]);
        h.update(self.hw_version.to_le_bytes());
        h.update(&self.identity);
        let d = h.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&d[..16]);
        out
    }

    /// A deterministic descriptor `CID` for `capacity_bytes`: never `ffffffff`/`fffffffe`
    /// (those mean "no parent" / "all zeros" to some readers).
    pub fn derive_cid(&self, capacity_bytes: u64) -> u32 {
        let id = self.derive_id("CID", capacity_bytes);
        let cid = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
        if cid >= 0xffff_fffe {
            0x1234_5678
        } else {
            cid
        }
    }
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

impl CopyOptions {
    /// The number of worker threads [`copy`] will use.
    pub fn worker_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
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

/// Whether every byte of `bytes` is zero (word-wise, so it vectorises).
pub fn is_zero(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(64);
    for c in &mut chunks {
        let mut acc = 0u64;
        for w in c.chunks_exact(8) {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            acc |= u64::from_ne_bytes(a);
        }
        if acc != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| b == 0)
}

fn decode_and_encode(
    grain: Grain,
    capacity_bytes: u64,
    inflater: &mut crate::codec::Inflater,
    encoder: &mut dyn GrainEncoder,
) -> Result<Option<Encoded>> {
    let len = usize::try_from(grain.len).map_err(|_| Error::corrupt("grain too long"))?;
    let bytes = match grain.data {
        GrainData::Raw(bytes) => {
            if bytes.len() != len {
                return Err(Error::corrupt(format!(
                    "grain at disk offset {:#x}: expected {len} bytes, found {}",
                    grain.offset,
                    bytes.len()
                )));
            }
            bytes
        }
        GrainData::Zlib { data, file_offset } => inflater
            .inflate_grain(&data, len)
            .map_err(|e| e.with_offset(file_offset))?,
    };
    if grain.offset % GRAIN_BYTES != 0
        || grain
            .offset
            .checked_add(u64::from(grain.len))
            .is_none_or(|end| end > capacity_bytes)
    {
        return Err(Error::corrupt(format!(
            "grain at disk offset {:#x} (+{len}) is not a grain inside the disk of {capacity_bytes} bytes",
            grain.offset
        )));
    }
    if is_zero(&bytes) {
        return Ok(None);
    }
    encoder
        .encode(DataGrain {
            offset: grain.offset,
            bytes,
        })
        .map(Some)
}

/// Copies every allocated, non-zero grain of `source` into `sink`, in parallel, in order.
///
/// The source is read on the calling thread; grains are inflated, checked for zeros and encoded
/// on [`CopyOptions::worker_threads`] workers, each with its own [`GrainEncoder`]. A worker that
/// finishes a grain puts it into a reorder ring (indexed by sequence number, no second pass);
/// whichever worker finds the next grain in order ready writes it, and every consecutive ready
/// one, through [`DiskSink::write`] under a lock. No dedicated writer thread has to be woken per
/// grain (on a busy machine each wake-up waits for a time slice). At most
/// [`CopyOptions::max_in_flight`] grains exist at once.
///
/// Progress advances in bytes of virtual-disk position (the caller starts it with the
/// capacity as total). The caller still calls [`DiskSink::finish`] (so it can decide what to
/// do on failure).
///
/// # Errors
/// The first error of the source, a decoder or the sink (by disk position); remaining work is
/// abandoned.
pub fn copy(
    source: &mut dyn DiskSource,
    sink: &mut dyn DiskSink,
    options: &CopyOptions,
    progress: &dyn Progress,
) -> Result<CopyStats> {
    let capacity_bytes = source.capacity_bytes();
    let workers = options.worker_threads().max(1);
    let in_flight = options.max_in_flight.max(workers * 2).max(2);
    let mut encoders = Vec::with_capacity(workers);
    for _ in 0..workers {
        encoders.push(sink.encoder()?);
    }

    let work: Queue<(u64, Grain)> = Queue::new();
    // Tokens bound the grains alive anywhere in the pipeline, so the reorder ring never
    // overflows and memory stays fixed whatever the disk size.
    let tokens = Tokens::new(in_flight);
    let abort = AtomicBool::new(false);
    let order = Mutex::new(Reorder {
        ring: (0..in_flight).map(|_| None).collect(),
        next: 0,
    });
    let writer = Mutex::new(Writer {
        sink,
        zero_grains: 0,
        data_bytes: 0,
        handled: 0,
        position: 0,
        error: None,
    });

    let read_result = std::thread::scope(|scope| {
        for mut encoder in encoders {
            let (work, tokens, abort, order, writer) = (&work, &tokens, &abort, &order, &writer);
            scope.spawn(move || {
                let mut inflater = crate::codec::Inflater::new();
                while let Some((seq, grain)) = work.pop() {
                    let end = grain.offset.saturating_add(u64::from(grain.len));
                    let result = if abort.load(Ordering::Relaxed) {
                        Ok(None)
                    } else {
                        decode_and_encode(grain, capacity_bytes, &mut inflater, &mut *encoder)
                    };
                    deposit(order, seq, (end, result));
                    drain(order, writer, tokens, abort, progress);
                }
            });
        }

        let mut grains_read = 0u64;
        let mut last_end = 0u64;
        let read_result: Result<u64> = loop {
            if !tokens.acquire() || abort.load(Ordering::Relaxed) {
                break Ok(grains_read);
            }
            let grain = match source.next_grain() {
                Ok(Some(g)) => g,
                Ok(None) => break Ok(grains_read),
                Err(e) => break Err(e),
            };
            if grain.offset < last_end && grains_read > 0 {
                break Err(source.annotate(Error::corrupt(format!(
                    "grains out of order: disk offset {:#x} after {:#x}",
                    grain.offset, last_end
                ))));
            }
            last_end = grain.offset.saturating_add(u64::from(grain.len).max(1));
            if !work.push((grains_read, grain)) {
                break Ok(grains_read);
            }
            grains_read += 1;
        };
        // On a read error the grains already read are still finished (at most max_in_flight):
        // a decoding error among them lies earlier in the disk and is the one to report.
        work.close();
        read_result
    });

    let w = writer.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = w.error {
        return Err(source.annotate(e));
    }
    let grains_read = read_result?;
    if w.handled != grains_read {
        return Err(Error::new(
            crate::ErrorKind::Io,
            format!(
                "disk pipeline lost grains: read {grains_read}, wrote {}",
                w.handled
            ),
        ));
    }
    if capacity_bytes > w.position {
        progress.advance(capacity_bytes - w.position);
    }
    Ok(CopyStats {
        capacity_bytes,
        grains_read,
        zero_grains: w.zero_grains,
        data_bytes: w.data_bytes,
    })
}

/// A finished grain: its end offset and what to write.
type Finished = (u64, Result<Option<Encoded>>);

/// Finished grains waiting for their turn.
struct Reorder {
    ring: Vec<Option<Finished>>,
    next: u64,
}

/// The sink and what has been written, owned by whichever worker holds the lock.
struct Writer<'a> {
    sink: &'a mut dyn DiskSink,
    zero_grains: u64,
    data_bytes: u64,
    handled: u64,
    position: u64,
    error: Option<Error>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn deposit(order: &Mutex<Reorder>, seq: u64, item: Finished) {
    let mut o = lock(order);
    let len = o.ring.len() as u64;
    if let Some(slot) = o.ring.get_mut((seq % len) as usize) {
        *slot = Some(item);
    }
}

/// Takes the next grain in order, if it is ready.
fn take_next(order: &Mutex<Reorder>) -> Option<Finished> {
    let mut o = lock(order);
    let len = o.ring.len() as u64;
    let idx = (o.next % len) as usize;
    let item = o.ring.get_mut(idx).and_then(Option::take)?;
    o.next += 1;
    Some(item)
}

fn next_ready(order: &Mutex<Reorder>) -> bool {
    let o = lock(order);
    let len = o.ring.len() as u64;
    o.ring
        .get((o.next % len) as usize)
        .is_some_and(Option::is_some)
}

/// Writes every grain that is ready in order, unless another worker is already doing so.
fn drain(
    order: &Mutex<Reorder>,
    writer: &Mutex<Writer<'_>>,
    tokens: &Tokens,
    abort: &AtomicBool,
    progress: &dyn Progress,
) {
    loop {
        let mut w = match writer.try_lock() {
            Ok(w) => w,
            Err(std::sync::TryLockError::WouldBlock) => return,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
        };
        while let Some((end, result)) = take_next(order) {
            w.handled += 1;
            if w.error.is_none() {
                let outcome = match result {
                    Err(e) => Err(e),
                    Ok(None) => {
                        w.zero_grains += 1;
                        Ok(())
                    }
                    Ok(Some(encoded)) => {
                        w.data_bytes += u64::from(encoded.len);
                        w.sink.write(encoded)
                    }
                };
                if let Err(e) = outcome {
                    w.error = Some(e);
                    abort.store(true, Ordering::Relaxed);
                    tokens.close();
                }
                if end > w.position {
                    progress.advance(end - w.position);
                    w.position = end;
                }
            }
            tokens.release();
        }
        drop(w);
        // A grain deposited while we held the writer lock found it taken and left: look again.
        if !next_ready(order) {
            return;
        }
    }
}

/// Counts free pipeline slots. The reader sleeps when none is free and is woken only once a
/// batch has been freed, not for every grain.
struct Tokens {
    state: Mutex<(usize, bool, bool)>,
    ready: Condvar,
    batch: usize,
}

impl Tokens {
    fn new(n: usize) -> Self {
        Tokens {
            state: Mutex::new((n, false, false)),
            ready: Condvar::new(),
            batch: (n / 8).max(1),
        }
    }

    /// Takes a slot, waiting for a batch to be freed if none is; false once closed.
    fn acquire(&self) -> bool {
        let mut st = lock(&self.state);
        loop {
            if st.1 {
                return false;
            }
            if st.0 > 0 {
                st.0 -= 1;
                return true;
            }
            st.2 = true;
            st = self.ready.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn release(&self) {
        let mut st = lock(&self.state);
        st.0 += 1;
        if st.2 && st.0 >= self.batch {
            st.2 = false;
            drop(st);
            self.ready.notify_one();
        }
    }

    fn close(&self) {
        lock(&self.state).1 = true;
        self.ready.notify_all();
    }
}

/// A blocking FIFO on a mutex and a condition variable. Unlike spinning channels it parks at
/// once: on a busy machine, yielding in a backoff loop hands whole time slices to other
/// processes and stalls the pipeline.
struct Queue<T> {
    state: Mutex<QueueState<T>>,
    ready: Condvar,
}

struct QueueState<T> {
    items: VecDeque<T>,
    closed: bool,
    waiting: usize,
}

impl<T> Queue<T> {
    fn new() -> Self {
        Queue {
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                closed: false,
                waiting: 0,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState<T>> {
        // A panicking holder leaves the queue consistent (push/pop are single operations).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `item`; false (and the item dropped) if the queue is closed.
    fn push(&self, item: T) -> bool {
        let mut st = self.lock();
        if st.closed {
            return false;
        }
        st.items.push_back(item);
        let wake = st.waiting > 0;
        drop(st);
        if wake {
            self.ready.notify_one();
        }
        true
    }

    /// The next item, waiting for one; `None` once the queue is closed and empty.
    fn pop(&self) -> Option<T> {
        let mut st = self.lock();
        loop {
            if let Some(item) = st.items.pop_front() {
                return Some(item);
            }
            if st.closed {
                return None;
            }
            st.waiting += 1;
            st = self.ready.wait(st).unwrap_or_else(|e| e.into_inner());
            st.waiting -= 1;
        }
    }

    /// No more pushes; waiting and future pops drain what is left, then get `None`.
    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}
