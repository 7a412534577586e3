//! Reading a descriptor from where a user points: an `.ovf` file, an `.ova` (only its first
//! tar entry, the descriptor, is read, through [`crate::ova::Reader`] and its name gate), a
//! folder holding one descriptor, or an http(s) body. Bounded by
//! [`Limits::max_descriptor_bytes`]. Used by `info` and `validate`, which look at the
//! descriptor only; commands that check the whole package read it through their own pass.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::ovf::{Envelope, ParseOptions};

/// A descriptor read from a path, with the name it has inside its package.
pub struct Loaded {
    /// The descriptor bytes (at most the descriptor size limit).
    pub bytes: Vec<u8>,
    /// The descriptor's file or entry name.
    pub name: String,
}

fn read_bounded(mut r: impl Read, limit: u64, what: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.by_ref()
        .take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(format!("cannot read {what}"), e))?;
    if buf.len() as u64 > limit {
        return Err(
            Error::limit("descriptor size in bytes", buf.len() as u64, limit).with_entry(what),
        );
    }
    Ok(buf)
}

fn is_tar(path: &Path) -> bool {
    let mut head = [0u8; 263];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    n >= 262 && &head[257..262] == b"ustar"
}

/// Reads the descriptor behind `path`: a file, the first entry of an OVA (streaming, bounded),
/// or the single `.ovf` in a folder.
///
/// # Errors
/// I/O errors; [`crate::ErrorKind::InvalidOvf`] when a folder holds no or several
/// descriptors, or an OVA does not start with one; a limit error above the descriptor cap.
pub fn load(path: &Path, limits: &Limits) -> Result<Loaded> {
    let limit = limits.max_descriptor_bytes;
    if path.is_dir() {
        let mut found = Vec::new();
        for e in std::fs::read_dir(path)
            .map_err(|e| Error::io("cannot list folder", e).with_path(path))?
        {
            let e = e.map_err(|e| Error::io("cannot list folder", e).with_path(path))?;
            let p = e.path();
            if p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("ovf")) {
                found.push(p);
            }
        }
        found.sort();
        return match found.as_slice() {
            [one] => load(one, limits),
            [] => Err(Error::invalid_ovf(
                "expected a folder holding one .ovf descriptor, found none",
            )
            .with_path(path)),
            _ => Err(Error::invalid_ovf(format!(
                "expected a folder holding one .ovf descriptor, found {}",
                found.len()
            ))
            .with_path(path)),
        };
    }
    let by_name = path
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("ova"));
    let file = File::open(path).map_err(|e| Error::io("cannot open", e).with_path(path))?;
    if by_name || is_tar(path) {
        return load_ova(file, path, limits);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = read_bounded(file, limit, &name).map_err(|e| e.with_path(path))?;
    Ok(Loaded { bytes, name })
}

/// The descriptor of an OVA read as a stream: its first tar entry (DSP0243 §5.3), bounded.
pub fn load_ova(file: impl Read, path: &Path, limits: &Limits) -> Result<Loaded> {
    let limit = limits.max_descriptor_bytes;
    // OVA (DSP0243 §5.3): the descriptor is the first tar entry. Read through the library's
    // reader: its name gate and header limits (PAX, long names) apply as in verify.
    let mut ar = crate::ova::Reader::new(std::io::BufReader::new(file), *limits);
    let Some(mut entry) = ar.next_entry().map_err(|e| e.with_path(path))? else {
        return Err(Error::invalid_ovf(
            "the OVA is empty: expected the descriptor as its first entry",
        )
        .with_path(path));
    };
    let name = entry.header().name.clone();
    if !name.to_ascii_lowercase().ends_with(".ovf") {
        drop(entry);
        // Name the fault: a package without any descriptor is not one in the wrong order.
        let mut later = false;
        while let Ok(Some(e)) = ar.next_entry() {
            if e.header().name.to_ascii_lowercase().ends_with(".ovf") {
                later = true;
                break;
            }
        }
        if !later {
            return Err(Error::invalid_ovf("no .ovf descriptor in the package").with_path(path));
        }
        return Err(Error::invalid_ovf(format!(
            "expected the OVF descriptor as the first entry of the OVA, found {name:?}"
        ))
        .with_path(path));
    }
    let size = entry.header().size;
    if size > limit {
        return Err(Error::limit("descriptor size in bytes", size, limit)
            .with_entry(name)
            .with_path(path));
    }
    let bytes = read_bounded(&mut entry, limit, &name).map_err(|e| e.with_path(path))?;
    Ok(Loaded { bytes, name })
}

/// The descriptor of a package at an http(s) URL, read from `body` (an `.ova`'s first entry,
/// or the `.ovf` itself).
pub fn load_url(body: impl Read, url: &Path) -> Result<Loaded> {
    let limit = Limits::default().max_descriptor_bytes;
    let lower = url.to_string_lossy().to_ascii_lowercase();
    if lower
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .ends_with(".ovf")
    {
        let name = lower.rsplit('/').next().unwrap_or("").to_string();
        let bytes = read_bounded(body, limit, &name).map_err(|e| e.with_path(url))?;
        return Ok(Loaded { bytes, name });
    }
    load_ova(body, url, &Limits::default())
}

/// Loads and parses the descriptor behind `path` ([`load`]); errors carry the path and entry.
///
/// # Errors
/// As [`load`]; [`crate::ErrorKind::Usage`] for a file that is no descriptor or package (a
/// disk image); the parser's errors.
pub fn open(path: &Path) -> Result<(Loaded, Envelope)> {
    if path.is_file() {
        let sniffed = crate::sniff::sniff_path(path)?;
        if let Some(e) = sniffed.content.not_a_package_error() {
            return Err(e.with_path(path));
        }
        // Neither XML nor tar nor any disk format: a raw image, unless the name says it is a
        // descriptor or a package (then the parser's error, with its position, says more).
        let named_package = path.extension().is_some_and(|x| {
            ["ovf", "ova", "xml", "tar"]
                .iter()
                .any(|k| x.eq_ignore_ascii_case(k))
        });
        if sniffed.content == crate::sniff::Content::Raw && !named_package {
            return Err(Error::usage(format!(
                "this is not an OVF descriptor or OVA package: no XML and no tar header (read as: {})",
                sniffed.content.name()
            ))
            .with_path(path));
        }
    }
    let opts = ParseOptions::default();
    let loaded = load(path, &opts.limits)?;
    let env = Envelope::parse_with(&loaded.bytes, &opts).map_err(|e| {
        let e = e.with_path(path);
        if path.is_file()
            && path.file_name().map(|n| n.to_string_lossy().into_owned())
                != Some(loaded.name.clone())
        {
            e.with_entry(loaded.name.clone())
        } else {
            e
        }
    })?;
    Ok((loaded, env))
}
