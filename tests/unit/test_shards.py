"""Shards: ranges partition the key space exactly, cutting never loses or repeats a key,
manifests parse as S3 writes them, and the report tells the truth about every attempt."""

from __future__ import annotations

import json
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3ferry.core.errors import ConfigError
from s3ferry.core.manifests import ManifestEntry, ManifestError, manifest_keys, parse_manifest
from s3ferry.core.shard_report import MigrationReport
from s3ferry.core.shards import (
    MAX_SHARD_ATTEMPTS,
    Cluster,
    KeyRange,
    Migration,
    ShardResult,
    ShardSpec,
    StreamCutter,
    cut_units,
    lost,
    parse_cluster,
    ranges_between,
    should_retry,
    target_shards,
)

# Keys as S3 has them: any unicode (no surrogates), "/" often, "+", "%", spaces.
keys = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1,
               max_size=12) | st.from_regex(r"[a-c]{1,2}(/[a-c.+ %-]{0,3}){0,3}", fullmatch=True)


def utf8_sorted(items):
    return sorted(set(items), key=lambda k: k.encode("utf-8"))


def owners(ranges, key):
    return [r for r in ranges if r.contains(key)]


@given(st.lists(keys, max_size=30), st.lists(keys, max_size=60))
def test_any_boundaries_partition_the_key_space_exactly(boundaries, probe):
    ranges = ranges_between(boundaries)
    assert len(ranges) == len(set(boundaries)) + 1
    for key in probe + boundaries:
        assert len(owners(ranges, key)) == 1, key


# A delimiter listing's units: top-level keys (no "/") and common prefixes (one "/", at the end).
names = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00/"), min_size=1,
                max_size=6)
units_of_a_listing = st.lists(st.tuples(names, st.booleans()).map(lambda t: t[0] + "/" if t[1] else t[0]),
                              max_size=40)


@given(units_of_a_listing, st.integers(1, 12))
def test_cut_units_covers_every_key_once_and_keeps_whole_prefixes_together(units, shards):
    units = utf8_sorted(units)
    ranges = cut_units(units, shards)
    assert 1 <= len(ranges) <= max(1, min(shards, len(units)))
    for unit in units:
        assert len(owners(ranges, unit)) == 1
        if unit.endswith("/"):  # every key below a prefix is in the one shard of that prefix
            below = [unit + "x", unit + "deeper/key", unit + "\U0001f600"]
            assert all(len(owners(ranges, k)) == 1 for k in below)
            assert len({id(owners(ranges, k)[0]) for k in below}) == 1


def test_cut_units_balances_prefixes():
    units = [f"d{i:02d}/" for i in range(20)]
    ranges = cut_units(units, 8)
    assert len(ranges) == 8
    sizes = [sum(r.contains(u + "f") for u in units) for r in ranges]
    assert sum(sizes) == 20 and max(sizes) - min(sizes) <= 1
    assert cut_units([], 8) == [KeyRange()] and cut_units(["a/"], 8) == [KeyRange()]
    with pytest.raises(ValueError):
        cut_units(units, 0)


@given(st.lists(keys, max_size=80), st.integers(1, 7))
def test_stream_cutter_hands_out_ranges_that_hold_every_listed_key_once(listing, per_shard):
    listing = utf8_sorted(listing)
    cutter = StreamCutter(per_shard)
    ranges = [r for r in (cutter.feed(k) for k in listing) if r is not None]
    ranges.append(cutter.close())
    for r in ranges[:-1]:
        assert sum(r.contains(k) for k in listing) == per_shard
    assert sum(ranges[-1].contains(k) for k in listing) == len(listing) % per_shard
    for key in listing:
        assert len(owners(ranges, key)) == 1


@given(st.one_of(st.none(), keys), names, st.lists(st.text(max_size=5), max_size=10))
def test_passed_folder_only_when_no_key_below_it_is_in_the_range(after, name, tails):
    folder = name + "/"
    span = KeyRange(after, None)
    if span.passed_folder(folder):
        assert not any(span.contains(folder + tail) for tail in tails)
        assert not span.contains(folder + "\U0010ffff" * 3)


