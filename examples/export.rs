//! Exports a VMware VM (its `.vmx`, or the folder holding it) as an OVA with a SHA-256 manifest.
//!
//! `cargo run --example export -- vm/vm.vmx vm.ova`

use std::path::PathBuf;

use ovftool::ExportOptions;

fn main() -> ovftool::Result<()> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(vm), Some(output)) = (args.next(), args.next()) else {
        eprintln!("usage: export VMX_OR_FOLDER OUTPUT.ova");
        std::process::exit(2);
    };
    let report = ovftool::export(&vm, &output, &ExportOptions::default())?;
    println!(
        "{} -> {} ({}, OVF {}, manifest {:?})",
        report.source.display(),
        report.output.display(),
        report.format,
        report.ovf_version_text(),
        report.manifest_algorithm
    );
    Ok(())
}
