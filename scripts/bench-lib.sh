# bench-lib.sh - what the bench-*.sh scripts share; sourced, not run.
#
# Every command of a group runs ROUNDS times (default 5), the commands interleaved round by round
# so that a slow spell of the machine hits all of them alike; each reports its median run.
# Needs WORK (a folder for time.txt).
ROUNDS=${ROUNDS:-5}
# MAKE_MIXED: the benchmark image generator (the shared one when the checkout sits beside it).
MAKE_MIXED=${MAKE_MIXED:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/make-mixed-image.sh}

# group NAME CMD1 CMD2 ...: runs the commands interleaved; command i's runs in RUNS[NAME.i], one
# "seconds maxrss_kib user sys" line a run. A command that fails stops the benchmark.
group() {
  local name=$1; shift
  local i r
  declare -gA RUNS
  for ((r = 0; r < ROUNDS; r++)); do
    i=0
    for cmd in "$@"; do
      if ! /usr/bin/time -f "%e %M %U %S" -o "$WORK/time.txt" sh -c "$cmd" >/dev/null 2>"$WORK/cmd.err"; then
        echo "FAILED: $cmd" >&2
        tail -3 "$WORK/cmd.err" >&2
        exit 1
      fi
      RUNS[$name.$i]+="$(tail -1 "$WORK/time.txt")"$'\n'
      i=$((i + 1))
    done
  done
}
# med NAME.I: the median run's line; all NAME.I: every run's seconds, in order.
med() { printf '%s' "${RUNS[$1]}" | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p"; }
all() { printf '%s' "${RUNS[$1]}" | cut -d' ' -f1 | paste -sd' '; }
sec() { echo "$1" | cut -d' ' -f1; }
rss() { echo "$(( $(echo "$1" | cut -d' ' -f2) / 1024 ))"; }
cpu() { echo "$1" | awk '{printf "%.2f", $3 + $4}'; }
# ratio A B: A's seconds over B's; "n/a" when B took no measurable time (bc would divide by 0).
ratio() {
  local d; d=$(sec "$2")
  if [ "$(echo "$d == 0" | bc)" = 1 ]; then echo "n/a"; else echo "scale=2; $(sec "$1") / $d" | bc; fi
}
warm() { cat "$@" >/dev/null; }

# bench_ovf OVF HREF BYTES [CAPACITY]: the benchmark package's descriptor: one VM (1 CPU,
# 512 MiB) and one file HREF of BYTES bytes; with CAPACITY, the file is a streamOptimized disk
# of CAPACITY bytes (DiskSection) attached to the VM (LSI Logic SCSI controller, hard disk
# item: what an importer or a vSphere deploy creates), and the VM has a ProductSection.
bench_ovf() {
  local disks="" product="" items=""
  if [ -n "${4:-}" ]; then
    items="<Item><rasd:Address>0</rasd:Address><rasd:ElementName>SCSI Controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard Disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>"
    disks="<DiskSection><Info>Disks</Info><Disk ovf:capacity=\"$4\" ovf:diskId=\"vmdisk1\" ovf:fileRef=\"file1\"
    ovf:format=\"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\"/></DiskSection>"
    product="<ProductSection><Info>Product</Info><Product>Bench</Product><Version>1.0</Version></ProductSection>"
  fi
  cat > "$1" <<OVF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="$2" ovf:id="file1" ovf:size="$3"/></References>
  $disks
  <VirtualSystem ovf:id="bench"><Info>benchmark</Info>
    $product
    <VirtualHardwareSection><Info>Hardware</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>bench</vssd:VirtualSystemIdentifier><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>1 virtual CPU</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>512MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>512</rasd:VirtualQuantity></Item>
      $items
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
OVF
}
