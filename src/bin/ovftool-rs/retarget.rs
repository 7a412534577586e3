//! `retarget`: make a package acceptable to one hypervisor, listing every change.

use std::path::PathBuf;

use ovftool::transform::retarget::{self, RetargetOptions, Target};

use crate::ui::{Outcome, Ui};
use crate::values::RetargetChoice;

/// Arguments of `retarget`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The package: an OVA, `-` for an OVA on standard input, a folder or its .ovf.
    pub input: PathBuf,
    /// The result: a name ending in .ova, `-` for standard output, or a new folder.
    #[arg(required_unless_present = "dry_run")]
    pub output: Option<PathBuf>,
    /// The hypervisor.
    #[arg(long = "for", value_name = "TARGET", value_enum, ignore_case = true)]
    pub target: RetargetChoice,
    /// List the changes without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Drop every section of another vendor (vbox:Machine...), required or not.
    #[arg(long)]
    pub strip_vendor_sections: bool,
    /// Sign the new manifest with this PEM private key.
    #[arg(long, value_name = "KEY.pem")]
    pub sign: Option<PathBuf>,
    /// The signer's PEM certificate (default: the certificate in the key file).
    #[arg(long, value_name = "CERT.pem", requires = "sign")]
    pub cert: Option<PathBuf>,
    /// Replace an existing output (ovftool: --overwrite).
    #[arg(long, alias = "overwrite")]
    pub force: bool,
}

pub fn run(args: Args, ui: &Ui) -> ovftool::Result<Outcome> {
    let target: Target = args.target.0;
    let opts = RetargetOptions {
        target,
        dry_run: args.dry_run,
        strip_vendor_sections: args.strip_vendor_sections,
        signer: match &args.sign {
            Some(k) => Some(Box::new(crate::edit::signer(k, args.cert.as_ref())?)),
            None => None,
        },
        force: args.force,
        limits: Default::default(),
        progress: Some(std::sync::Arc::from(ui.progress())),
    };
    let s = retarget::retarget(&args.input, args.output.as_deref(), &opts)?;
    if ui.json {
        ui.print_envelope(
            true,
            serde_json::json!({
                "target": s.target,
                "dry_run": args.dry_run,
                "output": s.output.as_deref().map(crate::ui::path_json),
                "changes": s.changes,
                "remaining_errors": s.remaining_errors,
                "entries": s.entries.iter().map(|(n, size)| serde_json::json!({"name": n, "size": size})).collect::<Vec<_>>(),
            }),
            Vec::new(),
            Vec::new(),
        );
    } else {
        let to_stdout = args.output.as_deref() == Some(std::path::Path::new("-"));
        let say = |l: &str| {
            if to_stdout {
                ui.note(l)
            } else {
                ui.println(l)
            }
        };
        if s.changes.is_empty() {
            say(&format!("no change needed for {}", s.target));
        }
        for c in &s.changes {
            say(&format!("  {c}"));
        }
        for e in &s.remaining_errors {
            ui.warn(&format!("still: {e}"));
        }
        match &s.output {
            Some(o) => say(&format!(
                "wrote {} for {} ({} change(s))",
                o.display(),
                s.target,
                s.changes.len()
            )),
            None => say(&format!(
                "dry run: {} change(s) for {}",
                s.changes.len(),
                s.target
            )),
        }
    }
    Ok(Outcome::Ok)
}
