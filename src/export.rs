//! `export`: a VMware VM (`.vmx`/`.vmtx` and its disks) as an OVF package or OVA.
//!
//! The pipeline (docs/ARCHITECTURE.md): `.vmx` → [`Vmx`] → [`Machine`] → [`EnvelopeBuilder`] → descriptor;
//! every disk is opened through its descriptor (flat, sparse, split, vmfs, and snapshot chains,
//! which the hosted reader consolidates into the current state) and goes once through
//! [`crate::disk::copy`] into the streamOptimized writer, compressed on all cores.
//!
//! For an `.ova` the disks are streamed straight into the tar: the descriptor must be the first
//! entry (docs/FORMATS.md §9) but holds the compressed sizes, so its region is reserved first with
//! every size written at its widest (20 digits) and filled at the end, the rest padded with
//! blanks (legal after the XML root element). The manifest (whose length is known exactly) and
//! the certificate are reserved and filled the same way; digests are computed while the disks
//! are written. Nothing is read twice, nothing is staged in a temporary file.
//!
//! Reproducibility: tar mtimes come from `SOURCE_DATE_EPOCH` (or [`ExportOptions::mtime`]), and
//! every identifier in the disks (CID, `ddb.uuid`, `ddb.longContentID`) is derived from the
//! `.vmx` content and the disk's index, never from randomness, so exporting the same VM twice
//! gives byte-identical output.
//!
//! Runtime files of a VM folder (`.vswp`, `.vmss`, `.vmsn`, `.vmem`, `.vmsd`, `.vmxf`, logs,
//! `-ctk.vmdk`, `.hlog`, snapshot deltas) are never shipped: only the disks the `.vmx` names (as
//! their current state), the NVRAM and, on request, attached CD/floppy images are. A VM that
//! looks powered on or locked (`*.lck`, `*.vswp`) is refused unless
//! [`ExportOptions::allow_locked`].

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::cert::Signer;
use crate::digest::{Algorithm, Digests, HashOptions, HashingWriter};
use crate::disk::{self, CopyOptions, DiskSource, SinkOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::limits::Limits;
use crate::manifest::Manifest;
use crate::output::PendingFile;
use crate::ova;
use crate::ovf::machine::DescriptorOptions;
use crate::ovf::model::FileRef;
use crate::ovf::write::{EnvelopeBuilder, ProductSpec, PropertySpec};
use crate::ovf::{OvfVersion, ResourceType};
use crate::progress::{NoProgress, Progress};
use crate::vm::{AdapterType, BusFamily, CdBacking, Firmware, FloppyBacking, Machine, Warning};
use crate::vmdk::stream_writer::StreamOptimizedWriter;
use crate::vmx::Vmx;

/// A preset for where the package will be imported: picks the manifest digest, the OVF version
/// and the highest virtual hardware version the target runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// ESXi 6.x (6.0 and later): SHA-1 (the legacy vSphere client rejects SHA-256 manifests),
    /// OVF 1.0, hardware ≤ 11 (`vmx-11`, ESXi 6.0).
    Esxi6,
    /// ESXi 7.0 and later: SHA-256, OVF 1.0, hardware ≤ 17.
    Esxi7,
    /// ESXi 8.0 and later: SHA-256, OVF 1.0, hardware ≤ 20.
    Esxi8,
    /// VMware Workstation 17.5 / Fusion 13.5: SHA-256, OVF 1.0, hardware ≤ 21.
    Workstation,
    /// VirtualBox: SHA-1 (older releases reject SHA-256 manifests), OVF 1.0, hardware ≤ 14.
    Virtualbox,
}

impl Target {
    /// Every preset, in `--help` order.
    pub const ALL: [Target; 5] = [
        Target::Esxi6,
        Target::Esxi7,
        Target::Esxi8,
        Target::Workstation,
        Target::Virtualbox,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Target::Esxi6 => "esxi6",
            Target::Esxi7 => "esxi7",
            Target::Esxi8 => "esxi8",
            Target::Workstation => "workstation",
            Target::Virtualbox => "virtualbox",
        }
    }

    /// The manifest digest this target accepts.
    pub fn manifest(self) -> Algorithm {
        match self {
            Target::Esxi6 | Target::Virtualbox => Algorithm::Sha1,
            _ => Algorithm::Sha256,
        }
    }

    /// The highest virtual hardware version this target runs (docs/FORMATS.md §5.7; VMware KB 1003746).
    pub fn max_hw_version(self) -> u32 {
        match self {
            Target::Esxi6 => 11,
            Target::Esxi7 => 17,
            Target::Esxi8 => 20,
            Target::Workstation => 21,
            Target::Virtualbox => 14,
        }
    }

    /// Applies the preset to `opts` (manifest digest, OVF 1.0, hardware cap).
    pub fn apply(self, opts: &mut ExportOptions) {
        opts.manifest = Some(self.manifest());
        opts.ovf_version = OvfVersion::V1;
        opts.max_hw_version = Some(self.max_hw_version());
    }
}

impl std::str::FromStr for Target {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Target::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
                Error::usage(format!(
                    "unknown target: expected one of {}, found {s:?}",
                    names.join(", ")
                ))
            })
    }
}

/// Settings of [`export`].
#[derive(Clone)]
pub struct ExportOptions {
    /// The VM name written in the descriptor (default: the `.vmx` `displayName`, else the
    /// output's file stem).
    pub name: Option<String>,
    /// OVF version to write (1.0 by default).
    pub ovf_version: OvfVersion,
    /// Manifest digest; `None` writes no manifest (and forbids signing).
    pub manifest: Option<Algorithm>,
    /// Signs the manifest into a `.cert` (docs/FORMATS.md §8).
    pub signer: Option<Signer>,
    /// Caps `virtualHW.version` (`vmx-NN`) so the package imports on older hosts.
    pub max_hw_version: Option<u32>,
    /// ProductSection content (product, vendor, versions, URLs); written when any field is set or
    /// properties exist.
    pub product: ProductSpec,
    /// User-configurable properties (`--prop`), written in the ProductSection with transport
    /// `com.vmware.guestInfo`.
    pub properties: Vec<PropertySpec>,
    /// AnnotationSection text (default: the `.vmx` annotation).
    pub annotation: Option<String>,
    /// EulaSection license texts, one section each.
    pub eulas: Vec<String>,
    /// Ship the NVRAM file: `None` = only for EFI VMs (ovftool's behaviour).
    pub include_nvram: Option<bool>,
    /// Ship attached CD/floppy image files (as `vmware.cdrom.iso` / `vmware.floppy.image`).
    pub include_images: bool,
    /// Compression threads (0 = all cores).
    pub threads: usize,
    /// Deflate level 0–12 (6 by default; see [`SinkOptions::compression_level`]).
    pub compression_level: u32,
    /// Replace existing outputs.
    pub force: bool,
    /// Export a VM that looks powered on or locked (`*.lck`, `*.vswp` present).
    pub allow_locked: bool,
    /// The tar mtime; `None` = `$SOURCE_DATE_EPOCH` when set, else the current time.
    pub mtime: Option<u64>,
    /// Caps for everything read.
    pub limits: Limits,
    /// Receives progress of the disk copies (`None`: none reported).
    pub progress: Option<Arc<dyn Progress>>,
}

