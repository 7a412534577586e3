//! Guest operating system identifiers: the one table between the `.vmx` `guestOS` key, the
//! vSphere guest id (`vmw:osType` in OVF) and the CIM `OSType` number (`OperatingSystemSection
//! ovf:id`).
//!
//! Sources (docs/FORMATS.md §5.6, §7.3): the vmx ↔ guestId pairs follow open-vm-tools
//! `GUEST_OS_KEY_MAP` (`lib/include/guest_os_tables.h`), extended with the keys newer VMware
//! products write (`windows11-64`, `debian12-64`, `other6xlinux-64`, ...); the guestId → CIM
//! numbers follow govmomi `GuestIDToCIMOSType`, and the CIM → default guestId fallback for
//! import follows govmomi `CIMOSTypeToGuestID`. The table was written for this project; it is
//! not a copy of either.

use serde::Serialize;

/// One row of the table.
struct Row {
    /// The `.vmx` `guestOS` value (matched case-insensitively).
    vmx: &'static str,
    /// The vSphere guest id (`VirtualMachineGuestOsIdentifier`).
    guest_id: &'static str,
    /// The CIM `OSType` number.
    cim: u16,
    /// Whether this row is the canonical vmx key for its guest id (the reverse direction).
    canonical: bool,
}

const fn r(vmx: &'static str, guest_id: &'static str, cim: u16) -> Row {
    Row {
        vmx,
        guest_id,
        cim,
        canonical: true,
    }
}

/// An alias: maps vmx → guestId but is not chosen when going back.
const fn a(vmx: &'static str, guest_id: &'static str, cim: u16) -> Row {
    Row {
        vmx,
        guest_id,
        cim,
        canonical: false,
    }
}

// CIM OSType numbers used below (CIM_OperatingSystem.OSType).
const OTHER: u16 = 1;
const MACOS: u16 = 2;
const OS2: u16 = 12;
const MSDOS: u16 = 14;
const WIN3X: u16 = 15;
const WIN95: u16 = 16;
const WIN98: u16 = 17;
const WINNT: u16 = 18;
const NETWARE: u16 = 21;
const UNIXWARE: u16 = 25;
const OPENSERVER: u16 = 26;
const SOLARIS: u16 = 29;
const LINUX: u16 = 36;
const FREEBSD: u16 = 42;
const WIN2000: u16 = 58;
const WINME: u16 = 63;
const WINXP: u16 = 67;
const WIN2003: u16 = 69;
const WIN2003_64: u16 = 70;
const WINXP_64: u16 = 71;
const VISTA: u16 = 73;
const VISTA_64: u16 = 74;
const WIN2008: u16 = 76;
const WIN2008_64: u16 = 77;
const FREEBSD_64: u16 = 78;
const RHEL: u16 = 79;
const RHEL_64: u16 = 80;
const SOLARIS_64: u16 = 81;
const SUSE: u16 = 82;
const SUSE_64: u16 = 83;
const SLES: u16 = 84;
const SLES_64: u16 = 85;
const NOVELL_OES: u16 = 86;
const NOVELL_NLD: u16 = 87;
const SJDS: u16 = 88;
const MANDRIVA: u16 = 89;
const MANDRIVA_64: u16 = 90;
const TURBO: u16 = 91;
const TURBO_64: u16 = 92;
const UBUNTU: u16 = 93;
const UBUNTU_64: u16 = 94;
const DEBIAN: u16 = 95;
const DEBIAN_64: u16 = 96;
const LINUX24: u16 = 97;
const LINUX24_64: u16 = 98;
const LINUX26: u16 = 99;
const LINUX26_64: u16 = 100;
const LINUX_64: u16 = 101;
const OTHER_64: u16 = 102;
const WIN2008R2: u16 = 103;
const ESXI: u16 = 104;
const WIN7: u16 = 105;
const CENTOS: u16 = 106;
const CENTOS_64: u16 = 107;
const ORACLE: u16 = 108;
const ORACLE_64: u16 = 109;
const ECS: u16 = 110;
const WIN2012: u16 = 112;
const WIN8: u16 = 113;
const WIN2012R2: u16 = 115;

