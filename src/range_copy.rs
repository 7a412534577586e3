//! File-to-file copies done by the kernel, with the digests of the bytes copied.
//!
//! `pack` and `unpack` move large members between regular files. Copying them through a user
//! buffer (`read` + `write`) costs two memory copies per byte; `copy_file_range(2)` does one, in
//! the kernel, the way `cp` does. The digests are computed at the same time by one thread per
//! algorithm that follows the copy through the *source* (`pread` into a small cache-resident
//! buffer, then the hash). The source's size and modification times are compared before and
//! after: a source that changed while it was copied is an error, never a manifest that does not
//! describe the archive. (Reading the output back instead was measured too: the readers then
//! compete with the copy for the pages of the one file being written, and a 4 GiB pack varied
//! from 3.8 to 9.2 s against 4.1-4.4 s.)
//!
//! Holes of the source (`SEEK_DATA`/`SEEK_HOLE`) are not copied: the output keeps them as holes,
//! which read as zeros, as `cp --sparse=auto` does. Where `copy_file_range` is not available
//! (another kernel, file system or platform) the copy falls back to `pread` + `pwrite`.
//!
//! [`hash_range`] is the reading half alone, for `verify` of an OVA file: one `pread` into a
//! cache-sized buffer then the hash, like `openssl dgst`, one thread per algorithm.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

use crate::digest::{CopyResult, Digests, HashOptions, Hasher};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Bytes asked of one `copy_file_range` call (the unit in which the hashers can follow).
const COPY_STEP: u64 = 8 << 20;
/// Buffer of each hashing thread: small enough to stay in the CPU cache between `pread` and
/// hashing.
const HASH_BUFFER: usize = 256 << 10;
/// Output handed to write-back in steps of this size, once hashed.
const WRITEBACK_STEP: u64 = 64 << 20;
/// Unless every output is flushed, write-back starts only this far behind the copy: an output
/// that fits is left to the page cache as `cp` leaves it (no write-back in the copy's way), and
/// a larger one never holds more dirty pages than this (the kernel's dirty-page throttle then
/// stalled `cp` of a 1.5 GB OVA for 1.5-10 s where the write-back thread kept `edit` under 1 s).
const DIRTY_WINDOW: u64 = 512 << 20;
/// Ranges below this are copied and hashed on the calling thread.
const INLINE_BELOW: u64 = 4 << 20;

/// How far the copy has got, shared with the hashing threads.
struct Shared {
    /// How far the copy got.
    state: Mutex<Progressed>,
    moved: Condvar,
    /// Set by any thread that failed: everybody stops.
    failed: AtomicBool,
    /// How far behind the slowest hasher write-back starts.
    writeback_lag: u64,
}

/// The copy's progress as the hashers see it.
#[derive(Default)]
struct Progressed {
    /// Bytes of the range settled so far (copied, or skipped as a hole): a prefix of the range.
    settled: u64,
    /// Holes `[start, end)` inside the settled prefix not yet passed by every hasher, in order.
    /// They read as zeros in the output; the hashers feed zeros instead of reading them back.
    holes: std::collections::VecDeque<(u64, u64)>,
    /// How far each hasher got (holes below all of them are dropped).
    passed: Vec<u64>,
    /// Bytes of the range handed to write-back so far.
    flushed: u64,
    /// The copy ended (successfully or not).
    done: bool,
}

impl Shared {
    fn publish(&self, settled: u64, hole: Option<(u64, u64)>, done: bool) {
        if let Ok(mut s) = self.state.lock() {
            s.settled = settled;
            // Holes are kept for the followers to pass; with none (a short range copied inline
            // without digests) there is nobody to drop them.
            if let Some(h) = hole.filter(|_| !s.passed.is_empty()) {
                s.holes.push_back(h);
            }
            s.done = done;
        }
        self.moved.notify_all();
    }

