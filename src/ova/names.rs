//! The entry-name policy of OVA packages, in one place, built on [`crate::gate`].
//!
//! OVA members are plain file names (DSP0243 §"OVF package"; every producer writes basenames):
//! no `/`, no `..`, not absolute, no NUL or control characters, no `:` or `\`, valid UTF-8,
//! at most 100 bytes so the name fits a ustar header without GNU or PAX extensions.
//!
//! # Security
//! Every member name read from an archive and every name written into one passes
//! [`check_entry_name`] before it is used to create anything.

use crate::error::{Error, Result};

/// Longest member name written (the ustar name field).
pub const MAX_ENTRY_NAME_BYTES: usize = 100;

/// What a member is for, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `*.ovf`: the descriptor.
    Descriptor,
    /// `*.mf`: the manifest.
    Manifest,
    /// `*.cert`: the signature and certificate.
    Certificate,
    /// Anything else (disks, ISO images, string bundles).
    File,
}

/// Checks a raw member name from a tar header.
///
/// # Errors
/// [`crate::ErrorKind::UnsafePath`] for a name that is not UTF-8 or not a plain file name.
pub fn check_entry_name(raw: &[u8]) -> Result<&str> {
    let name = std::str::from_utf8(raw).map_err(|_| {
        Error::unsafe_path(format!(
            "entry name {:?} is not UTF-8",
            String::from_utf8_lossy(raw)
        ))
    })?;
    check_name(name)
}

/// Checks a name about to be written into, or extracted from, an OVA.
///
/// # Errors
/// [`crate::ErrorKind::UnsafePath`].
pub fn check_name(name: &str) -> Result<&str> {
    if name.starts_with('/') {
        return Err(Error::unsafe_path(format!(
            "unsafe entry name {name:?}: absolute path"
        )));
    }
    if name.split('/').any(|c| c == "..") {
        return Err(Error::unsafe_path(format!(
            "unsafe entry name {name:?}: contains '..'"
        )));
    }
    crate::gate::plain_file_name(name)
}

/// Like [`check_name`], and the name fits a ustar header (≤ 100 bytes).
///
/// # Errors
/// [`crate::ErrorKind::UnsafePath`].
pub fn check_writable_name(name: &str) -> Result<&str> {
    check_name(name)?;
    if name.len() > MAX_ENTRY_NAME_BYTES {
        return Err(Error::unsafe_path(format!(
            "entry name {name:?} is longer than {MAX_ENTRY_NAME_BYTES} bytes (ustar limit)"
        )));
    }
    Ok(name)
}

/// The role of a member by its (case-insensitive) extension.
pub fn role(name: &str) -> Role {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".ovf") {
        Role::Descriptor
    } else if lower.ends_with(".mf") {
        Role::Manifest
    } else if lower.ends_with(".cert") {
        Role::Certificate
    } else {
        Role::File
    }
}

/// The name of chunk `index` of a file stored with `ovf:chunkSize` (`href.000000000`, ...).
pub fn chunk_name(href: &str, index: u64) -> String {
    format!("{href}.{index:09}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert!(check_entry_name(b"vm.ovf").is_ok());
        for bad in [
            &b"../x"[..],
            b"/etc/passwd",
            b"a/b",
            b"a\0b",
            b"\xff.vmdk",
            b"a\x1b[31m",
            b"",
            b"..",
        ] {
            assert!(check_entry_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_writable_name(&"a".repeat(101)).is_err());
        assert_eq!(role("X.OVF"), Role::Descriptor);
        assert_eq!(role("x.mf"), Role::Manifest);
        assert_eq!(role("x.cert"), Role::Certificate);
        assert_eq!(role("x.vmdk"), Role::File);
        assert_eq!(chunk_name("d.vmdk", 1), "d.vmdk.000000001");
    }
}
