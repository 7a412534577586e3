//! qcow2 input (read through `imago`): every variant qemu-img writes converts to what qemu-img
//! reads back, holes are not read, an overlay is refused rather than read without its base,
//! and damaged images give errors, never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use ovftool::disk::DiskSource;
use ovftool::limits::Limits;
use ovftool::qcow2::Qcow2Source;
use ovftool::ErrorKind;

use crate::support::{self, ovftool};

/// `None` (a skip, said) without qemu-img and qemu-io.
fn qemu_tools() -> Option<()> {
    (support::have_tool("qemu-img") && support::have_tool("qemu-io")).then_some(())
}

fn qemu_io(image: &Path, command: &str) {
    let out = Command::new("qemu-io")
        .args(["-f", "qcow2", "-c", command, image.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "qemu-io {command}: {out:?}");
}

/// A qcow2 image of `size` bytes made by `qemu-img create -o OPTIONS` and written by qemu-io:
/// patterned data (one run ending mid-cluster), explicit zero clusters over data, a run that
/// is discarded again, and data in the last, partial grain.
fn qemu_image(dir: &Path, name: &str, options: &str, size: u64) -> PathBuf {
    let p = dir.join(name);
    support::qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-o",
        options,
        p.to_str().unwrap(),
        &size.to_string(),
    ]);
    qemu_io(&p, "write -P 0x5a 4096 200000");
    qemu_io(&p, "write -P 0x11 1048576 1048576");
    qemu_io(&p, "write -z 1114112 131072");
    qemu_io(&p, "write -P 0x22 3145728 65536");
    qemu_io(&p, "discard 3145728 65536");
    qemu_io(&p, &format!("write -P 0x33 {} 512", size - 512));
    p
}

