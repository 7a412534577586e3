//! Positional I/O: reads and writes at an offset (`pread`/`pwrite`), without a shared file
//! cursor, so that several threads can use one file at once. The one place where the disk
//! readers and writers turn an offset and a buffer into an [`Error`] naming the file and the
//! offset.

use std::fs::File;
use std::io::ErrorKind as IoKind;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{Error, Result};

/// Positional reads: a file (`pread`, no seeking, one copy) or bytes in memory.
pub trait ReadAt: Send {
    /// Fills `buf` from `offset`.
    ///
    /// # Errors
    /// I/O errors; [`IoKind::UnexpectedEof`] past the end.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;

    /// Hints that `len` bytes from `offset` will be read soon (start reading them ahead).
    fn will_need(&self, _offset: u64, _len: u64) {}
}

impl ReadAt for File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        FileExt::read_exact_at(self, buf, offset)
    }

    fn will_need(&self, offset: u64, len: u64) {
        // Advice only: on a busy machine the input may have left the page cache, and a reader
        // blocked in pread stalls the whole pipeline.
        let _ = rustix::fs::fadvise(
            self,
            offset,
            std::num::NonZeroU64::new(len),
            rustix::fs::Advice::WillNeed,
        );
    }
}

impl ReadAt for &[u8] {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| IoKind::UnexpectedEof)?;
        let src = start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
            .ok_or(IoKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

impl ReadAt for Vec<u8> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.as_slice().read_exact_at(buf, offset)
    }
}

/// Reads exactly `buf.len()` bytes at `offset` of `file` (named `path` in errors).
///
/// # Errors
/// [`crate::ErrorKind::Corrupt`] when the file ends first ("unexpected end of file");
/// [`crate::ErrorKind::Io`] otherwise; both name the file and the offset.
pub(crate) fn read_exact_at(file: &File, path: &Path, offset: u64, buf: &mut [u8]) -> Result<()> {
    FileExt::read_exact_at(file, buf, offset).map_err(|e| {
        let err = if e.kind() == IoKind::UnexpectedEof {
            Error::corrupt(format!(
                "unexpected end of file reading {} bytes",
                buf.len()
            ))
        } else {
            Error::io("cannot read", e)
        };
        err.with_path(path).with_offset(offset)
    })
}

/// Writes all of `buf` at `offset` of `file` (named `path` in errors).
///
/// # Errors
/// [`crate::ErrorKind::Io`] naming the file and the offset.
pub(crate) fn write_all_at(file: &File, path: &Path, offset: u64, buf: &[u8]) -> Result<()> {
    FileExt::write_all_at(file, buf, offset).map_err(|e| {
        Error::io("cannot write", e)
            .with_path(path)
            .with_offset(offset)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_file_is_corrupt_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let f = File::open(&p).unwrap();
        let mut buf = [0u8; 4];
        let e = read_exact_at(&f, &p, 0, &mut buf).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Corrupt, "{e}");
        let mut two = [0u8; 2];
        read_exact_at(&f, &p, 1, &mut two).unwrap();
        assert_eq!(&two, b"bc");
        assert!((&b"abc"[..]).read_exact_at(&mut buf, 0).is_err());
        assert!((&b"abc"[..]).read_exact_at(&mut two, u64::MAX).is_err());
    }

    #[test]
    fn write_then_read_at_an_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let f = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&p)
            .unwrap();
        write_all_at(&f, &p, 4, b"xy").unwrap();
        let mut buf = [9u8; 6];
        read_exact_at(&f, &p, 0, &mut buf).unwrap();
        assert_eq!(&buf, b"\0\0\0\0xy");
    }
}
