//! `edit`: change a package's descriptor (product, annotation, EULA, properties, hardware,
//! networks, files) and re-emit the package in one pass, disks copied byte for byte.
//!
//! The descriptor is edited through the lossless tree ([`crate::ovf::tree`]): elements that are
//! not edited are written back as they were, vendor sections included. The result must
//! validate (no error the input did not already have). The manifest is rewritten (same
//! algorithm as the input's, SHA-256 without one); an edit of a signed package needs `--sign`
//! or `--unsign`, since the old signature cannot hold for a new manifest.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::package::{self, CertPlan, FilePlan, FileSource, Package, WritePlan};
use super::xml::{self, Names};
use crate::cert::Signer;
use crate::digest::Algorithm;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::ova::names;
use crate::ovf::model::{is_core, is_kind, kind, ovf_attr};
use crate::ovf::tree::Element;
use crate::ovf::ResourceType;
use crate::ovf::{ns, Envelope, Severity, ValidateOptions};
use crate::progress::Progress;
use crate::vm::controller::ControllerKind;
use crate::vm::NicAdapter;

/// What happens to the package's signature.
#[derive(Debug, Clone, Default)]
pub enum Signing {
    /// Keep it when nothing changed; refuse an edit that would invalidate it.
    #[default]
    Keep,
    /// Sign the new manifest.
    Sign(Box<Signer>),
    /// Drop the signature.
    Unsign,
}

/// A property change (`--prop KEY=DEFAULT` and its companions).
#[derive(Debug, Clone, Default)]
pub struct PropEdit {
    /// `ovf:key` (or `class.key.instance`).
    pub key: String,
    /// New default value (`ovf:value`).
    pub default: Option<String>,
    /// `ovf:type` (for a new property: `string` by default).
    pub type_: Option<String>,
    /// `Label`.
    pub label: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `ovf:userConfigurable`.
    pub user_configurable: Option<bool>,
}

/// A deployment option to add or change (`--add-config ID=LABEL`, `--config-description`).
#[derive(Debug, Clone, Default)]
pub struct ConfigEdit {
    /// `ovf:id`.
    pub id: String,
    /// `Label` (a new option without one is labelled with its id).
    pub label: Option<String>,
    /// `Description` (a new option without one gets its label).
    pub description: Option<String>,
    /// Create the option when the descriptor has none with this id (`--add-config`); without,
    /// an unknown id is an error that names the known ones.
    pub create: bool,
}

/// Options of [`edit`]. Every field left at its default changes nothing.
#[derive(Debug, Clone, Default)]
pub struct EditOptions {
    /// ProductSection `Product`.
    pub product: Option<String>,
    /// `Vendor`.
    pub vendor: Option<String>,
    /// `Version`.
    pub product_version: Option<String>,
    /// `FullVersion`.
    pub product_full_version: Option<String>,
    /// `ProductUrl`.
    pub product_url: Option<String>,
    /// `VendorUrl`.
    pub vendor_url: Option<String>,
    /// AnnotationSection text.
    pub annotation: Option<String>,
    /// EULA text (replaces the first EulaSection's license, or adds one).
    pub eula: Option<String>,
    /// Remove every EulaSection.
    pub remove_eula: bool,
    /// Properties to add or change, in order.
    pub props: Vec<PropEdit>,
    /// Properties to remove.
    pub remove_props: Vec<String>,
    /// Number of virtual CPUs.
    pub cpus: Option<u32>,
    /// Memory in MiB.
    pub memory_mib: Option<u64>,
    /// Adapter type of every NIC.
    pub nic_type: Option<NicAdapter>,
    /// Kind of every SCSI controller.
    pub scsi_type: Option<ControllerKind>,
    /// New NICs, one per network name.
    pub add_nics: Vec<String>,
    /// Items to remove, by InstanceID.
    pub remove_devices: Vec<String>,
    /// Virtual hardware family `vmx-N`.
    pub hardware_version: Option<u32>,
    /// Network renames `(old, new)`.
    pub rename_nets: Vec<(String, String)>,
    /// Local files to add to the package.
    pub add_files: Vec<PathBuf>,
    /// Files to remove, by `ovf:id`.
    pub remove_files: Vec<String>,
    /// Deployment options (DeploymentOptionSection Configurations) to add or relabel.
    pub configs: Vec<ConfigEdit>,
    /// Deployment options to remove, by `ovf:id` (items and property values only they use go
    /// with them).
    pub remove_configs: Vec<String>,
    /// The deployment option to mark `ovf:default="true"`.
    pub default_config: Option<String>,
    /// The signature.
    pub signing: Signing,
    /// Read every file carried over unchanged and check it against the input's manifest
    /// (without: its digest is carried over unread; see [`edit`]).
    pub verify: bool,
    /// Replace an existing output.
    pub force: bool,
    /// Size caps.
    pub limits: Limits,
    /// Receives progress of the copy (`None`: none reported).
    pub progress: Option<std::sync::Arc<dyn Progress>>,
}

/// What [`edit`] did.
#[derive(Debug, Clone, Serialize)]
pub struct EditSummary {
    /// The output written (`-`: standard output).
    pub output: PathBuf,
    /// Every change made, in words.
    pub changes: Vec<String>,
    /// Members written with their sizes.
    pub entries: Vec<(String, u64)>,
    /// The manifest's algorithm.
    pub manifest: Option<Algorithm>,
    /// Whether the output is signed.
    pub signed: bool,
}

