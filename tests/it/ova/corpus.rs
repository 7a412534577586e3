//! The real packages in `../shared/corpus` verify as their provenance says.

use std::path::{Path, PathBuf};

use ovftool::pack::{unpack, UnpackOptions};
use ovftool::verify::{load_trust, verify, Report, Severity, VerifyOptions};

fn vbox() -> Option<PathBuf> {
    crate::support::corpus()
        .map(|c| c.join("cyberus-technology__virtualbox-kvm/src/VBox/ValidationKit/tests/api"))
}

fn glance() -> Option<PathBuf> {
    crate::support::corpus().map(|c| c.join("openstack__glance/glance/tests/var"))
}

fn run(path: &Path, opts: &VerifyOptions) -> Report {
    verify(path, opts).unwrap()
}

fn error_codes(r: &Report) -> Vec<&str> {
    r.errors().map(|f| f.code.as_str()).collect()
}

#[test]
fn ovftool_written_packages_pass() {
    let Some(v) = vbox() else { return };
    for t in ["t2", "t3", "t4"] {
        let p = v.join(format!("tdAppliance1-{t}-ovftool-4.1.0.ova"));
        let r = run(&p, &VerifyOptions::default());
        assert!(r.passed(), "{t}: {:#?}", r.findings);
        assert!(
            r.files
                .iter()
                .filter(|f| !f.name.ends_with(".mf") && !f.name.ends_with(".cert"))
                .all(|f| f.digest_verified),
            "{t}"
        );
    }
}

#[test]
fn signed_package_reports_its_signer() {
    let Some(v) = vbox() else { return };
    let p = v.join("tdAppliance1-t4-ovftool-4.1.0.ova");
    let r = run(&p, &VerifyOptions::default());
    let sig = r.signature.as_ref().expect("signature");
    assert!(sig.valid);
    assert_eq!(sig.algorithm, ovftool::digest::Algorithm::Sha1);
    let signer = sig.signer.as_ref().unwrap();
    assert!(
        signer.subject.contains("CN=beispiel.example.org"),
        "{}",
        signer.subject
    );
    assert!(signer.self_signed);
    assert_eq!(signer.not_before, 1454291127); // Feb  1 01:45:27 2016 GMT
    assert!(r.findings.iter().any(|f| f.code == "cert-self-signed"));
    // Trusting the signer's own certificate: a chain of one.
    let trust = load_trust(&[v.join("tdAppliance1-t4.pem")]).unwrap();
    let r = run(
        &p,
        &VerifyOptions {
            trust,
            require_signature: true,
            ..Default::default()
        },
    );
    assert!(r.passed(), "{:#?}", r.findings);
    assert_eq!(r.signature.unwrap().trusted, Some(true));
}

#[test]
fn unsigned_package_fails_require_signature() {
    let Some(v) = vbox() else { return };
    let r = run(
        &v.join("tdAppliance1-t2-ovftool-4.1.0.ova"),
        &VerifyOptions {
            require_signature: true,
            ..Default::default()
        },
    );
    assert_eq!(error_codes(&r), ["unsigned"]);
}

#[test]
fn virtualbox_packages_with_blanked_descriptor_line_need_lax() {
    // VirtualBox's test packages were edited after manifesting: the descriptor's manifest line
    // is blanked (68 spaces). Strict verify names exactly that; --lax accepts it.
    let Some(v) = vbox() else { return };
    for t in ["t1", "t2", "t3", "t4"] {
        let p = v.join(format!("tdAppliance1-{t}.ova"));
        let r = run(&p, &VerifyOptions::default());
        assert_eq!(error_codes(&r), ["manifest-missing-descriptor"], "{t}");
        let r = run(
            &p,
            &VerifyOptions {
                lax: true,
                ..Default::default()
            },
        );
        assert!(r.passed(), "{t}: {:#?}", r.findings);
    }
}

#[test]
fn extracted_folder_verifies_like_the_ova() {
    let Some(v) = vbox() else { return };
    let dir = v.join("_extracted/tdAppliance1-t4-ovftool-4.1.0");
    let r = run(&dir, &VerifyOptions::default());
    assert!(r.passed(), "{:#?}", r.findings);
    assert_eq!(r.kind, ovftool::verify::PackageKind::Directory);
    let r = run(
        &dir.join("tdAppliance1-t4-ovftool-4.1.0.ovf"),
        &VerifyOptions::default(),
    );
    assert!(r.passed(), "{:#?}", r.findings);
}

