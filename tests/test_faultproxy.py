"""Tests for tests/faultproxy.py: every fault mode really happens, pass-through is exact."""

from __future__ import annotations

import hashlib
import http.client
import http.server
import importlib.util
import io
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402
from botocore.exceptions import (  # noqa: E402
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ReadTimeoutError,
)

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
from faultproxy import FaultProxy  # noqa: E402

MiB = 1024 * 1024


# ----------------------------------------------------------------- helpers
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _moto_python() -> str:
    if importlib.util.find_spec("moto") and importlib.util.find_spec("flask"):
        return sys.executable
    return "python3"  # system python has moto[server]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("moto server did not start")


def _client(url: str, *, attempts: int = 1, read_timeout: float = 5, **cfg):
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": attempts, "mode": "standard"},
            connect_timeout=2,
            read_timeout=read_timeout,
            **cfg,
        ),
    )


def _differing(a: bytes, b: bytes) -> list:
    assert len(a) == len(b)
    return [i for i in range(len(a)) if a[i] != b[i]]


# ----------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def moto_port():
    port = _free_port()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    proc = subprocess.Popen(
        [_moto_python(), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    try:
        _wait_port(port, proc)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def direct(moto_port):
    """Client talking to moto without the proxy (setup / verification)."""
    return _client(f"http://127.0.0.1:{moto_port}")


@pytest.fixture
def bucket(direct):
    name = f"fp-{uuid.uuid4().hex[:12]}"
    direct.create_bucket(Bucket=name)
    return name


@pytest.fixture
def proxy(moto_port):
    with FaultProxy("127.0.0.1", moto_port) as p:
        yield p
        assert p.stats.errors == []


# ------------------------------------------------------------- pass-through
def test_passthrough_basic_ops(proxy, bucket, direct):
    s3 = _client(proxy.url)
    data = os.urandom(300_000)
    s3.put_object(Bucket=bucket, Key="a", Body=data)
    s3.put_object(Bucket=bucket, Key="b", Body=io.BytesIO(data))  # Expect: 100-continue
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == data
    assert direct.get_object(Bucket=bucket, Key="b")["Body"].read() == data
    rng = s3.get_object(Bucket=bucket, Key="b", Range="bytes=10-19")
    assert rng["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert rng["Body"].read() == data[10:20]
    assert s3.head_object(Bucket=bucket, Key="a")["ContentLength"] == len(data)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["a", "b"]
    s3.delete_object(Bucket=bucket, Key="a")
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="a")
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    st = proxy.stats
    assert st.requests == 8
    assert st.total_injected == 0
    assert [r.method for r in st.log] == ["PUT", "PUT", "GET", "GET", "HEAD", "GET",
                                          "DELETE", "HEAD"]
    assert [r.status for r in st.log] == [200, 200, 200, 206, 200, 200, 204, 404]
    # keep-alive towards the client although moto closes after every response
    assert st.connections == 1


def test_passthrough_multipart_transfer(proxy, bucket, tmp_path):
    from boto3.s3.transfer import TransferConfig

    s3 = _client(proxy.url, max_pool_connections=8)
    src = tmp_path / "src.bin"
    data = os.urandom(16 * MiB + 12345)
    src.write_bytes(data)
    tc = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB,
                        max_concurrency=4)
    s3.upload_file(str(src), bucket, "big", Config=tc)
    dst = tmp_path / "dst.bin"
    s3.download_file(bucket, "big", str(dst), Config=tc)
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(data).digest()

    log = proxy.stats.log
    parts = [r for r in log if r.method == "PUT" and "partNumber=" in r.path]
    assert len(parts) == 4 and all(r.status == 200 for r in parts)
    assert any(r.method == "POST" and "uploadId=" in r.path and r.status == 200 for r in log)
    assert sum(1 for r in log if r.method == "GET" and r.status == 206) >= 4


def test_passthrough_low_level_multipart(proxy, bucket, direct):
    s3 = _client(proxy.url)
    parts_data = [os.urandom(5 * MiB), os.urandom(1234)]
    mpu = s3.create_multipart_upload(Bucket=bucket, Key="mp")
    parts = []
    for i, chunk in enumerate(parts_data, 1):
        r = s3.upload_part(Bucket=bucket, Key="mp", UploadId=mpu["UploadId"], PartNumber=i,
                           Body=io.BytesIO(chunk))
        parts.append({"PartNumber": i, "ETag": r["ETag"]})
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=mpu["UploadId"],
                                 MultipartUpload={"Parts": parts})
    assert direct.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"".join(parts_data)


