//! `import`: an OVA or OVF package becomes a VMware VM folder (`.vmx` + disks), in one verified
//! streaming pass.
//!
//! `Envelope → Machine → Vmx` (docs/ARCHITECTURE.md): the descriptor is read into the neutral
//! [`Machine`], adjusted (disk file names, networks, hardware version, extra-config policy, OVF
//! environment) and written as a `.vmx`. The package is read once, in order, by the scan every
//! command shares (`crate::scan`), which parses the descriptor once for the plan and the verdict
//! and hashes each member as it goes by; a disk member's bytes are forwarded
//! through a bounded channel to a converter thread (gunzip when `ovf:compression="gzip"`, the
//! marker-following streamOptimized reader, [`crate::disk::copy`] into the chosen layout);
//! consecutive chunk members (`href.000000000`...) feed the same converter. At the end, every
//! check of `verify` ([`crate::verify()`]: entry order, References ↔ members, sizes, manifest,
//! signature, disk headers) runs on what the pass collected. Everything is written into a
//! temporary folder inside the target folder ([`PendingDir`]), renamed into place only when the
//! whole import succeeded: on any failure nothing is left behind.
//!
//! ```no_run
//! use std::path::Path;
//! use ovftool::import::{import, ImportOptions};
//! use ovftool::vmdk::layout::Layout;
//!
//! let opts = ImportOptions {
//!     disk_mode: Layout::EagerZeroedThick,
//!     networks: vec![("VM Network".into(), "prod".into())],
//!     properties: vec![("hostname".into(), "db1".into())],
//!     accept_all_eulas: true,
//!     ..Default::default()
//! };
//! let report = import(Path::new("appliance.ova"), Path::new("/vms"), &opts)?;
//! println!("{} ({} disks)", report.vmx.display(), report.disks.len());
//! # Ok::<(), ovftool::Error>(())
//! ```

pub(crate) mod pipe;
mod vapp;

pub use vapp::{import_package, import_package_reader, PackageImport};

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::digest::{copy_hashing, CopyResult, HashOptions};
use crate::disk::{CopyOptions, SinkOptions};
use crate::error::{Error, ErrorKind, Hint, Result};
use crate::limits::Limits;
use crate::output::PendingDir;
use crate::ova::names::{self, Role};
use crate::ovf::env::Environment;
use crate::ovf::{props, Envelope};
use crate::progress::{NoProgress, Progress};
use crate::scan::{self, DataMember, MemberSink, Package};
use crate::verify::{self, Finding, Policy, Report, Severity};
use crate::vm::{AdapterType, BusFamily, CdBacking, FloppyBacking, Machine};
use crate::vmdk::layout::Layout;

use pipe::{BlankSource, ChannelWriter, DiskDone, DiskTarget};

/// Hardware version used when the descriptor names no VMware hardware family (VirtualBox's
/// `virtualbox-2.2`, OVF 2.0 exports): ESXi 6.7 / Workstation 14, widely supported.
pub const DEFAULT_HW_VERSION: u32 = 14;

/// Options of [`import()`], [`import_stream`] and [`import_package`].
#[derive(Clone)]
pub struct ImportOptions {
    /// VM name (folder and file names); default: the VirtualSystem's name, made safe.
    pub name: Option<String>,
    /// Disk layout of the imported disks (default [`Layout::Thin`]; thin / thick /
    /// eager-zeroed-thick write ESXi `vmfs` descriptors, monolithic-sparse is what Workstation
    /// and Fusion create).
    /// Not streamOptimized or raw.
    pub disk_mode: Layout,
    /// Deployment option (`ovf:configuration`) id; default: the descriptor's default.
    pub deployment_option: Option<String>,
    /// The VirtualSystem (`ovf:id`) to import from a multi-VM vApp; required by [`import()`]
    /// when the package holds several ([`import_package`] then imports every VM).
    pub vm: Option<String>,
    /// `OVF network name → target network` (sets `ethernetN.networkName`).
    pub networks: Vec<(String, String)>,
    /// Property values `key=value` (checked against type and qualifiers).
    pub properties: Vec<(String, String)>,
    /// Accept every EULA; without it a package with a EULA is refused.
    pub accept_all_eulas: bool,
    /// Accept what ovftool's `--lax` accepts (non-VMware hardware families, entry order...).
    pub lax: bool,
    /// Highest `virtualHW.version` to write.
    pub max_hw_version: Option<u32>,
    /// Do not fail on manifest digest findings (the signature is still checked when present).
    pub skip_manifest_check: bool,
    /// Replace an existing VM folder.
    pub force: bool,
    /// Write every `vmw:ExtraConfig` entry, not only the safe ones.
    pub allow_extra_config: bool,
    /// Size caps.
    pub limits: Limits,
    /// Disk pipeline settings.
    pub copy: CopyOptions,
    /// Receives progress of the pass over the package (`None`: none reported).
    pub progress: Option<Arc<dyn Progress>>,
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("name", &self.name)
            .field("disk_mode", &self.disk_mode)
            .field("deployment_option", &self.deployment_option)
            .field("vm", &self.vm)
            .field("networks", &self.networks)
            .field("properties", &self.properties)
            .field("accept_all_eulas", &self.accept_all_eulas)
            .field("lax", &self.lax)
            .field("max_hw_version", &self.max_hw_version)
            .field("skip_manifest_check", &self.skip_manifest_check)
            .field("force", &self.force)
            .field("allow_extra_config", &self.allow_extra_config)
            .field("limits", &self.limits)
            .field("copy", &self.copy)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl ImportOptions {
    /// The policy the package's verdict is judged by (the same as `verify` and `unpack` with
    /// the same options).
    pub fn policy(&self) -> Policy {
        Policy {
            lax: self.lax,
            skip_manifest_check: self.skip_manifest_check,
            ..Policy::default()
        }
    }
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            name: None,
            disk_mode: Layout::Thin,
            deployment_option: None,
            vm: None,
            networks: Vec::new(),
            properties: Vec::new(),
            accept_all_eulas: false,
            lax: false,
            max_hw_version: None,
            skip_manifest_check: false,
            force: false,
            allow_extra_config: false,
            limits: Limits::default(),
            copy: CopyOptions::default(),
            progress: None,
        }
    }
}

