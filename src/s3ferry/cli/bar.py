"""The progress bar (rich), for a terminal's stderr; render.py loads it only there."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

from s3ferry.cli.lines import human_size


class AmountColumn(ProgressColumn):
    """`12.0/76.3 MiB`, or `12.0 MiB` while the total is still being counted (never `?`)."""

    def render(self, task: Task) -> Text:
        done = human_size(task.completed)
        text = done if task.total is None else f"{done}/{human_size(task.total)}"
        return Text(text, style="progress.download")


class RateColumn(ProgressColumn):
    """The rate in the summary's units (MiB/s), blank until there is one."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{human_size(speed)}/s", style="progress.data.speed")


def progress_bar(err: TextIO) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), AmountColumn(), RateColumn(),
                    TimeRemainingColumn(), console=Console(file=err), transient=True)
