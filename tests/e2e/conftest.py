"""Fixtures of the end-to-end tests: a real BI sandbox server per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bi_world import Sandbox, sandbox_server


@pytest.fixture
def bi_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with sandbox_server(tmp_path, "--rate-limit", "0") as sandbox:
        yield sandbox
