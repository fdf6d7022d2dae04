"""What an import writes to the audit log: the run, each person added, changed, terminated
or rehired, each rejected row, and a hold with its reasons.

Pure: runs, decisions and rejects in, ``Event``s out; the importer appends them with
``record_events`` in the same transaction as the change itself, so there is never a person
changed without its event nor an event without its change. The actor is the source
(``source_actor``); every reason names the run, the source and the file (or API) read.
A rejected row's event carries its line and the reason, never the row's cells: those stay
in the rejects report.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sync.audit.actors import source_actor
from sync.audit.log import Event
from sync.models import Run
from sync.people.changes import Decision
from sync.sources.feed import Reject

RUN, HOLD, REJECT = "import.run", "run.hold", "import.reject"
SUCCESS, FAILURE, HELD = "success", "failure", "held"


def run_target(run: Run) -> dict[str, Any]:
    return {"type": "run", "id": run.id, "name": f"{run.kind} {run.source}"}


def why(run: Run, origin: str, detail: str | None = None) -> dict[str, Any]:
    """The reason every event of one import carries: which run read what, and why."""
    reason: dict[str, Any] = {"run": run.id, "source": run.source, "file": origin}
    if detail is not None:
        reason["why"] = detail
    return reason


def import_events(run: Run, origin: str, decisions: Iterable[Decision], rejects: Iterable[Reject],
                  unit: str) -> Iterator[Event]:
    """One event per person decision, then one per rejected row, then the run's own."""
    who = source_actor(run.source or "")
    for decision in decisions:
        yield Event(who, decision.action, {"type": "person", "id": decision.employee_id, "name": decision.name},
                    decision.before, decision.after, why(run, origin, decision.why), run.id)
    for reject in rejects:
        yield Event(who, REJECT, {"type": "row", "id": f"{unit} {reject.position}", "name": origin},
                    None, {unit: reject.position, "employee_id": reject.employee_id, "reason": reject.reason},
                    why(run, origin), run.id, FAILURE)
    yield run_event(run, origin, run.counts, SUCCESS)


def run_event(run: Run, origin: str, counts: Mapping[str, Any], outcome: str,
              detail: str | None = None) -> Event:
    """The run itself: its counts, and whether it succeeded or failed (and why)."""
    return Event(source_actor(run.source or ""), RUN, run_target(run), None, dict(counts),
                 why(run, origin, detail), run.id, outcome)


def hold_event(run: Run, origin: str, reasons: Iterable[str]) -> Event:
    """A feed the guard held: nothing imported, and why, until someone approves it."""
    return Event(source_actor(run.source or ""), HOLD, run_target(run), None, dict(run.counts),
                 why(run, origin, "; ".join(reasons)), run.id, HELD)
