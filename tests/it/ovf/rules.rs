//! Validation rules from the fault (docs/CONFORMANCE.md), each on a descriptor written here.

use ovftool::ovf::{Envelope, Severity, ValidateOptions};

const HEAD: &str = r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">"#;

const CPU_MEM: &str = r#"<Item><rasd:ElementName>cpu</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
<Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>mem</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>256</rasd:VirtualQuantity></Item>"#;

const SYSTEM: &str = r#"<System><vssd:ElementName>f</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>"#;

/// A descriptor: `envelope_extra` after References, `items` appended to the hardware.
fn doc(refs: &str, envelope_extra: &str, system: &str, items: &str) -> String {
    format!(
        r#"{HEAD}<References>{refs}</References>{envelope_extra}
<VirtualSystem ovf:id="vm"><Info>vm</Info><VirtualHardwareSection><Info>hw</Info>{system}{CPU_MEM}{items}</VirtualHardwareSection></VirtualSystem></Envelope>"#
    )
}

fn findings(xml: &str, lax: bool) -> Vec<(&'static str, Severity)> {
    let env = Envelope::parse(xml.as_bytes()).unwrap();
    env.validate(&ValidateOptions { lax })
        .into_iter()
        .map(|d| (d.code, d.severity))
        .collect()
}

fn has(xml: &str, lax: bool, code: &str, sev: Severity) -> bool {
    findings(xml, lax)
        .iter()
        .any(|(c, s)| *c == code && *s == sev)
}

fn errors(xml: &str, lax: bool) -> Vec<&'static str> {
    findings(xml, lax)
        .into_iter()
        .filter(|(_, s)| *s == Severity::Error)
        .map(|(c, _)| c)
        .collect()
}

#[test]
fn the_base_descriptor_is_valid() {
    let x = doc("", "", SYSTEM, "");
    assert!(errors(&x, false).is_empty(), "{:?}", findings(&x, false));
}

#[test]
fn two_max_bound_items_for_one_instance_id_are_an_error() {
    let bound = |b: &str| {
        format!(
            r#"<Item ovf:bound="{b}"><rasd:ElementName>m</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>512</rasd:VirtualQuantity></Item>"#
        )
    };
    for b in ["max", "min"] {
        let one = doc("", "", SYSTEM, &bound(b));
        assert!(
            errors(&one, false).is_empty(),
            "{b}: {:?}",
            findings(&one, false)
        );
        let two = doc("", "", SYSTEM, &format!("{}{}", bound(b), bound(b)));
        assert_eq!(errors(&two, false), vec!["duplicate-bound"], "{b}");
    }
    let both = doc("", "", SYSTEM, &format!("{}{}", bound("min"), bound("max")));
    assert!(errors(&both, false).is_empty());
}

const DISK_ITEMS: &str = r#"<Item><rasd:Address>0</rasd:Address><rasd:ElementName>scsi</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
<Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>disk</rasd:ElementName><rasd:HostResource>ovf:/disk/d1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>"#;

#[test]
fn a_disk_without_format_is_an_error_lax_a_warning() {
    let x = doc(
        r#"<File ovf:id="f1" ovf:href="d.vmdk"/>"#,
        r#"<DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="1048576"/></DiskSection>"#,
        SYSTEM,
        DISK_ITEMS,
    );
    assert_eq!(errors(&x, false), vec!["disk-format-missing"]);
    assert!(has(&x, true, "disk-format-missing", Severity::Warning));
    let with = x.replace(
        r#"ovf:capacity="1048576"/>"#,
        r#"ovf:capacity="1048576" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>"#,
    );
    assert!(
        errors(&with, false).is_empty(),
        "{:?}",
        findings(&with, false)
    );
}

#[test]
fn unprefixed_required_attributes_are_a_warning() {
    // As GCE and some vCloud exports write them: id= and href= without ovf:.
    let x = doc(
        r#"<File id="f1" href="d.vmdk"/>"#,
        r#"<DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="1048576" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>"#,
        SYSTEM,
        DISK_ITEMS,
    );
    assert!(errors(&x, false).is_empty(), "{:?}", findings(&x, false));
    assert!(has(&x, false, "attribute-unqualified", Severity::Warning));
}

