//! `completions` and `man`: shell completion scripts (clap_complete) and roff man pages
//! (clap_mangen), both generated from the one clap definition of the command line, so they
//! cannot drift from what the parser accepts.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use ovftool::Error;

use crate::ui::Outcome;
use crate::Cli;

/// Arguments of `completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Arguments of `man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// A command (import, export...) whose page to print; default: the top-level page.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
    /// Write every page (ovftool-rs.1 and ovftool-rs-COMMAND.1) into DIR instead of printing.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub dir: Option<PathBuf>,
    /// Replace pages that exist in DIR.
    #[arg(long, alias = "overwrite", requires = "dir")]
    pub force: bool,
}

/// The complete command definition, with the subcommands' display names
/// (`ovftool-rs-import`) filled in by clap.
fn full_command() -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

fn write_out(what: &str, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> ovftool::Result<()> {
    let mut out = io::stdout().lock();
    match f(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // `| head` closing the pipe early is not an error (as everywhere in this binary).
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io(format!("cannot write {what}"), e)),
    }
}

/// `ovftool-rs completions SHELL`.
pub fn completions(args: CompletionsArgs) -> ovftool::Result<Outcome> {
    let mut cmd = Cli::command();
    write_out("the completion script", |out| {
        clap_complete::generate(args.shell, &mut cmd, "ovftool-rs", out);
        Ok(())
    })?;
    Ok(Outcome::Ok)
}

fn render(cmd: &clap::Command, out: &mut dyn Write) -> io::Result<()> {
    clap_mangen::Man::new(cmd.clone()).render(out)
}

fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name().unwrap_or(cmd.get_name()).to_string()
}

fn write_all(cmd: &clap::Command, dir: &Path, force: bool) -> ovftool::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io("cannot create the man page folder", e).with_path(dir))?;
    let pages =
        std::iter::once(cmd).chain(cmd.get_subcommands().filter(|c| c.get_name() != "help"));
    for page in pages {
        let path = dir.join(format!("{}.1", page_name(page)));
        let mut tmp = tempfile::Builder::new()
            .prefix(".ovftool-man")
            .tempfile_in(dir)
            .map_err(|e| Error::io("cannot create a man page", e).with_path(&path))?;
        render(page, tmp.as_file_mut())
            .map_err(|e| Error::io("cannot write the man page", e).with_path(&path))?;
        // Published whole under its name, and never over an existing page without --force.
        let published = if force {
            tmp.persist(&path).map(drop)
        } else {
            tmp.persist_noclobber(&path).map(drop)
        };
        published.map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                Error::new(
                    ovftool::ErrorKind::AlreadyExists,
                    "the man page exists (use --force to replace it)",
                )
                .with_path(&path)
            } else {
                Error::io("cannot write the man page", e.error).with_path(&path)
            }
        })?;
    }
    Ok(())
}

/// `ovftool-rs man [COMMAND]` and `ovftool-rs man --dir DIR`.
pub fn man(args: ManArgs) -> ovftool::Result<Outcome> {
    let cmd = full_command();
    if let Some(dir) = &args.dir {
        write_all(&cmd, dir, args.force)?;
        return Ok(Outcome::Ok);
    }
    let page = match &args.command {
        None => &cmd,
        Some(name) => cmd.find_subcommand(name).ok_or_else(|| {
            let names: Vec<&str> = cmd
                .get_subcommands()
                .map(|c| c.get_name())
                .filter(|n| *n != "help")
                .collect();
            Error::usage(format!(
                "man: expected one of {}, found {name:?}",
                names.join(", ")
            ))
        })?,
    };
    write_out("the man page", |out| render(page, out))?;
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_completion_script() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::PowerShell,
            Shell::Elvish,
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ovftool-rs", &mut out);
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains("import"), "{shell}");
            assert!(text.contains("convert"), "{shell}");
        }
    }

    #[test]
    fn bash_completion_offers_the_layouts_of_convert() {
        let mut out = Vec::new();
        clap_complete::generate(Shell::Bash, &mut Cli::command(), "ovftool-rs", &mut out);
        let text = String::from_utf8(out).unwrap();
        for l in [
            "stream-optimized",
            "eager-zeroed-thick",
            "two-gb-sparse",
            "raw",
        ] {
            assert!(text.contains(l), "{l}");
        }
    }

    #[test]
    fn every_command_has_a_man_page_with_its_examples() {
        let cmd = full_command();
        let mut top = Vec::new();
        render(&cmd, &mut top).unwrap();
        let top = String::from_utf8(top).unwrap();
        assert!(top.lines().any(|l| l.starts_with(".TH ")), "{top}");
        assert!(top.contains("ovftool\\-rs"));
        let mut n = 0;
        for sub in cmd.get_subcommands().filter(|c| c.get_name() != "help") {
            let mut page = Vec::new();
            render(sub, &mut page).unwrap();
            let page = String::from_utf8(page).unwrap();
            assert!(page.lines().any(|l| l.starts_with(".TH ")), "{page}");
            assert!(page.contains("Examples:"), "{}", sub.get_name());
            assert_eq!(page_name(sub), format!("ovftool-rs-{}", sub.get_name()));
            n += 1;
        }
        assert!(n >= 10, "{n} pages");
    }
}
