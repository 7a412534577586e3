//! Integration tests: `export` (issue 6). Synthetic VM folders (a `.vmx` plus qemu-made disks in
//! every layout, a snapshot chain, several controllers and NICs, EFI with NVRAM, a template) and
//! the real `.vmx` files of the corpus with small synthetic disks. Each export is checked by
//! independent tools: `xmllint` against the DMTF schema, `verify`, `qemu-img compare` of every
//! disk, and the Envelope → Machine mapping for the round trip of the hardware.

use std::path::{Path, PathBuf};
use std::process::Command;

use ovftool::digest::Algorithm;
use ovftool::export::{export, ExportOptions, ExportReport};
use ovftool::ovf::{Envelope, OvfVersion};
use ovftool::verify::{verify, VerifyOptions};
use ovftool::vm::{Firmware, Machine};
use ovftool::vmx::Vmx;
use ovftool::ErrorKind;

use crate::support::{self, have_tool, qemu_vmdk};

fn qemu() -> bool {
    let ok = have_tool("qemu-img");
    if !ok {
        eprintln!("skipping: qemu-img not installed");
    }
    ok
}

fn sh(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A raw image of `mib` MiB with recognisable data: text, random-ish bytes and holes.
fn raw_image(path: &Path, mib: u64, seed: u8) {
    let size = mib << 20;
    let mut data = vec![0u8; size as usize];
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    for (i, chunk) in data.chunks_mut(64 << 10).enumerate() {
        match i % 4 {
            0 => {
                let text = format!("ovftool-rs export test disk {seed} grain {i}\n");
                for (j, b) in chunk.iter_mut().enumerate() {
                    *b = text.as_bytes()[j % text.len()];
                }
            }
            1 => {
                for b in chunk.iter_mut() {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    *b = x as u8;
                }
            }
            _ => {}
        }
    }
    std::fs::write(path, data).unwrap();
}

fn opts() -> ExportOptions {
    ExportOptions {
        mtime: Some(1_700_000_000),
        threads: 2,
        ..ExportOptions::default()
    }
}

fn extract(ova: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    sh(Command::new("tar").arg("-xf").arg(ova).arg("-C").arg(to));
}

fn tar_list(ova: &Path) -> Vec<String> {
    let out = Command::new("tar").arg("-tf").arg(ova).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn xmllint_ok(ovf: &Path, version: OvfVersion) {
    support::assert_schema_valid(ovf, if version == OvfVersion::V2 { 2 } else { 1 });
}

fn verify_ok(path: &Path) {
    let r = verify(path, &VerifyOptions::default()).unwrap();
    let errors: Vec<_> = r.errors().collect();
    assert!(r.passed(), "{}: {errors:?}", path.display());
}

fn same_disk(a: &Path, b: &Path) {
    let out = Command::new("qemu-img")
        .args(["compare", "-q"])
        .arg(a)
        .arg(b)
        .output()
        .unwrap();
    if !out.status.success() {
        // Say where they differ (or why qemu-img could not tell).
        let detail = Command::new("qemu-img")
            .arg("compare")
            .arg(a)
            .arg(b)
            .output()
            .unwrap();
        if let Ok(keep) = std::env::var("OVFTOOL_KEEP_FAILED") {
            let keep = Path::new(&keep);
            std::fs::create_dir_all(keep).unwrap();
            // The whole test folder (sources, VM, outputs) for a post-mortem.
            let _ = Command::new("cp")
                .arg("-a")
                .arg(a.parent().unwrap())
                .arg(keep)
                .status();
        }
        panic!(
            "{} differs from {} (qemu-img compare exit {:?}): {}{}",
            a.display(),
            b.display(),
            out.status.code(),
            String::from_utf8_lossy(&detail.stdout),
            String::from_utf8_lossy(&detail.stderr)
        );
    }
}

/// The machine the package describes, read back through the OVF mapping.
fn machine_of(ovf: &Path) -> Machine {
    let env = Envelope::parse(&std::fs::read(ovf).unwrap()).unwrap();
    Machine::from_envelope(&env, None, None).unwrap().0
}

/// The hardware facts a round trip must keep.
fn hardware(m: &Machine) -> String {
    let ctl: Vec<String> = m
        .controllers
        .iter()
        .map(|c| format!("{:?}{}", c.kind, c.bus))
        .collect();
    let disks: Vec<String> = m.disks.iter().map(|d| d.attachment.to_string()).collect();
    let nics: Vec<String> = m
        .nics
        .iter()
        .map(|n| format!("{}:{:?}:{:?}", n.index, n.adapter, n.network))
        .collect();
    let cds: Vec<String> = m.cdroms.iter().map(|c| c.attachment.to_string()).collect();
    format!(
        "cpus={} cps={:?} mem={} fw={:?} sb={} os={:?} hw={:?} ctl={ctl:?} disks={disks:?} \
         nics={nics:?} cd={cds:?} vmci={} usb={:?}",
        m.cpus,
        m.cores_per_socket,
        m.memory_mib,
        m.firmware,
        m.secure_boot,
        m.guest_os.guest_id,
        m.hardware_version,
        m.vmci,
        m.usb
    )
}

const VMX: &str = r#".encoding = "UTF-8"
config.version = "8"
virtualHW.version = "19"
displayName = "Export Test"
guestOS = "ubuntu-64"
numvcpus = "4"
cpuid.coresPerSocket = "2"
memsize = "1024"
firmware = "efi"
uefi.secureBoot.enabled = "TRUE"
nvram = "Export Test.nvram"
scsi0.present = "TRUE"
scsi0.virtualDev = "pvscsi"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "sparse.vmdk"
scsi0:1.present = "TRUE"
scsi0:1.fileName = "flat.vmdk"
scsi0:2.present = "TRUE"
scsi0:2.fileName = "split-sparse.vmdk"
scsi1.present = "TRUE"
scsi1.virtualDev = "lsilogic"
scsi1:0.present = "TRUE"
scsi1:0.fileName = "split-flat.vmdk"
scsi1:1.present = "TRUE"
scsi1:1.fileName = "vmfs.vmdk"
sata0.present = "TRUE"
sata0:0.present = "TRUE"
sata0:0.fileName = "chain.vmdk"
sata0:1.present = "TRUE"
sata0:1.deviceType = "cdrom-image"
sata0:1.fileName = "tools.iso"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "vmxnet3"
ethernet0.networkName = "VM Network"
ethernet0.addressType = "generated"
ethernet1.present = "TRUE"
ethernet1.virtualDev = "e1000e"
ethernet1.networkName = "Backend"
usb.present = "TRUE"
usb_xhci.present = "TRUE"
vmci0.present = "TRUE"
floppy0.present = "FALSE"
"#;

/// Writes the synthetic VM: disks in every hosted layout plus a snapshot chain; runtime files
/// that must never be shipped. Returns (VM folder, [(vmx fileName, raw image of its current
/// state)]).
fn build_vm(root: &Path) -> (PathBuf, Vec<(String, PathBuf)>) {
    let vm = root.join("vm");
    std::fs::create_dir_all(&vm).unwrap();
    let mut disks = Vec::new();
    for (i, (name, sub)) in [
        ("sparse.vmdk", "monolithicSparse"),
        ("flat.vmdk", "monolithicFlat"),
        ("split-sparse.vmdk", "twoGbMaxExtentSparse"),
        ("split-flat.vmdk", "twoGbMaxExtentFlat"),
    ]
    .into_iter()
    .enumerate()
    {
        let raw = root.join(format!("{name}.raw"));
        raw_image(&raw, 2 + i as u64, i as u8);
        qemu_vmdk(&raw, &vm.join(name), sub);
        disks.push((name.to_string(), raw));
    }
    // An ESXi-style vmfs descriptor over a flat extent (qemu cannot write one).
    let raw = root.join("vmfs.raw");
    raw_image(&raw, 1, 7);
    std::fs::copy(&raw, vm.join("vmfs-flat.vmdk")).unwrap();
    std::fs::write(
        vm.join("vmfs.vmdk"),
        "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=fffffffe\nparentCID=ffffffff\n\
         createType=\"vmfs\"\n\n# Extent description\nRW 2048 VMFS \"vmfs-flat.vmdk\"\n\n\
         # The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\nddb.virtualHWVersion = \"19\"\n",
    )
    .unwrap();
    disks.push(("vmfs.vmdk".to_string(), raw));
    // A snapshot chain: base + delta written on top; the current state is what ships.
    let base_raw = root.join("base.raw");
    raw_image(&base_raw, 3, 9);
    qemu_vmdk(&base_raw, &vm.join("chain-base.vmdk"), "monolithicSparse");
    sh(Command::new("qemu-img").current_dir(&vm).args([
        "create",
        "-q",
        "-f",
        "vmdk",
        "-b",
        "chain-base.vmdk",
        "-F",
        "vmdk",
        "chain.vmdk",
    ]));
    if have_tool("qemu-io") {
        sh(Command::new("qemu-io").current_dir(&vm).args([
            "-c",
            "write -P 0x5a 1M 512k",
            "chain.vmdk",
        ]));
    }
    let now = root.join("chain-now.raw");
    sh(Command::new("qemu-img")
        .args(["convert", "-q", "-O", "raw"])
        .arg(vm.join("chain.vmdk"))
        .arg(&now));
    disks.push(("chain.vmdk".to_string(), now));
    std::fs::write(vm.join("Export Test.nvram"), b"NVRAM\x00efi vars").unwrap();
    // An image large enough for the threaded kernel copy, with a hole in the middle.
    {
        use std::os::unix::fs::FileExt;
        let iso = std::fs::File::create(vm.join("tools.iso")).unwrap();
        iso.write_all_at(&[0x43u8; 6144], 0).unwrap();
        iso.write_all_at(&[0x44u8; 4096], (6 << 20) - 4096).unwrap();
    }
    std::fs::write(vm.join("test.vmx"), VMX).unwrap();
    // Runtime files that must be skipped.
    for f in [
        "vmware.log",
        "test.vmsd",
        "test.vmxf",
        "test-Snapshot1.vmsn",
        "test.vmem",
        "test.vmss",
        "sparse-ctk.vmdk",
        "test.hlog",
    ] {
        std::fs::write(vm.join(f), b"runtime").unwrap();
    }
    (vm, disks)
}

fn package_disks(report: &ExportReport) -> Vec<(String, String)> {
    report
        .disks
        .iter()
        .map(|d| (d.source.clone(), d.file.clone()))
        .collect()
}

#[test]
fn vm_with_every_layout_exports_valid_verified_equal_ova() {
    if !qemu() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let (vm, sources) = build_vm(t.path());
    let ova = t.path().join("out.ova");
    let report = export(&vm.join("test.vmx"), &ova, &opts()).unwrap();

    // Entry order: descriptor, manifest, disks in References order, NVRAM; nothing else.
    let names = tar_list(&ova);
    assert_eq!(names[0], "Export_Test.ovf");
    assert_eq!(names[1], "Export_Test.mf");
    assert_eq!(names.len(), 2 + 6 + 1, "{names:?}");
    assert!(names.iter().all(|n| !n.contains("ctk")
        && !n.ends_with(".log")
        && !n.ends_with(".vmsn")
        && !n.ends_with(".iso")));
    assert_eq!(report.disks.len(), 6);

    let x = t.path().join("x");
    extract(&ova, &x);
    let ovf = x.join("Export_Test.ovf");
    xmllint_ok(&ovf, OvfVersion::V1);
    verify_ok(&ova);

    // Every disk equals its source's current state; sizes in the descriptor are exact.
    let env = Envelope::parse(&std::fs::read(&ovf).unwrap()).unwrap();
    for (source, file) in package_disks(&report) {
        let raw = &sources.iter().find(|(n, _)| *n == source).unwrap().1;
        let packaged = x.join(&file);
        same_disk(raw, &packaged);
        let f = env
            .references()
            .into_iter()
            .find(|f| f.href == file)
            .unwrap();
        assert_eq!(f.size, Some(std::fs::metadata(&packaged).unwrap().len()));
    }
    for d in env.disks() {
        let f = env.file(d.file_ref.as_deref().unwrap()).unwrap();
        let rep = report.disks.iter().find(|r| r.file == f.href).unwrap();
        assert_eq!(d.populated_size, Some(rep.populated_bytes));
        assert_eq!(d.capacity_bytes(&env).unwrap(), rep.capacity_bytes);
    }

    // Round trip of the hardware through the descriptor.
    let (src, _) = Machine::from_vmx(&Vmx::parse(VMX.as_bytes()).unwrap());
    let back = machine_of(&ovf);
    assert_eq!(hardware(&back), hardware(&src));
    assert_eq!(back.firmware, Firmware::Efi);
    assert!(back.secure_boot);
    assert_eq!(back.nvram_file.as_deref(), Some("Export_Test.nvram"));
    assert_eq!(
        std::fs::read(x.join("Export_Test.nvram")).unwrap(),
        b"NVRAM\x00efi vars"
    );
}

#[test]
fn exports_are_reproducible_and_templates_export_alike() {
    if !qemu() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let (vm, _) = build_vm(t.path());
    let a = t.path().join("a.ova");
    let b = t.path().join("b.ova");
    export(&vm.join("test.vmx"), &a, &opts()).unwrap();
    export(&vm.join("test.vmx"), &b, &opts()).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // The same configuration as a template gives the same package.
    std::fs::rename(vm.join("test.vmx"), vm.join("test.vmtx")).unwrap();
    let c = t.path().join("c.ova");
    export(&vm, &c, &opts()).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
}

#[test]
fn locked_vm_is_refused_unless_forced() {
    if !qemu() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let vm = t.path().join("vm");
    std::fs::create_dir_all(vm.join("disk.vmdk.lck")).unwrap();
    let raw = t.path().join("d.raw");
    raw_image(&raw, 1, 1);
    qemu_vmdk(&raw, &vm.join("disk.vmdk"), "monolithicSparse");
    std::fs::write(
        vm.join("vm.vmx"),
        "virtualHW.version = \"14\"\nmemsize = \"256\"\nguestOS = \"other\"\nscsi0.present = \"TRUE\"\n\
         scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"disk.vmdk\"\n",
    )
    .unwrap();
    let out = t.path().join("o.ova");
    let e = export(&vm, &out, &opts()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("disk.vmdk.lck"), "{e}");
    assert!(!out.exists());
    std::fs::remove_dir(vm.join("disk.vmdk.lck")).unwrap();
    std::fs::write(vm.join("vm.vswp"), b"").unwrap();
    assert!(export(&vm, &out, &opts()).is_err());
    let forced = ExportOptions {
        allow_locked: true,
        ..opts()
    };
    export(&vm, &out, &forced).unwrap();
    // An existing output is not replaced without force.
    let e = export(&vm, &out, &forced).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
}

#[test]
fn missing_disk_fails_and_leaves_nothing() {
    let t = tempfile::tempdir().unwrap();
    let vm = t.path().join("vm");
    std::fs::create_dir_all(&vm).unwrap();
    std::fs::write(
        vm.join("vm.vmx"),
        "virtualHW.version = \"14\"\nscsi0.present = \"TRUE\"\nscsi0:0.present = \"TRUE\"\n\
         scsi0:0.fileName = \"../outside.vmdk\"\n",
    )
    .unwrap();
    let out = t.path().join("o.ova");
    let e = export(&vm, &out, &opts()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsafePath, "{e}");
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
}

#[test]
fn ovf_and_folder_outputs_with_options_verify() {
    if !qemu() || !have_tool("openssl") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let (vm, sources) = build_vm(t.path());
    let (key, cert) = support::self_signed(t.path(), "signer", "export-test");
    let signer = ovftool::cert::Signer::from_pem(
        &std::fs::read(&key).unwrap(),
        Some(&std::fs::read(&cert).unwrap()),
    )
    .unwrap();
    let mut o = ExportOptions {
        ovf_version: OvfVersion::V2,
        manifest: Some(Algorithm::Sha512),
        signer: Some(signer),
        include_images: true,
        eulas: vec!["You may test this.".into()],
        annotation: Some("An annotated appliance".into()),
        properties: vec![ovftool::export::parse_property(
            "guestinfo.hostname:string=test|Host name",
        )
        .unwrap()],
        ..opts()
    };
    o.product.product = Some("Export Test".into());
    o.product.vendor = Some("ovftool-rs".into());
    o.product.version = Some("1.0".into());
    let ovf = t.path().join("pkg").join("appliance.ovf");
    let report = export(&vm, &ovf, &o).unwrap();
    assert!(t.path().join("pkg/appliance.mf").exists());
    assert!(t.path().join("pkg/appliance.cert").exists());
    xmllint_ok(&ovf, OvfVersion::V2);
    verify_ok(&ovf);
    let env = Envelope::parse(&std::fs::read(&ovf).unwrap()).unwrap();
    assert_eq!(
        env.property_value("guestinfo.hostname").as_deref(),
        Some("test")
    );
    let text = std::fs::read_to_string(&ovf).unwrap();
    assert!(text.contains("You may test this."));
    assert!(text.contains("An annotated appliance"));
    assert!(text.contains("com.vmware.guestInfo"));
    assert!(text.contains("vmware.cdrom.iso"));
    let iso = report
        .files
        .iter()
        .find(|f| f.role == ovftool::export::FileRole::Image)
        .unwrap();
    assert_eq!(iso.size, 6 << 20);
    assert!(
        std::fs::read(t.path().join("pkg").join(&iso.name)).unwrap()
            == std::fs::read(vm.join("tools.iso")).unwrap()
    );
    for (source, file) in package_disks(&report) {
        let raw = &sources.iter().find(|(n, _)| *n == source).unwrap().1;
        same_disk(raw, &t.path().join("pkg").join(file));
    }

    // A folder output, SHA-1 manifest capped for ESXi 6.
    let mut o = opts();
    "esxi6"
        .parse::<ovftool::export::Target>()
        .unwrap()
        .apply(&mut o);
    let report = export(&vm, &t.path().join("folder/"), &o).unwrap();
    let ovf = t.path().join("folder/Export_Test.ovf");
    assert_eq!(report.output, ovf);
    xmllint_ok(&ovf, OvfVersion::V1);
    verify_ok(&ovf);
    assert!(
        std::fs::read_to_string(t.path().join("folder/Export_Test.mf"))
            .unwrap()
            .starts_with("SHA1(")
    );
    assert_eq!(machine_of(&ovf).hardware_version, Some(11));
    assert!(report
        .warnings
        .iter()
        .any(|w| w.subject == "virtualHW.version"));

    // No manifest; the image goes into the OVA by a kernel copy, its hole kept as zeros.
    let o = ExportOptions {
        manifest: None,
        include_images: true,
        ..opts()
    };
    let ova = t.path().join("nomf.ova");
    let report = export(&vm, &ova, &o).unwrap();
    assert!(tar_list(&ova).iter().all(|n| !n.ends_with(".mf")));
    let iso = report
        .files
        .iter()
        .find(|f| f.role == ovftool::export::FileRole::Image)
        .unwrap();
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(&ova)
        .arg(&iso.name)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout == std::fs::read(vm.join("tools.iso")).unwrap());
    verify_ok(&ova);
}

#[test]
fn corpus_vmx_files_export_with_synthetic_disks() {
    let Some(corpus) = support::corpus() else {
        eprintln!("skipping: no corpus");
        return;
    };
    if !qemu() {
        return;
    }
    let files = [
        "libguestfs__virt-v2v/tests/test-i-vmx-1.vmx",
        "libguestfs__virt-v2v/tests/test-i-vmx-2.vmx",
        "libguestfs__virt-v2v/tests/test-i-vmx-3.vmx",
        "libguestfs__virt-v2v/tests/test-i-vmx-4.vmx",
        "libvirt__libvirt/tests/vmx2xmldata/case-insensitive-1.vmx",
        "libvirt__libvirt/tests/vmx2xmldata/gsx-in-the-wild-3.vmx",
        "libvirt__libvirt/tests/vmx2xmldata/annotation.vmx",
    ];
    let t = tempfile::tempdir().unwrap();
    let raw = t.path().join("small.raw");
    raw_image(&raw, 1, 3);
    let template = t.path().join("small.vmdk");
    qemu_vmdk(&raw, &template, "monolithicSparse");
    for (i, f) in files.iter().enumerate() {
        let src = corpus.join(f);
        if !src.exists() {
            continue;
        }
        let vm = t.path().join(format!("vm{i}"));
        std::fs::create_dir_all(&vm).unwrap();
        std::fs::copy(&src, vm.join("guest.vmx")).unwrap();
        let vmx = Vmx::parse_lax(&std::fs::read(&src).unwrap()).unwrap().0;
        let (m, _) = Machine::from_vmx(&vmx);
        for d in &m.disks {
            let base = d.file_name.rsplit('/').next().unwrap();
            std::fs::copy(&template, vm.join(base)).unwrap();
        }
        let ova = t.path().join(format!("vm{i}.ova"));
        if m.memory_mib == 0 {
            // No memsize: nothing to put in the Memory item; refused with a clear message.
            let e = export(&vm, &ova, &opts()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage, "{f}: {e}");
            assert!(e.to_string().contains("memsize"), "{f}: {e}");
            assert!(!ova.exists());
            continue;
        }
        let report = export(&vm, &ova, &opts()).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(report.disks.len(), m.disks.len(), "{f}");
        let x = t.path().join(format!("x{i}"));
        extract(&ova, &x);
        let ovf = x.join(tar_list(&ova).remove(0));
        xmllint_ok(&ovf, OvfVersion::V1);
        verify_ok(&ova);
        let back = machine_of(&ovf);
        assert_eq!(back.memory_mib, m.memory_mib, "{f}");
        assert_eq!(back.cpus, m.cpus, "{f}");
        assert_eq!(back.firmware, m.firmware, "{f}");
        assert_eq!(back.disks.len(), m.disks.len(), "{f}");
        assert_eq!(back.nics.len(), m.nics.len(), "{f}");
        assert_eq!(back.controllers, m.controllers, "{f}");
        for d in &report.disks {
            same_disk(&raw, &x.join(&d.file));
        }
    }
}

#[test]
fn cli_export_json_report() {
    if !qemu() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let vm = t.path().join("vm");
    std::fs::create_dir_all(&vm).unwrap();
    let raw = t.path().join("d.raw");
    raw_image(&raw, 1, 5);
    qemu_vmdk(&raw, &vm.join("disk.vmdk"), "monolithicFlat");
    std::fs::write(
        vm.join("small.vmx"),
        "virtualHW.version = \"14\"\nmemsize = \"256\"\nguestOS = \"other-64\"\ndisplayName = \"small\"\n\
         scsi0.present = \"TRUE\"\nscsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"disk.vmdk\"\n",
    )
    .unwrap();
    let out = t.path().join("small.ova");
    let o = support::ovftool(&[
        "--json",
        "export",
        vm.join("small.vmx").to_str().unwrap(),
        out.to_str().unwrap(),
        "--prop",
        "guestinfo.x:uint16=8080",
        "--product-version",
        "2.1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["format"], "ova");
    assert_eq!(v["files"][0]["name"], "small.ovf");
    assert_eq!(v["disks"][0]["capacity_bytes"], 1 << 20);
    // The tar holds exactly the reported files: header + padded data each, two end blocks.
    let tar_bytes: u64 = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| 512 + f["size"].as_u64().unwrap().div_ceil(512) * 512)
        .sum::<u64>()
        + 1024;
    assert_eq!(tar_bytes, std::fs::metadata(&out).unwrap().len());
    // Bad property types are usage errors (exit 2).
    let o = support::ovftool(&[
        "export",
        vm.join("small.vmx").to_str().unwrap(),
        t.path().join("bad.ova").to_str().unwrap(),
        "--prop",
        "x:uint8=300",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn sample_appliance_verifies_and_describes_its_devices() {
    let ova = support::samples().join("appliance.ova");
    if !ova.exists() {
        eprintln!("skipping: samples/appliance.ova missing (run samples/regen.sh)");
        return;
    }
    verify_ok(&ova);
    let names = tar_list(&ova);
    assert_eq!(names[0], "sample-appliance.ovf");
    let t = tempfile::tempdir().unwrap();
    extract(&ova, t.path());
    let ovf = t.path().join("sample-appliance.ovf");
    xmllint_ok(&ovf, OvfVersion::V1);
    let m = machine_of(&ovf);
    assert_eq!(m.nics.len(), 2);
    assert_eq!(m.cdroms.len(), 1);
    assert_eq!(m.disks.len(), 1);
    let env = Envelope::parse(&std::fs::read(&ovf).unwrap()).unwrap();
    assert_eq!(
        env.property_value("guestinfo.hostname").as_deref(),
        Some("sample-appliance")
    );
    assert!(std::fs::read_to_string(&ovf)
        .unwrap()
        .contains("<EulaSection>"));
}

#[test]
fn export_then_import_gives_back_the_machine_and_disks() {
    if !qemu() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let (vm, sources) = build_vm(t.path());
    let ova = t.path().join("rt.ova");
    let report = export(&vm.join("test.vmx"), &ova, &opts()).unwrap();
    let iopts = ovftool::import::ImportOptions {
        disk_mode: "monolithic-flat".parse().unwrap(),
        ..Default::default()
    };
    let back = ovftool::import::import(&ova, &t.path().join("back"), &iopts).unwrap();
    let vmx = Vmx::read_file(&back.vmx, &ovftool::Limits::DEFAULT).unwrap();
    let (m, _) = Machine::from_vmx(&vmx);
    let (src, _) = Machine::from_vmx(&Vmx::parse(VMX.as_bytes()).unwrap());
    assert_eq!(hardware(&m), hardware(&src));
    assert_eq!(m.disks.len(), report.disks.len());
    // Each imported disk equals the source's current state, attachment by attachment.
    for d in &m.disks {
        let exported = report
            .disks
            .iter()
            .find(|r| r.attachment == d.attachment.to_string())
            .unwrap();
        let raw = &sources
            .iter()
            .find(|(n, _)| *n == exported.source)
            .unwrap()
            .1;
        same_disk(raw, &back.vm_dir.join(&d.file_name));
    }
}
