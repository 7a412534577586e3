//! Replays the inputs kept under `fuzz/regressions/<target>/` (crashes, hangs and runaway
//! allocations `cargo fuzz` once found) through the same calls and checks as the fuzz target of
//! that name (fuzz/fuzz_targets/<target>.rs), on the stable toolchain, in every test run.
//! A folder naming no known target fails the test, so a kept input is never silently skipped.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use ovftool::cert::CertFile;
use ovftool::disk::{DiskSource, GrainData};
use ovftool::manifest::Manifest;
use ovftool::ova::Reader;
use ovftool::ovf::{Envelope, ParseOptions, ValidateOptions};
use ovftool::sniff::{classify_bytes, Content};
use ovftool::verify::{verify_stream, VerifyOptions};
use ovftool::vmdk::codec::Inflater;
use ovftool::vmdk::descriptor::Descriptor;
use ovftool::vmdk::header::SparseHeader;
use ovftool::vmdk::hosted;
use ovftool::vmdk::stream::{Origin, StreamFileSource, StreamReader};
use ovftool::vmx::Vmx;
use ovftool::Limits;

use crate::support;

/// The longest one input may take (the fuzz runs use `-timeout=20`; these are small inputs).
const MAX_PER_INPUT: Duration = Duration::from_secs(20);

fn cert(data: &[u8]) {
    support::assert_input_error("cert", &CertFile::parse(data, &Limits::DEFAULT));
}

fn manifest(data: &[u8]) {
    let limits = Limits::DEFAULT;
    let parsed = Manifest::parse(data, &limits);
    support::assert_input_error("manifest", &parsed);
    if let Ok(m) = parsed {
        let canonical = m.to_bytes();
        let again = Manifest::parse(&canonical, &limits).expect("canonical form parses");
        assert_eq!(again.entries.len(), m.entries.len());
        assert_eq!(again.to_bytes(), canonical);
    }
}

fn ova_stream(data: &[u8]) {
    let limits = Limits {
        max_ova_entries: 64,
        ..Limits::DEFAULT
    };
    let mut r = Reader::new(data, limits);
    while let Ok(Some(e)) = r.next_entry() {
        let h = e.header().clone();
        assert!(h.data_offset <= data.len() as u64);
        assert!(!h.name.is_empty() && !h.name.contains('/') && !h.name.contains('\0'));
    }
    let opts = VerifyOptions {
        limits,
        ..Default::default()
    };
    let mut src = data;
    if let Ok(report) = verify_stream(&mut src, Path::new("fuzz.ova"), &opts) {
        if report.passed() {
            assert!(report.descriptor.is_some());
        }
    }
}

fn ovf_descriptor(data: &[u8]) {
    let mut opts = ParseOptions::default();
    opts.limits.max_descriptor_bytes = 1 << 20;
    if let Ok(env) = Envelope::parse_with(data, &opts) {
        let _ = env.validate(&ValidateOptions { lax: false });
        let _ = env.validate(&ValidateOptions { lax: true });
        for d in env.disks() {
            let _ = d.capacity_bytes(&env);
        }
        let out = env.to_bytes().expect("serialise");
        let again = Envelope::parse_with(&out, &opts).expect("re-parse what we wrote");
        assert_eq!(again.document(), env.document());
    }
}

fn vmdk_descriptor(data: &[u8]) {
    let limits = Limits {
        max_extents: 64,
        ..Limits::DEFAULT
    };
    let parsed = Descriptor::parse(data, &limits);
    support::assert_input_error("vmdk descriptor", &parsed);
    if let Ok(d) = parsed {
        let clean = |s: &str| !s.contains('"') && !s.contains('\n') && !s.contains('\r');
        let round_trippable = d
            .extents
            .iter()
            .all(|e| e.file_name.as_deref().is_none_or(clean) && e.extra.iter().all(|x| clean(x)))
            && d.ddb
                .iter()
                .chain(d.header.iter())
                .all(|(k, v)| clean(k) && clean(v))
            && d.parent_file_name_hint.as_deref().is_none_or(clean);
        if round_trippable {
            if let Ok(again) = Descriptor::parse(d.to_text().as_bytes(), &limits) {
                assert_eq!(again.extents, d.extents);
                assert_eq!(again.cid, d.cid);
                assert_eq!(again.parent_cid, d.parent_cid);
            }
        }
    }
}

