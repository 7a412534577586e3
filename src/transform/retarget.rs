//! `retarget`: make a package acceptable to one hypervisor, listing every change.
//!
//! * Hardware family: `vmx-N` families above the target's newest are dropped; without a
//!   usable one (a VirtualBox `virtualbox-2.2`, or only newer families) the lowest family that
//!   has every device of the machine (SATA: vmx-10, NVMe: vmx-13, E1000e/xHCI: vmx-8, else
//!   vmx-7) is chosen, capped at the target's newest.
//! * Devices: NIC, SCSI, SATA and sound subtypes in other spellings (VirtualBox's `AHCI`,
//!   `LsiLogicSAS`, `ensoniq1371`) become VMware's; an IDE controller with more than 2 devices
//!   (VirtualBox's one controller for 4) becomes SATA; SATA on a family older than vmx-10 becomes
//!   SCSI; adapters the target lacks become the nearest it has (VirtualBox has no VMXNET3 or
//!   PVSCSI: E1000 and LSI Logic).
//! * Firmware: for a VMware target, VirtualBox's EFI (`vbox:Machine/Hardware/Firmware`) becomes
//!   `vmw:Config firmware=efi` in each hardware section without a `vmw:Config firmware`.
//! * Vendor sections: a required section of another vendor (that ESXi would refuse) is
//!   dropped; optional ones are kept unless `strip_vendor_sections`.
//! * Files: gzip-compressed and chunked files are expanded for ESXi (the vSphere Client reads
//!   neither); disks are otherwise copied as they are.
//! * OVF version: an OVF 0.9 descriptor (VMware's pre-DMTF drafts) becomes OVF 1.0, which
//!   every target reads (module `transform::ovf09`).
//! * Manifest: fresh, listing the descriptor; the signature cannot survive (re-sign with
//!   `--sign`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::edit::file_plan;
use super::package::{self, CertPlan, FileSource, Package, WritePlan};
use super::xml;
use crate::cert::Signer;
use crate::digest::Algorithm;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::ova::names;
use crate::ovf::model::{is_core, is_kind, kind, ovf_attr};
use crate::ovf::tree::Element;
use crate::ovf::ResourceType;
use crate::ovf::{ns, Envelope, ParseOptions, Severity, ValidateOptions};
use crate::progress::Progress;
use crate::vm::controller::ControllerKind;

/// A hypervisor to retarget for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// VMware ESXi 6.7 (hardware up to vmx-14).
    Esxi67,
    /// VMware ESXi 7.0 (vmx-17).
    Esxi70,
    /// VMware ESXi 8.0 (vmx-20).
    Esxi80,
    /// VMware Workstation 17 (vmx-20).
    Workstation17,
    /// Oracle VirtualBox 7.
    VirtualBox7,
}

impl Serialize for Target {
    /// As its command-line name (`esxi-7.0`).
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Target {
    /// Every target, for `--help` and errors.
    pub const ALL: [Target; 5] = [
        Target::Esxi67,
        Target::Esxi70,
        Target::Esxi80,
        Target::Workstation17,
        Target::VirtualBox7,
    ];

    /// The command-line name (`esxi-7.0`).
    pub fn name(self) -> &'static str {
        match self {
            Target::Esxi67 => "esxi-6.7",
            Target::Esxi70 => "esxi-7.0",
            Target::Esxi80 => "esxi-8.0",
            Target::Workstation17 => "workstation-17",
            Target::VirtualBox7 => "virtualbox-7",
        }
    }

    /// The target named `s` (as [`Target::name`], case-insensitively).
    pub fn from_name(s: &str) -> Option<Target> {
        Target::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s.trim()))
    }

    /// The newest `vmx-N` family the target runs (VMware KB 1003746); `None` for VirtualBox,
    /// which ignores the family.
    pub fn max_hardware_version(self) -> Option<u32> {
        match self {
            Target::Esxi67 => Some(14),
            Target::Esxi70 => Some(17),
            Target::Esxi80 | Target::Workstation17 => Some(20),
            Target::VirtualBox7 => None,
        }
    }

    fn is_vmware(self) -> bool {
        self != Target::VirtualBox7
    }

    /// Whether the target's importer reads gzip-compressed or chunked files (the vSphere
    /// Client's OVF deployment does not; ovftool-based Workstation and VirtualBox do).
    fn reads_compressed_files(self) -> bool {
        matches!(self, Target::Workstation17 | Target::VirtualBox7)
    }
}

