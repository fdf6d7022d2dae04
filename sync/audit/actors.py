"""Who an audit event says acted: ``<kind>:<name>``, written by these functions only.

=========  =======================================  ====================================
kind       who                                      example
=========  =======================================  ====================================
token      an identity provider, by its SCIM token  ``token:okta-prod``
source     an HR importer, by its source name       ``source:workday``
approver   whoever approved or rejected a held run  ``approver:dana``
console    a person signed in to the admin console  ``console:dana@example.com``
           or calling the admin API (by IdP         ``console:token:ops-script``
           identity, or by token name)
cli        an operator at the command line, by OS   ``cli:alice``
           account (tokens created and revoked)
system     hr2bi itself, by component; a worker     ``system:plan``, ``system:config``,
           applying changes adds ``@host:pid``      ``system:apply@web-1:4242``
=========  =======================================  ====================================

Events recorded before this module keep the spelling they were written with (the log is
append-only and hashed): ``hr2bi plan``, ``hr2bi apply (host:pid)`` and ``system:hr2bi``.
Exports, views and verification carry the actor as an opaque string, so both spellings
read the same way.
"""

from __future__ import annotations

# Components of hr2bi that record events on their own account.
PLAN, APPLY = "plan", "apply"
CONFIG = "config"  # settings and mapping-table changes, noticed when a run starts
AUDIT = "audit"  # the log's own alerts (a rewritten log refused a checkpoint)


def token_actor(name: str | None) -> str:
    """The SCIM bearer token's name (``unknown`` for a write no token is known for)."""
    return f"token:{name or 'unknown'}"


def source_actor(name: str) -> str:
    return f"source:{name}"


def approver_actor(name: str) -> str:
    return f"approver:{name.strip()}"


def console_actor(name: str) -> str:
    """A person signed in to the console (their IdP e-mail or subject), or a script calling
    the admin API (``token:<name>``)."""
    return f"console:{name.strip()}"


def cli_actor(account: str | None) -> str:
    """An operator at the command line, by operating-system account (``unknown`` when
    there is no passwd entry, as in some containers)."""
    return f"cli:{account or 'unknown'}"


def system_actor(component: str, worker: str | None = None) -> str:
    """hr2bi itself: ``system:<component>``, and ``@<worker>`` for the worker (host:pid)
    that did it when several may share the work."""
    return f"system:{component}" + (f"@{worker}" if worker else "")
