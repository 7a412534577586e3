//! OVF ↔ [`Machine`]: how a `VirtualSystem` and its `VirtualHardwareSection` map to the
//! neutral model (docs/FORMATS.md §5.6–5.7, §6).
//!
//! Import ([`Machine::from_envelope`]) reads one virtual system in one deployment option:
//! RASD items by `ResourceType` (3 CPU, 4 memory, 5 IDE, 6 SCSI, 20 SATA/NVMe, 17 disk,
//! 15/16 CD, 14 floppy, 10 NIC, 23 USB, 24 video, 1/35 sound and VMCI), the operating system
//! section (`vmw:osType` first, else the CIM id), section-level `vmw:Config` (firmware, secure
//! boot, tools and power options) and `vmw:ExtraConfig`. Controllers are found through
//! `rasd:Parent` → `InstanceID`, bus numbers in `rasd:Address`, units in `AddressOnParent`.
//! Anything else becomes an [`Unmapped`] entry with a reason.

use std::collections::{HashMap, HashSet};

use super::model::{is_kind, ovf_attr};
use super::model::{Disk as OvfDisk, FileRef, Network};
use super::tree::Element;
use super::write::{EnvelopeBuilder, HardwareSpec, ItemSpec, OsSpec, SystemSpec};
use super::{
    ns, parse_allocation_units, Envelope, Item, OvfVersion, VirtualHardware, VirtualSystem,
    VmwConfig,
};
use crate::error::{Error, Result};
use crate::vm::{
    is_runtime_key, max_buses, Attachment, BusFamily, CdBacking, CdRom, Controller, ControllerKind,
    Disk, Firmware, Floppy, FloppyBacking, GuestOs, MacAddress, Machine, Nic, NicAdapter, Sound,
    SoundKind, Unmapped, Warning, MAX_NICS,
};

/// `vmw:Config` keys (hardware section level) ↔ `.vmx` keys, for the settings that have both
/// (GOVMOMI `toConfig`; VMware's vmx names). Boolean values are converted between `true` and
/// `TRUE`; power operation values between `preset` and `default`.
pub const CONFIG_TO_VMX: &[(&str, &str)] = &[
    ("tools.syncTimeWithHost", "tools.syncTime"),
    ("tools.afterPowerOn", "toolScripts.afterPowerOn"),
    ("tools.afterResume", "toolScripts.afterResume"),
    ("tools.beforeGuestStandby", "toolScripts.beforeSuspend"),
    ("tools.beforeGuestShutdown", "toolScripts.beforePowerOff"),
    ("tools.toolsUpgradePolicy", "tools.upgrade.policy"),
    ("powerOpInfo.powerOffType", "powerType.powerOff"),
    ("powerOpInfo.resetType", "powerType.reset"),
    ("powerOpInfo.suspendType", "powerType.suspend"),
    ("cpuHotAddEnabled", "vcpu.hotadd"),
    ("cpuHotRemoveEnabled", "vcpu.hotremove"),
    ("memoryHotAddEnabled", "mem.hotadd"),
    ("nestedHVEnabled", "vhv.enable"),
    ("virtualICH7MPresent", "ich7m.present"),
    ("virtualSMCPresent", "smc.present"),
    ("flags.vvtdEnabled", "vvtd.enable"),
    ("flags.vbsEnabled", "vbs.enable"),
];

/// Video card `vmw:Config` keys ↔ `.vmx` keys (GOVMOMI `VirtualMachineVideoCard` fields; vmx
/// `svga.*`, `mks.enable3d`).
pub const VIDEO_CONFIG_TO_VMX: &[(&str, &str)] = &[
    ("enable3DSupport", "mks.enable3d"),
    ("useAutoDetect", "svga.autodetect"),
    ("numDisplays", "svga.numDisplays"),
    ("graphicsMemorySizeInKB", "svga.graphicsMemoryKB"),
];

/// vmw:Config keys VMware writes that are host bookkeeping, not configuration.
const IGNORED_ITEM_CONFIG: &[&str] = &["slotInfo.pciSlotNumber"];

/// `vmw:Config` key/value pairs that state VMware's default: dropping them loses nothing.
const DEFAULT_CONFIG: &[(&str, &str)] = &[
    ("backing.writeThrough", "false"),
    ("backing.exclusive", "false"),
    ("allowUnrestrictedCommunication", "false"),
    ("connectable.allowGuestControl", "true"),
    ("use3dRenderer", "automatic"),
    ("powerOpInfo.standbyAction", "checkpoint"),
    ("vPMCEnabled", "false"),
    ("simultaneousThreads", "1"),
];

/// Whether a `vmw:Config` entry can be dropped without loss: host bookkeeping or a default.
fn ignorable(c: &VmwConfig) -> bool {
    IGNORED_ITEM_CONFIG.contains(&c.key.as_str())
        || DEFAULT_CONFIG
            .iter()
            .any(|(k, v)| *k == c.key && c.value.trim().eq_ignore_ascii_case(v))
}

/// Implicit devices VMware lists but every VM has (nothing to map).
const IMPLICIT_SUBTYPES: &[&str] = &[
    "vmware.pcicontroller",
    "vmware.ps2controller",
    "vmware.siocontroller",
    "vmware.keyboard",
    "vmware.pointingdevice",
];

fn config_value_to_vmx(v: &str) -> String {
    match v.trim() {
        "true" => "TRUE".to_string(),
        "false" => "FALSE".to_string(),
        "preset" => "default".to_string(),
        other => other.to_string(),
    }
}

