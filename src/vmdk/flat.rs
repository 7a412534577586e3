//! Flat-extent sinks: monolithicFlat, twoGbMaxExtentFlat (hosted) and the three vSphere
//! provisioning types as a `vmfs` descriptor plus `-flat.vmdk` (FORMATS.md §4).
//!
//! Allocation follows what the type promises on the local file system:
//! * [`Allocation::Sparse`] (thin): the extent is a sparse file; only data is written.
//! * [`Allocation::Preallocate`] (lazy-zeroed thick, hosted flat): `fallocate` reserves the whole
//!   extent up front (unwritten extents that read as zeros); data is written, zeros are not.
//! * [`Allocation::EagerZero`] (eager-zeroed thick): every byte is written, zeros included,
//!   before [`DiskSink::finish`] returns.
//!
//! Data is written with positioned writes, consecutive grains coalesced into large writes.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::disk::{DiskSink, Encoded, GrainEncoder, PlainEncoder, SinkReport};
use crate::error::{Error, Result};
use crate::output::PendingFile;
use crate::vmdk::descriptor::Descriptor;

/// How a flat extent's blocks are allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// Thin: holes for zeros.
    Sparse,
    /// Lazy-zeroed thick: reserved up front, zeros not written.
    Preallocate,
    /// Eager-zeroed thick: every block written.
    EagerZero,
}

/// Largest coalesced write, in bytes.
pub(crate) const WRITE_CHUNK: usize = 4 << 20;

fn zeros() -> &'static [u8] {
    static ZEROS: [u8; 1 << 20] = [0u8; 1 << 20];
    &ZEROS
}

pub(crate) fn write_all_at(file: &File, path: &Path, offset: u64, buf: &[u8]) -> Result<()> {
    file.write_all_at(buf, offset).map_err(|e| {
        Error::io("cannot write", e)
            .with_path(path)
            .with_offset(offset)
    })
}

struct FlatOut {
    pending: PendingFile,
    start: u64,
    len: u64,
    /// Eager mode: bytes `[0, zeroed_to)` of the extent are written.
    zeroed_to: u64,
}

/// A sink writing a descriptor plus flat extents.
pub struct FlatSink {
    descriptor: PendingFile,
    descriptor_text: String,
    extents: Vec<FlatOut>,
    alloc: Allocation,
    capacity_bytes: u64,
    buf: Vec<u8>,
    buf_start: u64,
    data_bytes: u64,
    last_end: u64,
}

impl std::fmt::Debug for FlatSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlatSink")
            .field("descriptor", &self.descriptor.final_path())
            .field("alloc", &self.alloc)
            .finish_non_exhaustive()
    }
}

impl FlatSink {
    /// Creates the temporary files: `descriptor_path` and one extent per `(path, len_bytes)`,
    /// covering the disk in order. `descriptor` must already list those extents.
    ///
    /// # Errors
    /// [`crate::ErrorKind::AlreadyExists`] unless `force`; I/O errors (including no space when
    /// preallocating).
    pub(crate) fn create(
        descriptor_path: &Path,
        descriptor: &Descriptor,
        extents: &[(PathBuf, u64)],
        alloc: Allocation,
        force: bool,
    ) -> Result<Self> {
        let desc = PendingFile::create(descriptor_path, force)?;
        let mut outs = Vec::with_capacity(extents.len());
        let mut start = 0u64;
        for (p, len) in extents {
            let mut pending = PendingFile::create(p, force)?;
            let file = pending.file();
            if alloc != Allocation::Sparse && *len > 0 {
                match rustix::fs::fallocate(&*file, rustix::fs::FallocateFlags::empty(), 0, *len) {
                    Ok(()) => {}
                    // A file system without fallocate: eager mode writes every block anyway;
                    // lazy mode degrades to a sized file.
                    Err(rustix::io::Errno::OPNOTSUPP) => {}
                    Err(e) => {
                        return Err(Error::io(
                            "cannot preallocate the extent",
                            std::io::Error::from(e),
                        )
                        .with_path(p))
                    }
                }
            }
            file.set_len(*len)
                .map_err(|e| Error::io("cannot size the extent", e).with_path(p))?;
            outs.push(FlatOut {
                pending,
                start,
                len: *len,
                zeroed_to: 0,
            });
            start += len;
        }
        Ok(FlatSink {
            descriptor: desc,
            descriptor_text: descriptor.to_text(),
            extents: outs,
            alloc,
            capacity_bytes: start,
            buf: Vec::with_capacity(WRITE_CHUNK),
            buf_start: 0,
            data_bytes: 0,
            last_end: 0,
        })
    }

    fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let mut pos = self.buf_start;
        let mut rest = &buf[..];
        while !rest.is_empty() {
            let i = self
                .extents
                .partition_point(|e| e.start <= pos)
                .saturating_sub(1);
            let e = &mut self.extents[i];
            let rel = pos - e.start;
            let n = ((e.len - rel) as usize).min(rest.len());
            let path = e.pending.final_path().to_path_buf();
            let file = e.pending.file();
            if self.alloc == Allocation::EagerZero {
                zero_fill(file, &path, e.zeroed_to, rel)?;
                e.zeroed_to = rel + n as u64;
            }
            write_all_at(file, &path, rel, &rest[..n])?;
            pos += n as u64;
            rest = &rest[n..];
        }
        self.buf = buf;
        self.buf.clear();
        Ok(())
    }
}

fn zero_fill(file: &File, path: &Path, from: u64, to: u64) -> Result<()> {
    let z = zeros();
    let mut at = from;
    while at < to {
        let n = ((to - at) as usize).min(z.len());
        write_all_at(file, path, at, &z[..n])?;
        at += n as u64;
    }
    Ok(())
}

impl DiskSink for FlatSink {
    fn encoder(&self) -> Result<Box<dyn GrainEncoder>> {
        Ok(Box::new(PlainEncoder))
    }

    fn write(&mut self, grain: Encoded) -> Result<()> {
        let end = grain
            .offset
            .checked_add(grain.bytes.len() as u64)
            .filter(|&e| e <= self.capacity_bytes)
            .ok_or_else(|| {
                Error::usage(format!(
                    "grain at offset {} is beyond the disk capacity of {} bytes",
                    grain.offset, self.capacity_bytes
                ))
            })?;
        if grain.offset < self.last_end {
            return Err(Error::usage(format!(
                "grains out of order: offset {} after {}",
                grain.offset, self.last_end
            )));
        }
        self.last_end = end;
        self.data_bytes += grain.bytes.len() as u64;
        let contiguous = self.buf_start + self.buf.len() as u64 == grain.offset;
        if !contiguous || self.buf.len() + grain.bytes.len() > WRITE_CHUNK {
            self.flush()?;
            self.buf_start = grain.offset;
        }
        if self.buf.is_empty() {
            self.buf_start = grain.offset;
        }
        self.buf.extend_from_slice(&grain.bytes);
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<SinkReport> {
        self.flush()?;
        let mut report = SinkReport {
            data_bytes: self.data_bytes,
            ..SinkReport::default()
        };
        if self.alloc == Allocation::EagerZero {
            for e in &mut self.extents {
                let path = e.pending.final_path().to_path_buf();
                zero_fill(e.pending.file(), &path, e.zeroed_to, e.len)?;
                e.zeroed_to = e.len;
            }
        }
        let text = self.descriptor_text.clone();
        let dpath = self.descriptor.final_path().to_path_buf();
        std::io::Write::write_all(self.descriptor.file(), text.as_bytes())
            .map_err(|e| Error::io("cannot write", e).with_path(&dpath))?;
        let mut pendings = Vec::with_capacity(self.extents.len() + 1);
        let mut sizes = vec![(dpath.clone(), text.len() as u64)];
        for e in self.extents {
            sizes.push((e.pending.final_path().to_path_buf(), e.len));
            report.stored_bytes += match self.alloc {
                Allocation::Sparse => 0,
                _ => e.len,
            };
            pendings.push(e.pending);
        }
        if self.alloc == Allocation::Sparse {
            report.stored_bytes = self.data_bytes;
        }
        report.stored_bytes += text.len() as u64;
        pendings.push(self.descriptor);
        commit_all(pendings)?;
        report.files = sizes;
        Ok(report)
    }
}

/// Commits files in order (extents first, descriptor last); on failure removes those already
/// renamed, so nothing is left under a final name.
///
/// # Errors
/// The first commit failure.
pub(crate) fn commit_all(files: Vec<PendingFile>) -> Result<()> {
    let mut done: Vec<PathBuf> = Vec::new();
    for f in files {
        match f.commit() {
            Ok(p) => done.push(p),
            Err(e) => {
                for p in done {
                    let _ = std::fs::remove_file(p);
                }
                return Err(e);
            }
        }
    }
    Ok(())
}
