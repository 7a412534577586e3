//! The one-scan claims: each command parses the descriptor once, and verify, unpack and
//! import reach the same verdict on the same damaged packages.

use std::cell::Cell;
use std::path::Path;

use crate::digest::Algorithm;
use crate::import::{import_path, ImportOptions};
use crate::pack::{unpack, UnpackOptions};
use crate::progress::NoProgress;
use crate::verify::{verify_path, Finding, Severity, VerifyOptions};

/// Runs `f` and says how many times it parsed a descriptor.
fn parses<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = crate::ovf::DESCRIPTOR_PARSES.with(Cell::get);
    let r = f();
    (r, crate::ovf::DESCRIPTOR_PARSES.with(Cell::get) - before)
}

fn descriptor(data_size: usize) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="data.bin" ovf:id="file1" ovf:size="{data_size}"/></References>
  <VirtualSystem ovf:id="one"><Info>A VM</Info><Name>one</Name>
<OperatingSystemSection ovf:id="101"><Info>OS</Info></OperatingSystemSection>
<VirtualHardwareSection><Info>Hardware</Info>
  <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
  <Item><rasd:ElementName>cpu</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
  <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>mem</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>64</rasd:VirtualQuantity></Item>
</VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#
    )
}

/// How a package is damaged.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Damage {
    None,
    DataDigest,
    DescriptorDigest,
    SizeMismatch,
    MissingData,
    ExtraMember,
}

/// Writes `one.ova` and the folder `dir/one/` (one.ovf, one.mf, data.bin) damaged as asked.
fn package(dir: &Path, damage: Damage) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = vec![7u8; 3000];
    let desc = descriptor(if damage == Damage::SizeMismatch {
        2999
    } else {
        data.len()
    });
    let sha = |b: &[u8]| hex::encode(Algorithm::Sha256.digest(b));
    let mut mf = String::new();
    let desc_digest = if damage == Damage::DescriptorDigest {
        sha(b"other")
    } else {
        sha(desc.as_bytes())
    };
    mf.push_str(&format!("SHA256(one.ovf)= {desc_digest}\n"));
    let data_digest = if damage == Damage::DataDigest {
        sha(b"other")
    } else {
        sha(&data)
    };
    mf.push_str(&format!("SHA256(data.bin)= {data_digest}\n"));
    let mut members: Vec<(&str, Vec<u8>)> =
        vec![("one.ovf", desc.into_bytes()), ("one.mf", mf.into_bytes())];
    if damage != Damage::MissingData {
        members.push(("data.bin", data));
    }
    if damage == Damage::ExtraMember {
        members.push(("extra.bin", b"extra".to_vec()));
    }
    let folder = dir.join("one");
    std::fs::create_dir_all(&folder).unwrap();
    let ova = dir.join("one.ova");
    let mut w = crate::ova::writer::Writer::new(std::fs::File::create(&ova).unwrap(), 0);
    for (name, bytes) in &members {
        w.append_bytes(name, bytes).unwrap();
        std::fs::write(folder.join(name), bytes).unwrap();
    }
    w.finish().unwrap();
    (ova, folder.join("one.ovf"))
}

fn errors(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect()
}

#[test]
fn every_command_parses_the_descriptor_once() {
    let dir = tempfile::tempdir().unwrap();
    let (ova, ovf) = package(dir.path(), Damage::None);
    let vopts = VerifyOptions::default();
    for path in [&ova, &ovf] {
        let (r, n) = parses(|| verify_path(path, &vopts, &NoProgress).unwrap());
        assert!(r.passed(), "{:?}", r.findings);
        assert_eq!(n, 1, "verify {}", path.display());
    }
    let (r, n) = parses(|| {
        unpack(
            &ova,
            &dir.path().join("unpacked"),
            &UnpackOptions::default(),
        )
        .unwrap()
    });
    assert!(r.passed(), "{:?}", r.findings);
    assert_eq!(n, 1, "unpack");
    for (i, path) in [&ova, &ovf].into_iter().enumerate() {
        let target = dir.path().join(format!("vms{i}"));
        let (r, n) = parses(|| import_path(path, &target, &ImportOptions::default(), &NoProgress));
        let r = r.unwrap();
        assert!(r.vmx.is_file());
        assert_eq!(n, 1, "import {}", path.display());
    }
}