impl fmt::Debug for ExportOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportOptions")
            .field("name", &self.name)
            .field("ovf_version", &self.ovf_version)
            .field("manifest", &self.manifest)
            .field("signer", &self.signer.is_some())
            .field("max_hw_version", &self.max_hw_version)
            .field("product", &self.product)
            .field("properties", &self.properties)
            .field("annotation", &self.annotation)
            .field("eulas", &self.eulas.len())
            .field("include_nvram", &self.include_nvram)
            .field("include_images", &self.include_images)
            .field("threads", &self.threads)
            .field("compression_level", &self.compression_level)
            .field("force", &self.force)
            .field("allow_locked", &self.allow_locked)
            .field("mtime", &self.mtime)
            .field("limits", &self.limits)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            name: None,
            ovf_version: OvfVersion::V1,
            manifest: Some(Algorithm::Sha256),
            signer: None,
            max_hw_version: None,
            product: ProductSpec::default(),
            properties: Vec::new(),
            annotation: None,
            eulas: Vec::new(),
            include_nvram: None,
            include_images: false,
            threads: 0,
            compression_level: 6,
            force: false,
            allow_locked: false,
            mtime: None,
            limits: Limits::DEFAULT,
            progress: None,
        }
    }
}

/// What a file of an exported package is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileRole {
    /// The `.ovf` descriptor.
    Descriptor,
    /// The `.mf` manifest.
    Manifest,
    /// The `.cert` signature.
    Certificate,
    /// A streamOptimized disk.
    Disk,
    /// The VM's NVRAM (EFI variables).
    Nvram,
    /// An attached CD/floppy image.
    Image,
}

impl FileRole {
    /// The lower-case name used in reports (`descriptor`, `disk`...).
    pub fn name(self) -> &'static str {
        match self {
            FileRole::Descriptor => "descriptor",
            FileRole::Manifest => "manifest",
            FileRole::Certificate => "certificate",
            FileRole::Disk => "disk",
            FileRole::Nvram => "nvram",
            FileRole::Image => "image",
        }
    }
}

impl fmt::Display for FileRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// The container an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageFormat {
    /// One `.ova` tar file.
    Ova,
    /// An `.ovf` descriptor with its files beside it.
    Ovf,
}

impl fmt::Display for PackageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            PackageFormat::Ova => "ova",
            PackageFormat::Ovf => "ovf",
        })
    }
}

/// The OVF version as an export writes it in reports: `1.0` or `2.0` (the version written,
/// not the namespace family `1.x`).
fn serialize_written_version<S: serde::Serializer>(
    v: &OvfVersion,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(written_version(*v))
}

/// `1.0` or `2.0`: what [`export`] writes for `v`.
fn written_version(v: OvfVersion) -> &'static str {
    match v {
        OvfVersion::V2 => "2.0",
        _ => "1.0",
    }
}

/// One file of the written package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportedFile {
    /// Name in the package (tar entry or file beside the descriptor).
    pub name: String,
    /// What the file is.
    pub role: FileRole,
    /// Stored size in bytes (for the descriptor: with its padding).
    pub size: u64,
    /// Lower-case hex digest with the manifest algorithm (absent without a manifest, and for
    /// the manifest and certificate themselves).
    pub digest: Option<String>,
}

/// One exported disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportedDisk {
    /// The source as the `.vmx` names it.
    pub source: String,
    /// Where it is attached (`scsi0:0`).
    pub attachment: String,
    /// File name in the package.
    pub file: String,
    /// Virtual capacity in bytes.
    pub capacity_bytes: u64,
    /// Bytes of non-zero data (OVF `populatedSize`).
    pub populated_bytes: u64,
    /// Size of the streamOptimized file in bytes (OVF `File ovf:size`).
    pub stored_bytes: u64,
}

/// What [`export`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// The `.vmx`/`.vmtx` read.
    #[serde(serialize_with = "crate::json_path::serialize")]
    pub source: PathBuf,
    /// The output (`.ova` file or `.ovf` descriptor path).
    #[serde(serialize_with = "crate::json_path::serialize")]
    pub output: PathBuf,
    /// `ova` or `ovf`.
    pub format: PackageFormat,
    /// OVF version written (reported as `1.0`, `2.0`).
    #[serde(serialize_with = "serialize_written_version")]
    pub ovf_version: OvfVersion,
    /// Manifest algorithm (`SHA256`...), if a manifest was written.
    pub manifest_algorithm: Option<Algorithm>,
    /// Whether a `.cert` signature was written.
    pub signed: bool,
    /// The VM name in the descriptor.
    pub name: String,
    /// Virtual hardware family written (`vmx-14`).
    pub hardware_family: Option<String>,
    /// Files in package order.
    pub files: Vec<ExportedFile>,
    /// Disks in descriptor order.
    pub disks: Vec<ExportedDisk>,
    /// Everything approximated or left out.
    pub warnings: Vec<Warning>,
}

impl ExportReport {
    /// The OVF version written as it is reported: `1.0` or `2.0`.
    pub fn ovf_version_text(&self) -> &'static str {
        written_version(self.ovf_version)
    }
}

