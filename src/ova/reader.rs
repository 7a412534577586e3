//! A streaming OVA (tar) reader over any [`Read`]: one pass, members handed out in order, each
//! member itself a [`Read`] bounded to its size. Nothing is buffered beyond one header.
//!
//! Accepts ustar, old GNU (`"ustar  \0"`, base-256 sizes, `././@LongLink` long names) and PAX
//! (`path`, `size`) headers. Refuses links, devices, folders, unknown member types, unsafe or
//! duplicate names (through [`super::names`]), bad header checksums, sizes beyond the data and
//! more members than [`Limits::max_ova_entries`].

use std::collections::HashSet;
use std::io::{self, Read};

use super::header::{self, Header, Kind, BLOCK};
use super::names;
use crate::error::{Error, ErrorKind, Result};
use crate::limits::Limits;

/// Largest GNU long-name or PAX header accepted.
const MAX_EXTENSION_BYTES: u64 = 1 << 20;

/// Where a member is and how large.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryHeader {
    /// The checked member name.
    pub name: String,
    /// Data size in bytes.
    pub size: u64,
    /// 0-based position among the regular members.
    pub index: usize,
    /// Offset of the member's (first) header in the archive.
    pub header_offset: u64,
    /// Offset of the data in the archive.
    pub data_offset: u64,
}

/// A streaming OVA reader.
#[derive(Debug)]
pub struct Reader<R> {
    inner: R,
    pos: u64,
    remaining: u64,
    pad: u64,
    current: Option<String>,
    seen: HashSet<String>,
    count: usize,
    done: bool,
    limits: Limits,
}

/// The current member: a [`Read`] over its data.
#[derive(Debug)]
pub struct Entry<'a, R> {
    reader: &'a mut Reader<R>,
    header: EntryHeader,
}

impl<R: Read> Entry<'_, R> {
    /// The member's header.
    pub fn header(&self) -> &EntryHeader {
        &self.header
    }
}

impl<R: Read> Entry<'_, R> {
    /// Tells the reader that the caller moved the underlying input `n` bytes further through
    /// this member's data itself (a positional copy out of the archive file, then a seek), so
    /// that those bytes are not read again.
    ///
    /// # Errors
    /// [`ErrorKind::Usage`] when `n` exceeds what is left of the member.
    pub(crate) fn skip_consumed(&mut self, n: u64) -> Result<()> {
        if n > self.reader.remaining {
            return Err(Error::usage(format!(
                "{n} bytes consumed but only {} left in the member",
                self.reader.remaining
            )));
        }
        self.reader.remaining -= n;
        self.reader.pos += n;
        Ok(())
    }
}

impl<R: Read> Reader<R> {
    /// The member whose header `header` was the last one read, when nothing of its data was
    /// consumed yet (a caller that looked at the header, let the entry go, and now reads it).
    pub(crate) fn resume(&mut self, header: EntryHeader) -> Option<Entry<'_, R>> {
        (self.current.as_deref() == Some(header.name.as_str()) && self.remaining == header.size)
            .then_some(Entry {
                reader: self,
                header,
            })
    }
}

impl<R: Read> Read for Entry<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read_data(buf)
    }
}

impl<R: Read> Reader<R> {
    /// A reader over `inner`, positioned at the start of the archive.
    pub fn new(inner: R, limits: Limits) -> Self {
        Reader {
            inner,
            pos: 0,
            remaining: 0,
            pad: 0,
            current: None,
            seen: HashSet::new(),
            count: 0,
            done: false,
            limits,
        }
    }

