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
ROUNDS=${ROUNDS:-3}
MIXED=$ROOT/../shared/bench/make-mixed-image.sh; [ -x "$MIXED" ] && MAKE_MIXED=${MAKE_MIXED:-$MIXED}
source "$BENCH/bench-lib.sh"
VCSIM=${VCSIM:-$ROOT/target/vcsim}
[ -x "$VCSIM" ] || "$ROOT/../shared/vcsim/build.sh" "$VCSIM" >/dev/null

IMG=$WORK/disk-${SIZE}g.raw
OVA=$WORK/bench-${SIZE}g.ova
if [ ! -s "$OVA" ]; then
[ -f "$IMG" ] || "$MAKE_MIXED" "$WORK" "$SIZE" >/dev/null
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
bench_ovf "$WORK/pkg/bench.ovf" bench-disk1.vmdk "$(stat -c %s "$WORK/pkg/bench-disk1.vmdk")" "$(stat -c %s "$IMG")"
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

warm "$OVA"
# Each deploy makes a VM of its own name (sh evaluates the $(date) at each run).
group vs \
  "'$OVT' verify --quiet '$OVA'" \
  "'$OVT' import --quiet --thumbprint '$TP' --name bench\$(date +%s%N) '$OVA' 'vi://user@$HP/DC0/host/DC0_C0'"
grep -q "transferred $BYTES bytes" "$WORK/sim.log" || { echo "FAILED: the simulator did not receive $BYTES bytes" >&2; exit 1; }
mbs() { echo "scale=0; $OVABYTES / $(sec "$1") / 1000000" | bc; }
V=$(med vs.0) D=$(med vs.1)
echo "every run (seconds max-RSS-KiB user sys):"
printf 'verify %s\n' ${RUNS[vs.0]// /_}
printf 'deploy %s\n' ${RUNS[vs.1]// /_}
echo
echo "vSphere benchmark: ${SIZE} GiB mixed image as streamOptimized ($BYTES bytes), OVA $OVABYTES bytes, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ), medians of $ROUNDS interleaved runs"
echo
echo "| operation | command | seconds | CPU s (user+sys) | MB/s | max RSS MiB | ratio (wall) |"
echo "|---|---|---|---|---|---|---|"
echo "| deploy | \`ovftool-rs import --thumbprint … bench.ova vi://…/DC0_C0\` (simulator, TLS) | $(sec "$D") | $(cpu "$D") | $(mbs "$D") | $(rss "$D") | deploy/verify = $(ratio "$D" "$V") |"
echo "| reference | \`ovftool-rs verify bench.ova\` | $(sec "$V") | $(cpu "$V") | $(mbs "$V") | $(rss "$V") | 1.00 |"