/// The table. Rows sharing a guest id list the canonical vmx key first.
static TABLE: &[Row] = &[
    // Windows
    r("win31", "win31Guest", WIN3X),
    r("win95", "win95Guest", WIN95),
    r("win98", "win98Guest", WIN98),
    r("winMe", "winMeGuest", WINME),
    r("winNT", "winNTGuest", WINNT),
    a("nt4", "winNTGuest", WINNT),
    r("win2000Pro", "win2000ProGuest", WIN2000),
    a("win2000", "win2000ProGuest", WIN2000),
    r("win2000Serv", "win2000ServGuest", WIN2000),
    r("win2000AdvServ", "win2000AdvServGuest", WIN2000),
    r("winXPHome", "winXPHomeGuest", WINXP),
    a("whistler", "winXPHomeGuest", WINXP),
    r("winXPPro", "winXPProGuest", WINXP),
    r("winXPPro-64", "winXPPro64Guest", WINXP_64),
    r("winNetWeb", "winNetWebGuest", WIN2003),
    r("winNetStandard", "winNetStandardGuest", WIN2003),
    r("winNetEnterprise", "winNetEnterpriseGuest", WIN2003),
    r("winNetDatacenter", "winNetDatacenterGuest", WIN2003),
    r("winNetBusiness", "winNetBusinessGuest", WIN2003),
    r("winNetStandard-64", "winNetStandard64Guest", WIN2003_64),
    r("winNetEnterprise-64", "winNetEnterprise64Guest", WIN2003_64),
    r("winNetDatacenter-64", "winNetDatacenter64Guest", WIN2003_64),
    r("longhorn", "winLonghornGuest", WIN2008),
    r("longhorn-64", "winLonghorn64Guest", WIN2008_64),
    r("winvista", "winVistaGuest", VISTA),
    r("winvista-64", "winVista64Guest", VISTA_64),
    r("windows7", "windows7Guest", WIN7),
    r("windows7-64", "windows7_64Guest", WIN7),
    r("windows7srv-64", "windows7Server64Guest", WIN2008R2),
    r("windows8", "windows8Guest", WIN8),
    r("windows8-64", "windows8_64Guest", WIN8),
    r("windows8srv-64", "windows8Server64Guest", WIN2012),
    r("windows9", "windows9Guest", OTHER),
    r("windows9-64", "windows9_64Guest", OTHER_64),
    r("windows11-64", "windows11_64Guest", OTHER_64),
    r("windows12-64", "windows12_64Guest", OTHER_64),
    r("windows9srv-64", "windows9Server64Guest", WIN2012R2),
    r("windows2019srv-64", "windows2019srv_64Guest", OTHER_64),
    r(
        "windows2019srvNext-64",
        "windows2019srvNext_64Guest",
        OTHER_64,
    ),
    r(
        "windows2022srvNext-64",
        "windows2022srvNext_64Guest",
        OTHER_64,
    ),
    r("winHyperV", "windowsHyperVGuest", OTHER_64),
    // Linux
    r("redhat", "redhatGuest", RHEL),
    r("rhel2", "rhel2Guest", RHEL),
    r("rhel3", "rhel3Guest", RHEL),
    r("rhel3-64", "rhel3_64Guest", RHEL_64),
    r("rhel4", "rhel4Guest", RHEL),
    r("rhel4-64", "rhel4_64Guest", RHEL_64),
    r("rhel5", "rhel5Guest", RHEL),
    r("rhel5-64", "rhel5_64Guest", RHEL_64),
    r("rhel6", "rhel6Guest", RHEL),
    r("rhel6-64", "rhel6_64Guest", RHEL_64),
    r("rhel7", "rhel7Guest", RHEL),
    r("rhel7-64", "rhel7_64Guest", RHEL_64),
    r("rhel8-64", "rhel8_64Guest", RHEL_64),
    r("rhel9-64", "rhel9_64Guest", RHEL_64),
    r("rhel10-64", "rhel10_64Guest", RHEL_64),
    r("centos", "centosGuest", CENTOS),
    r("centos-64", "centos64Guest", CENTOS_64),
    r("centos6", "centos6Guest", CENTOS),
    r("centos6-64", "centos6_64Guest", CENTOS_64),
    r("centos7", "centos7Guest", CENTOS),
    r("centos7-64", "centos7_64Guest", CENTOS_64),
    r("centos8-64", "centos8_64Guest", CENTOS_64),
    r("centos9-64", "centos9_64Guest", CENTOS_64),
    r("oraclelinux", "oracleLinuxGuest", ORACLE),
    r("oraclelinux-64", "oracleLinux64Guest", ORACLE_64),
    r("oraclelinux6", "oracleLinux6Guest", ORACLE),
    r("oraclelinux6-64", "oracleLinux6_64Guest", ORACLE_64),
    r("oraclelinux7", "oracleLinux7Guest", ORACLE),
    r("oraclelinux7-64", "oracleLinux7_64Guest", ORACLE_64),
    r("oraclelinux8-64", "oracleLinux8_64Guest", ORACLE_64),
    r("oraclelinux9-64", "oracleLinux9_64Guest", ORACLE_64),
    r("suse", "suseGuest", SUSE),
    r("suse-64", "suse64Guest", SUSE_64),
    r("sles", "slesGuest", SLES),
    r("sles-64", "sles64Guest", SLES_64),
    r("sles10", "sles10Guest", SLES),
    r("sles10-64", "sles10_64Guest", SLES_64),
    r("sles11", "sles11Guest", SLES),
    r("sles11-64", "sles11_64Guest", SLES_64),
    r("sles12", "sles12Guest", SLES),
    r("sles12-64", "sles12_64Guest", SLES_64),
    r("sles15-64", "sles15_64Guest", SLES_64),
    r("sles16-64", "sles16_64Guest", SLES_64),
    r("mandrake", "mandrakeGuest", MANDRIVA),
    r("mandriva", "mandrivaGuest", MANDRIVA),
    r("mandriva-64", "mandriva64Guest", MANDRIVA_64),
    a("mandrake-64", "mandriva64Guest", MANDRIVA_64),
    r("turbolinux", "turboLinuxGuest", TURBO),
    r("turbolinux-64", "turboLinux64Guest", TURBO_64),
    r("ubuntu", "ubuntuGuest", UBUNTU),
    r("ubuntu-64", "ubuntu64Guest", UBUNTU_64),
    r("debian4", "debian4Guest", DEBIAN),
    r("debian4-64", "debian4_64Guest", DEBIAN_64),
    r("debian5", "debian5Guest", DEBIAN),
    r("debian5-64", "debian5_64Guest", DEBIAN_64),
    r("debian6", "debian6Guest", DEBIAN),
    r("debian6-64", "debian6_64Guest", DEBIAN_64),
    r("debian7", "debian7Guest", DEBIAN),
    r("debian7-64", "debian7_64Guest", DEBIAN_64),
    r("debian8", "debian8Guest", DEBIAN),
    r("debian8-64", "debian8_64Guest", DEBIAN_64),
    r("debian9", "debian9Guest", DEBIAN),
    r("debian9-64", "debian9_64Guest", DEBIAN_64),
    r("debian10", "debian10Guest", DEBIAN),
    r("debian10-64", "debian10_64Guest", DEBIAN_64),
    r("debian11", "debian11Guest", DEBIAN),
    r("debian11-64", "debian11_64Guest", DEBIAN_64),
    r("debian12", "debian12Guest", DEBIAN),
    r("debian12-64", "debian12_64Guest", DEBIAN_64),
    r("asianux3", "asianux3Guest", LINUX),
    r("asianux3-64", "asianux3_64Guest", LINUX_64),
    r("asianux4", "asianux4Guest", LINUX),
    r("asianux4-64", "asianux4_64Guest", LINUX_64),
    r("asianux5-64", "asianux5_64Guest", LINUX_64),
    r("asianux7-64", "asianux7_64Guest", LINUX_64),
    r("asianux8-64", "asianux8_64Guest", LINUX_64),
    r("asianux9-64", "asianux9_64Guest", LINUX_64),
    r("nld9", "nld9Guest", NOVELL_NLD),
    r("oes", "oesGuest", NOVELL_OES),
    r("sjds", "sjdsGuest", SJDS),
    r("opensuse", "opensuseGuest", SUSE),
    r("opensuse-64", "opensuse64Guest", SUSE_64),
    r("fedora", "fedoraGuest", LINUX),
    r("fedora-64", "fedora64Guest", LINUX_64),
    r("coreos-64", "coreos64Guest", LINUX_64),
    r("vmware-photon-64", "vmwarePhoton64Guest", LINUX_64),
    r("other24xlinux", "other24xLinuxGuest", LINUX24),
    r("other24xlinux-64", "other24xLinux64Guest", LINUX24_64),
    r("other26xlinux", "other26xLinuxGuest", LINUX26),
    r("other26xlinux-64", "other26xLinux64Guest", LINUX26_64),
    r("other3xlinux", "other3xLinuxGuest", LINUX),
    r("other3xlinux-64", "other3xLinux64Guest", LINUX_64),
    r("other4xlinux", "other4xLinuxGuest", LINUX),
    r("other4xlinux-64", "other4xLinux64Guest", LINUX_64),
    r("other5xlinux", "other5xLinuxGuest", LINUX),
    r("other5xlinux-64", "other5xLinux64Guest", LINUX_64),
    r("other6xlinux", "other6xLinuxGuest", LINUX),
    r("other6xlinux-64", "other6xLinux64Guest", LINUX_64),
    r("otherlinux", "otherLinuxGuest", LINUX),
    a("linux", "otherLinuxGuest", LINUX),
    r("otherlinux-64", "otherLinux64Guest", LINUX_64),
    r("genericlinux", "genericLinuxGuest", LINUX),
    r("amazonlinux2-64", "amazonlinux2_64Guest", LINUX_64),
    r("amazonlinux3-64", "amazonlinux3_64Guest", LINUX_64),
    r("rockylinux-64", "rockylinux_64Guest", LINUX_64),
    r("almalinux-64", "almalinux_64Guest", LINUX_64),
    r("CRXPod1-64", "crxPod1Guest", LINUX_64),
    // NetWare
    r("netware4", "netware4Guest", NETWARE),
    r("netware5", "netware5Guest", NETWARE),
    r("netware6", "netware6Guest", NETWARE),
    // Solaris
    r("solaris6", "solaris6Guest", SOLARIS),
    r("solaris7", "solaris7Guest", SOLARIS),
    r("solaris8", "solaris8Guest", SOLARIS),
    r("solaris9", "solaris9Guest", SOLARIS),
    r("solaris10", "solaris10Guest", SOLARIS),
    r("solaris10-64", "solaris10_64Guest", SOLARIS_64),
    r("solaris11-64", "solaris11_64Guest", SOLARIS_64),
    // macOS
    r("darwin", "darwinGuest", MACOS),
    r("darwin-64", "darwin64Guest", MACOS),
    r("darwin10", "darwin10Guest", MACOS),
    r("darwin10-64", "darwin10_64Guest", MACOS),
    r("darwin11", "darwin11Guest", MACOS),
    r("darwin11-64", "darwin11_64Guest", MACOS),
    r("darwin12-64", "darwin12_64Guest", MACOS),
    r("darwin13-64", "darwin13_64Guest", MACOS),
    r("darwin14-64", "darwin14_64Guest", MACOS),
    r("darwin15-64", "darwin15_64Guest", MACOS),
    r("darwin16-64", "darwin16_64Guest", MACOS),
    r("darwin17-64", "darwin17_64Guest", MACOS),
    r("darwin18-64", "darwin18_64Guest", MACOS),
    r("darwin19-64", "darwin19_64Guest", MACOS),
    r("darwin20-64", "darwin20_64Guest", MACOS),
    r("darwin21-64", "darwin21_64Guest", MACOS),
    r("darwin22-64", "darwin22_64Guest", MACOS),
    r("darwin23-64", "darwin23_64Guest", MACOS),
    // ESXi
    r("vmkernel", "vmkernelGuest", ESXI),
    r("vmkernel5", "vmkernel5Guest", ESXI),
    r("vmkernel6", "vmkernel6Guest", ESXI),
    r("vmkernel65", "vmkernel65Guest", ESXI),
    r("vmkernel7", "vmkernel7Guest", ESXI),
    r("vmkernel8", "vmkernel8Guest", ESXI),
    // Others
    r("dos", "dosGuest", MSDOS),
    r("os2", "os2Guest", OS2),
    a("os2experimental", "os2Guest", OS2),
    r("eComStation", "eComStationGuest", ECS),
    r("eComStation2", "eComStation2Guest", ECS),
    r("freeBSD", "freebsdGuest", FREEBSD),
    r("freeBSD-64", "freebsd64Guest", FREEBSD_64),
    r("freeBSD11", "freebsd11Guest", FREEBSD),
    r("freeBSD11-64", "freebsd11_64Guest", FREEBSD_64),
    r("freeBSD12", "freebsd12Guest", FREEBSD),
    r("freeBSD12-64", "freebsd12_64Guest", FREEBSD_64),
    r("freeBSD13", "freebsd13Guest", FREEBSD),
    r("freeBSD13-64", "freebsd13_64Guest", FREEBSD_64),
    r("freeBSD14", "freebsd14Guest", FREEBSD),
    r("freeBSD14-64", "freebsd14_64Guest", FREEBSD_64),
    r("openserver5", "openServer5Guest", OPENSERVER),
    r("openserver6", "openServer6Guest", OPENSERVER),
    r("unixware7", "unixWare7Guest", UNIXWARE),
    r("other", "otherGuest", OTHER),
    r("other-64", "otherGuest64", OTHER_64),
];

