#!/bin/bash
# bench-import.sh - import benchmark: `ovftool-rs import` against the shell pipeline it replaces
# (tar -xf + manifest check with sha256sum -c + qemu-img convert to the same layout), in the same
# run, on a mixed-content OVA (scripts/make-mixed-image.sh).
#
# Usage: scripts/bench-import.sh [WORKDIR] [SIZE_GIB]      (defaults: /tmp/bench-import 4)
# Run from the crate root. Needs qemu-img, GNU tar, sha256sum, /usr/bin/time.
# Prints one line per job: wall seconds and peak RSS (MiB), and the speed-up ratios.
#
# Layouts compared:
#   thin               ours: vmfs descriptor + sparse -flat.vmdk
#                      baseline: qemu-img convert -O vmdk -o subformat=monolithicFlat (sparse flat file)
#   eager-zeroed-thick ours: every block written
#                      baseline: the same qemu-img convert with -S 0 (zeros written, no holes)
set -euo pipefail
W=${1:-/tmp/bench-import}
G=${2:-4}
ROOT=$(pwd)
BENCH=${BENCH_DIR:-$ROOT/scripts}
mkdir -p "$W"
cargo build --release --quiet
OVT=$ROOT/target/release/ovftool-rs
RAW=$W/disk-${G}g.raw
[ -f "$RAW" ] || "$BENCH/make-mixed-image.sh" "$W" "$G" >/dev/null
OVA=$W/bench-${G}g.ova
if [ ! -f "$OVA" ]; then
  rm -rf "$W/pkg" && mkdir -p "$W/pkg"
  "$OVT" convert --to stream-optimized --force "$RAW" "$W/pkg/bench-disk1.vmdk" >/dev/null
  size=$(stat -c %s "$W/pkg/bench-disk1.vmdk"); cap=$(stat -c %s "$RAW")
  cat > "$W/pkg/bench.ovf" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
  xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:href="bench-disk1.vmdk" ovf:id="file1" ovf:size="$size"/></References>
  <DiskSection><Info>Virtual disks</Info>
    <Disk ovf:capacity="$cap" ovf:diskId="vmdisk1" ovf:fileRef="file1"
      ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
  <VirtualSystem ovf:id="bench"><Info>A VM</Info><Name>bench</Name>
    <OperatingSystemSection ovf:id="101" vmw:osType="otherLinux64Guest"><Info>OS</Info></OperatingSystemSection>
    <VirtualHardwareSection><Info>Hardware</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:ElementName>cpu</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>mem</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>1024</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>scsi</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>disk</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
EOF
  (cd "$W/pkg" && for f in bench.ovf bench-disk1.vmdk; do echo "SHA256($f)= $(sha256sum "$f" | cut -d' ' -f1)"; done > bench.mf)
  tar -C "$W/pkg" --format=ustar -cf "$OVA" bench.ovf bench.mf bench-disk1.vmdk
  rm -rf "$W/pkg"
fi
sync
# measure NAME CMD...: wall seconds and peak RSS of CMD (children included via /usr/bin/time -v on a shell).
measure() {
  local name=$1; shift
  /usr/bin/time -v -o "$W/time.$name" "$@" >/dev/null 2>"$W/err.$name" || { echo "$name FAILED"; cat "$W/err.$name"; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$W/time.$name")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$W/time.$name")
  printf '%-28s %8.2f s  %8s MiB peak RSS\n' "$name" "$wall" "$rss"
  eval "T_${name//-/_}=$wall"
}
baseline() { # MODE_ARGS...: the shell pipeline
  cat > "$W/baseline.sh" <<EOF
set -e
rm -rf "$W/base" && mkdir -p "$W/base" && cd "$W/base"
tar -xf "$OVA"
sed -E 's/^SHA256\(([^)]*)\)= *([0-9a-f]+)/\2  \1/' bench.mf | sha256sum -c --quiet
qemu-img convert -O vmdk -o subformat=monolithicFlat $* bench-disk1.vmdk out.vmdk
EOF
  bash "$W/baseline.sh"
}
export -f baseline 2>/dev/null || true
echo "input: $OVA ($(du -h --apparent-size "$OVA" | cut -f1) stored, ${G} GiB capacity), $(nproc) cores"
rm -rf "$W/ours"
measure ours-thin "$OVT" import --quiet --disk-mode thin "$OVA" "$W/ours"
rm -rf "$W/ours"
measure ours-eager "$OVT" import --quiet --disk-mode eager-zeroed-thick "$OVA" "$W/ours"
rm -rf "$W/ours"
measure base-thin bash -c "$(declare -f baseline); W='$W' OVA='$OVA' baseline"
measure base-eager bash -c "$(declare -f baseline); W='$W' OVA='$OVA' baseline -S 0"
rm -rf "$W/base"
echo "speed-up thin:  $(echo "scale=2; $T_base_thin / $T_ours_thin" | bc)x"
echo "speed-up eager: $(echo "scale=2; $T_base_eager / $T_ours_eager" | bc)x"
