//! `import SRC vi://...`: deploy to vSphere (see `ovftool::vsphere::deploy`), and the certificate
//! policy of the flags for `http(s)://` package sources.
//!
//! `--json` prints the envelope with `name, vm: {type, value}, inventory_path, server,
//! disks: [{file, device, bytes_sent}], powered_on, verification`, the verification's findings,
//! and the warnings each with its own code (docs/JSON.md "import to vSphere").

use std::io::IsTerminal;
use std::path::Path;

use ovftool::net::TlsPolicy;
use ovftool::vsphere::deploy::{self, DeployOptions, Provisioning, Target};
use ovftool::vsphere::Locator;
use ovftool::Error;

use crate::import::Args;
use crate::ui::{Outcome, Ui};

/// Whether an import target goes to vSphere.
pub fn is_vi(target: &Path) -> bool {
    target.to_str().is_some_and(Locator::is_locator)
}

/// The certificate policy of `--thumbprint` / `--no-ssl-verify`.
pub fn tls_policy(
    thumbprint: Option<&str>,
    no_verify: bool,
    ui: &Ui,
) -> ovftool::Result<TlsPolicy> {
    match (thumbprint, no_verify) {
        (Some(_), true) => Err(Error::usage(
            "--thumbprint and --no-ssl-verify exclude each other",
        )),
        (Some(t), false) => Ok(TlsPolicy::Thumbprint(t.to_string())),
        (None, true) => {
            ui.warn("--no-ssl-verify: the server's certificate is not checked (anyone on the path can read the password)");
            Ok(TlsPolicy::Insecure)
        }
        (None, false) => Ok(TlsPolicy::System),
    }
}

fn password(loc: &Locator) -> ovftool::Result<String> {
    if let Some(p) = &loc.password {
        return Ok(p.clone());
    }
    if let Ok(p) = std::env::var("OVFTOOL_PASSWORD") {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        let user = loc.user.as_deref().unwrap_or("");
        return rpassword::prompt_password(format!("password for {user}@{}: ", loc.host))
            .map_err(|e| Error::io("cannot read the password", e));
    }
    Err(Error::usage(format!(
        "{}: no password: put it in OVFTOOL_PASSWORD (or in the locator, percent-encoded)",
        loc.display()
    )))
}

/// `import SRC vi://...`: the same options as a local import (command line over `--options`
/// file), plus the vSphere ones.
pub fn run(args: &Args, target: &Path, ui: &Ui) -> ovftool::Result<Outcome> {
    let target_str = target.to_string_lossy().into_owned();
    let locator = Locator::parse(&target_str)?;
    let tls = tls_policy(args.thumbprint.as_deref(), args.no_ssl_verify, ui)?;
    let io = crate::import::options(args)?;
    let opts = DeployOptions {
        name: io.name,
        datastore: args.datastore.clone(),
        networks: io.networks,
        provisioning: Provisioning::from_layout(io.disk_mode)?,
        vm_folder: args.vm_folder.clone(),
        power_on: args.power_on,
        properties: io.properties,
        deployment_option: io.deployment_option,
        accept_all_eulas: io.accept_all_eulas,
        lax: args.lax,
        skip_manifest_check: io.skip_manifest_check,
        ..Default::default()
    };
    let target = Target {
        password: password(&locator)?,
        locator,
        tls,
        https: true,
    };
    // Per-disk bars and an overall one (over the package's size when it is a local file).
    let total = std::fs::metadata(&args.source)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let opts = DeployOptions {
        progress: Some(std::sync::Arc::from(ui.progress_overall("total", total))),
        ..opts
    };
    let report = deploy::deploy(&args.source, &target, &opts)?;
    if ui.json {
        // Each warning with its own code: the import spec's by fault type
        // (`ovf-unsupported-type`...), the verification's as in `verify`.
        let warnings = report
            .warnings
            .iter()
            .map(|w| crate::ui::Note::warning(&w.code, w.subject.clone(), w.message.clone()))
            .collect();
        let findings = crate::verify::notes(&report.verification.findings);
        let v = crate::ui::to_json(&report)?;
        ui.print_envelope(true, v, findings, warnings);
        return Ok(Outcome::Ok);
    }
    for w in &report.warnings {
        ui.warn(&w.to_string());
    }
    for d in &report.disks {
        ui.note(&format!(
            "{}: {} bytes sent ({})",
            d.file, d.bytes_sent, d.device
        ));
    }
    if !ui.quiet {
        ui.println(&format!(
            "deployed {} ({}) on {}{}",
            report.inventory_path,
            report.vm.value,
            report.server,
            if report.powered_on {
                ", powered on"
            } else {
                ""
            }
        ));
    }
    Ok(Outcome::Ok)
}
