"""The identity store's tables: the only SQLModel tables in the project, one module per
area (importing this package registers them all with SQLModel's metadata).

Domain code never sees these rows: ``scim.resources`` and the other adapters translate
them into plain dicts and frozen values at the boundary.

Schema changes go through Alembic (``sync/migrations``); ``tests/test_migrations.py``
fails when these models and the migrations drift apart.
"""

from __future__ import annotations

from sync.models.audit import AuditCheckpoint, AuditEvent, AuditShipCursor
from sync.models.base import ApiToken, JSONType, KeyType, Lock, utcnow
from sync.models.bi import AccountOwner, BiGroupState, BiUserState, OutboxChange
from sync.models.people import ImportedFile, PersonEvent, Run, RunRecord, StoredPerson
from sync.models.scim import (
    MEMBER_REFERENCE,
    ScimDeletion,
    ScimGroup,
    ScimGroupMember,
    ScimUser,
    ScimUserValue,
)

__all__ = [
    "AccountOwner",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditShipCursor",
    "BiGroupState",
    "BiUserState",
    "ImportedFile",
    "JSONType",
    "KeyType",
    "Lock",
    "MEMBER_REFERENCE",
    "OutboxChange",
    "PersonEvent",
    "Run",
    "RunRecord",
    "ScimDeletion",
    "ScimGroup",
    "ScimGroupMember",
    "ScimUser",
    "ScimUserValue",
    "StoredPerson",
    "utcnow",
]
