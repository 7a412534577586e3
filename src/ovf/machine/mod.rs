//! OVF ↔ [`Machine`]: how a `VirtualSystem` and its `VirtualHardwareSection` map to the
//! neutral model (docs/FORMATS.md §5.6–5.7, §6).
//!
//! Import ([`Machine::from_envelope`], in `read.rs`) reads one virtual system in one deployment
//! option: RASD items by [`ResourceType`] (processor, memory, IDE/SCSI/SATA/NVMe controllers,
//! disks, CD/DVD and floppy drives, NICs, USB, video, sound and VMCI), the operating system
//! section (`vmw:osType` first, else the CIM id), section-level `vmw:Config` (firmware, secure
//! boot, tools and power options), else the firmware of VirtualBox's `vbox:Machine`, and
//! `vmw:ExtraConfig`. Controllers are found through
//! `rasd:Parent` → `InstanceID`, bus numbers in `rasd:Address`, units in `AddressOnParent`.
//! Anything else becomes an [`Unmapped`](crate::vm::Unmapped) entry with a reason.
//!
//! Export ([`Machine::to_envelope_builder`], in `write.rs`) writes VMware's layout. This file
//! holds what both directions share: the ResourceSubType spellings of each device kind and
//! the `vmw:Config` names of the typed VMware settings.
//!
//! [`Machine`]: crate::vm::Machine
//! [`Machine::from_envelope`]: crate::vm::Machine::from_envelope
//! [`Machine::to_envelope_builder`]: crate::vm::Machine::to_envelope_builder

mod read;

pub(crate) use read::{host_ref, vbox_firmware_type};
mod write;

pub use write::{cdrom_file_id, disk_file_id, DescriptorOptions, STREAM_OPTIMIZED_FORMAT};

use super::{ResourceType, VmwConfig};
use crate::vm::{
    ControllerKind, NicAdapter, NicSetting, PowerOp, SettingKind, SettingValue, SoundKind,
    ToolsUpgrade, VmwareSetting,
};

/// `vmw:Config` keys of the typed VMware settings: section level, then the video item's
/// (GOVMOMI `toConfig`, `VirtualMachineVideoCard`). Per-adapter ones are in [`NIC_CONFIG`].
const VSPHERE_CONFIG: &[(VmwareSetting, &str)] = &[
    (VmwareSetting::ToolsSyncTime, "tools.syncTimeWithHost"),
    (VmwareSetting::ToolsAfterPowerOn, "tools.afterPowerOn"),
    (VmwareSetting::ToolsAfterResume, "tools.afterResume"),
    (
        VmwareSetting::ToolsBeforeStandby,
        "tools.beforeGuestStandby",
    ),
    (
        VmwareSetting::ToolsBeforeShutdown,
        "tools.beforeGuestShutdown",
    ),
    (
        VmwareSetting::ToolsUpgradePolicy,
        "tools.toolsUpgradePolicy",
    ),
    (VmwareSetting::PowerOffType, "powerOpInfo.powerOffType"),
    (VmwareSetting::ResetType, "powerOpInfo.resetType"),
    (VmwareSetting::SuspendType, "powerOpInfo.suspendType"),
    (VmwareSetting::CpuHotAdd, "cpuHotAddEnabled"),
    (VmwareSetting::CpuHotRemove, "cpuHotRemoveEnabled"),
    (VmwareSetting::MemoryHotAdd, "memoryHotAddEnabled"),
    (VmwareSetting::NestedHv, "nestedHVEnabled"),
    (VmwareSetting::Ich7mPresent, "virtualICH7MPresent"),
    (VmwareSetting::SmcPresent, "virtualSMCPresent"),
    (VmwareSetting::VvtdEnabled, "flags.vvtdEnabled"),
    (VmwareSetting::VbsEnabled, "flags.vbsEnabled"),
    (VmwareSetting::Video3d, "enable3DSupport"),
    (VmwareSetting::VideoAutoDetect, "useAutoDetect"),
    (VmwareSetting::VideoDisplays, "numDisplays"),
    (
        VmwareSetting::VideoGraphicsMemoryKib,
        "graphicsMemorySizeInKB",
    ),
];

/// Per-adapter `vmw:Config` keys of a NIC item, with the setting for adapter `n`.
const NIC_CONFIG: &[(&str, NicSetting)] = &[
    ("wakeOnLanEnabled", VmwareSetting::NicWakeOnLan),
    (
        "connectable.allowGuestControl",
        VmwareSetting::NicGuestControl,
    ),
];

