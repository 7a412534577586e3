//! `.vmx` ↔ [`Machine`]: which keys mean what (docs/FORMATS.md §7.2; libvirt `vmx.c`).
//!
//! Reading ([`Machine::from_vmx`]) consumes the keys the model represents; of the rest,
//! host-specific runtime state (UUIDs, PCI slot numbers, generated MACs, CPUID masks, swap paths,
//! PCI bridges: VMware regenerates them) is dropped on purpose, resource-allocation settings
//! (`sched.*`) are reported in [`Machine::unmapped`], and everything else is kept as extra
//! configuration (which OVF carries as `vmw:ExtraConfig`). Devices that are switched off
//! (`present = "FALSE"`) are dropped with all their keys.
//!
//! Writing ([`Machine::to_vmx`]) produces the keys an import needs, in a stable order, and reads
//! back to the same machine, except the OVF-only facts (disk capacity, disk id, CIM version) and
//! [`Machine::unmapped`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::Vmx;
use crate::vm::{
    is_runtime_key, max_buses, Attachment, BusFamily, CdBacking, CdRom, Controller, ControllerKind,
    Disk, Firmware, Floppy, FloppyBacking, GuestOs, MacAddress, Machine, Nic, NicAdapter, Port,
    Sound, SoundKind, Unmapped, Warning, MAX_NICS,
};

/// Highest device index accepted in a key (`scsi3:64`, `ethernet9`, ...); larger numbers are
/// reported, not allocated for.
const MAX_INDEX: u32 = 256;

/// The parsed device part of a key: `scsi0:1.fileName` → (`scsi`, 0, Some(1), `filename`).
struct DevKey {
    prefix: &'static str,
    n: u32,
    m: Option<u32>,
}

fn parse_dev_key(lower: &str) -> Option<DevKey> {
    const PREFIXES: &[&str] = &[
        "scsi", "sata", "nvme", "ide", "ethernet", "floppy", "serial", "parallel",
    ];
    let prefix = PREFIXES.iter().find(|p| lower.starts_with(**p))?;
    let rest = &lower[prefix.len()..];
    let ndigits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if ndigits == 0 || ndigits > 4 {
        return None;
    }
    let n: u32 = rest[..ndigits].parse().ok()?;
    let rest = &rest[ndigits..];
    let (m, rest) = if let Some(r) = rest.strip_prefix(':') {
        let md = r.bytes().take_while(u8::is_ascii_digit).count();
        if md == 0 || md > 4 {
            return None;
        }
        (Some(r[..md].parse().ok()?), &r[md..])
    } else {
        (None, rest)
    };
    // A device key goes on with `.subkey`.
    rest.strip_prefix('.')?;
    Some(DevKey { prefix, n, m })
}

/// Effective entries (last wins) with usage tracking.
struct Src {
    /// lower key → (key as spelled, decoded value), in order of last occurrence.
    order: Vec<String>,
    map: HashMap<String, (String, String)>,
    /// Device (`prefix`, N, M) → its keys (lower case), so that dropping a device is not a scan.
    by_device: HashMap<(String, u32, Option<u32>), Vec<String>>,
    used: HashSet<String>,
    warnings: Vec<Warning>,
    unmapped: Vec<Unmapped>,
}

impl Src {
    fn new(vmx: &Vmx) -> Self {
        let mut order = Vec::new();
        let mut map = HashMap::new();
        let mut by_device: HashMap<(String, u32, Option<u32>), Vec<String>> = HashMap::new();
        for (k, raw) in vmx.effective_entries() {
            let lower = k.to_ascii_lowercase();
            let value = super::decode_value(k, raw);
            if let Some(d) = parse_dev_key(&lower) {
                by_device
                    .entry((d.prefix.to_string(), d.n, d.m))
                    .or_default()
                    .push(lower.clone());
            }
            order.push(lower.clone());
            map.insert(lower, (k.to_string(), value));
        }
        Src {
            order,
            map,
            by_device,
            used: HashSet::new(),
            warnings: Vec::new(),
            unmapped: Vec::new(),
        }
    }

    fn get(&mut self, key: &str) -> Option<String> {
        let lower = key.to_ascii_lowercase();
        let v = self.map.get(&lower).map(|(_, v)| v.clone());
        if v.is_some() {
            self.used.insert(lower);
        }
        v
    }