#[test]
fn an_unknown_element_in_the_ovf_namespace_is_a_warning() {
    let x = doc("", "<Frobnicate>x</Frobnicate>", SYSTEM, "");
    assert!(errors(&x, false).is_empty(), "{:?}", findings(&x, false));
    assert!(has(&x, false, "unknown-element", Severity::Warning));
    // An unknown *section* still follows ovf:required (DSP0243 §10).
    let s = doc(
        "",
        "<FrobnicateSection><Info>x</Info></FrobnicateSection>",
        SYSTEM,
        "",
    );
    assert_eq!(errors(&s, false), vec!["unknown-required-element"]);
}

#[test]
fn what_ovftool_accepts_is_not_an_error() {
    let eula = doc(
        "",
        "<EulaSection><Info>e</Info><License>terms</License></EulaSection>",
        SYSTEM,
        "",
    );
    assert!(
        errors(&eula, false).is_empty(),
        "{:?}",
        findings(&eula, false)
    );
    let empty_system = doc("", "", "<System/>", "");
    assert!(errors(&empty_system, false).is_empty());
    let families = doc("", "", &SYSTEM.replace("vmx-13", "xen-3 vmx-07"), "");
    assert!(errors(&families, false).is_empty());
}

#[test]
fn lax_downgrades_what_real_producers_write() {
    // VirtualBox: three devices on one IDE controller, virtualbox-2.2 family.
    let ide = r#"<Item><rasd:Address>0</rasd:Address><rasd:ElementName>ide</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>5</rasd:ResourceType></Item>"#;
    let cd = |i: u32, u: u32| {
        format!(
            r#"<Item><rasd:AddressOnParent>{u}</rasd:AddressOnParent><rasd:ElementName>cd</rasd:ElementName><rasd:InstanceID>{i}</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>15</rasd:ResourceType></Item>"#
        )
    };
    let vbox = doc(
        "",
        "",
        &SYSTEM.replace("vmx-13", "virtualbox-2.2"),
        &format!("{ide}{}{}{}", cd(4, 0), cd(5, 1), cd(6, 0)),
    );
    let strict = errors(&vbox, false);
    assert!(strict.contains(&"controller-over-limit"), "{strict:?}");
    assert!(strict.contains(&"hardware-family-unknown"), "{strict:?}");
    assert!(
        errors(&vbox, true).is_empty(),
        "{:?}",
        findings(&vbox, true)
    );
    // XenCenter: StartupSection at Envelope level, a Connection naming no network.
    let nic = r#"<Item><rasd:Connection>xen-net</rasd:Connection><rasd:ElementName>nic</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>10</rasd:ResourceType></Item>"#;
    let xen = doc(
        "",
        r#"<StartupSection><Info>s</Info><Item ovf:id="vm" ovf:order="0"/></StartupSection>"#,
        SYSTEM,
        nic,
    );
    let strict = errors(&xen, false);
    assert!(strict.contains(&"section-misplaced"), "{strict:?}");
    assert!(strict.contains(&"connection-unresolved"), "{strict:?}");
    assert!(errors(&xen, true).is_empty(), "{:?}", findings(&xen, true));
}

#[test]
fn lax_takes_vcloud_collection_and_system_with_one_id() {
    let x = format!(
        r#"{HEAD}<References/><VirtualSystemCollection ovf:id="vapp"><Info>c</Info>
<VirtualSystem ovf:id="vapp"><Info>vm</Info><VirtualHardwareSection><Info>hw</Info>{SYSTEM}{CPU_MEM}</VirtualHardwareSection></VirtualSystem></VirtualSystemCollection></Envelope>"#
    );
    assert_eq!(errors(&x, false), vec!["duplicate-content-id"]);
    assert!(errors(&x, true).is_empty());
}

/// An OVF 0.9 descriptor (VMware's pre-DMTF namespace, `Section xsi:type=`), written here.
fn doc_0_9(system: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<ovf:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ovf="http://www.vmware.com/schema/ovf/1/envelope" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" ovf:version="0.9">
<References/>
<Content xsi:type="ovf:VirtualSystem_Type" ovf:id="vm"><Info>vm</Info>
<Section xsi:type="ovf:VirtualHardwareSection_Type"><Info>hw</Info>{system}
<Item><rasd:Caption>cpu</rasd:Caption><rasd:InstanceId>1</rasd:InstanceId><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
</Section></Content></ovf:Envelope>"#
    )
}

