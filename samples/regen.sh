#!/bin/bash
# Regenerates samples/appliance.ova with our own `export`, byte-identically.
#
# It builds a small synthetic VMware VM folder in a temporary directory:
#   * appliance.vmx: hardware version 14, 2 vCPUs (1 core per socket), 512 MiB, "other 4.x Linux
#     64-bit", BIOS; SCSI (PVSCSI) with the system disk, SATA with a CD-ROM drive (client
#     device), two NICs (VMXNET3 on "VM Network", E1000e on "Management"), USB, VMCI;
#   * appliance.vmdk: a monolithicSparse VMDK (written by qemu-img) of 16 MiB holding an MBR
#     partition table with one Linux partition at sector 2048 whose content is a ustar archive
#     of a few text files (`dd if=disk.raw bs=512 skip=2048 | tar -t` lists them): recognisable
#     data, written deterministically by the Python below;
# then exports it with product information, two user-configurable properties and a EULA.
#
# Reproducible: SOURCE_DATE_EPOCH fixes every tar mtime; disk identifiers are derived from the
# .vmx content, never random. Running this twice gives the same appliance.ova (checked at the
# end against the committed one when it exists: `samples/regen.sh --check`).
#
# Needs: cargo, python3, qemu-img. Run from anywhere.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1735689600}   # 2025-01-01T00:00:00Z
CHECK=${1:-}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
VM=$WORK/appliance
mkdir -p "$VM"

python3 - "$WORK/disk.raw" "$SOURCE_DATE_EPOCH" <<'PY'
import io, struct, sys, tarfile
path, epoch = sys.argv[1], int(sys.argv[2])
size = 16 << 20
files = {
    "etc/motd": "Welcome to the ovftool-rs sample appliance.\n",
    "etc/hostname": "sample-appliance\n",
    "README": (
        "This disk was written by samples/regen.sh of ovftool-rs.\n"
        "It holds an MBR partition table with one partition; the partition holds this\n"
        "tar archive. Import the appliance, then read it back with:\n"
        "  qemu-img convert -O raw <disk>.vmdk disk.raw\n"
        "  dd if=disk.raw bs=512 skip=2048 | tar -t\n"
    ),
    "usr/share/doc/sample/numbers.txt": "".join(f"{i:08d}\n" for i in range(4096)),
}
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
    for name, text in sorted(files.items()):
        data = text.encode()
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), epoch, 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        tar.addfile(info, io.BytesIO(data))
part = buf.getvalue()
start, sectors = 2048, size // 512 - 2048
mbr = bytearray(512)
mbr[440:444] = struct.pack("<I", 0x0F7C0001)                   # disk signature
entry = struct.pack("<B3sB3sII", 0, b"\xfe\xff\xff", 0x83, b"\xfe\xff\xff", start, sectors)
mbr[446:462] = entry
mbr[510:512] = b"\x55\xaa"
with open(path, "wb") as f:
    f.write(mbr)
    f.seek(start * 512)
    f.write(part)
    f.truncate(size)
PY
qemu-img convert -q -f raw -O vmdk -o subformat=monolithicSparse,adapter_type=lsilogic \
  "$WORK/disk.raw" "$VM/appliance.vmdk"

cat > "$VM/appliance.vmx" <<'VMX'
.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "14"
displayName = "sample-appliance"
annotation = "The ovftool-rs sample appliance.|0AA small disk with an MBR and a tar of text files."
guestOS = "other4xlinux-64"
numvcpus = "2"
cpuid.coresPerSocket = "1"
memsize = "512"
scsi0.present = "TRUE"
scsi0.virtualDev = "pvscsi"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "appliance.vmdk"
sata0.present = "TRUE"
sata0:0.present = "TRUE"
sata0:0.deviceType = "atapi-cdrom"
sata0:0.clientDevice = "TRUE"
sata0:0.startConnected = "FALSE"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "vmxnet3"
ethernet0.networkName = "VM Network"
ethernet0.addressType = "generated"
ethernet1.present = "TRUE"
ethernet1.virtualDev = "e1000e"
ethernet1.networkName = "Management"
ethernet1.addressType = "generated"
ethernet1.startConnected = "FALSE"
usb.present = "TRUE"
vmci0.present = "TRUE"
floppy0.present = "FALSE"
VMX

cat > "$WORK/EULA.txt" <<'EULA'
ovftool-rs sample appliance: license

This sample appliance holds no software, only a few text files. You may use, copy and
redistribute it under the terms of the MIT or Apache-2.0 license, at your option, like the
rest of ovftool-rs. It comes with no warranty.
EULA

OUT=$WORK/appliance.ova
(cd "$ROOT" && cargo run --release --quiet -- --quiet export "$VM/appliance.vmx" "$OUT" \
  --product "ovftool-rs sample appliance" --vendor "ovftool-rs" \
  --version 1.0 --full-version 1.0.0 \
  --product-url https://github.com/ovftool-rs/ovftool-rs \
  --vendor-url https://github.com/ovftool-rs \
  --eula "$WORK/EULA.txt" \
  --prop 'guestinfo.hostname:string=sample-appliance|Host name|The guest host name' \
  --prop 'guestinfo.ssh_enabled:boolean=false|Enable SSH|Start the SSH service at boot' \
  --manifest sha256 --compression-level 9)

if [ "$CHECK" = "--check" ]; then
  cmp "$OUT" "$HERE/appliance.ova" && echo "samples/appliance.ova reproduces byte-identically"
else
  cp "$OUT" "$HERE/appliance.ova"
  echo "wrote samples/appliance.ova ($(stat -c %s "$HERE/appliance.ova") bytes)"
fi
