//! `validate` (in progress).

use std::path::PathBuf;

use crate::ui::{Outcome, Ui};

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input path.
    pub path: PathBuf,
}

pub fn run(args: Args, _ui: &Ui) -> ovftool::Result<Outcome> {
    let _ = args;
    Err(ovftool::Error::unsupported(
        "this subcommand is not implemented yet",
    ))
}
