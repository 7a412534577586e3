//! `import`: an OVA/OVF package becomes `TARGET_DIR/<name>/` with `<name>.vmx` and its disks, in
//! one verified streaming pass (see `ovftool::import`). Exit 0 when imported, 1 when the package
//! fails verification or is invalid, 2 on usage or I/O errors.
//!
//! `--spec-out FILE` writes the package's options file instead (crate::spec, docs/OPTIONS.md),
//! `--options FILE` reads one back, the command line winning over it.
//!
//! `--json` prints the shared envelope with `name, vm_dir, vmx, hardware_version, files: [{path,
//! size}], disks: [{disk_id, source, device, mode, file, capacity_bytes, data_bytes}],
//! verification: {...as verify's report...}`; the package's findings in `findings`, what was
//! approximated in `warnings` (docs/JSON.md §import).

use std::path::{Path, PathBuf};

use ovftool::import::{self, ImportOptions};
use ovftool::vmdk::layout::Layout;

use crate::spec::Spec;
use crate::ui::{to_json, Note, Outcome, Ui};
use crate::values::ImportDiskMode;

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The package: an .ova file, an .ovf with its files beside it, `-` for an OVA on stdin, or
    /// an http(s):// URL of an .ova.
    pub source: PathBuf,
    /// The folder in which `<name>/` is created (created when missing), or a vSphere locator
    /// vi://[USER[:PASSWORD]@]HOST[:PORT]/DC/host/CLUSTER_OR_HOST[/Resources/POOL] (a
    /// standalone ESXi: vi://USER@HOST/).
    #[arg(required_unless_present = "spec_out")]
    pub target_dir: Option<PathBuf>,
    /// Write the package's options file (name, disk mode, networks, properties, deployment
    /// option, EULA acceptance) to FILE (`-`: standard output) and import nothing; edit it and
    /// pass it back with --options. Format: docs/OPTIONS.md.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["target_dir", "options"])]
    pub spec_out: Option<PathBuf>,
    /// Read the import options from FILE (as written by --spec-out); options given on the
    /// command line win over the file.
    #[arg(long, value_name = "FILE")]
    pub options: Option<PathBuf>,
    /// VM name (default: the VirtualSystem's name, made safe for a file name).
    #[arg(long, short = 'n')]
    pub name: Option<String>,
    /// Disk layout [default: thin]. thin, thick and eager-zeroed-thick write ESXi (vmfs)
    /// descriptors; monolithic-sparse (what Workstation and Fusion create), monolithic-flat,
    /// two-gb-sparse and two-gb-flat are hosted layouts. ovftool's --diskMode spellings such as
    /// eagerZeroedThick or twoGbMaxExtentSparse are accepted.
    #[arg(
        long,
        alias = "diskMode",
        value_name = "MODE",
        value_enum,
        ignore_case = true
    )]
    pub disk_mode: Option<ImportDiskMode>,
    /// Deployment option (configuration) id; default: the descriptor's default.
    #[arg(long, alias = "deploymentOption", value_name = "ID")]
    pub deployment_option: Option<String>,
    /// The VirtualSystem (ovf:id) to import from a multi-VM vApp (vCloud Director exports);
    /// without it every VM is imported, each into TARGET_DIR/<vapp>/<vm>/.
    #[arg(long, value_name = "ID")]
    pub vm: Option<String>,
    /// Map an OVF network to a target network: OVF_NETWORK=TARGET (repeatable). A hosted type
    /// (nat, bridged, hostonly) is written as ethernetN.connectionType; any other name as
    /// ethernetN.networkName (the ESXi port group form).
    #[arg(long, value_name = "OVF_NETWORK=TARGET")]
    pub net: Vec<String>,
    /// Set a property: KEY=VALUE (repeatable); checked against its type and qualifiers.
    #[arg(long, value_name = "KEY=VALUE")]
    pub prop: Vec<String>,
    /// Accept every license agreement of the package.
    #[arg(long, alias = "acceptAllEulas")]
    pub accept_all_eulas: bool,
    /// Import non-VMware descriptors (VirtualBox, OVF 2.0 exports) with warnings.
    #[arg(long)]
    pub lax: bool,
    /// Highest virtual hardware version to write.
    #[arg(long, alias = "maxVirtualHardwareVersion", value_name = "N")]
    pub max_hw_version: Option<u32>,
    /// Do not fail on manifest digest problems (reported as warnings).
    #[arg(long, alias = "skipManifestCheck")]
    pub skip_manifest_check: bool,
    /// Replace an existing VM folder of the same name (or the --spec-out file).
    #[arg(long, alias = "overwrite")]
    pub force: bool,
    /// Write every vmw:ExtraConfig entry, not only the safe list.
    #[arg(long, alias = "allowExtraConfig")]
    pub allow_extra_config: bool,
    /// vSphere: datastore for the VM's files (default: the only one the target sees).
    #[arg(
        long,
        visible_alias = "ds",
        value_name = "NAME",
        help_heading = "vSphere"
    )]
    pub datastore: Option<String>,
    /// vSphere: VM folder, relative to the datacenter's vm folder.
    #[arg(
        long,
        alias = "vmFolder",
        value_name = "PATH",
        help_heading = "vSphere"
    )]
    pub vm_folder: Option<String>,
    /// vSphere: power the VM on after the deploy.
    #[arg(long, alias = "powerOn", help_heading = "vSphere")]
    pub power_on: bool,
    /// TLS: accept the server certificate with this SHA-1 thumbprint (AA:BB:...).
    #[arg(
        long,
        alias = "sslThumbprint",
        value_name = "SHA1",
        help_heading = "vSphere"
    )]
    pub thumbprint: Option<String>,
    /// TLS: do not check the server's certificate (a warning is printed).
    #[arg(long, alias = "noSSLVerify", help_heading = "vSphere")]
    pub no_ssl_verify: bool,
}

