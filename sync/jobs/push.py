"""An identity provider's push reaching the BI platform: every SCIM write queues a
``provision_person`` for the users it touched, once the write is committed, coalesced so a
burst of pushes for one person costs at most two plans and applies.

Adaptive: a push for a person nobody pushed in the last ``push_delay_seconds`` is queued to
run at once (an idle system answers a joiner or a leaver in the time one plan takes); only
a push that follows another within that window waits ``push_delay_seconds``, so the rest of
a burst (Okta's create, then its group PATCHes) coalesces into one more run. The window is
a second marker, ``pushed:<scim user id>``, taken for ``push_delay_seconds`` by the push
that ran at once.

Coalescing uses a marker in the ``locks`` table, ``push:<scim user id>``: the first write
takes it and queues a task; later writes find it taken and queue nothing; the task drops
the marker *before* it reads the person, so a write it might have missed queues a new
task. A marker whose task was lost (the broker down, a dead worker) expires after
``push_delay_seconds + MARKER_GRACE`` and the next write queues again; the nightly sync
catches up on anything in between.

Queueing never fails the SCIM request: the write is already committed and the identity
provider must not resend it because our broker is down. A broker error is logged.

The wiring is here too: :func:`scim_write_hook` is the SCIM ``on_write`` hook the web app
installs, :func:`provision_queue` where it sends (the broker's ``provision_person`` task, or
a timer thread in the embedded mode), and :func:`provision_person` what both run, with the
one policy for a person someone else is provisioning right now: try again a little later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from kombu.exceptions import KombuError
from sqlalchemy import delete, event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from scim.store import ScimWrite, WriteHook
from sync.config import Settings
from sync.jobs.plan_apply import PlanApplyResult, plan_and_apply
from sync.locks import acquire, held, new_holder
from sync.models import Lock

log = logging.getLogger(__name__)

PROVISION_TASK = "hr2bi.provision_person"
MARKER_GRACE = 300.0  # seconds a queued push may wait for a worker before a new write requeues
PENDING_KEY, QUEUE_KEY = "hr2bi_push_pending", "hr2bi_push_queue"
Send = Callable[[str, tuple[Any, ...], float], None]  # task name, args, countdown


def marker(scim_user_id: str) -> str:
    return f"push:{scim_user_id}"


def recent(scim_user_id: str) -> str:
    return f"pushed:{scim_user_id}"


def person_lock(scim_user_id: str) -> str:
    return f"provision:{scim_user_id}"


def users_touched(write: ScimWrite) -> set[str]:
    """The SCIM users whose BI account a write may change: the user itself, or the members a
    group write added or removed (all of its members when its name changed)."""
    if write.resource_type == "User":
        return {write.resource_id}
    before, after = _members(write.before), _members(write.after)
    renamed = (write.before or {}).get("displayName") != (write.after or {}).get("displayName")
    return (before | after) if renamed else (before ^ after)


def _members(group: Mapping[str, Any] | None) -> set[str]:
    # Nested groups' members are left to the nightly sync: resolving them needs the store.
    return {str(m["value"]) for m in (group or {}).get("members", [])
            if isinstance(m, Mapping) and m.get("value") and m.get("type", "User") == "User"}


class ProvisionQueue:
    """Queues ``provision_person`` through ``send`` (Celery, or a timer in the embedded
    mode), at most once per user while a queued one has not started: at once for a person
    idle for ``delay`` seconds, after ``delay`` within a burst."""

    def __init__(self, engine: Engine, send: Send, delay: float) -> None:
        self.engine, self.send, self.delay = engine, send, delay

    def push(self, scim_user_id: str) -> bool:
        """Queue one user; False when coalesced into a queued task or the broker failed."""
        lease = acquire(self.engine, marker(scim_user_id), new_holder("push"),
                        self.delay + MARKER_GRACE)
        if lease is None:
            return False
        idle = self.delay <= 0 or acquire(self.engine, recent(scim_user_id), lease.holder,
                                          self.delay) is not None
        try:
            self.send(PROVISION_TASK, (scim_user_id,), 0.0 if idle else self.delay)
        except (KombuError, OSError) as exc:  # the broker is down or refuses: see above
            # Not swallowed: logged, the marker dropped so the next write tries again, and
            # the nightly sync provisions this user whatever happens.
            _drop_marker(self.engine, scim_user_id)
            log.warning("could not queue provisioning of SCIM user %s (the nightly sync will "
                        "catch up): %s", scim_user_id, type(exc).__name__)
            return False
        return True

    def push_all(self, scim_user_ids: Iterable[str]) -> int:
        return sum(self.push(i) for i in sorted(scim_user_ids))


class PushHook:
    """A SCIM ``on_write`` hook that queues the touched users after the write commits (a
    rolled-back write queues nothing; a Bulk request queues each user once)."""

    def __init__(self, queue: ProvisionQueue) -> None:
        self.queue = queue

    def __call__(self, session: Session, write: ScimWrite) -> None:
        pending: set[str] = session.info.setdefault(PENDING_KEY, set())
        pending.update(users_touched(write))
        session.info[QUEUE_KEY] = self.queue
        if not event.contains(session, "after_commit", _after_commit):
            event.listen(session, "after_commit", _after_commit)
            event.listen(session, "after_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    # SQLAlchemy also calls this when a savepoint is released (Bulk runs each operation in
    # one): only the outermost commit makes the writes visible to the provisioner, and the
    # transaction still holds the write lock the queue's lease would wait for.
    if session.in_nested_transaction():
        return
    users = session.info.pop(PENDING_KEY, set())
    queue = session.info.get(QUEUE_KEY)
    if users and queue is not None:
        queue.push_all(users)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


class HookChain:
    """Several ``on_write`` hooks as one, called in order."""

    def __init__(self, *hooks: WriteHook) -> None:
        self.hooks = hooks

    def __call__(self, session: Session, write: ScimWrite) -> None:
        for hook in self.hooks:
            hook(session, write)


def chain(*hooks: WriteHook) -> HookChain:
    return HookChain(*hooks)


def _drop_marker(engine: Engine, scim_user_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(Lock).where(Lock.name == marker(scim_user_id)))


T = TypeVar("T")
Retry = Callable[[float], object]  # called with the countdown after which to try again


def provision_person(engine: Engine, settings: Settings, scim_user_id: str,
                     retry: Retry) -> PlanApplyResult | None:
    """A queued push: plan and apply for that person only. When another worker is on the
    same person, ``retry`` is called with when to come back (after the push delay, at least
    a second: by then that worker is done) and None returned."""
    done = provision(engine, scim_user_id, lambda user: plan_and_apply(engine, settings, scim_users=[user]),
                     settings.sync_lock_ttl)
    if done is None:
        retry(max(settings.push_delay_seconds, 1.0))
    return done


def provision(engine: Engine, scim_user_id: str, work: Callable[[str], T], lock_ttl: float) -> T | None:
    """Run ``work`` (plan and apply for one user) for a queued push: drop the marker first
    (see the module docstring), then work under the user's lock. None when another worker
    is provisioning the same user right now: the caller tries again a little later."""
    _drop_marker(engine, scim_user_id)
    with held(engine, person_lock(scim_user_id), lock_ttl, label="provision") as lease:
        if lease is None:
            return None
        return work(scim_user_id)


def timer_sender(run: Callable[[str, tuple[Any, ...]], None]) -> Send:
    """The embedded mode's ``send``: run the task in this process after ``countdown``
    seconds, on a daemon timer thread, so the SCIM response never waits for the BI."""

    def send(name: str, args: tuple[Any, ...], countdown: float) -> None:
        timer = threading.Timer(countdown, run, (name, args))
        timer.daemon = True
        timer.start()

    return send