    fn spelled(&self, key: &str) -> String {
        self.map
            .get(&key.to_ascii_lowercase())
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| key.to_string())
    }

    fn bool(&mut self, key: &str) -> Option<bool> {
        let v = self.get(key)?;
        match super::parse_bool(&v) {
            Some(b) => Some(b),
            None => {
                self.warnings.push(Warning::new(
                    self.spelled(key),
                    format!("expected TRUE or FALSE, found {v:?}; ignored"),
                ));
                None
            }
        }
    }

    fn num<T: std::str::FromStr>(&mut self, key: &str) -> Option<T> {
        let v = self.get(key)?;
        match v.trim().parse::<T>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.warnings.push(Warning::new(
                    self.spelled(key),
                    format!("expected a number, found {v:?}; ignored"),
                ));
                None
            }
        }
    }

    fn string(&mut self, key: &str) -> Option<String> {
        self.get(key).filter(|s| !s.is_empty())
    }

    /// Marks every key of a device (`prefixN` or `prefixN:M`) used.
    fn consume_device(&mut self, prefix: &str, n: u32, m: Option<u32>) {
        let keys = self.by_device.get(&(prefix.to_string(), n, m)).cloned();
        if let Some(keys) = keys {
            self.used.extend(keys);
        }
    }

    fn unmapped(&mut self, item: impl Into<String>, reason: impl Into<String>) {
        self.unmapped.push(Unmapped {
            item: item.into(),
            reason: reason.into(),
        });
    }
}

/// The keys the mapping reads and writes (lower case, exact).
const MAPPED_KEYS: &[&str] = &[
    ".encoding",
    "config.version",
    "virtualhw.version",
    "displayname",
    "annotation",
    "guestos",
    "numvcpus",
    "cpuid.corespersocket",
    "memsize",
    "firmware",
    "uefi.secureboot.enabled",
    "nvram",
    "usb.present",
    "ehci.present",
    "usb_xhci.present",
    "vmci0.present",
    "svga.vramsize",
    "sound.present",
    "sound.virtualdev",
    "sound.startconnected",
];

/// Whether `key` (any case) is one the mapping owns: an extra-config entry with such a key
/// would shadow a mapped setting, so [`Machine::to_vmx`] skips it.
pub fn is_mapped_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if MAPPED_KEYS.contains(&k.as_str()) {
        return true;
    }
    let Some(d) = parse_dev_key(&k) else {
        return false;
    };
    let sub = k.rsplit_once('.').map(|(_, s)| s).unwrap_or("");
    let subs: &[&str] = match (d.prefix, d.m) {
        ("scsi" | "sata" | "nvme" | "ide", None) => &["present", "virtualdev"],
        ("scsi" | "sata" | "nvme" | "ide", Some(_)) => &[
            "present",
            "filename",
            "devicetype",
            "clientdevice",
            "startconnected",
        ],
        ("ethernet", None) => &[
            "present",
            "virtualdev",
            "features",
            "networkname",
            "connectiontype",
            "addresstype",
            "address",
            "generatedaddress",
            "generatedaddressoffset",
            "startconnected",
        ],
        ("floppy", None) => &[
            "present",
            "filetype",
            "filename",
            "clientdevice",
            "startconnected",
        ],
        ("serial" | "parallel", None) => &["present", "filetype", "filename", "startconnected"],
        _ => &[],
    };
    // Only a plain `.sub` after the device part counts (`scsi0:0.fileName`, not
    // `scsi0:0.foo.fileName`).
    let plain = k.matches('.').count() == 1;
    plain && subs.contains(&sub)
}

/// Warnings for extra-configuration entries that [`Machine::to_vmx`] will not write because
/// they shadow mapped keys.
pub fn shadowed_extra_config(m: &Machine) -> Vec<Warning> {
    m.extra_config
        .iter()
        .filter(|(k, _)| is_mapped_key(k))
        .map(|(k, _)| {
            Warning::new(
                k,
                "extra config key shadows a mapped setting and is not written",
            )
        })
        .collect()
}

fn scsi_kind(dev: &str) -> Option<ControllerKind> {
    match dev.to_ascii_lowercase().as_str() {
        "lsilogic" => Some(ControllerKind::LsiLogic),
        "lsisas1068" => Some(ControllerKind::LsiLogicSas),
        "buslogic" => Some(ControllerKind::BusLogic),
        "pvscsi" => Some(ControllerKind::Pvscsi),
        _ => None,
    }
}

fn scsi_dev_name(kind: ControllerKind) -> &'static str {
    match kind {
        ControllerKind::LsiLogicSas => "lsisas1068",
        ControllerKind::BusLogic => "buslogic",
        ControllerKind::Pvscsi => "pvscsi",
        _ => "lsilogic",
    }
}

