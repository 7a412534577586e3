//! `.vmx` ↔ [`Machine`]: which keys mean what (docs/FORMATS.md §7.2; libvirt `vmx.c`).
//!
//! Reading ([`Machine::from_vmx`]) consumes the keys the model represents; of the rest,
//! host-specific runtime state (UUIDs, PCI slot numbers, generated MACs, CPUID masks, swap paths,
//! PCI bridges: VMware regenerates them) is dropped on purpose, resource-allocation settings
//! (`sched.*`) are reported in [`Machine::unmapped`], and everything else is kept as extra
//! configuration (which OVF carries as `vmw:ExtraConfig`). Devices that are switched off
//! (`present = "FALSE"`) are dropped with all their keys.
//!
//! Writing ([`Machine::to_vmx`]) produces the keys an import needs, in a stable order, and reads
//! back to the same machine, except the OVF-only facts (disk capacity, disk id, CIM version) and
//! [`Machine::unmapped`].
//!
//! `read.rs` holds the reading, `write.rs` the writing, one small function per device family;
//! this file the key tables and value spellings both share.

mod read;
mod write;

use crate::vm::{
    BusFamily, ControllerKind, Machine, Nic, NicAdapter, NicSetting, PowerOp, SettingKind,
    SettingValue, SoundKind, ToolsUpgrade, VmwareSetting, Warning,
};

/// The parsed device part of a key: `scsi0:1.fileName` → (`scsi`, 0, Some(1), `filename`).
struct DevKey {
    prefix: &'static str,
    n: u32,
    m: Option<u32>,
}

fn parse_dev_key(lower: &str) -> Option<DevKey> {
    const PREFIXES: &[&str] = &[
        "scsi", "sata", "nvme", "ide", "ethernet", "floppy", "serial", "parallel",
    ];
    let prefix = PREFIXES.iter().find(|p| lower.starts_with(**p))?;
    let rest = &lower[prefix.len()..];
    let ndigits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if ndigits == 0 || ndigits > 4 {
        return None;
    }
    let n: u32 = rest[..ndigits].parse().ok()?;
    let rest = &rest[ndigits..];
    let (m, rest) = if let Some(r) = rest.strip_prefix(':') {
        let md = r.bytes().take_while(u8::is_ascii_digit).count();
        if md == 0 || md > 4 {
            return None;
        }
        (Some(r[..md].parse().ok()?), &r[md..])
    } else {
        (None, rest)
    };
    // A device key goes on with `.subkey`.
    rest.strip_prefix('.')?;
    Some(DevKey { prefix, n, m })
}

/// The keys the mapping reads and writes (lower case, exact).
const MAPPED_KEYS: &[&str] = &[
    ".encoding",
    "config.version",
    "virtualhw.version",
    "displayname",
    "annotation",
    "guestos",
    "numvcpus",
    "cpuid.corespersocket",
    "memsize",
    "firmware",
    "uefi.secureboot.enabled",
    "nvram",
    "usb.present",
    "ehci.present",
    "usb_xhci.present",
    "vmci0.present",
    "svga.vramsize",
    "sound.present",
    "sound.virtualdev",
    "sound.startconnected",
];

