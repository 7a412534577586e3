//! Typed, read-only views over the element tree: files, disks, networks, deployment options,
//! virtual systems and their sections (DSP0243 §7–9; docs/FORMATS.md §5).
//!
//! Views are plain owned structs extracted on demand. They match elements on their namespace and
//! local name (any prefix), accept the OVF 0.9 spelling `<Section xsi:type="ovf:XSection_Type">`
//! and `<Content xsi:type="ovf:VirtualSystem_Type">`, and never fail: odd values are left as
//! strings (or `None`) for [`super::validate`] to report.

use std::collections::HashMap;

use serde::Serialize;

use super::ns;
use super::resource_type::ResourceType;
use super::tree::{Element, Pos};

/// Whether `uri` is one of the three OVF envelope namespaces.
pub(crate) fn is_envelope_ns(uri: &str) -> bool {
    matches!(uri, ns::OVF_1 | ns::OVF_2 | ns::OVF_0_9)
}

/// Whether an element belongs to the OVF/CIM vocabulary (envelope or DMTF CIM namespaces, or no
/// namespace at all as in OVF 0.9 files) rather than to a vendor.
pub(crate) fn is_core(el: &Element) -> bool {
    match el.ns.as_deref() {
        None => true,
        Some(u) => is_envelope_ns(u) || u.starts_with("http://schemas.dmtf.org/"),
    }
}

/// The OVF kind of an element: its local name, or for OVF 0.9 `Section`/`Content` elements the
/// name given by `xsi:type` (`ovf:DiskSection_Type` → `DiskSection`). Vendor elements return
/// their local name too; use [`is_core`] to tell them apart.
pub(crate) fn kind(el: &Element) -> &str {
    let local = el.local_name();
    if matches!(local, "Section" | "Content") && is_core(el) {
        if let Some(t) = el.attr_ns(ns::XSI, "type") {
            let t = t.trim();
            let t = t.rsplit_once(':').map_or(t, |(_, l)| l);
            return t.strip_suffix("_Type").unwrap_or(t);
        }
    }
    local
}

/// Whether `el` is the core OVF element of the given kind.
pub(crate) fn is_kind(el: &Element, k: &str) -> bool {
    is_core(el) && kind(el) == k
}

/// An `ovf:` attribute: qualified with an envelope namespace, or (OVF 0.9 habit, hand-written
/// files) unqualified, or with an unbound prefix.
pub(crate) fn ovf_attr<'a>(el: &'a Element, local: &str) -> Option<&'a str> {
    let mut fallback = None;
    for a in &el.attrs {
        if a.local_name() != local {
            continue;
        }
        match a.ns.as_deref() {
            Some(u) if is_envelope_ns(u) => return Some(a.value.as_str()),
            None => fallback = fallback.or(Some(a.value.as_str())),
            _ => {}
        }
    }
    fallback
}

/// `ovf:required`, default true (DSP0243: "import should fail if the section is not understood").
pub(crate) fn required(el: &Element) -> bool {
    ovf_attr(el, "required").is_none_or(|v| parse_bool(v).unwrap_or(true))
}

/// xs:boolean.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Trimmed text of the first core child of kind `k`.
pub(crate) fn child_text(el: &Element, k: &str) -> Option<String> {
    el.elements()
        .find(|c| is_kind(c, k))
        .map(|c| c.text().trim().to_string())
}

/// A localisable message: its text in the descriptor and its `ovf:msgid`, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Msg {
    /// The default text.
    pub text: String,
    /// The message id for lookup in `Strings` bundles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msgid: Option<String>,
}

pub(crate) fn child_msg(el: &Element, k: &str) -> Option<Msg> {
    el.elements().find(|c| is_kind(c, k)).map(|c| Msg {
        text: c.text().trim().to_string(),
        msgid: ovf_attr(c, "msgid").map(str::to_string),
    })
}

