//! pack → verify → unpack round trips, determinism, signing, and the export-style writer API
//! (descriptor reserved first, disk of unknown size streamed, sizes patched at the end).

use std::fs;
use std::path::Path;

use ovftool::cert::Signer;
use ovftool::digest::{Algorithm, HashOptions};
use ovftool::manifest::Manifest;
use ovftool::ova::Writer;
use ovftool::pack::{pack, unpack, ManifestMode, PackOptions, UnpackOptions};
use ovftool::progress::NoProgress;
use ovftool::verify::{load_trust, VerifyOptions};

use super::craft;

fn opts() -> PackOptions {
    PackOptions {
        mtime: Some(1_700_000_000),
        ..Default::default()
    }
}

fn verify(p: &Path) -> ovftool::verify::Report {
    ovftool::verify(p, &VerifyOptions::default()).unwrap()
}

#[test]
fn pack_verify_unpack_round_trip_is_byte_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    craft::package().write_dir(&src);
    let ova = tmp.path().join("x.ova");
    let s = pack(&src, &ova, &opts()).unwrap();
    assert_eq!(
        s.entries
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["t.ovf", "t.mf", "t-disk1.vmdk"]
    );
    let r = verify(&ova);
    assert!(r.passed(), "{:#?}", r.findings);
    let out = tmp.path().join("out");
    assert!(unpack(&ova, &out, &UnpackOptions::default())
        .unwrap()
        .passed());
    for n in ["t.ovf", "t.mf", "t-disk1.vmdk"] {
        assert_eq!(
            fs::read(src.join(n)).unwrap(),
            fs::read(out.join(n)).unwrap(),
            "{n}"
        );
    }
    // Packing the unpacked folder again gives the identical archive.
    let ova2 = tmp.path().join("y.ova");
    pack(&out, &ova2, &opts()).unwrap();
    assert_eq!(fs::read(&ova).unwrap(), fs::read(&ova2).unwrap());
}

#[test]
fn pack_output_is_read_by_system_tar() {
    if !crate::support::have_tool("tar") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    craft::package().write_dir(&src);
    let ova = tmp.path().join("x.ova");
    pack(&src, &ova, &opts()).unwrap();
    let out = std::process::Command::new("tar")
        .arg("tvf")
        .arg(&ova)
        .output()
        .unwrap();
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.lines().all(|l| l.starts_with("-rw-r--r-- 0/0")),
        "{listing}"
    );
    assert!(listing.contains("2023-11-14"), "{listing}");
}

#[test]
fn pack_writes_requested_manifest_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    craft::package().write_dir(&src);
    let ova = tmp.path().join("x.ova");
    let o = PackOptions {
        manifest: ManifestMode::Algorithm(Algorithm::Sha512),
        ..opts()
    };
    pack(&src, &ova, &o).unwrap();
    let r = verify(&ova);
    assert!(r.passed(), "{:#?}", r.findings);
    assert_eq!(r.manifest_algorithms, [Algorithm::Sha512]);
    let before = fs::read(&ova).unwrap();
    let e = pack(&src, &ova, &opts()).unwrap_err();
    assert_eq!(e.kind(), ovftool::ErrorKind::AlreadyExists);
    assert_eq!(fs::read(&ova).unwrap(), before);
    let o = PackOptions {
        manifest: ManifestMode::None,
        force: true,
        ..opts()
    };
    pack(&src, &ova, &o).unwrap();
    let r = verify(&ova);
    assert!(r.passed());
    assert!(r.findings.iter().any(|f| f.code == "no-manifest"));
}

#[test]
fn pack_fixes_a_wrong_ovf_size() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let mut p = craft::package();
    p.ovf = craft::descriptor("t-disk1.vmdk", 12345, "");
    p.write_dir(&src);
    let ova = tmp.path().join("x.ova");
    let s = pack(&src, &ova, &opts()).unwrap();
    assert!(
        s.notes.iter().any(|n| n.contains("corrected")),
        "{:?}",
        s.notes
    );
    let r = verify(&ova);
    assert!(r.passed(), "{:#?}", r.findings);
}

