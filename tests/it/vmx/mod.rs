//! Integration tests: the `.vmx` file and its mapping to the neutral model.

mod ovf_mapping;

use std::path::{Path, PathBuf};

use ovftool::vm::{
    Attachment, BusFamily, CdBacking, CdRom, Controller, ControllerKind, Disk, Firmware, Floppy,
    FloppyBacking, GuestOs, MacAddress, Machine, Nic, NicAdapter, Port, Severity, Sound, SoundKind,
    Usb, VmwareSetting,
};
use ovftool::vmx::Vmx;
use ovftool::ErrorKind;
use proptest::prelude::*;

use crate::support;

pub(crate) fn corpus_files(ext: &[&str]) -> Vec<PathBuf> {
    let Some(dir) = support::corpus() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ext.iter().any(|x| e.eq_ignore_ascii_case(x)))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The corpus file `rel` (relative to the corpus root), read; `None` (a skip) without a corpus.
pub(crate) fn corpus_file(rel: &str) -> Option<Vmx> {
    let dir = support::corpus()?;
    let p = dir.join(rel);
    Some(Vmx::read_file(&p, &ovftool::Limits::DEFAULT).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn corpus_vmx_files_write_back_byte_identical() {
    let files = corpus_files(&["vmx", "vmtx"]);
    if support::corpus().is_some() {
        assert!(
            files.len() >= 8,
            "expected the corpus .vmx files, found {files:?}"
        );
    }
    for p in files {
        let bytes = std::fs::read(&p).unwrap();
        let v = Vmx::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(v.to_bytes(), bytes, "{}", p.display());
        let again = Vmx::parse(&v.to_bytes()).unwrap();
        assert_eq!(again, v, "{}", p.display());
    }
}

#[test]
fn corpus_machines_survive_to_vmx_and_back() {
    for p in corpus_files(&["vmx", "vmtx"]) {
        let v = Vmx::read_file(&p, &ovftool::Limits::DEFAULT).unwrap();
        let (m, _) = Machine::from_vmx(&v);
        let written = m.to_vmx();
        let (back, warnings) = Machine::from_vmx(&Vmx::parse(&written.to_bytes()).unwrap());
        assert!(
            back.unmapped.is_empty(),
            "{}: {:?}",
            p.display(),
            back.unmapped
        );
        let mut expect = m.clone();
        expect.unmapped.clear();
        assert_eq!(back, expect, "{}", p.display());
        // Our own output is clean, apart from a missing memsize in files without one.
        assert!(
            warnings.iter().all(|w| w.subject == "memsize"),
            "{}: {warnings:?}",
            p.display()
        );
    }
}

#[test]
fn virt_v2v_rhel_uefi_hardware() {
    let Some(v) = corpus_file("libguestfs__virt-v2v/tests/test-i-vmx-3.vmx") else {
        return;
    };
    let (m, warnings) = Machine::from_vmx(&v);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(m.name.as_deref(), Some("RHEL 7.1 UEFI"));
    assert_eq!(m.hardware_version, Some(8));
    assert_eq!(m.memory_mib, 2048);
    assert_eq!(m.cpus, 1);
    assert_eq!(m.firmware, Firmware::Efi);
    assert_eq!(m.guest_os.vmx_key.as_deref(), Some("rhel6-64"));
    assert_eq!(m.guest_os.guest_id.as_deref(), Some("rhel6_64Guest"));
    assert_eq!(m.guest_os.cim_id, Some(80));
    assert_eq!(m.nvram_file.as_deref(), Some("RHEL 7.1 UEFI.nvram"));
    assert_eq!(
        m.controllers,
        vec![
            Controller {
                kind: ControllerKind::Pvscsi,
                bus: 0
            },
            Controller {
                kind: ControllerKind::Ide,
                bus: 1
            },
        ]
    );
    assert_eq!(m.disks.len(), 1);
    assert_eq!(m.disks[0].file_name, "RHEL-7.1-UEFI.vmdk");
    assert_eq!(m.disks[0].attachment.to_string(), "scsi0:0");
    assert_eq!(m.cdroms.len(), 1);
    assert!(!m.cdroms[0].start_connected);
    assert!(
        matches!(&m.cdroms[0].backing, CdBacking::Image { file } if file.ends_with("boot.iso"))
    );
    assert_eq!(
        m.floppies,
        vec![Floppy {
            index: 0,
            backing: FloppyBacking::Client,
            start_connected: false
        }]
    );
    assert_eq!(m.nics.len(), 1);
    assert_eq!(m.nics[0].adapter, Some(NicAdapter::VmxNet3));
    assert_eq!(m.nics[0].network.as_deref(), Some("VM Network"));
    assert_eq!(m.nics[0].mac, MacAddress::Generated);
    assert!(m.vmci);
    assert_eq!(m.video_ram_bytes, Some(8 << 20));
    // Runtime state is not carried; user settings are.
    let keys: Vec<&str> = m.extra_config.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        m.vmware.get(VmwareSetting::ToolsSyncTime).is_some(),
        "{:?}",
        m.vmware
    );
    assert!(
        m.vmware.get(VmwareSetting::PowerOffType).is_some(),
        "{:?}",
        m.vmware
    );
    for runtime in [
        "uuid.bios",
        "vc.uuid",
        "hostCPUID.0",
        "pciBridge0.present",
        "scsi0:0.redo",
    ] {
        assert!(!keys.contains(&runtime), "{runtime} leaked: {keys:?}");
    }
    // Resource settings are reported, not dropped.
    assert!(m
        .unmapped
        .iter()
        .any(|u| u.item.starts_with("sched.cpu.shares")));
    assert!(m.validate().iter().all(|i| i.severity == Severity::Warning));

    // The written .vmx has what the export acceptance looks for.
    let text = m.to_vmx().to_text();
    for needle in [
        "memsize = \"2048\"",
        "firmware = \"efi\"",
        "scsi0.virtualDev = \"pvscsi\"",
        "ethernet0.virtualDev = \"vmxnet3\"",
        "guestOS = \"rhel6-64\"",
        "scsi0:0.fileName = \"RHEL-7.1-UEFI.vmdk\"",
    ] {
        assert!(text.contains(needle), "{needle} missing in\n{text}");
    }
}

#[test]
fn virt_v2v_other_files() {
    let Some(v) = corpus_file("libguestfs__virt-v2v/tests/test-i-vmx-1.vmx") else {
        return;
    };
    let (m, _) = Machine::from_vmx(&v);
    assert_eq!(m.disks.len(), 21);
    assert!(m.validate().iter().all(|i| i.severity == Severity::Warning));
    let (m, _) =
        Machine::from_vmx(&corpus_file("libguestfs__virt-v2v/tests/test-i-vmx-2.vmx").unwrap());
    assert!(m.controllers.iter().any(|c| c.kind == ControllerKind::Sata));
    assert_eq!(m.cdroms[0].attachment.family, BusFamily::Sata);
    assert_eq!(m.guest_os.guest_id.as_deref(), Some("rhel7_64Guest"));
    let (m, _) =
        Machine::from_vmx(&corpus_file("libguestfs__virt-v2v/tests/test-i-vmx-4.vmx").unwrap());
    assert_eq!(
        m.controllers
            .iter()
            .find(|c| c.bus == 0 && c.family() == BusFamily::Scsi)
            .map(|c| c.kind),
        Some(ControllerKind::LsiLogicSas)
    );
    assert_eq!(m.nics[0].adapter, Some(NicAdapter::E1000));
    assert_eq!(m.guest_os.guest_id.as_deref(), Some("windows7_64Guest"));
    assert_eq!(m.guest_os.cim_id, Some(105));
}

#[test]
fn libvirt_case_insensitive_file() {
    let Some(v) = corpus_file("libvirt__libvirt/tests/vmx2xmldata/case-insensitive-1.vmx") else {
        return;
    };
    assert_eq!(v.get("memsize").as_deref(), Some("1024"));
    assert_eq!(v.get_bool("floppy0.present"), Some(false));
    let (m, _) = Machine::from_vmx(&v);
    assert_eq!(m.name.as_deref(), Some("FEDORA11"));
    assert_eq!(m.memory_mib, 1024);
    assert_eq!(m.guest_os.guest_id.as_deref(), Some("rhel5Guest"));
    assert_eq!(
        m.controllers
            .iter()
            .find(|c| c.family() == BusFamily::Scsi)
            .map(|c| c.kind),
        Some(ControllerKind::LsiLogic)
    );
    assert_eq!(m.disks[0].file_name, "FEDORA11.VMDK");
    assert_eq!(
        m.cdroms,
        vec![CdRom {
            attachment: Attachment {
                family: BusFamily::Ide,
                bus: 0,
                unit: 0
            },
            backing: CdBacking::Client,
            start_connected: false
        }]
    );
    assert!(m.floppies.is_empty());
    assert_eq!(m.nics[0].network.as_deref(), Some("VM NETWORK"));
    assert_eq!(m.nics[0].mac, MacAddress::Generated);
    // Extra keys keep their original spelling (a value the typed settings lack stays extra);
    // typed settings are read whatever the case.
    assert!(m
        .extra_config
        .iter()
        .any(|(k, _)| k == "TOOLS.UPGRADE.POLICY"));
    assert_eq!(
        m.vmware.get(VmwareSetting::ToolsSyncTime),
        Some(ovftool::vm::SettingValue::Bool(false))
    );
}

#[test]
fn libvirt_annotation_escapes() {
    let Some(v) = corpus_file("libvirt__libvirt/tests/vmx2xmldata/annotation.vmx") else {
        return;
    };
    // libvirt's expected XML: vmx2xmldata/annotation.xml.
    assert_eq!(
        v.get("annotation").as_deref(),
        Some("Some |text| to test the \"escaping\": ||\"\"||\"| Escaped!")
    );
    let (m, _) = Machine::from_vmx(&v);
    let back = Vmx::parse(&m.to_vmx().to_bytes()).unwrap();
    assert_eq!(back.get("annotation"), m.annotation);
}

#[test]
fn libvirt_gsx_file() {
    let Some(v) = corpus_file("libvirt__libvirt/tests/vmx2xmldata/gsx-in-the-wild-3.vmx") else {
        return;
    };
    let (m, _) = Machine::from_vmx(&v);
    assert_eq!(m.memory_mib, 32);
    assert_eq!(m.disks.len(), 1);
    assert_eq!(m.disks[0].attachment.to_string(), "ide0:0");
    assert!(m.cdroms.is_empty(), "ide1:0 is not present");
    assert!(m.floppies.is_empty(), "floppy0.present = FALSE");
    assert!(m.sound.is_none());
    assert!(m.usb.usb2);
    assert_eq!(m.nics.len(), 2);
    assert_eq!(m.nics[1].network.as_deref(), Some("net2"));
    assert_eq!(m.nics[0].connection_type.as_deref(), Some("custom"));
    assert_eq!(m.guest_os.guest_id.as_deref(), Some("other26xLinuxGuest"));
    // An SCSI controller without devices is still a controller.
    assert!(m
        .controllers
        .iter()
        .any(|c| c.kind == ControllerKind::LsiLogic));
    // Device sub-keys of present devices travel as extra config.
    assert!(m
        .extra_config
        .iter()
        .any(|(k, v)| k == "ide0:0.mode" && v == "independent-persistent"));
}

#[test]
fn encrypted_vmx_long_lines() {
    let Some(v) = corpus_file("fox-it__dissect.hypervisor/tests/data/encrypted.vmx") else {
        return;
    };
    assert_eq!(v.get("displayName").as_deref(), Some("Encrypted VM"));
    assert!(v.get("encryption.data").unwrap().len() > 4000);
}

#[test]
fn malformed_lines_report_kind_and_position() {
    // (input, line, column)
    let cases: &[(&[u8], u64, u64)] = &[
        (b"a = \"1\"\nno equals sign\n", 2, 1),
        (b"  = \"x\"\n", 1, 3),
        (b"k = \"unterminated\n", 1, 5),
        (b"k = \"v\" trailing\n", 1, 9),
        (b"bad key = \"v\"\n", 1, 4),
    ];
    for (input, line, col) in cases {
        let e = Vmx::parse(input).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt, "{input:?}");
        assert_eq!(e.location().line_col, Some((*line, *col)), "{input:?}: {e}");
        let (_, w) = Vmx::parse_lax(input).unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].line, *line);
    }
}

