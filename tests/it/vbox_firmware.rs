//! VirtualBox exports say EFI only in their `vbox:Machine` extension section
//! (`Hardware/Firmware type="EFI"`): import, `info` of the result and retarget for VMware must
//! carry it, `vmw:Config firmware` winning when both are there. Descriptors written here, in
//! the shape VirtualBox exports (unprefixed `Hardware` under `vbox:Machine`).

use std::path::Path;
use std::process::Command;

use ovftool::ovf::Envelope;
use ovftool::vm::{Firmware, Machine};

use crate::support::{self, tar_members};

const VBOX_NS: &str = "http://www.virtualbox.org/ovf/machine";

/// A disk-less VirtualSystem with `config` inside its hardware section and `vbox` after it;
/// `vbox_decl` declares the VirtualBox namespace.
fn descriptor(vbox_decl: &str, config: &str, vbox: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
    xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
    xmlns:vmw="http://www.vmware.com/schema/ovf" {vbox_decl}>
  <References/>
  <VirtualSystem ovf:id="fw-test">
    <Info>A virtual machine</Info>
    <OperatingSystemSection ovf:id="101"><Info>OS</Info><Description>Linux_64</Description></OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>fw-test</vssd:VirtualSystemIdentifier><vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType></System>
      <Item><rasd:ElementName>1 virtual CPU</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits><rasd:ElementName>512 MB of memory</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>512</rasd:VirtualQuantity></Item>
      {config}
    </VirtualHardwareSection>
    {vbox}
  </VirtualSystem>
</Envelope>
"#
    )
}

const VBOX_DECL: &str = r#"xmlns:vbox="http://www.virtualbox.org/ovf/machine""#;

/// A `vbox:Machine` whose Hardware has `firmware` (an element or nothing).
fn machine(prefix: &str, firmware: &str) -> String {
    format!(
        r#"<{prefix}:Machine ovf:required="false" version="1.19-linux" name="fw-test" OSType="Linux_64">
      <ovf:Info>Complete VirtualBox machine configuration in VirtualBox format</ovf:Info>
      <Hardware>
        <CPU><PAE enabled="true"/></CPU>
        <Memory RAMSize="512"/>
        {firmware}
        <Boot><Order position="1" device="HardDisk"/></Boot>
      </Hardware>
    </{prefix}:Machine>"#
    )
}

fn read(xml: &str) -> (Machine, Vec<String>) {
    let env = Envelope::parse(xml.as_bytes()).unwrap();
    let (m, w) = Machine::from_envelope(&env, None, None).unwrap();
    (m, w.into_iter().map(|w| w.to_string()).collect())
}

fn vmx_firmware(m: &Machine) -> String {
    let text = m.to_vmx().to_text();
    text.lines()
        .find_map(|l| l.strip_prefix("firmware = "))
        .unwrap_or("")
        .trim_matches('"')
        .to_string()
}

