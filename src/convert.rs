//! Converting one virtual disk into another layout through the one disk pipeline: the library
//! side of `ovftool-rs convert`.
//!
//! The input is recognised by its content (streamOptimized, any other VMDK with its extents and
//! snapshot chain, or a raw image); the output is written under temporary names and renamed
//! when complete.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::codec;
use crate::disk::{copy, CopyOptions, SinkOptions};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::progress::Progress;
use crate::vm::AdapterType;
use crate::vmdk::layout::{create_sink, Layout};

/// Settings of [`convert`].
#[derive(Clone)]
pub struct ConvertOptions {
    /// The layout to write.
    pub layout: Layout,
    /// Worker threads for (de)compression; 0 = all cores.
    pub threads: usize,
    /// Deflate level for stream-optimized output: 0 to [`codec::MAX_LEVEL`].
    pub compression_level: u32,
    /// `ddb.adapterType` of the output descriptor (the geometry follows it).
    pub adapter_type: AdapterType,
    /// Replace existing outputs. Never an input of the conversion: those are refused whatever
    /// this says.
    pub force: bool,
    /// Caps on what is read from the input.
    pub limits: Limits,
    /// Receives progress of the copy (`None`: none reported).
    pub progress: Option<Arc<dyn Progress>>,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            layout: Layout::StreamOptimized,
            threads: 0,
            compression_level: codec::DEFAULT_LEVEL,
            adapter_type: AdapterType::default(),
            force: false,
            limits: Limits::default(),
            progress: None,
        }
    }
}

impl fmt::Debug for ConvertOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConvertOptions")
            .field("layout", &self.layout)
            .field("threads", &self.threads)
            .field("compression_level", &self.compression_level)
            .field("adapter_type", &self.adapter_type)
            .field("force", &self.force)
            .field("limits", &self.limits)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// One file written by [`convert`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConvertedFile {
    /// The file (descriptor first, then extents).
    #[serde(serialize_with = "crate::json_path::serialize")]
    pub path: PathBuf,
    /// Its size in bytes.
    pub size_bytes: u64,
}

/// What [`convert`] did.
#[derive(Debug, Clone, Serialize)]
pub struct ConvertReport {
    /// The disk read.
    #[serde(serialize_with = "crate::json_path::serialize")]
    pub input: PathBuf,
    /// The output path given (the descriptor for layouts with separate extents).
    #[serde(serialize_with = "crate::json_path::serialize")]
    pub output: PathBuf,
    /// The layout written.
    pub layout: Layout,
    /// Capacity of the disk in bytes.
    pub capacity_bytes: u64,
    /// Bytes of non-zero data copied.
    pub data_bytes: u64,
    /// Grains that were all zeros and were not written.
    pub zero_grains: u64,
    /// Bytes stored in the output (after compression, with metadata).
    pub stored_bytes: u64,
    /// Every file written.
    pub files: Vec<ConvertedFile>,
    /// Wall-clock time of the conversion.
    pub seconds: f64,
    /// Remarks about the input (e.g. a `.vmdk` name on a raw image).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Converts the disk at `input` into `opts.layout` at `output`.
///
/// Every file the output consists of (the descriptor and each extent it will write, such as
/// `d-flat.vmdk` or `d-s001.vmdk`) is checked against every file of the input (descriptor,
/// extents, parents) before anything is written.
///
/// # Errors
/// [`crate::ErrorKind::Usage`] when an output file is an input file (whatever `opts.force`
/// says), for a compression level above [`codec::MAX_LEVEL`] or a foreign image format;
/// [`crate::ErrorKind::AlreadyExists`] for an existing output without `opts.force`; corrupt or
/// unsupported input and I/O errors, each naming the file.
///
/// # Security
/// The input's extent and parent names pass through [`crate::gate`]; sizes read from it are
/// bounded by `opts.limits`. No output file may be one of the input's files.
pub fn convert(input: &Path, output: &Path, opts: &ConvertOptions) -> Result<ConvertReport> {
    if opts.compression_level > codec::MAX_LEVEL {
        return Err(Error::usage(format!(
            "bad compression level: expected 0 to {}, found {}",
            codec::MAX_LEVEL,
            opts.compression_level
        )));
    }
    let started = Instant::now();
    let mut warnings = Vec::new();
    // By content: a foreign image (VHD, qcow2...) or a package is refused by name in `open`;
    // a raw image whose name promises a VMDK gets a warning.
    let sniffed = crate::sniff::sniff_path(input)?;
    if let Some(note) = sniffed.note {
        warnings.push(note);
    }
    if crate::sniff::gzip_read_as_raw(input, sniffed.content) {
        warnings.push(
            "the image starts with a gzip header; read as a raw image (gunzip it first if it is a compressed file)"
                .to_string(),
        );
    }
    let mut source = crate::open_disk(input, &opts.limits)?;
    let capacity = source.capacity_bytes();
    let inputs = source.files();
    for out in opts.layout.output_files(output, capacity)? {
        crate::output::refuse_overlap(&out, &inputs)?;
    }
    // Identifiers in the output descriptor derive from the input's name and size: the same
    // conversion gives the same bytes.
    let identity = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned().into_bytes())
        .unwrap_or_default();
    let sink_opts = SinkOptions {
        force: opts.force,
        adapter_type: opts.adapter_type,
        compression_level: opts.compression_level,
        identity,
        ..SinkOptions::default()
    };
    let mut sink = create_sink(output, opts.layout, capacity, &sink_opts)?;
    let progress = crate::progress::of(&opts.progress);
    progress.start(
        &output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "convert".into()),
        Some(capacity),
    );
    let pipeline = CopyOptions {
        threads: opts.threads,
        ..CopyOptions::default()
    };
    let stats = copy(source.as_mut(), sink.as_mut(), &pipeline, progress);
    progress.finish();
    let stats = stats?;
    let written = sink.finish()?;
    Ok(ConvertReport {
        input: input.to_path_buf(),
        output: output.to_path_buf(),
        layout: opts.layout,
        capacity_bytes: capacity,
        data_bytes: stats.data_bytes,
        zero_grains: stats.zero_grains,
        stored_bytes: written.stored_bytes,
        files: written
            .files
            .into_iter()
            .map(|(path, size_bytes)| ConvertedFile { path, size_bytes })
            .collect(),
        seconds: started.elapsed().as_secs_f64(),
        warnings,
    })
}