    /// Hasher `who`, at `have`, waits until more than `have` bytes are settled; returns the
    /// settled length and the first hole ending after `have`, or `None` when the copy ended (or
    /// failed) before that. The `flusher` also gets the output every hasher has passed, to
    /// hand to write-back.
    fn wait_beyond(&self, who: usize, have: u64, flusher: bool) -> Option<Wait> {
        let mut s = self.state.lock().ok()?;
        if let Some(p) = s.passed.get_mut(who) {
            *p = have;
        }
        let low = s.passed.iter().copied().min().unwrap_or(have);
        while s.holes.front().is_some_and(|&(_, end)| end <= low) {
            s.holes.pop_front();
        }
        // Write-back starts behind the slowest hasher. (Starting it right behind the copy
        // slowed the copy down, to 2-5x on some runs: the pages it writes back compete with
        // the ones being copied.)
        let behind = low.saturating_sub(self.writeback_lag);
        let flush = (flusher && behind >= s.flushed + WRITEBACK_STEP).then(|| {
            let r = (s.flushed, behind);
            s.flushed = behind;
            r
        });
        loop {
            if self.failed.load(Ordering::Relaxed) {
                return None;
            }
            if s.settled > have {
                let hole = s.holes.iter().copied().find(|&(_, end)| end > have);
                return Some(Wait {
                    settled: s.settled,
                    hole,
                    flush,
                });
            }
            if s.done {
                return None;
            }
            s = self.moved.wait(s).ok()?;
        }
    }
}

/// What a hasher learns from [`Shared::wait_beyond`].
struct Wait {
    settled: u64,
    hole: Option<(u64, u64)>,
    flush: Option<(u64, u64)>,
}

/// Copies `len` bytes of `src` from `src_off` to `dst` at `dst_off` and returns the digests
/// of the bytes copied (read from `src` while the kernel copies) and the leading bytes of the
/// output range.
///
/// `dst` must be open for reading and writing. The output range must read as zeros before the
/// call (it lies at or beyond the end of `dst`): holes of the source are skipped, not written. `dst` is extended to `dst_off + len` when the
/// range ends in a hole. The file offset of `dst` is not used or changed; that of `src` is
/// moved (`SEEK_DATA`/`SEEK_HOLE` work through it).
///
/// # Errors
/// [`crate::ErrorKind::Usage`] when `dst` already extends past `dst_off`;
/// [`crate::ErrorKind::Corrupt`] when `src` ends before `src_off + len`;
/// [`crate::ErrorKind::Io`] when it changed while it was copied (its size or modification times
/// differ afterwards), and from reading or writing.
pub fn copy_range_hashing(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    opts: &HashOptions,
    progress: &dyn Progress,
) -> Result<CopyResult> {
    let dst_len = dst
        .metadata()
        .map_err(|e| Error::io("cannot inspect output", e))?
        .len();
    if dst_len > dst_off {
        return Err(Error::usage(format!(
            "output range at {dst_off} is not empty (output is {dst_len} bytes)"
        )));
    }
    src_off
        .checked_add(len)
        .and_then(|_| dst_off.checked_add(len))
        .ok_or_else(|| Error::usage("range overflows"))?;
    let before = stamp(src)?;
    let mut hashers: Vec<Hasher> = opts.algorithms.iter().map(|&a| Hasher::new(a)).collect();
    // One follower per digest, and one that only hands the output to write-back as the copy
    // goes (off the hashers' path: the slowest hasher sets the pace of the whole copy): right
    // behind the hashers when every output is flushed before it is published (the final fsync
    // then has little left), else `DIRTY_WINDOW` behind.
    let writeback_lag = match crate::output::durability() {
        crate::output::Durability::Always => 0,
        crate::output::Durability::Replacing => DIRTY_WINDOW,
    };
    let followers = hashers.len() + 1;
    let shared = Shared {
        state: Mutex::new(Progressed {
            passed: vec![0; followers],
            ..Progressed::default()
        }),
        moved: Condvar::new(),
        failed: AtomicBool::new(false),
        writeback_lag,
    };
    if len < INLINE_BELOW {
        let mut copier = Copier::new(src, src_off, dst, dst_off, len);
        copier.run(&shared, progress)?;
        for (who, h) in hashers.iter_mut().enumerate() {
            follow((src, src_off), (dst, dst_off), len, Some(h), who, &shared)?;
        }
    } else {
        let copied = std::thread::scope(|s| -> Result<()> {
            let mut slots: Vec<Option<&mut Hasher>> = hashers.iter_mut().map(Some).collect();
            slots.push(None);
            let workers: Vec<_> = slots
                .into_iter()
                .enumerate()
                .map(|(who, h)| {
                    let shared = &shared;
                    s.spawn(move || {
                        let r = follow((src, src_off), (dst, dst_off), len, h, who, shared);
                        if r.is_err() {
                            shared.failed.store(true, Ordering::Relaxed);
                            shared.moved.notify_all();
                        }
                        r
                    })
                })
                .collect();
            let mut copier = Copier::new(src, src_off, dst, dst_off, len);
            let copied = copier.run(&shared, progress);
            if copied.is_err() {
                shared.failed.store(true, Ordering::Relaxed);
                shared.moved.notify_all();
            }
            let mut hashed = Ok(());
            for w in workers {
                let r = w
                    .join()
                    .unwrap_or_else(|_| Err(Error::usage("hashing thread panicked")));
                if hashed.is_ok() {
                    hashed = r;
                }
            }
            // The copier's error is the cause when both failed.
            copied.and(hashed)
        });
        copied?;
    }
    if stamp(src)? != before {
        // Someone wrote to the source meanwhile: an operational problem (exit 2), as for
        // export's sources, not a fault of the package.
        return Err(Error::new(
            crate::error::ErrorKind::Io,
            "the input changed while it was copied (size or modification time)",
        )
        .with_offset(src_off));
    }
    copy_result(hashers, dst, dst_off, len, opts, "cannot read back output")
}

