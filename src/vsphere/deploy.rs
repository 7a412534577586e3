//! Deploy an OVA to vSphere in one streaming pass: the calls ovftool and govc make.
//!
//! 1. Connect (TLS per [`TlsPolicy`]), `Login`, resolve the locator's inventory path (an
//!    incomplete one lists what can follow), the datastore, networks and VM folder.
//! 2. Read the package through the one scan (the `scan` module, as `verify`, `unpack` and
//!    `import` read it) with the `Upload` sink. Its descriptor (the first member, parsed once
//!    by the scan) goes to `OvfManager.CreateImportSpec` (its errors and warnings become
//!    findings; an `OvfUnsupportedType` is an error unless `--lax`).
//! 3. `ResourcePool.ImportVApp` creates the VM and returns an `HttpNfcLease`; once it is
//!    `ready`, each disk member is sent to its device URL *as it streams by*: streamOptimized
//!    members pass through unchanged, gzip members are inflated on the way; every member is
//!    hashed while it is sent. `HttpNfcLeaseProgress` is reported every few seconds meanwhile
//!    (a lease times out otherwise).
//! 4. After the last member, every check of `verify` runs on the scan's package, under the same
//!    [`Policy`] (manifest, signature, References ↔ members, disk headers). Only then
//!    `HttpNfcLeaseComplete`; any failure aborts the lease **and destroys the half-created
//!    VM**, so nothing is left.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use super::client::{el, MoRef, Session};
use super::import_spec::{self, SpecNote};
use super::locator::Locator;
use super::xml::El;
use crate::digest::{copy_hashing, copy_hashing_to_channel, CopyResult, HashOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::inflate::GunzipCapped;
use crate::limits::Limits;
use crate::net::{HttpClient, TlsPolicy};
use crate::ova::names::{self, Role};
use crate::ovf::{Envelope, FileRef};
use crate::progress::Progress;
use crate::scan::{self, DataMember, MemberSink};
use crate::verify::{self, Policy, Report, Severity};
use crate::vmdk::layout::Layout;

/// How often the lease hears of the upload's progress (vSphere's lease timeout is minutes).
const LEASE_PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// vSphere's disk provisioning types (`OvfCreateImportSpecParams.diskProvisioning`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Provisioning {
    /// `thin`.
    #[default]
    Thin,
    /// `thick` (lazily zeroed).
    Thick,
    /// `eagerZeroedThick`.
    EagerZeroedThick,
}

impl Provisioning {
    /// The API's name.
    pub fn api_name(self) -> &'static str {
        match self {
            Provisioning::Thin => "thin",
            Provisioning::Thick => "thick",
            Provisioning::EagerZeroedThick => "eagerZeroedThick",
        }
    }

    /// From the disk layout named by `--disk-mode` (only thin, thick and eager-zeroed-thick
    /// exist on a datastore).
    ///
    /// # Errors
    /// [`ErrorKind::Usage`] for a hosted-only layout.
    pub fn from_layout(l: Layout) -> Result<Provisioning> {
        match l {
            Layout::Thin => Ok(Provisioning::Thin),
            Layout::Thick => Ok(Provisioning::Thick),
            Layout::EagerZeroedThick => Ok(Provisioning::EagerZeroedThick),
            other => Err(Error::usage(format!(
                "disk mode {other} does not exist on a datastore: expected thin, thick or eager-zeroed-thick"
            ))),
        }
    }
}

/// Where to connect and how. Its `Debug` leaves the password out.
#[derive(Clone)]
pub struct Target {
    /// The locator (its password, if any, is ignored: see `password`).
    pub locator: Locator,
    /// The password to log in with.
    pub password: String,
    /// Certificate check.
    pub tls: TlsPolicy,
    /// HTTPS (true, the default) or plain HTTP (simulators only).
    pub https: bool,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("locator", &self.locator)
            .field("password", &"<hidden>")
            .field("tls", &self.tls)
            .field("https", &self.https)
            .finish()
    }
}

/// Options of [`deploy_reader`].
#[derive(Clone, Default)]
pub struct DeployOptions {
    /// VM name (default: the VirtualSystem's name, else its id).
    pub name: Option<String>,
    /// Datastore name (default: the only one the target sees).
    pub datastore: Option<String>,
    /// `OVF network → port group` (standard or distributed).
    pub networks: Vec<(String, String)>,
    /// Disk provisioning.
    pub provisioning: Provisioning,
    /// VM folder, relative to the datacenter's `vm` folder.
    pub vm_folder: Option<String>,
    /// Power the VM on after the import.
    pub power_on: bool,
    /// Property values.
    pub properties: Vec<(String, String)>,
    /// Deployment option id.
    pub deployment_option: Option<String>,
    /// Accept every EULA.
    pub accept_all_eulas: bool,
    /// Downgrade what ovftool's `--lax` tolerates to warnings.
    pub lax: bool,
    /// ovftool's `--skipManifestCheck` (see [`Policy::skip_manifest_check`]).
    pub skip_manifest_check: bool,
    /// Size caps.
    pub limits: Limits,
    /// Receives progress of the pass over the package (`None`: none reported).
    pub progress: Option<std::sync::Arc<dyn Progress>>,
}

impl std::fmt::Debug for DeployOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Property values are left out: they may hold secrets.
        f.debug_struct("DeployOptions")
            .field("name", &self.name)
            .field("datastore", &self.datastore)
            .field("networks", &self.networks)
            .field("provisioning", &self.provisioning)
            .field("vm_folder", &self.vm_folder)
            .field("power_on", &self.power_on)
            .field("deployment_option", &self.deployment_option)
            .field("accept_all_eulas", &self.accept_all_eulas)
            .field("lax", &self.lax)
            .field("skip_manifest_check", &self.skip_manifest_check)
            .field("progress", &self.progress.is_some())
            .finish_non_exhaustive()
    }
}

/// The progress receiver of `opts` (none: nothing reported).
fn progress_of(opts: &DeployOptions) -> &dyn Progress {
    crate::progress::of(&opts.progress)
}

impl DeployOptions {
    /// The policy the package's verdict is judged by (the same as `verify`, `unpack` and
    /// `import` with the same options).
    pub fn policy(&self) -> Policy {
        Policy {
            lax: self.lax,
            skip_manifest_check: self.skip_manifest_check,
            ..Policy::default()
        }
    }
}