/// A `References/File` entry (XSD File_Type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRef {
    /// `ovf:id`.
    pub id: String,
    /// `ovf:href`: a relative name in the package (or a URL; see the validator).
    pub href: String,
    /// `ovf:size` in bytes (the stored, possibly compressed size), when present and numeric.
    pub size: Option<u64>,
    /// `ovf:compression` (`gzip`, `identity`...).
    pub compression: Option<String>,
    /// `ovf:chunkSize`: the file is stored as `href.000000000`, `href.000000001`... pieces.
    pub chunk_size: Option<u64>,
}

impl FileRef {
    pub(crate) fn from_el(el: &Element) -> FileRef {
        FileRef {
            id: ovf_attr(el, "id").unwrap_or_default().to_string(),
            href: ovf_attr(el, "href").unwrap_or_default().to_string(),
            size: ovf_attr(el, "size").and_then(|v| v.trim().parse().ok()),
            compression: ovf_attr(el, "compression").map(str::to_string),
            chunk_size: ovf_attr(el, "chunkSize").and_then(|v| v.trim().parse().ok()),
        }
    }
}

/// A `DiskSection/Disk` (XSD VirtualDiskDesc_Type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disk {
    /// `ovf:diskId`.
    pub disk_id: String,
    /// `ovf:fileRef`: the File holding the disk image; `None` = a blank disk to create.
    pub file_ref: Option<String>,
    /// `ovf:capacity` as written: a number or `${property}`.
    pub capacity: String,
    /// `ovf:capacityAllocationUnits` (default `byte`), e.g. `byte * 2^30`.
    pub capacity_units: Option<String>,
    /// `ovf:format` URI (streamOptimized VMDK...).
    pub format: Option<String>,
    /// `ovf:populatedSize` in bytes (an estimate).
    pub populated_size: Option<u64>,
    /// `ovf:parentRef`: the diskId of the parent of a delta disk.
    pub parent_ref: Option<String>,
}

impl Disk {
    pub(crate) fn from_el(el: &Element) -> Disk {
        Disk {
            disk_id: ovf_attr(el, "diskId").unwrap_or_default().to_string(),
            // VMware writes `ovf:fileRef=""` for blank disks (VCF License Server 9.1).
            file_ref: ovf_attr(el, "fileRef")
                .filter(|f| !f.trim().is_empty())
                .map(str::to_string),
            capacity: ovf_attr(el, "capacity")
                .unwrap_or_default()
                .trim()
                .to_string(),
            capacity_units: ovf_attr(el, "capacityAllocationUnits").map(str::to_string),
            format: ovf_attr(el, "format").map(str::to_string),
            populated_size: ovf_attr(el, "populatedSize").and_then(|v| v.trim().parse().ok()),
            parent_ref: ovf_attr(el, "parentRef").map(str::to_string),
        }
    }
}

/// A `NetworkSection/Network`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Network {
    /// `ovf:name`, referred to by NIC items' `rasd:Connection`.
    pub name: String,
    /// The `Description` child.
    pub description: Option<String>,
}

/// A `DeploymentOptionSection/Configuration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentOption {
    /// `ovf:id`, used by `ovf:configuration` on items and properties.
    pub id: String,
    /// `Label`.
    pub label: Option<Msg>,
    /// `Description`.
    pub description: Option<Msg>,
    /// `ovf:default="true"`.
    pub default: bool,
}

/// Whether a `VirtualSystem` or a `VirtualSystemCollection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContentKind {
    /// A virtual machine.
    VirtualSystem,
    /// A vApp: a group of virtual systems (and nested collections).
    VirtualSystemCollection,
}

