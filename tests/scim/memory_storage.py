"""A storage backend in a few dicts, for the contract test only: it shows that
``scim.storage``'s contract says nothing of SQL. No filters, no sorting, no locks."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from scim.schema import ResourceType, group_type, user_type
from scim.storage import Member, NameTaken, Query, SelfMember, UnknownMembers
from sync.names import name_key


@dataclass(frozen=True)
class Record:
    id: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    resource: dict[str, Any]


@dataclass
class MemoryDatabase:
    records: dict[str, dict[str, Record]] = field(default_factory=lambda: {"User": {}, "Group": {}})
    members: dict[str, list[Member]] = field(default_factory=dict)  # group id -> members

    def kind_of(self, resource_id: str) -> str | None:
        return next((kind for kind, found in self.records.items() if resource_id in found), None)


class MemoryStorage:
    def __init__(self, database: MemoryDatabase, rtype: ResourceType) -> None:
        self.db, self.rtype = database, rtype
        self.records = database.records[rtype.name]

    def get(self, resource_id: str) -> Record | None:
        return self.records.get(resource_id)

    def get_for_write(self, resource_id: str, *, deleting: bool = False) -> Record | None:
        return self.records.get(resource_id)

    def search(self, query: Query) -> tuple[int, list[Record]]:
        assert query.filter is None and query.sort_by is None, "the memory backend only pages"
        found = list(self.records.values())
        start = query.start_index - 1
        return len(found), found[start:start + max(0, query.count)]

    def insert(self, document: dict[str, Any], actor: str | None) -> Record:
        now = dt.datetime.now(dt.UTC)
        return self._write(Record(str(uuid.uuid4()), 0, now, now, {}), document)

    def update(self, record: Any, document: dict[str, Any], actor: str | None) -> Record:
        return self._write(record, document)

    def delete(self, record: Any, actor: str | None) -> None:
        del self.records[record.id]
        self.db.members.pop(record.id, None)
        for group_id, members in self.db.members.items():
            self.db.members[group_id] = [m for m in members if m.value != record.id]

    def _write(self, record: Record, document: dict[str, Any]) -> Record:
        stored = dict(document)
        key = name_key(stored[self.rtype.key_attribute or ""])
        if any(name_key(r.resource[self.rtype.key_attribute or ""]) == key
               for r in self.records.values() if r.id != record.id):
            raise NameTaken(key)
        if self.rtype.name == "Group":
            self.db.members[record.id] = self._members(record.id, stored.pop("members", []))
        written = replace(record, version=record.version + 1, resource=stored,
                          updated_at=dt.datetime.now(dt.UTC))
        self.records[record.id] = written
        return written

    def _members(self, group_id: str, members: list[dict[str, Any]]) -> list[Member]:
        kinds = {str(m["value"]): self.db.kind_of(str(m["value"])) for m in members}
        missing = [i for i, kind in kinds.items() if kind is None]
        if missing:
            raise UnknownMembers(missing)
        if group_id in kinds:
            raise SelfMember()
        found = [Member(str(m["value"]), kinds[str(m["value"])] or "", m.get("display"), m.get("$ref"))
                 for m in members]
        return sorted(found, key=lambda m: m.value)

    def related(self, ids: list[str]) -> dict[str, list[Member]]:
        if self.rtype.name == "Group":
            return {i: self.db.members[i] for i in ids if self.db.members.get(i)}
        groups = self.db.records["Group"]
        found: dict[str, list[Member]] = {}
        for group_id, members in sorted(self.db.members.items(),
                                        key=lambda item: name_key(groups[item[0]].resource["displayName"])):
            for member in members:
                if member.value in ids:
                    found.setdefault(member.value, []).append(
                        Member(group_id, "Group", display=groups[group_id].resource["displayName"]))
        return found


def memory_storages() -> tuple[MemoryStorage, MemoryStorage]:
    database = MemoryDatabase()
    return MemoryStorage(database, user_type()), MemoryStorage(database, group_type())
