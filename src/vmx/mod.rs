//! The `.vmx` / `.vmtx` configuration file: an ordered `key = "value"` file that keeps order,
//! comments, blank lines, unknown keys and the original spelling of every line.
//!
//! Syntax (docs/FORMATS.md §7.1; libvirt `vmx.c`; VMware's dictionary files):
//!
//! * one `key = "value"` per line; `#` starts a comment outside quotes; blank lines are kept;
//! * keys are case-insensitive (`memSize`, `MEMSIZE`, `memsize` are one key), the last
//!   occurrence wins, the original spelling is kept on write;
//! * values are quoted with `"`; a `"`, a `|` or a control character inside a value is written
//!   as a pipe-hex escape `|XX` (`|22`, `|7C`, `|0A`), which [`Vmx::get`] decodes for every key;
//!   `displayName` may also carry `%XX` escapes (libvirt `virVMXUnescapeHexPercent`);
//! * booleans are `TRUE`/`FALSE` in any case;
//! * `.encoding` names the character set: UTF-8 (modern files) or a legacy one (decoded as
//!   windows-1252, best effort, and written back in it).
//!
//! A file that was parsed and not edited is written back byte for byte. `.vmtx` templates use
//! the same syntax.
//!
//! Tolerance: like VMware, unquoted values (`memsize = 512`), a UTF-8 byte-order mark, CRLF line
//! ends, whitespace around `=` and a missing final newline are accepted. A line without `=`, an
//! empty key or an unterminated quote is an error naming the line (or, with
//! [`Vmx::parse_lax`], a warning; the line is kept verbatim).
//!
//! ```
//! use ovftool::vm::Machine;
//! use ovftool::vmx::Vmx;
//!
//! let mut vmx = Vmx::parse(b".encoding = \"UTF-8\"\n# a comment\nmemSize = \"2048\"\nguestOS = \"rhel6-64\"\n")?;
//! assert_eq!(vmx.get("MEMSIZE").as_deref(), Some("2048"));
//! vmx.set("annotation", "line 1\nline \"2\"");
//! assert!(vmx.to_text().ends_with("annotation = \"line 1|0Aline |222|22\"\n"));
//!
//! let (machine, _warnings) = Machine::from_vmx(&vmx);
//! assert_eq!(machine.memory_mib, 2048);
//! assert_eq!(machine.guest_os.guest_id.as_deref(), Some("rhel6_64Guest"));
//! let written = machine.to_vmx();
//! assert_eq!(Machine::from_vmx(&written).0, machine);
//! # Ok::<(), ovftool::Error>(())
//! ```

pub mod machine;

use std::io::Read;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::limits::Limits;

/// A tolerated problem found while parsing, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseWarning {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong with the line.
    pub message: String,
}

/// The character set of the file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 (also plain ASCII).
    Utf8,
    /// Not valid UTF-8: decoded as windows-1252 and written back in it.
    Windows1252,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Body {
    /// Blank line, comment or (lax mode) a malformed line: kept verbatim.
    Verbatim,
    /// `key = value`.
    Entry {
        key: String,
        /// The raw (still escaped) value.
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    /// The original text without the line end; `None` once edited or when created.
    text: Option<String>,
    body: Body,
    /// The line end: `"\n"`, `"\r\n"` or `""` (last line without newline).
    eol: &'static str,
}

impl Line {
    fn render(&self, out: &mut String) {
        match (&self.text, &self.body) {
            (Some(text), _) => out.push_str(text),
            (None, Body::Entry { key, value }) => {
                out.push_str(key);
                out.push_str(" = \"");
                out.push_str(value);
                out.push('"');
            }
            (None, Body::Verbatim) => {}
        }
        out.push_str(self.eol);
    }
}

/// An ordered `.vmx` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vmx {
    lines: Vec<Line>,
    bom: bool,
    encoding: Encoding,
}

impl Default for Vmx {
    fn default() -> Self {
        Self::new()
    }
}

impl Vmx {
    /// An empty file.
    pub fn new() -> Self {
        Vmx {
            lines: Vec::new(),
            bom: false,
            encoding: Encoding::Utf8,
        }
    }