/// One uploaded disk.
#[derive(Debug, Clone, Serialize)]
pub struct UploadReport {
    /// The package member.
    pub file: String,
    /// The device it became (`/vm/VirtualDisk:0` style import key).
    pub device: String,
    /// Bytes sent to the host.
    pub bytes_sent: u64,
}

/// What a deploy did.
#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    /// The VM's name.
    pub name: String,
    /// Its managed object reference.
    pub vm: MoRef,
    /// Its inventory path (`DC0/vm/name`).
    pub inventory_path: String,
    /// The server (host:port).
    pub server: String,
    /// Disks sent.
    pub disks: Vec<UploadReport>,
    /// Whether it was powered on.
    pub powered_on: bool,
    /// Warnings: the import spec's (by fault type, [`import_spec`]) and the verification's.
    pub warnings: Vec<SpecNote>,
    /// The verification of the package.
    pub verification: Report,
}

/// Where the VM goes.
struct Placement {
    dc_path: String,
    pool: MoRef,
    host: Option<MoRef>,
    compute: MoRef,
    folder: MoRef,
    folder_path: String,
}

/// Escapes `/` in a name for an inventory path.
fn path_part(s: &str) -> String {
    s.replace('%', "%25").replace('/', "%2f")
}

fn names_of(s: &Session, list: &[MoRef]) -> Result<Vec<String>> {
    list.iter().map(|r| s.name(r)).collect()
}

fn children(s: &Session, folder: &MoRef) -> Result<Vec<(String, MoRef)>> {
    let kids = s.refs(folder, "childEntity")?;
    let names = names_of(s, &kids)?;
    Ok(names.into_iter().zip(kids).collect())
}

fn listing(items: &[(String, MoRef)]) -> String {
    if items.is_empty() {
        return "(nothing)".into();
    }
    items
        .iter()
        .map(|(n, r)| format!("{n} ({})", r.kind))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The children of whatever `path` names, for the "incomplete locator" message.
fn list_under(s: &Session, obj: &MoRef) -> Result<Vec<(String, MoRef)>> {
    match obj.kind.as_str() {
        "Folder" => children(s, obj),
        "Datacenter" => {
            let hf = s
                .refs(obj, "hostFolder")?
                .into_iter()
                .next()
                .ok_or_else(|| Error::new(ErrorKind::Io, "datacenter without a host folder"))?;
            children(s, &hf)
        }
        _ => Ok(Vec::new()),
    }
}

fn resolve(s: &Session, loc: &Locator, opts: &DeployOptions) -> Result<Placement> {
    let shown = loc.display();
    let mut path: Vec<String> = loc.path.clone();
    if path.is_empty() {
        if s.is_esx() {
            // A standalone host: its one datacenter and compute resource.
            let root = s.service("rootFolder")?;
            let dcs = children(s, &root)?;
            let (dc_name, _) = dcs
                .iter()
                .find(|(_, r)| r.kind == "Datacenter")
                .ok_or_else(|| Error::new(ErrorKind::Io, "the host shows no datacenter"))?;
            let dc_ref = dcs
                .iter()
                .find(|(n, _)| n == dc_name)
                .map(|(_, r)| r.clone())
                .unwrap_or_else(|| root.clone());
            let hosts = list_under(s, &dc_ref)?;
            let (cr_name, _) = hosts
                .first()
                .ok_or_else(|| Error::new(ErrorKind::Io, "the host shows no compute resource"))?;
            path = vec![dc_name.clone(), "host".into(), cr_name.clone()];
        } else {
            let root = s.service("rootFolder")?;
            let dcs = children(s, &root)?;
            return Err(Error::usage(format!(
                "{shown}: incomplete locator: add a datacenter and host/CLUSTER_OR_HOST; datacenters: {}",
                listing(&dcs)
            )));
        }
    }
    let full: Vec<String> = path.iter().map(|p| path_part(p)).collect();
    let found = s.find_by_path(&full.join("/"))?;
    let Some(obj) = found else {
        // Name what exists at the deepest level that resolves.
        for i in (0..full.len()).rev() {
            let parent = if i == 0 {
                Some(s.service("rootFolder")?)
            } else {
                s.find_by_path(&full[..i].join("/"))?
            };
            if let Some(p) = parent {
                let kids = list_under(s, &p)?;
                let under = if i == 0 {
                    "/".to_string()
                } else {
                    path[..i].join("/")
                };
                return Err(Error::usage(format!(
                    "{shown}: {:?} not found in {under}; it holds: {}",
                    path[i],
                    listing(&kids)
                )));
            }
        }
        return Err(Error::usage(format!("{shown}: not found")));
    };
    let dc_path = full[0].clone();
    let (pool, host, compute) =
        match obj.kind.as_str() {
            "ClusterComputeResource" | "ComputeResource" => {
                let pool = s.refs(&obj, "resourcePool")?.into_iter().next();
                let host = if obj.kind == "ComputeResource" {
                    s.refs(&obj, "host")?.into_iter().next()
                } else {
                    None
                };
                (pool, host, obj.clone())
            }
            "HostSystem" => {
                let parent =
                    s.refs(&obj, "parent")?.into_iter().next().ok_or_else(|| {
                        Error::new(ErrorKind::Io, "host without a compute resource")
                    })?;
                (
                    s.refs(&parent, "resourcePool")?.into_iter().next(),
                    Some(obj.clone()),
                    parent,
                )
            }
            "ResourcePool" | "VirtualApp" => {
                let owner =
                    s.refs(&obj, "owner")?.into_iter().next().ok_or_else(|| {
                        Error::new(ErrorKind::Io, "resource pool without an owner")
                    })?;
                (Some(obj.clone()), None, owner)
            }
            _ => {
                let kids = list_under(s, &obj)?;
                let hint = if obj.kind == "Datacenter" {
                    "add host/ and a cluster or host"
                } else {
                    "add one of what it holds"
                };
                return Err(Error::usage(format!(
                    "{shown}: incomplete locator ({} {}): {hint}: {}",
                    obj.kind,
                    path.join("/"),
                    listing(&kids)
                )));
            }
        };
    let pool = pool.ok_or_else(|| {
        Error::new(
            ErrorKind::Io,
            format!("{shown}: the target has no resource pool"),
        )
    })?;
    // The VM folder.
    let (folder, folder_path) = match &opts.vm_folder {
        Some(f) => {
            let rel: Vec<String> = f
                .split('/')
                .filter(|c| !c.is_empty())
                .map(path_part)
                .collect();
            let p = format!("{dc_path}/vm/{}", rel.join("/"));
            match s.find_by_path(&p)? {
                Some(r) if r.kind == "Folder" => (r, p),
                _ => {
                    let vmf = s.find_by_path(&format!("{dc_path}/vm"))?.ok_or_else(|| {
                        Error::new(ErrorKind::Io, "datacenter without a vm folder")
                    })?;
                    let kids: Vec<(String, MoRef)> = children(s, &vmf)?
                        .into_iter()
                        .filter(|(_, r)| r.kind == "Folder")
                        .collect();
                    return Err(Error::usage(format!(
                        "VM folder {f:?}: no such folder in {dc_path}/vm; folders there: {}",
                        listing(&kids)
                    )));
                }
            }
        }
        None => {
            let p = format!("{dc_path}/vm");
            let r = s
                .find_by_path(&p)?
                .ok_or_else(|| Error::new(ErrorKind::Io, "datacenter without a vm folder"))?;
            (r, p)
        }
    };
    Ok(Placement {
        dc_path,
        pool,
        host,
        compute,
        folder,
        folder_path,
    })
}

/// The named item among `list` (datastores, networks), or a usage error naming what exists.
fn pick(s: &Session, list: &[MoRef], want: &str, what: &str) -> Result<MoRef> {
    let names = names_of(s, list)?;
    names
        .iter()
        .position(|n| n == want)
        .map(|i| list[i].clone())
        .ok_or_else(|| {
            Error::usage(format!(
                "{what} {want:?} not found; the target sees: {}",
                if names.is_empty() {
                    "(none)".to_string()
                } else {
                    names.join(", ")
                }
            ))
        })
}

/// Sends a disk that is not streamOptimized (hosted sparse, flat, raw): spilled to a temporary
/// file (those layouts need random access, as in `import`), opened by content, and converted by
/// the streamOptimized writer on another thread while its output is uploaded. Returns the bytes
/// sent.
fn convert_and_upload(
    s: &Session,
    url: &str,
    name: &str,
    first: Vec<u8>,
    rest: &mut dyn Read,
    opts: &DeployOptions,
) -> Result<u64> {
    use crate::disk::{CopyOptions, SinkOptions};
    use crate::import::pipe::{channel, ChannelWriter};
    use crate::vmdk::stream_writer::StreamOptimizedWriter;
    let mut spill = tempfile::Builder::new()
        .prefix(".ovftool-deploy-")
        .tempfile()
        .map_err(|e| Error::io("cannot create a temporary file", e))?;
    spill
        .write_all(&first)
        .map_err(|e| Error::io("cannot write a temporary file", e))?;
    io::copy(rest, spill.as_file_mut()).map_err(|e| Error::from(e).with_entry(name))?;
    let mut source =
        crate::open_disk(spill.path(), &opts.limits).map_err(|e| e.with_entry(name))?;
    let capacity = source.capacity_bytes();
    let (tx, rx) = channel();
    std::thread::scope(|scope| {
        let conv = scope.spawn(move || -> Result<()> {
            let sink_opts = SinkOptions {
                identity: name.as_bytes().to_vec(),
                ..Default::default()
            };
            let mut sink =
                StreamOptimizedWriter::new(ChannelWriter::new(tx), capacity, name, &sink_opts)?;
            crate::disk::copy(
                source.as_mut(),
                &mut sink,
                &CopyOptions::default(),
                &crate::progress::NoProgress,
            )?;
            sink.finish_into_inner().map(|_| ())
        });
        let mut body = Counted {
            inner: rx,
            bytes: 0,
        };
        let up = s.upload(url, true, None, &mut body);
        let sent = body.bytes;
        // A failed upload drops the reader: the converter's further output is discarded.
        drop(body);
        let converted = conv
            .join()
            .map_err(|_| Error::new(ErrorKind::Io, "disk conversion thread panicked"))?;
        converted.map_err(|e| e.with_entry(name))?;
        up.map_err(|e| e.with_entry(name))?;
        Ok(sent)
    })
}

/// Fails the upload it feeds once the process is interrupted, so that the deploy aborts its
/// lease and removes the VM before the process exits.
struct Interruptible<R>(R);

impl<R: Read> Read for Interruptible<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if crate::output::interrupted() {
            // Not `ErrorKind::Interrupted`: readers retry that one.
            return Err(io::Error::other("interrupted"));
        }
        self.0.read(buf)
    }
}

