//! Validation findings.

use serde::Serialize;

pub use crate::finding::Severity;

/// One validation finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable, kebab-case identifier (`file-ref-unresolved`, `duplicate-instance-id`...);
    /// the list is in `docs/JSON.md`.
    pub code: &'static str,
    /// What is wrong, "expected X, found Y".
    pub message: String,
    /// 1-based line of the element concerned, when known.
    pub line: Option<u64>,
    /// 1-based column of the element concerned, when known.
    pub column: Option<u64>,
    /// The element path (`/Envelope/VirtualSystem[vm]/VirtualHardwareSection/Item[4]`).
    pub path: Option<String>,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}]: {}", self.code, self.message)?;
        if let Some(l) = self.line {
            write!(f, " (line {l}")?;
            if let Some(c) = self.column {
                write!(f, ", column {c}")?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}
