//! Multi-VM vApps: a `VirtualSystemCollection` with several VMs imported whole, each VM into its
//! own folder `TARGET_DIR/<vapp>/<vm>/` (ovftool writes a vApp to a hosted target the same way:
//! one VM folder per VirtualSystem). `--vm ID` keeps picking one ([`super::import()`]).

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{import_path, progress_of, safe_name, ImportOptions, ImportReport};
use crate::error::{Error, Result};
use crate::ova::names::{self, Role};
use crate::ova::Reader;
use crate::ovf::{Envelope, ParseOptions};

/// What importing a package did: one VM, or every VM of a multi-VM vApp.
#[derive(Debug, Clone, Serialize)]
pub struct PackageImport {
    /// The vApp folder (`TARGET_DIR/<vapp>`) when the package held several VMs and no `--vm`
    /// picked one: each VM is then in its own folder inside it.
    #[serde(
        serialize_with = "crate::json_path::serialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub vapp_dir: Option<PathBuf>,
    /// One report per VM imported, in descriptor order.
    pub vms: Vec<ImportReport>,
}

/// Imports `source` like [`super::import()`]; a multi-VM vApp without [`ImportOptions::vm`] is
/// imported whole: `target_dir/<vapp>/<vm>/` for each VirtualSystem, the vApp folder named after
/// the collection (or [`ImportOptions::name`]) and each VM after its `Name` (or `ovf:id`), all
/// through the name gate. If one VM fails, the VM folders this call wrote are removed again.
///
/// # Errors
/// As [`super::import()`].
///
/// # Security
/// As [`super::import()`]: every folder name passes [`crate::gate::plain_file_name`].
pub fn import_package(
    source: &Path,
    target_dir: &Path,
    opts: &ImportOptions,
) -> Result<PackageImport> {
    let progress = progress_of(opts);
    let single = |opts: &ImportOptions| -> Result<PackageImport> {
        Ok(PackageImport {
            vapp_dir: None,
            vms: vec![import_path(source, target_dir, opts, progress)?],
        })
    };
    if opts.vm.is_some() || source == Path::new("-") || !source.is_file() {
        return single(opts);
    }
    let Some(env) = descriptor(source, opts)? else {
        // Not a package we can read ahead: the single import names the fault.
        return single(opts);
    };
    let systems = env.virtual_systems();
    if systems.len() < 2 {
        return single(opts);
    }
    let content = env.content();
    let vapp = match &opts.name {
        Some(n) => n.clone(),
        None => safe_name(
            content
                .as_ref()
                .map(|c| c.name.as_ref().map_or(c.id.as_str(), |m| m.text.as_str()))
                .unwrap_or("vapp"),
        ),
    };
    crate::gate::plain_file_name(&vapp)?;
    let vapp_dir = target_dir.join(&vapp);
    let mut taken = HashSet::new();
    let mut vms: Vec<ImportReport> = Vec::new();
    for vs in &systems {
        let mut name = safe_name(vs.name.as_ref().map_or(vs.id.as_str(), |m| m.text.as_str()));
        if !taken.insert(name.clone()) {
            // Two VMs with one display name: the ids are unique (DSP0243 §7.2).
            name = safe_name(&format!("{name}-{}", vs.id));
            taken.insert(name.clone());
        }
        let one = ImportOptions {
            vm: Some(vs.id.clone()),
            name: Some(name),
            ..opts.clone()
        };
        match import_path(source, &vapp_dir, &one, progress) {
            Ok(r) => vms.push(r),
            Err(e) => {
                // No half-imported vApp under its final name.
                for r in &vms {
                    let _ = fs::remove_dir_all(&r.vm_dir);
                }
                let _ = fs::remove_dir(&vapp_dir);
                return Err(e);
            }
        }
    }
    Ok(PackageImport {
        vapp_dir: Some(vapp_dir),
        vms,
    })
}

/// The package's descriptor, parsed: the file itself for an `.ovf`, the first descriptor entry
/// of an `.ova`. `None` when the file is neither (the import proper then says why).
fn descriptor(source: &Path, opts: &ImportOptions) -> Result<Option<Envelope>> {
    let limit = opts.limits.max_descriptor_bytes;
    let content = crate::sniff::sniff_path(source)?.content;
    let parse = |bytes: &[u8]| {
        Envelope::parse_with(
            bytes,
            &ParseOptions {
                limits: opts.limits,
            },
        )
        .map(Some)
    };
    let open = || File::open(source).map_err(|e| Error::io("cannot open", e).with_path(source));
    if content == crate::sniff::Content::Ovf
        || names::role(&source.to_string_lossy()) == Role::Descriptor
    {
        let mut bytes = Vec::new();
        open()?
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("cannot read", e).with_path(source))?;
        if bytes.len() as u64 > limit {
            return Err(
                Error::limit("descriptor size", bytes.len() as u64, limit).with_path(source)
            );
        }
        return parse(&bytes);
    }
    if content.not_a_package_error().is_some() {
        return Ok(None);
    }
    let mut reader = Reader::new(BufReader::new(open()?), opts.limits);
    while let Some(mut entry) = reader.next_entry()? {
        let h = entry.header().clone();
        if names::role(&h.name) != Role::Descriptor {
            continue;
        }
        if h.size > limit {
            return Err(Error::limit("descriptor size", h.size, limit).with_entry(&h.name));
        }
        let mut bytes = Vec::new();
        (&mut entry)
            .take(h.size)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::from(e).with_entry(&h.name))?;
        return parse(&bytes);
    }
    Ok(None)
}
