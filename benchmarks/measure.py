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
import os
import resource
import subprocess
import sys
import time


def timed(cmd: list, env: dict, what: str) -> tuple:
    """(wall seconds, CPU seconds of the process and every descendant it reaped, stderr) of one
    command run to its end; exits naming ``what`` when the command fails."""
    started = time.monotonic()
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    stderr = process.stderr.read().decode() if process.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"{what} exited {code}: {stderr.strip()[:400]}")
    return wall, usage.ru_utime + usage.ru_stime, stderr


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
