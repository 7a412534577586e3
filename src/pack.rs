//! `pack` (OVF package folder → OVA) and `unpack` (OVA → folder, verifying while extracting).
//!
//! Both write under a temporary name and rename only when everything succeeded
//! ([`crate::output`]): a failed pack leaves no OVA, a failed unpack leaves no folder.
//!
//! Pack writes the descriptor first, then the manifest and certificate, then the files in
//! References order ([`crate::ova::Writer`]). The manifest's size is known before the digests
//! (every canonical line has a fixed length), so its room is reserved and filled after the files
//! were copied and hashed in the same pass: one read of every input byte.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cert::Signer;
use crate::digest::{copy_hashing, Algorithm, HashOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::limits::Limits;
use crate::manifest::Manifest;
use crate::output::{PendingDir, PendingFile};
use crate::ova::names::{self, Role};
use crate::ova::writer::{source_date_epoch, Writer};
use crate::progress::Progress;
use crate::scan::{self, Extract};
use crate::verify::{self, Code, Policy, Report, Severity};

/// Which manifest `pack` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ManifestMode {
    /// The algorithm of the package's existing manifest, SHA-256 when it has none.
    #[default]
    Auto,
    /// No manifest (and therefore no signature).
    None,
    /// This algorithm.
    Algorithm(Algorithm),
}

/// Options of [`pack`].
#[derive(Debug, Clone, Default)]
pub struct PackOptions {
    /// The manifest to write.
    pub manifest: ManifestMode,
    /// Sign the manifest with this key and certificate.
    pub signer: Option<Signer>,
    /// Replace an existing output.
    pub force: bool,
    /// Header mtime; `None` = `$SOURCE_DATE_EPOCH` or 0.
    pub mtime: Option<u64>,
    /// Size caps.
    pub limits: Limits,
    /// Receives progress of the copy (`None`: none reported).
    pub progress: Option<Arc<dyn Progress>>,
}

/// What [`pack`] did.
#[derive(Debug, Clone, Default)]
pub struct PackSummary {
    /// The OVA written.
    pub output: PathBuf,
    /// Members in archive order with their sizes.
    pub entries: Vec<(String, u64)>,
    /// Manifest algorithm, if a manifest was written.
    pub manifest: Option<Algorithm>,
    /// Whether a certificate was written (new signature or an unchanged old one).
    pub signed: bool,
    /// Notes for the user (fixed sizes, dropped certificate, ignored files).
    pub notes: Vec<String>,
}

struct Input {
    dir: PathBuf,
    ovf_name: String,
    base: String,
}

fn locate(input: &Path) -> Result<Input> {
    let (dir, ovf) = if input.is_dir() {
        let mut found = Vec::new();
        for e in
            std::fs::read_dir(input).map_err(|e| Error::io("cannot list", e).with_path(input))?
        {
            let e = e.map_err(|e| Error::io("cannot list", e).with_path(input))?;
            let n = e.file_name().to_string_lossy().into_owned();
            if names::role(&n) == Role::Descriptor && e.path().is_file() {
                found.push(n);
            }
        }
        found.sort();
        match found.len() {
            1 => (input.to_path_buf(), found.remove(0)),
            0 => return Err(Error::usage("no .ovf descriptor in the folder").with_path(input)),
            n => {
                return Err(Error::usage(format!(
                    "{n} descriptors in the folder; name the .ovf to pack"
                ))
                .with_path(input))
            }
        }
    } else {
        let name = input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::usage("no descriptor name").with_path(input))?;
        if names::role(&name) != Role::Descriptor {
            return Err(Error::usage("expected a folder or an .ovf descriptor").with_path(input));
        }
        let dir = match input.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        (dir, name)
    };
    names::check_writable_name(&ovf)?;
    let base = ovf
        .rsplit_once('.')
        .map(|(b, _)| b.to_string())
        .unwrap_or_else(|| ovf.clone());
    Ok(Input {
        dir,
        ovf_name: ovf,
        base,
    })
}

fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io("cannot open", e).with_path(path))?
        .len();
    if size > limit {
        return Err(Error::limit("file size", size, limit).with_path(path));
    }
    std::fs::read(path).map_err(|e| Error::io("cannot read", e).with_path(path))
}

