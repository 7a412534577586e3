#!/bin/bash
# bench-ova.sh - verify / pack / unpack speed and memory against their references, same run.
#
# Usage: scripts/bench-ova.sh [SIZE_GIB] [WORKDIR]     (default 4 GiB, a fresh temp folder)
#
# Builds an OVF package folder whose disk is the project's mixed benchmark image
# (scripts/make-mixed-image.sh; stored raw so the OVA holds SIZE GiB), then times with a
# warm page cache (median of ROUNDS=5 interleaved runs, seconds; max RSS from /usr/bin/time):
#   pack   vs  cp of the same disk bytes, pack --sync (flushed before the rename) vs cp + sync, and
#              openssl dgst -sha256 of the disk (the SHA-256 manifest's floor)
#   verify vs  openssl dgst -sha256 on the OVA, and tar -xOf OVA | sha256sum
#   unpack vs  cp of the OVA, and openssl dgst -sha256 of the OVA
# Prints a Markdown table for docs/PERFORMANCE.md.
set -euo pipefail
SIZE=${1:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/scripts
WORK=${2:-$(mktemp -d /tmp/bench-ova.XXXXXX)}
mkdir -p "$WORK"
trap 'rm -rf "$WORK/pkg" "$WORK/out.ova" "$WORK/unpacked" "$WORK/cp.*"' EXIT
(cd "$ROOT" && cargo build --release --quiet)
OVT=$ROOT/target/release/ovftool-rs
source "$BENCH/bench-lib.sh"

IMG=$WORK/disk-${SIZE}g.raw
[ -f "$IMG" ] || "$MAKE_MIXED" "$WORK" "$SIZE" >/dev/null
mkdir -p "$WORK/pkg"
ln -f "$IMG" "$WORK/pkg/bench-disk1.img" 2>/dev/null || cp "$IMG" "$WORK/pkg/bench-disk1.img"
BYTES=$(stat -c %s "$WORK/pkg/bench-disk1.img")
bench_ovf "$WORK/pkg/bench.ovf" bench-disk1.img "$BYTES"

D=$WORK/pkg/bench-disk1.img
warm "$D"
group pack \
  "rm -f '$WORK/out.ova'; '$OVT' pack --quiet '$WORK/pkg' '$WORK/out.ova'" \
  "rm -f '$WORK/out.ova'; '$OVT' pack --quiet --manifest none '$WORK/pkg' '$WORK/out.ova'" \
  "rm -f '$WORK/cp.img'; cp '$D' '$WORK/cp.img'" \
  "rm -f '$WORK/cp.img'; cp '$D' '$WORK/cp.img' && sync '$WORK/cp.img'" \
  "openssl dgst -sha256 '$D'" \
  "rm -f '$WORK/out.ova'; '$OVT' --sync pack --quiet '$WORK/pkg' '$WORK/out.ova'"
rm -f "$WORK/cp.img" "$WORK/out.ova"
"$OVT" pack --quiet "$WORK/pkg" "$WORK/out.ova"
warm "$WORK/out.ova"
group verify \
  "'$OVT' verify --quiet '$WORK/out.ova'" \
  "openssl dgst -sha256 '$WORK/out.ova'" \
  "tar -xOf '$WORK/out.ova' | sha256sum"
group unpack \
  "rm -rf '$WORK/unpacked'; '$OVT' unpack --quiet '$WORK/out.ova' '$WORK/unpacked'" \
  "rm -f '$WORK/cp.ova'; cp '$WORK/out.ova' '$WORK/cp.ova'" \
  "openssl dgst -sha256 '$WORK/out.ova'"
rm -f "$WORK/cp.ova"

mbs() { echo "scale=0; $BYTES / $(sec "$1") / 1000000" | bc; }
row() { # row OPERATION COMMAND RESULT RATIO_TEXT
  echo "| $1 | $2 | $(sec "$3") | $(cpu "$3") | $(mbs "$3") | $(rss "$3") | $4 |"
}
P0=$(med pack.0) P1=$(med pack.1) P2=$(med pack.2) P3=$(med pack.3) P4=$(med pack.4) P5=$(med pack.5)
V0=$(med verify.0) V1=$(med verify.1) V2=$(med verify.2)
U0=$(med unpack.0) U1=$(med unpack.1) U2=$(med unpack.2)
echo "OVA benchmark: ${SIZE} GiB disk member ($BYTES bytes, $(du -h "$D" | cut -f1) allocated), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ), medians of $ROUNDS interleaved runs"
echo
echo "| operation | command | seconds | CPU s (user+sys) | MB/s | max RSS MiB | ratio (wall) |"
echo "|---|---|---|---|---|---|---|"
row verify "\`ovftool-rs verify out.ova\`" "$V0" "1.00"
row reference "\`openssl dgst -sha256 out.ova\`" "$V1" "verify/openssl = $(ratio "$V0" "$V1")"
row reference "\`tar -xOf out.ova \\| sha256sum\`" "$V2" "tar/verify = $(ratio "$V2" "$V0")"
row pack "\`ovftool-rs pack pkg out.ova\` (SHA-256 manifest)" "$P0" "1.00"
row pack "\`ovftool-rs pack --manifest none pkg out.ova\`" "$P1" "none/cp = $(ratio "$P1" "$P2")"
row reference "\`cp disk copy\`" "$P2" "pack/cp = $(ratio "$P0" "$P2")"
row pack "\`ovftool-rs --sync pack pkg out.ova\` (SHA-256 manifest, fsync)" "$P5" "1.00"
row reference "\`cp disk copy && sync copy\`" "$P3" "(pack --sync)/(cp+sync) = $(ratio "$P5" "$P3")"
row reference "\`openssl dgst -sha256 disk\` (hashing alone)" "$P4" "pack/openssl = $(ratio "$P0" "$P4")"
row unpack "\`ovftool-rs unpack out.ova dir\` (verifying)" "$U0" "1.00"
row reference "\`cp out.ova copy\`" "$U1" "unpack/cp = $(ratio "$U0" "$U1")"
row reference "\`openssl dgst -sha256 out.ova\` (hashing alone)" "$U2" "unpack/openssl = $(ratio "$U0" "$U2")"
