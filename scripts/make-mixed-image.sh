#!/bin/bash
# make-mixed-image.sh OUTDIR [SIZE_GIB...]: writes OUTDIR/disk-<N>g.raw (default sizes 1 and 4),
# the benchmark disk images: a seeded sequence of 4 KiB-aligned runs of 64 KiB to 2 MiB (so runs
# do not line up with the 64 KiB VMDK grain), each run one of
#   hole   (20%)  nothing written: the file stays sparse there
#   zeros  (20%)  zero bytes written: allocated, reads as zeros
#   files  (40%)  bytes of the regular files under /usr/share and /usr/lib (each at most 64 MiB),
#                 in a seeded order: text, binaries, some already-compressed data
#   random (20%)  os.urandom, incompressible
# The run layout and the file bytes depend only on the seed and the machine's /usr, so figures
# from one machine compare run to run; the random bytes differ each time.
set -euo pipefail
OUT=${1:?usage: make-mixed-image.sh OUTDIR [SIZE_GIB...]}
shift
SIZES=("$@")
((${#SIZES[@]})) || SIZES=(1 4)
mkdir -p "$OUT"
for g in "${SIZES[@]}"; do
  python3 - "$OUT/disk-${g}g.raw" "$g" <<'PY'
import os, random, stat, sys

path, gib = sys.argv[1], int(sys.argv[2])
size = gib << 30
SEED = 20240601
MIB = 1 << 20

def source_files():
    found = []
    for top in ("/usr/share", "/usr/lib"):
        for d, subdirs, names in os.walk(top):
            subdirs.sort()
            for n in sorted(names):
                p = os.path.join(d, n)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode) and 0 < st.st_size <= 64 * MIB:
                    found.append(p)
    random.Random(SEED).shuffle(found)
    return found

def file_bytes(paths):
    while True:
        for p in paths:
            try:
                with open(p, "rb") as f:
                    while chunk := f.read(MIB):
                        yield chunk
            except OSError:
                pass

feed, pending = file_bytes(source_files()), bytearray()
def take(n):
    while len(pending) < n:
        pending.extend(next(feed))
    out = bytes(pending[:n])
    del pending[:n]
    return out

rng = random.Random(SEED)
kinds, weights = ("hole", "zeros", "files", "random"), (20, 20, 40, 20)
written = dict.fromkeys(kinds, 0)
zeros = bytes(MIB)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
pos = 0
while pos < size:
    n = min(rng.randrange(16, 513) * 4096, size - pos)
    kind = rng.choices(kinds, weights)[0]
    done = 0
    while kind != "hole" and done < n:
        m = min(MIB, n - done)
        data = zeros[:m] if kind == "zeros" else take(m) if kind == "files" else os.urandom(m)
        os.pwrite(fd, data, pos + done)
        done += m
    written[kind] += n
    pos += n
os.ftruncate(fd, size)
os.close(fd)
print(path, " ".join(f"{k}={100 * v / max(size, 1):.1f}%" for k, v in written.items()))
PY
done
