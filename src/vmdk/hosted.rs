//! Hosted and vSphere VMDK layouts: every VMDK that is not streamOptimized, as a
//! [`DiskSource`], and the sinks for the hosted (monolithic/split, sparse/flat) and vSphere
//! (thin, lazy-zeroed thick, eager-zeroed thick) layouts.
//!
//! * [`open_chain`]: a text descriptor of any createType (extents FLAT/SPARSE/ZERO/VMFS/VMFSSPARSE,
//!   RW/RDONLY/NOACCESS, many extents), a monolithicSparse file with an embedded descriptor, or
//!   a bare sparse (KDMV v1–3, COWD) extent; delta links read through to their parents.
//! * [`create_hosted_sink`]: one of the [`HostedLayout`]s; files are named as VMware names them
//!   (`d.vmdk`, `d-flat.vmdk`, `d-s001.vmdk`, `d-f001.vmdk`), written under temporary names and
//!   renamed in [`DiskSink::finish`].
//! * [`inspect`]: what `ovftool-rs info <DISK>` shows.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::disk::{DiskSink, DiskSource};
use crate::error::{Error, Result};
use crate::limits::{Limits, SECTOR_SIZE};
use crate::vmdk::descriptor::{
    format_ddb_uuid, Access, CreateType, Descriptor, Extent, ExtentType,
};
use crate::vmdk::header::{SparseHeader, GD_AT_END};

pub use crate::vmdk::chain::{ChainSource, Link};
pub use crate::vmdk::flat::{Allocation, FlatSink};
pub use crate::vmdk::sparse::SparseExtent;
pub use crate::vmdk::sparse_writer::{SparseLayout, SparseSink};

/// Size of each extent of the twoGbMaxExtent layouts: 2047 MiB (4192256 sectors), what VMware
/// writes (VDF5 p.3); a multiple of the 64 KiB grain.
pub const SPLIT_EXTENT_BYTES: u64 = 4_192_256 * SECTOR_SIZE;

/// Opens any VMDK that is not streamOptimized, following its snapshot chain. (A streamOptimized
/// file is read too, at random through its grain tables, so a chain may sit on one; sequential
/// and non-seekable reading of streamOptimized is `vmdk::stream`'s job.)
///
/// # Errors
/// Corrupt or truncated files, capacity disagreements, parent loops, `parentCID` mismatches
/// and unsafe extent or parent names, each naming the file (and offset or line);
/// [`crate::ErrorKind::Unsupported`] for seSparse extents.
///
/// # Security
/// Every extent and parent name passes through [`crate::gate::resolve_in_dir`]; sizes are
/// checked against `limits` and the file sizes.
pub fn open_chain(path: &Path, limits: &Limits) -> Result<Box<dyn DiskSource>> {
    Ok(Box::new(ChainSource::open(path, limits)?))
}

/// The layouts [`crate::vmdk::layout::create_sink`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostedLayout {
    /// One growable sparse file with the descriptor embedded (Workstation "single file").
    MonolithicSparse,
    /// `twoGbMaxExtentSparse`: a descriptor plus `-s001.vmdk`... sparse extents.
    TwoGbSparse,
    /// `monolithicFlat`: a descriptor plus one preallocated `-flat.vmdk`.
    MonolithicFlat,
    /// `twoGbMaxExtentFlat`: a descriptor plus `-f001.vmdk`... preallocated extents.
    TwoGbFlat,
    /// vSphere thin: `createType="vmfs"`, `ddb.thinProvisioned = "1"`, a sparse `-flat.vmdk`.
    Thin,
    /// vSphere lazy-zeroed thick: `createType="vmfs"`, `-flat.vmdk` fully allocated up front.
    Thick,
    /// vSphere eager-zeroed thick: `createType="vmfs"`, every block of `-flat.vmdk` written.
    EagerZeroedThick,
}

