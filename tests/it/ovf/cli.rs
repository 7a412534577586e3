//! `info` and `validate` through the CLI: exit codes and the JSON schema of docs/JSON.md.

use crate::support::{self, ovftool};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn info_on_the_readme_sample() {
    let tiny = support::samples().join("tiny.ovf");
    let out = ovftool(&["info", tiny.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Tiny Appliance") && text.contains("vmx-14"),
        "{text}"
    );
    let out = ovftool(&["info", "--json", tiny.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["ovf_version"], "1.x");
    assert_eq!(v["disks"][0]["capacity_bytes"], 16 << 20);
    assert_eq!(v["files"][0]["size"], 68608);
    let hw = &v["virtual_systems"][0]["hardware"][0];
    assert_eq!(hw["by_configuration"][0]["cpus"], 1);
    assert_eq!(hw["by_configuration"][0]["memory_bytes"], 256u64 << 20);
    assert_eq!(v["properties"][0]["key"], "hostname");
    assert_eq!(v["product"]["vendor"], "ovftool-rs project");
}

#[test]
fn info_on_a_folder_and_an_ova() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        support::samples().join("tiny.ovf"),
        dir.path().join("x.ovf"),
    )
    .unwrap();
    let out = ovftool(&["info", "--json", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json(&out)["descriptor"], "x.ovf");
    std::fs::copy(
        support::samples().join("tiny.ovf"),
        dir.path().join("y.ovf"),
    )
    .unwrap();
    let out = ovftool(&["info", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "two descriptors: {out:?}");

    let Some(corpus) = support::corpus() else {
        return;
    };
    let ova = corpus.join(
        "cyberus-technology__virtualbox-kvm/src/VBox/ValidationKit/tests/api/tdAppliance1-t4-ovftool-4.1.0.ova",
    );
    let out = ovftool(&["info", "--json", ova.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json(&out);
    assert!(v["descriptor"].as_str().unwrap().ends_with(".ovf"));
    assert!(!v["files"].as_array().unwrap().is_empty());
    let no_ovf = corpus.join("openstack__glance/glance/tests/var/testserver-no-ovf.ova");
    let out = ovftool(&["info", "--json", no_ovf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(json(&out)["ok"], false);
}

#[test]
fn validate_exit_codes() {
    let tiny = support::samples().join("tiny.ovf");
    let out = ovftool(&["validate", "--json", tiny.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["error_count"], 0);

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ovf");
    let text = std::fs::read_to_string(&tiny)
        .unwrap()
        .replace("ovf:/disk/vmdisk1", "ovf:/disk/nosuchdisk");
    std::fs::write(&bad, text).unwrap();
    let out = ovftool(&["validate", "--json", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = json(&out);
    assert_eq!(v["ok"], false);
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"host-resource-unresolved"), "{codes:?}");
    assert!(v["diagnostics"][0]["line"].as_u64().is_some());

    let garbage = dir.path().join("garbage.ovf");
    std::fs::write(&garbage, "<Envelope><oops></Envelope>").unwrap();
    let out = ovftool(&["validate", "--json", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = json(&out);
    assert_eq!(v["error"]["kind"], "xml");
    assert_eq!(v["error"]["line"], 1);

    let missing = dir.path().join("missing.ovf");
    let out = ovftool(&["validate", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn lax_downgrades_virtualbox_families() {
    let Some(corpus) = support::corpus() else {
        return;
    };
    let f = corpus.join("vmware__govmomi/ovf/fixtures/external/OVFToolTemplates/OVF/xmltestfiles/LaxMode/Pos/vbox1_default_vm/vbox1.ovf");
    let out = ovftool(&["validate", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = ovftool(&["validate", "--lax", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// VirtualBox's OVF 2.0 export names devices with `rasd:Caption` only (no `ElementName`) and the
/// guest OS with the section's `Description` only (no `vmw:osType`): `info` shows those names
/// instead of "-" and an empty OS, and `--json` carries the caption.
#[test]
fn info_names_caption_only_items_and_description_only_os() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("vbox2.ovf");
    std::fs::write(
        &f,
        r#"<?xml version="1.0"?>
<Envelope ovf:version="2.0" xmlns="http://schemas.dmtf.org/ovf/envelope/2" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/2" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:epasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_EthernetPortAllocationSettingData.xsd">
  <References/>
  <NetworkSection><Info>n</Info><Network ovf:name="NAT"><Description>d</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="vm">
    <Info>i</Info>
    <OperatingSystemSection ovf:id="94"><Info>os</Info><Description>Ubuntu_64</Description></OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>hw</Info>
      <System><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-14</vssd:VirtualSystemType></System>
      <Item><rasd:Caption>1 virtual CPU</rasd:Caption><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:Caption>sataController7</rasd:Caption><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceSubType>AHCI</rasd:ResourceSubType><rasd:ResourceType>20</rasd:ResourceType></Item>
      <EthernetPortItem><epasd:Caption>nic on NAT</epasd:Caption><epasd:Connection>NAT</epasd:Connection><epasd:InstanceID>3</epasd:InstanceID><epasd:ResourceType>10</epasd:ResourceType></EthernetPortItem>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#,
    )
    .unwrap();
    let out = ovftool(&["info", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("      sataController7 AHCI"), "{text}");
    assert!(text.contains("      nic on NAT NAT"), "{text}");
    assert!(text.contains("Guest OS:   CIM 94 Ubuntu_64"), "{text}");
    let out = ovftool(&["info", "--json", f.to_str().unwrap()]);
    let v = json(&out);
    let items = &v["virtual_systems"][0]["hardware"][0]["by_configuration"][0]["items"];
    assert_eq!(items[1]["caption"], "sataController7");
    assert_eq!(items[1]["element_name"], serde_json::Value::Null);
}
