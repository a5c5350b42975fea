"""The lean request path against real servers: moto, and Ceph, which checks every signature.

Each request goes out through store/lean.py's engine and is checked with boto3 (or the
other way round), so a wrong signature, header or reply shape fails here.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from s3ferry.core.errors import AccessError, NotFoundError, S3FerryError
from s3ferry.core.locations import S3Location
from s3ferry.core.parts import Part
from s3ferry.store.client import open_client
from s3ferry.store.errors import map_error
from s3ferry.store.http1 import Pool
from s3ferry.store.lean import NOT_SERVED, LeanEngine
from s3ferry.store.lean_store import LeanStore
from s3ferry.store.s3 import ObjectStore, open_store

# The engine itself is under test here: the botocore lane would only repeat the moto one.
lanes = pytest.mark.parametrize("server", ["moto", "ceph"], indirect=True)
# ... on both HTTP clients: aiohttp and s3ferry's own (store/http1.py, Config.http "raw").
clients = pytest.mark.parametrize("http", ["aiohttp", "raw"])

KEYS = ["plain.bin", "dir/a b+c%d&e=f?g#h", "unicode/é ü 日本/ключ", "double//slash", "~tilde/(x)!*'"]


async def _drain(stream) -> bytes:
    chunks = []
    while True:
        chunk, _ = await stream.readchunk()
        if not chunk and stream.at_eof():
            return b"".join(chunks)
        chunks.append(chunk)


def _run(server, fn, http="aiohttp"):
    async def main():
        async with open_client(server.config()) as client:
            pool = Pool(8, 10.0, 60.0) if http == "raw" else None
            try:
                return await fn(LeanEngine(client, raw=pool), client)
            finally:
                if pool is not None:
                    pool.close()
    return asyncio.run(main())


@lanes
@clients
@pytest.mark.parametrize("key", KEYS)
def test_put_head_get_round_trip(server, bucket, key, http):
    data = os.urandom(70_001)
    md5 = hashlib.md5(data)

    async def body(lean, client):
        reply = await lean.put(bucket, key, memoryview(data), {
            "ContentMD5": _b64md5(data), "ContentType": "text/x-test",
            "Metadata": {"s3ferry-part-size": "123"}})
        head = await lean.head(bucket, key, {})
        async with lean.get(bucket, key, {"Range": "bytes=1-100"}) as (ranged, stream):
            part = await _drain(stream)
        return reply, head, ranged, part

    reply, head, ranged, part = _run(server, body, http)
    assert reply["ETag"].strip('"') == md5.hexdigest()
    assert head["ContentLength"] == len(data) and head["ETag"] == reply["ETag"]
    assert head["Metadata"] == {"s3ferry-part-size": "123"} and head["ContentType"] == "text/x-test"
    assert head["LastModified"].tzinfo is not None
    assert part == data[1:101] and ranged["ContentRange"] == f"bytes 1-100/{len(data)}"
    assert server.client().get_object(Bucket=bucket, Key=key)["Body"].read() == data


@lanes
@clients
def test_upload_part_makes_the_composite_etag(server, bucket, http):
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1000)]
    s3 = server.client()
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]

    async def body(lean, client):
        return [await lean.put(bucket, "mp", memoryview(p), {"PartNumber": n, "UploadId": upload_id})
                for n, p in enumerate(parts, 1)]

    replies = _run(server, body, http)
    assert [r["ETag"].strip('"') for r in replies] == [hashlib.md5(p).hexdigest() for p in parts]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": r["ETag"]} for n, r in enumerate(replies, 1)]})
    composite = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-2"
    assert s3.head_object(Bucket=bucket, Key="mp")["ETag"].strip('"') == composite, done


@lanes
@clients
def test_errors_carry_the_s3_code_and_map_to_the_tree(server, bucket, http):
    server.client().put_object(Bucket=bucket, Key="k", Body=b"x")

    async def body(lean, client):
        errors = []
        for call in (lambda: lean.head(bucket, "missing", {}),
                     lambda: _get(lean, bucket, "missing", {}),
                     lambda: _get(lean, bucket, "k", {"IfMatch": '"00000000000000000000000000000000"'}),
                     lambda: lean.head(f"{bucket}-none", "k", {})):
            with pytest.raises(ClientError) as caught:
                await call()
            errors.append(caught.value)
        return errors

    head_missing, get_missing, stale, no_bucket = _run(server, body, http)
    assert head_missing.response["Error"]["Code"] == "404"
    assert get_missing.response["Error"]["Code"] == "NoSuchKey"
    assert stale.response["Error"]["Code"] == "PreconditionFailed"
    assert stale.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert isinstance(map_error(get_missing), NotFoundError)
    assert isinstance(map_error(no_bucket), NotFoundError)
    assert isinstance(map_error(stale), S3FerryError)


async def _get(lean, bucket, key, params):
    async with lean.get(bucket, key, params) as (_reply, stream):
        return await _drain(stream)


@lanes
@clients
def test_content_encoded_object_comes_back_as_stored(server, bucket, http):
    """aiohttp would gunzip a gzip-encoded body; the stored bytes (and their MD5) must come back."""
    packed = gzip.compress(b"hello " * 1000)
    server.client().put_object(Bucket=bucket, Key="z", Body=packed, ContentEncoding="gzip")
    assert _run(server, lambda lean, client: _get(lean, bucket, "z", {}), http) == packed


@pytest.mark.parametrize("server", ["ceph"], indirect=True)  # moto checks no signature
def test_wrong_secret_is_access_denied_on_ceph(server, bucket, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    with pytest.raises(ClientError) as caught:
        _run(server, lambda lean, client: lean.head(bucket, "k", {}))
    assert isinstance(map_error(caught.value), AccessError)


@lanes
def test_parameters_it_cannot_send_are_left_to_botocore(server, bucket):
    async def body(lean, client):
        return (await lean.put(bucket, "k", b"x", {"ChecksumAlgorithm": "CRC32"}),
                await lean.put(bucket, "k", iter([b"x"]), {}))

    assert _run(server, body) == (NOT_SERVED, NOT_SERVED)


@lanes
@clients
def test_store_sends_the_hot_requests_on_the_lean_path(server, bucket, http):
    """With engine=lean no hot request may reach aiobotocore (a silent fallback would pass
    every other test while keeping the old cost); the rest still does."""
    data = os.urandom(5 * 1024 * 1024)
    loc = S3Location(bucket, "hot/obj")

    async def main():
        async with open_store(server.config(engine="lean", http=http)) as store:
            assert isinstance(store, LeanStore)
            for name in ("head_object", "get_object", "put_object", "upload_part"):
                setattr(store.client, name, _forbidden(name))
            await store.put(loc, memoryview(data), ContentMD5=_b64md5(data))
            head = await store.head(loc)
            got: list[bytes] = []

            async def sink(offset, chunks):
                got.extend(chunks)

            await store.read_range(loc, Part(1, 0, len(data)), sink, if_match=head["ETag"], whole=True)
            upload_id = await store.create_upload(loc)  # still aiobotocore
            try:
                reply = await store.upload_part(loc, upload_id, 1, memoryview(data), hashlib.md5(data).digest())
            finally:
                await store.abort_upload(loc, upload_id)
            return head, b"".join(got), reply, store.lean._buckets[bucket].raw

    head, got, reply, raw = asyncio.run(main())
    assert (raw is not None) == (http == "raw")  # the client asked for sent them
    assert head["ContentLength"] == len(data) and got == data
    assert reply["ETag"].strip('"') == hashlib.md5(data).hexdigest()


@lanes
def test_engine_botocore_is_the_plain_store(server):
    async def main():
        async with open_store(server.config(engine="botocore")) as store:
            return type(store)

    assert asyncio.run(main()) is ObjectStore


def _forbidden(name):
    async def call(**kwargs):
        raise AssertionError(f"{name} went through aiobotocore")
    return call


def _b64md5(data: bytes) -> str:
    import base64
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_a_redirect_hands_the_bucket_to_botocore(moto, monkeypatch):
    """AWS answers a request signed for the wrong region with 301 PermanentRedirect, which
    botocore's redirector follows and the lean path does not: that bucket moves to botocore."""
    from helpers import proxy_in_front

    for var, value in moto.env().items():
        if var.startswith("AWS_"):
            monkeypatch.setenv(var, value)
    s3 = moto.client()
    name = f"t-redirect-{os.urandom(4).hex()}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"abc")
    try:
        with proxy_in_front(moto) as proxy:
            proxy.set_fault("status", status=301, code="PermanentRedirect", limit=1)

            async def main():
                config = moto.config(engine="lean").replace(endpoint_url=proxy.url)
                async with open_store(config) as store:
                    head = await store.head(S3Location(name, "k"))
                    calls = []
                    original = store.client.head_object

                    async def counted(**kwargs):
                        calls.append(kwargs)
                        return await original(**kwargs)

                    store.client.head_object = counted
                    await store.head(S3Location(name, "k"))
                    return head, calls, store.lean._buckets[name]

            head, calls, lean_target = asyncio.run(main())
            assert proxy.stats.injected["status"] == 1
    finally:
        s3.delete_object(Bucket=name, Key="k")
        s3.delete_bucket(Bucket=name)
    assert head["ContentLength"] == 3
    assert lean_target is None and len(calls) == 1  # botocore's from then on


