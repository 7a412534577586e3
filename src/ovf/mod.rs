//! The OVF descriptor (DMTF DSP0243 0.9 / 1.x / 2.x): a lossless element tree with typed views,
//! a writer, a builder for new descriptors and a validator.
//!
//! ```
//! use ovftool::ovf::{Envelope, OvfVersion, ValidateOptions};
//!
//! let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
//! <Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"
//!           xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
//!   <References><File ovf:id="f1" ovf:href="disk.vmdk" ovf:size="512"/></References>
//!   <DiskSection><Info>Disks</Info>
//!     <Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="4" ovf:capacityAllocationUnits="byte * 2^30"/>
//!   </DiskSection>
//!   <VirtualSystem ovf:id="vm"><Info>A VM</Info></VirtualSystem>
//! </Envelope>"#;
//! let mut env = Envelope::parse(xml)?;
//! assert_eq!(env.version(), OvfVersion::V1);
//! assert_eq!(env.disks()[0].capacity_bytes(&env)?, 4 << 30);
//! env.set_file_size("f1", 1024)?;
//! let again = Envelope::parse(&env.to_bytes()?)?;
//! assert_eq!(again.references()[0].size, Some(1024));
//! let _findings = again.validate(&ValidateOptions::default());
//! # Ok::<(), ovftool::Error>(())
//! ```
//!
//! Layers: [`tree`] (quick-xml events → elements, lossless, positions), [`model`] (typed views),
//! [`units`] (allocation units), [`validate`](mod@validate) (diagnostics), [`write`](mod@write) (building
//! new descriptors in the VMware 1.0 layout or OVF 2.0).

pub mod diag;
pub mod env;
pub mod machine;
pub mod model;
pub mod props;
pub mod resource_type;
pub mod tree;
pub mod units;
pub mod validate;
pub mod write;

pub use diag::{Diagnostic, Severity};
pub use model::{
    ContentKind, DeploymentOption, Disk, Eula, FileRef, Item, ItemKind, Msg, Network,
    OperatingSystem, ProductSection, Property, StartupItem, StringsBundle, SystemSettings,
    VirtualHardware, VirtualSystem, VmwConfig,
};
pub use resource_type::ResourceType;
pub use units::parse_allocation_units;
pub use validate::ValidateOptions;

use std::sync::Arc;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::limits::Limits;
use model::{is_core, is_kind, kind, ovf_attr};
use tree::{Document, Element};

/// Namespace URIs (docs/FORMATS.md §5.1).
pub mod ns {
    /// OVF 1.x envelope.
    pub const OVF_1: &str = "http://schemas.dmtf.org/ovf/envelope/1";
    /// OVF 2.x envelope.
    pub const OVF_2: &str = "http://schemas.dmtf.org/ovf/envelope/2";
    /// Pre-DMTF VMware OVF 0.9 envelope.
    pub const OVF_0_9: &str = "http://www.vmware.com/schema/ovf/1/envelope";
    /// CIM ResourceAllocationSettingData (`rasd:`).
    pub const RASD: &str =
        "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData";
    /// CIM VirtualSystemSettingData (`vssd:`).
    pub const VSSD: &str =
        "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData";
    /// CIM StorageAllocationSettingData (`sasd:`, OVF 2).
    pub const SASD: &str =
        "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_StorageAllocationSettingData";
    /// CIM EthernetPortAllocationSettingData (`epasd:`, OVF 2).
    pub const EPASD: &str =
        "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_EthernetPortAllocationSettingData";
    /// CIM common types (`cim:`).
    pub const CIM: &str = "http://schemas.dmtf.org/wbem/wscim/1/common";
    /// XML Schema instance (`xsi:`).
    pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
    /// VMware extensions (`vmw:`).
    pub const VMW: &str = "http://www.vmware.com/schema/ovf";
    /// VirtualBox extensions (`vbox:`).
    pub const VBOX: &str = "http://www.virtualbox.org/ovf/machine";
    /// The `xml:` prefix.
    pub const XML: &str = super::tree::XML_NS;
}

