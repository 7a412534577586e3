//! Import: one virtual system of a descriptor → [`Machine`], one small function per device
//! family over [`ResourceType`].

use std::collections::{HashMap, HashSet};

use super::{
    bool_text, controller_kind, ignorable, nic_adapter, sound_kind, vmx_version, vsphere_value,
    IMPLICIT_SUBTYPES, NIC_CONFIG, VSPHERE_CONFIG,
};
use crate::error::{Error, Result};
use crate::ovf::model::{Disk as OvfDisk, FileRef};
use crate::ovf::{
    parse_allocation_units, Envelope, Item, ResourceType, VirtualHardware, VirtualSystem, VmwConfig,
};
use crate::vm::{
    is_runtime_key, max_buses, Attachment, BusFamily, CdBacking, CdRom, Controller, ControllerKind,
    Disk, Firmware, Floppy, FloppyBacking, GuestOs, MacAddress, Machine, Nic, Sound, Unmapped,
    Warning, MAX_NICS,
};

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
        let vs = pick_system(&systems, system)?;
        let config = pick_deployment(env, deployment)?;
        let hw = pick_hardware(vs).ok_or_else(|| {
            Error::invalid_ovf(format!(
                "VirtualSystem {:?} has no VirtualHardwareSection",
                vs.id
            ))
        })?;

        let mut cx = Ctx::default();
        cx.identity(vs, hw);
        cx.operating_system(vs);
        // Range items (`ovf:bound="min"`/`"max"`) describe limits; the `normal` (or unbounded)
        // item is the value (DSP0243 §9.8).
        let items: Vec<&Item> = hw.effective_items(config.as_deref());
        if let Some((id, a, b)) = crate::ovf::model::disk_attached_twice(&items, |i| i) {
            return Err(Error::invalid_ovf(
                crate::ovf::model::disk_attached_twice_message(&id, a, b),
            ));
        }
        // Controllers first, so that children find their parents whatever the item order.
        for item in &items {
            if let Some(rt) = item.resource().filter(|t| t.is_storage_controller()) {
                cx.controller(item, rt);
            }
        }
        let refs = Refs::new(env);
        for item in &items {
            cx.device(item, &refs);
        }
        cx.section_config(&hw.config);
        cx.vbox_firmware(vs, &hw.config);
        cx.extra_config(&hw.extra_config);
        Ok((cx.m, cx.warnings))
    }
}

/// The firmware a VirtualBox `Firmware/@type` names (`None`: not a VirtualBox type).
pub(crate) fn vbox_firmware_type(t: &str) -> Option<Firmware> {
    let t = t.trim().to_ascii_uppercase();
    if t == "BIOS" {
        Some(Firmware::Bios)
    } else if t.starts_with("EFI") {
        Some(Firmware::Efi)
    } else {
        None
    }
}

/// The `VirtualSystem` named `system`, or the only one.
fn pick_system<'a>(
    systems: &'a [VirtualSystem],
    system: Option<&str>,
) -> Result<&'a VirtualSystem> {
    match system {
        Some(id) => systems
            .iter()
            .find(|v| v.id == id)
            .ok_or_else(|| Error::invalid_ovf(format!("no VirtualSystem with ovf:id {id:?}"))),
        None => match systems {
            [] => Err(Error::invalid_ovf("the descriptor has no VirtualSystem")),
            [one] => Ok(one),
            many => {
                let ids: Vec<&str> = many.iter().map(|v| v.id.as_str()).collect();
                Err(Error::usage(format!(
                    "the descriptor has {} virtual systems ({}): choose one",
                    many.len(),
                    ids.join(", ")
                )))
            }
        },
    }
}

/// The deployment option to read: `deployment` when the descriptor has it, else its default.
fn pick_deployment(env: &Envelope, deployment: Option<&str>) -> Result<Option<String>> {
    let Some(d) = deployment else {
        return Ok(env.default_deployment_option());
    };
    let options = env.deployment_options();
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
    Ok(Some(d.to_string()))
}

/// Picks the hardware section: the first whose `VirtualSystemType` names a `vmx-NN` family,
/// else the first.
fn pick_hardware(vs: &VirtualSystem) -> Option<&VirtualHardware> {
    vs.hardware
        .iter()
        .find(|h| {
            h.system
                .as_ref()
                .is_some_and(|s| s.system_types.iter().any(|t| vmx_version(t).is_some()))
        })
        .or_else(|| vs.hardware.first())
}

