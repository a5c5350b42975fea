"""The multipart control requests on the lean path (store/lean_multipart.py) against real
servers: Create, Complete, Abort and ListMultipartUploads go out signed by the lean engine,
build no botocore client, and answer and fail as botocore's would."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from s3ferry.core.config import MiB
from s3ferry.core.locations import S3Location, parse_s3_url
from s3ferry.core.results import NoProgress
from s3ferry.ops.context import Context
from s3ferry.ops.trees import put_path
from s3ferry.store.s3 import open_store

lanes = pytest.mark.parametrize("server", ["moto", "ceph"], indirect=True)
clients = pytest.mark.parametrize("http", ["aiohttp", "raw"])
KEY = "mp/a b+c%d&é"


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


@lanes
@clients
def test_create_list_complete_round_trip_builds_no_botocore_client(server, bucket, http):
    parts = [os.urandom(5 * MiB), os.urandom(1000)]
    loc = S3Location(bucket, KEY)

    async def main():
        async with open_store(server.config(engine="lean", http=http)) as store:
            upload_id = await store.create_upload(loc, ContentType="text/x-test", Metadata={"s3ferry-x": "1"})
            listed = [u async for u in store.list_uploads(S3Location(bucket, "mp/"))]
            sent = [await store.upload_part(loc, upload_id, n, memoryview(p), hashlib.md5(p).digest())
                    for n, p in enumerate(parts, 1)]
            done = await store.complete_upload(loc, upload_id, [
                {"PartNumber": n, "ETag": r["ETag"]} for n, r in enumerate(sent, 1)])
            return upload_id, listed, done, store.client.built

    upload_id, listed, done, built = asyncio.run(main())
    assert not built
    assert [(u["Key"], u["UploadId"]) for u in listed] == [(KEY, upload_id)]
    assert isinstance(listed[0]["Initiated"], datetime) and listed[0]["Initiated"].tzinfo is not None
    composite = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-2"
    head = server.client().head_object(Bucket=bucket, Key=KEY)
    assert head["ETag"].strip('"') == composite and head["ContentType"] == "text/x-test"
    assert head["Metadata"] == {"s3ferry-x": "1"}
    assert done["Key"] == KEY and done["Bucket"] == bucket and done["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert done.get("ETag", '""').strip('"') in (composite, "")  # Ceph answers an empty ETag


def _botocores_errors(server, bucket, key, upload_id):
    s3 = server.client(retries={"max_attempts": 1})
    codes = []
    for call in (lambda: s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId="no-such-upload-id", MultipartUpload={
                     "Parts": [{"PartNumber": 1, "ETag": '"x"'}]}),
                 lambda: s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId="no-such-upload-id")):
        with pytest.raises(ClientError) as caught:
            call()
        codes.append((caught.value.response["Error"]["Code"], caught.value.operation_name,
                      caught.value.response["ResponseMetadata"]["HTTPStatusCode"]))
    return codes


@lanes
@clients
def test_errors_carry_the_s3_code_and_operation_as_botocores_do(server, bucket, http):
    """Complete and Abort of an unknown upload id: the same error as botocore's from the same
    server (Abort: NoSuchUpload 404; Complete: a 500, bare on moto, InternalError on Ceph; the
    NoSuchUpload AWS gives is the scripted test below)."""
    loc = S3Location(bucket, "mp/gone")

    async def main():
        async with open_store(server.config(engine="lean", http=http, max_attempts=1)) as store:
            upload_id = await store.create_upload(loc)
            await store.abort_upload(loc, upload_id)
            caught = []
            for call in (lambda: store.complete_upload(loc, "no-such-upload-id", [{"PartNumber": 1, "ETag": '"x"'}]),
                         lambda: store.abort_upload(loc, "no-such-upload-id")):
                with pytest.raises(ClientError) as error:
                    await call()
                caught.append(error.value)
            left = [u async for u in store.list_uploads(S3Location(bucket, "mp/"))]
            return upload_id, caught, left, store.client.built

    upload_id, caught, left, built = asyncio.run(main())
    assert not built and left == []
    ours = [(e.response["Error"]["Code"], e.operation_name, e.response["ResponseMetadata"]["HTTPStatusCode"])
            for e in caught]
    assert ours == _botocores_errors(server, bucket, loc.key, upload_id)
    assert ours[1] == ("NoSuchUpload", "AbortMultipartUpload", 404)


@lanes
def test_parameters_the_lean_path_cannot_map_go_through_botocore(server, bucket):
    """Expires is a timestamp botocore formats: never dropped, the request is botocore's."""
    loc = S3Location(bucket, "mp/expires")
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    async def main():
        async with open_store(server.config(engine="lean")) as store:
            upload_id = await store.create_upload(loc, Expires=expires)
            built = store.client.built
            data = os.urandom(1000)
            reply = await store.upload_part(loc, upload_id, 1, memoryview(data), hashlib.md5(data).digest())
            await store.complete_upload(loc, upload_id, [{"PartNumber": 1, "ETag": reply["ETag"]}])
            return built

    assert asyncio.run(main())
    assert server.client().head_object(Bucket=bucket, Key="mp/expires")["Expires"] == expires


