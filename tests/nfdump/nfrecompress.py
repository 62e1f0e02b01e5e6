#!/usr/bin/env python3
"""tests/nfdump/nfrecompress.py — rewrite an uncompressed layout-2 nfdump file
with ZSTD-compressed blocks.

usage: nfrecompress.py IN OUT [--raw-block N] [--level L]

Debian's nfdump 1.7.1 cannot write ZSTD (upstream added it in 1.7.3), so
the tests build ZSTD files per the documented layout (nffileV2.h): the same
40-byte file header with compression = 4 and the appendix offset moved,
each block header kept (record count, type, flags) with its size replaced by
the size of its payload compressed as one zstd frame (the `zstd` tool).
--raw-block N leaves data block N uncompressed and sets its
FLAG_BLOCK_UNCOMPRESSED bit (0x1), as nfdump >= 1.7.3 does for blocks that
do not shrink.
"""
import os
import struct
import subprocess
import sys
import tempfile


LEVEL = "19"


def zstd(data):
    with tempfile.NamedTemporaryFile(delete=False) as t:
        t.write(data)
        name = t.name
    try:
        return subprocess.run(["zstd", "-q", "-c", "-" + LEVEL, name], check=True,
                              stdout=subprocess.PIPE).stdout
    finally:
        os.unlink(name)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    global LEVEL
    raw_block = -1
    args = sys.argv[3:]
    while len(args) >= 2:
        if args[0] == "--raw-block":
            raw_block = int(args[1])
        elif args[0] == "--level":
            LEVEL = str(int(args[1]))
        args = args[2:]
    d = open(src, "rb").read()
    (magic, ver, nfdv, created, comp, enc, appb, creator, offapp, bsize,
     nblocks) = struct.unpack("<HHIqBBHIqII", d[:40])
    if magic != 0xA50C or ver != 2 or comp != 0:
        raise SystemExit("%s: need an uncompressed little-endian layout-2 file" % src)
    out = bytearray(d[:40])
    off, i, newapp = 40, 0, 0
    while off + 12 <= len(d):
        nrec, size, typ, flags = struct.unpack("<IIHH", d[off:off + 12])
        payload = d[off + 12:off + 12 + size]
        if off == offapp:
            newapp = len(out)
        if i == raw_block:
            flags |= 1
        else:
            payload = zstd(payload)
        out += struct.pack("<IIHH", nrec, len(payload), typ, flags) + payload
        off += 12 + size
        i += 1
    out[:40] = struct.pack("<HHIqBBHIqII", magic, ver, nfdv, created, 4, enc, appb, creator,
                           newapp if appb else offapp, bsize, nblocks)
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main()