pub(crate) fn pairs(list: &[String], what: &str) -> ovftool::Result<Vec<(String, String)>> {
    list.iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(ovftool::Error::usage(format!(
                "{what}: expected KEY=VALUE, found {s:?}"
            ))),
        })
        .collect()
}

/// The library options: the options file (if any) overlaid by the command line.
pub(crate) fn options(args: &Args) -> ovftool::Result<ImportOptions> {
    let spec = match &args.options {
        Some(path) => Spec::read(path)?,
        None => Spec::default(),
    };
    let disk_mode = match args.disk_mode {
        Some(m) => m,
        None => spec.disk_mode()?.unwrap_or(ImportDiskMode::Thin),
    };
    Ok(ImportOptions {
        name: args.name.clone().or_else(|| spec.name.clone()),
        disk_mode: Layout::from(disk_mode),
        deployment_option: args
            .deployment_option
            .clone()
            .or_else(|| spec.deployment_option.clone()),
        networks: spec.networks(pairs(&args.net, "--net")?),
        properties: spec.properties(pairs(&args.prop, "--prop")?),
        vm: args.vm.clone(),
        accept_all_eulas: args.accept_all_eulas || spec.accept_all_eulas,
        lax: args.lax,
        max_hw_version: args.max_hw_version.or(spec.max_hw_version),
        skip_manifest_check: args.skip_manifest_check,
        force: args.force,
        allow_extra_config: args.allow_extra_config || spec.allow_extra_config,
        ..Default::default()
    })
}

/// `--spec-out`: the package's options file, nothing imported.
fn spec_out(args: &Args, out: &Path, ui: &Ui) -> ovftool::Result<Outcome> {
    let (_, env) = ovftool::descriptor_source::open(&args.source)?;
    let spec = Spec::of(&env);
    spec.write(out, args.force)?;
    if out == Path::new("-") {
        // The file itself is on standard output.
    } else if ui.json {
        ui.print_envelope(
            true,
            serde_json::json!({ "spec": to_json(&spec)? }),
            Vec::new(),
            Vec::new(),
        );
    } else {
        ui.note(&format!("wrote {}", out.display()));
    }
    Ok(Outcome::Ok)
}

pub fn run(args: Args, ui: &Ui) -> ovftool::Result<Outcome> {
    if let Some(out) = &args.spec_out {
        return spec_out(&args, out, ui);
    }
    let Some(target_dir) = args.target_dir.as_deref() else {
        return Err(ovftool::Error::usage("import: expected TARGET_DIR"));
    };
    if crate::deploy::is_vi(target_dir) {
        return crate::deploy::run(&args, target_dir, ui);
    }
    let mut opts = options(&args)?;
    opts.progress = Some(std::sync::Arc::from(ui.progress()));
    let tls = crate::deploy::tls_policy(args.thumbprint.as_deref(), args.no_ssl_verify, ui)?;
    let package = match ovftool::net::open_package_url(&args.source, &tls, false, &opts.limits)? {
        Some(mut body) => {
            import::import_package_reader(&mut body, &args.source, target_dir, &opts)?
        }
        None => import::import_package(&args.source, target_dir, &opts)?,
    };
    if ui.json {
        let mut findings = Vec::new();
        let mut warnings = Vec::new();
        for report in &package.vms {
            findings.extend(crate::verify::notes(&report.verification.findings));
            warnings.extend(
                report
                    .warnings
                    .iter()
                    .map(|w| Note::warning("import-note", None, w.clone())),
            );
        }
        // One VM: the report itself, as always; a whole vApp: its folder and one report per VM.
        let mut body = match (&package.vapp_dir, package.vms.as_slice()) {
            (None, [one]) => to_json(one)?,
            _ => to_json(&package)?,
        };
        if let serde_json::Value::Object(fields) = &mut body {
            fields.insert("hints".into(), to_json(&hints(&package))?);
        }
        ui.print_envelope(true, body, findings, warnings);
        return Ok(Outcome::Ok);
    }
    for report in &package.vms {
        for w in &report.warnings {
            ui.warn(w);
        }
    }
    for h in hints(&package) {
        ui.hint(&h.text);
    }
    for report in &package.vms {
        for d in &report.disks {
            ui.note(&format!(
                "{}: {} ({}, {} bytes, {} bytes of data)",
                d.device, d.file, d.mode, d.capacity_bytes, d.data_bytes
            ));
        }
        if let Some(sig) = &report.verification.signature {
            ui.note(&format!(
                "signature ({}) {}",
                sig.algorithm,
                if sig.valid { "valid" } else { "INVALID" }
            ));
        }
        if !ui.quiet {
            ui.println(&format!("imported {}", report.vmx.display()));
        }
    }
    if let (Some(dir), false) = (&package.vapp_dir, ui.quiet) {
        ui.println(&format!(
            "imported vApp {}: {} VMs, each in its own folder",
            dir.display(),
            package.vms.len()
        ));
    }
    Ok(Outcome::Ok)
}

/// The flags that would have imported what the warnings say was left out, once each.
fn hints(package: &import::PackageImport) -> Vec<crate::ui::FlagHint> {
    let mut out: Vec<crate::ui::FlagHint> = Vec::new();
    for h in package.vms.iter().flat_map(|r| &r.hints) {
        if let Some(f) = crate::ui::flag_hint(h) {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    out
}
