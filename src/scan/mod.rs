//! The one scan over a package: an OVA stream, an OVA file read in place, or a package folder.
//!
//! Every command that reads a package's members (`verify`, `unpack`, `import`, the vSphere
//! deploy) goes through [`scan_ova`] or [`scan_dir`]: members are named and bounded the same way,
//! hashed with the same algorithms (the manifest's once it is known, SHA-1 + SHA-256 in a stream
//! before that), keep the same leading bytes for the disk header check ([`PREFIX_BYTES`]), and
//! the descriptor and each manifest are parsed exactly once, into the [`Package`] the verdict
//! ([`crate::verify`]), the import planner and the deploy then read. What a command does with a
//! member's bytes is its [`MemberSink`]: hash only (verify), extract (unpack), convert (import),
//! upload (`vsphere::deploy`), index and leave unread (`transform`, which then copies members in
//! its output's order; its head comes from [`scan_ova_head`] or [`scan_dir_head`] when the rest
//! is read later).

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::digest::{copy_hashing, Algorithm, CopyResult, Digests, HashOptions};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::manifest::Manifest;
use crate::ova::names::{self, Role};
use crate::ova::Reader;
use crate::ovf::{Envelope, ParseOptions};
use crate::progress::Progress;

/// Leading bytes of each data member kept for the disk header check (enough for a gzip-wrapped
/// VMDK header and its embedded descriptor).
pub(crate) const PREFIX_BYTES: usize = 256 << 10;

/// Members at least this large in an OVA file are hashed in place
/// ([`crate::range_copy::hash_range`]) or extracted by a kernel copy out of the archive.
const DIRECT_MIN: u64 = 1 << 20;

/// Digests computed over small members (descriptor, manifest, certificate): every algorithm a
/// manifest may use, since the manifest may come after them.
const SMALL_ALGORITHMS: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

/// Reads a whole small member (descriptor, manifest, certificate) of `size` bytes, refusing one
/// over `limit` before allocating.
///
/// # Errors
/// [`crate::ErrorKind::LimitExceeded`] over `limit`, [`crate::ErrorKind::Corrupt`] when
/// fewer than `size` bytes come, read errors; all naming `name` as the entry.
pub(crate) fn read_small(src: &mut dyn Read, size: u64, limit: u64, name: &str) -> Result<Vec<u8>> {
    if size > limit {
        return Err(Error::limit(&format!("size of {name}"), size, limit).with_entry(name));
    }
    let mut data = Vec::with_capacity(size as usize);
    src.take(size)
        .read_to_end(&mut data)
        .map_err(|e| Error::from(e).with_entry(name))?;
    if data.len() as u64 != size {
        return Err(
            Error::corrupt(format!("expected {size} bytes, found {}", data.len())).with_entry(name),
        );
    }
    Ok(data)
}

/// The size cap of a small member by its role.
fn small_limit(role: Role, limits: &Limits) -> u64 {
    if role == Role::Descriptor {
        limits.max_descriptor_bytes
    } else {
        limits.max_manifest_bytes
    }
}

/// A member as the scan saw it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub name: String,
    pub size: u64,
    pub digests: Digests,
    pub prefix: Vec<u8>,
    /// Offset of the data in the archive (OVA) for re-reading.
    pub data_offset: Option<u64>,
    /// Full content for descriptor, manifest and certificate.
    pub content: Option<Vec<u8>>,
}

impl Member {
    /// A small member read whole.
    pub(crate) fn small(name: &str, data: Vec<u8>, data_offset: Option<u64>) -> Member {
        Member {
            name: name.to_string(),
            size: data.len() as u64,
            digests: Digests::of(&data, &SMALL_ALGORITHMS),
            prefix: Vec::new(),
            data_offset,
            content: Some(data),
        }
    }
}

/// Where a package's members were read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An OVA read once, in order (a pipe, standard input, or a file read as a stream).
    #[default]
    OvaStream,
    /// An OVA in a regular file: large members are read in place.
    OvaFile,
    /// A folder holding the descriptor and its files (a folder, or a lone `.ovf`).
    Folder,
}

/// A package as one scan read it: its members in order, the descriptor parsed once, each
/// manifest parsed once.
#[derive(Debug, Default)]
pub(crate) struct Package {
    pub kind: Kind,
    pub members: Vec<Member>,
    /// The folder of a folder package (members are files in it).
    pub dir: Option<PathBuf>,
    /// The first descriptor member, parsed (`None`: no descriptor was read).
    pub envelope: Option<Result<Envelope>>,
    /// Every manifest member, parsed, by member name.
    pub manifests: Vec<(String, Result<Manifest>)>,
}

