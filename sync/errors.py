"""The one base of the errors a person running hr2bi can fix.

A ``UserError``'s message is one line that says what is wrong and what to do; every entry
point (the CLI, the web app's start-up, Celery's worker and beat) prints it as that line,
never as a traceback. Domain packages raise subclasses of it; they never import click.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem of input, configuration or state, explained in one line."""