/// The product section edits on the first ProductSection (created when missing).
fn edit_product(env: &mut Envelope, o: &EditOptions, changes: &mut Vec<String>) -> Result<()> {
    let fields: [(&str, &Option<String>); 6] = [
        ("Product", &o.product),
        ("Vendor", &o.vendor),
        ("Version", &o.product_version),
        ("FullVersion", &o.product_full_version),
        ("ProductUrl", &o.product_url),
        ("VendorUrl", &o.vendor_url),
    ];
    if fields.iter().all(|(_, v)| v.is_none()) {
        return Ok(());
    }
    let names = Names::of(env);
    let section = product_section(env, &names)?;
    // DSP0243 ProductSection_Type sequence: Info, Product, Vendor, Version, FullVersion,
    // ProductUrl, VendorUrl, AppUrl, Icon, then Category/Property.
    const ORDER: [&str; 8] = [
        "Info",
        "Product",
        "Vendor",
        "Version",
        "FullVersion",
        "ProductUrl",
        "VendorUrl",
        "AppUrl",
    ];
    for (local, value) in fields {
        let Some(value) = value else { continue };
        let old = section
            .elements()
            .find(|c| is_kind(c, local))
            .map(|c| c.text().trim().to_string());
        if old.as_deref() == Some(value.as_str()) {
            continue;
        }
        match xml::find_index(section, |c| is_kind(c, local)) {
            Some(i) => {
                if let Some(c) = xml::element_at(section, i) {
                    c.set_text(value.as_str())
                }
            }
            None => {
                let at = ORDER.iter().position(|k| *k == local).unwrap_or(0);
                let before = &ORDER[..at];
                let after =
                    xml::last_element_index(section, |e| is_core(e) && before.contains(&kind(e)));
                xml::insert_after(section, after, names.core_text(local, value));
            }
        }
        changes.push(format!(
            "product {local}: {} -> {value}",
            old.unwrap_or_else(|| "(none)".into())
        ));
    }
    Ok(())
}

/// The first ProductSection of the top content, created after the hardware when missing.
fn product_section<'a>(env: &'a mut Envelope, names: &Names) -> Result<&'a mut Element> {
    let content = xml::content_mut(env)?;
    if !content.elements().any(|e| is_kind(e, "ProductSection")) {
        let indent = xml::child_indent(content, "\n  ");
        let sec = xml::with_children(
            names.core("ProductSection"),
            &indent,
            vec![names.core_text("Info", "Information about the installed software")],
        );
        let after = xml::last_element_index(content, |e| {
            is_core(e)
                && matches!(
                    kind(e),
                    "Info" | "Name" | "OperatingSystemSection" | "VirtualHardwareSection"
                )
        });
        xml::insert_after(content, after, sec);
    }
    content
        .elements_mut()
        .find(|e| is_kind(e, "ProductSection"))
        .ok_or_else(|| Error::invalid_ovf("no ProductSection"))
}

fn edit_annotation(env: &mut Envelope, o: &EditOptions, changes: &mut Vec<String>) -> Result<()> {
    let Some(text) = &o.annotation else {
        return Ok(());
    };
    let names = Names::of(env);
    let content = xml::content_mut(env)?;
    match xml::find_index(content, |e| is_kind(e, "AnnotationSection")) {
        Some(i) => {
            let Some(sec) = xml::element_at(content, i) else {
                return Ok(());
            };
            let old = xml::field(sec, "Annotation");
            if old.as_deref() == Some(text.as_str()) {
                return Ok(());
            }
            if !xml::set_field(sec, "Annotation", text) {
                xml::append(sec, names.core_text("Annotation", text));
            }
        }
        None => {
            let indent = xml::child_indent(content, "\n  ");
            let sec = xml::with_children(
                names.core("AnnotationSection"),
                &indent,
                vec![
                    names.core_text("Info", "A human-readable annotation"),
                    names.core_text("Annotation", text),
                ],
            );
            let after = xml::last_element_index(content, |e| {
                is_core(e) && matches!(kind(e), "Info" | "Name")
            });
            xml::insert_after(content, after, sec);
        }
    }
    changes.push("annotation set".into());
    Ok(())
}

fn edit_eula(env: &mut Envelope, o: &EditOptions, changes: &mut Vec<String>) -> Result<()> {
    if o.eula.is_none() && !o.remove_eula {
        return Ok(());
    }
    let names = Names::of(env);
    let content = xml::content_mut(env)?;
    if o.remove_eula {
        let n = xml::remove_children(content, |e| is_kind(e, "EulaSection"));
        if n > 0 {
            changes.push(format!("{n} EULA section(s) removed"));
        }
    }
    if let Some(text) = &o.eula {
        match xml::find_index(content, |e| is_kind(e, "EulaSection")) {
            Some(i) => {
                let Some(sec) = xml::element_at(content, i) else {
                    return Ok(());
                };
                if !xml::set_field(sec, "License", text) {
                    xml::append(sec, names.core_text("License", text));
                }
            }
            None => {
                let indent = xml::child_indent(content, "\n  ");
                let sec = xml::with_children(
                    names.core("EulaSection"),
                    &indent,
                    vec![
                        names.core_text("Info", "End User License Agreement"),
                        names.core_text("License", text),
                    ],
                );
                let after = xml::last_element_index(content, |e| {
                    is_core(e)
                        && matches!(
                            kind(e),
                            "Info"
                                | "Name"
                                | "OperatingSystemSection"
                                | "VirtualHardwareSection"
                                | "ProductSection"
                        )
                });
                xml::insert_after(content, after, sec);
            }
        }
        changes.push(format!("EULA set ({} characters)", text.chars().count()));
    }
    Ok(())
}

/// Whether `p` (a Property element of `section`) is the property `key`: plain key or
/// `class.key.instance`.
fn is_prop(section: &Element, p: &Element, key: &str) -> bool {
    let k = ovf_attr(p, "key").unwrap_or_default();
    if k == key {
        return true;
    }
    let class = ovf_attr(section, "class").filter(|c| !c.is_empty());
    let inst = ovf_attr(section, "instance").filter(|c| !c.is_empty());
    let mut full = String::new();
    if let Some(c) = class {
        full.push_str(c);
        full.push('.');
    }
    full.push_str(k);
    if let Some(i) = inst {
        full.push('.');
        full.push_str(i);
    }
    full == key
}