/// One file written into the VM folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrittenFile {
    /// Path (inside the final VM folder).
    #[serde(serialize_with = "crate::json_path::serialize")]
    pub path: PathBuf,
    /// Size in bytes (apparent size; thin extents are sparse).
    pub size: u64,
}

/// One imported disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskReport {
    /// `ovf:diskId`.
    pub disk_id: String,
    /// The package member it came from (`None` for a blank disk).
    pub source: Option<String>,
    /// The `.vmx` device (`scsi0:0`).
    pub device: String,
    /// Output layout.
    pub mode: Layout,
    /// The descriptor written (relative to the VM folder).
    pub file: String,
    /// Virtual capacity in bytes.
    pub capacity_bytes: u64,
    /// Non-zero bytes written.
    pub data_bytes: u64,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The VM name.
    pub name: String,
    /// The VM folder (`TARGET_DIR/<name>`).
    #[serde(serialize_with = "crate::json_path::serialize")]
    pub vm_dir: PathBuf,
    /// The `.vmx` written.
    #[serde(serialize_with = "crate::json_path::serialize")]
    pub vmx: PathBuf,
    /// Hardware version written.
    pub hardware_version: u32,
    /// Every file written.
    pub files: Vec<WrittenFile>,
    /// The disks.
    pub disks: Vec<DiskReport>,
    /// What was approximated or left out.
    pub warnings: Vec<String>,
    /// Options that would have imported what `warnings` says was left out, for a front end to
    /// suggest in its own spelling (not in the JSON of the report).
    #[serde(skip)]
    pub hints: Vec<Hint>,
    /// The verification of the package (findings, manifest, signature).
    pub verification: Report,
}

/// Imports `source` (an `.ova`, an `.ovf` with its files beside it, or `-` for an OVA on
/// standard input) into `target_dir/<name>/`. `target_dir` is created when missing. Progress
/// goes to `opts.progress`.
///
/// # Errors
/// [`ErrorKind::Verification`] when the package fails verification (digests, signature,
/// structure); [`ErrorKind::Corrupt`] / [`ErrorKind::InvalidOvf`] for unreadable input;
/// [`ErrorKind::Usage`] for bad options, an unaccepted EULA or invalid property values;
/// [`ErrorKind::AlreadyExists`] when the VM folder exists and not `force`; I/O errors.
///
/// # Security
/// Every name from the package passes [`crate::gate`] / [`crate::ova::names`]; everything is
/// written inside a temporary folder in `target_dir` and renamed into place only on success.
pub fn import(source: &Path, target_dir: &Path, opts: &ImportOptions) -> Result<ImportReport> {
    import_path(source, target_dir, opts, progress_of(opts))
}

/// Imports an OVA read from any stream (a pipe, an http body) into `target_dir/<name>/`.
/// `label` names the source in reports. Progress goes to `opts.progress`.
///
/// # Errors
/// As [`import()`].
///
/// # Security
/// As [`import()`].
pub fn import_stream(
    src: &mut dyn Read,
    label: &Path,
    target_dir: &Path,
    opts: &ImportOptions,
) -> Result<ImportReport> {
    import_reader(src, label, None, target_dir, opts, progress_of(opts))
}

/// Where `opts` wants progress reported.
fn progress_of(opts: &ImportOptions) -> &dyn Progress {
    crate::progress::of(&opts.progress)
}