@lanes
@clients
def test_a_multipart_put_on_the_lean_engine_builds_no_botocore_client(server, bucket, http, tmp_path):
    """The large-file path (ops/put.py's multipart, with its orphan check before Create and
    the CRC64NVME full-object checksum on Complete where the store keeps one) sends every
    request lean: a few MiB at the smallest part size stand for the 1 GiB case."""
    source = tmp_path / "big.bin"
    data = os.urandom(12 * MiB + 123)
    source.write_bytes(data)
    config = server.config(engine="lean", http=http, part_size=5 * MiB, multipart_threshold=5 * MiB)

    async def main():
        async with open_store(config) as store:
            ctx = Context(store, config, NoProgress())
            result = await put_path(ctx, source, parse_s3_url(f"s3://{bucket}/big.bin"))
            return result.exit_code, store.client.built

    code, built = asyncio.run(main())
    assert (code, built) == (0, False)
    head = server.client().head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(data) and head["ETag"].strip('"').endswith("-3")
    assert server.client().get_object(Bucket=bucket, Key="big.bin")["Body"].read() == data


# ---- replies no real server gives on demand: a scripted one on 127.0.0.1 -----------------------

class Scripted:
    """An HTTP/1.1 server answering each request with the next of ``replies`` (status, body),
    recording (method, target, headers, body) of each."""

    def __init__(self, replies: list[tuple[int, bytes]]) -> None:
        self.replies, self.seen = list(replies), []

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                self.seen.append((method, target, headers, body))
                status, reply = self.replies.pop(0)
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-type: application/xml\r\n"
                             f"x-amz-request-id: R{len(self.seen)}\r\ncontent-length: {len(reply)}\r\n\r\n".encode()
                             + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


def _error(code: str) -> bytes:
    return f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>m</Message></Error>".encode()


DONE = (b'<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/'
        b'2006-03-01/"><Location>l</Location><Bucket>b</Bucket><Key>k</Key><ETag>"e-1"</ETag>'
        b'<ChecksumCRC64NVME>AAAAAAAAAAA=</ChecksumCRC64NVME><ChecksumType>FULL_OBJECT</ChecksumType>'
        b'</CompleteMultipartUploadResult>')