fn edit_props(env: &mut Envelope, o: &EditOptions, changes: &mut Vec<String>) -> Result<()> {
    if o.props.is_empty() && o.remove_props.is_empty() {
        return Ok(());
    }
    let names = Names::of(env);
    for key in &o.remove_props {
        let content = xml::content_mut(env)?;
        let mut n = 0;
        for sys in all_sections_mut(content, "ProductSection") {
            let snapshot = sys.clone();
            n += xml::remove_children(sys, |p| {
                is_kind(p, "Property") && is_prop(&snapshot, p, key)
            });
        }
        if n == 0 {
            return Err(Error::usage(format!(
                "removing property {key}: no such property"
            )));
        }
        changes.push(format!("property {key} removed"));
    }
    for pe in &o.props {
        let content = xml::content_mut(env)?;
        let mut found = false;
        for sec in all_sections_mut(content, "ProductSection") {
            let snapshot = sec.clone();
            for p in sec.elements_mut() {
                if !(is_kind(p, "Property") && is_prop(&snapshot, p, &pe.key)) {
                    continue;
                }
                found = true;
                update_prop(&names, p, pe, changes);
            }
        }
        if !found {
            let section = product_section(env, &names)?;
            let mut p = names.core("Property");
            names.set_ovf_attr(&mut p, "key", &pe.key);
            names.set_ovf_attr(&mut p, "type", pe.type_.as_deref().unwrap_or("string"));
            if let Some(u) = pe.user_configurable {
                names.set_ovf_attr(&mut p, "userConfigurable", if u { "true" } else { "false" });
            }
            names.set_ovf_attr(&mut p, "value", pe.default.as_deref().unwrap_or(""));
            let indent = xml::child_indent(section, "\n      ");
            let mut kids = Vec::new();
            if let Some(l) = &pe.label {
                kids.push(names.core_text("Label", l));
            }
            if let Some(d) = &pe.description {
                kids.push(names.core_text("Description", d));
            }
            if !kids.is_empty() {
                p = xml::with_children(p, &indent, kids);
            }
            xml::append(section, p);
            changes.push(format!(
                "property {} added (default {:?})",
                pe.key,
                pe.default.as_deref().unwrap_or("")
            ));
        }
    }
    Ok(())
}

fn update_prop(names: &Names, p: &mut Element, pe: &PropEdit, changes: &mut Vec<String>) {
    let mut set = |local: &str, new: &str, changes: &mut Vec<String>| {
        let old = ovf_attr(p, local).map(str::to_string);
        if old.as_deref() != Some(new) {
            names.set_ovf_attr(p, local, new);
            changes.push(format!(
                "property {} {local}: {} -> {new}",
                pe.key,
                old.unwrap_or_else(|| "(none)".into())
            ));
        }
    };
    if let Some(v) = &pe.default {
        set("value", v, changes);
    }
    if let Some(t) = &pe.type_ {
        set("type", t, changes);
    }
    if let Some(u) = pe.user_configurable {
        set(
            "userConfigurable",
            if u { "true" } else { "false" },
            changes,
        );
    }
    let indent = xml::child_indent(p, "\n        ");
    for (local, value) in [("Label", &pe.label), ("Description", &pe.description)] {
        let Some(v) = value else { continue };
        let old = xml::field(p, local);
        if old.as_deref() == Some(v.as_str()) {
            continue;
        }
        if !xml::set_field(p, local, v) {
            if p.children.is_empty() {
                let el = std::mem::replace(p, Element::new("", None));
                let mut el = xml::with_children(el, &indent, vec![names.core_text(local, v)]);
                std::mem::swap(p, &mut el);
            } else {
                xml::append(p, names.core_text(local, v));
            }
        }
        changes.push(format!("property {} {local} set", pe.key));
    }
}

fn all_sections_mut<'a>(content: &'a mut Element, k: &str) -> Vec<&'a mut Element> {
    let mut out = Vec::new();
    collect_sections(content, k, &mut out);
    out
}

fn collect_sections<'a>(el: &'a mut Element, k: &str, out: &mut Vec<&'a mut Element>) {
    for c in el.elements_mut() {
        if is_kind(c, k) {
            out.push(c);
        } else if is_kind(c, "VirtualSystem") || is_kind(c, "VirtualSystemCollection") {
            collect_sections(c, k, out);
        }
    }
}

/// The lowercase spelling `nic_adapter` understands → the adapter.
pub fn parse_nic_type(s: &str) -> Option<NicAdapter> {
    crate::ovf::machine::nic_adapter(&s.trim().to_ascii_lowercase())
}

/// A SCSI controller kind from its OVF or vmx spelling.
pub fn parse_scsi_type(s: &str) -> Option<ControllerKind> {
    crate::ovf::machine::controller_kind(ResourceType::ParallelScsiHba, Some(s))
}

fn set_item_field(names: &Names, env_rasd: &str, item: &mut Element, local: &str, value: &str) {
    if !xml::set_field(item, local, value) {
        let el = rasd_el(names, env_rasd, item, local, value);
        // RASD children are in alphabetical order (CIM schema order).
        let after = xml::last_element_index(item, |e| e.local_name() < local);
        xml::insert_after(item, after, el);
    }
}

/// A new RASD child named like the item's other children.
fn rasd_el(_names: &Names, rasd_prefix: &str, item: &Element, local: &str, value: &str) -> Element {
    let (prefix, uri) = item
        .elements()
        .find(|e| xml::is_cim_data(e.ns.as_deref()))
        .map(|e| (e.prefix().map(str::to_string), e.ns.clone()))
        .unwrap_or((Some(rasd_prefix.to_string()), Some(ns::RASD.to_string())));
    let name = match prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_string(),
    };
    let mut e = Element::new(name, uri.as_deref());
    e.push_text(value);
    e
}

