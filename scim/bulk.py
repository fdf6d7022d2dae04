"""SCIM Bulk (RFC 7644 section 3.7).

Operations run in order, each in its own savepoint, so one failure leaves the others
intact. ``bulkId:xyz`` references in a path or in data are replaced by the id the
referenced POST created; an operation whose reference is not created yet waits until it
is (forward references work), and what can never resolve (a cycle, a failed or unknown
bulkId) fails with 409 as section 3.7.1 asks.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from scim.errors import InvalidSyntax, InvalidValue, PayloadTooLarge, ScimError
from scim.resource_service import ResourceService
from scim.schema import BULK_REQUEST, BULK_RESPONSE
from sync.db import lock_for_write

REFERENCE = re.compile(r"bulkId:([A-Za-z0-9_.~-]+)")
_PATH = re.compile(r"^/(Users|Groups)(?:/([^/]+))?$")
# The longest chain of operations waiting on one another's bulkIds: users, then a group of
# them, then groups of groups. RFC 7643 5 has no place to advertise it: the README says it.
MAX_REFERENCE_DEPTH = 64


@dataclass
class _Run:
    operations: list[dict[str, Any]]
    fail_on_errors: int | None
    created: dict[str, str] = field(default_factory=dict)  # bulkId -> resource id
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    errors: int = 0

    def stopped(self) -> bool:
        return self.fail_on_errors is not None and self.errors >= self.fail_on_errors


def run_bulk(body: Any, store_for: Callable[[str], ResourceService], session: Session,
             actor: str | None, max_operations: int) -> dict[str, Any]:
    run = _start(body, max_operations)
    # Before the first operation's savepoint: on SQLite a SAVEPOINT opens a deferred
    # transaction, after which the store could no longer take the write lock up front.
    lock_for_write(session)
    for i in _schedule(run.operations):
        if run.stopped():
            break
        _execute(run, i, store_for, session, actor)
    if not run.stopped():
        for i in range(len(run.operations)):
            if i not in run.results:
                _fail(run, i, ScimError("the bulkId references of this operation cannot be "
                                        "resolved (operations that wait on one another)", status=409))
    ordered = [run.results[i] for i in sorted(run.results)]
    return {"schemas": [BULK_RESPONSE], "Operations": ordered}


def _schedule(operations: list[dict[str, Any]]) -> list[int]:
    """The order to run operations in: request order, except that an operation waits for
    the POSTs whose bulkIds it references (Kahn's algorithm, lowest index first: linear in
    operations and references, up to a log factor). Operations on a cycle are left out.

    Refuses the whole request when references chain more than ``MAX_REFERENCE_DEPTH``
    operations deep: no identity provider needs that, and it bounds the work of one request.
    """
    waiting_on, dependants = _dependencies(operations)
    ready = [i for i, count in enumerate(waiting_on) if count == 0]
    heapq.heapify(ready)
    depth = [1] * len(operations)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for dependant in dependants[i]:
            depth[dependant] = max(depth[dependant], depth[i] + 1)
            if depth[dependant] > MAX_REFERENCE_DEPTH:
                raise InvalidValue(f"bulkId references chain more than {MAX_REFERENCE_DEPTH} "
                                   "operations deep")
            waiting_on[dependant] -= 1
            if waiting_on[dependant] == 0:
                heapq.heappush(ready, dependant)
    return order


def _dependencies(operations: list[dict[str, Any]]) -> tuple[list[int], list[list[int]]]:
    """For each operation: how many operations it waits on, and which wait on it.
    A reference to a bulkId no operation declares waits on nothing (it fails when run)."""
    definers: dict[str, list[int]] = {}
    for i, operation in enumerate(operations):
        if operation.get("bulkId") is not None:
            definers.setdefault(operation["bulkId"], []).append(i)
    waiting_on = [0] * len(operations)
    dependants: list[list[int]] = [[] for _ in operations]
    for i, operation in enumerate(operations):
        for ref in _references(operation) - {operation.get("bulkId")}:
            for definer in definers.get(ref, ()):
                dependants[definer].append(i)
                waiting_on[i] += 1
    return waiting_on, dependants


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
    for number, operation in enumerate(operations, 1):
        _check_operation(number, operation)
    fail_on_errors = body.get("failOnErrors")
    if fail_on_errors is not None and (isinstance(fail_on_errors, bool) or not isinstance(fail_on_errors, int)
                                       or fail_on_errors < 1):
        raise InvalidValue("failOnErrors must be a positive integer")
    return _Run([dict(o) for o in operations], fail_on_errors)


def _check_operation(number: int, operation: Mapping[str, Any]) -> None:
    # RFC 7644 3.7: method, path, bulkId and version are strings; anything else cannot be
    # matched, hashed or echoed back, so the request is refused before it runs.
    for name in ("method", "path", "bulkId", "version"):
        value = operation.get(name)
        if value is None and name in ("bulkId", "version"):
            continue
        if not isinstance(value, str) or not value:
            raise InvalidValue(f"operation {number}: {name} must be a non-empty string")


def _references(operation: Mapping[str, Any]) -> set[str]:
    text = repr(operation.get("path")) + repr(operation.get("data"))
    return set(REFERENCE.findall(text))


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


def _execute(run: _Run, index: int, store_for: Callable[[str], ResourceService], session: Session,
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
              store_for: Callable[[str], ResourceService], actor: str | None
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
    path = operation.get("path")
    if isinstance(path, str) and result["method"] != "POST":
        result["location"] = path
    run.results[index] = result
    run.errors += 1
