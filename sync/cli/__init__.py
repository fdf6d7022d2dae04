"""The ``hr2bi`` command line: the ``main`` group, and one module per command group beside it.

Commands translate arguments, call the core, print results. A user error from any command
(bad configuration, unreachable database, unknown token...) is one clear line and exit 1,
never a traceback: :func:`sync.cli.errors.user_errors` says how, once, for all of them.

The command modules are imported when ``main`` first needs its commands, not when this
package is: so ``python -m sync.targets.sandbox`` (``sync.cli.sandbox`` alone) starts in a
fraction of the time the whole command line takes to load.
"""

from __future__ import annotations

from typing import Any

import click


def _commands() -> tuple[click.Command, ...]:
    from sync.cli.audit import audit
    from sync.cli.demo import demo
    from sync.cli.imports import import_group
    from sync.cli.mappings import mappings
    from sync.cli.people import people
    from sync.cli.plan import (
        apply_command,
        plan_command,
        provision_command,
        reconcile_command,
    )
    from sync.cli.runs import runs
    from sync.cli.sandbox import sandbox
    from sync.cli.serve import serve
    from sync.cli.sync_cmd import sync_command
    from sync.cli.tokens import tokens

    return (serve, tokens, demo, mappings, import_group, people, runs, sandbox, audit, sync_command,
            plan_command, apply_command, reconcile_command, provision_command)


class Commands(click.Group):
    """The top-level group: its commands, loaded once; each runs inside the one user-error handler."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        from sync.cli.errors import user_errors

        with user_errors():
            return super().invoke(ctx)

    def _load(self) -> None:
        if not self.commands:
            for command in _commands():
                self.add_command(command)


@click.group(cls=Commands, help="hr2bi keeps a BI platform's accounts in step with who works here.")
@click.version_option(package_name="hr2bi")
def main() -> None:
    pass
