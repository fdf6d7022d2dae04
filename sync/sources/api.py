"""HR REST API -> ``Feed``: paging, the records path and the field paths.

Paging styles: ``page`` (page number and size), ``offset`` (offset and limit), ``cursor``
(a token from each answer sent back with the next request) and ``next_link`` (a URL in the
answer, or the ``Link: <...>; rel="next"`` header).

A server may cap the page size below what was asked (Workday's REST API sends at most 100),
so a page shorter than ``size`` is not the end. When the answer announces a total
(``total_path``) paging goes on until that many records are read, and an import that reads
fewer fails before it changes anyone: a feed cut short would otherwise turn the people it
lost into leavers. Each record becomes HR column -> text
through the configured field paths (``fields``), so the rest of the import cannot tell a
JSON API from a CSV export.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin

import httpx

from sync.sources.cells import escaped, forbidden_problem, has_forbidden, visible
from sync.sources.errors import SourceResponseError
from sync.sources.feed import Feed, Record, Reject
from sync.sources.http import Auth, HrApi, Retry

PAGING = ("none", "page", "offset", "cursor", "next_link")
_MISSING = object()


@dataclass(frozen=True)
class Paging:
    type: str = "none"
    size: int = 100
    page_param: str = "page"
    size_param: str = "per_page"
    first_page: int = 1
    offset_param: str = "offset"
    limit_param: str = "limit"
    cursor_param: str = "cursor"
    cursor_path: str = "next_cursor"
    next_path: str | None = None  # None: the Link header's rel="next"
    total_path: str | None = None  # where the answer says how many records there are in all
    max_pages: int = 10_000


@dataclass(frozen=True)
class ApiSource:
    """A configured HR API (``[sources.NAME]`` with ``type = "api"`` in hr2bi.toml)."""

    name: str
    url: str
    method: str = "GET"
    params: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    auth: Auth = field(default_factory=Auth)
    paging: Paging = field(default_factory=Paging)
    records_path: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)
    null_values: tuple[str, ...] = ()
    timeout: float = 30.0
    retry: Retry = field(default_factory=Retry)


def fetch_feed(source: ApiSource, mode: str) -> Feed:
    """Read a configured HR API source over a client of its own (the CLI and the sync job)."""
    with httpx.Client(timeout=source.timeout, follow_redirects=True) as client:
        api = HrApi(client, source.auth, source.retry, time.sleep, source.timeout)
        return api_feed(api, source, mode)


def api_feed(api: HrApi, source: ApiSource, mode: str) -> Feed:
    """Every record of every page, as a feed; a configured field no record has is a
    missing column (which the feed guard holds), not a column of empty cells."""
    raw = [record for page in _pages(api, source) for record in page]
    columns = list(source.fields) or list(dict.fromkeys(k for r in raw if isinstance(r, dict) for k in r))
    present = {c for c in columns if any(_path(r, source.fields.get(c, c)) is not _MISSING for r in raw)}
    for column in columns:
        if has_forbidden(column):
            raise SourceResponseError(f"{source.url}: a record's key {escaped(column)!r} holds a control "
                                      "character: configure fields for this source, or fix the API's answer")
    records, rejects = [], []
    for number, item in enumerate(raw, 1):
        converted = _record(item, columns, present, source)
        if isinstance(converted, Reject):
            rejects.append(replace(converted, position=number))
        else:
            records.append(Record(number, converted))
    kept = tuple(c for c in columns if c in present or not raw)
    return Feed(source.name, mode, source.url, kept, tuple(records), tuple(rejects), None, "record")


def _record(item: Any, columns: list[str], present: set[str], source: ApiSource) -> dict[str, str] | Reject:
    if not isinstance(item, dict):
        return Reject(0, f"the record is {type(item).__name__}, not an object: check records_path")
    values: dict[str, str] = {}
    for column in columns:
        if column not in present:
            continue
        value = _path(item, source.fields.get(column, column))
        if isinstance(value, dict):
            return Reject(0, f"{column}: the value at {source.fields.get(column, column)!r} is an object: "
                             "point the field path at one of its values", None, visible(values))
        values[column] = _text(value, source.null_values)
    # A JSON string may carry \u0000 or a lone surrogate, which no database stores: see cells.
    problem = forbidden_problem(values)
    return values if problem is None else Reject(0, problem, None, visible(values))


def _text(value: Any, nulls: tuple[str, ...]) -> str:
    if value is None or value is _MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(_text(v, nulls) for v in value if v is not None)
    text = str(value)
    # BambooHR writes an empty date as "0000-00-00".
    return "" if text in nulls else text


def _path(document: Any, path: str) -> Any:
    """``a.b.0.c``; a key that itself contains dots (``@odata.nextLink``) is tried whole first."""
    if path == "":
        return document
    if isinstance(document, dict):
        if path in document:
            return document[path]
        head, _, rest = path.partition(".")
        return _path(document[head], rest) if head in document and rest else _MISSING
    if isinstance(document, list):
        head, _, rest = path.partition(".")
        if head.isdigit() and int(head) < len(document):
            return _path(document[int(head)], rest)
    return _MISSING


def _records(page: Any, source: ApiSource, url: str) -> list[Any]:
    found = _path(page, source.records_path)
    if not isinstance(found, list):
        where = f"at {source.records_path!r}" if source.records_path else "at the top level"
        raise SourceResponseError(f"{url}: the answer has no list of records {where}: set records_path "
                                  f"to where the records are (the answer starts {str(page)[:120]!r})")
    return found


def _pages(api: HrApi, source: ApiSource) -> Iterator[list[Any]]:
    paging, url, params = source.paging, source.url, dict(source.params)
    seen: set[str] = set()
    count = Count()
    for number in range(paging.max_pages):
        params.update(_page_params(paging, number, count.read))
        # None, not {}: httpx replaces a URL's query with the params given, even empty ones,
        # and a next link's query (?page=2, $skiptoken=...) is the whole point of it.
        page, response = api.get_json(source.method, url, params=params or None, headers=source.headers,
                                      body=source.body)
        records = _records(page, source, str(response.url))
        count.add(records, _total(paging, page, str(response.url)), str(response.url))
        yield records
        follow = _next(paging, page, response, records, count)
        if follow is None:
            count.check(source.url)
            return
        if paging.type in ("cursor", "next_link"):
            if follow in seen:  # a server bug that would otherwise loop until max_pages
                raise SourceResponseError(f"{response.url}: the API sent the same next page ({follow}) "
                                          "twice: check the paging settings")
            seen.add(follow)
        if paging.type == "cursor":
            params[paging.cursor_param] = follow
        elif paging.type == "next_link":
            url, params = urljoin(str(response.url), follow), {}
    raise SourceResponseError(f"{source.url}: more than {paging.max_pages} pages: check the paging settings "
                              "(or raise max_pages)")


@dataclass
class Count:
    """What paging has read so far, against what the server announced."""

    read: int = 0
    total: int | None = None
    largest: int = 0
    last: str | None = None  # the previous page, to catch a server that ignores the page parameter

    def add(self, records: list[Any], total: int | None, url: str) -> None:
        fingerprint = repr(records)
        if records and fingerprint == self.last:
            raise SourceResponseError(f"{url}: the API sent the same page twice: check the paging settings "
                                      "(page_param, offset_param...) against the API's documentation")
        self.read, self.largest, self.last = self.read + len(records), max(self.largest, len(records)), fingerprint
        self.total = total if total is not None else self.total

    def check(self, url: str) -> None:
        if self.total is not None and self.read < self.total:
            raise SourceResponseError(
                f"{url}: the HR API announced {self.total} records but sent {self.read}: the import is "
                "stopped and nobody was changed (a cut-short feed would make the missing people leavers); "
                "try again later, or check the paging settings")


def _total(paging: Paging, page: Any, url: str) -> int | None:
    if paging.total_path is None:
        return None
    value = _path(page, paging.total_path)
    if value is _MISSING or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise SourceResponseError(f"{url}: the total at {paging.total_path!r} is {value!r}, not a number: "
                                  "check total_path") from exc


def _page_params(paging: Paging, number: int, read: int) -> dict[str, Any]:
    if paging.type == "page":
        return {paging.page_param: paging.first_page + number, paging.size_param: paging.size}
    if paging.type == "offset":
        # The records actually read, not number * size: a server that capped the page at
        # fewer than ``size`` would otherwise have the gap skipped.
        return {paging.offset_param: read, paging.limit_param: paging.size}
    return {}


def _next(paging: Paging, page: Any, response: Any, records: list[Any], count: Count) -> str | None:
    """What to fetch next: a page counter (any text), a cursor or a URL; None at the end."""
    if paging.type in ("page", "offset"):
        if count.total is not None:
            # Trust the total: a short page is not the end while it says more; an empty one is.
            return "more" if count.read < count.total and records else None
        # No total: a page shorter than the server's own page size (the largest it has sent,
        # which may be less than ``size``) is the last; an empty page is always the end.
        return "more" if records and len(records) >= count.largest else None
    if paging.type == "cursor":
        cursor = _path(page, paging.cursor_path)
        return str(cursor) if cursor not in (None, "", _MISSING) else None
    if paging.type == "next_link":
        link = _path(page, paging.next_path) if paging.next_path else response.links.get("next", {}).get("url")
        return str(link) if link not in (None, "", _MISSING) else None
    return None
