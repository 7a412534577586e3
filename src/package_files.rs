//! The files a descriptor references, checked where they lie beside it (as ovftool's validate
//! does for a local `.ovf`): declared `ovf:size` vs the stored size, `ovf:chunkSize` chunks
//! (`href.000000000`...: all present, in order, full except the last), `ovf:compression="gzip"`
//! vs the gzip magic, `ovf:capacity` vs the VMDK's capacity, `ovf:format` vs its `createType`,
//! delta-disk parents, and the `.cert` signature over the `.mf`.
//!
//! Only headers are read (and, under `lax` for a size mismatch, the file is hashed to compare with
//! the manifest): this is the cheap check of `validate`; `verify` hashes everything.
//!
//! # Security
//! Every `href` goes through [`crate::gate::plain_file_name`] before anything is opened; URLs and
//! non-plain names are skipped (the descriptor check already reports them).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::cert::CertFile;
use crate::finding::Code;
use crate::limits::Limits;
use crate::manifest::Manifest;
use crate::ovf::{Diagnostic, Envelope, FileRef, Severity};
use crate::sniff::{Content, VmdkKind};

/// Options of [`check_files`].
#[derive(Debug, Clone, Default)]
pub struct FileCheckOptions {
    /// A referenced file that is not there is an error (`verify`), not a warning (`validate`).
    pub absent_is_error: bool,
    /// ovftool `--lax`: a declared size that differs from a file whose manifest digest matches
    /// is a warning.
    pub lax: bool,
    /// Size caps.
    pub limits: Limits,
}

struct Out(Vec<Diagnostic>);

impl Out {
    fn push(&mut self, severity: Severity, code: Code, path: String, message: String) {
        self.0.push(Diagnostic {
            severity,
            code: code.as_str(),
            message,
            line: None,
            column: None,
            path: Some(path),
        });
    }

    fn add(&mut self, path: &str, v: Verdict) {
        self.push(v.severity, v.code, path.to_string(), v.message);
    }
}

/// One package-aware rule's verdict: its code, its severity (before any option downgrades it
/// through [`crate::finding::Policy`]) and the message. `validate` (through [`check_files`],
/// on the files beside a descriptor) and `verify` (on the scanned package) both take their
/// findings about referenced files from the functions below, so the same fault gets the same
/// code and severity from either command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
}

impl Verdict {
    fn error(code: Code, message: String) -> Self {
        Verdict {
            code,
            severity: Severity::Error,
            message,
        }
    }
}

/// Declared `ovf:size` vs the stored size (the sum of the chunks of a chunked file; DSP0243
/// §7.1: ovf:size is the size of the whole file). An error, a warning when `vouched`: under
/// ovftool's `--lax`, when the manifest's digests match the stored file (every chunk of a
/// chunked one), the bytes are what the producer meant and only the declaration is wrong.
pub(crate) fn size_verdict(
    href: &str,
    declared: u64,
    stored: u64,
    vouched: bool,
) -> Option<Verdict> {
    (declared != stored).then(|| Verdict {
        code: Code::SizeMismatch,
        severity: if vouched {
            Severity::Warning
        } else {
            Severity::Error
        },
        message: format!(
            "{href}: expected {declared} bytes (ovf:size), found {stored}{}",
            if vouched {
                "; the manifest digest matches the stored file"
            } else {
                ""
            }
        ),
    })
}

/// `ovf:chunkSize` vs the chunks' sizes (DSP0243 §7.1: every chunk but the last is exactly
/// chunkSize, the last is at most chunkSize and not empty): the index of each bad chunk with
/// its verdict.
pub(crate) fn chunk_verdicts(href: &str, chunk: u64, sizes: &[u64]) -> Vec<(usize, Verdict)> {
    if chunk == 0 {
        return vec![(
            0,
            Verdict::error(Code::ChunkSize, format!("{href}: ovf:chunkSize is 0")),
        )];
    }
    let mut out = Vec::new();
    for (i, s) in sizes.iter().enumerate() {
        let last = i + 1 == sizes.len();
        if (!last && *s != chunk) || (last && (*s > chunk || *s == 0)) {
            out.push((
                i,
                Verdict::error(
                    Code::ChunkSize,
                    format!(
                        "{}: expected {} of at most {chunk} bytes (ovf:chunkSize), found {s}",
                        crate::ova::names::chunk_name(href, i as u64),
                        if last { "a last chunk" } else { "a chunk" },
                    ),
                ),
            ));
        }
    }
    out
}