fn vmdk_hosted_open(data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.vmdk");
    fs::write(&path, data).unwrap();
    let limits = Limits {
        max_disk_capacity_bytes: 1 << 30,
        ..Limits::DEFAULT
    };
    if let Ok(mut src) = hosted::open_chain(&path, &limits) {
        while let Ok(Some(_)) = src.next_grain() {}
    }
    let _ = hosted::inspect(&path, &limits);
}

fn vmdk_sparse_header(data: &[u8]) {
    let mut b = [0u8; 512];
    let n = data.len().min(512);
    b[..n].copy_from_slice(&data[..n]);
    if let Ok(h) = SparseHeader::parse(&b) {
        assert_eq!(SparseHeader::parse(&h.to_bytes()).ok(), Some(h));
        let _ = (h.gd_entries(), h.capacity_bytes(), h.gt_coverage_sectors());
    }
}

fn vmdk_stream_file(data: &[u8]) {
    let Ok(mut r) = StreamFileSource::new(
        data,
        data.len() as u64,
        Origin::entry("fuzz.vmdk"),
        &Limits::default(),
    ) else {
        return;
    };
    let mut inflater = Inflater::new();
    let mut last = None;
    while let Ok(Some(g)) = r.next_grain() {
        assert!(last.is_none_or(|l| g.offset > l), "grains must ascend");
        last = Some(g.offset);
        if let GrainData::Zlib { data, .. } = &g.data {
            let _ = inflater.inflate_grain(data, g.len as usize);
        }
    }
}

fn vmdk_stream_reader(data: &[u8]) {
    let Ok(mut r) = StreamReader::new(data, Origin::entry("fuzz.vmdk"), &Limits::default()) else {
        return;
    };
    let mut inflater = Inflater::new();
    let mut last = None;
    while let Ok(Some(g)) = r.next_grain() {
        assert!(last.is_none_or(|l| g.offset > l), "grains must ascend");
        assert!(g.offset < r.capacity_bytes());
        last = Some(g.offset);
        if let GrainData::Zlib { data, .. } = &g.data {
            if let Ok(b) = inflater.inflate_grain(data, g.len as usize) {
                assert_eq!(b.len(), g.len as usize);
            }
        }
    }
}

fn vmx(data: &[u8]) {
    let _ = Vmx::parse(data);
    if let Ok((v, _)) = Vmx::parse_lax(data) {
        let bytes = v.to_bytes();
        let (again, _) = Vmx::parse_lax(&bytes).expect("written vmx parses");
        assert_eq!(again.to_bytes(), bytes);
    }
}

fn sniff(data: &[u8]) {
    let head = &data[..data.len().min(4096)];
    let tail = if data.len() >= 1024 {
        &data[data.len() - 512..]
    } else {
        &[][..]
    };
    let claimed = data
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        .unwrap_or(0);
    for len in [data.len() as u64, claimed, u64::MAX] {
        let c = classify_bytes(head, tail, len);
        assert!(!c.name().is_empty());
        assert_eq!(c.is_disk(), c.not_a_disk_error().is_none());
        if matches!(c, Content::Ovf | Content::Ova | Content::Raw) {
            assert!(c.not_a_package_error().is_none());
        }
    }
}

#[cfg(feature = "vsphere")]
fn vsphere_soap(data: &[u8]) {
    use ovftool::vsphere::xml::parse;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(root) = parse(text) {
        let mut once = String::new();
        root.write(&mut once);
        let again = parse(&once).expect("what we wrote parses");
        let mut twice = String::new();
        again.write(&mut twice);
        assert_eq!(once, twice, "writing back is lossless");
    }
}

type Replay = fn(&[u8]);

fn replay_of(target: &str) -> Option<Replay> {
    Some(match target {
        "cert" => cert,
        "manifest" => manifest,
        "ova_stream" => ova_stream,
        "ovf_descriptor" => ovf_descriptor,
        "vmdk_descriptor" => vmdk_descriptor,
        "vmdk_hosted_open" => vmdk_hosted_open,
        "vmdk_sparse_header" => vmdk_sparse_header,
        "vmdk_stream_file" => vmdk_stream_file,
        "vmdk_stream_reader" => vmdk_stream_reader,
        "vmx" => vmx,
        "sniff" => sniff,
        #[cfg(feature = "vsphere")]
        "vsphere_soap" => vsphere_soap,
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