/// A `VirtualSystem` or `VirtualSystemCollection` with its sections.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VirtualSystem {
    /// System or collection.
    pub kind: ContentKind,
    /// `ovf:id`.
    pub id: String,
    /// `Info`.
    pub info: Option<Msg>,
    /// `Name`.
    pub name: Option<Msg>,
    /// `OperatingSystemSection`.
    pub operating_system: Option<OperatingSystem>,
    /// `VirtualHardwareSection`s (one per hardware family/transport variant; usually one).
    pub hardware: Vec<VirtualHardware>,
    /// `ProductSection`s.
    pub products: Vec<ProductSection>,
    /// `EulaSection`s.
    pub eulas: Vec<Eula>,
    /// `AnnotationSection/Annotation`.
    pub annotation: Option<Msg>,
    /// `StartupSection` items (collections).
    pub startup: Vec<StartupItem>,
    /// `InstallSection`: `ovf:initialBootStopDelay` in seconds, if the section is present.
    pub install_boot_stop_delay: Option<Option<u64>>,
    /// Qualified names of sections not modelled here (vendor sections...), with `ovf:required`.
    pub other_sections: Vec<(String, bool)>,
    /// The firmware VirtualBox's extension section names (`vbox:Machine/Hardware/Firmware/@type`,
    /// as written: `EFI`, `BIOS`...): VirtualBox exports say EFI only there. The only fact of
    /// `vbox:Machine` read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vbox_firmware: Option<String>,
    /// Nested content of a collection.
    pub children: Vec<VirtualSystem>,
    /// Where the element starts.
    #[serde(skip)]
    pub pos: Pos,
}

impl VirtualSystem {
    /// This system and every nested one, depth first.
    pub fn walk(&self) -> Vec<&VirtualSystem> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.walk());
        }
        out
    }
}

/// `OperatingSystemSection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatingSystem {
    /// `ovf:id`: the CIM OSType number as written.
    pub id: String,
    /// `ovf:version`.
    pub version: Option<String>,
    /// `vmw:osType`: the vSphere guest id.
    pub vmw_os_type: Option<String>,
    /// `Description`.
    pub description: Option<String>,
}

/// A `vmw:Config` or `vmw:ExtraConfig` key/value pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VmwConfig {
    /// `vmw:key`.
    pub key: String,
    /// `vmw:value`.
    pub value: String,
    /// `ovf:required` (default true).
    pub required: bool,
}

/// The element name family of a hardware item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    /// `Item` (RASD).
    Item,
    /// OVF 2 `StorageItem` (SASD).
    StorageItem,
    /// OVF 2 `EthernetPortItem` (EPASD).
    EthernetPortItem,
}

/// A `VirtualHardwareSection` item (RASD, or OVF 2 SASD/EPASD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Item, StorageItem or EthernetPortItem.
    pub kind: ItemKind,
    /// `InstanceID` (OVF 0.9: `InstanceId`).
    pub instance_id: Option<String>,
    /// `ResourceType` as written (CIM code, docs/FORMATS.md §6.1).
    pub resource_type: Option<String>,
    /// `ResourceSubType`.
    pub resource_sub_type: Option<String>,
    /// `ElementName`.
    pub element_name: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `Address` (bus number of a controller, MAC of a NIC).
    pub address: Option<String>,
    /// `AddressOnParent` (unit number).
    pub address_on_parent: Option<String>,
    /// `Parent`: InstanceID of the controller.
    pub parent: Option<String>,
    /// `HostResource`s (`ovf:/disk/ID`, `ovf:/file/ID`).
    pub host_resources: Vec<String>,
    /// `Connection`s (network names).
    pub connections: Vec<String>,
    /// `AllocationUnits`.
    pub allocation_units: Option<String>,
    /// `VirtualQuantity`.
    pub virtual_quantity: Option<String>,
    /// `AutomaticAllocation` (connected at power on).
    pub automatic_allocation: Option<String>,
    /// `ovf:required` (default true).
    pub required: bool,
    /// `ovf:configuration`: the deployment options this item applies to (space separated).
    pub configuration: Option<String>,
    /// `ovf:bound`: `min`, `max` or `normal` for range items.
    pub bound: Option<String>,
    /// Every other core child: `(local name, text)`, in order.
    pub other: Vec<(String, String)>,
    /// `vmw:Config` children.
    pub config: Vec<VmwConfig>,
    /// `vmw:CoresPerSocket` (CPU item), as written.
    pub cores_per_socket: Option<String>,
    /// Vendor children other than `vmw:Config` and `vmw:CoresPerSocket` (qualified names).
    pub vendor: Vec<String>,
    /// Where the element starts.
    #[serde(skip)]
    pub pos: Pos,
}

