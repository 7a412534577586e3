//! Output helpers shared by the subcommands: JSON/text printing that tolerates a closed pipe,
//! error reporting, and the indicatif adapter for the library's progress trait.
#![allow(dead_code)] // some helpers are used only by subcommands still being built

use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ovftool::progress::{NoProgress, Progress};

/// How a subcommand ended when it did not fail with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything held (exit 0).
    Ok,
    /// The input failed validation or verification (exit 1); findings were already printed.
    Failed,
}

/// Output settings of one invocation.
#[derive(Debug)]
pub struct Ui {
    /// `--json`: machine output on stdout.
    pub json: bool,
    /// `--quiet`: no progress and no informational messages.
    pub quiet: bool,
}

impl Ui {
    pub fn new(json: bool, quiet: bool) -> Self {
        Ui { json, quiet }
    }

    /// Prints a line on stdout; a closed pipe (`| head`) is not an error.
    pub fn println(&self, line: &str) {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }

    /// Prints a JSON document on stdout (pretty, one document per invocation).
    pub fn print_json(&self, value: &serde_json::Value) {
        let mut out = io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut out, value);
        let _ = writeln!(out);
    }

    /// An informational message on stderr, unless `--quiet` or `--json`.
    pub fn note(&self, line: &str) {
        if !self.quiet && !self.json {
            let _ = writeln!(io::stderr().lock(), "{line}");
        }
    }

    /// A warning on stderr (always, unless `--quiet`).
    pub fn warn(&self, line: &str) {
        if !self.quiet {
            let _ = writeln!(io::stderr().lock(), "warning: {line}");
        }
    }

    /// Prints an error and its cause chain once, on stderr; with `--json` also as a JSON object
    /// on stdout (`{"ok": false, "error": {...}}`).
    pub fn report_error(&self, e: &ovftool::Error) {
        let mut chain = Vec::new();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            chain.push(s.to_string());
            source = s.source();
        }
        {
            let mut err = io::stderr().lock();
            let _ = writeln!(err, "ovftool-rs: error: {e}");
            for c in &chain {
                let _ = writeln!(err, "  caused by: {c}");
            }
        }
        if self.json {
            let loc = e.location();
            self.print_json(&serde_json::json!({
                "ok": false,
                "error": {
                    "kind": e.kind().code(),
                    "message": e.message(),
                    "path": loc.path.as_ref().map(|p| p.display().to_string()),
                    "entry": loc.entry,
                    "offset": loc.offset,
                    "line": loc.line_col.map(|l| l.0),
                    "column": loc.line_col.map(|l| l.1),
                    "causes": chain,
                }
            }));
        }
    }

    /// A progress reporter: JSON events with `--json-progress`, indicatif bars on a terminal
    /// stderr, nothing otherwise.
    pub fn progress(&self) -> Box<dyn Progress> {
        // `--json-progress` wins over bars, `--quiet` and `--json`: it was asked for by name.
        if let Some(sink) = crate::progress_json::sink() {
            return sink;
        }
        if self.quiet || self.json || !io::stderr().is_terminal() {
            return Box::new(NoProgress);
        }
        Box::new(Bars {
            bar: Mutex::new(None),
        })
    }
}

/// indicatif adapter for [`Progress`].
struct Bars {
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress for Bars {
    fn start(&self, label: &str, total: Option<u64>) {
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let style = if total.is_some() {
            ProgressStyle::with_template(
                "{msg:24!} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
            )
        } else {
            ProgressStyle::with_template("{msg:24!} {spinner} {bytes} {binary_bytes_per_sec}")
        };
        if let Ok(style) = style {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(old) = slot.replace(bar) {
                old.finish_and_clear();
            }
        }
    }

    fn advance(&self, delta: u64) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.inc(delta);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }
}
