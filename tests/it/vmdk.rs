//! Integration tests: the VMDK engine core (streamOptimized in and out, raw, the pipeline,
//! `convert`), checked against qemu-img and the real disks of the corpus.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use ovftool::disk::{copy, CopyOptions, DiskSink, DiskSource, SinkOptions};
use ovftool::progress::NoProgress;
use ovftool::vmdk::layout::{create_sink, Layout};
use ovftool::vmdk::raw::RawSink;
use ovftool::vmdk::stream::{Origin, StreamFileSource, StreamReader};
use ovftool::vmdk::stream_writer::StreamOptimizedWriter;
use ovftool::{ErrorKind, Limits};

use crate::support;

use crate::support::Rng;

const G: u64 = 65536;

/// `(offset, len, kind)` regions of a generated image.
type Regions = Vec<(u64, usize, char)>;

/// A raw image of `size` bytes with `(offset, len, kind)` regions: 'r' random, 't' text-like,
/// 'z' written zeros; the rest are holes.
fn make_raw(path: &Path, size: u64, regions: &[(u64, usize, char)], seed: u64) {
    let f = File::create(path).unwrap();
    f.set_len(size).unwrap();
    let mut rng = Rng(seed | 1);
    for &(off, len, kind) in regions {
        let mut buf = vec![0u8; len];
        match kind {
            'r' => rng.fill(&mut buf),
            't' => {
                let words = b"the quick brown fox jumps over the lazy dog 0123456789\n";
                for (i, b) in buf.iter_mut().enumerate() {
                    *b = words[(i + (rng.next() % 3) as usize) % words.len()];
                }
            }
            _ => {}
        }
        f.write_all_at(&buf, off).unwrap();
    }
}

fn mixed_regions(size: u64, seed: u64) -> Regions {
    let mut rng = Rng(seed | 1);
    let mut out = Vec::new();
    let mut pos = 0u64;
    while pos < size {
        let len = ((rng.next() % 64 + 1) * 4096).min(size - pos);
        let kind = ['h', 'z', 't', 't', 'r'][(rng.next() % 5) as usize];
        if kind != 'h' {
            out.push((pos, len as usize, kind));
        }
        pos += len;
    }
    out
}

/// `qemu-img compare` of the raw image `raw` with `other` (format `other_format`): whether they
/// hold the same bytes, and what qemu-img said.
fn qemu_compare(raw: &Path, other: &Path, other_format: &str) -> (bool, String) {
    qemu(&[
        "compare",
        "-f",
        "raw",
        "-F",
        other_format,
        raw.to_str().unwrap(),
        other.to_str().unwrap(),
    ])
}

fn qemu(args: &[&str]) -> (bool, String) {
    let o = Command::new("qemu-img").args(args).output().unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn lib_convert(input: &Path, output: &Path, layout: Layout, opts: &SinkOptions) {
    let mut src = ovftool::open_disk(input, &Limits::default()).unwrap();
    let mut sink = create_sink(output, layout, src.capacity_bytes(), opts).unwrap();
    copy(
        src.as_mut(),
        sink.as_mut(),
        &CopyOptions::default(),
        &NoProgress,
    )
    .unwrap();
    sink.finish().unwrap();
}

/// Reads `source` completely into a raw file at `out`.
fn source_to_raw(mut source: Box<dyn DiskSource + '_>, out: &Path) -> ovftool::Result<()> {
    let opts = SinkOptions {
        force: true,
        ..SinkOptions::default()
    };
    let mut sink: Box<dyn DiskSink> =
        Box::new(RawSink::create(out, source.capacity_bytes(), &opts)?);
    copy(
        source.as_mut(),
        sink.as_mut(),
        &CopyOptions {
            threads: 2,
            max_in_flight: 8,
        },
        &NoProgress,
    )?;
    sink.finish()?;
    Ok(())
}

/// A reader that returns short reads at random and hides `Seek` (a pipe).
struct ShortReads<R> {
    inner: R,
    rng: Rng,
}
impl<R: Read> Read for ShortReads<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = 1 + (self.rng.next() as usize % buf.len().min(9000));
        self.inner.read(&mut buf[..n])
    }
}

