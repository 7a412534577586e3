//! Open any disk by its content, not its name: a streamOptimized extent goes to
//! [`crate::vmdk::stream::StreamFileSource`], any other VMDK (text descriptor, hosted sparse,
//! COWD) to the hosted reader, a qcow2 image to [`crate::qcow2`], anything else is a raw image
//! ([`crate::vmdk::kind`]).
//!
//! This sits above both [`crate::sniff`] (what a file is) and the [`crate::vmdk`] readers (how
//! to read it), so neither has to know the other.

use std::path::Path;

use crate::disk::DiskSource;
use crate::error::Result;
use crate::limits::Limits;
use crate::vmdk::kind::{detect, DiskKind};

/// Opens any disk as a [`DiskSource`], choosing the reader by content.
///
/// # Errors
/// I/O errors; the errors of the chosen reader (corrupt headers, descriptors, tables);
/// [`crate::ErrorKind::Usage`] naming the format for a foreign disk image (VHD, VHDX, VDI,
/// Parallels, DMG, cloop, bochs), a package or another non-disk file ([`crate::sniff`]).
///
/// # Security
/// Files named inside a descriptor are opened only through [`crate::gate`] (by the hosted
/// reader); every reader bounds its allocations by `limits`.
pub fn open_disk(path: &Path, limits: &Limits) -> Result<Box<dyn DiskSource>> {
    // Foreign images (VHD, VHDX...) and packages are refused by name: read as raw they would
    // convert to garbage with exit 0.
    let sniffed = crate::sniff::sniff_path(path)?;
    if let Some(e) = sniffed.content.not_a_disk_error() {
        if !crate::sniff::gzip_read_as_raw(path, sniffed.content) {
            return Err(e.with_path(path));
        }
    }
    if sniffed.content == crate::sniff::Content::Foreign(crate::sniff::Foreign::Qcow2) {
        tracing::info!(path = %path.display(), "disk: open qcow2");
        return Ok(Box::new(crate::qcow2::Qcow2Source::open(path, limits)?));
    }
    let kind = detect(path)?;
    tracing::info!(path = %path.display(), kind = ?kind, "disk: open");
    match kind {
        DiskKind::StreamOptimized => Ok(Box::new(crate::vmdk::stream::StreamFileSource::open(
            path, limits,
        )?)),
        DiskKind::HostedVmdk => crate::vmdk::hosted::open_chain(path, limits),
        DiskKind::Raw => Ok(Box::new(crate::vmdk::raw::RawSource::open(path)?)),
    }
}
