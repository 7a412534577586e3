//! The VMDK text descriptor: parse (tolerant of case, CRLF, comments, quoting) and write (the
//! canonical layout VMware and QEMU emit) (VDF5 §"The Descriptor File"; docs/FORMATS.md §1).
//!
//! A descriptor has three parts: header keys (`version`, `CID`, `parentCID`, `createType`,
//! `parentFileNameHint`, ...), extent lines (`RW 2048 SPARSE "d.vmdk"`) and the disk database
//! (`ddb.<key> = "<value>"`). Unknown header and ddb keys are kept, in order, and written back.
//!
//! # Security
//! The text is untrusted: its size is bounded by [`Limits::max_vmdk_descriptor_bytes`], the
//! number of extents by [`Limits::max_extents`], every size is checked against
//! [`Limits::max_disk_capacity_bytes`] with checked arithmetic. Extent file names are returned
//! as written; callers must pass them through [`crate::gate::resolve_in_dir`].

use std::fmt::{self, Write as _};

use crate::error::{Error, Result};
use crate::limits::{Limits, SECTOR_SIZE};
use crate::vm::AdapterType;
use crate::vmdk::geometry::Geometry;

/// `parentCID` value meaning "no parent" (VDF5).
pub const CID_NO_PARENT: u32 = 0xffff_ffff;

/// The `createType` of a descriptor (VDF5 p.3–4; docs/FORMATS.md §1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateType {
    /// `monolithicSparse`: one growable sparse extent with the descriptor embedded.
    MonolithicSparse,
    /// `monolithicFlat`: a descriptor plus one preallocated flat extent.
    MonolithicFlat,
    /// `twoGbMaxExtentSparse` (also spelled `2GbMaxExtentSparse`).
    TwoGbMaxExtentSparse,
    /// `twoGbMaxExtentFlat` (also spelled `2GbMaxExtentFlat`).
    TwoGbMaxExtentFlat,
    /// `streamOptimized`.
    StreamOptimized,
    /// `vmfs`: ESXi flat disk (thin when `ddb.thinProvisioned = "1"`).
    Vmfs,
    /// `vmfsThin`.
    VmfsThin,
    /// `vmfsPreallocated` (lazy-zeroed thick).
    VmfsPreallocated,
    /// `vmfsEagerZeroedThick`.
    VmfsEagerZeroedThick,
    /// `vmfsThick` (deprecated, non-zeroed).
    VmfsThick,
    /// `vmfsSparse`: ESXi COWD redo log.
    VmfsSparse,
    /// `seSparse` / `vmfsSeSparse`.
    SeSparse,
    /// `vmfsRDM` / `vmfsRawDeviceMap`.
    VmfsRdm,
    /// `vmfsRDMP` / `vmfsPassthroughRawDeviceMap`.
    VmfsRdmp,
    /// `vmfsRaw`.
    VmfsRaw,
    /// `fullDevice`.
    FullDevice,
    /// `partitionedDevice`.
    PartitionedDevice,
    /// `custom`.
    Custom,
    /// Anything else, as written.
    Other(String),
}