    /// Parses a `.vmx` file strictly: any malformed line is an error.
    ///
    /// # Errors
    /// [`ErrorKind::LimitExceeded`] above [`Limits::max_vmx_bytes`]; [`ErrorKind::Corrupt`] for a
    /// malformed line (with its line and column).
    ///
    /// # Security
    /// `bytes` is untrusted: its size is bounded and nothing in it is interpreted as a path.
    pub fn parse(bytes: &[u8]) -> Result<Vmx> {
        Self::parse_with(bytes, &Limits::DEFAULT, false).map(|(v, _)| v)
    }

    /// Parses tolerantly: malformed lines are kept verbatim and reported as warnings.
    ///
    /// # Errors
    /// [`ErrorKind::LimitExceeded`] above [`Limits::max_vmx_bytes`].
    ///
    /// # Security
    /// As [`Vmx::parse`].
    pub fn parse_lax(bytes: &[u8]) -> Result<(Vmx, Vec<ParseWarning>)> {
        Self::parse_with(bytes, &Limits::DEFAULT, true)
    }

    /// Parses with explicit limits; `lax` turns malformed lines into warnings.
    ///
    /// # Errors
    /// As [`Vmx::parse`] (without the malformed-line errors when `lax`).
    ///
    /// # Security
    /// As [`Vmx::parse`].
    pub fn parse_with(
        bytes: &[u8],
        limits: &Limits,
        lax: bool,
    ) -> Result<(Vmx, Vec<ParseWarning>)> {
        let len = bytes.len() as u64;
        if len > limits.max_vmx_bytes {
            return Err(Error::limit("vmx file size", len, limits.max_vmx_bytes));
        }
        let (bom, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
            Some(rest) => (true, rest),
            None => (false, bytes),
        };
        let mut warnings = Vec::new();
        let (text, encoding) = match std::str::from_utf8(body) {
            Ok(s) => (s.to_string(), Encoding::Utf8),
            Err(e) => {
                let line = body
                    .get(..e.valid_up_to())
                    .map(|b| b.iter().filter(|c| **c == b'\n').count() as u64 + 1)
                    .unwrap_or(1);
                warnings.push(ParseWarning {
                    line,
                    message: "not UTF-8: read as windows-1252 (and written back in it)".into(),
                });
                (decode_1252(body), Encoding::Windows1252)
            }
        };
        let mut lines = Vec::new();
        let mut rest = text.as_str();
        let mut line_no: u64 = 0;
        while !rest.is_empty() {
            line_no += 1;
            let (raw, eol, next) = match rest.find('\n') {
                Some(i) => {
                    let raw = &rest[..i];
                    match raw.strip_suffix('\r') {
                        Some(r) => (r, "\r\n", &rest[i + 1..]),
                        None => (raw, "\n", &rest[i + 1..]),
                    }
                }
                None => (rest, "", ""),
            };
            rest = next;
            let body = match parse_line(raw) {
                Ok(body) => body,
                Err((col, msg)) => {
                    if lax {
                        warnings.push(ParseWarning {
                            line: line_no,
                            message: msg,
                        });
                        Body::Verbatim
                    } else {
                        return Err(Error::corrupt(format!("malformed .vmx line: {msg}"))
                            .with_line_col(line_no, col));
                    }
                }
            };
            lines.push(Line {
                text: Some(raw.to_string()),
                body,
                eol,
            });
        }
        Ok((
            Vmx {
                lines,
                bom,
                encoding,
            },
            warnings,
        ))
    }

    /// Reads and parses a file from disk (strict), bounded by `limits`.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] if it cannot be read; otherwise as [`Vmx::parse_with`]. The error
    /// carries the path.
    ///
    /// # Security
    /// Reads at most `limits.max_vmx_bytes + 1` bytes.
    pub fn read_file(path: &Path, limits: &Limits) -> Result<Vmx> {
        let inner = || -> Result<Vmx> {
            let file = std::fs::File::open(path).map_err(|e| Error::io("cannot open", e))?;
            let mut buf = Vec::new();
            file.take(limits.max_vmx_bytes.saturating_add(1))
                .read_to_end(&mut buf)
                .map_err(|e| Error::io("cannot read", e))?;
            Self::parse_with(&buf, limits, false).map(|(v, _)| v)
        };
        inner().map_err(|e| e.with_path(path))
    }

