"""What every operation shares while it runs: the store, the config, the global limit."""

from __future__ import annotations

from dataclasses import dataclass, field

from s3ferry.core.config import Config
from s3ferry.core.results import NoProgress, Progress
from s3ferry.local.buffers import PartBuffers
from s3ferry.ops.batched import LocalBatches
from s3ferry.ops.resume.journal import Journal, journal_dir
from s3ferry.ops.slots import Slots
from s3ferry.store.s3 import ObjectStore


@dataclass(frozen=True)
class Context:
    store: ObjectStore
    config: Config
    progress: Progress = field(default_factory=NoProgress)
    # One limiter for every request that carries a part's bytes, across all files: it is what
    # bounds memory to max_concurrency x part_size.
    # (ops/slots.py: anyio.CapacityLimiter's interface, without a loop pass for a free slot.)
    slots: Slots = field(default=None)  # type: ignore[assignment]
    # Part buffers for uploads, lent only to holders of a slot, at most config.part_budget bytes.
    buffers: PartBuffers = field(default=None)  # type: ignore[assignment]
    journal: Journal = field(default=None)  # type: ignore[assignment]
    # Small files' local work, several files per worker-thread hop: set by run_jobs while
    # its jobs run (ops.batched.run_local falls back to a hop per call without it).
    batches: LocalBatches | None = None

    def __post_init__(self) -> None:
        if self.slots is None:
            object.__setattr__(self, "slots", Slots(self.config.max_concurrency))
        if self.buffers is None:
            object.__setattr__(self, "buffers", PartBuffers(self.config.part_budget))
        if self.journal is None:
            object.__setattr__(self, "journal", Journal(journal_dir(self.config)))