/// A `vmw:Config` value in vSphere spelling as a setting of `kind`.
fn vsphere_value(kind: SettingKind, text: &str) -> Option<SettingValue> {
    let t = text.trim();
    Some(match kind {
        SettingKind::Bool => SettingValue::Bool(bool_text(Some(t))?),
        SettingKind::Count => SettingValue::Count(t.parse().ok()?),
        SettingKind::PowerOp => SettingValue::PowerOp(match t.to_ascii_lowercase().as_str() {
            "preset" => PowerOp::Preset,
            "soft" => PowerOp::Soft,
            "hard" => PowerOp::Hard,
            _ => return None,
        }),
        SettingKind::ToolsUpgrade => {
            SettingValue::ToolsUpgrade(match t.to_ascii_lowercase().as_str() {
                "manual" => ToolsUpgrade::Manual,
                "upgradeatpowercycle" => ToolsUpgrade::UpgradeAtPowerCycle,
                _ => return None,
            })
        }
    })
}

/// A setting's value in vSphere spelling.
fn vsphere_text(v: SettingValue) -> String {
    match v {
        SettingValue::Bool(b) => b.to_string(),
        SettingValue::Count(n) => n.to_string(),
        SettingValue::PowerOp(PowerOp::Preset) => "preset".into(),
        SettingValue::PowerOp(PowerOp::Soft) => "soft".into(),
        SettingValue::PowerOp(PowerOp::Hard) => "hard".into(),
        SettingValue::ToolsUpgrade(ToolsUpgrade::Manual) => "manual".into(),
        SettingValue::ToolsUpgrade(ToolsUpgrade::UpgradeAtPowerCycle) => {
            "upgradeAtPowerCycle".into()
        }
    }
}

/// vmw:Config keys VMware writes that are host bookkeeping, not configuration.
const IGNORED_ITEM_CONFIG: &[&str] = &["slotInfo.pciSlotNumber"];

/// `vmw:Config` key/value pairs that state VMware's default: dropping them loses nothing.
const DEFAULT_CONFIG: &[(&str, &str)] = &[
    ("backing.writeThrough", "false"),
    ("backing.exclusive", "false"),
    ("allowUnrestrictedCommunication", "false"),
    ("connectable.allowGuestControl", "true"),
    ("use3dRenderer", "automatic"),
    ("powerOpInfo.standbyAction", "checkpoint"),
    ("vPMCEnabled", "false"),
    ("simultaneousThreads", "1"),
];

/// Whether a `vmw:Config` entry can be dropped without loss: host bookkeeping or a default.
fn ignorable(c: &VmwConfig) -> bool {
    IGNORED_ITEM_CONFIG.contains(&c.key.as_str())
        || DEFAULT_CONFIG
            .iter()
            .any(|(k, v)| *k == c.key && c.value.trim().eq_ignore_ascii_case(v))
}

/// Implicit devices VMware lists but every VM has (nothing to map).
const IMPLICIT_SUBTYPES: &[&str] = &[
    "vmware.pcicontroller",
    "vmware.ps2controller",
    "vmware.siocontroller",
    "vmware.keyboard",
    "vmware.pointingdevice",
];

/// The known SCSI kind in a ResourceSubType (GOVMOMI splits on spaces and commas and matches
/// case-insensitively).
fn scsi_kind(sub: &str) -> Option<ControllerKind> {
    sub.split([' ', ','])
        .filter(|s| !s.is_empty())
        .find_map(|s| match s {
            "lsilogic" => Some(ControllerKind::LsiLogic),
            "lsilogicsas" | "lsilogic-sas" | "lsisas1068" => Some(ControllerKind::LsiLogicSas),
            "buslogic" => Some(ControllerKind::BusLogic),
            "virtualscsi" | "pvscsi" => Some(ControllerKind::Pvscsi),
            _ => None,
        })
}

