//! Shared helpers for the integration tests: the third-party corpus, external reference tools
//! (qemu-img, xmllint) and running the CLI.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The third-party corpus (`$OVFTOOL_CORPUS` or `../shared/corpus`), or `None` with a note on
/// stderr so a skipped test says why. In CI (`CI` set) a missing corpus is a failure, not a
/// skip, as for [`have_tool`]: a corpus test that read nothing has checked nothing.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("OVFTOOL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.join("index.json").is_file() {
        Some(dir)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the corpus is required in CI but is not at {} (set OVFTOOL_CORPUS)",
            dir.display()
        );
        eprintln!(
            "SKIP: corpus not found at {} (set OVFTOOL_CORPUS)",
            dir.display()
        );
        None
    }
}

/// Whether an external tool runs (`TOOL --version`). In CI (`CI` set) a missing tool is a
/// failure, not a skip: CI installs qemu-utils and libxml2-utils.
pub fn have_tool(tool: &str) -> bool {
    // openssl has no `--version`; it answers `openssl version`.
    let probe = if tool == "openssl" {
        "version"
    } else {
        "--version"
    };
    let ok = Command::new(tool)
        .arg(probe)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is required in CI but is not installed"
        );
        eprintln!("SKIP: {tool} not installed");
    }
    ok
}

/// Asserts that descriptor `ovf` is valid against the DMTF schema of OVF `major` (1: DSP8023
/// 1.1.1, 2: 2.0.1) from the corpus, with xmllint; skipped (with a note) without either.
pub fn assert_schema_valid(ovf: &Path, major: u32) {
    if !have_tool("xmllint") {
        return;
    }
    let Some(corpus) = corpus() else {
        return;
    };
    let xsd = match major {
        2 => corpus.join("schemas/ovf2-itchy-2f8ce7e/dsp8023_2.0.1.xsd"),
        _ => corpus.join("schemas/ovf1-xen-orchestra/dsp8023_1.1.1.xsd"),
    };
    let out = Command::new("xmllint")
        .args(["--nonet", "--noout", "--schema"])
        .arg(&xsd)
        .arg(ovf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} is not schema-valid: {}",
        ovf.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `qemu-img ARGS` and asserts it succeeded (its stderr in the message).
#[track_caller]
pub fn qemu_img(args: &[&str]) {
    let out = Command::new("qemu-img").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "qemu-img {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// qemu-img's conversion of the raw image `raw` to the VMDK `vmdk` of `subformat`
/// (`streamOptimized`, `monolithicSparse`, `twoGbMaxExtentFlat`...), asserted to succeed.
#[track_caller]
pub fn qemu_vmdk(raw: &Path, vmdk: &Path, subformat: &str) {
    qemu_img(&[
        "convert",
        "-q",
        "-f",
        "raw",
        "-O",
        "vmdk",
        "-o",
        &format!("subformat={subformat}"),
        raw.to_str().unwrap(),
        vmdk.to_str().unwrap(),
    ]);
}

/// A fresh RSA key and a self-signed certificate for it (`openssl req -x509`, subject `/CN=cn`),
/// written to `dir/NAME.key` and `dir/NAME.pem`; returns their paths (key, certificate).
#[track_caller]
pub fn self_signed(dir: &Path, name: &str, cn: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.pem"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-subj")
        .arg(format!("/CN={cn}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (key, cert)
}

/// The path of the built CLI binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ovftool-rs"))
}

/// Runs the CLI with `args`.
pub fn ovftool(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("run ovftool-rs")
}

/// The `samples/` folder of the repository.
pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// CPU time consumed by the calling thread, in seconds. Complexity tests compare this rather
/// than wall time: on a loaded machine (tests run in parallel on two cores) a long run is
/// preempted more often than a short one, which inflates wall-time ratios.
pub fn thread_cpu_seconds() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Deterministic pseudo-random numbers and bytes (xorshift64*), for generated inputs.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Fills `buf` with pseudo-random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

/// `count` damaged copies of `good`, for "never panics" tests: in each, 1 to 4 bytes changed
/// at random places inside `regions` (where the structure is: headers, tables, the tail), one
/// region picked at random per byte; one copy in five also cut short somewhere.
pub fn damaged_copies(
    good: &[u8],
    rng: &mut Rng,
    count: usize,
    regions: &[std::ops::Range<usize>],
) -> Vec<Vec<u8>> {
    let mut inputs = Vec::with_capacity(count);
    for _ in 0..count {
        let mut b = good.to_vec();
        for _ in 0..(1 + rng.next() % 4) {
            let region = &regions[(rng.next() % regions.len() as u64) as usize];
            let at = region.start + (rng.next() as usize % (region.end - region.start));
            b[at] = rng.next() as u8;
        }
        if rng.next() % 5 == 0 {
            let cut = rng.next() as usize % b.len();
            b.truncate(cut);
        }
        inputs.push(b);
    }
    inputs
}

/// For "never panics" tests: `r` is either a success or the error of a bad input (corrupt,
/// unsupported, above a limit, unsafe name, invalid document), never a usage or I/O error,
/// which would mean the damage leaked past the reader's checks.
#[track_caller]
pub fn assert_input_error<T>(what: &str, r: &ovftool::Result<T>) {
    if let Err(e) = r {
        assert!(
            e.kind().is_input_failure(),
            "{what}: expected an input error, found {:?}: {e}",
            e.kind()
        );
    }
}

/// The members of a tar archive (an OVA), with their bytes, in archive order.
pub fn tar_members(ova: &Path) -> Vec<(String, Vec<u8>)> {
    let mut a = tar::Archive::new(std::fs::File::open(ova).unwrap());
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut v).unwrap();
            (name, v)
        })
        .collect()
}

