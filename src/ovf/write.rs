//! Building new descriptors from a typed description (export, tests).
//!
//! [`EnvelopeBuilder`] writes OVF 1.0 in the namespace layout VMware tools emit (default
//! namespace = the OVF envelope, prefixes `ovf`, `cim`, `rasd`, `vmw`, `vssd`, `xsi`;
//! docs/FORMATS.md §5.1, open-vmdk templates) or OVF 2.0 (same layout under
//! `http://schemas.dmtf.org/ovf/envelope/2`). RASD/VSSD children are written in the schema's
//! `xs:sequence` order, which is alphabetical (CIM_ResourceAllocationSettingData.xsd), and vendor
//! elements (`vmw:Config`, `vmw:CoresPerSocket`) come last, so every descriptor built here
//! validates against DSP8023 1.1.1 / 2.0.1 (checked by `tests/it/ovf/generate.rs` with xmllint).

use super::model::{Disk, FileRef, Network};
use super::tree::{Attr, Document, Element, Node, XMLNS_NS};
use super::{ns, Envelope, OvfVersion, ResourceType};
use crate::error::{Error, Result};

/// A `DeploymentOptionSection/Configuration` to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigurationSpec {
    /// `ovf:id`.
    pub id: String,
    /// `Label`.
    pub label: String,
    /// `Description`.
    pub description: String,
    /// `ovf:default`.
    pub default: bool,
}

/// The `OperatingSystemSection` to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsSpec {
    /// CIM OSType (`ovf:id`).
    pub cim_id: u16,
    /// `ovf:version`.
    pub version: Option<String>,
    /// `vmw:osType` (vSphere guest id, e.g. `other4xLinux64Guest`).
    pub vmw_os_type: Option<String>,
    /// `Description`.
    pub description: Option<String>,
}

/// One `Item` (RASD) to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemSpec {
    /// `rasd:InstanceID` (unique within the section).
    pub instance_id: String,
    /// `rasd:ResourceType`.
    pub resource_type: ResourceType,
    /// `rasd:ResourceSubType`.
    pub resource_sub_type: Option<String>,
    /// `rasd:ElementName` (required by the schema).
    pub element_name: String,
    /// `rasd:Description`.
    pub description: Option<String>,
    /// `rasd:Address` (controller bus number, NIC MAC).
    pub address: Option<String>,
    /// `rasd:AddressOnParent` (unit number).
    pub address_on_parent: Option<String>,
    /// `rasd:Parent` (InstanceID of the controller).
    pub parent: Option<String>,
    /// `rasd:HostResource` (`ovf:/disk/ID`, `ovf:/file/ID`).
    pub host_resources: Vec<String>,
    /// `rasd:Connection` (network names).
    pub connections: Vec<String>,
    /// `rasd:AllocationUnits` (`hertz * 10^6`, `byte * 2^20`).
    pub allocation_units: Option<String>,
    /// `rasd:VirtualQuantity`.
    pub virtual_quantity: Option<u64>,
    /// `rasd:AutomaticAllocation` (connected at power on).
    pub automatic_allocation: Option<bool>,
    /// `ovf:required` (written only when `Some(false)`).
    pub required: Option<bool>,
    /// `ovf:configuration`.
    pub configuration: Option<String>,
    /// `vmw:CoresPerSocket` (CPU item).
    pub cores_per_socket: Option<u32>,
    /// Item-level `vmw:Config` key/values.
    pub config: Vec<(String, String)>,
}

/// The `VirtualHardwareSection` to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HardwareSpec {
    /// `vssd:VirtualSystemType` families (`vmx-14`), written space separated.
    pub families: Vec<String>,
    /// `ovf:transport` (`com.vmware.guestInfo`).
    pub transport: Option<String>,
    /// Items in order.
    pub items: Vec<ItemSpec>,
    /// Section-level `vmw:Config` (firmware, hot add...).
    pub config: Vec<(String, String)>,
    /// Section-level `vmw:ExtraConfig` (raw .vmx keys).
    pub extra_config: Vec<(String, String)>,
}

