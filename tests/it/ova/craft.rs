//! Building OVAs for tests, including ones no honest writer would produce.

use ovftool::digest::Algorithm;
use ovftool::vmdk::header::{
    SparseHeader, COMPRESSION_DEFLATE, FLAG_COMPRESSED, FLAG_MARKERS, FLAG_NEWLINE_TEST, GD_AT_END,
};

/// A raw tar member with any name and type flag (checksum computed, nothing checked).
pub fn member(name: &[u8], typeflag: u8, data: &[u8], linkname: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = typeflag;
    h[157..157 + linkname.len()].copy_from_slice(linkname);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    fix_checksum(&mut h);
    let mut v = h.to_vec();
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

pub fn fix_checksum(h: &mut [u8; 512]) {
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|&c| u64::from(c)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

pub fn file(name: &str, data: &[u8]) -> Vec<u8> {
    member(name.as_bytes(), b'0', data, b"")
}

pub fn end() -> Vec<u8> {
    vec![0u8; 1024]
}

/// A streamOptimized VMDK head: a valid sparse header and embedded descriptor, then `body`.
/// Enough for verify's header check (it does not decode grains).
pub fn vmdk(capacity_bytes: u64, body: &[u8]) -> Vec<u8> {
    let h = SparseHeader {
        version: 3,
        flags: FLAG_NEWLINE_TEST | FLAG_COMPRESSED | FLAG_MARKERS,
        capacity_sectors: capacity_bytes / 512,
        grain_sectors: 128,
        descriptor_offset_sectors: 1,
        descriptor_size_sectors: 2,
        num_gtes_per_gt: 512,
        rgd_offset_sectors: 0,
        gd_offset_sectors: GD_AT_END,
        overhead_sectors: 128,
        unclean_shutdown: false,
        compress_algorithm: COMPRESSION_DEFLATE,
    };
    let mut v = h.to_bytes().to_vec();
    let desc = format!(
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"streamOptimized\"\n\nRW {} SPARSE \"x.vmdk\"\n",
        capacity_bytes / 512
    );
    let mut d = desc.into_bytes();
    d.resize(1024, 0);
    v.extend(d);
    v.extend_from_slice(body);
    v
}

pub const CAPACITY: u64 = 64 << 20;

/// A minimal OVF 1.0 descriptor with one disk file of `size` bytes (`href`).
pub fn descriptor(href: &str, size: u64, extra_file_attrs: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="{href}" ovf:id="file1" ovf:size="{size}"{extra_file_attrs}/></References>
  <DiskSection><Info>Virtual disks</Info>
    <Disk ovf:capacity="{CAPACITY}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1"
      ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
  <VirtualSystem ovf:id="vm"><Info>A VM</Info><Name>vm</Name>
    <VirtualHardwareSection><Info>Hardware</Info>
      <Item><rasd:ElementName>Hard Disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#
    )
    .into_bytes()
}

/// The parts of a good package: descriptor `t.ovf`, disk `t-disk1.vmdk`, manifest `t.mf`.
pub struct Package {
    pub ovf: Vec<u8>,
    pub disk: Vec<u8>,
    pub mf: Vec<u8>,
}

pub fn mf_line(alg: Algorithm, name: &str, data: &[u8]) -> String {
    format!(
        "{}({name})= {}\n",
        alg.name(),
        hex::encode(alg.digest(data))
    )
}

pub fn package() -> Package {
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let disk = vmdk(CAPACITY, &body);
    let ovf = descriptor("t-disk1.vmdk", disk.len() as u64, "");
    let mf = format!(
        "{}{}",
        mf_line(Algorithm::Sha256, "t.ovf", &ovf),
        mf_line(Algorithm::Sha256, "t-disk1.vmdk", &disk)
    )
    .into_bytes();
    Package { ovf, disk, mf }
}

impl Package {
    /// The standard layout: ovf, mf, disk.
    pub fn ova(&self) -> Vec<u8> {
        let mut v = file("t.ovf", &self.ovf);
        v.extend(file("t.mf", &self.mf));
        v.extend(file("t-disk1.vmdk", &self.disk));
        v.extend(end());
        v
    }

    /// Writes the package files into `dir`.
    pub fn write_dir(&self, dir: &std::path::Path) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("t.ovf"), &self.ovf).unwrap();
        std::fs::write(dir.join("t.mf"), &self.mf).unwrap();
        std::fs::write(dir.join("t-disk1.vmdk"), &self.disk).unwrap();
    }
}