@lanes
@clients
def test_listing_pages_on_the_lean_path_equal_boto3s(server, bucket, http):
    s3 = server.client()
    keys = ["p/a b+c", "p/%41 percent", "p/é/ü", "p/sub/1", "p/sub/2", "p/z~(x)"]
    for i, key in enumerate(keys):
        s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(i + 1))
    flat = s3.list_objects_v2(Bucket=bucket, Prefix="p/")["Contents"]
    nested = s3.list_objects_v2(Bucket=bucket, Prefix="p/", Delimiter="/")

    async def main():
        async with open_store(server.config(engine="lean", http=http)) as store:
            store.client.list_objects_v2 = _forbidden("list_objects_v2")
            where = S3Location(bucket, "p/")
            all_items = [item async for item in store.list_objects(where, page_size=2)]
            top = [item async for item in store.list_objects(where, delimiter="/", page_size=2)]
            after = [item async for item in store.list_objects(where, start_after="p/sub/1")]
            return all_items, top, after

    all_items, top, after = asyncio.run(main())
    assert [(i["Key"], i["Size"], i["ETag"], i["LastModified"]) for i in all_items] == \
        [(i["Key"], i["Size"], i["ETag"], i["LastModified"]) for i in flat]
    assert sorted(i.get("Prefix") or i["Key"] for i in top) == \
        sorted([p["Prefix"] for p in nested["CommonPrefixes"]] + [c["Key"] for c in nested["Contents"]])
    assert [i["Key"] for i in after] == ["p/sub/2", "p/z~(x)", "p/é/ü"]  # UTF-8 byte order