/// One member to copy: name in the archive, source path, size.
struct Part {
    name: String,
    path: PathBuf,
    size: u64,
}

/// A file of the package folder `dir`, through the gate: a link that leads out of the folder
/// (`disk1.vmdk -> /etc/passwd`) is refused rather than packed.
fn package_file(dir: &Path, name: &str) -> Result<PathBuf> {
    crate::gate::resolve_in_dir(dir, name).map_err(|e| {
        Error::unsafe_path(format!(
            "{name} leads out of the package folder (a link?): {}",
            e.message()
        ))
        .with_path(dir.join(name))
    })
}

/// Packs an OVF package (a folder holding one `.ovf`, or the `.ovf` itself with its files
/// beside it) into `output`.
///
/// # Errors
/// [`ErrorKind::AlreadyExists`] without `force`; [`ErrorKind::Usage`] for a missing or
/// ambiguous descriptor; [`ErrorKind::UnsafePath`] for an `href` that is not a plain name;
/// [`ErrorKind::Verification`] when a referenced file is missing; descriptor errors; I/O.
///
/// # Security
/// Every `href` passes the OVA name policy before a file is opened; the output appears only when
/// complete.
pub fn pack(input: &Path, output: &Path, opts: &PackOptions) -> Result<PackSummary> {
    let progress = crate::progress::of(&opts.progress);
    tracing::info!(input = %input.display(), output = %output.display(), "pack: open package");
    let inp = locate(input)?;
    let mut notes = Vec::new();
    let ovf_path = inp.dir.join(&inp.ovf_name);
    let mut desc_bytes = read_capped(&ovf_path, opts.limits.max_descriptor_bytes)?;
    let desc = verify::descriptor_for_pack(&desc_bytes, &opts.limits)
        .map_err(|e| e.with_path(&ovf_path))?;
    // Files in References order, chunks expanded.
    let mut parts: Vec<Part> = Vec::new();
    let mut fixes: Vec<(String, u64)> = Vec::new();
    for f in &desc.files {
        names::check_writable_name(&f.href).map_err(|e| e.with_path(&ovf_path))?;
        let mut total = 0u64;
        let mut these = Vec::new();
        match f.chunk_size {
            Some(_) => {
                for i in 0..=(opts.limits.max_ova_entries as u64) {
                    let n = names::chunk_name(&f.href, i);
                    let p = package_file(&inp.dir, &n)?;
                    match std::fs::metadata(&p) {
                        Ok(m) if m.is_file() => these.push(Part {
                            name: n,
                            path: p,
                            size: m.len(),
                        }),
                        _ => break,
                    }
                }
            }
            None => {
                let p = package_file(&inp.dir, &f.href)?;
                match std::fs::metadata(&p) {
                    Ok(m) if m.is_file() => these.push(Part {
                        name: f.href.clone(),
                        path: p,
                        size: m.len(),
                    }),
                    _ => {}
                }
            }
        }
        if these.is_empty() {
            return Err(Error::verification(format!(
                "{} (File {}) is referenced by the descriptor but missing",
                f.href, f.id
            ))
            .with_path(inp.dir.join(&f.href)));
        }
        for p in &these {
            total = total
                .checked_add(p.size)
                .ok_or_else(|| Error::corrupt("sizes overflow"))?;
        }
        if let Some(size) = f.size {
            if size != total {
                notes.push(format!(
                    "ovf:size of {} corrected from {size} to {total}",
                    f.href
                ));
                fixes.push((f.id.clone(), total));
            }
        }
        parts.extend(these);
    }
    if !fixes.is_empty() {
        desc_bytes =
            verify::set_file_sizes_for_pack(&desc_bytes, &fixes, &opts.limits).map_err(|e| {
                Error::new(
                    e.kind(),
                    format!("cannot correct ovf:size: {}", e.message()),
                )
                .with_path(&ovf_path)
            })?;
    }
    // Manifest choice.
    let old_mf_path = inp.dir.join(format!("{}.mf", inp.base));
    let old_mf = if old_mf_path.is_file() {
        Some(read_capped(&old_mf_path, opts.limits.max_manifest_bytes)?)
    } else {
        None
    };
    let old_algs = old_mf
        .as_ref()
        .and_then(|b| Manifest::parse(b, &opts.limits).ok())
        .map(|m| m.algorithms())
        .unwrap_or_default();
    let alg = match opts.manifest {
        ManifestMode::None => None,
        ManifestMode::Algorithm(a) => Some(a),
        ManifestMode::Auto => Some(if old_algs.len() == 1 {
            old_algs[0]
        } else {
            Algorithm::Sha256
        }),
    };
    if alg.is_none() && opts.signer.is_some() {
        return Err(Error::usage(
            "signing needs a manifest, and none is written",
        ));
    }
    let mf_name = format!("{}.mf", inp.base);
    let cert_name = format!("{}.cert", inp.base);
    let old_cert_path = inp.dir.join(&cert_name);
    // An old certificate survives only when the new manifest is byte-identical to the old one.
    let old_cert =
        if opts.signer.is_none() && alg.is_some() && old_mf.is_some() && old_cert_path.is_file() {
            Some(read_capped(&old_cert_path, opts.limits.max_manifest_bytes)?)
        } else {
            None
        };
    let mut pre_digests: Option<Vec<Vec<u8>>> = None;
    if let (Some(a), Some(_)) = (alg, old_cert.as_ref()) {
        // Hash first to know whether the old signature still holds (signed input, no --sign).
        let mut ds = Vec::new();
        for p in &parts {
            let mut f =
                File::open(&p.path).map_err(|e| Error::io("cannot open", e).with_path(&p.path))?;
            let r = copy_hashing(
                &mut f,
                None,
                &HashOptions {
                    algorithms: vec![a],
                    prefix_bytes: 0,
                    size_hint: Some(p.size),
                },
                progress,
            )
            .map_err(|e| e.with_path(&p.path))?;
            ds.push(r.digests.get(a).map(<[u8]>::to_vec).unwrap_or_default());
        }
        pre_digests = Some(ds);
    }
    let build_manifest = |digests: &[Vec<u8>], a: Algorithm| -> Vec<u8> {
        let mut m = Manifest::default();
        m.push(a, &inp.ovf_name, a.digest(&desc_bytes));
        for (p, d) in parts.iter().zip(digests) {
            m.push(a, &p.name, d.clone());
        }
        m.to_bytes()
    };
    let keep_old_cert = match (alg, &pre_digests, &old_mf, &old_cert) {
        (Some(a), Some(ds), Some(om), Some(_)) => build_manifest(ds, a) == *om,
        _ => false,
    };
    if old_cert.is_some() && !keep_old_cert {
        notes.push(format!("{cert_name} dropped: the manifest changed, so its signature no longer holds (sign the package again to keep one)"));
    }

    // --- Write.
    let mut inputs = vec![ovf_path.clone(), old_mf_path.clone(), old_cert_path.clone()];
    inputs.extend(parts.iter().map(|p| p.path.clone()));
    crate::output::refuse_overlap(output, &inputs)?;
    let mut pending = PendingFile::create(output, opts.force)?;
    let mtime = opts.mtime.unwrap_or_else(source_date_epoch);
    let mut entries = Vec::new();
    {
        let mut w = Writer::new(pending.file(), mtime);
        w.append_bytes(&inp.ovf_name, &desc_bytes)?;
        entries.push((inp.ovf_name.clone(), desc_bytes.len() as u64));
        let mf_res = match alg {
            Some(a) => {
                let len = Manifest::canonical_line_len(a, &inp.ovf_name)
                    + parts
                        .iter()
                        .map(|p| Manifest::canonical_line_len(a, &p.name))
                        .sum::<usize>();
                entries.push((mf_name.clone(), len as u64));
                Some(w.reserve(&mf_name, len as u64)?)
            }
            None => None,
        };
        let cert_res = match (&opts.signer, keep_old_cert, &old_cert, alg) {
            (Some(s), _, _, Some(a)) => {
                let len = s.cert_file_len(a, &mf_name) as u64;
                entries.push((cert_name.clone(), len));
                Some(w.reserve(&cert_name, len)?)
            }
            (None, true, Some(c), _) => {
                w.append_bytes(&cert_name, c)?;
                entries.push((cert_name.clone(), c.len() as u64));
                None
            }
            _ => None,
        };
        let mut digests = Vec::new();
        for p in &parts {
            let f =
                File::open(&p.path).map_err(|e| Error::io("cannot open", e).with_path(&p.path))?;
            tracing::info!(entry = %p.name, size = p.size, "pack: add entry");
            progress.start(&p.name, Some(p.size));
            let r = w.append_file(
                &p.name,
                p.size,
                &f,
                &HashOptions {
                    algorithms: alg.into_iter().collect(),
                    prefix_bytes: 0,
                    size_hint: Some(p.size),
                },
                progress,
            )?;
            progress.finish();
            entries.push((p.name.clone(), p.size));
            digests.push(
                alg.and_then(|a| r.digests.get(a).map(<[u8]>::to_vec))
                    .unwrap_or_default(),
            );
        }
        if let Some(pre) = &pre_digests {
            if pre != &digests {
                return Err(Error::new(
                    ErrorKind::Io,
                    "input files changed while packing",
                ));
            }
        }
        if let (Some(a), Some(res)) = (alg, mf_res) {
            let mf = build_manifest(&digests, a);
            w.fill(&res, &mf, b'\n')?;
            if let (Some(s), Some(cres)) = (&opts.signer, cert_res) {
                let c = s.cert_file(a, &mf_name, &mf)?;
                w.fill(&cres, &c, b' ')?;
            }
        }
        w.finish()?;
    }
    let output = pending.commit()?;
    let ignored: Vec<String> = std::fs::read_dir(&inp.dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    n != &mf_name && n != &cert_name && !entries.iter().any(|(en, _)| en == n)
                })
                .collect()
        })
        .unwrap_or_default();
    if !ignored.is_empty() {
        notes.push(format!(
            "not referenced, not packed: {}",
            ignored.join(", ")
        ));
    }
    Ok(PackSummary {
        output,
        entries,
        manifest: alg,
        signed: opts.signer.is_some() || keep_old_cert,
        notes,
    })
}

