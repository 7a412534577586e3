//! OVF 0.9 (VMware's pre-DMTF envelope, `http://www.vmware.com/schema/ovf/1/envelope`) to
//! DSP0243 1.0, in place on the lossless tree, for targets whose importers read only DMTF OVF.
//!
//! What changes (DSP0243 1.0.0 and its schema DSP8023 against the 0.9 drafts, as VirtualBox's
//! and ovftool's 0.9 readers map them):
//! * the envelope namespace, on every element, attribute and declaration; `ovf:version="0.9"`
//!   goes (1.x has no version attribute: the namespace says it);
//! * `<Section xsi:type="ovf:XSection_Type">` and `<Content xsi:type="ovf:VirtualSystem_Type">`
//!   become `<XSection>` and `<VirtualSystem>` (substitution-group elements in 1.0);
//! * ProductSection `Full-version` becomes `FullVersion`;
//! * CIM settings (RASD, VSSD): `InstanceId` becomes `InstanceID`; the required `ElementName`
//!   is taken from `Caption` (VSSD: added as "Virtual Hardware Family") and `InstanceID` added
//!   where missing; `BusNumber`, not a RASD property, becomes `Address` (dropped when the item
//!   has one); the 0.9 unit names `MegaBytes`/`GigaBytes`/`KiloBytes`/`MHz` become the
//!   programmatic units DSP0004 defines; the children are put in schema (alphabetical) order;
//! * `HostResource` `/disk/ID` and `/file/ID` become `ovf:/disk/ID` and `ovf:/file/ID`;
//! * attributes of envelope elements written without prefix (`id=`...; 0.9 habit) are
//!   qualified: DSP8023 qualifies every attribute.

use super::xml;
use crate::error::Result;
use crate::ovf::model::{is_core, kind};
use crate::ovf::tree::{Element, Node};
use crate::ovf::{ns, Envelope, OvfVersion, ParseOptions};

/// Converts an OVF 0.9 descriptor to OVF 1.0; returns the new descriptor and the changes in
/// words. Other versions are returned unchanged (no changes).
///
/// # Errors
/// When the converted tree does not serialize or parse back.
pub fn to_ovf1(env: &Envelope, opts: &ParseOptions) -> Result<(Envelope, Vec<String>)> {
    if env.version() != OvfVersion::V0_9 {
        return Ok((env.clone(), Vec::new()));
    }
    let mut doc = env.document().clone();
    let mut n = Counts::default();
    convert(&mut doc.root, None, &mut n);
    let ovf_prefix = doc
        .root
        .attrs
        .iter()
        .find(|a| a.prefix() == Some("xmlns") && a.value == ns::OVF_1)
        .map(|a| a.local_name().to_string());
    if let Some(p) = &ovf_prefix {
        qualify(&mut doc.root, p);
    }
    // The root's `ovf:version="0.9"`.
    doc.root.attrs.retain(|a| {
        !(a.local_name() == "version" && a.ns.as_deref().is_none_or(|u| u == ns::OVF_1))
    });
    let bytes = Envelope::from_document(doc, OvfVersion::V1).to_bytes()?;
    let out = Envelope::parse_with(&bytes, opts)?;
    let mut changes = vec![format!(
        "OVF 0.9 -> 1.0: envelope namespace {} -> {}; {} Section/Content element(s) named by \
         their type",
        ns::OVF_0_9,
        ns::OVF_1,
        n.sections
    )];
    if n.settings > 0 {
        changes.push(format!(
            "OVF 0.9 -> 1.0: {} hardware setting(s) in CIM 1.0 form (InstanceID, ElementName, \
             Address, units, schema order)",
            n.settings
        ));
    }
    if n.host_resources > 0 {
        changes.push(format!(
            "OVF 0.9 -> 1.0: {} HostResource reference(s) as ovf:/disk/ID or ovf:/file/ID",
            n.host_resources
        ));
    }
    Ok((out, changes))
}

#[derive(Default)]
struct Counts {
    sections: usize,
    settings: usize,
    host_resources: usize,
}

fn convert(el: &mut Element, parent_kind: Option<&str>, n: &mut Counts) {
    // Namespaces: the element, its attributes, and the declarations on it.
    if el.ns.as_deref() == Some(ns::OVF_0_9) {
        el.ns = Some(ns::OVF_1.to_string());
    }
    for a in &mut el.attrs {
        if a.ns.as_deref() == Some(ns::OVF_0_9) {
            a.ns = Some(ns::OVF_1.to_string());
        }
        if (a.name == "xmlns" || a.prefix() == Some("xmlns")) && a.value == ns::OVF_0_9 {
            a.value = ns::OVF_1.to_string();
        }
    }
    // `Section`/`Content` with xsi:type → the element its type names.
    if matches!(el.local_name(), "Section" | "Content") && is_core(el) {
        let k = kind(el).to_string();
        if k != el.local_name() {
            el.name = match el.prefix() {
                Some(p) => format!("{p}:{k}"),
                None => k,
            };
            el.attrs
                .retain(|a| !(a.local_name() == "type" && a.ns.as_deref() == Some(ns::XSI)));
            n.sections += 1;
        }
    }
    let k = kind(el).to_string();
    if k == "ProductSection" {
        for c in el.elements_mut() {
            if c.local_name() == "Full-version" && is_core(c) {
                c.name = match c.prefix() {
                    Some(p) => format!("{p}:FullVersion"),
                    None => "FullVersion".into(),
                };
            }
        }
    }
    let settings = match (parent_kind, k.as_str()) {
        (Some("VirtualHardwareSection"), "Item") => Some(ns::RASD),
        (Some("VirtualHardwareSection"), "System") => Some(ns::VSSD),
        _ => None,
    };
    if let Some(uri) = settings {
        cim_settings(el, uri, n);
    }
    for c in el.elements_mut() {
        convert(c, Some(k.as_str()), n);
    }
}

