//! Outputs that appear under their final name only when complete, and only where allowed.
//!
//! # Temporary names
//! Every writer of the library creates its file or folder under a temporary name in the same
//! folder as the final name (so the rename is atomic on one file system), and renames it only in
//! [`PendingFile::commit`] / [`PendingDir::commit`] / [`commit_group`]. Dropping without commit
//! removes the temporary output: a failed operation leaves nothing under the final name.
//!
//! The temporary name is `.NAME.partial-PID-XXXXXX` (PID = the writing process). A run killed
//! with SIGKILL cannot clean up, so the next output created in the same folder by any command
//! removes the `.*.partial-PID-*` entries whose process no longer exists (see [`sweep_stale`]).
//! A live process's partials are never touched.
//!
//! # Interruption
//! Every temporary output, and every folder an output created because it was missing, is
//! registered while it exists. [`abandon_all`] removes them all (folders we created only when
//! empty) and blocks any further creation or commit; the CLI calls it from its SIGINT / SIGTERM /
//! SIGHUP thread just before exiting 130 / 143 / 129.
//!
//! # Overwriting (`--force`)
//! Like ovftool's `--overwrite`, `force` replaces only the outputs this command writes, each by a
//! rename on commit; nothing else is ever removed. Refused, with [`ErrorKind::Usage`] (exit 2)
//! naming the reason ([`refuse_overlap`], [`PendingDir::commit`]):
//! * an output that is the current folder (`.`);
//! * an output that is one of the command's inputs (the input itself, or one of its extents);
//! * an output folder that contains an input;
//! * an existing non-empty output folder that is not a previous output of the same command. A
//!   folder is recognised as such when it holds only regular files (no sub-folder, no link) and
//!   every one of them is a file the new output also writes (same names): re-unpacking the same
//!   OVA or re-importing the same package. Anything else in it (a log, a stray file) means the
//!   folder is not ours to replace, and the command stops before writing anything there.
//!
//! # Multi-file outputs
//! Files that form one output in a shared folder (a descriptor and its extents, an `.ovf` with its
//! disks and manifest) are committed by [`commit_group`]: a journal
//! `.LAST.partial-PID-commit` naming them is written first, the files are renamed with the
//! descriptor last, then the journal is removed. A run killed between two renames leaves the
//! journal; the stale sweep then removes the listed files if the descriptor never appeared, so a
//! part never stays under a final name without its descriptor.
//!
//! # Missing folders
//! Every writing command creates the missing folders above its output (like `mkdir -p`), and
//! removes the ones it created (when empty) on failure or interruption ([`create_dirs`]).
//!
//! # Durability
//! The rename protects against a failed, interrupted or killed command. Against a crash of the
//! whole machine soon after the command returned (before the kernel wrote the data back), an
//! output also needs `fsync` before its rename; [`Durability`] says when that is paid:
//! by default only when an output replaces an existing file or folder (then a crash leaves the old
//! or the new version, never neither), and for every output with [`Durability::Always`] (the CLI's
//! `--sync`). A new name is published without a flush by default, as `cp` and `tar` do: the input
//! is still there, and the manifest or `verify` tells a damaged copy.
//!
//! # Remote targets
//! `vi://`, `http://`, `https://` and `ftp://` locators are never local paths:
//! [`RemoteLocator::detect`] is the one place that recognises them, and [`local_target`] refuses
//! them for commands that write local files.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::error::{Error, ErrorKind, Result};

// ---------------------------------------------------------------------------------------------
// Durability

/// When outputs are flushed to stable storage before they are published (module docs,
/// "Durability").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// Flush an output only when it replaces an existing file or folder (`--force`). The
    /// default.
    #[default]
    Replacing,
    /// Flush every output file, and the folder that receives it, before the command reports
    /// success (the CLI's `--sync`).
    Always,
}

static SYNC_ALWAYS: AtomicBool = AtomicBool::new(false);

/// Sets the [`Durability`] of every output written afterwards by this process.
pub fn set_durability(durability: Durability) {
    SYNC_ALWAYS.store(durability == Durability::Always, Ordering::Relaxed);
}

/// The [`Durability`] outputs are written with.
pub fn durability() -> Durability {
    if SYNC_ALWAYS.load(Ordering::Relaxed) {
        Durability::Always
    } else {
        Durability::Replacing
    }
}

