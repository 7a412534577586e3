//! `convert`: copy a virtual disk into another layout through the one disk pipeline.
//!
//! The input format is detected from the content (streamOptimized, other VMDK, raw); the output
//! is written under a temporary name and renamed when complete.

use std::path::PathBuf;
use std::time::Instant;

use ovftool::disk::{copy, CopyOptions, SinkOptions};
use ovftool::vmdk::layout::{create_sink, Layout};
use ovftool::Limits;

use crate::ui::{Outcome, Ui};
use crate::values::{AdapterChoice, ConvertLayout};

/// Arguments of `convert`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input disk: any VMDK (streamOptimized, sparse, flat, split, vSphere) or a raw image.
    pub input: PathBuf,
    /// Output path (the descriptor, for layouts with separate extents).
    pub output: PathBuf,
    /// Output layout (ovftool's spellings such as streamOptimized or eagerZeroedThick are
    /// accepted too).
    #[arg(long = "to", value_name = "LAYOUT", value_enum, ignore_case = true)]
    pub to: ConvertLayout,
    /// Worker threads for (de)compression (default: all cores).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// Deflate level for stream-optimized output: 0-12, 6 = zlib's default.
    #[arg(long, value_name = "N", default_value_t = ovftool::vmdk::codec::DEFAULT_LEVEL)]
    pub compression_level: u32,
    /// `ddb.adapterType` of the output descriptor.
    #[arg(
        long,
        value_name = "TYPE",
        value_enum,
        ignore_case = true,
        default_value = "lsilogic",
        alias = "adapterType"
    )]
    pub adapter_type: AdapterChoice,
    /// Replace an existing output.
    #[arg(long, alias = "overwrite")]
    pub force: bool,
}

pub fn run(args: Args, ui: &Ui) -> ovftool::Result<Outcome> {
    let layout: Layout = args.to.into();
    if args.compression_level > ovftool::vmdk::codec::MAX_LEVEL {
        return Err(ovftool::Error::usage(format!(
            "bad --compression-level: expected 0 to {}, found {}",
            ovftool::vmdk::codec::MAX_LEVEL,
            args.compression_level
        )));
    }
    let limits = Limits::default();
    // By content: a foreign image (VHD, qcow2...) or a package is refused by name in `open`;
    // a raw image whose name promises a VMDK gets a warning.
    if let Some(note) = ovftool::sniff::sniff_path(&args.input)?.note {
        ui.warn(&note);
    }
    let started = Instant::now();
    let mut source = ovftool::vmdk::open::open(&args.input, &limits)?;
    let capacity = source.capacity_bytes();
    ovftool::output::refuse_overlap(&args.output, &source.files())?;
    // Identifiers in the output descriptor derive from the input's name and size: the same
    // conversion gives the same bytes.
    let identity = args
        .input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned().into_bytes())
        .unwrap_or_default();
    let opts = SinkOptions {
        force: args.force,
        adapter_type: args.adapter_type.ddb_name().to_string(),
        compression_level: args.compression_level,
        identity,
        ..SinkOptions::default()
    };
    let mut sink = create_sink(&args.output, layout, capacity, &opts)?;
    let progress = ui.progress();
    progress.start(
        &args
            .output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "convert".into()),
        Some(capacity),
    );
    let copy_opts = CopyOptions {
        threads: args.threads,
        ..CopyOptions::default()
    };
    let stats = copy(
        source.as_mut(),
        sink.as_mut(),
        &copy_opts,
        progress.as_ref(),
    );
    progress.finish();
    let stats = stats?;
    let report = sink.finish()?;
    let secs = started.elapsed().as_secs_f64();
    if ui.json {
        ui.print_envelope(
            true,
            serde_json::json!({
                "input": crate::ui::path_json(&args.input),
                "output": crate::ui::path_json(&args.output),
                "layout": layout.name(),
                "capacity_bytes": capacity,
                "data_bytes": stats.data_bytes,
                "zero_grains": stats.zero_grains,
                "stored_bytes": report.stored_bytes,
                "files": report.files.iter().map(|(p, s)| serde_json::json!({
                    "path": crate::ui::path_json(p), "size_bytes": s
                })).collect::<Vec<_>>(),
                "seconds": secs,
            }),
            Vec::new(),
            Vec::new(),
        );
    } else {
        ui.note(&format!(
            "converted {} to {} ({}): {} bytes of data, {} bytes stored, {:.2} s",
            args.input.display(),
            args.output.display(),
            layout.name(),
            stats.data_bytes,
            report.stored_bytes,
            secs
        ));
    }
    Ok(Outcome::Ok)
}
