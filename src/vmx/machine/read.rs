//! Reading: a `.vmx` → [`Machine`], one small function per device family.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{
    family_of_prefix, nic_adapter, parse_dev_key, scsi_kind, setting_of_key, setting_value,
    sound_kind,
};
use crate::vm::{
    is_runtime_key, max_buses, Attachment, BusFamily, CdBacking, CdRom, Controller, ControllerKind,
    Disk, Firmware, Floppy, FloppyBacking, GuestOs, MacAddress, Machine, Nic, Port, Sound,
    Unmapped, Warning, MAX_NICS,
};
use crate::vmx::Vmx;

/// Highest device index accepted in a key (`scsi3:64`, `ethernet9`, ...); larger numbers are
/// reported, not allocated for.
const MAX_INDEX: u32 = 256;

impl Machine {
    /// Reads the machine a `.vmx` describes. Never fails: what is odd becomes a warning, what
    /// cannot be represented lands in [`Machine::unmapped`].
    pub fn from_vmx(vmx: &Vmx) -> (Machine, Vec<Warning>) {
        let mut s = Src::new(vmx);
        let devs = Devices::index(&mut s);
        let mut r = Reader {
            s,
            m: Machine::new(),
            devs,
        };
        r.system();
        r.processor_and_memory();
        r.firmware();
        r.usb_vmci_video();
        r.sound();
        let mut ide_used = r.controllers();
        r.storage_devices(&mut ide_used);
        r.ide_controllers(ide_used);
        r.nics();
        r.floppies();
        r.ports();
        r.rest();
        let Reader { mut s, mut m, .. } = r;
        m.unmapped = std::mem::take(&mut s.unmapped);
        (m, s.warnings)
    }
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
            let value = crate::vmx::decode_value(k, raw);
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

