//! One way to read the content of a `References/File` (DSP0243 §5.3): its stored parts joined in
//! order (`ovf:chunkSize` splits a file into `href.000000000`, `href.000000001`...), gzip undone
//! (`ovf:compression="gzip"`) through [`GunzipCapped`] with the ceiling the disk inside allows,
//! handed out as one [`Read`]. `import`, `verify --deep` and `unpack --expand` all read files
//! through it.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::inflate::GunzipCapped;
use crate::limits::Limits;
use crate::ova::names;

/// One stored part of a file.
#[derive(Debug, Clone)]
pub(crate) enum Part {
    /// A whole file on disk (a package folder).
    Whole(PathBuf),
    /// `len` bytes at `offset` of a file on disk (a member of an OVA file).
    Range {
        /// The archive.
        path: PathBuf,
        /// Where the member's data starts.
        offset: u64,
        /// The member's size.
        len: u64,
    },
    /// `len` bytes at `offset` of a file already open (an OVA opened once), read with
    /// positional reads, so the handle may be shared.
    At {
        /// The open file.
        file: std::sync::Arc<File>,
        /// Where the member's data starts.
        offset: u64,
        /// The member's size.
        len: u64,
        /// The file's name, for messages.
        path: PathBuf,
    },
}

/// Positional reads of `left` bytes from `pos` of a shared file handle.
struct ReadAt {
    file: std::sync::Arc<File>,
    pos: u64,
    left: u64,
}

impl Read for ReadAt {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let want = (buf.len() as u64).min(self.left) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        self.left -= n as u64;
        Ok(n)
    }
}

/// The parts of a file read one after the other, each opened when it is reached (a file of
/// thousands of chunks holds one descriptor at a time). A range that ends early is an error,
/// not a shorter file.
pub(crate) struct Joined {
    parts: VecDeque<Part>,
    current: Option<(Box<dyn Read + Send>, u64, PathBuf)>,
}

impl Joined {
    /// Reads `parts` in order.
    pub(crate) fn new(parts: Vec<Part>) -> Joined {
        Joined {
            parts: parts.into(),
            current: None,
        }
    }

    fn open(part: Part) -> io::Result<(Box<dyn Read + Send>, u64, PathBuf)> {
        let opened = match &part {
            Part::Whole(p) => File::open(p).map(|f| (Box::new(f) as Box<dyn Read + Send>, 0, p)),
            Part::Range { path, offset, len } => File::open(path).and_then(|mut f| {
                f.seek(SeekFrom::Start(*offset))?;
                Ok((Box::new(f.take(*len)) as Box<dyn Read + Send>, *len, path))
            }),
            Part::At {
                file,
                offset,
                len,
                path,
            } => {
                let r = ReadAt {
                    file: file.clone(),
                    pos: *offset,
                    left: *len,
                };
                Ok((Box::new(r) as Box<dyn Read + Send>, *len, path))
            }
        };
        match opened {
            Ok((r, len, p)) => Ok((r, len, p.clone())),
            Err(e) => {
                let p = match part {
                    Part::Whole(p) | Part::Range { path: p, .. } | Part::At { path: p, .. } => p,
                };
                Err(Error::io("cannot open", e).with_path(&p).into())
            }
        }
    }
}

impl Read for Joined {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.current.is_none() {
                match self.parts.pop_front() {
                    Some(p) => self.current = Some(Joined::open(p)?),
                    None => return Ok(0),
                }
            }
            let Some((r, left, path)) = self.current.as_mut() else {
                return Ok(0);
            };
            let n = r.read(buf)?;
            if n > 0 {
                *left = left.saturating_sub(n as u64);
                return Ok(n);
            }
            if *left > 0 {
                return Err(Error::corrupt(format!(
                    "expected {left} more bytes, the archive ends"
                ))
                .with_path(path)
                .into());
            }
            self.current = None;
        }
    }
}

/// The names of the stored parts of `href` present in the folder `dir`: `href` itself, or for
/// a chunked file its chunks in order up to the first one missing (at most
/// `limits.max_ova_entries`).
pub(crate) fn parts_in_dir(dir: &Path, href: &str, chunked: bool, limits: &Limits) -> Vec<String> {
    if !chunked {
        return vec![href.to_string()];
    }
    (0..=(limits.max_ova_entries as u64))
        .map(|i| names::chunk_name(href, i))
        .take_while(|n| crate::gate::resolve_in_dir(dir, n).is_ok_and(|p| p.is_file()))
        .collect()
}

/// The content of one File as a [`Read`]: the stored bytes, inflated when the File is gzip
/// compressed. The first sector is read at once ([`FileReader::head`]): it says what the image
/// is, and for a gzip file sets the inflation ceiling ([`crate::inflate::image_bytes_cap`]).
pub(crate) struct FileReader {
    head: Vec<u8>,
    pos: usize,
    inner: Box<dyn Read + Send>,
    cap_bytes: u64,
}

