//! One test per attack on the OVA reader, verify and unpack. Each hostile package must fail
//! with a clear finding naming the entry, never panic, and `unpack` must leave nothing behind.

use std::path::{Path, PathBuf};

use ovftool::digest::Algorithm;
use ovftool::pack::{unpack, UnpackOptions};
use ovftool::verify::{Report, VerifyOptions};

use super::craft::{self, end, file, member};

struct Case {
    _dir: tempfile::TempDir,
    root: PathBuf,
    ova: PathBuf,
}

fn case(bytes: &[u8]) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let ova = root.join("x.ova");
    std::fs::write(&ova, bytes).unwrap();
    Case {
        _dir: dir,
        root,
        ova,
    }
}

fn verify(c: &Case, lax: bool) -> Report {
    ovftool::verify(
        &c.ova,
        &VerifyOptions {
            lax,
            ..Default::default()
        },
    )
    .unwrap()
}

/// Asserts verify fails with `code` (mentioning `entry` when given) and unpack leaves nothing.
fn assert_refused(bytes: &[u8], code: &str, entry: Option<&str>) -> Report {
    let c = case(bytes);
    let r = verify(&c, false);
    assert!(!r.passed(), "verify passed: {r:#?}");
    let f = r
        .findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no finding {code}: {:#?}", r.findings));
    if let Some(e) = entry {
        assert!(
            f.entry.as_deref() == Some(e) || f.message.contains(e),
            "finding does not name {e}: {f:?}"
        );
    }
    assert_unpack_leaves_nothing(&c);
    r
}

fn assert_unpack_leaves_nothing(c: &Case) {
    let parent = c.root.join("in");
    std::fs::create_dir(&parent).unwrap();
    let target = parent.join("t");
    let r = unpack(&c.ova, &target, &UnpackOptions::default()).unwrap();
    assert!(!r.passed());
    assert!(!target.exists(), "target left behind");
    assert_eq!(
        std::fs::read_dir(&parent).unwrap().count(),
        0,
        "temporary output left behind"
    );
    for escaped in ["acc-escape.txt", "escape.txt"] {
        assert!(!c.root.join(escaped).exists());
        assert!(!parent.join(escaped).exists());
    }
}

fn with_extra(extra: Vec<u8>) -> Vec<u8> {
    let p = craft::package();
    let mut v = p.ova();
    v.truncate(v.len() - 1024);
    v.extend(extra);
    v.extend(end());
    v
}

#[test]
fn good_package_passes_and_unpacks() {
    let p = craft::package();
    let c = case(&p.ova());
    let r = verify(&c, false);
    assert!(r.passed(), "{:#?}", r.findings);
    assert!(r
        .files
        .iter()
        .filter(|f| !f.name.ends_with(".mf"))
        .all(|f| f.digest_verified));
    let target = c.root.join("out");
    let r = unpack(&c.ova, &target, &UnpackOptions::default()).unwrap();
    assert!(r.passed());
    assert_eq!(std::fs::read(target.join("t-disk1.vmdk")).unwrap(), p.disk);
}

#[test]
fn ova_entry_with_parent_dir_is_rejected() {
    assert_refused(
        &with_extra(file("../escape.txt", b"owned")),
        "unsafe-path",
        Some("../escape.txt"),
    );
}

#[test]
fn ova_entry_with_absolute_path_is_rejected() {
    assert_refused(
        &with_extra(file("/tmp/ovftool-rs-escape.txt", b"owned")),
        "unsafe-path",
        Some("/tmp/ovftool-rs-escape.txt"),
    );
    assert!(!Path::new("/tmp/ovftool-rs-escape.txt").exists());
}

#[test]
fn ova_entry_in_subfolder_is_rejected() {
    assert_refused(&with_extra(file("sub/x.vmdk", b"x")), "unsafe-path", None);
}

#[test]
fn ova_symlink_entry_is_rejected() {
    assert_refused(
        &with_extra(member(b"link.vmdk", b'2', b"", b"/etc/passwd")),
        "unsafe-path",
        Some("link.vmdk"),
    );
}

#[test]
fn ova_hardlink_entry_is_rejected() {
    assert_refused(
        &with_extra(member(b"hard.vmdk", b'1', b"", b"t.ovf")),
        "unsafe-path",
        Some("hard.vmdk"),
    );
}

#[test]
fn ova_device_entry_is_rejected() {
    assert_refused(
        &with_extra(member(b"dev", b'3', b"", b"")),
        "unsafe-path",
        Some("dev"),
    );
}

#[test]
fn ova_folder_entry_is_rejected() {
    assert_refused(
        &with_extra(member(b"dir", b'5', b"", b"")),
        "unsafe-path",
        Some("dir"),
    );
}

#[test]
fn ova_entry_name_with_control_character_is_rejected() {
    assert_refused(
        &with_extra(file("a\u{1b}[31m.txt", b"x")),
        "unsafe-path",
        None,
    );
}

#[test]
fn ova_duplicate_entry_is_rejected() {
    assert_refused(
        &with_extra(file("t-disk1.vmdk", b"dup")),
        "unsafe-path",
        Some("t-disk1.vmdk"),
    );
}

#[test]
fn ova_truncated_archive_is_rejected() {
    let full = craft::package().ova();
    // Inside a header, inside data, at a block boundary, and without end blocks.
    for cut in [
        100,
        512 + 10,
        4096,
        4096 + 512,
        full.len() - 1024,
        full.len() - 700,
    ] {
        let r = assert_refused(&full[..cut], "corrupt", None);
        assert!(
            r.findings.iter().any(|f| f.message.contains("truncated")),
            "cut {cut}: {:#?}",
            r.findings
        );
    }
}

#[test]
fn ova_bad_header_checksum_is_rejected() {
    let mut v = craft::package().ova();
    v[0] = b'u'; // first header's name changes, checksum no longer matches
    let r = assert_refused(&v, "corrupt", None);
    assert!(r.findings[0].message.contains("checksum"));
}

#[test]
fn ova_size_beyond_file_is_rejected() {
    let p = craft::package();
    let mut v = file("t.ovf", &p.ovf);
    let mut big = file("t-disk1.vmdk", b"");
    big[124..136].copy_from_slice(b"77777777777\0");
    let mut h: [u8; 512] = big[..512].try_into().unwrap();
    craft::fix_checksum(&mut h);
    v.extend(h);
    v.extend(&p.disk);
    assert_refused(&v, "corrupt", Some("t-disk1.vmdk"));
}

#[test]
fn ova_not_a_tar_file_is_rejected() {
    assert_refused(b"\x89PNG\r\n\x1a\n not a tar at all", "corrupt", None);
    assert_refused(b"", "corrupt", None);
}

#[test]
fn ova_garbage_manifest_is_rejected() {
    let p = craft::package();
    let mut v = file("t.ovf", &p.ovf);
    v.extend(file("t.mf", b"this is not a manifest\n\x00\x01"));
    v.extend(file("t-disk1.vmdk", &p.disk));
    v.extend(end());
    assert_refused(&v, "manifest-invalid", Some("t.mf"));
}

#[test]
fn ova_garbage_certificate_is_rejected() {
    let p = craft::package();
    let mut v = file("t.ovf", &p.ovf);
    v.extend(file("t.mf", &p.mf));
    v.extend(file(
        "t.cert",
        b"SHA256(t.mf)= 00ff\n-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    ));
    v.extend(file("t-disk1.vmdk", &p.disk));
    v.extend(end());
    assert_refused(&v, "cert-invalid", Some("t.cert"));
}

#[test]
fn ova_wrong_disk_digest_is_rejected() {
    let mut p = craft::package();
    let n = p.disk.len();
    p.disk[n / 2] ^= 0xff;
    assert_refused(&p.ova(), "digest-mismatch", Some("t-disk1.vmdk"));
}

#[test]
fn ova_tampered_descriptor_is_rejected() {
    let mut p = craft::package();
    let s = String::from_utf8(p.ovf.clone())
        .unwrap()
        .replace("A VM", "B VM");
    p.ovf = s.into_bytes();
    assert_refused(&p.ova(), "digest-mismatch", Some("t.ovf"));
}

#[test]
fn ova_descriptor_not_first_is_rejected_and_lax_warns() {
    let p = craft::package();
    let mut v = file("t-disk1.vmdk", &p.disk);
    v.extend(file("t.ovf", &p.ovf));
    v.extend(file("t.mf", &p.mf));
    v.extend(end());
    let r = assert_refused(&v, "descriptor-not-first", Some("t-disk1.vmdk"));
    // The error names the option that tolerates it; once tolerated, no hint.
    let f = r.findings.iter().find(|f| f.code == "descriptor-not-first");
    assert_eq!(
        f.and_then(|f| f.hint.clone()),
        Some(ovftool::Hint::Lax),
        "{f:?}"
    );
    let c = case(&v);
    let r = verify(&c, true);
    assert!(r.passed(), "{:#?}", r.findings);
    let f = r.findings.iter().find(|f| f.code == "descriptor-not-first");
    assert!(f.is_some_and(|f| f.hint.is_none()), "{f:?}");
}

#[test]
fn ova_manifest_between_files_is_rejected() {
    let p = craft::package();
    let extra = b"extra".to_vec();
    let ovf = craft::descriptor("t-disk1.vmdk", p.disk.len() as u64, "");
    let ovf = String::from_utf8(ovf).unwrap().replace(
        "</References>",
        r#"<File ovf:href="t-extra.iso" ovf:id="file2"/></References>"#,
    );
    let mf = format!(
        "{}{}{}",
        craft::mf_line(Algorithm::Sha256, "t.ovf", ovf.as_bytes()),
        craft::mf_line(Algorithm::Sha256, "t-disk1.vmdk", &p.disk),
        craft::mf_line(Algorithm::Sha256, "t-extra.iso", &extra)
    );
    let mut v = file("t.ovf", ovf.as_bytes());
    v.extend(file("t-disk1.vmdk", &p.disk));
    v.extend(file("t.mf", mf.as_bytes()));
    v.extend(file("t-extra.iso", &extra));
    v.extend(end());
    assert_refused(&v, "entry-order", Some("t.mf"));
}

#[test]
fn ova_missing_referenced_file_is_rejected() {
    let p = craft::package();
    let mut v = file("t.ovf", &p.ovf);
    v.extend(file("t.mf", &p.mf));
    v.extend(end());
    assert_refused(&v, "missing-file", Some("t-disk1.vmdk"));
}

#[test]
fn ova_wrong_ovf_size_is_rejected() {
    let mut p = craft::package();
    p.ovf = craft::descriptor("t-disk1.vmdk", p.disk.len() as u64 + 1, "");
    p.mf = format!(
        "{}{}",
        craft::mf_line(Algorithm::Sha256, "t.ovf", &p.ovf),
        craft::mf_line(Algorithm::Sha256, "t-disk1.vmdk", &p.disk)
    )
    .into_bytes();
    assert_refused(&p.ova(), "size-mismatch", Some("t-disk1.vmdk"));
}

#[test]
fn ova_file_missing_from_manifest_is_rejected() {
    let mut p = craft::package();
    p.mf = craft::mf_line(Algorithm::Sha256, "t.ovf", &p.ovf).into_bytes();
    assert_refused(&p.ova(), "manifest-missing-file", Some("t-disk1.vmdk"));
}

#[test]
fn ova_manifest_listing_absent_file_is_rejected() {
    let mut p = craft::package();
    p.mf.extend(craft::mf_line(Algorithm::Sha256, "ghost.vmdk", b"").as_bytes());
    assert_refused(&p.ova(), "manifest-lists-missing-file", Some("ghost.vmdk"));
}

#[test]
fn ova_unreferenced_entry_is_rejected() {
    assert_refused(
        &with_extra(file("readme.txt", b"hi")),
        "unreferenced-file",
        Some("readme.txt"),
    );
}

#[test]
fn ova_disk_that_is_not_a_vmdk_is_rejected() {
    let mut p = craft::package();
    p.disk = vec![b'A'; 4096];
    p.ovf = craft::descriptor("t-disk1.vmdk", 4096, "");
    p.mf = format!(
        "{}{}",
        craft::mf_line(Algorithm::Sha256, "t.ovf", &p.ovf),
        craft::mf_line(Algorithm::Sha256, "t-disk1.vmdk", &p.disk)
    )
    .into_bytes();
    assert_refused(&p.ova(), "disk-format-mismatch", Some("t-disk1.vmdk"));
}

#[test]
fn ova_href_with_parent_dir_is_rejected() {
    let mut p = craft::package();
    p.ovf = craft::descriptor("../t-disk1.vmdk", p.disk.len() as u64, "");
    p.mf = craft::mf_line(Algorithm::Sha256, "t.ovf", &p.ovf).into_bytes();
    let mut v = file("t.ovf", &p.ovf);
    v.extend(file("t.mf", &p.mf));
    v.extend(end());
    assert_refused(&v, "unsafe-href", None);
}

#[test]
fn ova_huge_descriptor_is_refused_without_allocating_it() {
    // The header claims 1 TiB of descriptor; the file holds none of it.
    let mut v = file("t.ovf", b"");
    v[124..136].copy_from_slice(b"20000000000\0");
    let mut h: [u8; 512] = v[..512].try_into().unwrap();
    craft::fix_checksum(&mut h);
    assert_refused(&h, "limit-exceeded", Some("t.ovf"));
}

#[test]
fn unpack_refuses_existing_target_without_force() {
    let p = craft::package();
    let c = case(&p.ova());
    let target = c.root.join("out");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep.txt"), b"mine").unwrap();
    let e = unpack(&c.ova, &target, &UnpackOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ovftool::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(target.join("keep.txt")).unwrap(), b"mine");
    let force = UnpackOptions {
        force: true,
        ..Default::default()
    };
    // --force replaces only a previous output: a folder holding a file unpack does not write
    // is refused and keeps its file.
    let e = unpack(&c.ova, &target, &force).unwrap_err();
    assert_eq!(e.kind(), ovftool::ErrorKind::Usage);
    assert_eq!(std::fs::read(target.join("keep.txt")).unwrap(), b"mine");
    std::fs::remove_file(target.join("keep.txt")).unwrap();
    let r = unpack(&c.ova, &target, &force).unwrap();
    assert!(r.passed());
    assert!(target.join("t.ovf").exists());
}

#[test]
fn unpack_skip_manifest_check_extracts_damaged_disk() {
    let mut p = craft::package();
    let n = p.disk.len();
    p.disk[n - 1] ^= 1;
    let c = case(&p.ova());
    let target = c.root.join("out");
    let r = unpack(
        &c.ova,
        &target,
        &UnpackOptions {
            skip_manifest_check: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(r.passed());
    assert!(r.findings.iter().any(|f| f.code == "digest-mismatch"));
    assert!(target.join("t-disk1.vmdk").exists());
}

#[test]
fn cli_exit_codes_and_json_findings() {
    let mut p = craft::package();
    let n = p.disk.len();
    p.disk[n / 3] ^= 1;
    let c = case(&p.ova());
    let out = crate::support::ovftool(&["verify", "--json", c.ova.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["findings"][0]["code"], "digest-mismatch");
    assert_eq!(v["findings"][0]["severity"], "error");
    let out = crate::support::ovftool(&["verify", c.root.join("nope.ova").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let good = case(&craft::package().ova());
    let out = crate::support::ovftool(&["verify", good.ova.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A cheap deterministic stand-in for the `ova_stream` fuzz target in CI: damage the shipped
/// sample OVA at random places (headers, descriptor, manifest, disk) and check it from a stream
/// and from a file. Errors are fine; panics, hangs and runaway allocation are not. (The kept
/// crash inputs of every fuzz target are replayed by `fuzz::fuzz_regressions_replay`.)
#[test]
fn damaged_ovas_never_panic() {
    let good = std::fs::read(crate::support::samples().join("appliance.ova")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = crate::support::Rng(0x0FA_CADE);
    // The structure: the first headers and descriptor, the manifest, the tail.
    let regions = [0..2048, 8192..10240, good.len() - 4096..good.len()];
    let inputs = crate::support::damaged_copies(&good, &mut rng, 120, &regions);
    let p = dir.path().join("d.ova");
    for b in &inputs {
        let mut src = b.as_slice();
        // From a stream, damage is a finding in the report, never an error.
        let r =
            ovftool::verify::verify_stream(&mut src, Path::new("d.ova"), &VerifyOptions::default());
        assert!(r.is_ok(), "stream: {r:?}");
        std::fs::write(&p, b).unwrap();
        // From a file, a damaged first header may make it no package at all: the sniffer names
        // what it is (a usage error naming the file), or the damage is a finding.
        if let Err(e) = ovftool::verify(&p, &VerifyOptions::default()) {
            assert!(
                e.kind().is_input_failure()
                    || (e.kind() == ovftool::ErrorKind::Usage && e.location().path.is_some()),
                "file: {e:?}"
            );
        }
    }
}

/// Plain verify refuses the disk headers that import refuses: a capacity above
/// `Limits::max_disk_capacity_bytes` (a grain directory of 2^32 entries) and a streamOptimized
/// grain size the readers do not take.
#[test]
fn disk_header_beyond_the_readers_limits_fails_plain_verify() {
    for (what, patch) in [
        ("capacity", (12usize, (1u64 << 32) * 512 * 128)),
        ("grain size", (20usize, 64u64)),
    ] {
        let mut p = craft::package();
        p.disk[patch.0..patch.0 + 8].copy_from_slice(&patch.1.to_le_bytes());
        p.mf = format!(
            "{}{}",
            craft::mf_line(Algorithm::Sha256, "t.ovf", &p.ovf),
            craft::mf_line(Algorithm::Sha256, "t-disk1.vmdk", &p.disk)
        )
        .into_bytes();
        let r = assert_refused(&p.ova(), "disk-header", Some("t-disk1.vmdk"));
        assert!(!r.passed(), "{what}");
    }
}

/// `info` reads an OVA through the library's reader: a member name of several MiB in a PAX
/// header is refused by the header limit, and control characters are never echoed raw.
#[test]
fn info_refuses_a_huge_pax_name_and_never_echoes_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let long = "\x1b[31m".repeat(400_000) + ".ovf";
    let pax_record = |k: &str, v: &str| {
        let body = format!(" {k}={v}\n");
        let mut n = body.len() + 1;
        while format!("{n}{body}").len() != n {
            n = format!("{n}{body}").len();
        }
        format!("{n}{body}")
    };
    let mut bytes = craft::member(
        b"PaxHeader",
        b'x',
        pax_record("path", &long).as_bytes(),
        b"",
    );
    bytes.extend(craft::file("t.ovf", &craft::package().ovf));
    bytes.extend(craft::end());
    let short = "\x1b[31mx.ovf".to_string();
    let mut esc = craft::member(short.as_bytes(), b'0', &craft::package().ovf, b"");
    esc.extend(craft::end());
    for (name, data) in [("long.ova", bytes), ("esc.ova", esc)] {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        let out = crate::support::ovftool(&["info", p.to_str().unwrap()]);
        assert!(
            matches!(out.status.code(), Some(1 | 2)),
            "{name}: {:?}",
            out.status
        );
        assert!(!out.stderr.contains(&0x1b), "{name}: raw escape echoed");
        assert!(
            out.stderr.len() < 4096,
            "{name}: {} bytes echoed",
            out.stderr.len()
        );
    }
}
