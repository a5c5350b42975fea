"""An asyncio transport stand-in for store/http1.py's Connection in unit tests: it records what
is written and whether it was closed, and never reads."""

from __future__ import annotations


class FakeTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data) -> None:
        self.written.append(bytes(data))

    def writelines(self, data) -> None:
        self.written.extend(bytes(d) for d in data)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True
