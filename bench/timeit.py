#!/usr/bin/env python3
"""bench/timeit.py OUT CMD... — run CMD with stdout to OUT; print
"<wall seconds> <peak RSS MiB>" of CMD on stdout. Used by the benchmarks
to time flowlens and nfdump the same way."""
import resource
import subprocess
import sys
import time

out, cmd = sys.argv[1], sys.argv[2:]
with open(out, "wb") as f:
    t0 = time.monotonic()
    rc = subprocess.call(cmd, stdout=f)
    wall = time.monotonic() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
print(f"{wall:.3f} {rss:.0f}")
sys.exit(rc)
