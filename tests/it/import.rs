//! Integration tests: `import` (OVA/OVF → VM folder) on crafted packages (every disk mode, gzip,
//! chunks, .ovf with files beside it, stdin-like streams, tampering, options) and on the corpus
//! (ovftool-made, VirtualBox-made, COT), disks checked against the source image or `qemu-img`.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use ovftool::import::{import, import_stream, ImportOptions};
use ovftool::vmdk::layout::Layout;
use ovftool::ErrorKind;

use crate::support::{self, sha256_hex, stream_vmdk, write_tar};

/// Options for the vSphere thin layout (descriptor + sparse `-flat.vmdk`), whose extent the
/// tests compare byte for byte with the source image.
fn thin() -> ImportOptions {
    ImportOptions {
        disk_mode: Layout::Thin,
        ..ImportOptions::default()
    }
}

const MIB: usize = 1 << 20;

/// A 3 MiB image: random, text, zeros, a hole, odd tail.
fn image() -> Vec<u8> {
    let mut v = vec![0u8; 3 * MIB + 4096];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in &mut v[..MIB / 2] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    for (i, b) in v[MIB..2 * MIB].iter_mut().enumerate() {
        *b = b"the quick brown fox "[i % 20];
    }
    v[3 * MIB + 100] = 7;
    v
}

#[derive(Default)]
struct Pkg {
    /// Extra attributes of the disk's File element.
    file_attrs: String,
    /// Extra sections inside VirtualSystem.
    vs_sections: String,
    /// Hardware section attributes.
    hw_attrs: String,
    /// Deployment option section (envelope level).
    env_sections: String,
    /// Extra References/File elements.
    refs: String,
    /// Extra hardware items.
    items: String,
}

fn descriptor(p: &Pkg, size: usize, cap: usize) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
  xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:href="t-disk1.vmdk" ovf:id="file1" ovf:size="{size}"{fa}/>{refs}</References>
  <DiskSection><Info>Virtual disks</Info>
    <Disk ovf:capacity="{cap}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1"
      ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
  <NetworkSection><Info>Networks</Info><Network ovf:name="VM Network"><Description>net</Description></Network></NetworkSection>
  {es}
  <VirtualSystem ovf:id="t-vm"><Info>A VM</Info><Name>t vm/1</Name>
    <OperatingSystemSection ovf:id="101" vmw:osType="otherLinux64Guest"><Info>OS</Info></OperatingSystemSection>
    <VirtualHardwareSection{hw}><Info>Hardware</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>t-vm</vssd:VirtualSystemIdentifier><vssd:VirtualSystemType>vmx-10 vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>2 virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>1024MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>1024</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>SCSI Controller 0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard Disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>7</rasd:AddressOnParent><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>Network adapter 1</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
      {items}
      <vmw:ExtraConfig ovf:required="false" vmw:key="guestinfo.a" vmw:value="b"/>
      <vmw:ExtraConfig ovf:required="false" vmw:key="monitor_control.restrict_backdoor" vmw:value="TRUE"/>
    </VirtualHardwareSection>
    {vs}
  </VirtualSystem>
</Envelope>
"#,
        fa = p.file_attrs,
        es = p.env_sections,
        hw = p.hw_attrs,
        vs = p.vs_sections,
        refs = p.refs,
        items = p.items,
    )
}

/// The manifest of a one-disk package: SHA256 lines for the descriptor `desc` and for the disk
/// bytes `disk` (other bytes than the disk packed make a stale manifest).
fn one_disk_mf(desc: &str, disk: &[u8]) -> Vec<u8> {
    format!(
        "SHA256(t.ovf)= {}\nSHA256(t-disk1.vmdk)= {}\n",
        sha256_hex(desc.as_bytes()),
        sha256_hex(disk)
    )
    .into_bytes()
}

/// The members of a one-disk package in the usual order: `t.ovf`, `t.mf`, `t-disk1.vmdk`.
fn one_disk_members(desc: &str, mf: Vec<u8>, disk: Vec<u8>) -> Vec<(String, Vec<u8>)> {
    vec![
        ("t.ovf".into(), desc.as_bytes().to_vec()),
        ("t.mf".into(), mf),
        ("t-disk1.vmdk".into(), disk),
    ]
}

/// A package: descriptor, manifest, disk members (`files`: name → bytes as stored).
fn ova(path: &Path, desc: &str, files: &[(String, Vec<u8>)]) {
    write_tar(path, &support::with_manifest("t.ovf", desc, files.to_vec()));
}

fn simple_ova(dir: &Path, p: &Pkg) -> (PathBuf, Vec<u8>) {
    let raw = image();
    let vmdk = stream_vmdk(dir, &raw);
    let desc = descriptor(p, vmdk.len(), raw.len());
    let path = dir.join("t.ova");
    ova(&path, &desc, &[("t-disk1.vmdk".into(), vmdk)]);
    (path, raw)
}

fn vmx_of(vm_dir: &Path) -> String {
    let p = fs::read_dir(vm_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "vmx"))
        .expect("a .vmx");
    fs::read_to_string(p).unwrap()
}

fn key<'a>(vmx: &'a str, k: &str) -> Option<&'a str> {
    vmx.lines().find_map(|l| {
        let (a, b) = l.split_once(" = ")?;
        (a.eq_ignore_ascii_case(k)).then(|| b.trim_matches('"'))
    })
}

