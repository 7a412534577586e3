//! Signer trust against certificate chains made by `openssl`: for each chain, whether
//! `verify --trust ca.pem` trusts a package signed by its leaf must agree with
//! `openssl verify -purpose any -CAfile ca.pem -untrusted <the rest of the chain>`.

use std::fs;
use std::path::Path;
use std::process::Command;

use ovftool::cert::Signer;
use ovftool::pack::{pack, PackOptions};
use ovftool::verify::{load_trust, verify, VerifyOptions};

use super::craft;

/// Runs `openssl ARGS` in `dir`, panicking with its stderr when it fails.
fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed root `name` (CA:TRUE, keyCertSign).
fn root(dir: &Path, name: &str) {
    openssl(
        dir,
        &format!(
            "req -x509 -newkey rsa:2048 -nodes -keyout {name}.key -out {name}.pem -days 30 \
             -subj /CN={name} -addext basicConstraints=critical,CA:TRUE \
             -addext keyUsage=critical,keyCertSign,cRLSign"
        ),
    );
}

/// Certificate `name` issued by `issuer` with the extensions in `ext` (one per line), valid
/// for `days`.
fn issue(dir: &Path, name: &str, issuer: &str, ext: &str, days: u32) {
    openssl(
        dir,
        &format!("req -newkey rsa:2048 -nodes -keyout {name}.key -out {name}.csr -subj /CN={name}"),
    );
    fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
    openssl(
        dir,
        &format!(
            "x509 -req -in {name}.csr -CA {issuer}.pem -CAkey {issuer}.key -set_serial 0x{:x} \
             -out {name}.pem -days {days} -extfile {name}.ext",
            name.len() * 7919 + days as usize
        ),
    );
}

const CA_EXT: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
const LEAF_EXT: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n";

