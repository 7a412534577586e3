//! Every input recognised by its content: foreign disk images made by qemu-img are refused by
//! name (never converted as raw), a gzip-compressed OVA is named, a standalone VMDK verifies,
//! a `.vmx` is described, a raw file named `.vmdk` gets a warning.

use std::path::{Path, PathBuf};
use std::process::Command;

use ovftool::sniff::{sniff_path, Content, Foreign};

use crate::support::{self, ovftool};

fn qemu_img(args: &[&str]) -> bool {
    Command::new("qemu-img")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

fn raw_image(path: &Path) {
    let mut data = vec![0u8; 4 << 20];
    let mut rng = support::Rng(7);
    rng.fill(&mut data[..1 << 20]);
    data[2 << 20..(2 << 20) + 13].copy_from_slice(b"hello, world!");
    std::fs::write(path, data).unwrap();
}

/// A temporary folder holding `d.raw` (see [`raw_image`]), for a test that needs qemu-img;
/// `None` (a skip) without qemu-img.
fn raw_image_for_qemu() -> Option<(tempfile::TempDir, PathBuf)> {
    if !support::have_tool("qemu-img") {
        eprintln!("skipped: no qemu-img");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("d.raw");
    raw_image(&raw);
    Some((dir, raw))
}

#[test]
fn foreign_images_from_qemu_img_are_named_and_refused() {
    let Some((dir, raw)) = raw_image_for_qemu() else {
        return;
    };
    for (fmt, opts, want) in [
        ("vpc", "subformat=dynamic", Foreign::VhdDynamic),
        ("vpc", "subformat=fixed", Foreign::VhdFixed),
        ("vhdx", "", Foreign::Vhdx),
        ("qcow2", "", Foreign::Qcow2),
        ("vdi", "", Foreign::Vdi),
        ("parallels", "", Foreign::Parallels),
    ] {
        // No telling extension: the content decides.
        let img = dir.path().join(format!("{fmt}-{}.img", want.name().len()));
        let mut args = vec!["convert", "-q", "-O", fmt];
        if !opts.is_empty() {
            args.extend(["-o", opts]);
        }
        args.extend([raw.to_str().unwrap(), img.to_str().unwrap()]);
        if !qemu_img(&args) {
            eprintln!("skipped {fmt}: qemu-img cannot write it");
            continue;
        }
        assert_eq!(
            sniff_path(&img).unwrap().content,
            Content::Foreign(want),
            "{fmt}"
        );
        let out_path = dir.path().join("out.raw");
        for cmd in [
            vec![
                "convert",
                img.to_str().unwrap(),
                out_path.to_str().unwrap(),
                "--to",
                "raw",
            ],
            vec!["info", img.to_str().unwrap()],
            vec!["verify", img.to_str().unwrap()],
        ] {
            let out = ovftool(&cmd);
            assert_eq!(out.status.code(), Some(2), "{fmt} {cmd:?}: {out:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(want.name()), "{fmt}: {err}");
        }
        assert!(!out_path.exists(), "{fmt}: output written");
        let target = dir.path().join("imp");
        let out = ovftool(&["import", img.to_str().unwrap(), target.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{fmt} import: {out:?}");
    }
}

#[test]
fn a_gzip_compressed_ova_is_named() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let ova = std::fs::read(support::samples().join("appliance.ova")).unwrap();
    let gz = dir.path().join("x.ova");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&ova).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    assert_eq!(sniff_path(&gz).unwrap().content, Content::GzipTar);
    let target = dir.path().join("t");
    for cmd in ["verify", "info", "validate", "unpack", "import"] {
        let mut args = vec![cmd, gz.to_str().unwrap()];
        if cmd == "unpack" || cmd == "import" {
            args.push(target.to_str().unwrap());
        }
        let out = ovftool(&args);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("gzip-compressed"),
            "{cmd}: {out:?}"
        );
    }
}

#[test]
fn a_standalone_vmdk_verifies_and_a_damaged_one_fails() {
    let Some((dir, raw)) = raw_image_for_qemu() else {
        return;
    };
    for sub in ["streamOptimized", "monolithicSparse"] {
        let vmdk = dir.path().join(format!("{sub}.vmdk"));
        support::qemu_vmdk(&raw, &vmdk, sub);
        for deep in [false, true] {
            let mut args = vec!["verify", vmdk.to_str().unwrap()];
            if deep {
                args.push("--deep");
            }
            let out = ovftool(&args);
            assert_eq!(out.status.code(), Some(0), "{sub} deep={deep}: {out:?}");
        }
    }
    // A streamOptimized disk with a grain's data flipped: --deep inflates it and fails.
    let vmdk = dir.path().join("streamOptimized.vmdk");
    let mut bytes = std::fs::read(&vmdk).unwrap();
    let at = bytes.len() / 3;
    for b in &mut bytes[at..at + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&vmdk, &bytes).unwrap();
    let out = ovftool(&["verify", "--deep", vmdk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn a_raw_file_named_vmdk_converts_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.vmdk");
    raw_image(&fake);
    let sniffed = sniff_path(&fake).unwrap();
    assert_eq!(sniffed.content, Content::Raw);
    assert!(sniffed.note.is_some());
    let out_path = dir.path().join("o.raw");
    let out = ovftool(&[
        "convert",
        fake.to_str().unwrap(),
        out_path.to_str().unwrap(),
        "--to",
        "raw",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no vmdk signature"),
        "{out:?}"
    );
    assert_eq!(
        std::fs::read(&out_path).unwrap(),
        std::fs::read(&fake).unwrap()
    );
}

#[test]
fn a_raw_file_named_vmdk_verifies_as_raw_with_a_warning_and_is_no_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.vmdk");
    raw_image(&fake);
    let out = ovftool(&["verify", fake.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("no vmdk signature"), "{text}");
    assert!(!text.contains("tar header"), "{text}");
    // validate wants a descriptor or a package: it says what the file is not, not where its
    // bytes stop being UTF-8.
    let out = ovftool(&["validate", fake.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not an OVF descriptor or OVA package"),
        "{err}"
    );
    // An .ova whose header is broken is still read as a (broken) package.
    let broken = dir.path().join("broken.ova");
    std::fs::copy(&fake, &broken).unwrap();
    let out = ovftool(&["verify", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn a_package_without_a_descriptor_says_so_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let ova = dir.path().join("nodesc.ova");
    crate::support::write_tar(
        &ova,
        &[
            ("disk1.vmdk".to_string(), vec![7u8; 4096]),
            ("disk1.mf".to_string(), b"x\n".to_vec()),
        ],
    );
    let target = dir.path().join("t");
    for cmd in ["info", "validate", "verify", "import", "unpack"] {
        let mut args = vec![cmd, ova.to_str().unwrap()];
        if cmd == "unpack" || cmd == "import" {
            args.push(target.to_str().unwrap());
        }
        let out = ovftool(&args);
        assert_ne!(out.status.code(), Some(0), "{cmd}: {out:?}");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("no .ovf descriptor in the package"),
            "{cmd}: {text}"
        );
        assert!(!text.contains("first entry"), "{cmd}: {text}");
    }
}

#[test]
fn info_describes_a_vmx_and_a_vm_folder() {
    let dir = tempfile::tempdir().unwrap();
    let vmx = dir.path().join("nat.vmx");
    std::fs::write(
        &vmx,
        ".encoding = \"UTF-8\"\nvirtualHW.version = \"19\"\nnumvcpus = \"2\"\nmemsize = \"512\"\n\
         displayName = \"nat vm\"\nethernet0.present = \"TRUE\"\nethernet0.connectionType = \"nat\"\n\
         ethernet0.virtualDev = \"e1000e\"\n",
    )
    .unwrap();
    for p in [vmx.as_path(), dir.path()] {
        let out = ovftool(&["info", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("nat vm") && text.contains("on nat"), "{text}");
    }
    let out = ovftool(&["info", "--json", vmx.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "vmx");
    assert_eq!(v["machine"]["cpus"], 2);
}

#[test]
fn validate_checks_the_files_beside_the_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let disk = vec![0u8; 4096];
    std::fs::write(d.join("disk.vmdk"), &disk).unwrap();
    let ovf = |size: usize, href: &str| {
        format!(
            r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
<References><File ovf:id="f1" ovf:href="{href}" ovf:size="{size}"/></References>
<VirtualSystem ovf:id="vm"><Info>vm</Info><VirtualHardwareSection><Info>hw</Info>
<System><vssd:ElementName>f</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
<Item><rasd:ElementName>cpu</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
</VirtualHardwareSection></VirtualSystem></Envelope>"#
        )
    };
    let p = d.join("vm.ovf");
    let run = |xml: String| {
        std::fs::write(&p, xml).unwrap();
        let out = ovftool(&["validate", p.to_str().unwrap()]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (rc, text) = run(ovf(4096, "disk.vmdk"));
    assert_eq!(rc, Some(0), "{text}");
    let (rc, text) = run(ovf(999, "disk.vmdk"));
    assert_eq!(rc, Some(1), "{text}");
    assert!(text.contains("size-mismatch"), "{text}");
    // Absent: a warning in validate, an error in verify.
    let (rc, text) = run(ovf(10, "gone.vmdk"));
    assert_eq!(rc, Some(0), "{text}");
    assert!(text.contains("missing-file"), "{text}");
    let out = ovftool(&["verify", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

/// `convert --to raw` of every VMDK flavour qemu-img reads (each subformat qemu writes, and the
/// corpus's real disks) gives what `qemu-img compare` calls identical; a disk qemu reads but we
/// do not decode (qcow2, VHD) is refused, never written as raw.
#[test]
fn every_raw_output_is_what_qemu_reads_from_the_input() {
    if !qemu_img(&["--version"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // 3 MiB + 4 KiB with data, text and holes (and a partial last grain).
    let src = d.join("src.raw");
    let mut bytes = vec![0u8; (3 << 20) + 4096];
    for (i, b) in bytes[..65536].iter_mut().enumerate() {
        *b = (i * 7 % 251) as u8;
    }
    bytes[(2 << 20) + 5..(2 << 20) + 20].copy_from_slice(b"fifteen bytes!!");
    let n = bytes.len();
    bytes[n - 1] = 9;
    std::fs::write(&src, &bytes).unwrap();
    let mut inputs: Vec<PathBuf> = Vec::new();
    for sub in [
        "monolithicSparse",
        "monolithicFlat",
        "twoGbMaxExtentSparse",
        "twoGbMaxExtentFlat",
        "streamOptimized",
    ] {
        let sd = d.join(sub);
        std::fs::create_dir(&sd).unwrap();
        let p = sd.join("disk.vmdk");
        support::qemu_vmdk(&src, &p, sub);
        inputs.push(p);
    }
    if let Some(c) = crate::support::corpus() {
        for f in [
            "glennmatthews__cot/COT/tests/input.vmdk",
            "glennmatthews__cot/COT/tests/ubuntu.2.0-disk1.vmdk",
            "cyberus-technology__virtualbox-kvm/src/VBox/ValidationKit/tests/api/_extracted/tdAppliance1-t2-ovftool-4.1.0/tdAppliance1-t2-ovftool-4.1.0-disk1.vmdk",
        ] {
            inputs.push(c.join(f));
        }
    }
    for (i, input) in inputs.iter().enumerate() {
        let out = d.join(format!("out{i}.raw"));
        let o = ovftool(&[
            "convert",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            "--to",
            "raw",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}: {o:?}", input.display());
        assert!(
            qemu_img(&[
                "compare",
                "-q",
                "-f",
                "raw",
                out.to_str().unwrap(),
                input.to_str().unwrap()
            ]),
            "{}: qemu-img compare differs",
            input.display()
        );
    }
    for fmt in ["qcow2", "vpc"] {
        let p = d.join(format!("foreign.{fmt}"));
        assert!(qemu_img(&[
            "convert",
            "-f",
            "raw",
            "-O",
            fmt,
            src.to_str().unwrap(),
            p.to_str().unwrap()
        ]));
        let out = d.join(format!("foreign-{fmt}.raw"));
        let o = ovftool(&[
            "convert",
            p.to_str().unwrap(),
            out.to_str().unwrap(),
            "--to",
            "raw",
        ]);
        assert_eq!(o.status.code(), Some(2), "{fmt}: {o:?}");
        assert!(!out.exists(), "{fmt}: no output for a refused input");
    }
}
