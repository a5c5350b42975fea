"""How to copy one object to another (S3 -> S3), and the verdict once it is done. Pure.

The source's part layout is kept whenever it is known, so the ETags stay comparable."""

from __future__ import annotations

from dataclasses import dataclass

from s3ferry.core.config import MAX_SINGLE_PUT
from s3ferry.core.etag import ETag, parse_etag
from s3ferry.core.layout import Layout
from s3ferry.core.parts import choose_part_size
from s3ferry.core.results import Verdict


@dataclass(frozen=True, slots=True)
class CopyPlan:
    method: str  # "copy-object", "part-copy", "stream-single", "stream-parts"
    part_size: int | None  # None for the single-request methods
    keeps_etag: bool  # the destination ETag must equal the source's: anything else is a failure
    why: str


def plan_copy(size: int, etag: ETag | None, layout: Layout, *, same_endpoint: bool, part_size: int,
              threshold: int) -> CopyPlan:
    """How to copy ``size`` bytes whose ETag is ``etag`` and whose part layout is ``layout``.

    The source's layout is kept whenever it is known, so the ETags stay comparable; else the
    configured part size is used, and the ETags are not expected to agree."""
    single = etag is not None and not etag.is_multipart
    if etag is not None and etag.is_multipart and layout.known and layout.part_size and size > 0:
        method = "part-copy" if same_endpoint else "stream-parts"
        return CopyPlan(method, layout.part_size, True, f"parts of {layout.part_size} as the source ({layout.source})")
    if same_endpoint:
        if size <= MAX_SINGLE_PUT:
            why = "single object" if single else "unknown source layout: a plain copy"
            return CopyPlan("copy-object", None, single, why)
        return CopyPlan("part-copy", choose_part_size(size, part_size), False, "over 5 GiB, unknown layout")
    if size < threshold:
        return CopyPlan("stream-single", None, single, "below the multipart threshold")
    return CopyPlan("stream-parts", choose_part_size(size, part_size), False,
                    "single-PUT source above the threshold" if single else "unknown source layout")


def judge_copy(plan: CopyPlan, source: str, dest: str) -> tuple[Verdict, str]:
    """The verdict from the two ETags once the copy is done. A layout-keeping copy whose ETag
    differs is a corrupt copy; otherwise a difference only means the ETags cannot be compared."""
    if parse_etag(source) is not None and source == dest:
        return Verdict.MATCH, f"ETag kept: {plan.why}"
    if plan.keeps_etag:
        return Verdict.MISMATCH, f"copy has ETag {dest}, source has {source}"
    if parse_etag(source) is None:
        return Verdict.UNVERIFIABLE, f"source ETag {source!r} is not an MD5"
    return Verdict.UNVERIFIABLE, f"{plan.why}: copy has ETag {dest}, source has {source} (recorded in metadata)"