impl Item {
    /// The `ResourceType`, when it is a code (a number 0..=65535, `xs:unsignedShort`).
    pub fn resource(&self) -> Option<ResourceType> {
        self.resource_type.as_deref().and_then(|v| v.parse().ok())
    }

    /// `Caption`, trimmed, when present and not empty (kept in [`Item::other`]).
    pub fn caption(&self) -> Option<&str> {
        self.other
            .iter()
            .find(|(k, _)| k == "Caption")
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The item's name for people: `ElementName`, else `Caption`.
    ///
    /// VirtualBox's OVF 2.0 export writes only `Caption` (its OVF 1.0 export writes both), so
    /// without the fallback every device of such a package would be nameless.
    pub fn display_name(&self) -> Option<&str> {
        self.element_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .or_else(|| self.caption())
    }

    /// Whether this item is present in the deployment option `config` (`None`: the default
    /// view where every unconditional item counts).
    pub fn applies_to(&self, config: Option<&str>) -> bool {
        match (&self.configuration, config) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(list), Some(c)) => list.split_whitespace().any(|x| x == c),
        }
    }

    pub(crate) fn from_el(el: &Element) -> Item {
        let kind = match kind(el) {
            "StorageItem" => ItemKind::StorageItem,
            "EthernetPortItem" => ItemKind::EthernetPortItem,
            _ => ItemKind::Item,
        };
        let mut it = Item {
            kind,
            instance_id: None,
            resource_type: None,
            resource_sub_type: None,
            element_name: None,
            description: None,
            address: None,
            address_on_parent: None,
            parent: None,
            host_resources: Vec::new(),
            connections: Vec::new(),
            allocation_units: None,
            virtual_quantity: None,
            automatic_allocation: None,
            required: required(el),
            configuration: ovf_attr(el, "configuration").map(str::to_string),
            bound: ovf_attr(el, "bound").map(str::to_string),
            other: Vec::new(),
            config: Vec::new(),
            cores_per_socket: None,
            vendor: Vec::new(),
            pos: el.pos,
        };
        for c in el.elements() {
            if !is_core(c) {
                let vmw = c.ns.as_deref() == Some(ns::VMW);
                if vmw && c.local_name() == "Config" {
                    it.config.push(vmw_config(c));
                } else if vmw && c.local_name() == "CoresPerSocket" {
                    it.cores_per_socket = Some(c.text().trim().to_string());
                } else {
                    it.vendor.push(c.name.clone());
                }
                continue;
            }
            let v = c.text().trim().to_string();
            let slot = match c.local_name() {
                "InstanceID" | "InstanceId" => &mut it.instance_id,
                "ResourceType" => &mut it.resource_type,
                "ResourceSubType" => &mut it.resource_sub_type,
                "ElementName" => &mut it.element_name,
                "Description" => &mut it.description,
                "Address" => &mut it.address,
                "AddressOnParent" => &mut it.address_on_parent,
                "Parent" => &mut it.parent,
                "AllocationUnits" => &mut it.allocation_units,
                "VirtualQuantity" => &mut it.virtual_quantity,
                "AutomaticAllocation" => &mut it.automatic_allocation,
                "HostResource" => {
                    it.host_resources.push(v);
                    continue;
                }
                "Connection" => {
                    it.connections.push(v);
                    continue;
                }
                other => {
                    it.other.push((other.to_string(), v));
                    continue;
                }
            };
            if slot.is_none() {
                *slot = Some(v);
            }
        }
        it
    }
}

/// One Disk attached by two items of the hardware one configuration gets (`effective`, from
/// [`effective_by`]): the first such pair, with the disk's id.
///
/// The fault: DSP0243 §9.1 makes a Disk one virtual disk and an item with `HostResource
/// ovf:/disk/ID` its attachment; two attachments of one disk give a VM two devices over one
/// image (ovftool refuses to deploy it; ESXi cannot open one VMDK twice). This is the one rule:
/// `validate` reports it (`disk-attached-twice`), `import` refuses it.
pub(crate) fn disk_attached_twice<'a, T>(
    effective: &[&'a T],
    item: impl Fn(&T) -> &Item,
) -> Option<(String, &'a T, &'a T)> {
    let mut seen: HashMap<&str, &'a T> = HashMap::new();
    for t in effective {
        let Some(id) = super::machine::host_ref(item(t), "disk") else {
            continue;
        };
        if let Some(first) = seen.get(id) {
            return Some((id.to_string(), first, t));
        }
        seen.insert(id, t);
    }
    None
}