/// `.vmx` keys of the machine-wide typed VMware settings (VMware's vmx names for the vSphere
/// fields of [`VmwareSetting`]).
const SETTING_KEYS: &[(VmwareSetting, &str)] = &[
    (VmwareSetting::ToolsSyncTime, "tools.syncTime"),
    (VmwareSetting::ToolsAfterPowerOn, "toolScripts.afterPowerOn"),
    (VmwareSetting::ToolsAfterResume, "toolScripts.afterResume"),
    (
        VmwareSetting::ToolsBeforeStandby,
        "toolScripts.beforeSuspend",
    ),
    (
        VmwareSetting::ToolsBeforeShutdown,
        "toolScripts.beforePowerOff",
    ),
    (VmwareSetting::ToolsUpgradePolicy, "tools.upgrade.policy"),
    (VmwareSetting::PowerOffType, "powerType.powerOff"),
    (VmwareSetting::ResetType, "powerType.reset"),
    (VmwareSetting::SuspendType, "powerType.suspend"),
    (VmwareSetting::CpuHotAdd, "vcpu.hotadd"),
    (VmwareSetting::CpuHotRemove, "vcpu.hotremove"),
    (VmwareSetting::MemoryHotAdd, "mem.hotadd"),
    (VmwareSetting::NestedHv, "vhv.enable"),
    (VmwareSetting::Ich7mPresent, "ich7m.present"),
    (VmwareSetting::SmcPresent, "smc.present"),
    (VmwareSetting::VvtdEnabled, "vvtd.enable"),
    (VmwareSetting::VbsEnabled, "vbs.enable"),
    (VmwareSetting::Video3d, "mks.enable3d"),
    (VmwareSetting::VideoAutoDetect, "svga.autodetect"),
    (VmwareSetting::VideoDisplays, "svga.numDisplays"),
    (
        VmwareSetting::VideoGraphicsMemoryKib,
        "svga.graphicsMemoryKB",
    ),
];

/// Per-adapter typed settings: `ethernetN.<key>`.
const NIC_SETTING_KEYS: &[(&str, NicSetting)] = &[
    ("wakeOnPcktRcv", VmwareSetting::NicWakeOnLan),
    (
        "allowGuestConnectionControl",
        VmwareSetting::NicGuestControl,
    ),
];

/// The typed setting a `.vmx` key (any case) states; per-adapter keys only for an adapter
/// the machine has.
fn setting_of_key(key: &str, nics: &[Nic]) -> Option<VmwareSetting> {
    if let Some((s, _)) = SETTING_KEYS
        .iter()
        .find(|(_, k)| k.eq_ignore_ascii_case(key))
    {
        return Some(*s);
    }
    let lower = key.to_ascii_lowercase();
    let (n, sub) = lower.strip_prefix("ethernet")?.split_once('.')?;
    let n: u32 = n.parse().ok()?;
    if !nics.iter().any(|nic| nic.index == n) {
        return None;
    }
    NIC_SETTING_KEYS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(sub))
        .map(|(_, s)| s(n))
}

/// The `.vmx` key of a typed setting.
fn setting_key(setting: VmwareSetting) -> Option<String> {
    if let Some(n) = setting.nic_index() {
        return NIC_SETTING_KEYS
            .iter()
            .find(|(_, s)| s(n) == setting)
            .map(|(k, _)| format!("ethernet{n}.{k}"));
    }
    SETTING_KEYS
        .iter()
        .find(|(s, _)| *s == setting)
        .map(|(_, k)| k.to_string())
}

/// A `.vmx` value as a setting of `kind`, or `None` when the model has no such value
/// (`trySoft`, `useGlobal`...): the entry then stays raw extra configuration.
fn setting_value(kind: SettingKind, text: &str) -> Option<SettingValue> {
    let t = text.trim().to_ascii_lowercase();
    Some(match kind {
        SettingKind::Bool => SettingValue::Bool(crate::vmx::parse_bool(&t)?),
        SettingKind::Count => SettingValue::Count(t.parse().ok()?),
        SettingKind::PowerOp => SettingValue::PowerOp(match t.as_str() {
            "default" => PowerOp::Preset,
            "soft" => PowerOp::Soft,
            "hard" => PowerOp::Hard,
            _ => return None,
        }),
        SettingKind::ToolsUpgrade => SettingValue::ToolsUpgrade(match t.as_str() {
            "manual" => ToolsUpgrade::Manual,
            "upgradeatpowercycle" => ToolsUpgrade::UpgradeAtPowerCycle,
            _ => return None,
        }),
    })
}

