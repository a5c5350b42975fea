"""uploads: incomplete multipart uploads (billed until aborted)."""

from __future__ import annotations

import json as jsonlib
from typing import Annotated, Optional

import typer

from s3ferry.cli import tuning
from s3ferry.cli.options import Endpoint, Json, Profile, Region
from s3ferry.cli.running import guard, run_simple
from s3ferry.core.config import Config

api = tuning.lazy_import("s3ferry.api")
uploads = tuning.lazy_import("s3ferry.ops.uploads")

uploads_app = typer.Typer(help="Incomplete multipart uploads: they are billed until aborted.", no_args_is_help=True)
OlderThan = Annotated[Optional[str], typer.Option("--older-than", help="Only uploads at least this old: 2d, 12h.")]


@uploads_app.command("ls")
def uploads_ls(where: Annotated[str, typer.Argument(help="s3://bucket or s3://bucket/prefix")], older_than: OlderThan = None,
               endpoint_url: Endpoint = None, profile: Profile = None, region: Region = None,
               json: Json = False) -> None:
    """List incomplete multipart uploads."""
    config = guard(lambda: Config(endpoint_url=endpoint_url, profile=profile, region=region))
    age = guard(lambda: uploads.parse_age(older_than)) if older_than else None
    found = run_simple(lambda: api.list_uploads(where, older_than=age, config=config))
    for upload in found:  # type: ignore[attr-defined]
        line = {"bucket": upload.bucket, "key": upload.key, "upload_id": upload.upload_id,
                "initiated": upload.initiated.isoformat()}
        print(jsonlib.dumps(line) if json else f"{upload.initiated:%Y-%m-%d %H:%M} s3://{upload.bucket}/{upload.key} "
              f"{upload.upload_id}")


@uploads_app.command("abort")
def uploads_abort(where: Annotated[str, typer.Argument(help="s3://bucket or s3://bucket/prefix")], older_than: OlderThan = None,
                  endpoint_url: Endpoint = None, profile: Profile = None, region: Region = None) -> None:
    """Abort incomplete multipart uploads (optionally only old ones)."""
    config = guard(lambda: Config(endpoint_url=endpoint_url, profile=profile, region=region))
    age = guard(lambda: uploads.parse_age(older_than)) if older_than else None
    aborted = run_simple(lambda: api.abort_uploads(where, older_than=age, config=config))
    print(f"aborted {len(aborted)} incomplete upload(s)")  # type: ignore[arg-type]


@uploads_app.command("lifecycle")
def uploads_lifecycle(bucket: Annotated[str, typer.Argument(help="s3://bucket")],
                      days: Annotated[int, typer.Option(help="Abort uploads this many days old.")] = 7,
                      endpoint_url: Endpoint = None, profile: Profile = None, region: Region = None) -> None:
    """Install the AbortIncompleteMultipartUpload lifecycle rule on a bucket."""
    config = guard(lambda: Config(endpoint_url=endpoint_url, profile=profile, region=region))
    run_simple(lambda: api.add_abort_rule(bucket, days=days, config=config))
    print(f"{bucket}: incomplete multipart uploads are aborted after {days} day(s)")