/// Files of a VM folder that mean the VM is running or locked by a host.
fn lock_markers(dir: &Path) -> Result<Vec<String>> {
    let rd =
        std::fs::read_dir(dir).map_err(|e| Error::io("cannot list VM folder", e).with_path(dir))?;
    let mut found = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io("cannot list VM folder", e).with_path(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".lck") || lower.ends_with(".vswp") {
            found.push(name);
        }
    }
    found.sort();
    Ok(found)
}

/// Finds the configuration file: the path itself, or the single `.vmx`/`.vmtx` in a folder.
///
/// # Errors
/// I/O errors; [`crate::ErrorKind::Usage`] when a folder holds no or several configurations.
pub fn find_config(input: &Path) -> Result<PathBuf> {
    let meta =
        std::fs::metadata(input).map_err(|e| Error::io("cannot open VM", e).with_path(input))?;
    if !meta.is_dir() {
        return Ok(input.to_path_buf());
    }
    let rd = std::fs::read_dir(input)
        .map_err(|e| Error::io("cannot list VM folder", e).with_path(input))?;
    let mut found = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io("cannot list VM folder", e).with_path(input))?;
        let p = entry.path();
        let ext = p
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if (ext == "vmx" || ext == "vmtx") && p.is_file() {
            found.push(p);
        }
    }
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::usage("no .vmx or .vmtx file in the VM folder").with_path(input)),
        _ => Err(Error::usage(format!(
            "expected one .vmx or .vmtx in the VM folder, found {}: name the one to export",
            found.len()
        ))
        .with_path(input)),
    }
}

/// Resolves a file the `.vmx` names: relative names through the gate; an absolute path (from
/// the host the VM ran on) only by its base name inside the VM folder.
fn resolve_vm_file(dir: &Path, name: &str, warnings: &mut Vec<Warning>) -> Result<PathBuf> {
    if name.starts_with('/') || name.contains(":\\") || name.contains('\\') {
        let base = name.rsplit(['/', '\\']).next().unwrap_or("");
        let p = crate::gate::resolve_in_dir(dir, base)?;
        if p.exists() {
            warnings.push(Warning::new(
                name,
                format!("absolute path: using {base:?} from the VM folder"),
            ));
            return Ok(p);
        }
        return Err(Error::unsafe_path(format!(
            "{name:?} is an absolute path and {base:?} is not in the VM folder"
        ))
        .with_path(dir));
    }
    crate::gate::resolve_in_dir(dir, name)
}

/// The `ddb.adapterType` matching the controller a disk hangs on.
fn disk_adapter_type(m: &Machine, family: BusFamily, bus: u32) -> AdapterType {
    let kind = m
        .controllers
        .iter()
        .find(|c| c.family() == family && c.bus == bus)
        .map(|c| c.kind);
    AdapterType::for_controller(family, kind)
}

/// A package file other than a disk (NVRAM, image) to copy verbatim.
struct PlainFile {
    name: String,
    path: PathBuf,
    role: FileRole,
}

/// A disk to export.
struct DiskJob {
    source_name: String,
    attachment: String,
    name: String,
    source: Box<dyn DiskSource>,
    sink_opts: SinkOptions,
}

/// Everything decided before writing.
struct Plan {
    /// The files read, stamped before reading (checked before the output is committed).
    stamps: crate::range_copy::InputStamps,
    config: PathBuf,
    builder: EnvelopeBuilder,
    disks: Vec<DiskJob>,
    plain: Vec<PlainFile>,
    warnings: Vec<Warning>,
    name: String,
    family: Option<String>,
}

fn file_stem_of(output: &Path) -> String {
    output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vm".to_string())
}

/// A name usable as a package file stem: the VM name with every character other than ASCII
/// letters, digits, `.`, `_` and `-` replaced by `_` (docs/FORMATS.md §9: short plain names; hrefs
/// stay valid URIs without escaping), at most 64 characters.
fn sanitize_stem(name: &str) -> String {
    let s: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() {
        "vm".to_string()
    } else {
        s
    }
}

impl Plan {
    /// Every file the export reads: the configuration, each disk's descriptors, extents and
    /// parents, NVRAM and images.
    fn input_files(&self) -> Vec<PathBuf> {
        let mut out = vec![self.config.clone()];
        for d in &self.disks {
            out.extend(d.source.files());
        }
        out.extend(self.plain.iter().map(|p| p.path.clone()));
        out
    }
}