/// A setting's value in `.vmx` spelling.
fn setting_text(v: SettingValue) -> String {
    match v {
        SettingValue::Bool(true) => "TRUE".into(),
        SettingValue::Bool(false) => "FALSE".into(),
        SettingValue::Count(n) => n.to_string(),
        SettingValue::PowerOp(PowerOp::Preset) => "default".into(),
        SettingValue::PowerOp(PowerOp::Soft) => "soft".into(),
        SettingValue::PowerOp(PowerOp::Hard) => "hard".into(),
        SettingValue::ToolsUpgrade(ToolsUpgrade::Manual) => "manual".into(),
        SettingValue::ToolsUpgrade(ToolsUpgrade::UpgradeAtPowerCycle) => {
            "upgradeAtPowerCycle".into()
        }
    }
}

/// Whether `key` (any case) is one the mapping owns: an extra-config entry with such a key
/// would shadow a mapped setting, so [`Machine::to_vmx`] skips it.
pub fn is_mapped_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if MAPPED_KEYS.contains(&k.as_str()) {
        return true;
    }
    let Some(d) = parse_dev_key(&k) else {
        return false;
    };
    let sub = k.rsplit_once('.').map(|(_, s)| s).unwrap_or("");
    let subs: &[&str] = match (d.prefix, d.m) {
        ("scsi" | "sata" | "nvme" | "ide", None) => &["present", "virtualdev"],
        ("scsi" | "sata" | "nvme" | "ide", Some(_)) => &[
            "present",
            "filename",
            "devicetype",
            "clientdevice",
            "startconnected",
        ],
        ("ethernet", None) => &[
            "present",
            "virtualdev",
            "features",
            "networkname",
            "connectiontype",
            "addresstype",
            "address",
            "generatedaddress",
            "generatedaddressoffset",
            "startconnected",
        ],
        ("floppy", None) => &[
            "present",
            "filetype",
            "filename",
            "clientdevice",
            "startconnected",
        ],
        ("serial" | "parallel", None) => &["present", "filetype", "filename", "startconnected"],
        _ => &[],
    };
    // Only a plain `.sub` after the device part counts (`scsi0:0.fileName`, not
    // `scsi0:0.foo.fileName`).
    let plain = k.matches('.').count() == 1;
    plain && subs.contains(&sub)
}

/// Warnings for extra-configuration entries that [`Machine::to_vmx`] will not write because
/// they shadow mapped keys.
pub fn shadowed_extra_config(m: &Machine) -> Vec<Warning> {
    m.extra_config
        .iter()
        .filter(|(k, _)| is_mapped_key(k))
        .map(|(k, _)| {
            Warning::new(
                k,
                "extra config key shadows a mapped setting and is not written",
            )
        })
        .collect()
}

fn scsi_kind(dev: &str) -> Option<ControllerKind> {
    match dev.to_ascii_lowercase().as_str() {
        "lsilogic" => Some(ControllerKind::LsiLogic),
        "lsisas1068" => Some(ControllerKind::LsiLogicSas),
        "buslogic" => Some(ControllerKind::BusLogic),
        "pvscsi" => Some(ControllerKind::Pvscsi),
        _ => None,
    }
}

fn scsi_dev_name(kind: ControllerKind) -> &'static str {
    match kind {
        ControllerKind::LsiLogicSas => "lsisas1068",
        ControllerKind::BusLogic => "buslogic",
        ControllerKind::Pvscsi => "pvscsi",
        _ => "lsilogic",
    }
}

fn family_of_prefix(prefix: &str) -> Option<BusFamily> {
    match prefix {
        "ide" => Some(BusFamily::Ide),
        "scsi" => Some(BusFamily::Scsi),
        "sata" => Some(BusFamily::Sata),
        "nvme" => Some(BusFamily::Nvme),
        _ => None,
    }
}