fn edit_hardware(env: &mut Envelope, o: &EditOptions, changes: &mut Vec<String>) -> Result<()> {
    let any = o.cpus.is_some()
        || o.memory_mib.is_some()
        || o.nic_type.is_some()
        || o.scsi_type.is_some()
        || !o.add_nics.is_empty()
        || !o.remove_devices.is_empty()
        || o.hardware_version.is_some();
    if !any {
        return Ok(());
    }
    let names = Names::of(env);
    let rasd = xml::prefix_for(env, ns::RASD, "rasd");
    let mut removed_disks = Vec::new();
    {
        let sys = xml::only_system(env)?;
        if let Some(n) = o.cpus {
            if n == 0 {
                return Err(Error::usage("the CPU count must be at least 1"));
            }
            let mut hit = false;
            for it in xml::items_mut(sys) {
                if xml::resource_type(it) == Some(ResourceType::Processor) {
                    let old = xml::field(it, "VirtualQuantity");
                    set_item_field(&names, &rasd, it, "VirtualQuantity", &n.to_string());
                    if xml::field(it, "ElementName").is_some_and(|e| e.ends_with("virtual CPU(s)"))
                    {
                        xml::set_field(it, "ElementName", &format!("{n} virtual CPU(s)"));
                    }
                    changes.push(format!(
                        "CPUs: {} -> {n}",
                        old.unwrap_or_else(|| "(none)".into())
                    ));
                    hit = true;
                }
            }
            if !hit {
                return Err(Error::usage(
                    "setting the CPU count: the hardware has no processor item",
                ));
            }
        }
        if let Some(mib) = o.memory_mib {
            if mib == 0 {
                return Err(Error::usage("the memory size must be at least 1 MiB"));
            }
            let mut hit = false;
            for it in xml::items_mut(sys) {
                if xml::resource_type(it) == Some(ResourceType::Memory) {
                    let old_q = xml::field(it, "VirtualQuantity").unwrap_or_default();
                    let old_u = xml::field(it, "AllocationUnits").unwrap_or_default();
                    set_item_field(&names, &rasd, it, "AllocationUnits", "byte * 2^20");
                    set_item_field(&names, &rasd, it, "VirtualQuantity", &mib.to_string());
                    if xml::field(it, "ElementName").is_some_and(|e| e.ends_with("of memory")) {
                        xml::set_field(it, "ElementName", &format!("{mib}MB of memory"));
                    }
                    changes.push(format!("memory: {old_q} {old_u} -> {mib} MiB"));
                    hit = true;
                }
            }
            if !hit {
                return Err(Error::usage(
                    "setting the memory size: the hardware has no memory item",
                ));
            }
        }
        if let Some(a) = o.nic_type {
            let sub = crate::ovf::machine::nic_sub_type(a);
            for it in xml::items_mut(sys) {
                if xml::resource_type(it) == Some(ResourceType::EthernetAdapter) {
                    let old = xml::field(it, "ResourceSubType");
                    if old.as_deref() != Some(sub) {
                        set_item_field(&names, &rasd, it, "ResourceSubType", sub);
                        // ovftool's generated "VmxNet3 ethernet adapter on ..." follows.
                        if let (Some(o), Some(d)) = (&old, xml::field(it, "Description")) {
                            if let Some(rest) = d.strip_prefix(o.as_str()) {
                                xml::set_field(it, "Description", &format!("{sub}{rest}"));
                            }
                        }
                        changes.push(format!(
                            "NIC {}: {} -> {sub}",
                            xml::field(it, "InstanceID").unwrap_or_default(),
                            old.unwrap_or_else(|| "(none)".into())
                        ));
                    }
                }
            }
        }
        if let Some(k) = o.scsi_type {
            let sub = crate::ovf::machine::controller_sub_type(k).unwrap_or("lsilogic");
            for it in xml::items_mut(sys) {
                if xml::resource_type(it) == Some(ResourceType::ParallelScsiHba) {
                    let old = xml::field(it, "ResourceSubType");
                    if old.as_deref() != Some(sub) {
                        set_item_field(&names, &rasd, it, "ResourceSubType", sub);
                        changes.push(format!(
                            "SCSI controller {}: {} -> {sub}",
                            xml::field(it, "InstanceID").unwrap_or_default(),
                            old.unwrap_or_else(|| "(none)".into())
                        ));
                    }
                }
            }
        }
        for id in &o.remove_devices {
            let items = xml::items_mut(sys);
            let children: Vec<String> = items
                .iter()
                .filter(|it| xml::field(it, "Parent").as_deref() == Some(id.as_str()))
                .filter_map(|it| xml::field(it, "InstanceID"))
                .collect();
            if !children.is_empty() {
                return Err(Error::usage(format!(
                    "removing device {id}: it is the controller of {}; remove those first",
                    children.join(", ")
                )));
            }
            let mut n = 0;
            for hw in sys
                .elements_mut()
                .filter(|e| is_kind(e, "VirtualHardwareSection"))
            {
                let target = hw.elements().find(|it| {
                    is_core(it)
                        && matches!(kind(it), "Item" | "StorageItem" | "EthernetPortItem")
                        && xml::field(it, "InstanceID").as_deref() == Some(id.as_str())
                });
                if let Some(t) = target {
                    for hr in t.elements().filter(|c| c.local_name() == "HostResource") {
                        let v = hr.text().trim().to_string();
                        if let Some(d) = v
                            .strip_prefix("ovf:/disk/")
                            .or_else(|| v.strip_prefix("/disk/"))
                        {
                            removed_disks.push(d.to_string());
                        }
                    }
                }
                n += xml::remove_children(hw, |it| {
                    is_core(it)
                        && matches!(kind(it), "Item" | "StorageItem" | "EthernetPortItem")
                        && xml::field(it, "InstanceID").as_deref() == Some(id.as_str())
                });
            }
            if n == 0 {
                return Err(Error::usage(format!(
                    "removing device {id}: no hardware item has this InstanceID"
                )));
            }
            changes.push(format!("device {id} removed"));
        }
        for net in &o.add_nics {
            let items = xml::items_mut(sys);
            let next_id = items
                .iter()
                .filter_map(|it| xml::field(it, "InstanceID")?.parse::<u64>().ok())
                .max()
                .unwrap_or(0)
                + 1;
            let nic_count = items
                .iter()
                .filter(|it| xml::resource_type(it) == Some(ResourceType::EthernetAdapter))
                .count();
            let sub = o
                .nic_type
                .map(crate::ovf::machine::nic_sub_type)
                .map(str::to_string)
                .or_else(|| {
                    items
                        .iter()
                        .find(|it| xml::resource_type(it) == Some(ResourceType::EthernetAdapter))
                        .and_then(|it| xml::field(it, "ResourceSubType"))
                })
                .unwrap_or_else(|| "VmxNet3".into());
            let Some(hw) = sys
                .elements_mut()
                .find(|e| is_kind(e, "VirtualHardwareSection"))
            else {
                return Err(Error::invalid_ovf("no VirtualHardwareSection"));
            };
            let last_item = xml::last_element_index(hw, |e| is_kind(e, "Item"));
            let indent = hw
                .children
                .get(last_item.unwrap_or(0).saturating_sub(1))
                .and_then(|n| match n {
                    crate::ovf::tree::Node::Text(t) if t.trim().is_empty() => Some(t.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "\n      ".into());
            let f = |l: &str, v: &str| {
                let mut e = Element::new(format!("{rasd}:{l}"), Some(ns::RASD));
                e.push_text(v);
                e
            };
            let item = xml::with_children(
                names.core("Item"),
                &indent,
                vec![
                    f("AddressOnParent", &(nic_count + 7).to_string()),
                    f("AutomaticAllocation", "true"),
                    f("Connection", net),
                    f("ElementName", &format!("Network adapter {}", nic_count + 1)),
                    f("InstanceID", &next_id.to_string()),
                    f("ResourceSubType", &sub),
                    f("ResourceType", &ResourceType::EthernetAdapter.to_string()),
                ],
            );
            xml::insert_after(hw, last_item, item);
            changes.push(format!("NIC {next_id} ({sub}) added on network {net}"));
        }
        if let Some(v) = o.hardware_version {
            let family = format!("vmx-{v:02}");
            for hw in sys
                .elements_mut()
                .filter(|e| is_kind(e, "VirtualHardwareSection"))
            {
                if let Some(s) = hw.elements_mut().find(|e| is_kind(e, "System")) {
                    let old = xml::field(s, "VirtualSystemType");
                    if old.as_deref() != Some(family.as_str())
                        && xml::set_field(s, "VirtualSystemType", &family)
                    {
                        changes.push(format!(
                            "hardware family: {} -> {family}",
                            old.unwrap_or_default()
                        ));
                    }
                }
            }
        }
    }
    for net in &o.add_nics {
        ensure_network(env, &names, net, changes);
    }
    // A removed disk device takes its disk (and the disk's file) along when nothing else uses it.
    for d in removed_disks {
        let still_used = env.virtual_systems().iter().any(|v| {
            v.hardware.iter().any(|h| {
                h.items.iter().any(|i| {
                    i.host_resources
                        .iter()
                        .any(|r| r.ends_with(&format!("/disk/{d}")))
                })
            })
        });
        if still_used {
            continue;
        }
        let file = env.disk(&d).and_then(|x| x.file_ref);
        for sec in env
            .document_mut()
            .root
            .elements_mut()
            .filter(|e| is_kind(e, "DiskSection"))
        {
            xml::remove_children(sec, |e| {
                is_kind(e, "Disk") && ovf_attr(e, "diskId") == Some(d.as_str())
            });
        }
        changes.push(format!("disk {d} removed with its device"));
        if let Some(f) = file {
            if env.remove_file(&f) {
                changes.push(format!("file {f} removed with its disk"));
            }
        }
    }
    Ok(())
}

fn ensure_network(env: &mut Envelope, names: &Names, net: &str, changes: &mut Vec<String>) {
    if env.networks().iter().any(|n| n.name == net) {
        return;
    }
    let root = &mut env.document_mut().root;
    if !root.elements().any(|e| is_kind(e, "NetworkSection")) {
        let indent = xml::child_indent(root, "\n  ");
        let sec = xml::with_children(
            names.core("NetworkSection"),
            &indent,
            vec![names.core_text("Info", "The list of logical networks")],
        );
        let after = xml::last_element_index(root, |e| {
            is_core(e) && matches!(kind(e), "References" | "DiskSection")
        });
        xml::insert_after(root, after, sec);
    }
    if let Some(sec) = root.elements_mut().find(|e| is_kind(e, "NetworkSection")) {
        let mut n = names.core("Network");
        names.set_ovf_attr(&mut n, "name", net);
        let indent = xml::child_indent(sec, "\n    ");
        let n = xml::with_children(
            n,
            &indent,
            vec![names.core_text("Description", &format!("The {net} network"))],
        );
        xml::append(sec, n);
        changes.push(format!("network {net} added"));
    }
}

fn rename_nets(env: &mut Envelope, o: &EditOptions, changes: &mut Vec<String>) -> Result<()> {
    for (old, new) in &o.rename_nets {
        let nets = env.networks();
        if !nets.iter().any(|n| &n.name == old) {
            return Err(Error::usage(format!(
                "renaming network {old} to {new}: no network {old:?}"
            )));
        }
        if nets.iter().any(|n| &n.name == new) {
            return Err(Error::usage(format!(
                "renaming network {old} to {new}: a network {new:?} exists already"
            )));
        }
        let names = Names::of(env);
        let root = &mut env.document_mut().root;
        for sec in root.elements_mut().filter(|e| is_kind(e, "NetworkSection")) {
            for n in sec.elements_mut().filter(|e| is_kind(e, "Network")) {
                if ovf_attr(n, "name") == Some(old.as_str()) {
                    names.set_ovf_attr(n, "name", new);
                }
            }
        }
        let mut nics = 0;
        rename_connections(root, old, new, &mut nics);
        changes.push(format!("network {old} -> {new} ({nics} NIC(s))"));
    }
    Ok(())
}

fn rename_connections(el: &mut Element, old: &str, new: &str, count: &mut usize) {
    for c in el.elements_mut() {
        if c.local_name() == "Connection"
            && xml::is_cim_data(c.ns.as_deref())
            && c.text().trim() == old
        {
            c.set_text(new);
            *count += 1;
        } else {
            rename_connections(c, old, new, count);
        }
    }
}

fn edit_files(
    env: &mut Envelope,
    o: &EditOptions,
    changes: &mut Vec<String>,
) -> Result<Vec<(String, PathBuf)>> {
    for id in &o.remove_files {
        if let Some(d) = env
            .disks()
            .iter()
            .find(|d| d.file_ref.as_deref() == Some(id))
        {
            return Err(Error::usage(format!(
                "removing file {id}: it holds disk {}; remove the disk's device instead",
                d.disk_id
            )));
        }
        let used = env.virtual_systems().iter().any(|v| {
            v.hardware.iter().any(|h| {
                h.items.iter().any(|i| {
                    i.host_resources
                        .iter()
                        .any(|r| r.ends_with(&format!("/file/{id}")))
                })
            })
        });
        if used {
            return Err(Error::usage(format!(
                "removing file {id}: a device uses it (ovf:/file/{id}); remove the device first"
            )));
        }
        if !env.remove_file(id) {
            return Err(Error::usage(format!(
                "removing file {id}: no File with this id"
            )));
        }
        changes.push(format!("file {id} removed"));
    }
    let mut added = Vec::new();
    if o.add_files.is_empty() {
        return Ok(added);
    }
    let names = Names::of(env);
    let mut ids: HashSet<String> = env.references().into_iter().map(|f| f.id).collect();
    let hrefs: HashSet<String> = env.references().into_iter().map(|f| f.href).collect();
    for p in &o.add_files {
        let meta = std::fs::metadata(p).map_err(|e| Error::io("cannot open", e).with_path(p))?;
        if !meta.is_file() {
            return Err(Error::usage("adding a file: not a regular file").with_path(p));
        }
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::usage("adding a file: no file name").with_path(p))?;
        names::check_writable_name(&name).map_err(|e| e.with_path(p))?;
        if hrefs.contains(&name) || added.iter().any(|(n, _)| n == &name) {
            return Err(Error::usage(format!(
                "adding a file: the package already has a file named {name}"
            )));
        }
        let mut i = ids.len() + 1;
        let id = loop {
            let c = format!("file{i}");
            if !ids.contains(&c) {
                break c;
            }
            i += 1;
        };
        ids.insert(id.clone());
        let root = &mut env.document_mut().root;
        if !root.elements().any(|e| is_kind(e, "References")) {
            let r = names.core("References");
            xml::insert_after(root, None, r);
        }
        if let Some(refs) = root.elements_mut().find(|e| is_kind(e, "References")) {
            let mut f = names.core("File");
            names.set_ovf_attr(&mut f, "href", &name);
            names.set_ovf_attr(&mut f, "id", &id);
            names.set_ovf_attr(&mut f, "size", &meta.len().to_string());
            xml::append(refs, f);
        }
        changes.push(format!("file {name} added as {id} ({} bytes)", meta.len()));
        added.push((name, p.clone()));
    }
    Ok(added)
}

/// Whether `el` is a hardware item (of any of the three item kinds).
fn is_item(el: &Element) -> bool {
    is_core(el) && matches!(kind(el), "Item" | "StorageItem" | "EthernetPortItem")
}

/// Removes `id` from every `ovf:configuration` list below `el`; elements (items, property
/// values) that applied to `id` alone are removed. Returns how many were removed.
fn drop_configuration(names: &Names, el: &mut Element, id: &str) -> usize {
    let mut removed = 0;
    let only = |e: &Element| {
        ovf_attr(e, "configuration").is_some_and(|c| {
            let mut ids = c.split_whitespace();
            ids.next() == Some(id) && ids.next().is_none()
        })
    };
    removed += xml::remove_children(el, |e| (is_item(e) || is_kind(e, "Value")) && only(e));
    for c in el.elements_mut() {
        if let Some(list) = ovf_attr(c, "configuration") {
            if list.split_whitespace().any(|x| x == id) {
                let rest: Vec<&str> = list.split_whitespace().filter(|x| *x != id).collect();
                let rest = rest.join(" ");
                names.set_ovf_attr(c, "configuration", &rest);
            }
        }
        removed += drop_configuration(names, c, id);
    }
    removed
}

/// "no deployment option has this id" for `doing ID`, naming the ids there are.
fn unknown_config(env: &Envelope, doing: &str, id: &str) -> Error {
    let known: Vec<String> = env.deployment_options().into_iter().map(|d| d.id).collect();
    Error::usage(if known.is_empty() {
        format!("{doing} {id}: the package has no deployment options")
    } else {
        format!(
            "{doing} {id}: no deployment option has this id (known: {})",
            known.join(", ")
        )
    })
}

fn edit_configs(env: &mut Envelope, o: &EditOptions, changes: &mut Vec<String>) -> Result<()> {
    if o.configs.is_empty() && o.remove_configs.is_empty() && o.default_config.is_none() {
        return Ok(());
    }
    let names = Names::of(env);
    for id in &o.remove_configs {
        if !env.deployment_options().iter().any(|d| &d.id == id) {
            return Err(unknown_config(env, "removing deployment option", id));
        }
        let root = &mut env.document_mut().root;
        for sec in root
            .elements_mut()
            .filter(|e| is_kind(e, "DeploymentOptionSection"))
        {
            xml::remove_children(sec, |c| {
                is_kind(c, "Configuration") && ovf_attr(c, "id") == Some(id.as_str())
            });
        }
        // A section left without options goes too (DSP0243: at least one Configuration).
        xml::remove_children(root, |e| {
            is_kind(e, "DeploymentOptionSection")
                && !e.elements().any(|c| is_kind(c, "Configuration"))
        });
        let gone = drop_configuration(&names, root, id);
        changes.push(if gone > 0 {
            format!("deployment option {id} removed (with {gone} item(s) or value(s) only it used)")
        } else {
            format!("deployment option {id} removed")
        });
    }
    for c in &o.configs {
        if c.id.trim().is_empty() || c.id.chars().any(char::is_whitespace) {
            return Err(Error::usage(format!(
                "adding deployment option {:?}: an id is one word (it is listed in ovf:configuration                  attributes)",
                c.id
            )));
        }
        let exists = env.deployment_options().iter().any(|d| d.id == c.id);
        if !exists && !c.create {
            return Err(unknown_config(env, "describing deployment option", &c.id));
        }
        let root = &mut env.document_mut().root;
        if !exists {
            if !root
                .elements()
                .any(|e| is_kind(e, "DeploymentOptionSection"))
            {
                let indent = xml::child_indent(root, "\n  ");
                let sec = xml::with_children(
                    names.core("DeploymentOptionSection"),
                    &indent,
                    vec![names.core_text("Info", "List of deployment options")],
                );
                // DSP0243 orders no envelope sections; ovftool writes it after the networks.
                let after = xml::last_element_index(root, |e| {
                    is_core(e) && matches!(kind(e), "References" | "DiskSection" | "NetworkSection")
                });
                xml::insert_after(root, after, sec);
            }
            let Some(sec) = root
                .elements_mut()
                .find(|e| is_kind(e, "DeploymentOptionSection"))
            else {
                continue;
            };
            let label = c.label.clone().unwrap_or_else(|| c.id.clone());
            let mut conf = names.core("Configuration");
            names.set_ovf_attr(&mut conf, "id", &c.id);
            let indent = xml::child_indent(sec, "\n    ");
            // Label and Description are both required (DSP8023 Configuration).
            let conf = xml::with_children(
                conf,
                &indent,
                vec![
                    names.core_text("Label", &label),
                    names.core_text(
                        "Description",
                        c.description.as_deref().unwrap_or(label.as_str()),
                    ),
                ],
            );
            xml::append(sec, conf);
            changes.push(format!("deployment option {} added ({label:?})", c.id));
            continue;
        }
        for sec in root
            .elements_mut()
            .filter(|e| is_kind(e, "DeploymentOptionSection"))
        {
            for conf in sec
                .elements_mut()
                .filter(|e| is_kind(e, "Configuration") && ovf_attr(e, "id") == Some(c.id.as_str()))
            {
                for (local, value) in [("Label", &c.label), ("Description", &c.description)] {
                    let Some(v) = value else { continue };
                    if xml::field(conf, local).as_deref() == Some(v.as_str()) {
                        continue;
                    }
                    if !xml::set_field(conf, local, v) {
                        let after = (local == "Description")
                            .then(|| xml::last_element_index(conf, |e| is_kind(e, "Label")))
                            .flatten();
                        xml::insert_after(conf, after, names.core_text(local, v));
                    }
                    changes.push(format!("deployment option {} {local} set", c.id));
                }
            }
        }
    }
    if let Some(id) = &o.default_config {
        let opts = env.deployment_options();
        if !opts.iter().any(|d| &d.id == id) {
            return Err(unknown_config(env, "setting default deployment option", id));
        }
        let old = env.default_deployment_option();
        let marked = opts.iter().any(|d| &d.id == id && d.default);
        if !marked || opts.iter().filter(|d| d.default).count() > 1 {
            let root = &mut env.document_mut().root;
            for sec in root
                .elements_mut()
                .filter(|e| is_kind(e, "DeploymentOptionSection"))
            {
                for conf in sec.elements_mut().filter(|e| is_kind(e, "Configuration")) {
                    if ovf_attr(conf, "id") == Some(id.as_str()) {
                        names.set_ovf_attr(conf, "default", "true");
                    } else if ovf_attr(conf, "default").is_some() {
                        conf.attrs.retain(|a| {
                            !(a.local_name() == "default"
                                && a.ns
                                    .as_deref()
                                    .is_none_or(crate::ovf::model::is_envelope_ns))
                        });
                    }
                }
            }
            changes.push(format!(
                "default deployment option: {} -> {id}",
                old.unwrap_or_else(|| "(none)".into())
            ));
        }
    }
    Ok(())
}

/// Local files added to a package: `(name in the package, path)`.
pub type AddedFiles = Vec<(String, PathBuf)>;

/// Applies every descriptor edit of `o` to `env`; returns the changes in words and the local
/// files added `(name, path)`.
///
/// # Errors
/// [`crate::ErrorKind::Usage`] for an edit that does not apply (unknown property, device or
/// network, a controller that still has devices...).
pub fn apply(env: &mut Envelope, o: &EditOptions) -> Result<(Vec<String>, AddedFiles)> {
    let mut changes = Vec::new();
    edit_product(env, o, &mut changes)?;
    edit_annotation(env, o, &mut changes)?;
    edit_eula(env, o, &mut changes)?;
    edit_props(env, o, &mut changes)?;
    rename_nets(env, o, &mut changes)?;
    edit_hardware(env, o, &mut changes)?;
    edit_configs(env, o, &mut changes)?;
    let added = edit_files(env, o, &mut changes)?;
    Ok((changes, added))
}

/// Errors of `after` that `before` did not have (by code and message).
pub(crate) fn new_errors(before: &Envelope, after: &Envelope) -> Vec<String> {
    let opts = ValidateOptions::default();
    let old: HashSet<(String, String)> = before
        .validate(&opts)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.code.to_string(), d.message))
        .collect();
    after
        .validate(&opts)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .filter(|d| !old.contains(&(d.code.to_string(), d.message.clone())))
        .map(|d| d.to_string())
        .collect()
}