/// Options of [`unpack`].
#[derive(Debug, Clone, Default)]
pub struct UnpackOptions {
    /// Replace an existing output folder.
    pub force: bool,
    /// Extract even when manifest digests do not match (structure, names, References and a
    /// present signature are still enforced; see [`Policy::skip_manifest_check`]).
    pub skip_manifest_check: bool,
    /// ovftool's `--lax` (see [`Policy::lax`]).
    pub lax: bool,
    /// Reassemble chunked files (`ovf:chunkSize`) and decompress gzip files
    /// (`ovf:compression="gzip"`, a trailing `.gz` is dropped from the name) after verifying;
    /// the descriptor is rewritten to match, the manifest recomputed and the certificate
    /// (whose signature no longer holds) removed.
    pub expand: bool,
    /// Size caps.
    pub limits: Limits,
    /// Receives progress of the extraction (`None`: none reported).
    pub progress: Option<Arc<dyn Progress>>,
}

impl UnpackOptions {
    /// The policy the package's verdict is judged by (the same as `verify` and `import` with
    /// the same options).
    pub fn policy(&self) -> Policy {
        Policy {
            lax: self.lax,
            skip_manifest_check: self.skip_manifest_check,
            ..Policy::default()
        }
    }
}

/// Extracts the OVA `input` (a file, or `-` for standard input) into the new folder `out_dir`,
/// verifying while extracting (one pass). The folder appears only when every check passed; the
/// returned report says why it did not.
///
/// # Errors
/// [`ErrorKind::AlreadyExists`] without `force`; I/O errors. Problems with the package are
/// findings in the report (and then nothing is left behind).
///
/// # Security
/// Member names pass the OVA name policy and are created exclusively inside a fresh temporary
/// folder; links, devices and duplicates are refused before anything is written for them.
pub fn unpack(input: &Path, out_dir: &Path, opts: &UnpackOptions) -> Result<Report> {
    let progress = crate::progress::of(&opts.progress);
    tracing::info!(input = %input.display(), output = %out_dir.display(), "unpack: open archive");
    if input != Path::new("-") {
        crate::output::refuse_overlap(out_dir, &[input])?;
        // By content: a gzip-compressed tar, a disk image or a descriptor is named, not read as
        // a broken tar header.
        if input.is_file() {
            let content = crate::sniff::sniff_path(input)?.content;
            if let Some(e) = content.not_a_package_error() {
                return Err(e.with_path(input));
            }
            if content == crate::sniff::Content::Ovf {
                return Err(Error::usage(
                    "this is an OVF descriptor, not an OVA: there is nothing to unpack",
                )
                .with_path(input));
            }
        }
    }
    let pending = PendingDir::create(out_dir, opts.force)?;
    let mut report = Report {
        path: input.to_path_buf(),
        kind: crate::verify::PackageKind::Ova,
        ..Default::default()
    };
    let mut extract = Extract {
        dir: pending.path(),
    };
    let (collected, status) = if input == Path::new("-") {
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        scan::scan_ova(&mut lock, None, &opts.limits, &mut extract, progress)
    } else {
        let f = File::open(input).map_err(|e| Error::io("cannot open", e).with_path(input))?;
        let meta = f
            .metadata()
            .map_err(|e| Error::io("cannot inspect", e).with_path(input))?;
        progress.start("unpack", Some(meta.len()));
        let mut cursor = &f;
        // A regular file is read in place: members are copied out of it by the kernel.
        let archive = meta.is_file().then_some(&f);
        let tally = crate::progress::Tally::new(progress);
        let r = scan::scan_ova(
            &mut cursor as &mut dyn Read,
            archive,
            &opts.limits,
            &mut extract,
            &tally,
        );
        if r.1.is_ok() && meta.is_file() {
            // The archive was read to its end: headers and padding count as done too.
            tally.complete(meta.len());
        }
        progress.finish();
        r
    };
    if let Err(e) = status {
        report.push_error(&e);
    }
    // An I/O failure (a full or read-only target, a read error) is an operational error (exit
    // 2), not a finding about the package (exit 1); the pending folder goes with it.
    if let Some(f) = report
        .findings
        .iter()
        .find(|f| f.severity == Severity::Error && f.code == Code::Error(ErrorKind::Io))
    {
        return Err(Error::new(ErrorKind::Io, f.message.clone()).with_path(out_dir));
    }
    if report.passed() {
        let reopen = (input != Path::new("-")).then_some(input);
        verify::check_package(
            &collected,
            reopen,
            &opts.policy(),
            false,
            &opts.limits,
            &mut report,
        );
    }
    if report.passed() {
        if opts.expand {
            if let Some(desc) = report.descriptor.clone() {
                expand(pending.path(), &desc, &opts.limits)?;
            }
        }
        pending.commit()?;
    }
    Ok(report)
}

