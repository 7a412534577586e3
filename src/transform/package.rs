//! The one pass from package to package that `edit` and `retarget` share.
//!
//! Input: an OVA file (members copied out of it by the kernel), an OVA on standard input
//! (members streamed in order) or an OVF package folder (a folder or its `.ovf`). Output: an OVA
//! file (manifest and certificate reserved then filled, [`crate::ova::Writer::reserve`]), an
//! OVA on standard output (manifest written first: every digest must be known beforehand, from
//! the input's manifest, and is checked while copying) or a new folder. Outputs appear only
//! when complete ([`crate::output`]).
//!
//! Members whose bytes are carried over are hashed while they are copied; a digest that
//! disagrees with the input's manifest stops the pass: a damaged input never yields a package
//! whose fresh manifest vouches for the damage.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::cert::Signer;
use crate::digest::{copy_hashing, Algorithm, CopyOptions, CopyResult};
use crate::error::{Error, ErrorKind, Result};
use crate::file_reader::{FileReader, Joined, Part};
use crate::limits::Limits;
use crate::manifest::Manifest;
use crate::output::{PendingDir, PendingFile};
use crate::ova::names::{self, Role};
use crate::ova::reader::Reader;
use crate::ova::writer::{source_date_epoch, Writer};
use crate::ovf::Envelope;
use crate::progress::Progress;
use crate::scan;

/// Member name → (data offset, size) in an OVA file.
type MemberIndex = HashMap<String, (u64, u64)>;

/// Where a package's other members come from.
#[derive(Debug)]
enum Origin {
    /// An OVA in a regular file: members are `(data offset, size)` in it.
    OvaFile {
        file: File,
        index: HashMap<String, (u64, u64)>,
    },
    /// An OVA on standard input: members after the descriptor, manifest and certificate are
    /// read in order, once.
    OvaStream { reader: Box<Reader<std::io::Stdin>> },
    /// A folder: members are files in it.
    Dir { dir: PathBuf },
}

/// A package opened for a transform: the package as the one scan reads it ([`scan::Package`]:
/// descriptor, manifest and certificate in memory, the descriptor and manifest parsed once),
/// and the other members reachable by name.
///
/// Why not the whole [`scan::scan_ova`]/[`scan::scan_dir`] pass: that pass reads and hashes
/// every member once, in the package's order, before anyone knows what the output needs. A
/// transform writes members in the *output's* order, adds, drops and renames files, and copies
/// an unchanged member of an OVA file by the kernel (`copy_file_range`) without reading it in
/// user space; its digests are carried over from the input's manifest or computed while
/// copying. Scanning first would read every disk twice. So the scan reads the head (small
/// members through the same bounded reader and the same one parse; for an OVA file, the
/// member index with the [`scan::Index`] sink, which seeks past data) and the write pass reads
/// the data members once, as the plan orders them.
#[derive(Debug)]
pub(crate) struct Package {
    /// The head, as the one scan read it.
    head: scan::Package,
    /// The first data member of a stream, already announced by the reader.
    pending_stream_member: Option<crate::ova::reader::EntryHeader>,
    origin: Origin,
    /// What the package is called in messages.
    pub path: PathBuf,
}

/// Whether `path` names an OVA (by its content: a tar archive), as opposed to a folder or
/// an `.ovf`.
fn is_dir_package(path: &Path) -> bool {
    path.is_dir() || names::role(&path.to_string_lossy()) == Role::Descriptor
}

/// The package a head scan read, refused without a descriptor or with a second one (an OVA
/// holds one; a transform would not know which to write).
fn checked_head(head: &scan::Package) -> Result<()> {
    let mut descs = head
        .members
        .iter()
        .filter(|m| names::role(&m.name) == Role::Descriptor);
    if descs.next().is_none() {
        return Err(Error::invalid_ovf("no .ovf descriptor in the archive"));
    }
    if let Some(second) = descs.next() {
        return Err(Error::corrupt(format!(
            "a second descriptor {} in the archive",
            second.name
        ))
        .with_entry(&second.name));
    }
    Ok(())
}

