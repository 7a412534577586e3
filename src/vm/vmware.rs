//! VMware-specific settings of a machine: the facts OVF carries as `vmw:Config` (vSphere API
//! names) and a `.vmx` as its own keys. The model holds them typed; `ovf` spells them the
//! vSphere way and `vmx` the `.vmx` way, so neither format module knows the other.

use serde::Serialize;

/// A VMware setting that both OVF (`vmw:Config`) and a `.vmx` can state.
///
/// Names follow the vSphere API fields (GOVMOMI `ToolsConfigInfo`, `VirtualMachineFlagInfo`,
/// `VirtualMachineVideoCard`, `VirtualDevice.connectable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VmwareSetting {
    /// Guest time synchronised with the host (`tools.syncTimeWithHost`).
    ToolsSyncTime,
    /// Run the tools script after power-on.
    ToolsAfterPowerOn,
    /// Run the tools script after resume.
    ToolsAfterResume,
    /// Run the tools script before standby.
    ToolsBeforeStandby,
    /// Run the tools script before shutdown.
    ToolsBeforeShutdown,
    /// When VMware Tools are upgraded.
    ToolsUpgradePolicy,
    /// What "power off" does.
    PowerOffType,
    /// What "reset" does.
    ResetType,
    /// What "suspend" does.
    SuspendType,
    /// CPU hot add.
    CpuHotAdd,
    /// CPU hot remove.
    CpuHotRemove,
    /// Memory hot add.
    MemoryHotAdd,
    /// Nested hardware virtualisation.
    NestedHv,
    /// The ICH7M chipset device.
    Ich7mPresent,
    /// The Apple SMC device.
    SmcPresent,
    /// Virtual IOMMU (VT-d).
    VvtdEnabled,
    /// Virtualisation-based security.
    VbsEnabled,
    /// 3D acceleration of the video card.
    Video3d,
    /// Display settings detected from the host.
    VideoAutoDetect,
    /// Number of displays.
    VideoDisplays,
    /// Graphics memory in KiB.
    VideoGraphicsMemoryKib,
    /// Wake-on-LAN of network adapter `ethernetN`.
    NicWakeOnLan(u32),
    /// The guest may connect/disconnect network adapter `ethernetN`.
    NicGuestControl(u32),
}

/// A per-adapter setting for adapter `ethernetN` (e.g. [`VmwareSetting::NicWakeOnLan`]).
pub type NicSetting = fn(u32) -> VmwareSetting;

/// The kind of value a [`VmwareSetting`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    /// A boolean.
    Bool,
    /// A non-negative count.
    Count,
    /// A power operation ([`PowerOp`]).
    PowerOp,
    /// A tools upgrade policy ([`ToolsUpgrade`]).
    ToolsUpgrade,
}

/// What a power operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerOp {
    /// The host's default (vSphere `preset`, `.vmx` `default`).
    Preset,
    /// Through the guest tools.
    Soft,
    /// At the virtual hardware.
    Hard,
}

/// When VMware Tools are upgraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolsUpgrade {
    /// By hand.
    Manual,
    /// At each power cycle.
    UpgradeAtPowerCycle,
}

/// The value of a [`VmwareSetting`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum SettingValue {
    /// For [`SettingKind::Bool`].
    Bool(bool),
    /// For [`SettingKind::Count`].
    Count(u64),
    /// For [`SettingKind::PowerOp`].
    PowerOp(PowerOp),
    /// For [`SettingKind::ToolsUpgrade`].
    ToolsUpgrade(ToolsUpgrade),
}

