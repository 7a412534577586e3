//! `export`: a VM (`.vmx`/`.vmtx` or its folder) as an OVA or OVF package.

use std::path::PathBuf;

use ovftool::export::{self, ExportOptions, Target};
use ovftool::Error;

use crate::ui::{Outcome, Ui};
use crate::values::{ManifestChoice, OvfVersionChoice, TargetChoice};

/// Arguments of `export`. VMware ovftool's spellings are accepted as aliases (`--overwrite`,
/// `--shaAlgorithm`, `--privateKey`, `--compress`, `--maxVirtualHardwareVersion`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The VM: a .vmx or .vmtx file, or a folder holding exactly one.
    pub input: PathBuf,
    /// OUT.ova (one archive), OUT.ovf (descriptor with its files beside it) or OUT_DIR/.
    pub output: PathBuf,
    /// VM name in the descriptor (default: the .vmx displayName).
    #[arg(long, short = 'n')]
    pub name: Option<String>,
    /// OVF version (default 1.0).
    #[arg(long, value_name = "VERSION", value_enum)]
    pub ovf_version: Option<OvfVersionChoice>,
    /// Manifest digest (default sha256; ovftool's --shaAlgorithm is accepted).
    #[arg(
        long,
        value_name = "ALG",
        value_enum,
        ignore_case = true,
        alias = "shaAlgorithm"
    )]
    pub manifest: Option<ManifestChoice>,
    /// Sign the manifest with this RSA private key (PEM); writes a .cert (ovftool:
    /// --privateKey).
    #[arg(long, value_name = "KEY.pem", alias = "privateKey")]
    pub sign: Option<PathBuf>,
    /// The signer's certificate (PEM; default: taken from the key file).
    #[arg(long, value_name = "CERT.pem", requires = "sign")]
    pub cert: Option<PathBuf>,
    /// Where the package will be imported: picks the digest, OVF version and caps the hardware
    /// version (explicit options win).
    #[arg(long, value_enum, ignore_case = true)]
    pub target: Option<TargetChoice>,
    /// Highest virtual hardware version to write (vmx-NN).
    #[arg(long, value_name = "N", alias = "maxVirtualHardwareVersion")]
    pub max_hw_version: Option<u32>,
    /// ProductSection: product name.
    #[arg(long)]
    pub product: Option<String>,
    /// ProductSection: vendor.
    #[arg(long)]
    pub vendor: Option<String>,
    /// ProductSection: short version.
    #[arg(long, value_name = "VERSION")]
    pub product_version: Option<String>,
    /// ProductSection: full version.
    #[arg(long)]
    pub full_version: Option<String>,
    /// ProductSection: product URL.
    #[arg(long)]
    pub product_url: Option<String>,
    /// ProductSection: vendor URL.
    #[arg(long)]
    pub vendor_url: Option<String>,
    /// AnnotationSection text (default: the .vmx annotation).
    #[arg(long)]
    pub annotation: Option<String>,
    /// A license text file for an EulaSection (repeatable).
    #[arg(long, value_name = "FILE")]
    pub eula: Vec<PathBuf>,
    /// A user-configurable property KEY:TYPE=DEFAULT[|LABEL[|DESCRIPTION]] (repeatable;
    /// transport com.vmware.guestInfo).
    #[arg(long, value_name = "SPEC")]
    pub prop: Vec<String>,
    /// Ship the NVRAM file (default: only for EFI VMs).
    #[arg(long, overrides_with = "no_nvram")]
    pub include_nvram: bool,
    /// Never ship the NVRAM file.
    #[arg(long)]
    pub no_nvram: bool,
    /// Ship attached CD/floppy image files.
    #[arg(long)]
    pub include_images: bool,
    /// Compression threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Deflate level 0-12 of the stream-optimized disks (ovftool: --compress).
    #[arg(long, default_value_t = 6, alias = "compress")]
    pub compression_level: u32,
    /// Replace an existing output, and export a VM that looks powered on or locked (ovftool:
    /// --overwrite).
    #[arg(long, alias = "overwrite")]
    pub force: bool,
}

fn read_text(path: &PathBuf, what: &str) -> ovftool::Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::io(format!("cannot read {what}"), e).with_path(path))?;
    String::from_utf8(bytes)
        .map_err(|_| Error::usage(format!("{what} is not UTF-8 text")).with_path(path))
}

/// Turns the command line into library options.
fn options(args: &Args) -> ovftool::Result<ExportOptions> {
    let mut o = ExportOptions::default();
    if let Some(t) = args.target {
        Target::from(t).apply(&mut o);
    }
    if let Some(v) = args.ovf_version {
        o.ovf_version = v.into();
    }
    if let Some(m) = args.manifest {
        o.manifest = m.algorithm();
    }
    if let Some(key) = &args.sign {
        o.signer = Some(crate::edit::signer(key, args.cert.as_ref())?);
    }
    if args.max_hw_version.is_some() {
        o.max_hw_version = args.max_hw_version;
    }
    o.name = args.name.clone();
    o.product.product = args.product.clone();
    o.product.vendor = args.vendor.clone();
    o.product.version = args.product_version.clone();
    o.product.full_version = args.full_version.clone();
    o.product.product_url = args.product_url.clone();
    o.product.vendor_url = args.vendor_url.clone();
    o.annotation = args.annotation.clone();
    for e in &args.eula {
        o.eulas.push(read_text(e, "EULA")?);
    }
    for p in &args.prop {
        o.properties.push(export::parse_property(p)?);
    }
    o.include_nvram = if args.no_nvram {
        Some(false)
    } else if args.include_nvram {
        Some(true)
    } else {
        None
    };
    o.include_images = args.include_images;
    o.threads = args.threads;
    o.compression_level = args.compression_level;
    o.force = args.force;
    o.allow_locked = args.force;
    Ok(o)
}

pub fn run(args: Args, ui: &Ui) -> ovftool::Result<Outcome> {
    let mut opts = options(&args)?;
    opts.progress = Some(std::sync::Arc::from(ui.progress()));
    let report = export::export(&args.input, &args.output, &opts)?;
    if ui.json {
        let warnings = report
            .warnings
            .iter()
            .map(|w| {
                crate::ui::Note::warning("export-note", Some(w.subject.clone()), w.message.clone())
            })
            .collect();
        ui.print_envelope(true, crate::ui::to_json(&report)?, Vec::new(), warnings);
        return Ok(Outcome::Ok);
    }
    for w in &report.warnings {
        ui.warn(&w.to_string());
    }
    if !ui.quiet {
        ui.println(&format!(
            "exported {} to {} ({}, OVF {}{})",
            report.source.display(),
            report.output.display(),
            report.format,
            report.ovf_version_text(),
            report
                .hardware_family
                .as_deref()
                .map(|f| format!(", {f}"))
                .unwrap_or_default()
        ));
        for f in &report.files {
            ui.println(&format!("  {:<12} {:>14}  {}", f.role, f.size, f.name));
        }
    }
    Ok(Outcome::Ok)
}
