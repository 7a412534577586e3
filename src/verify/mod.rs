//! `verify`: prove that an OVA, an `.ovf` with its files, or a package folder is intact.
//!
//! The package is read by the one scan every command shares (`crate::scan`, with a hash-only
//! sink): every member hashed while it is read (the manifest's algorithms once the manifest is
//! seen, SHA-1 + SHA-256 before that), the descriptor and manifest parsed once, the first bytes
//! of each member kept for the disk header check. Then every cross-check runs on that
//! package; `unpack` and `import` run the same checks on the same scan, judged by the same
//! [`Policy`]:
//!
//! * structure: member names and types (in the reader), entry order (descriptor first; manifest
//!   and certificate right after it or both at the end), duplicates;
//! * References ↔ members (chunked files `href.000000000`...), `ovf:size` ↔ real sizes;
//! * manifest coverage (descriptor + every referenced file, nothing listed missing) and digests;
//! * signature over the manifest, certificate facts, chain to `--trust` anchors;
//! * descriptor validation; disk headers (VMDK magic, streamOptimized flags, capacity).
//!
//! Problems with the input are [`Finding`]s in the [`Report`] (severity + stable code), not
//! `Err`: the caller gets every finding at once. `Err` is kept for usage and I/O failures.

mod descriptor;
mod disk;

pub(crate) use disk::verify_disk;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::cert::{self, CertFile, CertInfo};
use crate::digest::{Algorithm, CopyOptions, Digests};
use crate::error::{Error, ErrorKind, Result};
use crate::file_reader::{FileReader, Part};
use crate::limits::{Limits, SECTOR_SIZE};
use crate::manifest::Manifest;
use crate::ova::names::{self, Role};
use crate::progress::Progress;
use crate::scan::{self, Member, Package};
use crate::sniff::{Content, Foreign};
use crate::vmdk::header::SparseHeader;

pub(crate) use descriptor::FileRef;

/// Options of [`verify()`] and [`verify_stream`].
#[derive(Clone, Default)]
pub struct VerifyOptions {
    /// Downgrade what ovftool's `--lax` tolerates (entry order, descriptor missing from the
    /// manifest, descriptor warnings) to warnings.
    pub lax: bool,
    /// Report manifest problems (digest mismatches, incomplete coverage) as warnings, as
    /// `import` and `unpack` do with the same option ([`Policy::skip_manifest_check`]).
    pub skip_manifest_check: bool,
    /// Also decode every disk completely.
    pub deep: bool,
    /// Trust anchors the signer must chain to (`--trust`, `--trust-system`). Not empty: a
    /// package must be signed by a trusted signer. Empty: any signer is reported.
    pub trust: cert::TrustStore,
    /// Fail a package without a valid signature from a trusted signer.
    pub require_signature: bool,
    /// Verification time for certificate validity, seconds since the Unix epoch (`--at`);
    /// `None`: now.
    pub at: Option<u64>,
    /// Size caps.
    pub limits: Limits,
    /// Receives progress of the pass over the package (`None`: none reported).
    pub progress: Option<Arc<dyn Progress>>,
}

impl std::fmt::Debug for VerifyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("lax", &self.lax)
            .field("skip_manifest_check", &self.skip_manifest_check)
            .field("deep", &self.deep)
            .field("trust", &self.trust)
            .field("require_signature", &self.require_signature)
            .field("at", &self.at)
            .field("limits", &self.limits)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// Where `opts` wants progress reported.
fn progress_of(opts: &VerifyOptions) -> &dyn Progress {
    crate::progress::of(&opts.progress)
}

/// Verifies `path`: an `.ova` file, an `.ovf` descriptor with its files beside it, a package
/// folder holding one descriptor, or a standalone disk. `-` reads an OVA from standard input.
/// Progress goes to `opts.progress`.
///
/// Problems with the package are findings in the report ([`Report::passed`]), not errors.
///
/// # Errors
/// [`ErrorKind::Io`] when `path` cannot be opened, [`ErrorKind::Usage`] for bad options or an
/// input that is no package.
///
/// # Security
/// Names from the package pass [`crate::gate`]; nothing is written.
pub fn verify(path: &Path, opts: &VerifyOptions) -> Result<Report> {
    verify_path(path, opts, progress_of(opts))
}

/// Verifies an OVA read from any stream (a pipe, an http body); `name` labels it in the
/// report. Progress goes to `opts.progress`.
///
/// # Errors
/// Only usage errors (such as `deep`, which needs a file); every problem with the input is a
/// finding in the report.
pub fn verify_stream(src: &mut dyn Read, name: &Path, opts: &VerifyOptions) -> Result<Report> {
    verify_ova(src, name, opts, progress_of(opts))
}

pub use crate::finding::{Code, Policy, Severity};