#[test]
fn an_empty_system_is_accepted_in_every_ovf_version() {
    // VirtualSystemType is optional (CIM VSSD minOccurs=0): a warning, in 0.9 as in 1.x.
    for x in [doc("", "", "<System/>", ""), doc_0_9("<System/>")] {
        assert!(errors(&x, false).is_empty(), "{:?}", findings(&x, false));
        assert!(has(&x, false, "hardware-family-missing", Severity::Warning));
    }
    let named = doc_0_9(
        "<System><vssd:InstanceId>0</vssd:InstanceId><vssd:VirtualSystemType>vmx-04</vssd:VirtualSystemType></System>",
    );
    assert!(
        findings(&named, false).is_empty(),
        "{:?}",
        findings(&named, false)
    );
}

#[test]
fn a_disk_no_item_attaches_is_a_warning() {
    let x = doc(
        r#"<File ovf:id="f1" ovf:href="d.vmdk"/>"#,
        r#"<DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="1048576" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>"#,
        SYSTEM,
        "",
    );
    assert!(errors(&x, false).is_empty(), "{:?}", findings(&x, false));
    assert!(has(&x, false, "disk-unused", Severity::Warning));
}

#[test]
fn an_unknown_scsi_subtype_is_an_error_lax_a_warning_an_unknown_nic_a_warning() {
    let scsi = r#"<Item><rasd:Address>0</rasd:Address><rasd:ElementName>scsi</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>frobscsi</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>"#;
    let x = doc("", "", SYSTEM, scsi);
    assert_eq!(errors(&x, false), vec!["resource-subtype-unknown"]);
    assert!(has(&x, true, "resource-subtype-unknown", Severity::Warning));
    assert!(errors(&x, true).is_empty());
    // A list naming one known type is enough (Cisco CSR1000V writes "VMXNET3 virtio").
    let list = doc(
        "",
        "",
        SYSTEM,
        &scsi.replace("frobscsi", "frobscsi lsilogic"),
    );
    assert!(
        findings(&list, false).is_empty(),
        "{:?}",
        findings(&list, false)
    );
    let nic = r#"<Item><rasd:ElementName>nic</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>E10000</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>"#;
    let n = doc("", "", SYSTEM, nic);
    assert!(errors(&n, false).is_empty(), "{:?}", findings(&n, false));
    assert!(has(
        &n,
        false,
        "resource-subtype-unknown",
        Severity::Warning
    ));
}

const STREAM_FMT: &str =
    "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized";

/// A second disk item at unit 1 naming `disk`, with `attrs` on the Item element.
fn second_disk_item(disk: &str, attrs: &str) -> String {
    format!(
        r#"<Item{attrs}><rasd:AddressOnParent>1</rasd:AddressOnParent><rasd:ElementName>disk 2</rasd:ElementName><rasd:HostResource>ovf:/disk/{disk}</rasd:HostResource><rasd:InstanceID>5</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>"#
    )
}