/// Runs `ovftool-rs import OPTIONS PACKAGE TARGET` and asserts it succeeded.
#[track_caller]
fn cli_import(options: &[&str], package: &Path, target: &Path) -> std::process::Output {
    let out = Command::new(support::bin())
        .arg("import")
        .args(options)
        .arg(package)
        .arg(target)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn is_empty_dir(p: &Path) -> bool {
    fs::read_dir(p)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

#[test]
fn crafted_ova_imports_as_thin_with_the_expected_vmx() {
    let dir = tempfile::tempdir().unwrap();
    let (path, raw) = simple_ova(dir.path(), &Pkg::default());
    let target = dir.path().join("out");
    let r = import(&path, &target, &thin()).unwrap();
    assert_eq!(r.name, "t vm_1");
    assert!(r.verification.passed());
    let vmx = vmx_of(&r.vm_dir);
    assert_eq!(key(&vmx, "numvcpus"), Some("2"));
    assert_eq!(key(&vmx, "memsize"), Some("1024"));
    assert_eq!(key(&vmx, "scsi0.virtualDev"), Some("pvscsi"));
    assert_eq!(key(&vmx, "ethernet0.virtualDev"), Some("vmxnet3"));
    assert_eq!(key(&vmx, "ethernet0.networkName"), Some("VM Network"));
    assert_eq!(key(&vmx, "virtualHW.version"), Some("13"));
    assert_eq!(key(&vmx, "guestOS"), Some("otherlinux-64"));
    assert_eq!(key(&vmx, "guestinfo.a"), Some("b"));
    // Not on the safe list: reported, not written.
    assert_eq!(key(&vmx, "monitor_control.restrict_backdoor"), None);
    assert!(r.warnings.iter().any(|w| w.contains("restrict_backdoor")));
    // The .vmx written reads back as the imported machine.
    assert!(
        !r.warnings.iter().any(|w| w.contains("read back")),
        "{:?}",
        r.warnings
    );
    let file = key(&vmx, "scsi0:0.fileName").unwrap();
    assert!(r.vm_dir.join(file).is_file());
    // Thin: descriptor + sparse -flat extent holding the raw bytes.
    let flat = r.vm_dir.join(file.replace(".vmdk", "-flat.vmdk"));
    assert_eq!(fs::read(flat).unwrap(), raw);
    // Nothing else in the target folder (the temporary folder is gone).
    assert_eq!(fs::read_dir(&target).unwrap().count(), 1);
    // The .vmx reads back.
    let parsed = ovftool::vmx::Vmx::parse(vmx.as_bytes()).unwrap();
    let (m, _) = ovftool::vm::Machine::from_vmx(&parsed);
    assert_eq!(m.cpus, 2);
    assert_eq!(m.memory_mib, 1024);
}

#[test]
fn every_disk_mode_equals_the_source_image() {
    if !support::have_tool("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (path, raw) = simple_ova(dir.path(), &Pkg::default());
    let rawp = dir.path().join("ref.raw");
    fs::write(&rawp, &raw).unwrap();
    for mode in [
        Layout::Thin,
        Layout::Thick,
        Layout::EagerZeroedThick,
        Layout::MonolithicSparse,
        Layout::MonolithicFlat,
        Layout::TwoGbSparse,
        Layout::TwoGbFlat,
    ] {
        let target = dir.path().join(mode.name());
        let opts = ImportOptions {
            disk_mode: mode,
            ..Default::default()
        };
        let r = import(&path, &target, &opts).unwrap();
        let vmdk = r.vm_dir.join(&r.disks[0].file);
        let out = Command::new("qemu-img")
            .args(["compare", "-q", "-f", "raw", "-F", "vmdk"])
            .arg(&rawp)
            .arg(&vmdk)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn gzip_and_chunked_disks_import() {
    use flate2::write::GzEncoder;
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let raw = image();
    let vmdk = stream_vmdk(dir.path(), &raw);
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&vmdk).unwrap();
    let gz = gz.finish().unwrap();
    // gzip, in chunks of 100000 bytes.
    let chunk = 100_000usize;
    let p = Pkg {
        file_attrs: format!(r#" ovf:compression="gzip" ovf:chunkSize="{chunk}""#),
        ..Default::default()
    };
    let desc = descriptor(&p, gz.len(), raw.len());
    let parts: Vec<(String, Vec<u8>)> = gz
        .chunks(chunk)
        .enumerate()
        .map(|(i, c)| (format!("t-disk1.vmdk.{i:09}"), c.to_vec()))
        .collect();
    assert!(parts.len() > 1);
    let path = dir.path().join("t.ova");
    ova(&path, &desc, &parts);
    let r = import(&path, &dir.path().join("out"), &thin()).unwrap();
    let flat = r
        .vm_dir
        .join(r.disks[0].file.replace(".vmdk", "-flat.vmdk"));
    assert_eq!(fs::read(flat).unwrap(), raw);
}

/// A reader that hands out at most 7 bytes at a time and cannot seek (a pipe).
struct Trickle<R>(R);
impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(4093);
        self.0.read(&mut buf[..n])
    }
}

#[test]
fn stream_import_equals_file_import() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = simple_ova(dir.path(), &Pkg::default());
    let a = import(&path, &dir.path().join("a"), &thin()).unwrap();
    let mut src = Trickle(fs::File::open(&path).unwrap());
    let b = import_stream(&mut src, Path::new("-"), &dir.path().join("b"), &thin()).unwrap();
    for f in ["t vm_1.vmx", "t vm_1-disk1.vmdk", "t vm_1-disk1-flat.vmdk"] {
        assert_eq!(
            fs::read(a.vm_dir.join(f)).unwrap(),
            fs::read(b.vm_dir.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn stdin_import_through_the_cli_equals_file_import() {
    let dir = tempfile::tempdir().unwrap();
    let (path, raw) = simple_ova(dir.path(), &Pkg::default());
    let target = dir.path().join("s");
    let out = Command::new(support::bin())
        .args(["import", "--disk-mode", "thin", "-"])
        .arg(&target)
        .stdin(fs::File::open(&path).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let flat = target.join("t vm_1").join("t vm_1-disk1-flat.vmdk");
    assert_eq!(fs::read(flat).unwrap(), raw);
}

fn assert_fails_leaving_nothing(path: &Path, dir: &Path, what: &str) -> ovftool::Error {
    let target = dir.join(format!("out-{what}"));
    fs::create_dir(&target).unwrap();
    let e = import(path, &target, &ImportOptions::default()).expect_err(what);
    assert!(is_empty_dir(&target), "{what}: left files behind");
    // Nothing beside the target either.
    assert!(!dir.join("escape.txt").exists());
    e
}

#[test]
fn tampered_disk_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let raw = image();
    let vmdk = stream_vmdk(dir.path(), &raw);
    let desc = descriptor(&Pkg::default(), vmdk.len(), raw.len());
    let mf = one_disk_mf(&desc, &vmdk);
    // A flipped byte in the middle of a compressed grain, and one in the embedded descriptor
    // area (decodes fine, only the digest tells).
    for (i, at) in [vmdk.len() / 2, 600].into_iter().enumerate() {
        let mut bad = vmdk.clone();
        bad[at] ^= 0xff;
        let path = dir.path().join(format!("bad{i}.ova"));
        write_tar(&path, &one_disk_members(&desc, mf.clone(), bad));
        let e = assert_fails_leaving_nothing(&path, dir.path(), &format!("disk{i}"));
        assert_eq!(e.kind(), ErrorKind::Verification, "{e}");
        assert!(e.message().contains("digest"), "{e}");
    }
}

#[test]
fn tampered_descriptor_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let raw = image();
    let vmdk = stream_vmdk(dir.path(), &raw);
    let desc = descriptor(&Pkg::default(), vmdk.len(), raw.len());
    let mf = one_disk_mf(&desc, &vmdk);
    let path = dir.path().join("bad.ova");
    let tampered = desc.replace("1024MB", "2048MB");
    write_tar(&path, &one_disk_members(&tampered, mf, vmdk.clone()));
    let e = assert_fails_leaving_nothing(&path, dir.path(), "ovf");
    assert_eq!(e.kind(), ErrorKind::Verification);
    // A changed manifest.
    let mf = one_disk_mf(&desc, b"other");
    write_tar(&path, &one_disk_members(&desc, mf, vmdk));
    assert_fails_leaving_nothing(&path, dir.path(), "mf");
}

#[test]
fn ova_entry_with_parent_dir_is_rejected_and_nothing_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = simple_ova(dir.path(), &Pkg::default());
    // Append a ../escape.txt member by rewriting the archive with raw headers.
    let mut data = fs::read(&path).unwrap();
    while data.ends_with(&[0u8; 512]) {
        data.truncate(data.len() - 512);
    }
    let mut h = tar::Header::new_ustar();
    h.as_old_mut().name[..13].copy_from_slice(b"../escape.txt");
    h.set_size(5);
    h.set_mode(0o644);
    h.set_cksum();
    data.extend_from_slice(h.as_bytes());
    let mut body = b"owned".to_vec();
    body.resize(512, 0);
    data.extend_from_slice(&body);
    data.extend_from_slice(&[0u8; 1024]);
    fs::write(&path, data).unwrap();
    let e = assert_fails_leaving_nothing(&path, dir.path(), "traversal");
    assert!(e.kind().is_input_failure(), "{e}");
}

#[test]
fn ovf_with_files_beside_it_imports() {
    let dir = tempfile::tempdir().unwrap();
    let raw = image();
    let vmdk = stream_vmdk(dir.path(), &raw);
    let desc = descriptor(&Pkg::default(), vmdk.len(), raw.len());
    let pkg = dir.path().join("pkg");
    fs::create_dir(&pkg).unwrap();
    fs::write(pkg.join("t.ovf"), &desc).unwrap();
    fs::write(pkg.join("t-disk1.vmdk"), &vmdk).unwrap();
    fs::write(pkg.join("t.mf"), one_disk_mf(&desc, &vmdk)).unwrap();
    let r = import(&pkg.join("t.ovf"), &dir.path().join("out"), &thin()).unwrap();
    let flat = r
        .vm_dir
        .join(r.disks[0].file.replace(".vmdk", "-flat.vmdk"));
    assert_eq!(fs::read(flat).unwrap(), raw);
    // A tampered file beside it fails the same way.
    let mut bad = vmdk.clone();
    bad[600] ^= 1;
    fs::write(pkg.join("t-disk1.vmdk"), &bad).unwrap();
    let target = dir.path().join("out2");
    assert!(import(&pkg.join("t.ovf"), &target, &ImportOptions::default()).is_err());
    assert!(!target.exists() || is_empty_dir(&target));
}

#[test]
fn eula_is_refused_unless_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let p = Pkg {
        vs_sections:
            "<EulaSection><Info>License</Info><License>Be nice to penguins.</License></EulaSection>"
                .into(),
        ..Default::default()
    };
    let (path, _) = simple_ova(dir.path(), &p);
    let target = dir.path().join("out");
    let e = import(&path, &target, &ImportOptions::default()).unwrap_err();
    assert!(e.message().contains("Be nice to penguins."), "{e}");
    assert!(!target.exists() || is_empty_dir(&target));
    let opts = ImportOptions {
        accept_all_eulas: true,
        ..Default::default()
    };
    import(&path, &target, &opts).unwrap();
}

#[test]
fn properties_are_checked_and_written_as_ovf_environment() {
    let dir = tempfile::tempdir().unwrap();
    let p = Pkg {
        hw_attrs: r#" ovf:transport="com.vmware.guestInfo""#.into(),
        vs_sections: r#"<ProductSection><Info>P</Info>
          <Property ovf:key="hostname" ovf:type="string" ovf:qualifiers="MinLen(1),MaxLen(10)" ovf:userConfigurable="true" ovf:value="h0"/>
          <Property ovf:key="size" ovf:type="string" ovf:qualifiers='ValueMap{"s","m"}' ovf:userConfigurable="true" ovf:value="s"/>
          <Property ovf:key="port" ovf:type="uint16" ovf:userConfigurable="true" ovf:value="80"/>
          <Property ovf:key="fixed" ovf:type="string" ovf:value="x"/>
        </ProductSection>"#
            .into(),
        ..Default::default()
    };
    let (path, _) = simple_ova(dir.path(), &p);
    let bad = |k: &str, v: &str| {
        let opts = ImportOptions {
            properties: vec![(k.into(), v.into())],
            ..Default::default()
        };
        let target = dir.path().join("bad");
        let e = import(&path, &target, &opts).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage, "{k}={v}: {e}");
        assert!(!target.exists() || is_empty_dir(&target));
    };
    bad("hostname", "much-too-long-name");
    bad("size", "xl");
    bad("port", "70000");
    bad("fixed", "y");
    bad("nosuch", "1");
    let opts = ImportOptions {
        properties: vec![
            ("hostname".into(), "db&1".into()),
            ("port".into(), "8080".into()),
        ],
        networks: vec![("VM Network".into(), "prod".into())],
        ..Default::default()
    };
    let r = import(&path, &dir.path().join("ok"), &opts).unwrap();
    let vmx = vmx_of(&r.vm_dir);
    assert_eq!(key(&vmx, "ethernet0.networkName"), Some("prod"));
    let parsed = ovftool::vmx::Vmx::parse(vmx.as_bytes()).unwrap();
    let env = parsed.get("guestinfo.ovfEnv").expect("guestinfo.ovfEnv");
    assert!(
        env.contains(r#"<Property oe:key="hostname" oe:value="db&amp;1"/>"#),
        "{env}"
    );
    assert!(env.contains(r#"<Property oe:key="port" oe:value="8080"/>"#));
    assert!(env.contains(r#"<Property oe:key="size" oe:value="s"/>"#));
    assert!(env.contains("http://schemas.dmtf.org/ovf/environment/1"));
}

#[test]
fn existing_vm_folder_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = simple_ova(dir.path(), &Pkg::default());
    let target = dir.path().join("out");
    import(&path, &target, &ImportOptions::default()).unwrap();
    let e = import(&path, &target, &ImportOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    let opts = ImportOptions {
        force: true,
        max_hw_version: Some(11),
        ..Default::default()
    };
    let r = import(&path, &target, &opts).unwrap();
    assert_eq!(key(&vmx_of(&r.vm_dir), "virtualHW.version"), Some("10"));
}

// --- Corpus.

fn api_dir() -> Option<PathBuf> {
    let c = support::corpus()?;
    Some(c.join("cyberus-technology__virtualbox-kvm/src/VBox/ValidationKit/tests/api"))
}

fn qemu_compare(a: &Path, b: &Path) -> bool {
    Command::new("qemu-img")
        .args(["compare", "-q"])
        .arg(a)
        .arg(b)
        .status()
        .unwrap()
        .success()
}

#[test]
fn corpus_ovftool_ova_imports_in_every_mode() {
    let Some(api) = api_dir() else { return };
    if !support::have_tool("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for t in ["t3", "t4"] {
        let ova = api.join(format!("tdAppliance1-{t}-ovftool-4.1.0.ova"));
        let gz = api.join(format!(
            "_extracted/tdAppliance1-{t}-ovftool-4.1.0/tdAppliance1-{t}-ovftool-4.1.0-disk1.vmdk.gz"
        ));
        let mut reference = Vec::new();
        flate2::read::GzDecoder::new(fs::File::open(&gz).unwrap())
            .read_to_end(&mut reference)
            .unwrap();
        let refp = dir.path().join(format!("{t}.vmdk"));
        fs::write(&refp, reference).unwrap();
        // t4's disks are 60 + 20 GiB: preallocated modes only for t3 (1 GiB).
        let modes: &[Layout] = if t == "t3" {
            &[
                Layout::Thin,
                Layout::Thick,
                Layout::EagerZeroedThick,
                Layout::MonolithicSparse,
            ]
        } else {
            &[Layout::Thin, Layout::MonolithicSparse]
        };
        for &mode in modes {
            let opts = ImportOptions {
                disk_mode: mode,
                ..Default::default()
            };
            let r = import(&ova, &dir.path().join(format!("{t}-{mode}")), &opts).unwrap();
            if t == "t4" {
                // Signed by ovftool (self-signed certificate): the signature is checked.
                assert!(r.verification.signature.as_ref().is_some_and(|s| s.valid));
            }
            let vmx = vmx_of(&r.vm_dir);
            for k in ["numvcpus", "memsize", "virtualHW.version", "guestOS"] {
                assert!(key(&vmx, k).is_some(), "{t} {mode}: {k}");
            }
            assert!(
                qemu_compare(&refp, &r.vm_dir.join(&r.disks[0].file)),
                "{t} {mode}"
            );
        }
    }
}

#[test]
fn corpus_virtualbox_packages_import_with_lax() {
    let Some(api) = api_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "tdAppliance1-t2.ova",
        "tdAppliance1-t3.ova",
        "tdAppliance1-t4.ova",
    ] {
        let opts = ImportOptions {
            lax: true,
            ..Default::default()
        };
        let r = import(&api.join(name), &dir.path().join(name), &opts)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(r.vmx.is_file());
        // Without --lax the non-VMware hardware family is refused.
        let strict = import(
            &api.join(name),
            &dir.path().join(format!("{name}-strict")),
            &ImportOptions::default(),
        );
        assert!(strict.is_err(), "{name}");
    }
    let c = support::corpus().unwrap();
    let cot = c.join("glennmatthews__cot/COT/tests/ubuntu.2.0.ovf");
    let opts = ImportOptions {
        lax: true,
        ..Default::default()
    };
    let r = import(&cot, &dir.path().join("cot"), &opts).unwrap();
    assert!(!r.disks.is_empty());
}

#[test]
fn corpus_glance_ova_imports_or_fails_cleanly() {
    let Some(c) = support::corpus() else { return };
    let dir = tempfile::tempdir().unwrap();
    let var = c.join("openstack__glance/glance/tests/var");
    for name in [
        "testserver.ova",
        "testserver-no-disk.ova",
        "testserver-no-ovf.ova",
    ] {
        let target = dir.path().join(name);
        fs::create_dir(&target).unwrap();
        let opts = ImportOptions {
            lax: true,
            ..Default::default()
        };
        match import(&var.join(name), &target, &opts) {
            Ok(r) => assert!(r.vmx.is_file()),
            Err(_) => assert!(is_empty_dir(&target), "{name}"),
        }
    }
}

#[test]
fn deployment_option_and_packaged_iso() {
    let dir = tempfile::tempdir().unwrap();
    let iso = b"CD001 fake iso image".repeat(100);
    let p = Pkg {
        env_sections: r#"<DeploymentOptionSection><Info>Sizes</Info>
          <Configuration ovf:default="true" ovf:id="small"><Label>Small</Label><Description>1 NIC</Description></Configuration>
          <Configuration ovf:id="large"><Label>Large</Label><Description>2 NICs</Description></Configuration>
        </DeploymentOptionSection>"#
            .into(),
        refs: format!(r#"<File ovf:href="tools.iso" ovf:id="iso1" ovf:size="{}"/>"#, iso.len()),
        items: r#"<Item ovf:configuration="large"><rasd:AddressOnParent>8</rasd:AddressOnParent><rasd:AutomaticAllocation>false</rasd:AutomaticAllocation>
          <rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>Network adapter 2</rasd:ElementName><rasd:InstanceID>6</rasd:InstanceID>
          <rasd:ResourceSubType>E1000</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
          <Item><rasd:Address>0</rasd:Address><rasd:ElementName>IDE 0</rasd:ElementName><rasd:InstanceID>7</rasd:InstanceID><rasd:ResourceType>5</rasd:ResourceType></Item>
          <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation><rasd:ElementName>CD 1</rasd:ElementName>
          <rasd:HostResource>ovf:/file/iso1</rasd:HostResource><rasd:InstanceID>8</rasd:InstanceID><rasd:Parent>7</rasd:Parent><rasd:ResourceType>15</rasd:ResourceType></Item>"#
            .into(),
        ..Default::default()
    };
    let raw = image();
    let vmdk = stream_vmdk(dir.path(), &raw);
    let desc = descriptor(&p, vmdk.len(), raw.len());
    let path = dir.path().join("t.ova");
    ova(
        &path,
        &desc,
        &[
            ("t-disk1.vmdk".into(), vmdk),
            ("tools.iso".into(), iso.clone()),
        ],
    );
    let small = import(&path, &dir.path().join("s"), &ImportOptions::default()).unwrap();
    let vmx = vmx_of(&small.vm_dir);
    assert_eq!(key(&vmx, "ethernet1.present"), None);
    assert_eq!(key(&vmx, "ide0:0.deviceType"), Some("cdrom-image"));
    let iso_name = key(&vmx, "ide0:0.fileName").unwrap();
    assert_eq!(fs::read(small.vm_dir.join(iso_name)).unwrap(), iso);
    let opts = ImportOptions {
        deployment_option: Some("large".into()),
        ..Default::default()
    };
    let large = import(&path, &dir.path().join("l"), &opts).unwrap();
    let vmx = vmx_of(&large.vm_dir);
    assert_eq!(key(&vmx, "ethernet1.virtualDev"), Some("e1000"));
    assert_eq!(key(&vmx, "ethernet1.startConnected"), Some("FALSE"));
    let opts = ImportOptions {
        deployment_option: Some("huge".into()),
        ..Default::default()
    };
    assert!(import(&path, &dir.path().join("h"), &opts).is_err());
}

#[test]
fn descriptor_not_first_needs_lax() {
    let dir = tempfile::tempdir().unwrap();
    let raw = image();
    let vmdk = stream_vmdk(dir.path(), &raw);
    let desc = descriptor(&Pkg::default(), vmdk.len(), raw.len());
    let mf = one_disk_mf(&desc, &vmdk);
    let path = dir.path().join("late.ova");
    let mut members = one_disk_members(&desc, mf, vmdk);
    members.rotate_right(1); // the disk first
    write_tar(&path, &members);
    let e = assert_fails_leaving_nothing(&path, dir.path(), "late");
    assert_eq!(e.kind(), ErrorKind::Verification);
    let target = dir.path().join("lax");
    let opts = ImportOptions {
        lax: true,
        ..thin()
    };
    let r = import(&path, &target, &opts).unwrap();
    let flat = r
        .vm_dir
        .join(r.disks[0].file.replace(".vmdk", "-flat.vmdk"));
    assert_eq!(fs::read(flat).unwrap(), raw);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("descriptor-not-first")),
        "{:?}",
        r.warnings
    );
    // Only the VM folder: the spill folder is gone.
    assert_eq!(fs::read_dir(&target).unwrap().count(), 1);
}

#[test]
fn cli_json_report_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (path, raw) = simple_ova(dir.path(), &Pkg::default());
    let target = dir.path().join("j");
    let out = cli_import(
        &[
            "--json",
            "--disk-mode",
            "eagerZeroedThick",
            "--net",
            "VM Network=lab",
        ],
        &path,
        &target,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    let imp = &v;
    assert_eq!(v["command"], "import");
    assert_eq!(imp["hardware_version"], 13);
    assert_eq!(imp["disks"][0]["mode"], "eager-zeroed-thick");
    assert_eq!(imp["disks"][0]["capacity_bytes"], raw.len() as u64);
    assert_eq!(imp["disks"][0]["device"], "scsi0:0");
    assert_eq!(imp["verification"]["manifest_algorithms"][0], "SHA256");
    assert!(imp["files"].as_array().unwrap().len() >= 3);
    let vmx = vmx_of(Path::new(imp["vm_dir"].as_str().unwrap()));
    assert_eq!(key(&vmx, "ethernet0.networkName"), Some("lab"));
    // Existing folder without --force: exit 2; a bad disk mode: exit 2.
    let again = Command::new(support::bin())
        .args(["import", "--json"])
        .arg(&path)
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "already-exists");
    let bad = Command::new(support::bin())
        .args(["import", "--disk-mode", "stream-optimized"])
        .arg(&path)
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(!dir.path().join("x").exists());
}

#[test]
fn blank_disk_sized_by_a_property() {
    let dir = tempfile::tempdir().unwrap();
    let p = Pkg {
        vs_sections: r#"<ProductSection><Info>P</Info>
          <Property ovf:key="data_mib" ovf:type="uint32" ovf:userConfigurable="true" ovf:value="1"/>
        </ProductSection>"#
            .into(),
        items: r#"<Item><rasd:AddressOnParent>1</rasd:AddressOnParent><rasd:ElementName>Hard Disk 2</rasd:ElementName>
          <rasd:HostResource>ovf:/disk/data</rasd:HostResource><rasd:InstanceID>9</rasd:InstanceID><rasd:Parent>3</rasd:Parent>
          <rasd:ResourceType>17</rasd:ResourceType></Item>"#
            .into(),
        ..Default::default()
    };
    let raw = image();
    let vmdk = stream_vmdk(dir.path(), &raw);
    let desc = descriptor(&p, vmdk.len(), raw.len()).replace(
        "</DiskSection>",
        r#"<Disk ovf:capacity="${data_mib}" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="data"/></DiskSection>"#,
    );
    let path = dir.path().join("t.ova");
    ova(&path, &desc, &[("t-disk1.vmdk".into(), vmdk)]);
    let opts = ImportOptions {
        properties: vec![("data_mib".into(), "3".into())],
        ..Default::default()
    };
    let r = import(&path, &dir.path().join("o"), &opts).unwrap();
    let blank = r.disks.iter().find(|d| d.disk_id == "data").unwrap();
    assert_eq!(blank.capacity_bytes, 3 << 20);
    assert_eq!(blank.source, None);
    assert_eq!(blank.device, "scsi0:1");
    let r = import(&path, &dir.path().join("d"), &ImportOptions::default()).unwrap();
    let blank = r.disks.iter().find(|d| d.disk_id == "data").unwrap();
    assert_eq!(blank.capacity_bytes, 1 << 20);
}

#[test]
fn skip_manifest_check_downgrades_digest_findings() {
    let dir = tempfile::tempdir().unwrap();
    let raw = image();
    let vmdk = stream_vmdk(dir.path(), &raw);
    let desc = descriptor(&Pkg::default(), vmdk.len(), raw.len());
    let mf = one_disk_mf(&desc, b"stale");
    let path = dir.path().join("stale.ova");
    write_tar(&path, &one_disk_members(&desc, mf, vmdk));
    assert_fails_leaving_nothing(&path, dir.path(), "stale");
    let opts = ImportOptions {
        skip_manifest_check: true,
        ..Default::default()
    };
    let r = import(&path, &dir.path().join("skip"), &opts).unwrap();
    assert!(
        r.warnings.iter().any(|w| w.contains("digest-mismatch")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn cli_accepts_ovftool_spellings() {
    // A script written for VMware's ovftool: camelCase options and --net:NAME=TARGET.
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = simple_ova(dir.path(), &Pkg::default());
    let target = dir.path().join("o");
    cli_import(
        &[
            "--quiet",
            "--acceptAllEulas",
            "--diskMode=thin",
            "--net:VM Network=lab net",
            "--name=web01",
        ],
        &path,
        &target,
    );
    let vmx = vmx_of(&target.join("web01"));
    assert_eq!(key(&vmx, "ethernet0.networkName"), Some("lab net"));
}

/// An OVA from the standard descriptor with `edit` applied to it.
fn edited_ova(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let raw = image();
    let vmdk = stream_vmdk(dir, &raw);
    let desc = edit(descriptor(&Pkg::default(), vmdk.len(), raw.len()));
    let path = dir.join("t.ova");
    ova(&path, &desc, &[("t-disk1.vmdk".into(), vmdk)]);
    path
}

#[test]
fn nic_subtype_list_picks_the_first_vmware_adapter() {
    let dir = tempfile::tempdir().unwrap();
    let path = edited_ova(dir.path(), |d| {
        d.replace(
            "<rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>",
            "<rasd:ResourceSubType>virtio VMXNET3 e1000</rasd:ResourceSubType>",
        )
    });
    let r = import(&path, &dir.path().join("o"), &thin()).unwrap();
    let vmx = vmx_of(&r.vm_dir);
    assert!(vmx.contains("ethernet0.virtualDev = \"vmxnet3\""), "{vmx}");
}

#[test]
fn hosted_network_names_become_connection_types() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = simple_ova(dir.path(), &Pkg::default());
    for (to, want, unwanted) in [
        ("nat", "ethernet0.connectionType = \"nat\"", "networkName"),
        ("prod", "ethernet0.networkName = \"prod\"", "connectionType"),
    ] {
        let opts = ImportOptions {
            networks: vec![("VM Network".into(), to.into())],
            ..thin()
        };
        let r = import(&path, &dir.path().join(to), &opts).unwrap();
        let vmx = vmx_of(&r.vm_dir);
        assert!(vmx.contains(want), "{vmx}");
        assert!(!vmx.contains(&format!("ethernet0.{unwanted}")), "{vmx}");
    }
}

#[test]
fn monolithic_sparse_disks_are_hosted_sparse_extents() {
    let dir = tempfile::tempdir().unwrap();
    let (path, raw) = simple_ova(dir.path(), &Pkg::default());
    let r = import(
        &path,
        &dir.path().join("o"),
        &ImportOptions {
            disk_mode: Layout::MonolithicSparse,
            ..ImportOptions::default()
        },
    )
    .unwrap();
    assert_eq!(r.disks[0].mode, Layout::MonolithicSparse);
    let disk = r.vm_dir.join(&r.disks[0].file);
    assert_eq!(&fs::read(&disk).unwrap()[..4], b"KDMV");
    if support::have_tool("qemu-img") {
        let rawp = dir.path().join("r.raw");
        fs::write(&rawp, &raw).unwrap();
        let ok = Command::new("qemu-img")
            .args(["compare", "-q"])
            .arg(&rawp)
            .arg(&disk)
            .status()
            .unwrap()
            .success();
        assert!(ok, "qemu-img compare differs");
    }
}

#[test]
fn one_disk_attached_twice_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let path = edited_ova(dir.path(), |d| {
        d.replace(
            "</VirtualHardwareSection>",
            r#"<Item><rasd:AddressOnParent>1</rasd:AddressOnParent><rasd:ElementName>Hard Disk 2</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>9</rasd:InstanceID><rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType></Item></VirtualHardwareSection>"#,
        )
    });
    let e = import(&path, &dir.path().join("o"), &thin()).unwrap_err();
    assert!(
        e.message().contains("vmdisk1 is attached more than once"),
        "{e}"
    );
}

#[test]
fn one_file_behind_two_disks_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let path = edited_ova(dir.path(), |d| {
        let cap = d
            .split("ovf:capacity=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        d.replace(
            "</DiskSection>",
            &format!(r#"<Disk ovf:capacity="{cap}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk2" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>"#),
        )
        .replace(
            "</VirtualHardwareSection>",
            r#"<Item><rasd:AddressOnParent>1</rasd:AddressOnParent><rasd:ElementName>Hard Disk 2</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk2</rasd:HostResource><rasd:InstanceID>9</rasd:InstanceID><rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType></Item></VirtualHardwareSection>"#,
        )
    });
    let e = import(&path, &dir.path().join("o"), &thin()).unwrap_err();
    assert!(
        e.message()
            .contains("File file1 backs more than one disk (vmdisk1 and vmdisk2)"),
        "{e}"
    );
    assert!(!e.message().contains("attached more than once"), "{e}");
}

#[test]
fn a_package_without_descriptor_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let raw = image();
    let vmdk = stream_vmdk(dir.path(), &raw);
    let path = dir.path().join("x.ova");
    write_tar(&path, &[("t-disk1.vmdk".to_string(), vmdk)]);
    let e = import(&path, &dir.path().join("o"), &thin()).unwrap_err();
    assert!(
        e.message().contains("no .ovf descriptor in the package"),
        "{e}"
    );
}

#[test]
fn vm_picks_one_system_of_a_multi_vm_vapp() {
    let vm = |id: &str, cpus: u32| {
        format!(
            r#"<VirtualSystem ovf:id="{id}"><Info>vm</Info><Name>{id}</Name>
<OperatingSystemSection ovf:id="101"><Info>os</Info></OperatingSystemSection>
<VirtualHardwareSection><Info>hw</Info><System><vssd:ElementName>f</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
<Item><rasd:ElementName>cpu</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>{cpus}</rasd:VirtualQuantity></Item>
<Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>mem</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>256</rasd:VirtualQuantity></Item>
</VirtualHardwareSection></VirtualSystem>"#
        )
    };
    let desc = format!(
        r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
<References/><VirtualSystemCollection ovf:id="vapp"><Info>vApp</Info>{}{}</VirtualSystemCollection></Envelope>"#,
        vm("web", 1),
        vm("db", 4)
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.ovf");
    fs::write(&path, desc).unwrap();
    let e = import(&path, &dir.path().join("none"), &thin()).unwrap_err();
    assert_eq!(e.hint(), Some(&ovftool::Hint::ChooseVm), "{e}");
    let opts = ImportOptions {
        vm: Some("db".into()),
        ..thin()
    };
    let r = import(&path, &dir.path().join("o"), &opts).unwrap();
    assert_eq!(r.name, "db");
    assert!(vmx_of(&r.vm_dir).contains("numvcpus = \"4\""));
}

/// The same package judged with the same policy reaches the same verdict, with the same
/// finding severities, through `verify`, `import` and `unpack` (one policy, applied in one
/// place).
#[test]
fn same_policy_same_verdict_in_verify_import_and_unpack() {
    use ovftool::pack::{unpack, UnpackOptions};
    use ovftool::verify::{verify, VerifyOptions};
    let dir = tempfile::tempdir().unwrap();
    let raw = image();
    let vmdk = stream_vmdk(dir.path(), &raw);
    let desc = descriptor(&Pkg::default(), vmdk.len(), raw.len());
    let good_mf = one_disk_mf(&desc, &vmdk);
    let stale_mf = one_disk_mf(&desc, b"stale");
    let m = |n: &str, d: &[u8]| (n.to_string(), d.to_vec());
    type Members = Vec<(String, Vec<u8>)>;
    let cases: Vec<(&str, Members)> = vec![
        (
            "stale-digest",
            vec![
                m("t.ovf", desc.as_bytes()),
                m("t.mf", &stale_mf),
                m("t-disk1.vmdk", &vmdk),
            ],
        ),
        (
            "disk-first",
            vec![
                m("t-disk1.vmdk", &vmdk),
                m("t.ovf", desc.as_bytes()),
                m("t.mf", &good_mf),
            ],
        ),
        (
            "unreadable-cert",
            vec![
                m("t.ovf", desc.as_bytes()),
                m("t.mf", &stale_mf),
                m("t.cert", b"not a certificate"),
                m("t-disk1.vmdk", &vmdk),
            ],
        ),
    ];
    let mut passes = 0;
    for (name, members) in &cases {
        let path = dir.path().join(format!("{name}.ova"));
        write_tar(&path, members);
        for (lax, skip) in [(false, false), (true, false), (false, true), (true, true)] {
            let what = format!("{name} lax={lax} skip={skip}");
            let sev = |r: &ovftool::verify::Report| {
                let mut v: Vec<(String, ovftool::verify::Severity)> = r
                    .findings
                    .iter()
                    .map(|f| (f.code.to_string(), f.severity))
                    .collect();
                v.sort();
                v
            };
            let verified = verify(
                &path,
                &VerifyOptions {
                    lax,
                    skip_manifest_check: skip,
                    ..Default::default()
                },
            )
            .unwrap();
            let out = dir.path().join(format!("unpack-{name}-{lax}-{skip}"));
            let unpacked = unpack(
                &path,
                &out,
                &UnpackOptions {
                    lax,
                    skip_manifest_check: skip,
                    ..Default::default()
                },
            )
            .unwrap();
            let target = dir.path().join(format!("import-{name}-{lax}-{skip}"));
            fs::create_dir(&target).unwrap();
            let imported = import(
                &path,
                &target,
                &ImportOptions {
                    lax,
                    skip_manifest_check: skip,
                    ..thin()
                },
            );
            assert_eq!(verified.passed(), unpacked.passed(), "{what}: unpack");
            assert_eq!(sev(&verified), sev(&unpacked), "{what}: unpack");
            match imported {
                Ok(r) => {
                    assert!(verified.passed(), "{what}: import passed, verify did not");
                    assert_eq!(sev(&verified), sev(&r.verification), "{what}: import");
                    passes += 1;
                }
                Err(e) => {
                    assert!(!verified.passed(), "{what}: import failed: {e}");
                    assert_eq!(e.kind(), ErrorKind::Verification, "{what}: {e}");
                    assert!(is_empty_dir(&target), "{what}: import left files");
                }
            }
        }
    }
    // The stale digest passes with the skip, the late descriptor with lax; the unreadable
    // certificate never does.
    assert_eq!(passes, 4, "expected four passing combinations");
}

/// A vApp of three VMs, each with its own streamOptimized disk, as an OVA (descriptor written
/// here; vCloud Director exports have this shape).
fn three_vm_vapp(dir: &Path) -> (PathBuf, Vec<Vec<u8>>) {
    vapp_of_three(dir, false)
}

/// [`three_vm_vapp`]; with `db_shares_web`, `db` also attaches web's disk (scsi0:1).
fn vapp_of_three(dir: &Path, db_shares_web: bool) -> (PathBuf, Vec<Vec<u8>>) {
    let names = ["web", "app", "db"];
    let raws: Vec<Vec<u8>> = (0..3u8)
        .map(|i| {
            let mut r = vec![0u8; MIB];
            r[..4096].fill(i + 1);
            r
        })
        .collect();
    let vmdks: Vec<Vec<u8>> = raws.iter().map(|r| stream_vmdk(dir, r)).collect();
    let mut refs = String::new();
    let mut disks = String::new();
    let mut systems = String::new();
    for (i, n) in names.iter().enumerate() {
        refs.push_str(&format!(
            r#"<File ovf:href="{n}-disk1.vmdk" ovf:id="file-{n}" ovf:size="{}"/>"#,
            vmdks[i].len()
        ));
        disks.push_str(&format!(
            r#"<Disk ovf:capacity="{MIB}" ovf:diskId="disk-{n}" ovf:fileRef="file-{n}" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>"#
        ));
        systems.push_str(&format!(
            r#"<VirtualSystem ovf:id="vm-{n}"><Info>vm</Info><Name>{n}</Name>
<OperatingSystemSection ovf:id="101"><Info>os</Info></OperatingSystemSection>
<VirtualHardwareSection><Info>hw</Info><System><vssd:ElementName>f</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
<Item><rasd:ElementName>cpu</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>{cpus}</rasd:VirtualQuantity></Item>
<Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>mem</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>256</rasd:VirtualQuantity></Item>
<Item><rasd:Address>0</rasd:Address><rasd:ElementName>scsi</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
<Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>disk</rasd:ElementName><rasd:HostResource>ovf:/disk/disk-{n}</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>{shared}
</VirtualHardwareSection></VirtualSystem>"#,
            cpus = i + 1,
            shared = if db_shares_web && *n == "db" {
                r#"<Item><rasd:AddressOnParent>1</rasd:AddressOnParent><rasd:ElementName>disk2</rasd:ElementName><rasd:HostResource>ovf:/disk/disk-web</rasd:HostResource><rasd:InstanceID>5</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>"#
            } else {
                ""
            }
        ));
    }
    let desc = format!(
        r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
<References>{refs}</References><DiskSection><Info>disks</Info>{disks}</DiskSection>
<VirtualSystemCollection ovf:id="shop"><Info>vApp</Info><Name>shop vApp</Name>{systems}</VirtualSystemCollection></Envelope>"#
    );
    let files: Vec<(String, Vec<u8>)> = names
        .iter()
        .zip(vmdks)
        .map(|(n, v)| (format!("{n}-disk1.vmdk"), v))
        .collect();
    let path = dir.join("shop.ova");
    ova(&path, &desc, &files);
    (path, raws)
}

#[test]
fn a_multi_vm_vapp_without_vm_imports_every_vm_into_its_own_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (path, raws) = three_vm_vapp(dir.path());
    let target = dir.path().join("out");
    let p = ovftool::import::import_package(&path, &target, &thin()).unwrap();
    let vapp = target.join("shop vApp");
    assert_eq!(p.vapp_dir.as_deref(), Some(vapp.as_path()));
    let names: Vec<&str> = p.vms.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["web", "app", "db"]);
    for (i, r) in p.vms.iter().enumerate() {
        assert_eq!(r.vm_dir, vapp.join(names[i]));
        let vmx = vmx_of(&r.vm_dir);
        assert_eq!(key(&vmx, "numvcpus"), Some((i + 1).to_string().as_str()));
        // Each VM got its own disk, and only it.
        assert_eq!(r.disks.len(), 1);
        assert_eq!(r.disks[0].disk_id, format!("disk-{}", names[i]));
        let flat = fs::read(
            r.vm_dir
                .join(r.disks[0].file.replace(".vmdk", "-flat.vmdk")),
        )
        .unwrap();
        assert_eq!(flat, raws[i], "{}", names[i]);
    }
    // --vm keeps picking one, into TARGET/<vm>.
    let one = ImportOptions {
        vm: Some("vm-app".into()),
        ..thin()
    };
    let p = ovftool::import::import_package(&path, &dir.path().join("one"), &one).unwrap();
    assert!(p.vapp_dir.is_none());
    assert_eq!(p.vms.len(), 1);
    assert_eq!(p.vms[0].vm_dir, dir.path().join("one").join("app"));
    // A second import without --force fails and leaves the first intact.
    let e = ovftool::import::import_package(&path, &target, &thin()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert!(vapp.join("db").is_dir());
}

/// The flat extent of disk `i` of an imported VM (thin layout).
fn flat_of(r: &ovftool::import::ImportReport, i: usize) -> Vec<u8> {
    fs::read(
        r.vm_dir
            .join(r.disks[i].file.replace(".vmdk", "-flat.vmdk")),
    )
    .unwrap()
}

#[test]
fn a_multi_vm_vapp_from_a_stream_imports_every_vm_in_one_pass_and_shares_a_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (path, raws) = vapp_of_three(dir.path(), true);
    let target = dir.path().join("out");
    // A stream that cannot be re-read or sought (a pipe, an HTTP body).
    let mut stream: &mut dyn Read = &mut fs::File::open(&path).unwrap().take(u64::MAX);
    let p = ovftool::import::import_package_reader(&mut stream, Path::new("-"), &target, &thin())
        .unwrap();
    let vapp = target.join("shop vApp");
    assert_eq!(p.vapp_dir.as_deref(), Some(vapp.as_path()));
    let names: Vec<&str> = p.vms.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["web", "app", "db"]);
    for (i, r) in p.vms.iter().enumerate() {
        assert_eq!(r.vm_dir, vapp.join(names[i]));
        assert!(r.verification.passed(), "{:?}", r.verification.findings);
        assert_eq!(flat_of(r, 0), raws[i], "{}", names[i]);
        // The other VMs' disks are theirs, not files this VM leaves unused.
        assert!(
            r.warnings.iter().all(|w| !w.contains("not used")),
            "{:?}",
            r.warnings
        );
    }
    // The member web-disk1.vmdk arrived once and went to both VMs that attach it.
    let db = &p.vms[2];
    assert_eq!(db.disks.len(), 2);
    assert_eq!(db.disks[1].disk_id, "disk-web");
    assert_eq!(flat_of(db, 1), raws[0]);
    // --vm from a stream: the one VM, into TARGET/<vm>.
    let one = ImportOptions {
        vm: Some("vm-app".into()),
        ..thin()
    };
    let mut stream: &mut dyn Read = &mut fs::File::open(&path).unwrap().take(u64::MAX);
    let p = ovftool::import::import_package_reader(
        &mut stream,
        Path::new("-"),
        &dir.path().join("one"),
        &one,
    )
    .unwrap();
    assert!(p.vapp_dir.is_none());
    assert_eq!(p.vms[0].vm_dir, dir.path().join("one").join("app"));
}

#[test]
fn a_vapp_stream_whose_one_vm_fails_leaves_no_vm_folder_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = three_vm_vapp(dir.path());
    let target = dir.path().join("out");
    // db's folder exists already: db fails, web and app are stopped and removed.
    fs::create_dir_all(target.join("shop vApp").join("db")).unwrap();
    let mut stream: &mut dyn Read = &mut fs::File::open(&path).unwrap().take(u64::MAX);
    let e = ovftool::import::import_package_reader(&mut stream, Path::new("-"), &target, &thin())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    let left: Vec<String> = fs::read_dir(target.join("shop vApp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["db"]);
    // A damaged member fails the whole vApp the same way, from the verdict of each VM.
    let mut bytes = fs::read(&path).unwrap();
    let at = bytes.len() - 4096;
    bytes[at - 600..at - 500].fill(0x55);
    let e = ovftool::import::import_package_reader(
        &mut bytes.as_slice(),
        Path::new("-"),
        &dir.path().join("bad"),
        &thin(),
    )
    .unwrap_err();
    assert!(
        !dir.path()
            .join("bad")
            .join("shop vApp")
            .join("web")
            .exists(),
        "{e}"
    );
}

#[test]
fn a_vapp_stream_with_too_many_vms_is_refused_naming_vm() {
    let dir = tempfile::tempdir().unwrap();
    let n = ovftool::limits::MAX_STREAMED_VMS + 1;
    let systems: String = (0..n)
        .map(|i| format!(r#"<VirtualSystem ovf:id="vm{i}"><Info>vm</Info></VirtualSystem>"#))
        .collect();
    let desc = format!(
        r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References/><VirtualSystemCollection ovf:id="big"><Info>vApp</Info>{systems}</VirtualSystemCollection></Envelope>"#
    );
    let path = dir.path().join("big.ova");
    ova(&path, &desc, &[]);
    let mut stream: &mut dyn Read = &mut fs::File::open(&path).unwrap().take(u64::MAX);
    let e = ovftool::import::import_package_reader(
        &mut stream,
        Path::new("-"),
        &dir.path().join("out"),
        &thin(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded, "{e}");
    assert_eq!(e.hint(), Some(&ovftool::Hint::ChooseVm), "{e}");
    assert!(e.message().contains("vm0"), "{e}");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn cli_imports_a_whole_vapp_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let (path, raws) = three_vm_vapp(dir.path());
    let target = dir.path().join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_ovftool-rs"))
        .args(["import", "-", target.to_str().unwrap()])
        .stdin(fs::File::open(&path).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("imported vApp"), "{text}");
    assert!(text.contains("3 VMs"), "{text}");
    for (i, n) in ["web", "app", "db"].iter().enumerate() {
        let vm = target.join("shop vApp").join(n);
        let flat = fs::read(vm.join(format!("{n}-disk1-flat.vmdk"))).unwrap();
        assert_eq!(flat, raws[i], "{n}");
    }
}

#[test]
fn cli_reports_a_whole_vapp_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = three_vm_vapp(dir.path());
    let target = dir.path().join("out");
    let out = support::ovftool(&["import", path.to_str().unwrap(), target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("imported vApp"), "{text}");
    assert!(text.contains("3 VMs"), "{text}");
    let out = support::ovftool(&[
        "import",
        "--json",
        path.to_str().unwrap(),
        dir.path().join("j").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let vms = v["vms"].as_array().expect("vms[]");
    assert_eq!(vms.len(), 3);
    assert!(
        v["vapp_dir"].as_str().unwrap().ends_with("shop vApp"),
        "{v}"
    );
    assert_eq!(vms[2]["name"], "db");
    // --vm: the single-VM document.
    let out = support::ovftool(&[
        "import",
        "--json",
        "--vm",
        "vm-db",
        path.to_str().unwrap(),
        dir.path().join("k").to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "db", "{v}");
    assert!(v.get("vms").is_none());
}

#[test]
fn import_help_says_which_disk_modes_write_esxi_descriptors() {
    // issue 12: thin / thick / eager-zeroed-thick write ESXi (vmfs) descriptors, the hosted
    // layouts are for Workstation and Fusion; --help says so.
    let out = crate::support::ovftool(&["import", "--help"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("thin, thick and eager-zeroed-thick write ESXi (vmfs)"),
        "{text}"
    );
    assert!(text.contains("Workstation and Fusion"), "{text}");
}
