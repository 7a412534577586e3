//! The neutral VM model between OVF and VMX.
//!
//! Import is `Envelope → Machine → Vmx`, export is `Vmx → Machine → Envelope` (docs/ARCHITECTURE.md). Each
//! format module maps its own format to and from [`Machine`] ([`crate::vmx::machine`],
//! [`crate::ovf::machine`]) and never sees the other format. What a source holds that the
//! model cannot represent lands in [`Machine::unmapped`] with a reason: a warning for the user,
//! never a silent loss.
//!
//! Device addresses are `(bus family, bus number, unit)`, as both formats spell them: `.vmx`
//! `scsi0:1`, OVF `Parent` = the controller item with `Address` 0 and `AddressOnParent` 1.
//!
//! How the operations use it:
//!
//! * import: [`crate::ovf::Envelope::parse`] → [`Machine::from_envelope`] (one virtual system,
//!   one deployment option) → set each [`Disk::file_name`] to the name of the disk written →
//!   [`Machine::validate`] → [`Machine::to_vmx`] → [`crate::vmx::Vmx::write_file`]; report the
//!   returned warnings, [`Machine::unmapped`] and
//!   [`crate::vmx::machine::shadowed_extra_config`].
//! * export: [`crate::vmx::Vmx::read_file`] → [`Machine::from_vmx`] → resolve each
//!   [`Disk::file_name`] through [`crate::gate::resolve_in_dir`], set [`Disk::capacity_bytes`]
//!   and the package name in [`Disk::file_name`] → [`Machine::to_envelope`] → after the disks
//!   are written, [`crate::ovf::Envelope::set_file_size`] with
//!   [`crate::ovf::machine::disk_file_id`].
//!
//! # Security
//! Names in a machine read from a file (disk file names, ISO paths, NVRAM name, extra
//! configuration) are untrusted: a `.vmx` may name `/vmfs/volumes/...` or `../../x`. Open them
//! only through [`crate::gate`].

pub mod controller;
pub mod guestos;
pub mod vmware;

use serde::Serialize;

pub use controller::{AdapterType, ControllerKind, UnitLimits};
pub use guestos::GuestOs;
pub use vmware::{
    NicSetting, PowerOp, SettingKind, SettingValue, ToolsUpgrade, VmwareSetting, VmwareSettings,
};

/// Highest number of storage controllers of one family (bus numbers `0..N`): 4 SCSI, 4 SATA,
/// 4 NVMe, 2 IDE channels (vSphere configuration maximums; libvirt vmx.c).
pub fn max_buses(family: BusFamily) -> u32 {
    match family {
        BusFamily::Ide => 2,
        BusFamily::Scsi | BusFamily::Sata | BusFamily::Nvme => 4,
    }
}

/// Most network adapters in one VM (vSphere maximum: `ethernet0`..`ethernet9`).
pub const MAX_NICS: u32 = 10;

/// A non-fatal finding: something was approximated, defaulted or left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// What it is about (a key, an item, a device address), for context.
    pub subject: String,
    /// What happened, in words.
    pub message: String,
}

impl Warning {
    /// A new warning.
    pub fn new(subject: impl Into<String>, message: impl Into<String>) -> Self {
        Warning {
            subject: subject.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.subject, self.message)
    }
}

/// Something in the source that the model cannot represent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmapped {
    /// The source item (`.vmx` key or device, OVF item description).
    pub item: String,
    /// Why it was not mapped.
    pub reason: String,
}

/// Firmware type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Firmware {
    /// Legacy BIOS (the default when nothing says otherwise).
    #[default]
    Bios,
    /// UEFI.
    Efi,
}

/// The family of a storage bus (what the `.vmx` prefix says: `ide`, `scsi`, `sata`, `nvme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BusFamily {
    /// IDE (two channels, two units each).
    Ide,
    /// Any SCSI HBA.
    Scsi,
    /// SATA AHCI.
    Sata,
    /// NVMe.
    Nvme,
}

impl BusFamily {
    /// Every family, in a stable order.
    pub const ALL: [BusFamily; 4] = [
        BusFamily::Ide,
        BusFamily::Scsi,
        BusFamily::Sata,
        BusFamily::Nvme,
    ];

