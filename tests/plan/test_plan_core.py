"""The pure planner on literal data: only real differences, batched, explained."""

from __future__ import annotations

from pathlib import Path

from sync.plan.core import plan_changes
from sync.plan.desired import group_roles
from sync.plan.values import AppliedGroup, AppliedUser, DesiredUser, GroupRoles, key_of
from sync.rules import load_dir

V = "sha256:test"
NO_GROUP_ROLES = GroupRoles({}, {}, V)


def ada(**changes) -> DesiredUser:
    values = dict(user_name="ada@example.com", display_name="Ada Lovelace", active=True,
                  attributes={"region": "EMEA", "territories": ["DE", "GB"]},
                  groups=frozenset({"Finance", "All Staff"}), roles={}, label="1001 (ada@example.com)",
                  tables_version=V, why={"scope": ("scope.yaml:3",), "group:Finance": ("groups.csv:8",),
                                         "attribute:region": ("attributes.csv:5",)})
    return DesiredUser(**{**values, **changes})


def applied(d: DesiredUser, **changes) -> AppliedUser:
    values = dict(user_name=d.user_name, bi_id="u1", active=True, display_name=d.display_name,
                  attributes=dict(d.attributes), groups=d.groups, roles=dict(d.roles))
    return AppliedUser(**{**values, **changes})


def groups(*names: str) -> dict[str, AppliedGroup]:
    return {n.lower(): AppliedGroup(n, f"g-{n}") for n in names}


def test_a_new_person_is_one_create_with_attributes_inline_and_groups_created_with_members() -> None:
    plan = plan_changes([ada()], {}, {}, NO_GROUP_ROLES, everyone=True)
    kinds = [(c.kind, c.subject) for c in plan.changes]
    assert kinds == [("user.create", "ada@example.com"), ("group.create", "All Staff"),
                     ("group.create", "Finance")]
    create = plan.changes[0]
    assert create.payload == {"display_name": "Ada Lovelace",
                              "attributes": {"region": "EMEA", "territories": ["DE", "GB"]}}
    assert create.reason.rows == ("scope.yaml:3", "attributes.csv:5") and create.reason.tables_version == V
    assert plan.changes[2].payload == {"members": ["ada@example.com"]}
    assert plan.changes[2].reason.rows == ("groups.csv:8",)


def test_nothing_changed_plans_nothing() -> None:
    d = ada()
    plan = plan_changes([d], {"ada@example.com": applied(d)}, groups("Finance", "All Staff"),
                        NO_GROUP_ROLES, everyone=True)
    assert plan.changes == () and plan.counts.total == 0


def test_an_update_sends_only_what_differs_and_unsets_what_is_no_longer_wanted() -> None:
    d = ada(attributes={"region": "AMER"})
    before = applied(ada(), attributes={"region": "EMEA", "territories": ["DE"]})
    plan = plan_changes([d], {"ada@example.com": before}, groups("Finance", "All Staff"),
                        NO_GROUP_ROLES, everyone=True)
    assert [(c.kind, dict(c.payload)) for c in plan.changes] == [
        ("user.update", {"attributes": {"region": "AMER", "territories": None}})]


def test_a_mover_is_one_patch_and_one_membership_change_per_group() -> None:
    d = ada(groups=frozenset({"Sales", "All Staff"}), attributes={"region": "AMER"})
    before = applied(ada())
    plan = plan_changes([d], {"ada@example.com": before}, groups("Finance", "Sales", "All Staff"),
                        NO_GROUP_ROLES, everyone=True)
    assert [(c.kind, c.subject, dict(c.payload)) for c in plan.changes] == [
        ("user.update", "ada@example.com", {"attributes": {"region": "AMER", "territories": None}}),
        ("group.members", "Finance", {"add": [], "remove": ["ada@example.com"]}),
        ("group.members", "Sales", {"add": ["ada@example.com"], "remove": []})]


