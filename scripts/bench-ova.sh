#!/bin/bash
# bench-ova.sh - verify / pack / unpack speed and memory against their references, same run.
#
# Usage: scripts/bench-ova.sh [SIZE_GIB] [WORKDIR]     (default 4 GiB, a fresh temp folder)
#
# Builds an OVF package folder whose disk is the project's mixed benchmark image
# (../shared/bench/make-mixed-image.sh; stored raw so the OVA holds SIZE GiB), then times with a
# warm page cache (median of 3, seconds; max RSS from /usr/bin/time):
#   pack   vs  cp of the same disk bytes (and cp + sync, since pack fsyncs its output)
#   verify vs  openssl dgst -sha256 on the OVA, and tar -xOf OVA | sha256sum
#   unpack vs  cp of the OVA
# Prints a Markdown table for docs/PERFORMANCE.md.
set -euo pipefail
SIZE=${1:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/../shared/bench
WORK=${2:-$(mktemp -d /tmp/bench-ova.XXXXXX)}
mkdir -p "$WORK"
trap 'rm -rf "$WORK/pkg" "$WORK/out.ova" "$WORK/unpacked" "$WORK/cp.*"' EXIT
(cd "$ROOT" && cargo build --release --quiet)
OVT=$ROOT/target/release/ovftool-rs

IMG=$WORK/disk-${SIZE}g.raw
[ -f "$IMG" ] || "$BENCH/make-mixed-image.sh" "$WORK" "$SIZE" >/dev/null
mkdir -p "$WORK/pkg"
ln -f "$IMG" "$WORK/pkg/bench-disk1.img" 2>/dev/null || cp "$IMG" "$WORK/pkg/bench-disk1.img"
BYTES=$(stat -c %s "$WORK/pkg/bench-disk1.img")
cat > "$WORK/pkg/bench.ovf" <<OVF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="bench-disk1.img" ovf:id="file1" ovf:size="$BYTES"/></References>
  <VirtualSystem ovf:id="bench"><Info>benchmark</Info>
    <VirtualHardwareSection><Info>Hardware</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>bench</vssd:VirtualSystemIdentifier><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>1 virtual CPU</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>512MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>512</rasd:VirtualQuantity></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
OVF
# t CMD... : prints "seconds maxrss_kib" of the median of 3 runs.
t() {
  local runs=()
  for _ in 1 2 3; do
    if ! /usr/bin/time -f "%e %M %U %S" -o "$WORK/time.txt" "$@" >/dev/null 2>&1; then
      echo "FAILED: $*" >&2
      exit 1
    fi
    runs+=("$(tail -1 "$WORK/time.txt")")
  done
  printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p
}
warm() { cat "$@" >/dev/null; }

warm "$WORK/pkg/bench-disk1.img"
cp_t=$(t sh -c "rm -f '$WORK/cp.img'; cp '$WORK/pkg/bench-disk1.img' '$WORK/cp.img'")
cps_t=$(t sh -c "rm -f '$WORK/cp.img'; cp '$WORK/pkg/bench-disk1.img' '$WORK/cp.img' && sync '$WORK/cp.img'")
pack_t=$(t sh -c "'$OVT' pack --quiet --force '$WORK/pkg' '$WORK/out.ova'")
rm -f "$WORK/cp.img"
warm "$WORK/out.ova"
ossl_t=$(t openssl dgst -sha256 "$WORK/out.ova")
tar_t=$(t sh -c "tar -xOf '$WORK/out.ova' | sha256sum")
ver_t=$(t "$OVT" verify --quiet "$WORK/out.ova")
cpo_t=$(t sh -c "rm -f '$WORK/cp.ova'; cp '$WORK/out.ova' '$WORK/cp.ova'")
rm -f "$WORK/cp.ova"
unp_t=$(t sh -c "rm -rf '$WORK/unpacked'; '$OVT' unpack --quiet '$WORK/out.ova' '$WORK/unpacked'")

sec() { echo "$1" | cut -d' ' -f1; }
rss() { echo "$(( $(echo "$1" | cut -d' ' -f2) / 1024 ))"; }
cpu() { echo "$1" | awk '{printf "%.2f", $3 + $4}'; }
ratio() { echo "scale=2; $(sec "$1") / $(sec "$2")" | bc; }
mbs() { echo "scale=0; $BYTES / $(sec "$1") / 1000000" | bc; }
echo "OVA benchmark: ${SIZE} GiB disk member ($BYTES bytes), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| operation | command | seconds | CPU s (user+sys) | MB/s | max RSS MiB | ratio (wall) |"
echo "|---|---|---|---|---|---|---|"
echo "| verify | \`ovftool-rs verify out.ova\` | $(sec "$ver_t") | $(cpu "$ver_t") | $(mbs "$ver_t") | $(rss "$ver_t") | 1.00 |"
echo "| reference | \`openssl dgst -sha256 out.ova\` | $(sec "$ossl_t") | $(cpu "$ossl_t") | $(mbs "$ossl_t") | $(rss "$ossl_t") | verify/openssl = $(ratio "$ver_t" "$ossl_t") |"
echo "| reference | \`tar -xOf out.ova \\| sha256sum\` | $(sec "$tar_t") | $(cpu "$tar_t") | $(mbs "$tar_t") | - | tar/verify = $(ratio "$tar_t" "$ver_t") |"
echo "| pack | \`ovftool-rs pack pkg out.ova\` (SHA-256 manifest, fsync) | $(sec "$pack_t") | $(cpu "$pack_t") | $(mbs "$pack_t") | $(rss "$pack_t") | 1.00 |"
echo "| reference | \`cp disk copy\` | $(sec "$cp_t") | $(cpu "$cp_t") | $(mbs "$cp_t") | $(rss "$cp_t") | pack/cp = $(ratio "$pack_t" "$cp_t") |"
echo "| reference | \`cp disk copy && sync copy\` | $(sec "$cps_t") | $(cpu "$cps_t") | $(mbs "$cps_t") | - | pack/(cp+sync) = $(ratio "$pack_t" "$cps_t") |"
echo "| unpack | \`ovftool-rs unpack out.ova dir\` (verifying) | $(sec "$unp_t") | $(cpu "$unp_t") | $(mbs "$unp_t") | $(rss "$unp_t") | 1.00 |"
echo "| reference | \`cp out.ova copy\` | $(sec "$cpo_t") | $(cpu "$cpo_t") | $(mbs "$cpo_t") | $(rss "$cpo_t") | unpack/cp = $(ratio "$unp_t" "$cpo_t") |"