    /// The encoding the bytes were decoded from (and are written back in).
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The raw (still escaped) value of `key` (case-insensitive; the last occurrence wins).
    pub fn get_raw(&self, key: &str) -> Option<&str> {
        self.lines.iter().rev().find_map(|l| match &l.body {
            Body::Entry { key: k, value } if k.eq_ignore_ascii_case(key) => Some(value.as_str()),
            _ => None,
        })
    }

    /// The value of `key` with `|XX` escapes decoded (and `%XX` for `displayName`).
    pub fn get(&self, key: &str) -> Option<String> {
        self.get_raw(key).map(|raw| decode_value(key, raw))
    }

    /// `key` as a boolean: `TRUE`/`FALSE` in any case (also `yes`/`no`, `1`/`0`, `on`/`off`
    /// as VMware accepts). `None` when absent or not a boolean.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get_raw(key).and_then(parse_bool)
    }

    /// Whether `key` is present (case-insensitive).
    pub fn contains(&self, key: &str) -> bool {
        self.get_raw(key).is_some()
    }

    /// Sets `key` to `value` (escaped as needed). An existing key keeps its place and spelling
    /// (earlier duplicates are removed); a new key is appended.
    pub fn set(&mut self, key: &str, value: &str) {
        self.set_raw(key, &encode_value(key, value));
    }

    /// A new file from `(key, value)` pairs in order, values escaped as by [`Vmx::set`]. A key
    /// repeated (in any case) keeps its first place and takes the last value. Linear time, for
    /// writers of whole files.
    pub fn from_entries<I, K, V>(entries: I) -> Vmx
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut index: std::collections::HashMap<String, usize> = Default::default();
        let mut lines: Vec<Line> = Vec::new();
        for (k, v) in entries {
            let (k, v) = (k.as_ref(), v.as_ref());
            let raw = encode_value(k, v);
            match index
                .get(&k.to_ascii_lowercase())
                .and_then(|i| lines.get_mut(*i))
            {
                Some(line) => {
                    line.body = Body::Entry {
                        key: k.to_string(),
                        value: raw,
                    }
                }
                None => {
                    index.insert(k.to_ascii_lowercase(), lines.len());
                    lines.push(Line {
                        text: None,
                        body: Body::Entry {
                            key: k.to_string(),
                            value: raw,
                        },
                        eol: "\n",
                    });
                }
            }
        }
        Vmx {
            lines,
            bom: false,
            encoding: Encoding::Utf8,
        }
    }

    /// Sets a boolean as `"TRUE"` / `"FALSE"`.
    pub fn set_bool(&mut self, key: &str, value: bool) {
        self.set_raw(key, if value { "TRUE" } else { "FALSE" });
    }

    /// Sets the raw value (the caller did the escaping; a `"` or newline in `raw` is escaped
    /// anyway so the file stays well-formed).
    pub fn set_raw(&mut self, key: &str, raw: &str) {
        let raw = if raw.contains(['"', '\n', '\r']) {
            raw.replace('"', "|22")
                .replace('\n', "|0A")
                .replace('\r', "|0D")
        } else {
            raw.to_string()
        };
        let mut found: Option<usize> = None;
        for (i, l) in self.lines.iter().enumerate().rev() {
            if let Body::Entry { key: k, .. } = &l.body {
                if k.eq_ignore_ascii_case(key) {
                    found = Some(i);
                    break;
                }
            }
        }
        match found {
            Some(i) => {
                if let Some(line) = self.lines.get_mut(i) {
                    if let Body::Entry { value, .. } = &mut line.body {
                        if *value != raw {
                            *value = raw;
                            line.text = None;
                        }
                    }
                }
                // Remove earlier duplicates so the file says one thing.
                let mut idx = 0usize;
                self.lines.retain(|l| {
                    let keep = idx >= i
                        || !matches!(&l.body, Body::Entry { key: k, .. } if k.eq_ignore_ascii_case(key));
                    idx += 1;
                    keep
                });
            }
            None => {
                // The previous last line may lack its newline.
                if let Some(last) = self.lines.last_mut() {
                    if last.eol.is_empty() {
                        last.eol = "\n";
                    }
                }
                self.lines.push(Line {
                    text: None,
                    body: Body::Entry {
                        key: key.to_string(),
                        value: raw,
                    },
                    eol: "\n",
                });
            }
        }
    }

    /// Removes every occurrence of `key`; returns the last (decoded) value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let v = self.get(key);
        self.lines.retain(
            |l| !matches!(&l.body, Body::Entry { key: k, .. } if k.eq_ignore_ascii_case(key)),
        );
        v
    }

    /// Appends a comment line (`# text`).
    pub fn push_comment(&mut self, text: &str) {
        let text = text.replace(['\n', '\r'], " ");
        self.lines.push(Line {
            text: Some(format!("# {text}")),
            body: Body::Verbatim,
            eol: "\n",
        });
    }

    /// Every entry in file order as `(key as spelled, raw value)`, duplicates included.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.lines.iter().filter_map(|l| match &l.body {
            Body::Entry { key, value } => Some((key.as_str(), value.as_str())),
            Body::Verbatim => None,
        })
    }

    /// The effective entries: the last occurrence of each key (case-insensitive), in the order of
    /// that last occurrence, as `(key as spelled, raw value)`.
    pub fn effective_entries(&self) -> Vec<(&str, &str)> {
        let all: Vec<(&str, &str)> = self.entries().collect();
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<(&str, &str)> = all
            .iter()
            .rev()
            .filter(|(k, _)| seen.insert(k.to_ascii_lowercase()))
            .copied()
            .collect();
        out.reverse();
        out
    }

    /// Writes [`Vmx::to_bytes`] to `path` atomically (a temporary name in the same folder,
    /// renamed when complete; see [`crate::output::PendingFile`]).
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`] when `path` exists and `force` is false; [`ErrorKind::Io`].
    ///
    /// # Security
    /// `path` is the caller's; nothing from the file's content is used as a path.
    pub fn write_file(&self, path: &Path, force: bool) -> Result<()> {
        use std::io::Write;
        let mut out = crate::output::PendingFile::create(path, force)?;
        out.file()
            .write_all(&self.to_bytes())
            .map_err(|e| Error::io("cannot write", e).with_path(path))?;
        out.commit()?;
        Ok(())
    }

    /// The file as text (before re-encoding).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            line.render(&mut out);
        }
        out
    }

    /// The file as bytes: UTF-8, or windows-1252 for a file read in it (a character that
    /// windows-1252 cannot hold switches the whole file to UTF-8 and `.encoding` to `UTF-8`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.bom {
            out.extend_from_slice(b"\xEF\xBB\xBF");
        }
        let text = self.to_text();
        match self.encoding {
            Encoding::Utf8 => out.extend_from_slice(text.as_bytes()),
            Encoding::Windows1252 => match encode_1252(&text) {
                Some(bytes) => out.extend_from_slice(&bytes),
                None => {
                    let mut copy = self.clone();
                    copy.encoding = Encoding::Utf8;
                    copy.set_raw(".encoding", "UTF-8");
                    out.extend_from_slice(copy.to_text().as_bytes());
                }
            },
        }
        out
    }
}

/// Encodes a value of `key` for the file: `|XX` escapes, and for `displayName` first `%XX` for
/// `%`, `/` and `\` (ESX's names; libvirt `virVMXEscapeHexPercent`). Inverse of
/// [`decode_value`].
pub fn encode_value(key: &str, value: &str) -> String {
    if key.eq_ignore_ascii_case("displayName") {
        escape_pipe(&escape_percent(value))
    } else {
        escape_pipe(value)
    }
}

/// Decodes a raw value of `key`: `|XX` escapes, and for `displayName` first `%XX` (libvirt's
/// order).
pub fn decode_value(key: &str, raw: &str) -> String {
    if key.eq_ignore_ascii_case("displayName") {
        unescape_pipe(&unescape_percent(raw))
    } else {
        unescape_pipe(raw)
    }
}

/// Parses one line (without its end) into a body, or `(column, message)`.
fn parse_line(raw: &str) -> std::result::Result<Body, (u64, String)> {
    let trimmed = raw.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(Body::Verbatim);
    }
    let indent = raw.len() - trimmed.len();
    let Some(eq) = trimmed.find('=') else {
        return Err((
            col(raw, indent),
            format!("expected `key = \"value\"`, found {:?}", clip(trimmed)),
        ));
    };
    let key = trimmed[..eq].trim();
    if key.is_empty() {
        return Err((col(raw, indent), "expected a key before `=`".to_string()));
    }
    if let Some(bad) = key.find(|c: char| c.is_whitespace() || c == '"' || c == '#') {
        return Err((
            col(raw, indent + bad),
            format!(
                "expected a key without spaces or quotes, found {:?}",
                clip(key)
            ),
        ));
    }
    let after = &trimmed[eq + 1..];
    let vstart = after.len() - after.trim_start().len();
    let v = after.trim_start();
    let value_col = indent + eq + 1 + vstart;
    let value = if let Some(inner) = v.strip_prefix('"') {
        let Some(close) = inner.find('"') else {
            return Err((
                col(raw, value_col),
                "unterminated quoted value (expected a closing `\"`)".to_string(),
            ));
        };
        let tail = inner[close + 1..].trim_start();
        if !(tail.is_empty() || tail.starts_with('#')) {
            return Err((
                col(raw, raw.len() - tail.len()),
                format!(
                    "expected end of line after the quoted value, found {:?}",
                    clip(tail)
                ),
            ));
        }
        inner[..close].to_string()
    } else {
        // Unquoted value (VMware accepts it): up to a comment, trimmed.
        let end = v.find('#').unwrap_or(v.len());
        v[..end].trim_end().to_string()
    };
    Ok(Body::Entry {
        key: key.to_string(),
        value,
    })
}

