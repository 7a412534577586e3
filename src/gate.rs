//! The one gate for names that come from untrusted files.
//!
//! OVA member names, OVF `ovf:href` values and VMDK extent file names all pass through here
//! before anything is opened or created. Two policies exist:
//!
//! * [`plain_file_name`]: a single path component (OVA entries, hrefs). No `/`, `\`, `..`, `.`,
//!   NUL or control characters, no drive letters or URLs, not empty, at most 255 bytes.
//! * [`resolve_in_dir`]: a relative path that stays inside a folder (VMDK extents, snapshot
//!   parents). Components are checked one by one; `..`, absolute paths and prefixes are refused.
//!
//! # Security
//! Nothing here touches the file system except [`resolve_in_dir`]'s final symlink check, which
//! refuses a resolved path whose canonical form leaves the folder.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// Longest accepted file name, in bytes (the common file-system limit).
pub const MAX_NAME_BYTES: usize = 255;

/// Checks that `name` is a plain file name safe to create inside a target folder.
///
/// # Errors
/// [`crate::ErrorKind::UnsafePath`] naming the offending character or component.
pub fn plain_file_name(name: &str) -> Result<&str> {
    let bad = |why: &str| {
        Err(Error::unsafe_path(format!(
            "unsafe file name {name:?}: {why}"
        )))
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_NAME_BYTES {
        return bad("longer than 255 bytes");
    }
    if name == "." || name == ".." {
        return bad("refers to a folder");
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return bad(&format!("contains control character {:#04x}", c as u32));
    }
    if name.contains('/') || name.contains('\\') {
        return bad("contains a path separator");
    }
    if name.contains(':') {
        // Drive letters ("C:"), URLs ("http:") and NTFS streams.
        return bad("contains ':'");
    }
    Ok(name)
}

/// Resolves `relative` (as written in a descriptor) against `dir`, refusing anything that would
/// leave `dir`.
///
/// # Errors
/// [`crate::ErrorKind::UnsafePath`] for absolute paths, `..` components, control characters, or
/// a symlink that resolves outside `dir`.
///
/// # Security
/// After the lexical check the path is canonicalized when it exists and must still be under the
/// canonical `dir`, so a symlink planted inside the folder cannot lead outside.
pub fn resolve_in_dir(dir: &Path, relative: &str) -> Result<PathBuf> {
    let bad = |why: &str| {
        Err(Error::unsafe_path(format!(
            "unsafe path {relative:?}: {why}"
        )))
    };
    if relative.is_empty() {
        return bad("empty");
    }
    if relative.chars().any(|c| c.is_control()) {
        return bad("contains a control character");
    }
    if relative.contains('\\') || relative.contains(':') {
        return bad("contains '\\' or ':'");
    }
    let rel = Path::new(relative);
    let mut out = dir.to_path_buf();
    for comp in rel.components() {
        match comp {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return bad("contains '..'"),
            Component::RootDir | Component::Prefix(_) => return bad("is absolute"),
        }
    }
    if out == dir {
        return bad("names the folder itself");
    }
    if let (Ok(real), Ok(real_dir)) = (out.canonicalize(), dir.canonicalize()) {
        if !real.starts_with(&real_dir) {
            return bad("resolves outside its folder");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names() {
        assert!(plain_file_name("disk1.vmdk").is_ok());
        assert!(plain_file_name("Ubuntu Server 22.04-disk1.vmdk").is_ok());
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "/etc/passwd",
            "a\\b",
            "C:x",
            "a\0b",
            "a\nb",
            "http://x",
        ] {
            assert!(plain_file_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(plain_file_name(&"a".repeat(256)).is_err());
    }

    #[test]
    fn relative_paths() {
        let dir = Path::new("/vm");
        assert_eq!(
            resolve_in_dir(dir, "d-flat.vmdk").unwrap(),
            Path::new("/vm/d-flat.vmdk")
        );
        assert_eq!(
            resolve_in_dir(dir, "./sub/d.vmdk").unwrap(),
            Path::new("/vm/sub/d.vmdk")
        );
        for bad in [
            "",
            "../d.vmdk",
            "sub/../../d",
            "/etc/passwd",
            "C:\\x",
            ".",
            "a\u{1}",
        ] {
            assert!(resolve_in_dir(dir, bad).is_err(), "{bad:?} accepted");
        }
    }
}
