"""The sandbox's own state (it simulates a foreign system, so it is not in hr2bi's
database): plain JSON-able dicts in memory, written atomically to one JSON file after
every change so a demo survives a restart.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sync.errors import UserError
from sync.targets.base import Model

T = TypeVar("T")
DEFAULT_SEED = Path(__file__).with_name("seed.json")
_MINI_ALPHABET = string.ascii_letters + string.digits


class SandboxError(UserError):
    """An error answer, in Omni's shape: ``{"error": "<status>", "message": "..."}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, str]:
        return {"error": str(self.status), "message": self.message}


@dataclass
class SandboxState:
    """Everything the sandbox holds. Users and groups are keyed by id; roles by the id of
    their holder, then by ``model:<id>`` or ``connection:<id>``."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_roles: dict[str, dict[str, str]] = field(default_factory=dict)
    group_roles: dict[str, dict[str, str]] = field(default_factory=dict)
    connections: list[dict[str, Any]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    attributes: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SandboxState:
        return cls(**{name: data.get(name, default) for name, default in asdict(cls()).items()})

    @classmethod
    def from_seed(cls, seed: dict[str, Any]) -> SandboxState:
        """Connections, models (by connection name) and attribute definitions of a seed."""
        connections = [_connection(c) for c in seed.get("connections", [])]
        by_name = {c["name"]: c["id"] for c in connections}
        unknown = [m["name"] for m in seed.get("models", []) if m["connection"] not in by_name]
        if unknown:
            raise SandboxError(500, f"the seed's models {unknown} name no seeded connection")
        models = [{"id": m.get("id") or str(uuid.uuid4()), "name": m["name"],
                   "connectionId": by_name[m["connection"]]} for m in seed.get("models", [])]
        return cls(connections=connections, models=models,
                   attributes=[_definition(a) for a in seed.get("user_attributes", [])])

    def user_by_name(self, user_name: str) -> dict[str, Any] | None:
        wanted = user_name.lower()
        return next((u for u in self.users.values() if u["userName"].lower() == wanted), None)

    def group_by_name(self, name: str) -> dict[str, Any] | None:
        wanted = name.lower()
        return next((g for g in self.groups.values() if g["displayName"].lower() == wanted), None)

    def new_group_id(self) -> str:
        """Omni's group ids are short strings such as "mEhXj6ZI"."""
        while True:
            candidate = "".join(secrets.choice(_MINI_ALPHABET) for _ in range(8))
            if candidate not in self.groups:
                return candidate


def _connection(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row.get("id") or str(uuid.uuid4()), "name": row["name"],
            "dialect": row.get("dialect", "postgres"), "database": row.get("database"),
            "defaultSchema": row.get("defaultSchema"), "baseRole": row.get("baseRole"),
            "deletedAt": None, "branchConnectionEnvironmentOverridesUserAttr": False,
            "environmentConnectionSwitchesSchemaModel": False,
            "userAttributeNameForConnectionsEnvironments": None,
            "userAttributeValuesForDefaultEnvironment": None}


def _definition(row: dict[str, Any]) -> dict[str, Any]:
    system = bool(row.get("system", False))
    return {"id": "" if system else row.get("id") or str(uuid.uuid4()), "name": row["name"],
            "label": row.get("label") or row["name"], "type": row.get("type", "String"),
            "multiple_values": bool(row.get("multiple_values", False)),
            "default_value": row.get("default_value"), "description": row.get("description"),
            "system": system}


def load_seed(path: Path | None = None) -> dict[str, Any]:
    path = path or DEFAULT_SEED
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SandboxError(500, f"cannot read the sandbox seed {path}: {exc}") from exc


class SandboxStore:
    """The state behind one lock; ``change`` runs a function on it and saves the result."""

    def __init__(self, state: SandboxState, path: Path | None = None) -> None:
        self.state, self.path = state, path
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path | None, seed: dict[str, Any]) -> SandboxStore:
        """The saved state at ``path`` if there is one, else a fresh state from ``seed``."""
        if path is not None and path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(SandboxState.from_json(data), path)
        store = cls(SandboxState.from_seed(seed), path)
        store.save()
        return store

    def read(self, action: Callable[[SandboxState], T]) -> T:
        with self._lock:
            return action(self.state)

    def change(self, action: Callable[[SandboxState], T]) -> T:
        with self._lock:
            result = action(self.state)
            self.save()
            return result

    def save(self) -> None:
        if self.path is None:
            return
        # Compact and without asdict's deep copy: the whole state is written after every
        # change, and at a thousand users the pretty form cost 30 ms a write.
        text = json.dumps(vars(self.state), separators=(",", ":"))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Atomic: a crash leaves the old file or the new one, never half of one.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def seed_models(seed: dict[str, Any]) -> list[Model]:
    """The seed's models as the Omni target wants them (Omni's API lists no models, so a
    target is told them): connection and model names with the model ids."""
    return [Model(id=m["id"], name=m["name"], connection=m["connection"])
            for m in seed.get("models", []) if m.get("id")]
