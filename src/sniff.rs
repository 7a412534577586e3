//! The one content sniffer: what a file *is*, from its bytes, never from its name.
//!
//! Every command that picks a parser (`info`, `verify`, `validate`, `convert`, `import`) asks
//! [`sniff_path`] first. The order of the checks matters: container and disk signatures at fixed
//! offsets first (VMDK `KDMV`/`COWD`, VHDX, qcow, VDI, Parallels, bochs, cloop, gzip, tar), then
//! footers (VHD `conectix`, DMG `koly`), then text formats (VMDK descriptor, OVF XML, `.cert`,
//! `.mf`, `.vmx`). A file that matches nothing is a raw image; when its extension promised
//! something else (`.vmdk`, `.ovf`, `.ova`...) the result carries a note saying so.
//!
//! Signatures, with their sources (see also docs/FORMATS.md):
//! * VMDK: `KDMV` / `COWD` magic (VMware Virtual Disk Format 5.0 §3, §4); a descriptor is text
//!   with `# Disk DescriptorFile` or a `createType` line ([`crate::vmdk::kind::classify`]).
//! * VHD: 512-byte footer `conectix` at the end (fixed) and copied at offset 0 (dynamic,
//!   differencing); disk type big-endian u32 at footer offset 60 (Microsoft VHD format spec §A).
//! * VHDX: `vhdxfile` at offset 0 (MS-VHDX §2.2.1). qcow/qcow2: `QFI\xfb` + version (qemu
//!   docs/interop/qcow2.txt). VDI: `0xbeda107f` little-endian at offset 0x40 (VirtualBox
//!   VDICore.h). Parallels: `WithoutFreeSpace` / `WithouFreSpacExt` (qemu block/parallels.c).
//!   DMG: `koly` trailer in the last 512 bytes (qemu block/dmg.c). cloop: the
//!   `#!/bin/sh\n#V2.0 Format\n` preamble (qemu block/cloop.c). bochs: `Bochs Virtual HD Image`
//!   (qemu block/bochs.c).
//! * OVA: a ustar header (`ustar` at offset 257); gzip: `1f 8b` (RFC 1952 §2.3.1).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};
use crate::vmdk::kind::{classify, DiskKind};

/// Bytes read from the start of a file.
const HEAD_BYTES: usize = 4096;
/// Bytes read from the end of a file (VHD footer, DMG trailer).
const TAIL_BYTES: usize = 512;

/// A disk image format we recognise but do not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Foreign {
    /// Microsoft VHD, fixed (a raw image followed by a footer).
    VhdFixed,
    /// Microsoft VHD, dynamic.
    VhdDynamic,
    /// Microsoft VHD, differencing.
    VhdDifferencing,
    /// Microsoft VHDX.
    Vhdx,
    /// qemu qcow version 1.
    Qcow,
    /// qemu qcow2 (versions 2 and 3).
    Qcow2,
    /// VirtualBox VDI.
    Vdi,
    /// Parallels (hdd).
    Parallels,
    /// Apple disk image (UDIF).
    Dmg,
    /// Linux compressed loop image.
    Cloop,
    /// Bochs growing/redolog image.
    Bochs,
}

impl Foreign {
    /// What the format is called, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Foreign::VhdFixed => "VHD (fixed) disk image",
            Foreign::VhdDynamic => "VHD (dynamic) disk image",
            Foreign::VhdDifferencing => "VHD (differencing) disk image",
            Foreign::Vhdx => "VHDX disk image",
            Foreign::Qcow => "qcow (version 1) disk image",
            Foreign::Qcow2 => "qcow2 disk image",
            Foreign::Vdi => "VDI (VirtualBox) disk image",
            Foreign::Parallels => "Parallels disk image",
            Foreign::Dmg => "DMG (Apple) disk image",
            Foreign::Cloop => "cloop compressed loop image",
            Foreign::Bochs => "Bochs disk image",
        }
    }
}

