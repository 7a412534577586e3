//! The import options file: `import --spec-out spec.json SRC` writes what can be chosen for a
//! package (as govc's `import.spec` does), the user edits it, and `import --options spec.json
//! SRC TARGET` reads it back; options given on the command line win over the file.
//!
//! The format (docs/OPTIONS.md) is JSON with a fixed set of keys; an unknown key is an error
//! that names it (a misspelt key silently ignored would deploy an appliance with defaults).
//! Entries that only inform (a property's type, label, default) are accepted back unchanged.

use std::io::Write;
use std::path::Path;

use clap::ValueEnum;
use ovftool::ovf::{ContentKind, Envelope};
use ovftool::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::values::ImportDiskMode;

/// The largest options file read (a package with thousands of properties stays far below).
const MAX_SPEC_BYTES: u64 = 16 << 20;

/// The options file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// VM name (folder and file names); null: the package's VirtualSystem name.
    #[serde(default)]
    pub name: Option<String>,
    /// Disk layout, as `--disk-mode` spells it (ovftool spellings accepted); null: thin.
    #[serde(default)]
    pub disk_mode: Option<String>,
    /// Chosen deployment option id; null: the package's default.
    #[serde(default)]
    pub deployment_option: Option<String>,
    /// The package's deployment options (informative).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployment_options: Vec<DeploymentChoice>,
    /// Accept the package's license agreements (`--accept-all-eulas`).
    #[serde(default)]
    pub accept_all_eulas: bool,
    /// How many license agreements the package carries (informative).
    #[serde(default)]
    pub eula_count: usize,
    /// One entry per network of the package.
    #[serde(default)]
    pub networks: Vec<NetworkMapping>,
    /// One entry per user-configurable property of the package.
    #[serde(default)]
    pub properties: Vec<PropertyValue>,
    /// Highest virtual hardware version to write; null: no cap.
    #[serde(default)]
    pub max_hw_version: Option<u32>,
    /// Write every vmw:ExtraConfig entry (`--allow-extra-config`).
    #[serde(default)]
    pub allow_extra_config: bool,
}

/// A deployment option of the package.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentChoice {
    /// `ovf:id`.
    pub id: String,
    /// Label, if any.
    #[serde(default)]
    pub label: Option<String>,
    /// Description, if any.
    #[serde(default)]
    pub description: Option<String>,
    /// The package's default.
    #[serde(default)]
    pub default: bool,
}

/// A network of the package and where it goes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkMapping {
    /// The network name in the package (`ovf:name`).
    pub name: String,
    /// Its description (informative).
    #[serde(default)]
    pub description: Option<String>,
    /// The target network (`ethernetN.networkName`); null keeps the package's name.
    #[serde(default)]
    pub target: Option<String>,
}

/// A user-configurable property and its value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyValue {
    /// The environment key (`[class.]key[.instance]`).
    pub key: String,
    /// The value to set; null keeps the package's default.
    #[serde(default)]
    pub value: Option<String>,
    /// `ovf:type` (informative; the value is checked against it).
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// `ovf:qualifiers` (informative).
    #[serde(default)]
    pub qualifiers: Option<String>,
    /// The package's default (informative; not shown for passwords).
    #[serde(default)]
    pub default: Option<String>,
    /// Label (informative).
    #[serde(default)]
    pub label: Option<String>,
    /// Description (informative).
    #[serde(default)]
    pub description: Option<String>,
    /// A secret (informative).
    #[serde(default)]
    pub password: bool,
}

impl Spec {
    /// The options file of a package: every choice at the package's default.
    pub fn of(env: &Envelope) -> Spec {
        let mut spec = Spec {
            disk_mode: Some(ImportDiskMode::Thin.name()),
            deployment_option: env.default_deployment_option(),
            ..Spec::default()
        };
        let default_option = env.default_deployment_option();
        spec.deployment_options = env
            .deployment_options()
            .into_iter()
            .map(|o| DeploymentChoice {
                default: Some(&o.id) == default_option.as_ref(),
                label: o.label.map(|m| m.text),
                description: o.description.map(|m| m.text),
                id: o.id,
            })
            .collect();
        spec.networks = env
            .networks()
            .into_iter()
            .map(|n| NetworkMapping {
                name: n.name,
                description: n.description,
                target: None,
            })
            .collect();
        if let Some(content) = env.content() {
            for vs in content.walk() {
                if spec.name.is_none() && vs.kind == ContentKind::VirtualSystem {
                    // What import names the VM by default, so that the file as written imports
                    // exactly as no file would.
                    let raw = vs.name.as_ref().map_or(vs.id.as_str(), |m| m.text.as_str());
                    spec.name = Some(ovftool::import::safe_name(raw));
                }
                spec.eula_count += vs.eulas.len();
                for section in &vs.products {
                    for p in section.properties.iter().filter(|p| p.user_configurable) {
                        let key = p.full_key(section);
                        if spec.properties.iter().any(|q| q.key == key) {
                            continue;
                        }
                        spec.properties.push(PropertyValue {
                            key,
                            value: None,
                            type_: Some(p.type_.clone()),
                            qualifiers: p.qualifiers.clone(),
                            default: if p.password { None } else { p.default.clone() },
                            label: p.label.as_ref().map(|m| m.text.clone()),
                            description: p.description.as_ref().map(|m| m.text.clone()),
                            password: p.password,
                        });
                    }
                }
            }
        }
        spec
    }