/// A `ProductSection/Property` to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropertySpec {
    /// `ovf:key`.
    pub key: String,
    /// `ovf:type` (`string`, `boolean`, `uint16`...).
    pub type_: String,
    /// `ovf:qualifiers`.
    pub qualifiers: Option<String>,
    /// `ovf:value` (default).
    pub default: Option<String>,
    /// `ovf:userConfigurable`.
    pub user_configurable: bool,
    /// `ovf:password`.
    pub password: bool,
    /// `Label`.
    pub label: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// A `Category` written before this property when it differs from the previous one.
    pub category: Option<String>,
}

/// A `ProductSection` to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductSpec {
    /// `ovf:class`.
    pub class: Option<String>,
    /// `ovf:instance`.
    pub instance: Option<String>,
    /// `Product`.
    pub product: Option<String>,
    /// `Vendor`.
    pub vendor: Option<String>,
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
    /// Properties.
    pub properties: Vec<PropertySpec>,
}

/// The `VirtualSystem` to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemSpec {
    /// `ovf:id`.
    pub id: String,
    /// `Name`.
    pub name: String,
    /// `Info` (defaults to "A virtual machine").
    pub info: Option<String>,
    /// `OperatingSystemSection`.
    pub os: Option<OsSpec>,
    /// `VirtualHardwareSection`.
    pub hardware: HardwareSpec,
    /// `ProductSection`s.
    pub products: Vec<ProductSpec>,
    /// `AnnotationSection`.
    pub annotation: Option<String>,
    /// `EulaSection` license texts.
    pub eulas: Vec<String>,
}

/// Everything a new descriptor holds. Fill it in and call [`EnvelopeBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeBuilder {
    /// [`OvfVersion::V1`] (OVF 1.0, the default) or [`OvfVersion::V2`].
    pub version: OvfVersion,
    /// `vmw:buildId` on the envelope, if any.
    pub build_id: Option<String>,
    /// `References/File`.
    pub files: Vec<FileRef>,
    /// `DiskSection/Disk`.
    pub disks: Vec<Disk>,
    /// `NetworkSection/Network`.
    pub networks: Vec<Network>,
    /// `DeploymentOptionSection/Configuration`.
    pub configurations: Vec<ConfigurationSpec>,
    /// The virtual system.
    pub system: SystemSpec,
}

impl Default for EnvelopeBuilder {
    fn default() -> Self {
        EnvelopeBuilder {
            version: OvfVersion::V1,
            build_id: None,
            files: Vec::new(),
            disks: Vec::new(),
            networks: Vec::new(),
            configurations: Vec::new(),
            system: SystemSpec::default(),
        }
    }
}

struct W {
    ovf: &'static str,
}

impl W {
    fn el(&self, local: &str) -> Element {
        Element::new(local, Some(self.ovf))
    }
    fn text(&self, local: &str, text: &str) -> Element {
        let mut e = self.el(local);
        e.push_text(text);
        e
    }
    fn attr(&self, e: &mut Element, local: &str, value: impl Into<String>) {
        e.attrs.push(Attr {
            name: format!("ovf:{local}"),
            value: value.into(),
            ns: Some(self.ovf.to_string()),
        });
    }
    fn section(&self, local: &str, info: &str) -> Element {
        let mut e = self.el(local);
        e.push(self.text("Info", info));
        e
    }
}

fn prefixed(prefix: &str, uri: &str, local: &str, text: &str) -> Element {
    let mut e = Element::new(format!("{prefix}:{local}"), Some(uri));
    e.push_text(text);
    e
}

fn vmw_config(w: &W, local: &str, key: &str, value: &str) -> Element {
    let mut e = Element::new(format!("vmw:{local}"), Some(ns::VMW));
    w.attr(&mut e, "required", "false");
    for (k, v) in [("key", key), ("value", value)] {
        e.attrs.push(Attr {
            name: format!("vmw:{k}"),
            value: v.to_string(),
            ns: Some(ns::VMW.to_string()),
        });
    }
    e
}

