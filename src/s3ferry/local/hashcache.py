"""A small local cache of which ETags a local file is known to have, so a re-sync of an
unchanged tree hashes nothing. An entry is written only after bytes were proven equal (a
verified transfer or comparison), so it holds for whatever part layout made that ETag. Keyed by path, size, mtime_ns, inode and ctime_ns: any change to the file misses the
cache. ctime matters: a rewrite with the same size and its mtime set back (``os.utime``) keeps
all the others, but the kernel moves ctime and nobody can set it back. Safe to delete at any
time (it is only ever a shortcut)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS known_etags (
    path TEXT NOT NULL,
    etag TEXT NOT NULL,             -- as S3 shows it: md5 hex, or md5 hex + "-N"
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    PRIMARY KEY (path, etag)
)
"""


def user_cache_dir() -> Path:
    """s3ferry's folder in the user's cache ($XDG_CACHE_HOME, else ~/.cache): the hash cache
    and, unless told otherwise, the resume journal live there."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "s3ferry"


def default_path() -> Path:
    return user_cache_dir() / "hashes.sqlite"


def _key(path: Path) -> str:
    # Absolute, so "./tree/a" put and "tree/a" synced are one file.
    return os.path.abspath(path)


# Rows remembered are written this many at a time, in one transaction: a commit per row
# cost more than the transfer's own bookkeeping for a small file. Rows not yet written are
# lost only if the process dies without closing the cache: then the next sync hashes those
# files again (the cache is only ever a shortcut, so nothing wrong can follow).
WRITE_BATCH = 64


class HashCache:
    """Thread-safe: lookups come from worker threads; ``remember`` is cheap enough to call from
    the event loop (it only queues the row, and writes a batch of them now and then)."""

    def __init__(self, path: Path | None = None, busy_timeout: float = 5.0):
        self.path = path or default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # busy_timeout: how long a write waits for another process's (s3ferry's on this machine,
        # or a worker's) to end before its batch is dropped.
        self._db = sqlite3.connect(self.path, timeout=busy_timeout, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(SCHEMA)
        self._pending: list[tuple[str, str, int, int, int, int]] = []
        self.hits = 0
        self.misses = 0

    def knows(self, path: Path, info: os.stat_result, etag: str) -> bool:
        """Is ``path``, exactly as ``info`` describes it, known to have ``etag``?"""
        with self._lock:
            try:
                self._flush()  # a file remembered a moment ago is known
                row = self._db.execute(
                    "SELECT 1 FROM known_etags WHERE path=? AND etag=? AND size=? AND mtime_ns=? AND inode=?"
                    " AND ctime_ns=?",
                    (_key(path), etag, info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)).fetchone()
            except sqlite3.Error:  # locked by another s3ferry past the busy timeout, a full disk
                row = None  # not known, then: the file is hashed
        if row is None:
            self.misses += 1
            return False
        self.hits += 1
        return True

    def remember(self, path: Path, info: os.stat_result, etag: str) -> None:
        """``path``, as ``info`` describes it (stat'ed before its bytes were read, or after a
        download wrote them), holds ``etag``."""
        with self._lock:
            self._pending.append((_key(path), etag, info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns))
            if len(self._pending) >= WRITE_BATCH:
                self._flush()

    def remember_written(self, path: Path, etag: str) -> None:
        """``path`` was just written (or sent) and proven to hold ``etag``: stat'ed now. A file
        gone or replaced since is left out: the cache is only ever a shortcut."""
        try:
            self.remember(path, os.stat(path), etag)
        except OSError:
            pass

    def _flush(self) -> None:
        """Write the pending rows. A batch the database refuses (another s3ferry holding it past
        the busy timeout, a full disk) is dropped: those files are hashed again next time, and
        a transfer never fails for its shortcut."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        try:
            self._db.execute("BEGIN")  # one transaction (the connection autocommits otherwise)
            self._db.executemany(
                "INSERT OR REPLACE INTO known_etags (path, etag, size, mtime_ns, inode, ctime_ns)"
                " VALUES (?,?,?,?,?,?)", rows)
            self._db.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
            if not isinstance(exc, sqlite3.Error):
                raise

    def close(self) -> None:
        with self._lock:
            try:
                self._flush()
            finally:
                self._db.close()

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
