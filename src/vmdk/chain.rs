//! Links and snapshot chains: a link is one descriptor (separate text file or embedded in a
//! sparse extent) with its extents in guest-LBA order; a chain is a link and its parents
//! (`parentFileNameHint`), read top-down: the first link that holds a range wins, ZERO and
//! zeroed grains hide the parents, unallocated ranges read through (VDF5 §"Delta links").
//!
//! # Security
//! Extent and parent names pass through [`crate::gate::resolve_in_dir`]; parent loops and chains
//! deeper than [`Limits::max_chain_depth`] are errors; `parentCID` must equal the parent's `CID`.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::disk::{DiskSource, Grain, GrainData, GRAIN_BYTES};
use crate::error::{Error, Result};
use crate::gate::resolve_in_dir;
use crate::limits::{Limits, SECTOR_SIZE};
use crate::pio::read_exact_at;
use crate::vmdk::descriptor::{Access, Descriptor, Extent, ExtentType, CID_NO_PARENT};
use crate::vmdk::extent::{ExtentRead, FlatExtent, Run, ZeroExtent};
use crate::vmdk::header::SparseHeader;
use crate::vmdk::sparse::{SparseExtent, COWD_MAGIC};

/// One extent of a link, placed in the link's address space.
#[derive(Debug)]
pub struct PlacedExtent {
    /// First byte of the extent in the link.
    pub start: u64,
    /// The descriptor line (synthesised for a bare sparse file).
    pub line: Extent,
    /// The resolved file, if any.
    pub path: Option<PathBuf>,
    /// The sparse header, for sparse extents.
    pub header: Option<SparseHeader>,
    reader: Box<dyn ExtentRead>,
}