/// [`import()`] with an explicit progress receiver.
pub(crate) fn import_path(
    source: &Path,
    target_dir: &Path,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportReport> {
    tracing::info!(source = %source.display(), target = %target_dir.display(),
        disk_mode = opts.disk_mode.name(), "import: open package");
    if source == Path::new("-") {
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        return import_reader(&mut lock, source, None, target_dir, opts, progress);
    }
    let meta = fs::metadata(source).map_err(|e| Error::io("cannot open", e).with_path(source))?;
    if meta.is_file() {
        // By content: a gzip-compressed OVA, a disk image or a .vmx is named, not parsed as tar.
        let content = crate::sniff::sniff_path(source)?.content;
        if let Some(e) = content.not_a_package_error() {
            return Err(e.with_path(source));
        }
        if content == crate::sniff::Content::Ovf
            || names::role(&source.to_string_lossy()) == Role::Descriptor
        {
            return with_target(target_dir, |t| import_ovf(source, t, opts, progress));
        }
    }
    if meta.is_dir() {
        return Err(Error::usage(
            "expected an .ova or .ovf file, found a folder (name its .ovf descriptor)",
        )
        .with_path(source));
    }
    let mut f = File::open(source).map_err(|e| Error::io("cannot open", e).with_path(source))?;
    import_reader(&mut f, source, Some(source), target_dir, opts, progress)
}

/// [`import_stream`] with an explicit progress receiver. `reopen`, when the stream is a file,
/// lets digests that a single pass could not compute (a manifest at the end using an algorithm
/// not computed on the way) be computed by re-reading.
pub(crate) fn import_reader(
    src: &mut dyn Read,
    label: &Path,
    reopen: Option<&Path>,
    target_dir: &Path,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportReport> {
    with_target(target_dir, |t| {
        import_ova(src, label, reopen, t, opts, progress)
    })
}

/// Creates `target_dir` if missing ([`crate::output::create_dirs`]: refused for a remote
/// locator); removes what it created again (when empty) if the import fails or is interrupted.
fn with_target<T>(target_dir: &Path, f: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let created = crate::output::create_dirs(target_dir)?;
    if !target_dir.is_dir() {
        return Err(Error::usage("the target is not a folder").with_path(target_dir));
    }
    let r = f(target_dir);
    if r.is_ok() {
        created.keep();
    }
    r
}

fn check_options(opts: &ImportOptions) -> Result<()> {
    match opts.disk_mode {
        Layout::StreamOptimized | Layout::Raw => Err(Error::usage(format!(
            "disk mode {} is not a VM folder layout: expected thin, thick, eager-zeroed-thick, monolithic-sparse, monolithic-flat, two-gb-sparse or two-gb-flat",
            opts.disk_mode
        ))),
        _ => Ok(()),
    }?;
    if let Some(n) = &opts.name {
        crate::gate::plain_file_name(n)
            .map_err(|e| Error::usage(format!("VM name {n:?}: {}", e.message())))?;
    }
    Ok(())
}

/// A VM name usable as a file name: characters outside `[A-Za-z0-9 ._()+,-]` become `_`,
/// leading dots and blanks are dropped, at most 80 bytes; `vm` if nothing is left.
pub fn safe_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " ._()+,-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    s = s.trim_start_matches(['.', ' ']).trim_end().to_string();
    s.truncate(80);
    let s = s.trim_end().to_string();
    if s.is_empty() || s == "." || s == ".." {
        "vm".to_string()
    } else {
        s
    }
}

/// What the descriptor decided, before any disk is read.
struct Plan {
    name: String,
    machine: Machine,
    hw_version: u32,
    warnings: Vec<String>,
    /// Options that would have imported more.
    hints: Vec<Hint>,
    /// File id → what to do with it.
    files: HashMap<String, FilePlan>,
    /// Package member name → (file id, chunk index).
    by_member: MemberIndex,
    /// Disks by index in `machine.disks`.
    disks: Vec<DiskPlan>,
    /// The output descriptor and env documents, for the report.
    ovf_env: Option<String>,
}

/// Which File a package member holds: a plain `href`, or chunk `href.NNNNNNNNN` of a File with
/// `ovf:chunkSize` (looked up through its href, so the index is linear in the References).
#[derive(Debug, Default)]
struct MemberIndex {
    whole: HashMap<String, String>,
    chunked: HashMap<String, String>,
    max_chunks: u64,
}

impl MemberIndex {
    fn get(&self, name: &str) -> Option<(String, u64)> {
        if let Some(id) = self.whole.get(name) {
            return Some((id.clone(), 0));
        }
        let (href, idx) = name.rsplit_once('.')?;
        let i: u64 = idx.parse().ok()?;
        let id = self.chunked.get(href)?;
        (i < self.max_chunks && names::chunk_name(href, i) == name).then(|| (id.clone(), i))
    }
}

#[derive(Debug, Clone)]
enum FilePlan {
    /// Converted into disk `index` of `Plan::disks`.
    Disk(usize),
    /// Copied as-is under this name (ISO, floppy image, NVRAM).
    Copy(String),
    /// Not used by the VM (only hashed).
    Skip,
}

#[derive(Debug, Clone)]
struct DiskPlan {
    disk_id: String,
    file_id: Option<String>,
    device: String,
    out_name: String,
    target: DiskTarget,
    done: Option<DiskDone>,
}

/// Reads the descriptor into a plan: machine, name, output names, what to do with each file.
fn plan(env: &Envelope, opts: &ImportOptions, vm_dir_stage: Option<&Path>) -> Result<Plan> {
    let _ = vm_dir_stage;
    let (mut machine, mwarn) =
        Machine::from_envelope(env, opts.vm.as_deref(), opts.deployment_option.as_deref())
            .map_err(|e| {
                if e.kind() == crate::ErrorKind::Usage {
                    e.with_hint(Hint::ChooseVm)
                } else {
                    e
                }
            })?;
    let mut warnings: Vec<String> = mwarn.iter().map(ToString::to_string).collect();
    let mut hints = Vec::new();
    for u in &machine.unmapped {
        warnings.push(format!("{}: not imported: {}", u.item, u.reason));
    }
    // --- EULAs.
    let systems = env.virtual_systems();
    require_eula_acceptance(&systems, opts.accept_all_eulas)?;
    // --- Hardware family: the highest vmx-NN listed, capped.
    let families: Vec<&str> = systems
        .iter()
        .flat_map(|v| v.hardware.iter())
        .filter_map(|h| h.system.as_ref())
        .flat_map(|s| s.system_types.iter())
        .flat_map(|t| t.split([',', ' ']))
        .filter(|t| !t.is_empty())
        .collect();
    let listed: Vec<u32> = families
        .iter()
        .filter_map(|t| crate::ovf::machine::vmx_version(t))
        .collect();
    let cap = opts.max_hw_version.unwrap_or(u32::MAX);
    let hw_version = match listed.iter().copied().filter(|v| *v <= cap).max() {
        Some(v) => v,
        None if listed.is_empty() => {
            // No family named at all (an empty <System/>) is ovftool's default family; a
            // family named that is not VMware's needs `lax`.
            if !opts.lax && !families.is_empty() {
                return Err(Error::invalid_ovf(
                    "the descriptor names no VMware hardware family (vmx-NN) in VirtualSystemType",
                )
                .with_hint(Hint::Lax));
            }
            let v = DEFAULT_HW_VERSION.min(cap);
            warnings.push(format!(
                "no VMware hardware family listed: using vmx-{v:02}"
            ));
            v
        }
        None => {
            let lowest = listed.iter().copied().min().unwrap_or(cap);
            warnings.push(format!(
                "the descriptor's hardware family vmx-{lowest:02} is above the highest version allowed, {cap}: writing {cap}"
            ));
            cap
        }
    };
    machine.hardware_version = Some(hw_version);
    // --- Name.
    let name = match &opts.name {
        Some(n) => n.clone(),
        None => safe_name(machine.name.as_deref().unwrap_or("vm")),
    };
    crate::gate::plain_file_name(&name)?;
    // --- Networks.
    for (from, to) in &opts.networks {
        let mut hit = false;
        for nic in &mut machine.nics {
            if nic.network.as_deref() == Some(from.as_str()) {
                nic.network = Some(to.clone());
                hit = true;
            }
        }
        if !hit {
            return Err(Error::usage(format!(
                "network mapping {from}={to}: no network adapter is connected to OVF network {from:?}"
            )));
        }
    }
    // Hosted networking: "nat", "bridged", "hostonly" become `connectionType` (Workstation,
    // Fusion); any other name is written as `networkName` (the ESXi port group form).
    for nic in &mut machine.nics {
        if let Some(net) = nic.network.take() {
            nic.connect(&net);
        }
    }
    // --- Extra config policy.
    let extra = std::mem::take(&mut machine.extra_config);
    for (k, v) in extra {
        if opts.allow_extra_config || is_safe_extra_config(&k) {
            machine.extra_config.push((k, v));
        } else {
            warnings.push(format!(
                "extra configuration {k} = {v:?} not imported (not on the safe list)"
            ));
            if !hints.contains(&Hint::AllowExtraConfig) {
                hints.push(Hint::AllowExtraConfig);
            }
        }
    }
    // --- Files: disks, images.
    let refs = env.references();
    let mut files: HashMap<String, FilePlan> = HashMap::new();
    let mut by_member = MemberIndex {
        max_chunks: opts.limits.max_ova_entries as u64,
        ..MemberIndex::default()
    };
    let mut ref_by_id: HashMap<&str, &crate::ovf::FileRef> = HashMap::new();
    let mut ref_by_href: HashMap<&str, &crate::ovf::FileRef> = HashMap::new();
    for f in &refs {
        files.insert(f.id.clone(), FilePlan::Skip);
        let index = if f.chunk_size.is_some() {
            &mut by_member.chunked
        } else {
            &mut by_member.whole
        };
        index.insert(f.href.clone(), f.id.clone());
        ref_by_id.entry(&f.id).or_insert(f);
        ref_by_href.entry(&f.href).or_insert(f);
    }
    let ovf_disks = env.disks();
    let mut disk_by_id = HashMap::new();
    for o in &ovf_disks {
        disk_by_id.entry(o.disk_id.as_str()).or_insert(o);
    }
    let mut disks = Vec::new();
    let controller_of = |m: &Machine, fam: BusFamily, bus: u32| {
        m.controllers
            .iter()
            .find(|c| c.family() == fam && c.bus == bus)
            .map(|c| c.kind)
    };
    let machine_ro = machine.clone();
    for (i, d) in machine.disks.iter_mut().enumerate() {
        let out_name = format!("{name}-disk{}.vmdk", i + 1);
        let ovf_disk = d
            .disk_id
            .as_deref()
            .and_then(|id| disk_by_id.get(id).copied());
        let file = ovf_disk
            .and_then(|o| o.file_ref.as_deref())
            .and_then(|id| ref_by_id.get(id).copied());
        let ovf_capacity = match ovf_disk.map(|o| disk_capacity(o, env, &opts.properties)) {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => {
                if file.is_none() {
                    return Err(e);
                }
                warnings.push(e.message().to_string());
                None
            }
            None => d.capacity_bytes,
        };
        let kind = controller_of(&machine_ro, d.attachment.family, d.attachment.bus);
        let sink = SinkOptions {
            force: false,
            adapter_type: AdapterType::for_controller(d.attachment.family, kind),
            hw_version: hw_version.min(21),
            compression_level: 6,
            identity: format!("{name}\0{}\0{}", i, d.disk_id.as_deref().unwrap_or("")).into_bytes(),
        };
        let entry = file.map(|f| f.href.clone()).unwrap_or_default();
        let gzip = file.is_some_and(|f| {
            f.compression
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case("gzip"))
        });
        if let Some(f) = file {
            if let Some(c) = f.compression.as_deref() {
                if !c.eq_ignore_ascii_case("gzip") && !c.eq_ignore_ascii_case("identity") {
                    return Err(Error::unsupported(format!(
                        "{}: ovf:compression {c:?} is not supported (gzip or identity)",
                        f.href
                    )));
                }
            }
            if files
                .get(&f.id)
                .is_some_and(|p| matches!(p, FilePlan::Disk(_)))
            {
                // One Disk attached twice is refused when the machine is read
                // (`model::disk_attached_twice`); here two Disks name one File (§9.1).
                let other = disks
                    .iter()
                    .find(|p: &&DiskPlan| p.file_id.as_deref() == Some(f.id.as_str()))
                    .map(|p| p.disk_id.as_str());
                return Err(Error::invalid_ovf(format!(
                    "File {} backs more than one disk ({} and {}); each Disk needs its own file",
                    f.id,
                    other.unwrap_or("?"),
                    d.disk_id.as_deref().unwrap_or("?")
                )));
            }
            files.insert(f.id.clone(), FilePlan::Disk(disks.len()));
        } else if d.disk_id.is_some() && ovf_capacity.is_none() {
            return Err(Error::invalid_ovf(format!(
                "disk {} has neither a file nor a capacity",
                d.disk_id.as_deref().unwrap_or("")
            )));
        }
        disks.push(DiskPlan {
            disk_id: d.disk_id.clone().unwrap_or_default(),
            file_id: file.map(|f| f.id.clone()),
            device: d.attachment.to_string(),
            out_name: out_name.clone(),
            target: DiskTarget {
                path: PathBuf::new(),
                layout: opts.disk_mode,
                ovf_capacity_bytes: ovf_capacity,
                sink,
                entry,
                gzip,
            },
            done: None,
        });
        d.file_name = out_name;
        d.capacity_bytes = ovf_capacity;
    }
    // Images: packaged ISO / floppy files are copied under their own (gated) names.
    let mut copy_href = |href: &str, warnings: &mut Vec<String>| -> Option<String> {
        let f = ref_by_href.get(href).or_else(|| ref_by_id.get(href))?;
        if f.chunk_size.is_some() || f.compression.as_deref().is_some_and(|c| c == "gzip") {
            warnings.push(format!(
                "{}: compressed or chunked image files are not supported; left out",
                f.href
            ));
            return None;
        }
        let out = crate::gate::plain_file_name(&f.href).ok()?.to_string();
        files.insert(f.id.clone(), FilePlan::Copy(out.clone()));
        Some(out)
    };
    for cd in &mut machine.cdroms {
        if let CdBacking::Image { file } = &cd.backing {
            match copy_href(file, &mut warnings) {
                Some(out) => cd.backing = CdBacking::Image { file: out },
                None => {
                    warnings.push(format!(
                        "CD-ROM {}: image {file:?} is not in the package: the drive is left disconnected",
                        cd.attachment
                    ));
                    cd.backing = CdBacking::HostDevice { device: None };
                    cd.start_connected = false;
                }
            }
        }
    }
    for fl in &mut machine.floppies {
        if let FloppyBacking::Image { file } = &fl.backing {
            match copy_href(file, &mut warnings) {
                Some(out) => fl.backing = FloppyBacking::Image { file: out },
                None => {
                    warnings.push(format!(
                        "floppy{}: image {file:?} is not in the package: the drive is left disconnected",
                        fl.index
                    ));
                    fl.backing = FloppyBacking::Client;
                    fl.start_connected = false;
                }
            }
        }
    }
    if let Some(nv) = machine.nvram_file.clone() {
        match copy_href(&nv, &mut warnings) {
            Some(out) => machine.nvram_file = Some(out),
            None => {
                // A name of the source VM's NVRAM that the package does not ship: a new one is
                // created by the host.
                machine.nvram_file = None;
            }
        }
    }
    // In a vApp, the files the other VMs attach are theirs, not unused.
    let others = match (&opts.vm, systems.len()) {
        (Some(vm), 2..) => vapp::files_other_vms_use(env, vm),
        _ => Default::default(),
    };
    for f in &refs {
        let first = ref_by_id
            .get(f.id.as_str())
            .is_some_and(|r| std::ptr::eq(*r, f));
        if first && !others.contains(&f.id) && matches!(files.get(&f.id), Some(FilePlan::Skip)) {
            warnings.push(format!("{}: referenced but not used by the VM", f.href));
        }
    }
    Ok(Plan {
        name,
        machine,
        hw_version,
        warnings,
        hints,
        files,
        by_member,
        disks,
        ovf_env: None,
    })
}