fn col(raw: &str, byte_idx: usize) -> u64 {
    raw.get(..byte_idx)
        .map(|s| s.chars().count() as u64 + 1)
        .unwrap_or(1)
}

fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

/// Parses a vmx boolean (`TRUE`/`FALSE` in any case, plus the aliases VMware accepts).
pub fn parse_bool(raw: &str) -> Option<bool> {
    let v = raw.trim();
    for t in ["true", "yes", "1", "on"] {
        if v.eq_ignore_ascii_case(t) {
            return Some(true);
        }
    }
    for f in ["false", "no", "0", "off"] {
        if v.eq_ignore_ascii_case(f) {
            return Some(false);
        }
    }
    None
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn unescape_hex(s: &str, escape: u8) -> String {
    let b = s.as_bytes();
    if !b.contains(&escape) {
        return s.to_string();
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == escape {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex_val),
                b.get(i + 2).copied().and_then(hex_val),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    // Escapes may encode UTF-8 bytes one by one; invalid sequences fall back to windows-1252.
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => decode_1252(e.as_bytes()),
    }
}

/// Decodes `|XX` pipe-hex escapes (libvirt `virVMXUnescapeHexPipe`). A `|` not followed by two
/// hex digits is kept literally.
pub fn unescape_pipe(s: &str) -> String {
    unescape_hex(s, b'|')
}

/// Decodes `%XX` escapes (libvirt `virVMXUnescapeHexPercent`, used for `displayName`).
pub fn unescape_percent(s: &str) -> String {
    unescape_hex(s, b'%')
}

/// Escapes a value for a quoted vmx value: `"`, `|` and control characters become `|XX`.
pub fn escape_pipe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '|' || (c as u32) < 0x20 || c == '\u{7f}' {
            out.push_str(&format!("|{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes `%`, `/` and `\` as `%XX` (libvirt `virVMXEscapeHexPercent`, for `displayName`).
pub fn escape_percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '/' | '\\') {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// windows-1252 bytes 0x80..=0x9F (WHATWG mapping; the five undefined bytes map to the C1
/// controls so that decoding and encoding are inverse).
const W1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}',
    '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
];

fn decode_1252(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => W1252_HIGH[(b - 0x80) as usize],
            _ => char::from(b),
        })
        .collect()
}