# ------------------------------------------------------------------- status
@pytest.mark.parametrize("status,code", [(503, "SlowDown"), (500, "InternalError")])
def test_status_fault(proxy, bucket, direct, status, code):
    direct.put_object(Bucket=bucket, Key="k", Body=b"hello")
    s3 = _client(proxy.url)
    proxy.set_fault("status", status=status)
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key="k")
    assert ei.value.response["Error"]["Code"] == code
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    # A PUT with a file-like body (Expect: 100-continue): body consumed, error returned.
    with pytest.raises(ClientError) as ei:
        s3.put_object(Bucket=bucket, Key="new", Body=io.BytesIO(os.urandom(2 * MiB)))
    assert ei.value.response["Error"]["Code"] == code
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="k")  # HEAD error: no body sent
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == status

    proxy.clear()
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"
    st = proxy.stats
    assert st.injected["status"] == 3
    assert st.connections == 1  # errors keep the connection usable
    assert [r.status for r in st.log] == [status, status, status, 200]
    with pytest.raises(ClientError):
        direct.head_object(Bucket=bucket, Key="new")  # never reached moto


def test_status_every_and_methods(proxy, bucket, direct):
    direct.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3 = _client(proxy.url)
    proxy.set_fault("status", every=3, methods={"HEAD"})
    outcome = []
    for _ in range(7):
        s3.get_object(Bucket=bucket, Key="k")["Body"].read()  # GET never faulted
        try:
            s3.head_object(Bucket=bucket, Key="k")
            outcome.append(True)
        except ClientError as e:
            # HEAD errors carry no body: botocore reports Code == "503"
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 503
            outcome.append(False)
    assert outcome == [True, True, False, True, True, False, True]
    assert proxy.injected("status") == 2


def test_limit_lets_retries_succeed(proxy, bucket, direct, monkeypatch):
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0.0)
    direct.put_object(Bucket=bucket, Key="k", Body=b"payload")
    s3 = _client(proxy.url, attempts=4)
    proxy.set_fault("status", limit=2, status=500)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"payload"
    assert [r.status for r in proxy.stats.log] == [500, 500, 200]

    proxy.reset_stats()
    proxy.set_fault("reset_request", limit=2, methods={"PUT"})
    s3.put_object(Bucket=bucket, Key="r", Body=os.urandom(100_000))
    assert proxy.injected("reset_request") == 2
    assert [r.status for r in proxy.stats.log] == [None, None, 200]
    assert direct.head_object(Bucket=bucket, Key="r")["ContentLength"] == 100_000


def test_probability_is_seeded(proxy, bucket, direct):
    direct.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3 = _client(proxy.url)
    proxy.set_fault("status", probability=0.5, seed=7)
    got = []
    for _ in range(20):
        try:
            s3.head_object(Bucket=bucket, Key="k")
            got.append(False)
        except ClientError:
            got.append(True)
    rng = random.Random(7)
    assert got == [rng.random() < 0.5 for _ in range(20)]
    assert 0 < sum(got) < 20


# ---------------------------------------------------------- resets / truncate
def test_reset_request(proxy, bucket, direct):
    s3 = _client(proxy.url)
    proxy.set_fault("reset_request", methods={"PUT"})
    with pytest.raises(ConnectionClosedError):
        s3.put_object(Bucket=bucket, Key="big", Body=io.BytesIO(os.urandom(4 * MiB)))
    with pytest.raises(ConnectionClosedError):
        s3.put_object(Bucket=bucket, Key="small", Body=b"tiny")
    for key in ("big", "small"):
        with pytest.raises(ClientError):
            direct.head_object(Bucket=bucket, Key=key)  # nothing reached moto
    assert proxy.stats.faults("reset_request") == proxy.stats.log
    proxy.clear()
    s3.put_object(Bucket=bucket, Key="ok", Body=b"fine")  # client recovers


def test_reset_response(proxy, bucket, direct):
    data = os.urandom(1 * MiB)
    direct.put_object(Bucket=bucket, Key="k", Body=data)
    s3 = _client(proxy.url)
    proxy.set_fault("reset_response")
    # GET: headers arrive, body breaks off mid-way.
    resp = s3.get_object(Bucket=bucket, Key="k")
    with pytest.raises(BotoCoreError):
        resp["Body"].read()
    # PUT: the upstream processed it, but the client never sees the response.
    with pytest.raises(ConnectionClosedError):
        s3.put_object(Bucket=bucket, Key="ambiguous", Body=b"stored anyway")
    assert direct.get_object(Bucket=bucket, Key="ambiguous")["Body"].read() == b"stored anyway"
    assert [(r.method, r.status, r.fault) for r in proxy.stats.log] == [
        ("GET", 200, "reset_response"), ("PUT", None, "reset_response")]