/// A gap in the chunks: `missing` is not there but `later` is (DSP0243 §7.1: chunks are
/// numbered from 0 without gaps), so the file is cut short.
pub(crate) fn chunk_gap_verdict(missing: &str, later: &str, severity: Severity) -> Verdict {
    Verdict {
        code: Code::ChunkMissing,
        severity,
        message: format!(
            "{missing} is not in the package, but {later} is: the chunks are not contiguous"
        ),
    }
}

/// `ovf:compression="gzip"` vs the gzip magic at the start of the stored file (DSP0243 §7.1).
/// `head` is the file's (first chunk's) first bytes; an empty file says nothing.
pub(crate) fn compression_verdict(
    href: &str,
    compression: Option<&str>,
    head: &[u8],
) -> Option<Verdict> {
    if head.len() < 2 {
        return None;
    }
    let is_gzip = head.starts_with(&[0x1f, 0x8b]);
    let declared_gzip = compression.is_some_and(|c| c.trim().eq_ignore_ascii_case("gzip"));
    (declared_gzip != is_gzip).then(|| {
        Verdict::error(
            Code::CompressionMismatch,
            if declared_gzip {
                format!("{href}: ovf:compression=\"gzip\" but the file has no gzip header")
            } else {
                format!("{href}: the file is gzip-compressed but ovf:compression does not say so")
            },
        )
    })
}

/// A file that is no VMDK under a VMDK `ovf:format` (§9.1: the format URI names the disk's
/// format).
pub(crate) fn not_a_vmdk_verdict(href: &str, found: Content) -> Verdict {
    Verdict::error(
        Code::DiskFormatMismatch,
        format!("{href}: ovf:format names a VMDK, found a {}", found.name()),
    )
}

/// A Disk's `ovf:format` fragment vs the VMDK's createType ([`format_fragment_matches`]), and
/// `ovf:capacity` vs the VMDK's capacity (§9.1; the VMDK spec's header capacity): both errors,
/// since the descriptor then describes another disk than the one shipped.
pub(crate) fn vmdk_verdicts(
    href: &str,
    format: Option<&str>,
    create_type: Option<&str>,
    ovf_capacity_bytes: Option<u64>,
    vmdk_capacity_bytes: Option<u64>,
) -> Vec<Verdict> {
    let mut out = Vec::new();
    let fragment = format
        .and_then(|f| f.rsplit_once('#'))
        .map(|(_, frag)| frag.trim());
    if let (Some(frag), Some(ct)) = (fragment, create_type) {
        if !format_fragment_matches(frag, ct) {
            out.push(Verdict::error(
                Code::DiskFormatMismatch,
                format!("{href}: ovf:format says {frag}, the VMDK's createType is {ct}"),
            ));
        }
    }
    if let (Some(cap), Some(vmdk_capacity_bytes)) = (ovf_capacity_bytes, vmdk_capacity_bytes) {
        if vmdk_capacity_bytes != cap {
            // A warning, as before in import: importers keep the disk's own capacity.
            out.push(Verdict {
                code: Code::DiskCapacityMismatch,
                severity: Severity::Warning,
                message: format!(
                    "{href}: ovf:capacity says {cap} bytes, the VMDK holds {vmdk_capacity_bytes}: \
                     the disk keeps its own capacity"
                ),
            });
        }
    }
    out
}