impl Package {
    /// Opens `path`: `-` (an OVA on standard input), an OVA file, a folder holding one `.ovf`,
    /// or an `.ovf` with its files beside it.
    ///
    /// # Errors
    /// I/O errors, a missing or ambiguous descriptor, archive structure errors, sizes over
    /// `limits`.
    pub fn open(path: &Path, limits: &Limits) -> Result<Package> {
        if path == Path::new("-") {
            let mut reader = Reader::new(std::io::stdin(), *limits);
            let mut head = scan::Package::new(scan::Kind::OvaStream);
            let first = scan::scan_ova_head(&mut reader, &mut head, limits)?;
            checked_head(&head)?;
            return Ok(Package {
                head,
                pending_stream_member: first,
                origin: Origin::OvaStream {
                    reader: Box::new(reader),
                },
                path: path.to_path_buf(),
            });
        }
        if is_dir_package(path) {
            return Self::open_dir(path, limits);
        }
        let file = File::open(path).map_err(|e| Error::io("cannot open", e).with_path(path))?;
        let mut cursor = &file;
        let (head, status) = scan::scan_ova(
            &mut cursor,
            Some(&file),
            limits,
            &mut scan::Index,
            &crate::progress::NoProgress,
        );
        status.map_err(|e| e.with_path(path))?;
        checked_head(&head).map_err(|e| e.with_path(path))?;
        let len = file_size(&file, path)?;
        let mut index = MemberIndex::new();
        for m in head.members.iter().filter(|m| m.content.is_none()) {
            let offset = m.data_offset.unwrap_or_default();
            if offset.saturating_add(m.size) > len {
                return Err(
                    Error::corrupt("a member extends past the end of the archive").with_path(path),
                );
            }
            index.insert(m.name.clone(), (offset, m.size));
        }
        Ok(Package {
            head,
            pending_stream_member: None,
            origin: Origin::OvaFile { file, index },
            path: path.to_path_buf(),
        })
    }

    fn open_dir(path: &Path, limits: &Limits) -> Result<Package> {
        let (dir, desc_name) = if path.is_dir() {
            let mut found = Vec::new();
            for e in
                std::fs::read_dir(path).map_err(|e| Error::io("cannot list", e).with_path(path))?
            {
                let e = e.map_err(|e| Error::io("cannot list", e).with_path(path))?;
                let n = e.file_name().to_string_lossy().into_owned();
                if names::role(&n) == Role::Descriptor && e.path().is_file() {
                    found.push(n);
                }
            }
            found.sort();
            match found.len() {
                1 => (path.to_path_buf(), found.remove(0)),
                0 => return Err(Error::usage("no .ovf descriptor in the folder").with_path(path)),
                n => {
                    return Err(Error::usage(format!(
                        "{n} descriptors in the folder; name the .ovf"
                    ))
                    .with_path(path))
                }
            }
        } else {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| Error::usage("no descriptor name").with_path(path))?;
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            (dir, name)
        };
        names::check_name(&desc_name)?;
        let head = scan::scan_dir_head(&dir, &dir.join(&desc_name), limits)?;
        Ok(Package {
            head,
            pending_stream_member: None,
            origin: Origin::Dir { dir },
            path: path.to_path_buf(),
        })
    }

    /// The descriptor member ([`Package::open`] makes sure there is one).
    fn desc_member(&self) -> Option<&scan::Member> {
        self.head.first(Role::Descriptor)
    }

    /// The descriptor's name (`x.ovf`).
    pub fn desc_name(&self) -> &str {
        self.desc_member().map_or("", |m| m.name.as_str())
    }

    /// The descriptor's bytes.
    pub fn desc(&self) -> &[u8] {
        self.desc_member()
            .and_then(|m| m.content.as_deref())
            .unwrap_or_default()
    }

    /// The manifest's name and bytes.
    pub fn manifest(&self) -> Option<(&str, &[u8])> {
        self.head
            .first(Role::Manifest)
            .map(|m| (m.name.as_str(), m.content.as_deref().unwrap_or_default()))
    }

    /// The certificate's name and bytes.
    pub fn cert(&self) -> Option<(&str, &[u8])> {
        self.head
            .first(Role::Certificate)
            .map(|m| (m.name.as_str(), m.content.as_deref().unwrap_or_default()))
    }

    /// The descriptor, parsed (once, by the scan); taken out of the package.
    ///
    /// # Errors
    /// The descriptor's parse error, naming the package.
    pub fn take_envelope(&mut self) -> Result<Envelope> {
        match self.head.envelope.take() {
            Some(parsed) => parsed.map_err(|e| e.with_path(&self.path)),
            None => {
                Err(Error::invalid_ovf("the descriptor was already taken").with_path(&self.path))
            }
        }
    }

    /// The input's manifest, parsed (once, by the scan; an unreadable manifest counts as none).
    pub fn parsed_manifest(&self) -> Option<&Manifest> {
        let (name, _) = self.manifest()?;
        self.head.manifest(name).and_then(|m| m.as_ref().ok())
    }

    /// Checks what the pass reads whole against the input's own integrity data: the descriptor
    /// against the manifest's line for it, and (with `signature`) the manifest against the
    /// certificate's signature. Together with the digests carried over or checked while copying
    /// (see [`write`]), a damaged or tampered input never gets a fresh manifest or signature
    /// that vouches for the damage.
    ///
    /// # Errors
    /// [`ErrorKind::Verification`] on a mismatch; a certificate file that does not parse.
    pub fn check_integrity(&self, signature: bool, limits: &Limits) -> Result<()> {
        let Some((mf_name, mf)) = self.manifest() else {
            return Ok(());
        };
        let desc_name = self.desc_name();
        if let Some(m) = self.parsed_manifest() {
            for e in m.entries.iter().filter(|e| e.name == desc_name) {
                if e.algorithm.digest(self.desc()) != e.digest {
                    return Err(Error::verification(format!(
                        "{desc_name}: its {} digest does not match the input's manifest (the input is \
                         damaged); nothing written",
                        e.algorithm
                    ))
                    .with_entry(desc_name));
                }
            }
        }
        if let (true, Some((cert_name, cert))) = (signature, self.cert()) {
            crate::cert::CertFile::parse(cert, limits)
                .and_then(|c| c.verify_manifest(mf))
                .map_err(|e| {
                    Error::verification(format!(
                        "{cert_name}: the input's signature does not hold for {mf_name} ({}); \
                         nothing written",
                        e.message()
                    ))
                    .with_entry(cert_name)
                })?;
        }
        Ok(())
    }

    /// Whether the input is an OVA read from a stream (members reachable once, in order).
    pub fn is_stream(&self) -> bool {
        matches!(self.origin, Origin::OvaStream { .. })
    }

    /// The size of member `name`, when it can be known before copying.
    pub fn member_size(&self, name: &str) -> Option<u64> {
        match &self.origin {
            Origin::OvaFile { index, .. } => index.get(name).map(|(_, s)| *s),
            Origin::Dir { dir } => std::fs::metadata(dir.join(names::check_name(name).ok()?))
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len()),
            Origin::OvaStream { .. } => None,
        }
    }

    /// Whether member `name` exists (for a stream: assumed, checked when it is reached).
    pub fn has_member(&self, name: &str) -> bool {
        match &self.origin {
            Origin::OvaStream { .. } => true,
            _ => self.member_size(name).is_some(),
        }
    }

    /// Where member `name` lies (not for a stream).
    pub fn member_location(&self, name: &str) -> Option<Location<'_>> {
        match &self.origin {
            Origin::OvaFile { file, index } => index
                .get(name)
                .map(|&(offset, size)| Location::Archive { file, offset, size }),
            Origin::Dir { dir } => {
                names::check_name(name).ok()?;
                Some(Location::Path(dir.join(name)))
            }
            Origin::OvaStream { .. } => None,
        }
    }

    /// The identity of the input file (device, inode), to refuse writing over it.
    pub fn identity(&self) -> Option<(u64, u64)> {
        let m = match &self.origin {
            Origin::OvaFile { file, .. } => file.metadata().ok()?,
            Origin::Dir { dir } => std::fs::metadata(dir).ok()?,
            Origin::OvaStream { .. } => return None,
        };
        Some((m.dev(), m.ino()))
    }
}