    /// Bytes consumed from the underlying reader.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The underlying reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn read_data(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = loop {
            match self.inner.read(&mut buf[..want]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            let name = self.current.clone().unwrap_or_default();
            return Err(Error::corrupt(format!(
                "archive is truncated: {} more bytes of {name} expected",
                self.remaining
            ))
            .with_entry(name)
            .with_offset(self.pos)
            .into());
        }
        self.remaining -= n as u64;
        self.pos += n as u64;
        Ok(n)
    }

    fn skip(&mut self, mut n: u64) -> Result<()> {
        let mut buf = [0u8; 8192];
        while n > 0 {
            let want = buf.len().min(usize::try_from(n).unwrap_or(usize::MAX));
            let got = read_some(&mut self.inner, &mut buf[..want])?;
            if got == 0 {
                return Err(
                    Error::corrupt("archive is truncated inside padding or data")
                        .with_offset(self.pos),
                );
            }
            self.pos += got as u64;
            n -= got as u64;
        }
        Ok(())
    }

    fn finish_current(&mut self) -> Result<()> {
        let name = self.current.take();
        let rest = self.remaining;
        self.remaining = 0;
        let r = self.skip(rest).and_then(|()| {
            let pad = self.pad;
            self.pad = 0;
            self.skip(pad)
        });
        match (r, name) {
            (Err(e), Some(n)) => Err(e.with_entry(n)),
            (r, _) => r,
        }
    }

    /// Reads a block; `Ok(None)` at a clean end of input.
    fn block(&mut self) -> Result<Option<[u8; 512]>> {
        let mut b = [0u8; 512];
        let mut filled = 0;
        while filled < 512 {
            let n = read_some(&mut self.inner, &mut b[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        self.pos += filled as u64;
        match filled {
            0 => Ok(None),
            512 => Ok(Some(b)),
            _ => Err(Error::corrupt(format!(
                "archive is truncated inside a header ({filled} of 512 bytes)"
            ))
            .with_offset(self.pos - filled as u64)),
        }
    }

    fn read_extension(&mut self, size: u64, what: &str) -> Result<Vec<u8>> {
        if size > MAX_EXTENSION_BYTES {
            return Err(Error::limit(what, size, MAX_EXTENSION_BYTES));
        }
        let mut data = vec![0u8; size as usize];
        let mut filled = 0;
        while filled < data.len() {
            let n = read_some(&mut self.inner, &mut data[filled..])?;
            if n == 0 {
                return Err(
                    Error::corrupt(format!("archive is truncated inside a {what}"))
                        .with_offset(self.pos),
                );
            }
            filled += n;
            self.pos += n as u64;
        }
        self.skip(header::padding(size))?;
        Ok(data)
    }

    /// Advances to the next regular member, skipping what is left of the current one.
    ///
    /// # Errors
    /// [`ErrorKind::Corrupt`] for truncation or a bad header, [`ErrorKind::UnsafePath`] for a
    /// link, device, folder, unsafe or duplicate name, [`ErrorKind::LimitExceeded`] for too many
    /// members, [`ErrorKind::Unsupported`] for unknown member types, [`ErrorKind::Io`].
    ///
    /// # Security
    /// Names pass [`names::check_entry_name`]; every size is checked against the data present.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'_, R>>> {
        match self.next_header() {
            Ok(Some(header)) => Ok(Some(Entry {
                reader: self,
                header,
            })),
            Ok(None) => Ok(None),
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    fn next_header(&mut self) -> Result<Option<EntryHeader>> {
        if self.done {
            return Ok(None);
        }
        self.finish_current()?;
        let mut long_name: Option<Vec<u8>> = None;
        let mut pax_path: Option<Vec<u8>> = None;
        let mut pax_size: Option<u64> = None;
        let mut first_offset = None;
        loop {
            let offset = self.pos;
            let Some(block) = self.block()? else {
                self.done = true;
                if self.count == 0 && offset == 0 {
                    return Err(Error::corrupt("empty file: not a tar archive"));
                }
                return Err(Error::corrupt(
                    "archive ends without the end-of-archive blocks (truncated?)",
                )
                .with_offset(offset));
            };
            if header::is_zero_block(&block) {
                // End of archive; a second zero block normally follows (tolerate its absence).
                self.done = true;
                return Ok(None);
            }
            let h = Header::parse(&block).map_err(|e| e.with_offset(offset))?;
            first_offset.get_or_insert(offset);
            match h.kind {
                Kind::GnuLongName => {
                    let mut n = self.read_extension(h.size, "GNU long name")?;
                    while n.last() == Some(&0) {
                        n.pop();
                    }
                    long_name = Some(n);
                }
                Kind::GnuLongLink | Kind::PaxGlobal => {
                    self.read_extension(h.size, "tar extension header")?;
                }
                Kind::Pax => {
                    let data = self.read_extension(h.size, "PAX header")?;
                    for (key, value) in parse_pax(&data).map_err(|e| e.with_offset(offset))? {
                        match key.as_slice() {
                            b"path" => pax_path = Some(value),
                            b"size" => {
                                let s = std::str::from_utf8(&value)
                                    .ok()
                                    .and_then(|s| s.parse::<u64>().ok())
                                    .ok_or_else(|| {
                                        Error::corrupt("bad PAX size").with_offset(offset)
                                    })?;
                                pax_size = Some(s);
                            }
                            _ => {}
                        }
                    }
                }
                Kind::Regular => {
                    let raw = pax_path.or(long_name).unwrap_or(h.name);
                    let name = names::check_entry_name(&raw)
                        .map_err(|e| e.with_offset(offset))?
                        .to_string();
                    if !self.seen.insert(name.clone()) {
                        return Err(Error::unsafe_path(format!(
                            "duplicate entry {name:?}: a second member with the same name"
                        ))
                        .with_entry(name)
                        .with_offset(offset));
                    }
                    self.count += 1;
                    if self.count > self.limits.max_ova_entries {
                        return Err(Error::limit(
                            "number of OVA entries",
                            self.count as u64,
                            self.limits.max_ova_entries as u64,
                        ));
                    }
                    let size = pax_size.unwrap_or(h.size);
                    self.remaining = size;
                    self.pad = header::padding(size);
                    self.current = Some(name.clone());
                    return Ok(Some(EntryHeader {
                        name,
                        size,
                        index: self.count - 1,
                        header_offset: first_offset.unwrap_or(offset),
                        data_offset: self.pos,
                    }));
                }
                Kind::Link | Kind::Device | Kind::Directory => {
                    let raw = pax_path.or(long_name).unwrap_or(h.name);
                    let name = String::from_utf8_lossy(&raw).into_owned();
                    let what = match h.kind {
                        Kind::Link => {
                            format!("a link (to {:?})", String::from_utf8_lossy(&h.linkname))
                        }
                        Kind::Device => "a device or FIFO".to_string(),
                        _ => "a folder".to_string(),
                    };
                    return Err(Error::unsafe_path(format!(
                        "entry {name:?} is {what}; an OVA holds only plain files"
                    ))
                    .with_entry(name)
                    .with_offset(offset));
                }
                Kind::Other(t) => {
                    return Err(Error::unsupported(format!(
                        "unsupported tar member type {:?}",
                        t as char
                    ))
                    .with_entry(String::from_utf8_lossy(&h.name).into_owned())
                    .with_offset(offset));
                }
            }
        }
    }
}

fn read_some<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize> {
    loop {
        match r.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                if e.get_ref().is_some_and(|i| i.is::<Error>()) {
                    return Err(Error::from(e));
                }
                return Err(Error::io("cannot read archive", e));
            }
        }
    }
}

/// PAX records: `"<len> <key>=<value>\n"`.
fn parse_pax(mut data: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data.iter().all(|&c| c == 0) {
            break;
        }
        let sp = data
            .iter()
            .position(|&c| c == b' ')
            .ok_or_else(|| Error::corrupt("bad PAX record"))?;
        let len: usize = std::str::from_utf8(&data[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::corrupt("bad PAX record length"))?;
        if len <= sp + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err(Error::corrupt("bad PAX record length"));
        }
        let rec = &data[sp + 1..len - 1];
        let eq = rec
            .iter()
            .position(|&c| c == b'=')
            .ok_or_else(|| Error::corrupt("PAX record without '='"))?;
        out.push((rec[..eq].to_vec(), rec[eq + 1..].to_vec()));
        data = &data[len..];
    }
    Ok(out)
}