def test_truncate(proxy, bucket, direct):
    data = os.urandom(500_000)
    direct.put_object(Bucket=bucket, Key="k", Body=data)
    s3 = _client(proxy.url)
    proxy.set_fault("truncate", methods={"GET"})
    resp = s3.get_object(Bucket=bucket, Key="k")
    assert resp["ContentLength"] == len(data)
    with pytest.raises(BotoCoreError) as ei:  # ResponseStreamingError (IncompleteRead)
        resp["Body"].read()
    assert "IncompleteRead" in str(ei.value) or "expected" in str(ei.value)
    # Non-streaming operation: botocore reads the body itself. botocore 1.36 reports the cut
    # as a closed connection; 1.43 as a 500 (an unparseable 200 reply), retryable either way.
    with pytest.raises((ConnectionClosedError, ClientError)) as cut:
        s3.list_objects_v2(Bucket=bucket)
    if isinstance(cut.value, ClientError):
        assert cut.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    s3.head_object(Bucket=bucket, Key="k")  # HEAD has no body -> not eligible, passes
    assert proxy.injected("truncate") == 2


# ---------------------------------------------------------------------- flip
def test_flip(proxy, bucket, direct):
    data = os.urandom(200_000)
    direct.put_object(Bucket=bucket, Key="k", Body=data, ChecksumAlgorithm="CRC32")
    s3 = _client(proxy.url, response_checksum_validation="when_required")
    proxy.set_fault("flip", methods={"GET"}, seed=3)
    got = s3.get_object(Bucket=bucket, Key="k")["Body"].read()
    diff = _differing(got, data)
    assert len(diff) == 1 and got[diff[0]] == data[diff[0]] ^ 0xFF
    ranged = s3.get_object(Bucket=bucket, Key="k", Range="bytes=1000-1999")["Body"].read()
    diff = _differing(ranged, data[1000:2000])
    assert len(diff) == 1
    assert proxy.injected("flip") == 2


def test_flip_caught_by_botocore_default_checksum_validation(proxy, bucket, direct):
    """Informative: a whole-object GET of an object stored with a checksum is
    verified by botocore itself (response_checksum_validation=when_supported)."""
    data = os.urandom(50_000)
    direct.put_object(Bucket=bucket, Key="k", Body=data, ChecksumAlgorithm="CRC32")
    s3 = _client(proxy.url)
    proxy.set_fault("flip")
    with pytest.raises(BotoCoreError) as ei:
        s3.get_object(Bucket=bucket, Key="k")["Body"].read()
    assert type(ei.value).__name__ == "FlexibleChecksumError"


# --------------------------------------------------------------------- stall
def test_stall_trips_read_timeout_without_blocking_others(proxy, bucket, direct):
    direct.put_object(Bucket=bucket, Key="k", Body=b"data")
    proxy.set_fault("stall", stall_seconds=3, methods={"GET"})
    slow = _client(proxy.url, read_timeout=1)
    fast = _client(proxy.url)
    errors = []

    def stalled_get():
        try:
            slow.get_object(Bucket=bucket, Key="k")
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    th = threading.Thread(target=stalled_get)
    th.start()
    time.sleep(0.2)
    assert fast.head_object(Bucket=bucket, Key="k")["ContentLength"] == 4  # not blocked
    th.join(5)
    assert len(errors) == 1 and isinstance(errors[0], ReadTimeoutError)
    # the proxy notices the client gave up and drops the request
    deadline = time.monotonic() + 2
    while not proxy.stats.faults("stall") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [(r.method, r.status) for r in proxy.stats.faults("stall")] == [("GET", None)]


def test_stall_shorter_than_timeout_then_forwards(proxy, bucket, direct):
    s3 = _client(proxy.url, read_timeout=5)
    proxy.set_fault("stall", stall_seconds=0.5, methods={"PUT"}, limit=1)
    s3.put_object(Bucket=bucket, Key="late", Body=io.BytesIO(b"late body"))
    assert direct.get_object(Bucket=bucket, Key="late")["Body"].read() == b"late body"
    assert [(r.status, r.fault) for r in proxy.stats.log] == [(200, "stall")]


# --------------------------------------------- HTTP framing (local upstream)
class _EchoHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.read(2)
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_PUT(self):
        body = self._read_body()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Expect", self.headers.get("Expect", "-"))
        self.send_header("X-Host", self.headers.get("Host", "-"))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()

    def do_GET(self):
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"a" * 1000, b"b" * 3000, b"c"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/eof":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until-eof-body")
            self.close_connection = True
        elif self.path == "/204":
            self.send_response(204)
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


