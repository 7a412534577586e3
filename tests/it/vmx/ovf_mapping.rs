//! The OVF ↔ Machine mapping against real descriptors.

use ovftool::ovf::{Envelope, OvfVersion};
use ovftool::vm::{
    BusFamily, CdBacking, ControllerKind, Firmware, GuestOs, MacAddress, Machine, NicAdapter,
    SettingValue, SoundKind, VmwareSetting,
};
use ovftool::vmx::Vmx;
use ovftool::ErrorKind;
use proptest::prelude::*;

use crate::support;

fn envelope(rel: &str) -> Option<Envelope> {
    let p = support::corpus()?.join(rel);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    Some(Envelope::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

/// What survives a trip through a `.vmx`: OVF-only facts (disk capacity and id, the CIM
/// numbers) are not in a `.vmx`, blank disks get a file name from the importer.
fn vmx_view(m: &Machine) -> Machine {
    let mut m = m.clone();
    for (i, d) in m.disks.iter_mut().enumerate() {
        d.capacity_bytes = None;
        d.disk_id = None;
        if d.file_name.is_empty() {
            d.file_name = format!("blank-{i}.vmdk");
        }
    }
    m.guest_os = match &m.guest_os.vmx_key {
        Some(k) => GuestOs::from_vmx_key(k),
        None => GuestOs::default(),
    };
    m.unmapped.clear();
    // Extra config written twice keeps the last value (a .vmx has one value per key).
    let mut seen = std::collections::HashSet::new();
    let mut extra: Vec<(String, String)> = m
        .extra_config
        .iter()
        .rev()
        .filter(|(k, _)| seen.insert(k.to_ascii_lowercase()))
        .cloned()
        .collect();
    extra.reverse();
    let present = device_names(&m);
    m.extra_config = extra
        .into_iter()
        .filter(|(k, _)| !ovftool::vmx::machine::is_mapped_key(k))
        // Extra keys of a device the machine lacks read back as a switched-off device.
        .filter(|(k, _)| device_of(k).is_none_or(|d| present.contains(&d)))
        .collect();
    m
}

/// `ethernet1.foo` → `ethernet1`, `scsi0:1.bar` → `scsi0:1`; `None` for non-device keys.
fn device_of(key: &str) -> Option<String> {
    let k = key.to_ascii_lowercase();
    let prefix = [
        "ethernet", "scsi", "sata", "nvme", "ide", "floppy", "serial", "parallel",
    ]
    .into_iter()
    .find(|p| k.starts_with(p))?;
    let rest = &k[prefix.len()..];
    let n = rest.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return None;
    }
    let mut end = prefix.len() + n;
    if let Some(r) = k[end..].strip_prefix(':') {
        let m = r.bytes().take_while(u8::is_ascii_digit).count();
        if m == 0 {
            return None;
        }
        end += 1 + m;
    }
    k[end..].starts_with('.').then(|| k[..end].to_string())
}

fn device_names(m: &Machine) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    for c in &m.controllers {
        out.insert(format!("{}{}", c.family().name(), c.bus));
    }
    for d in &m.disks {
        out.insert(d.attachment.to_string());
    }
    for c in &m.cdroms {
        out.insert(c.attachment.to_string());
    }
    for n in &m.nics {
        out.insert(format!("ethernet{}", n.index));
    }
    for f in &m.floppies {
        out.insert(format!("floppy{}", f.index));
    }
    out
}

