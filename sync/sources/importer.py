"""An import, start to finish: *get* (a CSV file or an HR API) -> *transform* (validate)
-> guard -> *load* and *sweep* (``sync.people.apply``), recorded as a run.

Every import is a run. A held run stores its records and the rows it could not read, and
changes nobody until ``approve_import``, or until it is rejected and ``discard_held``
deletes them; a failed run says why; the ledger remembers each imported file's content so
the same file is not imported twice by accident.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sync.audit.log import record_events
from sync.audit.store import checkpoint_after_run
from sync.db import session_scope
from sync.models import ImportedFile, Run, RunRecord, StoredPerson
from sync.people.apply import Policy, apply_feed
from sync.people.changes import Decision
from sync.people.snapshot import BATCH, CHUNK, PEOPLE, chunks
from sync.rules import AttributeMap
from sync.runs import approve_run, finish_run, hold_message, last_accepted, start_run
from sync.sources import audit
from sync.sources.collector import collector_paused
from sync.sources.errors import AlreadyImported
from sync.sources.feed import FULL, Feed, Record, Reject
from sync.sources.fit import content_reasons, sample_ids
from sync.sources.guard import Baseline, hold_reasons
from sync.sources.rejects import write_rejects
from sync.sources.validate import missing_columns, raw_employee_id, validate_records
from sync.statuses import RunStatus

KIND = "import"
SHOWN_REJECTS = 200  # rejects kept in the run's details; the report file has them all
Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportOptions:
    """How one source is imported (``[sources]`` in hr2bi.toml fills these in; see the README)."""

    source: str = "hr"
    mode: str = FULL
    max_shrink: float = 0.10
    absences_before_leaver: int = 2
    prehire_lead_days: int = 0
    rejects_dir: Path = Path("rejects")
    force: bool = False
    today: dt.date | None = None
    optional_columns: tuple[str, ...] = ()
    # Where the end-of-run audit checkpoint is signed (the settings of the same names);
    # without a key no checkpoint is taken.
    audit_signing_key: Path | None = None
    audit_origin: str = "hr2bi audit log"

    def missing(self, feed: Feed, attribute_map: AttributeMap) -> list[str]:
        """Mapped columns the feed lacks, less those this source never provides."""
        found = missing_columns(feed.columns, attribute_map, feed.origin)
        return [c for c in found if c not in self.optional_columns]

    def policy(self) -> Policy:
        return Policy(self.today or dt.date.today(), self.prehire_lead_days, self.absences_before_leaver)


def import_feed(engine: Engine, feed: Feed, attribute_map: AttributeMap, options: ImportOptions,
                progress: Progress | None = None) -> Run:
    """Import one feed as a run; returns the finished run (succeeded or held).

    An error raised on the way (a ``FeedError``, a database error) marks the run failed
    (audited as such) and propagates. Every outcome ends with a signed audit checkpoint
    when a key is configured.
    """
    missing = options.missing(feed, attribute_map)
    with session_scope(engine) as session:
        _check_ledger(session, feed, options)
        run = start_run(session, KIND, feed.source, feed.mode, _feed_details(feed))
    try:
        with collector_paused(), session_scope(engine) as session:
            run = session.merge(run)
            baseline = _baseline(session, feed)
            reasons = hold_reasons(feed.mode, feed.columns, len(feed.records), missing, baseline, options.max_shrink)
            stored = _hr_records(session, sample_ids(feed.records, attribute_map))
            reasons += content_reasons(feed.records, attribute_map, stored, feed.mode == FULL)
            if reasons:
                _hold(session, run, feed, reasons, options)
            else:
                _apply(session, run, feed, attribute_map, options, progress)
            _remember_file(session, run, feed)
            _checkpoint(session, run, options)
            return run
    except Exception as exc:
        # Not a handler: the run is marked failed (rather than left "running" forever) and
        # the error goes on to the caller unchanged.
        # No checkpoint here: signing may be what failed, and the next run's covers this event.
        with session_scope(engine) as session:
            run = finish_run(session.merge(run), RunStatus.FAILED, reason=str(exc) or type(exc).__name__)
            record_events(session, [audit.run_event(run, feed.origin, run.counts, audit.FAILURE, _first_line(run))])
        raise


def _first_line(run: Run) -> str:
    """The error for the audit log: its first line only (a database error goes on with the
    SQL and its parameters, people's data an immutable log should not keep)."""
    return (run.reason or "").splitlines()[0][:500] if run.reason else "failed"


def approve_import(engine: Engine, run_id: int, by: str, attribute_map: AttributeMap,
                   options: ImportOptions, progress: Progress | None = None) -> Run:
    """Apply a held import exactly as it was held, and record the approval."""

    def apply(session: Session, run: Run) -> tuple[dict[str, Any], dict[str, Any]]:
        feed = _held_feed(session, run)
        held = replace(options, source=feed.source, mode=feed.mode)
        counts, details, decisions, rejects = _merge(session, run, feed, attribute_map, held, progress)
        session.execute(delete(RunRecord).where(RunRecord.run_id == run.id))
        _audit(session, _with_counts(run, counts), feed, decisions, rejects)
        return counts, details

    with collector_paused(), session_scope(engine) as session:
        run = approve_run(session, run_id, by, apply)
        _checkpoint(session, run, options)
        return run


def discard_held(session: Session, run: Run) -> int:
    """A rejected import's held records, deleted (``reject_run`` discards them): it can never
    be imported. Returns how many there were."""
    return session.execute(delete(RunRecord).where(RunRecord.run_id == run.id)).rowcount or 0


def _with_counts(run: Run, counts: Mapping[str, Any]) -> Run:
    """The run as its import event reports it (``approve_run`` stores the counts after)."""
    run.counts = dict(counts)
    return run


def _audit(session: Session, run: Run, feed: Feed, decisions: Sequence[Decision],
           rejects: Sequence[Reject]) -> None:
    record_events(session, audit.import_events(run, feed.origin, decisions, rejects, feed.unit))


def _checkpoint(session: Session, run: Run, options: ImportOptions) -> None:
    checkpoint_after_run(session, options.audit_signing_key, options.audit_origin, run.id)


def _check_ledger(session: Session, feed: Feed, options: ImportOptions) -> None:
    if feed.content_hash is None or options.force:
        return
    seen = session.scalars(select(ImportedFile).where(
        ImportedFile.source == feed.source, ImportedFile.content_hash == feed.content_hash)).first()
    if seen is None:
        return
    run = session.get(Run, seen.run_id) if seen.run_id is not None else None
    if run is not None and run.status == RunStatus.HELD:
        raise AlreadyImported(
            f"{feed.origin}: the same content is held as run {run.id} of {feed.source}: approve it with "
            f"`hr2bi runs approve {run.id} --by NAME`, or use --force to read it again")
    if run is not None and run.status == RunStatus.REJECTED:
        raise AlreadyImported(
            f"{feed.origin}: the same content was rejected as run {run.id} of {feed.source} ({run.reason}): "
            "nothing to do (use --force to read it again)")
    if dates_due(session, feed.source, options.policy().today):
        # The same export, but a date in it has come: a termination at month end, a start
        # date's provisioning day. Read it again so those people's standing is decided
        # today, as it would be from a fresh export (unchanged rows cost nothing).
        return
    raise AlreadyImported(
        f"{feed.origin}: the same content ({seen.path}) was imported for {feed.source} by run "
        f"{seen.run_id} on {seen.imported_at:%Y-%m-%d %H:%M}: nothing to do (use --force to import it again)")


def dates_due(session: Session, source: str, today: dt.date) -> bool:
    """Whether someone of ``source`` has a date (``review_on``) that has come by ``today``."""
    return session.scalar(select(StoredPerson.id).where(
        StoredPerson.source == source, StoredPerson.review_on.is_not(None),
        StoredPerson.review_on <= today).limit(1)) is not None


def _feed_details(feed: Feed) -> dict[str, Any]:
    return {"origin": feed.origin, "columns": list(feed.columns), "content_hash": feed.content_hash,
            "unit": feed.unit, "records": len(feed.records), "size": feed.size}


def _baseline(session: Session, feed: Feed) -> Baseline | None:
    last = last_accepted(session, KIND, feed.source, FULL)
    if last is None:
        return None
    return Baseline(last.id, int(last.counts.get("records", 0)), tuple(last.details.get("columns", ())))


def _hold(session: Session, run: Run, feed: Feed, reasons: Sequence[str], options: ImportOptions) -> None:
    for batch in chunks(_held_rows(run, feed), BATCH):
        session.execute(insert(RunRecord), batch)
    counts = {"records": len(feed.records), "rejected": len(feed.rejects)}
    details = _rejects_details(run, feed, list(feed.rejects), options)
    why = "; ".join(reasons) + ": nothing was imported; check the feed (approving imports it as it is)"
    finish_run(run, RunStatus.HELD, counts, hold_message(run.id, why), details)
    record_events(session, [audit.hold_event(run, feed.origin, reasons)])


def _apply(session: Session, run: Run, feed: Feed, attribute_map: AttributeMap, options: ImportOptions,
           progress: Progress | None) -> None:
    counts, details, decisions, rejects = _merge(session, run, feed, attribute_map, options, progress)
    finish_run(run, RunStatus.SUCCEEDED, counts, None, details)
    _audit(session, run, feed, decisions, rejects)


Merged = tuple[dict[str, Any], dict[str, Any], list[Decision], list[Reject]]


def _merge(session: Session, run: Run, feed: Feed, attribute_map: AttributeMap, options: ImportOptions,
           progress: Progress | None) -> Merged:
    """Validate and fold the feed into the identity store: the run's counts and details, the
    decisions about people and the rejected rows (for the audit log)."""
    carried = _carried(session) if options.missing(feed, attribute_map) else None
    known = {row.employee_id: row.record_hash for row in session.execute(
        select(PEOPLE.c.employee_id, PEOPLE.c.record_hash))}
    candidates, rejects = validate_records(feed.records, attribute_map, feed.unit, carried, progress, known,
                                           f"prehire_lead_days={options.prehire_lead_days}")
    rejects = sorted([*_identified(feed.rejects, attribute_map), *rejects], key=lambda r: r.position)
    seen = {c.employee_id for c in candidates} | {r.employee_id for r in rejects if r.employee_id}
    outcome = apply_feed(session, run.id, feed.source, feed.mode == FULL, candidates, seen,
                         attribute_map, options.policy())
    counts = {"records": len(feed.records), "rejected": len(rejects), "added": 0, "changed": 0,
              "unchanged": 0, "missing": 0, **outcome.counts}
    details = {**_rejects_details(run, feed, rejects, options), "problems": outcome.problems}
    return counts, details, outcome.decisions, rejects


def _identified(rejects: Sequence[Reject], attribute_map: AttributeMap) -> list[Reject]:
    """Rows that could not be read (a control character, bad bytes, a wrong cell count) with
    the employee id their id cell shows: that person is in the feed, not absent from it (a
    broken row must not count toward leaving)."""
    return [r if r.employee_id else replace(r, employee_id=raw_employee_id(r.values, attribute_map)) for r in rejects]


def _carried(session: Session) -> Callable[[str], dict[str, str]]:
    records = _hr_records(session)
    return lambda employee_id: records.get(employee_id, {})


def _hr_records(session: Session, employee_ids: Sequence[str] | None = None) -> dict[str, dict[str, str]]:
    """Employee id -> the HR columns last read for them: everyone's, or those of
    ``employee_ids`` (what a feed is compared with)."""
    query = select(PEOPLE.c.employee_id, PEOPLE.c.hr_record)
    if employee_ids is None:
        return {row.employee_id: row.hr_record or {} for row in session.execute(query)}
    return {row.employee_id: row.hr_record or {} for batch in chunks(list(employee_ids), CHUNK)
            for row in session.execute(query.where(PEOPLE.c.employee_id.in_(batch)))}


def _rejects_details(run: Run, feed: Feed, rejects: list[Reject], options: ImportOptions) -> dict[str, Any]:
    if not rejects:
        return {"rejects": []}
    path = options.rejects_dir / f"{_safe(feed.source)}-run-{run.id}-rejects.csv"
    write_rejects(path, rejects, feed.columns, feed.unit)
    shown = [{feed.unit: r.position, "employee_id": r.employee_id, "reason": r.reason}
             for r in rejects[:SHOWN_REJECTS]]
    return {"rejects": shown, "rejects_file": str(path)}


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def _remember_file(session: Session, run: Run, feed: Feed) -> None:
    if feed.content_hash is None:
        return
    exists = session.scalars(select(ImportedFile).where(
        ImportedFile.source == feed.source, ImportedFile.content_hash == feed.content_hash)).first()
    if exists is None:
        session.add(ImportedFile(source=feed.source, content_hash=feed.content_hash, path=feed.origin,
                                 size=feed.size or 0, run_id=run.id))
    else:
        exists.run_id, exists.path = run.id, feed.origin


def _held_rows(run: Run, feed: Feed) -> list[dict[str, Any]]:
    """The held feed as ``run_records`` rows: its records, then the rows that could not be
    read (undecodable, ragged), which approving must report too. ``details["records"]``
    (the feed's record count) tells them apart: rows past it are those rejects."""
    records = [{"run_id": run.id, "position": i, "line": r.position, "record": dict(r.values)}
               for i, r in enumerate(feed.records)]
    rejects = [{"run_id": run.id, "position": i, "line": r.position,
                "record": {"reason": r.reason, "employee_id": r.employee_id, "values": dict(r.values)}}
               for i, r in enumerate(feed.rejects, len(feed.records))]
    return records + rejects


def _held_feed(session: Session, run: Run) -> Feed:
    rows = list(session.scalars(select(RunRecord).where(RunRecord.run_id == run.id).order_by(RunRecord.position)))
    details = run.details
    count = details["records"]  # see _held_rows (runs held before this have no rows past it)
    records = tuple(Record(row.line, row.record) for row in rows[:count])
    rejects = tuple(Reject(row.line, row.record["reason"], row.record["employee_id"], row.record["values"])
                    for row in rows[count:])
    return Feed(run.source or "hr", run.mode or FULL, details.get("origin", "held run"),
                tuple(details.get("columns", ())), records, rejects, details.get("content_hash"),
                details.get("unit", "line"))
