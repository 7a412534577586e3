#!/bin/bash
# Stress campaign for docs/RELIABILITY.md ("Stress"): ROUNDS export/convert round trips of
# snapshot chains (a base and two snapshots written by qemu-img/qemu-io, in the hosted VMDK
# layouts, a .vmx naming the top) while HOGS busy loops compete for the CPU at normal priority.
# Every output is compared with its source chain by `qemu-img compare`; a mismatch keeps the
# output and the chain under $W/fail-ROUND and is counted. Prints one line per mismatch and a
# summary line; exits 1 if any round mismatched or failed.
# Usage: scripts/stress-roundtrip.sh [ROUNDS] (env: HOGS=2, SIZE_MIB=32, KEEP=1 keeps $W)
set -u
ROUNDS=${1:-200}
HOGS=${HOGS:-2}
SIZE_MIB=${SIZE_MIB:-32}
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || { echo "needs qemu-img and qemu-io"; exit 2; }
cargo build --release --quiet || exit 2
OVT=$(pwd)/target/release/ovftool-rs
W=$(mktemp -d /tmp/stress.XXXXXX)
HOG_PIDS=()
cleanup() {
  for p in "${HOG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ "${KEEP:-0}" = 1 ] || [ -n "$(ls -d "$W"/fail-* 2>/dev/null)" ] || rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 2

# Chains: base layout, snapshot 1 layout, snapshot 2 layout (all hosted VMware layouts).
CHAINS=(
  "monolithicSparse monolithicSparse twoGbMaxExtentSparse"
  "monolithicFlat twoGbMaxExtentSparse monolithicSparse"
  "twoGbMaxExtentFlat monolithicSparse monolithicSparse"
  "twoGbMaxExtentSparse twoGbMaxExtentSparse twoGbMaxExtentSparse"
)
# qemu-io commands (one a line): scattered writes of patterns and zeros, unaligned to the 64 KiB grain, some
# crossing grain boundaries, some over data of the layer below.
writes() {  # SEED BYTES: the qemu-io commands for one layer
  python3 - "$1" "$2" <<'PY'
import random, sys
rng = random.Random(int(sys.argv[1])); size = int(sys.argv[2])
for _ in range(40):
    n = rng.choice([512, 4096, 65536, 3 * 65536 + 512 * rng.randrange(1, 128)])
    off = rng.randrange(0, size - n) // 512 * 512
    if rng.random() < 0.2:
        print("write -z %d %d" % (off, n))
    else:
        print("write -P 0x%02x %d %d" % (rng.randrange(1, 256), off, n))
print("write -P 0x%02x %d 1024" % (rng.randrange(1, 256), size - 1024))  # the last sectors
PY
}
qemu_write() {  # IMAGE SEED BYTES
  local args=() c
  while IFS= read -r c; do args+=(-c "$c"); done < <(writes "$2" "$3")
  qemu-io "${args[@]}" "$1" >/dev/null
}
for k in "${!CHAINS[@]}"; do
  read -r l0 l1 l2 <<<"${CHAINS[$k]}"
  mkdir "vm$k"
  # Chain k is SIZE_MIB MiB plus 37 k sectors: the last grain of chains 1-3 is partial.
  bytes=$(((SIZE_MIB << 20) + k * 37 * 512))
  python3 - "vm$k/base.raw" "$bytes" "$k" <<'PY'
import os, random, sys
path, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed); fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
pos = 0
while pos < size:  # runs of 4 KiB to 256 KiB: holes, zeros, text-like, random
    n = min(rng.randrange(1, 65) * 4096, size - pos); kind = rng.choices("HZTR", [30, 15, 30, 25])[0]
    if kind == "Z": os.pwrite(fd, bytes(n), pos)
    elif kind == "T": os.pwrite(fd, (b"grain %d of chain %d\n" % (pos, seed) * (n // 16 + 1))[:n], pos)
    elif kind == "R": os.pwrite(fd, rng.randbytes(n), pos)
    pos += n
os.ftruncate(fd, size); os.close(fd)
PY
  (cd "vm$k" &&
    qemu-img convert -q -f raw -O vmdk -o "subformat=$l0" base.raw base.vmdk &&
    rm base.raw &&
    qemu-img create -q -f vmdk -o "subformat=$l1" -b base.vmdk -F vmdk s1.vmdk &&
    qemu_write s1.vmdk $((k * 10 + 1)) "$bytes" &&
    qemu-img create -q -f vmdk -o "subformat=$l2" -b s1.vmdk -F vmdk s2.vmdk &&
    qemu_write s2.vmdk $((k * 10 + 2)) "$bytes") || { echo "cannot build chain $k"; exit 2; }
  printf 'config.version = "8"\nvirtualHW.version = "13"\ndisplayName = "stress%s"\nguestOS = "other-64"\nmemSize = "256"\nnumvcpus = "1"\nscsi0.present = "TRUE"\nscsi0.virtualDev = "lsilogic"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "s2.vmdk"\n' "$k" >"vm$k/t.vmx"
  qemu-img check -q "vm$k/s2.vmdk" || { echo "chain $k: qemu-img check fails"; exit 2; }
done

for _ in $(seq 1 "$HOGS"); do (while :; do :; done) & HOG_PIDS+=($!); done

# One round: an operation on one chain; echoes the output disk(s) to compare with the source.
OPS=(export-ova export-ova-import export-ovf convert-stream-optimized convert-monolithic-sparse
  convert-two-gb-sparse convert-monolithic-flat convert-two-gb-flat convert-raw convert-thin)
round() {  # ROUND OP CHAIN
  local r=$1 op=$2 k=$3 o="out"
  rm -rf "$o"; mkdir "$o"
  case $op in
    export-ova)
      "$OVT" -q export "vm$k/t.vmx" "$o/e.ova" && tar xf "$o/e.ova" -C "$o" --wildcards '*.vmdk' &&
        ls "$o"/*.vmdk ;;
    export-ova-import)
      "$OVT" -q export "vm$k/t.vmx" "$o/e.ova" && "$OVT" -q import "$o/e.ova" "$o/imp" &&
        find "$o/imp" -name '*.vmdk' ! -name '*-flat.vmdk' ! -name '*-s0*.vmdk' ! -name '*-f0*.vmdk' ;;
    export-ovf)
      "$OVT" -q export "vm$k/t.vmx" "$o/f/" && ls "$o"/f/*.vmdk ;;
    convert-*)
      local to=${op#convert-} ext=vmdk
      [ "$to" = raw ] && ext=raw
      "$OVT" -q convert "vm$k/s2.vmdk" "$o/c.$ext" --to "$to" && echo "$o/c.$ext" ;;
  esac
}

mismatches=0
failures=0
start=$(date +%s)
for r in $(seq 1 "$ROUNDS"); do
  k=$(((r - 1) % ${#CHAINS[@]}))
  op=${OPS[$(((r - 1) / ${#CHAINS[@]} % ${#OPS[@]}))]}
  if ! outs=$(round "$r" "$op" "$k" 2>"$W/err"); then
    failures=$((failures + 1))
    echo "round $r ($op, chain $k: ${CHAINS[$k]}): FAILED: $(head -1 "$W/err")"
    cp -a out "fail-$r" 2>/dev/null
    continue
  fi
  [ -n "$outs" ] || { failures=$((failures + 1)); echo "round $r ($op): no output disk"; continue; }
  for d in $outs; do
    if ! msg=$(qemu-img compare "vm$k/s2.vmdk" "$d" 2>&1); then
      mismatches=$((mismatches + 1))
      echo "round $r ($op, chain $k: ${CHAINS[$k]}): MISMATCH $d: $msg"
      mkdir -p "fail-$r" && cp -a out "vm$k" "fail-$r/"
    fi
  done
done
elapsed=$(($(date +%s) - start))
echo "rounds=$ROUNDS mismatches=$mismatches failures=$failures seconds=$elapsed hogs=$HOGS size_mib=$SIZE_MIB ops=${#OPS[@]} chains=${#CHAINS[@]} work=$W"
((mismatches == 0 && failures == 0))
