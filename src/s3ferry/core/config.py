"""Limits, defaults and the one frozen configuration object.

Every number s3ferry relies on lives here, so that a change to a limit is a change
to one line (the httpx ``_config.py`` / rclone options-table idea).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Literal

from s3ferry.core.errors import ConfigError
from s3ferry.core.object_options import ObjectOptions

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

# S3 protocol limits (AWS documentation; moto and Ceph enforce the same).
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
MAX_SINGLE_PUT = 5 * GiB
LIST_PAGE_SIZE = 1_000
DELETE_BATCH = 1_000  # keys per DeleteObjects call

# Defaults.
DEFAULT_PART_SIZE = 8 * MiB
DEFAULT_MULTIPART_THRESHOLD = 8 * MiB
# Requests in flight. Small objects are latency-bound (the server's per-request time, not
# bytes, sets the pace): on a local Ceph a 2,000 x 64 KiB put ran 0.88-0.90x s5cmd (256
# workers) at 16 and 0.98-1.02x at 48, with the same client CPU (benchmarks/profile.md,
# "concurrency (session 6)"). Large files are bounded by the part budget below, not by this.
DEFAULT_MAX_CONCURRENCY = 48
# Bytes of upload part buffers held at once across all files, lent or free: parts beyond it
# wait for room, so the concurrency bounds the requests in flight and this the memory, whatever
# -c says. 48 MiB is 6 parts of 8 MiB: the 1 GiB put's peak RSS falls from ~220 to ~140 MiB
# at no cost in speed on a local Ceph (benchmarks/profile.md, "memory"). A larger --part-size
# still gets MIN_PARTS_IN_FLIGHT parts at once (the user chose the size; see Config.part_budget).
DEFAULT_PART_MEMORY = 48 * MiB
DEFAULT_PART_MEMORY_TEXT = f"{DEFAULT_PART_MEMORY // MiB}MiB"  # as --part-memory and `config show` print it
MIN_PARTS_IN_FLIGHT = 4
DEFAULT_MAX_ATTEMPTS = 5
# Seconds a failing request keeps being retried (with at least max_attempts tries): long
# enough to ride out a server restart (about 8 s for radosgw) with room to spare.
DEFAULT_RETRY_FOR = 60.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
# Bytes handed to a worker thread per write/hash hop while a GET streams in.
DOWNLOAD_CHUNK = 1 * MiB
# A single-PUT file up to this is read in the hop that opens it, outside the part budget (at
# most concurrency x this); a larger one waits for room in the part budget first.
DIRECT_READ = 1 * MiB
# A tree's single-PUT file up to this is opened, read and hashed on the event loop itself:
# cheaper in CPU than any thread hop (ops/put.py ``_opened``), ~0.1 ms of loop time at most.
INLINE_READ = 128 * 1024
# Files open at once in a directory transfer, per unit of concurrency: keeps memory flat
# for millions of files while keeping enough small files in flight.
FILES_PER_SLOT = 2
# Retry backoff: exponential with full jitter, capped.
RETRY_INITIAL_WAIT = 0.1
RETRY_MAX_WAIT = 5.0

# User-metadata key under which our uploads record their part size (x-amz-meta-...).
META_PART_SIZE = "s3ferry-part-size"
# ... and under which an S3 -> S3 copy records its source's ETag, so a later sync can tell an
# unchanged pair apart even when the copy could not keep the ETag (another part layout).
META_SOURCE_ETAG = "s3ferry-source-etag"
TEMP_SUFFIX = ".s3ferry.tmp"
# sync: deleted objects move under this prefix (below the destination); never synced itself.
TRASH_ROOT = ".s3ferry-trash/"
IGNORE_FILE = ".s3ferryignore"
# team-sync: the lease that makes team syncs of one prefix take turns writing (ops/teamsync_lease.py).
TEAM_LEASE_SECONDS = 60.0  # its life; the holder renews it every third of it
TEAM_LEASE_POLL = 0.5  # seconds between attempts to take it (randomised +-50%)
TEAM_CLOCK_SKEW = 10.0  # a lease counts as expired this long after its holder's clock said
TEAM_WAIT = 600.0  # default --wait: how long a team sync waits for another to finish
TEAM_MAX_DELETE = 50.0  # default --max-delete: percent of a side's files, as bisync
META_USER = "s3ferry-user"  # user metadata: who made this version (team-sync)
# Local files stat'ed per worker-thread hop while walking a tree.
WALK_BATCH = 256
# sync: files stat'ed and looked up in the hash cache per worker-thread hop (a no-op sync of
# an unchanged tree is nothing but these lookups).
CACHE_BATCH = 128
# Resume journal: where it lives unless Config.journal_dir says (then $XDG_CACHE_HOME/s3ferry/journal).
JOURNAL_ENV = "S3FERRY_JOURNAL_DIR"
# Bytes read per hop when re-hashing a stored part or an already-fetched range on resume.
HASH_BLOCK = 1 * MiB
# How far a multipart put hashes its parts ahead of their sends (ops/put_ahead.py): little enough
# that the bytes are still in the page cache when the send reads them again.
HASH_AHEAD = 256 * MiB
# `s3ferry bench`: a sweep that ends in well under a minute on a local server.
BENCH_SIZE = 256 * MiB
BENCH_EMBEDDED_SIZE = 64 * MiB  # moto is a test server: slow, and shares the client's cores
BENCH_PART_SIZES = (8 * MiB, 16 * MiB, 64 * MiB)
BENCH_CONCURRENCY = (4, 8, 16, 32)
BENCH_FILE_SIZE = 64 * KiB
BENCH_PREFIX = "s3ferry-bench/"
BENCH_EMBEDDED_BUCKET = "s3ferry-bench"
# Clean-up runs shielded from Ctrl-C, but not forever: aborting an upload, sweeping the
# uploads a lost CreateMultipartUpload reply (or a Ctrl-C mid-request) may have left, which
# looks twice, ORPHAN_SETTLE seconds apart, for a cut-off request that lands late.
ABORT_TIMEOUT = 30.0
# Attempts an abort gets at least, whatever --max-attempts says (store/multipart.py).
CLEANUP_ATTEMPTS = 3
ORPHAN_SWEEP_TIMEOUT = 30.0
ORPHAN_SETTLE = 1.0
BENCH_CLEANUP_TIMEOUT = 120.0
# Scale-out (sync --cluster): shards handed out per worker, as DistCp's dynamic strategy does,
# so fast workers take more; a stream-cut or manifest shard's keys; attempts before a shard is
# reported failed; causes a shard result keeps; delimiter units the driver holds to cut at
# (more: it cuts the streamed listing) and the folder levels it opens while it has too few.
SHARDS_PER_WORKER = 4
KEYS_PER_SHARD = 1_000
MANIFEST_KEYS_PER_SHARD = 1_000
MAX_SHARD_ATTEMPTS = 3
MAX_CAUSES_KEPT = 20
MAX_UNITS = 10_000
UNIT_EXPANSIONS = 3
MAX_LOCAL_WORKERS = 256
# Seconds to reach a Dask scheduler; seconds a stopped local worker has to clean up.
CLUSTER_CONNECT_TIMEOUT = 10
WORKER_STOP_TIMEOUT = 30.0
# Seconds the driver waits to fetch a finished shard's result (a few hundred bytes) from its
# Dask worker; past it the attempt counts as lost and the shard is run again.
SHARD_RESULT_TIMEOUT = 120.0
# --workers auto starts worker processes only for a tree of at least this many files or
# objects: below it, spawning them (about a second of CPU each) costs more than they gain.
AUTO_WORKERS_MIN_ITEMS = 1_000
TICK_SECONDS = 0.25  # how often a worker sends the driver its progress (objects, bytes)

ChecksumMode = Literal["off", "crc32", "crc32c", "crc64nvme"]
AddressingStyle = Literal["auto", "path", "virtual"]
# Which request path sends the hot requests (HEAD, GET, PUT, UploadPart): "lean" signs and
# sends them itself (store/lean.py, ~0.6 instead of ~1.4 ms of CPU each); "botocore" keeps
# aiobotocore's path for everything, for comparison and for stores the lean path cannot serve.
Engine = Literal["lean", "botocore"]
ENGINES = ("lean", "botocore")
DEFAULT_ENGINE: Engine = "lean"
# The lean engine's HTTP client on plain http endpoints: "raw" (store/http1.py, s3ferry's own
# HTTP/1.1 client: about half the CPU per request, benchmarks/profile.md "rawhttp") or
# "aiohttp". https and proxies stay on aiohttp either way.
HttpClient = Literal["aiohttp", "raw"]
HTTP_CLIENTS = ("aiohttp", "raw")
HTTP_ENV = "S3FERRY_HTTP"
DEFAULT_HTTP: HttpClient = "raw"


def _http_default() -> HttpClient:
    return os.environ.get(HTTP_ENV) or DEFAULT_HTTP  # type: ignore[return-value]


@dataclass(frozen=True, kw_only=True)
class Config:
    """Everything that tunes a transfer. Frozen: derive variants with :meth:`replace`."""

    part_size: int = DEFAULT_PART_SIZE
    multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    part_memory: int = DEFAULT_PART_MEMORY
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_for: float = DEFAULT_RETRY_FOR
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    addressing_style: AddressingStyle = "auto"
    # Extra whole-request checksum botocore adds on uploads. Our own Content-MD5 always goes
    # with every PUT, so "off" (botocore's "when_required") costs no safety and saves a CRC pass.
    checksum: ChecksumMode = "off"
    # SigV4 over plain http hashes every payload with SHA-256 unless told not to. Content-MD5
    # already protects the bytes, so by default we send UNSIGNED-PAYLOAD.
    sign_payload: bool = False
    verify: bool = True
    require_verify: bool = False
    # On Ctrl-C or a failure, keep multipart uploads, temporary files and the journal for a resume.
    keep_partial: bool = False
    # Tree walks follow symbolic links to files (and to folders outside the tree, once each).
    follow_symlinks: bool = True
    # The resume journal's folder (None: $S3FERRY_JOURNAL_DIR, else the user cache folder).
    journal_dir: str | None = None
    # Headers, metadata, tags, storage class, encryption and ACL of the objects written (put,
    # cp, mv, sync); copies keep the source's unless an option is given.
    object_options: ObjectOptions = ObjectOptions()
    engine: Engine = DEFAULT_ENGINE
    http: HttpClient = dataclasses.field(default_factory=_http_default)

    def __post_init__(self) -> None:
        _check(MIN_PART_SIZE <= self.part_size <= MAX_PART_SIZE,
               f"part size must be between 5 MiB and 5 GiB, got {self.part_size} bytes")
        _check(0 < self.multipart_threshold <= MAX_SINGLE_PUT,
               f"multipart threshold must be between 1 byte and 5 GiB, got {self.multipart_threshold}")
        _check(1 <= self.max_concurrency <= 1024,
               f"concurrency must be between 1 and 1024, got {self.max_concurrency}")
        _check(self.part_memory >= MIN_PART_SIZE,
               f"part memory must be at least 5 MiB, got {self.part_memory} bytes")
        _check(1 <= self.max_attempts <= 100,
               f"max attempts must be between 1 and 100, got {self.max_attempts}")
        _check(0 <= self.retry_for <= 86400 and self.retry_for == self.retry_for,
               f"retry time must be between 0 s and 24 h, got {self.retry_for}")
        _check(self.connect_timeout > 0 and self.read_timeout > 0, "timeouts must be positive")
        _check(self.engine in ENGINES, f"engine must be lean or botocore, got {self.engine!r}")
        _check(self.http in HTTP_CLIENTS, f"{HTTP_ENV} must be aiohttp or raw, got {self.http!r}")
        _check(self.addressing_style in ("auto", "path", "virtual"),
               f"addressing style must be auto, path or virtual, got {self.addressing_style!r}")
        _check(self.checksum in ("off", "crc32", "crc32c", "crc64nvme"),
               f"checksum must be off, crc32, crc32c or crc64nvme, got {self.checksum!r}")
        if self.endpoint_url is not None:
            _check(self.endpoint_url.startswith(("http://", "https://")),
                   f"endpoint URL must start with http:// or https://, got {self.endpoint_url!r}")

    def replace(self, **changes: object) -> Config:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def part_budget(self) -> int:
        """Bytes of part buffers an upload may hold at once: part_memory, or room for
        MIN_PARTS_IN_FLIGHT parts of the configured size if that is more, and never more than
        the concurrency could use. A part raised past the configured size (a file of over
        10,000 parts) gets fewer in flight: memory does not grow with the file."""
        wanted = max(self.part_memory, MIN_PARTS_IN_FLIGHT * self.part_size)
        return min(wanted, self.max_concurrency * self.part_size)

    def parts_in_flight(self, part_size: int) -> int:
        """Parts of ``part_size`` held in memory at once where each needs its own buffer (put -,
        cat, a manifest's parts): the part budget's worth, at least one, at most -c."""
        return max(1, min(self.max_concurrency, self.part_budget // max(1, part_size)))

    @property
    def pool_size(self) -> int:
        # aiobotocore defaults to 10 connections, which silently caps throughput below our
        # concurrency; leave headroom for HEAD/LIST/Complete calls beside the part traffic.
        return self.max_concurrency + 4


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


_UNITS = {"": 1, "b": 1, "k": KiB, "kb": KiB, "kib": KiB, "m": MiB, "mb": MiB, "mib": MiB,
          "g": GiB, "gb": GiB, "gib": GiB}


def parse_size(text: str) -> int:
    """Parse '8MiB', '8M', '1.5GiB', '5242880' into bytes (binary units, as aws-cli and rclone
    do). A size is a finite, non-negative, whole number of bytes: 'inf', 'nan', '1e400' and
    '1.5' (bytes) are refused, never rounded or overflowed."""
    raw = text.strip().lower().replace(" ", "")
    digits = raw.rstrip("kmgib")
    unit = raw[len(digits):]
    try:
        value = float(digits)
    except ValueError:
        raise ConfigError(f"not a size: {text!r} (try 8MiB)") from None
    if unit not in _UNITS or not math.isfinite(value) or value < 0 or "_" in digits:
        raise ConfigError(f"not a size: {text!r} (try 8MiB)")
    size = value * _UNITS[unit]
    if size != int(size):
        raise ConfigError(f"not a whole number of bytes: {text!r} (try 8MiB)")
    return int(size)


_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Parse '60s', '5m', '1h' or '90' (seconds) into seconds."""
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in ("s", "m", "h") else ""
    try:
        value = float(raw[:len(raw) - len(unit)])
    except ValueError:
        raise ConfigError(f"not a duration: {text!r} (try 60s or 5m)") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"not a duration: {text!r} (try 60s or 5m)")
    return value * _SECONDS[unit]
