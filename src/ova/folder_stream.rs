//! An OVF package whose files lie beside its descriptor (a local folder, or an `http(s)://` URL
//! whose files are fetched relative to it), presented as the OVA stream it would make: the
//! commands that read a package in one streaming pass (`verify`, `import`, the vSphere deploy)
//! then read it the same way, one file open at a time, without a temporary copy.
//!
//! Members, in OVA order: the descriptor, `<base>.mf` and `<base>.cert` when present, each
//! `References` file (a chunked one as its chunks `href.000000000`... up to the first one that is
//! absent), then files the manifest lists that the References do not. A referenced file that is
//! absent is left out: the verdict reports it, as for an OVA without it. Every name goes through
//! [`super::names::check_writable_name`] (a plain file name, ≤ 100 bytes) before anything is
//! opened, so nothing outside the folder (or beside the URL) is ever read.
//!
//! Each member's size goes into its tar header before its bytes: the file's length (the HTTP
//! `Content-Length`, else the descriptor's `ovf:size`). A source that then delivers a different
//! number of bytes fails the stream with a clear error.

use std::collections::VecDeque;
use std::io::{self, Read};

use super::header;
use super::names;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::manifest::Manifest;
use crate::ovf::{Envelope, ParseOptions};

/// An opened file: its size when the source knows it, and its bytes.
pub type Opened = (Option<u64>, Box<dyn Read + Send>);

/// Where the files beside a descriptor come from.
pub trait Fetch: Send {
    /// Opens the file `name` beside the descriptor: its size (when the source knows it) and its
    /// bytes; `Ok(None)` when it does not exist.
    ///
    /// # Errors
    /// Failures other than "not found".
    fn open(&mut self, name: &str) -> Result<Option<Opened>>;

    /// How `name` is shown in messages (a path or a URL).
    fn show(&self, name: &str) -> String;
}

/// The files of a local folder.
#[derive(Debug, Clone)]
pub struct LocalFetch {
    /// The folder holding the descriptor.
    pub dir: std::path::PathBuf,
}

impl Fetch for LocalFetch {
    fn open(&mut self, name: &str) -> Result<Option<Opened>> {
        let p = crate::gate::resolve_in_dir(&self.dir, name)?;
        let f = match std::fs::File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("cannot open", e).with_path(&p)),
        };
        let meta = f
            .metadata()
            .map_err(|e| Error::io("cannot read", e).with_path(&p))?;
        if !meta.is_file() {
            return Ok(None);
        }
        Ok(Some((Some(meta.len()), Box::new(f))))
    }

    fn show(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

/// One planned member.
enum Planned {
    /// Read already (descriptor, manifest, certificate).
    Bytes(String, Vec<u8>),
    /// A file; `declared` is its `ovf:size`, used when the source does not say.
    File(String, Option<u64>),
    /// The chunks of a chunked file, from `next` on.
    Chunks(String, u64),
}

/// The member being streamed.
struct Current {
    name: String,
    body: Box<dyn Read + Send>,
    size: u64,
    left: u64,
}

/// A descriptor and the files beside it as an OVA byte stream (see the module docs).
pub struct FolderStream {
    fetch: Box<dyn Fetch>,
    plan: VecDeque<Planned>,
    /// Header, padding or small-member bytes waiting to be read.
    out: Vec<u8>,
    pos: usize,
    cur: Option<Current>,
    max_chunks: u64,
    ended: bool,
}

impl std::fmt::Debug for FolderStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FolderStream")
            .field("planned", &self.plan.len())
            .finish()
    }
}

/// Reads a whole small file (descriptor, manifest, certificate), at most `limit` bytes.
fn read_small(fetch: &mut dyn Fetch, name: &str, limit: u64) -> Result<Option<Vec<u8>>> {
    let Some((size, body)) = fetch.open(name)? else {
        return Ok(None);
    };
    if let Some(n) = size.filter(|&n| n > limit) {
        return Err(Error::limit(&format!("size of {name}"), n, limit).with_entry(name));
    }
    let mut data = Vec::new();
    body.take(limit + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::from(e).with_entry(name))?;
    if data.len() as u64 > limit {
        return Err(
            Error::limit(&format!("size of {name}"), data.len() as u64, limit).with_entry(name),
        );
    }
    Ok(Some(data))
}