impl HostedLayout {
    /// The createType written in the descriptor.
    pub fn create_type(self) -> CreateType {
        match self {
            HostedLayout::MonolithicSparse => CreateType::MonolithicSparse,
            HostedLayout::TwoGbSparse => CreateType::TwoGbMaxExtentSparse,
            HostedLayout::MonolithicFlat => CreateType::MonolithicFlat,
            HostedLayout::TwoGbFlat => CreateType::TwoGbMaxExtentFlat,
            // ESXi writes "vmfs" for all three provisioning types (docs/FORMATS.md §4), and QEMU
            // reads only that one of the vmfs* family.
            HostedLayout::Thin | HostedLayout::Thick | HostedLayout::EagerZeroedThick => {
                CreateType::Vmfs
            }
        }
    }
}

impl fmt::Display for HostedLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostedLayout::MonolithicSparse => "monolithic-sparse",
            HostedLayout::TwoGbSparse => "two-gb-sparse",
            HostedLayout::MonolithicFlat => "monolithic-flat",
            HostedLayout::TwoGbFlat => "two-gb-flat",
            HostedLayout::Thin => "thin",
            HostedLayout::Thick => "thick",
            HostedLayout::EagerZeroedThick => "eager-zeroed-thick",
        })
    }
}

pub use crate::disk::SinkOptions;

fn extent_line(size_sectors: u64, kind: ExtentType, name: &str, flat: bool) -> Extent {
    Extent {
        access: Access::ReadWrite,
        size_sectors,
        kind,
        file_name: Some(name.to_string()),
        offset_sectors: flat.then_some(0),
        extra: Vec::new(),
    }
}

/// Splits `capacity_bytes` into extents of at most `max` bytes.
fn split(capacity_bytes: u64, max: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut left = capacity_bytes;
    while left > 0 {
        let n = left.min(max);
        out.push(n);
        left -= n;
    }
    if out.is_empty() {
        out.push(0);
    }
    out
}

/// One extent file a hosted layout writes.
struct ExtentFile {
    /// Name as written in the descriptor.
    file_name: String,
    /// The file beside the descriptor.
    path: PathBuf,
    len_bytes: u64,
    kind: ExtentType,
    /// Whether the extent line carries an offset (FLAT extents).
    flat: bool,
}

/// The extent files of `layout` for a descriptor at `path` and a disk of `capacity_bytes`
/// (whole sectors), named as VMware names them: `d.vmdk` itself (monolithicSparse),
/// `d-flat.vmdk`, `d-s001.vmdk`..., `d-f001.vmdk`....
fn extent_files(path: &Path, layout: HostedLayout, capacity_bytes: u64) -> Result<Vec<ExtentFile>> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::usage("output path has no UTF-8 file name").with_path(path))?;
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (name.to_string(), String::new()),
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let sizes = match layout {
        HostedLayout::TwoGbSparse | HostedLayout::TwoGbFlat => {
            split(capacity_bytes, SPLIT_EXTENT_BYTES)
        }
        _ => vec![capacity_bytes],
    };
    let mut out = Vec::with_capacity(sizes.len());
    for (i, &len_bytes) in sizes.iter().enumerate() {
        let (file_name, kind, flat) = match layout {
            HostedLayout::MonolithicSparse => (name.to_string(), ExtentType::Sparse, false),
            HostedLayout::TwoGbSparse => (
                format!("{stem}-s{:03}{ext}", i + 1),
                ExtentType::Sparse,
                false,
            ),
            HostedLayout::MonolithicFlat => (format!("{stem}-flat{ext}"), ExtentType::Flat, true),
            HostedLayout::TwoGbFlat => {
                (format!("{stem}-f{:03}{ext}", i + 1), ExtentType::Flat, true)
            }
            HostedLayout::Thin | HostedLayout::Thick | HostedLayout::EagerZeroedThick => {
                (format!("{stem}-flat{ext}"), ExtentType::Vmfs, false)
            }
        };
        out.push(ExtentFile {
            path: dir.join(&file_name),
            file_name,
            len_bytes,
            kind,
            flat,
        });
    }
    Ok(out)
}

