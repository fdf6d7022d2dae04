"""What of the configuration the audit log records: the non-secret settings, flattened.

A change of configuration changes what hr2bi does to people's access, so it is audited
(issue 5) — but the log is exported to auditors, so no secret may enter it. A setting is
secret when pydantic holds it as ``SecretStr``/``SecretBytes`` or when its name (or, inside
a dict setting such as ``sources``, any key on its path) says so; secrets are named in the
event, never valued, hashed or compared (a hash of a short password can be brute-forced).
URLs keep everything but their password, which is masked.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, SecretBytes, SecretStr

from sync.audit.canonical import canonical_json

_SECRET_NAME = re.compile(r"key|secret|password|passwd|token|credential|auth|cookie|private",
                          re.IGNORECASE)
MASK = "***"


@dataclass(frozen=True)
class SettingsState:
    """The non-secret settings as dotted name -> JSON value, their fingerprint (SHA-256 of
    their RFC 8785 form), and the names of the secret settings left out."""

    values: Mapping[str, Any]
    secrets: tuple[str, ...]
    fingerprint: str


def settings_state(settings: BaseModel) -> SettingsState:
    values: dict[str, Any] = {}
    secrets: list[str] = []
    for name in sorted(type(settings).model_fields):
        _flatten(name, getattr(settings, name), values, secrets)
    digest = hashlib.sha256(canonical_json(values)).hexdigest()
    return SettingsState(values, tuple(sorted(secrets)), f"sha256:{digest}")


def changed_names(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The settings added, removed or given another value, sorted."""
    return sorted(name for name in before.keys() | after.keys()
                  if name not in before or name not in after or before[name] != after[name])


def _flatten(name: str, value: Any, values: dict[str, Any], secrets: list[str]) -> None:
    if _SECRET_NAME.search(name.rsplit(".", 1)[-1]) or isinstance(value, SecretStr | SecretBytes):
        secrets.append(name)
    elif isinstance(value, Mapping):
        if not value:
            values[name] = {}
        for key in sorted(value, key=str):
            _flatten(f"{name}.{key}", value[key], values, secrets)
    else:
        values[name] = _plain(value)


def _plain(value: Any) -> Any:
    """A JSON value for the log: paths and other objects as text, URLs without password."""
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):  # inside a list: secrets masked in place
        return {str(k): MASK if _SECRET_NAME.search(str(k)) else _plain(v)
                for k, v in value.items()}
    text = str(value) if isinstance(value, PurePath | str) else repr(value)
    return _without_password(text) if "://" in text else text


def _without_password(url: str) -> str:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not parseable as a URL: it may hide anything, keep none of it
        return MASK
    if password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))
