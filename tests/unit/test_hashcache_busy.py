"""The hash cache is only ever a shortcut: a database another process holds (two s3ferry runs
at once, local workers) never fails a transfer; the rows it could not write are hashed again."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from s3ferry.local.hashcache import WRITE_BATCH, HashCache


def test_a_locked_database_drops_the_batch_and_answers_not_known(tmp_path: Path) -> None:
    db = tmp_path / "hashes.sqlite"
    files = []
    for index in range(WRITE_BATCH):
        path = tmp_path / f"f{index}"
        path.write_bytes(b"x")
        files.append(path)
    with HashCache(db, busy_timeout=0.05) as cache:
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
        try:
            for path in files:  # the last one fills a batch: its write is refused, not raised
                cache.remember(path, os.stat(path), "e" * 32)
            assert not cache.knows(files[0], os.stat(files[0]), "e" * 32)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        cache.remember(files[0], os.stat(files[0]), "e" * 32)  # the lock is gone: written again
        assert cache.knows(files[0], os.stat(files[0]), "e" * 32)
    with HashCache(db) as again:
        assert again.knows(files[0], os.stat(files[0]), "e" * 32)
        assert not again.knows(files[1], os.stat(files[1]), "e" * 32)  # dropped: hashed next time


def test_a_database_that_cannot_be_read_answers_not_known(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    with HashCache(tmp_path / "hashes.sqlite") as cache:
        cache.remember(path, os.stat(path), "e" * 32)
        assert cache.knows(path, os.stat(path), "e" * 32)
        cache._db.execute("DROP TABLE known_etags")  # as a damaged or foreign file would answer
        assert not cache.knows(path, os.stat(path), "e" * 32)
