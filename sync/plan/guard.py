"""The safety guard: a run that would switch off too many accounts at once is held.

A truncated HR feed or a broken mapping edit looks, to the planner, exactly like a mass
departure. So a run whose deactivations plus role downgrades exceed
max(``min_count``, min(``max_count``, ``max_share`` of the active accounts)) applies nothing
until someone approves it (``hr2bi runs approve ID --by NAME``) or rejects it. The floor keeps a small
account (a handful of users, where one leaver is already 20 %) from holding every
deactivation an identity provider pushes. Pure: the caller counts, this decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class GuardLimits:
    max_share: float = 0.20
    max_count: int = 500
    min_count: int = 10


@dataclass(frozen=True)
class Verdict:
    held: bool
    risky: int
    threshold: int
    reason: str | None = None


def threshold(active_accounts: int, limits: GuardLimits) -> int:
    """The most risky changes a run may make unapproved."""
    share = math.floor(limits.max_share * active_accounts)
    return max(limits.min_count, min(limits.max_count, share))


def assess(deactivations: int, role_downgrades: int, active_accounts: int,
           limits: GuardLimits) -> Verdict:
    risky = deactivations + role_downgrades
    allowed = threshold(active_accounts, limits)
    if risky <= allowed:
        return Verdict(False, risky, allowed)
    return Verdict(True, risky, allowed, (
        f"{deactivations} deactivations and {role_downgrades} role downgrades exceed the "
        f"guard's {allowed} (max({limits.min_count}, min({limits.max_count}, "
        f"{limits.max_share:.0%} of {active_accounts} active accounts))): check the feed and "
        f"the mappings"))
