//! `convert`: copy a virtual disk into another layout through the one disk pipeline.
//!
//! The input format is detected from the content (streamOptimized, other VMDK, raw); the output
//! is written under a temporary name and renamed when complete.

use std::path::PathBuf;
use std::sync::Arc;

use ovftool::convert::ConvertOptions;

use crate::ui::{Note, Outcome, Ui};
use crate::values::{AdapterChoice, ConvertLayout};

/// Arguments of `convert`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input disk: any VMDK (streamOptimized, sparse, flat, split, vSphere), a qcow2 image (no
    /// backing file) or a raw image; other formats (VHD, VHDX, VDI...) are refused by name.
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
    #[arg(long, value_name = "N", default_value_t = ovftool::codec::DEFAULT_LEVEL)]
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
    if args.compression_level > ovftool::codec::MAX_LEVEL {
        return Err(ovftool::Error::usage(format!(
            "bad --compression-level: expected 0 to {}, found {}",
            ovftool::codec::MAX_LEVEL,
            args.compression_level
        )));
    }
    let opts = ConvertOptions {
        layout: args.to.into(),
        threads: args.threads,
        compression_level: args.compression_level,
        adapter_type: args.adapter_type.into(),
        force: args.force,
        progress: Some(Arc::from(ui.progress())),
        ..ConvertOptions::default()
    };
    let report = ovftool::convert(&args.input, &args.output, &opts)?;
    let warnings: Vec<Note> = report
        .warnings
        .iter()
        .map(|w| {
            Note::warning(
                "input-name",
                Some(args.input.to_string_lossy().into_owned()),
                w,
            )
        })
        .collect();
    if ui.json {
        ui.print_envelope(true, crate::ui::to_json(&report)?, Vec::new(), warnings);
    } else {
        for w in &report.warnings {
            ui.warn(w);
        }
        ui.note(&format!(
            "converted {} to {} ({}): {} bytes of data, {} bytes stored, {:.2} s",
            args.input.display(),
            args.output.display(),
            report.layout,
            report.data_bytes,
            report.stored_bytes,
            report.seconds
        ));
    }
    Ok(Outcome::Ok)
}
