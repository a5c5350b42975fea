"""The pure half of `s3ferry bench`: options, sweep planning, statistics, the best setting
and the table's cells. No server."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3ferry.tools.bench_plan import (
    LARGE,
    SMALL,
    BenchOptions,
    Plan,
    Run,
    Setting,
    aggregate,
    best_lines,
    best_settings,
    parse_options,
    plan_sweep,
    schedule,
    size_text,
    table_rows,
)
from s3ferry.core.config import MIN_PART_SIZE, KiB, MiB, parse_size
from s3ferry.core.errors import ConfigError
from s3ferry.core.parts import choose_part_size, part_count, use_multipart

part_sizes = st.lists(st.integers(5, 80).map(lambda m: m * MiB), min_size=1, max_size=5)
levels = st.lists(st.integers(1, 64), min_size=1, max_size=6)


def in_flight(size: int, setting: Setting) -> tuple[int | None, int]:
    """What a setting does on the wire: (part size used or None for a single PUT, requests in flight)."""
    if not use_multipart(size, setting.part_size):
        return None, 1
    used = choose_part_size(size, setting.part_size)
    return used, min(setting.concurrency, part_count(size, used))


# ---- options ---------------------------------------------------------------------------------

def test_parse_options_reads_lists_and_sizes():
    options = parse_options("100MiB", "8MiB, 16MiB,64M", "4,8,16", 2, 10, "64KiB")
    assert options == BenchOptions(size=100 * MiB, part_sizes=(8 * MiB, 16 * MiB, 64 * MiB),
                                   concurrency_levels=(4, 8, 16), rounds=2, files=10, file_size=64 * KiB)


@pytest.mark.parametrize("args, needle", [
    (("lots", "8MiB", "4", 1, 0, "64KiB"), "not a size: 'lots'"),
    (("0", "8MiB", "4", 1, 0, "64KiB"), "at least 1 byte"),
    ((None, "1MiB", "4", 1, 0, "64KiB"), "between 5MiB and 5GiB"),
    ((None, "8MiB", "four", 1, 0, "64KiB"), "concurrency levels"),
    ((None, "8MiB", "0", 1, 0, "64KiB"), "between 1 and 1024"),
    ((None, "", "4", 1, 0, "64KiB"), "at least one part size"),
    ((None, "8MiB", "4", 0, 0, "64KiB"), "--rounds"),
    ((None, "8MiB", "4", 1, -1, "64KiB"), "negative"),
])
def test_bad_options_are_config_errors(args, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")):
        parse_options(*args)


@given(st.integers(1, 1 << 40))
def test_size_text_round_trips_through_parse_size(n):
    assert parse_size(size_text(n)) == n


# ---- planning --------------------------------------------------------------------------------

def test_plan_skips_concurrency_above_the_part_count():
    options = BenchOptions(part_sizes=(8 * MiB, 16 * MiB, 64 * MiB), concurrency_levels=(4, 8, 16, 32))
    plan = plan_sweep(options, 64 * MiB)
    # 8 parts of 8 MiB: 4 and 8 differ, 16 and 32 act as 8; 4 parts of 16 MiB: only 4;
    # one 64 MiB part: only one request ever.
    assert plan.large == (Setting(8 * MiB, 4), Setting(8 * MiB, 8), Setting(16 * MiB, 4), Setting(64 * MiB, 4))
    assert (LARGE, Setting(8 * MiB, 32), Setting(8 * MiB, 8)) in plan.skipped
    assert (LARGE, Setting(64 * MiB, 16), Setting(64 * MiB, 4)) in plan.skipped
    assert plan.small == ()


def test_small_files_sweep_concurrency_only():
    options = BenchOptions(part_sizes=(16 * MiB, 8 * MiB), concurrency_levels=(2, 4, 8), files=4)
    plan = plan_sweep(options, 32 * MiB)
    assert plan.small == (Setting(8 * MiB, 2), Setting(8 * MiB, 4))  # 8 in flight acts as 4 with 4 files
    assert (SMALL, Setting(8 * MiB, 8), Setting(8 * MiB, 4)) in plan.skipped


@given(part_sizes, levels, st.integers(1, 600 * MiB), st.integers(0, 50))
def test_plan_measures_each_behaviour_once_and_accounts_for_every_setting(sizes, conc, size, files):
    options = BenchOptions(part_sizes=tuple(sizes), concurrency_levels=tuple(conc), files=files)
    plan = plan_sweep(options, size)
    behaviours = [in_flight(size, s) for s in plan.large]
    assert len(behaviours) == len(set(behaviours))  # nothing measured twice
    requested = {Setting(p, c) for p in sizes for c in conc}
    skipped_large = {skip: same for workload, skip, same in plan.skipped if workload == LARGE}
    assert set(skipped_large.values()) <= set(plan.large)
    assert set(plan.large) | set(skipped_large) == requested  # nothing lost
    for skip, same in skipped_large.items():
        assert in_flight(size, skip) == in_flight(size, same)
    assert len(plan.small) == (len({min(c, files) for c in conc}) if files else 0)
    assert len(plan.small) + sum(w == SMALL for w, _, _ in plan.skipped) == (len(set(conc)) if files else 0)


@given(part_sizes, levels, st.integers(1, 3), st.integers(0, 3))
def test_schedule_interleaves_rounds(sizes, conc, rounds, files):
    plan = plan_sweep(BenchOptions(part_sizes=tuple(sizes), concurrency_levels=tuple(conc), rounds=rounds,
                                   files=files), 40 * MiB)
    steps = list(schedule(plan))
    per_round = len(plan.large) + len(plan.small)
    assert len(steps) == rounds * per_round
    assert [r for r, _, _ in steps] == sorted(r for r, _, _ in steps)  # round 1 of everything first
    for index in range(rounds):
        chunk = steps[index * per_round:(index + 1) * per_round]
        assert [(w, s) for _, w, s in chunk] == [(LARGE, s) for s in plan.large] + [(SMALL, s) for s in plan.small]


# ---- statistics and the best setting -----------------------------------------------------------

def make_plan(large: tuple[Setting, ...], small: tuple[Setting, ...] = (), rounds: int = 1) -> Plan:
    return Plan(size=64 * MiB, rounds=rounds, files=10, file_size=64 * KiB, large=large, small=small)


def run(setting: Setting, op: str, seconds: float, round_: int = 1, workload: str = LARGE) -> Run:
    return Run(workload, op, setting, round_, 64 * MiB, 1, seconds)


def test_aggregate_takes_medians_and_ranges():
    a = Setting(8 * MiB, 4)
    plan = make_plan((a,), rounds=3)
    runs = [run(a, "put", s, i) for i, s in enumerate((1.0, 2.0, 4.0), 1)] + [run(a, "get", 0.5)]
    (row,) = aggregate(plan, runs)
    assert row.put is not None and row.get is not None
    assert (row.put.median, row.put.low, row.put.high) == (32.0, 16.0, 64.0)
    assert row.get.median == 128.0


def test_best_picks_fastest_per_op_and_the_balance_for_both():
    a, b, c = Setting(8 * MiB, 4), Setting(8 * MiB, 16), Setting(16 * MiB, 8)
    plan = make_plan((a, b, c))
    runs = [run(a, "put", 1.0), run(a, "get", 0.25),   # 64 / 256 MiB/s
            run(b, "put", 0.5), run(b, "get", 1.0),    # 128 / 64
            run(c, "put", 0.6), run(c, "get", 0.4)]    # ~107 / 160: best balance
    best = best_settings(aggregate(plan, runs))[LARGE]
    assert (best["put"].setting, best["get"].setting, best["both"].setting) == (b, a, c)


def test_ties_go_to_less_memory_in_flight():
    small_mem, big_mem = Setting(8 * MiB, 4), Setting(16 * MiB, 8)
    plan = make_plan((big_mem, small_mem))
    runs = [run(s, op, 1.0) for s in (big_mem, small_mem) for op in ("put", "get")]
    best = best_settings(aggregate(plan, runs))[LARGE]
    assert {row.setting for row in best.values()} == {small_mem}


@given(st.lists(st.tuples(st.floats(0.01, 100), st.floats(0.01, 100)), min_size=1, max_size=8))
def test_best_is_never_beaten(times):
    settings = tuple(Setting(8 * MiB, c) for c in range(1, len(times) + 1))
    plan = make_plan(settings)
    runs = [r for s, (tp, tg) in zip(settings, times) for r in (run(s, "put", tp), run(s, "get", tg))]
    rows = aggregate(plan, runs)
    best = best_settings(rows)[LARGE]
    for op in ("put", "get", "both"):
        assert all(best[op].score(op) >= row.score(op) for row in rows)


def test_no_runs_no_best():
    plan = make_plan((Setting(8 * MiB, 4),))
    assert best_settings(aggregate(plan, [])) == {}


# ---- table ------------------------------------------------------------------------------------

def test_table_rows_show_settings_figures_and_marks():
    a, b = Setting(8 * MiB, 4), Setting(64 * MiB, 4)
    s = Setting(MIN_PART_SIZE, 8)
    plan = Plan(size=32 * MiB, rounds=2, files=10, file_size=64 * KiB, large=(a, b), small=(s,))
    runs = [run(a, "put", 1.0, 1), run(a, "put", 2.0, 2), run(a, "get", 1.0),
            run(b, "put", 4.0), run(b, "get", 2.0),
            Run(SMALL, "put", s, 1, 640 * KiB, 10, 0.5), Run(SMALL, "get", s, 1, 640 * KiB, 10, 0.25)]
    rows = aggregate(plan, runs)
    cells = table_rows(plan, rows, best_settings(rows))
    assert cells[0] == ["1 x 32MiB", "8MiB", "4", "48.0 (32-64)", "64.0 (64-64)", "", "", "put, get, put+get"]
    assert cells[1][:3] == ["1 x 32MiB", "single PUT", "4"]  # 64 MiB parts: a 32 MiB file is one PUT
    assert cells[1][7] == ""
    assert cells[2][0] == "10 x 64KiB" and cells[2][1] == "single PUT"
    assert cells[2][5:] == ["20", "40", "put, get, put+get"]
    lines = best_lines(plan, best_settings(rows))
    assert "best put for 1 x 32MiB: --part-size 8MiB -c 4 (48.0 MiB/s)" in lines
    assert any(line.startswith("best get for 10 x 64KiB: --part-size 5MiB -c 8") for line in lines)
