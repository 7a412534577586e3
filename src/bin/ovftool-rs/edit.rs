//! `edit`: change a package's descriptor and re-emit it in one pass, disks copied unchanged.

use std::path::PathBuf;

use ovftool::cert::Signer;
use ovftool::transform::edit::{self, ConfigEdit, EditOptions, PropEdit, Signing};
use ovftool::Error;

use crate::ui::{Outcome, Ui};
use crate::values::{NicTypeChoice, ScsiTypeChoice};

/// Arguments of `edit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The package: an OVA, `-` for an OVA on standard input, a folder or its .ovf.
    pub input: PathBuf,
    /// The result: a name ending in .ova, `-` for an OVA on standard output, or a new folder.
    pub output: PathBuf,
    /// ProductSection Product name.
    #[arg(long)]
    pub product: Option<String>,
    /// ProductSection Vendor.
    #[arg(long)]
    pub vendor: Option<String>,
    /// ProductSection Version (`--version` is the program's version).
    #[arg(long, value_name = "VERSION")]
    pub product_version: Option<String>,
    /// ProductSection FullVersion.
    #[arg(long, value_name = "VERSION")]
    pub product_full_version: Option<String>,
    /// ProductSection ProductUrl.
    #[arg(long, value_name = "URL")]
    pub product_url: Option<String>,
    /// ProductSection VendorUrl.
    #[arg(long, value_name = "URL")]
    pub vendor_url: Option<String>,
    /// Annotation (description) of the virtual machine.
    #[arg(long, value_name = "TEXT")]
    pub annotation: Option<String>,
    /// Set the EULA to the text of FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "remove_eula")]
    pub eula: Option<PathBuf>,
    /// Remove every EULA.
    #[arg(long)]
    pub remove_eula: bool,
    /// Add a property or change its default value (repeatable; also `--prop:KEY=VALUE`).
    #[arg(long, value_name = "KEY=DEFAULT")]
    pub prop: Vec<String>,
    /// The type of property KEY (string, boolean, uint8... real64).
    #[arg(long, value_name = "KEY=TYPE")]
    pub prop_type: Vec<String>,
    /// The label of property KEY.
    #[arg(long, value_name = "KEY=TEXT")]
    pub prop_label: Vec<String>,
    /// The description of property KEY.
    #[arg(long, value_name = "KEY=TEXT")]
    pub prop_description: Vec<String>,
    /// Whether the user may set property KEY at deployment (true or false).
    #[arg(long, value_name = "KEY=BOOL")]
    pub prop_user_configurable: Vec<String>,
    /// Remove property KEY.
    #[arg(long, value_name = "KEY")]
    pub remove_prop: Vec<String>,
    /// Number of virtual CPUs.
    #[arg(long, value_name = "N")]
    pub cpus: Option<u32>,
    /// Memory in MiB (or with a unit: 512M, 4G).
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// Adapter type of every NIC (and of NICs added with --add-nic).
    #[arg(long, value_name = "TYPE", value_enum, ignore_case = true)]
    pub nic_type: Option<NicTypeChoice>,
    /// Kind of every SCSI controller.
    #[arg(long, value_name = "TYPE", value_enum, ignore_case = true)]
    pub scsi_type: Option<ScsiTypeChoice>,
    /// Add a NIC on NETWORK (repeatable).
    #[arg(long, value_name = "NETWORK")]
    pub add_nic: Vec<String>,
    /// Remove the hardware item with this InstanceID (repeatable).
    #[arg(long, value_name = "ID")]
    pub remove_device: Vec<String>,
    /// Virtual hardware family: N or vmx-N.
    #[arg(long, value_name = "N")]
    pub hardware_version: Option<String>,
    /// Rename a network (and every NIC's connection to it).
    #[arg(long, value_name = "OLD=NEW")]
    pub rename_net: Vec<String>,
    /// Add a file (e.g. an ISO) to the package (repeatable).
    #[arg(long, value_name = "PATH")]
    pub add_file: Vec<PathBuf>,
    /// Remove the File with this ovf:id (repeatable).
    #[arg(long, value_name = "ID")]
    pub remove_file: Vec<String>,
    /// Add a deployment option (DeploymentOptionSection Configuration), or relabel one
    /// (repeatable; the label defaults to the id).
    #[arg(long, value_name = "ID[=LABEL]")]
    pub add_config: Vec<String>,
    /// The description of deployment option ID.
    #[arg(long, value_name = "ID=TEXT")]
    pub config_description: Vec<String>,
    /// Remove a deployment option, with the items and property values only it uses.
    #[arg(long, value_name = "ID")]
    pub remove_config: Vec<String>,
    /// Make deployment option ID the default one.
    #[arg(long, value_name = "ID")]
    pub default_config: Option<String>,
    /// Sign the new manifest with this PEM private key.
    #[arg(long, value_name = "KEY.pem", conflicts_with = "unsign")]
    pub sign: Option<PathBuf>,
    /// The signer's PEM certificate (default: the certificate in the key file).
    #[arg(long, value_name = "CERT.pem", requires = "sign")]
    pub cert: Option<PathBuf>,
    /// Drop the package's signature.
    #[arg(long)]
    pub unsign: bool,
    /// Read every disk and file carried over unchanged and check it against the input's
    /// manifest before publishing (default: its digest is carried over unread, and a damaged
    /// file fails verification of the output).
    #[arg(long)]
    pub verify: bool,
    /// Replace an existing output (ovftool: --overwrite).
    #[arg(long, alias = "overwrite")]
    pub force: bool,
}

