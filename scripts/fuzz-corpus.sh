#!/bin/bash
# Builds the seed corpus of every fuzz target in fuzz/fuzz_targets from ../shared/corpus (or
# $OVFTOOL_CORPUS) and samples/, into fuzz/corpus/<target>/ (gitignored: never committed).
# Seeds are named by content hash; files over 1 MiB are left out (slow to mutate).
#
# Usage: scripts/fuzz-corpus.sh   (from the project root)
set -eu
SRC=${OVFTOOL_CORPUS:-../shared/corpus}
OUT=fuzz/corpus
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
put() { # target file...
  local t=$1; shift
  mkdir -p "$OUT/$t"
  for f in "$@"; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 1048576 ] || continue
    cp "$f" "$OUT/$t/$(sha1sum "$f" | cut -c1-16)"
  done
}
files() { find "$SRC" samples -type f -iname "$1" -print0 | xargs -0 -r ls -d; }
mapfile -t ovas < <(files '*.ova')
mapfile -t vmdks < <(files '*.vmdk')
# Disk images inside the OVAs and the corpus tarball.
for o in "${ovas[@]}" $(files '*.tar'); do
  d=$TMP/x$(sha1sum "$o" | cut -c1-8); mkdir -p "$d"
  tar xf "$o" -C "$d" 2>/dev/null || true
done
mapfile -t inner_vmdks < <(find "$TMP" -type f -iname '*.vmdk')
mapfile -t inner_ovfs < <(find "$TMP" -type f -iname '*.ovf')
mapfile -t inner_mfs < <(find "$TMP" -type f -iname '*.mf')
mapfile -t inner_certs < <(find "$TMP" -type f -iname '*.cert')
all_vmdks=("${vmdks[@]}" "${inner_vmdks[@]}")
# VMDK text descriptors: small .vmdk files that are text, and the descriptors embedded in sparse
# ones (from the sector the header names).
desc=()
for f in "${all_vmdks[@]}"; do
  if head -c 4 "$f" | grep -q KDMV; then
    off=$(od -An -t u8 -j 28 -N 8 "$f" | tr -d ' ')
    len=$(od -An -t u8 -j 36 -N 8 "$f" | tr -d ' ')
    if ((off > 0 && len > 0 && len < 2048)); then
      e=$TMP/desc-$(basename "$f").txt
      dd if="$f" of="$e" bs=512 skip="$off" count="$len" status=none
      tr -d '\0' <"$e" >"$e.t" && desc+=("$e.t")
    fi
    h=$TMP/hdr-$(sha1sum "$f" | cut -c1-8); head -c 512 "$f" >"$h"; put vmdk_sparse_header "$h"
  elif file -b "$f" | grep -qi text; then
    desc+=("$f")
  fi
done
put vmdk_descriptor "${desc[@]}"
put vmdk_hosted_open "${all_vmdks[@]}" "${desc[@]}"
stream=()
for f in "${all_vmdks[@]}"; do
  grep -qa 'createType="streamOptimized"' "$f" && stream+=("$f")
done
put vmdk_stream_file "${stream[@]}"
put vmdk_stream_reader "${stream[@]}"
put ova_stream "${ovas[@]}"
mapfile -t ovfs < <(files '*.ovf')
put ovf_descriptor "${ovfs[@]}" "${inner_ovfs[@]}"
mapfile -t mfs < <(files '*.mf')
put manifest "${mfs[@]}" "${inner_mfs[@]}"
mapfile -t certs < <(files '*.cert'; files '*.pem')
put cert "${certs[@]}" "${inner_certs[@]}"
mapfile -t vmxs < <(files '*.vmx'; files '*.vmtx')
put vmx "${vmxs[@]}"
# The sniffer sees every kind of file the tools take.
put sniff "${ovas[@]}" "${all_vmdks[@]}" "${desc[@]}" "${ovfs[@]}" "${mfs[@]}" "${certs[@]}" \
  "${vmxs[@]}"
# qcow2 images made here by qemu-img (the corpus has none): plain, compressed, small clusters, v2.
if command -v qemu-img >/dev/null; then
  q=$TMP/q; mkdir -p "$q"; head -c 200000 /usr/share/common-licenses/GPL-3 >"$q/src.raw" 2>/dev/null ||
    head -c 200000 /dev/urandom >"$q/src.raw"
  truncate -s 1M "$q/src.raw"
  qemu-img convert -q -O qcow2 "$q/src.raw" "$q/plain.qcow2"
  qemu-img convert -q -c -O qcow2 -o cluster_size=4096 "$q/src.raw" "$q/packed.qcow2"
  qemu-img convert -q -O qcow2 -o cluster_size=512,compat=0.10 "$q/src.raw" "$q/v2.qcow2"
  put qcow2 "$q"/*.qcow2
fi
# No SOAP answers in the corpus: its XML documents (OVF descriptors with namespaces, prefixes
# and xsi:type, and the other .xml files) seed the SOAP element-tree parser.
mapfile -t xmls < <(files '*.xml')
put vsphere_soap "${ovfs[@]}" "${inner_ovfs[@]}" "${xmls[@]}"
for t in fuzz/fuzz_targets/*.rs; do
  t=$(basename "$t" .rs)
  echo "$t: $(find "$OUT/$t" -type f 2>/dev/null | wc -l) seeds"
done
