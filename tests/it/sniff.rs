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
            vec!["verify", img.to_str().unwrap()],
        ] {
            let out = ovftool(&cmd);
            assert_eq!(out.status.code(), Some(2), "{fmt} {cmd:?}: {out:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(want.name()), "{fmt}: {err}");
        }
        assert!(!out_path.exists(), "{fmt}: output written");
        // info describes it instead: its name and what to do.
        let out = ovftool(&["info", img.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{fmt} info: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(want.name()), "{fmt}: {text}");
        assert!(
            text.contains("convert it with qemu-img first"),
            "{fmt}: {text}"
        );
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
    // info describes it (exit 0); the commands that need a package refuse it, naming it.
    let out = ovftool(&["info", gz.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "info: {out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("gzip-compressed OVA"),
        "info: {out:?}"
    );
    let v = json_envelope(&["info", gz.to_str().unwrap()]);
    assert_eq!(v["kind"], "gzip-compressed-ova", "{v}");
    assert!(v["warnings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("uncompressed tar"));
    for cmd in ["verify", "validate", "unpack", "import"] {
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
/// corpus's real disks, qcow2 plain and compressed) gives what `qemu-img compare` calls
/// identical; a disk qemu reads but we do not decode (VHD) is refused, never written as raw.
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
    for (name, extra) in [("plain.qcow2", None), ("compressed.qcow2", Some("-c"))] {
        let p = d.join(name);
        let mut args = vec!["convert", "-q", "-f", "raw", "-O", "qcow2"];
        args.extend(extra);
        args.extend([src.to_str().unwrap(), p.to_str().unwrap()]);
        assert!(qemu_img(&args), "{name}");
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
    for fmt in ["vpc", "vhdx"] {
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

/// `info --json ARGS...`, checked for the shared envelope (docs/JSON.md) and exit 0.
fn json_envelope(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = ovftool(&all);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], 1, "{v}");
    assert_eq!(v["command"], args[0], "{v}");
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["findings"].is_array(), "{v}");
    assert!(v["warnings"].is_array(), "{v}");
    v
}

#[test]
fn info_gives_the_virtual_size_of_foreign_images_as_qemu_img_reads_it() {
    let Some((dir, _raw)) = raw_image_for_qemu() else {
        return;
    };
    // 16 MiB + 1 sector: VHD rounds to its CHS geometry, which the footer states.
    let size = ((16u64 << 20) + 512).to_string();
    for (fmt, opts, want, sized) in [
        ("qcow2", "", Foreign::Qcow2, true),
        ("vpc", "subformat=dynamic", Foreign::VhdDynamic, true),
        ("vpc", "subformat=fixed", Foreign::VhdFixed, true),
        ("vdi", "", Foreign::Vdi, true),
        ("parallels", "", Foreign::Parallels, true),
        // The VHDX size lies in its metadata region, past what info reads.
        ("vhdx", "", Foreign::Vhdx, false),
    ] {
        let img = dir.path().join(format!("{fmt}-{}.bin", opts.len()));
        let mut args = vec!["create", "-q", "-f", fmt];
        if !opts.is_empty() {
            args.extend(["-o", opts]);
        }
        args.extend([img.to_str().unwrap(), size.as_str()]);
        if !qemu_img(&args) {
            eprintln!("skipped {fmt}: qemu-img cannot write it");
            continue;
        }
        let q = Command::new("qemu-img")
            .args(["info", "--output=json", "-f", fmt])
            .arg(&img)
            .output()
            .unwrap();
        let q: serde_json::Value = serde_json::from_slice(&q.stdout).unwrap();
        let v = json_envelope(&["info", img.to_str().unwrap()]);
        if want == Foreign::Qcow2 {
            // Decoded (ovftool::qcow2): described as a disk, from its tables.
            assert_eq!(v["format"], "qcow2", "{fmt}: {v}");
            assert_eq!(v["capacity_bytes"], q["virtual-size"], "{fmt}: {v}");
            assert_eq!(v["allocated_bytes"], 0, "{fmt}: {v}");
            continue;
        }
        assert_eq!(v["kind"], "foreign-disk", "{fmt}: {v}");
        assert_eq!(v["format_name"], want.name(), "{fmt}: {v}");
        assert_eq!(v["convertible"], false, "{fmt}: {v}");
        assert_eq!(
            v["file_size_bytes"],
            std::fs::metadata(&img).unwrap().len(),
            "{fmt}: {v}"
        );
        if sized {
            assert_eq!(v["virtual_size_bytes"], q["virtual-size"], "{fmt}: {v}");
        } else {
            assert!(v["virtual_size_bytes"].is_null(), "{fmt}: {v}");
        }
        assert_eq!(v["warnings"][0]["code"], "foreign-disk", "{fmt}: {v}");
    }
}

#[test]
fn info_describes_a_manifest_and_a_certificate() {
    use ovftool::digest::Algorithm;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mf = format!(
        "SHA256(vm.ovf)= {}\nSHA1(vm-disk1.vmdk)= {}\n",
        support::sha256_hex(b"ovf"),
        hex::encode(Algorithm::Sha1.digest(b"disk"))
    );
    // No telling extension: the content decides.
    std::fs::write(d.join("m.txt"), &mf).unwrap();
    let out = ovftool(&["info", d.join("m.txt").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("manifest, 2 entries"), "{text}");
    assert!(text.contains("vm-disk1.vmdk"), "{text}");
    let v = json_envelope(&["info", d.join("m.txt").to_str().unwrap()]);
    assert_eq!(v["kind"], "manifest");
    assert_eq!(
        v["algorithms"],
        serde_json::json!(["SHA1", "SHA256"]),
        "{v}"
    );
    assert_eq!(v["entries"][1]["algorithm"], "SHA1", "{v}");
    assert_eq!(v["entries"][1]["name"], "vm-disk1.vmdk", "{v}");
    assert_eq!(
        v["entries"][0]["digest"],
        support::sha256_hex(b"ovf"),
        "{v}"
    );

    if !support::have_tool("openssl") {
        eprintln!("skipped the certificate: no openssl");
        return;
    }
    let (key, cert) = support::self_signed(d, "signer", "info test signer");
    let signer = ovftool::cert::Signer::from_pem(
        &std::fs::read(key).unwrap(),
        Some(&std::fs::read(cert).unwrap()),
    )
    .unwrap();
    let cf = signer
        .cert_file(Algorithm::Sha512, "vm.mf", mf.as_bytes())
        .unwrap();
    std::fs::write(d.join("c.bin"), &cf).unwrap();
    let out = ovftool(&["info", d.join("c.bin").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("a SHA512 signature"), "{text}");
    assert!(text.contains("over vm.mf"), "{text}");
    assert!(text.contains("CN=info test signer"), "{text}");
    assert!(text.contains("self-signed"), "{text}");
    let v = json_envelope(&["info", d.join("c.bin").to_str().unwrap()]);
    assert_eq!(v["kind"], "certificate");
    assert_eq!(v["algorithm"], "SHA512", "{v}");
    assert_eq!(v["manifest"], "vm.mf", "{v}");
    assert_eq!(v["signer"]["subject"], "CN=info test signer", "{v}");
    assert_eq!(v["signer"]["self_signed"], true, "{v}");
    assert!(
        v["signer"]["not_after"].as_u64() > v["signer"]["not_before"].as_u64(),
        "{v}"
    );
    assert_eq!(v["certificates"].as_array().unwrap().len(), 1, "{v}");
    // A certificate file that does not parse is an error, not a description.
    std::fs::write(
        d.join("bad.cert"),
        "SHA256(vm.mf)= zz\n-----BEGIN CERTIFICATE-----\nxx\n",
    )
    .unwrap();
    let out = ovftool(&["info", d.join("bad.cert").to_str().unwrap()]);
    assert_ne!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn convert_refuses_a_package_and_every_foreign_image_by_name() {
    // issue 12: an .ova given to convert became a 92 KiB "disk"; DMG, cloop and Bochs images
    // were copied as raw. Each is refused by its name and nothing is written; info describes
    // the foreign ones instead.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut dmg = vec![0u8; 4096];
    dmg.extend(b"koly");
    dmg.extend([0u8; 508]);
    let mut cloop = b"#!/bin/sh\n#V2.0 Format\n".to_vec();
    cloop.resize(4096, 0);
    let mut bochs = b"Bochs Virtual HD Image".to_vec();
    bochs.resize(4096, 0);
    let ova = std::fs::read(support::samples().join("appliance.ova")).unwrap();
    for (name, bytes, want) in [
        ("a.img", dmg, Foreign::Dmg.name()),
        ("b.img", cloop, Foreign::Cloop.name()),
        ("c.img", bochs, Foreign::Bochs.name()),
        ("d.img", ova, "OVA package"),
    ] {
        let input = d.join(name);
        std::fs::write(&input, bytes).unwrap();
        let out_path = d.join(format!("{name}.vmdk"));
        let out = ovftool(&[
            "convert",
            input.to_str().unwrap(),
            out_path.to_str().unwrap(),
            "--to",
            "stream-optimized",
        ]);
        assert_eq!(out.status.code(), Some(2), "{name}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{name}: {err}");
        assert!(!out_path.exists(), "{name}: output written");
        if want != "OVA package" {
            let v = json_envelope(&["info", input.to_str().unwrap()]);
            assert_eq!(v["format_name"], want, "{name}: {v}");
            assert!(v["virtual_size_bytes"].is_null(), "{name}: {v}");
        }
    }
}