    /// The family of a controller kind.
    pub fn of(kind: ControllerKind) -> BusFamily {
        match kind {
            ControllerKind::Ide => BusFamily::Ide,
            ControllerKind::Sata => BusFamily::Sata,
            ControllerKind::Nvme => BusFamily::Nvme,
            ControllerKind::LsiLogic
            | ControllerKind::LsiLogicSas
            | ControllerKind::BusLogic
            | ControllerKind::Pvscsi => BusFamily::Scsi,
        }
    }

    /// Lower-case name, as the `.vmx` prefix (`scsi`).
    pub fn name(self) -> &'static str {
        match self {
            BusFamily::Ide => "ide",
            BusFamily::Scsi => "scsi",
            BusFamily::Sata => "sata",
            BusFamily::Nvme => "nvme",
        }
    }
}

/// A storage controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Controller {
    /// Kind (and so subtype: `lsilogic`, `pvscsi`, ...).
    pub kind: ControllerKind,
    /// Bus number within its family (`scsi1` → 1; OVF `rasd:Address`).
    pub bus: u32,
}

impl Controller {
    /// The family of this controller.
    pub fn family(&self) -> BusFamily {
        BusFamily::of(self.kind)
    }
}

/// Where a disk or CD-ROM is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Attachment {
    /// Bus family.
    pub family: BusFamily,
    /// Bus number within the family.
    pub bus: u32,
    /// Unit on the bus (OVF `AddressOnParent`).
    pub unit: u32,
}

impl std::fmt::Display for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}:{}", self.family.name(), self.bus, self.unit)
    }
}

/// A virtual hard disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disk {
    /// Where it is attached.
    pub attachment: Attachment,
    /// The backing file (`.vmx` `fileName`, relative to the VM folder; OVF: the referenced
    /// file's `href`). Empty for a blank disk of [`Disk::capacity_bytes`] to create (an OVF
    /// `Disk` without `ovf:fileRef`).
    pub file_name: String,
    /// Virtual capacity in bytes, when the source says (OVF `DiskSection`).
    pub capacity_bytes: Option<u64>,
    /// The OVF disk id (`ovf:diskId`), when the source is OVF.
    pub disk_id: Option<String>,
}

/// What a CD/DVD drive is connected to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum CdBacking {
    /// An ISO image file (`deviceType = "cdrom-image"`; OVF `HostResource ovf:/file/..`).
    Image {
        /// The image file name or path.
        file: String,
    },
    /// A host drive (`atapi-cdrom` / `cdrom-raw`), optionally naming the device.
    HostDevice {
        /// Host device path (`/dev/hda`, `auto detect`), if given.
        device: Option<String>,
    },
    /// The client's drive (remote passthrough; `clientDevice = "TRUE"`), or nothing.
    Client,
}

/// A CD/DVD drive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CdRom {
    /// Where it is attached.
    pub attachment: Attachment,
    /// What it is connected to.
    pub backing: CdBacking,
    /// Connected at power-on (`startConnected`; OVF `AutomaticAllocation`).
    pub start_connected: bool,
}

/// What a floppy drive is connected to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum FloppyBacking {
    /// An image file (`fileType = "file"`).
    Image {
        /// The image file name or path.
        file: String,
    },
    /// A host drive (`fileType = "device"`).
    HostDevice {
        /// Host device path, if given.
        device: Option<String>,
    },
    /// The client's drive or nothing (`clientDevice = "TRUE"`).
    Client,
}

/// A floppy drive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Floppy {
    /// `floppyN` index (0 or 1).
    pub index: u32,
    /// What it is connected to.
    pub backing: FloppyBacking,
    /// Connected at power-on.
    pub start_connected: bool,
}

/// Network adapter type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum NicAdapter {
    /// VMXNET 3 (`vmxnet3`; OVF `VmxNet3`).
    VmxNet3,
    /// Intel E1000 (`e1000`; OVF `E1000`).
    E1000,
    /// Intel E1000e (`e1000e`; OVF `E1000e`).
    E1000e,
    /// AMD PCnet32 (`vlance`; OVF `PCNet32`).
    Vlance,
    /// VMXNET 2 enhanced (`vmxnet` + `features = "15"`; OVF `VmxNet2`).
    VmxNet2,
    /// Flexible / VMXNET (`vmxnet`; OVF `VmxNet`).
    Flexible,
}