/// Where a member lies.
#[derive(Debug)]
pub(crate) enum Location<'a> {
    /// `size` bytes at `offset` in the archive file.
    Archive {
        /// The archive.
        file: &'a File,
        /// Data offset.
        offset: u64,
        /// Size.
        size: u64,
    },
    /// A file of a folder package.
    Path(PathBuf),
}

/// `x.ovf` → `x`.
pub(crate) fn base_of(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(b, _)| b)
}

/// How one output file is produced.
#[derive(Debug, Clone)]
pub(crate) enum FileSource {
    /// Members of the input, concatenated (one, or the chunks of a chunked file).
    Members(Vec<String>),
    /// Members of the input, concatenated and gunzipped (retarget expands gzip files).
    Gunzip(Vec<String>),
    /// A local file (`edit --add-file`).
    Local(PathBuf),
}

/// One output file.
#[derive(Debug, Clone)]
pub(crate) struct FilePlan {
    /// The name in the output package.
    pub name: String,
    /// Where its bytes come from.
    pub source: FileSource,
    /// Its size when it differs from the stored members' (an expanded gzip file).
    pub size: Option<u64>,
    /// The `ovf:capacity` of the disk the file holds, if any (caps what a gzip file inflates
    /// to, with the disk's own header: [`crate::inflate::image_bytes_cap`]).
    pub ovf_capacity: Option<u64>,
}

/// What happens to the signature.
#[derive(Debug, Clone)]
pub(crate) enum CertPlan {
    /// No certificate.
    None,
    /// The input's certificate, unchanged (only with the input's manifest, unchanged).
    Keep(Vec<u8>),
    /// A new signature.
    Sign(Box<Signer>),
}

/// Everything the writing pass needs.
#[derive(Debug)]
pub(crate) struct WritePlan {
    /// Descriptor name and bytes.
    pub desc_name: String,
    /// The (edited) descriptor.
    pub desc: Vec<u8>,
    /// Manifest algorithm (`None`: no manifest).
    pub manifest: Option<Algorithm>,
    /// The input's manifest bytes, written verbatim (nothing changed; a kept signature needs
    /// them byte for byte). Digests are still checked while copying.
    pub verbatim_manifest: Option<Vec<u8>>,
    /// The signature.
    pub cert: CertPlan,
    /// Files in output order.
    pub files: Vec<FilePlan>,
    /// Replace an existing output.
    pub force: bool,
    /// Header mtime.
    pub mtime: Option<u64>,
    /// Hash every carried file while copying and check it against the input's manifest, even
    /// where the manifest's digest could be carried over unread.
    pub verify: bool,
}