def test_passed_folder_examples():
    assert KeyRange("b/z", None).passed_folder("a/") and KeyRange("b", None).passed_folder("a/")
    assert not KeyRange("a/m", None).passed_folder("a/")  # a/n is still to come
    assert not KeyRange("a", None).passed_folder("a/") and not KeyRange().passed_folder("a/")
    assert KeyRange("a/", None).passed_folder("a/") is False  # "a/x" > "a/"


def test_range_bounds_match_start_after_and_stop():
    span = KeyRange("b/", "d/x")
    assert span.start_after("src/") == "src/b/" and KeyRange().start_after("p/") is None
    assert span.before("b/") and not span.contains("b/") and span.contains("b/0") and span.contains("d/x")
    assert span.beyond("d/y") and not span.beyond("d/x")
    # UTF-8 byte order, not code points: U+FFFD (3 bytes) sorts before U+1F600 (4 bytes).
    assert KeyRange("\ufffd", None).contains("\U0001f600")
    with pytest.raises(ValueError):
        KeyRange("b", "a")
    assert str(KeyRange()) == "(start, end)"


def test_target_shards_hands_out_more_than_workers():
    assert target_shards(2) > 2 and target_shards(0) >= 1


# ---- manifests -----------------------------------------------------------------------

def test_batch_operations_csv_with_url_encoded_keys():
    lines = ['src-bucket,dir/a+file%2B1.txt', 'src-bucket,dir/%E2%82%AC%20euro', '', 'src-bucket,dir/v,version-id']
    entries = list(parse_manifest(lines))
    assert [e.key for e in entries] == ["dir/a file+1.txt", "dir/€ euro", "dir/v"]
    assert entries[0] == ManifestEntry("src-bucket", "dir/a file+1.txt")


def test_inventory_csv_with_its_schema():
    lines = ['"bkt","p/k%201","12","2026-01-01T00:00:00.000Z","0cc175b9c0f1b6a831c399e269772661"']
    schema = "Bucket, Key, Size, LastModifiedDate, ETag"
    [entry] = parse_manifest(lines, schema)
    assert entry == ManifestEntry("bkt", "p/k 1", 12, "0cc175b9c0f1b6a831c399e269772661")
    [raw] = parse_manifest(["bkt,p/k+1"], encoded=False)
    assert raw.key == "p/k+1"


@pytest.mark.parametrize("lines, schema", [
    (["only-a-bucket"], "Bucket, Key"),
    (["b,"], "Bucket, Key"),
    (["b,k,big"], "Bucket, Key, Size"),
    (["b,k"], "Key, Size"),
])
def test_bad_manifest_lines_are_refused_with_their_line(lines, schema):
    with pytest.raises(ManifestError):
        list(parse_manifest(lines, schema))


@given(st.lists(st.from_regex(r"[a-z]{1,4}(/[a-z]{1,3})?", fullmatch=True), max_size=50), st.integers(1, 9))
def test_manifest_keys_are_relative_sorted_and_all_kept(names, per_shard):
    entries = [ManifestEntry("bkt", "src/" + n) for n in names]
    shards = list(manifest_keys(entries, "bkt", "src/", per_shard))
    assert {k for s in shards for k in s} == set(names)  # duplicates within a shard are dropped
    assert all(len(s) <= per_shard and list(s) == sorted(set(s)) for s in shards)


@pytest.mark.parametrize("entry", [ManifestEntry("other", "src/a"), ManifestEntry("bkt", "elsewhere/a"),
                                   ManifestEntry("bkt", "src/")])
def test_manifest_keys_outside_the_source_are_refused(entry):
    with pytest.raises(ManifestError):
        list(manifest_keys([entry], "bkt", "src/"))


# ---- specs, results, report ----------------------------------------------------------

MIGRATION = Migration("s3://a/src/", "s3://b/dst/", config=None)