fn family_of_prefix(prefix: &str) -> Option<BusFamily> {
    match prefix {
        "ide" => Some(BusFamily::Ide),
        "scsi" => Some(BusFamily::Scsi),
        "sata" => Some(BusFamily::Sata),
        "nvme" => Some(BusFamily::Nvme),
        _ => None,
    }
}

/// The `.vmx` name of a NIC adapter (`virtualDev`).
pub fn nic_virtual_dev(adapter: NicAdapter) -> &'static str {
    match adapter {
        NicAdapter::VmxNet3 => "vmxnet3",
        NicAdapter::E1000 => "e1000",
        NicAdapter::E1000e => "e1000e",
        NicAdapter::Vlance => "vlance",
        NicAdapter::VmxNet2 | NicAdapter::Flexible => "vmxnet",
    }
}

fn sound_dev_name(kind: SoundKind) -> &'static str {
    match kind {
        SoundKind::HdAudio => "hdaudio",
        SoundKind::Es1371 => "es1371",
        SoundKind::Sb16 => "sb16",
    }
}

impl Machine {
    /// Reads the machine a `.vmx` describes. Never fails: what is odd becomes a warning, what
    /// cannot be represented lands in [`Machine::unmapped`].
    pub fn from_vmx(vmx: &Vmx) -> (Machine, Vec<Warning>) {
        let mut s = Src::new(vmx);
        let mut m = Machine::new();

        // Devices seen in keys, by prefix: index → sub-indexes.
        let mut devs: BTreeMap<(String, u32), BTreeSet<u32>> = BTreeMap::new();
        // Where each device and each bus first appears: lists keep file order, so a file
        // written by `to_vmx` reads back in model order.
        let mut dev_pos: HashMap<(String, u32, u32), usize> = HashMap::new();
        let mut bus_pos: HashMap<(String, u32), usize> = HashMap::new();
        let order = std::mem::take(&mut s.order);
        for (i, k) in order.iter().enumerate() {
            if let Some(d) = parse_dev_key(k) {
                if d.n >= MAX_INDEX || d.m.is_some_and(|m| m >= MAX_INDEX) {
                    let spelled = s.spelled(k);
                    s.used.insert(k.clone());
                    s.unmapped(spelled, format!("device index above {MAX_INDEX}"));
                    continue;
                }
                let e = devs.entry((d.prefix.to_string(), d.n)).or_default();
                bus_pos.entry((d.prefix.to_string(), d.n)).or_insert(i);
                if let Some(mm) = d.m {
                    e.insert(mm);
                    dev_pos.entry((d.prefix.to_string(), d.n, mm)).or_insert(i);
                }
            }
        }
        s.order = order;

        for key in [".encoding", "config.version"] {
            s.get(key);
        }
        m.hardware_version = s.num("virtualHW.version");
        m.name = s.string("displayName");
        m.annotation = s.string("annotation");
        if let Some(g) = s.string("guestOS") {
            m.guest_os = GuestOs::from_vmx_key(&g);
            if m.guest_os.guest_id.is_none() {
                s.warnings.push(Warning::new(
                    s.spelled("guestOS"),
                    format!("unknown guest OS {g:?}: kept, but OVF will say \"other\""),
                ));
            }
        }
        m.cpus = s.num("numvcpus").unwrap_or(1);
        m.cores_per_socket = s.num("cpuid.coresPerSocket");
        match s.num::<u64>("memsize") {
            Some(v) => m.memory_mib = v,
            None => s
                .warnings
                .push(Warning::new("memsize", "no memory size in the .vmx")),
        }
        if let Some(fw) = s.get("firmware") {
            match fw.to_ascii_lowercase().as_str() {
                "efi" => m.firmware = Firmware::Efi,
                "bios" | "" => m.firmware = Firmware::Bios,
                other => s.warnings.push(Warning::new(
                    s.spelled("firmware"),
                    format!("expected bios or efi, found {other:?}; assuming bios"),
                )),
            }
        }
        m.secure_boot = s.bool("uefi.secureBoot.enabled").unwrap_or(false);
        m.nvram_file = s.string("nvram");
        m.vmci = s.bool("vmci0.present").unwrap_or(false);
        m.video_ram_bytes = s.num("svga.vramSize");
        m.usb.usb2 = s.bool("usb.present").unwrap_or(false);
        m.usb.ehci = s.bool("ehci.present").unwrap_or(false);
        m.usb.xhci = s.bool("usb_xhci.present").unwrap_or(false);
        if s.bool("sound.present").unwrap_or(false) {
            let kind = match s.get("sound.virtualDev") {
                None => None,
                Some(v) => match v.to_ascii_lowercase().as_str() {
                    "hdaudio" => Some(SoundKind::HdAudio),
                    "es1371" => Some(SoundKind::Es1371),
                    "sb16" => Some(SoundKind::Sb16),
                    _ => {
                        s.warnings.push(Warning::new(
                            "sound.virtualDev",
                            format!("unknown sound card {v:?}: the host default is used"),
                        ));
                        None
                    }
                },
            };
            let start_connected = s.bool("sound.startConnected").unwrap_or(true);
            m.sound = Some(Sound {
                kind,
                start_connected,
            });
        } else {
            for k in ["sound.present", "sound.virtualDev", "sound.startConnected"] {
                s.get(k);
            }
            // A switched-off sound card: its other keys go too.
            let keys: Vec<String> = s
                .order
                .iter()
                .filter(|k| k.starts_with("sound."))
                .cloned()
                .collect();
            s.used.extend(keys);
        }

        // Storage controllers.
        let mut ide_used = [false; 2];
        for fam in [BusFamily::Scsi, BusFamily::Sata, BusFamily::Nvme] {
            let prefix = fam.name();
            let buses: Vec<u32> = devs
                .keys()
                .filter(|(p, _)| p == prefix)
                .map(|(_, n)| *n)
                .collect();
            for n in buses {
                let present = s.bool(&format!("{prefix}{n}.present")).unwrap_or(false);
                let name = format!("{prefix}{n}");
                if !present {
                    s.consume_device(prefix, n, None);
                    for mm in devs
                        .get(&(prefix.to_string(), n))
                        .cloned()
                        .unwrap_or_default()
                    {
                        s.consume_device(prefix, n, Some(mm));
                    }
                    continue;
                }
                let kind = match fam {
                    BusFamily::Sata | BusFamily::Nvme => {
                        s.get(&format!("{name}.virtualDev"));
                        Some(if fam == BusFamily::Sata {
                            ControllerKind::Sata
                        } else {
                            ControllerKind::Nvme
                        })
                    }
                    _ => match s.get(&format!("{name}.virtualDev")) {
                        None => {
                            s.warnings.push(Warning::new(
                                &name,
                                "no virtualDev: assuming lsilogic (the host may choose another)",
                            ));
                            Some(ControllerKind::LsiLogic)
                        }
                        Some(v) => {
                            let k = scsi_kind(&v);
                            if k.is_none() {
                                s.unmapped(
                                    format!("{name}.virtualDev = {v:?}"),
                                    "unknown SCSI controller type",
                                );
                            }
                            k
                        }
                    },
                };
                if n >= max_buses(fam) {
                    s.warnings.push(Warning::new(
                        &name,
                        format!("bus number above the maximum {}", max_buses(fam) - 1),
                    ));
                }
                if let Some(kind) = kind {
                    m.controllers.push(Controller { kind, bus: n });
                }
            }
        }
        let ide_buses: Vec<u32> = devs
            .keys()
            .filter(|(p, _)| p == "ide")
            .map(|(_, n)| *n)
            .collect();
        for n in ide_buses {
            if s.bool(&format!("ide{n}.present")).unwrap_or(false) {
                match ide_used.get_mut(n as usize) {
                    Some(u) => *u = true,
                    None => s.unmapped(format!("ide{n}"), "IDE has channels 0 and 1 only"),
                }
            }
            s.get(&format!("ide{n}.virtualDev"));
        }

        // Devices on storage buses.
        let mut dev_list: Vec<(String, u32, u32)> = devs
            .iter()
            .filter(|((p, _), _)| family_of_prefix(p).is_some())
            .flat_map(|((p, n), ms)| ms.iter().map(move |mm| (p.clone(), *n, *mm)))
            .collect();
        dev_list.sort_by_key(|(p, n, mm)| dev_pos.get(&(p.clone(), *n, *mm)).copied());
        for (prefix, n, unit) in dev_list {
            let Some(family) = family_of_prefix(&prefix) else {
                continue;
            };
            let base = format!("{prefix}{n}:{unit}");
            let present = s.bool(&format!("{base}.present")).unwrap_or(false);
            if !present {
                s.consume_device(&prefix, n, Some(unit));
                continue;
            }
            let attachment = Attachment {
                family,
                bus: n,
                unit,
            };
            if family == BusFamily::Ide {
                if n >= 2 {
                    s.consume_device(&prefix, n, Some(unit));
                    s.unmapped(base, "IDE has channels 0 and 1 only");
                    continue;
                }
                if let Some(u) = ide_used.get_mut(n as usize) {
                    *u = true;
                }
            } else if m.controller(family, n).is_none() {
                s.consume_device(&prefix, n, Some(unit));
                s.unmapped(
                    base,
                    format!("controller {prefix}{n} is not present (or of an unknown type)"),
                );
                continue;
            }
            let device_type = s
                .get(&format!("{base}.deviceType"))
                .map(|v| v.to_ascii_lowercase());
            let file = s.string(&format!("{base}.fileName"));
            let client = s.bool(&format!("{base}.clientDevice")).unwrap_or(false);
            let start_connected = s.bool(&format!("{base}.startConnected")).unwrap_or(true);
            let is_iso = file
                .as_deref()
                .is_some_and(|f| f.to_ascii_lowercase().ends_with(".iso"));
            match device_type.as_deref() {
                Some("scsi-harddisk") | Some("ata-harddisk") | Some("disk") | None
                    if !(device_type.is_none() && (is_iso || client)) =>
                {
                    match file {
                        Some(f) => m.disks.push(Disk {
                            attachment,
                            file_name: f,
                            capacity_bytes: None,
                            disk_id: None,
                        }),
                        None => {
                            s.consume_device(&prefix, n, Some(unit));
                            s.unmapped(base, "disk without fileName");
                        }
                    }
                }
                Some("cdrom-image") | None => {
                    let backing = match (client, file) {
                        (true, _) => CdBacking::Client,
                        (false, Some(file)) => CdBacking::Image { file },
                        (false, None) => CdBacking::Client,
                    };
                    m.cdroms.push(CdRom {
                        attachment,
                        backing,
                        start_connected,
                    });
                }
                Some("atapi-cdrom") | Some("cdrom-raw") => {
                    let backing = if client {
                        CdBacking::Client
                    } else {
                        CdBacking::HostDevice { device: file }
                    };
                    m.cdroms.push(CdRom {
                        attachment,
                        backing,
                        start_connected,
                    });
                }
                Some(other) => {
                    s.consume_device(&prefix, n, Some(unit));
                    s.unmapped(
                        format!("{base}.deviceType = {other:?}"),
                        "device type not supported (raw disks and passthrough are host-specific)",
                    );
                }
            }
        }
        for (n, used) in ide_used.iter().enumerate() {
            if *used {
                m.controllers.push(Controller {
                    kind: ControllerKind::Ide,
                    bus: n as u32,
                });
            }
        }
        m.controllers.sort_by_key(|c| {
            bus_pos
                .get(&(c.family().name().to_string(), c.bus))
                .copied()
        });

        // NICs.
        let mut nic_idx: Vec<u32> = devs
            .keys()
            .filter(|(p, _)| p == "ethernet")
            .map(|(_, n)| *n)
            .collect();
        nic_idx.sort_by_key(|n| bus_pos.get(&("ethernet".to_string(), *n)).copied());
        for n in nic_idx {
            let base = format!("ethernet{n}");
            if !s.bool(&format!("{base}.present")).unwrap_or(false) {
                s.consume_device("ethernet", n, None);
                continue;
            }
            if n >= MAX_NICS {
                s.warnings.push(Warning::new(
                    &base,
                    format!("NIC index above the maximum {}", MAX_NICS - 1),
                ));
            }
            let features = s.get(&format!("{base}.features"));
            let adapter = match s.get(&format!("{base}.virtualDev")) {
                None => None,
                Some(v) => match v.to_ascii_lowercase().as_str() {
                    "vmxnet3" => Some(NicAdapter::VmxNet3),
                    "e1000" => Some(NicAdapter::E1000),
                    "e1000e" => Some(NicAdapter::E1000e),
                    "vlance" => Some(NicAdapter::Vlance),
                    "vmxnet" => {
                        if features.as_deref().map(str::trim) == Some("15") {
                            Some(NicAdapter::VmxNet2)
                        } else {
                            Some(NicAdapter::Flexible)
                        }
                    }
                    other => {
                        s.unmapped(
                            format!("{base}.virtualDev = {other:?}"),
                            "unknown network adapter type: the host default is used",
                        );
                        None
                    }
                },
            };
            let network = s.string(&format!("{base}.networkName"));
            let connection_type = s.string(&format!("{base}.connectionType"));
            let start_connected = s.bool(&format!("{base}.startConnected")).unwrap_or(true);
            let address_type = s
                .get(&format!("{base}.addressType"))
                .map(|v| v.to_ascii_lowercase());
            let address = s.string(&format!("{base}.address"));
            s.get(&format!("{base}.generatedAddress"));
            s.get(&format!("{base}.generatedAddressOffset"));
            let mac = match (address_type.as_deref(), address) {
                (Some("static") | None, Some(address)) => MacAddress::Static { address },
                (Some("static"), None) => {
                    s.warnings.push(Warning::new(
                        &base,
                        "static MAC address type without an address: a MAC will be generated",
                    ));
                    MacAddress::Generated
                }
                _ => MacAddress::Generated,
            };
            m.nics.push(Nic {
                index: n,
                adapter,
                network,
                connection_type,
                start_connected,
                mac,
            });
        }

        // Floppies: floppy0 is present by default when any of its keys exist (VMware's
        // default is present); floppy1 must say so.
        let mut fl_idx: Vec<u32> = devs
            .keys()
            .filter(|(p, _)| p == "floppy")
            .map(|(_, n)| *n)
            .collect();
        fl_idx.sort_by_key(|n| bus_pos.get(&("floppy".to_string(), *n)).copied());
        for n in fl_idx {
            let base = format!("floppy{n}");
            let present = s.bool(&format!("{base}.present")).unwrap_or(n == 0);
            if !present || n >= 2 {
                if present {
                    s.unmapped(&base, "only floppy0 and floppy1 exist");
                }
                s.consume_device("floppy", n, None);
                continue;
            }
            let client = s.bool(&format!("{base}.clientDevice")).unwrap_or(false);
            let file_type = s
                .get(&format!("{base}.fileType"))
                .map(|v| v.to_ascii_lowercase());
            let file = s.string(&format!("{base}.fileName"));
            let start_connected = s.bool(&format!("{base}.startConnected")).unwrap_or(true);
            let backing = if client {
                FloppyBacking::Client
            } else {
                match (file_type.as_deref(), file) {
                    (Some("file"), Some(file)) => FloppyBacking::Image { file },
                    (Some("file"), None) => FloppyBacking::Client,
                    (None, Some(file))
                        if [".flp", ".img"]
                            .iter()
                            .any(|e| file.to_ascii_lowercase().ends_with(e)) =>
                    {
                        FloppyBacking::Image { file }
                    }
                    (_, file) => FloppyBacking::HostDevice { device: file },
                }
            };
            m.floppies.push(Floppy {
                index: n,
                backing,
                start_connected,
            });
        }

        // Serial and parallel ports.
        for (prefix, max) in [("serial", 32u32), ("parallel", 3u32)] {
            let mut idx: Vec<u32> = devs
                .keys()
                .filter(|(p, _)| p == prefix)
                .map(|(_, n)| *n)
                .collect();
            idx.sort_by_key(|n| bus_pos.get(&(prefix.to_string(), *n)).copied());
            for n in idx {
                let base = format!("{prefix}{n}");
                if !s.bool(&format!("{base}.present")).unwrap_or(false) {
                    s.consume_device(prefix, n, None);
                    continue;
                }
                if n >= max {
                    s.consume_device(prefix, n, None);
                    s.unmapped(&base, format!("{prefix} index above {}", max - 1));
                    continue;
                }
                let port = Port {
                    index: n,
                    file_type: s.string(&format!("{base}.fileType")),
                    file_name: s.string(&format!("{base}.fileName")),
                    start_connected: s.bool(&format!("{base}.startConnected")).unwrap_or(true),
                };
                if prefix == "serial" {
                    m.serial_ports.push(port);
                } else {
                    m.parallel_ports.push(port);
                }
            }
        }

        // The rest: runtime state is dropped, sched.* reported, everything else kept.
        let order = std::mem::take(&mut s.order);
        for k in &order {
            if s.used.contains(k) || is_runtime_key(k) {
                continue;
            }
            let Some((spelled, value)) = s.map.remove(k) else {
                continue;
            };
            if k.starts_with("sched.") {
                s.unmapped(
                    format!("{spelled} = {value:?}"),
                    "resource allocation (shares, reservations, limits) is not carried",
                );
                continue;
            }
            m.extra_config.push((spelled, value));
        }
        m.unmapped = std::mem::take(&mut s.unmapped);
        (m, s.warnings)
    }