/// How a NIC gets its MAC address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum MacAddress {
    /// Generated by the host (`addressType = "generated"` or `"vpx"`); not carried.
    Generated,
    /// A fixed address (`addressType = "static"`, `address`; OVF `rasd:Address`).
    Static {
        /// `xx:xx:xx:xx:xx:xx`.
        address: String,
    },
}

/// A network adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nic {
    /// `ethernetN` index.
    pub index: u32,
    /// Adapter type; `None` leaves the choice to the host (its default for the guest OS).
    pub adapter: Option<NicAdapter>,
    /// Network name (`networkName`; OVF `rasd:Connection`).
    pub network: Option<String>,
    /// Hosted-product connection type (`bridged`, `nat`, `hostonly`, `custom`); no OVF field.
    pub connection_type: Option<String>,
    /// Connected at power-on (`startConnected`; OVF `AutomaticAllocation`).
    pub start_connected: bool,
    /// MAC address policy.
    pub mac: MacAddress,
}

/// The connection types of hosted products (Workstation, Fusion, Player) that name a network
/// of their own (`ethernetN.connectionType`); `custom` names a vmnet and is not one of them.
pub const HOSTED_CONNECTION_TYPES: &[&str] = &["nat", "bridged", "hostonly"];

impl Nic {
    /// The network this adapter is on, as an OVF network name: `networkName` (the ESXi port
    /// group), else the hosted connection type (`nat`, `bridged`, `hostonly`), so a Workstation
    /// NAT adapter exports as network "nat" rather than as no network.
    pub fn network_name(&self) -> Option<&str> {
        self.network.as_deref().or_else(|| {
            self.connection_type
                .as_deref()
                .filter(|c| HOSTED_CONNECTION_TYPES.contains(&c.to_ascii_lowercase().as_str()))
        })
    }

    /// Connects the adapter to network `name`: a hosted connection type (`nat`, `bridged`,
    /// `hostonly`, any case) becomes `connectionType` without `networkName`, as Workstation
    /// writes it; any other name becomes `networkName` alone, the ESXi form (a port group).
    pub fn connect(&mut self, name: &str) {
        let lower = name.trim().to_ascii_lowercase();
        if HOSTED_CONNECTION_TYPES.contains(&lower.as_str()) {
            self.network = None;
            self.connection_type = Some(lower);
        } else {
            self.network = Some(name.to_string());
            self.connection_type = None;
        }
    }
}

/// USB controllers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usb {
    /// The USB 1.1/2.0 controller (`usb.present`; OVF `vmware.usb.ehci`).
    pub usb2: bool,
    /// EHCI enabled on it (`ehci.present`; OVF `vmw:Config ehciEnabled`).
    pub ehci: bool,
    /// The USB 3 controller (`usb_xhci.present`; OVF `vmware.usb.xhci`).
    pub xhci: bool,
}

/// Sound card model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SoundKind {
    /// HD Audio (`hdaudio`; OVF `vmware.soundcard.hdaudio`).
    HdAudio,
    /// Ensoniq AudioPCI 1371 (`es1371`; OVF `vmware.soundcard.ensoniq1371`).
    Es1371,
    /// Sound Blaster 16 (`sb16`; OVF `vmware.soundcard.sb16`).
    Sb16,
}

/// A sound card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sound {
    /// Model; `None` leaves it to the host.
    pub kind: Option<SoundKind>,
    /// Connected at power-on.
    pub start_connected: bool,
}

/// A serial or parallel port (kept minimal: its backing as the `.vmx` names it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Port {
    /// `serialN` / `parallelN` index.
    pub index: u32,
    /// Backing type: `file`, `device`, `pipe`, `network`, `thinprint` (`fileType`).
    pub file_type: Option<String>,
    /// Backing path (`fileName`).
    pub file_name: Option<String>,
    /// Connected at power-on.
    pub start_connected: bool,
}

