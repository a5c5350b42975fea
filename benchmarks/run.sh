#!/usr/bin/env bash
# One-command entry point: bash benchmarks/run.sh [--quick] [--big-sync] ...
set -euo pipefail
exec python3 "$(dirname "$0")/run.py" "$@"
