"""CSV exports -> ``Feed``: the file to read, its encoding, its delimiter, its rows.

Exports are messy in known ways, each handled here and reported by physical line number:
a BOM or UTF-16 (see ``decoding``), semicolons or tabs instead of commas (sniffed from the
header), quoted cells holding line breaks (a row is numbered by the line it starts on),
ragged rows, unclosed quotes (the row is rejected and reading resumes on the next line),
and bytes that do not decode. None of them sinks the whole file.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sync.rules import AttributeMap
from sync.sources.cells import escaped, forbidden_problem, has_forbidden, visible
from sync.sources.collector import collector_paused
from sync.sources.decoding import DecodedText, decode_feed
from sync.sources.errors import FeedError
from sync.sources.feed import Feed, Record, Reject
from sync.sources.validate import missing_columns

DELIMITERS = (",", ";", "\t", "|")
HeaderCheck = Callable[[tuple[str, ...]], None]


@dataclass(frozen=True)
class CsvOptions:
    """How a source's files are read; ``delimiter`` None means sniff it from the header."""

    encoding: str = "utf-8"
    delimiter: str | None = None
    glob: str = "*.csv"


@dataclass(frozen=True)
class CsvFile:
    """A parsed export: header, readable rows, rows rejected while reading, and identity."""

    path: Path
    columns: tuple[str, ...]
    records: tuple[Record, ...]
    rejects: tuple[Reject, ...]
    content_hash: str
    size: int
    encoding: str
    delimiter: str


def find_file(path: Path, glob: str = "*.csv") -> Path:
    """``path`` itself, or the newest file in the folder ``path`` matching ``glob``."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise FeedError(f"{path}: no such file or folder: check the path")
    candidates = [p for p in path.glob(glob) if p.is_file()]
    if not candidates:
        raise FeedError(f"{path}: no file matches {glob!r}: drop the HR export there, "
                        "or set the source's glob")
    # Newest first; the name breaks ties so the choice never depends on directory order.
    return max(candidates, key=lambda p: (p.stat().st_mtime, p.name))


def read_csv_file(path: Path, options: CsvOptions, check_header: HeaderCheck) -> CsvFile:
    """Read and parse ``path``; ``check_header`` sees the columns before any row is read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FeedError(f"{path}: cannot read it: {exc.strerror or exc}") from exc
    decoded = decode_feed(data, options.encoding)
    delimiter = options.delimiter or sniff_delimiter(decoded.text)
    with collector_paused():  # 100,000 rows are 100,000 dicts kept alive: see collector
        columns, records, rejects = parse_csv(decoded, delimiter, check_header, str(path))
    return CsvFile(path, columns, records, rejects, hashlib.sha256(data).hexdigest(),
                   len(data), decoded.encoding, delimiter)