impl Package {
    /// A package of the given kind, nothing read yet.
    pub(crate) fn new(kind: Kind) -> Package {
        Package {
            kind,
            ..Package::default()
        }
    }

    /// Whether the package is an OVA (member order matters).
    pub(crate) fn is_ova(&self) -> bool {
        self.kind != Kind::Folder
    }

    /// The member called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The first member with `role`.
    pub(crate) fn first(&self, role: Role) -> Option<&Member> {
        self.members.iter().find(|m| names::role(&m.name) == role)
    }

    /// The manifest member `name`, parsed.
    pub(crate) fn manifest(&self, name: &str) -> Option<&Result<Manifest>> {
        self.manifests
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m)
    }

    /// Records a small member, parsing it when it is the first descriptor or a manifest.
    fn add_small(&mut self, name: &str, data: Vec<u8>, data_offset: Option<u64>, limits: &Limits) {
        match names::role(name) {
            Role::Descriptor if self.envelope.is_none() => {
                self.envelope = Some(parse_descriptor(&data, limits));
            }
            Role::Manifest => {
                let m = Manifest::parse(&data, limits);
                self.manifests.push((name.to_string(), m));
            }
            _ => {}
        }
        self.members.push(Member::small(name, data, data_offset));
    }

    /// The hash algorithms of the first manifest that lists something.
    fn manifest_algorithms(&self) -> Option<Vec<Algorithm>> {
        self.manifests.iter().find_map(|(_, m)| {
            m.as_ref()
                .ok()
                .filter(|m| !m.entries.is_empty())
                .map(Manifest::algorithms)
        })
    }
}

/// Parses a package descriptor: the one place a scanned descriptor becomes an [`Envelope`].
fn parse_descriptor(bytes: &[u8], limits: &Limits) -> Result<Envelope> {
    Envelope::parse_with(bytes, &ParseOptions { limits: *limits })
}