fn plan(input: &Path, stem: &str, opts: &ExportOptions) -> Result<Plan> {
    let config = find_config(input)?;
    let dir = match config.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !opts.allow_locked {
        let locks = lock_markers(&dir)?;
        if !locks.is_empty() {
            return Err(Error::usage(format!(
                "the VM looks powered on or locked ({}): power it off first",
                locks.join(", ")
            ))
            .with_path(&dir)
            .with_hint(crate::error::Hint::AllowLocked));
        }
    }
    let vmx = Vmx::read_file(&config, &opts.limits)?;
    let vmx_bytes = vmx.to_bytes();
    let (mut m, mut warnings) = Machine::from_vmx(&vmx);
    for u in &m.unmapped {
        warnings.push(Warning::new(u.item.clone(), u.reason.clone()));
    }
    m.unmapped.clear();

    let name = opts
        .name
        .clone()
        .or_else(|| m.name.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| stem.to_string());
    m.name = Some(name.clone());
    if let Some(a) = &opts.annotation {
        m.annotation = Some(a.clone());
    }
    if let (Some(cap), Some(hw)) = (opts.max_hw_version, m.hardware_version) {
        if hw > cap {
            warnings.push(Warning::new(
                "virtualHW.version",
                format!("hardware version {hw} lowered to {cap} for the target"),
            ));
            m.hardware_version = Some(cap);
        }
    }

    // Disks: open each through its descriptor (chains consolidate), name it in the package.
    let adapters: Vec<AdapterType> = m
        .disks
        .iter()
        .map(|d| disk_adapter_type(&m, d.attachment.family, d.attachment.bus))
        .collect();
    let mut disks = Vec::new();
    for ((i, d), adapter) in m.disks.iter_mut().enumerate().zip(adapters) {
        if d.file_name.is_empty() {
            return Err(
                Error::usage(format!("disk {} has no file name", d.attachment)).with_path(&config),
            );
        }
        let path =
            resolve_vm_file(&dir, &d.file_name, &mut warnings).map_err(|e| e.with_path(&config))?;
        let source = crate::open_disk(&path, &opts.limits)?;
        let capacity = source.capacity_bytes();
        let package_name = format!("{stem}-disk{}.vmdk", i + 1);
        let mut identity = Vec::with_capacity(48);
        identity.extend_from_slice(&Algorithm::Sha256.digest(&vmx_bytes));
        identity.extend_from_slice(&(i as u64).to_le_bytes());
        identity.extend_from_slice(package_name.as_bytes());
        let sink_opts = SinkOptions {
            force: opts.force,
            adapter_type: adapter,
            hw_version: 0,
            compression_level: opts.compression_level,
            identity,
        };
        disks.push(DiskJob {
            source_name: d.file_name.clone(),
            attachment: d.attachment.to_string(),
            name: package_name.clone(),
            source,
            sink_opts,
        });
        d.capacity_bytes = Some(capacity);
        d.file_name = package_name;
        d.disk_id = Some(format!("vmdisk{}", i + 1));
    }
    let hw_version = m.hardware_version.unwrap_or(4);
    for job in &mut disks {
        job.sink_opts.hw_version = hw_version;
    }

    // NVRAM.
    let mut plain = Vec::new();
    let mut nvram_href = None;
    let want_nvram = opts.include_nvram.unwrap_or(m.firmware == Firmware::Efi);
    if want_nvram {
        // The file the vmx names (through the gate), else `<config>.nvram` beside it.
        let found = match m.nvram_file.clone() {
            Some(f) => match resolve_vm_file(&dir, &f, &mut warnings) {
                Ok(p) if p.is_file() => Some(p),
                Ok(_) => {
                    warnings.push(Warning::new(
                        "nvram",
                        format!("{f:?} not found: not shipped"),
                    ));
                    None
                }
                Err(e) => {
                    warnings.push(Warning::new("nvram", format!("{e}: not shipped")));
                    None
                }
            },
            None => {
                let guess = config.with_extension("nvram");
                if !guess.is_file() && opts.include_nvram == Some(true) {
                    warnings.push(Warning::new("nvram", "the VM has no NVRAM file"));
                }
                guess.is_file().then_some(guess)
            }
        };
        if let Some(path) = found {
            let href = format!("{stem}.nvram");
            plain.push(PlainFile {
                name: href.clone(),
                path,
                role: FileRole::Nvram,
            });
            nvram_href = Some(href);
        }
    }

    // CD images (shipped by the OVF mapping when named) and floppy images (attached below).
    let mut cdrom_image_hrefs = Vec::new();
    if opts.include_images {
        for c in &m.cdroms {
            if let CdBacking::Image { file } = &c.backing {
                let mut local = Vec::new();
                match resolve_vm_file(&dir, file, &mut local) {
                    Ok(p) if p.is_file() => {
                        let href = format!("{stem}-cdrom{}.iso", cdrom_image_hrefs.len() + 1);
                        warnings.extend(local);
                        cdrom_image_hrefs.push((c.attachment, href.clone()));
                        plain.push(PlainFile {
                            name: href,
                            path: p,
                            role: FileRole::Image,
                        });
                    }
                    _ => warnings.push(Warning::new(
                        format!("{} (CD-ROM)", c.attachment),
                        format!("image {file:?} not found in the VM folder: not packaged"),
                    )),
                }
            }
        }
    }
    let ovf_opts = DescriptorOptions {
        version: Some(opts.ovf_version),
        system_id: Some(name.clone()),
        nvram_href,
        cdrom_image_hrefs,
    };
    let (mut b, w) = m.to_envelope_builder(&ovf_opts)?;
    // A CD image we looked for and did not find was already reported.
    let missing: Vec<String> = warnings
        .iter()
        .filter(|w| w.subject.ends_with("(CD-ROM)"))
        .map(|w| w.subject.clone())
        .collect();
    warnings.extend(w.into_iter().filter(|w| !missing.contains(&w.subject)));

    if opts.include_images {
        attach_floppy_images(&m, &dir, stem, &mut b, &mut plain, &mut warnings);
    }

    // Product, properties, EULAs.
    let p = &opts.product;
    let has_product = p.product.is_some()
        || p.vendor.is_some()
        || p.version.is_some()
        || p.full_version.is_some()
        || p.product_url.is_some()
        || p.vendor_url.is_some()
        || p.app_url.is_some()
        || !opts.properties.is_empty()
        || !p.properties.is_empty();
    if has_product {
        let mut spec = p.clone();
        spec.properties.extend(opts.properties.iter().cloned());
        if !spec.properties.is_empty() {
            b.system.hardware.transport = Some("com.vmware.guestInfo".to_string());
        }
        b.system.products.push(spec);
    }
    b.system.eulas.extend(opts.eulas.iter().cloned());
    let family = b.system.hardware.families.first().cloned();

    Ok(Plan {
        config,
        builder: b,
        disks,
        plain,
        warnings,
        name,
        family,
        stamps: crate::range_copy::InputStamps::default(),
    })
}

/// Ships attached floppy images: a `File` per image and the drive item pointing at it
/// (`vmware.floppy.image`, `HostResource ovf:/file/..`).
fn attach_floppy_images(
    m: &Machine,
    dir: &Path,
    stem: &str,
    b: &mut EnvelopeBuilder,
    plain: &mut Vec<PlainFile>,
    warnings: &mut Vec<Warning>,
) {
    let mut n = 0usize;
    for f in &m.floppies {
        let FloppyBacking::Image { file } = &f.backing else {
            continue;
        };
        let element = format!("floppy{}", f.index);
        let mut local = Vec::new();
        let path = match resolve_vm_file(dir, file, &mut local) {
            Ok(p) if p.is_file() => p,
            _ => {
                warnings.retain(|w| w.subject != element);
                warnings.push(Warning::new(
                    element,
                    format!("image {file:?} not found in the VM folder: not packaged"),
                ));
                continue;
            }
        };
        let Some(item) =
            b.system.hardware.items.iter_mut().find(|it| {
                it.element_name == element && it.resource_type == ResourceType::FloppyDrive
            })
        else {
            continue;
        };
        n += 1;
        let id = format!("floppy{n}");
        let href = format!("{stem}-floppy{n}.flp");
        item.resource_sub_type = Some("vmware.floppy.image".to_string());
        item.host_resources = vec![format!("ovf:/file/{id}")];
        b.files.push(FileRef {
            id,
            href: href.clone(),
            size: None,
            compression: None,
            chunk_size: None,
        });
        // The mapping's "not packaged" warning no longer holds.
        warnings.retain(|w| w.subject != element);
        warnings.extend(local);
        plain.push(PlainFile {
            name: href,
            path,
            role: FileRole::Image,
        });
    }
}

