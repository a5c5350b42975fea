"""How much a sync --delete may remove: a count or a share of the destination (rclone bisync's
--max-delete, default 50%), so a mistyped or half-empty source cannot empty a destination."""

from __future__ import annotations

import math
from dataclasses import dataclass

from s3ferry.core.errors import ConfigError

DEFAULT_MAX_DELETE = "50%"


@dataclass(frozen=True, slots=True)
class DeleteLimit:
    count: int | None = None  # at most this many
    share: float | None = None  # at most this percentage of what the destination holds

    @classmethod
    def parse(cls, text: str | int | None) -> DeleteLimit:
        """``"50%"`` (a share), ``"100"`` or 100 (a count); None: no limit."""
        if text is None:
            return cls()
        if isinstance(text, int) and not isinstance(text, bool):
            return cls.parse(str(text))
        raw = str(text).strip()
        try:
            if raw.endswith("%"):
                share = float(raw[:-1])
                if not (math.isfinite(share) and 0 <= share <= 100):
                    raise ValueError
                return cls(share=share)
            count = int(raw)
            if count < 0:
                raise ValueError
            return cls(count=count)
        except ValueError:
            raise ConfigError(f"--max-delete takes a count (100) or a share of the destination (50%), "
                              f"got {text!r}") from None

    def refusal(self, deleting: int, existing: int) -> str | None:
        """Why ``deleting`` of the destination's ``existing`` entries may not go (None: they may)."""
        if self.count is not None and deleting > self.count:
            return f"refusing to delete {deleting} of {existing} at the destination (more than --max-delete {self.count})"
        if self.share is not None and existing and deleting * 100 > self.share * existing:
            percent = 100 * deleting / existing
            return (f"refusing to delete {deleting} of {existing} at the destination ({percent:.0f}%, more than "
                    f"--max-delete {self.share:g}%); check the source, or add --force")
        return None
