//! `edit`, `retarget` and `diff`: package-to-package transforms through the CLI.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::{self, assert_schema_valid, corpus, have_tool, ovftool, samples, tar_members};

fn appliance() -> PathBuf {
    samples().join("appliance.ova")
}

fn rc(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn member(ova: &Path, suffix: &str) -> Vec<u8> {
    tar_members(ova)
        .into_iter()
        .find(|(n, _)| n.ends_with(suffix))
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("no *{suffix} in {}", ova.display()))
}

/// Runs `ovftool-rs COMMAND INPUT OUTPUT EXTRA...`.
fn cmd(command: &str, input: &Path, output: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![command, input.to_str().unwrap(), output.to_str().unwrap()];
    args.extend_from_slice(extra);
    ovftool(&args)
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn edit_changes_version_and_property_keeps_disk_bytes_and_verifies() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("e.ova");
    let o = cmd(
        "edit",
        &appliance(),
        &out,
        &[
            "--product-version",
            "2.0.1",
            "--prop",
            "guestinfo.hostname=edited",
        ],
    );
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    let v = ovftool(&["verify", out.to_str().unwrap()]);
    assert_eq!(rc(&v), 0, "{}", stdout(&v));
    assert_eq!(
        member(&appliance(), ".vmdk"),
        member(&out, ".vmdk"),
        "disk bytes changed"
    );
    // Everything not edited is byte for byte what it was.
    let before = String::from_utf8(member(&appliance(), ".ovf")).unwrap();
    let after = String::from_utf8(member(&out, ".ovf")).unwrap();
    let changed: Vec<(&str, &str)> = before
        .trim_end()
        .lines()
        .zip(after.trim_end().lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert!(changed[0].1.contains("<Version>2.0.1</Version>"));
    assert!(changed[1].1.contains("ovf:value=\"edited\""));
    let d = ovftool(&["diff", appliance().to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(rc(&d), 1);
    assert!(stdout(&d).contains("1.0 -> 2.0.1"), "{}", stdout(&d));
    assert!(stdout(&d).contains("data identical"), "{}", stdout(&d));
    let same = ovftool(&[
        "diff",
        appliance().to_str().unwrap(),
        appliance().to_str().unwrap(),
    ]);
    assert_eq!(rc(&same), 0, "{}", stdout(&same));
    let j = ovftool(&[
        "--json",
        "diff",
        appliance().to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["same"], false);
    assert!(v["descriptor"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["old"] == "1.0" && c["new"] == "2.0.1"));
}

#[test]
fn edit_hardware_networks_eula_and_files_validate() {
    let t = tempfile::tempdir().unwrap();
    let eula = t.path().join("eula.txt");
    std::fs::write(&eula, "You may use this appliance.\n").unwrap();
    let iso = t.path().join("tools.iso");
    std::fs::write(&iso, vec![7u8; 10_000]).unwrap();
    let out = t.path().join("h.ova");
    let o = cmd(
        "edit",
        &appliance(),
        &out,
        &[
            "--cpus",
            "4",
            "--memory",
            "2G",
            "--nic-type",
            "e1000e",
            "--add-nic",
            "Backup",
            "--rename-net",
            "Management=Mgmt",
            "--hardware-version",
            "vmx-15",
            "--eula",
            eula.to_str().unwrap(),
            "--annotation",
            "edited by a test",
            "--prop",
            "new.key=v1",
            "--prop-label",
            "new.key=New key",
            "--prop-user-configurable",
            "new.key=true",
            "--add-file",
            iso.to_str().unwrap(),
        ],
    );
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    assert_eq!(rc(&ovftool(&["verify", out.to_str().unwrap()])), 0);
    let desc = String::from_utf8(member(&out, ".ovf")).unwrap();
    let dir = t.path().join("x");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("h.ovf"), &desc).unwrap();
    let v = ovftool(&["validate", dir.join("h.ovf").to_str().unwrap()]);
    assert_eq!(rc(&v), 0, "{}{}", stdout(&v), stderr(&v));
    for needle in [
        "<rasd:VirtualQuantity>4</rasd:VirtualQuantity>",
        "<rasd:VirtualQuantity>2048</rasd:VirtualQuantity>",
        "<rasd:Connection>Backup</rasd:Connection>",
        "<rasd:Connection>Mgmt</rasd:Connection>",
        "ovf:name=\"Mgmt\"",
        "vmx-15",
        "You may use this appliance.",
        "edited by a test",
        "ovf:key=\"new.key\"",
        "New key",
        "ovf:href=\"tools.iso\"",
    ] {
        assert!(desc.contains(needle), "missing {needle}");
    }
    assert!(!desc.contains(">Management<"));
    assert!(
        !desc.contains("ResourceSubType>VmxNet3<"),
        "every NIC became E1000e"
    );
    assert_eq!(member(&out, "tools.iso"), vec![7u8; 10_000]);
    // Removing the added file gives a package without it.
    let out2 = t.path().join("h2.ova");
    let id = desc
        .split("ovf:href=\"tools.iso\" ovf:id=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let o = cmd(
        "edit",
        &out,
        &out2,
        &["--remove-file", &id, "--remove-eula"],
    );
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    assert!(!tar_members(&out2).iter().any(|(n, _)| n == "tools.iso"));
    assert_eq!(rc(&ovftool(&["verify", out2.to_str().unwrap()])), 0);
}

#[test]
fn edit_refuses_output_equal_to_input_existing_output_and_bad_edits() {
    let t = tempfile::tempdir().unwrap();
    let copy = t.path().join("in.ova");
    std::fs::copy(appliance(), &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let mut args = vec![
            "edit",
            copy.to_str().unwrap(),
            copy.to_str().unwrap(),
            "--product-version",
            "3",
        ];
        args.extend_from_slice(extra);
        let o = ovftool(&args);
        assert_eq!(rc(&o), 2, "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(&copy).unwrap(), before);
    let out = t.path().join("out.ova");
    std::fs::write(&out, b"keep").unwrap();
    let o = cmd("edit", &copy, &out, &["--cpus", "2"]);
    assert_eq!(rc(&o), 2);
    assert_eq!(std::fs::read(&out).unwrap(), b"keep");
    std::fs::remove_file(&out).unwrap();
    // Edits that do not apply: clear errors, nothing written.
    for bad in [
        &["--remove-prop", "no.such.key"][..],
        &["--remove-device", "3"][..], // a controller with a disk on it
        &["--rename-net", "Nope=X"][..],
        &["--remove-file", "file1"][..], // the disk's file
        &["--nic-type", "virtio"][..],
        &["--cpus", "0"][..],
    ] {
        let mut args = vec!["edit", copy.to_str().unwrap(), out.to_str().unwrap()];
        args.extend_from_slice(bad);
        let o = ovftool(&args);
        assert_eq!(rc(&o), 2, "{bad:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("error"), "{bad:?}");
        assert!(!out.exists(), "{bad:?} left an output");
    }
    assert_eq!(leftovers(t.path()), vec!["in.ova".to_string()]);
}

#[test]
fn edit_of_a_damaged_package_fails_and_leaves_nothing() {
    let t = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(appliance()).unwrap();
    // Flip a byte inside the disk member (the last member; its data ends before the tar end).
    let n = bytes.len();
    bytes[n - 1024 - 600] ^= 0xff;
    let bad = t.path().join("bad.ova");
    std::fs::write(&bad, &bytes).unwrap();
    let out = t.path().join("out.ova");
    // --verify reads the carried disk and refuses the damage before publishing anything.
    let o = cmd("edit", &bad, &out, &["--cpus", "2", "--verify"]);
    assert_eq!(rc(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("does not match"), "{}", stderr(&o));
    assert!(!out.exists());
    assert_eq!(leftovers(t.path()), vec!["bad.ova".to_string()]);
    // Without it the disk is copied unread with the input manifest's digest: the output's
    // manifest still describes the original bytes, so the damage fails its verification.
    let o = cmd("edit", &bad, &out, &["--cpus", "2"]);
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    let in_mf = String::from_utf8(member(&bad, ".mf")).unwrap();
    let out_mf = String::from_utf8(member(&out, ".mf")).unwrap();
    let disk_line = |mf: &str| {
        mf.lines()
            .find(|l| l.contains(".vmdk"))
            .unwrap()
            .to_string()
    };
    assert_eq!(disk_line(&in_mf), disk_line(&out_mf));
    let v = ovftool(&["verify", out.to_str().unwrap()]);
    assert_eq!(rc(&v), 1, "{}{}", stdout(&v), stderr(&v));
    std::fs::remove_file(&out).unwrap();
    // A damaged descriptor is refused either way (it is read whole).
    let mut bytes = std::fs::read(appliance()).unwrap();
    let at = bytes
        .windows(9)
        .position(|w| w == b"<Product>")
        .expect("a Product element");
    bytes[at + 9] ^= 0x20;
    std::fs::write(&bad, &bytes).unwrap();
    let o = cmd("edit", &bad, &out, &["--cpus", "2"]);
    assert_eq!(rc(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("does not match"), "{}", stderr(&o));
    assert!(!out.exists());
    // Not an archive at all.
    let junk = t.path().join("junk.ova");
    std::fs::write(&junk, b"not a tar").unwrap();
    let o = ovftool(&["edit", junk.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(rc(&o), 1, "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn edit_streams_from_stdin_to_stdout() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("s.ova");
    let mut child = Command::new(crate::support::bin())
        .args(["edit", "-", "-", "--vendor", "Streamed Inc."])
        .stdin(std::fs::File::open(appliance()).unwrap())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    assert_eq!(rc(&ovftool(&["verify", out.to_str().unwrap()])), 0);
    assert!(String::from_utf8_lossy(&member(&out, ".ovf")).contains("Streamed Inc."));
    assert_eq!(member(&appliance(), ".vmdk"), member(&out, ".vmdk"));
}

#[test]
fn edit_folder_to_folder() {
    let t = tempfile::tempdir().unwrap();
    let pkg = t.path().join("pkg");
    let o = ovftool(&[
        "unpack",
        appliance().to_str().unwrap(),
        pkg.to_str().unwrap(),
    ]);
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    let out = t.path().join("edited");
    let o = cmd("edit", &pkg, &out, &["--product", "Folder Appliance"]);
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    assert!(out.is_dir());
    let v = ovftool(&["verify", out.to_str().unwrap()]);
    assert_eq!(rc(&v), 0, "{}", stdout(&v));
}

#[test]
fn edit_of_a_folder_refuses_a_file_outside_it() {
    let t = tempfile::tempdir().unwrap();
    let pkg = t.path().join("pkg");
    let o = ovftool(&[
        "unpack",
        appliance().to_str().unwrap(),
        pkg.to_str().unwrap(),
    ]);
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    // The disk's File now names a file beside the folder: ../x.
    let ovf = std::fs::read_dir(&pkg)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "ovf"))
        .unwrap();
    let text = std::fs::read_to_string(&ovf).unwrap();
    let disk = std::fs::read_dir(&pkg)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".vmdk"))
        .unwrap();
    assert!(text.contains(&format!("ovf:href=\"{disk}\"")));
    std::fs::write(
        &ovf,
        text.replace(&format!("ovf:href=\"{disk}\""), "ovf:href=\"../x\""),
    )
    .unwrap();
    for e in std::fs::read_dir(&pkg).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|e| e == "mf" || e == "cert") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let outside = t.path().join("x");
    std::fs::copy(pkg.join(&disk), &outside).unwrap();
    let before = std::fs::metadata(&outside).unwrap();
    for out in [t.path().join("edited"), t.path().join("edited.ova")] {
        let o = cmd("edit", &pkg, &out, &["--product", "Outside"]);
        // An unsafe name fails the package's checks (exit 1, as verify reports it).
        assert_eq!(rc(&o), 1, "{}: {}", out.display(), stderr(&o));
        assert!(stderr(&o).contains("../x"), "{}", stderr(&o));
        assert!(!out.exists(), "{} written", out.display());
    }
    let after = std::fs::metadata(&outside).unwrap();
    assert_eq!(before.len(), after.len());
    assert_eq!(before.modified().unwrap(), after.modified().unwrap());
    let mut names = leftovers(t.path());
    names.sort();
    assert_eq!(names, ["pkg", "x"]);
}

fn make_key(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    if !have_tool("openssl") {
        return None;
    }
    let key = dir.join("key.pem");
    let cert = dir.join("cert.pem");
    let ok = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
        ])
        .arg("/CN=transform test")
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok);
    Some((key, cert))
}

#[test]
fn signed_package_edit_needs_sign_or_unsign() {
    let t = tempfile::tempdir().unwrap();
    let Some((key, cert)) = make_key(t.path()) else {
        return;
    };
    let signed = t.path().join("signed.ova");
    let o = cmd(
        "edit",
        &appliance(),
        &signed,
        &[
            "--product-version",
            "5",
            "--sign",
            key.to_str().unwrap(),
            "--cert",
            cert.to_str().unwrap(),
        ],
    );
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    let v = ovftool(&["verify", signed.to_str().unwrap()]);
    assert_eq!(rc(&v), 0, "{}", stdout(&v));
    let said = format!("{}{}", stdout(&v), stderr(&v));
    assert!(said.contains("signature valid"), "{said}");
    // An edit without a decision on the signature is refused.
    let out = t.path().join("o.ova");
    let o = cmd("edit", &signed, &out, &["--cpus", "3"]);
    assert_eq!(rc(&o), 2);
    assert!(stderr(&o).contains("--unsign"), "{}", stderr(&o));
    assert!(!out.exists());
    // No change at all keeps the signature as it was.
    let o = ovftool(&["edit", signed.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    assert_eq!(member(&out, ".cert"), member(&signed, ".cert"));
    assert_eq!(rc(&ovftool(&["verify", out.to_str().unwrap()])), 0);
    std::fs::remove_file(&out).unwrap();
    let o = cmd("edit", &signed, &out, &["--cpus", "3", "--unsign"]);
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    assert!(!tar_members(&out).iter().any(|(n, _)| n.ends_with(".cert")));
    assert_eq!(rc(&ovftool(&["verify", out.to_str().unwrap()])), 0);
}

fn virtualbox_ovas() -> Vec<PathBuf> {
    let Some(c) = corpus() else {
        return Vec::new();
    };
    let dir = c.join("cyberus-technology__virtualbox-kvm/src/VBox/ValidationKit/tests/api");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "ova"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn retarget_corpus_virtualbox_ovas_for_esxi_validate_import_and_keep_disk_data() {
    let ovas = virtualbox_ovas();
    if ovas.is_empty() || !have_tool("qemu-img") {
        return;
    }
    for ova in ovas {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("r.ova");
        let o = cmd("retarget", &ova, &out, &["--for", "esxi-7.0"]);
        assert_eq!(rc(&o), 0, "{}: {}", ova.display(), stderr(&o));
        let r = t.path().join("r");
        std::fs::create_dir(&r).unwrap();
        for (n, d) in tar_members(&out) {
            std::fs::write(r.join(&n), d).unwrap();
        }
        let ovf = leftovers(&r)
            .into_iter()
            .find(|n| n.ends_with(".ovf"))
            .unwrap();
        let v = ovftool(&["validate", r.join(&ovf).to_str().unwrap()]);
        assert_eq!(rc(&v), 0, "{}: {}", ova.display(), stdout(&v));
        let i = ovftool(&[
            "import",
            out.to_str().unwrap(),
            t.path().join("vm").to_str().unwrap(),
        ]);
        assert_eq!(rc(&i), 0, "{}: {}", ova.display(), stderr(&i));
        // Every original disk (gunzipped if need be) equals its retargeted copy.
        for (n, d) in tar_members(&ova) {
            let (name, data) = if let Some(base) = n.strip_suffix(".gz") {
                let mut v = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&d[..]), &mut v)
                    .unwrap();
                (base.to_string(), v)
            } else {
                (n.clone(), d)
            };
            if !name.ends_with(".vmdk") {
                continue;
            }
            let orig = t.path().join(format!("orig-{name}"));
            std::fs::write(&orig, data).unwrap();
            let c = Command::new("qemu-img")
                .args(["compare", "-q"])
                .arg(&orig)
                .arg(r.join(&name))
                .status()
                .unwrap();
            assert!(c.success(), "{}: {name} differs", ova.display());
        }
    }
}

#[test]
fn retarget_dry_run_lists_changes_and_writes_nothing() {
    let Some(ova) = virtualbox_ovas()
        .into_iter()
        .find(|p| p.ends_with("tdAppliance1-t4.ova"))
    else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("r.ova");
    let o = ovftool(&[
        "--json",
        "retarget",
        ova.to_str().unwrap(),
        out.to_str().unwrap(),
        "--for",
        "esxi-6.7",
        "--dry-run",
    ]);
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    assert!(!out.exists());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let changes = v["changes"].as_array().unwrap();
    assert!(changes
        .iter()
        .any(|c| c.as_str().unwrap().contains("decompressed")));
    assert!(changes
        .iter()
        .any(|c| c.as_str().unwrap().contains("signature removed")));
    let bad = cmd("retarget", &ova, &out, &["--for", "esxi-5"]);
    assert_eq!(rc(&bad), 2);
    assert!(!out.exists());
}

#[test]
fn retarget_virtualbox_made_descriptor_gets_vmware_devices_and_family() {
    let Some(c) = corpus() else { return };
    let src = c.join("vmware__govmomi/ovf/fixtures/external/OVFToolTemplates/OVF/xmltestfiles/LaxMode/Pos/vbox6_all_controller_subtypes/vbox6.ovf");
    if !src.is_file() || !have_tool("qemu-img") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let pkg = t.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    let text = std::fs::read_to_string(&src).unwrap();
    std::fs::write(pkg.join("vbox6.ovf"), &text).unwrap();
    // The disk's declared capacity (10 GiB, sparse): validate compares it with the VMDK's.
    let raw = t.path().join("z.raw");
    std::fs::File::create(&raw)
        .unwrap()
        .set_len(10 << 30)
        .unwrap();
    for href in text.split("ovf:href=\"").skip(1) {
        let name = href.split('"').next().unwrap();
        let ok = Command::new("qemu-img")
            .args(["convert", "-O", "vmdk", "-o", "subformat=streamOptimized"])
            .arg(&raw)
            .arg(pkg.join(name))
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
    // Invalid for ovftool without --lax (virtualbox-2.2 family, VirtualBox subtypes).
    assert_ne!(
        rc(&ovftool(&[
            "validate",
            pkg.join("vbox6.ovf").to_str().unwrap()
        ])),
        0
    );
    let out = t.path().join("r.ova");
    let o = cmd("retarget", &pkg, &out, &["--for", "esxi-8.0"]);
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("hardware family"), "{}", stdout(&o));
    let r = t.path().join("r");
    std::fs::create_dir(&r).unwrap();
    for (n, d) in tar_members(&out) {
        std::fs::write(r.join(&n), d).unwrap();
    }
    let v = ovftool(&["validate", r.join("vbox6.ovf").to_str().unwrap()]);
    assert_eq!(rc(&v), 0, "{}", stdout(&v));
    let i = ovftool(&[
        "import",
        out.to_str().unwrap(),
        t.path().join("vm").to_str().unwrap(),
    ]);
    assert_eq!(rc(&i), 0, "{}", stderr(&i));
}

#[test]
fn diff_of_two_disks_reports_the_differing_grain() {
    if !have_tool("qemu-img") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let mut data = vec![0u8; 4 << 20];
    for (i, b) in data.iter_mut().enumerate().take(1 << 20) {
        *b = (i % 251) as u8;
    }
    let a_raw = t.path().join("a.raw");
    std::fs::write(&a_raw, &data).unwrap();
    data[(2 << 20) + 70_000] = 1; // in the grain at 0x210000
    let b_raw = t.path().join("b.raw");
    std::fs::write(&b_raw, &data).unwrap();
    let conv = |raw: &Path, out: &Path| {
        assert!(Command::new("qemu-img")
            .args(["convert", "-O", "vmdk", "-o", "subformat=streamOptimized"])
            .arg(raw)
            .arg(out)
            .status()
            .unwrap()
            .success());
    };
    let a = t.path().join("a.vmdk");
    let b = t.path().join("b.vmdk");
    conv(&a_raw, &a);
    conv(&b_raw, &b);
    let o = ovftool(&["--json", "diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(rc(&o), 1, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = &v["disks"][0];
    assert_eq!(d["differing_ranges"], 1);
    assert_eq!(d["differing_bytes"], 65536);
    assert_eq!(d["first_ranges"][0][0], 0x210000);
    // The 16 equal data grains were not inflated.
    assert_eq!(d["grains_same_compressed"], 16);
    let same = ovftool(&["diff", a.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(rc(&same), 0);
    let missing = ovftool(&["diff", a.to_str().unwrap(), "/nonexistent.vmdk"]);
    assert_eq!(rc(&missing), 2);
}

#[test]
fn diff_compares_gzip_and_chunked_disks_through_the_file_reader() {
    let t = tempfile::tempdir().unwrap();
    // The appliance's 16 MiB disk with 4 MiB of data; B differs from A in one grain.
    let mut raw = vec![0u8; 16 << 20];
    for (i, b) in raw.iter_mut().enumerate().take(4 << 20) {
        *b = (i % 251) as u8;
    }
    let a_disk = support::stream_vmdk(t.path(), &raw);
    raw[(2 << 20) + 70_000] ^= 0xff; // in the grain at 0x210000
    let b_disk = support::stream_vmdk(t.path(), &raw);
    let ova = |name: &str, disk: &[u8], gzip: bool, chunk: Option<usize>| {
        let p = t.path().join(format!("{name}.ova"));
        support::write_tar(
            &p,
            &support::appliance_stored(Some(disk.to_vec()), gzip, chunk),
        );
        p
    };
    let a_gz = ova("a-gz", &a_disk, true, None);
    let a_plain = ova("a-plain", &a_disk, false, None);
    let a_chunked = ova("a-chunked", &a_disk, false, Some(100_000));
    let b_gz = ova("b-gz", &b_disk, true, None);
    let b_gz_chunked = t.path().join("b-gz-chunked");
    support::write_folder(
        &b_gz_chunked,
        &support::appliance_stored(Some(b_disk.clone()), true, Some(50_000)),
    );
    let a_gz_folder = t.path().join("a-gz-folder");
    support::write_folder(&a_gz_folder, &tar_members(&a_gz));
    let diff = |a: &Path, b: &Path| {
        let o = ovftool(&["--json", "diff", a.to_str().unwrap(), b.to_str().unwrap()]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (rc(&o), v)
    };
    // Different in one grain, whichever way each side stores the disk.
    for (a, b) in [
        (&a_gz, &b_gz),
        (&a_chunked, &b_gz_chunked),
        (&a_plain, &b_gz),
    ] {
        let (code, v) = diff(a, b);
        assert_eq!(code, 1, "{v}");
        let d = &v["disks"][0];
        assert_eq!(d["compared"], true, "{}: {v}", a.display());
        assert_eq!(d["differing_ranges"], 1, "{v}");
        assert_eq!(d["differing_bytes"], 65536, "{v}");
        assert_eq!(d["first_ranges"][0][0], 0x210000, "{v}");
        // The equal data grains were compared compressed, not inflated.
        assert!(d["grains_same_compressed"].as_u64().unwrap() >= 60, "{v}");
    }
    // The same disk: an OVA and its folder are the same package; stored otherwise, only the
    // File attributes differ, not the data.
    let (code, v) = diff(&a_gz, &a_gz_folder);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["disks"][0]["compared"], true, "{v}");
    for (a, b) in [(&a_gz, &a_chunked), (&a_plain, &b_gz_chunked)] {
        let (code, v) = diff(a, b);
        assert_eq!(code, 1, "{v}");
        assert_eq!(v["disks"][0]["compared"], true, "{v}");
        let data_differs = a == &a_plain;
        assert_eq!(
            v["disks"][0]["differing_bytes"].as_u64().unwrap() > 0,
            data_differs,
            "{v}"
        );
        assert!(
            v["descriptor"].to_string().contains("compression")
                || v["descriptor"].to_string().contains("chunkSize"),
            "{v}"
        );
    }
}

/// The descriptor of `ova`, written to `dir` for `validate` and xmllint.
fn descriptor_file(ova: &Path, dir: &Path) -> PathBuf {
    let (name, data) = tar_members(ova)
        .into_iter()
        .find(|(n, _)| n.ends_with(".ovf"))
        .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn edit_deployment_options_add_set_default_and_remove() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("c.ova");
    let o = ovftool(&[
        "--json",
        "edit",
        appliance().to_str().unwrap(),
        out.to_str().unwrap(),
        "--add-config",
        "small=Small",
        "--add-config",
        "large=Large (4 CPUs)",
        "--config-description",
        "large=For busy sites",
        "--default-config",
        "large",
    ]);
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("deployment option small added"),
        "{}",
        stdout(&o)
    );
    assert_eq!(rc(&ovftool(&["verify", out.to_str().unwrap()])), 0);
    let ovf = descriptor_file(&out, &t.path().join("c"));
    let v = ovftool(&["validate", ovf.to_str().unwrap()]);
    assert_eq!(rc(&v), 0, "{}{}", stdout(&v), stderr(&v));
    assert_schema_valid(&ovf, 1);
    let info = ovftool(&["--json", "info", out.to_str().unwrap()]);
    let j: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    let text = j.to_string();
    assert!(text.contains("For busy sites"), "{text}");
    let desc = std::fs::read_to_string(&ovf).unwrap();
    let large = desc.find("ovf:id=\"large\"").unwrap();
    let small = desc.find("ovf:id=\"small\"").unwrap();
    assert!(small < large);
    assert!(
        desc[large - 60..large + 40].contains("ovf:default=\"true\""),
        "{desc}"
    );
    // Removing one keeps the other as the only (default) option; removing both drops the
    // section.
    let out2 = t.path().join("c2.ova");
    let o = cmd(
        "edit",
        &out,
        &out2,
        &["--remove-config", "small", "--default-config", "large"],
    );
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    let d2 = String::from_utf8(member(&out2, ".ovf")).unwrap();
    assert!(!d2.contains("\"small\"") && d2.contains("\"large\""));
    let out3 = t.path().join("c3.ova");
    let o = cmd("edit", &out2, &out3, &["--remove-config", "large"]);
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    assert!(!String::from_utf8(member(&out3, ".ovf"))
        .unwrap()
        .contains("DeploymentOptionSection"));
    // Unknown ids are usage errors.
    for args in [["--remove-config", "nope"], ["--default-config", "nope"]] {
        let o = ovftool(&[
            "edit",
            out3.to_str().unwrap(),
            t.path().join("x.ova").to_str().unwrap(),
            args[0],
            args[1],
        ]);
        assert_eq!(rc(&o), 2, "{}", stderr(&o));
    }
    // A description for an option that does not exist is an error naming those that do; it
    // never creates one.
    let o = ovftool(&[
        "edit",
        out.to_str().unwrap(),
        t.path().join("y.ova").to_str().unwrap(),
        "--config-description",
        "medium=Mid-size",
    ]);
    assert_eq!(rc(&o), 2, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("medium") && e.contains("small") && e.contains("large"),
        "{e}"
    );
    assert!(!t.path().join("y.ova").exists());
}

#[test]
fn edit_device_types_are_checked_by_the_command_line() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("n.ova");
    let o = cmd("edit", &appliance(), &out, &["--nic-type", "rtl8139"]);
    assert_eq!(rc(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("vmxnet3"), "{}", stderr(&o));
    assert!(!out.exists());
    // OVF spellings are accepted as aliases, case-insensitively.
    let o = cmd(
        "edit",
        &appliance(),
        &out,
        &["--nic-type", "PCNet32", "--scsi-type", "VirtualSCSI"],
    );
    assert_eq!(rc(&o), 0, "{}", stderr(&o));
    let d = String::from_utf8(member(&out, ".ovf")).unwrap();
    assert!(d.contains(">PCNet32<"), "{d}");
}

/// A package folder around the OVF 0.9 descriptor `ovf` of the corpus, with a small
/// streamOptimized disk (qemu-img) of the declared capacity under each disk's file name.
fn ovf09_package(ovf: &Path, dir: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(ovf).unwrap();
    let env = ovftool::ovf::Envelope::parse(text.as_bytes()).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    for d in env.disks() {
        let f = env.file(d.file_ref.as_deref()?)?;
        let cap = d.capacity_bytes(&env).ok()?;
        let st = Command::new("qemu-img")
            .args([
                "create",
                "-q",
                "-f",
                "vmdk",
                "-o",
                "subformat=streamOptimized",
            ])
            .arg(dir.join(&f.href))
            .arg(cap.to_string())
            .status()
            .unwrap();
        assert!(st.success());
    }
    // The declared sizes are those of the original disks: drop them (ovf:size is optional).
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find(" ovf:size=\"") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 11..];
        rest = &after[after.find('"').unwrap() + 1..];
    }
    out.push_str(rest);
    let p = dir.join(ovf.file_name().unwrap());
    std::fs::write(&p, out).unwrap();
    Some(p)
}

#[test]
fn retarget_ovf09_descriptors_become_ovf1_that_validate_and_pass_the_schema() {
    let Some(c) = corpus() else { return };
    if !have_tool("qemu-img") {
        return;
    }
    let base = c.join(
        "vmware__govmomi/ovf/fixtures/external/OVFToolTemplates/OVF/xmltestfiles/LaxMode/Pos",
    );
    let mut found = 0;
    for case in [
        "vbox1_default_vm_0.9/vbox1_0.9.ovf",
        "vbox5_all_storage_controllers_0.9/vbox5_0.9.ovf",
        "vbox6_all_controller_subtypes_0.9/vbox6_0.9.ovf",
        "vbox10_four_different_network_adapters/vbox10_0.9.ovf",
    ] {
        let src = base.join(case);
        if !src.is_file() {
            continue;
        }
        found += 1;
        let t = tempfile::tempdir().unwrap();
        let Some(pkg) = ovf09_package(&src, &t.path().join("in")) else {
            continue;
        };
        let out = t.path().join("r.ova");
        let o = ovftool(&[
            "--json",
            "retarget",
            pkg.to_str().unwrap(),
            out.to_str().unwrap(),
            "--for",
            "esxi-7.0",
        ]);
        assert_eq!(rc(&o), 0, "{case}: {}", stderr(&o));
        assert!(
            stdout(&o).contains("OVF 0.9 -> 1.0"),
            "{case}: {}",
            stdout(&o)
        );
        let ovf = descriptor_file(&out, &t.path().join("r"));
        let desc = std::fs::read_to_string(&ovf).unwrap();
        assert!(
            desc.contains("http://schemas.dmtf.org/ovf/envelope/1"),
            "{case}"
        );
        assert!(!desc.contains("vmware.com/schema/ovf/1/envelope"), "{case}");
        assert!(!desc.contains("xsi:type=\"ovf:"), "{case}");
        // Valid without --lax, against the package (disks included) and the DMTF schema.
        let v = ovftool(&["validate", ovf.to_str().unwrap()]);
        assert_eq!(rc(&v), 0, "{case}: {}{}", stdout(&v), stderr(&v));
        let v = ovftool(&["validate", out.to_str().unwrap()]);
        assert_eq!(rc(&v), 0, "{case}: {}{}", stdout(&v), stderr(&v));
        assert_schema_valid(&ovf, 1);
    }
    assert!(found > 0, "no OVF 0.9 case in the corpus");
}

#[test]
fn retarget_stops_a_gzip_bomb_at_what_the_disk_can_hold() {
    let t = tempfile::tempdir().unwrap();
    let pkg = t.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    // 64 MiB of zeros behind a 1 MiB raw disk: inflating past 1 MiB is the bomb.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &vec![0u8; 64 << 20]).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(pkg.join("disk.img.gz"), &gz).unwrap();
    let ovf = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="disk.img.gz" ovf:id="file1" ovf:size="{}" ovf:compression="gzip"/></References>
  <DiskSection><Info>Disks</Info><Disk ovf:capacity="1048576" ovf:diskId="d1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
  <VirtualSystem ovf:id="vm"><Info>A VM</Info>
    <VirtualHardwareSection><Info>Hardware</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:ElementName>1 CPU</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#,
        gz.len()
    );
    std::fs::write(pkg.join("bomb.ovf"), ovf).unwrap();
    let out = t.path().join("r.ova");
    let o = cmd("retarget", &pkg, &out, &["--for", "esxi-7.0"]);
    // A limit exceeded by the input is a refusal of the input: exit 1.
    assert_eq!(rc(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("inflated size"), "{}", stderr(&o));
    assert!(!out.exists());
    assert_eq!(leftovers(t.path()), vec!["pkg".to_string()]);
}