/// The message for [`disk_attached_twice`]: names the disk and both items.
pub(crate) fn disk_attached_twice_message(disk_id: &str, first: &Item, second: &Item) -> String {
    let name = |i: &Item| {
        let n = i
            .element_name
            .as_deref()
            .map(|n| format!("\"{}\" ", n.trim()))
            .unwrap_or_default();
        format!(
            "{n}(InstanceID {})",
            i.instance_id.as_deref().unwrap_or("?").trim()
        )
    };
    format!(
        "disk {disk_id} is attached more than once (items {} and {}); a VM cannot use one disk twice",
        name(first),
        name(second)
    )
}

/// [`VirtualHardware::effective_items`] over any list that carries items (validation keeps each
/// item's element beside it for positions).
pub(crate) fn effective_by<'a, T>(
    items: &'a [T],
    item: impl Fn(&T) -> &Item,
    configuration: Option<&str>,
) -> Vec<&'a T> {
    let mut out: Vec<&'a T> = Vec::new();
    let mut slot_of: HashMap<&str, usize> = HashMap::new();
    for t in items {
        let it = item(t);
        if !it.applies_to(configuration)
            || matches!(it.bound.as_deref().map(str::trim), Some("min" | "max"))
        {
            continue;
        }
        let id = it.instance_id.as_deref().map(str::trim);
        // Only a configuration-specific item replaces: two unconditional items with one
        // InstanceID are both kept (validation reports the duplicate).
        match (id.and_then(|id| slot_of.get(id)), &it.configuration) {
            (Some(&i), Some(_)) => out[i] = t,
            // The configuration's own item stands even when the general one comes later.
            (Some(&i), None) if item(out[i]).configuration.is_some() => {}
            _ => {
                if let Some(id) = id {
                    slot_of.entry(id).or_insert(out.len());
                }
                out.push(t);
            }
        }
    }
    out
}

pub(crate) fn vmw_config(el: &Element) -> VmwConfig {
    VmwConfig {
        key: el.attr_ns(ns::VMW, "key").unwrap_or_default().to_string(),
        value: el.attr_ns(ns::VMW, "value").unwrap_or_default().to_string(),
        required: required(el),
    }
}

/// The `System` element of a hardware section (VSSD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct SystemSettings {
    /// `ElementName`.
    pub element_name: Option<String>,
    /// `InstanceID` (or 0.9 `InstanceId`).
    pub instance_id: Option<String>,
    /// `VirtualSystemIdentifier`.
    pub identifier: Option<String>,
    /// `VirtualSystemType`s (hardware families such as `vmx-14`), in order; one element may
    /// list several families separated by spaces or commas, and several elements may be present.
    pub system_types: Vec<String>,
}

/// A `VirtualHardwareSection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualHardware {
    /// `ovf:id`.
    pub id: Option<String>,
    /// `ovf:transport` (`com.vmware.guestInfo`, `iso`).
    pub transport: Option<String>,
    /// `ovf:required` (default true).
    pub required: bool,
    /// `System`.
    pub system: Option<SystemSettings>,
    /// Items, StorageItems and EthernetPortItems in document order.
    pub items: Vec<Item>,
    /// Section-level `vmw:Config`.
    pub config: Vec<VmwConfig>,
    /// Section-level `vmw:ExtraConfig`.
    pub extra_config: Vec<VmwConfig>,
    /// Where the element starts.
    #[serde(skip)]
    pub pos: Pos,
}