/// CIM OSType (+ optional version) → default guest id on import when the descriptor has no
/// `vmw:osType` (govmomi `CIMOSTypeToGuestID` semantics: exact version first, then bare).
static CIM_DEFAULTS: &[(u16, &str, &str)] = &[
    (MACOS, "", "darwinGuest"),
    (MACOS, "10", "darwin10Guest"),
    (MACOS, "11", "darwin11Guest"),
    (MACOS, "19", "darwin19_64Guest"),
    (MACOS, "20", "darwin20_64Guest"),
    (MACOS, "21", "darwin21_64Guest"),
    (DEBIAN, "", "debian10Guest"),
    (DEBIAN_64, "", "debian10_64Guest"),
    (DEBIAN, "8", "debian8Guest"),
    (DEBIAN_64, "8", "debian8_64Guest"),
    (DEBIAN, "9", "debian9Guest"),
    (DEBIAN_64, "9", "debian9_64Guest"),
    (DEBIAN, "10", "debian10Guest"),
    (DEBIAN_64, "10", "debian10_64Guest"),
    (DEBIAN, "11", "debian11Guest"),
    (DEBIAN_64, "11", "debian11_64Guest"),
    (DEBIAN, "12", "debian12Guest"),
    (DEBIAN_64, "12", "debian12_64Guest"),
    (MSDOS, "", "dosGuest"),
    (FREEBSD, "", "freebsdGuest"),
    (FREEBSD_64, "", "freebsd64Guest"),
    (FREEBSD, "11", "freebsd11Guest"),
    (FREEBSD_64, "11", "freebsd11_64Guest"),
    (FREEBSD, "12", "freebsd12Guest"),
    (FREEBSD_64, "12", "freebsd12_64Guest"),
    (FREEBSD, "13", "freebsd13Guest"),
    (FREEBSD_64, "13", "freebsd13_64Guest"),
    (FREEBSD, "14", "freebsd14Guest"),
    (FREEBSD_64, "14", "freebsd14_64Guest"),
    (MANDRIVA, "", "mandrivaGuest"),
    (MANDRIVA_64, "", "mandriva64Guest"),
    (NETWARE, "", "netware6Guest"),
    (NETWARE, "4", "netware4Guest"),
    (NETWARE, "5", "netware5Guest"),
    (NOVELL_NLD, "", "nld9Guest"),
    (NOVELL_OES, "", "oesGuest"),
    (OPENSERVER, "5", "openServer5Guest"),
    (OPENSERVER, "6", "openServer6Guest"),
    (OS2, "", "os2Guest"),
    (LINUX24, "", "other24xLinuxGuest"),
    (LINUX24_64, "", "other24xLinux64Guest"),
    (LINUX26, "", "other26xLinuxGuest"),
    (LINUX26_64, "", "other26xLinux64Guest"),
    (OTHER, "", "otherGuest"),
    (LINUX_64, "", "otherLinux64Guest"),
    (OTHER_64, "", "otherGuest64"),
    (LINUX, "", "otherLinuxGuest"),
    (RHEL, "", "redhatGuest"),
    (RHEL_64, "", "rhel7_64Guest"),
    (RHEL, "2", "rhel2Guest"),
    (RHEL, "3", "rhel3Guest"),
    (RHEL_64, "3", "rhel3_64Guest"),
    (RHEL, "4", "rhel4Guest"),
    (RHEL_64, "4", "rhel4_64Guest"),
    (RHEL, "5", "rhel5Guest"),
    (RHEL_64, "5", "rhel5_64Guest"),
    (RHEL, "6", "rhel6Guest"),
    (RHEL_64, "6", "rhel6_64Guest"),
    (RHEL, "7", "rhel7Guest"),
    (RHEL_64, "7", "rhel7_64Guest"),
    (RHEL_64, "8", "rhel8_64Guest"),
    (RHEL_64, "9", "rhel9_64Guest"),
    (SJDS, "", "sjdsGuest"),
    (SLES, "", "slesGuest"),
    (SLES_64, "", "sles64Guest"),
    (SLES, "10", "sles10Guest"),
    (SLES_64, "10", "sles10_64Guest"),
    (SLES, "11", "sles11Guest"),
    (SLES_64, "11", "sles11_64Guest"),
    (SLES, "12", "sles12Guest"),
    (SLES_64, "12", "sles12_64Guest"),
    (SLES_64, "15", "sles15_64Guest"),
    (SUSE, "", "suseGuest"),
    (SUSE_64, "", "suse64Guest"),
    (SUSE, "11", "opensuseGuest"),
    (SUSE_64, "11", "opensuse64Guest"),
    (SOLARIS, "", "solaris10Guest"),
    (SOLARIS, "8", "solaris8Guest"),
    (SOLARIS, "9", "solaris9Guest"),
    (SOLARIS_64, "", "solaris11_64Guest"),
    (SOLARIS_64, "10", "solaris10_64Guest"),
    (TURBO, "", "turboLinuxGuest"),
    (TURBO_64, "", "turboLinux64Guest"),
    (UBUNTU, "", "ubuntuGuest"),
    (UBUNTU_64, "", "ubuntu64Guest"),
    (UNIXWARE, "", "unixWare7Guest"),
    (WIN3X, "", "win31Guest"),
    (WIN95, "", "win95Guest"),
    (WIN98, "", "win98Guest"),
    (WINNT, "", "winNTGuest"),
    (WINME, "", "winMeGuest"),
    (WINXP, "", "winXPProGuest"),
    (WINXP_64, "", "winXPPro64Guest"),
    (VISTA, "", "winVistaGuest"),
    (VISTA_64, "", "winVista64Guest"),
    (WIN7, "", "windows7_64Guest"),
    (WIN2000, "", "win2000ServGuest"),
    (WIN2003, "", "winNetStandardGuest"),
    (WIN2003_64, "", "winNetStandard64Guest"),
    (WIN2008, "", "winLonghornGuest"),
    (WIN2008_64, "", "winLonghorn64Guest"),
    (WIN2008R2, "", "windows7Server64Guest"),
    (WIN8, "", "windows8_64Guest"),
    (114, "", "windows8_64Guest"),
    (WIN2012, "", "windows8Server64Guest"),
    (WIN2012R2, "", "windows9Server64Guest"),
    (CENTOS, "", "centosGuest"),
    (CENTOS_64, "", "centos64Guest"),
    (CENTOS, "6", "centos6Guest"),
    (CENTOS_64, "6", "centos6_64Guest"),
    (CENTOS, "7", "centos7Guest"),
    (CENTOS_64, "7", "centos7_64Guest"),
    (CENTOS_64, "8", "centos8_64Guest"),
    (ORACLE, "", "oracleLinuxGuest"),
    (ORACLE_64, "", "oracleLinux64Guest"),
    (ORACLE, "6", "oracleLinux6Guest"),
    (ORACLE_64, "6", "oracleLinux6_64Guest"),
    (ORACLE, "7", "oracleLinux7Guest"),
    (ORACLE_64, "7", "oracleLinux7_64Guest"),
    (ORACLE_64, "8", "oracleLinux8_64Guest"),
    (ECS, "", "eComStationGuest"),
    (ECS, "2", "eComStation2Guest"),
    (ESXI, "", "vmkernel7Guest"),
    (ESXI, "4", "vmkernelGuest"),
    (ESXI, "5", "vmkernel5Guest"),
    (ESXI, "6", "vmkernel6Guest"),
    (ESXI, "65", "vmkernel65Guest"),
    (ESXI, "7", "vmkernel7Guest"),
    (ESXI, "8", "vmkernel8Guest"),
];

