"""Reading the table files from a directory or from a git revision, as path -> bytes.

The loader only ever sees that mapping, so loading stays pure and the same code checks
the working tree, a pull request's base, or any commit.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from sync.rules.errors import TableSourceError

TABLE_FILES = ("fields.yaml", "scope.yaml", "groups.csv", "roles.csv", "attributes.csv")
LOOKUP_DIR = "lookups"
CASES_FILE = "cases.yaml"
ENV_DIR = "HR2BI_MAPPINGS_DIR"


def default_dir() -> Path:
    """The configured tables: ``mappings_dir`` in the settings (``$HR2BI_MAPPINGS_DIR`` or
    ``hr2bi.toml``), else ``./mappings`` under the working directory."""
    from sync.config import ConfigError, load_settings

    try:
        return load_settings().mappings_dir
    except ConfigError as exc:
        raise TableSourceError(str(exc)) from exc


def is_table_file(path: str) -> bool:
    """The files that decide outcomes (and so make up the version); not cases or README."""
    if path in TABLE_FILES:
        return True
    folder, _, name = path.partition("/")
    return folder == LOOKUP_DIR and "/" not in name and name.endswith(".csv")


def read_dir(directory: Path) -> dict[str, bytes]:
    if not directory.is_dir():
        raise TableSourceError(f"{directory}: no such directory (set {ENV_DIR} or pass the tables directory)")
    files = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory).as_posix()
        if path.is_file() and is_table_file(relative):
            try:
                files[relative] = path.read_bytes()
            except OSError as exc:
                raise TableSourceError(f"{path}: cannot read: {exc.strerror}") from exc
    return files


def read_git(revision: str, directory: Path) -> dict[str, bytes]:
    """The table files of ``directory`` as they were at ``revision`` of its git repository."""
    top = _git(directory, "rev-parse", "--show-toplevel").decode().strip()
    prefix = _git(directory, "rev-parse", "--show-prefix").decode().strip()
    if not _git_ok(directory, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"):
        raise TableSourceError(f"{revision!r} is not a git revision of {top} (try a branch, tag or commit id)")
    if prefix and not _git_ok(directory, "cat-file", "-e", f"{revision}:{prefix}"):
        raise TableSourceError(f"{prefix.rstrip('/')} does not exist at git revision {revision}")
    archive = _git(Path(top), "archive", "--format=tar", revision, "--", prefix or ".")
    files = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            relative = member.name.removeprefix(prefix)
            extracted = tar.extractfile(member) if member.isfile() else None
            if extracted is not None and is_table_file(relative):
                files[relative] = extracted.read()
    return files


def _git_ok(directory: Path, *args: str) -> bool:
    done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, check=False)
    return done.returncode == 0


def _git(directory: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, check=True)
    except FileNotFoundError as exc:
        raise TableSourceError("git is not installed, so a revision cannot be read") from exc
    except subprocess.CalledProcessError as exc:
        reason = exc.stderr.decode(errors="replace").strip().splitlines()
        raise TableSourceError(f"git {args[0]} failed in {directory}: {reason[-1] if reason else exc}") from exc
    return done.stdout