#[test]
fn verify_unpack_and_import_reach_the_same_verdict_through_the_one_scan() {
    for damage in [
        Damage::DataDigest,
        Damage::DescriptorDigest,
        Damage::SizeMismatch,
        Damage::MissingData,
        Damage::ExtraMember,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (ova, ovf) = package(dir.path(), damage);
        let verified = verify_path(&ova, &VerifyOptions::default(), &NoProgress).unwrap();
        let expected = errors(&verified.findings);
        assert!(!expected.is_empty(), "{damage:?} passes verify");
        // The folder form of the same package: the same errors (order apart). (A folder may
        // hold other files: only what the descriptor and manifest name is the package.)
        let in_folder = damage != Damage::ExtraMember;
        let folder = verify_path(&ovf, &VerifyOptions::default(), &NoProgress).unwrap();
        let mut a: Vec<_> = expected
            .iter()
            .map(|f| (f.code.to_string(), f.message.clone()))
            .collect();
        let mut b: Vec<_> = errors(&folder.findings)
            .iter()
            .map(|f| (f.code.to_string(), f.message.clone()))
            .collect();
        a.sort();
        b.sort();
        if in_folder {
            assert_eq!(a, b, "{damage:?}: OVA and folder verdicts differ");
        } else {
            assert!(folder.passed(), "{:?}", folder.findings);
        }
        // unpack: the same findings, and nothing extracted.
        let out = dir.path().join("unpacked");
        let unpacked = unpack(&ova, &out, &UnpackOptions::default()).unwrap();
        assert_eq!(unpacked.findings, verified.findings, "{damage:?}");
        assert!(!out.exists());
        // import (OVA and folder): refused, naming every error verify found.
        let paths = if in_folder {
            vec![&ova, &ovf]
        } else {
            vec![&ova]
        };
        for (i, path) in paths.into_iter().enumerate() {
            let target = dir.path().join(format!("vms{i}"));
            let e = import_path(path, &target, &ImportOptions::default(), &NoProgress).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Verification, "{damage:?}: {e}");
            for f in &expected {
                assert!(
                    e.message().contains(&f.message),
                    "{damage:?}: {e} lacks {}",
                    f.message
                );
            }
            assert!(!target.join("one").exists());
        }
    }
}

#[test]
fn transforms_read_the_head_through_the_scan_and_parse_each_descriptor_once() {
    use crate::transform::diff::{diff, DiffOptions};
    use crate::transform::edit::{edit, EditOptions};
    let dir = tempfile::tempdir().unwrap();
    let (ova, ovf) = package(dir.path(), Damage::None);
    let opts = EditOptions {
        annotation: Some("edited".into()),
        ..Default::default()
    };
    for (i, input) in [&ova, &ovf].into_iter().enumerate() {
        let out = dir.path().join(format!("edited{i}.ova"));
        let (r, n) = parses(|| edit(input, &out, &opts));
        r.unwrap();
        assert_eq!(n, 1, "edit {}", input.display());
        let v = verify_path(&out, &VerifyOptions::default(), &NoProgress).unwrap();
        assert!(v.passed(), "{:?}", v.findings);
    }
    // diff: one parse per package.
    let (r, n) = parses(|| diff(&ova, &ovf, &DiffOptions::default()));
    assert!(r.unwrap().same());
    assert_eq!(n, 2, "diff");
    // A damaged head is refused as before: a second descriptor in an OVA.
    let two = dir.path().join("two.ova");
    let mut w = crate::ova::writer::Writer::new(std::fs::File::create(&two).unwrap(), 0);
    let desc = descriptor(3000);
    w.append_bytes("one.ovf", desc.as_bytes()).unwrap();
    w.append_bytes("two.ovf", desc.as_bytes()).unwrap();
    w.finish().unwrap();
    let e = edit(&two, &dir.path().join("x.ova"), &opts).unwrap_err();
    assert!(e.message().contains("a second descriptor two.ovf"), "{e}");
}