/// The vSphere guest id for a `.vmx` `guestOS` value (case-insensitive), if known.
pub fn guest_id_for_vmx(vmx_key: &str) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|row| row.vmx.eq_ignore_ascii_case(vmx_key))
        .map(|row| row.guest_id)
        .or_else(|| edition_alias(vmx_key))
}

/// The edition-specific keys older products wrote (`winServer2008Enterprise-64`,
/// `winVistaUltimate-32`...), all aliases of one guest id each (GUEST_OS_KEY_MAP, not
/// reversible).
fn edition_alias(vmx_key: &str) -> Option<&'static str> {
    let k = vmx_key.to_ascii_lowercase();
    let bits64 = k.ends_with("-64");
    if !(bits64 || k.ends_with("-32")) {
        return None;
    }
    if k.starts_with("winserver2008") {
        Some(if bits64 {
            "winLonghorn64Guest"
        } else {
            "winLonghornGuest"
        })
    } else if k.starts_with("winvista") {
        Some(if bits64 {
            "winVista64Guest"
        } else {
            "winVistaGuest"
        })
    } else {
        None
    }
}

/// The canonical `.vmx` `guestOS` value for a vSphere guest id (case-insensitive), if known.
pub fn vmx_for_guest_id(guest_id: &str) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|row| row.canonical && row.guest_id.eq_ignore_ascii_case(guest_id))
        .or_else(|| {
            TABLE
                .iter()
                .find(|row| row.guest_id.eq_ignore_ascii_case(guest_id))
        })
        .map(|row| row.vmx)
}

