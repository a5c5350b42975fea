#!/usr/bin/env bash
# Create .venv and install s3ferry into it with the given extras (default: server).
# Used by scripts/demo.sh and scripts/test.sh; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-server}"
python3 -m venv .venv
# The machine's pip 23 backtracks for minutes over aioboto3 + moto; a current pip resolves in seconds.
.venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install --quiet -e ".[${extras}]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import s3ferry" # fail here, loudly, if the install did not take
# The editable install compiles core/_md5lanes.c in place (setup.py; optional: without gcc it
# falls back to hashlib, and tests/unit/test_md5lanes.py says so). Say which MD5 kernel runs.
.venv/bin/python -c "from s3ferry.core import md5lanes as m; print('s3ferry MD5 kernel:', m.KERNEL, m.available_kernels())"