def test_specs_and_results_pickle_for_the_workers():
    spec = ShardSpec(3, MIGRATION, KeyRange("a", "b"))
    assert pickle.loads(pickle.dumps(spec)) == spec
    result = ShardResult(3, copied=2, etag_match=2)
    assert pickle.loads(pickle.dumps(result)) == result and result.verified


def test_retry_policy():
    assert should_retry(lost(1, 1, "worker lost"))
    assert not should_retry(lost(1, MAX_SHARD_ATTEMPTS, "worker lost"))
    assert not should_retry(ShardResult(1, copied=3, etag_match=3))
    assert should_retry(ShardResult(1, copied=3, failed=1, exit_code=6))
    assert not should_retry(ShardResult(1, failed=1, exit_code=2))  # a usage error never gets better


def report_with(*attempts: ShardResult, shards: int = 2) -> MigrationReport:
    report = MigrationReport("sync", "s3://a/src/", "s3://b/dst/", "local:2")
    for number in range(shards):
        report.planned(ShardSpec(number, MIGRATION, KeyRange()))
    for result in attempts:
        report.attempted(result)
    report.seconds = 2.0
    return report


def test_report_of_a_clean_run_with_a_retried_shard():
    report = report_with(ShardResult(0, 1, "w1", copied=5, bytes=50, etag_match=5),
                         lost(1, 1, "worker tcp://127.0.0.1:1 lost (KilledWorker)"),
                         ShardResult(1, 2, "w2", copied=3, skipped=1, bytes=30, etag_match=4))
    data = json.loads(report.to_json())
    assert data["complete"] and data["verified"] and data["exit_code"] == 0
    assert data["totals"]["objects"] == 9 and data["totals"]["etag_match"] == 9 and data["totals"]["bytes"] == 80
    assert data["retried_shards"] == [1] and data["failed_shards"] == []
    shard = data["shards"][1]
    assert shard["attempts"] == 2 and shard["status"] == "done" and "KilledWorker" in shard["retries"][0]["cause"]
    assert "verified" in report.summary_line() and "1 retried" in report.summary_line()


def test_report_of_failures_keeps_sync_exit_codes():
    unverified = report_with(ShardResult(0, copied=2, etag_match=1, unverifiable=1), ShardResult(1, copied=1,
                                                                                                etag_match=1))
    assert unverified.complete and not unverified.verified and unverified.exit_code == 0
    denied = report_with(ShardResult(0, failed=2, exit_code=5, causes=("denied",)), ShardResult(1, copied=1))
    assert denied.exit_code == 5 and denied.failed_shards == [0] and not denied.complete
    mixed = report_with(ShardResult(0, failed=1, exit_code=5), ShardResult(1, failed=1, exit_code=3))
    assert mixed.exit_code == 1
    pending = report_with(ShardResult(0, copied=1, etag_match=1))
    assert pending.exit_code == 1 and pending.failed_shards == [1]
    assert json.loads(pending.to_json())["shards"][1]["status"] == "pending"
    broken = report_with(ShardResult(0), ShardResult(1))
    broken.error = "listing failed"
    assert broken.exit_code == 1 and not broken.complete and "INCOMPLETE" in broken.summary_line()


@pytest.mark.parametrize("text, cluster", [("local:2", Cluster(workers=2)), (" local:16 ", Cluster(workers=16)),
                                           ("tcp://10.0.0.5:8786", Cluster(address="tcp://10.0.0.5:8786")),
                                           ("tls://sched.example:8786", Cluster(address="tls://sched.example:8786"))])
def test_parse_cluster(text, cluster):
    assert parse_cluster(text) == cluster
    assert str(cluster) in (text.strip(),)


@pytest.mark.parametrize("text", ["local:0", "local:", "local:x", "local:-1", "local:100000", "bogus",
                                  "http://h:1", "tcp://h", "tcp://:8786", "tcp://h:port"])
def test_parse_cluster_refuses(text):
    with pytest.raises(ConfigError):
        parse_cluster(text)
