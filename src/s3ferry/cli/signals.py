"""SIGTERM and SIGHUP end a run exactly as Ctrl-C does: the operation is cancelled, so every
upload in flight is aborted (or kept, with --keep-partial) and temporary files are removed,
then the process exits 128 + the signal (143, 129). CI runners, `timeout` and container
runtimes send SIGTERM, and a closed terminal SIGHUP; Python's default for both is to die on
the spot, leaving billed multipart uploads behind."""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

T = TypeVar("T")
SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None)


class Signalled(Exception):
    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


async def until_signalled(operation: Callable[..., Awaitable[T]], *args: object) -> T:
    """Run ``operation(*args)``; on SIGTERM or SIGHUP cancel it (its clean-up runs, shielded
    where it must) and raise :class:`Signalled`."""
    received: list[int] = []
    result: list[T] = []
    failure: list[Exception] = []
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            with anyio.open_signal_receiver(*SIGNALS) as signals:
                async for signum in signals:
                    received.append(int(signum))
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(watch)
        try:
            result.append(await operation(*args))
        except Exception as exc:  # noqa: BLE001 - re-raised as itself, not in a task group's group
            failure.append(exc)
        tg.cancel_scope.cancel()  # done: stop watching
    if received:
        raise Signalled(received[0])
    if failure:
        raise failure[0]
    return result[0]