fn sub_type(item: &Item) -> String {
    item.resource_sub_type
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The known SCSI kind in a ResourceSubType (GOVMOMI splits on spaces and commas and matches
/// case-insensitively).
fn scsi_kind(sub: &str) -> Option<ControllerKind> {
    sub.split([' ', ','])
        .filter(|s| !s.is_empty())
        .find_map(|s| match s {
            "lsilogic" => Some(ControllerKind::LsiLogic),
            "lsilogicsas" | "lsilogic-sas" | "lsisas1068" => Some(ControllerKind::LsiLogicSas),
            "buslogic" => Some(ControllerKind::BusLogic),
            "virtualscsi" | "pvscsi" => Some(ControllerKind::Pvscsi),
            _ => None,
        })
}

/// The controller kind of an item with CIM `resource_type` and `ResourceSubType` `sub`
/// (case-insensitive; for SCSI the first known word, GOVMOMI style), or `None` when the item
/// is not a storage controller this model knows. An SCSI controller without a known subtype is
/// `None` too: callers decide whether to assume LSI Logic.
pub fn controller_kind(resource_type: u32, sub: Option<&str>) -> Option<ControllerKind> {
    let sub = sub.unwrap_or("").trim().to_ascii_lowercase();
    match resource_type {
        5 => Some(ControllerKind::Ide),
        6 => scsi_kind(&sub),
        20 => match sub.as_str() {
            "vmware.sata.ahci" | "ahci" => Some(ControllerKind::Sata),
            "vmware.nvme.controller" | "nvme" => Some(ControllerKind::Nvme),
            _ => None,
        },
        _ => None,
    }
}

/// The OVF ResourceSubType of a controller kind (docs/FORMATS.md §6.2).
pub fn controller_sub_type(kind: ControllerKind) -> Option<&'static str> {
    match kind {
        ControllerKind::Ide => None,
        ControllerKind::LsiLogic => Some("lsilogic"),
        ControllerKind::LsiLogicSas => Some("lsilogicsas"),
        ControllerKind::BusLogic => Some("buslogic"),
        ControllerKind::Pvscsi => Some("VirtualSCSI"),
        ControllerKind::Sata => Some("vmware.sata.ahci"),
        ControllerKind::Nvme => Some("vmware.nvme.controller"),
    }
}

/// The CIM ResourceType of a controller kind.
pub fn controller_resource_type(kind: ControllerKind) -> u32 {
    match kind {
        ControllerKind::Ide => 5,
        ControllerKind::Sata | ControllerKind::Nvme => 20,
        _ => 6,
    }
}

/// The OVF ResourceSubType of a NIC adapter.
pub fn nic_sub_type(adapter: NicAdapter) -> &'static str {
    match adapter {
        NicAdapter::VmxNet3 => "VmxNet3",
        NicAdapter::E1000 => "E1000",
        NicAdapter::E1000e => "E1000e",
        NicAdapter::Vlance => "PCNet32",
        NicAdapter::VmxNet2 => "VmxNet2",
        NicAdapter::Flexible => "VmxNet",
    }
}

/// The first NIC adapter VMware supports in a ResourceSubType, which may list several
/// (`"VMXNET3 virtio"`, Cisco CSR1000V), split on spaces and commas as SCSI lists are.
pub(crate) fn nic_adapter(sub: &str) -> Option<NicAdapter> {
    sub.split([' ', ','])
        .filter(|s| !s.is_empty())
        .find_map(nic_adapter_word)
}

fn nic_adapter_word(sub: &str) -> Option<NicAdapter> {
    match sub {
        "vmxnet3" => Some(NicAdapter::VmxNet3),
        "e1000" => Some(NicAdapter::E1000),
        "e1000e" => Some(NicAdapter::E1000e),
        "pcnet32" | "vlance" => Some(NicAdapter::Vlance),
        "vmxnet2" => Some(NicAdapter::VmxNet2),
        "vmxnet" | "flexible" => Some(NicAdapter::Flexible),
        _ => None,
    }
}

/// The OVF ResourceSubType of a sound card.
pub fn sound_sub_type(kind: SoundKind) -> &'static str {
    match kind {
        SoundKind::HdAudio => "vmware.soundcard.hdaudio",
        SoundKind::Es1371 => "vmware.soundcard.ensoniq1371",
        SoundKind::Sb16 => "vmware.soundcard.sb16",
    }
}

pub(crate) fn sound_kind(sub: &str) -> Option<SoundKind> {
    match sub {
        "vmware.soundcard.hdaudio" | "hdaudio" => Some(SoundKind::HdAudio),
        "vmware.soundcard.ensoniq1371" | "ensoniq1371" | "es1371" => Some(SoundKind::Es1371),
        "vmware.soundcard.sb16" | "sb16" | "soundblaster16" => Some(SoundKind::Sb16),
        _ => None,
    }
}

fn bool_text(v: Option<&str>) -> Option<bool> {
    match v?.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

fn describe(item: &Item) -> String {
    let name = item
        .element_name
        .as_deref()
        .or(item.description.as_deref())
        .unwrap_or("item");
    let mut s = format!(
        "{name} (ResourceType {}",
        item.resource_type.as_deref().unwrap_or("?")
    );
    if let Some(st) = &item.resource_sub_type {
        s.push_str(&format!(", {st}"));
    }
    if let Some(id) = &item.instance_id {
        s.push_str(&format!(", InstanceID {id}"));
    }
    s.push(')');
    s
}

/// A `ovf:/disk/ID` or `ovf:/file/ID` host resource (also `/disk/ID`, OVF 0.9 spellings).
fn host_ref<'a>(item: &'a Item, what: &str) -> Option<&'a str> {
    item.host_resources.iter().find_map(|h| {
        let h = h.trim();
        let rest = h
            .strip_prefix("ovf:")
            .unwrap_or(h)
            .strip_prefix('/')?
            .strip_prefix(what)?
            .strip_prefix('/')?;
        Some(rest)
    })
}

/// Finds the element of the virtual system `id`, depth first.
fn find_system<'a>(el: &'a Element, id: &str) -> Option<&'a Element> {
    for c in el.elements() {
        if is_kind(c, "VirtualSystem") && ovf_attr(c, "id").unwrap_or_default() == id {
            return Some(c);
        }
        if is_kind(c, "VirtualSystemCollection") {
            if let Some(f) = find_system(c, id) {
                return Some(f);
            }
        }
    }
    None
}

/// `vmw:CoresPerSocket` of the CPU item that applies in `config`, in the `index`-th hardware
/// section of system `id` (the typed view does not keep vendor children's text).
fn cores_per_socket(
    env: &Envelope,
    id: &str,
    index: usize,
    config: Option<&str>,
) -> Option<String> {
    let sys = find_system(env.root(), id)?;
    let hw = sys
        .elements()
        .filter(|c| is_kind(c, "VirtualHardwareSection"))
        .nth(index)?;
    hw.elements()
        .filter(|i| is_kind(i, "Item"))
        .find(|i| {
            let it = Item::from_el(i);
            it.resource_type_code() == Some(3) && it.applies_to(config)
        })?
        .elements()
        .find(|c| c.local_name() == "CoresPerSocket" && c.ns.as_deref() == Some(ns::VMW))
        .map(|c| c.text().trim().to_string())
}