impl CreateType {
    /// Parses a `createType` value, case-insensitively, accepting the `2Gb` spellings.
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "monolithicsparse" => CreateType::MonolithicSparse,
            "monolithicflat" => CreateType::MonolithicFlat,
            "twogbmaxextentsparse" | "2gbmaxextentsparse" => CreateType::TwoGbMaxExtentSparse,
            "twogbmaxextentflat" | "2gbmaxextentflat" => CreateType::TwoGbMaxExtentFlat,
            "streamoptimized" => CreateType::StreamOptimized,
            "vmfs" => CreateType::Vmfs,
            "vmfsthin" => CreateType::VmfsThin,
            "vmfspreallocated" => CreateType::VmfsPreallocated,
            "vmfseagerzeroedthick" => CreateType::VmfsEagerZeroedThick,
            "vmfsthick" => CreateType::VmfsThick,
            "vmfssparse" => CreateType::VmfsSparse,
            "sesparse" | "vmfssesparse" => CreateType::SeSparse,
            "vmfsrdm" | "vmfsrawdevicemap" => CreateType::VmfsRdm,
            "vmfsrdmp" | "vmfspassthroughrawdevicemap" => CreateType::VmfsRdmp,
            "vmfsraw" => CreateType::VmfsRaw,
            "fulldevice" => CreateType::FullDevice,
            "partitioneddevice" => CreateType::PartitionedDevice,
            "custom" => CreateType::Custom,
            _ => CreateType::Other(s.to_string()),
        }
    }

    /// The canonical spelling.
    pub fn as_str(&self) -> &str {
        match self {
            CreateType::MonolithicSparse => "monolithicSparse",
            CreateType::MonolithicFlat => "monolithicFlat",
            CreateType::TwoGbMaxExtentSparse => "twoGbMaxExtentSparse",
            CreateType::TwoGbMaxExtentFlat => "twoGbMaxExtentFlat",
            CreateType::StreamOptimized => "streamOptimized",
            CreateType::Vmfs => "vmfs",
            CreateType::VmfsThin => "vmfsThin",
            CreateType::VmfsPreallocated => "vmfsPreallocated",
            CreateType::VmfsEagerZeroedThick => "vmfsEagerZeroedThick",
            CreateType::VmfsThick => "vmfsThick",
            CreateType::VmfsSparse => "vmfsSparse",
            CreateType::SeSparse => "seSparse",
            CreateType::VmfsRdm => "vmfsRDM",
            CreateType::VmfsRdmp => "vmfsRDMP",
            CreateType::VmfsRaw => "vmfsRaw",
            CreateType::FullDevice => "fullDevice",
            CreateType::PartitionedDevice => "partitionedDevice",
            CreateType::Custom => "custom",
            CreateType::Other(s) => s,
        }
    }
}

impl fmt::Display for CreateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Access mode of an extent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `RW`
    ReadWrite,
    /// `RDONLY`
    ReadOnly,
    /// `NOACCESS`
    NoAccess,
}

impl Access {
    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "RW" => Some(Access::ReadWrite),
            "RDONLY" => Some(Access::ReadOnly),
            "NOACCESS" => Some(Access::NoAccess),
            _ => None,
        }
    }

    /// The keyword as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::ReadWrite => "RW",
            Access::ReadOnly => "RDONLY",
            Access::NoAccess => "NOACCESS",
        }
    }
}

/// Type of an extent (VDF5 p.4–5; `SESPARSE` from QEMU).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtentType {
    /// `FLAT`: plain sectors at an offset in a file.
    Flat,
    /// `SPARSE`: a hosted sparse (KDMV) extent.
    Sparse,
    /// `ZERO`: reads as zeros, no file.
    Zero,
    /// `VMFS`: an ESXi flat extent.
    Vmfs,
    /// `VMFSSPARSE`: an ESXi COWD redo log.
    VmfsSparse,
    /// `VMFSRDM`: raw device mapping.
    VmfsRdm,
    /// `VMFSRAW`: raw device.
    VmfsRaw,
    /// `SESPARSE`: ESXi space-efficient sparse.
    SeSparse,
}

impl ExtentType {
    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "FLAT" => Some(ExtentType::Flat),
            "SPARSE" => Some(ExtentType::Sparse),
            "ZERO" => Some(ExtentType::Zero),
            "VMFS" => Some(ExtentType::Vmfs),
            "VMFSSPARSE" => Some(ExtentType::VmfsSparse),
            "VMFSRDM" => Some(ExtentType::VmfsRdm),
            "VMFSRAW" => Some(ExtentType::VmfsRaw),
            "SESPARSE" => Some(ExtentType::SeSparse),
            _ => None,
        }
    }

    /// The keyword as written.
    pub fn as_str(self) -> &'static str {
        match self {
            ExtentType::Flat => "FLAT",
            ExtentType::Sparse => "SPARSE",
            ExtentType::Zero => "ZERO",
            ExtentType::Vmfs => "VMFS",
            ExtentType::VmfsSparse => "VMFSSPARSE",
            ExtentType::VmfsRdm => "VMFSRDM",
            ExtentType::VmfsRaw => "VMFSRAW",
            ExtentType::SeSparse => "SESPARSE",
        }
    }

    /// Whether the extent stores plain sectors at an offset (flat, VMFS, raw device kinds).
    pub fn is_flat(self) -> bool {
        matches!(
            self,
            ExtentType::Flat | ExtentType::Vmfs | ExtentType::VmfsRdm | ExtentType::VmfsRaw
        )
    }
}

