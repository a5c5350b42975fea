"""Helpers shared by the integration tests."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from faultproxy import FaultProxy


class Collect:
    """A progress sink that keeps every result, for tests of the library API."""

    def __init__(self) -> None:
        self.results: list[Any] = []

    def started(self, source: str, size: int) -> None: pass
    def advanced(self, nbytes: int) -> None: pass
    def finished(self, result: Any) -> None: self.results.append(result)


def run_cli(server: Any, *args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess against ``server``. A run still going after ``timeout``
    is a hang: it is made to print every thread's stack (faulthandler, on SIGABRT) before it is
    killed, so that the failure says where it waited."""
    env = {**(kwargs.pop("env", None) or server.env()), "PYTHONFAULTHANDLER": "1"}
    command = [sys.executable, "-m", "s3ferry", *args]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          **kwargs) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for pid in [*descendants(process.pid), process.pid]:  # workers first: all print stacks
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGABRT)
            try:
                stdout, stderr = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                stdout, stderr = process.communicate()
            raise AssertionError(f"still running after {timeout} s: {' '.join(args)}\n"
                                 f"stderr (last 20,000 characters):\n{stderr[-20000:]}") from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (Linux /proc), deepest first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found[::-1]


def signalled(process: subprocess.Popen[str], sig: int, timeout: float = 90) -> tuple[int, str, str]:
    """Send ``sig`` to a running CLI and wait for its end: (exit code, stdout, stderr)."""
    process.send_signal(sig)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, stdout, stderr


def sigint(process: subprocess.Popen[str], timeout: float = 60, sig: int = signal.SIGINT,
           code: int = 130) -> tuple[str, str]:
    """Ctrl-C (or ``sig``) a running CLI: it must exit ``code`` within ``timeout``, without a traceback."""
    returncode, stdout, stderr = signalled(process, sig, timeout)
    assert returncode == code, stderr
    assert "Traceback" not in stderr
    return stdout, stderr


def interrupt_when(process: subprocess.Popen[str], ready: Any, deadline: float = 120,
                   timeout: float = 60, sig: int = signal.SIGINT, code: int = 130) -> tuple[str, str]:
    """Wait until ``ready()`` (polling), then :func:`sigint` the still-running process."""
    end = time.monotonic() + deadline
    while process.poll() is None and time.monotonic() < end and not ready():
        time.sleep(0.02)
    if process.poll() is not None:
        raise AssertionError(f"the transfer ended before it could be interrupted: {process.communicate()}")
    return sigint(process, timeout, sig, code)


def md5_file(path: Path) -> str:
    """A reference MD5 (hashlib's own), independent of the code under test."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "md5").hexdigest()


def random_file(path: Path, size: int, seed: int = 0) -> Path:
    """Incompressible, reproducible bytes, written in 8 MiB blocks."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        left = size
        while left:
            block = min(left, 8 * 1024 * 1024)
            handle.write(rng.randbytes(block))
            left -= block
    return path


def boto3_multipart(s3: Any, bucket: str, key: str, data: bytes, part_size: int, **create: Any) -> str:
    """Upload ``data`` in ``part_size`` parts with plain boto3 calls, as another tool would
    (no s3ferry metadata unless given); returns the server's ETag."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    parts = []
    for number, offset in enumerate(range(0, max(len(data), 1), part_size), start=1):
        response = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                  Body=data[offset:offset + part_size])
        parts.append({"PartNumber": number, "ETag": response["ETag"]})
    done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    return str(done.get("ETag", ""))


@contextmanager
def proxy_in_front(server: Any) -> Iterator[FaultProxy]:
    """A fault-injection proxy on 127.0.0.1 forwarding to ``server``."""
    url = urlsplit(server.endpoint_url)
    proxy = FaultProxy(url.hostname or "127.0.0.1", url.port or 80).start()
    try:
        yield proxy
    finally:
        proxy.stop()
