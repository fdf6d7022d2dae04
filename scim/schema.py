"""What this service provider supports: schemas, resource types and attribute metadata.

The schema documents come from scim2-models' canonical RFC 7643 definitions, adjusted
where hr2bi is stricter or looser than the RFC, so ``/Schemas`` tells the truth and the
validation in ``scim.resources`` reads the very same metadata.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from scim2_models import EnterpriseUser, Group, User

from scim.errors import InvalidPath
from scim.filters import AttrPath

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

# Attributes every resource has (RFC 7643 section 3.1), outside any schema's list.
COMMON = ("id", "externalId", "meta", "schemas")


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    sub_attributes: dict[str, Attribute] = field(default_factory=dict)

    def sub(self, name: str) -> Attribute | None:
        return self.sub_attributes.get(name.lower())

    @property
    def writable(self) -> bool:
        return self.mutability in ("readWrite", "writeOnly", "immutable")


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    attributes: dict[str, Attribute]
    document: dict[str, Any] = field(repr=False, compare=False, hash=False)

    def get(self, name: str) -> Attribute | None:
        return self.attributes.get(name.lower())


@dataclass(frozen=True)
class ResourceType:
    name: str
    endpoint: str
    schema: Schema
    extensions: tuple[Schema, ...] = ()
    # The attribute unique on its canonical key (sync.names.name_key).
    key_attribute: str | None = None
    # The longest value each stored column holds ("attr" or "urn:attr"), so an over-long
    # value is a 400 before the database sees it; tests/scim/test_input.py checks these
    # against the columns in sync/models.py.
    max_lengths: tuple[tuple[str, int], ...] = ()
    # Schema URNs identity providers list in "schemas" for data hr2bi does not keep.
    tolerated_urns: tuple[str, ...] = ()

    def extension(self, urn: str) -> Schema | None:
        lowered = urn.lower()
        return next((e for e in self.extensions if e.id.lower() == lowered), None)

    def schema_for(self, urn: str | None) -> Schema:
        if urn is None or urn.lower() == self.schema.id.lower():
            return self.schema
        extension = self.extension(urn)
        if extension is None:
            raise InvalidPath(f"unknown schema {urn!r} for {self.name}")
        return extension

    def resolve(self, path: AttrPath) -> tuple[Schema, Attribute, Attribute | None]:
        """The schema, attribute and sub-attribute a path names; ``InvalidPath`` if none."""
        schema = self.schema_for(path.urn)
        attribute = schema.get(path.attr)
        if attribute is None and path.urn is None:
            attribute = _COMMON_ATTRIBUTES.get(path.attr.lower())
        if attribute is None:
            raise InvalidPath(f"{self.name} has no attribute {str(path)!r}")
        if path.sub is None:
            return schema, attribute, None
        sub = attribute.sub(path.sub)
        if sub is None:
            raise InvalidPath(f"{attribute.name} has no sub-attribute {path.sub!r}")
        return schema, attribute, sub


def _attribute(doc: dict[str, Any]) -> Attribute:
    subs = {s["name"].lower(): _attribute(s) for s in doc.get("subAttributes", [])}
    return Attribute(
        name=doc["name"],
        type=doc["type"],
        multi_valued=doc.get("multiValued", False),
        required=doc.get("required", False),
        case_exact=doc.get("caseExact", False),
        mutability=doc.get("mutability", "readWrite"),
        returned=doc.get("returned", "default"),
        uniqueness=doc.get("uniqueness", "none"),
        sub_attributes=subs,
    )


_COMMON_ATTRIBUTES = {
    "id": Attribute("id", "string", case_exact=True, mutability="readOnly", returned="always",
                    uniqueness="server"),
    "externalid": Attribute("externalId", "string", case_exact=True),
    "meta": Attribute("meta", "complex", mutability="readOnly", sub_attributes={
        "resourcetype": Attribute("resourceType", "string", case_exact=True, mutability="readOnly"),
        "created": Attribute("created", "dateTime", mutability="readOnly"),
        "lastmodified": Attribute("lastModified", "dateTime", mutability="readOnly"),
        "location": Attribute("location", "reference", case_exact=True, mutability="readOnly"),
        "version": Attribute("version", "string", case_exact=True, mutability="readOnly"),
    }),
}


def _document(model: Any, adjust: dict[str, dict[str, Any]]) -> dict[str, Any]:
    doc = model.to_schema().model_dump(mode="json", by_alias=True, exclude_none=True)
    doc = copy.deepcopy(doc)
    for dotted, changes in adjust.items():
        name, _, sub = dotted.partition(".")
        attr = next(a for a in doc["attributes"] if a["name"] == name)
        if sub:
            attr = next(s for s in attr["subAttributes"] if s["name"] == sub)
        attr.update(changes)
    return doc


def _schema(doc: dict[str, Any]) -> Schema:
    attributes = {a["name"].lower(): _attribute(a) for a in doc["attributes"]}
    return Schema(doc["id"], doc["name"], attributes, doc)


@cache
def user_type() -> ResourceType:
    user_doc = _document(User, {})
    # Identity providers send the manager as an id only (Entra even as a bare string);
    # $ref is derived, so it cannot be required of them.
    enterprise_doc = _document(EnterpriseUser, {"manager.$ref": {"required": False},
                                                "manager.value": {"required": False}})
    lengths = (("userName", 512), ("externalId", 512), ("displayName", 512),
               (f"{ENTERPRISE_USER}:employeeNumber", 255))
    return ResourceType("User", "/Users", _schema(user_doc), (_schema(enterprise_doc),),
                        key_attribute="userName", max_lengths=lengths)


@cache
def group_type() -> ResourceType:
    # The BI platform needs a name for every group; Omni caps names at 64 characters but
    # an identity provider's group may be longer, so that limit is enforced later, not here.
    # A member is its id: one without "value" names no one (RFC 7643 4.2).
    doc = _document(Group, {"displayName": {"required": True}, "members.value": {"required": True}})
    # Entra lists its own Group schema in every group it sends, with no attributes of it.
    entra = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group"
    return ResourceType("Group", "/Groups", _schema(doc), key_attribute="displayName",
                        max_lengths=(("displayName", 512), ("externalId", 512)),
                        tolerated_urns=(entra,))


def resource_types() -> tuple[ResourceType, ...]:
    return (user_type(), group_type())


def resource_type_named(name: str) -> ResourceType | None:
    return next((rt for rt in resource_types() if rt.name.lower() == name.lower()), None)


def all_schemas() -> tuple[Schema, ...]:
    seen: dict[str, Schema] = {}
    for rtype in resource_types():
        for schema in (rtype.schema, *rtype.extensions):
            seen.setdefault(schema.id, schema)
    return tuple(seen.values())