/// What copying or hashing the `len` bytes at `off` of `file` gives: the digests of `hashers`
/// and the first `opts.prefix_bytes` of those bytes, read back from `file` (`read_error` is the
/// message should that read fail).
fn copy_result(
    hashers: Vec<Hasher>,
    file: &File,
    off: u64,
    len: u64,
    opts: &HashOptions,
    read_error: &str,
) -> Result<CopyResult> {
    let mut prefix = vec![
        0u8;
        opts.prefix_bytes
            .min(usize::try_from(len).unwrap_or(usize::MAX))
    ];
    file.read_exact_at(&mut prefix, off)
        .map_err(|e| Error::io(read_error, e).with_offset(off))?;
    Ok(CopyResult {
        bytes: len,
        digests: Digests {
            values: hashers
                .into_iter()
                .map(|h| (h.algorithm(), h.finalize()))
                .collect(),
        },
        prefix,
    })
}

/// Size and modification/change times of `f`: equal before and after a copy means nobody wrote
/// to it meanwhile (within the timestamps' granularity).
fn stamp(f: &File) -> Result<Stamp> {
    let m = f
        .metadata()
        .map_err(|e| Error::io("cannot inspect input", e))?;
    Ok(stamp_of(&m))
}

type Stamp = (u64, i64, i64, i64, i64);

fn stamp_of(m: &std::fs::Metadata) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    (
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
    )
}

/// The size and modification/change times of every file an operation reads (a VM's
/// configuration, disk descriptors, extents, parents, NVRAM), taken before reading, so that an
/// output made while one of them was written to is refused rather than published torn: the same
/// rule [`copy_range_hashing`] applies to each copy, for sources read through other readers.
#[derive(Debug, Default)]
pub struct InputStamps(Vec<(std::path::PathBuf, Stamp)>);

impl InputStamps {
    /// Stamps `paths` (duplicates are stamped once).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Io`] when a file cannot be inspected.
    pub fn take<P: AsRef<std::path::Path>>(paths: &[P]) -> Result<Self> {
        let mut out: Vec<(std::path::PathBuf, Stamp)> = Vec::new();
        for p in paths {
            let p = p.as_ref();
            if out.iter().any(|(q, _)| q == p) {
                continue;
            }
            let m = std::fs::metadata(p)
                .map_err(|e| Error::io("cannot inspect input", e).with_path(p))?;
            out.push((p.to_path_buf(), stamp_of(&m)));
        }
        Ok(InputStamps(out))
    }

    /// Fails when any stamped file changed since [`InputStamps::take`].
    ///
    /// # Errors
    /// [`crate::ErrorKind::Io`] naming the first file that changed (or vanished).
    pub fn check(&self) -> Result<()> {
        for (p, s) in &self.0 {
            let now = std::fs::metadata(p).map(|m| stamp_of(&m)).ok();
            if now.as_ref() != Some(s) {
                return Err(Error::new(
                    crate::error::ErrorKind::Io,
                    "an input changed while it was read (size, modification or change time): the output would not be a consistent copy; nothing was written",
                )
                .with_path(p));
            }
        }
        Ok(())
    }
}