#[test]
fn vmx_file_over_the_limit_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.vmx");
    std::fs::write(&p, vec![b'#'; 2048]).unwrap();
    let limits = ovftool::Limits {
        max_vmx_bytes: 1024,
        ..ovftool::Limits::DEFAULT
    };
    let e = Vmx::read_file(&p, &limits).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert_eq!(e.location().path.as_deref(), Some(Path::new(&p)));
}

#[test]
fn booleans_in_any_case() {
    let v = Vmx::parse(b"a = \"TRUE\"\nb = \"false\"\nc = \"True\"\nd = \"maybe\"\n").unwrap();
    assert_eq!(v.get_bool("A"), Some(true));
    assert_eq!(v.get_bool("b"), Some(false));
    assert_eq!(v.get_bool("c"), Some(true));
    assert_eq!(v.get_bool("d"), None);
}

#[test]
fn display_name_percent_escapes() {
    let v = Vmx::parse(b"displayName = \"a%2Fb %25 |22q|22\"\n").unwrap();
    assert_eq!(v.get("displayName").as_deref(), Some("a/b % \"q\""));
}

#[test]
fn editing_keeps_comments_and_unknown_keys() {
    let src = "#!/usr/bin/vmware\n.encoding = \"UTF-8\"\n# keep me\nmemsize = \"512\"\n\nfoo.bar = \"x\"\n";
    let mut v = Vmx::parse(src.as_bytes()).unwrap();
    v.set("MEMSIZE", "1024");
    assert_eq!(
        v.to_text(),
        "#!/usr/bin/vmware\n.encoding = \"UTF-8\"\n# keep me\nmemsize = \"1024\"\n\nfoo.bar = \"x\"\n"
    );
}

