"""SCIM Bulk (RFC 7644 section 3.7).

Operations run in order, each in its own savepoint, so one failure leaves the others
intact. ``bulkId:xyz`` references in a path or in data are replaced by the id the
referenced POST created; an operation whose reference is not created yet waits for a
later pass (forward references work), and what can never resolve (a cycle, a failed or
unknown bulkId) fails with 409 as section 3.7.1 asks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from scim.errors import InvalidSyntax, InvalidValue, PayloadTooLarge, ScimError
from scim.schema import BULK_REQUEST, BULK_RESPONSE
from scim.store import ResourceStore
from sync.db import lock_for_write

REFERENCE = re.compile(r"bulkId:([A-Za-z0-9_.~-]+)")
_PATH = re.compile(r"^/(Users|Groups)(?:/([^/]+))?$")


@dataclass
class _Run:
    operations: list[dict[str, Any]]
    fail_on_errors: int | None
    created: dict[str, str] = field(default_factory=dict)  # bulkId -> resource id
    failed: set[str] = field(default_factory=set)
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    errors: int = 0

    def stopped(self) -> bool:
        return self.fail_on_errors is not None and self.errors >= self.fail_on_errors


def run_bulk(body: Any, store_for: Callable[[str], ResourceStore], session: Session,
             actor: str | None, max_operations: int) -> dict[str, Any]:
    run = _start(body, max_operations)
    # Before the first operation's savepoint: on SQLite a SAVEPOINT opens a deferred
    # transaction, after which the store could no longer take the write lock up front.
    lock_for_write(session)
    pending = list(range(len(run.operations)))
    while pending and not run.stopped():
        waiting = [i for i in pending if _unresolved(run, run.operations[i])]
        ready = [i for i in pending if i not in waiting]
        if not ready:
            for i in waiting:
                _fail(run, i, ScimError("the bulkId references of this operation cannot be "
                                        "resolved (a cycle, or a failed operation)", status=409))
            break
        for i in ready:
            if run.stopped():
                break
            _execute(run, i, store_for, session, actor)
        pending = waiting
    ordered = [run.results[i] for i in sorted(run.results)]
    return {"schemas": [BULK_RESPONSE], "Operations": ordered}


def _start(body: Any, max_operations: int) -> _Run:
    if not isinstance(body, Mapping):
        raise InvalidSyntax("a bulk request must be a JSON object")
    if BULK_REQUEST not in (body.get("schemas") or []):
        raise InvalidSyntax(f"a bulk request must list {BULK_REQUEST} in schemas")
    operations = body.get("Operations")
    if not isinstance(operations, list) or not all(isinstance(o, Mapping) for o in operations):
        raise InvalidSyntax("a bulk request needs an Operations list of objects")
    if len(operations) > max_operations:
        raise PayloadTooLarge(f"a bulk request may hold at most {max_operations} operations, "
                              f"this one has {len(operations)}")
    fail_on_errors = body.get("failOnErrors")
    if fail_on_errors is not None and (not isinstance(fail_on_errors, int) or fail_on_errors < 1):
        raise InvalidValue("failOnErrors must be a positive integer")
    return _Run([dict(o) for o in operations], fail_on_errors)


def _references(operation: Mapping[str, Any]) -> set[str]:
    text = repr(operation.get("path")) + repr(operation.get("data"))
    return set(REFERENCE.findall(text))


def _unresolved(run: _Run, operation: Mapping[str, Any]) -> bool:
    own = operation.get("bulkId")
    known = {o.get("bulkId") for o in run.operations} - run.failed
    return any(ref not in run.created and ref in known and ref != own
               for ref in _references(operation))


def _resolve(run: _Run, value: Any) -> Any:
    if isinstance(value, str):
        def substitute(match: re.Match[str]) -> str:
            ref = match.group(1)
            if ref not in run.created:
                raise ScimError(f"bulkId {ref!r} does not name a created resource", status=409)
            return run.created[ref]
        return REFERENCE.sub(substitute, value)
    if isinstance(value, list):
        return [_resolve(run, v) for v in value]
    if isinstance(value, Mapping):
        return {k: _resolve(run, v) for k, v in value.items()}
    return value


def _execute(run: _Run, index: int, store_for: Callable[[str], ResourceStore], session: Session,
             actor: str | None) -> None:
    operation = run.operations[index]
    method = str(operation.get("method", "")).upper()
    try:
        path, data = _resolve(run, operation.get("path")), _resolve(run, operation.get("data"))
        with session.begin_nested():
            status, resource, location = _dispatch(method, path, data, operation, store_for, actor)
    except ScimError as error:
        _fail(run, index, error)
        return
    result: dict[str, Any] = {"method": method, "status": str(status)}
    if operation.get("bulkId"):
        result["bulkId"] = operation["bulkId"]
        if method == "POST" and resource is not None:
            run.created[operation["bulkId"]] = resource["id"]
    result["location"] = location
    if resource is not None:
        result["version"] = resource["meta"]["version"]
    run.results[index] = result


def _dispatch(method: str, path: Any, data: Any, operation: Mapping[str, Any],
              store_for: Callable[[str], ResourceStore], actor: str | None
              ) -> tuple[int, dict[str, Any] | None, str]:
    match = _PATH.match(path) if isinstance(path, str) else None
    if match is None:
        raise InvalidValue(f"path must be /Users, /Groups or /<type>/<id>, not {path!r}")
    kind, resource_id = match.group(1), match.group(2)
    store = store_for(kind)
    version = operation.get("version")
    if method == "POST":
        if resource_id is not None or not operation.get("bulkId"):
            raise InvalidValue("POST needs a bulkId and a path without an id")
        resource = store.create(data, actor)
        return 201, resource, resource["meta"]["location"]
    if resource_id is None:
        raise InvalidValue(f"{method} needs a path with a resource id")
    if method == "PUT":
        resource = store.replace(resource_id, data, actor, version)
        return 200, resource, resource["meta"]["location"]
    if method == "PATCH":
        resource = store.patch(resource_id, data, actor, version)
        return 200, resource, resource["meta"]["location"]
    if method == "DELETE":
        store.delete(resource_id, actor, version)
        return 204, None, store.location(resource_id)
    raise InvalidValue(f"method must be POST, PUT, PATCH or DELETE, not {method!r}")


def _fail(run: _Run, index: int, error: ScimError) -> None:
    operation = run.operations[index]
    result: dict[str, Any] = {"method": str(operation.get("method", "")).upper(),
                              "status": str(error.status), "response": error.to_body()}
    if operation.get("bulkId"):
        result["bulkId"] = operation["bulkId"]
        run.failed.add(str(operation["bulkId"]))
    path = operation.get("path")
    if isinstance(path, str) and result["method"] != "POST":
        result["location"] = path
    run.results[index] = result
    run.errors += 1