fn streaming(path: &Path, seed: u64) -> ovftool::Result<StreamReader<ShortReads<File>>> {
    StreamReader::new(
        ShortReads {
            inner: File::open(path).unwrap(),
            rng: Rng(seed | 1),
        },
        Origin::path(path),
        &Limits::default(),
    )
}

/// Reads `vmdk` seekably and as a short-reading stream; both must equal qemu's raw conversion.
fn check_reads_like_qemu(vmdk: &Path, dir: &Path) {
    let q = dir.join("qemu.raw");
    let (ok, msg) = qemu(&[
        "convert",
        "-O",
        "raw",
        vmdk.to_str().unwrap(),
        q.to_str().unwrap(),
    ]);
    assert!(ok, "qemu-img convert {}: {msg}", vmdk.display());
    let a = dir.join("seekable.raw");
    let src = StreamFileSource::open(vmdk, &Limits::default()).unwrap();
    source_to_raw(Box::new(src), &a).unwrap();
    let (same, msg) = qemu_compare(&q, &a, "raw");
    assert!(same, "seekable read of {} differs: {msg}", vmdk.display());
    let b = dir.join("streaming.raw");
    source_to_raw(Box::new(streaming(vmdk, 7).unwrap()), &b).unwrap();
    let (same, msg) = qemu_compare(&q, &b, "raw");
    assert!(same, "streaming read of {} differs: {msg}", vmdk.display());
}

fn stream_opts() -> SinkOptions {
    SinkOptions {
        force: true,
        identity: b"test".to_vec(),
        ..SinkOptions::default()
    }
}

#[test]
fn stream_optimized_output_is_qemu_clean_and_equal() {
    if !support::have_tool("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, u64, Regions)> = vec![
        ("mixed", 8 << 20, mixed_regions(8 << 20, 1)),
        ("random", 2 << 20, vec![(0, 2 << 20, 'r')]),
        ("all-zero", 4 << 20, vec![(0, 1 << 20, 'z')]),
        // capacity not a multiple of the grain: a partial last grain with data
        (
            "partial-grain",
            3 * G + 4096,
            vec![(3 * G, 4096, 'r'), (0, 100, 't')],
        ),
        // capacity not even a multiple of a sector
        ("odd-size", 5 * G + 1000, vec![(5 * G, 1000, 'r')]),
    ];
    for (name, size, regions) in cases {
        let raw = dir.path().join(format!("{name}.raw"));
        make_raw(&raw, size, &regions, 42);
        let vmdk = dir.path().join(format!("{name}.vmdk"));
        lib_convert(&raw, &vmdk, Layout::StreamOptimized, &stream_opts());
        let (ok, msg) = qemu(&["check", vmdk.to_str().unwrap()]);
        assert!(ok, "{name}: qemu-img check: {msg}");
        let (same, msg) = qemu_compare(&raw, &vmdk, "vmdk");
        assert!(same, "{name}: qemu-img compare: {msg}");
        // and we read our own output back in both modes
        check_reads_like_qemu(&vmdk, dir.path());
    }
}

