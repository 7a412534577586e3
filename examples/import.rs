//! Imports an OVA or OVF package into a VM folder for VMware Workstation/Fusion/ESXi.
//!
//! `cargo run --example import -- appliance.ova target-dir`

use std::path::PathBuf;

use ovftool::ImportOptions;

fn main() -> ovftool::Result<()> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(package), Some(target)) = (args.next(), args.next()) else {
        eprintln!("usage: import PACKAGE TARGET_DIR");
        std::process::exit(2);
    };
    // Defaults: thin disks, the descriptor's default deployment option, strict verification.
    let report = ovftool::import(&package, &target, &ImportOptions::default())?;
    println!("{} -> {}", report.name, report.vmx.display());
    for d in &report.disks {
        println!(
            "  disk {} ({}, {} bytes of data)",
            d.file, d.mode, d.data_bytes
        );
    }
    for w in &report.warnings {
        println!("  warning: {w}");
    }
    Ok(())
}