/// One extent line: `ACCESS SIZE TYPE ["FILENAME" [OFFSET]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extent {
    /// Access mode.
    pub access: Access,
    /// Size in sectors.
    pub size_sectors: u64,
    /// Type.
    pub kind: ExtentType,
    /// File name relative to the descriptor's folder, as written (untrusted); `None` for ZERO.
    pub file_name: Option<String>,
    /// Offset in sectors inside the file (flat extents), if written.
    pub offset_sectors: Option<u64>,
    /// Further fields (device extents), kept verbatim.
    pub extra: Vec<String>,
}

impl Extent {
    /// Size in bytes (checked).
    pub fn size_bytes(&self) -> Option<u64> {
        self.size_sectors.checked_mul(SECTOR_SIZE)
    }
}

/// A parsed descriptor. Header and ddb keys keep their original spelling and order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// `version` (1 if absent).
    pub version: u32,
    /// `CID`, the content id.
    pub cid: u32,
    /// `parentCID`; [`CID_NO_PARENT`] when the link has no parent.
    pub parent_cid: u32,
    /// `createType`.
    pub create_type: CreateType,
    /// `parentFileNameHint` (untrusted path), delta links only.
    pub parent_file_name_hint: Option<String>,
    /// Other header keys (`encoding`, `isNativeSnapshot`, `changeTrackPath`, ...), in order.
    pub header: Vec<(String, String)>,
    /// Extents in guest-LBA order.
    pub extents: Vec<Extent>,
    /// Disk database entries (`ddb.` keys, without changing case), in order.
    pub ddb: Vec<(String, String)>,
}

fn parse_hex_u32(v: &str) -> Option<u32> {
    let v = v.trim();
    let v = v
        .strip_prefix("0x")
        .or_else(|| v.strip_prefix("0X"))
        .unwrap_or(v);
    if v.is_empty() || v.len() > 8 {
        return None;
    }
    u32::from_str_radix(v, 16).ok()
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

/// Splits an extent line into whitespace-separated tokens; a `"..."` token may hold spaces.
fn tokenize(line: &str) -> std::result::Result<Vec<(String, bool)>, &'static str> {
    let mut out = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(_, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '"' {
            chars.next();
            let mut s = String::new();
            let mut closed = false;
            for (_, c) in chars.by_ref() {
                if c == '"' {
                    closed = true;
                    break;
                }
                s.push(c);
            }
            if !closed {
                return Err("unterminated quoted file name");
            }
            out.push((s, true));
        } else {
            let mut s = String::new();
            while let Some(&(_, c)) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                s.push(c);
                chars.next();
            }
            out.push((s, false));
        }
    }
    Ok(out)
}

impl Descriptor {
    /// A descriptor for a new base disk, with no extents and no ddb entries yet.
    pub fn new(create_type: CreateType, cid: u32) -> Self {
        Descriptor {
            version: 1,
            cid,
            parent_cid: CID_NO_PARENT,
            create_type,
            parent_file_name_hint: None,
            header: vec![("encoding".to_string(), "UTF-8".to_string())],
            extents: Vec::new(),
            ddb: Vec::new(),
        }
    }