/// `ovf:capacity` in bytes; a `${key}` capacity takes the `--prop key=...` value when given,
/// else the property's default (DSP0243 §9.1).
fn disk_capacity(
    d: &crate::ovf::model::Disk,
    env: &Envelope,
    given: &[(String, String)],
) -> Result<u64> {
    let raw = d.capacity.trim();
    let key = raw.strip_prefix("${").and_then(|r| r.strip_suffix('}'));
    let Some((_, value)) = key.and_then(|k| given.iter().find(|(g, _)| g == k.trim())) else {
        return d.capacity_bytes(env);
    };
    let n: u64 = value.trim().parse().map_err(|_| {
        Error::usage(format!(
            "disk {}: capacity property {}: expected a whole number, found {value:?}",
            d.disk_id, raw
        ))
    })?;
    let mult = match d.capacity_units.as_deref() {
        None => 1,
        Some(u) => crate::ovf::parse_allocation_units(u)?,
    };
    n.checked_mul(mult).ok_or_else(|| {
        Error::usage(format!(
            "disk {}: capacity {n} x {mult} bytes overflows",
            d.disk_id
        ))
    })
}

/// `vmw:ExtraConfig` keys written without `--allow-extra-config`: guest-visible information and
/// harmless device/tools settings (ovftool likewise filters extra configuration by default).
/// Everything the descriptor's mapped `vmw:Config` settings produce is also allowed.
pub fn is_safe_extra_config(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    const PREFIXES: &[&str] = &[
        "guestinfo.",
        "tools.",
        "toolscripts.",
        "powertype.",
        "svga.",
        "time.synchronize.",
        "isolation.tools.",
        "keyboard.",
        "mks.enable3d",
        "vcpu.hot",
        "mem.hotadd",
        "vhv.enable",
        "vvtd.enable",
        "vbs.enable",
        "ich7m.present",
        "smc.present",
        "disk.enableuuid",
        "pcibridge",
        "hpet0.",
        "virtualhw.productcompatibility",
        "cpuid.corespersocket",
        "monitor.virtual_exec",
        "monitor.virtual_mmu",
    ];
    if PREFIXES.iter().any(|p| k.starts_with(p)) {
        return true;
    }
    // Per-adapter options mapped from item-level vmw:Config.
    if let Some(rest) = k.strip_prefix("ethernet") {
        let opt = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        return matches!(
            opt,
            ".wakeonpcktrcv" | ".allowguestconnectioncontrol" | ".pcislotnumber"
        );
    }
    false
}