/// The output files of `env`: every References File from the input (chunks included), plus
/// `added` local files.
pub(crate) fn file_plan(
    env: &Envelope,
    pkg: &Package,
    added: &[(String, PathBuf)],
    gunzip: impl Fn(&crate::ovf::FileRef) -> bool,
) -> Result<Vec<FilePlan>> {
    let mut out = Vec::new();
    for f in env.references() {
        if let Some((_, p)) = added.iter().find(|(n, _)| *n == f.href) {
            out.push(FilePlan {
                name: f.href.clone(),
                source: FileSource::Local(p.clone()),
                size: None,
                ovf_capacity: None,
            });
            continue;
        }
        names::check_writable_name(&f.href)?;
        let members: Vec<String> = match f.chunk_size {
            Some(_) if pkg.is_stream() => {
                return Err(Error::unsupported(format!(
                    "{} is stored in chunks: save the OVA to a file first (chunks are joined \
                     from a file, not a stream)",
                    f.href
                )))
            }
            Some(_) => {
                let mut v = Vec::new();
                for i in 0..pkg_limit() {
                    let n = names::chunk_name(&f.href, i);
                    if !pkg.has_member(&n) {
                        break;
                    }
                    v.push(n);
                }
                v
            }
            None => vec![f.href.clone()],
        };
        if members.is_empty() || !members.iter().all(|m| pkg.has_member(m)) {
            return Err(Error::verification(format!(
                "{} (File {}) is referenced by the descriptor but not in the package",
                f.href, f.id
            )));
        }
        let source = if gunzip(&f) {
            FileSource::Gunzip(members)
        } else {
            FileSource::Members(members)
        };
        let ovf_capacity = env
            .disks()
            .into_iter()
            .find(|d| d.file_ref.as_deref() == Some(f.id.as_str()))
            .and_then(|d| d.capacity_bytes(env).ok());
        out.push(FilePlan {
            name: f.href.clone(),
            source,
            size: None,
            ovf_capacity,
        });
    }
    Ok(out)
}