def sniff_delimiter(text: str) -> str:
    """The candidate that splits the header line most often (comma on a tie or none)."""
    header = next(iter(io.StringIO(text, newline="")), "")
    counts = {d: _unquoted(header).count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _unquoted(line: str) -> str:
    return "".join(part for index, part in enumerate(line.split('"')) if index % 2 == 0)


def parse_csv(decoded: DecodedText, delimiter: str, check_header: HeaderCheck,
              where: str) -> tuple[tuple[str, ...], tuple[Record, ...], tuple[Reject, ...]]:
    lines = _Lines(decoded.text)
    header = _header(lines, delimiter, where)
    check_header(header)
    records: list[Record] = []
    rejects: list[Reject] = []
    bad_lines = decoded.bad_lines
    # One scan of the whole text; only a file holding a control character checks its rows.
    controls = has_forbidden(decoded.text)
    for start, end, cells, problem in _rows(lines, delimiter, len(header)):
        # Nearly every file decodes cleanly: only then is a row's every line looked up.
        bad = next((bad_lines[n] for n in range(start, end + 1) if n in bad_lines), None) if bad_lines else None
        problem = problem or (f"{bad}: fix the file's encoding" if bad else _shape(cells, header))
        values = dict(zip(header, cells, strict=False))
        if controls and (control := forbidden_problem(values)):
            problem, values = problem or control, visible(values)  # storable on any database
        if problem:
            rejects.append(Reject(start, problem, None, values))
        else:
            records.append(Record(start, values))
    return header, tuple(records), tuple(rejects)


def _header(lines: _Lines, delimiter: str, where: str) -> tuple[str, ...]:
    for _start, _end, cells, _problem in _rows(lines, delimiter, None):
        names = [c.strip().lstrip("\ufeff") for c in cells]
        while names and not names[-1]:
            names.pop()  # a trailing delimiter leaves an empty last column
        seen: dict[str, int] = {}
        for index, name in enumerate(names, 1):
            if not name:
                raise FeedError(f"{where}: header column {index} has no name: name every column")
            if has_forbidden(name):
                raise FeedError(f"{where}: header column {index} ({escaped(name)!r}) holds a "
                                "control character: fix the header line")
            if name in seen:
                raise FeedError(f"{where}: the header names {name!r} twice (columns {seen[name]} "
                                f"and {index}): rename one of them in the export")
            seen[name] = index
        return tuple(names)
    raise FeedError(f"{where}: the file is empty: expected a header line and one row per person")


def _fits(cells: list[str], width: int) -> bool:
    """As wide as the header, allowing trailing delimiters with nothing after them."""
    return len(cells) == width or (len(cells) > width and not any(c.strip() for c in cells[width:]))


def _shape(cells: list[str], header: tuple[str, ...]) -> str | None:
    if _fits(cells, len(header)):
        return None
    return (f"the row has {len(cells)} cells but the header has {len(header)}: "
            "check for a missing or extra delimiter")


class _Lines:
    """Physical lines with a cursor, so reading can resume after a broken quoted cell."""

    def __init__(self, text: str) -> None:
        self.lines = list(io.StringIO(text, newline=""))
        self.next = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.next >= len(self.lines):
            raise StopIteration
        self.next += 1
        return self.lines[self.next - 1]


def _rows(lines: _Lines, delimiter: str,
          width: int | None) -> Iterator[tuple[int, int, list[str], str | None]]:
    """(first line, last line, cells, problem) per non-blank row; line numbers are 1-based.

    A row spanning several lines is a quoted cell with line breaks when its width fits the
    header; otherwise a quote was left open and swallowed the following rows, so the row is
    rejected alone and reading resumes on its next line.
    """
    reader = csv.reader(lines, delimiter=delimiter)
    while lines.next < len(lines.lines):
        start = lines.next + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            lines.next = start  # resume on the line after the broken row
            reader = csv.reader(lines, delimiter=delimiter)
            yield start, start, [], f"cannot read the row ({exc}): check its quotes"
            continue
        if not "".join(cells).strip():  # no cells, or only blank ones
            continue
        end = lines.next
        if end > start and width is not None and not _fits(cells, width):
            lines.next = start
            reader = csv.reader(lines, delimiter=delimiter)
            yield start, start, [], (f"a quoted cell opened on this line is never closed (it runs "
                                     f"to line {end}): close the quote")
            continue
        yield start, end, cells, None


def csv_feed(path: Path, source: str, mode: str, options: CsvOptions, attribute_map: AttributeMap) -> Feed:
    """The feed in ``path`` (a file, or the newest match in a folder); the header is checked
    against the attribute map before any row is read."""
    found = find_file(path, options.glob)
    parsed = read_csv_file(found, options, lambda columns: _check(columns, attribute_map, found))
    return Feed(source, mode, str(found), parsed.columns, parsed.records, parsed.rejects,
                parsed.content_hash, "line", parsed.size)


def _check(columns: tuple[str, ...], attribute_map: AttributeMap, path: Path) -> None:
    missing_columns(columns, attribute_map, str(path))  # raises when no one can be identified