/// Counts the bytes read through it (the bytes sent to the host).
struct Counted<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Reads the first `n` bytes of `r` (fewer at its end).
fn head(r: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Whether `head` starts a streamOptimized sparse extent (VMDK 5.0 §"Stream-Optimized Compressed
/// Sparse Extents": magic `KDMV`, flags with compressed grains (bit 16) and markers (bit 17)):
/// the only disk format an import lease takes.
fn is_stream_optimized(head: &[u8]) -> bool {
    if head.len() < 12 || &head[..4] != b"KDMV" {
        return false;
    }
    let flags = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
    flags & (1 << 16) != 0 && flags & (1 << 17) != 0
}

/// A disk file of the import spec: the member it comes from and the lease device it goes to.
struct FileItem {
    device_id: String,
    path: String,
}

fn file_items(result: &El) -> Vec<FileItem> {
    result
        .all("fileItem")
        .map(|f| FileItem {
            device_id: f.text_of("deviceId").unwrap_or_default().to_string(),
            path: f.text_of("path").unwrap_or_default().to_string(),
        })
        .collect()
}

/// The `OvfCreateImportSpecParams` (element order as in the WSDL, which real servers enforce).
fn import_params(
    name: &str,
    host: Option<&MoRef>,
    networks: &[(String, MoRef)],
    opts: &DeployOptions,
) -> String {
    let mut p = String::from("<cisp><locale></locale>");
    p.push_str(&el(
        "deploymentOption",
        opts.deployment_option.as_deref().unwrap_or(""),
    ));
    p.push_str(&el("entityName", name));
    if let Some(h) = host {
        p.push_str(&h.xml("hostSystem"));
    }
    for (from, to) in networks {
        p.push_str(&format!(
            "<networkMapping>{}{}</networkMapping>",
            el("name", from),
            to.xml("network")
        ));
    }
    for (k, v) in &opts.properties {
        p.push_str(&format!(
            "<propertyMapping>{}{}</propertyMapping>",
            el("key", k),
            el("value", v)
        ));
    }
    p.push_str(&el("diskProvisioning", opts.provisioning.api_name()));
    p.push_str("</cisp>");
    p
}

/// Connects and logs in.
///
/// # Errors
/// Connection, TLS and login failures.
pub fn login(target: &Target) -> Result<Session> {
    let http = HttpClient::new(target.tls.clone())?;
    let s = Session::connect(http, &target.locator.host_port(), target.https)?;
    let user = target.locator.user.as_deref().ok_or_else(|| {
        Error::usage(format!(
            "{}: no user name (vi://USER@HOST/...)",
            target.locator.display()
        ))
    })?;
    s.login(user, &target.password)?;
    Ok(s)
}

/// Deploys the package at `source` to `target`, choosing how to read it from what `source` is:
/// an `http(s)://` URL is streamed ([`crate::net::open_package_url`], with the target's
/// certificate policy); `-` is an OVA on standard input; a folder (its one `.ovf`) or an `.ovf`
/// is read as a package folder ([`deploy_folder`]); anything else is an OVA file
/// ([`deploy_reader`]).
///
/// # Errors
/// As [`deploy_reader`] and [`deploy_folder`]; [`ErrorKind::Usage`] for a folder with no `.ovf`
/// or with several; [`ErrorKind::Io`] when the source cannot be opened.
///
/// # Security
/// As [`deploy_reader`] and [`deploy_folder`]; messages show a URL source without its
/// `user:password@` part.
pub fn deploy(source: &Path, target: &Target, opts: &DeployOptions) -> Result<DeployReport> {
    let label = crate::net::redact(&source.to_string_lossy());
    if let Some(mut body) = crate::net::open_package_url(source, &target.tls, false, &opts.limits)?
    {
        return deploy_reader(&mut body, &label, target, opts);
    }
    if source == Path::new("-") {
        let stdin = io::stdin();
        let mut lock = stdin.lock();
        return deploy_reader(&mut lock, &label, target, opts);
    }
    if source.is_dir()
        || source
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("ovf"))
    {
        return deploy_folder(&package_descriptor(source)?, target, opts);
    }
    let mut f =
        std::fs::File::open(source).map_err(|e| Error::io("cannot open", e).with_path(source))?;
    deploy_reader(&mut f, &label, target, opts)
}

/// The descriptor of a local package folder (its one `.ovf`), or `src` itself.
fn package_descriptor(src: &Path) -> Result<std::path::PathBuf> {
    if !src.is_dir() {
        return Ok(src.to_path_buf());
    }
    let mut found = Vec::new();
    for e in std::fs::read_dir(src).map_err(|e| Error::io("cannot list", e).with_path(src))? {
        let p = e
            .map_err(|e| Error::io("cannot list", e).with_path(src))?
            .path();
        if p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("ovf")) {
            found.push(p);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::usage("no .ovf descriptor in this folder").with_path(src)),
        n => Err(Error::usage(format!(
            "{n} descriptors in this folder: name the .ovf to deploy"
        ))
        .with_path(src)),
    }
}

