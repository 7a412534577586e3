#!/bin/bash
# bench-vsphere.sh - deploy to vSphere (the API simulator, TLS) against verify of the same OVA.
#
# Usage: scripts/bench-vsphere.sh [SIZE_GIB] [WORKDIR]     (default 4 GiB, a fresh temp folder)
#
# Builds an OVA whose disk is the project's mixed benchmark image
# (make-mixed-image.sh of the shared bench folder, else scripts/) as a streamOptimized VMDK (the format an import lease
# takes, so the deploy passes it through), starts ../shared/vcsim with TLS on 127.0.0.1, then
# times with a warm page cache (median of ROUNDS=3 interleaved runs; max RSS from /usr/bin/time):
#   deploy  `import --thumbprint … OVA vi://user@HOST/DC0/host/DC0_C0` (upload hashed on the way,
#           the simulator reading every byte over TLS on the same machine)
#   verify  `ovftool-rs verify OVA` (the same digests, no network)
# Prints a Markdown table for docs/PERFORMANCE.md.
set -euo pipefail
SIZE=${1:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/scripts
WORK=${2:-$(mktemp -d /tmp/bench-vsphere.XXXXXX)}
mkdir -p "$WORK"
SIM=""
# A WORKDIR given keeps its image and OVA for the next run (a rerun then only times).
KEEP=${2:+1}
trap '[ -n "$SIM" ] && kill -TERM $SIM 2>/dev/null; rm -rf "$WORK/pkg"; [ -n "$KEEP" ] || rm -f "$WORK/bench-${SIZE}g.ova"' EXIT
(cd "$ROOT" && cargo build --release --quiet)
OVT=$ROOT/target/release/ovftool-rs
VCSIM=${VCSIM:-$ROOT/target/vcsim}
[ -x "$VCSIM" ] || "$ROOT/../shared/vcsim/build.sh" "$VCSIM" >/dev/null

IMG=$WORK/disk-${SIZE}g.raw
OVA=$WORK/bench-${SIZE}g.ova
if [ ! -s "$OVA" ]; then
MIXED=$ROOT/../shared/bench/make-mixed-image.sh; [ -x "$MIXED" ] || MIXED=$BENCH/make-mixed-image.sh
[ -f "$IMG" ] || "$MIXED" "$WORK" "$SIZE" >/dev/null
mkdir -p "$WORK/pkg"
# The raw image through a monolithicFlat descriptor: the content sniffer cannot mistake a raw
# image whose first bytes happen to be a gzip header (the mixed image's are) for a gzip file.
cat > "$WORK/flat.vmdk" <<VMDK
# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="monolithicFlat"
RW $(( $(stat -c %s "$IMG") / 512 )) FLAT "$(basename "$IMG")" 0
ddb.adapterType = "lsilogic"
VMDK
"$OVT" convert --quiet --force --to stream-optimized "$WORK/flat.vmdk" "$WORK/pkg/bench-disk1.vmdk"
BYTES=$(stat -c %s "$WORK/pkg/bench-disk1.vmdk")
CAP=$(stat -c %s "$IMG")
cat > "$WORK/pkg/bench.ovf" <<OVF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="bench-disk1.vmdk" ovf:id="file1" ovf:size="$BYTES"/></References>
  <DiskSection><Info>Disks</Info>
    <Disk ovf:capacity="$CAP" ovf:diskId="vmdisk1" ovf:fileRef="file1"
      ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <VirtualSystem ovf:id="bench"><Info>benchmark</Info>
    <VirtualHardwareSection><Info>Hardware</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>bench</vssd:VirtualSystemIdentifier><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>1 virtual CPU</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>512MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>512</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>SCSI Controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard Disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
OVF
"$OVT" pack --quiet --force "$WORK/pkg" "$OVA"
rm -rf "$WORK/pkg"
fi
BYTES=$(tar tvf "$OVA" | awk '/\.vmdk$/ {print $3}')
OVABYTES=$(stat -c %s "$OVA")

"$VCSIM" -tls >"$WORK/sim.json" 2>"$WORK/sim.log" & SIM=$!
for _ in $(seq 50); do [ -s "$WORK/sim.json" ] && break; sleep 0.2; done
HP=$(python3 -c 'import json,sys; u=json.load(open(sys.argv[1]))["url"]; print(u.split("@")[1].split("/")[0])' "$WORK/sim.json")
TP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["thumbprint"])' "$WORK/sim.json")
export OVFTOOL_PASSWORD=pass

ROUNDS=${ROUNDS:-3}
declare -A RUNS
N=0
timed() { # timed NAME CMD
  /usr/bin/time -f "%e %M %U %S" -o "$WORK/time.txt" sh -c "$2" >/dev/null 2>"$WORK/cmd.err" ||
    { echo "FAILED: $2" >&2; tail -3 "$WORK/cmd.err" >&2; exit 1; }
  RUNS[$1]+="$(tail -1 "$WORK/time.txt")"$'\n'
}
cat "$OVA" >/dev/null
for ((r = 0; r < ROUNDS; r++)); do
  timed verify "'$OVT' verify --quiet '$OVA'"
  N=$((N + 1))
  timed deploy "'$OVT' import --quiet --thumbprint '$TP' --name bench$N '$OVA' 'vi://user@$HP/DC0/host/DC0_C0'"
done
grep -q "transferred $BYTES bytes" "$WORK/sim.log" || { echo "FAILED: the simulator did not receive $BYTES bytes" >&2; exit 1; }
med() { printf '%s' "${RUNS[$1]}" | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p"; }
sec() { echo "$1" | cut -d' ' -f1; }
rss() { echo "$(( $(echo "$1" | cut -d' ' -f2) / 1024 ))"; }
cpu() { echo "$1" | awk '{printf "%.2f", $3 + $4}'; }
mbs() { echo "scale=0; $OVABYTES / $(sec "$1") / 1000000" | bc; }
V=$(med verify) D=$(med deploy)
echo "every run (seconds max-RSS-KiB user sys):"
printf 'verify %s\n' ${RUNS[verify]// /_}
printf 'deploy %s\n' ${RUNS[deploy]// /_}
echo
echo "vSphere benchmark: ${SIZE} GiB mixed image as streamOptimized ($BYTES bytes), OVA $OVABYTES bytes, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ), medians of $ROUNDS interleaved runs"
echo
echo "| operation | command | seconds | CPU s (user+sys) | MB/s | max RSS MiB | ratio (wall) |"
echo "|---|---|---|---|---|---|---|"
echo "| deploy | \`ovftool-rs import --thumbprint … bench.ova vi://…/DC0_C0\` (simulator, TLS) | $(sec "$D") | $(cpu "$D") | $(mbs "$D") | $(rss "$D") | deploy/verify = $(echo "scale=2; $(sec "$D") / $(sec "$V")" | bc) |"
echo "| reference | \`ovftool-rs verify bench.ova\` | $(sec "$V") | $(cpu "$V") | $(mbs "$V") | $(rss "$V") | 1.00 |"
