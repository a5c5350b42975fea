"""The public async API: one function per operation, keyword-only options, typed results.

Everything a program may call is listed in ``__all__``; the modules behind it are grouped by
what they do (transfers, syncing, objects, presigned, team, uploads) and by what they all open (session)."""

from __future__ import annotations

import importlib

# Each name is loaded from its module on first use (PEP 562): a `put` then imports the
# transfer modules only, not team sync, presigned or object commands (~50 ms of CPU at
# start-up, in the CLI and in every worker process).
_MODULES = {
    ".objects": ("cat", "count_objects", "cp", "du", "ls", "mv", "put_stdin", "rm", "stat"),
    ".presigned": ("get_presigned", "presign", "presign_multipart", "put_presigned"),
    ".session": ("aws_profile", "default_user"),
    ".team": ("team_reset", "team_sync"),
    ".syncing": ("SyncReport", "migrate", "sync"),
    ".transfers": ("get", "put", "verify"),
    ".uploads": ("abort_uploads", "add_abort_rule", "list_uploads"),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module 's3ferry.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "SyncReport",
    "abort_uploads",
    "add_abort_rule",
    "aws_profile",
    "cat",
    "count_objects",
    "cp",
    "default_user",
    "du",
    "get",
    "get_presigned",
    "list_uploads",
    "ls",
    "migrate",
    "mv",
    "presign",
    "presign_multipart",
    "put",
    "put_presigned",
    "put_stdin",
    "rm",
    "stat",
    "sync",
    "team_reset",
    "team_sync",
    "verify",
]
