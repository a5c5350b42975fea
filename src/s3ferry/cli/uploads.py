"""`s3ferry uploads`: incomplete multipart uploads, billed until aborted."""

from __future__ import annotations

import json as jsonlib
from typing import Annotated, Optional

import typer

from s3ferry.cli import tuning
from s3ferry.cli.options import Command, Debug, Endpoint, Json, Profile, Region, enable_debug
from s3ferry.cli.running import guard, run_simple
from s3ferry.core.config import Config

api = tuning.lazy_import("s3ferry.api")
uploads = tuning.lazy_import("s3ferry.ops.uploads")

uploads_app = typer.Typer(help="Incomplete multipart uploads: they are billed until aborted.", no_args_is_help=True)
OlderThan = Annotated[Optional[str], typer.Option("--older-than", metavar="AGE",
                                                  help="Only uploads at least this old: 2d, 12h.")]
Where = Annotated[str, typer.Argument(metavar="WHERE", show_default=False,
                                      help="s3://bucket/key (exactly that key), or s3://bucket/prefix/ (all under it).")]


def _config(endpoint_url: str | None, profile: str | None, region: str | None, debug: bool) -> Config:
    if debug:
        enable_debug()
    return guard(lambda: Config(endpoint_url=endpoint_url, profile=profile, region=region))


@uploads_app.command("ls", cls=Command)
def uploads_ls(where: Where, older_than: OlderThan = None, endpoint_url: Endpoint = None, profile: Profile = None,
               region: Region = None, json: Json = False, debug: Debug = False) -> None:
    """List incomplete multipart uploads under a bucket or prefix.

    Examples:

      s3ferry uploads ls s3://bucket

      s3ferry uploads ls s3://bucket/backups/ --older-than 2d --json
    """
    config = _config(endpoint_url, profile, region, debug)
    age = guard(lambda: uploads.parse_age(older_than)) if older_than else None
    found = run_simple(lambda: api.list_uploads(where, older_than=age, config=config))
    for upload in found:  # type: ignore[attr-defined]
        line = {"bucket": upload.bucket, "key": upload.key, "upload_id": upload.upload_id,
                "initiated": upload.initiated.isoformat()}
        print(jsonlib.dumps(line) if json else f"{upload.initiated:%Y-%m-%d %H:%M} s3://{upload.bucket}/{upload.key} "
              f"{upload.upload_id}")
    if not found and not json:
        bucket, _, key = where[len("s3://"):].partition("/")
        print(f"no incomplete uploads under s3://{bucket}/{key}")


@uploads_app.command("abort", cls=Command)
def uploads_abort(where: Where, older_than: OlderThan = None, endpoint_url: Endpoint = None, profile: Profile = None,
                  region: Region = None, debug: Debug = False) -> None:
    """Abort incomplete multipart uploads: of exactly one key, or of every key under a prefix
    ending in / (optionally only old ones).

    Examples:

      s3ferry uploads abort s3://bucket/isos/big.iso   # that key only

      s3ferry uploads abort s3://bucket/ --older-than 7d
    """
    config = _config(endpoint_url, profile, region, debug)
    age = guard(lambda: uploads.parse_age(older_than)) if older_than else None
    aborted = run_simple(lambda: api.abort_uploads(where, older_than=age, config=config))
    print(f"aborted {len(aborted)} incomplete upload(s)")  # type: ignore[arg-type]


@uploads_app.command("lifecycle", cls=Command)
def uploads_lifecycle(bucket: Annotated[str, typer.Argument(metavar="BUCKET", help="s3://bucket")],
                      days: Annotated[int, typer.Option(help="Abort uploads this many days old.")] = 7,
                      endpoint_url: Endpoint = None, profile: Profile = None, region: Region = None,
                      debug: Debug = False) -> None:
    """Install the AbortIncompleteMultipartUpload lifecycle rule on a bucket, so the store
    aborts stale uploads itself (the bucket's other rules are kept).

    Examples:

      s3ferry uploads lifecycle s3://bucket

      s3ferry uploads lifecycle s3://bucket --days 2
    """
    config = _config(endpoint_url, profile, region, debug)
    run_simple(lambda: api.add_abort_rule(bucket, days=days, config=config))
    print(f"{bucket}: incomplete multipart uploads are aborted after {days} day(s)")
