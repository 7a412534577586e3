//! `diff`: what differs between two packages (descriptor facts, disk data) or two disks.

use std::path::PathBuf;

use ovftool::transform::diff::{self, DiffOptions};

use crate::ui::{Outcome, Ui};

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A: an OVA, a package folder or .ovf, or a disk.
    pub a: PathBuf,
    /// B: the same kind as A.
    pub b: PathBuf,
    /// Compare descriptors only, not disk data.
    #[arg(long)]
    pub no_data: bool,
    /// How many differing ranges to list per disk.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub ranges: usize,
}

fn show(v: &Option<String>) -> String {
    match v {
        Some(s) => s.clone(),
        None => "(absent)".into(),
    }
}

pub fn run(args: Args, ui: &Ui) -> ovftool::Result<Outcome> {
    let opts = DiffOptions {
        data: !args.no_data,
        max_ranges: args.ranges,
        ..Default::default()
    };
    let r = diff::diff(&args.a, &args.b, &opts)?;
    let same = r.same();
    if ui.json {
        ui.print_envelope(
            same,
            serde_json::json!({
                "same": same,
                "a": crate::ui::path_json(&r.a),
                "b": crate::ui::path_json(&r.b),
                "descriptor": crate::ui::to_json(&r.descriptor)?,
                "disks": crate::ui::to_json(&r.disks)?,
            }),
            Vec::new(),
            Vec::new(),
        );
    } else {
        for c in &r.descriptor {
            let line = match (&c.old, &c.new) {
                (Some(_), None) => format!("- {}: {}", c.what, show(&c.old)),
                (None, Some(_)) => format!("+ {}: {}", c.what, show(&c.new)),
                _ => format!("~ {}: {} -> {}", c.what, show(&c.old), show(&c.new)),
            };
            ui.println(&line);
        }
        for d in &r.disks {
            if let Some(n) = &d.note {
                ui.println(&format!("disk {}: {n}", d.disk));
                continue;
            }
            if d.capacity_bytes.0 != d.capacity_bytes.1 {
                ui.println(&format!(
                    "~ disk {} capacity: {} -> {} bytes",
                    d.disk, d.capacity_bytes.0, d.capacity_bytes.1
                ));
            }
            if d.differing_bytes == 0 {
                ui.println(&format!(
                    "disk {}: data identical ({} grains equal compressed, {} inflated)",
                    d.disk, d.grains_same_compressed, d.grains_inflated
                ));
            } else {
                let ranges: Vec<String> = d
                    .first_ranges
                    .iter()
                    .map(|(o, l)| format!("{o:#x}+{l:#x}"))
                    .collect();
                ui.println(&format!(
                    "~ disk {}: {} bytes differ in {} range(s): {}{}",
                    d.disk,
                    d.differing_bytes,
                    d.differing_ranges,
                    ranges.join(", "),
                    if d.differing_ranges as usize > d.first_ranges.len() {
                        ", ..."
                    } else {
                        ""
                    }
                ));
            }
        }
        ui.println(if same { "same" } else { "different" });
    }
    Ok(if same { Outcome::Ok } else { Outcome::Failed })
}