/// The descriptor with final (or placeholder) file sizes and populated sizes.
fn descriptor_bytes(
    b: &EnvelopeBuilder,
    sizes: &[(String, u64)],
    populated: &[u64],
) -> Result<Vec<u8>> {
    let mut b = b.clone();
    for f in &mut b.files {
        f.size = sizes.iter().find(|(n, _)| *n == f.href).map(|(_, s)| *s);
    }
    for (d, p) in b.disks.iter_mut().zip(populated) {
        d.populated_size = Some(*p);
    }
    b.build()?.to_bytes()
}

/// Result of writing one disk.
struct Written {
    bytes: u64,
    populated: u64,
    digests: Digests,
}

fn copy_options(opts: &ExportOptions) -> CopyOptions {
    CopyOptions {
        threads: opts.threads,
        ..CopyOptions::default()
    }
}

/// Compresses `job` into streamOptimized on `out`.
fn write_disk<W: Write + Send>(
    job: &mut DiskJob,
    out: W,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<(W, u64)> {
    let capacity = job.source.capacity_bytes();
    let mut writer = StreamOptimizedWriter::new(out, capacity, &job.name, &job.sink_opts)?;
    tracing::info!(file = %job.name, capacity_bytes = capacity, "export: compress disk");
    progress.start(&job.name, Some(capacity));
    let stats = disk::copy(&mut *job.source, &mut writer, &copy_options(opts), progress);
    progress.finish();
    let stats = stats?;
    let (out, _report) = writer.finish_into_inner()?;
    Ok((out, stats.data_bytes))
}

/// Streams a disk into the OVA as an entry of unknown size (patched afterwards), hashing on
/// the way.
fn append_disk<W: Write + Seek + Send>(
    w: &mut ova::Writer<W>,
    job: &mut DiskJob,
    algs: &[Algorithm],
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<Written> {
    let (out, mut reader) = crate::channel::channel(4);
    let hash_opts = HashOptions {
        algorithms: algs.to_vec(),
        prefix_bytes: 0,
        size_hint: None,
    };
    let name = job.name.clone();
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            write_disk(job, out, opts, progress).and_then(|(out, populated)| {
                out.finish()
                    .map_err(|e| Error::io("cannot write archive", e))?;
                Ok(populated)
            })
        });
        let r = w.append_unsized(&name, &mut reader, &hash_opts, &NoProgress);
        drop(reader);
        let populated = match producer.join() {
            Ok(p) => p,
            Err(_) => Err(Error::new(ErrorKind::Io, "disk writer thread panicked")),
        };
        // A producer error explains a short entry; report it first.
        let populated = populated.map_err(|e| e.with_entry(name.clone()))?;
        let r = r?;
        Ok(Written {
            bytes: r.bytes,
            populated,
            digests: r.digests,
        })
    })
}

fn hex_digest(d: &Digests, alg: Option<Algorithm>) -> Option<String> {
    alg.and_then(|a| d.get(a)).map(hex::encode)
}

fn manifest_bytes(alg: Algorithm, entries: &[(String, Option<String>)]) -> Result<Vec<u8>> {
    let mut m = Manifest::default();
    for (name, digest) in entries {
        let hex = digest
            .as_deref()
            .ok_or_else(|| Error::new(ErrorKind::Io, format!("no digest for {name}")))?;
        let raw = hex::decode(hex).map_err(|_| Error::new(ErrorKind::Io, "bad digest"))?;
        m.push(alg, name, raw);
    }
    Ok(m.to_bytes())
}

fn resolve_mtime(opts: &ExportOptions) -> u64 {
    if let Some(t) = opts.mtime {
        return t;
    }
    if std::env::var_os("SOURCE_DATE_EPOCH").is_some() {
        return ova::writer::source_date_epoch();
    }
    crate::cert::now_unix()
}

/// Where the package goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OutputKind {
    /// One `.ova` archive.
    Ova(PathBuf),
    /// A descriptor with its files beside it.
    Ovf(PathBuf),
}

fn output_kind(output: &Path, stem_hint: &str) -> Result<OutputKind> {
    let s = output.to_string_lossy();
    let lower = s.to_ascii_lowercase();
    if s.ends_with('/') || output.is_dir() {
        let stem = sanitize_stem(stem_hint);
        return Ok(OutputKind::Ovf(output.join(format!("{stem}.ovf"))));
    }
    if lower.ends_with(".ova") {
        Ok(OutputKind::Ova(output.to_path_buf()))
    } else if lower.ends_with(".ovf") {
        Ok(OutputKind::Ovf(output.to_path_buf()))
    } else {
        Err(Error::usage(format!(
            "output must end in .ova or .ovf, or be a folder (ending in /), found {s:?}"
        )))
    }
}

/// The VM name used for a folder output before the `.vmx` is read: `--name`, else the config
/// file's stem.
fn stem_hint(input: &Path, opts: &ExportOptions) -> String {
    if let Some(n) = &opts.name {
        return n.clone();
    }
    let config = find_config(input).unwrap_or_else(|_| input.to_path_buf());
    Vmx::read_file(&config, &opts.limits)
        .ok()
        .and_then(|v| v.get("displayName"))
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| file_stem_of(&config))
}