def test_memberships_are_batched_per_group() -> None:
    people = [ada(user_name=f"p{n}@example.com") for n in range(5)]
    plan = plan_changes(people, {}, groups("Finance", "All Staff"), NO_GROUP_ROLES, everyone=True)
    batches = [c for c in plan.changes if c.kind == "group.members"]
    assert len(batches) == 2 and all(len(c.payload["add"]) == 5 for c in batches)


def test_a_leaver_is_one_deactivation_that_keeps_groups_and_a_rehire_one_reactivation() -> None:
    d = ada()
    gone = ada(active=False, groups=frozenset(), attributes={})
    plan = plan_changes([gone], {"ada@example.com": applied(d)}, groups("Finance", "All Staff"),
                        NO_GROUP_ROLES, everyone=True)
    assert [(c.kind, dict(c.payload)) for c in plan.changes] == [("user.deactivate", {})]
    assert plan.changes[0].reason.note == "out of scope"

    back = plan_changes([ada(display_name="Ada King")], {"ada@example.com": applied(d, active=False)},
                        groups("Finance", "All Staff"), NO_GROUP_ROLES, everyone=True,
                        fresh_reactivation=False)  # a target whose re-activated users keep their id
    assert [(c.kind, dict(c.payload)) for c in back.changes] == [
        ("user.reactivate", {"display_name": "Ada King", "active": True})]


def test_a_rehire_is_planned_as_a_new_empty_account_brought_fully_up_to_date() -> None:
    """Omni may re-activate a user as a new account holding nothing: by default the plan
    sends every wanted attribute, adds every wanted group and gives every direct role
    again, and still takes away what the old account held and is no longer wanted."""
    d = ada(roles={"warehouse/finance": "MODELER"})
    old = applied(ada(groups=frozenset({"Finance", "Old Team"}), attributes={"department": "Finance", "stale": "x"},
                      roles={"warehouse/finance": "MODELER"}), active=False)
    back = plan_changes([d], {"ada@example.com": old}, groups("Finance", "All Staff", "Old Team"),
                        NO_GROUP_ROLES, everyone=True)
    by_kind = {(c.kind, c.subject): dict(c.payload) for c in back.changes}
    assert by_kind[("user.reactivate", "ada@example.com")] == {
        "active": True, "attributes": {**d.attributes, "department": None, "stale": None}}
    assert {s: p for (k, s), p in by_kind.items() if k == "group.members"} == {
        "Finance": {"add": ["ada@example.com"], "remove": []},
        "All Staff": {"add": ["ada@example.com"], "remove": []},
        "Old Team": {"add": [], "remove": ["ada@example.com"]}}
    assert by_kind[("user.role", "ada@example.com")] == {"key": "warehouse/finance", "role": "MODELER"}


def test_someone_never_provisioned_and_out_of_scope_costs_nothing() -> None:
    assert plan_changes([ada(active=False)], {}, {}, NO_GROUP_ROLES, everyone=True).changes == ()


def test_applied_users_nobody_wants_are_deactivated_only_by_a_full_plan() -> None:
    stranger = AppliedUser("hand.made@example.com", "u9", True, "Hand Made")
    full = plan_changes([], {"hand.made@example.com": stranger}, {}, NO_GROUP_ROLES, everyone=True)
    scoped = plan_changes([], {"hand.made@example.com": stranger}, {}, NO_GROUP_ROLES, everyone=False)
    assert [(c.kind, c.subject) for c in full.changes] == [("user.deactivate", "hand.made@example.com")]
    assert scoped.changes == ()


def test_roles_follow_groups_and_users_get_direct_roles_only_above_them() -> None:
    roles = GroupRoles({"Finance": {"warehouse/finance": "QUERIER"}, "All Staff": {"warehouse/company": "VIEWER"}},
                       {"finance:warehouse/finance": ("roles.csv:9", "groups.csv:8")}, V)
    analyst = ada(roles={"warehouse/finance": "MODELER", "warehouse/company": "VIEWER"},
                  why={"role:warehouse/finance": ("roles.csv:10",)})
    plan = plan_changes([analyst], {}, {}, roles, everyone=True)
    role_changes = [(c.kind, c.subject, dict(c.payload)) for c in plan.changes if c.kind.endswith("role")]
    assert role_changes == [
        ("group.role", "All Staff", {"key": "warehouse/company", "role": "VIEWER"}),
        ("group.role", "Finance", {"key": "warehouse/finance", "role": "QUERIER"}),
        ("user.role", "ada@example.com", {"key": "warehouse/finance", "role": "MODELER"})]
    assert plan.changes[-1].reason.rows == ("roles.csv:10",)