/// Checks the files `env` references in `dir` (the descriptor's folder), and the manifest and
/// certificate named after `descriptor_name` (`vm.ovf` → `vm.mf`, `vm.cert`).
pub fn check_files(
    env: &Envelope,
    dir: &Path,
    descriptor_name: &str,
    opts: &FileCheckOptions,
) -> Vec<Diagnostic> {
    let mut out = Out(Vec::new());
    let base = descriptor_name
        .rsplit_once('.')
        .map_or(descriptor_name, |(b, _)| b);
    let manifest_bytes = read_small(&dir.join(format!("{base}.mf")), &opts.limits);
    let manifest = manifest_bytes
        .as_ref()
        .and_then(|b| Manifest::parse(b, &opts.limits).ok());
    let files = env.references();
    let disks = env.disks();
    for f in &files {
        let path = format!("/Envelope/References/File[{}]", f.id);
        if f.href.contains("://") || crate::gate::plain_file_name(&f.href).is_err() {
            continue;
        }
        let Some(stored) = stored_size(dir, f, &mut out, &path, opts) else {
            continue;
        };
        if let Some(declared) = f.size {
            let vouched = declared != stored
                && opts.lax
                && manifest
                    .as_ref()
                    .is_some_and(|m| digest_matches(m, dir, f, &opts.limits));
            if let Some(v) = size_verdict(&f.href, declared, stored, vouched) {
                out.add(&path, v);
            }
        }
        // Headers: the first chunk (or the file).
        let first = if f.chunk_size.is_some() {
            dir.join(crate::ova::names::chunk_name(&f.href, 0))
        } else {
            dir.join(&f.href)
        };
        let mut magic = [0u8; 2];
        let n = File::open(&first)
            .and_then(|mut h| h.read(&mut magic))
            .unwrap_or(0);
        let is_gzip = n == 2 && magic == [0x1f, 0x8b];
        if let Some(v) = compression_verdict(&f.href, f.compression.as_deref(), &magic[..n]) {
            out.add(&path, v);
        }
        for d in disks
            .iter()
            .filter(|d| d.file_ref.as_deref() == Some(&f.id))
        {
            if is_gzip || f.chunk_size.is_some() {
                check_packed_disk(env, d, dir, f, is_gzip, &mut out, opts);
            } else {
                check_disk_file(env, d, &dir.join(&f.href), &f.href, &mut out, opts);
            }
        }
    }
    // Delta disks: the parent Disk's file must be there too.
    for d in disks.iter().filter(|d| d.parent_ref.is_some()) {
        let parent = d.parent_ref.as_deref().unwrap_or("");
        if let Some(p) = disks.iter().find(|p| p.disk_id == parent) {
            let present = p
                .file_ref
                .as_ref()
                .and_then(|fr| files.iter().find(|f| &f.id == fr))
                .is_some_and(|f| {
                    // A chunked parent is there when its first chunk is.
                    let first = if f.chunk_size.is_some() {
                        crate::ova::names::chunk_name(&f.href, 0)
                    } else {
                        f.href.clone()
                    };
                    crate::gate::plain_file_name(&f.href).is_ok() && dir.join(first).is_file()
                });
            if p.file_ref.is_some() && !present {
                out.push(
                    absent(opts),
                    Code::DeltaParentAbsent,
                    format!("/Envelope/DiskSection/Disk[{}]", d.disk_id),
                    format!(
                        "delta disk {} needs its parent disk {parent}, whose file is not in the package",
                        d.disk_id
                    ),
                );
            }
        }
    }
    // Another `.mf` beside the descriptor is not its manifest (and is not read as one).
    for (name, msg) in crate::manifest::stray_manifests_in_dir(dir, descriptor_name, &opts.limits) {
        out.push(
            Severity::Warning,
            Code::ManifestNotThePackageManifest,
            name,
            msg,
        );
    }
    // Signature over the manifest.
    if let Some(cert_bytes) = read_small(&dir.join(format!("{base}.cert")), &opts.limits) {
        let path = format!("{base}.cert");
        match (CertFile::parse(&cert_bytes, &opts.limits), &manifest_bytes) {
            (Err(e), _) => out.push(
                Severity::Error,
                Code::CertInvalid,
                path,
                format!("certificate file cannot be read: {e}"),
            ),
            (Ok(_), None) => out.push(
                Severity::Error,
                Code::CertWithoutManifest,
                path,
                format!("{base}.cert signs {base}.mf, which is not there"),
            ),
            (Ok(c), Some(m)) => {
                if let Err(e) = c.verify_manifest(m) {
                    out.push(Severity::Error, Code::SignatureInvalid, path, e.to_string());
                }
            }
        }
    }
    out.0
}

fn absent(opts: &FileCheckOptions) -> Severity {
    if opts.absent_is_error {
        Severity::Error
    } else {
        Severity::Warning
    }
}

