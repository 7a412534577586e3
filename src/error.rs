//! The one public error type of the library.
//!
//! An [`Error`] is a [`ErrorKind`] (what class of failure, for callers to match on), a message
//! saying what failed *here* ("expected X, found Y"), an optional [`Location`] (file, archive
//! entry, byte offset, line and column) and an optional boxed source error. `Display` prints the
//! message and the location only; the cause is reachable through [`std::error::Error::source`]
//! so that a caller printing the chain prints every cause exactly once.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A specialised `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What class of failure an [`Error`] is.
///
/// The classes split into *input* failures (the file is bad: exit code 1 in the CLI) and
/// *operational* failures (usage, I/O, refusing to overwrite: exit code 2); see
/// [`ErrorKind::is_input_failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading or writing failed at the operating-system level (not found, permission, disk full).
    Io,
    /// The caller asked for something impossible (bad option value, wrong combination).
    Usage,
    /// An output already exists and overwriting was not allowed.
    AlreadyExists,
    /// XML that is not well-formed, or that uses a forbidden construct (DOCTYPE, entities).
    Xml,
    /// A well-formed document that is not a valid OVF descriptor (missing parts, bad values).
    InvalidOvf,
    /// Bytes that do not follow their format: bad magic, bad header, offsets outside the file,
    /// truncated data, decompression failure.
    Corrupt,
    /// A size or count read from a file is above a limit from [`crate::limits`].
    LimitExceeded,
    /// A name or path that would escape its folder, or is otherwise not acceptable.
    UnsafePath,
    /// Integrity verification failed: digest mismatch, missing manifest entry, bad signature.
    Verification,
    /// A valid feature this implementation does not (yet) handle.
    Unsupported,
}

impl ErrorKind {
    /// Whether this kind means "the input failed validation or verification" (CLI exit code 1)
    /// rather than a usage or I/O problem (exit code 2).
    pub fn is_input_failure(self) -> bool {
        !matches!(
            self,
            ErrorKind::Io | ErrorKind::Usage | ErrorKind::AlreadyExists
        )
    }

    /// A short stable identifier, used in `--json` output.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::Usage => "usage",
            ErrorKind::AlreadyExists => "already-exists",
            ErrorKind::Xml => "xml",
            ErrorKind::InvalidOvf => "invalid-ovf",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::LimitExceeded => "limit-exceeded",
            ErrorKind::UnsafePath => "unsafe-path",
            ErrorKind::Verification => "verification",
            ErrorKind::Unsupported => "unsupported",
        }
    }
}

/// Where an error happened. Every field is optional; Display prints those that are set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The file on disk.
    pub path: Option<PathBuf>,
    /// The member of an archive (OVA entry) or a file named inside a package.
    pub entry: Option<String>,
    /// Byte offset inside the file or entry.
    pub offset: Option<u64>,
    /// 1-based line and column in a text file (XML, descriptor, manifest).
    pub line_col: Option<(u64, u64)>,
}

impl Location {
    fn is_empty(&self) -> bool {
        self.path.is_none()
            && self.entry.is_none()
            && self.offset.is_none()
            && self.line_col.is_none()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(entry) = &self.entry {
            write!(f, "{sep}{entry}")?;
            sep = " ";
        }
        if let Some(path) = &self.path {
            if self.entry.is_some() {
                write!(f, "{sep}in {}", path.display())?;
            } else {
                write!(f, "{sep}{}", path.display())?;
            }
            sep = " ";
        }
        if let Some((line, col)) = self.line_col {
            write!(f, "{sep}line {line}, column {col}")?;
            sep = " ";
        }
        if let Some(offset) = self.offset {
            write!(f, "{sep}offset {offset:#x}")?;
        }
        Ok(())
    }
}

/// An option of the operation that would make it proceed, attached to the error it would
/// avoid. The library names its own options here, never a front end's spelling: the CLI turns
/// a hint into the flag to use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hint {
    /// Replacing existing outputs (`force`).
    Force,
    /// Exporting a VM that looks powered on or locked
    /// ([`crate::export::ExportOptions::allow_locked`]).
    AllowLocked,
    /// ovftool's lax mode: accepting a package that is not strictly conforming
    /// ([`crate::ImportOptions::lax`], [`crate::finding::Policy::lax`]).
    Lax,
    /// Skipping the manifest check: accepting a package whose manifest is unreadable,
    /// incomplete or disagrees with its files ([`crate::finding::Policy::skip_manifest_check`]).
    SkipManifestCheck,
    /// Choosing one virtual system of several ([`crate::ImportOptions::vm`]).
    ChooseVm,
    /// Accepting the package's license agreements
    /// ([`crate::ImportOptions::accept_all_eulas`]).
    AcceptEulas,
    /// Writing extra configuration that is not on the safe list
    /// ([`crate::ImportOptions::allow_extra_config`]).
    AllowExtraConfig,
    /// Deciding what happens to the signature of a signed package an edit changes: sign it
    /// again or drop it ([`crate::transform::edit::Signing`]).
    Resign,
    /// Pinning the server certificate with this SHA-1 thumbprint, or not checking it
    /// ([`crate::net::TlsPolicy`]), if it is the host's own certificate.
    #[cfg(feature = "vsphere")]
    PinThumbprint(String),
}