#[test]
fn every_compression_level_is_read_by_qemu() {
    if !support::have_tool("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("m.raw");
    make_raw(&raw, 2 << 20, &mixed_regions(2 << 20, 21), 21);
    let mut sizes = Vec::new();
    for level in [0u32, 1, 6, 12] {
        let vmdk = dir.path().join(format!("l{level}.vmdk"));
        let opts = SinkOptions {
            compression_level: level,
            ..stream_opts()
        };
        lib_convert(&raw, &vmdk, Layout::StreamOptimized, &opts);
        let (same, msg) = qemu_compare(&raw, &vmdk, "vmdk");
        assert!(same, "level {level}: {msg}");
        sizes.push(fs::metadata(&vmdk).unwrap().len());
    }
    assert!(sizes[0] > sizes[1] && sizes[1] >= sizes[2], "{sizes:?}");
    let opts = SinkOptions {
        compression_level: 13,
        ..stream_opts()
    };
    let e = create_sink(
        &dir.path().join("bad.vmdk"),
        Layout::StreamOptimized,
        1 << 20,
        &opts,
    )
    .err()
    .unwrap();
    assert_eq!(e.kind(), ErrorKind::Usage);
}

#[test]
fn stream_optimized_beyond_4_gib_mostly_empty() {
    if !support::have_tool("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("big.raw");
    let size = (5u64 << 30) + 3 * G;
    make_raw(
        &raw,
        size,
        &[
            (0, 4096, 'r'),
            ((4 << 30) + 5 * G, 70000, 't'),
            (size - 512, 512, 'r'),
        ],
        9,
    );
    let vmdk = dir.path().join("big.vmdk");
    lib_convert(&raw, &vmdk, Layout::StreamOptimized, &stream_opts());
    assert!(fs::metadata(&vmdk).unwrap().len() < 1 << 20);
    let (ok, msg) = qemu(&["check", vmdk.to_str().unwrap()]);
    assert!(ok, "qemu-img check: {msg}");
    let (same, msg) = qemu_compare(&raw, &vmdk, "vmdk");
    assert!(same, "qemu-img compare: {msg}");
    let back = dir.path().join("back.raw");
    source_to_raw(Box::new(streaming(&vmdk, 3).unwrap()), &back).unwrap();
    let (same, msg) = qemu_compare(&raw, &back, "raw");
    assert!(same, "{msg}");
}

#[test]
fn writer_is_reproducible_and_streams_to_a_non_seekable_sink() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("m.raw");
    make_raw(&raw, 4 << 20, &mixed_regions(4 << 20, 5), 5);
    let mut outputs = Vec::new();
    for _ in 0..2 {
        let mut src = ovftool::open_disk(&raw, &Limits::default()).unwrap();
        let mut w = StreamOptimizedWriter::new(
            Vec::<u8>::new(),
            src.capacity_bytes(),
            "m.vmdk",
            &stream_opts(),
        )
        .unwrap();
        copy(src.as_mut(), &mut w, &CopyOptions::default(), &NoProgress).unwrap();
        let written = w.bytes_written();
        let (bytes, report) = w.finish_into_inner().unwrap();
        assert!(written < bytes.len() as u64);
        assert_eq!(report.stored_bytes, bytes.len() as u64);
        outputs.push(bytes);
    }
    assert_eq!(outputs[0], outputs[1], "output must be reproducible");
    let file = dir.path().join("m.vmdk");
    lib_convert(&raw, &file, Layout::StreamOptimized, &stream_opts());
    let text = fs::read(&file).unwrap();
    let desc = String::from_utf8_lossy(&text[512..4096]);
    assert!(desc.contains("createType=\"streamOptimized\""), "{desc}");
    assert!(desc.contains("ddb.uuid = "), "{desc}");
    assert!(desc.contains("ddb.longContentID = "), "{desc}");
    assert!(desc.contains("ddb.virtualHWVersion = "), "{desc}");
    // ovftool 4.1 layout: header v3, flags 0x30001, GD_AT_END, overhead 128, footer, EOS.
    assert_eq!(&text[0..4], b"KDMV");
    assert_eq!(u32::from_le_bytes(text[4..8].try_into().unwrap()), 3);
    assert_eq!(u32::from_le_bytes(text[8..12].try_into().unwrap()), 0x30001);
    assert_eq!(
        u64::from_le_bytes(text[56..64].try_into().unwrap()),
        u64::MAX
    );
    assert_eq!(u64::from_le_bytes(text[64..72].try_into().unwrap()), 128);
    let n = text.len();
    assert_eq!(
        u32::from_le_bytes(text[n - 1536 + 12..n - 1536 + 16].try_into().unwrap()),
        3
    );
    assert_eq!(&text[n - 1024..n - 1020], b"KDMV");
    assert!(text[n - 512..].iter().all(|&b| b == 0));
}

#[test]
fn qemu_made_streams_read_back_equal_in_both_modes() {
    if !support::have_tool("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, size) in [("a", 6u64 << 20), ("odd", 3 * G + 8192)] {
        let raw = dir.path().join(format!("{name}.raw"));
        make_raw(&raw, size, &mixed_regions(size, 11), 11);
        let vmdk = dir.path().join(format!("{name}-qemu.vmdk"));
        support::qemu_vmdk(&raw, &vmdk, "streamOptimized");
        check_reads_like_qemu(&vmdk, dir.path());
    }
    // qemu writes no end-of-stream marker: a stream cut exactly between two grains is still
    // caught, through the grain tables at the front.
    let bytes = fs::read(dir.path().join("a-qemu.vmdk")).unwrap();
    let overhead = u64::from_le_bytes(bytes[64..72].try_into().unwrap()) as usize * 512;
    let mut starts = Vec::new();
    let mut pos = overhead;
    while pos + 12 <= bytes.len() {
        let size = u32::from_le_bytes(bytes[pos + 8..pos + 12].try_into().unwrap()) as usize;
        if size == 0 {
            break;
        }
        starts.push(pos);
        pos += (12 + size).div_ceil(512) * 512;
    }
    assert!(starts.len() > 2);
    let cut = dir.path().join("cut-qemu.vmdk");
    fs::write(&cut, &bytes[..starts[starts.len() - 1]]).unwrap();
    let e = read_all_streaming(&cut).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
}

/// Every real streamOptimized disk of the corpus reads back like qemu reads it.
#[test]
fn corpus_stream_disks_read_back_equal_in_both_modes() {
    let Some(corpus) = support::corpus() else {
        return;
    };
    if !support::have_tool("qemu-img") {
        return;
    }
    let mut disks: Vec<PathBuf> = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                let name = p.to_string_lossy();
                // gzip'ed disks, and the plain disks of extracted OVAs that are streamOptimized
                let plain_stream = name.contains("_extracted")
                    && name.ends_with(".vmdk")
                    && ovftool::vmdk::kind::detect(&p).ok()
                        == Some(ovftool::vmdk::kind::DiskKind::StreamOptimized);
                if name.ends_with(".vmdk.gz") || plain_stream {
                    out.push(p);
                }
            }
        }
    }
    walk(&corpus, &mut disks);
    for f in ["input.vmdk", "ubuntu.2.0-disk1.vmdk", "blank.vmdk"] {
        let p = corpus.join("glennmatthews__cot/COT/tests").join(f);
        if p.is_file() {
            disks.push(p);
        }
    }
    assert!(
        disks.len() >= 6,
        "expected the corpus disks, found {disks:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    for (i, d) in disks.iter().enumerate() {
        let local = dir.path().join(format!("real{i}.vmdk"));
        if d.to_string_lossy().ends_with(".gz") {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(File::open(d).unwrap())
                .read_to_end(&mut out)
                .unwrap();
            fs::write(&local, out).unwrap();
        } else {
            fs::copy(d, &local).unwrap();
        }
        check_reads_like_qemu(&local, dir.path());
    }
}