/// The stored size of a file (the sum of its chunks), reporting absent files and bad chunks.
fn stored_size(
    dir: &Path,
    f: &FileRef,
    out: &mut Out,
    path: &str,
    opts: &FileCheckOptions,
) -> Option<u64> {
    let Some(chunk) = f.chunk_size.filter(|c| *c > 0) else {
        return match std::fs::metadata(dir.join(&f.href)) {
            Ok(m) if m.is_file() => Some(m.len()),
            _ => {
                out.push(
                    absent(opts),
                    Code::MissingFile,
                    path.to_string(),
                    format!("{} is referenced but not beside the descriptor", f.href),
                );
                None
            }
        };
    };
    // Chunks: href.000000000, href.000000001... every one but the last exactly chunkSize.
    let mut sizes = Vec::new();
    for i in 0..=opts.limits.max_ova_entries as u64 {
        match std::fs::metadata(dir.join(crate::ova::names::chunk_name(&f.href, i))) {
            Ok(m) if m.is_file() => sizes.push(m.len()),
            _ => break,
        }
    }
    if sizes.is_empty() {
        out.push(
            absent(opts),
            Code::MissingFile,
            path.to_string(),
            format!(
                "{} is referenced in chunks of {chunk} bytes but {} is not beside the descriptor",
                f.href,
                crate::ova::names::chunk_name(&f.href, 0)
            ),
        );
        return None;
    }
    // Chunks are numbered from 0 without gaps (§7.1): a later chunk after a missing one means
    // the file is cut short, not that it ends there.
    let next = sizes.len() as u64;
    if let Some(later) = (next + 1..=next + 16)
        .map(|i| crate::ova::names::chunk_name(&f.href, i))
        .find(|n| dir.join(n).is_file())
    {
        out.add(
            path,
            chunk_gap_verdict(
                &crate::ova::names::chunk_name(&f.href, next),
                &later,
                absent(opts),
            ),
        );
    }
    for (_, v) in chunk_verdicts(&f.href, chunk, &sizes) {
        out.add(path, v);
    }
    Some(sizes.iter().sum())
}

/// Whether the manifest vouches for the stored file `f`: its digest of the file matches, or,
/// for a chunked file, it lists every chunk (`href.000000000`...) and each digest matches (an
/// OVA's manifest lists the chunks, DSP0243 §5.1; a manifest listing the whole `href` of a
/// chunked file is not how any producer writes it and vouches for nothing here).
fn digest_matches(m: &Manifest, dir: &Path, f: &FileRef, limits: &Limits) -> bool {
    let names: Vec<String> = if f.chunk_size.is_some() {
        crate::file_reader::parts_in_dir(dir, &f.href, true, limits)
    } else {
        vec![f.href.clone()]
    };
    !names.is_empty() && names.iter().all(|n| stored_digest_matches(m, dir, n))
}

/// Whether the manifest's digest of `name` matches the stored file `dir/name`.
fn stored_digest_matches(m: &Manifest, dir: &Path, name: &str) -> bool {
    let Some(e) = m.get(name) else {
        return false;
    };
    let Ok(file) = File::open(dir.join(name)) else {
        return false;
    };
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return false;
    };
    crate::range_copy::hash_range(
        &file,
        0,
        len,
        &crate::digest::HashOptions {
            algorithms: vec![e.algorithm],
            prefix_bytes: 0,
            size_hint: Some(len),
        },
        &crate::progress::NoProgress,
    )
    .ok()
    .and_then(|r| r.digests.get(e.algorithm).map(|d| d == e.digest.as_slice()))
    .unwrap_or(false)
}

/// `ovf:capacity` vs the VMDK's capacity, `ovf:format` vs its createType.
fn check_disk_file(
    env: &Envelope,
    d: &crate::ovf::Disk,
    file: &Path,
    href: &str,
    out: &mut Out,
    opts: &FileCheckOptions,
) {
    let path = format!("/Envelope/DiskSection/Disk[{}]", d.disk_id);
    let is_vmdk_format = d
        .format
        .as_deref()
        .is_some_and(|f| f.to_ascii_lowercase().contains("vmdk"));
    let content = match crate::sniff::sniff_path(file) {
        Ok(s) => s.content,
        Err(_) => return,
    };
    if !is_vmdk_format {
        return;
    }
    let Content::Vmdk(kind) = content else {
        out.add(&path, not_a_vmdk_verdict(href, content));
        return;
    };
    // Opening follows the whole chain: a delta VMDK whose parent is missing, or a descriptor
    // whose extents are not in the package, does not open.
    let info = match crate::vmdk::hosted::inspect(file, &opts.limits) {
        Ok(i) => i,
        Err(e) => {
            out.push(
                Severity::Error,
                Code::DiskHeader,
                path.clone(),
                format!("{href}: {e}"),
            );
            return;
        }
    };
    let create_type = info
        .create_type
        .clone()
        .or_else(|| (kind == VmdkKind::StreamOptimized).then(|| "streamOptimized".to_string()));
    compare_vmdk(
        env,
        d,
        href,
        create_type.as_deref(),
        info.capacity_bytes,
        out,
    );
}