/// Deploys the OVA read from `src` to `target`.
///
/// # Errors
/// [`ErrorKind::Usage`] for an incomplete or wrong locator (the message lists what exists), a
/// wrong password, unknown datastore/network/folder, an unaccepted EULA;
/// [`ErrorKind::Verification`] when the package fails verification (the VM is then removed);
/// [`ErrorKind::Io`] for connection, TLS and server failures.
///
/// # Security
/// The password travels only in the `Login` request; names from the package pass the OVA
/// reader's name checks; sizes are bounded by `opts.limits`.
pub fn deploy_reader(
    src: &mut dyn Read,
    label: &str,
    target: &Target,
    opts: &DeployOptions,
) -> Result<DeployReport> {
    let s = login(target)?;
    let r = deploy_session(
        &s,
        Source::Stream(src),
        label,
        target,
        opts,
        progress_of(opts),
    );
    s.logout();
    r
}

/// Deploys the package folder whose descriptor is `ovf` (its files beside it) to `target`: the
/// folder is read as `verify` and `import` read it (the one scan), each file in turn, no
/// temporary copy.
///
/// # Errors
/// As [`deploy_reader`]; [`ErrorKind::Io`] when the descriptor cannot be read.
///
/// # Security
/// As [`deploy_reader`]; file names pass [`crate::gate::resolve_in_dir`], nothing outside the
/// folder is read.
pub fn deploy_folder(ovf: &Path, target: &Target, opts: &DeployOptions) -> Result<DeployReport> {
    let dir = match ovf.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let label = ovf.display().to_string();
    // Before logging in: a descriptor that cannot be opened needs no server.
    std::fs::File::open(ovf).map_err(|e| Error::io("cannot open", e).with_path(ovf))?;
    let s = login(target)?;
    let src = Source::Folder { dir: &dir, ovf };
    let r = deploy_session(&s, src, &label, target, opts, progress_of(opts));
    s.logout();
    r
}

/// Where a deploy reads its package from: both go through the one scan ([`crate::scan`]).
enum Source<'a> {
    /// An OVA (or a package streamed as one), read once, in order.
    Stream(&'a mut dyn Read),
    /// A local package folder and its descriptor.
    Folder { dir: &'a Path, ovf: &'a Path },
}

/// The lease and VM a deploy has made and not yet handed over (completed), for the watchdog.
type Made = std::sync::Mutex<Option<(MoRef, MoRef)>>;

/// [`deploy`] with a watchdog: when the process is interrupted (SIGINT...) while the deploy
/// waits (on its source, the server, a full channel), the watchdog aborts the lease and removes
/// the half-created VM itself; the signal handler waits for it ([`crate::output::RemoteWork`])
/// before the process exits, so nothing is left in the inventory.
fn deploy_session(
    s: &Session,
    src: Source<'_>,
    label: &str,
    target: &Target,
    opts: &DeployOptions,
    progress: &dyn Progress,
) -> Result<DeployReport> {
    let remote = crate::output::RemoteWork::begin();
    let made: Made = std::sync::Mutex::new(None);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(0);
    std::thread::scope(|scope| {
        let made = &made;
        scope.spawn(move || {
            let _remote = remote;
            while let Err(crossbeam_channel::RecvTimeoutError::Timeout) =
                done_rx.recv_timeout(Duration::from_millis(100))
            {
                if crate::output::interrupted() {
                    let pending = made.lock().ok().and_then(|mut m| m.take());
                    if let Some((lease, vm)) = pending {
                        cleanup(s, &lease, Some(&vm));
                    }
                    return;
                }
            }
        });
        let r = deploy_watched(s, src, label, target, opts, progress, made);
        drop(done_tx);
        r
    })
}