/// An OVA (ustar) of `members`, in order.
pub fn tar_bytes(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_ustar();
        h.set_path(name).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

/// Writes an OVA of `members` to `path` (see [`tar_bytes`]).
pub fn write_tar(path: &Path, members: &[(String, Vec<u8>)]) {
    std::fs::write(path, tar_bytes(members)).unwrap();
}

/// Writes `members` as the files of the package folder `dir` (created).
pub fn write_folder(dir: &Path, members: &[(String, Vec<u8>)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in members {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// Lower-case hex of the SHA-256 of `b`.
pub fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// The members of a package in OVA order: the descriptor `desc_name`, a SHA-256 manifest
/// (`<base>.mf`) over the descriptor and every file, then `files` as stored.
pub fn with_manifest(
    desc_name: &str,
    desc: &str,
    files: Vec<(String, Vec<u8>)>,
) -> Vec<(String, Vec<u8>)> {
    let mut all = vec![(desc_name.to_string(), desc.as_bytes().to_vec())];
    all.extend(files);
    let mf: String = all
        .iter()
        .map(|(n, d)| format!("SHA256({n})= {}\n", sha256_hex(d)))
        .collect();
    let base = desc_name.strip_suffix(".ovf").unwrap_or(desc_name);
    all.insert(1, (format!("{base}.mf"), mf.into_bytes()));
    all
}

/// `data` gzip-compressed.
pub fn gzip(data: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    std::io::Write::write_all(&mut e, data).unwrap();
    e.finish().unwrap()
}

/// The file `href` holding `content`, stored as OVF allows: gzip-compressed
/// (`ovf:compression="gzip"`) and/or split into chunks of `chunk` bytes (`ovf:chunkSize`,
/// members `href.000000000`...). Returns the `References/File` attributes that say so
/// (`ovf:size` of the stored bytes first) and the stored members.
pub fn stored_file(
    href: &str,
    content: Vec<u8>,
    gzip_level: Option<flate2::Compression>,
    chunk: Option<usize>,
) -> (String, Vec<(String, Vec<u8>)>) {
    let stored = match gzip_level {
        Some(level) => gzip(&content, level),
        None => content,
    };
    let mut attrs = format!("ovf:size=\"{}\"", stored.len());
    if gzip_level.is_some() {
        attrs.push_str(" ovf:compression=\"gzip\"");
    }
    if let Some(c) = chunk {
        attrs.push_str(&format!(" ovf:chunkSize=\"{c}\""));
    }
    let files = match chunk {
        None => vec![(href.to_string(), stored)],
        Some(c) => stored
            .chunks(c)
            .enumerate()
            .map(|(i, d)| (format!("{href}.{i:09}"), d.to_vec()))
            .collect(),
    };
    (attrs, files)
}

/// The sample appliance's disk member.
pub const APPLIANCE_DISK: &str = "sample-appliance-disk1.vmdk";

/// The sample appliance's members (descriptor, manifest, disk), in order.
pub fn appliance_members() -> Vec<(String, Vec<u8>)> {
    tar_members(&samples().join("appliance.ova"))
}

/// The sample appliance with `disk` (its own when `None`; a streamOptimized image of the same
/// 16 MiB capacity) stored gzip-compressed and/or in chunks of `chunk` bytes, and a fresh
/// manifest.
pub fn appliance_stored(
    disk: Option<Vec<u8>>,
    gzip: bool,
    chunk: Option<usize>,
) -> Vec<(String, Vec<u8>)> {
    let m = appliance_members();
    let desc = String::from_utf8(m[0].1.clone()).unwrap();
    let disk = disk.unwrap_or_else(|| {
        m.iter()
            .find(|(n, _)| n == APPLIANCE_DISK)
            .unwrap()
            .1
            .clone()
    });
    let level = gzip.then(flate2::Compression::default);
    let (attrs, files) = stored_file(APPLIANCE_DISK, disk, level, chunk);
    let desc = desc.replace("ovf:size=\"77312\"", &attrs);
    with_manifest("sample-appliance.ovf", &desc, files)
}

/// `raw` as a streamOptimized VMDK (the library's writer), through files in `dir`.
pub fn stream_vmdk(dir: &Path, raw: &[u8]) -> Vec<u8> {
    use ovftool::disk::{copy, CopyOptions, SinkOptions};
    use ovftool::vmdk::layout::{create_sink, Layout};
    let rp = dir.join("src.raw");
    std::fs::write(&rp, raw).unwrap();
    let vp = dir.join("src.vmdk");
    let mut src = ovftool::vmdk::raw::RawSource::open(&rp).unwrap();
    let mut sink = create_sink(
        &vp,
        Layout::StreamOptimized,
        raw.len() as u64,
        &SinkOptions::default(),
    )
    .unwrap();
    copy(
        &mut src,
        sink.as_mut(),
        &CopyOptions::default(),
        &ovftool::progress::NoProgress,
    )
    .unwrap();
    sink.finish().unwrap();
    let b = std::fs::read(&vp).unwrap();
    std::fs::remove_file(&vp).unwrap();
    std::fs::remove_file(&rp).unwrap();
    b
}