/// The disks and files of the descriptor by id, indexed once: descriptors may hold many
/// (linear, not quadratic). The first of duplicate ids counts, as in `Envelope::disk` /
/// `Envelope::file`.
struct Refs<'e> {
    env: &'e Envelope,
    disks: HashMap<String, OvfDisk>,
    files: HashMap<String, FileRef>,
}

impl<'e> Refs<'e> {
    fn new(env: &'e Envelope) -> Self {
        let mut disks = HashMap::new();
        for d in env.disks() {
            disks.entry(d.disk_id.clone()).or_insert(d);
        }
        let mut files = HashMap::new();
        for f in env.references() {
            files.entry(f.id.clone()).or_insert(f);
        }
        Refs { env, disks, files }
    }

    /// The href of the file an item's `ovf:/file/ID` host resource names, if it exists.
    fn file_href(&self, item: &Item) -> Option<String> {
        host_ref(item, "file")
            .and_then(|f| self.files.get(f))
            .map(|f| f.href.clone())
    }
}

/// The ResourceSubType in lower case, trimmed (empty when absent).
fn sub_type(item: &Item) -> String {
    item.resource_sub_type
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// An item in words, for warnings: name, type, subtype and InstanceID.
fn describe(item: &Item) -> String {
    let name = item
        .display_name()
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
pub(crate) fn host_ref<'a>(item: &'a Item, what: &str) -> Option<&'a str> {
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

/// The machine being read, with what the reading needs to remember.
struct Ctx {
    m: Machine,
    warnings: Vec<Warning>,
    /// InstanceID → controller (family, bus).
    by_instance: HashMap<String, (BusFamily, u32)>,
    used: HashSet<Attachment>,
}

impl Default for Ctx {
    fn default() -> Self {
        Ctx {
            m: Machine::new(),
            warnings: Vec::new(),
            by_instance: HashMap::new(),
            used: HashSet::new(),
        }
    }
}

impl Ctx {
    fn warn(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning::new(subject, message));
    }

    fn unmapped(&mut self, item: impl Into<String>, reason: impl Into<String>) {
        self.m.unmapped.push(Unmapped {
            item: item.into(),
            reason: reason.into(),
        });
    }

    /// A `vmw:Config` entry of `item` that the model does not carry (`what`: why not).
    fn config_not_carried(&mut self, item: &Item, c: &VmwConfig, what: &str) {
        self.unmapped(
            format!("{} vmw:Config {}={}", describe(item), c.key, c.value),
            what,
        );
    }

    // -----------------------------------------------------------------------------------------
    // The system: name, annotation, hardware version, guest OS.

    fn identity(&mut self, vs: &VirtualSystem, hw: &VirtualHardware) {
        self.m.name = vs
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
        self.m.annotation = vs
            .annotation
            .as_ref()
            .map(|a| a.text.clone())
            .filter(|a| !a.is_empty());
        if let Some(sys) = &hw.system {
            self.m.hardware_version = sys.system_types.iter().find_map(|t| vmx_version(t));
            if self.m.hardware_version.is_none() && !sys.system_types.is_empty() {
                self.warn(
                    "VirtualSystemType",
                    format!(
                        "not a VMware hardware family: {}; the host default is used",
                        sys.system_types.join(" ")
                    ),
                );
            }
        }
    }

    fn operating_system(&mut self, vs: &VirtualSystem) {
        let Some(os) = &vs.operating_system else {
            self.warn(
                "OperatingSystemSection",
                "missing: the guest OS is left to the host",
            );
            return;
        };
        let cim = os.id.trim().parse::<u16>().ok();
        if cim.is_none() {
            self.warn(
                "OperatingSystemSection",
                format!("expected a CIM OSType number, found {:?}", os.id),
            );
        }
        self.m.guest_os = GuestOs::from_ovf(
            cim.unwrap_or(1),
            os.version.as_deref(),
            os.vmw_os_type.as_deref(),
        );
        if self.m.guest_os.vmx_key.is_none() {
            self.warn(
                "OperatingSystemSection",
                format!(
                    "no VMware guest OS known for CIM id {} {:?}: using \"other\"",
                    os.id,
                    os.vmw_os_type.as_deref().unwrap_or("")
                ),
            );
        }
    }

    // -----------------------------------------------------------------------------------------
    // Items.

    /// One item that is not a storage controller (those are read first, by
    /// [`Ctx::controller`]).
    fn device(&mut self, item: &Item, refs: &Refs<'_>) {
        let rt = item.resource();
        // Item-level vmw:Config of kinds whose options the model does not carry (NICs, USB and
        // video handle theirs).
        if !matches!(
            rt,
            Some(
                ResourceType::EthernetAdapter
                    | ResourceType::UsbController
                    | ResourceType::GraphicsController
            )
        ) {
            for c in &item.config {
                if !ignorable(c) {
                    self.config_not_carried(item, c, "device option not carried");
                }
            }
        }
        let sub = sub_type(item);
        match rt {
            Some(t) if t.is_storage_controller() => {}
            Some(ResourceType::Processor) => self.processor(item),
            Some(ResourceType::Memory) => self.memory(item),
            Some(ResourceType::DiskDrive) => self.disk(item, refs),
            Some(ResourceType::CdDrive | ResourceType::DvdDrive) => self.cdrom(item, &sub, refs),
            Some(ResourceType::FloppyDrive) => self.floppy(item, &sub, refs),
            Some(ResourceType::EthernetAdapter) => self.nic(item, &sub),
            Some(ResourceType::UsbController) => self.usb(item, &sub),
            Some(ResourceType::GraphicsController) => self.video(item),
            Some(ResourceType::Other | ResourceType::SoundCard) if sub == "vmware.vmci" => {
                self.m.vmci = true
            }
            Some(ResourceType::Other | ResourceType::SoundCard) if sound_kind(&sub).is_some() => {
                self.sound(item, &sub)
            }
            _ if IMPLICIT_SUBTYPES.contains(&sub.as_str()) => {}
            Some(ResourceType::SerialPort) => {
                self.unmapped(describe(item), "serial port backings are host-specific")
            }
            Some(ResourceType::ParallelPort) => {
                self.unmapped(describe(item), "parallel port backings are host-specific")
            }
            _ => self.unmapped(describe(item), "device type not supported"),
        }
    }

    // Processor and memory.

    fn processor(&mut self, item: &Item) {
        match item
            .virtual_quantity
            .as_deref()
            .map(|v| v.trim().parse::<u32>())
        {
            Some(Ok(n)) if n > 0 => {
                self.m.cpus = n;
                self.m.cores_per_socket = item
                    .cores_per_socket
                    .as_deref()
                    .and_then(|c| c.parse().ok());
            }
            _ => self.warn(
                describe(item),
                "expected a CPU count in VirtualQuantity: using 1",
            ),
        }
    }

    fn memory(&mut self, item: &Item) {
        let qty = item
            .virtual_quantity
            .as_deref()
            .map(|v| v.trim().parse::<u64>());
        let unit = match item.allocation_units.as_deref() {
            None => Ok(1 << 20),
            Some(u) => parse_allocation_units(u),
        };
        let (Some(Ok(q)), Ok(u)) = (qty, unit) else {
            self.unmapped(
                describe(item),
                "expected VirtualQuantity and byte AllocationUnits",
            );
            return;
        };
        let Some(bytes) = q.checked_mul(u) else {
            self.unmapped(describe(item), "memory size overflows");
            return;
        };
        if bytes % (1 << 20) != 0 {
            self.warn(
                describe(item),
                "memory is not a whole number of MiB: rounded down",
            );
        }
        self.m.memory_mib = bytes >> 20;
    }

    // Storage controllers and what hangs on them.

    /// An IDE, SCSI or other-storage (SATA, NVMe) controller item.
    fn controller(&mut self, item: &Item, rt: ResourceType) {
        let sub = sub_type(item);
        let scsi = rt == ResourceType::ParallelScsiHba;
        match controller_kind(rt, Some(&sub)) {
            Some(k) => self.add_controller(item, k),
            None if scsi && sub.is_empty() => {
                self.warn(
                    describe(item),
                    "SCSI controller without subtype: assuming lsilogic",
                );
                self.add_controller(item, ControllerKind::LsiLogic);
            }
            None if scsi => self.unmapped(describe(item), "unknown SCSI controller type"),
            None => self.unmapped(describe(item), "storage controller type not supported"),
        }
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
                    self.warn(
                        describe(item),
                        format!("bus number taken or out of range: using {free}"),
                    );
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
                    self.warn(
                        describe(item),
                        format!("unit number taken or not usable: using {u}"),
                    );
                }
                u
            }
        };
        let at = Attachment { family, bus, unit };
        self.used.insert(at);
        Some(at)
    }

    /// A disk drive: its `ovf:/disk/ID` (file, capacity, id) or a bare `ovf:/file/ID`.
    fn disk(&mut self, item: &Item, refs: &Refs<'_>) {
        let Some(at) = self.attach(item) else { return };
        let found = if let Some(id) = host_ref(item, "disk") {
            match refs.disks.get(id) {
                Some(d) => {
                    let file = d
                        .file_ref
                        .as_deref()
                        .and_then(|f| refs.files.get(f))
                        .map(|f| f.href.clone())
                        .unwrap_or_default();
                    let cap = match d.capacity_bytes(refs.env) {
                        Ok(c) => Some(c),
                        Err(e) => {
                            self.warn(format!("disk {id}"), e.message().to_string());
                            None
                        }
                    };
                    Ok((file, cap, Some(id.to_string())))
                }
                None => Err(format!("refers to disk {id:?}, which DiskSection lacks")),
            }
        } else if let Some(fid) = host_ref(item, "file") {
            match refs.files.get(fid) {
                Some(f) => Ok((f.href.clone(), None, None)),
                None => Err(format!("refers to missing file {fid:?}")),
            }
        } else {
            Err("disk without HostResource".to_string())
        };
        match found {
            Ok((file_name, capacity_bytes, disk_id)) => self.m.disks.push(Disk {
                attachment: at,
                file_name,
                capacity_bytes,
                disk_id,
            }),
            Err(reason) => {
                self.used.remove(&at);
                self.unmapped(describe(item), reason);
            }
        }
    }

    // Optical and floppy drives.

    fn cdrom(&mut self, item: &Item, sub: &str, refs: &Refs<'_>) {
        let Some(at) = self.attach(item) else { return };
        let backing = if let Some(file) = refs.file_href(item) {
            CdBacking::Image { file }
        } else if sub.contains("remote") {
            CdBacking::Client
        } else if sub == "vmware.cdrom.atapi" || sub == "vmware.cdrom.passthrough" {
            CdBacking::HostDevice { device: None }
        } else {
            CdBacking::Client
        };
        self.m.cdroms.push(CdRom {
            attachment: at,
            backing,
            start_connected: bool_text(item.automatic_allocation.as_deref()).unwrap_or(false),
        });
    }

    fn floppy(&mut self, item: &Item, sub: &str, refs: &Refs<'_>) {
        let index = self.m.floppies.len() as u32;
        if index >= 2 {
            self.unmapped(describe(item), "only two floppy drives exist");
            return;
        }
        let backing = if let Some(file) = refs.file_href(item) {
            FloppyBacking::Image { file }
        } else if sub == "vmware.floppy.device" {
            FloppyBacking::HostDevice { device: None }
        } else {
            FloppyBacking::Client
        };
        self.m.floppies.push(Floppy {
            index,
            backing,
            start_connected: bool_text(item.automatic_allocation.as_deref()).unwrap_or(false),
        });
    }

    // Network adapters.

    fn nic(&mut self, item: &Item, sub: &str) {
        let index = self.m.nics.len() as u32;
        if index >= MAX_NICS {
            self.unmapped(
                describe(item),
                format!("VMware VMs have at most {MAX_NICS} network adapters"),
            );
            return;
        }
        let adapter = nic_adapter(sub);
        if adapter.is_none() && !sub.is_empty() {
            self.warn(
                describe(item),
                "unknown network adapter type: the host default is used",
            );
        }
        let mac = match item.address.as_deref().map(str::trim) {
            Some(a) if crate::vm::is_mac(a) => MacAddress::Static {
                address: a.replace('-', ":").to_ascii_lowercase(),
            },
            _ => MacAddress::Generated,
        };
        for c in &item.config {
            let setting = NIC_CONFIG
                .iter()
                .find(|(k, _)| *k == c.key)
                .map(|(_, s)| s(index));
            let value = setting.and_then(|s| vsphere_value(s.kind(), &c.value));
            if let (Some(s), Some(v)) = (setting, value) {
                self.m.vmware.set(s, v);
            } else if !ignorable(c) {
                self.config_not_carried(item, c, "network adapter option not carried");
            }
        }
        self.m.nics.push(Nic {
            index,
            adapter,
            network: item
                .connections
                .first()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty()),
            connection_type: None,
            start_connected: bool_text(item.automatic_allocation.as_deref()).unwrap_or(true),
            mac,
        });
    }

    // USB, video, sound.

    fn usb(&mut self, item: &Item, sub: &str) {
        for c in item
            .config
            .iter()
            .filter(|c| c.key != "ehciEnabled" && !ignorable(c))
        {
            self.config_not_carried(item, c, "USB option not carried");
        }
        if sub.contains("xhci") {
            self.m.usb.xhci = true;
        } else {
            self.m.usb.usb2 = true;
            let ehci = item
                .config
                .iter()
                .find(|c| c.key == "ehciEnabled")
                .and_then(|c| bool_text(Some(&c.value)));
            self.m.usb.ehci = ehci.unwrap_or(sub.contains("ehci"));
        }
    }

    fn video(&mut self, item: &Item) {
        for c in &item.config {
            if c.key == "videoRamSizeInKB" {
                match c
                    .value
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .and_then(|k| k.checked_mul(1024))
                {
                    Some(b) => self.m.video_ram_bytes = Some(b),
                    None => self.warn(
                        describe(item),
                        format!("expected videoRamSizeInKB in KiB, found {:?}", c.value),
                    ),
                }
            } else if let Some((s, v)) = VSPHERE_CONFIG
                .iter()
                .find(|(s, k)| s.is_video() && *k == c.key)
                .and_then(|(s, _)| Some((*s, vsphere_value(s.kind(), &c.value)?)))
            {
                self.m.vmware.set(s, v);
            } else if !ignorable(c) {
                self.config_not_carried(item, c, "video option not carried");
            }
        }
    }

    fn sound(&mut self, item: &Item, sub: &str) {
        self.m.sound = Some(Sound {
            kind: sound_kind(sub),
            start_connected: bool_text(item.automatic_allocation.as_deref()).unwrap_or(true),
        });
    }

    // -----------------------------------------------------------------------------------------
    // Section-level VMware configuration.

    /// Section-level `vmw:Config`: firmware, secure boot and the typed machine-wide settings.
    fn section_config(&mut self, config: &[VmwConfig]) {
        for c in config {
            match c.key.as_str() {
                "firmware" => match c.value.trim().to_ascii_lowercase().as_str() {
                    "efi" => self.m.firmware = Firmware::Efi,
                    "bios" => self.m.firmware = Firmware::Bios,
                    other => self.warn(
                        "vmw:Config firmware",
                        format!("expected bios or efi, found {other:?}"),
                    ),
                },
                "bootOptions.efiSecureBootEnabled" => {
                    self.m.secure_boot = bool_text(Some(&c.value)).unwrap_or(false)
                }
                key => match VSPHERE_CONFIG
                    .iter()
                    .find(|(s, k)| !s.is_video() && *k == key)
                    .and_then(|(s, _)| Some((*s, vsphere_value(s.kind(), &c.value)?)))
                {
                    Some((s, v)) => {
                        self.m.vmware.set(s, v);
                    }
                    None if ignorable(c) => {}
                    None => self.unmapped(
                        format!("vmw:Config {}={}", c.key, c.value),
                        "setting not carried",
                    ),
                },
            }
        }
    }

    /// VirtualBox's firmware (`vbox:Machine/Hardware/Firmware/@type`), read only when no
    /// `vmw:Config firmware` says it: VMware's own setting wins. VirtualBox's types are `BIOS`,
    /// `EFI`, `EFI32`, `EFI64` and `EFIDUAL` (its `FirmwareType`); every EFI one is EFI here.
    fn vbox_firmware(&mut self, vs: &VirtualSystem, config: &[VmwConfig]) {
        if config.iter().any(|c| c.key == "firmware") {
            return;
        }
        let Some(t) = vs.vbox_firmware.as_deref() else {
            return;
        };
        match vbox_firmware_type(t) {
            Some(f) => self.m.firmware = f,
            None => self.warn(
                "vbox:Machine Firmware",
                format!("expected BIOS or EFI, found {t:?}: using BIOS"),
            ),
        }
    }

    /// `vmw:ExtraConfig`: the NVRAM file, and everything but runtime state as extra
    /// configuration.
    fn extra_config(&mut self, extra: &[VmwConfig]) {
        for c in extra {
            if c.key.eq_ignore_ascii_case("nvram") {
                self.m.nvram_file = Some(c.value.clone()).filter(|v| !v.is_empty());
            } else if !c.key.is_empty() && !is_runtime_key(&c.key) {
                self.m.extra_config.push((c.key.clone(), c.value.clone()));
            }
        }
    }
}
