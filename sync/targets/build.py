"""Building the configured BI target from settings: its API keys, its models, its HTTP
client, and the tally of what its calls cost (added to a run's counts)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from sync.config import Settings
from sync.models import Run
from sync.targets.base import Model, Target
from sync.targets.calls import CallStats
from sync.targets.errors import TargetSetupError
from sync.targets.limiter import Pool
from sync.targets.omni import OmniTarget
from sync.targets.scim import ScimTarget
from sync.targets.shared_limiter import RedisKeyPool


def api_keys(settings: Settings) -> list[str]:
    keys = [k.strip() for k in settings.bi_api_keys.get_secret_value().split(",") if k.strip()]
    if not keys:
        raise TargetSetupError("HR2BI_BI_API_KEYS is empty: give at least one BI API key")
    return keys


def configured_models(path: Path | None) -> list[Model] | None:
    """The override of Omni's models listing (``HR2BI_BI_MODELS_FILE``), or None: the
    target lists the organization's models itself (``GET /api/v1/models``)."""
    if path is None:
        return None
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["models"]
        return [Model(id=m["id"], name=m["name"], connection=m["connection"]) for m in rows if m.get("id")]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TargetSetupError(f"cannot read the BI models from {path}: {exc} "
                            "(HR2BI_BI_MODELS_FILE: JSON with a models list of id, name, connection)") from exc


def rate_limit_url(settings: Settings) -> str | None:
    """The Redis every worker shares the per-key rate limit through, if there is one."""
    if settings.rate_limit_url:
        return settings.rate_limit_url
    broker = settings.broker_url or ""
    return broker if broker.startswith(("redis://", "rediss://")) else None


def key_pool(settings: Settings, keys: list[str]) -> Pool | None:
    """The shared pool when a Redis is configured; None: the target's own in-process one."""
    url = rate_limit_url(settings)
    if url is None:
        return None
    import redis  # the celery[redis] extra brings it

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return RedisKeyPool(keys, settings.bi_rate_per_key, client)


def connect(settings: Settings) -> tuple[Target, CallStats, httpx.Client]:
    """The configured target, the tally of what its calls cost, and its client (to close)."""
    stats = CallStats()
    http = httpx.Client(base_url=settings.bi_base_url, timeout=settings.bi_timeout)
    keys = api_keys(settings)
    if settings.bi_target == "scim":
        keys = keys[:1]
        return (ScimTarget(http, keys[0], requests_per_minute=settings.bi_rate_per_key, stats=stats,
                           pool=key_pool(settings, keys)), stats, http)
    return (OmniTarget(http, keys, models=configured_models(settings.bi_models_file),
                       requests_per_minute=settings.bi_rate_per_key, stats=stats,
                       pool=key_pool(settings, keys)), stats, http)


def add_call_stats(run: Run, stats: CallStats) -> None:
    """Add what this process's calls cost to the run's counts (a run may be applied by
    several processes, or again after a crash): /metrics sums them (sync/metrics.py)."""
    counts = dict(run.counts)
    for key, value in stats.as_counts().items():
        counts[key] = int(counts.get(key, 0)) + value
    run.counts = counts


def make_target(settings: Settings) -> Target:
    return connect(settings)[0]
