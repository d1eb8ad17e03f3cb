#!/usr/bin/env python3
"""pymavlink's side of the differential test (fuzz/tests/pymavlink_differential.rs).

Usage: pymavlink_stream.py DEFINITIONS_DIR DIALECT_XML STREAMS_DIR

Generates our dialect with pymavlink's own mavgen (Python 3, MAVLink 2 wire protocol, which also
decodes MAVLink 1 frames), then parses every STREAMS_DIR/*.bin with robust_parsing on, one byte
at a time as from a serial port, and prints one JSON object per stream (sorted by file name):
{"name": ..., "events": [{"kind": "msg"|"unknown"|"bad"|"pending", "off": start offset, "len": bytes,
"msgid", "seq", "sysid", "compid", "incompat", "reason"}]}.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile


def generate(defs_dir, dialect_xml, out_dir):
    xml_dir = os.path.join(out_dir, "definitions")
    os.makedirs(xml_dir)
    for name in os.listdir(defs_dir):
        if name.endswith(".xml") and name != "utkik.xml":
            shutil.copy(os.path.join(defs_dir, name), xml_dir)
    xml = os.path.join(xml_dir, "utkik.xml")
    shutil.copy(dialect_xml, xml)
    module = os.path.join(out_dir, "utkik_diff.py")
    subprocess.run(
        [sys.executable, "-m", "pymavlink.tools.mavgen", "--lang=Python3", "--wire-protocol=2.0",
         "--output=" + module, xml],
        check=True, stdout=subprocess.DEVNULL)
    spec = importlib.util.spec_from_file_location("utkik_diff", module)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def parse(mod, data):
    mav = mod.MAVLink(None)
    mav.robust_parsing = True
    events = []
    fed = 0

    def record(m):
        end = fed - mav.buf_len()
        if isinstance(m, mod.MAVLink_bad_data):
            raw = bytes(m.data)
            events.append({"kind": "bad", "off": end - len(raw), "len": len(raw), "reason": str(m.reason)})
            return
        raw = bytes(m.get_msgbuf())
        h = m.get_header()
        kind = "unknown" if isinstance(m, mod.MAVLink_unknown) else "msg"
        events.append({"kind": kind, "off": end - len(raw), "len": len(raw), "msgid": m.get_msgId(),
                       "seq": h.seq, "sysid": h.srcSystem, "compid": h.srcComponent,
                       "incompat": h.incompat_flags})

    for b in data:
        fed += 1
        m = mav.parse_char(bytes([b]))
        while m is not None:
            record(m)
            m = mav.parse_char(b"")
    if mav.buf_len() > 0:
        # Bytes pymavlink still holds at the end: a candidate waiting for its announced length.
        events.append({"kind": "pending", "off": fed - mav.buf_len(), "len": mav.buf_len()})
    return events


def main():
    defs_dir, dialect_xml, streams_dir = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        mod = generate(defs_dir, dialect_xml, tmp)
        for name in sorted(os.listdir(streams_dir)):
            if not name.endswith(".bin"):
                continue
            with open(os.path.join(streams_dir, name), "rb") as f:
                data = f.read()
            print(json.dumps({"name": name, "events": parse(mod, data)}))


if __name__ == "__main__":
    main()
