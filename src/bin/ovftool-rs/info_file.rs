//! `info` on the inputs that are neither a package, a `.vmx` nor a disk we read: a manifest
//! (`.mf`), a certificate (`.cert`), a foreign disk image (qcow2, VHD, VHDX, VDI...) and a
//! gzip-compressed OVA. Each is described (exit 0), with what to do when no command takes it.
//! JSON schemas: docs/JSON.md §info (manifest, certificate, foreign disk, gzip-compressed OVA).

use std::io::Read;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use ovftool::cert::{self, CertFile, CertInfo};
use ovftool::manifest::Manifest;
use ovftool::sniff::Foreign;
use ovftool::{Error, Limits};
use serde_json::json;

use crate::info_disk::human;
use crate::ui::{path_json, Note, Outcome, Ui};

/// The note for a foreign disk image.
const FOREIGN_NOTE: &str =
    "not supported for conversion; convert it with qemu-img first (qemu-img convert -O vmdk)";
/// The note for a gzip-compressed OVA.
const GZIP_OVA_NOTE: &str =
    "an OVA must be an uncompressed tar; this file is gzip-compressed (gunzip it first)";

/// Reads at most `cap` bytes of `path`; more is a limit error, not a silent cut.
fn read_capped(path: &Path, cap: u64, what: &str) -> ovftool::Result<Vec<u8>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io("cannot open", e).with_path(path))?;
    let mut buf = Vec::new();
    f.take(cap.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("cannot read", e).with_path(path))?;
    if buf.len() as u64 > cap {
        return Err(Error::limit(what, buf.len() as u64, cap).with_path(path));
    }
    Ok(buf)
}

fn file_size(path: &Path) -> ovftool::Result<u64> {
    Ok(std::fs::metadata(path)
        .map_err(|e| Error::io("cannot stat", e).with_path(path))?
        .len())
}

/// A manifest: its entries (algorithm, file name, digest).
pub fn manifest(path: &Path, ui: &Ui) -> ovftool::Result<Outcome> {
    let limits = Limits::DEFAULT;
    let bytes = read_capped(path, limits.max_manifest_bytes, "manifest size")?;
    let m = Manifest::parse(&bytes, &limits).map_err(|e| e.with_path(path))?;
    if ui.json {
        ui.print_envelope(
            true,
            json!({
                "path": path_json(path),
                "kind": "manifest",
                "algorithms": m.algorithms(),
                "entries": m.entries.iter().map(|e| json!({
                    "algorithm": e.algorithm,
                    "name": e.name,
                    "digest": hex::encode(&e.digest),
                    "line": e.line,
                })).collect::<Vec<_>>(),
            }),
            Vec::new(),
            Vec::new(),
        );
    } else {
        let algs: Vec<String> = m.algorithms().iter().map(|a| a.to_string()).collect();
        ui.println(&format!(
            "{}: manifest, {} entr{} ({})",
            path.display(),
            m.entries.len(),
            if m.entries.len() == 1 { "y" } else { "ies" },
            algs.join(", ")
        ));
        for e in &m.entries {
            ui.println(&format!(
                "  {:<7} {}  {}",
                e.algorithm.to_string(),
                crate::ui::printable(&e.name),
                hex::encode(&e.digest)
            ));
        }
    }
    Ok(Outcome::Ok)
}

fn when(unix: u64) -> String {
    UNIX_EPOCH
        .checked_add(Duration::from_secs(unix))
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .unwrap_or_else(|| format!("{unix} (seconds since 1970)"))
}

/// A certificate file: the signature line (algorithm, manifest signed) and each certificate.
pub fn certificate(path: &Path, ui: &Ui) -> ovftool::Result<Outcome> {
    let limits = Limits::DEFAULT;
    let bytes = read_capped(path, limits.max_manifest_bytes, "certificate file size")?;
    let cf = CertFile::parse(&bytes, &limits).map_err(|e| e.with_path(path))?;
    let certs: Vec<CertInfo> = cf.certificates.iter().map(cert::info).collect();
    if ui.json {
        ui.print_envelope(
            true,
            json!({
                "path": path_json(path),
                "kind": "certificate",
                "algorithm": cf.algorithm,
                "manifest": cf.manifest_name,
                "signature_bytes": cf.signature.len(),
                "signer": certs.first(),
                "certificates": certs,
            }),
            Vec::new(),
            Vec::new(),
        );
    } else {
        ui.println(&format!(
            "{}: certificate, a {} signature ({} bytes) over {}",
            path.display(),
            cf.algorithm,
            cf.signature.len(),
            crate::ui::printable(&cf.manifest_name)
        ));
        for (i, c) in certs.iter().enumerate() {
            ui.println(&format!(
                "  {}: {}",
                if i == 0 { "signer" } else { "chain " },
                crate::ui::printable(&c.subject)
            ));
            ui.println(&format!(
                "    issuer:  {}{}",
                crate::ui::printable(&c.issuer),
                if c.self_signed { " (self-signed)" } else { "" }
            ));
            ui.println(&format!(
                "    valid:   {} to {}",
                when(c.not_before),
                when(c.not_after)
            ));
            ui.println(&format!("    key:     RSA {} bits", c.key_bits));
        }
    }
    Ok(Outcome::Ok)
}

/// A disk image we recognise but do not decode: its format and, when its header states it at a
/// fixed place, its virtual size.
pub fn foreign(path: &Path, format: Foreign, ui: &Ui) -> ovftool::Result<Outcome> {
    let virtual_size = ovftool::sniff::foreign_virtual_size(path, format)?;
    let size = file_size(path)?;
    if ui.json {
        ui.print_envelope(
            true,
            json!({
                "path": path_json(path),
                "kind": "foreign-disk",
                "format": format,
                "format_name": format.name(),
                "virtual_size_bytes": virtual_size,
                "file_size_bytes": size,
                "convertible": false,
            }),
            Vec::new(),
            vec![Note::warning(
                "foreign-disk",
                Some(path.display().to_string()),
                FOREIGN_NOTE,
            )],
        );
    } else {
        ui.println(&format!("{}: {}", path.display(), format.name()));
        if let Some(v) = virtual_size {
            ui.println(&format!("  virtual size: {}", human(v)));
        }
        ui.println(&format!("  file size:    {}", human(size)));
        ui.println(&format!("  note: {FOREIGN_NOTE}"));
    }
    Ok(Outcome::Ok)
}

/// An OVA someone gzip-compressed: named, with what to do.
pub fn gzip_ova(path: &Path, ui: &Ui) -> ovftool::Result<Outcome> {
    let size = file_size(path)?;
    if ui.json {
        ui.print_envelope(
            true,
            json!({
                "path": path_json(path),
                "kind": "gzip-compressed-ova",
                "file_size_bytes": size,
            }),
            Vec::new(),
            vec![Note::warning(
                "gzip-compressed-ova",
                Some(path.display().to_string()),
                GZIP_OVA_NOTE,
            )],
        );
    } else {
        ui.println(&format!(
            "{}: gzip-compressed OVA (a tar inside gzip)",
            path.display()
        ));
        ui.println(&format!("  file size: {}", human(size)));
        ui.println(&format!("  note: {GZIP_OVA_NOTE}"));
    }
    Ok(Outcome::Ok)
}
