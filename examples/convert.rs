//! Converts a disk image (raw or any VMDK layout) to another layout through the one disk
//! pipeline: allocated grains only, compressed on every core.
//!
//! `cargo run --example convert -- disk.raw disk.vmdk stream-optimized`

use std::path::PathBuf;

use ovftool::disk::{copy, CopyOptions, SinkOptions};
use ovftool::progress::NoProgress;
use ovftool::vmdk::layout::{create_sink, Layout};
use ovftool::Limits;

fn main() -> ovftool::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, layout] = args.as_slice() else {
        eprintln!("usage: convert INPUT OUTPUT LAYOUT   (e.g. stream-optimized, thin, raw)");
        std::process::exit(2);
    };
    let layout: Layout = layout.parse()?;
    let mut source = ovftool::vmdk::open::open(&PathBuf::from(input), &Limits::default())?;
    let mut sink = create_sink(
        &PathBuf::from(output),
        layout,
        source.capacity_bytes(),
        &SinkOptions::default(),
    )?;
    let stats = copy(
        source.as_mut(),
        sink.as_mut(),
        &CopyOptions::default(),
        &NoProgress,
    )?;
    // Nothing appears under the output name before `finish`.
    let written = sink.finish()?;
    println!(
        "{} bytes of data ({} zero grains skipped), {} bytes stored",
        stats.data_bytes, stats.zero_grains, written.stored_bytes
    );
    Ok(())
}