#[test]
fn one_disk_attached_twice_is_an_error_that_says_so() {
    let disks = format!(
        r#"<DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="1048576" ovf:format="{STREAM_FMT}"/><Disk ovf:diskId="d2" ovf:capacity="1048576" ovf:format="{STREAM_FMT}"/></DiskSection>"#
    );
    let refs = r#"<File ovf:id="f1" ovf:href="d.vmdk"/>"#;
    let ok = doc(
        refs,
        &disks,
        SYSTEM,
        &format!("{DISK_ITEMS}{}", second_disk_item("d2", "")),
    );
    assert!(errors(&ok, false).is_empty(), "{:?}", findings(&ok, false));
    let twice = doc(
        refs,
        &disks,
        SYSTEM,
        &format!("{DISK_ITEMS}{}", second_disk_item("d1", "")),
    );
    // Not only an error: the error of this fault (d2 is then unused: a warning).
    assert_eq!(errors(&twice, false), vec!["disk-attached-twice"]);
    assert_eq!(errors(&twice, true), vec!["disk-attached-twice"]);
    let env = Envelope::parse(twice.as_bytes()).unwrap();
    let d = env.validate(&ValidateOptions::default());
    let m = d
        .iter()
        .find(|d| d.code == "disk-attached-twice")
        .map(|d| d.message.clone())
        .unwrap();
    assert!(m.contains("disk d1 is attached more than once"), "{m}");
    assert!(
        m.contains("InstanceID 4") && m.contains("InstanceID 5"),
        "{m}"
    );
    // Two deployment options, each attaching d1 at its own unit: one attachment per option.
    let options = r#"<DeploymentOptionSection><Info>o</Info><Configuration ovf:id="a" ovf:default="true"><Label>a</Label><Description>a</Description></Configuration><Configuration ovf:id="b"><Label>b</Label><Description>b</Description></Configuration></DeploymentOptionSection>"#;
    let per_option = doc(
        refs,
        &format!("{disks}{options}"),
        SYSTEM,
        &format!(
            "{}{}",
            DISK_ITEMS.replace(
                "<Item><rasd:AddressOnParent>0",
                r#"<Item ovf:configuration="a"><rasd:AddressOnParent>0"#
            ),
            second_disk_item("d1", r#" ovf:configuration="b""#)
        ),
    );
    assert!(
        errors(&per_option, false).is_empty(),
        "{:?}",
        findings(&per_option, false)
    );
    // The same item in one option and both attachments in the other: the fault again.
    let in_b = per_option.replace(
        r#"<Item ovf:configuration="a">"#,
        r#"<Item ovf:configuration="a b">"#,
    );
    assert_eq!(errors(&in_b, false), vec!["disk-attached-twice"]);
}

#[test]
fn one_file_behind_two_disks_is_an_error() {
    let x = doc(
        r#"<File ovf:id="f1" ovf:href="d.vmdk"/>"#,
        &format!(
            r#"<DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="1048576" ovf:format="{STREAM_FMT}"/><Disk ovf:diskId="d2" ovf:fileRef="f1" ovf:capacity="1048576" ovf:format="{STREAM_FMT}"/></DiskSection>"#
        ),
        SYSTEM,
        &format!("{DISK_ITEMS}{}", second_disk_item("d2", "")),
    );
    assert_eq!(errors(&x, false), vec!["duplicate-disk-file"]);
}

#[test]
fn corpus_one_disk_attached_twice_is_told_from_two_disks() {
    let Some(c) = crate::support::corpus() else {
        return;
    };
    let dir = c.join("vmware__govmomi/ovf/fixtures/external/ImportOvf2014");
    let codes = |name: &str| {
        let env = Envelope::parse(&std::fs::read(dir.join(name)).unwrap()).unwrap();
        env.validate(&ValidateOptions::default())
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| (d.code, d.message))
            .collect::<Vec<_>>()
    };
    let same = codes("nostalgia-two-disks-same.ovf");
    assert_eq!(same.len(), 1, "{same:?}");
    assert_eq!(same[0].0, "disk-attached-twice");
    assert!(same[0]
        .1
        .contains("disk vmdisk1 is attached more than once"));
    assert!(codes("nostalgia-two-disks.ovf").is_empty());
}

#[test]
fn several_hardware_sections_with_one_supported_family_are_accepted() {
    // DSP0243 §8.3: a VirtualSystem may carry one VirtualHardwareSection per platform; ovftool
    // deploys the one whose family it supports, so xen-3 beside vmx-07 is no error. Only
    // unsupported families leave nothing to deploy. (Known gap: an unsupported family such as
    // virtualbox-2.2 in one section beside vmx-07 in another is still an error, since each
    // section's System is judged alone.)
    let xen = SYSTEM.replace("vmx-13", "xen-3");
    let vmx = SYSTEM.replace("vmx-13", "vmx-07");
    let two = |a: &str, b: &str| {
        format!(
            r#"{HEAD}<References/>
<VirtualSystem ovf:id="vm"><Info>vm</Info><VirtualHardwareSection><Info>xen</Info>{a}{CPU_MEM}</VirtualHardwareSection><VirtualHardwareSection><Info>vmware</Info>{b}{CPU_MEM}</VirtualHardwareSection></VirtualSystem></Envelope>"#
        )
    };
    let mixed = two(&xen, &vmx);
    assert!(
        errors(&mixed, false).is_empty(),
        "{:?}",
        findings(&mixed, false)
    );
    let vbox = SYSTEM.replace("vmx-13", "virtualbox-2.2");
    let only_vbox = two(&vbox, &vbox);
    assert!(
        errors(&only_vbox, false).contains(&"hardware-family-unknown"),
        "{:?}",
        findings(&only_vbox, false)
    );
}
