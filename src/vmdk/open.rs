//! Open any disk by its content, not its name: a streamOptimized extent goes to
//! [`crate::vmdk::stream::StreamFileSource`], any other VMDK (text descriptor, hosted sparse,
//! COWD) to the hosted reader, anything else is a raw image.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::disk::DiskSource;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::vmdk::header::{SparseHeader, SPARSE_MAGIC};

/// What [`detect`] found at the start of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskKind {
    /// A KDMV extent with compressed grains (streamOptimized).
    StreamOptimized,
    /// Another VMDK: a text descriptor, a hosted sparse (KDMV) or ESXi COWD extent.
    HostedVmdk,
    /// Anything else: a raw image.
    Raw,
}

/// Whether `head` (the first bytes of a file) looks like a VMDK text descriptor: text without NUL
/// bytes that has a `createType` line or the `# Disk DescriptorFile` comment.
fn looks_like_descriptor(head: &[u8]) -> bool {
    // Some writers (qemu-img for monolithicFlat over some inputs) pad the descriptor file to a
    // sector with NUL bytes: text, then only NULs, is still a descriptor.
    let text_len = head.iter().position(|&b| b == 0).unwrap_or(head.len());
    if text_len == 0 || head[text_len..].iter().any(|&b| b != 0) {
        return false;
    }
    let text = String::from_utf8_lossy(&head[..text_len]).to_ascii_lowercase();
    text.contains("# disk descriptorfile")
        || text.contains("# disk descriptor file")
        || text
            .lines()
            .any(|l| l.trim_start().starts_with("createtype"))
}

/// Classifies a disk by its first bytes.
///
/// # Errors
/// I/O errors reading `path`.
pub fn detect(path: &Path) -> Result<DiskKind> {
    let mut f = File::open(path).map_err(|e| Error::io("cannot open disk", e).with_path(path))?;
    let mut head = vec![0u8; 4096];
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("cannot read disk", e).with_path(path)),
        }
    }
    head.truncate(got);
    Ok(classify(&head))
}

/// Classifies the first bytes of a disk (see [`detect`]).
pub fn classify(head: &[u8]) -> DiskKind {
    if head.len() >= 4 && head[..4] == SPARSE_MAGIC.to_le_bytes() {
        if let Some(h) = head.get(..512).and_then(|b| <&[u8; 512]>::try_from(b).ok()) {
            if let Ok(h) = SparseHeader::parse(h) {
                if h.is_compressed() {
                    return DiskKind::StreamOptimized;
                }
            }
        }
        return DiskKind::HostedVmdk;
    }
    if head.len() >= 4 && &head[..4] == b"COWD" {
        return DiskKind::HostedVmdk;
    }
    if looks_like_descriptor(head) {
        return DiskKind::HostedVmdk;
    }
    DiskKind::Raw
}

/// Opens any disk as a [`DiskSource`], choosing the reader by content.
///
/// # Errors
/// I/O errors; the errors of the chosen reader (corrupt headers, descriptors, tables).
///
/// # Security
/// Files named inside a descriptor are opened only through [`crate::gate`] (by the hosted
/// reader); every reader bounds its allocations by `limits`.
pub fn open(path: &Path, limits: &Limits) -> Result<Box<dyn DiskSource>> {
    match detect(path)? {
        DiskKind::StreamOptimized => Ok(Box::new(crate::vmdk::stream::StreamFileSource::open(
            path, limits,
        )?)),
        DiskKind::HostedVmdk => open_hosted(path, limits),
        DiskKind::Raw => Ok(Box::new(crate::vmdk::raw::RawSource::open(path)?)),
    }
}

fn open_hosted(path: &Path, limits: &Limits) -> Result<Box<dyn DiskSource>> {
    crate::vmdk::hosted::open(path, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_by_content() {
        assert_eq!(classify(b""), DiskKind::Raw);
        assert_eq!(classify(&[0u8; 512]), DiskKind::Raw);
        assert_eq!(
            classify(b"# Disk DescriptorFile\nversion=1\ncreateType=\"vmfs\"\n"),
            DiskKind::HostedVmdk
        );
        assert_eq!(classify(b"COWD\x01\0\0\0"), DiskKind::HostedVmdk);
        let mut padded =
            b"# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n".to_vec();
        padded.resize(512, 0);
        assert_eq!(classify(&padded), DiskKind::HostedVmdk);
        padded.push(1);
        assert_eq!(classify(&padded), DiskKind::Raw);
    }
}