impl VmwareSetting {
    /// The machine-wide settings (every variant but the per-adapter ones).
    pub const MACHINE: [VmwareSetting; 21] = [
        VmwareSetting::ToolsSyncTime,
        VmwareSetting::ToolsAfterPowerOn,
        VmwareSetting::ToolsAfterResume,
        VmwareSetting::ToolsBeforeStandby,
        VmwareSetting::ToolsBeforeShutdown,
        VmwareSetting::ToolsUpgradePolicy,
        VmwareSetting::PowerOffType,
        VmwareSetting::ResetType,
        VmwareSetting::SuspendType,
        VmwareSetting::CpuHotAdd,
        VmwareSetting::CpuHotRemove,
        VmwareSetting::MemoryHotAdd,
        VmwareSetting::NestedHv,
        VmwareSetting::Ich7mPresent,
        VmwareSetting::SmcPresent,
        VmwareSetting::VvtdEnabled,
        VmwareSetting::VbsEnabled,
        VmwareSetting::Video3d,
        VmwareSetting::VideoAutoDetect,
        VmwareSetting::VideoDisplays,
        VmwareSetting::VideoGraphicsMemoryKib,
    ];

    /// The kind of value the setting takes.
    pub fn kind(self) -> SettingKind {
        match self {
            VmwareSetting::ToolsUpgradePolicy => SettingKind::ToolsUpgrade,
            VmwareSetting::PowerOffType | VmwareSetting::ResetType | VmwareSetting::SuspendType => {
                SettingKind::PowerOp
            }
            VmwareSetting::VideoDisplays | VmwareSetting::VideoGraphicsMemoryKib => {
                SettingKind::Count
            }
            _ => SettingKind::Bool,
        }
    }

    /// Whether the setting belongs to the video card (OVF carries it on the video item).
    pub fn is_video(self) -> bool {
        matches!(
            self,
            VmwareSetting::Video3d
                | VmwareSetting::VideoAutoDetect
                | VmwareSetting::VideoDisplays
                | VmwareSetting::VideoGraphicsMemoryKib
        )
    }

    /// The network adapter index of a per-adapter setting.
    pub fn nic_index(self) -> Option<u32> {
        match self {
            VmwareSetting::NicWakeOnLan(n) | VmwareSetting::NicGuestControl(n) => Some(n),
            _ => None,
        }
    }
}

impl SettingValue {
    /// Whether the value is of `kind`.
    pub fn is(self, kind: SettingKind) -> bool {
        matches!(
            (self, kind),
            (SettingValue::Bool(_), SettingKind::Bool)
                | (SettingValue::Count(_), SettingKind::Count)
                | (SettingValue::PowerOp(_), SettingKind::PowerOp)
                | (SettingValue::ToolsUpgrade(_), SettingKind::ToolsUpgrade)
        )
    }
}

/// The VMware settings of a machine: one value per setting, in setting order (so that the
/// same facts read from OVF or from a `.vmx` compare equal).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VmwareSettings(Vec<(VmwareSetting, SettingValue)>);

impl VmwareSettings {
    /// Sets `setting` (a later value replaces an earlier one). A value of the wrong kind is
    /// ignored and `false` returned.
    pub fn set(&mut self, setting: VmwareSetting, value: SettingValue) -> bool {
        if !value.is(setting.kind()) {
            return false;
        }
        match self.0.binary_search_by(|(s, _)| s.cmp(&setting)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (setting, value)),
        }
        true
    }

    /// The value of `setting`.
    pub fn get(&self, setting: VmwareSetting) -> Option<SettingValue> {
        self.0
            .binary_search_by(|(s, _)| s.cmp(&setting))
            .ok()
            .map(|i| self.0[i].1)
    }

    /// Removes `setting`, returning its value.
    pub fn remove(&mut self, setting: VmwareSetting) -> Option<SettingValue> {
        let i = self.0.binary_search_by(|(s, _)| s.cmp(&setting)).ok()?;
        Some(self.0.remove(i).1)
    }

    /// Every setting with its value, in setting order.
    pub fn iter(&self) -> impl Iterator<Item = (VmwareSetting, SettingValue)> + '_ {
        self.0.iter().copied()
    }

    /// Whether no setting is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