/// The neutral description of one virtual machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Machine {
    /// Display name.
    pub name: Option<String>,
    /// Free-text annotation (decoded, may contain newlines).
    pub annotation: Option<String>,
    /// Virtual hardware version (`virtualHW.version`; OVF `vmx-NN`).
    pub hardware_version: Option<u32>,
    /// Guest operating system.
    pub guest_os: GuestOs,
    /// Virtual CPUs (`numvcpus`; defaults to 1).
    pub cpus: u32,
    /// Cores per socket, when set.
    pub cores_per_socket: Option<u32>,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// Firmware.
    pub firmware: Firmware,
    /// UEFI secure boot.
    pub secure_boot: bool,
    /// The NVRAM file of the source VM, when named (`nvram`).
    pub nvram_file: Option<String>,
    /// Storage controllers.
    pub controllers: Vec<Controller>,
    /// Hard disks.
    pub disks: Vec<Disk>,
    /// CD/DVD drives.
    pub cdroms: Vec<CdRom>,
    /// Floppy drives.
    pub floppies: Vec<Floppy>,
    /// Network adapters.
    pub nics: Vec<Nic>,
    /// USB controllers.
    pub usb: Usb,
    /// VMCI device.
    pub vmci: bool,
    /// Sound card.
    pub sound: Option<Sound>,
    /// Video memory in bytes (`svga.vramSize`; OVF `videoRamSizeInKB` × 1024).
    pub video_ram_bytes: Option<u64>,
    /// Serial ports.
    pub serial_ports: Vec<Port>,
    /// Parallel ports.
    pub parallel_ports: Vec<Port>,
    /// VMware settings with a typed meaning (tools, power operations, hot add, video, per
    /// adapter options): OVF `vmw:Config`, `.vmx` keys.
    pub vmware: VmwareSettings,
    /// Extra configuration in `.vmx` key syntax (OVF `vmw:ExtraConfig`), in source order:
    /// everything VMware-specific without a typed meaning.
    pub extra_config: Vec<(String, String)>,
    /// What the source held that the model cannot represent (warnings).
    pub unmapped: Vec<Unmapped>,
}

pub use crate::finding::Severity;

/// One finding of [`Machine::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Error or warning.
    pub severity: Severity,
    /// What it is about.
    pub subject: String,
    /// What is wrong ("expected X, found Y").
    pub message: String,
}

/// Exact keys (lower case) that are host-specific runtime state, dropped on read.
const RUNTIME_KEYS: &[&str] = &[
    ".encoding",
    "config.version",
    "uuid.bios",
    "uuid.location",
    "uuid.action",
    "vc.uuid",
    "extendedconfigfile",
    "cleanshutdown",
    "softpoweroff",
    "replay.supported",
    "replay.filename",
    "evccompatibilitymode",
    "vmotion.checkpointfbsize",
    "vmotion.checkpointsvgaprimarysize",
    "vmci0.id",
    "checkpoint.vmstate",
    "tools.remindinstall",
    "migrate.hostlog",
    "migrate.hostlogstate",
    "migrate.migrationid",
    "monitor.phys_bits_used",
    "numa.autosize.cookie",
    "numa.autosize.vcpu.maxpervirtualnode",
    "svga.guestbackedprimaryaware",
    "toolsinstallmanager.updatecounter",
    "toolsinstallmanager.lastinstallerror",
    "vmxstats.filename",
];

/// Key prefixes (lower case) of runtime state.
const RUNTIME_PREFIXES: &[&str] = &[
    "hostcpuid.",
    "guestcpuid.",
    "usercpuid.",
    "pcibridge",
    "usb:",
    "usb_xhci:",
    "ehci:",
    "vmware.tools.",
    "sched.swap.",
];

/// Key suffixes (lower case) of per-device runtime state.
const RUNTIME_SUFFIXES: &[&str] = &[".pcislotnumber", ".redo", ".saswwid", ".pvnid"];

/// Whether an extra-configuration key (`.vmx` syntax, any case) is host-specific runtime state
/// that VMware regenerates (UUIDs, PCI bridges and slots, CPUID masks, generated MAC offsets,
/// swap paths, migration and tools bookkeeping). The mappings drop these on purpose: copying
/// them to another host is wrong, and losing them loses nothing.
pub fn is_runtime_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    let lower = lower.as_str();
    RUNTIME_KEYS.contains(&lower)
        || RUNTIME_PREFIXES.iter().any(|p| lower.starts_with(p))
        || RUNTIME_SUFFIXES.iter().any(|s| lower.ends_with(s))
}

impl Machine {
    /// An empty machine: 1 CPU, no memory, BIOS, no devices.
    pub fn new() -> Self {
        Machine {
            cpus: 1,
            ..Machine::default()
        }
    }

    /// The controller of `family` with bus number `bus`, if any.
    pub fn controller(&self, family: BusFamily, bus: u32) -> Option<&Controller> {
        self.controllers
            .iter()
            .find(|c| c.family() == family && c.bus == bus)
    }

