//! The command line's habits (issue 14): value enums that list their values, completions and
//! man pages from the clap definition, help with examples, options files that round-trip,
//! JSON progress events, logs that never reach standard output.

use std::path::Path;
use std::process::Output;

use crate::support;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn each_value_enum_rejects_a_bad_value_with_the_possible_values() {
    let sample = support::samples().join("appliance.ova");
    let sample = sample.to_str().unwrap();
    // (arguments, a good value that must be listed, a value that must not be)
    let cases: &[(&[&str], &str, Option<&str>)] = &[
        (
            &[
                "import",
                "--disk-mode",
                "seSparse",
                sample,
                "/nonexistent/x",
            ],
            "eager-zeroed-thick",
            Some("stream-optimized"),
        ),
        (
            &["convert", "a", "b", "--to", "qcow2"],
            "stream-optimized",
            None,
        ),
        (
            &[
                "convert",
                "a",
                "b",
                "--to",
                "raw",
                "--adapter-type",
                "virtio",
            ],
            "lsilogic",
            None,
        ),
        (
            &["export", "a.vmx", "b.ova", "--manifest", "md5"],
            "sha256",
            None,
        ),
        (
            &["export", "a.vmx", "b.ova", "--ovf-version", "3.0"],
            "2.0",
            None,
        ),
        (
            &["export", "a.vmx", "b.ova", "--target", "esxi5"],
            "esxi7",
            None,
        ),
        (
            &["pack", "a", "b.ova", "--shaAlgorithm", "md5"],
            "sha512",
            None,
        ),
        (&["completions", "tcsh"], "bash", None),
        (
            &["retarget", "a.ova", "b.ova", "--for", "esxi-5.5"],
            "esxi-7.0",
            None,
        ),
    ];
    for (args, listed, unlisted) in cases {
        let o = support::ovftool(args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("possible values"), "{args:?}: {err}");
        assert!(err.contains(listed), "{args:?}: {err}");
        if let Some(u) = unlisted {
            assert!(!err.contains(u), "{args:?} lists {u}: {err}");
        }
    }
    // ovftool's spellings are accepted, in any case.
    let o = support::ovftool(&["convert", "a", "b", "--to", "STREAMOPTIMIZED"]);
    assert!(
        !text(&o.stderr).contains("possible values"),
        "{}",
        text(&o.stderr)
    );
}

/// The subcommands, as the top-level `--help` lists them (clap's own `help` left out), so that a
/// new command is held to the same habits without a list here to update.
fn commands() -> Vec<String> {
    let o = support::ovftool(&["--help"]);
    ok(&o);
    let help = text(&o.stdout);
    let (_, list) = help.split_once("Commands:\n").expect("a Commands: section");
    let names: Vec<String> = list
        .lines()
        .take_while(|l| !l.trim().is_empty())
        // A command's line starts with two spaces; its wrapped description with more.
        .filter(|l| l.starts_with("  ") && !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect();
    for core in ["info", "import", "export", "convert", "man"] {
        assert!(names.iter().any(|c| c == core), "{core} missing: {names:?}");
    }
    names
}

#[test]
fn completions_and_man_pages_generate_for_every_shell_and_command() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = support::ovftool(&["completions", shell]);
        ok(&o);
        let script = text(&o.stdout);
        assert!(
            script.contains("convert") && script.contains("import"),
            "{shell}"
        );
        if shell == "bash" {
            for layout in ["stream-optimized", "eager-zeroed-thick", "monolithic-flat"] {
                assert!(script.contains(layout), "bash completion lacks {layout}");
            }
        }
    }
    let is_page =
        |o: &Output| o.status.success() && text(&o.stdout).lines().any(|l| l.starts_with(".TH "));
    assert!(is_page(&support::ovftool(&["man"])));
    for c in commands().iter().map(String::as_str) {
        let o = support::ovftool(&["man", c]);
        assert!(is_page(&o), "man {c}: {}", text(&o.stderr));
        assert!(text(&o.stdout).contains("Examples:"), "man {c}");
    }
    assert_eq!(support::ovftool(&["man", "bogus"]).status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    ok(&support::ovftool(&["man", "--dir", out.to_str().unwrap()]));
    for c in commands().iter().map(String::as_str) {
        let page = std::fs::read_to_string(out.join(format!("ovftool-rs-{c}.1"))).unwrap();
        assert!(page.contains(".TH"), "{c}");
    }
    assert!(out.join("ovftool-rs.1").is_file());
    // Existing pages are replaced only with --force.
    let again = support::ovftool(&["man", "--dir", out.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again.stderr));
    ok(&support::ovftool(&[
        "man",
        "--dir",
        out.to_str().unwrap(),
        "--force",
    ]));
}