/// Computes the digests (and leading bytes) of `file[off..off + len]` the way
/// `openssl dgst` does, one `pread` into a cache-sized buffer at a time, with one thread per
/// algorithm; holes (`SEEK_DATA`) are hashed as zeros without reading them. Moves the file
/// offset of `file`.
///
/// # Errors
/// [`crate::ErrorKind::Corrupt`] when the file ends before `off + len`;
/// [`crate::ErrorKind::Io`] from reading.
pub fn hash_range(
    file: &File,
    off: u64,
    len: u64,
    opts: &HashOptions,
    progress: &dyn Progress,
) -> Result<CopyResult> {
    let end = off
        .checked_add(len)
        .ok_or_else(|| Error::usage("range overflows"))?;
    let have = file
        .metadata()
        .map_err(|e| Error::io("cannot inspect input", e))?
        .len();
    if have < end {
        return Err(Error::corrupt(format!(
            "input ends {} bytes before the end of the range",
            end - have
        ))
        .with_offset(have));
    }
    let mut hashers: Vec<Hasher> = opts.algorithms.iter().map(|&a| Hasher::new(a)).collect();
    let results: Vec<Result<()>> = if hashers.len() > 1 && len >= INLINE_BELOW {
        std::thread::scope(|s| {
            let workers: Vec<_> = hashers
                .iter_mut()
                .enumerate()
                .map(|(i, h)| {
                    s.spawn(move || {
                        let p: Option<&dyn Progress> = (i == 0).then_some(progress);
                        hash_file(file, off, len, h, p)
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| Err(Error::usage("hashing thread panicked")))
                })
                .collect()
        })
    } else if hashers.is_empty() {
        progress.advance(len);
        Vec::new()
    } else {
        let mut first = true;
        hashers
            .iter_mut()
            .map(|h| {
                let p: Option<&dyn Progress> = first.then_some(progress);
                first = false;
                hash_file(file, off, len, h, p)
            })
            .collect()
    };
    for r in results {
        r?;
    }
    copy_result(hashers, file, off, len, opts, "cannot read")
}

/// One hashing pass over `file[off..off + len]` (see [`hash_range`]).
fn hash_file(
    file: &File,
    off: u64,
    len: u64,
    hasher: &mut Hasher,
    progress: Option<&dyn Progress>,
) -> Result<()> {
    static ZEROS: [u8; HASH_BUFFER] = [0u8; HASH_BUFFER];
    let mut buf = vec![0u8; HASH_BUFFER];
    let mut segments = Segments::new(file, off, len);
    let mut at = 0u64;
    while at < len {
        let (start, end) = segments.next_after(at)?.unwrap_or((len, len));
        // [at, start) is a hole.
        while at < start {
            let n = (start - at).min(HASH_BUFFER as u64) as usize;
            hasher.update(&ZEROS[..n]);
            at += n as u64;
            if let Some(p) = progress {
                p.advance(n as u64);
            }
        }
        while at < end {
            let want = (end - at).min(HASH_BUFFER as u64) as usize;
            let n = loop {
                match file.read_at(&mut buf[..want], off + at) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::io("cannot read", e).with_offset(off + at)),
                }
            };
            if n == 0 {
                return Err(Error::corrupt(format!(
                    "input ends after {at} of {len} bytes (truncated, or changed while reading)"
                ))
                .with_offset(off + at));
            }
            hasher.update(&buf[..n]);
            at += n as u64;
            if let Some(p) = progress {
                p.advance(n as u64);
            }
        }
    }
    Ok(())
}

/// The data segments of `file[off..off + len]`, found with `SEEK_DATA`/`SEEK_HOLE` (or one
/// segment where the file system cannot tell).
struct Segments<'a> {
    file: &'a File,
    off: u64,
    len: u64,
    seek_data: bool,
}

impl<'a> Segments<'a> {
    fn new(file: &'a File, off: u64, len: u64) -> Self {
        Segments {
            file,
            off,
            len,
            seek_data: true,
        }
    }

