#!/usr/bin/env bash
# Client CPU of the s3ferry CLI on put/get of 1 GiB and of 2,000 x 64 KiB, against a local
# Ceph RGW started here (and stopped at the end). Extra arguments go to benchmarks/profile.py:
#   bash benchmarks/profile.sh --rounds 3
#   bash benchmarks/profile.sh --s3ferry before=/tmp/base/s3ferry after=.venv/bin/s3ferry
#   bash benchmarks/profile.sh --rounds 1 --spy /tmp/spy      # plus py-spy profiles
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/s3ferry ] || bash scripts/setup.sh test
dir=$(mktemp -d /tmp/s3ferry-profile-ceph.XXXXXX)
trap '.venv/bin/python scripts/ceph_rgw.py stop --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
info=$(.venv/bin/python scripts/ceph_rgw.py start --dir "$dir")
field() { .venv/bin/python -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$info" "$1"; }
export AWS_ACCESS_KEY_ID=$(field access_key) AWS_SECRET_ACCESS_KEY=$(field secret_key)
export PATH="$PWD/.venv/bin:$PATH"
.venv/bin/python benchmarks/profile.py --endpoint-url "$(field endpoint_url)" "$@"
