//! Outputs that appear under their final name only when complete.
//!
//! Every writer of the library creates its file or folder under a temporary name in the same
//! folder as the final name (so the rename is atomic on one file system), and renames it only in
//! [`PendingFile::commit`] / [`PendingDir::commit`]. Dropping without commit removes the temporary
//! output: a failed or interrupted operation leaves nothing under the final name. Existing outputs
//! are replaced only when the caller allows it (`--force`).

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// Refuses an existing `path` unless `force`.
///
/// # Errors
/// [`ErrorKind::AlreadyExists`] when `path` exists and `force` is false.
pub fn check_overwrite(path: &Path, force: bool) -> Result<()> {
    if !force && fs::symlink_metadata(path).is_ok() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            "output already exists (use --force to replace it)",
        )
        .with_path(path));
    }
    Ok(())
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.partial-")
}

/// A file being written under a temporary name next to its final path.
#[derive(Debug)]
pub struct PendingFile {
    temp: Option<tempfile::NamedTempFile>,
    final_path: PathBuf,
    force: bool,
}

impl PendingFile {
    /// Creates the temporary file for `final_path`; fails early if `final_path` exists and not `force`.
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`], or [`ErrorKind::Io`] when the folder is not writable.
    pub fn create(final_path: &Path, force: bool) -> Result<Self> {
        check_overwrite(final_path, force)?;
        let dir = parent_of(final_path);
        let temp = tempfile::Builder::new()
            .prefix(&temp_prefix(final_path))
            .tempfile_in(dir)
            .map_err(|e| Error::io("cannot create temporary output", e).with_path(dir))?;
        Ok(PendingFile {
            temp: Some(temp),
            final_path: final_path.to_path_buf(),
            force,
        })
    }

    /// The open temporary file.
    pub fn file(&mut self) -> &mut File {
        // The Option is only None after commit, which consumes self.
        self.temp
            .as_mut()
            .map(|t| t.as_file_mut())
            .unwrap_or_else(|| unreachable_file())
    }

    /// The temporary path (for tools that reopen it).
    pub fn temp_path(&self) -> Option<&Path> {
        self.temp.as_ref().map(|t| t.path())
    }

    /// The final path.
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// Flushes to stable storage, sets mode 0644 and renames to the final name.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] on sync/rename failure; [`ErrorKind::AlreadyExists`] if the final name
    /// appeared meanwhile and not `force`.
    pub fn commit(mut self) -> Result<PathBuf> {
        let temp = self
            .temp
            .take()
            .ok_or_else(|| Error::new(ErrorKind::Io, "output already committed"))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| Error::io("cannot flush output", e).with_path(&self.final_path))?;
        set_mode_0644(temp.path());
        let result = if self.force {
            temp.persist(&self.final_path)
        } else {
            temp.persist_noclobber(&self.final_path)
        };
        result.map_err(|e| {
            let kind = if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                ErrorKind::AlreadyExists
            } else {
                ErrorKind::Io
            };
            Error::new(kind, "cannot rename output into place")
                .with_source(e.error)
                .with_path(&self.final_path)
        })?;
        Ok(self.final_path.clone())
    }
}

#[allow(clippy::panic)]
fn unreachable_file() -> &'static mut File {
    // PendingFile::file is never reachable after commit (commit takes self by value).
    panic!("PendingFile used after commit")
}

#[cfg(unix)]
fn set_mode_0644(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o644));
}

#[cfg(not(unix))]
fn set_mode_0644(_path: &Path) {}

/// A folder being filled under a temporary name next to its final path.
#[derive(Debug)]
pub struct PendingDir {
    temp: Option<tempfile::TempDir>,
    final_path: PathBuf,
    force: bool,
}

impl PendingDir {
    /// Creates the temporary folder for `final_path` inside `final_path`'s parent, which must exist.
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`] if `final_path` exists and not `force`; [`ErrorKind::Io`].
    pub fn create(final_path: &Path, force: bool) -> Result<Self> {
        check_overwrite(final_path, force)?;
        let dir = parent_of(final_path);
        let temp = tempfile::Builder::new()
            .prefix(&temp_prefix(final_path))
            .tempdir_in(dir)
            .map_err(|e| Error::io("cannot create temporary folder", e).with_path(dir))?;
        Ok(PendingDir {
            temp: Some(temp),
            final_path: final_path.to_path_buf(),
            force,
        })
    }

    /// The temporary folder to write into.
    pub fn path(&self) -> &Path {
        self.temp
            .as_ref()
            .map(|t| t.path())
            .unwrap_or(&self.final_path)
    }

    /// The final path.
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// Renames the folder to its final name (replacing an existing one only when `force`).
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`] or [`ErrorKind::Io`].
    pub fn commit(mut self) -> Result<PathBuf> {
        let temp = self
            .temp
            .take()
            .ok_or_else(|| Error::new(ErrorKind::Io, "output already committed"))?;
        if fs::symlink_metadata(&self.final_path).is_ok() {
            if !self.force {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    "output already exists (use --force to replace it)",
                )
                .with_path(&self.final_path));
            }
            let meta = fs::symlink_metadata(&self.final_path)?;
            if meta.is_dir() {
                fs::remove_dir_all(&self.final_path).map_err(|e| {
                    Error::io("cannot remove existing output", e).with_path(&self.final_path)
                })?;
            } else {
                fs::remove_file(&self.final_path).map_err(|e| {
                    Error::io("cannot remove existing output", e).with_path(&self.final_path)
                })?;
            }
        }
        let temp_path = temp.keep();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&temp_path, fs::Permissions::from_mode(0o755));
        }
        if let Err(e) = fs::rename(&temp_path, &self.final_path) {
            let _ = fs::remove_dir_all(&temp_path);
            return Err(
                Error::io("cannot rename output folder into place", e).with_path(&self.final_path)
            );
        }
        Ok(self.final_path.clone())
    }
}

/// Creates an empty file exclusively in `dir` (which the caller owns, e.g. a [`PendingDir`]),
/// after checking `name` with [`crate::gate::plain_file_name`].
///
/// # Errors
/// [`ErrorKind::UnsafePath`] for a bad name, [`ErrorKind::AlreadyExists`] for a duplicate.
pub fn create_in(dir: &Path, name: &str) -> Result<File> {
    let name = crate::gate::plain_file_name(name)?;
    let path = dir.join(name);
    fs::OpenOptions::new()
        .write(true)
        .read(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::new(ErrorKind::AlreadyExists, "duplicate output file").with_entry(name)
            } else {
                Error::io("cannot create file", e).with_path(&path)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.ova");
        let mut p = PendingFile::create(&target, false).unwrap();
        p.file().write_all(b"data").unwrap();
        assert!(!target.exists());
        p.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"data");
        assert_eq!(
            PendingFile::create(&target, false).unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
    }

    #[test]
    fn dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.ova");
        {
            let mut p = PendingFile::create(&target, false).unwrap();
            p.file().write_all(b"data").unwrap();
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn dir_commit_and_drop() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("vm");
        {
            let p = PendingDir::create(&target, false).unwrap();
            create_in(p.path(), "a.vmx").unwrap();
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        let p = PendingDir::create(&target, false).unwrap();
        create_in(p.path(), "a.vmx").unwrap();
        assert!(create_in(p.path(), "../b").is_err());
        p.commit().unwrap();
        assert!(target.join("a.vmx").exists());
    }
}