#[test]
fn ovftool_made_descriptor() {
    let Some(env) = envelope(
        "cyberus-technology__virtualbox-kvm/src/VBox/ValidationKit/tests/api/_extracted/tdAppliance1-t3-ovftool-4.1.0/tdAppliance1-t3-ovftool-4.1.0.ovf",
    ) else {
        return;
    };
    let (m, warnings) = Machine::from_envelope(&env, None, None).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(m.name.as_deref(), Some("tdAppliance1-t3"));
    assert_eq!(m.hardware_version, Some(11));
    assert_eq!(m.cpus, 1);
    assert_eq!(m.memory_mib, 256);
    assert_eq!(m.guest_os.guest_id.as_deref(), Some("otherGuest64"));
    assert_eq!(m.guest_os.vmx_key.as_deref(), Some("other-64"));
    assert_eq!(m.guest_os.cim_id, Some(102));
    let ide: Vec<u32> = m
        .controllers
        .iter()
        .filter(|c| c.kind == ControllerKind::Ide)
        .map(|c| c.bus)
        .collect();
    assert_eq!(ide, vec![1, 0]);
    assert_eq!(m.disks.len(), 1);
    assert_eq!(m.disks[0].attachment.to_string(), "ide0:0");
    assert_eq!(
        m.disks[0].file_name,
        "tdAppliance1-t3-ovftool-4.1.0-disk1.vmdk.gz"
    );
    assert_eq!(m.disks[0].capacity_bytes, Some(1 << 30));
    assert_eq!(m.disks[0].disk_id.as_deref(), Some("vmdisk1"));
    assert_eq!(m.cdroms.len(), 1);
    assert_eq!(m.cdroms[0].attachment.to_string(), "ide1:0");
    assert!(!m.cdroms[0].start_connected);
    assert_eq!(m.cdroms[0].backing, CdBacking::Client);
    assert_eq!(m.nics.len(), 1);
    assert_eq!(m.nics[0].adapter, Some(NicAdapter::E1000));
    assert_eq!(m.nics[0].network.as_deref(), Some("nat"));
    assert!(m.nics[0].start_connected);
    assert_eq!(m.nics[0].mac, MacAddress::Generated);
    assert_eq!(m.sound.and_then(|s| s.kind), Some(SoundKind::Es1371));
    assert!(m.vmci);
    assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
    assert_eq!(
        m.vmware.get(VmwareSetting::ToolsSyncTime),
        Some(SettingValue::Bool(true))
    );
    assert_eq!(
        m.vmware.get(VmwareSetting::NicWakeOnLan(0)),
        Some(SettingValue::Bool(false))
    );
    let text = m.to_vmx().to_text();
    assert!(text.contains("tools.syncTime = \"TRUE\""), "{text}");
    assert!(
        text.contains("ethernet0.wakeOnPcktRcv = \"FALSE\""),
        "{text}"
    );
    // The .vmx an import writes from it carries the keys the import acceptance looks for.
    let text = m.to_vmx().to_text();
    for k in ["numvcpus", "memsize", "virtualHW.version", "guestOS"] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{k} ="))),
            "{k} missing:\n{text}"
        );
    }
}

#[test]
fn virtualbox_ovf2_descriptor() {
    let Some(env) = envelope("glennmatthews__cot/COT/tests/ubuntu.2.0.ovf") else {
        return;
    };
    let (m, warnings) = Machine::from_envelope(&env, None, None).unwrap();
    // VirtualBox's hardware family is not VMware's.
    assert!(
        warnings.iter().any(|w| w.subject == "VirtualSystemType"),
        "{warnings:?}"
    );
    assert_eq!(m.hardware_version, None);
    assert!(m.memory_mib > 0);
    assert_eq!(m.disks.len(), 1, "{m:#?}");
    assert!(m.nics.iter().all(|n| n.adapter.is_some()), "{:?}", m.nics);
    let sata_or_ide = m
        .controllers
        .iter()
        .any(|c| matches!(c.family(), BusFamily::Sata | BusFamily::Ide));
    assert!(sata_or_ide, "{:?}", m.controllers);
    assert!(m.guest_os.guest_id.is_some());
}

