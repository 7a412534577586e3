//! Progress reporting without a UI dependency.
//!
//! Long operations (hashing, converting, packing) report through [`Progress`]; the CLI adapts it
//! to indicatif progress bars on a terminal, library users may ignore it with [`NoProgress`].

/// Receives progress of a long operation. Implementations must be cheap: `advance` is called from
/// hot loops (once per chunk, not per byte).
pub trait Progress: Send + Sync {
    /// A new phase starts, e.g. `"disk1.vmdk"`, with `total` units (bytes) if known.
    fn start(&self, label: &str, total: Option<u64>);
    /// `delta` more units of the current phase are done.
    fn advance(&self, delta: u64);
    /// The current phase is finished.
    fn finish(&self);
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _label: &str, _total: Option<u64>) {}
    fn advance(&self, _delta: u64) {}
    fn finish(&self) {}
}