fn deploy_watched(
    s: &Session,
    src: Source<'_>,
    label: &str,
    target: &Target,
    opts: &DeployOptions,
    progress: &dyn Progress,
    made: &Made,
) -> Result<DeployReport> {
    let place = resolve(s, &target.locator, opts)?;
    let sent = AtomicU64::new(0);
    let counting = Counting {
        inner: progress,
        sent: &sent,
    };
    let announce = matches!(src, Source::Stream(_));
    // --- One scan: the descriptor (parsed once) creates the VM and its lease, each disk member
    // is sent as it streams by.
    let (pkg, status, done) = std::thread::scope(|scope| {
        let mut sink = Upload::new(s, &place, label, opts, &sent, announce, scope);
        sink.made = Some(made);
        let (pkg, status) = match src {
            Source::Stream(r) => scan::scan_ova(r, None, &opts.limits, &mut sink, &counting),
            Source::Folder { dir, ovf } => {
                scan::scan_dir(dir, ovf, &opts.limits, &mut sink, &counting)
            }
        };
        let (done, fin) = sink.into_outcome();
        (pkg, status.and(fin), done)
    });
    let UploadOutcome {
        created,
        uploads,
        fatal,
        desc_name,
    } = done;
    let Some(created) = created else {
        // Nothing was created: the scan stopped before (or at) the descriptor.
        if let Some(e) = fatal {
            return Err(e);
        }
        if let Some(Err(e)) = pkg.envelope {
            return Err(e.with_entry(desc_name.unwrap_or_default()));
        }
        status?;
        return Err(Error::corrupt("the archive holds no OVF descriptor").with_path(label));
    };
    let Created {
        lease,
        vm,
        name,
        inventory_path,
        mut warnings,
        items,
        urls: _,
    } = created;
    let run = (|| {
        if let Some(e) = fatal {
            return Err(e);
        }
        status?;
        // --- The verdict, before the lease is completed: the scan's package (descriptor and
        // manifest parsed once) judged by the same checks and policy as `verify` and `import`.
        let mut report = Report {
            path: label.into(),
            kind: if pkg.is_ova() {
                crate::verify::PackageKind::Ova
            } else {
                crate::verify::PackageKind::Directory
            },
            ..Default::default()
        };
        verify::check_package(&pkg, None, &opts.policy(), false, &opts.limits, &mut report);
        if !report.passed() {
            let msgs: Vec<String> = report.errors().map(|f| f.message.clone()).collect();
            return Err(Error::verification(format!(
                "the package failed verification; the VM was removed: {}",
                msgs.join("; ")
            ))
            .with_path(label));
        }
        for it in &items {
            if !uploads.iter().any(|u| u.file == it.path) {
                return Err(Error::verification(format!(
                    "{}: the import spec needs this file, the package does not hold it; the VM was removed",
                    it.path
                ))
                .with_path(label));
            }
        }
        lease_call(s, "HttpNfcLeaseProgress", &lease, &el("percent", "100"))?;
        lease_call(s, "HttpNfcLeaseComplete", &lease, "")?;
        Ok(report)
    })();
    // Handed over, or undone just below: the watchdog has nothing left to undo.
    if let Ok(mut m) = made.lock() {
        m.take();
    }
    let report = match run {
        Ok(r) => r,
        Err(e) => {
            cleanup(s, &lease, Some(&vm));
            return Err(e);
        }
    };
    for f in &report.findings {
        if f.severity == Severity::Warning {
            warnings.push(SpecNote {
                code: f.code.to_string(),
                severity: f.severity,
                subject: f.entry.clone(),
                message: f.message.clone(),
            });
        }
    }
    let mut powered_on = false;
    if opts.power_on {
        let task = MoRef::from_el(&s.call("PowerOnVM_Task", &vm, "")?)
            .ok_or_else(|| Error::new(ErrorKind::Io, "PowerOnVM_Task returned no task"))?;
        s.wait_task(&task, "power on")?;
        powered_on = true;
    }
    let _ = &place.dc_path;
    Ok(DeployReport {
        name,
        vm,
        inventory_path,
        server: target.locator.host_port(),
        disks: uploads,
        powered_on,
        warnings,
        verification: report,
    })
}

/// What the descriptor made on the server: the VM, its import lease (ready), and which package
/// file goes to which lease device.
struct Created {
    lease: MoRef,
    vm: MoRef,
    name: String,
    inventory_path: String,
    /// Import spec warnings.
    warnings: Vec<SpecNote>,
    items: Vec<FileItem>,
    /// The lease's device URLs, `(importKey, url)`.
    urls: Vec<(String, String)>,
}

