"""SCIM filters and sortBy as SQLAlchemy expressions (never SQL text built from strings).

Indexed columns serve the lookups identity providers make all the time (``userName eq``,
``externalId eq``, ``emails.value eq``, ``members.value eq``); every other attribute is
read from the stored JSON with the database's own JSON operators, so a filter is always
one SQL query and never a scan of every resource in Python.

String comparisons are case-insensitive unless the attribute is ``caseExact``
(RFC 7643 2.1); ``*_key`` columns hold values already lower-cased on write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, func, literal, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from scim.errors import InvalidFilter, ScimError
from scim.filters import And, AttrPath, Compare, Node, Not, Or, Present, ValuePath
from scim.matching import compare, parse_datetime
from scim.paths import parse_path
from scim.schema import Attribute, ResourceType, group_type, user_type
from sync.models import ScimGroup, ScimGroupMember, ScimUser, ScimUserValue
from sync.names import fold, name_key

Expr = ColumnElement[Any]


@dataclass(frozen=True)
class Column:
    """A SQL expression for one attribute and how to compare it."""

    expr: Expr
    kind: str  # "string" | "key" (pre-lowered) | "exact" | "boolean" | "dateTime" | "binary"


class Translator:
    """Turns a filter AST into a WHERE clause for one resource type."""

    def __init__(self, rtype: ResourceType, model: Any, columns: dict[tuple[str, ...], Column],
                 multi: dict[str, Callable[[Node | None], Expr]]) -> None:
        self.rtype, self.model, self.columns, self.multi = rtype, model, columns, multi

    def where(self, node: Node) -> Expr:
        if isinstance(node, And):
            return and_(self.where(node.left), self.where(node.right))
        if isinstance(node, Or):
            return or_(self.where(node.left), self.where(node.right))
        if isinstance(node, Not):
            return negate(self.where(node.expr))
        if isinstance(node, ValuePath):
            attribute = self.resolve(AttrPath(node.path.attr, None, node.path.urn))[1]
            if attribute.name not in self.multi:
                raise InvalidFilter(f"{attribute.name} is not multi-valued: it takes no [filter]")
            return self.multi[attribute.name](node.filter)
        schema_id, attribute, sub = self.resolve(node.path)
        if attribute.returned == "never":
            raise InvalidFilter(f"{attribute.name} is write-only: it cannot be filtered on")
        if attribute.name in self.multi and schema_id == self.rtype.schema.id:
            return self._multi_leaf(node, attribute, sub)
        return self._scalar(node, schema_id, attribute, sub)

    def resolve(self, path: AttrPath) -> tuple[str, Attribute, Attribute | None]:
        try:
            schema, attribute, sub = self.rtype.resolve(path)
        except ScimError as exc:
            raise InvalidFilter(exc.detail) from exc
        return schema.id, attribute, sub

    def _multi_leaf(self, node: Compare | Present, attribute: Attribute, sub: Attribute | None) -> Expr:
        inner_attr = (sub or attribute.sub("value") or attribute).name
        element_path = AttrPath(inner_attr)
        if isinstance(node, Present) and sub is None:
            return self.multi[attribute.name](None)
        if isinstance(node, Present):
            return self.multi[attribute.name](Present(element_path))
        if node.op == "ne":
            return not_(self.multi[attribute.name](Compare(element_path, "eq", node.value)))
        return self.multi[attribute.name](Compare(element_path, node.op, node.value))

    def _scalar(self, node: Compare | Present, schema_id: str, attribute: Attribute,
                sub: Attribute | None) -> Expr:
        target = sub or attribute
        if target.type == "complex":
            if isinstance(node, Present):
                return self.json_column(schema_id, attribute, None).expr.is_not(None)
            raise InvalidFilter(f"{attribute.name} is complex: filter on one of its sub-attributes")
        key = (schema_id, attribute.name.lower(), sub.name.lower() if sub else "")
        column = self.columns.get(key) or self.json_column(schema_id, attribute, sub)
        if column.kind == "constant":
            return _constant(column, node)
        return compare_column(column, node, target)

    def json_column(self, schema_id: str, attribute: Attribute, sub: Attribute | None) -> Column:
        keys: list[str] = [] if schema_id == self.rtype.schema.id else [schema_id]
        keys.append(attribute.name)
        if sub is not None:
            keys.append(sub.name)
        element = self.model.resource[tuple(keys)]
        target = sub or attribute
        if target.type == "boolean":
            return Column(element.as_boolean(), "boolean")
        return Column(element.as_string(), _kind(target))


def negate(condition: Expr) -> Expr:
    """SCIM "not": an absent attribute fails a comparison, so its negation holds. SQL would
    leave NOT (NULL = 'x') unknown and drop the row; COALESCE makes unknown false first."""
    return not_(func.coalesce(condition, false()))


def _kind(attribute: Attribute) -> str:
    if attribute.type in ("boolean", "dateTime", "binary"):
        return attribute.type
    return "exact" if attribute.case_exact else "string"


def _constant(column: Column, node: Compare | Present) -> Expr:
    value = column.expr.value  # a literal the translator built
    if isinstance(node, Present):
        return true()
    if node.op == "ne":
        return false() if compare(value, "eq", node.value) else true()
    return true() if compare(value, node.op, node.value) else false()


def compare_column(column: Column, node: Compare | Present, attribute: Attribute) -> Expr:
    expr, kind = column.expr, column.kind
    if isinstance(node, Present):
        if kind in ("boolean", "dateTime"):
            return expr.is_not(None)
        return and_(expr.is_not(None), expr != "")
    op, value = node.op, node.value
    if value is None:
        if op in ("eq", "ne"):
            return expr.is_(None) if op == "eq" else expr.is_not(None)
        raise InvalidFilter(f"{op} cannot compare {attribute.name} with null")
    if kind == "boolean":
        return _boolean(expr, op, value, attribute)
    if kind == "dateTime":
        return _ordered(expr, op, _datetime(value, attribute), attribute, allow_text=False)
    if isinstance(value, bool):
        raise InvalidFilter(f"{attribute.name} is a {attribute.type}: compare it with a quoted string")
    text = str(value)
    if kind == "binary" and op not in ("eq", "ne"):
        raise InvalidFilter(f"{attribute.name} is binary: only eq, ne and pr apply")
    if kind == "string":
        expr, text = func.lower(expr), text.lower()
    elif kind == "key":
        # The column holds sync.names.name_key of the value: compare like with like.
        text = name_key(text) if op in ("eq", "ne") else fold(text)
        if op == "sw" and text and ord(text[-1]) < 0x10FFFF:
            # Key columns compare bytewise: a prefix is an index range (LIKE alone is not
            # served by the index on SQLite, nor on PostgreSQL outside the C collation).
            upper = text[:-1] + chr(ord(text[-1]) + 1)
            return and_(expr >= text, expr < upper, _ordered(expr, op, text, attribute, True))
    return _ordered(expr, op, text, attribute, allow_text=True)


def _ordered(expr: Expr, op: str, value: Any, attribute: Attribute, allow_text: bool) -> Expr:
    if op == "eq":
        return expr == value
    if op == "ne":
        return or_(expr.is_(None), expr != value)
    if op in ("co", "sw", "ew"):
        if not allow_text:
            raise InvalidFilter(f"{op} does not apply to {attribute.name} ({attribute.type})")
        method = {"co": expr.contains, "sw": expr.startswith, "ew": expr.endswith}[op]
        return method(value, autoescape=True)
    return {"gt": expr > value, "ge": expr >= value, "lt": expr < value, "le": expr <= value}[op]


def _boolean(expr: Expr, op: str, value: Any, attribute: Attribute) -> Expr:
    if op not in ("eq", "ne"):
        raise InvalidFilter(f"{op} does not apply to {attribute.name}, a boolean (RFC 7644 3.4.2.2)")
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"  # Entra quotes booleans in filters too
    if not isinstance(value, bool):
        raise InvalidFilter(f"{attribute.name} is a boolean: compare it with true or false")
    return expr == value if op == "eq" else or_(expr.is_(None), expr != value)


def _datetime(value: Any, attribute: Attribute) -> dt.datetime:
    try:
        return parse_datetime(str(value))
    except ValueError as exc:
        raise InvalidFilter(f"{attribute.name} needs an ISO 8601 date-time, not {value!r}") from exc


# --- Users ---------------------------------------------------------------------------------

_VALUE_COLUMNS = {
    "value": lambda a: Column(ScimUserValue.value if a.case_exact else ScimUserValue.value_key,
                              "binary" if a.type == "binary" else "exact" if a.case_exact else "key"),
    "type": lambda a: Column(ScimUserValue.type, "key"),
    "primary": lambda a: Column(ScimUserValue.primary, "boolean"),
    "display": lambda a: Column(ScimUserValue.display, "string"),
}


def _element_where(attribute: Attribute, node: Node) -> Expr:
    """A condition on one ScimUserValue row (an element of ``attribute``)."""
    if isinstance(node, And):
        return and_(_element_where(attribute, node.left), _element_where(attribute, node.right))
    if isinstance(node, Or):
        return or_(_element_where(attribute, node.left), _element_where(attribute, node.right))
    if isinstance(node, Not):
        return negate(_element_where(attribute, node.expr))
    if isinstance(node, ValuePath) or node.path.sub is not None or node.path.urn is not None:
        raise InvalidFilter(f"{attribute.name}[...] filters name sub-attributes only")
    sub = attribute.sub(node.path.attr)
    if sub is None:
        raise InvalidFilter(f"{attribute.name} has no sub-attribute {node.path.attr!r}")
    factory = _VALUE_COLUMNS.get(sub.name.lower())
    if factory is not None:
        column = factory(sub)
    elif sub.type == "boolean":
        column = Column(ScimUserValue.element[sub.name].as_boolean(), "boolean")
    else:
        column = Column(ScimUserValue.element[sub.name].as_string(), _kind(sub))
    return compare_column(column, node, sub)


def _user_values(attribute: Attribute) -> Callable[[Node | None], Expr]:
    def condition(node: Node | None) -> Expr:
        # "id IN (matching elements)" rather than a correlated EXISTS: the planner then
        # starts from the (attribute, value_key) index instead of walking every user.
        where = [ScimUserValue.attribute == attribute.name]
        if node is not None:
            where.append(_element_where(attribute, node))
        return ScimUser.id.in_(select(ScimUserValue.user_id).where(*where))

    return condition


def _user_groups(node: Node | None) -> Expr:
    where = [] if node is None else [_membership_where(node, ScimGroupMember.group_id, _group_display)]
    return ScimUser.id.in_(select(ScimGroupMember.member_id).where(*where))


def _group_display(column: Column, node: Compare | Present, attribute: Attribute) -> Expr:
    names = select(ScimGroup.id).where(compare_column(Column(ScimGroup.display_name, "string"),
                                                      node, attribute))
    return ScimGroupMember.group_id.in_(names)


def _membership_where(node: Node, id_column: Any, display: Callable[..., Expr]) -> Expr:
    if isinstance(node, And | Or):
        join = and_ if isinstance(node, And) else or_
        return join(_membership_where(node.left, id_column, display),
                    _membership_where(node.right, id_column, display))
    if isinstance(node, Not):
        return negate(_membership_where(node.expr, id_column, display))
    if isinstance(node, ValuePath):
        raise InvalidFilter("nested value filters are not allowed")
    name = node.path.attr.lower()
    probe = Attribute(node.path.attr, "string", case_exact=name == "value")
    if name == "value":
        return compare_column(Column(id_column, "exact"), node, probe)
    if name == "display":
        return display(Column(id_column, "string"), node, probe)
    if name == "type":
        return compare_column(Column(ScimGroupMember.member_type, "string"), node, probe)
    if name == "$ref":
        raise InvalidFilter("filtering on $ref is not supported: filter on value")
    raise InvalidFilter(f"unknown sub-attribute {node.path.attr!r}")


def _literal(value: str) -> Column:
    return Column(literal(value), "constant")


def user_translator() -> Translator:
    rtype = user_type()
    core, ent = rtype.schema.id, rtype.extensions[0].id
    columns = {
        (core, "id", ""): Column(ScimUser.id, "exact"),
        (core, "username", ""): Column(ScimUser.user_name_key, "key"),
        (core, "externalid", ""): Column(ScimUser.external_id, "exact"),
        (core, "displayname", ""): Column(ScimUser.display_name, "string"),
        (core, "active", ""): Column(ScimUser.active, "boolean"),
        # employeeNumber is caseExact false (RFC 7643 4.3): compared lower-cased like any string.
        (ent, "employeenumber", ""): Column(ScimUser.employee_number, "string"),
        **_meta_columns(core, ScimUser, "User"),
    }
    multi: dict[str, Callable[[Node | None], Expr]] = {
        a.name: _user_values(a) for a in rtype.schema.attributes.values()
        if a.multi_valued and a.name != "groups"
    }
    multi["groups"] = _user_groups
    return Translator(rtype, ScimUser, columns, multi)


def _meta_columns(core: str, model: Any, name: str) -> dict[tuple[str, ...], Column]:
    return {
        (core, "meta", "created"): Column(model.created_at, "dateTime"),
        (core, "meta", "lastmodified"): Column(model.updated_at, "dateTime"),
        (core, "meta", "resourcetype"): _literal(name),
    }


# --- Groups --------------------------------------------------------------------------------


def _member_display(column: Column, node: Compare | Present, attribute: Attribute) -> Expr:
    users = select(ScimUser.id).where(compare_column(Column(ScimUser.display_name, "string"),
                                                     node, attribute))
    groups = select(ScimGroup.id).where(compare_column(Column(ScimGroup.display_name, "string"),
                                                       node, attribute))
    return or_(ScimGroupMember.member_id.in_(users), ScimGroupMember.member_id.in_(groups))


def _group_members(node: Node | None) -> Expr:
    where = [] if node is None else [_membership_where(node, ScimGroupMember.member_id, _member_display)]
    return ScimGroup.id.in_(select(ScimGroupMember.group_id).where(*where))


def group_translator() -> Translator:
    rtype = group_type()
    core = rtype.schema.id
    columns = {
        (core, "id", ""): Column(ScimGroup.id, "exact"),
        (core, "displayname", ""): Column(ScimGroup.display_name_key, "key"),
        (core, "externalid", ""): Column(ScimGroup.external_id, "exact"),
        **_meta_columns(core, ScimGroup, "Group"),
    }
    return Translator(rtype, ScimGroup, columns, {"members": _group_members})


# --- sortBy --------------------------------------------------------------------------------


def sort_expression(translator: Translator, text: str) -> Expr:
    """An ORDER BY expression for ``sortBy`` (RFC 7644 3.4.2.3)."""
    urns = [translator.rtype.schema.id, *(e.id for e in translator.rtype.extensions)]
    try:
        path = parse_path(text, urns).attr_path()
    except InvalidFilter as exc:
        raise InvalidFilter(f"cannot sort by {text!r}: {exc.detail}") from exc
    schema_id, attribute, sub = translator.resolve(path)
    if attribute.multi_valued and translator.model is ScimUser and attribute.name != "groups":
        # Multi-valued: sort by the primary (else smallest) value (RFC 7644 3.4.2.3).
        return (
            select(func.min(ScimUserValue.value_key))
            .where(ScimUserValue.user_id == ScimUser.id, ScimUserValue.attribute == attribute.name)
            .scalar_subquery()
        )
    if attribute.multi_valued or (attribute.type == "complex" and sub is None):
        raise InvalidFilter(f"cannot sort by {text!r}")
    key = (schema_id, attribute.name.lower(), sub.name.lower() if sub else "")
    column = translator.columns.get(key) or translator.json_column(schema_id, attribute, sub)
    if column.kind == "constant":
        return translator.model.id
    return func.lower(column.expr) if column.kind == "string" else column.expr
