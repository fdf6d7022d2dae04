"""Issue 14: no production default points at the sandbox's files. Settings' defaults name
no path inside ``sync/sandbox``, and outside the sandbox itself only the modules that run
it (the demo, the ``hr2bi sandbox`` command) import it or name its seed."""

from __future__ import annotations

import re
from pathlib import Path

from sync.config import Settings

SYNC = Path(__file__).resolve().parents[1] / "sync"
SANDBOX = SYNC / "sandbox"
# The only modules that may use the sandbox: they start it (the demo, `hr2bi sandbox`).
RUNS_THE_SANDBOX = {"demo.py", "cli.py", "targets/sandbox/cli.py", "cli/sandbox.py", "cli/demo.py",
                    "cli/__init__.py"}
USES_SANDBOX = re.compile(r"sync\.sandbox|sandbox/seed\.json|seed\.json|DEFAULT_SEED|seed_models")


def test_no_settings_default_is_a_sandbox_file() -> None:
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        for value in default if isinstance(default, list | tuple) else [default]:
            if isinstance(value, Path):
                assert SANDBOX not in value.resolve().parents, f"{name} defaults to {value}"
            assert "seed.json" not in str(value), f"{name} defaults to {value}"


def test_only_the_modules_that_run_the_sandbox_use_it() -> None:
    offenders = []
    for path in sorted(SYNC.rglob("*.py")):
        relative = path.relative_to(SYNC).as_posix()
        if SANDBOX in path.parents or relative in RUNS_THE_SANDBOX:
            continue
        code = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                         if not line.lstrip().startswith("#"))
        if USES_SANDBOX.search(code.replace(":mod:`sync.sandbox`", "")):
            offenders.append(relative)
    assert offenders == []


def test_the_check_would_see_the_old_default() -> None:
    """The scan is not vacuous: the pre-issue-14 default (the seed as the models file) and
    an import of the sandbox from a target module are what it looks for."""
    assert USES_SANDBOX.search("from sync.sandbox.state import DEFAULT_SEED")
    assert USES_SANDBOX.search('Path("sync/sandbox/seed.json")')
