//! `info <DISK>`: what a virtual disk is (layout, createType, capacity, allocation, grain size,
//! sparse header, extents, snapshot chain). The JSON schema is documented in docs/JSON.md.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use ovftool::vmdk::hosted::{self, DiskInfo};
use ovftool::vmdk::kind::{detect, DiskKind};
use ovftool::{Error, Limits};

use crate::ui::{Outcome, Ui};

/// Arguments of `info_disk`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input path.
    pub path: PathBuf,
}

pub fn run(args: Args, ui: &Ui) -> ovftool::Result<Outcome> {
    let path = &args.path;
    // By content, as `convert` decides (a `.vmdk` name holding neither is a raw image).
    let info = if detect(path)? != DiskKind::Raw {
        hosted::inspect(path, &Limits::DEFAULT)?
    } else {
        raw_info(path)?
    };
    if ui.json {
        ui.print_envelope(true, crate::ui::to_json(&info)?, Vec::new(), Vec::new());
    } else {
        print_text(&info, ui);
    }
    Ok(Outcome::Ok)
}

/// `info` of a qcow2 image (read through [`ovftool::qcow2`]): capacity and allocated bytes.
pub fn qcow2(path: &Path, ui: &Ui) -> ovftool::Result<Outcome> {
    let src = ovftool::qcow2::Qcow2Source::open(path, &Limits::DEFAULT)?;
    let info = DiskInfo {
        path: path.to_path_buf(),
        format: "qcow2".to_string(),
        create_type: None,
        layout: "qcow2".to_string(),
        capacity_bytes: ovftool::disk::DiskSource::capacity_bytes(&src),
        allocated_bytes: src.allocated_bytes()?,
        grain_bytes: None,
        header: None,
        chain: Vec::new(),
    };
    if ui.json {
        ui.print_envelope(true, crate::ui::to_json(&info)?, Vec::new(), Vec::new());
    } else {
        print_text(&info, ui);
    }
    Ok(Outcome::Ok)
}

fn raw_info(path: &Path) -> ovftool::Result<DiskInfo> {
    let m = std::fs::metadata(path).map_err(|e| Error::io("cannot stat", e).with_path(path))?;
    Ok(DiskInfo {
        path: path.to_path_buf(),
        format: "raw".to_string(),
        create_type: None,
        layout: "raw".to_string(),
        capacity_bytes: m.len(),
        allocated_bytes: (m.blocks() * 512).min(m.len()),
        grain_bytes: None,
        header: None,
        chain: Vec::new(),
    })
}

pub(crate) fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {} ({bytes} bytes)", UNITS[u])
    }
}

fn print_text(info: &DiskInfo, ui: &Ui) {
    ui.println(&format!(
        "{}: {} {}",
        info.path.display(),
        info.format,
        info.layout
    ));
    if let Some(ct) = &info.create_type {
        ui.println(&format!("  createType: {ct}"));
    }
    ui.println(&format!("  capacity:   {}", human(info.capacity_bytes)));
    ui.println(&format!("  allocated:  {}", human(info.allocated_bytes)));
    if let Some(g) = info.grain_bytes {
        ui.println(&format!("  grain:      {}", human(g)));
    }
    if let Some(h) = &info.header {
        ui.println(&format!(
            "  header:     version {}, flags {:#x}, capacity {} sectors, grain {} sectors, \
             descriptor {}+{}, {} GTEs/GT, rgd {}, gd {}, overhead {}, compression {}{}",
            h.version,
            h.flags,
            h.capacity_sectors,
            h.grain_sectors,
            h.descriptor_offset_sectors,
            h.descriptor_size_sectors,
            h.num_gtes_per_gt,
            h.rgd_offset_sectors,
            if h.gd_offset_sectors == u64::MAX {
                "at end".to_string()
            } else {
                h.gd_offset_sectors.to_string()
            },
            h.overhead_sectors,
            h.compress_algorithm,
            if h.unclean_shutdown {
                ", unclean shutdown"
            } else {
                ""
            }
        ));
    }
    let many = info.chain.len() > 1;
    for (i, link) in info.chain.iter().enumerate() {
        if many {
            ui.println(&format!(
                "  link {} ({}): {}",
                i,
                if i == 0 {
                    "top"
                } else if i + 1 == info.chain.len() {
                    "base"
                } else {
                    "delta"
                },
                link.path.display()
            ));
        }
        let ind = if many { "    " } else { "  " };
        if many {
            if let Some(ct) = &link.create_type {
                ui.println(&format!("{ind}createType: {ct}"));
            }
            ui.println(&format!("{ind}allocated:  {}", human(link.allocated_bytes)));
        }
        if let (Some(cid), Some(pcid)) = (&link.cid, &link.parent_cid) {
            ui.println(&format!("{ind}CID:        {cid} (parent {pcid})"));
        }
        if let Some(hint) = &link.parent_file_name_hint {
            ui.println(&format!("{ind}parent:     {hint}"));
        }
        ui.println(&format!("{ind}extents:"));
        for e in &link.extents {
            let mut line = format!("{ind}  {} {} {}", e.access, e.size_sectors, e.kind);
            if let Some(f) = &e.file {
                line.push_str(&format!(" \"{f}\""));
            }
            if let Some(o) = e.offset_sectors {
                line.push_str(&format!(" {o}"));
            }
            ui.println(&line);
        }
        if !link.ddb.is_empty() {
            ui.println(&format!("{ind}ddb:"));
            for d in &link.ddb {
                ui.println(&format!("{ind}  {} = \"{}\"", d.key, d.value));
            }
        }
    }
}