def test_a_lowered_role_counts_as_a_downgrade() -> None:
    d = ada(roles={"warehouse/finance": "VIEWER"})
    before = applied(d, roles={"warehouse/finance": "MODELER"})
    plan = plan_changes([d], {"ada@example.com": before}, groups("Finance", "All Staff"),
                        NO_GROUP_ROLES, everyone=True)
    assert [(c.kind, c.downgrade) for c in plan.changes] == [("user.role", True)]
    assert plan.counts.role_downgrades == 1


def test_the_shipped_role_rows_that_share_a_group_condition_follow_that_group() -> None:
    tables = load_dir(Path(__file__).resolve().parents[2] / "mappings")
    found = group_roles(tables)
    assert found.roles["All Staff"]["warehouse/company"] == "VIEWER"
    assert found.roles["Finance"]["warehouse/finance"] == "QUERIER"
    assert found.roles["BI Admins"]["warehouse"] == "CONNECTION_ADMIN"
    assert found.roles["All Staff"]["warehouse/finance"] == "NO_ACCESS"


def test_one_person_spelled_two_ways_is_one_bi_account() -> None:
    # Issue 12: "José" composed in the BI state, decomposed and full-width from a feed.
    d = ada(user_name="Jose\u0301@\uff45xample.com ", groups=frozenset({"Finance", "All Staff"}))
    before = applied(ada(), user_name="Jos\u00e9@example.com")
    plan = plan_changes([d], {key_of("Jos\u00e9@example.com"): before}, groups("Finance", "All Staff"),
                        NO_GROUP_ROLES, everyone=True)
    assert plan.changes == ()
    assert key_of("Jose\u0301@\uff45xample.com ") == key_of("JOS\u00c9@EXAMPLE.COM") == "jos\u00e9@example.com"


def test_only_owned_accounts_are_deactivated_and_the_rest_are_listed_as_unmanaged() -> None:
    from sync.plan.ownership import Ownership
    d = ada()
    users = {"ada@example.com": applied(d), "mine@example.com": applied(ada(user_name="mine@example.com")),
             "admin@example.com": applied(ada(user_name="admin@example.com")),
             "other@example.com": applied(ada(user_name="other@example.com"))}
    owned = frozenset({"ada@example.com", "mine@example.com", "admin@example.com"})

    default = plan_changes([d], users, groups("Finance", "All Staff"), NO_GROUP_ROLES, everyone=True,
                           ownership=Ownership(owned, protected=("ADMIN@*",)))
    opted = plan_changes([d], users, groups("Finance", "All Staff"), NO_GROUP_ROLES, everyone=True,
                         ownership=Ownership(owned, deactivate_unmatched=True, protected=("admin@*",)))

    assert [(c.kind, c.subject) for c in default.changes] == [("user.deactivate", "mine@example.com")]
    assert default.unmanaged == ("admin@example.com", "other@example.com")
    assert sorted(c.subject for c in opted.changes) == ["mine@example.com", "other@example.com"]
    assert opted.unmanaged == ("admin@example.com",)


def test_a_protected_account_is_never_changed_even_when_a_person_wants_it() -> None:
    from sync.plan.ownership import Ownership
    d = ada(display_name="Renamed", groups=frozenset({"Finance", "Sales"}))
    plan = plan_changes([d], {"ada@example.com": applied(ada())}, groups("Finance", "Sales", "All Staff"),
                        NO_GROUP_ROLES, everyone=True, ownership=Ownership(protected=("ada@*",)))
    assert plan.changes == ()