/// Indents a built tree the way VMware tools do (two spaces), adding whitespace text nodes only
/// between elements (never inside text content).
fn indent(e: &mut Element, depth: usize) {
    if e.children.is_empty() || e.children.iter().all(|c| !matches!(c, Node::Element(_))) {
        return;
    }
    let mut out = Vec::with_capacity(e.children.len() * 2 + 1);
    for c in std::mem::take(&mut e.children) {
        out.push(Node::Text(format!("\n{}", "  ".repeat(depth + 1))));
        let mut c = c;
        if let Node::Element(ce) = &mut c {
            indent(ce, depth + 1);
        }
        out.push(c);
    }
    out.push(Node::Text(format!("\n{}", "  ".repeat(depth))));
    e.children = out;
}

impl EnvelopeBuilder {
    /// Builds the envelope.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] for an OVF 0.9 target (we only write 1.0 and 2.0), an empty
    /// system id, an item without InstanceID or ElementName, or a disk without id.
    pub fn build(&self) -> Result<Envelope> {
        let ovf = match self.version {
            OvfVersion::V1 => ns::OVF_1,
            OvfVersion::V2 => ns::OVF_2,
            OvfVersion::V0_9 => {
                return Err(Error::usage("cannot write OVF 0.9; choose OVF 1.0 or 2.0"))
            }
        };
        if self.system.id.is_empty() {
            return Err(Error::usage("the virtual system needs an id"));
        }
        let w = W { ovf };
        let mut root = w.el("Envelope");
        if let Some(b) = &self.build_id {
            root.attrs.push(Attr {
                name: "vmw:buildId".into(),
                value: b.clone(),
                ns: Some(ns::VMW.into()),
            });
        }
        for (p, uri) in [
            ("", ovf),
            ("cim", ns::CIM),
            ("ovf", ovf),
            ("rasd", ns::RASD),
            ("vmw", ns::VMW),
            ("vssd", ns::VSSD),
            ("xsi", ns::XSI),
        ] {
            root.attrs.push(Attr {
                name: if p.is_empty() {
                    "xmlns".into()
                } else {
                    format!("xmlns:{p}")
                },
                value: uri.into(),
                ns: Some(XMLNS_NS.into()),
            });
        }
        // References.
        let mut refs = w.el("References");
        for f in &self.files {
            let mut fe = w.el("File");
            w.attr(&mut fe, "href", &f.href);
            w.attr(&mut fe, "id", &f.id);
            if let Some(s) = f.size {
                w.attr(&mut fe, "size", s.to_string());
            }
            if let Some(c) = &f.compression {
                w.attr(&mut fe, "compression", c);
            }
            if let Some(c) = f.chunk_size {
                w.attr(&mut fe, "chunkSize", c.to_string());
            }
            refs.push(fe);
        }
        root.push(refs);
        if !self.disks.is_empty() {
            let mut ds = w.section("DiskSection", "Virtual disk information");
            for d in &self.disks {
                if d.disk_id.is_empty() {
                    return Err(Error::usage("a disk needs an id"));
                }
                let mut de = w.el("Disk");
                w.attr(&mut de, "capacity", &d.capacity);
                if let Some(u) = &d.capacity_units {
                    w.attr(&mut de, "capacityAllocationUnits", u);
                }
                w.attr(&mut de, "diskId", &d.disk_id);
                if let Some(f) = &d.file_ref {
                    w.attr(&mut de, "fileRef", f);
                }
                if let Some(f) = &d.format {
                    w.attr(&mut de, "format", f);
                }
                if let Some(p) = &d.parent_ref {
                    w.attr(&mut de, "parentRef", p);
                }
                if let Some(p) = d.populated_size {
                    w.attr(&mut de, "populatedSize", p.to_string());
                }
                ds.push(de);
            }
            root.push(ds);
        }
        if !self.networks.is_empty() {
            let mut ns_ = w.section("NetworkSection", "The list of logical networks");
            for n in &self.networks {
                let mut ne = w.el("Network");
                w.attr(&mut ne, "name", &n.name);
                ne.push(
                    w.text(
                        "Description",
                        n.description
                            .as_deref()
                            .unwrap_or(&format!("The {} network", n.name)),
                    ),
                );
                ns_.push(ne);
            }
            root.push(ns_);
        }
        if !self.configurations.is_empty() {
            let mut ds = w.section("DeploymentOptionSection", "The list of deployment options");
            for c in &self.configurations {
                let mut ce = w.el("Configuration");
                if c.default {
                    w.attr(&mut ce, "default", "true");
                }
                w.attr(&mut ce, "id", &c.id);
                ce.push(w.text("Label", &c.label));
                ce.push(w.text("Description", &c.description));
                ds.push(ce);
            }
            root.push(ds);
        }
        root.push(self.system_element(&w)?);
        indent(&mut root, 0);
        let doc = Document {
            decl: Some("xml version=\"1.0\" encoding=\"UTF-8\"".into()),
            prolog: Vec::new(),
            root,
            epilog: Vec::new(),
            unbound_prefixes: Vec::new(),
        };
        Ok(Envelope::from_document(doc, self.version))
    }