/// Options of [`retarget`].
#[derive(Debug, Clone)]
pub struct RetargetOptions {
    /// The hypervisor.
    pub target: Target,
    /// Compute and list the changes without writing.
    pub dry_run: bool,
    /// Drop every vendor section of another vendor (`vbox:Machine`...), required or not.
    pub strip_vendor_sections: bool,
    /// Sign the new manifest (the input's signature cannot hold for it).
    pub signer: Option<Box<Signer>>,
    /// Replace an existing output.
    pub force: bool,
    /// Size caps.
    pub limits: Limits,
    /// Receives progress of the copy (`None`: none reported).
    pub progress: Option<std::sync::Arc<dyn Progress>>,
}

/// What [`retarget`] did (or would do).
#[derive(Debug, Clone, Serialize)]
pub struct RetargetSummary {
    /// The target.
    pub target: Target,
    /// The output written (`None` for a dry run).
    pub output: Option<PathBuf>,
    /// Every change, in words.
    pub changes: Vec<String>,
    /// Validation errors the result still has (the target may refuse it).
    pub remaining_errors: Vec<String>,
    /// Members written with their sizes.
    pub entries: Vec<(String, u64)>,
}

/// The lowest hardware family that has every device of `sys`.
fn needed_family(sys: &Element) -> u32 {
    let mut v = 7;
    for it in items(sys) {
        let sub = xml::field(it, "ResourceSubType")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let need = match xml::resource_type(it) {
            Some(ResourceType::OtherStorageDevice) if sub.contains("nvme") => 13,
            Some(ResourceType::OtherStorageDevice) => 10,
            Some(ResourceType::EthernetAdapter) if sub == "e1000e" => 8,
            Some(ResourceType::UsbController) if sub.contains("xhci") => 8,
            _ => 7,
        };
        v = v.max(need);
    }
    v
}

fn items(sys: &Element) -> Vec<&Element> {
    sys.elements()
        .filter(|e| is_kind(e, "VirtualHardwareSection"))
        .flat_map(|hw| {
            hw.elements().filter(|e| {
                is_core(e) && matches!(kind(e), "Item" | "StorageItem" | "EthernetPortItem")
            })
        })
        .collect()
}

fn family_number(t: &str) -> Option<u32> {
    t.trim().strip_prefix("vmx-")?.parse().ok()
}

fn set_sub(it: &mut Element, rasd: &str, sub: &str) {
    if !xml::set_field(it, "ResourceSubType", sub) {
        let (prefix, uri) = it
            .elements()
            .find(|e| xml::is_cim_data(e.ns.as_deref()))
            .map(|e| (e.prefix().map(str::to_string), e.ns.clone()))
            .unwrap_or((Some(rasd.to_string()), Some(ns::RASD.to_string())));
        let name = match prefix {
            Some(p) => format!("{p}:ResourceSubType"),
            None => "ResourceSubType".into(),
        };
        let mut e = Element::new(name, uri.as_deref());
        e.push_text(sub);
        let after = xml::last_element_index(it, |e| e.local_name() < "ResourceSubType");
        xml::insert_after(it, after, e);
    }
}

