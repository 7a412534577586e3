//! Descriptor validation (in progress).

use super::{Diagnostic, Envelope};

/// Options of [`Envelope::validate`].
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    /// Downgrade to warnings what ovftool's `--lax` tolerates.
    pub lax: bool,
}

pub(crate) fn validate(_env: &Envelope, _opts: &ValidateOptions) -> Vec<Diagnostic> {
    Vec::new()
}