/// The error type of every fallible operation in this crate.
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    message: String,
    location: Location,
    hint: Option<Hint>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` saying `message` (what failed here, "expected X, found Y").
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
            location: Location::default(),
            hint: None,
            source: None,
        }))
    }

    /// Shorthand for [`ErrorKind::Corrupt`].
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, message)
    }

    /// Shorthand for [`ErrorKind::InvalidOvf`].
    pub fn invalid_ovf(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidOvf, message)
    }

    /// Shorthand for [`ErrorKind::Usage`].
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }

    /// Shorthand for [`ErrorKind::Unsupported`].
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// Shorthand for [`ErrorKind::Verification`].
    pub fn verification(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Verification, message)
    }

    /// Shorthand for [`ErrorKind::UnsafePath`].
    pub fn unsafe_path(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UnsafePath, message)
    }

    /// A [`ErrorKind::LimitExceeded`] error for `what` being `found`, above `limit`.
    pub fn limit(what: &str, found: u64, limit: u64) -> Self {
        Self::new(
            ErrorKind::LimitExceeded,
            format!("{what} is {found}, above the limit of {limit}"),
        )
    }

    /// An I/O error with a message saying what was being done (`"cannot open"`, ...).
    pub fn io(message: impl Into<String>, source: io::Error) -> Self {
        Self::new(ErrorKind::Io, message).with_source(source)
    }

    /// Attaches the underlying cause.
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// Sets the file path (keeps an earlier one: the innermost context wins).
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Self {
        if self.0.location.path.is_none() {
            self.0.location.path = Some(path.as_ref().to_path_buf());
        }
        self
    }

    /// Sets the archive entry or package member name (keeps an earlier one).
    pub fn with_entry(mut self, entry: impl Into<String>) -> Self {
        if self.0.location.entry.is_none() {
            self.0.location.entry = Some(entry.into());
        }
        self
    }

    /// Sets the byte offset (keeps an earlier one).
    pub fn with_offset(mut self, offset: u64) -> Self {
        if self.0.location.offset.is_none() {
            self.0.location.offset = Some(offset);
        }
        self
    }

    /// Sets the 1-based line and column (keeps an earlier one).
    pub fn with_line_col(mut self, line: u64, col: u64) -> Self {
        if self.0.location.line_col.is_none() {
            self.0.location.line_col = Some((line, col));
        }
        self
    }

    /// Names the option that would avoid this error (keeps an earlier one).
    pub fn with_hint(mut self, hint: Hint) -> Self {
        if self.0.hint.is_none() {
            self.0.hint = Some(hint);
        }
        self
    }

    /// The option that would avoid this error, if the operation has one. Errors of kind
    /// [`ErrorKind::AlreadyExists`] are always avoided by `force` and carry no hint.
    pub fn hint(&self) -> Option<&Hint> {
        self.0.hint.as_ref()
    }

    /// The class of failure.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The message, without location or cause.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Where it happened.
    pub fn location(&self) -> &Location {
        &self.0.location
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.0.kind)
            .field("message", &self.0.message);
        if !self.0.location.is_empty() {
            d.field("location", &self.0.location);
        }
        if let Some(hint) = &self.0.hint {
            d.field("hint", hint);
        }
        if let Some(source) = &self.0.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)?;
        if !self.0.location.is_empty() {
            write!(f, " ({})", self.0.location)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        // An error of ours that travelled through an io::Error (a Read adapter) comes back whole.
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            if let Some(inner) = e.into_inner() {
                if let Ok(ours) = inner.downcast::<Error>() {
                    return *ours;
                }
            }
            return Error::new(ErrorKind::Io, "I/O error");
        }
        match e.kind() {
            io::ErrorKind::UnexpectedEof => {
                Error::new(ErrorKind::Corrupt, "unexpected end of data").with_source(e)
            }
            io::ErrorKind::AlreadyExists => {
                Error::new(ErrorKind::AlreadyExists, "already exists").with_source(e)
            }
            _ => Error::new(ErrorKind::Io, "I/O error").with_source(e),
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        let kind = match e.0.kind {
            ErrorKind::Io => io::ErrorKind::Other,
            ErrorKind::AlreadyExists => io::ErrorKind::AlreadyExists,
            ErrorKind::Usage => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

/// Adds context to a `Result` whose error converts into [`Error`].
pub trait ResultExt<T> {
    /// Sets the path on the error, if any.
    fn with_path(self, path: impl AsRef<Path>) -> Result<T>;
    /// Sets the entry name on the error, if any.
    fn with_entry(self, entry: impl Into<String>) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn with_path(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| e.into().with_path(path))
    }
    fn with_entry(self, entry: impl Into<String>) -> Result<T> {
        self.map_err(|e| e.into().with_entry(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_message_and_location_but_not_cause() {
        let e = Error::corrupt("bad grain marker: compressed size 70000 exceeds 2 grains")
            .with_entry("disk1.vmdk")
            .with_offset(0x1a00)
            .with_source(io::Error::other("inner cause"));
        let s = e.to_string();
        assert_eq!(
            s,
            "bad grain marker: compressed size 70000 exceeds 2 grains (disk1.vmdk offset 0x1a00)"
        );
        assert!(!s.contains("inner cause"));
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn io_round_trip_keeps_our_error() {
        let e = Error::verification("digest mismatch").with_entry("a.vmdk");
        let io: io::Error = e.into();
        let back: Error = io.into();
        assert_eq!(back.kind(), ErrorKind::Verification);
        assert_eq!(back.location().entry.as_deref(), Some("a.vmdk"));
    }

    #[test]
    fn exit_classes() {
        assert!(!ErrorKind::Io.is_input_failure());
        assert!(!ErrorKind::Usage.is_input_failure());
        assert!(ErrorKind::Corrupt.is_input_failure());
        assert!(ErrorKind::Xml.is_input_failure());
    }
}
