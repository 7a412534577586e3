#!/bin/bash
# Fault campaign for docs/RELIABILITY.md ("Faults and interruption"): SIGKILL at random points of
# every writing command, a full file system, a read-only target, a source written to while it is
# exported or packed. Prints, per case: exit code, first line of the message, what was left.
# Needs root for the tmpfs mounts (skipped otherwise). Usage: scripts/faults.sh [KILLS_PER_COMMAND]
set -u
KILLS=${1:-3}
cargo build --release --quiet || exit 2
OVT=$(pwd)/target/release/ovftool-rs
W=$(mktemp -d /tmp/faults.XXXXXX)
MNT=""
cleanup() { [ -n "$MNT" ] && umount "$MNT" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"

# 1 GiB raw: 1 MiB of random data every other MiB, the rest holes.
python3 - big.raw <<'PY'
import os, random, sys
rng = random.Random(10); fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
for mib in range(0, 1024, 2): os.pwrite(fd, rng.randbytes(1 << 20), mib << 20)
os.ftruncate(fd, 1 << 30); os.close(fd)
PY
mkdir vm && ln big.raw vm/d-flat.vmdk
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 2097152 FLAT "d-flat.vmdk" 0\n\nddb.adapterType = "lsilogic"\nddb.geometry.cylinders = "1024"\nddb.geometry.heads = "255"\nddb.geometry.sectors = "63"\n' > vm/d.vmdk
printf 'config.version = "8"\nvirtualHW.version = "13"\ndisplayName = "t"\nguestOS = "other-64"\nmemSize = "256"\nnumvcpus = "1"\nscsi0.present = "TRUE"\nscsi0.virtualDev = "lsilogic"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "d.vmdk"\n' > vm/t.vmx
"$OVT" -q export vm/t.vmx fix/big.ova --compression-level 1 2>/dev/null || "$OVT" -q export vm/t.vmx fix/big.ova
"$OVT" -q unpack fix/big.ova fix/pkg

left() { local l; l=$(ls -A "$1" 2>/dev/null | tr '\n' ' '); echo "${l:-nothing}"; }
cmds() {  # name|args (output under $1)
  local o=$1
  echo "convert stream-optimized|convert big.raw $o/c.vmdk --to stream-optimized"
  echo "convert two-gb-sparse|convert big.raw $o/s.vmdk --to two-gb-sparse"
  echo "export ova|export vm/t.vmx $o/e.ova"
  echo "export ovf folder|export vm/t.vmx $o/f/"
  echo "import|import --accept-all-eulas fix/big.ova $o/t"
  echo "unpack|unpack fix/big.ova $o/u"
  echo "pack|pack fix/pkg $o/p.ova"
  echo "edit|edit fix/big.ova $o/ed.ova --product Stress"
  echo "retarget|retarget --for esxi-8.0 fix/big.ova $o/r.ova"
}
# Names in the output folder (and its f/, t/ sub-folders) that are neither hidden partials nor
# those folders: after a kill, anything here is an output published before its command finished.
visible() {
  { ls -A k | grep -v -x -e f -e t; ls -A k/f k/t 2>/dev/null | grep -v -e ':$' -e '^$'; } | grep -v '^\.' | tr '\n' ' '
}

echo "## SIGKILL at random points ($KILLS per command)"
echo "| command | whole run | killed after | left by the kill | after the next run (same command) |"
echo "|---|---|---|---|---|"
cmds k | while IFS='|' read -r name args; do
  # One uninterrupted run sets the range of kill points: uniform over (0.02 s, 95% of it).
  rm -rf k; mkdir k
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$OVT" -q $args >/dev/null 2>&1 || echo "($name: the uninterrupted run failed)"
  whole=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$t0" "$(date +%s.%N)")
  for i in $(seq 1 "$KILLS"); do
    rm -rf k; mkdir k
    d=$(python3 -c "import random, sys; print(round(random.uniform(0.02, max(0.03, 0.95 * float(sys.argv[1]))), 2))" "$whole")
    # shellcheck disable=SC2086
    "$OVT" -q $args >/dev/null 2>&1 & pid=$!
    sleep "$d"
    if kill -9 $pid 2>/dev/null; then when="${d}s"; else when="${d}s (had finished)"; fi
    wait $pid 2>/dev/null
    after_kill=$(left k; [ -d k/f ] && echo "f/: $(left k/f)"; [ -d k/t ] && echo "t/: $(left k/t)")
    [[ $when == *finished* ]] || [ -z "$(visible)" ] || after_kill="$after_kill **published early: $(visible)**"
    # shellcheck disable=SC2086
    "$OVT" -q $args --force >/dev/null 2>&1; rc=$?
    after=$(left k; [ -d k/f ] && echo "f/: $(left k/f)"; [ -d k/t ] && echo "t/: $(left k/t)")
    echo "| $name | ${whole}s | $when | $(echo $after_kill) | rc=$rc: $(echo $after) |"
  done
done

if [ "$(id -u)" = 0 ]; then
  echo; echo "## Full file system (64 MiB tmpfs)"
  echo "| command | exit | message | left |"; echo "|---|---|---|---|"
  MNT=$W/full; mkdir -p "$MNT"; mount -t tmpfs -o size=64m tmpfs "$MNT"
  cmds "$MNT" | while IFS='|' read -r name args; do
    # shellcheck disable=SC2086
    "$OVT" -q $args >/dev/null 2>err; rc=$?
    echo "| $name | $rc | $(head -1 err | cut -c1-150) | $(left "$MNT") |"
    rm -rf "${MNT:?}"/* "$MNT"/.[!.]* 2>/dev/null
  done
  umount "$MNT"
  echo; echo "## Read-only target (tmpfs mounted ro)"
  echo "| command | exit | message | left |"; echo "|---|---|---|---|"
  mount -t tmpfs -o ro,size=1m tmpfs "$MNT"
  cmds "$MNT" | while IFS='|' read -r name args; do
    # shellcheck disable=SC2086
    "$OVT" -q $args >/dev/null 2>err; rc=$?
    echo "| $name | $rc | $(head -1 err | cut -c1-150) | $(left "$MNT") |"
  done
  umount "$MNT"; MNT=""
else
  echo "(not root: full file system and read-only target skipped)"
fi

echo; echo "## Source written to while it is read"
echo "| command | exit | message | left |"; echo "|---|---|---|---|"
for c in "export ova|export vm/t.vmx s/e.ova" "export ovf|export vm/t.vmx s/f/" "pack|pack fix/pkg s/p.ova"; do
  IFS='|' read -r name args <<<"$c"
  rm -rf s; mkdir s
  target=vm/d-flat.vmdk; [ "$name" = pack ] && target=$(ls fix/pkg/*.vmdk)
  cp -p "$target" "$W/orig"
  # shellcheck disable=SC2086
  "$OVT" -q $args >/dev/null 2>err & pid=$!
  sleep 0.2
  printf 'changed' | dd of="$target" bs=1 seek=$((1 << 20)) conv=notrunc status=none
  wait $pid; rc=$?
  echo "| $name | $rc | $(head -1 err | cut -c1-150) | $(left s; [ -d s/f ] && echo "f/: $(left s/f)") |"
  cp -p "$W/orig" "$target"
done