/// Whether the fragment of a VMDK `ovf:format` URI (`...vmdk.html#streamOptimized`) names the
/// createType `create_type`: the one rule `validate` and `verify` apply. DSP0243 §9.1: the
/// format URI names the disk's format; VMware's 1.x fragments are createTypes, OVF 0.9's generic
/// `#sparse` names any sparse VMDK and `#compressed` a streamOptimized one.
pub(crate) fn format_fragment_matches(fragment: &str, create_type: &str) -> bool {
    match fragment.trim().to_ascii_lowercase().as_str() {
        "sparse" => {
            create_type.to_ascii_lowercase().contains("sparse")
                || create_type.eq_ignore_ascii_case("streamOptimized")
        }
        "compressed" => create_type.eq_ignore_ascii_case("streamOptimized"),
        f => f.eq_ignore_ascii_case(create_type.trim()),
    }
}

/// A Disk's `ovf:format` fragment vs the VMDK's createType, `ovf:capacity` vs its capacity
/// ([`vmdk_verdicts`]).
fn compare_vmdk(
    env: &Envelope,
    d: &crate::ovf::Disk,
    href: &str,
    create_type: Option<&str>,
    capacity_bytes: u64,
    out: &mut Out,
) {
    let path = format!("/Envelope/DiskSection/Disk[{}]", d.disk_id);
    for v in vmdk_verdicts(
        href,
        d.format.as_deref(),
        create_type,
        d.capacity_bytes(env).ok(),
        Some(capacity_bytes),
    ) {
        out.add(&path, v);
    }
}

/// The disk of a chunked and/or gzip-compressed File: its content read through the one file
/// reader ([`crate::file_reader::FileReader`]: chunks joined, gzip undone), only as far as the
/// VMDK header and its embedded descriptor (or a text descriptor), never the whole disk; then
/// the same checks as for a stored file ([`compare_vmdk`]).
fn check_packed_disk(
    env: &Envelope,
    d: &crate::ovf::Disk,
    dir: &Path,
    f: &FileRef,
    gzip: bool,
    out: &mut Out,
    opts: &FileCheckOptions,
) {
    use crate::file_reader::{parts_in_dir, FileReader, Part};
    let path = format!("/Envelope/DiskSection/Disk[{}]", d.disk_id);
    let is_vmdk_format = d
        .format
        .as_deref()
        .is_some_and(|f| f.to_ascii_lowercase().contains("vmdk"));
    if !is_vmdk_format {
        return;
    }
    let parts: Vec<Part> = parts_in_dir(dir, &f.href, f.chunk_size.is_some(), &opts.limits)
        .into_iter()
        .map(|n| Part::Whole(dir.join(n)))
        .collect();
    let facts = FileReader::open(
        parts,
        gzip,
        d.capacity_bytes(env).ok(),
        &opts.limits,
        &f.href,
    )
    .and_then(|mut r| packed_vmdk_facts(&mut r, &opts.limits));
    match facts {
        Ok(PackedFacts::Vmdk {
            create_type,
            capacity_bytes,
        }) => compare_vmdk(env, d, &f.href, create_type.as_deref(), capacity_bytes, out),
        Ok(PackedFacts::Other(content)) => out.add(&path, not_a_vmdk_verdict(&f.href, content)),
        Ok(PackedFacts::Unknown) => {}
        Err(e) => out.push(
            Severity::Error,
            Code::DiskHeader,
            path,
            format!("{}: {e}", f.href),
        ),
    }
}

/// What the start of a packed disk says.
enum PackedFacts {
    /// A VMDK: its createType (when it says) and capacity.
    Vmdk {
        create_type: Option<String>,
        capacity_bytes: u64,
    },
    /// Something else.
    Other(Content),
    /// A VMDK whose capacity the first bytes do not give (a COWD extent).
    Unknown,
}