impl FolderStream {
    /// Reads the descriptor `desc_name` and its manifest and certificate from `fetch`, and plans
    /// the rest.
    ///
    /// # Errors
    /// The descriptor is absent, too large or not OVF; a name is not a plain file name of at most
    /// 100 bytes; the source fails.
    pub fn new(mut fetch: Box<dyn Fetch>, desc_name: &str, limits: &Limits) -> Result<Self> {
        names::check_writable_name(desc_name)?;
        let desc = read_small(fetch.as_mut(), desc_name, limits.max_descriptor_bytes)?.ok_or_else(
            || {
                Error::new(
                    crate::error::ErrorKind::Io,
                    format!("{}: no such descriptor", fetch.show(desc_name)),
                )
            },
        )?;
        let env = Envelope::parse_with(&desc, &ParseOptions { limits: *limits })
            .map_err(|e| e.with_entry(desc_name))?;
        let base = desc_name
            .rsplit_once('.')
            .map_or(desc_name, |(b, _)| b)
            .to_string();
        let mut plan = VecDeque::new();
        let mut taken: Vec<String> = vec![desc_name.to_string()];
        plan.push_back(Planned::Bytes(desc_name.to_string(), desc));
        let mut listed: Vec<String> = Vec::new();
        for ext in ["mf", "cert"] {
            let name = format!("{base}.{ext}");
            if names::check_writable_name(&name).is_err() {
                continue;
            }
            if let Some(data) = read_small(fetch.as_mut(), &name, limits.max_manifest_bytes)? {
                if ext == "mf" {
                    if let Ok(m) = Manifest::parse(&data, limits) {
                        listed = m.entries.iter().map(|e| e.name.clone()).collect();
                    }
                }
                taken.push(name.clone());
                plan.push_back(Planned::Bytes(name, data));
            }
        }
        for f in env.references() {
            // URLs and other non-plain names are the descriptor check's to report.
            if names::check_writable_name(&f.href).is_err() || taken.contains(&f.href) {
                continue;
            }
            taken.push(f.href.clone());
            plan.push_back(match f.chunk_size {
                Some(_) => Planned::Chunks(f.href.clone(), 0),
                None => Planned::File(f.href.clone(), f.size),
            });
        }
        for name in listed {
            let is_chunk = taken.iter().any(|t| {
                name.strip_prefix(t.as_str())
                    .and_then(|s| s.strip_prefix('.'))
                    .is_some_and(|d| d.len() == 9 && d.bytes().all(|b| b.is_ascii_digit()))
            });
            if is_chunk || taken.contains(&name) || names::check_writable_name(&name).is_err() {
                continue;
            }
            taken.push(name.clone());
            plan.push_back(Planned::File(name, None));
        }
        Ok(FolderStream {
            fetch,
            plan,
            out: Vec::new(),
            pos: 0,
            cur: None,
            max_chunks: limits.max_ova_entries as u64,
            ended: false,
        })
    }

    /// Queues the header of a member.
    fn header(&mut self, name: &str, size: u64) -> Result<()> {
        let h = header::encode(name, size, crate::ova::writer::source_date_epoch())?;
        self.out.extend_from_slice(&h);
        Ok(())
    }

    /// Opens a member of the plan; `false` when it is absent.
    fn start(&mut self, name: String, declared: Option<u64>) -> Result<bool> {
        let Some((size, body)) = self.fetch.open(&name)? else {
            return Ok(false);
        };
        let size = size.or(declared).ok_or_else(|| {
            Error::new(
                crate::error::ErrorKind::Io,
                format!(
                    "{}: the server gives no length and the descriptor no ovf:size",
                    self.fetch.show(&name)
                ),
            )
        })?;
        self.header(&name, size)?;
        self.cur = Some(Current {
            name,
            body,
            size,
            left: size,
        });
        Ok(true)
    }

    /// Refills `out` or `cur` from the plan; `false` at the end of the archive.
    fn advance(&mut self) -> Result<bool> {
        self.out.clear();
        self.pos = 0;
        while let Some(p) = self.plan.pop_front() {
            match p {
                Planned::Bytes(name, data) => {
                    self.header(&name, data.len() as u64)?;
                    let pad = header::padding(data.len() as u64) as usize;
                    self.out.extend_from_slice(&data);
                    self.out.resize(self.out.len() + pad, 0);
                    return Ok(true);
                }
                Planned::File(name, declared) => {
                    if self.start(name, declared)? {
                        return Ok(true);
                    }
                }
                Planned::Chunks(href, i) => {
                    if i >= self.max_chunks {
                        continue;
                    }
                    if self.start(names::chunk_name(&href, i), None)? {
                        self.plan.push_front(Planned::Chunks(href, i + 1));
                        return Ok(true);
                    }
                }
            }
        }
        if !self.ended {
            self.ended = true;
            self.out.resize(1024, 0);
            return Ok(true);
        }
        Ok(false)
    }
}