    /// The next data segment `[start, end)` of the range at or after `at` (range-relative), or
    /// `None` when only a hole is left (or the file ends early: the caller checks the size).
    fn next_after(&mut self, at: u64) -> Result<Option<(u64, u64)>> {
        if !self.seek_data {
            return Ok(Some((at, self.len)));
        }
        use rustix::fs::SeekFrom;
        let abs = self.off + at;
        match rustix::fs::seek(self.file, SeekFrom::Data(abs)) {
            Ok(data) => {
                if data >= self.off + self.len {
                    return Ok(None);
                }
                let hole = rustix::fs::seek(self.file, SeekFrom::Hole(data))
                    .unwrap_or(self.off + self.len);
                let start = data.max(abs) - self.off;
                let end = hole.min(self.off + self.len) - self.off;
                Ok(Some((start, end.max(start))))
            }
            Err(rustix::io::Errno::NXIO) => Ok(None),
            Err(_) => {
                self.seek_data = false;
                Ok(Some((at, self.len)))
            }
        }
    }
}

/// Follows the copy: reads `src[src_off..src_off + len]` as the copy settles it, feeding
/// `hasher` (holes the copy skipped are fed as zeros without reading them). Without a hasher it
/// hands the output every hasher has passed to write-back instead.
fn follow(
    (src, src_off): (&File, u64),
    (dst, dst_off): (&File, u64),
    len: u64,
    mut hasher: Option<&mut Hasher>,
    who: usize,
    shared: &Shared,
) -> Result<()> {
    static ZEROS: [u8; HASH_BUFFER] = [0u8; HASH_BUFFER];
    let mut buf = vec![0u8; if hasher.is_some() { HASH_BUFFER } else { 0 }];
    let mut hashed = 0u64;
    while hashed < len {
        let Some(Wait {
            settled,
            hole,
            flush,
        }) = shared.wait_beyond(who, hashed, hasher.is_none())
        else {
            // The copy failed (its error is reported) or ended short (checked by it).
            return Ok(());
        };
        if let Some((from, to)) = flush {
            start_writeback(dst, dst_off + from, to - from);
        }
        let Some(hasher) = hasher.as_deref_mut() else {
            hashed = settled;
            continue;
        };
        while hashed < settled {
            match hole {
                Some((start, end)) if start <= hashed => {
                    let n = (end.min(settled) - hashed).min(HASH_BUFFER as u64) as usize;
                    hasher.update(&ZEROS[..n]);
                    hashed += n as u64;
                    if hashed >= end {
                        break; // look up the next hole
                    }
                }
                _ => {
                    let stop = hole.map_or(settled, |(start, _)| start.min(settled));
                    let n = (stop - hashed).min(HASH_BUFFER as u64) as usize;
                    src.read_exact_at(&mut buf[..n], src_off + hashed)
                        .map_err(|e| Error::io("cannot read", e).with_offset(src_off + hashed))?;
                    hasher.update(&buf[..n]);
                    hashed += n as u64;
                    if hole.is_some_and(|(start, _)| hashed >= start) {
                        break; // into the hole: refresh
                    }
                }
            }
        }
    }
    Ok(())
}

/// Starts writing `dst[from..from + len]` to the device now, so that the final fsync of the
/// output has little left to do and the write-back overlaps the copy. `POSIX_FADV_DONTNEED`
/// starts asynchronous write-back of dirty pages and drops only pages already clean. Advice
/// only: errors are ignored.
fn start_writeback(dst: &File, from: u64, len: u64) {
    let _ = rustix::fs::fadvise(
        dst,
        from,
        std::num::NonZeroU64::new(len),
        rustix::fs::Advice::DontNeed,
    );
}

/// The copying side: walks the data segments of the source range.
struct Copier<'a> {
    src: &'a File,
    src_off: u64,
    dst: &'a File,
    dst_off: u64,
    len: u64,
    /// The data segments of the source range.
    segments: Segments<'a>,
    /// `copy_file_range` works between these files.
    kernel_copy: bool,
    buf: Vec<u8>,
}

impl<'a> Copier<'a> {
    fn new(src: &'a File, src_off: u64, dst: &'a File, dst_off: u64, len: u64) -> Self {
        Copier {
            src,
            src_off,
            dst,
            dst_off,
            len,
            segments: Segments::new(src, src_off, len),
            kernel_copy: true,
            buf: Vec::new(),
        }
    }

