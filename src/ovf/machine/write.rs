//! Export: [`Machine`] → descriptor, in VMware's layout, one small function per device family.

use std::collections::HashMap;

use super::{controller_resource_type, controller_sub_type, nic_sub_type, sound_sub_type};
use super::{vsphere_text, NIC_CONFIG, VSPHERE_CONFIG};
use crate::error::{Error, Result};
use crate::ovf::model::{Disk as OvfDisk, FileRef, Network};
use crate::ovf::write::{EnvelopeBuilder, HardwareSpec, ItemSpec, OsSpec, SystemSpec};
use crate::ovf::{Envelope, OvfVersion, ResourceType};
use crate::vm::{
    is_runtime_key, Attachment, BusFamily, CdBacking, Firmware, FloppyBacking, MacAddress, Machine,
    Warning,
};

/// How [`Machine::to_envelope_builder`] names what it writes into the descriptor (the OVF
/// side of an export; the whole export is configured by [`crate::export::ExportOptions`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescriptorOptions {
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

/// A file reference without size (the exporter sets it once the file is written).
fn new_file_ref(id: String, href: String) -> FileRef {
    FileRef {
        id,
        href,
        size: None,
        compression: None,
        chunk_size: None,
    }
}

impl Machine {
    /// Builds the descriptor of this machine for export (VMware's layout: CPU, memory,
    /// controllers, disks, CD/floppy, NICs, USB, sound, video, VMCI; firmware and mapped
    /// settings as `vmw:Config`; other extra configuration as `vmw:ExtraConfig`).
    ///
    /// Each disk becomes `File file{N}` (href = [`crate::vm::Disk::file_name`], the name the
    /// exporter gives the written disk; size left for [`Envelope::set_file_size`]) and `Disk`
    /// with its capacity; a disk with an empty file name becomes a blank disk. What OVF cannot
    /// carry (serial/parallel ports, CD images from the host) is returned as warnings.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] when a disk's capacity is unknown or the machine fails
    /// [`Machine::validate`] with errors.
    pub fn to_envelope_builder(
        &self,
        opts: &DescriptorOptions,
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
        let mut w = Writer::new(self, opts);
        // The order below is the order of files, items and warnings in the result.
        w.disk_files()?;
        w.nvram_file();
        w.networks();
        let os = w.operating_system();
        w.hardware_family();
        w.processor_and_memory();
        w.controllers();
        w.disks();
        w.cdroms();
        w.floppies();
        w.nics();
        w.usb();
        w.sound();
        w.video();
        w.vmci();
        w.ports();
        w.settings();
        w.extra_config();
        Ok(w.finish(os))
    }

    /// [`Machine::to_envelope_builder`] and build.
    ///
    /// # Errors
    /// As [`Machine::to_envelope_builder`] and [`EnvelopeBuilder::build`].
    pub fn to_envelope(&self, opts: &DescriptorOptions) -> Result<(Envelope, Vec<Warning>)> {
        let (b, w) = self.to_envelope_builder(opts)?;
        Ok((b.build()?, w))
    }
}

/// The descriptor being written.
struct Writer<'a> {
    m: &'a Machine,
    opts: &'a DescriptorOptions,
    b: EnvelopeBuilder,
    hw: HardwareSpec,
    warnings: Vec<Warning>,
    /// The last InstanceID given (items are numbered 1, 2, ... in order).
    last_id: u32,
    /// Controller (family, bus) → its InstanceID, for the `Parent` of what hangs on it.
    ctl_ids: HashMap<(BusFamily, u32), String>,
    /// NIC index → its item, for the per-adapter settings.
    nic_items: HashMap<u32, usize>,
    /// The video item, for the video settings.
    video_item: Option<usize>,
}

impl<'a> Writer<'a> {
    fn new(m: &'a Machine, opts: &'a DescriptorOptions) -> Self {
        Writer {
            m,
            opts,
            b: EnvelopeBuilder {
                version: opts.version.unwrap_or(OvfVersion::V1),
                ..EnvelopeBuilder::default()
            },
            hw: HardwareSpec::default(),
            warnings: Vec::new(),
            last_id: 0,
            ctl_ids: HashMap::new(),
            nic_items: HashMap::new(),
            video_item: None,
        }
    }