impl Read for FolderStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.pos < self.out.len() {
                let n = buf.len().min(self.out.len() - self.pos);
                buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if let Some(c) = self.cur.as_mut() {
                if c.left > 0 {
                    let want = buf.len().min(usize::try_from(c.left).unwrap_or(usize::MAX));
                    let n = c.body.read(&mut buf[..want])?;
                    if n == 0 {
                        let e = Error::corrupt(format!(
                            "{}: the source ended after {} of its {} bytes",
                            self.fetch.show(&c.name),
                            c.size - c.left,
                            c.size
                        ))
                        .with_entry(&c.name);
                        return Err(e.into());
                    }
                    c.left -= n as u64;
                    return Ok(n);
                }
                // The member is complete; more bytes than its length mean it changed meanwhile.
                let mut extra = [0u8; 1];
                if c.body.read(&mut extra)? != 0 {
                    let e = Error::corrupt(format!(
                        "{}: the source holds more than the {} bytes it announced",
                        self.fetch.show(&c.name),
                        c.size
                    ))
                    .with_entry(&c.name);
                    return Err(e.into());
                }
                let pad = header::padding(c.size) as usize;
                self.cur = None;
                self.out.clear();
                self.out.resize(pad, 0);
                self.pos = 0;
                if pad > 0 {
                    continue;
                }
            }
            if !self.advance().map_err(io::Error::from)? {
                return Ok(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OVF: &str = r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References>
    <File ovf:href="a.bin" ovf:id="f1" ovf:size="5"/>
    <File ovf:href="b.bin" ovf:id="f2" ovf:chunkSize="4"/>
    <File ovf:href="missing.bin" ovf:id="f3"/>
  </References>
</Envelope>"#;

    #[test]
    fn a_folder_streams_as_an_ova_with_chunks_in_order() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("p.ovf"), OVF).unwrap();
        std::fs::write(d.path().join("a.bin"), b"hello").unwrap();
        std::fs::write(d.path().join("b.bin.000000000"), b"abcd").unwrap();
        std::fs::write(d.path().join("b.bin.000000001"), b"ef").unwrap();
        let fetch = LocalFetch {
            dir: d.path().to_path_buf(),
        };
        let mut s = FolderStream::new(Box::new(fetch), "p.ovf", &Limits::default()).unwrap();
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).unwrap();
        let mut r = crate::ova::Reader::new(bytes.as_slice(), Limits::default());
        let mut got = Vec::new();
        while let Some(mut e) = r.next_entry().unwrap() {
            let name = e.header().name.clone();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            got.push((name, data));
        }
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["p.ovf", "a.bin", "b.bin.000000000", "b.bin.000000001"]
        );
        assert_eq!(got[3].1, b"ef");
    }

    #[test]
    fn a_file_shorter_than_announced_fails_the_stream() {
        struct Short;
        impl Fetch for Short {
            fn open(&mut self, name: &str) -> Result<Option<Opened>> {
                Ok(match name {
                    "p.ovf" => Some((None, Box::new(io::Cursor::new(OVF.as_bytes().to_vec())))),
                    "a.bin" => Some((Some(5), Box::new(io::Cursor::new(b"hel".to_vec())))),
                    _ => None,
                })
            }
            fn show(&self, name: &str) -> String {
                name.to_string()
            }
        }
        let mut s = FolderStream::new(Box::new(Short), "p.ovf", &Limits::default()).unwrap();
        let err = s.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(
            err.to_string().contains("ended after 3 of its 5 bytes"),
            "{err}"
        );
    }

    #[test]
    fn names_that_leave_the_folder_are_not_opened() {
        let d = tempfile::tempdir().unwrap();
        let ovf = OVF.replace("a.bin", "../a.bin");
        std::fs::write(d.path().join("p.ovf"), ovf).unwrap();
        std::fs::write(d.path().parent().unwrap().join("a.bin"), b"x").ok();
        let fetch = LocalFetch {
            dir: d.path().to_path_buf(),
        };
        let mut s = FolderStream::new(Box::new(fetch), "p.ovf", &Limits::default()).unwrap();
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).unwrap();
        // The descriptor names `../a.bin`; no member carries the file outside the folder.
        let mut r = crate::ova::Reader::new(bytes.as_slice(), Limits::default());
        let mut names = Vec::new();
        while let Some(e) = r.next_entry().unwrap() {
            names.push(e.header().name.clone());
        }
        assert_eq!(names, ["p.ovf"]);
    }
}