fn split(opt: &str, v: &str) -> ovftool::Result<(String, String)> {
    v.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| Error::usage(format!("--{opt} {v:?}: expected KEY=VALUE")))
}

fn memory_mib(s: &str) -> ovftool::Result<u64> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let unit = t[i..].to_ascii_lowercase();
            let m = match unit.as_str() {
                "m" | "mb" | "mib" => 1,
                "g" | "gb" | "gib" => 1024,
                _ => 0,
            };
            (&t[..i], m)
        }
        None => (t, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .filter(|_| mult > 0)
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| Error::usage(format!("--memory {s:?}: expected MiB, or a size like 4G")))
}

pub(crate) fn signer(key: &PathBuf, cert: Option<&PathBuf>) -> ovftool::Result<Signer> {
    let k = std::fs::read(key).map_err(|e| Error::io("cannot read", e).with_path(key))?;
    let c = match cert {
        Some(c) => Some(std::fs::read(c).map_err(|e| Error::io("cannot read", e).with_path(c))?),
        None => None,
    };
    Signer::from_pem(&k, c.as_deref()).map_err(|e| e.with_path(key))
}

pub fn run(args: Args, ui: &Ui) -> ovftool::Result<Outcome> {
    let mut props: Vec<PropEdit> = Vec::new();
    let mut prop = |key: &str| -> usize {
        match props.iter().position(|p| p.key == key) {
            Some(i) => i,
            None => {
                props.push(PropEdit {
                    key: key.to_string(),
                    ..Default::default()
                });
                props.len() - 1
            }
        }
    };
    let mut edits: Vec<(usize, u8, String)> = Vec::new();
    for (opt, list, tag) in [
        ("prop", &args.prop, 0u8),
        ("prop-type", &args.prop_type, 1),
        ("prop-label", &args.prop_label, 2),
        ("prop-description", &args.prop_description, 3),
        ("prop-user-configurable", &args.prop_user_configurable, 4),
    ] {
        for v in list {
            let (k, val) = split(opt, v)?;
            edits.push((prop(&k), tag, val));
        }
    }
    for (i, tag, val) in edits {
        let p = &mut props[i];
        match tag {
            0 => p.default = Some(val),
            1 => p.type_ = Some(val),
            2 => p.label = Some(val),
            3 => p.description = Some(val),
            _ => {
                p.user_configurable = Some(match val.trim() {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" => false,
                    other => {
                        return Err(Error::usage(format!(
                            "--prop-user-configurable {}: expected true or false, found {other:?}",
                            p.key
                        )))
                    }
                })
            }
        }
    }
    let eula = match &args.eula {
        Some(p) => {
            Some(std::fs::read_to_string(p).map_err(|e| Error::io("cannot read", e).with_path(p))?)
        }
        None => None,
    };
    let hardware_version = match &args.hardware_version {
        Some(v) => Some(
            v.trim()
                .trim_start_matches("vmx-")
                .parse::<u32>()
                .ok()
                .filter(|n| (3..=99).contains(n))
                .ok_or_else(|| {
                    Error::usage(format!("--hardware-version {v:?}: expected N or vmx-N"))
                })?,
        ),
        None => None,
    };
    let mut configs: Vec<ConfigEdit> = Vec::new();
    for v in &args.add_config {
        let (id, label) = match v.split_once('=') {
            Some((i, l)) => (i.to_string(), Some(l.to_string())),
            None => (v.clone(), None),
        };
        configs.push(ConfigEdit {
            id,
            label,
            description: None,
            create: true,
        });
    }
    for v in &args.config_description {
        let (id, text) = split("config-description", v)?;
        match configs.iter_mut().find(|c| c.id == id) {
            Some(c) => c.description = Some(text),
            None => configs.push(ConfigEdit {
                id,
                label: None,
                description: Some(text),
                create: false,
            }),
        }
    }
    let opts = EditOptions {
        product: args.product,
        vendor: args.vendor,
        product_version: args.product_version,
        product_full_version: args.product_full_version,
        product_url: args.product_url,
        vendor_url: args.vendor_url,
        annotation: args.annotation,
        eula,
        remove_eula: args.remove_eula,
        props,
        remove_props: args.remove_prop,
        cpus: args.cpus,
        memory_mib: args.memory.as_deref().map(memory_mib).transpose()?,
        nic_type: args.nic_type.map(Into::into),
        scsi_type: args.scsi_type.map(Into::into),
        add_nics: args.add_nic,
        remove_devices: args.remove_device,
        hardware_version,
        rename_nets: args
            .rename_net
            .iter()
            .map(|v| split("rename-net", v))
            .collect::<ovftool::Result<_>>()?,
        add_files: args.add_file,
        remove_files: args.remove_file,
        signing: match (&args.sign, args.unsign) {
            (Some(k), _) => Signing::Sign(Box::new(signer(k, args.cert.as_ref())?)),
            (None, true) => Signing::Unsign,
            (None, false) => Signing::Keep,
        },
        configs,
        remove_configs: args.remove_config,
        default_config: args.default_config,
        verify: args.verify,
        force: args.force,
        progress: Some(std::sync::Arc::from(ui.progress())),
        ..Default::default()
    };
    let s = edit::edit(&args.input, &args.output, &opts)?;
    if ui.json {
        ui.print_envelope(
            true,
            serde_json::json!({
                "output": crate::ui::path_json(&s.output),
                "changes": s.changes,
                "entries": s.entries.iter().map(|(n, size)| serde_json::json!({"name": n, "size": size})).collect::<Vec<_>>(),
                "manifest": s.manifest,
                "signed": s.signed,
            }),
            Vec::new(),
            Vec::new(),
        );
    } else {
        for c in &s.changes {
            ui.note(&format!("  {c}"));
        }
        ui.note(&format!(
            "wrote {} ({} change(s), {} entries{})",
            s.output.display(),
            s.changes.len(),
            s.entries.len(),
            if s.signed { ", signed" } else { "" }
        ));
    }
    Ok(Outcome::Ok)
}
