"""s3ferry: an async, high-throughput S3 transfer engine that proves every byte arrived."""

from .api import get, put, verify
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

__all__ = [
    "AccessError",
    "Config",
    "ConfigError",
    "EndpointError",
    "IntegrityError",
    "LocalIOError",
    "NotFoundError",
    "Progress",
    "S3FerryError",
    "SourceChangedError",
    "Summary",
    "TransferError",
    "TransferResult",
    "UnverifiableError",
    "Verdict",
    "__version__",
    "composite_etag",
    "etag_of_bytes",
    "get",
    "parse_etag",
    "parse_size",
    "put",
    "verify",
]
