"""What each kind of decision writes to the audit log (the emitters).

Actions are ``<target type>.<verb>`` (``user.create``, ``group.patch``, ``token.revoke``);
targets are ``{"type", "id", "name"}``; the actor is a token's name as ``token:<name>``,
an importer's ``source:<name>`` or an approver's ``approver:<name>``.
"""

from __future__ import annotations

from sqlmodel import Session

from scim.store import ScimWrite
from sync.audit.log import record_event


def record_scim_write(session: Session, write: ScimWrite) -> None:
    """An identity provider's SCIM write, with the resource before and after."""
    record_event(
        session,
        actor=f"token:{write.actor}" if write.actor else "token:unknown",
        action=f"{write.resource_type.lower()}.{write.action}",
        target={"type": write.resource_type.lower(), "id": write.resource_id, "name": write.name},
        before=write.before,
        after=write.after,
        reason={"source": "scim", "detail": f"SCIM {write.action} by the identity provider"},
    )


def record_token_change(session: Session, verb: str, name: str, scope: str, by: str) -> None:
    """A token created or revoked: who can write to hr2bi is itself audited."""
    record_event(
        session, actor=by, action=f"token.{verb}",
        target={"type": "token", "id": name, "name": name}, after={"scope": scope},
        reason={"source": "cli"},
    )