    fn system_element(&self, w: &W) -> Result<Element> {
        let s = &self.system;
        let mut vs = w.el("VirtualSystem");
        w.attr(&mut vs, "id", &s.id);
        vs.push(w.text("Info", s.info.as_deref().unwrap_or("A virtual machine")));
        vs.push(w.text("Name", if s.name.is_empty() { &s.id } else { &s.name }));
        if let Some(os) = &s.os {
            let mut oe = w.section(
                "OperatingSystemSection",
                "The kind of installed guest operating system",
            );
            w.attr(&mut oe, "id", os.cim_id.to_string());
            if let Some(v) = &os.version {
                w.attr(&mut oe, "version", v);
            }
            if let Some(t) = &os.vmw_os_type {
                oe.attrs.push(Attr {
                    name: "vmw:osType".into(),
                    value: t.clone(),
                    ns: Some(ns::VMW.into()),
                });
            }
            if let Some(d) = &os.description {
                oe.push(w.text("Description", d));
            }
            vs.push(oe);
        }
        vs.push(self.hardware_element(w)?);
        for p in &s.products {
            vs.push(product_element(w, p));
        }
        if let Some(a) = &s.annotation {
            let mut ae = w.section("AnnotationSection", "A human-readable annotation");
            ae.push(w.text("Annotation", a));
            vs.push(ae);
        }
        for l in &s.eulas {
            let mut ee = w.section("EulaSection", "End User License Agreement");
            ee.push(w.text("License", l));
            vs.push(ee);
        }
        Ok(vs)
    }

    fn hardware_element(&self, w: &W) -> Result<Element> {
        let hw = &self.system.hardware;
        let mut he = w.section("VirtualHardwareSection", "Virtual hardware requirements");
        if let Some(t) = &hw.transport {
            w.attr(&mut he, "transport", t);
        }
        let mut sys = w.el("System");
        // VSSD sequence order: ElementName, InstanceID, VirtualSystemIdentifier,
        // VirtualSystemType.
        sys.push(prefixed(
            "vssd",
            ns::VSSD,
            "ElementName",
            "Virtual Hardware Family",
        ));
        sys.push(prefixed("vssd", ns::VSSD, "InstanceID", "0"));
        sys.push(prefixed(
            "vssd",
            ns::VSSD,
            "VirtualSystemIdentifier",
            if self.system.name.is_empty() {
                &self.system.id
            } else {
                &self.system.name
            },
        ));
        if !hw.families.is_empty() {
            sys.push(prefixed(
                "vssd",
                ns::VSSD,
                "VirtualSystemType",
                &hw.families.join(" "),
            ));
        }
        he.push(sys);
        for it in &hw.items {
            he.push(item_element(w, it)?);
        }
        for (k, v) in &hw.config {
            he.push(vmw_config(w, "Config", k, v));
        }
        for (k, v) in &hw.extra_config {
            he.push(vmw_config(w, "ExtraConfig", k, v));
        }
        Ok(he)
    }
}

