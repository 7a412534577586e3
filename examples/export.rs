//! Exports a VMware VM (its `.vmx`, or the folder holding it) as an OVA with a SHA-256 manifest.
//!
//! `cargo run --example export -- vm/vm.vmx vm.ova`

use std::path::PathBuf;

use ovftool::export::{export, ExportOptions};
use ovftool::progress::NoProgress;

fn main() -> ovftool::Result<()> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(vm), Some(output)) = (args.next(), args.next()) else {
        eprintln!("usage: export VMX_OR_FOLDER OUTPUT.ova");
        std::process::exit(2);
    };
    let report = export(&vm, &output, &ExportOptions::default(), &NoProgress)?;
    println!(
        "{} -> {} ({}, OVF {})",
        report.source.display(),
        report.output.display(),
        report.format,
        report.ovf_version
    );
    Ok(())
}
