"""SCIM PATCH (RFC 7644 section 3.5.2) as a pure function over a resource's JSON.

``apply_patch(document, request, rtype)`` returns a new document; the caller validates it
with ``scim.resources.normalize`` and stores it. Nothing here touches a database.

Identity-provider behaviour handled on purpose:

* Entra capitalises op names ("Replace", "Add", "Remove");
* Entra and Okta send ``replace`` with no path and a value object, whose keys may be
  dotted (``"name.givenName"``) or schema-qualified (``"urn:...:User:department"``);
* Entra removes group members with ``path: "members"`` and a value list of ids;
* Entra replaces ``emails[type eq "work"].value`` on a user with no work email yet,
  expecting one to be created: a filter made only of ``eq`` tests creates the element.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from scim.errors import InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget
from scim.filters import And, Compare, InvalidFilter, Node
from scim.matching import matches
from scim.paths import Path, parse_path
from scim.schema import PATCH_OP, Attribute, ResourceType

OPS = ("add", "replace", "remove")
MAX_OPERATIONS = 10_000


def apply_patch(document: Mapping[str, Any], request: Any, rtype: ResourceType) -> dict[str, Any]:
    operations = _operations(request)
    result = copy.deepcopy(dict(document))
    for index, operation in enumerate(operations):
        op, path, value = _parts(operation, index)
        if path is None:
            _apply_pathless(result, op, value, rtype)
        else:
            _apply(result, op, _parse(path, rtype), value, rtype)
    return result


def _operations(request: Any) -> list[Any]:
    if not isinstance(request, Mapping):
        raise InvalidSyntax("a PATCH body must be a JSON object")
    schemas = request.get("schemas")
    if not isinstance(schemas, list) or PATCH_OP not in schemas:
        raise InvalidSyntax(f"a PATCH body must list {PATCH_OP} in schemas")
    operations = request.get("Operations", request.get("operations"))
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("a PATCH body needs a non-empty Operations list")
    if len(operations) > MAX_OPERATIONS:
        raise InvalidSyntax(f"at most {MAX_OPERATIONS} operations per PATCH")
    return operations


def _parts(operation: Any, index: int) -> tuple[str, str | None, Any]:
    if not isinstance(operation, Mapping):
        raise InvalidSyntax(f"Operations[{index}] must be a JSON object")
    op = operation.get("op")
    if not isinstance(op, str) or op.lower() not in OPS:
        raise InvalidSyntax(f"Operations[{index}].op must be add, replace or remove, not {op!r}")
    path = operation.get("path")
    if path is not None and not isinstance(path, str):
        raise InvalidPath(f"Operations[{index}].path must be a string")
    if op.lower() != "remove" and "value" not in operation:
        raise InvalidValue(f"Operations[{index}] ({op}) needs a value")
    return op.lower(), (path if path and path.strip() else None), operation.get("value")


def _parse(text: str, rtype: ResourceType) -> Path:
    urns = [rtype.schema.id, *(e.id for e in rtype.extensions)]
    try:
        path = parse_path(text, urns)
    except InvalidFilter as exc:
        raise InvalidPath(f"invalid path {text!r}: {exc.detail}") from exc
    if path.urn is not None and path.urn.lower() == rtype.schema.id.lower():
        path = Path(None, path.attr, path.filter, path.sub)
    return path


def _apply_pathless(doc: dict[str, Any], op: str, value: Any, rtype: ResourceType) -> None:
    if op == "remove":
        raise NoTarget("remove needs a path")
    if not isinstance(value, Mapping):
        raise InvalidValue(f"{op} without a path needs an object of attributes as its value")
    for key, item in value.items():
        if not isinstance(key, str) or key.lower() in ("schemas", "id", "meta"):
            continue
        _apply(doc, op, _parse(key, rtype), item, rtype)


def _apply(doc: dict[str, Any], op: str, path: Path, value: Any, rtype: ResourceType) -> None:
    if path.attr is None:
        _apply_extension(doc, op, path.urn or "", value, rtype)
        return
    attribute = _attribute(path, rtype)
    container = doc if path.urn is None else doc.setdefault(path.urn, {})
    if path.filter is not None:
        _apply_filtered(container, op, attribute, path.filter, path.sub, value)
    elif path.sub is not None:
        _apply_sub(container, op, attribute, path.sub, value)
    else:
        _apply_whole(container, op, attribute, value)
    if path.urn is not None and not container:
        doc.pop(path.urn, None)


def _attribute(path: Path, rtype: ResourceType) -> Attribute:
    try:
        _, attribute, sub = rtype.resolve(path.attr_path())
    except InvalidFilter as exc:
        raise InvalidPath(exc.detail) from exc
    if attribute.mutability == "readOnly" or (sub is not None and sub.mutability == "readOnly"):
        raise Mutability(f"{attribute.name} is read-only")
    if path.filter is not None and not attribute.multi_valued:
        raise InvalidPath(f"{attribute.name} is not multi-valued: it takes no [filter]")
    return attribute


def _apply_extension(doc: dict[str, Any], op: str, urn: str, value: Any,
                     rtype: ResourceType) -> None:
    if op == "remove":
        doc.pop(urn, None)
        return
    if not isinstance(value, Mapping):
        raise InvalidValue(f"{urn} takes an object of attributes")
    for key, item in value.items():
        # scim2-tester and some IdPs echo "schemas" inside the extension's value object.
        if isinstance(key, str) and key.lower() != "schemas":
            _apply(doc, op, _parse(f"{urn}:{key}", rtype), item, rtype)


def _apply_whole(container: dict[str, Any], op: str, attribute: Attribute, value: Any) -> None:
    name = _existing_key(container, attribute.name)
    if op == "remove":
        if attribute.multi_valued and value is not None:
            _remove_listed(container, name, value)  # Entra: remove members by value list
        else:
            container.pop(name, None)
        return
    if not attribute.multi_valued:
        current = container.get(name)
        if attribute.type == "complex" and isinstance(current, dict) and isinstance(value, Mapping):
            container[name] = {**current, **value}
        else:
            container[name] = value
        return
    items = value if isinstance(value, list) else [value]
    existing = container.get(name) if op == "add" else None
    container[name] = _merge_items(existing if isinstance(existing, list) else [], items)


def _merge_items(existing: list[Any], new: list[Any]) -> list[Any]:
    """Append values that are not there yet; a new primary value demotes the old one."""
    result = list(existing)
    keys = {_identity(item) for item in result}
    for item in new:
        if isinstance(item, Mapping) and item.get("primary") in (True, "true", "True"):
            result = [_demoted(other) for other in result]
        key = _identity(item)
        if key not in keys:
            result.append(item)
            keys.add(key)
    return result


def _identity(item: Any) -> Any:
    if isinstance(item, Mapping):
        if "value" in item and isinstance(item["value"], str | int):
            return ("value", item["value"], str(item.get("type", "")).lower())
        return repr(sorted(item.items(), key=lambda kv: str(kv[0])))
    return repr(item)


def _demoted(item: Any) -> Any:
    if isinstance(item, Mapping) and item.get("primary") is True:
        return {**item, "primary": False}
    return item


def _remove_listed(container: dict[str, Any], name: str, value: Any) -> None:
    wanted = value if isinstance(value, list) else [value]
    raw = [w.get("value") if isinstance(w, Mapping) else w for w in wanted]
    ids = {str(v) for v in raw if isinstance(v, str | int) and not isinstance(v, bool)}
    current = container.get(name)
    if isinstance(current, list):
        kept = [i for i in current if not (isinstance(i, Mapping) and str(i.get("value")) in ids)]
        container[name] = kept
        if not kept:
            container.pop(name)


def _apply_sub(container: dict[str, Any], op: str, attribute: Attribute, sub: str,
               value: Any) -> None:
    name = _existing_key(container, attribute.name)
    current = container.get(name)
    elements = current if isinstance(current, list) else [current] if current else []
    if not attribute.multi_valued and not elements:
        if op == "remove":
            return
        container[name] = {}
        elements = [container[name]]
    for element in elements:
        if isinstance(element, dict):
            _set_sub(element, op, sub, value)
    if not attribute.multi_valued and container.get(name) == {}:
        container.pop(name)


def _set_sub(element: dict[str, Any], op: str, sub: str, value: Any) -> None:
    key = _existing_key(element, sub)
    if op == "remove" or value is None:
        element.pop(key, None)
    else:
        element[key] = value


def _apply_filtered(container: dict[str, Any], op: str, attribute: Attribute, where: Node,
                    sub: str | None, value: Any) -> None:
    name = _existing_key(container, attribute.name)
    current = container.get(name)
    items: list[Any] = current if isinstance(current, list) else []
    exact = frozenset(s.name.lower() for s in attribute.sub_attributes.values() if s.case_exact)
    hits = [i for i, item in enumerate(items) if isinstance(item, Mapping) and matches(where, item, exact)]
    if op == "remove":
        _remove_hits(container, name, items, hits, sub)
        return
    if not hits:
        _create_from_filter(container, name, attribute, where, sub, value, items)
        return
    for i in hits:
        if sub is not None:
            _set_sub(items[i], op, sub, value)
        elif isinstance(value, Mapping):
            items[i] = {**items[i], **value} if op == "add" else dict(value)
        else:
            raise InvalidValue(f"{attribute.name}[...] takes an object as its value")
    if isinstance(value, Mapping) and value.get("primary") is True:
        for i, item in enumerate(items):
            if i not in hits:
                items[i] = _demoted(item)


def _remove_hits(container: dict[str, Any], name: str, items: list[Any], hits: list[int],
                 sub: str | None) -> None:
    if sub is not None:
        for i in hits:
            _set_sub(items[i], "remove", sub, None)
        return
    kept = [item for i, item in enumerate(items) if i not in set(hits)]
    if kept:
        container[name] = kept
    else:
        container.pop(name, None)


def _create_from_filter(container: dict[str, Any], name: str, attribute: Attribute, where: Node,
                        sub: str | None, value: Any, items: list[Any]) -> None:
    seed = _equalities(where)
    if seed is None:
        raise NoTarget(f"no {attribute.name} value matches the filter")
    element = dict(seed)
    if sub is not None:
        element[sub] = value
    elif isinstance(value, Mapping):
        element.update(value)
    else:
        raise InvalidValue(f"{attribute.name}[...] takes an object as its value")
    container[name] = _merge_items(items, [element])


def _equalities(where: Node) -> dict[str, Any] | None:
    """``type eq "work" and primary eq true`` -> {"type": "work", "primary": True}."""
    if isinstance(where, Compare) and where.op == "eq" and where.path.sub is None:
        return {where.path.attr: where.value}
    if isinstance(where, And):
        left, right = _equalities(where.left), _equalities(where.right)
        if left is not None and right is not None:
            return {**left, **right}
    return None


def _existing_key(container: Mapping[str, Any], name: str) -> str:
    """The key already used for ``name`` (attribute names are case-insensitive)."""
    lowered = name.lower()
    return next((k for k in container if isinstance(k, str) and k.lower() == lowered), name)