#[test]
fn vmx_written_for_import_has_the_keys() {
    let m = sample_machine();
    let text = m.to_vmx().to_text();
    assert!(
        text.starts_with(".encoding = \"UTF-8\"\nconfig.version = \"8\"\n"),
        "{text}"
    );
    for needle in [
        "virtualHW.version = \"14\"",
        "numvcpus = \"4\"",
        "cpuid.coresPerSocket = \"2\"",
        "memsize = \"4096\"",
        "uefi.secureBoot.enabled = \"TRUE\"",
        "scsi0:1.deviceType = \"scsi-hardDisk\"",
        "nvme0.present = \"TRUE\"",
        "ethernet0.addressType = \"static\"",
        "ethernet0.address = \"00:50:56:01:02:03\"",
        "usb_xhci.present = \"TRUE\"",
        "floppy0.present = \"FALSE\"",
        "annotation = \"two|0Alines |22quoted|22\"",
    ] {
        assert!(text.contains(needle), "{needle} missing in\n{text}");
    }
    let (back, w) = Machine::from_vmx(&Vmx::parse(text.as_bytes()).unwrap());
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(back, m);
}

fn sample_machine() -> Machine {
    Machine {
        name: Some("web 01".into()),
        annotation: Some("two\nlines \"quoted\"".into()),
        hardware_version: Some(14),
        guest_os: GuestOs::from_vmx_key("ubuntu-64"),
        cpus: 4,
        cores_per_socket: Some(2),
        memory_mib: 4096,
        firmware: Firmware::Efi,
        secure_boot: true,
        controllers: vec![
            Controller {
                kind: ControllerKind::Pvscsi,
                bus: 0,
            },
            Controller {
                kind: ControllerKind::Nvme,
                bus: 0,
            },
        ],
        disks: vec![Disk {
            attachment: Attachment {
                family: BusFamily::Scsi,
                bus: 0,
                unit: 1,
            },
            file_name: "web-disk1.vmdk".into(),
            capacity_bytes: None,
            disk_id: None,
        }],
        nics: vec![Nic {
            index: 0,
            adapter: Some(NicAdapter::VmxNet3),
            network: Some("VM Network".into()),
            connection_type: None,
            start_connected: true,
            mac: MacAddress::Static {
                address: "00:50:56:01:02:03".into(),
            },
        }],
        usb: Usb {
            usb2: false,
            ehci: false,
            xhci: true,
        },
        extra_config: vec![("guestinfo.role".into(), "web".into())],
        ..Machine::new()
    }
}

