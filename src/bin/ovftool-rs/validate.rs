//! `validate`: descriptor checks, and for a descriptor on disk the files it references beside it
//! (sizes, chunks, compression, capacity, createType, delta parents, signature; see
//! `ovftool::package_files`); an OVA's members are left to `verify`. Exit 0 valid (warnings
//! allowed), 1 invalid (including XML that is not well-formed or not OVF), 2 usage or I/O error.
//! JSON schema: `docs/JSON.md` §validate.

use std::path::PathBuf;

use ovftool::ovf::{Severity, ValidateOptions};
use ovftool::package_files::{check_files, FileCheckOptions};
use serde_json::json;

use crate::info_ovf::{diagnostic_json, diagnostic_note};
use crate::ui::{path_json, Outcome, Ui};
use ovftool::descriptor_source::open;

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
    let mut diags = env.validate(&ValidateOptions { lax: args.lax });
    // Package-aware: the referenced files lying beside a descriptor (not inside an OVA, which
    // `verify` reads) are checked too; an absent file is a warning here, an error in `verify`.
    let dir = if args.path.is_dir() {
        Some(args.path.clone())
    } else if args
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        == Some(loaded.name.clone())
    {
        Some(match args.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        })
    } else {
        None
    };
    if let Some(dir) = dir {
        diags.extend(check_files(
            &env,
            &dir,
            &loaded.name,
            &FileCheckOptions {
                lax: args.lax,
                ..Default::default()
            },
        ));
    }
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