/// The OVF version, from the envelope namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum OvfVersion {
    /// VMware's pre-DMTF 0.9 (`http://www.vmware.com/schema/ovf/1/envelope`).
    #[serde(rename = "0.9")]
    V0_9,
    /// DSP0243 1.x (`http://schemas.dmtf.org/ovf/envelope/1`).
    #[serde(rename = "1.x")]
    V1,
    /// DSP0243 2.x (`http://schemas.dmtf.org/ovf/envelope/2`).
    #[serde(rename = "2.x")]
    V2,
}

impl OvfVersion {
    /// The envelope namespace URI.
    pub fn namespace(self) -> &'static str {
        match self {
            OvfVersion::V0_9 => ns::OVF_0_9,
            OvfVersion::V1 => ns::OVF_1,
            OvfVersion::V2 => ns::OVF_2,
        }
    }
}

/// Options of [`Envelope::parse_with`].
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Size caps: `max_descriptor_bytes` (16 MiB by default) and `max_xml_depth`.
    pub limits: Limits,
}

#[cfg(test)]
thread_local! {
    /// Descriptors parsed ([`Envelope::parse_with`]) on this thread: what tests count to show
    /// that a command parses its package's descriptor once.
    pub(crate) static DESCRIPTOR_PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// An OVF descriptor: the lossless element tree plus typed views and edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    doc: Document,
    version: OvfVersion,
}

impl Envelope {
    /// Parses a descriptor with default [`ParseOptions`].
    ///
    /// # Errors
    /// See [`Envelope::parse_with`].
    ///
    /// # Security
    /// Untrusted bytes: size and depth are capped, DOCTYPE/entities refused.
    pub fn parse(bytes: &[u8]) -> Result<Envelope> {
        Self::parse_with(bytes, &ParseOptions::default())
    }

    /// Parses a descriptor (UTF-8, with or without BOM).
    ///
    /// Only the envelope itself is required here; missing or wrong sections are reported by
    /// [`Envelope::validate`], so that `info` can show imperfect real-world descriptors.
    ///
    /// # Errors
    /// [`crate::ErrorKind::LimitExceeded`] over `opts.limits.max_descriptor_bytes` or the depth
    /// cap; [`crate::ErrorKind::Xml`] (line, column) for text that is not well-formed XML or
    /// has a DOCTYPE; [`crate::ErrorKind::InvalidOvf`] when the root is not an `Envelope` in one of
    /// the OVF 0.9/1.x/2.x namespaces; [`crate::ErrorKind::LimitExceeded`] also for more
    /// properties, hardware items, files, disks or deployment options than `opts.limits` allows.
    ///
    /// # Security
    /// No entity expansion, no network or file access, bounded allocation.
    pub fn parse_with(bytes: &[u8], opts: &ParseOptions) -> Result<Envelope> {
        #[cfg(test)]
        DESCRIPTOR_PARSES.with(|c| c.set(c.get() + 1));
        let doc = tree::parse_document(bytes, &opts.limits)?;
        let root = &doc.root;
        let pos = root.pos;
        let version = match root.ns.as_deref() {
            Some(ns::OVF_1) => OvfVersion::V1,
            Some(ns::OVF_2) => OvfVersion::V2,
            Some(ns::OVF_0_9) => OvfVersion::V0_9,
            Some(other) => {
                // One character off a DMTF namespace is easy to miss in the message: say so.
                let slash = match other.strip_suffix('/') {
                    Some(ns::OVF_1 | ns::OVF_2) => " (a DMTF OVF namespace with a trailing \"/\": another URI)",
                    _ => "",
                };
                return Err(Error::invalid_ovf(format!(
                    "expected an OVF envelope namespace (DMTF OVF 1/2 or VMware 0.9), found \"{other}\"{slash}"
                ))
                .with_line_col(pos.line, pos.column));
            }
            None => {
                return Err(Error::invalid_ovf(format!(
                    "expected the root element in an OVF envelope namespace, found <{}> in no namespace",
                    root.name
                ))
                .with_line_col(pos.line, pos.column))
            }
        };
        if root.local_name() != "Envelope" {
            return Err(Error::invalid_ovf(format!(
                "expected the root element <Envelope>, found <{}>",
                root.name
            ))
            .with_line_col(pos.line, pos.column));
        }
        check_counts(&doc.root, &opts.limits)?;
        Ok(Envelope { doc, version })
    }

    /// Wraps a document built in memory. `version` must match the root's namespace; nothing
    /// else is checked here (run [`Envelope::validate`]).
    pub fn from_document(doc: Document, version: OvfVersion) -> Envelope {
        Envelope { doc, version }
    }

