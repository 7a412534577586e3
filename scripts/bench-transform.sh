#!/bin/bash
# bench-transform.sh - edit and diff speed against their references, same run.
#
# Usage: scripts/bench-transform.sh [SIZE_GIB] [WORKDIR]     (default 4 GiB, a fresh temp folder)
#
# Builds an OVA around the project's mixed benchmark image (scripts/make-mixed-image.sh)
# stored as streamOptimized (qemu-img convert), a second OVA whose disk differs in one 64 KiB
# grain, then times with a warm page cache (median of ROUNDS=5 interleaved runs, seconds; max
# RSS from /usr/bin/time):
#   edit   vs  cp of the same OVA (and cp + sync, since edit fsyncs its output before the rename)
#   diff   vs  reading both OVAs once (cat A B > /dev/null), and cmp of A and B
# Prints a Markdown table for docs/PERFORMANCE.md.
set -euo pipefail
SIZE=${1:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/scripts
WORK=${2:-$(mktemp -d /tmp/bench-transform.XXXXXX)}
mkdir -p "$WORK"
trap 'rm -rf "$WORK/pkg" "$WORK/pkg2" "$WORK/e.ova" "$WORK/cp.ova"' EXIT
(cd "$ROOT" && cargo build --release --quiet)
OVT=$ROOT/target/release/ovftool-rs
command -v qemu-img >/dev/null || { echo "qemu-img is needed" >&2; exit 2; }

IMG=$WORK/disk-${SIZE}g.raw
[ -f "$IMG" ] || "$BENCH/make-mixed-image.sh" "$WORK" "$SIZE" >/dev/null
mkpkg() { # mkpkg DIR RAW: an OVF package folder around RAW as streamOptimized
  mkdir -p "$1"
  qemu-img convert -O vmdk -o subformat=streamOptimized "$2" "$1/bench-disk1.vmdk"
  local bytes cap
  bytes=$(stat -c %s "$1/bench-disk1.vmdk"); cap=$(stat -c %s "$2")
  cat > "$1/bench.ovf" <<OVF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="bench-disk1.vmdk" ovf:id="file1" ovf:size="$bytes"/></References>
  <DiskSection><Info>Disks</Info><Disk ovf:capacity="$cap" ovf:diskId="vmdisk1" ovf:fileRef="file1"
    ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
  <VirtualSystem ovf:id="bench"><Info>benchmark</Info>
    <ProductSection><Info>Product</Info><Product>Bench</Product><Version>1.0</Version></ProductSection>
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
}
A=$WORK/a-${SIZE}g.ova
B=$WORK/b-${SIZE}g.ova
if [ ! -f "$A" ] || [ ! -f "$B" ]; then
  mkpkg "$WORK/pkg" "$IMG"
  "$OVT" pack --quiet --force "$WORK/pkg" "$A"
  # B: the same image with one 64 KiB grain changed in the middle.
  cp --reflink=auto "$IMG" "$WORK/b.raw"
  printf 'one changed grain' | dd of="$WORK/b.raw" bs=65536 seek=$(( (SIZE << 14) / 2 )) conv=notrunc status=none
  mkpkg "$WORK/pkg2" "$WORK/b.raw"
  rm -f "$WORK/b.raw"
  "$OVT" pack --quiet --force "$WORK/pkg2" "$B"
fi

ROUNDS=${ROUNDS:-5}
group() {
  local name=$1; shift
  local i r
  declare -gA RUNS
  for ((r = 0; r < ROUNDS; r++)); do
    i=0
    for cmd in "$@"; do
      /usr/bin/time -f "%e %M %U %S" -o "$WORK/time.txt" sh -c "$cmd" >/dev/null 2>&1 || {
        rc=$?; [ "$name" = diff ] && [ $rc -eq 1 ] || { echo "FAILED ($rc): $cmd" >&2; exit 1; }; }
      RUNS[$name.$i]+="$(tail -1 "$WORK/time.txt")"$'\n'
      i=$((i + 1))
    done
  done
}
med() { printf '%s' "${RUNS[$1]}" | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p"; }
cat "$A" "$B" >/dev/null
group edit \
  "rm -f '$WORK/e.ova'; '$OVT' edit --quiet '$A' '$WORK/e.ova' --product-version 9.9" \
  "rm -f '$WORK/cp.ova'; cp '$A' '$WORK/cp.ova'" \
  "rm -f '$WORK/cp.ova'; cp '$A' '$WORK/cp.ova' && sync '$WORK/cp.ova'"
rm -f "$WORK/cp.ova"
group diff \
  "'$OVT' diff --quiet '$A' '$B'" \
  "cat '$A' '$B' > /dev/null" \
  "cmp -s '$A' '$B'; true"

sec() { echo "$1" | cut -d' ' -f1; }
rss() { echo "$(( $(echo "$1" | cut -d' ' -f2) / 1024 ))"; }
cpu() { echo "$1" | awk '{printf "%.2f", $3 + $4}'; }
ratio() { echo "scale=2; $(sec "$1") / $(sec "$2")" | bc; }
E=$(med edit.0); C=$(med edit.1); CS=$(med edit.2); D=$(med diff.0); R=$(med diff.1); M=$(med diff.2)
echo "OVA: $(stat -c %s "$A") bytes ($SIZE GiB image, streamOptimized); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| op | command | seconds | CPU s | max RSS MiB | ratio |"
echo "|---|---|---|---|---|---|"
echo "| edit | \`ovftool-rs edit a.ova e.ova --product-version 9.9\` (fsync) | $(sec "$E") | $(cpu "$E") | $(rss "$E") | 1.00 |"
echo "| reference | \`cp a.ova copy\` | $(sec "$C") | $(cpu "$C") | $(rss "$C") | edit/cp = $(ratio "$E" "$C") |"
echo "| reference | \`cp a.ova copy && sync copy\` | $(sec "$CS") | $(cpu "$CS") | $(rss "$CS") | edit/(cp+sync) = $(ratio "$E" "$CS") |"
echo "| diff | \`ovftool-rs diff a.ova b.ova\` (one grain differs) | $(sec "$D") | $(cpu "$D") | $(rss "$D") | 1.00 |"
echo "| reference | \`cat a.ova b.ova > /dev/null\` | $(sec "$R") | $(cpu "$R") | $(rss "$R") | diff/cat = $(ratio "$D" "$R") |"
echo "| reference | \`cmp a.ova b.ova\` | $(sec "$M") | $(cpu "$M") | $(rss "$M") | diff/cmp = $(ratio "$D" "$M") |"
