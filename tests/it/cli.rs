//! Integration tests: the CLI's `--json` envelope (docs/JSON.md), usage errors under `--json`,
//! and paths that are not UTF-8.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Output};

use crate::support;

fn run(args: &[&OsStr]) -> Output {
    Command::new(support::bin()).args(args).output().unwrap()
}

/// Parses the one JSON document on stdout and checks the shared top level.
fn envelope(out: &Output, command: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{command}: stdout is not one JSON document ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(v["schema"], 1, "{command}: {v}");
    assert_eq!(v["command"], command, "{v}");
    let ok = v["ok"]
        .as_bool()
        .unwrap_or_else(|| panic!("{command}: ok {v}"));
    assert_eq!(ok, out.status.success(), "{command}: ok vs exit code {v}");
    for list in ["findings", "warnings"] {
        for f in v[list]
            .as_array()
            .unwrap_or_else(|| panic!("{command}: {list} {v}"))
        {
            let keys: Vec<&str> = f.as_object().unwrap().keys().map(|k| k.as_str()).collect();
            // `hint` only when an option would make the finding a warning.
            let shared = ["code", "message", "severity", "subject"];
            assert!(
                keys == shared || keys == ["code", "hint", "message", "severity", "subject"],
                "{command}: {f}"
            );
            if let Some(hint) = f.get("hint") {
                assert_eq!(f["severity"], "error", "{command}: {f}");
                assert!(hint["flag"].as_str().unwrap().starts_with("--"), "{f}");
                assert!(
                    hint["text"]
                        .as_str()
                        .unwrap()
                        .contains(hint["flag"].as_str().unwrap()),
                    "{f}"
                );
            }
            assert!(f["code"].is_string() && f["message"].is_string(), "{f}");
            assert!(
                f["severity"] == "error" || f["severity"] == "warning",
                "{f}"
            );
            assert!(f["subject"].is_string() || f["subject"].is_null(), "{f}");
        }
    }
    v
}