/// The `.vmx` name of a NIC adapter (`virtualDev`).
pub fn nic_virtual_dev(adapter: NicAdapter) -> &'static str {
    match adapter {
        NicAdapter::VmxNet3 => "vmxnet3",
        NicAdapter::E1000 => "e1000",
        NicAdapter::E1000e => "e1000e",
        NicAdapter::Vlance => "vlance",
        NicAdapter::VmxNet2 | NicAdapter::Flexible => "vmxnet",
    }
}

fn sound_dev_name(kind: SoundKind) -> &'static str {
    match kind {
        SoundKind::HdAudio => "hdaudio",
        SoundKind::Es1371 => "es1371",
        SoundKind::Sb16 => "sb16",
    }
}

/// The sound card of a `sound.virtualDev` value (any case).
fn sound_kind(dev: &str) -> Option<SoundKind> {
    match dev.to_ascii_lowercase().as_str() {
        "hdaudio" => Some(SoundKind::HdAudio),
        "es1371" => Some(SoundKind::Es1371),
        "sb16" => Some(SoundKind::Sb16),
        _ => None,
    }
}

/// The adapter of an `ethernetN.virtualDev` value (any case) with its `features`: `vmxnet`
/// with features 15 is VMXNET 2 (libvirt vmx.c).
fn nic_adapter(dev: &str, features: Option<&str>) -> Option<NicAdapter> {
    match dev.to_ascii_lowercase().as_str() {
        "vmxnet3" => Some(NicAdapter::VmxNet3),
        "e1000" => Some(NicAdapter::E1000),
        "e1000e" => Some(NicAdapter::E1000e),
        "vlance" => Some(NicAdapter::Vlance),
        "vmxnet" if features.map(str::trim) == Some("15") => Some(NicAdapter::VmxNet2),
        "vmxnet" => Some(NicAdapter::Flexible),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmx::Vmx;

    #[test]
    fn dev_keys() {
        let d = parse_dev_key("scsi0:12.filename").unwrap();
        assert_eq!((d.prefix, d.n, d.m), ("scsi", 0, Some(12)));
        let d = parse_dev_key("ethernet3.virtualdev").unwrap();
        assert_eq!((d.prefix, d.n, d.m), ("ethernet", 3, None));
        assert!(parse_dev_key("scsi.foo").is_none());
        assert!(parse_dev_key("ide0:").is_none());
        assert!(parse_dev_key("scsi99999999999:0.present").is_none());
    }

    #[test]
    fn mapped_keys() {
        assert!(is_mapped_key("scsi0:0.fileName"));
        assert!(is_mapped_key("MEMSIZE"));
        assert!(is_mapped_key("ethernet1.networkName"));
        assert!(!is_mapped_key("ethernet1.vnet"));
        assert!(!is_mapped_key("scsi0:0.mode"));
        assert!(!is_mapped_key("guestinfo.x"));
        assert!(!is_mapped_key("scsiFoo"));
    }

    #[test]
    fn minimal_vmx() {
        let vmx = Vmx::parse(
            b"memsize = \"512\"\nscsi0.present = \"TRUE\"\nscsi0.virtualDev = \"pvscsi\"\n\
              scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"a.vmdk\"\n\
              ethernet0.present = \"true\"\nethernet0.virtualDev = \"vmxnet\"\nethernet0.features = \"15\"\n\
              guestinfo.x = \"y\"\nsched.cpu.min = \"0\"\nuuid.bios = \"1\"\n",
        )
        .unwrap();
        let (m, w) = Machine::from_vmx(&vmx);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(m.memory_mib, 512);
        assert_eq!(m.controllers[0].kind, ControllerKind::Pvscsi);
        assert_eq!(m.disks[0].file_name, "a.vmdk");
        assert_eq!(m.nics[0].adapter, Some(NicAdapter::VmxNet2));
        assert_eq!(m.extra_config, vec![("guestinfo.x".into(), "y".into())]);
        assert_eq!(m.unmapped.len(), 1);
        let back = Machine::from_vmx(&m.to_vmx()).0;
        let mut expect = m.clone();
        expect.unmapped.clear();
        assert_eq!(back, expect);
    }
}
