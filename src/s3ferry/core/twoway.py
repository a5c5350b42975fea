"""Two-way team sync decisions, pure: from a path's baseline (the version this member last
synced), its local file and its remote object, derive the one thing to do.

Content decides what changed: a local file whose stat differs from the baseline is hashed
(``Act.HASH``) before it counts as edited, and a remote object changed when its ETag did.
Nothing is ever overwritten or deleted on a guess: when both sides changed, either their
bytes are proven equal (then only the baseline moves on) or both versions are kept
(``Act.CONFLICT``). A deletion propagates only over an unchanged file; a first sync (no
baseline) is the union of both sides and deletes nothing.

The truth table (B = baseline entry, L = local, R = remote):

=========  ===========  ===========  ====================================================
B          L            R            action
=========  ===========  ===========  ====================================================
absent     absent       absent       (never met)
absent     present      absent       UPLOAD, If-None-Match: *
absent     absent       present      DOWNLOAD, If-Match: R
absent     present      present      same bytes: RECORD; else CONFLICT (COMPARE first)
present    unchanged    unchanged    NOTHING
present    unchanged    changed      DOWNLOAD, If-Match: R
present    unchanged    deleted      DELETE_LOCAL (to the local trash)
present    changed      unchanged    UPLOAD, If-Match: B
present    changed      changed      same bytes: RECORD; else CONFLICT (COMPARE first)
present    changed      deleted      UPLOAD, If-None-Match: * (the edit survives, reported)
present    deleted      unchanged    DELETE_REMOTE (to the deleted area, if still B)
present    deleted      changed      DOWNLOAD, If-Match: R (the edit survives, reported)
present    deleted      deleted      FORGET
=========  ===========  ===========  ====================================================

"changed" on the local side needs the file's MD5 whenever its stat differs from the
baseline's; until the caller supplies it, the answer is HASH.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

# The reserved folder, both under the prefix and in the local folder: state, deleted area,
# trash, logs. Never listed as data on either side.
STATE_DIR = ".s3ferry-team/"
CONFLICT_MARK = ".conflict-"


@dataclass(frozen=True, slots=True)
class Base:
    """The version of ``path`` this member last synced: the same bytes on both sides."""

    path: str
    size: int
    etag: str  # the remote ETag, unquoted
    md5: str  # hex MD5 of the whole local file
    mtime_ns: int  # the local file's stat when it was recorded: equal stat, unchanged file
    ino: int
    ctime_ns: int
    user: str = ""  # who made this version
    time: float = 0.0  # when it was synced (epoch seconds)


@dataclass(frozen=True, slots=True)
class Local:
    path: str
    size: int
    mtime_ns: int
    ino: int
    ctime_ns: int
    md5: str | None = None  # None: not hashed (yet)


@dataclass(frozen=True, slots=True)
class Remote:
    path: str
    size: int
    etag: str  # unquoted
    mtime: float = 0.0  # LastModified, epoch seconds


class Act(str, enum.Enum):
    NOTHING = "nothing"
    HASH = "hash"  # the local file's stat changed: hash it, then decide again
    COMPARE = "compare"  # both sides have new bytes of one size: compare contents, then resolve
    UPLOAD = "upload"
    DOWNLOAD = "download"
    DELETE_REMOTE = "delete-remote"
    DELETE_LOCAL = "delete-local"
    CONFLICT = "conflict"  # keep both: the remote version lands beside the local one
    RECORD = "record"  # both sides already hold the same bytes: only the baseline moves on
    FORGET = "forget"  # gone on both sides: drop the baseline entry


class Change(str, enum.Enum):
    ABSENT = "absent"  # not there, and not in the baseline
    NEW = "new"  # there, and not in the baseline
    UNCHANGED = "unchanged"
    CHANGED = "changed"
    DELETED = "deleted"
    UNKNOWN = "unknown"  # stat differs; the content must tell


@dataclass(frozen=True, slots=True)
class Decision:
    act: Act
    path: str
    reason: str
    base: Base | None
    local: Local | None
    remote: Remote | None
    # Conditions for the write this decision makes: If-Match on this ETag (an update or the
    # object a delete or download expects), or If-None-Match: * (a new key) when it is None.
    expect: str | None = None
    kept: bool = False  # a deletion on one side lost to an edit on the other: report it


def unquote(etag: str | None) -> str:
    return (etag or "").strip().strip('"')


def local_change(base: Base | None, local: Local | None) -> Change:
    if local is None:
        return Change.ABSENT if base is None else Change.DELETED
    if base is None:
        return Change.NEW
    if (local.size, local.mtime_ns, local.ino, local.ctime_ns) == (base.size, base.mtime_ns, base.ino, base.ctime_ns):
        return Change.UNCHANGED  # the kernel moves ctime on every write, and nobody can set it back
    if local.size != base.size:
        return Change.CHANGED
    if local.md5 is None:
        return Change.UNKNOWN
    return Change.UNCHANGED if local.md5 == base.md5 else Change.CHANGED


def remote_change(base: Base | None, remote: Remote | None) -> Change:
    if remote is None:
        return Change.ABSENT if base is None else Change.DELETED
    if base is None:
        return Change.NEW
    return Change.UNCHANGED if unquote(remote.etag) == unquote(base.etag) else Change.CHANGED


def same_bytes(local: Local, remote: Remote) -> bool | None:
    """Can the pair be judged without reading the object? A single-PUT ETag is the MD5."""
    if local.size != remote.size:
        return False
    etag = unquote(remote.etag)
    if local.md5 is None or "-" in etag or not re.fullmatch(r"[0-9a-f]{32}", etag):
        return None
    return local.md5 == etag


def decide(base: Base | None, local: Local | None, remote: Remote | None) -> Decision:
    """The action for one path (see the module's truth table)."""
    path = (base or local or remote).path  # type: ignore[union-attr]
    here, there = local_change(base, local), remote_change(base, remote)
    d = Decision(Act.NOTHING, path, "unchanged", base, local, remote)
    if here is Change.UNKNOWN:
        return replace(d, act=Act.HASH, reason="stat changed: hashing")
    etag = unquote(remote.etag) if remote else None
    if here in (Change.NEW, Change.CHANGED) and there in (Change.NEW, Change.CHANGED):
        return _both(d, here, there)
    if there is Change.UNCHANGED or there is Change.ABSENT:
        return _local_only(d, here, etag)
    if here is Change.UNCHANGED or here is Change.ABSENT:
        return _remote_only(d, there, etag)
    if here is Change.DELETED and there is Change.CHANGED:
        return replace(d, act=Act.DOWNLOAD, reason="deleted here but changed there: kept", expect=etag, kept=True)
    if here is Change.CHANGED and there is Change.DELETED:
        return replace(d, act=Act.UPLOAD, reason="deleted there but changed here: kept", expect=None, kept=True)
    if here is Change.DELETED and there is Change.DELETED:
        return replace(d, act=Act.FORGET, reason="deleted on both sides")
    raise AssertionError(f"no rule for {path}: local {here}, remote {there}")  # pragma: no cover


def _local_only(d: Decision, here: Change, etag: str | None) -> Decision:
    """The remote side did not change since the baseline (or never had the path)."""
    if here is Change.NEW:
        return replace(d, act=Act.UPLOAD, reason="new here", expect=None)
    if here is Change.CHANGED:
        return replace(d, act=Act.UPLOAD, reason="changed here", expect=etag)
    if here is Change.DELETED:
        return replace(d, act=Act.DELETE_REMOTE, reason="deleted here", expect=etag)
    return d


def _remote_only(d: Decision, there: Change, etag: str | None) -> Decision:
    """The local side did not change since the baseline (or never had the path)."""
    if there in (Change.NEW, Change.CHANGED):
        return replace(d, act=Act.DOWNLOAD, reason=f"{there.value} there", expect=etag)
    if there is Change.DELETED:
        return replace(d, act=Act.DELETE_LOCAL, reason="deleted there")
    return d


def _both(d: Decision, here: Change, there: Change) -> Decision:
    assert d.local is not None and d.remote is not None
    etag = unquote(d.remote.etag)
    same = same_bytes(d.local, d.remote)
    if same is None:
        return replace(d, act=Act.COMPARE, reason="changed on both sides: comparing", expect=etag)
    return resolve(replace(d, expect=etag), same)


def resolve(d: Decision, same: bool | None) -> Decision:
    """A COMPARE (or a pair judged without reading) resolved: equal bytes need no transfer;
    different ones, or ones no hash can compare, are a conflict (both kept)."""
    if same is True:
        return replace(d, act=Act.RECORD, reason="same bytes on both sides")
    why = "changed on both sides" if same is False else "changed on both sides (no comparable hash)"
    return replace(d, act=Act.CONFLICT, reason=why)


# ---- names ----------------------------------------------------------------------------

def stamp(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y%m%dT%H%M%SZ")


def conflict_name(path: str, user: str, when: float) -> str:
    """``dir/name.ext`` -> ``dir/name.conflict-USER-DATE.ext``: beside the original, with the
    extension kept so that the file still opens with its program. ``when`` is the conflicting
    version's time, so two members who meet the same conflict choose the same name."""
    folder, _, name = path.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if not stem:  # no extension, or a dotfile such as ".env"
        stem, dot, ext = name, "", ""
    safe_user = re.sub(r"[^A-Za-z0-9_.@+-]", "_", user or "unknown") or "unknown"
    renamed = f"{stem}{CONFLICT_MARK}{safe_user}-{stamp(when)}{dot}{ext}"
    return f"{folder}/{renamed}" if folder else renamed


def is_reserved(path: str) -> bool:
    """State, deleted area and trash: never data, on either side."""
    return path == STATE_DIR.rstrip("/") or path.startswith(STATE_DIR)
