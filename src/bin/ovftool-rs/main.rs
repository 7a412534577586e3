//! `ovftool-rs`: the command-line front end of the `ovftool` library.
//!
//! `main` → `run` → `ExitCode`. Exit codes: 0 ok, 1 the input failed validation or verification,
//! 2 usage, I/O or other operational error. The library does the work; this binary only parses
//! arguments, prints, and adapts progress reporting to indicatif.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
// Doc comments of the clap arguments are --help text (`vi://[USER[:PASSWORD]@]HOST`,
// `TARGET_DIR/<vapp>/`), not rustdoc markup.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

mod convert;
mod deploy;
mod diff;
mod edit;
mod export;
mod help;
mod import;
mod info;
mod info_disk;
mod info_file;
mod info_ovf;
mod info_vmx;
mod logging;
mod manpage;
mod pack;
mod progress_json;
mod retarget;
mod spec;
mod ui;
mod unpack;
mod validate;
mod values;
mod verify;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};

use ui::{Outcome, Ui};

/// OVF/OVA packaging toolkit: import, export, verify, pack, unpack and convert virtual appliances.
///
/// Exit codes: 0 ok; 1 the input failed validation or verification; 2 usage or I/O error.
#[derive(Debug, Parser)]
#[command(
    name = "ovftool-rs",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = help::TOP
)]
struct Cli {
    /// Machine-readable JSON on standard output instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// No progress bars and no informational messages on standard error.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Log what the library does on standard error: -v for the main steps, -vv for details
    /// (never on standard output).
    #[arg(long, short, global = true, action = ArgAction::Count)]
    verbose: u8,
    /// Append the log to FILE instead of standard error (at least the main steps; more with
    /// -vv). ovftool's --X:logFile is accepted.
    #[arg(long, global = true, value_name = "FILE", alias = "X:logFile")]
    log_file: Option<PathBuf>,
    /// Newline-delimited JSON progress events on standard error (phase, file, bytes done and
    /// total), for GUIs and CI logs; schema in docs/JSON.md ("Progress events").
    #[arg(
        long,
        global = true,
        visible_alias = "machine-output",
        alias = "machineOutput"
    )]
    json_progress: bool,
    /// Flush every output to stable storage before reporting success, so it survives a power
    /// loss right after the command (slower: the data is written to the disk, not only to the
    /// page cache). Without it, only an output that replaces an existing one is flushed, and
    /// outputs appear by rename only when complete either way.
    #[arg(long, global = true)]
    sync: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what an OVF descriptor, OVA package or virtual disk contains.
    #[command(after_help = help::INFO)]
    Info(info::Args),
    /// Check an OVF descriptor (no disk reading).
    #[command(after_help = help::VALIDATE)]
    Validate(validate::Args),
    /// Verify an OVA, OVF package or folder: structure, manifest, signature, descriptor, disks.
    #[command(after_help = help::VERIFY)]
    Verify(verify::Args),
    /// Import an OVA/OVF as a VMware VM folder (.vmx plus disks).
    #[command(after_help = help::IMPORT)]
    Import(Box<import::Args>),
    /// Export a VM (.vmx/.vmtx or its folder) as an OVA or OVF package.
    #[command(after_help = help::EXPORT)]
    Export(Box<export::Args>),
    /// Pack an OVF package (folder or .ovf) into an OVA, writing the manifest.
    #[command(after_help = help::PACK)]
    Pack(pack::Args),
    /// Unpack an OVA into a folder, verifying while extracting.
    #[command(after_help = help::UNPACK)]
    Unpack(unpack::Args),
    /// Convert a virtual disk (VMDK, qcow2 or raw) between layouts (streamOptimized, sparse, flat,
    /// thin, thick, raw).
    #[command(after_help = help::CONVERT)]
    Convert(convert::Args),
    /// Change a package's product fields, properties, EULA, hardware, networks or files.
    #[command(after_help = help::EDIT)]
    Edit(Box<edit::Args>),
    /// Make a package acceptable to a hypervisor (ESXi, Workstation, VirtualBox).
    #[command(after_help = help::RETARGET)]
    Retarget(retarget::Args),
    /// Show what differs between two packages (descriptor and disk data) or two disks.
    #[command(after_help = help::DIFF)]
    Diff(diff::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on standard output.
    #[command(after_help = help::COMPLETIONS)]
    Completions(manpage::CompletionsArgs),
    /// Print the man page (roff) of ovftool-rs or of one of its commands, or write them all.
    #[command(after_help = help::MAN)]
    Man(manpage::ManArgs),
}

impl Command {
    /// The subcommand's name, as the JSON progress events' `phase`.
    fn name(&self) -> &'static str {
        match self {
            Command::Info(_) => "info",
            Command::Validate(_) => "validate",
            Command::Verify(_) => "verify",
            Command::Import(_) => "import",
            Command::Export(_) => "export",
            Command::Pack(_) => "pack",
            Command::Unpack(_) => "unpack",
            Command::Convert(_) => "convert",
            Command::Edit(_) => "edit",
            Command::Retarget(_) => "retarget",
            Command::Diff(_) => "diff",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
        }
    }
}