@pytest.fixture
def echo_proxy():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    srv.daemon_threads = True
    th = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    th.start()
    try:
        with FaultProxy("127.0.0.1", srv.server_address[1]) as p:
            yield p
            assert p.stats.errors == []
    finally:
        srv.shutdown()
        srv.server_close()


def _conn(proxy):
    return http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)


def test_framing_keepalive_chunked_head_eof(echo_proxy):
    c = _conn(echo_proxy)
    # chunked request body, Host preserved
    c.request("PUT", "/x", body=iter([b"hello ", b"chunked ", b"world"]),
              headers={"Host": "example.invalid:1234"}, encode_chunked=True)
    r = c.getresponse()
    assert r.read() == b"hello chunked world"
    assert r.getheader("X-Host") == "example.invalid:1234"
    c.request("HEAD", "/x")
    r = c.getresponse()
    assert r.getheader("Content-Length") == "1000" and r.read() == b""
    c.request("GET", "/chunked")
    r = c.getresponse()
    assert r.read() == b"a" * 1000 + b"b" * 3000 + b"c"
    c.request("GET", "/204")
    r = c.getresponse()
    assert r.status == 204 and r.read() == b""
    c.request("GET", "/eof")  # close-delimited response: proxy closes after it
    r = c.getresponse()
    assert r.read() == b"until-eof-body"
    c.close()
    assert echo_proxy.stats.connections == 1
    assert [r.status for r in echo_proxy.stats.log] == [200, 200, 200, 204, 200]


def test_expect_100_continue_answered_by_proxy(echo_proxy):
    with socket.create_connection(("127.0.0.1", echo_proxy.port), timeout=5) as s:
        s.sendall(b"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b"12345")
        f = s.makefile("rb")
        resp = http.client.HTTPResponse(s)
        resp.fp = f
        resp.begin()
        assert resp.status == 200 and resp.read() == b"12345"
        assert resp.getheader("X-Expect") == "-"  # stripped towards the upstream


def test_faults_on_chunked_responses(echo_proxy):
    full = b"a" * 1000 + b"b" * 3000 + b"c"
    echo_proxy.set_fault("flip")
    c = _conn(echo_proxy)
    c.request("GET", "/chunked")
    got = c.getresponse().read()
    assert len(_differing(got, full)) == 1
    echo_proxy.set_fault("truncate")
    c.request("GET", "/chunked")
    r = c.getresponse()
    assert int(r.getheader("Content-Length")) == len(full)
    with pytest.raises(http.client.IncompleteRead) as ei:
        r.read()
    assert ei.value.partial == full[: len(full) // 2]
    c.close()


def test_upstream_down_gives_502():
    port = _free_port()
    with FaultProxy("127.0.0.1", port) as p:
        c = _conn(p)
        c.request("PUT", "/x", body=b"abc")
        r = c.getresponse()
        assert r.status == 502 and b"<Code>BadGateway</Code>" in r.read()
        c.close()


# ------------------------------------------------------------ lifecycle / CLI
def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_stop_closes_everything(moto_port, bucket):
    before = _fd_count()
    threads_before = threading.active_count()
    p = FaultProxy("127.0.0.1", moto_port).start()
    port = p.port
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    idle.request("GET", f"/{bucket}")
    idle.getresponse().read()  # connection stays open (keep-alive)
    p.set_fault("stall", stall_seconds=None)
    stalled = socket.create_connection(("127.0.0.1", port))
    stalled.sendall(f"GET /{bucket} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    time.sleep(0.2)
    p.stop()  # returns although a request is stalled forever
    for sock in (stalled, idle.sock):  # both closed by stop()
        sock.settimeout(2)
        try:
            assert sock.recv(10) == b""
        except ConnectionResetError:
            pass
    idle.close()
    stalled.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert threading.active_count() == threads_before
    assert _fd_count() == before
    p.stop()  # idempotent


def test_cli_subprocess(moto_port, bucket, direct):
    direct.put_object(Bucket=bucket, Key="k", Body=b"x")
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "faultproxy.py"), "--upstream",
         f"127.0.0.1:{moto_port}", "--mode", "status", "--every", "2", "--methods", "HEAD"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        s3 = _client(url)
        ok = []
        for _ in range(4):
            try:
                s3.head_object(Bucket=bucket, Key="k")
                ok.append(True)
            except ClientError as e:
                assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 503
                ok.append(False)
        assert ok == [True, False, True, False]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "requests=4" in err
