"""The SCIM 2.0 HTTP surface: a Flask blueprint mounted at ``/scim/v2``.

Views only translate: HTTP in, a call on the SCIM service (``scim.store``), SCIM JSON out.
Every failure is a ``ScimError`` rendered by one handler; anything unexpected becomes a
SCIM 500 body with no traceback (and is logged with one).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from werkzeug.exceptions import HTTPException

from scim import discovery
from scim.body import read_body
from scim.bulk import run_bulk
from scim.errors import (
    InvalidSyntax,
    InvalidValue,
    MethodNotAllowed,
    NotFound,
    NotImplementedByServer,
    PayloadTooLarge,
    ScimError,
    Unauthorized,
)
from scim.filters import parse_filter
from scim.input import check_text, load_json
from scim.resource_service import Page, ResourceService
from scim.resources import project
from scim.schema import LIST_RESPONSE, SEARCH_REQUEST
from scim.storage import Query
from scim.store import STORES
from sync.db import is_transient

log = logging.getLogger(__name__)
CONTENT_TYPE = "application/scim+json"
MAX_START_INDEX = 2**31 - 1

WRITE_ATTEMPTS = 3  # a deadlock victim is rare; twice in a row on one request is rarer still

SCIM_PREFIX = "/scim/v2"  # where the host mounts the blueprint (scim.service.register)
blueprint = Blueprint("scim", __name__)
T = TypeVar("T")


# --- plumbing ---------------------------------------------------------------------------


def scim_config() -> Any:
    return current_app.extensions["scim"]


def scim_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    payload = "" if body is None else json.dumps(body, ensure_ascii=False)
    response = Response(payload, status=status, content_type=CONTENT_TYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def error_response(error: ScimError) -> Response:
    response = scim_response(error.to_body(), error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hr2bi SCIM"'
    return response


@blueprint.errorhandler(ScimError)
def _scim_error(error: ScimError) -> Response:
    return error_response(error)


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return error_response(http_to_scim(error))


@blueprint.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    log.exception("unexpected error in %s %s", request.method, request.path)
    return error_response(ScimError("internal error; the server log has the details", status=500))


def http_to_scim(error: HTTPException) -> ScimError:
    status = error.code or 500
    if status == 413:
        return PayloadTooLarge(f"the request is larger than {scim_config().max_payload} bytes")
    if status == 405:
        return MethodNotAllowed(f"{request.method} is not allowed on {request.path}")
    if status == 404:
        return NotFound(f"no SCIM endpoint at {request.path}")
    return ScimError(error.description or error.name, status=status)


@blueprint.before_request
def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    actor = scim_config().authenticate(secret.strip())
    if actor is None:
        raise Unauthorized("the bearer token is not valid (unknown, revoked or wrong scope)")
    g.scim_actor = actor


@contextmanager
def unit_of_work() -> Iterator[Session]:
    with Session(scim_config().engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def written(work: Callable[[Session], T]) -> T:
    """``work`` in its own unit of work, run again (a bounded number of times, after a short
    random pause) when the database gave the transaction up as a deadlock victim or busy:
    each attempt starts from what is committed, so nothing of a failed one is kept."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            with unit_of_work() as session:
                return work(session)
        except DBAPIError as exc:
            if attempt == WRITE_ATTEMPTS or not is_transient(exc):
                raise
            log.warning("SCIM write %s %s: %s; attempt %d of %d", request.method, request.path,
                        type(exc.orig).__name__, attempt + 1, WRITE_ATTEMPTS)
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")


def store_for(kind: str, session: Session) -> ResourceService:
    return STORES[kind](session, scim_root(), scim_config().on_write)


def scim_root() -> str:
    """The public SCIM base URL: the configured base URL, else the request's own root."""
    base = scim_config().base_url or request.url_root
    return base.rstrip("/") + SCIM_PREFIX


def json_body() -> Any:
    raw = read_body()
    if not raw.strip():
        raise InvalidSyntax("the request body is empty; a JSON object is expected")
    return load_json(raw)


@blueprint.before_request
def _check_url_text() -> None:
    # werkzeug decodes the path and query with errors="replace": look at the raw bytes, so
    # percent-encoded surrogates (%ED%A0%80) or other non-UTF-8 are refused, not replaced.
    raw_path = request.environ.get("PATH_INFO", "").encode("latin-1", "replace")
    for raw in (raw_path, unquote_to_bytes(request.query_string)):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidValue("the URL is not valid UTF-8 once percent-decoded (RFC 3986 2.5)") from exc
    check_text(request.path)
    for key, value in request.args.items(multi=True):
        check_text(key)
        check_text(value)