// ---------------------------------------------------------------------------------------------
// Bad input

/// A small valid stream of ours, with its bytes.
fn sample_stream(dir: &Path) -> (PathBuf, Vec<u8>) {
    let raw = dir.join("s.raw");
    make_raw(
        &raw,
        1 << 20,
        &[(0, 3 * G as usize, 't'), (5 * G, 4096, 'r')],
        3,
    );
    let vmdk = dir.join("s.vmdk");
    lib_convert(&raw, &vmdk, Layout::StreamOptimized, &stream_opts());
    let bytes = fs::read(&vmdk).unwrap();
    (vmdk, bytes)
}

fn read_all_seekable(path: &Path) -> ovftool::Result<()> {
    let src = StreamFileSource::open(path, &Limits::default())?;
    source_to_raw(Box::new(src), &path.with_extension("out"))
}

fn read_all_streaming(path: &Path) -> ovftool::Result<()> {
    source_to_raw(Box::new(streaming(path, 99)?), &path.with_extension("out2"))
}

fn first_grain_marker(_bytes: &[u8]) -> usize {
    128 * 512
}

fn patched(dir: &Path, name: &str, base: &[u8], patch: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut b = base.to_vec();
    patch(&mut b);
    let p = dir.join(name);
    fs::write(&p, b).unwrap();
    p
}

fn assert_bad(r: ovftool::Result<()>, what: &str, want: &str) {
    let e = r.expect_err(what);
    let s = e.to_string();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Corrupt | ErrorKind::LimitExceeded | ErrorKind::Unsupported
        ),
        "{what}: kind {:?}: {s}",
        e.kind()
    );
    assert!(s.contains(want), "{what}: expected {want:?} in {s:?}");
    assert!(
        e.location().path.is_some(),
        "{what}: error names no file: {s}"
    );
    assert!(
        e.location().offset.is_some(),
        "{what}: error names no offset: {s}"
    );
}