/// Every file [`create_hosted_sink`] writes for `layout` at `path` and a disk of `capacity_bytes`:
/// the descriptor first, then the extents (the descriptor itself for monolithicSparse).
///
/// # Errors
/// [`crate::ErrorKind::Usage`] for a path without a UTF-8 file name or a capacity that
/// overflows when rounded up to whole sectors.
pub fn output_files(
    path: &Path,
    layout: HostedLayout,
    capacity_bytes: u64,
) -> Result<Vec<PathBuf>> {
    let capacity_bytes = capacity_bytes
        .checked_next_multiple_of(SECTOR_SIZE)
        .ok_or_else(|| Error::usage("capacity overflows"))?;
    let mut out = vec![path.to_path_buf()];
    for f in extent_files(path, layout, capacity_bytes)? {
        if f.path != path {
            out.push(f.path);
        }
    }
    Ok(out)
}

/// Creates a sink writing `layout` at `path` (the descriptor, `d.vmdk`); the extents are named
/// after it in the same folder.
///
/// A capacity that is not a multiple of 512 is rounded up to whole sectors.
///
/// # Errors
/// [`crate::ErrorKind::AlreadyExists`] when any output exists and not `opts.force`;
/// [`crate::ErrorKind::Usage`] for a path without a file name or a sparse extent beyond 32-bit
/// offsets; I/O errors (including no space while preallocating thick disks).
pub fn create_hosted_sink(
    path: &Path,
    layout: HostedLayout,
    capacity_bytes: u64,
    opts: &SinkOptions,
) -> Result<Box<dyn DiskSink>> {
    let capacity_bytes = capacity_bytes
        .checked_next_multiple_of(SECTOR_SIZE)
        .ok_or_else(|| Error::usage("capacity overflows"))?;
    let mut d = Descriptor::new(layout.create_type(), opts.derive_cid(capacity_bytes));
    let mut files: Vec<(PathBuf, u64)> = Vec::new();
    for f in extent_files(path, layout, capacity_bytes)? {
        d.extents.push(extent_line(
            f.len_bytes / SECTOR_SIZE,
            f.kind,
            &f.file_name,
            f.flat,
        ));
        files.push((f.path, f.len_bytes));
    }
    d.ddb_set("ddb.virtualHWVersion", opts.hw_version.to_string());
    d.ddb_set(
        "ddb.uuid",
        format_ddb_uuid(&opts.derive_id("ddb.uuid", capacity_bytes)),
    );
    d.set_geometry(opts.adapter_type);
    if layout == HostedLayout::Thin {
        d.ddb_set("ddb.thinProvisioned", "1");
    }
    match layout {
        HostedLayout::MonolithicSparse => {
            let text = d.to_text().into_bytes();
            Ok(Box::new(SparseSink::create(
                None,
                vec![(path.to_path_buf(), capacity_bytes, Some(text))],
                opts.force,
            )?))
        }
        HostedLayout::TwoGbSparse => Ok(Box::new(SparseSink::create(
            Some((path, d.to_text())),
            files.into_iter().map(|(p, l)| (p, l, None)).collect(),
            opts.force,
        )?)),
        _ => {
            let alloc = match layout {
                HostedLayout::Thin => Allocation::Sparse,
                HostedLayout::EagerZeroedThick => Allocation::EagerZero,
                _ => Allocation::Preallocate,
            };
            Ok(Box::new(FlatSink::create(
                path, &d, &files, alloc, opts.force,
            )?))
        }
    }
}

/// Header fields of a sparse extent, for reports: the decoded header itself (one struct, one
/// set of field names in `--json`).
pub type HeaderInfo = SparseHeader;

/// One extent, for reports.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExtentInfo {
    /// `RW`, `RDONLY` or `NOACCESS`.
    pub access: String,
    /// `FLAT`, `SPARSE`, `ZERO`, `VMFS`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Size in sectors.
    pub size_sectors: u64,
    /// File name as written in the descriptor.
    pub file: Option<String>,
    /// Offset in sectors (flat extents).
    pub offset_sectors: Option<u64>,
    /// Sparse header of the extent file.
    pub header: Option<HeaderInfo>,
}