impl VirtualHardware {
    /// The hardware a deployment option gets: the one rule every command uses (validate, info,
    /// import).
    ///
    /// `configuration` is the chosen `DeploymentOptionSection` id, already resolved to the
    /// default one when the user chose none ([`crate::ovf::Envelope::default_deployment_option`]);
    /// `None` (a descriptor without deployment options) keeps only unconditional items.
    ///
    /// DSP0243 §9.8: an item without `ovf:configuration` applies to every configuration; one
    /// with it applies only to the listed ones and, when it has the `InstanceID` of an item
    /// already taken, *replaces* that item in place (the last applicable one wins). Range items
    /// (`ovf:bound="min"`/`"max"`) are limits, not hardware, and are left out.
    pub fn effective_items(&self, configuration: Option<&str>) -> Vec<&Item> {
        effective_by(&self.items, |i| i, configuration)
    }

    /// `vmw:CoresPerSocket` of the first processor item that has one.
    pub fn cores_per_socket(&self) -> Option<&str> {
        self.items
            .iter()
            .filter(|i| i.resource() == Some(ResourceType::Processor))
            .find_map(|i| i.cores_per_socket.as_deref())
    }

    pub(crate) fn from_el(el: &Element) -> VirtualHardware {
        let mut hw = VirtualHardware {
            id: ovf_attr(el, "id").map(str::to_string),
            transport: ovf_attr(el, "transport").map(str::to_string),
            required: required(el),
            system: None,
            items: Vec::new(),
            config: Vec::new(),
            extra_config: Vec::new(),
            pos: el.pos,
        };
        for c in el.elements() {
            if !is_core(c) {
                if c.ns.as_deref() == Some(ns::VMW) {
                    match c.local_name() {
                        "Config" => hw.config.push(vmw_config(c)),
                        "ExtraConfig" => hw.extra_config.push(vmw_config(c)),
                        _ => {}
                    }
                }
                continue;
            }
            match kind(c) {
                "System" => {
                    let mut s = SystemSettings::default();
                    for f in c.elements() {
                        let v = f.text().trim().to_string();
                        match f.local_name() {
                            "ElementName" => s.element_name = Some(v),
                            "InstanceID" | "InstanceId" => s.instance_id = Some(v),
                            "VirtualSystemIdentifier" => s.identifier = Some(v),
                            "VirtualSystemType" => s.system_types.extend(
                                v.split([' ', ','])
                                    .filter(|t| !t.is_empty())
                                    .map(str::to_string),
                            ),
                            _ => {}
                        }
                    }
                    hw.system = Some(s);
                }
                "Item" | "StorageItem" | "EthernetPortItem" => hw.items.push(Item::from_el(c)),
                _ => {}
            }
        }
        hw
    }
}

/// A `ProductSection/Property`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Property {
    /// `ovf:key`.
    pub key: String,
    /// `ovf:type` (`string`, `uint8`..., `boolean`, `real32`...).
    pub type_: String,
    /// `ovf:qualifiers` (`MinLen(1)`, `ValueMap{"a","b"}`...).
    pub qualifiers: Option<String>,
    /// `ovf:value`: the default value.
    pub default: Option<String>,
    /// `ovf:userConfigurable` (default false).
    pub user_configurable: bool,
    /// `ovf:password` (default false): a secret not to be echoed.
    pub password: bool,
    /// `Label`.
    pub label: Option<Msg>,
    /// `Description`.
    pub description: Option<Msg>,
    /// The text of the most recent `Category` before this property.
    pub category: Option<String>,
    /// `ovf:configuration` on the property.
    pub configuration: Option<String>,
    /// Per-configuration `Value` children: `(ovf:configuration, ovf:value)`.
    pub values: Vec<(Option<String>, String)>,
    /// Where the element starts.
    #[serde(skip)]
    pub pos: Pos,
}

impl Property {
    /// The environment key: `[class.]key[.instance]` (DSP0243 §9.5).
    pub fn full_key(&self, section: &ProductSection) -> String {
        let mut k = String::new();
        if let Some(c) = section.class.as_deref().filter(|c| !c.is_empty()) {
            k.push_str(c);
            k.push('.');
        }
        k.push_str(&self.key);
        if let Some(i) = section.instance.as_deref().filter(|c| !c.is_empty()) {
            k.push('.');
            k.push_str(i);
        }
        k
    }
}

