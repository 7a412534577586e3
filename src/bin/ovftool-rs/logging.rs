//! `-v`/`-vv` and `--log-file`: the subscriber for the library's `tracing` events.
//!
//! Off by default (no subscriber, so the events cost next to nothing). `-v` logs the main steps
//! (open, phases, files: INFO), `-vv` adds details (DEBUG), `-vvv` everything (TRACE). The log
//! goes to standard error, or to `--log-file` (appended; at least INFO when a file is named),
//! never to standard output, which belongs to `--json` and the reports.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use ovftool::Error;
use tracing::Level;

/// The level for a count of `-v` flags, and whether a log file was named.
fn level(verbose: u8, to_file: bool) -> Option<Level> {
    match verbose {
        0 if to_file => Some(Level::INFO),
        0 => None,
        1 => Some(Level::INFO),
        2 => Some(Level::DEBUG),
        _ => Some(Level::TRACE),
    }
}

/// Installs the subscriber for this process.
///
/// # Errors
/// I/O error when the log file cannot be opened for appending.
pub fn init(verbose: u8, log_file: Option<&Path>) -> ovftool::Result<()> {
    let Some(level) = level(verbose, log_file.is_some()) else {
        return Ok(());
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_target(true);
    let installed = match log_file {
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Error::io("cannot open the log file", e).with_path(path))?;
            builder.with_writer(Mutex::new(file)).try_init()
        }
        None => builder.with_writer(std::io::stderr).try_init(),
    };
    // A second initialisation (only possible in tests) keeps the first subscriber.
    drop(installed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_counts_map_to_levels() {
        assert_eq!(level(0, false), None);
        assert_eq!(level(0, true), Some(Level::INFO));
        assert_eq!(level(1, false), Some(Level::INFO));
        assert_eq!(level(2, false), Some(Level::DEBUG));
        assert_eq!(level(5, true), Some(Level::TRACE));
    }
}
