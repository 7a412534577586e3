//! What a disk file is, by its first bytes: a streamOptimized extent, another VMDK (text
//! descriptor, hosted sparse, COWD) or a raw image. Used by [`crate::open_disk`] to choose a
//! reader and by [`crate::sniff`] to name what a file is.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
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
/// Descriptor files are small; qemu leaves bytes after the terminating NUL only in these.
const SMALL_DESCRIPTOR_FILE: u64 = 64 << 10;

fn looks_like_descriptor(head: &[u8], file_len: u64) -> bool {
    // The descriptor is the text up to the first NUL (readers treat it as a C string). Some
    // writers pad the file to a sector with NULs; qemu-img also leaves the tail of an earlier,
    // longer version of the descriptor after the NUL when it rewrites the CID on close (seen as
    // `...\n\0\n\0\0...` when the new CID has fewer hex digits). Past the NUL only NULs are
    // accepted in a large file: a raw disk whose first sector happens to look like a descriptor
    // stays raw.
    let text_len = head.iter().position(|&b| b == 0).unwrap_or(head.len());
    if text_len == 0 {
        return false;
    }
    if file_len > SMALL_DESCRIPTOR_FILE && head[text_len..].iter().any(|&b| b != 0) {
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
    let len = f
        .metadata()
        .map_err(|e| Error::io("cannot inspect disk", e).with_path(path))?
        .len();
    Ok(classify(&head, len))
}

/// Classifies a disk of `file_len` bytes by its first bytes `head` (see [`detect`]).
pub fn classify(head: &[u8], file_len: u64) -> DiskKind {
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
    if looks_like_descriptor(head, file_len) {
        return DiskKind::HostedVmdk;
    }
    DiskKind::Raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_by_content() {
        let c = |b: &[u8]| classify(b, b.len() as u64);
        assert_eq!(c(b""), DiskKind::Raw);
        assert_eq!(c(&[0u8; 512]), DiskKind::Raw);
        assert_eq!(
            c(b"# Disk DescriptorFile\nversion=1\ncreateType=\"vmfs\"\n"),
            DiskKind::HostedVmdk
        );
        assert_eq!(c(b"COWD\x01\0\0\0"), DiskKind::HostedVmdk);
        let mut padded =
            b"# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n".to_vec();
        padded.resize(512, 0);
        assert_eq!(c(&padded), DiskKind::HostedVmdk);
        // qemu-img's leftover after the terminator (the CID got shorter on rewrite).
        let mut qemu = padded.clone();
        let nul = qemu.iter().position(|&b| b == 0).unwrap();
        qemu[nul + 1] = b'\n';
        assert_eq!(c(&qemu), DiskKind::HostedVmdk);
        // A large file whose first sector looks like a descriptor but goes on with data: raw.
        padded.push(1);
        assert_eq!(classify(&padded, 1 << 20), DiskKind::Raw);
        assert_eq!(classify(&qemu, 1 << 20), DiskKind::Raw);
    }
}
