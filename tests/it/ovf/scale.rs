//! Big descriptors cost linear time: 8x the files, disks, networks and items may not cost 64x
//! (a quadratic duplicate or reference check would).

use ovftool::ovf::write::{EnvelopeBuilder, ItemSpec, SystemSpec};
use ovftool::ovf::{Disk, Envelope, FileRef, Network, ValidateOptions};

fn descriptor(n: usize) -> Vec<u8> {
    let mut b = EnvelopeBuilder {
        system: SystemSpec {
            id: "big".into(),
            name: "big".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    for i in 0..n {
        b.files.push(FileRef {
            id: format!("f{i}"),
            href: format!("d{i}.vmdk"),
            size: Some(1),
            compression: None,
            chunk_size: None,
        });
        b.disks.push(Disk {
            disk_id: format!("d{i}"),
            file_ref: Some(format!("f{i}")),
            capacity: "1".into(),
            capacity_units: Some("byte * 2^30".into()),
            format: Some(
                "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized".into(),
            ),
            populated_size: None,
            parent_ref: None,
        });
        b.networks.push(Network {
            name: format!("n{i}"),
            description: None,
        });
        b.system.hardware.items.push(ItemSpec {
            instance_id: format!("disk{i}"),
            resource_type: ovftool::ovf::ResourceType::DiskDrive,
            element_name: format!("disk {i}"),
            host_resources: vec![format!("ovf:/disk/d{i}")],
            ..Default::default()
        });
        b.system.hardware.items.push(ItemSpec {
            instance_id: format!("nic{i}"),
            resource_type: ovftool::ovf::ResourceType::EthernetAdapter,
            element_name: format!("nic {i}"),
            connections: vec![format!("n{i}")],
            ..Default::default()
        });
    }
    b.build().unwrap().to_bytes().unwrap()
}

fn seconds(n: usize) -> f64 {
    let bytes = descriptor(n);
    let cpu = crate::support::thread_cpu_seconds();
    let t = std::time::Instant::now();
    let env = Envelope::parse(&bytes).unwrap();
    let parsed = t.elapsed().as_secs_f64();
    let d = env.validate(&ValidateOptions::default());
    eprintln!(
        "n={n}: {} bytes, parse {parsed:.3}s, parse+validate {:.3}s",
        bytes.len(),
        t.elapsed().as_secs_f64()
    );
    assert!(
        d.iter()
            .all(|d| d.severity != ovftool::ovf::Severity::Error),
        "{:?}",
        &d[..d.len().min(3)]
    );
    assert_eq!(env.disks().len(), n);
    // CPU time of this thread, not wall time: see support::thread_cpu_seconds.
    crate::support::thread_cpu_seconds() - cpu
}

#[test]
fn validation_scales_linearly() {
    // Best of three: other tests run in parallel on the same cores.
    let best = |n| (0..3).map(|_| seconds(n)).fold(f64::MAX, f64::min);
    let small = best(200).max(1e-3);
    let big = best(1_600);
    assert!(
        big / small < 24.0,
        "8x the content took {:.1}x the time",
        big / small
    );
}
