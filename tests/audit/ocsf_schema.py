"""Checking OCSF records against the schema version they declare, with pydantic-ocsf
(models generated from each released OCSF schema, 1.0.0 to 1.7.0).

Its models accept attributes they do not define (``extra="allow"``), so on top of the
model's own validation (types, enums, required attributes, uid consistency) every object in
the record is walked and any attribute the declared version does not define is reported:
that is what a strict SIEM parser (or the OCSF server's validator) refuses.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

CLASSES = {3001: "AccountChange", 3006: "GroupManagement"}
FREE_FORM = {"unmapped"}  # OCSF's own bag for the source's fields: any content


def ocsf_problems(record: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``record`` under the OCSF version it declares (empty: valid)."""
    version = record["metadata"]["version"]
    events = importlib.import_module(f"ocsf.v{version.replace('.', '_')}.events")
    model: type[BaseModel] = getattr(events, CLASSES[record["class_uid"]])
    try:
        instance = model.model_validate(dict(record))
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    problems = [f"{name}: not defined in OCSF {version}" for name in _undefined(instance, "")]
    if record["type_uid"] != record["class_uid"] * 100 + record["activity_id"]:
        problems.append("type_uid is not class_uid * 100 + activity_id")
    return problems


def _undefined(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, BaseModel):
        yield from (f"{path}{name}" for name in value.model_extra or {})
        for name in type(value).model_fields:
            if name not in FREE_FORM:
                yield from _undefined(getattr(value, name), f"{path}{name}.")
    elif isinstance(value, list):
        for item in value:
            yield from _undefined(item, path)
