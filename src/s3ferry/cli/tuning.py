"""Process-wide tuning applied by the CLI (never on import of the library)."""

from __future__ import annotations

import atexit
import ctypes
import gc
import importlib.util
import os
import sys
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1024 * 1024


def bound_allocator() -> None:
    """Make glibc return part buffers to the OS as soon as they are freed.

    glibc raises its mmap threshold each time a large mmapped block is freed, after which 8 MiB
    part buffers come from per-thread heaps and stay resident: peak RSS then creeps up with the
    file size (measured: 185 -> 234 MiB from a 48 MiB to a 1 GiB put). A fixed threshold keeps
    every part buffer in its own mapping (185/234 -> 169/194 MiB).
    """
    if not sys.platform.startswith("linux") or os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return
    try:
        # The interpreter's own symbols, libc's among them: ctypes.util.find_library("c") ran
        # /sbin/ldconfig -p in a child process on every CLI start (~2 ms of CPU, and its import
        # of tempfile/random/subprocess) to find the same library.
        libc = ctypes.CDLL(None)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(M_TRIM_THRESHOLD, 4 * MMAP_THRESHOLD)
    except (OSError, AttributeError):  # musl or another libc: nothing to tune
        pass


def coalesce_without_copy() -> None:
    """aiohttp on Python < 3.12.9 joins the request headers and the whole body into one new
    bytes object before writing (asyncio's writelines had a bug then). Under uvloop, which has
    no such bug, writelines hands the part to the socket without that 8 MiB copy. Applied when
    aiohttp is first imported, not now: commands that send nothing never import it (~0.13 s)."""
    if os.environ.get("S3FERRY_AIOHTTP_JOIN"):
        return

    def apply(writer: ModuleType) -> None:
        writer.SKIP_WRITELINES = False  # type: ignore[attr-defined]

    after_import("aiohttp.http_writer", apply)


def defer_aiohttp_certificates() -> None:
    """aiohttp, when imported, builds two default SSL contexts and loads the system's CA
    certificates into each (~20 ms of CPU apiece), for requests that bring no context of their
    own. botocore's connections always bring one, so in most runs both loads are waste. While
    aiohttp.connector runs, a context asked to load them becomes one that loads the same
    certificates on its first TLS connection instead: the same verification, only later."""
    if "aiohttp.connector" in sys.modules:
        return
    import ssl

    class DeferredCertificates(ssl.SSLContext):
        """An SSLContext whose default CA certificates load when it first wraps a connection."""

        def set_default_verify_paths(self) -> None:
            self._pending = True

        def _load(self) -> None:
            if self.__dict__.pop("_pending", False):
                super().set_default_verify_paths()

        def wrap_socket(self, *args: Any, **kwargs: Any) -> Any:
            self._load()
            return super().wrap_socket(*args, **kwargs)

        def wrap_bio(self, *args: Any, **kwargs: Any) -> Any:
            self._load()
            return super().wrap_bio(*args, **kwargs)

        def get_ca_certs(self, *args: Any, **kwargs: Any) -> Any:
            self._load()
            return super().get_ca_certs(*args, **kwargs)

        def cert_store_stats(self) -> Any:
            self._load()
            return super().cert_store_stats()

    def deferred(context: ssl.SSLContext) -> None:
        context.__class__ = DeferredCertificates  # same layout: only the methods change
        context._pending = True  # type: ignore[attr-defined]

    def before(_: ModuleType) -> None:
        ssl.SSLContext.set_default_verify_paths = deferred  # type: ignore[method-assign]

    def after(_: ModuleType) -> None:
        del ssl.SSLContext.set_default_verify_paths  # the C method of _ssl._SSLContext again

    if "set_default_verify_paths" not in vars(ssl.SSLContext):  # nobody else patched it
        sys.meta_path.insert(0, _ImportHook("aiohttp.connector", after, before))


def after_import(name: str, apply: Callable[[ModuleType], None]) -> None:
    """Call ``apply`` with module ``name`` right after it is first imported (now, if it is)."""
    if name in sys.modules:
        apply(sys.modules[name])
    else:
        sys.meta_path.insert(0, _ImportHook(name, apply))


class _ImportHook:
    """A meta-path finder for one module: finds it as the other finders do, and wraps its
    loader so that ``before`` and ``after`` run around the module's code."""

    def __init__(self, name: str, after: Callable[[ModuleType], None],
                 before: Callable[[ModuleType], None] | None = None) -> None:
        self.name = name
        self.after = after
        self.before = before

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _Around(spec.loader, self)
        return spec


class _Around:
    def __init__(self, loader: Any, hook: _ImportHook) -> None:
        self.loader = loader
        self.hook = hook

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        if self.hook.before is not None:
            self.hook.before(module)
        try:
            self.loader.exec_module(module)
        except BaseException:
            if self.hook.before is not None:
                self.hook.after(module)  # undo what before did
            raise
        self.hook.after(module)


def lazy_import(name: str) -> ModuleType:
    """``name``, executed on its first attribute access (the importlib.util.LazyLoader recipe)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, name
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def calm_gc() -> None:
    """Collect cyclic garbage 30x less often. botocore keeps ~10^5 long-lived objects (its
    service model) that every full collection walks again, and aiohttp/asyncio allocate a
    few hundred objects per request: at the default threshold (700) a 2,000-file get spent
    ~4% of its CPU in the collector, ~1% at this one. Part buffers are bytes, freed by
    reference counting, so memory stays bounded; only garbage cycles wait a little longer."""
    gc.freeze()  # what the imports made lives as long as the process
    gc.set_threshold(20_000, 10, 10)


THREADS_GRACE = 1.0  # seconds for the run's last threads to end before a fast exit gives up


def leave(code: int) -> None:
    """Exit with ``code`` without the interpreter's teardown, when nothing is left to do.

    After a command, every transfer has ended, every file is closed and the loop's threads have
    been told to stop; what remains is freeing each module object by object, paid on every run:
    12-15 ms of CPU and of wall after a one-file put (``perf stat``; ~40 ms of CPU where
    calm_gc has not frozen the imports' objects). Threads still running get THREADS_GRACE to
    end, then atexit handlers (a Dask client's close) run, the standard streams are flushed,
    and the process ends. Returns, for the usual exit, only when a thread outlived the grace
    (or off CPython)."""
    deadline = time.monotonic() + THREADS_GRACE
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                return
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None:  # not CPython: take the usual way out
        return
    run_exit_handlers()
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            code = code or 1
    os._exit(code)
