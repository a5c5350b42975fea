"""The resume journal: one small JSON file per interrupted multipart put or multi-range get,
so re-running the same command picks up where the last run stopped.

A put records its upload id and the source's identity (size, mtime, inode): the store's
ListParts says which parts arrived, so the put entry is written once. A get records the
object's identity (size, ETag), the range size and which ranges are in the temporary file.
Files are replaced atomically (write, rename), so a reader sees an old entry or a new one,
never half of one. Safe to delete at any time: a put then finds its upload by key
(ListMultipartUploads), a get starts over. Blocking: call from a worker thread.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from s3ferry.core.config import JOURNAL_ENV, Config
from s3ferry.local.hashcache import user_cache_dir

log = logging.getLogger("s3ferry")
VERSION = 1


@dataclass(frozen=True, slots=True)
class PutRecord:
    bucket: str
    key: str
    upload_id: str
    part_size: int
    source: str
    size: int
    mtime_ns: int
    inode: int
    checksum: str = "off"  # Config.checksum the upload was created with

    def same_source(self, info: os.stat_result, part_size: int, checksum: str = "off") -> bool:
        """Is the file still the one whose parts the upload holds, cut (and checksummed) the same way?"""
        return (self.size, self.mtime_ns, self.inode, self.part_size, self.checksum) == \
            (info.st_size, info.st_mtime_ns, info.st_ino, part_size, checksum)


@dataclass(frozen=True, slots=True)
class GetRecord:
    bucket: str
    key: str
    size: int
    etag: str  # normalized
    destination: str
    range_size: int
    done: str  # RangeSet.encode(): which ranges are in the temporary file


Record = TypeVar("Record", PutRecord, GetRecord)


def journal_dir(config: Config) -> Path:
    if config.journal_dir:
        return Path(config.journal_dir)
    if os.environ.get(JOURNAL_ENV):
        return Path(os.environ[JOURNAL_ENV])
    return user_cache_dir() / "journal"


class Journal:
    def __init__(self, directory: Path):
        self.directory = directory

    def entry(self, op: str, bucket: str, key: str, local: Path) -> Path:
        """Where the entry of one transfer lives: named by what the command names (not by
        the endpoint, so a re-run through another URL of the same store still finds it)."""
        identity = "\0".join((op, bucket, key, str(Path(local).absolute())))
        return self.directory / f"{op}-{hashlib.sha256(identity.encode()).hexdigest()[:32]}.json"

    def load(self, path: Path, kind: type[Record]) -> Record | None:
        """The entry, or None when missing, unreadable or not of ``kind`` (as if deleted)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.pop("version", None) != VERSION or data.pop("kind", None) != kind.__name__:
                return None
            return kind(**data)
        except (OSError, ValueError, TypeError):
            return None

    def save(self, path: Path, record: PutRecord | GetRecord, durable: bool = False) -> bool:
        """Replace the entry atomically. ``durable`` also survives power loss (an fsync); a
        get's frequent updates skip it, since its final verification catches a stale entry.
        Best effort: a journal that cannot be written costs only the resume."""
        data = {"version": VERSION, "kind": type(record).__name__, **dataclasses.asdict(record)}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle)
                    if durable:
                        handle.flush()
                        os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                _unlink(Path(tmp))
                raise
        except OSError as exc:
            log.warning("could not write the resume journal %s (%s); this transfer cannot be resumed", path, exc)
            return False
        return True

    def remove(self, path: Path) -> None:
        _unlink(path)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove the resume journal entry %s (%s)", path, exc)