/// Whether an output published at `final_path` must be flushed first.
fn must_flush(final_path: &Path) -> bool {
    durability() == Durability::Always || fs::symlink_metadata(final_path).is_ok()
}

/// Flushes a folder's entry list (after a rename into it). Errors are ignored: not every file
/// system can sync a folder, and the data itself is already flushed.
fn flush_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Flushes every regular file below `dir` (at most `depth` folders down).
fn flush_tree(dir: &Path, depth: u32) -> Result<()> {
    let entries =
        fs::read_dir(dir).map_err(|e| Error::io("cannot list output", e).with_path(dir))?;
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_file() => File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io("cannot flush output", e).with_path(&path))?,
            Ok(t) if t.is_dir() && depth > 0 => {
                flush_tree(&path, depth - 1)?;
                flush_dir(&path);
            }
            _ => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Remote locators

/// A target that names something remote (`vi://…`, `http://…`), never a local path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteLocator {
    /// The scheme in lower case (`vi`, `http`, `https`, `ftp`, or another `scheme://`).
    pub scheme: String,
    /// The locator as given (lossy for non-UTF-8 bytes).
    pub text: String,
}

impl RemoteLocator {
    /// The schemes ovftool accepts as targets; any other `scheme://` prefix is remote too.
    pub const KNOWN_SCHEMES: &'static [&'static str] = &["vi", "http", "https", "ftp"];

    /// Recognises a remote locator: `SCHEME://…` where SCHEME is an RFC 3986 scheme
    /// (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`). This is the one place that decides
    /// whether a target is remote; commands that can deploy remotely dispatch on it, the others
    /// refuse it through [`local_target`].
    pub fn detect(target: &OsStr) -> Option<RemoteLocator> {
        let text = target.to_string_lossy();
        let (scheme, _) = text.split_once("://")?;
        let mut chars = scheme.chars();
        let first = chars.next()?;
        if !first.is_ascii_alphabetic()
            || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return None;
        }
        Some(RemoteLocator {
            scheme: scheme.to_ascii_lowercase(),
            text: text.into_owned(),
        })
    }

    /// Whether the scheme is `vi` (a vSphere inventory path).
    pub fn is_vi(&self) -> bool {
        self.scheme == "vi"
    }
}