impl FileReader {
    /// Reads the stored bytes `stored` (every part, joined in order) of the File `name`;
    /// `gzip` when `ovf:compression="gzip"`; `ovf_capacity_bytes` of the disk it backs, if any.
    ///
    /// # Errors
    /// The read errors of the first sector; a gzip stream that is not one.
    ///
    /// # Security
    /// A gzip file inflates to at most what its disk can hold ([`crate::inflate::image_bytes_cap`]; at most
    /// `limits.max_disk_capacity_bytes` before its first sector is seen): a decompression bomb
    /// fails with [`crate::ErrorKind::LimitExceeded`].
    pub(crate) fn new(
        stored: Box<dyn Read + Send>,
        gzip: bool,
        ovf_capacity_bytes: Option<u64>,
        limits: &Limits,
        name: &str,
    ) -> Result<FileReader> {
        if gzip {
            // Buffered: the decoder reads in small steps; the source may be a channel or a pipe.
            let buffered = io::BufReader::with_capacity(256 << 10, stored);
            let (head, gz) = GunzipCapped::image(buffered, ovf_capacity_bytes, limits, name)?;
            let cap_bytes = gz.cap();
            Ok(FileReader {
                head,
                pos: 0,
                inner: Box::new(gz),
                cap_bytes,
            })
        } else {
            let mut stored = stored;
            let head = read_head(&mut stored, name)?;
            Ok(FileReader {
                head,
                pos: 0,
                inner: stored,
                cap_bytes: limits.max_disk_capacity_bytes,
            })
        }
    }

    /// Reads the File whose stored parts are `parts` (see [`FileReader::new`]).
    ///
    /// # Errors
    /// As [`FileReader::new`]; a part that cannot be opened.
    pub(crate) fn open(
        parts: Vec<Part>,
        gzip: bool,
        ovf_capacity_bytes: Option<u64>,
        limits: &Limits,
        name: &str,
    ) -> Result<FileReader> {
        FileReader::new(
            Box::new(Joined::new(parts)),
            gzip,
            ovf_capacity_bytes,
            limits,
            name,
        )
    }

    /// The first sector of the content (fewer bytes when the content is shorter).
    pub(crate) fn head(&self) -> &[u8] {
        &self.head
    }

    /// The most content bytes a caller should accept: what a gzip file may inflate to (beyond
    /// it the reader fails), `limits.max_disk_capacity_bytes` for a stored file.
    pub(crate) fn cap_bytes(&self) -> u64 {
        self.cap_bytes
    }
}

impl Read for FileReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.head.len() {
            let n = (self.head.len() - self.pos).min(out.len());
            out[..n].copy_from_slice(&self.head[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.inner.read(out)
    }
}

/// The first sector of an image (fewer bytes when it is shorter).
fn read_head(input: &mut dyn Read, name: &str) -> Result<Vec<u8>> {
    let mut head = vec![0u8; 512];
    let got = crate::digest::read_full(input, &mut head).map_err(|e| e.with_entry(name))?;
    head.truncate(got);
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn chunks_are_joined_in_order_and_inflated() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 253) as u8).collect();
        let gz = gzip(&data);
        let (a, b) = gz.split_at(gz.len() / 2);
        std::fs::write(dir.path().join("d.gz.000000000"), a).unwrap();
        std::fs::write(dir.path().join("d.gz.000000001"), b).unwrap();
        let names = parts_in_dir(dir.path(), "d.gz", true, &Limits::DEFAULT);
        assert_eq!(names, ["d.gz.000000000", "d.gz.000000001"]);
        let parts = names
            .iter()
            .map(|n| Part::Whole(dir.path().join(n)))
            .collect();
        let mut r = FileReader::open(parts, true, None, &Limits::DEFAULT, "d.gz").unwrap();
        assert_eq!(r.head(), &data[..512]);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn a_range_past_the_end_of_the_archive_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.ova");
        std::fs::write(&p, vec![7u8; 2000]).unwrap();
        let parts = vec![Part::Range {
            path: p,
            offset: 600,
            len: 2000,
        }];
        let mut r = FileReader::open(parts, false, None, &Limits::DEFAULT, "x").unwrap();
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(Error::from(e).kind(), crate::ErrorKind::Corrupt);
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_ovf_capacity() {
        let gz = gzip(&vec![0u8; 4 << 20]);
        let mut r = FileReader::new(
            Box::new(io::Cursor::new(gz)),
            true,
            Some(1 << 20),
            &Limits::DEFAULT,
            "bomb.gz",
        )
        .unwrap();
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(Error::from(e).kind(), crate::ErrorKind::LimitExceeded);
    }
}