/// What the import made of the descriptor: the plan, and the pending folder it is written into.
struct Staged<'p> {
    opts: &'p ImportOptions,
    stage: PathBuf,
    plan: Plan,
    pending: PendingDir,
    progress: &'p dyn Progress,
    copied: Vec<WrittenFile>,
    /// The first input failure of a disk converter, reported after the verdict.
    deferred: Option<Error>,
}

/// A disk conversion in flight.
struct Active<'s> {
    disk: usize,
    file_id: String,
    next_chunk: u64,
    writer: ChannelWriter,
    handle: std::thread::ScopedJoinHandle<'s, Result<DiskDone>>,
}

/// Import's [`MemberSink`]: the descriptor (parsed once, by the scan) becomes the plan and the
/// pending folder; each data member is then converted (disks: its bytes go through a bounded
/// channel to a converter thread; consecutive chunks feed the same one), copied (images) or
/// only hashed, as the plan says.
struct Convert<'s, 'e> {
    opts: &'e ImportOptions,
    /// The package, in messages (and refused as the output folder).
    input: &'e Path,
    target_dir: &'e Path,
    progress: &'e dyn Progress,
    scope: &'s std::thread::Scope<'s, 'e>,
    staged: Option<Staged<'e>>,
    active: Option<Active<'s>>,
    /// What ends the import before any verdict (options the descriptor refuses, a package in
    /// the wrong order without --lax); the scan is stopped with a stand-in error.
    fatal: Option<Error>,
    desc_name: Option<String>,
    /// The first member, when it came before the descriptor (an order ovftool refuses; --lax
    /// accepts it).
    early: Option<String>,
    /// Under --lax, data members before the descriptor are kept in a scratch folder inside the
    /// target and converted once the descriptor is known.
    spill: Option<PendingDir>,
    spilled: Vec<(String, u64, PathBuf)>,
}

/// What is left of a [`Convert`] once the scan is over.
struct Outcome<'e> {
    staged: Option<Staged<'e>>,
    fatal: Option<Error>,
    desc_name: Option<String>,
    early: Option<String>,
}

impl<'s, 'e> Convert<'s, 'e> {
    fn new(
        opts: &'e ImportOptions,
        input: &'e Path,
        target_dir: &'e Path,
        progress: &'e dyn Progress,
        scope: &'s std::thread::Scope<'s, 'e>,
    ) -> Self {
        Convert {
            opts,
            input,
            target_dir,
            progress,
            scope,
            staged: None,
            active: None,
            fatal: None,
            desc_name: None,
            early: None,
            spill: None,
            spilled: Vec::new(),
        }
    }

    /// Ends the scan with `e` as the import's error.
    fn stop(&mut self, e: Error) -> Error {
        self.fatal = Some(e);
        Error::usage("import stopped")
    }

    /// Finishes the converter in flight (its input ends here), then gives up the rest.
    fn into_outcome(mut self) -> (Outcome<'e>, Result<()>) {
        let fin = self.finish_active();
        // The scratch folder of spilled members goes now.
        drop(self.spill.take());
        (
            Outcome {
                staged: self.staged,
                fatal: self.fatal,
                desc_name: self.desc_name,
                early: self.early,
            },
            fin,
        )
    }

