"""The one exception tree. The CLI catches only :class:`S3FerryError` and prints one line.

Exit codes are part of the contract (README, "Exit codes").
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_MISMATCH = 3
EXIT_NOT_FOUND = 4
EXIT_ACCESS = 5
EXIT_ENDPOINT = 6
EXIT_LOCAL_IO = 7
EXIT_INTERRUPTED = 130


class S3FerryError(Exception):
    """Root of every error s3ferry raises on purpose."""

    exit_code = EXIT_FAILED


class ConfigError(S3FerryError):
    """A setting, option or URL is malformed."""

    exit_code = EXIT_USAGE


class NotFoundError(S3FerryError):
    """A local file, bucket or key does not exist."""

    exit_code = EXIT_NOT_FOUND


class AccessError(S3FerryError):
    """Credentials are missing or wrong, or a permission is denied (locally or remotely)."""

    exit_code = EXIT_ACCESS


class EndpointError(S3FerryError):
    """The endpoint cannot be reached."""

    exit_code = EXIT_ENDPOINT


class LocalIOError(S3FerryError):
    """Reading or writing the local disk failed (unreadable file, disk full, ...)."""

    exit_code = EXIT_LOCAL_IO


class IntegrityError(S3FerryError):
    """Bytes did not match their checksum: the transfer is rejected."""

    exit_code = EXIT_MISMATCH


class RangeIntegrityError(IntegrityError):
    """One range or part arrived short or corrupt (in either direction); worth another attempt."""


class UnsafeKeyError(S3FerryError):
    """A listed key would be written outside the destination folder (``..``, absolute)."""


class SourceChangedError(S3FerryError):
    """The source changed while it was being transferred."""


class UnverifiableError(S3FerryError):
    """Verification was required but the object carries no comparable hash."""

    exit_code = EXIT_MISMATCH


class TransferError(S3FerryError):
    """One transfer failed. Carries what the CLI prints: op, source, destination, cause."""

    def __init__(self, op: str, source: str, destination: str, cause: BaseException | str):
        self.op = op
        self.source = source
        self.destination = destination
        self.cause = cause
        if isinstance(cause, S3FerryError):
            self.exit_code = cause.exit_code
        super().__init__(f"{op} {source} -> {destination}: {describe(cause)}")


def describe(cause: BaseException | str) -> str:
    """One line, no traceback, for any cause."""
    if isinstance(cause, str):
        return cause
    text = str(cause).strip().splitlines()
    first = text[0] if text else ""
    return first or type(cause).__name__
