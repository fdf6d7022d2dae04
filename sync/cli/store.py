"""What most commands start from: the settings, and the engine of the store they name."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from sync.config import Settings, load_settings
from sync.db import engine_for
from sync.rules import AttributeMap, load_dir


def store() -> tuple[Settings, Engine]:
    settings = load_settings()
    return settings, engine_for(settings)


def attribute_map(settings: Settings) -> AttributeMap:
    return load_dir(settings.mappings_dir).attribute_map
