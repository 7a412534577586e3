//! Verifies a package: manifest digests, sizes, descriptor, signature. Exit code 1 when it
//! fails, as `ovftool-rs verify` does.
//!
//! `cargo run --example verify -- appliance.ova`

use std::path::PathBuf;

use ovftool::VerifyOptions;

fn main() -> ovftool::Result<()> {
    let Some(package) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: verify PACKAGE");
        std::process::exit(2);
    };
    let report = ovftool::verify(&package, &VerifyOptions::default())?;
    for f in &report.findings {
        println!("{:?} [{}] {}", f.severity, f.code, f.message);
    }
    if report.passed() {
        println!(
            "{}: verified ({} files)",
            package.display(),
            report.files.len()
        );
        Ok(())
    } else {
        println!("{}: verification FAILED", package.display());
        std::process::exit(1);
    }
}
