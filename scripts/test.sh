#!/usr/bin/env bash
# README command 2: install everything and run the whole test suite, both server lanes
# (moto, and Ceph RGW which the suite installs from Debian's packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
exec .venv/bin/python -m pytest "$@"