/// One link of a chain, for reports.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LinkInfo {
    /// The file.
    #[serde(serialize_with = "crate::json_path::serialize")]
    pub path: PathBuf,
    /// `createType`.
    pub create_type: Option<String>,
    /// `CID` (8 hex digits).
    pub cid: Option<String>,
    /// `parentCID` (8 hex digits; `ffffffff` = none).
    pub parent_cid: Option<String>,
    /// `parentFileNameHint`.
    pub parent_file_name_hint: Option<String>,
    /// Capacity in bytes.
    pub capacity_bytes: u64,
    /// Bytes stored by this link (data grains / allocated blocks).
    pub allocated_bytes: u64,
    /// Extents.
    pub extents: Vec<ExtentInfo>,
    /// Disk database entries, in order.
    pub ddb: Vec<DdbEntry>,
}

/// One `ddb.<key> = "<value>"` line.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DdbEntry {
    /// The key as written (`ddb.adapterType`).
    pub key: String,
    /// The value, unquoted.
    pub value: String,
}

fn ddb_entries(d: Option<&Descriptor>) -> Vec<DdbEntry> {
    d.map(|d| {
        d.ddb
            .iter()
            .map(|(k, v)| DdbEntry {
                key: k.clone(),
                value: v.clone(),
            })
            .collect()
    })
    .unwrap_or_default()
}

fn extent_infos(d: Option<&Descriptor>, header: Option<&SparseHeader>) -> Vec<ExtentInfo> {
    d.map(|d| {
        d.extents
            .iter()
            .map(|e| ExtentInfo {
                access: e.access.as_str().to_string(),
                kind: e.kind.as_str().to_string(),
                size_sectors: e.size_sectors,
                file: e.file_name.clone(),
                offset_sectors: e.offset_sectors,
                header: header.copied(),
            })
            .collect()
    })
    .unwrap_or_default()
}

/// What `info <DISK>` shows about a VMDK (not streamOptimized) and its chain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DiskInfo {
    /// The file opened.
    #[serde(serialize_with = "crate::json_path::serialize")]
    pub path: PathBuf,
    /// Always `"vmdk"` here (the CLI reports raw images with `"raw"`).
    pub format: String,
    /// `createType` of the top link (`null` for a bare sparse extent).
    pub create_type: Option<String>,
    /// The layout name (`monolithicSparse`, `vmfs-thin`, ...).
    pub layout: String,
    /// Virtual size in bytes.
    pub capacity_bytes: u64,
    /// Bytes stored by the whole chain.
    pub allocated_bytes: u64,
    /// Grain size in bytes of the top link's first sparse extent.
    pub grain_bytes: Option<u64>,
    /// Header of the file itself when it is a sparse extent.
    pub header: Option<HeaderInfo>,
    /// The links, top first (one for a disk without snapshots).
    pub chain: Vec<LinkInfo>,
}

