//! `validate`: descriptor checks only (no disk or manifest reading). Exit 0 valid (warnings
//! allowed), 1 invalid (including XML that is not well-formed or not OVF), 2 usage or I/O error.
//! JSON schema: `docs/JSON.md` §validate.

use std::path::PathBuf;

use ovftool::ovf::{Severity, ValidateOptions};
use serde_json::json;

use crate::info_ovf::{diagnostic_json, diagnostic_note, open};
use crate::ui::{path_json, Outcome, Ui};

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An .ovf descriptor, an .ova package (its first entry), or a folder holding one descriptor.
    pub path: PathBuf,
    /// Downgrade to warnings what ovftool's --lax tolerates (VirtualBox hardware families,
    /// unknown controller subtypes...).
    #[arg(long)]
    pub lax: bool,
}

pub fn run(args: Args, ui: &Ui) -> ovftool::Result<Outcome> {
    let (loaded, env) = open(&args.path)?;
    let diags = env.validate(&ValidateOptions { lax: args.lax });
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags.len() - errors;
    if ui.json {
        ui.print_envelope(
            errors == 0,
            json!({
                "path": path_json(&args.path),
                "descriptor": loaded.name,
                "ovf_version": env.version(),
                "lax": args.lax,
                "error_count": errors,
                "warning_count": warnings,
                "diagnostics": diags.iter().map(diagnostic_json).collect::<Vec<_>>(),
            }),
            diags.iter().map(diagnostic_note).collect(),
            Vec::new(),
        );
    } else {
        for d in &diags {
            ui.println(&format!("{}: {d}", loaded.name));
        }
        if errors == 0 {
            ui.println(&format!("{}: valid ({warnings} warning(s))", loaded.name));
        } else {
            ui.println(&format!(
                "{}: invalid: {errors} error(s), {warnings} warning(s)",
                loaded.name
            ));
        }
    }
    Ok(if errors == 0 {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
