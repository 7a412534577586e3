//! `info`: dispatches by content ([`ovftool::sniff`]), never by name: a descriptor or package
//! ([`crate::info_ovf`]), a disk ([`crate::info_disk`]), a `.vmx` or VM folder
//! ([`crate::info_vmx`]), a manifest, certificate, foreign disk image (VHD, qcow2...) or
//! gzip-compressed OVA ([`crate::info_file`]: described, with what to do when no command
//! takes it).

use std::path::{Path, PathBuf};

use ovftool::sniff::{sniff_path, Content, Foreign};
use ovftool::Error;

use crate::ui::{Outcome, Ui};

/// Arguments of `info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An .ovf descriptor, an .ova package, a package folder, a .vmx or VM folder, a virtual
    /// disk (.vmdk or raw image), a .mf manifest, a .cert certificate, or a foreign disk image
    /// (qcow2, VHD, VHDX, VDI...: named, with its virtual size when the header gives it);
    /// recognised by content, not by name.
    pub path: PathBuf,
    /// Accept what ovftool's --lax accepts (VirtualBox families, InstanceId casing...).
    #[arg(long)]
    pub lax: bool,
}

pub fn run(args: Args, ui: &Ui) -> ovftool::Result<Outcome> {
    // A package at an http(s) URL is read by info_ovf (one streaming pass, no local file).
    if ovftool::output::RemoteLocator::detect(args.path.as_os_str()).is_some() {
        return crate::info_ovf::run(
            crate::info_ovf::Args {
                path: args.path,
                lax: args.lax,
            },
            ui,
        );
    }
    if args.path.is_dir() {
        return if holds_vmx(&args.path) {
            crate::info_vmx::run(&args.path, ui)
        } else {
            crate::info_ovf::run(
                crate::info_ovf::Args {
                    path: args.path,
                    lax: args.lax,
                },
                ui,
            )
        };
    }
    let sniffed = sniff_path(&args.path)?;
    if let Some(n) = &sniffed.note {
        ui.warn(n);
    }
    match sniffed.content {
        Content::Ovf | Content::Ova | Content::Xml => crate::info_ovf::run(
            crate::info_ovf::Args {
                path: args.path,
                lax: args.lax,
            },
            ui,
        ),
        Content::Vmx => crate::info_vmx::run(&args.path, ui),
        c @ (Content::Vmdk(_) | Content::Raw | Content::Gzip)
            if c != Content::Gzip || ovftool::sniff::gzip_read_as_raw(&args.path, c) =>
        {
            crate::info_disk::run(crate::info_disk::Args { path: args.path }, ui)
        }
        Content::GzipTar => crate::info_file::gzip_ova(&args.path, ui),
        Content::Manifest => crate::info_file::manifest(&args.path, ui),
        Content::Certificate => crate::info_file::certificate(&args.path, ui),
        Content::Foreign(Foreign::Qcow2) => crate::info_disk::qcow2(&args.path, ui),
        Content::Foreign(f) => crate::info_file::foreign(&args.path, f, ui),
        other => Err(other
            .not_a_disk_error()
            .unwrap_or_else(|| Error::usage(format!("this is a {}", other.name())))
            .with_path(&args.path)),
    }
}

/// Whether a folder is a VM folder (holds a `.vmx` or `.vmtx`).
fn holds_vmx(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.filter_map(|e| e.ok()).any(|e| {
            let p = e.path();
            p.is_file()
                && p.extension().is_some_and(|x| {
                    x.eq_ignore_ascii_case("vmx") || x.eq_ignore_ascii_case("vmtx")
                })
        })
    })
}
