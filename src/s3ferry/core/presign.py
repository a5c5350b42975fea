"""Presigned transfers: the multipart manifest, the CompleteMultipartUpload body and reply,
and the few header facts a presigned GET needs. Pure.

A manifest lets someone without credentials upload one file in parts: the holder of the
credentials starts the upload (``s3ferry presign --multipart``), and hands out this JSON: the
upload id, one presigned UploadPart URL per part (a URL fixes bucket, key, ``partNumber`` and
``uploadId``), and presigned CompleteMultipartUpload (POST) and AbortMultipartUpload (DELETE)
URLs. ``s3ferry put FILE --presigned manifest.json`` drives it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from xml.etree import ElementTree

from s3ferry.core.config import MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE
from s3ferry.core.errors import ConfigError, IntegrityError
from s3ferry.core.parts import part_count, plan_parts

MANIFEST_FORMAT = "s3ferry-multipart-manifest"
MANIFEST_VERSION = 1
# SigV4 presigned URLs live at most 7 days.
MAX_EXPIRES = 7 * 24 * 3600
_DURATION = re.compile(r"^(\d+)\s*([smhdw]?)$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def parse_expires(text: str) -> int:
    """'3600', '15m', '1h', '7d' -> seconds, between 1 s and the 7-day SigV4 limit."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise ConfigError(f"not a duration: {text!r} (try 15m, 1h or 7d)")
    seconds = int(match.group(1)) * _SECONDS[match.group(2)]
    if not 1 <= seconds <= MAX_EXPIRES:
        raise ConfigError(f"expiry must be between 1s and 7d (the SigV4 limit), got {text!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class PartURL:
    number: int
    offset: int
    size: int
    url: str


@dataclass(frozen=True, slots=True)
class Manifest:
    bucket: str
    key: str
    upload_id: str
    size: int
    part_size: int
    expires: str  # ISO 8601 UTC: when the URLs stop working
    parts: tuple[PartURL, ...]
    complete_url: str
    abort_url: str
    # A presigned HeadObject URL: the object's ETag after Complete, for stores (Ceph) whose
    # Complete reply carries none. "" when the manifest has none.
    check_url: str = ""

    def to_json(self) -> str:
        data = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, **asdict(self)}
        data["parts"] = [asdict(p) for p in self.parts]
        return json.dumps(data, indent=1)

    def check_size(self, size: int, path: str) -> None:
        if size != self.size:
            raise ConfigError(f"{path} has {size} bytes, the manifest was made for {self.size} "
                              f"(presign --multipart --size {size})")


def plan_manifest_parts(size: int, part_size: int) -> list[tuple[int, int, int]]:
    """(number, offset, size) of each part a manifest covers; refuses plans S3 would refuse."""
    if size < 0:
        raise ConfigError(f"size must not be negative, got {size}")
    if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
        raise ConfigError(f"part size must be between 5 MiB and 5 GiB, got {part_size} bytes")
    if part_count(size, part_size) > MAX_PARTS:
        raise ConfigError(f"{size} bytes need more than {MAX_PARTS} parts of {part_size}: raise --part-size")
    return [(p.number, p.offset, p.size) for p in plan_parts(size, part_size)]


def build_manifest(bucket: str, key: str, upload_id: str, size: int, part_size: int, expires: str,
                   part_urls: Sequence[str], complete_url: str, abort_url: str, check_url: str = "") -> Manifest:
    planned = plan_manifest_parts(size, part_size)
    if len(planned) != len(part_urls):
        raise ValueError(f"{len(planned)} parts planned, {len(part_urls)} URLs given")
    parts = tuple(PartURL(n, offset, length, url) for (n, offset, length), url in zip(planned, part_urls))
    return Manifest(bucket, key, upload_id, size, part_size, expires, parts, complete_url, abort_url, check_url)