/// Returns `path` when it is a local path; refuses a remote-looking locator.
///
/// # Errors
/// [`ErrorKind::Usage`] for `vi://`, `http(s)://`, `ftp://` or any other `scheme://` target.
pub fn local_target(path: &Path) -> Result<&Path> {
    match RemoteLocator::detect(path.as_os_str()) {
        None => Ok(path),
        Some(r) => Err(Error::usage(format!(
            "{}:// targets are not supported by this command: expected a local path, found {:?}",
            r.scheme, r.text
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// Registry of live temporary outputs (for interruption) and stale partials (for SIGKILL)

#[derive(Debug)]
enum Live {
    /// A temporary file or folder: removed.
    Partial(PathBuf),
    /// A folder created because it was missing: removed when empty.
    Created(PathBuf),
}

#[derive(Debug)]
struct Registry {
    next: u64,
    live: Vec<(u64, Live)>,
    swept: Vec<PathBuf>,
}

impl Registry {
    fn add(&mut self, l: Live) -> u64 {
        self.next += 1;
        self.live.push((self.next, l));
        self.next
    }

    fn remove(&mut self, id: u64) {
        self.live.retain(|(i, _)| *i != id);
    }
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 0,
    live: Vec::new(),
    swept: Vec::new(),
});

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

fn unregister(id: Option<u64>) {
    if let Some(id) = id {
        registry().remove(id);
    }
}

fn remove_any(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            // Another thread may still be creating files inside: retry a few times.
            for _ in 0..5 {
                if fs::remove_dir_all(path).is_ok() || fs::symlink_metadata(path).is_err() {
                    break;
                }
            }
        }
        Ok(_) => {
            let _ = fs::remove_file(path);
        }
        Err(_) => {}
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// How many [`RemoteWork`]s are alive.
static REMOTE_WORK: Mutex<usize> = Mutex::new(0);
static REMOTE_DONE: std::sync::Condvar = std::sync::Condvar::new();

/// Whether [`abandon_all`] was called: long-running work that changes something remote (a VM
/// being deployed) checks it, stops, and undoes what it made.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Held while a change outside this machine is in flight that must be undone when the command
/// is interrupted (a deploy's import lease and half-created VM). [`wait_for_remote_work`] waits
/// for every one to be dropped, after its owner saw [`interrupted`] and cleaned up.
#[derive(Debug)]
pub struct RemoteWork(());

impl RemoteWork {
    /// Registers remote work in flight until the returned value is dropped.
    pub fn begin() -> RemoteWork {
        if let Ok(mut n) = REMOTE_WORK.lock() {
            *n += 1;
        }
        RemoteWork(())
    }
}

impl Drop for RemoteWork {
    fn drop(&mut self) {
        if let Ok(mut n) = REMOTE_WORK.lock() {
            *n = n.saturating_sub(1);
        }
        REMOTE_DONE.notify_all();
    }
}

/// After [`abandon_all`]: waits up to `timeout` for every [`RemoteWork`] to end (its owner
/// undoing what it made on the server); `false` when some is still running.
pub fn wait_for_remote_work(timeout: std::time::Duration) -> bool {
    let Ok(n) = REMOTE_WORK.lock() else {
        return false;
    };
    REMOTE_DONE
        .wait_timeout_while(n, timeout, |n| *n > 0)
        .is_ok_and(|(n, _)| *n == 0)
}

/// Removes every temporary output of this process and every folder it created for an output
/// (when empty), then blocks all further output creation and commits, and marks the process
/// [`interrupted`]. Meant for a signal handler thread right before the process exits (after
/// [`wait_for_remote_work`]); outputs already committed stay.
pub fn abandon_all() {
    INTERRUPTED.store(true, Ordering::Relaxed);
    let guard = registry();
    for (_, l) in &guard.live {
        if let Live::Partial(p) = l {
            remove_any(p);
        }
    }
    for (_, l) in guard.live.iter().rev() {
        if let Live::Created(p) = l {
            let _ = fs::remove_dir(p);
        }
    }
    // Keep the lock: no other thread may create or rename an output before the exit.
    std::mem::forget(guard);
}

const PARTIAL: &str = ".partial-";

/// The prefix of every temporary name for `final_path`: `.NAME.partial-PID-`.
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}{PARTIAL}{}-", std::process::id())
}

/// The process id in a temporary name made by [`temp_prefix`], and what follows it.
fn partial_pid(name: &str) -> Option<(u32, &str)> {
    if !name.starts_with('.') {
        return None;
    }
    let at = name.rfind(PARTIAL)?;
    let rest = &name[at + PARTIAL.len()..];
    let (pid, tail) = rest.split_once('-')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((pid.parse().ok()?, tail))
}

fn process_exists(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return true;
    };
    match rustix::process::Pid::from_raw(raw) {
        // EPERM: it exists but belongs to someone else.
        Some(p) => !matches!(
            rustix::process::test_kill_process(p),
            Err(rustix::io::Errno::SRCH)
        ),
        None => true,
    }
}

/// Removes, in `dir`, the temporary outputs (`.NAME.partial-PID-…`) left by processes that no
/// longer exist (a run killed with SIGKILL), and finishes their interrupted group commits
/// (see the module docs). Returns what was removed. Partials of live processes, including this
/// one, are left alone.
///
/// # Security
/// Only entries whose name has the exact temporary shape are touched; folders among them are
/// ones this library created (a temporary folder, or a replaced previous output).
pub fn sweep_stale(dir: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return removed;
    };
    let me = std::process::id();
    for entry in rd.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((pid, tail)) = partial_pid(name) else {
            continue;
        };
        if pid == me || process_exists(pid) {
            continue;
        }
        let path = entry.path();
        if tail == "commit" {
            removed.extend(finish_journal(dir, &path));
        }
        remove_any(&path);
        removed.push(path);
    }
    removed
}

/// Sweeps `dir` once per process.
fn sweep_once(reg: &mut Registry, dir: &Path) {
    let key = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if reg.swept.contains(&key) {
        return;
    }
    reg.swept.push(key);
    sweep_stale(dir);
}