#[test]
fn every_command_has_examples_and_a_version_flag() {
    let top = support::ovftool(&["--help"]);
    ok(&top);
    let top = text(&top.stdout);
    assert!(top.contains("Exit codes:"), "{top}");
    for code in ["0  success", "1  the input failed", "2  usage error"] {
        assert!(top.contains(code), "{top}");
    }
    for c in commands().iter().map(String::as_str) {
        let o = support::ovftool(&[c, "--help"]);
        ok(&o);
        let help = text(&o.stdout);
        let examples = help
            .rfind("Examples:")
            .unwrap_or_else(|| panic!("{c}: {help}"));
        let lines = help[examples..]
            .lines()
            .filter(|l| l.trim_start().starts_with("ovftool-rs ") || l.contains("| ovftool-rs"))
            .count();
        assert!((2..=4).contains(&lines), "{c}: {lines} examples");
        for v in ["-V", "--version"] {
            let o = support::ovftool(&[c, v]);
            ok(&o);
            assert!(
                text(&o.stdout).contains(env!("CARGO_PKG_VERSION")),
                "{c} {v}"
            );
        }
    }
}

/// Every `.vmx` under `dir`, by file name, as text.
fn vmx_files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(vmx_files(&p));
        } else if p.extension().is_some_and(|x| x == "vmx") {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, std::fs::read_to_string(&p).unwrap()));
        }
    }
    out.sort();
    out
}

fn import(args: &[&str], target: &Path) -> Vec<(String, String)> {
    let sample = support::samples().join("appliance.ova");
    let mut all: Vec<&str> = vec!["import", "--quiet"];
    all.extend(args);
    all.push(sample.to_str().unwrap());
    all.push(target.to_str().unwrap());
    ok(&support::ovftool(&all));
    vmx_files(target)
}

#[test]
fn an_options_file_round_trips_to_the_same_import_as_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sample = support::samples().join("appliance.ova");
    let spec = d.join("spec.json");
    ok(&support::ovftool(&[
        "import",
        "--spec-out",
        spec.to_str().unwrap(),
        sample.to_str().unwrap(),
    ]));
    // Written again without --force: refused, the file kept.
    let again = support::ovftool(&[
        "import",
        "--spec-out",
        spec.to_str().unwrap(),
        sample.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2));
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&spec).unwrap()).unwrap();
    assert_eq!(v["disk_mode"], "thin");
    assert_eq!(v["networks"][0]["name"], "VM Network");
    let props = v["properties"].as_array().unwrap();
    let host = props
        .iter()
        .position(|p| p["key"] == "guestinfo.hostname")
        .expect("the sample's hostname property");
    assert_eq!(v["properties"][host]["type"], "string");
    assert_eq!(v["properties"][host]["value"], serde_json::Value::Null);

    // The file as written imports as no file does (the EULA accepted either way).
    let plain = import(&["--accept-all-eulas"], &d.join("plain"));
    let unedited = import(
        &["--options", spec.to_str().unwrap(), "--accept-all-eulas"],
        &d.join("unedited"),
    );
    assert_eq!(plain, unedited);

    // Edited: the same import as the equivalent flags.
    v["properties"][host]["value"] = "from-spec".into();
    v["networks"][0]["target"] = "prod".into();
    v["disk_mode"] = "eagerZeroedThick".into();
    v["accept_all_eulas"] = true.into();
    std::fs::write(&spec, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let flags = import(
        &[
            "--accept-all-eulas",
            "--disk-mode",
            "eager-zeroed-thick",
            "--net",
            "VM Network=prod",
            "--prop",
            "guestinfo.hostname=from-spec",
        ],
        &d.join("flags"),
    );
    let file = import(&["--options", spec.to_str().unwrap()], &d.join("file"));
    assert_eq!(flags, file);
    assert!(file[0].1.contains("from-spec") && file[0].1.contains("prod"));
    assert_ne!(flags, plain);

    // The command line wins over the file.
    let over = import(
        &[
            "--options",
            spec.to_str().unwrap(),
            "--prop",
            "guestinfo.hostname=from-cli",
        ],
        &d.join("over"),
    );
    assert!(over[0].1.contains("from-cli") && !over[0].1.contains("from-spec"));

    // An unknown key is an error naming it; nothing is imported.
    v["properties"][host]["vaule"] = "typo".into();
    std::fs::write(&spec, serde_json::to_string(&v).unwrap()).unwrap();
    let bad = d.join("bad");
    let o = support::ovftool(&[
        "import",
        "--options",
        spec.to_str().unwrap(),
        sample.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("vaule"), "{}", text(&o.stderr));
    assert!(!bad.exists());
}

#[test]
fn json_progress_events_parse_and_end_at_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("d.raw");
    let mut bytes = vec![0u8; 24 << 20];
    support::Rng(14).fill(&mut bytes[3 << 20..9 << 20]);
    std::fs::write(&raw, &bytes).unwrap();
    for (i, flag) in ["--json-progress", "--machine-output"].iter().enumerate() {
        let out = dir.path().join(format!("d{i}.vmdk"));
        let o = support::ovftool(&[
            flag,
            "--json",
            "convert",
            raw.to_str().unwrap(),
            out.to_str().unwrap(),
            "--to",
            "stream-optimized",
        ]);
        ok(&o);
        // Standard output holds the report alone.
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(report["ok"], true);
        let events: Vec<serde_json::Value> = text(&o.stderr)
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(events.len() >= 2, "{}", text(&o.stderr));
        assert_eq!(events[0]["event"], "start");
        assert_eq!(events[0]["phase"], "convert");
        assert_eq!(events[0]["file"], format!("d{i}.vmdk"));
        let mut last = 0;
        for e in &events {
            let done = e["bytes_done"].as_u64().unwrap();
            assert!(done >= last, "bytes_done went back: {events:?}");
            assert_eq!(e["bytes_total"], bytes.len() as u64);
            last = done;
        }
        let end = events.last().unwrap();
        assert_eq!(end["event"], "finish");
        assert_eq!(end["bytes_done"], bytes.len() as u64);
    }
    // A package: one phase per file, each ending at its total.
    let o = support::ovftool(&[
        "--json-progress",
        "verify",
        support::samples().join("appliance.ova").to_str().unwrap(),
    ]);
    ok(&o);
    let finishes: Vec<serde_json::Value> = text(&o.stderr)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "finish")
        .collect();
    assert!(!finishes.is_empty());
    for f in finishes {
        assert_eq!(f["bytes_done"], f["bytes_total"], "{f}");
    }
}