/// The controller kind of an item of `resource_type` with `ResourceSubType` `sub`
/// (case-insensitive; for SCSI the first known word, GOVMOMI style), or `None` when the item
/// is not a storage controller this model knows. An SCSI controller without a known subtype is
/// `None` too: callers decide whether to assume LSI Logic.
pub fn controller_kind(resource_type: ResourceType, sub: Option<&str>) -> Option<ControllerKind> {
    let sub = sub.unwrap_or("").trim().to_ascii_lowercase();
    match resource_type {
        ResourceType::IdeController => Some(ControllerKind::Ide),
        ResourceType::ParallelScsiHba => scsi_kind(&sub),
        ResourceType::OtherStorageDevice => match sub.as_str() {
            "vmware.sata.ahci" | "ahci" => Some(ControllerKind::Sata),
            "vmware.nvme.controller" | "nvme" => Some(ControllerKind::Nvme),
            _ => None,
        },
        _ => None,
    }
}

/// The OVF ResourceSubType of a controller kind (docs/FORMATS.md §6.2).
pub fn controller_sub_type(kind: ControllerKind) -> Option<&'static str> {
    match kind {
        ControllerKind::Ide => None,
        ControllerKind::LsiLogic => Some("lsilogic"),
        ControllerKind::LsiLogicSas => Some("lsilogicsas"),
        ControllerKind::BusLogic => Some("buslogic"),
        ControllerKind::Pvscsi => Some("VirtualSCSI"),
        ControllerKind::Sata => Some("vmware.sata.ahci"),
        ControllerKind::Nvme => Some("vmware.nvme.controller"),
    }
}

/// The CIM ResourceType of a controller kind.
pub fn controller_resource_type(kind: ControllerKind) -> ResourceType {
    match kind {
        ControllerKind::Ide => ResourceType::IdeController,
        ControllerKind::Sata | ControllerKind::Nvme => ResourceType::OtherStorageDevice,
        ControllerKind::LsiLogic
        | ControllerKind::LsiLogicSas
        | ControllerKind::BusLogic
        | ControllerKind::Pvscsi => ResourceType::ParallelScsiHba,
    }
}

/// The OVF ResourceSubType of a NIC adapter.
pub fn nic_sub_type(adapter: NicAdapter) -> &'static str {
    match adapter {
        NicAdapter::VmxNet3 => "VmxNet3",
        NicAdapter::E1000 => "E1000",
        NicAdapter::E1000e => "E1000e",
        NicAdapter::Vlance => "PCNet32",
        NicAdapter::VmxNet2 => "VmxNet2",
        NicAdapter::Flexible => "VmxNet",
    }
}

/// The first NIC adapter VMware supports in a ResourceSubType, which may list several
/// (`"VMXNET3 virtio"`, Cisco CSR1000V), split on spaces and commas as SCSI lists are.
pub(crate) fn nic_adapter(sub: &str) -> Option<NicAdapter> {
    sub.split([' ', ','])
        .filter(|s| !s.is_empty())
        .find_map(nic_adapter_word)
}

fn nic_adapter_word(sub: &str) -> Option<NicAdapter> {
    match sub {
        "vmxnet3" => Some(NicAdapter::VmxNet3),
        "e1000" => Some(NicAdapter::E1000),
        "e1000e" => Some(NicAdapter::E1000e),
        "pcnet32" | "vlance" => Some(NicAdapter::Vlance),
        "vmxnet2" => Some(NicAdapter::VmxNet2),
        "vmxnet" | "flexible" => Some(NicAdapter::Flexible),
        _ => None,
    }
}

/// The OVF ResourceSubType of a sound card.
pub fn sound_sub_type(kind: SoundKind) -> &'static str {
    match kind {
        SoundKind::HdAudio => "vmware.soundcard.hdaudio",
        SoundKind::Es1371 => "vmware.soundcard.ensoniq1371",
        SoundKind::Sb16 => "vmware.soundcard.sb16",
    }
}

pub(crate) fn sound_kind(sub: &str) -> Option<SoundKind> {
    match sub {
        "vmware.soundcard.hdaudio" | "hdaudio" => Some(SoundKind::HdAudio),
        "vmware.soundcard.ensoniq1371" | "ensoniq1371" | "es1371" => Some(SoundKind::Es1371),
        "vmware.soundcard.sb16" | "sb16" | "soundblaster16" => Some(SoundKind::Sb16),
        _ => None,
    }
}

fn bool_text(v: Option<&str>) -> Option<bool> {
    match v?.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// `vmx-07` → 7.
pub fn vmx_version(family: &str) -> Option<u32> {
    family.trim().strip_prefix("vmx-")?.parse().ok()
}
