//! Replays the inputs kept under `fuzz/regressions/<target>/` (crashes, hangs and runaway
//! allocations `cargo fuzz` once found) through the very code of the fuzz target of that name
//! (fuzz/checks/<target>.rs, which fuzz/fuzz_targets/<target>.rs includes), on the stable
//! toolchain, in every test run.
//! A folder naming no known target fails the test, so a kept input is never silently skipped.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

// Each target's checks, compiled from the very file its fuzz target includes.
#[path = "../../fuzz/checks/cert.rs"]
mod cert;
#[path = "../../fuzz/checks/manifest.rs"]
mod manifest;
#[path = "../../fuzz/checks/ova_stream.rs"]
mod ova_stream;
#[path = "../../fuzz/checks/ovf_descriptor.rs"]
mod ovf_descriptor;
#[path = "../../fuzz/checks/qcow2.rs"]
mod qcow2;
#[path = "../../fuzz/checks/sniff.rs"]
mod sniff;
#[path = "../../fuzz/checks/vmdk_descriptor.rs"]
mod vmdk_descriptor;
#[path = "../../fuzz/checks/vmdk_hosted_open.rs"]
mod vmdk_hosted_open;
#[path = "../../fuzz/checks/vmdk_sparse_header.rs"]
mod vmdk_sparse_header;
#[path = "../../fuzz/checks/vmdk_stream_file.rs"]
mod vmdk_stream_file;
#[path = "../../fuzz/checks/vmdk_stream_reader.rs"]
mod vmdk_stream_reader;
#[path = "../../fuzz/checks/vmx.rs"]
mod vmx;
#[cfg(feature = "vsphere")]
#[path = "../../fuzz/checks/vsphere_soap.rs"]
mod vsphere_soap;

/// The longest one input may take (the fuzz runs use `-timeout=20`; these are small inputs).
const MAX_PER_INPUT: Duration = Duration::from_secs(20);

type Replay = fn(&[u8]);

fn replay_of(target: &str) -> Option<Replay> {
    Some(match target {
        "cert" => cert::check,
        "manifest" => manifest::check,
        "ova_stream" => ova_stream::check,
        "ovf_descriptor" => ovf_descriptor::check,
        "qcow2" => qcow2::check,
        "vmdk_descriptor" => vmdk_descriptor::check,
        "vmdk_hosted_open" => vmdk_hosted_open::check,
        "vmdk_sparse_header" => vmdk_sparse_header::check,
        "vmdk_stream_file" => vmdk_stream_file::check,
        "vmdk_stream_reader" => vmdk_stream_reader::check,
        "vmx" => vmx::check,
        "sniff" => sniff::check,
        #[cfg(feature = "vsphere")]
        "vsphere_soap" => vsphere_soap::check,
        _ => return None,
    })
}

#[test]
fn fuzz_regressions_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    // Every target has a replay here (a new target must add one).
    for t in fs::read_dir(root.join("fuzz_targets")).unwrap().flatten() {
        let name = t
            .file_name()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if cfg!(feature = "vsphere") || name != "vsphere_soap" {
            assert!(
                replay_of(&name).is_some(),
                "no replay for fuzz target {name}"
            );
        }
    }
    let Ok(dirs) = fs::read_dir(root.join("regressions")) else {
        return;
    };
    let mut replayed = 0;
    for d in dirs.flatten() {
        let target = d.file_name().to_string_lossy().to_string();
        let Some(replay) = replay_of(&target) else {
            if target == "vsphere_soap" {
                continue; // built without the vsphere feature
            }
            panic!("fuzz/regressions/{target}: no fuzz target of that name");
        };
        for f in fs::read_dir(d.path()).unwrap().flatten() {
            let data = fs::read(f.path()).unwrap();
            let t0 = Instant::now();
            replay(&data);
            let took = t0.elapsed();
            assert!(took < MAX_PER_INPUT, "{}: {took:?}", f.path().display());
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} fuzz regression inputs");
}
