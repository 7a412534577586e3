//! `info <VM.vmx | VM folder>`: the machine a `.vmx`/`.vmtx` describes (through the neutral
//! model, as `export` reads it) and what each of its disks is.
//!
//! `--json` prints `{"path", "kind": "vmx", "machine": {...vm::Machine...}, "disks": [{file,
//! content, note}], "warnings": [..]}`.

use std::path::Path;

use ovftool::sniff::sniff_path;
use ovftool::vm::Machine;
use ovftool::vmx::Vmx;
use ovftool::Limits;
use serde_json::json;

use crate::ui::{Outcome, Ui};

pub fn run(path: &Path, ui: &Ui) -> ovftool::Result<Outcome> {
    let config = ovftool::export::find_config(path)?;
    let vmx = Vmx::read_file(&config, &Limits::default())?;
    let (m, warnings) = Machine::from_vmx(&vmx);
    let dir = config.parent().unwrap_or(Path::new("."));
    // What each disk file is, by content (a missing file is reported, not an error).
    let disks: Vec<serde_json::Value> = m
        .disks
        .iter()
        .map(|d| {
            let p = dir.join(&d.file_name);
            match sniff_path(&p) {
                Ok(s) => json!({"file": d.file_name, "attachment": d.attachment.to_string(),
                    "content": s.content.name(), "note": s.note}),
                Err(e) => json!({"file": d.file_name, "attachment": d.attachment.to_string(),
                    "content": null, "note": e.to_string()}),
            }
        })
        .collect();
    if ui.json {
        let notes = warnings
            .iter()
            .map(|w| crate::ui::Note::warning("vmx-note", None, w.to_string()))
            .collect();
        ui.print_envelope(
            true,
            json!({
                "path": crate::ui::path_json(&config),
                "kind": "vmx",
                "machine": m,
                "disks": disks,
            }),
            Vec::new(),
            notes,
        );
        return Ok(Outcome::Ok);
    }
    ui.println(&format!("{}: VM configuration", config.display()));
    ui.println(&format!(
        "  name:      {}",
        m.name.as_deref().unwrap_or("-")
    ));
    if let Some(hw) = m.hardware_version {
        ui.println(&format!("  hardware:  vmx-{hw:02}"));
    }
    ui.println(&format!(
        "  guest OS:  {}",
        m.guest_os.vmx_key.as_deref().unwrap_or("-")
    ));
    ui.println(&format!(
        "  CPUs:      {}{}",
        m.cpus,
        m.cores_per_socket
            .map(|c| format!(" ({c} per socket)"))
            .unwrap_or_default()
    ));
    ui.println(&format!("  memory:    {} MiB", m.memory_mib));
    ui.println(&format!("  firmware:  {:?}", m.firmware).to_lowercase());
    for c in &m.controllers {
        ui.println(&format!("  controller {:?} bus {}", c.kind, c.bus));
    }
    for d in &disks {
        ui.println(&format!(
            "  disk {}: {} ({})",
            d["attachment"].as_str().unwrap_or(""),
            d["file"].as_str().unwrap_or(""),
            d["content"].as_str().unwrap_or("unreadable")
        ));
    }
    for n in &m.nics {
        ui.println(&format!(
            "  ethernet{}: {} on {}",
            n.index,
            n.adapter
                .map(|a| format!("{a:?}").to_lowercase())
                .unwrap_or_else(|| "default adapter".into()),
            n.network_name().unwrap_or("no network")
        ));
    }
    for w in &warnings {
        ui.note(&format!("warning: {w}"));
    }
    Ok(Outcome::Ok)
}
