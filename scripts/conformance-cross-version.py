#!/usr/bin/env python3
"""Does `validate` decide the ovftool suite by the fault or by the OVF version?

Every descriptor of an area that the suite has in both flavours (`<Area>/{Pos,Neg}` in OVF 0.9,
`<Area>_1_0/{Pos,Neg}` in OVF 1.0) is translated to the other flavour and validated again; a rule
keyed on the version instead of the fault changes the verdict. The translation is the mechanical
one the suite itself applies between its flavours: envelope namespace, `<Section
xsi:type="ovf:XSection_Type">` / `<Content xsi:type="ovf:VirtualSystem_Type">` <-> `<XSection>` /
`<VirtualSystem>`, `Caption` <-> `ElementName`, `BusNumber` -> `Address`, the sparse format URI
<-> the streamOptimized one, `ovf:version="0.9"`.

Then every suite file is validated again with each namespace prefix renamed, which must change
nothing either.

Usage: scripts/conformance-cross-version.py [OVFTOOL_RS] [CORPUS]
(defaults: target/release/ovftool-rs, $OVFTOOL_CORPUS or ../shared/corpus). Prints each file
whose verdict changes and the total; docs/CONFORMANCE.md explains the changes it prints.
"""
import os
import re
import subprocess
import sys
import tempfile

NS09 = "http://www.vmware.com/schema/ovf/1/envelope"
NS10 = "http://schemas.dmtf.org/ovf/envelope/1"
SPARSE = "http://www.vmware.com/specifications/vmdk.html#sparse"
STREAM = "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"


def rename_sections(text, pattern, rename):
    """Rewrites the start and end tags matched by `pattern`, end tags after their start tag."""
    out, stack, pos = [], [], 0
    for m in re.finditer(pattern, text):
        out.append(text[pos:m.start()])
        pos = m.end()
        close, prefix, name, attrs, empty = m.groups()
        if close:
            out.append(f"</{prefix}{stack.pop() if stack else name}>")
            continue
        new, attrs = rename(name, attrs)
        if not empty:
            stack.append(new)
        out.append(f"<{prefix}{new}{attrs}{empty}>")
    out.append(text[pos:])
    return "".join(out)


def to_1_0(text):
    text = text.replace(NS09, NS10)
    text = re.sub(r'\s+ovf:version="0\.9"', "", text)

    def rename(name, attrs):
        m = re.search(r'\s[\w.-]+:type="(?:ovf:)?(\w+?)_Type"', attrs)
        return (m.group(1), attrs.replace(m.group(0), "")) if m else (name, attrs)

    text = rename_sections(text, r"<(/?)((?:ovf:)?)(Section|Content)\b([^>]*?)(/?)>", rename)
    text = re.sub(r"(</?[\w-]+:)Caption\b", r"\1ElementName", text)
    text = re.sub(r"(</?[\w-]+:)BusNumber\b", r"\1Address", text)
    return text.replace(SPARSE, STREAM)


def to_0_9(text):
    text = text.replace(NS10, NS09)
    text = re.sub(
        r"<((?:\w+:)?)Envelope\b",
        lambda m: f'<{m.group(1)}Envelope xmlns:xsi09="http://www.w3.org/2001/XMLSchema-instance" ovf:version="0.9"',
        text,
        count=1,
    )

    def rename(name, attrs):
        wrap = "Content" if name.startswith("VirtualSystem") else "Section"
        return wrap, f' xsi09:type="ovf:{name}_Type"{attrs}'

    text = rename_sections(
        text, r"<(/?)((?:ovf:)?)(\w+Section|VirtualSystemCollection|VirtualSystem)\b([^>]*?)(/?)>", rename
    )
    text = re.sub(r"(</?[\w-]+:)ElementName\b", r"\1Caption", text)
    return text.replace(STREAM, SPARSE)


def rename_prefixes(text):
    """Every declared namespace prefix renamed (`rasd` to `q3`...), in names and QName values."""
    declared = sorted(set(re.findall(r'xmlns:([\w.-]+)="', text)))
    new = {p: f"q{i}" for i, p in enumerate(declared)}
    text = re.sub(r"(?<=xmlns:)([\w.-]+)", lambda m: new.get(m.group(1), m.group(1)), text)
    return re.sub(r'(?<=[<\s/"])([\w.-]+)(?=:\w)', lambda m: new.get(m.group(1), m.group(1)), text)


def verdict(tool, path, lax=False):
    args = [tool, "validate"] + (["--lax"] if lax else []) + [path]
    return subprocess.run(args, capture_output=True).returncode


def main():
    tool = sys.argv[1] if len(sys.argv) > 1 else "target/release/ovftool-rs"
    corpus = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("OVFTOOL_CORPUS", "../shared/corpus")
    suite = os.path.join(corpus, "vmware__govmomi/ovf/fixtures/external/OVFToolTemplates/OVF/xmltestfiles")
    if not os.path.isdir(suite):
        sys.exit(f"no conformance suite at {suite}")
    total = same = 0
    with tempfile.TemporaryDirectory() as tmp:
        for area in sorted(os.listdir(suite)):
            if area.endswith("_1_0") or not os.path.isdir(os.path.join(suite, area + "_1_0")):
                continue
            for src, convert in ((area, to_1_0), (area + "_1_0", to_0_9)):
                for kind in ("Pos", "Neg"):
                    folder = os.path.join(suite, src, kind)
                    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
                        if not name.endswith(".ovf"):
                            continue
                        path = os.path.join(folder, name)
                        with open(path, encoding="utf-8", errors="replace") as f:
                            text = convert(f.read())
                        out = os.path.join(tmp, name)
                        with open(out, "w", encoding="utf-8") as f:
                            f.write(text)
                        before, after = verdict(tool, path), verdict(tool, out)
                        total += 1
                        if before == after:
                            same += 1
                        else:
                            print(f"{src}/{kind}/{name}: exit {before} as is, {after} translated")
        print(f"same verdict after translation: {same}/{total}")
        total = same = 0
        for root, _, files in sorted(os.walk(suite)):
            parts = os.path.relpath(root, suite).split(os.sep)
            if "Pos" not in parts and "Neg" not in parts:
                continue
            for name in sorted(f for f in files if f.endswith(".ovf")):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = rename_prefixes(f.read())
                out = os.path.join(tmp, name)
                with open(out, "w", encoding="utf-8") as f:
                    f.write(text)
                lax = "/LaxMode/" in path
                before, after = verdict(tool, path, lax), verdict(tool, out, lax)
                total += 1
                if before == after:
                    same += 1
                else:
                    print(f"{os.path.relpath(path, suite)}: exit {before} as is, {after} with prefixes renamed")
        print(f"same verdict with every prefix renamed: {same}/{total}")


if __name__ == "__main__":
    main()
