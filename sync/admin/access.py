"""Who may do what in the console and the admin API: three roles, each including the last.

=========  ===========================================================================
role       may
=========  ===========================================================================
viewer     look at everything: overview, runs and their changes, people and why they
           have what they have, the provisioning log, the audit trail and its bundles
approver   also approve or reject a held run and provision one person on demand
admin      also create and revoke tokens
=========  ===========================================================================

A person signed in through the company's IdP gets the highest role any of their IdP groups
gives (``console_viewer_groups``, ``console_approver_groups``, ``console_admin_groups``);
no group, no sign-in. An admin-scope token (the embedded mode's sign-in, and scripts
calling the API) is an admin.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from sync.config import Settings


class Role(enum.IntEnum):
    VIEWER = 1
    APPROVER = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def named(cls, name: str) -> Role | None:
        return cls.__members__.get(str(name).upper())


@dataclass(frozen=True)
class Principal:
    """Whoever is signed in (or calling the API): a name for the audit log, a role, and how
    they proved who they are (``oidc`` or ``token``)."""

    name: str
    role: Role
    via: str

    def may(self, role: Role) -> bool:
        return self.role >= role


def role_from_groups(groups: Iterable[str], settings: Settings) -> Role | None:
    """The highest role the IdP groups give, or None (compared case-insensitively)."""
    have = {str(g).strip().casefold() for g in groups}
    for role, names in ((Role.ADMIN, settings.console_admin_groups),
                        (Role.APPROVER, settings.console_approver_groups),
                        (Role.VIEWER, settings.console_viewer_groups)):
        if have & {n.casefold() for n in names}:
            return role
    return None


def token_signin_enabled(settings: Settings) -> bool:
    if settings.console_token_signin is not None:
        return settings.console_token_signin
    return not settings.console_oidc_issuer
