//! Every output layout of `convert --to`, with ovftool's spellings as aliases, and
//! [`create_sink`] to make the matching [`DiskSink`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::disk::{DiskSink, SinkOptions};
use crate::error::{Error, Result};
use crate::vmdk::hosted::HostedLayout;

/// A disk layout that can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// streamOptimized: compressed grains with markers, the OVA disk format.
    StreamOptimized,
    /// monolithicSparse: one growable hosted sparse file with an embedded descriptor.
    MonolithicSparse,
    /// monolithicFlat: descriptor + one preallocated `-flat.vmdk`.
    MonolithicFlat,
    /// twoGbMaxExtentSparse: descriptor + sparse extents of at most 2 GiB.
    TwoGbSparse,
    /// twoGbMaxExtentFlat: descriptor + flat extents of at most 2 GiB.
    TwoGbFlat,
    /// vSphere thin: `vmfs` descriptor with `ddb.thinProvisioned`, sparse `-flat.vmdk`.
    Thin,
    /// vSphere thick lazy-zeroed: `vmfs` descriptor, `-flat.vmdk` of full length.
    Thick,
    /// vSphere eager-zeroed thick: like thick, every block allocated and zeroed.
    EagerZeroedThick,
    /// A raw image (sparse file).
    Raw,
}

impl Layout {
    /// Every layout, in `--help` order.
    pub const ALL: [Layout; 9] = [
        Layout::StreamOptimized,
        Layout::MonolithicSparse,
        Layout::MonolithicFlat,
        Layout::TwoGbSparse,
        Layout::TwoGbFlat,
        Layout::Thin,
        Layout::Thick,
        Layout::EagerZeroedThick,
        Layout::Raw,
    ];