/// What a file is, by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "format")]
pub enum Content {
    /// A VMDK (sparse, streamOptimized, COWD extent or text descriptor).
    Vmdk(VmdkKind),
    /// An OVF descriptor (XML whose root is an `Envelope`).
    Ovf,
    /// Another XML document.
    Xml,
    /// An uncompressed tar: an OVA package.
    Ova,
    /// A gzip stream holding a tar (an OVA someone compressed).
    GzipTar,
    /// Another gzip stream.
    Gzip,
    /// A manifest (`SHA256(name)= hex` lines).
    Manifest,
    /// A `.cert`: signature line(s) and a PEM certificate.
    Certificate,
    /// A `.vmx`/`.vmtx` VM configuration.
    Vmx,
    /// A disk image format of another hypervisor; only qcow2 is decoded
    /// ([`crate::qcow2`]), the others are refused by name.
    Foreign(Foreign),
    /// Nothing recognised: a raw disk image (or any other file).
    Raw,
}

/// Which VMDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VmdkKind {
    /// A KDMV extent with compressed grains.
    StreamOptimized,
    /// A hosted sparse (KDMV), ESXi COWD extent, or a text descriptor.
    Hosted,
}

impl Content {
    /// What the content is called, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Content::Vmdk(VmdkKind::StreamOptimized) => "streamOptimized VMDK",
            Content::Vmdk(VmdkKind::Hosted) => "VMDK",
            Content::Ovf => "OVF descriptor",
            Content::Xml => "XML document (not an OVF envelope)",
            Content::Ova => "OVA package (tar)",
            Content::GzipTar => "gzip-compressed tar",
            Content::Gzip => "gzip-compressed file",
            Content::Manifest => "manifest (.mf)",
            Content::Certificate => "certificate (.cert)",
            Content::Vmx => "VM configuration (.vmx)",
            Content::Foreign(f) => f.name(),
            Content::Raw => "raw image",
        }
    }

    /// Whether the disk pipeline reads this content as a disk (VMDK, qcow2 or raw).
    pub fn is_disk(self) -> bool {
        matches!(
            self,
            Content::Vmdk(_) | Content::Foreign(Foreign::Qcow2) | Content::Raw
        )
    }

    /// The error for a command that needs a disk and was given this content, or `None` when it
    /// is a disk (VMDK, qcow2 or raw).
    pub fn not_a_disk_error(self) -> Option<Error> {
        Some(match self {
            Content::Vmdk(_) | Content::Raw | Content::Foreign(Foreign::Qcow2) => return None,
            Content::Foreign(f) => Error::usage(format!(
                "{}: not supported; convert it with qemu-img first (qemu-img convert -O vmdk)",
                f.name()
            )),
            Content::GzipTar => return Content::GzipTar.not_a_package_error(),
            Content::Ova => Error::usage(format!(
                "this is an {}, not a disk: use import, unpack or verify",
                self.name()
            )),
            other => Error::usage(format!("this is a {}, not a disk image", other.name())),
        })
    }
}

impl Content {
    /// The error for a command that needs an OVF package (descriptor, OVA, folder) and was given
    /// this content, or `None` when the content may be one. Unrecognised bytes (`Raw`, other
    /// XML) are left to the parser, whose error says more.
    pub fn not_a_package_error(self) -> Option<Error> {
        Some(match self {
            Content::Ovf | Content::Ova | Content::Xml | Content::Raw => return None,
            Content::GzipTar => Error::usage(
                "an OVA must be an uncompressed tar; this file is gzip-compressed (gunzip it first)",
            ),
            Content::Foreign(f) => Error::usage(format!(
                "{}: not supported; convert it with qemu-img first (qemu-img convert -O vmdk)",
                f.name()
            )),
            other => Error::usage(format!(
                "this is a {}, not an OVF descriptor or OVA package",
                other.name()
            )),
        })
    }
}

/// What [`sniff_path`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    /// The content.
    pub content: Content,
    /// A remark when the name says otherwise (`.vmdk` without any VMDK signature).
    pub note: Option<String>,
}