#[test]
fn pack_refuses_missing_file_and_unsafe_href_leaving_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let p = craft::package();
    p.write_dir(&src);
    fs::remove_file(src.join("t-disk1.vmdk")).unwrap();
    let ova = tmp.path().join("x.ova");
    let e = pack(&src, &ova, &opts()).unwrap_err();
    assert_eq!(e.kind(), ovftool::ErrorKind::Verification);
    fs::write(src.join("t.ovf"), craft::descriptor("../etc/passwd", 1, "")).unwrap();
    let e = pack(&src, &ova, &opts()).unwrap_err();
    assert_eq!(e.kind(), ovftool::ErrorKind::UnsafePath);
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "output left behind"
    );
}

fn corpus_pem() -> Option<std::path::PathBuf> {
    crate::support::corpus().map(|c| {
        c.join("cyberus-technology__virtualbox-kvm/src/VBox/ValidationKit/tests/api/tdAppliance1-t4.pem")
    })
}

#[test]
fn pack_sign_then_verify_signature_and_trust() {
    let Some(pem_path) = corpus_pem() else { return };
    let pem = fs::read(&pem_path).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    craft::package().write_dir(&src);
    let ova = tmp.path().join("x.ova");
    let o = PackOptions {
        signer: Some(Signer::from_pem(&pem, None).unwrap()),
        ..opts()
    };
    let s = pack(&src, &ova, &o).unwrap();
    assert!(s.signed);
    let trust = load_trust(std::slice::from_ref(&pem_path)).unwrap();
    let r = ovftool::verify(
        &ova,
        &VerifyOptions {
            trust,
            require_signature: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(r.passed(), "{:#?}", r.findings);
    let sig = r.signature.unwrap();
    assert!(sig.valid);
    assert_eq!(sig.algorithm, Algorithm::Sha256);
    // Cross-check the signature with openssl.
    if crate::support::have_tool("openssl") {
        let out = tmp.path().join("u");
        assert!(unpack(&ova, &out, &UnpackOptions::default())
            .unwrap()
            .passed());
        let cert = fs::read_to_string(out.join("t.cert")).unwrap();
        let hexsig = cert.lines().next().unwrap().split("= ").nth(1).unwrap();
        fs::write(tmp.path().join("sig.bin"), hex::decode(hexsig).unwrap()).unwrap();
        let pubkey = std::process::Command::new("openssl")
            .args(["x509", "-pubkey", "-noout", "-in"])
            .arg(&pem_path)
            .output()
            .unwrap();
        fs::write(tmp.path().join("pub.pem"), pubkey.stdout).unwrap();
        let ok = std::process::Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(tmp.path().join("pub.pem"))
            .arg("-signature")
            .arg(tmp.path().join("sig.bin"))
            .arg(out.join("t.mf"))
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stdout)
        );
        // Repacking the unpacked signed folder keeps the (still valid) certificate.
        let again = tmp.path().join("again.ova");
        let s = pack(&out, &again, &opts()).unwrap();
        assert!(s.signed);
        assert_eq!(fs::read(&ova).unwrap(), fs::read(&again).unwrap());
    }
}

