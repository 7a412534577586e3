//! Package-aware `validate` (docs/CONFORMANCE.md, "With the files beside the descriptor"): every
//! check on files written here. VMDKs come from `qemu-img` (the independent implementation), so
//! those tests are gated on it; the signature tests use the corpus key.

use std::path::Path;

use ovftool::cert::Signer;
use ovftool::digest::Algorithm;
use ovftool::ovf::{Diagnostic, Envelope, Severity};
use ovftool::package_files::{check_files, FileCheckOptions};

use crate::support;

const MIB: u64 = 1 << 20;

/// A descriptor with `files` in References and `disks` in the DiskSection.
fn envelope(files: &str, disks: &str) -> Envelope {
    let xml = format!(
        r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
<References>{files}</References><DiskSection><Info>disks</Info>{disks}</DiskSection>
<VirtualSystem ovf:id="vm"><Info>vm</Info></VirtualSystem></Envelope>"#
    );
    Envelope::parse(xml.as_bytes()).unwrap()
}

fn codes(d: &[Diagnostic]) -> Vec<(&'static str, Severity)> {
    d.iter().map(|d| (d.code, d.severity)).collect()
}

fn check(env: &Envelope, dir: &Path, opts: &FileCheckOptions) -> Vec<(&'static str, Severity)> {
    codes(&check_files(env, dir, "vm.ovf", opts))
}

fn qemu_create(dir: &Path, name: &str, args: &[&str], size: u64) {
    let st = std::process::Command::new("qemu-img")
        .current_dir(dir)
        .arg("create")
        .arg("-q")
        .args(args)
        .arg(name)
        .arg(size.to_string())
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
}