/// What the writing pass did.
#[derive(Debug, Clone, Default)]
pub(crate) struct Written {
    /// Output path (`-` for standard output).
    pub output: PathBuf,
    /// Members written, in order, with sizes.
    pub entries: Vec<(String, u64)>,
}

/// The bytes of one file to copy.
enum Src<'a> {
    /// `size` bytes at `offset` in a regular file.
    Range {
        file: &'a File,
        offset: u64,
        size: u64,
    },
    /// A stream, of known size or not.
    Stream {
        r: &'a mut dyn Read,
        size: Option<u64>,
    },
}

/// An output package being written.
trait Out {
    fn put(
        &mut self,
        name: &str,
        src: Src<'_>,
        opts: &CopyOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult>;
}

struct OvaFileOut<'a> {
    w: Writer<&'a mut File>,
}

impl Out for OvaFileOut<'_> {
    fn put(
        &mut self,
        name: &str,
        src: Src<'_>,
        opts: &CopyOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult> {
        match src {
            Src::Range { file, offset, size } => self
                .w
                .append_file_range(name, file, offset, size, opts, progress),
            Src::Stream { r, size: Some(s) } => self.w.append_stream(name, s, r, opts, progress),
            Src::Stream { r, size: None } => self.w.append_unsized(name, r, opts, progress),
        }
    }
}

struct OvaStreamOut<W: Write + Send> {
    w: Writer<W>,
}

/// A [`Read`] over `size` bytes at `offset` of a file, positionally.
struct RangeReader<'a> {
    file: &'a File,
    offset: u64,
    left: u64,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.offset)?;
        self.offset += n as u64;
        self.left -= n as u64;
        Ok(n)
    }
}

impl<W: Write + Send> Out for OvaStreamOut<W> {
    fn put(
        &mut self,
        name: &str,
        src: Src<'_>,
        opts: &CopyOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult> {
        match src {
            Src::Range { file, offset, size } => {
                let mut r = RangeReader {
                    file,
                    offset,
                    left: size,
                };
                self.w.append_stream(name, size, &mut r, opts, progress)
            }
            Src::Stream { r, size: Some(s) } => self.w.append_stream(name, s, r, opts, progress),
            Src::Stream { size: None, .. } => Err(Error::usage(format!(
                "{name} changes size in this transform: its size must be known before it is \
                 written to a stream; write the output to a file"
            ))),
        }
    }
}

struct DirOut<'a> {
    dir: &'a Path,
}

impl Out for DirOut<'_> {
    fn put(
        &mut self,
        name: &str,
        src: Src<'_>,
        opts: &CopyOptions,
        progress: &dyn Progress,
    ) -> Result<CopyResult> {
        let mut out = crate::output::create_in(self.dir, name)?;
        match src {
            Src::Range { file, offset, size } => {
                crate::range_copy::copy_range_hashing(file, offset, &out, 0, size, opts, progress)
                    .map_err(|e| e.with_entry(name))
            }
            Src::Stream { r, .. } => {
                copy_hashing(r, Some(&mut out), opts, progress).map_err(|e| e.with_entry(name))
            }
        }
    }
}

