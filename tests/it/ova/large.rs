//! Members large enough for the kernel-copy path of `pack` and `unpack`
//! (`ovftool::range_copy`): holes of the input, digests read back from the output, damage and
//! truncation inside a large member, several digests at once (manifest at the end), and the same
//! results from a pipe (which takes the plain streaming path).

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use ovftool::digest::Algorithm;
use ovftool::manifest::Manifest;
use ovftool::pack::{pack, unpack, ManifestMode, PackOptions, UnpackOptions};
use ovftool::Limits;

use super::craft;

const DISK: &str = "t-disk1.vmdk";

/// A package folder whose disk is `len` bytes: a VMDK head, then data at 0-1 MiB and
/// 9-10 MiB (of a 12 MiB file) with holes between and after. Returns the disk bytes.
fn sparse_package(dir: &Path) -> Vec<u8> {
    fs::create_dir_all(dir).unwrap();
    let len = 12u64 << 20;
    let head = craft::vmdk(craft::CAPACITY, &[]);
    let mut f = fs::File::create(dir.join(DISK)).unwrap();
    f.write_all(&head).unwrap();
    let block: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 253) as u8 ^ 0x5a).collect();
    f.write_all(&block[head.len()..]).unwrap();
    f.seek(SeekFrom::Start(9 << 20)).unwrap();
    f.write_all(&block).unwrap();
    f.set_len(len).unwrap();
    drop(f);
    fs::write(dir.join("t.ovf"), craft::descriptor(DISK, len, "")).unwrap();
    fs::read(dir.join(DISK)).unwrap()
}

fn opts(manifest: ManifestMode) -> PackOptions {
    PackOptions {
        mtime: Some(1_700_000_000),
        manifest,
        ..Default::default()
    }
}

fn allocated(p: &Path) -> u64 {
    fs::metadata(p).unwrap().blocks() * 512
}

#[test]
fn sparse_large_member_round_trips_with_holes_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let disk = sparse_package(&src);
    let ova = tmp.path().join("x.ova");
    pack(&src, &ova, &opts(ManifestMode::Auto)).unwrap();

    // The manifest holds the digests of the real bytes, computed independently here.
    let out = tmp.path().join("out");
    let r = unpack(&ova, &out, &UnpackOptions::default()).unwrap();
    assert!(r.passed(), "{:#?}", r.findings);
    assert!(fs::read(out.join(DISK)).unwrap() == disk);
    let mf = Manifest::parse(&fs::read(out.join("t.mf")).unwrap(), &Limits::default()).unwrap();
    let entry = mf.get(DISK).unwrap();
    assert_eq!(entry.algorithm, Algorithm::Sha256);
    assert_eq!(entry.digest, Algorithm::Sha256.digest(&disk));
    // ...and by an independent implementation, over the sparse source file itself.
    if crate::support::have_tool("sha256sum") {
        let out = std::process::Command::new("sha256sum")
            .arg(src.join(DISK))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.split_whitespace().next(),
            Some(hex::encode(&entry.digest).as_str())
        );
    }

    // Where the file system keeps holes, the archive and the extracted disk keep them too.
    if allocated(&src.join(DISK)) < 4 << 20 {
        assert!(allocated(&ova) < 6 << 20, "archive holes filled");
        assert!(
            allocated(&out.join(DISK)) < 6 << 20,
            "extracted holes filled"
        );
    }

    // Deterministic: packing again (here from the extracted copy) gives the same bytes.
    let ova2 = tmp.path().join("y.ova");
    pack(&out, &ova2, &opts(ManifestMode::Auto)).unwrap();
    assert!(fs::read(&ova).unwrap() == fs::read(&ova2).unwrap());

    // System tar reads the sparse archive to the same member.
    if crate::support::have_tool("tar") {
        let got = std::process::Command::new("tar")
            .arg("-xOf")
            .arg(&ova)
            .arg(DISK)
            .output()
            .unwrap();
        assert!(got.status.success());
        assert!(got.stdout == disk, "tar extracts other bytes");
    }
}