/// Reads the sparse header and embedded descriptor (or a text descriptor) from the start of
/// `r`: at most `limits.max_vmdk_descriptor_bytes` beyond the header, never the grains.
fn packed_vmdk_facts(
    r: &mut crate::file_reader::FileReader,
    limits: &Limits,
) -> crate::Result<PackedFacts> {
    use crate::vmdk::descriptor::Descriptor;
    use crate::vmdk::header::SparseHeader;
    const SECTOR: u64 = 512;
    let head = r.head().to_vec();
    if let Ok(h) = <&[u8; 512]>::try_from(head.as_slice()) {
        if &h[..4] == b"KDMV" {
            let header = SparseHeader::parse(h)?;
            let capacity_bytes = header.check_limits(limits)?;
            let from_flags = (header.is_compressed() && header.has_markers())
                .then(|| "streamOptimized".to_string());
            // The embedded descriptor, when it lies within reach of the header (it follows it
            // in every writer); reading to it skips at most one descriptor's worth of bytes.
            let off = header.descriptor_offset_sectors.saturating_mul(SECTOR);
            let len = header.descriptor_size_sectors.saturating_mul(SECTOR);
            let reach = SECTOR.saturating_add(limits.max_vmdk_descriptor_bytes);
            let mut create_type = from_flags;
            if off >= SECTOR && len > 0 && len <= limits.max_vmdk_descriptor_bytes && off <= reach {
                // The reader has handed out nothing yet: skip the header and up to `off`.
                let mut sink = Vec::new();
                (&mut *r)
                    .take(off)
                    .read_to_end(&mut sink)
                    .map_err(crate::Error::from)?;
                let mut text = Vec::new();
                (&mut *r)
                    .take(len)
                    .read_to_end(&mut text)
                    .map_err(crate::Error::from)?;
                if sink.len() as u64 == off {
                    let desc = Descriptor::parse(&text, limits)?;
                    create_type = Some(desc.create_type.to_string());
                }
            }
            return Ok(PackedFacts::Vmdk {
                create_type,
                capacity_bytes,
            });
        }
    }
    if head.starts_with(b"COWD") {
        return Ok(PackedFacts::Unknown);
    }
    // A text descriptor is small: read up to the descriptor limit and see whether it ends.
    let mut all = Vec::new();
    (&mut *r)
        .take(limits.max_vmdk_descriptor_bytes.saturating_add(1))
        .read_to_end(&mut all)
        .map_err(crate::Error::from)?;
    let ended = all.len() as u64 <= limits.max_vmdk_descriptor_bytes;
    let len = if ended { all.len() as u64 } else { u64::MAX };
    let content = crate::sniff::classify_bytes(&all[..all.len().min(4096)], &[], len);
    if content == Content::Vmdk(VmdkKind::Hosted) {
        let desc = Descriptor::parse(&all, limits)?;
        return Ok(PackedFacts::Vmdk {
            create_type: Some(desc.create_type.to_string()),
            capacity_bytes: desc.capacity_bytes(),
        });
    }
    Ok(PackedFacts::Other(content))
}

