//! `unpack`: an OVA → a folder, verifying while extracting; on any failure nothing is left.

use std::path::PathBuf;

use ovftool::pack::{self, UnpackOptions};

use crate::ui::{Outcome, Ui};

/// Arguments of `unpack`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The OVA to extract (`-` for standard input).
    pub input: PathBuf,
    /// The folder to create.
    pub output: PathBuf,
    /// Extract even when manifest digests do not match (a present signature is still checked).
    #[arg(long, alias = "skipManifestCheck")]
    pub skip_manifest_check: bool,
    /// Accept what ovftool's --lax accepts (entry order, descriptor missing from the manifest).
    #[arg(long)]
    pub lax: bool,
    /// Reassemble chunked files and decompress gzip-compressed ones after verifying; the
    /// descriptor and manifest are rewritten to match and the certificate is dropped.
    #[arg(long)]
    pub expand: bool,
    /// Replace an existing output folder (ovftool: --overwrite).
    #[arg(long, alias = "overwrite")]
    pub force: bool,
}

pub fn run(args: Args, ui: &Ui) -> ovftool::Result<Outcome> {
    let opts = UnpackOptions {
        force: args.force,
        skip_manifest_check: args.skip_manifest_check,
        lax: args.lax,
        expand: args.expand,
        progress: Some(std::sync::Arc::from(ui.progress())),
        ..Default::default()
    };
    let report = pack::unpack(&args.input, &args.output, &opts)?;
    if ui.json {
        let (mut v, findings) = crate::verify::report_json(&report)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("output".into(), crate::ui::path_json(&args.output));
        }
        ui.print_envelope(report.passed(), v, findings, Vec::new());
    } else if !report.passed() {
        crate::verify::print_report(&report, ui);
    }
    if report.passed() {
        ui.note(&format!("unpacked into {}", args.output.display()));
        Ok(Outcome::Ok)
    } else {
        ui.warn(&format!("nothing was written to {}", args.output.display()));
        Ok(Outcome::Failed)
    }
}
