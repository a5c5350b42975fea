"""The CLI starts without the transfer stack, and the lazy public names stay functions."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def test_cli_import_leaves_aiobotocore_and_rich_unloaded() -> None:
    loaded = _run("import sys, s3ferry.cli.app; print(sorted({m.split('.')[0] for m in sys.modules} & "
                  "{'aiobotocore', 'aiohttp', 'botocore', 'boto3', 'rich'}))")
    assert loaded == "[]"


def test_submodule_imports_do_not_hide_the_api_functions() -> None:
    kinds = _run("import inspect, s3ferry.ops.sync, s3ferry.ops.verify, s3ferry.api, s3ferry; "
                 "print([inspect.iscoroutinefunction(getattr(s3ferry, n)) for n in ('sync', 'verify', 'put', 'get')])")
    assert kinds == "[True, True, True, True]"
