//! `pack`: an OVF package folder (or `.ovf`) → a deterministic OVA with a fresh manifest,
//! signed when asked.

use std::path::PathBuf;

use ovftool::pack::{self, ManifestMode, PackOptions};

use crate::ui::{path_json, Note, Outcome, Ui};
use crate::values::ManifestChoice;

/// Arguments of `pack`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A folder holding one .ovf descriptor and its files, or the .ovf itself.
    pub input: PathBuf,
    /// The OVA to write.
    pub output: PathBuf,
    /// Manifest digest (default: the package's existing manifest algorithm, else sha256;
    /// ovftool's --shaAlgorithm is accepted).
    #[arg(
        long,
        value_name = "ALG",
        value_enum,
        ignore_case = true,
        alias = "shaAlgorithm"
    )]
    pub manifest: Option<ManifestChoice>,
    /// Sign the manifest with this PEM private key (RSA, PKCS#8 or PKCS#1; ovftool's
    /// --privateKey is accepted).
    #[arg(long, value_name = "KEY.pem", alias = "privateKey")]
    pub sign: Option<PathBuf>,
    /// The signer's PEM certificate (default: the certificate in the key file).
    #[arg(long, value_name = "CERT.pem", requires = "sign")]
    pub cert: Option<PathBuf>,
    /// Replace an existing output (ovftool: --overwrite).
    #[arg(long, alias = "overwrite")]
    pub force: bool,
}

pub fn run(args: Args, ui: &Ui) -> ovftool::Result<Outcome> {
    let manifest = match args.manifest.map(ManifestChoice::algorithm) {
        None => ManifestMode::Auto,
        Some(None) => ManifestMode::None,
        Some(Some(alg)) => ManifestMode::Algorithm(alg),
    };
    let signer = match &args.sign {
        Some(key) => Some(crate::edit::signer(key, args.cert.as_ref())?),
        None => None,
    };
    let opts = PackOptions {
        manifest,
        signer,
        force: args.force,
        progress: Some(std::sync::Arc::from(ui.progress())),
        ..Default::default()
    };
    let s = pack::pack(&args.input, &args.output, &opts)?;
    if ui.json {
        let warnings = s
            .notes
            .iter()
            .map(|n| Note::warning("pack-note", None, n.clone()))
            .collect();
        ui.print_envelope(
            true,
            serde_json::json!({
                "output": path_json(&s.output),
                "entries": s.entries.iter().map(|(n, size)| serde_json::json!({"name": n, "size": size})).collect::<Vec<_>>(),
                "manifest": s.manifest.map(|a| a.name()),
                "signed": s.signed,
                "notes": s.notes,
            }),
            Vec::new(),
            warnings,
        );
    } else {
        for n in &s.notes {
            ui.warn(n);
        }
        ui.note(&format!(
            "wrote {} ({} entries{}{})",
            s.output.display(),
            s.entries.len(),
            s.manifest
                .map(|a| format!(", {a} manifest"))
                .unwrap_or_default(),
            if s.signed { ", signed" } else { "" }
        ));
    }
    Ok(Outcome::Ok)
}
