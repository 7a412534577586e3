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

/// Options hold their receiver as `Option<Arc<dyn Progress>>`; this lets them derive `Debug`.
impl std::fmt::Debug for dyn Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dyn Progress")
    }
}

/// Where an options struct's `progress` field wants progress reported: there, or nowhere.
pub(crate) fn of(progress: &Option<std::sync::Arc<dyn Progress>>) -> &dyn Progress {
    match progress {
        Some(p) => p.as_ref(),
        None => &NoProgress,
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _label: &str, _total: Option<u64>) {}
    fn advance(&self, _delta: u64) {}
    fn finish(&self) {}
}

/// Counts what passes through to an inner [`Progress`], so that a phase whose total is a
/// container's size (an OVA read member by member) can account at its end for the bytes no
/// member reports: tar headers, padding and end-of-archive blocks.
pub struct Tally<'a> {
    inner: &'a dyn Progress,
    done: std::sync::atomic::AtomicU64,
}

impl<'a> Tally<'a> {
    /// Wraps `inner`.
    pub fn new(inner: &'a dyn Progress) -> Self {
        Tally {
            inner,
            done: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Reports what is missing to reach `total`: call it once the whole container was read.
    pub fn complete(&self, total: u64) {
        let done = self.done.load(std::sync::atomic::Ordering::Relaxed);
        if total > done {
            self.advance(total - done);
        }
    }
}

impl Progress for Tally<'_> {
    fn start(&self, label: &str, total: Option<u64>) {
        self.done.store(0, std::sync::atomic::Ordering::Relaxed);
        self.inner.start(label, total);
    }
    fn advance(&self, delta: u64) {
        self.done
            .fetch_add(delta, std::sync::atomic::Ordering::Relaxed);
        self.inner.advance(delta);
    }
    fn finish(&self) {
        self.inner.finish();
    }
}