/// Reassembles chunked and decompresses gzip files in an extracted package folder (see
/// [`UnpackOptions::expand`]).
fn expand(dir: &Path, desc_name: &str, limits: &Limits) -> Result<()> {
    use crate::ovf::{Envelope, ParseOptions};
    let desc_path = dir.join(desc_name);
    let bytes = read_capped(&desc_path, limits.max_descriptor_bytes)?;
    let mut env = Envelope::parse_with(&bytes, &ParseOptions { limits: *limits })?;
    let files = env.references();
    let disks = env.disks();
    let mut changed = false;
    for f in &files {
        let gzip = f.compression.as_deref() == Some("gzip");
        if !gzip && f.chunk_size.is_none() {
            continue;
        }
        let sources: Vec<PathBuf> =
            crate::file_reader::parts_in_dir(dir, &f.href, f.chunk_size.is_some(), limits)
                .iter()
                .map(|n| dir.join(n))
                .collect();
        let target = match (gzip, f.href.len().checked_sub(3)) {
            (true, Some(cut)) if f.href[cut..].eq_ignore_ascii_case(".gz") => {
                f.href[..cut].to_string()
            }
            _ => f.href.clone(),
        };
        names::check_writable_name(&target)?;
        let tmp_name = format!(
            ".expand-{}",
            f.id.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
        );
        let tmp_path = dir.join(&tmp_name);
        let mut out = crate::output::create_in(dir, &tmp_name)?;
        // A decompression bomb stops at what the disk the file backs can hold (the largest disk
        // we accept for other files).
        let ovf_capacity = disks
            .iter()
            .find(|d| d.file_ref.as_deref() == Some(f.id.as_str()))
            .and_then(|d| d.capacity_bytes(&env).ok());
        let content = crate::file_reader::FileReader::open(
            sources
                .iter()
                .cloned()
                .map(crate::file_reader::Part::Whole)
                .collect(),
            gzip,
            ovf_capacity,
            limits,
            &f.href,
        )?;
        let cap = content.cap_bytes();
        let written =
            std::io::copy(&mut content.take(cap.saturating_add(1)), &mut out).map_err(|e| {
                Error::corrupt(format!("cannot expand {}: {e}", f.href)).with_entry(&f.href)
            })?;
        if written > cap {
            return Err(Error::limit(
                &format!("expanded size of {}", f.href),
                written,
                cap,
            ));
        }
        drop(out);
        for p in &sources {
            std::fs::remove_file(p).map_err(|e| Error::io("cannot remove", e).with_path(p))?;
        }
        if std::fs::symlink_metadata(dir.join(&target)).is_ok() {
            return Err(Error::unsafe_path(format!(
                "{target} exists twice after expanding {}",
                f.href
            )));
        }
        std::fs::rename(&tmp_path, dir.join(&target))
            .map_err(|e| Error::io("cannot rename", e).with_path(&tmp_path))?;
        env.set_file_href(&f.id, &target)?;
        env.set_file_size(&f.id, written)?;
        remove_file_attrs(&mut env, &f.id, &["compression", "chunkSize"]);
        changed = true;
    }
    if !changed {
        return Ok(());
    }
    let new_desc = env.to_bytes()?;
    std::fs::write(&desc_path, &new_desc)
        .map_err(|e| Error::io("cannot write", e).with_path(&desc_path))?;
    let base = desc_name.rsplit_once('.').map_or(desc_name, |(b, _)| b);
    let mf_path = dir.join(format!("{base}.mf"));
    if mf_path.is_file() {
        let old = read_capped(&mf_path, limits.max_manifest_bytes)?;
        let alg = Manifest::parse(&old, limits)
            .ok()
            .and_then(|m| m.algorithms().first().copied())
            .unwrap_or(Algorithm::Sha256);
        let mut m = Manifest::default();
        m.push(alg, desc_name, alg.digest(&new_desc));
        for f in env.references() {
            let p = dir.join(&f.href);
            let Ok(mut file) = File::open(&p) else {
                continue;
            };
            let r = copy_hashing(
                &mut file,
                None,
                &HashOptions {
                    algorithms: vec![alg],
                    prefix_bytes: 0,
                    size_hint: None,
                },
                &crate::progress::NoProgress,
            )?;
            m.push(
                alg,
                &f.href,
                r.digests.get(alg).map(<[u8]>::to_vec).unwrap_or_default(),
            );
        }
        std::fs::write(&mf_path, m.to_bytes())
            .map_err(|e| Error::io("cannot write", e).with_path(&mf_path))?;
    }
    let cert_path = dir.join(format!("{base}.cert"));
    if cert_path.is_file() {
        std::fs::remove_file(&cert_path)
            .map_err(|e| Error::io("cannot remove", e).with_path(&cert_path))?;
    }
    Ok(())
}

fn remove_file_attrs(env: &mut crate::ovf::Envelope, file_id: &str, locals: &[&str]) {
    for refs in env.document_mut().root.elements_mut() {
        if refs.local_name() != "References" {
            continue;
        }
        for f in refs.elements_mut() {
            let is_it = f.local_name() == "File"
                && f.attrs
                    .iter()
                    .any(|a| a.local_name() == "id" && a.value == file_id);
            if is_it {
                f.attrs.retain(|a| !locals.contains(&a.local_name()));
            }
        }
    }
}