impl VerifyOptions {
    /// The policy these options judge findings by.
    pub fn policy(&self) -> Policy {
        Policy {
            lax: self.lax,
            skip_manifest_check: self.skip_manifest_check,
            require_signature: self.require_signature,
            trust: self.trust.clone(),
            at: self.at,
        }
    }
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// Stable identifier (`digest-mismatch`, `entry-order`, ...), listed in `docs/JSON.md`.
    pub code: Code,
    /// What is wrong, naming the entry.
    pub message: String,
    /// The package member concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// The option that would make this error a warning, if any ([`Policy::hint`]). Front ends
    /// spell it (the CLI: `"hint": {"flag", "text"}`); not part of the report's own fields.
    #[serde(skip)]
    pub hint: Option<crate::error::Hint>,
}

/// A file of the package as verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// Member or file name.
    pub name: String,
    /// Stored size in bytes.
    pub size: u64,
    /// Computed digests, hex, by algorithm (serialised by its manifest spelling, `SHA256`).
    pub digests: BTreeMap<Algorithm, String>,
    /// Whether a manifest digest was compared and matched.
    pub digest_verified: bool,
}

/// The signature of the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureReport {
    /// Digest algorithm of the signature.
    pub algorithm: Algorithm,
    /// The manifest it signs.
    pub manifest: String,
    /// Whether the signature verified against the manifest bytes.
    pub valid: bool,
    /// Signer certificate facts.
    pub signer: Option<CertInfo>,
    /// Whether the signer chains to a trust anchor (`None` without anchors).
    pub trusted: Option<bool>,
    /// The validated path when trusted: subjects from the signer to the anchor.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trust_path: Vec<String>,
}

/// The kind of input a [`Report`] is about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    /// An OVA (tar) file or stream.
    #[default]
    Ova,
    /// An `.ovf` descriptor with its files beside it, or a package folder.
    Directory,
    /// A standalone virtual disk.
    Disk,
}

impl std::fmt::Display for PackageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            PackageKind::Ova => "ova",
            PackageKind::Directory => "directory",
            PackageKind::Disk => "disk",
        })
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// What was verified.
    #[serde(serialize_with = "crate::json_path::serialize")]
    pub path: PathBuf,
    /// What was verified: an OVA, a folder package (or lone `.ovf`), a disk.
    pub kind: PackageKind,
    /// The descriptor's name.
    pub descriptor: Option<String>,
    /// The manifest's algorithm(s).
    pub manifest_algorithms: Vec<Algorithm>,
    /// Files in package order.
    pub files: Vec<FileReport>,
    /// The signature, if signed.
    pub signature: Option<SignatureReport>,
    /// Everything found, errors and warnings.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether verification passed (no error findings).
    pub fn passed(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The error findings.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    fn push(&mut self, severity: Severity, code: Code, entry: Option<&str>, message: String) {
        self.findings.push(Finding {
            severity,
            code,
            message,
            entry: entry.map(str::to_string),
            hint: None,
        });
    }

    fn error(&mut self, code: Code, entry: Option<&str>, message: String) {
        self.push(Severity::Error, code, entry, message);
    }

    fn warn(&mut self, code: Code, entry: Option<&str>, message: String) {
        self.push(Severity::Warning, code, entry, message);
    }

    /// Gives every finding the severity `policy` assigns to it and the option that would
    /// tolerate it (idempotent).
    pub(crate) fn judge(&mut self, policy: &Policy) {
        for f in &mut self.findings {
            f.severity = policy.severity(f.code, f.severity);
            f.hint = policy.hint(f.code, f.severity);
        }
    }

    pub(crate) fn push_error(&mut self, e: &Error) {
        let entry = e.location().entry.clone();
        self.findings.push(Finding {
            severity: Severity::Error,
            code: Code::Error(e.kind()),
            // An operating-system error says why only in its cause ("No space left on device").
            message: match std::error::Error::source(e) {
                Some(cause) if e.kind() == crate::error::ErrorKind::Io => format!("{e}: {cause}"),
                _ => e.to_string(),
            },
            entry,
            hint: None,
        });
    }
}