#[test]
fn unsigned_none_and_sha1_manifests_with_large_members() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let disk = sparse_package(&src);
    let none = tmp.path().join("none.ova");
    let s = pack(&src, &none, &opts(ManifestMode::None)).unwrap();
    assert_eq!(s.manifest, None);
    let sha1 = tmp.path().join("sha1.ova");
    pack(&src, &sha1, &opts(ManifestMode::Algorithm(Algorithm::Sha1))).unwrap();
    let out = tmp.path().join("out");
    assert!(unpack(&sha1, &out, &UnpackOptions::default())
        .unwrap()
        .passed());
    let mf = Manifest::parse(&fs::read(out.join("t.mf")).unwrap(), &Limits::default()).unwrap();
    assert_eq!(mf.get(DISK).unwrap().digest, Algorithm::Sha1.digest(&disk));
    let out2 = tmp.path().join("out2");
    assert!(unpack(&none, &out2, &UnpackOptions::default())
        .unwrap()
        .passed());
    assert!(fs::read(out2.join(DISK)).unwrap() == disk);
}

/// `ova` with the byte at `at` flipped.
fn flipped(ova: &Path, at: u64, to: &Path) {
    let mut b = fs::read(ova).unwrap();
    b[at as usize] ^= 0x01;
    fs::write(to, b).unwrap();
}

fn packed(tmp: &Path) -> (PathBuf, Vec<u8>) {
    let src = tmp.join("src");
    let disk = sparse_package(&src);
    let ova = tmp.join("x.ova");
    pack(&src, &ova, &opts(ManifestMode::Auto)).unwrap();
    (ova, disk)
}

#[test]
fn damage_inside_a_large_member_fails_unpack_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (ova, _) = packed(tmp.path());
    let len = fs::metadata(&ova).unwrap().len();
    // Once in data, once in a hole of the disk (a hole in the archive too).
    for (i, at) in [len - 1024 - (5 << 19), len / 2].into_iter().enumerate() {
        let bad = tmp.path().join(format!("bad{i}.ova"));
        flipped(&ova, at, &bad);
        let out = tmp.path().join(format!("out{i}"));
        let r = unpack(&bad, &out, &UnpackOptions::default()).unwrap();
        assert!(!r.passed());
        assert!(
            r.findings
                .iter()
                .any(|f| f.code == "digest-mismatch" && f.entry.as_deref() == Some(DISK)),
            "{:#?}",
            r.findings
        );
        assert!(!out.exists());
        for e in fs::read_dir(tmp.path()).unwrap() {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                n == "src" || n == "x.ova" || n.starts_with("bad"),
                "left behind: {n}"
            );
        }
    }
}

#[test]
fn truncation_inside_a_large_member_fails_unpack_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let (ova, _) = packed(tmp.path());
    let len = fs::metadata(&ova).unwrap().len();
    for cut in [len / 2, len - 1024 - 1] {
        let bad = tmp.path().join("cut.ova");
        let mut b = fs::read(&ova).unwrap();
        b.truncate(cut as usize);
        fs::write(&bad, b).unwrap();
        let out = tmp.path().join("out");
        let r = unpack(&bad, &out, &UnpackOptions::default()).unwrap();
        assert!(!r.passed());
        assert!(
            r.findings.iter().any(|f| f.message.contains("truncated")),
            "{:#?}",
            r.findings
        );
        assert!(!out.exists());
    }
}

