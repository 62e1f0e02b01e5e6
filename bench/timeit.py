#!/usr/bin/env python3
"""bench/timeit.py OUT CMD... — run CMD with stdout to OUT; print
"<wall seconds> <peak RSS MiB>" of CMD on stdout. Used by the benchmarks
to time flowlens and nfdump the same way. With TIMEIT_CPU=1 in the
environment a third field gives the CPU seconds (user + sys)."""
import os
import resource
import subprocess
import sys
import time

out, cmd = sys.argv[1], sys.argv[2:]
with open(out, "wb") as f:
    t0 = time.monotonic()
    rc = subprocess.call(cmd, stdout=f)
    wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
rss = ru.ru_maxrss / 1024.0
if os.environ.get("TIMEIT_CPU"):
    # a third field: CPU seconds (user + sys), steadier than wall time on a
    # shared machine
    print(f"{wall:.3f} {rss:.0f} {ru.ru_utime + ru.ru_stime:.3f}")
else:
    print(f"{wall:.3f} {rss:.0f}")
sys.exit(rc)
