//! What every extent reader answers: where the bytes of a range live (data in a file, zeros,
//! or "not here: ask the parent"), and where the next data may be. Flat and zero extents live
//! here; sparse extents in [`crate::vmdk::sparse`].

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::pio::read_exact_at;

/// Where a run of bytes of an extent lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// Stored in the extent: a byte offset in its file, or for compressed extents a locator
    /// that only [`ExtentRead::read_at`] of the same extent interprets.
    Data(u64),
    /// Reads as zeros, whatever the parent holds (ZERO extent, zeroed grain).
    Zero,
    /// Not stored in this link: read through to the parent (zeros without one).
    Unallocated,
}

/// A readable extent of one link.
pub trait ExtentRead: Send + std::fmt::Debug {
    /// Length of the extent in bytes.
    fn len_bytes(&self) -> u64;

    /// Where the bytes at `offset` (relative to the extent, `< len_bytes`) live, for a run of at
    /// most `max_len` bytes; returns the run and its length (`> 0`).
    ///
    /// # Errors
    /// Corrupt tables (naming file and offset), I/O errors.
    fn map(&mut self, offset: u64, max_len: u64) -> Result<(Run, u64)>;

    /// Reads stored bytes at a location returned by [`ExtentRead::map`] (`buf` no longer than
    /// the run).
    ///
    /// # Errors
    /// I/O errors, unexpected end of file.
    fn read_at(&mut self, file_offset: u64, buf: &mut [u8]) -> Result<()>;

    /// The smallest offset `>= offset` at which [`Run::Data`] may start, or `None`; may answer
    /// too early (conservative), never too late.
    ///
    /// # Errors
    /// As [`ExtentRead::map`].
    fn next_data(&mut self, offset: u64) -> Result<Option<u64>>;

    /// A short name of the extent kind for reports.
    fn kind_name(&self) -> &'static str;

    /// Bytes this extent stores (data grains of a sparse extent, allocated blocks of a flat
    /// file), for reports.
    ///
    /// # Errors
    /// As reading tables or metadata.
    fn stored_bytes(&mut self) -> Result<u64>;
}

/// A flat extent: `len` bytes at `base` in a plain file (FLAT, VMFS, VMFSRDM, VMFSRAW).
/// Holes of a sparse (thin) file are skipped with `SEEK_DATA`.
#[derive(Debug)]
pub struct FlatExtent {
    file: File,
    path: PathBuf,
    base: u64,
    len: u64,
    /// The last data run found with `SEEK_DATA`/`SEEK_HOLE`, in file offsets: one pair of
    /// seeks per run instead of one seek per grain.
    data_run: Option<(u64, u64)>,
}

impl FlatExtent {
    /// Opens a flat extent of `len` bytes starting at byte `base` of `path`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Corrupt`] when the file is shorter than `base + len`;
    /// [`crate::ErrorKind::Io`].
    pub fn open(path: &Path, base: u64, len: u64) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io("cannot open", e).with_path(path))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io("cannot stat", e).with_path(path))?;
        // Block devices report 0 here; only regular files are checked.
        if meta.is_file() {
            let need = base.checked_add(len).ok_or_else(|| {
                Error::corrupt("flat extent offset + size overflows").with_path(path)
            })?;
            if meta.len() < need {
                return Err(Error::corrupt(format!(
                    "flat extent file is shorter than the descriptor says: expected at least {need} bytes, found {}",
                    meta.len()
                ))
                .with_path(path));
            }
        }
        Ok(FlatExtent {
            file,
            path: path.to_path_buf(),
            base,
            len,
            data_run: None,
        })
    }
}

impl ExtentRead for FlatExtent {
    fn len_bytes(&self) -> u64 {
        self.len
    }

    fn map(&mut self, offset: u64, max_len: u64) -> Result<(Run, u64)> {
        Ok((
            Run::Data(self.base + offset),
            max_len.min(self.len - offset),
        ))
    }

    fn read_at(&mut self, file_offset: u64, buf: &mut [u8]) -> Result<()> {
        read_exact_at(&self.file, &self.path, file_offset, buf)
    }

    fn next_data(&mut self, offset: u64) -> Result<Option<u64>> {
        if offset >= self.len {
            return Ok(None);
        }
        let at = self.base + offset;
        if let Some((from, to)) = self.data_run {
            if from <= at && at < to {
                return Ok(Some(offset));
            }
        }
        match rustix::fs::seek(&self.file, rustix::fs::SeekFrom::Data(at)) {
            Ok(d) if d >= self.base + self.len => Ok(None),
            Ok(d) => {
                let d = d.max(at);
                // The end of this data run (a hole always ends the file).
                if let Ok(h) = rustix::fs::seek(&self.file, rustix::fs::SeekFrom::Hole(d)) {
                    self.data_run = (h > d).then_some((d, h));
                }
                Ok(Some(d - self.base))
            }
            // ENXIO: only a hole up to the end of the file.
            Err(rustix::io::Errno::NXIO) => Ok(None),
            // No SEEK_DATA support (or a device): assume data.
            Err(_) => Ok(Some(offset)),
        }
    }

    fn kind_name(&self) -> &'static str {
        "flat"
    }

    fn stored_bytes(&mut self) -> Result<u64> {
        use std::os::unix::fs::MetadataExt;
        let m = self
            .file
            .metadata()
            .map_err(|e| Error::io("cannot stat", e).with_path(&self.path))?;
        Ok(m.blocks().saturating_mul(512).min(self.len))
    }
}

/// A ZERO extent (or a NOACCESS one): reads as zeros.
#[derive(Debug)]
pub struct ZeroExtent {
    len: u64,
}

impl ZeroExtent {
    /// A zero extent of `len` bytes.
    pub fn new(len: u64) -> Self {
        ZeroExtent { len }
    }
}

impl ExtentRead for ZeroExtent {
    fn len_bytes(&self) -> u64 {
        self.len
    }

    fn map(&mut self, offset: u64, max_len: u64) -> Result<(Run, u64)> {
        Ok((Run::Zero, max_len.min(self.len - offset)))
    }

    fn read_at(&mut self, _file_offset: u64, buf: &mut [u8]) -> Result<()> {
        buf.fill(0);
        Ok(())
    }

    fn next_data(&mut self, _offset: u64) -> Result<Option<u64>> {
        Ok(None)
    }

    fn kind_name(&self) -> &'static str {
        "zero"
    }

    fn stored_bytes(&mut self) -> Result<u64> {
        Ok(0)
    }
}