/// Converts `input` with the CLI to `--to layout` and asserts qemu-img finds the output equal.
fn assert_converts_equal(input: &Path, out: &Path, layout: &str) {
    let o = ovftool(&[
        "convert",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--to",
        layout,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}: {o:?}", input.display());
    let cmp = Command::new("qemu-img")
        .args([
            "compare",
            "-q",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(
        cmp.success(),
        "{} -> {layout}: qemu-img compare differs",
        input.display()
    );
}

#[test]
fn every_qcow2_variant_converts_to_what_qemu_reads() {
    let Some(()) = qemu_tools() else {
        eprintln!("skipped: no qemu-img/qemu-io");
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // Capacity not a multiple of the grain: the last grain is partial.
    let size = (5 << 20) + 4096;
    for (i, options) in [
        "cluster_size=65536",
        "cluster_size=512",
        "cluster_size=4096,compat=0.10",
        "cluster_size=2097152",
    ]
    .iter()
    .enumerate()
    {
        let img = qemu_image(d, &format!("v{i}.qcow2"), options, size);
        assert_converts_equal(&img, &d.join(format!("v{i}.raw")), "raw");
        assert_converts_equal(&img, &d.join(format!("v{i}.vmdk")), "stream-optimized");
    }
    // A feature the reader does not know (extended L2 entries): refused, nothing written.
    let img = qemu_image(d, "l2.qcow2", "cluster_size=65536,extended_l2=on", size);
    let e = Qcow2Source::open(&img, &Limits::DEFAULT).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    let out = d.join("l2.raw");
    let o = ovftool(&[
        "convert",
        img.to_str().unwrap(),
        out.to_str().unwrap(),
        "--to",
        "raw",
    ]);
    assert_ne!(o.status.code(), Some(0), "{o:?}");
    assert!(!out.exists());
    // Compressed clusters (what cloud images ship).
    let img = qemu_image(d, "plain.qcow2", "cluster_size=65536", size);
    let packed = d.join("packed.qcow2");
    support::qemu_img(&[
        "convert",
        "-q",
        "-c",
        "-O",
        "qcow2",
        img.to_str().unwrap(),
        packed.to_str().unwrap(),
    ]);
    assert_converts_equal(&packed, &d.join("packed.raw"), "raw");
    assert_converts_equal(&packed, &d.join("packed.vmdk"), "monolithic-sparse");
}

#[test]
fn unallocated_and_zero_clusters_are_not_handed_out() {
    let Some(()) = qemu_tools() else {
        eprintln!("skipped: no qemu-img/qemu-io");
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("big.qcow2");
    support::qemu_img(&["create", "-q", "-f", "qcow2", p.to_str().unwrap(), "1G"]);
    qemu_io(&p, "write -P 1 65536 65536");
    qemu_io(&p, "write -z 0 65536");
    qemu_io(&p, "write -P 2 1073676288 65536");
    let mut src = Qcow2Source::open(&p, &Limits::DEFAULT).unwrap();
    assert_eq!(src.capacity_bytes(), 1 << 30);
    let mut offsets = Vec::new();
    while let Some(g) = src.next_grain().unwrap() {
        offsets.push(g.offset);
    }
    assert_eq!(offsets, vec![65536, (1 << 30) - 65536]);
}

#[test]
fn an_overlay_is_refused_not_read_without_its_base() {
    let Some(()) = qemu_tools() else {
        eprintln!("skipped: no qemu-img/qemu-io");
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let base = qemu_image(t.path(), "base.qcow2", "cluster_size=65536", 4 << 20);
    let top = t.path().join("top.qcow2");
    support::qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-b",
        base.to_str().unwrap(),
        "-F",
        "qcow2",
        top.to_str().unwrap(),
    ]);
    let e = Qcow2Source::open(&top, &Limits::DEFAULT).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("base.qcow2"), "{e}");
    let out = t.path().join("out.raw");
    let o = ovftool(&[
        "convert",
        top.to_str().unwrap(),
        out.to_str().unwrap(),
        "--to",
        "raw",
    ]);
    assert_ne!(o.status.code(), Some(0), "{o:?}");
    assert!(!out.exists());
}

#[test]
fn a_virtual_size_over_the_limit_is_refused() {
    let Some(()) = qemu_tools() else {
        eprintln!("skipped: no qemu-img/qemu-io");
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("huge.qcow2");
    support::qemu_img(&["create", "-q", "-f", "qcow2", p.to_str().unwrap(), "2T"]);
    let limits = Limits {
        max_disk_capacity_bytes: 1 << 40,
        ..Limits::DEFAULT
    };
    let e = Qcow2Source::open(&p, &limits).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{e}");
}

#[test]
fn damaged_qcow2_images_never_panic() {
    let Some(()) = qemu_tools() else {
        eprintln!("skipped: no qemu-img/qemu-io");
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let img = qemu_image(t.path(), "good.qcow2", "cluster_size=4096", 4 << 20);
    let packed = t.path().join("packed.qcow2");
    support::qemu_img(&[
        "convert",
        "-q",
        "-c",
        "-O",
        "qcow2",
        "-o",
        "cluster_size=4096",
        img.to_str().unwrap(),
        packed.to_str().unwrap(),
    ]);
    let mut rng = support::Rng(0x9c02);
    for good in [&img, &packed] {
        let bytes = std::fs::read(good).unwrap();
        // Header, L1/refcount tables (the first clusters), and the tail (L2 tables, data).
        let n = bytes.len();
        let regions = [0..104, 104..4096.min(n), 4096.min(n - 1)..n];
        for (i, bad) in support::damaged_copies(&bytes, &mut rng, 150, &regions)
            .into_iter()
            .enumerate()
        {
            let p = t.path().join(format!("bad{i}.qcow2"));
            std::fs::write(&p, &bad).unwrap();
            let r = Qcow2Source::open(&p, &Limits::DEFAULT).and_then(|mut s| {
                let mut n = 0u64;
                while s.next_grain()?.is_some() {
                    n += 1;
                }
                Ok(n)
            });
            support::assert_input_error(&format!("{} copy {i}", good.display()), &r);
        }
    }
}

#[test]
fn verify_checks_a_standalone_qcow2() {
    let Some(()) = qemu_tools() else {
        eprintln!("skipped: no qemu-img/qemu-io");
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let img = qemu_image(t.path(), "good.qcow2", "cluster_size=65536", 4 << 20);
    for deep in [false, true] {
        let mut args = vec!["verify"];
        if deep {
            args.push("--deep");
        }
        args.push(img.to_str().unwrap());
        let o = ovftool(&args);
        assert_eq!(o.status.code(), Some(0), "{o:?}");
    }
    // The L1 table offset (header bytes 40..48) not aligned to a cluster (qemu-img refuses it
    // too: "Active L1 table offset invalid").
    let mut bytes = std::fs::read(&img).unwrap();
    bytes[40..48].copy_from_slice(&12345u64.to_be_bytes());
    let bad = t.path().join("bad.qcow2");
    std::fs::write(&bad, &bytes).unwrap();
    let o = ovftool(&["verify", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
}