#[test]
fn logs_go_to_stderr_or_the_log_file_never_stdout() {
    let sample = support::samples().join("appliance.ova");
    let sample = sample.to_str().unwrap();
    let quiet = support::ovftool(&["--json", "verify", sample]);
    ok(&quiet);
    assert!(!text(&quiet.stderr).contains("INFO"), "off by default");
    let o = support::ovftool(&["-vv", "--json", "verify", sample]);
    ok(&o);
    // Standard output is the JSON report and nothing else.
    let _: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.stdout, quiet.stdout);
    assert!(
        text(&o.stderr).contains("verify: open package"),
        "{}",
        text(&o.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    let o = support::ovftool(&["--log-file", log.to_str().unwrap(), "-v", "verify", sample]);
    ok(&o);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("verify: open package"), "{logged}");
    assert!(!text(&o.stderr).contains("verify: open package"));
    assert!(!text(&o.stdout).contains("verify: open package"));
}

/// `--sync` flushes the output before its rename; without it a new output is published
/// without a flush, as `cp` does (see `output::Durability`). Counted with strace.
#[test]
fn sync_flag_decides_whether_a_new_output_is_flushed() {
    if !support::have_tool("strace") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let probe = std::process::Command::new("strace")
        .args(["-f", "-o"])
        .arg(dir.path().join("probe"))
        .arg("true")
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("SKIP: strace cannot trace here (ptrace not permitted)");
        return;
    }
    let sample = support::samples().join("appliance.ova");
    let fsyncs = |sync: bool, out: &std::path::Path| -> usize {
        let log = dir.path().join(format!("trace-{sync}"));
        let mut args = vec![
            "-f",
            "-e",
            "trace=fsync,fdatasync",
            "-o",
            log.to_str().unwrap(),
        ];
        let bin = support::bin();
        args.push(bin.to_str().unwrap());
        if sync {
            args.push("--sync");
        }
        args.extend(["edit", sample.to_str().unwrap(), out.to_str().unwrap()]);
        args.extend(["--product-version", "9.9"]);
        let o = std::process::Command::new("strace")
            .args(&args)
            .output()
            .unwrap();
        ok(&o);
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .filter(|l| l.contains("fsync(") || l.contains("fdatasync("))
            .count()
    };
    let plain = dir.path().join("plain.ova");
    let synced = dir.path().join("synced.ova");
    assert_eq!(
        fsyncs(false, &plain),
        0,
        "a new output is not flushed by default"
    );
    assert!(
        fsyncs(true, &synced) >= 2,
        "--sync flushes the output and its folder"
    );
    for out in [&plain, &synced] {
        ok(&support::ovftool(&["verify", out.to_str().unwrap()]));
    }
}