/// A `ProductSection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductSection {
    /// `ovf:class`.
    pub class: Option<String>,
    /// `ovf:instance`.
    pub instance: Option<String>,
    /// `Info`.
    pub info: Option<Msg>,
    /// `Product`.
    pub product: Option<Msg>,
    /// `Vendor`.
    pub vendor: Option<Msg>,
    /// `Version`.
    pub version: Option<String>,
    /// `FullVersion`.
    pub full_version: Option<String>,
    /// `ProductUrl`.
    pub product_url: Option<String>,
    /// `VendorUrl`.
    pub vendor_url: Option<String>,
    /// `AppUrl`.
    pub app_url: Option<String>,
    /// `Category` texts in order.
    pub categories: Vec<String>,
    /// `Property` elements in order.
    pub properties: Vec<Property>,
    /// Where the element starts.
    #[serde(skip)]
    pub pos: Pos,
}

impl ProductSection {
    pub(crate) fn from_el(el: &Element) -> ProductSection {
        let mut p = ProductSection {
            class: ovf_attr(el, "class").map(str::to_string),
            instance: ovf_attr(el, "instance").map(str::to_string),
            info: child_msg(el, "Info"),
            product: child_msg(el, "Product"),
            vendor: child_msg(el, "Vendor"),
            version: child_text(el, "Version"),
            full_version: child_text(el, "FullVersion"),
            product_url: child_text(el, "ProductUrl"),
            vendor_url: child_text(el, "VendorUrl"),
            app_url: child_text(el, "AppUrl"),
            categories: Vec::new(),
            properties: Vec::new(),
            pos: el.pos,
        };
        let mut category = None;
        for c in el.elements().filter(|c| is_core(c)) {
            match kind(c) {
                "Category" => {
                    let t = c.text().trim().to_string();
                    p.categories.push(t.clone());
                    category = Some(t);
                }
                "Property" => p.properties.push(Property {
                    key: ovf_attr(c, "key").unwrap_or_default().to_string(),
                    type_: ovf_attr(c, "type").unwrap_or_default().to_string(),
                    qualifiers: ovf_attr(c, "qualifiers").map(str::to_string),
                    default: ovf_attr(c, "value").map(str::to_string),
                    user_configurable: ovf_attr(c, "userConfigurable")
                        .and_then(parse_bool)
                        .unwrap_or(false),
                    password: ovf_attr(c, "password")
                        .and_then(parse_bool)
                        .unwrap_or(false),
                    label: child_msg(c, "Label"),
                    description: child_msg(c, "Description"),
                    category: category.clone(),
                    configuration: ovf_attr(c, "configuration").map(str::to_string),
                    values: c
                        .elements()
                        .filter(|v| is_kind(v, "Value"))
                        .map(|v| {
                            (
                                ovf_attr(v, "configuration").map(str::to_string),
                                ovf_attr(v, "value").unwrap_or_default().to_string(),
                            )
                        })
                        .collect(),
                    pos: c.pos,
                }),
                _ => {}
            }
        }
        p
    }
}

/// An `EulaSection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eula {
    /// `Info`.
    pub info: Option<Msg>,
    /// `License` text (with its msgid for localised bundles).
    pub license: Msg,
}

/// A `StartupSection/Item`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartupItem {
    /// `ovf:id`: the VirtualSystem id.
    pub id: String,
    /// `ovf:order`.
    pub order: Option<String>,
    /// `ovf:startDelay`.
    pub start_delay: Option<String>,
    /// `ovf:stopDelay`.
    pub stop_delay: Option<String>,
    /// `ovf:startAction`.
    pub start_action: Option<String>,
    /// `ovf:stopAction`.
    pub stop_action: Option<String>,
    /// `ovf:waitingForGuest`.
    pub waiting_for_guest: Option<String>,
}

