"""The public async API: one function per operation, keyword-only options, typed results.

Everything a program may call is listed in ``__all__``; the modules behind it are grouped by
what they do (transfers, objects, presigned, team, uploads) and by what they all open (session)."""

from __future__ import annotations

from s3ferry.api.objects import cat, count_objects, cp, du, ls, mv, put_stdin, rm, stat
from s3ferry.api.presigned import get_presigned, presign, presign_multipart, put_presigned
from s3ferry.api.session import aws_profile, default_user
from s3ferry.api.team import team_reset, team_sync
from s3ferry.api.transfers import SyncReport, get, migrate, put, sync, verify
from s3ferry.api.uploads import abort_uploads, add_abort_rule, list_uploads

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
