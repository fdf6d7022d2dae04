"""The feed guard: reasons to hold an HR feed before it touches anyone.

Pure. A full feed that shrank sharply since the last accepted one, a feed without some of
the columns the attribute map reads, or a full feed whose header changed is most likely a
broken export, not a mass layoff: it is held for a person to look at and approve. A header
that kept its names while its columns' contents no longer fit them is ``fit``'s to find.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sync.sources.feed import FULL


@dataclass(frozen=True)
class Baseline:
    """The last accepted full feed of the same source."""

    run_id: int
    records: int
    columns: tuple[str, ...]


def hold_reasons(mode: str, columns: Sequence[str], records: int, missing: Sequence[str],
                 baseline: Baseline | None, max_shrink: float) -> list[str]:
    reasons = []
    if missing:
        reasons.append(f"the feed lacks the column(s) {', '.join(missing)} that fields.yaml reads "
                       "(approving keeps everyone's last known values for them)")
    if mode != FULL or baseline is None:
        return reasons
    if baseline.records and records < baseline.records * (1 - max_shrink):
        drop = 1 - records / baseline.records
        reasons.append(f"the full feed has {records} people, {drop:.0%} fewer than the {baseline.records} "
                       f"of run {baseline.run_id} (more than {max_shrink:.0%} is held)")
    added = [c for c in columns if c not in baseline.columns]
    removed = [c for c in baseline.columns if c not in columns]
    if added or removed:
        change = "; ".join(part for part in (
            f"added {', '.join(added)}" if added else "", f"removed {', '.join(removed)}" if removed else "") if part)
        reasons.append(f"the header changed since run {baseline.run_id}: {change}")
    return reasons