/// A `Strings` localisation bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StringsBundle {
    /// `xml:lang`.
    pub lang: Option<String>,
    /// `ovf:fileRef` of an external bundle.
    pub file_ref: Option<String>,
    /// `(msgid, text)` pairs of an embedded bundle.
    pub messages: Vec<(String, String)>,
}

/// `vbox:Machine/Hardware/Firmware/@type` of a `VirtualSystem` element, trimmed.
///
/// `vbox:Machine` is found by namespace URI, whatever its prefix; its descendants by local
/// name only, because VirtualBox writes them unprefixed, so they fall in whatever default
/// namespace is in scope (the OVF envelope namespace in its exports). Only direct children are
/// looked at: the walk is bounded by the three levels, not by the depth of the section.
pub(crate) fn vbox_firmware(system: &Element) -> Option<&str> {
    system
        .elements()
        .filter(|m| m.is(ns::VBOX, "Machine"))
        .flat_map(|m| m.elements().filter(|h| h.local_name() == "Hardware"))
        .flat_map(|h| h.elements().filter(|f| f.local_name() == "Firmware"))
        .find_map(|f| f.attrs.iter().find(|a| a.name == "type"))
        .map(|a| a.value.trim())
}

pub(crate) fn virtual_system_from(el: &Element) -> VirtualSystem {
    let k = if kind(el) == "VirtualSystemCollection" {
        ContentKind::VirtualSystemCollection
    } else {
        ContentKind::VirtualSystem
    };
    let mut vs = VirtualSystem {
        kind: k,
        id: ovf_attr(el, "id").unwrap_or_default().to_string(),
        info: child_msg(el, "Info"),
        name: child_msg(el, "Name"),
        operating_system: None,
        hardware: Vec::new(),
        products: Vec::new(),
        eulas: Vec::new(),
        annotation: None,
        startup: Vec::new(),
        install_boot_stop_delay: None,
        other_sections: Vec::new(),
        vbox_firmware: vbox_firmware(el).map(str::to_string),
        children: Vec::new(),
        pos: el.pos,
    };
    for c in el.elements() {
        if !is_core(c) {
            vs.other_sections.push((c.name.clone(), required(c)));
            continue;
        }
        match kind(c) {
            "Info" | "Name" => {}
            "OperatingSystemSection" => {
                vs.operating_system = Some(OperatingSystem {
                    id: ovf_attr(c, "id").unwrap_or_default().to_string(),
                    version: ovf_attr(c, "version").map(str::to_string),
                    vmw_os_type: c.attr_ns(ns::VMW, "osType").map(str::to_string),
                    description: child_text(c, "Description"),
                })
            }
            "VirtualHardwareSection" => vs.hardware.push(VirtualHardware::from_el(c)),
            "ProductSection" => vs.products.push(ProductSection::from_el(c)),
            "EulaSection" => vs.eulas.push(Eula {
                info: child_msg(c, "Info"),
                license: child_msg(c, "License").unwrap_or_default(),
            }),
            "AnnotationSection" => vs.annotation = child_msg(c, "Annotation"),
            "StartupSection" => {
                vs.startup = c
                    .elements()
                    .filter(|i| is_kind(i, "Item"))
                    .map(|i| StartupItem {
                        id: ovf_attr(i, "id").unwrap_or_default().to_string(),
                        order: ovf_attr(i, "order").map(str::to_string),
                        start_delay: ovf_attr(i, "startDelay").map(str::to_string),
                        stop_delay: ovf_attr(i, "stopDelay").map(str::to_string),
                        start_action: ovf_attr(i, "startAction").map(str::to_string),
                        stop_action: ovf_attr(i, "stopAction").map(str::to_string),
                        waiting_for_guest: ovf_attr(i, "waitingForGuest").map(str::to_string),
                    })
                    .collect()
            }
            "InstallSection" => {
                vs.install_boot_stop_delay =
                    Some(ovf_attr(c, "initialBootStopDelay").and_then(|v| v.trim().parse().ok()))
            }
            "VirtualSystem" | "VirtualSystemCollection" => vs.children.push(virtual_system_from(c)),
            other => vs.other_sections.push((other.to_string(), required(c))),
        }
    }
    vs
}