/// The canonical spelling of a known guest id (`RHEL6_64GUEST` → `rhel6_64Guest`).
pub fn canonical_guest_id(guest_id: &str) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|row| row.guest_id.eq_ignore_ascii_case(guest_id))
        .map(|row| row.guest_id)
}

/// The CIM `OSType` number for a vSphere guest id, if known.
pub fn cim_for_guest_id(guest_id: &str) -> Option<u16> {
    TABLE
        .iter()
        .find(|row| row.guest_id.eq_ignore_ascii_case(guest_id))
        .map(|row| row.cim)
}

/// The default vSphere guest id for a CIM `OSType` number and optional version (exact version
/// first, then the bare number), for descriptors without `vmw:osType`.
pub fn guest_id_for_cim(cim: u16, version: Option<&str>) -> Option<&'static str> {
    let version = version.map(str::trim).unwrap_or("");
    if !version.is_empty() {
        // "7.1" and "7" both select the major-version row.
        let major = version.split('.').next().unwrap_or(version);
        for v in [version, major] {
            if let Some(row) = CIM_DEFAULTS.iter().find(|r| r.0 == cim && r.1 == v) {
                return Some(row.2);
            }
        }
    }
    CIM_DEFAULTS
        .iter()
        .find(|r| r.0 == cim && r.1.is_empty())
        .map(|r| r.2)
}