/// From the parsed descriptor to a ready lease: the options checked against it, the name
/// free, the datastore and networks picked, `CreateImportSpec`, `ImportVApp`. A lease that
/// never becomes ready is aborted here.
fn create(
    s: &Session,
    place: &Placement,
    env: &Envelope,
    desc: &[u8],
    desc_name: &str,
    opts: &DeployOptions,
) -> Result<Created> {
    let systems = env.virtual_systems();
    crate::import::require_eula_acceptance(&systems, opts.accept_all_eulas)?;
    if let Some(want) = &opts.deployment_option {
        let ids: Vec<String> = env.deployment_options().into_iter().map(|o| o.id).collect();
        if !ids.contains(want) {
            return Err(Error::usage(format!(
                "deployment option {want:?}: the package offers {}",
                if ids.is_empty() {
                    "none".to_string()
                } else {
                    ids.join(", ")
                }
            )));
        }
    }
    let name = match &opts.name {
        Some(n) => n.clone(),
        None => systems
            .first()
            .map(|v| {
                v.name
                    .as_ref()
                    .map(|m| m.text.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| v.id.clone())
            })
            .unwrap_or_else(|| "vm".into()),
    };
    if name.is_empty() || name.len() > 80 {
        return Err(Error::usage(format!(
            "VM name {name:?}: expected 1 to 80 characters"
        )));
    }
    let inventory_path = format!("{}/{}", place.folder_path, path_part(&name));
    if s.find_by_path(&inventory_path)?.is_some() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "a VM or folder named {name:?} already exists in {}",
                place.folder_path
            ),
        ));
    }
    // --- Datastore and networks, as the target sees them.
    let ds_list = s.refs(&place.compute, "datastore")?;
    let datastore = match &opts.datastore {
        Some(d) => pick(s, &ds_list, d, "datastore")?,
        None if ds_list.len() == 1 => ds_list[0].clone(),
        None => {
            return Err(Error::usage(format!(
                "a datastore must be chosen: the target sees {}",
                names_of(s, &ds_list)?.join(", ")
            )))
        }
    };
    let net_list = s.refs(&place.compute, "network")?;
    let net_names = names_of(s, &net_list)?;
    let ovf_nets: Vec<String> = env.networks().into_iter().map(|n| n.name).collect();
    let mut mapping: Vec<(String, MoRef)> = Vec::new();
    for (from, to) in &opts.networks {
        if !ovf_nets.iter().any(|n| n == from) {
            return Err(Error::usage(format!(
                "network mapping {from}={to}: the package has no network {from:?}; its networks: {}",
                ovf_nets.join(", ")
            )));
        }
        mapping.push((from.clone(), pick(s, &net_list, to, "network")?));
    }
    // OVF networks not mapped go to the port group of the same name, when there is one.
    for n in &ovf_nets {
        if !mapping.iter().any(|(f, _)| f == n) {
            if let Some(i) = net_names.iter().position(|t| t == n) {
                mapping.push((n.clone(), net_list[i].clone()));
            }
        }
    }
    // --- CreateImportSpec.
    let desc_text = std::str::from_utf8(desc)
        .map_err(|_| Error::invalid_ovf("the descriptor is not UTF-8").with_entry(desc_name))?;
    let ovf_manager = s.service("ovfManager")?;
    let args = format!(
        "{}{}{}{}",
        el("ovfDescriptor", desc_text),
        place.pool.xml("resourcePool"),
        datastore.xml("datastore"),
        import_params(&name, place.host.as_ref(), &mapping, opts)
    );
    let spec_result = s.call("CreateImportSpec", &ovf_manager, &args)?;
    let (warnings, spec_errors) = import_spec::judge(&spec_result, opts.lax);
    if !spec_errors.is_empty() {
        return Err(import_spec::refusal(&spec_errors, opts.lax));
    }
    let spec = spec_result
        .child("importSpec")
        .ok_or_else(|| Error::new(ErrorKind::Io, "CreateImportSpec returned no import spec"))?;
    let items = file_items(&spec_result);
    // --- ImportVApp.
    let mut spec_xml = String::new();
    spec.renamed("spec").write(&mut spec_xml);
    let mut args = spec_xml;
    args.push_str(&place.folder.xml("folder"));
    if let Some(h) = &place.host {
        args.push_str(&h.xml("host"));
    }
    let lease = MoRef::from_el(&s.call("ImportVApp", &place.pool, &args)?)
        .ok_or_else(|| Error::new(ErrorKind::Io, "ImportVApp returned no lease"))?;
    let info = match wait_lease(s, &lease) {
        Ok(i) => i,
        Err(e) => {
            // The lease never became ready: vSphere removes what it created with it.
            cleanup(s, &lease, None);
            return Err(e);
        }
    };
    let Some(vm) = info.child("entity").and_then(MoRef::from_el) else {
        cleanup(s, &lease, None);
        return Err(Error::new(ErrorKind::Io, "the lease names no VM"));
    };
    let urls = info
        .all("deviceUrl")
        .map(|d| {
            (
                d.text_of("importKey").unwrap_or_default().to_string(),
                d.text_of("url").unwrap_or_default().to_string(),
            )
        })
        .collect();
    Ok(Created {
        lease,
        vm,
        name,
        inventory_path,
        warnings,
        items,
        urls,
    })
}

fn lease_call(s: &Session, method: &str, lease: &MoRef, args: &str) -> Result<()> {
    s.call(method, lease, args).map(|_| ())
}

/// Waits until the lease is `ready`; returns its `info`.
fn wait_lease(s: &Session, lease: &MoRef) -> Result<El> {
    let mut delay = Duration::from_millis(50);
    for _ in 0..600 {
        if crate::output::interrupted() {
            return Err(Error::new(ErrorKind::Io, "interrupted"));
        }
        let props = s.properties(lease, &["state", "info", "error"])?;
        let get = |n: &str| props.iter().find(|(k, _)| k == n).map(|(_, v)| v);
        match get("state").map(|v| v.text.trim()) {
            Some("ready") => {
                return get("info")
                    .cloned()
                    .ok_or_else(|| Error::new(ErrorKind::Io, "the lease has no info"));
            }
            Some("error") => {
                let msg = get("error")
                    .and_then(|e| e.text_of("localizedMessage"))
                    .unwrap_or("failed")
                    .to_string();
                return Err(Error::new(ErrorKind::Io, format!("import lease: {msg}")));
            }
            _ => {}
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_secs(1));
    }
    Err(Error::new(ErrorKind::Io, "import lease: not ready in time"))
}

/// Aborts the lease and destroys the VM it created (a real vCenter removes it on abort; the
/// destroy then finds nothing, which is fine).
fn cleanup(s: &Session, lease: &MoRef, vm: Option<&MoRef>) {
    let _ = s.call_raw("HttpNfcLeaseAbort", lease, "");
    if let Some(vm) = vm {
        if let Ok(Ok(t)) = s.call_raw("Destroy_Task", vm, "") {
            if let Some(task) = MoRef::from_el(&t) {
                let _ = s.wait_task(&task, "remove the VM");
            }
        }
    }
}

/// Which `References` file a package member holds: `(index, chunk index)` for a plain `href`
/// (chunk 0) or a chunk `href.NNNNNNNNN` of a file with `ovf:chunkSize`.
fn member_target(refs: &[FileRef], name: &str) -> Option<(usize, u64)> {
    refs.iter().enumerate().find_map(|(i, f)| {
        if f.chunk_size.is_none() {
            return (f.href == name).then_some((i, 0));
        }
        let digits = name.strip_prefix(f.href.as_str())?.strip_prefix('.')?;
        (digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse().ok().map(|n| (i, n)))
            .flatten()
    })
}

/// An upload in flight: the file (index in the References) whose members feed it, the next
/// chunk it takes, and its thread.
struct InFlight<'s> {
    file: usize,
    next_chunk: u64,
    /// The upload's input: once its thread has stopped (the upload failed), writing fails
    /// with `BrokenPipe`, so the pass stops at once.
    writer: crate::channel::ChannelWriter,
    handle: std::thread::ScopedJoinHandle<'s, Result<UploadReport>>,
}