/// Sets `ovf:size` of every File copied as stored to the bytes really stored, as `pack` does
/// (a wrong size makes importers refuse the package); lists each correction.
pub(crate) fn fix_sizes(
    env: &mut Envelope,
    plan: &[FilePlan],
    pkg: &Package,
    changes: &mut Vec<String>,
) -> Result<()> {
    for f in env.references() {
        let Some(p) = plan.iter().find(|p| p.name == f.href) else {
            continue;
        };
        let stored = match &p.source {
            FileSource::Members(ms) => ms
                .iter()
                .map(|m| pkg.member_size(m))
                .try_fold(0u64, |a, s| s.and_then(|s| a.checked_add(s))),
            _ => None,
        };
        if let (Some(real), Some(declared)) = (stored, f.size) {
            if real != declared {
                env.set_file_size(&f.id, real)?;
                changes.push(format!(
                    "ovf:size of {} corrected from {declared} to {real} (the stored size)",
                    f.href
                ));
            }
        }
    }
    Ok(())
}

fn pkg_limit() -> u64 {
    Limits::DEFAULT.max_ova_entries as u64
}

/// The manifest algorithm of the output: the input's (one algorithm), else SHA-256.
pub(crate) fn manifest_algorithm(pkg: &Package) -> Algorithm {
    pkg.parsed_manifest()
        .map(|m| m.algorithms())
        .filter(|a| a.len() == 1)
        .map(|a| a[0])
        .unwrap_or(Algorithm::Sha256)
}

