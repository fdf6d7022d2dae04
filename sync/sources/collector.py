"""The cyclic garbage collector, paused while a feed is read and imported.

An import of 100,000 rows builds millions of small, acyclic containers (records, people,
rows, events) that stay alive until the import ends. Each full collection walks them all,
and the collector runs more of them the more there are: about a quarter of a large import's
time (bench/import_100k.py). Reference counting still frees everything as usual; only
cycles wait, and they are collected when the pause ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause cyclic collection for the block (nested pauses keep it paused until the
    outermost ends; a collector someone else disabled stays disabled)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