/// ovftool writes per-key options with a colon: `--net:"VM Network"=dvs-1`,
/// `--prop:hostname=web1`. They become `--net VM Network=dvs-1` and `--prop hostname=web1`,
/// so that scripts written for ovftool work unchanged. Arguments after `--` are left alone.
fn ovftool_colon_syntax(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    const KEYED: &[&str] = &["--net:", "--prop:"];
    let mut out = Vec::new();
    let mut options_done = false;
    for a in args {
        if options_done {
            out.push(a);
            continue;
        }
        if a == "--" {
            options_done = true;
            out.push(a);
            continue;
        }
        // ovftool's single-dash `-ds=NAME` / `-ds NAME` (clap has no multi-letter short options).
        if let Some(s) = a.to_str().filter(|s| *s == "-ds" || s.starts_with("-ds=")) {
            out.push(OsString::from(format!("--datastore{}", &s[3..])));
            continue;
        }
        let split = a.to_str().and_then(|s| {
            KEYED.iter().find_map(|k| {
                s.strip_prefix(k)
                    .map(|rest| (OsString::from(&k[..k.len() - 1]), OsString::from(rest)))
            })
        });
        match split {
            Some((opt, value)) => {
                out.push(opt);
                out.push(value);
            }
            None => out.push(a),
        }
    }
    out
}

/// The subcommand names, as the `--json` envelope names them.
const COMMANDS: &[&str] = &[
    "info",
    "validate",
    "verify",
    "import",
    "export",
    "pack",
    "unpack",
    "convert",
    "edit",
    "retarget",
    "diff",
    "completions",
    "man",
];

/// A command line clap refused. With `--json` among the options the error is one JSON document
/// on stdout (`error.kind` = `usage`), as for every other error; help and version are printed
/// as text either way.
fn usage_error(e: &clap::Error, args: &[OsString]) -> ExitCode {
    if !e.use_stderr() {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let options = args.iter().skip(1).take_while(|a| a.as_os_str() != "--");
    let mut json = false;
    let mut command = "ovftool-rs";
    for a in options {
        if a.as_os_str() == "--json" {
            json = true;
        } else if let Some(c) = COMMANDS.iter().find(|c| a.as_os_str() == **c) {
            if command == "ovftool-rs" {
                command = c;
            }
        }
    }
    let _ = e.print();
    if json {
        let message = e.render().to_string();
        let first = message.lines().next().unwrap_or_default();
        let error = serde_json::json!({
            "kind": "usage",
            "message": first.strip_prefix("error: ").unwrap_or(first),
            "path": null,
            "entry": null,
            "offset": null,
            "line": null,
            "column": null,
            "causes": [],
            "usage": message,
        });
        Ui::new(true, true).for_command(command).print_envelope(
            false,
            serde_json::json!({ "error": error }),
            Vec::new(),
            Vec::new(),
        );
    }
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args = ovftool_colon_syntax(std::env::args_os());
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, &args),
    };
    let ui = Ui::new(cli.json, cli.quiet).for_command(cli.command.name());
    if let Err(e) = logging::init(cli.verbose, cli.log_file.as_deref()) {
        ui.report_error(&e);
        return ExitCode::from(2);
    }
    if cli.json_progress {
        progress_json::enable(cli.command.name());
    }
    if cli.sync {
        ovftool::output::set_durability(ovftool::output::Durability::Always);
    }
    remove_partials_on_signal();
    match run(cli.command, &ui) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(e) => {
            ui.report_error(&e);
            ExitCode::from(if e.kind().is_input_failure() { 1 } else { 2 })
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP remove every partial output and every folder created for one
/// (`ovftool::output::abandon_all`), then exit 128 + the signal (130, 143, 129), as a shell
/// reports a process killed by it. Handled on a thread of signal-hook's, not in a raw handler.
fn remove_partials_on_signal() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            ovftool::output::abandon_all();
            // A deploy in flight aborts its lease and removes the VM it created.
            let undone = ovftool::output::wait_for_remote_work(std::time::Duration::from_secs(60));
            if !undone {
                eprintln!(
                    "ovftool-rs: the server did not answer in time; a half-deployed VM may be left"
                );
            }
            eprintln!("ovftool-rs: interrupted (signal {sig}); partial outputs removed");
            std::process::exit(128 + sig);
        }
    });
}

fn run(command: Command, ui: &Ui) -> ovftool::Result<Outcome> {
    match command {
        Command::Info(a) => info::run(a, ui),
        Command::Validate(a) => validate::run(a, ui),
        Command::Verify(a) => verify::run(a, ui),
        Command::Import(a) => import::run(*a, ui),
        Command::Export(a) => export::run(*a, ui),
        Command::Pack(a) => pack::run(a, ui),
        Command::Unpack(a) => unpack::run(a, ui),
        Command::Convert(a) => convert::run(a, ui),
        Command::Edit(a) => edit::run(*a, ui),
        Command::Retarget(a) => retarget::run(a, ui),
        Command::Diff(a) => diff::run(a, ui),
        Command::Completions(a) => manpage::completions(a),
        Command::Man(a) => manpage::man(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(args: &[&str]) -> Vec<String> {
        ovftool_colon_syntax(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn command_names_are_clap_subcommands() {
        use clap::CommandFactory;
        let cli = Cli::command();
        let clap_names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
        assert_eq!(clap_names, COMMANDS);
    }

    #[test]
    fn colon_options_become_key_value_pairs() {
        assert_eq!(
            rewrite(&[
                "x",
                "import",
                "--net:VM Network=dvs-1",
                "--prop:a=b:c",
                "a.ova",
                "d"
            ]),
            [
                "x",
                "import",
                "--net",
                "VM Network=dvs-1",
                "--prop",
                "a=b:c",
                "a.ova",
                "d"
            ]
        );
        assert_eq!(
            rewrite(&["x", "import", "--", "--net:a=b"]),
            ["x", "import", "--", "--net:a=b"]
        );
        assert_eq!(rewrite(&["x", "--network:a"]), ["x", "--network:a"]);
        assert_eq!(
            rewrite(&["x", "-ds=LocalDS_0", "-ds", "b"]),
            ["x", "--datastore=LocalDS_0", "--datastore", "b"]
        );
    }
}