/// One link of a chain: a descriptor and its open extents.
#[derive(Debug)]
pub struct Link {
    /// The file opened (text descriptor or sparse file with an embedded descriptor).
    pub path: PathBuf,
    /// The descriptor (absent for a bare sparse extent without an embedded one).
    pub descriptor: Option<Descriptor>,
    /// The header of the file itself when it is a sparse extent.
    pub header: Option<SparseHeader>,
    /// Extents in guest-LBA order.
    pub extents: Vec<PlacedExtent>,
    /// Capacity in bytes.
    pub capacity_bytes: u64,
    hint: Option<(u64, Option<u64>)>,
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

impl Link {
    /// Opens one link (no parents).
    ///
    /// # Errors
    /// Corrupt headers/descriptors, unsafe extent names, capacity disagreements, I/O errors;
    /// [`crate::ErrorKind::Unsupported`] for streamOptimized text descriptors and seSparse
    /// extents.
    ///
    /// # Security
    /// `path` is trusted; everything it names is checked.
    pub fn open(path: &Path, limits: &Limits) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io("cannot open", e).with_path(path))?;
        let file_len = file
            .metadata()
            .map_err(|e| Error::io("cannot stat", e).with_path(path))?
            .len();
        let mut head = [0u8; 512];
        let n = (file_len.min(512)) as usize;
        read_exact_at(&file, path, 0, &mut head[..n])?;
        if n >= 4 && &head[..4] == b"KDMV" {
            return Self::open_sparse_file(path, limits);
        }
        if n >= 4 && &head[..4] == COWD_MAGIC {
            return Err(
                Error::unsupported("ESXi COWD (vmfsSparse) extents are not supported yet")
                    .with_path(path),
            );
        }
        if file_len > limits.max_vmdk_descriptor_bytes {
            return Err(Error::limit(
                "VMDK descriptor file size in bytes (not a sparse extent either)",
                file_len,
                limits.max_vmdk_descriptor_bytes,
            )
            .with_path(path));
        }
        let mut text = vec![0u8; file_len as usize];
        read_exact_at(&file, path, 0, &mut text)?;
        let descriptor = Descriptor::parse(&text, limits).map_err(|e| e.with_path(path))?;
        if descriptor.create_type == crate::vmdk::descriptor::CreateType::StreamOptimized {
            return Err(
                Error::unsupported("streamOptimized descriptor: read it with open_disk")
                    .with_path(path),
            );
        }
        let dir = dir_of(path);
        let mut extents = Vec::with_capacity(descriptor.extents.len());
        let mut start = 0u64;
        for (i, line) in descriptor.extents.iter().enumerate() {
            let len = line.size_bytes().ok_or_else(|| {
                Error::corrupt(format!("extent {} size overflows", i + 1)).with_path(path)
            })?;
            let mut ext_path = None;
            let mut header = None;
            let reader: Box<dyn ExtentRead> =
                if line.kind == ExtentType::Zero || line.access == Access::NoAccess {
                    Box::new(ZeroExtent::new(len))
                } else {
                    let name = line.file_name.as_deref().unwrap_or("");
                    let p = resolve_in_dir(dir, name).map_err(|e| e.with_path(path))?;
                    ext_path = Some(p.clone());
                    match line.kind {
                        k if k.is_flat() => {
                            let base = line
                                .offset_sectors
                                .unwrap_or(0)
                                .checked_mul(SECTOR_SIZE)
                                .ok_or_else(|| {
                                    Error::corrupt("extent offset overflows").with_path(path)
                                })?;
                            Box::new(FlatExtent::open(&p, base, len)?)
                        }
                        ExtentType::Sparse | ExtentType::VmfsSparse => {
                            let s = SparseExtent::open(&p, limits)?;
                            if s.header().capacity_sectors != line.size_sectors {
                                return Err(Error::corrupt(format!(
                                    "sparse extent capacity disagrees with the descriptor: \
                                     descriptor says {} sectors, header says {}",
                                    line.size_sectors,
                                    s.header().capacity_sectors
                                ))
                                .with_path(&p)
                                .with_offset(12));
                            }
                            header = Some(*s.header());
                            Box::new(s)
                        }
                        other => {
                            return Err(Error::unsupported(format!(
                                "{} extents are not supported yet",
                                other.as_str()
                            ))
                            .with_path(&p))
                        }
                    }
                };
            extents.push(PlacedExtent {
                start,
                line: line.clone(),
                path: ext_path,
                header,
                reader,
            });
            start = start
                .checked_add(len)
                .ok_or_else(|| Error::corrupt("disk capacity overflows").with_path(path))?;
        }
        Ok(Link {
            path: path.to_path_buf(),
            descriptor: Some(descriptor),
            header: None,
            extents,
            capacity_bytes: start,
            hint: None,
        })
    }

    fn open_sparse_file(path: &Path, limits: &Limits) -> Result<Self> {
        let sparse = SparseExtent::open(path, limits)?;
        let header = *sparse.header();
        let kind = if sparse.is_cowd() {
            ExtentType::VmfsSparse
        } else {
            ExtentType::Sparse
        };
        let descriptor = match sparse.embedded_descriptor(limits)? {
            Some(bytes) => Some(Descriptor::parse(&bytes, limits).map_err(|e| {
                e.with_path(path)
                    .with_offset(header.descriptor_offset_sectors * SECTOR_SIZE)
            })?),
            None => None,
        };
        if let Some(d) = &descriptor {
            if d.capacity_sectors() != header.capacity_sectors {
                return Err(Error::corrupt(format!(
                    "capacity disagrees: embedded descriptor says {} sectors, header says {}",
                    d.capacity_sectors(),
                    header.capacity_sectors
                ))
                .with_path(path)
                .with_offset(12));
            }
        }
        // The extent is this file whatever name the embedded descriptor gives it (files get
        // renamed); QEMU does the same.
        let line = descriptor
            .as_ref()
            .and_then(|d| d.extents.first().cloned())
            .unwrap_or(Extent {
                access: Access::ReadWrite,
                size_sectors: header.capacity_sectors,
                kind,
                file_name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
                offset_sectors: None,
                extra: Vec::new(),
            });
        let capacity_bytes = sparse.capacity_bytes();
        Ok(Link {
            path: path.to_path_buf(),
            descriptor,
            header: Some(header),
            extents: vec![PlacedExtent {
                start: 0,
                line,
                path: Some(path.to_path_buf()),
                header: Some(header),
                reader: Box::new(sparse),
            }],
            capacity_bytes,
            hint: None,
        })
    }

    /// `CID` of the link ([`CID_NO_PARENT`] when unknown).
    pub fn cid(&self) -> u32 {
        self.descriptor.as_ref().map_or(CID_NO_PARENT, |d| d.cid)
    }

    /// Counts the bytes stored in this link's extents: data grains for sparse extents, the
    /// allocated blocks of flat extent files.
    ///
    /// # Errors
    /// As reading grain tables.
    pub fn allocated_bytes(&mut self) -> Result<u64> {
        let mut total = 0u64;
        for e in &mut self.extents {
            total = total.saturating_add(e.reader.stored_bytes()?);
        }
        Ok(total)
    }

    fn extent_index(&self, offset: u64) -> Option<usize> {
        let i = self.extents.partition_point(|e| e.start <= offset);
        i.checked_sub(1)
            .filter(|&i| offset - self.extents[i].start < self.extents[i].reader.len_bytes())
    }

    fn map(&mut self, offset: u64, max_len: u64) -> Result<(Run, u64, usize)> {
        match self.extent_index(offset) {
            // Beyond the link (a parent smaller than its child): zeros.
            None => Ok((Run::Zero, max_len, 0)),
            Some(i) => {
                let e = &mut self.extents[i];
                let rel = offset - e.start;
                let (run, n) = e.reader.map(rel, max_len)?;
                Ok((run, n.min(max_len).max(1), i))
            }
        }
    }

    fn next_data(&mut self, offset: u64) -> Result<Option<u64>> {
        if let Some((from, ans)) = self.hint {
            if from <= offset && ans.is_none_or(|a| a >= offset) {
                return Ok(ans);
            }
        }
        let mut ans = None;
        let mut i = self.extent_index(offset);
        while let Some(idx) = i {
            let e = &mut self.extents[idx];
            let rel = offset.saturating_sub(e.start);
            if let Some(d) = e.reader.next_data(rel)? {
                ans = Some(e.start + d);
                break;
            }
            i = (idx + 1 < self.extents.len()).then_some(idx + 1);
        }
        self.hint = Some((offset, ans));
        Ok(ans)
    }
}