def _scripted(monkeypatch, replies, call, **config):
    from s3ferry.core.config import Config

    for name, value in (("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    script = Scripted(replies)

    async def main():
        async with script as url, open_store(Config(endpoint_url=url, addressing_style="path", engine="lean",
                                                    http="raw", **config)) as store:
            try:
                return await call(store), store.client.built
            except ClientError as exc:
                return exc, store.client.built

    outcome, built = asyncio.run(main())
    assert not built
    return outcome, script.seen


@pytest.mark.parametrize("first", [
    _error("InternalError"),  # S3's 200 whose body is the error
    DONE[:80],  # a reply cut short
])
def test_a_complete_answered_200_with_an_error_is_retried(monkeypatch, first):
    parts = [{"PartNumber": 1, "ETag": '"a&b"', "ChecksumCRC64NVME": "x=="}]
    reply, seen = _scripted(monkeypatch, [(200, first), (200, DONE.replace(b"?>", b"?>\n   \n", 1))], lambda store: store.complete_upload(
        S3Location("b", "k"), "u+1", parts, ChecksumCRC64NVME="AAAAAAAAAAA=", ChecksumType="FULL_OBJECT",
        IfNoneMatch="*"))
    assert len(seen) == 2 and reply["ETag"] == '"e-1"' and reply["ChecksumType"] == "FULL_OBJECT"
    method, target, headers, body = seen[0]
    assert (method, target) == ("POST", "/b/k?uploadId=u%2B1")
    assert (headers["x-amz-checksum-type"], headers["if-none-match"]) == ("FULL_OBJECT", "*")
    assert body == (b'<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1'
                    b'</PartNumber><ETag>"a&amp;b"</ETag><ChecksumCRC64NVME>x==</ChecksumCRC64NVME></Part>'
                    b'</CompleteMultipartUpload>')


def test_a_complete_answered_200_with_a_lasting_error_fails_as_botocore_would(monkeypatch):
    from s3ferry.store.retry import is_retryable

    error, seen = _scripted(monkeypatch, [(200, _error("InternalError"))] * 2, lambda store: store.complete_upload(
        S3Location("b", "k"), "u", [{"PartNumber": 1, "ETag": '"e"'}]), max_attempts=2)
    assert isinstance(error, ClientError) and len(seen) == 2
    assert (error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"],
            error.operation_name) == ("InternalError", 500, "CompleteMultipartUpload")
    assert is_retryable(error)


@pytest.mark.parametrize("operation", ["complete", "abort"])
def test_no_such_upload_is_not_retried_and_keeps_its_code(monkeypatch, operation):
    from s3ferry.store.errors import error_code

    loc = S3Location("b", "k")
    error, seen = _scripted(monkeypatch, [(404, _error("NoSuchUpload"))], lambda store: (
        store.complete_upload(loc, "u", [{"PartNumber": 1, "ETag": '"e"'}]) if operation == "complete"
        else store.abort_upload(loc, "u")))
    assert isinstance(error, ClientError) and len(seen) == 1 and error_code(error) == "NoSuchUpload"
    assert error.operation_name == {"complete": "CompleteMultipartUpload", "abort": "AbortMultipartUpload"}[operation]
    assert seen[0][0] == {"complete": "POST", "abort": "DELETE"}[operation]


def test_a_multipart_put_from_the_cli_starts_without_botocores_session_or_aiohttp(server, bucket, tmp_path):
    """With the start-up of store/environ.py, nothing of a multipart put needs botocore's
    session or client (nor aiohttp): the orphan check, Create, the parts and Complete all go
    lean. Before these four went lean, Create imported and built them (~0.1 CPU-s)."""
    from helpers import run_cli
    from test_small_trees import HEAVY, _imported

    source = tmp_path / "big.bin"
    data = os.urandom(12 * MiB + 123)
    source.write_bytes(data)
    env = {**server.env(), "PYTHONPROFILEIMPORTTIME": "1", "AWS_CONFIG_FILE": str(tmp_path / "none")}
    put = run_cli(server, "put", str(source), f"s3://{bucket}/big.bin", "--part-size", "5MiB", env=env)
    assert put.returncode == 0, put.stderr[-2000:]
    assert server.client().head_object(Bucket=bucket, Key="big.bin")["ETag"].strip('"').endswith("-3")
    heavy = {m for m in _imported(put.stderr) if m.startswith(HEAVY)}
    if server.engine is None and server.http is None:  # the default path: lean engine, raw HTTP
        assert heavy == set()
    else:
        assert heavy  # the check can see them: other paths do import them