impl Package {
    /// Copies the plan's file `f` into `out`, hashing with `algs`.
    fn copy_file(
        &mut self,
        f: &FilePlan,
        out: &mut dyn Out,
        algs: &[Algorithm],
        limits: &Limits,
        progress: &dyn Progress,
    ) -> Result<CopyResult> {
        let opts = |size: Option<u64>| CopyOptions {
            algorithms: algs.to_vec(),
            prefix_bytes: 0,
            size_hint: size,
        };
        match &f.source {
            FileSource::Local(p) => {
                let file = File::open(p).map_err(|e| Error::io("cannot open", e).with_path(p))?;
                let size = file_size(&file, p)?;
                out.put(
                    &f.name,
                    Src::Range {
                        file: &file,
                        offset: 0,
                        size,
                    },
                    &opts(Some(size)),
                    progress,
                )
            }
            FileSource::Members(ms) if ms.len() == 1 => {
                let m = &ms[0];
                match &mut self.origin {
                    Origin::OvaFile { file, index } => {
                        let (offset, size) = *index.get(m).ok_or_else(|| missing(m))?;
                        out.put(
                            &f.name,
                            Src::Range { file, offset, size },
                            &opts(Some(size)),
                            progress,
                        )
                    }
                    Origin::Dir { dir } => {
                        // A member of a folder package is a plain name inside the folder.
                        let p = dir.join(names::check_name(m)?);
                        let file = File::open(&p).map_err(|_| missing(m).with_path(&p))?;
                        let size = file_size(&file, &p)?;
                        out.put(
                            &f.name,
                            Src::Range {
                                file: &file,
                                offset: 0,
                                size,
                            },
                            &opts(Some(size)),
                            progress,
                        )
                    }
                    Origin::OvaStream { reader } => {
                        let pending = self.pending_stream_member.take();
                        let mut entry = next_stream_member(reader, pending, m)?;
                        let size = entry.header().size;
                        out.put(
                            &f.name,
                            Src::Stream {
                                r: &mut entry,
                                size: Some(size),
                            },
                            &opts(Some(size)),
                            progress,
                        )
                    }
                }
            }
            FileSource::Members(ms) | FileSource::Gunzip(ms) => {
                if self.is_stream() {
                    return Err(Error::unsupported(format!(
                        "{}: chunked or compressed files are rewritten from a file, not a \
                         stream; save the OVA first",
                        f.name
                    )));
                }
                if matches!(f.source, FileSource::Gunzip(_)) {
                    let mut r = self.gunzip_members(ms, &f.name, f.ovf_capacity, limits)?;
                    out.put(
                        &f.name,
                        Src::Stream {
                            r: &mut r,
                            size: f.size,
                        },
                        &opts(f.size),
                        progress,
                    )
                    .map_err(|e| {
                        if e.kind() == ErrorKind::Io {
                            Error::corrupt(format!("cannot decompress {}: {}", f.name, e.message()))
                        } else {
                            e
                        }
                    })
                } else {
                    let (mut r, total) = self.members_chain(ms)?;
                    out.put(
                        &f.name,
                        Src::Stream {
                            r: &mut r,
                            size: Some(total),
                        },
                        &opts(Some(total)),
                        progress,
                    )
                }
            }
        }
    }
}

impl Package {
    /// The stored parts of members `ms` (of a file or folder package), in order, with their
    /// total size: what the one file reader ([`FileReader`]) joins.
    fn parts_of(&self, ms: &[String]) -> Result<(Vec<Part>, u64)> {
        let mut parts = Vec::with_capacity(ms.len());
        let mut total = 0u64;
        // One handle on the archive, shared by every part (positional reads).
        let mut shared: Option<std::sync::Arc<File>> = None;
        for m in ms {
            let size = match self.member_location(m) {
                Some(Location::Archive { file, offset, size }) => {
                    let file = match &shared {
                        Some(f) => f.clone(),
                        None => {
                            let f = std::sync::Arc::new(
                                file.try_clone()
                                    .map_err(|e| Error::io("cannot open the input again", e))?,
                            );
                            shared = Some(f.clone());
                            f
                        }
                    };
                    parts.push(Part::At {
                        file,
                        offset,
                        len: size,
                        path: PathBuf::from(m),
                    });
                    size
                }
                Some(Location::Path(p)) => {
                    let size = std::fs::metadata(&p)
                        .map_err(|_| missing(m).with_path(&p))?
                        .len();
                    parts.push(Part::Whole(p));
                    size
                }
                None => return Err(missing(m)),
            };
            total = total.saturating_add(size);
        }
        Ok((parts, total))
    }

    /// Members `ms` (of a file or folder package) concatenated, with their total size.
    fn members_chain(&self, ms: &[String]) -> Result<(Box<dyn Read + '_>, u64)> {
        let (parts, total) = self.parts_of(ms)?;
        Ok((Box::new(Joined::new(parts)), total))
    }

    /// Members `ms` concatenated and inflated through the one file reader, the way import and
    /// verify read them: at most what the disk inside can hold, judged from its first sector
    /// and `ovf_capacity` ([`crate::inflate::image_bytes_cap`]); a gzip bomb stops there with
    /// [`ErrorKind::LimitExceeded`].
    fn gunzip_members(
        &self,
        ms: &[String],
        name: &str,
        ovf_capacity: Option<u64>,
        limits: &Limits,
    ) -> Result<Box<dyn Read + '_>> {
        let (parts, _) = self.parts_of(ms)?;
        let r = FileReader::open(parts, true, ovf_capacity, limits, name).map_err(|e| {
            if e.kind() == ErrorKind::Io {
                Error::corrupt(format!("cannot decompress {name}: {}", e.message()))
                    .with_entry(name)
            } else {
                e.with_entry(name)
            }
        })?;
        Ok(Box::new(r))
    }

    /// The size of members `ms` concatenated and gunzipped (one decompressing read, capped as
    /// [`Package::gunzip_members`] caps it).
    ///
    /// # Errors
    /// A missing member, data that is not gzip, a stream over the cap, I/O errors.
    pub fn gunzipped_size(
        &self,
        ms: &[String],
        name: &str,
        ovf_capacity: Option<u64>,
        limits: &Limits,
    ) -> Result<u64> {
        let mut r = self.gunzip_members(ms, name, ovf_capacity, limits)?;
        std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| {
            let e = Error::from(e);
            if e.kind() == ErrorKind::Io {
                Error::corrupt(format!("cannot decompress {name}: {}", e.message()))
                    .with_entry(name)
            } else {
                e.with_entry(name)
            }
        })
    }
}