#[test]
fn tampered_manifest_breaks_the_signature_and_untrusted_ca_fails() {
    let Some(pem_path) = corpus_pem() else { return };
    if !crate::support::have_tool("openssl") {
        return;
    }
    let pem = fs::read(&pem_path).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let p = craft::package();
    p.write_dir(&src);
    let ova = tmp.path().join("x.ova");
    let o = PackOptions {
        signer: Some(Signer::from_pem(&pem, None).unwrap()),
        ..opts()
    };
    pack(&src, &ova, &o).unwrap();
    // Another CA: a fresh self-signed certificate.
    let (_, ca) = crate::support::self_signed(tmp.path(), "ca", "other");
    let r = ovftool::verify(
        &ova,
        &VerifyOptions {
            trust: load_trust(&[ca]).unwrap(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        r.errors().map(|f| f.code.as_str()).collect::<Vec<_>>(),
        ["signature-untrusted"]
    );
    // Flip one hex digit of the manifest's descriptor digest inside the archive.
    let mut bytes = fs::read(&ova).unwrap();
    let mf = Manifest::canonical_line_len(Algorithm::Sha256, "t.ovf");
    let at = bytes
        .windows(13)
        .position(|w| w == b"SHA256(t.ovf)")
        .unwrap()
        + mf
        - 3;
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    let bad = tmp.path().join("bad.ova");
    fs::write(&bad, &bytes).unwrap();
    let r = verify(&bad);
    let codes: Vec<&str> = r.errors().map(|f| f.code.as_str()).collect();
    assert!(codes.contains(&"signature-invalid"), "{codes:?}");
    assert!(codes.contains(&"digest-mismatch"), "{codes:?}");
}

#[test]
fn export_style_writer_reserves_descriptor_and_streams_unsized_disk() {
    // What export does: the descriptor must come first but disk sizes are known only after the
    // disk was streamed. Reserve room, stream the disk with its size patched afterwards, then
    // fill descriptor and manifest (trailing whitespace after the root element is legal XML).
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("e.ova");
    let p = craft::package();
    let alg = Algorithm::Sha256;
    let mut f = fs::File::create(&path).unwrap();
    let mut w = Writer::new(&mut f, 0);
    let desc_res = w.reserve("t.ovf", 8192).unwrap();
    let mf_len = Manifest::canonical_line_len(alg, "t.ovf")
        + Manifest::canonical_line_len(alg, "t-disk1.vmdk");
    let mf_res = w.reserve("t.mf", mf_len as u64).unwrap();
    let r = w
        .append_unsized(
            "t-disk1.vmdk",
            &mut &p.disk[..],
            &HashOptions {
                algorithms: vec![alg],
                ..Default::default()
            },
            &NoProgress,
        )
        .unwrap();
    let mut ovf = craft::descriptor("t-disk1.vmdk", r.bytes, "");
    ovf.resize(8192, b' ');
    w.fill(&desc_res, &ovf, b' ').unwrap();
    let mut m = Manifest::default();
    m.push(alg, "t.ovf", alg.digest(&ovf));
    m.push(alg, "t-disk1.vmdk", r.digests.get(alg).unwrap().to_vec());
    w.fill(&mf_res, &m.to_bytes(), b'\n').unwrap();
    w.finish().unwrap();
    drop(f);
    let rep = verify(&path);
    assert!(rep.passed(), "{:#?}", rep.findings);
}

#[test]
fn chunked_file_verifies_and_bad_chunk_size_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let p = craft::package();
    let chunk = 100_000u64;
    let build = |chunk_attr: u64| {
        let ovf = craft::descriptor(
            "t-disk1.vmdk",
            p.disk.len() as u64,
            &format!(r#" ovf:chunkSize="{chunk_attr}""#),
        );
        let pieces: Vec<&[u8]> = p.disk.chunks(chunk as usize).collect();
        let mut mf = craft::mf_line(Algorithm::Sha1, "t.ovf", &ovf);
        for (i, c) in pieces.iter().enumerate() {
            mf.push_str(&craft::mf_line(
                Algorithm::Sha1,
                &format!("t-disk1.vmdk.{i:09}"),
                c,
            ));
        }
        let mut v = craft::file("t.ovf", &ovf);
        v.extend(craft::file("t.mf", mf.as_bytes()));
        for (i, c) in pieces.iter().enumerate() {
            v.extend(craft::file(&format!("t-disk1.vmdk.{i:09}"), c));
        }
        v.extend(craft::end());
        v
    };
    let good = tmp.path().join("good.ova");
    fs::write(&good, build(chunk)).unwrap();
    let r = verify(&good);
    assert!(r.passed(), "{:#?}", r.findings);
    let out = tmp.path().join("expanded");
    let r = unpack(
        &good,
        &out,
        &UnpackOptions {
            expand: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(r.passed(), "{:#?}", r.findings);
    assert_eq!(fs::read(out.join("t-disk1.vmdk")).unwrap(), p.disk);
    assert!(!out.join("t-disk1.vmdk.000000000").exists());
    assert!(verify(&out).passed());
    let bad = tmp.path().join("bad.ova");
    fs::write(&bad, build(chunk + 1)).unwrap();
    let r = verify(&bad);
    assert!(
        r.errors().any(|f| f.code == "chunk-size" && f.entry.as_deref() == Some("t-disk1.vmdk.000000000")),
        "{:#?}",
        r.findings
    );
}
