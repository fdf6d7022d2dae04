"""A progress line for long applies: done/total, rate and ETA, on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.done = total, 0
        self.enabled = enabled and total > 0
        self._stream = stream or sys.stderr
        self._clock = clock
        self._started = clock()
        self._shown = 0.0

    def step(self) -> None:
        self.done += 1
        now = self._clock()
        if self.enabled and (now - self._shown >= 0.5 or self.done >= self.total):
            self._shown = now
            self._stream.write("\r" + line(self.done, self.total, now - self._started))
            self._stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._stream.write("\n")
            self._stream.flush()


def line(done: int, total: int, elapsed: float) -> str:
    """``[#####.....] 120/1000 (12%)  9.8/s  ETA 1m30s``"""
    width = 30
    shown = min(done, total)
    filled = int(width * shown / total) if total else width
    rate = done / elapsed if elapsed > 0 else 0.0
    left = max(total - done, 0)
    eta = _duration(left / rate) if rate > 0 else "?"
    return (f"[{'#' * filled}{'.' * (width - filled)}] {shown}/{total} "
            f"({100 * shown // max(total, 1)}%)  {rate:.1f}/s  ETA {eta}  ")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