    /// Finishes the converter in flight, if any (its input ends here).
    fn finish_active(&mut self) -> Result<()> {
        let Some(a) = self.active.take() else {
            return Ok(());
        };
        drop(a.writer);
        let r = a
            .handle
            .join()
            .map_err(|_| Error::new(ErrorKind::Io, "disk conversion thread panicked"))?;
        let Some(st) = self.staged.as_mut() else {
            return Ok(());
        };
        let entry = st.plan.disks[a.disk].target.entry.clone();
        match r {
            Ok(done) => st.plan.disks[a.disk].done = Some(done),
            // Bad input: keep reading, so that the verdict (a digest mismatch) can explain it;
            // the error is reported after the pass.
            Err(e) if e.kind().is_input_failure() => {
                if st.deferred.is_none() {
                    st.deferred = Some(e.with_entry(entry));
                }
            }
            Err(e) => return Err(e.with_entry(entry)),
        }
        Ok(())
    }

    /// Converts, copies or only hashes one data member, as the plan says.
    fn member(
        &mut self,
        name: &str,
        size: u64,
        r: &mut dyn Read,
        hash_opts: &HashOptions,
    ) -> Result<CopyResult> {
        let target = match &self.staged {
            Some(st) => st.plan.by_member.get(name),
            None => return Err(Error::usage("no import plan")),
        };
        let continues = match (&self.active, &target) {
            (Some(a), Some((fid, idx))) => &a.file_id == fid && a.next_chunk == *idx,
            _ => false,
        };
        if !continues {
            self.finish_active()?;
        }
        let Some(st) = self.staged.as_mut() else {
            return Err(Error::usage("no import plan"));
        };
        let fplan = target
            .as_ref()
            .and_then(|(fid, _)| st.plan.files.get(fid).cloned())
            .unwrap_or(FilePlan::Skip);
        match fplan {
            FilePlan::Disk(di) => {
                let (fid, idx) = target.clone().unwrap_or_default();
                if !continues {
                    if idx != 0 {
                        return Err(Error::corrupt(format!(
                            "chunk {name} comes without the chunks before it"
                        ))
                        .with_entry(name));
                    }
                    if st.plan.disks[di].done.is_some() {
                        return Err(
                            Error::corrupt(format!("{name} appears twice")).with_entry(name)
                        );
                    }
                    let (tx, rx) = pipe::channel();
                    let mut t = st.plan.disks[di].target.clone();
                    t.path = st.stage.join(&st.plan.disks[di].out_name);
                    let stage = st.stage.clone();
                    let limits = self.opts.limits;
                    let copy_opts = self.opts.copy.clone();
                    let progress: &'e dyn Progress = self.progress;
                    let handle = self.scope.spawn(move || {
                        pipe::convert(Box::new(rx), &t, &stage, &limits, &copy_opts, progress)
                    });
                    self.active = Some(Active {
                        disk: di,
                        file_id: fid,
                        next_chunk: 0,
                        writer: ChannelWriter::new(tx),
                        handle,
                    });
                }
                let a = self
                    .active
                    .as_mut()
                    .ok_or_else(|| Error::new(ErrorKind::Io, "no converter"))?;
                a.next_chunk += 1;
                copy_hashing(r, Some(&mut a.writer), hash_opts, &NoProgress)
            }
            FilePlan::Copy(out) => {
                let mut f = crate::output::create_in(&st.stage, &out)?;
                tracing::info!(entry = name, file = %out, size, "import: copy file");
                self.progress.start(&out, Some(size));
                let r = copy_hashing(r, Some(&mut f), hash_opts, self.progress);
                self.progress.finish();
                if let Ok(res) = &r {
                    st.copied.push(WrittenFile {
                        path: PathBuf::from(&out),
                        size: res.bytes,
                    });
                }
                r
            }
            FilePlan::Skip => {
                tracing::debug!(entry = name, size, "import: hash unused file");
                self.progress.start(name, Some(size));
                let r = copy_hashing(r, None, hash_opts, self.progress);
                self.progress.finish();
                r
            }
        }
    }
}

impl MemberSink for Convert<'_, '_> {
    fn small(&mut self, name: &str, _data: &[u8]) -> Result<()> {
        // A converter's input ends at the first member that is not its next chunk.
        self.finish_active()?;
        if self.staged.is_none() && names::role(name) != Role::Descriptor {
            self.early.get_or_insert_with(|| name.to_string());
        }
        Ok(())
    }

    fn descriptor(
        &mut self,
        name: &str,
        parsed: std::result::Result<&Envelope, &Error>,
    ) -> Result<()> {
        self.desc_name = Some(name.to_string());
        if let (false, Some(first)) = (self.opts.lax, &self.early) {
            let e = Error::verification(format!(
                "the first entry is {first}; the descriptor must come first (ovftool and Workstation insist)"
            ))
            .with_hint(Hint::Lax)
            .with_entry(first)
            .with_path(self.input);
            return Err(self.stop(e));
        }
        // A descriptor that does not parse: the import returns the parse error itself.
        let Ok(env) = parsed else {
            return Err(Error::usage("the descriptor cannot be read"));
        };
        match prepare(env, self.input, self.target_dir, self.opts) {
            Ok((plan, pending)) => {
                self.staged = Some(Staged {
                    opts: self.opts,
                    stage: pending.path().to_path_buf(),
                    plan,
                    pending,
                    progress: self.progress,
                    copied: Vec::new(),
                    deferred: None,
                });
            }
            Err(e) => return Err(self.stop(e)),
        }
        // Members that came before the descriptor (--lax), in their order; they were hashed
        // as they were spilled.
        for (name, size, path) in std::mem::take(&mut self.spilled) {
            let mut f = File::open(&path)
                .map_err(|e| Error::io("cannot read temporary file", e).with_path(&path))?;
            let opts = HashOptions {
                algorithms: Vec::new(),
                prefix_bytes: 0,
                size_hint: Some(size),
            };
            self.member(&name, size, &mut f, &opts)
                .map_err(|e| e.with_entry(&name))?;
        }
        Ok(())
    }