#[test]
fn every_command_prints_the_shared_json_envelope() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let ova = support::samples().join("appliance.ova");
    let tiny = support::samples().join("tiny.ovf");
    let raw = d.join("d.raw");
    let mut rng = support::Rng(7);
    let mut bytes = vec![0u8; 1 << 20];
    for b in bytes.iter_mut().take(300_000) {
        *b = rng.next() as u8;
    }
    std::fs::write(&raw, &bytes).unwrap();
    let p = |x: &Path| x.as_os_str().to_owned();
    let s = |x: &str| OsStr::new(x).to_owned();
    let cases: Vec<(&str, Vec<std::ffi::OsString>)> = vec![
        ("info", vec![s("info"), p(&ova)]),
        ("validate", vec![s("validate"), p(&tiny)]),
        ("verify", vec![s("verify"), p(&ova)]),
        (
            "convert",
            vec![
                s("convert"),
                p(&raw),
                p(&d.join("d.vmdk")),
                s("--to"),
                s("stream-optimized"),
            ],
        ),
        ("info", vec![s("info"), p(&d.join("d.vmdk"))]),
        ("unpack", vec![s("unpack"), p(&ova), p(&d.join("u"))]),
        (
            "pack",
            vec![s("pack"), p(&d.join("u")), p(&d.join("p.ova"))],
        ),
        (
            "import",
            vec![
                s("import"),
                s("--accept-all-eulas"),
                p(&ova),
                p(&d.join("i")),
            ],
        ),
        (
            "edit",
            vec![
                s("edit"),
                s("--product"),
                s("Edited"),
                p(&ova),
                p(&d.join("e1.ova")),
            ],
        ),
        (
            "retarget",
            vec![
                s("retarget"),
                s("--for"),
                s("esxi-8.0"),
                p(&ova),
                p(&d.join("r1.ova")),
            ],
        ),
        ("diff", vec![s("diff"), p(&ova), p(&ova)]),
        ("diff", vec![s("diff"), p(&raw), p(&d.join("d.vmdk"))]),
    ];
    for (command, args) in &cases {
        let mut all = vec![OsStr::new("--json")];
        all.extend(args.iter().map(|a| a.as_os_str()));
        let out = run(&all);
        assert!(out.status.success(), "{command}: {out:?}");
        let v = envelope(&out, command);
        if *command == "verify" {
            assert!(v["files"].is_array() && v["path"].is_string(), "{v}");
        }
        if *command == "edit" || *command == "retarget" {
            assert!(v["entries"].is_array() && v["changes"].is_array(), "{v}");
        }
        if *command == "diff" {
            assert!(v["same"].is_boolean(), "{v}");
        }
        if *command == "import" {
            assert!(v["hints"].is_array(), "{v}");
            let vmx = v["vmx"].as_str().unwrap().to_string();
            let out = run(&[OsStr::new("--json"), OsStr::new("info"), OsStr::new(&vmx)]);
            assert!(out.status.success(), "info vmx: {out:?}");
            envelope(&out, "info");
            let out = run(&[
                OsStr::new("--json"),
                OsStr::new("export"),
                OsStr::new(&vmx),
                d.join("e.ova").as_os_str(),
            ]);
            assert!(out.status.success(), "export: {out:?}");
            envelope(&out, "export");
        }
    }
    // Packages that differ: exit 1 as diff(1), ok false, still the shared envelope.
    let out = run(&[
        OsStr::new("--json"),
        OsStr::new("diff"),
        ova.as_os_str(),
        d.join("e1.ova").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = envelope(&out, "diff");
    assert_eq!(v["same"], false, "{v}");
    // A failed verification: ok false, exit 1, findings in the shared shape.
    let mut bad = std::fs::read(&ova).unwrap();
    let n = bad.len();
    bad[n - 4096] ^= 0xff;
    std::fs::write(d.join("bad.ova"), bad).unwrap();
    let out = run(&[
        OsStr::new("--json"),
        OsStr::new("verify"),
        d.join("bad.ova").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = envelope(&out, "verify");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "error"),
        "{v}"
    );
    // The digest mismatch names the flag that would tolerate it, as an error does; the text
    // report prints it too.
    let mismatch = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "digest-mismatch")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(mismatch["hint"]["flag"], "--skip-manifest-check", "{v}");
    let out = run(&[OsStr::new("verify"), d.join("bad.ova").as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("hint: --skip-manifest-check accepts it"),
        "{stdout}"
    );
    // With the flag the finding is a warning and carries no hint.
    let out = run(&[
        OsStr::new("--json"),
        OsStr::new("verify"),
        OsStr::new("--skip-manifest-check"),
        d.join("bad.ova").as_os_str(),
    ]);
    let v = envelope(&out, "verify");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "digest-mismatch")
            .all(|f| f["severity"] == "warning" && f.get("hint").is_none()),
        "{v}"
    );
    // An error that stops the command.
    let out = run(&[
        OsStr::new("--json"),
        OsStr::new("pack"),
        d.join("nope").as_os_str(),
        d.join("x.ova").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v = envelope(&out, "pack");
    assert_eq!(v["error"]["kind"], "usage", "{v}");
    assert!(
        v["error"]["path"].as_str().unwrap().ends_with("nope"),
        "{v}"
    );
    assert!(v["error"]["hint"].is_null(), "{v}");
    // An error an option avoids: the hint names the flag, in text and in JSON.
    let out = run(&[
        OsStr::new("--json"),
        OsStr::new("import"),
        ova.as_os_str(),
        d.join("eula").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v = envelope(&out, "import");
    assert_eq!(v["error"]["hint"]["flag"], "--accept-all-eulas", "{v}");
    assert!(
        v["error"]["hint"]["text"]
            .as_str()
            .unwrap()
            .contains("--accept-all-eulas"),
        "{v}"
    );
    assert!(!v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("--accept-all-eulas"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hint: --accept-all-eulas"), "{stderr}");
    let out = run(&[
        OsStr::new("--json"),
        OsStr::new("pack"),
        d.join("u").as_os_str(),
        d.join("p.ova").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v = envelope(&out, "pack");
    assert_eq!(v["error"]["kind"], "already-exists", "{v}");
    assert_eq!(v["error"]["hint"]["flag"], "--force", "{v}");
}

#[test]
fn usage_errors_under_json_are_one_json_document() {
    for (args, command) in [
        (&["--json", "frobnicate"][..], "ovftool-rs"),
        (&["--json", "verify", "--bogus", "x"][..], "verify"),
        (
            &["convert", "a", "b", "--to", "nonsense", "--json"][..],
            "convert",
        ),
        (&["--json"][..], "ovftool-rs"),
    ] {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let v = envelope(&out, command);
        assert_eq!(v["error"]["kind"], "usage", "{v}");
        assert!(!out.stderr.is_empty());
    }
    // Without --json a usage error stays text only; --help is text and exit 0.
    let out = run(&[OsStr::new("frobnicate")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let out = run(&[
        OsStr::new("--json"),
        OsStr::new("verify"),
        OsStr::new("--help"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(serde_json::from_slice::<serde_json::Value>(&out.stdout).is_err());
}

#[test]
fn non_utf8_paths_are_kept_byte_exact_in_json() {
    let t = tempfile::tempdir().unwrap();
    let mut name = t.path().as_os_str().as_bytes().to_vec();
    name.extend_from_slice(b"/odd-\xff.ova");
    let odd = Path::new(OsStr::from_bytes(&name));
    std::fs::copy(support::samples().join("appliance.ova"), odd).unwrap();
    for command in ["verify", "info", "validate"] {
        let out = run(&[OsStr::new("--json"), OsStr::new(command), odd.as_os_str()]);
        assert_eq!(out.status.code(), Some(0), "{command}: {out:?}");
        let v = envelope(&out, command);
        assert_eq!(v["path"]["bytes_hex"], hex::encode(&name), "{v}");
        assert!(v["path"]["lossy"]
            .as_str()
            .unwrap()
            .ends_with("odd-\u{fffd}.ova"));
    }
    // Import into a non-UTF-8 folder: every path reported.
    let mut target = t.path().as_os_str().as_bytes().to_vec();
    target.extend_from_slice(b"/vm-\xfe");
    let target = Path::new(OsStr::from_bytes(&target));
    let out = run(&[
        OsStr::new("--json"),
        OsStr::new("import"),
        OsStr::new("--accept-all-eulas"),
        odd.as_os_str(),
        target.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = envelope(&out, "import");
    assert!(v["vmx"]["bytes_hex"].is_string(), "{v}");
    // Errors name the path the same way.
    let mut missing = name.clone();
    missing.extend_from_slice(b".gone");
    let out = run(&[
        OsStr::new("--json"),
        OsStr::new("verify"),
        OsStr::from_bytes(&missing),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v = envelope(&out, "verify");
    assert_eq!(
        v["error"]["path"]["bytes_hex"],
        hex::encode(&missing),
        "{v}"
    );
}