    fn warn(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning::new(subject, message));
    }

    /// Adds an item with the next InstanceID; returns its index and id.
    fn push(&mut self, item: ItemSpec) -> (usize, String) {
        self.last_id += 1;
        let id = self.last_id.to_string();
        self.hw.items.push(ItemSpec {
            instance_id: id.clone(),
            ..item
        });
        (self.hw.items.len() - 1, id)
    }

    /// The InstanceID of the controller a device is attached to.
    fn parent_of(&self, at: &Attachment) -> Option<String> {
        self.ctl_ids.get(&(at.family, at.bus)).cloned()
    }

    // -----------------------------------------------------------------------------------------
    // References, disks, networks, operating system.

    /// `File` and `Disk` entries of the disks.
    fn disk_files(&mut self) -> Result<()> {
        let m = self.m;
        for (i, d) in m.disks.iter().enumerate() {
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
                self.b
                    .files
                    .push(new_file_ref(id.clone(), d.file_name.clone()));
                Some(id)
            };
            let (cap, units) = capacity_in_units(capacity);
            self.b.disks.push(OvfDisk {
                disk_id,
                file_ref,
                capacity: cap,
                capacity_units: units,
                format: Some(STREAM_OPTIMIZED_FORMAT.to_string()),
                populated_size: None,
                parent_ref: None,
            });
        }
        Ok(())
    }

    fn nvram_file(&mut self) {
        if let Some(href) = &self.opts.nvram_href {
            self.b
                .files
                .push(new_file_ref("nvram".to_string(), href.clone()));
        }
    }

    fn networks(&mut self) {
        let m = self.m;
        for n in &m.nics {
            if let Some(net) = n.network_name() {
                if !self.b.networks.iter().any(|x| x.name == net) {
                    self.b.networks.push(Network {
                        name: net.to_string(),
                        description: Some(format!("The {net} network")),
                    });
                }
            }
        }
    }

    fn operating_system(&mut self) -> OsSpec {
        let m = self.m;
        let g = &m.guest_os;
        let guest_id = match &g.guest_id {
            Some(id) => id.clone(),
            None => {
                let id = match &g.vmx_key {
                    Some(k) if k.contains("64") => "otherGuest64",
                    _ => "otherGuest",
                };
                self.warn(
                    "guestOS",
                    format!(
                        "unknown guest OS {:?}: exported as {id}",
                        g.vmx_key.as_deref().unwrap_or("")
                    ),
                );
                id.to_string()
            }
        };
        OsSpec {
            cim_id: g
                .cim_id
                .or_else(|| crate::vm::guestos::cim_for_guest_id(&guest_id))
                .unwrap_or(1),
            version: g.cim_version.clone(),
            vmw_os_type: Some(guest_id),
            description: None,
        }
    }

    fn hardware_family(&mut self) {
        let family = match self.m.hardware_version {
            Some(v) => format!("vmx-{v:02}"),
            None => {
                self.warn(
                    "virtualHW.version",
                    "no hardware version: exported as vmx-04 (VMware's default)",
                );
                "vmx-04".to_string()
            }
        };
        self.hw.families.push(family);
    }

    // -----------------------------------------------------------------------------------------
    // Items, in VMware's order.

    fn processor_and_memory(&mut self) {
        let m = self.m;
        self.push(ItemSpec {
            resource_type: ResourceType::Processor,
            element_name: format!("{} virtual CPU(s)", m.cpus),
            description: Some("Number of Virtual CPUs".into()),
            allocation_units: Some("hertz * 10^6".into()),
            virtual_quantity: Some(u64::from(m.cpus)),
            cores_per_socket: m.cores_per_socket,
            ..ItemSpec::default()
        });
        self.push(ItemSpec {
            resource_type: ResourceType::Memory,
            element_name: format!("{}MB of memory", m.memory_mib),
            description: Some("Memory Size".into()),
            allocation_units: Some("byte * 2^20".into()),
            virtual_quantity: Some(m.memory_mib),
            ..ItemSpec::default()
        });
    }

    fn controllers(&mut self) {
        let m = self.m;
        for c in &m.controllers {
            let (name, desc) = match c.family() {
                BusFamily::Ide => (format!("ideController{}", c.bus), "IDE Controller"),
                BusFamily::Scsi => (format!("SCSIController{}", c.bus), "SCSI Controller"),
                BusFamily::Sata => (format!("SATAController{}", c.bus), "SATA Controller"),
                BusFamily::Nvme => (format!("NVMEController{}", c.bus), "NVMe Controller"),
            };
            let (_, id) = self.push(ItemSpec {
                resource_type: controller_resource_type(c.kind),
                resource_sub_type: controller_sub_type(c.kind).map(str::to_string),
                element_name: name,
                description: Some(desc.into()),
                address: Some(c.bus.to_string()),
                ..ItemSpec::default()
            });
            self.ctl_ids.insert((c.family(), c.bus), id);
        }
    }

    fn disks(&mut self) {
        let m = self.m;
        for (i, d) in m.disks.iter().enumerate() {
            let disk_id = self
                .b
                .disks
                .get(i)
                .map(|x| x.disk_id.clone())
                .unwrap_or_default();
            self.push(ItemSpec {
                resource_type: ResourceType::DiskDrive,
                element_name: format!("disk{i}"),
                host_resources: vec![format!("ovf:/disk/{disk_id}")],
                parent: self.parent_of(&d.attachment),
                address_on_parent: Some(d.attachment.unit.to_string()),
                ..ItemSpec::default()
            });
        }
    }

    fn cdroms(&mut self) {
        let m = self.m;
        for (i, c) in m.cdroms.iter().enumerate() {
            let shipped = self
                .opts
                .cdrom_image_hrefs
                .iter()
                .find(|(at, _)| *at == c.attachment)
                .map(|(_, href)| href);
            let mut host_resources = Vec::new();
            let sub = match (&c.backing, shipped) {
                (CdBacking::Image { .. }, Some(href)) => {
                    let id = cdrom_file_id(i);
                    self.b.files.push(new_file_ref(id.clone(), href.clone()));
                    host_resources.push(format!("ovf:/file/{id}"));
                    "vmware.cdrom.iso"
                }
                (CdBacking::Image { file }, None) => {
                    self.warn(
                        format!("{} (CD-ROM)", c.attachment),
                        format!("image {file:?} is not packaged: exported as a client drive"),
                    );
                    "vmware.cdrom.remotepassthrough"
                }
                (CdBacking::Client, _) => "vmware.cdrom.remotepassthrough",
                (CdBacking::HostDevice { .. }, _) => "vmware.cdrom.atapi",
            };
            self.push(ItemSpec {
                host_resources,
                resource_type: ResourceType::CdDrive,
                resource_sub_type: Some(sub.into()),
                element_name: format!("cdrom{i}"),
                parent: self.parent_of(&c.attachment),
                address_on_parent: Some(c.attachment.unit.to_string()),
                automatic_allocation: Some(c.start_connected),
                required: Some(false),
                ..ItemSpec::default()
            });
        }
    }

    fn floppies(&mut self) {
        let m = self.m;
        for f in &m.floppies {
            let sub = match &f.backing {
                FloppyBacking::Image { file } => {
                    self.warn(
                        format!("floppy{}", f.index),
                        format!("image {file:?} is not packaged: exported as a client drive"),
                    );
                    "vmware.floppy.remotedevice"
                }
                FloppyBacking::Client => "vmware.floppy.remotedevice",
                FloppyBacking::HostDevice { .. } => "vmware.floppy.device",
            };
            self.push(ItemSpec {
                resource_type: ResourceType::FloppyDrive,
                resource_sub_type: Some(sub.into()),
                element_name: format!("floppy{}", f.index),
                automatic_allocation: Some(f.start_connected),
                required: Some(false),
                ..ItemSpec::default()
            });
        }
    }

    fn nics(&mut self) {
        let m = self.m;
        for n in &m.nics {
            let sub = n.adapter.map(nic_sub_type);
            let desc = match (&sub, n.network_name()) {
                (Some(s), Some(net)) => format!("{s} ethernet adapter on \"{net}\""),
                (Some(s), None) => format!("{s} ethernet adapter"),
                (None, Some(net)) => format!("ethernet adapter on \"{net}\""),
                (None, None) => "ethernet adapter".to_string(),
            };
            let (at, _) = self.push(ItemSpec {
                resource_type: ResourceType::EthernetAdapter,
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
            self.nic_items.insert(n.index, at);
        }
    }

    fn usb(&mut self) {
        let usb = self.m.usb;
        if usb.usb2 {
            self.push(ItemSpec {
                resource_type: ResourceType::UsbController,
                resource_sub_type: Some("vmware.usb.ehci".into()),
                element_name: "usb".into(),
                address: Some("0".into()),
                required: Some(false),
                config: vec![("ehciEnabled".into(), usb.ehci.to_string())],
                ..ItemSpec::default()
            });
        } else if usb.ehci {
            self.warn(
                "ehci.present",
                "EHCI without the USB controller: not exported",
            );
        }
        if usb.xhci {
            self.push(ItemSpec {
                resource_type: ResourceType::UsbController,
                resource_sub_type: Some("vmware.usb.xhci".into()),
                element_name: "usb3".into(),
                address: Some(if usb.usb2 { "1" } else { "0" }.into()),
                required: Some(false),
                ..ItemSpec::default()
            });
        }
    }

    fn sound(&mut self) {
        let Some(s) = self.m.sound else { return };
        match s.kind {
            // VMware writes sound cards as "Other" (GOVMOMI); 35 is VirtualBox's.
            Some(k) => {
                self.push(ItemSpec {
                    resource_type: ResourceType::Other,
                    resource_sub_type: Some(sound_sub_type(k).into()),
                    element_name: "sound".into(),
                    automatic_allocation: Some(s.start_connected),
                    required: Some(false),
                    ..ItemSpec::default()
                });
            }
            None => self.warn("sound", "sound card of unspecified model: not exported"),
        }
    }

    fn video(&mut self) {
        let (at, _) = self.push(ItemSpec {
            resource_type: ResourceType::GraphicsController,
            element_name: "video".into(),
            required: Some(false),
            automatic_allocation: Some(false),
            config: self
                .m
                .video_ram_bytes
                .map(|b| vec![("videoRamSizeInKB".to_string(), (b / 1024).to_string())])
                .unwrap_or_default(),
            ..ItemSpec::default()
        });
        self.video_item = Some(at);
    }

    fn vmci(&mut self) {
        if self.m.vmci {
            self.push(ItemSpec {
                resource_type: ResourceType::Other,
                resource_sub_type: Some("vmware.vmci".into()),
                element_name: "vmci".into(),
                automatic_allocation: Some(false),
                required: Some(false),
                ..ItemSpec::default()
            });
        }
    }

    /// Serial and parallel ports: their backings are host files and devices, which a package
    /// cannot carry.
    fn ports(&mut self) {
        let m = self.m;
        for p in &m.serial_ports {
            self.warn(
                format!("serial{}", p.index),
                "serial port backings are host-specific: not exported",
            );
        }
        for p in &m.parallel_ports {
            self.warn(
                format!("parallel{}", p.index),
                "parallel port backings are host-specific: not exported",
            );
        }
    }

    // -----------------------------------------------------------------------------------------
    // VMware configuration.

    /// Firmware, secure boot and the typed settings as `vmw:Config`: per-adapter ones on the
    /// NIC's item, video ones on the video item, the rest on the section.
    fn settings(&mut self) {
        if self.m.firmware == Firmware::Efi {
            self.hw.config.push(("firmware".into(), "efi".into()));
        }
        if self.m.secure_boot {
            self.hw
                .config
                .push(("bootOptions.efiSecureBootEnabled".into(), "true".into()));
        }
        let m = self.m;
        for (setting, value) in m.vmware.iter() {
            let text = vsphere_text(value);
            if let Some(n) = setting.nic_index() {
                let key = NIC_CONFIG.iter().find(|(_, s)| s(n) == setting);
                let item = self
                    .nic_items
                    .get(&n)
                    .copied()
                    .and_then(|i| self.hw.items.get_mut(i));
                match (key, item) {
                    (Some((key, _)), Some(item)) => item.config.push((key.to_string(), text)),
                    _ => self.warn(
                        format!("ethernet{n}"),
                        format!("{setting:?} of a network adapter the machine lacks: not exported"),
                    ),
                }
                continue;
            }
            let Some((_, key)) = VSPHERE_CONFIG.iter().find(|(s, _)| *s == setting) else {
                continue;
            };
            let video = self.video_item.and_then(|i| self.hw.items.get_mut(i));
            match video {
                Some(item) if setting.is_video() => item.config.push((key.to_string(), text)),
                _ => self.hw.config.push((key.to_string(), text)),
            }
        }
    }

    /// `vmw:ExtraConfig`: the extra configuration but runtime state, and the NVRAM file.
    fn extra_config(&mut self) {
        let m = self.m;
        for (k, v) in &m.extra_config {
            if is_runtime_key(k) {
                continue;
            }
            self.hw.extra_config.push((k.clone(), v.clone()));
        }
        match (&self.opts.nvram_href, &m.nvram_file) {
            (Some(href), _) => self.hw.extra_config.push(("nvram".into(), href.clone())),
            (None, Some(file)) => self.warn(
                "nvram",
                format!("NVRAM file {file:?} is not shipped: the VM starts with fresh firmware settings"),
            ),
            (None, None) => {}
        }
    }

    fn finish(mut self, os: OsSpec) -> (EnvelopeBuilder, Vec<Warning>) {
        let id = self
            .opts
            .system_id
            .clone()
            .or_else(|| self.m.name.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "vm".to_string());
        self.b.system = SystemSpec {
            name: self.m.name.clone().unwrap_or_else(|| id.clone()),
            id,
            info: None,
            os: Some(os),
            hardware: self.hw,
            products: Vec::new(),
            annotation: self.m.annotation.clone(),
            eulas: Vec::new(),
        };
        (self.b, self.warnings)
    }
}
