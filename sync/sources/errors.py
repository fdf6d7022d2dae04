"""Errors of the HR importers: each says what is wrong, where, and what to do.

``FeedError`` is the family the command line handles (one clear line, exit 1). Row-level
problems are not errors: they are ``Reject`` values in the rejects report.
"""

from __future__ import annotations

from sync.errors import UserError


class FeedError(UserError):
    """The feed cannot be imported at all (unreadable file, no id column, bad config...)."""


class SourceConfigError(FeedError):
    """A source's configuration ([sources] in hr2bi.toml) is missing or wrong."""


class AlreadyImported(FeedError):
    """The ledger says this exact file content was imported before (use --force)."""


class SourceUnavailable(FeedError):
    """An HR API could not be reached, or kept failing after every retry."""


class SourceResponseError(FeedError):
    """An HR API answered, but not with what we can import (an error status or garbage)."""
