"""How every command prints: one ``--json`` option, one JSON printer, one table printer."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def print_json(value: Any) -> None:
    """Indented JSON on stdout; dates and other non-JSON values as their ``str``."""
    click.echo(json.dumps(value, indent=2, default=str))


@dataclass(frozen=True)
class Column:
    """A table column: its title, and its width (``None``: the last one, never padded)."""

    title: str
    width: int | None = None
    align: str = "<"


def print_table(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> None:
    """A header line, then one line per row, cells padded to their column and one space apart."""
    click.echo(_line(columns, [column.title for column in columns]))
    for row in rows:
        click.echo(_line(columns, row))


def _line(columns: Sequence[Column], cells: Sequence[Any]) -> str:
    return " ".join(str(cell) if column.width is None else f"{cell!s:{column.align}{column.width}}"
                    for column, cell in zip(columns, cells, strict=True))