/// Exports the VM at `input` (a `.vmx`/`.vmtx`, or a folder holding exactly one) to `output`:
/// an `.ova` archive, an `.ovf` descriptor with its files beside it, or a folder (a path ending
/// in `/` or an existing folder) receiving `<name>.ovf` and its files.
///
/// # Errors
/// [`ErrorKind::Usage`] for a bad output name, a locked VM (without
/// [`ExportOptions::allow_locked`]), signing without a manifest, a machine the OVF mapping
/// refuses; [`ErrorKind::AlreadyExists`] for an existing output without `force`; the disk
/// readers' errors for corrupt or missing disks (naming the file and offset); I/O errors. On
/// error nothing appears under the output name.
///
/// # Security
/// Files the `.vmx` names are opened through [`crate::gate::resolve_in_dir`] (absolute paths
/// only by base name inside the VM folder); VMDK extents and parents through the hosted
/// reader's gate; every size read is bounded by [`ExportOptions::limits`].
pub fn export(input: &Path, output: &Path, opts: &ExportOptions) -> Result<ExportReport> {
    let progress = crate::progress::of(&opts.progress);
    tracing::info!(input = %input.display(), output = %output.display(), "export: open VM");
    if opts.signer.is_some() && opts.manifest.is_none() {
        return Err(Error::usage(
            "signing needs a manifest, and none is written",
        ));
    }
    // Package member names come from the VM name, not the output name, so that two exports
    // of one VM to different paths are byte-identical.
    // An `.ovf` named by the user keeps its name; its manifest and files follow it.
    let vm_name = stem_hint(input, opts);
    let kind = output_kind(output, &vm_name)?;
    let (final_path, stem) = match &kind {
        OutputKind::Ova(p) => (p.clone(), sanitize_stem(&vm_name)),
        OutputKind::Ovf(p) => (p.clone(), file_stem_of(p)),
    };
    crate::output::check_overwrite(&final_path, opts.force)?;
    let mut plan = plan(input, &stem, opts)?;
    let inputs = plan.input_files();
    plan.stamps = crate::range_copy::InputStamps::take(&inputs)?;
    crate::output::refuse_overlap(&final_path, &inputs)?;
    let ovf_name = format!("{stem}.ovf");
    let mf_name = format!("{stem}.mf");
    let cert_name = format!("{stem}.cert");
    for n in [&ovf_name, &mf_name, &cert_name] {
        ova::names::check_writable_name(n)?;
    }
    let files = match &kind {
        OutputKind::Ova(p) => write_ova(
            p, &mut plan, &ovf_name, &mf_name, &cert_name, opts, progress,
        )?,
        OutputKind::Ovf(p) => write_ovf(
            p, &mut plan, &ovf_name, &mf_name, &cert_name, opts, progress,
        )?,
    };
    let disks = plan
        .disks
        .iter()
        .zip(&files.1)
        .map(|(j, (populated, stored))| ExportedDisk {
            source: j.source_name.clone(),
            attachment: j.attachment.clone(),
            file: j.name.clone(),
            capacity_bytes: j.source.capacity_bytes(),
            populated_bytes: *populated,
            stored_bytes: *stored,
        })
        .collect();
    Ok(ExportReport {
        source: plan.config.clone(),
        output: final_path,
        format: match kind {
            OutputKind::Ova(_) => PackageFormat::Ova,
            OutputKind::Ovf(_) => PackageFormat::Ovf,
        },
        ovf_version: match opts.ovf_version {
            OvfVersion::V2 => OvfVersion::V2,
            _ => OvfVersion::V1,
        },
        manifest_algorithm: opts.manifest,
        signed: opts.signer.is_some(),
        name: plan.name.clone(),
        hardware_family: plan.family.clone(),
        files: files.0,
        disks,
        warnings: plan.warnings.clone(),
    })
}

type Files = (Vec<ExportedFile>, Vec<(u64, u64)>);

