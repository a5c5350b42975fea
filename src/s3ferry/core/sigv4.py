"""AWS Signature Version 4 for S3 requests (pure: strings and HMACs, no I/O).

botocore's ``S3SigV4Auth`` is the reference (a unit test checks byte-identical Authorization
headers against it); this one exists because that one rebuilds everything per request: an
``AWSRequest``, a header map, a URL split, and the four-HMAC signing key. Here the key is
derived once per day, region and secret, the timestamp once per second, and the headers
arrive already lower-cased, so a signature costs two SHA-256 and one HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# Sent by HTTP clients but never signed (botocore's SIGNED_HEADERS_BLACKLIST).
UNSIGNED_HEADERS = frozenset({"expect", "transfer-encoding", "user-agent", "x-amzn-trace-id", "authorization"})


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None


def quote_key(key: str) -> str:
    """A key as it goes in the URL path and the canonical URI: S3 signs the path as sent,
    encoded once, '/' kept (botocore's serializer: ``percent_encode(key, safe='/~')``)."""
    return quote(key, safe="/~")


def canonical_query(params: Mapping[str, str]) -> str:
    """Sorted by encoded name then value, both encoded with only unreserved characters kept."""
    pairs = sorted((quote(k, safe="-_.~"), quote(str(v), safe="-_.~")) for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


# The signed names in order and their SignedHeaders text, per set of header names as sent: the
# lean path sends the same few sets over and over (a put's, a get's, a head's), so the sort and
# the join are done once per set. Bounded: user metadata names could make many sets.
_ORDER: dict[tuple[str, ...], tuple[list[str], str]] = {}
_ORDER_LIMIT = 256


def _signed_names(headers: Mapping[str, str]) -> tuple[list[str], str]:
    index = tuple(headers)
    order = _ORDER.get(index)
    if order is None:
        names = sorted(n for n in headers if n not in UNSIGNED_HEADERS)
        if len(_ORDER) >= _ORDER_LIMIT:
            _ORDER.clear()
        order = _ORDER[index] = (names, ";".join(names))
    return order


def canonical_request(method: str, path: str, query: str, headers: Mapping[str, str],
                      payload_hash: str) -> tuple[str, str]:
    """The canonical request and its SignedHeaders list. ``headers`` names are lower-case;
    ``path`` is already encoded (quote_key) and S3 signs it without normalising. Values are
    trimmed and inner runs of whitespace folded to one space, as botocore does."""
    names, signed = _signed_names(headers)
    lines = "".join([f"{n}:{' '.join(headers[n].split())}\n" for n in names])
    return f"{method}\n{path}\n{query}\n{lines}\n{signed}\n{payload_hash}", signed


def derive_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = hmac.digest(f"AWS4{secret_key}".encode(), date.encode(), "sha256")
    for part in (region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


class SigningKeys:
    """The derived key depends only on secret, day, region and service: four HMACs saved per
    request. Holds the last few keys (a refreshed secret or a new day replaces them)."""

    LIMIT = 8

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str, str, str], bytes] = {}
        self.derived = 0  # how many keys were derived (for tests)

    def get(self, secret_key: str, date: str, region: str, service: str) -> bytes:
        index = (secret_key, date, region, service)
        key = self._keys.get(index)
        if key is None:
            if len(self._keys) >= self.LIMIT:
                self._keys.pop(next(iter(self._keys)))
            key = self._keys[index] = derive_key(secret_key, date, region, service)
            self.derived += 1
        return key


class Clock:
    """The x-amz-date stamp, formatted once per second rather than per request."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._second = -1
        self._stamp = ""

    def stamp(self) -> str:
        second = int(self._now())
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
        return self._stamp


class Signer:
    """Signs S3 requests for one region and service with whatever credentials each call
    passes (they may be refreshed between calls)."""

    def __init__(self, region: str, service: str = "s3", keys: SigningKeys | None = None) -> None:
        self.region = region
        self.service = service
        self.keys = keys or SigningKeys()
        self._date = ""
        self._scope = ""

    def scope(self, date: str) -> str:
        """The credential scope, built once a day (the date is the stamp's first 8 characters)."""
        if date != self._date:
            self._date, self._scope = date, f"{date}/{self.region}/{self.service}/aws4_request"
        return self._scope

    def sign(self, credentials: Credentials, method: str, path: str, query: str, headers: dict[str, str],
             stamp: str, payload_hash: str = UNSIGNED_PAYLOAD) -> dict[str, str]:
        """Add x-amz-date, x-amz-content-sha256, the session token and Authorization to
        ``headers`` (lower-case names, 'host' included) and return it."""
        headers["x-amz-date"] = stamp
        headers["x-amz-content-sha256"] = payload_hash
        if credentials.token:
            headers["x-amz-security-token"] = credentials.token
        request, signed = canonical_request(method, path, query, headers, payload_hash)
        date = stamp[:8]
        scope = self.scope(date)
        to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(request.encode()).hexdigest()}"
        key = self.keys.get(credentials.secret_key, date, self.region, self.service)
        signature = hmac.digest(key, to_sign.encode(), "sha256").hex()  # one C call; hmac.new is three
        headers["authorization"] = (f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
                                    f"SignedHeaders={signed}, Signature={signature}")
        return headers

