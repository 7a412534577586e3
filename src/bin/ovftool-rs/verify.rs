//! `verify`: structure, entry order, names, manifest coverage and digests, signature,
//! References ↔ entries, `ovf:size`, descriptor, disk headers. Exit 0 when everything holds,
//! 1 when a check fails, 2 on usage or I/O errors.
//!
//! `--json` prints the shared envelope with `path, kind, descriptor, manifest_algorithms,
//! files: [{name, size, digests, digest_verified}], signature: {algorithm, manifest, valid,
//! signer: {subject, issuer, not_before, not_after, self_signed, key_bits}, trusted,
//! trust_path}` and every finding in `findings` (docs/JSON.md §verify).

use std::path::PathBuf;

use ovftool::verify::{self, Severity, VerifyOptions};

use crate::ui::{to_json, Note, Outcome, Ui};

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An .ova file (`-` for standard input, or an http(s):// URL), an .ovf with its files
    /// beside it, or a folder.
    pub path: PathBuf,
    /// Accept what ovftool's --lax accepts: entry order, a descriptor missing from the manifest
    /// and descriptor problems become warnings.
    #[arg(long)]
    pub lax: bool,
    /// Report manifest digest problems as warnings instead of failing (as import and unpack do
    /// with this option; a present signature is still checked).
    #[arg(long, alias = "skipManifestCheck")]
    pub skip_manifest_check: bool,
    /// Also decode every disk completely.
    #[arg(long)]
    pub deep: bool,
    /// Require a signature whose certificate chains to a certificate in this PEM file
    /// (repeatable). An unsigned or untrusted package then fails.
    #[arg(long, value_name = "CA.pem")]
    pub trust: Vec<PathBuf>,
    /// Also trust the operating system's CA certificates (the OpenSSL bundle on Linux;
    /// SSL_CERT_FILE/SSL_CERT_DIR override it).
    #[arg(long)]
    pub trust_system: bool,
    /// Fail unless the package is signed, the signature is valid and the signer chains to a
    /// trust anchor (--trust, --trust-system).
    #[arg(long)]
    pub require_signature: bool,
    /// Check certificate validity at this time instead of now: RFC 3339 in UTC
    /// (2026-01-31T12:00:00Z) or seconds since the Unix epoch. For reproducible checks of old
    /// packages.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<u64>,
}

/// `--at`: seconds since the Unix epoch, or an RFC 3339 UTC timestamp.
fn parse_time(s: &str) -> Result<u64, String> {
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(secs);
    }
    let t = humantime::parse_rfc3339_weak(s).map_err(|e| {
        format!("expected RFC 3339 (2026-01-31T12:00:00Z) or Unix seconds, found {s:?}: {e}")
    })?;
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| format!("{s:?} is before 1970"))
}

pub fn run(args: Args, ui: &Ui) -> ovftool::Result<Outcome> {
    let mut trust = verify::load_trust(&args.trust)?;
    if args.trust_system {
        trust.add_system()?;
    }
    let opts = VerifyOptions {
        lax: args.lax,
        skip_manifest_check: args.skip_manifest_check,
        deep: args.deep,
        trust,
        require_signature: args.require_signature,
        at: args.at,
        progress: Some(std::sync::Arc::from(ui.progress())),
        ..Default::default()
    };
    let url = ovftool::net::open_package_url(&args.path, &Default::default(), false, &opts.limits)?;
    let report = match url {
        Some(mut body) => verify::verify_stream(&mut body, &args.path, &opts)?,
        None => verify::verify(&args.path, &opts)?,
    };
    if ui.json {
        let (v, findings) = report_json(&report)?;
        ui.print_envelope(report.passed(), v, findings, Vec::new());
    } else {
        print_report(&report, ui);
    }
    Ok(if report.passed() {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}

/// A verification report as JSON fields and its findings in the shared shape.
pub fn report_json(report: &verify::Report) -> ovftool::Result<(serde_json::Value, Vec<Note>)> {
    Ok((to_json(report)?, notes(&report.findings)))
}

/// Verification findings in the shared `--json` shape.
pub fn notes(findings: &[verify::Finding]) -> Vec<Note> {
    findings
        .iter()
        .map(|f| Note {
            code: f.code.to_string(),
            severity: f.severity.as_str(),
            subject: f.entry.clone(),
            message: f.message.clone(),
            hint: f.hint.as_ref().and_then(crate::ui::flag_hint),
        })
        .collect()
}

/// The text report of a verification.
pub fn print_report(report: &verify::Report, ui: &Ui) {
    for f in &report.findings {
        let line = format!("{}[{}]: {}", f.severity, f.code, f.message);
        if f.severity == Severity::Error || !ui.quiet {
            ui.println(&line);
            if let Some(hint) = f.hint.as_ref().and_then(crate::ui::flag_hint) {
                ui.println(&format!("  hint: {}", hint.text));
            }
        }
    }
    if let Some(sig) = &report.signature {
        if let Some(s) = &sig.signer {
            ui.note(&format!(
                "signed ({}) by {}; issuer {}{}; signature {}{}",
                sig.algorithm,
                s.subject,
                s.issuer,
                if s.self_signed { " (self-signed)" } else { "" },
                if sig.valid { "valid" } else { "INVALID" },
                match sig.trusted {
                    Some(true) => ", trusted",
                    Some(false) => ", NOT trusted",
                    None => "",
                }
            ));
        }
    }
    let n = report.files.len();
    if report.passed() {
        ui.println(&format!(
            "OK: {} ({} files{})",
            report.path.display(),
            n,
            if report.manifest_algorithms.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} manifest verified",
                    report
                        .manifest_algorithms
                        .iter()
                        .map(|a| a.name())
                        .collect::<Vec<_>>()
                        .join("+")
                )
            }
        ));
    } else {
        let errors = report.errors().count();
        ui.println(&format!(
            "FAILED: {} ({errors} error{})",
            report.path.display(),
            if errors == 1 { "" } else { "s" }
        ));
    }
}