fn encode_1252(s: &str) -> Option<Vec<u8>> {
    s.chars()
        .map(|c| {
            let u = c as u32;
            if u < 0x80 || (0xA0..=0xFF).contains(&u) {
                Some(u as u8)
            } else {
                W1252_HIGH
                    .iter()
                    .position(|&h| h == c)
                    .map(|p| 0x80 + p as u8)
            }
        })
        .collect()
}

/// Whether an error came from a malformed line (for callers that want to fall back to lax).
pub fn is_malformed_line(e: &Error) -> bool {
    e.kind() == ErrorKind::Corrupt && e.location().line_col.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unedited_file_is_byte_identical() {
        let src = b"\xEF\xBB\xBF.encoding = \"UTF-8\"\r\n# comment\r\n\r\n  memSize   =  \"1024\"  # trailing\nfoo=bar\nlast = \"x\"";
        let v = Vmx::parse(src).unwrap();
        assert_eq!(v.to_bytes(), src.to_vec());
        assert_eq!(v.get("MEMSIZE").as_deref(), Some("1024"));
        assert_eq!(v.get("foo").as_deref(), Some("bar"));
    }

    #[test]
    fn set_keeps_spelling_and_place() {
        let mut v = Vmx::parse(b"a = \"1\"\nMemSize = \"4\"\nb = \"2\"").unwrap();
        v.set("memsize", "8");
        v.set("c", "3");
        assert_eq!(
            v.to_text(),
            "a = \"1\"\nMemSize = \"8\"\nb = \"2\"\nc = \"3\"\n"
        );
    }

    #[test]
    fn duplicates_last_wins_and_set_collapses() {
        let mut v = Vmx::parse(b"x = \"1\"\nX = \"2\"\n").unwrap();
        assert_eq!(v.get("x").as_deref(), Some("2"));
        v.set("x", "3");
        assert_eq!(v.to_text(), "X = \"3\"\n");
    }

    #[test]
    fn escapes_round_trip() {
        let mut v = Vmx::new();
        let text = "line1\nsay \"hi\" | 100% done";
        v.set("annotation", text);
        v.set("displayName", "50% off/|x");
        let back = Vmx::parse(&v.to_bytes()).unwrap();
        assert_eq!(back.get("annotation").as_deref(), Some(text));
        assert_eq!(back.get("displayName").as_deref(), Some("50% off/|x"));
        assert_eq!(v.to_text().lines().count(), 2);
    }

    #[test]
    fn malformed_lines_have_line_numbers() {
        let e = Vmx::parse(b"a = \"1\"\njunk line\n").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert_eq!(e.location().line_col, Some((2, 1)));
        let e = Vmx::parse(b"a = \"1\"\nb = \"open\n").unwrap_err();
        assert_eq!(e.location().line_col, Some((2, 5)));
        let e = Vmx::parse(b"= \"1\"\n").unwrap_err();
        assert_eq!(e.location().line_col, Some((1, 1)));
        let e = Vmx::parse(b"a = \"1\" x\n").unwrap_err();
        assert_eq!(e.location().line_col.map(|l| l.0), Some(1));
        let (v, w) = Vmx::parse_lax(b"a = \"1\"\njunk line\nb = \"2\"\n").unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].line, 2);
        assert_eq!(v.to_bytes(), b"a = \"1\"\njunk line\nb = \"2\"\n".to_vec());
    }

    #[test]
    fn windows_1252_round_trip() {
        let src = b"displayName = \"caf\xe9 \x80\"\n";
        let v = Vmx::parse(src).unwrap();
        assert_eq!(v.encoding(), Encoding::Windows1252);
        assert_eq!(v.get("displayName").as_deref(), Some("caf\u{e9} \u{20ac}"));
        assert_eq!(v.to_bytes(), src.to_vec());
    }

    #[test]
    fn size_is_bounded() {
        let limits = Limits {
            max_vmx_bytes: 10,
            ..Limits::DEFAULT
        };
        let e = Vmx::parse_with(b"a = \"12345678\"\n", &limits, true).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    }
}
