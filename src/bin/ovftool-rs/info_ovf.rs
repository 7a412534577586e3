//! `info` for descriptors and packages: an `.ovf`, an `.ova` (only its first tar entry, the
//! descriptor, is read) or a folder holding one descriptor. JSON schema: `docs/JSON.md` §info.

use std::path::{Path, PathBuf};

use ovftool::descriptor_source::{load_url, open, Loaded};
use ovftool::ovf::ResourceType;
use ovftool::ovf::{
    parse_allocation_units, Diagnostic, Envelope, Item, ParseOptions, ValidateOptions,
    VirtualHardware,
};
use ovftool::{Error, Limits, Result};
use serde_json::{json, Value};

use crate::ui::{Outcome, Ui};

/// Arguments of `info_ovf`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An .ovf descriptor, an .ova package, or a folder holding one descriptor.
    pub path: PathBuf,
    /// Validate as ovftool --lax does (affects the diagnostics shown).
    pub lax: bool,
}

/// One diagnostic in the shared findings shape (docs/JSON.md): the element path is its subject.
pub fn diagnostic_note(d: &Diagnostic) -> crate::ui::Note {
    crate::ui::Note {
        code: d.code.to_string(),
        severity: match d.severity {
            ovftool::ovf::Severity::Error => "error",
            ovftool::ovf::Severity::Warning => "warning",
        },
        subject: d.path.clone(),
        message: d.message.clone(),
        hint: None,
    }
}

/// JSON of one diagnostic (schema in docs/JSON.md).
pub fn diagnostic_json(d: &Diagnostic) -> Value {
    json!({
        "severity": d.severity,
        "code": d.code,
        "message": d.message,
        "line": d.line,
        "column": d.column,
        "path": d.path,
    })
}

fn quantity(it: &Item) -> Option<u64> {
    it.virtual_quantity.as_deref()?.trim().parse().ok()
}

fn memory_bytes(it: &Item) -> Option<u64> {
    let q = quantity(it)?;
    // ovftool treats a memory item without units as MiB.
    let mult = match it.allocation_units.as_deref() {
        Some(u) => parse_allocation_units(u).ok()?,
        None => 1 << 20,
    };
    q.checked_mul(mult)
}

fn item_json(it: &Item) -> Value {
    json!({
        "kind": it.kind,
        "instance_id": it.instance_id,
        "resource_type": it.resource().map(ResourceType::code),
        "resource_sub_type": it.resource_sub_type,
        "element_name": it.element_name,
        "caption": it.caption(),
        "address": it.address,
        "parent": it.parent,
        "address_on_parent": it.address_on_parent,
        "host_resources": it.host_resources,
        "connections": it.connections,
        "virtual_quantity": it.virtual_quantity,
        "allocation_units": it.allocation_units,
        "automatic_allocation": it.automatic_allocation,
        "required": it.required,
        "configuration": it.configuration,
        "bound": it.bound,
        "config": it.config,
        "cores_per_socket": it.cores_per_socket,
    })
}

/// The hardware a deployment option gets (None: items without ovf:configuration only).
fn hardware_view(hw: &VirtualHardware, config: Option<&str>) -> Value {
    let items = hw.effective_items(config);
    let cpus = items
        .iter()
        .find(|i| i.resource() == Some(ResourceType::Processor))
        .and_then(|i| quantity(i));
    let memory = items
        .iter()
        .find(|i| i.resource() == Some(ResourceType::Memory))
        .and_then(|i| memory_bytes(i));
    json!({
        "configuration": config,
        "cpus": cpus,
        "memory_bytes": memory,
        "items": items.iter().map(|i| item_json(i)).collect::<Vec<_>>(),
    })
}

