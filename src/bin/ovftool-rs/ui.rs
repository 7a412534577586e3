//! Output helpers shared by the subcommands: JSON/text printing that tolerates a closed pipe,
//! error reporting, and the indicatif adapter for the library's progress trait.
#![allow(dead_code)] // some helpers are used only by subcommands still being built

use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use ovftool::progress::{NoProgress, Progress};

/// How a subcommand ended when it did not fail with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything held (exit 0).
    Ok,
    /// The input failed validation or verification (exit 1); findings were already printed.
    Failed,
}

/// Version of the `--json` envelope (docs/JSON.md).
pub const JSON_SCHEMA: u32 = 1;

/// One finding or warning in `--json` output: the one shape every command uses
/// (docs/JSON.md §Findings and warnings).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Note {
    /// Stable kebab-case identifier.
    pub code: String,
    /// `error` or `warning`.
    pub severity: &'static str,
    /// What it is about (a package member, an element path, a device), when known.
    pub subject: Option<String>,
    /// What is wrong or what happened, in words.
    pub message: String,
    /// The flag that would make this error a warning, if any (as on errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<FlagHint>,
}

impl Note {
    /// A warning about what the command did (not a finding about the input).
    pub fn warning(code: &str, subject: Option<String>, message: impl Into<String>) -> Note {
        Note {
            code: code.to_string(),
            severity: "warning",
            subject,
            message: message.into(),
            hint: None,
        }
    }
}

/// A report as a JSON value; paths in library reports serialize without failing
/// (`ovftool::json_path`), so an error here is a bug reported as such, not a panic.
pub fn to_json<T: serde::Serialize>(value: &T) -> ovftool::Result<serde_json::Value> {
    serde_json::to_value(value)
        .map_err(|e| ovftool::Error::usage(format!("cannot encode the report as JSON: {e}")))
}

/// A path in JSON: a string, or `{lossy, bytes_hex}` when not UTF-8 (`ovftool::json_path`).
pub fn path_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::to_value(ovftool::json_path::JsonPath::new(path)).unwrap_or_default()
}

/// Output settings of one invocation.
#[derive(Debug)]
pub struct Ui {
    /// `--json`: machine output on stdout.
    pub json: bool,
    /// `--quiet`: no progress and no informational messages.
    pub quiet: bool,
    /// The subcommand, as named in the `--json` envelope.
    pub command: &'static str,
}

impl Ui {
    pub fn new(json: bool, quiet: bool) -> Self {
        Ui {
            json,
            quiet,
            command: "ovftool-rs",
        }
    }

    /// The same settings for `command`.
    pub fn for_command(self, command: &'static str) -> Self {
        Ui { command, ..self }
    }

    /// Prints the one `--json` document of a command: `{"schema", "command", "ok", ...the
    /// fields of `report` (an object)..., "findings", "warnings"}`.
    pub fn print_envelope(
        &self,
        ok: bool,
        report: serde_json::Value,
        findings: Vec<Note>,
        warnings: Vec<Note>,
    ) {
        self.print_json(&envelope(self.command, ok, report, findings, warnings));
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

    /// The flag that would change what a warning said, on stderr (always, unless `--quiet`).
    pub fn hint(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(io::stderr().lock(), "hint: {text}");
        }
    }

    /// Prints an error, its cause chain and the flag that avoids it once, on stderr; with `--json` also as the command's
    /// JSON document on stdout (`{"schema", "command", "ok": false, "error": {...}, ...}`).
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
            // The library names what is wrong; the flag that changes it is the CLI's to say.
            if let Some(hint) = error_hint(e) {
                let _ = writeln!(err, "  hint: {}", hint.text);
            }
        }
        if self.json {
            let loc = e.location();
            let error = serde_json::json!({
                "kind": e.kind().code(),
                "message": e.message(),
                "path": loc.path.as_deref().map(path_json),
                "entry": loc.entry,
                "offset": loc.offset,
                "line": loc.line_col.map(|l| l.0),
                "column": loc.line_col.map(|l| l.1),
                "causes": chain,
                "hint": error_hint(e),
            });
            self.print_envelope(
                false,
                serde_json::json!({ "error": error }),
                Vec::new(),
                Vec::new(),
            );
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
            overall: None,
        })
    }

    /// Like [`Ui::progress`], with an overall bar under the per-file ones (`label`, `total`
    /// bytes of the whole package when known) that every file's progress also advances.
    pub fn progress_overall(&self, label: &str, total: Option<u64>) -> Box<dyn Progress> {
        if crate::progress_json::sink().is_some()
            || self.quiet
            || self.json
            || !io::stderr().is_terminal()
        {
            return self.progress();
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let bar = multi.add(new_bar(label, total));
        Box::new(Bars {
            bar: Mutex::new(None),
            overall: Some((multi, bar)),
        })
    }
}

