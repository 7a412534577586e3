#!/bin/bash
# Runs every fuzz target for SECONDS_PER_TARGET (default 120) on the seed corpus made by
# scripts/fuzz-corpus.sh, one after the other or, with PARALLEL=1, all at once (each under
# `nice -n 19` so other work on the machine keeps moving). Prints one line per target: wall
# seconds, CPU seconds the fuzzer process got (user+sys, from /usr/bin/time), runs (execs), corpus
# size before/after, peak RSS, artifacts (crash/timeout/oom inputs).
# Crash inputs land in fuzz/artifacts/<target>/; keep them under fuzz/regressions/<target>/ (the
# integration tests replay those: `cargo test --release --test it fuzz_regressions`).
# Logs stay in fuzz/logs/<target>.log (gitignored).
#
# Usage: [SECONDS_PER_TARGET=1800] [PARALLEL=1] [NICE=19] scripts/fuzz-run.sh [TARGET...]
#        (from the project root)
set -u
S=${SECONDS_PER_TARGET:-120}
PAR=${PARALLEL:-0}
NICE=${NICE:-19}
cd fuzz || exit 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(ls fuzz_targets | sed 's/\.rs$//')
RUSTC_BOOTSTRAP=1 cargo fuzz build --release >/dev/null 2>&1 || { echo "fuzz build failed"; exit 2; }
bin=target/$(rustc -vV | sed -n 's/^host: //p')/release
mkdir -p logs

run_one() { # target: runs the fuzzer binary itself (no cargo in the loop) under time and nice
  local t=$1
  mkdir -p "corpus/$t" "artifacts/$t"
  ls "corpus/$t" | wc -l >"logs/$t.seeds"
  local timer=()
  [ -x /usr/bin/time ] && timer=(/usr/bin/time -v -o "logs/$t.time")
  "${timer[@]}" nice -n "$NICE" "$bin/$t" "corpus/$t" -artifact_prefix="artifacts/$t/" \
    -max_total_time="$S" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
    >"logs/$t.log" 2>&1
  echo $? >"logs/$t.rc"
}

report() { # target
  local t=$1 rc runs wall cpu rss
  rc=$(cat "logs/$t.rc")
  runs=$(grep -oE '^stat::number_of_executed_units:[[:space:]]+[0-9]+' "logs/$t.log" | grep -oE '[0-9]+$')
  rss=$(grep -oE '^stat::peak_rss_mb:[[:space:]]+[0-9]+' "logs/$t.log" | grep -oE '[0-9]+$')
  if [ -f "logs/$t.time" ]; then
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "logs/$t.time" |
      awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.0f", s }')
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.0f", s }' "logs/$t.time")
  fi
  echo "$t: rc=$rc wall_s=${wall:-?} cpu_s=${cpu:-?} runs=${runs:-?}" \
    "corpus=$(cat "logs/$t.seeds")->$(ls "corpus/$t" | wc -l) peak_rss_mb=${rss:-?}" \
    "artifacts=$(ls "artifacts/$t" | wc -l)"
  [ "$rc" -ne 0 ] && grep -m3 -E 'panicked|ERROR|SUMMARY' "logs/$t.log" | sed 's/^/    /'
  return 0
}

if [ "$PAR" = 1 ]; then
  for t in "${targets[@]}"; do run_one "$t" & done
  wait
else
  for t in "${targets[@]}"; do run_one "$t"; report "$t"; done
  exit 0
fi
for t in "${targets[@]}"; do report "$t"; done
