//! Converts a disk image (raw or any VMDK layout) to another layout through the one disk
//! pipeline: allocated grains only, compressed on every core.
//!
//! `cargo run --example convert -- disk.raw disk.vmdk stream-optimized`

use std::path::Path;

use ovftool::convert::ConvertOptions;
use ovftool::vmdk::layout::Layout;

fn main() -> ovftool::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, layout] = args.as_slice() else {
        eprintln!("usage: convert INPUT OUTPUT LAYOUT   (e.g. stream-optimized, thin, raw)");
        std::process::exit(2);
    };
    let layout: Layout = layout.parse()?;
    // The output (descriptor and every extent) never replaces a file of the input; nothing
    // appears under the output's names before the conversion is complete.
    let report = ovftool::convert(
        Path::new(input),
        Path::new(output),
        &ConvertOptions {
            layout,
            ..ConvertOptions::default()
        },
    )?;
    println!(
        "{} bytes of data ({} zero grains skipped), {} bytes stored in {} file(s)",
        report.data_bytes,
        report.zero_grains,
        report.stored_bytes,
        report.files.len()
    );
    Ok(())
}
