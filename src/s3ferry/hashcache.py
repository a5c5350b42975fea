"""A small local cache of file content hashes, so a re-sync of an unchanged tree hashes
nothing. Keyed by path, size, mtime_ns, inode and ctime_ns: any change to the file misses the
cache. ctime matters: a rewrite with the same size and its mtime set back (``os.utime``) keeps
all the others, but the kernel moves ctime and nobody can set it back. Safe to delete at any
time (it is only ever a shortcut)."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS hashes_v2 (
    path TEXT NOT NULL,
    part_size INTEGER NOT NULL,     -- 0: a single-PUT MD5
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    etag TEXT NOT NULL,
    PRIMARY KEY (path, part_size)
)
"""


def default_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "s3ferry" / "hashes.sqlite"


class HashCache:
    """Thread-safe: lookups and stores come from worker threads."""

    def __init__(self, path: Path | None = None):
        self.path = path or default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(SCHEMA)
        self.hits = 0
        self.misses = 0

    def get(self, path: Path, info: os.stat_result, part_size: int) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT etag FROM hashes_v2 WHERE path=? AND part_size=? AND size=? AND mtime_ns=? AND inode=?"
                " AND ctime_ns=?",
                (str(path), part_size, info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return str(row[0])

    def put(self, path: Path, info: os.stat_result, part_size: int, etag: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO hashes_v2 (path, part_size, size, mtime_ns, inode, ctime_ns, etag)"
                " VALUES (?,?,?,?,?,?,?)",
                (str(path), part_size, info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns, etag))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