    /// Writes the machine as a new `.vmx` (the keys an import writes, in a stable order).
    /// Extra-configuration keys that would shadow a mapped key are skipped
    /// ([`Machine::validate`] warns about them).
    pub fn to_vmx(&self) -> Vmx {
        let mut v = Out::default();
        v.set(".encoding", "UTF-8");
        v.set("config.version", "8");
        if let Some(hw) = self.hardware_version {
            v.set("virtualHW.version", &hw.to_string());
        }
        if let Some(name) = &self.name {
            v.set("displayName", name);
        }
        if let Some(a) = &self.annotation {
            v.set("annotation", a);
        }
        let guest = self.guest_os.vmx_key.clone().or_else(|| {
            self.guest_os.guest_id.as_deref().map(|id| {
                crate::vm::guestos::vmx_for_guest_id(id)
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        if id.contains("64") {
                            "other-64".to_string()
                        } else {
                            "other".to_string()
                        }
                    })
            })
        });
        if let Some(g) = guest {
            v.set("guestOS", &g);
        }
        v.set("numvcpus", &self.cpus.to_string());
        if let Some(c) = self.cores_per_socket {
            v.set("cpuid.coresPerSocket", &c.to_string());
        }
        v.set("memsize", &self.memory_mib.to_string());
        v.set(
            "firmware",
            match self.firmware {
                Firmware::Bios => "bios",
                Firmware::Efi => "efi",
            },
        );
        if self.secure_boot {
            v.set_bool("uefi.secureBoot.enabled", true);
        }
        if let Some(n) = &self.nvram_file {
            v.set("nvram", n);
        }
        if self.hardware_version.is_some_and(|v| v >= 7) {
            // The PCI bridges VMware writes for hardware 7+: PCIe devices (VMXNET3, PVSCSI,
            // NVMe) sit behind the root ports 4-7. (Runtime layout: dropped again on read.)
            v.set_bool("pciBridge0.present", true);
            for n in 4..8 {
                v.set_bool(&format!("pciBridge{n}.present"), true);
                v.set(&format!("pciBridge{n}.virtualDev"), "pcieRootPort");
                v.set(&format!("pciBridge{n}.functions"), "8");
            }
        }
        for c in &self.controllers {
            let name = format!("{}{}", c.family().name(), c.bus);
            v.set_bool(&format!("{name}.present"), true);
            if c.family() == BusFamily::Scsi {
                v.set(&format!("{name}.virtualDev"), scsi_dev_name(c.kind));
            }
        }
        for d in &self.disks {
            let base = d.attachment.to_string();
            v.set_bool(&format!("{base}.present"), true);
            v.set(&format!("{base}.fileName"), &d.file_name);
            match d.attachment.family {
                BusFamily::Scsi => v.set(&format!("{base}.deviceType"), "scsi-hardDisk"),
                BusFamily::Ide => v.set(&format!("{base}.deviceType"), "ata-hardDisk"),
                BusFamily::Sata | BusFamily::Nvme => {}
            }
        }
        for c in &self.cdroms {
            let base = c.attachment.to_string();
            v.set_bool(&format!("{base}.present"), true);
            match &c.backing {
                CdBacking::Image { file } => {
                    v.set(&format!("{base}.deviceType"), "cdrom-image");
                    v.set(&format!("{base}.fileName"), file);
                }
                CdBacking::HostDevice { device } => {
                    v.set(&format!("{base}.deviceType"), "atapi-cdrom");
                    if let Some(d) = device {
                        v.set(&format!("{base}.fileName"), d);
                    }
                }
                CdBacking::Client => {
                    v.set(&format!("{base}.deviceType"), "atapi-cdrom");
                    v.set_bool(&format!("{base}.clientDevice"), true);
                }
            }
            v.set_bool(&format!("{base}.startConnected"), c.start_connected);
        }
        if self.floppies.is_empty() {
            // VMware's default is a present floppy0: say there is none.
            v.set_bool("floppy0.present", false);
        }
        for f in &self.floppies {
            let base = format!("floppy{}", f.index);
            v.set_bool(&format!("{base}.present"), true);
            match &f.backing {
                FloppyBacking::Image { file } => {
                    v.set(&format!("{base}.fileType"), "file");
                    v.set(&format!("{base}.fileName"), file);
                }
                FloppyBacking::HostDevice { device } => {
                    v.set(&format!("{base}.fileType"), "device");
                    if let Some(d) = device {
                        v.set(&format!("{base}.fileName"), d);
                    }
                }
                FloppyBacking::Client => {
                    v.set_bool(&format!("{base}.clientDevice"), true);
                    v.set(&format!("{base}.fileName"), "vmware-null-remote-floppy");
                }
            }
            v.set_bool(&format!("{base}.startConnected"), f.start_connected);
        }
        for n in &self.nics {
            let base = format!("ethernet{}", n.index);
            v.set_bool(&format!("{base}.present"), true);
            if let Some(a) = n.adapter {
                v.set(&format!("{base}.virtualDev"), nic_virtual_dev(a));
                if a == NicAdapter::VmxNet2 {
                    v.set(&format!("{base}.features"), "15");
                }
            }
            if let Some(net) = &n.network {
                v.set(&format!("{base}.networkName"), net);
            }
            if let Some(ct) = &n.connection_type {
                v.set(&format!("{base}.connectionType"), ct);
            }
            match &n.mac {
                MacAddress::Generated => v.set(&format!("{base}.addressType"), "generated"),
                MacAddress::Static { address } => {
                    v.set(&format!("{base}.addressType"), "static");
                    v.set(&format!("{base}.address"), address);
                }
            }
            v.set_bool(&format!("{base}.startConnected"), n.start_connected);
        }
        if self.usb.usb2 {
            v.set_bool("usb.present", true);
        }
        if self.usb.ehci {
            v.set_bool("ehci.present", true);
        }
        if self.usb.xhci {
            v.set_bool("usb_xhci.present", true);
        }
        if self.vmci {
            v.set_bool("vmci0.present", true);
        }
        if let Some(snd) = &self.sound {
            v.set_bool("sound.present", true);
            if let Some(k) = snd.kind {
                v.set("sound.virtualDev", sound_dev_name(k));
            }
            v.set_bool("sound.startConnected", snd.start_connected);
        }
        if let Some(vram) = self.video_ram_bytes {
            v.set("svga.vramSize", &vram.to_string());
        }
        for (prefix, ports) in [
            ("serial", &self.serial_ports),
            ("parallel", &self.parallel_ports),
        ] {
            for p in ports {
                let base = format!("{prefix}{}", p.index);
                v.set_bool(&format!("{base}.present"), true);
                if let Some(t) = &p.file_type {
                    v.set(&format!("{base}.fileType"), t);
                }
                if let Some(f) = &p.file_name {
                    v.set(&format!("{base}.fileName"), f);
                }
                v.set_bool(&format!("{base}.startConnected"), p.start_connected);
            }
        }
        for (k, val) in &self.extra_config {
            if is_mapped_key(k) || k.is_empty() {
                continue;
            }
            v.set(k, val);
        }
        Vmx::from_entries(v.0)
    }
}

