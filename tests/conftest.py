"""Real S3 servers for the integration tests, started and stopped by the suite itself.

Two lanes: moto in server mode (fast, full multipart semantics) and a single-node Ceph RADOS
Gateway (a production S3 implementation). Both listen on 127.0.0.1 only.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from hypothesis import settings
from botocore.config import Config as BotoConfig

from s3ferry.core.config import TEMP_SUFFIX, Config
from s3ferry.tools.embedded import moto_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import ceph_rgw  # noqa: E402  (the project's own start/stop script)

# moto and Ceph on the default engine (lean), and moto again on the botocore engine: both
# request paths must give the same results. "-k 'moto and not botocore'" skips the second.
LANES = ["moto", "ceph", "moto-botocore", "moto-aiohttp"]
# The lean engine sends over s3ferry's own HTTP/1.1 client on plain http (store/http1.py); the
# aiohttp lane runs the files that exercise the wire hardest (faults, round trips) on aiohttp too.
AIOHTTP_LANE_FILES = frozenset({"test_faults.py", "test_put_get.py"})
# The botocore lane leaves out the modules whose time goes to kills, interrupts and waits
# or orchestrate many processes (team sync, scale-out): their logic is engine-neutral, and the
# moto lane runs them on the default engine. It
# keeps CI's wall time well under its limit.
BOTOCORE_LANE_SKIPS = frozenset({"test_resume.py", "test_sync_interrupt.py", "test_large.py", "test_team_sync.py",
                                 "test_team_sync_guards.py", "test_scaleout.py"})

# No wall-clock limits in tests: hypothesis's per-example deadline is one, and it fails
# examples at random on this shared 2-core machine.
settings.register_profile("s3ferry", deadline=None)
settings.load_profile("s3ferry")


@dataclass(frozen=True)
class Server:
    name: str
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    engine: str | None = None  # None: s3ferry's default
    http: str | None = None  # the lean engine's HTTP client (S3FERRY_HTTP); None: the default

    def env(self) -> dict[str, str]:
        engine = {"S3FERRY_ENGINE": self.engine} if self.engine else {}
        engine |= {"S3FERRY_HTTP": self.http} if self.http else {}
        return {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": self.region, "S3FERRY_ENDPOINT_URL": self.endpoint_url, **engine}

    def client(self, **config: object):
        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name=self.region,
                            config=BotoConfig(s3={"addressing_style": "path"},
                                              request_checksum_calculation="when_required",
                                              response_checksum_validation="when_required", **config))

    def config(self, **changes: object) -> Config:
        if self.engine:
            changes.setdefault("engine", self.engine)
        if self.http:
            changes.setdefault("http", self.http)
        return Config(endpoint_url=self.endpoint_url, addressing_style="path", **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="session", autouse=True)
def hermetic_aws_environment(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test may read the developer's AWS config or reach a real endpoint."""
    empty = tmp_path_factory.mktemp("aws")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "AWS_SESSION_TOKEN", "S3FERRY_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = str(empty / "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(empty / "credentials")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    # Resume journals of every test (in-process and CLI subprocesses) stay in the session's tmp.
    os.environ["S3FERRY_JOURNAL_DIR"] = str(tmp_path_factory.mktemp("journal"))
    # ... and so do hash caches: never the user's ~/.cache/s3ferry.
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(autouse=True)
def no_temporary_files(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test, no download temporary file (``*.s3ferry.tmp``) is left in its folder:
    every failure, Ctrl-C and signal cleans up (a test that keeps one on purpose removes it)."""
    wanted = "tmp_path" in request.fixturenames and request.node.get_closest_marker("keeps_temporary") is None
    root = request.getfixturevalue("tmp_path") if wanted else None
    yield
    if root is not None:
        left = sorted(str(p) for p in Path(root).rglob(f"*{TEMP_SUFFIX}"))
        assert left == [], f"temporary files left behind: {left}"


@pytest.fixture(scope="session")
def moto() -> Iterator[Server]:
    with moto_server() as local:
        yield Server("moto", local.endpoint_url, local.access_key, local.secret_key)


@pytest.fixture(scope="session")
def ceph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not ceph_rgw.is_installed():
        try:
            ceph_rgw.install(quiet=True)
        except ceph_rgw.AptUnreachable as exc:
            message = f"CEPH LANE SKIPPED: apt cannot install Ceph here ({exc})"
            print(f"\n\n{'!' * 72}\n{message}\n{'!' * 72}\n", file=sys.stderr)
            pytest.skip(message)
    # Short path: Ceph's admin sockets live inside it and Unix socket paths are capped at 107 bytes.
    directory = Path("/tmp") / f"s3ferry-ceph-{uuid.uuid4().hex[:8]}"
    info = ceph_rgw.start(str(directory), watch_pid=os.getpid())
    try:
        yield Server("ceph", info["endpoint_url"], info["access_key"], info["secret_key"], info["region"])
    finally:
        ceph_rgw.stop(str(directory))


@pytest.fixture(params=LANES)
def server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Server:
    """Parametrizes a test over the lanes and points in-process API calls at the lane."""
    name, _, engine = request.param.partition("-")
    lane: Server = request.getfixturevalue(name)
    if engine == "aiohttp":
        if request.path.name not in AIOHTTP_LANE_FILES:
            pytest.skip(f"the aiohttp lane runs only {sorted(AIOHTTP_LANE_FILES)}")
        lane = dataclasses.replace(lane, http=engine)
    elif engine:
        if request.path.name in BOTOCORE_LANE_SKIPS:
            pytest.skip(f"the {engine} lane leaves out {request.path.name} (kills and waits; engine-neutral)")
        lane = dataclasses.replace(lane, engine=engine)
    for var, value in lane.env().items():
        if var.startswith(("AWS_", "S3FERRY_")):
            monkeypatch.setenv(var, value)
    return lane


@pytest.fixture
def bucket(server: Server) -> Iterator[str]:
    """A fresh bucket; at teardown it must hold no incomplete multipart upload."""
    name = f"t-{uuid.uuid4().hex[:16]}"
    s3 = server.client()
    s3.create_bucket(Bucket=name)
    yield name
    leftover = s3.list_multipart_uploads(Bucket=name).get("Uploads", [])
    _empty_bucket(s3, name)
    assert leftover == [], f"orphaned multipart uploads on {server.name}: {leftover}"


def _empty_bucket(s3, name: str) -> None:  # type: ignore[no-untyped-def]
    for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=name):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=name, Delete={"Objects": keys})
    s3.delete_bucket(Bucket=name)