/// Whether an error came from the archive structure (as opposed to I/O).
pub fn is_structural(e: &Error) -> bool {
    e.kind() != ErrorKind::Io
}

/// Rounds `n` up to whole blocks.
pub fn blocks(n: u64) -> Option<u64> {
    n.checked_add(BLOCK - 1).map(|v| v / BLOCK * BLOCK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, data: &[u8]) -> Vec<u8> {
        let mut v = header::encode(name, data.len() as u64, 0).unwrap().to_vec();
        v.extend_from_slice(data);
        v.resize(v.len() + header::padding(data.len() as u64) as usize, 0);
        v
    }

    #[test]
    fn reads_members_in_order() {
        let mut tar = member("a.ovf", b"hello");
        tar.extend(member("b.vmdk", &[7u8; 1000]));
        tar.extend([0u8; 1024]);
        let mut r = Reader::new(&tar[..], Limits::DEFAULT);
        let mut e = r.next_entry().unwrap().unwrap();
        assert_eq!(e.header().name, "a.ovf");
        let mut s = Vec::new();
        e.read_to_end(&mut s).unwrap();
        assert_eq!(s, b"hello");
        // Not reading the second entry's data is fine: it is skipped.
        let e = r.next_entry().unwrap().unwrap();
        assert_eq!(
            (e.header().name.as_str(), e.header().size),
            ("b.vmdk", 1000)
        );
        assert!(r.next_entry().unwrap().is_none());
    }

    #[test]
    fn pax_and_gnu_long_names() {
        let mut tar = Vec::new();
        let rec = b"22 path=long-name.ovf\n";
        let mut h = header::encode("PaxHeader", rec.len() as u64, 0).unwrap();
        h[156] = b'x';
        fix_checksum(&mut h);
        tar.extend(h);
        tar.extend(rec);
        tar.resize(tar.len() + header::padding(rec.len() as u64) as usize, 0);
        tar.extend(member("ignored", b"x"));
        let ln = b"gnu-long.vmdk\0";
        let mut h = header::encode("././@LongLink", ln.len() as u64, 0).unwrap();
        h[156] = b'L';
        fix_checksum(&mut h);
        tar.extend(h);
        tar.extend(ln);
        tar.resize(tar.len() + header::padding(ln.len() as u64) as usize, 0);
        tar.extend(member("short", b"y"));
        tar.extend([0u8; 1024]);
        let mut r = Reader::new(&tar[..], Limits::DEFAULT);
        assert_eq!(
            r.next_entry().unwrap().unwrap().header().name,
            "long-name.ovf"
        );
        assert_eq!(
            r.next_entry().unwrap().unwrap().header().name,
            "gnu-long.vmdk"
        );
        assert!(r.next_entry().unwrap().is_none());
    }

    fn fix_checksum(h: &mut [u8; 512]) {
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|&c| u64::from(c)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
    }

    #[test]
    fn truncation_is_an_error() {
        let mut tar = member("a.vmdk", &[1u8; 2000]);
        tar.truncate(1000);
        let mut r = Reader::new(&tar[..], Limits::DEFAULT);
        let mut e = r.next_entry().unwrap().unwrap();
        let err = io::copy(&mut e, &mut io::sink()).unwrap_err();
        assert_eq!(Error::from(err).kind(), ErrorKind::Corrupt);
        let tar = member("a.vmdk", b"x");
        let mut r = Reader::new(&tar[..], Limits::DEFAULT);
        r.next_entry().unwrap();
        assert!(r.next_entry().is_err());
    }
}
