//! Descriptors built by `EnvelopeBuilder` are schema-valid (xmllint against the DMTF XSDs:
//! DSP8023 1.1.1 for OVF 1.0, 2.0.1 for OVF 2.0), validate cleanly with our own validator, and
//! re-parse to the same typed views.

use std::process::Command;

use ovftool::ovf::write::{
    ConfigurationSpec, EnvelopeBuilder, ItemSpec, OsSpec, ProductSpec, PropertySpec, SystemSpec,
};
use ovftool::ovf::{
    Disk, Envelope, FileRef, Network, OvfVersion, ResourceType, Severity, ValidateOptions,
};

use crate::support;

fn item(id: u32, rt: u16, name: &str) -> ItemSpec {
    ItemSpec {
        instance_id: id.to_string(),
        resource_type: ResourceType::from_code(rt),
        element_name: name.into(),
        ..Default::default()
    }
}

/// A varied set: versions × {bare, one disk, many disks + NICs + configs + properties + EULA}.
fn builders() -> Vec<EnvelopeBuilder> {
    let mut out = Vec::new();
    for version in [OvfVersion::V1, OvfVersion::V2] {
        for variant in 0..4u32 {
            let mut b = EnvelopeBuilder {
                version,
                ..Default::default()
            };
            b.system = SystemSpec {
                id: format!("vm{variant}"),
                name: format!("VM <{variant}> & \"quotes\""),
                ..Default::default()
            };
            let mut items = vec![
                ItemSpec {
                    allocation_units: Some("hertz * 10^6".into()),
                    description: Some("Number of Virtual CPUs".into()),
                    virtual_quantity: Some(2),
                    cores_per_socket: (variant > 1).then_some(2),
                    ..item(1, 3, "2 virtual CPU(s)")
                },
                ItemSpec {
                    allocation_units: Some("byte * 2^20".into()),
                    virtual_quantity: Some(1024),
                    ..item(2, 4, "1024MB of memory")
                },
            ];
            if variant >= 1 {
                b.build_id = Some("build-1".into());
                b.system.os = Some(OsSpec {
                    cim_id: 101,
                    vmw_os_type: Some("other4xLinux64Guest".into()),
                    description: Some("Linux".into()),
                    version: None,
                });
                b.system.hardware.families = vec!["vmx-14".into()];
                items.push(ItemSpec {
                    address: Some("0".into()),
                    resource_sub_type: Some("VirtualSCSI".into()),
                    config: vec![("slotInfo.pciSlotNumber".into(), "160".into())],
                    ..item(3, 6, "SCSI Controller 0")
                });
                let disks = if variant >= 2 { 3 } else { 1 };
                for d in 0..disks {
                    b.files.push(FileRef {
                        id: format!("file{d}"),
                        href: format!("disk{d}.vmdk"),
                        size: Some(68608 + d as u64),
                        compression: None,
                        chunk_size: None,
                    });
                    b.disks.push(Disk {
                        disk_id: format!("vmdisk{d}"),
                        file_ref: Some(format!("file{d}")),
                        capacity: (16 * (d + 1)).to_string(),
                        capacity_units: Some("byte * 2^30".into()),
                        format: Some("http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized".into()),
                        populated_size: Some(1 << 20),
                        parent_ref: None,
                    });
                    items.push(ItemSpec {
                        address_on_parent: Some(d.to_string()),
                        host_resources: vec![format!("ovf:/disk/vmdisk{d}")],
                        parent: Some("3".into()),
                        ..item(10 + d, 17, &format!("Hard Disk {}", d + 1))
                    });
                }
            }
            if variant >= 2 {
                b.networks = vec![
                    Network {
                        name: "VM Network".into(),
                        description: None,
                    },
                    Network {
                        name: "Storage".into(),
                        description: Some("iSCSI".into()),
                    },
                ];
                for (i, n) in ["VM Network", "Storage"].iter().enumerate() {
                    items.push(ItemSpec {
                        address_on_parent: Some((7 + i).to_string()),
                        automatic_allocation: Some(true),
                        connections: vec![n.to_string()],
                        resource_sub_type: Some("VmxNet3".into()),
                        ..item(20 + i as u32, 10, &format!("Network adapter {}", i + 1))
                    });
                }
                items.push(ItemSpec {
                    required: Some(false),
                    ..item(30, 24, "Video card")
                });
                b.configurations = vec![
                    ConfigurationSpec {
                        id: "small".into(),
                        label: "Small".into(),
                        description: "2 CPUs".into(),
                        default: true,
                    },
                    ConfigurationSpec {
                        id: "large".into(),
                        label: "Large".into(),
                        description: "8 CPUs".into(),
                        default: false,
                    },
                ];
                items.push(ItemSpec {
                    configuration: Some("large".into()),
                    virtual_quantity: Some(8),
                    allocation_units: Some("hertz * 10^6".into()),
                    ..item(1, 3, "8 virtual CPU(s)")
                });
                b.system.hardware.transport = Some("com.vmware.guestInfo".into());
                b.system.hardware.config = vec![("firmware".into(), "efi".into())];
                b.system.hardware.extra_config = vec![("guestinfo.x".into(), "a<b".into())];
                b.system.products = vec![ProductSpec {
                    product: Some("Appliance".into()),
                    vendor: Some("Example".into()),
                    version: Some("1.0".into()),
                    full_version: Some("1.0.0-1".into()),
                    product_url: Some("https://example.com".into()),
                    properties: vec![
                        PropertySpec {
                            key: "hostname".into(),
                            type_: "string".into(),
                            default: Some("vm".into()),
                            user_configurable: true,
                            label: Some("Host name".into()),
                            category: Some("Network".into()),
                            ..Default::default()
                        },
                        PropertySpec {
                            key: "port".into(),
                            type_: "uint16".into(),
                            qualifiers: Some("MinValue(1) MaxValue(65535)".into()),
                            default: Some("443".into()),
                            category: Some("Network".into()),
                            ..Default::default()
                        },
                        PropertySpec {
                            key: "secret".into(),
                            type_: "string".into(),
                            password: true,
                            user_configurable: true,
                            category: Some("Security".into()),
                            description: Some("Root password".into()),
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                }];
                b.system.annotation = Some("Built by a test".into());
                b.system.eulas = vec!["License text\nline 2".into()];
            }
            if variant == 3 {
                b.files.push(FileRef {
                    id: "iso".into(),
                    href: "tools.iso".into(),
                    size: Some(2048),
                    compression: Some("gzip".into()),
                    chunk_size: Some(1 << 30),
                });
                items.push(ItemSpec {
                    automatic_allocation: Some(false),
                    host_resources: vec!["ovf:/file/iso".into()],
                    resource_sub_type: Some("vmware.cdrom.iso".into()),
                    ..item(40, 15, "CD-ROM 1")
                });
            }
            b.system.hardware.items = items;
            out.push(b);
        }
    }
    out
}

#[test]
fn generated_descriptors_validate_and_round_trip() {
    for b in builders() {
        let env = b.build().unwrap();
        let bytes = env.to_bytes().unwrap();
        let again = Envelope::parse(&bytes).unwrap();
        assert_eq!(env.document(), again.document());
        assert_eq!(again.version(), b.version);
        assert_eq!(again.disks(), b.disks);
        assert_eq!(again.references(), b.files);
        let errors: Vec<_> = again
            .validate(&ValidateOptions::default())
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert!(
            errors.is_empty(),
            "{errors:?}\n{}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

#[test]
fn generated_descriptors_are_schema_valid_per_xmllint() {
    if !support::have_tool("xmllint") {
        return;
    }
    let Some(corpus) = support::corpus() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut v1 = Vec::new();
    let mut v2 = Vec::new();
    for (i, b) in builders().into_iter().enumerate() {
        let p = dir.path().join(format!("gen{i}.ovf"));
        std::fs::write(&p, b.build().unwrap().to_bytes().unwrap()).unwrap();
        match b.version {
            OvfVersion::V2 => v2.push(p),
            _ => v1.push(p),
        }
    }
    for (schema, files) in [
        ("schemas/ovf1-xen-orchestra/dsp8023_1.1.1.xsd", &v1),
        ("schemas/ovf2-itchy-2f8ce7e/dsp8023_2.0.1.xsd", &v2),
    ] {
        let out = Command::new("xmllint")
            .args(["--nonet", "--noout", "--schema"])
            .arg(corpus.join(schema))
            .args(files.iter())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let problems: Vec<&str> = err
            .lines()
            .filter(|l| {
                !l.contains("parser warning")
                    && !l.contains("Skipping import")
                    && !l.ends_with(" validates")
            })
            .filter(|l| {
                !l.trim().is_empty()
                    && !l.trim_start().starts_with('^')
                    && !l.contains("schemaLocation")
            })
            .collect();
        assert!(
            out.status.success() && problems.is_empty(),
            "{schema}:\n{err}"
        );
        assert_eq!(err.matches(" validates").count(), files.len(), "{err}");
    }
}

#[test]
fn write_a_sample_for_inspection() {
    if let Some(dir) = std::env::var_os("OVF_GEN_DUMP") {
        for (i, b) in builders().into_iter().enumerate() {
            std::fs::write(
                std::path::Path::new(&dir).join(format!("gen{i}.ovf")),
                b.build().unwrap().to_bytes().unwrap(),
            )
            .unwrap();
        }
    }
}
