"""Many independent MD5s side by side in SIMD lanes (multi-buffer MD5), with a hashlib fallback.

Why: an S3 multipart ETag is md5(md5(p1)+...+md5(pN))-N, and s3ferry has several parts (put)
or ranges (get) in flight at once. One MD5 is a serial chain (~1.65 CPU-s/GiB with OpenSSL
here), but N independent MD5s fill N 32-bit SIMD lanes: 16 with AVX-512, 8 with AVX2, as
isa-l_crypto's md5_mb and MinIO's md5-simd do. No PyPI or Debian package offers that to Python
(Debian's isa-l is compression only), hence the small C extension ``_md5lanes``; the measurement
against hashlib is in benchmarks/profile.md ("md5lanes") and benchmarks/md5_lanes.py.

``S3FERRY_MD5=hashlib|avx2|avx512`` forces a kernel; one the CPU (or the build) lacks falls to
the best it has, or to hashlib.

Threads: distinct Md5s may be updated from several threads at once (nothing is shared between
calls). One Md5 fed from two threads at once is a bug in the caller: the native Md5 raises
RuntimeError rather than corrupt the digest (hashlib's would serialise them).

Where the CPU goes (benchmarks/md5_lanes.py, CPU-s per GiB, hashlib ~1.5): 1 item 1.4 (scalar C);
with AVX-512, k=2 0.83, k=4 0.42, k=8 0.21, k>=16 0.15; with AVX2 k=4 0.63, k=8 0.32, k>=16 0.24.
So callers gain by handing update_many as many parts' pieces at once as they have.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

# collections.abc.Buffer is Python 3.12+; these are what callers pass (mmap too).
Buffer = bytes | bytearray | memoryview

try:  # the extension is optional: no compiler, non-x86 or an old CPU -> hashlib
    from s3ferry.core import _md5lanes as _native
except ImportError:  # pragma: no cover - depends on the build
    _native = None

# MD5s worth running side by side: AVX2 has 8 lanes, but its kernel interleaves two groups of 8
# (hash_file_parts: 0.51 -> 0.44 CPU-s/GiB at 16 instead of 8, benchmarks/profile.md "md5lanes").
_LANES = {"avx512": 16, "avx2": 16, "hashlib": 1}
_ORDER = ("avx512", "avx2", "hashlib")


class _HashlibMd5:
    """hashlib.md5 under the Md5 interface (the fallback kernel)."""

    __slots__ = ("_h",)

    def __init__(self, data: Buffer = b"") -> None:
        self._h = hashlib.md5(data)

    def update(self, data: Buffer) -> None:
        self._h.update(data)

    def digest(self) -> bytes:
        return self._h.digest()

    def hexdigest(self) -> str:
        return self._h.hexdigest()

    def copy(self) -> _HashlibMd5:
        twin = _HashlibMd5.__new__(_HashlibMd5)
        twin._h = self._h.copy()
        return twin


def available_kernels() -> tuple[str, ...]:
    """The kernels this machine and build can run, best first; "hashlib" is always last."""
    native = tuple(_native.cpu_kernels()) if _native is not None else ()
    return tuple(k for k in _ORDER if k in native) + ("hashlib",)


def _choose(wanted: str | None) -> str:
    have = available_kernels()
    if wanted in have:
        return wanted
    if wanted is None or wanted not in _LANES:
        return have[0]
    # Asked for one the CPU lacks: the best it has that is not better than what was asked.
    return next(k for k in have if _ORDER.index(k) >= _ORDER.index(wanted))


def kernel_api(name: str) -> SimpleNamespace:
    """Md5, update_many and md5_many bound to one kernel (tests and benchmarks compare them)."""
    if name == "hashlib":
        return SimpleNamespace(KERNEL=name, LANES=1, Md5=_HashlibMd5,
                               update_many=_hashlib_update_many, md5_many=_hashlib_md5_many)
    if name not in available_kernels():
        raise ValueError(f"MD5 kernel {name!r} is not available here: {available_kernels()}")
    lanes = _LANES[name]
    native_many = _native.update_many
    md5_type = _native.Md5

    def update_many(items: Sequence[tuple[Any, Buffer]]) -> None:
        native_many(items, lanes)

    def md5_many(buffers: Sequence[Buffer]) -> list[bytes]:
        hashes = [md5_type() for _ in buffers]
        native_many(list(zip(hashes, buffers)), lanes)
        return [h.digest() for h in hashes]

    return SimpleNamespace(KERNEL=name, LANES=lanes, Md5=md5_type, update_many=update_many, md5_many=md5_many)


def _hashlib_update_many(items: Sequence[tuple[Any, Buffer]]) -> None:
    for md5, data in items:
        md5.update(data)


def _hashlib_md5_many(buffers: Sequence[Buffer]) -> list[bytes]:
    return [hashlib.md5(b).digest() for b in buffers]


_api = kernel_api(_choose(os.environ.get("S3FERRY_MD5") or None))

KERNEL: str = _api.KERNEL
"""What update_many runs on this machine: "avx512", "avx2" or "hashlib"."""
LANES: int = _api.LANES
"""MD5s update_many hashes side by side: 16, 8, or 1 for hashlib."""
Md5 = _api.Md5
"""An MD5 in progress, like hashlib.md5() (update/digest/hexdigest/copy; digest does not end it),
whose updates update_many can run side by side with other Md5s'."""
update_many = _api.update_many
"""update_many(items): as ``for md5, data in items: md5.update(data)``, but distinct Md5s are hashed
side by side in SIMD lanes, without the GIL. The same Md5 may appear more than once: its pieces go
in list order. Another hasher among the items (a hashlib.md5, say) just gets its update() called.
If it raises (a bad buffer), treat the Md5s in that call as spoiled: the native kernels leave them
as they were, the hashlib loop has updated those before the bad item."""
md5_many = _api.md5_many
"""md5_many(buffers): ``[hashlib.md5(b).digest() for b in buffers]``, side by side."""