    /// Every occupied attachment with a description, in model order.
    pub fn attachments(&self) -> Vec<(Attachment, String)> {
        let mut out = Vec::new();
        for d in &self.disks {
            out.push((d.attachment, format!("disk {}", d.file_name)));
        }
        for c in &self.cdroms {
            out.push((c.attachment, "CD-ROM".to_string()));
        }
        out
    }

    /// Checks the model: controller unit limits (the one table in [`controller`]), bus numbers,
    /// duplicate addresses and indexes, missing controllers, CPU/memory sanity, MAC syntax.
    pub fn validate(&self) -> Vec<Issue> {
        let mut issues = Vec::new();
        let mut err = |subject: String, message: String| {
            issues.push(Issue {
                severity: Severity::Error,
                subject,
                message,
            })
        };
        if self.cpus == 0 {
            err("numvcpus".into(), "expected at least 1 CPU, found 0".into());
        }
        if let Some(cps) = self.cores_per_socket {
            if cps == 0 || self.cpus % cps != 0 {
                err(
                    "cpuid.coresPerSocket".into(),
                    format!(
                        "expected a divisor of the CPU count {}, found {cps}",
                        self.cpus
                    ),
                );
            }
        }
        if self.memory_mib == 0 {
            err("memsize".into(), "expected memory above 0 MiB".into());
        }
        if self.secure_boot && self.firmware != Firmware::Efi {
            err(
                "uefi.secureBoot.enabled".into(),
                "secure boot needs EFI firmware, found BIOS".into(),
            );
        }
        let mut seen_ctl = std::collections::HashSet::new();
        for c in &self.controllers {
            let name = format!("{}{}", c.family().name(), c.bus);
            if c.bus >= max_buses(c.family()) {
                err(
                    name.clone(),
                    format!(
                        "expected bus number below {}, found {}",
                        max_buses(c.family()),
                        c.bus
                    ),
                );
            }
            if !seen_ctl.insert((c.family(), c.bus)) {
                err(name, "controller defined twice".into());
            }
        }
        let mut seen_at = std::collections::HashSet::new();
        for (at, what) in self.attachments() {
            let subject = format!("{at} ({what})");
            match self.controller(at.family, at.bus) {
                None => err(
                    subject.clone(),
                    format!("no {}{} controller", at.family.name(), at.bus),
                ),
                Some(c) => {
                    if !c.kind.unit_is_usable(at.unit) {
                        let l = c.kind.limits();
                        let extra = match l.reserved_unit {
                            Some(r) => format!(" except {r}"),
                            None => String::new(),
                        };
                        err(
                            subject.clone(),
                            format!(
                                "expected unit 0..{}{extra} on {:?}, found {}",
                                l.unit_count.saturating_sub(1),
                                c.kind,
                                at.unit
                            ),
                        );
                    }
                }
            }
            if !seen_at.insert(at) {
                err(subject, "two devices at the same address".into());
            }
        }
        for d in &self.disks {
            if d.file_name.is_empty() && d.capacity_bytes.is_none() {
                err(
                    format!("{}", d.attachment),
                    "disk without backing file or capacity".into(),
                );
            }
        }
        let mut seen_nic = std::collections::HashSet::new();
        for n in &self.nics {
            let subject = format!("ethernet{}", n.index);
            if n.index >= MAX_NICS {
                err(
                    subject.clone(),
                    format!("expected NIC index below {MAX_NICS}, found {}", n.index),
                );
            }
            if !seen_nic.insert(n.index) {
                err(subject.clone(), "NIC defined twice".into());
            }
            if let MacAddress::Static { address } = &n.mac {
                if !is_mac(address) {
                    err(
                        subject,
                        format!("expected a MAC address xx:xx:xx:xx:xx:xx, found {address:?}"),
                    );
                }
            }
        }
        let mut seen_fl = std::collections::HashSet::new();
        for f in &self.floppies {
            if f.index >= 2 || !seen_fl.insert(f.index) {
                err(
                    format!("floppy{}", f.index),
                    "expected floppy 0 or 1, once each".into(),
                );
            }
        }
        for (name, ports, max) in [
            ("serial", &self.serial_ports, 32u32),
            ("parallel", &self.parallel_ports, 3u32),
        ] {
            let mut seen = std::collections::HashSet::new();
            for p in ports {
                if p.index >= max || !seen.insert(p.index) {
                    err(
                        format!("{name}{}", p.index),
                        format!("expected {name} index below {max}, once each"),
                    );
                }
            }
        }
        let mut warn = |subject: String, message: String| {
            issues.push(Issue {
                severity: Severity::Warning,
                subject,
                message,
            })
        };
        if self.memory_mib % 4 != 0 {
            warn(
                "memsize".into(),
                format!(
                    "expected a multiple of 4 MiB, found {} (VMware rounds it)",
                    self.memory_mib
                ),
            );
        }
        let mut seen_extra = std::collections::HashSet::new();
        for (k, _) in &self.extra_config {
            if !seen_extra.insert(k.to_ascii_lowercase()) {
                warn(
                    k.clone(),
                    "extra config key given twice: the last wins".into(),
                );
            }
        }
        if self.guest_os.guest_id.is_none() {
            warn(
                "guestOS".into(),
                format!(
                    "unknown guest OS {:?}: OVF gets \"other\"",
                    self.guest_os.vmx_key.as_deref().unwrap_or("")
                ),
            );
        }
        for u in &self.unmapped {
            warn(u.item.clone(), format!("not mapped: {}", u.reason));
        }
        issues
    }
}