/// Device changes on one VirtualSystem.
fn retarget_devices(sys: &mut Element, target: Target, rasd: &str, changes: &mut Vec<String>) {
    // Children per controller (IDE with more than 2 devices → SATA).
    let snapshot: Vec<(String, Option<String>, Option<ResourceType>)> = items(sys)
        .iter()
        .map(|it| {
            (
                xml::field(it, "InstanceID").unwrap_or_default(),
                xml::field(it, "Parent"),
                xml::resource_type(it),
            )
        })
        .collect();
    let children_of = |id: &str| -> Vec<String> {
        snapshot
            .iter()
            .filter(|(_, p, _)| p.as_deref() == Some(id))
            .map(|(i, _, _)| i.clone())
            .collect()
    };
    let vmware = target.is_vmware();
    let mut renumber: Vec<Vec<String>> = Vec::new();
    for it in xml::items_mut(sys) {
        let id = xml::field(it, "InstanceID").unwrap_or_default();
        let raw = xml::field(it, "ResourceSubType");
        let sub = raw.as_deref().unwrap_or("").trim().to_ascii_lowercase();
        let rt = xml::resource_type(it);
        let mut to: Option<String> = None;
        match rt {
            Some(ResourceType::EthernetAdapter) if !sub.is_empty() => {
                let a = super::edit::parse_nic_type(&sub);
                let a = match (a, vmware) {
                    (Some(crate::vm::NicAdapter::VmxNet3), false) => {
                        Some(crate::vm::NicAdapter::E1000)
                    }
                    (Some(a), _) => Some(a),
                    (None, _) => Some(crate::vm::NicAdapter::E1000),
                };
                to = a.map(|a| crate::ovf::machine::nic_sub_type(a).to_string());
            }
            Some(ResourceType::ParallelScsiHba) => {
                let k = crate::ovf::machine::controller_kind(
                    ResourceType::ParallelScsiHba,
                    raw.as_deref(),
                );
                let k = match (k, vmware) {
                    (Some(ControllerKind::Pvscsi), false) | (None, _) => ControllerKind::LsiLogic,
                    (Some(k), _) => k,
                };
                to = crate::ovf::machine::controller_sub_type(k).map(str::to_string);
            }
            Some(ResourceType::OtherStorageDevice) if vmware => {
                if let Some(k) = crate::ovf::machine::controller_kind(
                    ResourceType::OtherStorageDevice,
                    raw.as_deref(),
                ) {
                    to = crate::ovf::machine::controller_sub_type(k).map(str::to_string);
                } else {
                    to = Some("vmware.sata.ahci".into());
                }
            }
            Some(ResourceType::IdeController) if vmware && children_of(&id).len() > 2 => {
                xml::set_field(
                    it,
                    "ResourceType",
                    &ResourceType::OtherStorageDevice.to_string(),
                );
                set_sub(it, rasd, "vmware.sata.ahci");
                changes.push(format!(
                    "IDE controller {id} with {} devices -> SATA (a VMware IDE controller holds 2)",
                    children_of(&id).len()
                ));
                renumber.push(children_of(&id));
                continue;
            }
            Some(ResourceType::SoundCard | ResourceType::Other)
                if vmware && crate::ovf::machine::sound_kind(&sub).is_some() =>
            {
                if let Some(k) = crate::ovf::machine::sound_kind(&sub) {
                    to = Some(crate::ovf::machine::sound_sub_type(k).to_string());
                }
            }
            _ => {}
        }
        if let Some(t) = to {
            if raw.as_deref() != Some(t.as_str()) {
                set_sub(it, rasd, &t);
                changes.push(format!(
                    "device {id}: {} -> {t}",
                    raw.unwrap_or_else(|| "(no subtype)".into())
                ));
            }
        }
    }
    // Devices moved to a new SATA controller get unit numbers 0..n (SATA has 30 ports).
    for ids in renumber {
        for (unit, cid) in ids.iter().enumerate() {
            for it in xml::items_mut(sys) {
                if xml::field(it, "InstanceID").as_deref() == Some(cid.as_str()) {
                    xml::set_field(it, "AddressOnParent", &unit.to_string());
                }
            }
        }
    }
}

/// SATA → SCSI for families older than vmx-10.
fn sata_to_scsi(sys: &mut Element, rasd: &str, changes: &mut Vec<String>) {
    let sata: Vec<String> = items(sys)
        .iter()
        .filter(|it| xml::resource_type(it) == Some(ResourceType::OtherStorageDevice))
        .filter(|it| {
            !xml::field(it, "ResourceSubType")
                .unwrap_or_default()
                .to_ascii_lowercase()
                .contains("nvme")
        })
        .filter_map(|it| xml::field(it, "InstanceID"))
        .collect();
    for id in sata {
        let kids: Vec<String> = items(sys)
            .iter()
            .filter(|it| xml::field(it, "Parent").as_deref() == Some(id.as_str()))
            .filter_map(|it| xml::field(it, "InstanceID"))
            .collect();
        for it in xml::items_mut(sys) {
            let iid = xml::field(it, "InstanceID").unwrap_or_default();
            if iid == id {
                xml::set_field(
                    it,
                    "ResourceType",
                    &ResourceType::ParallelScsiHba.to_string(),
                );
                set_sub(it, rasd, "lsilogic");
            } else if let Some(unit) = kids.iter().position(|k| *k == iid) {
                // SCSI unit 7 is the controller's own.
                let u = if unit >= 7 { unit + 1 } else { unit };
                xml::set_field(it, "AddressOnParent", &u.to_string());
            }
        }
        changes.push(format!(
            "SATA controller {id} -> SCSI lsilogic (SATA needs vmx-10)"
        ));
    }
}

