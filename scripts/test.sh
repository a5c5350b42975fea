#!/usr/bin/env bash
# README command 2: install everything and run the whole test suite, both server lanes
# (moto, and Ceph RGW which the suite installs from Debian's packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# The layers (docs/ARCHITECTURE.md): a module that imports a layer above its own fails here.
.venv/bin/lint-imports --no-cache
# Two worker processes, each with its own moto and Ceph servers; a file's tests stay together.
# Pass -n 0 to run in one process (e.g. with -s to watch a test's output).
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
