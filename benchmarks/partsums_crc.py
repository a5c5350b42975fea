"""CPU per GiB of the part checksums (awscrt crc32/crc32c, zlib.crc32) against MD5, interleaved in one run.

Run: /work/main/.venv/bin/python benchmarks/partsums_crc.py
"""
import os, resource, zlib, hashlib
from awscrt import checksums as c
data = os.urandom(64 << 20)
def cpu(): r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
fns = {"awscrt.crc32": c.crc32, "awscrt.crc32c": c.crc32c, "zlib.crc32": zlib.crc32, "hashlib.md5": lambda d: hashlib.md5(d).digest()}
res = {k: 0.0 for k in fns}
for _ in range(4):  # interleaved rounds, 4 x 64 MiB each = 0.25 GiB
    for k, f in fns.items():
        t = cpu(); f(data); res[k] += cpu() - t
for k, v in res.items():
    print(f"{k:14s} {v * 4:.3f} CPU-s/GiB")