    fn data(
        &mut self,
        m: &mut DataMember<'_>,
        opts: &HashOptions,
        _progress: &dyn Progress,
    ) -> Result<CopyResult> {
        let name = m.name;
        let size = m.size;
        if self.staged.is_some() {
            return self.member(name, size, m.reader(), opts);
        }
        self.early.get_or_insert_with(|| name.to_string());
        if !self.opts.lax {
            // Not read: the import fails once the descriptor (or the end) says which fault.
            return Ok(CopyResult::default());
        }
        if self.spill.is_none() {
            self.spill = Some(PendingDir::scratch(self.target_dir, "import-spill")?);
        }
        let dir = self
            .spill
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default();
        let path = dir.join(format!("{}", self.spilled.len()));
        let mut f = File::create(&path)
            .map_err(|e| Error::io("cannot create temporary file", e).with_path(&path))?;
        let r = copy_hashing(m.reader(), Some(&mut f), opts, &NoProgress)?;
        self.spilled.push((name.to_string(), size, path));
        Ok(r)
    }
}

/// Property values → the OVF environment document, when the descriptor asks for the
/// `com.vmware.guestInfo` transport (the only one a `.vmx` can carry).
fn ovf_environment(env: &Envelope, opts: &ImportOptions) -> Result<(Option<String>, Vec<String>)> {
    let config = opts
        .deployment_option
        .clone()
        .or_else(|| env.default_deployment_option());
    let (values, mut warnings) = props::resolve(env, config.as_deref(), &opts.properties)?;
    let systems = env.virtual_systems();
    let Some(vs) = systems.first() else {
        return Ok((None, warnings));
    };
    let transports: Vec<String> = vs
        .hardware
        .iter()
        .filter_map(|h| h.transport.clone())
        .flat_map(|t| {
            t.split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let guestinfo = transports.iter().any(|t| t == "com.vmware.guestInfo");
    if values.is_empty() {
        return Ok((None, warnings));
    }
    if !guestinfo {
        let given = values.iter().any(|v| v.given);
        if given || !transports.is_empty() {
            warnings.push(format!(
                "properties are not delivered to the guest: the descriptor's transport is {:?} (only com.vmware.guestInfo can be written into a .vmx)",
                transports.join(" ")
            ));
        }
        return Ok((None, warnings));
    }
    let mut doc = Environment::new(&vs.id);
    doc.properties = values.into_iter().map(|v| (v.key, v.value)).collect();
    Ok((Some(doc.to_xml()), warnings))
}

fn vm_dir_of(target_dir: &Path, plan: &Plan) -> PathBuf {
    target_dir.join(&plan.name)
}

/// Prepares the plan and the pending folder from the parsed descriptor.
fn prepare(
    env: &Envelope,
    input: &Path,
    target_dir: &Path,
    opts: &ImportOptions,
) -> Result<(Plan, PendingDir)> {
    check_options(opts)?;
    let mut plan = plan(env, opts, None)?;
    let (doc, warnings) = ovf_environment(env, opts)?;
    plan.ovf_env = doc;
    plan.warnings.extend(warnings);
    let vm_dir = vm_dir_of(target_dir, &plan);
    crate::output::refuse_overlap(&vm_dir, &[input])?;
    let pending = PendingDir::create(&vm_dir, opts.force)?;
    Ok((plan, pending))
}

fn import_ova(
    src: &mut dyn Read,
    label: &Path,
    reopen: Option<&Path>,
    target_dir: &Path,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportReport> {
    check_options(opts)?;
    let (pkg, status, outcome) = std::thread::scope(|scope| {
        let mut sink = Convert::new(opts, label, target_dir, progress, scope);
        let (pkg, status) = scan::scan_ova(src, None, &opts.limits, &mut sink, &NoProgress);
        let (outcome, fin) = sink.into_outcome();
        (pkg, status.and(fin), outcome)
    });
    conclude(pkg, status, outcome, label, reopen, opts)
}

fn import_ovf(
    desc_path: &Path,
    target_dir: &Path,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportReport> {
    check_options(opts)?;
    let dir = match desc_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (pkg, status, outcome) = std::thread::scope(|scope| {
        let mut sink = Convert::new(opts, desc_path, target_dir, progress, scope);
        let (pkg, status) = scan::scan_dir(&dir, desc_path, &opts.limits, &mut sink, &NoProgress);
        let (outcome, fin) = sink.into_outcome();
        (pkg, status.and(fin), outcome)
    });
    conclude(pkg, status, outcome, desc_path, None, opts)
}

/// After the scan: the import's own error when it stopped before a plan, else the verdict and
/// the VM folder ([`finish`]).
fn conclude(
    mut pkg: Package,
    status: Result<()>,
    outcome: Outcome<'_>,
    label: &Path,
    reopen: Option<&Path>,
    opts: &ImportOptions,
) -> Result<ImportReport> {
    if let Some(e) = outcome.fatal {
        return Err(e);
    }
    let Some(staged) = outcome.staged else {
        if let Some(Err(e)) = pkg.envelope.take() {
            return Err(e.with_entry(outcome.desc_name.unwrap_or_default()));
        }
        // Without --lax the members before a missing descriptor were not read: the fault is
        // the missing descriptor, not what reading them found.
        if outcome.early.is_none() || opts.lax {
            status?;
        }
        return Err(Error::invalid_ovf("no .ovf descriptor in the package").with_path(label));
    };
    finish(staged, pkg, status, label, reopen)
}

/// The verdict, the blank disks, the `.vmx`, the rename into place.
fn finish(
    mut st: Staged<'_>,
    pkg: Package,
    pass_result: Result<()>,
    label: &Path,
    reopen: Option<&Path>,
) -> Result<ImportReport> {
    let opts = st.opts;
    // Operational failures (no space, permissions) say what went wrong themselves.
    let pass_result = match pass_result {
        Err(e) if !e.kind().is_input_failure() => return Err(e),
        Ok(()) => match st.deferred.take() {
            Some(e) => Err(e),
            None => Ok(()),
        },
        Err(e) => Err(e),
    };
    // The verdict runs even when a disk failed: a digest mismatch explains a corrupt disk.
    let mut report = Report {
        path: label.to_path_buf(),
        kind: if pkg.is_ova() {
            verify::PackageKind::Ova
        } else {
            verify::PackageKind::Directory
        },
        ..Default::default()
    };
    // (An ovf:capacity that differs from the image's is a warning, for import too: ovftool sizes
    // the imported disk from ovf:capacity when it exceeds the image's, the converter grows it
    // and says so, and a smaller ovf:capacity cannot lose data.)
    verify::check_package(
        &pkg,
        reopen,
        &opts.policy(),
        false,
        &opts.limits,
        &mut report,
    );
    if !report.passed() {
        let msgs: Vec<String> = report.errors().map(|f| f.message.clone()).collect();
        let mut e = Error::verification(format!(
            "the package failed verification; nothing was imported: {}",
            msgs.join("; ")
        ))
        .with_path(label);
        if let Err(cause) = pass_result {
            e = e.with_source(cause);
        }
        return Err(e);
    }
    pass_result?;
    let mut warnings = std::mem::take(&mut st.plan.warnings);
    for f in &report.findings {
        if f.severity == Severity::Warning {
            warnings.push(finding_text(f));
        }
    }
    // Blank disks and disks whose file never came.
    for d in &mut st.plan.disks {
        if d.done.is_some() {
            continue;
        }
        if d.file_id.is_some() {
            return Err(Error::verification(format!(
                "disk {}: its file {} is not in the package",
                d.disk_id, d.target.entry
            ))
            .with_path(label));
        }
        let Some(cap) = d.target.ovf_capacity_bytes else {
            return Err(Error::invalid_ovf(format!(
                "disk {} has no capacity",
                d.disk_id
            )));
        };
        let mut t = d.target.clone();
        t.path = st.stage.join(&d.out_name);
        t.entry = format!("blank disk {}", d.disk_id);
        let mut src = BlankSource {
            capacity_bytes: cap,
        };
        d.done = Some(pipe::run(&mut src, &t, &opts.copy, st.progress)?);
    }
    // The .vmx.
    let vmx_name = format!("{}.vmx", st.plan.name);
    let mut vmx = st.plan.machine.to_vmx();
    if let Some(env) = &st.plan.ovf_env {
        vmx.set("guestinfo.ovfEnv", env);
    }
    let bytes = vmx.to_bytes();
    let vmx_path = st.stage.join(&vmx_name);
    {
        let mut f = crate::output::create_in(&st.stage, &vmx_name)?;
        f.write_all(&bytes)
            .map_err(|e| Error::io("cannot write", e).with_path(&vmx_path))?;
    }
    let mut disks = Vec::new();
    let mut files = vec![WrittenFile {
        path: PathBuf::from(&vmx_name),
        size: bytes.len() as u64,
    }];
    for d in &st.plan.disks {
        let Some(done) = &d.done else { continue };
        for w in &done.warnings {
            warnings.push(w.clone());
        }
        for (p, size) in &done.report.files {
            files.push(WrittenFile {
                path: p
                    .file_name()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| p.clone()),
                size: *size,
            });
        }
        disks.push(DiskReport {
            disk_id: d.disk_id.clone(),
            source: d.file_id.as_ref().map(|_| d.target.entry.clone()),
            device: d.device.clone(),
            mode: opts.disk_mode,
            file: d.out_name.clone(),
            capacity_bytes: done.capacity_bytes,
            data_bytes: done.report.data_bytes,
        });
    }
    files.extend(st.copied.iter().cloned());
    let vm_dir = st.pending.commit()?;
    for f in &mut files {
        f.path = vm_dir.join(&f.path);
    }
    Ok(ImportReport {
        name: st.plan.name.clone(),
        vmx: vm_dir.join(&vmx_name),
        vm_dir,
        hardware_version: st.plan.hw_version,
        files,
        disks,
        warnings,
        hints: std::mem::take(&mut st.plan.hints),
        verification: report,
    })
}

fn finding_text(f: &Finding) -> String {
    match &f.entry {
        Some(e) => format!("{e}: {} [{}]", f.message, f.code),
        None => format!("{} [{}]", f.message, f.code),
    }
}

/// Refuses a package with license agreements (at any level of the VirtualSystem tree) unless
/// they were accepted; the error carries their text so the user can read it. Shared by the local
/// import and the vSphere deploy.
pub(crate) fn require_eula_acceptance(
    systems: &[crate::ovf::VirtualSystem],
    accepted: bool,
) -> Result<()> {
    let eulas: Vec<String> = systems
        .iter()
        .flat_map(|v| v.walk())
        .flat_map(|v| v.eulas.iter().map(|e| e.license.text.clone()))
        .collect();
    if !eulas.is_empty() && !accepted {
        return Err(Error::usage(format!(
            "the package has a license agreement; read it and accept it to import:\n\n{}",
            eulas.join("\n\n----\n\n")
        ))
        .with_hint(Hint::AcceptEulas));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_index_finds_chunks_without_listing_them() {
        let mut ix = MemberIndex {
            max_chunks: 10_000,
            ..MemberIndex::default()
        };
        ix.whole.insert("a.vmdk".into(), "f1".into());
        ix.chunked.insert("b.vmdk".into(), "f2".into());
        assert_eq!(ix.get("a.vmdk"), Some(("f1".into(), 0)));
        assert_eq!(ix.get("b.vmdk.000000000"), Some(("f2".into(), 0)));
        assert_eq!(ix.get("b.vmdk.000009999"), Some(("f2".into(), 9999)));
        assert_eq!(ix.get("b.vmdk.000010000"), None);
        assert_eq!(ix.get("b.vmdk.1"), None);
        assert_eq!(ix.get("b.vmdk"), None);
        assert_eq!(ix.get("a.vmdk.000000000"), None);
    }

    #[test]
    fn safe_names() {
        assert_eq!(safe_name("My VM"), "My VM");
        assert_eq!(safe_name("../etc/passwd"), "_etc_passwd");
        assert_eq!(safe_name("..."), "vm");
        assert_eq!(safe_name(""), "vm");
        assert_eq!(safe_name("a/b\\c:d"), "a_b_c_d");
        assert!(safe_name(&"x".repeat(300)).len() <= 80);
    }

    #[test]
    fn extra_config_safe_list() {
        assert!(is_safe_extra_config("guestinfo.foo"));
        assert!(is_safe_extra_config("ethernet0.wakeOnPcktRcv"));
        assert!(!is_safe_extra_config("ethernet0.filter0.name"));
        assert!(!is_safe_extra_config("monitor_control.restrict_backdoor"));
        assert!(!is_safe_extra_config("scsi0:0.fileName"));
    }
}