/// A dead process's group commit: when its last file (the descriptor) is missing, the parts
/// already renamed are orphans and are removed.
fn finish_journal(dir: &Path, journal: &Path) -> Vec<PathBuf> {
    let Ok(text) = fs::read_to_string(journal) else {
        return Vec::new();
    };
    let names: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let Some(last) = names.last() else {
        return Vec::new();
    };
    if crate::gate::plain_file_name(last).is_err() || dir.join(last).exists() {
        return Vec::new();
    }
    let mut removed = Vec::new();
    for n in &names[..names.len() - 1] {
        if crate::gate::plain_file_name(n).is_ok() {
            let p = dir.join(n);
            if fs::symlink_metadata(&p)
                .map(|m| m.is_file())
                .unwrap_or(false)
                && fs::remove_file(&p).is_ok()
            {
                removed.push(p);
            }
        }
    }
    removed
}

// ---------------------------------------------------------------------------------------------
// Folders created for an output

/// Folders created because an output's parent was missing; removed again (when empty, deepest
/// first) on drop unless [`CreatedDirs::keep`] is called.
#[derive(Debug, Default)]
pub struct CreatedDirs {
    dirs: Vec<(PathBuf, u64)>,
}

impl CreatedDirs {
    /// Keeps the folders (the output was committed).
    pub fn keep(mut self) {
        let mut reg = registry();
        for (_, id) in self.dirs.drain(..) {
            reg.remove(id);
        }
    }

    /// Whether any folder was created.
    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty()
    }
}

impl Drop for CreatedDirs {
    fn drop(&mut self) {
        if self.dirs.is_empty() {
            return;
        }
        for (p, _) in self.dirs.iter().rev() {
            let _ = fs::remove_dir(p);
        }
        let mut reg = registry();
        for (_, id) in self.dirs.drain(..) {
            reg.remove(id);
        }
    }
}

/// Creates `dir` and its missing parents (like `mkdir -p`), remembering which ones it created.
///
/// # Errors
/// [`ErrorKind::Usage`] for a remote locator; [`ErrorKind::Io`] (disk full, read-only, a file
/// in the way); the folders created so far are removed again.
pub fn create_dirs(dir: &Path) -> Result<CreatedDirs> {
    local_target(dir)?;
    let mut missing = Vec::new();
    let mut p = dir;
    while !p.as_os_str().is_empty() && fs::symlink_metadata(p).is_err() {
        missing.push(p.to_path_buf());
        match p.parent() {
            Some(q) => p = q,
            None => break,
        }
    }
    let mut created = CreatedDirs::default();
    for d in missing.into_iter().rev() {
        let mut reg = registry();
        match fs::create_dir(&d) {
            Ok(()) => {
                let id = reg.add(Live::Created(d.clone()));
                created.dirs.push((d, id));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                drop(reg);
                return Err(Error::io("cannot create folder", e).with_path(&d));
            }
        }
    }
    Ok(created)
}

// ---------------------------------------------------------------------------------------------
// Overwrite policy

/// Refuses an existing `path` unless `force`.
///
/// # Errors
/// [`ErrorKind::AlreadyExists`] when `path` exists and `force` is false.
pub fn check_overwrite(path: &Path, force: bool) -> Result<()> {
    if !force && fs::symlink_metadata(path).is_ok() {
        return Err(Error::new(ErrorKind::AlreadyExists, "output already exists").with_path(path));
    }
    Ok(())
}

fn is_current_dir(path: &Path) -> bool {
    if path
        .components()
        .all(|c| matches!(c, std::path::Component::CurDir))
    {
        return true;
    }
    match (fs::canonicalize(path), std::env::current_dir()) {
        (Ok(a), Ok(b)) => fs::canonicalize(b).map(|b| a == b).unwrap_or(false),
        _ => false,
    }
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_a: &fs::Metadata, _b: &fs::Metadata) -> bool {
    false
}