/// Classifies a file of `file_len` bytes from its first bytes `head` (up to 4 KiB) and its last
/// bytes `tail` (up to 512).
pub fn classify_bytes(head: &[u8], tail: &[u8], file_len: u64) -> Content {
    let at = |off: usize, sig: &[u8]| head.get(off..off + sig.len()) == Some(sig);
    if at(0, b"KDMV") || at(0, b"COWD") {
        return match classify(head, file_len) {
            DiskKind::StreamOptimized => Content::Vmdk(VmdkKind::StreamOptimized),
            _ => Content::Vmdk(VmdkKind::Hosted),
        };
    }
    if at(0, b"vhdxfile") {
        return Content::Foreign(Foreign::Vhdx);
    }
    if at(0, b"QFI\xfb") {
        let version = head
            .get(4..8)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        return Content::Foreign(if version == Some(1) {
            Foreign::Qcow
        } else {
            Foreign::Qcow2
        });
    }
    if at(0x40, &0xbeda_107f_u32.to_le_bytes()) {
        return Content::Foreign(Foreign::Vdi);
    }
    if at(0, b"WithoutFreeSpace") || at(0, b"WithouFreSpacExt") {
        return Content::Foreign(Foreign::Parallels);
    }
    if at(0, b"Bochs Virtual HD Image") {
        return Content::Foreign(Foreign::Bochs);
    }
    if at(0, b"#!/bin/sh\n#V2.0 Format\n") {
        return Content::Foreign(Foreign::Cloop);
    }
    if at(0, b"conectix") {
        return Content::Foreign(vhd_type(head).unwrap_or(Foreign::VhdDynamic));
    }
    if at(257, b"ustar") {
        return Content::Ova;
    }
    if at(0, &[0x1f, 0x8b]) {
        return if gzip_holds_tar(head) {
            Content::GzipTar
        } else {
            Content::Gzip
        };
    }
    // Footers: VHD fixed keeps its only copy of the footer in the last 512 bytes (some writers
    // use 511); DMG's koly block is the last 512 bytes.
    if tail.len() >= 512 && tail.starts_with(b"koly") {
        return Content::Foreign(Foreign::Dmg);
    }
    for off in [0usize, 1] {
        if tail.get(off..off + 8) == Some(b"conectix") {
            return Content::Foreign(vhd_type(&tail[off..]).unwrap_or(Foreign::VhdFixed));
        }
    }
    if classify(head, file_len) == DiskKind::HostedVmdk {
        return Content::Vmdk(VmdkKind::Hosted);
    }
    classify_text(head).unwrap_or(Content::Raw)
}

/// VHD disk type from a footer (big-endian u32 at offset 60: 2 fixed, 3 dynamic, 4 differencing).
fn vhd_type(footer: &[u8]) -> Option<Foreign> {
    let t = footer.get(60..64)?;
    match u32::from_be_bytes([t[0], t[1], t[2], t[3]]) {
        2 => Some(Foreign::VhdFixed),
        3 => Some(Foreign::VhdDynamic),
        4 => Some(Foreign::VhdDifferencing),
        _ => None,
    }
}