/// Picks the hardware section: the first whose `VirtualSystemType` names a `vmx-NN` family,
/// else the first.
fn pick_hardware(vs: &VirtualSystem) -> Option<(usize, &VirtualHardware)> {
    vs.hardware
        .iter()
        .enumerate()
        .find(|(_, h)| {
            h.system
                .as_ref()
                .is_some_and(|s| s.system_types.iter().any(|t| vmx_version(t).is_some()))
        })
        .or_else(|| vs.hardware.iter().enumerate().next())
}

/// `vmx-07` → 7.
pub fn vmx_version(family: &str) -> Option<u32> {
    family.trim().strip_prefix("vmx-")?.parse().ok()
}

struct Ctx {
    m: Machine,
    warnings: Vec<Warning>,
    /// InstanceID → controller (family, bus).
    by_instance: HashMap<String, (BusFamily, u32)>,
    used: HashSet<Attachment>,
}

impl Ctx {
    fn unmapped(&mut self, item: impl Into<String>, reason: impl Into<String>) {
        self.m.unmapped.push(Unmapped {
            item: item.into(),
            reason: reason.into(),
        });
    }

    fn add_controller(&mut self, item: &Item, kind: ControllerKind) {
        let family = BusFamily::of(kind);
        let taken: HashSet<u32> = self
            .m
            .controllers
            .iter()
            .filter(|c| c.family() == family)
            .map(|c| c.bus)
            .collect();
        let wanted = item
            .address
            .as_deref()
            .and_then(|a| a.trim().parse::<u32>().ok());
        let bus = match wanted {
            Some(b) if !taken.contains(&b) && b < max_buses(family) => b,
            other => {
                let free = (0..max_buses(family)).find(|b| !taken.contains(b));
                let Some(free) = free else {
                    self.unmapped(describe(item), "too many controllers of this kind");
                    return;
                };
                if other.is_some() {
                    self.warnings.push(Warning::new(
                        describe(item),
                        format!("bus number taken or out of range: using {free}"),
                    ));
                }
                free
            }
        };
        if let Some(id) = &item.instance_id {
            self.by_instance
                .insert(id.trim().to_string(), (family, bus));
        }
        self.m.controllers.push(Controller { kind, bus });
    }

    /// The attachment of a child item: controller via `Parent`, unit via `AddressOnParent`
    /// (or the first free usable unit).
    fn attach(&mut self, item: &Item) -> Option<Attachment> {
        let parent = item.parent.as_deref().map(str::trim);
        let Some((family, bus)) = parent.and_then(|p| self.by_instance.get(p).copied()) else {
            self.unmapped(
                describe(item),
                match parent {
                    Some(p) => format!("parent controller {p} is not a mapped controller"),
                    None => "no parent controller".to_string(),
                },
            );
            return None;
        };
        let kind = self.m.controller(family, bus).map(|c| c.kind)?;
        let wanted = item
            .address_on_parent
            .as_deref()
            .and_then(|a| a.trim().parse::<u32>().ok());
        let free = |used: &HashSet<Attachment>, u: u32| {
            kind.unit_is_usable(u)
                && !used.contains(&Attachment {
                    family,
                    bus,
                    unit: u,
                })
        };
        let unit = match wanted {
            Some(u) if free(&self.used, u) => u,
            other => {
                let Some(u) = (0..kind.limits().unit_count).find(|u| free(&self.used, *u)) else {
                    self.unmapped(describe(item), "no free unit on its controller");
                    return None;
                };
                if other.is_some() {
                    self.warnings.push(Warning::new(
                        describe(item),
                        format!("unit number taken or not usable: using {u}"),
                    ));
                }
                u
            }
        };
        let at = Attachment { family, bus, unit };
        self.used.insert(at);
        Some(at)
    }
}

