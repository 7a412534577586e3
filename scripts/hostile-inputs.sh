#!/bin/bash
# Runs verify, info, validate and import on each hostile input made by scripts/hostile-inputs.py
# and prints a Markdown table: exit code, wall time, max RSS, and whether anything was written
# outside the import target (or left in it after a failure).
#
# Usage: [CASES="props-100k ..."] scripts/hostile-inputs.sh [WORK_DIR]   (from the project root, after cargo build --release)
# Each run has a 120 s timeout, a 1 GiB file-size limit (ulimit -f) and a 4 GiB address-space
# limit (ulimit -v), so that a regression cannot fill the disk or the memory of the machine.
set -u
OVT=${OVT:-$(pwd)/target/release/ovftool-rs}
W=${1:-$(mktemp -d)}
IN=$W/in
mkdir -p "$IN"
[ -e "$IN/gzip-bomb.ova" ] || python3 "$(dirname "$0")/hostile-inputs.py" "$IN" >&2
echo "| input | command | rc | time (s) | max RSS (MiB) | written outside target / left in target |"
echo "|---|---|---|---|---|---|"
CASES=${CASES:-props-100k props-9900 files-100k files-9900 items-120k items-9900 options-64-items-9900 tar-entries-100k member-1tib descriptor-64mib \
  xml-deep-100k entities grain-directory-2e32 extents-outside gzip-bomb gzip-bomb.ova \
  manifest-1m-lines pax-name-256mib}
for case in $CASES; do
  src=$IN/$case
  [ -d "$src" ] || src=$IN/${case%.ova}.ova
  [ -d "$src" ] && src=$(ls "$src"/*.ovf)
  for cmd in verify info validate import; do
    cwd=$W/cwd-$case-$cmd
    target=$W/target-$case-$cmd
    rm -rf "$cwd" "$target"
    mkdir -p "$cwd"
    touch "$W/stamp"
    sleep 0.01
    case $cmd in
      import) args=(import --accept-all-eulas --lax "$src" "$target") ;;
      *) args=("$cmd" "$src") ;;
    esac
    (cd "$cwd" && ulimit -f 1048576 && ulimit -v 4194304 && /usr/bin/time -f "%e %M" -o "$W/time" \
      timeout 120 "$OVT" -q "${args[@]}" >"$W/out" 2>"$W/err")
    rc=$?
    read -r secs kib < <(tail -1 "$W/time")
    outside=$(find "$W" -mindepth 1 -newer "$W/stamp" -not -path "$target" -not -path "$target/*" \
      -not -path "$W/time" -not -path "$W/out" -not -path "$W/err" -not -path "$cwd" | head -3)
    left=""
    if ((rc != 0)) && [ -e "$target" ]; then
      left=$(find "$target" -mindepth 1 | head -3)
      [ -z "$left" ] && left="(empty $target)"
    fi
    note="${outside:-none}"
    [ -n "$left" ] && note="$note / left: $(du -sh "$target" | cut -f1) $(echo $left | tr '\n' ' ')"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$case" "$cmd" "$rc" "$secs" "$((kib / 1024))" "$note"
    [ -n "${VERBOSE:-}" ] && head -c 300 "$W/err" | tr '\n' ' ' >&2 && echo >&2
  done
done
