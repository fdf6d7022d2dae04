"""Fixtures for the target tests: the Omni-compatible sandbox in-process (its Flask app
behind httpx's WSGI transport), a fake clock, and OmniTargets wired to both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from flask import Flask

from sync.targets.omni import OmniTarget
from sync.sandbox import (
    SandboxConfig,
    SandboxStore,
    create_sandbox_app,
    load_seed,
    seed_models,
)
from sync.sandbox.limits import Gate

KEYS = ("key-a", "key-b", "key-c")


class FakeClock:
    """Time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def seed() -> dict[str, Any]:
    return load_seed()


@pytest.fixture
def make_sandbox(seed: dict[str, Any], clock: FakeClock, tmp_path: Any) -> Callable[..., Flask]:
    """A sandbox app with its state in tmp_path; options are SandboxConfig fields."""

    def make(**options: Any) -> Flask:
        config = SandboxConfig(api_keys=KEYS, **{"rate_limit": 0, **options})
        store = SandboxStore.open(tmp_path / "sandbox.json", seed)
        app = create_sandbox_app(config, store, gate=Gate(config, clock))
        app.config["store"] = store
        return app

    return make


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Flask]) -> Flask:
    return make_sandbox()


def http_for(app: Flask, **hooks: Any) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="https://acme.omniapp.co",
                        timeout=5.0, **hooks)


@pytest.fixture
def make_omni(seed: dict[str, Any], clock: FakeClock) -> Callable[..., OmniTarget]:
    def make(http: httpx.Client, keys: tuple[str, ...] = KEYS[:1], **options: Any) -> OmniTarget:
        options = {"rng": lambda: 0.5, **options}
        return OmniTarget(http, list(keys), clock=clock,
                          sleep=clock.sleep, **options)

    return make