/// Refuses an output that would replace or contain one of the command's `inputs` (the input
/// itself and every file it reads: extents, parents, files beside a descriptor), or that is the
/// current folder. Inputs that do not exist (`-`) are ignored.
///
/// # Errors
/// [`ErrorKind::Usage`] naming the output and the input.
pub fn refuse_overlap<P: AsRef<Path>>(output: &Path, inputs: &[P]) -> Result<()> {
    if is_current_dir(output) {
        return Err(Error::usage(
            "the output is the current folder (.): expected a new or previous output's path",
        )
        .with_path(output));
    }
    let Ok(out_meta) = fs::symlink_metadata(output) else {
        return Ok(());
    };
    let out_canon = if out_meta.is_dir() {
        fs::canonicalize(output).ok()
    } else {
        None
    };
    for input in inputs {
        let input = input.as_ref();
        let Ok(in_meta) = fs::metadata(input) else {
            continue;
        };
        if same_file(&out_meta, &in_meta) {
            return Err(Error::usage(format!(
                "the output is an input of this command ({}): refusing to replace it",
                input.display()
            ))
            .with_path(output));
        }
        if let (Some(oc), Ok(ic)) = (&out_canon, fs::canonicalize(input)) {
            if ic.starts_with(oc) {
                return Err(Error::usage(format!(
                    "the output folder contains an input of this command ({}): refusing to replace it",
                    input.display()
                ))
                .with_path(output));
            }
        }
    }
    Ok(())
}