/// A guest operating system as each format names it.
///
/// Every field is optional because each source knows only some of them: a `.vmx` names the vmx
/// key, an OVF descriptor the CIM id and maybe the guest id. The constructors fill in what the
/// tables can derive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GuestOs {
    /// The `.vmx` `guestOS` value (`rhel6-64`).
    pub vmx_key: Option<String>,
    /// The vSphere guest id (`rhel6_64Guest`; OVF `vmw:osType`).
    pub guest_id: Option<String>,
    /// The CIM `OSType` number (OVF `OperatingSystemSection ovf:id`).
    pub cim_id: Option<u16>,
    /// The OS version (OVF `ovf:version`), if the source gave one.
    pub cim_version: Option<String>,
}

impl GuestOs {
    /// From a `.vmx` `guestOS` value. An unknown key is kept as given, without guest id or CIM id.
    pub fn from_vmx_key(key: &str) -> Self {
        let guest_id = guest_id_for_vmx(key);
        GuestOs {
            vmx_key: Some(key.to_string()),
            guest_id: guest_id.map(str::to_string),
            cim_id: guest_id.and_then(cim_for_guest_id),
            cim_version: None,
        }
    }

    /// From a vSphere guest id. An unknown id is kept as given.
    pub fn from_guest_id(guest_id: &str) -> Self {
        let canonical = canonical_guest_id(guest_id);
        GuestOs {
            vmx_key: vmx_for_guest_id(guest_id).map(str::to_string),
            guest_id: Some(canonical.unwrap_or(guest_id).to_string()),
            cim_id: cim_for_guest_id(guest_id),
            cim_version: None,
        }
    }

