//! The fixed value sets of the command line as `clap::ValueEnum`s, so that `--help` lists them,
//! shell completion offers them and a typo is refused (exit 2) with the list of good values.
//!
//! Each enum lists only what its command accepts (import writes hosted layouts only, so its
//! `--disk-mode` offers neither `stream-optimized` nor `raw`). The kebab-case names are ours;
//! VMware ovftool's spellings (`eagerZeroedThick`, `twoGbMaxExtentSparse`, `SHA256`...) are
//! accepted as hidden aliases, case-insensitively (the arguments set `ignore_case`). The
//! library types stay free of clap: each enum converts into its library counterpart.

use clap::ValueEnum;
use ovftool::digest::Algorithm;
use ovftool::export::Target;
use ovftool::ovf::OvfVersion;
use ovftool::transform::retarget::Target as RetargetTarget;
use ovftool::vm::AdapterType;
use ovftool::vm::{ControllerKind, NicAdapter};
use ovftool::vmdk::layout::Layout;

/// `import --disk-mode`: the hosted layouts a VM folder can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportDiskMode {
    /// Sparse flat extent, space allocated on write (ovftool: thin).
    #[value(alias = "vmfsThin")]
    Thin,
    /// Preallocated flat extent, zeroed lazily (ovftool: thick).
    #[value(
        alias = "zeroedThick",
        alias = "lazyZeroedThick",
        alias = "preallocated"
    )]
    Thick,
    /// Preallocated flat extent with every byte written (ovftool: eagerZeroedThick).
    #[value(alias = "eagerZeroedThick", alias = "eagerZeroed")]
    EagerZeroedThick,
    /// One hosted sparse extent (ovftool: monolithicSparse, sparse).
    #[value(alias = "monolithicSparse", alias = "sparse")]
    MonolithicSparse,
    /// One flat extent beside a descriptor (ovftool: monolithicFlat, flat).
    #[value(alias = "monolithicFlat", alias = "flat")]
    MonolithicFlat,
    /// Hosted sparse extents of at most 2 GiB (ovftool: twoGbMaxExtentSparse).
    #[value(alias = "twoGbMaxExtentSparse", alias = "twoGbSparse")]
    TwoGbSparse,
    /// Flat extents of at most 2 GiB (ovftool: twoGbMaxExtentFlat).
    #[value(alias = "twoGbMaxExtentFlat", alias = "twoGbFlat")]
    TwoGbFlat,
}

impl From<ImportDiskMode> for Layout {
    fn from(m: ImportDiskMode) -> Layout {
        match m {
            ImportDiskMode::Thin => Layout::Thin,
            ImportDiskMode::Thick => Layout::Thick,
            ImportDiskMode::EagerZeroedThick => Layout::EagerZeroedThick,
            ImportDiskMode::MonolithicSparse => Layout::MonolithicSparse,
            ImportDiskMode::MonolithicFlat => Layout::MonolithicFlat,
            ImportDiskMode::TwoGbSparse => Layout::TwoGbSparse,
            ImportDiskMode::TwoGbFlat => Layout::TwoGbFlat,
        }
    }
}

impl ImportDiskMode {
    /// The canonical (kebab-case) name, as `--help` and the options file spell it.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

/// `convert --to`: every layout the disk pipeline writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConvertLayout {
    /// Compressed, append-only VMDK for OVA packages (ovftool: streamOptimized).
    #[value(alias = "streamOptimized", alias = "stream")]
    StreamOptimized,
    /// One hosted sparse extent (ovftool: monolithicSparse).
    #[value(alias = "monolithicSparse", alias = "sparse")]
    MonolithicSparse,
    /// One flat extent beside a descriptor (ovftool: monolithicFlat).
    #[value(alias = "monolithicFlat", alias = "flat")]
    MonolithicFlat,
    /// Hosted sparse extents of at most 2 GiB (ovftool: twoGbMaxExtentSparse).
    #[value(alias = "twoGbMaxExtentSparse", alias = "twoGbSparse")]
    TwoGbSparse,
    /// Flat extents of at most 2 GiB (ovftool: twoGbMaxExtentFlat).
    #[value(alias = "twoGbMaxExtentFlat", alias = "twoGbFlat")]
    TwoGbFlat,
    /// ESXi-style sparse flat extent (ovftool: thin).
    #[value(alias = "vmfsThin")]
    Thin,
    /// ESXi-style preallocated flat extent, zeroed lazily (ovftool: thick).
    #[value(
        alias = "zeroedThick",
        alias = "lazyZeroedThick",
        alias = "preallocated"
    )]
    Thick,
    /// ESXi-style preallocated flat extent, every byte written (ovftool: eagerZeroedThick).
    #[value(alias = "eagerZeroedThick", alias = "eagerZeroed")]
    EagerZeroedThick,
    /// A raw image: the disk's bytes, holes kept sparse.
    #[value(alias = "img")]
    Raw,
}

