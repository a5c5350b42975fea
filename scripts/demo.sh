#!/usr/bin/env bash
# README command 1: install, then put/get a large file and a folder of small files through an
# embedded local S3 server, verify them, and print throughput. No cloud account needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh server
exec .venv/bin/s3ferry demo "$@"