fn read_small(path: &Path, limits: &Limits) -> Option<Vec<u8>> {
    let f = File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(limits.max_descriptor_bytes)
        .read_to_end(&mut buf)
        .ok()?;
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(files: &str, disks: &str) -> Envelope {
        let xml = format!(
            r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References>{files}</References><DiskSection><Info>d</Info>{disks}</DiskSection><VirtualSystem ovf:id="v"><Info>v</Info></VirtualSystem></Envelope>"#
        );
        Envelope::parse(xml.as_bytes()).unwrap()
    }

    fn codes(d: &[Diagnostic]) -> Vec<(&'static str, Severity)> {
        d.iter().map(|d| (d.code, d.severity)).collect()
    }

    #[test]
    fn a_gap_in_the_chunks_is_named() {
        let dir = tempfile::tempdir().unwrap();
        for (i, len) in [(0u64, 10usize), (2, 4)] {
            std::fs::write(
                dir.path().join(crate::ova::names::chunk_name("d.vmdk", i)),
                vec![1u8; len],
            )
            .unwrap();
        }
        let e = env(
            r#"<File ovf:href="d.vmdk" ovf:id="f" ovf:size="24" ovf:chunkSize="10"/>"#,
            "",
        );
        let d = check_files(&e, dir.path(), "x.ovf", &FileCheckOptions::default());
        assert!(
            codes(&d).contains(&("chunk-missing", Severity::Warning)),
            "{d:?}"
        );
        assert!(
            d.iter().any(|x| x.message.contains("d.vmdk.000000001")),
            "{d:?}"
        );
        let strict = FileCheckOptions {
            absent_is_error: true,
            ..Default::default()
        };
        let d = check_files(&e, dir.path(), "x.ovf", &strict);
        assert!(
            codes(&d).contains(&("chunk-missing", Severity::Error)),
            "{d:?}"
        );
    }

    #[test]
    fn size_gzip_absent_and_chunks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.bin"), b"hello").unwrap();
        std::fs::write(dir.path().join("b.bin.000000000"), b"1234").unwrap();
        std::fs::write(dir.path().join("b.bin.000000001"), b"12").unwrap();
        std::fs::write(dir.path().join("b.bin.000000002"), b"1").unwrap();
        let e = env(
            r#"<File ovf:id="a" ovf:href="a.bin" ovf:size="999"/><File ovf:id="g" ovf:href="a.bin" ovf:compression="gzip"/><File ovf:id="m" ovf:href="missing.bin"/><File ovf:id="b" ovf:href="b.bin" ovf:size="7" ovf:chunkSize="4"/>"#,
            "",
        );
        let d = check_files(&e, dir.path(), "x.ovf", &FileCheckOptions::default());
        let c = codes(&d);
        assert!(c.contains(&("size-mismatch", Severity::Error)), "{d:?}");
        assert!(
            c.contains(&("compression-mismatch", Severity::Error)),
            "{d:?}"
        );
        assert!(c.contains(&("missing-file", Severity::Warning)), "{d:?}");
        assert!(c.contains(&("chunk-size", Severity::Error)), "{d:?}");
        let strict = FileCheckOptions {
            absent_is_error: true,
            ..Default::default()
        };
        let d = check_files(&e, dir.path(), "x.ovf", &strict);
        assert!(codes(&d).contains(&("missing-file", Severity::Error)));
    }

    #[test]
    fn a_chunked_delta_parent_is_present_when_its_chunks_are() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.bin.000000000"), b"pp").unwrap();
        std::fs::write(dir.path().join("c.bin"), b"c").unwrap();
        let e = env(
            r#"<File ovf:id="p" ovf:href="p.bin" ovf:chunkSize="4"/><File ovf:id="c" ovf:href="c.bin"/>"#,
            r#"<Disk ovf:diskId="p" ovf:fileRef="p" ovf:capacity="1"/><Disk ovf:diskId="c" ovf:fileRef="c" ovf:parentRef="p" ovf:capacity="1"/>"#,
        );
        let d = check_files(&e, dir.path(), "x.ovf", &FileCheckOptions::default());
        assert_eq!(codes(&d), vec![], "{d:?}");
        std::fs::remove_file(dir.path().join("p.bin.000000000")).unwrap();
        let d = check_files(&e, dir.path(), "x.ovf", &FileCheckOptions::default());
        assert!(
            codes(&d).contains(&("delta-parent-absent", Severity::Warning)),
            "{d:?}"
        );
    }

    #[test]
    fn lax_size_mismatch_with_matching_manifest_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.bin"), b"hello").unwrap();
        let sha = crate::digest::Algorithm::Sha256.digest(b"hello");
        std::fs::write(
            dir.path().join("x.mf"),
            format!("SHA256(a.bin)= {}\n", hex::encode(sha)),
        )
        .unwrap();
        let e = env(r#"<File ovf:id="a" ovf:href="a.bin" ovf:size="6"/>"#, "");
        let strict = check_files(&e, dir.path(), "x.ovf", &FileCheckOptions::default());
        assert_eq!(codes(&strict), vec![("size-mismatch", Severity::Error)]);
        let lax = FileCheckOptions {
            lax: true,
            ..Default::default()
        };
        let d = check_files(&e, dir.path(), "x.ovf", &lax);
        assert_eq!(codes(&d), vec![("size-mismatch", Severity::Warning)]);
    }
}
