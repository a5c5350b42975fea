"""s3ferry: an async, high-throughput S3 transfer engine that proves every byte arrived."""

import importlib
import sys
import types


from .config import Config, parse_size
from .errors import (
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
from .etag import composite_etag, etag_of_bytes, parse_etag
from .results import Progress, Summary, TransferResult, Verdict

__version__ = "0.1.0"

# Loaded on first use (PEP 562): they pull in aiobotocore, ~0.5 s of imports that `s3ferry
# --help` and the pure-logic modules never need.
_LAZY = {name: ".api" for name in ("SyncReport", "abort_uploads", "add_abort_rule", "get", "list_uploads",
                                    "put", "sync", "verify")} | {"IncompleteUpload": ".uploads"}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 's3ferry' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: object) -> None:
        # Importing the submodules s3ferry.sync / s3ferry.verify binds them on the package,
        # which would hide the functions of the same name that __getattr__ serves.
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


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
    "composite_etag",
    "etag_of_bytes",
    "get",
    "list_uploads",
    "parse_etag",
    "parse_size",
    "put",
    "sync",
    "verify",
]