fn missing(m: &str) -> Error {
    Error::verification(format!(
        "{m} is referenced by the descriptor but not in the package"
    ))
    .with_entry(m)
}

/// The next member of a stream, which must be `want`.
fn next_stream_member<'r>(
    reader: &'r mut Reader<std::io::Stdin>,
    pending: Option<crate::ova::reader::EntryHeader>,
    want: &str,
) -> Result<crate::ova::reader::Entry<'r, std::io::Stdin>> {
    let out_of_order = |name: &str| {
        Error::unsupported(format!(
            "the stream holds {name} where {want} was expected (members out of References \
             order cannot be streamed; save the OVA first)"
        ))
    };
    match pending {
        // The first data member was announced while the head was read; nothing of it was
        // consumed yet.
        Some(h) if h.name == want => reader.resume(h).ok_or_else(|| missing(want)),
        Some(h) => Err(out_of_order(&h.name)),
        None => match reader.next_entry()? {
            Some(e) if e.header().name == want => Ok(e),
            Some(e) => Err(out_of_order(&e.header().name)),
            None => Err(missing(want)),
        },
    }
}

/// The digests `algs` of file `name` in the input's manifest (for checking while copying).
fn expected_digests(old: Option<&Manifest>, name: &str) -> Vec<(Algorithm, Vec<u8>)> {
    old.map(|m| {
        m.entries
            .iter()
            .filter(|e| e.name == name)
            .map(|e| (e.algorithm, e.digest.clone()))
            .collect()
    })
    .unwrap_or_default()
}

/// Where the output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutKind {
    /// An OVA file.
    OvaFile,
    /// An OVA on standard output.
    OvaStdout,
    /// A new folder.
    Dir,
}

/// The kind of output `path` asks for: `-` → an OVA on standard output; a name ending in
/// `.ova` → an OVA file; anything else → a folder.
pub(crate) fn out_kind(path: &Path) -> OutKind {
    if path == Path::new("-") {
        OutKind::OvaStdout
    } else if names::role(&path.to_string_lossy()) == Role::Descriptor {
        OutKind::Dir
    } else if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ova"))
    {
        OutKind::OvaFile
    } else {
        OutKind::Dir
    }
}

/// Refuses an output that is the input itself (or lies inside an input folder).
///
/// # Errors
/// [`ErrorKind::Usage`].
pub(crate) fn check_not_input(pkg: &Package, output: &Path) -> Result<()> {
    if output == Path::new("-") {
        return Ok(());
    }
    if pkg.path != Path::new("-") {
        if let (Ok(a), Ok(b)) = (
            std::fs::canonicalize(&pkg.path),
            std::fs::canonicalize(output),
        ) {
            if a == b {
                return Err(
                    Error::usage("the output is the input; write to another name")
                        .with_path(output),
                );
            }
        }
    }
    if let (Some(id), Ok(m)) = (pkg.identity(), std::fs::metadata(output)) {
        if (m.dev(), m.ino()) == id {
            return Err(
                Error::usage("the output is the input; write to another name").with_path(output),
            );
        }
    }
    if let Origin::Dir { dir } = &pkg.origin {
        let parent = output.parent().filter(|p| !p.as_os_str().is_empty());
        if let (Ok(d), Some(Ok(p))) = (
            std::fs::canonicalize(dir),
            parent.map(std::fs::canonicalize),
        ) {
            if p.starts_with(&d) && out_kind(output) == OutKind::Dir {
                return Err(
                    Error::usage("the output folder lies inside the input package folder")
                        .with_path(output),
                );
            }
        }
    }
    Ok(())
}

