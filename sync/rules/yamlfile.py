"""YAML with line numbers, so a mistake in a YAML table points at its line too.

Mappings load as ``LineDict`` (a dict that knows the line of itself and of each key) and
sequences as ``LineList`` (a list that knows the line of each item). A key written twice is
a problem, not a silent "last one wins" as in plain PyYAML.
"""

from __future__ import annotations

from typing import Any

import yaml

from sync.rules.errors import Problem


class LineDict(dict[str, Any]):
    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    """SafeLoader (no Python objects from the file) that also records line numbers."""

    def __init__(self, stream: str, file: str, problems: list[Problem]) -> None:
        super().__init__(stream)
        self.file = file
        self.problems = problems


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = str(loader.construct_object(key_node, deep=True))
        line = key_node.start_mark.line + 1
        if key in result:
            loader.problems.append(Problem(loader.file, line, f"the key {key!r} is written twice",
                                           f"keep one {key!r} (the first is on line {result.key_lines[key]})"))
            continue
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


INVALID = object()
"""What ``load_yaml`` returns for text that is not YAML (its problem is already reported)."""


def load_yaml(file: str, text: str, problems: list[Problem]) -> Any:
    """The document in ``text``, or ``INVALID`` (with a problem added) when it is not YAML."""
    loader = _Loader(text, file, problems)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(file, line, f"is not valid YAML ({reason})",
                                "check the indentation and quote values that contain ': ' or '#'"))
        return INVALID
    finally:
        loader.dispose()
