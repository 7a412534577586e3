//! A deterministic OVA (ustar) writer.
//!
//! Every member gets a ustar header with mode 0644, uid/gid 0 and one fixed mtime
//! ([`source_date_epoch`]), sizes in octal or GNU base-256 for members of 8 GiB and more (never
//! PAX: vSphere rejects it), so equal inputs give a byte-identical archive. Names pass
//! [`super::names::check_writable_name`] and must be unique.
//!
//! The writer never finalizes on drop: [`Writer::finish`] writes the end-of-archive blocks; an
//! archive that was not finished is incomplete by construction (and the caller's
//! [`crate::output::PendingFile`] removes it).
//!
//! On a seekable output two more tools exist for producers that learn sizes late (export):
//! [`Writer::reserve`] + [`Writer::fill`] keep room for a member (the descriptor or manifest)
//! written first but filled at the end, and [`Writer::append_unsized`] streams a member of
//! unknown size and patches its header afterwards.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom, Write};

use super::header;
use super::names;
use crate::digest::{copy_hashing, CopyResult, HashOptions};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// The mtime written into every header: `$SOURCE_DATE_EPOCH` when set and valid, else 0.
pub fn source_date_epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0)
}

/// Room kept for a member whose content is written later with [`Writer::fill`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Member name.
    pub name: String,
    /// Offset of the member's data in the archive.
    pub data_offset: u64,
    /// Reserved (and final) member size.
    pub size: u64,
}

/// A streaming OVA writer.
#[derive(Debug)]
pub struct Writer<W> {
    inner: W,
    pos: u64,
    names: HashSet<String>,
    mtime: u64,
}

const ZEROS: [u8; 1024] = [0u8; 1024];