impl Machine {
    /// Reads one virtual system of an envelope as a machine.
    ///
    /// `system` selects a `VirtualSystem` by `ovf:id` (required when the descriptor has more
    /// than one); `deployment` selects a deployment option (default: the descriptor's default
    /// one). Items that do not apply to the option are skipped.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidOvf`] without a virtual system or hardware section, or when
    /// `system` or `deployment` names nothing; [`crate::ErrorKind::Usage`] when the descriptor
    /// has several virtual systems and `system` is `None`.
    pub fn from_envelope(
        env: &Envelope,
        system: Option<&str>,
        deployment: Option<&str>,
    ) -> Result<(Machine, Vec<Warning>)> {
        let systems = env.virtual_systems();
        let vs = match system {
            Some(id) => systems.iter().find(|v| v.id == id).ok_or_else(|| {
                Error::invalid_ovf(format!("no VirtualSystem with ovf:id {id:?}"))
            })?,
            None => match systems.as_slice() {
                [] => return Err(Error::invalid_ovf("the descriptor has no VirtualSystem")),
                [one] => one,
                many => {
                    let ids: Vec<&str> = many.iter().map(|v| v.id.as_str()).collect();
                    return Err(Error::usage(format!(
                        "the descriptor has {} virtual systems ({}): choose one",
                        many.len(),
                        ids.join(", ")
                    )));
                }
            },
        };
        let options = env.deployment_options();
        let config = match deployment {
            Some(d) => {
                if !options.iter().any(|o| o.id == d) {
                    return Err(Error::invalid_ovf(format!(
                        "no deployment option {d:?} (known: {})",
                        options
                            .iter()
                            .map(|o| o.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                Some(d.to_string())
            }
            None => env.default_deployment_option(),
        };
        let (hw_index, hw) = pick_hardware(vs).ok_or_else(|| {
            Error::invalid_ovf(format!(
                "VirtualSystem {:?} has no VirtualHardwareSection",
                vs.id
            ))
        })?;

        let mut cx = Ctx {
            m: Machine::new(),
            warnings: Vec::new(),
            by_instance: HashMap::new(),
            used: HashSet::new(),
        };
        cx.m.name = vs
            .name
            .as_ref()
            .map(|n| n.text.clone())
            .filter(|n| !n.is_empty())
            .or_else(|| {
                hw.system
                    .as_ref()
                    .and_then(|s| s.identifier.clone())
                    .filter(|n| !n.is_empty())
            })
            .or_else(|| Some(vs.id.clone()).filter(|n| !n.is_empty()));
        cx.m.annotation = vs
            .annotation
            .as_ref()
            .map(|a| a.text.clone())
            .filter(|a| !a.is_empty());
        if let Some(sys) = &hw.system {
            cx.m.hardware_version = sys.system_types.iter().find_map(|t| vmx_version(t));
            if cx.m.hardware_version.is_none() && !sys.system_types.is_empty() {
                cx.warnings.push(Warning::new(
                    "VirtualSystemType",
                    format!(
                        "not a VMware hardware family: {}; the host default is used",
                        sys.system_types.join(" ")
                    ),
                ));
            }
        }
        match &vs.operating_system {
            Some(os) => {
                let cim = os.id.trim().parse::<u16>().ok();
                if cim.is_none() {
                    cx.warnings.push(Warning::new(
                        "OperatingSystemSection",
                        format!("expected a CIM OSType number, found {:?}", os.id),
                    ));
                }
                cx.m.guest_os = GuestOs::from_ovf(
                    cim.unwrap_or(1),
                    os.version.as_deref(),
                    os.vmw_os_type.as_deref(),
                );
                if cx.m.guest_os.vmx_key.is_none() {
                    cx.warnings.push(Warning::new(
                        "OperatingSystemSection",
                        format!(
                            "no VMware guest OS known for CIM id {} {:?}: using \"other\"",
                            os.id,
                            os.vmw_os_type.as_deref().unwrap_or("")
                        ),
                    ));
                }
            }
            None => cx.warnings.push(Warning::new(
                "OperatingSystemSection",
                "missing: the guest OS is left to the host",
            )),
        }

        // Range items (`ovf:bound="min"`/`"max"`) describe limits; the `normal` (or unbounded)
        // item is the value (DSP0243 §9.8).
        let items: Vec<&Item> = hw
            .items_for(config.as_deref())
            .into_iter()
            .filter(|i| !matches!(i.bound.as_deref().map(str::trim), Some("min" | "max")))
            .collect();
        // Controllers first, so that children find their parents whatever the item order.
        for item in &items {
            let sub = sub_type(item);
            let Some(rt @ (5 | 6 | 20)) = item.resource_type_code() else {
                continue;
            };
            match controller_kind(rt, Some(&sub)) {
                Some(k) => cx.add_controller(item, k),
                None if rt == 6 && sub.is_empty() => {
                    cx.warnings.push(Warning::new(
                        describe(item),
                        "SCSI controller without subtype: assuming lsilogic",
                    ));
                    cx.add_controller(item, ControllerKind::LsiLogic);
                }
                None if rt == 6 => cx.unmapped(describe(item), "unknown SCSI controller type"),
                None => cx.unmapped(describe(item), "storage controller type not supported"),
            }
        }
        // Indexed once: descriptors may hold many disks and files (linear, not quadratic).
        let disk_list = env.disks();
        // The first of duplicate ids counts, as in Envelope::disk / Envelope::file.
        let mut disks: HashMap<&str, &OvfDisk> = HashMap::new();
        for d in &disk_list {
            disks.entry(d.disk_id.as_str()).or_insert(d);
        }
        let file_list = env.references();
        let mut files: HashMap<&str, &FileRef> = HashMap::new();
        for f in &file_list {
            files.entry(f.id.as_str()).or_insert(f);
        }
        for item in &items {
            let sub = sub_type(item);
            let connected = bool_text(item.automatic_allocation.as_deref());
            // Item-level vmw:Config of kinds whose options the model does not carry (NICs,
            // USB and video handle theirs below).
            if !matches!(item.resource_type_code(), Some(10 | 23 | 24)) {
                for c in &item.config {
                    if !ignorable(c) {
                        cx.unmapped(
                            format!("{} vmw:Config {}={}", describe(item), c.key, c.value),
                            "device option not carried",
                        );
                    }
                }
            }
            match item.resource_type_code() {
                Some(5 | 6 | 20) => {}
                Some(3) => match item
                    .virtual_quantity
                    .as_deref()
                    .map(|v| v.trim().parse::<u32>())
                {
                    Some(Ok(n)) if n > 0 => {
                        cx.m.cpus = n;
                        cx.m.cores_per_socket =
                            cores_per_socket(env, &vs.id, hw_index, config.as_deref())
                                .and_then(|c| c.parse().ok());
                    }
                    _ => cx.warnings.push(Warning::new(
                        describe(item),
                        "expected a CPU count in VirtualQuantity: using 1",
                    )),
                },
                Some(4) => {
                    let qty = item
                        .virtual_quantity
                        .as_deref()
                        .map(|v| v.trim().parse::<u64>());
                    let unit = match item.allocation_units.as_deref() {
                        None => Ok(1 << 20),
                        Some(u) => parse_allocation_units(u),
                    };
                    match (qty, unit) {
                        (Some(Ok(q)), Ok(u)) => match q.checked_mul(u) {
                            Some(bytes) => {
                                if bytes % (1 << 20) != 0 {
                                    cx.warnings.push(Warning::new(
                                        describe(item),
                                        "memory is not a whole number of MiB: rounded down",
                                    ));
                                }
                                cx.m.memory_mib = bytes >> 20;
                            }
                            None => cx.unmapped(describe(item), "memory size overflows"),
                        },
                        _ => cx.unmapped(
                            describe(item),
                            "expected VirtualQuantity and byte AllocationUnits",
                        ),
                    }
                }
                Some(17) => {
                    let Some(at) = cx.attach(item) else { continue };
                    let (file_name, capacity, disk_id) = if let Some(id) = host_ref(item, "disk") {
                        match disks.get(id) {
                            Some(d) => {
                                let file = d
                                    .file_ref
                                    .as_deref()
                                    .and_then(|f| files.get(f))
                                    .map(|f| f.href.clone())
                                    .unwrap_or_default();
                                let cap = match d.capacity_bytes(env) {
                                    Ok(c) => Some(c),
                                    Err(e) => {
                                        cx.warnings.push(Warning::new(
                                            format!("disk {id}"),
                                            e.message().to_string(),
                                        ));
                                        None
                                    }
                                };
                                (file, cap, Some(id.to_string()))
                            }
                            None => {
                                cx.used.remove(&at);
                                cx.unmapped(
                                    describe(item),
                                    format!("refers to disk {id:?}, which DiskSection lacks"),
                                );
                                continue;
                            }
                        }
                    } else if let Some(fid) = host_ref(item, "file") {
                        match files.get(fid) {
                            Some(f) => (f.href.clone(), None, None),
                            None => {
                                cx.used.remove(&at);
                                cx.unmapped(
                                    describe(item),
                                    format!("refers to missing file {fid:?}"),
                                );
                                continue;
                            }
                        }
                    } else {
                        cx.used.remove(&at);
                        cx.unmapped(describe(item), "disk without HostResource");
                        continue;
                    };
                    cx.m.disks.push(Disk {
                        attachment: at,
                        file_name,
                        capacity_bytes: capacity,
                        disk_id,
                    });
                }
                Some(15 | 16) => {
                    let Some(at) = cx.attach(item) else { continue };
                    let backing = if let Some(f) = host_ref(item, "file").and_then(|f| files.get(f))
                    {
                        CdBacking::Image {
                            file: f.href.clone(),
                        }
                    } else if sub.contains("remote") {
                        CdBacking::Client
                    } else if sub == "vmware.cdrom.atapi" || sub == "vmware.cdrom.passthrough" {
                        CdBacking::HostDevice { device: None }
                    } else {
                        CdBacking::Client
                    };
                    cx.m.cdroms.push(CdRom {
                        attachment: at,
                        backing,
                        start_connected: connected.unwrap_or(false),
                    });
                }
                Some(14) => {
                    let index = cx.m.floppies.len() as u32;
                    if index >= 2 {
                        cx.unmapped(describe(item), "only two floppy drives exist");
                        continue;
                    }
                    let backing = if let Some(f) = host_ref(item, "file").and_then(|f| files.get(f))
                    {
                        FloppyBacking::Image {
                            file: f.href.clone(),
                        }
                    } else if sub == "vmware.floppy.device" {
                        FloppyBacking::HostDevice { device: None }
                    } else {
                        FloppyBacking::Client
                    };
                    cx.m.floppies.push(Floppy {
                        index,
                        backing,
                        start_connected: connected.unwrap_or(false),
                    });
                }
                Some(10) => {
                    let index = cx.m.nics.len() as u32;
                    if index >= MAX_NICS {
                        cx.unmapped(
                            describe(item),
                            format!("VMware VMs have at most {MAX_NICS} network adapters"),
                        );
                        continue;
                    }
                    let adapter = nic_adapter(&sub);
                    if adapter.is_none() && !sub.is_empty() {
                        cx.warnings.push(Warning::new(
                            describe(item),
                            "unknown network adapter type: the host default is used",
                        ));
                    }
                    let mac = match item.address.as_deref().map(str::trim) {
                        Some(a) if crate::vm::is_mac(a) => MacAddress::Static {
                            address: a.replace('-', ":").to_ascii_lowercase(),
                        },
                        _ => MacAddress::Generated,
                    };
                    for c in &item.config {
                        // Per-adapter options with a .vmx spelling travel as extra config.
                        let vmx_key = match c.key.as_str() {
                            "wakeOnLanEnabled" => Some("wakeOnPcktRcv"),
                            "connectable.allowGuestControl" => Some("allowGuestConnectionControl"),
                            _ => None,
                        };
                        if let Some(k) = vmx_key {
                            cx.m.extra_config.push((
                                format!("ethernet{index}.{k}"),
                                config_value_to_vmx(&c.value),
                            ));
                        } else if !ignorable(c) {
                            cx.unmapped(
                                format!("{} vmw:Config {}={}", describe(item), c.key, c.value),
                                "network adapter option not carried",
                            );
                        }
                    }
                    cx.m.nics.push(Nic {
                        index,
                        adapter,
                        network: item
                            .connections
                            .first()
                            .map(|c| c.trim().to_string())
                            .filter(|c| !c.is_empty()),
                        connection_type: None,
                        start_connected: connected.unwrap_or(true),
                        mac,
                    });
                }
                Some(23) => {
                    for c in item
                        .config
                        .iter()
                        .filter(|c| c.key != "ehciEnabled" && !ignorable(c))
                    {
                        cx.unmapped(
                            format!("{} vmw:Config {}={}", describe(item), c.key, c.value),
                            "USB option not carried",
                        );
                    }
                    if sub.contains("xhci") {
                        cx.m.usb.xhci = true;
                    } else {
                        cx.m.usb.usb2 = true;
                        let ehci = item
                            .config
                            .iter()
                            .find(|c| c.key == "ehciEnabled")
                            .and_then(|c| bool_text(Some(&c.value)));
                        cx.m.usb.ehci = ehci.unwrap_or(sub.contains("ehci"));
                    }
                }
                Some(24) => {
                    for c in &item.config {
                        if c.key == "videoRamSizeInKB" {
                            match c
                                .value
                                .trim()
                                .parse::<u64>()
                                .ok()
                                .and_then(|k| k.checked_mul(1024))
                            {
                                Some(b) => cx.m.video_ram_bytes = Some(b),
                                None => cx.warnings.push(Warning::new(
                                    describe(item),
                                    format!(
                                        "expected videoRamSizeInKB in KiB, found {:?}",
                                        c.value
                                    ),
                                )),
                            }
                        } else if let Some((_, k)) =
                            VIDEO_CONFIG_TO_VMX.iter().find(|(o, _)| *o == c.key)
                        {
                            cx.m.extra_config
                                .push((k.to_string(), config_value_to_vmx(&c.value)));
                        } else if !ignorable(c) {
                            cx.unmapped(
                                format!("{} vmw:Config {}={}", describe(item), c.key, c.value),
                                "video option not carried",
                            );
                        }
                    }
                }
                Some(1 | 35) if sub == "vmware.vmci" => cx.m.vmci = true,
                Some(1 | 35) if sound_kind(&sub).is_some() => {
                    cx.m.sound = Some(Sound {
                        kind: sound_kind(&sub),
                        start_connected: connected.unwrap_or(true),
                    })
                }
                _ if IMPLICIT_SUBTYPES.contains(&sub.as_str()) => {}
                Some(21) => cx.unmapped(describe(item), "serial port backings are host-specific"),
                Some(22) => cx.unmapped(describe(item), "parallel port backings are host-specific"),
                _ => cx.unmapped(describe(item), "device type not supported"),
            }
        }

        for c in &hw.config {
            match c.key.as_str() {
                "firmware" => match c.value.trim().to_ascii_lowercase().as_str() {
                    "efi" => cx.m.firmware = Firmware::Efi,
                    "bios" => cx.m.firmware = Firmware::Bios,
                    other => cx.warnings.push(Warning::new(
                        "vmw:Config firmware",
                        format!("expected bios or efi, found {other:?}"),
                    )),
                },
                "bootOptions.efiSecureBootEnabled" => {
                    cx.m.secure_boot = bool_text(Some(&c.value)).unwrap_or(false)
                }
                key => match CONFIG_TO_VMX.iter().find(|(o, _)| *o == key) {
                    Some((_, vmx)) => {
                        cx.m.extra_config
                            .push((vmx.to_string(), config_value_to_vmx(&c.value)))
                    }
                    None if ignorable(c) => {}
                    None => cx.unmapped(
                        format!("vmw:Config {}={}", c.key, c.value),
                        "setting not carried",
                    ),
                },
            }
        }
        for c in &hw.extra_config {
            if c.key.eq_ignore_ascii_case("nvram") {
                cx.m.nvram_file = Some(c.value.clone()).filter(|v| !v.is_empty());
            } else if !c.key.is_empty() && !is_runtime_key(&c.key) {
                cx.m.extra_config.push((c.key.clone(), c.value.clone()));
            }
        }
        Ok((cx.m, cx.warnings))
    }
}

// ---------------------------------------------------------------------------------------------
// Export: Machine → descriptor.

/// How [`Machine::to_envelope_builder`] names what it writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// OVF version to write (1.0 by default).
    pub version: Option<OvfVersion>,
    /// `VirtualSystem ovf:id` (default: the machine name, else `vm`).
    pub system_id: Option<String>,
    /// The package name of the NVRAM file when the exporter ships it (`References/File` with id
    /// `nvram` plus `vmw:ExtraConfig nvram`, as ovftool does).
    pub nvram_href: Option<String>,
    /// CD images the exporter ships, by the drive's attachment: the package name of each
    /// (`References/File` with id [`cdrom_file_id`], `HostResource ovf:/file/..`,
    /// `vmware.cdrom.iso`). Images not listed are not packaged (a warning says so).
    pub cdrom_image_hrefs: Vec<(Attachment, String)>,
}

/// The OVF file id of the image of the `index`-th CD-ROM drive (`cdrom1`...).
pub fn cdrom_file_id(index: usize) -> String {
    format!("cdrom{}", index + 1)
}

/// The OVF file id of the `index`-th disk's file (`file1`, `file2`...): the exporter uses it to
/// set sizes once the disks are written ([`Envelope::set_file_size`]).
pub fn disk_file_id(index: usize) -> String {
    format!("file{}", index + 1)
}

/// The streamOptimized VMDK format URI (VMware's `ovf:format`).
pub const STREAM_OPTIMIZED_FORMAT: &str =
    "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized";

/// A `.vmx` value of a [`CONFIG_TO_VMX`] key as the vSphere value, or `None` when vSphere has no
/// equivalent (`trySoft`, `useGlobal`...): the entry then stays raw extra configuration.
fn config_value_to_ovf(vmx_key: &str, v: &str) -> Option<String> {
    let k = vmx_key.to_ascii_lowercase();
    let lv = v.trim().to_ascii_lowercase();
    if k.starts_with("powertype.") {
        return match lv.as_str() {
            "soft" | "hard" => Some(lv),
            "default" => Some("preset".to_string()),
            _ => None,
        };
    }
    if k == "tools.upgrade.policy" {
        return match lv.as_str() {
            "manual" => Some("manual".to_string()),
            "upgradeatpowercycle" => Some("upgradeAtPowerCycle".to_string()),
            _ => None,
        };
    }
    if k == "svga.numdisplays" || k == "svga.graphicsmemorykb" {
        return lv.parse::<u64>().ok().map(|n| n.to_string());
    }
    crate::vmx::parse_bool(&lv).map(|b| b.to_string())
}

/// `capacity_bytes` as (number, units) in the largest binary unit that divides it.
fn capacity_in_units(bytes: u64) -> (String, Option<String>) {
    for shift in [30u32, 20, 10] {
        let unit = 1u64 << shift;
        if bytes >= unit && bytes % unit == 0 {
            return (
                (bytes >> shift).to_string(),
                Some(format!("byte * 2^{shift}")),
            );
        }
    }
    (bytes.to_string(), None)
}

impl Machine {
    /// Builds the descriptor of this machine for export (VMware's layout: CPU, memory,
    /// controllers, disks, CD/floppy, NICs, USB, sound, video, VMCI; firmware and mapped
    /// settings as `vmw:Config`; other extra configuration as `vmw:ExtraConfig`).
    ///
    /// Each disk becomes `File file{N}` (href = [`Disk::file_name`], the name the exporter gives
    /// the written disk; size left for [`Envelope::set_file_size`]) and `Disk` with its
    /// capacity; a disk with an empty file name becomes a blank disk. What OVF cannot carry
    /// (serial/parallel ports, CD images from the host) is returned as warnings.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] when a disk's capacity is unknown or the machine fails
    /// [`Machine::validate`] with errors.
    pub fn to_envelope_builder(
        &self,
        opts: &ExportOptions,
    ) -> Result<(EnvelopeBuilder, Vec<Warning>)> {
        if let Some(issue) = self
            .validate()
            .into_iter()
            .find(|i| i.severity == crate::vm::Severity::Error)
        {
            return Err(Error::usage(format!(
                "cannot export: {}: {}",
                issue.subject, issue.message
            )));
        }
        let mut warnings = Vec::new();
        let mut b = EnvelopeBuilder {
            version: opts.version.unwrap_or(OvfVersion::V1),
            ..EnvelopeBuilder::default()
        };

        // Files and disks.
        for (i, d) in self.disks.iter().enumerate() {
            let capacity = d.capacity_bytes.ok_or_else(|| {
                Error::usage(format!(
                    "cannot export disk {} ({}): its capacity is unknown",
                    d.attachment, d.file_name
                ))
            })?;
            let disk_id = d
                .disk_id
                .clone()
                .unwrap_or_else(|| format!("vmdisk{}", i + 1));
            let file_ref = if d.file_name.is_empty() {
                None
            } else {
                let id = disk_file_id(i);
                b.files.push(FileRef {
                    id: id.clone(),
                    href: d.file_name.clone(),
                    size: None,
                    compression: None,
                    chunk_size: None,
                });
                Some(id)
            };
            let (cap, units) = capacity_in_units(capacity);
            b.disks.push(OvfDisk {
                disk_id,
                file_ref: file_ref.clone(),
                capacity: cap,
                capacity_units: units,
                format: Some(STREAM_OPTIMIZED_FORMAT.to_string()),
                populated_size: None,
                parent_ref: None,
            });
        }
        if let Some(href) = &opts.nvram_href {
            b.files.push(FileRef {
                id: "nvram".to_string(),
                href: href.clone(),
                size: None,
                compression: None,
                chunk_size: None,
            });
        }

        // Networks.
        for n in &self.nics {
            if let Some(net) = n.network_name() {
                if !b.networks.iter().any(|x| x.name == net) {
                    b.networks.push(Network {
                        name: net.to_string(),
                        description: Some(format!("The {net} network")),
                    });
                }
            }
        }

        // Operating system.
        let guest_id = match &self.guest_os.guest_id {
            Some(g) => g.clone(),
            None => {
                let id = match &self.guest_os.vmx_key {
                    Some(k) if k.contains("64") => "otherGuest64",
                    _ => "otherGuest",
                };
                warnings.push(Warning::new(
                    "guestOS",
                    format!(
                        "unknown guest OS {:?}: exported as {id}",
                        self.guest_os.vmx_key.as_deref().unwrap_or("")
                    ),
                ));
                id.to_string()
            }
        };
        let os = OsSpec {
            cim_id: self
                .guest_os
                .cim_id
                .or_else(|| crate::vm::guestos::cim_for_guest_id(&guest_id))
                .unwrap_or(1),
            version: self.guest_os.cim_version.clone(),
            vmw_os_type: Some(guest_id),
            description: None,
        };

        // Hardware.
        let mut hw = HardwareSpec::default();
        let family = match self.hardware_version {
            Some(v) => format!("vmx-{v:02}"),
            None => {
                warnings.push(Warning::new(
                    "virtualHW.version",
                    "no hardware version: exported as vmx-04 (VMware's default)",
                ));
                "vmx-04".to_string()
            }
        };
        hw.families.push(family);
        let mut next_id = 0u32;
        let mut new_id = || {
            next_id += 1;
            next_id.to_string()
        };
        hw.items.push(ItemSpec {
            instance_id: new_id(),
            resource_type: 3,
            element_name: format!("{} virtual CPU(s)", self.cpus),
            description: Some("Number of Virtual CPUs".into()),
            allocation_units: Some("hertz * 10^6".into()),
            virtual_quantity: Some(u64::from(self.cpus)),
            cores_per_socket: self.cores_per_socket,
            ..ItemSpec::default()
        });
        hw.items.push(ItemSpec {
            instance_id: new_id(),
            resource_type: 4,
            element_name: format!("{}MB of memory", self.memory_mib),
            description: Some("Memory Size".into()),
            allocation_units: Some("byte * 2^20".into()),
            virtual_quantity: Some(self.memory_mib),
            ..ItemSpec::default()
        });
        let mut ctl_ids: HashMap<(BusFamily, u32), String> = HashMap::new();
        for c in &self.controllers {
            let id = new_id();
            let (name, desc) = match c.family() {
                BusFamily::Ide => (format!("ideController{}", c.bus), "IDE Controller"),
                BusFamily::Scsi => (format!("SCSIController{}", c.bus), "SCSI Controller"),
                BusFamily::Sata => (format!("SATAController{}", c.bus), "SATA Controller"),
                BusFamily::Nvme => (format!("NVMEController{}", c.bus), "NVMe Controller"),
            };
            ctl_ids.insert((c.family(), c.bus), id.clone());
            hw.items.push(ItemSpec {
                instance_id: id,
                resource_type: controller_resource_type(c.kind),
                resource_sub_type: controller_sub_type(c.kind).map(str::to_string),
                element_name: name,
                description: Some(desc.into()),
                address: Some(c.bus.to_string()),
                ..ItemSpec::default()
            });
        }
        for (i, d) in self.disks.iter().enumerate() {
            let disk_id = b
                .disks
                .get(i)
                .map(|x| x.disk_id.clone())
                .unwrap_or_default();
            hw.items.push(ItemSpec {
                instance_id: new_id(),
                resource_type: 17,
                element_name: format!("disk{i}"),
                host_resources: vec![format!("ovf:/disk/{disk_id}")],
                parent: ctl_ids
                    .get(&(d.attachment.family, d.attachment.bus))
                    .cloned(),
                address_on_parent: Some(d.attachment.unit.to_string()),
                ..ItemSpec::default()
            });
        }
        for (i, c) in self.cdroms.iter().enumerate() {
            let shipped = opts
                .cdrom_image_hrefs
                .iter()
                .find(|(at, _)| *at == c.attachment)
                .map(|(_, href)| href);
            let mut host_resources = Vec::new();
            let sub = match (&c.backing, shipped) {
                (CdBacking::Image { .. }, Some(href)) => {
                    let id = cdrom_file_id(i);
                    b.files.push(FileRef {
                        id: id.clone(),
                        href: href.clone(),
                        size: None,
                        compression: None,
                        chunk_size: None,
                    });
                    host_resources.push(format!("ovf:/file/{id}"));
                    "vmware.cdrom.iso"
                }
                (CdBacking::Image { file }, None) => {
                    warnings.push(Warning::new(
                        format!("{} (CD-ROM)", c.attachment),
                        format!("image {file:?} is not packaged: exported as a client drive"),
                    ));
                    "vmware.cdrom.remotepassthrough"
                }
                (CdBacking::Client, _) => "vmware.cdrom.remotepassthrough",
                (CdBacking::HostDevice { .. }, _) => "vmware.cdrom.atapi",
            };
            hw.items.push(ItemSpec {
                host_resources,
                instance_id: new_id(),
                resource_type: 15,
                resource_sub_type: Some(sub.into()),
                element_name: format!("cdrom{i}"),
                parent: ctl_ids
                    .get(&(c.attachment.family, c.attachment.bus))
                    .cloned(),
                address_on_parent: Some(c.attachment.unit.to_string()),
                automatic_allocation: Some(c.start_connected),
                required: Some(false),
                ..ItemSpec::default()
            });
        }
        for f in &self.floppies {
            let sub = match &f.backing {
                FloppyBacking::Image { file } => {
                    warnings.push(Warning::new(
                        format!("floppy{}", f.index),
                        format!("image {file:?} is not packaged: exported as a client drive"),
                    ));
                    "vmware.floppy.remotedevice"
                }
                FloppyBacking::Client => "vmware.floppy.remotedevice",
                FloppyBacking::HostDevice { .. } => "vmware.floppy.device",
            };
            hw.items.push(ItemSpec {
                instance_id: new_id(),
                resource_type: 14,
                resource_sub_type: Some(sub.into()),
                element_name: format!("floppy{}", f.index),
                automatic_allocation: Some(f.start_connected),
                required: Some(false),
                ..ItemSpec::default()
            });
        }
        let mut nic_items: HashMap<u32, usize> = HashMap::new();
        for n in &self.nics {
            let sub = n.adapter.map(nic_sub_type);
            let desc = match (&sub, n.network_name()) {
                (Some(s), Some(net)) => format!("{s} ethernet adapter on \"{net}\""),
                (Some(s), None) => format!("{s} ethernet adapter"),
                (None, Some(net)) => format!("ethernet adapter on \"{net}\""),
                (None, None) => "ethernet adapter".to_string(),
            };
            nic_items.insert(n.index, hw.items.len());
            hw.items.push(ItemSpec {
                instance_id: new_id(),
                resource_type: 10,
                resource_sub_type: sub.map(str::to_string),
                element_name: format!("ethernet{}", n.index),
                description: Some(desc),
                address: match &n.mac {
                    MacAddress::Static { address } => Some(address.clone()),
                    MacAddress::Generated => None,
                },
                address_on_parent: Some((7 + n.index).to_string()),
                connections: n.network_name().map(str::to_string).into_iter().collect(),
                automatic_allocation: Some(n.start_connected),
                ..ItemSpec::default()
            });
        }
        if self.usb.usb2 {
            hw.items.push(ItemSpec {
                instance_id: new_id(),
                resource_type: 23,
                resource_sub_type: Some("vmware.usb.ehci".into()),
                element_name: "usb".into(),
                address: Some("0".into()),
                required: Some(false),
                config: vec![("ehciEnabled".into(), self.usb.ehci.to_string())],
                ..ItemSpec::default()
            });
        } else if self.usb.ehci {
            warnings.push(Warning::new(
                "ehci.present",
                "EHCI without the USB controller: not exported",
            ));
        }
        if self.usb.xhci {
            hw.items.push(ItemSpec {
                instance_id: new_id(),
                resource_type: 23,
                resource_sub_type: Some("vmware.usb.xhci".into()),
                element_name: "usb3".into(),
                address: Some(if self.usb.usb2 { "1" } else { "0" }.into()),
                required: Some(false),
                ..ItemSpec::default()
            });
        }
        if let Some(s) = &self.sound {
            match s.kind {
                Some(k) => hw.items.push(ItemSpec {
                    instance_id: new_id(),
                    resource_type: 1,
                    resource_sub_type: Some(sound_sub_type(k).into()),
                    element_name: "sound".into(),
                    automatic_allocation: Some(s.start_connected),
                    required: Some(false),
                    ..ItemSpec::default()
                }),
                None => warnings.push(Warning::new(
                    "sound",
                    "sound card of unspecified model: not exported",
                )),
            }
        }
        let video_index = hw.items.len();
        hw.items.push(ItemSpec {
            instance_id: new_id(),
            resource_type: 24,
            element_name: "video".into(),
            required: Some(false),
            automatic_allocation: Some(false),
            config: self
                .video_ram_bytes
                .map(|b| vec![("videoRamSizeInKB".to_string(), (b / 1024).to_string())])
                .unwrap_or_default(),
            ..ItemSpec::default()
        });
        if self.vmci {
            hw.items.push(ItemSpec {
                instance_id: new_id(),
                resource_type: 1,
                resource_sub_type: Some("vmware.vmci".into()),
                element_name: "vmci".into(),
                automatic_allocation: Some(false),
                required: Some(false),
                ..ItemSpec::default()
            });
        }
        for p in &self.serial_ports {
            warnings.push(Warning::new(
                format!("serial{}", p.index),
                "serial port backings are host-specific: not exported",
            ));
        }
        for p in &self.parallel_ports {
            warnings.push(Warning::new(
                format!("parallel{}", p.index),
                "parallel port backings are host-specific: not exported",
            ));
        }

        if self.firmware == Firmware::Efi {
            hw.config.push(("firmware".into(), "efi".into()));
        }
        if self.secure_boot {
            hw.config
                .push(("bootOptions.efiSecureBootEnabled".into(), "true".into()));
        }
        for (k, v) in &self.extra_config {
            if is_runtime_key(k) {
                continue;
            }
            if let Some((ovf, _)) = CONFIG_TO_VMX
                .iter()
                .find(|(_, x)| x.eq_ignore_ascii_case(k))
            {
                if let Some(val) = config_value_to_ovf(k, v) {
                    hw.config.push((ovf.to_string(), val));
                    continue;
                }
            }
            if let Some((ovf, _)) = VIDEO_CONFIG_TO_VMX
                .iter()
                .find(|(_, x)| x.eq_ignore_ascii_case(k))
            {
                if let (Some(item), Some(val)) =
                    (hw.items.get_mut(video_index), config_value_to_ovf(k, v))
                {
                    item.config.push((ovf.to_string(), val));
                    continue;
                }
            }
            // ethernetN.wakeOnPcktRcv / allowGuestConnectionControl → NIC item config.
            let lower = k.to_ascii_lowercase();
            if let Some(rest) = lower.strip_prefix("ethernet") {
                if let Some((n, sub)) = rest.split_once('.') {
                    let ovf_key = match sub {
                        "wakeonpcktrcv" => Some("wakeOnLanEnabled"),
                        "allowguestconnectioncontrol" => Some("connectable.allowGuestControl"),
                        _ => None,
                    };
                    if let (Some(ovf_key), Ok(n), Some(val)) =
                        (ovf_key, n.parse::<u32>(), crate::vmx::parse_bool(v))
                    {
                        if let Some(item) = nic_items.get(&n).and_then(|i| hw.items.get_mut(*i)) {
                            item.config.push((ovf_key.to_string(), val.to_string()));
                            continue;
                        }
                    }
                }
            }
            hw.extra_config.push((k.clone(), v.clone()));
        }
        match (&opts.nvram_href, &self.nvram_file) {
            (Some(href), _) => hw.extra_config.push(("nvram".into(), href.clone())),
            (None, Some(file)) => warnings.push(Warning::new(
                "nvram",
                format!("NVRAM file {file:?} is not shipped: the VM starts with fresh firmware settings"),
            )),
            (None, None) => {}
        }

        let id = opts
            .system_id
            .clone()
            .or_else(|| self.name.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "vm".to_string());
        b.system = SystemSpec {
            name: self.name.clone().unwrap_or_else(|| id.clone()),
            id,
            info: None,
            os: Some(os),
            hardware: hw,
            products: Vec::new(),
            annotation: self.annotation.clone(),
            eulas: Vec::new(),
        };
        Ok((b, warnings))
    }

    /// [`Machine::to_envelope_builder`] and build.
    ///
    /// # Errors
    /// As [`Machine::to_envelope_builder`] and [`EnvelopeBuilder::build`].
    pub fn to_envelope(&self, opts: &ExportOptions) -> Result<(Envelope, Vec<Warning>)> {
        let (b, w) = self.to_envelope_builder(opts)?;
        Ok((b.build()?, w))
    }
}