impl From<ConvertLayout> for Layout {
    fn from(l: ConvertLayout) -> Layout {
        match l {
            ConvertLayout::StreamOptimized => Layout::StreamOptimized,
            ConvertLayout::MonolithicSparse => Layout::MonolithicSparse,
            ConvertLayout::MonolithicFlat => Layout::MonolithicFlat,
            ConvertLayout::TwoGbSparse => Layout::TwoGbSparse,
            ConvertLayout::TwoGbFlat => Layout::TwoGbFlat,
            ConvertLayout::Thin => Layout::Thin,
            ConvertLayout::Thick => Layout::Thick,
            ConvertLayout::EagerZeroedThick => Layout::EagerZeroedThick,
            ConvertLayout::Raw => Layout::Raw,
        }
    }
}

/// `--manifest` / ovftool's `--shaAlgorithm`: the manifest digest, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ManifestChoice {
    /// SHA-1 (OVF 1.x era tools, ESXi 6).
    #[value(alias = "sha-1")]
    Sha1,
    /// SHA-256 (ovftool 4.2 and later).
    #[value(alias = "sha-256")]
    Sha256,
    /// SHA-512.
    #[value(alias = "sha-512")]
    Sha512,
    /// No manifest (and so no signature).
    None,
}

impl ManifestChoice {
    /// The digest, `None` for no manifest.
    pub fn algorithm(self) -> Option<Algorithm> {
        match self {
            ManifestChoice::Sha1 => Some(Algorithm::Sha1),
            ManifestChoice::Sha256 => Some(Algorithm::Sha256),
            ManifestChoice::Sha512 => Some(Algorithm::Sha512),
            ManifestChoice::None => None,
        }
    }
}

/// `export --ovf-version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OvfVersionChoice {
    /// DSP0243 1.x (what every ESXi and Workstation imports).
    #[value(name = "1.0", alias = "1", alias = "1.1")]
    V1,
    /// DSP0243 2.x.
    #[value(name = "2.0", alias = "2")]
    V2,
}

impl From<OvfVersionChoice> for OvfVersion {
    fn from(v: OvfVersionChoice) -> OvfVersion {
        match v {
            OvfVersionChoice::V1 => OvfVersion::V1,
            OvfVersionChoice::V2 => OvfVersion::V2,
        }
    }
}

/// `export --target`: where the package will be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetChoice {
    /// ESXi 6.x (SHA-1 manifest, OVF 1.0, hardware up to vmx-11).
    Esxi6,
    /// ESXi 7.x (SHA-256, OVF 1.0, up to vmx-17).
    Esxi7,
    /// ESXi 8.x (SHA-256, OVF 1.0, up to vmx-20).
    Esxi8,
    /// VMware Workstation / Fusion (SHA-256, OVF 1.0, up to vmx-21).
    Workstation,
    /// VirtualBox (SHA-1, OVF 1.0, up to vmx-14).
    Virtualbox,
}

impl From<TargetChoice> for Target {
    fn from(t: TargetChoice) -> Target {
        match t {
            TargetChoice::Esxi6 => Target::Esxi6,
            TargetChoice::Esxi7 => Target::Esxi7,
            TargetChoice::Esxi8 => Target::Esxi8,
            TargetChoice::Workstation => Target::Workstation,
            TargetChoice::Virtualbox => Target::Virtualbox,
        }
    }
}

/// `convert --adapter-type`: the `ddb.adapterType` of the output descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AdapterChoice {
    /// IDE (also used for SATA disks; 16 heads in the geometry).
    #[value(alias = "ata", alias = "sata")]
    Ide,
    /// BusLogic SCSI.
    Buslogic,
    /// LSI Logic SCSI (also what ESXi writes for LSI SAS, PVSCSI and NVMe disks).
    #[value(alias = "lsilogicsas", alias = "pvscsi", alias = "nvme")]
    Lsilogic,
    /// Legacy ESX.
    #[value(name = "legacyESX", alias = "legacy-esx")]
    LegacyEsx,
}

impl From<AdapterChoice> for AdapterType {
    fn from(a: AdapterChoice) -> AdapterType {
        match a {
            AdapterChoice::Ide => AdapterType::Ide,
            AdapterChoice::Buslogic => AdapterType::BusLogic,
            AdapterChoice::Lsilogic => AdapterType::LsiLogic,
            AdapterChoice::LegacyEsx => AdapterType::LegacyEsx,
        }
    }
}

/// `edit --nic-type`: the NIC adapter types (the OVF and vmx spellings are aliases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NicTypeChoice {
    /// VMXNET 3 (OVF VmxNet3).
    Vmxnet3,
    /// Intel E1000.
    E1000,
    /// Intel E1000e.
    E1000e,
    /// AMD PCnet32 (OVF PCNet32; vmx vlance).
    #[value(alias = "vlance")]
    Pcnet32,
    /// VMXNET 2 enhanced (OVF VmxNet2).
    Vmxnet2,
    /// Flexible (OVF VmxNet; vmx vmxnet).
    #[value(alias = "vmxnet")]
    Flexible,
}