fn size_of(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

const STREAM: &str = "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized";
const MONO: &str = "http://www.vmware.com/interfaces/specifications/vmdk.html#monolithicSparse";

#[test]
fn a_disk_whose_format_differs_is_an_error_and_capacity_a_warning() {
    if !support::have_tool("qemu-img") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    qemu_create(
        d,
        "mono.vmdk",
        &["-f", "vmdk", "-o", "subformat=monolithicSparse"],
        MIB,
    );
    let size = size_of(&d.join("mono.vmdk"));
    let files = format!(r#"<File ovf:id="f" ovf:href="mono.vmdk" ovf:size="{size}"/>"#);
    let disk = |format: &str, cap: u64| {
        format!(
            r#"<Disk ovf:diskId="d" ovf:fileRef="f" ovf:capacity="{cap}" ovf:format="{format}"/>"#
        )
    };
    let opts = FileCheckOptions::default();
    // What the file is: no finding.
    assert_eq!(check(&envelope(&files, &disk(MONO, MIB)), d, &opts), vec![]);
    // OVF 0.9's generic #sparse names any sparse VMDK.
    let sparse = "http://www.vmware.com/specifications/vmdk.html#sparse";
    assert_eq!(
        check(&envelope(&files, &disk(sparse, MIB)), d, &opts),
        vec![]
    );
    assert_eq!(
        check(&envelope(&files, &disk(STREAM, MIB)), d, &opts),
        vec![("disk-format-mismatch", Severity::Error)]
    );
    assert_eq!(
        check(&envelope(&files, &disk(MONO, 2 * MIB)), d, &opts),
        vec![("disk-capacity-mismatch", Severity::Warning)]
    );
    // A file that is no VMDK at all under a VMDK format.
    std::fs::write(d.join("raw.img"), vec![0u8; 4096]).unwrap();
    let raw = r#"<File ovf:id="f" ovf:href="raw.img" ovf:size="4096"/>"#;
    let got = check(&envelope(raw, &disk(STREAM, 4096)), d, &opts);
    assert_eq!(got, vec![("disk-format-mismatch", Severity::Error)]);
}

#[test]
fn a_delta_disk_without_its_parent_is_unreadable_and_a_missing_parent_file_is_named() {
    if !support::have_tool("qemu-img") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    qemu_create(d, "base.vmdk", &["-f", "vmdk"], MIB);
    qemu_create(
        d,
        "delta.vmdk",
        &["-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk"],
        MIB,
    );
    let (bs, ds) = (
        size_of(&d.join("base.vmdk")),
        size_of(&d.join("delta.vmdk")),
    );
    let files = format!(
        r#"<File ovf:id="b" ovf:href="base.vmdk" ovf:size="{bs}"/><File ovf:id="c" ovf:href="delta.vmdk" ovf:size="{ds}"/>"#
    );
    let disks = format!(
        r#"<Disk ovf:diskId="base" ovf:fileRef="b" ovf:capacity="{MIB}" ovf:format="{MONO}"/><Disk ovf:diskId="delta" ovf:fileRef="c" ovf:parentRef="base" ovf:capacity="{MIB}" ovf:format="{MONO}"/>"#
    );
    let env = envelope(&files, &disks);
    let opts = FileCheckOptions::default();
    assert_eq!(check(&env, d, &opts), vec![], "complete chain");
    std::fs::remove_file(d.join("base.vmdk")).unwrap();
    let got = check(&env, d, &opts);
    assert!(
        got.contains(&("missing-file", Severity::Warning)),
        "{got:?}"
    );
    assert!(got.contains(&("disk-header", Severity::Error)), "{got:?}");
    assert!(
        got.contains(&("delta-parent-absent", Severity::Warning)),
        "{got:?}"
    );
    // verify: an absent parent is an error.
    let strict = FileCheckOptions {
        absent_is_error: true,
        ..Default::default()
    };
    let got = check(&env, d, &strict);
    assert!(
        got.contains(&("delta-parent-absent", Severity::Error)),
        "{got:?}"
    );
    assert!(got.contains(&("missing-file", Severity::Error)), "{got:?}");
}

#[test]
fn the_certificate_must_parse_have_its_manifest_and_sign_it() {
    let Some(corpus) = support::corpus() else {
        return;
    };
    let pem = std::fs::read(corpus.join(
        "cyberus-technology__virtualbox-kvm/src/VBox/ValidationKit/tests/api/tdAppliance1-t4.pem",
    ))
    .unwrap();
    let signer = Signer::from_pem(&pem, None).unwrap();
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(d.join("a.bin"), b"hello").unwrap();
    let env = envelope(r#"<File ovf:id="a" ovf:href="a.bin" ovf:size="5"/>"#, "");
    let mf = format!(
        "SHA256(a.bin)= {}\n",
        hex::encode(Algorithm::Sha256.digest(b"hello"))
    );
    let opts = FileCheckOptions::default();
    std::fs::write(d.join("vm.mf"), &mf).unwrap();
    let cert = signer
        .cert_file(Algorithm::Sha256, "vm.mf", mf.as_bytes())
        .unwrap();
    std::fs::write(d.join("vm.cert"), &cert).unwrap();
    assert_eq!(check(&env, d, &opts), vec![], "signed and intact");
    // The manifest changed after signing.
    std::fs::write(
        d.join("vm.mf"),
        mf.replace("SHA256(a.bin)", "SHA256(a.bin) "),
    )
    .unwrap();
    assert_eq!(
        check(&env, d, &opts),
        vec![("signature-invalid", Severity::Error)]
    );
    // The manifest is gone.
    std::fs::remove_file(d.join("vm.mf")).unwrap();
    assert_eq!(
        check(&env, d, &opts),
        vec![("cert-without-manifest", Severity::Error)]
    );
    // A certificate file that is not one.
    std::fs::write(d.join("vm.mf"), &mf).unwrap();
    std::fs::write(d.join("vm.cert"), b"SHA256(vm.mf)= zz\nnot a certificate\n").unwrap();
    assert_eq!(
        check(&env, d, &opts),
        vec![("cert-invalid", Severity::Error)]
    );
}

#[test]
fn a_manifest_named_after_another_file_is_not_the_package_manifest() {
    // `disk1.mf` beside `vm.ovf` is not vm.ovf's manifest: a size mismatch stays an error under
    // --lax, since no manifest vouches for the stored file.
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(d.join("a.bin"), b"hello").unwrap();
    std::fs::write(
        d.join("disk1.mf"),
        format!(
            "SHA256(a.bin)= {}\n",
            hex::encode(Algorithm::Sha256.digest(b"hello"))
        ),
    )
    .unwrap();
    let env = envelope(r#"<File ovf:id="a" ovf:href="a.bin" ovf:size="6"/>"#, "");
    let lax = FileCheckOptions {
        lax: true,
        ..Default::default()
    };
    let got = check_files(&env, d, "vm.ovf", &lax);
    assert_eq!(
        codes(&got),
        vec![
            ("size-mismatch", Severity::Error),
            ("manifest-not-the-package-manifest", Severity::Warning)
        ]
    );
    assert_eq!(
        got[1].message,
        "disk1.mf is not this package's manifest (expected vm.mf); it is not used"
    );
    std::fs::rename(d.join("disk1.mf"), d.join("vm.mf")).unwrap();
    assert_eq!(
        check(&env, d, &lax),
        vec![("size-mismatch", Severity::Warning)]
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Writes `data` as `name.000000000`, `name.000000001`... of `chunk` bytes; their total size.
fn write_chunks(dir: &Path, name: &str, data: &[u8], chunk: usize) -> u64 {
    for (i, c) in data.chunks(chunk).enumerate() {
        std::fs::write(dir.join(format!("{name}.{i:09}")), c).unwrap();
    }
    data.len() as u64
}

#[test]
fn gzip_and_chunked_disks_are_checked_through_the_file_reader() {
    if !support::have_tool("qemu-img") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    qemu_create(
        d,
        "mono.vmdk",
        &["-f", "vmdk", "-o", "subformat=monolithicSparse"],
        MIB,
    );
    qemu_create(
        d,
        "stream.vmdk",
        &["-f", "vmdk", "-o", "subformat=streamOptimized"],
        2 * MIB,
    );
    let mono = std::fs::read(d.join("mono.vmdk")).unwrap();
    let stream = std::fs::read(d.join("stream.vmdk")).unwrap();
    // mono.vmdk gzip-compressed; stream.vmdk in chunks; mono.vmdk gzip-compressed in chunks.
    let gz = gzip(&mono);
    std::fs::write(d.join("g.vmdk"), &gz).unwrap();
    let chunk = stream.len().div_ceil(3);
    let stream_size = write_chunks(d, "c.vmdk", &stream, chunk);
    let gz_chunk = gz.len().div_ceil(2);
    let gc_size = write_chunks(d, "gc.vmdk", &gz, gz_chunk);
    let files = format!(
        r#"<File ovf:id="g" ovf:href="g.vmdk" ovf:size="{}" ovf:compression="gzip"/><File ovf:id="c" ovf:href="c.vmdk" ovf:size="{stream_size}" ovf:chunkSize="{chunk}"/><File ovf:id="gc" ovf:href="gc.vmdk" ovf:size="{gc_size}" ovf:chunkSize="{gz_chunk}" ovf:compression="gzip"/>"#,
        gz.len()
    );
    let disks = |g: (&str, u64), c: (&str, u64), gc: (&str, u64)| {
        format!(
            r#"<Disk ovf:diskId="g" ovf:fileRef="g" ovf:capacity="{}" ovf:format="{}"/><Disk ovf:diskId="c" ovf:fileRef="c" ovf:capacity="{}" ovf:format="{}"/><Disk ovf:diskId="gc" ovf:fileRef="gc" ovf:capacity="{}" ovf:format="{}"/>"#,
            g.1, g.0, c.1, c.0, gc.1, gc.0
        )
    };
    let opts = FileCheckOptions::default();
    let ok = envelope(&files, &disks((MONO, MIB), (STREAM, 2 * MIB), (MONO, MIB)));
    assert_eq!(check(&ok, d, &opts), vec![]);
    // Each disk with the other format, then with another capacity: one finding per disk,
    // naming its file.
    let wrong_format = envelope(
        &files,
        &disks((STREAM, MIB), (MONO, 2 * MIB), (STREAM, MIB)),
    );
    let got = check_files(&wrong_format, d, "vm.ovf", &opts);
    assert_eq!(
        codes(&got),
        vec![("disk-format-mismatch", Severity::Error); 3],
        "{got:?}"
    );
    assert!(
        got[1].message.contains(
            "c.vmdk: ovf:format says monolithicSparse, the VMDK's createType is streamOptimized"
        ),
        "{got:?}"
    );
    let wrong_cap = envelope(
        &files,
        &disks((MONO, 2 * MIB), (STREAM, MIB), (MONO, 3 * MIB)),
    );
    let got = check_files(&wrong_cap, d, "vm.ovf", &opts);
    assert_eq!(
        codes(&got),
        vec![("disk-capacity-mismatch", Severity::Warning); 3],
        "{got:?}"
    );
    assert!(
        got[0].message.contains(&format!("the VMDK holds {MIB}")),
        "{got:?}"
    );
    // A gzip-compressed file that is no VMDK, under a VMDK format.
    std::fs::write(d.join("raw.gz"), gzip(&vec![0u8; 4 << 20])).unwrap();
    let raw = format!(
        r#"<File ovf:id="r" ovf:href="raw.gz" ovf:size="{}" ovf:compression="gzip"/>"#,
        size_of(&d.join("raw.gz"))
    );
    let env = envelope(
        &raw,
        &format!(
            r#"<Disk ovf:diskId="r" ovf:fileRef="r" ovf:capacity="{}" ovf:format="{STREAM}"/>"#,
            4 << 20
        ),
    );
    let got = check_files(&env, d, "vm.ovf", &opts);
    assert_eq!(codes(&got), vec![("disk-format-mismatch", Severity::Error)]);
    assert!(got[0].message.contains("found a raw image"), "{got:?}");
}

#[test]
fn a_stray_manifest_in_a_folder_is_named_by_validate_verify_and_import() {
    let t = tempfile::tempdir().unwrap();
    let pkg = t.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    let st = std::process::Command::new("tar")
        .arg("xf")
        .arg(support::samples().join("appliance.ova"))
        .arg("-C")
        .arg(&pkg)
        .status()
        .unwrap();
    assert!(st.success());
    // The manifest under another base name: not this package's manifest.
    std::fs::rename(
        pkg.join("sample-appliance.mf"),
        pkg.join("sample-appliance-disk1.mf"),
    )
    .unwrap();
    let want =
        "sample-appliance-disk1.mf is not this package's manifest (expected sample-appliance.mf)";
    let ovf = pkg.join("sample-appliance.ovf");
    let target = t.path().join("vm");
    for args in [
        vec!["validate", ovf.to_str().unwrap()],
        vec!["validate", pkg.to_str().unwrap()],
        vec!["verify", pkg.to_str().unwrap()],
        vec!["verify", ovf.to_str().unwrap()],
        vec![
            "import",
            "--accept-all-eulas",
            ovf.to_str().unwrap(),
            target.to_str().unwrap(),
        ],
    ] {
        let out = support::ovftool(&args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(want), "{args:?}: {text}");
        // A warning: the package itself is fine.
        assert_eq!(out.status.code(), Some(0), "{args:?}: {text}");
    }
}

#[test]
fn validate_and_verify_apply_one_format_rule() {
    // A streamOptimized VMDK declared monolithicSparse: both commands refuse it, by the one
    // rule (`format_fragment_matches`); declared streamOptimized or OVF 0.9's `#sparse`, both
    // take it.
    let t = tempfile::tempdir().unwrap();
    let pkg = t.path();
    let st = std::process::Command::new("tar")
        .arg("xf")
        .arg(support::samples().join("appliance.ova"))
        .arg("-C")
        .arg(pkg)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::remove_file(pkg.join("sample-appliance.mf")).unwrap();
    let ovf = pkg.join("sample-appliance.ovf");
    let original = std::fs::read_to_string(&ovf).unwrap();
    for (fragment, rc) in [
        ("#streamOptimized", 0),
        ("#monolithicSparse", 1),
        ("#sparse", 0),
        ("#monolithicFlat", 1),
    ] {
        std::fs::write(&ovf, original.replace("#streamOptimized", fragment)).unwrap();
        for cmd in ["validate", "verify"] {
            let out = support::ovftool(&[cmd, ovf.to_str().unwrap()]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(rc), "{cmd} {fragment}: {text}");
            if rc == 1 {
                assert!(text.contains("disk-format-mismatch"), "{cmd}: {text}");
                assert!(text.contains("streamOptimized"), "{cmd}: {text}");
            }
        }
    }
}

/// The (code, severity) of every finding of `cmd --json path`.
fn json_findings(cmd: &str, path: &Path, lax: bool) -> Vec<(String, String)> {
    let p = path.to_str().unwrap();
    let mut args = vec![cmd, "--json", p];
    if lax {
        args.push("--lax");
    }
    let out = support::ovftool(&args);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{cmd}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
    let mut got: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    got.dedup();
    got
}

fn errors_of(findings: &[(String, String)]) -> Vec<&str> {
    findings
        .iter()
        .filter(|(_, s)| s == "error")
        .map(|(c, _)| c.as_str())
        .collect()
}

#[test]
fn validate_and_verify_give_one_verdict_on_a_damaged_package() {
    // Each damage to the sample appliance (as a folder, without a manifest so that digests
    // stay out of it): `validate X.ovf` and `verify X.ovf` report the same error codes, the
    // damage's among them: one rule, one code, one severity.
    type Damage = fn(&mut String, &mut Vec<(String, Vec<u8>)>);
    let cases: [(&str, Option<usize>, Damage, &str); 7] = [
        (
            "size",
            None,
            |d, _| *d = d.replace(r#"ovf:size="77312""#, r#"ovf:size="77000""#),
            "size-mismatch",
        ),
        (
            "chunked size",
            Some(30000),
            |d, _| *d = d.replace(r#"ovf:size="77312""#, r#"ovf:size="77313""#),
            "size-mismatch",
        ),
        (
            "chunk size",
            Some(30000),
            |d, _| *d = d.replace(r#"ovf:chunkSize="30000""#, r#"ovf:chunkSize="40000""#),
            "chunk-size",
        ),
        (
            "gzip declared",
            None,
            |d, _| {
                *d = d.replace(
                    r#"ovf:id="file1""#,
                    r#"ovf:id="file1" ovf:compression="gzip""#,
                )
            },
            "compression-mismatch",
        ),
        (
            "createType",
            None,
            |d, _| *d = d.replace("#streamOptimized", "#monolithicSparse"),
            "disk-format-mismatch",
        ),
        (
            "not a VMDK",
            None,
            |_, m| {
                for (n, b) in m.iter_mut() {
                    if n == support::APPLIANCE_DISK {
                        b.iter_mut().for_each(|x| *x = 0);
                    }
                }
            },
            "disk-format-mismatch",
        ),
        (
            "gzip undeclared",
            None,
            |d, m| {
                for (n, b) in m.iter_mut() {
                    if n == support::APPLIANCE_DISK {
                        *b = support::gzip(b, flate2::Compression::fast());
                        *d =
                            d.replace(r#"ovf:size="77312""#, &format!(r#"ovf:size="{}""#, b.len()));
                    }
                }
            },
            "compression-mismatch",
        ),
    ];
    for (what, chunk, damage, code) in cases {
        let t = tempfile::tempdir().unwrap();
        let mut members: Vec<(String, Vec<u8>)> = support::appliance_stored(None, false, chunk)
            .into_iter()
            .filter(|(n, _)| !n.ends_with(".mf"))
            .collect();
        let mut desc = String::from_utf8(members.remove(0).1).unwrap();
        damage(&mut desc, &mut members);
        members.insert(0, ("sample-appliance.ovf".into(), desc.into_bytes()));
        support::write_folder(t.path(), &members);
        let ovf = t.path().join("sample-appliance.ovf");
        let validate = json_findings("validate", &ovf, false);
        let verify = json_findings("verify", &ovf, false);
        assert!(
            errors_of(&validate).contains(&code),
            "{what}: validate {validate:?}"
        );
        assert_eq!(
            errors_of(&validate),
            errors_of(&verify),
            "{what}: validate {validate:?}, verify {verify:?}"
        );
    }
}

#[test]
fn lax_takes_a_wrong_size_of_a_chunked_file_whose_chunk_digests_match() {
    // ovf:size is the size of the whole file, the manifest lists each chunk: under --lax, a
    // declared size that differs from the sum of the chunks is a warning when every chunk's
    // digest matches, an error in strict mode; a chunk that does not match keeps it an error.
    let members = support::appliance_stored(None, false, Some(30000));
    assert!(members.iter().any(|(n, _)| n.ends_with(".000000002")));
    let t = tempfile::tempdir().unwrap();
    let write = |members: &[(String, Vec<u8>)]| {
        let mut m = members.to_vec();
        let desc = String::from_utf8(m[0].1.clone()).unwrap();
        assert!(desc.contains(r#"ovf:size="77312""#));
        m[0].1 = desc
            .replace(r#"ovf:size="77312""#, r#"ovf:size="77313""#)
            .into_bytes();
        // The manifest's digest of the descriptor must hold: recompute that line.
        let mf = String::from_utf8(m[1].1.clone()).unwrap();
        let line = mf.lines().next().unwrap().to_string();
        m[1].1 = mf
            .replace(
                &line,
                &format!(
                    "SHA256(sample-appliance.ovf)= {}",
                    support::sha256_hex(&m[0].1)
                ),
            )
            .into_bytes();
        support::write_folder(t.path(), &m);
    };
    write(&members);
    let ovf = t.path().join("sample-appliance.ovf");
    let size = |f: &[(String, String)]| {
        f.iter()
            .filter(|(c, _)| c == "size-mismatch")
            .map(|(_, s)| s.clone())
            .collect::<Vec<_>>()
    };
    for cmd in ["validate", "verify"] {
        assert_eq!(
            size(&json_findings(cmd, &ovf, false)),
            ["error"],
            "{cmd} strict"
        );
        let lax = json_findings(cmd, &ovf, true);
        assert_eq!(size(&lax), ["warning"], "{cmd} --lax: {lax:?}");
        assert!(errors_of(&lax).is_empty(), "{cmd} --lax: {lax:?}");
    }
    // One chunk changed after the manifest was written: nothing vouches for the stored file.
    let mut changed = members.clone();
    let last = changed
        .iter_mut()
        .find(|(n, _)| n.ends_with(".000000002"))
        .unwrap();
    last.1[0] ^= 1;
    write(&changed);
    for cmd in ["validate", "verify"] {
        assert_eq!(
            size(&json_findings(cmd, &ovf, true)),
            ["error"],
            "{cmd} --lax"
        );
    }
}
