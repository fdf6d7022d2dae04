"""The safety guard: more than max(min_count, min(max_count, max_share of active accounts))
risky changes hold a run."""

from sync.plan.guard import GuardLimits, assess, threshold
from sync.runs import hold_message


def test_the_threshold_is_the_smaller_of_the_share_and_the_count() -> None:
    limits = GuardLimits(0.20, 500, min_count=0)
    assert threshold(300, limits) == 60
    assert threshold(10_000, limits) == 500
    assert threshold(0, limits) == 0


def test_a_run_above_the_threshold_is_held_and_says_why_and_how_to_go_on() -> None:
    verdict = assess(deactivations=55, role_downgrades=6, active_accounts=300, limits=GuardLimits())
    assert verdict.held and verdict.risky == 61 and verdict.threshold == 60
    assert "55 deactivations and 6 role downgrades exceed the guard's 60" in verdict.reason
    # The guard knows no run; the plan that holds one names it (sync/plan/service.py).
    message = hold_message(12, verdict.reason)
    assert message.startswith("held as run 12: 55 deactivations")
    assert message.endswith("review it with `hr2bi runs show 12`, then `hr2bi runs approve 12 --by NAME` "
                            "or `hr2bi runs reject 12 --by NAME --reason TEXT`")


def test_a_run_at_the_threshold_goes_ahead() -> None:
    verdict = assess(deactivations=60, role_downgrades=0, active_accounts=300, limits=GuardLimits())
    assert not verdict.held and verdict.reason is None


def test_a_floor_lets_a_few_risky_changes_through_on_a_small_account() -> None:
    limits = GuardLimits(0.20, 500, min_count=10)
    assert threshold(4, limits) == 10  # 20 % of 4 would hold a single leaver
    assert threshold(301, limits) == 60  # the share still rules once it is above the floor
    assert not assess(deactivations=1, role_downgrades=0, active_accounts=4, limits=limits).held
    held = assess(deactivations=11, role_downgrades=0, active_accounts=4, limits=limits)
    assert held.held and held.threshold == 10 and "max(10, min(500, 20% of 4" in held.reason


def test_the_default_floor_is_ten() -> None:
    assert threshold(0, GuardLimits()) == 10
    assert threshold(0, GuardLimits(min_count=0)) == 0
