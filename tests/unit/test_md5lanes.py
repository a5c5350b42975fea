"""core/md5lanes: every kernel this machine has against hashlib."""

from __future__ import annotations

import hashlib
import mmap
import os
import platform
import subprocess
import sys
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3ferry.core import md5lanes

KERNELS = md5lanes.available_kernels()


@pytest.fixture(params=KERNELS)
def api(request):
    return md5lanes.kernel_api(request.param)


def _blob(n: int, seed: int = 0) -> bytes:
    return hashlib.shake_128(f"{seed}".encode()).digest(n) if n else b""


# Sizes around the 64-byte block, the 56-byte padding edge and a few hundred KiB.
_sizes = st.one_of(st.integers(0, 200), st.sampled_from([55, 56, 63, 64, 65, 119, 120, 128]),
                   st.integers(0, 300 * 1024))


@st.composite
def _streams(draw):
    """0..40 streams, each a blob cut at random points; the pieces interleaved in random order."""
    count = draw(st.integers(0, 40))
    streams = []
    for i in range(count):
        size = draw(_sizes) if i < 6 else draw(st.integers(0, 4096))  # keep examples fast
        cuts = sorted(draw(st.lists(st.integers(0, size), max_size=4)))
        streams.append((_blob(size, i), cuts))
    order = draw(st.permutations([i for i, (_, cuts) in enumerate(streams) for _ in range(len(cuts) + 1)]))
    return streams, order


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_streams())
@pytest.mark.parametrize("kernel", KERNELS)
def test_update_many_matches_hashlib(kernel, case):
    api = md5lanes.kernel_api(kernel)
    streams, order = case
    md5s = [api.Md5() for _ in streams]
    pieces = []
    for blob, cuts in streams:
        bounds = [0, *cuts, len(blob)]
        view = memoryview(blob)  # slices of a memoryview, as the callers pass
        pieces.append([view[a:b] for a, b in zip(bounds, bounds[1:])])
    items = [(md5s[i], pieces[i].pop(0)) for i in order]  # the same Md5 repeats, in list order
    api.update_many(items)
    assert [m.digest() for m in md5s] == [hashlib.md5(blob).digest() for blob, _ in streams]


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(_sizes, max_size=20))
@pytest.mark.parametrize("kernel", KERNELS)
def test_md5_many_matches_hashlib(kernel, sizes):
    blobs = [_blob(n, i) for i, n in enumerate(sizes)]
    assert md5lanes.kernel_api(kernel).md5_many(blobs) == [hashlib.md5(b).digest() for b in blobs]


@settings(max_examples=40, deadline=None)
@given(size=_sizes, cut=st.integers(0, 1 << 20), tail=st.binary(max_size=200))
@pytest.mark.parametrize("kernel", KERNELS)
def test_copy_then_diverge(kernel, size, cut, tail):
    api = md5lanes.kernel_api(kernel)
    blob = _blob(size)
    cut = min(cut, size)
    first = api.Md5(blob[:cut])
    second = first.copy()
    api.update_many([(first, blob[cut:]), (second, tail)])
    assert first.digest() == hashlib.md5(blob).digest()
    assert second.hexdigest() == hashlib.md5(blob[:cut] + tail).hexdigest()


def test_digest_twice_and_update_after(api):
    md5 = api.Md5(b"abc")
    assert md5.digest() == md5.digest() == hashlib.md5(b"abc").digest()
    md5.update(b"def")
    assert md5.hexdigest() == hashlib.md5(b"abcdef").hexdigest()


def test_one_byte_updates(api):
    blob = _blob(300)
    one, many = api.Md5(), api.Md5()
    for i in range(len(blob)):
        one.update(blob[i : i + 1])
    api.update_many([(many, blob[i : i + 1]) for i in range(len(blob))])
    assert one.digest() == many.digest() == hashlib.md5(blob).digest()


def test_buffer_kinds(api):
    blob = _blob(5000)
    with mmap.mmap(-1, len(blob)) as mapped:
        mapped.write(blob)
        kinds = [blob, bytearray(blob), memoryview(blob)[100:4100], mapped]
        expected = [hashlib.md5(blob).digest(), hashlib.md5(blob).digest(),
                    hashlib.md5(blob[100:4100]).digest(), hashlib.md5(blob).digest()]
        assert api.md5_many(kinds) == expected