/// A bar of `total` bytes (a spinner when unknown) named `label`.
fn new_bar(label: &str, total: Option<u64>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
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
    bar
}

/// The shared top level of every `--json` document (docs/JSON.md).
pub fn envelope(
    command: &str,
    ok: bool,
    report: serde_json::Value,
    findings: Vec<Note>,
    warnings: Vec<Note>,
) -> serde_json::Value {
    let mut top = serde_json::Map::new();
    top.insert("schema".into(), JSON_SCHEMA.into());
    top.insert("command".into(), command.into());
    top.insert("ok".into(), ok.into());
    if let serde_json::Value::Object(fields) = report {
        for (k, v) in fields {
            if !matches!(
                k.as_str(),
                "schema" | "command" | "ok" | "findings" | "warnings"
            ) {
                top.insert(k, v);
            }
        }
    }
    let list = |notes: Vec<Note>| {
        serde_json::Value::Array(
            notes
                .iter()
                .map(|n| serde_json::to_value(n).unwrap_or_default())
                .collect(),
        )
    };
    top.insert("findings".into(), list(findings));
    top.insert("warnings".into(), list(warnings));
    serde_json::Value::Object(top)
}

/// indicatif adapter for [`Progress`].
struct Bars {
    bar: Mutex<Option<ProgressBar>>,
    /// The overall bar, below the per-file bar, when asked for ([`Ui::progress_overall`]).
    overall: Option<(MultiProgress, ProgressBar)>,
}

impl Drop for Bars {
    fn drop(&mut self) {
        if let Some((_, bar)) = &self.overall {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bars {
    fn start(&self, label: &str, total: Option<u64>) {
        let mut bar = new_bar(label, total);
        if let Some((multi, overall)) = &self.overall {
            bar = multi.insert_before(overall, bar);
        }
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
        if let Some((_, overall)) = &self.overall {
            overall.inc(delta);
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

/// The flag that changes an outcome: the CLI's spelling of a library [`ovftool::Hint`]
/// (`"hint"` in `--json` output, docs/JSON.md §Errors).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlagHint {
    /// The flag, as typed (`--force`).
    pub flag: &'static str,
    /// What to do, in words that name the flag.
    pub text: String,
}

/// The flag that avoids `e`, if any.
pub fn error_hint(e: &ovftool::Error) -> Option<FlagHint> {
    if e.kind() == ovftool::ErrorKind::AlreadyExists {
        return flag_hint(&ovftool::Hint::Force);
    }
    flag_hint(e.hint()?)
}

/// The CLI's spelling of the library's [`ovftool::Hint`].
pub fn flag_hint(hint: &ovftool::Hint) -> Option<FlagHint> {
    use ovftool::Hint;
    let (flag, text) = match hint {
        Hint::Force => ("--force", "--force replaces it".to_string()),
        Hint::AllowLocked => ("--force", "--force exports it anyway".to_string()),
        Hint::Lax => ("--lax", "--lax accepts it".to_string()),
        Hint::SkipManifestCheck => (
            "--skip-manifest-check",
            "--skip-manifest-check accepts it".to_string(),
        ),
        Hint::ChooseVm => ("--vm", "choose one with --vm ID".to_string()),
        Hint::AcceptEulas => (
            "--accept-all-eulas",
            "--accept-all-eulas accepts the license agreements".to_string(),
        ),
        Hint::AllowExtraConfig => (
            "--allow-extra-config",
            "--allow-extra-config writes extra configuration that is not on the safe list"
                .to_string(),
        ),
        Hint::Resign => (
            "--sign",
            "--sign KEY --cert CERT signs it again; --unsign drops the signature".to_string(),
        ),
        Hint::PinThumbprint(t) => (
            "--thumbprint",
            format!(
                "if this is the host's certificate, pin it with --thumbprint {t} (or skip the check with --no-ssl-verify)"
            ),
        ),
        _ => return None,
    };
    Some(FlagHint { flag, text })
}

/// `text` fit for a terminal: control characters (an escape sequence in a file name or a
/// certificate subject) are shown escaped, never sent raw.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
