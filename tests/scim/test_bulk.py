"""Bulk (RFC 7644 3.7): ordering, bulkId references, limits, partial failure."""

from __future__ import annotations

from flask.testing import FlaskClient

from scim.schema import BULK_REQUEST, BULK_RESPONSE

from test_users_api import assert_error


def bulk(client: FlaskClient, auth: dict[str, str], operations: list[dict], **extra: object):  # noqa: ANN201
    return client.post("/scim/v2/Bulk", headers=auth,
                       json={"schemas": [BULK_REQUEST], "Operations": operations, **extra})


def test_bulk_creates_with_forward_references(client: FlaskClient, auth: dict[str, str]) -> None:
    response = bulk(client, auth, [
        {"method": "POST", "path": "/Groups", "bulkId": "g1",
         "data": {"displayName": "Bulk Group", "members": [{"value": "bulkId:u1"}, {"value": "bulkId:u2"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"userName": "u1@bulk.com"}},
        {"method": "POST", "path": "/Users", "bulkId": "u2", "data": {"userName": "u2@bulk.com"}},
        {"method": "PATCH", "path": "/Users/bulkId:u1", "data": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}]}},
    ])
    assert response.status_code == 200
    body = response.json
    assert body["schemas"] == [BULK_RESPONSE]
    assert [op["status"] for op in body["Operations"]] == ["201", "201", "201", "200"]
    group_location = body["Operations"][0]["location"]
    group = client.get(group_location.split("localhost")[1], headers=auth).json
    users = {op["location"].rsplit("/", 1)[1] for op in body["Operations"][1:3]}
    assert {m["value"] for m in group["members"]} == users
    patched = client.get(body["Operations"][3]["location"].split("localhost")[1], headers=auth).json
    assert patched["active"] is False


def test_one_failure_does_not_undo_the_others(client: FlaskClient, auth: dict[str, str]) -> None:
    body = bulk(client, auth, [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "a@bulk.com"}},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "A@bulk.com"}},
        {"method": "DELETE", "path": "/Users/does-not-exist"},
        {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": "c@bulk.com"}},
    ]).json
    statuses = [op["status"] for op in body["Operations"]]
    assert statuses == ["201", "409", "404", "201"]
    assert body["Operations"][1]["response"]["scimType"] == "uniqueness"
    listed = client.get("/scim/v2/Users", headers=auth).json
    assert sorted(r["userName"] for r in listed["Resources"]) == ["a@bulk.com", "c@bulk.com"]


def test_fail_on_errors_stops_processing(client: FlaskClient, auth: dict[str, str]) -> None:
    body = bulk(client, auth, [
        {"method": "POST", "path": "/Users", "bulkId": "x", "data": {}},
        {"method": "POST", "path": "/Users", "bulkId": "y", "data": {"userName": "y@bulk.com"}},
    ], failOnErrors=1).json
    assert [op["status"] for op in body["Operations"]] == ["400"]


def test_circular_references_fail_with_409(client: FlaskClient, auth: dict[str, str]) -> None:
    body = bulk(client, auth, [
        {"method": "POST", "path": "/Groups", "bulkId": "g1",
         "data": {"displayName": "G1", "members": [{"value": "bulkId:g2"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "g2",
         "data": {"displayName": "G2", "members": [{"value": "bulkId:g1"}]}},
    ]).json
    assert [op["status"] for op in body["Operations"]] == ["409", "409"]


def test_limits_are_enforced(client: FlaskClient, auth: dict[str, str]) -> None:
    too_many = [{"method": "POST", "path": "/Users", "bulkId": str(i), "data": {"userName": f"{i}@x"}}
                for i in range(1001)]
    assert_error(bulk(client, auth, too_many), 413)
    assert_error(client.post("/scim/v2/Bulk", headers=auth, json={"Operations": []}), 400, "invalidSyntax")
    bad = bulk(client, auth, [{"method": "GET", "path": "/Users/x"}, {"method": "POST", "path": "/Nope",
                                                                     "bulkId": "n", "data": {}}]).json
    assert [op["status"] for op in bad["Operations"]] == ["400", "400"]
