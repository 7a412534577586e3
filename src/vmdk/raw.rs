//! Raw disk images: a source that finds data with `SEEK_DATA`/`SEEK_HOLE` (so holes cost
//! nothing) and a sink that writes a sparse file (zero grains stay holes).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::SeekFrom;

use crate::disk::{
    DiskSink, DiskSource, Encoded, Grain, GrainData, GrainEncoder, PwriteEncoder, SinkOptions,
    SinkReport, GRAIN_BYTES,
};
use crate::error::{Error, Result};
use crate::output::PendingFile;

/// Bytes prefetched ahead of the grain being read.
const PREFETCH_BYTES: u64 = 64 << 20;

/// A raw image file as a [`DiskSource`]: every grain that holds data (per `SEEK_DATA`) is read;
/// holes are skipped without reading. File systems without `SEEK_DATA` are read whole.
#[derive(Debug)]
pub struct RawSource {
    file: File,
    path: PathBuf,
    capacity_bytes: u64,
    /// Next grain-aligned offset not yet handed out.
    next: u64,
    /// End of the data run containing `next`, if known (from `SEEK_HOLE`).
    data_end: u64,
    /// `SEEK_DATA` works on this file.
    seek_data: bool,
    /// File offset up to which reading ahead has been requested.
    prefetched: u64,
}

impl RawSource {
    /// Opens a raw image.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Io`] if the file cannot be opened.
    pub fn open(path: &Path) -> Result<Self> {
        let file =
            File::open(path).map_err(|e| Error::io("cannot open disk image", e).with_path(path))?;
        Self::from_file(file, path)
    }

    /// Wraps an open file; `path` is used in error messages.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Io`] if the file's size cannot be read.
    pub fn from_file(file: File, path: &Path) -> Result<Self> {
        let meta = file
            .metadata()
            .map_err(|e| Error::io("cannot read file size", e).with_path(path))?;
        // Data is read front to back: ask for aggressive readahead (advice only, errors ignored).
        let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::Sequential);
        Ok(RawSource {
            capacity_bytes: meta.len(),
            file,
            path: path.to_path_buf(),
            next: 0,
            data_end: 0,
            seek_data: true,
            prefetched: 0,
        })
    }

    /// Finds the grain-aligned start of the next data at or after `self.next`, or `None`.
    fn next_data(&mut self) -> Result<Option<u64>> {
        if self.next >= self.capacity_bytes {
            return Ok(None);
        }
        if !self.seek_data || self.next < self.data_end {
            return Ok(Some(self.next));
        }
        match rustix::fs::seek(&self.file, SeekFrom::Data(self.next)) {
            Ok(data) => {
                let start = (data / GRAIN_BYTES) * GRAIN_BYTES;
                let start = start.max(self.next);
                let hole = rustix::fs::seek(&self.file, SeekFrom::Hole(data))
                    .unwrap_or(self.capacity_bytes);
                self.data_end = hole;
                if start >= self.capacity_bytes {
                    return Ok(None);
                }
                Ok(Some(start))
            }
            Err(rustix::io::Errno::NXIO) => Ok(None),
            Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::OPNOTSUPP) => {
                self.seek_data = false;
                Ok(Some(self.next))
            }
            Err(e) => Err(Error::io("cannot find data (SEEK_DATA)", e.into())
                .with_path(&self.path)
                .with_offset(self.next)),
        }
    }
}

impl DiskSource for RawSource {
    fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }

    fn files(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }

    fn next_grain(&mut self) -> Result<Option<Grain>> {
        let Some(offset) = self.next_data()? else {
            self.next = self.capacity_bytes;
            return Ok(None);
        };
        let len = GRAIN_BYTES.min(self.capacity_bytes - offset);
        if offset.saturating_add(PREFETCH_BYTES / 2) > self.prefetched {
            // Advice only: start reading ahead (holes cost nothing), so that a partly evicted
            // input does not block the pipeline in pread.
            let from = offset.max(self.prefetched);
            let _ = rustix::fs::fadvise(
                &self.file,
                from,
                std::num::NonZeroU64::new(PREFETCH_BYTES),
                rustix::fs::Advice::WillNeed,
            );
            self.prefetched = from.saturating_add(PREFETCH_BYTES);
        }
        let mut buf = vec![0u8; len as usize];
        crate::pio::read_exact_at(&self.file, &self.path, offset, &mut buf)?;
        self.next = offset + len;
        Ok(Some(Grain {
            offset,
            len: len as u32,
            data: GrainData::Raw(buf),
        }))
    }

    fn annotate(&self, error: Error) -> Error {
        error.with_path(&self.path)
    }
}

/// A raw image being written: a sparse file of the disk's capacity (zero grains are holes),
/// created under a temporary name and renamed by [`DiskSink::finish`]. Worker threads write the
/// grains with positional writes (`PwriteEncoder`).
#[derive(Debug)]
pub struct RawSink {
    pending: PendingFile,
    file: Arc<File>,
    capacity_bytes: u64,
    data_bytes: u64,
}

impl RawSink {
    /// Creates the (empty, sparse) output for a disk of `capacity_bytes`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::AlreadyExists`] without `opts.force`; I/O errors.
    pub fn create(path: &Path, capacity_bytes: u64, opts: &SinkOptions) -> Result<Self> {
        let mut pending = PendingFile::create(path, opts.force)?;
        let file = pending.file_handle()?;
        file.set_len(capacity_bytes)
            .map_err(|e| Error::io("cannot size output", e).with_path(path))?;
        Ok(RawSink {
            pending,
            file: Arc::new(file),
            capacity_bytes,
            data_bytes: 0,
        })
    }
}

impl DiskSink for RawSink {
    fn encoder(&self) -> Result<Box<dyn GrainEncoder>> {
        // Grains are written by the workers themselves, in parallel.
        Ok(Box::new(PwriteEncoder::new(
            Arc::clone(&self.file),
            0,
            self.capacity_bytes,
            self.pending.final_path(),
        )))
    }

    fn write(&mut self, grain: Encoded) -> Result<()> {
        if !grain.bytes.is_empty() {
            // Not from our encoder: write it here.
            let end = grain.offset.checked_add(grain.bytes.len() as u64);
            if end.is_none_or(|end| end > self.capacity_bytes) {
                return Err(Error::usage(format!(
                    "grain at {:#x} beyond the disk capacity {}",
                    grain.offset, self.capacity_bytes
                )));
            }
            crate::pio::write_all_at(
                &self.file,
                self.pending.final_path(),
                grain.offset,
                &grain.bytes,
            )?;
        }
        self.data_bytes += u64::from(grain.len);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<SinkReport> {
        let RawSink {
            pending,
            file,
            capacity_bytes,
            data_bytes,
        } = *self;
        drop(file);
        let path = pending.commit()?;
        Ok(SinkReport {
            files: vec![(path, capacity_bytes)],
            data_bytes,
            stored_bytes: data_bytes,
        })
    }
}
