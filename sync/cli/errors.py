"""The one place a user error becomes what the person at the terminal sees.

Any :class:`sync.errors.UserError` is one line on stderr and exit 1 (a ``ClickException``),
never a traceback. Two families say a little more: a BI platform that did not answer as
expected points at the settings to check, and mapping tables that do not load list every
problem first (file:line each) so they can all be fixed in one round.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from sync.errors import UserError
from sync.rules.errors import TableErrors
from sync.targets.errors import TargetError, TargetSetupError

TARGET_HINT = ("the BI platform did not answer as expected: {error}. Check HR2BI_BI_BASE_URL and the "
               "API keys (the default is the local sandbox: start it with `hr2bi sandbox`)")
TABLES_HINT = "the mapping tables do not load: fix them first (`hr2bi mappings check`)"


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a ``UserError`` raised inside into the one-line message and exit 1."""
    try:
        yield
    except TableErrors as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(TABLES_HINT) from exc
    except TargetSetupError as exc:  # the settings say what is missing: no hint needed
        raise click.ClickException(str(exc)) from exc
    except TargetError as exc:
        raise click.ClickException(TARGET_HINT.format(error=exc)) from exc
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
