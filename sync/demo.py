"""Sample data for ``hr2bi demo``: a small company's users and groups, pushed through the
same SCIM store code an identity provider's requests go through."""

from __future__ import annotations

import datetime as dt
import itertools
import secrets

from sqlalchemy import select
from sqlalchemy.engine import Engine

from scim.schema import ENTERPRISE_USER, USER
from scim.store import GroupStore, UserStore
from sync.db import session_scope
from sync.models import ScimUser
from sync.tokens import create_token

GIVEN = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Katherine",
         "Ken", "Margaret", "Niklaus", "Radia", "Tim", "Vint", "Hedy"]
FAMILY = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus",
          "Johnson", "Thompson", "Hamilton", "Wirth", "Perlman", "Berners-Lee", "Cerf", "Lamarr"]
DEPARTMENTS = [("Finance", "CC-100", "Finance Analyst"), ("Sales", "CC-200", "Account Executive"),
               ("Engineering", "CC-300", "Data Engineer"), ("People", "CC-400", "HR Partner")]
DOMAIN = "example.com"
ACTOR = "demo"


def sample_users(count: int = 48) -> list[dict]:
    names = itertools.islice(itertools.product(FAMILY, GIVEN), count)
    users = []
    for number, (family, given) in enumerate(names, start=1001):
        department, cost_center, title = DEPARTMENTS[number % len(DEPARTMENTS)]
        user_name = f"{given}.{family}@{DOMAIN}".lower()
        users.append({
            "schemas": [USER, ENTERPRISE_USER],
            "userName": user_name,
            "externalId": f"okta-{number}",
            "name": {"givenName": given, "familyName": family},
            "displayName": f"{given} {family}",
            "title": title,
            "active": number % 17 != 0,
            "emails": [{"value": user_name, "type": "work", "primary": True}],
            ENTERPRISE_USER: {"employeeNumber": str(number), "department": department,
                              "costCenter": cost_center, "organization": "Example Corp"},
        })
    return users


def prepare(engine: Engine) -> tuple[str, int]:
    """Seed the sample users and groups once; return a new SCIM token and the user count."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S")
    with session_scope(engine) as session:
        if session.scalar(select(ScimUser.id).limit(1)) is None:
            _seed(session)
        # Two demos in one second must not collide on the token name.
        secret = create_token(session, f"demo-{stamp}-{secrets.token_hex(2)}", "scim")
        count = len(session.scalars(select(ScimUser.id)).all())
    return secret, count


def _seed(session) -> None:  # type: ignore[no-untyped-def]
    users = UserStore(session, "/scim/v2")
    created = [users.create(body, ACTOR) for body in sample_users()]
    groups = GroupStore(session, "/scim/v2")
    for department, _, _ in DEPARTMENTS:
        members = [{"value": u["id"]} for u in created
                   if u[ENTERPRISE_USER]["department"] == department]
        groups.create({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                       "displayName": f"BI {department}", "members": members}, ACTOR)
