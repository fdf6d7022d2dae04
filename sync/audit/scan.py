"""One pass over a bundle's ``events.jsonl`` for ``verify``: parse and check each event,
hash it as a Merkle leaf, and rebuild the CSV, OCSF and CEF views to compare with the files.

Rebuilding the views is most of verify's work (JSON-encoding every value again), and each
batch of events is independent of the others but for the CSV header, so batches can be
scanned by several processes: ``scan_batch`` is a pure function of a batch's raw lines,
and the caller's process reads the files and compares the results in file order, so the
first failure reported is the same whatever the number of processes.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sync.audit.bundle import BATCH, EVENTS_FILE
from sync.audit.errors import AuditError, BundleInvalid, Reason
from sync.audit.events import check_event
from sync.audit.merkle import leaf_hash
from sync.audit.views import render_views

AHEAD = 2  # batches in flight per process: enough to keep each busy, memory bounded


@dataclass(frozen=True)
class BatchScan:
    """One batch's result: its seqs and leaf hashes, its views (None when the events
    cannot be rendered), or the first malformed line's (reason, detail)."""

    seqs: list[int]
    leaves: list[bytes]
    views: dict[str, bytes] | None
    error: tuple[Reason, str] | None = None


@dataclass
class EventsScan:
    """The whole file: seqs and leaf hashes in file order, and the first view file (if any)
    that differs from the views rebuilt from the events."""

    seqs: list[int] = field(default_factory=list)
    leaves: list[bytes] = field(default_factory=list)
    view_mismatch: str | None = None


def scan_batch(first_number: int, lines: list[bytes], product_version: str,
               header: bool) -> BatchScan:
    """Parse, check and hash ``lines`` (raw, newline included; the first is line
    ``first_number`` of the file) and render their views."""
    events: list[dict[str, Any]] = []
    seqs: list[int] = []
    leaves: list[bytes] = []
    for number, raw in enumerate(lines, first_number):
        if not raw.endswith(b"\n"):
            return BatchScan(seqs, leaves, None, (Reason.EVENT_MALFORMED,
                                                  f"{EVENTS_FILE} does not end in a newline"))
        line = raw[:-1]
        try:
            event = parse_event(number, line)
        except BundleInvalid as exc:  # returned, not raised: it crosses a process boundary
            return BatchScan(seqs, leaves, None, (exc.reason, exc.detail))
        events.append(event)
        seqs.append(event["seq"])
        leaves.append(leaf_hash(line))
    try:
        views = render_views(events, product_version, header=header)
    except AuditError:  # an event the views cannot express cannot match them either
        views = None
    return BatchScan(seqs, leaves, views)


def parse_event(number: int, line: bytes) -> dict[str, Any]:
    where = f"{EVENTS_FILE} line {number}"
    try:
        event = json.loads(line)
    except ValueError as exc:
        raise BundleInvalid(Reason.EVENT_MALFORMED, f"{where} is not JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise BundleInvalid(Reason.EVENT_MALFORMED, f"{where} is not a JSON object")
    try:
        check_event(event)
    except AuditError as exc:
        raise BundleInvalid(Reason.EVENT_MALFORMED, f"{where}: {exc}") from exc
    return event


def scan_events(events: BinaryIO, views: Mapping[str, BinaryIO], product_version: str,
                jobs: int = 1) -> EventsScan:
    """Scan the events file, comparing each batch's views with the view files as read."""
    scan, compare = EventsScan(), _ViewCompare(views)
    for batch in _scanned(_raw_batches(events), product_version, jobs):
        if batch.error is not None:
            raise BundleInvalid(*batch.error)
        scan.seqs.extend(batch.seqs)
        scan.leaves.extend(batch.leaves)
        compare.next_batch(batch.views)
    if not scan.seqs:  # no event: the CSV header alone must still be there
        compare.next_batch(render_views([], product_version))
    scan.view_mismatch = compare.finish()
    return scan


def _raw_batches(events: BinaryIO) -> Iterator[tuple[int, list[bytes]]]:
    number, lines = 1, []
    for line in events:
        lines.append(line)
        if len(lines) == BATCH:
            yield number, lines
            number, lines = number + BATCH, []
    if lines:
        yield number, lines


def _scanned(batches: Iterator[tuple[int, list[bytes]]], product_version: str,
             jobs: int) -> Iterator[BatchScan]:
    """The batches scanned in order: here, or by ``jobs`` processes a few batches ahead."""
    if jobs <= 1:
        for index, (number, lines) in enumerate(batches):
            yield scan_batch(number, lines, product_version, index == 0)
        return
    pool = ProcessPoolExecutor(max_workers=jobs)
    pending: deque[Future[BatchScan]] = deque()
    try:
        for index, (number, lines) in enumerate(batches):
            pending.append(pool.submit(scan_batch, number, lines, product_version, index == 0))
            if len(pending) >= AHEAD * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:  # also when the caller stops at a failure: drop the batches not yet started
        pool.shutdown(cancel_futures=True)


class _ViewCompare:
    """The view files, read in step with the views rebuilt batch after batch."""

    def __init__(self, views: Mapping[str, BinaryIO]) -> None:
        self.views, self.mismatch = views, None

    def next_batch(self, rebuilt: Mapping[str, bytes] | None) -> None:
        if self.mismatch is not None:
            return
        if rebuilt is None:
            self.mismatch = next(iter(self.views))
            return
        for name, content in rebuilt.items():
            if self.views[name].read(len(content)) != content:
                self.mismatch = name
                return

    def finish(self) -> str | None:
        if self.mismatch is None:  # nothing may follow the rebuilt views
            self.mismatch = next((name for name, h in self.views.items() if h.read(1)), None)
        return self.mismatch