/// The vSphere deploy stands on the same scan: against the API simulator (`$VCSIM` or
/// `target/vcsim`, skipped without it unless `CI` is set), it parses the descriptor once and
/// refuses the damaged packages `verify` fails, naming the same errors and leaving no VM.
#[cfg(feature = "vsphere")]
mod deploy {
    use std::io::{BufRead, BufReader};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};

    use super::*;
    use crate::net::{HttpClient, TlsPolicy};
    use crate::vsphere::deploy::{deploy_folder, deploy_reader, DeployOptions, Target};
    use crate::vsphere::{Locator, Session};

    struct Sim(Child, String);

    impl Drop for Sim {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// The simulator on plain HTTP: its child process and `host:port`.
    fn start() -> Option<Sim> {
        let exe = std::env::var_os("VCSIM")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/vcsim"));
        if !exe.is_file() {
            assert!(
                std::env::var_os("CI").is_none(),
                "the vSphere simulator is required in CI: {} is missing",
                exe.display()
            );
            eprintln!("SKIP: no vSphere simulator at {}", exe.display());
            return None;
        }
        let mut child = Command::new(exe)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the simulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).expect("simulator JSON line");
        let url = v["url"].as_str().unwrap();
        let host_port = url.split('@').nth(1).unwrap().split('/').next().unwrap();
        Some(Sim(child, host_port.to_string()))
    }

    #[test]
    fn deploy_parses_the_descriptor_once_and_reaches_verifys_verdict() {
        let Some(sim) = start() else { return };
        let target = Target {
            locator: Locator::parse(&format!("vi://user@{}/DC0/host/DC0_C0", sim.1)).unwrap(),
            password: "pass".into(),
            tls: TlsPolicy::System,
            https: false,
        };
        let s =
            Session::connect(HttpClient::new(TlsPolicy::System).unwrap(), &sim.1, false).unwrap();
        s.login("user", "pass").unwrap();
        let vm = |name: &str| s.find_by_path(&format!("DC0/vm/{name}")).unwrap();
        let deploy = |path: &Path, name: &str| {
            let opts = DeployOptions {
                name: Some(name.to_string()),
                ..Default::default()
            };
            if path.extension().is_some_and(|e| e == "ova") {
                let mut f = std::fs::File::open(path).unwrap();
                deploy_reader(&mut f, "one.ova", &target, &opts)
            } else {
                deploy_folder(path, &target, &opts)
            }
        };
        let dir = tempfile::tempdir().unwrap();
        let (ova, ovf) = package(dir.path(), Damage::None);
        for (i, path) in [&ova, &ovf].into_iter().enumerate() {
            let name = format!("good{i}");
            let (r, n) = parses(|| deploy(path, &name));
            let r = r.unwrap();
            assert!(r.verification.passed(), "{:?}", r.verification.findings);
            assert_eq!(n, 1, "deploy {}", path.display());
            assert!(vm(&name).is_some(), "{name} was not deployed");
        }
        for damage in [
            Damage::DataDigest,
            Damage::DescriptorDigest,
            Damage::SizeMismatch,
            Damage::MissingData,
            Damage::ExtraMember,
        ] {
            let dir = tempfile::tempdir().unwrap();
            let (ova, ovf) = package(dir.path(), damage);
            let paths = if damage == Damage::ExtraMember {
                vec![&ova]
            } else {
                vec![&ova, &ovf]
            };
            for (i, path) in paths.into_iter().enumerate() {
                let verified = verify_path(path, &VerifyOptions::default(), &NoProgress).unwrap();
                let expected = errors(&verified.findings);
                assert!(!expected.is_empty(), "{damage:?} passes verify");
                let name = format!("bad{i}");
                let e = deploy(path, &name).unwrap_err();
                assert_eq!(e.kind(), crate::ErrorKind::Verification, "{damage:?}: {e}");
                for f in &expected {
                    assert!(
                        e.message().contains(&f.message),
                        "{damage:?}: {e} lacks {}",
                        f.message
                    );
                }
                assert!(vm(&name).is_none(), "{damage:?}: a VM is left");
            }
        }
    }
}