/// Edits the package `input` into `output` (see the module documentation).
///
/// `input`: an OVA file, `-` (an OVA on standard input), a package folder or its `.ovf`.
/// `output`: `-` (an OVA on standard output), a name ending in `.ova`, or a new folder.
///
/// Integrity: the descriptor is checked against the input's manifest, and the manifest
/// against the input's signature unless [`Signing::Unsign`]. Files carried over byte for byte
/// keep the input manifest's digest and are copied by the kernel without being read (a file
/// the input's manifest has no digest for is hashed while it is copied): the new manifest
/// vouches for exactly the bytes the old one did, so a file damaged in the input fails every
/// verification of the output (`verify`, `import`, ovftool) and a new signature never covers
/// it. `opts.verify` reads and checks every carried file during the copy instead, and refuses
/// a damaged input before anything is published.
///
/// # Errors
/// [`crate::ErrorKind::Usage`] for an edit that does not apply, an output that is the input,
/// an edit that would invalidate a signature without [`Signing::Sign`] or [`Signing::Unsign`],
/// or a result that does not validate; [`crate::ErrorKind::AlreadyExists`] without `force`;
/// [`crate::ErrorKind::Verification`] when a member disagrees with the input's manifest;
/// descriptor, archive and I/O errors. Nothing appears under `output` on error.
///
/// # Security
/// Member names and added file names pass the OVA name policy; sizes are capped by
/// `opts.limits`.
pub fn edit(input: &Path, output: &Path, opts: &EditOptions) -> Result<EditSummary> {
    let progress = crate::progress::of(&opts.progress);
    if output != Path::new("-") {
        crate::output::check_overwrite(output, opts.force)?;
    }
    let mut pkg = Package::open(input, &opts.limits)?;
    package::check_not_input(&pkg, output)?;
    let original = pkg.take_envelope()?;
    let mut env = original.clone();
    let (changes, added) = apply(&mut env, opts)?;
    let files = file_plan(&env, &pkg, &added, |_| false)?;
    let mut changes = changes;
    fix_sizes(&mut env, &files, &pkg, &mut changes)?;
    let desc = if env == original {
        pkg.desc().to_vec()
    } else {
        env.to_bytes()?
    };
    let alg = manifest_algorithm(&pkg);
    let unchanged = desc == pkg.desc() && added.is_empty();
    let signed_in = pkg.cert().is_some();
    let bad = new_errors(&original, &env);
    if !bad.is_empty() {
        return Err(Error::usage(format!(
            "the edited descriptor would not validate: {}",
            bad.join("; ")
        )));
    }
    let (cert, verbatim) = match &opts.signing {
        Signing::Sign(s) => (CertPlan::Sign(s.clone()), None),
        Signing::Unsign => (CertPlan::None, None),
        Signing::Keep if signed_in && unchanged && pkg.manifest().is_some() => (
            CertPlan::Keep(pkg.cert().map(|c| c.1.to_vec()).unwrap_or_default()),
            pkg.manifest().map(|m| m.1.to_vec()),
        ),
        Signing::Keep if signed_in => {
            return Err(Error::usage(
                "the package is signed and this edit invalidates its signature: sign it again \
                 or drop the signature",
            )
            .with_hint(crate::Hint::Resign)
            .with_path(input))
        }
        Signing::Keep => (CertPlan::None, None),
    };
    pkg.check_integrity(!matches!(opts.signing, Signing::Unsign), &opts.limits)?;
    match (&opts.signing, signed_in) {
        (Signing::Sign(_), _) => changes.push("manifest signed".into()),
        (Signing::Unsign, true) => changes.push("signature removed".into()),
        _ => {}
    }
    let plan = WritePlan {
        desc_name: pkg.desc_name().to_string(),
        desc,
        manifest: Some(alg),
        verbatim_manifest: verbatim,
        cert,
        files,
        force: opts.force,
        mtime: None,
        verify: opts.verify,
    };
    let signed = !matches!(plan.cert, CertPlan::None);
    let w = package::write(&mut pkg, &plan, output, &opts.limits, progress)?;
    Ok(EditSummary {
        output: w.output,
        changes,
        entries: w.entries,
        manifest: Some(alg),
        signed,
    })
}