impl From<NicTypeChoice> for NicAdapter {
    fn from(t: NicTypeChoice) -> NicAdapter {
        match t {
            NicTypeChoice::Vmxnet3 => NicAdapter::VmxNet3,
            NicTypeChoice::E1000 => NicAdapter::E1000,
            NicTypeChoice::E1000e => NicAdapter::E1000e,
            NicTypeChoice::Pcnet32 => NicAdapter::Vlance,
            NicTypeChoice::Vmxnet2 => NicAdapter::VmxNet2,
            NicTypeChoice::Flexible => NicAdapter::Flexible,
        }
    }
}

/// `edit --scsi-type`: the SCSI controller kinds (OVF ResourceSubType and vmx spellings are
/// aliases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScsiTypeChoice {
    /// LSI Logic parallel.
    Lsilogic,
    /// LSI Logic SAS (vmx lsisas1068).
    #[value(alias = "lsisas1068")]
    Lsilogicsas,
    /// BusLogic parallel.
    Buslogic,
    /// VMware paravirtual SCSI (OVF VirtualSCSI).
    #[value(alias = "virtualscsi")]
    Pvscsi,
}

impl From<ScsiTypeChoice> for ControllerKind {
    fn from(t: ScsiTypeChoice) -> ControllerKind {
        match t {
            ScsiTypeChoice::Lsilogic => ControllerKind::LsiLogic,
            ScsiTypeChoice::Lsilogicsas => ControllerKind::LsiLogicSas,
            ScsiTypeChoice::Buslogic => ControllerKind::BusLogic,
            ScsiTypeChoice::Pvscsi => ControllerKind::Pvscsi,
        }
    }
}

/// `retarget --for`: the library's targets, named as the library names them (one list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetargetChoice(pub RetargetTarget);

/// Every `retarget` target, for clap.
static RETARGET_CHOICES: [RetargetChoice; RetargetTarget::ALL.len()] = {
    let mut out = [RetargetChoice(RetargetTarget::ALL[0]); RetargetTarget::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = RetargetChoice(RetargetTarget::ALL[i]);
        i += 1;
    }
    out
};

impl ValueEnum for RetargetChoice {
    fn value_variants<'a>() -> &'a [Self] {
        &RETARGET_CHOICES
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every canonical name and alias maps to the library layout of the same name, so the two
    /// spellings tables cannot drift apart.
    #[test]
    fn layout_names_agree_with_the_library() {
        for v in ConvertLayout::value_variants() {
            let pv = v.to_possible_value().unwrap();
            let lib: Layout = (*v).into();
            assert_eq!(pv.get_name(), lib.name());
            for alias in pv.get_name_and_aliases() {
                assert_eq!(alias.parse::<Layout>().unwrap(), lib, "{alias}");
            }
        }
        for v in ImportDiskMode::value_variants() {
            let lib: Layout = (*v).into();
            assert_eq!(v.name(), lib.name());
        }
    }

    /// Every NIC and SCSI name and alias means to the library's descriptor reader what it
    /// means on the command line (one list of spellings).
    #[test]
    fn device_type_names_agree_with_the_library() {
        for v in NicTypeChoice::value_variants() {
            let pv = v.to_possible_value().unwrap();
            for name in pv.get_name_and_aliases() {
                assert_eq!(
                    ovftool::transform::edit::parse_nic_type(name),
                    Some(NicAdapter::from(*v)),
                    "{name}"
                );
            }
        }
        for v in ScsiTypeChoice::value_variants() {
            let pv = v.to_possible_value().unwrap();
            for name in pv.get_name_and_aliases() {
                assert_eq!(
                    ovftool::transform::edit::parse_scsi_type(name),
                    Some(ControllerKind::from(*v)),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn ovftool_spellings_parse_case_insensitively() {
        assert_eq!(
            ImportDiskMode::from_str("eagerZeroedThick", true).unwrap(),
            ImportDiskMode::EagerZeroedThick
        );
        assert_eq!(
            ConvertLayout::from_str("STREAMOPTIMIZED", true).unwrap(),
            ConvertLayout::StreamOptimized
        );
        assert_eq!(
            ManifestChoice::from_str("SHA256", true).unwrap(),
            ManifestChoice::Sha256
        );
        assert!(ImportDiskMode::from_str("stream-optimized", true).is_err());
        assert!(ImportDiskMode::from_str("raw", true).is_err());
        assert_eq!(
            RetargetChoice::from_str("ESXi-7.0", true).unwrap().0,
            RetargetTarget::Esxi70
        );
    }
}
