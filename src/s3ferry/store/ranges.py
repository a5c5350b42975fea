"""Handing a range's body to its consumer, for every request path (botocore, lean, presigned):
pieces as the HTTP library buffered them (joining would copy), in batches, with the byte
count checked both ways."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from s3ferry.core.errors import RangeIntegrityError
from s3ferry.core.parts import Part

# Receives the bytes of a range as aiohttp buffered them, with their offset in the object.
Sink = Callable[[int, list[bytes]], Awaitable[None]]


async def feed_range(stream: object, part: Part, sink: Sink, batch: int) -> None:
    """A body's pieces, as the HTTP library buffered them (``readchunk``: read(n) would join
    them into a new copy), to ``sink`` in batches of about ``batch`` bytes; a body longer or
    shorter than ``part`` raises RangeIntegrityError (retryable). A stream with
    ``ready_chunk`` (store/http1.py's replies) hands pieces already buffered without a
    coroutine: a small GET's whole body, in with its head, costs no await here. Why a loop
    over the stream, not an async generator of its pieces: a generator per GET (its frames,
    the loop's asyncgen hooks) was a visible share of a small GET (profile.md "smallreq7")."""
    offset, pending, pending_size = part.offset, [], 0
    ready = getattr(stream, "ready_chunk", None)
    while True:
        chunk = ready() if ready is not None else None
        if chunk is None:
            chunk, _ = await stream.readchunk()  # type: ignore[attr-defined]
        if not chunk:
            if stream.at_eof():  # type: ignore[attr-defined]
                break
            continue
        if offset + pending_size + len(chunk) > part.end:
            raise RangeIntegrityError(f"range {part.http_range}: server sent more than {part.size} bytes")
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size >= batch:
            await sink(offset, pending)
            offset, pending, pending_size = offset + pending_size, [], 0
    if pending:
        await sink(offset, pending)
    received = offset + pending_size - part.offset
    if received != part.size:
        raise RangeIntegrityError(f"range {part.http_range}: got {received} of {part.size} bytes")


async def read_body(stream: object, part: Part, sink: Sink, batch: int,
                    into: Callable[[], Awaitable[memoryview]] | None) -> None:
    """A GET's body to ``sink``: received into ``into``'s block where the stream can do that
    (store/http1.py), else as its pieces (feed_range)."""
    if into is not None and hasattr(stream, "readinto"):
        await fill_range(stream, part, sink, await into())
    else:
        await feed_range(stream, part, sink, batch)


async def fill_range(stream: object, part: Part, sink: Sink, block: memoryview) -> None:
    """``feed_range`` for a stream that reads into a buffer (store/http1.py's replies): the
    body received into ``block`` (reused), handed to ``sink`` each time it is full. The sink
    must be done with the block when it returns."""
    offset = part.offset
    while offset < part.end:
        got = await stream.readinto(block[:min(len(block), part.end - offset)])  # type: ignore[attr-defined]
        if not got:
            break
        await sink(offset, [block[:got]])  # type: ignore[list-item]
        offset += got
    if offset == part.end and not stream.at_eof():  # type: ignore[attr-defined]
        raise RangeIntegrityError(f"range {part.http_range}: server sent more than {part.size} bytes")
    if offset != part.end:
        raise RangeIntegrityError(f"range {part.http_range}: got {offset - part.offset} of {part.size} bytes")