/// Reads what `info <DISK>` shows about a VMDK that is not streamOptimized.
///
/// # Errors
/// As [`open_chain`].
///
/// # Security
/// As [`open_chain`].
pub fn inspect(path: &Path, limits: &Limits) -> Result<DiskInfo> {
    if let Some(info) = inspect_stream(path, limits)? {
        return Ok(info);
    }
    let mut chain = ChainSource::open(path, limits)?;
    let mut links = Vec::new();
    for link in chain.links_mut() {
        let allocated_bytes = link.allocated_bytes()?;
        let d = link.descriptor.as_ref();
        links.push(LinkInfo {
            path: link.path.clone(),
            create_type: d.map(|d| d.create_type.to_string()),
            cid: d.map(|d| format!("{:08x}", d.cid)),
            parent_cid: d.map(|d| format!("{:08x}", d.parent_cid)),
            parent_file_name_hint: d.and_then(|d| d.parent_file_name_hint.clone()),
            capacity_bytes: link.capacity_bytes,
            allocated_bytes,
            extents: link
                .extents
                .iter()
                .map(|e| ExtentInfo {
                    access: e.line.access.as_str().to_string(),
                    kind: e.line.kind.as_str().to_string(),
                    size_sectors: e.line.size_sectors,
                    file: e.line.file_name.clone(),
                    offset_sectors: e.line.offset_sectors,
                    header: e.header,
                })
                .collect(),
            ddb: ddb_entries(d),
        });
    }
    let top = &chain.links()[0];
    let create_type = top.descriptor.as_ref().map(|d| d.create_type.to_string());
    let layout = match top.descriptor.as_ref() {
        Some(d) if d.create_type == CreateType::Vmfs && d.is_thin_provisioned() => {
            "vmfs-thin".to_string()
        }
        Some(d) => d.create_type.to_string(),
        None => "sparse-extent".to_string(),
    };
    Ok(DiskInfo {
        path: path.to_path_buf(),
        format: "vmdk".to_string(),
        create_type,
        layout,
        capacity_bytes: top.capacity_bytes,
        allocated_bytes: links.iter().map(|l| l.allocated_bytes).sum(),
        grain_bytes: top
            .extents
            .iter()
            .find_map(|e| e.header.map(|h| h.grain_bytes())),
        header: top.header,
        chain: links,
    })
}

/// The header, footer and embedded descriptor of a streamOptimized (compressed) sparse file;
/// `None` when `path` is not one.
fn inspect_stream(path: &Path, limits: &Limits) -> Result<Option<DiskInfo>> {
    use crate::pio::read_exact_at;
    use crate::vmdk::sparse::read_embedded_descriptor;
    let file =
        std::fs::File::open(path).map_err(|e| Error::io("cannot open", e).with_path(path))?;
    let file_len = file
        .metadata()
        .map_err(|e| Error::io("cannot stat", e).with_path(path))?
        .len();
    if file_len < 512 {
        return Ok(None);
    }
    let mut hb = [0u8; 512];
    read_exact_at(&file, path, 0, &mut hb)?;
    if &hb[..4] != b"KDMV" {
        return Ok(None);
    }
    let mut header = SparseHeader::parse(&hb).map_err(|e| e.with_path(path))?;
    if !header.is_compressed() {
        return Ok(None);
    }
    // VDF5 §streamOptimized: with GD_AT_END the footer (at end - 1024) holds the real values
    // and takes precedence.
    if header.gd_offset_sectors == GD_AT_END && file_len >= 1536 {
        let mut fb = [0u8; 512];
        read_exact_at(&file, path, file_len - 1024, &mut fb)?;
        if let Ok(footer) = SparseHeader::parse(&fb) {
            header = footer;
        }
    }
    let descriptor = match read_embedded_descriptor(&file, path, file_len, &header, limits)? {
        Some(b) => Some(Descriptor::parse(&b, limits).map_err(|e| e.with_path(path))?),
        None => None,
    };
    let capacity_bytes = header.capacity_sectors.saturating_mul(SECTOR_SIZE);
    let d = descriptor.as_ref();
    let link = LinkInfo {
        path: path.to_path_buf(),
        create_type: d.map(|d| d.create_type.to_string()),
        cid: d.map(|d| format!("{:08x}", d.cid)),
        parent_cid: d.map(|d| format!("{:08x}", d.parent_cid)),
        parent_file_name_hint: d.and_then(|d| d.parent_file_name_hint.clone()),
        capacity_bytes,
        allocated_bytes: file_len,
        extents: extent_infos(d, Some(&header)),
        ddb: ddb_entries(d),
    };
    Ok(Some(DiskInfo {
        path: path.to_path_buf(),
        format: "vmdk".to_string(),
        create_type: link.create_type.clone(),
        layout: "streamOptimized".to_string(),
        capacity_bytes,
        allocated_bytes: file_len,
        grain_bytes: Some(header.grain_bytes()),
        header: Some(header),
        chain: vec![link],
    }))
}