#[test]
fn corrupt_header_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, good) = sample_stream(dir.path());
    let p = patched(dir.path(), "magic.vmdk", &good, |b| b[0] = b'X');
    assert_bad(read_all_streaming(&p), "bad magic", "magic");
    let p = patched(dir.path(), "grain.vmdk", &good, |b| b[20] = 3);
    assert_bad(read_all_seekable(&p), "bad grain size", "grain size");
    let p = patched(dir.path(), "cap.vmdk", &good, |b| {
        b[12..20].copy_from_slice(&u64::MAX.to_le_bytes())
    });
    assert_bad(read_all_streaming(&p), "huge capacity", "capacity");
}

#[test]
fn grain_directory_and_tables_beyond_the_file_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, good) = sample_stream(dir.path());
    let n = good.len();
    // footer gdOffset far beyond the file
    let p = patched(dir.path(), "gd.vmdk", &good, |b| {
        b[n - 1024 + 56..n - 1024 + 64].copy_from_slice(&(1u64 << 30).to_le_bytes())
    });
    assert_bad(
        read_all_seekable(&p),
        "GD beyond file",
        "beyond the end of the file",
    );
    // the GD entry points beyond the file
    let gd =
        u64::from_le_bytes(good[n - 1024 + 56..n - 1024 + 64].try_into().unwrap()) as usize * 512;
    let p = patched(dir.path(), "gt.vmdk", &good, |b| {
        b[gd..gd + 4].copy_from_slice(&0x7fff_fff0u32.to_le_bytes())
    });
    assert_bad(
        read_all_seekable(&p),
        "GT beyond file",
        "beyond the end of the file",
    );
}

#[test]
fn oversized_grain_markers_and_bombs_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, good) = sample_stream(dir.path());
    let m = first_grain_marker(&good);
    let p = patched(dir.path(), "size.vmdk", &good, |b| {
        b[m + 8..m + 12].copy_from_slice(&(3 * 65536u32).to_le_bytes())
    });
    assert_bad(read_all_seekable(&p), "seekable big marker", "2 grains");
    assert_bad(read_all_streaming(&p), "streaming big marker", "2 grains");
    // a grain that inflates past the grain size
    let mut z = Vec::new();
    ovftool::codec::Deflater::new(9)
        .unwrap()
        .compress_into(&vec![7u8; 4 * 65536], &mut z)
        .unwrap();
    // keep the marker's size so the stream stays walkable; the bomb inflates first
    let size0 = u32::from_le_bytes(good[m + 8..m + 12].try_into().unwrap()) as usize;
    assert!(size0 > z.len());
    let p = patched(dir.path(), "bomb.vmdk", &good, |b| {
        b[m + 12..m + 12 + z.len()].copy_from_slice(&z);
    });
    assert_bad(read_all_seekable(&p), "seekable bomb", "compression bomb");
    assert_bad(read_all_streaming(&p), "streaming bomb", "compression bomb");
    assert!(
        !p.with_extension("out").exists(),
        "partial output left behind"
    );
}

#[test]
fn out_of_range_and_repeated_lbas_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, good) = sample_stream(dir.path());
    let m = first_grain_marker(&good);
    let p = patched(dir.path(), "range.vmdk", &good, |b| {
        b[m..m + 8].copy_from_slice(&(1u64 << 40).to_le_bytes())
    });
    assert_bad(
        read_all_streaming(&p),
        "LBA beyond capacity",
        "beyond the capacity",
    );
    assert_bad(
        read_all_seekable(&p),
        "marker LBA disagrees with GT",
        "grain table maps",
    );
    // second grain claims the first grain's LBA: repeated
    let size0 = u32::from_le_bytes(good[m + 8..m + 12].try_into().unwrap()) as usize;
    let m2 = m + (12 + size0).div_ceil(512) * 512;
    let p = patched(dir.path(), "repeat.vmdk", &good, |b| {
        b[m2..m2 + 8].copy_from_slice(&0u64.to_le_bytes())
    });
    assert_bad(
        read_all_streaming(&p),
        "repeated LBA",
        "out of order or repeated",
    );
}