    fn warn(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning::new(subject, message));
    }

    fn bool(&mut self, key: &str) -> Option<bool> {
        let v = self.get(key)?;
        match crate::vmx::parse_bool(&v) {
            Some(b) => Some(b),
            None => {
                self.warn(
                    self.spelled(key),
                    format!("expected TRUE or FALSE, found {v:?}; ignored"),
                );
                None
            }
        }
    }

    fn num<T: std::str::FromStr>(&mut self, key: &str) -> Option<T> {
        let v = self.get(key)?;
        match v.trim().parse::<T>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.warn(
                    self.spelled(key),
                    format!("expected a number, found {v:?}; ignored"),
                );
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

/// The devices the keys name (`scsi0`, `scsi0:1`, `ethernet2`...), and where each first
/// appears: lists keep file order, so a file written by `to_vmx` reads back in model order.
struct Devices {
    /// (prefix, index) → the sub-indexes (units) seen.
    units: BTreeMap<(String, u32), BTreeSet<u32>>,
    /// (prefix, index, unit) → position of its first key.
    unit_pos: HashMap<(String, u32, u32), usize>,
    /// (prefix, index) → position of its first key.
    bus_pos: HashMap<(String, u32), usize>,
}

impl Devices {
    /// Indexes the device keys of `s`; keys with an index above [`MAX_INDEX`] are reported
    /// and consumed.
    fn index(s: &mut Src) -> Devices {
        let mut d = Devices {
            units: BTreeMap::new(),
            unit_pos: HashMap::new(),
            bus_pos: HashMap::new(),
        };
        let order = std::mem::take(&mut s.order);
        for (i, k) in order.iter().enumerate() {
            let Some(key) = parse_dev_key(k) else {
                continue;
            };
            if key.n >= MAX_INDEX || key.m.is_some_and(|m| m >= MAX_INDEX) {
                let spelled = s.spelled(k);
                s.used.insert(k.clone());
                s.unmapped(spelled, format!("device index above {MAX_INDEX}"));
                continue;
            }
            let e = d.units.entry((key.prefix.to_string(), key.n)).or_default();
            d.bus_pos
                .entry((key.prefix.to_string(), key.n))
                .or_insert(i);
            if let Some(mm) = key.m {
                e.insert(mm);
                d.unit_pos
                    .entry((key.prefix.to_string(), key.n, mm))
                    .or_insert(i);
            }
        }
        s.order = order;
        d
    }

    /// The indexes of the devices with `prefix`, in number order.
    fn indexes(&self, prefix: &str) -> Vec<u32> {
        self.units
            .keys()
            .filter(|(p, _)| p == prefix)
            .map(|(_, n)| *n)
            .collect()
    }

    /// The indexes of the devices with `prefix`, in file order.
    fn indexes_in_file_order(&self, prefix: &str) -> Vec<u32> {
        let mut idx = self.indexes(prefix);
        idx.sort_by_key(|n| self.bus_pos.get(&(prefix.to_string(), *n)).copied());
        idx
    }

    /// The units seen on `prefix``n`.
    fn units_of(&self, prefix: &str, n: u32) -> BTreeSet<u32> {
        self.units
            .get(&(prefix.to_string(), n))
            .cloned()
            .unwrap_or_default()
    }

    /// Every device on a storage bus (`scsi0:1`, `ide1:0`...), in file order.
    fn storage_units(&self) -> Vec<(String, u32, u32)> {
        let mut list: Vec<(String, u32, u32)> = self
            .units
            .iter()
            .filter(|((p, _), _)| family_of_prefix(p).is_some())
            .flat_map(|((p, n), ms)| ms.iter().map(move |mm| (p.clone(), *n, *mm)))
            .collect();
        list.sort_by_key(|(p, n, mm)| self.unit_pos.get(&(p.clone(), *n, *mm)).copied());
        list
    }
}

/// The machine being read from the keys.
struct Reader {
    s: Src,
    m: Machine,
    devs: Devices,
}

impl Reader {
    // -----------------------------------------------------------------------------------------
    // The system: name, annotation, hardware version, guest OS, CPUs, memory, firmware.

    fn system(&mut self) {
        let s = &mut self.s;
        for key in [".encoding", "config.version"] {
            s.get(key);
        }
        self.m.hardware_version = s.num("virtualHW.version");
        self.m.name = s.string("displayName");
        self.m.annotation = s.string("annotation");
        if let Some(g) = s.string("guestOS") {
            self.m.guest_os = GuestOs::from_vmx_key(&g);
            if self.m.guest_os.guest_id.is_none() {
                s.warn(
                    s.spelled("guestOS"),
                    format!("unknown guest OS {g:?}: kept, but OVF will say \"other\""),
                );
            }
        }
    }

    fn processor_and_memory(&mut self) {
        let s = &mut self.s;
        self.m.cpus = s.num("numvcpus").unwrap_or(1);
        self.m.cores_per_socket = s.num("cpuid.coresPerSocket");
        match s.num::<u64>("memsize") {
            Some(v) => self.m.memory_mib = v,
            None => s.warn("memsize", "no memory size in the .vmx"),
        }
    }

    fn firmware(&mut self) {
        let s = &mut self.s;
        if let Some(fw) = s.get("firmware") {
            match fw.to_ascii_lowercase().as_str() {
                "efi" => self.m.firmware = Firmware::Efi,
                "bios" | "" => self.m.firmware = Firmware::Bios,
                other => s.warn(
                    s.spelled("firmware"),
                    format!("expected bios or efi, found {other:?}; assuming bios"),
                ),
            }
        }
        self.m.secure_boot = s.bool("uefi.secureBoot.enabled").unwrap_or(false);
        self.m.nvram_file = s.string("nvram");
    }

    // -----------------------------------------------------------------------------------------
    // Devices without an index: USB, VMCI, video, sound.

    fn usb_vmci_video(&mut self) {
        let s = &mut self.s;
        self.m.vmci = s.bool("vmci0.present").unwrap_or(false);
        self.m.video_ram_bytes = s.num("svga.vramSize");
        self.m.usb.usb2 = s.bool("usb.present").unwrap_or(false);
        self.m.usb.ehci = s.bool("ehci.present").unwrap_or(false);
        self.m.usb.xhci = s.bool("usb_xhci.present").unwrap_or(false);
    }

    fn sound(&mut self) {
        let s = &mut self.s;
        if !s.bool("sound.present").unwrap_or(false) {
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
            return;
        }
        let kind = s.get("sound.virtualDev").and_then(|v| {
            let k = sound_kind(&v);
            if k.is_none() {
                s.warn(
                    "sound.virtualDev",
                    format!("unknown sound card {v:?}: the host default is used"),
                );
            }
            k
        });
        let start_connected = s.bool("sound.startConnected").unwrap_or(true);
        self.m.sound = Some(Sound {
            kind,
            start_connected,
        });
    }

    // -----------------------------------------------------------------------------------------
    // Storage: controllers, then the disks and drives on them.

    /// SCSI, SATA and NVMe controllers; returns which IDE channels are switched on (IDE
    /// controllers exist when a channel or a device on it is present).
    fn controllers(&mut self) -> [bool; 2] {
        for fam in [BusFamily::Scsi, BusFamily::Sata, BusFamily::Nvme] {
            for n in self.devs.indexes(fam.name()) {
                self.controller(fam, n);
            }
        }
        let mut ide_used = [false; 2];
        let s = &mut self.s;
        for n in self.devs.indexes("ide") {
            if s.bool(&format!("ide{n}.present")).unwrap_or(false) {
                match ide_used.get_mut(n as usize) {
                    Some(u) => *u = true,
                    None => s.unmapped(format!("ide{n}"), "IDE has channels 0 and 1 only"),
                }
            }
            s.get(&format!("ide{n}.virtualDev"));
        }
        ide_used
    }

    /// Controller `n` of a SCSI, SATA or NVMe family.
    fn controller(&mut self, fam: BusFamily, n: u32) {
        let prefix = fam.name();
        let s = &mut self.s;
        let name = format!("{prefix}{n}");
        if !s.bool(&format!("{name}.present")).unwrap_or(false) {
            s.consume_device(prefix, n, None);
            for mm in self.devs.units_of(prefix, n) {
                s.consume_device(prefix, n, Some(mm));
            }
            return;
        }
        let dev = s.get(&format!("{name}.virtualDev"));
        let kind = match (fam, dev) {
            (BusFamily::Sata, _) => Some(ControllerKind::Sata),
            (BusFamily::Nvme, _) => Some(ControllerKind::Nvme),
            (_, None) => {
                s.warn(
                    &name,
                    "no virtualDev: assuming lsilogic (the host may choose another)",
                );
                Some(ControllerKind::LsiLogic)
            }
            (_, Some(v)) => {
                let k = scsi_kind(&v);
                if k.is_none() {
                    s.unmapped(
                        format!("{name}.virtualDev = {v:?}"),
                        "unknown SCSI controller type",
                    );
                }
                k
            }
        };
        if n >= max_buses(fam) {
            s.warn(
                &name,
                format!("bus number above the maximum {}", max_buses(fam) - 1),
            );
        }
        if let Some(kind) = kind {
            self.m.controllers.push(Controller { kind, bus: n });
        }
    }

    /// Every disk and drive on a storage bus, in file order.
    fn storage_devices(&mut self, ide_used: &mut [bool; 2]) {
        for (prefix, n, unit) in self.devs.storage_units() {
            if let Some(family) = family_of_prefix(&prefix) {
                self.storage_device(family, &prefix, n, unit, ide_used);
            }
        }
    }

    /// The device `prefix``n`:`unit`: a disk, or a CD-ROM drive.
    fn storage_device(
        &mut self,
        family: BusFamily,
        prefix: &str,
        n: u32,
        unit: u32,
        ide_used: &mut [bool; 2],
    ) {
        let s = &mut self.s;
        let base = format!("{prefix}{n}:{unit}");
        if !s.bool(&format!("{base}.present")).unwrap_or(false) {
            s.consume_device(prefix, n, Some(unit));
            return;
        }
        let attachment = Attachment {
            family,
            bus: n,
            unit,
        };
        if family == BusFamily::Ide {
            if n >= 2 {
                s.consume_device(prefix, n, Some(unit));
                s.unmapped(base, "IDE has channels 0 and 1 only");
                return;
            }
            if let Some(u) = ide_used.get_mut(n as usize) {
                *u = true;
            }
        } else if self.m.controller(family, n).is_none() {
            s.consume_device(prefix, n, Some(unit));
            s.unmapped(
                base,
                format!("controller {prefix}{n} is not present (or of an unknown type)"),
            );
            return;
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
        let backing = match device_type.as_deref() {
            Some("scsi-harddisk") | Some("ata-harddisk") | Some("disk") | None
                if !(device_type.is_none() && (is_iso || client)) =>
            {
                match file {
                    Some(f) => self.m.disks.push(Disk {
                        attachment,
                        file_name: f,
                        capacity_bytes: None,
                        disk_id: None,
                    }),
                    None => {
                        s.consume_device(prefix, n, Some(unit));
                        s.unmapped(base, "disk without fileName");
                    }
                }
                return;
            }
            Some("cdrom-image") | None => match (client, file) {
                (true, _) => CdBacking::Client,
                (false, Some(file)) => CdBacking::Image { file },
                (false, None) => CdBacking::Client,
            },
            Some("atapi-cdrom") | Some("cdrom-raw") => {
                if client {
                    CdBacking::Client
                } else {
                    CdBacking::HostDevice { device: file }
                }
            }
            Some(other) => {
                s.consume_device(prefix, n, Some(unit));
                s.unmapped(
                    format!("{base}.deviceType = {other:?}"),
                    "device type not supported (raw disks and passthrough are host-specific)",
                );
                return;
            }
        };
        self.m.cdroms.push(CdRom {
            attachment,
            backing,
            start_connected,
        });
    }

    /// The IDE controllers of the channels in use, then every controller in file order.
    fn ide_controllers(&mut self, ide_used: [bool; 2]) {
        for (n, used) in ide_used.iter().enumerate() {
            if *used {
                self.m.controllers.push(Controller {
                    kind: ControllerKind::Ide,
                    bus: n as u32,
                });
            }
        }
        let bus_pos = &self.devs.bus_pos;
        self.m.controllers.sort_by_key(|c| {
            bus_pos
                .get(&(c.family().name().to_string(), c.bus))
                .copied()
        });
    }

    // -----------------------------------------------------------------------------------------
    // Network adapters.

    fn nics(&mut self) {
        for n in self.devs.indexes_in_file_order("ethernet") {
            self.nic(n);
        }
    }

    fn nic(&mut self, n: u32) {
        let s = &mut self.s;
        let base = format!("ethernet{n}");
        if !s.bool(&format!("{base}.present")).unwrap_or(false) {
            s.consume_device("ethernet", n, None);
            return;
        }
        if n >= MAX_NICS {
            s.warn(
                &base,
                format!("NIC index above the maximum {}", MAX_NICS - 1),
            );
        }
        let features = s.get(&format!("{base}.features"));
        let adapter = s.get(&format!("{base}.virtualDev")).and_then(|v| {
            let a = nic_adapter(&v, features.as_deref());
            if a.is_none() {
                s.unmapped(
                    format!("{base}.virtualDev = {:?}", v.to_ascii_lowercase()),
                    "unknown network adapter type: the host default is used",
                );
            }
            a
        });
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
                s.warn(
                    &base,
                    "static MAC address type without an address: a MAC will be generated",
                );
                MacAddress::Generated
            }
            _ => MacAddress::Generated,
        };
        self.m.nics.push(Nic {
            index: n,
            adapter,
            network,
            connection_type,
            start_connected,
            mac,
        });
    }

    // -----------------------------------------------------------------------------------------
    // Floppies, serial and parallel ports.

    /// Floppies: floppy0 is present by default when any of its keys exist (VMware's default is
    /// present); floppy1 must say so.
    fn floppies(&mut self) {
        for n in self.devs.indexes_in_file_order("floppy") {
            self.floppy(n);
        }
    }

    fn floppy(&mut self, n: u32) {
        let s = &mut self.s;
        let base = format!("floppy{n}");
        let present = s.bool(&format!("{base}.present")).unwrap_or(n == 0);
        if !present || n >= 2 {
            if present {
                s.unmapped(&base, "only floppy0 and floppy1 exist");
            }
            s.consume_device("floppy", n, None);
            return;
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
        self.m.floppies.push(Floppy {
            index: n,
            backing,
            start_connected,
        });
    }

    fn ports(&mut self) {
        for (prefix, max) in [("serial", 32u32), ("parallel", 3u32)] {
            for n in self.devs.indexes_in_file_order(prefix) {
                if let Some(port) = self.port(prefix, n, max) {
                    if prefix == "serial" {
                        self.m.serial_ports.push(port);
                    } else {
                        self.m.parallel_ports.push(port);
                    }
                }
            }
        }
    }

    /// Port `prefix``n` (of at most `max`), when present.
    fn port(&mut self, prefix: &str, n: u32, max: u32) -> Option<Port> {
        let s = &mut self.s;
        let base = format!("{prefix}{n}");
        if !s.bool(&format!("{base}.present")).unwrap_or(false) {
            s.consume_device(prefix, n, None);
            return None;
        }
        if n >= max {
            s.consume_device(prefix, n, None);
            s.unmapped(&base, format!("{prefix} index above {}", max - 1));
            return None;
        }
        Some(Port {
            index: n,
            file_type: s.string(&format!("{base}.fileType")),
            file_name: s.string(&format!("{base}.fileName")),
            start_connected: s.bool(&format!("{base}.startConnected")).unwrap_or(true),
        })
    }

    // -----------------------------------------------------------------------------------------
    // The rest.

    /// The keys no device took: runtime state is dropped, `sched.*` reported, typed settings
    /// read, everything else kept as extra configuration.
    fn rest(&mut self) {
        let s = &mut self.s;
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
            if let Some(setting) = setting_of_key(k, &self.m.nics) {
                if let Some(v) = setting_value(setting.kind(), &value) {
                    self.m.vmware.set(setting, v);
                    continue;
                }
            }
            self.m.extra_config.push((spelled, value));
        }
    }
}