/// Our verdict and openssl's on a package signed by `leaf` carrying `chain` (leaf first),
/// trusting `anchor`, at `at` (Unix seconds) or now.
fn verdicts(dir: &Path, leaf: &str, chain: &[&str], anchor: &str, at: Option<u64>) -> (bool, bool) {
    let mut pem = Vec::new();
    for c in chain {
        pem.extend(fs::read(dir.join(format!("{c}.pem"))).unwrap());
    }
    let key = fs::read(dir.join(format!("{leaf}.key"))).unwrap();
    let src = dir.join("pkg");
    if !src.exists() {
        craft::package().write_dir(&src);
    }
    let ova = dir.join(format!("{leaf}-{}.ova", chain.len()));
    let _ = fs::remove_file(&ova);
    let opts = PackOptions {
        signer: Some(Signer::from_pem(&key, Some(&pem)).unwrap()),
        ..Default::default()
    };
    pack(&src, &ova, &opts).unwrap();
    let r = verify(
        &ova,
        &VerifyOptions {
            trust: load_trust(&[dir.join(format!("{anchor}.pem"))]).unwrap(),
            require_signature: true,
            at,
            ..Default::default()
        },
    )
    .unwrap();
    let sig = r.signature.as_ref().unwrap();
    assert!(sig.valid, "{:#?}", r.findings);
    let ours = r.passed();
    assert_eq!(
        ours,
        sig.trusted == Some(true),
        "passed without trust or failed despite it: {:#?}",
        r.findings
    );
    if !ours {
        assert!(
            r.errors().all(|f| f.code == "signature-untrusted"),
            "{:#?}",
            r.findings
        );
    }
    let mut cmd = Command::new("openssl");
    cmd.current_dir(dir)
        .args(["verify", "-purpose", "any", "-CAfile"])
        .arg(format!("{anchor}.pem"));
    if chain.len() > 1 {
        let rest: Vec<u8> = chain[1..]
            .iter()
            .flat_map(|c| fs::read(dir.join(format!("{c}.pem"))).unwrap())
            .collect();
        fs::write(dir.join("untrusted.pem"), rest).unwrap();
        cmd.args(["-untrusted", "untrusted.pem"]);
    }
    if let Some(t) = at {
        cmd.args(["-attime", &t.to_string()]);
    }
    let theirs = cmd
        .arg(format!("{leaf}.pem"))
        .output()
        .unwrap()
        .status
        .success();
    (ours, theirs)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn signer_trust_agrees_with_openssl_verify_on_each_chain() {
    if !crate::support::have_tool("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    root(d, "ca");
    // CA -> intermediate -> leaf: trusted.
    issue(d, "inter", "ca", CA_EXT, 30);
    issue(d, "leaf", "inter", LEAF_EXT, 20);
    assert_eq!(
        verdicts(d, "leaf", &["leaf", "inter"], "ca", None),
        (true, true)
    );
    // Leaf signed directly by the CA: trusted.
    issue(d, "direct", "ca", LEAF_EXT, 20);
    assert_eq!(verdicts(d, "direct", &["direct"], "ca", None), (true, true));
    // The intermediate missing from the file: no path.
    assert_eq!(verdicts(d, "leaf", &["leaf"], "ca", None), (false, false));
    // An end-entity (CA:FALSE) used as an issuer: refused.
    issue(d, "evil", "direct", LEAF_EXT, 20);
    assert_eq!(
        verdicts(d, "evil", &["evil", "direct"], "ca", None),
        (false, false)
    );
    // An intermediate that expired (valid 1 day, checked 3 days later): refused; the same
    // chain checked today is trusted.
    issue(d, "short", "ca", CA_EXT, 1);
    issue(d, "leaf2", "short", LEAF_EXT, 20);
    let later = now() + 3 * 86_400;
    assert_eq!(
        verdicts(d, "leaf2", &["leaf2", "short"], "ca", Some(later)),
        (false, false)
    );
    assert_eq!(
        verdicts(d, "leaf2", &["leaf2", "short"], "ca", None),
        (true, true)
    );
    // Before the certificates existed: refused.
    assert_eq!(
        verdicts(
            d,
            "leaf",
            &["leaf", "inter"],
            "ca",
            Some(now() - 86_400 * 400)
        ),
        (false, false)
    );
    // A CA intermediate whose keyUsage lacks keyCertSign: refused.
    issue(
        d,
        "nosign",
        "ca",
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n",
        30,
    );
    issue(d, "leaf3", "nosign", LEAF_EXT, 20);
    assert_eq!(
        verdicts(d, "leaf3", &["leaf3", "nosign"], "ca", None),
        (false, false)
    );
    // pathLenConstraint 0 on the intermediate, then one more CA below it: refused.
    issue(
        d,
        "len0",
        "ca",
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n",
        30,
    );
    issue(d, "sub", "len0", CA_EXT, 30);
    issue(d, "leaf4", "sub", LEAF_EXT, 20);
    assert_eq!(
        verdicts(d, "leaf4", &["leaf4", "sub", "len0"], "ca", None),
        (false, false)
    );
    // A self-signed signer (as `openssl req -x509` makes it): not trusted by the CA; trusted
    // when it is itself the anchor.
    openssl(
        d,
        "req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -days 30 -subj /CN=self",
    );
    assert_eq!(verdicts(d, "self", &["self"], "ca", None), (false, false));
    assert_eq!(verdicts(d, "self", &["self"], "self", None), (true, true));
}

#[test]
fn leaf_without_digital_signature_or_code_signing_is_not_a_package_signer() {
    // Stricter than `openssl verify -purpose any`, which ignores the leaf's key usages: RFC 5280
    // §4.2.1.3 and §4.2.1.12 limit the key to what these extensions list.
    if !crate::support::have_tool("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    root(d, "ca");
    issue(
        d,
        "enc",
        "ca",
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\n",
        20,
    );
    assert!(!verdicts(d, "enc", &["enc"], "ca", None).0);
    issue(
        d,
        "web",
        "ca",
        "basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
        20,
    );
    assert!(!verdicts(d, "web", &["web"], "ca", None).0);
    issue(
        d,
        "code",
        "ca",
        "basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=codeSigning\n",
        20,
    );
    assert_eq!(verdicts(d, "code", &["code"], "ca", None), (true, true));
    // A pinned root whose keyUsage allows only certificate signing may not sign a package.
    assert!(!verdicts(d, "ca", &["ca"], "ca", None).0);
}
