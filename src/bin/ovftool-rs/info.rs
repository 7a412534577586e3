//! `info`: dispatches to the descriptor/package view ([`crate::info_ovf`]) or the disk view
//! ([`crate::info_disk`]) by looking at the input's content, not its name.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::ui::{Outcome, Ui};

/// Arguments of `info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An .ovf descriptor, an .ova package, a folder holding one descriptor, or a virtual disk
    /// (.vmdk or raw image).
    pub path: PathBuf,
    /// Accept what ovftool's --lax accepts (VirtualBox families, InstanceId casing...).
    #[arg(long)]
    pub lax: bool,
}

pub fn run(args: Args, ui: &Ui) -> ovftool::Result<Outcome> {
    if looks_like_disk(&args.path) {
        crate::info_disk::run(crate::info_disk::Args { path: args.path }, ui)
    } else {
        crate::info_ovf::run(
            crate::info_ovf::Args {
                path: args.path,
                lax: args.lax,
            },
            ui,
        )
    }
}

/// A disk is a VMDK (sparse magic, COWD magic, or a text descriptor) or, by name, a raw image.
fn looks_like_disk(path: &Path) -> bool {
    if path.is_dir() {
        return false;
    }
    let mut head = [0u8; 64];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = &head[..n];
    if head.starts_with(b"KDMV") || head.starts_with(b"COWD") {
        return true;
    }
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    if text.starts_with("# disk descriptorfile") || text.starts_with("# disk descriptor file") {
        return true;
    }
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref(),
        Some("vmdk" | "img" | "raw")
    )
}