    /// Parses descriptor text. NUL bytes end the text (embedded descriptors are NUL padded).
    ///
    /// # Errors
    /// [`crate::ErrorKind::LimitExceeded`] when the text, the extent count or the total size is
    /// above `limits`; [`crate::ErrorKind::Corrupt`] with the line and column for a malformed
    /// line, a bad number, a missing `createType`, or no extents.
    ///
    /// # Security
    /// `bytes` is untrusted; see the module documentation.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Self> {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        let bytes = &bytes[..end];
        if bytes.len() as u64 > limits.max_vmdk_descriptor_bytes {
            return Err(Error::limit(
                "VMDK descriptor size in bytes",
                bytes.len() as u64,
                limits.max_vmdk_descriptor_bytes,
            ));
        }
        // Descriptors are UTF-8 in practice; other encodings only matter inside names, which
        // then fail to resolve with a clear error instead of failing here.
        let text = String::from_utf8_lossy(bytes);
        let mut d = Descriptor {
            version: 1,
            cid: CID_NO_PARENT,
            parent_cid: CID_NO_PARENT,
            create_type: CreateType::Other(String::new()),
            parent_file_name_hint: None,
            header: Vec::new(),
            extents: Vec::new(),
            ddb: Vec::new(),
        };
        let mut have_create_type = false;
        let mut have_cid = false;
        let mut total_sectors: u64 = 0;
        let max_sectors = limits.max_disk_capacity_bytes / SECTOR_SIZE;
        for (idx, raw_line) in text.split('\n').enumerate() {
            let line_no = idx as u64 + 1;
            let line = raw_line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let col = (raw_line.len() - raw_line.trim_start().len()) as u64 + 1;
            let err = |msg: String| Error::corrupt(msg).with_line_col(line_no, col);
            let first = line.split_whitespace().next().unwrap_or("");
            if let Some(access) = Access::parse(first) {
                if d.extents.len() >= limits.max_extents {
                    return Err(Error::limit(
                        "number of VMDK extents",
                        d.extents.len() as u64 + 1,
                        limits.max_extents as u64,
                    )
                    .with_line_col(line_no, col));
                }
                let tokens = tokenize(line).map_err(|m| err(m.to_string()))?;
                let size_tok = tokens.get(1).map(|t| t.0.as_str()).unwrap_or("");
                let size_sectors: u64 = size_tok.parse().map_err(|_| {
                    err(format!(
                        "bad extent size: expected a number of sectors, found {size_tok:?}"
                    ))
                })?;
                let type_tok = tokens.get(2).map(|t| t.0.as_str()).unwrap_or("");
                let kind = ExtentType::parse(type_tok).ok_or_else(|| {
                    err(format!(
                        "unknown extent type: expected FLAT, SPARSE, ZERO, VMFS, VMFSSPARSE, \
                         VMFSRDM, VMFSRAW or SESPARSE, found {type_tok:?}"
                    ))
                })?;
                let file_name = tokens.get(3).map(|t| t.0.clone());
                if kind != ExtentType::Zero && file_name.is_none() {
                    return Err(err(format!("{} extent without a file name", kind.as_str())));
                }
                let offset_sectors = match tokens.get(4) {
                    Some((t, false)) => Some(t.parse::<u64>().map_err(|_| {
                        err(format!(
                            "bad extent offset: expected a number of sectors, found {t:?}"
                        ))
                    })?),
                    Some((t, true)) => {
                        return Err(err(format!(
                            "bad extent offset: expected a number, found {t:?}"
                        )))
                    }
                    None => None,
                };
                if offset_sectors
                    .and_then(|o| o.checked_add(size_sectors))
                    .is_some_and(|end| end > u64::MAX / SECTOR_SIZE)
                    || offset_sectors.is_some_and(|o| o > u64::MAX / SECTOR_SIZE)
                {
                    return Err(err("extent offset out of range".to_string()));
                }
                total_sectors = total_sectors
                    .checked_add(size_sectors)
                    .filter(|&t| t <= max_sectors)
                    .ok_or_else(|| {
                        Error::limit(
                            "disk capacity in bytes (sum of extents)",
                            total_sectors
                                .saturating_add(size_sectors)
                                .saturating_mul(SECTOR_SIZE),
                            limits.max_disk_capacity_bytes,
                        )
                        .with_line_col(line_no, col)
                    })?;
                let extra = tokens.iter().skip(5).map(|t| t.0.clone()).collect();
                d.extents.push(Extent {
                    access,
                    size_sectors,
                    kind,
                    file_name,
                    offset_sectors,
                    extra,
                });
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(err(format!(
                    "expected `key = value` or an extent line, found {:?}",
                    truncate(line)
                )));
            };
            let key = key.trim();
            let value = unquote(value).to_string();
            if key.is_empty() || key.contains(char::is_whitespace) {
                return Err(err(format!("bad key {:?}", truncate(key))));
            }
            let lower = key.to_ascii_lowercase();
            if lower.starts_with("ddb.") {
                if d.ddb.len() >= limits.max_extents.saturating_mul(4).max(1024) {
                    return Err(Error::limit(
                        "number of ddb entries",
                        d.ddb.len() as u64 + 1,
                        limits.max_extents.saturating_mul(4).max(1024) as u64,
                    )
                    .with_line_col(line_no, col));
                }
                d.ddb.push((key.to_string(), value));
                continue;
            }
            match lower.as_str() {
                "version" => {
                    d.version = value.parse().map_err(|_| {
                        err(format!("bad version: expected 1, 2 or 3, found {value:?}"))
                    })?;
                }
                "cid" => {
                    d.cid = parse_hex_u32(&value).ok_or_else(|| {
                        err(format!("bad CID: expected 8 hex digits, found {value:?}"))
                    })?;
                    have_cid = true;
                }
                "parentcid" => {
                    d.parent_cid = parse_hex_u32(&value).ok_or_else(|| {
                        err(format!(
                            "bad parentCID: expected 8 hex digits, found {value:?}"
                        ))
                    })?;
                }
                "createtype" => {
                    d.create_type = CreateType::parse(&value);
                    have_create_type = true;
                }
                "parentfilenamehint" => d.parent_file_name_hint = Some(value),
                _ => {
                    if d.header.len() >= 1024 {
                        return Err(Error::limit("number of descriptor header keys", 1025, 1024)
                            .with_line_col(line_no, col));
                    }
                    d.header.push((key.to_string(), value));
                }
            }
        }
        if !have_create_type {
            return Err(Error::corrupt(
                "VMDK descriptor has no createType: expected `createType=\"...\"`",
            ));
        }
        if d.extents.is_empty() {
            return Err(Error::corrupt(
                "VMDK descriptor lists no extents: expected at least one `RW <sectors> <type> ...` line",
            ));
        }
        if !have_cid {
            // VMware always writes one; QEMU too. Absent means "unknown", treated as 0xffffffff.
            d.cid = CID_NO_PARENT;
        }
        Ok(d)
    }

    /// Capacity in sectors: the sum of the extent sizes (checked at parse time).
    pub fn capacity_sectors(&self) -> u64 {
        self.extents
            .iter()
            .fold(0u64, |a, e| a.saturating_add(e.size_sectors))
    }

    /// Capacity in bytes.
    pub fn capacity_bytes(&self) -> u64 {
        self.capacity_sectors().saturating_mul(SECTOR_SIZE)
    }

    /// Whether the link has a parent (a delta / snapshot link).
    pub fn has_parent(&self) -> bool {
        self.parent_cid != CID_NO_PARENT || self.parent_file_name_hint.is_some()
    }

    /// A ddb value by key (case-insensitive).
    pub fn ddb_get(&self, key: &str) -> Option<&str> {
        self.ddb
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Sets a ddb value, replacing an existing key (case-insensitive) in place or appending.
    pub fn ddb_set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        if let Some(slot) = self
            .ddb
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            slot.1 = value;
        } else {
            self.ddb.push((key.to_string(), value));
        }
    }

    /// A header value by key (case-insensitive), among the keys not modelled as fields.
    pub fn header_get(&self, key: &str) -> Option<&str> {
        self.header
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Whether `ddb.thinProvisioned` is `"1"`.
    pub fn is_thin_provisioned(&self) -> bool {
        self.ddb_get("ddb.thinProvisioned") == Some("1")
    }

    /// Sets `ddb.geometry.*` (and `ddb.adapterType`) for the current capacity (FORMATS §1.3).
    pub fn set_geometry(&mut self, adapter: AdapterType) {
        let g = Geometry::for_capacity(self.capacity_sectors(), adapter);
        self.ddb_set("ddb.geometry.cylinders", g.cylinders.to_string());
        self.ddb_set("ddb.geometry.heads", g.heads.to_string());
        self.ddb_set("ddb.geometry.sectors", g.sectors.to_string());
        self.ddb_set("ddb.adapterType", adapter.as_str());
    }

    /// The canonical text, as VMware and QEMU lay it out.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(1024);
        s.push_str("# Disk DescriptorFile\n");
        let _ = writeln!(s, "version={}", self.version);
        for (k, v) in &self.header {
            if k.eq_ignore_ascii_case("encoding") {
                let _ = writeln!(s, "{k}=\"{v}\"");
            }
        }
        let _ = writeln!(s, "CID={:08x}", self.cid);
        let _ = writeln!(s, "parentCID={:08x}", self.parent_cid);
        for (k, v) in &self.header {
            if !k.eq_ignore_ascii_case("encoding") {
                let _ = writeln!(s, "{k}=\"{v}\"");
            }
        }
        let _ = writeln!(s, "createType=\"{}\"", self.create_type);
        if let Some(hint) = &self.parent_file_name_hint {
            let _ = writeln!(s, "parentFileNameHint=\"{hint}\"");
        }
        s.push_str("\n# Extent description\n");
        for e in &self.extents {
            let _ = write!(
                s,
                "{} {} {}",
                e.access.as_str(),
                e.size_sectors,
                e.kind.as_str()
            );
            if let Some(name) = &e.file_name {
                let _ = write!(s, " \"{name}\"");
                if let Some(off) = e.offset_sectors {
                    let _ = write!(s, " {off}");
                }
                for x in &e.extra {
                    if needs_quotes(x) {
                        let _ = write!(s, " \"{x}\"");
                    } else {
                        let _ = write!(s, " {x}");
                    }
                }
            }
            s.push('\n');
        }
        s.push_str("\n# The Disk Data Base\n#DDB\n\n");
        for (k, v) in &self.ddb {
            let _ = writeln!(s, "{k} = \"{v}\"");
        }
        s
    }
}

