"""Resume decisions (pure) and the journal's round trip."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from s3ferry.core.config import Config, MiB
from s3ferry.ops.resume.journal import GetRecord, Journal, PutRecord, journal_dir
from s3ferry.core.parts import plan_parts
from s3ferry.core.resume import RangeSet, StoredPart, fits_plan, reusable, worth_hashing


def parts_to_send(parts, stored, digests):
    """What put sends (again): every part that ``reusable`` does not keep."""
    return [p for p in parts if not reusable(p, stored.get(p.number), digests.get(p.number))]

PART = 5 * MiB


def digest(n: int) -> bytes:
    return hashlib.md5(str(n).encode()).digest()


def stored_as(parts, etag_of=lambda p: digest(p.number).hex()):
    return {p.number: StoredPart(p.number, p.size, etag_of(p)) for p in parts}


def test_only_missing_and_wrong_parts_are_sent():
    parts = list(plan_parts(5 * PART + 7, PART))  # six parts, a 7-byte tail
    stored = stored_as(parts[:4])
    stored[2] = StoredPart(2, PART, digest(99).hex())  # other bytes under number 2
    local = {p.number: digest(p.number) for p in parts}
    assert [p.number for p in parts_to_send(parts, stored, local)] == [2, 5, 6]


def test_a_stored_part_of_another_size_is_sent_again_and_not_hashed():
    part = next(iter(plan_parts(3 * PART, PART)))
    other = StoredPart(1, PART - 1, digest(1).hex())
    assert not worth_hashing(part, other)
    assert not reusable(part, other, digest(1))
    assert not reusable(part, None, digest(1))
    assert not reusable(part, StoredPart(1, PART, digest(1).hex()), None)
    assert reusable(part, StoredPart(1, PART, digest(1).hex()), digest(1))


@given(st.integers(1, 40 * PART), st.data())
def test_parts_to_send_is_exactly_the_unmatched_ones(size, data):
    parts = list(plan_parts(size, PART))
    kept = data.draw(st.sets(st.sampled_from([p.number for p in parts])))
    stored = stored_as([p for p in parts if p.number in kept])
    local = {p.number: digest(p.number) for p in parts}
    sent = {p.number for p in parts_to_send(parts, stored, local)}
    assert sent == {p.number for p in parts} - kept


def test_fits_plan():
    size = 3 * PART + 10
    parts = list(plan_parts(size, PART))
    assert fits_plan(stored_as(parts).values(), size, PART)
    assert fits_plan(stored_as(parts[1:2]).values(), size, PART)
    assert fits_plan(stored_as(parts[-1:]).values(), size, PART)
    assert not fits_plan([], size, PART)  # nothing stored: no evidence the upload is ours
    assert not fits_plan(stored_as(parts).values(), size + 1, PART)  # tail size differs
    assert not fits_plan(stored_as(parts).values(), size, PART + MiB)  # cut at another size
    assert not fits_plan([StoredPart(5, 10, "x")], size, PART)  # beyond the plan


@given(st.integers(1, 20_000), st.data())
def test_range_set_round_trip(count, data):
    numbers = data.draw(st.sets(st.integers(1, count), max_size=200))
    ranges = RangeSet(count)
    for n in numbers:
        ranges.add(n)
    back = RangeSet.decode(ranges.encode(), count)
    assert {n for n in range(1, count + 1) if n in back} == numbers
    assert len(back) == len(numbers)
    assert 0 not in back and count + 1 not in back


def test_range_set_rejects_garbage_and_wrong_sizes():
    assert len(RangeSet.decode("zz", 8)) == 0
    assert len(RangeSet.decode("ff", 16)) == 0  # one byte for two bytes' worth of ranges
    assert len(RangeSet.decode("ff", 3)) == 3  # bits past the count are dropped
    ranges = RangeSet(3)
    try:
        ranges.add(4)
    except ValueError:
        pass
    else:
        raise AssertionError("range 4 of 3 accepted")


def test_journal_round_trip_and_safe_deletion(tmp_path: Path):
    journal = Journal(tmp_path / "j")
    put = PutRecord("b", "k/ey", "upload-1", PART, "/src/x", 123, 456, 789)
    get = GetRecord("b", "k", 10 * PART, '"abc-2"', "/dst/x", PART, RangeSet(10).encode())
    put_entry = journal.entry("put", "b", "k/ey", Path("x"))
    get_entry = journal.entry("get", "b", "k/ey", Path("x"))
    assert put_entry != get_entry
    assert journal.entry("put", "b", "k/ey", Path("x").absolute()) == put_entry  # relative = absolute
    assert journal.load(put_entry, PutRecord) is None  # nothing yet
    assert journal.save(put_entry, put, durable=True) and journal.save(get_entry, get)
    assert journal.load(put_entry, PutRecord) == put
    assert journal.load(get_entry, GetRecord) == get
    assert journal.load(put_entry, GetRecord) is None  # an entry of the other kind is no entry
    assert [p.name for p in (tmp_path / "j").iterdir() if p.name.startswith(".")] == []  # no temporaries left
    put_entry.write_text("{not json")
    assert journal.load(put_entry, PutRecord) is None
    journal.remove(put_entry)
    journal.remove(put_entry)  # removing twice is fine
    assert journal.load(put_entry, PutRecord) is None


def test_put_record_knows_a_changed_source(tmp_path: Path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    info = os.stat(path)
    record = PutRecord("b", "k", "u", PART, str(path), info.st_size, info.st_mtime_ns, info.st_ino)
    assert record.same_source(info, PART)
    assert not record.same_source(info, PART * 2)
    assert not record.same_source(info, PART, "crc64nvme")  # created with another checksum mode
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1))
    assert not record.same_source(os.stat(path), PART)


def test_journal_dir_precedence(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("S3FERRY_JOURNAL_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert journal_dir(Config(journal_dir=str(tmp_path / "cfg"))) == tmp_path / "cfg"
    assert journal_dir(Config()) == tmp_path / "env"
    monkeypatch.delenv("S3FERRY_JOURNAL_DIR")
    assert journal_dir(Config()) == tmp_path / "xdg" / "s3ferry" / "journal"


def test_unwritable_journal_costs_only_the_resume(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    journal = Journal(blocker / "j")  # a file where the folder should be
    entry = journal.entry("put", "b", "k", Path("x"))
    assert journal.save(entry, PutRecord("b", "k", "u", PART, "x", 1, 1, 1)) is False