def test_other_hashers_in_the_list_get_their_own_update(api):
    """As the plain loop: a hashlib.md5 (or any object with update) among the items is updated too."""
    blobs = [_blob(3000 + i, i) for i in range(12)]
    ours = [api.Md5() for _ in range(6)]
    theirs = [hashlib.md5() for _ in range(6)]
    hashers = [h for pair in zip(ours, theirs) for h in pair]
    api.update_many([(h, b[:1000]) for h, b in zip(hashers, blobs)] + [(h, b[1000:]) for h, b in zip(hashers, blobs)])
    assert [h.digest() for h in hashers] == [hashlib.md5(b).digest() for b in blobs]


@pytest.mark.parametrize("bad", ["text", 7, None, [1, 2]])
def test_non_buffer_is_type_error(api, bad):
    with pytest.raises(TypeError):
        api.Md5(bad)
    with pytest.raises(TypeError):
        api.Md5().update(bad)
    with pytest.raises(TypeError):
        api.update_many([(api.Md5(), bad)])


def test_non_contiguous_view_is_rejected(api):
    # hashlib refuses a strided view too (BufferError); the lanes must not hash it wrongly.
    with pytest.raises((TypeError, BufferError, ValueError)):
        api.update_many([(api.Md5(), memoryview(b"abcdef")[::2])])


def test_thousand_tiny_items(api):
    blobs = [_blob(i % 97, i) for i in range(1000)]
    assert api.md5_many(blobs) == [hashlib.md5(b).digest() for b in blobs]


def test_threads_hash_distinct_md5s_at_once(api):
    blobs = [_blob(200_000 + 4096 * i, i) for i in range(24)]
    results: dict[int, list[bytes]] = {}
    barrier = threading.Barrier(4)

    def work(t: int) -> None:
        mine = [api.Md5() for _ in blobs]
        barrier.wait()
        for rnd in range(3):
            api.update_many([(m, memoryview(b)[rnd * 60_000 : (rnd + 1) * 60_000]) for m, b in zip(mine, blobs)])
        api.update_many([(m, memoryview(b)[180_000:]) for m, b in zip(mine, blobs)])
        results[t] = [m.digest() for m in mine]

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    expected = [hashlib.md5(b).digest() for b in blobs]
    assert [results[t] for t in range(4)] == [expected] * 4


@pytest.mark.parametrize("kernel", [k for k in KERNELS if k != "hashlib"])
def test_one_md5_from_two_threads_raises_instead_of_corrupting(kernel):
    api = md5lanes.kernel_api(kernel)
    blob = _blob(64 << 20)
    md5 = api.Md5()
    worker = threading.Thread(target=api.update_many, args=([(md5, blob)],))
    worker.start()
    refused = 0
    while worker.is_alive():  # the worker hashes without the GIL for ~0.1 s: meanwhile md5 is claimed
        try:
            md5.digest()  # read-only: a call before the worker claims it changes nothing
        except RuntimeError:
            refused += 1
    worker.join()
    assert refused > 0
    assert md5.digest() == hashlib.md5(blob).digest()


def _kernel_in_subprocess(forced: str) -> str:
    env = {**os.environ, "S3FERRY_MD5": forced}
    code = "from s3ferry.core import md5lanes as m; print(m.KERNEL, m.LANES)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.split()


@pytest.mark.parametrize("forced", ["hashlib", "avx2", "avx512", "nonsense"])
def test_env_var_forces_a_kernel_or_the_best_below(forced):
    kernel, lanes = _kernel_in_subprocess(forced)
    if forced in KERNELS:
        assert kernel == forced
    elif forced == "nonsense":
        assert kernel == KERNELS[0]
    else:
        assert kernel in KERNELS and KERNELS.index(kernel) >= 0
        assert md5lanes._ORDER.index(kernel) > md5lanes._ORDER.index(forced)
    assert int(lanes) == {"avx512": 16, "avx2": 16, "hashlib": 1}[kernel]


def _cpu_has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return " avx2" in f.read()
    except OSError:
        return False


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64") or not _cpu_has_avx2(),
                    reason="the SIMD kernels are x86-64 with AVX2 or better")
def test_native_kernel_built_on_this_machine():
    """CI must not pass on the hashlib fallback by accident: on x86-64 with AVX2 the extension is there
    (S3FERRY_NATIVE_REQUIRED=0 lets a machine without a compiler skip this check)."""
    if os.environ.get("S3FERRY_NATIVE_REQUIRED", "1") == "0":
        pytest.skip("S3FERRY_NATIVE_REQUIRED=0")
    assert "avx2" in KERNELS, f"the _md5lanes extension did not build or load: kernels {KERNELS}"