/// Writes `plan` from `pkg` to `output`.
///
/// # Errors
/// [`ErrorKind::AlreadyExists`] without `force`; [`ErrorKind::Verification`] when a member's
/// bytes disagree with the input's manifest or a referenced member is missing; I/O and archive
/// errors. Nothing is left under the output name on error (a stream is cut short).
pub(crate) fn write(
    pkg: &mut Package,
    plan: &WritePlan,
    output: &Path,
    limits: &Limits,
    progress: &dyn Progress,
) -> Result<Written> {
    let old = pkg.parsed_manifest().cloned();
    let kind = out_kind(output);
    let mf_name = format!("{}.mf", base_of(&plan.desc_name));
    let cert_name = format!("{}.cert", base_of(&plan.desc_name));
    if plan.manifest.is_none() && !matches!(plan.cert, CertPlan::None) {
        return Err(Error::usage("a signature needs a manifest"));
    }
    let mtime = plan.mtime.unwrap_or_else(source_date_epoch);
    let mut entries = Vec::new();
    // Digests the pass computes for each file: the new manifest's and the input's.
    let algs_for = |name: &str| -> (Vec<Algorithm>, Vec<(Algorithm, Vec<u8>)>) {
        let exp = expected_digests(old.as_ref(), name);
        let mut algs: Vec<Algorithm> = plan.manifest.into_iter().collect();
        for (a, _) in &exp {
            if !algs.contains(a) {
                algs.push(*a);
            }
        }
        (algs, exp)
    };
    // A file whose bytes are carried unchanged and whose digest in the output's algorithm the
    // input's manifest gives keeps that digest without being read: the kernel copies it and
    // the new manifest vouches for exactly the bytes the old one did (a damaged file fails
    // every later verification of the output). `plan.verify` reads and checks it instead.
    let carried = |f: &FilePlan, exp: &[(Algorithm, Vec<u8>)]| -> Option<Vec<u8>> {
        if plan.verify || !matches!(f.source, FileSource::Members(_)) {
            return None;
        }
        let a = plan.manifest?;
        exp.iter().find(|(x, _)| *x == a).map(|(_, d)| d.clone())
    };
    let check = |name: &str, r: &CopyResult, exp: &[(Algorithm, Vec<u8>)]| -> Result<Vec<u8>> {
        for (a, d) in exp {
            if r.digests.get(*a) != Some(d.as_slice()) {
                return Err(Error::verification(format!(
                    "{name}: its {a} digest does not match the input's manifest (the input is \
                     damaged); nothing written"
                ))
                .with_entry(name));
            }
        }
        Ok(plan
            .manifest
            .and_then(|a| r.digests.get(a).map(<[u8]>::to_vec))
            .unwrap_or_default())
    };
    // Copies `f` into a file output: its digest is carried or computed (and checked against
    // the input's manifest where that has one).
    let mut copy_checked = |f: &FilePlan, out: &mut dyn Out| -> Result<(CopyResult, Vec<u8>)> {
        let (algs, exp) = algs_for(&f.name);
        let exp = if matches!(f.source, FileSource::Members(_)) {
            exp
        } else {
            Vec::new()
        };
        let carry = carried(f, &exp);
        let algs = if carry.is_some() { Vec::new() } else { algs };
        progress.start(&f.name, pkg.member_size(&f.name));
        let r = pkg.copy_file(f, out, &algs, limits, progress)?;
        progress.finish();
        let d = match carry {
            Some(d) => d,
            None => check(&f.name, &r, &exp)?,
        };
        Ok((r, d))
    };
    let build_manifest = |digests: &[Vec<u8>]| -> Option<Vec<u8>> {
        if let Some(v) = &plan.verbatim_manifest {
            return Some(v.clone());
        }
        let a = plan.manifest?;
        let mut m = Manifest::default();
        m.push(a, &plan.desc_name, a.digest(&plan.desc));
        for (f, d) in plan.files.iter().zip(digests) {
            m.push(a, &f.name, d.clone());
        }
        Some(m.to_bytes())
    };
    let cert_bytes = |mf: &[u8]| -> Result<Option<Vec<u8>>> {
        match (&plan.cert, plan.manifest) {
            (CertPlan::None, _) => Ok(None),
            (CertPlan::Keep(c), _) => Ok(Some(c.clone())),
            (CertPlan::Sign(s), Some(a)) => Ok(Some(s.cert_file(a, &mf_name, mf)?)),
            (CertPlan::Sign(_), None) => Err(Error::usage("a signature needs a manifest")),
        }
    };
    match kind {
        OutKind::OvaFile => {
            let mut pending = PendingFile::create(output, plan.force)?;
            {
                let mut w = Writer::new(pending.file(), mtime);
                w.append_bytes(&plan.desc_name, &plan.desc)?;
                entries.push((plan.desc_name.clone(), plan.desc.len() as u64));
                let mf_res = match (plan.manifest, &plan.verbatim_manifest) {
                    (_, Some(v)) => {
                        w.append_bytes(&mf_name, v)?;
                        entries.push((mf_name.clone(), v.len() as u64));
                        None
                    }
                    (Some(a), None) => {
                        let len = Manifest::canonical_line_len(a, &plan.desc_name)
                            + plan
                                .files
                                .iter()
                                .map(|f| Manifest::canonical_line_len(a, &f.name))
                                .sum::<usize>();
                        entries.push((mf_name.clone(), len as u64));
                        Some(w.reserve(&mf_name, len as u64)?)
                    }
                    (None, None) => None,
                };
                let cert_res = match (&plan.cert, plan.manifest) {
                    (CertPlan::Keep(c), _) => {
                        w.append_bytes(&cert_name, c)?;
                        entries.push((cert_name.clone(), c.len() as u64));
                        None
                    }
                    (CertPlan::Sign(s), Some(a)) => {
                        let len = s.cert_file_len(a, &mf_name) as u64;
                        entries.push((cert_name.clone(), len));
                        Some(w.reserve(&cert_name, len)?)
                    }
                    _ => None,
                };
                let mut out = OvaFileOut { w };
                let mut digests = Vec::new();
                for f in &plan.files {
                    let (r, d) = copy_checked(f, &mut out)?;
                    digests.push(d);
                    entries.push((f.name.clone(), r.bytes));
                }
                let mut w = out.w;
                if let Some(res) = mf_res {
                    let mf = build_manifest(&digests).unwrap_or_default();
                    w.fill(&res, &mf, b'\n')?;
                    if let Some(cres) = cert_res {
                        if let Some(c) = cert_bytes(&mf)? {
                            w.fill(&cres, &c, b' ')?;
                        }
                    }
                }
                w.finish()?;
            }
            let p = pending.commit()?;
            Ok(Written { output: p, entries })
        }
        OutKind::OvaStdout => {
            // Every digest must be known before the first file: from the input's manifest
            // (checked while copying) or by hashing a local file first.
            let mut digests = Vec::new();
            if plan.manifest.is_some() && plan.verbatim_manifest.is_none() {
                let a = plan.manifest.unwrap_or(Algorithm::Sha256);
                for f in &plan.files {
                    let d = match &f.source {
                        FileSource::Local(p) => {
                            let mut file = File::open(p)
                                .map_err(|e| Error::io("cannot open", e).with_path(p))?;
                            copy_hashing(
                                &mut file,
                                None,
                                &CopyOptions {
                                    algorithms: vec![a],
                                    ..Default::default()
                                },
                                progress,
                            )?
                            .digests
                            .get(a)
                            .map(<[u8]>::to_vec)
                        }
                        FileSource::Members(_) => expected_digests(old.as_ref(), &f.name)
                            .into_iter()
                            .find(|(x, _)| *x == a)
                            .map(|(_, d)| d),
                        FileSource::Gunzip(_) => None,
                    };
                    digests.push(d.ok_or_else(|| {
                        Error::usage(format!(
                            "{}: no {a} digest in the input's manifest, and a manifest written \
                             to a stream comes before the files; write the output to a file",
                            f.name
                        ))
                    })?);
                }
            }
            let mf = build_manifest(&digests);
            let cert = match &mf {
                Some(m) => cert_bytes(m)?,
                None => None,
            };
            let stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout());
            let mut w = Writer::new(stdout, mtime);
            w.append_bytes(&plan.desc_name, &plan.desc)?;
            entries.push((plan.desc_name.clone(), plan.desc.len() as u64));
            if let Some(m) = &mf {
                w.append_bytes(&mf_name, m)?;
                entries.push((mf_name.clone(), m.len() as u64));
            }
            if let Some(c) = &cert {
                w.append_bytes(&cert_name, c)?;
                entries.push((cert_name.clone(), c.len() as u64));
            }
            let mut out = OvaStreamOut { w };
            for (i, f) in plan.files.iter().enumerate() {
                let (algs, mut exp) = algs_for(&f.name);
                if let (Some(a), Some(d)) = (plan.manifest, digests.get(i)) {
                    if !exp.iter().any(|(x, _)| *x == a) {
                        exp.push((a, d.clone()));
                    }
                }
                let r = pkg.copy_file(f, &mut out, &algs, limits, progress)?;
                check(&f.name, &r, &exp)?;
                entries.push((f.name.clone(), r.bytes));
            }
            out.w.finish()?;
            Ok(Written {
                output: PathBuf::from("-"),
                entries,
            })
        }
        OutKind::Dir => {
            let pending = PendingDir::create(output, plan.force)?;
            let dir = pending.path().to_path_buf();
            let put_small = |name: &str, data: &[u8]| -> Result<()> {
                let mut f = crate::output::create_in(&dir, name)?;
                f.write_all(data)
                    .map_err(|e| Error::io("cannot write", e).with_entry(name))
            };
            put_small(&plan.desc_name, &plan.desc)?;
            entries.push((plan.desc_name.clone(), plan.desc.len() as u64));
            let mut out = DirOut { dir: &dir };
            let mut digests = Vec::new();
            let mut files = Vec::new();
            for f in &plan.files {
                let (r, d) = copy_checked(f, &mut out)?;
                digests.push(d);
                files.push((f.name.clone(), r.bytes));
            }
            if let Some(mf) = build_manifest(&digests) {
                put_small(&mf_name, &mf)?;
                entries.push((mf_name.clone(), mf.len() as u64));
                if let Some(c) = cert_bytes(&mf)? {
                    put_small(&cert_name, &c)?;
                    entries.push((cert_name.clone(), c.len() as u64));
                }
            }
            entries.extend(files);
            let p = pending.commit()?;
            Ok(Written { output: p, entries })
        }
    }
}

/// The size of an open file, for copying it whole.
fn file_size(file: &File, path: &Path) -> Result<u64> {
    Ok(file
        .metadata()
        .map_err(|e| Error::io("cannot inspect", e).with_path(path))?
        .len())
}