/// The entries `to_vmx` writes, collected first so that writing is linear in their number.
#[derive(Default)]
struct Out(Vec<(String, String)>);

impl Out {
    fn set(&mut self, key: &str, value: &str) {
        self.0.push((key.to_string(), value.to_string()));
    }

    fn set_bool(&mut self, key: &str, value: bool) {
        self.set(key, if value { "TRUE" } else { "FALSE" });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_keys() {
        let d = parse_dev_key("scsi0:12.filename").unwrap();
        assert_eq!((d.prefix, d.n, d.m), ("scsi", 0, Some(12)));
        let d = parse_dev_key("ethernet3.virtualdev").unwrap();
        assert_eq!((d.prefix, d.n, d.m), ("ethernet", 3, None));
        assert!(parse_dev_key("scsi.foo").is_none());
        assert!(parse_dev_key("ide0:").is_none());
        assert!(parse_dev_key("scsi99999999999:0.present").is_none());
    }

    #[test]
    fn mapped_keys() {
        assert!(is_mapped_key("scsi0:0.fileName"));
        assert!(is_mapped_key("MEMSIZE"));
        assert!(is_mapped_key("ethernet1.networkName"));
        assert!(!is_mapped_key("ethernet1.vnet"));
        assert!(!is_mapped_key("scsi0:0.mode"));
        assert!(!is_mapped_key("guestinfo.x"));
        assert!(!is_mapped_key("scsiFoo"));
    }

    #[test]
    fn minimal_vmx() {
        let vmx = Vmx::parse(
            b"memsize = \"512\"\nscsi0.present = \"TRUE\"\nscsi0.virtualDev = \"pvscsi\"\n\
              scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"a.vmdk\"\n\
              ethernet0.present = \"true\"\nethernet0.virtualDev = \"vmxnet\"\nethernet0.features = \"15\"\n\
              guestinfo.x = \"y\"\nsched.cpu.min = \"0\"\nuuid.bios = \"1\"\n",
        )
        .unwrap();
        let (m, w) = Machine::from_vmx(&vmx);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(m.memory_mib, 512);
        assert_eq!(m.controllers[0].kind, ControllerKind::Pvscsi);
        assert_eq!(m.disks[0].file_name, "a.vmdk");
        assert_eq!(m.nics[0].adapter, Some(NicAdapter::VmxNet2));
        assert_eq!(m.extra_config, vec![("guestinfo.x".into(), "y".into())]);
        assert_eq!(m.unmapped.len(), 1);
        let back = Machine::from_vmx(&m.to_vmx()).0;
        let mut expect = m.clone();
        expect.unmapped.clear();
        assert_eq!(back, expect);
    }
}