/// A snapshot chain (top link first) read as one [`DiskSource`].
#[derive(Debug)]
pub struct ChainSource {
    links: Vec<Link>,
    capacity_bytes: u64,
    pos: u64,
}

impl ChainSource {
    /// Opens `path` and follows its parents.
    ///
    /// # Errors
    /// As [`Link::open`]; [`crate::ErrorKind::Corrupt`] for a parent loop or a `parentCID` that is not
    /// the parent's `CID`; [`crate::ErrorKind::LimitExceeded`] beyond [`Limits::max_chain_depth`];
    /// [`crate::ErrorKind::UnsafePath`] for a parent hint leaving the folder.
    ///
    /// # Security
    /// See the module documentation.
    pub fn open(path: &Path, limits: &Limits) -> Result<Self> {
        let mut links: Vec<Link> = Vec::new();
        let mut seen = HashSet::new();
        let mut cur = path.to_path_buf();
        loop {
            let canon = cur
                .canonicalize()
                .map_err(|e| Error::io("cannot open", e).with_path(&cur))?;
            if !seen.insert(canon) {
                return Err(Error::corrupt(
                    "snapshot chain loops: a parent is already part of the chain",
                )
                .with_path(&cur));
            }
            if links.len() >= limits.max_chain_depth {
                return Err(Error::limit(
                    "snapshot chain depth",
                    links.len() as u64 + 1,
                    limits.max_chain_depth as u64,
                )
                .with_path(&cur));
            }
            let link = Link::open(&cur, limits)?;
            if let Some(child) = links.last() {
                let want = child
                    .descriptor
                    .as_ref()
                    .map_or(CID_NO_PARENT, |d| d.parent_cid);
                if want != CID_NO_PARENT && link.cid() != want {
                    return Err(Error::corrupt(format!(
                        "parentCID mismatch: expected the parent's CID {:08x}, found parentCID {want:08x}",
                        link.cid()
                    ))
                    .with_path(&child.path));
                }
            }
            let parent = link
                .descriptor
                .as_ref()
                .filter(|d| d.has_parent())
                .map(|d| d.parent_file_name_hint.clone());
            let dir = dir_of(&cur).to_path_buf();
            let link_path = link.path.clone();
            links.push(link);
            match parent {
                None => break,
                Some(None) => {
                    return Err(Error::corrupt(
                        "delta link has a parentCID but no parentFileNameHint",
                    )
                    .with_path(&link_path))
                }
                Some(Some(hint)) => {
                    cur = resolve_in_dir(&dir, &hint).map_err(|e| e.with_path(&link_path))?;
                }
            }
        }
        let capacity_bytes = links.first().map_or(0, |l| l.capacity_bytes);
        Ok(ChainSource {
            links,
            capacity_bytes,
            pos: 0,
        })
    }