@lanes
@clients
def test_hot_requests_build_no_botocore_client(server, bucket, http):
    """On an explicit endpoint the lean path finds the bucket's URL, the credentials and the
    pool itself (store/direct.py): the aiobotocore client, ~80 ms of CPU to build, is built
    only for the first request that needs it (here: ListParts; the multipart control requests
    go lean too, tests/integration/test_lean_multipart.py)."""
    data = os.urandom(1000)
    loc = S3Location(bucket, "lazy/obj")

    async def main():
        async with open_store(server.config(engine="lean", http=http)) as store:
            assert store.lean._direct is not None
            await store.put(loc, memoryview(data), ContentMD5=_b64md5(data))
            head = await store.head(loc)
            got: list[bytes] = []

            async def sink(offset, chunks):
                got.extend(chunks)

            await store.read_range(loc, Part(1, 0, len(data)), sink, whole=True)
            pages = [item async for item in store.list_objects(S3Location(bucket, "lazy/"))]
            built_by_hot_requests = store.client.built
            upload_id = await store.create_upload(loc)
            try:
                built_by_create = store.client.built
                parts = [part async for part in store.list_parts(loc, upload_id)]
            finally:
                await store.abort_upload(loc, upload_id)
            return head, b"".join(got), pages + parts, (built_by_hot_requests, built_by_create), store.client.built

    head, got, pages, before, after = asyncio.run(main())
    assert head["ContentLength"] == len(data) and got == data and [p["Key"] for p in pages] == ["lazy/obj"]
    assert (before, after) == ((False, False), True)


@lanes
@clients
def test_head_bucket_on_the_lean_path_needs_no_botocore_client(server, bucket, http):
    """HeadBucket (every transfer's first request) goes out lean: the CLI's small transfers
    then never build the aiobotocore client. A missing bucket is the same 404 as botocore's."""
    async def main():
        async with open_store(server.config(engine="lean", http=http)) as store:
            reply = await store.head_bucket(bucket)
            with pytest.raises(ClientError) as caught:
                await store.head_bucket(f"{bucket}-none")
            return reply, caught.value, store.client.built

    reply, missing, built = asyncio.run(main())
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 200 and not built
    theirs = server.client().head_bucket(Bucket=bucket)
    assert {k: v for k, v in reply.items() if k != "ResponseMetadata"} == \
        {k: v for k, v in theirs.items() if k != "ResponseMetadata"}
    assert missing.response["Error"]["Code"] == "404" and missing.operation_name == "HeadBucket"
    assert isinstance(map_error(missing), NotFoundError)
