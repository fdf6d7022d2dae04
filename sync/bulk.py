"""Bulk inserts through the driver: a few statements for 100,000 rows, never one per row.

PostgreSQL gets COPY FROM STDIN; SQLite an executemany of tuples. SQLAlchemy's executemany
spends more time building its per-row parameter dicts than the database spends writing.
Values still go through each column type's own bind processor (JSON, dates), so they are
stored exactly as an ORM or Core insert stores them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain, islice
from operator import itemgetter
from typing import Any

from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import JSON, Date, DateTime, Table
from sqlalchemy.dialects import postgresql
from sqlmodel import Session

from sync.jsontext import dumps, encoder, stored

BATCH = 5000  # rows per executemany
_PG = postgresql.dialect()
_JSON_TEXT = encoder(ensure_ascii=False, separators=(",", ":"))


class EncodedJSON(str):
    """A JSON column's value already encoded (``json.dumps(value)`` or
    ``sync.jsontext.stored(value)``, which reads back as the same value): a caller that had
    to encode it anyway saves the second pass. Written as it is on every database."""

    __slots__ = ()


def bulk_insert(session: Session, table: Table, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert rows (all with the same keys) in the session's transaction.

    An iterator is read as it is written, BATCH rows at a time: on PostgreSQL all of them go
    in one COPY, so the server parses and indexes the rows sent while the caller makes the
    next ones, and waits only for the last ones at the end (a COPY per batch waited at the
    end of each). Making the rows must not use the session: the COPY holds its connection."""
    remaining = iter(rows)
    first = next(remaining, None)
    if first is None:
        return
    names = list(first)
    rows = chain((first,), remaining)
    dialect = session.get_bind().dialect
    connection = session.connection().connection.driver_connection
    if dialect.name == "postgresql":
        _copy(connection, table, names, rows)
        return
    processors = [_processor(table, name, dialect) for name in names]
    statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    cursor = connection.cursor()
    try:
        for batch in batches(rows, BATCH):
            cursor.executemany(statement, _bound(batch, names, processors))
    finally:
        cursor.close()


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of ``size`` items (the last one shorter), read from ``items`` as they are needed."""
    remaining = iter(items)
    while batch := list(islice(remaining, size)):
        yield batch


def _processor(table: Table, name: str, dialect: Any) -> Callable[[Any], Any] | None:
    kind = table.c[name].type
    process = kind._cached_bind_processor(dialect)
    if process is None:
        return None
    if isinstance(kind, JSON):
        return _json_processor(process, dialect)
    if isinstance(kind, Date | DateTime):
        # An import stamps every row with the same time, and dates repeat: each is formatted once.
        return _memoized(process)
    return process


def _json_processor(process: Callable[[Any], Any], dialect: Any) -> Callable[[Any], Any]:
    # Without a configured serializer the column's text is json.dumps(value): ``dumps``
    # writes the same text faster. Anything else (None, SQLAlchemy's null markers) goes
    # through the column's own processor.
    fast = dumps if getattr(dialect, "_json_serializer", None) is None else process

    def encoded(value: Any) -> Any:
        kind = type(value)
        if kind is EncodedJSON:
            return value
        return fast(value) if kind is dict or kind is list else process(value)

    return encoded


def _memoized(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    done: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        try:
            return done[value]
        except KeyError:
            result = done[value] = process(value)
            return result

    return cached


def _bound(rows: Sequence[Mapping[str, Any]], names: Sequence[str],
           processors: Sequence[Callable[[Any], Any] | None]) -> list[list[Any]]:
    """Each row's values in ``names`` order, those with a bind processor processed."""
    values_of = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    processed = [(index, process) for index, process in enumerate(processors) if process is not None]
    bound = []
    for row in rows:
        values = list(values_of(row))
        for index, process in processed:
            values[index] = process(values[index])
        bound.append(values)
    return bound


def _copy(connection: Any, table: Table, names: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """COPY FROM STDIN; JSON columns go as their text (jsonb parses it), the rest as psycopg
    adapts them (dates, times with their zone, booleans)."""
    processors = [_json_text if isinstance(table.c[name].type.dialect_impl(_PG), JSON) else None
                  for name in names]
    columns = ", ".join(names)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN",
                                                    writer=QueuedLibpqWriter(cursor)) as copy:
        for batch in batches(rows, BATCH):  # a batch's values at a time, not a second copy of all
            for values in _bound(batch, names, processors):
                copy.write_row(values)


def _json_text(value: Any) -> str:
    # jsonb keeps the value, not the text: a flat dict (an event's target) goes as orjson's.
    kind = type(value)
    if kind is EncodedJSON:
        return value
    return stored(value) if kind is dict else _JSON_TEXT(value)