/// Checks that the existing folder `existing` is a previous output that a new output holding
/// `new_names` may replace: only regular files, all of them named in `new_names` (`None`: only
/// the shape is checked, before the new names are known).
fn check_previous_output(
    existing: &Path,
    new_names: Option<&HashSet<std::ffi::OsString>>,
) -> Result<()> {
    let rd = fs::read_dir(existing)
        .map_err(|e| Error::io("cannot list existing output", e).with_path(existing))?;
    for entry in rd {
        let entry =
            entry.map_err(|e| Error::io("cannot list existing output", e).with_path(existing))?;
        let name = entry.file_name();
        let meta = fs::symlink_metadata(entry.path())
            .map_err(|e| Error::io("cannot inspect", e).with_path(entry.path()))?;
        let why = if !meta.is_file() {
            Some("which is not a plain file")
        } else if new_names.is_some_and(|n| !n.contains(&name)) {
            Some("which this command does not write")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(Error::usage(format!(
                "the existing folder is not a previous output of this command: it holds {:?}, {why}; not replacing it (move it away or choose another output)",
                name
            ))
            .with_path(existing));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Pending outputs

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A file being written under a temporary name next to its final path.
#[derive(Debug)]
pub struct PendingFile {
    temp: Option<tempfile::NamedTempFile>,
    final_path: PathBuf,
    force: bool,
    token: Option<u64>,
    dirs: Option<CreatedDirs>,
}

impl PendingFile {
    /// Creates the temporary file for `final_path` (creating missing parent folders); fails
    /// early if `final_path` exists and not `force`, or is a folder.
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`]; [`ErrorKind::Usage`] for a remote locator or a folder in the
    /// way; [`ErrorKind::Io`] when the folder is not writable.
    pub fn create(final_path: &Path, force: bool) -> Result<Self> {
        local_target(final_path)?;
        check_overwrite(final_path, force)?;
        if fs::symlink_metadata(final_path).is_ok_and(|m| m.is_dir()) {
            return Err(
                Error::usage("the output is an existing folder: expected a file name")
                    .with_path(final_path),
            );
        }
        let dir = parent_of(final_path);
        let dirs = create_dirs(dir)?;
        let mut reg = registry();
        sweep_once(&mut reg, dir);
        let temp = tempfile::Builder::new()
            .prefix(&temp_prefix(final_path))
            .tempfile_in(dir)
            .map_err(|e| Error::io("cannot create temporary output", e).with_path(dir))?;
        let token = Some(reg.add(Live::Partial(temp.path().to_path_buf())));
        drop(reg);
        Ok(PendingFile {
            temp: Some(temp),
            final_path: final_path.to_path_buf(),
            force,
            token,
            dirs: Some(dirs),
        })
    }

    /// The open temporary file.
    pub fn file(&mut self) -> &mut File {
        // The Option is only None after commit, which consumes self.
        self.temp
            .as_mut()
            .map(|t| t.as_file_mut())
            .unwrap_or_else(|| unreachable_file())
    }

    /// A second handle on the open temporary file, for a writer that owns its file while this
    /// `PendingFile` waits to publish it.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the handle cannot be duplicated.
    pub fn file_handle(&mut self) -> Result<File> {
        self.file()
            .try_clone()
            .map_err(|e| Error::io("cannot open output", e).with_path(&self.final_path))
    }

    /// The temporary path (for tools that reopen it).
    pub fn temp_path(&self) -> Option<&Path> {
        self.temp.as_ref().map(|t| t.path())
    }

    /// The final path.
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// Flushes to stable storage when [`Durability`] asks for it, sets mode 0644 and renames to
    /// the final name.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] on sync/rename failure; [`ErrorKind::AlreadyExists`] if the final name
    /// appeared meanwhile and not `force`.
    pub fn commit(self) -> Result<PathBuf> {
        let path = self.final_path.clone();
        commit_group(vec![self])?;
        Ok(path)
    }

    fn sync(&self) -> Result<()> {
        let temp = self
            .temp
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Io, "output already committed"))?;
        if must_flush(&self.final_path) {
            temp.as_file()
                .sync_all()
                .map_err(|e| Error::io("cannot flush output", e).with_path(&self.final_path))?;
        }
        set_mode_0644(temp.path());
        Ok(())
    }

    /// Renames into place; the caller holds the registry lock (passed as `reg`).
    fn rename_locked(&mut self, reg: &mut Registry) -> Result<()> {
        let temp = self
            .temp
            .take()
            .ok_or_else(|| Error::new(ErrorKind::Io, "output already committed"))?;
        let result = if self.force {
            temp.persist(&self.final_path)
        } else {
            temp.persist_noclobber(&self.final_path)
        };
        if let Some(id) = self.token.take() {
            // Renamed, or removed with the error's file below: no longer a live partial.
            reg.remove(id);
        }
        result.map(drop).map_err(|e| {
            let kind = if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                ErrorKind::AlreadyExists
            } else {
                ErrorKind::Io
            };
            let _ = fs::remove_file(e.file.path());
            Error::new(kind, "cannot rename output into place")
                .with_source(e.error)
                .with_path(&self.final_path)
        })
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        // Remove the file first, then forget it: an interruption in between finds it listed.
        drop(self.temp.take());
        unregister(self.token.take());
    }
}

/// Commits files that form one output, in order, the last one (the descriptor) last. Before
/// the first rename a journal `.LAST.partial-PID-commit` lists the final names; if the process
/// dies between renames, [`sweep_stale`] removes the renamed parts of a group whose last file
/// never appeared. On a failed rename the parts already renamed are removed again.
///
/// # Errors
/// The first sync or rename failure ([`ErrorKind::Io`], [`ErrorKind::AlreadyExists`]).
pub fn commit_group(mut files: Vec<PendingFile>) -> Result<Vec<PathBuf>> {
    for f in &files {
        f.sync()?;
    }
    let mut reg = registry();
    let journal = match files.last() {
        Some(last) if files.len() > 1 => {
            let dir = parent_of(&last.final_path).to_path_buf();
            let mut text = String::new();
            for f in files.iter().filter(|f| parent_of(&f.final_path) == dir) {
                if let Some(n) = f.final_path.file_name() {
                    text.push_str(&n.to_string_lossy());
                    text.push('\n');
                }
            }
            let mut prefix = temp_prefix(&last.final_path);
            prefix.push_str("commit");
            let path = dir.join(prefix);
            let written = File::create(&path).and_then(|mut j| {
                j.write_all(text.as_bytes())?;
                if durability() == Durability::Always {
                    j.sync_all()?;
                }
                Ok(())
            });
            if let Err(e) = written {
                let _ = fs::remove_file(&path);
                drop(reg);
                return Err(Error::io("cannot write commit journal", e).with_path(&path));
            }
            Some(path)
        }
        _ => None,
    };
    let mut done = Vec::new();
    let mut failure = None;
    for f in files.iter_mut() {
        match f.rename_locked(&mut reg) {
            Ok(()) => done.push(f.final_path.clone()),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if failure.is_some() {
        for p in &done {
            let _ = fs::remove_file(p);
        }
    }
    if failure.is_none() && durability() == Durability::Always {
        let mut dirs: Vec<&Path> = files.iter().map(|f| parent_of(&f.final_path)).collect();
        dirs.dedup();
        for d in dirs {
            flush_dir(d);
        }
    }
    if let Some(j) = journal {
        let _ = fs::remove_file(j);
    }
    drop(reg);
    if let Some(e) = failure {
        return Err(e);
    }
    for f in files.iter_mut() {
        if let Some(d) = f.dirs.take() {
            d.keep();
        }
    }
    Ok(done)
}

#[allow(clippy::panic)]
fn unreachable_file() -> &'static mut File {
    // PendingFile::file is never reachable after commit (commit takes self by value).
    panic!("PendingFile used after commit")
}

#[cfg(unix)]
fn set_mode_0644(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o644));
}

#[cfg(not(unix))]
fn set_mode_0644(_path: &Path) {}

/// A folder being filled under a temporary name next to its final path.
#[derive(Debug)]
pub struct PendingDir {
    temp: Option<PathBuf>,
    final_path: PathBuf,
    force: bool,
    token: Option<u64>,
    dirs: Option<CreatedDirs>,
}

impl PendingDir {
    /// Creates the temporary folder for `final_path` (creating missing parent folders).
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`] if `final_path` exists and not `force`; [`ErrorKind::Usage`]
    /// for `.`, a remote locator, or (with `force`) an existing path that cannot be a previous
    /// output (a file, or a folder holding sub-folders or links); [`ErrorKind::Io`].
    pub fn create(final_path: &Path, force: bool) -> Result<Self> {
        local_target(final_path)?;
        if is_current_dir(final_path) {
            return Err(Error::usage(
                "the output folder is the current folder (.): expected a new folder",
            )
            .with_path(final_path));
        }
        check_overwrite(final_path, force)?;
        if let Ok(m) = fs::symlink_metadata(final_path) {
            if !m.is_dir() {
                return Err(Error::usage(
                    "the output exists and is not a folder: not replacing it",
                )
                .with_path(final_path));
            }
            check_previous_output(final_path, None)?;
        }
        Self::create_temp(final_path, force)
    }

    /// A scratch folder in `parent` (named `.LABEL.partial-PID-…`), removed on drop and on
    /// interruption; never committed.
    ///
    /// # Errors
    /// [`ErrorKind::Io`].
    pub fn scratch(parent: &Path, label: &str) -> Result<Self> {
        Self::create_temp(&parent.join(label), false)
    }

    fn create_temp(final_path: &Path, force: bool) -> Result<Self> {
        let dir = parent_of(final_path);
        let dirs = create_dirs(dir)?;
        let mut reg = registry();
        sweep_once(&mut reg, dir);
        let temp = tempfile::Builder::new()
            .prefix(&temp_prefix(final_path))
            .tempdir_in(dir)
            .map_err(|e| Error::io("cannot create temporary folder", e).with_path(dir))?
            .keep();
        let token = Some(reg.add(Live::Partial(temp.clone())));
        drop(reg);
        Ok(PendingDir {
            temp: Some(temp),
            final_path: final_path.to_path_buf(),
            force,
            token,
            dirs: Some(dirs),
        })
    }

    /// The temporary folder to write into.
    pub fn path(&self) -> &Path {
        self.temp.as_deref().unwrap_or(&self.final_path)
    }

    /// The final path.
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// Renames the folder to its final name. With `force`, an existing folder is replaced only
    /// when it is a previous output of the same command: it holds only regular files, each named
    /// like a file of the new output (see the module docs).
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`]; [`ErrorKind::Usage`] for a folder that is not a previous
    /// output; [`ErrorKind::Io`].
    pub fn commit(mut self) -> Result<PathBuf> {
        let temp = self
            .temp
            .clone()
            .ok_or_else(|| Error::new(ErrorKind::Io, "output already committed"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&temp, fs::Permissions::from_mode(0o755));
        }
        if must_flush(&self.final_path) {
            // Import writes at most <vapp>/<vm>/ below the output.
            flush_tree(&temp, 2)?;
            flush_dir(&temp);
        }
        let mut reg = registry();
        let mut aside = None;
        if let Ok(meta) = fs::symlink_metadata(&self.final_path) {
            if !self.force {
                return Err(
                    Error::new(ErrorKind::AlreadyExists, "output already exists")
                        .with_path(&self.final_path),
                );
            }
            if !meta.is_dir() {
                return Err(Error::usage(
                    "the output exists and is not a folder: not replacing it",
                )
                .with_path(&self.final_path));
            }
            let new_names: HashSet<std::ffi::OsString> = fs::read_dir(&temp)
                .map_err(|e| Error::io("cannot list output", e).with_path(&temp))?
                .flatten()
                .map(|e| e.file_name())
                .collect();
            check_previous_output(&self.final_path, Some(&new_names))?;
            let mut name = temp_prefix(&self.final_path);
            name.push_str("replaced");
            let a = parent_of(&self.final_path).join(name);
            fs::rename(&self.final_path, &a).map_err(|e| {
                Error::io("cannot move the previous output aside", e).with_path(&self.final_path)
            })?;
            aside = Some(a);
        }
        if let Err(e) = fs::rename(&temp, &self.final_path) {
            if let Some(a) = &aside {
                let _ = fs::rename(a, &self.final_path);
            }
            return Err(
                Error::io("cannot rename output folder into place", e).with_path(&self.final_path)
            );
        }
        if let Some(a) = &aside {
            remove_any(a);
        }
        self.temp = None;
        if let Some(id) = self.token.take() {
            reg.remove(id);
        }
        drop(reg);
        if durability() == Durability::Always {
            flush_dir(parent_of(&self.final_path));
        }
        if let Some(d) = self.dirs.take() {
            d.keep();
        }
        Ok(self.final_path.clone())
    }
}

impl Drop for PendingDir {
    fn drop(&mut self) {
        if let Some(t) = self.temp.take() {
            remove_any(&t);
        }
        unregister(self.token.take());
    }
}

/// Creates an empty file exclusively in `dir` (which the caller owns, e.g. a [`PendingDir`]),
/// after checking `name` with [`crate::gate::plain_file_name`].
///
/// # Errors
/// [`ErrorKind::UnsafePath`] for a bad name, [`ErrorKind::AlreadyExists`] for a duplicate.
pub fn create_in(dir: &Path, name: &str) -> Result<File> {
    let name = crate::gate::plain_file_name(name)?;
    let path = dir.join(name);
    fs::OpenOptions::new()
        .write(true)
        .read(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::new(ErrorKind::AlreadyExists, "duplicate output file").with_entry(name)
            } else {
                Error::io("cannot create file", e).with_path(&path)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn flushed_outputs_commit_like_the_others() {
        // Every mode publishes the same bytes; Always also flushes files, nested folders and
        // the folders they land in. (The setting is process-wide: other tests running meanwhile
        // only get slower.)
        assert_eq!(durability(), Durability::Replacing);
        let dir = tempfile::tempdir().unwrap();
        let replaced = dir.path().join("old.ova");
        fs::write(&replaced, b"old").unwrap();
        assert!(must_flush(&replaced));
        assert!(!must_flush(&dir.path().join("new.ova")));
        let mut p = PendingFile::create(&replaced, true).unwrap();
        p.file().write_all(b"new").unwrap();
        p.commit().unwrap();
        assert_eq!(fs::read(&replaced).unwrap(), b"new");
        set_durability(Durability::Always);
        let target = dir.path().join("vm");
        let p = PendingDir::create(&target, false).unwrap();
        fs::create_dir_all(p.path().join("app/vm1")).unwrap();
        fs::write(p.path().join("app/vm1/vm1.vmx"), b"x").unwrap();
        let written = p.commit();
        let file = dir.path().join("a.ova");
        let mut f = PendingFile::create(&file, false).unwrap();
        f.file().write_all(b"a").unwrap();
        let committed = f.commit();
        set_durability(Durability::Replacing);
        written.unwrap();
        committed.unwrap();
        assert_eq!(fs::read(target.join("app/vm1/vm1.vmx")).unwrap(), b"x");
        assert_eq!(fs::read(&file).unwrap(), b"a");
    }

    #[test]
    fn file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.ova");
        let mut p = PendingFile::create(&target, false).unwrap();
        p.file().write_all(b"data").unwrap();
        assert!(!target.exists());
        p.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"data");
        assert_eq!(
            PendingFile::create(&target, false).unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
    }

    #[test]
    fn dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.ova");
        {
            let mut p = PendingFile::create(&target, false).unwrap();
            p.file().write_all(b"data").unwrap();
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn dir_commit_and_drop() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("vm");
        {
            let p = PendingDir::create(&target, false).unwrap();
            create_in(p.path(), "a.vmx").unwrap();
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        let p = PendingDir::create(&target, false).unwrap();
        create_in(p.path(), "a.vmx").unwrap();
        assert!(create_in(p.path(), "../b").is_err());
        p.commit().unwrap();
        assert!(target.join("a.vmx").exists());
    }
}