/// The `info` report as JSON (docs/JSON.md §info).
pub fn report(path: &Path, loaded: &Loaded, env: &Envelope, lax: bool) -> Value {
    let options = env.deployment_options();
    let mut configs: Vec<Option<&str>> = Vec::new();
    if options.is_empty() {
        configs.push(None);
    } else {
        configs.extend(options.iter().map(|o| Some(o.id.as_str())));
    }
    let references = env.references();
    let mut file_by_id = std::collections::HashMap::new();
    for f in &references {
        file_by_id.entry(f.id.as_str()).or_insert(f);
    }
    let disks: Vec<Value> = env
        .disks()
        .iter()
        .map(|d| {
            let file = d.file_ref.as_deref().and_then(|f| file_by_id.get(f));
            json!({
                "id": d.disk_id,
                "file_ref": d.file_ref,
                "href": file.as_ref().map(|f| f.href.clone()),
                "file_size": file.as_ref().and_then(|f| f.size),
                "capacity": d.capacity,
                "capacity_units": d.capacity_units,
                "capacity_bytes": d.capacity_bytes(env).ok(),
                "populated_size": d.populated_size,
                "format": d.format,
                "parent_ref": d.parent_ref,
            })
        })
        .collect();
    let mut systems = Vec::new();
    let mut properties = Vec::new();
    let mut eulas = Vec::new();
    let mut product = Value::Null;
    if let Some(content) = env.content() {
        for vs in content.walk() {
            for p in &vs.products {
                if product.is_null() && (p.product.is_some() || p.vendor.is_some()) {
                    product = json!({
                        "product": p.product.as_ref().map(|m| &m.text),
                        "vendor": p.vendor.as_ref().map(|m| &m.text),
                        "version": p.version,
                        "full_version": p.full_version,
                        "product_url": p.product_url,
                        "vendor_url": p.vendor_url,
                        "app_url": p.app_url,
                    });
                }
                for prop in &p.properties {
                    properties.push(json!({
                        "system": vs.id,
                        "key": prop.full_key(p),
                        "type": prop.type_,
                        "qualifiers": prop.qualifiers,
                        "default": if prop.password { None } else { prop.default.clone() },
                        "password": prop.password,
                        "user_configurable": prop.user_configurable,
                        "label": prop.label.as_ref().map(|m| &m.text),
                        "description": prop.description.as_ref().map(|m| &m.text),
                        "category": prop.category,
                        "configuration": prop.configuration,
                    }));
                }
            }
            for e in &vs.eulas {
                eulas.push(
                    json!({"system": vs.id, "license": e.license.text, "msgid": e.license.msgid}),
                );
            }
            systems.push(json!({
                "id": vs.id,
                "kind": vs.kind,
                "name": vs.name.as_ref().map(|m| &m.text),
                "info": vs.info.as_ref().map(|m| &m.text),
                "operating_system": vs.operating_system,
                "annotation": vs.annotation.as_ref().map(|m| &m.text),
                "children": vs.children.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
                "other_sections": vs.other_sections.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
                "hardware": vs.hardware.iter().map(|hw| json!({
                    "id": hw.id,
                    "transport": hw.transport,
                    "families": hw.system.as_ref().map(|s| s.system_types.clone()).unwrap_or_default(),
                    "config": hw.config,
                    "extra_config": hw.extra_config,
                    "by_configuration": configs.iter().map(|c| hardware_view(hw, *c)).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            }));
        }
    }
    let diags = env.validate(&ValidateOptions { lax });
    json!({
        "ok": true,
        "path": crate::ui::path_json(path),
        "descriptor": loaded.name,
        "descriptor_bytes": loaded.bytes.len(),
        "ovf_version": env.version(),
        "product": product,
        "files": references,
        "disks": disks,
        "networks": env.networks(),
        "deployment_options": options,
        "default_deployment_option": env.default_deployment_option(),
        "virtual_systems": systems,
        "properties": properties,
        "eulas": eulas,
        "diagnostics": diags.iter().map(diagnostic_json).collect::<Vec<_>>(),
    })
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {} ({n} bytes)", UNITS[u])
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_text(ui: &Ui, r: &Value) {
    ui.println(&format!(
        "Descriptor:   {} (OVF {})",
        s(&r["descriptor"]),
        s(&r["ovf_version"])
    ));
    let p = &r["product"];
    if !p.is_null() {
        ui.println(&format!("Product:      {}", s(&p["product"])));
        ui.println(&format!("Vendor:       {}", s(&p["vendor"])));
        ui.println(&format!("Version:      {}", s(&p["version"])));
        if !p["product_url"].is_null() {
            ui.println(&format!("Product URL:  {}", s(&p["product_url"])));
        }
    }
    let files = r["files"].as_array().cloned().unwrap_or_default();
    ui.println(&format!("Files ({}):", files.len()));
    for f in &files {
        let size = f["size"]
            .as_u64()
            .map(human_bytes)
            .unwrap_or_else(|| "size unknown".into());
        let comp = f["compression"]
            .as_str()
            .map(|c| format!(", {c}"))
            .unwrap_or_default();
        ui.println(&format!(
            "  {} {}: {size}{comp}",
            s(&f["id"]),
            s(&f["href"])
        ));
    }
    let disks = r["disks"].as_array().cloned().unwrap_or_default();
    ui.println(&format!("Disks ({}):", disks.len()));
    for d in &disks {
        let cap = d["capacity_bytes"]
            .as_u64()
            .map(human_bytes)
            .unwrap_or_else(|| format!("{} ({})", s(&d["capacity"]), s(&d["capacity_units"])));
        let pop = d["populated_size"]
            .as_u64()
            .map(|p| format!(", populated {}", human_bytes(p)))
            .unwrap_or_default();
        let fmt = d["format"]
            .as_str()
            .map(|f| f.rsplit('#').next().unwrap_or(f).to_string())
            .unwrap_or_else(|| "-".into());
        ui.println(&format!(
            "  {}: capacity {cap}{pop}, format {fmt}, file {}",
            s(&d["id"]),
            s(&d["href"])
        ));
    }
    let nets = r["networks"].as_array().cloned().unwrap_or_default();
    ui.println(&format!("Networks ({}):", nets.len()));
    for n in &nets {
        ui.println(&format!("  {}", s(&n["name"])));
    }
    let opts = r["deployment_options"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !opts.is_empty() {
        ui.println(&format!("Deployment options ({}):", opts.len()));
        for o in &opts {
            let def = if o["default"] == Value::Bool(true) {
                " (default)"
            } else {
                ""
            };
            ui.println(&format!(
                "  {}{def}: {}",
                s(&o["id"]),
                s(&o["label"]["text"])
            ));
        }
    }
    for vs in r["virtual_systems"].as_array().cloned().unwrap_or_default() {
        let kind = if vs["kind"] == "virtual-system-collection" {
            "Collection"
        } else {
            "Virtual system"
        };
        ui.println(&format!("{kind} {} ({})", s(&vs["id"]), s(&vs["name"])));
        let os = &vs["operating_system"];
        if !os.is_null() {
            ui.println(&format!(
                "  Guest OS:   CIM {} {}",
                s(&os["id"]),
                // vmw:osType, else the section's Description (VirtualBox, Ganeti, hand-written
                // descriptors name the OS only there).
                os["vmw_os_type"]
                    .as_str()
                    .or_else(|| os["description"].as_str().map(str::trim))
                    .unwrap_or("")
            ));
        }
        for hw in vs["hardware"].as_array().cloned().unwrap_or_default() {
            let fams: Vec<String> = hw["families"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(s)
                .collect();
            ui.println(&format!(
                "  Hardware:   {}",
                if fams.is_empty() {
                    "-".into()
                } else {
                    fams.join(" ")
                }
            ));
            for view in hw["by_configuration"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let label = view["configuration"]
                    .as_str()
                    .map(|c| format!("    [{c}] "))
                    .unwrap_or_else(|| "    ".into());
                let mem = view["memory_bytes"]
                    .as_u64()
                    .map(human_bytes)
                    .unwrap_or_else(|| "-".into());
                ui.println(&format!("{label}{} vCPU, memory {mem}", s(&view["cpus"])));
                // Devices are listed for the default deployment option only (or the only view);
                // --json has every configuration in full.
                let default = r["default_deployment_option"].as_str();
                if view["configuration"].as_str().is_some()
                    && view["configuration"].as_str() != default
                {
                    continue;
                }
                for it in view["items"].as_array().cloned().unwrap_or_default() {
                    let rt = it["resource_type"]
                        .as_u64()
                        .and_then(|c| u16::try_from(c).ok())
                        .map(ResourceType::from_code);
                    if matches!(rt, Some(ResourceType::Processor | ResourceType::Memory)) {
                        continue;
                    }
                    let extra = [
                        &it["resource_sub_type"],
                        &it["host_resources"],
                        &it["connections"],
                    ]
                    .iter()
                    .filter(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
                    .map(|v| match v {
                        Value::Array(a) => a.iter().map(s).collect::<Vec<_>>().join(","),
                        o => s(o),
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                    // ElementName, else Caption (VirtualBox's OVF 2.0 export writes only
                    // Caption).
                    let name = it["element_name"]
                        .as_str()
                        .filter(|n| !n.trim().is_empty())
                        .or_else(|| it["caption"].as_str())
                        .unwrap_or("-");
                    ui.println(&format!("      {} {}", name.trim(), extra));
                }
            }
        }
    }
    let props = r["properties"].as_array().cloned().unwrap_or_default();
    if !props.is_empty() {
        ui.println(&format!("Properties ({}):", props.len()));
        for p in &props {
            let v = if p["password"] == Value::Bool(true) {
                "<password>".into()
            } else {
                s(&p["default"])
            };
            ui.println(&format!("  {} ({}) = {v}", s(&p["key"]), s(&p["type"])));
        }
    }
    let eulas = r["eulas"].as_array().cloned().unwrap_or_default();
    if !eulas.is_empty() {
        ui.println(&format!("EULAs ({}):", eulas.len()));
        for e in &eulas {
            let text = s(&e["license"]);
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim();
            let first: String = first.chars().take(70).collect();
            ui.println(&format!(
                "  {}: {first}... ({} characters)",
                s(&e["system"]),
                text.chars().count()
            ));
        }
    }
    let diags = r["diagnostics"].as_array().cloned().unwrap_or_default();
    let errors = diags.iter().filter(|d| d["severity"] == "error").count();
    if !diags.is_empty() {
        ui.println(&format!(
            "Validation: {errors} error(s), {} warning(s) (run `ovftool-rs validate` for details)",
            diags.len() - errors
        ));
    }
}

pub fn run(args: Args, ui: &Ui) -> Result<Outcome> {
    let url =
        ovftool::net::open_package_url(&args.path, &Default::default(), true, &Limits::default())?;
    let (loaded, env) = match url {
        Some(body) => {
            let loaded = load_url(body, &args.path)?;
            let env = Envelope::parse_with(&loaded.bytes, &ParseOptions::default())
                .map_err(|e| e.with_path(&args.path).with_entry(loaded.name.clone()))?;
            (loaded, env)
        }
        None => open(&args.path)?,
    };
    // The report lists the hardware once per configuration: bound the product.
    let configs = env.deployment_options().len().max(1);
    let items: usize = env
        .virtual_systems()
        .iter()
        .flat_map(|v| v.hardware.iter())
        .map(|h| h.items.len())
        .sum();
    let max = Limits::default().max_ovf_hardware_views;
    if items.saturating_mul(configs) > max {
        return Err(Error::limit(
            &format!("hardware items ({items}) times deployment options ({configs}) to show"),
            items.saturating_mul(configs) as u64,
            max as u64,
        )
        .with_path(&args.path));
    }
    let r = report(&args.path, &loaded, &env, args.lax);
    if ui.json {
        let findings = r["diagnostics"]
            .as_array()
            .map(|ds| {
                ds.iter()
                    .map(|d| crate::ui::Note {
                        code: d["code"].as_str().unwrap_or_default().to_string(),
                        severity: if d["severity"] == "error" {
                            "error"
                        } else {
                            "warning"
                        },
                        subject: d["path"].as_str().map(str::to_string),
                        message: d["message"].as_str().unwrap_or_default().to_string(),
                        hint: None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        ui.print_envelope(true, r, findings, Vec::new());
    } else {
        print_text(ui, &r);
    }
    Ok(Outcome::Ok)
}