impl InFlight<'_> {
    /// Ends the upload's input and waits for the server's answer.
    fn finish(self) -> Result<UploadReport> {
        drop(self.writer);
        self.handle
            .join()
            .map_err(|_| Error::new(ErrorKind::Io, "upload thread panicked"))?
    }
}

/// Counts the bytes read (for `HttpNfcLeaseProgress`) on the way to the progress bar.
struct Counting<'a> {
    inner: &'a dyn Progress,
    sent: &'a AtomicU64,
}

impl Progress for Counting<'_> {
    fn start(&self, label: &str, total: Option<u64>) {
        self.inner.start(label, total);
    }

    fn advance(&self, delta: u64) {
        self.sent.fetch_add(delta, Ordering::Relaxed);
        self.inner.advance(delta);
    }

    fn finish(&self) {
        self.inner.finish();
    }
}

/// What an upload thread sends, and how.
struct UploadJob {
    url: String,
    file: String,
    device: String,
    is_disk: bool,
    gzip: bool,
    /// `Content-Length` when known up front (one plain member).
    len: Option<u64>,
}

/// The upload thread: the file's bytes (its members joined, as the pass reads them) arrive
/// through `rx`; gzip is undone here; a streamOptimized disk or another file passes through, a
/// disk in another layout is converted on the way.
fn upload_file(
    s: &Session,
    job: &UploadJob,
    rx: crate::import::pipe::ChannelReader,
    opts: &DeployOptions,
) -> Result<UploadReport> {
    let name = job.file.as_str();
    let rx = Interruptible(rx);
    let (mut plain, first): (Box<dyn Read + Send>, Vec<u8>) = if job.gzip {
        let (first, gz) = GunzipCapped::image(rx, None, &opts.limits, name)?;
        (Box::new(gz), first)
    } else {
        let mut rx = rx;
        let first = head(&mut rx, 512).map_err(|e| Error::from(e).with_entry(name))?;
        (Box::new(rx), first)
    };
    let bytes_sent = if job.is_disk && !is_stream_optimized(&first) {
        // Any other layout goes through the disk pipeline into the streamOptimized writer,
        // whose output is sent as it is made.
        convert_and_upload(s, &job.url, name, first, &mut plain, opts)?
    } else {
        let mut body = Counted {
            inner: io::Cursor::new(first).chain(plain),
            bytes: 0,
        };
        s.upload(&job.url, job.is_disk, job.len, &mut body)
            .map_err(|e| e.with_entry(name))?;
        body.bytes
    };
    Ok(UploadReport {
        file: job.file.clone(),
        device: job.device.clone(),
        bytes_sent,
    })
}

/// Deploy's [`MemberSink`] ("upload", the remote target of the one scan): the descriptor, parsed
/// once by the scan, creates the VM and its import lease ([`create`]); then each member of a
/// file the import spec asks for is hashed on the scan's thread while an upload thread sends it
/// to the file's device URL (the ring's buffers handed over as they are, chunks joined, gzip
/// undone); other members are only hashed. The scan's [`Package`] is then judged as `verify`
/// judges it.
struct Upload<'s, 'e> {
    s: &'e Session,
    place: &'e Placement,
    label: &'e str,
    opts: &'e DeployOptions,
    /// Bytes read so far, for `HttpNfcLeaseProgress`.
    sent: &'e AtomicU64,
    /// Start and finish a progress bar per member (the folder scan does it itself).
    announce: bool,
    scope: &'s std::thread::Scope<'s, 'e>,
    /// The first descriptor's bytes (the import spec is made of them).
    desc: Option<(String, Vec<u8>)>,
    created: Option<Created>,
    /// The package's References and which of them are disks (from the parsed descriptor).
    refs: Vec<FileRef>,
    disk_files: Vec<String>,
    active: Option<InFlight<'s>>,
    uploads: Vec<UploadReport>,
    /// Stops the lease-progress thread when dropped.
    stop: Option<crossbeam_channel::Sender<()>>,
    /// What ends the deploy before any verdict (options the descriptor refuses, a server
    /// failure, a member before the descriptor); the scan is stopped with a stand-in error.
    fatal: Option<Error>,
    /// Where the lease and VM are published for the interruption watchdog.
    made: Option<&'e Made>,
}

/// What is left of an [`Upload`] once the scan is over.
struct UploadOutcome {
    created: Option<Created>,
    uploads: Vec<UploadReport>,
    fatal: Option<Error>,
    desc_name: Option<String>,
}

impl<'s, 'e> Upload<'s, 'e> {
    fn new(
        s: &'e Session,
        place: &'e Placement,
        label: &'e str,
        opts: &'e DeployOptions,
        sent: &'e AtomicU64,
        announce: bool,
        scope: &'s std::thread::Scope<'s, 'e>,
    ) -> Self {
        Upload {
            s,
            place,
            label,
            opts,
            sent,
            announce,
            scope,
            desc: None,
            created: None,
            refs: Vec::new(),
            disk_files: Vec::new(),
            active: None,
            uploads: Vec::new(),
            stop: None,
            fatal: None,
            made: None,
        }
    }

    /// Ends the scan with `e` as the deploy's error.
    fn stop(&mut self, e: Error) -> Error {
        self.fatal = Some(e);
        Error::usage("deploy stopped")
    }

    /// A member before the descriptor: a deploy streams the package once, so the descriptor
    /// must come first (as ovftool insists).
    fn refuse_early(&mut self, name: &str) -> Error {
        let e = Error::verification(format!(
            "the first entry is {name}; the descriptor must come first (a deploy streams the package once)"
        ))
        .with_entry(name)
        .with_path(self.label);
        self.stop(e)
    }

    /// Ends the upload in flight, if any, and records what the server took.
    fn finish_active(&mut self) -> Result<()> {
        if let Some(a) = self.active.take() {
            self.uploads.push(a.finish()?);
        }
        Ok(())
    }

    /// Finishes the upload in flight and stops the lease-progress thread.
    fn into_outcome(mut self) -> (UploadOutcome, Result<()>) {
        let fin = self.finish_active();
        drop(self.stop.take());
        (
            UploadOutcome {
                created: self.created,
                uploads: self.uploads,
                fatal: self.fatal,
                desc_name: self.desc.map(|(n, _)| n),
            },
            fin,
        )
    }