    /// The canonical (kebab-case) name.
    pub fn name(self) -> &'static str {
        match self {
            Layout::StreamOptimized => "stream-optimized",
            Layout::MonolithicSparse => "monolithic-sparse",
            Layout::MonolithicFlat => "monolithic-flat",
            Layout::TwoGbSparse => "two-gb-sparse",
            Layout::TwoGbFlat => "two-gb-flat",
            Layout::Thin => "thin",
            Layout::Thick => "thick",
            Layout::EagerZeroedThick => "eager-zeroed-thick",
            Layout::Raw => "raw",
        }
    }

    /// The `createType` / ovftool `--diskMode` spelling.
    pub fn vmware_name(self) -> &'static str {
        match self {
            Layout::StreamOptimized => "streamOptimized",
            Layout::MonolithicSparse => "monolithicSparse",
            Layout::MonolithicFlat => "monolithicFlat",
            Layout::TwoGbSparse => "twoGbMaxExtentSparse",
            Layout::TwoGbFlat => "twoGbMaxExtentFlat",
            Layout::Thin => "thin",
            Layout::Thick => "thick",
            Layout::EagerZeroedThick => "eagerZeroedThick",
            Layout::Raw => "raw",
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Layout {
    /// As its canonical name.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl FromStr for Layout {
    type Err = Error;

    /// Accepts the canonical names and ovftool's spellings, case-insensitively, with or without
    /// `-`/`_`: `streamOptimized`, `monolithicSparse`/`sparse`, `monolithicFlat`/`flat`,
    /// `twoGbMaxExtentSparse`/`2GbMaxExtentSparse`, `twoGbMaxExtentFlat`, `thin`, `thick`
    /// (also `zeroedThick`, `lazyZeroedThick`, `preallocated`), `eagerZeroedThick`, `raw`/`img`.
    fn from_str(s: &str) -> Result<Self> {
        let key: String = s
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        let layout = match key.as_str() {
            "streamoptimized" | "stream" | "vmdk" => Layout::StreamOptimized,
            "monolithicsparse" | "sparse" => Layout::MonolithicSparse,
            "monolithicflat" | "flat" => Layout::MonolithicFlat,
            "twogbsparse" | "twogbmaxextentsparse" | "2gbmaxextentsparse" | "2gbsparse" => {
                Layout::TwoGbSparse
            }
            "twogbflat" | "twogbmaxextentflat" | "2gbmaxextentflat" | "2gbflat" => {
                Layout::TwoGbFlat
            }
            "thin" | "vmfsthin" => Layout::Thin,
            "thick" | "zeroedthick" | "lazyzeroedthick" | "preallocated" | "vmfspreallocated" => {
                Layout::Thick
            }
            "eagerzeroedthick" | "eagerzeroed" | "vmfseagerzeroedthick" => Layout::EagerZeroedThick,
            "raw" | "img" => Layout::Raw,
            _ => {
                let names: Vec<&str> = Layout::ALL.iter().map(|l| l.name()).collect();
                return Err(Error::usage(format!(
                    "unknown disk layout: expected one of {}, found {s:?}",
                    names.join(", ")
                )));
            }
        };
        Ok(layout)
    }
}

/// Creates a sink writing `layout` at `path` for a disk of `capacity_bytes`. The output appears
/// under `path` only when the sink's `finish` succeeds.
///
/// # Errors
/// [`crate::ErrorKind::AlreadyExists`] without `opts.force`; usage and I/O errors.
pub fn create_sink(
    path: &Path,
    layout: Layout,
    capacity_bytes: u64,
    opts: &SinkOptions,
) -> Result<Box<dyn DiskSink>> {
    match layout {
        Layout::StreamOptimized => Ok(Box::new(
            crate::vmdk::stream_writer::StreamFileSink::create(path, capacity_bytes, opts)?,
        )),
        Layout::Raw => Ok(Box::new(crate::vmdk::raw::RawSink::create(
            path,
            capacity_bytes,
            opts,
        )?)),
        other => hosted_sink(path, other, capacity_bytes, opts),
    }
}

fn hosted_sink(
    path: &Path,
    layout: Layout,
    capacity_bytes: u64,
    opts: &SinkOptions,
) -> Result<Box<dyn DiskSink>> {
    let Some(hosted_layout) = layout.hosted() else {
        return Err(
            Error::usage(format!("{} is not a hosted layout", layout.vmware_name()))
                .with_path(path),
        );
    };
    crate::vmdk::hosted::create_hosted_sink(path, hosted_layout, capacity_bytes, opts)
}

impl Layout {
    /// The hosted/vSphere layout this is, `None` for streamOptimized and raw.
    fn hosted(self) -> Option<HostedLayout> {
        Some(match self {
            Layout::MonolithicSparse => HostedLayout::MonolithicSparse,
            Layout::TwoGbSparse => HostedLayout::TwoGbSparse,
            Layout::MonolithicFlat => HostedLayout::MonolithicFlat,
            Layout::TwoGbFlat => HostedLayout::TwoGbFlat,
            Layout::Thin => HostedLayout::Thin,
            Layout::Thick => HostedLayout::Thick,
            Layout::EagerZeroedThick => HostedLayout::EagerZeroedThick,
            Layout::StreamOptimized | Layout::Raw => return None,
        })
    }

    /// Every file [`create_sink`] writes for this layout at `path` and a disk of
    /// `capacity_bytes`: `path` first, then the extents named after it (`d-flat.vmdk`,
    /// `d-s001.vmdk`...), so that a caller can check them all before writing any.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] for a path without a UTF-8 file name (hosted layouts) or a
    /// capacity that overflows.
    pub fn output_files(self, path: &Path, capacity_bytes: u64) -> Result<Vec<PathBuf>> {
        match self.hosted() {
            Some(h) => crate::vmdk::hosted::output_files(path, h, capacity_bytes),
            None => Ok(vec![path.to_path_buf()]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases() {
        for l in Layout::ALL {
            assert_eq!(l.name().parse::<Layout>().unwrap(), l);
            assert_eq!(l.vmware_name().parse::<Layout>().unwrap(), l);
        }
        assert_eq!(
            "eagerZeroedThick".parse::<Layout>().unwrap(),
            Layout::EagerZeroedThick
        );
        assert_eq!(
            "sparse".parse::<Layout>().unwrap(),
            Layout::MonolithicSparse
        );
        assert!("bogus".parse::<Layout>().is_err());
    }
}