    /// The links, top first.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The links, top first, mutable (for reports that read tables).
    pub fn links_mut(&mut self) -> &mut [Link] {
        &mut self.links
    }

    /// Fills `buf` (zeroed by the caller) with the bytes at `offset` as seen from link `level`;
    /// returns whether any stored data was found.
    fn resolve(&mut self, level: usize, offset: u64, buf: &mut [u8]) -> Result<bool> {
        let mut any = false;
        let mut done = 0usize;
        while done < buf.len() {
            let want = (buf.len() - done) as u64;
            let (run, n, idx) = self.links[level].map(offset + done as u64, want)?;
            let n = n.min(want) as usize;
            let slice = &mut buf[done..done + n];
            match run {
                Run::Data(fo) => {
                    self.links[level].extents[idx].reader.read_at(fo, slice)?;
                    any = true;
                }
                Run::Zero => {}
                Run::Unallocated => {
                    if level + 1 < self.links.len() {
                        any |= self.resolve(level + 1, offset + done as u64, slice)?;
                    }
                }
            }
            done += n;
        }
        Ok(any)
    }
}

impl DiskSource for ChainSource {
    fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }

    fn files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for l in &self.links {
            out.push(l.path.clone());
            out.extend(l.extents.iter().filter_map(|e| e.path.clone()));
        }
        out
    }

    fn next_grain(&mut self) -> Result<Option<Grain>> {
        loop {
            if self.pos >= self.capacity_bytes {
                return Ok(None);
            }
            let mut next: Option<u64> = None;
            for l in &mut self.links {
                if let Some(d) = l.next_data(self.pos)? {
                    next = Some(next.map_or(d, |n: u64| n.min(d)));
                }
            }
            let Some(next) = next.filter(|&n| n < self.capacity_bytes) else {
                self.pos = self.capacity_bytes;
                return Ok(None);
            };
            let start = (next / GRAIN_BYTES * GRAIN_BYTES).max(self.pos);
            let len = GRAIN_BYTES.min(self.capacity_bytes - start);
            let mut buf = vec![0u8; len as usize];
            let any = self.resolve(0, start, &mut buf)?;
            self.pos = start + len;
            if any {
                return Ok(Some(Grain {
                    offset: start,
                    len: len as u32,
                    data: GrainData::Raw(buf),
                }));
            }
        }
    }
}
