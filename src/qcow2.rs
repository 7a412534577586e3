//! qcow2 images (QEMU's format, versions 2 and 3) as a [`DiskSource`], read through the
//! maintained `imago` crate: no hand-written decoder of the format.
//!
//! Clusters that are unallocated or marked zero are skipped without reading (the same as holes of
//! a raw image); allocated and compressed clusters are read, one grain at a time, through
//! `imago`, which inflates compressed clusters and bounds what it reads by the image's own
//! tables.
//!
//! # Security
//! A qcow2 image may name other files: a backing file (an overlay's base) or an external data
//! file. Both are refused ([`imago::DenyImplicitOpenGate`]): a package's disk must not make us
//! open a path it chooses, and an overlay read without its base would convert to wrong data. The
//! virtual size is checked against [`Limits::max_disk_capacity_bytes`].

use std::fmt;
use std::path::{Path, PathBuf};

use imago::file::File;
use imago::qcow2::Qcow2;
use imago::{DenyImplicitOpenGate, FormatAccess, FormatDriverBuilder, Mapping, StorageOpenOptions};

use crate::disk::{DiskSource, Grain, GrainData, GRAIN_BYTES};
use crate::error::{Error, Result};
use crate::limits::Limits;

/// A qcow2 image file read as a [`DiskSource`].
pub struct Qcow2Source {
    image: FormatAccess<File>,
    path: PathBuf,
    capacity_bytes: u64,
    /// Next grain-aligned offset not yet looked at.
    next: u64,
}

impl fmt::Debug for Qcow2Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Qcow2Source")
            .field("path", &self.path)
            .field("capacity_bytes", &self.capacity_bytes)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// Our error for an `imago` error about `path`: a refused implicit reference (backing or data
/// file) is named as what it is; anything else is a corrupt or unreadable image.
fn image_error(what: &str, e: std::io::Error, path: &Path) -> Error {
    let text = e.to_string();
    if e.kind() == std::io::ErrorKind::PermissionDenied && text.contains("implicitly referenced") {
        return Error::unsupported(format!(
            "qcow2 image that depends on another file ({text}): not supported; flatten it first \
             (qemu-img convert -O qcow2 without a backing file)"
        ))
        .with_path(path);
    }
    if text.contains("incompatible feature") {
        // A newer qcow2 feature imago does not read (e.g. extended L2 entries).
        return Error::unsupported(format!(
            "qcow2 image: {text}: not supported; convert it with qemu-img first \
             (qemu-img convert -O qcow2 -o compat=1.1)"
        ))
        .with_path(path);
    }
    match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
            Error::io(format!("cannot {what} qcow2 image"), e).with_path(path)
        }
        _ => Error::corrupt(format!("qcow2 image: cannot {what} it: {text}")).with_path(path),
    }
}

impl Qcow2Source {
    /// Opens a qcow2 image read-only.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Io`] if the file cannot be opened; [`crate::ErrorKind::Corrupt`] for
    /// an image `imago` refuses (bad header, tables out of the file, encryption...);
    /// [`crate::ErrorKind::Unsupported`] for an image with a backing or external data file;
    /// [`crate::ErrorKind::Limit`] for a virtual size over `limits`.
    pub fn open(path: &Path, limits: &Limits) -> Result<Self> {
        let opts = StorageOpenOptions::new().filename(path).write(false);
        let file =
            <File as imago::Storage>::open(opts).map_err(|e| image_error("open", e, path))?;
        let image = Qcow2::<File>::builder(file)
            .write(false)
            .open(DenyImplicitOpenGate::default())
            .map_err(|e| image_error("open", e, path))?;
        let image = FormatAccess::new(image);
        let capacity_bytes = image.size();
        if capacity_bytes > limits.max_disk_capacity_bytes {
            return Err(Error::limit(
                "qcow2 virtual size",
                capacity_bytes,
                limits.max_disk_capacity_bytes,
            )
            .with_path(path));
        }
        Ok(Qcow2Source {
            image,
            path: path.to_path_buf(),
            capacity_bytes,
            next: 0,
        })
    }

    /// Bytes of the virtual disk that hold data in the image: everything but unallocated and
    /// zero clusters (compressed clusters count at their virtual size). Reads only the image's
    /// tables.
    ///
    /// # Errors
    /// As [`Qcow2Source::open`], for tables that cannot be read.
    pub fn allocated_bytes(&self) -> Result<u64> {
        let mut at = 0u64;
        let mut total = 0u64;
        while at < self.capacity_bytes {
            let (mapping, len) = self
                .image
                .get_mapping(at, self.capacity_bytes - at)
                .map_err(|e| image_error("map", e, &self.path).with_offset(at))?;
            let len = len.clamp(1, self.capacity_bytes - at);
            if !matches!(mapping, Mapping::Zero { .. }) {
                total += len;
            }
            at += len;
        }
        Ok(total)
    }

    /// The grain-aligned start of the next grain that holds anything but unallocated or zero
    /// clusters, at or after `self.next`.
    fn next_data(&mut self) -> Result<Option<u64>> {
        while self.next < self.capacity_bytes {
            let (mapping, len) = self
                .image
                .get_mapping(self.next, self.capacity_bytes - self.next)
                .map_err(|e| image_error("map", e, &self.path).with_offset(self.next))?;
            if !matches!(mapping, Mapping::Zero { .. }) {
                return Ok(Some(self.next));
            }
            // Skip the grains the zero run covers whole; a grain it covers only in part holds
            // data after it.
            let end = self
                .next
                .saturating_add(len.max(1))
                .min(self.capacity_bytes);
            let whole = end / GRAIN_BYTES * GRAIN_BYTES;
            if end == self.capacity_bytes {
                self.next = end;
            } else if whole > self.next {
                self.next = whole;
            } else {
                return Ok(Some(self.next));
            }
        }
        Ok(None)
    }
}

impl DiskSource for Qcow2Source {
    fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }

    fn files(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }

    fn annotate(&self, error: Error) -> Error {
        error.with_path(&self.path)
    }

    fn next_grain(&mut self) -> Result<Option<Grain>> {
        let Some(offset) = self.next_data()? else {
            return Ok(None);
        };
        let len = GRAIN_BYTES.min(self.capacity_bytes - offset);
        let mut bytes = vec![0u8; len as usize];
        self.image
            .read(&mut bytes[..], offset)
            .map_err(|e| image_error("read", e, &self.path).with_offset(offset))?;
        self.next = offset + len;
        Ok(Some(Grain {
            offset,
            len: len as u32,
            data: GrainData::Raw(bytes),
        }))
    }
}