impl<W: Write + Send> Writer<W> {
    /// A writer with every header's mtime set to `mtime` (see [`source_date_epoch`]).
    pub fn new(inner: W, mtime: u64) -> Self {
        Writer {
            inner,
            pos: 0,
            names: HashSet::new(),
            mtime,
        }
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn io(&self, e: std::io::Error) -> Error {
        Error::io("cannot write archive", e).with_offset(self.pos)
    }

    fn put(&mut self, data: &[u8]) -> Result<()> {
        self.inner.write_all(data).map_err(|e| self.io(e))?;
        self.pos += data.len() as u64;
        Ok(())
    }

    fn header(&mut self, name: &str, size: u64) -> Result<()> {
        names::check_writable_name(name)?;
        if !self.names.insert(name.to_string()) {
            return Err(Error::unsafe_path(format!("duplicate entry {name:?}")).with_entry(name));
        }
        let h = header::encode(name, size, self.mtime)?;
        self.put(&h)
    }

    fn pad(&mut self, size: u64) -> Result<()> {
        let p = header::padding(size) as usize;
        self.put(&ZEROS[..p])
    }

    /// Appends a member from memory.
    ///
    /// # Errors
    /// [`crate::ErrorKind::UnsafePath`] for a bad or duplicate name, [`crate::ErrorKind::Io`].
    pub fn append_bytes(&mut self, name: &str, data: &[u8]) -> Result<()> {
        self.header(name, data.len() as u64)?;
        self.put(data)?;
        self.pad(data.len() as u64)
    }

    /// Appends a member of exactly `size` bytes read from `src`, hashing while copying.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Corrupt`] when `src` is shorter or longer than `size`; bad names;
    /// I/O errors.
    pub fn append_stream(
        &mut self,
        name: &str,
        size: u64,
        src: &mut dyn Read,
        opts: &HashOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult> {
        self.header(name, size)?;
        let mut limited = src.take(size);
        let mut opts = opts.clone();
        opts.size_hint = Some(size);
        let r = copy_hashing(&mut limited, Some(&mut self.inner), &opts, progress)
            .map_err(|e| e.with_entry(name))?;
        self.pos += r.bytes;
        if r.bytes != size {
            return Err(Error::corrupt(format!(
                "expected {size} bytes, found {} (file changed while packing?)",
                r.bytes
            ))
            .with_entry(name));
        }
        let src = limited.into_inner();
        let mut one = [0u8; 1];
        if src
            .read(&mut one)
            .map_err(|e| Error::io("cannot read", e))?
            != 0
        {
            return Err(Error::corrupt(format!(
                "expected {size} bytes, found more (file changed while packing?)"
            ))
            .with_entry(name));
        }
        self.pad(size)?;
        Ok(r)
    }

    /// Writes the two end-of-archive blocks, flushes and returns the output. Not called on drop.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Io`].
    pub fn finish(mut self) -> Result<W> {
        self.put(&ZEROS)?;
        self.inner.flush().map_err(|e| self.io(e))?;
        Ok(self.inner)
    }
}

/// An output backed by one regular file, into which [`Writer::append_file`] has the kernel copy
/// members directly.
pub trait FileBacked: Write + Seek + Send {
    /// The underlying file; its buffered bytes (if any) are flushed before it is used.
    fn backing_file(&self) -> &std::fs::File;
}

impl FileBacked for std::fs::File {
    fn backing_file(&self) -> &std::fs::File {
        self
    }
}

impl FileBacked for &mut std::fs::File {
    fn backing_file(&self) -> &std::fs::File {
        self
    }
}

impl FileBacked for std::io::BufWriter<std::fs::File> {
    fn backing_file(&self) -> &std::fs::File {
        self.get_ref()
    }
}

impl<W: FileBacked> Writer<W> {
    /// Appends the whole regular file `src` of `size` bytes as a member: the kernel copies the
    /// data (`copy_file_range`, holes of `src` stay holes) while the digests are computed from
    /// what landed in the archive (`range_copy`).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Corrupt`] when `src` is not `size` bytes long (it changed while
    /// packing); bad names; I/O errors.
    pub fn append_file(
        &mut self,
        name: &str,
        size: u64,
        src: &std::fs::File,
        opts: &HashOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult> {
        let r = self.copy_member(name, src, 0, size, opts, progress)?;
        let now = src
            .metadata()
            .map_err(|e| Error::io("cannot inspect input", e).with_entry(name))?
            .len();
        if now != size {
            return Err(Error::corrupt(format!(
                "expected {size} bytes, found {now} (file changed while packing?)"
            ))
            .with_entry(name));
        }
        self.pad(size)?;
        Ok(r)
    }
}

impl<W: FileBacked> Writer<W> {
    /// Appends `size` bytes of the regular file `src` starting at `offset` (a member of another
    /// archive) as the member `name`, copied by the kernel like [`Writer::append_file`].
    ///
    /// # Errors
    /// [`crate::ErrorKind::Corrupt`] when `src` ends before `offset + size` or changed while it
    /// was copied; bad names; I/O errors.
    pub fn append_file_range(
        &mut self,
        name: &str,
        src: &std::fs::File,
        offset: u64,
        size: u64,
        opts: &HashOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult> {
        let r = self.copy_member(name, src, offset, size, opts, progress)?;
        self.pad(size)?;
        Ok(r)
    }

    /// The header of member `name` and its `size` bytes copied by the kernel from `src` at
    /// `offset`, hashed from what landed in the archive; the padding is left to the caller.
    fn copy_member(
        &mut self,
        name: &str,
        src: &std::fs::File,
        offset: u64,
        size: u64,
        opts: &HashOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult> {
        self.header(name, size)?;
        self.inner.flush().map_err(|e| self.io(e))?;
        let r = crate::range_copy::copy_range_hashing(
            src,
            offset,
            self.inner.backing_file(),
            self.pos,
            size,
            opts,
            progress,
        )
        .map_err(|e| e.with_entry(name))?;
        self.pos += size;
        self.inner
            .seek(SeekFrom::Start(self.pos))
            .map_err(|e| self.io(e))?;
        Ok(r)
    }
}

impl<W: Write + Seek + Send> Writer<W> {
    /// Writes a header for `name` with `size` bytes and `size` placeholder bytes, to be filled
    /// by [`Writer::fill`] (e.g. the descriptor and manifest written first but known last).
    ///
    /// # Errors
    /// Bad names, I/O errors.
    pub fn reserve(&mut self, name: &str, size: u64) -> Result<Reservation> {
        self.header(name, size)?;
        let data_offset = self.pos;
        let mut left = size;
        let block = [b' '; 8192];
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            self.put(&block[..n])?;
            left -= n as u64;
        }
        self.pad(size)?;
        Ok(Reservation {
            name: name.to_string(),
            data_offset,
            size,
        })
    }

    /// Writes `data` into a reservation, padding the rest with `pad` (a blank or newline: both
    /// are legal after an XML root element and between manifest lines).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] when `data` is larger than the reservation; I/O errors.
    pub fn fill(&mut self, res: &Reservation, data: &[u8], pad: u8) -> Result<()> {
        if data.len() as u64 > res.size {
            return Err(Error::usage(format!(
                "{} bytes do not fit the {} bytes reserved",
                data.len(),
                res.size
            ))
            .with_entry(res.name.clone()));
        }
        let end = self.pos;
        self.inner
            .seek(SeekFrom::Start(res.data_offset))
            .map_err(|e| self.io(e))?;
        let mut buf = data.to_vec();
        buf.resize(res.size as usize, pad);
        self.inner.write_all(&buf).map_err(|e| self.io(e))?;
        self.inner
            .seek(SeekFrom::Start(end))
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Streams a member of not-yet-known size: writes a placeholder header, copies `src` to its
    /// end while hashing, then seeks back and writes the real size and checksum.
    ///
    /// # Errors
    /// Bad names, I/O errors.
    pub fn append_unsized(
        &mut self,
        name: &str,
        src: &mut dyn Read,
        opts: &HashOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult> {
        let header_offset = self.pos;
        self.header(name, 0)?;
        let r = copy_hashing(src, Some(&mut self.inner), opts, progress)
            .map_err(|e| e.with_entry(name))?;
        self.pos += r.bytes;
        self.pad(r.bytes)?;
        let h = header::encode(name, r.bytes, self.mtime)?;
        let end = self.pos;
        self.inner
            .seek(SeekFrom::Start(header_offset))
            .map_err(|e| self.io(e))?;
        self.inner.write_all(&h).map_err(|e| self.io(e))?;
        self.inner
            .seek(SeekFrom::Start(end))
            .map_err(|e| self.io(e))?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Algorithm;
    use crate::ova::reader::Reader;
    use crate::progress::NoProgress;
    use crate::Limits;
    use std::io::Cursor;

    fn entries(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut r = Reader::new(tar, Limits::DEFAULT);
        let mut out = Vec::new();
        while let Some(mut e) = r.next_entry().unwrap() {
            let mut d = Vec::new();
            e.read_to_end(&mut d).unwrap();
            out.push((e.header().name.clone(), d));
        }
        out
    }

    #[test]
    fn reserve_fill_and_unsized_round_trip() {
        let mut w = Writer::new(Cursor::new(Vec::new()), 0);
        let res = w.reserve("x.ovf", 64).unwrap();
        let data = vec![5u8; 5000];
        let opts = HashOptions {
            algorithms: vec![Algorithm::Sha256],
            ..Default::default()
        };
        let r = w
            .append_unsized("d.vmdk", &mut &data[..], &opts, &NoProgress)
            .unwrap();
        assert_eq!(r.bytes, 5000);
        w.fill(&res, b"<Envelope/>", b' ').unwrap();
        assert!(w.fill(&res, &[0u8; 65], b' ').is_err());
        let tar = w.finish().unwrap().into_inner();
        let e = entries(&tar);
        assert_eq!(e[0].0, "x.ovf");
        assert!(e[0].1.starts_with(b"<Envelope/>   "));
        assert_eq!(e[0].1.len(), 64);
        assert_eq!(e[1], ("d.vmdk".to_string(), data.clone()));
        assert_eq!(
            r.digests.get(Algorithm::Sha256).unwrap(),
            Algorithm::Sha256.digest(&data)
        );
    }

    #[test]
    fn names_checked_and_unique_sizes_exact() {
        let mut w = Writer::new(Vec::new(), 0);
        assert!(w.append_bytes("../x", b"").is_err());
        w.append_bytes("a", b"1").unwrap();
        assert!(w.append_bytes("a", b"2").is_err());
        let opts = HashOptions::default();
        assert!(w
            .append_stream("b", 10, &mut &b"short"[..], &opts, &NoProgress)
            .is_err());
        let mut w = Writer::new(Vec::new(), 0);
        assert!(w
            .append_stream("c", 2, &mut &b"long"[..], &opts, &NoProgress)
            .is_err());
    }

    #[test]
    fn deterministic_and_readable_by_tar() {
        let build = || {
            let mut w = Writer::new(Vec::new(), 1_234_567);
            w.append_bytes("a.ovf", b"<x/>").unwrap();
            w.append_bytes("a-disk1.vmdk", &[1u8; 700]).unwrap();
            w.finish().unwrap()
        };
        assert_eq!(build(), build());
        let tar = build();
        assert_eq!(tar.len() % 512, 0);
        assert_eq!(entries(&tar).len(), 2);
    }
}