#[test]
fn manifest_at_the_end_hashes_large_members_twice_over() {
    // Before the manifest is seen, SHA-1 and SHA-256 are both computed (two hashing threads
    // reading the extracted file back).
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let disk = sparse_package(&src);
    let ovf = fs::read(src.join("t.ovf")).unwrap();
    for alg in [Algorithm::Sha1, Algorithm::Sha256] {
        let mf = format!(
            "{}{}",
            craft::mf_line(alg, "t.ovf", &ovf),
            craft::mf_line(alg, DISK, &disk)
        );
        let mut v = craft::file("t.ovf", &ovf);
        v.extend(craft::file(DISK, &disk));
        v.extend(craft::file("t.mf", mf.as_bytes()));
        v.extend(craft::end());
        let ova = tmp.path().join("end.ova");
        fs::write(&ova, &v).unwrap();
        let out = tmp.path().join(format!("out-{}", alg.name()));
        let r = unpack(&ova, &out, &UnpackOptions::default()).unwrap();
        assert!(r.passed(), "{:#?}", r.findings);
        assert!(fs::read(out.join(DISK)).unwrap() == disk);
    }
}

#[test]
fn unpack_from_a_pipe_gives_the_same_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (ova, disk) = packed(tmp.path());
    let out = tmp.path().join("piped");
    let status = std::process::Command::new("sh")
        .args(["-c", "cat \"$1\" | \"$2\" unpack --quiet - \"$3\"", "sh"])
        .arg(&ova)
        .arg(env!("CARGO_BIN_EXE_ovftool-rs"))
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(fs::read(out.join(DISK)).unwrap() == disk);
}

#[test]
fn verify_in_place_finds_damage_in_data_and_in_holes() {
    let tmp = tempfile::tempdir().unwrap();
    let (ova, _) = packed(tmp.path());
    let r = ovftool::verify::verify(&ova, &Default::default()).unwrap();
    assert!(r.passed(), "{:#?}", r.findings);
    let len = fs::metadata(&ova).unwrap().len();
    for (i, at) in [len - 1024 - (5 << 19), len / 2].into_iter().enumerate() {
        let bad = tmp.path().join(format!("v{i}.ova"));
        flipped(&ova, at, &bad);
        let r = ovftool::verify::verify(&bad, &Default::default()).unwrap();
        assert!(
            r.findings
                .iter()
                .any(|f| f.code == "digest-mismatch" && f.entry.as_deref() == Some(DISK)),
            "{:#?}",
            r.findings
        );
        // The same verdict from a pipe (the streaming path).
        let out = std::process::Command::new("sh")
            .args(["-c", "cat \"$1\" | \"$2\" verify --json -", "sh"])
            .arg(&bad)
            .arg(env!("CARGO_BIN_EXE_ovftool-rs"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stdout).contains("digest-mismatch"));
    }
}

#[test]
fn verify_of_an_extracted_folder_hashes_large_files_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let (ova, _) = packed(tmp.path());
    let out = tmp.path().join("out");
    assert!(unpack(&ova, &out, &UnpackOptions::default())
        .unwrap()
        .passed());
    let opts = ovftool::verify::VerifyOptions::default();
    let r = ovftool::verify::verify(&out, &opts).unwrap();
    assert!(r.passed(), "{:#?}", r.findings);
    // One byte changed in the data of the disk, then in one of its holes.
    use std::os::unix::fs::FileExt;
    for at in [(9u64 << 20) + 12345, 5 << 20] {
        let disk = out.join(DISK);
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&disk)
            .unwrap();
        let mut was = [0u8; 1];
        f.read_exact_at(&mut was, at).unwrap();
        f.write_all_at(&[was[0] ^ 0x21], at).unwrap();
        let r = ovftool::verify::verify(&out, &opts).unwrap();
        assert!(
            r.findings
                .iter()
                .any(|f| f.code == "digest-mismatch" && f.entry.as_deref() == Some(DISK)),
            "{at}: {:#?}",
            r.findings
        );
        f.write_all_at(&was, at).unwrap();
        let r = ovftool::verify::verify(&out, &opts).unwrap();
        assert!(r.passed(), "{at}: {:#?}", r.findings);
    }
}
