"""The object options (headers, metadata, tags, storage class, encryption, ACL) that put, cp,
mv and sync take, added to a command by @object_options."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer

from s3ferry.core.errors import EXIT_USAGE, S3FerryError
from s3ferry.core.object_options import ObjectOptions, parse_metadata, parse_pairs

Text = Optional[str]
OBJECT_OPTIONS: dict[str, tuple[object, object]] = {
    "content_type": (Annotated[Text, typer.Option(help="Content-Type (default: guessed from the name; "
                                                       "copies keep the source's).")], None),
    "content_disposition": (Annotated[Text, typer.Option(
        help="Content-Disposition, e.g. 'attachment; filename=report.pdf'.")], None),
    "cache_control": (Annotated[Text, typer.Option(help="Cache-Control, e.g. max-age=3600.")], None),
    "content_encoding": (Annotated[Text, typer.Option(help="Content-Encoding, e.g. gzip.")], None),
    "metadata": (Annotated[Optional[list[str]], typer.Option(help="User metadata KEY=VALUE (repeatable).")], None),
    "tag": (Annotated[Optional[list[str]], typer.Option(help="Object tag KEY=VALUE (repeatable).")], None),
    "storage_class": (Annotated[Text, typer.Option(help="STANDARD, STANDARD_IA, GLACIER_IR, ...")], None),
    "sse": (Annotated[Text, typer.Option(help="Server-side encryption: AES256 or aws:kms.")], None),
    "sse_kms_key_id": (Annotated[Text, typer.Option(help="KMS key for --sse aws:kms.")], None),
    "acl": (Annotated[Text, typer.Option(help="Canned ACL, where the store supports it.")], None),
}


def build_object_options(values: dict[str, Any]) -> ObjectOptions:
    return ObjectOptions(
        content_type=values["content_type"], content_disposition=values["content_disposition"],
        cache_control=values["cache_control"], content_encoding=values["content_encoding"],
        metadata=parse_metadata(values["metadata"] or ()), tags=parse_pairs(values["tag"] or (), "tag"),
        storage_class=values["storage_class"], sse=values["sse"], sse_kms_key_id=values["sse_kms_key_id"],
        acl=values["acl"])


def object_options(fn: Callable[..., None]) -> Callable[..., None]:
    """``fn`` declares ``object_options: ObjectOptions``; typer sees the options instead."""
    own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != "object_options"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
             for name, (annotation, default) in OBJECT_OPTIONS.items()]

    @functools.wraps(fn)
    def command(**kwargs: Any) -> None:
        values = {name: kwargs.pop(name) for name in OBJECT_OPTIONS}
        try:
            options = build_object_options(values)
        except S3FerryError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(EXIT_USAGE) from None
        fn(**kwargs, object_options=options)

    params = [p for p in own if p.kind is not inspect.Parameter.KEYWORD_ONLY] + \
             [p for p in own if p.kind is inspect.Parameter.KEYWORD_ONLY] + added
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    del command.__wrapped__  # typer must read the new signature, not fn's
    return command