def _csv(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _int(name: str, value: Any, default: int) -> int:
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        raise InvalidValue(f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"{name} must be an integer, not {value!r}") from exc


def query_from(params: dict[str, Any]) -> tuple[Query, list[str], list[str]]:
    """SCIM list parameters (query string or SearchRequest body, RFC 7644 3.4.2-3.4.3)."""
    config = scim_config()
    lowered = {str(k).lower(): v for k, v in params.items()}
    text = lowered.get("filter")
    if text is not None and not isinstance(text, str):
        raise InvalidValue("filter must be a string")
    order = str(lowered.get("sortorder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise InvalidValue(f"sortOrder must be ascending or descending, not {order!r}")
    sort_by = lowered.get("sortby")
    query = Query(
        filter=parse_filter(text) if text else None,
        sort_by=str(sort_by) if sort_by else None,
        descending=order == "descending",
        # Far past any real list, and within every database's OFFSET range.
        start_index=min(MAX_START_INDEX, max(1, _int("startIndex", lowered.get("startindex"), 1))),
        count=min(config.max_results, max(0, _int("count", lowered.get("count"), config.default_count))),
    )
    return query, _csv(lowered.get("attributes")), _csv(lowered.get("excludedattributes"))


def list_body(page: Page, shape: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    resources = [shape(r) for r in page.resources]
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": page.total,
        "startIndex": page.start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def single(resource: dict[str, Any], status: int = 200, location: bool = False) -> Response:
    headers = {"ETag": resource["meta"]["version"]}
    if location:
        headers["Location"] = resource["meta"]["location"]
    attributes = _csv(request.args.get("attributes"))
    excluded = _csv(request.args.get("excludedAttributes"))
    kind = resource["meta"]["resourceType"]
    rtype = STORES["Users" if kind == "User" else "Groups"].rtype
    return scim_response(project(resource, rtype, attributes, excluded), status, headers)


# --- discovery ------------------------------------------------------------------------------


@blueprint.get("/ServiceProviderConfig")
def service_provider_config() -> Response:
    return scim_response(discovery.service_provider_config(scim_root(), scim_config()))


@blueprint.get("/ResourceTypes")
def resource_types() -> Response:
    items = discovery.resource_types(scim_root())
    return scim_response(discovery.listing(items))


@blueprint.get("/ResourceTypes/<name>")
def resource_type(name: str) -> Response:
    return scim_response(discovery.resource_type(scim_root(), name))


@blueprint.get("/Schemas")
def schemas() -> Response:
    return scim_response(discovery.listing(discovery.schemas(scim_root())))


@blueprint.get("/Schemas/<path:schema_id>")
def schema(schema_id: str) -> Response:
    return scim_response(discovery.schema(scim_root(), schema_id))


# --- resources ------------------------------------------------------------------------------


def _search(kind: str, params: dict[str, Any]) -> Response:
    query, attributes, excluded = query_from(params)
    with unit_of_work() as session:
        store = store_for(kind, session)
        page = store.search(query)
    return scim_response(list_body(page, lambda r: project(r, store.rtype, attributes, excluded)))


@blueprint.get("/<any(Users, Groups):kind>")
def list_resources(kind: str) -> Response:
    return _search(kind, request.args.to_dict())


@blueprint.post("/<any(Users, Groups):kind>/.search")
def search_resources(kind: str) -> Response:
    return _search(kind, search_params())


def search_params() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidSyntax("a search request must be a JSON object")
    schemas_ = body.get("schemas")
    if schemas_ is not None and SEARCH_REQUEST not in schemas_:
        raise InvalidSyntax(f"a search request must list {SEARCH_REQUEST} in schemas")
    return body


@blueprint.post("/.search")
def search_all() -> Response:
    query, attributes, excluded = query_from(search_params())
    with unit_of_work() as session:
        stores = {s.rtype.name: s for s in (store_for(k, session) for k in ("Users", "Groups"))}
        page = discovery.search_everything(query, list(stores.values()))

    def shape(resource: dict[str, Any]) -> dict[str, Any]:
        rtype = stores[resource["meta"]["resourceType"]].rtype
        return project(resource, rtype, attributes, excluded)

    return scim_response(list_body(page, shape))


@blueprint.post("/<any(Users, Groups):kind>")
def create_resource(kind: str) -> Response:
    body = json_body()
    resource = written(lambda session: store_for(kind, session).create(body, g.scim_actor))
    return single(resource, 201, location=True)


@blueprint.get("/<any(Users, Groups):kind>/<resource_id>")
def get_resource(kind: str, resource_id: str) -> Response:
    with unit_of_work() as session:
        resource = store_for(kind, session).get(resource_id)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and resource["meta"]["version"] in [t.strip() for t in if_none_match.split(",")]:
        return scim_response(None, 304, {"ETag": resource["meta"]["version"]})
    return single(resource)


@blueprint.put("/<any(Users, Groups):kind>/<resource_id>")
def replace_resource(kind: str, resource_id: str) -> Response:
    body, if_match = json_body(), request.headers.get("If-Match")
    resource = written(lambda session: store_for(kind, session).replace(
        resource_id, body, g.scim_actor, if_match))
    return single(resource)


@blueprint.patch("/<any(Users, Groups):kind>/<resource_id>")
def patch_resource(kind: str, resource_id: str) -> Response:
    body, if_match = json_body(), request.headers.get("If-Match")
    resource = written(lambda session: store_for(kind, session).patch(
        resource_id, body, g.scim_actor, if_match))
    return single(resource)


@blueprint.delete("/<any(Users, Groups):kind>/<resource_id>")
def delete_resource(kind: str, resource_id: str) -> Response:
    if_match = request.headers.get("If-Match")
    written(lambda session: store_for(kind, session).delete(resource_id, g.scim_actor, if_match))
    return scim_response(None, 204)


@blueprint.post("/Bulk")
def bulk() -> Response:
    config = scim_config()
    if request.content_length and request.content_length > config.bulk_max_payload:
        raise PayloadTooLarge(f"a bulk request may carry at most {config.bulk_max_payload} bytes")
    body = json_body()
    result = written(lambda session: run_bulk(
        body, lambda kind: store_for(kind, session), session, g.scim_actor, config.bulk_max_operations))
    return scim_response(result)


@blueprint.route("/Me", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def me() -> Response:
    raise NotImplementedByServer("/Me is not supported: hr2bi is provisioned by an identity provider")
