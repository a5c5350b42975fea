"""What `s3ferry bench` found: the runs, the clean-up tally, and the report as a table or JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from s3ferry.core.locations import S3Location
from s3ferry.tools.bench_plan import (
    COLUMNS,
    Plan,
    Row,
    Run,
    Setting,
    Stat,
    aggregate,
    best_lines,
    best_settings,
    table_rows,
)


@dataclass
class Tally:
    """What the bench put on the store and took off it again."""

    created: int = 0
    deleted: int = 0
    aborted: int = 0
    left: int | None = None  # None: clean-up did not get to check

    @property
    def clean(self) -> bool:
        return self.left == 0


@dataclass
class BenchReport:
    target: str
    location: S3Location
    plan: Plan
    runs: list[Run] = field(default_factory=list)
    unverified: int = 0
    tally: Tally = field(default_factory=Tally)

    @property
    def rows(self) -> list[Row]:
        return aggregate(self.plan, self.runs)


def _stat_dict(stat: Stat | None) -> dict[str, float] | None:
    if stat is None:
        return None
    return {"mib_per_second": round(stat.median, 2), "min": round(stat.low, 2), "max": round(stat.high, 2),
            "files_per_second": round(stat.files_median, 2)}


def _setting_dict(setting: Setting) -> dict[str, int]:
    return {"part_size": setting.part_size, "concurrency": setting.concurrency}


def report_dict(report: BenchReport) -> dict[str, Any]:
    rows = report.rows
    best = best_settings(rows)
    plan = report.plan
    return {
        "target": report.target, "location": str(report.location),
        "size": plan.size, "files": plan.files, "file_size": plan.file_size, "rounds": plan.rounds,
        "results": [{"workload": row.workload, **_setting_dict(row.setting),
                     "put": _stat_dict(row.put), "get": _stat_dict(row.get)} for row in rows],
        "best": {workload: {op: {**_setting_dict(row.setting), "mib_per_second": round(row.score(op) or 0.0, 2)}
                            for op, row in ops.items()} for workload, ops in best.items()},
        "skipped": [{"workload": workload, **_setting_dict(skip), "same_as": _setting_dict(same)}
                    for workload, skip, same in plan.skipped],
        "runs": [{"workload": r.workload, "op": r.op, **_setting_dict(r.setting), "round": r.round,
                  "bytes": r.bytes, "files": r.files, "seconds": round(r.seconds, 4)} for r in report.runs],
        "unverified": report.unverified,
        "cleanup": {"created": report.tally.created, "deleted": report.tally.deleted,
                    "aborted": report.tally.aborted, "left": report.tally.left},
    }


def print_report(report: BenchReport, *, as_json: bool) -> None:
    import json

    from rich.console import Console
    from rich.table import Table

    if as_json:
        print(json.dumps(report_dict(report)), flush=True)
        return
    rows = report.rows
    best = best_settings(rows)
    plan = report.plan
    console = Console(width=None if Console().is_terminal else 120)
    table = Table(title=f"s3ferry bench: {report.target}, {plan.rounds} round(s), every transfer verified")
    small = bool(plan.small)
    for column in COLUMNS:
        if small or "files/s" not in column:
            table.add_column(column, justify="left" if column in ("workload", "best") else "right")
    for cells in table_rows(plan, rows, best):
        table.add_row(*(cells if small else cells[:5] + cells[7:]))
    console.print(table)
    if plan.skipped:
        console.print(f"skipped {len(plan.skipped)} setting(s) with more concurrency than parts "
                      "(they behave as a measured one; see --json)")
    for line in best_lines(plan, best):
        console.print(line, highlight=False)
    if report.unverified:
        console.print(f"[yellow]{report.unverified} transfer(s) could not be verified (no MD5 ETag)[/yellow]")
