"""SCIM attribute paths: a PATCH ``path``, ``attributes=`` and ``sortBy=`` (RFC 7644
section 3.5.2, ``PATH = attrPath / valuePath [subAttr]``), parsed into a ``Path`` whose
value filter is a ``scim.filters`` AST."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from scim.errors import InvalidFilter
from scim.filters import AttrPath, Node, parse_filter


@dataclass(frozen=True)
class Path:
    """``[urn:]attr[.sub]``, ``[urn:]attr[filter][.sub]`` or a bare extension ``urn``."""

    urn: str | None
    attr: str | None
    filter: Node | None = None
    sub: str | None = None

    def attr_path(self) -> AttrPath:
        if self.attr is None:
            raise InvalidFilter("the path names a whole schema, not an attribute")
        return AttrPath(self.attr, self.sub, self.urn)


_NAME = r"[A-Za-z$][A-Za-z0-9_$-]*"
_HEAD = re.compile(rf"^({_NAME})(?:\.({_NAME}))?$")
_TAIL = re.compile(rf"^\[(.*)\](?:\.({_NAME}))?$", re.DOTALL)


def parse_path(text: str, schema_urns: Iterable[str]) -> Path:
    """Parse a PATCH path (RFC 7644 3.5.2, ``PATH = attrPath / valuePath [subAttr]``).

    ``schema_urns`` are the URNs this resource knows: a prefix matching one of them is
    the attribute's schema, and a path equal to one names that whole extension.
    Raises ``InvalidFilter``; callers turn it into ``invalidPath``.
    """
    text = (text or "").strip()
    if not text:
        raise InvalidFilter("the path is empty")
    bracket = text.find("[")
    head, tail = (text, "") if bracket < 0 else (text[:bracket], text[bracket:])
    urn = None
    for known in sorted(schema_urns, key=len, reverse=True):
        if head.lower() == known.lower() and not tail:
            return Path(known, None)
        if head.lower().startswith(known.lower() + ":"):
            urn, head = known, head[len(known) + 1:]
            break
    match = _HEAD.match(head)
    if match is None:
        raise InvalidFilter(f"{text!r} is not an attribute path")
    attr, sub = match.group(1), match.group(2)
    if not tail:
        return Path(urn, attr, None, sub)
    tail_match = _TAIL.match(tail)
    if sub is not None or tail_match is None:
        raise InvalidFilter(f"{text!r} is not a valid value path")
    return Path(urn, attr, parse_filter(tail_match.group(1)), tail_match.group(2))
