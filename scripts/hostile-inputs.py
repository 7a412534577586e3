#!/usr/bin/env python3
"""Builds the hostile inputs of docs/RELIABILITY.md "Hostile inputs" from samples/appliance.ova.

Usage: scripts/hostile-inputs.py OUT_DIR [CASE...]   (all cases when none is named)

Each case is written as OUT_DIR/NAME.ova, or as a package folder OUT_DIR/NAME/ with one .ovf
(the cases whose attack is a file beside the descriptor). scripts/hostile-inputs.sh runs them.
"""
import io
import os
import re
import struct
import sys
import tarfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1]
ONLY = set(sys.argv[2:])


def want(name):
    return not ONLY or name in ONLY

os.makedirs(OUT, exist_ok=True)

with tarfile.open(os.path.join(ROOT, "samples", "appliance.ova")) as t:
    MEMBERS = {m.name: t.extractfile(m).read() for m in t.getmembers()}
OVF_NAME = next(n for n in MEMBERS if n.endswith(".ovf"))
DISK_NAME = next(n for n in MEMBERS if n.endswith(".vmdk"))
OVF = MEMBERS[OVF_NAME].decode()
DISK = MEMBERS[DISK_NAME]


def ustar(entries):
    """A plain ustar archive of (name, bytes) in order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1735689600
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def ova(name, ovf_text, extra=(), disk=DISK):
    data = ustar([(OVF_NAME, ovf_text.encode()), (DISK_NAME, disk)] + list(extra))
    with open(os.path.join(OUT, name + ".ova"), "wb") as f:
        f.write(data)


def folder(name, ovf_text, files):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, OVF_NAME), "w") as f:
        f.write(ovf_text)
    for n, data in files.items():
        with open(os.path.join(d, n), "wb") as f:
            f.write(data)


def insert_before(text, closing, what):
    return text.replace(closing, what + closing, 1)


def no_eula(text):
    return re.sub(r"<EulaSection>.*?</EulaSection>", "", text, flags=re.S)


base = no_eula(OVF)

# N <Property> elements, and a disk capacity taken from the last one (${kN-1}); N File
# references (unused by the VM); N Items ("Other" resource type). 100k/120k are over the default
# Limits; 9,900 is just under them and must be handled in linear time and memory.
for n, tag in [(100_000, "100k"), (9_900, "9900")]:
    if want("props-" + tag):
        props = "".join(
            '<Property ovf:key="k%d" ovf:type="string" ovf:value="%s"/>'
            % (i, "16" if i == n - 1 else "v")
            for i in range(n)
        )
        t = insert_before(base, "</ProductSection>", props)
        t = t.replace('ovf:capacity="16"', 'ovf:capacity="${k%d}"' % (n - 1), 1)
        ova("props-" + tag, t)
    if want("files-" + tag):
        files = "".join('<File ovf:href="f%d.bin" ovf:id="f%d"/>' % (i, i) for i in range(n))
        ova("files-" + tag, insert_before(base, "</References>", files))
for n, tag in [(120_000, "120k"), (9_900, "9900")]:
    if want("items-" + tag):
        items = "".join(
            "<Item><rasd:ElementName>x</rasd:ElementName><rasd:InstanceID>%d</rasd:InstanceID>"
            "<rasd:ResourceType>1</rasd:ResourceType></Item>" % (100 + i)
            for i in range(n)
        )
        ova("items-" + tag, insert_before(base, "</VirtualHardwareSection>", items))

# 9,900 Items in 64 deployment options: reports show the hardware once per configuration.
if want("options-64-items-9900"):
    items = "".join(
        "<Item><rasd:ElementName>x</rasd:ElementName><rasd:InstanceID>%d</rasd:InstanceID>"
        "<rasd:ResourceType>1</rasd:ResourceType></Item>" % (100 + i)
        for i in range(9_900)
    )
    t = insert_before(base, "</VirtualHardwareSection>", items)
    dos = "<DeploymentOptionSection><Info>c</Info>%s</DeploymentOptionSection>" % "".join(
        '<Configuration ovf:id="c%d"><Label>c</Label><Description>c</Description></Configuration>' % i
        for i in range(64)
    )
    ova("options-64-items-9900", t.replace("<VirtualSystem ", dos + "<VirtualSystem ", 1))

# 100k tar entries after the descriptor and disk.
if want('tar-entries-100k'):
    ova("tar-entries-100k", base, extra=[("x%06d.txt" % i, b"") for i in range(100_000)])

# A member whose tar header (GNU base-256) and ovf:size declare 1 TiB; the file ends after the
# real bytes.
if want('member-1tib'):
    t1 = re.sub(r'ovf:size="\d+"', 'ovf:size="%d"' % (1 << 40), base, count=1)
    data = bytearray(ustar([(OVF_NAME, t1.encode()), (DISK_NAME, DISK)]))
    off = 512 + ((len(t1.encode()) + 511) // 512) * 512  # the disk's header
    assert data[off : off + len(DISK_NAME)] == DISK_NAME.encode()
    data[off + 124 : off + 136] = b"\x80" + (1 << 40).to_bytes(11, "big")
    data[off + 148 : off + 156] = b"        "
    data[off + 148 : off + 156] = b"%06o\0 " % sum(data[off : off + 512])
    with open(os.path.join(OUT, "member-1tib.ova"), "wb") as f:
        f.write(data[: off + 512 + len(DISK)])

# A 64 MiB descriptor (a comment pads it).
if want('descriptor-64mib'):
    pad = "<!--" + "x" * (64 << 20) + "-->"
    ova("descriptor-64mib", insert_before(base, "</Envelope>", pad))

# 100k-deep XML.
if want('xml-deep-100k'):
    deep = "<Annotation>" * 100_000 + "</Annotation>" * 100_000
    ova("xml-deep-100k", insert_before(base, "</Envelope>", deep))

# Entity expansion ("billion laughs").
if want('entities'):
    lol = '<!DOCTYPE Envelope [<!ENTITY a "lollollollollollollollollollol">' + "".join(
        '<!ENTITY %s "%s">' % (chr(98 + i), ("&%s;" % chr(97 + i)) * 10) for i in range(9)
    ) + "]>\n"
    t = base.replace("\n", "\n" + lol, 1).replace("<Name>sample-appliance</Name>", "<Name>&j;</Name>", 1)
    ova("entities", t)

# A streamOptimized header whose capacity needs a grain directory of 2^32 entries.
if want('grain-directory-2e32'):
    h = bytearray(DISK)
    grain = struct.unpack_from("<Q", h, 20)[0]
    gtes = struct.unpack_from("<I", h, 44)[0]
    struct.pack_into("<Q", h, 12, (1 << 32) * gtes * grain)
    ova("grain-directory-2e32", base, disk=bytes(h))

# A monolithicFlat descriptor whose extents point outside the package folder.
if want('extents-outside'):
    with open(os.path.join(OUT, "outside.raw"), "wb") as f:
        f.write(b"OUTSIDE" * 4096)
    vmdk_desc = (
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
        'createType="monolithicFlat"\n\n'
        'RW 32 FLAT "../outside.raw" 0\nRW 32 FLAT "/etc/passwd" 0\n\n'
        'ddb.adapterType = "lsilogic"\nddb.virtualHWVersion = "14"\n'
    )
    t = re.sub(r'ovf:size="\d+"', "", base, count=1)
    t = t.replace("#streamOptimized", "#monolithicFlat", 1)
    folder("extents-outside", t, {DISK_NAME: vmdk_desc.encode()})

# A gzip bomb member: 10 GiB of zeros, declared ovf:compression="gzip", in 10 MiB.
if want('gzip-bomb'):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    z = bytes(1 << 20)
    bomb = io.BytesIO()
    for _ in range(10 << 10):
        bomb.write(c.compress(z))
    bomb.write(c.flush())
    t = base.replace("<File ", '<File ovf:compression="gzip" ', 1)
    t = re.sub(r'ovf:size="\d+"', "", t, count=1)
    folder("gzip-bomb", t, {DISK_NAME: bomb.getvalue()})
    ova("gzip-bomb", t, disk=bomb.getvalue())

# A million-line manifest.
if want('manifest-1m-lines'):
    mf = b"".join(b"SHA256(f%d.bin)= %s\n" % (i, b"0" * 64) for i in range(1_000_000))
    ova("manifest-1m-lines", base, extra=[(OVF_NAME[:-4] + ".mf", mf)])

# A member name of 256 MiB (PAX `path`) made of terminal escape sequences.
if want('pax-name-256mib'):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        ti = tarfile.TarInfo("\x1b[31m" * ((256 << 20) // 5) + ".ovf")
        ti.size = len(base)
        tf.addfile(ti, io.BytesIO(base.encode()))
    with open(os.path.join(OUT, "pax-name-256mib.ova"), "wb") as f:
        f.write(buf.getvalue())