def parse_manifest(text: str, where: str = "manifest") -> Manifest:
    """Read a manifest back, checking that its parts tile the object exactly: a hand-edited
    or truncated manifest is refused before a byte is sent."""
    try:
        data = json.loads(text)
        if data.get("format") != MANIFEST_FORMAT or data.get("version") != MANIFEST_VERSION:
            raise ConfigError(f"{where}: not an s3ferry multipart manifest (version {MANIFEST_VERSION})")
        parts = tuple(PartURL(int(p["number"]), int(p["offset"]), int(p["size"]), str(p["url"]))
                      for p in data["parts"])
        manifest = Manifest(str(data["bucket"]), str(data["key"]), str(data["upload_id"]), int(data["size"]),
                            int(data["part_size"]), str(data["expires"]), parts, str(data["complete_url"]),
                            str(data["abort_url"]), str(data.get("check_url", "")))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{where}: malformed manifest ({exc})") from None
    expected = plan_manifest_parts(manifest.size, manifest.part_size)
    if [(p.number, p.offset, p.size) for p in manifest.parts] != expected:
        raise ConfigError(f"{where}: its parts do not cover {manifest.size} bytes in parts of {manifest.part_size}")
    urls = [p.url for p in manifest.parts] + [manifest.complete_url, manifest.abort_url]
    urls += [manifest.check_url] if manifest.check_url else []
    if not all(is_http_url(u) for u in urls):
        raise ConfigError(f"{where}: every URL must be http(s)")
    return manifest


def is_http_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def complete_body(part_etags: Sequence[tuple[int, str]]) -> bytes:
    """The XML body of CompleteMultipartUpload: parts in order, ETags quoted."""
    root = ElementTree.Element("CompleteMultipartUpload", xmlns=_NS[1:-1])
    for number, etag in sorted(part_etags):
        part = ElementTree.SubElement(root, "Part")
        ElementTree.SubElement(part, "PartNumber").text = str(number)
        ElementTree.SubElement(part, "ETag").text = f'"{etag.strip(chr(34))}"'
    return ElementTree.tostring(root, xml_declaration=True, encoding="utf-8")


def parse_s3_reply(body: bytes) -> dict[str, str]:
    """The children of an S3 XML reply (``CompleteMultipartUploadResult`` or ``Error``) as a
    flat dict, plus ``_root``. CompleteMultipartUpload may answer 200 with an ``<Error>``."""
    if not body.strip():
        return {"_root": ""}
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return {"_root": "unparsable", "Message": body[:200].decode("utf-8", "replace")}
    values = {child.tag.replace(_NS, ""): (child.text or "") for child in root}
    values["_root"] = root.tag.replace(_NS, "")
    return values


def complete_etag(body: bytes) -> str:
    """The ETag from a CompleteMultipartUpload reply; an ``<Error>`` reply raises. An empty
    ETag (Ceph) returns "": the caller must find the ETag elsewhere."""
    reply = parse_s3_reply(body)
    if reply["_root"] == "Error" or reply["_root"] == "unparsable":
        raise IntegrityError(f"complete failed: {reply.get('Code', '')} {reply.get('Message', '')}".strip())
    return reply.get("ETag", "").strip('"').lower()


def total_size(content_range: str | None, content_length: str | None) -> int:
    """The object's size from a ranged GET's ``Content-Range: bytes 0-0/TOTAL`` (or a full
    reply's Content-Length)."""
    if content_range:
        match = re.match(r"^bytes\s+(?:\d+-\d+|\*)/(\d+)$", content_range.strip())
        if match:
            return int(match.group(1))
        raise ValueError(f"unexpected Content-Range: {content_range!r}")
    if content_length is not None and content_length.isdigit():
        return int(content_length)
    raise ValueError("the reply says neither Content-Range nor Content-Length")


def url_label(url: str) -> str:
    """A presigned URL without its query string: the signature is a credential for a while,
    so it never goes into a message or a log."""
    return url.split("?", 1)[0]
