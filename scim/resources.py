"""SCIM resources at the boundary: client JSON -> stored form -> client JSON.

``normalize`` validates a client's resource against the schema metadata and returns the
stored form: canonical attribute names, extension attributes under their URN, typed
values, readOnly and writeOnly attributes dropped. ``render`` is the way back out, and
``project`` applies ``attributes``/``excludedAttributes`` (RFC 7644 3.9).

Identity providers' quirks are absorbed here, each marked where it is handled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from scim.errors import InvalidSyntax, InvalidValue
from scim.filters import InvalidFilter
from scim.matching import parse_datetime
from scim.paths import parse_path
from scim.schema import Attribute, ResourceType, Schema
from sync.names import has_invisible, name_key

_BOOL_WORDS = {"true": True, "false": False}
# Employee numbers and cost centres arrive as JSON numbers from some HR-fed IdPs; every
# other string attribute must be a JSON string (RFC 7643 2.3.1).
_NUMBERS_AS_TEXT = frozenset({"employeeNumber", "costCenter"})


def normalize(payload: Any, rtype: ResourceType) -> dict[str, Any]:
    """The stored form of a client resource (POST/PUT body or a PATCH result)."""
    if not isinstance(payload, Mapping):
        raise InvalidSyntax(f"a {rtype.name} must be a JSON object")
    _check_schemas(payload, rtype)
    stored: dict[str, Any] = {}
    for key, value in payload.items():
        if not isinstance(key, str):
            continue
        _place(stored, key, value, rtype)
    for extension in rtype.extensions:
        if stored.get(extension.id) == {}:
            del stored[extension.id]
    _check_required(stored, rtype)
    _check_key(stored, rtype)
    _check_lengths(stored, rtype)
    return stored


def _check_schemas(payload: Mapping[str, Any], rtype: ResourceType) -> None:
    """RFC 7643 3: "schemas" lists the resource's core schema and the extensions it uses.

    Absent is tolerated (a PATCH result; clients that omit it). An unknown URN is refused
    unless the body carries attributes under it (a vendor's custom extension, which
    ``_place_qualified`` ignores) or it is a URN an identity provider always sends.
    """
    schemas = next((v for k, v in payload.items() if isinstance(k, str) and k.lower() == "schemas"), None)
    if schemas is None:
        return
    if not isinstance(schemas, list) or not all(isinstance(urn, str) for urn in schemas):
        raise InvalidValue("schemas must be a list of schema URNs")
    known = {u.lower() for u in (rtype.schema.id, *(e.id for e in rtype.extensions), *rtype.tolerated_urns)}
    carried = [k.lower() for k in payload if isinstance(k, str) and k.lower().startswith("urn:")]
    for urn in schemas:
        lowered = urn.lower()
        if lowered not in known and not any(k == lowered or k.startswith(lowered + ":") for k in carried):
            raise InvalidValue(f"unknown schema {_show(urn)} for a {rtype.name}; "
                               f"this server knows {', '.join(sorted(known))}")
    if rtype.schema.id.lower() not in {urn.lower() for urn in schemas}:
        raise InvalidValue(f"schemas must list {rtype.schema.id}")


# Invisible characters in a login name are a paste accident or a spoof; they are refused
# rather than silently dropped, so what is stored is what the BI platform will show.
_NO_INVISIBLE = frozenset({"userName"})


def _check_key(stored: Mapping[str, Any], rtype: ResourceType) -> None:
    name = rtype.key_attribute
    value = stored.get(name) if name else None
    if not isinstance(value, str):
        return
    if name in _NO_INVISIBLE and has_invisible(value):
        raise InvalidValue(f"{name} {_show(value)} holds invisible characters (zero-width, BOM, "
                           "soft hyphen, bidi controls...); send it without them")
    key = name_key(value)
    if not key:
        raise InvalidValue(f"{name} must not be blank")
    limit = dict(rtype.max_lengths).get(name)
    if limit is not None and len(key) > limit:
        raise InvalidValue(f"{name} may be at most {limit} characters once normalised (NFKC), "
                           f"this one has {len(key)}")


def _check_lengths(stored: Mapping[str, Any], rtype: ResourceType) -> None:
    for path, limit in rtype.max_lengths:
        urn, _, attr = path.rpartition(":")
        container = stored.get(urn) if urn else stored
        value = container.get(attr) if isinstance(container, Mapping) else None
        if isinstance(value, str) and len(value) > limit:
            raise InvalidValue(f"{attr} may be at most {limit} characters, this one has {len(value)}")


def _place(stored: dict[str, Any], key: str, value: Any, rtype: ResourceType) -> None:
    lowered = key.lower()
    if lowered in ("schemas", "id", "meta"):
        return  # readOnly or protocol attributes: ignored on input (RFC 7644 3.5.1)
    if lowered == "externalid":
        external_id = _scalar(value, "string", "externalId")
        if external_id is None:
            stored.pop("externalId", None)
        else:
            stored["externalId"] = external_id
        return
    extension = rtype.extension(key)
    if extension is not None:
        if value is None:
            return
        if not isinstance(value, Mapping):
            raise InvalidSyntax(f"{extension.id} must be a JSON object")
        block = stored.setdefault(extension.id, {})
        for sub_key, sub_value in value.items():
            _put(block, extension, sub_key, sub_value)
        return
    if lowered.startswith("urn:"):
        _place_qualified(stored, key, value, rtype)
        return
    _put(stored, rtype.schema, key, value)


def _place_qualified(stored: dict[str, Any], key: str, value: Any, rtype: ResourceType) -> None:
    # Entra and OneLogin send extension attributes flat:
    # {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales"}
    urns = [rtype.schema.id, *(e.id for e in rtype.extensions)]
    try:
        path = parse_path(key, urns)
    except InvalidFilter:
        return  # an unknown schema (a vendor's custom extension): not ours to store
    if path.attr is None or path.filter is not None or path.urn is None:
        return
    schema = rtype.schema_for(path.urn)
    target = stored if schema is rtype.schema else stored.setdefault(schema.id, {})
    if path.sub is None:
        _put(target, schema, path.attr, value)
    else:
        _put(target, schema, path.attr, {path.sub: value}, merge=True)


def _put(target: dict[str, Any], schema: Schema, key: str, value: Any, merge: bool = False) -> None:
    attribute = schema.get(key)
    if attribute is None or not attribute.writable or attribute.mutability == "writeOnly":
        # Unknown attributes are ignored; readOnly ones are server-owned; writeOnly ones
        # (password) are never stored: hr2bi provisions accounts, it does not log anyone in.
        return
    cleaned = clean_value(attribute, value)
    if cleaned is None:
        target.pop(attribute.name, None)
    elif merge and isinstance(cleaned, dict) and isinstance(target.get(attribute.name), dict):
        target[attribute.name] = {**target[attribute.name], **cleaned}
    else:
        target[attribute.name] = cleaned


def clean_value(attribute: Attribute, value: Any) -> Any:
    """A value checked against its attribute definition; None means unassigned."""
    if value is None:
        return None
    if attribute.multi_valued:
        items = value if isinstance(value, list) else [value]
        cleaned = [c for c in (_single(attribute, item) for item in items) if c not in (None, {})]
        if attribute.type == "complex":
            _check_primary(attribute, cleaned)
        return cleaned or None
    return _single(attribute, value)


def _single(attribute: Attribute, value: Any) -> Any:
    if value is None:
        return None
    if attribute.type != "complex":
        return _scalar(value, attribute.type, attribute.name)
    if isinstance(value, str) and attribute.sub("value") is not None:
        # Entra sends the manager as a bare id string instead of {"value": id}.
        value = {"value": value}
    if not isinstance(value, Mapping):
        raise InvalidValue(f"{attribute.name} must be a JSON object")
    out: dict[str, Any] = {}
    for key, sub_value in value.items():
        sub = attribute.sub(key) if isinstance(key, str) else None
        if sub is None or sub.mutability == "readOnly":
            continue
        cleaned = _scalar(sub_value, sub.type, f"{attribute.name}.{sub.name}")
        if cleaned is not None:
            out[sub.name] = cleaned
    missing = [s.name for s in attribute.sub_attributes.values() if s.required and s.name not in out]
    if missing:
        raise InvalidValue(f"each of {attribute.name} needs a {missing[0]}, not {_show(dict(value))}")
    return out or None


def _scalar(value: Any, kind: str, name: str) -> Any:
    if value is None:
        return None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        # Entra sends booleans as strings: "active": "False".
        if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
            return _BOOL_WORDS[value.strip().lower()]
        raise InvalidValue(f"{name} must be true or false, not {_show(value)}")
    if kind in ("integer", "decimal"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue(f"{name} must be a number, not {_show(value)}")
        if kind == "integer" and isinstance(value, float) and not value.is_integer():
            raise InvalidValue(f"{name} must be an integer, not {_show(value)}")
        return int(value) if kind == "integer" else value
    if isinstance(value, bool) or isinstance(value, Mapping | list):
        raise InvalidValue(f"{name} must be a string, not {_show(value)}")
    if isinstance(value, int | float):
        if name not in _NUMBERS_AS_TEXT:
            raise InvalidValue(f"{name} must be a string, not {_show(value)}")
        value = str(value)
    if not isinstance(value, str):
        raise InvalidValue(f"{name} must be a string, not {_show(value)}")
    if kind == "dateTime":
        try:
            return format_datetime(parse_datetime(value))
        except ValueError as exc:
            raise InvalidValue(f"{name} must be an ISO 8601 date-time, not {_show(value)}") from exc
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_primary(attribute: Attribute, items: list[Any]) -> None:
    # RFC 7643 2.4: "primary" true MUST appear no more than once.
    primaries = sum(1 for item in items if isinstance(item, Mapping) and item.get("primary") is True)
    if primaries > 1:
        raise InvalidValue(f"at most one of {attribute.name} may be primary, {primaries} are")


def _check_required(stored: Mapping[str, Any], rtype: ResourceType) -> None:
    for attribute in rtype.schema.attributes.values():
        if attribute.required and attribute.writable and stored.get(attribute.name) in (None, ""):
            raise InvalidValue(f"{attribute.name} is required for a {rtype.name}")


def format_datetime(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def meta(rtype: ResourceType, created: dt.datetime, modified: dt.datetime, location: str,
         version: int) -> dict[str, Any]:
    return {
        "resourceType": rtype.name,
        "created": format_datetime(created),
        "lastModified": format_datetime(modified),
        "location": location,
        "version": etag(version),
    }


def etag(version: int) -> str:
    return f'W/"{version}"'


def render(rtype: ResourceType, resource_id: str, stored: Mapping[str, Any],
           extra: Mapping[str, Any], meta_block: Mapping[str, Any]) -> dict[str, Any]:
    """The client form: schemas, id, stored attributes, server-computed ones, meta."""
    schemas = [rtype.schema.id] + [e.id for e in rtype.extensions if e.id in stored]
    body: dict[str, Any] = {"schemas": schemas, "id": resource_id}
    body.update(stored)
    body.update(extra)
    body["meta"] = dict(meta_block)
    return body


# --- attributes / excludedAttributes ---------------------------------------------------


def project(body: dict[str, Any], rtype: ResourceType, attributes: Iterable[str] = (),
            excluded: Iterable[str] = ()) -> dict[str, Any]:
    """Apply RFC 7644 3.9: ``attributes`` keeps only those (plus "always" ones),
    ``excludedAttributes`` drops those (never the "always" ones)."""
    wanted = [_selector(text, rtype) for text in attributes if text.strip()]
    unwanted = [_selector(text, rtype) for text in excluded if text.strip()]
    if wanted:
        body = _keep(body, rtype, wanted)
    for urn, name, sub in unwanted:
        _drop(body, rtype, urn, name, sub)
    return body


def _selector(text: str, rtype: ResourceType) -> tuple[str | None, str, str | None]:
    urns = [rtype.schema.id, *(e.id for e in rtype.extensions)]
    try:
        path = parse_path(text, urns)
    except InvalidFilter:
        return (None, text.strip(), None)  # unknown names select nothing (RFC 7644 3.9)
    urn = None if path.urn is None or path.urn == rtype.schema.id else path.urn
    if path.attr is None:
        return (urn, "", None)
    return (urn, path.attr, path.sub)


def _keep(body: dict[str, Any], rtype: ResourceType,
          wanted: list[tuple[str | None, str, str | None]]) -> dict[str, Any]:
    out: dict[str, Any] = {"schemas": body["schemas"], "id": body["id"]}
    for urn, name, sub in wanted:
        source = body.get(urn, {}) if urn else body
        key = _key_in(source, name) if name else None
        if urn and not name:
            if urn in body:
                out[urn] = body[urn]
            continue
        if key is None:
            continue
        target = out.setdefault(urn, {}) if urn else out
        value = source[key]
        if sub is None or not isinstance(value, dict | list):
            target[key] = value
        else:
            target[key] = _merge_sub(target.get(key), value, sub)
    return out


def _merge_sub(existing: Any, value: Any, sub: str) -> Any:
    if isinstance(value, dict):
        picked = {k: v for k, v in value.items() if k.lower() == sub.lower()}
        return {**(existing or {}), **picked}
    items = [{k: v for k, v in item.items() if k.lower() == sub.lower()} for item in value
             if isinstance(item, dict)]
    if isinstance(existing, list) and len(existing) == len(items):
        return [{**a, **b} for a, b in zip(existing, items)]
    return items


def _drop(body: dict[str, Any], rtype: ResourceType, urn: str | None, name: str,
          sub: str | None) -> None:
    if name.lower() in ("id", "schemas"):
        return  # returned "always"
    source = body.get(urn) if urn else body
    if not isinstance(source, dict):
        return
    key = _key_in(source, name)
    if key is None:
        return
    if sub is None:
        del source[key]
        return
    value = source[key]
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, dict):
            for k in [k for k in item if k.lower() == sub.lower()]:
                del item[k]


def _key_in(source: Mapping[str, Any], name: str) -> str | None:
    lowered = name.lower()
    return next((k for k in source if k.lower() == lowered), None)