#[test]
fn glance_negative_packages_fail_with_the_right_finding() {
    let Some(g) = glance() else { return };
    let r = run(&g.join("testserver-no-ovf.ova"), &VerifyOptions::default());
    assert_eq!(error_codes(&r), ["no-descriptor"]);
    // Glance's packages are VirtualBox exports (hardware family virtualbox-2.2): the descriptor
    // validator needs --lax for them, as ovftool does.
    let lax = VerifyOptions {
        lax: true,
        ..Default::default()
    };
    let r = run(&g.join("testserver-no-disk.ova"), &lax);
    assert_eq!(error_codes(&r), ["missing-file"], "{:#?}", r.findings);
    assert_eq!(
        r.errors().next().unwrap().entry.as_deref(),
        Some("testserver-disk1.vmdk")
    );
    // testserver.ova is structurally fine but its "disk" is the 4 bytes "ABCD", not the
    // streamOptimized VMDK the descriptor declares (and its hand-added
    // ResourceAllocationSection fails the XSD, which the descriptor validator reports).
    let r = run(&g.join("testserver.ova"), &lax);
    assert!(
        error_codes(&r).contains(&"disk-format-mismatch"),
        "{:#?}",
        r.findings
    );
    assert!(!error_codes(&r)
        .iter()
        .any(|c| *c == "missing-file" || *c == "digest-mismatch"));
    assert!(r
        .findings
        .iter()
        .any(|f| f.code == "no-manifest" && f.severity == Severity::Warning));
}

/// Unpacks VirtualBox's `tdAppliance1-t4-ovftool-4.1.0.ova` (from the corpus folder `v`) into
/// `out` with `opts`, asserting that it passes.
fn unpack_t4(v: &Path, out: &Path, opts: &UnpackOptions) {
    let r = unpack(&v.join("tdAppliance1-t4-ovftool-4.1.0.ova"), out, opts).unwrap();
    assert!(r.passed(), "{:#?}", r.findings);
}

#[test]
fn corpus_unpack_reproduces_the_members() {
    let Some(v) = vbox() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t4");
    unpack_t4(&v, &out, &UnpackOptions::default());
    let ext = v.join("_extracted/tdAppliance1-t4-ovftool-4.1.0");
    for e in std::fs::read_dir(&ext).unwrap() {
        let e = e.unwrap();
        assert_eq!(
            std::fs::read(e.path()).unwrap(),
            std::fs::read(out.join(e.file_name())).unwrap(),
            "{:?}",
            e.file_name()
        );
    }
}

#[test]
fn unpack_expand_decompresses_gzip_disks_and_stays_verifiable() {
    let Some(v) = vbox() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t4");
    let expand = UnpackOptions {
        expand: true,
        ..Default::default()
    };
    unpack_t4(&v, &out, &expand);
    let disk = std::fs::read(out.join("tdAppliance1-t4-ovftool-4.1.0-disk1.vmdk")).unwrap();
    assert_eq!(&disk[..4], b"KDMV");
    assert!(!out
        .join("tdAppliance1-t4-ovftool-4.1.0-disk1.vmdk.gz")
        .exists());
    assert!(!out.join("tdAppliance1-t4-ovftool-4.1.0.cert").exists());
    let desc = std::fs::read_to_string(out.join("tdAppliance1-t4-ovftool-4.1.0.ovf")).unwrap();
    assert!(!desc.contains("compression"), "{desc}");
    let r = run(&out, &VerifyOptions::default());
    assert!(r.passed(), "{:#?}", r.findings);
    assert!(r
        .files
        .iter()
        .any(|f| f.name.ends_with("disk1.vmdk") && f.digest_verified));
}

#[test]
fn deep_verify_decodes_every_disk() {
    let Some(v) = vbox() else { return };
    let deep = VerifyOptions {
        deep: true,
        ..Default::default()
    };
    for p in [
        v.join("tdAppliance1-t2-ovftool-4.1.0.ova"),
        v.join("tdAppliance1-t4-ovftool-4.1.0.ova"),
        v.join("_extracted/tdAppliance1-t3-ovftool-4.1.0"),
    ] {
        let r = run(&p, &deep);
        assert!(r.passed(), "{}: {:#?}", p.display(), r.findings);
    }
    // The crafted disk has a valid header but garbage where grains should be.
    let dir = tempfile::tempdir().unwrap();
    let ova = dir.path().join("x.ova");
    std::fs::write(&ova, super::craft::package().ova()).unwrap();
    let r = run(&ova, &VerifyOptions::default());
    assert!(r.passed());
    let r = run(&ova, &deep);
    assert_eq!(error_codes(&r), ["disk-decode"], "{:#?}", r.findings);
    // From a stream --deep is refused up front.
    let e = ovftool::verify::verify_stream(&mut std::io::empty(), "-".as_ref(), &deep).unwrap_err();
    assert_eq!(e.kind(), ovftool::ErrorKind::Usage);
}
