//! Named caps for every size and count read from an untrusted file.
//!
//! Every number taken from a header, descriptor, tar member or manifest is checked against one of
//! these before it sizes an allocation or a loop. The defaults are generous for real appliances
//! and small enough that a hostile file cannot make us allocate or spin without bound. Callers
//! that need other values pass a [`Limits`] through the option structs.

/// Size limits applied while reading untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest OVF descriptor accepted, in bytes (default 16 MiB).
    pub max_descriptor_bytes: u64,
    /// Deepest XML element nesting accepted.
    pub max_xml_depth: usize,
    /// Most attributes (namespace declarations included) accepted on one XML element.
    pub max_xml_attributes: usize,
    /// Most XML elements and attributes, counted together, accepted in one descriptor (default
    /// 200,000; the largest real descriptors, vCenter's, hold about 3,000). Bounds the element
    /// tree's memory (a few hundred bytes per node) whatever the descriptor is made of.
    pub max_xml_nodes: usize,
    /// Most `ProductSection/Property` elements accepted in one descriptor.
    pub max_ovf_properties: usize,
    /// Most virtual hardware items (`Item`, `StorageItem`, `EthernetPortItem`) accepted in one
    /// descriptor.
    pub max_ovf_items: usize,
    /// Most `References/File` entries accepted in one descriptor.
    pub max_ovf_files: usize,
    /// Most `DiskSection/Disk` entries accepted in one descriptor.
    pub max_ovf_disks: usize,
    /// Most `DeploymentOptionSection/Configuration` entries accepted in one descriptor (default
    /// 64; vCenter's appliance has 16). Reports show the hardware once per configuration.
    pub max_ovf_deployment_options: usize,
    /// Most hardware items times deployment options a report (`info`) shows, since it lists the
    /// hardware once per configuration (default 10,000: about 100 MiB of report).
    pub max_ovf_hardware_views: usize,
    /// Largest manifest (`.mf`) or certificate (`.cert`) file accepted, in bytes.
    pub max_manifest_bytes: u64,
    /// Largest embedded or separate VMDK text descriptor accepted, in bytes.
    pub max_vmdk_descriptor_bytes: u64,
    /// Largest virtual disk capacity accepted, in bytes (default 64 TiB, the VMFS maximum).
    pub max_disk_capacity_bytes: u64,
    /// Longest snapshot chain (delta links) followed before giving up.
    pub max_chain_depth: usize,
    /// Most extents accepted in one VMDK descriptor.
    pub max_extents: usize,
    /// Most members accepted in one OVA.
    pub max_ova_entries: usize,
    /// Largest `.vmx` / `.vmtx` configuration file accepted, in bytes (default 4 MiB; real ones
    /// are a few KiB, `guestinfo.ovfEnv` values reach tens of KiB).
    pub max_vmx_bytes: u64,
}

impl Limits {
    /// The default limits.
    pub const DEFAULT: Limits = Limits {
        max_descriptor_bytes: 16 << 20,
        max_xml_depth: 256,
        max_xml_attributes: 1024,
        max_xml_nodes: 200_000,
        max_ovf_properties: 10_000,
        max_ovf_items: 10_000,
        max_ovf_files: 10_000,
        max_ovf_disks: 10_000,
        max_ovf_deployment_options: 64,
        max_ovf_hardware_views: 10_000,
        max_manifest_bytes: 4 << 20,
        max_vmdk_descriptor_bytes: 1 << 20,
        max_disk_capacity_bytes: 64 << 40,
        max_chain_depth: 64,
        max_extents: 4096,
        max_ova_entries: 10_000,
        max_vmx_bytes: 4 << 20,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// VMs of a vApp imported from one stream at once (one importer thread and a few MiB of
/// buffers each); a larger vApp from a stream is imported one VM at a time with `--vm`.
pub const MAX_STREAMED_VMS: usize = 64;

/// Bytes in a disk sector. VMDK sizes and offsets are counted in these.
pub const SECTOR_SIZE: u64 = 512;

/// Bytes in one grain of the disk pipeline: 128 sectors, the grain size of every
/// streamOptimized writer (and the largest grain a compressed grain may inflate to).
pub const GRAIN_BYTES: u64 = 64 * 1024;