fn item_element(w: &W, it: &ItemSpec) -> Result<Element> {
    if it.instance_id.is_empty() || it.element_name.is_empty() {
        return Err(Error::usage(
            "every hardware item needs an InstanceID and an ElementName",
        ));
    }
    let mut e = w.el("Item");
    if let Some(c) = &it.configuration {
        w.attr(&mut e, "configuration", c);
    }
    if it.required == Some(false) {
        w.attr(&mut e, "required", "false");
    }
    // (name, value) pairs, then sorted: the RASD xs:sequence is alphabetical.
    let mut fields: Vec<(&str, String)> = Vec::new();
    let opt = |fields: &mut Vec<(&'static str, String)>, n: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            fields.push((n, v.clone()));
        }
    };
    opt(&mut fields, "Address", &it.address);
    opt(&mut fields, "AddressOnParent", &it.address_on_parent);
    opt(&mut fields, "AllocationUnits", &it.allocation_units);
    if let Some(a) = it.automatic_allocation {
        fields.push(("AutomaticAllocation", a.to_string()));
    }
    for c in &it.connections {
        fields.push(("Connection", c.clone()));
    }
    opt(&mut fields, "Description", &it.description);
    fields.push(("ElementName", it.element_name.clone()));
    for h in &it.host_resources {
        fields.push(("HostResource", h.clone()));
    }
    fields.push(("InstanceID", it.instance_id.clone()));
    opt(&mut fields, "Parent", &it.parent);
    opt(&mut fields, "ResourceSubType", &it.resource_sub_type);
    fields.push(("ResourceType", it.resource_type.to_string()));
    if let Some(q) = it.virtual_quantity {
        fields.push(("VirtualQuantity", q.to_string()));
    }
    // Stable sort keeps repeated Connection/HostResource in their given order.
    fields.sort_by(|a, b| a.0.cmp(b.0));
    for (n, v) in fields {
        e.push(prefixed("rasd", ns::RASD, n, &v));
    }
    if let Some(c) = it.cores_per_socket {
        let mut ce = Element::new("vmw:CoresPerSocket", Some(ns::VMW));
        w.attr(&mut ce, "required", "false");
        ce.push_text(c.to_string());
        e.push(ce);
    }
    for (k, v) in &it.config {
        e.push(vmw_config(w, "Config", k, v));
    }
    Ok(e)
}

fn product_element(w: &W, p: &ProductSpec) -> Element {
    let mut pe = w.section("ProductSection", "Information about the installed software");
    if let Some(c) = &p.class {
        w.attr(&mut pe, "class", c);
    }
    if let Some(i) = &p.instance {
        w.attr(&mut pe, "instance", i);
    }
    for (n, v) in [
        ("Product", &p.product),
        ("Vendor", &p.vendor),
        ("Version", &p.version),
        ("FullVersion", &p.full_version),
        ("ProductUrl", &p.product_url),
        ("VendorUrl", &p.vendor_url),
        ("AppUrl", &p.app_url),
    ] {
        if let Some(v) = v {
            pe.push(w.text(n, v));
        }
    }
    let mut category: Option<&str> = None;
    for prop in &p.properties {
        if let Some(c) = prop.category.as_deref() {
            if category != Some(c) {
                pe.push(w.text("Category", c));
                category = Some(c);
            }
        }
        let mut e = w.el("Property");
        w.attr(&mut e, "key", &prop.key);
        if prop.password {
            w.attr(&mut e, "password", "true");
        }
        if let Some(q) = &prop.qualifiers {
            w.attr(&mut e, "qualifiers", q);
        }
        w.attr(&mut e, "type", &prop.type_);
        if prop.user_configurable {
            w.attr(&mut e, "userConfigurable", "true");
        }
        if let Some(v) = &prop.default {
            w.attr(&mut e, "value", v);
        }
        if let Some(l) = &prop.label {
            e.push(w.text("Label", l));
        }
        if let Some(d) = &prop.description {
            e.push(w.text("Description", d));
        }
        pe.push(e);
    }
    pe
}