/// [`verify_stream`] with an explicit progress receiver.
pub(crate) fn verify_ova(
    src: &mut dyn Read,
    name: &Path,
    opts: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<Report> {
    verify_ova_inner(src, None, name, None, opts, progress)
}

fn verify_ova_inner(
    src: &mut dyn Read,
    archive: Option<&File>,
    name: &Path,
    reopen: Option<&Path>,
    opts: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<Report> {
    check_options(opts)?;
    if opts.deep && reopen.is_none() {
        return Err(Error::usage(
            "a deep check decodes disks in a second pass and needs a file, not a stream",
        ));
    }
    let mut report = Report {
        path: name.to_path_buf(),
        kind: PackageKind::Ova,
        ..Default::default()
    };
    let (collected, status) =
        scan::scan_ova(src, archive, &opts.limits, &mut scan::HashOnly, progress);
    if let Err(e) = status {
        report.push_error(&e);
    }
    if report.passed() {
        check_package(
            &collected,
            reopen,
            &opts.policy(),
            opts.deep,
            &opts.limits,
            &mut report,
        );
    }
    Ok(report)
}

fn check_options(opts: &VerifyOptions) -> Result<()> {
    let _ = opts;
    Ok(())
}

/// [`verify()`] with an explicit progress receiver.
pub(crate) fn verify_path(
    path: &Path,
    opts: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<Report> {
    tracing::info!(path = %path.display(), deep = opts.deep, "verify: open package");
    if path == Path::new("-") {
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        return verify_ova(&mut lock, path, opts, progress);
    }
    let meta = std::fs::metadata(path).map_err(|e| Error::io("cannot open", e).with_path(path))?;
    if meta.is_dir() {
        return verify_dir(path, None, opts, progress);
    }
    // By content ([`crate::sniff`]): a descriptor, a standalone disk, a package; a gzip tar or
    // a foreign image is named instead of failing on a tar header.
    let sniffed = crate::sniff::sniff_path(path)?;
    match sniffed.content {
        Content::Ovf => {
            let dir = parent(path);
            return verify_dir(&dir, Some(path), opts, progress);
        }
        Content::Vmdk(_) | Content::Foreign(Foreign::Qcow2) => {
            return verify_disk(path, opts, progress)
        }
        Content::GzipTar => return Err(Error::usage(
            "an OVA must be an uncompressed tar; this file is gzip-compressed (gunzip it first)",
        )
        .with_path(path)),
        Content::Ova => {}
        _ if names::role(&path.to_string_lossy()) == Role::Descriptor => {
            let dir = parent(path);
            return verify_dir(&dir, Some(path), opts, progress);
        }
        // Nothing else matched: a raw disk image, unless the name says it is a package (an
        // `.ova` whose tar header is broken is a broken package, not a disk).
        Content::Raw
            if !path.extension().is_some_and(|e| {
                e.eq_ignore_ascii_case("ova") || e.eq_ignore_ascii_case("tar")
            }) =>
        {
            let mut report = verify_disk(path, opts, progress)?;
            if let Some(note) = sniffed.note {
                report.warn(Code::DiskHeader, None, note);
            }
            return Ok(report);
        }
        other => {
            if let Some(e) = other.not_a_disk_error() {
                return Err(e.with_path(path));
            }
        }
    }
    let f = File::open(path).map_err(|e| Error::io("cannot open", e).with_path(path))?;
    let label = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tracing::info!(file = %label, size = meta.len(), "verify: scan archive");
    progress.start(&label, Some(meta.len()));
    let mut cursor = &f;
    let archive = meta.is_file().then_some(&f);
    let tally = crate::progress::Tally::new(progress);
    let r = verify_ova_inner(&mut cursor, archive, path, Some(path), opts, &tally);
    if r.is_ok() && meta.is_file() {
        // The archive was read to its end: headers and padding count as done too.
        tally.complete(meta.len());
    }
    progress.finish();
    r
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn verify_dir(
    dir: &Path,
    ovf: Option<&Path>,
    opts: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<Report> {
    check_options(opts)?;
    let mut report = Report {
        path: ovf.unwrap_or(dir).to_path_buf(),
        kind: PackageKind::Directory,
        ..Default::default()
    };
    let ovf_path = match ovf {
        Some(p) => p.to_path_buf(),
        None => match scan::find_descriptor(dir)? {
            Some(p) => p,
            None => {
                report.error(
                    Code::NoDescriptor,
                    None,
                    format!("no .ovf descriptor in {}", dir.display()),
                );
                return Ok(report);
            }
        },
    };
    let (collected, status) =
        scan::scan_dir(dir, &ovf_path, &opts.limits, &mut scan::HashOnly, progress);
    status?;
    if report.passed() {
        check_package(
            &collected,
            None,
            &opts.policy(),
            opts.deep,
            &opts.limits,
            &mut report,
        );
    }
    Ok(report)
}

fn hex_digests(d: &Digests) -> BTreeMap<Algorithm, String> {
    d.values.iter().map(|(a, v)| (*a, hex::encode(v))).collect()
}

/// Every cross-check on a collected package.
///
/// Findings get the severity `policy` gives them ([`Policy::severity`]), the same for every
/// command that judges a package.
pub(crate) fn check_package(
    c: &Package,
    reopen: Option<&Path>,
    policy: &Policy,
    deep: bool,
    limits: &Limits,
    report: &mut Report,
) {
    check_collected(c, reopen, policy, deep, limits, report);
    report.judge(policy);
}

fn check_collected(
    c: &Package,
    reopen: Option<&Path>,
    policy: &Policy,
    deep: bool,
    limits: &Limits,
    report: &mut Report,
) {
    // --- Which member is what.
    let descs: Vec<&Member> = c
        .members
        .iter()
        .filter(|m| names::role(&m.name) == Role::Descriptor)
        .collect();
    let Some(desc) = descs.first().copied() else {
        report.error(
            Code::NoDescriptor,
            None,
            "no .ovf descriptor in the package".into(),
        );
        return;
    };
    report.descriptor = Some(desc.name.clone());
    if descs.len() > 1 {
        report.error(
            Code::MultipleDescriptors,
            Some(&descs[1].name),
            format!("a second descriptor {} (an OVA holds one)", descs[1].name),
        );
    }
    // The package manifest is named after the descriptor (DSP0243 §5.1: `vm.ovf` → `vm.mf`);
    // another `.mf` (`disk1.mf` beside `fake.ovf`) is not it.
    let base = desc
        .name
        .rsplit_once('.')
        .map_or(desc.name.as_str(), |(b, _)| b);
    let (mfs, stray): (Vec<&Member>, Vec<&Member>) = c
        .members
        .iter()
        .filter(|m| names::role(&m.name) == Role::Manifest)
        .partition(|m| m.name.rsplit_once('.').map(|(b, _)| b) == Some(base));
    let mut strays: Vec<(String, String)> = stray
        .iter()
        .filter_map(|m| {
            crate::manifest::not_the_package_manifest(&m.name, &desc.name)
                .map(|msg| (m.name.clone(), msg))
        })
        .collect();
    // A folder's scan reads only the package's own files: the other `.mf` files are listed.
    if let Some(dir) = &c.dir {
        strays.extend(crate::manifest::stray_manifests_in_dir(
            dir, &desc.name, limits,
        ));
    }
    strays.sort();
    strays.dedup();
    for (name, msg) in strays {
        report.warn(Code::ManifestNotThePackageManifest, Some(&name), msg);
    }
    let certs: Vec<&Member> = c
        .members
        .iter()
        .filter(|m| names::role(&m.name) == Role::Certificate)
        .collect();
    if mfs.len() > 1 {
        report.error(
            Code::MultipleManifests,
            Some(&mfs[1].name),
            "more than one .mf manifest".into(),
        );
    }
    if certs.len() > 1 {
        report.error(
            Code::MultipleCertificates,
            Some(&certs[1].name),
            "more than one .cert file".into(),
        );
    }
    if c.is_ova() {
        check_order(c, report);
    }
    // --- Descriptor.
    // Parsed once, by the scan; a package put together otherwise is parsed here.
    let parsed_here;
    let envelope = match &c.envelope {
        Some(parsed) => parsed.as_ref(),
        None => {
            let bytes = desc.content.as_deref().unwrap_or_default();
            parsed_here = descriptor::parse_envelope(bytes, limits);
            parsed_here.as_ref()
        }
    };
    let d = match envelope.map(|env| descriptor::from_envelope(env, policy.lax)) {
        Ok(d) => d,
        Err(e) => {
            report.error(
                Code::DescriptorInvalid,
                Some(&desc.name),
                format!("descriptor cannot be read: {e}"),
            );
            return;
        }
    };
    for diag in &d.diagnostics {
        let msg = match diag.line {
            Some(l) => format!("line {l}: {}", diag.message),
            None => diag.message.clone(),
        };
        if diag.error {
            report.error(Code::Descriptor(diag.code), Some(&desc.name), msg);
        } else {
            report.warn(Code::Descriptor(diag.code), Some(&desc.name), msg);
        }
    }
    // --- References ↔ members, sizes.
    let mut referenced: HashSet<String> = HashSet::new();
    referenced.insert(desc.name.clone());
    for m in mfs.iter().chain(certs.iter()) {
        referenced.insert(m.name.clone());
    }
    let mut file_members: HashMap<String, Vec<&Member>> = HashMap::new();
    let mut size_mismatches: Vec<(&FileRef, u64, u64)> = Vec::new();
    let mut compression_wrong: HashSet<String> = HashSet::new();
    let mut ids = HashSet::new();
    for f in &d.files {
        if !ids.insert(f.id.clone()) {
            report.error(
                Code::DuplicateFileId,
                Some(&f.href),
                format!("File id {:?} is used twice", f.id),
            );
        }
        if let Err(e) = names::check_name(&f.href) {
            report.error(
                Code::UnsafeHref,
                Some(&f.href),
                format!("References/File {}: {}", f.id, e.message()),
            );
            continue;
        }
        let parts: Vec<&Member> = match f.chunk_size {
            Some(chunk) => {
                let mut parts = Vec::new();
                for i in 0..=(limits.max_ova_entries as u64) {
                    match c.get(&names::chunk_name(&f.href, i)) {
                        Some(m) => parts.push(m),
                        None => break,
                    }
                }
                let sizes: Vec<u64> = parts.iter().map(|p| p.size).collect();
                for (i, v) in crate::package_files::chunk_verdicts(&f.href, chunk, &sizes) {
                    let entry = parts.get(i).map_or(f.href.as_str(), |p| p.name.as_str());
                    report.push(v.severity, v.code, Some(entry), v.message);
                }
                // Chunks are numbered from 0 without gaps (§7.1).
                let next = parts.len() as u64;
                if !parts.is_empty() {
                    if let Some(later) = (next + 1..=next + 16)
                        .map(|i| names::chunk_name(&f.href, i))
                        .find(|n| c.get(n).is_some())
                    {
                        let v = crate::package_files::chunk_gap_verdict(
                            &names::chunk_name(&f.href, next),
                            &later,
                            Severity::Error,
                        );
                        report.push(v.severity, v.code, Some(&f.href), v.message);
                    }
                }
                parts
            }
            None => c.get(&f.href).into_iter().collect(),
        };
        if parts.is_empty() {
            report.error(
                Code::MissingFile,
                Some(&f.href),
                format!(
                    "{} (File {}) is referenced by the descriptor but not in the package",
                    f.href, f.id
                ),
            );
            continue;
        }
        let total: u64 = parts.iter().map(|p| p.size).sum();
        if let Some(size) = f.size {
            if size != total {
                // Judged once the manifest is read: under --lax, matching digests vouch for
                // the stored file.
                size_mismatches.push((f, size, total));
            }
        }
        if let Some(first) = parts.first() {
            if let Some(v) = crate::package_files::compression_verdict(
                &f.href,
                f.compression.as_deref(),
                &first.prefix,
            ) {
                report.push(v.severity, v.code, Some(&first.name), v.message);
                // Its header cannot be read as declared: the mismatch is the finding.
                compression_wrong.insert(f.id.clone());
            }
        }
        for p in &parts {
            referenced.insert(p.name.clone());
        }
        file_members.insert(f.id.clone(), parts);
    }
    for m in &c.members {
        if !referenced.contains(&m.name) {
            report.error(
                Code::UnreferencedFile,
                Some(&m.name),
                format!(
                    "{} is in the package but not referenced by the descriptor",
                    m.name
                ),
            );
        }
    }
    // --- Manifest.
    // Parsed once, by the scan; a package put together otherwise is parsed here.
    let mf_parsed_here;
    let mf_parsed = match mfs.first() {
        None => None,
        Some(mf) => match c.manifest(&mf.name) {
            Some(parsed) => Some((mf, parsed.as_ref())),
            None => {
                let bytes = mf.content.as_deref().unwrap_or_default();
                mf_parsed_here = Manifest::parse(bytes, limits);
                Some((mf, mf_parsed_here.as_ref()))
            }
        },
    };
    let manifest = mf_parsed.and_then(|(mf, parsed)| match parsed {
        Ok(m) => Some((mf, m)),
        Err(e) => {
            report.error(
                Code::ManifestInvalid,
                Some(&mf.name),
                format!("manifest cannot be read: {e}"),
            );
            None
        }
    });
    match &manifest {
        None if mfs.is_empty() => {
            if !certs.is_empty() {
                report.error(
                    Code::CertWithoutManifest,
                    Some(&certs[0].name),
                    "a certificate without a manifest".into(),
                );
            }
            report.warn(
                Code::NoManifest,
                None,
                "the package has no manifest; contents are not digest-checked".into(),
            );
        }
        None => {}
        Some((mf, m)) => {
            report.manifest_algorithms = m.algorithms();
            if m.get(&desc.name).is_none() {
                report.error(
                    Code::ManifestMissingDescriptor,
                    Some(&desc.name),
                    format!(
                        "the manifest {} does not list the descriptor {}",
                        mf.name, desc.name
                    ),
                );
            }
            for parts in file_members.values() {
                for p in parts {
                    if m.get(&p.name).is_none() {
                        report.error(
                            Code::ManifestMissingFile,
                            Some(&p.name),
                            format!("the manifest {} does not list {}", mf.name, p.name),
                        );
                    }
                }
            }
            for e in &m.entries {
                let Some(member) = c.get(&e.name) else {
                    report.error(
                        Code::ManifestListsMissingFile,
                        Some(&e.name),
                        format!(
                            "the manifest lists {} (line {}), which is not in the package",
                            e.name, e.line
                        ),
                    );
                    continue;
                };
                let computed = match member.digests.get(e.algorithm) {
                    Some(d) => Some(d.to_vec()),
                    None => rehash(reopen, member, e.algorithm),
                };
                match computed {
                    Some(d) if d == e.digest => {}
                    Some(d) => report.error(
                Code::DigestMismatch,
                        Some(&e.name),
                        format!(
                            "{} digest of {} does not match the manifest: expected {}, found {}",
                            e.algorithm,
                            e.name,
                            hex::encode(&e.digest),
                            hex::encode(d)
                        ),
                    ),
                    None => report.error(
                Code::DigestNotComputed,
                        Some(&e.name),
                        format!(
                            "the manifest comes after {} and uses {}; a stream cannot be re-read to check it",
                            e.name, e.algorithm
                        ),
                    ),
                }
            }
        }
    }
    // --- Declared sizes (the one rule `validate` applies too).
    for (f, declared, stored) in size_mismatches {
        let vouched = policy.lax
            && manifest.as_ref().is_some_and(|(_, m)| {
                file_members.get(&f.id).is_some_and(|parts| {
                    parts.iter().all(|p| {
                        m.get(&p.name)
                            .is_some_and(|e| match p.digests.get(e.algorithm) {
                                Some(d) => d == e.digest.as_slice(),
                                None => {
                                    rehash(reopen, p, e.algorithm).as_deref()
                                        == Some(e.digest.as_slice())
                                }
                            })
                    })
                })
            });
        if let Some(v) = crate::package_files::size_verdict(&f.href, declared, stored, vouched) {
            report.push(v.severity, v.code, Some(&f.href), v.message);
        }
    }
    // --- Signature.
    check_signature(
        c,
        manifest.as_ref().map(|(m, _)| **m),
        certs.first().copied(),
        policy,
        limits,
        report,
    );
    // --- Disks.
    for disk in &d.disks {
        let Some(fref) = disk.file_ref.as_ref() else {
            continue;
        };
        let Some(file) = d.files.iter().find(|f| &f.id == fref) else {
            report.error(
                Code::DiskFileMissing,
                Some(&disk.disk_id),
                format!(
                    "Disk {} refers to File {fref}, which References does not define",
                    disk.disk_id
                ),
            );
            continue;
        };
        let Some(parts) = file_members.get(fref) else {
            continue;
        };
        if let Some(first) = parts.first().filter(|_| !compression_wrong.contains(fref)) {
            check_disk_header(disk, file, first, limits, report);
        }
        if deep && {
            // The deep decode runs only on a package that passes so far, as the policy
            // judges it.
            report.judge(policy);
            report.passed()
        } {
            deep_check(c, reopen, disk, file, parts, limits, report);
        }
    }
    // --- Files summary.
    let manifest_ref = manifest.as_ref().map(|(_, m)| m);
    for m in &c.members {
        let verified = manifest_ref
            .and_then(|mf| mf.get(&m.name))
            .is_some_and(|e| m.digests.get(e.algorithm) == Some(e.digest.as_slice()));
        report.files.push(FileReport {
            name: m.name.clone(),
            size: m.size,
            digests: hex_digests(&m.digests),
            digest_verified: verified,
        });
    }
}

fn rehash(reopen: Option<&Path>, m: &Member, alg: Algorithm) -> Option<Vec<u8>> {
    let path = reopen?;
    let off = m.data_offset?;
    let f = File::open(path).ok()?;
    let r = crate::range_copy::hash_range(
        &f,
        off,
        m.size,
        &CopyOptions {
            algorithms: vec![alg],
            prefix_bytes: 0,
            size_hint: Some(m.size),
        },
        &crate::progress::NoProgress,
    )
    .ok()?;
    (r.bytes == m.size)
        .then(|| r.digests.get(alg).map(<[u8]>::to_vec))
        .flatten()
}

fn check_order(c: &Package, report: &mut Report) {
    let roles: Vec<Role> = c.members.iter().map(|m| names::role(&m.name)).collect();
    // Without any descriptor the fault is `no-descriptor`, not the order.
    if roles.first() != Some(&Role::Descriptor) && roles.contains(&Role::Descriptor) {
        if let Some(first) = c.members.first() {
            report.error(
                Code::DescriptorNotFirst,
                Some(&first.name),
                format!(
                    "the first entry is {}; the descriptor must come first (ovftool and Workstation insist)",
                    first.name
                ),
            );
        }
    }
    let special: Vec<usize> = roles
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r, Role::Manifest | Role::Certificate))
        .map(|(i, _)| i)
        .collect();
    if special.is_empty() {
        return;
    }
    let k = special.len();
    let n = roles.len();
    let contiguous_from = |start: usize| special.iter().enumerate().all(|(j, &i)| i == start + j);
    let mf_first = special
        .iter()
        .map(|&i| roles[i])
        .collect::<Vec<_>>()
        .windows(2)
        .all(|w| !(w[0] == Role::Certificate && w[1] == Role::Manifest));
    let ok = mf_first && (contiguous_from(1) || contiguous_from(n - k));
    if !ok {
        let names: Vec<&str> = special
            .iter()
            .map(|&i| c.members[i].name.as_str())
            .collect();
        report.error(
                Code::EntryOrder,
            Some(names[0]),
            format!(
                "{} must come right after the descriptor or both at the end, manifest before certificate",
                names.join(" and ")
            ),
        );
    }
}

fn check_signature(
    _c: &Package,
    mf: Option<&Member>,
    cert_member: Option<&Member>,
    policy: &Policy,
    limits: &Limits,
    report: &mut Report,
) {
    let Some(cm) = cert_member else {
        if policy.require_signature {
            report.error(
                Code::Unsigned,
                None,
                "the package is not signed, but a signature is required".into(),
            );
        } else if !policy.trust.is_empty() {
            report.error(
                Code::Unsigned,
                None,
                "the package is not signed, but a trusted signer is required".into(),
            );
        }
        return;
    };
    let bytes = cm.content.as_deref().unwrap_or_default();
    let cf = match CertFile::parse(bytes, limits) {
        Ok(cf) => cf,
        Err(e) => {
            report.error(
                Code::CertInvalid,
                Some(&cm.name),
                format!("certificate file cannot be read: {e}"),
            );
            return;
        }
    };
    let signer = cf.signer().map(cert::info);
    let mut sig = SignatureReport {
        algorithm: cf.algorithm,
        manifest: cf.manifest_name.clone(),
        valid: false,
        signer: signer.clone(),
        trusted: None,
        trust_path: Vec::new(),
    };
    match mf {
        None => {}
        Some(mf) => {
            if cf.manifest_name != mf.name {
                report.error(
                    Code::SignatureWrongManifest,
                    Some(&cm.name),
                    format!(
                        "the signature is over {}, the manifest is {}",
                        cf.manifest_name, mf.name
                    ),
                );
            } else {
                match cf.verify_manifest(mf.content.as_deref().unwrap_or_default()) {
                    Ok(()) => sig.valid = true,
                    Err(e) => report.error(Code::SignatureInvalid, Some(&cm.name), e.to_string()),
                }
            }
        }
    }
    let at = policy.at.unwrap_or_else(cert::now_unix);
    let gated = policy.require_signature || !policy.trust.is_empty();
    if let Some(info) = &signer {
        // With anchors, path validation judges validity (an error); without, a warning.
        if policy.trust.is_empty() {
            if at < info.not_before {
                report.warn(
                    Code::CertNotYetValid,
                    Some(&cm.name),
                    format!("certificate of {} is not valid yet", info.subject),
                );
            }
            if at > info.not_after {
                report.warn(
                    Code::CertExpired,
                    Some(&cm.name),
                    format!("certificate of {} has expired", info.subject),
                );
            }
            if info.self_signed && !policy.require_signature {
                report.warn(
                    Code::CertSelfSigned,
                    Some(&cm.name),
                    format!("the signing certificate ({}) is self-signed", info.subject),
                );
            }
        }
    }
    if gated {
        match cf.verify_trust(&policy.trust, at) {
            Ok(path) => {
                sig.trusted = Some(true);
                sig.trust_path = path;
            }
            Err(e) => {
                sig.trusted = (!policy.trust.is_empty()).then_some(false);
                report.error(Code::SignatureUntrusted, Some(&cm.name), e.to_string());
            }
        }
    }
    if policy.require_signature
        && !sig.valid
        && !report
            .findings
            .iter()
            .any(|f| f.code == Code::SignatureInvalid)
    {
        report.error(
            Code::Unsigned,
            Some(&cm.name),
            "no valid signature, but a signature is required".into(),
        );
    }
    report.signature = Some(sig);
}

/// The disk header check: a VMDK format must start with a sparse header of the right kind and
/// capacity (the OVF capacity must equal the VMDK's).
fn check_disk_header(
    disk: &descriptor::DiskRef,
    file: &FileRef,
    first: &Member,
    limits: &Limits,
    report: &mut Report,
) {
    let Some(format) = disk.format.as_deref() else {
        return;
    };
    let lower = format.to_ascii_lowercase();
    if !lower.contains("vmdk") {
        return;
    }
    let head: Vec<u8> = if file.is_gzip() {
        let dec = crate::inflate::GunzipCapped::new(&first.prefix[..], 64 << 10, &first.name);
        let mut out = Vec::new();
        let _ = dec.take(64 << 10).read_to_end(&mut out);
        out
    } else {
        first.prefix.clone()
    };
    let entry = Some(first.name.as_str());
    // No VMDK at all is the format rule `validate` applies too; a VMDK whose header does not
    // parse is a bad header.
    let len = if file.is_gzip() { u64::MAX } else { first.size };
    let content = crate::sniff::classify_bytes(&head, &[], len);
    if !matches!(content, Content::Vmdk(_)) {
        let v = crate::package_files::not_a_vmdk_verdict(&file.href, content);
        report.push(v.severity, v.code, entry, v.message);
        return;
    }
    let Some(block) = head.get(..512).and_then(|b| <&[u8; 512]>::try_from(b).ok()) else {
        report.error(
            Code::DiskHeader,
            entry,
            format!(
                "{} is too short for a VMDK ({} bytes)",
                first.name,
                head.len()
            ),
        );
        return;
    };
    let h = match SparseHeader::parse(block) {
        Ok(h) => h,
        Err(e) => {
            report.error(
                Code::DiskHeader,
                entry,
                format!(
                    "Disk {} is declared {format} but {} is not a sparse VMDK: {}",
                    disk.disk_id,
                    first.name,
                    e.message()
                ),
            );
            return;
        }
    };
    let stream_opt = lower.ends_with("#streamoptimized");
    if stream_opt && !(h.is_compressed() && h.has_markers()) {
        report.error(
                Code::DiskFormatMismatch,
            entry,
            format!("Disk {} is declared streamOptimized but the VMDK header has no compression/markers flags", disk.disk_id),
        );
    } else {
        // The limits the readers apply (import, convert): what they refuse, verify refuses.
        let checked = if stream_opt {
            crate::vmdk::stream::check_stream_header(&h, limits)
        } else {
            h.check_limits(limits).map(|_| ())
        };
        if let Err(e) = checked {
            report.error(
                Code::DiskHeader,
                entry,
                format!("Disk {}: {}: {e}", disk.disk_id, first.name),
            );
            return;
        }
    }
    // The embedded descriptor's createType.
    let start = h.descriptor_offset_sectors.saturating_mul(SECTOR_SIZE);
    let len = h.descriptor_size_sectors.saturating_mul(SECTOR_SIZE);
    let mut create_type = None;
    if start > 0 && start < head.len() as u64 {
        let end = start.saturating_add(len).min(head.len() as u64);
        let text = String::from_utf8_lossy(&head[start as usize..end as usize]);
        create_type = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("createType"))
            .map(|v| {
                v.trim_start_matches([' ', '='])
                    .trim()
                    .trim_matches('"')
                    .to_string()
            });
    }
    if let Err(why) = &disk.capacity_bytes {
        report.error(
            Code::DiskCapacity,
            Some(&disk.disk_id),
            format!("Disk {}: {why}", disk.disk_id),
        );
    }
    // The same rules as `validate` on the files beside a descriptor.
    for v in crate::package_files::vmdk_verdicts(
        &file.href,
        Some(format),
        create_type.as_deref(),
        disk.capacity_bytes.as_ref().ok().copied(),
        h.capacity_bytes(),
    ) {
        report.push(v.severity, v.code, entry, v.message);
    }
}

/// Loads `--trust` anchors from PEM files.
///
/// # Errors
/// [`ErrorKind::Io`] when a file cannot be read, [`ErrorKind::Usage`] when it holds no
/// certificate.
pub fn load_trust(paths: &[PathBuf]) -> Result<cert::TrustStore> {
    let mut store = cert::TrustStore::new();
    for p in paths {
        let bytes = std::fs::read(p).map_err(|e| Error::io("cannot read", e).with_path(p))?;
        store
            .add_pem(&bytes)
            .map_err(|e| Error::new(ErrorKind::Usage, e.message().to_string()).with_path(p))?;
    }
    Ok(store)
}

/// The References of a descriptor, for `pack` (parsed leniently; validation is `verify`'s job).
pub(crate) fn descriptor_for_pack(bytes: &[u8], limits: &Limits) -> Result<descriptor::Descriptor> {
    descriptor::parse(bytes, true, limits)
}

/// Rewrites `ovf:size` values, for `pack`.
pub(crate) fn set_file_sizes_for_pack(
    bytes: &[u8],
    sizes: &[(String, u64)],
    limits: &Limits,
) -> Result<Vec<u8>> {
    descriptor::set_file_sizes(bytes, sizes, limits)
}

/// A sink that drops every grain: `--deep` only needs the decode to succeed.
struct NullSink;

impl crate::disk::DiskSink for NullSink {
    fn encoder(&self) -> Result<Box<dyn crate::disk::GrainEncoder>> {
        Ok(Box::new(crate::disk::PlainEncoder))
    }
    fn write(&mut self, _grain: crate::disk::Encoded) -> Result<()> {
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<crate::disk::SinkReport> {
        Ok(crate::disk::SinkReport::default())
    }
}

/// `--deep`: decodes a streamOptimized disk completely (every marker, every grain inflated,
/// footer cross-checked) in a second read of the package.
fn deep_check(
    c: &Package,
    reopen: Option<&Path>,
    disk: &descriptor::DiskRef,
    file: &FileRef,
    parts: &[&Member],
    limits: &Limits,
    report: &mut Report,
) {
    let entry = parts.first().map(|p| p.name.clone()).unwrap_or_default();
    let stream_opt = disk
        .format
        .as_deref()
        .is_some_and(|f| f.to_ascii_lowercase().ends_with("#streamoptimized"));
    if !stream_opt {
        report.warn(
            Code::DeepSkipped,
            Some(&entry),
            format!(
                "Disk {}: a deep check decodes streamOptimized VMDKs only",
                disk.disk_id
            ),
        );
        return;
    }
    let mut stored = Vec::new();
    for p in parts {
        match (&c.dir, reopen, p.data_offset) {
            (Some(dir), _, _) => stored.push(Part::Whole(dir.join(&p.name))),
            (None, Some(path), Some(offset)) => stored.push(Part::Range {
                path: path.to_path_buf(),
                offset,
                len: p.size,
            }),
            _ => {
                report.push_error(&Error::usage("a deep check needs a file"));
                return;
            }
        }
    }
    // Inflated, the image may not exceed what its header (or ovf:capacity) allows.
    let ovf_capacity = disk.capacity_bytes.as_ref().ok().copied();
    let content = match FileReader::open(stored, file.is_gzip(), ovf_capacity, limits, &entry) {
        Ok(r) => r,
        Err(e) if e.kind() == ErrorKind::Io => {
            report.push_error(&e);
            return;
        }
        Err(e) => {
            report.error(
                Code::DiskDecode,
                Some(&entry),
                format!("Disk {} does not decode: {e}", disk.disk_id),
            );
            return;
        }
    };
    let reader = std::io::BufReader::with_capacity(1 << 20, content);
    let origin = crate::vmdk::stream::Origin::entry(&entry);
    let result =
        crate::vmdk::stream::StreamReader::new(reader, origin, limits).and_then(|mut src| {
            let mut sink = NullSink;
            crate::disk::copy(
                &mut src,
                &mut sink,
                &crate::disk::CopyOptions::default(),
                &crate::progress::NoProgress,
            )
        });
    if let Err(e) = result {
        report.error(
            Code::DiskDecode,
            Some(&entry),
            format!("Disk {} does not decode: {e}", disk.disk_id),
        );
    }
}
