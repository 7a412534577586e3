//! Cases that must agree across commands: the same package read by `validate`, `info` and
//! `import` reaches the same answer.

use crate::support::ovftool;

/// A vmxnet3 NIC for every configuration and, for "big", an E1000 with the same InstanceID
/// (DSP0243 §9.8: the configuration's item replaces the general one).
const DEPLOYMENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References/>
  <NetworkSection><Info>n</Info><Network ovf:name="VM Network"><Description>n</Description></Network></NetworkSection>
  <DeploymentOptionSection><Info>d</Info>
    <Configuration ovf:id="small" ovf:default="true"><Label>small</Label><Description>s</Description></Configuration>
    <Configuration ovf:id="big"><Label>big</Label><Description>b</Description></Configuration>
  </DeploymentOptionSection>
  <VirtualSystem ovf:id="dep">
    <Info>vm</Info><Name>dep</Name>
    <OperatingSystemSection ovf:id="101"><Info>os</Info></OperatingSystemSection>
    <VirtualHardwareSection><Info>hw</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemIdentifier>dep</vssd:VirtualSystemIdentifier><vssd:VirtualSystemType>vmx-14</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>1 CPU</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item ovf:configuration="big"><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>4 CPUs</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>4</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>512MB</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>512</rasd:VirtualQuantity></Item>
      <Item><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation><rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>eth0</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
      <Item ovf:configuration="big"><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation><rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>eth0</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>E1000</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#;

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// The `.vmx` lines `key = "value"` as pairs, keys lowercased.
fn vmx_keys(path: &std::path::Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_string(),
            ))
        })
        .collect()
}

fn import(
    ovf: &std::path::Path,
    out: &std::path::Path,
    option: Option<&str>,
) -> Vec<(String, String)> {
    let mut args = vec!["--json", "import"];
    if let Some(o) = option {
        args.extend(["--deployment-option", o]);
    }
    args.extend([ovf.to_str().unwrap(), out.to_str().unwrap()]);
    let run = ovftool(&args);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let vmx = walk(out)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "vmx"))
        .expect("a .vmx");
    vmx_keys(&vmx)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn nics(vmx: &[(String, String)]) -> Vec<String> {
    (0..10)
        .filter(|n| {
            vmx.iter().any(|(k, v)| {
                *k == format!("ethernet{n}.present") && v.eq_ignore_ascii_case("true")
            })
        })
        .map(|n| {
            vmx.iter()
                .find(|(k, _)| *k == format!("ethernet{n}.virtualdev"))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn deployment_option_item_replaces_the_general_one_in_validate_info_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let ovf = dir.path().join("dep.ovf");
    std::fs::write(&ovf, DEPLOYMENT).unwrap();

    let out = ovftool(&["--json", "validate", ovf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json(&out)["ok"], true);

    let out = ovftool(&["--json", "info", ovf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json(&out);
    let views = v["virtual_systems"][0]["hardware"][0]["by_configuration"]
        .as_array()
        .unwrap()
        .clone();
    let view = |c: &str| {
        views
            .iter()
            .find(|x| x["configuration"] == c)
            .unwrap_or_else(|| panic!("no view for {c}: {views:?}"))
            .clone()
    };
    let nic_types = |view: &serde_json::Value| -> Vec<String> {
        view["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["resource_type"] == 10)
            .map(|i| i["resource_sub_type"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(nic_types(&view("small")), ["VmxNet3"]);
    assert_eq!(nic_types(&view("big")), ["E1000"]);
    assert_eq!(view("small")["cpus"], 1);
    assert_eq!(view("big")["cpus"], 4);

    let big = import(&ovf, &dir.path().join("big"), Some("big"));
    assert_eq!(nics(&big), ["e1000"]);
    assert!(big.contains(&("numvcpus".into(), "4".into())), "{big:?}");
    // Without a choice the default configuration ("small") applies.
    let small = import(&ovf, &dir.path().join("small"), None);
    assert_eq!(nics(&small), ["vmxnet3"]);
    assert!(
        !small.iter().any(|(k, _)| k == "numvcpus")
            || small.contains(&("numvcpus".into(), "1".into()))
    );
}