fn write_ova(
    path: &Path,
    plan: &mut Plan,
    ovf_name: &str,
    mf_name: &str,
    cert_name: &str,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<Files> {
    let alg = opts.manifest;
    let algs: Vec<Algorithm> = alg.into_iter().collect();
    let mut pending = PendingFile::create(path, opts.force)?;
    let file = pending.file_handle()?;
    let mut w = ova::Writer::new(BufWriter::with_capacity(1 << 20, file), resolve_mtime(opts));

    // Reserve the descriptor with every size at its widest, then manifest and certificate.
    let widest: Vec<(String, u64)> = plan
        .builder
        .files
        .iter()
        .map(|f| (f.href.clone(), u64::MAX))
        .collect();
    let placeholder = descriptor_bytes(&plan.builder, &widest, &vec![u64::MAX; plan.disks.len()])?;
    let ovf_res = w.reserve(ovf_name, placeholder.len() as u64)?;
    let package_names: Vec<String> = plan.builder.files.iter().map(|f| f.href.clone()).collect();
    let mf_res = match alg {
        Some(a) => {
            let len: usize = std::iter::once(ovf_name.to_string())
                .chain(package_names.iter().cloned())
                .map(|n| Manifest::canonical_line_len(a, &n))
                .sum();
            Some(w.reserve(mf_name, len as u64)?)
        }
        None => None,
    };
    let cert_res = match (&opts.signer, alg) {
        (Some(s), Some(a)) => Some(w.reserve(cert_name, s.cert_file_len(a, mf_name) as u64)?),
        _ => None,
    };

    // Files in References order: disks (streamed), then NVRAM and images.
    let mut sizes: Vec<(String, u64)> = Vec::new();
    let mut digests: Vec<(String, Option<String>)> = Vec::new();
    let mut disk_stats = Vec::new();
    let mut out_files = Vec::new();
    for href in &package_names {
        if let Some(job) = plan.disks.iter_mut().find(|j| &j.name == href) {
            let r = append_disk(&mut w, job, &algs, opts, progress)?;
            sizes.push((href.clone(), r.bytes));
            digests.push((href.clone(), hex_digest(&r.digests, alg)));
            disk_stats.push((r.populated, r.bytes));
            out_files.push(ExportedFile {
                name: href.clone(),
                role: FileRole::Disk,
                size: r.bytes,
                digest: hex_digest(&r.digests, alg),
            });
        } else if let Some(pf) = plan.plain.iter().find(|p| &p.name == href) {
            let f = File::open(&pf.path)
                .map_err(|e| Error::io("cannot open", e).with_path(&pf.path))?;
            let size = f
                .metadata()
                .map_err(|e| Error::io("cannot read", e).with_path(&pf.path))?
                .len();
            let hash_opts = HashOptions {
                algorithms: algs.clone(),
                ..HashOptions::default()
            };
            tracing::info!(file = %href, size, "export: copy file");
            progress.start(href, Some(size));
            // NVRAM and ISO/floppy images: a kernel copy, holes kept.
            let r = w
                .append_file(href, size, &f, &hash_opts, progress)
                .map_err(|e| e.with_path(&pf.path));
            progress.finish();
            let r = r?;
            sizes.push((href.clone(), r.bytes));
            digests.push((href.clone(), hex_digest(&r.digests, alg)));
            out_files.push(ExportedFile {
                name: href.clone(),
                role: pf.role,
                size: r.bytes,
                digest: hex_digest(&r.digests, alg),
            });
        }
    }

    // Fill in the descriptor, manifest and certificate.
    let populated: Vec<u64> = disk_stats.iter().map(|(p, _)| *p).collect();
    let mut ovf = descriptor_bytes(&plan.builder, &sizes, &populated)?;
    if ovf.len() as u64 > ovf_res.size {
        return Err(Error::new(
            ErrorKind::Io,
            "descriptor grew beyond its reservation",
        ));
    }
    if (ovf.len() as u64) < ovf_res.size {
        // Blanks after the root element, ending with a newline so the file reads as text.
        ovf.resize(ovf_res.size as usize - 1, b' ');
        ovf.push(b'\n');
    }
    w.fill(&ovf_res, &ovf, b' ')?;
    let ovf_digest = alg.map(|a| hex::encode(a.digest(&ovf)));
    let mut head = vec![ExportedFile {
        name: ovf_name.to_string(),
        role: FileRole::Descriptor,
        size: ovf.len() as u64,
        digest: ovf_digest.clone(),
    }];
    if let (Some(a), Some(res)) = (alg, &mf_res) {
        let mut entries = vec![(ovf_name.to_string(), ovf_digest)];
        entries.extend(digests);
        let mf = manifest_bytes(a, &entries)?;
        w.fill(res, &mf, b'\n')?;
        head.push(ExportedFile {
            name: mf_name.to_string(),
            role: FileRole::Manifest,
            size: res.size,
            digest: None,
        });
        if let (Some(s), Some(cres)) = (&opts.signer, &cert_res) {
            let cert = s.cert_file(a, mf_name, &mf)?;
            w.fill(cres, &cert, b'\n')?;
            head.push(ExportedFile {
                name: cert_name.to_string(),
                role: FileRole::Certificate,
                size: cres.size,
                digest: None,
            });
        }
    }
    let buf = w.finish()?;
    buf.into_inner()
        .map_err(|e| Error::io("cannot write archive", e.into_error()).with_path(path))?;
    plan.stamps.check()?;
    pending.commit()?;
    head.extend(out_files);
    Ok((head, disk_stats))
}

fn write_ovf(
    descriptor_path: &Path,
    plan: &mut Plan,
    ovf_name: &str,
    mf_name: &str,
    cert_name: &str,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<Files> {
    let dir = match descriptor_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Missing folders are created, and removed again if the export fails or is interrupted.
    let created = crate::output::create_dirs(&dir)?;
    let alg = opts.manifest;
    let algs: Vec<Algorithm> = alg.into_iter().collect();
    let package_names: Vec<String> = plan.builder.files.iter().map(|f| f.href.clone()).collect();
    let mut pendings = Vec::new();
    for n in [mf_name, cert_name] {
        if alg.is_some() && (n == mf_name || opts.signer.is_some()) {
            crate::output::check_overwrite(&dir.join(n), opts.force)?;
        }
    }
    let mut sizes = Vec::new();
    let mut digests = Vec::new();
    let mut disk_stats = Vec::new();
    let mut out_files = Vec::new();
    for href in &package_names {
        let target = dir.join(crate::gate::plain_file_name(href)?);
        crate::output::refuse_overlap(&target, &plan.input_files())?;
        let mut pending = PendingFile::create(&target, opts.force)?;
        let file = pending.file_handle()?;
        let (bytes, d, role) = if let Some(job) = plan.disks.iter_mut().find(|j| &j.name == href) {
            let hw = HashingWriter::new(BufWriter::with_capacity(1 << 20, file), &algs);
            let (hw, populated) =
                write_disk(job, hw, opts, progress).map_err(|e| e.with_path(&target))?;
            let (buf, bytes, d) = hw.finish();
            buf.into_inner()
                .map_err(|e| Error::io("cannot write", e.into_error()).with_path(&target))?;
            disk_stats.push((populated, bytes));
            (bytes, d, FileRole::Disk)
        } else if let Some(pf) = plan.plain.iter().find(|p| &p.name == href) {
            let src = File::open(&pf.path)
                .map_err(|e| Error::io("cannot open", e).with_path(&pf.path))?;
            let size = src
                .metadata()
                .map_err(|e| Error::io("cannot read", e).with_path(&pf.path))?
                .len();
            let r = crate::range_copy::copy_range_hashing(
                &src,
                0,
                &file,
                0,
                size,
                &HashOptions {
                    algorithms: algs.clone(),
                    ..HashOptions::default()
                },
                progress,
            )
            .map_err(|e| e.with_path(&pf.path))?;
            (r.bytes, r.digests, pf.role)
        } else {
            continue;
        };
        sizes.push((href.clone(), bytes));
        digests.push((href.clone(), hex_digest(&d, alg)));
        out_files.push(ExportedFile {
            name: href.clone(),
            role,
            size: bytes,
            digest: hex_digest(&d, alg),
        });
        pendings.push(pending);
    }
    let populated: Vec<u64> = disk_stats.iter().map(|(p, _)| *p).collect();
    let ovf = descriptor_bytes(&plan.builder, &sizes, &populated)?;
    let ovf_digest = alg.map(|a| hex::encode(a.digest(&ovf)));
    let mut head = vec![ExportedFile {
        name: ovf_name.to_string(),
        role: FileRole::Descriptor,
        size: ovf.len() as u64,
        digest: ovf_digest.clone(),
    }];
    let mut extra = Vec::new();
    if let Some(a) = alg {
        let mut entries = vec![(ovf_name.to_string(), ovf_digest)];
        entries.extend(digests);
        let mf = manifest_bytes(a, &entries)?;
        if let Some(s) = &opts.signer {
            let cert = s.cert_file(a, mf_name, &mf)?;
            extra.push((cert_name.to_string(), cert, FileRole::Certificate));
        }
        extra.insert(0, (mf_name.to_string(), mf, FileRole::Manifest));
    }
    for (n, data, role) in &extra {
        let target = dir.join(n);
        let mut p = PendingFile::create(&target, opts.force)?;
        p.file()
            .write_all(data)
            .map_err(|e| Error::io("cannot write", e).with_path(&target))?;
        pendings.push(p);
        head.push(ExportedFile {
            name: n.clone(),
            role: *role,
            size: data.len() as u64,
            digest: None,
        });
    }
    let mut dp = PendingFile::create(descriptor_path, opts.force)?;
    dp.file()
        .write_all(&ovf)
        .map_err(|e| Error::io("cannot write", e).with_path(descriptor_path))?;
    // Files first, the descriptor last, as one group: a package is complete when its
    // descriptor exists, and a kill between renames leaves no part behind for long.
    plan.stamps.check()?;
    pendings.push(dp);
    crate::output::commit_group(pendings)?;
    created.keep();
    head.extend(out_files);
    Ok((head, disk_stats))
}

/// Parses a `--prop` value: `KEY:TYPE=DEFAULT`, optionally followed by `|LABEL` and
/// `|DESCRIPTION` (e.g. `guestinfo.hostname:string=appliance|Host name|The guest's host name`).
/// Types are the OVF ones (DSP0243 Table 6): `string`, `boolean`, `uint8`…`sint64`, `real32`,
/// `real64`; the default must fit the type. `password` as type means a `string` with
/// `ovf:password="true"`.
///
/// # Errors
/// [`ErrorKind::Usage`] naming what is wrong.
pub fn parse_property(spec: &str) -> Result<PropertySpec> {
    let mut parts = spec.splitn(3, '|');
    let head = parts.next().unwrap_or("");
    let label = parts.next().map(str::to_string).filter(|s| !s.is_empty());
    let description = parts.next().map(str::to_string).filter(|s| !s.is_empty());
    let (key_type, default) = match head.split_once('=') {
        Some((a, b)) => (a, Some(b.to_string())),
        None => (head, None),
    };
    let (key, type_) = key_type
        .rsplit_once(':')
        .ok_or_else(|| Error::usage(format!("property {spec:?}: expected KEY:TYPE=DEFAULT")))?;
    let key = key.trim();
    if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::usage(format!("property {spec:?}: bad key {key:?}")));
    }
    let mut type_ = type_.trim().to_ascii_lowercase();
    let mut password = false;
    if type_ == "password" {
        type_ = "string".into();
        password = true;
    }
    let ok = |v: &str| -> bool {
        match type_.as_str() {
            "string" => true,
            "boolean" => matches!(v, "true" | "false" | "True" | "False"),
            "uint8" => v.parse::<u8>().is_ok(),
            "sint8" => v.parse::<i8>().is_ok(),
            "uint16" => v.parse::<u16>().is_ok(),
            "sint16" => v.parse::<i16>().is_ok(),
            "uint32" => v.parse::<u32>().is_ok(),
            "sint32" => v.parse::<i32>().is_ok(),
            "uint64" => v.parse::<u64>().is_ok(),
            "sint64" => v.parse::<i64>().is_ok(),
            "real32" | "real64" => v.parse::<f64>().is_ok(),
            _ => false,
        }
    };
    const TYPES: &[&str] = &[
        "string", "boolean", "uint8", "sint8", "uint16", "sint16", "uint32", "sint32", "uint64",
        "sint64", "real32", "real64",
    ];
    if !TYPES.contains(&type_.as_str()) {
        return Err(Error::usage(format!(
            "property {key}: expected a type among {}, password; found {type_:?}",
            TYPES.join(", ")
        )));
    }
    let default = match default {
        Some(d) if type_ == "boolean" => Some(d.to_ascii_lowercase()),
        other => other,
    };
    if let Some(d) = &default {
        if !(ok(d) || d.is_empty() && type_ == "string") {
            return Err(Error::usage(format!(
                "property {key}: default {d:?} is not a {type_}"
            )));
        }
    }
    Ok(PropertySpec {
        key: key.to_string(),
        type_,
        qualifiers: None,
        default,
        user_configurable: true,
        password,
        label,
        description,
        category: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_parse_and_check_types() {
        let p = parse_property("guestinfo.hostname:string=app|Host name|The name").unwrap();
        assert_eq!(p.key, "guestinfo.hostname");
        assert_eq!(p.type_, "string");
        assert_eq!(p.default.as_deref(), Some("app"));
        assert_eq!(p.label.as_deref(), Some("Host name"));
        assert_eq!(p.description.as_deref(), Some("The name"));
        assert!(p.user_configurable);
        assert!(parse_property("a:uint8=256").is_err());
        assert!(parse_property("a:boolean=yes").is_err());
        assert_eq!(
            parse_property("a:boolean=TRUE").unwrap().default.as_deref(),
            Some("true")
        );
        assert!(parse_property("a:blob=1").is_err());
        assert!(parse_property("nokind").is_err());
        assert!(parse_property("k:password=").unwrap().password);
        assert_eq!(parse_property("url:string=http://x").unwrap().key, "url");
    }

    #[test]
    fn targets_and_outputs() {
        let mut o = ExportOptions::default();
        "esxi6".parse::<Target>().unwrap().apply(&mut o);
        assert_eq!(o.manifest, Some(Algorithm::Sha1));
        assert_eq!(o.max_hw_version, Some(11));
        assert!("esx5".parse::<Target>().is_err());
        assert_eq!(
            output_kind(Path::new("a.OVA"), "x").unwrap(),
            OutputKind::Ova(PathBuf::from("a.OVA"))
        );
        assert_eq!(
            output_kind(Path::new("out/"), "My VM").unwrap(),
            OutputKind::Ovf(PathBuf::from("out/My_VM.ovf"))
        );
        assert!(output_kind(Path::new("a.tar"), "x").is_err());
        assert_eq!(sanitize_stem("a/b:c"), "a_b_c");
        assert_eq!(sanitize_stem("RHEL 7.1 UEFI"), "RHEL_7.1_UEFI");
        assert_eq!(sanitize_stem("..."), "vm");
    }
}
