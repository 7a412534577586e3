//! Flat-extent sinks: monolithicFlat, twoGbMaxExtentFlat (hosted) and the three vSphere
//! provisioning types as a `vmfs` descriptor plus `-flat.vmdk` (docs/FORMATS.md §4).
//!
//! Allocation follows what the type promises on the local file system:
//! * [`Allocation::Sparse`] (thin): the extent is a sparse file; only data is written.
//! * [`Allocation::Preallocate`] (lazy-zeroed thick, hosted flat): `fallocate` reserves the whole
//!   extent up front (unwritten extents that read as zeros); data is written, zeros are not.
//! * [`Allocation::EagerZero`] (eager-zeroed thick): every byte is written, zeros included, and
//!   written back to the device (`fdatasync`) before [`DiskSink::finish`] returns.
//!
//! Data is written with positioned writes by the pipeline's worker threads, in parallel; the
//! ordered writer only checks order and, for eager zeroing, fills the gaps with zeros.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::disk::{DataGrain, DiskSink, Encoded, GrainEncoder, SinkReport};
use crate::error::{Error, Result};
use crate::output::PendingFile;
use crate::pio::write_all_at;
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

struct FlatOut {
    pending: PendingFile,
    /// A second handle on the temporary file, shared with the encoders.
    file: Arc<File>,
    path: PathBuf,
    start: u64,
    len: u64,
}

/// Writes plain grains straight into the extent files from the worker threads (positioned
/// writes need no ordering), so the ordered writer only keeps count and zero-fills gaps.
#[derive(Debug, Clone)]
struct FlatEncoder {
    /// `(first disk byte, length, file, path)` per extent, in disk order.
    extents: Vec<(u64, u64, Arc<File>, PathBuf)>,
}

impl GrainEncoder for FlatEncoder {
    fn encode(&mut self, grain: DataGrain) -> Result<Encoded> {
        let len = grain.bytes.len() as u64;
        let capacity = self.extents.last().map_or(0, |e| e.0 + e.1);
        if grain
            .offset
            .checked_add(len)
            .is_none_or(|end| end > capacity)
        {
            return Err(Error::usage(format!(
                "grain at offset {} is beyond the disk capacity of {capacity} bytes",
                grain.offset
            )));
        }
        write_span(&self.extents, grain.offset, &grain.bytes)?;
        Ok(Encoded {
            offset: grain.offset,
            len: len as u32,
            bytes: Vec::new(),
        })
    }
}

/// Writes `bytes` at disk offset `pos`, split across the extents it covers.
fn write_span(
    extents: &[(u64, u64, Arc<File>, PathBuf)],
    mut pos: u64,
    mut bytes: &[u8],
) -> Result<()> {
    while !bytes.is_empty() {
        let i = extents.partition_point(|e| e.0 <= pos).saturating_sub(1);
        let (start, len, file, path) = &extents[i];
        let rel = pos - start;
        let n = ((len - rel) as usize).min(bytes.len());
        if n == 0 {
            return Err(Error::usage("write beyond the last extent"));
        }
        write_all_at(file, path, rel, &bytes[..n])?;
        pos += n as u64;
        bytes = &bytes[n..];
    }
    Ok(())
}

/// A sink writing a descriptor plus flat extents.
pub struct FlatSink {
    descriptor: PendingFile,
    descriptor_text: String,
    extents: Vec<FlatOut>,
    alloc: Allocation,
    capacity_bytes: u64,
    data_bytes: u64,
    /// End of the last grain written (eager mode zero-fills from here).
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
            let shared = file
                .try_clone()
                .map_err(|e| Error::io("cannot open the extent", e).with_path(p))?;
            outs.push(FlatOut {
                pending,
                file: Arc::new(shared),
                path: p.clone(),
                start,
                len: *len,
            });
            start += len;
        }
        Ok(FlatSink {
            descriptor: desc,
            descriptor_text: descriptor.to_text(),
            extents: outs,
            alloc,
            capacity_bytes: start,
            data_bytes: 0,
            last_end: 0,
        })
    }

    fn spans(&self) -> Vec<(u64, u64, Arc<File>, PathBuf)> {
        self.extents
            .iter()
            .map(|e| (e.start, e.len, Arc::clone(&e.file), e.path.clone()))
            .collect()
    }

    /// Eager mode: writes zeros over disk bytes `[from, to)`.
    fn zero_fill(&self, from: u64, to: u64) -> Result<()> {
        let spans = self.spans();
        let z = zeros();
        let mut at = from;
        while at < to {
            let n = ((to - at) as usize).min(z.len());
            write_span(&spans, at, &z[..n])?;
            at += n as u64;
        }
        Ok(())
    }
}

impl DiskSink for FlatSink {
    fn encoder(&self) -> Result<Box<dyn GrainEncoder>> {
        Ok(Box::new(FlatEncoder {
            extents: self.spans(),
        }))
    }

    fn write(&mut self, grain: Encoded) -> Result<()> {
        let end = grain
            .offset
            .checked_add(u64::from(grain.len))
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
        if self.alloc == Allocation::EagerZero && grain.offset > self.last_end {
            self.zero_fill(self.last_end, grain.offset)?;
        }
        self.last_end = end;
        self.data_bytes += u64::from(grain.len);
        if !grain.bytes.is_empty() {
            // Not from our encoder (which already wrote it): write it here.
            write_span(&self.spans(), grain.offset, &grain.bytes)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<SinkReport> {
        let mut report = SinkReport {
            data_bytes: self.data_bytes,
            ..SinkReport::default()
        };
        if self.alloc == Allocation::EagerZero {
            self.zero_fill(self.last_end, self.capacity_bytes)?;
            self.last_end = self.capacity_bytes;
        }
        let text = self.descriptor_text.clone();
        let dpath = self.descriptor.final_path().to_path_buf();
        std::io::Write::write_all(self.descriptor.file(), text.as_bytes())
            .map_err(|e| Error::io("cannot write", e).with_path(&dpath))?;
        let mut pendings = Vec::with_capacity(self.extents.len() + 1);
        let mut sizes = vec![(dpath.clone(), text.len() as u64)];
        for mut e in self.extents {
            if self.alloc == Allocation::EagerZero {
                // Eager zeroing means the zeros are on the device when the disk is handed over
                // (that is what tells it from lazy-zeroed thick), whatever `output::Durability`
                // says: write every block back now.
                let path = e.pending.final_path().to_path_buf();
                e.pending
                    .file()
                    .sync_data()
                    .map_err(|err| Error::io("cannot write zeros back", err).with_path(&path))?;
            }
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

/// Commits files in order (extents first, descriptor last) as one group
/// ([`crate::output::commit_group`]): on failure those already renamed are removed, and after a
/// kill between renames the next run in the folder removes them, so no extent stays under a final
/// name without its descriptor.
///
/// # Errors
/// The first commit failure.
pub(crate) fn commit_all(files: Vec<PendingFile>) -> Result<()> {
    crate::output::commit_group(files).map(drop)
}
