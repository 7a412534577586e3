//! Writing: [`Machine`] → a new `.vmx`, one small function per device family.

use super::{
    is_mapped_key, nic_virtual_dev, scsi_dev_name, setting_key, setting_of_key, setting_text,
    sound_dev_name,
};
use crate::vm::{
    BusFamily, CdBacking, Firmware, FloppyBacking, MacAddress, Machine, NicAdapter, Port,
};
use crate::vmx::Vmx;

impl Machine {
    /// Writes the machine as a new `.vmx` (the keys an import writes, in a stable order).
    /// Extra-configuration keys that would shadow a mapped key are skipped
    /// ([`Machine::validate`] warns about them).
    pub fn to_vmx(&self) -> Vmx {
        let mut v = Out::default();
        v.system(self);
        v.processor_memory_firmware(self);
        v.pci_bridges(self);
        v.storage(self);
        v.floppies(self);
        v.nics(self);
        v.usb_vmci_sound_video(self);
        v.ports("serial", &self.serial_ports);
        v.ports("parallel", &self.parallel_ports);
        v.settings(self);
        v.extra_config(self);
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

    /// Encoding, config and hardware version, name, annotation, guest OS.
    fn system(&mut self, m: &Machine) {
        self.set(".encoding", "UTF-8");
        self.set("config.version", "8");
        if let Some(hw) = m.hardware_version {
            self.set("virtualHW.version", &hw.to_string());
        }
        if let Some(name) = &m.name {
            self.set("displayName", name);
        }
        if let Some(a) = &m.annotation {
            self.set("annotation", a);
        }
        let guest = m.guest_os.vmx_key.clone().or_else(|| {
            m.guest_os.guest_id.as_deref().map(|id| {
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
            self.set("guestOS", &g);
        }
    }

    fn processor_memory_firmware(&mut self, m: &Machine) {
        self.set("numvcpus", &m.cpus.to_string());
        if let Some(c) = m.cores_per_socket {
            self.set("cpuid.coresPerSocket", &c.to_string());
        }
        self.set("memsize", &m.memory_mib.to_string());
        self.set(
            "firmware",
            match m.firmware {
                Firmware::Bios => "bios",
                Firmware::Efi => "efi",
            },
        );
        if m.secure_boot {
            self.set_bool("uefi.secureBoot.enabled", true);
        }
        if let Some(n) = &m.nvram_file {
            self.set("nvram", n);
        }
    }

    /// The PCI bridges VMware writes for hardware 7+: PCIe devices (VMXNET3, PVSCSI, NVMe) sit
    /// behind the root ports 4-7. (Runtime layout: dropped again on read.)
    fn pci_bridges(&mut self, m: &Machine) {
        if m.hardware_version.is_none_or(|v| v < 7) {
            return;
        }
        self.set_bool("pciBridge0.present", true);
        for n in 4..8 {
            self.set_bool(&format!("pciBridge{n}.present"), true);
            self.set(&format!("pciBridge{n}.virtualDev"), "pcieRootPort");
            self.set(&format!("pciBridge{n}.functions"), "8");
        }
    }

    /// Controllers, then disks, then CD-ROM drives.
    fn storage(&mut self, m: &Machine) {
        for c in &m.controllers {
            let name = format!("{}{}", c.family().name(), c.bus);
            self.set_bool(&format!("{name}.present"), true);
            if c.family() == BusFamily::Scsi {
                self.set(&format!("{name}.virtualDev"), scsi_dev_name(c.kind));
            }
        }
        for d in &m.disks {
            let base = d.attachment.to_string();
            self.set_bool(&format!("{base}.present"), true);
            self.set(&format!("{base}.fileName"), &d.file_name);
            match d.attachment.family {
                BusFamily::Scsi => self.set(&format!("{base}.deviceType"), "scsi-hardDisk"),
                BusFamily::Ide => self.set(&format!("{base}.deviceType"), "ata-hardDisk"),
                BusFamily::Sata | BusFamily::Nvme => {}
            }
        }
        for c in &m.cdroms {
            let base = c.attachment.to_string();
            self.set_bool(&format!("{base}.present"), true);
            match &c.backing {
                CdBacking::Image { file } => {
                    self.set(&format!("{base}.deviceType"), "cdrom-image");
                    self.set(&format!("{base}.fileName"), file);
                }
                CdBacking::HostDevice { device } => {
                    self.set(&format!("{base}.deviceType"), "atapi-cdrom");
                    if let Some(d) = device {
                        self.set(&format!("{base}.fileName"), d);
                    }
                }
                CdBacking::Client => {
                    self.set(&format!("{base}.deviceType"), "atapi-cdrom");
                    self.set_bool(&format!("{base}.clientDevice"), true);
                }
            }
            self.set_bool(&format!("{base}.startConnected"), c.start_connected);
        }
    }

    fn floppies(&mut self, m: &Machine) {
        if m.floppies.is_empty() {
            // VMware's default is a present floppy0: say there is none.
            self.set_bool("floppy0.present", false);
        }
        for f in &m.floppies {
            let base = format!("floppy{}", f.index);
            self.set_bool(&format!("{base}.present"), true);
            match &f.backing {
                FloppyBacking::Image { file } => {
                    self.set(&format!("{base}.fileType"), "file");
                    self.set(&format!("{base}.fileName"), file);
                }
                FloppyBacking::HostDevice { device } => {
                    self.set(&format!("{base}.fileType"), "device");
                    if let Some(d) = device {
                        self.set(&format!("{base}.fileName"), d);
                    }
                }
                FloppyBacking::Client => {
                    self.set_bool(&format!("{base}.clientDevice"), true);
                    self.set(&format!("{base}.fileName"), "vmware-null-remote-floppy");
                }
            }
            self.set_bool(&format!("{base}.startConnected"), f.start_connected);
        }
    }

    fn nics(&mut self, m: &Machine) {
        for n in &m.nics {
            let base = format!("ethernet{}", n.index);
            self.set_bool(&format!("{base}.present"), true);
            if let Some(a) = n.adapter {
                self.set(&format!("{base}.virtualDev"), nic_virtual_dev(a));
                if a == NicAdapter::VmxNet2 {
                    self.set(&format!("{base}.features"), "15");
                }
            }
            if let Some(net) = &n.network {
                self.set(&format!("{base}.networkName"), net);
            }
            if let Some(ct) = &n.connection_type {
                self.set(&format!("{base}.connectionType"), ct);
            }
            match &n.mac {
                MacAddress::Generated => self.set(&format!("{base}.addressType"), "generated"),
                MacAddress::Static { address } => {
                    self.set(&format!("{base}.addressType"), "static");
                    self.set(&format!("{base}.address"), address);
                }
            }
            self.set_bool(&format!("{base}.startConnected"), n.start_connected);
        }
    }

    fn usb_vmci_sound_video(&mut self, m: &Machine) {
        if m.usb.usb2 {
            self.set_bool("usb.present", true);
        }
        if m.usb.ehci {
            self.set_bool("ehci.present", true);
        }
        if m.usb.xhci {
            self.set_bool("usb_xhci.present", true);
        }
        if m.vmci {
            self.set_bool("vmci0.present", true);
        }
        if let Some(snd) = &m.sound {
            self.set_bool("sound.present", true);
            if let Some(k) = snd.kind {
                self.set("sound.virtualDev", sound_dev_name(k));
            }
            self.set_bool("sound.startConnected", snd.start_connected);
        }
        if let Some(vram) = m.video_ram_bytes {
            self.set("svga.vramSize", &vram.to_string());
        }
    }

    /// Serial (`prefix` `serial`) or parallel ports.
    fn ports(&mut self, prefix: &str, ports: &[Port]) {
        for p in ports {
            let base = format!("{prefix}{}", p.index);
            self.set_bool(&format!("{base}.present"), true);
            if let Some(t) = &p.file_type {
                self.set(&format!("{base}.fileType"), t);
            }
            if let Some(f) = &p.file_name {
                self.set(&format!("{base}.fileName"), f);
            }
            self.set_bool(&format!("{base}.startConnected"), p.start_connected);
        }
    }

    /// The typed VMware settings, in their `.vmx` spelling.
    fn settings(&mut self, m: &Machine) {
        for (setting, value) in m.vmware.iter() {
            if let Some(k) = setting_key(setting) {
                self.set(&k, &setting_text(value));
            }
        }
    }

    /// Extra configuration, but what would shadow a mapped key or a typed setting.
    fn extra_config(&mut self, m: &Machine) {
        for (k, val) in &m.extra_config {
            if is_mapped_key(k) || k.is_empty() {
                continue;
            }
            // A typed setting wins over a raw entry with its key.
            if setting_of_key(k, &m.nics).is_some_and(|s| m.vmware.get(s).is_some()) {
                continue;
            }
            self.set(k, val);
        }
    }
}
