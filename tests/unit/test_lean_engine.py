"""The lean engine's bookkeeping without a server: credentials follow a refreshing provider,
and a client it cannot use sends everything to botocore instead of failing."""

from __future__ import annotations

import asyncio

import pytest
from types import SimpleNamespace

from s3ferry.store.lean import NOT_SERVED, LeanEngine


class Rotating:
    """A refreshing provider (AioRefreshableCredentials' interface): new keys on each call."""

    def __init__(self) -> None:
        self.calls = 0

    async def get_frozen_credentials(self):
        self.calls += 1
        n = self.calls // 2  # a rotation every second call
        return SimpleNamespace(access_key=f"AK{n}", secret_key=f"SK{n}", token=f"T{n}")


def test_credentials_are_read_per_request_and_follow_rotation() -> None:
    source = Rotating()
    engine = LeanEngine(SimpleNamespace(_request_signer=SimpleNamespace(_credentials=source)))

    async def main():
        return [await engine._credentials() for _ in range(4)]

    seen = asyncio.run(main())
    assert [c.access_key for c in seen] == ["AK0", "AK1", "AK1", "AK2"]
    assert seen[1] is seen[2]  # unchanged keys: the same frozen object, nothing rebuilt
    assert seen[3].token == "T2" and source.calls == 4


def test_a_client_without_the_needed_internals_leaves_every_request_to_botocore() -> None:
    engine = LeanEngine(SimpleNamespace(meta=SimpleNamespace()))  # no service model, no endpoint

    async def main():
        return (await engine.head("bucket", "key", {}), await engine.put("bucket", "key", b"x", {}),
                await engine.list_page("bucket", {"Prefix": "p"}))

    assert asyncio.run(main()) == (NOT_SERVED, NOT_SERVED, NOT_SERVED)
    assert engine._buckets == {"bucket": None}  # resolved once, then remembered


def test_direct_endpoints_only_where_botocores_rules_would_agree(monkeypatch):
    from aiobotocore.session import AioSession

    from s3ferry.core.config import Config
    from s3ferry.store.direct import usable

    for name in ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    explicit = Config(endpoint_url="http://127.0.0.1:9000")
    assert usable(explicit, AioSession())
    assert not usable(Config(), AioSession())  # AWS itself: botocore's rules
    monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", "true")
    assert not usable(explicit, AioSession())


def test_the_lazy_client_is_built_once_on_first_use(monkeypatch):
    from contextlib import AsyncExitStack

    from s3ferry.core.config import Config
    from s3ferry.store.client import LazyClient, new_session

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    config = Config(endpoint_url="http://127.0.0.1:9")

    async def main():
        async with AsyncExitStack() as stack:
            lazy = LazyClient(config, new_session(config), stack)
            before = lazy.built
            first, second = await asyncio.gather(lazy.created(), lazy.created())
            url = await lazy.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
            return before, first is second, lazy.built, lazy.meta.region_name, url

    before, same, built, region, url = asyncio.run(main())
    assert (before, same, built) == (False, True, True)
    assert region == "us-east-1" and url.startswith("http://127.0.0.1:9/b/k?")


@pytest.mark.parametrize("frozen_before", [True, False])
def test_a_lazily_built_client_is_frozen_only_where_the_heap_was(monkeypatch, frozen_before):
    """The CLI freezes its imports' objects (full collections skip them); the client built later
    (botocore's service model) joins them. A caller that froze nothing keeps its policy."""
    import gc
    from contextlib import AsyncExitStack

    from s3ferry.core.config import Config
    from s3ferry.store.client import LazyClient, new_session

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    config = Config(endpoint_url="http://127.0.0.1:9")
    gc.unfreeze()
    if frozen_before:
        gc.freeze()
    frozen = gc.get_freeze_count()

    async def main():
        async with AsyncExitStack() as stack:
            await LazyClient(config, new_session(config), stack).created()
            return gc.get_freeze_count()

    try:
        after = asyncio.run(main())
    finally:
        gc.unfreeze()
    if frozen_before:
        assert after > frozen + 10_000  # the service model's objects
    else:
        assert after == 0