    /// Reads an options file.
    ///
    /// # Errors
    /// I/O errors; a usage error naming the line and column for bad JSON or an unknown key.
    pub fn read(path: &Path) -> Result<Spec> {
        use std::io::Read;
        let file = std::fs::File::open(path)
            .map_err(|e| Error::io("cannot open the options file", e).with_path(path))?;
        let mut bytes = Vec::new();
        file.take(MAX_SPEC_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("cannot read the options file", e).with_path(path))?;
        if bytes.len() as u64 > MAX_SPEC_BYTES {
            return Err(Error::limit(
                "options file size in bytes",
                bytes.len() as u64,
                MAX_SPEC_BYTES,
            )
            .with_path(path));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::usage(format!("bad options file: {e}")).with_path(path))
    }

    /// Writes the options file to `path` (`-`: standard output), under a temporary name renamed
    /// when complete; an existing file is replaced only with `force`.
    ///
    /// # Errors
    /// I/O errors; already-exists without `force`.
    pub fn write(&self, path: &Path, force: bool) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::usage(format!("cannot encode the options file: {e}")))?;
        text.push('\n');
        if path == Path::new("-") {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            return Ok(());
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".ovftool-spec")
            .tempfile_in(dir)
            .map_err(|e| Error::io("cannot create the options file", e).with_path(path))?;
        tmp.write_all(text.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| Error::io("cannot write the options file", e).with_path(path))?;
        let persisted = if force {
            tmp.persist(path).map(drop)
        } else {
            tmp.persist_noclobber(path).map(drop)
        };
        persisted.map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::new(
                    ovftool::ErrorKind::AlreadyExists,
                    "the options file exists (use --force to replace it)",
                )
                .with_path(path)
            } else {
                Error::io("cannot write the options file", e.error).with_path(path)
            }
        })
    }

    /// The disk mode of the file, checked like `--disk-mode`.
    ///
    /// # Errors
    /// Usage error listing the possible values.
    pub fn disk_mode(&self) -> Result<Option<ImportDiskMode>> {
        let Some(s) = self.disk_mode.as_deref() else {
            return Ok(None);
        };
        ImportDiskMode::from_str(s, true).map(Some).map_err(|_| {
            let names: Vec<String> = ImportDiskMode::value_variants()
                .iter()
                .map(|v| v.name())
                .collect();
            Error::usage(format!(
                "options file: disk_mode: expected one of {} (possible values), found {s:?}",
                names.join(", ")
            ))
        })
    }

    /// The file's network mappings that name a target, then `cli`'s: a network named on the
    /// command line replaces the file's entry.
    pub fn networks(&self, cli: Vec<(String, String)>) -> Vec<(String, String)> {
        let file = self
            .networks
            .iter()
            .filter_map(|n| Some((n.name.clone(), n.target.clone()?)));
        overlay(file, cli)
    }

    /// The file's property values that are set, then `cli`'s, the command line winning.
    pub fn properties(&self, cli: Vec<(String, String)>) -> Vec<(String, String)> {
        let file = self
            .properties
            .iter()
            .filter_map(|p| Some((p.key.clone(), p.value.clone()?)));
        overlay(file, cli)
    }
}

/// `base` pairs without the keys that `over` sets, followed by `over`.
fn overlay(
    base: impl Iterator<Item = (String, String)>,
    over: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = base
        .filter(|(k, _)| !over.iter().any(|(o, _)| o == k))
        .collect();
    out.extend(over);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let e = serde_json::from_str::<Spec>(r#"{"name": "a", "disk_mdoe": "thin"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("disk_mdoe"), "{e}");
        let e = serde_json::from_str::<Spec>(r#"{"properties": [{"key": "k", "valeu": "v"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("valeu"), "{e}");
    }

    #[test]
    fn command_line_wins_over_the_file() {
        let spec = Spec {
            networks: vec![
                NetworkMapping {
                    name: "VM Network".into(),
                    target: Some("file-net".into()),
                    ..Default::default()
                },
                NetworkMapping {
                    name: "Management".into(),
                    target: None,
                    ..Default::default()
                },
            ],
            properties: vec![PropertyValue {
                key: "a".into(),
                value: Some("file".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            spec.networks(vec![("VM Network".into(), "cli-net".into())]),
            [("VM Network".to_string(), "cli-net".to_string())]
        );
        assert_eq!(
            spec.properties(vec![("b".into(), "cli".into())]),
            [
                ("a".to_string(), "file".to_string()),
                ("b".to_string(), "cli".to_string())
            ]
        );
    }

    #[test]
    fn a_bad_disk_mode_lists_the_possible_values() {
        let spec = Spec {
            disk_mode: Some("seSparse".into()),
            ..Default::default()
        };
        let e = spec.disk_mode().unwrap_err().to_string();
        assert!(
            e.contains("eager-zeroed-thick") && !e.contains("stream"),
            "{e}"
        );
        let spec = Spec {
            disk_mode: Some("eagerZeroedThick".into()),
            ..Default::default()
        };
        assert_eq!(
            spec.disk_mode().unwrap(),
            Some(ImportDiskMode::EagerZeroedThick)
        );
    }
}