#[test]
fn truncated_streams_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, good) = sample_stream(dir.path());
    for cut in [
        100,
        4096,
        128 * 512 + 700,
        good.len() - 512,
        good.len() - 1100,
    ] {
        let p = patched(dir.path(), &format!("cut{cut}.vmdk"), &good, |b| {
            b.truncate(cut)
        });
        assert_bad(
            read_all_streaming(&p),
            &format!("streaming cut at {cut}"),
            "truncated",
        );
        assert!(read_all_seekable(&p).is_err(), "seekable cut at {cut}");
    }
}

// ---------------------------------------------------------------------------------------------
// CLI

#[test]
fn convert_cli_accepts_aliases_and_refuses_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("in.img");
    make_raw(&raw, 1 << 20, &[(0, 70000, 't')], 1);
    let out = dir.path().join("out.vmdk");
    let o = support::ovftool(&[
        "convert",
        raw.to_str().unwrap(),
        out.to_str().unwrap(),
        "--to",
        "streamOptimized",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = support::ovftool(&[
        "convert",
        raw.to_str().unwrap(),
        out.to_str().unwrap(),
        "--to",
        "stream-optimized",
    ]);
    assert_eq!(o.status.code(), Some(2), "overwrite without --force");
    let back = dir.path().join("back.img");
    let o = support::ovftool(&[
        "convert",
        out.to_str().unwrap(),
        back.to_str().unwrap(),
        "--to",
        "raw",
        "--threads",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read(&raw).unwrap(), fs::read(&back).unwrap());
    let o = support::ovftool(&[
        "convert",
        raw.to_str().unwrap(),
        out.to_str().unwrap(),
        "--to",
        "bogus",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn convert_cli_leaves_no_output_on_corrupt_input() {
    let dir = tempfile::tempdir().unwrap();
    let (_, good) = sample_stream(dir.path());
    let m = first_grain_marker(&good);
    let p = patched(dir.path(), "bad.vmdk", &good, |b| {
        for x in &mut b[m + 12..m + 200] {
            *x = 0xAB;
        }
    });
    let out = dir.path().join("bad.img");
    let o = support::ovftool(&[
        "convert",
        p.to_str().unwrap(),
        out.to_str().unwrap(),
        "--to",
        "raw",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.vmdk") && err.contains("offset"), "{err}");
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("bad.img"))
        .collect();
    assert!(left.is_empty(), "partial output: {left:?}");
}

/// A cheap deterministic stand-in for the fuzz targets in CI: damage a valid stream at random
/// places and read it in both modes. Errors are fine; panics, hangs and runaway allocation are
/// not. (Crash inputs found by `cargo fuzz` are replayed by `fuzz::fuzz_regressions_replay`.)
#[test]
fn damaged_streams_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (_, good) = sample_stream(dir.path());
    let mut rng = Rng(0xDEC0DE);
    // Hit the structure: header, first markers, the tail (GT/GD/footer/EOS).
    let regions = [
        0..512,
        128 * 512..128 * 512 + 1024,
        good.len() - 4096..good.len(),
    ];
    let inputs = crate::support::damaged_copies(&good, &mut rng, 150, &regions);
    for (i, b) in inputs.iter().enumerate() {
        let p = dir.path().join(format!("d{i}.vmdk"));
        fs::write(&p, b).unwrap();
        let what = format!("damaged stream {i}");
        crate::support::assert_input_error(&what, &read_all_seekable(&p));
        crate::support::assert_input_error(&what, &read_all_streaming(&p));
        let s = StreamFileSource::new(
            b.as_slice(),
            b.len() as u64,
            Origin::default(),
            &Limits::default(),
        );
        crate::support::assert_input_error(&what, &s);
        if let Ok(mut s) = s {
            loop {
                match s.next_grain() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        crate::support::assert_input_error::<()>(&what, &Err(e));
                        break;
                    }
                }
            }
        }
        let _ = fs::remove_file(p.with_extension("out"));
        let _ = fs::remove_file(p.with_extension("out2"));
    }
}