    /// The OVF version (by envelope namespace).
    pub fn version(&self) -> OvfVersion {
        self.version
    }

    /// The underlying element tree.
    pub fn document(&self) -> &Document {
        &self.doc
    }

    /// The underlying element tree, for edits the typed API does not cover. Keep namespace
    /// fields (`Element::ns`, `Attr::ns`) consistent with the prefixes you write.
    pub fn document_mut(&mut self) -> &mut Document {
        &mut self.doc
    }

    /// The root `Envelope` element.
    pub fn root(&self) -> &Element {
        &self.doc.root
    }

    fn references_el(&self) -> Option<&Element> {
        self.doc.root.elements().find(|e| is_kind(e, "References"))
    }

    /// `References/File` entries in order.
    pub fn references(&self) -> Vec<FileRef> {
        self.references_el()
            .map(|r| {
                r.elements()
                    .filter(|f| is_kind(f, "File"))
                    .map(FileRef::from_el)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The File with `ovf:id == id`.
    pub fn file(&self, id: &str) -> Option<FileRef> {
        self.references().into_iter().find(|f| f.id == id)
    }

    /// Envelope-level sections of kind `k` (e.g. `DiskSection`).
    pub(crate) fn envelope_sections<'a>(&'a self, k: &'a str) -> impl Iterator<Item = &'a Element> {
        self.doc.root.elements().filter(move |e| is_kind(e, k))
    }

    /// Disks of the envelope's `DiskSection`(s).
    pub fn disks(&self) -> Vec<Disk> {
        self.envelope_sections("DiskSection")
            .flat_map(|s| s.elements().filter(|d| is_kind(d, "Disk")))
            .map(Disk::from_el)
            .collect()
    }

    /// The disk with `ovf:diskId == id`.
    pub fn disk(&self, id: &str) -> Option<Disk> {
        self.disks().into_iter().find(|d| d.disk_id == id)
    }

    /// Networks of the envelope's `NetworkSection`(s).
    pub fn networks(&self) -> Vec<Network> {
        self.envelope_sections("NetworkSection")
            .flat_map(|s| s.elements().filter(|d| is_kind(d, "Network")))
            .map(|n| Network {
                name: ovf_attr(n, "name").unwrap_or_default().to_string(),
                description: model::child_text(n, "Description"),
            })
            .collect()
    }

    /// Configurations of the `DeploymentOptionSection`.
    pub fn deployment_options(&self) -> Vec<DeploymentOption> {
        self.envelope_sections("DeploymentOptionSection")
            .flat_map(|s| s.elements().filter(|d| is_kind(d, "Configuration")))
            .map(|c| DeploymentOption {
                id: ovf_attr(c, "id").unwrap_or_default().to_string(),
                label: model::child_msg(c, "Label"),
                description: model::child_msg(c, "Description"),
                default: ovf_attr(c, "default")
                    .and_then(model::parse_bool)
                    .unwrap_or(false),
            })
            .collect()
    }

    /// The default deployment option: the one marked `ovf:default="true"`, else the first
    /// (GOVMOMI behaviour); `None` without a DeploymentOptionSection.
    pub fn default_deployment_option(&self) -> Option<String> {
        let opts = self.deployment_options();
        opts.iter()
            .find(|o| o.default)
            .or(opts.first())
            .map(|o| o.id.clone())
    }

    fn content_el(&self) -> Option<&Element> {
        self.doc
            .root
            .elements()
            .find(|e| is_core(e) && matches!(kind(e), "VirtualSystem" | "VirtualSystemCollection"))
    }

    /// The content: the top `VirtualSystem` or `VirtualSystemCollection` (with nested ones).
    pub fn content(&self) -> Option<VirtualSystem> {
        self.content_el().map(model::virtual_system_from)
    }

    /// Every `VirtualSystem` (not collections), depth first.
    pub fn virtual_systems(&self) -> Vec<VirtualSystem> {
        let mut out = Vec::new();
        if let Some(c) = self.content() {
            for v in c.walk() {
                if v.kind == ContentKind::VirtualSystem {
                    let mut v = v.clone();
                    v.children.clear();
                    out.push(v);
                }
            }
        }
        out
    }

    /// Envelope-level `Strings` bundles.
    pub fn strings(&self) -> Vec<StringsBundle> {
        self.doc
            .root
            .elements()
            .filter(|e| is_kind(e, "Strings"))
            .map(|s| StringsBundle {
                lang: s.attr_ns(ns::XML, "lang").map(str::to_string),
                file_ref: ovf_attr(s, "fileRef").map(str::to_string),
                messages: s
                    .elements()
                    .filter(|m| is_kind(m, "Msg"))
                    .map(|m| {
                        (
                            ovf_attr(m, "msgid").unwrap_or_default().to_string(),
                            m.text(),
                        )
                    })
                    .collect(),
            })
            .collect()
    }

    /// The text of message `msgid` in language `lang` from an embedded `Strings` bundle.
    pub fn message(&self, msgid: &str, lang: &str) -> Option<String> {
        self.strings()
            .into_iter()
            .filter(|b| b.lang.as_deref() == Some(lang))
            .flat_map(|b| b.messages)
            .find(|(id, _)| id == msgid)
            .map(|(_, t)| t)
    }

    /// Every ProductSection property with the section it belongs to, across all systems, in
    /// document order. The sections are shared (one allocation per section, not per property),
    /// and their own `properties` list is left empty: each property comes paired with its
    /// section instead, so memory stays linear in the descriptor.
    pub fn properties(&self) -> Vec<(Arc<ProductSection>, Property)> {
        fn collect(v: VirtualSystem, out: &mut Vec<(Arc<ProductSection>, Property)>) {
            for mut section in v.products {
                let props = std::mem::take(&mut section.properties);
                let section = Arc::new(section);
                out.extend(props.into_iter().map(|p| (Arc::clone(&section), p)));
            }
            for c in v.children {
                collect(c, out);
            }
        }
        let mut out = Vec::new();
        if let Some(c) = self.content() {
            collect(c, &mut out);
        }
        out
    }

    fn file_el_mut(&mut self, file_id: &str) -> Option<&mut Element> {
        let refs = self
            .doc
            .root
            .elements_mut()
            .find(|e| is_kind(e, "References"))?;
        refs.elements_mut()
            .find(|f| is_kind(f, "File") && ovf_attr(f, "id") == Some(file_id))
    }

    /// The prefix bound to the envelope namespace on the root (`ovf`), if any.
    pub(crate) fn ovf_prefix(&self) -> Option<String> {
        let uri = self.version.namespace();
        self.doc
            .root
            .ns_decls()
            .find(|(p, u)| !p.is_empty() && *u == uri)
            .map(|(p, _)| p.to_string())
    }

    fn ovf_attr_name(&self, local: &str) -> (String, Option<&'static str>) {
        match self.ovf_prefix() {
            Some(p) => (format!("{p}:{local}"), Some(self.version.namespace())),
            None => (local.to_string(), None),
        }
    }

    /// Sets `ovf:size` of File `file_id` (pack fixes sizes to the real stored bytes).
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidOvf`] when no File has that id.
    pub fn set_file_size(&mut self, file_id: &str, size: u64) -> Result<()> {
        self.set_file_attr(file_id, "size", size.to_string())
    }

    /// Sets `ovf:href` of File `file_id`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidOvf`] when no File has that id.
    pub fn set_file_href(&mut self, file_id: &str, href: &str) -> Result<()> {
        self.set_file_attr(file_id, "href", href.to_string())
    }

    /// Sets the OVF attribute `local` of File `file_id` to `value`.
    fn set_file_attr(&mut self, file_id: &str, local: &str, value: String) -> Result<()> {
        let (name, uri) = self.ovf_attr_name(local);
        let f = self.file_el_mut(file_id).ok_or_else(|| {
            Error::invalid_ovf(format!("no File with ovf:id \"{file_id}\" in References"))
        })?;
        // Keep the prefix the file already uses for its attributes.
        let existing = f
            .attrs
            .iter()
            .find(|a| a.local_name() == local && a.ns.as_deref().is_none_or(model::is_envelope_ns))
            .map(|a| a.name.clone());
        f.set_attr(existing.as_deref().unwrap_or(&name), uri, value);
        Ok(())
    }

    /// Removes File `file_id` from References (e.g. an nvram file an appliance build drops).
    /// Returns whether it was there. References to it elsewhere are left for the caller.
    pub fn remove_file(&mut self, file_id: &str) -> bool {
        let Some(refs) = self
            .doc
            .root
            .elements_mut()
            .find(|e| is_kind(e, "References"))
        else {
            return false;
        };
        let before = refs.children.len();
        refs.children.retain(|n| match n {
            tree::Node::Element(f) => !(is_kind(f, "File") && ovf_attr(f, "id") == Some(file_id)),
            _ => true,
        });
        before != refs.children.len()
    }

    /// The default value of property `key` (plain key or `class.key.instance`), for
    /// `${key}` capacities. Reads the ProductSections of the element tree directly (no model is
    /// built), so one lookup costs one pass over the sections and their properties.
    pub fn property_value(&self, key: &str) -> Option<String> {
        fn find(el: &Element, key: &str) -> Option<Option<String>> {
            for c in el.elements().filter(|c| is_core(c)) {
                let hit = match kind(c) {
                    "ProductSection" => {
                        let class = ovf_attr(c, "class").filter(|v| !v.is_empty());
                        let instance = ovf_attr(c, "instance").filter(|v| !v.is_empty());
                        c.elements()
                            .filter(|p| is_core(p) && kind(p) == "Property")
                            .find(|p| {
                                let k = ovf_attr(p, "key").unwrap_or_default();
                                k == key || full_key_is(class, k, instance, key)
                            })
                            .map(|p| ovf_attr(p, "value").map(str::to_string))
                    }
                    "VirtualSystem" | "VirtualSystemCollection" => find(c, key),
                    _ => None,
                };
                if hit.is_some() {
                    return hit;
                }
            }
            None
        }
        find(self.content_el()?, key).flatten()
    }

    /// Serialises the descriptor. Unedited parts come back as they were read (same elements,
    /// attributes, prefixes, comments; insignificant formatting inside tags may differ).
    ///
    /// # Errors
    /// Currently infallible; returns `Result` so that future encodings can fail.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        Ok(tree::write_document(&self.doc).into_bytes())
    }

    /// Checks the descriptor; see [`validate`](mod@validate) for what is checked.
    pub fn validate(&self, opts: &ValidateOptions) -> Vec<Diagnostic> {
        validate::validate(self, opts)
    }
}

impl Disk {
    /// The capacity in bytes: `ovf:capacity` (a number, or `${key}` resolved to the default
    /// value of that ProductSection property) times `ovf:capacityAllocationUnits`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidOvf`] for a capacity that is not a non-negative integer (after
    /// property substitution), an unknown unit, or an overflowing product.
    pub fn capacity_bytes(&self, env: &Envelope) -> Result<u64> {
        let raw = self.capacity.trim();
        let value = if let Some(key) = raw.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            env.property_value(key.trim()).ok_or_else(|| {
                Error::invalid_ovf(format!(
                    "disk {}: capacity refers to property \"{key}\", which has no default value",
                    self.disk_id
                ))
            })?
        } else {
            raw.to_string()
        };
        let n: u64 = value.trim().parse().map_err(|_| {
            Error::invalid_ovf(format!(
                "disk {}: expected a capacity in whole units, found \"{value}\"",
                self.disk_id
            ))
        })?;
        let mult = match self.capacity_units.as_deref() {
            None => 1,
            Some(u) => parse_allocation_units(u)?,
        };
        n.checked_mul(mult).ok_or_else(|| {
            Error::invalid_ovf(format!(
                "disk {}: capacity {n} × {mult} bytes overflows",
                self.disk_id
            ))
        })
    }
}