/// Whether the start of a gzip stream inflates to something with a ustar header.
fn gzip_holds_tar(head: &[u8]) -> bool {
    let mut out = [0u8; 512];
    let mut d = flate2::read::GzDecoder::new(head);
    let mut got = 0;
    while got < out.len() {
        match d.read(&mut out[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got >= 262 && &out[257..262] == b"ustar"
}

/// Text formats: OVF/XML, `.cert`, `.mf`, `.vmx`.
fn classify_text(head: &[u8]) -> Option<Content> {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    if head.is_empty() || head.contains(&0) {
        return None;
    }
    // A head cut in the middle of a UTF-8 sequence is still text.
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.valid_up_to() + 4 >= head.len() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with('<') {
        return Some(if root_is_envelope(trimmed) {
            Content::Ovf
        } else {
            Content::Xml
        });
    }
    if text.contains("-----BEGIN CERTIFICATE-----") {
        return Some(Content::Certificate);
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    // Only complete lines count: the last one may be cut by the head's end.
    let complete = if text.len() == HEAD_BYTES && lines.len() > 1 {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    if complete.is_empty() {
        return None;
    }
    if complete.iter().all(|l| is_manifest_line(l)) {
        return Some(Content::Manifest);
    }
    let vmx_lines = complete.iter().filter(|l| is_vmx_line(l)).count();
    let vmx_keys = complete.iter().any(|l| {
        let k = l
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(
            k.as_str(),
            ".encoding"
                | "config.version"
                | "virtualhw.version"
                | "displayname"
                | "guestos"
                | "memsize"
                | "numvcpus"
        )
    });
    if vmx_keys && vmx_lines * 10 >= complete.len() * 9 {
        return Some(Content::Vmx);
    }
    None
}

/// `ALG(name)= hex` (the manifest line of DSP0243 §5.1).
fn is_manifest_line(l: &str) -> bool {
    let Some((left, right)) = l.split_once(")=") else {
        return false;
    };
    let Some((alg, _name)) = left.split_once('(') else {
        return false;
    };
    matches!(
        alg.trim().to_ascii_uppercase().as_str(),
        "SHA1" | "SHA256" | "SHA512" | "SHA384" | "MD5"
    ) && !right.trim().is_empty()
        && right.trim().bytes().all(|b| b.is_ascii_hexdigit())
}

/// `key = "value"` (the .vmx line).
fn is_vmx_line(l: &str) -> bool {
    let Some((k, v)) = l.split_once('=') else {
        return false;
    };
    let k = k.trim();
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-[]".contains(&b))
        && v.trim().starts_with('"')
}

/// Whether the first element of an XML text is `Envelope` (any prefix).
fn root_is_envelope(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("<?") {
            match r.find("?>") {
                Some(i) => rest = &r[i + 2..],
                None => return false,
            }
        } else if let Some(r) = rest.strip_prefix("<!--") {
            match r.find("-->") {
                Some(i) => rest = &r[i + 3..],
                None => return false,
            }
        } else if let Some(r) = rest.strip_prefix("<!") {
            match r.find('>') {
                Some(i) => rest = &r[i + 1..],
                None => return false,
            }
        } else if let Some(r) = rest.strip_prefix('<') {
            let name: String = r
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .collect();
            let local = name.rsplit(':').next().unwrap_or("");
            return local == "Envelope";
        } else {
            return false;
        }
    }
}

/// Sniffs the file at `path`. A folder is not sniffed (callers handle folders first).
///
/// # Errors
/// I/O errors opening or reading `path`.
pub fn sniff_path(path: &Path) -> Result<Sniffed> {
    let (mut f, len, head) = open_head(path)?;
    let tail = if len >= TAIL_BYTES as u64 * 2 {
        f.seek(SeekFrom::Start(len - TAIL_BYTES as u64))
            .map_err(|e| Error::io("cannot seek", e).with_path(path))?;
        read_up_to(&mut f, TAIL_BYTES).map_err(|e| e.with_path(path))?
    } else {
        Vec::new()
    };
    let content = classify_bytes(&head, &tail, len);
    Ok(Sniffed {
        content,
        note: name_note(path, content),
    })
}

/// The virtual size in bytes that a foreign image's header states at a fixed place, for `info`:
/// qcow and qcow2 `size` (big-endian u64 at offset 24, qemu docs/interop/qcow2.txt), the VHD
/// footer's Current Size (big-endian u64 at footer offset 48, Microsoft VHD format spec §A; the
/// footer is the last 512 bytes, copied at offset 0 for a dynamic or differencing image), the VDI
/// 1.x header's disk size (little-endian u64 at 0x170, VirtualBox VDICore.h `VDIHEADER1`) and
/// the Parallels header's sector count (little-endian u64 at 36, qemu block/parallels.c; 32 bits
/// in the `WithoutFreeSpace` format). `None` for the formats whose size lies in structures
/// further in (VHDX metadata, DMG, cloop, Bochs) and when the header does not hold it.
///
/// Only the first 4 KiB and last 512 bytes are read; the size is reported, never used to
/// allocate or to read.
///
/// # Errors
/// I/O errors opening or reading `path`.
pub fn foreign_virtual_size(path: &Path, format: Foreign) -> Result<Option<u64>> {
    let (mut f, len, head) = open_head(path)?;
    let be = |b: &[u8], off: usize| {
        b.get(off..off + 8)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map(u64::from_be_bytes)
    };
    let le = |b: &[u8], off: usize| {
        b.get(off..off + 8)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map(u64::from_le_bytes)
    };
    Ok(match format {
        Foreign::Qcow | Foreign::Qcow2 => be(&head, 24),
        Foreign::VhdFixed | Foreign::VhdDynamic | Foreign::VhdDifferencing => {
            if head.starts_with(b"conectix") {
                be(&head, 48)
            } else if len >= TAIL_BYTES as u64 {
                f.seek(SeekFrom::Start(len - TAIL_BYTES as u64))
                    .map_err(|e| Error::io("cannot seek", e).with_path(path))?;
                let tail = read_up_to(&mut f, TAIL_BYTES).map_err(|e| e.with_path(path))?;
                [0usize, 1]
                    .into_iter()
                    .find(|&o| tail.get(o..o + 8) == Some(b"conectix"))
                    .and_then(|o| be(&tail, o + 48))
            } else {
                None
            }
        }
        Foreign::Vdi => {
            // Header version major 1 (u32 at 0x44: major in the high half).
            let major = head
                .get(0x44..0x48)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) >> 16);
            if major == Some(1) {
                le(&head, 0x170)
            } else {
                None
            }
        }
        Foreign::Parallels => le(&head, 36).and_then(|sectors| {
            let sectors = if head.starts_with(b"WithoutFreeSpace") {
                sectors & 0xffff_ffff
            } else {
                sectors
            };
            sectors.checked_mul(512)
        }),
        Foreign::Vhdx | Foreign::Dmg | Foreign::Cloop | Foreign::Bochs => None,
    })
}

/// Opens `path`: the file, its length and its first [`HEAD_BYTES`] bytes.
fn open_head(path: &Path) -> Result<(File, u64, Vec<u8>)> {
    let mut f = File::open(path).map_err(|e| Error::io("cannot open", e).with_path(path))?;
    let len = f
        .metadata()
        .map_err(|e| Error::io("cannot inspect", e).with_path(path))?
        .len();
    let head = read_up_to(&mut f, HEAD_BYTES).map_err(|e| e.with_path(path))?;
    Ok((f, len, head))
}

fn read_up_to(f: &mut File, n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("cannot read", e)),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

/// Whether a file whose content is [`Content::Gzip`] is read as a raw disk image. A gzip header
/// is no disk format: any raw image may start with the bytes of a `.gz` file (qemu-img reads
/// such an image as raw too). Only a name ending in `.gz` makes it a compressed file to refuse.
pub fn gzip_read_as_raw(path: &Path, content: Content) -> bool {
    content == Content::Gzip
        && !path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gz") || e.eq_ignore_ascii_case("tgz"))
}

/// A note when the file's extension promises a content it does not have.
fn name_note(path: &Path, content: Content) -> Option<String> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    let expected = match ext.as_str() {
        "vmdk" => matches!(content, Content::Vmdk(_)),
        "ovf" => matches!(content, Content::Ovf),
        "ova" => matches!(content, Content::Ova),
        "mf" => matches!(content, Content::Manifest),
        "cert" => matches!(content, Content::Certificate),
        "vmx" | "vmtx" => matches!(content, Content::Vmx),
        "vhd" | "vhdx" | "qcow2" | "qcow" | "vdi" | "hdd" | "dmg" => {
            matches!(content, Content::Foreign(_))
        }
        _ => return None,
    };
    (!expected).then(|| {
        format!(
            "{} is named .{ext} but holds no {} signature; read as: {}",
            path.display(),
            ext,
            content.name()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(head: &[u8]) -> Content {
        classify_bytes(head, &[], head.len() as u64)
    }

    #[test]
    fn a_cut_header_gives_no_virtual_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        for (bytes, f) in [
            (&b"QFI\xfb\0\0\0\x03\0\0"[..], Foreign::Qcow2),
            (&b"conectix\0\0"[..], Foreign::VhdDynamic),
            (&b"WithoutFreeSpace\0\0"[..], Foreign::Parallels),
            (&[0u8; 0x50][..], Foreign::Vdi),
        ] {
            std::fs::write(&p, bytes).unwrap();
            assert_eq!(foreign_virtual_size(&p, f).unwrap(), None, "{f:?}");
        }
        // A Parallels sector count whose size in bytes overflows is no size.
        let mut h = b"WithouFreSpacExt".to_vec();
        h.extend([0u8; 20]);
        h.extend(u64::MAX.to_le_bytes());
        std::fs::write(&p, &h).unwrap();
        assert_eq!(foreign_virtual_size(&p, Foreign::Parallels).unwrap(), None);
    }

    #[test]
    fn disk_signatures() {
        assert_eq!(c(b"vhdxfile\0\0"), Content::Foreign(Foreign::Vhdx));
        assert_eq!(c(b"QFI\xfb\0\0\0\x03"), Content::Foreign(Foreign::Qcow2));
        assert_eq!(c(b"QFI\xfb\0\0\0\x01"), Content::Foreign(Foreign::Qcow));
        let mut vdi = vec![0u8; 512];
        vdi[0x40..0x44].copy_from_slice(&0xbeda_107f_u32.to_le_bytes());
        assert_eq!(c(&vdi), Content::Foreign(Foreign::Vdi));
        assert_eq!(
            c(b"WithouFreSpacExt...."),
            Content::Foreign(Foreign::Parallels)
        );
        let mut vhd = vec![0u8; 512];
        vhd[..8].copy_from_slice(b"conectix");
        vhd[60..64].copy_from_slice(&3u32.to_be_bytes());
        assert_eq!(c(&vhd), Content::Foreign(Foreign::VhdDynamic));
        let mut fixed_tail = vhd.clone();
        fixed_tail[60..64].copy_from_slice(&2u32.to_be_bytes());
        assert_eq!(
            classify_bytes(&[0u8; 4096], &fixed_tail, 1 << 20),
            Content::Foreign(Foreign::VhdFixed)
        );
        let mut koly = vec![0u8; 512];
        koly[..4].copy_from_slice(b"koly");
        assert_eq!(
            classify_bytes(&[0u8; 4096], &koly, 1 << 20),
            Content::Foreign(Foreign::Dmg)
        );
        assert_eq!(
            c(b"Bochs Virtual HD Image\0"),
            Content::Foreign(Foreign::Bochs)
        );
        assert_eq!(
            c(b"#!/bin/sh\n#V2.0 Format\nmodprobe cloop"),
            Content::Foreign(Foreign::Cloop)
        );
        assert_eq!(c(&[0u8; 4096]), Content::Raw);
    }

    #[test]
    fn text_formats() {
        assert_eq!(
            c(b"<?xml version=\"1.0\"?>\n<!-- x -->\n<ovf:Envelope xmlns:ovf=\"x\">"),
            Content::Ovf
        );
        assert_eq!(c(b"\xef\xbb\xbf<Envelope>"), Content::Ovf);
        assert_eq!(c(b"<?xml version=\"1.0\"?><html>"), Content::Xml);
        assert_eq!(
            c(b"SHA256(vm.ovf)= 0123abcd\nSHA1(disk.vmdk)= ffee\n"),
            Content::Manifest
        );
        assert_eq!(
            c(b"SHA256(vm.mf)= 00ff\n-----BEGIN CERTIFICATE-----\nMII\n"),
            Content::Certificate
        );
        assert_eq!(
            c(b".encoding = \"UTF-8\"\nconfig.version = \"8\"\nscsi0:0.fileName = \"a.vmdk\"\n"),
            Content::Vmx
        );
        assert_eq!(
            c(b"# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicSparse\"\n"),
            Content::Vmdk(VmdkKind::Hosted)
        );
        assert_eq!(c(b"hello world\n"), Content::Raw);
    }

    #[test]
    fn gzip_tar_is_named() {
        use std::io::Write;
        let mut tar = vec![0u8; 1024];
        tar[..6].copy_from_slice(b"vm.ovf");
        tar[257..263].copy_from_slice(b"ustar\0");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(c(&gz), Content::GzipTar);
        assert_eq!(
            Content::GzipTar
                .not_a_disk_error()
                .map(|e| e.message().contains("gzip")),
            Some(true)
        );
    }

    #[test]
    fn note_when_the_name_lies() {
        let p = Path::new("x.vmdk");
        assert!(name_note(p, Content::Raw).is_some());
        assert!(name_note(p, Content::Vmdk(VmdkKind::Hosted)).is_none());
        assert!(name_note(Path::new("x.img"), Content::Raw).is_none());
    }
}
