//! Shared helpers for the integration tests: the third-party corpus, external reference tools
//! (qemu-img, xmllint) and running the CLI.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The third-party corpus (`$OVFTOOL_CORPUS` or `../shared/corpus`), or `None` with a note on
/// stderr so a skipped test says why. In CI (`CI` set) a missing corpus is a failure, not a
/// skip, as for [`have_tool`]: a corpus test that read nothing has checked nothing.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("OVFTOOL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.join("index.json").is_file() {
        Some(dir)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the corpus is required in CI but is not at {} (set OVFTOOL_CORPUS)",
            dir.display()
        );
        eprintln!(
            "SKIP: corpus not found at {} (set OVFTOOL_CORPUS)",
            dir.display()
        );
        None
    }
}

/// Whether an external tool runs (`TOOL --version`). In CI (`CI` set) a missing tool is a
/// failure, not a skip: CI installs qemu-utils and libxml2-utils.
pub fn have_tool(tool: &str) -> bool {
    // openssl has no `--version`; it answers `openssl version`.
    let probe = if tool == "openssl" {
        "version"
    } else {
        "--version"
    };
    let ok = Command::new(tool)
        .arg(probe)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is required in CI but is not installed"
        );
        eprintln!("SKIP: {tool} not installed");
    }
    ok
}

/// The path of the built CLI binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ovftool-rs"))
}

/// Runs the CLI with `args`.
pub fn ovftool(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("run ovftool-rs")
}

/// The `samples/` folder of the repository.
pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// CPU time consumed by the calling thread, in seconds. Complexity tests compare this rather
/// than wall time: on a loaded machine (tests run in parallel on two cores) a long run is
/// preempted more often than a short one, which inflates wall-time ratios.
pub fn thread_cpu_seconds() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Deterministic pseudo-random numbers and bytes (xorshift64*), for generated inputs.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Fills `buf` with pseudo-random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

/// For "never panics" tests: `r` is either a success or the error of a bad input (corrupt,
/// unsupported, above a limit, unsafe name, invalid document), never a usage or I/O error,
/// which would mean the damage leaked past the reader's checks.
#[track_caller]
pub fn assert_input_error<T>(what: &str, r: &ovftool::Result<T>) {
    if let Err(e) = r {
        assert!(
            e.kind().is_input_failure(),
            "{what}: expected an input error, found {:?}: {e}",
            e.kind()
        );
    }
}
