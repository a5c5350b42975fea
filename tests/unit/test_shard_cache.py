"""A shard with a local side uses the worker's hash cache; a worker that cannot open one
(its cache folder unusable) transfers without it, never fails for it."""

from __future__ import annotations

from pathlib import Path

from s3ferry.core.locations import S3Location
from s3ferry.local.hashcache import HashCache
from s3ferry.scale.shard import _hash_cache

BUCKET = S3Location("b", "p/")


def test_a_local_side_opens_the_cache_and_s3_to_s3_does_not(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with _hash_cache(tmp_path, BUCKET) as cache:
        assert isinstance(cache, HashCache) and cache.path.is_relative_to(tmp_path / "cache")
    with _hash_cache(BUCKET, tmp_path) as cache:
        assert isinstance(cache, HashCache)
    with _hash_cache(BUCKET, S3Location("c", "")) as cache:
        assert cache is None


def test_a_cache_folder_that_cannot_be_made_means_no_cache(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # its s3ferry/ folder cannot be created
    with _hash_cache(tmp_path, BUCKET) as cache:
        assert cache is None
