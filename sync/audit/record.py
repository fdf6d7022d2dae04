"""What each kind of decision writes to the audit log (the emitters).

Actions are ``<target type>.<verb>`` (``user.create``, ``group.patch``, ``token.revoke``);
targets are ``{"type", "id", "name"}``; actors are written by ``sync.audit.actors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import Session

from scim.store import ScimWrite
from sync.audit.actors import CONFIG, system_actor, token_actor
from sync.audit.config_state import SettingsState, changed_names, settings_state
from sync.audit.log import SUCCESS, lock_log, record_event
from sync.models import AuditEvent


def record_scim_write(session: Session, write: ScimWrite) -> None:
    """An identity provider's SCIM write, with the resource before and after."""
    record_event(
        session,
        actor=token_actor(write.actor),
        action=f"{write.resource_type.lower()}.{write.action}",
        target={"type": write.resource_type.lower(), "id": write.resource_id, "name": write.name},
        before=write.before,
        after=write.after,
        reason={"source": "scim", "detail": f"SCIM {write.action} by the identity provider"},
    )


def record_token_change(session: Session, verb: str, name: str, scope: str, by: str,
                        source: str = "cli") -> None:
    """A token created or revoked: who can write to hr2bi is itself audited (``by``: the
    operator's ``cli_actor``, or the console's signed-in person with ``source="console"``)."""
    record_event(
        session, actor=by, action=f"token.{verb}",
        target={"type": "token", "id": name, "name": name}, after={"scope": scope},
        reason={"source": source},
    )


CONFIG_CHANGE, TABLES_CHANGE = "config.change", "tables.change"
SYSTEM_ACTOR = system_actor(CONFIG)  # the service noticed the change; who made it is the deploy's record


def record_settings_changes(session: Session, settings: BaseModel, tables_version: str, *,
                            run: int | None = None) -> list[dict[str, Any]]:
    """Record a ``config.change`` event when the non-secret settings differ from the last
    one recorded, and a ``tables.change`` event when the mapping tables version does; call
    it where a run starts, in its transaction. Returns the events recorded (none when
    nothing changed; both on the first call, which records the baseline)."""
    lock_log(session)  # two runs starting at once must not both record the same change
    recorded = []
    state = settings_state(settings)
    last = _last_after(session, CONFIG_CHANGE)
    if last.get("fingerprint") != state.fingerprint:
        recorded.append(_config_event(session, state, last, run))
    last_tables = _last_after(session, TABLES_CHANGE)
    if last_tables.get("tables_version") != tables_version:
        recorded.append(record_event(
            session, actor=SYSTEM_ACTOR, action=TABLES_CHANGE,
            target={"type": "mappings", "id": "tables", "name": "mapping tables"},
            before={"tables_version": last_tables.get("tables_version")},
            after={"tables_version": tables_version}, reason={"source": "run start"}, run=run))
    return recorded


def _config_event(session: Session, state: SettingsState, last: Mapping[str, Any],
                  run: int | None) -> dict[str, Any]:
    previous = last.get("settings") or {}
    changed = changed_names(previous, state.values)
    return record_event(
        session, actor=SYSTEM_ACTOR, action=CONFIG_CHANGE,
        target={"type": "config", "id": "settings", "name": "settings"},
        before={"fingerprint": last.get("fingerprint"),
                "settings": {name: previous[name] for name in changed if name in previous}},
        after={"fingerprint": state.fingerprint, "settings": dict(state.values)},
        reason={"source": "run start", "changed": changed,
                "secrets_not_recorded": list(state.secrets)},
        run=run)


def _last_after(session: Session, action: str) -> Mapping[str, Any]:
    """The ``after`` of the newest event with this action, or {} when there is none."""
    after = session.scalar(select(AuditEvent.after).where(AuditEvent.action == action)
                           .order_by(AuditEvent.seq.desc()).limit(1))
    return after if isinstance(after, Mapping) else {}


def record_console_action(session: Session, *, actor: str, action: str, target: Mapping[str, Any],
                          after: Any = None, reason: Any = None, run: int | None = None,
                          outcome: str = SUCCESS) -> dict[str, Any]:
    """Something done in the admin console or through the admin API (``actor``: a
    ``console_actor``): signing in and out, approving, provisioning, tokens, exports."""
    return record_event(session, actor=actor, action=action, target=target, after=after,
                        reason={"source": "console", **(reason or {})}, run=run, outcome=outcome)
