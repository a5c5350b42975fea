"""s3ferry: an async, high-throughput S3 transfer engine that proves every byte arrived."""

import importlib

from s3ferry.core.config import Config, parse_size
from s3ferry.core.errors import (
    AccessError,
    ConfigError,
    EndpointError,
    IntegrityError,
    LocalIOError,
    NotFoundError,
    S3FerryError,
    SourceChangedError,
    TransferError,
    UnverifiableError,
)
from s3ferry.core.etag import composite_etag, etag_of_bytes, parse_etag
from s3ferry.core.results import Progress, Summary, TransferResult, Verdict

__version__ = "0.1.0"

# Loaded on first use (PEP 562): they pull in aiobotocore, ~0.5 s of imports that `s3ferry
# --help` and the pure-logic modules never need.
_LAZY = {name: ".api" for name in ("SyncReport", "abort_uploads", "add_abort_rule", "get", "list_uploads",
                                    "put", "sync", "verify",
                                    # issue 15: objects, streams, copies, presigned transfers
                                    "cat", "cp", "du", "get_presigned", "ls", "mv", "presign", "presign_multipart",
                                    "put_presigned", "put_stdin", "rm", "stat",
                                    # issue 14: two-way team sync
                                    "team_reset", "team_sync")} | {"IncompleteUpload": ".ops.uploads"}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 's3ferry' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "AccessError",
    "Config",
    "ConfigError",
    "EndpointError",
    "IncompleteUpload",
    "IntegrityError",
    "LocalIOError",
    "NotFoundError",
    "Progress",
    "S3FerryError",
    "SourceChangedError",
    "Summary",
    "SyncReport",
    "TransferError",
    "TransferResult",
    "UnverifiableError",
    "Verdict",
    "__version__",
    "abort_uploads",
    "add_abort_rule",
    "cat",
    "composite_etag",
    "cp",
    "du",
    "etag_of_bytes",
    "get",
    "get_presigned",
    "list_uploads",
    "ls",
    "mv",
    "parse_etag",
    "parse_size",
    "presign",
    "presign_multipart",
    "put",
    "put_presigned",
    "put_stdin",
    "rm",
    "stat",
    "sync",
    "team_reset",
    "team_sync",
    "verify",
]
