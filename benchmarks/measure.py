#!/usr/bin/env python3
"""Run one command and report its wall time and resource use as JSON.

    python3 measure.py OUT.json CMD [ARGS...]

A fresh process of this wrapper is started for every measured run, so
resource.getrusage(RUSAGE_CHILDREN) covers exactly that run's process tree:
the command itself plus every descendant that was waited for (CPU times are
summed over the tree; ru_maxrss is the largest RSS of any single process in
it, not a sum).  Stdlib only.
"""
import json
import resource
import subprocess
import sys
import time


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    t0 = time.monotonic()
    with open(out + ".log", "wb") as log:
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
    wall = time.monotonic() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w") as f:
        json.dump({"rc": rc, "wall": wall, "user": ru.ru_utime,
                   "sys": ru.ru_stime, "maxrss_kib": ru.ru_maxrss}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
