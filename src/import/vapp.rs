//! Multi-VM vApps: a `VirtualSystemCollection` with several VMs imported whole, each VM into its
//! own folder `TARGET_DIR/<vapp>/<vm>/` (ovftool writes a vApp to a hosted target the same way:
//! one VM folder per VirtualSystem). `--vm ID` keeps picking one ([`super::import()`]).
//!
//! From a stream (standard input, a URL) the package is read once: the descriptor (the first
//! member) says which VMs there are, then every byte is handed to one importer per VM, each of
//! which converts the disks its VM uses and hashes the rest ([`import_package_reader`]). A disk
//! that several VMs attach is converted once per VM, from the one pass.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use serde::Serialize;

use super::{import_path, import_reader, progress_of, safe_name, ImportOptions, ImportReport};
use crate::error::{Error, Result};
use crate::ova::names::{self, Role};
use crate::ova::Reader;
use crate::ovf::{Envelope, ParseOptions};
use crate::progress::NoProgress;

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
    if opts.vm.is_none() && source == Path::new("-") {
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        return import_package_reader(&mut lock, source, target_dir, opts);
    }
    if opts.vm.is_some() || !source.is_file() {
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
    let (vapp, members) = members(&env, opts)?;
    let vapp_dir = target_dir.join(&vapp);
    let mut vms: Vec<ImportReport> = Vec::new();
    for (id, name) in members {
        let one = ImportOptions {
            vm: Some(id),
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

/// The vApp folder name and, per VirtualSystem in descriptor order, its `ovf:id` and its folder
/// name: the collection's (or [`ImportOptions::name`]) and each VM's `Name` (else its id), made
/// safe; two VMs with one name get their id appended (ids are unique, DSP0243 §7.2).
fn members(env: &Envelope, opts: &ImportOptions) -> Result<(String, Vec<(String, String)>)> {
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
    let mut taken = HashSet::new();
    let mut out = Vec::new();
    for vs in env.virtual_systems() {
        let mut name = safe_name(vs.name.as_ref().map_or(vs.id.as_str(), |m| m.text.as_str()));
        if !taken.insert(name.clone()) {
            name = safe_name(&format!("{name}-{}", vs.id));
            taken.insert(name.clone());
        }
        out.push((vs.id.clone(), name));
    }
    Ok((vapp, out))
}

/// The File ids that a VirtualSystem other than `vm` attaches (through `ovf:/disk/ID` and its
/// Disk's fileRef, or `ovf:/file/ID`): in a vApp those are not "unused" when `vm` is imported.
pub(super) fn files_other_vms_use(env: &Envelope, vm: &str) -> HashSet<String> {
    let disks = env.disks();
    let mut out = HashSet::new();
    for vs in env.virtual_systems().iter().filter(|v| v.id != vm) {
        for item in vs.hardware.iter().flat_map(|h| h.items.iter()) {
            if let Some(id) = crate::ovf::machine::host_ref(item, "disk") {
                let file = disks
                    .iter()
                    .find(|d| d.disk_id == id)
                    .and_then(|d| d.file_ref.clone());
                out.extend(file);
            }
            if let Some(id) = crate::ovf::machine::host_ref(item, "file") {
                out.insert(id.to_string());
            }
        }
    }
    out
}

/// Bytes handed from the reading thread to each VM's importer.
const FAN_OUT_CHUNK: usize = 1 << 20;
/// Chunks in flight per importer: memory stays bounded by `FAN_OUT_DEPTH` MiB per VM.
const FAN_OUT_DEPTH: usize = 8;

/// Imports an OVA read from a stream (standard input, an HTTP body) like [`import_package`], in
/// one pass: a single VM as [`super::import_stream`] does; a multi-VM vApp without
/// [`ImportOptions::vm`] into `target_dir/<vapp>/<vm>/`, one importer per VM fed with every byte
/// of the stream (each converts its own disks and hashes the rest, so a disk two VMs attach is
/// written for both). If one VM fails, the others stop and the folders written are removed.
///
/// # Errors
/// As [`super::import()`].
///
/// # Security
/// As [`super::import()`]; memory stays bounded: the descriptor is read ahead within
/// [`crate::limits::Limits::max_descriptor_bytes`], and each importer holds a few MiB in flight.
pub fn import_package_reader(
    src: &mut dyn Read,
    label: &Path,
    target_dir: &Path,
    opts: &ImportOptions,
) -> Result<PackageImport> {
    let progress = progress_of(opts);
    let single = |src: &mut dyn Read| -> Result<PackageImport> {
        Ok(PackageImport {
            vapp_dir: None,
            vms: vec![import_reader(src, label, None, target_dir, opts, progress)?],
        })
    };
    if opts.vm.is_some() {
        return single(src);
    }
    // Read the first member while recording every byte taken from the stream, so that the
    // importers can be given the stream from its start.
    let mut rec = Recorder {
        inner: src,
        seen: Vec::new(),
        // Headers (a PAX or GNU long-name header before the descriptor's) and the descriptor.
        limit: opts.limits.max_descriptor_bytes.saturating_add(64 << 10),
    };
    let env = first_descriptor(&mut rec, opts);
    let Recorder { inner, seen, .. } = rec;
    let systems = env.as_ref().map_or(0, |e| e.virtual_systems().len());
    let (Some(env), true) = (env, systems >= 2) else {
        // One VM, or nothing we could read ahead: the single import says what is wrong.
        return single(&mut Cursor::new(seen).chain(inner));
    };
    let (vapp, members) = members(&env, opts)?;
    if members.len() > crate::limits::MAX_STREAMED_VMS {
        let ids: Vec<&str> = members.iter().take(8).map(|(id, _)| id.as_str()).collect();
        return Err(Error::new(
            crate::ErrorKind::LimitExceeded,
            format!(
                "the vApp has {} VMs, more than the {} imported at once from a stream: import them one at a time ({}, ...)",
                members.len(),
                crate::limits::MAX_STREAMED_VMS,
                ids.join(", ")
            ),
        )
        .with_hint(crate::Hint::ChooseVm)
        .with_path(label));
    }
    let vapp_dir = target_dir.join(&vapp);
    let created = crate::output::create_dirs(&vapp_dir)?;
    let seen: Arc<[u8]> = seen.into();
    let (results, cause) = std::thread::scope(|scope| {
        let mut feeds: Vec<Option<SyncSender<Arc<[u8]>>>> = Vec::new();
        let mut handles = Vec::new();
        for (id, name) in &members {
            let (tx, rx) = sync_channel::<Arc<[u8]>>(FAN_OUT_DEPTH);
            let one = ImportOptions {
                vm: Some(id.clone()),
                name: Some(name.clone()),
                ..opts.clone()
            };
            let dir = vapp_dir.clone();
            handles.push(Some(scope.spawn(move || {
                let mut r = ChannelReader {
                    rx,
                    cur: Arc::from(Vec::new()),
                    pos: 0,
                };
                import_reader(&mut r, label, None, &dir, &one, &NoProgress)
            })));
            feeds.push(Some(tx));
        }
        let mut results: Vec<Option<Result<ImportReport>>> =
            (0..members.len()).map(|_| None).collect();
        let join = |h: std::thread::ScopedJoinHandle<'_, Result<ImportReport>>| {
            h.join()
                .unwrap_or_else(|_| Err(Error::new(crate::ErrorKind::Io, "import thread panicked")))
        };
        // The first bytes, then the rest of the stream, to every importer still reading. One
        // that stops reading has ended: when it failed, every importer is stopped and its
        // error is the one reported (the others only see their input cut short).
        let mut cause: Option<Error> = None;
        progress.start(&label.to_string_lossy(), None);
        let mut chunk: Arc<[u8]> = seen;
        while !chunk.is_empty() && cause.is_none() {
            progress.advance(chunk.len() as u64);
            for (i, feed) in feeds.iter_mut().enumerate() {
                let Some(tx) = feed else { continue };
                if tx.send(Arc::clone(&chunk)).is_ok() {
                    continue;
                }
                *feed = None;
                if let Some(h) = handles[i].take() {
                    match join(h) {
                        Err(e) => {
                            cause = Some(e);
                            break;
                        }
                        ok => results[i] = Some(ok),
                    }
                }
            }
            if cause.is_some() || feeds.iter().all(Option::is_none) {
                break;
            }
            let mut buf = vec![0u8; FAN_OUT_CHUNK];
            match read_some(inner, &mut buf) {
                Ok(n) => {
                    buf.truncate(n);
                    chunk = buf.into();
                }
                Err(e) => cause = Some(Error::from(e).with_path(label)),
            }
        }
        progress.finish();
        // End of the stream (or a failure): the importers see the end of their input.
        drop(feeds);
        for (i, h) in handles.into_iter().enumerate() {
            if let Some(h) = h {
                results[i] = Some(join(h));
            }
        }
        (results, cause)
    });
    let mut vms = Vec::new();
    let mut failure = cause;
    for r in results.into_iter().flatten() {
        match r {
            Ok(report) => vms.push(report),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failure {
        // No half-imported vApp under its final name.
        for r in &vms {
            let _ = fs::remove_dir_all(&r.vm_dir);
        }
        return Err(e);
    }
    created.keep();
    Ok(PackageImport {
        vapp_dir: Some(vapp_dir),
        vms,
    })
}

fn read_some(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// The descriptor of a stream whose first member is one (the order ovftool requires), parsed;
/// `None` for anything else (the single import then reports it).
fn first_descriptor(rec: &mut Recorder<'_>, opts: &ImportOptions) -> Option<Envelope> {
    let mut reader = Reader::new(&mut *rec, opts.limits);
    let mut entry = reader.next_entry().ok()??;
    let h = entry.header().clone();
    if names::role(&h.name) != Role::Descriptor || h.size > opts.limits.max_descriptor_bytes {
        return None;
    }
    let mut bytes = Vec::new();
    (&mut entry).take(h.size).read_to_end(&mut bytes).ok()?;
    drop(reader);
    if rec.seen.len() as u64 > rec.limit {
        return None;
    }
    Envelope::parse_with(
        &bytes,
        &ParseOptions {
            limits: opts.limits,
        },
    )
    .ok()
}

/// A reader that keeps a copy of what it read (up to `limit` bytes; past it, reads fail).
struct Recorder<'a> {
    inner: &'a mut dyn Read,
    seen: Vec<u8>,
    limit: u64,
}

impl Read for Recorder<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = self.limit.saturating_sub(self.seen.len() as u64);
        if room == 0 {
            return Err(std::io::Error::other("read-ahead limit reached"));
        }
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.seen.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// The stream as one importer sees it: the chunks the reading thread sends, then the end.
struct ChannelReader {
    rx: Receiver<Arc<[u8]>>,
    cur: Arc<[u8]>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(c) => {
                    self.cur = c;
                    self.pos = 0;
                }
                // The sender is gone: the stream ended (or the import is being stopped).
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
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
