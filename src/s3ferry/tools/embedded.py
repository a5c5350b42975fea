"""An embedded local S3 server (moto, in server mode) for the demo, `s3ferry bench` and tests.

It runs as a subprocess, so it does not share our GIL, bound to 127.0.0.1 on a free port,
and is stopped (by PID) when the context exits.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from s3ferry.core.errors import EndpointError

ACCESS_KEY = "s3ferry-local"
SECRET_KEY = "s3ferry-local-secret"
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class LocalServer:
    endpoint_url: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        """Environment for a child process (the CLI) to talk to this server."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": self.region, "S3FERRY_ENDPOINT_URL": self.endpoint_url}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[LocalServer]:
    """Start moto's S3 server; needs the `server` extra (pip install 's3ferry[server]')."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        raise EndpointError("the embedded server needs moto: pip install 's3ferry[server]'") from None
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield LocalServer(url)
    finally:
        _stop(process)


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EndpointError(f"embedded S3 server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is serving
        except OSError:
            time.sleep(0.1)
    raise EndpointError(f"embedded S3 server did not start within {START_TIMEOUT:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
