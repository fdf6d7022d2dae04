"""The three status vocabularies, one enum each: a run's, an outbox change's, a sync's.

They share words with different meanings, so a status is always read through its enum:

- ``failed``: a run that ended with an error (or with changes left to retry), a change
  whose last attempt failed and that the next apply retries, a sync in which a source or
  some changes failed while the rest was done;
- ``superseded``: a plan a newer plan took over, a change a newer plan's row took over;
- ``rejected``: a held run someone refused, a change discarded because its run was;
- ``done``: a change applied, a sync finished.

Values are the strings stored in ``runs.status`` and ``bi_outbox.status`` and printed in
JSON; a ``StrEnum`` compares equal to its string, so rows written before them read the same.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """Where a run (an import, a plan) stands: ``runs.status`` (sync/runs.py).

    A run is ``running`` while it works, then ``succeeded`` or ``failed``; one a guard
    stopped is ``held`` until it is ``approved`` (and applied) or ``rejected`` (its held
    work discarded). A plan is ``planned`` until it is applied, and ``superseded`` when a
    newer plan took over the changes it had not applied yet."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HELD = "held"
    APPROVED = "approved"
    REJECTED = "rejected"
    PLANNED = "planned"
    SUPERSEDED = "superseded"


ACCEPTED_RUNS = (RunStatus.SUCCEEDED, RunStatus.APPROVED)  # a run whose work was applied


class ChangeStatus(StrEnum):
    """Where one planned BI change stands: ``bi_outbox.status`` (sync/plan/store.py).

    ``pending`` until an apply takes it, then ``done`` (applied, with its audit event) or
    ``failed`` (retried after a backoff) until it has failed too often and is
    ``quarantined`` (left for an operator). ``superseded``: a newer plan's row for the same
    change took it over; ``rejected``: its held run was rejected, so it is never applied."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    QUARANTINED = "quarantined"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"


OPEN_CHANGES = (ChangeStatus.PENDING, ChangeStatus.FAILED)  # what an apply still takes


class SyncStatus(StrEnum):
    """How one nightly sync ended (``SyncOutcome.status``, sync/jobs/results.py): ``done``,
    ``skipped`` (another sync held the lock) or ``failed`` (a source or some changes
    failed: the rest was still done, and the runs say why)."""

    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
