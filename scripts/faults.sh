#!/bin/bash
# Fault campaign for docs/RELIABILITY.md ("Faults and interruption"): SIGKILL at random points of
# every writing command, a full file system, a read-only target, a source written to while it is
# exported or packed. Prints, per case: exit code, first line of the message, what was left.
# Needs root for the tmpfs mounts (skipped otherwise).
# Usage: scripts/faults.sh [KILLS_PER_COMMAND] (env: DISK_MIB=1024, the test disk's size; the
# full file system is a tmpfs of DISK_MIB/16 MiB)
set -u
KILLS=${1:-3}
DISK_MIB=${DISK_MIB:-1024}
cargo build --release --quiet || exit 2
OVT=$(pwd)/target/release/ovftool-rs
W=$(mktemp -d /tmp/faults.XXXXXX)
MNT=""
cleanup() { [ -n "$MNT" ] && umount "$MNT" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"

# DISK_MIB raw: 1 MiB of random data every other MiB, the rest holes.
python3 - big.raw "$DISK_MIB" <<'PY'
import os, random, sys
mib = int(sys.argv[2])
rng = random.Random(10); fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
for m in range(0, mib, 2): os.pwrite(fd, rng.randbytes(1 << 20), m << 20)
os.ftruncate(fd, mib << 20); os.close(fd)
PY
mkdir vm && ln big.raw vm/d-flat.vmdk
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW %s FLAT "d-flat.vmdk" 0\n\nddb.adapterType = "lsilogic"\nddb.geometry.cylinders = "1024"\nddb.geometry.heads = "255"\nddb.geometry.sectors = "63"\n' $((DISK_MIB * 2048)) > vm/d.vmdk
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
  # One uninterrupted run sets the range of kill points: uniform over (0.02 s, 95% of it). A run
  # that finished before its kill (the machine's load varies) is not counted: the range shrinks
  # to that delay and the kill is tried again (at most 3 x KILLS tries per command).
  rm -rf k; mkdir k
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$OVT" -q $args >/dev/null 2>&1 || echo "($name: the uninterrupted run failed)"
  whole=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$t0" "$(date +%s.%N)")
  range=$whole kills=0 tries=0
  while ((kills < KILLS && tries < 3 * KILLS)); do
    tries=$((tries + 1))
    rm -rf k; mkdir k
    d=$(python3 -c "import random, sys; print(round(random.uniform(0.02, max(0.03, 0.95 * float(sys.argv[1]))), 2))" "$range")
    # shellcheck disable=SC2086
    "$OVT" -q $args >/dev/null 2>&1 & pid=$!
    sleep "$d"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    (($? == 137)) || { range=$d; continue; }  # it had finished: not killed
    kills=$((kills + 1))
    after_kill=$(left k; [ -d k/f ] && echo "f/: $(left k/f)"; [ -d k/t ] && echo "t/: $(left k/t)")
    [ -z "$(visible)" ] || after_kill="$after_kill **published early: $(visible)**"
    # shellcheck disable=SC2086
    "$OVT" -q $args --force >/dev/null 2>&1; rc=$?
    after=$(left k; [ -d k/f ] && echo "f/: $(left k/f)"; [ -d k/t ] && echo "t/: $(left k/t)")
    echo "| $name | ${whole}s | ${d}s | $(echo $after_kill) | rc=$rc: $(echo $after) |"
  done
  ((kills == KILLS)) || echo "| $name | ${whole}s | only $kills kills in $tries tries | | |"
done

if [ "$(id -u)" = 0 ]; then
  echo; echo "## Full file system ($((DISK_MIB / 16)) MiB tmpfs)"
  echo "| command | exit | message | left |"; echo "|---|---|---|---|"
  MNT=$W/full; mkdir -p "$MNT"; mount -t tmpfs -o size=$((DISK_MIB / 16))m tmpfs "$MNT"
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