/// Whether `[class.]key[.instance]` (DSP0243 §9.5, as [`Property::full_key`]) equals `want`,
/// without building the string.
fn full_key_is(class: Option<&str>, key: &str, instance: Option<&str>, want: &str) -> bool {
    let rest = match class {
        Some(c) => match want.strip_prefix(c).and_then(|r| r.strip_prefix('.')) {
            Some(r) => r,
            None => return false,
        },
        None => want,
    };
    match instance {
        Some(i) => rest
            .strip_prefix(key)
            .and_then(|r| r.strip_prefix('.'))
            .is_some_and(|r| r == i),
        None => rest == key,
    }
}

/// Checks the counts of the elements every command walks (properties, hardware items, files,
/// disks) against `limits`, once at parse time, so that no later pass over them is unbounded.
fn check_counts(root: &Element, limits: &Limits) -> Result<()> {
    #[derive(Default)]
    struct Counts {
        properties: usize,
        items: usize,
        files: usize,
        disks: usize,
        options: usize,
    }
    fn walk(el: &Element, parent: &str, n: &mut Counts) {
        for c in el.elements() {
            if is_core(c) {
                match (parent, kind(c)) {
                    ("ProductSection", "Property") => n.properties += 1,
                    ("VirtualHardwareSection", "Item" | "StorageItem" | "EthernetPortItem") => {
                        n.items += 1
                    }
                    ("References", "File") => n.files += 1,
                    ("DiskSection", "Disk") => n.disks += 1,
                    ("DeploymentOptionSection", "Configuration") => n.options += 1,
                    _ => {}
                }
            }
            walk(c, if is_core(c) { kind(c) } else { "" }, n);
        }
    }
    let mut n = Counts::default();
    walk(root, "Envelope", &mut n);
    for (what, found, max) in [
        (
            "number of ProductSection properties",
            n.properties,
            limits.max_ovf_properties,
        ),
        (
            "number of virtual hardware items",
            n.items,
            limits.max_ovf_items,
        ),
        ("number of File references", n.files, limits.max_ovf_files),
        ("number of disks", n.disks, limits.max_ovf_disks),
        (
            "number of deployment options",
            n.options,
            limits.max_ovf_deployment_options,
        ),
    ] {
        if found > max {
            return Err(Error::limit(what, found as u64, max as u64));
        }
    }
    Ok(())
}