    /// `HttpNfcLeaseProgress` every few seconds while uploading: the lease expires without it.
    fn report_lease_progress(&mut self, lease: MoRef) {
        let total: u64 = self.refs.iter().filter_map(|r| r.size).sum::<u64>().max(1);
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        self.stop = Some(stop_tx);
        let (s, sent) = (self.s, self.sent);
        self.scope.spawn(move || loop {
            let pct = (sent.load(Ordering::Relaxed).saturating_mul(100) / total).min(99);
            tracing::debug!(percent = pct, "import lease progress");
            let _ = s.call_raw(
                "HttpNfcLeaseProgress",
                &lease,
                &el("percent", &pct.to_string()),
            );
            match stop_rx.recv_timeout(LEASE_PROGRESS_EVERY) {
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                _ => break,
            }
        });
    }

    /// Starts the upload of the file `name` is the first member of, when the import spec asks
    /// for it.
    fn start_upload(&mut self, name: &str, size: u64, target: Option<(usize, u64)>) -> Result<()> {
        let (Some(created), Some((fi, ci))) = (&self.created, target) else {
            return Ok(());
        };
        let f = &self.refs[fi];
        let Some(item) = created.items.iter().find(|i| i.path == f.href) else {
            return Ok(());
        };
        let Some(url) = created
            .urls
            .iter()
            .find(|(k, _)| *k == item.device_id)
            .map(|(_, u)| u.clone())
        else {
            return Ok(());
        };
        if ci != 0 {
            return Err(
                Error::corrupt(format!("chunk {name} comes without the chunks before it"))
                    .with_entry(name),
            );
        }
        if self.uploads.iter().any(|u| u.file == f.href) {
            return Err(Error::corrupt(format!("{name} appears twice")).with_entry(name));
        }
        let gzip = f
            .compression
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("gzip"));
        let job = UploadJob {
            url,
            file: f.href.clone(),
            device: item.device_id.clone(),
            is_disk: self.disk_files.contains(&f.id),
            gzip,
            len: (!gzip && f.chunk_size.is_none()).then_some(size),
        };
        let (tx, rx) = crate::import::pipe::channel();
        let (s, opts) = (self.s, self.opts);
        let handle = self.scope.spawn(move || upload_file(s, &job, rx, opts));
        self.active = Some(InFlight {
            file: fi,
            next_chunk: 0,
            writer: tx,
            handle,
        });
        Ok(())
    }
}

impl MemberSink for Upload<'_, '_> {
    fn small(&mut self, name: &str, data: &[u8]) -> Result<()> {
        // An upload's input ends at the first member that is not its next chunk.
        self.finish_active()?;
        if self.desc.is_none() {
            if names::role(name) != Role::Descriptor {
                return Err(self.refuse_early(name));
            }
            self.desc = Some((name.to_string(), data.to_vec()));
        }
        Ok(())
    }

    fn descriptor(
        &mut self,
        name: &str,
        parsed: std::result::Result<&Envelope, &Error>,
    ) -> Result<()> {
        // A descriptor that does not parse: the deploy returns the parse error itself.
        let Ok(env) = parsed else {
            return Err(Error::usage("the descriptor cannot be read"));
        };
        let desc = self
            .desc
            .as_ref()
            .map(|(_, d)| d.as_slice())
            .unwrap_or_default();
        match create(self.s, self.place, env, desc, name, self.opts) {
            Ok(c) => {
                self.refs = env.references();
                self.disk_files = env.disks().into_iter().filter_map(|d| d.file_ref).collect();
                let lease = c.lease.clone();
                if let Some(Ok(mut m)) = self.made.map(|m| m.lock()) {
                    *m = Some((c.lease.clone(), c.vm.clone()));
                }
                self.created = Some(c);
                self.report_lease_progress(lease);
                Ok(())
            }
            Err(e) => Err(self.stop(e)),
        }
    }

    fn data(
        &mut self,
        member: &mut DataMember<'_>,
        opts: &HashOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult> {
        let (name, size) = (member.name, member.size);
        if self.created.is_none() {
            return Err(self.refuse_early(name));
        }
        let target = member_target(&self.refs, name);
        let continues = matches!((&self.active, target),
            (Some(a), Some((fi, ci))) if a.file == fi && a.next_chunk == ci);
        if !continues {
            self.finish_active()?;
            self.start_upload(name, size, target)?;
        }
        if self.announce {
            progress.start(name, Some(size));
        }
        // The ring's buffers go to the upload thread as they are (no copy).
        let res = match self.active.as_mut() {
            Some(a) => {
                a.next_chunk += 1;
                copy_hashing_to_channel(member.reader(), &mut a.writer, opts, progress)
            }
            None => copy_hashing(member.reader(), None, opts, progress),
        };
        if self.announce {
            progress.finish();
        }
        match res {
            Ok(r) => Ok(r),
            Err(e) => {
                // The upload's own failure explains a broken channel best.
                if let Some(a) = self.active.take() {
                    a.finish()?;
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_deploys_its_one_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let e = package_descriptor(dir.path()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(
            e.to_string().contains("no .ovf descriptor in this folder"),
            "{e}"
        );
        std::fs::write(dir.path().join("a.OVF"), b"").unwrap();
        std::fs::write(dir.path().join("a.mf"), b"").unwrap();
        assert_eq!(
            package_descriptor(dir.path()).unwrap(),
            dir.path().join("a.OVF")
        );
        std::fs::write(dir.path().join("b.ovf"), b"").unwrap();
        let e = package_descriptor(dir.path()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(
            e.to_string()
                .contains("2 descriptors in this folder: name the .ovf to deploy"),
            "{e}"
        );
        let ovf = dir.path().join("b.ovf");
        assert_eq!(package_descriptor(&ovf).unwrap(), ovf);
    }

    #[test]
    fn stream_optimized_is_recognized_by_its_header_flags() {
        let mut h = vec![0u8; 512];
        h[..4].copy_from_slice(b"KDMV");
        assert!(!is_stream_optimized(&h));
        h[8..12].copy_from_slice(&(3u32 << 16).to_le_bytes());
        assert!(is_stream_optimized(&h));
        assert!(!is_stream_optimized(b"# Disk DescriptorFile"));
    }

    #[test]
    fn provisioning_from_layouts() {
        assert_eq!(
            Provisioning::from_layout(Layout::EagerZeroedThick)
                .unwrap()
                .api_name(),
            "eagerZeroedThick"
        );
        assert!(Provisioning::from_layout(Layout::StreamOptimized).is_err());
    }
}