// ---- property test: Machine → .vmx → Machine is the identity ----

pub(crate) fn arb_guest() -> impl Strategy<Value = GuestOs> {
    prop_oneof![
        Just(GuestOs::default()),
        prop::sample::select(vec![
            "rhel6-64",
            "windows9-64",
            "other4xlinux-64",
            "ubuntu",
            "freeBSD12-64",
            "darwin19-64",
            "winNetEnterprise",
            "some-future-os",
        ])
        .prop_map(GuestOs::from_vmx_key),
    ]
}

fn arb_text() -> impl Strategy<Value = String> {
    // Includes quotes, pipes, percent signs, newlines and non-ASCII.
    "[a-zA-Z0-9 %|\"\n\té€#=:/._-]{1,24}"
}

fn arb_file() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _-]{1,12}\\.vmdk"
}

pub(crate) fn arb_machine() -> impl Strategy<Value = Machine> {
    let head = (
        prop::option::of(arb_text()),
        prop::option::of(arb_text()),
        prop::option::of(4u32..=21),
        arb_guest(),
        1u32..=16,
        prop::option::of(1u32..=4),
        1u64..=65536,
        any::<bool>(),
        any::<bool>(),
        prop::option::of("[a-zA-Z0-9 ]{1,10}\\.nvram"),
    );
    let controllers = prop::collection::btree_map(
        (0usize..4, 0u32..4),
        prop::sample::select(vec![
            ControllerKind::LsiLogic,
            ControllerKind::LsiLogicSas,
            ControllerKind::BusLogic,
            ControllerKind::Pvscsi,
        ]),
        0..4,
    );
    let devices = prop::collection::vec(
        (
            0u32..4,
            0u32..16,
            prop_oneof![
                arb_file().prop_map(|f| (true, CdBacking::Image { file: f })),
                "[a-z]{1,8}\\.iso".prop_map(|f| (false, CdBacking::Image { file: f })),
                Just((false, CdBacking::Client)),
                prop::option::of("/dev/[a-z]{2,4}")
                    .prop_map(|d| (false, CdBacking::HostDevice { device: d })),
            ],
            any::<bool>(),
        ),
        0..6,
    );
    let nics = prop::collection::btree_map(
        0u32..10,
        (
            prop::option::of(prop::sample::select(vec![
                NicAdapter::VmxNet3,
                NicAdapter::E1000,
                NicAdapter::E1000e,
                NicAdapter::Vlance,
                NicAdapter::VmxNet2,
                NicAdapter::Flexible,
            ])),
            prop::option::of(arb_text()),
            prop::option::of(prop::sample::select(vec!["bridged", "nat", "custom"])),
            any::<bool>(),
            prop::option::of(prop::array::uniform6(any::<u8>())),
        ),
        0..3,
    );
    let misc = (
        prop::option::of((
            0u32..2,
            prop_oneof![
                "[a-z]{1,8}\\.flp".prop_map(|f| FloppyBacking::Image { file: f }),
                Just(FloppyBacking::Client),
                prop::option::of("/dev/fd[0-9]")
                    .prop_map(|d| FloppyBacking::HostDevice { device: d }),
            ],
            any::<bool>(),
        )),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        prop::option::of((
            prop::option::of(prop::sample::select(vec![
                SoundKind::HdAudio,
                SoundKind::Es1371,
                SoundKind::Sb16,
            ])),
            any::<bool>(),
        )),
        prop::option::of(1u64..(256 << 20)),
        prop::option::of((0u32..4, "[a-z]{1,6}", any::<bool>())),
        prop::collection::vec(("guestinfo\\.[a-z]{1,8}", arb_text()), 0..3),
    );
    (head, controllers, devices, nics, misc).prop_map(|(head, ctls, devs, nics, misc)| {
        let (name, annotation, hw, guest_os, cpus, cps, mem, efi, sb, nvram) = head;
        let mut m = Machine {
            name,
            annotation,
            hardware_version: hw,
            guest_os,
            cpus,
            cores_per_socket: cps,
            memory_mib: mem,
            firmware: if efi { Firmware::Efi } else { Firmware::Bios },
            secure_boot: efi && sb,
            nvram_file: nvram,
            ..Machine::new()
        };
        // Controllers: family index 0 = SCSI (kind from the map), 1 = SATA, 2 = NVMe, 3 = IDE.
        for ((fam, bus), kind) in ctls {
            let (kind, bus) = match fam {
                0 => (kind, bus),
                1 => (ControllerKind::Sata, bus),
                2 => (ControllerKind::Nvme, bus),
                _ => (ControllerKind::Ide, bus % 2),
            };
            if !m.controllers.iter().any(|c| c.kind == kind && c.bus == bus) {
                m.controllers.push(Controller { kind, bus });
            }
        }
        m.controllers.sort_by_key(|c| (c.family(), c.bus));
        let mut used = std::collections::BTreeSet::new();
        for (ci, unit, (is_disk, backing), connected) in devs {
            let Some(c) = m.controllers.get(ci as usize % m.controllers.len().max(1)) else {
                continue;
            };
            let unit = unit % c.kind.limits().unit_count;
            let at = Attachment {
                family: c.family(),
                bus: c.bus,
                unit,
            };
            if !c.kind.unit_is_usable(unit) || !used.insert(at) {
                continue;
            }
            match (is_disk, backing) {
                (true, CdBacking::Image { file }) => m.disks.push(Disk {
                    attachment: at,
                    file_name: file,
                    capacity_bytes: None,
                    disk_id: None,
                }),
                (_, backing) => m.cdroms.push(CdRom {
                    attachment: at,
                    backing,
                    start_connected: connected,
                }),
            }
        }
        for (index, (adapter, network, ct, connected, mac)) in nics {
            m.nics.push(Nic {
                index,
                adapter,
                network,
                connection_type: ct.map(str::to_string),
                start_connected: connected,
                mac: match mac {
                    None => MacAddress::Generated,
                    Some(b) => MacAddress::Static {
                        address: b
                            .iter()
                            .map(|x| format!("{x:02x}"))
                            .collect::<Vec<_>>()
                            .join(":"),
                    },
                },
            });
        }
        let (floppy, (usb2, ehci, xhci, vmci), sound, vram, serial, extra) = misc;
        if let Some((index, backing, start_connected)) = floppy {
            m.floppies.push(Floppy {
                index,
                backing,
                start_connected,
            });
        }
        m.usb = Usb { usb2, ehci, xhci };
        m.vmci = vmci;
        m.sound = sound.map(|(kind, start_connected)| Sound {
            kind,
            start_connected,
        });
        m.video_ram_bytes = vram;
        if let Some((index, ft, sc)) = serial {
            m.serial_ports.push(Port {
                index,
                file_type: Some("file".into()),
                file_name: Some(format!("{ft}.log")),
                start_connected: sc,
            });
        }
        let mut seen = std::collections::HashSet::new();
        for (k, v) in extra {
            if seen.insert(k.clone()) {
                m.extra_config.push((k, v));
            }
        }
        m
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn machine_to_vmx_and_back_is_identity(m in arb_machine()) {
        let bytes = m.to_vmx().to_bytes();
        let vmx = Vmx::parse(&bytes).unwrap();
        let (back, warnings) = Machine::from_vmx(&vmx);
        // Only an unknown guest OS is worth a warning.
        prop_assert!(warnings.iter().all(|w| w.subject == "guestOS"), "{:?}", warnings);
        prop_assert_eq!(back, m);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let parsed = Vmx::parse_lax(&bytes);
        crate::support::assert_input_error("arbitrary bytes", &parsed);
        if let Ok((v, _)) = parsed {
            prop_assert_eq!(v.to_bytes(), bytes);
            let _ = Machine::from_vmx(&v);
        }
    }

    #[test]
    fn arbitrary_lines_never_panic(lines in prop::collection::vec("[a-z0-9:._ =\"|%#-]{0,30}", 0..20)) {
        let text = lines.join("\n");
        let (v, _) = Vmx::parse_lax(text.as_bytes()).unwrap();
        prop_assert_eq!(v.to_bytes(), text.as_bytes().to_vec());
        let (m, _) = Machine::from_vmx(&v);
        let _ = m.validate();
        let _ = Machine::from_vmx(&m.to_vmx());
    }
}

#[test]
fn vmx_with_a_hundred_thousand_keys_maps_in_linear_time() {
    // A hostile file near the size cap: many devices (switched off and on) and extra keys.
    let mut text = String::from(".encoding = \"UTF-8\"\nmemsize = \"64\"\n");
    for n in 0..4 {
        text.push_str(&format!(
            "scsi{n}.present = \"TRUE\"\nscsi{n}.virtualDev = \"pvscsi\"\n"
        ));
        for m in 0..256 {
            let on = if m % 2 == 0 { "TRUE" } else { "FALSE" };
            text.push_str(&format!(
                "scsi{n}:{m}.present = \"{on}\"\nscsi{n}:{m}.fileName = \"d{n}-{m}.vmdk\"\nscsi{n}:{m}.mode = \"persistent\"\n"
            ));
        }
    }
    for i in 0..40_000 {
        text.push_str(&format!("guestinfo.k{i} = \"v{i}\"\n"));
    }
    assert!(text.len() < 4 << 20);
    let start = std::time::Instant::now();
    let vmx = Vmx::parse(text.as_bytes()).unwrap();
    let t_parse = start.elapsed();
    let (m, _) = Machine::from_vmx(&vmx);
    let t_map = start.elapsed();
    let written = m.to_vmx();
    let t_write = start.elapsed();
    let back = Machine::from_vmx(&written).0;
    let elapsed = start.elapsed();
    eprintln!(
        "parse {t_parse:?}, from_vmx {:?}, to_vmx {:?}",
        t_map - t_parse,
        t_write - t_map
    );
    assert_eq!(m.extra_config.len(), back.extra_config.len());
    assert!(m.extra_config.len() >= 40_000);
    // Units beyond each controller's limit are kept in the model and reported by validate.
    assert!(m.validate().iter().any(|i| i.severity == Severity::Error));
    assert!(elapsed.as_secs() < 20, "took {elapsed:?}");
    eprintln!(
        "parse + from_vmx + to_vmx + from_vmx of {} keys: {elapsed:?}",
        vmx.entries().count()
    );
}

#[test]
fn vmx_device_index_above_the_limit_is_reported_not_allocated() {
    let vmx = Vmx::parse(
        b"memsize = \"64\"\nscsi0.present = \"TRUE\"\nscsi0:4000.present = \"TRUE\"\n\
          ethernet999.present = \"TRUE\"\nscsi99999999999:0.present = \"TRUE\"\n",
    )
    .unwrap();
    let (m, _) = Machine::from_vmx(&vmx);
    assert!(m.disks.is_empty() && m.nics.is_empty());
    assert_eq!(m.unmapped.len(), 2, "{:?}", m.unmapped);
    // Not a device key at all (too many digits): kept verbatim as extra config.
    assert_eq!(m.extra_config.len(), 1);
}

#[test]
fn write_file_is_atomic_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("vm.vmx");
    let m = sample_machine();
    m.to_vmx().write_file(&p, false).unwrap();
    let back = Vmx::read_file(&p, &ovftool::Limits::DEFAULT).unwrap();
    assert_eq!(Machine::from_vmx(&back).0, m);
    let e = m.to_vmx().write_file(&p, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    m.to_vmx().write_file(&p, true).unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary left"
    );
}