#[cfg(test)]
mod bounded_tests {
    use super::*;

    fn with_props(n: usize, class: &str) -> Vec<u8> {
        let props: String = (0..n)
            .map(|i| format!(r#"<Property ovf:key="k{i}" ovf:type="string" ovf:value="{i}"/>"#))
            .collect();
        format!(
            r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
<References/><VirtualSystem ovf:id="vm"><Info>x</Info>
<ProductSection ovf:class="{class}" ovf:instance="1"><Info>p</Info>{props}</ProductSection>
<ProductSection><Info>q</Info><Property ovf:key="k0" ovf:type="string" ovf:value="plain"/></ProductSection>
</VirtualSystem></Envelope>"#
        )
        .into_bytes()
    }

    #[test]
    fn properties_share_their_section_instead_of_cloning_it() {
        let env = Envelope::parse(&with_props(3000, "c")).unwrap();
        let props = env.properties();
        assert_eq!(props.len(), 3001);
        assert!(Arc::ptr_eq(&props[0].0, &props[2999].0));
        assert!(props[0].0.properties.is_empty());
        assert_eq!(props[2999].1.full_key(&props[2999].0), "c.k2999.1");
        assert_eq!(props[3000].1.full_key(&props[3000].0), "k0");
    }

    #[test]
    fn property_value_matches_plain_and_full_keys_in_order() {
        let env = Envelope::parse(&with_props(10, "c")).unwrap();
        assert_eq!(env.property_value("k9").as_deref(), Some("9"));
        assert_eq!(env.property_value("c.k9.1").as_deref(), Some("9"));
        // The first property with the key wins, as in properties().
        assert_eq!(env.property_value("k0").as_deref(), Some("0"));
        assert_eq!(env.property_value("c.k0").as_deref(), None);
        assert_eq!(env.property_value("k10"), None);
    }

    #[test]
    fn descriptor_with_too_many_properties_is_refused() {
        let opts = ParseOptions {
            limits: Limits {
                max_ovf_properties: 100,
                ..Limits::default()
            },
        };
        let e = Envelope::parse_with(&with_props(100, "c"), &opts).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::LimitExceeded, "{e}");
        assert!(Envelope::parse_with(&with_props(99, "c"), &opts).is_ok());
    }

    #[test]
    fn descriptor_with_too_many_nodes_is_refused_while_parsing() {
        let opts = ParseOptions {
            limits: Limits {
                max_xml_nodes: 1000,
                ..Limits::default()
            },
        };
        let e = Envelope::parse_with(&with_props(1000, "c"), &opts).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::LimitExceeded, "{e}");
        assert!(e.to_string().contains("XML elements and attributes"), "{e}");
    }
}
