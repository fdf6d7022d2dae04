"""The SCIM store: users (and their indexed multi-values), groups and members, deletions."""


from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    text,
)
from sqlmodel import Field, SQLModel

from sync.models.base import JSONType, KeyType, _ts


class ScimUser(SQLModel, table=True):
    """A user as the identity provider pushed it: the full resource plus indexed columns.

    ``resource`` holds every stored attribute (core and enterprise extension) under its
    canonical name, without ``id``, ``meta``, ``groups`` or ``password``.
    """

    __tablename__ = "scim_users"
    # The default order of a list: paging through every user walks this index.
    __table_args__ = (
        Index("ix_scim_users_created", "created_at", "id"),
        # The console's people search (migration 0012; SQLite's spelling is json_extract(...)).
        Index("ix_scim_users_given_name_lower", text("lower((resource -> 'name') ->> 'givenName')")),
        Index("ix_scim_users_family_name_lower", text("lower((resource -> 'name') ->> 'familyName')")),
        Index("ix_scim_users_display_name_lower", text("lower(display_name)")),
    )

    id: str = Field(primary_key=True, max_length=36)
    user_name: str = Field(max_length=512)
    # userName is unique on sync.names.name_key (RFC 7643 4.1.1: caseExact false; issue 12).
    user_name_key: str = Field(sa_type=KeyType, unique=True)
    external_id: str | None = Field(default=None, max_length=512, index=True)
    display_name: str | None = Field(default=None, max_length=512)
    active: bool = Field(default=True)
    employee_number: str | None = Field(default=None, max_length=255, index=True)
    resource: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    version: int = Field(default=1)
    created_at: dt.datetime = _ts()
    updated_at: dt.datetime = _ts(index=True)
    created_by: str | None = Field(default=None, max_length=100)
    updated_by: str | None = Field(default=None, max_length=100)


class ScimUserValue(SQLModel, table=True):
    """One element of a multi-valued user attribute (emails, phoneNumbers, ...).

    Kept as rows so ``emails[type eq "work"].value eq "x"`` is an indexed EXISTS query.
    """

    __tablename__ = "scim_user_values"
    __table_args__ = (
        Index("ix_scim_user_values_attr_value", "attribute", "value_key"),
        Index("ix_scim_user_values_attr_type", "attribute", "type", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(
        sa_column=Column(String(36), ForeignKey("scim_users.id", ondelete="CASCADE"),
                         nullable=False, index=True)
    )
    attribute: str = Field(max_length=64)
    value: str | None = Field(default=None)
    value_key: str | None = Field(default=None, max_length=512)
    type: str | None = Field(default=None, max_length=64)
    primary: bool | None = Field(default=None)
    display: str | None = Field(default=None)
    element: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class ScimGroup(SQLModel, table=True):
    """A group as the identity provider pushed it; members live in ``scim_group_members``."""

    __tablename__ = "scim_groups"
    __table_args__ = (Index("ix_scim_groups_created", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    display_name: str = Field(max_length=512)
    display_name_key: str = Field(sa_type=KeyType, unique=True)
    external_id: str | None = Field(default=None, max_length=512, index=True)
    resource: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    version: int = Field(default=1)
    created_at: dt.datetime = _ts()
    updated_at: dt.datetime = _ts(index=True)
    created_by: str | None = Field(default=None, max_length=100)
    updated_by: str | None = Field(default=None, max_length=100)


# A member is a user or a group: its id is also in the one column whose foreign key fits,
# so the database refuses a member that does not exist and drops it when it is deleted.
MEMBER_REFERENCE = (
    "(member_type = 'User' AND member_user_id = member_id AND member_group_id IS NULL) OR "
    "(member_type = 'Group' AND member_group_id = member_id AND member_user_id IS NULL)"
)


class ScimGroupMember(SQLModel, table=True):
    __tablename__ = "scim_group_members"
    __table_args__ = (CheckConstraint(MEMBER_REFERENCE, name="ck_scim_group_members_member_reference"),)

    group_id: str = Field(
        sa_column=Column(String(36), ForeignKey("scim_groups.id", ondelete="CASCADE"),
                         primary_key=True)
    )
    member_id: str = Field(primary_key=True, max_length=36, index=True)
    member_type: str = Field(default="User", max_length=10)
    member_user_id: str | None = Field(default=None, sa_column=Column(
        String(36), ForeignKey("scim_users.id", ondelete="CASCADE"), index=True))
    member_group_id: str | None = Field(default=None, sa_column=Column(
        String(36), ForeignKey("scim_groups.id", ondelete="CASCADE"), index=True))
    # As the identity provider sent them: returned verbatim, never derived.
    display: str | None = Field(default=None)
    ref: str | None = Field(default=None)


class ScimDeletion(SQLModel, table=True):
    """What a SCIM DELETE removed, when and by which token: a deletion is a write too,
    and the people it removes must still be deprovisioned downstream."""

    __tablename__ = "scim_deletions"

    id: int | None = Field(default=None, primary_key=True)
    resource_type: str = Field(max_length=10)
    resource_id: str = Field(max_length=36, index=True)
    name: str = Field(max_length=512)  # userName or displayName at deletion time
    resource: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    deleted_at: dt.datetime = _ts()
    deleted_by: str | None = Field(default=None, max_length=100)


# --- HR imports, people and runs (issue 4) ----------------------------------------------
