"""The safety guard: more than min(max_count, max_share of active accounts) risky changes hold a run."""

from sync.guard import GuardLimits, assess, threshold


def test_the_threshold_is_the_smaller_of_the_share_and_the_count() -> None:
    limits = GuardLimits(0.20, 500)
    assert threshold(300, limits) == 60
    assert threshold(10_000, limits) == 500
    assert threshold(0, limits) == 0


def test_a_run_above_the_threshold_is_held_and_says_how_to_approve() -> None:
    verdict = assess(deactivations=55, role_downgrades=6, active_accounts=300, limits=GuardLimits())
    assert verdict.held and verdict.risky == 61 and verdict.threshold == 60
    assert "hr2bi runs approve" in verdict.reason


def test_a_run_at_the_threshold_goes_ahead() -> None:
    verdict = assess(deactivations=60, role_downgrades=0, active_accounts=300, limits=GuardLimits())
    assert not verdict.held and verdict.reason is None
