"""Discovery endpoints (RFC 7644 section 4): what is supported, told truthfully."""

from __future__ import annotations

from typing import Any

from scim.errors import InvalidFilter, NotFound
from scim.resource_service import Page, ResourceService
from scim.schema import (
    LIST_RESPONSE, RESOURCE_TYPE_SCHEMA, SPC_SCHEMA, all_schemas, resource_type_named,
    resource_types as types,
)
from scim.storage import Query


def listing(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }


def service_provider_config(root: str, config: Any) -> dict[str, Any]:
    # RFC 7643 5 has a place for the bulk and page limits only, and clients (scim2-models
    # among them) refuse any other key here; the other input limits (scim.input,
    # scim.filters, scim.bulk, column lengths) are in the README's SCIM section.
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://github.com/hr2bi/hr2bi#connecting-an-identity-provider",
        "patch": {"supported": True},
        "bulk": {
            "supported": True,
            "maxOperations": config.bulk_max_operations,
            "maxPayloadSize": config.bulk_max_payload,
        },
        "filter": {"supported": True, "maxResults": config.max_results},
        # Passwords are never stored: hr2bi provisions accounts, it does not authenticate.
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A token from `hr2bi tokens create NAME --scope scim`, sent as "
                           "Authorization: Bearer <token>",
            "primary": True,
        }],
        "meta": {"resourceType": "ServiceProviderConfig",
                 "location": f"{root}/ServiceProviderConfig"},
    }


def resource_types(root: str) -> list[dict[str, Any]]:
    return [_resource_type(root, rt) for rt in types()]


def _resource_type(root: str, rtype: Any) -> dict[str, Any]:
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": rtype.name,
        "name": rtype.name,
        "endpoint": rtype.endpoint,
        "description": f"{rtype.name} accounts pushed by the identity provider",
        "schema": rtype.schema.id,
        "schemaExtensions": [{"schema": e.id, "required": False} for e in rtype.extensions],
        "meta": {"resourceType": "ResourceType", "location": f"{root}/ResourceTypes/{rtype.name}"},
    }


def resource_type(root: str, name: str) -> dict[str, Any]:
    rtype = resource_type_named(name)
    if rtype is None:
        raise NotFound(f"no resource type {name!r}")
    return _resource_type(root, rtype)


def schemas(root: str) -> list[dict[str, Any]]:
    return [_schema_doc(root, s.document) for s in all_schemas()]


def _schema_doc(root: str, document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "meta": {"resourceType": "Schema", "location": f"{root}/Schemas/{document['id']}"}}


def schema(root: str, schema_id: str) -> dict[str, Any]:
    for item in all_schemas():
        if item.id.lower() == schema_id.lower():
            return _schema_doc(root, item.document)
    raise NotFound(f"no schema {schema_id!r}")


def search_everything(query: Query, stores: list[ResourceService]) -> Page:
    """POST /.search at the root: every resource type, paged as one list (RFC 7644 3.4.3)."""
    resources: list[dict[str, Any]] = []
    total, skip, room = 0, query.start_index - 1, query.count
    for store in stores:
        try:
            counted = store.search(Query(query.filter, None, False, 1, 0)).total
        except InvalidFilter:
            continue  # the filter names attributes this type does not have: none match

        total += counted
        if room > 0 and skip < counted:
            page = store.search(Query(query.filter, query.sort_by, query.descending, skip + 1, room))
            resources.extend(page.resources)
            room -= len(page.resources)
        skip = max(0, skip - counted)
    return Page(total, query.start_index, resources)
