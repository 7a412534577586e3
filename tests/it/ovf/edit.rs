//! Edits through the typed API change only what they target: vendor sections, comments and
//! prefixes survive.

use ovftool::ovf::{Envelope, ItemKind, OvfVersion};

use crate::support;

#[test]
fn set_file_size_keeps_vendor_content_and_prefixes() {
    let Some(corpus) = support::corpus() else {
        return;
    };
    let path = corpus.join("glennmatthews__cot/COT/tests/ubuntu.2.0.ovf");
    let bytes = std::fs::read(&path).unwrap();
    let mut env = Envelope::parse(&bytes).unwrap();
    assert_eq!(env.version(), OvfVersion::V2);
    let before = env.document().clone();
    let id = env.references()[0].id.clone();
    env.set_file_size(&id, 12345).unwrap();
    let out = env.to_bytes().unwrap();
    let again = Envelope::parse(&out).unwrap();
    assert_eq!(again.references()[0].size, Some(12345));
    // Exactly one attribute changed in the whole tree.
    let mut expected = before;
    let refs = expected
        .root
        .elements_mut()
        .find(|e| e.local_name() == "References")
        .unwrap();
    let file = refs.elements_mut().next().unwrap();
    // VirtualBox wrote no ovf:size: it is added with the document's own `ovf` prefix.
    assert!(file.attrs.iter().all(|a| a.local_name() != "size"));
    file.attrs.push(ovftool::ovf::tree::Attr {
        name: "ovf:size".into(),
        value: "12345".into(),
        ns: Some(ovftool::ovf::ns::OVF_2.into()),
    });
    assert_eq!(again.document(), &expected);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("<vbox:Machine"), "vendor section kept");
    // OVF 2 StorageItem / EthernetPortItem are typed.
    let vs = &again.virtual_systems()[0];
    let kinds: Vec<ItemKind> = vs.hardware[0].items.iter().map(|i| i.kind).collect();
    assert!(kinds.contains(&ItemKind::StorageItem) && kinds.contains(&ItemKind::EthernetPortItem));
    assert!(env.set_file_size("no-such-file", 1).is_err());
}

#[test]
fn capacity_from_property_and_units() {
    let Some(corpus) = support::corpus() else {
        return;
    };
    let env = Envelope::parse(
        &std::fs::read(corpus.join("vmware__govmomi/ovf/fixtures/disk-capacity-property.ovf"))
            .unwrap(),
    )
    .unwrap();
    let d = &env.disks()[0];
    assert!(d.capacity.starts_with("${"), "{}", d.capacity);
    assert!(d.capacity_bytes(&env).unwrap() > 0);
}

#[test]
fn vcsa_deployment_options_and_localisation() {
    let Some(corpus) = support::corpus() else {
        return;
    };
    let env = Envelope::parse(
        &std::fs::read(corpus.join(
            "vmware__govmomi/ovf/fixtures/vmware/VMware-vCenter-Server-Appliance-9.1.0.0.25262036_OVF10.ovf",
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(env.deployment_options().len(), 16);
    assert!(env.default_deployment_option().is_some());
    assert_eq!(env.disks().len(), 32);
    let vs = &env.virtual_systems()[0];
    let hw = &vs.hardware[0];
    let all = hw.items.len();
    let small = hw
        .effective_items(env.default_deployment_option().as_deref())
        .len();
    assert!(small < all, "per-configuration items are filtered");
    assert!(env.properties().len() >= 80);
    assert!(!env.strings().is_empty());
}

/// DSP0243 §9.8: a configuration's item replaces the general item with its InstanceID, in
/// place and whatever the document order; range items and other configurations' items are
/// left out.
#[test]
fn effective_items_replace_by_instance_id_for_the_chosen_configuration() {
    let item = |cfg: &str, id: &str, name: &str, extra: &str| {
        format!(
            r#"<Item{cfg}{extra}><rasd:ElementName>{name}</rasd:ElementName><rasd:InstanceID>{id}</rasd:InstanceID><rasd:ResourceType>10</rasd:ResourceType></Item>"#
        )
    };
    let items = [
        item(r#" ovf:configuration="big""#, "7", "big-first", ""),
        item("", "5", "general", ""),
        item("", "7", "general-7", ""),
        item(r#" ovf:configuration="huge big""#, "5", "big-or-huge", ""),
        item(r#" ovf:configuration="huge""#, "9", "huge-only", ""),
        item("", "6", "max", r#" ovf:bound="max""#),
    ]
    .concat();
    let xml = format!(
        r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"><References/><VirtualSystem ovf:id="v"><Info>i</Info><VirtualHardwareSection><Info>h</Info>{items}</VirtualHardwareSection></VirtualSystem></Envelope>"#
    );
    let env = Envelope::parse(xml.as_bytes()).unwrap();
    let hw = &env.virtual_systems()[0].hardware[0];
    let names = |cfg: Option<&str>| -> Vec<String> {
        hw.effective_items(cfg)
            .iter()
            .map(|i| i.element_name.clone().unwrap_or_default())
            .collect()
    };
    assert_eq!(names(None), ["general", "general-7"]);
    assert_eq!(names(Some("small")), ["general", "general-7"]);
    assert_eq!(names(Some("big")), ["big-first", "big-or-huge"]);
    assert_eq!(
        names(Some("huge")),
        ["big-or-huge", "general-7", "huge-only"]
    );
}
