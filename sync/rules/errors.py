"""Errors of the mapping tables, each pointing at a file and line an admin can open.

Loading never stops at the first mistake: every reader appends ``Problem``s to a list and
the loader raises one ``TableErrors`` carrying all of them, so an admin fixes a whole batch
per round trip instead of one line per ``hr2bi mappings check``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sync.errors import UserError


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake: ``file:line: what is wrong: how to fix``.

    ``line`` is 1-based; ``None`` when the problem concerns the whole file (it is missing).
    """

    file: str
    line: int | None
    message: str
    hint: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}: {self.hint}"


class RulesError(UserError):
    """Root of the errors raised by ``sync.rules``; the CLI handles this family."""


class TableErrors(RulesError):
    """The tables cannot be used; ``problems`` lists every mistake found, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=_file_order))
        super().__init__("\n".join(str(p) for p in self.problems))


class TableSourceError(RulesError):
    """The tables could not be read at all (no such directory, unknown git revision)."""


class PersonError(RulesError):
    """A person's value cannot become a typed field (a date that is not a date...)."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"field {field!r}: {reason} (got {value!r})")


def _file_order(problem: Problem) -> tuple[str, int]:
    return (problem.file, problem.line or 0)