#[test]
fn efi_and_cores_per_socket_from_vmw_config() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
  xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:id="file1" ovf:href="disk1.vmdk"/><File ovf:id="iso" ovf:href="seed.iso"/></References>
  <DiskSection><Info>d</Info>
    <Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="10" ovf:capacityAllocationUnits="byte * 2^30"/>
    <Disk ovf:diskId="blank" ovf:capacity="1073741824"/>
  </DiskSection>
  <DeploymentOptionSection><Info>c</Info>
    <Configuration ovf:id="small" ovf:default="true"><Label>S</Label><Description>s</Description></Configuration>
    <Configuration ovf:id="large"><Label>L</Label><Description>l</Description></Configuration>
  </DeploymentOptionSection>
  <VirtualSystem ovf:id="vm">
    <Info>x</Info>
    <OperatingSystemSection ovf:id="80" ovf:version="6"><Info>os</Info></OperatingSystemSection>
    <VirtualHardwareSection><Info>hw</Info>
      <System><vssd:ElementName>f</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-14</vssd:VirtualSystemType></System>
      <Item ovf:configuration="small"><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>cpu</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity><vmw:CoresPerSocket ovf:required="false">2</vmw:CoresPerSocket></Item>
      <Item ovf:configuration="large"><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>cpu</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>8</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^30</rasd:AllocationUnits><rasd:ElementName>mem</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>4</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>scsi</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>sata</rasd:ElementName><rasd:InstanceID>4</rasd:InstanceID><rasd:ResourceSubType>vmware.sata.ahci</rasd:ResourceSubType><rasd:ResourceType>20</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>d0</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>5</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>d1</rasd:ElementName><rasd:HostResource>ovf:/disk/blank</rasd:HostResource><rasd:InstanceID>6</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>1</rasd:AddressOnParent><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation><rasd:ElementName>cd</rasd:ElementName><rasd:HostResource>ovf:/file/iso</rasd:HostResource><rasd:InstanceID>7</rasd:InstanceID><rasd:Parent>4</rasd:Parent><rasd:ResourceSubType>vmware.cdrom.iso</rasd:ResourceSubType><rasd:ResourceType>15</rasd:ResourceType></Item>
      <Item><rasd:Address>00:50:56:aa:bb:cc</rasd:Address><rasd:AutomaticAllocation>false</rasd:AutomaticAllocation><rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>nic</rasd:ElementName><rasd:InstanceID>8</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
      <Item><rasd:ElementName>usb</rasd:ElementName><rasd:InstanceID>9</rasd:InstanceID><rasd:ResourceSubType>vmware.usb.xhci</rasd:ResourceSubType><rasd:ResourceType>23</rasd:ResourceType></Item>
      <Item><rasd:ElementName>video</rasd:ElementName><rasd:InstanceID>10</rasd:InstanceID><rasd:ResourceType>24</rasd:ResourceType><vmw:Config ovf:required="false" vmw:key="videoRamSizeInKB" vmw:value="16384"/></Item>
      <Item><rasd:ElementName>tape</rasd:ElementName><rasd:InstanceID>11</rasd:InstanceID><rasd:ResourceType>18</rasd:ResourceType></Item>
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
      <vmw:Config ovf:required="false" vmw:key="bootOptions.efiSecureBootEnabled" vmw:value="true"/>
      <vmw:ExtraConfig ovf:required="false" vmw:key="nvram" vmw:value="vm.nvram"/>
      <vmw:ExtraConfig ovf:required="false" vmw:key="guestinfo.role" vmw:value="db"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>"#;
    let env = Envelope::parse(xml).unwrap();
    let (m, warnings) = Machine::from_envelope(&env, None, None).unwrap();
    assert!(warnings.iter().all(|w| !w.message.is_empty()));
    assert_eq!(m.hardware_version, Some(14));
    assert_eq!((m.cpus, m.cores_per_socket), (2, Some(2)));
    assert_eq!(m.memory_mib, 4096);
    assert_eq!(m.firmware, Firmware::Efi);
    assert!(m.secure_boot);
    assert_eq!(m.nvram_file.as_deref(), Some("vm.nvram"));
    assert_eq!(m.guest_os.guest_id.as_deref(), Some("rhel6_64Guest"));
    assert_eq!(m.guest_os.vmx_key.as_deref(), Some("rhel6-64"));
    assert_eq!(m.controllers[0].kind, ControllerKind::Pvscsi);
    assert_eq!(m.controllers[1].kind, ControllerKind::Sata);
    // The second disk asked for the taken unit 0: it moves to the next free unit.
    let at: Vec<String> = m.disks.iter().map(|d| d.attachment.to_string()).collect();
    assert_eq!(at, vec!["scsi0:0", "scsi0:1"]);
    assert!(warnings.iter().any(|w| w.message.contains("using 1")));
    assert_eq!(m.disks[1].file_name, "");
    assert_eq!(m.disks[1].capacity_bytes, Some(1 << 30));
    assert_eq!(
        m.cdroms[0].backing,
        CdBacking::Image {
            file: "seed.iso".into()
        }
    );
    assert!(m.cdroms[0].start_connected);
    assert_eq!(
        m.nics[0].mac,
        MacAddress::Static {
            address: "00:50:56:aa:bb:cc".into()
        }
    );
    assert!(!m.nics[0].start_connected);
    assert!(m.usb.xhci && !m.usb.usb2);
    assert_eq!(m.video_ram_bytes, Some(16 << 20));
    assert_eq!(
        m.extra_config,
        vec![("guestinfo.role".to_string(), "db".to_string())]
    );
    assert_eq!(m.unmapped.len(), 1, "{:?}", m.unmapped);
    assert!(m.unmapped[0].item.contains("tape"));

    let (large, _) = Machine::from_envelope(&env, None, Some("large")).unwrap();
    assert_eq!((large.cpus, large.cores_per_socket), (8, None));
    let e = Machine::from_envelope(&env, None, Some("huge")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidOvf);
    let e = Machine::from_envelope(&env, Some("other"), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidOvf);
}

