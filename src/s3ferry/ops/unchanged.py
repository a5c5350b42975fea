"""put --skip-unchanged: a file whose object already holds the same bytes is not sent again.

"Same" is verify's judgement (ops/verify.py): the ETag recomputed from the local bytes at the
object's part layout, found from the metadata, HeadObject(PartNumber) or by guessing, so an
object uploaded by any tool at any part size is recognised. Anything short of ``match``
(mismatch, missing, unverifiable) uploads. CI pipelines re-push the same artifacts all day."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from s3ferry.core.locations import S3Location
from s3ferry.core.results import NoProgress, TransferResult, Verdict
from s3ferry.ops.context import Context
from s3ferry.ops.put import upload_file
from s3ferry.ops.verify import Verifier


async def upload_if_changed(ctx: Context, path: Path, dest: S3Location) -> TransferResult:
    quiet = dataclasses.replace(ctx, progress=NoProgress())
    compared = await Verifier(quiet).pair(path, dest)
    if not compared.ok or compared.verdict is not Verdict.MATCH:
        return await upload_file(ctx, path, dest)
    # Nothing was sent: the summary counts no bytes, the detail says why.
    result = TransferResult("put", str(path), str(dest), 0, compared.etag, Verdict.MATCH,
                            f"unchanged, not sent ({compared.size} bytes; {compared.detail})", compared.seconds)
    ctx.progress.started(str(path), 0)
    ctx.progress.finished(result)
    return result