/// Whether an extent field must be written quoted to read back as the same single token: empty,
/// holding white space (what [`tokenize`] splits on), or starting with a quote or a comment sign.
fn needs_quotes(field: &str) -> bool {
    field.is_empty()
        || field.starts_with('"')
        || field.contains('#')
        || field.chars().any(char::is_whitespace)
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// `ddb.uuid` text: 16 hex bytes separated by spaces, `-` between bytes 8 and 9 (as VMware
/// writes it).
pub fn format_ddb_uuid(id: &[u8; 16]) -> String {
    let mut s = String::with_capacity(48);
    for (i, b) in id.iter().enumerate() {
        if i > 0 {
            s.push(if i == 8 { '-' } else { ' ' });
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extent_extra_fields_that_need_quotes_read_back_the_same() {
        let limits = Limits::default();
        for extra in ["", "x y", "x#", "#x", "plain", "a\u{a0}b"] {
            let text = format!(
                "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType=\"vmfs\"\nRW 8 FLAT \"d-flat.vmdk\" 0 \"{extra}\" tail\n"
            );
            let d = Descriptor::parse(text.as_bytes(), &limits).unwrap();
            assert_eq!(d.extents[0].extra, vec![extra.to_string(), "tail".into()]);
            let again = Descriptor::parse(d.to_text().as_bytes(), &limits).unwrap();
            assert_eq!(again.extents, d.extents, "{extra:?}");
        }
    }

    const QEMU: &str = "# Disk DescriptorFile\nversion=1\nCID=52c4dd8b\nparentCID=ffffffff\n\
createType=\"monolithicSparse\"\n\n# Extent description\nRW 2048 SPARSE \"a b.vmdk\"\n\n\
# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"2\"\n\
ddb.geometry.heads = \"16\"\nddb.geometry.sectors = \"63\"\nddb.adapterType = \"ide\"\n";

    #[test]
    fn parses_qemu_descriptor() {
        let d = Descriptor::parse(QEMU.as_bytes(), &Limits::DEFAULT).unwrap();
        assert_eq!(d.cid, 0x52c4dd8b);
        assert_eq!(d.parent_cid, CID_NO_PARENT);
        assert_eq!(d.create_type, CreateType::MonolithicSparse);
        assert_eq!(d.extents.len(), 1);
        assert_eq!(d.extents[0].file_name.as_deref(), Some("a b.vmdk"));
        assert_eq!(d.capacity_bytes(), 2048 * 512);
        assert_eq!(d.ddb_get("DDB.ADAPTERTYPE"), Some("ide"));
        assert!(!d.has_parent());
        // Round trip through the writer.
        let again = Descriptor::parse(d.to_text().as_bytes(), &Limits::DEFAULT).unwrap();
        assert_eq!(again, d);
    }

    #[test]
    fn tolerates_crlf_case_and_nul_padding() {
        let text = "# Disk DescriptorFile\r\nVERSION=1\r\ncid=fffffffe\r\nParentCID=0000abcd\r\n\
CREATETYPE=\"2GbMaxExtentSparse\"\r\nparentFileNameHint=\"base.vmdk\"\r\n\r\n\
rw 4192256 sparse \"d-s001.vmdk\"\r\nRDONLY 100 FLAT \"f.vmdk\" 7\r\nNOACCESS 5 ZERO\r\n\
ddb.uuid = \"60 00 C2 97 ee 00 4e ed-cb 09 ab 10 91 3f 7f 99\"\r\nddb.custom.key=\"x=y\"\r\n\0\0\0";
        let d = Descriptor::parse(text.as_bytes(), &Limits::DEFAULT).unwrap();
        assert_eq!(d.create_type, CreateType::TwoGbMaxExtentSparse);
        assert_eq!(d.parent_cid, 0xabcd);
        assert_eq!(d.parent_file_name_hint.as_deref(), Some("base.vmdk"));
        assert_eq!(d.extents[1].offset_sectors, Some(7));
        assert_eq!(d.extents[1].access, Access::ReadOnly);
        assert_eq!(d.extents[2].kind, ExtentType::Zero);
        assert_eq!(d.ddb_get("ddb.custom.key"), Some("x=y"));
        assert!(d.to_text().contains("ddb.custom.key = \"x=y\""));
    }

    #[test]
    fn rejects_bad_lines_with_position() {
        let bad = [
            "createType=\"vmfs\"\nRW abc VMFS \"x\"\n",
            "createType=\"vmfs\"\nRW 10 BOGUS \"x\"\n",
            "createType=\"vmfs\"\nRW 10 VMFS\n",
            "createType=\"vmfs\"\nRW 10 VMFS \"x\n",
            "createType=\"vmfs\"\nCID=xyz\nRW 10 VMFS \"x\"\n",
            "createType=\"vmfs\"\njust some words\n",
        ];
        for text in bad {
            let e = Descriptor::parse(text.as_bytes(), &Limits::DEFAULT).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Corrupt, "{text:?}");
            assert!(e.location().line_col.is_some(), "{text:?}");
        }
        assert!(Descriptor::parse(b"RW 1 ZERO\n", &Limits::DEFAULT).is_err());
        assert!(Descriptor::parse(b"createType=\"vmfs\"\n", &Limits::DEFAULT).is_err());
    }

    #[test]
    fn enforces_limits() {
        let limits = Limits {
            max_extents: 2,
            ..Limits::DEFAULT
        };
        let text = "createType=\"custom\"\nRW 1 ZERO\nRW 1 ZERO\nRW 1 ZERO\n";
        let e = Descriptor::parse(text.as_bytes(), &limits).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::LimitExceeded);
        let huge = format!(
            "createType=\"custom\"\nRW {} ZERO\nRW {} ZERO\n",
            u64::MAX / 2,
            u64::MAX / 2
        );
        let e = Descriptor::parse(huge.as_bytes(), &Limits::DEFAULT).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::LimitExceeded);
        let small = Limits {
            max_vmdk_descriptor_bytes: 8,
            ..Limits::DEFAULT
        };
        assert!(Descriptor::parse(QEMU.as_bytes(), &small).is_err());
    }

    #[test]
    fn writes_canonical_layout() {
        let mut d = Descriptor::new(CreateType::Vmfs, 0x1234abcd);
        d.extents.push(Extent {
            access: Access::ReadWrite,
            size_sectors: 67_108_864,
            kind: ExtentType::Vmfs,
            file_name: Some("d-flat.vmdk".into()),
            offset_sectors: None,
            extra: vec![],
        });
        d.ddb_set("ddb.virtualHWVersion", "11");
        d.set_geometry(AdapterType::LsiLogic);
        d.ddb_set("ddb.thinProvisioned", "1");
        let t = d.to_text();
        assert!(t.starts_with("# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=1234abcd\nparentCID=ffffffff\ncreateType=\"vmfs\"\n"));
        assert!(t.contains("\n# Extent description\nRW 67108864 VMFS \"d-flat.vmdk\"\n"));
        assert!(t.contains(
            "#DDB\n\nddb.virtualHWVersion = \"11\"\nddb.geometry.cylinders = \"4177\"\n"
        ));
        assert!(t.contains("ddb.thinProvisioned = \"1\"\n"));
    }

    mod prop {
        use super::super::*;
        use proptest::prelude::*;

        fn kind() -> impl Strategy<Value = ExtentType> {
            prop_oneof![
                Just(ExtentType::Flat),
                Just(ExtentType::Sparse),
                Just(ExtentType::Zero),
                Just(ExtentType::Vmfs),
                Just(ExtentType::VmfsSparse),
            ]
        }

        proptest! {
            #[test]
            fn write_then_parse_round_trips(
                cid in any::<u32>(),
                parent in any::<u32>(),
                exts in proptest::collection::vec(
                    (1u64..1 << 33, kind(), "[a-zA-Z0-9 ._-]{1,30}", proptest::option::of(0u64..1 << 30)),
                    1..8,
                ),
                ddb in proptest::collection::vec(("ddb\\.[a-zA-Z.]{1,20}", "[ -!#-~]{0,40}"), 0..8),
                hint in proptest::option::of("[a-zA-Z0-9._-]{1,20}"),
            ) {
                let mut d = Descriptor::new(CreateType::Custom, cid);
                d.parent_cid = parent;
                d.parent_file_name_hint = hint;
                for (size, kind, name, off) in exts {
                    d.extents.push(Extent {
                        access: Access::ReadWrite,
                        size_sectors: size,
                        kind,
                        file_name: (kind != ExtentType::Zero).then_some(name),
                        offset_sectors: if kind == ExtentType::Zero { None } else { off },
                        extra: vec![],
                    });
                }
                for (k, v) in ddb {
                    d.ddb_set(&k, v.trim().to_string());
                }
                let back = Descriptor::parse(d.to_text().as_bytes(), &Limits::DEFAULT).unwrap();
                prop_assert_eq!(back, d);
            }

            #[test]
            fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
                let _ = Descriptor::parse(&bytes, &Limits::DEFAULT);
            }
        }
    }
}
