#!/bin/bash
# bench-transform.sh - edit and diff speed against their references, same run.
#
# Usage: scripts/bench-transform.sh [SIZE_GIB] [WORKDIR]     (default 4 GiB, a fresh temp folder)
#        OVT=path/to/ovftool-rs (default: build and use target/release), ROUNDS=N (default 5),
#        MAKE_MIXED=path/to/make-mixed-image.sh (default: scripts/make-mixed-image.sh)
#
# Builds an OVA around the project's mixed benchmark image stored as streamOptimized
# (qemu-img convert), a second OVA whose disk differs in one 64 KiB grain, then times with a
# warm page cache (median of ROUNDS interleaved runs, seconds; max RSS from /usr/bin/time):
#   edit   vs  cp of the same OVA, and edit --sync (flushed before the rename) vs cp + sync
#   diff   vs  reading both OVAs once (cat A B > /dev/null), and cmp of A and B
# Prints a Markdown table for docs/PERFORMANCE.md, then every run's seconds.
set -euo pipefail
SIZE=${1:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/scripts
WORK=${2:-$(mktemp -d /tmp/bench-transform.XXXXXX)}
mkdir -p "$WORK"
trap 'rm -rf "$WORK/pkg" "$WORK/pkg2" "$WORK/e.ova" "$WORK/cp.ova"' EXIT
if [ -z "${OVT:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  OVT=$ROOT/target/release/ovftool-rs
fi
source "$BENCH/bench-lib.sh"
command -v qemu-img >/dev/null || { echo "qemu-img is needed" >&2; exit 2; }

IMG=$WORK/disk-${SIZE}g.raw
[ -f "$IMG" ] || "$MAKE_MIXED" "$WORK" "$SIZE" >/dev/null
mkpkg() { # mkpkg DIR RAW: an OVF package folder around RAW as streamOptimized
  mkdir -p "$1"
  qemu-img convert -O vmdk -o subformat=streamOptimized "$2" "$1/bench-disk1.vmdk"
  bench_ovf "$1/bench.ovf" bench-disk1.vmdk "$(stat -c %s "$1/bench-disk1.vmdk")" "$(stat -c %s "$2")"
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

warm "$A" "$B"
group edit \
  "rm -f '$WORK/e.ova'; '$OVT' edit --quiet '$A' '$WORK/e.ova' --product-version 9.9" \
  "rm -f '$WORK/cp.ova'; cp '$A' '$WORK/cp.ova'" \
  "rm -f '$WORK/cp.ova'; cp '$A' '$WORK/cp.ova' && sync '$WORK/cp.ova'" \
  "rm -f '$WORK/e.ova'; '$OVT' --sync edit --quiet '$A' '$WORK/e.ova' --product-version 9.9"
rm -f "$WORK/cp.ova"
# diff exits 1: the OVAs differ.
group diff \
  "'$OVT' diff --quiet '$A' '$B'; [ \$? -eq 1 ]" \
  "cat '$A' '$B' > /dev/null" \
  "cmp -s '$A' '$B'; true"

E=$(med edit.0); C=$(med edit.1); CS=$(med edit.2); ES=$(med edit.3); D=$(med diff.0); R=$(med diff.1); M=$(med diff.2)
echo "OVA: $(stat -c %s "$A") bytes ($SIZE GiB image, streamOptimized); $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ); medians of $ROUNDS interleaved runs"
echo
echo "| op | command | seconds | CPU s | max RSS MiB | ratio |"
echo "|---|---|---|---|---|---|"
echo "| edit | \`ovftool-rs edit a.ova e.ova --product-version 9.9\` | $(sec "$E") | $(cpu "$E") | $(rss "$E") | 1.00 |"
echo "| reference | \`cp a.ova copy\` | $(sec "$C") | $(cpu "$C") | $(rss "$C") | edit/cp = $(ratio "$E" "$C") |"
echo "| edit | \`ovftool-rs --sync edit a.ova e.ova --product-version 9.9\` (fsync before the rename) | $(sec "$ES") | $(cpu "$ES") | $(rss "$ES") | 1.00 |"
echo "| reference | \`cp a.ova copy && sync copy\` | $(sec "$CS") | $(cpu "$CS") | $(rss "$CS") | (edit --sync)/(cp+sync) = $(ratio "$ES" "$CS") |"
echo "| diff | \`ovftool-rs diff a.ova b.ova\` (one grain differs) | $(sec "$D") | $(cpu "$D") | $(rss "$D") | 1.00 |"
echo "| reference | \`cat a.ova b.ova > /dev/null\` | $(sec "$R") | $(cpu "$R") | $(rss "$R") | diff/cat = $(ratio "$D" "$R") |"
echo "| reference | \`cmp a.ova b.ova\` | $(sec "$M") | $(cpu "$M") | $(rss "$M") | diff/cmp = $(ratio "$D" "$M") |"
echo
echo "every run (s): edit $(all edit.0); cp $(all edit.1); cp+sync $(all edit.2); edit --sync $(all edit.3); diff $(all diff.0); cat $(all diff.1); cmp $(all diff.2)"
