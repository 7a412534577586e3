//! The small seam through which verify/pack read the OVF descriptor: the File references, the
//! disks, and validation findings. Everything else in this module tree depends only on these
//! types, so the descriptor library can change underneath.

use crate::error::Result;
use crate::limits::Limits;
use crate::ovf::{Envelope, ParseOptions, ValidateOptions};

/// A `References/File`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileRef {
    pub id: String,
    pub href: String,
    pub size: Option<u64>,
    pub compression: Option<String>,
    pub chunk_size: Option<u64>,
}

impl FileRef {
    pub fn is_gzip(&self) -> bool {
        self.compression.as_deref() == Some("gzip")
    }
}

/// A `DiskSection/Disk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DiskRef {
    pub disk_id: String,
    pub file_ref: Option<String>,
    /// Capacity in bytes, or why it cannot be computed.
    pub capacity_bytes: std::result::Result<u64, String>,
    pub format: Option<String>,
}

/// A validation finding from the descriptor library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diag {
    pub error: bool,
    pub code: &'static str,
    pub message: String,
    pub line: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Descriptor {
    pub files: Vec<FileRef>,
    pub disks: Vec<DiskRef>,
    pub diagnostics: Vec<Diag>,
}

/// Parses the descriptor and collects validation findings (`lax` downgrades what ovftool's
/// `--lax` accepts).
///
/// # Errors
/// The descriptor library's error for a descriptor that cannot be parsed at all.
pub(crate) fn parse(bytes: &[u8], lax: bool, limits: &Limits) -> Result<Descriptor> {
    Ok(from_envelope(&parse_envelope(bytes, limits)?, lax))
}

/// Parses the descriptor bytes of a package.
///
/// # Errors
/// The descriptor library's error for a descriptor that cannot be parsed at all.
pub(crate) fn parse_envelope(bytes: &[u8], limits: &Limits) -> Result<Envelope> {
    Envelope::parse_with(bytes, &ParseOptions { limits: *limits })
}

/// The References, disks and validation findings of a parsed descriptor (`lax` downgrades
/// what ovftool's `--lax` accepts).
pub(crate) fn from_envelope(env: &Envelope, lax: bool) -> Descriptor {
    let files = env
        .references()
        .into_iter()
        .map(|f| FileRef {
            id: f.id,
            href: f.href,
            size: f.size,
            compression: f.compression.filter(|c| !c.is_empty() && c != "identity"),
            chunk_size: f.chunk_size,
        })
        .collect();
    let disks = env
        .disks()
        .into_iter()
        .map(|d| DiskRef {
            capacity_bytes: d.capacity_bytes(env).map_err(|e| e.message().to_string()),
            disk_id: d.disk_id,
            file_ref: d.file_ref,
            format: d.format,
        })
        .collect();
    // More options will come; keep the struct update so this keeps compiling.
    #[allow(clippy::needless_update)]
    let vopts = ValidateOptions {
        lax,
        ..Default::default()
    };
    let diagnostics = env
        .validate(&vopts)
        .into_iter()
        .map(|d| Diag {
            error: d.severity == crate::ovf::Severity::Error,
            code: d.code,
            message: d.message,
            line: d.line,
        })
        .collect();
    Descriptor {
        files,
        disks,
        diagnostics,
    }
}

/// Rewrites `ovf:size` of the given files (by File id), keeping everything else.
///
/// # Errors
/// The descriptor library's errors (unknown id, unparsable descriptor).
pub(crate) fn set_file_sizes(
    bytes: &[u8],
    sizes: &[(String, u64)],
    limits: &Limits,
) -> Result<Vec<u8>> {
    let mut env = Envelope::parse_with(bytes, &ParseOptions { limits: *limits })?;
    for (id, size) in sizes {
        env.set_file_size(id, *size)?;
    }
    env.to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_disks() {
        let d = parse(
            br#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References><File ovf:id="f1" ovf:href="a.vmdk.gz" ovf:size="10" ovf:compression="gzip"/></References>
            <DiskSection><Info/><Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="2" ovf:capacityAllocationUnits="byte * 2^30"/></DiskSection></Envelope>"#,
            false,
            &Limits::DEFAULT,
        )
        .unwrap();
        assert_eq!(d.files[0].href, "a.vmdk.gz");
        assert!(d.files[0].is_gzip());
        assert_eq!(d.disks[0].capacity_bytes, Ok(2 << 30));
        assert!(parse(b"<x>", false, &Limits::DEFAULT).is_err());
    }
}