/// A data member handed to a [`MemberSink`]: a [`Read`] over its bytes and, when the bytes lie
/// in a regular file, their place in it.
pub(crate) struct DataMember<'a> {
    /// The member's name.
    pub name: &'a str,
    /// Its size in bytes.
    pub size: u64,
    reader: &'a mut dyn Read,
    /// Where the bytes lie in the regular file the scan reads, whatever their size.
    location: Option<(&'a File, u64)>,
    /// The same, for members large enough to be read in place.
    in_place: Option<(&'a File, u64)>,
    used_in_place: bool,
}

impl DataMember<'_> {
    /// The member's bytes as a stream.
    pub(crate) fn reader(&mut self) -> &mut dyn Read {
        &mut *self.reader
    }

    /// The file and offset the member's bytes lie at, when they can be read in place; the sink
    /// then reads them positionally (and not through [`Self::reader`]).
    pub(crate) fn in_place(&mut self) -> Option<(&File, u64)> {
        let place = self.in_place;
        self.used_in_place |= place.is_some();
        place
    }

    /// Leaves the member unread (a sink that only indexes members: `transform`): when its bytes
    /// lie in the regular file the scan reads, the scan moves past them with a seek; otherwise
    /// they are read and dropped. Nothing is hashed.
    pub(crate) fn skip(&mut self) -> Result<CopyResult> {
        if self.location.is_some() {
            self.used_in_place = true;
        } else {
            let n = std::io::copy(self.reader, &mut std::io::sink())
                .map_err(|e| Error::from(e).with_entry(self.name))?;
            if n != self.size {
                return Err(
                    Error::corrupt(format!("expected {} bytes, found {n}", self.size))
                        .with_entry(self.name),
                );
            }
        }
        Ok(CopyResult {
            bytes: self.size,
            ..CopyResult::default()
        })
    }

    /// Hashes the member: in place (holes without reading) when it can, else by reading it.
    pub(crate) fn hash(
        &mut self,
        opts: &HashOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult> {
        let size = self.size;
        match self.in_place() {
            Some((f, off)) => crate::range_copy::hash_range(f, off, size, opts, progress),
            None => copy_hashing(self.reader(), None, opts, progress),
        }
    }

    /// Copies the member into `out` (a new, empty file), hashing it: a kernel copy out of the
    /// file it lies in when it can, else by reading it.
    pub(crate) fn copy_to(
        &mut self,
        out: &mut File,
        opts: &HashOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult> {
        let size = self.size;
        match self.in_place() {
            Some((f, off)) => {
                crate::range_copy::copy_range_hashing(f, off, out, 0, size, opts, progress)
            }
            None => copy_hashing(
                self.reader(),
                Some(out as &mut (dyn Write + Send)),
                opts,
                progress,
            ),
        }
    }
}

/// What a command does with each member of a package as the scan reads it.
pub(crate) trait MemberSink {
    /// A small member (descriptor, manifest, certificate), read whole.
    ///
    /// # Errors
    /// Ends the scan.
    fn small(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let _ = (name, data);
        Ok(())
    }

    /// The package's descriptor (the first one), right after [`Self::small`] for it, parsed.
    ///
    /// # Errors
    /// Ends the scan.
    fn descriptor(
        &mut self,
        name: &str,
        parsed: std::result::Result<&Envelope, &Error>,
    ) -> Result<()> {
        let _ = (name, parsed);
        Ok(())
    }

    /// A data member: consume it, hashing with `opts`, and say what was read.
    ///
    /// # Errors
    /// Ends the scan.
    fn data(
        &mut self,
        member: &mut DataMember<'_>,
        opts: &HashOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult>;
}

/// `verify`'s sink: hash only.
pub(crate) struct HashOnly;

impl MemberSink for HashOnly {
    fn data(
        &mut self,
        member: &mut DataMember<'_>,
        opts: &HashOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult> {
        member.hash(opts, progress)
    }
}

/// `transform`'s sink: members are indexed (name, offset, size, in [`Package::members`]) and
/// left unread, to be copied later in the output's order (by the kernel, out of an OVA file).
pub(crate) struct Index;

impl MemberSink for Index {
    fn data(
        &mut self,
        member: &mut DataMember<'_>,
        _opts: &HashOptions,
        _progress: &dyn Progress,
    ) -> Result<CopyResult> {
        member.skip()
    }
}

/// `unpack`'s sink: every member becomes a file in `dir` (a folder the caller owns, e.g. a
/// [`crate::output::PendingDir`]).
pub(crate) struct Extract<'a> {
    pub dir: &'a Path,
}

impl MemberSink for Extract<'_> {
    fn small(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let mut f = crate::output::create_in(self.dir, name)?;
        f.write_all(data)
            .map_err(|e| Error::io("cannot write", e).with_entry(name))
    }

    fn data(
        &mut self,
        member: &mut DataMember<'_>,
        opts: &HashOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult> {
        let mut out = crate::output::create_in(self.dir, member.name)?;
        member.copy_to(&mut out, opts, progress)
    }
}

/// One pass over an OVA: every member is named and bounded by [`Reader`], small members are
/// read whole (the first descriptor and every manifest parsed once), data members are hashed
/// and handed to `sink`. The first error (structure, truncation, a sink's) ends the pass and is
/// returned beside what was read until then.
///
/// `archive`, when given, is the regular file `src` reads (from offset 0, through the same file
/// cursor, no buffering in between): large members can then be read in place
/// ([`DataMember::in_place`]), after which the cursor is moved past them with a seek.
pub(crate) fn scan_ova(
    src: &mut dyn Read,
    archive: Option<&File>,
    limits: &Limits,
    sink: &mut dyn MemberSink,
    progress: &dyn Progress,
) -> (Package, Result<()>) {
    let archive_len = archive.and_then(|f| f.metadata().ok()).map(|m| m.len());
    let mut pkg = Package::new(if archive.is_some() {
        Kind::OvaFile
    } else {
        Kind::OvaStream
    });
    let mut reader = Reader::new(src, *limits);
    loop {
        let mut entry = match reader.next_entry() {
            Ok(Some(e)) => e,
            Ok(None) => return (pkg, Ok(())),
            Err(e) => return (pkg, Err(e)),
        };
        let h = entry.header().clone();
        let role = names::role(&h.name);
        let result: Result<()> = (|| {
            if role != Role::File {
                let data = read_small(&mut entry, h.size, small_limit(role, limits), &h.name)?;
                progress.advance(h.size);
                return small_member(&mut pkg, sink, &h.name, data, Some(h.data_offset), limits);
            }
            let opts = hash_options(&pkg, h.size, vec![Algorithm::Sha1, Algorithm::Sha256]);
            let in_file = archive_len.is_some_and(|len| {
                h.data_offset
                    .checked_add(h.size)
                    .is_some_and(|end| end <= len)
            });
            let location = archive.filter(|_| in_file).map(|f| (f, h.data_offset));
            let in_place = location.filter(|_| h.size >= DIRECT_MIN);
            let mut member = DataMember {
                name: &h.name,
                size: h.size,
                reader: &mut entry,
                location,
                in_place,
                used_in_place: false,
            };
            let r = sink.data(&mut member, &opts, progress);
            let used_in_place = member.used_in_place;
            let r = r?;
            if let (true, Some(arch)) = (used_in_place, archive) {
                // Read in place: move the shared file offset (which hole lookups moved too)
                // past the member and tell the reader.
                let mut cursor = arch;
                cursor
                    .seek(std::io::SeekFrom::Start(h.data_offset + h.size))
                    .map_err(|e| Error::io("cannot seek", e))?;
                entry.skip_consumed(h.size)?;
            }
            pkg.members.push(Member {
                name: h.name.clone(),
                size: r.bytes,
                digests: r.digests,
                prefix: r.prefix,
                data_offset: Some(h.data_offset),
                content: None,
            });
            Ok(())
        })();
        if let Err(e) = result {
            return (pkg, Err(e.with_entry(&h.name)));
        }
    }
}

/// Reads the leading small members of an OVA stream (descriptor, manifest, certificate) into
/// `pkg` as [`scan_ova`] reads them (bounded, the first descriptor and each manifest parsed
/// once), up to the first data member, whose header is returned with nothing of it read (a
/// caller then reads the rest of the stream in its own order: `transform`), or the end.
///
/// # Errors
/// Archive structure errors, small members over `limits`.
pub(crate) fn scan_ova_head<R: Read>(
    reader: &mut Reader<R>,
    pkg: &mut Package,
    limits: &Limits,
) -> Result<Option<crate::ova::reader::EntryHeader>> {
    while let Some(mut entry) = reader.next_entry()? {
        let h = entry.header().clone();
        let role = names::role(&h.name);
        if role == Role::File {
            return Ok(Some(h));
        }
        let data = read_small(&mut entry, h.size, small_limit(role, limits), &h.name)?;
        pkg.add_small(&h.name, data, Some(h.data_offset), limits);
    }
    Ok(None)
}

/// Records a small member and hands it to the sink (and the parsed descriptor, when it is the
/// first descriptor).
fn small_member(
    pkg: &mut Package,
    sink: &mut dyn MemberSink,
    name: &str,
    data: Vec<u8>,
    data_offset: Option<u64>,
    limits: &Limits,
) -> Result<()> {
    sink.small(name, &data)?;
    let first_descriptor = names::role(name) == Role::Descriptor && pkg.envelope.is_none();
    pkg.add_small(name, data, data_offset, limits);
    if first_descriptor {
        if let Some(parsed) = &pkg.envelope {
            sink.descriptor(name, parsed.as_ref())?;
        }
    }
    Ok(())
}

fn hash_options(pkg: &Package, size: u64, default: Vec<Algorithm>) -> HashOptions {
    HashOptions {
        algorithms: pkg.manifest_algorithms().unwrap_or(default),
        prefix_bytes: PREFIX_BYTES,
        size_hint: Some(size),
    }
}

/// Finds the one descriptor of a package folder.
///
/// # Errors
/// [`crate::ErrorKind::Usage`] when the folder holds several; I/O errors listing it.
pub(crate) fn find_descriptor(dir: &Path) -> Result<Option<PathBuf>> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io("cannot list", e).with_path(dir))? {
        let e = e.map_err(|e| Error::io("cannot list", e).with_path(dir))?;
        let n = e.file_name().to_string_lossy().into_owned();
        if names::role(&n) == Role::Descriptor && e.path().is_file() {
            found.push(e.path());
        }
    }
    found.sort();
    match found.len() {
        0 | 1 => Ok(found.pop()),
        _ => Err(Error::usage(format!(
            "{} descriptors in {}; name the .ovf to verify",
            found.len(),
            dir.display()
        ))),
    }
}

/// One pass over a package folder: the descriptor `ovf_path`, `<base>.mf` and `<base>.cert`
/// read whole (descriptor and manifest parsed once), then every file the References name
/// (chunks found on disk) and the manifest lists, hashed with the manifest's algorithms
/// (SHA-256 without a manifest) and handed to `sink`. The first error ends the pass and is
/// returned beside what was read until then.
///
/// # Security
/// Names pass [`crate::gate::resolve_in_dir`]; a name that does not is left out (the verdict
/// reports it).
pub(crate) fn scan_dir(
    dir: &Path,
    ovf_path: &Path,
    limits: &Limits,
    sink: &mut dyn MemberSink,
    progress: &dyn Progress,
) -> (Package, Result<()>) {
    let mut pkg = Package::new(Kind::Folder);
    pkg.dir = Some(dir.to_path_buf());
    let r = scan_dir_into(&mut pkg, dir, ovf_path, limits, sink, progress, true);
    (pkg, r)
}

/// The head of a package folder as [`scan_dir`] reads it: the descriptor `ovf_path`,
/// `<base>.mf` and `<base>.cert` read whole, descriptor and manifest parsed once; the files
/// are left for the caller to read in its own order (`transform`).
///
/// # Errors
/// I/O errors reading them, sizes over `limits`.
pub(crate) fn scan_dir_head(dir: &Path, ovf_path: &Path, limits: &Limits) -> Result<Package> {
    let mut pkg = Package::new(Kind::Folder);
    pkg.dir = Some(dir.to_path_buf());
    let progress = crate::progress::NoProgress;
    scan_dir_into(
        &mut pkg, dir, ovf_path, limits, &mut Index, &progress, false,
    )?;
    Ok(pkg)
}

fn scan_dir_into(
    pkg: &mut Package,
    dir: &Path,
    ovf_path: &Path,
    limits: &Limits,
    sink: &mut dyn MemberSink,
    progress: &dyn Progress,
    with_files: bool,
) -> Result<()> {
    let ovf_name = ovf_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = ovf_name
        .rsplit_once('.')
        .map(|(b, _)| b.to_string())
        .unwrap_or_else(|| ovf_name.clone());
    let read = |p: &Path, limit: u64, name: &str| -> Result<Vec<u8>> {
        let mut f = File::open(p).map_err(|e| Error::io("cannot open", e).with_path(p))?;
        let size = f
            .metadata()
            .map_err(|e| Error::io("cannot open", e).with_path(p))?
            .len();
        read_small(&mut f, size, limit, name)
    };
    let desc = read(ovf_path, limits.max_descriptor_bytes, &ovf_name)?;
    small_member(pkg, sink, &ovf_name, desc, None, limits)?;
    for ext in ["mf", "cert"] {
        let name = format!("{base}.{ext}");
        let p = dir.join(&name);
        if p.is_file() {
            let data = read(&p, limits.max_manifest_bytes, &name)?;
            small_member(pkg, sink, &name, data, None, limits)?;
        }
    }
    if !with_files {
        return Ok(());
    }
    let mut wanted: Vec<String> = Vec::new();
    if let Some(Ok(env)) = &pkg.envelope {
        for f in env.references() {
            wanted.extend(crate::file_reader::parts_in_dir(
                dir,
                &f.href,
                f.chunk_size.is_some(),
                limits,
            ));
        }
    }
    if let Some(Ok(m)) = pkg.manifest(&format!("{base}.mf")) {
        wanted.extend(m.entries.iter().map(|e| e.name.clone()));
    }
    let mut seen = std::collections::HashSet::new();
    seen.insert(ovf_name.clone());
    for name in wanted {
        if pkg.get(&name).is_some() || !seen.insert(name.clone()) {
            continue;
        }
        let Ok(p) = crate::gate::resolve_in_dir(dir, &name) else {
            continue; // reported by the References check
        };
        let Ok(f) = File::open(&p) else { continue };
        let meta = f.metadata().ok();
        let size = meta.as_ref().map_or(0, |m| m.len());
        let regular = meta.is_some_and(|m| m.is_file());
        tracing::info!(file = %name, size, "scan: read file");
        progress.start(&name, Some(size));
        let opts = hash_options(pkg, size, vec![Algorithm::Sha256]);
        let mut cursor = &f;
        let mut member = DataMember {
            name: &name,
            size,
            reader: &mut cursor,
            location: regular.then_some((&f, 0)),
            // In place, like openssl dgst: pread, holes without reading.
            in_place: regular.then_some((&f, 0)),
            used_in_place: false,
        };
        let r = sink
            .data(&mut member, &opts, progress)
            .map_err(|e| e.with_path(&p))?;
        progress.finish();
        pkg.members.push(Member {
            name,
            size: r.bytes,
            digests: r.digests,
            prefix: r.prefix,
            data_offset: None,
            content: None,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
