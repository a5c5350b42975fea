"""Team sync's local state, in LOCAL/.s3ferry-team/ (never synced as data):

- ``baseline.sqlite``: one row per path, the version this member last synced (size, ETag,
  MD5, the local stat it had, who made it and when); the URL the folder syncs with; the
  store's probed abilities; and ``pushed``, this member's remote changes not yet merged into
  the shared record (kept across a crash, merged by the next run).
- ``trash/STAMP/path``: local files deleted because a teammate deleted them.
- ``logs/STAMP.log``: one line per file that failed.

SQLite in WAL mode: every row is written as its transfer ends, so a sync killed at any point
keeps what it finished; the baseline is read back in path order (BINARY collation is the
UTF-8 byte order listings use) through a second connection that sees one snapshot.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from anyio import to_thread

from s3ferry.core.errors import ConfigError
from s3ferry.core.twoway import STATE_DIR, Base

SCHEMA = """
CREATE TABLE IF NOT EXISTS base (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, etag TEXT NOT NULL, md5 TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
    user TEXT NOT NULL, time REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pushed (path TEXT PRIMARY KEY, entry TEXT NOT NULL) WITHOUT ROWID;
"""
BASE_COLUMNS = "path, size, etag, md5, mtime_ns, ino, ctime_ns, user, time"
READ_BATCH = 512


class LocalState:
    """Rows are written from the event loop directly: one small WAL insert (no fsync) costs
    less than a hop to a worker thread."""

    def __init__(self, root: Path, folder: Path | None = None):
        """``folder``: where the state lives instead of LOCAL/.s3ferry-team/ (a dry run of a
        folder never synced keeps its empty baseline in a temporary folder)."""
        self.root = root
        self.dir = folder or root / STATE_DIR
        self.path = self.dir / "baseline.sqlite"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = _connect(self.path)
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- meta --------------------------------------------------------------------------

    def meta(self, key: str) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def bind(self, url: str) -> None:
        """A folder syncs with one prefix: another one would read every file as new there."""
        bound = self.meta("url")
        if bound is None:
            self.set_meta("url", url)
        elif bound != url:
            raise ConfigError(f"{self.root} team-syncs with {bound}, not {url} (run s3ferry reset to change)")

    # ---- the baseline --------------------------------------------------------------------

    def put(self, base: Base) -> None:
        with self._lock:
            self._db.execute(f"INSERT OR REPLACE INTO base ({BASE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                             (base.path, base.size, base.etag, base.md5, base.mtime_ns, base.ino, base.ctime_ns,
                              base.user, base.time))

    def forget(self, path: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM base WHERE path=?", (path,))

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM base").fetchone()[0])

    async def stream(self) -> AsyncIterator[Base]:
        """Every row in path order, read a batch per worker-thread hop from one snapshot, so
        rows written meanwhile by this run do not show up in it."""
        rows = self._rows()
        try:
            while batch := await to_thread.run_sync(lambda: [Base(*row) for row in _take(rows, READ_BATCH)]):
                for base in batch:
                    yield base
        finally:
            rows.close()

    def _rows(self) -> Iterator[tuple[Any, ...]]:
        reader = _connect(self.path)
        try:
            yield from reader.execute(f"SELECT {BASE_COLUMNS} FROM base ORDER BY path")
        finally:
            reader.close()

    # ---- changes not yet in the shared record -------------------------------------------

    def push(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO pushed VALUES (?, ?)", (entry["path"], json.dumps(entry)))

    def pushed(self) -> Iterator[dict[str, Any]]:
        reader = _connect(self.path)
        try:
            for (text,) in reader.execute("SELECT entry FROM pushed ORDER BY path"):
                yield json.loads(text)
        finally:
            reader.close()

    def has_pushed(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM pushed LIMIT 1").fetchone() is not None

    def clear_pushed(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM pushed")

    # ---- trash and logs -----------------------------------------------------------------

    def trash_path(self, path: str, stamp: str) -> Path:
        return self.dir / "trash" / stamp / path

    def log_failure(self, stamp: str, line: str) -> Path:
        log = self.dir / "logs" / f"{stamp}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8", errors="surrogateescape") as out:
            out.write(line.rstrip("\n") + "\n")
        return log


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def _take(rows: Iterator[tuple[Any, ...]], count: int) -> list[tuple[Any, ...]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == count:
            break
    return batch


def stat_of(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