#[test]
fn vapp_needs_a_choice() {
    let Some(env) = envelope("vmware__govmomi/ovf/fixtures/virtualsystemcollection.ovf") else {
        return;
    };
    let systems = env.virtual_systems();
    if systems.len() < 2 {
        return;
    }
    let e = Machine::from_envelope(&env, None, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    for vs in &systems {
        Machine::from_envelope(&env, Some(&vs.id), None).unwrap();
    }
}

/// Every corpus descriptor that parses maps without panicking, and each of its machines
/// survives `to_vmx` → `from_vmx` unchanged (apart from OVF-only facts).
#[test]
fn corpus_descriptors_map_and_survive_a_vmx() {
    let mut mapped = 0usize;
    let mut unmapped_items = 0usize;
    let mut failed = 0usize;
    let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
    for p in super::corpus_files(&["ovf"]) {
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        let Ok(env) = Envelope::parse(&bytes) else {
            continue;
        };
        let options: Vec<Option<String>> = std::iter::once(None)
            .chain(env.deployment_options().into_iter().map(|o| Some(o.id)))
            .collect();
        for vs in env.virtual_systems() {
            for opt in &options {
                let (m, _) = match Machine::from_envelope(&env, Some(&vs.id), opt.as_deref()) {
                    Ok(r) => r,
                    Err(e) => {
                        // Only a system without hardware may fail, or one that attaches a
                        // disk twice (`validate` says `disk-attached-twice` for it too).
                        let twice = env
                            .validate(&Default::default())
                            .iter()
                            .any(|d| d.code == "disk-attached-twice");
                        assert!(
                            vs.hardware.is_empty()
                                || (twice && e.message().contains("is attached more than once")),
                            "{} {}: {e}",
                            p.display(),
                            vs.id
                        );
                        failed += 1;
                        continue;
                    }
                };
                mapped += 1;
                unmapped_items += m.unmapped.len();
                for u in &m.unmapped {
                    let what = u.item.split(" (").next().unwrap_or("").to_string();
                    *reasons.entry(format!("{}: {what}", u.reason)).or_default() += 1;
                }
                let mut named = m.clone();
                for (i, d) in named.disks.iter_mut().enumerate() {
                    if d.file_name.is_empty() {
                        d.file_name = format!("blank-{i}.vmdk");
                    }
                }
                let text = named.to_vmx().to_bytes();
                let (back, w) = Machine::from_vmx(&Vmx::parse(&text).unwrap());
                assert!(
                    w.iter().all(|w| w.subject == "guestOS"),
                    "{} {}: {w:?}",
                    p.display(),
                    vs.id
                );
                assert_eq!(back, vmx_view(&m), "{} {}", p.display(), vs.id);
            }
        }
    }
    if support::corpus().is_some() {
        assert!(mapped > 300, "only {mapped} machines mapped");
    }
    eprintln!(
        "mapped {mapped} corpus machines ({failed} without hardware), {unmapped_items} unmapped items reported"
    );
    let mut top: Vec<_> = reasons.into_iter().collect();
    top.sort_by_key(|t| std::cmp::Reverse(t.1));
    for (r, n) in top.iter().take(15) {
        eprintln!("  {n:5} {r}");
    }
}

/// vCloud Director exports say `ovf:id="1"` (Other) and put the real guest in `vmw:osType`:
/// the imported machine takes the vmw:osType, and its `.vmx` reads back as the same machine
/// in every fact a `.vmx` stores (the round trip import once ran in production, now a test).
#[test]
fn vcloud_director_descriptors_read_back_from_their_vmx() {
    for rel in [
        "vmware__govmomi/ovf/fixtures/external/AddOvf/vCloudCfg/vcloud-cfg-and-properties.ovf",
        "vmware__govmomi/ovf/fixtures/external/Alpha-demo/vApp_with_2vms/vApp_with_2vms.ovf",
        "vmware__govmomi/ovf/fixtures/external/DuplicateVappTest/DuplicateVappTest.ovf",
    ] {
        let Some(env) = envelope(rel) else {
            return;
        };
        for vs in env.virtual_systems() {
            let os = vs
                .operating_system
                .clone()
                .expect("an OperatingSystemSection");
            let (m, _) = Machine::from_envelope(&env, Some(&vs.id), None).unwrap();
            // (`otherGuest` is the API name of the `.vmx` key `other`.)
            if os.vmw_os_type.is_some() {
                assert!(m.guest_os.vmx_key.is_some(), "{rel}: {os:?}");
            }
            let mut named = m.clone();
            for (i, d) in named.disks.iter_mut().enumerate() {
                if d.file_name.is_empty() {
                    d.file_name = format!("blank-{i}.vmdk");
                }
            }
            let (back, w) = Machine::from_vmx(&Vmx::parse(&named.to_vmx().to_bytes()).unwrap());
            assert!(w.is_empty(), "{rel} {}: {w:?}", vs.id);
            assert_eq!(back, vmx_view(&m), "{rel} {}", vs.id);
        }
    }
}

// ---- export: Machine → descriptor → Machine ----

/// What a machine looks like after vmx → OVF → import: OVF carries no hosted connection type,
/// no CD/floppy images from the host, no serial/parallel ports; NICs are renumbered in order;
/// disks get ids; extra config comes back as a set.
fn ovf_view(m: &Machine) -> Machine {
    let mut m = m.clone();
    for (i, d) in m.disks.iter_mut().enumerate() {
        d.disk_id.get_or_insert_with(|| format!("vmdisk{}", i + 1));
    }
    for c in &mut m.cdroms {
        c.backing = match c.backing {
            CdBacking::Image { .. } | CdBacking::Client => CdBacking::Client,
            CdBacking::HostDevice { .. } => CdBacking::HostDevice { device: None },
        };
    }
    m.video_ram_bytes = m.video_ram_bytes.map(|b| b / 1024 * 1024);
    if m.name.is_none() {
        m.name = Some("vm".into());
    }
    for f in &mut m.floppies {
        f.backing = match &f.backing {
            ovftool::vm::FloppyBacking::HostDevice { .. } => {
                ovftool::vm::FloppyBacking::HostDevice { device: None }
            }
            _ => ovftool::vm::FloppyBacking::Client,
        };
    }
    for (i, n) in m.nics.iter_mut().enumerate() {
        n.index = i as u32;
        // A hosted connection type has no OVF field of its own: it travels as the network name.
        n.network = n.network_name().map(str::to_string);
        n.connection_type = None;
    }
    m.floppies
        .iter_mut()
        .enumerate()
        .for_each(|(i, f)| f.index = i as u32);
    if m.sound.is_some_and(|s| s.kind.is_none()) {
        m.sound = None;
    }
    if !m.usb.usb2 {
        m.usb.ehci = false;
    }
    m.hardware_version.get_or_insert(4);
    m.serial_ports.clear();
    m.parallel_ports.clear();
    m.unmapped.clear();
    m.nvram_file = None; // shipped only when the exporter says so (ExportOptions::nvram_href)
    m.guest_os = match &m.guest_os.guest_id {
        Some(g) => GuestOs::from_guest_id(g),
        None => GuestOs::from_guest_id(match &m.guest_os.vmx_key {
            Some(k) if k.contains("64") => "otherGuest64",
            _ => "otherGuest",
        }),
    };
    m.extra_config.sort();
    m
}

/// Keys and values of mapped settings come back in VMware's canonical spelling.
fn comparable(mut m: Machine) -> Machine {
    m.unmapped.clear();
    for (k, v) in &mut m.extra_config {
        *k = k.to_ascii_lowercase();
        *v = v.to_ascii_lowercase();
    }
    m.extra_config.sort();
    m.guest_os.cim_version = None;
    m
}

fn schema(version: OvfVersion) -> Option<std::path::PathBuf> {
    let rel = match version {
        OvfVersion::V2 => "schemas/ovf2-itchy-2f8ce7e/dsp8023_2.0.1.xsd",
        _ => "schemas/ovf1-xen-orchestra/dsp8023_1.1.1.xsd",
    };
    let p = support::corpus()?.join(rel);
    (p.is_file() && support::have_tool("xmllint")).then_some(p)
}

fn schema_valid(xml: &[u8], xsd: &std::path::Path) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("d.ovf");
    std::fs::write(&f, xml).unwrap();
    let out = std::process::Command::new("xmllint")
        .args(["--nonet", "--noout", "--schema"])
        .arg(xsd)
        .arg(&f)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn corpus_vmx_exports_and_imports_back() {
    for version in [OvfVersion::V1, OvfVersion::V2] {
        corpus_vmx_exports_and_imports_back_in(version);
    }
}

fn corpus_vmx_exports_and_imports_back_in(version: OvfVersion) {
    let xsd = schema(version);
    if let Some(xsd) = &xsd {
        // The check itself can fail.
        let ns = version.namespace();
        let bad = format!(r#"<Envelope xmlns="{ns}"><Bogus/></Envelope>"#);
        assert!(schema_valid(bad.as_bytes(), xsd).is_err());
    }
    for p in super::corpus_files(&["vmx", "vmtx"]) {
        let vmx = Vmx::read_file(&p, &ovftool::Limits::DEFAULT).unwrap();
        let (mut m, _) = Machine::from_vmx(&vmx);
        if m.memory_mib == 0 {
            continue; // a fragment, not a VM
        }
        for d in &mut m.disks {
            d.capacity_bytes = Some(8 << 30);
        }
        let (env, _warnings) = m
            .to_envelope(&ovftool::ovf::machine::DescriptorOptions {
                version: Some(version),
                ..Default::default()
            })
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let xml = env.to_bytes().unwrap();
        if let Some(xsd) = &xsd {
            schema_valid(&xml, xsd)
                .unwrap_or_else(|e| panic!("{}: descriptor not schema-valid: {e}", p.display()));
        }
        let env = Envelope::parse(&xml).unwrap();
        let (back, w) = Machine::from_envelope(&env, None, None).unwrap();
        assert!(
            back.unmapped.is_empty(),
            "{}: {:?}",
            p.display(),
            back.unmapped
        );
        assert!(w.is_empty(), "{}: {w:?}", p.display());
        assert_eq!(
            comparable(back.clone()),
            comparable(ovf_view(&m)),
            "{}",
            p.display()
        );
        // And on to the .vmx an import writes.
        let again = Machine::from_vmx(&back.to_vmx()).0;
        assert_eq!(
            again.guest_os.vmx_key.map(|k| k.to_ascii_lowercase()),
            m.guest_os.vmx_key.map(|k| k.to_ascii_lowercase()),
            "{}",
            p.display()
        );
    }
}

#[test]
fn export_acceptance_vm_keeps_its_hardware() {
    let Some(vmx) = super::corpus_file("libguestfs__virt-v2v/tests/test-i-vmx-3.vmx") else {
        return;
    };
    let (mut m, _) = Machine::from_vmx(&vmx);
    m.disks[0].file_name = "rhel-disk1.vmdk".into();
    m.disks[0].capacity_bytes = Some(64 << 20);
    let opts = ovftool::ovf::machine::DescriptorOptions {
        nvram_href: Some("rhel-file1.nvram".into()),
        ..Default::default()
    };
    let (env, warnings) = m.to_envelope(&opts).unwrap();
    // The host ISO is not packaged: said, not hidden.
    assert!(
        warnings.iter().any(|w| w.message.contains("not packaged")),
        "{warnings:?}"
    );
    // Unless the exporter ships it.
    let shipping = ovftool::ovf::machine::DescriptorOptions {
        cdrom_image_hrefs: vec![(m.cdroms[0].attachment, "rhel-boot.iso".into())],
        ..Default::default()
    };
    let (with_iso, w) = m.to_envelope(&shipping).unwrap();
    assert!(
        !w.iter().any(|w| w.message.contains("not packaged")),
        "{w:?}"
    );
    let (iso_back, _) = Machine::from_envelope(
        &Envelope::parse(&with_iso.to_bytes().unwrap()).unwrap(),
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        iso_back.cdroms[0].backing,
        CdBacking::Image {
            file: "rhel-boot.iso".into()
        }
    );
    assert_eq!(iso_back.cdroms[0].attachment, m.cdroms[0].attachment);
    if let Some(xsd) = schema(OvfVersion::V1) {
        schema_valid(&with_iso.to_bytes().unwrap(), &xsd).unwrap();
    }
    let xml = String::from_utf8(env.to_bytes().unwrap()).unwrap();
    for needle in [
        "vmx-08",
        "vmw:osType=\"rhel6_64Guest\"",
        "ovf:id=\"80\"",
        "VirtualSCSI",
        "VmxNet3",
        "vmw:key=\"firmware\" vmw:value=\"efi\"",
        "ovf:href=\"rhel-disk1.vmdk\"",
        "ovf:href=\"rhel-file1.nvram\"",
        "ovf:capacity=\"64\"",
    ] {
        assert!(xml.contains(needle), "{needle} missing in\n{xml}");
    }
    let (back, _) =
        Machine::from_envelope(&Envelope::parse(xml.as_bytes()).unwrap(), None, None).unwrap();
    assert_eq!(back.nvram_file.as_deref(), Some("rhel-file1.nvram"));
    let text = back.to_vmx().to_text();
    for needle in [
        "memsize = \"2048\"",
        "firmware = \"efi\"",
        "pvscsi",
        "vmxnet3",
        "guestOS = \"rhel6-64\"",
        "scsi0:0.fileName = \"rhel-disk1.vmdk\"",
        "tools.syncTime = \"FALSE\"",
    ] {
        assert!(text.contains(needle), "{needle} missing in\n{text}");
    }
}

#[test]
fn export_refuses_unknown_capacity_and_invalid_machines() {
    let Some(vmx) = super::corpus_file("libguestfs__virt-v2v/tests/test-i-vmx-3.vmx") else {
        return;
    };
    let (mut m, _) = Machine::from_vmx(&vmx);
    let e = m.to_envelope(&Default::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.message().contains("capacity"), "{e}");
    m.disks[0].capacity_bytes = Some(1 << 30);
    m.disks[0].attachment.unit = 7;
    let e = m.to_envelope(&Default::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
}

/// Text that survives XML element content: OVF readers trim `Name`, `Annotation` and
/// `Connection`, so leading/trailing whitespace is not representable.
fn xml_safe(m: &mut Machine) {
    let fix = |s: &mut String| {
        *s = s.trim().to_string();
        if s.is_empty() {
            *s = "x".into();
        }
    };
    if let Some(n) = &mut m.name {
        fix(n);
    }
    if let Some(a) = &mut m.annotation {
        fix(a);
    }
    for n in &mut m.nics {
        if let Some(net) = &mut n.network {
            fix(net);
        }
    }
    for d in &mut m.disks {
        d.capacity_bytes = Some(1 << 30);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn machine_to_ovf_and_back_keeps_the_hardware(m in super::arb_machine()) {
        let mut m = m;
        xml_safe(&mut m);
        prop_assume!(m
            .validate()
            .iter()
            .all(|i| i.severity != ovftool::vm::Severity::Error));
        let (env, _) = m.to_envelope(&Default::default()).unwrap();
        let xml = env.to_bytes().unwrap();
        let env = Envelope::parse(&xml).unwrap();
        let (back, w) = Machine::from_envelope(&env, None, None).unwrap();
        prop_assert!(w.is_empty(), "{:?}", w);
        prop_assert!(back.unmapped.is_empty(), "{:?}", back.unmapped);
        prop_assert_eq!(comparable(back), comparable(ovf_view(&m)));
    }
}

#[test]
fn descriptor_with_thousands_of_disks_maps_in_linear_time() {
    let n = 5000;
    let mut refs = String::new();
    let mut disks = String::new();
    let mut items = String::new();
    for i in 0..n {
        // One element per line: the tree's column computation is linear in the line length.
        refs.push_str(&format!("<File ovf:id=\"f{i}\" ovf:href=\"d{i}.vmdk\"/>\n"));
        disks.push_str(&format!(
            "<Disk ovf:diskId=\"d{i}\" ovf:fileRef=\"f{i}\" ovf:capacity=\"1\"/>\n"
        ));
        items.push_str(&format!(
            r#"<Item><rasd:ElementName>d</rasd:ElementName><rasd:HostResource>ovf:/disk/d{i}</rasd:HostResource><rasd:InstanceID>{}</rasd:InstanceID><rasd:Parent>1</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
"#,
            i + 10
        ));
    }
    let xml = format!(
        r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
<References>{refs}</References><DiskSection><Info>d</Info>{disks}</DiskSection>
<VirtualSystem ovf:id="vm"><Info>x</Info><VirtualHardwareSection><Info>h</Info>
<Item><rasd:Address>0</rasd:Address><rasd:ElementName>s</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
{items}</VirtualHardwareSection></VirtualSystem></Envelope>"#
    );
    let t0 = std::time::Instant::now();
    let env = Envelope::parse(xml.as_bytes()).unwrap();
    eprintln!("parse: {:?}", t0.elapsed());
    let start = std::time::Instant::now();
    let (m, _) = Machine::from_envelope(&env, None, None).unwrap();
    let elapsed = start.elapsed();
    eprintln!("from_envelope: {elapsed:?}");
    // PVSCSI holds 64 disks; the rest is reported.
    assert_eq!(m.disks.len(), 64);
    assert_eq!(m.unmapped.len(), n - 64);
    assert!(elapsed.as_secs() < 10, "took {elapsed:?}");
}

/// The descriptor `shared/acceptance/mkova.py` builds for the import acceptance: the written
/// .vmx has what that script greps for.
#[test]
fn import_acceptance_descriptor_gives_the_expected_vmx() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
  xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:href="acc-disk1.vmdk" ovf:id="file1" ovf:size="1000"/></References>
  <DiskSection><Info>Virtual disks</Info>
    <Disk ovf:capacity="50331648" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1"
      ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
  <NetworkSection><Info>Networks</Info><Network ovf:name="VM Network"><Description>net</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="acc-vm"><Info>A VM</Info><Name>acc-vm</Name>
    <OperatingSystemSection ovf:id="101" vmw:osType="otherLinux64Guest"><Info>OS</Info></OperatingSystemSection>
    <VirtualHardwareSection><Info>Hardware</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>acc-vm</vssd:VirtualSystemIdentifier><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>2 virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>1024MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>1024</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>SCSI Controller 0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard Disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>7</rasd:AddressOnParent><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>Network adapter 1</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#;
    let env = Envelope::parse(xml).unwrap();
    let (mut m, warnings) = Machine::from_envelope(&env, None, None).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
    assert_eq!(m.disks[0].capacity_bytes, Some(48 << 20));
    // The importer names the written disk.
    m.disks[0].file_name = "acc-vm-disk1.vmdk".into();
    let text = m.to_vmx().to_text();
    for line in [
        "numvcpus = \"2\"",
        "memsize = \"1024\"",
        "virtualHW.version = \"13\"",
        "guestOS = \"otherlinux-64\"",
        "scsi0.virtualDev = \"pvscsi\"",
        "scsi0:0.fileName = \"acc-vm-disk1.vmdk\"",
        "ethernet0.virtualDev = \"vmxnet3\"",
        "ethernet0.networkName = \"VM Network\"",
        "displayName = \"acc-vm\"",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
    }
}
