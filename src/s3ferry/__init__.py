"""s3ferry: an async, high-throughput S3 transfer engine that proves every byte arrived."""

from .api import SyncReport, abort_uploads, add_abort_rule, get, list_uploads, put, sync, verify
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
from .uploads import IncompleteUpload
from .results import Progress, Summary, TransferResult, Verdict

__version__ = "0.1.0"

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
