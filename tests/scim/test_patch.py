"""PATCH as a pure function over a resource document (RFC 7644 3.5.2)."""

from __future__ import annotations

from typing import Any

import pytest

from scim.errors import InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget
from scim.patch import apply_patch
from scim.resources import normalize
from scim.schema import ENTERPRISE_USER, PATCH_OP, group_type, user_type

USER = {
    "userName": "bjensen@example.com",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "b@work.com", "type": "work", "primary": True}],
    ENTERPRISE_USER: {"department": "Sales"},
}


def patch(*operations: dict[str, Any], doc: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"schemas": [PATCH_OP], "Operations": list(operations)}
    return normalize(apply_patch(doc if doc is not None else USER, body, user_type()), user_type())


def test_replace_simple_and_sub_attributes() -> None:
    result = patch({"op": "replace", "path": "name.givenName", "value": "Babs"},
                   {"op": "replace", "path": "title", "value": "Guide"})
    assert result["name"] == {"givenName": "Babs", "familyName": "Jensen"}
    assert result["title"] == "Guide"
    assert USER["name"]["givenName"] == "Barbara"  # the input is never modified


def test_entra_capitalised_ops_and_string_booleans() -> None:
    result = patch({"op": "Replace", "path": "active", "value": "False"},
                   {"op": "Add", "path": "nickName", "value": "B"})
    assert result["active"] is False and result["nickName"] == "B"


def test_pathless_value_object_with_dotted_and_qualified_keys() -> None:
    result = patch({"op": "replace", "value": {
        "active": False,
        "name.familyName": "Smith",
        f"{ENTERPRISE_USER}:department": "Finance",
        f"{ENTERPRISE_USER}:manager": "mgr-1",  # Entra: the manager as a bare id
    }})
    assert result["active"] is False and result["name"]["familyName"] == "Smith"
    assert result[ENTERPRISE_USER] == {"department": "Finance", "manager": {"value": "mgr-1"}}


def test_manager_as_object_and_as_string_path() -> None:
    by_object = patch({"op": "add", "path": f"{ENTERPRISE_USER}:manager", "value": {"value": "m2"}})
    by_string = patch({"op": "replace", "path": f"{ENTERPRISE_USER}:manager", "value": "m2"})
    assert by_object[ENTERPRISE_USER]["manager"] == by_string[ENTERPRISE_USER]["manager"] == {"value": "m2"}


def test_add_to_multi_valued_appends_and_new_primary_demotes_old() -> None:
    result = patch({"op": "add", "path": "emails",
                    "value": [{"value": "b@home.com", "type": "home", "primary": True}]})
    assert [e["value"] for e in result["emails"]] == ["b@work.com", "b@home.com"]
    assert [e.get("primary") for e in result["emails"]] == [False, True]


def test_add_of_an_existing_value_does_not_duplicate() -> None:
    result = patch({"op": "add", "path": "emails", "value": [{"value": "b@work.com", "type": "work"}]})
    assert len(result["emails"]) == 1


def test_replace_multi_valued_replaces_the_list() -> None:
    result = patch({"op": "replace", "path": "emails", "value": [{"value": "n@x.com"}]})
    assert result["emails"] == [{"value": "n@x.com"}]


def test_value_path_replace_of_sub_attribute() -> None:
    result = patch({"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@work.com"})
    assert result["emails"] == [{"value": "new@work.com", "type": "work", "primary": True}]


def test_value_path_without_a_match_creates_the_element_entra_style() -> None:
    result = patch({"op": "replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555"})
    assert result["phoneNumbers"] == [{"type": "mobile", "value": "+1 555"}]


def test_value_path_replace_without_match_and_no_equality_is_no_target() -> None:
    with pytest.raises(NoTarget):
        patch({"op": "replace", "path": 'emails[value co "zzz"].display', "value": "x"})


def test_remove_by_value_path_and_by_sub_attribute() -> None:
    doc = {**USER, "emails": [{"value": "a@x.com", "type": "work"}, {"value": "b@x.com", "type": "home"}]}
    assert patch({"op": "remove", "path": 'emails[type eq "home"]'}, doc=doc)["emails"] == [
        {"value": "a@x.com", "type": "work"}]
    assert patch({"op": "remove", "path": "name.givenName"})["name"] == {"familyName": "Jensen"}
    assert "emails" not in patch({"op": "remove", "path": "emails"})


def test_removing_an_absent_attribute_is_not_an_error() -> None:
    assert "nickName" not in patch({"op": "remove", "path": "nickName"})
    twice = patch({"op": "remove", "path": ENTERPRISE_USER},
                  {"op": "remove", "path": f"{ENTERPRISE_USER}:department"})
    assert ENTERPRISE_USER not in twice  # an emptied extension disappears, never {}


def test_whole_extension_path_ignores_an_echoed_schemas_key() -> None:
    result = patch({"op": "add", "path": ENTERPRISE_USER,
                    "value": {"schemas": [ENTERPRISE_USER], "costCenter": "CC-1"}})
    assert result[ENTERPRISE_USER] == {"department": "Sales", "costCenter": "CC-1"}


def test_group_members_add_in_batch_and_remove_entra_and_okta_style() -> None:
    group = {"displayName": "Finance", "members": [{"value": "u1"}]}
    body = {"schemas": [PATCH_OP], "Operations": [
        {"op": "Add", "path": "members", "value": [{"value": f"u{i}"} for i in range(1, 6)]},
        {"op": "Remove", "path": "members", "value": [{"value": "u2"}]},   # Entra
        {"op": "remove", "path": 'members[value eq "u3"]'},              # Okta
    ]}
    result = apply_patch(group, body, group_type())
    assert [m["value"] for m in result["members"]] == ["u1", "u4", "u5"]


@pytest.mark.parametrize("body,error", [
    ({"Operations": [{"op": "add", "path": "title", "value": "x"}]}, InvalidSyntax),
    ({"schemas": [PATCH_OP], "Operations": []}, InvalidSyntax),
    ({"schemas": [PATCH_OP], "Operations": [{"op": "move", "path": "title"}]}, InvalidSyntax),
    ({"schemas": [PATCH_OP], "Operations": ["add"]}, InvalidSyntax),
    ({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title"}]}, InvalidValue),
    ({"schemas": [PATCH_OP], "Operations": [{"op": "remove"}]}, NoTarget),
    ({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "nope", "value": 1}]}, InvalidPath),
    ({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title[", "value": 1}]}, InvalidPath),
    ({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "id", "value": "x"}]}, Mutability),
    ({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "groups", "value": []}]}, Mutability),
    ({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": 'title[value eq "x"]', "value": {}}]},
     InvalidPath),
    ("not an object", InvalidSyntax),
])
def test_bad_patches_raise_the_right_scim_error(body: Any, error: type) -> None:
    with pytest.raises(error):
        apply_patch(USER, body, user_type())


def test_removing_a_required_attribute_fails_validation() -> None:
    with pytest.raises(InvalidValue, match="userName is required"):
        patch({"op": "remove", "path": "userName"})


def test_remove_by_value_list_ignores_values_that_name_nothing() -> None:
    group = {"displayName": "G", "members": [{"value": "u1"}, {"value": "u2"}]}
    body = {"schemas": [PATCH_OP], "Operations": [
        {"op": "remove", "path": "members", "value": [[], {"value": "u1"}, None, {"x": 1}]}]}
    assert apply_patch(group, body, group_type())["members"] == [{"value": "u2"}]