#[test]
fn virtualbox_efi_types_import_as_efi() {
    for t in ["EFI", "EFI64", "EFI32", "EFIDUAL", " efi "] {
        let fw = format!(r#"<Firmware type="{t}"/>"#);
        let (m, w) = read(&descriptor(VBOX_DECL, "", &machine("vbox", &fw)));
        assert_eq!(m.firmware, Firmware::Efi, "{t}");
        assert_eq!(vmx_firmware(&m), "efi", "{t}");
        assert!(!w.iter().any(|w| w.contains("Firmware")), "{t}: {w:?}");
    }
}

#[test]
fn virtualbox_bios_or_no_firmware_imports_as_bios() {
    for fw in [r#"<Firmware type="BIOS"/>"#, "<Firmware/>", ""] {
        let (m, _) = read(&descriptor(VBOX_DECL, "", &machine("vbox", fw)));
        assert_eq!(m.firmware, Firmware::Bios, "{fw}");
        assert_eq!(vmx_firmware(&m), "bios", "{fw}");
    }
    let (m, _) = read(&descriptor("", "", ""));
    assert_eq!(m.firmware, Firmware::Bios);
}

#[test]
fn vmw_config_firmware_wins_over_virtualbox() {
    let efi = machine("vbox", r#"<Firmware type="EFI"/>"#);
    let bios_cfg = r#"<vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="bios"/>"#;
    let (m, _) = read(&descriptor(VBOX_DECL, bios_cfg, &efi));
    assert_eq!(m.firmware, Firmware::Bios);
    let bios = machine("vbox", r#"<Firmware type="BIOS"/>"#);
    let efi_cfg = r#"<vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>"#;
    let (m, _) = read(&descriptor(VBOX_DECL, efi_cfg, &bios));
    assert_eq!(m.firmware, Firmware::Efi);
}

#[test]
fn unknown_virtualbox_firmware_type_is_a_warning_naming_it() {
    let (m, w) = read(&descriptor(
        VBOX_DECL,
        "",
        &machine("vbox", r#"<Firmware type="CoreBoot7"/>"#),
    ));
    assert_eq!(m.firmware, Firmware::Bios);
    assert!(
        w.iter()
            .any(|w| w.contains("Firmware") && w.contains("CoreBoot7")),
        "{w:?}"
    );
}

#[test]
fn virtualbox_section_is_found_by_namespace_not_prefix() {
    let fw = r#"<Firmware type="EFI"/>"#;
    // Another prefix for VirtualBox's namespace.
    let decl = format!(r#"xmlns:vb="{VBOX_NS}""#);
    let (m, _) = read(&descriptor(&decl, "", &machine("vb", fw)));
    assert_eq!(m.firmware, Firmware::Efi);
    // The `vbox` prefix bound to some other namespace is not VirtualBox's section.
    let decl = r#"xmlns:vbox="http://example.com/not-virtualbox""#;
    let (m, _) = read(&descriptor(decl, "", &machine("vbox", fw)));
    assert_eq!(m.firmware, Firmware::Bios);
}

fn run(args: &[&str]) -> std::process::Output {
    let out = Command::new(support::bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn write_ovf(dir: &Path, xml: &str) -> String {
    let p = dir.join("fw.ovf");
    std::fs::write(&p, xml).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn import_and_info_of_an_efi_virtualbox_export_say_efi() {
    let t = tempfile::tempdir().unwrap();
    let ovf = write_ovf(
        t.path(),
        &descriptor(VBOX_DECL, "", &machine("vbox", r#"<Firmware type="EFI"/>"#)),
    );
    let vm = t.path().join("vm");
    run(&["import", "--lax", &ovf, vm.to_str().unwrap()]);
    // The VM folder is the target or a folder named after the VM inside it.
    let vmx = std::fs::read_dir(&vm)
        .unwrap()
        .map(|e| e.unwrap().path())
        .flat_map(|p| match std::fs::read_dir(&p) {
            Ok(d) => d.map(|e| e.unwrap().path()).collect(),
            Err(_) => vec![p],
        })
        .find(|p| p.extension().is_some_and(|e| e == "vmx"))
        .expect("a .vmx");
    let text = std::fs::read_to_string(&vmx).unwrap();
    assert!(text.contains("firmware = \"efi\""), "{text}");
    let info = run(&["info", vmx.to_str().unwrap()]);
    let info = String::from_utf8_lossy(&info.stdout).to_string();
    assert!(info.contains("firmware:  efi"), "{info}");
}

/// The `vmw:Config firmware` elements of a descriptor, as (value, parent local name).
fn vmw_firmware(xml: &str) -> Vec<String> {
    let env = Envelope::parse(xml.as_bytes()).unwrap();
    let vs = env.virtual_systems();
    vs[0].hardware[0]
        .config
        .iter()
        .filter(|c| c.key == "firmware")
        .map(|c| c.value.clone())
        .collect()
}

fn retarget_descriptor(dir: &Path, xml: &str, extra: &[&str]) -> (String, String) {
    let ovf = write_ovf(dir, xml);
    let out = dir.join("r.ova");
    let _ = std::fs::remove_file(&out);
    let mut args = vec!["retarget", "--for", "esxi-7.0"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[&ovf, out.to_str().unwrap()]);
    let o = run(&args);
    let (_, desc) = tar_members(&out)
        .into_iter()
        .find(|(n, _)| n.ends_with(".ovf"))
        .expect("a descriptor");
    (
        String::from_utf8(desc).unwrap(),
        String::from_utf8_lossy(&o.stdout).to_string(),
    )
}

#[test]
fn retarget_for_esxi_writes_virtualbox_efi_as_vmw_config() {
    let t = tempfile::tempdir().unwrap();
    let efi = descriptor(
        VBOX_DECL,
        "",
        &machine("vbox", r#"<Firmware type="EFI64"/>"#),
    );
    for extra in [&[][..], &["--strip-vendor-sections"][..]] {
        let (desc, changes) = retarget_descriptor(t.path(), &efi, extra);
        assert_eq!(vmw_firmware(&desc), vec!["efi"], "{extra:?}\n{desc}");
        assert!(changes.contains("firmware"), "{changes}");
        let (m, _) = read(&desc);
        assert_eq!(m.firmware, Firmware::Efi);
    }
    // BIOS, or VMware's own setting already there: nothing added.
    let bios = descriptor(
        VBOX_DECL,
        "",
        &machine("vbox", r#"<Firmware type="BIOS"/>"#),
    );
    let (desc, _) = retarget_descriptor(t.path(), &bios, &[]);
    assert!(vmw_firmware(&desc).is_empty(), "{desc}");
    let cfg = r#"<vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="bios"/>"#;
    let both = descriptor(
        VBOX_DECL,
        cfg,
        &machine("vbox", r#"<Firmware type="EFI"/>"#),
    );
    let (desc, _) = retarget_descriptor(t.path(), &both, &[]);
    assert_eq!(vmw_firmware(&desc), vec!["bios"], "{desc}");
}