fn retarget_family(sys: &mut Element, target: Target, changes: &mut Vec<String>) {
    let Some(max) = target.max_hardware_version() else {
        return;
    };
    let need = needed_family(sys);
    for hw in sys
        .elements_mut()
        .filter(|e| is_kind(e, "VirtualHardwareSection"))
    {
        let Some(s) = hw.elements_mut().find(|e| is_kind(e, "System")) else {
            continue;
        };
        let types: Vec<String> = s
            .elements()
            .filter(|e| e.local_name() == "VirtualSystemType")
            .flat_map(|e| {
                e.text()
                    .split([' ', ','])
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        let usable: Vec<&String> = types
            .iter()
            .filter(|t| family_number(t).is_some_and(|n| n <= max))
            .collect();
        let new = if usable.len() == types.len() && !types.is_empty() {
            continue;
        } else if let Some(best) = usable.iter().max_by_key(|t| family_number(t)) {
            best.to_string()
        } else {
            format!("vmx-{:02}", need.min(max))
        };
        let mut first = true;
        let mut i = 0;
        while i < s.children.len() {
            let is_type = matches!(&s.children[i], crate::ovf::tree::Node::Element(e) if e.local_name() == "VirtualSystemType");
            if is_type && !first {
                s.children.remove(i);
                continue;
            }
            if let (true, Some(e)) = (is_type, xml::element_at(s, i)) {
                e.set_text(new.as_str());
                first = false;
            }
            i += 1;
        }
        if first {
            let mut e = Element::new(
                format!(
                    "{}:VirtualSystemType",
                    s.elements()
                        .find_map(|e| e.prefix().map(str::to_string))
                        .unwrap_or_else(|| "vssd".into())
                ),
                Some(ns::VSSD),
            );
            e.push_text(new.as_str());
            xml::append(s, e);
        }
        changes.push(format!(
            "hardware family: {} -> {new} ({} runs up to vmx-{max})",
            if types.is_empty() {
                "(none)".to_string()
            } else {
                types.join(" ")
            },
            target.name()
        ));
    }
}

/// The hardware sections of `sys` that need `vmw:Config firmware=efi`: VirtualBox's
/// `vbox:Machine` says EFI and the section has no `vmw:Config firmware` of its own (VMware's
/// importers read firmware only from there, and would boot the VM with BIOS).
fn efi_sections(sys: &Element) -> Vec<usize> {
    let efi = crate::ovf::model::vbox_firmware(sys)
        .and_then(crate::ovf::machine::vbox_firmware_type)
        == Some(crate::vm::Firmware::Efi);
    if !efi {
        return vec![];
    }
    sys.children
        .iter()
        .enumerate()
        .filter_map(|(i, n)| match n {
            crate::ovf::tree::Node::Element(hw) if is_kind(hw, "VirtualHardwareSection") => {
                let has = hw.elements().any(|c| {
                    c.is(ns::VMW, "Config") && c.attr_ns(ns::VMW, "key") == Some("firmware")
                });
                (!has).then_some(i)
            }
            _ => None,
        })
        .collect()
}

/// VirtualBox's EFI firmware as `vmw:Config firmware=efi` in each hardware section without one.
fn retarget_firmware(env: &mut Envelope, changes: &mut Vec<String>) -> Result<()> {
    let needed = xml::systems_mut(xml::content_mut(env)?)
        .iter()
        .any(|s| !efi_sections(s).is_empty());
    if !needed {
        return Ok(());
    }
    let vmw = xml::prefix_for(env, ns::VMW, "vmw");
    let names = xml::Names::of(env);
    for sys in xml::systems_mut(xml::content_mut(env)?) {
        for i in efi_sections(sys) {
            let Some(hw) = xml::element_at(sys, i) else {
                continue;
            };
            let mut c = Element::new(format!("{vmw}:Config"), Some(ns::VMW));
            names.set_ovf_attr(&mut c, "required", "false");
            for (k, v) in [("key", "firmware"), ("value", "efi")] {
                c.attrs.push(crate::ovf::tree::Attr {
                    name: format!("{vmw}:{k}"),
                    value: v.into(),
                    ns: Some(ns::VMW.into()),
                });
            }
            xml::append(hw, c);
            changes.push(
                "firmware: vmw:Config firmware=efi added (vbox:Machine says EFI, which VMware \
                 does not read)"
                    .into(),
            );
        }
    }
    Ok(())
}

fn retarget_sections(
    env: &mut Envelope,
    target: Target,
    strip: bool,
    changes: &mut Vec<String>,
) -> Result<()> {
    let own = if target.is_vmware() {
        ns::VMW
    } else {
        ns::VBOX
    };
    let content = xml::content_mut(env)?;
    let mut targets: Vec<&mut Element> = vec![];
    targets.extend(xml::systems_mut(content));
    for sys in targets {
        let drop: Vec<(String, bool)> = sys
            .elements()
            .filter(|e| !is_core(e) && e.ns.as_deref() != Some(own))
            .map(|e| {
                let required =
                    ovf_attr(e, "required").is_none_or(|v| !matches!(v.trim(), "false" | "0"));
                (e.name.clone(), required)
            })
            .filter(|(_, req)| strip || *req)
            .collect();
        for (name, req) in drop {
            xml::remove_children(sys, |e| e.name == name);
            changes.push(format!(
                "section {name} dropped ({})",
                if req {
                    "a required section of another vendor: the target would refuse it"
                } else {
                    "other vendors' sections stripped as asked"
                }
            ));
        }
    }
    Ok(())
}

/// Applies the descriptor changes for `target`; returns them in words.
///
/// # Errors
/// A descriptor without a VirtualSystem.
pub fn apply(
    env: &mut Envelope,
    target: Target,
    strip_vendor_sections: bool,
) -> Result<Vec<String>> {
    let mut changes = Vec::new();
    let rasd = xml::prefix_for(env, ns::RASD, "rasd");
    if target.is_vmware() {
        // Before the sections: stripping may drop the vbox:Machine that says EFI.
        retarget_firmware(env, &mut changes)?;
    }
    retarget_sections(env, target, strip_vendor_sections, &mut changes)?;
    let content = xml::content_mut(env)?;
    for sys in xml::systems_mut(content) {
        retarget_devices(sys, target, &rasd, &mut changes);
        retarget_family(sys, target, &mut changes);
        let family = items_family(sys);
        if target.is_vmware() && family.is_some_and(|f| f < 10) {
            sata_to_scsi(sys, &rasd, &mut changes);
        }
    }
    Ok(changes)
}

fn items_family(sys: &Element) -> Option<u32> {
    sys.elements()
        .filter(|e| is_kind(e, "VirtualHardwareSection"))
        .filter_map(|hw| hw.elements().find(|e| is_kind(e, "System")))
        .flat_map(|s| {
            s.elements()
                .filter(|e| e.local_name() == "VirtualSystemType")
        })
        .filter_map(|e| family_number(&e.text()))
        .max()
}

/// Retargets `input` for `opts.target` into `output` (see the module documentation).
///
/// # Errors
/// As [`super::edit::edit`]; a gzip file that does not decompress is
/// [`crate::ErrorKind::Corrupt`].
pub fn retarget(
    input: &Path,
    output: Option<&Path>,
    opts: &RetargetOptions,
) -> Result<RetargetSummary> {
    let progress = crate::progress::of(&opts.progress);
    if let (Some(o), false) = (output, opts.dry_run) {
        if o != Path::new("-") {
            crate::output::check_overwrite(o, opts.force)?;
        }
    }
    let mut pkg = Package::open(input, &opts.limits)?;
    if let Some(o) = output {
        package::check_not_input(&pkg, o)?;
    }
    let parse = ParseOptions {
        limits: opts.limits,
    };
    let original = pkg.take_envelope()?;
    // Every target's importer reads DMTF OVF 1.x; VMware's 0.9 drafts only some.
    let (mut env, mut changes) = super::ovf09::to_ovf1(&original, &parse)?;
    changes.extend(apply(&mut env, opts.target, opts.strip_vendor_sections)?);
    // Files: expand what the target cannot read.
    let expand = !opts.target.reads_compressed_files();
    let old_refs = original.references();
    let mut plan = file_plan(&original, &pkg, &[], |f| {
        expand && f.compression.as_deref().is_some_and(|c| c != "identity")
    })?;
    for (fp, fr) in plan.iter_mut().zip(&old_refs) {
        let compressed = fr.compression.as_deref().is_some_and(|c| c != "identity");
        if !expand || (!compressed && fr.chunk_size.is_none()) {
            continue;
        }
        if compressed && fr.compression.as_deref() != Some("gzip") {
            return Err(Error::unsupported(format!(
                "{}: ovf:compression {:?} (only gzip is defined)",
                fr.href,
                fr.compression.as_deref().unwrap_or_default()
            )));
        }
        let new_name = match fr.href.len().checked_sub(3) {
            Some(cut) if compressed && fr.href[cut..].eq_ignore_ascii_case(".gz") => {
                fr.href[..cut].to_string()
            }
            _ => fr.href.clone(),
        };
        names::check_writable_name(&new_name)?;
        if pkg.is_stream() {
            return Err(Error::unsupported(format!(
                "{}: {} needs it expanded, which is done from a file, not a stream; save the \
                 OVA first",
                fr.href,
                opts.target.name()
            )));
        }
        let size = match &fp.source {
            FileSource::Gunzip(ms) => {
                pkg.gunzipped_size(ms, &fr.href, fp.ovf_capacity, &opts.limits)?
            }
            FileSource::Members(ms) => ms.iter().map(|m| pkg.member_size(m).unwrap_or(0)).sum(),
            FileSource::Local(_) => continue,
        };
        env.set_file_href(&fr.id, &new_name)?;
        env.set_file_size(&fr.id, size)?;
        if let Some(refs) = env
            .document_mut()
            .root
            .elements_mut()
            .find(|e| is_kind(e, "References"))
        {
            for f in refs.elements_mut() {
                if is_kind(f, "File") && ovf_attr(f, "id") == Some(fr.id.as_str()) {
                    f.attrs.retain(|a| {
                        !(matches!(a.local_name(), "compression" | "chunkSize")
                            && a.ns
                                .as_deref()
                                .is_none_or(crate::ovf::model::is_envelope_ns))
                    });
                }
            }
        }
        changes.push(format!(
            "{} -> {new_name} ({}; {size} bytes): {} reads neither compressed nor chunked files",
            fr.href,
            if compressed {
                "decompressed"
            } else {
                "chunks joined"
            },
            opts.target.name()
        ));
        fp.name = new_name;
        fp.size = Some(size);
    }
    super::edit::fix_sizes(&mut env, &plan, &pkg, &mut changes)?;
    // Manifest: the input's algorithm when the target reads it, else SHA-256.
    let alg = match super::edit::manifest_algorithm(&pkg) {
        Algorithm::Sha512 if opts.target == Target::Esxi67 => {
            changes.push("manifest SHA512 -> SHA256".into());
            Algorithm::Sha256
        }
        a => a,
    };
    let old_mf_lists_desc = pkg
        .parsed_manifest()
        .is_some_and(|m| m.get(pkg.desc_name()).is_some());
    if pkg.manifest().is_none() {
        changes.push(format!("manifest ({alg}) added"));
    } else if !old_mf_lists_desc {
        changes.push("manifest now lists the descriptor".into());
    }
    let cert = match &opts.signer {
        Some(s) => {
            changes.push("manifest signed".into());
            CertPlan::Sign(s.clone())
        }
        None => {
            if pkg.cert().is_some() {
                changes.push(
                    "signature removed: it cannot hold for the new manifest (give a signer to sign it again)".into(),
                );
            }
            CertPlan::None
        }
    };
    pkg.check_integrity(opts.signer.is_some(), &opts.limits)?;
    let remaining: Vec<String> = {
        let opts_v = ValidateOptions::default();
        env.validate(&opts_v)
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.to_string())
            .collect()
    };
    let desc = if env == original {
        pkg.desc().to_vec()
    } else {
        env.to_bytes()?
    };
    let mut summary = RetargetSummary {
        target: opts.target,
        output: None,
        changes,
        remaining_errors: remaining,
        entries: Vec::new(),
    };
    if opts.dry_run {
        return Ok(summary);
    }
    let Some(output) = output else {
        return Err(Error::usage("an output is needed (or a dry run)"));
    };
    let plan = WritePlan {
        desc_name: pkg.desc_name().to_string(),
        desc,
        manifest: Some(alg),
        verbatim_manifest: None,
        cert,
        files: plan,
        force: opts.force,
        mtime: None,
        // Retargeting reads every file: a damaged input is refused before anything is
        // published.
        verify: true,
    };
    let w = package::write(&mut pkg, &plan, output, &opts.limits, progress)?;
    summary.output = Some(w.output);
    summary.entries = w.entries;
    Ok(summary)
}
