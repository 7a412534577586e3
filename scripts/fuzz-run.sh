#!/bin/bash
# Runs every fuzz target for SECONDS (default 120) one after the other, on the seed corpus made by
# scripts/fuzz-corpus.sh, and prints one line per target: runs, new corpus size, crashes.
# Crash inputs land in fuzz/artifacts/<target>/; keep them under fuzz/regressions/<target>/ (the
# integration tests replay those).
#
# Usage: [SECONDS_PER_TARGET=1800] scripts/fuzz-run.sh [TARGET...]   (from the project root)
set -u
S=${SECONDS_PER_TARGET:-120}
cd fuzz || exit 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(ls fuzz_targets | sed 's/\.rs$//')
RUSTC_BOOTSTRAP=1 cargo fuzz build --release >/dev/null 2>&1 || { echo "fuzz build failed"; exit 2; }
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  log=$(mktemp)
  RUSTC_BOOTSTRAP=1 cargo fuzz run --release "$t" "corpus/$t" -- -max_total_time="$S" \
    -rss_limit_mb=2048 -timeout=20 >"$log" 2>&1
  rc=$?
  runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1)
  crashes=$(ls "artifacts/$t" 2>/dev/null | wc -l)
  echo "$t: rc=$rc runs=${runs:-?} corpus=$(ls "corpus/$t" | wc -l) artifacts=$crashes"
  [ $rc -ne 0 ] && grep -m3 -E 'panicked|ERROR|SUMMARY' "$log" | sed 's/^/    /'
  rm -f "$log"
done