/// Renames the CIM child `from` to `to` (keeping its prefix); false when there is none.
fn rename(el: &mut Element, from: &str, to: &str) -> bool {
    let mut hit = false;
    for c in el.elements_mut() {
        if c.local_name() == from && is_cim(c.ns.as_deref()) {
            c.name = match c.prefix() {
                Some(p) => format!("{p}:{to}"),
                None => to.to_string(),
            };
            hit = true;
        }
    }
    hit
}

/// A new CIM child `local` with `text`, named like the element's other CIM children.
fn cim_child(el: &Element, uri: &str, local: &str, text: &str) -> Element {
    let prefix = el
        .elements()
        .find(|e| e.ns.as_deref() == Some(uri))
        .and_then(|e| e.prefix().map(str::to_string));
    let name = match prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_string(),
    };
    let mut e = Element::new(name, Some(uri));
    e.push_text(text);
    e
}

/// A CIM settings namespace (RASD and its OVF 2 siblings, VSSD).
fn is_cim(uri: Option<&str>) -> bool {
    xml::is_cim_data(uri) || uri == Some(ns::VSSD)
}

fn has(el: &Element, local: &str) -> bool {
    el.elements()
        .any(|c| c.local_name() == local && is_cim(c.ns.as_deref()))
}

/// One RASD item or VSSD system in CIM 1.0 form.
fn cim_settings(el: &mut Element, uri: &str, n: &mut Counts) {
    let before = el.clone();
    rename(el, "InstanceId", "InstanceID");
    if !has(el, "ElementName") {
        if uri == ns::VSSD {
            let e = cim_child(el, uri, "ElementName", "Virtual Hardware Family");
            xml::append(el, e);
        } else if !rename(el, "Caption", "ElementName") {
            let rt = xml::field(el, "ResourceType").unwrap_or_default();
            let e = cim_child(el, uri, "ElementName", &format!("Resource type {rt}"));
            xml::append(el, e);
        }
    }
    if uri == ns::VSSD && !has(el, "InstanceID") {
        let e = cim_child(el, uri, "InstanceID", "0");
        xml::append(el, e);
    }
    if has(el, "BusNumber") {
        if has(el, "Address") {
            xml::remove_children(el, |c| {
                c.local_name() == "BusNumber" && is_cim(c.ns.as_deref())
            });
        } else {
            rename(el, "BusNumber", "Address");
        }
    }
    for c in el.elements_mut() {
        if c.local_name() == "AllocationUnits" {
            let unit = match c.text().trim().to_ascii_lowercase().as_str() {
                "kilobytes" | "kb" => Some("byte * 2^10"),
                "megabytes" | "mb" => Some("byte * 2^20"),
                "gigabytes" | "gb" => Some("byte * 2^30"),
                "mhz" => Some("hertz * 10^6"),
                _ => None,
            };
            if let Some(u) = unit {
                c.set_text(u);
            }
        }
        if c.local_name() == "HostResource" {
            let t = c.text().trim().to_string();
            if t.starts_with("/disk/") || t.starts_with("/file/") {
                c.set_text(format!("ovf:{t}"));
                n.host_resources += 1;
            }
        }
    }
    sort_cim(el);
    if *el != before {
        n.settings += 1;
    }
}

/// Puts the CIM children of `el` in schema order (the CIM XSDs' sequences are alphabetical),
/// vendor children after them; each keeps the whitespace before it.
fn sort_cim(el: &mut Element) {
    let indent = xml::child_indent(el, "\n        ");
    let mut cim = Vec::new();
    let mut other = Vec::new();
    let mut tail = Vec::new();
    for node in std::mem::take(&mut el.children) {
        match node {
            Node::Element(e) if is_cim(e.ns.as_deref()) => cim.push(e),
            Node::Element(e) => other.push(Node::Element(e)),
            Node::Text(t) if t.trim().is_empty() => {}
            keep => tail.push(keep),
        }
    }
    // Stable: repeated properties (Connection, HostResource) keep their order.
    cim.sort_by(|a, b| a.local_name().cmp(b.local_name()));
    let close = indent
        .strip_suffix("  ")
        .map(str::to_string)
        .unwrap_or_else(|| "\n".into());
    for node in cim.into_iter().map(Node::Element).chain(other).chain(tail) {
        el.children.push(Node::Text(indent.clone()));
        el.children.push(node);
    }
    el.children.push(Node::Text(close));
}

/// Qualifies the unprefixed attributes of envelope elements with `prefix` (DSP8023 sets
/// `attributeFormDefault="qualified"`).
fn qualify(el: &mut Element, prefix: &str) {
    if el.ns.as_deref() == Some(ns::OVF_1) {
        for a in &mut el.attrs {
            if a.ns.is_none() && !a.name.contains(':') && a.name != "xmlns" {
                a.name = format!("{prefix}:{}", a.name);
                a.ns = Some(ns::OVF_1.to_string());
            }
        }
    }
    for c in el.elements_mut() {
        qualify(c, prefix);
    }
}
