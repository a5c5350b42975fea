"""Where a bucket's requests go on an explicit endpoint URL, without botocore's endpoint rules.

botocore resolves S3 endpoints with a rule set (a large JSON file and its interpreter) that
only an S3 client can run, and building that client costs ~80 ms of CPU (the service model
and the rules are loaded and parsed): a one-file put paid it before its first request. For
an explicit endpoint with path or auto addressing the rules come down to one line: botocore
forces path style on a custom endpoint unless virtual style is asked for
(tests/unit/test_endpoints.py compares the result with botocore's own answer). Everything
else (AWS's endpoints, ARNs, S3 Express and access-point names, forced virtual style) gives
None: the caller then asks botocore.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit


@dataclass(frozen=True, slots=True)
class BucketEndpoint:
    base: str  # scheme://authority[/path]/bucket, no trailing '/'
    path: str  # the path part of base ('/bucket' or '/prefix/bucket')


def custom_endpoint(endpoint_url: str, addressing_style: str, bucket: str) -> BucketEndpoint | None:
    """The bucket's base URL on ``endpoint_url`` as botocore's rules give it, or None where
    those rules do more than this (then botocore must resolve it)."""
    if addressing_style not in ("path", "auto") or not bucket or bucket.startswith("arn:") or "--" in bucket:
        return None  # forced virtual style, ARNs, S3 Express / access-point aliases
    parts = urlsplit(endpoint_url)
    authority = parts.netloc
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in authority or parts.query \
            or parts.fragment:
        return None
    path = parts.path if parts.path.endswith("/") else f"{parts.path}/"  # the rules' normalizedPath
    base = f"{parts.scheme}://{authority}{path}{quote(bucket, safe='')}"
    return BucketEndpoint(base, urlsplit(base).path)
