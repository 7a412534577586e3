#!/bin/bash
# bench-vmdk.sh - ovftool-rs convert vs qemu-img convert on the same machine, same input, same run.
#
# Usage: scripts/bench-vmdk.sh [WORKDIR] [SIZES_GIB...]     (defaults: /tmp/ovftool-bench, 1 4)
# Env:   RUNS=3 (repetitions, the median is reported), BENCH_DIR (folder of make-mixed-image.sh,
#        default scripts/), OVT (binary, default: target/release/ovftool-rs, built here).
#
# Input: make-mixed-image.sh images (~20% holes, ~20% written zeros, ~40% OS files, ~20% random).
# Jobs (ours vs the closest qemu-img equivalent):
#   raw -> streamOptimized        vs qemu-img convert -O vmdk -o subformat=streamOptimized
#   stream -> thin                vs qemu-img convert -O vmdk -o subformat=monolithicFlat (sparse flat)
#   stream -> thick               vs ... -o subformat=monolithicFlat,preallocation=falloc
#   stream -> eager-zeroed-thick  vs ... -o subformat=monolithicFlat -S 0 (every byte written)
#   stream -> raw                 vs qemu-img convert -O raw
#   qcow2 (plain, compressed) -> streamOptimized   vs qemu-img convert -O vmdk -o subformat=...
# The stream input of the import jobs is qemu-img's own streamOptimized output.
# Every job runs under /usr/bin/time -v: wall time and peak RSS; the page cache is warm.
set -euo pipefail
WORK=${1:-/tmp/ovftool-bench}
shift || true
SIZES=("$@"); [ ${#SIZES[@]} -eq 0 ] && SIZES=(1 4)
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$ROOT/scripts}
if [ -z "${OVT:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  OVT=$ROOT/target/release/ovftool-rs
fi
mkdir -p "$WORK"
command -v qemu-img >/dev/null || { echo "qemu-img not found" >&2; exit 2; }

# measure NAME CMD...: runs CMD $RUNS times, prints "median_wall_s max_rss_kib"
measure() {
  local walls=() rss=0 i out r
  for ((i = 0; i < RUNS; i++)); do
    rm -rf "$WORK/out"; mkdir -p "$WORK/out"
    out=$( /usr/bin/time -v "$@" 2>&1 >/dev/null ) || { echo "FAILED: $*" >&2; echo "$out" | tail -5 >&2; exit 1; }
    walls+=("$(echo "$out" | awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(j=1;j<=n;j++) s=s*60+a[j]; print s}')")
    r=$(echo "$out" | awk -F': ' '/Maximum resident set size/ {print $2}')
    (( r > rss )) && rss=$r
  done
  printf '%s\n' "${walls[@]}" | sort -g | awk -v rss="$rss" '{a[NR]=$1} END {printf "%.2f %d\n", a[int((NR+1)/2)], rss}'
}

row() { # JOB SIZE OURS_RESULT QEMU_RESULT [OUR_BYTES QEMU_BYTES]
  local ow orss qw qrss
  read -r ow orss <<<"$3"; read -r qw qrss <<<"$4"
  local ratio; ratio=$(echo "scale=2; $qw / $ow" | bc)
  local sizes=""
  [ -n "${5:-}" ] && sizes=" | $(echo "scale=1; $5/1000000" | bc) MB vs $(echo "scale=1; $6/1000000" | bc) MB"
  echo "| $1 | $2 GiB | $ow s | $qw s | ${ratio}x | $((orss / 1024)) MiB | $((qrss / 1024)) MiB$sizes |"
}

echo "# ovftool-rs $($OVT --version 2>/dev/null | awk '{print $2}') vs $(qemu-img --version | head -1)"
echo "# $(nproc) cores, $(uname -r), runs=$RUNS (median), load before start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| job | size | ovftool-rs | qemu-img | speed-up | our peak RSS | qemu peak RSS | output size (ours vs qemu) |"
echo "|---|---|---|---|---|---|---|---|"
for g in "${SIZES[@]}"; do
  img="$WORK/disk-${g}g.raw"
  [ -f "$img" ] || "$BENCH_DIR/make-mixed-image.sh" "$WORK" "$g" >&2
  cat "$img" >/dev/null
  qso="$WORK/q-${g}g.vmdk"; oso="$WORK/o-${g}g.vmdk"
  q=$(measure qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$img" "$qso")
  o=$(measure "$OVT" convert "$img" "$oso" --to stream-optimized --force -q)
  # keep one copy of each output for the size column and the import jobs
  qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$img" "$qso"
  "$OVT" convert "$img" "$oso" --to stream-optimized --force -q
  qemu-img compare -q "$img" "$oso" || { echo "our streamOptimized output differs" >&2; exit 1; }
  row "raw → streamOptimized" "$g" "$o" "$q" "$(stat -c %s "$oso")" "$(stat -c %s "$qso")"
  q=$(measure qemu-img convert -O vmdk -o subformat=monolithicFlat "$qso" "$WORK/out/q.vmdk")
  o=$(measure "$OVT" convert "$qso" "$WORK/out/d.vmdk" --to thin -q)
  row "streamOptimized → thin (qemu: monolithicFlat)" "$g" "$o" "$q"
  q=$(measure qemu-img convert -O vmdk -o subformat=monolithicFlat,preallocation=falloc "$qso" "$WORK/out/q.vmdk")
  o=$(measure "$OVT" convert "$qso" "$WORK/out/d.vmdk" --to thick -q)
  row "streamOptimized → thick (qemu: monolithicFlat falloc)" "$g" "$o" "$q"
  q=$(measure qemu-img convert -S 0 -O vmdk -o subformat=monolithicFlat "$qso" "$WORK/out/q.vmdk")
  o=$(measure "$OVT" convert "$qso" "$WORK/out/d.vmdk" --to eager-zeroed-thick -q)
  row "streamOptimized → eager-zeroed thick (qemu: flat -S 0)" "$g" "$o" "$q"
  q=$(measure qemu-img convert -O raw "$qso" "$WORK/out/q.img")
  o=$(measure "$OVT" convert "$qso" "$WORK/out/d.img" --to raw -q)
  row "streamOptimized → raw" "$g" "$o" "$q"
  # qcow2 input (read through imago): the image as qemu-img writes it, plain and compressed.
  for c in plain compressed; do
    qc="$WORK/in-${g}g-$c.qcow2"
    [ -f "$qc" ] || qemu-img convert -f raw -O qcow2 $([ $c = compressed ] && echo -c) "$img" "$qc"
    cat "$qc" >/dev/null
    q=$(measure qemu-img convert -O vmdk -o subformat=streamOptimized "$qc" "$WORK/out/q.vmdk")
    o=$(measure "$OVT" convert "$qc" "$WORK/out/d.vmdk" --to stream-optimized -q)
    "$OVT" convert "$qc" "$WORK/out/d.vmdk" --to stream-optimized -q --force
    qemu-img compare -q "$img" "$WORK/out/d.vmdk" || { echo "qcow2 ($c) output differs" >&2; exit 1; }
    row "qcow2 ($c) → streamOptimized" "$g" "$o" "$q"
  done
done
rm -rf "$WORK/out"