    /// Copies `[at, at + n)` of the range; returns the bytes copied (0 at the source's end).
    fn copy_some(&mut self, at: u64, n: u64) -> Result<u64> {
        let want = usize::try_from(n.min(COPY_STEP)).unwrap_or(COPY_STEP as usize);
        while self.kernel_copy {
            let mut off_in = self.src_off + at;
            let mut off_out = self.dst_off + at;
            match rustix::fs::copy_file_range(
                self.src,
                Some(&mut off_in),
                self.dst,
                Some(&mut off_out),
                want,
            ) {
                Ok(done) => return Ok(done as u64),
                Err(rustix::io::Errno::INTR) => {}
                Err(
                    rustix::io::Errno::XDEV
                    | rustix::io::Errno::INVAL
                    | rustix::io::Errno::NOSYS
                    | rustix::io::Errno::OPNOTSUPP
                    | rustix::io::Errno::BADF,
                ) => self.kernel_copy = false,
                Err(e) => {
                    return Err(Error::io("cannot copy", e.into()).with_offset(self.src_off + at))
                }
            }
        }
        if self.buf.is_empty() {
            self.buf = vec![0u8; 1 << 20];
        }
        let want = want.min(self.buf.len());
        let got = loop {
            match self.src.read_at(&mut self.buf[..want], self.src_off + at) {
                Ok(g) => break g,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("cannot read", e).with_offset(self.src_off + at)),
            }
        };
        self.dst
            .write_all_at(&self.buf[..got], self.dst_off + at)
            .map_err(|e| Error::io("cannot write", e).with_offset(self.dst_off + at))?;
        Ok(got as u64)
    }

    /// Copies the whole range, publishing progress; checks the source was long enough.
    fn run(&mut self, shared: &Shared, progress: &dyn Progress) -> Result<()> {
        let mut at = 0u64;
        let mut published = 0u64;
        let result = (|| -> Result<u64> {
            while at < self.len {
                if shared.failed.load(Ordering::Relaxed) {
                    return Ok(at);
                }
                let Some((start, end)) = self.segments.next_after(at)? else {
                    break;
                };
                if start > at {
                    // A hole before the segment: already zeros in the output.
                    shared.publish(start, Some((at, start)), false);
                    at = start;
                }
                while at < end {
                    let n = self.copy_some(at, end - at)?;
                    if n == 0 {
                        if self.kernel_copy && self.source_len()? > self.src_off + at {
                            // Data is there but the kernel copied none (some file systems
                            // do that): read and write it ourselves.
                            self.kernel_copy = false;
                            continue;
                        }
                        return Err(self.short(at));
                    }
                    at += n;
                    progress.advance(at - published);
                    published = at;
                    shared.publish(at, None, false);
                    if shared.failed.load(Ordering::Relaxed) {
                        return Ok(at);
                    }
                }
            }
            // The range ends in a hole (or the source ended early).
            if self.source_len()? < self.src_off + self.len {
                return Err(self.short(at));
            }
            let need = self.dst_off + self.len;
            let have = self
                .dst
                .metadata()
                .map_err(|e| Error::io("cannot inspect output", e))?
                .len();
            if have < need {
                self.dst
                    .set_len(need)
                    .map_err(|e| Error::io("cannot extend output", e))?;
            }
            progress.advance(self.len - published);
            Ok(at)
        })();
        match result {
            Ok(tail) => {
                let hole = (tail < self.len).then_some((tail, self.len));
                shared.publish(self.len, hole, true);
                Ok(())
            }
            Err(e) => {
                shared.publish(0, None, true);
                Err(e)
            }
        }
    }

    fn source_len(&self) -> Result<u64> {
        Ok(self
            .src
            .metadata()
            .map_err(|e| Error::io("cannot inspect input", e))?
            .len())
    }

    fn short(&self, at: u64) -> Error {
        Error::corrupt(format!(
            "input ends after {at} of {} bytes (truncated, or changed while copying)",
            self.len
        ))
        .with_offset(self.src_off + at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Algorithm;
    use crate::progress::NoProgress;
    use std::io::{Seek, SeekFrom, Write};

    fn digests_of(data: &[u8], algs: &[Algorithm]) -> Vec<Vec<u8>> {
        algs.iter().map(|a| a.digest(data)).collect()
    }

    fn opts(algs: &[Algorithm]) -> HashOptions {
        HashOptions {
            algorithms: algs.to_vec(),
            prefix_bytes: 16,
            size_hint: None,
        }
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 12) as u8)
            .collect()
    }

    /// A `total`-byte file at `path` with `(offset, len, seed)` data runs and holes between;
    /// returns its bytes.
    fn sparse_file(path: &std::path::Path, runs: &[(u64, usize, u8)], total: u64) -> Vec<u8> {
        let mut f = File::create(path).unwrap();
        for &(at, len, seed) in runs {
            f.seek(SeekFrom::Start(at)).unwrap();
            f.write_all(&pattern(len, seed)).unwrap();
        }
        f.set_len(total).unwrap();
        drop(f);
        std::fs::read(path).unwrap()
    }

    fn check(content: &[u8], src_off: u64, len: u64, dst_off: u64, algs: &[Algorithm]) {
        let dir = tempfile::tempdir().unwrap();
        let src_path = dir.path().join("src");
        std::fs::write(&src_path, content).unwrap();
        check_file(&src_path, src_off, len, dst_off, algs);
    }

    /// Copies `src_path[src_off..][..len]` and checks bytes, digests, prefix and file offsets.
    fn check_file(
        src_path: &std::path::Path,
        src_off: u64,
        len: u64,
        dst_off: u64,
        algs: &[Algorithm],
    ) {
        let content = std::fs::read(src_path).unwrap();
        let src = File::open(src_path).unwrap();
        let dst_path = src_path.with_extension("dst");
        let mut dst = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&dst_path)
            .unwrap();
        dst.write_all(&vec![7u8; dst_off as usize]).unwrap();
        let r = copy_range_hashing(&src, src_off, &dst, dst_off, len, &opts(algs), &NoProgress)
            .unwrap();
        let want = &content[src_off as usize..(src_off + len) as usize];
        assert_eq!(r.bytes, len);
        let got = std::fs::read(&dst_path).unwrap();
        assert_eq!(got.len() as u64, dst_off + len);
        assert!(got[dst_off as usize..] == *want, "copied bytes differ");
        let ds: Vec<Vec<u8>> = r.digests.values.iter().map(|(_, d)| d.clone()).collect();
        assert_eq!(ds, digests_of(want, algs));
        assert_eq!(r.prefix, want[..want.len().min(16)]);
        // The file cursor of the output is untouched.
        assert_eq!(dst.stream_position().unwrap(), dst_off);
    }

    #[test]
    fn copies_and_hashes_small_and_large_ranges() {
        let small = pattern(100_000, 1);
        check(&small, 0, small.len() as u64, 0, &[Algorithm::Sha256]);
        check(
            &small,
            517,
            60_000,
            1536,
            &[Algorithm::Sha1, Algorithm::Sha256],
        );
        let large = pattern(21 << 20, 2);
        check(&large, 0, large.len() as u64, 512, &[Algorithm::Sha256]);
        check(
            &large,
            4097,
            (13 << 20) + 3,
            1024,
            &[Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512],
        );
        check(&large, 0, 0, 0, &[Algorithm::Sha256]);
        check(&large, 0, large.len() as u64, 0, &[]);
    }

    #[test]
    fn source_holes_stay_holes_and_hash_as_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let src_path = dir.path().join("sparse");
        // data 1 MiB, hole 9 MiB, data 1 MiB, trailing hole 5 MiB
        let content = sparse_file(
            &src_path,
            &[(0, 1 << 20, 3), (10 << 20, 1 << 20, 4)],
            16 << 20,
        );
        // From the sparse file itself (holes found by SEEK_DATA), two digests at once.
        check_file(&src_path, 0, 16 << 20, 512, &[Algorithm::Sha256]);
        check_file(
            &src_path,
            2 << 20,
            14 << 20,
            0,
            &[Algorithm::Sha1, Algorithm::Sha256],
        );
        // The output keeps (most of) the hole: far fewer blocks than bytes.
        let src = File::open(&src_path).unwrap();
        let dst_path = dir.path().join("out");
        let dst = std::fs::OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&dst_path)
            .unwrap();
        let r = copy_range_hashing(
            &src,
            0,
            &dst,
            0,
            16 << 20,
            &opts(&[Algorithm::Sha256]),
            &NoProgress,
        )
        .unwrap();
        assert_eq!(r.digests.values[0].1, Algorithm::Sha256.digest(&content));
        assert!(std::fs::read(&dst_path).unwrap() == content);
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(&dst_path).unwrap();
        assert_eq!(m.len(), 16 << 20);
        if std::fs::metadata(&src_path).unwrap().blocks() * 512 < 4 << 20 {
            // The file system keeps holes: so must the copy.
            assert!(
                m.blocks() * 512 < 4 << 20,
                "holes were filled: {} blocks",
                m.blocks()
            );
        }
    }

    #[test]
    fn short_source_is_an_error_not_a_short_copy() {
        let content = pattern(5 << 20, 5);
        let dir = tempfile::tempdir().unwrap();
        let src_path = dir.path().join("src");
        std::fs::write(&src_path, &content).unwrap();
        let src = File::open(&src_path).unwrap();
        for len in [6 << 20, (5 << 20) + 1] {
            let dst = tempfile::tempfile().unwrap();
            let e = copy_range_hashing(
                &src,
                0,
                &dst,
                0,
                len,
                &opts(&[Algorithm::Sha256]),
                &NoProgress,
            )
            .unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Corrupt, "{e}");
        }
    }

    #[test]
    fn hash_range_matches_the_bytes_with_and_without_holes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparse");
        let content = sparse_file(&path, &[(0, 3 << 20, 7), (11 << 20, 1 << 20, 8)], 14 << 20);
        let file = File::open(&path).unwrap();
        let all = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];
        for (off, len, algs) in [
            (0u64, 14u64 << 20, &all[..]),
            (0, 14 << 20, &all[1..2]),
            (1000, (12 << 20) + 5, &all[..2]),
            (5 << 20, 1 << 20, &all[..]),
            (13 << 20, 1 << 20, &all[2..]),
            (7, 0, &all[..1]),
        ] {
            let r = hash_range(&file, off, len, &opts(algs), &NoProgress).unwrap();
            let want = &content[off as usize..(off + len) as usize];
            let ds: Vec<Vec<u8>> = r.digests.values.iter().map(|(_, d)| d.clone()).collect();
            assert_eq!(ds, digests_of(want, algs), "{off}+{len}");
            assert_eq!(r.prefix, want[..want.len().min(16)]);
            assert_eq!(r.bytes, len);
        }
        let e = hash_range(&file, 1, 14 << 20, &opts(&all[..1]), &NoProgress).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Corrupt);
    }

    /// A progress sink that writes to the source on its first call.
    struct Tamper(std::path::PathBuf, std::sync::atomic::AtomicBool);

    impl Progress for Tamper {
        fn start(&self, _: &str, _: Option<u64>) {}
        fn advance(&self, _: u64) {
            if !self.1.swap(true, Ordering::SeqCst) {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&self.0)
                    .unwrap();
                f.write_all_at(b"X", 0).unwrap();
            }
        }
        fn finish(&self) {}
    }

    #[test]
    fn a_source_written_during_the_copy_is_an_error() {
        for size in [1u64 << 20, 9 << 20] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("src");
            std::fs::write(&path, pattern(size as usize, 9)).unwrap();
            // An old mtime, so that the write is visible whatever the timestamp granularity.
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1000))
                .unwrap();
            drop(f);
            let src = File::open(&path).unwrap();
            let dst = tempfile::tempfile().unwrap();
            let tamper = Tamper(path.clone(), AtomicBool::new(false));
            let e =
                copy_range_hashing(&src, 0, &dst, 0, size, &opts(&[Algorithm::Sha256]), &tamper)
                    .unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Io, "{e}");
            assert!(e.to_string().contains("changed"), "{e}");
        }
    }

    #[test]
    fn refuses_an_output_range_with_content() {
        let src = tempfile::tempfile().unwrap();
        let mut dst = tempfile::tempfile().unwrap();
        dst.write_all(b"data").unwrap();
        let e = copy_range_hashing(&src, 0, &dst, 2, 0, &opts(&[]), &NoProgress).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Usage);
    }
}
