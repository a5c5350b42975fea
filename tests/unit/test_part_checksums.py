"""COMPOSITE uploads (--checksum crc32|crc32c): each part's CRC kept beside its ETag and listed
in Complete's body exactly as botocore's serialiser writes a CompletedPart; a store echoing
another part checksum than the one sent is refused like a wrong part ETag."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
import zlib
from types import SimpleNamespace
from typing import Any

import pytest
from awscrt import checksums as crt
from hypothesis import given
from hypothesis import strategies as st

from s3ferry.core import s3wire_multipart as wire
from s3ferry.core.checksums import COMPOSITE_MODES, PartChecksums
from s3ferry.core.errors import RangeIntegrityError
from s3ferry.core.etag import CompositeBuilder
from s3ferry.core.locations import S3Location
from s3ferry.ops.multipart import complete_upload, create_args, part_args, part_checksums
from s3ferry.store.multipart import _check_checksums

from .test_s3wire_multipart import _botocores

REFERENCE = {"CRC32": zlib.crc32, "CRC32C": crt.crc32c}


class _Store:
    """Keeps what Complete was asked to send."""

    def __init__(self) -> None:
        self.parts: list[dict[str, Any]] = []
        self.params: dict[str, Any] = {}

    async def complete_upload(self, loc: S3Location, upload_id: str, parts: list[dict[str, Any]],
                              **params: Any) -> dict[str, Any]:
        self.parts, self.params = parts, params
        return {"ETag": '"00000000000000000000000000000000-1"'}


def _complete(pieces: list[bytes], name: str, seed: int) -> _Store:
    """Send ``pieces`` as parts (their CRCs noted in a shuffled order, as parts finish), then
    complete the upload the way every multipart operation does."""
    sums = PartChecksums(name)
    builder = CompositeBuilder(len(pieces))
    order = list(enumerate(pieces, start=1))
    random.Random(seed).shuffle(order)
    for number, piece in order:
        assert part_args(sums, number, sums.of(piece)) == {"ChecksumAlgorithm": name,
                                                           f"Checksum{name}": sums.get(number)}
        builder.add(number, hashlib.md5(piece).digest(), hashlib.md5(piece).hexdigest())
    store = _Store()
    ctx = SimpleNamespace(store=store)
    asyncio.run(complete_upload(ctx, S3Location("b", "k"), "u", builder, sums=sums))  # type: ignore[arg-type]
    return store


@given(st.binary(min_size=1, max_size=4000), st.integers(1, 900), st.sampled_from(sorted(REFERENCE)),
       st.integers(0, 1000))
def test_completes_body_lists_each_parts_checksum_as_botocore_writes_it(data, part_size, name, seed):
    pieces = [data[o:o + part_size] for o in range(0, len(data), part_size)]
    store = _complete(pieces, name, seed)
    body = wire.complete_body(store.parts)
    assert body == _botocores("CompleteMultipartUpload", {"UploadId": "u", "MultipartUpload": {"Parts": store.parts}})["body"]
    for number, piece in enumerate(pieces, start=1):
        value = base64.b64encode(REFERENCE[name](piece).to_bytes(4, "big")).decode()
        assert (f"<Part><PartNumber>{number}</PartNumber><ETag>&quot;{hashlib.md5(piece).hexdigest()}&quot;</ETag>"
                f"<Checksum{name}>{value}</Checksum{name}></Part>").replace("&quot;", '"').encode() in body
    # COMPOSITE is S3's default type for CRC32/C: Complete names no type and no object checksum.
    assert store.params == {}


def test_a_part_without_its_checksum_is_never_completed():
    sums = PartChecksums("CRC32C")
    sums.add(1, "AAAAAA==")
    with pytest.raises(ValueError, match="part 2"):
        sums.complete([{"PartNumber": 1, "ETag": '"a"'}, {"PartNumber": 2, "ETag": '"b"'}])


@pytest.mark.parametrize(("mode", "create"), [("off", {}), ("crc64nvme", {}), ("crc32", {"ChecksumAlgorithm": "CRC32"}),
                                              ("crc32c", {"ChecksumAlgorithm": "CRC32C"})])
def test_only_crc32_and_crc32c_make_composite_uploads(mode, create):
    sums = part_checksums(SimpleNamespace(config=SimpleNamespace(checksum=mode)))  # type: ignore[arg-type]
    assert create_args(sums) == create
    assert (sums is not None) == (mode in COMPOSITE_MODES)


def test_crc_piece_by_piece_equals_the_whole():
    sums = PartChecksums("CRC32")
    data = bytes(range(256)) * 100
    assert sums.of(data[5000:], sums.of(data[:5000])) == zlib.crc32(data)


def test_an_echoed_part_checksum_must_be_the_one_sent():
    sent = {"ContentMD5": "x", "ChecksumAlgorithm": "CRC32", "ChecksumCRC32": "AAAAAA=="}
    _check_checksums(1, sent, {"ChecksumCRC32": "AAAAAA=="})
    _check_checksums(1, sent, {})  # a store without additional checksums echoes none
    with pytest.raises(RangeIntegrityError, match="part 3: server CRC32 BAAAAA== differs"):
        _check_checksums(3, sent, {"ChecksumCRC32": "BAAAAA=="})


def test_a_part_copy_keeps_the_checksum_the_store_computed():
    """UploadPartCopy's bytes never pass through s3ferry: the CRC Complete lists is the one the
    store's CopyPartResult carries (AWS sends it for a COMPOSITE upload; moto 5.2.5 does not)."""
    from s3ferry.core.parts import Part
    from s3ferry.ops.copy import Endpoints, _part_copy_one

    class Store:
        async def upload_part_copy(self, loc: S3Location, upload_id: str, number: int, source: S3Location,
                                   **params: Any) -> dict[str, Any]:
            return {"CopyPartResult": {"ETag": '"' + "ab" * 16 + '"', "ChecksumCRC32C": f"crc{number}=="}}

    ctx = SimpleNamespace(store=Store())
    obj = SimpleNamespace(loc=S3Location("b", "src"), etag_raw='"e-2"')
    sums = PartChecksums("CRC32C")
    digest, etag = asyncio.run(_part_copy_one(Endpoints(ctx, ctx), obj, S3Location("b", "k"), "u",  # type: ignore[arg-type]
                                              Part(2, 0, 10), sums))
    assert (digest.hex(), etag, sums.get(2), len(sums)) == ("ab" * 16, "ab" * 16, "crc2==", 1)