/// Whether `s` is a MAC address `xx:xx:xx:xx:xx:xx` (hex, any case; `-` also accepted).
pub fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Machine {
        Machine {
            cpus: 2,
            memory_mib: 1024,
            guest_os: GuestOs::from_vmx_key("other4xlinux-64"),
            controllers: vec![Controller {
                kind: ControllerKind::LsiLogic,
                bus: 0,
            }],
            disks: vec![Disk {
                attachment: Attachment {
                    family: BusFamily::Scsi,
                    bus: 0,
                    unit: 0,
                },
                file_name: "a.vmdk".into(),
                capacity_bytes: None,
                disk_id: None,
            }],
            ..Machine::new()
        }
    }

    fn errors(m: &Machine) -> Vec<String> {
        m.validate()
            .into_iter()
            .filter(|i| i.severity == Severity::Error)
            .map(|i| format!("{}: {}", i.subject, i.message))
            .collect()
    }

    #[test]
    fn valid_machine_has_no_errors() {
        assert!(errors(&base()).is_empty(), "{:?}", errors(&base()));
    }

    #[test]
    fn scsi_unit_seven_is_rejected() {
        let mut m = base();
        m.disks[0].attachment.unit = 7;
        let e = errors(&m);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("except 7"), "{e:?}");
    }

    #[test]
    fn duplicate_address_and_missing_controller() {
        let mut m = base();
        let d = m.disks[0].clone();
        m.disks.push(d);
        m.cdroms.push(CdRom {
            attachment: Attachment {
                family: BusFamily::Ide,
                bus: 1,
                unit: 0,
            },
            backing: CdBacking::Client,
            start_connected: false,
        });
        let e = errors(&m);
        assert!(e.iter().any(|s| s.contains("same address")), "{e:?}");
        assert!(e.iter().any(|s| s.contains("no ide1 controller")), "{e:?}");
    }

    #[test]
    fn cpu_memory_and_mac_checks() {
        let mut m = base();
        m.cores_per_socket = Some(3);
        m.nics.push(Nic {
            index: 0,
            adapter: Some(NicAdapter::VmxNet3),
            network: None,
            connection_type: None,
            start_connected: true,
            mac: MacAddress::Static {
                address: "00:50:56:zz:00:01".into(),
            },
        });
        m.secure_boot = true;
        let e = errors(&m);
        assert_eq!(e.len(), 3, "{e:?}");
    }

    #[test]
    fn hosted_connection_types_are_networks() {
        let mut n = Nic {
            index: 0,
            adapter: None,
            network: None,
            connection_type: Some("nat".into()),
            start_connected: true,
            mac: MacAddress::Generated,
        };
        assert_eq!(n.network_name(), Some("nat"));
        n.connect("VM Network");
        assert_eq!(
            (n.network.as_deref(), n.connection_type.as_deref()),
            (Some("VM Network"), None)
        );
        n.connect("HostOnly");
        assert_eq!(
            (n.network.as_deref(), n.connection_type.as_deref()),
            (None, Some("hostonly"))
        );
        n.connection_type = Some("custom".into());
        assert_eq!(n.network_name(), None);
    }
}
