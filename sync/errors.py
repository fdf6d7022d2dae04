"""The one base of the errors a person running hr2bi can fix.

A ``UserError``'s message is one line that says what is wrong and what to do; every entry
point (the CLI, the web app's start-up, Celery's worker and beat) prints it as that line,
never as a traceback. Domain packages raise subclasses of it; they never import click.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class UserError(Exception):
    """A problem of input, configuration or state, explained in one line."""


def or_exit(process: str, build: Callable[[], T]) -> T:
    """For the start of a long-running process (gunicorn's app, Celery's worker and beat):
    ``build()``, or, on a ``UserError``, the process ends with that one line on stderr
    (``hr2bi web: invalid configuration: ...``) and exit status 1, not a traceback."""
    try:
        return build()
    except UserError as exc:
        raise SystemExit(f"hr2bi {process}: {exc}") from None
