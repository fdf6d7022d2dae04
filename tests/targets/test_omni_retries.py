"""OmniTarget under a misbehaving platform: 429s with and without Retry-After, 5xx and
timeouts retried with jittered backoff, creates whose outcome is unknown looked up before
they are resent, 409 adopted, stale ids after re-activation. The sandbox serves the calls
through a transport that injects the faults a test scripts; the clock is fake."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import KEYS, FakeClock
from flask import Flask

from sync.rules.tables import Role
from sync.targets.base import UserChanges
from sync.targets.calls import RetryPolicy, retry_after
from sync.targets.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    RateLimited,
    TargetUnavailable,
)
from sync.targets.omni import OmniTarget

USERS = "/api/scim/v2/Users"


class Faulty:
    """Forwards to the sandbox, except for the faults scripted for (method, path prefix)."""

    def __init__(self, app: Flask) -> None:
        self.sandbox = httpx.WSGITransport(app=app)
        self.faults: list[tuple[str, str, str, dict[str, str]]] = []
        self.log: list[tuple[str, str, str]] = []

    def fail(self, method: str, path: str, kind: str, times: int = 1, **headers: str) -> None:
        self.faults += [(method, path, kind, headers)] * times

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = request.headers["Authorization"].removeprefix("Bearer ")
        self.log.append((request.method, request.url.path, key))
        for index, (method, path, kind, headers) in enumerate(self.faults):
            if request.method == method and request.url.path.startswith(path):
                del self.faults[index]
                return self._fault(request, kind, headers)
        return self.sandbox.handle_request(request)

    def _fault(self, request: httpx.Request, kind: str, headers: dict[str, str]) -> httpx.Response:
        if kind == "timeout-after":  # done by the platform, but the answer never came
            self.sandbox.handle_request(request)
            raise httpx.ReadTimeout("timed out", request=request)
        if kind == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if kind == "connect":
            raise httpx.ConnectError("refused", request=request)
        status = int(kind)
        body = {"error": str(status), "message": "Rate limit exceeded" if status == 429 else "boom"}
        return httpx.Response(status, json=body, headers={k.replace("_", "-"): v for k, v in headers.items()})

    def calls(self, method: str | None = None) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.log if method in (None, m)]


@pytest.fixture
def faulty(sandbox: Flask) -> Faulty:
    return Faulty(sandbox)


@pytest.fixture
def omni(faulty: Faulty, make_omni: Callable[..., OmniTarget]) -> OmniTarget:
    http = httpx.Client(transport=httpx.MockTransport(faulty), base_url="https://acme.omniapp.co")
    # A large burst keeps the bucket out of the way: the sleeps seen are the retries' own.
    return make_omni(http, burst=100, policy=RetryPolicy(attempts=4, rate_limited_attempts=4))


def users_in(sandbox: Flask) -> list[str]:
    return [u["userName"] for u in sandbox.config["store"].state.users.values()]


def test_429_with_retry_after_waits_that_long(omni: OmniTarget, faulty: Faulty, clock: FakeClock) -> None:
    faulty.fail("GET", USERS, "429", Retry_After="7")
    assert omni.find_user("ada@example.com") is None
    assert len(faulty.calls("GET")) == 2
    assert clock.sleeps == [pytest.approx(7.0)]


def test_429_without_retry_after_backs_off_with_jitter(omni: OmniTarget, faulty: Faulty,
                                                       clock: FakeClock) -> None:
    faulty.fail("GET", USERS, "429", times=3)
    assert omni.find_user("ada@example.com") is None
    assert len(faulty.calls("GET")) == 4
    # rng() is 0.5: half of 0.5, 1, 2 seconds, growing with each 429.
    assert clock.sleeps == pytest.approx([0.25, 0.5, 1.0])


def test_429_on_one_key_moves_the_next_call_to_another(
        faulty: Faulty, make_omni: Callable[..., OmniTarget], clock: FakeClock) -> None:
    http = httpx.Client(transport=httpx.MockTransport(faulty), base_url="https://acme.omniapp.co")
    omni = make_omni(http, keys=KEYS[:2])
    faulty.fail("GET", USERS, "429", Retry_After="30")
    omni.find_user("ada@example.com")
    assert [key for _, _, key in faulty.log] == [KEYS[0], KEYS[1]]
    assert clock.sleeps == []


def test_429_that_never_ends_raises_rate_limited(omni: OmniTarget, faulty: Faulty) -> None:
    faulty.fail("GET", USERS, "429", times=10, Retry_After="2")
    with pytest.raises(RateLimited) as caught:
        omni.find_user("ada@example.com")
    assert caught.value.retry_after == 2.0
    assert len(faulty.calls()) == 4


def test_5xx_and_timeouts_are_retried_with_jittered_backoff(
        faulty: Faulty, make_omni: Callable[..., OmniTarget], clock: FakeClock) -> None:
    draws = iter([0.1, 0.9, 0.3])
    http = httpx.Client(transport=httpx.MockTransport(faulty), base_url="https://acme.omniapp.co")
    omni = make_omni(http, burst=100, rng=lambda: next(draws))
    faulty.fail("GET", USERS, "500")
    faulty.fail("GET", USERS, "timeout")
    faulty.fail("GET", USERS, "503")
    assert omni.find_user("ada@example.com") is None
    assert len(faulty.calls("GET")) == 4
    # Full jitter: a random share of 0.5, 1 and 2 seconds.
    assert clock.sleeps == pytest.approx([0.05, 0.9, 0.6])


def test_failures_that_never_end_raise_target_unavailable(omni: OmniTarget, faulty: Faulty) -> None:
    faulty.fail("GET", USERS, "500", times=10)
    with pytest.raises(TargetUnavailable):
        omni.find_user("ada@example.com")
    assert len(faulty.calls()) == 4


def test_a_create_that_timed_out_but_was_done_is_found_not_sent_again(
        omni: OmniTarget, faulty: Faulty, sandbox: Flask) -> None:
    faulty.fail("POST", USERS, "timeout-after")
    user = omni.create_user("ada@example.com", "Ada", {"department": "Finance"})
    assert faulty.calls() == [("POST", USERS), ("GET", USERS)]
    assert users_in(sandbox) == ["ada@example.com"]
    assert user.attributes == {"department": "Finance"}


@pytest.mark.parametrize("fault", ["timeout", "500", "502"])
def test_a_create_that_failed_undone_is_looked_up_then_sent_again(
        omni: OmniTarget, faulty: Faulty, sandbox: Flask, fault: str) -> None:
    faulty.fail("POST", USERS, fault)
    omni.create_user("ada@example.com", "Ada")
    assert faulty.calls() == [("POST", USERS), ("GET", USERS), ("POST", USERS)]
    assert users_in(sandbox) == ["ada@example.com"]


def test_a_create_that_never_left_is_sent_again_without_a_lookup(
        omni: OmniTarget, faulty: Faulty, sandbox: Flask) -> None:
    faulty.fail("POST", USERS, "connect")
    omni.create_user("ada@example.com", "Ada")
    assert faulty.calls() == [("POST", USERS), ("POST", USERS)]


def test_409_on_create_looks_up_and_patches_only_what_differs(
        omni: OmniTarget, faulty: Faulty, sandbox: Flask) -> None:
    existing = omni.create_user("ada@example.com", "Ada", {"department": "Finance", "region": "EMEA"})
    omni.deactivate_user(existing.ref)
    faulty.log.clear()
    patches: list[Any] = []
    faulty.sandbox = _spy(faulty.sandbox, patches)
    user = omni.create_user("ADA@example.com", "Ada Lovelace", {"department": "Finance", "region": "AMER"})
    assert faulty.calls() == [("POST", USERS), ("GET", USERS), ("PATCH", f"{USERS}/{existing.id}")]
    assert user.id != existing.id  # the strict sandbox: a re-activated user is a new account
    assert patches[0]["Operations"] == [
        {"op": "replace", "path": "displayName", "value": "Ada Lovelace"},
        {"op": "replace", "path": "active", "value": True},
        {"op": "replace", "value": {"urn:omni:params:1.0:UserAttribute": {
            "department": "Finance", "region": "AMER"}}}]  # all of them: it may come back empty
    assert (user.active, dict(user.attributes)) == (True, {"department": "Finance", "region": "AMER"})
    assert users_in(sandbox) == ["ada@example.com"]


def _spy(transport: httpx.WSGITransport, patches: list[Any]) -> Any:
    class Spy:
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "PATCH":
                patches.append(json.loads(request.content))
            return transport.handle_request(request)
    return Spy()


def test_reactivation_may_mint_a_new_id_and_the_username_stays_the_key(
        make_sandbox: Callable[..., Flask], make_omni: Callable[..., OmniTarget]) -> None:
    app = make_sandbox(reactivation="carry-over")
    omni = make_omni(httpx.Client(transport=httpx.WSGITransport(app=app),
                                  base_url="https://acme.omniapp.co"))
    assert omni.capabilities.reactivation_keeps_id is False
    before = omni.create_user("ada@example.com", "Ada")
    group = omni.create_group("Finance", [before.id])
    omni.deactivate_user(before.ref)
    after = omni.reactivate_user(before.ref)
    assert after.id != before.id and after.active
    assert omni.find_group("Finance").member_ids == {after.id}
    # A change sent with the old, cached id still reaches the user: 404, lookup, PATCH.
    renamed = omni.update_user(before.ref, UserChanges(display_name="Ada L"))
    assert (renamed.id, renamed.display_name) == (after.id, "Ada L")
    assert group.id == omni.find_group("Finance").id
    # Roles too: the stale id answers 404, the userName finds the user.
    omni.set_user_role(before.ref, "warehouse", "finance", Role.MODELER)
    direct = [r for r in omni.user_roles(before.ref) if r.origin == "USER"]
    assert [(r.model, r.role) for r in direct] == [("finance", "MODELER")]


def test_refusals_are_typed_and_carry_the_platforms_message(omni: OmniTarget) -> None:
    user = omni.create_user("ada@example.com", "Ada")
    with pytest.raises(InvalidRequest) as caught:
        omni.update_user(user.ref, UserChanges(attributes={"no_such": "x"}))
    assert caught.value.status == 400 and "Unknown user attribute" in caught.value.message
    with pytest.raises(NotFound):
        omni.add_members("NoSuch00", [user.id])
    with pytest.raises(Conflict):
        omni.calls.send("POST", USERS, json={"userName": "ada@example.com", "displayName": "A"},
                        idempotent=False)
    with pytest.raises(InvalidRequest):
        omni.create_group("x" * 65)


def test_scim_shaped_errors_are_understood_too(make_omni: Callable[..., OmniTarget]) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                                         "status": "400", "detail": "bad filter"})
    omni = make_omni(httpx.Client(transport=httpx.MockTransport(answer), base_url="https://x"))
    with pytest.raises(InvalidRequest, match="bad filter"):
        omni.find_user("ada@example.com")


def test_retry_after_reads_seconds_and_http_dates() -> None:
    request = httpx.Request("GET", "https://x/")
    assert retry_after(httpx.Response(429, headers={"Retry-After": "12"}, request=request)) == 12.0
    assert retry_after(httpx.Response(429, request=request)) is None
    dated = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
                           request=request)
    assert retry_after(dated) == 0.0  # in the past: send now
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"}, request=request)) is None


def test_calls_429s_and_resends_are_tallied(omni: OmniTarget, faulty: Faulty) -> None:
    faulty.fail("GET", USERS, "429", times=2)
    faulty.fail("GET", USERS, "500")
    faulty.fail("GET", USERS, "timeout")
    assert omni.find_user("ada@example.com") is None
    faulty.fail("POST", USERS, "timeout")  # a create's unknown outcome: looked up, not resent blind
    omni.create_user("ada@example.com", "Ada")
    stats = omni.calls.stats
    assert stats.calls == len(faulty.calls())
    assert (stats.rate_limited, stats.retries) == (2, 4)