    /// From an OVF `OperatingSystemSection`: the CIM id, its version and VMware's `vmw:osType`
    /// when present (which wins, as in govmomi's importer).
    pub fn from_ovf(cim_id: u16, version: Option<&str>, os_type: Option<&str>) -> Self {
        let guest_id = os_type
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| canonical_guest_id(s).unwrap_or(s).to_string())
            .or_else(|| guest_id_for_cim(cim_id, version).map(str::to_string));
        GuestOs {
            vmx_key: guest_id
                .as_deref()
                .and_then(vmx_for_guest_id)
                .map(str::to_string),
            guest_id,
            cim_id: Some(cim_id),
            cim_version: version.map(str::to_string),
        }
    }

    /// The CIM id to write into OVF: the known one, else derived from the guest id, else 1
    /// ("Other").
    pub fn cim_or_other(&self) -> u16 {
        self.cim_id
            .or_else(|| self.guest_id.as_deref().and_then(cim_for_guest_id))
            .unwrap_or(OTHER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn vmx_keys_are_unique_case_insensitively() {
        let mut seen = HashSet::new();
        for row in TABLE {
            assert!(
                seen.insert(row.vmx.to_ascii_lowercase()),
                "duplicate {}",
                row.vmx
            );
        }
    }

    #[test]
    fn every_guest_id_has_exactly_one_canonical_vmx_key() {
        let ids: HashSet<&str> = TABLE.iter().map(|r| r.guest_id).collect();
        for id in ids {
            let n = TABLE
                .iter()
                .filter(|r| r.canonical && r.guest_id == id)
                .count();
            assert_eq!(n, 1, "{id}");
        }
    }

    #[test]
    fn same_guest_id_same_cim() {
        for a in TABLE {
            for b in TABLE.iter().filter(|b| b.guest_id == a.guest_id) {
                assert_eq!(a.cim, b.cim, "{}", a.guest_id);
            }
        }
    }

    #[test]
    fn canonical_keys_round_trip_through_guest_id() {
        for row in TABLE.iter().filter(|r| r.canonical) {
            let id = guest_id_for_vmx(row.vmx).unwrap();
            assert_eq!(vmx_for_guest_id(id), Some(row.vmx));
        }
        assert_eq!(guest_id_for_vmx("RHEL6-64"), Some("rhel6_64Guest"));
        assert_eq!(vmx_for_guest_id("rhel6_64Guest"), Some("rhel6-64"));
        assert_eq!(vmx_for_guest_id("otherLinuxGuest"), Some("otherlinux"));
        assert_eq!(
            guest_id_for_vmx("winServer2008Enterprise-64"),
            Some("winLonghorn64Guest")
        );
        assert_eq!(
            guest_id_for_vmx("winVistaUltimate-32"),
            Some("winVistaGuest")
        );
        assert_eq!(guest_id_for_vmx("winvista-64"), Some("winVista64Guest"));
        assert_eq!(guest_id_for_vmx("windows-64"), None);
    }

    #[test]
    fn cim_defaults_name_known_guest_ids() {
        for (cim, _, id) in CIM_DEFAULTS {
            assert!(canonical_guest_id(id).is_some(), "{id}");
            // The default of a CIM id maps back to the same CIM id, except for ids whose
            // guest id is shared between numbers (Windows 8.1 → windows8).
            if *cim != 114 {
                assert_eq!(cim_for_guest_id(id), Some(*cim), "{id}");
            }
        }
    }

    #[test]
    fn cim_lookup_prefers_version() {
        assert_eq!(guest_id_for_cim(80, Some("6")), Some("rhel6_64Guest"));
        assert_eq!(guest_id_for_cim(80, Some("7.1")), Some("rhel7_64Guest"));
        assert_eq!(guest_id_for_cim(101, None), Some("otherLinux64Guest"));
        assert_eq!(
            guest_id_for_cim(100, Some("")),
            Some("other26xLinux64Guest")
        );
        assert_eq!(guest_id_for_cim(9999, None), None);
    }

    #[test]
    fn from_ovf_prefers_os_type() {
        let g = GuestOs::from_ovf(100, None, Some("rhel6_64Guest"));
        assert_eq!(g.vmx_key.as_deref(), Some("rhel6-64"));
        let g = GuestOs::from_ovf(94, None, None);
        assert_eq!(g.guest_id.as_deref(), Some("ubuntu64Guest"));
        assert_eq!(g.vmx_key.as_deref(), Some("ubuntu-64"));
    }
}
